/* utcp-bench: macro benchmarks W1-W5 (docs/performance.md). Each workload runs on utcp and
 * then on the Linux kernel in the same invocation, pinned to the same core, and the program
 * prints one table (median and spread over repetitions, the ratio, cycles per unit) and writes
 * the same figures as JSON. These are figures, never pass/fail timing checks. */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>

#include "macro.h"

#define MAX_REPS 32
#define MSG 64

enum { K_LISTEN = 1, K_CLIENT, K_SERVER };
#define TAG(kind, idx) (((uint64_t)(kind) << 56) | (uint64_t)(idx))
#define TAG_KIND(t) ((int)((t) >> 56))
#define TAG_IDX(t) ((uint32_t)((t)&0xffffffffu))

struct opts {
  double secs, warmup;
  int reps;
  const char *only;
  const char *json;
  uint32_t w4_conns;
  bool smoke;
};

/* One workload's measurement on one backend: a rate per repetition and cycles per unit. */
struct meas {
  double rate[MAX_REPS];
  double cycles[MAX_REPS];
  int n;
  uint64_t errors;
  bool ok;
  char note[160];
};

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static double median(const double *v, int n) {
  if (n == 0) return 0;
  double t[MAX_REPS];
  memcpy(t, v, (size_t)n * sizeof *t);
  qsort(t, (size_t)n, sizeof *t, cmp_double);
  return n % 2 ? t[n / 2] : (t[n / 2 - 1] + t[n / 2]) / 2;
}

static double vmin(const double *v, int n) {
  double m = n ? v[0] : 0;
  for (int i = 1; i < n; i++) m = v[i] < m ? v[i] : m;
  return m;
}

static double vmax(const double *v, int n) {
  double m = n ? v[0] : 0;
  for (int i = 1; i < n; i++) m = v[i] > m ? v[i] : m;
  return m;
}

static void pin_to(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  if (pthread_setaffinity_np(pthread_self(), sizeof set, &set) != 0)
    fprintf(stderr, "utcp-bench: could not pin to cpu %d\n", cpu);
}

/* ---- the event loop shared by the workloads ---- */

struct client {
  int fd;
  bool connected, sent;
  uint32_t got;
};

struct server {
  uint32_t pend;
  bool responded, open;
};

struct run {
  struct mb_be *be;
  int lfd;
  struct client *cl;
  uint32_t n_cl;
  struct server *srv; /* by server-side fd */
  uint32_t n_srv;
  bool running, short_conns, rst, bulk;
  uint64_t txns, conns_done, bytes, errors, accepted, connected;
  uint8_t buf[65536];
};

static void start_client(struct run *r, uint32_t i, uint16_t port, uint16_t lport) {
  struct client *c = &r->cl[i];
  memset(c, 0, sizeof *c);
  c->fd = r->be->socket(r->be, MB_CLIENT);
  if (c->fd < 0) {
    r->errors++;
    return;
  }
  if (r->be->connect(r->be, c->fd, port, lport) != 0 && errno != EINPROGRESS) {
    r->errors++;
    r->be->close(r->be, MB_CLIENT, c->fd);
    c->fd = -1;
    return;
  }
  r->be->ep_add(r->be, MB_CLIENT, c->fd, EPOLLOUT | EPOLLIN, TAG(K_CLIENT, i));
}

static void on_listen(struct run *r) {
  int s;
  while ((s = r->be->accept(r->be, r->lfd)) >= 0) {
    if ((uint32_t)s >= r->n_srv) {
      r->errors++;
      r->be->close(r->be, MB_SERVER, s);
      continue;
    }
    r->srv[s] = (struct server){.open = true};
    r->accepted++;
    r->be->ep_add(r->be, MB_SERVER, s, EPOLLIN, TAG(K_SERVER, (uint32_t)s));
  }
}

