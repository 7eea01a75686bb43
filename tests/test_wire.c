/* Wire formats: emit -> parse round trips, real captured bytes, every truncation and malformed
 * field mapped to its drop reason, single-bit flips, and random bytes into every parser (under
 * ASan in the debug preset, with buffers allocated to their exact length). */
#include <ctype.h>

#include "core/cksum.h"
#include "core/drop.h"
#include "core/rng.h"
#include "core/wire.h"
#include "tests/test.h"

#define SRC 0x0a000001u /* 10.0.0.1 */
#define DST 0x0a000002u /* 10.0.0.2 */
#define LO 0x7f000001u  /* 127.0.0.1 */

static void fix_ip_cksum(uint8_t *ip) {
  size_t hlen = (size_t)(ip[0] & 0x0f) * 4;
  ip[10] = ip[11] = 0;
  uint16_t ck = utcp_cksum(ip, hlen);
  memcpy(ip + 10, &ck, 2);
}

static void fix_tcp_cksum(uint8_t *tcp, size_t len, uint32_t src, uint32_t dst) {
  tcp[16] = tcp[17] = 0;
  uint32_t s = utcp_cksum_pseudo(src, dst, UTCP_IPPROTO_TCP, (uint16_t)len);
  uint16_t ck = utcp_cksum_finish(utcp_cksum_add(s, tcp, len));
  memcpy(tcp + 16, &ck, 2);
}

static void fix_icmp_cksum(uint8_t *icmp, size_t len) {
  icmp[2] = icmp[3] = 0;
  uint16_t ck = utcp_cksum(icmp, len);
  memcpy(icmp + 2, &ck, 2);
}

static struct utcp_seg seg_tmpl(void) {
  return (struct utcp_seg){
      .sport = 40000,
      .dport = 80,
      .seq = utcp_seq(0x01020304u),
      .ack = utcp_seq(0xfffffff0u),
      .flags = UTCP_TCP_ACK,
      .wnd = 65535,
      .urp = 0,
  };
}

/* ---- Ethernet ---- */

TEST(test_wire_mac) {
  struct utcp_mac a = {{0x02, 0x00, 0x00, 0x00, 0x00, 0x01}};
  struct utcp_mac b = {{0x02, 0x00, 0x00, 0x00, 0x00, 0x02}};
  struct utcp_mac mc = {{0x01, 0x00, 0x5e, 0x00, 0x00, 0xfb}};
  CHECK(utcp_mac_eq(&a, &a));
  CHECK(!utcp_mac_eq(&a, &b));
  CHECK(utcp_mac_is_broadcast(&utcp_mac_broadcast));
  CHECK(utcp_mac_is_multicast(&utcp_mac_broadcast));
  CHECK(!utcp_mac_is_broadcast(&mc));
  CHECK(utcp_mac_is_multicast(&mc));
  CHECK(!utcp_mac_is_multicast(&a));
  CHECK(!utcp_mac_is_broadcast(&a));
  CHECK(!utcp_mac_is_multicast(&utcp_mac_zero));
  CHECK(!utcp_mac_is_broadcast(&utcp_mac_zero));
  for (int i = 0; i < 6; i++) {
    CHECK_EQ(utcp_mac_broadcast.b[i], 0xff);
    CHECK_EQ(utcp_mac_zero.b[i], 0);
    struct utcp_mac almost = utcp_mac_broadcast;
    almost.b[i] = 0xfe;
    CHECK(!utcp_mac_is_broadcast(&almost));
    CHECK(!utcp_mac_eq(&almost, &utcp_mac_broadcast));
  }
}

TEST(test_wire_eth_roundtrip) {
  struct utcp_eth e = {.dst = {{0x02, 1, 2, 3, 4, 5}}, .src = {{0x02, 6, 7, 8, 9, 10}},
                       .type = UTCP_ETHERTYPE_ARP};
  uint8_t buf[60];
  memset(buf, 0xee, sizeof buf);
  CHECK_EQ(utcp_eth_emit(&e, buf, 13), 0);
  REQUIRE(utcp_eth_emit(&e, buf, sizeof buf) == UTCP_ETH_HLEN);
  static const uint8_t want[14] = {0x02, 1, 2, 3, 4, 5, 0x02, 6, 7, 8, 9, 10, 0x08, 0x06};
  CHECK(memcmp(buf, want, 14) == 0);
  CHECK_EQ(buf[14], 0xee);
  struct utcp_eth p;
  REQUIRE(utcp_eth_parse(buf, sizeof buf, &p) == UTCP_DROP_NONE);
  CHECK(utcp_mac_eq(&p.dst, &e.dst));
  CHECK(utcp_mac_eq(&p.src, &e.src));
  CHECK_EQ(p.type, UTCP_ETHERTYPE_ARP);
  CHECK(p.payload == buf + 14);
  CHECK_EQ(p.payload_len, sizeof buf - 14);
  for (size_t n = 0; n < UTCP_ETH_HLEN; n++)
    CHECK_EQ(utcp_eth_parse(buf, n, &p), UTCP_DROP_ETH_TRUNCATED);
  CHECK_EQ(utcp_eth_parse(buf, 14, &p), UTCP_DROP_NONE);
  CHECK_EQ(p.payload_len, 0);
}

/* ---- ARP ---- */

static const uint8_t arp_request_bytes[28] = {
    0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01,             /* Ethernet/IPv4, request */
    0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x0a, 0x00, 0x00, 0x01, /* sha, spa 10.0.0.1 */
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0a, 0x00, 0x00, 0x02, /* tha, tpa 10.0.0.2 */
};

TEST(test_wire_arp_roundtrip) {
  struct utcp_arp a = {.op = UTCP_ARP_REQUEST, .sha = {{0x02, 0, 0, 0, 0, 1}}, .spa = SRC,
                       .tha = utcp_mac_zero, .tpa = DST};
  uint8_t buf[46];
  memset(buf, 0, sizeof buf);
  CHECK_EQ(utcp_arp_emit(&a, buf, 27), 0);
  REQUIRE(utcp_arp_emit(&a, buf, sizeof buf) == UTCP_ARP_LEN);
  CHECK(memcmp(buf, arp_request_bytes, 28) == 0);
  struct utcp_arp p;
  /* Ethernet pads a 28-byte ARP to 46; the padding is ignored. */
  REQUIRE(utcp_arp_parse(buf, sizeof buf, &p) == UTCP_DROP_NONE);
  CHECK_EQ(p.op, UTCP_ARP_REQUEST);
  CHECK(utcp_mac_eq(&p.sha, &a.sha));
  CHECK(utcp_mac_eq(&p.tha, &utcp_mac_zero));
  CHECK_EQ(p.spa, SRC);
  CHECK_EQ(p.tpa, DST);

  struct utcp_arp r = {.op = UTCP_ARP_REPLY, .sha = {{0x02, 9, 8, 7, 6, 5}}, .spa = 0xc0a80101u,
                       .tha = {{0x02, 0, 0, 0, 0, 1}}, .tpa = 0xc0a801feu};
  REQUIRE(utcp_arp_emit(&r, buf, sizeof buf) == UTCP_ARP_LEN);
  REQUIRE(utcp_arp_parse(buf, UTCP_ARP_LEN, &p) == UTCP_DROP_NONE);
  CHECK_EQ(p.op, UTCP_ARP_REPLY);
  CHECK(utcp_mac_eq(&p.sha, &r.sha));
  CHECK(utcp_mac_eq(&p.tha, &r.tha));
  CHECK_EQ(p.spa, 0xc0a80101u);
  CHECK_EQ(p.tpa, 0xc0a801feu);
}

TEST(test_wire_arp_bad) {
  struct utcp_arp p;
  uint8_t b[28];
  for (size_t n = 0; n < UTCP_ARP_LEN; n++)
    CHECK_EQ(utcp_arp_parse(arp_request_bytes, n, &p), UTCP_DROP_ARP_TRUNCATED);
  static const struct {
    size_t off;
    uint8_t val;
    enum utcp_drop want;
  } cases[] = {
      {1, 0x06, UTCP_DROP_ARP_BAD_FORMAT}, /* htype IEEE 802 */
      {0, 0x01, UTCP_DROP_ARP_BAD_FORMAT}, /* htype 0x0101 */
      {2, 0x86, UTCP_DROP_ARP_BAD_FORMAT}, /* ptype 0x8600 */
      {3, 0xdd, UTCP_DROP_ARP_BAD_FORMAT}, /* ptype 0x08dd */
      {4, 0x08, UTCP_DROP_ARP_BAD_FORMAT}, /* hlen */
      {5, 0x10, UTCP_DROP_ARP_BAD_FORMAT}, /* plen (IPv6) */
      {7, 0x00, UTCP_DROP_ARP_BAD_OP},
      {7, 0x03, UTCP_DROP_ARP_BAD_OP},
      {6, 0x01, UTCP_DROP_ARP_BAD_OP}, /* op 0x0101 */
      {7, 0x02, UTCP_DROP_NONE},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    memcpy(b, arp_request_bytes, sizeof b);
    b[cases[i].off] = cases[i].val;
    CHECK_EQ(utcp_arp_parse(b, sizeof b, &p), cases[i].want);
  }
}

