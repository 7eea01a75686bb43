/* Wire-level TCP invariant checker; see checker.h for the rules. */
#include "checker.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/wire.h"

#define HISTORY 8
#define MAX_FLOWS_HINT 1024

struct endpoint {
  uint32_t ip;
  uint16_t port;
  bool syn_seen;
  utcp_seq_t iss;
  struct utcp_tcp_opts syn_opt; /* options of its SYN */
  utcp_seq_t snd_max;           /* highest sequence it sent + 1 */
  /* The same for its previous incarnation on this 4-tuple: a peer still in TIME-WAIT answers
   * the new SYN-ACK with an ACK of the old sequence space (RFC 9293 3.10.7.4). */
  bool prev_known;
  utcp_seq_t prev_iss, prev_snd_max;
  bool edge_known;
  utcp_seq_t edge; /* highest right edge (ACK + scaled window) it advertised */
  bool peer_edge_known;
  utcp_seq_t peer_edge; /* highest right edge it has received from its peer */
  uint32_t watch;       /* 1 + index of its watched connection; 0: none */
};

/* A connection whose utcp_tcp_info snapshots are checked. */
struct watch {
  struct sim_node *node;
  const struct utcp_stack *stack;
  utcp_conn_t conn;
  uint32_t lip, rip;
  uint16_t lport, rport;
  bool used, touched, have_prev, in_episode;
  struct utcp_tcp_info prev;
  uint64_t acks_rx; /* ACK segments it received since the last snapshot */
  uint32_t recover; /* SND.MAX when the current recovery episode began */
  uint32_t next_free;
};

struct flow {
  struct endpoint ep[2]; /* ep[0] has the lower (ip, port) */
  bool used;
};

struct frame_rec {
  uint64_t t;
  char node[24];
  int dir;
  char text[160];
};

struct sim_checker {
  struct sim *sim;
  char *replay;
  struct flow *flows;
  size_t n_flows, cap;
  uint64_t violations, segments;
  struct frame_rec hist[HISTORY];
  size_t hist_n;
  struct watch *watches;
  uint32_t n_watches, cap_watches, free_watch; /* free_watch: 1 + index; 0: none */
  uint32_t *touched;
  uint32_t n_touched, cap_touched;
  uint64_t snapshots;
};

static bool ep_less(uint32_t ip1, uint16_t p1, uint32_t ip2, uint16_t p2) {
  return ip1 < ip2 || (ip1 == ip2 && p1 < p2);
}

static uint64_t flow_key_hash(uint32_t a, uint16_t ap, uint32_t b, uint16_t bp) {
  uint64_t h = ((uint64_t)a << 32 | b) * 0x9e3779b97f4a7c15ull;
  h ^= ((uint64_t)ap << 16 | bp) * 0xbf58476d1ce4e5b9ull;
  /* The table takes the low bits, which the products above draw from the low bits of their
   * inputs only (the port shifted by 16 never reaches them): fold the high bits down. */
  h ^= h >> 31;
  h *= 0x94d049bb133111ebull;
  return h ^ (h >> 29);
}

static void grow(struct sim_checker *c);

/* The flow of (src -> dst), created on first sight; *self is the index of the sender. */
static struct flow *flow_of(struct sim_checker *c, uint32_t src, uint16_t sport, uint32_t dst,
                            uint16_t dport, int *self) {
  if (c->n_flows * 2 >= c->cap) grow(c);
  bool swap = !ep_less(src, sport, dst, dport);
  uint32_t a = swap ? dst : src, b = swap ? src : dst;
  uint16_t ap = swap ? dport : sport, bp = swap ? sport : dport;
  size_t i = flow_key_hash(a, ap, b, bp) & (c->cap - 1);
  for (;; i = (i + 1) & (c->cap - 1)) {
    struct flow *f = &c->flows[i];
    if (!f->used) {
      memset(f, 0, sizeof *f);
      f->used = true;
      f->ep[0].ip = a;
      f->ep[0].port = ap;
      f->ep[1].ip = b;
      f->ep[1].port = bp;
      c->n_flows++;
      *self = swap ? 1 : 0;
      return f;
    }
    if (f->ep[0].ip == a && f->ep[0].port == ap && f->ep[1].ip == b && f->ep[1].port == bp) {
      *self = swap ? 1 : 0;
      return f;
    }
  }
}

