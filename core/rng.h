/* The stack's seeded PRNG (xoshiro256**, seeded through splitmix64) and the keyed hash used
 * for RFC 6528 initial sequence numbers and SYN cookies (SipHash-2-4). No global state: each
 * stack owns its generator, so two stacks given one seed draw the same numbers. */
#ifndef UTCP_CORE_RNG_H
#define UTCP_CORE_RNG_H

#include <stddef.h>
#include <stdint.h>

struct utcp_rng {
  uint64_t s[4];
};

void utcp_rng_init(struct utcp_rng *rng, uint64_t seed);
uint64_t utcp_rng_next(struct utcp_rng *rng);
/* Uniform in [0, n) without modulo bias; n > 0. */
uint64_t utcp_rng_below(struct utcp_rng *rng, uint64_t n);
/* True with probability num/den (den > 0; num >= den is always true, num == 0 never). */
int utcp_rng_chance(struct utcp_rng *rng, uint32_t num, uint32_t den);

/* SipHash-2-4 of buf[0..len) under a 16-byte key. */
uint64_t utcp_siphash(const uint8_t key[16], const void *buf, size_t len);
/* SipHash-1-3 of two 64-bit words (keyed by k0, k1): the flow table's hash. */
uint64_t utcp_siphash13_2x64(uint64_t k0, uint64_t k1, uint64_t a, uint64_t b);

#endif
