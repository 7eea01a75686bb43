/* The TCP fast paths of an established connection, each measured per segment:
 *  - tcp_rx_inorder: an in-order 1460 B data segment arrives (parse, lookup, sequence checks,
 *    queueing, delayed-ACK bookkeeping, an ACK every second segment) and the application reads
 *    it out;
 *  - tcp_rx_pure_ack: a pure ACK acknowledging one more 1460 B segment (RTT and RTO upkeep,
 *    congestion window growth, freeing the send buffer);
 *  - tcp_tx_segment: the application writes 1460 B and the stack builds and emits the data
 *    segment (cwnd and the peer's window are open).
 * The connection is opened by the stack; the peer's segments are pre-built frames injected
 * with utcp_stack_input, and what the stack sends goes to a sink that drops it. Batches of
 * BATCH segments are measured; the frames for a batch (and the other side's work) are prepared
 * with the timer paused. No timestamps option, so segments carry the full 1460 B MSS. */
#include <stdlib.h>
#include <string.h>

#include "bench/fixture.h"
#include "ubench.h"

#define BATCH 256
#define PAYLOAD 1460

struct conn_bench {
  struct bf *b;
  utcp_conn_t c;
  utcp_seq_t iss, irs;
  uint32_t snd_off, rcv_off; /* bytes sent/received after the handshake (mod 2^32: sequence
                              * numbers wrap in long runs, which the stack must handle) */
  uint64_t snd_total, rcv_total;
  uint8_t *frames;           /* BATCH * BF_FRAME_MAX */
  size_t lens[BATCH];
  uint8_t payload[PAYLOAD];
};

static void cb_free(struct conn_bench *cb) {
  if (cb == NULL) return;
  bf_free(cb->b);
  free(cb->frames);
  free(cb);
}

static struct utcp_seg peer_seg(const struct conn_bench *cb) {
  struct utcp_seg seg = {.sport = 80, .dport = 5000, .seq = utcp_seq_add(cb->irs, 1 + cb->rcv_off),
                         .ack = utcp_seq_add(cb->iss, 1 + cb->snd_off), .flags = UTCP_TCP_ACK,
                         .wnd = 65535};
  return seg;
}

/* Sends one segment's worth and acknowledges it, `n` times: grows cwnd out of slow start's
 * first flight so a batch is never congestion-window limited. */
static bool warm_up(struct conn_bench *cb, uint32_t n) {
  for (uint32_t i = 0; i < n; i++) {
    if (utcp_tcp_send(cb->b->s, cb->c, cb->payload, PAYLOAD, cb->b->now) != PAYLOAD) return false;
    cb->snd_off += PAYLOAD;
    cb->snd_total += PAYLOAD;
    struct utcp_seg ack = peer_seg(cb);
    bf_in(cb->b, &ack);
  }
  bf_drain_events(cb->b);
  struct utcp_tcp_info info;
  utcp_tcp_info(cb->b->s, cb->c, &info);
  return info.cwnd >= (BATCH + 16) * PAYLOAD;
}

static struct conn_bench *cb_new(struct ubench_state *st) {
  struct conn_bench *cb = calloc(1, sizeof *cb);
  struct utcp_stack_config cfg;
  bf_config(&cfg, 64);
  cfg.tcp.timestamps = false;
  cfg.tcp.sndbuf_bytes = 4u << 20;
  cfg.tcp.rcvbuf_bytes = 1u << 20;
  cb->b = bf_new(&cfg);
  cb->frames = malloc((size_t)BATCH * BF_FRAME_MAX);
  memset(cb->payload, 0x5a, sizeof cb->payload);
  if (cb->b == NULL || cb->frames == NULL ||
      bf_connect(cb->b, 5000, 80, &cb->c, &cb->iss, &cb->irs) != 0) {
    ubench_fail(st, "set-up failed");
    cb_free(cb);
    return NULL;
  }
  if (!warm_up(cb, 2 * BATCH + 64)) {
    ubench_fail(st, "warm-up did not open cwnd");
    cb_free(cb);
    return NULL;
  }
  return cb;
}