static void grow(struct sim_checker *c) {
  size_t old_cap = c->cap;
  struct flow *old = c->flows;
  c->cap = old_cap ? old_cap * 2 : MAX_FLOWS_HINT;
  c->flows = sim_xcalloc(c->cap, sizeof *c->flows);
  c->n_flows = 0;
  for (size_t i = 0; i < old_cap; i++) {
    if (!old[i].used) continue;
    int self;
    struct flow *f = flow_of(c, old[i].ep[0].ip, old[i].ep[0].port, old[i].ep[1].ip,
                             old[i].ep[1].port, &self);
    *f = old[i];
  }
  free(old);
}

static void describe(const struct utcp_seg *seg, uint32_t src, uint32_t dst, char *out,
                     size_t cap) {
  char a[16], b[16], flags[8];
  int k = 0;
  static const char names[] = "FSRPA";
  static const uint8_t bits[] = {UTCP_TCP_FIN, UTCP_TCP_SYN, UTCP_TCP_RST, UTCP_TCP_PSH,
                                 UTCP_TCP_ACK};
  for (int i = 0; i < 5; i++)
    if (seg->flags & bits[i]) flags[k++] = names[i];
  flags[k] = 0;
  snprintf(out, cap, "%s:%u > %s:%u [%s] seq %" PRIu32 " ack %" PRIu32 " win %u len %zu%s%s",
           utcp_ipv4_fmt(src, a), seg->sport, utcp_ipv4_fmt(dst, b), seg->dport, flags,
           seg->seq.v, seg->ack.v, seg->wnd, seg->len,
           (seg->opt.present & UTCP_OPT_TS) ? " TS" : "",
           (seg->opt.present & UTCP_OPT_SACK) ? " SACK" : "");
}

static void remember(struct sim_checker *c, struct sim_node *node, int dir, uint64_t now,
                     const char *text) {
  struct frame_rec *r = &c->hist[c->hist_n++ % HISTORY];
  r->t = now;
  r->dir = dir;
  snprintf(r->node, sizeof r->node, "%s", sim_node_name(node));
  snprintf(r->text, sizeof r->text, "%s", text);
}

static void violation(struct sim_checker *c, uint64_t now, const char *what) {
  c->violations++;
  if (c->violations > 1) return; /* the first one tells the story */
  fprintf(stderr, "CHECKER VIOLATION at %.6f s (seed %" PRIu64 "): %s\n", (double)now / 1e9,
          sim_seed(c->sim), what);
  fprintf(stderr, "last frames:\n");
  size_t n = c->hist_n < HISTORY ? c->hist_n : HISTORY;
  for (size_t i = c->hist_n - n; i < c->hist_n; i++) {
    const struct frame_rec *r = &c->hist[i % HISTORY];
    fprintf(stderr, "  %.6f %-6s %s %s\n", (double)r->t / 1e9, r->node,
            r->dir == SIM_TX ? "sent" : "recv", r->text);
  }
  if (c->replay) fprintf(stderr, "replay: %s\n", c->replay);
  sim_stop(c->sim);
}

static uint32_t scaled_window(const struct flow *f, int self, const struct utcp_seg *seg) {
  if (seg->flags & UTCP_TCP_SYN) return seg->wnd; /* RFC 7323 2.2: never scaled */
  const struct endpoint *me = &f->ep[self], *peer = &f->ep[1 - self];
  bool ws = me->syn_seen && peer->syn_seen && (me->syn_opt.present & UTCP_OPT_WSCALE) &&
            (peer->syn_opt.present & UTCP_OPT_WSCALE);
  uint8_t shift = ws ? (me->syn_opt.wscale > 14 ? 14 : me->syn_opt.wscale) : 0;
  return (uint32_t)seg->wnd << shift;
}

