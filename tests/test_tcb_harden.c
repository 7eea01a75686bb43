/* Hardening limits of the TCB (docs/tcp.md "Hardening"): the zero-window reclaim. RFC 9293
 * 3.8.6.1 lets a window stay closed indefinitely (MAY-8) and keeps the connection open while
 * probes are answered (MUST-37), "subject to the implementation's resource management
 * concerns" (RFC 6429): a connection holding buffers stalled on a zero window for
 * cfg.tcp.zero_window_timeout_ns is aborted with a RST, ETIMEDOUT and a counter. Every test
 * ends with the leak check. */
#include "tcb_util.h"

static const struct utcp_counters *ctr(const struct th *h) { return utcp_stack_counters(h->s); }

static bool done(struct est *e) {
  utcp_tcp_abort(e->h->s, e->c, e->h->now);
  th_clear(e->h);
  return th_free(e->h);
}

/* An established connection whose stack aborts zero-window stalls after zw_ms (0: never). */
static struct est est_zw(uint64_t zw_ms, uint32_t rcvbuf) {
  struct utcp_stack_config cfg;
  th_config(&cfg);
  cfg.tcp.zero_window_timeout_ns = zw_ms * MS_NS;
  if (rcvbuf) cfg.tcp.rcvbuf_bytes = rcvbuf;
  return est_open(&cfg, 0);
}

/* Answers every probe the stack sent up to t_ms with a zero window; returns probes seen. */
static int answer_probes(struct est *e, uint64_t t_ms, uint32_t acked) {
  struct utcp_seg o;
  int n = 0;
  th_at(e->h, t_ms);
  while (th_out(e->h, &o)) {
    if (o.flags & R) break;
    n++;
    th_in(e->h, PEER(.seq = SEQ(e->rcv), .ack = SEQ(acked), .wnd = 0));
  }
  return n;
}

/* The peer's window stays closed on data we hold: probes go out and are answered (MUST-37
 * keeps the connection), but after zero_window_timeout the connection is reclaimed: a RST,
 * ETIMEDOUT to the application, the counter, every chunk back in the pool. */
TEST(test_tcb_established_zero_window_peer_stall_aborts) {
  struct est e = est_zw(10000, 0);
  seg_in(e.h, 0, PEER(.seq = SEQ(e.rcv), .ack = SEQ(e.snd), .wnd = 0));
  CHECK_EQ(utcp_tcp_send(e.h->s, e.c, pat(0), 5000, e.h->now), 5000);
  CHECK(utcp_tcp_chunks_in_use(e.h->s) > 0);
  int probes = 0;
  for (uint64_t t = 500; t < 10000; t += 500) probes += answer_probes(&e, t, e.snd);
  CHECK(probes >= 3); /* 1, 3, 7 s */
  CHECK_EQ(utcp_tcp_state(e.h->s, e.c), UTCP_TCP_ESTABLISHED);
  CHECK_EQ(ctr(e.h)->tcp_zw_abort_peer, 0);
  th_at(e.h, 9999);
  th_clear(e.h);
  struct utcp_seg o;
  EXPECT_SEG(e.h, 10000, o, R | A, e.snd, e.rcv);
  CHECK_EQ(utcp_tcp_state(e.h->s, e.c), UTCP_TCP_CLOSED);
  CHECK(th_events(e.h, e.c) & EV(UTCP_EV_ERROR));
  char buf[16];
  CHECK_EQ(utcp_tcp_recv(e.h->s, e.c, buf, sizeof buf, false, e.h->now), UTCP_ERR_TIMEDOUT);
  CHECK_EQ(ctr(e.h)->tcp_zw_abort_peer, 1);
  CHECK_EQ(ctr(e.h)->tcp_zw_abort_local, 0);
  CHECK_EQ(th_cov(e.h, "zero_window_abort"), 1);
  CHECK_EQ(utcp_tcp_chunks_in_use(e.h->s), 0);
  CHECK_EQ(seg_none(e.h, 100000), 0);
  CHECK(done(&e));
}

