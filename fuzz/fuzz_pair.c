/* pair: two stacks in the simulator, a client (10.0.0.1) and a server (10.0.0.2), each joined by
 * a clean link to a two-port middlebox that the input drives. Every frame crossing the middlebox
 * consumes one fate byte (and maybe a 16-bit argument): deliver, drop, duplicate, delay
 * (reorder), flip one bit (checksums left as they are), or rewrite a header field (window, RST,
 * SYN, ACK cleared, sequence number of a segment without data, acknowledgment number,
 * timestamp value, spare flags, truncation) with the checksums fixed up. Rewrites never forge
 * payload at a wrong offset or a FIN (that would be undetectable corruption, not a bug). When the input runs
 * out, the middlebox delivers everything.
 *
 * The client sends a stream to the server and the server one back, each then shuts down its
 * sending side, reads to end of stream and closes. Checked:
 *   - the simulator's end-to-end checkers (platform/sim/checker.h) on every frame;
 *   - every byte read is the byte the peer wrote at that offset (in order, exactly once);
 *   - liveness: when only drops, duplicates, delays and checksum-caught bit flips happened
 *     (nothing that forges a valid segment), both streams arrive whole and both ends close,
 *     unless a side gave up (ETIMEDOUT to its application, or, unseen by the application, an
 *     orphan out of retransmissions, a zero-window reclaim or an abandoned SYN-RECEIVED
 *     connection: stack_gave_up); then the other may see a reset or wait;
 *   - no connection, timer or buffer chunk left on either stack after the run.
 *
 * Header: u32 sim seed, u16 client bytes / 16, u16 server bytes / 16, u8 link delay (ms),
 * u8 stack options (bit 0-2: wscale, timestamps, SACK on the client; 3-5 on the server;
 * bit 6: small buffers; bit 7: Nagle off). Then the fate bytes.
 * FZ_TRACE=1 in the environment prints every frame crossing the middlebox with its fate. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "platform/sim/checker.h"
#include "platform/sim/sim.h"

#define CLIENT_IP 0x0a000001u
#define SERVER_IP 0x0a000002u
#define PORT 80

struct app {
  const char *name;
  struct sim_node *node;
  utcp_conn_t listener, conn;
  bool is_server, connected, shut, eof, done, failed;
  int err;
  uint64_t tx_total, tx_sent, rx_total, rx_got;
  uint32_t tx_key, rx_key;
};

struct mbox {
  struct sim *sim;
  struct sim_port port[2];
  struct fz_in in;
  bool destructive; /* a forged-but-valid segment went through: liveness is not owed */
  bool forged_conn; /* a forged RST or SYN: a new incarnation on the same ports may follow,
                       which the end-to-end checker (per 4-tuple) cannot tell from the old */
};

static struct app apps[2];
static struct mbox mb;
static bool nodelay;
static uint8_t iobuf[16384];

static uint8_t stream_byte(uint32_t key, uint64_t k) { return fz_pat_app(k + key); }

static void app_pump(struct utcp_stack *s, struct app *a, uint64_t now) {
  if (a->conn == 0) return;
  while (a->tx_sent < a->tx_total) {
    size_t n = a->tx_total - a->tx_sent;
    if (n > sizeof iobuf) n = sizeof iobuf;
    for (size_t i = 0; i < n; i++) iobuf[i] = stream_byte(a->tx_key, a->tx_sent + i);
    int rc = utcp_tcp_send(s, a->conn, iobuf, n, now);
    if (rc <= 0) break;
    a->tx_sent += (uint64_t)rc;
  }
  if (a->tx_sent == a->tx_total && !a->shut) {
    if (utcp_tcp_shutdown(s, a->conn, UTCP_SHUT_WR, now) == 0) a->shut = true;
  }
}