static void check_tx(struct sim_checker *c, struct flow *f, int self, const struct utcp_seg *seg,
                     uint64_t now, const char *text) {
  struct endpoint *me = &f->ep[self], *peer = &f->ep[1 - self];
  char msg[320];
  bool syn = seg->flags & UTCP_TCP_SYN, rst = seg->flags & UTCP_TCP_RST;
  uint8_t syn_only = UTCP_OPT_MSS | UTCP_OPT_WSCALE | UTCP_OPT_SACK_PERM;
  if (!syn && (seg->opt.present & syn_only)) {
    snprintf(msg, sizeof msg, "SYN-only option on a non-SYN segment: %s", text);
    violation(c, now, msg);
  }
  if (syn) {
    if (!(seg->flags & UTCP_TCP_ACK) && me->syn_seen && !utcp_seq_eq(me->iss, seg->seq)) {
      /* A SYN with a new ISN on a known 4-tuple: a new incarnation, forget the old one. */
      for (int i = 0; i < 2; i++) {
        uint32_t ip = f->ep[i].ip;
        uint16_t port = f->ep[i].port;
        uint32_t w = f->ep[i].watch;
        memset(&f->ep[i], 0, sizeof f->ep[i]);
        f->ep[i].ip = ip;
        f->ep[i].port = port;
        f->ep[i].watch = w;
      }
    }
    /* In a simultaneous open the SYN-ACK repeats the sender's own SYN, options included. */
    bool own_syn_again = me->syn_seen && utcp_seq_eq(me->iss, seg->seq);
    if ((seg->flags & UTCP_TCP_ACK) && peer->syn_seen && !own_syn_again) {
      uint8_t offered = peer->syn_opt.present;
      uint8_t extra = seg->opt.present & (UTCP_OPT_WSCALE | UTCP_OPT_TS | UTCP_OPT_SACK_PERM) &
                      (uint8_t)~offered;
      if (extra) {
        snprintf(msg, sizeof msg, "SYN-ACK carries options the SYN did not offer (0x%x): %s",
                 extra, text);
        violation(c, now, msg);
      }
    }
    if (me->syn_seen && !utcp_seq_eq(me->iss, seg->seq)) {
      me->prev_known = true;
      me->prev_iss = me->iss;
      me->prev_snd_max = me->snd_max;
    }
    me->syn_seen = true;
    me->iss = seg->seq;
    me->edge_known = me->peer_edge_known = false;
    me->syn_opt = seg->opt;
    me->snd_max = utcp_seq_add(seg->seq, utcp_seg_seqlen(seg));
    return;
  }
  bool agreed = me->syn_seen && peer->syn_seen;
  bool ts_ok = agreed && (me->syn_opt.present & UTCP_OPT_TS) && (peer->syn_opt.present & UTCP_OPT_TS);
  bool sack_ok = agreed && (me->syn_opt.present & UTCP_OPT_SACK_PERM) &&
                 (peer->syn_opt.present & UTCP_OPT_SACK_PERM);
  if (agreed && !rst && ts_ok != !!(seg->opt.present & UTCP_OPT_TS)) {
    snprintf(msg, sizeof msg, "timestamps %s but the segment %s one: %s",
             ts_ok ? "agreed" : "not agreed", ts_ok ? "lacks" : "carries", text);
    violation(c, now, msg);
  }
  if (agreed && !sack_ok && (seg->opt.present & UTCP_OPT_SACK)) {
    snprintf(msg, sizeof msg, "SACK blocks without SACK-permitted on both SYNs: %s", text);
    violation(c, now, msg);
  }
  if (agreed) {
    uint32_t mss = (peer->syn_opt.present & UTCP_OPT_MSS) ? peer->syn_opt.mss : 536;
    if (ts_ok) mss -= 12;
    if (seg->len > mss) {
      snprintf(msg, sizeof msg, "payload %zu above the effective MSS %u: %s", seg->len, mss, text);
      violation(c, now, msg);
    }
  }
  if (rst) return;
  /* Inside the window the peer advertised, bar a one-byte probe (and the FIN). */
  utcp_seq_t end = utcp_seq_add(seg->seq, (uint32_t)seg->len);
  if (seg->len > 0 && me->peer_edge_known &&
      utcp_seq_gt(end, utcp_seq_add(me->peer_edge, 1))) {
    snprintf(msg, sizeof msg, "data beyond the advertised window (edge %" PRIu32 "): %s",
             me->peer_edge.v, text);
    violation(c, now, msg);
  }
  /* An ACK only for what the peer sent (in this incarnation or, from a TIME-WAIT answer, the
   * one before). */
  bool old_space = peer->prev_known && utcp_seq_gt(seg->ack, peer->prev_iss) &&
                   utcp_seq_le(seg->ack, peer->prev_snd_max);
  if ((seg->flags & UTCP_TCP_ACK) && peer->syn_seen && utcp_seq_gt(seg->ack, peer->snd_max) &&
      !old_space) {
    snprintf(msg, sizeof msg, "ACK %" PRIu32 " beyond what the peer sent (%" PRIu32 "): %s",
             seg->ack.v, peer->snd_max.v, text);
    violation(c, now, msg);
  }
  /* The right edge never moves left. */
  if ((seg->flags & UTCP_TCP_ACK) && agreed) {
    utcp_seq_t edge = utcp_seq_add(seg->ack, scaled_window(f, self, seg));
    if (me->edge_known && utcp_seq_lt(edge, me->edge)) {
      snprintf(msg, sizeof msg, "right edge moved left from %" PRIu32 " to %" PRIu32 ": %s",
               me->edge.v, edge.v, text);
      violation(c, now, msg);
    }
    if (!me->edge_known || utcp_seq_gt(edge, me->edge)) me->edge = edge;
    me->edge_known = true;
  }
  utcp_seq_t sent_end = utcp_seq_add(seg->seq, utcp_seg_seqlen(seg));
  if (utcp_seq_gt(sent_end, me->snd_max)) me->snd_max = sent_end;
}

