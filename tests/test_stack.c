/* The stack skeleton: config checks, ARP (RFC 826, RFC 1122 2.3.2), IPv4 input checks,
 * ICMP echo (RFC 792, RFC 1122 3.2.2.6), and every malformed frame a counted drop. */
#include <stdlib.h>
#include <string.h>

#include "core/cksum.h"
#include "core/rng.h"
#include "core/stack.h"
#include "core/wire.h"
#include "test.h"

#define SEC 1000000000ull

static const struct utcp_mac my_mac = {{0x02, 0, 0, 0, 0, 1}};
static const struct utcp_mac peer_mac = {{0x02, 0, 0, 0, 0, 2}};
static const uint32_t my_ip = 0x0a000001u, peer_ip = 0x0a000002u;

struct cap {
  uint8_t buf[2048];
  uint8_t frames[64][1600];
  size_t lens[64];
  size_t n;
  bool refuse; /* sink has no buffers */
};

static uint8_t *cap_alloc(void *ctx, size_t cap) {
  struct cap *c = ctx;
  return c->refuse || cap > sizeof c->buf ? NULL : c->buf;
}
static void cap_commit(void *ctx, uint8_t *buf, size_t len) {
  struct cap *c = ctx;
  if (len == 0) return;
  if (c->n == 64) abort();
  memcpy(c->frames[c->n], buf, len);
  c->lens[c->n++] = len;
}
static void *m_alloc(void *ctx, size_t size) {
  (void)ctx;
  return calloc(1, size);
}
static void m_free(void *ctx, void *p, size_t size) {
  (void)ctx;
  (void)size;
  free(p);
}

static void config(struct utcp_stack_config *cfg) {
  utcp_stack_config_default(cfg);
  cfg->mac = my_mac;
  cfg->ip = my_ip;
  cfg->netmask = 0xffffff00u;
  cfg->seed = 7;
  cfg->tcp.max_conns = 16;
  cfg->tcp.chunks = 16;
  cfg->tcp.reass_nodes = 16;
}

static struct utcp_stack *new_stack(const struct utcp_stack_config *cfg, struct cap *c) {
  struct utcp_mem mem = {.alloc = m_alloc, .free = m_free};
  struct utcp_tx_sink sink = {.ctx = c, .alloc = cap_alloc, .commit = cap_commit};
  struct utcp_stack *s = NULL;
  if (utcp_stack_new(cfg, &mem, &sink, 0, &s) != 0) abort();
  return s;
}

static size_t arp_frame(uint8_t *f, uint16_t op, const struct utcp_mac *sha, uint32_t spa,
                        uint32_t tpa, const struct utcp_mac *dst) {
  struct utcp_eth eth = {.dst = *dst, .src = *sha, .type = UTCP_ETHERTYPE_ARP};
  struct utcp_arp arp = {.op = op, .sha = *sha, .spa = spa, .tpa = tpa};
  size_t n = utcp_eth_emit(&eth, f, 64);
  return n + utcp_arp_emit(&arp, f + n, 64 - n);
}

static size_t echo_frame(uint8_t *f, uint32_t src, uint16_t seq) {
  struct utcp_eth eth = {.dst = my_mac, .src = peer_mac, .type = UTCP_ETHERTYPE_IPV4};
  size_t n = utcp_eth_emit(&eth, f, 1600);
  uint8_t data[8] = {1, 2, 3, 4, 5, 6, 7, 8};
  struct utcp_icmp icmp = {.type = UTCP_ICMP_ECHO_REQUEST, .id = 9, .seq = seq, .data = data,
                           .data_len = 8};
  size_t l4 = utcp_icmp_emit(&icmp, f + n + 20, 1600 - n - 20);
  struct utcp_ipv4 ip = {.ttl = 64, .proto = UTCP_IPPROTO_ICMP, .src = src, .dst = my_ip,
                         .payload_len = l4};
  n += utcp_ipv4_emit(&ip, f + n, 20);
  return n + l4;
}