static void on_server(struct run *r, int s, uint32_t events) {
  struct server *v = &r->srv[s];
  if (!v->open) return;
  (void)events;
  for (;;) {
    ssize_t n = r->be->read(r->be, MB_SERVER, s, r->buf, sizeof r->buf);
    if (n > 0) {
      if (r->bulk) {
        r->bytes += (uint64_t)n;
        continue;
      }
      v->pend += (uint32_t)n;
      while (v->pend >= MSG && !(r->short_conns && v->responded)) {
        v->pend -= MSG;
        if (r->be->write(r->be, MB_SERVER, s, r->buf, MSG) != MSG) r->errors++;
        if (r->short_conns) v->responded = true;
      }
      if (r->short_conns && v->responded && !r->rst) {
        /* FIN close: the server closes after its response, as an HTTP/1.0 server does, and
         * keeps the TIME-WAIT; the client closes when it reads the end of the stream. */
        v->open = false;
        r->be->close(r->be, MB_SERVER, s);
        return;
      }
      continue;
    }
    if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) {
      if (n < 0 && !(r->rst && errno == ECONNRESET)) r->errors++;
      v->open = false;
      r->be->close(r->be, MB_SERVER, s);
    }
    return;
  }
}

static void client_send(struct run *r, struct client *c) {
  if (r->bulk) {
    for (;;) {
      ssize_t n = r->be->write(r->be, MB_CLIENT, c->fd, r->buf, sizeof r->buf);
      if (n <= 0) break;
    }
    return;
  }
  if (r->be->write(r->be, MB_CLIENT, c->fd, r->buf, MSG) != MSG) r->errors++;
  c->sent = true;
}

static void client_done(struct run *r, uint32_t i, uint16_t port) {
  struct client *c = &r->cl[i];
  if (r->rst) r->be->linger0(r->be, MB_CLIENT, c->fd);
  r->be->close(r->be, MB_CLIENT, c->fd);
  r->conns_done++;
  start_client(r, i, port, 0);
}

static void on_client(struct run *r, uint32_t i, uint32_t events, uint16_t port) {
  struct client *c = &r->cl[i];
  if (c->fd < 0) return;
  if (!c->connected && (events & (EPOLLOUT | EPOLLIN)) && !(events & EPOLLERR)) {
    c->connected = true;
    r->connected++;
    r->be->ep_mod(r->be, MB_CLIENT, c->fd, r->bulk ? EPOLLOUT : EPOLLIN, TAG(K_CLIENT, i));
    if (r->running) client_send(r, c);
  }
  if (r->bulk && (events & EPOLLOUT) && r->running) client_send(r, c);
  bool eof = false, failed = (events & (EPOLLERR | EPOLLHUP)) != 0;
  if (events & EPOLLIN) {
    for (;;) {
      ssize_t n = r->be->read(r->be, MB_CLIENT, c->fd, r->buf, sizeof r->buf);
      if (n == 0) {
        eof = true;
        break;
      }
      if (n < 0) {
        if (errno != EAGAIN && errno != EWOULDBLOCK) failed = true;
        break;
      }
      c->got += (uint32_t)n;
      while (c->got >= MSG) {
        c->got -= MSG;
        r->txns++;
        if (!r->short_conns) {
          if (r->running) client_send(r, c);
          continue;
        }
        c->sent = false; /* the response is in */
        /* RST close: the client aborts as soon as it has the response. FIN close: the
         * server closes after its response (as an HTTP/1.0 server does, keeping the
         * TIME-WAIT), and the client closes when it reads the end of the stream. */
        if (r->rst) {
          client_done(r, i, port);
          return;
        }
      }
    }
  }
  if (r->short_conns && eof && !c->sent && c->got == 0 && c->connected) {
    client_done(r, i, port);
    return;
  }
  if (failed || eof) {
    r->errors++;
    r->be->close(r->be, MB_CLIENT, c->fd);
    c->fd = -1;
    if (r->short_conns) start_client(r, i, port, 0);
  }
}

static void loop_once(struct run *r, uint16_t port) {
  struct mb_event ev[512];
  r->be->pump(r->be);
  int n = r->be->ep_wait(r->be, ev, 512);
  for (int k = 0; k < n; k++) {
    uint64_t t = ev[k].data;
    switch (TAG_KIND(t)) {
      case K_LISTEN: on_listen(r); break;
      case K_SERVER: on_server(r, (int)TAG_IDX(t), ev[k].events); break;
      case K_CLIENT: on_client(r, TAG_IDX(t), ev[k].events, port); break;
    }
  }
}