/* ---- IPv4 ---- */

static size_t build_ipv4(uint8_t *buf, size_t cap, size_t payload_len) {
  struct utcp_ipv4 ip = {.tos = 0x10, .id = 0xbeef, .frag = UTCP_IPV4_DF, .ttl = 64,
                         .proto = UTCP_IPPROTO_TCP, .src = SRC, .dst = DST,
                         .payload_len = payload_len};
  size_t n = utcp_ipv4_emit(&ip, buf, cap);
  for (size_t i = 0; i < payload_len; i++) buf[n + i] = (uint8_t)(0x30 + i);
  return n + payload_len;
}

TEST(test_wire_ipv4_roundtrip) {
  uint8_t buf[64];
  memset(buf, 0xcc, sizeof buf);
  struct utcp_ipv4 ip = {.payload_len = 8};
  CHECK_EQ(utcp_ipv4_emit(&ip, buf, 19), 0);
  REQUIRE(build_ipv4(buf, sizeof buf, 8) == 28);
  static const uint8_t want_hdr[20] = {0x45, 0x10, 0x00, 0x1c, 0xbe, 0xef, 0x40, 0x00, 0x40, 0x06,
                                       0x00, 0x00, 0x0a, 0x00, 0x00, 0x01, 0x0a, 0x00, 0x00, 0x02};
  uint8_t zeroed[20];
  memcpy(zeroed, buf, 20);
  zeroed[10] = zeroed[11] = 0;
  CHECK(memcmp(zeroed, want_hdr, 20) == 0);
  CHECK_EQ(utcp_cksum(buf, 20), 0);

  struct utcp_ipv4 p;
  REQUIRE(utcp_ipv4_parse(buf, 28, &p) == UTCP_DROP_NONE);
  CHECK_EQ(p.tos, 0x10);
  CHECK_EQ(p.id, 0xbeef);
  CHECK_EQ(p.frag, UTCP_IPV4_DF);
  CHECK_EQ(p.ttl, 64);
  CHECK_EQ(p.proto, UTCP_IPPROTO_TCP);
  CHECK_EQ(p.src, SRC);
  CHECK_EQ(p.dst, DST);
  CHECK(p.payload == buf + 20);
  CHECK_EQ(p.payload_len, 8);
  /* Link padding past total length is not payload. */
  REQUIRE(utcp_ipv4_parse(buf, sizeof buf, &p) == UTCP_DROP_NONE);
  CHECK_EQ(p.payload_len, 8);
  /* Empty payload. */
  REQUIRE(build_ipv4(buf, sizeof buf, 0) == 20);
  REQUIRE(utcp_ipv4_parse(buf, 20, &p) == UTCP_DROP_NONE);
  CHECK_EQ(p.payload_len, 0);
}

TEST(test_wire_ipv4_truncated) {
  uint8_t buf[48];
  size_t full = build_ipv4(buf, sizeof buf, 28);
  struct utcp_ipv4 p;
  for (size_t n = 0; n < full; n++) {
    enum utcp_drop want = n < UTCP_IPV4_HLEN ? UTCP_DROP_IP_TRUNCATED : UTCP_DROP_IP_BAD_TOTAL_LEN;
    CHECK_EQ(utcp_ipv4_parse(buf, n, &p), want);
  }
  CHECK_EQ(utcp_ipv4_parse(buf, full, &p), UTCP_DROP_NONE);
}

static enum utcp_drop ipv4_mutated(size_t off, uint8_t val) {
  uint8_t buf[40];
  size_t n = build_ipv4(buf, sizeof buf, 20);
  buf[off] = val;
  if ((buf[0] & 0x0f) * 4u <= n) fix_ip_cksum(buf);
  struct utcp_ipv4 p;
  return utcp_ipv4_parse(buf, n, &p);
}

TEST(test_wire_ipv4_bad) {
  for (unsigned v = 0; v < 16; v++)
    CHECK_EQ(ipv4_mutated(0, (uint8_t)(v << 4 | 5)),
             v == 4 ? UTCP_DROP_NONE : UTCP_DROP_IP_BAD_VERSION);
  /* RFC 791: IHL minimum is 5. */
  for (unsigned ihl = 0; ihl < 5; ihl++)
    CHECK_EQ(ipv4_mutated(0, (uint8_t)(0x40 | ihl)), UTCP_DROP_IP_BAD_HDR_LEN);
  /* IHL 11..15 reach past the 40-byte packet. */
  for (unsigned ihl = 11; ihl < 16; ihl++)
    CHECK_EQ(ipv4_mutated(0, (uint8_t)(0x40 | ihl)), UTCP_DROP_IP_BAD_HDR_LEN);
  /* IHL 6..10 fit: with a good checksum over them it is an options datagram. */
  for (unsigned ihl = 6; ihl <= 10; ihl++)
    CHECK_EQ(ipv4_mutated(0, (uint8_t)(0x40 | ihl)), UTCP_DROP_IP_OPTIONS);
  /* Total length below the header, and past the buffer. */
  CHECK_EQ(ipv4_mutated(3, 19), UTCP_DROP_IP_BAD_TOTAL_LEN);
  CHECK_EQ(ipv4_mutated(3, 0), UTCP_DROP_IP_BAD_TOTAL_LEN);
  CHECK_EQ(ipv4_mutated(3, 41), UTCP_DROP_IP_BAD_TOTAL_LEN);
  CHECK_EQ(ipv4_mutated(2, 1), UTCP_DROP_IP_BAD_TOTAL_LEN);
  CHECK_EQ(ipv4_mutated(3, 20), UTCP_DROP_NONE);
  /* IHL 6 with total length 20 is below the header. */
  {
    uint8_t buf[40];
    size_t n = build_ipv4(buf, sizeof buf, 20);
    buf[0] = 0x46;
    buf[3] = 20;
    fix_ip_cksum(buf);
    struct utcp_ipv4 p;
    CHECK_EQ(utcp_ipv4_parse(buf, n, &p), UTCP_DROP_IP_BAD_TOTAL_LEN);
  }
  /* Fragments: MF, any offset, both; DF alone and the reserved bit are not fragments. */
  CHECK_EQ(ipv4_mutated(6, 0x20), UTCP_DROP_IP_FRAGMENT);
  CHECK_EQ(ipv4_mutated(6, 0x60), UTCP_DROP_IP_FRAGMENT);
  CHECK_EQ(ipv4_mutated(6, 0x01), UTCP_DROP_IP_FRAGMENT);
  CHECK_EQ(ipv4_mutated(7, 0x01), UTCP_DROP_IP_FRAGMENT);
  CHECK_EQ(ipv4_mutated(6, 0x1f), UTCP_DROP_IP_FRAGMENT);
  CHECK_EQ(ipv4_mutated(6, 0x00), UTCP_DROP_NONE);
  /* Bad checksum: every single-bit flip in the header is refused. */
  uint8_t buf[40];
  size_t n = build_ipv4(buf, sizeof buf, 20);
  struct utcp_ipv4 p;
  for (size_t bit = 0; bit < 20 * 8; bit++) {
    buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
    enum utcp_drop d = utcp_ipv4_parse(buf, n, &p);
    CHECK(d != UTCP_DROP_NONE);
    if (bit / 8 >= 4) CHECK_EQ(d, UTCP_DROP_IP_BAD_CKSUM);
    buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
  }
  CHECK_EQ(utcp_ipv4_parse(buf, n, &p), UTCP_DROP_NONE);
  buf[10] ^= 0xff;
  buf[11] ^= 0xff;
  CHECK_EQ(utcp_ipv4_parse(buf, n, &p), UTCP_DROP_IP_BAD_CKSUM);
}

/* ---- ICMP ---- */

