/* The `key = value` configuration file (include/utcp/config.h). */
#include "utcp/config.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_impl.h"

#define MS 1000000ull
#define SEC 1000000000ull

int cfg_fail(char *err, size_t err_len, const char *name, unsigned line, const char *fmt, ...) {
  char what[200];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(what, sizeof what, fmt, ap);
  va_end(ap);
  if (err != NULL && err_len > 0) snprintf(err, err_len, "%s:%u: %s", name, line, what);
  return -1;
}

static bool parse_u64(const char *s, uint64_t max, uint64_t *out) {
  if (*s == '\0' || *s == '-' || *s == '+') return false;
  char *end;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 10);
  if (errno != 0 || *end != '\0' || v > max) return false;
  *out = v;
  return true;
}

static bool parse_ip(const char *s, uint32_t *out) {
  unsigned a[4];
  char tail;
  if (sscanf(s, "%u.%u.%u.%u%c", &a[0], &a[1], &a[2], &a[3], &tail) != 4) return false;
  for (int i = 0; i < 4; i++)
    if (a[i] > 255) return false;
  *out = (a[0] << 24) | (a[1] << 16) | (a[2] << 8) | a[3];
  return true;
}

static bool parse_mac(const char *s, struct utcp_mac *out) {
  unsigned b[6];
  char tail;
  if (sscanf(s, "%x:%x:%x:%x:%x:%x%c", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5], &tail) != 6)
    return false;
  for (int i = 0; i < 6; i++) {
    if (b[i] > 255) return false;
    out->b[i] = (uint8_t)b[i];
  }
  return true;
}

static bool parse_hex16(const char *s, uint8_t out[16]) {
  if (strlen(s) != 32) return false;
  for (int i = 0; i < 16; i++) {
    char byte[3] = {s[2 * i], s[2 * i + 1], 0};
    if (!isxdigit((unsigned char)byte[0]) || !isxdigit((unsigned char)byte[1])) return false;
    out[i] = (uint8_t)strtoul(byte, NULL, 16);
  }
  return true;
}

/* Numeric keys: where the value goes, its unit and range. */
enum kind { K_U32, K_U16, K_BOOL, K_NS };
struct numkey {
  const char *key;
  enum kind kind;
  size_t off;     /* offset in struct utcp_stack_config */
  uint64_t scale; /* K_NS: ns per unit */
  uint64_t max;
};

#define F(field) offsetof(struct utcp_stack_config, field)
static const struct numkey numkeys[] = {
    {"mtu", K_U16, F(mtu), 1, 9000},
    {"max_concurrency", K_U32, F(tcp.max_conns), 1, 1u << 24},
    {"syn_backlog", K_U32, F(tcp.syn_backlog), 1, 1u << 24},
    {"rcvbuf", K_U32, F(tcp.rcvbuf_bytes), 1, 1u << 30},
    {"sndbuf", K_U32, F(tcp.sndbuf_bytes), 1, 1u << 30},
    {"chunks", K_U32, F(tcp.chunks), 1, 1u << 26},
    {"mss_default", K_U16, F(tcp.mss_default), 1, 65535},
    {"iw_segments", K_U32, F(tcp.iw_segments), 1, 100},
    {"syn_retries", K_U32, F(tcp.syn_retries), 1, 30},
    {"data_retries", K_U32, F(tcp.data_retries), 1, 30},
    {"keepcnt", K_U32, F(tcp.keepcnt), 1, 127},
    {"wscale", K_BOOL, F(tcp.wscale), 1, 1},
    {"timestamps", K_BOOL, F(tcp.timestamps), 1, 1},
    {"sack", K_BOOL, F(tcp.sack), 1, 1},
    {"syncookies", K_BOOL, F(tcp.syncookies), 1, 1},
    {"rto_min_ms", K_NS, F(tcp.rto_min_ns), MS, 3600000},
    {"rto_max_ms", K_NS, F(tcp.rto_max_ns), MS, 3600000},
    {"rto_initial_ms", K_NS, F(tcp.rto_initial_ns), MS, 3600000},
    {"delack_ms", K_NS, F(tcp.delack_ns), MS, 200},
    {"msl_ms", K_NS, F(tcp.msl_ns), MS, 3600000},
    {"tcp_timewait", K_NS, F(tcp.msl_ns), MS, 3600000},
    {"keepidle_s", K_NS, F(tcp.keepidle_ns), SEC, 32767},
    {"keepintvl_s", K_NS, F(tcp.keepintvl_ns), SEC, 32767},
    {"challenge_ack_limit", K_U32, F(tcp.challenge_ack_limit), 1, 1u << 24},
    {"challenge_ack_interval_ms", K_NS, F(tcp.challenge_ack_interval_ns), MS, 3600000},
    {"reass_nodes", K_U32, F(tcp.reass_nodes), 1, 1u << 24},
    {"reass_max_ranges", K_U32, F(tcp.reass_max_ranges), 1, 1u << 16},
    {"zero_window_timeout_ms", K_NS, F(tcp.zero_window_timeout_ns), MS, 86400000},
    {"zero_window_pressure_ms", K_NS, F(tcp.zero_window_pressure_ns), MS, 86400000},
    {"oow_ack_interval_ms", K_NS, F(tcp.oow_ack_interval_ns), MS, 60000},
};
#undef F

