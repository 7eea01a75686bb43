/* Shared harness pieces: input reader, one stack with a checking sink and a counting
 * allocator, frame building and checksum fix-up, and the leak-checking teardown. */
#include "fuzz.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/cksum.h"
#include "core/tcp_impl.h"

const struct utcp_mac fz_local_mac = {{0x02, 0, 0, 0, 0, 1}};
const struct utcp_mac fz_peer_mac = {{0x02, 0, 0, 0, 0, 2}};

_Noreturn void fz_fail(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("fuzz: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  abort();
}

/* ---- input reader ---- */

uint8_t fz_u8(struct fz_in *in) {
  if (in->n == 0) return 0;
  in->n--;
  return *in->p++;
}

uint16_t fz_u16(struct fz_in *in) {
  uint16_t hi = fz_u8(in);
  return (uint16_t)(hi << 8 | fz_u8(in));
}

uint32_t fz_u32(struct fz_in *in) {
  uint32_t hi = fz_u16(in);
  return hi << 16 | fz_u16(in);
}

size_t fz_bytes(struct fz_in *in, size_t n, const uint8_t **out) {
  if (n > in->n) n = in->n;
  *out = in->p;
  in->p += n;
  in->n -= n;
  return n;
}

/* ---- environment of the stack ---- */

static void *mem_alloc(void *ctx, size_t size) {
  struct fz_host *h = ctx;
  void *p = calloc(1, size);
  if (p != NULL) h->allocated += size;
  return p;
}

static void mem_free(void *ctx, void *p, size_t size) {
  struct fz_host *h = ctx;
  if (p == NULL) return;
  if (size > h->allocated) fz_fail("allocator: freeing %zu bytes, only %llu held", size,
                                   (unsigned long long)h->allocated);
  h->allocated -= size;
  free(p);
}

static uint8_t *sink_alloc(void *ctx, size_t cap) {
  struct fz_host *h = ctx;
  return cap <= sizeof h->scratch ? h->scratch : NULL;
}

/* Every frame the stack sends must parse, with correct IPv4 and TCP checksums. */
static void sink_commit(void *ctx, uint8_t *buf, size_t len) {
  struct fz_host *h = ctx;
  if (len == 0) return;
  if (buf != h->scratch || len > sizeof h->scratch) fz_fail("sink: commit of a foreign buffer");
  h->frames_out++;
  struct utcp_eth eth;
  if (utcp_eth_parse(buf, len, &eth) != UTCP_DROP_NONE) fz_fail("sink: short frame sent");
  if (eth.type != UTCP_ETHERTYPE_IPV4) return;
  struct utcp_ipv4 ip;
  enum utcp_drop d = utcp_ipv4_parse(eth.payload, eth.payload_len, &ip);
  if (d != UTCP_DROP_NONE) fz_fail("sink: the stack sent a bad IPv4 packet (%s)", utcp_drop_name(d));
  if (ip.proto != UTCP_IPPROTO_TCP) return;
  struct utcp_seg seg;
  d = utcp_tcp_parse(ip.payload, ip.payload_len, ip.src, ip.dst, true, &seg);
  if (d != UTCP_DROP_NONE) fz_fail("sink: the stack sent a bad TCP segment (%s)", utcp_drop_name(d));
  if (seg.len > 0 && (seg.flags & (UTCP_TCP_SYN | UTCP_TCP_RST)) == UTCP_TCP_RST)
    fz_fail("sink: RST with %zu payload bytes", seg.len);
  for (int i = 0; i < FZ_MAX_FLOWS && seg.len > 0; i++) {
    const struct fz_flow *f = &h->flows[i];
    if (!f->on || f->lport != seg.sport || f->rport != seg.dport) continue;
    uint32_t first = seg.seq.v + ((seg.flags & UTCP_TCP_SYN) ? 1u : 0u);
    uint32_t k0 = first - (f->iss + 1);
    for (size_t j = 0; j < seg.len; j++)
      if (seg.payload[j] != fz_pat_app((uint32_t)(k0 + j)))
        fz_fail("sink: port %u->%u sent byte %02x at stream offset %u, the application wrote %02x",
                seg.sport, seg.dport, seg.payload[j], (unsigned)(k0 + j),
                fz_pat_app((uint32_t)(k0 + j)));
  }
  seg.payload = NULL;
  h->last.valid = true;
  h->last.seg = seg;
  h->last.src = ip.src;
  h->last.dst = ip.dst;
  if (seg.opt.present & UTCP_OPT_TS) {
    h->peer_ts_seen = seg.opt.ts_val;
    h->ts_seen = true;
  }
}

void fz_host_config(struct utcp_stack_config *cfg) {
  utcp_stack_config_default(cfg);
  cfg->mac = fz_local_mac;
  cfg->ip = FZ_LOCAL_IP;
  cfg->netmask = 0xffffff00u;
  cfg->seed = 1;
  for (int i = 0; i < 16; i++) cfg->isn_key[i] = (uint8_t)(i * 17);
  cfg->arp_entries = 8;
  cfg->arp_pending_total = 16;
  cfg->event_queue_len = 64;
  cfg->static_arp_count = 1;
  cfg->static_arp[0].ip = FZ_PEER_IP;
  cfg->static_arp[0].mac = fz_peer_mac;
  cfg->tcp.max_conns = 8;
  cfg->tcp.syn_backlog = 4;
  cfg->tcp.chunks = 96;
  cfg->tcp.reass_nodes = 32;
  cfg->tcp.reass_max_ranges = 8;
}

bool fz_host_init(struct fz_host *h, const struct utcp_stack_config *cfg) {
  memset(&h->last, 0, sizeof h->last);
  h->cfg = *cfg;
  h->now = 0;
  h->allocated = 0;
  h->frames_out = 0;
  h->ts_seen = false;
  h->peer_ts_seen = 0;
  h->s = NULL;
  memset(h->flows, 0, sizeof h->flows);
  struct utcp_mem mem = {.ctx = h, .alloc = mem_alloc, .free = mem_free};
  struct utcp_tx_sink sink = {.ctx = h, .alloc = sink_alloc, .commit = sink_commit};
  if (utcp_stack_new(&h->cfg, &mem, &sink, 0, &h->s) != 0) {
    if (h->allocated != 0) fz_fail("utcp_stack_new failed and kept %llu bytes",
                                   (unsigned long long)h->allocated);
    return false;
  }
  return true;
}

void fz_host_advance(struct fz_host *h, uint64_t t) {
  if (t < h->now) t = h->now;
  /* Each expiry fires a timer or moves the wheel past a slot (timer.h), so the work is
   * bounded by the slots passed plus the timers fired; far beyond that is a livelock. */
  uint64_t guard = 0;
  for (;;) {
    uint64_t d = utcp_stack_next_deadline(h->s);
    if (d > t) break;
    if (d > h->now) h->now = d;
    utcp_stack_on_timer(h->s, h->now);
    if (++guard > 2000000) fz_fail("timer livelock at %llu ns", (unsigned long long)h->now);
  }
  h->now = t;
  utcp_stack_on_timer(h->s, h->now);
}

void fz_host_input(struct fz_host *h, const uint8_t *frame, size_t len) {
  utcp_stack_input(h->s, frame, len, h->now);
}

size_t fz_build_tcp_frame(const struct utcp_mac *dmac, const struct utcp_mac *smac, uint32_t src,
                          uint32_t dst, const struct utcp_seg *seg, uint8_t *buf, size_t cap) {
  struct utcp_eth eth = {.dst = *dmac, .src = *smac, .type = UTCP_ETHERTYPE_IPV4};
  size_t n = utcp_eth_emit(&eth, buf, cap);
  if (n == 0 || cap < n + UTCP_IPV4_HLEN) return 0;
  size_t tcp_len = utcp_tcp_emit(seg, src, dst, buf + n + UTCP_IPV4_HLEN, cap - n - UTCP_IPV4_HLEN);
  if (tcp_len == 0) return 0;
  struct utcp_ipv4 ip = {.ttl = 64, .proto = UTCP_IPPROTO_TCP, .src = src, .dst = dst,
                         .payload_len = tcp_len, .frag = UTCP_IPV4_DF};
  size_t ip_len = utcp_ipv4_emit(&ip, buf + n, cap - n);
  if (ip_len == 0) return 0;
  return n + ip_len + tcp_len;
}

void fz_host_inject(struct fz_host *h, const struct utcp_seg *seg) {
  static uint8_t frame[UTCP_ETH_HLEN + 9100];
  size_t n = fz_build_tcp_frame(&fz_local_mac, &fz_peer_mac, FZ_PEER_IP, FZ_LOCAL_IP, seg, frame,
                                sizeof frame);
  if (n == 0) fz_fail("could not build a frame");
  fz_host_input(h, frame, n);
}

void fz_host_watch_flow(struct fz_host *h, uint16_t lport, uint16_t rport, uint32_t iss) {
  int slot = -1;
  for (int i = 0; i < FZ_MAX_FLOWS; i++) {
    if (h->flows[i].on && h->flows[i].lport == lport && h->flows[i].rport == rport) {
      slot = i;
      break;
    }
    if (!h->flows[i].on && slot < 0) slot = i;
  }
  if (slot < 0) slot = 0;
  h->flows[slot] = (struct fz_flow){.on = true, .lport = lport, .rport = rport, .iss = iss};
}

utcp_conn_t fz_host_establish(struct fz_host *h, uint16_t peer_port, uint32_t irs,
                              const struct utcp_tcp_opts *opts, utcp_conn_t *listener) {
  if (utcp_tcp_listen(h->s, FZ_LOCAL_PORT, 4, listener) != 0) fz_fail("listen failed");
  struct utcp_seg syn = {.sport = peer_port, .dport = FZ_LOCAL_PORT, .seq = utcp_seq(irs),
                         .flags = UTCP_TCP_SYN, .wnd = 65535};
  if (opts != NULL) syn.opt = *opts;
  h->last.valid = false;
  fz_host_inject(h, &syn);
  if (!h->last.valid || h->last.seg.flags != (UTCP_TCP_SYN | UTCP_TCP_ACK)) return 0;
  struct utcp_seg synack = h->last.seg;
  struct utcp_seg ack = {.sport = peer_port, .dport = FZ_LOCAL_PORT, .seq = utcp_seq(irs + 1),
                         .ack = utcp_seq_add(synack.seq, 1), .flags = UTCP_TCP_ACK,
                         .wnd = 65535};
  if (synack.opt.present & UTCP_OPT_TS) {
    ack.opt.present = UTCP_OPT_TS;
    ack.opt.ts_val = (opts != NULL ? opts->ts_val : 0) + 1;
    ack.opt.ts_ecr = synack.opt.ts_val;
  }
  fz_host_inject(h, &ack);
  utcp_conn_t c = 0;
  if (utcp_tcp_accept(h->s, *listener, &c) != 0) return 0;
  fz_host_watch_flow(h, FZ_LOCAL_PORT, peer_port, synack.seq.v);
  fz_host_events(h, 0);
  return c;
}

uint32_t fz_host_events(struct fz_host *h, utcp_conn_t c) {
  struct utcp_event ev[32];
  uint32_t mask = 0;
  size_t n;
  while ((n = utcp_stack_poll_events(h->s, ev, 32)) > 0)
    for (size_t i = 0; i < n; i++)
      if (c != 0 && ev[i].conn == c) mask |= 1u << ev[i].type;
  return mask;
}

void fz_host_teardown(struct fz_host *h, const utcp_conn_t *handles, size_t n) {
  for (size_t i = 0; i < n; i++) {
    if (handles[i] == 0) continue;
    int rc = utcp_tcp_abort(h->s, handles[i], h->now);
    if (rc != 0 && rc != UTCP_ERR_BADF) fz_fail("abort: %s", utcp_strerror(rc));
  }
  fz_host_events(h, 0);
  /* Everything left runs on timers that end it: TIME-WAIT (2 MSL), orphaned FIN-WAIT-2,
   * retransmissions up to their limit with RTO at most rto_max. */
  uint64_t end = h->now + 6 * 3600 * FZ_S;
  while (utcp_stack_next_deadline(h->s) <= end && utcp_tcp_conns_in_use(h->s) > 0) {
    fz_host_advance(h, utcp_stack_next_deadline(h->s));
    fz_host_events(h, 0);
  }
  if (utcp_tcp_conns_in_use(h->s) != 0) {
    const struct utcp_tcp *tcp = h->s->tcp;
    for (uint32_t i = 0; i < tcp->n_tcbs; i++) {
      const struct utcp_tcb *t = &tcp->tcbs[i];
      if (!t->used) continue;
      fprintf(stderr, "  tcb %u: %s %u->%u flags 0x%x timer %s rexmt %llu persist %llu 2msl %llu "
                      "keep %llu delack %llu synq %u acceptq %u listener %u\n",
              i, utcp_tcp_state_name(t->state), t->lport, t->rport, t->flags,
              utcp_timer_running(&t->timer) ? "on" : "off", (unsigned long long)t->t_rexmt,
              (unsigned long long)t->t_persist, (unsigned long long)t->t_2msl,
              (unsigned long long)t->t_keep, (unsigned long long)t->t_delack, t->synq_len,
              t->acceptq_len, t->listener);
    }
    fz_fail("leak: %u connections still in use at %llu ns", utcp_tcp_conns_in_use(h->s),
            (unsigned long long)h->now);
  }
  if (utcp_tcp_timers_running(h->s) != 0)
    fz_fail("leak: %llu TCP timers still running",
            (unsigned long long)utcp_tcp_timers_running(h->s));
  if (utcp_tcp_chunks_in_use(h->s) != 0)
    fz_fail("leak: %u buffer chunks still in use", utcp_tcp_chunks_in_use(h->s));
  utcp_stack_free(h->s);
  h->s = NULL;
  if (h->allocated != 0)
    fz_fail("leak: %llu bytes not given back to the allocator", (unsigned long long)h->allocated);
}

/* ---- checksum fix-up ---- */

static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }

