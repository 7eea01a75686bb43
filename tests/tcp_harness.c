#include "tcp_harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/wire.h"

static const struct utcp_mac local_mac = {{0x02, 0, 0, 0, 0, 1}};
static const struct utcp_mac peer_mac = {{0x02, 0, 0, 0, 0, 2}};

static void *mem_alloc(void *ctx, size_t size) {
  struct th *h = ctx;
  h->allocated += size;
  return calloc(1, size);
}

static void mem_free(void *ctx, void *p, size_t size) {
  struct th *h = ctx;
  h->allocated -= size;
  free(p);
}

static uint8_t *sink_alloc(void *ctx, size_t cap) {
  struct th *h = ctx;
  return cap <= sizeof h->scratch ? h->scratch : NULL;
}

static void sink_commit(void *ctx, uint8_t *buf, size_t len) {
  struct th *h = ctx;
  if (len == 0) return;
  if (h->count == TH_MAX_FRAMES || len > sizeof h->frames[0]) {
    fprintf(stderr, "tcp_harness: capture full\n");
    abort();
  }
  size_t slot = (h->head + h->count) % TH_MAX_FRAMES;
  memcpy(h->frames[slot], buf, len);
  h->lens[slot] = len;
  h->count++;
}

void th_config(struct utcp_stack_config *cfg) {
  utcp_stack_config_default(cfg);
  cfg->mac = local_mac;
  cfg->ip = TH_LOCAL_IP;
  cfg->netmask = 0xffffff00u;
  cfg->seed = 1;
  for (int i = 0; i < 16; i++) cfg->isn_key[i] = (uint8_t)i;
  cfg->static_arp_count = 1;
  cfg->static_arp[0].ip = TH_PEER_IP;
  cfg->static_arp[0].mac = peer_mac;
  cfg->tcp.max_conns = 64;
  cfg->tcp.chunks = 512;
  cfg->tcp.reass_nodes = 256;
}

struct th *th_new(const struct utcp_stack_config *cfg) {
  struct th *h = calloc(1, sizeof *h);
  if (cfg != NULL) {
    h->cfg = *cfg;
  } else {
    th_config(&h->cfg);
  }
  struct utcp_mem mem = {.ctx = h, .alloc = mem_alloc, .free = mem_free};
  struct utcp_tx_sink sink = {.ctx = h, .alloc = sink_alloc, .commit = sink_commit};
  h->now = 0;
  if (utcp_stack_new(&h->cfg, &mem, &sink, 0, &h->s) != 0) {
    fprintf(stderr, "tcp_harness: utcp_stack_new failed\n");
    abort();
  }
  return h;
}

bool th_idle(const struct th *h) {
  bool ok = true;
  if (utcp_tcp_conns_in_use(h->s) != 0) {
    fprintf(stderr, "leak: %u connections in use\n", utcp_tcp_conns_in_use(h->s));
    ok = false;
  }
  if (utcp_tcp_timers_running(h->s) != 0) {
    fprintf(stderr, "leak: %llu timers running\n",
            (unsigned long long)utcp_tcp_timers_running(h->s));
    ok = false;
  }
  if (utcp_tcp_chunks_in_use(h->s) != 0) {
    fprintf(stderr, "leak: %u chunks in use\n", utcp_tcp_chunks_in_use(h->s));
    ok = false;
  }
  return ok;
}

bool th_free(struct th *h) {
  bool ok = th_idle(h);
  utcp_stack_free(h->s);
  if (h->allocated != 0) {
    fprintf(stderr, "leak: %llu bytes not given back\n", (unsigned long long)h->allocated);
    ok = false;
  }
  free(h);
  return ok;
}

void th_at(struct th *h, uint64_t t_ms) {
  uint64_t target = t_ms * MS_NS;
  if (target < h->now) {
    fprintf(stderr, "tcp_harness: time goes backwards (%llu ms)\n", (unsigned long long)t_ms);
    abort();
  }
  for (;;) {
    uint64_t d = utcp_stack_next_deadline(h->s);
    if (d > target) break;
    if (d > h->now) h->now = d;
    utcp_stack_on_timer(h->s, h->now);
  }
  h->now = target;
  utcp_stack_on_timer(h->s, h->now);
}

void th_in(struct th *h, struct utcp_seg seg) {
  if (seg.sport == 0) seg.sport = TH_PEER_PORT;
  if (seg.dport == 0) seg.dport = TH_LOCAL_PORT;
  uint8_t frame[1600 + 9000];
  struct utcp_eth eth = {.dst = local_mac, .src = peer_mac, .type = UTCP_ETHERTYPE_IPV4};
  size_t n = utcp_eth_emit(&eth, frame, sizeof frame);
  size_t tcp_len = utcp_tcp_emit(&seg, TH_PEER_IP, TH_LOCAL_IP, frame + n + UTCP_IPV4_HLEN,
                                 sizeof frame - n - UTCP_IPV4_HLEN);
  struct utcp_ipv4 ip = {.ttl = 64, .proto = UTCP_IPPROTO_TCP, .src = TH_PEER_IP,
                         .dst = TH_LOCAL_IP, .payload_len = tcp_len, .frag = UTCP_IPV4_DF};
  n += utcp_ipv4_emit(&ip, frame + n, sizeof frame - n);
  utcp_stack_input(h->s, frame, n + tcp_len, h->now);
}