static void touch(struct sim_checker *c, uint32_t w) {
  struct watch *x = &c->watches[w];
  if (x->touched) return;
  x->touched = true;
  if (c->n_touched == c->cap_touched) {
    c->cap_touched = c->cap_touched ? 2 * c->cap_touched : 256;
    uint32_t *t = realloc(c->touched, c->cap_touched * sizeof *t);
    if (t == NULL) abort();
    c->touched = t;
  }
  c->touched[c->n_touched++] = w;
}

static void check_rx(struct flow *f, int self, const struct utcp_seg *seg) {
  /* self received seg from its peer: learn the edge the peer advertised to it. */
  struct endpoint *me = &f->ep[self];
  if (!(seg->flags & UTCP_TCP_ACK) || (seg->flags & UTCP_TCP_RST)) return;
  utcp_seq_t edge = utcp_seq_add(seg->ack, scaled_window(f, 1 - self, seg));
  if (!me->peer_edge_known || utcp_seq_gt(edge, me->peer_edge)) me->peer_edge = edge;
  me->peer_edge_known = true;
}

static void observe(void *ctx, struct sim_node *node, int dir, const uint8_t *frame, size_t len,
                    uint64_t now) {
  struct sim_checker *c = ctx;
  struct utcp_eth eth;
  struct utcp_ipv4 ip;
  struct utcp_seg seg;
  if (utcp_eth_parse(frame, len, &eth) != UTCP_DROP_NONE || eth.type != UTCP_ETHERTYPE_IPV4)
    return;
  enum utcp_drop why = utcp_ipv4_parse(eth.payload, eth.payload_len, &ip);
  if (dir == SIM_TX && why != UTCP_DROP_NONE) {
    char msg[128];
    snprintf(msg, sizeof msg, "node %s sent a bad IPv4 packet (%s)", sim_node_name(node),
             utcp_drop_name(why));
    violation(c, now, msg);
    return;
  }
  if (why != UTCP_DROP_NONE || ip.proto != UTCP_IPPROTO_TCP) return;
  /* Received frames may have been corrupted on the link: those are the stack's to drop. */
  why = utcp_tcp_parse(ip.payload, ip.payload_len, ip.src, ip.dst, true, &seg);
  if (why != UTCP_DROP_NONE) {
    if (dir == SIM_TX) {
      char msg[128];
      snprintf(msg, sizeof msg, "node %s sent a bad TCP segment (%s)", sim_node_name(node),
               utcp_drop_name(why));
      violation(c, now, msg);
    }
    return;
  }
  char text[160];
  describe(&seg, ip.src, ip.dst, text, sizeof text);
  remember(c, node, dir, now, text);
  int self;
  struct flow *f = flow_of(c, ip.src, seg.sport, ip.dst, seg.dport, &self);
  if (dir == SIM_TX) {
    c->segments++;
    check_tx(c, f, self, &seg, now, text);
    if (f->ep[self].watch) touch(c, f->ep[self].watch - 1);
  } else {
    check_rx(f, 1 - self, &seg); /* the receiver is the other endpoint */
    uint32_t w = f->ep[1 - self].watch;
    if (w) {
      if (seg.flags & UTCP_TCP_ACK) c->watches[w - 1].acks_rx++;
      touch(c, w - 1);
    }
  }
}

