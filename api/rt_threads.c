/* utcp_rt_threads: include/utcp/runtime.h on real threads and real time (docs/api.md).
 *
 * Paired threads (UTCP_RT_PAIRED, as mTCP): utcp_create_context(core) starts the core's stack
 * thread, which owns the real context (stack, descriptor table, epoll), and returns a proxy
 * context to the calling application thread. Every utcp_* call on the proxy becomes a request
 * on the core's request ring (app -> stack); the stack thread runs it against the real context
 * and puts the result on the completion ring (stack -> app), which also carries event notices.
 * A call that would block runs non-blocking on the stack thread (its platform `wait` hook
 * answers RT_EWAIT at once); the application thread then sleeps until the stack thread
 * reports events for the context (or the deadline passes) and asks again; a signal handler
 * that runs while it sleeps makes the call fail with EINTR (never while a request is out).
 * Posted requests: a small write for which the application side holds credit (send-buffer
 * space the stack reported in an answer, less what was posted since) and a close of a
 * descriptor known open return at once; they travel with the next answered call (one
 * handover, one batch on the stack), FIFO, so any answer proves they have run (docs/api.md).
 * Credit is good until the next answered call and is backed by chunks the stack holds for it
 * (utcp_tcp_chunks_reserve), so a posted write always finds its room: it never waits, and
 * never holds back the requests behind it.
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
#include "core/assert.h"
#include "core/buf.h"
#include "spsc.h"
#include "utcp/runtime.h"

/* Not an errno: the stack thread's wait hook asks the application thread to wait. */
#define RT_EWAIT 100000
#define RX_BURST 32
#define REQ_SLOTS 64   /* request ring */
#define REQ_BURST 32   /* requests the stack thread takes at once */
#define POST_BURST 16  /* posted requests held before they are handed over */
#define POST_MAX 2048  /* bytes: larger writes go synchronous */
#define ARENA_BYTES 65536u /* per core: the bytes of posted writes (a power of two) */
#define RT_IOV_MAX 1024 /* Linux's UIO_MAXIOV */

struct bell {
  alignas(SPSC_CACHE_LINE) _Atomic uint32_t seq;
  _Atomic uint32_t sleeping;
};

struct rt_req {
  struct api_call call;
  bool posted;       /* no answer: the application did not wait (a write or a close) */
  uint32_t data_end; /* posted write: the arena offset (free running) after its bytes */
};

enum { MSG_RESP, MSG_EVENT };

struct rt_msg {
  int kind;
  int err;
  ssize_t ret;
  bool waited;
  uint64_t ev_seq; /* the context's event count when the request ran */
  /* What the application side may assume about one descriptor (its shadow), measured after
   * the request ran: every earlier posted request has run by then (FIFO). */
  int sh_fd; /* -1: none */
  bool sh_open;
  int32_t sh_room; /* bytes a write on sh_fd may post (credit); 0: writes stay synchronous */
};

