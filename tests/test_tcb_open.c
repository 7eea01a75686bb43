/* RFC 9293 3.10.7 SEGMENT ARRIVES for the opening states: CLOSED, LISTEN, SYN-SENT,
 * SYN-RECEIVED, plus SYN retransmission (RFC 6298) and option negotiation (RFC 7323, RFC 2018,
 * RFC 9293 3.7.1). Every step has its time; every test ends with the leak check. */
#include "tcb_util.h"

static const struct utcp_counters *ctr(const struct th *h) { return utcp_stack_counters(h->s); }

/* Active open from LOCAL_PORT; returns the handle and the SYN sent in *syn. */
static utcp_conn_t open_active(struct th *h, struct utcp_seg *syn) {
  utcp_conn_t c = 0;
  if (utcp_tcp_connect(h->s, TH_PEER_IP, TH_PEER_PORT, TH_LOCAL_PORT, h->now, &c) != 0) abort();
  if (!th_out(h, syn)) abort();
  return c;
}

/* ======================= CLOSED (RFC 9293 3.10.7.1) ======================= */

/* RFC 9293 3.10.7.1: no ACK: <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>, LEN counts data. */
TEST(test_tcb_closed_data_without_ack_gets_rst_ack) {
  struct th *h = th_new(NULL);
  struct utcp_seg o;
  seg_in(h, 10, PEER(.seq = SEQ(IRS), .flags = P, .payload = pat(0), .len = 10));
  EXPECT_SEG(h, 10, o, R | A, 0, IRS + 10);
  CHECK_EQ(th_drops(h, UTCP_DROP_TCP_NO_CONN), 1);
  CHECK_EQ(ctr(h)->tcp_out_rsts, 1);
  CHECK(th_free(h));
}

/* RFC 9293 3.10.7.1: SYN+FIN counts both flags: ACK = SEG.SEQ + 2. */
TEST(test_tcb_closed_syn_fin_counts_flags) {
  struct th *h = th_new(NULL);
  struct utcp_seg o;
  seg_in(h, 0, PEER(.seq = SEQ(IRS), .flags = S | F));
  EXPECT_SEG(h, 0, o, R | A, 0, IRS + 2);
  CHECK(th_free(h));
}

/* RFC 9293 3.10.7.1: ACK bit on: <SEQ=SEG.ACK><CTL=RST>, even with data and FIN. */
TEST(test_tcb_closed_fin_ack_gets_rst_seq_ack) {
  struct th *h = th_new(NULL);
  struct utcp_seg o;
  seg_in(h, 5, PEER(.seq = SEQ(IRS), .ack = SEQ(0xfffffff0u), .flags = F | A, .payload = pat(0),
                    .len = 3));
  EXPECT_SEG(h, 5, o, R, 0xfffffff0u, 0);
  CHECK_EQ(th_pending(h), 0);
  CHECK(th_free(h));
}

/* RFC 9293 3.10.7.1: an incoming RST (with ACK too) is discarded, never answered. */
TEST(test_tcb_closed_rst_ack_ignored) {
  struct th *h = th_new(NULL);
  seg_in(h, 0, PEER(.seq = SEQ(IRS), .ack = SEQ(5), .flags = R | A));
  CHECK_EQ(seg_none(h, 100), 0);
  CHECK_EQ(ctr(h)->tcp_out_rsts, 0);
  CHECK(th_free(h));
}

/* RFC 9293 3.10.7.1: a connection that ended (handle still held) is CLOSED for the wire. */
TEST(test_tcb_closed_after_reset_answers_rst) {
  struct th *h = th_new(NULL);
  utcp_seq_t iss;
  utcp_conn_t c = th_accept_conn(h, IRS, NULL, &iss, NULL);
  seg_in(h, 10, PEER(.seq = SEQ(IRS + 1), .flags = R));
  CHECK_EQ(utcp_tcp_state(h->s, c), UTCP_TCP_CLOSED);
  seg_in(h, 20, PEER(.seq = SEQ(IRS + 1), .ack = utcp_seq_add(iss, 1), .payload = pat(0), .len = 4));
  struct utcp_seg o;
  EXPECT_SEG(h, 20, o, R, iss.v + 1, 0);
  utcp_tcp_close(h->s, c, h->now);
  CHECK(th_free(h));
}

/* ======================= LISTEN (RFC 9293 3.10.7.2) ======================= */

/* RFC 9293 3.10.7.2 first: an incoming RST is ignored; no TCB is made. */
TEST(test_tcb_listen_rst_ignored) {
  struct th *h = th_new(NULL);
  utcp_conn_t l;
  REQUIRE(utcp_tcp_listen(h->s, TH_LOCAL_PORT, 4, &l) == 0);
  seg_in(h, 0, PEER(.seq = SEQ(IRS), .flags = R));
  seg_in(h, 1, PEER(.seq = SEQ(IRS), .flags = R | S));
  CHECK_EQ(seg_none(h, 2), 0);
  CHECK_EQ(utcp_tcp_conns_in_use(h->s), 1);
  utcp_tcp_close(h->s, l, h->now);
  CHECK(th_free(h));
}

/* RFC 9293 3.10.7.2 second: any ACK (here a SYN-ACK) is bad: <SEQ=SEG.ACK><CTL=RST>. */
TEST(test_tcb_listen_synack_gets_rst) {
  struct th *h = th_new(NULL);
  utcp_conn_t l;
  REQUIRE(utcp_tcp_listen(h->s, TH_LOCAL_PORT, 4, &l) == 0);
  seg_in(h, 0, PEER(.seq = SEQ(IRS), .ack = SEQ(4242), .flags = S | A));
  struct utcp_seg o;
  EXPECT_SEG(h, 0, o, R, 4242, 0);
  CHECK_EQ(utcp_tcp_conns_in_use(h->s), 1);
  utcp_tcp_close(h->s, l, h->now);
  CHECK(th_free(h));
}

/* RFC 9293 3.10.7.2 fourth: neither SYN, ACK nor RST (FIN, bare data): drop, no reply. */
TEST(test_tcb_listen_other_dropped) {
  struct th *h = th_new(NULL);
  utcp_conn_t l;
  REQUIRE(utcp_tcp_listen(h->s, TH_LOCAL_PORT, 4, &l) == 0);
  seg_in(h, 0, PEER(.seq = SEQ(IRS), .flags = F));
  seg_in(h, 1, PEER(.seq = SEQ(IRS), .flags = P, .payload = pat(0), .len = 8));
  CHECK_EQ(seg_none(h, 2), 0);
  CHECK_EQ(utcp_tcp_conns_in_use(h->s), 1);
  utcp_tcp_close(h->s, l, h->now);
  CHECK(th_free(h));
}

/* RFC 9293 3.10.7.2 third: SYN: IRS = SEG.SEQ, <SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK>,
 * SYN-RECEIVED; the embryo is not visible to accept yet. */
TEST(test_tcb_listen_syn_to_syn_received) {
  struct th *h = th_new(NULL);
  utcp_conn_t l, c;
  REQUIRE(utcp_tcp_listen(h->s, TH_LOCAL_PORT, 4, &l) == 0);
  seg_in(h, 7, PEER(.seq = SEQ(IRS), .flags = S, .wnd = 5000));
  struct utcp_seg o;
  REQUIRE(seg_out(h, 7, &o));
  CHECK_EQ(o.flags, S | A);
  CHECK_EQ(o.ack.v, IRS + 1);
  CHECK_EQ(o.len, 0);
  CHECK_EQ(o.wnd, 65535);
  CHECK_EQ(utcp_tcp_conns_in_use(h->s), 2);
  CHECK_EQ(utcp_tcp_accept(h->s, l, &c), UTCP_ERR_AGAIN);
  CHECK_EQ(ctr(h)->tcp_passive_opens, 1);
  utcp_tcp_close(h->s, l, h->now); /* resets the embryo */
  REQUIRE(th_out(h, &o));
  CHECK_EQ(o.flags & R, R);
  CHECK(th_free(h));
}

/* RFC 9293 3.10.7.2: SYN text would be queued; utcp documents that it does not keep it
 * (listen_input), so the SYN-ACK acknowledges only the SYN. */