struct sim_checker *sim_checker_new(struct sim *sim, const char *replay) {
  struct sim_checker *c = sim_xcalloc(1, sizeof *c);
  c->sim = sim;
  c->replay = replay ? sim_xstrdup(replay) : NULL;
  grow(c);
  sim_set_observer(sim, observe, c);
  return c;
}

void sim_checker_free(struct sim_checker *c) {
  if (!c) return;
  sim_set_observer(c->sim, NULL, NULL);
  free(c->watches);
  free(c->touched);
  free(c->flows);
  free(c->replay);
  free(c);
}

uint64_t sim_checker_violations(const struct sim_checker *c) { return c->violations; }
uint64_t sim_checker_segments(const struct sim_checker *c) { return c->segments; }

/* ======================================================================================
 * Snapshot checks of watched connections
 * ====================================================================================== */

enum { NSTATES = UTCP_TCP_TIME_WAIT + 1 };

/* RFC 9293 3.3.2 (Figure 5), one arrow per entry; every state may also end in CLOSED (RST,
 * abort, user timeout). Added by utcp: none beyond the figure (docs/tcp.md). */
static const uint8_t arrows[][2] = {
    {UTCP_TCP_CLOSED, UTCP_TCP_LISTEN},         {UTCP_TCP_CLOSED, UTCP_TCP_SYN_SENT},
    {UTCP_TCP_LISTEN, UTCP_TCP_SYN_RECEIVED},   {UTCP_TCP_LISTEN, UTCP_TCP_SYN_SENT},
    {UTCP_TCP_SYN_SENT, UTCP_TCP_SYN_RECEIVED}, {UTCP_TCP_SYN_SENT, UTCP_TCP_ESTABLISHED},
    {UTCP_TCP_SYN_RECEIVED, UTCP_TCP_ESTABLISHED}, {UTCP_TCP_SYN_RECEIVED, UTCP_TCP_FIN_WAIT_1},
    {UTCP_TCP_SYN_RECEIVED, UTCP_TCP_LISTEN},   {UTCP_TCP_ESTABLISHED, UTCP_TCP_FIN_WAIT_1},
    {UTCP_TCP_ESTABLISHED, UTCP_TCP_CLOSE_WAIT}, {UTCP_TCP_FIN_WAIT_1, UTCP_TCP_FIN_WAIT_2},
    {UTCP_TCP_FIN_WAIT_1, UTCP_TCP_CLOSING},    {UTCP_TCP_FIN_WAIT_1, UTCP_TCP_TIME_WAIT},
    {UTCP_TCP_FIN_WAIT_2, UTCP_TCP_TIME_WAIT},  {UTCP_TCP_CLOSE_WAIT, UTCP_TCP_LAST_ACK},
    {UTCP_TCP_CLOSING, UTCP_TCP_TIME_WAIT},     {UTCP_TCP_LAST_ACK, UTCP_TCP_CLOSED},
    {UTCP_TCP_TIME_WAIT, UTCP_TCP_CLOSED},
};

/* Whether `to` can follow `from` by zero or more arrows (a snapshot may see several steps:
 * one segment can complete the handshake and carry a FIN). CLOSED is final for a handle. */
static bool reachable(int from, int to) {
  if (from == to) return true;
  if (from < 0 || from >= NSTATES || to < 0 || to >= NSTATES) return false;
  if (from == UTCP_TCP_CLOSED) return false;
  if (to == UTCP_TCP_CLOSED) return true;
  bool seen[NSTATES] = {false};
  int stack[NSTATES], n = 0;
  stack[n++] = from;
  seen[from] = true;
  while (n > 0) {
    int s = stack[--n];
    for (size_t i = 0; i < sizeof arrows / sizeof arrows[0]; i++) {
      if (arrows[i][0] != s || seen[arrows[i][1]]) continue;
      if (arrows[i][1] == to) return true;
      seen[arrows[i][1]] = true;
      stack[n++] = arrows[i][1];
    }
  }
  return false;
}