/* The application side's view of a descriptor, refreshed by every answer that names it. */
struct rt_shadow {
  bool open;      /* open: a close of it returns 0 */
  int32_t credit; /* send-buffer bytes the stack had free, less what was posted since */
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
  /* application thread: posted requests and their bytes */
  _Atomic uint32_t handed; /* the request ring's head at the last handover */
  uint32_t held;        /* requests published since the last handover */
  bool unconfirmed;     /* posted since the last answer */
  struct rt_shadow *shadow;
  uint32_t n_shadow;
  uint8_t *arena;       /* bytes of posted writes: the application appends, the stack frees */
  uint32_t arena_head;  /* application thread */
  _Atomic uint32_t arena_tail; /* stack thread */
  /* call counters (utcp_rt_call_stats): one writer each, read at any time */
  _Atomic uint64_t n_requests, n_posted, n_handovers, n_batches, n_dropped, n_stalls;
  /* stack thread: the chunks held for the credit of the last answer (resv_fd; -1: none) */
  int resv_fd;
  uint32_t resv_chunks;
  /* application thread: the descriptor whose shadow holds credit (-1: none) */
  int credit_fd;
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
 * `ready` finds work after the bell's value was taken (no lost wake-up: see bell_ring).
 * Returns EINTR when a signal handler ran on this thread during the sleep, else 0. */
static int bell_sleep(struct bell *b, uint64_t until, bool (*ready)(struct rt_core *),
                      struct rt_core *c) {
  int e = 0;
  atomic_store(&b->sleeping, 1);
  uint32_t seq = atomic_load(&b->seq);
  if (!ready(c)) {
    uint64_t now = clock_ns();
    uint64_t ns = until > now ? until - now : 0;
    if (ns > 100000000ull) ns = 100000000ull;
    if (ns > 0) {
      struct timespec ts = {(time_t)(ns / 1000000000ull), (long)(ns % 1000000000ull)};
      int saved = errno;
      if (syscall(SYS_futex, &b->seq, FUTEX_WAIT_PRIVATE, seq, &ts, NULL, 0) < 0 && errno == EINTR)
        e = EINTR;
      errno = saved;
    }
  }
  atomic_store(&b->sleeping, 0);
  return e;
}

/* A counter with one writing thread, read from any (utcp_rt_call_stats). */
static void count(_Atomic uint64_t *x, uint64_t n) {
  atomic_store_explicit(x, atomic_load_explicit(x, memory_order_relaxed) + n, memory_order_relaxed);
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
    if (bell_sleep(&c->stack_bell, until, port_ready, c) == EINTR) return EINTR; /* a signal */
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
  /* One answered request in flight (posted ones are not answered) and at most one event
   * notice queued: there is always room. */
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

/* What send_iov (api/socket.c) checks before it queues, in its terms: the socket is open for
 * sending (L_OPEN, no SHUT_SND) and has no pending error. *room: send-buffer bytes free. */
static bool send_ok(struct utcp_ctx *x, const struct api_sock *s, int *room) {
  struct utcp_tcp_pollinfo pi;
  if (s->listening || s->conn == 0 || s->err != 0 || (s->shut & SHUT_SND) ||
      utcp_tcp_pollinfo(x->stack, s->conn, &pi) < 0)
    return false;
  *room = pi.writable;
  return pi.state == UTCP_TCP_ESTABLISHED || pi.state == UTCP_TCP_CLOSE_WAIT;
}

/* Drops the chunks held for the last answer's credit: the next answered request runs (every
 * posted write that could use the credit has run before it: FIFO). */
static void reserve_release(struct rt_core *c) {
  if (c->resv_fd < 0) return;
  c->resv_fd = -1;
  c->resv_chunks = 0;
  utcp_tcp_chunks_reserve(c->real->stack, 0);
}

/* The shadow of the descriptor a request named (or created), for its answer. The credit is
 * the free send space, at most ARENA_BYTES and at most what a quarter of the chunks an
 * allocation may take now hold; those chunks are then held for it (reserve), until the next
 * answered request. */
static void describe(struct rt_core *c, const struct api_call *k, ssize_t ret, struct rt_msg *m) {
  int fd = k->fd;
  switch (k->op) {
    case API_OP_SOCKET:
    case API_OP_ACCEPT4:
    case API_OP_EPOLL_CREATE:
    case API_OP_EPOLL_CREATE1: fd = ret >= 0 ? (int)ret : -1; break;
    case API_OP_FDS_IN_USE:
    case API_OP_ITEMS_IN_USE: fd = -1; break;
    default: break;
  }
  m->sh_fd = fd;
  struct api_file *f = fd >= 0 ? api_file(c->real, fd) : NULL;
  if (f == NULL) return;
  m->sh_open = true;
  int room;
  if (f->kind != API_SOCK || !send_ok(c->real, &f->u.s, &room)) return;
  UTCP_ASSERT(c->resv_fd < 0);
  uint32_t grant = utcp_tcp_chunks_tx_available(c->real->stack) / 4;
  /* Appending n bytes takes at most n / CHUNK_SIZE + 1 chunks (the first may be a part). */
  uint64_t cap = grant > 1 ? (uint64_t)(grant - 1) * UTCP_CHUNK_SIZE : 0;
  if (cap > ARENA_BYTES) cap = ARENA_BYTES;
  uint32_t credit = (uint32_t)((uint64_t)room < cap ? (uint64_t)room : cap);
  m->sh_room = (int32_t)credit;
  if (credit == 0) return;
  c->resv_fd = fd;
  c->resv_chunks = credit / UTCP_CHUNK_SIZE + 1;
  utcp_tcp_chunks_reserve(c->real->stack, c->resv_chunks);
}

static bool stall_ready(struct rt_core *c) {
  return c->rt->port->rx_pending(c) || atomic_load(&c->stop);
}

/* A posted write, which the application already counts as done. It runs only if send_iov
 * would queue it all: if the connection failed in between (reset, timed out), the bytes are
 * lost as bytes written just before a RST are on Linux, and the error stays pending for the
 * application's next call (send_iov would have taken it). The credit makes the send-buffer
 * room certain and the chunks held for it (describe) make the pool's room certain: the write
 * takes them and gives back what it did not use. Should the pool still be short (a bug: the
 * test counts n_stalls), this waits (link RX, timers) for it, holding back the requests
 * behind it, as a blocking write would. */
static void run_posted_write(struct rt_core *c, int fd, const uint8_t *p, size_t len, int flags) {
  struct utcp_stack *stack = c->real->stack;
  bool stalled = false;
  while (len > 0) {
    api_sync(c->real); /* a reset that arrived becomes s->err here, not inside utcp_send */
    bool mine = fd == c->resv_fd;
    if (mine) { /* the held chunks are this write's */
      utcp_tcp_chunks_reserve(stack, 0);
      utcp_tcp_chunks_tx_floor(stack, false);
    }
    uint32_t in_use = utcp_tcp_chunks_in_use(stack);
    struct api_file *f = api_file(c->real, fd);
    int room = 0;
    if (f == NULL || f->kind != API_SOCK || !send_ok(c->real, &f->u.s, &room) ||
        atomic_load(&c->stop)) {
      if (mine) {
        utcp_tcp_chunks_tx_floor(stack, true);
        reserve_release(c);
      }
      count(&c->n_dropped, 1);
      return;
    }
    ssize_t n = room > 0 ? utcp_send(c->real, fd, p, len, flags | MSG_DONTWAIT) : -1;
    if (mine) {
      utcp_tcp_chunks_tx_floor(stack, true);
      uint32_t used = utcp_tcp_chunks_in_use(stack) - in_use;
      c->resv_chunks = c->resv_chunks > used ? c->resv_chunks - used : 0;
      utcp_tcp_chunks_reserve(stack, c->resv_chunks);
    }
    if (n > 0) {
      p += n;
      len -= (size_t)n;
      continue;
    }
    UTCP_ASSERT(room == 0 || errno == EAGAIN);
    if (!stalled) count(&c->n_stalls, 1);
    stalled = true;
    int work = c->rt->port->rx_burst(c);
    int ev = utcp_ctx_poll(c->real, clock_ns());
    if (ev > 0) post_event(c);
    if (work == 0 && ev == 0) {
      uint64_t until = clock_ns() + 1000000ull;
      uint64_t next = utcp_ctx_next_deadline(c->real);
      bell_sleep(&c->stack_bell, next < until ? next : until, stall_ready, c);
    }
  }
}

static void run_posted(struct rt_core *c, const struct rt_req *r) {
  const struct api_call *k = &r->call;
  if (k->op == API_OP_CLOSE) {
    int rc = utcp_close(c->real, k->fd);
    UTCP_ASSERT(rc == 0); /* the application knew the descriptor open */
    (void)rc;
    return;
  }
  UTCP_ASSERT(k->op == API_OP_SEND);
  run_posted_write(c, k->fd, k->in, k->len, k->a);
  atomic_store_explicit(&c->arena_tail, r->data_end, memory_order_release);
}

/* Runs a burst of the requests handed over (all: of every request published). */
static int serve_requests(struct rt_core *c, bool all) {
  struct rt_req reqs[REQ_BURST];
  uint32_t lim = REQ_BURST;
  if (!all) {
    int32_t h = (int32_t)(atomic_load_explicit(&c->handed, memory_order_acquire) -
                          atomic_load_explicit(&c->req.tail, memory_order_relaxed));
    if (h <= 0) return 0;
    if ((uint32_t)h < lim) lim = (uint32_t)h;
  }
  uint32_t n = spsc_dequeue_burst(&c->req, reqs, lim);
  bool answered = false;
  for (uint32_t i = 0; i < n; i++) {
    if (reqs[i].posted) {
      run_posted(c, &reqs[i]);
      continue;
    }
    reserve_release(c);
    c->waited = false;
    errno = 0;
    struct rt_msg m = {.kind = MSG_RESP, .sh_fd = -1};
    m.ret = run_call(c->real, &reqs[i].call);
    m.err = m.ret < 0 ? errno : 0;
    m.waited = c->waited;
    describe(c, &reqs[i].call, m.ret, &m);
    m.ev_seq = atomic_load(&c->ev_seq);
    post(c, &m);
    answered = true;
  }
  if (n > 0) count(&c->n_batches, 1);
  if (answered) bell_ring(&c->app_bell);
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
    work += serve_requests(c, false);
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
    /* Idle: posted requests not handed over run now rather than wait for the next call. */
    if (serve_requests(c, true) > 0) {
      idle = 0;
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

/* Hands the requests published so far to the stack (the `handed` mark) and rings its bell:
 * the stack runs them as one batch. */
static void handover(struct rt_core *c) {
  if (c->held == 0) return;
  atomic_store_explicit(&c->handed, atomic_load_explicit(&c->req.head, memory_order_relaxed),
                        memory_order_release);
  c->held = 0;
  count(&c->n_handovers, 1);
  bell_ring(&c->stack_bell);
}

/* Publishes a request after the held ones. */
static void hold(struct rt_core *c, const struct rt_req *r) {
  while (!spsc_enqueue(&c->req, r)) {
    handover(c); /* the ring is full: the stack is taking requests */
    cpu_relax();
  }
  c->held++;
  count(&c->n_requests, 1);
}

/* A posted request waits for the next handover (or a full burst). The bell still wakes a
 * stack thread that sleeps (FUTEX_WAKE only then): it runs requests not handed over once it
 * has nothing else to do (see stack_main), so a posted close followed by a wait outside utcp
 * is not stuck. */
static void hold_posted(struct rt_core *c, const struct rt_req *r) {
  hold(c, r);
  count(&c->n_posted, 1);
  c->unconfirmed = true;
  if (c->held >= POST_BURST) handover(c);
  else bell_ring(&c->stack_bell);
}

static struct rt_shadow *shadow_of(struct rt_core *c, int fd) {
  return fd >= 0 && (uint32_t)fd < c->n_shadow ? &c->shadow[fd] : NULL;
}

/* Sends one request (after the held ones) and waits for its result. A signal does not
 * interrupt this: the request has been handed over and its answer must be taken. */
static void exchange(struct rt_core *c, const struct api_call *call, struct rt_msg *resp) {
  struct rt_req r = {.call = *call};
  hold(c, &r);
  handover(c);
  uint32_t idle = 0;
  while (!take_comp(c, resp)) {
    if (++idle < c->rt->cfg.spin_iters) {
      cpu_relax();
      continue;
    }
    bell_sleep(&c->app_bell, UINT64_MAX, comp_ready, c);
    idle = 0;
  }
  c->unconfirmed = false;
  /* The stack let go of the last credit's chunks when it ran this request. */
  struct rt_shadow *old = shadow_of(c, c->credit_fd);
  if (old != NULL) old->credit = 0;
  c->credit_fd = -1;
  struct rt_shadow *sh = shadow_of(c, resp->sh_fd);
  if (sh != NULL) {
    *sh = (struct rt_shadow){resp->sh_open, resp->sh_room};
    if (resp->sh_room > 0) c->credit_fd = resp->sh_fd;
  }
}

/* Room for len bytes in the arena (contiguous: the end is skipped when it is too short), or
 * NULL. The stack frees up to a posted write's data_end once it has run. */
static uint8_t *arena_reserve(struct rt_core *c, uint32_t len) {
  uint32_t pos = c->arena_head & (ARENA_BYTES - 1);
  uint32_t pad = pos + len > ARENA_BYTES ? ARENA_BYTES - pos : 0;
  uint32_t used = c->arena_head - atomic_load_explicit(&c->arena_tail, memory_order_acquire);
  if (ARENA_BYTES - used < pad + len) return NULL;
  c->arena_head += pad;
  uint8_t *p = c->arena + (c->arena_head & (ARENA_BYTES - 1));
  c->arena_head += len;
  return p;
}

/* write/send/writev without waiting, when the answer is certain: a stream socket open for
 * sending with credit for every byte (the stack will queue them all), at most POST_MAX bytes
 * (copied: the caller may reuse its buffer). Returns the byte count, or -1: not posted. */
static ssize_t post_write(struct rt_core *c, const struct api_call *k) {
  int flags = k->op == API_OP_SEND ? k->a : 0;
  if (flags & ~(MSG_DONTWAIT | MSG_NOSIGNAL)) return -1;
  struct iovec one = {(void *)(uintptr_t)k->in, k->len};
  const struct iovec *v = &one;
  int cnt = 1;
  if (k->op == API_OP_WRITEV) {
    v = k->iov;
    cnt = k->a;
    if (cnt < 1 || cnt > RT_IOV_MAX || v == NULL) return -1; /* its errors come from the stack */
  }
  size_t total = 0;
  for (int i = 0; i < cnt; i++) {
    if (v[i].iov_len > POST_MAX - total) return -1;
    if (v[i].iov_len > 0 && v[i].iov_base == NULL) return -1; /* EFAULT, from the stack */
    total += v[i].iov_len;
  }
  struct rt_shadow *sh = shadow_of(c, k->fd);
  if (total == 0 || sh == NULL || !sh->open || sh->credit < (int32_t)total) return -1;
  uint8_t *dst = arena_reserve(c, (uint32_t)total);
  if (dst == NULL) return -1;
  for (int i = 0, off = 0; i < cnt; off += (int)v[i].iov_len, i++)
    if (v[i].iov_len > 0) memcpy(dst + off, v[i].iov_base, v[i].iov_len);
  struct rt_req r = {.call = {.op = API_OP_SEND, .fd = k->fd, .in = dst, .len = total, .a = flags},
                     .posted = true, .data_end = c->arena_head};
  sh->credit -= (int32_t)total;
  hold_posted(c, &r);
  return (ssize_t)total;
}

/* close without waiting, of a descriptor known open (close then returns 0: utcp_close never
 * blocks, SO_LINGER or not). */
static bool post_close(struct rt_core *c, int fd) {
  struct rt_shadow *sh = shadow_of(c, fd);
  if (sh == NULL || !sh->open) return false;
  *sh = (struct rt_shadow){false, 0};
  struct rt_req r = {.call = {.op = API_OP_CLOSE, .fd = fd}, .posted = true};
  hold_posted(c, &r);
  return true;
}

/* Waits until the context has had events since `seen` or until `deadline`: 0, or EINTR when
 * a signal handler ran on this thread while it slept (not while it spun: that is not seen). */
static int wait_events(struct rt_core *c, uint64_t seen, uint64_t deadline) {
  uint32_t idle = 0;
  struct rt_msg unused = {0};
  for (;;) {
    take_comp(c, &unused);
    if (atomic_load(&c->ev_seq) != seen || atomic_load(&c->intr)) return 0;
    if (clock_ns() >= deadline) return 0;
    if (++idle < c->rt->cfg.spin_iters) {
      cpu_relax();
      continue;
    }
    if (bell_sleep(&c->app_bell, deadline, event_ready, c) == EINTR) return EINTR;
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
  if (k.op == API_OP_WRITE || k.op == API_OP_SEND || k.op == API_OP_WRITEV) {
    ssize_t n = post_write(c, &k);
    if (n >= 0) return n;
  }
  if (k.op == API_OP_CLOSE && post_close(c, k.fd)) return 0;
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
    /* A signal: Linux never restarts epoll_wait; the others behave as without SA_RESTART. */
    if (wait_events(c, r.ev_seq, deadline) == EINTR || atomic_load(&c->intr)) {
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
  free(c->arena);
  free(c->shadow);
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
    c->arena = malloc(ARENA_BYTES);
    if (c->stage == NULL || c->pending == NULL || c->dirty == NULL || c->iov == NULL ||
        c->arena == NULL)
      goto nomem;
    if (spsc_init(&c->req, REQ_SLOTS, sizeof(struct rt_req)) < 0 ||
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
  c->n_shadow = cfg.max_fds < 65536 ? cfg.max_fds : 65536; /* higher descriptors: synchronous */
  c->shadow = calloc(c->n_shadow, sizeof *c->shadow);
  if (c->proxy == NULL || c->shadow == NULL) {
    e = ENOMEM;
    goto fail;
  }
  c->held = 0;
  atomic_store(&c->handed, atomic_load(&c->req.head));
  c->unconfirmed = false;
  c->arena_head = 0;
  atomic_store(&c->arena_tail, 0);
  c->resv_fd = -1;
  c->resv_chunks = 0;
  c->credit_fd = -1;
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
  free(c->shadow);
  c->shadow = NULL;
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
  if (c->thread_started && (c->held > 0 || c->unconfirmed)) {
    /* Posted writes and closes run before the stack stops (an answer proves it). */
    struct api_call k = {.op = API_OP_FDS_IN_USE};
    struct rt_msg r;
    exchange(c, &k, &r);
  }
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
  free(c->shadow);
  c->shadow = NULL;
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

int utcp_rt_call_stats(int core, struct utcp_rt_call_stats *out) {
  pthread_mutex_lock(&g_lock);
  struct rt *rt = g_rt;
  int e = 0;
  if (rt == NULL || out == NULL) e = EINVAL;
  else if (core < 0 || core >= rt->n) e = ENODEV;
  else {
    struct rt_core *c = &rt->cores[core];
    *out = (struct utcp_rt_call_stats){
        .requests = atomic_load_explicit(&c->n_requests, memory_order_relaxed),
        .posted = atomic_load_explicit(&c->n_posted, memory_order_relaxed),
        .handovers = atomic_load_explicit(&c->n_handovers, memory_order_relaxed),
        .batches = atomic_load_explicit(&c->n_batches, memory_order_relaxed),
        .posted_dropped = atomic_load_explicit(&c->n_dropped, memory_order_relaxed),
        .posted_stalls = atomic_load_explicit(&c->n_stalls, memory_order_relaxed)};
  }
  pthread_mutex_unlock(&g_lock);
  if (e != 0) {
    errno = e;
    return -1;
  }
  return 0;
}