static void app_read(struct utcp_stack *s, struct app *a, uint64_t now) {
  if (a->conn == 0) return;
  for (;;) {
    int rc = utcp_tcp_recv(s, a->conn, iobuf, sizeof iobuf, false, now);
    if (rc < 0) break;
    if (rc == 0) {
      a->eof = true;
      break;
    }
    for (int i = 0; i < rc; i++)
      if (iobuf[i] != stream_byte(a->rx_key, a->rx_got + (uint64_t)i))
        fz_fail("pair: %s read byte %02x at offset %llu, the peer wrote %02x", a->name, iobuf[i],
                (unsigned long long)(a->rx_got + (uint64_t)i),
                stream_byte(a->rx_key, a->rx_got + (uint64_t)i));
    a->rx_got += (uint64_t)rc;
    if (a->rx_got > a->rx_total) fz_fail("pair: %s read more than the peer wrote", a->name);
  }
  if (a->eof && a->rx_got != a->rx_total && !mb.destructive && a->err == 0)
    fz_fail("pair: %s saw end of stream after %llu of %llu bytes", a->name,
            (unsigned long long)a->rx_got, (unsigned long long)a->rx_total);
}

static void app_finish(struct utcp_stack *s, struct app *a, uint64_t now) {
  if (a->conn != 0 && a->eof && a->shut) {
    if (utcp_tcp_close(s, a->conn, now) != 0) fz_fail("pair: close failed");
    a->conn = 0;
    a->done = true;
  }
}

static void on_event(struct sim_node *node, const struct utcp_event *ev, uint64_t now, void *ctx) {
  struct app *a = ctx;
  struct utcp_stack *s = sim_stack_node_stack(node);
  if (a->is_server && ev->type == UTCP_EV_ACCEPTABLE && ev->conn == a->listener) {
    utcp_conn_t c;
    while (utcp_tcp_accept(s, a->listener, &c) == 0) {
      if (a->conn == 0 && !a->connected) {
        a->conn = c;
        a->connected = true;
      } else {
        utcp_tcp_abort(s, c, now); /* a second incarnation after a forged segment */
      }
    }
  }
  if (a->conn == 0 || ev->conn != a->conn) {
    app_pump(s, a, now);
    return;
  }
  switch (ev->type) {
    case UTCP_EV_CONNECTED: a->connected = true; break;
    case UTCP_EV_RESET:
    case UTCP_EV_ERROR:
      a->err = ev->err != 0 ? ev->err : UTCP_ERR_CONNRESET;
      a->failed = true;
      app_read(s, a, now);
      utcp_tcp_abort(s, a->conn, now);
      a->conn = 0;
      return;
    default: break;
  }
  app_pump(s, a, now);
  app_read(s, a, now);
  app_finish(s, a, now);
}

/* ---- the middlebox ---- */

struct held {
  struct mbox *m;
  int out;
};

static void send_out(struct mbox *m, int out, const uint8_t *f, size_t len) {
  sim_port_send(&m->port[out], f, len);
}

static void release_held(struct sim *sim, struct sim_event *ev) {
  (void)sim;
  send_out(&mb, (int)ev->arg, ev->frame, ev->len);
}

static void hold(struct mbox *m, int out, const uint8_t *f, size_t len, uint64_t now, uint64_t delay) {
  uint8_t *copy = malloc(len ? len : 1);
  if (copy == NULL) fz_fail("out of memory");
  memcpy(copy, f, len);
  sim_schedule_frame(m->sim, now + delay, release_held, m, (uint64_t)out, copy, len);
}

/* Offsets of TCP header fields in a frame, or 0 when it is no parseable TCP segment. */
static size_t tcp_off(const uint8_t *f, size_t len, size_t *tcp_len) {
  struct utcp_eth eth;
  struct utcp_ipv4 ip;
  if (utcp_eth_parse(f, len, &eth) != UTCP_DROP_NONE || eth.type != UTCP_ETHERTYPE_IPV4) return 0;
  if (utcp_ipv4_parse(eth.payload, eth.payload_len, &ip) != UTCP_DROP_NONE) return 0;
  if (ip.proto != UTCP_IPPROTO_TCP || ip.payload_len < UTCP_TCP_HLEN) return 0;
  *tcp_len = ip.payload_len;
  return (size_t)(ip.payload - f);
}

