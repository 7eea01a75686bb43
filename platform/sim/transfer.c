/* The TCP scenarios: `utcp-sim transfer` (a bulk transfer between two stacks over one link with
 * faults, checked byte for byte and by hash) and `utcp-sim churn` (many short request/response
 * connections, sequential or concurrent). Both end with a leak check: once every connection
 * is closed and TIME-WAIT (2*MSL) has run out, each stack must hold no connection, no timer and
 * no buffer chunk.
 *
 * Topology: h1 (10.0.0.1, the client) and h2 (10.0.0.2, the server) joined by one link,
 * "h1-h2", whose two directions carry the same parameters and faults. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "checker.h"
#include "scenario.h"
#include "sim.h"
#include "tcpapp.h"
#include "trace.h"

#define CLIENT_IP 0x0a000001u
#define SERVER_IP 0x0a000002u
#define SERVER_PORT 5001
#define START_NS (1 * SIM_NS_PER_MS)
#define SLICE_NS (100 * SIM_NS_PER_MS)
#define EVENT_LIMIT 4000000000ull
#define LINGER_NS (5 * SIM_NS_PER_S) /* after 2*MSL, before the leak check */

struct opts {
  const char *cmd;
  uint64_t seed;
  /* transfer */
  uint64_t bytes;
  bool c2s, s2c, simclose;
  /* churn */
  uint64_t conns, msg_bytes;
  bool concurrent;
  /* link */
  struct sim_link_opts link;
  uint64_t outage_at_ms, outage_ms;
  /* stack */
  uint64_t msl_ms; /* 0: the default (30 s) */
  uint64_t buf_kb;
  uint64_t deadline_s; /* 0: derived from the work */
  const char *pcap_dir;
  const char *trace_dir; /* transfer: --trace DIR */
  const char *bytes_arg;
  bool verbose;
};

/* ---- command line ---- */

void sim_transfer_usage(FILE *out) {
  fprintf(out,
          "usage: utcp-sim transfer [options]\n"
          "  --bytes N[k|M|G|Ki|Mi|Gi]  bytes per direction (default 1Mi)\n"
          "  --dir c2s|s2c|both         direction (default c2s: client h1 -> server h2)\n"
          "  --bidir                    same as --dir both\n"
          "  --simclose                 both sides close at the same instant once every\n"
          "                             byte has arrived and been acknowledged (implies both)\n"
          "  --trace DIR                per-connection congestion trace: DIR/<host>-<lport>-\n"
          "                             <rport>.csv (cwnd, ssthresh, RTT, RTO, flight...),\n"
          "                             -seq.csv (segments, ACKs), and gnuplot graphs of both\n"
          "                             (-cwnd, -rtt, -tseq .png/.svg)\n"
          "usage: utcp-sim churn [options]\n"
          "  --conns N                  connections (default 1000), each: open, --msg bytes\n"
          "                             each way, close (client closes first)\n"
          "  --msg N                    bytes each way per connection (default 64)\n"
          "  --concurrent               open all at once and hold them open until every one\n"
          "                             has exchanged its data (default: one after another)\n"
          "common options:\n"
          "  --seed N                   seed for every random choice (default 1)\n"
          "  --loss NUM/DEN             random loss, each direction (default 0)\n"
          "  --dup NUM/DEN              duplication (default 0)\n"
          "  --reorder NUM/DEN          frames held back by --reorder-ms (default 0)\n"
          "  --reorder-ms N             (default 1)\n"
          "  --corrupt NUM/DEN          one random bit flipped (default 0)\n"
          "  --outage-at-ms N --outage-ms M  link down for M ms from N ms\n"
          "  --delay-ms N               propagation delay (default 1)\n"
          "  --jitter-ms N              extra uniform delay 0..N (default 0)\n"
          "  --rate-mbps N              link rate (default 100)\n"
          "  --queue-kb N               link queue limit (default 1024)\n"
          "  --buf-kb N                 socket send/receive buffers (default 64)\n"
          "  --msl-ms N                 TCP MSL (default 30000: TIME-WAIT is 60 s)\n"
          "  --deadline-s N             virtual time limit (default: from the work)\n"
          "  --pcap DIR                 write DIR/h1-h2.pcap\n"
          "  --verbose                  every non-zero stack counter\n"
          "Exits 0 when every byte arrived intact (same hash on both sides), every connection\n"
          "closed before the deadline and no connection, timer or buffer was left over;\n"
          "1 otherwise; 2 on a usage error.\n");
}

static bool parse_size(const char *s, uint64_t *out) {
  if (!s || !*s || *s == '-') return false;
  char *end;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 10);
  if (errno || end == s) return false;
  uint64_t mul = 1;
  if (*end) {
    static const struct {
      const char *suffix;
      uint64_t mul;
    } units[] = {{"k", 1000ull},  {"K", 1000ull},     {"M", 1000000ull},    {"G", 1000000000ull},
                 {"Ki", 1024ull}, {"Mi", 1048576ull}, {"Gi", 1073741824ull}};
    bool found = false;
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
      if (strcmp(end, units[i].suffix) == 0) {
        mul = units[i].mul;
        found = true;
      }
    }
    if (!found) return false;
  }
  if (v > UINT64_MAX / mul) return false;
  *out = v * mul;
  return true;
}

static int usage_error(const struct opts *o, const char *fmt, const char *arg) {
  fprintf(stderr, "utcp-sim %s: ", o->cmd);
  fprintf(stderr, fmt, arg);
  fprintf(stderr, "\n");
  sim_transfer_usage(stderr);
  return 2;
}