/* Persist probing keeps working for a peer that does reopen: each reopening ends the stall,
 * so two 8 s zero-window episodes under a 10 s limit never abort, and every byte goes. */
TEST(test_tcb_established_zero_window_reopen_survives) {
  struct est e = est_zw(10000, 0);
  seg_in(e.h, 0, PEER(.seq = SEQ(e.rcv), .ack = SEQ(e.snd), .wnd = 0));
  CHECK_EQ(utcp_tcp_send(e.h->s, e.c, pat(0), 3000, e.h->now), 3000);
  CHECK(answer_probes(&e, 8000, e.snd) >= 3);
  /* Reopens for 1000 bytes, which the stack sends; then closes again on what is left. */
  seg_in(e.h, 8100, PEER(.seq = SEQ(e.rcv), .ack = SEQ(e.snd), .wnd = 1000));
  struct utcp_seg o;
  REQUIRE(th_out(e.h, &o));
  CHECK_EQ(o.seq.v, e.snd);
  CHECK_EQ(o.len, 1000);
  th_clear(e.h);
  seg_in(e.h, 8150, PEER(.seq = SEQ(e.rcv), .ack = SEQ(e.snd + 1000), .wnd = 0));
  CHECK(answer_probes(&e, 16000, e.snd + 1000) >= 2);
  CHECK_EQ(utcp_tcp_state(e.h->s, e.c), UTCP_TCP_ESTABLISHED); /* 16 s: past 8 + 10 is not yet */
  seg_in(e.h, 16100, PEER(.seq = SEQ(e.rcv), .ack = SEQ(e.snd + 1000), .wnd = 60000));
  /* What is left goes, each segment acknowledged as it arrives (Nagle holds the tail). */
  uint32_t sent = 0;
  for (uint64_t t = 16100; t < 16200 && sent < 2000; t += 10) {
    th_at(e.h, t);
    while (th_out(e.h, &o)) sent += (uint32_t)o.len;
    seg_in(e.h, t + 5, PEER(.seq = SEQ(e.rcv), .ack = SEQ(e.snd + 1000 + sent), .wnd = 60000));
  }
  CHECK_EQ(sent, 2000);
  CHECK_EQ(tinfo(e.h, e.c).unacked, 0);
  CHECK_EQ(seg_none(e.h, 100000), 0);
  CHECK_EQ(utcp_tcp_state(e.h->s, e.c), UTCP_TCP_ESTABLISHED);
  CHECK_EQ(ctr(e.h)->tcp_zw_abort_peer, 0);
  CHECK(th_cov(e.h, "persist_probe") >= 5);
  CHECK(done(&e));
}

/* Our window is closed because the application never reads a full receive buffer: the peer's
 * probes are answered with window 0 until the limit, then the connection is reclaimed and the
 * unread data freed at once (the handle stays until the application closes it). */
