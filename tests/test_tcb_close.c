/* RFC 9293 3.10.7.4 SEGMENT ARRIVES in the closing states (FIN-WAIT-1, FIN-WAIT-2,
 * CLOSE-WAIT, CLOSING, LAST-ACK, TIME-WAIT): every segment kind (SYN, ACK, data, FIN, RST) in
 * each, plus 2*MSL, TIME-WAIT reuse (RFC 6191), half-close, close with unread data
 * (RFC 2525 2.17), ABORT and SO_LINGER 0. Every test ends with the leak check. */
#include "tcb_util.h"

static const struct utcp_counters *ctr(const struct th *h) { return utcp_stack_counters(h->s); }

static bool done(struct est *e) {
  utcp_tcp_abort(e->h->s, e->c, e->h->now);
  th_clear(e->h);
  return th_free(e->h);
}

static int state(struct est *e) { return utcp_tcp_state(e->h->s, e->c); }

/* FIN-WAIT-1 by shutdown(WR) (the handle stays usable): our FIN is at e->snd. */
static void to_fin_wait_1(struct est *e) {
  if (utcp_tcp_shutdown(e->h->s, e->c, UTCP_SHUT_WR, e->h->now) != 0) abort();
  struct utcp_seg o;
  if (!th_out(e->h, &o) || o.flags != (F | A) || o.seq.v != e->snd) abort();
}

static void to_fin_wait_2(struct est *e) {
  to_fin_wait_1(e);
  th_in(e->h, PEER(.seq = SEQ(e->rcv), .ack = SEQ(e->snd + 1)));
  if (state(e) != UTCP_TCP_FIN_WAIT_2) abort();
}

/* CLOSE-WAIT: the peer's FIN at e->rcv, acknowledged. */
static void to_close_wait(struct est *e) {
  th_in(e->h, PEER(.seq = SEQ(e->rcv), .ack = SEQ(e->snd), .flags = A | F));
  struct utcp_seg o;
  if (!th_out(e->h, &o) || o.ack.v != e->rcv + 1) abort();
  if (state(e) != UTCP_TCP_CLOSE_WAIT) abort();
}

static void to_last_ack(struct est *e) {
  to_close_wait(e);
  if (utcp_tcp_shutdown(e->h->s, e->c, UTCP_SHUT_WR, e->h->now) != 0) abort();
  struct utcp_seg o;
  if (!th_out(e->h, &o) || o.flags != (F | A) || o.seq.v != e->snd) abort();
  if (state(e) != UTCP_TCP_LAST_ACK) abort();
}

/* CLOSING: both FINs crossed; ours not yet acknowledged. */
static void to_closing(struct est *e) {
  to_fin_wait_1(e);
  th_in(e->h, PEER(.seq = SEQ(e->rcv), .ack = SEQ(e->snd), .flags = A | F));
  struct utcp_seg o;
  if (!th_out(e->h, &o) || o.ack.v != e->rcv + 1) abort();
  if (state(e) != UTCP_TCP_CLOSING) abort();
}

/* TIME-WAIT by the active close, at time h->now. */
static void to_time_wait(struct est *e) {
  to_fin_wait_2(e);
  th_in(e->h, PEER(.seq = SEQ(e->rcv), .ack = SEQ(e->snd + 1), .flags = A | F));
  struct utcp_seg o;
  if (!th_out(e->h, &o) || o.flags != A || o.ack.v != e->rcv + 1) abort();
  if (state(e) != UTCP_TCP_TIME_WAIT) abort();
}

/* ======================= FIN-WAIT-1 ======================= */

/* RFC 9293 3.10.7.4 fifth, FIN-WAIT-1: "if the FIN segment is now acknowledged, then enter
 * FIN-WAIT-2". */
TEST(test_tcb_fin_wait_1_ack_of_fin) {
  struct est e = est_open(NULL, 0);
  to_fin_wait_1(&e);
  CHECK_EQ(state(&e), UTCP_TCP_FIN_WAIT_1);
  seg_in(e.h, 10, PEER(.seq = SEQ(e.rcv), .ack = SEQ(e.snd + 1)));
  CHECK_EQ(state(&e), UTCP_TCP_FIN_WAIT_2);
  CHECK_EQ(seg_none(e.h, 5000), 0); /* FIN timer stopped */
  CHECK(done(&e));
}

/* RFC 9293 3.10.7.4: an ACK of the data before the FIN, not the FIN: stay in FIN-WAIT-1. */
TEST(test_tcb_fin_wait_1_partial_ack_stays) {
  struct est e = est_open(NULL, 0);
  CHECK_EQ(utcp_tcp_send(e.h->s, e.c, pat(0), 100, e.h->now), 100);
  struct utcp_seg o;
  EXPECT_SEG(e.h, 0, o, A | P, e.snd, e.rcv);
  REQUIRE(utcp_tcp_shutdown(e.h->s, e.c, UTCP_SHUT_WR, e.h->now) == 0);
  EXPECT_SEG(e.h, 0, o, F | A, e.snd + 100, e.rcv);
  seg_in(e.h, 10, PEER(.seq = SEQ(e.rcv), .ack = SEQ(e.snd + 100)));
  CHECK_EQ(state(&e), UTCP_TCP_FIN_WAIT_1);
  seg_in(e.h, 20, PEER(.seq = SEQ(e.rcv), .ack = SEQ(e.snd + 101)));
  CHECK_EQ(state(&e), UTCP_TCP_FIN_WAIT_2);
  CHECK(done(&e));
}

/* RFC 9293 3.10.7.4 eighth, FIN-WAIT-1: a FIN while ours is unacknowledged: CLOSING
 * (simultaneous close); the ACK of our FIN then leads to TIME-WAIT. */