static bool synchronised(int st) { return st >= UTCP_TCP_ESTABLISHED && st <= UTCP_TCP_TIME_WAIT; }
static bool data_state(int st) { return st >= UTCP_TCP_ESTABLISHED && st <= UTCP_TCP_LAST_ACK; }

static void flow_ep_clear(struct sim_checker *c, const struct watch *x, uint32_t w) {
  int self;
  struct flow *f = flow_of(c, x->lip, x->lport, x->rip, x->rport, &self);
  if (f->ep[self].watch == w + 1) f->ep[self].watch = 0;
}

void sim_checker_watch(struct sim_checker *c, struct sim_node *node, utcp_conn_t conn) {
  sim_checker_watch_stack(c, node, sim_stack_node_stack(node), conn);
}

void sim_checker_watch_stack(struct sim_checker *c, struct sim_node *node,
                             const struct utcp_stack *stack, utcp_conn_t conn) {
  struct utcp_tcp_info in;
  if (utcp_tcp_info(stack, conn, &in) < 0) return;
  uint32_t w;
  if (c->free_watch) {
    w = c->free_watch - 1;
    c->free_watch = c->watches[w].next_free;
  } else {
    if (c->n_watches == c->cap_watches) {
      c->cap_watches = c->cap_watches ? 2 * c->cap_watches : 64;
      struct watch *nw = realloc(c->watches, c->cap_watches * sizeof *nw);
      if (nw == NULL) abort();
      c->watches = nw;
    }
    w = c->n_watches++;
  }
  struct watch *x = &c->watches[w];
  memset(x, 0, sizeof *x);
  x->used = true;
  x->node = node;
  x->stack = stack;
  x->conn = conn;
  x->lip = in.laddr, x->rip = in.raddr, x->lport = in.lport, x->rport = in.rport;
  int self;
  struct flow *f = flow_of(c, x->lip, x->lport, x->rip, x->rport, &self);
  f->ep[self].watch = w + 1;
  touch(c, w);
}

