/* `utcp-sim attack <kind>`: attack scenarios with measured pass criteria (attack.h).
 *
 * Topology: one switch; the server "srv" (10.0.0.1, port 80), the attacker "atk" (10.0.0.2,
 * its own MAC) and client hosts "c1".."cN" (10.0.1.1 on) on a /16. Spoofed sources come from
 * 10.0.128.0/17, where no host lives. Every real connection carries a stream generated from a
 * key and is checked byte for byte by tcpapp; the wire checker watches every frame of the real
 * stacks. After the attack and the work, the run waits until every stack is empty again (the
 * leak check: no connection, timer or buffer chunk left). */
#include "attack.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "checker.h"
#include "core/wire.h"
#include "scenario.h"
#include "sim.h"
#include "tcpapp.h"

#define SRV_IP 0x0a000001u
#define ATK_IP 0x0a000002u
#define CLI_IP0 0x0a000101u /* 10.0.1.1 */
#define SPOOF_NET 0x0a008000u /* 10.0.128.0/17 */
#define SPOOF_MASK 0x00007fffu
#define NETMASK 0xffff0000u
#define SRV_PORT 80
#define MAX_HOSTS 1000
#define BATCH_NS SIM_NS_PER_MS
#define SAMPLE_NS SIM_NS_PER_MS
#define MSL_NS (1 * SIM_NS_PER_S)
#define EVENT_LIMIT 2000000000ull

static const struct utcp_mac srv_mac = {{0x02, 0, 0, 0, 0, 0x01}};
static const struct utcp_mac atk_mac = {{0x02, 0, 0, 0, 0xff, 0xfe}};

static struct utcp_mac cli_mac(uint32_t i) {
  return (struct utcp_mac){{0x02, 0, 0, 0x01, (uint8_t)(i >> 8), (uint8_t)i}};
}

static const char *const kind_names[SIM_ATTACK__COUNT] = {
    "synflood", "blind", "ackflood", "oow-data", "tinyooo", "table-full", "zerowin"};

const char *sim_attack_kind_name(enum sim_attack_kind kind) {
  return kind < SIM_ATTACK__COUNT ? kind_names[kind] : "?";
}

int sim_attack_kind_parse(const char *s) {
  for (int i = 0; i < SIM_ATTACK__COUNT; i++)
    if (s != NULL && strcmp(s, kind_names[i]) == 0) return i;
  return -1;
}

void sim_attack_params_default(enum sim_attack_kind kind, struct sim_attack_params *p) {
  *p = (struct sim_attack_params){.kind = kind, .seed = 1, .challenge_ack_limit = 1000};
  switch (kind) {
    case SIM_ATTACK_SYNFLOOD:
      p->clients = 1000, p->client_hosts = 100, p->rate_pps = 100000, p->count = 300000;
      p->bytes = 2000;
      break;
    case SIM_ATTACK_BLIND:
      p->clients = 8, p->client_hosts = 8, p->rate_pps = 100000, p->count = 100000;
      p->bytes = 8 << 20;
      break;
    case SIM_ATTACK_ACKFLOOD:
      p->clients = 8, p->client_hosts = 8, p->rate_pps = 50000, p->count = 100000;
      p->bytes = 8 << 20;
      break;
    case SIM_ATTACK_OOW_DATA:
      p->clients = 8, p->client_hosts = 8, p->rate_pps = 20000, p->count = 40000;
      p->bytes = 8 << 20;
      break;
    case SIM_ATTACK_TINYOOO:
      p->clients = 8, p->client_hosts = 8, p->rate_pps = 50000, p->count = 100000;
      p->bytes = 8 << 20;
      break;
    case SIM_ATTACK_ZEROWIN:
      p->clients = 8, p->client_hosts = 8, p->rate_pps = 1000, p->count = 200;
      p->bytes = 65536, p->zw_timeout_ms = 10000;
      break;
    default: /* table-full */
      p->clients = 200, p->client_hosts = 20, p->max_conns = 64, p->bytes = 1000;
      break;
  }
}

/* ---- the run ---- */

struct target {
  struct tcpapp_host *cli;
  struct tcpapp_conn *cc; /* NULL once done */
  uint32_t host;
  uint16_t cport;
  uint64_t tx_key; /* the client's stream */
  utcp_conn_t srv_conn; /* 0 until accepted; the server side */
  bool srv_done;
};

struct atk {
  struct sim_attack_params p;
  FILE *out;
  struct sim *sim;
  struct sim_switch *sw;
  struct tcpapp_host *srv;
  struct tcpapp_host **cli;
  struct sim_node *node; /* the attacker */
  struct sim_checker *checker;
  sim_observer_fn chk_fn;
  void *chk_ctx;
  struct utcp_rng rng;
  struct utcp_stack_config srv_cfg;

  /* work */
  struct target *tg;
  uint32_t n_tg, opened, done, refused;
  bool c2s; /* data from the clients (else from the server) */
  uint64_t req_bytes;
  uint64_t t_first_done_ns, t_all_done_ns;
  uint64_t ok_under_attack, lat_sum_ns, lat_max_ns; /* clients completed while armed */

  /* the attack */
  bool armed;
  uint64_t next_ns, sent, total, t_start_ns, t_end_ns;
  uint64_t sent_kind[4];
  uint64_t atk_rx;

  /* zerowin: the attacker's own connections */
  struct zconn {
    uint32_t iss, rcv_nxt; /* ours; the server's ISN + 1 */
    bool est, reset, req_acked;
    uint64_t t_est_ns, t_rst_ns, t_acked_ns; /* the stall begins when the request is taken */
    uint64_t t_probe_ns; /* the first probe: the response was queued (the stall began) before */
  } *zc;
  uint32_t zc_opened, zc_est, zc_reset, zc_probes;
  uint64_t zc_tick_ns; /* next retransmission of unacknowledged requests */

  /* samples */
  bool sampling;
  uint32_t peak_conns, peak_chunks, peak_ranges;
};

static uint64_t stream_key(uint64_t seed, uint64_t a, uint64_t b) {
  return sim_seed_derive(seed, (9ull << 56) | (a << 8) | b);
}

static uint32_t rnd32(struct atk *a) { return (uint32_t)utcp_rng_next(&a->rng); }

/* Sends one forged TCP segment out of the attacker's port: source MAC the attacker's own,
 * destination MAC the victim's, addresses and ports as given. */
static void forge(struct atk *a, uint32_t src, uint16_t sport, uint32_t dst, uint16_t dport,
                  const struct utcp_mac *dst_mac, uint32_t seq, uint32_t ack, uint8_t flags,
                  uint16_t wnd, const struct utcp_tcp_opts *opt, const uint8_t *data, size_t len) {
  uint8_t frame[1600];
  struct utcp_seg seg = {.sport = sport, .dport = dport, .seq = utcp_seq(seq), .ack = utcp_seq(ack),
                         .flags = flags, .wnd = wnd, .payload = data, .len = len};
  if (opt) seg.opt = *opt;
  size_t l4 = UTCP_TCP_HLEN + utcp_tcp_opts_len(&seg.opt) + len;
  struct utcp_eth eth = {.dst = *dst_mac, .src = atk_mac, .type = UTCP_ETHERTYPE_IPV4};
  struct utcp_ipv4 ip = {.id = (uint16_t)rnd32(a), .ttl = 64, .proto = UTCP_IPPROTO_TCP,
                         .src = src, .dst = dst, .payload_len = l4};
  size_t n = utcp_eth_emit(&eth, frame, sizeof frame);
  n += utcp_ipv4_emit(&ip, frame + n, sizeof frame - n);
  size_t t = utcp_tcp_emit(&seg, src, dst, frame + n, sizeof frame - n);
  if (t != l4) {
    fprintf(stderr, "utcp-sim attack: cannot build a forged segment\n");
    abort();
  }
  sim_node_send(a->node, frame, n + t);
  a->sent++;
}

/* A live connection to aim at (informed kinds need its server side), or NULL. */
static struct target *pick(struct atk *a, bool need_srv) {
  for (uint32_t tries = 0; tries < 4 * a->n_tg; tries++) {
    struct target *t = &a->tg[utcp_rng_below(&a->rng, a->n_tg)];
    if (t->cc == NULL || t->srv_done) continue;
    if (need_srv && t->srv_conn == 0) continue;
    return t;
  }
  return NULL;
}

