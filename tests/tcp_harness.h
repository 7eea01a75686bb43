/* A utcp stack against a scripted peer, for TCP unit tests: the test injects segments as the
 * peer (built from a template, C99 compound literals) at explicit times and checks what the
 * stack sends. The peer is 10.0.0.2:PEER_PORT, the stack 10.0.0.1, joined by static ARP. */
#ifndef UTCP_TESTS_TCP_HARNESS_H
#define UTCP_TESTS_TCP_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/stack.h"
#include "core/tcp.h"

#define TH_LOCAL_IP 0x0a000001u
#define TH_PEER_IP 0x0a000002u
#define TH_PEER_PORT 40000
#define TH_LOCAL_PORT 80
#define TH_MAX_FRAMES 4096
#define MS_NS 1000000ull

struct th {
  struct utcp_stack *s;
  struct utcp_stack_config cfg;
  uint64_t now;
  uint8_t frames[TH_MAX_FRAMES][1600];
  size_t lens[TH_MAX_FRAMES];
  size_t head, count;
  uint8_t scratch[9100];
  uint64_t allocated; /* bytes the stack got from the allocator, still held */
};

/* Defaults for a test stack (small pools, the usual TCP defaults). */
void th_config(struct utcp_stack_config *cfg);
/* Creates the stack with cfg (NULL: th_config's). */
struct th *th_new(const struct utcp_stack_config *cfg);
/* Frees the stack; returns false if connections, timers or buffer chunks were still held. */
bool th_free(struct th *h);
/* Checks that nothing is held (connections, timers, chunks) without freeing. */
bool th_idle(const struct th *h);

/* Moves virtual time to t_ms (absolute milliseconds), servicing timers on the way. */
void th_at(struct th *h, uint64_t t_ms);
/* Injects a segment from the peer (ports default to PEER_PORT -> LOCAL_PORT when zero). */
void th_in(struct th *h, struct utcp_seg seg);
/* Pops the next TCP segment the stack sent; false when none is queued. Non-TCP frames are
 * skipped. payload points into the harness's own copy. */
bool th_out(struct th *h, struct utcp_seg *seg);
/* Number of TCP segments waiting. */
size_t th_pending(const struct th *h);
/* Drops everything queued. */
void th_clear(struct th *h);

/* Opens a listener on LOCAL_PORT and completes a handshake from the peer (peer ISN irs, no
 * options unless opts != NULL); returns the accepted handle, and the stack's ISS in *iss. The
 * listener is closed again unless `listener` asks for its handle. */
utcp_conn_t th_accept_conn(struct th *h, uint32_t irs, const struct utcp_tcp_opts *opts,
                           utcp_seq_t *iss, utcp_conn_t *listener);
/* Active open to the peer, completed by a scripted SYN-ACK; returns the handle. */
utcp_conn_t th_connect_conn(struct th *h, uint32_t irs, const struct utcp_tcp_opts *opts,
                            utcp_seq_t *iss);

/* Drains the stack's events and returns a bitmask (1 << type) of those for conn c. */
uint32_t th_events(struct th *h, utcp_conn_t c);

uint64_t th_cov(const struct th *h, const char *mark);
uint64_t th_drops(const struct th *h, enum utcp_drop why);

#endif
