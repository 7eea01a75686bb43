/* The scenario-file runner: `utcp-sim run FILE.scn|DIR` (scenario.h, docs/scenarios.md).
 *
 * It builds the network a parsed scenario describes (tcpapp hosts on utcp stacks, switches,
 * links), schedules its workloads and faults, runs one virtual instant at a time with the
 * wire checker and its snapshot checks on every instant, then checks the expectations and
 * the standing rules: every workload delivers every byte intact (content and hash) before
 * the end, and after TIME-WAIT no stack holds a connection, timer or buffer. */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "checker.h"
#include "core/wire.h"
#include "scenario.h"
#include "sim.h"
#include "tcpapp.h"
#include "trace.h"
#include "utcp/config.h"

#define EVENT_LIMIT 4000000000ull
#define START_MIN_NS (1 * SIM_NS_PER_MS)
#define LINGER_NS (5 * SIM_NS_PER_S)
#define ID_FLOW_BITS 20

/* A two-port element between a host and its link that can drop chosen data segments
 * (`drop` statements); it forwards everything else unchanged, at once. */
struct tap {
  struct srun *r;
  int host;
  struct sim_port inner, outer;
};

/* Data segments of one direction of a workload's first connection, numbered in the order
 * their new data was first sent (retransmissions keep the number of what they resend). */
struct segcount {
  bool started;
  uint32_t hi; /* highest sequence sent + 1 */
  uint64_t n;
};

struct wstate {
  const struct sim_scn_work *w;
  uint32_t expected_ends; /* connection ends (both sides) for a finished workload */
  uint32_t ends, ends_ok;
  uint64_t started, connect_errors;
  uint64_t t_done_ns; /* 0: not done */
  bool failed;
  /* bulk/rr: per flow */
  struct tcpapp_conn *cli[SIM_SCN_MAX_FLOWS], *srv[SIM_SCN_MAX_FLOWS];
  uint16_t cli_port[SIM_SCN_MAX_FLOWS];
  uint64_t rx_final[SIM_SCN_MAX_FLOWS]; /* both sides' received bytes once closed */
  uint64_t t_conn_ns[SIM_SCN_MAX_FLOWS], t_rx_done_ns[SIM_SCN_MAX_FLOWS];
  uint64_t churn_bytes;
  /* rr: the client's response times, handshake RTT */
  uint64_t resp_first_ns, resp_max_ns, resp_sum_ns, resp_count, hs_rtt_ns;
  /* the data sender of flow 0, sampled each instant */
  struct sim_node *snd_node;
  utcp_conn_t snd_conn;
  bool snd_gone;
  struct utcp_tcp_info last;
  bool have_last;
  uint64_t min_srtt_ns;
  uint32_t smss;
  uint64_t retrans;
  uint32_t episodes;
  bool in_ep;
  uint32_t recover;
  uint64_t ep_start_ns, ep_end_ns, ep_min_srtt_ns, ep_srtt_ns;
  uint32_t ep_cwnd_before, ep_ssthresh;
  struct segcount seg[2]; /* [0] forward (client sends), [1] reverse */
};

struct xstate { /* one expectation's window snapshots */
  bool from_taken, to_taken;
  uint64_t from_t, to_t;
  uint64_t from_v[SIM_SCN_MAX_LIST * SIM_SCN_MAX_FLOWS], to_v[SIM_SCN_MAX_LIST * SIM_SCN_MAX_FLOWS];
};

struct srun {
  const struct sim_scenario *sc;
  uint64_t seed;
  FILE *out;
  char replay[512];
  struct sim *sim;
  struct sim_checker *checker;
  struct sim_tcptrace *trace;
  struct tcpapp_host *hosts[SIM_SCN_MAX_HOSTS];
  struct tap *taps[SIM_SCN_MAX_HOSTS];
  struct sim_switch *sw[SIM_SCN_MAX_SWITCHES];
  struct sim_link *links[SIM_SCN_MAX_LINKS];
  struct sim_link_params saved[SIM_SCN_MAX_FAULTS][2];
  uint64_t dropped[SIM_SCN_MAX_FAULTS];
  struct wstate ws[SIM_SCN_MAX_WORK];
  struct xstate *xs; /* one per expectation */
  uint64_t msl_ns_max, drain_extra_ns;
  uint64_t t_all_done_ns;
};

static uint64_t stream_key(uint64_t seed, uint64_t work, uint64_t port, uint64_t dir) {
  return sim_seed_derive(seed, (9ull << 56) | (work << 40) | (port << 8) | dir);
}

static double secs(uint64_t ns) { return (double)ns / 1e9; }

/* ---- workloads ---- */

static void plan_for(const struct srun *r, int wi, uint16_t cport, bool client,
                     struct tcpapp_plan *p) {
  const struct sim_scn_work *w = &r->sc->work[wi];
  uint64_t kc = stream_key(r->seed, (uint64_t)wi, cport, 1);
  uint64_t ks = stream_key(r->seed, (uint64_t)wi, cport, 2);
  *p = (struct tcpapp_plan){.tx_key = client ? kc : ks, .rx_key = client ? ks : kc};
  switch (w->kind) {
    case SIM_SCN_BULK: {
      uint64_t c2s = w->bytes, s2c = w->both ? w->bytes : 0;
      p->tx_bytes = client ? c2s : s2c;
      p->rx_bytes = client ? s2c : c2s;
      p->fin = p->tx_bytes ? TCPAPP_FIN_AFTER_TX : TCPAPP_FIN_AFTER_EOF;
      break;
    }
    case SIM_SCN_RR:
      p->tx_bytes = (client ? w->req : w->resp) * w->count;
      p->rx_bytes = (client ? w->resp : w->req) * w->count;
      p->tx_unit = client ? w->req : w->resp;
      p->rx_unit = client ? w->resp : w->req;
      p->tx_first = client;
      p->fin = client ? TCPAPP_FIN_AFTER_RX : TCPAPP_FIN_AFTER_EOF;
      break;
    case SIM_SCN_CHURN:
      p->tx_bytes = p->rx_bytes = w->msg;
      p->tx_after_rx = client ? 0 : w->msg;
      p->fin = client ? TCPAPP_FIN_AFTER_RX : TCPAPP_FIN_AFTER_EOF;
      break;
  }
}

static int work_of_port(const struct srun *r, const struct tcpapp_host *h, uint16_t lport) {
  for (unsigned i = 0; i < r->sc->n_work; i++) {
    const struct sim_scn_work *w = &r->sc->work[i];
    if (r->hosts[w->dst] == h && w->port == lport) return (int)i;
  }
  return -1;
}

static void on_accept(struct tcpapp_host *h, struct tcpapp_conn *c,
                      const struct utcp_tcp_info *info) {
  struct srun *r = h->scenario;
  int wi = work_of_port(r, h, info->lport);
  if (wi < 0) return; /* cannot happen: one listener per workload */
  struct wstate *ws = &r->ws[wi];
  uint32_t flow = 0;
  if (ws->w->kind != SIM_SCN_CHURN) {
    for (uint32_t f = 0; f < ws->w->flows; f++)
      if (ws->cli_port[f] == info->rport) flow = f;
    ws->srv[flow] = c;
    if (r->trace) sim_tcptrace_watch(r->trace, h->node, c->conn);
    if (flow == 0 && ws->w->kind == SIM_SCN_RR) {
      ws->snd_node = h->node;
      ws->snd_conn = c->conn;
    }
  }
  c->id = (uint32_t)wi << ID_FLOW_BITS | flow;
  plan_for(r, wi, info->rport, false, &c->plan);
  if (ws->w->nodelay) utcp_tcp_setopt(h->stack, c->conn, UTCP_TCPOPT_NODELAY, 1);
}

static void scn_churn_next(struct srun *r, unsigned wi);

