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
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    /* Built from 4-, 2- and 1-byte loads: copying the tail into a stack word byte by byte and
     * loading it back stalls store-to-load forwarding, which cost more than the whole sum of a
     * small segment. Byte i of the tail is bits 8i..8i+7 of a little-endian word. */
    uint64_t w = 0;
    unsigned shift = 0;
    if (len & 4) {
      uint32_t v;
      memcpy(&v, p, 4);
      w = v;
      p += 4;
      shift = 32;
    }
    if (len & 2) {
      uint16_t v;
      memcpy(&v, p, 2);
      w |= (uint64_t)v << shift;
      p += 2;
      shift += 16;
    }
    if (len & 1) w |= (uint64_t)*p << shift;
    s0 = add64(s0, w);
#else
    uint8_t tail[8] = {0};
    memcpy(tail, p, len);
    s0 = add64(s0, load64(tail));
#endif
  }
  return fold64(add64(s0, s1));
}

uint16_t utcp_cksum_finish(uint32_t sum) {
  sum = (sum & 0xffffu) + (sum >> 16);
  sum = (sum & 0xffffu) + (sum >> 16);
  return (uint16_t)~sum;
}

uint32_t utcp_cksum_pseudo(uint32_t src, uint32_t dst, uint8_t proto, uint16_t l4_len) {
  /* The six 16-bit words of the pseudo-header (RFC 9293 3.1) summed as numbers in network
   * order, folded, then put in the byte order utcp_cksum_add works in (native loads): a
   * ones'-complement sum byte-swaps with its words (RFC 1071 2(B)). */
  uint32_t sum = (src >> 16) + (src & 0xffffu) + (dst >> 16) + (dst & 0xffffu) + proto + l4_len;
  sum = (sum & 0xffffu) + (sum >> 16);
  sum = (sum & 0xffffu) + (sum >> 16);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  sum = ((sum & 0xffu) << 8) | (sum >> 8);
#endif
  return sum;
}

uint16_t utcp_cksum_update16(uint16_t cksum, uint16_t old_val, uint16_t new_val) {
  /* RFC 1624 3: HC' = ~(~HC + ~m + m'), not eqn. 2, which yields -0 where recomputation gives
   * +0. */
  uint32_t sum = (uint32_t)(uint16_t)~cksum + (uint16_t)~old_val + new_val;
  return utcp_cksum_finish(sum);
}