static void snap_violation(struct sim_checker *c, const struct watch *x, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void snap_violation(struct sim_checker *c, const struct watch *x, const char *fmt, ...) {
  char what[256], msg[400];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(what, sizeof what, fmt, ap);
  va_end(ap);
  snprintf(msg, sizeof msg, "%s :%u->:%u: %s", sim_node_name(x->node), x->lport, x->rport, what);
  violation(c, sim_now(c->sim), msg);
}

static void check_snapshot(struct sim_checker *c, struct watch *x, const struct utcp_tcp_info *i) {
  const struct utcp_tcp_info *p = x->have_prev ? &x->prev : NULL;
  uint32_t smss = i->snd_mss;
  if (p && !reachable(p->state, i->state))
    snap_violation(c, x, "state %s -> %s is not a transition of RFC 9293 3.3.2",
                   utcp_tcp_state_name(p->state), utcp_tcp_state_name(i->state));
  if (!synchronised(i->state)) return;
  utcp_seq_t una = {i->snd_una}, nxt = {i->snd_nxt}, rnxt = {i->rcv_nxt};
  utcp_seq_t smax = utcp_seq_add(una, i->unacked);
  if (utcp_seq_gt(una, nxt))
    snap_violation(c, x, "SND.UNA %u above SND.NXT %u", i->snd_una - i->iss, i->snd_nxt - i->iss);
  /* RFC 9293 3.8.6.1: new data only inside the window, bar a one-byte probe (or the FIN).
   * Checked when new data went out since the last snapshot: a window can shrink afterwards
   * (a reordered older ACK with the same SEG.SEQ and SEG.ACK passes the SND.WL1/WL2 test,
   * RFC 9293 3.10.7.4), and data sent before then stays legitimately beyond it. */
  bool new_data = p && synchronised(p->state) &&
                  utcp_seq_gt(smax, utcp_seq_add((utcp_seq_t){p->snd_una}, p->unacked));
  if (new_data && utcp_seq_gt(nxt, utcp_seq_add(una, i->snd_wnd + 1)))
    snap_violation(c, x, "SND.NXT %u beyond SND.UNA %u + SND.WND %u (+1)", i->snd_nxt - i->iss,
                   i->snd_una - i->iss, i->snd_wnd);
  if (p && synchronised(p->state)) {
    if (utcp_seq_lt(una, (utcp_seq_t){p->snd_una}))
      snap_violation(c, x, "SND.UNA moved back from %u to %u", p->snd_una - i->iss,
                     i->snd_una - i->iss);
    if (utcp_seq_lt(rnxt, (utcp_seq_t){p->rcv_nxt}))
      snap_violation(c, x, "RCV.NXT moved back from %u to %u", p->rcv_nxt - i->irs,
                     i->rcv_nxt - i->irs);
  }
  if (!data_state(i->state) || smss == 0) return;
  /* Congestion control (RFC 5681, RFC 6582, RFC 3042, RFC 3465). */
  if (i->cwnd < smss) snap_violation(c, x, "cwnd %u below 1 SMSS (%u)", i->cwnd, smss);
  if (i->ssthresh < 2 * smss)
    snap_violation(c, x, "ssthresh %u below 2 SMSS (%u) (RFC 5681 eq. 4)", i->ssthresh, 2 * smss);
  bool rexmt = p && i->total_retrans > p->total_retrans;
  /* Recovery episodes, from what is observable: one begins with a retransmission outside
   * one and ends once SND.UNA reaches SND.MAX of its start (RFC 6582 "recover"). */
  if (x->in_episode && utcp_seq_ge(una, (utcp_seq_t){x->recover}) && i->retransmits == 0)
    x->in_episode = false;
  if (rexmt && !x->in_episode) {
    x->in_episode = true;
    x->recover = smax.v;
  } else if (rexmt && i->sack_ok && utcp_seq_gt(smax, (utcp_seq_t){x->recover})) {
    /* RFC 6675 5.1: after an RTO a SACK recovery may begin inside an episode seen from here,
     * with its own RecoveryPoint (SND.MAX then); RFC 6675 sends new data while pipe (not
     * FlightSize) is below cwnd until SND.UNA reaches it. */
    x->recover = smax.v;
  }
  if (p && data_state(p->state) && p->snd_mss == smss) {
    uint64_t limit = (uint64_t)p->cwnd + 2ull * smss * x->acks_rx;
    if (rexmt) {
      uint64_t fr = (uint64_t)i->ssthresh + (3ull + x->acks_rx) * smss;
      if (fr > limit) limit = fr;
    }
    if (i->cwnd > limit)
      snap_violation(c, x,
                     "cwnd grew from %u to %u on %" PRIu64 " ACK(s)%s (at most 2 SMSS per ACK, "
                     "RFC 3465 2.2, RFC 6582 3.2)",
                     p->cwnd, i->cwnd, x->acks_rx, rexmt ? " and a retransmission" : "");
  }
  uint64_t allow = (uint64_t)(i->cwnd > i->snd_wnd ? i->cwnd : i->snd_wnd) + 2ull * smss + 1;
  if (new_data && i->unacked > allow)
    snap_violation(c, x, "flight %u above max(cwnd %u, SND.WND %u) + 2 SMSS + 1", i->unacked,
                   i->cwnd, i->snd_wnd);
  if (new_data && data_state(p->state) && !x->in_episode && !rexmt &&
      (uint64_t)i->unacked > (uint64_t)i->cwnd + 3ull * smss + 1)
    snap_violation(c, x, "new data sent with flight %u above cwnd %u + 3 SMSS (RFC 5681 3.1)",
                   i->unacked, i->cwnd);
}

void sim_checker_sample(struct sim_checker *c) {
  for (uint32_t k = 0; k < c->n_touched; k++) {
    uint32_t w = c->touched[k];
    struct watch *x = &c->watches[w];
    x->touched = false;
    if (!x->used) continue;
    struct utcp_tcp_info in;
    if (utcp_tcp_info(x->stack, x->conn, &in) < 0) {
      flow_ep_clear(c, x, w);
      x->used = false;
      x->next_free = c->free_watch;
      c->free_watch = w + 1;
      continue;
    }
    c->snapshots++;
    check_snapshot(c, x, &in);
    x->prev = in;
    x->have_prev = true;
    x->acks_rx = 0;
  }
  c->n_touched = 0;
}

uint64_t sim_checker_snapshots(const struct sim_checker *c) { return c->snapshots; }
