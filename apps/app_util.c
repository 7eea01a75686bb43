/* Helpers shared by the example applications. */
#include "app_util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "utcp/epoll.h"
#include "utcp/utcp.h"

void app_gen_fill(uint8_t *buf, uint64_t off, size_t len) {
  for (size_t i = 0; i < len; i++) buf[i] = app_gen_byte(off + i);
}

bool app_parse_size(const char *s, uint64_t *out) {
  if (s == NULL || *s < '0' || *s > '9') return false;
  char *end;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 10);
  if (errno) return false;
  static const struct {
    const char *sfx;
    uint64_t mul;
  } units[] = {{"", 1},           {"k", 1000},           {"K", 1000},
               {"M", 1000000},    {"G", 1000000000},     {"Ki", 1024},
               {"Mi", 1u << 20},  {"Gi", 1ull << 30}};
  for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
    if (strcmp(end, units[i].sfx) == 0) {
      if (v > UINT64_MAX / units[i].mul) return false;
      *out = v * units[i].mul;
      return true;
    }
  }
  return false;
}

bool app_parse_num(const char *s, uint64_t min, uint64_t max, uint64_t *out) {
  if (s == NULL || *s < '0' || *s > '9') return false;
  char *end;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 10);
  if (errno || *end || v < min || v > max) return false;
  *out = v;
  return true;
}

bool app_parse_ipv4(const char *s, uint32_t *out) {
  uint32_t a = 0;
  for (int i = 0; i < 4; i++) {
    if (*s < '0' || *s > '9') return false;
    unsigned v = 0;
    int digits = 0;
    while (*s >= '0' && *s <= '9' && digits < 4) {
      v = v * 10 + (unsigned)(*s++ - '0');
      digits++;
    }
    if (v > 255 || digits > 3) return false;
    a = a << 8 | v;
    if (i < 3 && *s++ != '.') return false;
  }
  if (*s != 0) return false;
  *out = a;
  return true;
}

bool app_has_flag(int argc, char **argv, const char *flag) {
  for (int i = 1; i < argc; i++)
    if (strcmp(argv[i], flag) == 0) return true;
  return false;
}

int app_wait_server(struct utcp_ctx *ctx, uint32_t ip, uint16_t port, uint64_t tries) {
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port),
                           .sin_addr.s_addr = htonl(ip)};
  int ep = utcp_epoll_create1(ctx, 0);
  if (ep < 0) return -1;
  int rc = -1, e = ETIMEDOUT;
  for (uint64_t i = 0; i < tries; i++) {
    int fd = utcp_socket(ctx, AF_INET, SOCK_STREAM, 0);
    if (fd < 0) {
      e = errno;
      break;
    }
    int c = utcp_connect(ctx, fd, (struct sockaddr *)&sa, sizeof sa);
    e = errno;
    utcp_close(ctx, fd);
    if (c == 0) {
      rc = 0;
      break;
    }
    if (e == EINTR) break;
    struct epoll_event ev;
    if (utcp_epoll_wait(ctx, ep, &ev, 1, 100) < 0) { /* a pause of 100 ms */
      e = errno;
      break;
    }
  }
  utcp_close(ctx, ep);
  if (rc < 0) errno = e;
  return rc;
}

int app_split_args(char *s, char **argv, int max) {
  int n = 0;
  while (*s) {
    while (*s == ' ' || *s == '\t') s++;
    if (!*s) break;
    if (n == max) return -1;
    char *out = s;
    argv[n++] = out;
    while (*s && *s != ' ' && *s != '\t') {
      if (*s == '\'' || *s == '"') {
        char q = *s++;
        while (*s && *s != q) *out++ = *s++;
        if (*s != q) return -1;
        s++;
      } else {
        *out++ = *s++;
      }
    }
    if (*s) s++;
    *out = 0;
  }
  return n;
}