TEST(test_tcb_listen_syn_data_not_kept) {
  struct th *h = th_new(NULL);
  utcp_conn_t l, c;
  REQUIRE(utcp_tcp_listen(h->s, TH_LOCAL_PORT, 4, &l) == 0);
  seg_in(h, 0, PEER(.seq = SEQ(IRS), .flags = S, .payload = pat(0), .len = 20));
  struct utcp_seg o;
  EXPECT_SEG(h, 0, o, S | A, o.seq.v, IRS + 1);
  uint32_t iss = o.seq.v;
  seg_in(h, 10, PEER(.seq = SEQ(IRS + 1), .ack = SEQ(iss + 1), .payload = pat(0), .len = 20));
  REQUIRE(utcp_tcp_accept(h->s, l, &c) == 0);
  CHECK_EQ(utcp_tcp_readable(h->s, c), 20); /* the retransmitted text arrives once */
  utcp_tcp_abort(h->s, c, h->now);
  utcp_tcp_close(h->s, l, h->now);
  CHECK(th_free(h));
}

/* Listener SYN queue bound (cfg syn_backlog): an extra SYN is a counted drop, no answer. */
TEST(test_tcb_listen_synq_overflow_dropped) {
  struct utcp_stack_config cfg;
  th_config(&cfg);
  cfg.tcp.syn_backlog = 2;
  cfg.tcp.syncookies = false; /* with cookies the SYN is answered: test_syncookie.c */
  struct th *h = th_new(&cfg);
  utcp_conn_t l;
  REQUIRE(utcp_tcp_listen(h->s, TH_LOCAL_PORT, 8, &l) == 0);
  struct utcp_seg o;
  for (uint16_t i = 0; i < 2; i++) {
    seg_in(h, i, PEER(.sport = (uint16_t)(41000 + i), .seq = SEQ(IRS), .flags = S));
    REQUIRE(th_out(h, &o));
    CHECK_EQ(o.flags, S | A);
  }
  seg_in(h, 5, PEER(.sport = 41002, .seq = SEQ(IRS), .flags = S));
  CHECK_EQ(th_pending(h), 0);
  CHECK_EQ(th_drops(h, UTCP_DROP_TCP_LISTEN_OVERFLOW), 1);
  CHECK_EQ(ctr(h)->tcp_attempt_fails, 1);
  CHECK_EQ(utcp_tcp_conns_in_use(h->s), 3);
  utcp_tcp_close(h->s, l, h->now);
  th_clear(h);
  CHECK(th_free(h));
}

/* Listener accept queue bound: established but unaccepted connections count; accepting makes
 * room again. */
TEST(test_tcb_listen_acceptq_overflow_dropped) {
  struct th *h = th_new(NULL);
  utcp_conn_t l, c;
  REQUIRE(utcp_tcp_listen(h->s, TH_LOCAL_PORT, 1, &l) == 0);
  struct utcp_seg o;
  seg_in(h, 0, PEER(.sport = 41000, .seq = SEQ(IRS), .flags = S));
  REQUIRE(th_out(h, &o));
  seg_in(h, 1, PEER(.sport = 41000, .seq = SEQ(IRS + 1), .ack = utcp_seq_add(o.seq, 1)));
  CHECK(th_events(h, l) & EV(UTCP_EV_ACCEPTABLE));
  seg_in(h, 2, PEER(.sport = 41001, .seq = SEQ(IRS), .flags = S));
  CHECK_EQ(th_pending(h), 0);
  CHECK_EQ(th_drops(h, UTCP_DROP_TCP_LISTEN_OVERFLOW), 1);
  REQUIRE(utcp_tcp_accept(h->s, l, &c) == 0);
  seg_in(h, 3, PEER(.sport = 41001, .seq = SEQ(IRS), .flags = S));
  REQUIRE(th_out(h, &o));
  CHECK_EQ(o.flags, S | A);
  utcp_tcp_abort(h->s, c, h->now);
  utcp_tcp_close(h->s, l, h->now);
  th_clear(h);
  CHECK(th_free(h));
}

/* Connection table full: a SYN to a listener is a counted drop (TCP_NO_TCB), refused with
 * <SEQ=0><ACK=SEG.SEQ+1><CTL=RST,ACK> so the peer fails fast. */
TEST(test_tcb_listen_table_full_dropped) {
  struct utcp_stack_config cfg;
  th_config(&cfg);
  cfg.tcp.max_conns = 2;
  struct th *h = th_new(&cfg);
  utcp_conn_t l;
  REQUIRE(utcp_tcp_listen(h->s, TH_LOCAL_PORT, 8, &l) == 0);
  seg_in(h, 0, PEER(.sport = 41000, .seq = SEQ(IRS), .flags = S));
  seg_in(h, 1, PEER(.sport = 41001, .seq = SEQ(IRS), .flags = S));
  CHECK_EQ(th_pending(h), 2);
  struct utcp_seg o;
  REQUIRE(th_out(h, &o));
  CHECK_EQ(o.flags, S | A);
  REQUIRE(th_out(h, &o));
  CHECK_EQ(o.flags, R | A);
  CHECK_EQ(o.dport, 41001);
  CHECK_EQ(o.ack.v, IRS + 1);
  CHECK_EQ(th_drops(h, UTCP_DROP_TCP_NO_TCB), 1);
  utcp_tcp_close(h->s, l, h->now);
  th_clear(h);
  CHECK(th_free(h));
}

/* RFC 9293 3.10.7.2 + 3.10.4: closing a listener resets connections still in its queues. */
TEST(test_tcb_listen_close_resets_queued) {
  struct th *h = th_new(NULL);
  utcp_conn_t l;
  REQUIRE(utcp_tcp_listen(h->s, TH_LOCAL_PORT, 4, &l) == 0);
  struct utcp_seg o;
  seg_in(h, 0, PEER(.seq = SEQ(IRS), .flags = S));
  REQUIRE(th_out(h, &o));
  uint32_t iss = o.seq.v;
  seg_in(h, 1, PEER(.seq = SEQ(IRS + 1), .ack = SEQ(iss + 1)));
  REQUIRE(utcp_tcp_close(h->s, l, 2) == 0);
  EXPECT_SEG(h, 2, o, R | A, iss + 1, IRS + 1);
  CHECK_EQ(utcp_tcp_conns_in_use(h->s), 0);
  CHECK(th_free(h));
}

/* ======================= SYN-SENT (RFC 9293 3.10.7.3) ======================= */

/* RFC 9293 3.10.4 OPEN / RFC 7323 / RFC 2018: the SYN offers MSS, WS, SACK-permitted, TS. */
TEST(test_tcb_syn_sent_syn_offers_options) {
  struct th *h = th_new(NULL);
  struct utcp_seg syn;
  utcp_conn_t c = open_active(h, &syn);
  CHECK_EQ(syn.flags, S);
  CHECK_EQ(syn.len, 0);
  CHECK_EQ(syn.opt.present & (UTCP_OPT_MSS | UTCP_OPT_WSCALE | UTCP_OPT_SACK_PERM | UTCP_OPT_TS),
           UTCP_OPT_MSS | UTCP_OPT_WSCALE | UTCP_OPT_SACK_PERM | UTCP_OPT_TS);
  CHECK_EQ(syn.opt.mss, 1460);
  CHECK_EQ(syn.opt.wscale, 1); /* smallest shift for a 64 KiB buffer */
  CHECK_EQ(syn.opt.ts_ecr, 0);
  CHECK_EQ(syn.wnd, 65535);    /* RFC 7323 2.2: never scaled in a SYN */
  CHECK_EQ(utcp_tcp_state(h->s, c), UTCP_TCP_SYN_SENT);
  CHECK_EQ(ctr(h)->tcp_active_opens, 1);
  utcp_tcp_close(h->s, c, h->now);
  CHECK(th_free(h));
}

/* RFC 9293 3.10.7.3 first: SEG.ACK =< ISS: <SEQ=SEG.ACK><CTL=RST>, drop, stay SYN-SENT. */
TEST(test_tcb_syn_sent_ack_at_iss_gets_rst) {
  struct th *h = th_new(NULL);
  struct utcp_seg syn, o;
  utcp_conn_t c = open_active(h, &syn);
  seg_in(h, 50, PEER(.seq = SEQ(IRS), .ack = syn.seq, .flags = S | A));
  EXPECT_SEG(h, 50, o, R, syn.seq.v, 0);
  CHECK_EQ(utcp_tcp_state(h->s, c), UTCP_TCP_SYN_SENT);
  CHECK_EQ(th_drops(h, UTCP_DROP_TCP_BAD_ACK), 1);
  utcp_tcp_close(h->s, c, h->now);
  CHECK(th_free(h));
}

