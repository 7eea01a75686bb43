/* Protocol bugs the fuzz campaign found (docs/fuzzing.md "Campaign"), each as a plain unit test
 * next to its minimised input in fuzz/regressions/<target>/. Every test ends with the leak
 * check. */
#include "tcb_util.h"

static int state(struct est *e) { return utcp_tcp_state(e->h->s, e->c); }

/* fuzz/regressions/tcb/shutdown-wr-fin-wait-2-then-close-never-times-out: the application
 * shuts down sending, the peer acknowledges the FIN (FIN-WAIT-2, the handle still held, so no
 * timer: the peer may send data for as long as it likes), then the application closes. The
 * orphan must not wait for the peer's FIN for ever: as for a close before the FIN was
 * acknowledged (process_ack), it is deleted after 2*MSL (Linux: tcp_fin_timeout; RFC 9293
 * 3.10.7.4 leaves FIN-WAIT-2 open-ended only for a user who can still receive). */
TEST(test_fuzz_fin_wait_2_close_after_shutdown_times_out) {
  struct est e = est_open(NULL, 0);
  REQUIRE(utcp_tcp_shutdown(e.h->s, e.c, UTCP_SHUT_WR, e.h->now) == 0);
  struct utcp_seg o;
  EXPECT_SEG(e.h, 0, o, F | A, e.snd, e.rcv);
  seg_in(e.h, 100, PEER(.seq = SEQ(e.rcv), .ack = SEQ(e.snd + 1)));
  REQUIRE(state(&e) == UTCP_TCP_FIN_WAIT_2);
  th_at(e.h, 200);
  REQUIRE(utcp_tcp_close(e.h->s, e.c, e.h->now) == 0);
  CHECK_EQ(utcp_tcp_conns_in_use(e.h->s), 1);
  uint64_t two_msl_ms = 2 * utcp_stack_config(e.h->s)->tcp.msl_ns / 1000000u;
  th_at(e.h, 200 + two_msl_ms - 1);
  CHECK_EQ(utcp_tcp_conns_in_use(e.h->s), 1);
  th_at(e.h, 200 + two_msl_ms);
  CHECK_EQ(utcp_tcp_conns_in_use(e.h->s), 0);
  CHECK_EQ(th_pending(e.h), 0);
  CHECK(th_free(e.h));
}

/* fuzz/regressions/config/static-arp-*: utcp_stack_config_check passed a static ARP entry that
 * utcp_stack_new (utcp_arp_add_static) refused, so a config file could load and then fail to
 * build a stack with no word of why. The check now refuses what the ARP table refuses. */
TEST(test_fuzz_static_arp_checked_like_stack_new) {
  struct utcp_stack_config c;
  th_config(&c);
  REQUIRE(utcp_stack_config_check(&c) == 0);
  REQUIRE(c.static_arp_count < UTCP_MAX_STATIC_ARP && c.static_arp_count < c.arp_entries);
  struct utcp_static_arp *a = &c.static_arp[c.static_arp_count++];
  a->ip = 0x0a000063;
  a->mac = (struct utcp_mac){{0x02, 0, 0, 0, 0, 0x63}};
  CHECK_EQ(utcp_stack_config_check(&c), 0);
  a->mac.b[0] = 0x01; /* multicast */
  CHECK_EQ(utcp_stack_config_check(&c), UTCP_ERR_INVAL);
  a->mac.b[0] = 0x02;
  a->ip = 0;
  CHECK_EQ(utcp_stack_config_check(&c), UTCP_ERR_INVAL);
  /* Whatever the check accepts, utcp_stack_new builds. */
  a->ip = 0x0a000063;
  struct th *h = th_new(&c);
  REQUIRE(h != NULL);
  CHECK(th_free(h));
}

TEST_MAIN(TEST_CASE(test_fuzz_fin_wait_2_close_after_shutdown_times_out),
          TEST_CASE(test_fuzz_static_arp_checked_like_stack_new))
