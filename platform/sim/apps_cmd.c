/* `utcp-sim apps`: unmodified applications (apps/) as coroutines on simulated hosts.
 *
 * Hosts are named on the command line (`--host NAME "CMD ARGS..."`, repeatable; the same name
 * again puts another app on that host) and numbered in order of appearance: host i is
 * 10.0.0.i/24 with MAC 02:00:00:00:00:0i. Two hosts share one link "<a>-<b>"; three or more
 * each have a link "<host>-sw" into one learning switch. Every link carries the same
 * parameters and faults in both directions. ARP runs as on a real network.
 *
 * Every app starts at 1 ms of virtual time, in command-line order. The run ends when every app
 * that is not a server (apps/apps.h: app_desc.serves) has returned; the servers are then
 * stopped (their waits return EINTR). TCP then finishes closing in the background; once
 * 2*MSL has passed, every host must hold no descriptor, connection, timer or buffer.
 * Exit status: 0 when every app returned 0, the wire checker found nothing and nothing leaked;
 * 1 otherwise; 2 on a usage error. */
#include "apps_cmd.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "apps/app_util.h"
#include "apps/apps.h"
#include "checker.h"
#include "rt_sim.h"
#include "scenario.h"
#include "sim.h"
#include "trace.h"

#define MAX_HOSTS 16
#define MAX_APPS 32
#define MAX_ARGS 64
#define START_NS (1 * SIM_NS_PER_MS)
#define SLICE_NS (100 * SIM_NS_PER_MS)
#define STOP_GRACE_NS (10 * SIM_NS_PER_S)
#define LINGER_NS (5 * SIM_NS_PER_S)

struct app_spec {
  const char *host;
  const char *cmd;
  int host_index;
};

struct opts {
  uint64_t seed;
  struct sim_link_opts link;
  uint64_t buf_kb, max_conns, max_fds, msl_ms, deadline_s, stack_kb, trace_conns;
  const char *pcap_dir, *trace_dir;
  struct app_spec apps[MAX_APPS];
  int n_apps;
  const char *hosts[MAX_HOSTS];
  int n_hosts;
};

struct run {
  struct opts o;
  struct sim *sim;
  struct rt_sim *rt;
  struct rt_host *host[MAX_HOSTS];
  struct sim_link *link[MAX_HOSTS];
  int n_links;
  struct sim_checker *checker;
  struct sim_tcptrace *trace;
  uint64_t traced[MAX_HOSTS];
  utcp_conn_t *seen[MAX_HOSTS]; /* connections already traced, per host */
  struct rt_app *app[MAX_APPS];
  bool serves[MAX_APPS];
};

void sim_apps_usage(FILE *out) {
  size_t n;
  const struct app_desc *t = app_table(&n);
  fprintf(out,
          "usage: utcp-sim apps [options] --host NAME \"APP ARGS...\" [--host NAME \"...\"]...\n"
          "  Runs unmodified apps (the same source as on real runtimes) as coroutines on\n"
          "  simulated hosts 10.0.0.1, 10.0.0.2, ... (in order of first --host); blocking calls\n"
          "  and epoll_wait yield in virtual time. A name given again adds an app to that host.\n"
          "  apps:\n");
  for (size_t i = 0; i < n; i++) fprintf(out, "    %-9s %s\n", t[i].name, t[i].summary);
  fprintf(out,
          "  `utcp-sim apps --host h \"APP --help\"` prints an app's options.\n"
          "  --seed N            seed for every random choice (default 1)\n"
          "  --delay-ms N        propagation delay per link (default 5)\n"
          "  --jitter-ms N       extra uniform delay 0..N (default 0)\n"
          "  --rate-mbps N       link rate (default 1000)\n"
          "  --queue-kb N        link queue limit (default 1024)\n"
          "  --loss, --dup, --reorder, --corrupt NUM/DEN   faults, each link and direction\n"
          "  --reorder-ms N      hold-back of reordered frames (default 1)\n"
          "  --buf-kb N          socket buffers (default 64)\n"
          "  --max-conns N       TCBs per host (default 8192)\n"
          "  --max-fds N         descriptors per host (default 4096)\n"
          "  --msl-ms N          TCP MSL (default 30000)\n"
          "  --deadline-s N      virtual time limit for the apps (default 600)\n"
          "  --stack-kb N        coroutine stack per app (default 256)\n"
          "  --pcap DIR          DIR/<link>.pcap for every link\n"
          "  --trace DIR         cwnd/RTT trace and plots of the first --trace-conns\n"
          "                      connections of each host (default 1)\n"
          "Exits 0 when every app returned 0, the wire checker found no violation and no host\n"
          "leaked a descriptor, connection, timer or buffer; 1 otherwise; 2 on a usage error.\n");
}