static bool run_for(struct run *r, uint16_t port, double secs, bool (*until)(const struct run *)) {
  uint64_t end = mb_tsc() + (uint64_t)(secs * mb_tsc_hz());
  while (mb_tsc() < end) {
    for (int i = 0; i < 64; i++) loop_once(r, port);
    if (until != NULL && until(r)) return true;
  }
  return until == NULL;
}

static bool all_up(const struct run *r) {
  return r->connected == r->n_cl && r->accepted == r->n_cl;
}

static int run_new(struct run *r, struct mb_be *be, uint32_t clients, uint16_t port) {
  memset(r, 0, offsetof(struct run, buf));
  r->be = be;
  r->n_cl = clients;
  r->n_srv = 1u << 16;
  r->cl = calloc(clients, sizeof *r->cl);
  r->srv = calloc(r->n_srv, sizeof *r->srv);
  if (r->cl == NULL || r->srv == NULL) return -1;
  r->lfd = be->socket(be, MB_SERVER);
  if (r->lfd < 0 || be->listen(be, r->lfd, port, 4096) != 0) {
    fprintf(stderr, "utcp-bench: %s: listen: %s\n", be->name, strerror(errno));
    return -1;
  }
  be->ep_add(be, MB_SERVER, r->lfd, EPOLLIN, TAG(K_LISTEN, 0));
  return 0;
}

static void run_close(struct run *r) {
  for (uint32_t i = 0; i < r->n_cl; i++)
    if (r->cl[i].fd >= 0 && (r->cl[i].connected || r->short_conns))
      r->be->close(r->be, MB_CLIENT, r->cl[i].fd);
  for (uint32_t s = 0; s < r->n_srv; s++)
    if (r->srv[s].open) r->be->close(r->be, MB_SERVER, (int)s);
  if (r->lfd >= 0) r->be->close(r->be, MB_SERVER, r->lfd);
  free(r->cl);
  free(r->srv);
}

/* Measures `reps` windows of `secs`: rate of *counter per second and TSC cycles per unit. */
static void measure(struct run *r, uint16_t port, const struct opts *o, const uint64_t *counter,
                    struct meas *m) {
  run_for(r, port, o->warmup, NULL);
  for (int k = 0; k < o->reps && k < MAX_REPS; k++) {
    uint64_t c0 = *counter, t0 = mb_tsc();
    run_for(r, port, o->secs, NULL);
    uint64_t dc = *counter - c0, dt = mb_tsc() - t0;
    m->rate[m->n] = (double)dc * mb_tsc_hz() / (double)dt;
    m->cycles[m->n] = dc ? (double)dt / (double)dc : 0;
    m->n++;
  }
  m->errors = r->errors;
  m->ok = m->n > 0 && m->errors == 0 && median(m->rate, m->n) > 0;
}

typedef int (*be_new_fn)(const struct mb_be_config *, struct mb_be **);

/* --backend utcp|linux: one side alone (for profiling). */
static bool g_no_linux, g_no_utcp;

static int be_utcp(const struct mb_be_config *cfg, struct mb_be **out) {
  if (g_no_utcp) return -1;
  return mb_be_utcp_new(cfg, out);
}

static int be_linux(const struct mb_be_config *cfg, struct mb_be **out) {
  if (g_no_linux) return -1;
  return mb_be_linux_new(cfg, out);
}

/* W1: persistent connections, 64 B request / 64 B response. */
static void w1(be_new_fn mk, uint32_t conns, uint32_t port_base, const struct opts *o,
               struct meas *m) {
  struct mb_be_config cfg = {.max_conns = conns + 16, .port_base = port_base};
  struct mb_be *be;
  struct run *r = malloc(sizeof *r);
  memset(m, 0, sizeof *m);
  if (mk(&cfg, &be) != 0) return;
  if (run_new(r, be, conns, 100) == 0) {
    for (uint32_t i = 0; i < conns; i++) start_client(r, i, 100, 0);
    if (!run_for(r, 100, 10, all_up)) {
      snprintf(m->note, sizeof m->note, "set-up incomplete: %llu/%u connected",
               (unsigned long long)r->connected, conns);
    } else {
      r->running = true;
      for (uint32_t i = 0; i < conns; i++) client_send(r, &r->cl[i]);
      measure(r, 100, o, &r->txns, m);
    }
  }
  run_close(r);
  be->free(be);
  free(r);
}

