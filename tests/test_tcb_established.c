/* RFC 9293 3.10.7.4 SEGMENT ARRIVES in ESTABLISHED, with RFC 5961 (challenge ACKs),
 * RFC 7323 (PAWS, TS.Recent), RFC 1122 4.2.3.x (delayed ACK, Nagle, SWS, keepalive),
 * RFC 6298 (RTO), RFC 5681 / RFC 6582 (fast retransmit, NewReno). Every test ends with the
 * leak check. */
#include "tcb_util.h"

static const struct utcp_counters *ctr(const struct th *h) { return utcp_stack_counters(h->s); }

static bool done(struct est *e) {
  utcp_tcp_abort(e->h->s, e->c, e->h->now);
  th_clear(e->h);
  return th_free(e->h);
}

static struct est est_rcvbuf(uint32_t rcvbuf, uint8_t extra) {
  struct utcp_stack_config cfg;
  th_config(&cfg);
  cfg.tcp.rcvbuf_bytes = rcvbuf;
  return est_open(&cfg, extra);
}

/* ---- first check: sequence number (the four acceptability cases) ---- */

/* RFC 9293 3.10.7.4 case 2 (len 0, window > 0): RCV.NXT =< SEG.SEQ < RCV.NXT+RCV.WND is
 * acceptable, and its ACK is processed. */
TEST(test_tcb_established_zero_len_in_window_accepted) {
  struct est e = est_open(NULL, 0);
  CHECK_EQ(utcp_tcp_send(e.h->s, e.c, pat(0), 100, e.h->now), 100);
  th_clear(e.h);
  seg_in(e.h, 10, PEER(.seq = SEQ(e.rcv + 500), .ack = SEQ(e.snd + 100)));
  CHECK_EQ(tinfo(e.h, e.c).unacked, 0);
  CHECK_EQ(seg_none(e.h, 10), 0);
  CHECK_EQ(th_drops(e.h, UTCP_DROP_TCP_OUT_OF_WINDOW), 0);
  CHECK(done(&e));
}

/* RFC 9293 3.10.7.4: a zero-length segment below RCV.NXT is not acceptable: send
 * <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>, drop (its ACK is not processed). */
TEST(test_tcb_established_zero_len_old_gets_ack) {
  struct est e = est_open(NULL, 0);
  CHECK_EQ(utcp_tcp_send(e.h->s, e.c, pat(0), 100, e.h->now), 100);
  th_clear(e.h);
  seg_in(e.h, 10, PEER(.seq = SEQ(e.rcv - 1), .ack = SEQ(e.snd + 100)));
  struct utcp_seg o;
  EXPECT_SEG(e.h, 10, o, A, e.snd + 100, e.rcv);
  CHECK_EQ(o.len, 0);
  CHECK_EQ(tinfo(e.h, e.c).unacked, 100);
  CHECK_EQ(th_drops(e.h, UTCP_DROP_TCP_OUT_OF_WINDOW), 1);
  CHECK(done(&e));
}

/* RFC 9293 3.10.7.4 cases 1 and 3 (RCV.WND = 0): a zero-length segment is acceptable only at
 * RCV.NXT; any text is unacceptable and gets an ACK showing the zero window. */
TEST(test_tcb_established_zero_window_acceptability) {
  struct est e = est_rcvbuf(4096, 0);
  seg_in(e.h, 0, PEER(.seq = SEQ(e.rcv), .ack = SEQ(e.snd), .payload = pat(0), .len = 1460));
  seg_in(e.h, 1, PEER(.seq = SEQ(e.rcv + 1460), .ack = SEQ(e.snd), .payload = pat(1460), .len = 1460));
  seg_in(e.h, 2, PEER(.seq = SEQ(e.rcv + 2920), .ack = SEQ(e.snd), .payload = pat(2920), .len = 1176));
  uint32_t nxt = e.rcv + 4096;
  struct utcp_seg o;
  th_at(e.h, 100);
  while (th_out(e.h, &o)) {
  }
  CHECK_EQ(o.ack.v, nxt);
  CHECK_EQ(o.wnd, 0);
  CHECK_EQ(utcp_tcp_send(e.h->s, e.c, pat(0), 10, e.h->now), 10);
  REQUIRE(th_out(e.h, &o));
  /* Zero length at RCV.NXT: acceptable, its ACK processed. */
  seg_in(e.h, 110, PEER(.seq = SEQ(nxt), .ack = SEQ(e.snd + 10)));
  CHECK_EQ(tinfo(e.h, e.c).unacked, 0);
  CHECK_EQ(seg_none(e.h, 110), 0);
  /* Zero length past RCV.NXT: unacceptable. */
  seg_in(e.h, 120, PEER(.seq = SEQ(nxt + 1), .ack = SEQ(e.snd + 10)));
  EXPECT_SEG(e.h, 120, o, A, e.snd + 10, nxt);
  /* One octet at RCV.NXT (a zero-window probe): unacceptable, answered with window 0. */
  seg_in(e.h, 130, PEER(.seq = SEQ(nxt), .ack = SEQ(e.snd + 10), .payload = pat(4096), .len = 1));
  EXPECT_SEG(e.h, 130, o, A, e.snd + 10, nxt);
  CHECK_EQ(o.wnd, 0);
  CHECK_EQ(th_cov(e.h, "zero_window_probe_answered"), 1);
  CHECK_EQ(utcp_tcp_readable(e.h->s, e.c), 4096);
  CHECK_EQ(th_drops(e.h, UTCP_DROP_TCP_OUT_OF_WINDOW), 2);
  CHECK(done(&e));
}

/* RFC 9293 3.10.7.4 case 4: text starting in the window is accepted. */
TEST(test_tcb_established_data_in_window) {
  struct est e = est_open(NULL, 0);
  seg_in(e.h, 5, PEER(.seq = SEQ(e.rcv), .ack = SEQ(e.snd), .flags = A | P, .payload = pat(0), .len = 300));
  CHECK_EQ(utcp_tcp_readable(e.h->s, e.c), 300);
  CHECK(th_events(e.h, e.c) & EV(UTCP_EV_READABLE));
  CHECK_EQ(tinfo(e.h, e.c).rcv_nxt, e.rcv + 300);
  CHECK_EQ(tinfo(e.h, e.c).bytes_received, 300);
  CHECK(done(&e));
}

/* RFC 9293 3.10.7.4: a segment straddling the left edge is trimmed to its new part; the
 * overlapping old octets are not delivered twice. */
TEST(test_tcb_established_left_edge_trimmed) {
  struct est e = est_open(NULL, 0);
  seg_in(e.h, 5, PEER(.seq = SEQ(e.rcv), .ack = SEQ(e.snd), .payload = pat(0), .len = 50));
  seg_in(e.h, 6, PEER(.seq = SEQ(e.rcv), .ack = SEQ(e.snd), .payload = pat(0), .len = 150));
  uint8_t b[400];
  CHECK_EQ(utcp_tcp_recv(e.h->s, e.c, b, sizeof b, false, e.h->now), 150);
  CHECK(memcmp(b, pat(0), 150) == 0);
  CHECK_EQ(tinfo(e.h, e.c).rcv_nxt, e.rcv + 150);
  CHECK(done(&e));
}