static int usage_error(const char *fmt, const char *arg) {
  fprintf(stderr, "utcp-sim apps: ");
  fprintf(stderr, fmt, arg);
  fprintf(stderr, "\n");
  sim_apps_usage(stderr);
  return 2;
}

static int parse_args(int argc, char **argv, struct opts *o) {
  *o = (struct opts){.seed = 1,
                     .link = {.delay_ms = 5, .rate_mbps = 1000, .queue_kb = 1024,
                              .reorder_ms = 1, .loss = {0, 1}, .dup = {0, 1},
                              .reorder = {0, 1}, .corrupt = {0, 1}},
                     .buf_kb = 64, .max_conns = 8192, .max_fds = 4096,
                     .deadline_s = 600, .stack_kb = 256, .trace_conns = 1};
  for (int i = 1; i < argc; i++) {
    const char *opt = argv[i];
    if (strcmp(opt, "--help") == 0 || strcmp(opt, "-h") == 0) {
      sim_apps_usage(stdout);
      return 0;
    }
    const char *val = i + 1 < argc ? argv[i + 1] : NULL;
    i++;
    bool ok;
    int link;
    if (strcmp(opt, "--host") == 0) {
      const char *cmd = i + 1 < argc ? argv[i + 1] : NULL;
      i++;
      ok = val && *val && cmd && *cmd && o->n_apps < MAX_APPS;
      if (ok) {
        int h = 0;
        while (h < o->n_hosts && strcmp(o->hosts[h], val) != 0) h++;
        if (h == o->n_hosts) {
          if (h == MAX_HOSTS) return usage_error("too many hosts (at most 16), at %s", val);
          o->hosts[o->n_hosts++] = val;
        }
        o->apps[o->n_apps++] = (struct app_spec){val, cmd, h};
      }
    } else if ((link = sim_link_opts_parse(&o->link, opt, val)) >= 0) {
      ok = link == 1;
    } else if (strcmp(opt, "--seed") == 0) {
      ok = sim_parse_u64(val, &o->seed);
    } else if (strcmp(opt, "--buf-kb") == 0) {
      ok = sim_parse_u64(val, &o->buf_kb) && o->buf_kb >= 2 && o->buf_kb <= 65536;
    } else if (strcmp(opt, "--max-conns") == 0) {
      ok = sim_parse_u64(val, &o->max_conns) && o->max_conns >= 4 && o->max_conns <= 1000000;
    } else if (strcmp(opt, "--max-fds") == 0) {
      ok = sim_parse_u64(val, &o->max_fds) && o->max_fds >= 4 && o->max_fds <= 1000000;
    } else if (strcmp(opt, "--msl-ms") == 0) {
      ok = sim_parse_u64(val, &o->msl_ms) && o->msl_ms >= 1 && o->msl_ms <= 600000;
    } else if (strcmp(opt, "--deadline-s") == 0) {
      ok = sim_parse_u64(val, &o->deadline_s) && o->deadline_s >= 1 && o->deadline_s <= 10000000;
    } else if (strcmp(opt, "--stack-kb") == 0) {
      ok = sim_parse_u64(val, &o->stack_kb) && o->stack_kb >= 64 && o->stack_kb <= 65536;
    } else if (strcmp(opt, "--trace-conns") == 0) {
      ok = sim_parse_u64(val, &o->trace_conns) && o->trace_conns <= 1000;
    } else if (strcmp(opt, "--pcap") == 0) {
      ok = val && *val;
      o->pcap_dir = val;
    } else if (strcmp(opt, "--trace") == 0) {
      ok = val && *val;
      o->trace_dir = val;
    } else {
      return usage_error("unknown option %s", opt);
    }
    if (!ok) return usage_error("bad or missing value for %s", opt);
  }
  if (o->n_apps == 0) return usage_error("%s", "no --host NAME \"APP ...\" given");
  return -1;
}

