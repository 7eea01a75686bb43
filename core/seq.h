/* TCP sequence numbers: a distinct type so that a raw `<` on two of them does not compile.
 * Comparisons are modulo 2^32 (RFC 9293 3.4), as FreeBSD's SEQ_LT and smoltcp's SeqNumber. */
#ifndef UTCP_CORE_SEQ_H
#define UTCP_CORE_SEQ_H

#include <stdbool.h>
#include <stdint.h>

typedef struct {
  uint32_t v;
} utcp_seq_t;

static inline utcp_seq_t utcp_seq(uint32_t v) { return (utcp_seq_t){v}; }
static inline utcp_seq_t utcp_seq_add(utcp_seq_t a, uint32_t n) { return (utcp_seq_t){a.v + n}; }
/* a - b as a signed distance; meaningful while |a - b| < 2^31. */
static inline int32_t utcp_seq_diff(utcp_seq_t a, utcp_seq_t b) { return (int32_t)(a.v - b.v); }
static inline bool utcp_seq_eq(utcp_seq_t a, utcp_seq_t b) { return a.v == b.v; }
static inline bool utcp_seq_lt(utcp_seq_t a, utcp_seq_t b) { return utcp_seq_diff(a, b) < 0; }
static inline bool utcp_seq_le(utcp_seq_t a, utcp_seq_t b) { return utcp_seq_diff(a, b) <= 0; }
static inline bool utcp_seq_gt(utcp_seq_t a, utcp_seq_t b) { return utcp_seq_diff(a, b) > 0; }
static inline bool utcp_seq_ge(utcp_seq_t a, utcp_seq_t b) { return utcp_seq_diff(a, b) >= 0; }
static inline utcp_seq_t utcp_seq_max(utcp_seq_t a, utcp_seq_t b) { return utcp_seq_gt(a, b) ? a : b; }
static inline utcp_seq_t utcp_seq_min(utcp_seq_t a, utcp_seq_t b) { return utcp_seq_lt(a, b) ? a : b; }
/* lo <= x < hi, modulo 2^32. */
static inline bool utcp_seq_in(utcp_seq_t x, utcp_seq_t lo, utcp_seq_t hi) {
  return utcp_seq_le(lo, x) && utcp_seq_lt(x, hi);
}

#endif