TEST(test_stack_config_check) {
  struct utcp_stack_config cfg;
  config(&cfg);
  CHECK_EQ(utcp_stack_config_check(&cfg), 0);
  struct utcp_stack_config bad = cfg;
  bad.ip = 0;
  CHECK_EQ(utcp_stack_config_check(&bad), UTCP_ERR_INVAL);
  bad = cfg;
  bad.netmask = 0xff00ff00u;
  CHECK_EQ(utcp_stack_config_check(&bad), UTCP_ERR_INVAL);
  bad = cfg;
  bad.mac = utcp_mac_broadcast;
  CHECK_EQ(utcp_stack_config_check(&bad), UTCP_ERR_INVAL);
  bad = cfg;
  bad.mtu = 67;
  CHECK_EQ(utcp_stack_config_check(&bad), UTCP_ERR_INVAL);
  bad = cfg;
  bad.gateway = 0x0b000001u; /* not on-link */
  CHECK_EQ(utcp_stack_config_check(&bad), UTCP_ERR_INVAL);
  bad = cfg;
  bad.tcp.delack_ns = SEC; /* RFC 1122 4.2.3.2: < 0.5 s */
  CHECK_EQ(utcp_stack_config_check(&bad), UTCP_ERR_INVAL);
  bad = cfg;
  bad.tcp.rto_min_ns = 0;
  CHECK_EQ(utcp_stack_config_check(&bad), UTCP_ERR_INVAL);
  struct utcp_stack *s = NULL;
  struct utcp_mem mem = {.alloc = m_alloc, .free = m_free};
  struct cap c = {0};
  struct utcp_tx_sink sink = {.ctx = &c, .alloc = cap_alloc, .commit = cap_commit};
  CHECK_EQ(utcp_stack_new(&bad, &mem, &sink, 0, &s), UTCP_ERR_INVAL);
  CHECK(s == NULL);
  CHECK_EQ(utcp_stack_new(&cfg, NULL, &sink, 0, &s), UTCP_ERR_INVAL);
}

TEST(test_stack_arp_request_reply_and_learn) {
  struct utcp_stack_config cfg;
  config(&cfg);
  struct cap c = {0};
  struct utcp_stack *s = new_stack(&cfg, &c);
  uint8_t f[64];
  size_t n = arp_frame(f, UTCP_ARP_REQUEST, &peer_mac, peer_ip, my_ip, &utcp_mac_broadcast);
  utcp_stack_input(s, f, n, 0);
  REQUIRE(c.n == 1);
  struct utcp_eth eth;
  struct utcp_arp arp;
  REQUIRE(utcp_eth_parse(c.frames[0], c.lens[0], &eth) == UTCP_DROP_NONE);
  CHECK(utcp_mac_eq(&eth.dst, &peer_mac));
  REQUIRE(utcp_arp_parse(eth.payload, eth.payload_len, &arp) == UTCP_DROP_NONE);
  CHECK_EQ(arp.op, UTCP_ARP_REPLY);
  CHECK_EQ(arp.spa, my_ip);
  CHECK_EQ(arp.tpa, peer_ip);
  CHECK(utcp_mac_eq(&arp.sha, &my_mac));
  /* RFC 826: the requester was added to the table. */
  struct utcp_mac m;
  CHECK_EQ(utcp_arp_lookup(s, peer_ip, &m), 0);
  CHECK(utcp_mac_eq(&m, &peer_mac));
  /* A request for someone else is counted, not answered. */
  n = arp_frame(f, UTCP_ARP_REQUEST, &peer_mac, peer_ip, 0x0a000009u, &utcp_mac_broadcast);
  utcp_stack_input(s, f, n, 0);
  CHECK_EQ(c.n, 1);
  CHECK_EQ(utcp_stack_counters(s)->drop[UTCP_DROP_ARP_NOT_FOR_US], 1);
  utcp_stack_free(s);
}

