/* The ping scenario: 2 or 3 hosts (10.0.0.N/24, MAC 02:00:00:00:00:0N) each linked to one
 * switch. Host 1 pings every other host, and host 2 pings host 3 when there are three, `count`
 * times each, `interval` apart; ARP resolves on the first ping. The links into the switch
 * carry the given loss, delay and other faults in both directions. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "scenario.h"
#include "sim.h"

#define MAX_HOSTS 3
#define MAX_PAIRS 3
#define PING_PAYLOAD 56
#define PING_ID_BASE 0x1000
#define START_NS (10 * SIM_NS_PER_MS)
#define TAIL_NS (5 * SIM_NS_PER_S) /* after the last ping: ARP retries and late replies */
#define EVENT_LIMIT 50000000ull

struct ping_opts {
  uint64_t seed;
  uint32_t hosts, count;
  uint64_t interval_ms, delay_ms, jitter_ms;
  struct sim_ratio loss, dup, reorder, corrupt;
  const char *pcap_dir;
};

struct pair {
  int src, dst; /* host indexes */
  uint16_t id;
  uint32_t sent, errors, received, dup_replies;
  uint64_t rtt_min_ns, rtt_max_ns, rtt_sum_ns;
  uint64_t *sent_at_ns; /* per seq; SIM_NEVER when not sent */
  bool *got;            /* per seq */
};

struct ping_run {
  struct ping_opts o;
  struct sim *sim;
  struct sim_node *host[MAX_HOSTS];
  struct pair pair[MAX_PAIRS];
  int npairs;
};

static uint32_t host_ip(int i) { return 0x0a000001u + (uint32_t)i; }

/* ---- command line ---- */

void sim_ping_usage(FILE *out) {
  fprintf(out,
          "usage: utcp-sim ping [options]\n"
          "  --seed N          seed for every random choice (default 1)\n"
          "  --hosts 2|3       hosts on the switch (default 2)\n"
          "  --count N         pings per pair (default 20)\n"
          "  --interval-ms N   between pings (default 1000)\n"
          "  --loss NUM/DEN    loss on each link, each direction (default 1/10)\n"
          "  --delay-ms N      propagation delay per link (default 1)\n"
          "  --jitter-ms N     extra uniform delay 0..N per frame (default 0)\n"
          "  --dup NUM/DEN     duplication (default 0)\n"
          "  --reorder NUM/DEN frames held back 1 ms (default 0)\n"
          "  --corrupt NUM/DEN one bit flipped (default 0)\n"
          "  --pcap DIR        write DIR/<link>.pcap (h1-sw.pcap ...); each file holds\n"
          "                    both directions as frames enter the link, before faults\n"
          "Host 1 pings hosts 2 and 3; host 2 pings host 3. Exits 0 when every pair got at\n"
          "least one reply, 1 otherwise, 2 on a usage error.\n");
}

static int usage_error(const char *fmt, const char *arg) {
  fprintf(stderr, "utcp-sim ping: ");
  fprintf(stderr, fmt, arg);
  fprintf(stderr, "\n");
  sim_ping_usage(stderr);
  return 2;
}