TEST(test_tcb_fin_wait_1_fin_simultaneous_close) {
  struct est e = est_open(NULL, 0);
  to_fin_wait_1(&e);
  seg_in(e.h, 10, PEER(.seq = SEQ(e.rcv), .ack = SEQ(e.snd), .flags = A | F));
  struct utcp_seg o;
  EXPECT_SEG(e.h, 10, o, A, e.snd + 1, e.rcv + 1);
  CHECK_EQ(state(&e), UTCP_TCP_CLOSING);
  CHECK_EQ(th_cov(e.h, "simultaneous_close"), 1);
  CHECK(th_events(e.h, e.c) & EV(UTCP_EV_PEER_CLOSED));
  seg_in(e.h, 20, PEER(.seq = SEQ(e.rcv + 1), .ack = SEQ(e.snd + 1)));
  CHECK_EQ(state(&e), UTCP_TCP_TIME_WAIT);
  CHECK(done(&e));
}

/* RFC 9293 3.10.7.4 eighth, FIN-WAIT-1: FIN acknowledging our FIN: TIME-WAIT at once. */
TEST(test_tcb_fin_wait_1_fin_ack_to_time_wait) {
  struct est e = est_open(NULL, 0);
  to_fin_wait_1(&e);
  seg_in(e.h, 10, PEER(.seq = SEQ(e.rcv), .ack = SEQ(e.snd + 1), .flags = A | F));
  struct utcp_seg o;
  EXPECT_SEG(e.h, 10, o, A, e.snd + 1, e.rcv + 1);
  CHECK_EQ(state(&e), UTCP_TCP_TIME_WAIT);
  CHECK_EQ(th_cov(e.h, "simultaneous_close"), 0);
  CHECK(done(&e));
}

/* RFC 9293 3.10.7.4 seventh, FIN-WAIT-1: text is still delivered (half-close). */
TEST(test_tcb_fin_wait_1_data_delivered) {
  struct est e = est_open(NULL, 0);
  to_fin_wait_1(&e);
  seg_in(e.h, 10, PEER(.seq = SEQ(e.rcv), .ack = SEQ(e.snd), .payload = pat(0), .len = 30));
  CHECK_EQ(utcp_tcp_readable(e.h->s, e.c), 30);
  struct utcp_seg o;
  EXPECT_SEG(e.h, 50, o, A, e.snd + 1, e.rcv + 30);
  CHECK_EQ(state(&e), UTCP_TCP_FIN_WAIT_1);
  CHECK(done(&e));
}

/* RFC 9293 3.10.7.4 second, FIN-WAIT-1: RST at RCV.NXT: connection reset, CLOSED. */
TEST(test_tcb_fin_wait_1_rst) {
  struct est e = est_open(NULL, 0);
  to_fin_wait_1(&e);
  seg_in(e.h, 10, PEER(.seq = SEQ(e.rcv), .flags = R));
  CHECK_EQ(state(&e), UTCP_TCP_CLOSED);
  CHECK(th_events(e.h, e.c) & EV(UTCP_EV_RESET));
  CHECK_EQ(seg_none(e.h, 5000), 0);
  CHECK(done(&e));
}

/* RFC 5961 4.2, FIN-WAIT-1: a SYN gets a challenge ACK. */
TEST(test_tcb_fin_wait_1_syn_challenge) {
  struct est e = est_open(NULL, 0);
  to_fin_wait_1(&e);
  seg_in(e.h, 10, PEER(.seq = SEQ(e.rcv), .flags = S));
  struct utcp_seg o;
  EXPECT_SEG(e.h, 10, o, A, e.snd + 1, e.rcv);
  CHECK_EQ(th_drops(e.h, UTCP_DROP_TCP_SYN_CHALLENGED), 1);
  CHECK_EQ(state(&e), UTCP_TCP_FIN_WAIT_1);
  CHECK(done(&e));
}

/* RFC 6298 5.4: an unacknowledged FIN is retransmitted after the RTO (1 s, then 2 s). */
TEST(test_tcb_fin_wait_1_fin_retransmitted) {
  struct est e = est_open(NULL, 0);
  to_fin_wait_1(&e);
  struct utcp_seg o;
  CHECK_EQ(seg_none(e.h, 999), 0);
  EXPECT_SEG(e.h, 1000, o, F | A, e.snd, e.rcv);
  EXPECT_SEG(e.h, 3000, o, F | A, e.snd, e.rcv);
  CHECK_EQ(state(&e), UTCP_TCP_FIN_WAIT_1);
  CHECK(done(&e));
}

/* ======================= FIN-WAIT-2 ======================= */

/* RFC 9293 3.10.7.4 seventh, FIN-WAIT-2: text delivered and acknowledged. */
TEST(test_tcb_fin_wait_2_data_delivered) {
  struct est e = est_open(NULL, 0);
  to_fin_wait_2(&e);
  seg_in(e.h, 10, PEER(.seq = SEQ(e.rcv), .ack = SEQ(e.snd + 1), .payload = pat(0), .len = 1460));
  seg_in(e.h, 11, PEER(.seq = SEQ(e.rcv + 1460), .ack = SEQ(e.snd + 1), .payload = pat(1460), .len = 1460));
  struct utcp_seg o;
  EXPECT_SEG(e.h, 11, o, A, e.snd + 1, e.rcv + 2920);
  CHECK_EQ(utcp_tcp_readable(e.h->s, e.c), 2920);
  CHECK(done(&e));
}

