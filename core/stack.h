/* One utcp stack instance: interface addresses, ARP cache, IPv4, ICMP and TCP for one core.
 * Nothing in it is shared with another instance; nothing in it reads a clock, a file or a
 * socket. Every entry point takes `now` (virtual or TSC-derived nanoseconds, never decreasing). */
#ifndef UTCP_CORE_STACK_H
#define UTCP_CORE_STACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "counters.h"
#include "env.h"
#include "err.h"
#include "tcp.h"
#include "wire.h"

#define UTCP_MAX_STATIC_ARP 16
#define UTCP_MAX_ROUTES 8

struct utcp_route {
  uint32_t dst, mask, gateway; /* gateway 0: on-link */
};

struct utcp_static_arp {
  uint32_t ip;
  struct utcp_mac mac;
};

struct utcp_stack_config {
  struct utcp_mac mac;
  uint32_t ip, netmask, gateway; /* host order; gateway 0: none */
  uint16_t mtu;                  /* IP MTU, 68..9000; default 1500 */

  uint64_t seed;       /* drives the stack's PRNG */
  uint8_t isn_key[16]; /* RFC 6528 secret */

  /* ARP */
  uint32_t arp_entries;          /* table size */
  uint32_t arp_pending_per_entry; /* frames held while resolving one next hop */
  uint32_t arp_pending_total;    /* frame slots for all pending queues */
  uint32_t arp_retries;          /* requests sent before giving up */
  uint64_t arp_retry_ns;         /* between requests */
  uint64_t arp_ttl_ns;           /* a resolved entry's lifetime */
  uint32_t static_arp_count;
  struct utcp_static_arp static_arp[UTCP_MAX_STATIC_ARP];
  uint32_t route_count;
  struct utcp_route routes[UTCP_MAX_ROUTES];

  uint32_t event_queue_len; /* ICMP events held until the application drains them */

  /* Checksum offload, for platforms whose NIC does it (DPDK); never in the simulator.
   * rx_l4_cksum_checked: every frame given to utcp_stack_input had its TCP checksum verified
   * by the NIC (the platform drops those that failed), so the stack does not sum it again.
   * tx_l4_cksum_offload: the stack leaves the TCP checksum to the NIC, writing the folded
   * pseudo-header sum into the field (DPDK's RTE_MBUF_F_TX_TCP_CKSUM convention). IPv4 header
   * checksums are always done in software. */
  bool rx_l4_cksum_checked, tx_l4_cksum_offload;

  struct utcp_tcp_config tcp;
};

/* Fills cfg with defaults (MTU 1500, 256 ARP entries, 4 pending frames per entry, 3 retries
 * 1 s apart, 20 min ARP lifetime, 4096 events, TCP per utcp_tcp_config_default); addresses and
 * seed stay zero. */
void utcp_stack_config_default(struct utcp_stack_config *cfg);

/* Checks a config: UTCP_ERR_INVAL for a zero or broadcast/multicast IP or MAC, a netmask that
 * is not a prefix, an MTU outside 68..9000, a zero-sized pool, a static ARP entry for address
 * 0 or with a multicast MAC. */
int utcp_stack_config_check(const struct utcp_stack_config *cfg);

struct utcp_stack;

/* Creates a stack; all memory comes from `mem` now, none later. The sink is copied.
 * Errors: UTCP_ERR_INVAL (see utcp_stack_config_check), UTCP_ERR_NOMEM. */
int utcp_stack_new(const struct utcp_stack_config *cfg, const struct utcp_mem *mem,
                   const struct utcp_tx_sink *sink, uint64_t now, struct utcp_stack **out);
/* Frees a stack and everything it owns. NULL is allowed. */
void utcp_stack_free(struct utcp_stack *stack);

/* Processes one received Ethernet frame. The frame is borrowed for the call only. Bad frames
 * are counted drops. May transmit through the sink. */
void utcp_stack_input(struct utcp_stack *stack, const uint8_t *frame, size_t len, uint64_t now);

/* When the stack next needs utcp_stack_on_timer; UINT64_MAX when nothing is pending. */
uint64_t utcp_stack_next_deadline(const struct utcp_stack *stack);
/* Services every timer due at or before now. */
void utcp_stack_on_timer(struct utcp_stack *stack, uint64_t now);
/* Flushes the sink (a burst). */
void utcp_stack_flush(struct utcp_stack *stack);

const struct utcp_counters *utcp_stack_counters(const struct utcp_stack *stack);
const struct utcp_stack_config *utcp_stack_config(const struct utcp_stack *stack);

/* Sends an ICMP echo request with `payload_len` pattern bytes. A reply becomes an
 * UTCP_EV_ECHO_REPLY event. Errors: UTCP_ERR_MSGSIZE (does not fit the MTU),
 * UTCP_ERR_HOSTUNREACH (no route), UTCP_ERR_NOBUFS (no transmit or ARP-queue buffer). */
int utcp_stack_ping(struct utcp_stack *stack, uint32_t dst, uint16_t id, uint16_t seq,
                    size_t payload_len, uint64_t now);

/* Adds or replaces a static ARP entry (never aged). UTCP_ERR_NOMEM when the table is full. */
int utcp_arp_add_static(struct utcp_stack *stack, uint32_t ip, const struct utcp_mac *mac);
/* Looks up a resolved entry: 0 and *mac, or UTCP_ERR_NOENT. */
int utcp_arp_lookup(const struct utcp_stack *stack, uint32_t ip, struct utcp_mac *mac);

/* ---- Events: the stack's only way to tell the application something ---- */
#define UTCP_EVF_POOL 1u

enum utcp_event_type {
  UTCP_EV_ECHO_REPLY = 1, /* addr, id, seq */
  UTCP_EV_CONNECTED,      /* conn */
  UTCP_EV_ACCEPTABLE,     /* conn: a listener has a connection to accept */
  UTCP_EV_READABLE,       /* conn: data or end-of-stream to read */
  UTCP_EV_WRITABLE,       /* conn: send buffer space */
  UTCP_EV_PEER_CLOSED,    /* conn: FIN received */
  UTCP_EV_RESET,          /* conn: RST received; err */
  UTCP_EV_ERROR,          /* conn: failed (err: TIMEDOUT, CONNREFUSED ...) */
  UTCP_EV_CLOSED,         /* conn: fully closed, handle released */
};

struct utcp_event {
  uint16_t type; /* utcp_event_type */
  uint16_t id, seq;
  /* UTCP_EVF_POOL on WRITABLE: the chunk pool refilled; writers that found it dry may go on,
   * whether or not their last write failed (a connection completed while the pool was dry
   * never wrote: it must hear of the room too). */
  uint16_t flags;
  int32_t err;
  uint32_t conn;
  uint32_t addr;
};

/* Moves up to max events into ev; returns how many. */
size_t utcp_stack_poll_events(struct utcp_stack *stack, struct utcp_event *ev, size_t max);

/* True when utcp_stack_poll_events has something to return (a cheap check for every call). */
bool utcp_stack_has_events(const struct utcp_stack *stack);

#endif