/* RFC 9293 3.10.7.4: text beyond the right edge of the window is trimmed off. */
TEST(test_tcb_established_right_edge_trimmed) {
  struct est e = est_rcvbuf(4096, 0);
  seg_in(e.h, 0, PEER(.seq = SEQ(e.rcv), .ack = SEQ(e.snd), .payload = pat(0), .len = 1460));
  seg_in(e.h, 1, PEER(.seq = SEQ(e.rcv + 1460), .ack = SEQ(e.snd), .payload = pat(1460), .len = 1460));
  seg_in(e.h, 2, PEER(.seq = SEQ(e.rcv + 2920), .ack = SEQ(e.snd), .payload = pat(2920), .len = 1460));
  CHECK_EQ(utcp_tcp_readable(e.h->s, e.c), 4096);
  CHECK_EQ(tinfo(e.h, e.c).rcv_nxt, e.rcv + 4096);
  struct utcp_seg o;
  th_at(e.h, 100);
  while (th_out(e.h, &o)) {
  }
  CHECK_EQ(o.ack.v, e.rcv + 4096);
  CHECK_EQ(o.wnd, 0);
  CHECK(done(&e));
}

/* RFC 9293 3.10.7.4: a segment wholly beyond the window: ACK, drop. */
TEST(test_tcb_established_beyond_window_gets_ack) {
  struct est e = est_open(NULL, 0);
  seg_in(e.h, 5, PEER(.seq = SEQ(e.rcv + 65536), .ack = SEQ(e.snd), .payload = pat(0), .len = 10));
  struct utcp_seg o;
  EXPECT_SEG(e.h, 5, o, A, e.snd, e.rcv);
  CHECK_EQ(utcp_tcp_readable(e.h->s, e.c), 0);
  CHECK_EQ(tinfo(e.h, e.c).ooo_bytes, 0);
  CHECK_EQ(th_drops(e.h, UTCP_DROP_TCP_OUT_OF_WINDOW), 1);
  CHECK(done(&e));
}

/* RFC 9293 3.10.7.4: an old duplicate (wholly below RCV.NXT) is answered with an ACK at once
 * (the peer may have lost ours) and not delivered again. */
TEST(test_tcb_established_old_duplicate_gets_ack) {
  struct est e = est_open(NULL, 0);
  seg_in(e.h, 5, PEER(.seq = SEQ(e.rcv), .ack = SEQ(e.snd), .payload = pat(0), .len = 100));
  struct utcp_seg o;
  EXPECT_SEG(e.h, 45, o, A, e.snd, e.rcv + 100);
  seg_in(e.h, 300, PEER(.seq = SEQ(e.rcv), .ack = SEQ(e.snd), .payload = pat(0), .len = 100));
  EXPECT_SEG(e.h, 300, o, A, e.snd, e.rcv + 100);
  CHECK_EQ(utcp_tcp_readable(e.h->s, e.c), 100);
  CHECK_EQ(tinfo(e.h, e.c).bytes_received, 100);
  CHECK(done(&e));
}

/* ---- fifth check: ACK ---- */

/* RFC 9293 3.10.7.4: "If the ACK acks something not yet sent (SEG.ACK > SND.NXT), then send
 * an ACK, drop the segment, and return" (the text is not delivered). */
TEST(test_tcb_established_ack_of_unsent_data) {
  struct est e = est_open(NULL, 0);
  seg_in(e.h, 5, PEER(.seq = SEQ(e.rcv), .ack = SEQ(e.snd + 10), .payload = pat(0), .len = 20));
  struct utcp_seg o;
  EXPECT_SEG(e.h, 5, o, A, e.snd, e.rcv);
  CHECK_EQ(utcp_tcp_readable(e.h->s, e.c), 0);
  CHECK_EQ(th_cov(e.h, "ack_unsent_data"), 1);
  CHECK_EQ(th_drops(e.h, UTCP_DROP_TCP_ACK_UNSENT), 1);
  CHECK(done(&e));
}

/* RFC 5961 5.2: SEG.ACK below SND.UNA - MAX.SND.WND: challenge ACK, drop. */
TEST(test_tcb_established_ack_too_old_dropped) {
  struct est e = est_open(NULL, 0);
  seg_in(e.h, 5, PEER(.seq = SEQ(e.rcv), .ack = SEQ(e.snd - 70000), .payload = pat(0), .len = 20));
  struct utcp_seg o;
  EXPECT_SEG(e.h, 5, o, A, e.snd, e.rcv);
  CHECK_EQ(utcp_tcp_readable(e.h->s, e.c), 0);
  CHECK_EQ(th_drops(e.h, UTCP_DROP_TCP_ACK_TOO_OLD), 1);
  CHECK(done(&e));
}

/* RFC 9293 3.10.7.4: a duplicate ACK (SEG.ACK < SND.UNA, within RFC 5961's bound) is
 * ignored, but the text is processed. */
TEST(test_tcb_established_old_ack_ignored_text_kept) {
  struct est e = est_open(NULL, 0);
  seg_in(e.h, 5, PEER(.seq = SEQ(e.rcv), .ack = SEQ(e.snd - 1000), .payload = pat(0), .len = 20));
  CHECK_EQ(utcp_tcp_readable(e.h->s, e.c), 20);
  CHECK_EQ(tinfo(e.h, e.c).snd_una, e.snd);
  CHECK(done(&e));
}

/* RFC 9293 3.10.7.4 fifth: "if the ACK bit is off, drop the segment and return". */
TEST(test_tcb_established_no_ack_dropped) {
  struct est e = est_open(NULL, 0);
  seg_in(e.h, 5, PEER(.seq = SEQ(e.rcv), .flags = P, .payload = pat(0), .len = 20));
  CHECK_EQ(seg_none(e.h, 100), 0);
  CHECK_EQ(utcp_tcp_readable(e.h->s, e.c), 0);
  CHECK_EQ(th_drops(e.h, UTCP_DROP_TCP_NO_ACK), 1);
  CHECK(done(&e));
}

/* ---- second check: RST (RFC 5961 3) ---- */

/* RFC 5961 3.2: RST exactly at RCV.NXT (ACK bit too): reset, ECONNRESET, buffers freed. */
TEST(test_tcb_established_rst_exact_with_ack) {
  struct est e = est_open(NULL, 0);
  CHECK_EQ(utcp_tcp_send(e.h->s, e.c, pat(0), 5000, e.h->now), 5000);
  th_clear(e.h);
  seg_in(e.h, 5, PEER(.seq = SEQ(e.rcv), .ack = SEQ(e.snd), .flags = R | A));
  CHECK_EQ(seg_none(e.h, 5), 0);
  CHECK_EQ(utcp_tcp_state(e.h->s, e.c), UTCP_TCP_CLOSED);
  CHECK(th_events(e.h, e.c) & EV(UTCP_EV_RESET));
  uint8_t b[4];
  CHECK_EQ(utcp_tcp_recv(e.h->s, e.c, b, sizeof b, false, e.h->now), UTCP_ERR_CONNRESET);
  CHECK_EQ(utcp_tcp_send(e.h->s, e.c, "x", 1, e.h->now), UTCP_ERR_CONNRESET);
  CHECK_EQ(utcp_tcp_chunks_in_use(e.h->s), 0);
  CHECK_EQ(ctr(e.h)->tcp_estab_resets, 1);
  CHECK_EQ(seg_none(e.h, 10000), 0); /* no retransmission of the dropped data */
  utcp_tcp_close(e.h->s, e.c, e.h->now);
  CHECK(th_free(e.h));
}

/* RFC 9293 3.10.7.4 first check: a RST outside the window is dropped silently. */
TEST(test_tcb_established_rst_out_of_window_silent) {
  struct est e = est_open(NULL, 0);
  seg_in(e.h, 5, PEER(.seq = SEQ(e.rcv + 70000), .flags = R));
  seg_in(e.h, 6, PEER(.seq = SEQ(e.rcv - 1), .flags = R));
  CHECK_EQ(seg_none(e.h, 6), 0);
  CHECK_EQ(utcp_tcp_state(e.h->s, e.c), UTCP_TCP_ESTABLISHED);
  CHECK_EQ(th_drops(e.h, UTCP_DROP_TCP_OUT_OF_WINDOW), 2);
  CHECK(done(&e));
}