/* RFC 9293 3.10.7.4 eighth, FIN-WAIT-2: FIN: ACK it, TIME-WAIT. */
TEST(test_tcb_fin_wait_2_fin_to_time_wait) {
  struct est e = est_open(NULL, 0);
  to_fin_wait_2(&e);
  seg_in(e.h, 10, PEER(.seq = SEQ(e.rcv), .ack = SEQ(e.snd + 1), .flags = A | F));
  struct utcp_seg o;
  EXPECT_SEG(e.h, 10, o, A, e.snd + 1, e.rcv + 1);
  CHECK_EQ(state(&e), UTCP_TCP_TIME_WAIT);
  char b[4];
  CHECK_EQ(utcp_tcp_recv(e.h->s, e.c, b, 4, false, e.h->now), 0);
  CHECK(done(&e));
}

/* RFC 9293 3.10.7.4 second, FIN-WAIT-2: RST: reset, CLOSED. */
TEST(test_tcb_fin_wait_2_rst) {
  struct est e = est_open(NULL, 0);
  to_fin_wait_2(&e);
  seg_in(e.h, 10, PEER(.seq = SEQ(e.rcv), .flags = R));
  CHECK_EQ(state(&e), UTCP_TCP_CLOSED);
  CHECK(th_events(e.h, e.c) & EV(UTCP_EV_RESET));
  CHECK(done(&e));
}

/* RFC 5961 4.2, FIN-WAIT-2: SYN: challenge ACK. */
TEST(test_tcb_fin_wait_2_syn_challenge) {
  struct est e = est_open(NULL, 0);
  to_fin_wait_2(&e);
  seg_in(e.h, 10, PEER(.seq = SEQ(e.rcv + 1), .flags = S));
  struct utcp_seg o;
  EXPECT_SEG(e.h, 10, o, A, e.snd + 1, e.rcv);
  CHECK_EQ(state(&e), UTCP_TCP_FIN_WAIT_2);
  CHECK(done(&e));
}

/* RFC 9293 3.10.7.4, FIN-WAIT-2: a bare ACK changes nothing and is not answered. */
TEST(test_tcb_fin_wait_2_ack_ignored) {
  struct est e = est_open(NULL, 0);
  to_fin_wait_2(&e);
  seg_in(e.h, 10, PEER(.seq = SEQ(e.rcv), .ack = SEQ(e.snd + 1), .wnd = 1000));
  CHECK_EQ(seg_none(e.h, 10), 0);
  CHECK_EQ(state(&e), UTCP_TCP_FIN_WAIT_2);
  CHECK(done(&e));
}

/* An orphaned FIN-WAIT-2 (the application closed) does not wait forever for the FIN: it is
 * deleted after 2*MSL (documented in process_ack; Linux tcp_fin_timeout does the same). */
TEST(test_tcb_fin_wait_2_orphan_times_out) {
  struct est e = est_open(NULL, 0);
  REQUIRE(utcp_tcp_close(e.h->s, e.c, 0) == 0);
  struct utcp_seg o;
  EXPECT_SEG(e.h, 0, o, F | A, e.snd, e.rcv);
  seg_in(e.h, 100, PEER(.seq = SEQ(e.rcv), .ack = SEQ(e.snd + 1)));
  CHECK_EQ(utcp_tcp_conns_in_use(e.h->s), 1);
  th_at(e.h, 100 + 60000 - 1);
  CHECK_EQ(utcp_tcp_conns_in_use(e.h->s), 1);
  th_at(e.h, 100 + 60000);
  CHECK_EQ(utcp_tcp_conns_in_use(e.h->s), 0);
  CHECK_EQ(th_pending(e.h), 0);
  CHECK(th_free(e.h));
}

/* ======================= CLOSE-WAIT ======================= */

/* RFC 9293 3.10.7.4 first, CLOSE-WAIT: a retransmitted FIN is old: ACK it again. */
TEST(test_tcb_close_wait_fin_retransmit_reacked) {
  struct est e = est_open(NULL, 0);
  to_close_wait(&e);
  seg_in(e.h, 500, PEER(.seq = SEQ(e.rcv), .ack = SEQ(e.snd), .flags = A | F));
  struct utcp_seg o;
  EXPECT_SEG(e.h, 500, o, A, e.snd, e.rcv + 1);
  CHECK_EQ(state(&e), UTCP_TCP_CLOSE_WAIT);
  CHECK(done(&e));
}

/* RFC 9293 3.10.7.4 second, CLOSE-WAIT: RST: reset. */
TEST(test_tcb_close_wait_rst) {
  struct est e = est_open(NULL, 0);
  to_close_wait(&e);
  seg_in(e.h, 10, PEER(.seq = SEQ(e.rcv + 1), .flags = R));
  CHECK_EQ(state(&e), UTCP_TCP_CLOSED);
  CHECK(th_events(e.h, e.c) & EV(UTCP_EV_RESET));
  CHECK_EQ(ctr(e.h)->tcp_estab_resets, 1);
  CHECK(done(&e));
}

/* RFC 5961 4.2, CLOSE-WAIT: SYN: challenge ACK. */
TEST(test_tcb_close_wait_syn_challenge) {
  struct est e = est_open(NULL, 0);
  to_close_wait(&e);
  seg_in(e.h, 10, PEER(.seq = SEQ(e.rcv + 1), .flags = S));
  struct utcp_seg o;
  EXPECT_SEG(e.h, 10, o, A, e.snd, e.rcv + 1);
  CHECK_EQ(state(&e), UTCP_TCP_CLOSE_WAIT);
  CHECK(done(&e));
}