TEST(test_stack_arp_resolve_queue_retry_give_up) {
  struct utcp_stack_config cfg;
  config(&cfg);
  cfg.arp_pending_per_entry = 2;
  struct cap c = {0};
  struct utcp_stack *s = new_stack(&cfg, &c);
  /* Three pings to an unresolved neighbour: one ARP request, two frames held, the oldest
   * gives way (RFC 1122 2.3.2.2 keeps the latest). */
  CHECK_EQ(utcp_stack_ping(s, peer_ip, 1, 1, 8, 0), 0);
  CHECK_EQ(utcp_stack_ping(s, peer_ip, 1, 2, 8, 0), 0);
  CHECK_EQ(utcp_stack_ping(s, peer_ip, 1, 3, 8, 0), 0);
  CHECK_EQ(c.n, 1); /* just the request */
  CHECK_EQ(utcp_stack_counters(s)->arp_out_requests, 1);
  CHECK_EQ(utcp_stack_counters(s)->drop[UTCP_DROP_ARP_QUEUE_FULL], 1);
  /* Retries every second, then give up after arp_retries requests. */
  CHECK_EQ(utcp_stack_next_deadline(s), SEC);
  utcp_stack_on_timer(s, SEC);
  utcp_stack_on_timer(s, 2 * SEC);
  CHECK_EQ(utcp_stack_counters(s)->arp_out_requests, 3);
  utcp_stack_on_timer(s, 3 * SEC);
  CHECK_EQ(utcp_stack_counters(s)->arp_out_requests, 3);
  CHECK_EQ(utcp_stack_counters(s)->drop[UTCP_DROP_ARP_UNRESOLVED], 2);
  CHECK_EQ(utcp_stack_next_deadline(s), UINT64_MAX);
  /* Resolution releases held frames in order with the learned MAC. */
  c.n = 0;
  CHECK_EQ(utcp_stack_ping(s, peer_ip, 1, 4, 8, 4 * SEC), 0);
  CHECK_EQ(utcp_stack_ping(s, peer_ip, 1, 5, 8, 4 * SEC), 0);
  uint8_t f[64];
  size_t n = arp_frame(f, UTCP_ARP_REPLY, &peer_mac, peer_ip, my_ip, &my_mac);
  utcp_stack_input(s, f, n, 4 * SEC + 1);
  REQUIRE(c.n == 3);
  for (int i = 1; i <= 2; i++) {
    struct utcp_eth eth;
    struct utcp_ipv4 ip;
    struct utcp_icmp icmp;
    REQUIRE(utcp_eth_parse(c.frames[i], c.lens[i], &eth) == UTCP_DROP_NONE);
    CHECK(utcp_mac_eq(&eth.dst, &peer_mac));
    REQUIRE(utcp_ipv4_parse(eth.payload, eth.payload_len, &ip) == UTCP_DROP_NONE);
    REQUIRE(utcp_icmp_parse(ip.payload, ip.payload_len, &icmp) == UTCP_DROP_NONE);
    CHECK_EQ(icmp.seq, 3 + i);
  }
  /* The entry ages out after arp_ttl_ns. */
  struct utcp_mac m;
  CHECK_EQ(utcp_arp_lookup(s, peer_ip, &m), 0);
  utcp_stack_on_timer(s, 4 * SEC + 1 + cfg.arp_ttl_ns);
  CHECK_EQ(utcp_arp_lookup(s, peer_ip, &m), UTCP_ERR_NOENT);
  utcp_stack_free(s);
}

TEST(test_stack_arp_static_never_overwritten) {
  struct utcp_stack_config cfg;
  config(&cfg);
  cfg.static_arp_count = 1;
  cfg.static_arp[0].ip = peer_ip;
  cfg.static_arp[0].mac = peer_mac;
  struct cap c = {0};
  struct utcp_stack *s = new_stack(&cfg, &c);
  struct utcp_mac other = {{0x02, 9, 9, 9, 9, 9}};
  uint8_t f[64];
  size_t n = arp_frame(f, UTCP_ARP_REPLY, &other, peer_ip, my_ip, &my_mac);
  utcp_stack_input(s, f, n, 0);
  struct utcp_mac m;
  CHECK_EQ(utcp_arp_lookup(s, peer_ip, &m), 0);
  CHECK(utcp_mac_eq(&m, &peer_mac));
  utcp_stack_on_timer(s, cfg.arp_ttl_ns * 2);
  CHECK_EQ(utcp_arp_lookup(s, peer_ip, &m), 0);
  /* A multicast sender MAC is refused. */
  struct utcp_mac mc = {{0x01, 0, 0x5e, 0, 0, 1}};
  n = arp_frame(f, UTCP_ARP_REQUEST, &mc, 0x0a000005u, my_ip, &utcp_mac_broadcast);
  utcp_stack_input(s, f, n, 0);
  CHECK_EQ(utcp_stack_counters(s)->drop[UTCP_DROP_ARP_BAD_SENDER], 1);
  utcp_stack_free(s);
}