/* RFC 9293 3.10.7.3 first: SEG.ACK > SND.NXT: RST from SEG.ACK; the SYN timer keeps going. */
TEST(test_tcb_syn_sent_ack_beyond_snd_nxt_gets_rst) {
  struct th *h = th_new(NULL);
  struct utcp_seg syn, o;
  utcp_conn_t c = open_active(h, &syn);
  seg_in(h, 50, PEER(.seq = SEQ(IRS), .ack = utcp_seq_add(syn.seq, 2)));
  EXPECT_SEG(h, 50, o, R, syn.seq.v + 2, 0);
  CHECK_EQ(utcp_tcp_state(h->s, c), UTCP_TCP_SYN_SENT);
  EXPECT_SEG(h, 1001, o, S, syn.seq.v, 0); /* retransmitted at 1 s as before */
  utcp_tcp_close(h->s, c, h->now);
  CHECK(th_free(h));
}

/* RFC 9293 3.10.7.3: a bad ACK on a RST gets no RST back ("unless the RST bit is set"). */
TEST(test_tcb_syn_sent_bad_ack_with_rst_silent) {
  struct th *h = th_new(NULL);
  struct utcp_seg syn;
  utcp_conn_t c = open_active(h, &syn);
  seg_in(h, 10, PEER(.seq = SEQ(IRS), .ack = utcp_seq_add(syn.seq, 7), .flags = R | A));
  CHECK_EQ(seg_none(h, 10), 0);
  CHECK_EQ(utcp_tcp_state(h->s, c), UTCP_TCP_SYN_SENT);
  CHECK_EQ(th_drops(h, UTCP_DROP_TCP_BAD_ACK), 1);
  utcp_tcp_close(h->s, c, h->now);
  CHECK(th_free(h));
}

/* RFC 9293 3.10.7.3 second + RFC 5961 3.2: RST without ACK is dropped; any sequence number. */
TEST(test_tcb_syn_sent_rst_no_ack_dropped) {
  struct th *h = th_new(NULL);
  struct utcp_seg syn;
  utcp_conn_t c = open_active(h, &syn);
  seg_in(h, 10, PEER(.seq = SEQ(0), .flags = R));
  seg_in(h, 11, PEER(.seq = SEQ(IRS), .flags = R | P, .payload = pat(0), .len = 4));
  CHECK_EQ(seg_none(h, 12), 0);
  CHECK_EQ(utcp_tcp_state(h->s, c), UTCP_TCP_SYN_SENT);
  CHECK_EQ(th_drops(h, UTCP_DROP_TCP_BAD_RST), 2);
  CHECK_EQ(th_events(h, c), 0);
  utcp_tcp_close(h->s, c, h->now);
  CHECK(th_free(h));
}

/* RFC 9293 3.10.7.3 second: RST with an acceptable ACK: "connection reset" (refused),
 * CLOSED, and no RST in reply. */
TEST(test_tcb_syn_sent_rst_ack_refused) {
  struct th *h = th_new(NULL);
  struct utcp_seg syn;
  utcp_conn_t c = open_active(h, &syn);
  seg_in(h, 30, PEER(.seq = SEQ(0), .ack = utcp_seq_add(syn.seq, 1), .flags = R | A, .wnd = 0));
  CHECK_EQ(seg_none(h, 30), 0);
  CHECK_EQ(utcp_tcp_state(h->s, c), UTCP_TCP_CLOSED);
  CHECK(th_events(h, c) & EV(UTCP_EV_RESET));
  CHECK_EQ(ctr(h)->tcp_attempt_fails, 1);
  CHECK_EQ(utcp_tcp_send(h->s, c, "x", 1, h->now), UTCP_ERR_CONNREFUSED);
  CHECK_EQ(seg_none(h, 5000), 0); /* no SYN retransmission after the reset */
  utcp_tcp_close(h->s, c, h->now);
  CHECK(th_free(h));
}

/* RFC 9293 3.10.7.3 fifth: neither SYN nor RST (an acceptable bare ACK): drop, no reply. */
TEST(test_tcb_syn_sent_ack_without_syn_dropped) {
  struct th *h = th_new(NULL);
  struct utcp_seg syn;
  utcp_conn_t c = open_active(h, &syn);
  seg_in(h, 10, PEER(.seq = SEQ(IRS), .ack = utcp_seq_add(syn.seq, 1)));
  CHECK_EQ(seg_none(h, 10), 0);
  CHECK_EQ(utcp_tcp_state(h->s, c), UTCP_TCP_SYN_SENT);
  CHECK_EQ(th_drops(h, UTCP_DROP_TCP_NO_SYN), 1);
  utcp_tcp_close(h->s, c, h->now);
  CHECK(th_free(h));
}

/* RFC 9293 3.10.7.3 fourth: SYN-ACK: ESTABLISHED, <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>, window
 * from the SYN-ACK unscaled, RTT sampled from the SYN (RFC 6298 2.2). */
TEST(test_tcb_syn_sent_synack_establishes) {
  struct th *h = th_new(NULL);
  struct utcp_seg syn, o;
  utcp_conn_t c = open_active(h, &syn);
  seg_in(h, 100, PEER(.seq = SEQ(IRS), .ack = utcp_seq_add(syn.seq, 1), .flags = S | A,
                      .wnd = 3000, .opt = {.present = UTCP_OPT_MSS, .mss = 1000}));
  EXPECT_SEG(h, 100, o, A, syn.seq.v + 1, IRS + 1);
  CHECK_EQ(o.len, 0);
  CHECK_EQ(utcp_tcp_state(h->s, c), UTCP_TCP_ESTABLISHED);
  uint32_t ev = th_events(h, c);
  CHECK(ev & EV(UTCP_EV_CONNECTED));
  CHECK(ev & EV(UTCP_EV_WRITABLE));
  struct utcp_tcp_info i = tinfo(h, c);
  CHECK_EQ(i.snd_wnd, 3000);
  CHECK_EQ(i.snd_mss, 1000);
  CHECK_EQ(i.irs, IRS);
  CHECK_EQ(i.srtt_ns, 100 * MS_NS);
  CHECK_EQ(i.rto_ns, 1000 * MS_NS); /* 100 ms + 4 * 50 ms, raised to the 1 s minimum */
  CHECK_EQ(seg_none(h, 3000), 0);    /* the SYN timer stopped */
  utcp_tcp_abort(h->s, c, h->now);
  th_clear(h);
  CHECK(th_free(h));
}

/* RFC 6298 3 (Karn): a retransmitted SYN gives no RTT sample. */
TEST(test_tcb_syn_sent_synack_after_rexmt_no_rtt_sample) {
  struct th *h = th_new(NULL);
  struct utcp_seg syn, o;
  utcp_conn_t c = open_active(h, &syn);
  EXPECT_SEG(h, 1000, o, S, syn.seq.v, 0);
  seg_in(h, 1100, PEER(.seq = SEQ(IRS), .ack = utcp_seq_add(syn.seq, 1), .flags = S | A));
  EXPECT_SEG(h, 1100, o, A, syn.seq.v + 1, IRS + 1);
  struct utcp_tcp_info i = tinfo(h, c);
  CHECK_EQ(i.srtt_ns, 0);
  CHECK_EQ(i.retransmits, 0);
  CHECK_EQ(ctr(h)->tcp_retrans_segs, 1);
  utcp_tcp_abort(h->s, c, h->now);
  th_clear(h);
  CHECK(th_free(h));
}

/* RFC 9293 3.10.7.3: "If there are other controls or text in the segment, continue processing
 * at the sixth step": SYN-ACK text is delivered and acknowledged. */
TEST(test_tcb_syn_sent_synack_with_data) {
  struct th *h = th_new(NULL);
  struct utcp_seg syn, o;
  utcp_conn_t c = open_active(h, &syn);
  seg_in(h, 20, PEER(.seq = SEQ(IRS), .ack = utcp_seq_add(syn.seq, 1), .flags = S | A,
                     .payload = pat(0), .len = 10));
  EXPECT_SEG(h, 20, o, A, syn.seq.v + 1, IRS + 11);
  CHECK_EQ(th_pending(h), 0);
  uint8_t b[16];
  CHECK_EQ(utcp_tcp_recv(h->s, c, b, sizeof b, false, h->now), 10);
  CHECK(memcmp(b, pat(0), 10) == 0);
  utcp_tcp_abort(h->s, c, h->now);
  th_clear(h);
  CHECK(th_free(h));
}