static bool srv_info(struct atk *a, struct target *t, struct utcp_tcp_info *i) {
  return utcp_tcp_info(a->srv->stack, t->srv_conn, i) == 0 && i->state == UTCP_TCP_ESTABLISHED;
}

/* One forged frame of the run's kind. */
static void forge_one(struct atk *a) {
  struct utcp_tcp_opts ts = {.present = UTCP_OPT_TS, .ts_val = rnd32(a), .ts_ecr = rnd32(a)};
  switch (a->p.kind) {
    case SIM_ATTACK_SYNFLOOD: {
      /* RFC 4987 2: SYNs from spoofed, unanswering sources. */
      uint32_t src = SPOOF_NET | (rnd32(a) & SPOOF_MASK);
      if ((src & 0xff) == 0 || (src & 0xff) == 0xff) src ^= 1;
      struct utcp_tcp_opts o = {.present = UTCP_OPT_MSS, .mss = 1460};
      forge(a, src, (uint16_t)(1024 + rnd32(a) % 64000), SRV_IP, SRV_PORT, &srv_mac, rnd32(a), 0,
            UTCP_TCP_SYN, 65535, &o, NULL, 0);
      a->sent_kind[0]++;
      return;
    }
    case SIM_ATTACK_BLIND: {
      struct target *t = pick(a, false);
      if (t == NULL) return;
      /* Half RSTs (half of those with an ACK), half SYNs carrying a timestamp of random value;
       * each to one end of a connection with the other end's address. */
      bool syn = a->sent % 2 == 1;
      uint8_t flags = syn ? UTCP_TCP_SYN : (rnd32(a) & 1) ? UTCP_TCP_RST : UTCP_TCP_RST | UTCP_TCP_ACK;
      const struct utcp_tcp_opts *o = syn ? &ts : NULL;
      uint32_t cip = CLI_IP0 + t->host;
      struct utcp_mac cm = cli_mac(t->host);
      if (rnd32(a) & 1) {
        forge(a, cip, t->cport, SRV_IP, SRV_PORT, &srv_mac, rnd32(a), rnd32(a), flags, 65535, o,
              NULL, 0);
      } else {
        forge(a, SRV_IP, SRV_PORT, cip, t->cport, &cm, rnd32(a), rnd32(a), flags, 65535, o, NULL, 0);
      }
      a->sent_kind[syn ? 1 : 0]++;
      return;
    }
    case SIM_ATTACK_ACKFLOOD: {
      struct target *t = pick(a, true);
      struct utcp_tcp_info i;
      if (t == NULL || !srv_info(a, t, &i)) return;
      uint32_t snd_max = i.snd_una + i.unacked;
      uint32_t k = (uint32_t)(a->sent % 3), seq = i.rcv_nxt, ack;
      if (k == 0) {
        ack = snd_max + 1 + (rnd32(a) & 0x3fffffffu); /* data never sent */
      } else if (k == 1) {
        /* Below SND.UNA - MAX.SND.WND (at most 2^30), and well within 2^31 of SND.NXT. */
        ack = i.snd_una - 0x40000001u - (rnd32(a) & 0x1fffffffu);
      } else {
        seq = rnd32(a), ack = rnd32(a); /* blind */
      }
      forge(a, CLI_IP0 + t->host, t->cport, SRV_IP, SRV_PORT, &srv_mac, seq, ack, UTCP_TCP_ACK,
            65535, NULL, NULL, 0);
      a->sent_kind[k]++;
      return;
    }
    case SIM_ATTACK_OOW_DATA: {
      struct target *t = pick(a, true);
      struct utcp_tcp_info i;
      if (t == NULL || !srv_info(a, t, &i)) return;
      uint8_t junk[1000];
      for (size_t k = 0; k < sizeof junk; k += 4) {
        uint32_t r = rnd32(a);
        memcpy(junk + k, &r, 4);
      }
      /* Beyond the right edge, or wholly below RCV.NXT. */
      bool above = a->sent % 2 == 0;
      uint32_t wnd = i.rcv_wnd > 65535u << i.rcv_wscale ? 65535u << i.rcv_wscale : i.rcv_wnd;
      uint32_t seq = above ? i.rcv_nxt + wnd + 1 + (rnd32(a) & 0x3fffffffu)
                           : i.rcv_nxt - (uint32_t)sizeof junk - 1 - (rnd32(a) & 0x3fffffffu);
      forge(a, CLI_IP0 + t->host, t->cport, SRV_IP, SRV_PORT, &srv_mac, seq, i.snd_nxt,
            UTCP_TCP_ACK | UTCP_TCP_PSH, 65535, NULL, junk, sizeof junk);
      a->sent_kind[above ? 0 : 1]++;
      return;
    }
    case SIM_ATTACK_TINYOOO: {
      struct target *t = pick(a, true);
      struct utcp_tcp_info i, ci;
      if (t == NULL || !srv_info(a, t, &i) ||
          utcp_tcp_info(t->cli->stack, t->cc->conn, &ci) < 0)
        return;
      /* One byte past RCV.NXT among those the client has sent and the server not yet
       * received, with the stream's own content: the attacker races the sender. (A byte of
       * other content would be data injection, which TCP cannot tell from data: RFC 5961 6;
       * a byte beyond what the client sent would have the server acknowledge data its peer
       * never sent, which the wire checker rightly flags.) */
      uint32_t in_flight = ci.snd_una + ci.unacked - i.rcv_nxt;
      if (in_flight > i.rcv_wnd) in_flight = i.rcv_wnd;
      if (in_flight < 4 || in_flight > 0x40000000u) return;
      /* In the later half of the flight: those bytes are the last to arrive. */
      uint32_t off = in_flight / 2 + (uint32_t)utcp_rng_below(&a->rng, in_flight - in_flight / 2);
      uint32_t seq = i.rcv_nxt + off;
      uint64_t stream_off = (uint64_t)(uint32_t)(seq - (i.irs + 1));
      if (stream_off >= a->p.bytes) return;
      uint8_t byte;
      tcpapp_stream_fill(t->tx_key, stream_off, &byte, 1);
      forge(a, CLI_IP0 + t->host, t->cport, SRV_IP, SRV_PORT, &srv_mac, seq, i.snd_nxt,
            UTCP_TCP_ACK, 65535, NULL, &byte, 1);
      a->sent_kind[0]++;
      return;
    }
    case SIM_ATTACK_ZEROWIN: {
      /* A connection of its own: SYN now; the rest in atk_on_frame. */
      uint32_t k = a->zc_opened++;
      a->zc[k].iss = rnd32(a);
      struct utcp_tcp_opts o = {.present = UTCP_OPT_MSS, .mss = 1460};
      forge(a, ATK_IP, (uint16_t)(20000 + k), SRV_IP, SRV_PORT, &srv_mac, a->zc[k].iss, 0,
            UTCP_TCP_SYN, 65535, &o, NULL, 0);
      a->sent_kind[0]++;
      return;
    }
    default:
      return;
  }
}

/* zerowin: the request of connection k, riding on an ACK with window 0. Answers and
 * retransmissions are not part of the forged count. */
static void zerowin_request(struct atk *a, uint32_t k) {
  struct zconn *z = &a->zc[k];
  uint8_t req[200];
  tcpapp_stream_fill(stream_key(a->p.seed, 0xffffff, 1), 0, req, a->req_bytes);
  uint64_t keep = a->sent;
  forge(a, ATK_IP, (uint16_t)(20000 + k), SRV_IP, SRV_PORT, &srv_mac, z->iss + 1, z->rcv_nxt,
        UTCP_TCP_ACK | UTCP_TCP_PSH, 0, NULL, req, a->req_bytes);
  a->sent = keep;
}

/* zerowin: every second, the requests the server has not acknowledged (it had no chunk to
 * take them into) go again, as the sender's retransmission timer would send them. */
static void zerowin_tick(struct atk *a, uint64_t now) {
  if (now < a->zc_tick_ns) return;
  for (uint32_t k = 0; k < a->zc_opened; k++)
    if (a->zc[k].est && !a->zc[k].req_acked && !a->zc[k].reset) zerowin_request(a, k);
  a->zc_tick_ns = now + SIM_NS_PER_S;
}

/* zerowin: the attacker answers ARP for its address and plays a receiver that never reads:
 * the request rides on the handshake's ACK with window 0, every probe gets window 0 again. */