static int set_numeric(const struct numkey *k, const char *val, struct utcp_stack_config *cfg) {
  uint64_t v;
  if (!parse_u64(val, k->max, &v)) return -1;
  char *base = (char *)cfg + k->off;
  switch (k->kind) {
    case K_U32: {
      uint32_t x = (uint32_t)v;
      memcpy(base, &x, sizeof x);
      break;
    }
    case K_U16: {
      uint16_t x = (uint16_t)v;
      memcpy(base, &x, sizeof x);
      break;
    }
    case K_BOOL: {
      bool x = v != 0;
      memcpy(base, &x, sizeof x);
      break;
    }
    case K_NS: {
      uint64_t x = v * k->scale;
      memcpy(base, &x, sizeof x);
      break;
    }
  }
  return 0;
}

/* One `key = value` with both sides trimmed. */
static int apply(const char *name, unsigned line, const char *key, char *val,
                 struct utcp_stack_config *cfg, char *err, size_t err_len) {
  for (size_t i = 0; i < sizeof numkeys / sizeof numkeys[0]; i++) {
    if (strcmp(key, numkeys[i].key) != 0) continue;
    if (set_numeric(&numkeys[i], val, cfg) < 0)
      return cfg_fail(err, err_len, name, line, "%s: '%s' is not a number in 0..%llu", key, val,
                      (unsigned long long)numkeys[i].max);
    return 0;
  }
  if (strcmp(key, "ip_addr") == 0 || strcmp(key, "netmask") == 0 ||
      strcmp(key, "gateway") == 0) {
    uint32_t ip;
    if (!parse_ip(val, &ip))
      return cfg_fail(err, err_len, name, line, "%s: '%s' is not an IPv4 address", key, val);
    if (key[0] == 'i') cfg->ip = ip;
    else if (key[0] == 'n') cfg->netmask = ip;
    else cfg->gateway = ip;
    return 0;
  }
  if (strcmp(key, "mac") == 0) {
    if (!parse_mac(val, &cfg->mac))
      return cfg_fail(err, err_len, name, line, "mac: '%s' is not aa:bb:cc:dd:ee:ff", val);
    return 0;
  }
  if (strcmp(key, "seed") == 0) {
    if (!parse_u64(val, UINT64_MAX, &cfg->seed))
      return cfg_fail(err, err_len, name, line, "seed: '%s' is not a number", val);
    return 0;
  }
  if (strcmp(key, "isn_key") == 0) {
    if (!parse_hex16(val, cfg->isn_key))
      return cfg_fail(err, err_len, name, line, "isn_key: want 32 hex digits");
    return 0;
  }
  if (strcmp(key, "arp") == 0) {
    char ip_s[32], mac_s[32], extra;
    struct utcp_static_arp a;
    memset(&a, 0, sizeof a); /* no stray padding bytes: configs compare with memcmp */
    if (sscanf(val, "%31s %31s %c", ip_s, mac_s, &extra) != 2 || !parse_ip(ip_s, &a.ip) ||
        !parse_mac(mac_s, &a.mac))
      return cfg_fail(err, err_len, name, line, "arp: want 'IP MAC', got '%s'", val);
    if (cfg->static_arp_count == UTCP_MAX_STATIC_ARP)
      return cfg_fail(err, err_len, name, line, "arp: more than %d static entries",
                      UTCP_MAX_STATIC_ARP);
    cfg->static_arp[cfg->static_arp_count++] = a;
    return 0;
  }
  if (strcmp(key, "route") == 0) {
    char dst_s[32], gw_s[32], extra;
    unsigned prefix;
    struct utcp_route r;
    memset(&r, 0, sizeof r);
    if (sscanf(val, "%31[0-9.]/%u %31s %c", dst_s, &prefix, gw_s, &extra) != 3 || prefix > 32 ||
        !parse_ip(dst_s, &r.dst) || !parse_ip(gw_s, &r.gateway))
      return cfg_fail(err, err_len, name, line, "route: want 'DST/PREFIX GATEWAY', got '%s'", val);
    r.mask = prefix == 0 ? 0 : 0xffffffffu << (32 - prefix);
    if (cfg->route_count == UTCP_MAX_ROUTES)
      return cfg_fail(err, err_len, name, line, "route: more than %d routes", UTCP_MAX_ROUTES);
    cfg->routes[cfg->route_count++] = r;
    return 0;
  }
  return cfg_fail(err, err_len, name, line, "unknown key '%s'", key);
}