/* Returns -1 to go on, or an exit status. */
static int parse_args(int argc, char **argv, bool churn, struct opts *o) {
  *o = (struct opts){
      .cmd = churn ? "churn" : "transfer",
      .seed = 1,
      .bytes = 1048576,
      .bytes_arg = "1Mi",
      .c2s = true,
      .conns = 1000,
      .msg_bytes = 64,
      .link = {.delay_ms = 1, .rate_mbps = 100, .queue_kb = 1024, .reorder_ms = 1,
               .loss = {0, 1}, .dup = {0, 1}, .reorder = {0, 1}, .corrupt = {0, 1}},
      .buf_kb = 64,
  };
  for (int i = 1; i < argc; i++) {
    const char *opt = argv[i];
    if (strcmp(opt, "--help") == 0 || strcmp(opt, "-h") == 0) {
      sim_transfer_usage(stdout);
      return 0;
    }
    /* flags */
    if (!churn && strcmp(opt, "--bidir") == 0) {
      o->c2s = o->s2c = true;
      continue;
    }
    if (!churn && strcmp(opt, "--simclose") == 0) {
      o->simclose = o->c2s = o->s2c = true;
      continue;
    }
    if (strcmp(opt, "--verbose") == 0 || strcmp(opt, "-v") == 0) {
      o->verbose = true;
      continue;
    }
    if (churn && strcmp(opt, "--concurrent") == 0) {
      o->concurrent = true;
      continue;
    }
    const char *val = i + 1 < argc ? argv[i + 1] : NULL;
    i++;
    bool ok;
    int link = sim_link_opts_parse(&o->link, opt, val);
    if (link >= 0) {
      ok = link == 1;
    } else if (strcmp(opt, "--seed") == 0) {
      ok = sim_parse_u64(val, &o->seed);
    } else if (!churn && strcmp(opt, "--bytes") == 0) {
      ok = parse_size(val, &o->bytes) && o->bytes > 0;
      o->bytes_arg = val;
    } else if (!churn && strcmp(opt, "--dir") == 0) {
      ok = val != NULL;
      if (ok && strcmp(val, "c2s") == 0) {
        o->c2s = true, o->s2c = false;
      } else if (ok && strcmp(val, "s2c") == 0) {
        o->c2s = false, o->s2c = true;
      } else if (ok && strcmp(val, "both") == 0) {
        o->c2s = o->s2c = true;
      } else {
        ok = false;
      }
    } else if (churn && strcmp(opt, "--conns") == 0) {
      ok = sim_parse_u64(val, &o->conns) && o->conns >= 1 && o->conns <= 10000000;
    } else if (churn && strcmp(opt, "--msg") == 0) {
      ok = parse_size(val, &o->msg_bytes) && o->msg_bytes >= 1 && o->msg_bytes <= 16384;
    } else if (strcmp(opt, "--outage-at-ms") == 0) {
      ok = sim_parse_u64(val, &o->outage_at_ms) && o->outage_at_ms <= 1000000000;
    } else if (strcmp(opt, "--outage-ms") == 0) {
      ok = sim_parse_u64(val, &o->outage_ms) && o->outage_ms <= 1000000000;
    } else if (strcmp(opt, "--buf-kb") == 0) {
      ok = sim_parse_u64(val, &o->buf_kb) && o->buf_kb >= 2 && o->buf_kb <= 65536;
    } else if (strcmp(opt, "--msl-ms") == 0) {
      ok = sim_parse_u64(val, &o->msl_ms) && o->msl_ms >= 1 && o->msl_ms <= 600000;
    } else if (strcmp(opt, "--deadline-s") == 0) {
      ok = sim_parse_u64(val, &o->deadline_s) && o->deadline_s >= 1 && o->deadline_s <= 100000000;
    } else if (!churn && strcmp(opt, "--trace") == 0) {
      ok = val != NULL && *val;
      o->trace_dir = val;
    } else if (strcmp(opt, "--pcap") == 0) {
      ok = val != NULL && *val;
      o->pcap_dir = val;
    } else {
      return usage_error(o, "unknown option %s", opt);
    }
    if (!ok) return usage_error(o, "bad or missing value for %s", opt);
  }
  return -1;
}

static void print_ratio_opt(FILE *out, const char *name, struct sim_ratio r) {
  if (r.num) fprintf(out, " %s %" PRIu32 "/%" PRIu32, name, r.num, r.den);
}

static void print_replay(const struct opts *o, FILE *out) {
  fprintf(out, "replay: utcp-sim %s --seed %" PRIu64, o->cmd, o->seed);
  if (strcmp(o->cmd, "transfer") == 0) {
    fprintf(out, " --bytes %s --dir %s", o->bytes_arg,
            o->c2s && o->s2c ? "both"
            : o->c2s         ? "c2s"
                             : "s2c");
    if (o->simclose) fprintf(out, " --simclose");
  } else {
    fprintf(out, " --conns %" PRIu64 " --msg %" PRIu64 "%s", o->conns, o->msg_bytes,
            o->concurrent ? " --concurrent" : "");
  }
  print_ratio_opt(out, "--loss", o->link.loss);
  print_ratio_opt(out, "--dup", o->link.dup);
  print_ratio_opt(out, "--reorder", o->link.reorder);
  if (o->link.reorder.num && o->link.reorder_ms != 1) fprintf(out, " --reorder-ms %" PRIu64, o->link.reorder_ms);
  print_ratio_opt(out, "--corrupt", o->link.corrupt);
  if (o->outage_ms)
    fprintf(out, " --outage-at-ms %" PRIu64 " --outage-ms %" PRIu64, o->outage_at_ms, o->outage_ms);
  fprintf(out, " --delay-ms %" PRIu64 " --rate-mbps %" PRIu64, o->link.delay_ms, o->link.rate_mbps);
  if (o->link.jitter_ms) fprintf(out, " --jitter-ms %" PRIu64, o->link.jitter_ms);
  if (o->link.queue_kb != 1024) fprintf(out, " --queue-kb %" PRIu64, o->link.queue_kb);
  if (o->buf_kb != 64) fprintf(out, " --buf-kb %" PRIu64, o->buf_kb);
  if (o->msl_ms) fprintf(out, " --msl-ms %" PRIu64, o->msl_ms);
  if (o->deadline_s) fprintf(out, " --deadline-s %" PRIu64, o->deadline_s);
  if (o->pcap_dir) fprintf(out, " --pcap %s", o->pcap_dir);
  if (o->trace_dir) fprintf(out, " --trace %s", o->trace_dir);
  fprintf(out, "\n");
}

