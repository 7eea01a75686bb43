/* The Internet checksum (RFC 1071), its incremental update (RFC 1624) and the TCP/IPv4
 * pseudo-header. All sums are over bytes as they lie in memory: store the 16-bit result with
 * memcpy, never through htons. */
#ifndef UTCP_CORE_CKSUM_H
#define UTCP_CORE_CKSUM_H

#include <stddef.h>
#include <stdint.h>

/* Adds buf[0..len) to a running ones'-complement sum; returns the new unfolded sum. A buffer
 * of odd length must come last. Works 8 bytes per step. */
uint32_t utcp_cksum_add(uint32_t sum, const void *buf, size_t len);

/* Folds a running sum to 16 bits and complements it: the value to store in a header. */
uint16_t utcp_cksum_finish(uint32_t sum);

/* The checksum of buf[0..len) alone. A buffer that contains a correct checksum gives 0. */
static inline uint16_t utcp_cksum(const void *buf, size_t len) {
  return utcp_cksum_finish(utcp_cksum_add(0, buf, len));
}

/* Running sum of the IPv4 pseudo-header (RFC 9293 3.1); addresses in host byte order. */
uint32_t utcp_cksum_pseudo(uint32_t src, uint32_t dst, uint8_t proto, uint16_t l4_len);

/* RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m') for one 16-bit field (memory order) changing from
 * old_val to new_val. */
uint16_t utcp_cksum_update16(uint16_t cksum, uint16_t old_val, uint16_t new_val);

#endif