/* Returns -1 to go on, or an exit status. */
static int parse_args(int argc, char **argv, struct ping_opts *o) {
  *o = (struct ping_opts){
      .seed = 1,
      .hosts = 2,
      .count = 20,
      .interval_ms = 1000,
      .delay_ms = 1,
      .loss = {1, 10},
      .dup = {0, 1},
      .reorder = {0, 1},
      .corrupt = {0, 1},
  };
  for (int i = 1; i < argc; i += 2) { /* every option but --help takes one value */
    const char *opt = argv[i];
    if (strcmp(opt, "--help") == 0 || strcmp(opt, "-h") == 0) {
      sim_ping_usage(stdout);
      return 0;
    }
    const char *val = i + 1 < argc ? argv[i + 1] : NULL;
    uint64_t v = 0;
    bool ok;
    if (strcmp(opt, "--seed") == 0) {
      ok = sim_parse_u64(val, &o->seed);
    } else if (strcmp(opt, "--hosts") == 0) {
      ok = sim_parse_u64(val, &v) && (v == 2 || v == 3);
      o->hosts = (uint32_t)v;
    } else if (strcmp(opt, "--count") == 0) {
      ok = sim_parse_u64(val, &v) && v >= 1 && v <= 65535;
      o->count = (uint32_t)v;
    } else if (strcmp(opt, "--interval-ms") == 0) {
      ok = sim_parse_u64(val, &o->interval_ms) && o->interval_ms >= 1 &&
           o->interval_ms <= 3600000;
    } else if (strcmp(opt, "--delay-ms") == 0) {
      ok = sim_parse_u64(val, &o->delay_ms) && o->delay_ms <= 60000;
    } else if (strcmp(opt, "--jitter-ms") == 0) {
      ok = sim_parse_u64(val, &o->jitter_ms) && o->jitter_ms <= 60000;
    } else if (strcmp(opt, "--loss") == 0) {
      ok = sim_parse_ratio(val, &o->loss);
    } else if (strcmp(opt, "--dup") == 0) {
      ok = sim_parse_ratio(val, &o->dup);
    } else if (strcmp(opt, "--reorder") == 0) {
      ok = sim_parse_ratio(val, &o->reorder);
    } else if (strcmp(opt, "--corrupt") == 0) {
      ok = sim_parse_ratio(val, &o->corrupt);
    } else if (strcmp(opt, "--pcap") == 0) {
      ok = val != NULL && *val;
      o->pcap_dir = val;
    } else {
      return usage_error("unknown option %s", opt);
    }
    if (!ok) return usage_error("bad or missing value for %s", opt);
  }
  return -1;
}

static void print_replay(const struct ping_opts *o, FILE *out) {
  fprintf(out,
          "replay: utcp-sim ping --seed %" PRIu64 " --hosts %" PRIu32 " --count %" PRIu32
          " --interval-ms %" PRIu64 " --loss %" PRIu32 "/%" PRIu32 " --delay-ms %" PRIu64,
          o->seed, o->hosts, o->count, o->interval_ms, o->loss.num, o->loss.den, o->delay_ms);
  if (o->jitter_ms) fprintf(out, " --jitter-ms %" PRIu64, o->jitter_ms);
  if (o->dup.num) fprintf(out, " --dup %" PRIu32 "/%" PRIu32, o->dup.num, o->dup.den);
  if (o->reorder.num)
    fprintf(out, " --reorder %" PRIu32 "/%" PRIu32, o->reorder.num, o->reorder.den);
  if (o->corrupt.num)
    fprintf(out, " --corrupt %" PRIu32 "/%" PRIu32, o->corrupt.num, o->corrupt.den);
  fprintf(out, "\n");
}

/* ---- the run ---- */

static int host_index(const struct ping_run *r, const struct sim_node *node) {
  for (uint32_t i = 0; i < r->o.hosts; i++)
    if (r->host[i] == node) return (int)i;
  return -1;
}

static void on_event(struct sim_node *node, const struct utcp_event *ev, uint64_t now,
                     void *app) {
  struct ping_run *r = app;
  if (ev->type != UTCP_EV_ECHO_REPLY) return;
  int src = host_index(r, node);
  for (int p = 0; p < r->npairs; p++) {
    struct pair *pr = &r->pair[p];
    if (pr->src != src || pr->id != ev->id || host_ip(pr->dst) != ev->addr) continue;
    if (ev->seq >= r->o.count || pr->sent_at_ns[ev->seq] == SIM_NEVER) return;
    if (pr->got[ev->seq]) {
      pr->dup_replies++;
      return;
    }
    pr->got[ev->seq] = true;
    pr->received++;
    uint64_t rtt = now - pr->sent_at_ns[ev->seq];
    if (pr->received == 1 || rtt < pr->rtt_min_ns) pr->rtt_min_ns = rtt;
    if (rtt > pr->rtt_max_ns) pr->rtt_max_ns = rtt;
    pr->rtt_sum_ns += rtt;
    return;
  }
}