static void on_done(struct tcpapp_host *h, struct tcpapp_conn *c) {
  struct srun *r = h->scenario;
  unsigned wi = c->id >> ID_FLOW_BITS;
  uint32_t flow = c->id & ((1u << ID_FLOW_BITS) - 1);
  if (wi >= r->sc->n_work) return;
  struct wstate *ws = &r->ws[wi];
  bool ok = !c->failed && c->rx_eof && c->rx_got == c->plan.rx_bytes &&
            c->rx_first_bad == UINT64_MAX && c->tx_sent == c->plan.tx_bytes;
  /* Bulk and request/response streams: the received hash must be the sent stream's. */
  if (ok && ws->w->kind != SIM_SCN_CHURN &&
      c->rx_hash != tcpapp_stream_hash(c->plan.rx_key, c->plan.rx_bytes))
    ok = false;
  ws->ends++;
  if (ok)
    ws->ends_ok++;
  else
    ws->failed = true;
  if (ws->w->kind == SIM_SCN_CHURN) {
    ws->churn_bytes += c->rx_got;
  } else if (flow < SIM_SCN_MAX_FLOWS) {
    ws->rx_final[flow] += c->rx_got;
    if (c->t_rx_done_ns > ws->t_rx_done_ns[flow]) ws->t_rx_done_ns[flow] = c->t_rx_done_ns;
    if (!c->passive) {
      ws->t_conn_ns[flow] = c->t_connected_ns;
      if (flow == 0) {
        ws->hs_rtt_ns = c->t_connected_ns - c->t_open_ns;
        ws->resp_first_ns = c->resp_first_ns, ws->resp_max_ns = c->resp_max_ns;
        ws->resp_sum_ns = c->resp_sum_ns, ws->resp_count = c->resp_count;
      }
    }
    if (ws->cli[flow] == c) ws->cli[flow] = NULL;
    if (ws->srv[flow] == c) ws->srv[flow] = NULL;
  }
  if (ws->ends == ws->expected_ends && ws->t_done_ns == 0) ws->t_done_ns = sim_now(r->sim);
  if (ws->w->kind == SIM_SCN_CHURN && !c->passive && !ws->w->concurrent &&
      ws->started < ws->w->conns)
    scn_churn_next(r, wi);
}

static struct tcpapp_conn *open_one(struct srun *r, unsigned wi, uint32_t flow) {
  struct wstate *ws = &r->ws[wi];
  const struct sim_scn_work *w = ws->w;
  struct tcpapp_host *h = r->hosts[w->src];
  struct tcpapp_plan plan = {0};
  int err = 0;
  ws->started++;
  struct tcpapp_conn *c = tcpapp_connect(h, r->sc->hosts[w->dst].ip, w->port, &plan,
                                         (uint32_t)wi << ID_FLOW_BITS | flow, &err);
  if (c == NULL) {
    if (ws->connect_errors++ < 5)
      fprintf(r->out, "workload %s: connect: %s\n", w->name, utcp_strerror(err));
    ws->failed = true;
    ws->ends += 2;
    if (ws->ends >= ws->expected_ends && ws->t_done_ns == 0) ws->t_done_ns = sim_now(r->sim);
    return NULL;
  }
  struct utcp_tcp_info info;
  utcp_tcp_info(h->stack, c->conn, &info);
  plan_for(r, (int)wi, info.lport, true, &c->plan);
  if (w->nodelay) utcp_tcp_setopt(h->stack, c->conn, UTCP_TCPOPT_NODELAY, 1);
  return c;
}

static void churn_next_ev(struct sim *sim, struct sim_event *ev) {
  struct srun *r = ev->obj;
  (void)sim;
  unsigned wi = (unsigned)ev->arg;
  open_one(r, wi, 0);
  sim_stack_node_poke(r->hosts[r->sc->work[wi].src]->node);
}

static void scn_churn_next(struct srun *r, unsigned wi) {
  sim_schedule(r->sim, sim_now(r->sim), churn_next_ev, r, wi);
}

static void work_start(struct sim *sim, struct sim_event *ev) {
  struct srun *r = ev->obj;
  (void)sim;
  unsigned wi = (unsigned)ev->arg;
  struct wstate *ws = &r->ws[wi];
  const struct sim_scn_work *w = ws->w;
  struct tcpapp_host *h = r->hosts[w->src];
  if (w->kind == SIM_SCN_CHURN) {
    uint64_t n = w->concurrent ? w->conns : 1;
    for (uint64_t i = 0; i < n; i++) open_one(r, wi, 0);
  } else {
    for (uint32_t f = 0; f < w->flows; f++) {
      struct tcpapp_conn *c = open_one(r, wi, f);
      if (c == NULL) continue;
      struct utcp_tcp_info info;
      utcp_tcp_info(h->stack, c->conn, &info);
      ws->cli[f] = c;
      ws->cli_port[f] = info.lport;
      if (r->trace) sim_tcptrace_watch(r->trace, h->node, c->conn);
      if (f == 0 && w->kind == SIM_SCN_BULK) {
        ws->snd_node = h->node;
        ws->snd_conn = c->conn;
      }
    }
  }
  sim_stack_node_poke(h->node);
}

/* Bytes received so far by both ends of flow f (bulk, rr), or of every churn connection. */
static uint64_t flow_rx(const struct wstate *ws, uint32_t f) {
  if (ws->w->kind == SIM_SCN_CHURN) return ws->churn_bytes;
  uint64_t v = ws->rx_final[f];
  if (ws->cli[f]) v += ws->cli[f]->rx_got;
  if (ws->srv[f]) v += ws->srv[f]->rx_got;
  return v;
}

static uint64_t work_rx(const struct wstate *ws) {
  uint64_t v = 0;
  uint32_t n = ws->w->kind == SIM_SCN_CHURN ? 1 : ws->w->flows;
  for (uint32_t f = 0; f < n; f++) v += flow_rx(ws, f);
  return v;
}

static bool all_done(const struct srun *r) {
  for (unsigned i = 0; i < r->sc->n_work; i++)
    if (r->ws[i].t_done_ns == 0) return false;
  return true;
}

/* ---- the data sender of each workload's first connection ---- */

static void sample_senders(struct srun *r) {
  uint64_t now = sim_now(r->sim);
  for (unsigned i = 0; i < r->sc->n_work; i++) {
    struct wstate *ws = &r->ws[i];
    if (ws->snd_node == NULL || ws->snd_gone) continue;
    struct utcp_tcp_info in;
    if (utcp_tcp_info(sim_stack_node_stack(ws->snd_node), ws->snd_conn, &in) < 0) {
      ws->snd_gone = true;
      continue;
    }
    if (in.state < UTCP_TCP_ESTABLISHED) continue;
    ws->smss = in.snd_mss;
    if (in.srtt_ns && (ws->min_srtt_ns == 0 || in.srtt_ns < ws->min_srtt_ns))
      ws->min_srtt_ns = in.srtt_ns;
    utcp_seq_t una = {in.snd_una};
    if (ws->in_ep && utcp_seq_ge(una, (utcp_seq_t){ws->recover}) && in.retransmits == 0) {
      ws->in_ep = false;
      if (ws->episodes == 1 && ws->ep_end_ns == 0) ws->ep_end_ns = now;
    }
    if (ws->have_last && in.total_retrans > ws->last.total_retrans && !ws->in_ep) {
      /* An episode: the first retransmission outside one (fast retransmit or RTO). */
      ws->in_ep = true;
      ws->recover = in.snd_una + in.unacked;
      if (ws->episodes++ == 0) {
        ws->ep_start_ns = now;
        ws->ep_cwnd_before = ws->last.cwnd;
        ws->ep_ssthresh = in.ssthresh;
        ws->ep_min_srtt_ns = ws->min_srtt_ns;
        ws->ep_srtt_ns = ws->last.srtt_ns ? ws->last.srtt_ns : ws->min_srtt_ns;
      }
    }
    ws->retrans = in.total_retrans;
    ws->last = in;
    ws->have_last = true;
  }
}

/* ---- faults ---- */

static void link_set_params(struct sim_link_params *dst, const struct sim_link_params *src,
                            uint32_t mask) {
  if (mask & SIM_SCN_P_RATE) dst->rate_bps = src->rate_bps;
  if (mask & SIM_SCN_P_DELAY) dst->delay_ns = src->delay_ns;
  if (mask & SIM_SCN_P_JITTER) dst->jitter_ns = src->jitter_ns;
  if (mask & SIM_SCN_P_QUEUE) dst->queue_limit_bytes = src->queue_limit_bytes;
  if (mask & SIM_SCN_P_MTU) dst->mtu = src->mtu;
  if (mask & SIM_SCN_P_LOSS) dst->loss = src->loss;
  if (mask & SIM_SCN_P_DUP) dst->dup = src->dup;
  if (mask & SIM_SCN_P_REORDER) dst->reorder = src->reorder;
  if (mask & SIM_SCN_P_REORDER_DELAY) dst->reorder_delay_ns = src->reorder_delay_ns;
  if (mask & SIM_SCN_P_CORRUPT) dst->corrupt = src->corrupt;
}

