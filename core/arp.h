/* ARP cache (RFC 826, RFC 1122 2.3.2): resolution with a bounded queue of frames per next hop,
 * retries, give-up with a counted drop, aging, static entries. */
#ifndef UTCP_CORE_ARP_H
#define UTCP_CORE_ARP_H

#include <stdbool.h>
#include <stdint.h>

#include "wire.h"

struct utcp_stack;

/* A frame held while its next hop resolves. */
struct utcp_arp_slot {
  uint32_t next; /* index + 1 of the next slot in a queue or the free list; 0 ends */
  uint32_t len;
  uint8_t *frame;
};

enum utcp_arp_state { ARP_FREE = 0, ARP_PENDING, ARP_RESOLVED, ARP_STATIC };

struct utcp_arp_entry {
  uint32_t ip;
  uint32_t chain; /* index + 1 of the next entry in the bucket or free list */
  uint8_t state;
  uint8_t tries;  /* requests sent while pending */
  uint16_t queued;
  struct utcp_mac mac;
  uint64_t deadline_ns; /* pending: next retry; resolved: expiry */
  uint32_t q_head, q_tail; /* held frames, index + 1 */
};

struct utcp_arp_table {
  struct utcp_arp_entry *entries;
  uint32_t *buckets; /* index + 1 of the first entry */
  uint32_t n_entries, n_buckets, free_entry;
  struct utcp_arp_slot *slots;
  uint8_t *slot_mem;
  uint32_t n_slots, free_slot;
  uint64_t deadline_ns; /* earliest deadline of any entry; UINT64_MAX when none */
};

int utcp_arp_create(struct utcp_stack *s);
void utcp_arp_destroy(struct utcp_stack *s);
void utcp_arp_input(struct utcp_stack *s, const uint8_t *pkt, size_t len, uint64_t now);
void utcp_arp_on_timer(struct utcp_stack *s, uint64_t now);

/* The resolved MAC of next_hop, or NULL; with `resolve` an unknown next hop starts resolving. */
const struct utcp_mac *utcp_arp_resolve(struct utcp_stack *s, uint32_t next_hop, uint64_t now);
/* A slot to hold a frame for a pending next hop, or NULL (counted drop). The slot is queued. */
struct utcp_arp_slot *utcp_arp_hold(struct utcp_stack *s, uint32_t next_hop, uint64_t now);

#endif
