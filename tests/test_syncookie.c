/* SYN cookies (RFC 4987 3.6): stateless SYN-ACKs when the SYN queue is full, connections
 * rebuilt from a valid returning ACK, forged or stale cookies refused. */
#include <string.h>

#include "core/tcp.h"
#include "tcp_harness.h"
#include "test.h"

#define SEQ(x) utcp_seq(x)
#define A UTCP_TCP_ACK
#define S UTCP_TCP_SYN
#define R UTCP_TCP_RST

static struct th *cookie_stack(utcp_conn_t *l) {
  struct utcp_stack_config cfg;
  th_config(&cfg);
  cfg.tcp.syn_backlog = 1;
  struct th *h = th_new(&cfg);
  if (utcp_tcp_listen(h->s, TH_LOCAL_PORT, 8, l) != 0) abort();
  /* One embryo fills the SYN queue. */
  th_in(h, (struct utcp_seg){.sport = 50000, .seq = SEQ(1), .flags = S, .wnd = 65535});
  th_clear(h);
  return h;
}

static const struct utcp_tcp_opts all_opts = {
    .present = UTCP_OPT_MSS | UTCP_OPT_WSCALE | UTCP_OPT_SACK_PERM | UTCP_OPT_TS,
    .mss = 1460, .wscale = 7, .ts_val = 5000};

TEST(test_syncookie_full_synq_answers_statelessly) {
  utcp_conn_t l, c;
  struct th *h = cookie_stack(&l);
  uint32_t before = utcp_tcp_conns_in_use(h->s);
  th_in(h, (struct utcp_seg){.seq = SEQ(777), .flags = S, .wnd = 65535, .opt = all_opts});
  struct utcp_seg o;
  REQUIRE(th_out(h, &o));
  CHECK_EQ(o.flags, S | A);
  CHECK_EQ(o.ack.v, 778);
  CHECK(o.opt.present & UTCP_OPT_TS);
  CHECK(o.opt.present & UTCP_OPT_WSCALE);
  CHECK(o.opt.present & UTCP_OPT_SACK_PERM);
  CHECK_EQ(utcp_tcp_conns_in_use(h->s), before); /* nothing kept */
  CHECK_EQ(utcp_stack_counters(h->s)->tcp_syncookies_sent, 1);
  /* The returning ACK (with data) completes it. */
  th_in(h, (struct utcp_seg){.seq = SEQ(778), .ack = utcp_seq_add(o.seq, 1), .flags = A,
                             .wnd = 1000,
                             .opt = {.present = UTCP_OPT_TS, .ts_val = 5001, .ts_ecr = o.opt.ts_val},
                             .payload = (const uint8_t *)"hi", .len = 2});
  CHECK_EQ(utcp_stack_counters(h->s)->tcp_syncookies_recv, 1);
  REQUIRE(utcp_tcp_accept(h->s, l, &c) == 0);
  struct utcp_tcp_info info;
  REQUIRE(utcp_tcp_info(h->s, c, &info) == 0);
  CHECK_EQ(info.state, UTCP_TCP_ESTABLISHED);
  CHECK(info.ts_ok);
  CHECK(info.sack_ok);
  CHECK_EQ(info.snd_wscale, 7);
  CHECK_EQ(info.snd_mss, 1460 - 12);
  CHECK_EQ(info.snd_wnd, 1000u << 7);
  char buf[4];
  CHECK_EQ(utcp_tcp_recv(h->s, c, buf, sizeof buf, false, h->now), 2);
  CHECK(memcmp(buf, "hi", 2) == 0);
  /* Our later timestamps never go below the cookie's (the peer's PAWS would drop them). */
  CHECK_EQ(utcp_tcp_send(h->s, c, "x", 1, h->now), 1);
  struct utcp_seg d;
  while (th_out(h, &d) && d.len == 0) {
  }
  CHECK_EQ(d.len, 1);
  CHECK((int32_t)(d.opt.ts_val - o.opt.ts_val) >= 0);
  utcp_tcp_abort(h->s, c, h->now);
  utcp_tcp_close(h->s, l, h->now);
  CHECK(th_free(h));
}

