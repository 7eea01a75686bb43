#include "fixture.h"

#include <stdlib.h>
#include <string.h>

static const struct utcp_mac local_mac = {{0x02, 0, 0, 0, 0, 1}};
static const struct utcp_mac peer_mac = {{0x02, 0, 0, 0, 0, 2}};

static void *mem_alloc(void *ctx, size_t size) {
  (void)ctx;
  return calloc(1, size);
}

static void mem_free(void *ctx, void *p, size_t size) {
  (void)ctx;
  (void)size;
  free(p);
}

static uint8_t *sink_alloc(void *ctx, size_t cap) {
  struct bf *b = ctx;
  return cap <= sizeof b->last ? b->last : NULL;
}

static void sink_commit(void *ctx, uint8_t *buf, size_t len) {
  struct bf *b = ctx;
  (void)buf;
  if (len == 0) return;
  b->last_len = len;
  b->frames_out++;
}

void bf_config(struct utcp_stack_config *cfg, uint32_t max_conns) {
  utcp_stack_config_default(cfg);
  cfg->mac = local_mac;
  cfg->ip = BF_LOCAL_IP;
  cfg->netmask = 0xff000000u;
  cfg->seed = 1;
  for (int i = 0; i < 16; i++) cfg->isn_key[i] = (uint8_t)(i * 7 + 1);
  cfg->static_arp_count = 1;
  cfg->static_arp[0].ip = BF_PEER_IP;
  cfg->static_arp[0].mac = peer_mac;
  cfg->tcp.max_conns = max_conns;
  cfg->tcp.chunks = 8192;
  cfg->tcp.reass_nodes = 1024;
}

struct bf *bf_new(const struct utcp_stack_config *cfg) {
  struct bf *b = calloc(1, sizeof *b);
  if (b == NULL) return NULL;
  b->cfg = *cfg;
  struct utcp_mem mem = {.ctx = b, .alloc = mem_alloc, .free = mem_free};
  struct utcp_tx_sink sink = {.ctx = b, .alloc = sink_alloc, .commit = sink_commit};
  if (utcp_stack_new(&b->cfg, &mem, &sink, 0, &b->s) != 0) {
    free(b);
    return NULL;
  }
  return b;
}

void bf_free(struct bf *b) {
  if (b == NULL) return;
  utcp_stack_free(b->s);
  free(b);
}

size_t bf_frame(uint8_t *out, size_t cap, uint32_t src, uint32_t dst, const struct utcp_seg *seg) {
  struct utcp_eth eth = {.dst = local_mac, .src = peer_mac, .type = UTCP_ETHERTYPE_IPV4};
  size_t n = utcp_eth_emit(&eth, out, cap);
  if (n == 0 || cap < n + UTCP_IPV4_HLEN) return 0;
  size_t tcp_len = utcp_tcp_emit(seg, src, dst, out + n + UTCP_IPV4_HLEN, cap - n - UTCP_IPV4_HLEN);
  if (tcp_len == 0) return 0;
  struct utcp_ipv4 ip = {.ttl = 64, .proto = UTCP_IPPROTO_TCP, .src = src, .dst = dst,
                         .payload_len = tcp_len, .frag = UTCP_IPV4_DF};
  n += utcp_ipv4_emit(&ip, out + n, cap - n);
  return n + tcp_len;
}

bool bf_last_seg(struct bf *b, struct utcp_seg *seg) {
  struct utcp_eth eth;
  struct utcp_ipv4 ip;
  if (utcp_eth_parse(b->last, b->last_len, &eth) != UTCP_DROP_NONE) return false;
  if (utcp_ipv4_parse(eth.payload, eth.payload_len, &ip) != UTCP_DROP_NONE) return false;
  if (ip.proto != UTCP_IPPROTO_TCP) return false;
  return utcp_tcp_parse(ip.payload, ip.payload_len, ip.src, ip.dst, true, seg) == UTCP_DROP_NONE;
}

void bf_in(struct bf *b, const struct utcp_seg *seg) {
  uint8_t frame[BF_FRAME_MAX];
  size_t n = bf_frame(frame, sizeof frame, BF_PEER_IP, BF_LOCAL_IP, seg);
  if (n > 0) utcp_stack_input(b->s, frame, n, b->now);
}

void bf_drain_events(struct bf *b) {
  struct utcp_event ev[256];
  while (utcp_stack_poll_events(b->s, ev, 256) > 0) {
  }
}

int bf_connect(struct bf *b, uint16_t lport, uint16_t peer_port, utcp_conn_t *out, utcp_seq_t *iss,
               utcp_seq_t *irs) {
  utcp_conn_t c = 0;
  if (utcp_tcp_connect(b->s, BF_PEER_IP, peer_port, lport, b->now, &c) != 0) return -1;
  struct utcp_seg syn;
  if (!bf_last_seg(b, &syn) || syn.flags != UTCP_TCP_SYN) return -1;
  utcp_seq_t peer_isn = utcp_seq(0x10000000u + peer_port);
  struct utcp_seg synack = {.sport = peer_port, .dport = syn.sport, .seq = peer_isn,
                            .ack = utcp_seq_add(syn.seq, 1),
                            .flags = UTCP_TCP_SYN | UTCP_TCP_ACK, .wnd = 65535};
  synack.opt.present = UTCP_OPT_MSS | UTCP_OPT_WSCALE;
  synack.opt.mss = 1460;
  synack.opt.wscale = 14;
  bf_in(b, &synack);
  if (utcp_tcp_state(b->s, c) != UTCP_TCP_ESTABLISHED) return -1;
  *out = c;
  if (iss != NULL) *iss = syn.seq;
  if (irs != NULL) *irs = peer_isn;
  return 0;
}
