/* Per-connection congestion-control trace and its gnuplot graphs (see trace.h). */
#include "trace.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/tcp.h"

struct trace_conn {
  struct sim_node *node;
  struct utcp_stack *stack;
  utcp_conn_t conn;
  char *base; /* DIR/<host>-<lport>-<rport> */
  char *name; /* <host>-<lport>-<rport> */
  uint32_t laddr, raddr, iss;
  uint16_t lport, rport;
  FILE *cc, *seq;
  bool ended, have_last;
  struct utcp_tcp_info last;
  /* recovery episodes (derived) */
  bool in_rec;
  uint32_t recover; /* SND.MAX when the episode began */
  uint64_t episodes;
  /* time-sequence */
  bool sent_any;
  uint32_t max_end; /* highest sequence end sent, relative to the ISS */
  uint64_t data_bytes, data_segs, rtx_segs, acks, rows;
  uint32_t max_bytes; /* largest cwnd or flight seen: the cwnd graph's scale */
};

struct sim_tcptrace {
  struct sim *sim;
  char *dir;
  sim_observer_fn prev;
  void *prev_ctx;
  struct trace_conn *conns;
  size_t n, cap;
  bool write_error;
};

static bool seq_lt(uint32_t a, uint32_t b) { return (int32_t)(a - b) < 0; }

static uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static uint32_t rd32(const uint8_t *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Parses an Ethernet/IPv4/TCP frame; false for anything else. */
struct seg {
  uint32_t saddr, daddr, seq, ack;
  uint16_t sport, dport;
  uint8_t flags;
  uint32_t payload;
};

static bool parse_seg(const uint8_t *f, size_t len, struct seg *s) {
  if (len < 14 + 20 || rd16(f + 12) != 0x0800) return false;
  const uint8_t *ip = f + 14;
  size_t ihl = (size_t)(ip[0] & 0x0f) * 4;
  if ((ip[0] >> 4) != 4 || ihl < 20 || ip[9] != 6) return false;
  size_t tot = rd16(ip + 2);
  if (tot > len - 14 || tot < ihl + 20) return false;
  const uint8_t *tcp = ip + ihl;
  size_t doff = (size_t)(tcp[12] >> 4) * 4;
  if (doff < 20 || ihl + doff > tot) return false;
  s->saddr = rd32(ip + 12);
  s->daddr = rd32(ip + 16);
  s->sport = rd16(tcp);
  s->dport = rd16(tcp + 2);
  s->seq = rd32(tcp + 4);
  s->ack = rd32(tcp + 8);
  s->flags = tcp[13];
  s->payload = (uint32_t)(tot - ihl - doff);
  return true;
}

enum { TH_FIN = 0x01, TH_SYN = 0x02, TH_RST = 0x04, TH_ACK = 0x10 };

static double secs(uint64_t ns) { return (double)ns / 1e9; }

static void on_frame(struct sim_tcptrace *t, struct sim_node *node, int dir, const uint8_t *frame,
                     size_t len, uint64_t now) {
  struct seg s;
  if (!parse_seg(frame, len, &s)) return;
  for (size_t i = 0; i < t->n; i++) {
    struct trace_conn *c = &t->conns[i];
    if (c->node != node || c->seq == NULL) continue;
    if (dir == SIM_TX && s.saddr == c->laddr && s.sport == c->lport && s.daddr == c->raddr &&
        s.dport == c->rport) {
      uint32_t seglen = s.payload + !!(s.flags & TH_SYN) + !!(s.flags & TH_FIN);
      if (seglen == 0 || (s.flags & TH_RST)) return;
      uint32_t rel = s.seq - c->iss, end = rel + seglen;
      bool rtx = c->sent_any && seq_lt(rel, c->max_end);
      if (!c->sent_any || seq_lt(c->max_end, end)) c->max_end = end;
      c->sent_any = true;
      c->data_segs++;
      c->data_bytes += s.payload;
      if (rtx) c->rtx_segs++;
      fprintf(c->seq, "%.9f,data,%" PRIu32 ",%" PRIu32 ",%d\n", secs(now), rel, seglen, rtx);
      return;
    }
    if (dir == SIM_RX && s.daddr == c->laddr && s.dport == c->lport && s.saddr == c->raddr &&
        s.sport == c->rport && (s.flags & TH_ACK) && !(s.flags & TH_RST)) {
      c->acks++;
      fprintf(c->seq, "%.9f,ack,%" PRIu32 ",0,0\n", secs(now), s.ack - c->iss);
      return;
    }
  }
}

static void observe(void *ctx, struct sim_node *node, int dir, const uint8_t *frame, size_t len,
                    uint64_t now) {
  struct sim_tcptrace *t = ctx;
  if (t->prev) t->prev(t->prev_ctx, node, dir, frame, len, now);
  on_frame(t, node, dir, frame, len, now);
}

struct sim_tcptrace *sim_tcptrace_new(struct sim *sim, const char *dir) {
  if (mkdir(dir, 0777) < 0 && errno != EEXIST) return NULL;
  struct stat st;
  if (stat(dir, &st) < 0) return NULL;
  if (!S_ISDIR(st.st_mode)) {
    errno = ENOTDIR;
    return NULL;
  }
  struct sim_tcptrace *t = sim_xcalloc(1, sizeof *t);
  t->sim = sim;
  t->dir = sim_xstrdup(dir);
  t->prev = sim_get_observer(sim, &t->prev_ctx);
  sim_set_observer(sim, observe, t);
  return t;
}

static char *xasprintf(const char *fmt, const char *a, const char *b, unsigned x, unsigned y) {
  int n = snprintf(NULL, 0, fmt, a, b, x, y);
  char *s = sim_xmalloc((size_t)n + 1);
  snprintf(s, (size_t)n + 1, fmt, a, b, x, y);
  return s;
}

static FILE *open_out(const char *base, const char *suffix) {
  size_t n = strlen(base) + strlen(suffix) + 1;
  char *path = sim_xmalloc(n);
  snprintf(path, n, "%s%s", base, suffix);
  FILE *f = fopen(path, "w");
  if (f == NULL) fprintf(stderr, "utcp-sim: cannot write %s: %s\n", path, strerror(errno));
  free(path);
  return f;
}

int sim_tcptrace_watch(struct sim_tcptrace *t, struct sim_node *node, utcp_conn_t conn) {
  return sim_tcptrace_watch_stack(t, node, sim_stack_node_stack(node), conn);
}

int sim_tcptrace_watch_stack(struct sim_tcptrace *t, struct sim_node *node,
                             struct utcp_stack *stack, utcp_conn_t conn) {
  struct utcp_tcp_info info;
  if (utcp_tcp_info(stack, conn, &info) != 0) {
    fprintf(stderr, "utcp-sim: trace: %s: not a connection\n", sim_node_name(node));
    return -1;
  }
  if (t->n == t->cap) {
    t->cap = t->cap ? 2 * t->cap : 4;
    struct trace_conn *v = realloc(t->conns, t->cap * sizeof *v);
    if (v == NULL) abort();
    t->conns = v;
  }
  struct trace_conn *c = &t->conns[t->n];
  *c = (struct trace_conn){
      .node = node,
      .stack = stack,
      .conn = conn,
      .laddr = info.laddr,
      .raddr = info.raddr,
      .lport = info.lport,
      .rport = info.rport,
      .iss = info.iss,
  };
  c->name = xasprintf("%s%s-%u-%u", "", sim_node_name(node), info.lport, info.rport);
  c->base = xasprintf("%s/%s-%u-%u", t->dir, sim_node_name(node), info.lport, info.rport);
  c->cc = open_out(c->base, ".csv");
  c->seq = open_out(c->base, "-seq.csv");
  if (c->cc == NULL || c->seq == NULL) {
    if (c->cc) fclose(c->cc);
    if (c->seq) fclose(c->seq);
    free(c->name);
    free(c->base);
    return -1;
  }
  fprintf(c->cc, "time_s,state,cwnd,ssthresh,srtt_ms,rttvar_ms,rto_ms,flight,snd_una,snd_nxt,"
                 "snd_wnd,retrans,backoffs,in_recovery,episodes\n");
  fprintf(c->seq, "time_s,kind,seq,len,retrans\n");
  t->n++;
  sim_tcptrace_sample(t); /* the first row */
  return 0;
}

static bool info_changed(const struct utcp_tcp_info *a, const struct utcp_tcp_info *b) {
  return a->state != b->state || a->cwnd != b->cwnd || a->ssthresh != b->ssthresh ||
         a->srtt_ns != b->srtt_ns || a->rttvar_ns != b->rttvar_ns || a->rto_ns != b->rto_ns ||
         a->unacked != b->unacked || a->snd_una != b->snd_una || a->snd_nxt != b->snd_nxt ||
         a->snd_wnd != b->snd_wnd || a->total_retrans != b->total_retrans ||
         a->retransmits != b->retransmits;
}

static void sample_one(struct sim_tcptrace *t, struct trace_conn *c) {
  struct utcp_tcp_info i;
  if (utcp_tcp_info(c->stack, c->conn, &i) != 0 || i.lport != c->lport || i.rport != c->rport ||
      i.raddr != c->raddr) {
    c->ended = true; /* the application let go of the handle */
    return;
  }
  bool rec_changed = false;
  uint32_t snd_max = i.snd_una + i.unacked;
  if (c->have_last && i.total_retrans > c->last.total_retrans && !c->in_rec) {
    c->in_rec = true;
    c->recover = snd_max;
    c->episodes++;
    rec_changed = true;
  } else if (c->in_rec && !seq_lt(i.snd_una, c->recover) && i.retransmits == 0) {
    c->in_rec = false;
    rec_changed = true;
  }
  if (c->have_last && !rec_changed && !info_changed(&c->last, &i)) return;
  c->last = i;
  c->have_last = true;
  if (i.cwnd > c->max_bytes) c->max_bytes = i.cwnd;
  if (i.unacked > c->max_bytes) c->max_bytes = i.unacked;
  c->rows++;
  fprintf(c->cc,
          "%.9f,%s,%" PRIu32 ",%" PRIu32 ",%.3f,%.3f,%.3f,%" PRIu32 ",%" PRIu32 ",%" PRIu32
          ",%" PRIu32 ",%" PRIu64 ",%" PRIu32 ",%d,%" PRIu64 "\n",
          secs(sim_now(t->sim)), utcp_tcp_state_name(i.state), i.cwnd, i.ssthresh,
          (double)i.srtt_ns / 1e6, (double)i.rttvar_ns / 1e6, (double)i.rto_ns / 1e6, i.unacked,
          i.snd_una - c->iss, i.snd_nxt - c->iss, i.snd_wnd, i.total_retrans, i.retransmits,
          c->in_rec, c->episodes);
}

void sim_tcptrace_sample(struct sim_tcptrace *t) {
  for (size_t k = 0; k < t->n; k++)
    if (!t->conns[k].ended) sample_one(t, &t->conns[k]);
}

/* The gnuplot script for one connection: three graphs, each as PNG and SVG. Paths in it are
 * relative to DIR (gnuplot runs there). */
static void write_script(FILE *f, const struct trace_conn *c) {
  const char *n = c->name;
  uint32_t m = c->max_bytes ? c->max_bytes : 1;
  fprintf(f,
          "# Generated by utcp-sim --trace: graphs of %s. Run in this directory: gnuplot %s.gp\n"
          "set datafile separator ','\n"
          "cc = '%s.csv'\n"
          "sq = '%s-seq.csv'\n"
          "M = %u.0\n"
          "pngterm = strstrt(GPVAL_TERMINALS, 'pngcairo') > 0 ? 'pngcairo' : 'png'\n"
          "stats cc every ::1 using 7 nooutput\n"
          "rtomax = STATS_max > 0 ? STATS_max : 1000\n"
          "set grid\n"
          "set key top left opaque box\n"
          "set xlabel 'virtual time (s)'\n"
          "do for [fmt in 'png svg'] {\n"
          "  if (fmt eq 'png') {\n"
          "    eval('set terminal '.pngterm.' size 1200,700 font \"sans,10\"')\n"
          "  } else {\n"
          "    set terminal svg size 1200,700 dynamic font 'sans,10' background rgb 'white'\n"
          "  }\n"
          "  set output '%s-cwnd.'.fmt\n"
          "  set title '%s: congestion window (recovery episodes shaded)'\n"
          "  set ylabel 'bytes'\n"
          "  set yrange [0:M*1.15]\n"
          "  plot cc every ::1 using 1:($14*M*1.15) with fillsteps fs transparent solid 0.15 "
          "noborder lc rgb '#d62728' title 'in recovery', \\\n"
          "       cc every ::1 using 1:($4 <= M*4 ? $4 : NaN) with steps lw 1.5 lc rgb '#2ca02c' "
          "title 'ssthresh', \\\n"
          "       cc every ::1 using 1:8 with steps lw 1 lc rgb '#7f7f7f' title 'flight size', \\\n"
          "       cc every ::1 using 1:3 with steps lw 2 lc rgb '#1f77b4' title 'cwnd'\n"
          "  set output '%s-rtt.'.fmt\n"
          "  set title '%s: RTT estimate and retransmission timeout'\n"
          "  set ylabel 'ms (log scale)'\n"
          "  set yrange [*:rtomax*3]\n"
          "  set logscale y\n"
          "  plot cc every ::1 using 1:($5 > 0 ? $5 : NaN) with steps lw 2 lc rgb '#1f77b4' "
          "title 'srtt', \\\n"
          "       cc every ::1 using 1:($6 > 0 ? $6 : NaN) with steps lw 1 lc rgb '#ff7f0e' "
          "title 'rttvar', \\\n"
          "       cc every ::1 using 1:($7 > 0 ? $7 : NaN) with steps lw 2 lc rgb '#d62728' "
          "title 'rto'\n"
          "  unset logscale y\n"
          "  set output '%s-tseq.'.fmt\n"
          "  set title '%s: time-sequence graph'\n"
          "  set ylabel 'sequence number relative to ISS (MiB)'\n"
          "  set autoscale y\n"
          "  plot cc every ::1 using 1:(($9+$11)/1048576.0) with steps lw 1 lc rgb '#bbbbbb' "
          "title 'receive window edge (snd.una + snd.wnd)', \\\n"
          "       sq every ::1 using 1:(strcol(2) eq 'ack' ? $3/1048576.0 : NaN) with steps lw 1 "
          "lc rgb '#2ca02c' title 'ACK received', \\\n"
          "       sq every ::1 using 1:(strcol(2) eq 'data' && $5 == 0 ? $3/1048576.0 : NaN):(0):"
          "($4/1048576.0) with vectors nohead lw 2 lc rgb '#1f77b4' title 'segment sent', \\\n"
          "       sq every ::1 using 1:(strcol(2) eq 'data' && $5 == 1 ? $3/1048576.0 : NaN) "
          "with points pt 7 ps 0.8 lc rgb '#d62728' title 'retransmission'\n"
          "}\n",
          n, n, n, n, m, n, n, n, n, n, n);
}

/* Runs gnuplot on DIR/<script>; returns its exit status, 127 when it cannot be run, -1 when
 * fork fails. $UTCP_GNUPLOT overrides the program. */
static int run_gnuplot(const char *dir, const char *script) {
  const char *prog = getenv("UTCP_GNUPLOT");
  if (prog == NULL || *prog == 0) prog = "gnuplot";
  fflush(NULL);
  pid_t pid = fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    if (chdir(dir) < 0) _exit(126);
    execlp(prog, prog, script, (char *)NULL);
    _exit(127);
  }
  int st;
  while (waitpid(pid, &st, 0) < 0)
    if (errno != EINTR) return -1;
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

int sim_tcptrace_finish(struct sim_tcptrace *t, FILE *out) {
  int status = 0;
  sim_tcptrace_sample(t);
  for (size_t k = 0; k < t->n; k++) {
    struct trace_conn *c = &t->conns[k];
    if (c->cc == NULL) continue;
    if (fclose(c->cc) != 0) status = -1;
    if (fclose(c->seq) != 0) status = -1;
    c->cc = c->seq = NULL;
    fprintf(out,
            "trace: %s.csv (%" PRIu64 " rows, %" PRIu64 " recovery episodes), %s-seq.csv (%" PRIu64
            " segments, %" PRIu64 " retransmitted, %" PRIu64 " ACKs)\n",
            c->base, c->rows, c->episodes, c->base, c->data_segs, c->rtx_segs, c->acks);
    if (c->data_bytes == 0) {
      fprintf(out, "trace: %s sent no data: no plots\n", c->name);
      continue;
    }
    FILE *gp = open_out(c->base, ".gp");
    if (gp == NULL) {
      status = -1;
      continue;
    }
    write_script(gp, c);
    if (fclose(gp) != 0) status = -1;
    size_t sn = strlen(c->name) + 4;
    char *script = sim_xmalloc(sn);
    snprintf(script, sn, "%s.gp", c->name);
    int rc = run_gnuplot(t->dir, script);
    free(script);
    if (rc == 0) {
      fprintf(out,
              "trace: plots: %s-cwnd.png/.svg %s-rtt.png/.svg %s-tseq.png/.svg (script %s.gp)\n",
              c->base, c->base, c->base, c->base);
    } else if (rc == 127) {
      fprintf(out, "trace: plots: skipped, gnuplot could not be run (script %s.gp)\n", c->base);
    } else {
      fprintf(out, "trace: plots: FAILED, gnuplot exited with %d (script %s.gp)\n", rc, c->base);
      status = -1;
    }
  }
  return status;
}

void sim_tcptrace_free(struct sim_tcptrace *t) {
  if (t == NULL) return;
  void *ctx;
  if (sim_get_observer(t->sim, &ctx) == observe && ctx == t)
    sim_set_observer(t->sim, t->prev, t->prev_ctx);
  for (size_t k = 0; k < t->n; k++) {
    struct trace_conn *c = &t->conns[k];
    if (c->cc) fclose(c->cc);
    if (c->seq) fclose(c->seq);
    free(c->base);
    free(c->name);
  }
  free(t->conns);
  free(t->dir);
  free(t);
}
