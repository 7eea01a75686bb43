/* The keyed hashes and the PRNG helpers in core/rng.c. SipHash is checked against the test
 * vector of Aumasson and Bernstein's paper (appendix A) and, for the SipHash-1-3 flow hash,
 * against a plain SipHash-c-d written here from the paper's description. */
#include <string.h>

#include "core/rng.h"
#include "test.h"

static uint64_t rotl(uint64_t x, int b) { return (x << b) | (x >> (64 - b)); }

static void round_(uint64_t v[4]) {
  v[0] += v[1], v[1] = rotl(v[1], 13), v[1] ^= v[0], v[0] = rotl(v[0], 32);
  v[2] += v[3], v[3] = rotl(v[3], 16), v[3] ^= v[2];
  v[0] += v[3], v[3] = rotl(v[3], 21), v[3] ^= v[0];
  v[2] += v[1], v[1] = rotl(v[1], 17), v[1] ^= v[2], v[2] = rotl(v[2], 32);
}

static uint64_t le64(const uint8_t *p, size_t n) {
  uint64_t v = 0;
  for (size_t i = 0; i < n; i++) v |= (uint64_t)p[i] << (8 * i);
  return v;
}

/* SipHash-c-d, byte by byte, as the paper's section 2 describes it. */
static uint64_t sip_ref(int c, int d, const uint8_t k[16], const uint8_t *m, size_t len) {
  uint64_t k0 = le64(k, 8), k1 = le64(k + 8, 8);
  uint64_t v[4] = {k0 ^ 0x736f6d6570736575ull, k1 ^ 0x646f72616e646f6dull,
                   k0 ^ 0x6c7967656e657261ull, k1 ^ 0x7465646279746573ull};
  size_t i = 0;
  for (; i + 8 <= len; i += 8) {
    uint64_t w = le64(m + i, 8);
    v[3] ^= w;
    for (int r = 0; r < c; r++) round_(v);
    v[0] ^= w;
  }
  uint64_t w = le64(m + i, len - i) | (uint64_t)(len & 0xff) << 56;
  v[3] ^= w;
  for (int r = 0; r < c; r++) round_(v);
  v[0] ^= w;
  v[2] ^= 0xff;
  for (int r = 0; r < d; r++) round_(v);
  return v[0] ^ v[1] ^ v[2] ^ v[3];
}

TEST(siphash24_paper_vector) {
  uint8_t k[16], m[15];
  for (int i = 0; i < 16; i++) k[i] = (uint8_t)i;
  for (int i = 0; i < 15; i++) m[i] = (uint8_t)i;
  CHECK_EQ(utcp_siphash(k, m, sizeof m), 0xa129ca6149be45e5ull);
  CHECK_EQ(sip_ref(2, 4, k, m, sizeof m), 0xa129ca6149be45e5ull);
  /* Every length from 0 to 64 agrees with the reference. */
  uint8_t big[64];
  for (int i = 0; i < 64; i++) big[i] = (uint8_t)(i * 37 + 11);
  for (size_t len = 0; len <= 64; len++)
    CHECK_EQ(utcp_siphash(k, big, len), sip_ref(2, 4, k, big, len));
}

TEST(siphash13_flow_hash_matches_reference) {
  uint64_t x = 0x0123456789abcdefull;
  for (int i = 0; i < 1000; i++) {
    uint8_t k[16], m[16];
    for (int j = 0; j < 16; j++) {
      x ^= x << 13, x ^= x >> 7, x ^= x << 17;
      k[j] = (uint8_t)x;
      m[j] = (uint8_t)(x >> 8);
    }
    uint64_t got = utcp_siphash13_2x64(le64(k, 8), le64(k + 8, 8), le64(m, 8), le64(m + 8, 8));
    CHECK_EQ(got, sip_ref(1, 3, k, m, 16));
  }
}

TEST(flow_hash_depends_on_key_and_every_field) {
  uint64_t h = utcp_siphash13_2x64(1, 2, 0x0a0000010a000002ull, 0x00501f90ull);
  CHECK(h != utcp_siphash13_2x64(1, 3, 0x0a0000010a000002ull, 0x00501f90ull));
  CHECK(h != utcp_siphash13_2x64(1, 2, 0x0a0000010a000003ull, 0x00501f90ull));
  CHECK(h != utcp_siphash13_2x64(1, 2, 0x0a0000010a000002ull, 0x00501f91ull));
}

TEST_MAIN(TEST_CASE(siphash24_paper_vector), TEST_CASE(siphash13_flow_hash_matches_reference),
          TEST_CASE(flow_hash_depends_on_key_and_every_field))
