/* TCP state machine tests, grouped by RFC 9293 state: test_tcb_<state>_<event>. Every step
 * has its time; every test ends with the leak check. */
#include <string.h>

#include "core/tcp.h"
#include "tcp_harness.h"
#include "test.h"

#define SEQ(x) utcp_seq(x)
#define A UTCP_TCP_ACK
#define S UTCP_TCP_SYN
#define F UTCP_TCP_FIN
#define R UTCP_TCP_RST
#define P UTCP_TCP_PSH

static const uint32_t IRS = 1000000;

/* ---- CLOSED ---- */

TEST(test_tcb_closed_syn_gets_rst_ack) {
  struct th *h = th_new(NULL);
  th_in(h, (struct utcp_seg){.seq = SEQ(IRS), .flags = S, .wnd = 1000});
  struct utcp_seg o;
  REQUIRE(th_out(h, &o));
  /* RFC 9293 3.10.7.1: no ACK bit: <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK> */
  CHECK_EQ(o.flags, R | A);
  CHECK_EQ(o.seq.v, 0);
  CHECK_EQ(o.ack.v, IRS + 1);
  CHECK_EQ(th_drops(h, UTCP_DROP_TCP_NO_CONN), 1);
  CHECK(th_free(h));
}

TEST(test_tcb_closed_ack_gets_rst) {
  struct th *h = th_new(NULL);
  th_in(h, (struct utcp_seg){.seq = SEQ(IRS), .ack = SEQ(777), .flags = A, .wnd = 1000});
  struct utcp_seg o;
  REQUIRE(th_out(h, &o));
  CHECK_EQ(o.flags, R); /* <SEQ=SEG.ACK><CTL=RST> */
  CHECK_EQ(o.seq.v, 777);
  CHECK(th_free(h));
}

TEST(test_tcb_closed_rst_ignored) {
  struct th *h = th_new(NULL);
  th_in(h, (struct utcp_seg){.seq = SEQ(IRS), .flags = R});
  CHECK_EQ(th_pending(h), 0);
  CHECK(th_free(h));
}

/* ---- LISTEN ---- */

TEST(test_tcb_listen_syn_handshake) {
  struct th *h = th_new(NULL);
  utcp_conn_t l, c;
  REQUIRE(utcp_tcp_listen(h->s, TH_LOCAL_PORT, 4, &l) == 0);
  th_in(h, (struct utcp_seg){.seq = SEQ(IRS), .flags = S, .wnd = 65535,
                             .opt = {.present = UTCP_OPT_MSS, .mss = 1460}});
  struct utcp_seg o;
  REQUIRE(th_out(h, &o));
  CHECK_EQ(o.flags, S | A);
  CHECK_EQ(o.ack.v, IRS + 1);
  CHECK(o.opt.present & UTCP_OPT_MSS);
  /* RFC 7323 / RFC 2018: the SYN offered none, so the SYN-ACK carries none. */
  CHECK(!(o.opt.present & (UTCP_OPT_WSCALE | UTCP_OPT_TS | UTCP_OPT_SACK_PERM)));
  CHECK_EQ(utcp_tcp_accept(h->s, l, &c), UTCP_ERR_AGAIN);
  th_in(h, (struct utcp_seg){.seq = SEQ(IRS + 1), .ack = utcp_seq_add(o.seq, 1), .flags = A,
                             .wnd = 65535});
  CHECK_EQ(th_pending(h), 0);
  REQUIRE(utcp_tcp_accept(h->s, l, &c) == 0);
  CHECK_EQ(utcp_tcp_state(h->s, c), UTCP_TCP_ESTABLISHED);
  struct utcp_tcp_info info;
  REQUIRE(utcp_tcp_info(h->s, c, &info) == 0);
  CHECK_EQ(info.snd_mss, 1460);
  CHECK_EQ(info.snd_wscale, 0);
  CHECK(!info.ts_ok);
  CHECK_EQ(utcp_tcp_abort(h->s, c, h->now), 0);
  CHECK_EQ(utcp_tcp_close(h->s, l, h->now), 0);
  CHECK(th_free(h));
}

