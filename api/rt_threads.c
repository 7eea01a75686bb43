/* utcp_rt_threads: include/utcp/runtime.h on real threads and real time (docs/api.md).
 *
 * Paired threads (UTCP_RT_PAIRED, as mTCP): utcp_create_context(core) starts the core's stack
 * thread, which owns the real context (stack, descriptor table, epoll), and returns a proxy
 * context to the calling application thread. Every utcp_* call on the proxy becomes a request
 * on the core's request ring (app -> stack); the stack thread runs it against the real context
 * and puts the result on the completion ring (stack -> app), which also carries event notices.
 * A call that would block runs non-blocking on the stack thread (its platform `wait` hook
 * answers RT_EWAIT at once); the application thread then sleeps until the stack thread
 * reports events for the context (or the deadline passes) and asks again.
 *
 * Run-to-completion (UTCP_RT_RTC): utcp_create_context returns the real context; its `wait`
 * hook runs the stack loop (link RX, timers, TX flush) on the application's thread until the
 * context has events or the deadline passes.
 *
 * Links: every pair of cores has two SPSC rings of frames (one per direction), so core i's
 * stack is a host on one in-memory Ethernet segment with every other core (docs/api.md). The
 * link is the only I/O, behind struct rt_port_ops, where a NIC (DPDK) port would go.
 *
 * Sleeping: a thread with nothing to do spins spin_iters times, then sleeps on a futex word
 * (its "bell") with a timeout; producers ring the bell after publishing. */
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "api_impl.h"
#include "spsc.h"
#include "utcp/runtime.h"

/* Not an errno: the stack thread's wait hook asks the application thread to wait. */
#define RT_EWAIT 100000
#define RX_BURST 32
#define REQ_BURST 16
#define RT_IOV_MAX 1024 /* Linux's UIO_MAXIOV */

struct bell {
  alignas(SPSC_CACHE_LINE) _Atomic uint32_t seq;
  _Atomic uint32_t sleeping;
};

struct rt_req {
  struct api_call call;
};

enum { MSG_RESP, MSG_EVENT };

struct rt_msg {
  int kind;
  int err;
  ssize_t ret;
  bool waited;
  uint64_t ev_seq; /* the context's event count when the request ran */
};

struct rt_frame {
  uint32_t len;
  uint8_t data[];
};

struct rt;

struct rt_core {
  struct rt *rt;
  int id;
  bool created; /* claimed by utcp_create_context (g_lock) */
  bool live;    /* real/proxy may be read by other threads (g_lock) */
  struct utcp_mac mac;
  struct utcp_ctx *real;  /* the context with the stack */
  struct utcp_ctx *proxy; /* paired: what the application holds */
  pthread_t thread;
  bool thread_started;
  _Atomic bool stop; /* the stack thread ends (utcp_destroy_context) */
  _Atomic bool intr; /* blocking calls fail with EINTR (utcp_rt_interrupt) */
  struct spsc_ring req;  /* app -> stack */
  struct spsc_ring comp; /* stack -> app: results and event notices */
  struct bell stack_bell; /* rung by the application and by link peers */
  struct bell app_bell;   /* rung by the stack thread */
  _Atomic uint64_t ev_seq;
  _Atomic bool ev_queued;
  /* the request running now (stack thread) */
  bool waited;
  struct iovec *iov; /* application thread: what is left of a blocking writev */
  /* TX: frames staged into the link rings, published by flush */
  uint8_t *stage;
  uint32_t *pending; /* per destination core */
  bool *dirty;
  /* counters, read after the threads stop */
  uint64_t tx_frames, tx_drops, rx_frames;
};

struct rt {
  struct utcp_rt_config cfg;
  int n;
  struct rt_core *cores;
  struct spsc_ring *links; /* links[i * n + j]: frames from core i to core j */
  uint32_t frame_room;     /* bytes of frame a slot holds */
  const struct rt_port_ops *port;
};

static struct rt *g_rt;
static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;

/* ---- time and sleeping ---- */

static uint64_t clock_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t hook_now(void *arg) {
  (void)arg;
  return clock_ns();
}

static void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#else
  sched_yield();
#endif
}