TEST(test_wire_icmp_roundtrip) {
  uint8_t data[5] = {'p', 'i', 'n', 'g', '!'};
  struct utcp_icmp e = {.type = UTCP_ICMP_ECHO_REQUEST, .code = 0, .id = 0x1234, .seq = 7,
                        .data = data, .data_len = sizeof data};
  uint8_t buf[32];
  CHECK_EQ(utcp_icmp_emit(&e, buf, 12), 0);
  REQUIRE(utcp_icmp_emit(&e, buf, sizeof buf) == 13);
  CHECK_EQ(buf[0], 8);
  CHECK_EQ(buf[4], 0x12);
  CHECK_EQ(buf[5], 0x34);
  CHECK_EQ(buf[7], 7);
  CHECK_EQ(utcp_cksum(buf, 13), 0);
  struct utcp_icmp p;
  REQUIRE(utcp_icmp_parse(buf, 13, &p) == UTCP_DROP_NONE);
  CHECK_EQ(p.type, UTCP_ICMP_ECHO_REQUEST);
  CHECK_EQ(p.code, 0);
  CHECK_EQ(p.id, 0x1234);
  CHECK_EQ(p.seq, 7);
  CHECK(p.data == buf + 8);
  CHECK_EQ(p.data_len, 5);
  CHECK(memcmp(p.data, "ping!", 5) == 0);

  /* Turn the request into a reply in place: data already at buf + 8. */
  struct utcp_icmp r = p;
  r.type = UTCP_ICMP_ECHO_REPLY;
  REQUIRE(utcp_icmp_emit(&r, buf, sizeof buf) == 13);
  REQUIRE(utcp_icmp_parse(buf, 13, &p) == UTCP_DROP_NONE);
  CHECK_EQ(p.type, UTCP_ICMP_ECHO_REPLY);
  CHECK(memcmp(p.data, "ping!", 5) == 0);

  /* No data. */
  e.data = NULL;
  e.data_len = 0;
  REQUIRE(utcp_icmp_emit(&e, buf, 8) == 8);
  CHECK_EQ(utcp_icmp_parse(buf, 8, &p), UTCP_DROP_NONE);
  CHECK_EQ(p.data_len, 0);
}

TEST(test_wire_icmp_bad) {
  uint8_t buf[21];
  struct utcp_icmp e = {.type = 8, .id = 1, .seq = 2, .data = (const uint8_t *)"0123456789abc",
                        .data_len = 13};
  REQUIRE(utcp_icmp_emit(&e, buf, sizeof buf) == 21);
  struct utcp_icmp p;
  for (size_t n = 0; n < UTCP_ICMP_HLEN; n++)
    CHECK_EQ(utcp_icmp_parse(buf, n, &p), UTCP_DROP_ICMP_TRUNCATED);
  /* The checksum covers every byte, so shorter is a checksum failure, not a truncation. */
  for (size_t n = UTCP_ICMP_HLEN; n < 21; n++)
    CHECK_EQ(utcp_icmp_parse(buf, n, &p), UTCP_DROP_ICMP_BAD_CKSUM);
  for (size_t bit = 0; bit < 21 * 8; bit++) {
    buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
    CHECK_EQ(utcp_icmp_parse(buf, 21, &p), UTCP_DROP_ICMP_BAD_CKSUM);
    buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
  }
  CHECK_EQ(utcp_icmp_parse(buf, 21, &p), UTCP_DROP_NONE);
  /* Any type parses; handling is the caller's. */
  buf[0] = UTCP_ICMP_DEST_UNREACH;
  buf[1] = 4;
  fix_icmp_cksum(buf, 21);
  REQUIRE(utcp_icmp_parse(buf, 21, &p) == UTCP_DROP_NONE);
  CHECK_EQ(p.type, UTCP_ICMP_DEST_UNREACH);
  CHECK_EQ(p.code, 4);
}

/* ---- TCP ---- */

/* A SYN captured from Linux 6.18 on loopback (IPv4 header then TCP). Loopback hands the TCP
 * checksum over as CHECKSUM_PARTIAL: the captured field fe30 is the folded pseudo-header sum,
 * not the checksum; the full checksum is 495f. */
static const uint8_t linux_syn[60] = {
    0x45, 0x00, 0x00, 0x3c, 0x25, 0xba, 0x40, 0x00, 0x40, 0x06, 0x17, 0x00,
    0x7f, 0x00, 0x00, 0x01, 0x7f, 0x00, 0x00, 0x01, 0x81, 0xc8, 0xa6, 0xc5,
    0x45, 0xb7, 0x3f, 0x67, 0x00, 0x00, 0x00, 0x00, 0xa0, 0x02, 0xff, 0xd7,
    0xfe, 0x30, 0x00, 0x00, 0x02, 0x04, 0xff, 0xd7, 0x04, 0x02, 0x08, 0x0a,
    0xe7, 0x66, 0x71, 0x8c, 0x00, 0x00, 0x00, 0x00, 0x01, 0x03, 0x03, 0x0a,
};

/* The third data segment of the same connection: PSH|ACK, NOP NOP TS, "hello". */
static const uint8_t linux_data[57] = {
    0x45, 0x00, 0x00, 0x39, 0x25, 0xbc, 0x40, 0x00, 0x40, 0x06, 0x17, 0x01,
    0x7f, 0x00, 0x00, 0x01, 0x7f, 0x00, 0x00, 0x01, 0x81, 0xc8, 0xa6, 0xc5,
    0x45, 0xb7, 0x3f, 0x68, 0xe4, 0x7e, 0xae, 0x9b, 0x80, 0x18, 0x00, 0x40,
    0xfe, 0x2d, 0x00, 0x00, 0x01, 0x01, 0x08, 0x0a, 0xe7, 0x66, 0x71, 0x8d,
    0xc3, 0x39, 0xe8, 0x39, 0x68, 0x65, 0x6c, 0x6c, 0x6f,
};

TEST(test_wire_tcp_linux_syn) {
  uint8_t pkt[60];
  memcpy(pkt, linux_syn, sizeof pkt);
  struct utcp_ipv4 ip;
  REQUIRE(utcp_ipv4_parse(pkt, sizeof pkt, &ip) == UTCP_DROP_NONE);
  CHECK_EQ(ip.src, LO);
  CHECK_EQ(ip.dst, LO);
  CHECK_EQ(ip.proto, UTCP_IPPROTO_TCP);
  REQUIRE(ip.payload_len == 40);
  uint8_t *tcp = pkt + 20;

  /* The partial value is the folded pseudo-header sum, as the offload engine expects. */
  uint16_t partial = (uint16_t)~utcp_cksum_finish(utcp_cksum_pseudo(LO, LO, 6, 40));
  CHECK(memcmp(&partial, tcp + 16, 2) == 0);
  struct utcp_seg s;
  CHECK_EQ(utcp_tcp_parse(tcp, 40, LO, LO, true, &s), UTCP_DROP_TCP_BAD_CKSUM);
  tcp[16] = 0x49;
  tcp[17] = 0x5f;
  REQUIRE(utcp_tcp_parse(tcp, 40, LO, LO, true, &s) == UTCP_DROP_NONE);
  CHECK_EQ(s.sport, 33224);
  CHECK_EQ(s.dport, 42693);
  CHECK_EQ(s.seq.v, 0x45b73f67u);
  CHECK_EQ(s.ack.v, 0);
  CHECK_EQ(s.flags, UTCP_TCP_SYN);
  CHECK_EQ(s.wnd, 65495);
  CHECK_EQ(s.urp, 0);
  CHECK_EQ(s.opt.present, UTCP_OPT_MSS | UTCP_OPT_SACK_PERM | UTCP_OPT_TS | UTCP_OPT_WSCALE);
  CHECK_EQ(s.opt.mss, 65495);
  CHECK_EQ(s.opt.wscale, 10);
  CHECK_EQ(s.opt.ts_val, 0xe766718cu);
  CHECK_EQ(s.opt.ts_ecr, 0);
  CHECK_EQ(s.len, 0);
  CHECK(s.payload == tcp + 40);
  CHECK_EQ(utcp_seg_seqlen(&s), 1);

  /* Emitting the parsed struct reproduces Linux's bytes exactly, checksum included. */
  CHECK_EQ(utcp_tcp_opts_len(&s.opt), 20);
  uint8_t out[40];
  REQUIRE(utcp_tcp_emit(&s, LO, LO, out, sizeof out) == 40);
  CHECK(memcmp(out, tcp, 40) == 0);
}