static void zerowin_input(struct atk *a, const uint8_t *frame, size_t len, uint64_t now) {
  struct utcp_eth eth;
  if (utcp_eth_parse(frame, len, &eth) != UTCP_DROP_NONE) return;
  if (eth.type == UTCP_ETHERTYPE_ARP) {
    struct utcp_arp q;
    if (utcp_arp_parse(eth.payload, eth.payload_len, &q) != UTCP_DROP_NONE ||
        q.op != UTCP_ARP_REQUEST || q.tpa != ATK_IP)
      return;
    uint8_t out[64];
    struct utcp_eth re = {.dst = q.sha, .src = atk_mac, .type = UTCP_ETHERTYPE_ARP};
    struct utcp_arp ra = {.op = UTCP_ARP_REPLY, .sha = atk_mac, .spa = ATK_IP, .tha = q.sha,
                          .tpa = q.spa};
    size_t n = utcp_eth_emit(&re, out, sizeof out);
    n += utcp_arp_emit(&ra, out + n, sizeof out - n);
    sim_node_send(a->node, out, n);
    return;
  }
  struct utcp_ipv4 ip;
  struct utcp_seg seg;
  if (eth.type != UTCP_ETHERTYPE_IPV4 ||
      utcp_ipv4_parse(eth.payload, eth.payload_len, &ip) != UTCP_DROP_NONE ||
      ip.proto != UTCP_IPPROTO_TCP || ip.dst != ATK_IP ||
      utcp_tcp_parse(ip.payload, ip.payload_len, ip.src, ip.dst, true, &seg) != UTCP_DROP_NONE)
    return;
  uint32_t k = (uint32_t)seg.dport - 20000;
  if (seg.dport < 20000 || k >= a->zc_opened) return;
  struct zconn *z = &a->zc[k];
  if ((seg.flags & UTCP_TCP_ACK) && z->est &&
      (int32_t)(seg.ack.v - (z->iss + 1 + (uint32_t)a->req_bytes)) >= 0 && !z->req_acked) {
    z->req_acked = true;
    z->t_acked_ns = now;
  }
  if (seg.flags & UTCP_TCP_RST) {
    if (!z->reset) {
      z->reset = true;
      z->t_rst_ns = now;
      a->zc_reset++;
    }
    return;
  }
  if ((seg.flags & (UTCP_TCP_SYN | UTCP_TCP_ACK)) == (UTCP_TCP_SYN | UTCP_TCP_ACK)) {
    z->rcv_nxt = seg.seq.v + 1;
    if (!z->est) {
      z->est = true;
      z->t_est_ns = now;
      a->zc_est++;
    }
    zerowin_request(a, k);
    return;
  }
  if (z->est && (seg.len > 0 || (seg.flags & UTCP_TCP_FIN))) {
    a->zc_probes++; /* a probe (or data past our window): the window stays shut */
    if (z->t_probe_ns == 0) z->t_probe_ns = now;
    uint64_t keep = a->sent;
    forge(a, ATK_IP, seg.dport, SRV_IP, SRV_PORT, &srv_mac, z->iss + 1 + (uint32_t)a->req_bytes,
          z->rcv_nxt, UTCP_TCP_ACK, 0, NULL, NULL, 0);
    a->sent = keep;
  }
}

/* ---- the attacker node ---- */

static void atk_on_frame(struct sim_node *node, const uint8_t *frame, size_t len, uint64_t now) {
  struct atk *a = sim_node_ctx(node);
  a->atk_rx++; /* broadcasts; the blind attacker sees nothing else */
  if (a->p.kind == SIM_ATTACK_ZEROWIN) zerowin_input(a, frame, len, now);
}

static void atk_on_timer(struct sim_node *node, uint64_t now) {
  struct atk *a = sim_node_ctx(node);
  if (a->p.kind == SIM_ATTACK_ZEROWIN && a->zc_opened > 0) zerowin_tick(a, now);
  if (!a->armed || now < a->next_ns) return;
  if (a->t_start_ns == 0) a->t_start_ns = now;
  uint64_t per = a->p.rate_pps * BATCH_NS / SIM_NS_PER_S;
  if (per == 0) per = 1;
  for (uint64_t k = 0; k < per && a->sent < a->total; k++) {
    uint64_t before = a->sent;
    forge_one(a);
    if (a->sent == before) break; /* nothing to aim at right now */
  }
  a->next_ns = now + BATCH_NS;
  if (a->sent >= a->total) {
    a->armed = false;
    a->t_end_ns = now;
  }
}

static uint64_t atk_next_deadline(struct sim_node *node) {
  struct atk *a = sim_node_ctx(node);
  uint64_t d = a->armed ? a->next_ns : SIM_NEVER;
  if (a->p.kind == SIM_ATTACK_ZEROWIN && a->zc_opened > 0 && a->zc_reset < a->zc_opened &&
      a->zc_tick_ns < d)
    d = a->zc_tick_ns;
  return d;
}

static void atk_fini(struct sim_node *node) { (void)node; }

static void arm(struct sim *sim, struct sim_event *ev) {
  struct atk *a = ev->obj;
  if (a->armed || a->sent >= a->total) return;
  a->armed = true;
  a->next_ns = sim_now(sim);
  sim_node_update(a->node);
}

/* The wire checker judges the real stacks only: forged frames (the attacker's source MAC) are
 * not passed on. */
static void observe(void *ctx, struct sim_node *node, int dir, const uint8_t *frame, size_t len,
                    uint64_t now) {
  struct atk *a = ctx;
  if (len >= 12 && memcmp(frame + 6, atk_mac.b, 6) == 0) return;
  if (a->chk_fn) a->chk_fn(a->chk_ctx, node, dir, frame, len, now);
}

static void sample(struct sim *sim, struct sim_event *ev) {
  struct atk *a = ev->obj;
  struct utcp_stack *s = a->srv->stack;
  uint32_t c = utcp_tcp_conns_in_use(s), k = utcp_tcp_chunks_in_use(s);
  if (c > a->peak_conns) a->peak_conns = c;
  if (k > a->peak_chunks) a->peak_chunks = k;
  for (uint32_t j = 0; j < a->n_tg && a->p.kind == SIM_ATTACK_TINYOOO; j++) {
    struct utcp_tcp_info i;
    if (a->tg[j].srv_conn && !a->tg[j].srv_done &&
        utcp_tcp_info(s, a->tg[j].srv_conn, &i) == 0 && i.ooo_ranges > a->peak_ranges)
      a->peak_ranges = i.ooo_ranges;
  }
  if (a->sampling) sim_schedule(sim, sim_now(sim) + SAMPLE_NS, sample, a, 0);
}

/* ---- the real work ---- */

static struct target *target_of_port(struct atk *a, uint32_t raddr, uint16_t rport) {
  for (uint32_t j = 0; j < a->n_tg; j++)
    if (a->tg[j].cport == rport && CLI_IP0 + a->tg[j].host == raddr) return &a->tg[j];
  return NULL;
}

static void srv_on_accept(struct tcpapp_host *h, struct tcpapp_conn *c,
                          const struct utcp_tcp_info *info) {
  struct atk *a = h->scenario;
  struct target *t = target_of_port(a, info->raddr, info->rport);
  uint64_t id = t ? (uint64_t)(t - a->tg) : 0xffffff;
  if (t) t->srv_conn = c->conn;
  if (a->c2s) {
    c->plan = (struct tcpapp_plan){.rx_bytes = a->p.bytes, .rx_key = stream_key(a->p.seed, id, 1),
                                   .fin = TCPAPP_FIN_AFTER_EOF};
  } else {
    /* A request, then the response (or the bulk transfer). */
    c->plan = (struct tcpapp_plan){.rx_bytes = a->req_bytes, .rx_key = stream_key(a->p.seed, id, 1),
                                   .tx_bytes = a->p.bytes, .tx_key = stream_key(a->p.seed, id, 2),
                                   .tx_after_rx = a->req_bytes, .fin = TCPAPP_FIN_AFTER_EOF};
  }
}

static void srv_on_done(struct tcpapp_host *h, struct tcpapp_conn *c) {
  struct atk *a = h->scenario;
  for (uint32_t j = 0; j < a->n_tg; j++)
    if (a->tg[j].srv_conn == c->conn) a->tg[j].srv_done = true;
}