/* The command line that replays the run, shell-quoted. */
static void print_quoted(FILE *out, const char *s) {
  fputc('\'', out);
  for (; *s; s++) {
    if (*s == '\'')
      fputs("'\\''", out);
    else
      fputc(*s, out);
  }
  fputc('\'', out);
}

static void print_ratio(FILE *out, const char *name, struct sim_ratio r) {
  if (r.num) fprintf(out, " %s %" PRIu32 "/%" PRIu32, name, r.num, r.den);
}

static void print_replay(const struct opts *o, FILE *out) {
  fprintf(out, "utcp-sim apps --seed %" PRIu64 " --delay-ms %" PRIu64 " --rate-mbps %" PRIu64,
          o->seed, o->link.delay_ms, o->link.rate_mbps);
  if (o->link.jitter_ms) fprintf(out, " --jitter-ms %" PRIu64, o->link.jitter_ms);
  if (o->link.queue_kb != 1024) fprintf(out, " --queue-kb %" PRIu64, o->link.queue_kb);
  print_ratio(out, "--loss", o->link.loss);
  print_ratio(out, "--dup", o->link.dup);
  print_ratio(out, "--reorder", o->link.reorder);
  if (o->link.reorder.num && o->link.reorder_ms != 1) fprintf(out, " --reorder-ms %" PRIu64, o->link.reorder_ms);
  print_ratio(out, "--corrupt", o->link.corrupt);
  if (o->buf_kb != 64) fprintf(out, " --buf-kb %" PRIu64, o->buf_kb);
  if (o->max_conns != 8192) fprintf(out, " --max-conns %" PRIu64, o->max_conns);
  if (o->max_fds != 4096) fprintf(out, " --max-fds %" PRIu64, o->max_fds);
  if (o->msl_ms) fprintf(out, " --msl-ms %" PRIu64, o->msl_ms);
  if (o->deadline_s != 600) fprintf(out, " --deadline-s %" PRIu64, o->deadline_s);
  if (o->stack_kb != 256) fprintf(out, " --stack-kb %" PRIu64, o->stack_kb);
  if (o->trace_conns != 1) fprintf(out, " --trace-conns %" PRIu64, o->trace_conns);
  for (int i = 0; i < o->n_apps; i++) {
    fprintf(out, " --host %s ", o->apps[i].host);
    print_quoted(out, o->apps[i].cmd);
  }
}

static void host_config(const struct opts *o, int i, struct utcp_ctx_config *c) {
  utcp_ctx_config_default(c);
  struct utcp_stack_config *s = &c->stack;
  s->mac = (struct utcp_mac){{0x02, 0, 0, 0, 0, (uint8_t)(i + 1)}};
  s->ip = 0x0a000001u + (uint32_t)i;
  s->netmask = 0xffffff00u;
  s->tcp.max_conns = (uint32_t)o->max_conns;
  s->tcp.syn_backlog = (uint32_t)o->max_conns;
  s->tcp.sndbuf_bytes = s->tcp.rcvbuf_bytes = (uint32_t)(o->buf_kb * 1024);
  /* buffers for every connection to fill both its queues, capped at 1 GiB */
  uint64_t chunks = o->max_conns * (2 * o->buf_kb * 1024 / 2048 + 2);
  if (chunks > (1u << 19)) chunks = 1u << 19;
  s->tcp.chunks = (uint32_t)chunks;
  s->tcp.reass_nodes = (uint32_t)(2 * o->max_conns);
  if (o->msl_ms) s->tcp.msl_ns = o->msl_ms * SIM_NS_PER_MS;
  c->max_fds = (uint32_t)o->max_fds;
  c->max_epoll_items = (uint32_t)o->max_fds * 2;
}