TEST(test_tcb_listen_ack_gets_rst) {
  struct th *h = th_new(NULL);
  utcp_conn_t l;
  REQUIRE(utcp_tcp_listen(h->s, TH_LOCAL_PORT, 4, &l) == 0);
  th_in(h, (struct utcp_seg){.seq = SEQ(IRS), .ack = SEQ(5), .flags = A});
  struct utcp_seg o;
  REQUIRE(th_out(h, &o));
  CHECK_EQ(o.flags, R);
  CHECK_EQ(o.seq.v, 5);
  th_in(h, (struct utcp_seg){.seq = SEQ(IRS), .flags = R});
  CHECK_EQ(th_pending(h), 0);
  utcp_tcp_close(h->s, l, h->now);
  CHECK(th_free(h));
}

/* ---- SYN-SENT ---- */

TEST(test_tcb_syn_sent_synack_establishes) {
  struct th *h = th_new(NULL);
  utcp_seq_t iss;
  utcp_conn_t c = th_connect_conn(h, IRS, NULL, &iss);
  CHECK_EQ(utcp_tcp_state(h->s, c), UTCP_TCP_ESTABLISHED);
  utcp_tcp_abort(h->s, c, h->now);
  struct utcp_seg o;
  REQUIRE(th_out(h, &o));
  CHECK(o.flags & R);
  CHECK(th_free(h));
}

TEST(test_tcb_syn_sent_rst_without_ack_ignored) {
  struct th *h = th_new(NULL);
  utcp_conn_t c;
  REQUIRE(utcp_tcp_connect(h->s, TH_PEER_IP, TH_PEER_PORT, TH_LOCAL_PORT, 0, &c) == 0);
  struct utcp_seg syn;
  REQUIRE(th_out(h, &syn));
  th_in(h, (struct utcp_seg){.seq = SEQ(IRS), .flags = R});
  CHECK_EQ(utcp_tcp_state(h->s, c), UTCP_TCP_SYN_SENT);
  CHECK_EQ(th_drops(h, UTCP_DROP_TCP_BAD_RST), 1);
  /* A RST that acknowledges the SYN refuses the connection. */
  th_in(h, (struct utcp_seg){.seq = SEQ(0), .ack = utcp_seq_add(syn.seq, 1), .flags = R | A});
  CHECK_EQ(utcp_tcp_state(h->s, c), UTCP_TCP_CLOSED);
  CHECK(th_events(h, c) & (1u << UTCP_EV_RESET));
  char b[4];
  CHECK_EQ(utcp_tcp_recv(h->s, c, b, 4, false, h->now), UTCP_ERR_CONNREFUSED);
  utcp_tcp_close(h->s, c, h->now);
  CHECK(th_free(h));
}

TEST(test_tcb_syn_sent_rto_backoff_then_timeout) {
  struct th *h = th_new(NULL);
  utcp_conn_t c;
  REQUIRE(utcp_tcp_connect(h->s, TH_PEER_IP, TH_PEER_PORT, TH_LOCAL_PORT, 0, &c) == 0);
  struct utcp_seg o;
  REQUIRE(th_out(h, &o));
  /* RFC 6298 2.1 and 5.5: 1 s, then doubling up to the 60 s cap (2.5): retransmissions at
   * 1, 3, 7, 15, 31, 63, 123 s; the 7th (syn_retries) timeout, at 183 s, gives up: more than
   * the 3 minutes RFC 1122 4.2.3.5 asks. */
  uint64_t at = 0, rto = 1000;
  for (int i = 0; i < 7; i++) {
    at += rto;
    th_at(h, at - 2);
    CHECK_EQ(th_pending(h), 0);
    th_at(h, at + 2);
    REQUIRE(th_out(h, &o));
    CHECK_EQ(o.flags, S);
    rto = rto * 2 > 60000 ? 60000 : rto * 2;
  }
  at += rto;
  CHECK(at >= 180000);
  th_at(h, at - 2);
  CHECK_EQ(utcp_tcp_state(h->s, c), UTCP_TCP_SYN_SENT);
  th_at(h, at + 2);
  CHECK_EQ(utcp_tcp_state(h->s, c), UTCP_TCP_CLOSED);
  CHECK(th_events(h, c) & (1u << UTCP_EV_ERROR));
  int err;
  CHECK_EQ(utcp_tcp_getopt(h->s, c, UTCP_TCPOPT_ERROR, &err), 0);
  CHECK_EQ(err, UTCP_ERR_TIMEDOUT);
  utcp_tcp_close(h->s, c, h->now);
  CHECK(th_free(h));
}