TEST(test_wire_tcp_linux_data) {
  uint8_t pkt[57];
  memcpy(pkt, linux_data, sizeof pkt);
  uint8_t *tcp = pkt + 20;
  fix_tcp_cksum(tcp, 37, LO, LO);
  CHECK_EQ(tcp[16], 0xef);
  CHECK_EQ(tcp[17], 0x6b);
  struct utcp_seg s;
  REQUIRE(utcp_tcp_parse(tcp, 37, LO, LO, true, &s) == UTCP_DROP_NONE);
  CHECK_EQ(s.flags, UTCP_TCP_PSH | UTCP_TCP_ACK);
  CHECK_EQ(s.ack.v, 0xe47eae9bu);
  CHECK_EQ(s.wnd, 64);
  CHECK_EQ(s.opt.present, UTCP_OPT_TS);
  CHECK_EQ(s.opt.ts_val, 0xe766718du);
  CHECK_EQ(s.opt.ts_ecr, 0xc339e839u);
  CHECK_EQ(s.len, 5);
  CHECK(s.payload == tcp + 32);
  CHECK(memcmp(s.payload, "hello", 5) == 0);
  CHECK_EQ(utcp_seg_seqlen(&s), 5);
  uint8_t out[37];
  REQUIRE(utcp_tcp_emit(&s, LO, LO, out, sizeof out) == 37);
  CHECK(memcmp(out, tcp, 37) == 0);
}

TEST(test_wire_tcp_roundtrip_plain) {
  struct utcp_seg e = seg_tmpl();
  e.flags = UTCP_TCP_FIN | UTCP_TCP_ACK | UTCP_TCP_URG | UTCP_TCP_ECE | UTCP_TCP_CWR;
  e.urp = 0x1234;
  e.wnd = 0xabcd;
  e.payload = (const uint8_t *)"xyz";
  e.len = 3;
  uint8_t buf[64];
  CHECK_EQ(utcp_tcp_opts_len(&e.opt), 0);
  CHECK_EQ(utcp_tcp_emit(&e, SRC, DST, buf, 22), 0);
  REQUIRE(utcp_tcp_emit(&e, SRC, DST, buf, sizeof buf) == 23);
  static const uint8_t want[20] = {0x9c, 0x40, 0x00, 0x50, 0x01, 0x02, 0x03, 0x04, 0xff, 0xff,
                                   0xff, 0xf0, 0x50, 0xf1, 0xab, 0xcd, 0x00, 0x00, 0x12, 0x34};
  uint8_t z[20];
  memcpy(z, buf, 20);
  z[16] = z[17] = 0;
  CHECK(memcmp(z, want, 20) == 0);
  struct utcp_seg p;
  REQUIRE(utcp_tcp_parse(buf, 23, SRC, DST, true, &p) == UTCP_DROP_NONE);
  CHECK_EQ(p.sport, 40000);
  CHECK_EQ(p.dport, 80);
  CHECK_EQ(p.seq.v, 0x01020304u);
  CHECK_EQ(p.ack.v, 0xfffffff0u);
  CHECK_EQ(p.flags, e.flags);
  CHECK_EQ(p.wnd, 0xabcd);
  CHECK_EQ(p.urp, 0x1234);
  CHECK_EQ(p.opt.present, 0);
  CHECK_EQ(p.len, 3);
  CHECK(memcmp(p.payload, "xyz", 3) == 0);
  CHECK_EQ(utcp_seg_seqlen(&p), 4);
  /* The checksum binds the addresses. */
  CHECK_EQ(utcp_tcp_parse(buf, 23, DST, SRC, true, &p), UTCP_DROP_NONE);
  CHECK_EQ(utcp_tcp_parse(buf, 23, SRC, DST + 1, true, &p), UTCP_DROP_TCP_BAD_CKSUM);
  CHECK_EQ(utcp_tcp_parse(buf, 23, SRC, DST + 1, false, &p), UTCP_DROP_NONE);
}

TEST(test_wire_tcp_syn_options_layout) {
  struct utcp_seg e = seg_tmpl();
  e.flags = UTCP_TCP_SYN;
  e.opt = (struct utcp_tcp_opts){
      .present = UTCP_OPT_MSS | UTCP_OPT_SACK_PERM | UTCP_OPT_TS | UTCP_OPT_WSCALE,
      .mss = 1460, .wscale = 7, .ts_val = 0x11223344u, .ts_ecr = 0};
  static const uint8_t want[20] = {2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0x11, 0x22,
                                   0x33, 0x44, 0, 0, 0, 0, 1, 3, 3, 7};
  uint8_t buf[40];
  CHECK_EQ(utcp_tcp_opts_len(&e.opt), 20);
  REQUIRE(utcp_tcp_emit(&e, SRC, DST, buf, sizeof buf) == 40);
  CHECK_EQ(buf[12], 0xa0);
  CHECK(memcmp(buf + 20, want, 20) == 0);

  /* Without SACK_PERM the pair becomes NOP NOP TS; SACK_PERM alone is NOP NOP SACK_PERM. */
  e.opt.present = UTCP_OPT_MSS | UTCP_OPT_TS;
  REQUIRE(utcp_tcp_emit(&e, SRC, DST, buf, sizeof buf) == 36);
  static const uint8_t want_ts[16] = {2, 4, 0x05, 0xb4, 1, 1, 8, 10, 0x11, 0x22, 0x33, 0x44};
  CHECK(memcmp(buf + 20, want_ts, 16) == 0);
  e.opt.present = UTCP_OPT_MSS | UTCP_OPT_SACK_PERM | UTCP_OPT_WSCALE;
  REQUIRE(utcp_tcp_emit(&e, SRC, DST, buf, sizeof buf) == 32);
  static const uint8_t want_sp[12] = {2, 4, 0x05, 0xb4, 1, 1, 4, 2, 1, 3, 3, 7};
  CHECK(memcmp(buf + 20, want_sp, 12) == 0);
}

TEST(test_wire_tcp_sack_blocks_cut) {
  struct utcp_seg e = seg_tmpl();
  for (uint8_t i = 0; i < UTCP_TCP_MAX_SACK; i++) {
    e.opt.sack[i].left = utcp_seq(0xfffff000u + i * 0x1000u);
    e.opt.sack[i].right = utcp_seq(0xfffff800u + i * 0x1000u);
  }
  /* Room left for blocks after the other options: (40 - used - 4) / 8. */
  static const struct {
    uint8_t present;
    uint8_t max_blocks;
  } cases[] = {
      {0, 4},
      {UTCP_OPT_TS, 3},
      {UTCP_OPT_TS | UTCP_OPT_WSCALE, 2},
      {UTCP_OPT_MSS | UTCP_OPT_TS | UTCP_OPT_WSCALE, 2},
      {UTCP_OPT_MSS | UTCP_OPT_SACK_PERM | UTCP_OPT_TS | UTCP_OPT_WSCALE, 2},
      {UTCP_OPT_MSS | UTCP_OPT_WSCALE, 3},
  };
  for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
    for (uint8_t nb = 1; nb <= UTCP_TCP_MAX_SACK; nb++) {
      e.opt.present = (uint8_t)(cases[c].present | UTCP_OPT_SACK);
      e.opt.sack_count = nb;
      e.opt.mss = 1400;
      e.opt.ts_val = 5;
      e.opt.ts_ecr = 6;
      e.payload = (const uint8_t *)"data";
      e.len = 4;
      uint8_t buf[64];
      size_t olen = utcp_tcp_opts_len(&e.opt);
      size_t n = utcp_tcp_emit(&e, SRC, DST, buf, sizeof buf);
      CHECK_EQ(n, 20 + olen + 4);
      CHECK(olen <= 40);
      CHECK_EQ(olen % 4, 0);
      struct utcp_seg p;
      REQUIRE(utcp_tcp_parse(buf, n, SRC, DST, true, &p) == UTCP_DROP_NONE);
      uint8_t want = nb < cases[c].max_blocks ? nb : cases[c].max_blocks;
      CHECK_EQ(p.opt.present, e.opt.present);
      CHECK_EQ(p.opt.sack_count, want);
      for (uint8_t i = 0; i < want && i < p.opt.sack_count; i++) {
        CHECK_EQ(p.opt.sack[i].left.v, e.opt.sack[i].left.v);
        CHECK_EQ(p.opt.sack[i].right.v, e.opt.sack[i].right.v);
      }
      CHECK(memcmp(p.payload, "data", 4) == 0);
    }
  }
  /* Data with TS and one block, byte for byte: NOP NOP TS, NOP NOP SACK. */
  e.opt.present = UTCP_OPT_TS | UTCP_OPT_SACK;
  e.opt.sack_count = 1;
  e.len = 0;
  uint8_t buf[44];
  REQUIRE(utcp_tcp_emit(&e, SRC, DST, buf, sizeof buf) == 44);
  static const uint8_t want[24] = {1, 1, 8, 10, 0, 0, 0, 5, 0, 0, 0, 6,
                                   1, 1, 5, 10, 0xff, 0xff, 0xf0, 0, 0xff, 0xff, 0xf8, 0};
  CHECK(memcmp(buf + 20, want, 24) == 0);
  /* SACK flagged with zero blocks writes nothing. */
  e.opt.present = UTCP_OPT_SACK;
  e.opt.sack_count = 0;
  CHECK_EQ(utcp_tcp_opts_len(&e.opt), 0);
}