static void link_params(const struct opts *o, struct sim_link_params *lp) {
  sim_link_opts_params(&o->link, lp);
}

static int build(struct run *r) {
  const struct opts *o = &r->o;
  for (int i = 0; i < o->n_hosts; i++) {
    struct utcp_ctx_config c;
    host_config(o, i, &c);
    if ((r->host[i] = rt_sim_host_new(r->rt, o->hosts[i], &c)) == NULL) return -1;
    r->seen[i] = sim_xcalloc(o->trace_conns + 1, sizeof *r->seen[i]);
  }
  struct sim_link_params lp;
  link_params(o, &lp);
  char name[128];
  if (o->n_hosts == 2) {
    snprintf(name, sizeof name, "%s-%s", o->hosts[0], o->hosts[1]);
    r->link[r->n_links++] = sim_link_new(r->sim, name, &lp, NULL, sim_node_port(rt_host_node(r->host[0])),
                                         sim_node_port(rt_host_node(r->host[1])));
  } else if (o->n_hosts > 2) {
    struct sim_switch *sw = sim_switch_new(r->sim, "sw", o->n_hosts);
    for (int i = 0; i < o->n_hosts; i++) {
      snprintf(name, sizeof name, "%s-sw", o->hosts[i]);
      r->link[r->n_links++] = sim_link_new(r->sim, name, &lp, NULL,
                                           sim_node_port(rt_host_node(r->host[i])),
                                           sim_switch_port(sw, i));
    }
  }
  char *replay = NULL;
  size_t replay_len = 0;
  FILE *f = open_memstream(&replay, &replay_len);
  if (f == NULL) return -1;
  print_replay(o, f);
  fclose(f);
  r->checker = sim_checker_new(r->sim, replay);
  free(replay);
  if (o->pcap_dir && sim_pcap_all(r->sim, o->pcap_dir) < 0) {
    fprintf(stderr, "utcp-sim apps: cannot write pcap files in %s: %s\n", o->pcap_dir,
            strerror(errno));
    return -1;
  }
  if (o->trace_dir && (r->trace = sim_tcptrace_new(r->sim, o->trace_dir)) == NULL) {
    fprintf(stderr, "utcp-sim apps: cannot create trace directory %s: %s\n", o->trace_dir,
            strerror(errno));
    return -1;
  }
  /* apps */
  for (int i = 0; i < o->n_apps; i++) {
    char *line = sim_xstrdup(o->apps[i].cmd);
    char *argv[MAX_ARGS];
    int argc = app_split_args(line, argv, MAX_ARGS);
    const struct app_desc *d = argc > 0 ? app_find(argv[0]) : NULL;
    if (d == NULL) {
      fprintf(stderr, "utcp-sim apps: %s: %s\n", o->apps[i].cmd,
              argc <= 0 ? "cannot split the command line" : "no such app");
      free(line);
      return -2;
    }
    r->serves[i] = d->serves != NULL && d->serves(argc, argv);
    char label[160];
    snprintf(label, sizeof label, "%s", argv[0]);
    r->app[i] = rt_sim_spawn(r->rt, r->host[o->apps[i].host_index], label, d->main, argc, argv,
                             o->stack_kb * 1024, START_NS);
    free(line);
    if (r->app[i] == NULL) {
      fprintf(stderr, "utcp-sim apps: cannot map a coroutine stack: %s\n", strerror(errno));
      return -1;
    }
  }
  return 0;
}