static void put32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)(v >> 24);
  p[1] = (uint8_t)(v >> 16);
  p[2] = (uint8_t)(v >> 8);
  p[3] = (uint8_t)v;
}
static uint32_t get32(const uint8_t *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* FZ_TRACE=1 in the environment: every frame crossing the middlebox and its fate, on stderr. */
static int trace_on = -1;
static void trace(int out, const uint8_t *f, size_t len, uint64_t now, const char *what) {
  if (trace_on < 0) trace_on = getenv("FZ_TRACE") != NULL;
  if (!trace_on) return;
  struct utcp_eth eth;
  struct utcp_ipv4 ip;
  struct utcp_seg seg;
  if (utcp_eth_parse(f, len, &eth) != UTCP_DROP_NONE || eth.type != UTCP_ETHERTYPE_IPV4 ||
      utcp_ipv4_parse(eth.payload, eth.payload_len, &ip) != UTCP_DROP_NONE ||
      ip.proto != UTCP_IPPROTO_TCP ||
      utcp_tcp_parse(ip.payload, ip.payload_len, ip.src, ip.dst, false, &seg) != UTCP_DROP_NONE) {
    fprintf(stderr, "%10.6f %s %s: %zu bytes (not TCP)\n", (double)now / FZ_S,
            out ? "c>s" : "s>c", what, len);
    return;
  }
  fprintf(stderr, "%10.6f %s %-9s flags %02x seq %u ack %u win %u len %zu\n", (double)now / FZ_S,
          out ? "c>s" : "s>c", what, seg.flags, seg.seq.v, seg.ack.v, seg.wnd, seg.len);
}

static void mbox_deliver(struct sim_port *port, const uint8_t *frame, size_t len, uint64_t now) {
  struct mbox *m = port->owner;
  int out = 1 - port->index;
  if (trace_on != 0) {
    uint8_t peek = fz_more(&m->in) ? m->in.p[0] : 0;
    const char *what = !fz_more(&m->in) ? "deliver*" : peek < 0xa0 ? "deliver" : peek < 0xb0 ? "drop" :
                       peek < 0xc0 ? "dup" : peek < 0xd0 ? "delay" : peek < 0xe0 ? "bitflip" : "rewrite";
    trace(out, frame, len, now, what);
  }
  if (!fz_more(&m->in)) {
    send_out(m, out, frame, len);
    return;
  }
  uint8_t fate = fz_u8(&m->in);
  static uint8_t f[UTCP_ETH_HLEN + 9100];
  if (len > sizeof f) len = sizeof f;
  memcpy(f, frame, len);
  if (fate < 0xa0) {
    send_out(m, out, f, len);
  } else if (fate < 0xb0) {
    /* dropped */
  } else if (fate < 0xc0) {
    send_out(m, out, f, len);
    hold(m, out, f, len, now, (uint64_t)(fate & 15) * FZ_MS);
  } else if (fate < 0xd0) {
    hold(m, out, f, len, now, (uint64_t)((fate & 15) + 1) * 5 * FZ_MS);
  } else if (fate < 0xe0) {
    size_t bit = fz_u16(&m->in) % (len * 8);
    f[bit / 8] ^= (uint8_t)(1u << (bit % 8));
    /* Ethernet has no checksum here and ARP none at all: those flips can forge. */
    if (bit / 8 < UTCP_ETH_HLEN || len < UTCP_ETH_HLEN + 2 || f[12] != 0x08 || f[13] != 0x00)
      m->destructive = true;
    send_out(m, out, f, len);
  } else {
    uint16_t v = fz_u16(&m->in);
    size_t tl = 0, t = tcp_off(f, len, &tl);
    if (t != 0) {
      uint8_t *tcp = f + t;
      uint8_t flags = tcp[13];
      size_t hl = (size_t)(tcp[12] >> 4) * 4;
      bool bare = tl <= hl && !(flags & (UTCP_TCP_SYN | UTCP_TCP_FIN));
      switch (fate & 15) {
        case 0: tcp[14] = (uint8_t)(v >> 8); tcp[15] = (uint8_t)v; break; /* window */
        case 1: tcp[13] |= UTCP_TCP_RST; m->destructive = m->forged_conn = true; break;
        case 2:
          /* The forged SYN takes the sequence number before the segment's, so that its data
           * (if any) keeps its place and the SYN's own number is one the sender did use: a
           * SYN at SEG.SEQ would move the receiver's idea of the sender's sequence space one
           * past anything sent, and its (correct) ACK of that would be a checker violation. */
          if (!(flags & UTCP_TCP_SYN)) put32(tcp + 4, get32(tcp + 4) - 1);
          tcp[13] |= UTCP_TCP_SYN;
          m->destructive = m->forged_conn = true;
          break;
        case 3: tcp[13] &= (uint8_t)~UTCP_TCP_ACK; break;
        case 4: if (bare) put32(tcp + 4, get32(tcp + 4) + (uint32_t)(int32_t)(int16_t)v); break;
        case 5:
          put32(tcp + 8, get32(tcp + 8) + (uint32_t)(int32_t)(int16_t)v);
          m->destructive = true;
          break;
        case 6:
          for (size_t i = UTCP_TCP_HLEN; i + 10 <= hl && i + 10 <= tl;) {
            uint8_t kind = tcp[i];
            if (kind == UTCP_TCPOPT_EOL) break;
            if (kind == UTCP_TCPOPT_NOP) { i++; continue; }
            if (tcp[i + 1] < 2) break;
            if (kind == UTCP_TCPOPT_TS && tcp[i + 1] == 10) {
              put32(tcp + i + 2, get32(tcp + i + 2) + (uint32_t)(int32_t)(int16_t)v);
              m->destructive = true;
              break;
            }
            i += tcp[i + 1];
          }
          break;
        case 7: tcp[13] |= (uint8_t)(v & (UTCP_TCP_PSH | UTCP_TCP_URG | UTCP_TCP_ECE | UTCP_TCP_CWR)); break;
        case 8: len = v % (len + 1); break;
        default: break;
      }
      fz_fix_checksums(f, len);
    }
    send_out(m, out, f, len);
  }
}

static void config(struct utcp_stack_config *cfg, uint32_t ip, uint8_t opts, bool small,
                   const struct utcp_mac *mac, const struct utcp_mac *peer_mac, uint32_t peer_ip) {
  utcp_stack_config_default(cfg);
  cfg->mac = *mac;
  cfg->ip = ip;
  cfg->netmask = 0xffffff00u;
  cfg->static_arp_count = 1;
  cfg->static_arp[0].ip = peer_ip;
  cfg->static_arp[0].mac = *peer_mac;
  cfg->event_queue_len = 64;
  cfg->arp_entries = 8;
  cfg->arp_pending_total = 16;
  cfg->tcp.max_conns = 8;
  cfg->tcp.syn_backlog = 4;
  cfg->tcp.chunks = small ? 24 : 160;
  cfg->tcp.reass_nodes = small ? 4 : 64;
  cfg->tcp.reass_max_ranges = small ? 2 : 16;
  cfg->tcp.sndbuf_bytes = small ? 8192 : 65536;
  cfg->tcp.rcvbuf_bytes = small ? 8192 : 65536;
  cfg->tcp.wscale = opts & 1;
  cfg->tcp.timestamps = opts & 2;
  cfg->tcp.sack = opts & 4;
}

/* A stack gave up on its connection without its application necessarily hearing of it: an
 * orphan (closed by the application) that ran out of retransmissions or keepalives
 * (TcpExtTCPAbortOnTimeout) or was reclaimed on a stalled zero window, or a server's
 * SYN-RECEIVED connection that the application never accepted and that ran out of SYN-ACK
 * retransmissions (tcpAttemptFails, RFC 4022). The peer may then wait for ever (FIN-WAIT-2
 * with a reader) or meet a RST. */
static bool stack_gave_up(const struct app *a) {
  const struct utcp_counters *c = utcp_stack_counters(sim_stack_node_stack(a->node));
  return c->tcp_abort_on_timeout > 0 || c->tcp_zw_abort_peer > 0 || c->tcp_zw_abort_local > 0 ||
         (a->is_server && !a->connected && c->tcp_attempt_fails > 0);
}

static void check_idle(struct app *a) {
  struct utcp_stack *s = sim_stack_node_stack(a->node);
  if (utcp_tcp_conns_in_use(s) != 0) fz_fail("pair: %s leaks %u connections", a->name, utcp_tcp_conns_in_use(s));
  if (utcp_tcp_timers_running(s) != 0) fz_fail("pair: %s leaks timers", a->name);
  if (utcp_tcp_chunks_in_use(s) != 0) fz_fail("pair: %s leaks %u chunks", a->name, utcp_tcp_chunks_in_use(s));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  struct fz_in in = {data, size};
  uint32_t seed = fz_u32(&in);
  uint64_t tx_c = (uint64_t)(fz_u16(&in) & 0x3fff) * 16;
  uint64_t tx_s = (uint64_t)(fz_u16(&in) & 0x3fff) * 16;
  uint64_t delay = (uint64_t)(fz_u8(&in) % 50 + 1) * FZ_MS;
  uint8_t opts = fz_u8(&in);
  nodelay = opts & 0x80;

  struct sim *sim = sim_new(seed);
  sim_set_event_limit(sim, 2000000);
  struct sim_checker *chk = sim_checker_new(sim, "fuzz_pair_replay <input>");
  memset(&mb, 0, sizeof mb);
  mb.sim = sim;
  mb.in = in;
  for (int i = 0; i < 2; i++) {
    mb.port[i].deliver = mbox_deliver;
    mb.port[i].owner = &mb;
    mb.port[i].index = i;
  }
  memset(apps, 0, sizeof apps);
  struct app *cl = &apps[0], *sv = &apps[1];
  cl->name = "client";
  sv->name = "server";
  sv->is_server = true;
  cl->tx_total = sv->rx_total = tx_c;
  sv->tx_total = cl->rx_total = tx_s;
  cl->tx_key = sv->rx_key = 0;
  sv->tx_key = cl->rx_key = 0x5bd1e995u;

  struct utcp_stack_config ccfg, scfg;
  const struct utcp_mac cmac = {{0x02, 0, 0, 0, 0, 1}}, smac = {{0x02, 0, 0, 0, 0, 2}};
  config(&ccfg, CLIENT_IP, opts, opts & 0x40, &cmac, &smac, SERVER_IP);
  config(&scfg, SERVER_IP, (uint8_t)(opts >> 3), opts & 0x40, &smac, &cmac, CLIENT_IP);
  if (sim_stack_node_new(sim, "client", &ccfg, on_event, cl, &cl->node) != 0 ||
      sim_stack_node_new(sim, "server", &scfg, on_event, sv, &sv->node) != 0)
    fz_fail("pair: stack creation failed");
  struct sim_link_params lp;
  sim_link_params_default(&lp);
  lp.delay_ns = delay;
  sim_link_new(sim, "client-mbox", &lp, NULL, sim_node_port(cl->node), &mb.port[0]);
  sim_link_new(sim, "mbox-server", &lp, NULL, &mb.port[1], sim_node_port(sv->node));

  struct utcp_stack *cs = sim_stack_node_stack(cl->node), *ss = sim_stack_node_stack(sv->node);
  if (utcp_tcp_listen(ss, PORT, 4, &sv->listener) != 0) fz_fail("pair: listen failed");
  if (utcp_tcp_connect(cs, SERVER_IP, PORT, 0, sim_now(sim), &cl->conn) != 0)
    fz_fail("pair: connect failed");
  if (nodelay) utcp_tcp_setopt(cs, cl->conn, UTCP_TCPOPT_NODELAY, 1);
  sim_stack_node_poke(cl->node);
  sim_stack_node_poke(sv->node);

  /* Run until both ends are done, or two hours of virtual time. */
  const uint64_t limit = 2 * 3600 * FZ_S;
  while (sim_now(sim) < limit && !(cl->done && sv->done) && !((cl->failed || cl->done) && (sv->failed || sv->done) && !fz_more(&mb.in))) {
    if (sim_run_until(sim, sim_now(sim) + FZ_S) != 0) break;
  }
  if (sim_checker_violations(chk) != 0) {
    /* After a forged RST or SYN the old and a new incarnation share the 4-tuple: the
     * checker's "ACK beyond what the peer sent" can then compare one incarnation's ACK with
     * the other's sequence space. Not a finding; the run stopped, so no teardown either. */
    if (!mb.forged_conn) fz_fail("pair: end-to-end checker violation");
    sim_checker_free(chk);
    sim_free(sim);
    return 0;
  }
  if (sim_stopped(sim) || sim_events_run(sim) >= 2000000) fz_fail("pair: event limit (livelock?)");
  if (!mb.destructive) {
    for (int i = 0; i < 2; i++) {
      struct app *a = &apps[i], *o = &apps[1 - i];
      /* A side that gave up: with ETIMEDOUT, or (the server) on a handshake its application
       * never saw, whose SYN-RECEIVED connection ran out of SYN-ACK retransmissions (counted
       * in tcpAttemptFails, RFC 4022); the client's data then meets a RST. */
      bool gave_up = a->err == UTCP_ERR_TIMEDOUT || o->err == UTCP_ERR_TIMEDOUT ||
                     stack_gave_up(a) || stack_gave_up(o);
      if (a->failed && !gave_up && a->err != UTCP_ERR_CONNRESET)
        fz_fail("pair: %s failed with %s on a link that forged nothing", a->name, utcp_strerror(a->err));
      if (a->failed && a->err == UTCP_ERR_CONNRESET && !gave_up && !(o->failed))
        fz_fail("pair: %s was reset though its peer neither failed nor was forged to", a->name);
      if (!a->failed && !gave_up && !a->done)
        fz_fail("pair: %s not done after %llu s (tx %llu/%llu, rx %llu/%llu)", a->name,
                (unsigned long long)(sim_now(sim) / FZ_S), (unsigned long long)a->tx_sent,
                (unsigned long long)a->tx_total, (unsigned long long)a->rx_got,
                (unsigned long long)a->rx_total);
    }
  }
  /* Teardown: release what is held, let every timer run out, nothing may be left. */
  for (int i = 0; i < 2; i++) {
    struct app *a = &apps[i];
    struct utcp_stack *s = sim_stack_node_stack(a->node);
    if (a->conn != 0) utcp_tcp_abort(s, a->conn, sim_now(sim));
    if (a->listener != 0) utcp_tcp_close(s, a->listener, sim_now(sim));
    a->conn = a->listener = 0;
    sim_stack_node_poke(a->node);
  }
  uint64_t end = sim_now(sim) + 6 * 3600 * FZ_S;
  while (sim_now(sim) < end && (utcp_tcp_conns_in_use(cs) || utcp_tcp_conns_in_use(ss))) {
    if (sim_run_until(sim, sim_now(sim) + 60 * FZ_S) != 0) break;
  }
  check_idle(cl);
  check_idle(sv);
  sim_checker_free(chk);
  sim_free(sim);
  return 0;
}
