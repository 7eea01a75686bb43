#include "rss.h"

#include "assert.h"
#include "err.h"

static const uint8_t key_symmetric[UTCP_RSS_KEY_LEN] = {
    0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a,
    0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a,
    0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a,
};

const uint8_t *utcp_rss_key_symmetric(void) { return key_symmetric; }

uint32_t utcp_rss_toeplitz(const uint8_t *key, size_t keylen, const uint8_t *input, size_t len) {
  UTCP_ASSERT(key != NULL && (input != NULL || len == 0));
  UTCP_ASSERT(keylen >= len + 4);
  (void)keylen; /* only asserted */
  /* window: the key's leftmost 32 bits for the current input bit; next: the key byte that
   * shifts in after the next 8 bits. */
  uint32_t window = (uint32_t)key[0] << 24 | (uint32_t)key[1] << 16 | (uint32_t)key[2] << 8 | key[3];
  uint32_t hash = 0;
  for (size_t i = 0; i < len; i++) {
    uint8_t next = key[i + 4];
    for (int b = 7; b >= 0; b--) {
      if (input[i] & (1u << b)) hash ^= window;
      window = window << 1 | (uint32_t)(next >> b & 1u);
    }
  }
  return hash;
}

static void put32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)(v >> 24);
  p[1] = (uint8_t)(v >> 16);
  p[2] = (uint8_t)(v >> 8);
  p[3] = (uint8_t)v;
}

uint32_t utcp_rss_hash_v4(const uint8_t *key, uint32_t src_ip, uint32_t dst_ip,
                          uint16_t src_port, uint16_t dst_port) {
  uint8_t in[12];
  put32(in, src_ip);
  put32(in + 4, dst_ip);
  put32(in + 8, (uint32_t)src_port << 16 | dst_port);
  return utcp_rss_toeplitz(key, UTCP_RSS_KEY_LEN, in, sizeof in);
}

uint32_t utcp_rss_queue(uint32_t hash, uint32_t reta_size, uint32_t queues) {
  UTCP_ASSERT(reta_size >= 1 && reta_size <= UTCP_RSS_RETA_SIZE_MAX && queues >= 1);
  /* reta[i] = i % queues (DPDK's default table), indexed by the hash's low bits. */
  return (hash % reta_size) % queues;
}

int utcp_rss_check(uint32_t queues, uint32_t queue, uint32_t reta_size) {
  if (reta_size == 0 || reta_size > UTCP_RSS_RETA_SIZE_MAX) return UTCP_ERR_INVAL;
  if (queues <= 1) return queue == 0 ? 0 : UTCP_ERR_INVAL;
  if (queues > reta_size || queue >= queues) return UTCP_ERR_INVAL;
  return 0;
}