/* ---- ESTABLISHED ---- */

TEST(test_tcb_established_data_delayed_ack) {
  struct th *h = th_new(NULL);
  utcp_seq_t iss;
  utcp_conn_t c = th_accept_conn(h, IRS, NULL, &iss, NULL);
  th_in(h, (struct utcp_seg){.seq = SEQ(IRS + 1), .ack = utcp_seq_add(iss, 1), .flags = A | P,
                             .wnd = 65535, .payload = (const uint8_t *)"hello", .len = 5});
  CHECK_EQ(th_pending(h), 0); /* delayed */
  CHECK(th_events(h, c) & (1u << UTCP_EV_READABLE));
  th_at(h, 39);
  CHECK_EQ(th_pending(h), 0);
  th_at(h, 42);
  struct utcp_seg o;
  REQUIRE(th_out(h, &o));
  CHECK_EQ(o.flags, A);
  CHECK_EQ(o.ack.v, IRS + 6);
  char buf[16];
  CHECK_EQ(utcp_tcp_recv(h->s, c, buf, sizeof buf, false, h->now), 5);
  CHECK(memcmp(buf, "hello", 5) == 0);
  CHECK_EQ(utcp_tcp_recv(h->s, c, buf, sizeof buf, false, h->now), UTCP_ERR_AGAIN);
  utcp_tcp_abort(h->s, c, h->now);
  CHECK(th_free(h));
}

TEST(test_tcb_established_send_and_ack) {
  struct th *h = th_new(NULL);
  utcp_seq_t iss;
  utcp_conn_t c = th_accept_conn(h, IRS, NULL, &iss, NULL);
  CHECK_EQ(utcp_tcp_send(h->s, c, "abc", 3, h->now), 3);
  struct utcp_seg o;
  REQUIRE(th_out(h, &o));
  CHECK_EQ(o.flags, A | P);
  CHECK_EQ(o.seq.v, iss.v + 1);
  CHECK_EQ(o.len, 3);
  CHECK(memcmp(o.payload, "abc", 3) == 0);
  th_in(h, (struct utcp_seg){.seq = SEQ(IRS + 1), .ack = utcp_seq_add(iss, 4), .flags = A,
                             .wnd = 65535});
  struct utcp_tcp_info info;
  utcp_tcp_info(h->s, c, &info);
  CHECK_EQ(info.unacked, 0);
  CHECK_EQ(info.sndbuf_used, 0);
  utcp_tcp_abort(h->s, c, h->now);
  CHECK(th_free(h));
}

TEST(test_tcb_established_rst_exact_resets) {
  struct th *h = th_new(NULL);
  utcp_seq_t iss;
  utcp_conn_t c = th_accept_conn(h, IRS, NULL, &iss, NULL);
  th_in(h, (struct utcp_seg){.seq = SEQ(IRS + 1), .flags = R});
  CHECK_EQ(utcp_tcp_state(h->s, c), UTCP_TCP_CLOSED);
  CHECK(th_events(h, c) & (1u << UTCP_EV_RESET));
  utcp_tcp_close(h->s, c, h->now);
  CHECK(th_free(h));
}

