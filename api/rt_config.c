/* The configuration reader every runtime shares (include/utcp/runtime.h): the stack's keys
 * (api/config.c) plus the runtime's own, from a file, UTCP_CONFIG and command-line strings. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_impl.h"
#include "utcp/config.h"
#include "utcp/runtime.h"

#define LINE_MAX_BYTES 512

void utcp_rt_config_default(struct utcp_rt_config *cfg) {
  memset(cfg, 0, sizeof *cfg);
  utcp_ctx_config_default(&cfg->ctx);
  cfg->num_cores = 1;
  cfg->mode = UTCP_RT_PAIRED;
  cfg->ring_slots = 1024;
  cfg->spin_iters = 2000;
  cfg->pin_cores = false;
}

static bool parse_u32(const char *s, uint32_t min, uint32_t max, uint32_t *out) {
  if (*s == '\0' || !isdigit((unsigned char)*s)) return false;
  char *end;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 10);
  if (errno != 0 || *end != '\0' || v < min || v > max) return false;
  *out = (uint32_t)v;
  return true;
}

/* mTCP's keys that mean nothing to utcp: accepted so that an mTCP file loads unchanged. */
static const char *const mtcp_ignored[] = {"num_mem_ch", "port",   "stat_print",  "max_num_buffers",
                                           "tcp_timeout", "io",    "multiprocess"};

struct rtkey {
  const char *key;
  uint32_t min, max;
};

static int set_key(const char *name, unsigned line, const char *key, const char *val,
                   struct utcp_rt_config *cfg, char *err, size_t err_len) {
  static const struct rtkey keys[] = {
      {"num_cores", 1, UTCP_RT_MAX_CORES},   {"max_fds", 1, 1u << 24},
      {"max_epoll_items", 1, 1u << 24},      {"sockbuf_max_bytes", 4096, 1u << 30},
      {"ring_slots", 16, 65536},             {"spin_iters", 0, 100000000},
      {"pin_cores", 0, 1},                   {"rss_queues", 0, UTCP_RSS_RETA_SIZE_MAX},
      {"rss_queue", 0, UTCP_RSS_RETA_SIZE_MAX - 1},
      {"rss_reta_size", 1, UTCP_RSS_RETA_SIZE_MAX},
  };
  for (size_t i = 0; i < sizeof mtcp_ignored / sizeof mtcp_ignored[0]; i++)
    if (strcmp(key, mtcp_ignored[i]) == 0) return 0;
  /* mTCP's sample files say tcp_timewait = 0 (no TIME-WAIT), which utcp cannot do (the core
   * needs MSL > 0): 0 keeps the default; other values are api/config.c's (MSL in ms). */
  if (strcmp(key, "tcp_timewait") == 0 && strcmp(val, "0") == 0) return 0;
  if (strcmp(key, "rt_mode") == 0) {
    if (strcmp(val, "paired") == 0) cfg->mode = UTCP_RT_PAIRED;
    else if (strcmp(val, "rtc") == 0) cfg->mode = UTCP_RT_RTC;
    else
      return cfg_fail(err, err_len, name, line, "rt_mode: '%s' is not 'paired' or 'rtc'", val);
    return 0;
  }
  for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
    if (strcmp(key, keys[i].key) != 0) continue;
    uint32_t v;
    if (!parse_u32(val, keys[i].min, keys[i].max, &v))
      return cfg_fail(err, err_len, name, line, "%s: '%s' is not a number in %u..%u", key, val,
                      keys[i].min, keys[i].max);
    switch (i) {
      case 0: cfg->num_cores = (int)v; break;
      case 1: cfg->ctx.max_fds = v; break;
      case 2: cfg->ctx.max_epoll_items = v; break;
      case 3: cfg->ctx.sockbuf_max_bytes = v; break;
      case 4:
        if ((v & (v - 1)) != 0)
          return cfg_fail(err, err_len, name, line, "ring_slots: %u is not a power of two", v);
        cfg->ring_slots = v;
        break;
      case 5: cfg->spin_iters = v; break;
      case 6: cfg->pin_cores = v != 0; break;
      case 7: cfg->ctx.rss_queues = v; break;
      case 8: cfg->ctx.rss_queue = v; break;
      default: cfg->ctx.rss_reta_size = v; break;
    }
    return 0;
  }
  /* Everything else is the stack's (api/config.c), which names unknown keys. */
  return utcp_config_set_key(name, line, key, val, &cfg->ctx.stack, err, err_len);
}