bool fz_fix_checksums(uint8_t *frame, size_t len) {
  if (len < UTCP_ETH_HLEN + UTCP_IPV4_HLEN || get16(frame + 12) != UTCP_ETHERTYPE_IPV4) return false;
  uint8_t *ip = frame + UTCP_ETH_HLEN;
  size_t avail = len - UTCP_ETH_HLEN;
  size_t ihl = (size_t)(ip[0] & 0x0f) * 4;
  if (ihl < UTCP_IPV4_HLEN || ihl > avail) return false;
  memset(ip + 10, 0, 2);
  uint16_t c = utcp_cksum(ip, ihl);
  memcpy(ip + 10, &c, 2);
  size_t total = get16(ip + 2);
  if (total < ihl || total > avail) return true;
  uint8_t *l4 = ip + ihl;
  size_t l4_len = total - ihl;
  uint32_t src = (uint32_t)get16(ip + 12) << 16 | get16(ip + 14);
  uint32_t dst = (uint32_t)get16(ip + 16) << 16 | get16(ip + 18);
  if (ip[9] == UTCP_IPPROTO_TCP && l4_len >= UTCP_TCP_HLEN) {
    memset(l4 + 16, 0, 2);
    c = utcp_cksum_finish(utcp_cksum_add(utcp_cksum_pseudo(src, dst, UTCP_IPPROTO_TCP,
                                                           (uint16_t)l4_len), l4, l4_len));
    memcpy(l4 + 16, &c, 2);
  } else if (ip[9] == UTCP_IPPROTO_ICMP && l4_len >= UTCP_ICMP_HLEN) {
    memset(l4 + 2, 0, 2);
    c = utcp_cksum(l4, l4_len);
    memcpy(l4 + 2, &c, 2);
  }
  return true;
}