static void rx_inorder_case(struct ubench_state *st) {
  struct conn_bench *cb = cb_new(st);
  if (cb == NULL) return;
  static uint8_t rbuf[PAYLOAD];
  ubench_ops_per_iter(st, BATCH);
  ubench_bytes_per_op(st, PAYLOAD);
  uint64_t got = 0;
  while (ubench_run(st)) {
    ubench_pause(st);
    for (int i = 0; i < BATCH; i++) {
      struct utcp_seg seg = peer_seg(cb);
      seg.flags |= UTCP_TCP_PSH;
      seg.payload = cb->payload;
      seg.len = PAYLOAD;
      cb->lens[i] = bf_frame(cb->frames + (size_t)i * BF_FRAME_MAX, BF_FRAME_MAX, BF_PEER_IP,
                             BF_LOCAL_IP, &seg);
      cb->rcv_off += PAYLOAD;
      cb->rcv_total += PAYLOAD;
    }
    cb->b->now += 1000000;
    bf_drain_events(cb->b);
    ubench_resume(st);
    for (int i = 0; i < BATCH; i++) {
      utcp_stack_input(cb->b->s, cb->frames + (size_t)i * BF_FRAME_MAX, cb->lens[i], cb->b->now);
      int n = utcp_tcp_recv(cb->b->s, cb->c, rbuf, sizeof rbuf, false, cb->b->now);
      if (n > 0) got += (uint64_t)n;
    }
  }
  if (got != cb->rcv_total) ubench_fail(st, "not every byte was delivered");
  cb_free(cb);
}

static void rx_pure_ack_case(struct ubench_state *st) {
  struct conn_bench *cb = cb_new(st);
  if (cb == NULL) return;
  ubench_ops_per_iter(st, BATCH);
  while (ubench_run(st)) {
    ubench_pause(st);
    uint32_t base = cb->snd_off;
    for (int i = 0; i < BATCH; i++) {
      if (utcp_tcp_send(cb->b->s, cb->c, cb->payload, PAYLOAD, cb->b->now) != PAYLOAD) {
        ubench_fail(st, "send refused");
        cb_free(cb);
        return;
      }
      cb->snd_off += PAYLOAD;
      cb->snd_total += PAYLOAD;
    }
    uint32_t end = cb->snd_off;
    for (int i = 0; i < BATCH; i++) {
      cb->snd_off = base + (uint32_t)(i + 1) * PAYLOAD;
      struct utcp_seg ack = peer_seg(cb);
      cb->lens[i] = bf_frame(cb->frames + (size_t)i * BF_FRAME_MAX, BF_FRAME_MAX, BF_PEER_IP,
                             BF_LOCAL_IP, &ack);
    }
    cb->snd_off = end;
    cb->b->now += 1000000;
    bf_drain_events(cb->b);
    ubench_resume(st);
    for (int i = 0; i < BATCH; i++)
      utcp_stack_input(cb->b->s, cb->frames + (size_t)i * BF_FRAME_MAX, cb->lens[i], cb->b->now);
  }
  struct utcp_tcp_info info;
  utcp_tcp_info(cb->b->s, cb->c, &info);
  if (info.bytes_acked != cb->snd_total) ubench_fail(st, "not every byte was acknowledged");
  cb_free(cb);
}

static void tx_segment_case(struct ubench_state *st) {
  struct conn_bench *cb = cb_new(st);
  if (cb == NULL) return;
  ubench_ops_per_iter(st, BATCH);
  ubench_bytes_per_op(st, PAYLOAD);
  uint64_t frames_before = cb->b->frames_out;
  uint64_t sent = 0;
  while (ubench_run(st)) {
    for (int i = 0; i < BATCH; i++) {
      if (utcp_tcp_send(cb->b->s, cb->c, cb->payload, PAYLOAD, cb->b->now) != PAYLOAD) {
        ubench_fail(st, "send refused");
        break;
      }
    }
    sent += BATCH;
    ubench_pause(st);
    cb->snd_off += BATCH * PAYLOAD;
    struct utcp_seg ack = peer_seg(cb);
    bf_in(cb->b, &ack);
    cb->b->now += 1000000;
    bf_drain_events(cb->b);
    ubench_resume(st);
  }
  if (cb->b->frames_out - frames_before < sent) ubench_fail(st, "segments were held back");
  cb_free(cb);
}

void bench_register_tcp(void) {
  ubench_register("tcp_rx_inorder", rx_inorder_case, 0);
  ubench_register("tcp_rx_pure_ack", rx_pure_ack_case, 0);
  ubench_register("tcp_tx_segment", tx_segment_case, 0);
}