TEST(test_tcb_established_rst_in_window_challenge) {
  struct th *h = th_new(NULL);
  utcp_seq_t iss;
  utcp_conn_t c = th_accept_conn(h, IRS, NULL, &iss, NULL);
  th_in(h, (struct utcp_seg){.seq = SEQ(IRS + 100), .flags = R});
  CHECK_EQ(utcp_tcp_state(h->s, c), UTCP_TCP_ESTABLISHED);
  struct utcp_seg o;
  REQUIRE(th_out(h, &o));
  CHECK_EQ(o.flags, A); /* RFC 5961 3.2 challenge ACK */
  CHECK_EQ(o.ack.v, IRS + 1);
  CHECK_EQ(th_cov(h, "challenge_ack"), 1);
  utcp_tcp_abort(h->s, c, h->now);
  CHECK(th_free(h));
}

TEST(test_tcb_established_syn_challenge) {
  struct th *h = th_new(NULL);
  utcp_seq_t iss;
  utcp_conn_t c = th_accept_conn(h, IRS, NULL, &iss, NULL);
  th_in(h, (struct utcp_seg){.seq = SEQ(IRS + 1), .flags = S, .wnd = 100});
  CHECK_EQ(utcp_tcp_state(h->s, c), UTCP_TCP_ESTABLISHED);
  struct utcp_seg o;
  REQUIRE(th_out(h, &o));
  CHECK_EQ(o.flags, A);
  CHECK_EQ(th_drops(h, UTCP_DROP_TCP_SYN_CHALLENGED), 1);
  utcp_tcp_abort(h->s, c, h->now);
  CHECK(th_free(h));
}

/* ---- closing ---- */

TEST(test_tcb_established_close_active_to_time_wait) {
  struct th *h = th_new(NULL);
  utcp_seq_t iss;
  utcp_conn_t c = th_accept_conn(h, IRS, NULL, &iss, NULL);
  CHECK_EQ(utcp_tcp_close(h->s, c, h->now), 0);
  struct utcp_seg o;
  REQUIRE(th_out(h, &o));
  CHECK_EQ(o.flags, F | A);
  CHECK_EQ(o.seq.v, iss.v + 1);
  th_in(h, (struct utcp_seg){.seq = SEQ(IRS + 1), .ack = utcp_seq_add(iss, 2), .flags = A,
                             .wnd = 65535});
  th_in(h, (struct utcp_seg){.seq = SEQ(IRS + 1), .ack = utcp_seq_add(iss, 2), .flags = F | A,
                             .wnd = 65535});
  REQUIRE(th_out(h, &o));
  CHECK_EQ(o.flags, A);
  CHECK_EQ(o.ack.v, IRS + 2);
  CHECK_EQ(utcp_tcp_conns_in_use(h->s), 1); /* TIME-WAIT */
  /* A retransmitted FIN is acknowledged again. */
  th_at(h, 1000);
  th_in(h, (struct utcp_seg){.seq = SEQ(IRS + 1), .ack = utcp_seq_add(iss, 2), .flags = F | A,
                             .wnd = 65535});
  REQUIRE(th_out(h, &o));
  CHECK_EQ(o.ack.v, IRS + 2);
  th_at(h, 1000 + 60000 - 5);
  CHECK_EQ(utcp_tcp_conns_in_use(h->s), 1);
  th_at(h, 1000 + 60000 + 5);
  CHECK_EQ(utcp_tcp_conns_in_use(h->s), 0);
  CHECK(th_free(h));
}

TEST(test_tcb_established_fin_passive_close) {
  struct th *h = th_new(NULL);
  utcp_seq_t iss;
  utcp_conn_t c = th_accept_conn(h, IRS, NULL, &iss, NULL);
  th_in(h, (struct utcp_seg){.seq = SEQ(IRS + 1), .ack = utcp_seq_add(iss, 1), .flags = F | A,
                             .wnd = 65535});
  struct utcp_seg o;
  REQUIRE(th_out(h, &o));
  CHECK_EQ(o.ack.v, IRS + 2);
  CHECK_EQ(utcp_tcp_state(h->s, c), UTCP_TCP_CLOSE_WAIT);
  char b[4];
  CHECK_EQ(utcp_tcp_recv(h->s, c, b, 4, false, h->now), 0); /* end of stream */
  CHECK_EQ(utcp_tcp_send(h->s, c, "x", 1, h->now), 1);      /* half-close: still sending */
  REQUIRE(th_out(h, &o));
  CHECK_EQ(o.len, 1);
  CHECK_EQ(utcp_tcp_close(h->s, c, h->now), 0);
  REQUIRE(th_out(h, &o));
  CHECK(o.flags & F);
  th_in(h, (struct utcp_seg){.seq = SEQ(IRS + 2), .ack = utcp_seq_add(iss, 3), .flags = A,
                             .wnd = 65535});
  CHECK_EQ(utcp_tcp_conns_in_use(h->s), 0);
  CHECK(th_free(h));
}