TEST(test_tcb_established_zero_window_local_stall_aborts) {
  struct est e = est_zw(5000, 4096);
  seg_in(e.h, 0, PEER(.seq = SEQ(e.rcv), .ack = SEQ(e.snd), .payload = pat(0), .len = 1460));
  seg_in(e.h, 1, PEER(.seq = SEQ(e.rcv + 1460), .ack = SEQ(e.snd), .payload = pat(1460), .len = 1460));
  seg_in(e.h, 2, PEER(.seq = SEQ(e.rcv + 2920), .ack = SEQ(e.snd), .payload = pat(2920), .len = 1176));
  CHECK_EQ(utcp_tcp_readable(e.h->s, e.c), 4096);
  CHECK_EQ(tinfo(e.h, e.c).rcv_wnd, 0);
  uint32_t nxt = e.rcv + 4096;
  /* Window probes every second, each answered with window 0. */
  for (uint64_t t = 1000; t < 5000; t += 1000) {
    seg_in(e.h, t, PEER(.seq = SEQ(nxt), .ack = SEQ(e.snd), .payload = pat(4096), .len = 1));
    CHECK_EQ(utcp_tcp_state(e.h->s, e.c), UTCP_TCP_ESTABLISHED);
  }
  th_at(e.h, 4999);
  th_clear(e.h);
  struct utcp_seg o;
  EXPECT_SEG(e.h, 5002, o, R | A, e.snd, nxt);
  CHECK_EQ(ctr(e.h)->tcp_zw_abort_local, 1);
  CHECK_EQ(ctr(e.h)->tcp_zw_abort_peer, 0);
  CHECK_EQ(utcp_tcp_chunks_in_use(e.h->s), 0);
  CHECK_EQ(utcp_tcp_readable(e.h->s, e.c), 0);
  char buf[16];
  CHECK_EQ(utcp_tcp_recv(e.h->s, e.c, buf, sizeof buf, false, e.h->now), UTCP_ERR_TIMEDOUT);
  CHECK(done(&e));
}

/* A read ends the stall: the application that reads before the limit keeps its connection,
 * and a new stall starts a new full period. */
TEST(test_tcb_established_zero_window_local_read_restarts) {
  struct est e = est_zw(5000, 4096);
  seg_in(e.h, 0, PEER(.seq = SEQ(e.rcv), .ack = SEQ(e.snd), .payload = pat(0), .len = 1460));
  seg_in(e.h, 1, PEER(.seq = SEQ(e.rcv + 1460), .ack = SEQ(e.snd), .payload = pat(1460), .len = 1460));
  seg_in(e.h, 2, PEER(.seq = SEQ(e.rcv + 2920), .ack = SEQ(e.snd), .payload = pat(2920), .len = 1176));
  th_at(e.h, 4000);
  char buf[4096];
  CHECK_EQ(utcp_tcp_recv(e.h->s, e.c, buf, 1460, false, e.h->now), 1460);
  /* The peer refills the buffer at 4.1 s: a new stall, ending no earlier than 9.1 s. */
  seg_in(e.h, 4100, PEER(.seq = SEQ(e.rcv + 4096), .ack = SEQ(e.snd), .payload = pat(4096), .len = 1460));
  CHECK_EQ(tinfo(e.h, e.c).rcv_wnd, 0);
  th_at(e.h, 9000);
  CHECK_EQ(utcp_tcp_state(e.h->s, e.c), UTCP_TCP_ESTABLISHED);
  CHECK_EQ(ctr(e.h)->tcp_zw_abort_local, 0);
  th_at(e.h, 9200);
  CHECK_EQ(utcp_tcp_state(e.h->s, e.c), UTCP_TCP_CLOSED);
  CHECK_EQ(ctr(e.h)->tcp_zw_abort_local, 1);
  CHECK(done(&e));
}

/* zero_window_timeout 0: strict RFC 9293 MUST-37, the stall lasts as long as probes are
 * answered (two hours here) and the data goes once the window opens. */
TEST(test_tcb_established_zero_window_timeout_off) {
  struct est e = est_zw(0, 0);
  seg_in(e.h, 0, PEER(.seq = SEQ(e.rcv), .ack = SEQ(e.snd), .wnd = 0));
  CHECK_EQ(utcp_tcp_send(e.h->s, e.c, pat(0), 500, e.h->now), 500);
  int probes = 0;
  for (uint64_t t = 60000; t <= 7200000; t += 60000) probes += answer_probes(&e, t, e.snd);
  CHECK(probes > 100);
  CHECK_EQ(utcp_tcp_state(e.h->s, e.c), UTCP_TCP_ESTABLISHED);
  seg_in(e.h, 7200100, PEER(.seq = SEQ(e.rcv), .ack = SEQ(e.snd), .wnd = 1000));
  struct utcp_seg o;
  REQUIRE(th_out(e.h, &o));
  CHECK_EQ(o.len, 500);
  CHECK_EQ(ctr(e.h)->tcp_zw_abort_peer, 0);
  CHECK(done(&e));
}