/* One line or item of n bytes: `key = value`, `#` comment, blank. */
static int parse_item(const char *name, unsigned line, const char *text, size_t n,
                      struct utcp_rt_config *cfg, char *err, size_t err_len) {
  char buf[LINE_MAX_BYTES];
  if (n >= sizeof buf)
    return cfg_fail(err, err_len, name, line, "line longer than %zu bytes", sizeof buf - 1);
  if (memchr(text, '\0', n) != NULL) return cfg_fail(err, err_len, name, line, "NUL byte");
  memcpy(buf, text, n);
  buf[n] = '\0';
  char *key, *val;
  int rc = cfg_split(name, line, buf, &key, &val, err, err_len);
  return rc <= 0 ? rc : set_key(name, line, key, val, cfg, err, err_len);
}

/* Items of text separated by sep. */
static int parse_split(const char *name, const char *text, size_t len, char sep,
                       struct utcp_rt_config *cfg, char *err, size_t err_len) {
  unsigned line = 0;
  size_t i = 0;
  while (i < len) {
    size_t start = i;
    while (i < len && text[i] != sep) i++;
    line++;
    size_t n = i - start;
    if (i < len) i++;
    if (parse_item(name, line, text + start, n, cfg, err, err_len) < 0) return -1;
  }
  return 0;
}

int utcp_rt_config_parse(const char *name, const char *text, size_t len,
                         struct utcp_rt_config *cfg, char *err, size_t err_len) {
  if (name == NULL || cfg == NULL || (text == NULL && len > 0)) {
    errno = EINVAL;
    return -1;
  }
  return parse_split(name, text, len, '\n', cfg, err, err_len);
}

int utcp_rt_config_set(const char *name, unsigned line, const char *kv,
                       struct utcp_rt_config *cfg, char *err, size_t err_len) {
  if (name == NULL || kv == NULL || cfg == NULL) {
    errno = EINVAL;
    return -1;
  }
  if (strchr(kv, '\n') != NULL) return cfg_fail(err, err_len, name, line, "newline in '%s'", kv);
  if (strchr(kv, '=') == NULL)
    return cfg_fail(err, err_len, name, line, "want 'key=value', got '%s'", kv);
  return parse_item(name, line, kv, strlen(kv), cfg, err, err_len);
}

int utcp_rt_config_overrides(const char *spec, struct utcp_rt_config *cfg, char *err,
                             size_t err_len) {
  if (cfg == NULL) {
    errno = EINVAL;
    return -1;
  }
  if (spec == NULL) return 0;
  if (strchr(spec, '\n') != NULL)
    return cfg_fail(err, err_len, "UTCP_CONFIG", 0, "newline in the value");
  return parse_split("UTCP_CONFIG", spec, strlen(spec), ';', cfg, err, err_len);
}

int utcp_rt_config_load(const char *path, struct utcp_rt_config *cfg, char *err,
                        size_t err_len) {
  if (path == NULL || cfg == NULL) {
    errno = EINVAL;
    return -1;
  }
  FILE *f = fopen(path, "rb");
  if (f == NULL) return cfg_fail(err, err_len, path, 0, "%s", strerror(errno));
  size_t cap = 1u << 20;
  char *text = malloc(cap + 1);
  if (text == NULL) {
    fclose(f);
    return cfg_fail(err, err_len, path, 0, "out of memory");
  }
  size_t len = fread(text, 1, cap + 1, f);
  bool io_error = ferror(f);
  fclose(f);
  int rc;
  if (io_error)
    rc = cfg_fail(err, err_len, path, 0, "read error");
  else if (len > cap)
    rc = cfg_fail(err, err_len, path, 0, "file larger than 1 MiB");
  else rc = utcp_rt_config_parse(path, text, len, cfg, err, err_len);
  free(text);
  return rc;
}

