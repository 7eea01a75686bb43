#include "rng.h"

#include <string.h>

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static uint64_t splitmix64(uint64_t *x) {
  uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

void utcp_rng_init(struct utcp_rng *rng, uint64_t seed) {
  uint64_t x = seed;
  for (int i = 0; i < 4; i++) rng->s[i] = splitmix64(&x);
}

uint64_t utcp_rng_next(struct utcp_rng *rng) {
  uint64_t *s = rng->s;
  uint64_t result = rotl(s[1] * 5, 7) * 9;
  uint64_t t = s[1] << 17;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = rotl(s[3], 45);
  return result;
}

uint64_t utcp_rng_below(struct utcp_rng *rng, uint64_t n) {
  /* Rejection sampling: draw until the value falls below the largest multiple of n. */
  uint64_t limit = UINT64_MAX - (UINT64_MAX % n);
  uint64_t r;
  do {
    r = utcp_rng_next(rng);
  } while (r >= limit);
  return r % n;
}

int utcp_rng_chance(struct utcp_rng *rng, uint32_t num, uint32_t den) {
  if (num == 0) return 0;
  if (num >= den) return 1;
  return utcp_rng_below(rng, den) < num;
}

/* SipHash-2-4 (Aumasson and Bernstein), written from the paper's description. */
#define SIPROUND(v0, v1, v2, v3)                                   \
  do {                                                             \
    v0 += v1; v1 = rotl(v1, 13); v1 ^= v0; v0 = rotl(v0, 32);      \
    v2 += v3; v3 = rotl(v3, 16); v3 ^= v2;                         \
    v0 += v3; v3 = rotl(v3, 21); v3 ^= v0;                         \
    v2 += v1; v1 = rotl(v1, 17); v1 ^= v2; v2 = rotl(v2, 32);      \
  } while (0)

static uint64_t load_le64(const uint8_t *p) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  uint64_t v;
  memcpy(&v, p, sizeof v);
  return v;
#else
  uint64_t v = 0;
  for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
  return v;
#endif
}

/* The last len < 8 bytes as a little-endian word, without a byte-wise copy into memory that is
 * read back whole (a store-to-load forwarding stall). */
static uint64_t load_le_tail(const uint8_t *p, size_t len) {
  uint64_t v = 0;
  for (size_t i = 0; i < len; i++) v |= (uint64_t)p[i] << (8 * i);
  return v;
}

uint64_t utcp_siphash(const uint8_t key[16], const void *buf, size_t len) {
  const uint8_t *in = buf;
  uint64_t k0 = load_le64(key), k1 = load_le64(key + 8);
  uint64_t v0 = 0x736f6d6570736575ull ^ k0;
  uint64_t v1 = 0x646f72616e646f6dull ^ k1;
  uint64_t v2 = 0x6c7967656e657261ull ^ k0;
  uint64_t v3 = 0x7465646279746573ull ^ k1;
  size_t full = len & ~(size_t)7;
  for (size_t i = 0; i < full; i += 8) {
    uint64_t m = load_le64(in + i);
    v3 ^= m;
    SIPROUND(v0, v1, v2, v3);
    SIPROUND(v0, v1, v2, v3);
    v0 ^= m;
  }
  uint64_t b = ((uint64_t)len << 56) | load_le_tail(in + full, len - full);
  v3 ^= b;
  SIPROUND(v0, v1, v2, v3);
  SIPROUND(v0, v1, v2, v3);
  v0 ^= b;
  v2 ^= 0xff;
  for (int i = 0; i < 4; i++) SIPROUND(v0, v1, v2, v3);
  return v0 ^ v1 ^ v2 ^ v3;
}

/* SipHash-1-3 (one compression round per block, three at the end: the variant Rust's standard
 * hash tables use against hash flooding) of the 16-byte message a, b in little-endian order,
 * for lookups on every segment where SipHash-2-4 over a byte buffer was a measurable cost. */
uint64_t utcp_siphash13_2x64(uint64_t k0, uint64_t k1, uint64_t a, uint64_t b) {
  uint64_t v0 = 0x736f6d6570736575ull ^ k0;
  uint64_t v1 = 0x646f72616e646f6dull ^ k1;
  uint64_t v2 = 0x6c7967656e657261ull ^ k0;
  uint64_t v3 = 0x7465646279746573ull ^ k1;
  v3 ^= a;
  SIPROUND(v0, v1, v2, v3);
  v0 ^= a;
  v3 ^= b;
  SIPROUND(v0, v1, v2, v3);
  v0 ^= b;
  uint64_t last = (uint64_t)16 << 56;
  v3 ^= last;
  SIPROUND(v0, v1, v2, v3);
  v0 ^= last;
  v2 ^= 0xff;
  for (int i = 0; i < 3; i++) SIPROUND(v0, v1, v2, v3);
  return v0 ^ v1 ^ v2 ^ v3;
}