/* RFC 5961 3.2: RST in window, not exact: challenge ACK <SEQ=SND.NXT><ACK=RCV.NXT>; the
 * peer's correct RST (at RCV.NXT) then resets. */
TEST(test_tcb_established_rst_challenge_then_exact) {
  struct est e = est_open(NULL, 0);
  seg_in(e.h, 5, PEER(.seq = SEQ(e.rcv + 1), .flags = R | A, .ack = SEQ(e.snd)));
  struct utcp_seg o;
  EXPECT_SEG(e.h, 5, o, A, e.snd, e.rcv);
  CHECK_EQ(utcp_tcp_state(e.h->s, e.c), UTCP_TCP_ESTABLISHED);
  seg_in(e.h, 6, PEER(.seq = SEQ(e.rcv), .flags = R));
  CHECK_EQ(utcp_tcp_state(e.h->s, e.c), UTCP_TCP_CLOSED);
  CHECK_EQ(th_cov(e.h, "rst_in_window_exact"), 1);
  utcp_tcp_close(e.h->s, e.c, e.h->now);
  CHECK(th_free(e.h));
}

/* RFC 5961 7: challenge ACKs are rate limited per second (stack-wide); the limit refills. */
TEST(test_tcb_established_challenge_ack_rate_limit) {
  struct utcp_stack_config cfg;
  th_config(&cfg);
  cfg.tcp.challenge_ack_limit = 2;
  struct est e = est_open(&cfg, 0);
  for (int i = 0; i < 3; i++) seg_in(e.h, 2000, PEER(.seq = SEQ(e.rcv + 10 + (uint32_t)i), .flags = R));
  seg_in(e.h, 2001, PEER(.seq = SEQ(e.rcv + 5), .flags = S));
  CHECK_EQ(th_pending(e.h), 2);
  CHECK_EQ(th_cov(e.h, "challenge_ack"), 2);
  CHECK_EQ(th_cov(e.h, "challenge_ack_limited"), 2);
  th_clear(e.h);
  seg_in(e.h, 3001, PEER(.seq = SEQ(e.rcv + 10), .flags = R));
  struct utcp_seg o;
  EXPECT_SEG(e.h, 3001, o, A, e.snd, e.rcv);
  CHECK_EQ(utcp_tcp_state(e.h->s, e.c), UTCP_TCP_ESTABLISHED);
  CHECK(done(&e));
}

/* ---- fourth check: SYN (RFC 5961 4) ---- */

/* RFC 5961 4.2: a SYN at RCV.NXT (even with ACK) gets a challenge ACK; the connection stays. */
TEST(test_tcb_established_syn_in_window_challenge) {
  struct est e = est_open(NULL, 0);
  seg_in(e.h, 5, PEER(.seq = SEQ(e.rcv), .ack = SEQ(e.snd), .flags = S | A));
  struct utcp_seg o;
  EXPECT_SEG(e.h, 5, o, A, e.snd, e.rcv);
  CHECK_EQ(th_drops(e.h, UTCP_DROP_TCP_SYN_CHALLENGED), 1);
  CHECK_EQ(th_cov(e.h, "challenge_ack"), 1);
  CHECK_EQ(utcp_tcp_state(e.h->s, e.c), UTCP_TCP_ESTABLISHED);
  CHECK(done(&e));
}

/* RFC 9293 3.10.7.4 first check: an old SYN (retransmitted handshake) is unacceptable: ACK. */
TEST(test_tcb_established_old_syn_gets_ack) {
  struct est e = est_open(NULL, 0);
  seg_in(e.h, 5, PEER(.seq = SEQ(IRS), .flags = S));
  struct utcp_seg o;
  EXPECT_SEG(e.h, 5, o, A, e.snd, e.rcv);
  CHECK_EQ(th_drops(e.h, UTCP_DROP_TCP_OUT_OF_WINDOW), 1);
  CHECK_EQ(utcp_tcp_state(e.h->s, e.c), UTCP_TCP_ESTABLISHED);
  CHECK(done(&e));
}

/* ---- RFC 7323: PAWS and TS.Recent ---- */

/* RFC 7323 5.3 R1: SEG.TSval < TS.Recent: send an ACK and drop (text not delivered). */
TEST(test_tcb_established_paws_drop) {
  struct est e = est_open(NULL, UTCP_OPT_TS);
  seg_in(e.h, 5, PEER(.seq = SEQ(e.rcv), .ack = SEQ(e.snd), .payload = pat(0), .len = 10,
                      .opt = TSOPT(e.peer_ts - 10, 0)));
  struct utcp_seg o;
  EXPECT_SEG(e.h, 5, o, A, e.snd, e.rcv);
  CHECK_EQ(o.opt.ts_ecr, e.peer_ts);
  CHECK_EQ(utcp_tcp_readable(e.h->s, e.c), 0);
  CHECK_EQ(th_cov(e.h, "paws_drop"), 1);
  CHECK_EQ(th_drops(e.h, UTCP_DROP_TCP_PAWS), 1);
  CHECK(done(&e));
}

/* RFC 7323 4.3: TS.Recent takes SEG.TSval of an in-order segment; ACKs echo it. */
TEST(test_tcb_established_ts_recent_updated) {
  struct est e = est_open(NULL, UTCP_OPT_TS);
  seg_in(e.h, 5, PEER(.seq = SEQ(e.rcv), .ack = SEQ(e.snd), .payload = pat(0), .len = 10,
                      .opt = TSOPT(5000, 0)));
  struct utcp_seg o;
  EXPECT_SEG(e.h, 45, o, A, e.snd, e.rcv + 10);
  CHECK_EQ(o.opt.ts_ecr, 5000);
  CHECK(done(&e));
}

/* RFC 7323 4.3 (2): TS.Recent only from a segment covering Last.ACK.sent: an out-of-order
 * segment's newer TSval is not echoed. */
TEST(test_tcb_established_ts_recent_not_from_ooo) {
  struct est e = est_open(NULL, UTCP_OPT_TS);
  seg_in(e.h, 5, PEER(.seq = SEQ(e.rcv + 100), .ack = SEQ(e.snd), .payload = pat(100), .len = 10,
                      .opt = TSOPT(9000, 0)));
  struct utcp_seg o;
  EXPECT_SEG(e.h, 5, o, A, e.snd, e.rcv);
  CHECK_EQ(o.opt.ts_ecr, e.peer_ts);
  seg_in(e.h, 6, PEER(.seq = SEQ(e.rcv), .ack = SEQ(e.snd), .payload = pat(0), .len = 100,
                      .opt = TSOPT(8000, 0)));
  EXPECT_SEG(e.h, 6, o, A, e.snd, e.rcv + 110);
  CHECK_EQ(o.opt.ts_ecr, 8000);
  CHECK(done(&e));
}