/* A second connection from the peer's port sport on listener l; its ISS in *iss. */
static utcp_conn_t second_conn(struct th *h, utcp_conn_t l, uint16_t sport, uint32_t *iss) {
  seg_in(h, h->now / MS_NS, PEER(.sport = sport, .flags = S, .seq = SEQ(IRS)));
  struct utcp_seg o;
  if (!th_out(h, &o) || o.flags != (S | A)) return 0;
  *iss = o.seq.v;
  th_in(h, PEER(.sport = sport, .seq = SEQ(IRS + 1), .ack = SEQ(o.seq.v + 1)));
  utcp_conn_t c = 0;
  if (utcp_tcp_accept(h->s, l, &c) != 0) return 0;
  th_events(h, c);
  return c;
}

/* RFC 6429 resource management: when the chunk pool runs dry, a connection stalled on a zero
 * window for at least zero_window_pressure is reclaimed at once (not an hour later), so that
 * stalled connections cannot starve the others; a younger stall is left alone. */
TEST(test_tcb_established_zero_window_pool_pressure_reclaims) {
  struct utcp_stack_config cfg;
  th_config(&cfg);
  cfg.tcp.chunks = 48; /* writes may take 36: a quarter is kept for received data */
  cfg.tcp.zero_window_pressure_ns = 2000 * MS_NS;
  struct th *h = th_new(&cfg);
  utcp_seq_t iss;
  utcp_conn_t l = 0;
  utcp_conn_t a = th_accept_conn(h, IRS, NULL, &iss, &l);
  seg_in(h, 0, PEER(.seq = SEQ(IRS + 1), .ack = SEQ(iss.v + 1), .wnd = 0));
  CHECK_EQ(utcp_tcp_send(h->s, a, pat(0), 65536, h->now), 65536); /* 32 of the 36 */
  uint32_t biss = 0;
  th_at(h, 100);
  utcp_conn_t b = second_conn(h, l, 40001, &biss);
  REQUIRE(b != 0);
  th_clear(h);
  /* 1 s into the stall: the pool runs dry, but the stall is young. */
  th_at(h, 1000);
  CHECK_EQ(utcp_tcp_send(h->s, b, pat(0), 20000, h->now), 8192);
  CHECK_EQ(utcp_tcp_send(h->s, b, pat(0), 20000, h->now), UTCP_ERR_AGAIN);
  CHECK_EQ(utcp_tcp_state(h->s, a), UTCP_TCP_ESTABLISHED);
  /* 3 s: the dry pool reclaims the old stall (a RST to its peer) and b gets buffers: as the
   * timers run, or when b's next write meets the dry pool, whichever comes first. */
  th_clear(h);
  th_at(h, 3000);
  (void)utcp_tcp_send(h->s, b, pat(0), 20000, h->now);
  struct utcp_seg o;
  bool rst = false;
  while (th_out(h, &o)) rst |= o.dport == TH_PEER_PORT && o.flags == (R | A);
  CHECK(rst);
  CHECK_EQ(utcp_tcp_state(h->s, a), UTCP_TCP_CLOSED);
  CHECK_EQ(utcp_stack_counters(h->s)->tcp_zw_abort_pressure, 1);
  CHECK_EQ(utcp_stack_counters(h->s)->tcp_zw_abort_peer, 1);
  CHECK(utcp_tcp_send(h->s, b, pat(0), 20000, h->now) > 0);
  utcp_tcp_abort(h->s, a, h->now);
  utcp_tcp_abort(h->s, b, h->now);
  utcp_tcp_close(h->s, l, h->now);
  th_clear(h);
  CHECK(th_free(h));
}