/* RFC 9293 3.10.7.4 fifth, CLOSE-WAIT: ACKs of our data are processed as in ESTABLISHED. */
TEST(test_tcb_close_wait_ack_of_data) {
  struct est e = est_open(NULL, 0);
  to_close_wait(&e);
  CHECK_EQ(utcp_tcp_send(e.h->s, e.c, pat(0), 200, e.h->now), 200);
  struct utcp_seg o;
  EXPECT_SEG(e.h, 10, o, A | P, e.snd, e.rcv + 1);
  seg_in(e.h, 20, PEER(.seq = SEQ(e.rcv + 1), .ack = SEQ(e.snd + 200)));
  CHECK_EQ(tinfo(e.h, e.c).unacked, 0);
  CHECK_EQ(seg_none(e.h, 3000), 0);
  CHECK(done(&e));
}

/* RFC 9293 3.10.4 CLOSE in CLOSE-WAIT: FIN after the queued data, LAST-ACK. */
TEST(test_tcb_close_wait_close_to_last_ack) {
  struct est e = est_open(NULL, 0);
  to_close_wait(&e);
  CHECK_EQ(utcp_tcp_send(e.h->s, e.c, pat(0), 10, e.h->now), 10);
  REQUIRE(utcp_tcp_shutdown(e.h->s, e.c, UTCP_SHUT_WR, e.h->now) == 0);
  CHECK_EQ(state(&e), UTCP_TCP_LAST_ACK);
  struct utcp_seg o;
  EXPECT_SEG(e.h, 0, o, A | P, e.snd, e.rcv + 1);
  EXPECT_SEG(e.h, 0, o, F | A, e.snd + 10, e.rcv + 1);
  CHECK_EQ(utcp_tcp_send(e.h->s, e.c, "x", 1, e.h->now), UTCP_ERR_PIPE);
  CHECK(done(&e));
}

/* ======================= CLOSING ======================= */

/* RFC 9293 3.10.7.4 fifth, CLOSING: the ACK of our FIN: TIME-WAIT; "otherwise ignore". */
TEST(test_tcb_closing_ack) {
  struct est e = est_open(NULL, 0);
  to_closing(&e);
  seg_in(e.h, 10, PEER(.seq = SEQ(e.rcv + 1), .ack = SEQ(e.snd)));
  CHECK_EQ(state(&e), UTCP_TCP_CLOSING);
  CHECK_EQ(seg_none(e.h, 10), 0);
  seg_in(e.h, 20, PEER(.seq = SEQ(e.rcv + 1), .ack = SEQ(e.snd + 1)));
  CHECK_EQ(state(&e), UTCP_TCP_TIME_WAIT);
  CHECK(done(&e));
}

/* RFC 9293 3.10.7.4 second, CLOSING: RST: enter CLOSED (no error: both sides were done). */
TEST(test_tcb_closing_rst) {
  struct est e = est_open(NULL, 0);
  to_closing(&e);
  seg_in(e.h, 10, PEER(.seq = SEQ(e.rcv + 1), .flags = R));
  CHECK_EQ(state(&e), UTCP_TCP_CLOSED);
  CHECK(th_events(e.h, e.c) & EV(UTCP_EV_CLOSED));
  CHECK_EQ(seg_none(e.h, 5000), 0);
  CHECK(done(&e));
}

/* RFC 5961 4.2, CLOSING: SYN: challenge ACK. */
TEST(test_tcb_closing_syn_challenge) {
  struct est e = est_open(NULL, 0);
  to_closing(&e);
  seg_in(e.h, 10, PEER(.seq = SEQ(e.rcv + 1), .flags = S));
  struct utcp_seg o;
  EXPECT_SEG(e.h, 10, o, A, e.snd + 1, e.rcv + 1);
  CHECK_EQ(state(&e), UTCP_TCP_CLOSING);
  CHECK(done(&e));
}

/* RFC 9293 3.10.7.4 seventh, CLOSING: text after the peer's FIN is ignored. */
TEST(test_tcb_closing_data_ignored) {
  struct est e = est_open(NULL, 0);
  to_closing(&e);
  seg_in(e.h, 10, PEER(.seq = SEQ(e.rcv + 1), .ack = SEQ(e.snd), .payload = pat(0), .len = 10));
  CHECK_EQ(utcp_tcp_readable(e.h->s, e.c), 0);
  CHECK_EQ(tinfo(e.h, e.c).rcv_nxt, e.rcv + 1);
  CHECK_EQ(state(&e), UTCP_TCP_CLOSING);
  CHECK(done(&e));
}

/* RFC 9293 3.10.7.4 first, CLOSING: a retransmitted FIN is re-ACKed. */
TEST(test_tcb_closing_fin_retransmit_reacked) {
  struct est e = est_open(NULL, 0);
  to_closing(&e);
  seg_in(e.h, 300, PEER(.seq = SEQ(e.rcv), .ack = SEQ(e.snd), .flags = A | F));
  struct utcp_seg o;
  EXPECT_SEG(e.h, 300, o, A, e.snd + 1, e.rcv + 1);
  CHECK_EQ(state(&e), UTCP_TCP_CLOSING);
  CHECK(done(&e));
}

/* ======================= LAST-ACK ======================= */

/* RFC 9293 3.10.7.4 fifth, LAST-ACK: the ACK of our FIN: delete the TCB (CLOSED). */
TEST(test_tcb_last_ack_ack_closes) {
  struct est e = est_open(NULL, 0);
  to_last_ack(&e);
  seg_in(e.h, 10, PEER(.seq = SEQ(e.rcv + 1), .ack = SEQ(e.snd)));
  CHECK_EQ(state(&e), UTCP_TCP_LAST_ACK);
  seg_in(e.h, 20, PEER(.seq = SEQ(e.rcv + 1), .ack = SEQ(e.snd + 1)));
  CHECK_EQ(state(&e), UTCP_TCP_CLOSED);
  CHECK(th_events(e.h, e.c) & EV(UTCP_EV_CLOSED));
  CHECK_EQ(seg_none(e.h, 5000), 0);
  CHECK(done(&e));
}