size_t th_pending(const struct th *h) { return h->count; }

void th_clear(struct th *h) { h->head = h->count = 0; }

bool th_out(struct th *h, struct utcp_seg *seg) {
  static uint8_t copy[1600];
  while (h->count > 0) {
    const uint8_t *f = h->frames[h->head];
    size_t len = h->lens[h->head];
    h->head = (h->head + 1) % TH_MAX_FRAMES;
    h->count--;
    struct utcp_eth eth;
    struct utcp_ipv4 ip;
    if (utcp_eth_parse(f, len, &eth) != UTCP_DROP_NONE || eth.type != UTCP_ETHERTYPE_IPV4) continue;
    if (utcp_ipv4_parse(eth.payload, eth.payload_len, &ip) != UTCP_DROP_NONE) abort();
    if (ip.proto != UTCP_IPPROTO_TCP) continue;
    memcpy(copy, ip.payload, ip.payload_len);
    if (utcp_tcp_parse(copy, ip.payload_len, ip.src, ip.dst, true, seg) != UTCP_DROP_NONE) {
      fprintf(stderr, "tcp_harness: the stack sent a malformed segment\n");
      abort();
    }
    return true;
  }
  return false;
}

utcp_conn_t th_accept_conn(struct th *h, uint32_t irs, const struct utcp_tcp_opts *opts,
                           utcp_seq_t *iss, utcp_conn_t *listener) {
  utcp_conn_t l = 0, c = 0;
  if (utcp_tcp_listen(h->s, TH_LOCAL_PORT, 16, &l) != 0) abort();
  struct utcp_seg syn = {.seq = utcp_seq(irs), .flags = UTCP_TCP_SYN, .wnd = 65535};
  if (opts != NULL) syn.opt = *opts;
  th_in(h, syn);
  struct utcp_seg synack;
  if (!th_out(h, &synack) || synack.flags != (UTCP_TCP_SYN | UTCP_TCP_ACK)) abort();
  struct utcp_seg ack = {.seq = utcp_seq(irs + 1), .ack = utcp_seq_add(synack.seq, 1),
                         .flags = UTCP_TCP_ACK, .wnd = 65535};
  if (opts != NULL && (opts->present & UTCP_OPT_TS)) {
    ack.opt.present = UTCP_OPT_TS;
    ack.opt.ts_val = opts->ts_val + 1;
    ack.opt.ts_ecr = synack.opt.ts_val;
  }
  th_in(h, ack);
  if (utcp_tcp_accept(h->s, l, &c) != 0) abort();
  th_events(h, c);
  if (iss != NULL) *iss = synack.seq;
  if (listener != NULL) {
    *listener = l;
  } else {
    utcp_tcp_close(h->s, l, h->now);
  }
  return c;
}

utcp_conn_t th_connect_conn(struct th *h, uint32_t irs, const struct utcp_tcp_opts *opts,
                            utcp_seq_t *iss) {
  utcp_conn_t c = 0;
  if (utcp_tcp_connect(h->s, TH_PEER_IP, TH_PEER_PORT, TH_LOCAL_PORT, h->now, &c) != 0) abort();
  struct utcp_seg syn;
  if (!th_out(h, &syn) || syn.flags != UTCP_TCP_SYN) abort();
  struct utcp_seg synack = {.seq = utcp_seq(irs), .ack = utcp_seq_add(syn.seq, 1),
                            .flags = UTCP_TCP_SYN | UTCP_TCP_ACK, .wnd = 65535};
  if (opts != NULL) synack.opt = *opts;
  if (opts != NULL && (opts->present & UTCP_OPT_TS)) synack.opt.ts_ecr = syn.opt.ts_val;
  th_in(h, synack);
  struct utcp_seg ack;
  if (!th_out(h, &ack) || ack.flags != UTCP_TCP_ACK) abort();
  th_events(h, c);
  if (iss != NULL) *iss = syn.seq;
  return c;
}

uint32_t th_events(struct th *h, utcp_conn_t c) {
  struct utcp_event ev[64];
  uint32_t mask = 0;
  size_t n;
  while ((n = utcp_stack_poll_events(h->s, ev, 64)) > 0)
    for (size_t i = 0; i < n; i++)
      if (ev[i].conn == c) mask |= 1u << ev[i].type;
  return mask;
}

uint64_t th_cov(const struct th *h, const char *mark) {
  int i = utcp_coverage_find(mark);
  if (i < 0) abort();
  return utcp_stack_counters(h->s)->cov[i];
}

uint64_t th_drops(const struct th *h, enum utcp_drop why) {
  return utcp_stack_counters(h->s)->drop[why];
}