static void cli_on_done(struct tcpapp_host *h, struct tcpapp_conn *c) {
  struct atk *a = h->scenario;
  if (c->id < a->n_tg) a->tg[c->id].cc = NULL;
  a->done++;
  if (c->failed && (c->err == UTCP_ERR_CONNREFUSED || c->err == UTCP_ERR_CONNRESET) &&
      !c->t_connected_ns)
    a->refused++;
  uint64_t now = sim_now(a->sim);
  if (!c->failed && a->armed) {
    uint64_t lat = now - c->t_open_ns;
    a->ok_under_attack++;
    a->lat_sum_ns += lat;
    if (lat > a->lat_max_ns) a->lat_max_ns = lat;
  }
  if (a->t_first_done_ns == 0) a->t_first_done_ns = now;
  a->t_all_done_ns = now;
}

static void open_one(struct sim *sim, struct sim_event *ev) {
  struct atk *a = ev->obj;
  (void)sim;
  uint32_t id = (uint32_t)ev->arg;
  struct target *t = &a->tg[id];
  struct tcpapp_plan plan;
  uint64_t key_rx = stream_key(a->p.seed, id, 2), key_tx = stream_key(a->p.seed, id, 1);
  if (a->c2s) {
    plan = (struct tcpapp_plan){.tx_bytes = a->p.bytes, .tx_key = key_tx, .fin = TCPAPP_FIN_AFTER_TX};
  } else {
    plan = (struct tcpapp_plan){.tx_bytes = a->req_bytes, .tx_key = key_tx, .rx_bytes = a->p.bytes,
                                .rx_key = key_rx, .fin = TCPAPP_FIN_AFTER_RX};
  }
  int err = 0;
  t->cc = tcpapp_connect(t->cli, SRV_IP, SRV_PORT, &plan, id, &err);
  a->opened++;
  if (t->cc == NULL) {
    fprintf(a->out, "  connect #%" PRIu32 ": %s\n", id, utcp_strerror(err));
    a->done++;
    return;
  }
  struct utcp_tcp_info i;
  utcp_tcp_info(t->cli->stack, t->cc->conn, &i);
  t->cport = i.lport;
  t->tx_key = key_tx;
  sim_stack_node_poke(t->cli->node);
}

/* Arms the attack once every connection is established (the kinds that aim at them). */
static void watch_established(struct sim *sim, struct sim_event *ev) {
  struct atk *a = ev->obj;
  uint32_t est = 0;
  for (uint32_t j = 0; j < a->n_tg; j++) est += a->tg[j].srv_conn != 0 && a->tg[j].cc != NULL;
  if (est == a->n_tg) {
    sim_schedule(sim, sim_now(sim) + 10 * SIM_NS_PER_MS, arm, a, 0);
    return;
  }
  if (sim_now(sim) < 30 * SIM_NS_PER_S) sim_schedule(sim, sim_now(sim) + SIM_NS_PER_MS, watch_established, a, 0);
}

/* ---- building ---- */

static void client_config(uint32_t i, uint32_t conns, bool ts, uint32_t ch_limit,
                          struct utcp_stack_config *c) {
  utcp_stack_config_default(c);
  c->mac = cli_mac(i);
  c->ip = CLI_IP0 + i;
  c->netmask = NETMASK;
  c->tcp.max_conns = conns + 8;
  c->tcp.syn_backlog = 16;
  c->tcp.chunks = 2048 + 64 * conns;
  c->tcp.reass_nodes = 512;
  c->tcp.msl_ns = MSL_NS;
  c->tcp.timestamps = ts;
  c->tcp.challenge_ack_limit = ch_limit;
  c->tcp.rcvbuf_bytes = 1 << 20;
  c->tcp.sndbuf_bytes = 1 << 20;
  c->arp_entries = 16;
  c->arp_pending_total = 64;
  c->event_queue_len = 256;
}

static int build(struct atk *a) {
  const struct sim_attack_params *p = &a->p;
  bool informed = p->kind == SIM_ATTACK_ACKFLOOD || p->kind == SIM_ATTACK_OOW_DATA ||
                  p->kind == SIM_ATTACK_TINYOOO;
  struct utcp_stack_config *c = &a->srv_cfg;
  utcp_stack_config_default(c);
  c->mac = srv_mac;
  c->ip = SRV_IP;
  c->netmask = NETMASK;
  c->tcp.max_conns = p->max_conns ? p->max_conns : 4096;
  c->tcp.syn_backlog = 256;
  c->tcp.chunks = p->server_chunks ? p->server_chunks : 16384;
  c->tcp.reass_nodes = p->kind == SIM_ATTACK_TINYOOO ? 128 : 1024;
  c->tcp.msl_ns = MSL_NS;
  c->tcp.timestamps = !informed; /* informed attackers need not track TS.Recent */
  c->tcp.challenge_ack_limit = p->challenge_ack_limit;
  if (p->zw_timeout_ms) c->tcp.zero_window_timeout_ns = p->zw_timeout_ms * SIM_NS_PER_MS;
  if (p->zw_pressure_ms) c->tcp.zero_window_pressure_ns = p->zw_pressure_ms * SIM_NS_PER_MS;
  c->arp_entries = 512;
  if (p->kind == SIM_ATTACK_BLIND) c->tcp.rcvbuf_bytes = 4 << 20; /* a wide target */
  uint32_t app_conns = p->clients + 64 + (p->kind == SIM_ATTACK_ZEROWIN ? (uint32_t)p->count : 0);
  a->srv = tcpapp_host_new(a->sim, "srv", c, app_conns > c->tcp.max_conns ? c->tcp.max_conns + 1 : app_conns,
                           &(struct tcpapp_ops){.on_accept = srv_on_accept, .on_done = srv_on_done}, a);
  if (a->srv == NULL) return -1;
  uint32_t hosts = p->client_hosts;
  a->sw = sim_switch_new(a->sim, "sw", (int)hosts + 2);
  struct sim_link_params fast, slow;
  sim_link_params_default(&fast);
  fast.delay_ns = 500 * SIM_NS_PER_US;
  fast.rate_bps = 1000000000ull;
  fast.queue_limit_bytes = 4 << 20;
  slow = fast;
  slow.rate_bps = p->kind == SIM_ATTACK_SYNFLOOD || p->kind == SIM_ATTACK_TABLE_FULL ? 100000000ull
                                                                                   : 20000000ull;
  slow.queue_limit_bytes = 1 << 20;
  sim_link_new(a->sim, "srv-sw", &fast, NULL, sim_node_port(a->srv->node), sim_switch_port(a->sw, 0));
  a->node = sim_node_new(a->sim, "atk",
                         &(struct sim_node_ops){.on_frame = atk_on_frame, .on_timer = atk_on_timer,
                                                .next_deadline = atk_next_deadline, .fini = atk_fini},
                         a);
  sim_link_new(a->sim, "atk-sw", &fast, NULL, sim_node_port(a->node), sim_switch_port(a->sw, 1));
  sim_rng_init(a->sim, &a->rng, (8ull << 56) | sim_node_id(a->node));
  a->cli = sim_xcalloc(hosts, sizeof *a->cli);
  uint32_t per_host = (p->clients + hosts - 1) / hosts;
  for (uint32_t i = 0; i < hosts; i++) {
    struct utcp_stack_config cc;
    client_config(i, per_host + (p->kind == SIM_ATTACK_TABLE_FULL ? per_host : 0), !informed,
                  p->challenge_ack_limit, &cc);
    char name[16], lname[24];
    snprintf(name, sizeof name, "c%" PRIu32, i + 1);
    snprintf(lname, sizeof lname, "c%" PRIu32 "-sw", i + 1);
    a->cli[i] = tcpapp_host_new(a->sim, name, &cc, 2 * per_host + 8,
                                &(struct tcpapp_ops){.on_done = cli_on_done}, a);
    if (a->cli[i] == NULL) return -1;
    sim_link_new(a->sim, lname, &slow, NULL, sim_node_port(a->cli[i]->node),
                 sim_switch_port(a->sw, (int)i + 2));
  }
  return 0;
}

/* ---- reporting ---- */