/* A send that finds the chunk pool dry is back-pressure: UTCP_ERR_AGAIN, writable 0, and a
 * WRITABLE event once a sixteenth of the pool is free again (here: the other connection's data
 * acknowledged), so an edge-triggered writer is not left waiting for ever. */
TEST(test_tcb_established_pool_dry_then_writable) {
  struct utcp_stack_config cfg;
  th_config(&cfg);
  cfg.tcp.chunks = 48; /* writes may take 36: a quarter is kept for received data */
  cfg.tcp.zero_window_pressure_ns = 0;
  struct th *h = th_new(&cfg);
  utcp_seq_t iss;
  utcp_conn_t l = 0;
  utcp_conn_t a = th_accept_conn(h, IRS, NULL, &iss, &l);
  seg_in(h, 0, PEER(.seq = SEQ(IRS + 1), .ack = SEQ(iss.v + 1), .wnd = 0));
  CHECK_EQ(utcp_tcp_send(h->s, a, pat(0), 65536, h->now), 65536);
  uint32_t biss = 0;
  utcp_conn_t b = second_conn(h, l, 40001, &biss);
  REQUIRE(b != 0);
  th_events(h, b);
  CHECK_EQ(utcp_tcp_send(h->s, b, pat(0), 20000, h->now), 8192);
  CHECK_EQ(utcp_tcp_send(h->s, b, pat(0), 20000, h->now), UTCP_ERR_AGAIN);
  CHECK_EQ(utcp_tcp_writable(h->s, b), 0);
  th_clear(h);
  CHECK_EQ(th_events(h, b) & EV(UTCP_EV_WRITABLE), 0);
  /* a's peer opens its window and takes everything: a's chunks go back to the pool. */
  seg_in(h, 100, PEER(.seq = SEQ(IRS + 1), .ack = SEQ(iss.v + 1), .wnd = 65535));
  uint32_t acked = 0;
  uint32_t ev = 0;
  for (uint64_t t = 110; t < 2000 && acked < 65536; t += 10) {
    struct utcp_seg o;
    th_at(h, t);
    while (th_out(h, &o))
      if (o.dport == TH_PEER_PORT) acked = o.seq.v + (uint32_t)o.len - (iss.v + 1);
    seg_in(h, t + 5, PEER(.seq = SEQ(IRS + 1), .ack = SEQ(iss.v + 1 + acked), .wnd = 65535));
    ev |= th_events(h, b);
  }
  CHECK_EQ(acked, 65536);
  CHECK(ev & EV(UTCP_EV_WRITABLE));
  CHECK(utcp_tcp_writable(h->s, b) > 0);
  CHECK(utcp_tcp_send(h->s, b, pat(0), 20000, h->now) > 0);
  utcp_tcp_abort(h->s, a, h->now);
  utcp_tcp_abort(h->s, b, h->now);
  utcp_tcp_close(h->s, l, h->now);
  th_clear(h);
  CHECK(th_free(h));
}

/* The classic attack: request data, close the window for ever. An orphan (the application
 * closed with data queued, FIN-WAIT-1) is freed entirely at the limit. */
TEST(test_tcb_fin_wait_1_orphan_zero_window_reclaimed) {
  struct est e = est_zw(20000, 0);
  seg_in(e.h, 0, PEER(.seq = SEQ(e.rcv), .ack = SEQ(e.snd), .wnd = 0));
  CHECK_EQ(utcp_tcp_send(e.h->s, e.c, pat(0), 8000, e.h->now), 8000);
  CHECK_EQ(utcp_tcp_close(e.h->s, e.c, e.h->now), 0);
  CHECK_EQ(utcp_tcp_conns_in_use(e.h->s), 1);
  for (uint64_t t = 1000; t < 20000; t += 1000) answer_probes(&e, t, e.snd);
  CHECK_EQ(utcp_tcp_conns_in_use(e.h->s), 1);
  th_at(e.h, 20001);
  CHECK_EQ(utcp_tcp_conns_in_use(e.h->s), 0);
  CHECK_EQ(utcp_tcp_chunks_in_use(e.h->s), 0);
  CHECK_EQ(ctr(e.h)->tcp_zw_abort_peer, 1);
  th_clear(e.h);
  CHECK(th_free(e.h));
}