/* RFC 9293 3.10.7.3 + eighth step: SYN-ACK with FIN: ESTABLISHED then CLOSE-WAIT. */
TEST(test_tcb_syn_sent_synack_with_fin) {
  struct th *h = th_new(NULL);
  struct utcp_seg syn, o;
  utcp_conn_t c = open_active(h, &syn);
  seg_in(h, 20, PEER(.seq = SEQ(IRS), .ack = utcp_seq_add(syn.seq, 1), .flags = S | A | F));
  EXPECT_SEG(h, 20, o, A, syn.seq.v + 1, IRS + 2);
  CHECK_EQ(utcp_tcp_state(h->s, c), UTCP_TCP_CLOSE_WAIT);
  CHECK(th_events(h, c) & EV(UTCP_EV_PEER_CLOSED));
  char b[4];
  CHECK_EQ(utcp_tcp_recv(h->s, c, b, 4, false, h->now), 0);
  utcp_tcp_abort(h->s, c, h->now);
  th_clear(h);
  CHECK(th_free(h));
}

/* RFC 9293 3.10.3 SEND in SYN-SENT: queued, sent once ESTABLISHED (with the ACK). */
TEST(test_tcb_syn_sent_send_queued_until_established) {
  struct th *h = th_new(NULL);
  struct utcp_seg syn, o;
  utcp_conn_t c = open_active(h, &syn);
  CHECK_EQ(utcp_tcp_send(h->s, c, pat(0), 5, h->now), 5);
  CHECK_EQ(th_pending(h), 0);
  seg_in(h, 10, PEER(.seq = SEQ(IRS), .ack = utcp_seq_add(syn.seq, 1), .flags = S | A));
  REQUIRE(seg_out(h, 10, &o));
  CHECK_EQ(o.seq.v, syn.seq.v + 1);
  CHECK_EQ(o.ack.v, IRS + 1);
  CHECK(o.flags & A);
  CHECK_EQ(o.len, 5);
  CHECK(memcmp(o.payload, pat(0), 5) == 0);
  utcp_tcp_abort(h->s, c, h->now);
  th_clear(h);
  CHECK(th_free(h));
}

/* RFC 9293 3.10.4 CLOSE in SYN-SENT: delete the TCB; nothing is sent. */
TEST(test_tcb_syn_sent_close_deletes) {
  struct th *h = th_new(NULL);
  struct utcp_seg syn;
  utcp_conn_t c = open_active(h, &syn);
  CHECK_EQ(utcp_tcp_close(h->s, c, 10 * MS_NS), 0);
  CHECK_EQ(seg_none(h, 5000), 0);
  CHECK_EQ(utcp_tcp_conns_in_use(h->s), 0);
  /* The peer's late SYN-ACK now finds no connection: RST from SEG.ACK. */
  seg_in(h, 5001, PEER(.seq = SEQ(IRS), .ack = utcp_seq_add(syn.seq, 1), .flags = S | A));
  struct utcp_seg o;
  EXPECT_SEG(h, 5001, o, R, syn.seq.v + 1, 0);
  CHECK(th_free(h));
}

/* RFC 9293 3.10.7.3: SYN without ACK: simultaneous open, SYN-RECEIVED,
 * <SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK>; the peer's ACK then establishes. */
TEST(test_tcb_syn_sent_simultaneous_open) {
  struct th *h = th_new(NULL);
  struct utcp_seg syn, o;
  utcp_conn_t c = open_active(h, &syn);
  seg_in(h, 10, PEER(.seq = SEQ(IRS), .flags = S, .wnd = 4000));
  EXPECT_SEG(h, 10, o, S | A, syn.seq.v, IRS + 1);
  CHECK_EQ(utcp_tcp_state(h->s, c), UTCP_TCP_SYN_RECEIVED);
  CHECK_EQ(th_cov(h, "simultaneous_open"), 1);
  seg_in(h, 20, PEER(.seq = SEQ(IRS + 1), .ack = utcp_seq_add(syn.seq, 1), .wnd = 4000));
  CHECK_EQ(utcp_tcp_state(h->s, c), UTCP_TCP_ESTABLISHED);
  CHECK(th_events(h, c) & EV(UTCP_EV_CONNECTED));
  CHECK_EQ(tinfo(h, c).snd_wnd, 4000);
  CHECK_EQ(seg_none(h, 4000), 0);
  utcp_tcp_abort(h->s, c, h->now);
  th_clear(h);
  CHECK(th_free(h));
}

/* RFC 9293 3.10.7.4 first check in simultaneous open: the peer's SYN-ACK repeats its SYN
 * (old sequence number): it is answered with <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>, and the
 * peer's ACK of our SYN establishes. */
TEST(test_tcb_syn_received_simultaneous_synack_gets_ack) {
  struct th *h = th_new(NULL);
  struct utcp_seg syn, o;
  utcp_conn_t c = open_active(h, &syn);
  seg_in(h, 10, PEER(.seq = SEQ(IRS), .flags = S));
  REQUIRE(th_out(h, &o));
  seg_in(h, 15, PEER(.seq = SEQ(IRS), .ack = utcp_seq_add(syn.seq, 1), .flags = S | A));
  EXPECT_SEG(h, 15, o, A, syn.seq.v + 1, IRS + 1);
  seg_in(h, 20, PEER(.seq = SEQ(IRS + 1), .ack = utcp_seq_add(syn.seq, 1)));
  CHECK_EQ(utcp_tcp_state(h->s, c), UTCP_TCP_ESTABLISHED);
  utcp_tcp_abort(h->s, c, h->now);
  th_clear(h);
  CHECK(th_free(h));
}

/* RFC 6298 2.1 / 5.5: SYN retransmitted from the 1 s initial RTO, doubling: 1, 2, 4, 8 s
 * apart, same ISS, no options dropped. */
TEST(test_tcb_syn_sent_rexmt_1_2_4_8) {
  struct th *h = th_new(NULL);
  struct utcp_seg syn, o;
  utcp_conn_t c = open_active(h, &syn);
  const uint64_t at[] = {1000, 3000, 7000, 15000};
  for (int i = 0; i < 4; i++) {
    CHECK_EQ(seg_none(h, at[i] - 1), 0);
    EXPECT_SEG(h, at[i], o, S, syn.seq.v, 0);
    CHECK_EQ(o.opt.present, syn.opt.present);
  }
  CHECK_EQ(th_cov(h, "syn_rexmt"), 4);
  CHECK_EQ(tinfo(h, c).retransmits, 4);
  utcp_tcp_close(h->s, c, h->now);
  CHECK(th_free(h));
}

/* RFC 1122 4.2.3.5 / RFC 6298 5.5: after syn_retries retransmissions the open fails with
 * ETIMEDOUT, one backed-off RTO after the last retransmission. */
TEST(test_tcb_syn_sent_timeout_etimedout) {
  struct utcp_stack_config cfg;
  th_config(&cfg);
  cfg.tcp.syn_retries = 3;
  struct th *h = th_new(&cfg);
  struct utcp_seg syn, o;
  utcp_conn_t c = open_active(h, &syn);
  EXPECT_SEG(h, 1000, o, S, syn.seq.v, 0);
  EXPECT_SEG(h, 3000, o, S, syn.seq.v, 0);
  EXPECT_SEG(h, 7000, o, S, syn.seq.v, 0);
  CHECK_EQ(seg_none(h, 14999), 0);
  CHECK_EQ(utcp_tcp_state(h->s, c), UTCP_TCP_SYN_SENT);
  th_at(h, 15000);
  CHECK_EQ(th_pending(h), 0); /* no RST for a connection that never got an answer */
  CHECK_EQ(utcp_tcp_state(h->s, c), UTCP_TCP_CLOSED);
  CHECK(th_events(h, c) & EV(UTCP_EV_ERROR));
  CHECK_EQ(utcp_tcp_recv(h->s, c, &o, 1, false, h->now), UTCP_ERR_TIMEDOUT);
  CHECK_EQ(ctr(h)->tcp_attempt_fails, 1);
  utcp_tcp_close(h->s, c, h->now);
  CHECK(th_free(h));
}