static void replay(const struct atk *a, FILE *out) {
  const struct sim_attack_params *p = &a->p;
  fprintf(out,
          "replay: utcp-sim attack %s --seed %" PRIu64 " --clients %" PRIu32 " --hosts %" PRIu32
          " --bytes %" PRIu64 " --challenge-limit %" PRIu32,
          sim_attack_kind_name(p->kind), p->seed, p->clients, p->client_hosts, p->bytes,
          p->challenge_ack_limit);
  if (p->kind != SIM_ATTACK_TABLE_FULL)
    fprintf(out, " --rate %" PRIu64 " --count %" PRIu64, p->rate_pps, p->count);
  if (p->max_conns) fprintf(out, " --max-conns %" PRIu32, p->max_conns);
  if (p->zw_timeout_ms) fprintf(out, " --zw-timeout-ms %" PRIu64, p->zw_timeout_ms);
  if (p->zw_pressure_ms) fprintf(out, " --zw-pressure-ms %" PRIu64, p->zw_pressure_ms);
  if (p->server_chunks) fprintf(out, " --server-chunks %" PRIu32, p->server_chunks);
  if (p->pcap_dir) fprintf(out, " --pcap %s", p->pcap_dir);
  fprintf(out, "\n");
}

static uint64_t sum_clients(const struct atk *a, size_t off) {
  uint64_t v = 0;
  for (uint32_t i = 0; i < a->p.client_hosts; i++) {
    const struct utcp_counters *c = utcp_stack_counters(a->cli[i]->stack);
    v += *(const uint64_t *)((const char *)c + off);
  }
  return v;
}

static uint64_t sum_clients_drop(const struct atk *a, enum utcp_drop d) {
  uint64_t v = 0;
  for (uint32_t i = 0; i < a->p.client_hosts; i++) v += utcp_stack_counters(a->cli[i]->stack)->drop[d];
  return v;
}

static uint64_t sum_clients_cov(const struct atk *a, enum utcp_coverage k) {
  uint64_t v = 0;
  for (uint32_t i = 0; i < a->p.client_hosts; i++) v += utcp_stack_counters(a->cli[i]->stack)->cov[k];
  return v;
}

static bool all_empty(const struct atk *a) {
  struct utcp_stack *s = a->srv->stack;
  if (utcp_tcp_conns_in_use(s) || utcp_tcp_timers_running(s) || utcp_tcp_chunks_in_use(s)) return false;
  for (uint32_t i = 0; i < a->p.client_hosts; i++) {
    s = a->cli[i]->stack;
    if (utcp_tcp_conns_in_use(s) || utcp_tcp_timers_running(s) || utcp_tcp_chunks_in_use(s))
      return false;
  }
  return true;
}