/* RFC 1122 4.2.2.13: data arriving after CLOSE is answered with RST and the TCB goes. */
TEST(test_tcb_fin_wait_1_data_after_close_rst) {
  struct th *h = th_new(NULL);
  utcp_seq_t iss;
  utcp_conn_t c = th_accept_conn(h, IRS, NULL, &iss, NULL);
  CHECK_EQ(utcp_tcp_close(h->s, c, h->now), 0);
  struct utcp_seg o;
  REQUIRE(th_out(h, &o));
  CHECK_EQ(o.flags, F | A);
  th_in(h, (struct utcp_seg){.seq = SEQ(IRS + 1), .ack = utcp_seq_add(iss, 1), .flags = A | P,
                             .wnd = 65535, .payload = (const uint8_t *)"late", .len = 4});
  REQUIRE(th_out(h, &o));
  CHECK(o.flags & R);
  CHECK_EQ(th_drops(h, UTCP_DROP_TCP_DATA_AFTER_CLOSE), 1);
  CHECK_EQ(utcp_tcp_conns_in_use(h->s), 0);
  CHECK(th_free(h));
}

/* RFC 3042 2: the first two duplicate ACKs each release one new segment; the third starts
 * fast retransmit of SND.UNA. */
TEST(test_tcb_established_limited_transmit) {
  struct th *h = th_new(NULL);
  utcp_seq_t iss;
  utcp_conn_t c = th_accept_conn(h, IRS, NULL, &iss, NULL);
  static uint8_t data[12 * 536];
  memset(data, 'd', sizeof data);
  CHECK_EQ(utcp_tcp_send(h->s, c, data, sizeof data, h->now), (int)sizeof data);
  struct utcp_seg o;
  int n = 0;
  while (th_out(h, &o)) n++;
  CHECK_EQ(n, 10); /* IW10 with the default 536-byte MSS */
  utcp_seq_t una = utcp_seq_add(iss, 1);
  struct utcp_seg dup = {.seq = SEQ(IRS + 1), .ack = una, .flags = A, .wnd = 65535};
  th_in(h, dup);
  REQUIRE(th_out(h, &o));
  CHECK_EQ(o.seq.v, una.v + 10 * 536);
  CHECK_EQ(th_pending(h), 0);
  th_in(h, dup);
  REQUIRE(th_out(h, &o));
  CHECK_EQ(o.seq.v, una.v + 11 * 536);
  CHECK_EQ(th_cov(h, "limited_transmit"), 2);
  th_in(h, dup);
  REQUIRE(th_out(h, &o));
  CHECK_EQ(o.seq.v, una.v); /* fast retransmit */
  CHECK_EQ(th_cov(h, "fast_retransmit"), 1);
  utcp_tcp_abort(h->s, c, h->now);
  CHECK(th_free(h));
}