static void fault_apply(struct sim *sim, struct sim_event *ev) {
  struct srun *r = ev->obj;
  (void)sim;
  unsigned fi = (unsigned)(ev->arg >> 1);
  bool undo = ev->arg & 1;
  const struct sim_scn_fault *f = &r->sc->faults[fi];
  fprintf(r->out, "fault at %.6f s: line %u %s\n", secs(sim_now(r->sim)), f->line,
          undo ? "ends" : "begins");
  if (f->kind == SIM_SCN_LINK_SET) {
    for (int d = 0; d < 2; d++) {
      if (f->link_dir >= 0 && f->link_dir != d) continue;
      struct sim_link_params *lp = sim_link_params(r->links[f->link], d);
      if (!undo) {
        r->saved[fi][d] = *lp;
        link_set_params(lp, &f->p, f->mask);
      } else {
        link_set_params(lp, &r->saved[fi][d], f->mask);
      }
    }
  }
}

static void schedule_faults(struct srun *r) {
  const struct sim_scenario *sc = r->sc;
  for (unsigned i = 0; i < sc->n_faults; i++) {
    const struct sim_scn_fault *f = &sc->faults[i];
    switch (f->kind) {
      case SIM_SCN_LINK_DOWN:
        sim_link_schedule_up(r->links[f->link], f->at_ns, false);
        if (f->dur_ns) sim_link_schedule_up(r->links[f->link], f->at_ns + f->dur_ns, true);
        break;
      case SIM_SCN_LINK_UP:
        sim_link_schedule_up(r->links[f->link], f->at_ns, true);
        break;
      case SIM_SCN_LINK_SET:
        sim_schedule(r->sim, f->at_ns, fault_apply, r, (uint64_t)i << 1);
        if (f->dur_ns)
          sim_schedule(r->sim, f->at_ns + f->dur_ns, fault_apply, r, (uint64_t)i << 1 | 1);
        break;
      case SIM_SCN_PARTITION:
        for (unsigned k = 0; k < f->n_nodes; k++) {
          const char *name = sc->hosts[f->nodes[k]].name;
          for (unsigned l = 0; l < sc->n_links; l++) {
            if (strcmp(sc->links[l].a, name) != 0 && strcmp(sc->links[l].b, name) != 0) continue;
            sim_link_schedule_up(r->links[l], f->at_ns, false);
            sim_link_schedule_up(r->links[l], f->at_ns + f->dur_ns, true);
          }
        }
        break;
      case SIM_SCN_DROP:
        break;
    }
  }
}

/* The tap: counts the data segments of each workload's first connection and drops the ones
 * a `drop` statement names. */
static bool tap_drops(struct tap *t, const uint8_t *frame, size_t len) {
  struct srun *r = t->r;
  struct utcp_eth eth;
  struct utcp_ipv4 ip;
  struct utcp_seg seg;
  if (utcp_eth_parse(frame, len, &eth) != UTCP_DROP_NONE || eth.type != UTCP_ETHERTYPE_IPV4 ||
      utcp_ipv4_parse(eth.payload, eth.payload_len, &ip) != UTCP_DROP_NONE ||
      ip.proto != UTCP_IPPROTO_TCP ||
      utcp_tcp_parse(ip.payload, ip.payload_len, ip.src, ip.dst, false, &seg) != UTCP_DROP_NONE ||
      seg.len == 0)
    return false;
  bool drop = false;
  for (unsigned wi = 0; wi < r->sc->n_work; wi++) {
    struct wstate *ws = &r->ws[wi];
    const struct sim_scn_work *w = ws->w;
    if (w->kind == SIM_SCN_CHURN || ws->cli_port[0] == 0) continue;
    int d;
    if (t->host == w->src && seg.sport == ws->cli_port[0] && seg.dport == w->port)
      d = 0;
    else if (t->host == w->dst && seg.sport == w->port && seg.dport == ws->cli_port[0])
      d = 1;
    else
      continue;
    struct segcount *sc = &ws->seg[d];
    uint32_t end = seg.seq.v + (uint32_t)seg.len;
    if (!sc->started || utcp_seq_gt((utcp_seq_t){end}, (utcp_seq_t){sc->hi})) {
      sc->started = true;
      sc->hi = end;
      sc->n++;
      for (unsigned fi = 0; fi < r->sc->n_faults; fi++) {
        const struct sim_scn_fault *f = &r->sc->faults[fi];
        if (f->kind == SIM_SCN_DROP && f->work == (int)wi && f->reverse == (d == 1) &&
            sc->n >= f->first && sc->n <= f->last) {
          drop = true;
          r->dropped[fi]++;
          fprintf(r->out,
                  "drop at %.6f s: %s data segment %" PRIu64 " (seq %" PRIu32 ", %zu bytes)\n",
                  secs(sim_now(r->sim)), w->name, sc->n, seg.seq.v, seg.len);
        }
      }
    }
  }
  return drop;
}

static void tap_inner(struct sim_port *port, const uint8_t *frame, size_t len, uint64_t now) {
  struct tap *t = port->owner;
  (void)now;
  if (!tap_drops(t, frame, len)) sim_port_send(&t->outer, frame, len);
}

static void tap_outer(struct sim_port *port, const uint8_t *frame, size_t len, uint64_t now) {
  struct tap *t = port->owner;
  (void)now;
  sim_port_send(&t->inner, frame, len);
}

/* ---- building ---- */

static bool host_needs_tap(const struct sim_scenario *sc, int h) {
  for (unsigned i = 0; i < sc->n_faults; i++) {
    const struct sim_scn_fault *f = &sc->faults[i];
    if (f->kind != SIM_SCN_DROP) continue;
    const struct sim_scn_work *w = &sc->work[f->work];
    if ((f->reverse ? w->dst : w->src) == h) return true;
  }
  return false;
}

static int host_config(struct srun *r, unsigned hi, struct utcp_stack_config *cfg) {
  const struct sim_scenario *sc = r->sc;
  const struct sim_scn_host *h = &sc->hosts[hi];
  utcp_stack_config_default(cfg);
  cfg->mac = (struct utcp_mac){{0x02, 0, 0, 0, (uint8_t)(hi >> 8), (uint8_t)(hi + 1)}};
  cfg->ip = h->ip;
  cfg->netmask = 0xffffff00u;
  /* Static ARP for the others (a burst of SYNs would overflow the ARP pending queue). */
  for (unsigned o = 0; o < sc->n_hosts && cfg->static_arp_count < UTCP_MAX_STATIC_ARP; o++) {
    if (o == hi) continue;
    cfg->static_arp[cfg->static_arp_count++] = (struct utcp_static_arp){
        sc->hosts[o].ip, {{0x02, 0, 0, 0, (uint8_t)(o >> 8), (uint8_t)(o + 1)}}};
  }
  /* Pools for the connections this host takes part in. */
  uint64_t conns = 16, churn_conc = 0, big = 0;
  for (unsigned i = 0; i < sc->n_work; i++) {
    const struct sim_scn_work *w = &sc->work[i];
    if (w->src != (int)hi && w->dst != (int)hi) continue;
    if (w->kind == SIM_SCN_CHURN) {
      uint64_t n = w->concurrent ? w->conns : (w->conns < 20000 ? w->conns : 20000);
      conns += n;
      churn_conc += w->concurrent ? w->conns : 4;
    } else {
      conns += w->flows;
      big += w->flows;
    }
  }
  if (conns > 2000000) conns = 2000000;
  cfg->tcp.max_conns = (uint32_t)conns + 64;
  cfg->tcp.syn_backlog = cfg->tcp.max_conns;
  cfg->tcp.reass_nodes = cfg->tcp.max_conns < 4096 ? 8192 : 2 * cfg->tcp.max_conns;
  bool chunks_set = false;
  for (unsigned k = 0; k < h->n_cfg; k++) {
    char err[256];
    if (utcp_config_set(h->cfg[k], cfg, err, sizeof err) < 0) {
      fprintf(r->out, "%s:%u:1: host %s: %s\n", sc->file, h->line, h->name, err);
      return -1;
    }
    if (strncmp(h->cfg[k], "chunks", 6) == 0) chunks_set = true;
  }
  if (!chunks_set) {
    uint64_t per = (cfg->tcp.sndbuf_bytes + cfg->tcp.rcvbuf_bytes) / 2048 + 4;
    uint64_t chunks = big * per + churn_conc * 4 + 4096;
    cfg->tcp.chunks = (uint32_t)(chunks > 50000000 ? 50000000 : chunks);
  }
  uint64_t msl = cfg->tcp.msl_ns;
  if (msl > r->msl_ns_max) r->msl_ns_max = msl;
  uint64_t extra = (uint64_t)(cfg->tcp.data_retries + 1) * cfg->tcp.rto_max_ns;
  if (extra > r->drain_extra_ns) r->drain_extra_ns = extra;
  return 0;
}

