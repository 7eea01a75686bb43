/* The Internet checksum (RFC 1071), the pseudo-header and the incremental update (RFC 1624). */
#include "core/cksum.h"
#include "core/rng.h"
#include "tests/test.h"

/* Reference: RFC 1071 4.1 read literally, 16-bit big-endian words, one at a time. Returns the
 * checksum as the big-endian value that goes on the wire. */
static uint16_t ref_cksum(uint32_t sum, const uint8_t *p, size_t len) {
  for (size_t i = 0; i + 1 < len; i += 2) sum += (uint32_t)(p[i] << 8 | p[i + 1]);
  if (len & 1) sum += (uint32_t)p[len - 1] << 8;
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return (uint16_t)~sum;
}

/* A checksum in memory order, read back as the big-endian value the wire holds. */
static uint16_t wire16(uint16_t mem) {
  uint8_t b[2];
  memcpy(b, &mem, 2);
  return (uint16_t)(b[0] << 8 | b[1]);
}

static uint16_t mem16(const uint8_t *p) {
  uint16_t v;
  memcpy(&v, p, 2);
  return v;
}

TEST(test_cksum_rfc1071_example) {
  /* RFC 1071 3: the bytes 00 01 f2 03 f4 f5 f6 f7 sum to ddf2; the checksum is 220d. */
  static const uint8_t b[] = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
  uint16_t ck = utcp_cksum(b, sizeof b);
  uint8_t out[2];
  memcpy(out, &ck, 2);
  CHECK_EQ(out[0], 0x22);
  CHECK_EQ(out[1], 0x0d);
  CHECK_EQ(ref_cksum(0, b, sizeof b), 0x220d);
  /* Appending the checksum makes the whole sum -0. */
  uint8_t with[10];
  memcpy(with, b, 8);
  memcpy(with + 8, &ck, 2);
  CHECK_EQ(utcp_cksum(with, sizeof with), 0);
}

TEST(test_cksum_ipv4_header) {
  /* 192.168.0.1 -> 192.168.0.199, UDP, 115 bytes, DF; its header checksum is b861. */
  uint8_t h[20] = {0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
                   0x00, 0x00, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7};
  CHECK_EQ(ref_cksum(0, h, 20), 0xb861);
  uint16_t ck = utcp_cksum(h, 20);
  CHECK_EQ(wire16(ck), 0xb861);
  memcpy(h + 10, &ck, 2);
  CHECK_EQ(h[10], 0xb8);
  CHECK_EQ(h[11], 0x61);
  CHECK_EQ(utcp_cksum(h, 20), 0);
  CHECK_EQ(ref_cksum(0, h, 20), 0);
  h[15] ^= 0x01;
  CHECK(utcp_cksum(h, 20) != 0);
}

TEST(test_cksum_odd_length) {
  /* The odd last byte is the high octet of a zero-padded word (RFC 1071 4.1). */
  static const uint8_t b[3] = {0x12, 0x34, 0x56};
  CHECK_EQ(wire16(utcp_cksum(b, 3)), (uint16_t)~(0x1234 + 0x5600));
  static const uint8_t one[1] = {0xab};
  CHECK_EQ(wire16(utcp_cksum(one, 1)), (uint16_t)~0xab00);
  CHECK_EQ(utcp_cksum(one, 0), 0xffff);
}

TEST(test_cksum_finish_folds) {
  CHECK_EQ(utcp_cksum_finish(0), 0xffff);
  CHECK_EQ(utcp_cksum_finish(0xffff), 0);
  CHECK_EQ(utcp_cksum_finish(0x1fffe), 0);
  CHECK_EQ(utcp_cksum_finish(0xffffffffu), 0);
  CHECK_EQ(utcp_cksum_finish(0x10000), 0xfffe);
  CHECK_EQ(utcp_cksum_finish(0x2ddf0), 0x220d);
}

TEST(test_cksum_matches_reference_all_lengths_alignments) {
  struct utcp_rng rng;
  utcp_rng_init(&rng, 1071);
  uint8_t storage[300 + 16];
  for (size_t align = 0; align < 8; align++) {
    for (size_t len = 0; len <= 300; len++) {
      uint8_t *p = storage + align;
      for (size_t i = 0; i < len; i++) p[i] = (uint8_t)utcp_rng_next(&rng);
      /* Guard bytes around the buffer must not be read into the sum. */
      if (align > 0) p[-1] = 0xa5;
      p[len] = 0x5a;
      CHECK_EQ(wire16(utcp_cksum(p, len)), ref_cksum(0, p, len));
      /* Split at every even point: the running sum carries across calls. */
      for (size_t cut = 0; cut <= len; cut += 2) {
        uint32_t s = utcp_cksum_add(0, p, cut);
        s = utcp_cksum_add(s, p + cut, len - cut);
        if (wire16(utcp_cksum_finish(s)) != ref_cksum(0, p, len)) {
          CHECK_EQ(wire16(utcp_cksum_finish(s)), ref_cksum(0, p, len));
          break;
        }
      }
    }
  }
}

TEST(test_cksum_all_ones_carries) {
  /* All-ones data forces a carry out of every 64-bit add. */
  static uint8_t big[65536 + 8];
  memset(big, 0xff, sizeof big);
  for (size_t align = 0; align < 8; align++) {
    for (size_t len = 65528; len <= 65536; len++)
      CHECK_EQ(wire16(utcp_cksum(big + align, len)), ref_cksum(0, big + align, len));
  }
  /* A large incoming sum is kept, not truncated. */
  uint32_t s = utcp_cksum_add(0xffffffffu, big, 64);
  CHECK_EQ(utcp_cksum_finish(s), 0);
  CHECK_EQ(utcp_cksum_finish(utcp_cksum_add(0xfffe0001u, big, 0)), utcp_cksum_finish(0xffff));
}