static void bell_ring(struct bell *b) {
  atomic_fetch_add(&b->seq, 1);
  if (atomic_load(&b->sleeping)) syscall(SYS_futex, &b->seq, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
}

/* Sleeps until the bell rings or until `until` (clock_ns; at most 100 ms from now), unless
 * `ready` finds work after the bell's value was taken (no lost wake-up: see bell_ring). */
static void bell_sleep(struct bell *b, uint64_t until, bool (*ready)(struct rt_core *),
                       struct rt_core *c) {
  atomic_store(&b->sleeping, 1);
  uint32_t seq = atomic_load(&b->seq);
  if (!ready(c)) {
    uint64_t now = clock_ns();
    uint64_t ns = until > now ? until - now : 0;
    if (ns > 100000000ull) ns = 100000000ull;
    if (ns > 0) {
      struct timespec ts = {(time_t)(ns / 1000000000ull), (long)(ns % 1000000000ull)};
      syscall(SYS_futex, &b->seq, FUTEX_WAIT_PRIVATE, seq, &ts, NULL, 0);
    }
  }
  atomic_store(&b->sleeping, 0);
}

/* ---- the in-memory link ---- */

static struct spsc_ring *link_ring(struct rt *rt, int from, int to) {
  return &rt->links[from * rt->n + to];
}

static uint8_t *sink_alloc(void *arg, size_t cap) {
  struct rt_core *c = arg;
  return cap <= c->rt->frame_room ? c->stage : NULL;
}

/* Stages a copy for core `to` (published by flush). */
static void stage_to(struct rt_core *c, int to, const uint8_t *buf, size_t len) {
  struct spsc_ring *r = link_ring(c->rt, c->id, to);
  uint32_t p = c->pending[to];
  if (spsc_prod_free(r, p + 1) < p + 1) {
    c->tx_drops++; /* the peer is not keeping up: a lost frame, as on a full NIC queue */
    return;
  }
  struct rt_frame *f = spsc_slot(r, atomic_load_explicit(&r->head, memory_order_relaxed) + p);
  f->len = (uint32_t)len;
  memcpy(f->data, buf, len);
  c->pending[to] = p + 1;
  c->dirty[to] = true;
  c->tx_frames++;
}

static void sink_flush(void *arg) {
  struct rt_core *c = arg;
  struct rt *rt = c->rt;
  for (int j = 0; j < rt->n; j++) {
    if (!c->dirty[j]) continue;
    spsc_prod_commit(link_ring(rt, c->id, j), c->pending[j]);
    c->pending[j] = 0;
    c->dirty[j] = false;
    bell_ring(&rt->cores[j].stack_bell);
  }
}

static void sink_commit(void *arg, uint8_t *buf, size_t len) {
  struct rt_core *c = arg;
  struct rt *rt = c->rt;
  if (len < 14 || buf != c->stage) return;
  bool group = (buf[0] & 1) != 0;
  for (int j = 0; j < rt->n; j++) {
    if (j == c->id) continue;
    if (group || memcmp(buf, rt->cores[j].mac.b, 6) == 0) stage_to(c, j, buf, len);
  }
  /* Publish in bursts even when the stack flushes late. */
  for (int j = 0; j < rt->n; j++)
    if (c->pending[j] >= RX_BURST) {
      sink_flush(c);
      break;
    }
}

/* Feeds what the peers sent; returns the number of frames. */
static int rx_links(struct rt_core *c) {
  struct rt *rt = c->rt;
  int total = 0;
  for (int i = 0; i < rt->n; i++) {
    if (i == c->id) continue;
    struct spsc_ring *r = link_ring(rt, i, c->id);
    for (;;) {
      void *p;
      uint32_t n = spsc_cons_peek(r, RX_BURST, &p);
      if (n == 0) break;
      uint64_t now = clock_ns();
      for (uint32_t k = 0; k < n; k++) {
        const struct rt_frame *f = (const void *)((const uint8_t *)p + (size_t)k * r->esize);
        utcp_ctx_input(c->real, f->data, f->len, now);
      }
      spsc_cons_release(r, n);
      total += (int)n;
      c->rx_frames += n;
    }
  }
  return total;
}

static bool links_ready(struct rt_core *c) {
  for (int i = 0; i < c->rt->n; i++)
    if (i != c->id && !spsc_empty(link_ring(c->rt, i, c->id))) return true;
  return false;
}

/* Drops what is queued for core c (its context is going away). */
static void links_drain(struct rt_core *c) {
  for (int i = 0; i < c->rt->n; i++) {
    if (i == c->id) continue;
    struct spsc_ring *r = link_ring(c->rt, i, c->id);
    void *p;
    uint32_t n;
    while ((n = spsc_cons_peek(r, RX_BURST, &p)) > 0) spsc_cons_release(r, n);
  }
  memset(c->pending, 0, sizeof *c->pending * (size_t)c->rt->n);
  memset(c->dirty, 0, sizeof *c->dirty * (size_t)c->rt->n);
}

/* The port a core's stack receives and sends through: the only I/O of this runtime. The
 * in-memory link implements it; a DPDK port would too (rx_burst: rte_eth_rx_burst and
 * utcp_ctx_input; the sink: mbufs and rte_eth_tx_burst on flush; rx_pending: a queue count). */
struct rt_port_ops {
  int (*rx_burst)(struct rt_core *c);    /* feeds what arrived to c->real; frames */
  bool (*rx_pending)(struct rt_core *c); /* something to receive (checked before sleeping) */
  struct utcp_tx_sink (*sink)(struct rt_core *c);
  void (*drain)(struct rt_core *c); /* drops what is queued for c, in and out */
};

static struct utcp_tx_sink links_sink(struct rt_core *c) {
  return (struct utcp_tx_sink){c, sink_alloc, sink_commit, sink_flush};
}

static const struct rt_port_ops memlink = {rx_links, links_ready, links_sink, links_drain};

static bool port_ready(struct rt_core *c) {
  return c->rt->port->rx_pending(c) || atomic_load(&c->intr);
}

/* ---- run-to-completion ---- */

static int hook_wait_rtc(void *arg, struct utcp_ctx *ctx, uint64_t deadline) {
  struct rt_core *c = arg;
  uint32_t idle = 0;
  for (;;) {
    int work = c->rt->port->rx_burst(c);
    int ev = utcp_ctx_poll(ctx, clock_ns());
    if (ev > 0) return 0;
    uint64_t now = clock_ns();
    if (now >= deadline) return 0;
    if (atomic_load(&c->intr)) return EINTR;
    if (work > 0) {
      idle = 0;
      continue;
    }
    if (++idle < c->rt->cfg.spin_iters) {
      cpu_relax();
      continue;
    }
    uint64_t until = utcp_ctx_next_deadline(ctx);
    if (deadline < until) until = deadline;
    bell_sleep(&c->stack_bell, until, port_ready, c);
    idle = 0;
  }
}

/* ---- paired threads: the stack side ---- */

static int hook_wait_paired(void *arg, struct utcp_ctx *ctx, uint64_t deadline) {
  struct rt_core *c = arg;
  (void)ctx;
  (void)deadline;
  c->waited = true;
  return RT_EWAIT;
}

static ssize_t run_call(struct utcp_ctx *x, const struct api_call *k) {
  switch (k->op) {
    case API_OP_SOCKET: return utcp_socket(x, k->a, k->b, k->c);
    case API_OP_BIND: return utcp_bind(x, k->fd, k->in, k->inlen);
    case API_OP_LISTEN: return utcp_listen(x, k->fd, k->a);
    case API_OP_ACCEPT4: return utcp_accept4(x, k->fd, k->out, k->lenp, k->a);
    case API_OP_CONNECT: return utcp_connect(x, k->fd, k->in, k->inlen);
    case API_OP_RECV: return utcp_recv(x, k->fd, k->out, k->len, k->a);
    case API_OP_READ: return utcp_read(x, k->fd, k->out, k->len);
    case API_OP_READV: return utcp_readv(x, k->fd, k->iov, k->a);
    case API_OP_SEND: return utcp_send(x, k->fd, k->in, k->len, k->a);
    case API_OP_WRITE: return utcp_write(x, k->fd, k->in, k->len);
    case API_OP_WRITEV: return utcp_writev(x, k->fd, k->iov, k->a);
    case API_OP_SHUTDOWN: return utcp_shutdown(x, k->fd, k->a);
    case API_OP_CLOSE: return utcp_close(x, k->fd);
    case API_OP_ABORT: return utcp_abort(x, k->fd);
    case API_OP_GETSOCKNAME: return utcp_getsockname(x, k->fd, k->out, k->lenp);
    case API_OP_GETPEERNAME: return utcp_getpeername(x, k->fd, k->out, k->lenp);
    case API_OP_SETSOCKOPT: return utcp_setsockopt(x, k->fd, k->a, k->b, k->in, k->inlen);
    case API_OP_GETSOCKOPT: return utcp_getsockopt(x, k->fd, k->a, k->b, k->out, k->lenp);
    case API_OP_IOCTL: return utcp_ioctl(x, k->fd, k->req, k->out);
    case API_OP_FCNTL: return utcp_fcntl(x, k->fd, k->a, k->b);
    case API_OP_EPOLL_CREATE: return utcp_epoll_create(x, k->a);
    case API_OP_EPOLL_CREATE1: return utcp_epoll_create1(x, k->a);
    case API_OP_EPOLL_CTL: return utcp_epoll_ctl(x, k->fd, k->a, k->b, k->out);
    case API_OP_EPOLL_WAIT: return utcp_epoll_wait(x, k->fd, k->out, k->a, k->b);
    case API_OP_FDS_IN_USE: return utcp_ctx_fds_in_use(x);
    case API_OP_ITEMS_IN_USE: return utcp_ctx_epoll_items_in_use(x);
    default: errno = EINVAL; return -1;
  }
}

static void post(struct rt_core *c, const struct rt_msg *m) {
  /* One request in flight and at most one event notice queued: there is always room. */
  while (!spsc_enqueue(&c->comp, m)) cpu_relax();
}

static void post_event(struct rt_core *c) {
  atomic_fetch_add(&c->ev_seq, 1);
  if (!atomic_exchange(&c->ev_queued, true)) {
    struct rt_msg m = {.kind = MSG_EVENT};
    post(c, &m);
  }
  bell_ring(&c->app_bell);
}

static int serve_requests(struct rt_core *c) {
  struct rt_req reqs[REQ_BURST];
  uint32_t n = spsc_dequeue_burst(&c->req, reqs, REQ_BURST);
  for (uint32_t i = 0; i < n; i++) {
    c->waited = false;
    errno = 0;
    struct rt_msg m = {.kind = MSG_RESP};
    m.ret = run_call(c->real, &reqs[i].call);
    m.err = m.ret < 0 ? errno : 0;
    m.waited = c->waited;
    m.ev_seq = atomic_load(&c->ev_seq);
    post(c, &m);
  }
  if (n > 0) bell_ring(&c->app_bell);
  return (int)n;
}

static bool stack_ready(struct rt_core *c) {
  return !spsc_empty(&c->req) || c->rt->port->rx_pending(c) || atomic_load(&c->stop);
}

static void *stack_main(void *arg) {
  struct rt_core *c = arg;
  uint32_t idle = 0;
  while (!atomic_load(&c->stop)) {
    int work = c->rt->port->rx_burst(c);
    work += serve_requests(c);
    int ev = utcp_ctx_poll(c->real, clock_ns());
    if (ev > 0) post_event(c);
    if (work > 0 || ev > 0) {
      idle = 0;
      continue;
    }
    if (++idle < c->rt->cfg.spin_iters) {
      cpu_relax();
      continue;
    }
    bell_sleep(&c->stack_bell, utcp_ctx_next_deadline(c->real), stack_ready, c);
    idle = 0;
  }
  return NULL;
}

/* ---- paired threads: the application side ---- */

static bool comp_ready(struct rt_core *c) { return !spsc_empty(&c->comp); }

static bool event_ready(struct rt_core *c) {
  return !spsc_empty(&c->comp) || atomic_load(&c->intr);
}

/* Takes what the completion ring holds; true when it held the response. */
static bool take_comp(struct rt_core *c, struct rt_msg *resp) {
  bool got = false;
  struct rt_msg m;
  while (spsc_dequeue(&c->comp, &m)) {
    if (m.kind == MSG_EVENT) {
      atomic_store(&c->ev_queued, false);
    } else {
      *resp = m;
      got = true;
    }
  }
  return got;
}

/* Sends one request and waits for its result. */
static void exchange(struct rt_core *c, const struct api_call *call, struct rt_msg *resp) {
  struct rt_req r = {*call};
  while (!spsc_enqueue(&c->req, &r)) cpu_relax();
  bell_ring(&c->stack_bell);
  uint32_t idle = 0;
  while (!take_comp(c, resp)) {
    if (++idle < c->rt->cfg.spin_iters) {
      cpu_relax();
      continue;
    }
    bell_sleep(&c->app_bell, UINT64_MAX, comp_ready, c);
    idle = 0;
  }
}

/* Waits until the context has had events since `seen` or until `deadline`. */
static void wait_events(struct rt_core *c, uint64_t seen, uint64_t deadline) {
  uint32_t idle = 0;
  struct rt_msg unused = {0};
  for (;;) {
    take_comp(c, &unused);
    if (atomic_load(&c->ev_seq) != seen || atomic_load(&c->intr)) return;
    if (clock_ns() >= deadline) return;
    if (++idle < c->rt->cfg.spin_iters) {
      cpu_relax();
      continue;
    }
    bell_sleep(&c->app_bell, deadline, event_ready, c);
    idle = 0;
  }
}

static bool is_stream_io(int op) {
  return op == API_OP_SEND || op == API_OP_WRITE || op == API_OP_WRITEV || op == API_OP_RECV;
}

/* Drops `n` bytes from the front of an iovec copy. */
static void iov_advance(struct iovec *v, int *cnt, size_t n) {
  int i = 0;
  while (i < *cnt && n >= v[i].iov_len) n -= v[i++].iov_len;
  memmove(v, v + i, sizeof *v * (size_t)(*cnt - i));
  *cnt -= i;
  if (*cnt > 0) {
    v[0].iov_base = (uint8_t *)v[0].iov_base + n;
    v[0].iov_len -= n;
  }
}

static ssize_t remote_call(void *arg, struct api_call *call) {
  struct rt_core *c = arg;
  struct api_call k = *call;
  uint64_t deadline = UINT64_MAX;
  if (k.op == API_OP_EPOLL_WAIT && k.b > 0) deadline = clock_ns() + (uint64_t)k.b * 1000000ull;
  bool own_iov = false;
  size_t done = 0; /* bytes moved by earlier rounds of a blocking send or MSG_WAITALL recv */
  ssize_t ret;
  for (;;) {
    struct rt_msg r = {0}; /* filled by exchange; zeroed so no path reads garbage */
    exchange(c, &k, &r);
    if (!r.waited || (r.ret < 0 && r.err != RT_EWAIT) ||
        (r.ret >= 0 && !is_stream_io(k.op))) {
      if (r.ret < 0 && done > 0) ret = (ssize_t)done;
      else if (r.ret < 0) ret = -1, errno = r.err;
      else ret = r.ret + (ssize_t)done;
      break;
    }
    if (r.ret > 0) {
      /* A blocking send or MSG_WAITALL recv moved part and would wait for the rest. */
      done += (size_t)r.ret;
      if (k.op == API_OP_WRITEV) {
        if (!own_iov) {
          if (k.a > RT_IOV_MAX) { /* cannot happen: utcp_writev refuses more (EINVAL) */
            ret = (ssize_t)done;
            break;
          }
          memcpy(c->iov, k.iov, sizeof *c->iov * (size_t)k.a);
          own_iov = true;
        }
        iov_advance(c->iov, &k.a, (size_t)r.ret);
        k.iov = c->iov;
        if (k.a == 0) {
          ret = (ssize_t)done;
          break;
        }
      } else {
        k.len -= (size_t)r.ret;
        if (k.op == API_OP_RECV) k.out = (uint8_t *)k.out + r.ret;
        else k.in = (const uint8_t *)k.in + r.ret;
        if (k.len == 0) {
          ret = (ssize_t)done;
          break;
        }
      }
    }
    wait_events(c, r.ev_seq, deadline);
    if (atomic_load(&c->intr)) {
      ret = done > 0 ? (ssize_t)done : -1;
      if (done == 0) errno = EINTR;
      break;
    }
    if (k.op == API_OP_EPOLL_WAIT && k.b > 0) {
      uint64_t now = clock_ns();
      k.b = now >= deadline ? 0 : (int)((deadline - now + 999999) / 1000000);
    }
  }
  return ret;
}

/* ---- runtime.h ---- */

static void core_fini(struct rt_core *c) {
  spsc_fini(&c->req);
  spsc_fini(&c->comp);
  free(c->stage);
  free(c->pending);
  free(c->dirty);
  free(c->iov);
}

static void rt_free(struct rt *rt) {
  if (rt == NULL) return;
  if (rt->links != NULL)
    for (int i = 0; i < rt->n * rt->n; i++) spsc_fini(&rt->links[i]);
  free(rt->links);
  if (rt->cores != NULL)
    for (int i = 0; i < rt->n; i++) core_fini(&rt->cores[i]);
  free(rt->cores);
  free(rt);
}

static struct utcp_mac core_mac(const struct utcp_rt_config *cfg, int core) {
  struct utcp_mac m = cfg->ctx.stack.mac;
  static const struct utcp_mac zero;
  if (memcmp(&m, &zero, sizeof m) == 0) m = (struct utcp_mac){{0x02, 0, 0, 0x75, 0x74, 1}};
  unsigned v = ((unsigned)m.b[4] << 8 | m.b[5]) + (unsigned)core;
  m.b[4] = (uint8_t)(v >> 8);
  m.b[5] = (uint8_t)v;
  return m;
}

static uint32_t core_ip(const struct utcp_rt_config *cfg, int core) {
  uint32_t ip = cfg->ctx.stack.ip != 0 ? cfg->ctx.stack.ip : 0x0a000001u;
  return ip + (uint32_t)core;
}

int utcp_init_config(const struct utcp_rt_config *cfg) {
  char err[256];
  if (cfg == NULL || utcp_rt_config_check(cfg, err, sizeof err) < 0) {
    if (cfg != NULL) fprintf(stderr, "utcp: %s\n", err);
    errno = EINVAL;
    return -1;
  }
  pthread_mutex_lock(&g_lock);
  if (g_rt != NULL) {
    pthread_mutex_unlock(&g_lock);
    errno = EALREADY;
    return -1;
  }
  struct rt *rt = calloc(1, sizeof *rt);
  if (rt == NULL) goto nomem;
  rt->cfg = *cfg;
  rt->n = cfg->num_cores;
  rt->port = &memlink;
  uint32_t mtu = cfg->ctx.stack.mtu != 0 ? cfg->ctx.stack.mtu : 1500;
  rt->frame_room = mtu + 18;
  uint32_t esize = (uint32_t)((sizeof(struct rt_frame) + rt->frame_room + 63) & ~(size_t)63);
  rt->cores = calloc((size_t)rt->n, sizeof *rt->cores);
  rt->links = calloc((size_t)rt->n * (size_t)rt->n, sizeof *rt->links);
  if (rt->cores == NULL || rt->links == NULL) goto nomem;
  for (int i = 0; i < rt->n; i++)
    for (int j = 0; j < rt->n; j++)
      if (i != j && spsc_init(link_ring(rt, i, j), cfg->ring_slots, esize) < 0) goto nomem;
  for (int i = 0; i < rt->n; i++) {
    struct rt_core *c = &rt->cores[i];
    c->rt = rt;
    c->id = i;
    c->mac = core_mac(cfg, i);
    c->stage = malloc(rt->frame_room);
    c->pending = calloc((size_t)rt->n, sizeof *c->pending);
    c->dirty = calloc((size_t)rt->n, sizeof *c->dirty);
    c->iov = calloc(RT_IOV_MAX, sizeof *c->iov);
    if (c->stage == NULL || c->pending == NULL || c->dirty == NULL || c->iov == NULL) goto nomem;
    if (spsc_init(&c->req, 16, sizeof(struct rt_req)) < 0 ||
        spsc_init(&c->comp, 16, sizeof(struct rt_msg)) < 0)
      goto nomem;
  }
  g_rt = rt;
  pthread_mutex_unlock(&g_lock);
  return 0;
nomem:
  rt_free(rt);
  pthread_mutex_unlock(&g_lock);
  errno = ENOMEM;
  return -1;
}

int utcp_init(const char *config_path) {
  struct utcp_rt_config cfg;
  char err[256];
  if (utcp_rt_config_read(config_path, 0, NULL, &cfg, err, sizeof err) < 0) {
    fprintf(stderr, "utcp: %s\n", err);
    errno = EINVAL;
    return -1;
  }
  return utcp_init_config(&cfg);
}

int utcp_get_config(struct utcp_rt_config *out) {
  if (out == NULL) {
    errno = EINVAL;
    return -1;
  }
  pthread_mutex_lock(&g_lock);
  struct rt *rt = g_rt;
  if (rt != NULL) *out = rt->cfg;
  pthread_mutex_unlock(&g_lock);
  if (rt == NULL) {
    errno = EINVAL;
    return -1;
  }
  return 0;
}

static void pin(int core) {
  long cpus = sysconf(_SC_NPROCESSORS_ONLN);
  if (cpus <= 0) return;
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET((int)(core % cpus), &set);
  pthread_setaffinity_np(pthread_self(), sizeof set, &set);
}

static void *stack_start(void *arg) {
  struct rt_core *c = arg;
  if (c->rt->cfg.pin_cores) pin(c->id);
  return stack_main(c);
}

struct utcp_ctx *utcp_create_context(int core) {
  pthread_mutex_lock(&g_lock);
  struct rt *rt = g_rt;
  int e = 0;
  struct rt_core *c = NULL;
  if (rt == NULL) e = EINVAL;
  else if (core < 0 || core >= rt->n) e = ENODEV;
  else if (rt->cores[core].created) e = EBUSY;
  if (e == 0) {
    c = &rt->cores[core];
    c->created = true; /* claimed: the rest runs without the lock */
  }
  pthread_mutex_unlock(&g_lock);
  if (e != 0) {
    errno = e;
    return NULL;
  }
  struct utcp_ctx_config cfg = rt->cfg.ctx;
  cfg.stack.ip = core_ip(&rt->cfg, core);
  if (cfg.stack.netmask == 0) cfg.stack.netmask = 0xffffff00u;
  cfg.stack.mac = c->mac;
  if (cfg.stack.seed == 0) cfg.stack.seed = clock_ns() ^ ((uint64_t)core << 56);
  for (int j = 0; j < rt->n && cfg.stack.static_arp_count < UTCP_MAX_STATIC_ARP; j++)
    if (j != core)
      cfg.stack.static_arp[cfg.stack.static_arp_count++] =
          (struct utcp_static_arp){core_ip(&rt->cfg, j), rt->cores[j].mac};
  struct utcp_tx_sink sink = rt->port->sink(c);
  bool paired = rt->cfg.mode == UTCP_RT_PAIRED;
  struct utcp_platform plat = {c, hook_now, paired ? hook_wait_paired : hook_wait_rtc};
  atomic_store(&c->stop, false);
  atomic_store(&c->intr, false);
  atomic_store(&c->ev_seq, 0);
  atomic_store(&c->ev_queued, false);
  int rc = utcp_ctx_new(&cfg, NULL, &sink, &plat, clock_ns(), &c->real);
  if (rc < 0) {
    e = utcp_errno_from_err(rc);
    goto fail;
  }
  if (!paired) {
    if (rt->cfg.pin_cores) pin(core);
    pthread_mutex_lock(&g_lock);
    c->live = true;
    pthread_mutex_unlock(&g_lock);
    return c->real;
  }
  c->proxy = calloc(1, sizeof *c->proxy);
  if (c->proxy == NULL) {
    e = ENOMEM;
    goto fail;
  }
  c->proxy->remote_call = remote_call;
  c->proxy->remote_arg = c;
  c->proxy->plat.now = hook_now; /* utcp_ctx_now works on the proxy (the clock, no request) */
  if (pthread_create(&c->thread, NULL, stack_start, c) != 0) {
    e = EAGAIN;
    goto fail;
  }
  c->thread_started = true;
  pthread_mutex_lock(&g_lock);
  c->live = true;
  pthread_mutex_unlock(&g_lock);
  return c->proxy;
fail:
  utcp_ctx_free(c->real);
  c->real = NULL;
  free(c->proxy);
  c->proxy = NULL;
  pthread_mutex_lock(&g_lock);
  c->created = false;
  pthread_mutex_unlock(&g_lock);
  errno = e;
  return NULL;
}

void utcp_destroy_context(struct utcp_ctx *ctx) {
  if (ctx == NULL) return;
  pthread_mutex_lock(&g_lock);
  struct rt *rt = g_rt;
  struct rt_core *c = NULL;
  for (int i = 0; rt != NULL && i < rt->n; i++)
    if (rt->cores[i].live && (rt->cores[i].proxy == ctx || rt->cores[i].real == ctx))
      c = &rt->cores[i];
  if (c != NULL) c->live = false;
  pthread_mutex_unlock(&g_lock);
  if (c == NULL) return;
  if (c->thread_started) {
    atomic_store(&c->stop, true);
    bell_ring(&c->stack_bell);
    pthread_join(c->thread, NULL);
    c->thread_started = false;
  }
  sink_flush(c); /* run-to-completion: what the last calls sent */
  utcp_ctx_free(c->real); /* connections vanish without FIN or RST, as utcp_ctx_free says */
  c->real = NULL;
  free(c->proxy);
  c->proxy = NULL;
  /* Frames still queued for this core are dropped, so a new context starts clean. */
  rt->port->drain(c);
  struct rt_msg m;
  while (spsc_dequeue(&c->comp, &m)) {
  }
  pthread_mutex_lock(&g_lock);
  c->created = false;
  pthread_mutex_unlock(&g_lock);
}

void utcp_destroy(void) {
  pthread_mutex_lock(&g_lock);
  struct rt *rt = g_rt;
  bool busy = false;
  for (int i = 0; rt != NULL && i < rt->n; i++) busy |= rt->cores[i].created;
  if (!busy) g_rt = NULL;
  pthread_mutex_unlock(&g_lock);
  if (busy) {
    fprintf(stderr, "utcp_destroy: a context is still in use\n");
    return;
  }
  rt_free(rt);
}

/* ---- extras for tests and tools (include/utcp/runtime.h) ---- */

int utcp_rt_poll(struct utcp_ctx *ctx) {
  pthread_mutex_lock(&g_lock);
  struct rt *rt = g_rt;
  struct rt_core *c = NULL;
  for (int i = 0; rt != NULL && i < rt->n; i++)
    if (rt->cores[i].live && (rt->cores[i].proxy == ctx || rt->cores[i].real == ctx))
      c = &rt->cores[i];
  pthread_mutex_unlock(&g_lock);
  if (c == NULL || ctx == NULL) {
    errno = EINVAL;
    return -1;
  }
  if (c->proxy == ctx) return 0;
  c->rt->port->rx_burst(c);
  return utcp_ctx_poll(ctx, clock_ns());
}

int utcp_rt_interrupt(int core) {
  pthread_mutex_lock(&g_lock);
  struct rt *rt = g_rt;
  int e = 0;
  if (rt == NULL) e = EINVAL;
  else if (core < -1 || core >= rt->n) e = ENODEV;
  for (int i = 0; e == 0 && i < rt->n; i++) {
    struct rt_core *c = &rt->cores[i];
    if ((core != -1 && i != core) || !c->live) continue;
    atomic_store(&c->intr, true);
    bell_ring(&c->app_bell);
    bell_ring(&c->stack_bell);
  }
  pthread_mutex_unlock(&g_lock);
  if (e != 0) {
    errno = e;
    return -1;
  }
  return 0;
}

int utcp_rt_link_stats(int core, struct utcp_rt_link_stats *out) {
  pthread_mutex_lock(&g_lock);
  struct rt *rt = g_rt;
  int e = 0;
  if (rt == NULL || out == NULL) e = EINVAL;
  else if (core < 0 || core >= rt->n) e = ENODEV;
  else if (rt->cores[core].created) e = EBUSY;
  else {
    out->tx_frames = rt->cores[core].tx_frames;
    out->tx_drops = rt->cores[core].tx_drops;
    out->rx_frames = rt->cores[core].rx_frames;
  }
  pthread_mutex_unlock(&g_lock);
  if (e != 0) {
    errno = e;
    return -1;
  }
  return 0;
}