static struct sim_port *end_port(struct srun *r, const char *name, int *next_sw_port) {
  const struct sim_scenario *sc = r->sc;
  for (unsigned i = 0; i < sc->n_hosts; i++) {
    if (strcmp(sc->hosts[i].name, name) != 0) continue;
    return r->taps[i] ? &r->taps[i]->outer : sim_node_port(r->hosts[i]->node);
  }
  for (unsigned i = 0; i < sc->n_switches; i++)
    if (strcmp(sc->switches[i], name) == 0) return sim_switch_port(r->sw[i], next_sw_port[i]++);
  return NULL;
}

static int build(struct srun *r) {
  const struct sim_scenario *sc = r->sc;
  static const struct tcpapp_ops ops = {.on_accept = on_accept, .on_done = on_done};
  for (unsigned i = 0; i < sc->n_hosts; i++) {
    struct utcp_stack_config cfg;
    if (host_config(r, i, &cfg) < 0) return -1;
    uint32_t app_conns = cfg.tcp.max_conns;
    r->hosts[i] = tcpapp_host_new(r->sim, sc->hosts[i].name, &cfg, app_conns, &ops, r);
    if (r->hosts[i] == NULL) {
      fprintf(r->out, "%s:%u:1: host %s: the stack refused its configuration\n", sc->file,
              sc->hosts[i].line, sc->hosts[i].name);
      return -1;
    }
  }
  int ports[SIM_SCN_MAX_SWITCHES] = {0}, next_port[SIM_SCN_MAX_SWITCHES] = {0};
  for (unsigned l = 0; l < sc->n_links; l++)
    for (unsigned s = 0; s < sc->n_switches; s++)
      ports[s] += (strcmp(sc->links[l].a, sc->switches[s]) == 0) +
                  (strcmp(sc->links[l].b, sc->switches[s]) == 0);
  for (unsigned s = 0; s < sc->n_switches; s++)
    r->sw[s] = sim_switch_new(r->sim, sc->switches[s], ports[s] ? ports[s] : 1);
  for (unsigned i = 0; i < sc->n_hosts; i++) {
    if (!host_needs_tap(sc, (int)i)) continue;
    struct tap *t = sim_xcalloc(1, sizeof *t);
    t->r = r;
    t->host = (int)i;
    t->inner = (struct sim_port){.deliver = tap_inner, .owner = t};
    t->outer = (struct sim_port){.deliver = tap_outer, .owner = t, .index = 1};
    r->taps[i] = t;
    struct sim_link_params lp;
    sim_link_params_default(&lp);
    lp.rate_bps = 0;
    lp.queue_limit_bytes = 0;
    lp.mtu = 0;
    char name[80];
    snprintf(name, sizeof name, "%s-tap", sc->hosts[i].name);
    sim_link_new(r->sim, name, &lp, NULL, sim_node_port(r->hosts[i]->node), &t->inner);
  }
  for (unsigned l = 0; l < sc->n_links; l++) {
    struct sim_port *a = end_port(r, sc->links[l].a, next_port);
    struct sim_port *b = end_port(r, sc->links[l].b, next_port);
    char name[80];
    snprintf(name, sizeof name, "%s-%s", sc->links[l].a, sc->links[l].b);
    r->links[l] = sim_link_new(r->sim, name, &sc->links[l].p, NULL, a, b);
  }
  for (unsigned i = 0; i < sc->n_work; i++) {
    const struct sim_scn_work *w = &sc->work[i];
    struct wstate *ws = &r->ws[i];
    ws->w = w;
    ws->expected_ends = 2 * (uint32_t)(w->kind == SIM_SCN_CHURN
                                           ? (w->conns > UINT32_MAX / 4 ? UINT32_MAX / 4 : w->conns)
                                           : w->flows);
    uint64_t backlog = w->kind == SIM_SCN_CHURN && w->concurrent ? w->conns : 128;
    int rc = tcpapp_listen(r->hosts[w->dst], w->port, (uint32_t)backlog);
    if (rc < 0) {
      fprintf(r->out, "%s:%u:1: workload %s: listen on %s port %u: %s\n", sc->file, w->line,
              w->name, sc->hosts[w->dst].name, w->port, utcp_strerror(rc));
      return -1;
    }
    uint64_t at = w->start_ns < START_MIN_NS ? START_MIN_NS : w->start_ns;
    sim_schedule(r->sim, at, work_start, r, i);
  }
  return 0;
}

/* ---- expectations ---- */

static bool cmp(enum sim_scn_op op, double m, double v, double v2) {
  switch (op) {
    case SIM_SCN_EQ:
      return m == v;
    case SIM_SCN_NE:
      return m != v;
    case SIM_SCN_LT:
      return m < v;
    case SIM_SCN_LE:
      return m <= v;
    case SIM_SCN_GT:
      return m > v;
    case SIM_SCN_GE:
      return m >= v;
    case SIM_SCN_IN:
      return m >= v && m <= v2;
  }
  return false;
}

static const char *op_name(enum sim_scn_op op) {
  static const char *const n[] = {"==", "!=", "<", "<=", ">", ">=", "in"};
  return n[op];
}

