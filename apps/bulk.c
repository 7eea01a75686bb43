/* bulk: an iperf-like bulk transfer on blocking utcp sockets.
 *
 *   bulk --recv [--port N] [--once] [-f CONFIG] [--quiet]
 *   bulk --send A.B.C.D [--port N] [--bytes N] [--chunk N] [-f CONFIG]
 *
 * The sender writes N bytes of the generated content (apps/app_util.h), shuts its side down
 * and waits for the receiver's 16-byte report (bytes received, bytes that differed, both
 * big-endian). The receiver checks every byte against the generated content as it arrives and
 * prints bytes, seconds and Gbit/s for each connection; --once returns after the first.
 * Time is the context's clock: virtual time in the simulator. The sender exits 0 only when the
 * receiver got every byte and none differed. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app_util.h"
#include "apps.h"
#include "utcp/runtime.h"
#include "utcp/utcp.h"

#define BUF 65536

static void usage(FILE *out) {
  fprintf(out, "usage: bulk --recv [--port N] [--once] [-f CONFIG] [--quiet]\n"
               "       bulk --send A.B.C.D [--port N] [--bytes N] [--chunk N] [-f CONFIG]\n"
               "            [--wait-server TRIES]\n"
               "  --core N   the runtime core's context to use (default 0)\n");
}

static void put64(uint8_t *p, uint64_t v) {
  for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (56 - 8 * i));
}

static uint64_t get64(const uint8_t *p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; i++) v = v << 8 | p[i];
  return v;
}

static double gbps(uint64_t bytes, uint64_t ns) {
  return ns ? (double)bytes * 8 / (double)ns : 0.0;
}

static int receiver(struct utcp_ctx *ctx, uint16_t port, bool once, bool quiet) {
  int lfd = utcp_socket(ctx, AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
  if (lfd < 0 || utcp_bind(ctx, lfd, (struct sockaddr *)&sa, sizeof sa) < 0 ||
      utcp_listen(ctx, lfd, 16) < 0) {
    fprintf(stderr, "bulk: listen on port %u: %s\n", port, strerror(errno));
    if (lfd >= 0) utcp_close(ctx, lfd);
    return 1;
  }
  if (!quiet) printf("bulk: receiving on port %u\n", port);
  uint8_t *buf = malloc(BUF), *want = malloc(BUF);
  int status = 0;
  while (buf && want) {
    int fd = utcp_accept(ctx, lfd, NULL, NULL);
    if (fd < 0) {
      if (errno != EINTR) {
        fprintf(stderr, "bulk: accept: %s\n", strerror(errno));
        status = 1;
      }
      break;
    }
    uint64_t t0 = utcp_ctx_now(ctx), got = 0, bad = 0;
    int err = 0;
    for (;;) {
      ssize_t r = utcp_read(ctx, fd, buf, BUF);
      if (r <= 0) {
        err = r < 0 ? errno : 0;
        break;
      }
      app_gen_fill(want, got, (size_t)r);
      for (ssize_t i = 0; i < r; i++) bad += buf[i] != want[i];
      got += (uint64_t)r;
    }
    uint64_t ns = utcp_ctx_now(ctx) - t0;
    printf("bulk: received %" PRIu64 " bytes in %.3f s: %.3f Gbit/s, %" PRIu64
           " bytes differed%s%s\n",
           got, (double)ns / 1e9, gbps(got, ns), bad, err ? ", ended by " : "",
           err ? strerror(err) : "");
    uint8_t rep[16];
    put64(rep, got);
    put64(rep + 8, bad);
    if (err == 0) {
      size_t off = 0;
      while (off < sizeof rep) {
        ssize_t w = utcp_write(ctx, fd, rep + off, sizeof rep - off);
        if (w < 0) break;
        off += (size_t)w;
      }
    }
    utcp_close(ctx, fd);
    if (bad || err) status = 1;
    if (once || err == EINTR) break;
  }
  free(buf);
  free(want);
  utcp_close(ctx, lfd);
  return status;
}

static int sender(struct utcp_ctx *ctx, uint32_t ip, uint16_t port, uint64_t bytes,
                  uint64_t chunk) {
  uint8_t *buf = malloc(chunk);
  int fd = utcp_socket(ctx, AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port),
                           .sin_addr.s_addr = htonl(ip)};
  if (buf == NULL || fd < 0 || utcp_connect(ctx, fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
    fprintf(stderr, "bulk: connect: %s\n", strerror(errno));
    if (fd >= 0) utcp_close(ctx, fd);
    free(buf);
    return 1;
  }
  uint64_t t0 = utcp_ctx_now(ctx), sent = 0;
  while (sent < bytes) {
    size_t n = bytes - sent < chunk ? (size_t)(bytes - sent) : (size_t)chunk;
    app_gen_fill(buf, sent, n);
    size_t off = 0;
    while (off < n) {
      ssize_t w = utcp_write(ctx, fd, buf + off, n - off);
      if (w < 0) break;
      off += (size_t)w;
    }
    sent += off;
    if (off < n) {
      fprintf(stderr, "bulk: write after %" PRIu64 " bytes: %s\n", sent, strerror(errno));
      break;
    }
  }
  uint64_t t_sent = utcp_ctx_now(ctx);
  utcp_shutdown(ctx, fd, SHUT_WR);
  uint8_t rep[16];
  size_t got = 0;
  while (got < sizeof rep) {
    ssize_t r = utcp_read(ctx, fd, rep + got, sizeof rep - got);
    if (r <= 0) break;
    got += (size_t)r;
  }
  uint64_t ns = utcp_ctx_now(ctx) - t0;
  utcp_close(ctx, fd);
  free(buf);
  printf("bulk: sent %" PRIu64 " bytes in %.3f s (%.3f s until the last write): %.3f Gbit/s\n",
         sent, (double)ns / 1e9, (double)(t_sent - t0) / 1e9, gbps(sent, ns));
  if (got != sizeof rep) {
    printf("bulk: no report from the receiver\n");
    return 1;
  }
  uint64_t rx = get64(rep), bad = get64(rep + 8);
  printf("bulk: receiver got %" PRIu64 " bytes, %" PRIu64 " differed\n", rx, bad);
  return sent == bytes && rx == bytes && bad == 0 ? 0 : 1;
}

int bulk_main(int argc, char **argv) {
  bool recv = false, once = false, quiet = false;
  const char *conf = NULL, *peer = NULL;
  uint64_t port = 5001, bytes = 10000000, chunk = 65536, core = 0, wait_tries = 0;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    bool ok = true;
    if (strcmp(a, "--recv") == 0) {
      recv = true;
      continue;
    } else if (strcmp(a, "--once") == 0) {
      once = true;
      continue;
    } else if (strcmp(a, "--quiet") == 0) {
      quiet = true;
      continue;
    } else if (strcmp(a, "--help") == 0) {
      usage(stdout);
      return 0;
    } else if (strcmp(a, "--send") == 0) {
      ok = (peer = v) != NULL;
    } else if (strcmp(a, "--wait-server") == 0) {
      ok = app_parse_num(v, 1, 1000000, &wait_tries);
    } else if (strcmp(a, "--core") == 0) {
      ok = app_parse_num(v, 0, 1023, &core);
    } else if (strcmp(a, "-f") == 0) {
      ok = (conf = v) != NULL;
    } else if (strcmp(a, "--port") == 0) {
      ok = app_parse_num(v, 1, 65535, &port);
    } else if (strcmp(a, "--bytes") == 0) {
      ok = app_parse_size(v, &bytes) && bytes >= 1;
    } else if (strcmp(a, "--chunk") == 0) {
      ok = app_parse_size(v, &chunk) && chunk >= 1 && chunk <= (16u << 20);
    } else {
      ok = false;
    }
    if (!ok) {
      fprintf(stderr, "bulk: bad argument %s\n", a);
      usage(stderr);
      return 2;
    }
    i++;
  }
  uint32_t ip = 0;
  if (recv == (peer != NULL) || (peer && !app_parse_ipv4(peer, &ip))) {
    usage(stderr);
    return 2;
  }
  int own_rt = utcp_init(conf) == 0; /* EALREADY: a launcher set the runtime up */
  if (!own_rt && errno != EALREADY) {
    fprintf(stderr, "bulk: utcp_init: %s\n", strerror(errno));
    return 1;
  }
  struct utcp_ctx *ctx = utcp_create_context((int)core);
  int status = 1;
  if (ctx == NULL) {
    fprintf(stderr, "bulk: utcp_create_context: %s\n", strerror(errno));
  } else {
    if (!recv && wait_tries && app_wait_server(ctx, ip, (uint16_t)port, wait_tries) < 0)
      fprintf(stderr, "bulk: no receiver: %s\n", strerror(errno));
    else
      status = recv ? receiver(ctx, (uint16_t)port, once, quiet)
                    : sender(ctx, ip, (uint16_t)port, bytes, chunk);
    utcp_destroy_context(ctx);
  }
  if (own_rt) utcp_destroy();
  return status;
}