/* W2: short connections: connect, 64 B request, 64 B response, close (FIN or RST). */
static void w2(be_new_fn mk, uint32_t conc, bool rst, uint32_t port_base, const struct opts *o,
               struct meas *m) {
  /* utcp keeps TIME-WAIT for 2 MSL like any TCP; with 4096 connections per stack the table
   * fills within milliseconds at these rates and the oldest TIME-WAIT entries are recycled
   * (TcpExtTCPTimeWaitOverflow), as Linux does past tcp_max_tw_buckets. A table sized for the
   * 64 live connections and a few thousand TIME-WAIT entries keeps the four stacks of W5 W2
   * inside the shared cache; 16384 gave 1.85-1.93x scaling there (docs/performance.md). */
  struct mb_be_config cfg = {.max_conns = 1u << 12, .port_base = port_base, .chunks = 4096};
  struct mb_be *be;
  struct run *r = malloc(sizeof *r);
  memset(m, 0, sizeof *m);
  if (mk(&cfg, &be) != 0) return;
  if (run_new(r, be, conc, 100) == 0) {
    r->short_conns = true;
    r->rst = rst;
    r->running = true;
    for (uint32_t i = 0; i < conc; i++) start_client(r, i, 100, 0);
    measure(r, 100, o, &r->conns_done, m);
  }
  run_close(r);
  be->free(be);
  free(r);
}

/* W3: one flow, 64 KiB writes. Rate in bytes per second; cycles per byte. */
static void w3(be_new_fn mk, const struct opts *o, struct meas *m) {
  struct mb_be_config cfg = {.max_conns = 16, .bufsize = 4u << 20, .mtu = 9000,
                             .chunks = 16384};
  struct mb_be *be;
  struct run *r = malloc(sizeof *r);
  memset(m, 0, sizeof *m);
  if (mk(&cfg, &be) != 0) return;
  if (run_new(r, be, 1, 100) == 0) {
    r->bulk = true;
    start_client(r, 0, 100, 0);
    if (run_for(r, 100, 10, all_up)) {
      r->running = true;
      client_send(r, &r->cl[0]);
      measure(r, 100, o, &r->bytes, m);
    }
  }
  run_close(r);
  be->free(be);
  free(r);
}

/* ---- W4: a million idle connections in one stack (utcp only) ---- */

struct w4_result {
  uint32_t conns;
  double setup_rate;
  double bytes_per_conn, bytes_per_conn_buffers;
  struct meas pingpong;
  bool ok;
  char note[160];
};