static bool counter_value(const struct utcp_counters *c, const char *name, uint64_t *v) {
  size_t i = 0;
#define MIB_BY_NAME(field, mib)                              \
  if (strcmp(name, #field) == 0 || strcmp(name, mib) == 0) { \
    *v = utcp_mib_value(c, i);                               \
    return true;                                             \
  }                                                          \
  i++;
  UTCP_MIB_LIST(MIB_BY_NAME)
#undef MIB_BY_NAME
  if (strcmp(name, "tcp_rto_expired") == 0) name = "rto_fired";
  if (strcmp(name, "tcp_fast_retransmits") == 0) name = "fast_retransmit";
  int k = utcp_coverage_find(name);
  if (k >= 0) {
    *v = c->cov[k];
    return true;
  }
  if (strncmp(name, "drop.", 5) == 0) {
    for (int d = 1; d < UTCP_DROP__COUNT; d++) {
      if (strcmp(name + 5, utcp_drop_name((enum utcp_drop)d)) == 0) {
        *v = c->drop[d];
        return true;
      }
    }
  }
  return false;
}

/* Units handed to an expectation's window snapshot: per connection of its workloads. */
static unsigned units_of(const struct srun *r, const struct sim_scn_expect *e) {
  unsigned n = 0;
  for (unsigned k = 0; k < e->n_works; k++) {
    const struct sim_scn_work *w = &r->sc->work[e->works[k]];
    n += w->kind == SIM_SCN_CHURN ? 1 : w->flows;
  }
  return n;
}

static void take_snapshot(struct srun *r, unsigned ei, bool to) {
  const struct sim_scn_expect *e = &r->sc->expects[ei];
  struct xstate *x = &r->xs[ei];
  uint64_t *v = to ? x->to_v : x->from_v;
  if (to ? x->to_taken : x->from_taken) return;
  if (e->metric == SIM_SCN_M_UTIL) {
    v[0] = sim_link_stats(r->links[e->link], e->link_dir)->bytes_delivered;
  } else {
    unsigned u = 0;
    for (unsigned k = 0; k < e->n_works; k++) {
      const struct wstate *ws = &r->ws[e->works[k]];
      uint32_t n = ws->w->kind == SIM_SCN_CHURN ? 1 : ws->w->flows;
      for (uint32_t f = 0; f < n; f++) v[u++] = flow_rx(ws, f);
    }
  }
  if (to)
    x->to_taken = true, x->to_t = sim_now(r->sim);
  else
    x->from_taken = true, x->from_t = sim_now(r->sim);
}

static void snapshot_ev(struct sim *sim, struct sim_event *ev) {
  (void)sim;
  take_snapshot(ev->obj, (unsigned)(ev->arg >> 1), ev->arg & 1);
}

/* Per-unit rates (bit/s) of an expectation over its window, in rates[]; returns the count.
 * Without a window: each connection from its connection to its last byte (bulk/rr). */
static unsigned unit_rates(struct srun *r, unsigned ei, double *rates, double *span_s) {
  const struct sim_scn_expect *e = &r->sc->expects[ei];
  struct xstate *x = &r->xs[ei];
  unsigned n = units_of(r, e);
  if (e->to_ns) {
    if (!x->from_taken) take_snapshot(r, ei, false);
    if (!x->to_taken) take_snapshot(r, ei, true);
    double s = secs(x->to_t - x->from_t);
    *span_s = s;
    for (unsigned u = 0; u < n; u++)
      rates[u] = s > 0 ? (double)(x->to_v[u] - x->from_v[u]) * 8 / s : 0;
    return n;
  }
  unsigned u = 0;
  double span = 0;
  for (unsigned k = 0; k < e->n_works; k++) {
    const struct wstate *ws = &r->ws[e->works[k]];
    uint32_t m = ws->w->kind == SIM_SCN_CHURN ? 1 : ws->w->flows;
    for (uint32_t f = 0; f < m; f++) {
      uint64_t t0 = ws->w->kind == SIM_SCN_CHURN ? ws->w->start_ns : ws->t_conn_ns[f];
      uint64_t t1 = ws->w->kind == SIM_SCN_CHURN ? ws->t_done_ns : ws->t_rx_done_ns[f];
      double s = t1 > t0 ? secs(t1 - t0) : 0;
      if (s > span) span = s;
      rates[u++] = s > 0 ? (double)flow_rx(ws, f) * 8 / s : 0;
    }
  }
  *span_s = span;
  return u;
}

/* Measures expectation ei into *m (and a description of it); false: cannot be measured. */
static bool measure(struct srun *r, unsigned ei, double *m, char *what, size_t wl) {
  const struct sim_scenario *sc = r->sc;
  const struct sim_scn_expect *e = &sc->expects[ei];
  const struct wstate *ws = e->n_works ? &r->ws[e->works[0]] : NULL;
  double rates[SIM_SCN_MAX_LIST * SIM_SCN_MAX_FLOWS];
  double span = 0;
  switch (e->metric) {
    case SIM_SCN_M_COUNTER:
    case SIM_SCN_M_MARK: {
      uint64_t v;
      if (!counter_value(utcp_stack_counters(r->hosts[e->host]->stack), e->counter, &v))
        return false;
      *m = (double)v;
      snprintf(what, wl, "%s %s = %" PRIu64, sc->hosts[e->host].name, e->counter, v);
      return true;
    }
    case SIM_SCN_M_DONE:
      *m = ws->t_done_ns && !ws->failed ? secs(ws->t_done_ns) : INFINITY;
      snprintf(what, wl, "%s %s", ws->w->name,
               ws->t_done_ns ? (ws->failed ? "ended with failures" : "done") : "not done");
      if (ws->t_done_ns)
        snprintf(what + strlen(what), wl - strlen(what), " at %.6f s", secs(ws->t_done_ns));
      return true;
    case SIM_SCN_M_GOODPUT: {
      unsigned n = unit_rates(r, ei, rates, &span);
      double sum = 0;
      for (unsigned u = 0; u < n; u++) sum += rates[u];
      *m = sum;
      snprintf(what, wl, "goodput %.3f Mbit/s over %.3f s", sum / 1e6, span);
      return true;
    }
    case SIM_SCN_M_FAIRNESS: {
      unsigned n = unit_rates(r, ei, rates, &span);
      double s = 0, s2 = 0;
      int off = snprintf(what, wl, "per-connection Mbit/s:");
      for (unsigned u = 0; u < n; u++) {
        s += rates[u], s2 += rates[u] * rates[u];
        if (off > 0 && (size_t)off < wl)
          off += snprintf(what + off, wl - (size_t)off, " %.2f", rates[u] / 1e6);
      }
      *m = s2 > 0 ? s * s / (n * s2) : 0; /* Jain's index */
      if (off > 0 && (size_t)off < wl)
        snprintf(what + off, wl - (size_t)off, "; Jain %.4f over %.3f s", *m, span);
      return true;
    }
    case SIM_SCN_M_MATHIS: {
      unsigned n = unit_rates(r, ei, rates, &span);
      double sum = 0;
      for (unsigned u = 0; u < n; u++) sum += rates[u];
      double p = (double)e->loss.num / e->loss.den;
      double mss = ws->smss ? ws->smss : 1448;
      double model = mss * 8 / secs(e->rtt_ns) * 1.22 / sqrt(p);
      *m = sum / model;
      snprintf(what, wl,
               "goodput %.3f Mbit/s, Mathis %.3f Mbit/s (MSS %.0f, RTT %.3f s, p %.4f): ratio %.3f",
               sum / 1e6, model / 1e6, mss, secs(e->rtt_ns), p, *m);
      return true;
    }
    case SIM_SCN_M_UTIL: {
      struct xstate *x = &r->xs[ei];
      if (!x->from_taken) take_snapshot(r, ei, false);
      if (!x->to_taken) take_snapshot(r, ei, true);
      double s = secs(x->to_t - x->from_t);
      uint64_t rate = sim_link_params(r->links[e->link], e->link_dir)->rate_bps;
      *m = s > 0 && rate ? (double)(x->to_v[0] - x->from_v[0]) * 8 / (s * (double)rate) : 0;
      snprintf(what, wl, "utilisation %.4f (%" PRIu64 " bytes in %.3f s at %.3f Mbit/s)", *m,
               x->to_v[0] - x->from_v[0], s, (double)rate / 1e6);
      return true;
    }
    case SIM_SCN_M_RECOVERY:
      if (ws->episodes == 0 || ws->ep_end_ns == 0 || ws->ep_srtt_ns == 0) {
        *m = ws->episodes ? INFINITY : 0;
        snprintf(what, wl, "%s",
                 ws->episodes ? "the first recovery never ended" : "no recovery episode");
        return true;
      }
      *m = (double)(ws->ep_end_ns - ws->ep_start_ns) / (double)ws->ep_srtt_ns;
      snprintf(what, wl,
               "first recovery %.6f..%.6f s = %.2f RTTs (RTT: SRTT %.3f ms when it began; %.2f "
               "times the smallest SRTT, %.3f ms)",
               secs(ws->ep_start_ns), secs(ws->ep_end_ns), *m, (double)ws->ep_srtt_ns / 1e6,
               (double)(ws->ep_end_ns - ws->ep_start_ns) / (double)ws->ep_min_srtt_ns,
               (double)ws->ep_min_srtt_ns / 1e6);
      return true;
    case SIM_SCN_M_REDUCTION:
      if (ws->episodes == 0 || ws->ep_cwnd_before == 0) {
        *m = 1;
        snprintf(what, wl, "no recovery episode");
        return true;
      }
      *m = (double)ws->ep_ssthresh / ws->ep_cwnd_before;
      snprintf(what, wl, "cwnd %u before the first loss, ssthresh %u after: %.3f",
               ws->ep_cwnd_before, ws->ep_ssthresh, *m);
      return true;
    case SIM_SCN_M_BYTES:
      *m = (double)work_rx(ws);
      snprintf(what, wl, "%s received %" PRIu64 " bytes (both ends, all connections)", ws->w->name,
               work_rx(ws));
      return true;
    case SIM_SCN_M_RETRANS:
      *m = (double)ws->retrans;
      snprintf(what, wl, "%" PRIu64 " retransmitted segments, %u recovery episode(s)", ws->retrans,
               ws->episodes);
      return true;
    case SIM_SCN_M_RESPONSE:
      if (ws->resp_count == 0) {
        *m = INFINITY;
        snprintf(what, wl, "no response arrived");
        return true;
      }
      *m = e->in_rtts ? (double)ws->resp_first_ns / (double)ws->hs_rtt_ns
                      : (double)ws->resp_first_ns;
      snprintf(what, wl,
               "first response %.3f ms after its request = %.2f RTTs (handshake RTT %.3f ms); "
               "%" PRIu64 " responses, mean %.3f ms, max %.3f ms",
               (double)ws->resp_first_ns / 1e6, (double)ws->resp_first_ns / (double)ws->hs_rtt_ns,
               (double)ws->hs_rtt_ns / 1e6, ws->resp_count,
               (double)ws->resp_sum_ns / (double)ws->resp_count / 1e6,
               (double)ws->resp_max_ns / 1e6);
      return true;
  }
  return false;
}

static void print_value(FILE *out, const struct sim_scn_expect *e, double v) {
  if (e->metric == SIM_SCN_M_GOODPUT)
    fprintf(out, "%.3f Mbit/s", v / 1e6);
  else if (e->metric == SIM_SCN_M_RESPONSE && !e->in_rtts)
    fprintf(out, "%.3f ms", v / 1e6);
  else if (e->metric == SIM_SCN_M_DONE)
    fprintf(out, "%.6f s", v);
  else
    fprintf(out, "%g", v);
}

static int check_expectations(struct srun *r) {
  const struct sim_scenario *sc = r->sc;
  int status = 0;
  for (unsigned i = 0; i < sc->n_expects; i++) {
    const struct sim_scn_expect *e = &sc->expects[i];
    double m = 0;
    char what[512];
    what[0] = 0;
    bool ok;
    if (!measure(r, i, &m, what, sizeof what)) {
      ok = false;
    } else if (e->metric == SIM_SCN_M_DONE) {
      ok = m <= secs(e->by_ns);
    } else if (e->metric == SIM_SCN_M_RESPONSE && !e->in_rtts) {
      ok = cmp(e->op, m, e->v, e->v2);
    } else {
      ok = cmp(e->op, m, e->v, e->v2);
    }
    fprintf(r->out, "%s %s:%u: expect %s: measured %s\n", ok ? "ok  " : "FAIL", sc->file, e->line,
            e->text, what);
    if (!ok) {
      fprintf(r->out, "  expected: ");
      if (e->metric == SIM_SCN_M_DONE) {
        fprintf(r->out, "done by %.6f s", secs(e->by_ns));
      } else {
        fprintf(r->out, "%s ", op_name(e->op));
        print_value(r->out, e, e->v);
        if (e->op == SIM_SCN_IN) {
          fprintf(r->out, "..");
          print_value(r->out, e, e->v2);
        }
      }
      fprintf(r->out, "; measured: ");
      print_value(r->out, e, m);
      fprintf(r->out, " (seed %" PRIu64 ")\n", r->seed);
      status = 1;
    }
  }
  return status;
}

/* ---- running ---- */

static bool stacks_empty(const struct srun *r) {
  for (unsigned i = 0; i < r->sc->n_hosts; i++) {
    const struct utcp_stack *s = r->hosts[i]->stack;
    if (utcp_tcp_conns_in_use(s) || utcp_tcp_timers_running(s)) return false;
  }
  return true;
}

/* One virtual instant at a time until done() or `until`; false when stopped. */
static bool run_to(struct srun *r, uint64_t until, bool (*done)(const struct srun *)) {
  while (!(done && done(r))) {
    uint64_t next = sim_next_time(r->sim);
    if (next == SIM_NEVER || next > until) break;
    if (sim_run_until(r->sim, next) < 0) return false;
    sim_checker_sample(r->checker);
    if (sim_stopped(r->sim)) return false;
    sample_senders(r);
    if (r->trace) sim_tcptrace_sample(r->trace);
  }
  if (done && done(r)) return true;
  return sim_run_until(r->sim, until) == 0;
}

static void print_figures(struct srun *r) {
  const struct sim_scenario *sc = r->sc;
  for (unsigned i = 0; i < sc->n_work; i++) {
    const struct wstate *ws = &r->ws[i];
    const struct sim_scn_work *w = ws->w;
    fprintf(r->out, "figures %s:", w->name);
    if (w->kind == SIM_SCN_CHURN) {
      fprintf(r->out, " %" PRIu64 " connections, %u of %u ends ok", ws->started, ws->ends_ok,
              ws->expected_ends);
    } else {
      uint64_t t0 = UINT64_MAX, t1 = 0;
      for (uint32_t f = 0; f < w->flows; f++) {
        if (ws->t_conn_ns[f] && ws->t_conn_ns[f] < t0) t0 = ws->t_conn_ns[f];
        if (ws->t_rx_done_ns[f] > t1) t1 = ws->t_rx_done_ns[f];
      }
      double s = t1 > t0 && t0 != UINT64_MAX ? secs(t1 - t0) : 0;
      fprintf(r->out, " %" PRIu64 " bytes received, goodput %.3f Mbit/s over %.3f s", work_rx(ws),
              s > 0 ? (double)work_rx(ws) * 8 / s / 1e6 : 0.0, s);
      fprintf(r->out,
              "; flow 0 sender: smss %u, min srtt %.3f ms, retrans %" PRIu64 ", %u episode(s)",
              ws->smss, (double)ws->min_srtt_ns / 1e6, ws->retrans, ws->episodes);
      if (ws->episodes && ws->ep_end_ns && ws->ep_srtt_ns)
        fprintf(r->out, ", first recovery %.2f RTTs (SRTT %.3f ms)",
                (double)(ws->ep_end_ns - ws->ep_start_ns) / (double)ws->ep_srtt_ns,
                (double)ws->ep_srtt_ns / 1e6);
      if (ws->episodes && ws->ep_cwnd_before)
        fprintf(r->out, ", cwnd %u -> ssthresh %u", ws->ep_cwnd_before, ws->ep_ssthresh);
      if (w->kind == SIM_SCN_RR && ws->resp_count && ws->hs_rtt_ns)
        fprintf(r->out, ", first response %.3f ms = %.2f RTTs", (double)ws->resp_first_ns / 1e6,
                (double)ws->resp_first_ns / (double)ws->hs_rtt_ns);
    }
    fprintf(r->out, "\n");
  }
  for (unsigned l = 0; l < sc->n_links; l++) {
    for (int d = 0; d < 2; d++) {
      const struct sim_link_stats *st = sim_link_stats(r->links[l], d);
      if (st->frames_in == 0) continue;
      fprintf(r->out,
              "link %s-%s: frames %" PRIu64 " delivered %" PRIu64 " lost %" PRIu64 " down %" PRIu64
              " queue-drops %" PRIu64 " dup %" PRIu64 " reordered %" PRIu64 " corrupted %" PRIu64
              "\n",
              d ? sc->links[l].b : sc->links[l].a, d ? sc->links[l].a : sc->links[l].b,
              st->frames_in, st->delivered, st->drop_loss, st->drop_down + st->drop_down_in_flight,
              st->drop_queue, st->duplicated, st->reordered, st->corrupted);
    }
  }
  for (unsigned i = 0; i < sc->n_hosts; i++) {
    const struct utcp_counters *c = utcp_stack_counters(r->hosts[i]->stack);
    fprintf(r->out, "host %s: segs out %" PRIu64 " in %" PRIu64 " retrans %" PRIu64 " coverage:",
            sc->hosts[i].name, c->tcp_out_segs, c->tcp_in_segs, c->tcp_retrans_segs);
    for (size_t k = 0; k < UTCP_COV__COUNT; k++)
      if (c->cov[k]) fprintf(r->out, " %s=%" PRIu64, utcp_coverage_name(k), c->cov[k]);
    fprintf(r->out, "\n");
  }
}

static char *read_file(const char *path, size_t *len);

/* ---- swarm: impairments drawn from the seed ---- */

/* A copy of sc whose links carry loss, duplication, reordering, corruption and jitter drawn
 * from `seed` (each absent half of the time), with a longer duration and no expectations:
 * only the standing rules stay (every byte intact, workloads finished, checkers, no leaks). */
static struct sim_scenario *swarm_copy(const struct sim_scenario *sc, uint64_t seed, FILE *out) {
  struct sim_scenario *c = sim_xmalloc(sizeof *c);
  *c = *sc;
  struct utcp_rng rng;
  utcp_rng_init(&rng, seed ^ 0x5ce2a210f11e5ull);
  for (unsigned l = 0; l < c->n_links; l++) {
    struct sim_link_params *p = &c->links[l].p;
    if (utcp_rng_chance(&rng, 1, 2))
      p->loss = (struct sim_ratio){(uint32_t)(1 + utcp_rng_below(&rng, 30)), 1000};
    if (utcp_rng_chance(&rng, 1, 2))
      p->dup = (struct sim_ratio){(uint32_t)(1 + utcp_rng_below(&rng, 30)), 1000};
    if (utcp_rng_chance(&rng, 1, 2)) {
      p->reorder = (struct sim_ratio){(uint32_t)(1 + utcp_rng_below(&rng, 50)), 1000};
      p->reorder_delay_ns = (1 + utcp_rng_below(&rng, 10)) * SIM_NS_PER_MS;
    }
    if (utcp_rng_chance(&rng, 1, 2))
      p->corrupt = (struct sim_ratio){(uint32_t)(1 + utcp_rng_below(&rng, 10)), 1000};
    if (utcp_rng_chance(&rng, 1, 2)) p->jitter_ns = utcp_rng_below(&rng, 2 * SIM_NS_PER_MS + 1);
    fprintf(out,
            "swarm: link %s-%s loss %" PRIu32 "/%" PRIu32 " dup %" PRIu32 "/%" PRIu32
            " reorder %" PRIu32 "/%" PRIu32 " (%.0f ms) corrupt %" PRIu32 "/%" PRIu32
            " jitter %.3f ms\n",
            c->links[l].a, c->links[l].b, p->loss.num, p->loss.den, p->dup.num, p->dup.den,
            p->reorder.num, p->reorder.den, (double)p->reorder_delay_ns / 1e6, p->corrupt.num,
            p->corrupt.den, (double)p->jitter_ns / 1e6);
  }
  c->duration_ns = sc->duration_ns * 5 + 120 * SIM_NS_PER_S;
  c->n_expects = 0;
  return c;
}

static int run_impl(const struct sim_scenario *sc, uint64_t seed, const char *pcap_dir,
                    const char *trace_dir, FILE *out, uint64_t *trace_hash, bool swarm);

int sim_scenario_run(const struct sim_scenario *sc, uint64_t seed, const char *pcap_dir,
                     const char *trace_dir, FILE *out, uint64_t *trace_hash) {
  return run_impl(sc, seed, pcap_dir, trace_dir, out, trace_hash, false);
}

int sim_scenario_swarm_run(const struct sim_scenario *sc, uint64_t seed, const char *pcap_dir,
                           const char *trace_dir, FILE *out, uint64_t *trace_hash) {
  struct sim_scenario *c = swarm_copy(sc, seed, out);
  int rc = run_impl(c, seed, pcap_dir, trace_dir, out, trace_hash, true);
  free(c);
  return rc;
}

int sim_scenario_swarm_main(const char *path, uint64_t lo, uint64_t hi, bool verbose) {
  size_t len = 0;
  char *text = read_file(path, &len);
  if (text == NULL) {
    fprintf(stderr, "utcp-sim swarm: %s: %s\n", path, strerror(errno));
    return 2;
  }
  struct sim_scenario *sc;
  char err[512];
  int rc = sim_scenario_parse(path, text, len, &sc, err, sizeof err);
  free(text);
  if (rc < 0) {
    fprintf(stderr, "%s\n", err);
    return 2;
  }
  uint64_t runs = 0, failed = 0;
  for (uint64_t seed = lo;; seed++) {
    char *log = NULL;
    size_t log_len = 0;
    FILE *out = open_memstream(&log, &log_len);
    if (out == NULL) {
      perror("open_memstream");
      sim_scenario_free(sc);
      return 1;
    }
    uint64_t hash = 0;
    printf("seed %" PRIu64 ": %s", seed, path);
    fflush(stdout);
    int st = sim_scenario_swarm_run(sc, seed, NULL, NULL, out, &hash);
    fclose(out);
    runs++;
    printf(" -> %s trace-hash %016" PRIx64 "\n", st == 0 ? "ok" : "FAIL", hash);
    if (st) {
      failed++;
      char *save = NULL;
      for (char *line = strtok_r(log, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
        if (verbose || strncmp(line, "FAIL", 4) == 0 || strncmp(line, "swarm:", 6) == 0 ||
            strncmp(line, "replay:", 7) == 0)
          printf("    %s\n", line);
    }
    free(log);
    fflush(stdout);
    if (seed == hi) break;
  }
  printf("swarm: %" PRIu64 " seeds of %s, %" PRIu64 " failed\n", runs, path, failed);
  sim_scenario_free(sc);
  return failed ? 1 : 0;
}

static int run_impl(const struct sim_scenario *sc, uint64_t seed, const char *pcap_dir,
                    const char *trace_dir, FILE *out, uint64_t *trace_hash, bool swarm) {
  struct srun *r = sim_xcalloc(1, sizeof *r);
  r->sc = sc;
  r->seed = seed;
  r->out = out;
  r->xs = sim_xcalloc(sc->n_expects ? sc->n_expects : 1, sizeof *r->xs);
  snprintf(r->replay, sizeof r->replay, "utcp-sim run %s --seed %" PRIu64 "%s%s%s%s%s", sc->file,
           seed, swarm ? " --swarm" : "", pcap_dir ? " --pcap " : "", pcap_dir ? pcap_dir : "",
           trace_dir ? " --trace " : "", trace_dir ? trace_dir : "");
  fprintf(out, "utcp-sim run %s%s%s%s: seed %" PRIu64 ", %u hosts, %u links, %u workloads\n",
          sc->file, sc->name[0] ? " (" : "", sc->name, sc->name[0] ? ")" : "", seed, sc->n_hosts,
          sc->n_links, sc->n_work);
  r->sim = sim_new(seed);
  sim_set_event_limit(r->sim, EVENT_LIMIT);
  int status = 0;
  if (build(r) < 0) {
    status = 2;
    goto out;
  }
  r->checker = sim_checker_new(r->sim, r->replay);
  for (unsigned i = 0; i < sc->n_hosts; i++) r->hosts[i]->checker = r->checker;
  if (pcap_dir && sim_pcap_all(r->sim, pcap_dir) < 0) {
    fprintf(out, "utcp-sim run: cannot write pcap files in %s: %s\n", pcap_dir, strerror(errno));
    status = 2;
    goto out;
  }
  if (trace_dir && (r->trace = sim_tcptrace_new(r->sim, trace_dir)) == NULL) {
    fprintf(out, "utcp-sim run: cannot create trace directory %s: %s\n", trace_dir,
            strerror(errno));
    status = 2;
    goto out;
  }
  schedule_faults(r);
  for (unsigned i = 0; i < sc->n_expects; i++) {
    const struct sim_scn_expect *e = &sc->expects[i];
    if (e->to_ns == 0 && e->metric != SIM_SCN_M_UTIL) continue;
    uint64_t from = e->to_ns ? e->from_ns : START_MIN_NS;
    sim_schedule(r->sim, from, snapshot_ev, r, (uint64_t)i << 1);
    if (e->to_ns) sim_schedule(r->sim, e->to_ns, snapshot_ev, r, (uint64_t)i << 1 | 1);
  }

  bool ran = run_to(r, sc->duration_ns, all_done);
  r->t_all_done_ns = sim_now(r->sim);
  /* Windows that reach past the last workload: keep running to their end (the network is
   * idle by then, so this only moves the clock). */
  for (unsigned i = 0; ran && i < sc->n_expects; i++)
    if (sc->expects[i].to_ns > sim_now(r->sim) && sc->expects[i].to_ns <= sc->duration_ns)
      ran = run_to(r, sc->expects[i].to_ns, NULL);
  /* Whole-run windows end here, before the close and TIME-WAIT. */
  for (unsigned i = 0; i < sc->n_expects; i++)
    if (sc->expects[i].metric == SIM_SCN_M_UTIL && sc->expects[i].to_ns == 0)
      take_snapshot(r, i, true);
  if (!ran) {
    fprintf(out, "FAIL: %s at %.6f s\n",
            sim_stopped(r->sim) ? "stopped by the checker" : "event limit reached: a livelock?",
            secs(sim_now(r->sim)));
    status = 1;
  }
  bool done = all_done(r);
  for (unsigned i = 0; i < sc->n_work; i++) {
    const struct wstate *ws = &r->ws[i];
    if (ws->t_done_ns == 0 || ws->failed) {
      fprintf(out, "FAIL: %s:%u: workload %s %s (%u of %u connection ends intact)\n", sc->file,
              ws->w->line, ws->w->name,
              ws->t_done_ns ? "lost or corrupted data" : "did not finish by the end of the run",
              ws->ends_ok, ws->expected_ends);
      status = 1;
    }
  }
  if (!done) {
    for (unsigned i = 0; i < sc->n_hosts; i++) tcpapp_host_dump(r->hosts[i], out, 4);
  } else if (ran) {
    for (unsigned i = 0; i < sc->n_hosts; i++) {
      tcpapp_unlisten(r->hosts[i]);
      sim_stack_node_poke(r->hosts[i]->node);
    }
    uint64_t from = sim_now(r->sim);
    uint64_t limit = from + 2 * r->msl_ns_max + r->drain_extra_ns + LINGER_NS;
    if (!run_to(r, from + 2 * r->msl_ns_max + LINGER_NS, NULL) || !run_to(r, limit, stacks_empty)) {
      fprintf(out, "FAIL: %s after the workloads\n",
              sim_stopped(r->sim) ? "checker stop" : "event limit");
      status = 1;
    }
    for (unsigned i = 0; i < sc->n_hosts; i++) {
      const struct tcpapp_host *h = r->hosts[i];
      uint32_t conns = utcp_tcp_conns_in_use(h->stack), chunks = utcp_tcp_chunks_in_use(h->stack);
      uint64_t timers = utcp_tcp_timers_running(h->stack);
      if (conns || timers || chunks || h->st.live) {
        fprintf(out,
                "FAIL: %s leaks after TIME-WAIT: conns %" PRIu32 " timers %" PRIu64
                " chunks %" PRIu32 " app-conns %" PRIu32 "\n",
                sc->hosts[i].name, conns, timers, chunks, h->st.live);
        status = 1;
      }
    }
  }
  fprintf(out,
          "workloads done at %.6f s; checker: %" PRIu64 " segments and %" PRIu64
          " snapshots checked, %" PRIu64 " violations\n",
          secs(r->t_all_done_ns), sim_checker_segments(r->checker),
          sim_checker_snapshots(r->checker), sim_checker_violations(r->checker));
  if (sim_checker_violations(r->checker)) status = 1;
  for (unsigned i = 0; i < sc->n_faults; i++)
    if (sc->faults[i].kind == SIM_SCN_DROP && r->dropped[i] == 0) {
      fprintf(out, "FAIL: %s:%u: the drop never happened (too few data segments)\n", sc->file,
              sc->faults[i].line);
      status = 1;
    }
  print_figures(r);
  if (check_expectations(r)) status = 1;
  fprintf(out, "events: %" PRIu64 ", virtual time %.3f s\n", sim_events_run(r->sim),
          secs(sim_now(r->sim)));
  fprintf(out, "trace-hash: %016" PRIx64 "\n", sim_trace_hash(r->sim));
  if (trace_hash) *trace_hash = sim_trace_hash(r->sim);
  if (r->trace && sim_tcptrace_finish(r->trace, out) < 0) {
    fprintf(out, "FAIL: the trace could not be written\n");
    status = 1;
  }
out:
  fprintf(out, "result: %s (seed %" PRIu64 ")\n", status == 0 ? "ok" : "FAIL", seed);
  fprintf(out, "replay: %s\n", r->replay);
  sim_tcptrace_free(r->trace);
  sim_checker_free(r->checker);
  sim_free(r->sim);
  for (unsigned i = 0; i < sc->n_hosts; i++) {
    tcpapp_host_free(r->hosts[i]);
    free(r->taps[i]);
  }
  free(r->xs);
  free(r);
  return status;
}

/* ---- command line ---- */

void sim_run_usage(FILE *out) {
  fprintf(out,
          "usage: utcp-sim run FILE.scn|DIR [--seed N | --seeds A..B] [--swarm] [--pcap DIR]\n"
          "                    [--trace DIR]\n"
          "  Runs a scenario file (docs/scenarios.md), or every *.scn in DIR in name order.\n"
          "  --seed N      overrides the file's seed; --seeds A..B runs each seed in turn\n"
          "  --pcap DIR    one pcap per link;  --trace DIR  congestion trace CSVs and plots\n"
          "  --swarm       impairments on every link drawn from the seed, a longer duration, and\n"
          "                only the standing rules (delivery, checkers, leaks): what\n"
          "                `utcp-sim swarm --seeds A..B FILE.scn` runs per seed\n"
          "Exits 0 when every expectation held, 1 when one failed, 2 on a syntax or usage error\n"
          "(reported as file:line:col: message).\n");
}

static char *read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (f == NULL) return NULL;
  char *buf = NULL;
  size_t cap = 0, n = 0;
  for (;;) {
    if (n == cap) {
      cap = cap ? 2 * cap : 8192;
      char *nb = realloc(buf, cap);
      if (nb == NULL) {
        free(buf);
        fclose(f);
        return NULL;
      }
      buf = nb;
    }
    size_t got = fread(buf + n, 1, cap - n, f);
    n += got;
    if (got == 0) break;
  }
  bool err = ferror(f);
  fclose(f);
  if (err) {
    free(buf);
    return NULL;
  }
  *len = n;
  return buf;
}

/* Parses and runs one file over the seeds; returns the worst status. */
static int run_file(const char *path, bool have_seeds, uint64_t s0, uint64_t s1, const char *pcap,
                    const char *trace, bool swarm) {
  size_t len = 0;
  char *text = read_file(path, &len);
  if (text == NULL) {
    fprintf(stderr, "utcp-sim run: %s: %s\n", path, strerror(errno));
    return 2;
  }
  struct sim_scenario *sc;
  char err[512];
  int rc = sim_scenario_parse(path, text, len, &sc, err, sizeof err);
  free(text);
  if (rc < 0) {
    fprintf(stderr, "%s\n", err);
    return 2;
  }
  if (!have_seeds) s0 = s1 = sc->seed;
  int worst = 0;
  uint64_t failed = 0;
  for (uint64_t s = s0;; s++) {
    int st = swarm ? sim_scenario_swarm_run(sc, s, pcap, trace, stdout, NULL)
                   : sim_scenario_run(sc, s, pcap, trace, stdout, NULL);
    if (st > worst) worst = st;
    if (st) failed++;
    if (st == 2 || s == s1) break;
  }
  if (have_seeds && s1 > s0)
    printf("seeds %" PRIu64 "..%" PRIu64 ": %" PRIu64 " failed\n", s0, s1, failed);
  sim_scenario_free(sc);
  return worst;
}

static int by_name(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

int sim_run_main(int argc, char **argv) {
  const char *target = NULL, *pcap = NULL, *trace = NULL;
  bool have_seeds = false, swarm = false;
  uint64_t s0 = 0, s1 = 0;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
      sim_run_usage(stdout);
      return 0;
    }
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (strcmp(a, "--seed") == 0) {
      if (!sim_parse_u64(v, &s0)) goto usage;
      s1 = s0, have_seeds = true, i++;
    } else if (strcmp(a, "--seeds") == 0) {
      const char *dots = v ? strstr(v, "..") : NULL;
      char left[32];
      if (dots == NULL || (size_t)(dots - v) >= sizeof left) goto usage;
      memcpy(left, v, (size_t)(dots - v));
      left[dots - v] = 0;
      if (!sim_parse_u64(left, &s0) || !sim_parse_u64(dots + 2, &s1) || s1 < s0) goto usage;
      have_seeds = true, i++;
    } else if (strcmp(a, "--swarm") == 0) {
      swarm = true;
    } else if (strcmp(a, "--pcap") == 0 && v) {
      pcap = v, i++;
    } else if (strcmp(a, "--trace") == 0 && v) {
      trace = v, i++;
    } else if (a[0] != '-' && target == NULL) {
      target = a;
    } else {
      goto usage;
    }
  }
  if (target == NULL) goto usage;
  struct stat st;
  if (stat(target, &st) < 0) {
    fprintf(stderr, "utcp-sim run: %s: %s\n", target, strerror(errno));
    return 2;
  }
  if (!S_ISDIR(st.st_mode)) return run_file(target, have_seeds, s0, s1, pcap, trace, swarm);
  DIR *d = opendir(target);
  if (d == NULL) {
    fprintf(stderr, "utcp-sim run: %s: %s\n", target, strerror(errno));
    return 2;
  }
  char **names = NULL;
  size_t n = 0;
  struct dirent *de;
  while ((de = readdir(d)) != NULL) {
    size_t l = strlen(de->d_name);
    if (l < 5 || strcmp(de->d_name + l - 4, ".scn") != 0) continue;
    names = realloc(names, (n + 1) * sizeof *names);
    if (names == NULL) abort();
    size_t pl = strlen(target) + l + 2;
    names[n] = sim_xmalloc(pl);
    snprintf(names[n], pl, "%s/%s", target, de->d_name);
    n++;
  }
  closedir(d);
  qsort(names, n, sizeof *names, by_name);
  int worst = 0;
  size_t failed = 0;
  for (size_t i = 0; i < n; i++) {
    int rc = run_file(names[i], have_seeds, s0, s1, pcap, trace, swarm);
    if (rc) failed++;
    if (rc > worst) worst = rc;
  }
  printf("summary: %zu scenario file(s) in %s, %zu passed, %zu failed\n", n, target, n - failed,
         failed);
  for (size_t i = 0; i < n; i++) free(names[i]);
  free(names);
  return worst;
usage:
  sim_run_usage(stderr);
  return 2;
}
