/* Sequence-number arithmetic modulo 2^32 (RFC 9293 3.4). */
#include "core/seq.h"
#include "tests/test.h"

static utcp_seq_t S(uint32_t v) { return utcp_seq(v); }

TEST(test_seq_lt_wraps) {
  CHECK(utcp_seq_lt(S(0xffffffffu), S(0)));
  CHECK(!utcp_seq_lt(S(0), S(0xffffffffu)));
  CHECK(utcp_seq_gt(S(0), S(0xffffffffu)));
  CHECK(utcp_seq_lt(S(0xfffffff0u), S(0x10)));
  CHECK(utcp_seq_gt(S(0x10), S(0xfffffff0u)));
  CHECK(utcp_seq_lt(S(1), S(2)));
  CHECK(!utcp_seq_lt(S(2), S(2)));
  CHECK(utcp_seq_le(S(2), S(2)));
  CHECK(utcp_seq_ge(S(2), S(2)));
  CHECK(!utcp_seq_gt(S(2), S(2)));
  CHECK(utcp_seq_le(S(0xffffffffu), S(0)));
  CHECK(utcp_seq_ge(S(0), S(0xffffffffu)));
}

TEST(test_seq_half_space_boundary) {
  /* Within 2^31 - 1 ahead is "later"; exactly 2^31 apart is the ambiguous point where the signed
   * distance is INT32_MIN, so a appears before b from both sides. */
  CHECK(utcp_seq_lt(S(0), S(0x7fffffffu)));
  CHECK(utcp_seq_gt(S(0), S(0x80000001u)));
  CHECK_EQ(utcp_seq_diff(S(0x80000000u), S(0)), INT32_MIN);
  CHECK(utcp_seq_lt(S(0x80000000u), S(0)));
  CHECK(utcp_seq_lt(S(0), S(0x80000000u)));
}

TEST(test_seq_diff_add) {
  CHECK_EQ(utcp_seq_diff(S(5), S(0xfffffffbu)), 10);
  CHECK_EQ(utcp_seq_diff(S(0xfffffffbu), S(5)), -10);
  CHECK_EQ(utcp_seq_add(S(0xfffffffeu), 3).v, 1);
  CHECK(utcp_seq_eq(utcp_seq_add(S(0xffffffffu), 1), S(0)));
  CHECK(!utcp_seq_eq(S(1), S(2)));
  CHECK_EQ(utcp_seq_add(S(7), 0).v, 7);
}

TEST(test_seq_in_window) {
  /* lo <= x < hi across the wrap. */
  utcp_seq_t lo = S(0xfffffff0u), hi = S(0x10);
  CHECK(utcp_seq_in(S(0xfffffff0u), lo, hi));
  CHECK(utcp_seq_in(S(0xffffffffu), lo, hi));
  CHECK(utcp_seq_in(S(0), lo, hi));
  CHECK(utcp_seq_in(S(0xf), lo, hi));
  CHECK(!utcp_seq_in(S(0x10), lo, hi));
  CHECK(!utcp_seq_in(S(0xffffffefu), lo, hi));
  CHECK(!utcp_seq_in(S(0x11), lo, hi));
  /* Empty window holds nothing. */
  CHECK(!utcp_seq_in(S(100), S(100), S(100)));
  CHECK(utcp_seq_in(S(100), S(100), S(101)));
  CHECK(!utcp_seq_in(S(101), S(100), S(101)));
}

TEST(test_seq_max_min) {
  CHECK_EQ(utcp_seq_max(S(0xffffffffu), S(0)).v, 0);
  CHECK_EQ(utcp_seq_max(S(0), S(0xffffffffu)).v, 0);
  CHECK_EQ(utcp_seq_min(S(0xffffffffu), S(0)).v, 0xffffffffu);
  CHECK_EQ(utcp_seq_min(S(0), S(0xffffffffu)).v, 0xffffffffu);
  CHECK_EQ(utcp_seq_max(S(3), S(9)).v, 9);
  CHECK_EQ(utcp_seq_min(S(3), S(9)).v, 3);
  CHECK_EQ(utcp_seq_max(S(4), S(4)).v, 4);
  CHECK_EQ(utcp_seq_min(S(0x7ffffff0u), S(0x80000010u)).v, 0x7ffffff0u);
}

TEST(test_seq_agrees_with_signed_distance) {
  /* Exhaustive-ish sweep: for small distances d, x + d compares as d's sign says, at every base
   * including those next to 0 and 2^31. */
  static const uint32_t bases[] = {0, 1, 0x7fffffffu, 0x80000000u, 0xfffffffeu, 0xffffffffu};
  for (size_t i = 0; i < sizeof bases / sizeof bases[0]; i++) {
    for (int32_t d = -300; d <= 300; d++) {
      utcp_seq_t a = S(bases[i]), b = utcp_seq_add(a, (uint32_t)d);
      CHECK_EQ(utcp_seq_diff(b, a), d);
      CHECK_EQ(utcp_seq_lt(a, b), d > 0);
      CHECK_EQ(utcp_seq_le(a, b), d >= 0);
      CHECK_EQ(utcp_seq_gt(a, b), d < 0);
      CHECK_EQ(utcp_seq_ge(a, b), d <= 0);
    }
  }
}

TEST_MAIN(TEST_CASE(test_seq_lt_wraps), TEST_CASE(test_seq_half_space_boundary),
          TEST_CASE(test_seq_diff_add), TEST_CASE(test_seq_in_window),
          TEST_CASE(test_seq_max_min), TEST_CASE(test_seq_agrees_with_signed_distance))