static void w4(const struct opts *o, struct w4_result *res) {
  uint32_t n = o->w4_conns;
  memset(res, 0, sizeof *res);
  res->conns = n;
  struct mb_be_config cfg = {.max_conns = n + 64, .chunks = 65536, .bufsize = 16384};
  struct mb_be *be;
  struct run *r = malloc(sizeof *r);
  if (mb_be_utcp_new(&cfg, &be) != 0) {
    snprintf(res->note, sizeof res->note, "cannot create the stacks");
    free(r);
    return;
  }
  uint64_t base_mem = be->mem_bytes(be, MB_SERVER, NULL);
  memset(r, 0, offsetof(struct run, buf));
  r->be = be;
  r->n_cl = n;
  r->n_srv = n + 64;
  r->cl = calloc(n, sizeof *r->cl);
  r->srv = calloc(r->n_srv, sizeof *r->srv);
  int lfds[16];
  for (int p = 0; p < 16; p++) {
    lfds[p] = be->socket(be, MB_SERVER);
    be->listen(be, lfds[p], (uint16_t)(100 + p), 4096);
  }
  uint64_t t0 = mb_tsc();
  uint32_t next = 0;
  while (r->accepted < n && mb_tsc() - t0 < (uint64_t)(120 * mb_tsc_hz())) {
    /* Open in batches the listeners' queues can hold, then accept everything pending. */
    for (uint32_t k = 0; k < 1024 && next < n; k++, next++) {
      struct client *c = &r->cl[next];
      c->fd = be->socket(be, MB_CLIENT);
      if (c->fd < 0 || be->connect(be, c->fd, (uint16_t)(100 + next % 16),
                                   (uint16_t)(1024 + next / 16)) != 0) {
        if (errno != EINPROGRESS) r->errors++;
      }
    }
    be->pump(be);
    be->pump(be);
    for (int p = 0; p < 16; p++) {
      int s;
      while ((s = be->accept(be, lfds[p])) >= 0) {
        if ((uint32_t)s < r->n_srv) r->srv[s].open = true;
        r->accepted++;
      }
    }
  }
  uint64_t dt = mb_tsc() - t0;
  res->setup_rate = (double)r->accepted * mb_tsc_hz() / (double)dt;
  uint64_t pool = 0;
  uint64_t mem = be->mem_bytes(be, MB_SERVER, &pool) - base_mem;
  uint64_t total = be->mem_bytes(be, MB_SERVER, NULL);
  if (r->accepted == n) {
    /* What one idle connection costs: everything the server context allocated, divided by its
     * connections; the buffer pool separately (idle connections hold no chunk). */
    res->bytes_per_conn = (double)(total - pool) / n;
    res->bytes_per_conn_buffers = (double)total / n;
    (void)mem;
    /* 64 B ping-pong on 1% of them. */
    r->running = true;
    uint32_t active = 0;
    for (uint32_t i = 0; i < n; i += 100) {
      be->ep_add(be, MB_CLIENT, r->cl[i].fd, EPOLLIN, TAG(K_CLIENT, i));
      r->cl[i].connected = true;
      active++;
    }
    for (uint32_t s = 0; s < r->n_srv; s++)
      if (r->srv[s].open) be->ep_add(be, MB_SERVER, (int)s, EPOLLIN, TAG(K_SERVER, s));
    for (uint32_t i = 0; i < n; i += 100) client_send(r, &r->cl[i]);
    r->connected = n;
    measure(r, 100, o, &r->txns, &res->pingpong);
    res->ok = res->pingpong.ok;
    snprintf(res->note, sizeof res->note, "%u connections, ping-pong on %u", n, active);
  } else {
    snprintf(res->note, sizeof res->note, "only %llu of %u connections came up (errors %llu)",
             (unsigned long long)r->accepted, n, (unsigned long long)r->errors);
  }
  /* Tear-down: freeing the stacks releases everything at once. */
  r->lfd = -1;
  free(r->cl);
  free(r->srv);
  be->free(be);
  free(r);
}

/* ---- W5: two independent pairs on two cores ---- */

struct w5_arg {
  be_new_fn mk;
  int cpu, kind; /* kind 1: W1 64 conns, 2: W2 FIN */
  uint32_t port_base;
  const struct opts *o;
  struct meas m;
};

static void *w5_thread(void *p) {
  struct w5_arg *a = p;
  pin_to(a->cpu);
  if (a->kind == 1) {
    w1(a->mk, 64, a->port_base, a->o, &a->m);
  } else {
    w2(a->mk, 64, false, a->port_base, a->o, &a->m);
  }
  return NULL;
}

static void w5(be_new_fn mk, int kind, const struct opts *o, struct meas *sum) {
  struct w5_arg a[2];
  pthread_t th[2];
  for (int i = 0; i < 2; i++) {
    a[i] = (struct w5_arg){.mk = mk, .cpu = i, .kind = kind,
                           .port_base = 30000u + 1000u * (unsigned)i, .o = o};
    pthread_create(&th[i], NULL, w5_thread, &a[i]);
  }
  for (int i = 0; i < 2; i++) pthread_join(th[i], NULL);
  memset(sum, 0, sizeof *sum);
  int n = a[0].m.n < a[1].m.n ? a[0].m.n : a[1].m.n;
  for (int k = 0; k < n; k++) {
    sum->rate[k] = a[0].m.rate[k] + a[1].m.rate[k];
    sum->cycles[k] = (a[0].m.cycles[k] + a[1].m.cycles[k]) / 2;
  }
  sum->n = n;
  sum->errors = a[0].m.errors + a[1].m.errors;
  sum->ok = a[0].m.ok && a[1].m.ok;
  pin_to(0);
}

/* ---- reporting ---- */

struct row {
  const char *id, *what, *unit;
  double scale; /* rate divided by this for printing */
  struct meas u, l;
  bool has_linux;
  char extra[200];
};