char *cfg_trim(char *s) {
  while (isspace((unsigned char)*s)) s++;
  char *e = s + strlen(s);
  while (e > s && isspace((unsigned char)e[-1])) *--e = '\0';
  return s;
}

int cfg_split(const char *name, unsigned line, char *text, char **key, char **val, char *err,
              size_t err_len) {
  char *hash = strchr(text, '#');
  if (hash != NULL) *hash = '\0';
  char *s = cfg_trim(text);
  if (*s == '\0') return 0;
  char *eq = strchr(s, '=');
  if (eq == NULL) return cfg_fail(err, err_len, name, line, "want 'key = value'");
  *eq = '\0';
  *key = cfg_trim(s);
  *val = cfg_trim(eq + 1);
  if (**key == '\0') return cfg_fail(err, err_len, name, line, "missing key before '='");
  if (**val == '\0') return cfg_fail(err, err_len, name, line, "%s: missing value", *key);
  return 1;
}

static int parse_line(const char *name, unsigned line, char *text, struct utcp_stack_config *cfg,
                      char *err, size_t err_len) {
  char *key, *val;
  int rc = cfg_split(name, line, text, &key, &val, err, err_len);
  return rc <= 0 ? rc : apply(name, line, key, val, cfg, err, err_len);
}

int utcp_config_parse(const char *name, const char *text, size_t len,
                      struct utcp_stack_config *cfg, char *err, size_t err_len) {
  if (name == NULL || cfg == NULL || (text == NULL && len > 0)) return -1;
  char buf[512];
  unsigned line = 0;
  size_t i = 0;
  while (i < len) {
    size_t start = i;
    while (i < len && text[i] != '\n') i++;
    line++;
    size_t n = i - start;
    if (i < len) i++; /* the newline */
    if (n >= sizeof buf)
      return cfg_fail(err, err_len, name, line, "line longer than %zu bytes", sizeof buf - 1);
    if (memchr(text + start, '\0', n) != NULL)
      return cfg_fail(err, err_len, name, line, "NUL byte");
    memcpy(buf, text + start, n);
    buf[n] = '\0';
    if (parse_line(name, line, buf, cfg, err, err_len) < 0) return -1;
  }
  return 0;
}

int utcp_config_set_key(const char *name, unsigned line, const char *key, const char *val,
                        struct utcp_stack_config *cfg, char *err, size_t err_len) {
  if (name == NULL || key == NULL || val == NULL || cfg == NULL) return -1;
  char buf[512];
  if (strlen(val) >= sizeof buf)
    return cfg_fail(err, err_len, name, line, "%s: value too long", key);
  strcpy(buf, val);
  return apply(name, line, key, buf, cfg, err, err_len);
}

int utcp_config_set(const char *kv, struct utcp_stack_config *cfg, char *err, size_t err_len) {
  if (kv == NULL) return -1;
  return utcp_config_parse("override", kv, strlen(kv), cfg, err, err_len);
}

int utcp_config_load(const char *path, struct utcp_stack_config *cfg, char *err, size_t err_len) {
  FILE *f = fopen(path, "rb");
  if (f == NULL) return cfg_fail(err, err_len, path, 0, "%s", strerror(errno));
  char *text = NULL;
  size_t len = 0, cap = 0;
  for (;;) {
    if (len == cap) {
      cap = cap ? cap * 2 : 4096;
      if (cap > (1u << 20)) {
        free(text);
        fclose(f);
        return cfg_fail(err, err_len, path, 0, "file larger than 1 MiB");
      }
      char *grown = realloc(text, cap);
      if (grown == NULL) {
        free(text);
        fclose(f);
        return cfg_fail(err, err_len, path, 0, "out of memory");
      }
      text = grown;
    }
    size_t n = fread(text + len, 1, cap - len, f);
    len += n;
    if (n == 0) break;
  }
  bool io_error = ferror(f);
  fclose(f);
  if (io_error) {
    free(text);
    return cfg_fail(err, err_len, path, 0, "read error");
  }
  int rc = utcp_config_parse(path, text, len, cfg, err, err_len);
  free(text);
  if (rc == 0 && utcp_stack_config_check(cfg) < 0)
    return cfg_fail(err, err_len, path, 0,
                    "the configuration is not valid (utcp_stack_config_check)");
  return rc;
}
