/* Shared helpers for the state-machine tests (tests/test_tcb_*.c): segment templates with
 * C99 compound literals, timed injection and expectation, and ready-made connections. */
#ifndef UTCP_TESTS_TCB_UTIL_H
#define UTCP_TESTS_TCB_UTIL_H

#include <stdbool.h>
#include <string.h>

#include "core/tcp.h"
#include "core/wire.h"
#include "tcp_harness.h"
#include "test.h"

/* Templates set defaults that a test overrides field by field (later designators win). */
#pragma GCC diagnostic ignored "-Woverride-init"

#define SEQ(x) utcp_seq(x)
#define A UTCP_TCP_ACK
#define S UTCP_TCP_SYN
#define F UTCP_TCP_FIN
#define R UTCP_TCP_RST
#define P UTCP_TCP_PSH
#define EV(type) (1u << (type))

#define IRS 1000000u /* the peer's ISN */

/* A segment from the peer: ACK, a full window; override anything. */
#define PEER(...) ((struct utcp_seg){.flags = A, .wnd = 65535, __VA_ARGS__})
/* Timestamp option only. */
#define TSOPT(val, ecr) ((struct utcp_tcp_opts){.present = UTCP_OPT_TS, .ts_val = (val), .ts_ecr = (ecr)})

/* A recognisable byte pattern: pat(off)[i] is byte off + i of the stream. */
static inline const uint8_t *pat(uint32_t off) {
  static uint8_t buf[1 << 17];
  static bool init;
  if (!init) {
    for (size_t i = 0; i < sizeof buf; i++) buf[i] = (uint8_t)(i * 7 + i / 251);
    init = true;
  }
  return buf + (off % (1 << 16));
}

/* Injects seg at t_ms (absolute virtual milliseconds). */
static inline void seg_in(struct th *h, uint64_t t_ms, struct utcp_seg seg) {
  th_at(h, t_ms);
  th_in(h, seg);
}

/* Moves to t_ms and pops the next segment the stack sent. */
static inline bool seg_out(struct th *h, uint64_t t_ms, struct utcp_seg *o) {
  th_at(h, t_ms);
  return th_out(h, o);
}

/* Moves to t_ms; returns how many segments are waiting (0 expected by callers). */
static inline size_t seg_none(struct th *h, uint64_t t_ms) {
  th_at(h, t_ms);
  return th_pending(h);
}

/* Pops the next segment at t_ms and checks flags, seq and ack (ack only when ACK is set). */
#define EXPECT_SEG(h, t_ms, o, fl, sq, ak)     \
  do {                                         \
    REQUIRE(seg_out((h), (t_ms), &(o)));       \
    CHECK_EQ((o).flags, (fl));                 \
    CHECK_EQ((o).seq.v, (uint32_t)(sq));       \
    if ((fl) & A) CHECK_EQ((o).ack.v, (uint32_t)(ak)); \
  } while (0)

static inline struct utcp_tcp_info tinfo(struct th *h, utcp_conn_t c) {
  struct utcp_tcp_info i;
  memset(&i, 0, sizeof i);
  (void)utcp_tcp_info(h->s, c, &i);
  return i;
}

/* An established connection: h, handle, our next seq (snd) and the peer's next seq (rcv). */
struct est {
  struct th *h;
  utcp_conn_t c;
  uint32_t iss, snd, rcv;
  uint32_t peer_ts; /* the peer's ts_val of its last handshake segment (TS mode) */
};

/* Passive open with the peer offering MSS 1460 plus extra options (UTCP_OPT_* bits among
 * WSCALE, SACK_PERM, TS; wscale 7 and TS value 100 when offered). cfg NULL: defaults. */
static inline struct est est_open(const struct utcp_stack_config *cfg, uint8_t extra) {
  struct est e;
  memset(&e, 0, sizeof e);
  e.h = th_new(cfg);
  struct utcp_tcp_opts o = {.present = (uint8_t)(UTCP_OPT_MSS | extra), .mss = 1460,
                            .wscale = 7, .ts_val = 100};
  utcp_seq_t iss;
  e.c = th_accept_conn(e.h, IRS, &o, &iss, NULL);
  e.iss = iss.v;
  e.snd = iss.v + 1;
  e.rcv = IRS + 1;
  e.peer_ts = 101;
  return e;
}

/* Config with a small receive buffer, for window tests. */
static inline struct utcp_stack_config cfg_with(void (*tweak)(struct utcp_stack_config *)) {
  struct utcp_stack_config c;
  th_config(&c);
  tweak(&c);
  return c;
}

#endif