static void print_rows(const struct row *rows, int n, FILE *out) {
  fprintf(out, "\n%-4s %-44s %-8s %16s %16s %8s %12s %12s\n", "id", "workload", "unit",
          "utcp (median)", "linux (median)", "ratio", "utcp cyc/u", "linux cyc/u");
  for (int i = 0; i < n; i++) {
    const struct row *w = &rows[i];
    double um = median(w->u.rate, w->u.n) / w->scale;
    double lm = w->has_linux ? median(w->l.rate, w->l.n) / w->scale : 0;
    char ratio[16] = "-";
    if (w->has_linux && lm > 0) snprintf(ratio, sizeof ratio, "%.2fx", um / lm);
    char lbuf[32] = "-", lcyc[32] = "-";
    if (w->has_linux) {
      snprintf(lbuf, sizeof lbuf, "%.4g%s", lm, w->l.ok ? "" : "!");
      snprintf(lcyc, sizeof lcyc, "%.0f", median(w->l.cycles, w->l.n));
    }
    char ubuf[32];
    snprintf(ubuf, sizeof ubuf, "%.4g%s", um, w->u.ok ? "" : "!");
    fprintf(out, "%-4s %-44s %-8s %16s %16s %8s %12.0f %12s\n", w->id, w->what, w->unit, ubuf,
            lbuf, ratio, median(w->u.cycles, w->u.n), lcyc);
    fprintf(out, "     spread: utcp %.4g..%.4g", vmin(w->u.rate, w->u.n) / w->scale,
            vmax(w->u.rate, w->u.n) / w->scale);
    if (w->has_linux)
      fprintf(out, ", linux %.4g..%.4g", vmin(w->l.rate, w->l.n) / w->scale,
              vmax(w->l.rate, w->l.n) / w->scale);
    fprintf(out, " (%d reps)%s%s%s%s\n", w->u.n, w->extra[0] ? "; " : "", w->extra,
            w->u.note[0] ? "; utcp: " : "", w->u.note);
    if (w->u.errors || (w->has_linux && w->l.errors))
      fprintf(out, "     errors: utcp %llu, linux %llu\n", (unsigned long long)w->u.errors,
              (unsigned long long)w->l.errors);
  }
  fprintf(out, "('!': the run had errors or did not complete; cyc/u: TSC cycles per unit, both "
               "endpoints together)\n");
}

static void json_meas(FILE *f, const char *name, const struct meas *m, double scale) {
  fprintf(f, "\"%s\": {\"median\": %.6g, \"min\": %.6g, \"max\": %.6g, \"cycles_per_unit\": %.6g, "
             "\"reps\": %d, \"errors\": %llu, \"ok\": %s, \"samples\": [",
          name, median(m->rate, m->n) / scale, vmin(m->rate, m->n) / scale,
          vmax(m->rate, m->n) / scale, median(m->cycles, m->n), m->n,
          (unsigned long long)m->errors, m->ok ? "true" : "false");
  for (int k = 0; k < m->n; k++) fprintf(f, "%s%.6g", k ? ", " : "", m->rate[k] / scale);
  fprintf(f, "]}");
}

static void write_json(const char *path, const struct row *rows, int n, const struct w4_result *w4r,
                       bool have_w4, const struct opts *o) {
  FILE *f = fopen(path, "w");
  if (f == NULL) {
    fprintf(stderr, "utcp-bench: cannot write %s: %s\n", path, strerror(errno));
    return;
  }
  fprintf(f, "{\n  \"tsc_hz\": %.0f, \"secs\": %g, \"reps\": %d, \"warmup\": %g,\n  \"rows\": [\n",
          mb_tsc_hz(), o->secs, o->reps, o->warmup);
  for (int i = 0; i < n; i++) {
    const struct row *w = &rows[i];
    fprintf(f, "    {\"id\": \"%s\", \"workload\": \"%s\", \"unit\": \"%s\", ", w->id, w->what,
            w->unit);
    json_meas(f, "utcp", &w->u, w->scale);
    if (w->has_linux) {
      fprintf(f, ", ");
      json_meas(f, "linux", &w->l, w->scale);
      double lm = median(w->l.rate, w->l.n);
      fprintf(f, ", \"ratio\": %.4g", lm > 0 ? median(w->u.rate, w->u.n) / lm : 0);
    }
    fprintf(f, "}%s\n", i + 1 < n || have_w4 ? "," : "");
  }
  if (have_w4) {
    fprintf(f, "    {\"id\": \"W4\", \"connections\": %u, \"setup_per_s\": %.6g, "
               "\"bytes_per_conn\": %.1f, \"bytes_per_conn_with_buffers\": %.1f, ",
            w4r->conns, w4r->setup_rate, w4r->bytes_per_conn, w4r->bytes_per_conn_buffers);
    json_meas(f, "pingpong", &w4r->pingpong, 1);
    fprintf(f, ", \"ok\": %s}\n", w4r->ok ? "true" : "false");
  }
  fprintf(f, "  ]\n}\n");
  fclose(f);
  printf("json: %s\n", path);
}