/* RFC 6298 2.5: the backed-off SYN timer is capped at RTO max (60 s). */
TEST(test_tcb_syn_sent_rexmt_capped_at_rto_max) {
  struct th *h = th_new(NULL);
  struct utcp_seg syn, o;
  utcp_conn_t c = open_active(h, &syn);
  uint64_t t = 0;
  for (uint64_t i = 0, rto = 1000; i < 6; i++, rto *= 2) {
    t += rto;
    EXPECT_SEG(h, t, o, S, syn.seq.v, 0);
  }
  CHECK_EQ(t, 63000);
  CHECK_EQ(seg_none(h, 63000 + 59999), 0);
  /* 64 s would exceed the cap: the 7th retransmission comes 60 s later. */
  EXPECT_SEG(h, 63000 + 60000, o, S, syn.seq.v, 0);
  CHECK_EQ(seg_none(h, 123000 + 59999), 0);
  CHECK_EQ(utcp_tcp_state(h->s, c), UTCP_TCP_SYN_SENT);
  th_at(h, 123000 + 60000); /* and the give-up too */
  CHECK_EQ(utcp_tcp_state(h->s, c), UTCP_TCP_CLOSED);
  utcp_tcp_close(h->s, c, h->now);
  CHECK(th_free(h));
}

/* ======================= SYN-RECEIVED (RFC 9293 3.10.7.4) ======================= */

/* Passive SYN-RECEIVED for the tests below: returns the listener; *iss our ISS. */
static utcp_conn_t syn_rcvd(struct th *h, uint32_t backlog, uint32_t *iss) {
  utcp_conn_t l;
  if (utcp_tcp_listen(h->s, TH_LOCAL_PORT, backlog, &l) != 0) abort();
  th_in(h, PEER(.seq = SEQ(IRS), .flags = S, .opt = {.present = UTCP_OPT_MSS, .mss = 1460}));
  struct utcp_seg o;
  if (!th_out(h, &o) || o.flags != (S | A)) abort();
  *iss = o.seq.v;
  return l;
}

/* RFC 9293 3.10.7.4 fifth, SYN-RECEIVED: SND.UNA < SEG.ACK =< SND.NXT: ESTABLISHED, window
 * from the ACK, the listener signals ACCEPTABLE. */
TEST(test_tcb_syn_received_ack_establishes) {
  struct th *h = th_new(NULL);
  uint32_t iss;
  utcp_conn_t l = syn_rcvd(h, 4, &iss), c;
  seg_in(h, 80, PEER(.seq = SEQ(IRS + 1), .ack = SEQ(iss + 1), .wnd = 7000));
  CHECK_EQ(th_pending(h), 0);
  CHECK(th_events(h, l) & EV(UTCP_EV_ACCEPTABLE));
  REQUIRE(utcp_tcp_accept(h->s, l, &c) == 0);
  CHECK(th_events(h, c) & EV(UTCP_EV_CONNECTED));
  struct utcp_tcp_info i = tinfo(h, c);
  CHECK_EQ(i.state, UTCP_TCP_ESTABLISHED);
  CHECK_EQ(i.snd_wnd, 7000);
  CHECK_EQ(i.snd_una, iss + 1);
  CHECK_EQ(i.srtt_ns, 80 * MS_NS);
  CHECK_EQ(seg_none(h, 5000), 0); /* SYN-ACK timer stopped */
  utcp_tcp_abort(h->s, c, h->now);
  utcp_tcp_close(h->s, l, h->now);
  th_clear(h);
  CHECK(th_free(h));
}

/* RFC 9293 3.10.7.4 fifth, SYN-RECEIVED: unacceptable ACK: <SEQ=SEG.ACK><CTL=RST>; the
 * embryo stays. */
TEST(test_tcb_syn_received_bad_ack_gets_rst) {
  struct th *h = th_new(NULL);
  uint32_t iss;
  utcp_conn_t l = syn_rcvd(h, 4, &iss), c;
  struct utcp_seg o;
  seg_in(h, 10, PEER(.seq = SEQ(IRS + 1), .ack = SEQ(iss + 5)));
  EXPECT_SEG(h, 10, o, R, iss + 5, 0);
  seg_in(h, 11, PEER(.seq = SEQ(IRS + 1), .ack = SEQ(iss)));
  EXPECT_SEG(h, 11, o, R, iss, 0);
  CHECK_EQ(th_drops(h, UTCP_DROP_TCP_BAD_ACK), 2);
  seg_in(h, 20, PEER(.seq = SEQ(IRS + 1), .ack = SEQ(iss + 1)));
  REQUIRE(utcp_tcp_accept(h->s, l, &c) == 0);
  utcp_tcp_abort(h->s, c, h->now);
  utcp_tcp_close(h->s, l, h->now);
  th_clear(h);
  CHECK(th_free(h));
}

/* RFC 9293 3.10.7.4 fifth: a segment without ACK in SYN-RECEIVED is dropped. */
TEST(test_tcb_syn_received_no_ack_dropped) {
  struct th *h = th_new(NULL);
  uint32_t iss;
  utcp_conn_t l = syn_rcvd(h, 4, &iss), c;
  seg_in(h, 10, PEER(.seq = SEQ(IRS + 1), .flags = P, .payload = pat(0), .len = 10));
  CHECK_EQ(seg_none(h, 10), 0);
  CHECK_EQ(th_drops(h, UTCP_DROP_TCP_NO_ACK), 1);
  CHECK_EQ(utcp_tcp_accept(h->s, l, &c), UTCP_ERR_AGAIN);
  utcp_tcp_close(h->s, l, h->now);
  th_clear(h);
  CHECK(th_free(h));
}

/* RFC 9293 3.10.7.4 first: an unacceptable segment in SYN-RECEIVED (beyond the window) gets
 * <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>. */
TEST(test_tcb_syn_received_out_of_window_gets_ack) {
  struct th *h = th_new(NULL);
  uint32_t iss;
  utcp_conn_t l = syn_rcvd(h, 4, &iss);
  struct utcp_seg o;
  seg_in(h, 10, PEER(.seq = SEQ(IRS + 1 + 70000), .ack = SEQ(iss + 1), .payload = pat(0), .len = 5));
  EXPECT_SEG(h, 10, o, A, iss + 1, IRS + 1);
  CHECK_EQ(th_drops(h, UTCP_DROP_TCP_OUT_OF_WINDOW), 1);
  utcp_tcp_close(h->s, l, h->now);
  th_clear(h);
  CHECK(th_free(h));
}

/* RFC 9293 3.10.7.4 first: a retransmitted SYN (old sequence number) in SYN-RECEIVED is
 * unacceptable: answered with an ACK, the embryo stays. */
TEST(test_tcb_syn_received_retransmitted_syn_gets_ack) {
  struct th *h = th_new(NULL);
  uint32_t iss;
  utcp_conn_t l = syn_rcvd(h, 4, &iss);
  struct utcp_seg o;
  seg_in(h, 500, PEER(.seq = SEQ(IRS), .flags = S));
  EXPECT_SEG(h, 500, o, A, iss + 1, IRS + 1);
  CHECK_EQ(utcp_tcp_conns_in_use(h->s), 2);
  utcp_tcp_close(h->s, l, h->now);
  th_clear(h);
  CHECK(th_free(h));
}

/* RFC 9293 3.10.7.4 second, SYN-RECEIVED from a passive OPEN: RST at RCV.NXT returns to
 * LISTEN: the embryo goes, no reply, and the listener serves new SYNs. */
TEST(test_tcb_syn_received_rst_passive_back_to_listen) {
  struct utcp_stack_config cfg;
  th_config(&cfg);
  cfg.tcp.syn_backlog = 1;
  struct th *h = th_new(&cfg);
  uint32_t iss;
  utcp_conn_t l = syn_rcvd(h, 1, &iss), c;
  seg_in(h, 10, PEER(.seq = SEQ(IRS + 1), .flags = R));
  CHECK_EQ(seg_none(h, 10), 0);
  CHECK_EQ(utcp_tcp_conns_in_use(h->s), 1);
  CHECK_EQ(th_cov(h, "rst_in_window_exact"), 1);
  CHECK_EQ(seg_none(h, 5000), 0); /* no SYN-ACK retransmission */
  CHECK_EQ(utcp_tcp_accept(h->s, l, &c), UTCP_ERR_AGAIN);
  seg_in(h, 5001, PEER(.seq = SEQ(IRS + 9), .flags = S)); /* the SYN queue of 1 has room again */
  struct utcp_seg o;
  EXPECT_SEG(h, 5001, o, S | A, o.seq.v, IRS + 10);
  utcp_tcp_close(h->s, l, h->now);
  th_clear(h);
  CHECK(th_free(h));
}