static void ping_event(struct sim *sim, struct sim_event *ev) {
  struct ping_run *r = ev->obj;
  struct pair *pr = &r->pair[ev->arg >> 32];
  uint16_t seq = (uint16_t)ev->arg;
  struct sim_node *node = r->host[pr->src];
  pr->sent++;
  int rc = utcp_stack_ping(sim_stack_node_stack(node), host_ip(pr->dst), pr->id, seq,
                           PING_PAYLOAD, sim_now(sim));
  if (rc < 0)
    pr->errors++;
  else
    pr->sent_at_ns[seq] = sim_now(sim);
  sim_stack_node_poke(node);
}

static int build(struct ping_run *r) {
  const struct ping_opts *o = &r->o;
  struct sim_switch *sw = sim_switch_new(r->sim, "sw", (int)o->hosts);
  struct sim_link_params lp;
  sim_link_params_default(&lp);
  lp.delay_ns = o->delay_ms * SIM_NS_PER_MS;
  lp.jitter_ns = o->jitter_ms * SIM_NS_PER_MS;
  lp.loss = o->loss;
  lp.dup = o->dup;
  lp.reorder = o->reorder;
  lp.corrupt = o->corrupt;

  for (uint32_t i = 0; i < o->hosts; i++) {
    struct utcp_stack_config cfg;
    utcp_stack_config_default(&cfg);
    cfg.mac = (struct utcp_mac){{0x02, 0, 0, 0, 0, (uint8_t)(i + 1)}};
    cfg.ip = host_ip((int)i);
    cfg.netmask = 0xffffff00u;
    char name[16], link_name[32];
    snprintf(name, sizeof name, "h%" PRIu32, i + 1);
    int rc = sim_stack_node_new(r->sim, name, &cfg, on_event, r, &r->host[i]);
    if (rc < 0) {
      fprintf(stderr, "utcp-sim ping: creating host %s: %s\n", name, utcp_strerror(rc));
      return -1;
    }
    snprintf(link_name, sizeof link_name, "%s-sw", name);
    sim_link_new(r->sim, link_name, &lp, NULL, sim_node_port(r->host[i]),
                 sim_switch_port(sw, (int)i));
  }
  if (o->pcap_dir && sim_pcap_all(r->sim, o->pcap_dir) < 0) {
    fprintf(stderr, "utcp-sim ping: cannot write pcap files in %s: %s\n", o->pcap_dir,
            strerror(errno));
    return -1;
  }

  static const int pairs3[MAX_PAIRS][2] = {{0, 1}, {0, 2}, {1, 2}};
  r->npairs = o->hosts == 3 ? 3 : 1;
  for (int p = 0; p < r->npairs; p++) {
    struct pair *pr = &r->pair[p];
    pr->src = pairs3[p][0];
    pr->dst = pairs3[p][1];
    pr->id = (uint16_t)(PING_ID_BASE + p);
    pr->sent_at_ns = sim_xmalloc(o->count * sizeof *pr->sent_at_ns);
    pr->got = sim_xcalloc(o->count, sizeof *pr->got);
    for (uint32_t s = 0; s < o->count; s++) {
      pr->sent_at_ns[s] = SIM_NEVER;
      sim_schedule(r->sim, START_NS + s * o->interval_ms * SIM_NS_PER_MS, ping_event, r,
                   ((uint64_t)p << 32) | s);
    }
  }
  return 0;
}

