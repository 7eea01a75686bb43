/* Receive-side scaling as a NIC computes it, so that software can predict which RX queue (and
 * so which core) a flow's packets reach: the Toeplitz hash of the IPv4/TCP 4-tuple (Microsoft,
 * "RSS hashing functions"; Intel 82599 datasheet 7.1.2.8) and the queue a redirection table
 * (RETA) gives the hash. Pure: no state, no tables but the key constants.
 *
 * utcp's NICs use a symmetric key (0x6d5a repeated): the hash of a->b equals the hash of
 * b->a, so both directions of a flow reach one core. Active opens pick source ports whose
 * returning packets hash to the calling core's queue (api/socket.c). */
#ifndef UTCP_CORE_RSS_H
#define UTCP_CORE_RSS_H

#include <stddef.h>
#include <stdint.h>

#define UTCP_RSS_KEY_LEN 40
/* The RETA size of the NICs utcp targets (ixgbe/i40e VFs, net_af_packet, ...: 128 entries).
 * Other NICs differ (i40e PF 512): the size is a parameter everywhere. */
#define UTCP_RSS_RETA_SIZE_DEFAULT 128u
#define UTCP_RSS_RETA_SIZE_MAX 4096u

/* The symmetric key (UTCP_RSS_KEY_LEN bytes: 0x6d, 0x5a repeated). Its 16-bit period makes
 * swapping the two addresses and the two ports leave the hash unchanged (each swap alone
 * does too: the fields start at multiples of 16 bits). The DPDK port must
 * program this key (rss_key in rte_eth_conf) and the default RETA. */
const uint8_t *utcp_rss_key_symmetric(void);

/* The Toeplitz hash of input[0..len) under key[0..keylen): for each input bit, from the most
 * significant bit of input[0], XOR the key's current leftmost 32 bits into the result when
 * the bit is set, then shift the key left by one. keylen >= len + 4 (asserted). */
uint32_t utcp_rss_toeplitz(const uint8_t *key, size_t keylen, const uint8_t *input, size_t len);

/* The hash a NIC computes for an IPv4/TCP packet from src_ip:src_port to dst_ip:dst_port
 * (host order here): the input is src ip, dst ip, src port, dst port, each in network byte
 * order, as the NIC reads them from the headers. key: UTCP_RSS_KEY_LEN bytes. */
uint32_t utcp_rss_hash_v4(const uint8_t *key, uint32_t src_ip, uint32_t dst_ip,
                          uint16_t src_port, uint16_t dst_port);

/* The RX queue of a hash under a DPDK default redirection table: reta[i] = i % queues for
 * i in 0 .. reta_size-1 (what rte_eth_dev_configure leaves when the application does not
 * program the RETA), so queue = (hash % reta_size) % queues. reta_size 1..UTCP_RSS_RETA_SIZE_MAX,
 * a power of two on every NIC we know (then hash % reta_size == hash & (reta_size - 1));
 * queues >= 1 (asserted). */
uint32_t utcp_rss_queue(uint32_t hash, uint32_t reta_size, uint32_t queues);

/* Settings a context may use: reta_size 1..UTCP_RSS_RETA_SIZE_MAX, and queues 0 or 1 (off)
 * with queue 0, or queues 2..reta_size (a queue beyond the table would never get a packet)
 * with queue < queues. Returns 0 or UTCP_ERR_INVAL. */
int utcp_rss_check(uint32_t queues, uint32_t queue, uint32_t reta_size);

#endif