/* ---- common setup ---- */

struct run {
  struct opts o;
  FILE *out; /* where the run reports: stdout, or a swarm's buffer */
  struct sim *sim;
  struct sim_link *link;
  struct tcpapp_host *cli, *srv;
  struct sim_checker *checker;
  struct sim_tcptrace *trace; /* --trace: NULL when off */
  uint64_t msl_ns;
  /* transfer */
  struct tcpapp_conn *cconn;
  uint32_t ready, done;
  uint64_t t_done_ns;
  uint64_t c2s_tx_hash, c2s_rx_hash, s2c_tx_hash, s2c_rx_hash;
  uint64_t c2s_tx, c2s_rx, s2c_tx, s2c_rx;
  uint64_t c2s_done_ns, s2c_done_ns, t_connected_ns;
  /* churn */
  uint64_t next_id, started, connect_errors;
  uint32_t cli_ready;
  struct tcpapp_conn **held; /* concurrent: client connections awaiting release */
  uint32_t n_held;
};

static uint64_t stream_key(uint64_t seed, uint64_t a, uint64_t b) {
  return sim_seed_derive(seed, (7ull << 56) | (a << 8) | b);
}

static void stack_config(const struct run *r, int host, uint32_t max_conns, uint32_t chunks,
                         struct utcp_stack_config *cfg) {
  utcp_stack_config_default(cfg);
  cfg->mac = (struct utcp_mac){{0x02, 0, 0, 0, 0, (uint8_t)host}};
  cfg->ip = host == 1 ? CLIENT_IP : SERVER_IP;
  cfg->netmask = 0xffffff00u;
  cfg->tcp.max_conns = max_conns;
  cfg->tcp.syn_backlog = max_conns; /* a burst of SYNs for every connection at once */
  cfg->tcp.chunks = chunks;
  cfg->tcp.reass_nodes = max_conns < 4096 ? 8192 : 2 * max_conns;
  cfg->tcp.sndbuf_bytes = (uint32_t)(r->o.buf_kb * 1024);
  cfg->tcp.rcvbuf_bytes = (uint32_t)(r->o.buf_kb * 1024);
  cfg->tcp.msl_ns = r->msl_ns;
}

static void link_params(const struct opts *o, struct sim_link_params *lp) {
  sim_link_opts_params(&o->link, lp);
}

static int build(struct run *r, uint32_t max_conns, uint32_t chunks, const struct tcpapp_ops *ops,
                 bool static_arp) {
  struct utcp_stack_config cfg;
  stack_config(r, 1, max_conns, chunks, &cfg);
  if (static_arp) {
    cfg.static_arp_count = 1;
    cfg.static_arp[0] = (struct utcp_static_arp){SERVER_IP, {{0x02, 0, 0, 0, 0, 2}}};
  }
  r->cli = tcpapp_host_new(r->sim, "h1", &cfg, max_conns, ops, r);
  stack_config(r, 2, max_conns, chunks, &cfg);
  if (static_arp) {
    cfg.static_arp_count = 1;
    cfg.static_arp[0] = (struct utcp_static_arp){CLIENT_IP, {{0x02, 0, 0, 0, 0, 1}}};
  }
  r->srv = tcpapp_host_new(r->sim, "h2", &cfg, max_conns, ops, r);
  if (r->cli == NULL || r->srv == NULL) return -1;
  struct sim_link_params lp;
  link_params(&r->o, &lp);
  r->link = sim_link_new(r->sim, "h1-h2", &lp, NULL, sim_node_port(r->cli->node),
                         sim_node_port(r->srv->node));
  if (r->o.outage_ms) {
    sim_link_schedule_up(r->link, r->o.outage_at_ms * SIM_NS_PER_MS, false);
    sim_link_schedule_up(r->link, (r->o.outage_at_ms + r->o.outage_ms) * SIM_NS_PER_MS, true);
  }
  /* The wire-level checker watches every frame; a violation stops the run. */
  char *replay = NULL;
  size_t replay_len = 0;
  FILE *f = open_memstream(&replay, &replay_len);
  if (f == NULL) {
    perror("open_memstream");
    return -1;
  }
  print_replay(&r->o, f);
  fclose(f);
  const char *prefix = "replay: "; /* the checker prints its own */
  if (replay_len >= strlen(prefix) && strncmp(replay, prefix, strlen(prefix)) == 0)
    memmove(replay, replay + strlen(prefix), replay_len - strlen(prefix) + 1);
  replay_len = strlen(replay);
  if (replay_len > 0 && replay[replay_len - 1] == '\n') replay[replay_len - 1] = 0;
  r->checker = sim_checker_new(r->sim, replay);
  free(replay);
  /* Every application connection also gets the checker's state and congestion checks. */
  r->cli->checker = r->srv->checker = r->checker;
  if (r->o.pcap_dir && sim_pcap_all(r->sim, r->o.pcap_dir) < 0) {
    fprintf(stderr, "utcp-sim %s: cannot write pcap files in %s: %s\n", r->o.cmd, r->o.pcap_dir,
            strerror(errno));
    return -1;
  }
  /* After the checker: the trace chains in front of it and passes every frame on. */
  if (r->o.trace_dir && (r->trace = sim_tcptrace_new(r->sim, r->o.trace_dir)) == NULL) {
    fprintf(stderr, "utcp-sim %s: cannot create trace directory %s: %s\n", r->o.cmd,
            r->o.trace_dir, strerror(errno));
    return -1;
  }
  return 0;
}

/* sim_run_until one virtual instant at a time: after each, the checker's snapshot checks of
 * the connections that moved and, with --trace, a sample of every traced connection (the same
 * events run in the same order either way). */
