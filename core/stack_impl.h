/* The inside of a utcp_stack, shared by the core's modules and nobody else. */
#ifndef UTCP_CORE_STACK_IMPL_H
#define UTCP_CORE_STACK_IMPL_H

#include "arp.h"
#include "assert.h"
#include "rng.h"
#include "stack.h"

struct utcp_tcp;

struct utcp_stack {
  struct utcp_stack_config cfg;
  struct utcp_mem mem;
  struct utcp_tx_sink sink;
  struct utcp_rng rng;
  struct utcp_counters ctr;
  uint64_t now; /* the latest `now` an entry point was given */
  uint16_t ip_id;

  struct utcp_arp_table arp;

  struct utcp_event *events; /* ring of cfg.event_queue_len */
  uint32_t ev_head, ev_count;

  struct utcp_tcp *tcp;
};

static inline void utcp_count_drop(struct utcp_stack *s, enum utcp_drop reason) {
  s->ctr.drop[reason]++;
}

/* Allocation from the injected allocator; only during stack creation. */
void *utcp_stack_alloc(struct utcp_stack *s, size_t size);
void utcp_stack_dealloc(struct utcp_stack *s, void *p, size_t size);

/* Queues an event for the application; a full queue is a counted drop. */
void utcp_stack_event(struct utcp_stack *s, const struct utcp_event *ev);

/* ---- IPv4 output ---- */
/* A frame being built: the caller writes its L4 bytes at `l4` (at most l4_cap), then commits. */
struct utcp_ip_out {
  uint8_t *frame; /* Ethernet header at frame[0] */
  uint8_t *l4;
  size_t l4_cap;
  uint32_t dst;
  uint8_t proto;
  bool df;
  struct utcp_arp_slot *pending; /* non-NULL: held until ARP resolves */
};

/* Starts a datagram to dst. Errors: UTCP_ERR_HOSTUNREACH (no route; ip_out_no_routes),
 * UTCP_ERR_MSGSIZE (l4_len above the MTU), UTCP_ERR_NOBUFS (no sink or ARP-queue buffer). */
int utcp_ip_out_begin(struct utcp_stack *s, uint32_t dst, uint8_t proto, size_t l4_len,
                      struct utcp_ip_out *out);
/* Finishes the IPv4 and Ethernet headers for l4_len bytes and sends (or queues) the frame. */
void utcp_ip_out_commit(struct utcp_stack *s, struct utcp_ip_out *out, size_t l4_len);
/* Gives the buffer back unsent. */
void utcp_ip_out_abandon(struct utcp_stack *s, struct utcp_ip_out *out);

/* Largest L4 payload one datagram carries (MTU minus the IPv4 header). */
static inline size_t utcp_ip_l4_max(const struct utcp_stack *s) {
  return (size_t)s->cfg.mtu - UTCP_IPV4_HLEN;
}

/* Next hop for dst, or 0 when there is no route. */
uint32_t utcp_ip_next_hop(const struct utcp_stack *s, uint32_t dst);

/* Input handlers, after the layer below has been parsed. */
void utcp_ipv4_input(struct utcp_stack *s, const uint8_t *pkt, size_t len, uint64_t now);
void utcp_icmp_input(struct utcp_stack *s, const struct utcp_ipv4 *ip, uint64_t now);

/* TCP (core/tcp*.c). */
int utcp_tcp_create(struct utcp_stack *s);
void utcp_tcp_destroy(struct utcp_stack *s);
void utcp_tcp_input(struct utcp_stack *s, const struct utcp_ipv4 *ip, uint64_t now);
uint64_t utcp_tcp_next_deadline(const struct utcp_stack *s);
void utcp_tcp_on_timer(struct utcp_stack *s, uint64_t now);
size_t utcp_tcp_poll_events(struct utcp_stack *s, struct utcp_event *ev, size_t max);
bool utcp_tcp_has_events(const struct utcp_stack *s);
/* Tells writers that found the chunk pool dry that it has room again (WRITABLE events). */
void utcp_tcp_pool_wakeup(struct utcp_stack *s);

#endif