/* RFC 5961 3.2 in SYN-RECEIVED: RST in window but not at RCV.NXT: challenge ACK, stay. */
TEST(test_tcb_syn_received_rst_in_window_challenge) {
  struct th *h = th_new(NULL);
  uint32_t iss;
  utcp_conn_t l = syn_rcvd(h, 4, &iss);
  struct utcp_seg o;
  seg_in(h, 10, PEER(.seq = SEQ(IRS + 100), .flags = R));
  EXPECT_SEG(h, 10, o, A, iss + 1, IRS + 1);
  CHECK_EQ(th_drops(h, UTCP_DROP_TCP_RST_CHALLENGED), 1);
  CHECK_EQ(utcp_tcp_conns_in_use(h->s), 2);
  utcp_tcp_close(h->s, l, h->now);
  th_clear(h);
  CHECK(th_free(h));
}

/* RFC 9293 3.10.7.4 second, SYN-RECEIVED from an active OPEN (simultaneous open): RST at
 * RCV.NXT: "connection refused", CLOSED. */
TEST(test_tcb_syn_received_rst_active_refused) {
  struct th *h = th_new(NULL);
  struct utcp_seg syn, o;
  utcp_conn_t c = open_active(h, &syn);
  seg_in(h, 10, PEER(.seq = SEQ(IRS), .flags = S));
  REQUIRE(th_out(h, &o));
  seg_in(h, 20, PEER(.seq = SEQ(IRS + 1), .flags = R));
  CHECK_EQ(seg_none(h, 20), 0);
  CHECK_EQ(utcp_tcp_state(h->s, c), UTCP_TCP_CLOSED);
  CHECK(th_events(h, c) & EV(UTCP_EV_RESET));
  CHECK_EQ(utcp_tcp_recv(h->s, c, &o, 1, false, h->now), UTCP_ERR_CONNREFUSED);
  utcp_tcp_close(h->s, c, h->now);
  CHECK(th_free(h));
}

/* RFC 9293 3.10.7.4 fourth, SYN-RECEIVED from a passive OPEN: an in-window SYN returns the
 * connection to LISTEN (no reply). */
TEST(test_tcb_syn_received_syn_passive_back_to_listen) {
  struct th *h = th_new(NULL);
  uint32_t iss;
  utcp_conn_t l = syn_rcvd(h, 4, &iss);
  seg_in(h, 10, PEER(.seq = SEQ(IRS + 5), .flags = S));
  CHECK_EQ(seg_none(h, 10), 0);
  CHECK_EQ(utcp_tcp_conns_in_use(h->s), 1);
  CHECK_EQ(ctr(h)->tcp_attempt_fails, 1);
  utcp_tcp_close(h->s, l, h->now);
  CHECK(th_free(h));
}

/* RFC 5961 4.2 in SYN-RECEIVED from an active OPEN: an in-window SYN gets a challenge ACK. */
TEST(test_tcb_syn_received_syn_active_challenge) {
  struct th *h = th_new(NULL);
  struct utcp_seg syn, o;
  utcp_conn_t c = open_active(h, &syn);
  seg_in(h, 10, PEER(.seq = SEQ(IRS), .flags = S));
  REQUIRE(th_out(h, &o));
  seg_in(h, 20, PEER(.seq = SEQ(IRS + 3), .flags = S));
  EXPECT_SEG(h, 20, o, A, syn.seq.v + 1, IRS + 1);
  CHECK_EQ(th_drops(h, UTCP_DROP_TCP_SYN_CHALLENGED), 1);
  CHECK_EQ(utcp_tcp_state(h->s, c), UTCP_TCP_SYN_RECEIVED);
  utcp_tcp_abort(h->s, c, h->now); /* RFC 9293 3.10.5: RST in SYN-RECEIVED */
  EXPECT_SEG(h, 20, o, R | A, syn.seq.v + 1, IRS + 1);
  th_clear(h);
  CHECK(th_free(h));
}

/* RFC 9293 3.10.7.4 eighth, SYN-RECEIVED: FIN (with the completing ACK): CLOSE-WAIT; the
 * accepted connection reads end of stream at once. */
TEST(test_tcb_syn_received_fin_to_close_wait) {
  struct th *h = th_new(NULL);
  uint32_t iss;
  utcp_conn_t l = syn_rcvd(h, 4, &iss), c;
  struct utcp_seg o;
  seg_in(h, 10, PEER(.seq = SEQ(IRS + 1), .ack = SEQ(iss + 1), .flags = A | F, .payload = pat(0),
                     .len = 3));
  EXPECT_SEG(h, 10, o, A, iss + 1, IRS + 5);
  REQUIRE(utcp_tcp_accept(h->s, l, &c) == 0);
  CHECK_EQ(utcp_tcp_state(h->s, c), UTCP_TCP_CLOSE_WAIT);
  uint32_t ev = th_events(h, c);
  CHECK(ev & EV(UTCP_EV_READABLE));
  CHECK(ev & EV(UTCP_EV_PEER_CLOSED));
  uint8_t b[8];
  CHECK_EQ(utcp_tcp_recv(h->s, c, b, sizeof b, false, h->now), 3);
  CHECK_EQ(utcp_tcp_recv(h->s, c, b, sizeof b, false, h->now), 0);
  CHECK_EQ(utcp_tcp_close(h->s, c, h->now), 0); /* LAST-ACK */
  EXPECT_SEG(h, 11, o, F | A, iss + 1, IRS + 5);
  seg_in(h, 12, PEER(.seq = SEQ(IRS + 5), .ack = SEQ(iss + 2)));
  CHECK_EQ(utcp_tcp_conns_in_use(h->s), 1);
  utcp_tcp_close(h->s, l, h->now);
  CHECK(th_free(h));
}

/* RFC 6298 / RFC 1122 4.2.3.5: the SYN-ACK is retransmitted at 1, 3, 7 s ... and after
 * syn_retries the embryo is deleted (it never reaches the application). */
TEST(test_tcb_syn_received_synack_rexmt_then_gone) {
  struct utcp_stack_config cfg;
  th_config(&cfg);
  cfg.tcp.syn_retries = 2;
  struct th *h = th_new(&cfg);
  uint32_t iss;
  utcp_conn_t l = syn_rcvd(h, 4, &iss), c;
  struct utcp_seg o;
  CHECK_EQ(seg_none(h, 999), 0);
  EXPECT_SEG(h, 1000, o, S | A, iss, IRS + 1);
  EXPECT_SEG(h, 3000, o, S | A, iss, IRS + 1);
  CHECK_EQ(utcp_tcp_conns_in_use(h->s), 2);
  CHECK_EQ(seg_none(h, 7000), 0);
  CHECK_EQ(utcp_tcp_conns_in_use(h->s), 1);
  CHECK_EQ(utcp_tcp_accept(h->s, l, &c), UTCP_ERR_AGAIN);
  CHECK_EQ(ctr(h)->tcp_attempt_fails, 1);
  utcp_tcp_close(h->s, l, h->now);
  CHECK(th_free(h));
}

/* RFC 9293 3.10.7.4: the completing ACK may carry text; it waits for accept. */
TEST(test_tcb_syn_received_ack_with_data) {
  struct th *h = th_new(NULL);
  uint32_t iss;
  utcp_conn_t l = syn_rcvd(h, 4, &iss), c;
  seg_in(h, 10, PEER(.seq = SEQ(IRS + 1), .ack = SEQ(iss + 1), .flags = A | P, .payload = pat(0),
                     .len = 100));
  REQUIRE(utcp_tcp_accept(h->s, l, &c) == 0);
  CHECK(th_events(h, c) & EV(UTCP_EV_READABLE));
  CHECK_EQ(utcp_tcp_readable(h->s, c), 100);
  struct utcp_seg o;
  EXPECT_SEG(h, 50, o, A, iss + 1, IRS + 101); /* delayed ACK, 40 ms */
  utcp_tcp_abort(h->s, c, h->now);
  utcp_tcp_close(h->s, l, h->now);
  th_clear(h);
  CHECK(th_free(h));
}

/* ======================= options (RFC 7323, RFC 2018, RFC 9293 3.7.1) ======================= */

/* RFC 7323 1.3 / RFC 2018 2: a SYN with WS, SACK-permitted and TS gets all three back; TS
 * echoes the SYN's TSval; the window of the SYN-ACK is not scaled. */