static void report(const struct ping_run *r, FILE *out) {
  for (uint32_t i = 0; i < r->o.hosts; i++) {
    char ip[16];
    fprintf(out, "host %s %s 02:00:00:00:00:%02x\n", sim_node_name(r->host[i]),
            utcp_ipv4_fmt(host_ip((int)i), ip), (unsigned)(i + 1));
    sim_stack_node_print_counters(r->host[i], out);
  }
  fprintf(out, "links (a = host, b = switch):\n");
  struct sim_link *link;
  for (size_t i = 0; (link = sim_link_at(r->sim, i)) != NULL; i++) sim_link_print(link, out);
  fprintf(out, "switches:\n");
  struct sim_switch *sw;
  for (size_t i = 0; (sw = sim_switch_at(r->sim, i)) != NULL; i++) sim_switch_print(sw, out);
  for (int p = 0; p < r->npairs; p++) {
    const struct pair *pr = &r->pair[p];
    double loss = pr->sent ? 100.0 * (double)(pr->sent - pr->received) / (double)pr->sent : 0;
    fprintf(out, "ping %s -> %s: sent %" PRIu32 " received %" PRIu32 " loss %.1f%%",
            sim_node_name(r->host[pr->src]), sim_node_name(r->host[pr->dst]), pr->sent,
            pr->received, loss);
    if (pr->errors) fprintf(out, " send-errors %" PRIu32, pr->errors);
    if (pr->dup_replies) fprintf(out, " duplicate-replies %" PRIu32, pr->dup_replies);
    if (pr->received)
      fprintf(out, " rtt min/avg/max %.3f/%.3f/%.3f ms", (double)pr->rtt_min_ns / 1e6,
              (double)pr->rtt_sum_ns / (double)pr->received / 1e6,
              (double)pr->rtt_max_ns / 1e6);
    fprintf(out, "\n");
  }
  fprintf(out, "events: %" PRIu64 ", virtual time %.3f s\n", sim_events_run(r->sim),
          (double)sim_now(r->sim) / 1e9);
  fprintf(out, "trace-hash: %016" PRIx64 "\n", sim_trace_hash(r->sim));
}

int sim_ping_main(int argc, char **argv) {
  struct ping_run r = {0};
  int rc = parse_args(argc, argv, &r.o);
  if (rc >= 0) return rc;

  printf("utcp-sim ping: seed %" PRIu64 ", %" PRIu32 " hosts, %" PRIu32
         " pings per pair every %" PRIu64 " ms, loss %" PRIu32 "/%" PRIu32
         ", delay %" PRIu64 " ms\n",
         r.o.seed, r.o.hosts, r.o.count, r.o.interval_ms, r.o.loss.num, r.o.loss.den,
         r.o.delay_ms);
  r.sim = sim_new(r.o.seed);
  sim_set_event_limit(r.sim, EVENT_LIMIT);
  int status = 0;
  if (build(&r) < 0) {
    status = 1;
  } else {
    uint64_t end = START_NS + (uint64_t)(r.o.count - 1) * r.o.interval_ms * SIM_NS_PER_MS +
                   TAIL_NS + 4 * (r.o.delay_ms + r.o.jitter_ms) * SIM_NS_PER_MS;
    if (sim_run_until(r.sim, end) < 0) {
      fprintf(stdout, "FAIL: event limit (%llu) reached: a livelock?\n", EVENT_LIMIT);
      status = 1;
    }
    report(&r, stdout);
    for (int p = 0; p < r.npairs; p++) {
      if (r.pair[p].received == 0) {
        printf("FAIL: %s -> %s got no reply\n", sim_node_name(r.host[r.pair[p].src]),
               sim_node_name(r.host[r.pair[p].dst]));
        status = 1;
      }
    }
  }
  print_replay(&r.o, stdout);
  for (int p = 0; p < r.npairs; p++) {
    free(r.pair[p].sent_at_ns);
    free(r.pair[p].got);
  }
  sim_free(r.sim);
  return status;
}