TEST(test_wire_tcp_every_option_combination) {
  struct utcp_rng rng;
  utcp_rng_init(&rng, 7323);
  for (unsigned mask = 0; mask < 32; mask++) {
    for (uint8_t nb = 0; nb <= UTCP_TCP_MAX_SACK; nb++) {
      struct utcp_seg e = seg_tmpl();
      e.flags = (mask & UTCP_OPT_MSS) ? UTCP_TCP_SYN | UTCP_TCP_ACK : UTCP_TCP_ACK;
      e.opt.present = (uint8_t)mask;
      e.opt.mss = (uint16_t)utcp_rng_next(&rng);
      e.opt.wscale = (uint8_t)utcp_rng_below(&rng, 15);
      e.opt.ts_val = (uint32_t)utcp_rng_next(&rng);
      e.opt.ts_ecr = (uint32_t)utcp_rng_next(&rng);
      e.opt.sack_count = nb;
      for (uint8_t i = 0; i < nb; i++) {
        e.opt.sack[i].left = utcp_seq((uint32_t)utcp_rng_next(&rng));
        e.opt.sack[i].right = utcp_seq((uint32_t)utcp_rng_next(&rng));
      }
      uint8_t payload[7] = {1, 2, 3, 4, 5, 6, 7};
      e.payload = payload;
      e.len = mask & 1 ? 7 : 0;
      uint8_t buf[80];
      size_t olen = utcp_tcp_opts_len(&e.opt);
      CHECK(olen <= UTCP_TCP_MAX_OPT_LEN);
      CHECK_EQ(olen % 4, 0);
      CHECK_EQ(utcp_tcp_emit(&e, SRC, DST, buf, 20 + olen + e.len - 1), 0);
      size_t n = utcp_tcp_emit(&e, SRC, DST, buf, sizeof buf);
      REQUIRE(n == 20 + olen + e.len);
      CHECK_EQ(buf[12] >> 4, (20 + olen) / 4);
      struct utcp_seg p;
      REQUIRE(utcp_tcp_parse(buf, n, SRC, DST, true, &p) == UTCP_DROP_NONE);
      uint8_t want_present = (uint8_t)mask;
      if (!(mask & UTCP_OPT_SACK) || nb == 0) want_present &= (uint8_t)~UTCP_OPT_SACK;
      CHECK_EQ(p.opt.present, want_present);
      if (mask & UTCP_OPT_MSS) CHECK_EQ(p.opt.mss, e.opt.mss);
      if (mask & UTCP_OPT_WSCALE) CHECK_EQ(p.opt.wscale, e.opt.wscale);
      if (mask & UTCP_OPT_TS) {
        CHECK_EQ(p.opt.ts_val, e.opt.ts_val);
        CHECK_EQ(p.opt.ts_ecr, e.opt.ts_ecr);
      }
      if (want_present & UTCP_OPT_SACK) {
        CHECK(p.opt.sack_count >= 1 && p.opt.sack_count <= nb);
        for (uint8_t i = 0; i < p.opt.sack_count; i++) {
          CHECK_EQ(p.opt.sack[i].left.v, e.opt.sack[i].left.v);
          CHECK_EQ(p.opt.sack[i].right.v, e.opt.sack[i].right.v);
        }
      }
      CHECK_EQ(p.len, e.len);
      CHECK(memcmp(p.payload, payload, e.len) == 0);
    }
  }
}

TEST(test_wire_tcp_emit_payload_in_place) {
  struct utcp_seg e = seg_tmpl();
  e.opt = (struct utcp_tcp_opts){.present = UTCP_OPT_TS | UTCP_OPT_SACK, .sack_count = 2,
                                 .ts_val = 1, .ts_ecr = 2};
  size_t hlen = 20 + utcp_tcp_opts_len(&e.opt);
  REQUIRE(hlen == 52);
  uint8_t buf[200];
  uint8_t want[100];
  for (size_t i = 0; i < sizeof want; i++) want[i] = (uint8_t)(i * 7 + 1);
  struct utcp_seg p;

  /* Already at its place. */
  memset(buf, 0, sizeof buf);
  memcpy(buf + hlen, want, sizeof want);
  e.payload = buf + hlen;
  e.len = sizeof want;
  REQUIRE(utcp_tcp_emit(&e, SRC, DST, buf, sizeof buf) == hlen + 100);
  REQUIRE(utcp_tcp_parse(buf, hlen + 100, SRC, DST, true, &p) == UTCP_DROP_NONE);
  CHECK(memcmp(p.payload, want, 100) == 0);

  /* Where a 20-byte header would have put it: overlaps the options. */
  memset(buf, 0, sizeof buf);
  memcpy(buf + 20, want, sizeof want);
  e.payload = buf + 20;
  REQUIRE(utcp_tcp_emit(&e, SRC, DST, buf, sizeof buf) == hlen + 100);
  REQUIRE(utcp_tcp_parse(buf, hlen + 100, SRC, DST, true, &p) == UTCP_DROP_NONE);
  CHECK(memcmp(p.payload, want, 100) == 0);

  /* Further along than the header: moves backwards. */
  memset(buf, 0, sizeof buf);
  memcpy(buf + 60, want, sizeof want);
  e.payload = buf + 60;
  REQUIRE(utcp_tcp_emit(&e, SRC, DST, buf, sizeof buf) == hlen + 100);
  REQUIRE(utcp_tcp_parse(buf, hlen + 100, SRC, DST, true, &p) == UTCP_DROP_NONE);
  CHECK(memcmp(p.payload, want, 100) == 0);
}

TEST(test_wire_full_frame) {
  /* Ethernet + IPv4 + TCP built by the emitters and read back through the parser chain. */
  uint8_t f[14 + 20 + 60 + 10];
  struct utcp_seg e = seg_tmpl();
  e.flags = UTCP_TCP_SYN;
  e.opt = (struct utcp_tcp_opts){.present = UTCP_OPT_MSS | UTCP_OPT_WSCALE, .mss = 1460,
                                 .wscale = 14};
  e.payload = (const uint8_t *)"0123456789";
  e.len = 10;
  size_t tl = utcp_tcp_emit(&e, SRC, DST, f + 34, sizeof f - 34);
  REQUIRE(tl == 20 + 8 + 10);
  struct utcp_ipv4 ip = {.ttl = 64, .proto = UTCP_IPPROTO_TCP, .src = SRC, .dst = DST,
                         .payload_len = tl};
  REQUIRE(utcp_ipv4_emit(&ip, f + 14, sizeof f - 14) == 20);
  struct utcp_eth eth = {.dst = utcp_mac_broadcast, .src = {{2, 0, 0, 0, 0, 9}},
                         .type = UTCP_ETHERTYPE_IPV4};
  REQUIRE(utcp_eth_emit(&eth, f, sizeof f) == 14);
  size_t flen = 14 + 20 + tl;

  struct utcp_eth pe;
  struct utcp_ipv4 pi;
  struct utcp_seg ps;
  REQUIRE(utcp_eth_parse(f, flen, &pe) == UTCP_DROP_NONE);
  CHECK_EQ(pe.type, UTCP_ETHERTYPE_IPV4);
  REQUIRE(utcp_ipv4_parse(pe.payload, pe.payload_len, &pi) == UTCP_DROP_NONE);
  REQUIRE(utcp_tcp_parse(pi.payload, pi.payload_len, pi.src, pi.dst, true, &ps) ==
          UTCP_DROP_NONE);
  CHECK_EQ(ps.opt.present, UTCP_OPT_MSS | UTCP_OPT_WSCALE);
  CHECK_EQ(ps.opt.mss, 1460);
  CHECK_EQ(ps.opt.wscale, 14);
  CHECK_EQ(ps.len, 10);
  CHECK_EQ(utcp_seg_seqlen(&ps), 11);
  CHECK(memcmp(ps.payload, "0123456789", 10) == 0);
}

static size_t build_tcp(uint8_t *buf, size_t cap, const uint8_t *payload, size_t plen) {
  struct utcp_seg e = seg_tmpl();
  e.opt = (struct utcp_tcp_opts){.present = UTCP_OPT_TS | UTCP_OPT_SACK, .sack_count = 1,
                                 .ts_val = 100, .ts_ecr = 200,
                                 .sack = {{utcp_seq(10), utcp_seq(20)}}};
  e.payload = payload;
  e.len = plen;
  return utcp_tcp_emit(&e, SRC, DST, buf, cap);
}

