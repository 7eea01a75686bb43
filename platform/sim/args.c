/* Command-line value parsing shared by the utcp-sim subcommands. */
#include <errno.h>
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
