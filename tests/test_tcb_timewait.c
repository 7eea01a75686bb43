/* TIME-WAIT taken over before 2 MSL, in the two cases utcp allows:
 *  - connection-table pressure: when every TCB is in use, the oldest TIME-WAIT connection that
 *    the application has let go of is ended to make room (TcpExtTCPTimeWaitOverflow), as
 *    FreeBSD and Linux do when their TIME-WAIT tables overflow; one still held is never taken;
 *  - an active open to the same 4-tuple (Linux's tcp_tw_reuse, TcpExtTWRecycled): only with
 *    timestamps in use and after one second.
 * Every test ends with the leak check. */
#include "tcb_util.h"
#include "test.h"

#include <stdio.h>
#include <stdlib.h>

#define POOL 3
/* Set-up steps that must hold for the test to mean anything. */
#define NEED(e) \
  do {      \
    if (!(e)) { fprintf(stderr, "%s:%d: set-up failed: %s\n", __FILE__, __LINE__, #e); abort(); } \
  } while (0)

static struct th *small_stack(void) {
  struct utcp_stack_config cfg;
  th_config(&cfg);
  cfg.tcp.max_conns = POOL;
  return th_new(&cfg);
}

/* Active open from lport, then our FIN (close() or shutdown(WR)) and the peer's FIN+ACK:
 * TIME-WAIT (RFC 9293 3.10.7.4, FIN-WAIT-1 with our FIN acknowledged and a FIN). Returns the
 * handle (meaningful only when held). *iss gets the stack's ISN. */
static utcp_conn_t to_time_wait_ts(struct th *h, uint16_t lport, bool orphan, uint32_t *iss,
                                   bool ts, uint32_t *last_tsval) {
  utcp_conn_t c = 0;
  NEED(utcp_tcp_connect(h->s, TH_PEER_IP, TH_PEER_PORT, lport, h->now, &c) == 0);
  struct utcp_seg o;
  NEED(th_out(h, &o) && o.flags == S);
  *iss = o.seq.v;
  struct utcp_tcp_opts opt = {0};
  if (ts) {
    NEED(o.opt.present & UTCP_OPT_TS);
    opt = TSOPT(5000, o.opt.ts_val);
  }
  th_in(h, PEER(.sport = TH_PEER_PORT, .dport = lport, .seq = SEQ(IRS), .ack = SEQ(*iss + 1),
                .flags = S | A, .opt = opt));
  NEED(th_out(h, &o) && o.flags == A);
  th_events(h, c);
  if (orphan) {
    NEED(utcp_tcp_close(h->s, c, h->now) == 0);
  } else {
    NEED(utcp_tcp_shutdown(h->s, c, UTCP_SHUT_WR, h->now) == 0);
  }
  NEED(th_out(h, &o) && (o.flags & F));
  if (ts) opt.ts_val++;
  th_in(h, PEER(.sport = TH_PEER_PORT, .dport = lport, .seq = SEQ(IRS + 1), .ack = SEQ(*iss + 2),
                .flags = F | A, .opt = opt));
  NEED(th_out(h, &o) && o.flags == A && o.ack.v == IRS + 2);
  if (last_tsval != NULL) *last_tsval = o.opt.ts_val;
  if (!orphan) CHECK_EQ(utcp_tcp_state(h->s, c), UTCP_TCP_TIME_WAIT);
  return c;
}

static utcp_conn_t to_time_wait(struct th *h, uint16_t lport, bool orphan, uint32_t *iss) {
  return to_time_wait_ts(h, lport, orphan, iss, false, NULL);
}

/* The peer retransmits its FIN to lport: TIME-WAIT answers with an ACK, CLOSED with a RST. */
static uint8_t answer_to_fin(struct th *h, uint16_t lport, uint32_t iss) {
  th_clear(h);
  th_in(h, PEER(.sport = TH_PEER_PORT, .dport = lport, .seq = SEQ(IRS + 1), .ack = SEQ(iss + 2),
                .flags = F | A));
  struct utcp_seg o;
  return th_out(h, &o) ? o.flags : 0;
}

TEST(full_table_recycles_oldest_orphan) {
  struct th *h = small_stack();
  uint32_t iss[POOL + 1];
  for (uint16_t i = 0; i < POOL; i++) to_time_wait(h, (uint16_t)(1000 + i), true, &iss[i]);
  CHECK_EQ(utcp_tcp_conns_in_use(h->s), POOL);
  CHECK_EQ(utcp_stack_counters(h->s)->tcp_timewait_overflow, 0);
  /* A fourth connection: the table is full of TIME-WAIT; the oldest (port 1000) makes room. */
  utcp_conn_t c = 0;
  CHECK_EQ(utcp_tcp_connect(h->s, TH_PEER_IP, TH_PEER_PORT, 2000, h->now, &c), 0);
  CHECK_EQ(utcp_stack_counters(h->s)->tcp_timewait_overflow, 1);
  CHECK_EQ(utcp_tcp_conns_in_use(h->s), POOL);
  /* Port 1000 is gone (a RST answers), port 1001 is still in TIME-WAIT (an ACK answers). */
  CHECK_EQ(answer_to_fin(h, 1000, iss[0]), R);
  CHECK_EQ(answer_to_fin(h, 1001, iss[1]) & (A | R), A);
  utcp_tcp_abort(h->s, c, h->now);
  th_at(h, 200000); /* 2 MSL later: every TIME-WAIT has ended */
  th_clear(h);
  CHECK(th_free(h));
}

TEST(held_time_wait_is_never_recycled) {
  struct th *h = small_stack();
  uint32_t iss[POOL];
  utcp_conn_t held[POOL];
  for (uint16_t i = 0; i < POOL; i++) held[i] = to_time_wait(h, (uint16_t)(1000 + i), false, &iss[i]);
  utcp_conn_t c = 0;
  CHECK_EQ(utcp_tcp_connect(h->s, TH_PEER_IP, TH_PEER_PORT, 2000, h->now, &c), UTCP_ERR_NOMEM);
  CHECK_EQ(utcp_stack_counters(h->s)->tcp_timewait_overflow, 0);
  for (int i = 0; i < POOL; i++) CHECK_EQ(utcp_tcp_state(h->s, held[i]), UTCP_TCP_TIME_WAIT);
  for (int i = 0; i < POOL; i++) utcp_tcp_close(h->s, held[i], h->now);
  th_at(h, 200000);
  th_clear(h);
  CHECK(th_free(h));
}

TEST(time_wait_ends_normally_without_pressure) {
  struct th *h = small_stack();
  uint32_t iss;
  to_time_wait(h, 1000, true, &iss);
  CHECK_EQ(utcp_tcp_conns_in_use(h->s), 1);
  th_at(h, 200000);
  CHECK_EQ(utcp_tcp_conns_in_use(h->s), 0);
  CHECK_EQ(utcp_stack_counters(h->s)->tcp_timewait_overflow, 0);
  th_clear(h);
  CHECK(th_free(h));
}

TEST(connect_takes_over_time_wait_with_timestamps_after_1s) {
  struct th *h = th_new(NULL);
  uint32_t iss, last_ts;
  to_time_wait_ts(h, 1000, true, &iss, true, &last_ts);
  utcp_conn_t c = 0;
  th_at(h, 500); /* too early: the old connection's timestamps could still be ahead */
  CHECK_EQ(utcp_tcp_connect(h->s, TH_PEER_IP, TH_PEER_PORT, 1000, h->now, &c), UTCP_ERR_ADDRINUSE);
  th_at(h, 1100);
  th_clear(h);
  CHECK_EQ(utcp_tcp_connect(h->s, TH_PEER_IP, TH_PEER_PORT, 1000, h->now, &c), 0);
  CHECK_EQ(utcp_stack_counters(h->s)->tcp_timewait_recycled, 1);
  struct utcp_seg o;
  CHECK(th_out(h, &o) && o.flags == S && (o.opt.present & UTCP_OPT_TS));
  CHECK(o.opt.ts_val > last_ts); /* PAWS at the peer tells the incarnations apart */
  CHECK_EQ(utcp_tcp_conns_in_use(h->s), 1);
  utcp_tcp_abort(h->s, c, h->now);
  th_clear(h);
  CHECK(th_free(h));
}

TEST(connect_never_takes_over_time_wait_without_timestamps) {
  struct th *h = th_new(NULL);
  uint32_t iss;
  to_time_wait(h, 1000, true, &iss);
  utcp_conn_t c = 0;
  th_at(h, 5000);
  CHECK_EQ(utcp_tcp_connect(h->s, TH_PEER_IP, TH_PEER_PORT, 1000, h->now, &c), UTCP_ERR_ADDRINUSE);
  CHECK_EQ(utcp_stack_counters(h->s)->tcp_timewait_recycled, 0);
  /* An ephemeral port skips the tuple instead. */
  CHECK_EQ(utcp_tcp_connect(h->s, TH_PEER_IP, TH_PEER_PORT, 0, h->now, &c), 0);
  utcp_tcp_abort(h->s, c, h->now);
  th_at(h, 200000);
  th_clear(h);
  CHECK(th_free(h));
}

TEST_MAIN(TEST_CASE(full_table_recycles_oldest_orphan), TEST_CASE(held_time_wait_is_never_recycled),
          TEST_CASE(time_wait_ends_normally_without_pressure),
          TEST_CASE(connect_takes_over_time_wait_with_timestamps_after_1s),
          TEST_CASE(connect_never_takes_over_time_wait_without_timestamps))