TEST(test_wire_tcp_truncated) {
  uint8_t buf[80];
  size_t full = build_tcp(buf, sizeof buf, (const uint8_t *)"payload!", 8);
  REQUIRE(full == 20 + 24 + 8);
  struct utcp_seg p;
  for (size_t n = 0; n < full; n++) {
    enum utcp_drop want = n < 20   ? UTCP_DROP_TCP_TRUNCATED
                          : n < 44 ? UTCP_DROP_TCP_BAD_HDR_LEN
                                   : UTCP_DROP_TCP_BAD_CKSUM;
    CHECK_EQ(utcp_tcp_parse(buf, n, SRC, DST, true, &p), want);
    if (n < 44) CHECK_EQ(utcp_tcp_parse(buf, n, SRC, DST, false, &p), want);
  }
  CHECK_EQ(utcp_tcp_parse(buf, full, SRC, DST, true, &p), UTCP_DROP_NONE);
  /* Without verification a shorter payload is all that can be seen. */
  CHECK_EQ(utcp_tcp_parse(buf, 47, SRC, DST, false, &p), UTCP_DROP_NONE);
  CHECK_EQ(p.len, 3);
}

TEST(test_wire_tcp_bad_data_offset) {
  uint8_t buf[80];
  size_t full = build_tcp(buf, sizeof buf, (const uint8_t *)"abcd", 4);
  REQUIRE(full == 48);
  struct utcp_seg p;
  for (unsigned doff = 0; doff < 16; doff++) {
    buf[12] = (uint8_t)(doff << 4);
    fix_tcp_cksum(buf, full, SRC, DST);
    enum utcp_drop d = utcp_tcp_parse(buf, full, SRC, DST, true, &p);
    if (doff < 5 || doff > 12)
      CHECK_EQ(d, UTCP_DROP_TCP_BAD_HDR_LEN);
    else
      CHECK(d == UTCP_DROP_NONE || d == UTCP_DROP_TCP_BAD_OPT_LEN);
  }
  /* doff 12 takes the whole segment: header only, no payload. */
  buf[12] = 12 << 4;
  fix_tcp_cksum(buf, full, SRC, DST);
  CHECK_EQ(utcp_tcp_parse(buf, full, SRC, DST, true, &p), UTCP_DROP_TCP_BAD_OPT_LEN);
  buf[12] = 11 << 4;
  fix_tcp_cksum(buf, full, SRC, DST);
  REQUIRE(utcp_tcp_parse(buf, full, SRC, DST, true, &p) == UTCP_DROP_NONE);
  CHECK_EQ(p.len, 4);
  buf[12] = 5 << 4;
  fix_tcp_cksum(buf, full, SRC, DST);
  REQUIRE(utcp_tcp_parse(buf, full, SRC, DST, true, &p) == UTCP_DROP_NONE);
  CHECK_EQ(p.opt.present, 0);
  CHECK_EQ(p.len, 28);
}

TEST(test_wire_tcp_bad_cksum) {
  uint8_t buf[80];
  size_t full = build_tcp(buf, sizeof buf, (const uint8_t *)"abc", 3);
  struct utcp_seg p;
  REQUIRE(utcp_tcp_parse(buf, full, SRC, DST, true, &p) == UTCP_DROP_NONE);
  buf[16] ^= 0x80;
  CHECK_EQ(utcp_tcp_parse(buf, full, SRC, DST, true, &p), UTCP_DROP_TCP_BAD_CKSUM);
  CHECK_EQ(utcp_tcp_parse(buf, full, SRC, DST, false, &p), UTCP_DROP_NONE);
  buf[16] ^= 0x80;
  /* Odd payload: the last byte counts. */
  buf[full - 1] ^= 0x01;
  CHECK_EQ(utcp_tcp_parse(buf, full, SRC, DST, true, &p), UTCP_DROP_TCP_BAD_CKSUM);
  buf[full - 1] ^= 0x01;
  /* Choose the urgent pointer so the computed checksum is +0 (0000); -0 (ffff) in the field is
   * the same ones'-complement number and verifies too. */
  uint8_t z[20] = {0};
  z[12] = 0x50;
  uint16_t urp = utcp_cksum_finish(
      utcp_cksum_add(utcp_cksum_pseudo(SRC, DST, UTCP_IPPROTO_TCP, 20), z, 20));
  memcpy(z + 18, &urp, 2);
  fix_tcp_cksum(z, 20, SRC, DST);
  CHECK_EQ(z[16], 0);
  CHECK_EQ(z[17], 0);
  CHECK_EQ(utcp_tcp_parse(z, 20, SRC, DST, true, &p), UTCP_DROP_NONE);
  z[16] = z[17] = 0xff;
  CHECK_EQ(utcp_tcp_parse(z, 20, SRC, DST, true, &p), UTCP_DROP_NONE);
  z[17] = 0xfe;
  CHECK_EQ(utcp_tcp_parse(z, 20, SRC, DST, true, &p), UTCP_DROP_TCP_BAD_CKSUM);
}

TEST(test_wire_tcp_bit_flips) {
  /* A single flipped bit moves one 16-bit word by +-2^k, never a multiple of 0xffff, so the
   * ones'-complement sum always changes: every flip must be refused when verifying. */
  static const uint8_t *payloads[] = {(const uint8_t *)"", (const uint8_t *)"odd",
                                      (const uint8_t *)"\xff\xff\x00\x00\xff"};
  static const size_t plens[] = {0, 3, 5};
  for (size_t k = 0; k < 3; k++) {
    uint8_t buf[80];
    size_t full = build_tcp(buf, sizeof buf, payloads[k], plens[k]);
    struct utcp_seg p;
    REQUIRE(utcp_tcp_parse(buf, full, SRC, DST, true, &p) == UTCP_DROP_NONE);
    for (size_t bit = 0; bit < full * 8; bit++) {
      buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
      enum utcp_drop d = utcp_tcp_parse(buf, full, SRC, DST, true, &p);
      CHECK(d != UTCP_DROP_NONE);
      if (bit / 8 != 12) CHECK_EQ(d, UTCP_DROP_TCP_BAD_CKSUM);
      buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
    }
  }
  /* The real SYN too. */
  uint8_t syn[40];
  memcpy(syn, linux_syn + 20, 40);
  syn[16] = 0x49;
  syn[17] = 0x5f;
  for (size_t bit = 0; bit < 40 * 8; bit++) {
    syn[bit / 8] ^= (uint8_t)(1u << (bit % 8));
    struct utcp_seg p;
    CHECK(utcp_tcp_parse(syn, 40, LO, LO, true, &p) != UTCP_DROP_NONE);
    syn[bit / 8] ^= (uint8_t)(1u << (bit % 8));
  }
}

/* Parses a segment whose options area is opts[0..n) (n a multiple of 4) with a good checksum. */
static enum utcp_drop parse_opts(const uint8_t *opts, size_t n, struct utcp_seg *p) {
  uint8_t buf[64];
  memset(buf, 0, sizeof buf);
  buf[12] = (uint8_t)((20 + n) / 4 << 4);
  memcpy(buf + 20, opts, n);
  memcpy(buf + 20 + n, "pl", 2);
  fix_tcp_cksum(buf, 20 + n + 2, SRC, DST);
  enum utcp_drop d = utcp_tcp_parse(buf, 20 + n + 2, SRC, DST, true, p);
  if (d == UTCP_DROP_NONE && (p->len != 2 || memcmp(p->payload, "pl", 2) != 0))
    return UTCP_DROP__COUNT;
  return d;
}

