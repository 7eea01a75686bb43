/* A utcp stack for microbenchmarks: a sink that drops every frame after keeping the last one
 * (so set-up can read the stack's ISS), a scripted peer at 10.0.0.2 reached by static ARP, and
 * frame builders that write straight into caller buffers. Everything outside the measured
 * loops; nothing here is timed. */
#ifndef UTCP_BENCH_FIXTURE_H
#define UTCP_BENCH_FIXTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/stack.h"
#include "core/tcp.h"
#include "core/wire.h"

#define BF_LOCAL_IP 0x0a000001u
#define BF_PEER_IP 0x0a000002u
#define BF_FRAME_MAX 1600

struct bf {
  struct utcp_stack *s;
  struct utcp_stack_config cfg;
  uint64_t now;
  uint8_t last[BF_FRAME_MAX + 64];
  size_t last_len;
  uint64_t frames_out;
};

/* Stack defaults for benchmarks: max_conns connections, big pools, the usual TCP defaults. */
void bf_config(struct utcp_stack_config *cfg, uint32_t max_conns);
struct bf *bf_new(const struct utcp_stack_config *cfg);
void bf_free(struct bf *b);

/* Writes an Ethernet/IPv4/TCP frame from the peer (src/dst as given) into out; returns its
 * length. */
size_t bf_frame(uint8_t *out, size_t cap, uint32_t src, uint32_t dst, const struct utcp_seg *seg);
/* The last TCP segment the stack sent, parsed (payload points into b->last). */
bool bf_last_seg(struct bf *b, struct utcp_seg *seg);
/* Injects a segment from the peer. */
void bf_in(struct bf *b, const struct utcp_seg *seg);

/* An established connection: the stack actively opens to BF_PEER_IP:peer_port, the peer
 * answers (window 65535 << 14 via wscale 14, MSS 1460, no timestamps). *iss and *irs are the
 * two initial sequence numbers. Returns 0 and the handle, or -1. */
int bf_connect(struct bf *b, uint16_t lport, uint16_t peer_port, utcp_conn_t *out, utcp_seq_t *iss,
               utcp_seq_t *irs);
/* Drains the event queue. */
void bf_drain_events(struct bf *b);

#endif
