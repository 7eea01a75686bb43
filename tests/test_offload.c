/* Checksum offload (stack config rx_l4_cksum_checked / tx_l4_cksum_offload): what a DPDK
 * platform switches on when its NIC verifies and fills in TCP checksums. Off by default, and
 * never on in the simulator. */
#include <string.h>

#include "core/cksum.h"
#include "core/wire.h"
#include "tcb_util.h"
#include "test.h"

/* The segment utcp_tcp_emit_ex writes for offload, once a NIC has summed it (field included)
 * and stored the complement, is byte for byte what the software checksum gives. */
TEST(test_offload_tx_field_completes_to_the_checksum) {
  static uint8_t payload[999];
  for (size_t i = 0; i < sizeof payload; i++) payload[i] = (uint8_t)(i * 7 + 3);
  struct utcp_seg seg = {.sport = 80, .dport = 40000, .seq = SEQ(12345), .ack = SEQ(678),
                         .flags = A | P, .wnd = 1000, .payload = payload, .len = sizeof payload};
  seg.opt.present = UTCP_OPT_TS;
  seg.opt.ts_val = 1, seg.opt.ts_ecr = 2;
  for (size_t len = 0; len <= sizeof payload; len += 333) {
    seg.len = len;
    uint8_t full[1100], off[1100];
    size_t n = utcp_tcp_emit(&seg, 0x0a000001u, 0x0a000002u, full, sizeof full);
    CHECK_EQ(utcp_tcp_emit_ex(&seg, 0x0a000001u, 0x0a000002u, off, sizeof off, false), n);
    CHECK(memcmp(off, full, 16) == 0 && memcmp(off + 18, full + 18, n - 18) == 0);
    CHECK(memcmp(off + 16, full + 16, 2) != 0);
    uint16_t nic = utcp_cksum(off, n);
    memcpy(off + 16, &nic, 2);
    CHECK(memcmp(off, full, n) == 0);
  }
}

static void syn_with_bad_cksum(struct th *h) {
  struct utcp_seg syn = {.sport = TH_PEER_PORT, .dport = TH_LOCAL_PORT, .seq = SEQ(IRS),
                         .flags = S, .wnd = 65535};
  uint8_t f[200];
  static const struct utcp_mac local = {{0x02, 0, 0, 0, 0, 1}}, peer = {{0x02, 0, 0, 0, 0, 2}};
  struct utcp_eth eth = {.dst = local, .src = peer, .type = UTCP_ETHERTYPE_IPV4};
  size_t n = utcp_eth_emit(&eth, f, sizeof f);
  size_t tl = utcp_tcp_emit(&syn, TH_PEER_IP, TH_LOCAL_IP, f + n + UTCP_IPV4_HLEN,
                            sizeof f - n - UTCP_IPV4_HLEN);
  f[n + UTCP_IPV4_HLEN + 16] ^= 0x5a; /* the TCP checksum is wrong now */
  struct utcp_ipv4 ip = {.ttl = 64, .proto = UTCP_IPPROTO_TCP, .src = TH_PEER_IP,
                         .dst = TH_LOCAL_IP, .payload_len = tl, .frag = UTCP_IPV4_DF};
  n += utcp_ipv4_emit(&ip, f + n, sizeof f - n);
  utcp_stack_input(h->s, f, n + tl, h->now);
}

TEST(test_offload_rx_default_verifies) {
  struct th *h = th_new(NULL);
  utcp_conn_t l;
  CHECK_EQ(utcp_tcp_listen(h->s, TH_LOCAL_PORT, 4, &l), 0);
  syn_with_bad_cksum(h);
  CHECK_EQ(th_pending(h), 0);
  CHECK_EQ(th_drops(h, UTCP_DROP_TCP_BAD_CKSUM), 1);
  utcp_tcp_close(h->s, l, h->now);
  CHECK(th_free(h));
}

TEST(test_offload_rx_checked_by_the_nic_is_trusted) {
  struct utcp_stack_config cfg;
  th_config(&cfg);
  cfg.rx_l4_cksum_checked = true;
  struct th *h = th_new(&cfg);
  utcp_conn_t l;
  CHECK_EQ(utcp_tcp_listen(h->s, TH_LOCAL_PORT, 4, &l), 0);
  syn_with_bad_cksum(h); /* the platform vouched for it: a NIC would have dropped a bad one */
  struct utcp_seg o;
  CHECK(th_out(h, &o) && o.flags == (S | A));
  CHECK_EQ(th_drops(h, UTCP_DROP_TCP_BAD_CKSUM), 0);
  utcp_tcp_close(h->s, l, h->now);
  th_at(h, 200000);
  th_clear(h);
  CHECK(th_free(h));
}

TEST_MAIN(TEST_CASE(test_offload_tx_field_completes_to_the_checksum),
          TEST_CASE(test_offload_rx_default_verifies),
          TEST_CASE(test_offload_rx_checked_by_the_nic_is_trusted))