TEST(test_wire_tcp_bad_options) {
  static const struct {
    uint8_t o[40];
    size_t n;
    enum utcp_drop want;
  } cases[] = {
      /* Length 0 and 1, known and unknown kinds. */
      {{2, 0, 1, 1}, 4, UTCP_DROP_TCP_BAD_OPT_LEN},
      {{2, 1, 1, 1}, 4, UTCP_DROP_TCP_BAD_OPT_LEN},
      {{0x99, 0, 1, 1}, 4, UTCP_DROP_TCP_BAD_OPT_LEN},
      {{0x99, 1, 1, 1}, 4, UTCP_DROP_TCP_BAD_OPT_LEN},
      {{5, 0, 1, 1}, 4, UTCP_DROP_TCP_BAD_OPT_LEN},
      /* Kind in the last byte with no room for its length. */
      {{1, 1, 1, 2}, 4, UTCP_DROP_TCP_BAD_OPT_LEN},
      {{1, 1, 1, 0x99}, 4, UTCP_DROP_TCP_BAD_OPT_LEN},
      /* Length past the header. */
      {{1, 1, 8, 10}, 4, UTCP_DROP_TCP_BAD_OPT_LEN},
      {{0x99, 5, 0, 0}, 4, UTCP_DROP_TCP_BAD_OPT_LEN},
      {{1, 1, 1, 1, 1, 2, 4, 0x05}, 8, UTCP_DROP_TCP_BAD_OPT_LEN},
      {{1, 1, 1, 1, 1, 1, 8, 10}, 8, UTCP_DROP_TCP_BAD_OPT_LEN},
      {{1, 1, 1, 2, 4, 0x05, 0xb4, 0}, 8, UTCP_DROP_NONE},
      {{0x99, 255}, 40, UTCP_DROP_TCP_BAD_OPT_LEN},
      {{0x99, 41}, 40, UTCP_DROP_TCP_BAD_OPT_LEN},
      {{0x99, 40}, 40, UTCP_DROP_NONE},
      /* Wrong fixed lengths. */
      {{2, 3, 5, 0}, 4, UTCP_DROP_TCP_BAD_OPT_LEN},
      {{2, 5, 5, 0xb4, 0, 0, 0, 0}, 8, UTCP_DROP_TCP_BAD_OPT_LEN},
      {{3, 2, 1, 1}, 4, UTCP_DROP_TCP_BAD_OPT_LEN},
      {{3, 4, 7, 0}, 4, UTCP_DROP_TCP_BAD_OPT_LEN},
      {{4, 3, 0, 1}, 4, UTCP_DROP_TCP_BAD_OPT_LEN},
      {{4, 4, 0, 0}, 4, UTCP_DROP_TCP_BAD_OPT_LEN},
      {{8, 8, 0, 0, 0, 1, 0, 0}, 8, UTCP_DROP_TCP_BAD_OPT_LEN},
      {{8, 11, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0}, 12, UTCP_DROP_TCP_BAD_OPT_LEN},
      {{8, 12, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0}, 12, UTCP_DROP_TCP_BAD_OPT_LEN},
      /* SACK: 2 + 8n with n 1..4. */
      {{5, 2, 1, 1}, 4, UTCP_DROP_TCP_BAD_OPT_LEN},
      {{5, 9, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0}, 12, UTCP_DROP_TCP_BAD_OPT_LEN},
      {{5, 11, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0}, 12, UTCP_DROP_TCP_BAD_OPT_LEN},
      {{5, 17}, 20, UTCP_DROP_TCP_BAD_OPT_LEN},
      {{5, 19}, 20, UTCP_DROP_TCP_BAD_OPT_LEN},
      {{5, 10, 0, 0, 0, 1, 0, 0, 0, 2, 1, 1}, 12, UTCP_DROP_NONE},
      {{5, 18}, 20, UTCP_DROP_NONE},
      {{5, 26}, 28, UTCP_DROP_NONE},
      {{5, 34}, 36, UTCP_DROP_NONE},
      {{5, 35}, 36, UTCP_DROP_TCP_BAD_OPT_LEN},
      {{5, 40}, 40, UTCP_DROP_TCP_BAD_OPT_LEN}, /* fits but n would be 4.75 */
      /* Fine: NOP padding, EOL hides what follows, unknown kinds skipped. */
      {{1, 1, 1, 1}, 4, UTCP_DROP_NONE},
      {{0, 2, 0, 0}, 4, UTCP_DROP_NONE},
      {{0, 0x99, 0, 1}, 4, UTCP_DROP_NONE},
      {{0xfe, 2, 1, 1}, 4, UTCP_DROP_NONE},
      {{0x1e, 6, 0, 0, 0, 0, 1, 1}, 8, UTCP_DROP_NONE},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    struct utcp_seg p;
    enum utcp_drop d = parse_opts(cases[i].o, cases[i].n, &p);
    if (d != cases[i].want) fprintf(stderr, "option case %zu\n", i);
    CHECK_EQ(d, cases[i].want);
  }
}

TEST(test_wire_tcp_options_semantics) {
  struct utcp_seg p;
  /* Unknown kind skipped, the MSS after it is read. */
  static const uint8_t unk[8] = {0x99, 4, 0xaa, 0xbb, 2, 4, 0x02, 0x18};
  REQUIRE(parse_opts(unk, 8, &p) == UTCP_DROP_NONE);
  CHECK_EQ(p.opt.present, UTCP_OPT_MSS);
  CHECK_EQ(p.opt.mss, 536);
  /* EOL ends the list: the MSS after it is not seen. */
  static const uint8_t eol[8] = {1, 0, 2, 4, 0x05, 0xb4, 0, 0};
  REQUIRE(parse_opts(eol, 8, &p) == UTCP_DROP_NONE);
  CHECK_EQ(p.opt.present, 0);
  /* A repeated option: the last one wins. */
  static const uint8_t dup[16] = {2, 4, 0x03, 0xe8, 2, 4, 0x05, 0xb4,
                                  1, 3, 3, 2, 1, 3, 3, 9};
  REQUIRE(parse_opts(dup, 16, &p) == UTCP_DROP_NONE);
  CHECK_EQ(p.opt.present, UTCP_OPT_MSS | UTCP_OPT_WSCALE);
  CHECK_EQ(p.opt.mss, 1460);
  CHECK_EQ(p.opt.wscale, 9);
  static const uint8_t dup_sack[32] = {1, 1, 5, 18, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3,
                                       0, 0, 0, 4, 1, 1, 5, 10, 0, 0, 0, 9, 0, 0, 0, 10};
  REQUIRE(parse_opts(dup_sack, 32, &p) == UTCP_DROP_NONE);
  CHECK_EQ(p.opt.sack_count, 1);
  CHECK_EQ(p.opt.sack[0].left.v, 9);
  CHECK_EQ(p.opt.sack[0].right.v, 10);
  /* wscale is reported as received; clamping is the caller's. */
  static const uint8_t ws[4] = {1, 3, 3, 200};
  REQUIRE(parse_opts(ws, 4, &p) == UTCP_DROP_NONE);
  CHECK_EQ(p.opt.wscale, 200);
  /* Four SACK blocks fill 36 bytes. */
  uint8_t four[36] = {1, 1, 5, 34};
  for (int i = 0; i < 8; i++) four[4 + 4 * i + 3] = (uint8_t)(i + 1);
  REQUIRE(parse_opts(four, 36, &p) == UTCP_DROP_NONE);
  CHECK_EQ(p.opt.present, UTCP_OPT_SACK);
  CHECK_EQ(p.opt.sack_count, 4);
  CHECK_EQ(p.opt.sack[3].left.v, 7);
  CHECK_EQ(p.opt.sack[3].right.v, 8);
  /* Options from an earlier parse do not leak into the next. */
  static const uint8_t none[4] = {1, 1, 1, 1};
  REQUIRE(parse_opts(none, 4, &p) == UTCP_DROP_NONE);
  CHECK_EQ(p.opt.present, 0);
  CHECK_EQ(p.opt.sack_count, 0);
}

/* ---- Random bytes into every parser ---- */

static void check_inside(const uint8_t *buf, size_t len, const uint8_t *p, size_t n) {
  CHECK(p >= buf && p <= buf + len && n <= (size_t)(buf + len - p));
}

struct fuzz_seen {
  int ip[UTCP_DROP__COUNT], tcp[UTCP_DROP__COUNT], tcp_verified[UTCP_DROP__COUNT];
};