TEST(test_syncookie_without_timestamps_loses_ws_and_sack) {
  utcp_conn_t l, c;
  struct th *h = cookie_stack(&l);
  struct utcp_tcp_opts opts = all_opts;
  opts.present &= (uint8_t)~UTCP_OPT_TS;
  opts.mss = 1300;
  th_in(h, (struct utcp_seg){.seq = SEQ(9), .flags = S, .wnd = 65535, .opt = opts});
  struct utcp_seg o;
  REQUIRE(th_out(h, &o));
  CHECK_EQ(o.opt.present, UTCP_OPT_MSS);
  th_in(h, (struct utcp_seg){.seq = SEQ(10), .ack = utcp_seq_add(o.seq, 1), .flags = A,
                             .wnd = 65535});
  REQUIRE(utcp_tcp_accept(h->s, l, &c) == 0);
  struct utcp_tcp_info info;
  utcp_tcp_info(h->s, c, &info);
  CHECK(!info.ts_ok && !info.sack_ok);
  CHECK_EQ(info.snd_wscale, 0);
  CHECK_EQ(info.snd_mss, 1220); /* rounded down to the cookie's MSS table */
  utcp_tcp_abort(h->s, c, h->now);
  utcp_tcp_close(h->s, l, h->now);
  CHECK(th_free(h));
}

TEST(test_syncookie_forged_and_stale_refused) {
  utcp_conn_t l, c;
  struct th *h = cookie_stack(&l);
  th_in(h, (struct utcp_seg){.seq = SEQ(100), .flags = S, .wnd = 65535});
  struct utcp_seg o;
  REQUIRE(th_out(h, &o));
  /* A wrong cookie is an ACK in LISTEN: RST. */
  th_in(h, (struct utcp_seg){.seq = SEQ(101), .ack = utcp_seq_add(o.seq, 2), .flags = A,
                             .wnd = 65535});
  struct utcp_seg r;
  REQUIRE(th_out(h, &r));
  CHECK_EQ(r.flags, R);
  CHECK_EQ(utcp_stack_counters(h->s)->tcp_syncookies_failed, 1);
  CHECK_EQ(utcp_tcp_accept(h->s, l, &c), UTCP_ERR_AGAIN);
  /* The right cookie, too late (more than two 64 s periods). */
  th_at(h, 200 * 1000);
  th_clear(h);
  th_in(h, (struct utcp_seg){.seq = SEQ(101), .ack = utcp_seq_add(o.seq, 1), .flags = A,
                             .wnd = 65535});
  REQUIRE(th_out(h, &r));
  CHECK_EQ(r.flags, R);
  CHECK_EQ(utcp_tcp_accept(h->s, l, &c), UTCP_ERR_AGAIN);
  utcp_tcp_close(h->s, l, h->now);
  CHECK(th_free(h));
}

TEST(test_syncookie_disabled_drops) {
  struct utcp_stack_config cfg;
  th_config(&cfg);
  cfg.tcp.syn_backlog = 1;
  cfg.tcp.syncookies = false;
  struct th *h = th_new(&cfg);
  utcp_conn_t l;
  REQUIRE(utcp_tcp_listen(h->s, TH_LOCAL_PORT, 8, &l) == 0);
  th_in(h, (struct utcp_seg){.sport = 50000, .seq = SEQ(1), .flags = S, .wnd = 65535});
  th_clear(h);
  th_in(h, (struct utcp_seg){.seq = SEQ(5), .flags = S, .wnd = 65535});
  CHECK_EQ(th_pending(h), 0);
  CHECK_EQ(th_drops(h, UTCP_DROP_TCP_LISTEN_OVERFLOW), 1);
  utcp_tcp_close(h->s, l, h->now);
  th_at(h, 200 * 1000);
  CHECK(th_free(h));
}

TEST_MAIN(TEST_CASE(test_syncookie_full_synq_answers_statelessly),
          TEST_CASE(test_syncookie_without_timestamps_loses_ws_and_sack),
          TEST_CASE(test_syncookie_forged_and_stale_refused), TEST_CASE(test_syncookie_disabled_drops))