/* --trace: starts tracing the first connections each host opens or accepts. */
static void trace_discover(struct run *r) {
  for (int h = 0; h < r->o.n_hosts; h++) {
    if (r->traced[h] >= r->o.trace_conns) continue;
    struct utcp_ctx *ctx = rt_host_ctx(r->host[h]);
    if (utcp_tcp_conns_in_use(utcp_ctx_stack(ctx)) == 0) continue; /* nothing to find */
    for (int fd = 0; fd < (int)r->o.max_fds && r->traced[h] < r->o.trace_conns; fd++) {
      utcp_conn_t c = utcp_ctx_sock_conn(ctx, fd);
      if (c == 0) continue;
      bool seen = false;
      for (uint64_t k = 0; k < r->traced[h]; k++) seen |= r->seen[h][k] == c;
      if (seen) continue;
      r->seen[h][r->traced[h]++] = c;
      sim_tcptrace_watch_stack(r->trace, rt_host_node(r->host[h]), utcp_ctx_stack(ctx), c);
    }
  }
}

static int run_slice(struct run *r, uint64_t until) {
  if (r->trace == NULL) return sim_run_until(r->sim, until);
  for (;;) {
    uint64_t next = sim_next_time(r->sim);
    if (next == SIM_NEVER || next > until) break;
    if (sim_run_until(r->sim, next) < 0) return -1;
    trace_discover(r);
    sim_tcptrace_sample(r->trace);
  }
  return sim_run_until(r->sim, until);
}

static bool clients_done(const struct run *r) {
  for (int i = 0; i < r->o.n_apps; i++)
    if (!r->serves[i] && !rt_app_done(r->app[i])) return false;
  return true;
}

static bool stacks_empty(const struct run *r) {
  for (int h = 0; h < r->o.n_hosts; h++) {
    struct utcp_stack *s = utcp_ctx_stack(rt_host_ctx(r->host[h]));
    if (utcp_tcp_conns_in_use(s) || utcp_tcp_timers_running(s)) return false;
  }
  return true;
}

/* Runs slices until cond or the time limit; false when the run was stopped (checker, event
 * limit) or nothing is left to happen while cond is still false. */
static bool run_while(struct run *r, uint64_t limit, bool (*cond)(const struct run *)) {
  while (!cond(r) && sim_now(r->sim) < limit) {
    if (sim_next_time(r->sim) == SIM_NEVER) return false;
    uint64_t until = sim_now(r->sim) + SLICE_NS;
    if (until > limit) until = limit;
    if (run_slice(r, until) < 0) return false;
  }
  return true;
}

static bool all_done(const struct run *r) { return rt_sim_apps_running(r->rt) == 0; }