static bool wanted(const struct opts *o, const char *id) {
  if (o->only == NULL) return true;
  const char *p = strstr(o->only, id);
  return p != NULL;
}

/* True when `id` ends the --only list (so "W1:1" does not match "W1:16..."). */
static bool wanted_last(const struct opts *o, const char *id) {
  size_t n = strlen(o->only), k = strlen(id);
  return n >= k && strcmp(o->only + n - k, id) == 0;
}

static void usage(FILE *out) {
  fprintf(out,
          "usage: utcp-bench [--secs S] [--reps N] [--warmup S] [--only W1,W2,...] "
          "[--w4-conns N] [--backend utcp|linux] [--json FILE] [--smoke]\n"
          "  --only W1:1 or W1:64 runs one row of W1.\n"
          "  W1 request/response (1 and 64 persistent connections), W2 short connections (FIN "
          "and RST), W3 bulk,\n  W4 one million idle connections (utcp only), W5 W1/W2 on two "
          "cores. Each runs on utcp, then on Linux.\n"
          "  --smoke: a few-second run of everything (W4 with 20000 connections).\n");
}

int main(int argc, char **argv) {
  struct opts o = {.secs = 1.0, .warmup = 0.3, .reps = 5, .w4_conns = 1000000,
                   .json = "utcp-bench.json"};
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(a, "--smoke")) {
      o.smoke = true;
      o.secs = 0.1;
      o.warmup = 0.05;
      o.reps = 2;
      o.w4_conns = 20000;
    } else if (!strcmp(a, "--secs") && v) {
      o.secs = atof(v), i++;
    } else if (!strcmp(a, "--reps") && v) {
      o.reps = atoi(v), i++;
    } else if (!strcmp(a, "--warmup") && v) {
      o.warmup = atof(v), i++;
    } else if (!strcmp(a, "--only") && v) {
      o.only = v, i++;
    } else if (!strcmp(a, "--json") && v) {
      o.json = v, i++;
    } else if (!strcmp(a, "--backend") && v && (!strcmp(v, "utcp") || !strcmp(v, "linux"))) {
      g_no_linux = !strcmp(v, "utcp");
      g_no_utcp = !strcmp(v, "linux");
      i++;
    } else if (!strcmp(a, "--w4-conns") && v) {
      o.w4_conns = (uint32_t)strtoul(v, NULL, 10), i++;
    } else if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
      usage(stdout);
      return 0;
    } else {
      fprintf(stderr, "utcp-bench: unknown argument %s\n", a);
      usage(stderr);
      return 2;
    }
  }
  if (o.secs <= 0 || o.reps < 1 || o.reps > MAX_REPS || o.w4_conns == 0 || o.w4_conns > 4000000) {
    fprintf(stderr, "utcp-bench: bad --secs/--reps (1..%d)/--w4-conns (1..4000000)\n", MAX_REPS);
    return 2;
  }
  struct rlimit rl = {.rlim_cur = 65536, .rlim_max = 65536};
  setrlimit(RLIMIT_NOFILE, &rl);
  pin_to(0);
  printf("utcp-bench: TSC %.3f GHz, %g s x %d reps after %g s warm-up, pinned to cpu 0\n",
         mb_tsc_hz() / 1e9, o.secs, o.reps, o.warmup);

  struct row rows[16];
  int nr = 0;
  bool failed = false;