/* RFC 9293 3.10.7.4 second, LAST-ACK: RST: CLOSED. */
TEST(test_tcb_last_ack_rst) {
  struct est e = est_open(NULL, 0);
  to_last_ack(&e);
  seg_in(e.h, 10, PEER(.seq = SEQ(e.rcv + 1), .flags = R));
  CHECK_EQ(state(&e), UTCP_TCP_CLOSED);
  CHECK_EQ(seg_none(e.h, 5000), 0);
  CHECK(done(&e));
}

/* RFC 9293 3.10.7.4 first, LAST-ACK: the peer's retransmitted FIN is re-ACKed. */
TEST(test_tcb_last_ack_fin_retransmit_reacked) {
  struct est e = est_open(NULL, 0);
  to_last_ack(&e);
  seg_in(e.h, 200, PEER(.seq = SEQ(e.rcv), .ack = SEQ(e.snd), .flags = A | F));
  struct utcp_seg o;
  EXPECT_SEG(e.h, 200, o, A, e.snd + 1, e.rcv + 1);
  CHECK_EQ(state(&e), UTCP_TCP_LAST_ACK);
  CHECK(done(&e));
}

/* RFC 5961 4.2, LAST-ACK: SYN: challenge ACK. */
TEST(test_tcb_last_ack_syn_challenge) {
  struct est e = est_open(NULL, 0);
  to_last_ack(&e);
  seg_in(e.h, 10, PEER(.seq = SEQ(e.rcv + 1), .flags = S));
  struct utcp_seg o;
  EXPECT_SEG(e.h, 10, o, A, e.snd + 1, e.rcv + 1);
  CHECK_EQ(state(&e), UTCP_TCP_LAST_ACK);
  CHECK(done(&e));
}

/* RFC 9293 3.10.7.4 seventh, LAST-ACK: text is ignored. */
TEST(test_tcb_last_ack_data_ignored) {
  struct est e = est_open(NULL, 0);
  to_last_ack(&e);
  seg_in(e.h, 10, PEER(.seq = SEQ(e.rcv + 1), .ack = SEQ(e.snd), .payload = pat(0), .len = 10));
  CHECK_EQ(utcp_tcp_readable(e.h->s, e.c), 0);
  CHECK_EQ(th_drops(e.h, UTCP_DROP_TCP_DATA_AFTER_FIN), 1);
  CHECK(done(&e));
}

/* RFC 6298 5.4, LAST-ACK: our FIN is retransmitted until acknowledged. */
TEST(test_tcb_last_ack_fin_retransmitted) {
  struct est e = est_open(NULL, 0);
  to_last_ack(&e);
  struct utcp_seg o;
  EXPECT_SEG(e.h, 1000, o, F | A, e.snd, e.rcv + 1);
  EXPECT_SEG(e.h, 3000, o, F | A, e.snd, e.rcv + 1);
  seg_in(e.h, 3050, PEER(.seq = SEQ(e.rcv + 1), .ack = SEQ(e.snd + 1)));
  CHECK_EQ(state(&e), UTCP_TCP_CLOSED);
  CHECK(done(&e));
}

/* ======================= TIME-WAIT ======================= */

/* RFC 9293 3.10.7.4 / 3.3.2: TIME-WAIT lasts 2*MSL (60 s here), then CLOSED. */
TEST(test_tcb_time_wait_2msl_expiry) {
  struct est e = est_open(NULL, 0);
  th_at(e.h, 500);
  to_time_wait(&e);
  CHECK_EQ(seg_none(e.h, 500 + 60000 - 1), 0);
  CHECK_EQ(state(&e), UTCP_TCP_TIME_WAIT);
  th_at(e.h, 500 + 60000);
  CHECK_EQ(state(&e), UTCP_TCP_CLOSED);
  CHECK_EQ(th_pending(e.h), 0);
  CHECK(done(&e));
}

/* RFC 9293 3.10.7.4 eighth, TIME-WAIT: a retransmitted FIN is ACKed and restarts 2*MSL. */
TEST(test_tcb_time_wait_fin_reack_restarts_2msl) {
  struct est e = est_open(NULL, 0);
  to_time_wait(&e);
  seg_in(e.h, 30000, PEER(.seq = SEQ(e.rcv), .ack = SEQ(e.snd + 1), .flags = A | F));
  struct utcp_seg o;
  EXPECT_SEG(e.h, 30000, o, A, e.snd + 1, e.rcv + 1);
  CHECK(th_cov(e.h, "timewait_reack") >= 1);
  th_at(e.h, 60001);
  CHECK_EQ(state(&e), UTCP_TCP_TIME_WAIT);
  th_at(e.h, 90000);
  CHECK_EQ(state(&e), UTCP_TCP_CLOSED);
  CHECK(done(&e));
}

/* RFC 9293 3.10.7.4 second, TIME-WAIT: RST at RCV.NXT: enter CLOSED, delete the TCB. */
TEST(test_tcb_time_wait_rst) {
  struct est e = est_open(NULL, 0);
  to_time_wait(&e);
  seg_in(e.h, 10, PEER(.seq = SEQ(e.rcv + 1), .flags = R));
  CHECK_EQ(state(&e), UTCP_TCP_CLOSED);
  CHECK_EQ(seg_none(e.h, 10), 0);
  CHECK(done(&e));
}