/* RFC 7323 3.2: after agreement a non-RST segment without timestamps is dropped. */
TEST(test_tcb_established_no_ts_after_agreement_dropped) {
  struct est e = est_open(NULL, UTCP_OPT_TS);
  seg_in(e.h, 5, PEER(.seq = SEQ(e.rcv), .ack = SEQ(e.snd), .payload = pat(0), .len = 10));
  CHECK_EQ(seg_none(e.h, 100), 0);
  CHECK_EQ(utcp_tcp_readable(e.h->s, e.c), 0);
  CHECK_EQ(th_drops(e.h, UTCP_DROP_TCP_NO_TS), 1);
  /* A RST may omit it (RFC 7323 3.2). */
  seg_in(e.h, 110, PEER(.seq = SEQ(e.rcv), .flags = R));
  CHECK_EQ(utcp_tcp_state(e.h->s, e.c), UTCP_TCP_CLOSED);
  utcp_tcp_close(e.h->s, e.c, e.h->now);
  CHECK(th_free(e.h));
}

/* ---- window update (RFC 9293 3.10.7.4, SND.WL1 / SND.WL2) ---- */

/* RFC 9293 3.10.7.4: update SND.WND only if SND.WL1 < SEG.SEQ, or SND.WL1 = SEG.SEQ and
 * SND.WL2 =< SEG.ACK: an older segment cannot shrink the window. */
TEST(test_tcb_established_window_update_wl1_wl2) {
  struct est e = est_open(NULL, 0);
  CHECK_EQ(utcp_tcp_send(e.h->s, e.c, pat(0), 100, e.h->now), 100);
  th_clear(e.h);
  uint32_t x = e.snd + 100;
  seg_in(e.h, 1, PEER(.seq = SEQ(e.rcv), .ack = SEQ(x), .wnd = 7000, .payload = pat(0), .len = 20));
  CHECK_EQ(tinfo(e.h, e.c).snd_wnd, 7000);
  seg_in(e.h, 2, PEER(.seq = SEQ(e.rcv + 20), .ack = SEQ(x), .wnd = 8000));
  CHECK_EQ(tinfo(e.h, e.c).snd_wnd, 8000);
  /* SEG.SEQ < SND.WL1 (a reordered straddling segment): no update. */
  seg_in(e.h, 3, PEER(.seq = SEQ(e.rcv + 10), .ack = SEQ(x), .wnd = 100, .payload = pat(10), .len = 20));
  CHECK_EQ(tinfo(e.h, e.c).snd_wnd, 8000);
  CHECK_EQ(utcp_tcp_readable(e.h->s, e.c), 30);
  /* SEG.SEQ > SND.WL1: update. */
  seg_in(e.h, 4, PEER(.seq = SEQ(e.rcv + 30), .ack = SEQ(x), .wnd = 9000));
  CHECK_EQ(tinfo(e.h, e.c).snd_wnd, 9000);
  /* SEG.SEQ = SND.WL1 but SEG.ACK < SND.WL2: no update. */
  seg_in(e.h, 5, PEER(.seq = SEQ(e.rcv + 30), .ack = SEQ(x - 5), .wnd = 100));
  CHECK_EQ(tinfo(e.h, e.c).snd_wnd, 9000);
  /* SEG.SEQ = SND.WL1 and SEG.ACK = SND.WL2: update (even shrinking). */
  seg_in(e.h, 6, PEER(.seq = SEQ(e.rcv + 30), .ack = SEQ(x), .wnd = 3000));
  CHECK_EQ(tinfo(e.h, e.c).snd_wnd, 3000);
  CHECK(done(&e));
}

/* RFC 9293 3.8.6 / RFC 1122 4.2.3.4: never beyond SND.UNA + SND.WND, and a window-limited
 * short segment waits (sender SWS avoidance) while full-sized ones go. */
TEST(test_tcb_established_send_limited_by_window) {
  struct est e = est_open(NULL, 0);
  seg_in(e.h, 1, PEER(.seq = SEQ(e.rcv), .ack = SEQ(e.snd), .wnd = 2000));
  CHECK_EQ(utcp_tcp_send(e.h->s, e.c, pat(0), 5000, e.h->now), 5000);
  struct utcp_seg o;
  REQUIRE(th_out(e.h, &o));
  CHECK_EQ(o.seq.v, e.snd);
  CHECK_EQ(o.len, 1460);
  CHECK_EQ(th_pending(e.h), 0); /* 540 usable octets: less than half the largest window */
  seg_in(e.h, 50, PEER(.seq = SEQ(e.rcv), .ack = SEQ(e.snd + 1460), .wnd = 2000));
  REQUIRE(th_out(e.h, &o));
  CHECK_EQ(o.seq.v, e.snd + 1460);
  CHECK_EQ(o.len, 1460);
  CHECK_EQ(th_pending(e.h), 0);
  CHECK(done(&e));
}

/* ---- seventh check: text, reassembly ---- */

/* RFC 5681 4.2 / RFC 9293 3.10.7.4: out-of-order text is queued and ACKed at once (a
 * duplicate ACK), with a SACK block when SACK was agreed (RFC 2018 4). */
TEST(test_tcb_established_ooo_immediate_ack_with_sack) {
  struct est e = est_open(NULL, UTCP_OPT_SACK_PERM);
  seg_in(e.h, 5, PEER(.seq = SEQ(e.rcv + 1000), .ack = SEQ(e.snd), .payload = pat(1000), .len = 500));
  struct utcp_seg o;
  EXPECT_SEG(e.h, 5, o, A, e.snd, e.rcv);
  REQUIRE(o.opt.present & UTCP_OPT_SACK);
  CHECK_EQ(o.opt.sack_count, 1);
  CHECK_EQ(o.opt.sack[0].left.v, e.rcv + 1000);
  CHECK_EQ(o.opt.sack[0].right.v, e.rcv + 1500);
  CHECK_EQ(utcp_tcp_readable(e.h->s, e.c), 0);
  CHECK_EQ(tinfo(e.h, e.c).ooo_bytes, 500);
  CHECK_EQ(th_cov(e.h, "ooo_queued"), 1);
  /* Filling the hole: immediate ACK of everything, delivered in order. */
  seg_in(e.h, 6, PEER(.seq = SEQ(e.rcv), .ack = SEQ(e.snd), .payload = pat(0), .len = 1000));
  EXPECT_SEG(e.h, 6, o, A, e.snd, e.rcv + 1500);
  CHECK_EQ(o.opt.present & UTCP_OPT_SACK, 0);
  CHECK_EQ(th_cov(e.h, "hole_filled"), 1);
  uint8_t b[2000];
  CHECK_EQ(utcp_tcp_recv(e.h->s, e.c, b, sizeof b, false, e.h->now), 1500);
  CHECK(memcmp(b, pat(0), 1500) == 0);
  CHECK(done(&e));
}

/* RFC 9293 3.10.7.4 / RFC 1122 4.2.2.20: overlapping and duplicate out-of-order segments are
 * delivered exactly once, in order. */
TEST(test_tcb_established_ooo_overlaps_delivered_once) {
  struct est e = est_open(NULL, 0);
  const uint32_t pieces[][2] = {{200, 200}, {300, 300}, {200, 200}, {100, 150}, {550, 10}, {0, 150}};
  for (size_t i = 0; i < sizeof pieces / sizeof pieces[0]; i++)
    seg_in(e.h, 5 + i, PEER(.seq = SEQ(e.rcv + pieces[i][0]), .ack = SEQ(e.snd),
                            .payload = pat(pieces[i][0]), .len = pieces[i][1]));
  CHECK_EQ(th_pending(e.h), 6); /* every one ACKed at once */
  struct utcp_seg o;
  while (th_out(e.h, &o)) {
  }
  CHECK_EQ(o.ack.v, e.rcv + 600);
  uint8_t b[1000];
  CHECK_EQ(utcp_tcp_recv(e.h->s, e.c, b, sizeof b, false, e.h->now), 600);
  CHECK(memcmp(b, pat(0), 600) == 0);
  CHECK_EQ(tinfo(e.h, e.c).bytes_received, 600);
  CHECK_EQ(tinfo(e.h, e.c).ooo_bytes, 0);
  CHECK(done(&e));
}