#define ROW(ID, WHAT, UNIT, SCALE) \
  (rows[nr] = (struct row){.id = ID, .what = WHAT, .unit = UNIT, .scale = SCALE, .has_linux = true}, &rows[nr++])
  /* --only W1:1 or W1:64 picks one of W1's rows (for profiling). */
  bool w1_rows = o.only != NULL && strstr(o.only, "W1:") != NULL;
  if (wanted(&o, "W1") && (!w1_rows || wanted(&o, "W1:1,") || wanted_last(&o, "W1:1"))) {
    struct row *w = ROW("W1", "request/response, 1 connection", "txn/s", 1);
    w1(be_utcp, 1, 20000, &o, &w->u);
    w1(be_linux, 1, 20000, &o, &w->l);
  }
  if (wanted(&o, "W1") && (!w1_rows || wanted(&o, "W1:64"))) {
    struct row *w = ROW("W1", "request/response, 64 connections", "txn/s", 1);
    w1(be_utcp, 64, 20000, &o, &w->u);
    w1(be_linux, 64, 20000, &o, &w->l);
  }
  if (wanted(&o, "W2")) {
    struct row *w = ROW("W2", "short connections, FIN close, 64 concurrent", "conn/s", 1);
    w2(be_utcp, 64, false, 21000, &o, &w->u);
    w2(be_linux, 64, false, 21000, &o, &w->l);
    w = ROW("W2", "short connections, RST close, 64 concurrent", "conn/s", 1);
    w2(be_utcp, 64, true, 21000, &o, &w->u);
    w2(be_linux, 64, true, 21000, &o, &w->l);
  }
  if (wanted(&o, "W3")) {
    struct row *w = ROW("W3", "bulk, one flow, 64 KiB writes", "Gbit/s", 1e9 / 8);
    w3(be_utcp, &o, &w->u);
    w3(be_linux, &o, &w->l);
    snprintf(w->extra, sizeof w->extra, "utcp MTU 9000 over its in-memory link, Linux loopback "
                                        "MTU 65536; cyc/u per byte x1e9/8");
  }
  struct w4_result w4r;
  bool have_w4 = false;
  if (wanted(&o, "W4")) {
    w4(&o, &w4r);
    have_w4 = true;
  }
  if (wanted(&o, "W5")) {
    struct meas one_u1 = {0}, one_l1 = {0}, one_u2 = {0}, one_l2 = {0};
    /* One-core references measured right here with the same code path. */
    w1(be_utcp, 64, 20000, &o, &one_u1);
    w1(be_linux, 64, 20000, &o, &one_l1);
    w2(be_utcp, 64, false, 21000, &o, &one_u2);
    w2(be_linux, 64, false, 21000, &o, &one_l2);
    struct row *w = ROW("W5", "W1 64 conns on two cores (sum)", "txn/s", 1);
    w5(be_utcp, 1, &o, &w->u);
    w5(be_linux, 1, &o, &w->l);
    snprintf(w->extra, sizeof w->extra, "scaling 1->2 cores: utcp %.2fx, linux %.2fx",
             median(w->u.rate, w->u.n) / median(one_u1.rate, one_u1.n),
             median(w->l.rate, w->l.n) / median(one_l1.rate, one_l1.n));
    w = ROW("W5", "W2 FIN on two cores (sum)", "conn/s", 1);
    w5(be_utcp, 2, &o, &w->u);
    w5(be_linux, 2, &o, &w->l);
    snprintf(w->extra, sizeof w->extra, "scaling 1->2 cores: utcp %.2fx, linux %.2fx",
             median(w->u.rate, w->u.n) / median(one_u2.rate, one_u2.n),
             median(w->l.rate, w->l.n) / median(one_l2.rate, one_l2.n));
  }
  print_rows(rows, nr, stdout);
  if (have_w4) {
    printf("W4   %u idle connections in one stack: set-up %.0f conn/s (both ends, one core); "
           "%.0f B/conn without buffers, %.0f B/conn with the buffer pool; "
           "ping-pong on 1%%: %.0f txn/s%s (%s)\n",
           w4r.conns, w4r.setup_rate, w4r.bytes_per_conn, w4r.bytes_per_conn_buffers,
           median(w4r.pingpong.rate, w4r.pingpong.n), w4r.ok ? "" : " !", w4r.note);
    failed |= !w4r.ok;
  }
  for (int i = 0; i < nr; i++)
    failed |= (!g_no_utcp && !rows[i].u.ok) || (!g_no_linux && !rows[i].l.ok);
  write_json(o.json, rows, nr, &w4r, have_w4, &o);
  return failed ? 1 : 0;
}