/* RFC 9293 3.10.7.4, TIME-WAIT: a bare ACK and new text are ignored, unanswered. */
TEST(test_tcb_time_wait_ack_and_data_ignored) {
  struct est e = est_open(NULL, 0);
  to_time_wait(&e);
  seg_in(e.h, 10, PEER(.seq = SEQ(e.rcv + 1), .ack = SEQ(e.snd + 1)));
  seg_in(e.h, 11, PEER(.seq = SEQ(e.rcv + 1), .ack = SEQ(e.snd + 1), .payload = pat(0), .len = 10));
  CHECK_EQ(seg_none(e.h, 11), 0);
  CHECK_EQ(utcp_tcp_readable(e.h->s, e.c), 0);
  CHECK_EQ(state(&e), UTCP_TCP_TIME_WAIT);
  CHECK(done(&e));
}

/* RFC 5961 4.2, TIME-WAIT with no listener: an in-window SYN gets a challenge ACK; the
 * connection stays in TIME-WAIT. */
TEST(test_tcb_time_wait_syn_no_listener_challenge) {
  struct est e = est_open(NULL, 0);
  to_time_wait(&e);
  seg_in(e.h, 10, PEER(.seq = SEQ(e.rcv + 100), .flags = S));
  struct utcp_seg o;
  EXPECT_SEG(e.h, 10, o, A, e.snd + 1, e.rcv + 1);
  CHECK_EQ(state(&e), UTCP_TCP_TIME_WAIT);
  CHECK_EQ(th_cov(e.h, "timewait_reuse"), 0);
  CHECK(done(&e));
}

/* RFC 6191 / RFC 1122 4.2.2.13: with a listener, a SYN above the old RCV.NXT reuses the
 * TIME-WAIT 4-tuple: a new SYN-RECEIVED answers it. */
TEST(test_tcb_time_wait_syn_higher_seq_reuses) {
  struct est e = est_open(NULL, 0);
  to_time_wait(&e);
  utcp_conn_t l, c2;
  REQUIRE(utcp_tcp_listen(e.h->s, TH_LOCAL_PORT, 4, &l) == 0);
  seg_in(e.h, 1000, PEER(.seq = SEQ(e.rcv + 100000), .flags = S));
  struct utcp_seg o;
  EXPECT_SEG(e.h, 1000, o, S | A, o.seq.v, e.rcv + 100001);
  CHECK_EQ(th_cov(e.h, "timewait_reuse"), 1);
  CHECK_EQ(state(&e), UTCP_TCP_CLOSED); /* the old incarnation is gone */
  seg_in(e.h, 1001, PEER(.seq = SEQ(e.rcv + 100001), .ack = utcp_seq_add(o.seq, 1)));
  REQUIRE(utcp_tcp_accept(e.h->s, l, &c2) == 0);
  CHECK_EQ(utcp_tcp_state(e.h->s, c2), UTCP_TCP_ESTABLISHED);
  utcp_tcp_abort(e.h->s, c2, e.h->now);
  utcp_tcp_close(e.h->s, l, e.h->now);
  CHECK(done(&e));
}

/* RFC 6191: a SYN at or below the old RCV.NXT (no timestamps) is refused: ACK, stay. */
TEST(test_tcb_time_wait_syn_lower_seq_refused) {
  struct est e = est_open(NULL, 0);
  to_time_wait(&e);
  utcp_conn_t l;
  REQUIRE(utcp_tcp_listen(e.h->s, TH_LOCAL_PORT, 4, &l) == 0);
  seg_in(e.h, 1000, PEER(.seq = SEQ(e.rcv - 50), .flags = S));
  struct utcp_seg o;
  EXPECT_SEG(e.h, 1000, o, A, e.snd + 1, e.rcv + 1);
  CHECK_EQ(th_pending(e.h), 0);
  CHECK_EQ(state(&e), UTCP_TCP_TIME_WAIT);
  CHECK_EQ(th_cov(e.h, "timewait_reuse"), 0);
  utcp_tcp_close(e.h->s, l, e.h->now);
  CHECK(done(&e));
}

/* RFC 6191 2: with timestamps, a newer TSval allows reuse even below the old RCV.NXT. */
TEST(test_tcb_time_wait_syn_newer_ts_reuses) {
  struct est e = est_open(NULL, UTCP_OPT_TS);
  REQUIRE(utcp_tcp_shutdown(e.h->s, e.c, UTCP_SHUT_WR, e.h->now) == 0);
  struct utcp_seg o;
  REQUIRE(th_out(e.h, &o));
  seg_in(e.h, 10, PEER(.seq = SEQ(e.rcv), .ack = SEQ(e.snd + 1), .flags = A | F,
                       .opt = TSOPT(200, o.opt.ts_val)));
  REQUIRE(th_out(e.h, &o));
  REQUIRE(state(&e) == UTCP_TCP_TIME_WAIT);
  utcp_conn_t l;
  REQUIRE(utcp_tcp_listen(e.h->s, TH_LOCAL_PORT, 4, &l) == 0);
  seg_in(e.h, 1000, PEER(.seq = SEQ(e.rcv - 1000), .flags = S,
                         .opt = {.present = UTCP_OPT_TS | UTCP_OPT_MSS, .mss = 1460, .ts_val = 300}));
  EXPECT_SEG(e.h, 1000, o, S | A, o.seq.v, e.rcv - 999);
  CHECK_EQ(o.opt.ts_ecr, 300);
  CHECK_EQ(th_cov(e.h, "timewait_reuse"), 1);
  utcp_tcp_close(e.h->s, l, e.h->now);
  CHECK(done(&e));
}