/* ---- blind attacks (RFC 5961) and forged ACK floods ---- */

/* RFC 5961 4.2: a SYN out of the window is answered as a SYN in it, with a challenge ACK under
 * the stack-wide limit of RFC 5961 7 (not an unlimited ACK from the first check). */
TEST(test_tcb_established_syn_out_of_window_challenge_limited) {
  struct utcp_stack_config cfg;
  th_config(&cfg);
  cfg.tcp.challenge_ack_limit = 3;
  struct est e = est_open(&cfg, 0);
  th_at(e.h, 10);
  for (uint32_t i = 0; i < 10; i++)
    th_in(e.h, PEER(.flags = S, .seq = SEQ(e.rcv + 0x40000000u + i * 7919u), .ack = SEQ(0)));
  CHECK_EQ(th_pending(e.h), 3);
  struct utcp_seg o;
  EXPECT_SEG(e.h, 10, o, A, e.snd, e.rcv);
  CHECK_EQ(th_cov(e.h, "challenge_ack"), 3);
  CHECK_EQ(th_cov(e.h, "challenge_ack_limited"), 7);
  CHECK_EQ(utcp_tcp_state(e.h->s, e.c), UTCP_TCP_ESTABLISHED);
  CHECK_EQ(ctr(e.h)->tcp_estab_resets, 0);
  CHECK(done(&e));
}

/* RFC 5961 7: "the values for both the time and number of ACKs SHOULD be tunable": 2 challenge
 * ACKs per 5 s; in-window RSTs past the budget get nothing until the interval has passed. */
TEST(test_tcb_established_challenge_ack_interval_tunable) {
  struct utcp_stack_config cfg;
  th_config(&cfg);
  cfg.tcp.challenge_ack_limit = 2;
  cfg.tcp.challenge_ack_interval_ns = 5000 * MS_NS;
  struct est e = est_open(&cfg, 0);
  for (uint32_t i = 1; i <= 3; i++) seg_in(e.h, 10 * i, PEER(.flags = R, .seq = SEQ(e.rcv + i)));
  CHECK_EQ(th_pending(e.h), 2);
  th_clear(e.h);
  seg_in(e.h, 4000, PEER(.flags = R, .seq = SEQ(e.rcv + 4)));
  CHECK_EQ(th_pending(e.h), 0);
  seg_in(e.h, 5010, PEER(.flags = R, .seq = SEQ(e.rcv + 5)));
  struct utcp_seg o;
  EXPECT_SEG(e.h, 5010, o, A, e.snd, e.rcv);
  CHECK_EQ(th_cov(e.h, "challenge_ack"), 3);
  CHECK_EQ(th_cov(e.h, "challenge_ack_limited"), 2);
  CHECK_EQ(th_drops(e.h, UTCP_DROP_TCP_RST_CHALLENGED), 5);
  CHECK_EQ(utcp_tcp_state(e.h->s, e.c), UTCP_TCP_ESTABLISHED);
  CHECK(done(&e));
}

/* Forged pure ACKs out of the window: one answer per oow_ack_interval per connection (the rest
 * counted as TcpExtTCPACKSkippedSeq); out-of-window data is always answered (its duplicate
 * ACK drives the peer's recovery), and the limit refills after the interval. */