TEST(test_tcb_opts_synack_echoes_offered) {
  struct th *h = th_new(NULL);
  utcp_conn_t l;
  REQUIRE(utcp_tcp_listen(h->s, TH_LOCAL_PORT, 4, &l) == 0);
  seg_in(h, 0, PEER(.seq = SEQ(IRS), .flags = S,
                    .opt = {.present = UTCP_OPT_MSS | UTCP_OPT_WSCALE | UTCP_OPT_SACK_PERM | UTCP_OPT_TS,
                            .mss = 1460, .wscale = 7, .ts_val = 777}));
  struct utcp_seg o;
  REQUIRE(th_out(h, &o));
  CHECK_EQ(o.flags, S | A);
  CHECK(o.opt.present & UTCP_OPT_WSCALE);
  CHECK(o.opt.present & UTCP_OPT_SACK_PERM);
  CHECK(o.opt.present & UTCP_OPT_TS);
  CHECK_EQ(o.opt.wscale, 1);
  CHECK_EQ(o.opt.ts_ecr, 777);
  CHECK_EQ(o.wnd, 65535);
  utcp_tcp_close(h->s, l, h->now);
  th_clear(h);
  CHECK(th_free(h));
}

/* RFC 7323 1.3, 2.2: scaling only when both sides sent WS; then windows are shifted both ways. */
TEST(test_tcb_opts_wscale_used_when_both_agreed) {
  struct est e = est_open(NULL, UTCP_OPT_WSCALE);
  struct utcp_tcp_info i = tinfo(e.h, e.c);
  CHECK_EQ(i.snd_wscale, 7);
  CHECK_EQ(i.rcv_wscale, 1);
  seg_in(e.h, 10, PEER(.seq = SEQ(e.rcv), .ack = SEQ(e.snd), .wnd = 100));
  CHECK_EQ(tinfo(e.h, e.c).snd_wnd, 100 << 7);
  CHECK_EQ(utcp_tcp_send(e.h->s, e.c, pat(0), 10, e.h->now), 10);
  struct utcp_seg o;
  REQUIRE(th_out(e.h, &o));
  CHECK_EQ(o.wnd, 65536 >> 1); /* our 64 KiB, scaled by our shift */
  utcp_tcp_abort(e.h->s, e.c, e.h->now);
  th_clear(e.h);
  CHECK(th_free(e.h));
}

/* RFC 7323 1.3: a SYN without WS: neither side scales (our offer is withdrawn too). */
TEST(test_tcb_opts_no_wscale_from_peer_no_scaling) {
  struct est e = est_open(NULL, 0);
  struct utcp_tcp_info i = tinfo(e.h, e.c);
  CHECK_EQ(i.snd_wscale, 0);
  CHECK_EQ(i.rcv_wscale, 0);
  CHECK(!i.sack_ok);
  CHECK(!i.ts_ok);
  seg_in(e.h, 10, PEER(.seq = SEQ(e.rcv), .ack = SEQ(e.snd), .wnd = 100));
  CHECK_EQ(tinfo(e.h, e.c).snd_wnd, 100);
  CHECK_EQ(utcp_tcp_send(e.h->s, e.c, pat(0), 10, e.h->now), 10);
  struct utcp_seg o;
  REQUIRE(th_out(e.h, &o));
  CHECK_EQ(o.wnd, 65535); /* 64 KiB cannot be expressed unscaled: clamped */
  CHECK_EQ(o.opt.present & UTCP_OPT_TS, 0);
  utcp_tcp_abort(e.h->s, e.c, e.h->now);
  th_clear(e.h);
  CHECK(th_free(e.h));
}

/* RFC 7323 2.3: a shift above 14 is used as 14. */
TEST(test_tcb_opts_wscale_clamped_to_14) {
  struct th *h = th_new(NULL);
  struct utcp_tcp_opts opt = {.present = UTCP_OPT_MSS | UTCP_OPT_WSCALE, .mss = 1460, .wscale = 15};
  utcp_conn_t c = th_accept_conn(h, IRS, &opt, NULL, NULL);
  CHECK_EQ(tinfo(h, c).snd_wscale, 14);
  utcp_tcp_abort(h->s, c, h->now);
  th_clear(h);
  struct utcp_seg syn;
  c = open_active(h, &syn);
  seg_in(h, 10, PEER(.seq = SEQ(IRS), .ack = utcp_seq_add(syn.seq, 1), .flags = S | A,
                     .opt = {.present = UTCP_OPT_WSCALE, .wscale = 200}));
  CHECK_EQ(tinfo(h, c).snd_wscale, 14);
  utcp_tcp_abort(h->s, c, h->now);
  th_clear(h);
  CHECK(th_free(h));
}

/* RFC 7323 2.2: the window of a SYN-ACK is never scaled, even with WS agreed. */
TEST(test_tcb_opts_synack_window_unscaled) {
  struct th *h = th_new(NULL);
  struct utcp_seg syn;
  utcp_conn_t c = open_active(h, &syn);
  seg_in(h, 10, PEER(.seq = SEQ(IRS), .ack = utcp_seq_add(syn.seq, 1), .flags = S | A, .wnd = 1000,
                     .opt = {.present = UTCP_OPT_WSCALE, .wscale = 3}));
  CHECK_EQ(tinfo(h, c).snd_wnd, 1000);
  seg_in(h, 20, PEER(.seq = SEQ(IRS + 1), .ack = utcp_seq_add(syn.seq, 1), .wnd = 1000));
  CHECK_EQ(tinfo(h, c).snd_wnd, 8000);
  utcp_tcp_abort(h->s, c, h->now);
  th_clear(h);
  CHECK(th_free(h));
}

/* RFC 2018 2: SACK is used only when both sides sent SACK-permitted. */
TEST(test_tcb_opts_sack_only_when_both) {
  struct est e1 = est_open(NULL, UTCP_OPT_SACK_PERM);
  CHECK(tinfo(e1.h, e1.c).sack_ok);
  utcp_tcp_abort(e1.h->s, e1.c, e1.h->now);
  th_clear(e1.h);
  CHECK(th_free(e1.h));
  struct est e2 = est_open(NULL, 0);
  CHECK(!tinfo(e2.h, e2.c).sack_ok);
  /* Out-of-order data: no SACK block in the ACK without agreement. */
  seg_in(e2.h, 10, PEER(.seq = SEQ(e2.rcv + 100), .ack = SEQ(e2.snd), .payload = pat(0), .len = 50));
  struct utcp_seg o;
  REQUIRE(th_out(e2.h, &o));
  CHECK_EQ(o.opt.present & UTCP_OPT_SACK, 0);
  utcp_tcp_abort(e2.h->s, e2.c, e2.h->now);
  th_clear(e2.h);
  CHECK(th_free(e2.h));
}

/* RFC 9293 3.7.1: without an MSS option the send MSS is 536. */
TEST(test_tcb_opts_mss_default_536) {
  struct th *h = th_new(NULL);
  utcp_conn_t c = th_accept_conn(h, IRS, NULL, NULL, NULL);
  CHECK_EQ(tinfo(h, c).snd_mss, 536);
  CHECK_EQ(utcp_tcp_send(h->s, c, pat(0), 2000, h->now), 2000);
  struct utcp_seg o;
  REQUIRE(th_out(h, &o));
  CHECK_EQ(o.len, 536);
  utcp_tcp_abort(h->s, c, h->now);
  th_clear(h);
  CHECK(th_free(h));
}

/* RFC 9293 3.7.1 / RFC 6691: the effective send MSS excludes the 12 bytes of timestamps. */
TEST(test_tcb_opts_effective_mss_with_timestamps) {
  struct est e = est_open(NULL, UTCP_OPT_TS);
  struct utcp_tcp_info i = tinfo(e.h, e.c);
  CHECK(i.ts_ok);
  CHECK_EQ(i.snd_mss, 1448);
  CHECK_EQ(utcp_tcp_send(e.h->s, e.c, pat(0), 3000, e.h->now), 3000);
  struct utcp_seg o;
  REQUIRE(th_out(e.h, &o));
  CHECK_EQ(o.len, 1448);
  CHECK(o.opt.present & UTCP_OPT_TS);
  CHECK_EQ(o.opt.ts_ecr, e.peer_ts);
  utcp_tcp_abort(e.h->s, e.c, e.h->now);
  th_clear(e.h);
  CHECK(th_free(e.h));
}