TEST(test_cksum_pseudo_header) {
  /* RFC 9293 3.1: src, dst, zero, PTCL, TCP length. */
  uint32_t src = 0xc0a80001u, dst = 0x0a000002u;
  uint8_t ph[12] = {0xc0, 0xa8, 0x00, 0x01, 0x0a, 0x00, 0x00, 0x02, 0x00, 6, 0x05, 0xdc};
  uint32_t s = utcp_cksum_pseudo(src, dst, 6, 1500);
  CHECK_EQ(wire16(utcp_cksum_finish(s)), ref_cksum(0, ph, 12));
  /* It composes with data summed afterwards. */
  uint8_t all[12 + 7] = {0};
  memcpy(all, ph, 12);
  memcpy(all + 12, "\x01\x02\x03\x04\x05\x06\x07", 7);
  CHECK_EQ(wire16(utcp_cksum_finish(utcp_cksum_add(s, all + 12, 7))), ref_cksum(0, all, 19));
  CHECK(utcp_cksum_pseudo(src, dst, 6, 1500) != utcp_cksum_pseudo(dst + 1, src, 6, 1500));
  /* Arithmetic on the words must equal summing the bytes, carries and all. */
  uint64_t x = 0x9e3779b97f4a7c15ull;
  for (int i = 0; i < 20000; i++) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    uint32_t a = (uint32_t)x, b = (uint32_t)(x >> 32);
    uint16_t len = i < 16 ? (uint16_t)(0xffff - i) : (uint16_t)(x >> 17);
    if (i % 3 == 0) a = 0xffffffffu, b = 0xfffffffeu;
    uint8_t p[12] = {(uint8_t)(a >> 24), (uint8_t)(a >> 16), (uint8_t)(a >> 8), (uint8_t)a,
                     (uint8_t)(b >> 24), (uint8_t)(b >> 16), (uint8_t)(b >> 8), (uint8_t)b,
                     0, 6, (uint8_t)(len >> 8), (uint8_t)len};
    CHECK_EQ(wire16(utcp_cksum_finish(utcp_cksum_pseudo(a, b, 6, len))), ref_cksum(0, p, 12));
    /* And continuing the sum over an odd-length tail of data. */
    uint8_t both[12 + 5];
    memcpy(both, p, 12);
    memcpy(both + 12, &x, 5);
    CHECK_EQ(wire16(utcp_cksum_finish(utcp_cksum_add(utcp_cksum_pseudo(a, b, 6, len), both + 12,
                                                     5))),
             ref_cksum(0, both, 17));
  }
}

TEST(test_cksum_update16_rfc1624_example) {
  /* RFC 1624 4: other octets sum to cd7a, m = 5555 -> 3285. HC = dd2f, HC' must be +0 (0000);
   * eqn. 2 would give -0 (ffff). */
  CHECK_EQ(utcp_cksum_update16(0xdd2f, 0x5555, 0x3285), 0x0000);
  /* The same on real bytes: [cd7a][m][checksum]. */
  uint8_t b[6] = {0xcd, 0x7a, 0x55, 0x55, 0, 0};
  uint16_t ck = utcp_cksum(b, 6);
  CHECK_EQ(wire16(ck), 0xdd2f);
  memcpy(b + 4, &ck, 2);
  uint16_t old = mem16(b + 2);
  b[2] = 0x32;
  b[3] = 0x85;
  uint16_t inc = utcp_cksum_update16(ck, old, mem16(b + 2));
  b[4] = b[5] = 0;
  CHECK_EQ(inc, utcp_cksum(b, 6));
  CHECK_EQ(inc, 0);
  memcpy(b + 4, &inc, 2);
  CHECK_EQ(utcp_cksum(b, 6), 0);
}

TEST(test_cksum_update16_matches_recompute) {
  struct utcp_rng rng;
  utcp_rng_init(&rng, 1624);
  for (int iter = 0; iter < 20000; iter++) {
    uint8_t h[20];
    for (size_t i = 0; i < 20; i++) h[i] = (uint8_t)utcp_rng_next(&rng);
    h[10] = h[11] = 0;
    uint16_t ck = utcp_cksum(h, 20);
    size_t field = 2 * (size_t)utcp_rng_below(&rng, 10);
    if (field == 10) field = 0;
    uint16_t old = mem16(h + field), nv;
    if (iter % 2) {
      nv = (uint16_t)utcp_rng_next(&rng);
    } else {
      /* Choose m' so that the new sum is exactly 0xffff: the +0 corner of RFC 1624 3. */
      uint32_t rest = utcp_cksum_add(0, h, 20) + (uint16_t)~old;
      nv = utcp_cksum_finish(rest);
    }
    memcpy(h + 10, &ck, 2);
    uint16_t inc = utcp_cksum_update16(ck, old, nv);
    memcpy(h + field, &nv, 2);
    h[10] = h[11] = 0;
    uint16_t full = utcp_cksum(h, 20);
    if (inc != full) {
      CHECK_EQ(inc, full);
      break;
    }
    if (iter % 2 == 0) CHECK_EQ(full, 0);
  }
}

TEST_MAIN(TEST_CASE(test_cksum_rfc1071_example), TEST_CASE(test_cksum_ipv4_header),
          TEST_CASE(test_cksum_odd_length), TEST_CASE(test_cksum_finish_folds),
          TEST_CASE(test_cksum_matches_reference_all_lengths_alignments),
          TEST_CASE(test_cksum_all_ones_carries), TEST_CASE(test_cksum_pseudo_header),
          TEST_CASE(test_cksum_update16_rfc1624_example),
          TEST_CASE(test_cksum_update16_matches_recompute))