static int fail_if(FILE *out, bool bad, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail_if(FILE *out, bool bad, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(out, "%s: ", bad ? "FAIL" : "pass");
  vfprintf(out, fmt, ap);
  fprintf(out, "\n");
  va_end(ap);
  return bad ? 1 : 0;
}

/* Challenge ACKs a stack may send in [t0, t1]: the limit in every one-second window the
 * interval touches (RFC 5961 7). */
static uint64_t challenge_bound(uint32_t limit, uint64_t t0, uint64_t t1) {
  return (uint64_t)limit * ((t1 - t0) / SIM_NS_PER_S + 2);
}

/* ---- the run ---- */

int sim_attack_run(const struct sim_attack_params *params, FILE *out, struct sim_attack_result *res) {
  struct atk A = {.p = *params, .out = out};
  struct atk *a = &A;
  const struct sim_attack_params *p = &a->p;
  int fails = 0;
  a->c2s = p->kind == SIM_ATTACK_OOW_DATA || p->kind == SIM_ATTACK_TINYOOO;
  a->req_bytes = p->kind == SIM_ATTACK_SYNFLOOD || p->kind == SIM_ATTACK_TABLE_FULL ? 200 : 100;
  a->total = p->kind == SIM_ATTACK_BLIND ? 2 * p->count : p->count;
  if (p->kind == SIM_ATTACK_TABLE_FULL) a->total = 0;
  fprintf(out, "utcp-sim attack %s: seed %" PRIu64 ", %" PRIu32 " client connections from %" PRIu32
               " hosts, %" PRIu64 " forged frames at %" PRIu64 "/s\n",
          sim_attack_kind_name(p->kind), p->seed, p->clients, p->client_hosts, a->total, p->rate_pps);

  a->sim = sim_new(p->seed);
  sim_set_event_limit(a->sim, EVENT_LIMIT);
  if (build(a) < 0) {
    replay(a, out);
    return 1;
  }
  char *rl = NULL;
  size_t rl_len = 0;
  FILE *f = open_memstream(&rl, &rl_len);
  replay(a, f);
  fclose(f);
  if (rl_len > 0 && rl[rl_len - 1] == '\n') rl[rl_len - 1] = 0;
  a->checker = sim_checker_new(a->sim, rl + strlen("replay: "));
  free(rl);
  a->chk_fn = sim_get_observer(a->sim, &a->chk_ctx);
  sim_set_observer(a->sim, observe, a);
  if (p->pcap_dir && sim_pcap_all(a->sim, p->pcap_dir) < 0) {
    fprintf(out, "FAIL: cannot write pcap files in %s\n", p->pcap_dir);
    fails++;
  }
  tcpapp_listen(a->srv, SRV_PORT, 4096);

  /* Connections: synflood spreads them over [0.5 s, 1.5 s) inside the flood; table-full opens
   * them all at once; the others open them at once and attack once all are established. */
  a->n_tg = p->clients;
  a->tg = sim_xcalloc(a->n_tg + 64, sizeof *a->tg);
  for (uint32_t j = 0; j < a->n_tg; j++) {
    a->tg[j].host = j % p->client_hosts;
    a->tg[j].cli = a->cli[a->tg[j].host];
    uint64_t at = p->kind == SIM_ATTACK_SYNFLOOD
                      ? 500 * SIM_NS_PER_MS + (uint64_t)j * SIM_NS_PER_S / p->clients
                  : p->kind == SIM_ATTACK_ZEROWIN /* once the stalls hold their buffers */
                      ? (uint64_t)p->count * SIM_NS_PER_S / p->rate_pps + 100 * SIM_NS_PER_MS +
                            (uint64_t)j * SIM_NS_PER_MS
                      : SIM_NS_PER_MS + (uint64_t)j * SIM_NS_PER_US;
    sim_schedule(a->sim, at, open_one, a, j);
  }
  if (p->kind == SIM_ATTACK_ZEROWIN) a->zc = sim_xcalloc(p->count + 1, sizeof *a->zc);
  if (p->kind == SIM_ATTACK_SYNFLOOD || p->kind == SIM_ATTACK_ZEROWIN) {
    sim_schedule(a->sim, 10 * SIM_NS_PER_MS, arm, a, 0);
  } else if (a->total > 0) {
    sim_schedule(a->sim, 2 * SIM_NS_PER_MS, watch_established, a, 0);
  }
  a->sampling = true;
  sim_schedule(a->sim, 0, sample, a, 0);

  /* Run until the work is done (and the attack over), within a liveness deadline. */
  uint64_t deadline = 600 * SIM_NS_PER_S;
  int rc = 0;
  while (sim_now(a->sim) < deadline && rc == 0) {
    bool work_done = a->done >= a->n_tg;
    bool attack_done = !a->armed && (a->sent >= a->total || a->total == 0);
    if (p->kind == SIM_ATTACK_ZEROWIN && a->zc_reset < a->zc_opened &&
        sim_now(a->sim) < a->t_end_ns + 2 * p->zw_timeout_ms * SIM_NS_PER_MS + 10 * SIM_NS_PER_S)
      attack_done = false; /* until the reclaim (or twice its time) */
    if (work_done && attack_done) break;
    rc = sim_run_until(a->sim, sim_now(a->sim) + 100 * SIM_NS_PER_MS);
  }
  uint64_t t_work = sim_now(a->sim);
  a->sampling = false;
  if (rc < 0) {
    fprintf(out, "FAIL: %s\n", sim_stopped(a->sim) ? "stopped by the wire checker" : "event limit");
    fails++;
  }
  /* table-full: a second wave after the first, to show the table frees up again. */
  uint32_t wave2 = 0, refused_wave1 = a->refused;
  if (p->kind == SIM_ATTACK_TABLE_FULL && rc == 0) {
    wave2 = 20;
    uint32_t base = a->n_tg;
    a->n_tg += wave2;
    for (uint32_t j = base; j < a->n_tg; j++) {
      a->tg[j].host = j % p->client_hosts;
      a->tg[j].cli = a->cli[a->tg[j].host];
      sim_schedule(a->sim, sim_now(a->sim) + 10 * SIM_NS_PER_MS, open_one, a, j);
    }
    while (a->done < a->n_tg && sim_now(a->sim) < t_work + 120 * SIM_NS_PER_S && rc == 0)
      rc = sim_run_until(a->sim, sim_now(a->sim) + 100 * SIM_NS_PER_MS);
    t_work = sim_now(a->sim);
  }

  /* Figures. */
  const struct utcp_counters *sc = utcp_stack_counters(a->srv->stack);
  const struct tcpapp_stats *ss = &a->srv->st;
  uint64_t cli_ok = 0, cli_failed = 0, bad = ss->bad_content;
  for (uint32_t i = 0; i < p->client_hosts; i++) {
    cli_ok += a->cli[i]->st.completed;
    cli_failed += a->cli[i]->st.failed;
    bad += a->cli[i]->st.bad_content;
  }
  uint64_t resets = sc->tcp_estab_resets + sum_clients(a, offsetof(struct utcp_counters, tcp_estab_resets));
  uint64_t ch = sc->cov[UTCP_COV_challenge_ack], chl = sc->cov[UTCP_COV_challenge_ack_limited];
  uint64_t t0 = a->t_start_ns, t1 = a->t_end_ns ? a->t_end_ns : sim_now(a->sim);
  fprintf(out, "attack: %" PRIu64 " forged frames from %.3f s to %.3f s", a->sent, (double)t0 / 1e9,
          (double)t1 / 1e9);
  if (a->t_first_done_ns)
    fprintf(out, "; first connection done at %.3f s, all at %.3f s", (double)a->t_first_done_ns / 1e9,
            (double)a->t_all_done_ns / 1e9);
  fprintf(out, "\n");
  fprintf(out, "clients: %" PRIu64 " completed, %" PRIu64 " failed (%" PRIu32 " refused) of %" PRIu32
               "; server accepted %" PRIu64 " completed %" PRIu64 "\n",
          cli_ok, cli_failed, a->refused, a->n_tg, ss->accepted, ss->completed);
  fprintf(out, "server memory: peak connections %" PRIu32 " of %" PRIu32 ", peak chunks %" PRIu32
               " of %" PRIu32 " (%.1f MiB of %.1f MiB)\n",
          a->peak_conns, a->srv_cfg.tcp.max_conns, a->peak_chunks, a->srv_cfg.tcp.chunks,
          a->peak_chunks * 2048.0 / 1048576, a->srv_cfg.tcp.chunks * 2048.0 / 1048576);
  fprintf(out, "server: challenge ACKs sent %" PRIu64 ", limited %" PRIu64 " (limit %" PRIu32
               "/s); out-of-window ACK answers skipped %" PRIu64 "; estab resets (all stacks) %" PRIu64 "\n",
          ch, chl, p->challenge_ack_limit, sc->tcp_oow_ack_skipped, resets);
  fprintf(out, "  drops:");
  for (int d = 1; d < UTCP_DROP__COUNT; d++)
    if (sc->drop[d]) fprintf(out, " %s=%" PRIu64, utcp_drop_name((enum utcp_drop)d), sc->drop[d]);
  fprintf(out, "\n");
  if (p->verbose) sim_stack_node_print_counters(a->srv->node, out);

  /* The kind's own criteria. */
  switch (p->kind) {
    case SIM_ATTACK_SYNFLOOD: {
      double pct = 100.0 * (double)a->ok_under_attack / p->clients;
      uint64_t arp_bound = (uint64_t)a->srv_cfg.arp_entries *
                               ((t1 - t0) / a->srv_cfg.arp_retry_ns + a->srv_cfg.arp_retries + 2) +
                           p->client_hosts;
      fprintf(out, "synflood: %.2f%% of real clients completed during the flood (open to close: mean %.1f ms, max %.1f ms); SYN cookies sent %" PRIu64
                   " recv %" PRIu64 " failed %" PRIu64 "; ARP requests %" PRIu64 " (bound %" PRIu64
                   "), table-full drops %" PRIu64 ", pending evicted %" PRIu64 "\n",
              pct, a->ok_under_attack ? (double)a->lat_sum_ns / a->ok_under_attack / 1e6 : 0.0,
              (double)a->lat_max_ns / 1e6, sc->tcp_syncookies_sent, sc->tcp_syncookies_recv, sc->tcp_syncookies_failed,
              sc->arp_out_requests, arp_bound, sc->drop[UTCP_DROP_ARP_TABLE_FULL], sc->arp_pending_evicted);
      fails += fail_if(out, a->ok_under_attack * 100 < 99ull * p->clients,
                       "at least 99%% of real clients completed while the flood ran (%.2f%%)", pct);
      fails += fail_if(out, cli_ok != p->clients || bad, "every real client completed byte-exact in the end");
      fails += fail_if(out, a->sent != a->total, "every SYN of the flood was sent (%" PRIu64 ")", a->sent);
      fails += fail_if(out, a->peak_conns > a->srv_cfg.tcp.syn_backlog + p->clients + 1 ||
                                sc->drop[UTCP_DROP_TCP_NO_TCB] != 0,
                       "connections stay within SYN backlog + clients + listener (%" PRIu32 " <= %" PRIu32 "), table never full",
                       a->peak_conns, a->srv_cfg.tcp.syn_backlog + p->clients + 1);
      fails += fail_if(out, a->peak_chunks > a->srv_cfg.tcp.chunks, "chunks within the pool");
      fails += fail_if(out, sc->tcp_syncookies_sent < a->total / 2 || sc->tcp_syncookies_recv == 0,
                       "SYN cookies answered the flood and real clients came back with them");
      fails += fail_if(out, sc->arp_out_requests > arp_bound, "ARP requests for unanswering sources bounded by the table");
      break;
    }
    case SIM_ATTACK_BLIND: {
      uint64_t rst_ch = sc->drop[UTCP_DROP_TCP_RST_CHALLENGED] + sum_clients_drop(a, UTCP_DROP_TCP_RST_CHALLENGED);
      uint64_t syn_ch = sc->drop[UTCP_DROP_TCP_SYN_CHALLENGED] + sum_clients_drop(a, UTCP_DROP_TCP_SYN_CHALLENGED);
      uint64_t cch = sum_clients_cov(a, UTCP_COV_challenge_ack);
      uint64_t cchl = sum_clients_cov(a, UTCP_COV_challenge_ack_limited);
      uint64_t bound = challenge_bound(p->challenge_ack_limit, t0, t1);
      /* Half go to the server (a 4 MiB window), half to the clients (1 MiB). */
      double expect = (double)a->sent_kind[0] / 2 * (5.0 * 1048576) / 4294967296.0;
      fprintf(out, "blind: RSTs %" PRIu64 " (in a window, challenged: %" PRIu64 ", expected about %.0f), SYNs %" PRIu64
                   " (in a window: %" PRIu64 "); challenge ACKs server %" PRIu64 " + limited %" PRIu64
                   ", clients %" PRIu64 " + limited %" PRIu64 " (bound per stack %" PRIu64 ")\n",
              a->sent_kind[0], rst_ch, expect, a->sent_kind[1], syn_ch, ch, chl, cch, cchl, bound);
      fails += fail_if(out, a->sent_kind[0] != p->count || a->sent_kind[1] != p->count,
                       "%" PRIu64 " RSTs and %" PRIu64 " SYNs forged", a->sent_kind[0], a->sent_kind[1]);
      fails += fail_if(out, resets != 0 || cli_ok != p->clients || cli_failed || bad,
                       "no connection reset, every transfer complete and byte-exact");
      fails += fail_if(out, a->t_first_done_ns != 0 && a->t_end_ns > a->t_first_done_ns,
                       "the attack ended before the first transfer did (it hit connections carrying data)");
      fails += fail_if(out, ch > bound, "server challenge ACKs within the limit (%" PRIu64 " <= %" PRIu64 ")", ch, bound);
      for (uint32_t i = 0; i < p->client_hosts; i++) {
        uint64_t c = utcp_stack_counters(a->cli[i]->stack)->cov[UTCP_COV_challenge_ack];
        if (c > bound) fails += fail_if(out, true, "client %" PRIu32 " challenge ACKs %" PRIu64 " over %" PRIu64, i + 1, c, bound);
      }
      fails += fail_if(out, chl == 0, "the limit was reached (challenge ACKs refused: %" PRIu64 ")", chl);
      break;
    }
    case SIM_ATTACK_ACKFLOOD: {
      uint64_t bound = challenge_bound(p->challenge_ack_limit, t0, t1);
      uint64_t oow_answers_bound = (uint64_t)p->clients * ((t1 - t0) / (500 * SIM_NS_PER_MS) + 2);
      uint64_t oow_answered = sc->drop[UTCP_DROP_TCP_OUT_OF_WINDOW] - sc->tcp_oow_ack_skipped;
      fprintf(out, "ackflood: forged unsent %" PRIu64 " old %" PRIu64 " blind %" PRIu64
                   "; drops ack_unsent %" PRIu64 " ack_too_old %" PRIu64 " out_of_window %" PRIu64
                   "; answered out-of-window %" PRIu64 " (bound %" PRIu64 ")\n",
              a->sent_kind[0], a->sent_kind[1], a->sent_kind[2], sc->drop[UTCP_DROP_TCP_ACK_UNSENT],
              sc->drop[UTCP_DROP_TCP_ACK_TOO_OLD], sc->drop[UTCP_DROP_TCP_OUT_OF_WINDOW], oow_answered,
              oow_answers_bound);
      fails += fail_if(out, a->sent != a->total, "every forged ACK was sent (%" PRIu64 ")", a->sent);
      fails += fail_if(out, resets != 0 || cli_ok != p->clients || cli_failed || bad,
                       "no connection reset, every transfer complete and byte-exact");
      fails += fail_if(out, sc->drop[UTCP_DROP_TCP_ACK_UNSENT] < a->sent_kind[0] ||
                                sc->drop[UTCP_DROP_TCP_ACK_TOO_OLD] < a->sent_kind[1],
                       "every ACK of unsent or too old data refused (RFC 5961 5.2)");
      fails += fail_if(out, ch > bound, "challenge ACKs within the limit (%" PRIu64 " <= %" PRIu64 ")", ch, bound);
      fails += fail_if(out, oow_answered > oow_answers_bound, "out-of-window ACKs answered within the per-connection limit");
      fails += fail_if(out, a->t_first_done_ns != 0 && a->t_end_ns > a->t_first_done_ns,
                       "the attack ended before the first transfer did");
      break;
    }
    case SIM_ATTACK_OOW_DATA: {
      uint64_t oow = sc->drop[UTCP_DROP_TCP_OUT_OF_WINDOW];
      fprintf(out, "oow-data: forged above the window %" PRIu64 ", below RCV.NXT %" PRIu64
                   "; out_of_window drops %" PRIu64 "; server segments out %" PRIu64 "\n",
              a->sent_kind[0], a->sent_kind[1], oow, sc->tcp_out_segs);
      fails += fail_if(out, a->sent != a->total, "every forged segment was sent (%" PRIu64 ")", a->sent);
      fails += fail_if(out, oow < a->sent, "every forged segment dropped as out of the window");
      fails += fail_if(out, resets != 0 || ss->completed != p->clients || ss->failed || bad,
                       "no forged byte delivered: every transfer complete and byte-exact");
      fails += fail_if(out, a->peak_chunks > p->clients * (a->srv_cfg.tcp.rcvbuf_bytes / 2048 + 2) + 64,
                       "forged data holds no memory (peak chunks %" PRIu32 ")", a->peak_chunks);
      fails += fail_if(out, a->t_first_done_ns != 0 && a->t_end_ns > a->t_first_done_ns,
                       "the attack ended before the first transfer did");
      break;
    }
    case SIM_ATTACK_TINYOOO: {
      uint64_t full = sc->drop[UTCP_DROP_TCP_REASS_FULL];
      fprintf(out, "tinyooo: 1-byte out-of-order segments %" PRIu64 "; reassembly refusals %" PRIu64
                   "; peak ranges on one connection %" PRIu32 " (cap %" PRIu32 "), reassembly nodes %" PRIu32 "\n",
              a->sent_kind[0], full, a->peak_ranges, a->srv_cfg.tcp.reass_max_ranges, a->srv_cfg.tcp.reass_nodes);
      fails += fail_if(out, a->sent != a->total, "every forged segment was sent (%" PRIu64 ")", a->sent);
      fails += fail_if(out, a->peak_ranges > a->srv_cfg.tcp.reass_max_ranges, "ranges per connection within the cap");
      fails += fail_if(out, full == 0, "the caps refused (and counted) out-of-order data");
      fails += fail_if(out, a->peak_chunks > a->srv_cfg.tcp.chunks, "chunks within the pool");
      fails += fail_if(out, resets != 0 || ss->completed != p->clients || ss->failed || bad,
                       "every transfer complete and byte-exact");
      break;
    }
    case SIM_ATTACK_ZEROWIN: {
      uint64_t lo = UINT64_MAX, hi = 0;
      for (uint32_t k = 0; k < a->zc_opened; k++) {
        if (!a->zc[k].req_acked || !a->zc[k].reset) continue;
        /* The stall began between the ACK of the request and the first probe: never reclaimed
         * earlier than the limit after the first, nor much later than after the second (a
         * response the pool could only take later stalls later). */
        uint64_t d = a->zc[k].t_rst_ns - a->zc[k].t_acked_ns;
        uint64_t from = a->zc[k].t_probe_ns > a->zc[k].t_acked_ns ? a->zc[k].t_probe_ns
                                                                  : a->zc[k].t_acked_ns;
        uint64_t d_late = a->zc[k].t_rst_ns - from;
        if (d < lo) lo = d;
        if (d_late > hi) hi = d_late;
      }
      uint64_t tmo = p->zw_timeout_ms * SIM_NS_PER_MS;
      uint64_t prs = a->srv_cfg.tcp.zero_window_pressure_ns;
      uint64_t by_pressure = sc->tcp_zw_abort_pressure;
      uint32_t want = a->zc_opened * (uint32_t)((p->bytes + 2047) / 2048);
      /* send queues may fill the pool but for the quarter kept for received data */
      uint32_t tx_share = a->srv_cfg.tcp.chunks - a->srv_cfg.tcp.chunks / 4;
      if (want > tx_share) want = tx_share;
      fprintf(out, "zerowin: %" PRIu32 " zero-window connections, %" PRIu32 " established, %" PRIu32
                   " probes answered with window 0, %" PRIu32 " reset by the server after %.3f..%.3f s"
                   " (limit %.3f s); utcpZeroWindowAbortPeer %" PRIu64 ", of them under pool pressure %" PRIu64
                   "; peak chunks %" PRIu32 " of %" PRIu32 "; real clients done at %.3f s\n",
              a->zc_opened, a->zc_est, a->zc_probes, a->zc_reset, lo == UINT64_MAX ? 0.0 : (double)lo / 1e9,
              (double)hi / 1e9, (double)tmo / 1e9, sc->tcp_zw_abort_peer, by_pressure, a->peak_chunks,
              a->srv_cfg.tcp.chunks, (double)a->t_all_done_ns / 1e9);
      fails += fail_if(out, a->zc_opened != p->count || a->zc_est != p->count,
                       "every attacker connection established (%" PRIu32 ")", a->zc_est);
      fails += fail_if(out, a->zc_probes < a->zc_est, "probes kept coming and were answered (RFC 9293 MUST-37 until the limit)");
      fails += fail_if(out, a->peak_chunks < want, "the stalled responses pinned their buffers (%" PRIu32 " chunks)", a->peak_chunks);
      fails += fail_if(out, a->zc_reset != a->zc_est || sc->tcp_zw_abort_peer != a->zc_est,
                       "every stalled connection reclaimed with a RST and counted (%" PRIu64 ")", sc->tcp_zw_abort_peer);
      /* The attacker dates a stall from the ACK of its request, which the delayed-ACK timer
       * may hold back by up to 200 ms after the stall began. */
      if (by_pressure == 0) {
        fails += fail_if(out, lo + 200 * SIM_NS_PER_MS < tmo || hi > tmo + 2 * SIM_NS_PER_S,
                         "reclaimed at the limit after its stall began (within 2 s of it)");
      } else {
        /* The pool ran dry: stalls at least zero_window_pressure old went at once, the rest at
         * the limit; the real clients were served long before it. */
        fails += fail_if(out, lo + 200 * SIM_NS_PER_MS < prs || hi > tmo + 2 * SIM_NS_PER_S ||
                                  a->t_all_done_ns > tmo / 2,
                         "under pool pressure, stalls reclaimed no younger than %.3f s and the real "
                         "clients served before half the limit", (double)prs / 1e9);
      }
      fails += fail_if(out, cli_ok != p->clients || bad || resets > a->zc_est,
                       "every real client completed byte-exact");
      break;
    }
    default: {
      uint64_t no_tcb = sc->drop[UTCP_DROP_TCP_NO_TCB];
      fprintf(out, "table-full: %" PRIu32 " clients at once against %" PRIu32 " connections: refused %" PRIu32
                   " (server tcp_no_tcb %" PRIu64 ", RSTs out %" PRIu64 "), second wave of %" PRIu32 "\n",
              p->clients, a->srv_cfg.tcp.max_conns, a->refused, no_tcb, sc->tcp_out_rsts, wave2);
      fails += fail_if(out, a->peak_conns > a->srv_cfg.tcp.max_conns, "connections within the table");
      fails += fail_if(out, a->refused == 0 || a->refused != no_tcb,
                       "every refusal counted and answered with RST (%" PRIu32 " = %" PRIu64 ")", a->refused, no_tcb);
      fails += fail_if(out, cli_ok + a->refused != a->n_tg || bad,
                       "every other client completed byte-exact (%" PRIu64 " + %" PRIu32 " of %" PRIu32 ")",
                       cli_ok, a->refused, a->n_tg);
      fails += fail_if(out, wave2 == 0 || a->refused != refused_wave1,
                       "a second wave of %" PRIu32 " connected in full once the table emptied", wave2);
      break;
    }
  }

  /* Drain: let SYN-RECEIVED embryos give up, TIME-WAIT and ARP entries run out, then every
   * stack must be empty. */
  tcpapp_unlisten(a->srv);
  sim_stack_node_poke(a->srv->node);
  uint64_t drain_until = sim_now(a->sim) + 300 * SIM_NS_PER_S;
  while (rc == 0 && !all_empty(a) && sim_now(a->sim) < drain_until)
    rc = sim_run_until(a->sim, sim_now(a->sim) + SIM_NS_PER_S);
  fails += fail_if(out, !all_empty(a), "every stack empty after the drain at %.3f s (server conns %" PRIu32
                                       " timers %" PRIu64 " chunks %" PRIu32 ")",
                   (double)sim_now(a->sim) / 1e9, utcp_tcp_conns_in_use(a->srv->stack),
                   utcp_tcp_timers_running(a->srv->stack), utcp_tcp_chunks_in_use(a->srv->stack));
  fails += fail_if(out, sim_checker_violations(a->checker) != 0, "wire checker: %" PRIu64 " segments, %" PRIu64 " violations",
                   sim_checker_segments(a->checker), sim_checker_violations(a->checker));
  (void)t_work;
  fprintf(out, "events: %" PRIu64 ", virtual time %.3f s\n", sim_events_run(a->sim), (double)sim_now(a->sim) / 1e9);
  fprintf(out, "trace-hash: %016" PRIx64 "\n", sim_trace_hash(a->sim));
  if (res) {
    *res = (struct sim_attack_result){
        .forged = a->sent, .clients_ok = cli_ok, .clients_failed = cli_failed,
        .clients_refused = a->refused, .peak_conns = a->peak_conns, .peak_chunks = a->peak_chunks,
        .peak_ooo_ranges = a->peak_ranges, .challenge_acks = ch, .challenge_acks_limited = chl,
        .oow_acks_skipped = sc->tcp_oow_ack_skipped, .syncookies_sent = sc->tcp_syncookies_sent,
        .syncookies_recv = sc->tcp_syncookies_recv, .arp_requests = sc->arp_out_requests,
        .resets = resets, .zw_aborts = sc->tcp_zw_abort_peer, .checker_violations = sim_checker_violations(a->checker),
        .trace_hash = sim_trace_hash(a->sim)};
  }
  fprintf(out, "result: %s\n", fails ? "FAIL" : "ok");
  replay(a, out);

  sim_checker_free(a->checker);
  sim_free(a->sim);
  tcpapp_host_free(a->srv);
  for (uint32_t i = 0; i < p->client_hosts; i++) tcpapp_host_free(a->cli[i]);
  free(a->cli);
  free(a->tg);
  free(a->zc);
  return fails ? 1 : 0;
}

/* ---- command line ---- */

void sim_attack_usage(FILE *out) {
  fprintf(out,
          "usage: utcp-sim attack <kind> [options]\n"
          "  kinds: synflood blind ackflood oow-data tinyooo table-full zerowin\n"
          "         (docs/tcp.md \"Hardening\")\n"
          "  --seed N             seed of every random choice, the attacker's too (default 1)\n"
          "  --clients N          real client connections\n"
          "  --hosts N            client nodes they come from (at most %d)\n"
          "  --rate N             forged frames per virtual second\n"
          "  --count N            forged frames (blind: RSTs, and as many SYNs)\n"
          "  --bytes N            per connection: the response (synflood, table-full) or transfer\n"
          "  --max-conns N        the server's connection table\n"
          "  --challenge-limit N  RFC 5961 7 challenge ACKs per second per stack (default 1000)\n"
          "  --zw-timeout-ms N    the server's zero_window_timeout (zerowin: default 10000)\n"
          "  --zw-pressure-ms N   the server's zero_window_pressure (default 10000)\n"
          "  --server-chunks N    the server's 2 KiB chunk pool (default 16384)\n"
          "  --pcap DIR           DIR/<link>.pcap for every link\n"
          "  --verbose            every non-zero server counter\n"
          "Defaults are each kind's ctest. Exits 0 when every criterion held, 1 otherwise.\n",
          MAX_HOSTS);
}

int sim_attack_main(int argc, char **argv) {
  if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
    sim_attack_usage(argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  int kind = sim_attack_kind_parse(argv[1]);
  if (kind < 0) {
    fprintf(stderr, "utcp-sim attack: unknown kind %s\n", argv[1]);
    sim_attack_usage(stderr);
    return 2;
  }
  struct sim_attack_params p;
  sim_attack_params_default((enum sim_attack_kind)kind, &p);
  for (int i = 2; i < argc; i++) {
    const char *opt = argv[i];
    if (strcmp(opt, "--verbose") == 0) {
      p.verbose = true;
      continue;
    }
    if (strcmp(opt, "--help") == 0) {
      sim_attack_usage(stdout);
      return 0;
    }
    const char *val = i + 1 < argc ? argv[++i] : NULL;
    uint64_t v = 0;
    bool ok = val != NULL && (strcmp(opt, "--pcap") == 0 || sim_parse_u64(val, &v));
    if (ok && strcmp(opt, "--seed") == 0) {
      p.seed = v;
    } else if (ok && strcmp(opt, "--clients") == 0 && v >= 1 && v <= 100000) {
      p.clients = (uint32_t)v;
    } else if (ok && strcmp(opt, "--hosts") == 0 && v >= 1 && v <= MAX_HOSTS) {
      p.client_hosts = (uint32_t)v;
    } else if (ok && strcmp(opt, "--rate") == 0 && v >= 1 && v <= 100000000) {
      p.rate_pps = v;
    } else if (ok && strcmp(opt, "--count") == 0 && v <= 1000000000) {
      p.count = v;
    } else if (ok && strcmp(opt, "--bytes") == 0 && v >= 1 && v <= (1ull << 32)) {
      p.bytes = v;
    } else if (ok && strcmp(opt, "--max-conns") == 0 && v >= 2 && v <= (1u << 24)) {
      p.max_conns = (uint32_t)v;
    } else if (ok && strcmp(opt, "--challenge-limit") == 0 && v >= 1 && v <= (1u << 24)) {
      p.challenge_ack_limit = (uint32_t)v;
    } else if (ok && strcmp(opt, "--zw-timeout-ms") == 0 && v >= 1 && v <= 86400000) {
      p.zw_timeout_ms = v;
    } else if (ok && strcmp(opt, "--zw-pressure-ms") == 0 && v >= 1 && v <= 86400000) {
      p.zw_pressure_ms = v;
    } else if (ok && strcmp(opt, "--server-chunks") == 0 && v >= 64 && v <= (1u << 24)) {
      p.server_chunks = (uint32_t)v;
    } else if (ok && strcmp(opt, "--pcap") == 0 && *val) {
      p.pcap_dir = val;
    } else {
      fprintf(stderr, "utcp-sim attack: bad or missing value for %s\n", opt);
      sim_attack_usage(stderr);
      return 2;
    }
  }
  if (p.client_hosts > p.clients) p.client_hosts = p.clients;
  return sim_attack_run(&p, stdout, NULL);
}