/* RFC 9293 3.7.1: the peer's MSS is capped by our MTU (1500 - 40). */
TEST(test_tcb_opts_mss_capped_by_mtu) {
  struct th *h = th_new(NULL);
  struct utcp_tcp_opts opt = {.present = UTCP_OPT_MSS, .mss = 8960};
  utcp_conn_t c = th_accept_conn(h, IRS, &opt, NULL, NULL);
  CHECK_EQ(tinfo(h, c).snd_mss, 1460);
  CHECK_EQ(tinfo(h, c).rcv_mss, 8960);
  utcp_tcp_abort(h->s, c, h->now);
  th_clear(h);
  CHECK(th_free(h));
}

/* TCP_MAXSEG before connect: announced in the SYN and caps the send MSS. */
TEST(test_tcb_opts_user_maxseg) {
  struct th *h = th_new(NULL);
  const int opts[][2] = {{UTCP_TCPOPT_MAXSEG, 1000}};
  utcp_conn_t c;
  REQUIRE(utcp_tcp_connect_opts(h->s, TH_PEER_IP, TH_PEER_PORT, TH_LOCAL_PORT, opts, 1, 0, &c) == 0);
  struct utcp_seg syn;
  REQUIRE(th_out(h, &syn));
  CHECK_EQ(syn.opt.mss, 1000);
  seg_in(h, 10, PEER(.seq = SEQ(IRS), .ack = utcp_seq_add(syn.seq, 1), .flags = S | A,
                     .opt = {.present = UTCP_OPT_MSS, .mss = 1460}));
  CHECK_EQ(tinfo(h, c).snd_mss, 1000);
  utcp_tcp_abort(h->s, c, h->now);
  th_clear(h);
  CHECK(th_free(h));
}

/* RFC 7323 3.2 / RFC 2018: an active open to a peer whose SYN-ACK has no options: no TS on
 * later segments, no scaling, no SACK. */
TEST(test_tcb_opts_active_peer_without_options) {
  struct th *h = th_new(NULL);
  struct utcp_seg syn, o;
  utcp_conn_t c = open_active(h, &syn);
  seg_in(h, 10, PEER(.seq = SEQ(IRS), .ack = utcp_seq_add(syn.seq, 1), .flags = S | A));
  REQUIRE(th_out(h, &o));
  CHECK_EQ(o.opt.present, 0);
  struct utcp_tcp_info i = tinfo(h, c);
  CHECK(!i.ts_ok);
  CHECK(!i.sack_ok);
  CHECK_EQ(i.snd_wscale, 0);
  CHECK_EQ(i.rcv_wscale, 0);
  CHECK_EQ(i.snd_mss, 536);
  utcp_tcp_abort(h->s, c, h->now);
  th_clear(h);
  CHECK(th_free(h));
}

/* RFC 7323 3.2: with TS agreed on an active open every segment carries TS, echoing TS.Recent
 * from the SYN-ACK. */
TEST(test_tcb_opts_active_timestamps_agreed) {
  struct th *h = th_new(NULL);
  struct utcp_seg syn, o;
  utcp_conn_t c = open_active(h, &syn);
  seg_in(h, 10, PEER(.seq = SEQ(IRS), .ack = utcp_seq_add(syn.seq, 1), .flags = S | A,
                     .opt = {.present = UTCP_OPT_TS, .ts_val = 5555, .ts_ecr = syn.opt.ts_val}));
  REQUIRE(th_out(h, &o));
  CHECK(o.opt.present & UTCP_OPT_TS);
  CHECK_EQ(o.opt.ts_ecr, 5555);
  CHECK_EQ(o.opt.ts_val, syn.opt.ts_val + 10); /* a 1 ms clock */
  CHECK(tinfo(h, c).ts_ok);
  CHECK_EQ(tinfo(h, c).snd_mss, 536 - 12);
  utcp_tcp_abort(h->s, c, h->now);
  th_clear(h);
  CHECK(th_free(h));
}

TEST_MAIN(TEST_CASE(test_tcb_closed_data_without_ack_gets_rst_ack),
          TEST_CASE(test_tcb_closed_syn_fin_counts_flags),
          TEST_CASE(test_tcb_closed_fin_ack_gets_rst_seq_ack),
          TEST_CASE(test_tcb_closed_rst_ack_ignored),
          TEST_CASE(test_tcb_closed_after_reset_answers_rst),
          TEST_CASE(test_tcb_listen_rst_ignored), TEST_CASE(test_tcb_listen_synack_gets_rst),
          TEST_CASE(test_tcb_listen_other_dropped), TEST_CASE(test_tcb_listen_syn_to_syn_received),
          TEST_CASE(test_tcb_listen_syn_data_not_kept),
          TEST_CASE(test_tcb_listen_synq_overflow_dropped),
          TEST_CASE(test_tcb_listen_acceptq_overflow_dropped),
          TEST_CASE(test_tcb_listen_table_full_dropped),
          TEST_CASE(test_tcb_listen_close_resets_queued),
          TEST_CASE(test_tcb_syn_sent_syn_offers_options),
          TEST_CASE(test_tcb_syn_sent_ack_at_iss_gets_rst),
          TEST_CASE(test_tcb_syn_sent_ack_beyond_snd_nxt_gets_rst),
          TEST_CASE(test_tcb_syn_sent_bad_ack_with_rst_silent),
          TEST_CASE(test_tcb_syn_sent_rst_no_ack_dropped),
          TEST_CASE(test_tcb_syn_sent_rst_ack_refused),
          TEST_CASE(test_tcb_syn_sent_ack_without_syn_dropped),
          TEST_CASE(test_tcb_syn_sent_synack_establishes),
          TEST_CASE(test_tcb_syn_sent_synack_after_rexmt_no_rtt_sample),
          TEST_CASE(test_tcb_syn_sent_synack_with_data),
          TEST_CASE(test_tcb_syn_sent_synack_with_fin),
          TEST_CASE(test_tcb_syn_sent_send_queued_until_established),
          TEST_CASE(test_tcb_syn_sent_close_deletes),
          TEST_CASE(test_tcb_syn_sent_simultaneous_open),
          TEST_CASE(test_tcb_syn_received_simultaneous_synack_gets_ack),
          TEST_CASE(test_tcb_syn_sent_rexmt_1_2_4_8),
          TEST_CASE(test_tcb_syn_sent_timeout_etimedout),
          TEST_CASE(test_tcb_syn_sent_rexmt_capped_at_rto_max),
          TEST_CASE(test_tcb_syn_received_ack_establishes),
          TEST_CASE(test_tcb_syn_received_bad_ack_gets_rst),
          TEST_CASE(test_tcb_syn_received_no_ack_dropped),
          TEST_CASE(test_tcb_syn_received_out_of_window_gets_ack),
          TEST_CASE(test_tcb_syn_received_retransmitted_syn_gets_ack),
          TEST_CASE(test_tcb_syn_received_rst_passive_back_to_listen),
          TEST_CASE(test_tcb_syn_received_rst_in_window_challenge),
          TEST_CASE(test_tcb_syn_received_rst_active_refused),
          TEST_CASE(test_tcb_syn_received_syn_passive_back_to_listen),
          TEST_CASE(test_tcb_syn_received_syn_active_challenge),
          TEST_CASE(test_tcb_syn_received_fin_to_close_wait),
          TEST_CASE(test_tcb_syn_received_synack_rexmt_then_gone),
          TEST_CASE(test_tcb_syn_received_ack_with_data),
          TEST_CASE(test_tcb_opts_synack_echoes_offered),
          TEST_CASE(test_tcb_opts_wscale_used_when_both_agreed),
          TEST_CASE(test_tcb_opts_no_wscale_from_peer_no_scaling),
          TEST_CASE(test_tcb_opts_wscale_clamped_to_14),
          TEST_CASE(test_tcb_opts_synack_window_unscaled),
          TEST_CASE(test_tcb_opts_sack_only_when_both), TEST_CASE(test_tcb_opts_mss_default_536),
          TEST_CASE(test_tcb_opts_effective_mss_with_timestamps),
          TEST_CASE(test_tcb_opts_mss_capped_by_mtu), TEST_CASE(test_tcb_opts_user_maxseg),
          TEST_CASE(test_tcb_opts_active_peer_without_options),
          TEST_CASE(test_tcb_opts_active_timestamps_agreed))