static int run_slice(struct run *r, uint64_t until) {
  for (;;) {
    uint64_t next = sim_next_time(r->sim);
    if (next == SIM_NEVER || next > until) break;
    if (sim_run_until(r->sim, next) < 0) return -1;
    sim_checker_sample(r->checker);
    if (sim_stopped(r->sim)) return -1;
    if (r->trace) sim_tcptrace_sample(r->trace);
  }
  return sim_run_until(r->sim, until);
}

/* Runs in slices until done() or the deadline; returns false on the event limit. */
static bool run_until_done(struct run *r, uint64_t deadline_ns, bool (*done)(const struct run *)) {
  while (!done(r) && sim_now(r->sim) < deadline_ns) {
    uint64_t until = sim_now(r->sim) + SLICE_NS;
    if (until > deadline_ns) until = deadline_ns;
    if (run_slice(r, until) < 0) return false;
  }
  return true;
}

static void print_host(const struct tcpapp_host *h, bool verbose, FILE *out) {
  const struct utcp_counters *c = utcp_stack_counters(h->stack);
  if (verbose) {
    fprintf(out, "host %s counters:\n", sim_node_name(h->node));
    sim_stack_node_print_counters(h->node, out);
  }
  fprintf(out,
          "host %s: segs out %" PRIu64 " in %" PRIu64 " retrans %" PRIu64 " rsts out %" PRIu64
          " in-errs %" PRIu64 "\n",
          sim_node_name(h->node), c->tcp_out_segs, c->tcp_in_segs, c->tcp_retrans_segs,
          c->tcp_out_rsts, c->tcp_in_errs);
  fprintf(out, "  coverage:");
  for (size_t i = 0; i < UTCP_COV__COUNT; i++)
    if (c->cov[i]) fprintf(out, " %s=%" PRIu64, utcp_coverage_name(i), c->cov[i]);
  fprintf(out, "\n");
  for (int d = 1; d < UTCP_DROP__COUNT; d++)
    if (c->drop[d])
      fprintf(out, "  drop %-28s %" PRIu64 "\n", utcp_drop_name((enum utcp_drop)d), c->drop[d]);
}

static void print_link(const struct run *r, FILE *out) {
  for (int d = 0; d < 2; d++) {
    const struct sim_link_stats *s = sim_link_stats(r->link, d);
    fprintf(out,
            "link %s: frames %" PRIu64 " delivered %" PRIu64 " lost %" PRIu64 " down %" PRIu64
            " queue-drops %" PRIu64 " duplicated %" PRIu64 " reordered %" PRIu64
            " corrupted %" PRIu64 "\n",
            d == 0 ? "h1->h2" : "h2->h1", s->frames_in, s->delivered, s->drop_loss,
            s->drop_down + s->drop_down_in_flight, s->drop_queue, s->duplicated, s->reordered,
            s->corrupted);
  }
}

static bool stacks_empty(const struct run *r) {
  return utcp_tcp_conns_in_use(r->cli->stack) == 0 && utcp_tcp_timers_running(r->cli->stack) == 0 &&
         utcp_tcp_conns_in_use(r->srv->stack) == 0 && utcp_tcp_timers_running(r->srv->stack) == 0;
}

/* After the application is done: TCP still closes in the background (LAST-ACK retransmits its
 * FIN with backoff while the ACK is lost; each copy restarts the peer's TIME-WAIT). Runs until
 * both stacks hold nothing, or until the longest legitimate tail has passed: every FIN
 * retransmission at the maximum RTO, then 2*MSL. Returns false on the event limit. */
static bool drain(struct run *r, uint64_t from_ns) {
  const struct utcp_tcp_config *c = &utcp_stack_config(r->cli->stack)->tcp;
  uint64_t limit =
      from_ns + 2 * r->msl_ns + (uint64_t)(c->data_retries + 1) * c->rto_max_ns + LINGER_NS;
  bool ok = run_slice(r, from_ns + 2 * r->msl_ns + LINGER_NS) == 0 &&
            run_until_done(r, limit, stacks_empty);
  fprintf(r->out, "drain: stacks %s at %.3f s (application done at %.3f s, TIME-WAIT %.0f s)\n",
         stacks_empty(r) ? "empty" : "NOT empty", (double)sim_now(r->sim) / 1e9,
         (double)from_ns / 1e9, (double)(2 * r->msl_ns) / 1e9);
  return ok;
}

/* Leak check after the run: every pool back to empty. Also reports the wire checker. */
static int check_leaks(const struct run *r) {
  int status = 0;
  fprintf(r->out, "checker: %" PRIu64 " segments and %" PRIu64 " snapshots checked, %" PRIu64
          " violations\n",
          sim_checker_segments(r->checker), sim_checker_snapshots(r->checker),
          sim_checker_violations(r->checker));
  if (sim_checker_violations(r->checker) > 0) {
    fprintf(r->out, "FAIL: the wire checker found violations\n");
    status = 1;
  }
  const struct tcpapp_host *hs[2] = {r->cli, r->srv};
  for (int i = 0; i < 2; i++) {
    const struct tcpapp_host *h = hs[i];
    uint32_t conns = utcp_tcp_conns_in_use(h->stack);
    uint64_t timers = utcp_tcp_timers_running(h->stack);
    uint32_t chunks = utcp_tcp_chunks_in_use(h->stack);
    fprintf(r->out, "leak-check %s: conns %" PRIu32 " timers %" PRIu64 " chunks %" PRIu32
           " app-conns %" PRIu32 "\n",
           sim_node_name(h->node), conns, timers, chunks, h->st.live);
    if (conns || timers || chunks || h->st.live) {
      fprintf(r->out, "FAIL: %s leaks after every connection closed and 2*MSL passed\n",
             sim_node_name(h->node));
      status = 1;
    }
  }
  return status;
}

static void print_msl(const struct run *r) {
  if (r->o.msl_ms)
    fprintf(r->out, "note: MSL set to %" PRIu64 " ms by --msl-ms (TIME-WAIT %" PRIu64 " ms)\n", r->o.msl_ms,
           2 * r->o.msl_ms);
}