/* RFC 6191 2 / RFC 7323 5.3: an older TSval is refused even with a higher sequence number. */
TEST(test_tcb_time_wait_syn_older_ts_refused) {
  struct est e = est_open(NULL, UTCP_OPT_TS);
  REQUIRE(utcp_tcp_shutdown(e.h->s, e.c, UTCP_SHUT_WR, e.h->now) == 0);
  struct utcp_seg o;
  REQUIRE(th_out(e.h, &o));
  seg_in(e.h, 10, PEER(.seq = SEQ(e.rcv), .ack = SEQ(e.snd + 1), .flags = A | F,
                       .opt = TSOPT(200, o.opt.ts_val)));
  REQUIRE(th_out(e.h, &o));
  utcp_conn_t l;
  REQUIRE(utcp_tcp_listen(e.h->s, TH_LOCAL_PORT, 4, &l) == 0);
  seg_in(e.h, 1000, PEER(.seq = SEQ(e.rcv + 100000), .flags = S,
                         .opt = {.present = UTCP_OPT_TS, .ts_val = 150}));
  REQUIRE(th_out(e.h, &o));
  CHECK_EQ(o.flags, A);
  CHECK_EQ(state(&e), UTCP_TCP_TIME_WAIT);
  CHECK_EQ(th_cov(e.h, "timewait_reuse"), 0);
  utcp_tcp_close(e.h->s, l, e.h->now);
  CHECK(done(&e));
}

/* ======================= half-close, close, abort ======================= */

/* RFC 9293 3.10.4 / 3.6: after shutdown(WR) the receive side keeps working to the peer's FIN. */
TEST(test_tcb_half_close_keeps_receiving) {
  struct est e = est_open(NULL, 0);
  to_fin_wait_2(&e);
  CHECK_EQ(utcp_tcp_send(e.h->s, e.c, "x", 1, e.h->now), UTCP_ERR_PIPE);
  for (uint32_t i = 0; i < 4; i++)
    seg_in(e.h, 10 + i, PEER(.seq = SEQ(e.rcv + i * 1000), .ack = SEQ(e.snd + 1),
                             .payload = pat(i * 1000), .len = 1000));
  seg_in(e.h, 20, PEER(.seq = SEQ(e.rcv + 4000), .ack = SEQ(e.snd + 1), .flags = A | F));
  struct utcp_seg o;
  th_at(e.h, 20);
  while (th_out(e.h, &o)) {
  }
  CHECK_EQ(o.ack.v, e.rcv + 4001);
  uint8_t b[5000];
  CHECK_EQ(utcp_tcp_recv(e.h->s, e.c, b, sizeof b, false, e.h->now), 4000);
  CHECK(memcmp(b, pat(0), 4000) == 0);
  CHECK_EQ(utcp_tcp_recv(e.h->s, e.c, b, sizeof b, false, e.h->now), 0);
  CHECK_EQ(state(&e), UTCP_TCP_TIME_WAIT);
  CHECK(done(&e));
}

/* shutdown(RD): later text is acknowledged and discarded (as Linux); recv reads end. */
TEST(test_tcb_shutdown_rd_discards) {
  struct est e = est_open(NULL, 0);
  REQUIRE(utcp_tcp_shutdown(e.h->s, e.c, UTCP_SHUT_RD, e.h->now) == 0);
  seg_in(e.h, 10, PEER(.seq = SEQ(e.rcv), .ack = SEQ(e.snd), .payload = pat(0), .len = 100));
  struct utcp_seg o;
  EXPECT_SEG(e.h, 10, o, A, e.snd, e.rcv + 100);
  CHECK_EQ(utcp_tcp_readable(e.h->s, e.c), 0);
  char b[4];
  CHECK_EQ(utcp_tcp_recv(e.h->s, e.c, b, 4, false, e.h->now), 0);
  CHECK_EQ(state(&e), UTCP_TCP_ESTABLISHED);
  CHECK(done(&e));
}

/* RFC 9293 3.10.4 CLOSE: queued data goes first, then the FIN. */
TEST(test_tcb_close_sends_data_then_fin) {
  struct est e = est_open(NULL, 0);
  CHECK_EQ(utcp_tcp_send(e.h->s, e.c, pat(0), 3000, e.h->now), 3000);
  REQUIRE(utcp_tcp_close(e.h->s, e.c, e.h->now) == 0);
  struct utcp_seg o;
  EXPECT_SEG(e.h, 0, o, A, e.snd, e.rcv);
  CHECK_EQ(o.len, 1460);
  EXPECT_SEG(e.h, 0, o, A, e.snd + 1460, e.rcv);
  CHECK_EQ(o.len, 1460);
  EXPECT_SEG(e.h, 0, o, A | P | F, e.snd + 2920, e.rcv);
  CHECK_EQ(o.len, 80);
  seg_in(e.h, 50, PEER(.seq = SEQ(e.rcv), .ack = SEQ(e.snd + 3001), .flags = A | F));
  EXPECT_SEG(e.h, 50, o, A, e.snd + 3001, e.rcv + 1);
  CHECK_EQ(utcp_tcp_conns_in_use(e.h->s), 1); /* TIME-WAIT */
  th_at(e.h, 50 + 60000);
  CHECK_EQ(utcp_tcp_conns_in_use(e.h->s), 0);
  CHECK(th_free(e.h));
}

/* RFC 2525 2.17 (as Linux): close with unread received data resets the connection:
 * <SEQ=SND.NXT><ACK=RCV.NXT><CTL=RST,ACK>. */
TEST(test_tcb_close_with_unread_data_sends_rst) {
  struct est e = est_open(NULL, 0);
  seg_in(e.h, 10, PEER(.seq = SEQ(e.rcv), .ack = SEQ(e.snd), .payload = pat(0), .len = 10));
  REQUIRE(utcp_tcp_close(e.h->s, e.c, e.h->now) == 0);
  struct utcp_seg o;
  EXPECT_SEG(e.h, 10, o, R | A, e.snd, e.rcv + 10);
  CHECK_EQ(th_pending(e.h), 0);
  CHECK_EQ(utcp_tcp_conns_in_use(e.h->s), 0);
  CHECK_EQ(seg_none(e.h, 5000), 0);
  CHECK(th_free(e.h));
}