/* RFC 9293 3.10.7.4 eighth: a FIN after a hole waits for the hole to fill. */
TEST(test_tcb_established_ooo_fin_after_hole) {
  struct est e = est_open(NULL, 0);
  seg_in(e.h, 5, PEER(.seq = SEQ(e.rcv + 100), .ack = SEQ(e.snd), .flags = A | F, .payload = pat(100),
                      .len = 100));
  struct utcp_seg o;
  EXPECT_SEG(e.h, 5, o, A, e.snd, e.rcv);
  CHECK_EQ(utcp_tcp_state(e.h->s, e.c), UTCP_TCP_ESTABLISHED);
  seg_in(e.h, 6, PEER(.seq = SEQ(e.rcv), .ack = SEQ(e.snd), .payload = pat(0), .len = 100));
  EXPECT_SEG(e.h, 6, o, A, e.snd, e.rcv + 201);
  CHECK_EQ(utcp_tcp_state(e.h->s, e.c), UTCP_TCP_CLOSE_WAIT);
  CHECK_EQ(utcp_tcp_readable(e.h->s, e.c), 200);
  CHECK(done(&e));
}

/* RFC 9293 3.10.7.4 (CLOSE-WAIT text): data after the peer's FIN is ignored. */
TEST(test_tcb_established_data_after_fin_ignored) {
  struct est e = est_open(NULL, 0);
  seg_in(e.h, 5, PEER(.seq = SEQ(e.rcv), .ack = SEQ(e.snd), .flags = A | F));
  struct utcp_seg o;
  EXPECT_SEG(e.h, 5, o, A, e.snd, e.rcv + 1);
  seg_in(e.h, 6, PEER(.seq = SEQ(e.rcv + 1), .ack = SEQ(e.snd), .payload = pat(0), .len = 10));
  CHECK_EQ(utcp_tcp_readable(e.h->s, e.c), 0);
  CHECK_EQ(tinfo(e.h, e.c).rcv_nxt, e.rcv + 1);
  CHECK_EQ(th_drops(e.h, UTCP_DROP_TCP_DATA_AFTER_FIN), 1);
  CHECK(done(&e));
}

/* ---- delayed ACK (RFC 1122 4.2.3.2, RFC 5681 4.2) ---- */

/* RFC 5681 4.2: an ACK at least for every second full-sized segment, at once. */
TEST(test_tcb_established_delack_every_second_segment) {
  struct est e = est_open(NULL, 0);
  seg_in(e.h, 10, PEER(.seq = SEQ(e.rcv), .ack = SEQ(e.snd), .payload = pat(0), .len = 1460));
  CHECK_EQ(th_pending(e.h), 0);
  seg_in(e.h, 11, PEER(.seq = SEQ(e.rcv + 1460), .ack = SEQ(e.snd), .payload = pat(1460), .len = 1460));
  struct utcp_seg o;
  EXPECT_SEG(e.h, 11, o, A, e.snd, e.rcv + 2920);
  CHECK_EQ(seg_none(e.h, 200), 0); /* the delayed-ACK timer was cancelled */
  CHECK_EQ(th_cov(e.h, "delayed_ack"), 0);
  CHECK(done(&e));
}

/* RFC 1122 4.2.3.2: a lone segment is ACKed within the delay (40 ms here, < 500 ms). */
TEST(test_tcb_established_delack_timeout) {
  struct est e = est_open(NULL, 0);
  seg_in(e.h, 100, PEER(.seq = SEQ(e.rcv), .ack = SEQ(e.snd), .payload = pat(0), .len = 10));
  CHECK_EQ(seg_none(e.h, 139), 0);
  struct utcp_seg o;
  EXPECT_SEG(e.h, 140, o, A, e.snd, e.rcv + 10);
  CHECK_EQ(th_cov(e.h, "delayed_ack"), 1);
  CHECK(done(&e));
}

/* RFC 1122 4.2.3.2: data sent within the delay carries the ACK; no separate ACK follows. */
TEST(test_tcb_established_delack_piggybacked) {
  struct est e = est_open(NULL, 0);
  seg_in(e.h, 100, PEER(.seq = SEQ(e.rcv), .ack = SEQ(e.snd), .payload = pat(0), .len = 10));
  th_at(e.h, 120);
  CHECK_EQ(utcp_tcp_send(e.h->s, e.c, pat(0), 5, e.h->now), 5);
  struct utcp_seg o;
  EXPECT_SEG(e.h, 120, o, A | P, e.snd, e.rcv + 10);
  CHECK_EQ(o.len, 5);
  CHECK_EQ(seg_none(e.h, 200), 0);
  CHECK(done(&e));
}

/* ---- Nagle (RFC 1122 4.2.3.4) ---- */

/* RFC 1122 4.2.3.4: with data unacknowledged a small segment waits for the ACK. */
TEST(test_tcb_established_nagle_holds_small_segment) {
  struct est e = est_open(NULL, 0);
  CHECK_EQ(utcp_tcp_send(e.h->s, e.c, pat(0), 100, e.h->now), 100);
  struct utcp_seg o;
  EXPECT_SEG(e.h, 0, o, A | P, e.snd, e.rcv);
  th_at(e.h, 10);
  CHECK_EQ(utcp_tcp_send(e.h->s, e.c, pat(100), 50, e.h->now), 50);
  CHECK_EQ(th_pending(e.h), 0);
  CHECK(th_cov(e.h, "nagle_hold") >= 1);
  seg_in(e.h, 60, PEER(.seq = SEQ(e.rcv), .ack = SEQ(e.snd + 100)));
  EXPECT_SEG(e.h, 60, o, A | P, e.snd + 100, e.rcv);
  CHECK_EQ(o.len, 50);
  CHECK(memcmp(o.payload, pat(100), 50) == 0);
  CHECK(done(&e));
}

/* RFC 1122 4.2.3.4: full-sized segments go regardless; only the short tail waits. */
TEST(test_tcb_established_nagle_full_segments_go) {
  struct est e = est_open(NULL, 0);
  CHECK_EQ(utcp_tcp_send(e.h->s, e.c, pat(0), 100, e.h->now), 100);
  CHECK_EQ(utcp_tcp_send(e.h->s, e.c, pat(100), 3000, e.h->now), 3000);
  struct utcp_seg o;
  EXPECT_SEG(e.h, 0, o, A | P, e.snd, e.rcv);
  CHECK_EQ(o.len, 100);
  REQUIRE(th_out(e.h, &o));
  CHECK_EQ(o.len, 1460);
  REQUIRE(th_out(e.h, &o));
  CHECK_EQ(o.len, 1460);
  CHECK_EQ(th_pending(e.h), 0); /* 80 bytes wait */
  seg_in(e.h, 50, PEER(.seq = SEQ(e.rcv), .ack = SEQ(e.snd + 3020)));
  REQUIRE(th_out(e.h, &o));
  CHECK_EQ(o.seq.v, e.snd + 3020);
  CHECK_EQ(o.len, 80);
  CHECK(done(&e));
}