static void free_run(struct run *r) {
  sim_tcptrace_free(r->trace); /* before the checker it chains to */
  sim_checker_free(r->checker); /* uninstalls itself from the sim */
  sim_free(r->sim);
  tcpapp_host_free(r->cli);
  tcpapp_host_free(r->srv);
  free(r->held);
}

/* ======================================================================================
 * transfer
 * ====================================================================================== */

static void xfer_plan(const struct run *r, bool client, struct tcpapp_plan *p) {
  const struct opts *o = &r->o;
  bool tx = client ? o->c2s : o->s2c, rx = client ? o->s2c : o->c2s;
  *p = (struct tcpapp_plan){
      .tx_bytes = tx ? o->bytes : 0,
      .tx_key = stream_key(o->seed, client ? 1 : 2, 0),
      .rx_bytes = rx ? o->bytes : 0,
      .rx_key = stream_key(o->seed, client ? 2 : 1, 0),
  };
  if (o->simclose) {
    p->fin = TCPAPP_FIN_HOLD;
  } else if (tx) {
    p->fin = TCPAPP_FIN_AFTER_TX;
  } else {
    p->fin = TCPAPP_FIN_AFTER_EOF;
  }
}

static void xfer_on_accept(struct tcpapp_host *h, struct tcpapp_conn *c,
                           const struct utcp_tcp_info *info) {
  struct run *r = h->scenario;
  (void)info;
  xfer_plan(r, false, &c->plan);
  if (r->trace) sim_tcptrace_watch(r->trace, h->node, c->conn);
}

static void xfer_release(struct sim *sim, struct sim_event *ev) {
  struct run *r = ev->obj;
  (void)sim;
  /* Both sides shut down sending in the same instant: the FINs cross on the link. */
  struct tcpapp_host *hs[2] = {r->cli, r->srv};
  for (int i = 0; i < 2; i++) {
    for (uint32_t j = 0; j < hs[i]->n_index; j++) {
      struct tcpapp_conn *c = hs[i]->by_index[j];
      if (c != NULL) tcpapp_conn_release(c);
    }
  }
  sim_stack_node_poke(r->cli->node);
  sim_stack_node_poke(r->srv->node);
}

static void xfer_on_ready(struct tcpapp_host *h, struct tcpapp_conn *c) {
  struct run *r = h->scenario;
  (void)c;
  if (++r->ready == 2 && r->o.simclose) {
    fprintf(r->out, "simclose: both sides have every byte, all acknowledged, at %.6f s: closing both\n",
           (double)sim_now(r->sim) / 1e9);
    sim_schedule(r->sim, sim_now(r->sim), xfer_release, r, 0);
  }
}

static void xfer_unlisten(struct sim *sim, struct sim_event *ev) {
  struct run *r = ev->obj;
  (void)sim;
  tcpapp_unlisten(r->srv);
  sim_stack_node_poke(r->srv->node);
}

static void xfer_on_done(struct tcpapp_host *h, struct tcpapp_conn *c) {
  struct run *r = h->scenario;
  bool client = h == r->cli;
  if (client) {
    r->c2s_tx_hash = c->tx_hash, r->c2s_tx = c->tx_sent;
    r->s2c_rx_hash = c->rx_hash, r->s2c_rx = c->rx_got;
    r->s2c_done_ns = c->t_rx_done_ns;
    r->t_connected_ns = c->t_connected_ns;
  } else {
    r->s2c_tx_hash = c->tx_hash, r->s2c_tx = c->tx_sent;
    r->c2s_rx_hash = c->rx_hash, r->c2s_rx = c->rx_got;
    r->c2s_done_ns = c->t_rx_done_ns;
  }
  if (++r->done == 2) {
    r->t_done_ns = sim_now(r->sim);
    sim_schedule(r->sim, sim_now(r->sim), xfer_unlisten, r, 0);
  }
}

static void xfer_start(struct sim *sim, struct sim_event *ev) {
  struct run *r = ev->obj;
  (void)sim;
  struct tcpapp_plan plan;
  xfer_plan(r, true, &plan);
  int err = 0;
  r->cconn = tcpapp_connect(r->cli, SERVER_IP, SERVER_PORT, &plan, 0, &err);
  if (r->cconn == NULL) {
    fprintf(r->out, "FAIL: connect: %s\n", utcp_strerror(err));
    r->connect_errors++;
  } else if (r->trace) {
    sim_tcptrace_watch(r->trace, r->cli->node, r->cconn->conn);
  }
  sim_stack_node_poke(r->cli->node);
}

static bool xfer_done(const struct run *r) { return r->done == 2 || r->connect_errors > 0; }

static bool check_direction(FILE *out, const char *name, uint64_t bytes, uint64_t tx, uint64_t rx,
                            uint64_t tx_hash, uint64_t rx_hash, uint64_t t0, uint64_t t1) {
  double secs = t1 > t0 ? (double)(t1 - t0) / 1e9 : 0;
  fprintf(out, "%s: sent %" PRIu64 " received %" PRIu64 " of %" PRIu64 " bytes, hash sent %016" PRIx64
         " received %016" PRIx64 ", %.3f s, goodput %.2f Mbit/s\n",
         name, tx, rx, bytes, tx_hash, rx_hash, secs, secs > 0 ? (double)rx * 8 / secs / 1e6 : 0.0);
  if (tx != bytes || rx != bytes || tx_hash != rx_hash) {
    fprintf(out, "FAIL: %s: the received stream differs from the sent one\n", name);
    return false;
  }
  return true;
}

int sim_transfer_main(int argc, char **argv) { return sim_transfer_run(argc, argv, stdout, NULL); }