/* RFC 9293 3.10.5 ABORT in ESTABLISHED: <SEQ=SND.NXT><CTL=RST>, TCB deleted at once. */
TEST(test_tcb_abort_sends_rst) {
  struct est e = est_open(NULL, 0);
  CHECK_EQ(utcp_tcp_send(e.h->s, e.c, pat(0), 100, e.h->now), 100);
  th_clear(e.h);
  REQUIRE(utcp_tcp_abort(e.h->s, e.c, e.h->now) == 0);
  struct utcp_seg o;
  REQUIRE(th_out(e.h, &o));
  CHECK(o.flags & R);
  CHECK_EQ(o.seq.v, e.snd + 100);
  CHECK_EQ(utcp_tcp_conns_in_use(e.h->s), 0);
  CHECK_EQ(ctr(e.h)->tcp_estab_resets, 1);
  CHECK_EQ(seg_none(e.h, 5000), 0);
  CHECK(th_free(e.h));
}

/* RFC 9293 3.10.5 ABORT in TIME-WAIT: no RST ("delete the TCB"). */
TEST(test_tcb_time_wait_abort_silent) {
  struct est e = est_open(NULL, 0);
  to_time_wait(&e);
  REQUIRE(utcp_tcp_abort(e.h->s, e.c, e.h->now) == 0);
  CHECK_EQ(th_pending(e.h), 0);
  CHECK_EQ(utcp_tcp_conns_in_use(e.h->s), 0);
  CHECK(th_free(e.h));
}

/* SO_LINGER 0: close aborts with a RST instead of a FIN. */
TEST(test_tcb_close_linger0_sends_rst) {
  struct est e = est_open(NULL, 0);
  REQUIRE(utcp_tcp_setopt(e.h->s, e.c, UTCP_TCPOPT_LINGER, 0) == 0);
  REQUIRE(utcp_tcp_close(e.h->s, e.c, e.h->now) == 0);
  struct utcp_seg o;
  EXPECT_SEG(e.h, 0, o, R | A, e.snd, e.rcv);
  CHECK_EQ(th_pending(e.h), 0);
  CHECK_EQ(utcp_tcp_conns_in_use(e.h->s), 0);
  CHECK(th_free(e.h));
}

TEST_MAIN(TEST_CASE(test_tcb_fin_wait_1_ack_of_fin), TEST_CASE(test_tcb_fin_wait_1_partial_ack_stays),
          TEST_CASE(test_tcb_fin_wait_1_fin_simultaneous_close),
          TEST_CASE(test_tcb_fin_wait_1_fin_ack_to_time_wait),
          TEST_CASE(test_tcb_fin_wait_1_data_delivered), TEST_CASE(test_tcb_fin_wait_1_rst),
          TEST_CASE(test_tcb_fin_wait_1_syn_challenge),
          TEST_CASE(test_tcb_fin_wait_1_fin_retransmitted),
          TEST_CASE(test_tcb_fin_wait_2_data_delivered),
          TEST_CASE(test_tcb_fin_wait_2_fin_to_time_wait), TEST_CASE(test_tcb_fin_wait_2_rst),
          TEST_CASE(test_tcb_fin_wait_2_syn_challenge), TEST_CASE(test_tcb_fin_wait_2_ack_ignored),
          TEST_CASE(test_tcb_fin_wait_2_orphan_times_out),
          TEST_CASE(test_tcb_close_wait_fin_retransmit_reacked),
          TEST_CASE(test_tcb_close_wait_rst), TEST_CASE(test_tcb_close_wait_syn_challenge),
          TEST_CASE(test_tcb_close_wait_ack_of_data),
          TEST_CASE(test_tcb_close_wait_close_to_last_ack), TEST_CASE(test_tcb_closing_ack),
          TEST_CASE(test_tcb_closing_rst), TEST_CASE(test_tcb_closing_syn_challenge),
          TEST_CASE(test_tcb_closing_data_ignored),
          TEST_CASE(test_tcb_closing_fin_retransmit_reacked),
          TEST_CASE(test_tcb_last_ack_ack_closes), TEST_CASE(test_tcb_last_ack_rst),
          TEST_CASE(test_tcb_last_ack_fin_retransmit_reacked),
          TEST_CASE(test_tcb_last_ack_syn_challenge), TEST_CASE(test_tcb_last_ack_data_ignored),
          TEST_CASE(test_tcb_last_ack_fin_retransmitted),
          TEST_CASE(test_tcb_time_wait_2msl_expiry),
          TEST_CASE(test_tcb_time_wait_fin_reack_restarts_2msl),
          TEST_CASE(test_tcb_time_wait_rst), TEST_CASE(test_tcb_time_wait_ack_and_data_ignored),
          TEST_CASE(test_tcb_time_wait_syn_no_listener_challenge),
          TEST_CASE(test_tcb_time_wait_syn_higher_seq_reuses),
          TEST_CASE(test_tcb_time_wait_syn_lower_seq_refused),
          TEST_CASE(test_tcb_time_wait_syn_newer_ts_reuses),
          TEST_CASE(test_tcb_time_wait_syn_older_ts_refused),
          TEST_CASE(test_tcb_half_close_keeps_receiving), TEST_CASE(test_tcb_shutdown_rd_discards),
          TEST_CASE(test_tcb_close_sends_data_then_fin),
          TEST_CASE(test_tcb_close_with_unread_data_sends_rst), TEST_CASE(test_tcb_abort_sends_rst),
          TEST_CASE(test_tcb_time_wait_abort_silent), TEST_CASE(test_tcb_close_linger0_sends_rst))