TEST(test_tcb_established_oow_ack_flood_limited) {
  struct est e = est_open(NULL, 0);
  th_at(e.h, 10);
  for (uint32_t i = 0; i < 100; i++)
    th_in(e.h, PEER(.seq = SEQ(e.rcv + 0x80000000u + i), .ack = SEQ(e.snd)));
  CHECK_EQ(th_pending(e.h), 1);
  CHECK_EQ(ctr(e.h)->tcp_oow_ack_skipped, 99);
  CHECK_EQ(th_drops(e.h, UTCP_DROP_TCP_OUT_OF_WINDOW), 100);
  th_clear(e.h);
  seg_in(e.h, 20, PEER(.seq = SEQ(e.rcv - 100), .ack = SEQ(e.snd), .payload = pat(0), .len = 100));
  CHECK_EQ(th_pending(e.h), 1);
  th_clear(e.h);
  seg_in(e.h, 511, PEER(.seq = SEQ(e.rcv + 0x80000000u), .ack = SEQ(e.snd)));
  CHECK_EQ(th_pending(e.h), 1);
  CHECK_EQ(utcp_tcp_state(e.h->s, e.c), UTCP_TCP_ESTABLISHED);
  CHECK(done(&e));
}

/* ---- ARP under a spoofed SYN flood (RFC 826, RFC 1122 2.3.2) ---- */

/* Answering spoofed sources fills the ARP table with next hops that never answer. A host
 * that then asks for us must still be learned (a pending entry gives way), or the SYN-ACK to
 * a real client could never be sent. */
TEST(test_arp_full_table_learns_asking_host) {
  struct utcp_stack_config cfg;
  th_config(&cfg);
  cfg.arp_entries = 4; /* the peer's static entry and three more */
  struct th *h = th_new(&cfg);
  th_at(h, 1);
  for (uint32_t i = 0; i < 5; i++) utcp_stack_ping(h->s, 0x0a000010u + i, 1, 1, 8, h->now);
  CHECK_EQ(th_drops(h, UTCP_DROP_ARP_TABLE_FULL), 2);
  uint8_t frame[64];
  struct utcp_mac mac = {{0x02, 0, 0, 0, 0, 0x50}};
  struct utcp_eth eth = {.dst = utcp_mac_broadcast, .src = mac, .type = UTCP_ETHERTYPE_ARP};
  struct utcp_arp arp = {.op = UTCP_ARP_REQUEST, .sha = mac, .spa = 0x0a000050u,
                         .tpa = TH_LOCAL_IP};
  size_t n = utcp_eth_emit(&eth, frame, sizeof frame);
  n += utcp_arp_emit(&arp, frame + n, sizeof frame - n);
  utcp_stack_input(h->s, frame, n, h->now);
  struct utcp_mac got;
  CHECK_EQ(utcp_arp_lookup(h->s, 0x0a000050u, &got), 0);
  CHECK(utcp_mac_eq(&got, &mac));
  CHECK_EQ(utcp_stack_counters(h->s)->arp_pending_evicted, 1);
  CHECK_EQ(utcp_stack_counters(h->s)->arp_out_replies, 1);
  CHECK_EQ(utcp_arp_lookup(h->s, TH_PEER_IP, &got), 0); /* static entries never give way */
  th_at(h, 10000);
  th_clear(h);
  CHECK(th_free(h));
}

TEST_MAIN(TEST_CASE(test_arp_full_table_learns_asking_host),
          TEST_CASE(test_tcb_established_syn_out_of_window_challenge_limited),
          TEST_CASE(test_tcb_established_oow_ack_flood_limited),
          TEST_CASE(test_tcb_established_challenge_ack_interval_tunable),
          TEST_CASE(test_tcb_established_zero_window_peer_stall_aborts),
          TEST_CASE(test_tcb_established_zero_window_reopen_survives),
          TEST_CASE(test_tcb_established_zero_window_local_stall_aborts),
          TEST_CASE(test_tcb_established_zero_window_local_read_restarts),
          TEST_CASE(test_tcb_established_zero_window_timeout_off),
          TEST_CASE(test_tcb_fin_wait_1_orphan_zero_window_reclaimed),
          TEST_CASE(test_tcb_established_zero_window_pool_pressure_reclaims),
          TEST_CASE(test_tcb_established_pool_dry_then_writable))