int sim_transfer_run(int argc, char **argv, FILE *out, uint64_t *trace_hash) {
  struct run r = {.out = out};
  int rc = parse_args(argc, argv, false, &r.o);
  if (rc >= 0) return rc;
  const struct opts *o = &r.o;
  r.msl_ns = o->msl_ms ? o->msl_ms * SIM_NS_PER_MS : 30 * SIM_NS_PER_S;

  fprintf(r.out, "utcp-sim transfer: seed %" PRIu64 ", %" PRIu64 " bytes %s, delay %" PRIu64
         " ms, rate %" PRIu64 " Mbit/s",
         o->seed, o->bytes,
         o->c2s && o->s2c ? "each way"
         : o->c2s         ? "h1->h2"
                          : "h2->h1",
         o->link.delay_ms, o->link.rate_mbps);
  if (o->link.loss.num) fprintf(r.out, ", loss %" PRIu32 "/%" PRIu32, o->link.loss.num, o->link.loss.den);
  if (o->link.dup.num) fprintf(r.out, ", dup %" PRIu32 "/%" PRIu32, o->link.dup.num, o->link.dup.den);
  if (o->link.reorder.num) fprintf(r.out, ", reorder %" PRIu32 "/%" PRIu32, o->link.reorder.num, o->link.reorder.den);
  if (o->link.corrupt.num) fprintf(r.out, ", corrupt %" PRIu32 "/%" PRIu32, o->link.corrupt.num, o->link.corrupt.den);
  if (o->outage_ms)
    fprintf(r.out, ", outage %" PRIu64 " ms at %" PRIu64 " ms", o->outage_ms, o->outage_at_ms);
  if (o->simclose) fprintf(r.out, ", simultaneous close");
  fprintf(r.out, "\n");
  print_msl(&r);

  r.sim = sim_new(o->seed);
  sim_set_event_limit(r.sim, EVENT_LIMIT);
  static const struct tcpapp_ops ops = {
      .on_accept = xfer_on_accept, .on_ready = xfer_on_ready, .on_done = xfer_on_done};
  int status = 0;
  if (build(&r, 64, 16384 + (uint32_t)(4 * o->buf_kb), &ops, false) < 0 ||
      tcpapp_listen(r.srv, SERVER_PORT, 16) < 0) {
    print_replay(o, r.out);
    free_run(&r);
    return 1;
  }
  sim_schedule(r.sim, START_NS, xfer_start, &r, 0);

  /* Deadline (a liveness check, not a performance one): 1 Mbit/s per direction, 200 kbit/s
   * with faults (NewReno at 5-10% loss with a 1 s minimum RTO gets 0.1-1 Mbit/s), plus the
   * outage and two minutes of backoff. */
  uint64_t dirs = (o->c2s ? 1u : 0u) + (o->s2c ? 1u : 0u);
  bool faults = o->link.loss.num || o->link.dup.num || o->link.reorder.num || o->link.corrupt.num || o->outage_ms;
  uint64_t ns_per_byte = faults ? 8 * 5000 : 8 * 1000;
  uint64_t deadline = o->deadline_s ? o->deadline_s * SIM_NS_PER_S
                                    : 120 * SIM_NS_PER_S + dirs * o->bytes * ns_per_byte +
                                          (o->outage_at_ms + o->outage_ms) * SIM_NS_PER_MS;
  if (!run_until_done(&r, deadline, xfer_done)) {
    fprintf(r.out, "FAIL: %s\n",
           sim_stopped(r.sim) ? "stopped by the wire checker" : "event limit reached: a livelock?");
    status = 1;
  }
  bool finished = r.done == 2;
  if (!finished) {
    fprintf(r.out, "FAIL: the transfer did not finish by the deadline (%.3f s virtual)\n",
           (double)deadline / 1e9);
    tcpapp_host_dump(r.cli, r.out, 4);
    tcpapp_host_dump(r.srv, r.out, 4);
    status = 1;
  } else {
    /* Let TIME-WAIT run out, then look for leaks. */
    if (!drain(&r, r.t_done_ns)) {
      fprintf(r.out, "FAIL: %s after the transfer\n",
             sim_stopped(r.sim) ? "wire checker stop" : "event limit");
      status = 1;
    }
  }

  print_host(r.cli, o->verbose, r.out);
  print_host(r.srv, o->verbose, r.out);
  print_link(&r, r.out);
  if (finished) {
    if (o->c2s && !check_direction(r.out, "h1->h2", o->bytes, r.c2s_tx, r.c2s_rx, r.c2s_tx_hash,
                                   r.c2s_rx_hash, r.t_connected_ns, r.c2s_done_ns))
      status = 1;
    if (o->s2c && !check_direction(r.out, "h2->h1", o->bytes, r.s2c_tx, r.s2c_rx, r.s2c_tx_hash,
                                   r.s2c_rx_hash, r.t_connected_ns, r.s2c_done_ns))
      status = 1;
    if (r.cli->st.failed || r.srv->st.failed || r.cli->st.bad_content || r.srv->st.bad_content) {
      fprintf(r.out, "FAIL: a connection failed or received wrong bytes\n");
      status = 1;
    }
    fprintf(r.out, "transfer: connected at %.6f s, both sides closed at %.6f s\n",
           (double)r.t_connected_ns / 1e9, (double)r.t_done_ns / 1e9);
    if (o->outage_ms) {
      uint64_t a = o->outage_at_ms * SIM_NS_PER_MS, b = a + o->outage_ms * SIM_NS_PER_MS;
      if (!(r.t_connected_ns < a && r.t_done_ns > b)) {
        fprintf(r.out, "FAIL: the outage [%.3f s, %.3f s) was not in the middle of the transfer\n",
               (double)a / 1e9, (double)b / 1e9);
        status = 1;
      }
    }
    if (o->simclose) {
      const struct utcp_counters *cc = utcp_stack_counters(r.cli->stack);
      const struct utcp_counters *sc = utcp_stack_counters(r.srv->stack);
      fprintf(r.out, "simclose: simultaneous_close coverage h1 %" PRIu64 " h2 %" PRIu64 "\n",
             cc->cov[UTCP_COV_simultaneous_close], sc->cov[UTCP_COV_simultaneous_close]);
      /* Both FINs leave in the same instant, so at least one side sees the peer's FIN before
       * the ACK of its own (CLOSING); both do unless a FIN or its ACK was lost. */
      uint64_t n =
          (cc->cov[UTCP_COV_simultaneous_close] != 0) + (sc->cov[UTCP_COV_simultaneous_close] != 0);
      if (n == 0 || (n == 1 && !faults)) {
        fprintf(r.out, "FAIL: the close was not simultaneous (CLOSING reached on %" PRIu64 " side(s))\n",
               n);
        status = 1;
      }
    }
    if (check_leaks(&r)) status = 1;
  }
  fprintf(r.out, "events: %" PRIu64 ", virtual time %.3f s\n", sim_events_run(r.sim),
         (double)sim_now(r.sim) / 1e9);
  fprintf(r.out, "trace-hash: %016" PRIx64 "\n", sim_trace_hash(r.sim));
  if (trace_hash) *trace_hash = sim_trace_hash(r.sim);
  if (r.trace && sim_tcptrace_finish(r.trace, r.out) < 0) {
    fprintf(r.out, "FAIL: the trace could not be written or plotted\n");
    status = 1;
  }
  fprintf(r.out, "result: %s\n", status ? "FAIL" : "ok");
  print_replay(o, r.out);
  free_run(&r);
  return status;
}