static void fuzz_one(uint8_t *b, size_t len, struct fuzz_seen *seen) {
  struct utcp_eth e;
  if (utcp_eth_parse(b, len, &e) == UTCP_DROP_NONE) check_inside(b, len, e.payload, e.payload_len);
  struct utcp_arp a;
  (void)utcp_arp_parse(b, len, &a);
  struct utcp_ipv4 ip;
  enum utcp_drop d = utcp_ipv4_parse(b, len, &ip);
  seen->ip[d]++;
  if (d == UTCP_DROP_NONE) check_inside(b, len, ip.payload, ip.payload_len);
  struct utcp_icmp ic;
  if (utcp_icmp_parse(b, len, &ic) == UTCP_DROP_NONE) check_inside(b, len, ic.data, ic.data_len);
  struct utcp_seg s;
  seen->tcp_verified[utcp_tcp_parse(b, len, SRC, DST, true, &s)]++;
  d = utcp_tcp_parse(b, len, SRC, DST, false, &s);
  seen->tcp[d]++;
  if (d == UTCP_DROP_NONE) {
    check_inside(b, len, s.payload, s.len);
    CHECK(s.opt.sack_count <= UTCP_TCP_MAX_SACK);
    /* Re-emit and re-parse: what survives is what was read (SACK may be cut to fit). */
    uint8_t out[20 + 40 + 64];
    size_t plen = s.len < 64 ? s.len : 64;
    struct utcp_seg e2 = s;
    e2.len = plen;
    size_t n = utcp_tcp_emit(&e2, SRC, DST, out, sizeof out);
    struct utcp_seg s2;
    if (n == 0 || utcp_tcp_parse(out, n, SRC, DST, true, &s2) != UTCP_DROP_NONE) {
      CHECK(!"re-emitted segment did not parse");
      return;
    }
    CHECK_EQ(s2.opt.present & ~UTCP_OPT_SACK, s.opt.present & ~UTCP_OPT_SACK);
    CHECK(s2.opt.sack_count <= s.opt.sack_count);
    CHECK_EQ(s2.seq.v, s.seq.v);
    CHECK_EQ(s2.len, plen);
  }
}

TEST(test_wire_random_bytes) {
  struct utcp_rng rng;
  utcp_rng_init(&rng, 20240601);
  uint8_t templ[80];
  size_t tlen = build_tcp(templ, sizeof templ, (const uint8_t *)"0123456789", 10);
  struct fuzz_seen seen = {0};
  for (int iter = 0; iter < 100000; iter++) {
    size_t len = (size_t)utcp_rng_below(&rng, iter % 10 == 0 ? 1600 : 90);
    /* Exactly len bytes on the heap, so ASan sees any read past the end. */
    uint8_t *b = malloc(len ? len : 1);
    REQUIRE(b != NULL);
    for (size_t i = 0; i < len; i++) b[i] = (uint8_t)utcp_rng_next(&rng);
    switch (iter % 4) {
    case 1:
      /* A plausible TCP header with random options, so the option walk is reached. */
      if (len >= 20) {
        b[12] = (uint8_t)((5 + utcp_rng_below(&rng, 11)) << 4);
        for (size_t i = 20; i < len && i < 60; i++)
          if (utcp_rng_chance(&rng, 1, 3)) b[i] = (uint8_t)utcp_rng_below(&rng, 9);
      }
      break;
    case 2:
      /* A valid segment with a few random bytes changed and a fixed-up checksum. */
      if (len >= tlen) {
        memcpy(b, templ, tlen);
        len = tlen;
        for (int k = 0; k < 3; k++) b[utcp_rng_below(&rng, tlen)] = (uint8_t)utcp_rng_next(&rng);
        fix_tcp_cksum(b, len, SRC, DST);
      }
      break;
    case 3:
      /* A plausible IPv4 header. */
      if (len >= 20) {
        b[0] = (uint8_t)(0x40 | utcp_rng_below(&rng, 16));
        b[2] = (uint8_t)(len >> 8);
        b[3] = (uint8_t)(len - utcp_rng_below(&rng, 4));
        b[6] = 0;
        b[7] = 0;
        if ((b[0] & 0x0f) * 4u <= len && utcp_rng_chance(&rng, 3, 4)) fix_ip_cksum(b);
      }
      break;
    default:
      break;
    }
    fuzz_one(b, len, &seen);
    free(b);
    if (test_failures_ > 20) return;
  }
  /* Coverage: the inputs reached every outcome, so the run did not stop at the first check. */
  static const enum utcp_drop ip_out[] = {
      UTCP_DROP_NONE,         UTCP_DROP_IP_TRUNCATED, UTCP_DROP_IP_BAD_VERSION,
      UTCP_DROP_IP_BAD_HDR_LEN, UTCP_DROP_IP_BAD_TOTAL_LEN, UTCP_DROP_IP_BAD_CKSUM,
      UTCP_DROP_IP_OPTIONS};
  for (size_t i = 0; i < sizeof ip_out / sizeof ip_out[0]; i++) CHECK(seen.ip[ip_out[i]] > 100);
  static const enum utcp_drop tcp_out[] = {UTCP_DROP_NONE, UTCP_DROP_TCP_TRUNCATED,
                                           UTCP_DROP_TCP_BAD_HDR_LEN, UTCP_DROP_TCP_BAD_OPT_LEN};
  for (size_t i = 0; i < sizeof tcp_out / sizeof tcp_out[0]; i++)
    CHECK(seen.tcp[tcp_out[i]] > 100);
  CHECK(seen.tcp_verified[UTCP_DROP_NONE] > 100);
  CHECK(seen.tcp_verified[UTCP_DROP_TCP_BAD_CKSUM] > 100);
  CHECK(seen.tcp_verified[UTCP_DROP_TCP_BAD_OPT_LEN] > 100);
}

/* ---- Formatting and names ---- */

TEST(test_wire_ipv4_fmt) {
  char s[16];
  static const struct {
    uint32_t a;
    const char *want;
  } cases[] = {
      {0, "0.0.0.0"},
      {0xffffffffu, "255.255.255.255"},
      {0x0a000001u, "10.0.0.1"},
      {0xc0a86407u, "192.168.100.7"},
      {0x0114ff00u, "1.20.255.0"},
      {0x63096465u, "99.9.100.101"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    memset(s, 'X', sizeof s);
    CHECK(utcp_ipv4_fmt(cases[i].a, s) == s);
    CHECK(strcmp(s, cases[i].want) == 0);
  }
}

TEST(test_wire_drop_names) {
  /* Each name is the X-macro identifier in lower case; each text is the X-macro text. */
#define DROP_ID(name, id, text) #name,
  static const char *const ids[] = {"NONE", UTCP_DROP_LIST(DROP_ID)};
#undef DROP_ID
#define DROP_TEXT(name, id, text) text,
  static const char *const texts[] = {"", UTCP_DROP_LIST(DROP_TEXT)};
#undef DROP_TEXT
  REQUIRE(sizeof ids / sizeof ids[0] == UTCP_DROP__COUNT);
  for (int r = 0; r < UTCP_DROP__COUNT; r++) {
    const char *n = utcp_drop_name((enum utcp_drop)r);
    REQUIRE(n != NULL);
    size_t len = strlen(ids[r]);
    CHECK_EQ(strlen(n), len);
    for (size_t i = 0; i < len && n[i]; i++)
      CHECK_EQ(n[i], tolower((unsigned char)ids[r][i]));
    const char *t = utcp_drop_text((enum utcp_drop)r);
    REQUIRE(t != NULL);
    CHECK(strlen(t) > 0);
    if (r > 0) CHECK(strcmp(t, texts[r]) == 0);
  }
  CHECK(strcmp(utcp_drop_name(UTCP_DROP_IP_BAD_CKSUM), "ip_bad_cksum") == 0);
  CHECK(utcp_drop_name(UTCP_DROP__COUNT) != NULL);
  CHECK(utcp_drop_text(UTCP_DROP__COUNT) != NULL);
  CHECK(utcp_drop_name((enum utcp_drop)-1) != NULL);
}

TEST_MAIN(TEST_CASE(test_wire_mac), TEST_CASE(test_wire_eth_roundtrip),
          TEST_CASE(test_wire_arp_roundtrip), TEST_CASE(test_wire_arp_bad),
          TEST_CASE(test_wire_ipv4_roundtrip), TEST_CASE(test_wire_ipv4_truncated),
          TEST_CASE(test_wire_ipv4_bad), TEST_CASE(test_wire_icmp_roundtrip),
          TEST_CASE(test_wire_icmp_bad), TEST_CASE(test_wire_tcp_linux_syn),
          TEST_CASE(test_wire_tcp_linux_data), TEST_CASE(test_wire_tcp_roundtrip_plain),
          TEST_CASE(test_wire_tcp_syn_options_layout), TEST_CASE(test_wire_tcp_sack_blocks_cut),
          TEST_CASE(test_wire_tcp_every_option_combination),
          TEST_CASE(test_wire_tcp_emit_payload_in_place), TEST_CASE(test_wire_full_frame),
          TEST_CASE(test_wire_tcp_truncated), TEST_CASE(test_wire_tcp_bad_data_offset),
          TEST_CASE(test_wire_tcp_bad_cksum), TEST_CASE(test_wire_tcp_bit_flips),
          TEST_CASE(test_wire_tcp_bad_options), TEST_CASE(test_wire_tcp_options_semantics),
          TEST_CASE(test_wire_random_bytes), TEST_CASE(test_wire_ipv4_fmt),
          TEST_CASE(test_wire_drop_names))