/* RFC 2883 4: a duplicate segment is answered with a D-SACK block naming it, first. */
TEST(test_tcb_established_dsack_for_duplicate) {
  struct th *h = th_new(NULL);
  utcp_seq_t iss;
  struct utcp_tcp_opts opts = {.present = UTCP_OPT_SACK_PERM | UTCP_OPT_MSS, .mss = 1460};
  utcp_conn_t c = th_accept_conn(h, IRS, &opts, &iss, NULL);
  static uint8_t data[100];
  struct utcp_seg d = {.seq = SEQ(IRS + 1), .ack = utcp_seq_add(iss, 1), .flags = A,
                       .wnd = 65535, .payload = data, .len = sizeof data};
  th_in(h, d);
  th_at(h, 100);
  struct utcp_seg o;
  REQUIRE(th_out(h, &o));
  CHECK(!(o.opt.present & UTCP_OPT_SACK));
  th_in(h, d); /* the same segment again */
  REQUIRE(th_out(h, &o));
  CHECK_EQ(o.ack.v, IRS + 101);
  REQUIRE(o.opt.present & UTCP_OPT_SACK);
  CHECK_EQ(o.opt.sack_count, 1);
  CHECK_EQ(o.opt.sack[0].left.v, IRS + 1);
  CHECK_EQ(o.opt.sack[0].right.v, IRS + 101);
  /* The D-SACK is sent once. */
  th_in(h, (struct utcp_seg){.seq = SEQ(IRS + 101), .ack = utcp_seq_add(iss, 1), .flags = A,
                             .wnd = 65535, .payload = data, .len = 50});
  th_at(h, 300);
  REQUIRE(th_out(h, &o));
  CHECK(!(o.opt.present & UTCP_OPT_SACK));
  utcp_tcp_abort(h->s, c, h->now);
  CHECK(th_free(h));
}

/* A segment at RCV.NXT is always taken, even when the reassembly limits are reached: without
 * it the connection could never advance (found by the simulator's swarm, seed 272). */
TEST(test_tcb_established_hole_fill_beats_reass_limit) {
  struct utcp_stack_config cfg;
  th_config(&cfg);
  cfg.tcp.reass_max_ranges = 2;
  struct th *h = th_new(&cfg);
  utcp_seq_t iss;
  utcp_conn_t c = th_accept_conn(h, IRS, NULL, &iss, NULL);
  static uint8_t data[100];
  for (uint32_t k = 1; k <= 3; k++) /* ranges at +200, +400, +600: the third is refused */
    th_in(h, (struct utcp_seg){.seq = SEQ(IRS + 1 + 200 * k), .ack = utcp_seq_add(iss, 1),
                               .flags = A, .wnd = 65535, .payload = data, .len = 100});
  CHECK_EQ(th_drops(h, UTCP_DROP_TCP_REASS_FULL), 1);
  th_in(h, (struct utcp_seg){.seq = SEQ(IRS + 1), .ack = utcp_seq_add(iss, 1), .flags = A,
                             .wnd = 65535, .payload = data, .len = 100});
  struct utcp_tcp_info info;
  utcp_tcp_info(h->s, c, &info);
  CHECK_EQ(info.rcv_nxt, IRS + 101);
  CHECK_EQ(utcp_tcp_readable(h->s, c), 100);
  utcp_tcp_abort(h->s, c, h->now);
  CHECK(th_free(h));
}

TEST_MAIN(TEST_CASE(test_tcb_closed_syn_gets_rst_ack), TEST_CASE(test_tcb_closed_ack_gets_rst),
          TEST_CASE(test_tcb_closed_rst_ignored), TEST_CASE(test_tcb_listen_syn_handshake),
          TEST_CASE(test_tcb_listen_ack_gets_rst), TEST_CASE(test_tcb_syn_sent_synack_establishes),
          TEST_CASE(test_tcb_syn_sent_rst_without_ack_ignored),
          TEST_CASE(test_tcb_syn_sent_rto_backoff_then_timeout),
          TEST_CASE(test_tcb_established_data_delayed_ack),
          TEST_CASE(test_tcb_established_send_and_ack),
          TEST_CASE(test_tcb_established_rst_exact_resets),
          TEST_CASE(test_tcb_established_rst_in_window_challenge),
          TEST_CASE(test_tcb_established_syn_challenge),
          TEST_CASE(test_tcb_established_close_active_to_time_wait),
          TEST_CASE(test_tcb_established_fin_passive_close),
          TEST_CASE(test_tcb_fin_wait_1_data_after_close_rst),
          TEST_CASE(test_tcb_established_limited_transmit),
          TEST_CASE(test_tcb_established_dsack_for_duplicate),
          TEST_CASE(test_tcb_established_hole_fill_beats_reass_limit))