/* ======================================================================================
 * churn
 * ====================================================================================== */

static void churn_start_one(struct run *r);

static void churn_on_accept(struct tcpapp_host *h, struct tcpapp_conn *c,
                            const struct utcp_tcp_info *info) {
  struct run *r = h->scenario;
  /* Streams are named by the client's port: the server learns it from the connection. */
  c->plan = (struct tcpapp_plan){
      .tx_bytes = r->o.msg_bytes,
      .tx_key = stream_key(r->o.seed, info->rport, 2),
      .rx_bytes = r->o.msg_bytes,
      .rx_key = stream_key(r->o.seed, info->rport, 1),
      .tx_after_rx = r->o.msg_bytes,
      .fin = TCPAPP_FIN_AFTER_EOF,
  };
}

static void churn_release_all(struct sim *sim, struct sim_event *ev) {
  struct run *r = ev->obj;
  (void)sim;
  printf("concurrent: %" PRIu32 " connections held open at once, releasing at %.6f s\n",
         r->cli->st.live, (double)sim_now(r->sim) / 1e9);
  for (uint32_t j = 0; j < r->cli->n_index; j++) {
    struct tcpapp_conn *c = r->cli->by_index[j];
    if (c != NULL) tcpapp_conn_release(c);
  }
  sim_stack_node_poke(r->cli->node);
}

static void churn_on_ready(struct tcpapp_host *h, struct tcpapp_conn *c) {
  struct run *r = h->scenario;
  (void)c;
  if (h != r->cli || !r->o.concurrent) return;
  if (++r->cli_ready == r->o.conns) sim_schedule(r->sim, sim_now(r->sim), churn_release_all, r, 0);
}

static void churn_next(struct sim *sim, struct sim_event *ev) {
  struct run *r = ev->obj;
  (void)sim;
  churn_start_one(r);
  sim_stack_node_poke(r->cli->node);
}

static void churn_on_done(struct tcpapp_host *h, struct tcpapp_conn *c) {
  struct run *r = h->scenario;
  (void)c;
  if (h == r->cli && !r->o.concurrent && r->started < r->o.conns)
    sim_schedule(r->sim, sim_now(r->sim), churn_next, r, 0);
}

static void churn_start_one(struct run *r) {
  struct tcpapp_plan plan = {
      .tx_bytes = r->o.msg_bytes,
      .rx_bytes = r->o.msg_bytes,
      .fin = r->o.concurrent ? TCPAPP_FIN_HOLD : TCPAPP_FIN_AFTER_RX,
  };
  int err = 0;
  uint64_t id = r->started++;
  struct tcpapp_conn *c = tcpapp_connect(r->cli, SERVER_IP, SERVER_PORT, &plan, (uint32_t)id, &err);
  if (c == NULL) {
    if (r->connect_errors++ < 10) printf("  connect #%" PRIu64 ": %s\n", id, utcp_strerror(err));
    r->cli->st.failed++;
    if (!r->o.concurrent && r->started < r->o.conns)
      sim_schedule(r->sim, sim_now(r->sim) + SIM_NS_PER_MS, churn_next, r, 0);
    return;
  }
  struct utcp_tcp_info info;
  utcp_tcp_info(r->cli->stack, c->conn, &info);
  c->plan.tx_key = stream_key(r->o.seed, info.lport, 1);
  c->plan.rx_key = stream_key(r->o.seed, info.lport, 2);
}

static void churn_start(struct sim *sim, struct sim_event *ev) {
  struct run *r = ev->obj;
  (void)sim;
  if (r->o.concurrent) {
    for (uint64_t i = 0; i < r->o.conns; i++) churn_start_one(r);
  } else {
    churn_start_one(r);
  }
  sim_stack_node_poke(r->cli->node);
}

static bool churn_done(const struct run *r) {
  uint64_t cli_end = r->cli->st.completed + r->cli->st.failed;
  return r->started == r->o.conns && cli_end == r->o.conns && r->cli->st.live == 0 &&
         r->srv->st.live == 0;
}

