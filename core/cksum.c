#include "cksum.h"

#include <string.h>

/* A native 64-bit load is four native 16-bit words side by side, and 2^16, 2^32 and 2^48 are all
 * 1 modulo 0xffff, so a ones'-complement sum of 64-bit words folds to the RFC 1071 sum of 16-bit
 * words in memory order (RFC 1071 2(B), byte order independence; 2(C), parallel summation). */
static uint64_t load64(const uint8_t *p) {
  uint64_t w;
  memcpy(&w, p, sizeof w);
  return w;
}

static uint64_t add64(uint64_t s, uint64_t w) {
  s += w;
  return s + (s < w);
}

static uint32_t fold64(uint64_t s) {
  s = (s & 0xffffffffu) + (s >> 32);
  s = (s & 0xffffffffu) + (s >> 32);
  return (uint32_t)s;
}

uint32_t utcp_cksum_add(uint32_t sum, const void *buf, size_t len) {
  const uint8_t *p = buf;
  uint64_t s0 = sum, s1 = 0;

  for (; len >= 32; p += 32, len -= 32) {
    s0 = add64(s0, load64(p));
    s1 = add64(s1, load64(p + 8));
    s0 = add64(s0, load64(p + 16));
    s1 = add64(s1, load64(p + 24));
  }
  for (; len >= 8; p += 8, len -= 8) s0 = add64(s0, load64(p));
  if (len > 0) {
    /* The tail keeps its memory position inside a zeroed word, so an odd last byte lands in the
     * first octet of its 16-bit word with a zero pad (RFC 1071 4.1). */
    uint8_t tail[8] = {0};
    memcpy(tail, p, len);
    s0 = add64(s0, load64(tail));
  }
  return fold64(add64(s0, s1));
}

uint16_t utcp_cksum_finish(uint32_t sum) {
  sum = (sum & 0xffffu) + (sum >> 16);
  sum = (sum & 0xffffu) + (sum >> 16);
  return (uint16_t)~sum;
}

uint32_t utcp_cksum_pseudo(uint32_t src, uint32_t dst, uint8_t proto, uint16_t l4_len) {
  const uint8_t ph[12] = {
      (uint8_t)(src >> 24), (uint8_t)(src >> 16), (uint8_t)(src >> 8), (uint8_t)src,
      (uint8_t)(dst >> 24), (uint8_t)(dst >> 16), (uint8_t)(dst >> 8), (uint8_t)dst,
      0,                    proto,                (uint8_t)(l4_len >> 8), (uint8_t)l4_len,
  };
  return utcp_cksum_add(0, ph, sizeof ph);
}

uint16_t utcp_cksum_update16(uint16_t cksum, uint16_t old_val, uint16_t new_val) {
  /* RFC 1624 3: HC' = ~(~HC + ~m + m'), not eqn. 2, which yields -0 where recomputation gives
   * +0. */
  uint32_t sum = (uint32_t)(uint16_t)~cksum + (uint16_t)~old_val + new_val;
  return utcp_cksum_finish(sum);
}