static int report(struct run *r, bool apps_ok, bool deadline_hit) {
  const struct opts *o = &r->o;
  int status = 0;
  for (int i = 0; i < o->n_apps; i++) {
    bool done = rt_app_done(r->app[i]);
    int st = done ? rt_app_status(r->app[i]) : -1;
    printf("app %d on %s (%s): %s", i + 1, o->apps[i].host, o->apps[i].cmd,
           done ? "returned " : "did not return");
    if (done) printf("%d", st);
    printf("\n");
    if (!done || st != 0) status = 1;
  }
  if (deadline_hit) {
    printf("FAIL: the apps were not done after %" PRIu64 " s of virtual time (--deadline-s)\n",
           o->deadline_s);
    status = 1;
  }
  if (!apps_ok && !deadline_hit && !sim_stopped(r->sim)) {
    printf("FAIL: nothing left to happen, yet apps still wait (a deadlock)\n");
    status = 1;
  }
  for (int l = 0; l < r->n_links; l++)
    for (int d = 0; d < 2; d++) {
      const struct sim_link_stats *s = sim_link_stats(r->link[l], d);
      printf("link %s %s: frames %" PRIu64 " delivered %" PRIu64 " lost %" PRIu64
             " queue-drops %" PRIu64 " duplicated %" PRIu64 " reordered %" PRIu64
             " corrupted %" PRIu64 "\n",
             sim_link_name(r->link[l]), d == 0 ? "->" : "<-", s->frames_in, s->delivered,
             s->drop_loss, s->drop_queue, s->duplicated, s->reordered, s->corrupted);
    }
  for (int h = 0; h < o->n_hosts; h++) {
    struct utcp_ctx *ctx = rt_host_ctx(r->host[h]);
    struct utcp_stack *s = utcp_ctx_stack(ctx);
    const struct utcp_counters *c = utcp_stack_counters(s);
    uint32_t fds = utcp_ctx_fds_in_use(ctx), conns = utcp_tcp_conns_in_use(s),
             chunks = utcp_tcp_chunks_in_use(s);
    uint64_t timers = utcp_tcp_timers_running(s);
    printf("host %s (10.0.0.%d): segs out %" PRIu64 " in %" PRIu64 " retrans %" PRIu64
           " rsts out %" PRIu64 "; leak-check: fds %" PRIu32 " conns %" PRIu32 " timers %" PRIu64
           " chunks %" PRIu32 "\n",
           o->hosts[h], h + 1, c->tcp_out_segs, c->tcp_in_segs, c->tcp_retrans_segs,
           c->tcp_out_rsts, fds, conns, timers, chunks);
    if (fds || conns || timers || chunks) {
      printf("FAIL: host %s holds resources after every app returned and 2*MSL passed\n",
             o->hosts[h]);
      status = 1;
    }
  }
  printf("checker: %" PRIu64 " segments checked, %" PRIu64 " violations\n",
         sim_checker_segments(r->checker), sim_checker_violations(r->checker));
  if (sim_checker_violations(r->checker) > 0) status = 1;
  if (r->trace && sim_tcptrace_finish(r->trace, stdout) < 0) status = 1;
  if (o->pcap_dir) printf("pcap: %s/<link>.pcap\n", o->pcap_dir);
  printf("virtual time %.3f s, %" PRIu64 " events\n", (double)sim_now(r->sim) / 1e9,
         sim_events_run(r->sim));
  printf("seed: %" PRIu64 "\ntrace-hash: %016" PRIx64 "\nreplay: ", o->seed,
         sim_trace_hash(r->sim));
  print_replay(o, stdout);
  if (o->pcap_dir) printf(" --pcap %s", o->pcap_dir);
  if (o->trace_dir) printf(" --trace %s", o->trace_dir);
  printf("\n%s\n", status == 0 ? "PASS" : "FAIL");
  return status;
}

int sim_apps_main(int argc, char **argv) {
  struct run r = {0};
  int rc = parse_args(argc, argv, &r.o);
  if (rc >= 0) return rc;
  r.sim = sim_new(r.o.seed);
  r.rt = rt_sim_new(r.sim);
  int status = 1;
  printf("seed: %" PRIu64 "\n", r.o.seed);
  fflush(stdout);
  int b = build(&r);
  if (b == 0) {
    uint64_t deadline = START_NS + r.o.deadline_s * SIM_NS_PER_S;
    bool ok = run_while(&r, deadline, clients_done);
    bool deadline_hit = ok && !clients_done(&r);
    /* Servers (and, after a failure, everyone) are asked to stop. */
    rt_sim_stop(r.rt);
    run_while(&r, sim_now(r.sim) + STOP_GRACE_NS, all_done);
    /* TCP closes in the background: the longest legitimate tail is every FIN retransmission
     * at the maximum RTO, then 2*MSL. */
    const struct utcp_tcp_config *tc =
        &utcp_stack_config(utcp_ctx_stack(rt_host_ctx(r.host[0])))->tcp;
    uint64_t from = sim_now(r.sim);
    if (!sim_stopped(r.sim)) {
      run_slice(&r, from + 2 * tc->msl_ns + LINGER_NS);
      run_while(&r, from + 2 * tc->msl_ns + (uint64_t)(tc->data_retries + 1) * tc->rto_max_ns,
                stacks_empty);
    }
    fflush(stdout);
    status = report(&r, ok, deadline_hit);
  } else if (b == -2) {
    status = 2;
  }
  sim_tcptrace_free(r.trace);
  sim_checker_free(r.checker);
  rt_sim_free(r.rt);
  sim_free(r.sim);
  for (int h = 0; h < r.o.n_hosts; h++) free(r.seen[h]);
  return status;
}