/* TCP_NODELAY: small segments go at once (RFC 1122 4.2.3.4: a user may disable Nagle). */
TEST(test_tcb_established_nodelay_sends_at_once) {
  struct est e = est_open(NULL, 0);
  REQUIRE(utcp_tcp_setopt(e.h->s, e.c, UTCP_TCPOPT_NODELAY, 1) == 0);
  CHECK_EQ(utcp_tcp_send(e.h->s, e.c, pat(0), 100, e.h->now), 100);
  CHECK_EQ(utcp_tcp_send(e.h->s, e.c, pat(100), 50, e.h->now), 50);
  struct utcp_seg o;
  EXPECT_SEG(e.h, 0, o, A | P, e.snd, e.rcv);
  EXPECT_SEG(e.h, 0, o, A | P, e.snd + 100, e.rcv);
  CHECK_EQ(o.len, 50);
  CHECK_EQ(th_cov(e.h, "nagle_hold"), 0);
  CHECK(done(&e));
}

/* ---- receiver window (RFC 9293 3.8.6.2.2, 3.8.6) ---- */

/* RFC 9293 3.8.6.2.2: receiver SWS avoidance: the window reopens only once it can move by
 * min(RCV.BUFF/2, MSS). */
TEST(test_tcb_established_receiver_sws_avoidance) {
  struct est e = est_rcvbuf(8192, 0);
  uint32_t off = 0;
  while (off < 8192) {
    uint32_t n = 8192 - off < 1460 ? 8192 - off : 1460;
    seg_in(e.h, 1, PEER(.seq = SEQ(e.rcv + off), .ack = SEQ(e.snd), .payload = pat(off), .len = n));
    off += n;
  }
  struct utcp_seg o;
  th_at(e.h, 100);
  while (th_out(e.h, &o)) {
  }
  CHECK_EQ(o.ack.v, e.rcv + 8192);
  CHECK_EQ(o.wnd, 0);
  uint8_t b[2000];
  CHECK_EQ(utcp_tcp_recv(e.h->s, e.c, b, 100, false, e.h->now), 100);
  CHECK_EQ(seg_none(e.h, 200), 0); /* 100 bytes: not worth a window update */
  CHECK_EQ(utcp_tcp_recv(e.h->s, e.c, b, 1500, false, e.h->now), 1500);
  EXPECT_SEG(e.h, 200, o, A, e.snd, e.rcv + 8192);
  CHECK_EQ(o.wnd, 1600);
  CHECK(done(&e));
}

/* RFC 9293 3.8.6: the right edge is never moved left, even when the buffer shrinks. */
TEST(test_tcb_established_window_never_shrinks) {
  struct est e = est_open(NULL, 0);
  REQUIRE(utcp_tcp_setopt(e.h->s, e.c, UTCP_TCPOPT_RCVBUF, 4096) == 0);
  seg_in(e.h, 1, PEER(.seq = SEQ(e.rcv), .ack = SEQ(e.snd), .payload = pat(0), .len = 1000));
  struct utcp_seg o;
  EXPECT_SEG(e.h, 50, o, A, e.snd, e.rcv + 1000);
  CHECK_EQ(o.ack.v + o.wnd, e.rcv + 65535); /* same right edge as the handshake offered */
  CHECK(th_cov(e.h, "window_shrink_avoided") >= 1);
  /* Text up to that edge is still accepted. */
  seg_in(e.h, 60, PEER(.seq = SEQ(e.rcv + 1000), .ack = SEQ(e.snd), .payload = pat(1000), .len = 1460));
  CHECK_EQ(utcp_tcp_readable(e.h->s, e.c), 2460);
  CHECK(done(&e));
}

/* ---- persist (RFC 9293 3.8.6.1, RFC 1122 4.2.2.17) ---- */

/* Zero window: probes of one octet after an RTO, backing off 1, 2, 4, 8 s; the connection
 * survives as long as the peer answers, and the answers are not duplicate ACKs. */
TEST(test_tcb_established_persist_probes_backoff) {
  struct est e = est_open(NULL, 0);
  seg_in(e.h, 0, PEER(.seq = SEQ(e.rcv), .ack = SEQ(e.snd), .wnd = 0));
  CHECK_EQ(utcp_tcp_send(e.h->s, e.c, pat(0), 500, e.h->now), 500);
  CHECK_EQ(th_pending(e.h), 0);
  struct utcp_seg o;
  uint64_t t = 0;
  for (uint64_t i = 0, gap = 1000; i < 20; i++) {
    t += gap;
    CHECK_EQ(seg_none(e.h, t - 1), 0);
    EXPECT_SEG(e.h, t, o, A, e.snd, e.rcv);
    CHECK_EQ(o.len, 1);
    CHECK_EQ(th_pending(e.h), 0);
    seg_in(e.h, t + 10, PEER(.seq = SEQ(e.rcv), .ack = SEQ(e.snd), .wnd = 0));
    CHECK_EQ(th_pending(e.h), 0);
    gap = gap * 2 > 60000 ? 60000 : gap * 2;
  }
  CHECK_EQ(utcp_tcp_state(e.h->s, e.c), UTCP_TCP_ESTABLISHED);
  CHECK_EQ(th_cov(e.h, "persist_probe"), 20);
  CHECK_EQ(th_cov(e.h, "fast_retransmit"), 0);
  /* The window opens: everything goes. */
  seg_in(e.h, t + 20, PEER(.seq = SEQ(e.rcv), .ack = SEQ(e.snd), .wnd = 1000));
  REQUIRE(th_out(e.h, &o));
  CHECK_EQ(o.seq.v, e.snd);
  CHECK_EQ(o.len, 500);
  CHECK(done(&e));
}

/* RFC 9293 3.8.6.1: a lost window update cannot deadlock: the next probe elicits the open
 * window, and the RTT of a probe is not sampled. */
TEST(test_tcb_established_persist_lost_window_update) {
  struct est e = est_open(NULL, 0);
  seg_in(e.h, 0, PEER(.seq = SEQ(e.rcv), .ack = SEQ(e.snd), .wnd = 0));
  CHECK_EQ(utcp_tcp_send(e.h->s, e.c, pat(0), 500, e.h->now), 500);
  struct utcp_seg o;
  EXPECT_SEG(e.h, 1000, o, A, e.snd, e.rcv);
  CHECK_EQ(o.len, 1);
  /* The peer's window opened at 1.5 s but that update was lost. The next probe (3 s) is
   * accepted and answered with the open window. */
  EXPECT_SEG(e.h, 3000, o, A, e.snd, e.rcv);
  CHECK_EQ(o.len, 1);
  seg_in(e.h, 3010, PEER(.seq = SEQ(e.rcv), .ack = SEQ(e.snd + 1), .wnd = 4000));
  REQUIRE(th_out(e.h, &o));
  CHECK_EQ(o.seq.v, e.snd + 1);
  CHECK_EQ(o.len, 499);
  seg_in(e.h, 3050, PEER(.seq = SEQ(e.rcv), .ack = SEQ(e.snd + 500), .wnd = 4000));
  struct utcp_tcp_info i = tinfo(e.h, e.c);
  CHECK_EQ(i.unacked, 0);
  CHECK(i.srtt_ns < 1000 * MS_NS); /* 40 ms of the last segment, not seconds of probing */
  CHECK(done(&e));
}

/* ---- keepalive (RFC 1122 4.2.3.6) ---- */

static void keepalive_on(struct est *e, int idle, int intvl, int cnt) {
  utcp_tcp_setopt(e->h->s, e->c, UTCP_TCPOPT_KEEPIDLE, idle);
  utcp_tcp_setopt(e->h->s, e->c, UTCP_TCPOPT_KEEPINTVL, intvl);
  utcp_tcp_setopt(e->h->s, e->c, UTCP_TCPOPT_KEEPCNT, cnt);
  utcp_tcp_setopt(e->h->s, e->c, UTCP_TCPOPT_KEEPALIVE, 1);
}