TEST(test_stack_icmp_echo_reply) {
  struct utcp_stack_config cfg;
  config(&cfg);
  cfg.static_arp_count = 1;
  cfg.static_arp[0].ip = peer_ip;
  cfg.static_arp[0].mac = peer_mac;
  struct cap c = {0};
  struct utcp_stack *s = new_stack(&cfg, &c);
  uint8_t f[1600];
  size_t n = echo_frame(f, peer_ip, 42);
  utcp_stack_input(s, f, n, 0);
  REQUIRE(c.n == 1);
  struct utcp_eth eth;
  struct utcp_ipv4 ip;
  struct utcp_icmp icmp;
  REQUIRE(utcp_eth_parse(c.frames[0], c.lens[0], &eth) == UTCP_DROP_NONE);
  REQUIRE(utcp_ipv4_parse(eth.payload, eth.payload_len, &ip) == UTCP_DROP_NONE);
  CHECK_EQ(ip.src, my_ip); /* RFC 1122 3.2.2.6: from the address the request was sent to */
  CHECK_EQ(ip.dst, peer_ip);
  REQUIRE(utcp_icmp_parse(ip.payload, ip.payload_len, &icmp) == UTCP_DROP_NONE);
  CHECK_EQ(icmp.type, UTCP_ICMP_ECHO_REPLY);
  CHECK_EQ(icmp.id, 9);
  CHECK_EQ(icmp.seq, 42);
  CHECK_EQ(icmp.data_len, 8);
  CHECK(icmp.data[7] == 8);
  struct utcp_event ev[4];
  CHECK_EQ(utcp_stack_poll_events(s, ev, 4), 0); /* a request is not an event */
  /* Martian sources are dropped (RFC 1122 3.2.1.3). */
  n = echo_frame(f, 0x7f000001u, 1);
  utcp_stack_input(s, f, n, 0);
  n = echo_frame(f, 0xe0000001u, 1);
  utcp_stack_input(s, f, n, 0);
  n = echo_frame(f, my_ip, 1);
  utcp_stack_input(s, f, n, 0);
  CHECK_EQ(utcp_stack_counters(s)->drop[UTCP_DROP_IP_BAD_SRC], 3);
  CHECK_EQ(c.n, 1);
  utcp_stack_free(s);
}

/* Every truncation and every single-bit flip of valid frames goes through the whole receive
 * path as a counted drop (or, for flips the checksums cannot see, a well-defined answer). */
TEST(test_stack_bad_frames_counted) {
  struct utcp_stack_config cfg;
  config(&cfg);
  cfg.static_arp_count = 1;
  cfg.static_arp[0].ip = peer_ip;
  cfg.static_arp[0].mac = peer_mac;
  struct cap c = {0};
  struct utcp_stack *s = new_stack(&cfg, &c);
  uint8_t good[1600];
  size_t n = echo_frame(good, peer_ip, 1);
  uint64_t before = utcp_drops_total(utcp_stack_counters(s));
  for (size_t len = 0; len < n; len++) {
    uint8_t *exact = malloc(len ? len : 1);
    memcpy(exact, good, len);
    c.n = 0;
    utcp_stack_input(s, exact, len, 0);
    CHECK_EQ(c.n, 0); /* nothing answers a truncated frame */
    free(exact);
  }
  uint64_t after = utcp_drops_total(utcp_stack_counters(s));
  CHECK_EQ(after - before, n);
  /* Random garbage: never a crash, always counted or answered. */
  struct utcp_rng rng;
  utcp_rng_init(&rng, 99);
  for (int i = 0; i < 20000; i++) {
    size_t len = (size_t)utcp_rng_below(&rng, 200);
    uint8_t *b = malloc(len ? len : 1);
    memcpy(b, good, len < n ? len : n);
    for (size_t k = 0; k < len; k++)
      if (utcp_rng_chance(&rng, 1, 8)) b[k] = (uint8_t)utcp_rng_next(&rng);
    c.n = 0;
    utcp_stack_input(s, b, len, 0);
    free(b);
  }
  utcp_stack_free(s);
}

TEST_MAIN(TEST_CASE(test_stack_config_check), TEST_CASE(test_stack_arp_request_reply_and_learn),
          TEST_CASE(test_stack_arp_resolve_queue_retry_give_up),
          TEST_CASE(test_stack_arp_static_never_overwritten), TEST_CASE(test_stack_icmp_echo_reply),
          TEST_CASE(test_stack_bad_frames_counted))