int utcp_rt_config_check(const struct utcp_rt_config *cfg, char *err, size_t err_len) {
  const char *n = "config";
  if (cfg == NULL) return cfg_fail(err, err_len, n, 0, "no configuration");
  if (cfg->num_cores < 1 || cfg->num_cores > UTCP_RT_MAX_CORES)
    return cfg_fail(err, err_len, n, 0, "num_cores %d is not in 1..%d", cfg->num_cores,
                    UTCP_RT_MAX_CORES);
  if (cfg->mode != UTCP_RT_PAIRED && cfg->mode != UTCP_RT_RTC)
    return cfg_fail(err, err_len, n, 0, "unknown runtime mode %d", cfg->mode);
  if (cfg->ring_slots < 16 || cfg->ring_slots > 65536 ||
      (cfg->ring_slots & (cfg->ring_slots - 1)) != 0)
    return cfg_fail(err, err_len, n, 0, "ring_slots %u is not a power of two in 16..65536",
                    cfg->ring_slots);
  if (cfg->ctx.max_fds == 0 || cfg->ctx.max_epoll_items == 0)
    return cfg_fail(err, err_len, n, 0, "max_fds and max_epoll_items must be positive");
  uint32_t reta = cfg->ctx.rss_reta_size != 0 ? cfg->ctx.rss_reta_size : UTCP_RSS_RETA_SIZE_DEFAULT;
  if (utcp_rss_check(cfg->ctx.rss_queues, cfg->ctx.rss_queue, reta) < 0)
    return cfg_fail(err, err_len, n, 0,
                    "rss_queue %u is not below rss_queues %u (0/1: off, queue 0), or rss_queues is "
                    "above rss_reta_size %u",
                    cfg->ctx.rss_queue, cfg->ctx.rss_queues, reta);
  struct utcp_stack_config s = cfg->ctx.stack;
  /* The runtime gives each core its address when none is set (docs/api.md). */
  if (s.ip == 0) s.ip = 0x0a000001;
  if (s.netmask == 0) s.netmask = 0xffffff00;
  static const struct utcp_mac zero_mac;
  if (memcmp(&s.mac, &zero_mac, sizeof zero_mac) == 0) s.mac.b[5] = 1;
  if (utcp_stack_config_check(&s) < 0)
    return cfg_fail(err, err_len, n, 0,
                    "the stack configuration is not valid (utcp_stack_config_check: addresses, "
                    "netmask, MTU, pool sizes)");
  return 0;
}

int utcp_rt_config_read(const char *path, int argc, char *const argv[],
                        struct utcp_rt_config *cfg, char *err, size_t err_len) {
  if (cfg == NULL || argc < 0 || (argc > 0 && argv == NULL)) {
    errno = EINVAL;
    return -1;
  }
  utcp_rt_config_default(cfg);
  if (path != NULL && utcp_rt_config_load(path, cfg, err, err_len) < 0) goto bad;
  if (utcp_rt_config_overrides(getenv("UTCP_CONFIG"), cfg, err, err_len) < 0) goto bad;
  for (int i = 0; i < argc; i++)
    if (utcp_rt_config_set("argv", (unsigned)i + 1, argv[i], cfg, err, err_len) < 0) goto bad;
  if (utcp_rt_config_check(cfg, err, err_len) < 0) goto bad;
  return 0;
bad:
  errno = EINVAL;
  return -1;
}