/* RFC 1122 4.2.3.6: after the idle time, probes <SEQ=SND.NXT-1> every interval; after keepcnt
 * unanswered probes the connection fails with ETIMEDOUT. */
TEST(test_tcb_established_keepalive_timeout) {
  struct est e = est_open(NULL, 0);
  keepalive_on(&e, 10, 2, 3);
  struct utcp_seg o;
  CHECK_EQ(seg_none(e.h, 9999), 0);
  EXPECT_SEG(e.h, 10000, o, A, e.snd - 1, e.rcv);
  CHECK_EQ(o.len, 0);
  EXPECT_SEG(e.h, 12000, o, A, e.snd - 1, e.rcv);
  EXPECT_SEG(e.h, 14000, o, A, e.snd - 1, e.rcv);
  CHECK_EQ(utcp_tcp_state(e.h->s, e.c), UTCP_TCP_ESTABLISHED);
  th_at(e.h, 16000);
  CHECK_EQ(utcp_tcp_state(e.h->s, e.c), UTCP_TCP_CLOSED);
  CHECK(th_events(e.h, e.c) & EV(UTCP_EV_ERROR));
  CHECK_EQ(utcp_tcp_recv(e.h->s, e.c, &o, 1, false, e.h->now), UTCP_ERR_TIMEDOUT);
  CHECK_EQ(th_cov(e.h, "keepalive_probe"), 3);
  CHECK(done(&e));
}

/* RFC 1122 4.2.3.6: an answered probe restarts the idle time. */
TEST(test_tcb_established_keepalive_answered) {
  struct est e = est_open(NULL, 0);
  keepalive_on(&e, 10, 2, 3);
  struct utcp_seg o;
  EXPECT_SEG(e.h, 10000, o, A, e.snd - 1, e.rcv);
  seg_in(e.h, 10050, PEER(.seq = SEQ(e.rcv), .ack = SEQ(e.snd)));
  CHECK_EQ(seg_none(e.h, 20049), 0);
  EXPECT_SEG(e.h, 20050, o, A, e.snd - 1, e.rcv);
  CHECK_EQ(utcp_tcp_state(e.h->s, e.c), UTCP_TCP_ESTABLISHED);
  CHECK(done(&e));
}

/* ---- retransmission (RFC 6298) ---- */

/* RFC 6298 2.1, 5.4, 5.5: first RTO after 1 s retransmits only the earliest unacknowledged
 * segment; the timer doubles (1, 2, 4 s). */
TEST(test_tcb_established_rto_backoff_first_segment) {
  struct est e = est_open(NULL, 0);
  th_at(e.h, 100);
  CHECK_EQ(utcp_tcp_send(e.h->s, e.c, pat(0), 2920, e.h->now), 2920);
  CHECK_EQ(th_pending(e.h), 2);
  th_clear(e.h);
  struct utcp_seg o;
  const uint64_t at[] = {1100, 3100, 7100};
  for (int i = 0; i < 3; i++) {
    CHECK_EQ(seg_none(e.h, at[i] - 1), 0);
    EXPECT_SEG(e.h, at[i], o, A, e.snd, e.rcv);
    CHECK_EQ(o.len, 1460);
    CHECK(memcmp(o.payload, pat(0), 1460) == 0);
    CHECK_EQ(th_pending(e.h), 0); /* cwnd is one segment after an RTO */
  }
  CHECK_EQ(th_cov(e.h, "rto_fired"), 3);
  CHECK_EQ(tinfo(e.h, e.c).retransmits, 3);
  CHECK_EQ(tinfo(e.h, e.c).cwnd, 1460);
  CHECK(done(&e));
}

/* RFC 6298 3 (Karn): an ACK for retransmitted data gives no RTT sample, and the backoff ends
 * with new data acknowledged (RFC 6298 5.7 timer restart). */
TEST(test_tcb_established_rto_karn_no_sample) {
  struct est e = est_open(NULL, 0);
  CHECK_EQ(utcp_tcp_send(e.h->s, e.c, pat(0), 100, e.h->now), 100);
  struct utcp_seg o;
  REQUIRE(th_out(e.h, &o));
  EXPECT_SEG(e.h, 1000, o, A | P, e.snd, e.rcv);
  seg_in(e.h, 1050, PEER(.seq = SEQ(e.rcv), .ack = SEQ(e.snd + 100)));
  struct utcp_tcp_info i = tinfo(e.h, e.c);
  CHECK_EQ(i.srtt_ns, 0);
  CHECK_EQ(i.rto_ns, 1000 * MS_NS);
  CHECK_EQ(i.retransmits, 0);
  CHECK_EQ(seg_none(e.h, 10000), 0);
  CHECK(done(&e));
}

/* RFC 6298 2.2 / 2.3 / 2.4: the handshake (at once here) gave SRTT = 0, RTTVAR = 0; a 50 ms
 * sample then gives RTTVAR = 3/4*0 + 1/4*50, SRTT = 7/8*0 + 1/8*50; RTO floors at 1 s. */
TEST(test_tcb_established_rtt_sample_and_rto_min) {
  struct est e = est_open(NULL, 0);
  CHECK_EQ(tinfo(e.h, e.c).srtt_ns, 0);
  CHECK_EQ(utcp_tcp_send(e.h->s, e.c, pat(0), 100, e.h->now), 100);
  th_clear(e.h);
  seg_in(e.h, 50, PEER(.seq = SEQ(e.rcv), .ack = SEQ(e.snd + 100)));
  struct utcp_tcp_info i = tinfo(e.h, e.c);
  CHECK_EQ(i.srtt_ns, 6250 * 1000);
  CHECK_EQ(i.rttvar_ns, 12500 * 1000);
  CHECK_EQ(i.rto_ns, 1000 * MS_NS);
  CHECK(done(&e));
}

/* RFC 1122 4.2.3.5 (R2): after data_retries retransmissions the connection fails: ETIMEDOUT. */
TEST(test_tcb_established_rto_retry_limit_etimedout) {
  struct utcp_stack_config cfg;
  th_config(&cfg);
  cfg.tcp.data_retries = 3;
  struct est e = est_open(&cfg, 0);
  CHECK_EQ(utcp_tcp_send(e.h->s, e.c, pat(0), 100, e.h->now), 100);
  struct utcp_seg o;
  REQUIRE(th_out(e.h, &o));
  EXPECT_SEG(e.h, 1000, o, A | P, e.snd, e.rcv);
  EXPECT_SEG(e.h, 3000, o, A | P, e.snd, e.rcv);
  EXPECT_SEG(e.h, 7000, o, A | P, e.snd, e.rcv);
  CHECK_EQ(seg_none(e.h, 14999), 0);
  CHECK_EQ(utcp_tcp_state(e.h->s, e.c), UTCP_TCP_ESTABLISHED);
  th_at(e.h, 15000);
  CHECK_EQ(utcp_tcp_state(e.h->s, e.c), UTCP_TCP_CLOSED);
  CHECK(th_events(e.h, e.c) & EV(UTCP_EV_ERROR));
  CHECK_EQ(utcp_tcp_send(e.h->s, e.c, "x", 1, e.h->now), UTCP_ERR_TIMEDOUT);
  CHECK_EQ(utcp_tcp_chunks_in_use(e.h->s), 0);
  CHECK(done(&e));
}

/* ---- fast retransmit / NewReno (RFC 5681 3.2, RFC 6582) ---- */

/* Sends 10 full segments (the initial window); returns after popping them. */
static void send_window(struct est *e) {
  CHECK_EQ(utcp_tcp_send(e->h->s, e->c, pat(0), 14600, e->h->now), 14600);
  CHECK_EQ(th_pending(e->h), 10);
  th_clear(e->h);
}

