/* Command-line value parsing shared by the utcp-sim subcommands. */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "scenario.h"

bool sim_parse_u64(const char *s, uint64_t *out) {
  if (!s || !*s || *s == '-') return false;
  char *end;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 10);
  if (errno || *end) return false;
  *out = v;
  return true;
}

bool sim_parse_ratio(const char *s, struct sim_ratio *out) {
  if (!s) return false;
  const char *slash = strchr(s, '/');
  uint64_t num, den = 1;
  if (slash) {
    size_t n = (size_t)(slash - s);
    char buf[32];
    if (n == 0 || n >= sizeof buf) return false;
    memcpy(buf, s, n);
    buf[n] = 0;
    if (!sim_parse_u64(buf, &num) || !sim_parse_u64(slash + 1, &den)) return false;
  } else if (!sim_parse_u64(s, &num)) {
    return false;
  }
  if (den == 0 || den > UINT32_MAX || num > den) return false;
  *out = (struct sim_ratio){(uint32_t)num, (uint32_t)den};
  return true;
}

int sim_link_opts_parse(struct sim_link_opts *l, const char *opt, const char *val) {
  static const struct {
    const char *name;
    size_t off;
    uint64_t max; /* 0: a ratio */
  } k[] = {
      {"--delay-ms", offsetof(struct sim_link_opts, delay_ms), 60000},
      {"--jitter-ms", offsetof(struct sim_link_opts, jitter_ms), 60000},
      {"--rate-mbps", offsetof(struct sim_link_opts, rate_mbps), 1000000},
      {"--queue-kb", offsetof(struct sim_link_opts, queue_kb), 1048576},
      {"--reorder-ms", offsetof(struct sim_link_opts, reorder_ms), 60000},
      {"--loss", offsetof(struct sim_link_opts, loss), 0},
      {"--dup", offsetof(struct sim_link_opts, dup), 0},
      {"--reorder", offsetof(struct sim_link_opts, reorder), 0},
      {"--corrupt", offsetof(struct sim_link_opts, corrupt), 0},
  };
  for (size_t i = 0; i < sizeof k / sizeof k[0]; i++) {
    if (strcmp(opt, k[i].name) != 0) continue;
    if (val == NULL) return 0;
    char *field = (char *)l + k[i].off;
    if (k[i].max == 0) return sim_parse_ratio(val, (struct sim_ratio *)(void *)field);
    uint64_t *v = (uint64_t *)(void *)field;
    return sim_parse_u64(val, v) && *v <= k[i].max;
  }
  return -1;
}

void sim_link_opts_params(const struct sim_link_opts *l, struct sim_link_params *lp) {
  sim_link_params_default(lp);
  lp->delay_ns = l->delay_ms * SIM_NS_PER_MS;
  lp->jitter_ns = l->jitter_ms * SIM_NS_PER_MS;
  lp->rate_bps = l->rate_mbps * 1000000ull;
  lp->queue_limit_bytes = l->queue_kb * 1024;
  lp->loss = l->loss;
  lp->dup = l->dup;
  lp->reorder = l->reorder;
  lp->reorder_delay_ns = l->reorder_ms * SIM_NS_PER_MS;
  lp->corrupt = l->corrupt;
}