int sim_churn_main(int argc, char **argv) {
  struct run r = {.out = stdout};
  int rc = parse_args(argc, argv, true, &r.o);
  if (rc >= 0) return rc;
  const struct opts *o = &r.o;
  r.msl_ns = o->msl_ms ? o->msl_ms * SIM_NS_PER_MS : 30 * SIM_NS_PER_S;

  printf("utcp-sim churn: seed %" PRIu64 ", %" PRIu64 " connections %s, %" PRIu64
         " bytes each way, delay %" PRIu64 " ms, rate %" PRIu64 " Mbit/s",
         o->seed, o->conns, o->concurrent ? "at once" : "one after another", o->msg_bytes,
         o->link.delay_ms, o->link.rate_mbps);
  if (o->link.loss.num) printf(", loss %" PRIu32 "/%" PRIu32, o->link.loss.num, o->link.loss.den);
  printf("\n");
  print_msl(&r);

  /* Pools: concurrent needs every connection at once; sequential needs the client's
   * TIME-WAIT population (one connection takes a few RTTs, TIME-WAIT lasts 2*MSL). */
  uint32_t max_conns;
  if (o->concurrent) {
    max_conns = (uint32_t)o->conns + 64;
  } else {
    uint64_t per_conn_ns = 2 * (2 * o->link.delay_ms * SIM_NS_PER_MS) + 1; /* at least 2 RTTs */
    uint64_t tw = 2 * r.msl_ns / per_conn_ns + 1024;
    max_conns = (uint32_t)(tw < o->conns + 64 ? tw : o->conns + 64);
    if (max_conns < 1024) max_conns = 1024;
  }
  uint32_t chunks = 4 * max_conns + 16384;

  r.sim = sim_new(o->seed);
  sim_set_event_limit(r.sim, EVENT_LIMIT);
  static const struct tcpapp_ops ops = {
      .on_accept = churn_on_accept, .on_ready = churn_on_ready, .on_done = churn_on_done};
  int status = 0;
  /* Static ARP: a burst of SYNs would overflow the ARP pending queue. */
  if (build(&r, max_conns, chunks, &ops, true) < 0 ||
      tcpapp_listen(r.srv, SERVER_PORT, o->concurrent ? (uint32_t)o->conns : 128) < 0) {
    print_replay(o, stdout);
    free_run(&r);
    return 1;
  }
  sim_schedule(r.sim, START_NS, churn_start, &r, 0);
  /* Deadline: a few RTTs per connection; with faults, a couple of RTOs each. */
  bool faults = o->link.loss.num || o->link.dup.num || o->link.reorder.num || o->link.corrupt.num || o->outage_ms;
  uint64_t per_conn_ns =
      faults ? 2 * SIM_NS_PER_S : 50 * SIM_NS_PER_MS + 20 * o->link.delay_ms * SIM_NS_PER_MS;
  uint64_t deadline = o->deadline_s
                          ? o->deadline_s * SIM_NS_PER_S
                          : 120 * SIM_NS_PER_S + (o->concurrent ? 1 : o->conns) * per_conn_ns +
                                (o->outage_at_ms + o->outage_ms) * SIM_NS_PER_MS;
  if (!run_until_done(&r, deadline, churn_done)) {
    printf("FAIL: %s\n",
           sim_stopped(r.sim) ? "stopped by the wire checker" : "event limit reached: a livelock?");
    status = 1;
  }
  bool finished = churn_done(&r);
  uint64_t t_done = sim_now(r.sim);
  if (!finished) {
    printf("FAIL: not every connection finished by the deadline (%.3f s virtual): started %" PRIu64
           ", client live %" PRIu32 ", server live %" PRIu32 "\n",
           (double)deadline / 1e9, r.started, r.cli->st.live, r.srv->st.live);
    tcpapp_host_dump(r.cli, stdout, 4);
    tcpapp_host_dump(r.srv, stdout, 4);
    status = 1;
  } else {
    tcpapp_unlisten(r.srv);
    sim_stack_node_poke(r.srv->node);
    printf("churn: all connections ended at %.6f s; waiting 2*MSL for TIME-WAIT\n",
           (double)t_done / 1e9);
    if (!drain(&r, t_done)) {
      printf("FAIL: %s after the run\n", sim_stopped(r.sim) ? "wire checker stop" : "event limit");
      status = 1;
    }
  }

  print_host(r.cli, o->verbose, stdout);
  print_host(r.srv, o->verbose, stdout);
  print_link(&r, stdout);
  const struct tcpapp_stats *cs = &r.cli->st, *ss = &r.srv->st;
  printf("client: opened %" PRIu64 " completed %" PRIu64 " failed %" PRIu64 " peak-open %" PRIu32
         " bytes out %" PRIu64 " in %" PRIu64 "\n",
         cs->opened, cs->completed, cs->failed, cs->peak_live, cs->tx_bytes, cs->rx_bytes);
  printf("server: accepted %" PRIu64 " completed %" PRIu64 " failed %" PRIu64 " peak-open %" PRIu32
         " bytes out %" PRIu64 " in %" PRIu64 "\n",
         ss->accepted, ss->completed, ss->failed, ss->peak_live, ss->tx_bytes, ss->rx_bytes);
  printf("hash sums: h1->h2 sent %016" PRIx64 " received %016" PRIx64 ", h2->h1 sent %016" PRIx64
         " received %016" PRIx64 "\n",
         cs->tx_hash_sum, ss->rx_hash_sum, ss->tx_hash_sum, cs->rx_hash_sum);
  if (finished) {
    uint64_t want = o->conns * o->msg_bytes;
    if (cs->completed != o->conns || ss->completed != o->conns || cs->failed || ss->failed ||
        cs->bad_content || ss->bad_content || cs->tx_bytes != want || cs->rx_bytes != want ||
        ss->tx_bytes != want || ss->rx_bytes != want || cs->tx_hash_sum != ss->rx_hash_sum ||
        ss->tx_hash_sum != cs->rx_hash_sum) {
      printf("FAIL: not every connection carried its bytes intact in both directions\n");
      status = 1;
    }
    if (o->concurrent && cs->peak_live < o->conns) {
      printf("FAIL: only %" PRIu32 " connections were open at once\n", cs->peak_live);
      status = 1;
    }
    if (check_leaks(&r)) status = 1;
  }
  printf("events: %" PRIu64 ", virtual time %.3f s\n", sim_events_run(r.sim),
         (double)sim_now(r.sim) / 1e9);
  printf("trace-hash: %016" PRIx64 "\n", sim_trace_hash(r.sim));
  printf("result: %s\n", status ? "FAIL" : "ok");
  print_replay(o, stdout);
  free_run(&r);
  return status;
}