/* RFC 5681 3.2: two duplicate ACKs are not enough; the third triggers a retransmission of
 * the segment at SND.UNA, ssthresh = FlightSize/2, cwnd = ssthresh + 3*SMSS. */
TEST(test_tcb_established_fast_retransmit_third_dupack) {
  struct est e = est_open(NULL, 0);
  send_window(&e);
  uint32_t una = e.snd + 1460;
  seg_in(e.h, 50, PEER(.seq = SEQ(e.rcv), .ack = SEQ(una)));
  th_clear(e.h);
  seg_in(e.h, 51, PEER(.seq = SEQ(e.rcv), .ack = SEQ(una)));
  seg_in(e.h, 52, PEER(.seq = SEQ(e.rcv), .ack = SEQ(una)));
  CHECK_EQ(th_pending(e.h), 0);
  seg_in(e.h, 53, PEER(.seq = SEQ(e.rcv), .ack = SEQ(una)));
  struct utcp_seg o;
  EXPECT_SEG(e.h, 53, o, A, una, e.rcv);
  CHECK_EQ(o.len, 1460);
  CHECK(memcmp(o.payload, pat(1460), 1460) == 0);
  CHECK_EQ(th_cov(e.h, "fast_retransmit"), 1);
  struct utcp_tcp_info i = tinfo(e.h, e.c);
  CHECK_EQ(i.ssthresh, 13140 / 2);
  CHECK_EQ(i.cwnd, 13140 / 2 + 3 * 1460);
  CHECK_EQ(i.total_retrans, 1);
  CHECK(done(&e));
}

/* RFC 5681 2 (definition): an ACK that changes the window is not a duplicate ACK. */
TEST(test_tcb_established_dupack_needs_same_window) {
  struct est e = est_open(NULL, 0);
  send_window(&e);
  seg_in(e.h, 51, PEER(.seq = SEQ(e.rcv), .ack = SEQ(e.snd), .wnd = 60000));
  seg_in(e.h, 52, PEER(.seq = SEQ(e.rcv), .ack = SEQ(e.snd), .wnd = 61000));
  seg_in(e.h, 53, PEER(.seq = SEQ(e.rcv), .ack = SEQ(e.snd), .wnd = 62000));
  seg_in(e.h, 54, PEER(.seq = SEQ(e.rcv), .ack = SEQ(e.snd), .wnd = 63000));
  CHECK_EQ(th_cov(e.h, "fast_retransmit"), 0);
  CHECK_EQ(th_pending(e.h), 0);
  CHECK(done(&e));
}

/* RFC 6582 3.2 step 5: a partial ACK in recovery retransmits the next hole at once (one
 * segment); step 3: the full ACK ends recovery with cwnd = min(ssthresh, FlightSize + SMSS). */
TEST(test_tcb_established_newreno_partial_ack) {
  struct est e = est_open(NULL, 0);
  send_window(&e);
  for (int i = 0; i < 4; i++) seg_in(e.h, 50 + (uint64_t)i, PEER(.seq = SEQ(e.rcv), .ack = SEQ(e.snd)));
  struct utcp_seg o;
  EXPECT_SEG(e.h, 53, o, A, e.snd, e.rcv);
  CHECK_EQ(th_cov(e.h, "fast_retransmit"), 1);
  th_clear(e.h);
  seg_in(e.h, 100, PEER(.seq = SEQ(e.rcv), .ack = SEQ(e.snd + 4 * 1460)));
  EXPECT_SEG(e.h, 100, o, A, e.snd + 4 * 1460, e.rcv);
  CHECK_EQ(o.len, 1460);
  CHECK_EQ(th_pending(e.h), 0);
  CHECK_EQ(th_cov(e.h, "partial_ack"), 1);
  seg_in(e.h, 150, PEER(.seq = SEQ(e.rcv), .ack = SEQ(e.snd + 14600)));
  struct utcp_tcp_info i = tinfo(e.h, e.c);
  CHECK_EQ(i.unacked, 0);
  CHECK_EQ(i.cwnd, 2 * 1460);
  CHECK_EQ(i.ssthresh, 14600 / 2);
  CHECK(done(&e));
}

TEST_MAIN(TEST_CASE(test_tcb_established_zero_len_in_window_accepted),
          TEST_CASE(test_tcb_established_zero_len_old_gets_ack),
          TEST_CASE(test_tcb_established_zero_window_acceptability),
          TEST_CASE(test_tcb_established_data_in_window),
          TEST_CASE(test_tcb_established_left_edge_trimmed),
          TEST_CASE(test_tcb_established_right_edge_trimmed),
          TEST_CASE(test_tcb_established_beyond_window_gets_ack),
          TEST_CASE(test_tcb_established_old_duplicate_gets_ack),
          TEST_CASE(test_tcb_established_ack_of_unsent_data),
          TEST_CASE(test_tcb_established_ack_too_old_dropped),
          TEST_CASE(test_tcb_established_old_ack_ignored_text_kept),
          TEST_CASE(test_tcb_established_no_ack_dropped),
          TEST_CASE(test_tcb_established_rst_exact_with_ack),
          TEST_CASE(test_tcb_established_rst_out_of_window_silent),
          TEST_CASE(test_tcb_established_rst_challenge_then_exact),
          TEST_CASE(test_tcb_established_challenge_ack_rate_limit),
          TEST_CASE(test_tcb_established_syn_in_window_challenge),
          TEST_CASE(test_tcb_established_old_syn_gets_ack),
          TEST_CASE(test_tcb_established_paws_drop),
          TEST_CASE(test_tcb_established_ts_recent_updated),
          TEST_CASE(test_tcb_established_ts_recent_not_from_ooo),
          TEST_CASE(test_tcb_established_no_ts_after_agreement_dropped),
          TEST_CASE(test_tcb_established_window_update_wl1_wl2),
          TEST_CASE(test_tcb_established_send_limited_by_window),
          TEST_CASE(test_tcb_established_ooo_immediate_ack_with_sack),
          TEST_CASE(test_tcb_established_ooo_overlaps_delivered_once),
          TEST_CASE(test_tcb_established_ooo_fin_after_hole),
          TEST_CASE(test_tcb_established_data_after_fin_ignored),
          TEST_CASE(test_tcb_established_delack_every_second_segment),
          TEST_CASE(test_tcb_established_delack_timeout),
          TEST_CASE(test_tcb_established_delack_piggybacked),
          TEST_CASE(test_tcb_established_nagle_holds_small_segment),
          TEST_CASE(test_tcb_established_nagle_full_segments_go),
          TEST_CASE(test_tcb_established_nodelay_sends_at_once),
          TEST_CASE(test_tcb_established_receiver_sws_avoidance),
          TEST_CASE(test_tcb_established_window_never_shrinks),
          TEST_CASE(test_tcb_established_persist_probes_backoff),
          TEST_CASE(test_tcb_established_persist_lost_window_update),
          TEST_CASE(test_tcb_established_keepalive_timeout),
          TEST_CASE(test_tcb_established_keepalive_answered),
          TEST_CASE(test_tcb_established_rto_backoff_first_segment),
          TEST_CASE(test_tcb_established_rto_karn_no_sample),
          TEST_CASE(test_tcb_established_rtt_sample_and_rto_min),
          TEST_CASE(test_tcb_established_rto_retry_limit_etimedout),
          TEST_CASE(test_tcb_established_fast_retransmit_third_dupack),
          TEST_CASE(test_tcb_established_dupack_needs_same_window),
          TEST_CASE(test_tcb_established_newreno_partial_ack))
