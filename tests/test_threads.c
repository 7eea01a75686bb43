/* utcp_rt_threads (api/rt_threads.c): two stacks in one process joined by the in-memory link,
 * each driven by its own threads, in real time.
 *  - stress: many connections each sending many messages to an edge-triggered epoll echo
 *    server; every byte is checked and every connection is accepted once, completes its
 *    connect once and ends once; nothing is reported for a descriptor that is not open.
 *  - blocking calls through the paired threads (connect, accept, a write larger than the send
 *    buffer, read with MSG_WAITALL, epoll_wait timing out).
 *  - the same stress in run-to-completion mode.
 * Every wait is bounded: a lost wake-up fails the test instead of hanging it. The `tsan`
 * preset runs this under ThreadSanitizer (docs/api.md). */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <time.h>

#include "mtcp_api.h"
#include "test.h"
#include "utcp/epoll.h"
#include "utcp/runtime.h"

#define PORT 7000
#define SERVER_IP 0x0a000001u /* core 0: 10.0.0.1 */
#define LIMIT_NS (60ull * 1000000000ull)

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint8_t pattern(uint32_t conn, uint64_t off) {
  return (uint8_t)((conn * 131u) ^ (off * 7u) ^ (off >> 8));
}

static void print_call_stats(int core, const struct utcp_rt_call_stats *cs) {
  printf("  core %d: %llu requests (%llu posted), %llu handovers, %llu batches (mean %.2f), "
         "%llu posted writes dropped, %llu stalled\n",
         core, (unsigned long long)cs->requests, (unsigned long long)cs->posted,
         (unsigned long long)cs->handovers, (unsigned long long)cs->batches,
         cs->batches ? (double)cs->requests / (double)cs->batches : 0.0,
         (unsigned long long)cs->posted_dropped, (unsigned long long)cs->posted_stalls);
}

/* ---- stress: echo over epoll ---- */

#define NCONN 128
#define MSGS 30
#define MSG_MAX 3000
#define SMALL_MAX 1500

/* The next write size of a small-writes run. */
static size_t small_len(uint64_t *rng, size_t want) {
  *rng = *rng * 6364136223846793005ull + 1442695040888963407ull;
  size_t n = 1 + (size_t)((*rng >> 33) % SMALL_MAX);
  return n < want ? n : want;
}

struct stress {
  int mode;
  bool small; /* writes of at most SMALL_MAX bytes: most are posted (paired threads) */
  _Atomic int server_ready;
  _Atomic int stop;        /* the client is done: the server may go */
  _Atomic int server_done; /* the server saw every end of stream: the client may go */
  /* server */
  int accepts, eofs, stale_events, empty_reads;
  uint64_t server_bytes;
  uint32_t server_fds_left, server_items_left;
  /* client */
  int connects_done, connect_events_twice, echo_mismatch, closed;
  uint64_t client_bytes_sent, client_bytes_checked;
  uint32_t client_fds_left;
  bool server_failed, client_failed;
};

struct sconn {
  int fd;
  uint8_t buf[8192];
  size_t have, off; /* bytes read and not yet echoed back */
  bool eof;
};

static void *server_main(void *arg) {
  struct stress *st = arg;
  struct utcp_ctx *ctx = utcp_create_context(0);
  if (ctx == NULL) {
    st->server_failed = true;
    atomic_store(&st->server_ready, -1);
    return NULL;
  }
  int lfd = utcp_socket(ctx, AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(PORT)};
  int one = 1;
  utcp_setsockopt(ctx, lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (utcp_bind(ctx, lfd, (struct sockaddr *)&sin, sizeof sin) < 0 || utcp_listen(ctx, lfd, 1024) < 0) {
    st->server_failed = true;
    atomic_store(&st->server_ready, -1);
    return NULL;
  }
  int ep = utcp_epoll_create1(ctx, 0);
  struct epoll_event ev = {.events = EPOLLIN | EPOLLET, .data.u64 = UINT64_MAX};
  utcp_epoll_ctl(ctx, ep, EPOLL_CTL_ADD, lfd, &ev);
  atomic_store(&st->server_ready, 1);
  static struct sconn conns[1024];
  memset(conns, 0, sizeof conns);
  uint64_t rng = 777;
  uint64_t start = now_ns();
  while (st->eofs < NCONN && now_ns() - start < LIMIT_NS) {
    struct epoll_event evs[64];
    int n = utcp_epoll_wait(ctx, ep, evs, 64, 100);
    if (n < 0) {
      st->server_failed = true;
      break;
    }
    for (int i = 0; i < n; i++) {
      if (evs[i].data.u64 == UINT64_MAX) {
        for (;;) {
          int fd = utcp_accept4(ctx, lfd, NULL, NULL, SOCK_NONBLOCK);
          if (fd < 0) break;
          st->accepts++;
          if (fd >= 1024 || conns[fd].fd != 0) {
            st->server_failed = true;
            continue;
          }
          conns[fd] = (struct sconn){.fd = fd};
          struct epoll_event ce = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET,
                                   .data.u64 = (uint64_t)fd};
          utcp_epoll_ctl(ctx, ep, EPOLL_CTL_ADD, fd, &ce);
        }
        continue;
      }
      int fd = (int)evs[i].data.u64;
      struct sconn *c = &conns[fd];
      if (fd <= 0 || fd >= 1024 || c->fd != fd) {
        st->stale_events++;
        continue;
      }
      /* Echo what is buffered, read more, until the socket says EAGAIN both ways. */
      bool progress = true;
      while (progress) {
        progress = false;
        while (c->off < c->have) {
          size_t want = c->have - c->off;
          if (st->small) want = small_len(&rng, want);
          ssize_t w = utcp_write(ctx, fd, c->buf + c->off, want);
          if (w <= 0) break;
          c->off += (size_t)w;
          progress = true;
        }
        if (c->off == c->have) c->off = c->have = 0;
        if (c->have == 0 && !c->eof) {
          ssize_t r = utcp_read(ctx, fd, c->buf, sizeof c->buf);
          if (r > 0) {
            c->have = (size_t)r;
            st->server_bytes += (uint64_t)r;
            progress = true;
          } else if (r == 0) {
            c->eof = true;
          } else if (errno != EAGAIN) {
            c->eof = true;
          }
        }
      }
      if (c->eof && c->have == 0) {
        st->eofs++;
        utcp_close(ctx, fd);
        c->fd = 0;
      }
    }
  }
  utcp_close(ctx, ep);
  utcp_close(ctx, lfd);
  st->server_fds_left = utcp_ctx_fds_in_use(ctx);
  st->server_items_left = utcp_ctx_epoll_items_in_use(ctx);
  atomic_store(&st->server_done, 1);
  /* Let the last FIN/ACKs go out before the stack disappears. */
  while (!atomic_load(&st->stop)) {
    struct epoll_event e;
    int ep2 = utcp_epoll_create1(ctx, 0);
    utcp_epoll_wait(ctx, ep2, &e, 1, 20);
    utcp_close(ctx, ep2);
  }
  utcp_destroy_context(ctx);
  return NULL;
}

struct cconn {
  int fd;
  bool connected, done;
  uint64_t sent, checked, total;
  uint32_t msgs_sent;
  uint64_t next_msg_end;
};

static void *client_main(void *arg) {
  struct stress *st = arg;
  while (atomic_load(&st->server_ready) == 0) sched_yield();
  struct utcp_ctx *ctx = utcp_create_context(1);
  if (ctx == NULL || atomic_load(&st->server_ready) < 0) {
    st->client_failed = true;
    if (ctx != NULL) utcp_destroy_context(ctx);
    return NULL;
  }
  int ep = utcp_epoll_create1(ctx, 0);
  static struct cconn cc[NCONN];
  memset(cc, 0, sizeof cc);
  uint64_t seed = 12345;
  struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(PORT),
                            .sin_addr.s_addr = htonl(SERVER_IP)};
  for (int i = 0; i < NCONN; i++) {
    int fd = utcp_socket(ctx, AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    cc[i].fd = fd;
    for (int m = 0; m < MSGS; m++) {
      seed = seed * 6364136223846793005ull + 1442695040888963407ull;
      cc[i].total += 1 + (seed >> 33) % MSG_MAX;
    }
    if (utcp_connect(ctx, fd, (struct sockaddr *)&sin, sizeof sin) == 0 || errno != EINPROGRESS)
      st->client_failed = true;
    struct epoll_event e = {.events = EPOLLIN | EPOLLOUT | EPOLLET, .data.u32 = (uint32_t)i};
    utcp_epoll_ctl(ctx, ep, EPOLL_CTL_ADD, fd, &e);
  }
  uint8_t buf[8192];
  uint64_t rng = 999;
  uint64_t start = now_ns();
  while (st->closed < NCONN && now_ns() - start < LIMIT_NS) {
    struct epoll_event evs[64];
    int n = utcp_epoll_wait(ctx, ep, evs, 64, 100);
    if (n < 0) {
      st->client_failed = true;
      break;
    }
    for (int k = 0; k < n; k++) {
      uint32_t i = evs[k].data.u32;
      if (i >= NCONN || cc[i].done) {
        st->stale_events++;
        continue;
      }
      struct cconn *c = &cc[i];
      if (!c->connected) {
        int err = 0;
        socklen_t len = sizeof err;
        utcp_getsockopt(ctx, c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err != 0 || (evs[k].events & EPOLLERR)) {
          st->client_failed = true;
          continue;
        }
        if (!(evs[k].events & EPOLLOUT)) continue;
        c->connected = true;
        st->connects_done++;
      }
      /* Send as much of the stream as fits; read and check every echoed byte. */
      while (c->sent < c->total) {
        size_t want = (size_t)(c->total - c->sent);
        if (want > sizeof buf) want = sizeof buf;
        if (st->small) want = small_len(&rng, want);
        for (size_t b = 0; b < want; b++) buf[b] = pattern(i, c->sent + b);
        ssize_t w = utcp_write(ctx, c->fd, buf, want);
        if (w <= 0) break;
        c->sent += (uint64_t)w;
        st->client_bytes_sent += (uint64_t)w;
      }
      for (;;) {
        ssize_t r = utcp_read(ctx, c->fd, buf, sizeof buf);
        if (r <= 0) break;
        for (ssize_t b = 0; b < r; b++)
          if (buf[b] != pattern(i, c->checked + (uint64_t)b)) st->echo_mismatch++;
        c->checked += (uint64_t)r;
        st->client_bytes_checked += (uint64_t)r;
      }
      if (c->checked == c->total) {
        c->done = true;
        utcp_close(ctx, c->fd);
        st->closed++;
      }
    }
  }
  utcp_close(ctx, ep);
  st->client_fds_left = utcp_ctx_fds_in_use(ctx);
  /* Keep the stack running (FIN retransmissions) until the server has seen every end. */
  while (!atomic_load(&st->server_done) && now_ns() - start < LIMIT_NS) {
    struct epoll_event e;
    int ep2 = utcp_epoll_create1(ctx, 0);
    utcp_epoll_wait(ctx, ep2, &e, 1, 20);
    utcp_close(ctx, ep2);
  }
  atomic_store(&st->stop, 1);
  utcp_destroy_context(ctx);
  return NULL;
}

/* chunks: each stack's chunk pool (0: the default, which holds every buffer). */
static void run_stress(int mode, bool small, uint32_t chunks) {
  struct utcp_rt_config cfg;
  utcp_rt_config_default(&cfg);
  cfg.num_cores = 2;
  cfg.mode = mode;
  cfg.spin_iters = 200;
  cfg.ctx.stack.tcp.sndbuf_bytes = 16384; /* small buffers: many full/empty transitions */
  cfg.ctx.stack.tcp.rcvbuf_bytes = 16384;
  if (chunks != 0) cfg.ctx.stack.tcp.chunks = chunks;
  REQUIRE(utcp_init_config(&cfg) == 0);
  CHECK_EQ(utcp_init_config(&cfg), -1);
  CHECK_EQ(errno, EALREADY);
  static struct stress st;
  memset(&st, 0, sizeof st);
  st.mode = mode;
  st.small = small;
  pthread_t ts, tc;
  uint64_t t0 = now_ns();
  REQUIRE(pthread_create(&ts, NULL, server_main, &st) == 0);
  REQUIRE(pthread_create(&tc, NULL, client_main, &st) == 0);
  pthread_join(tc, NULL);
  atomic_store(&st.stop, 1);
  atomic_store(&st.server_done, 1);
  pthread_join(ts, NULL);
  uint64_t total = 0;
  {
    uint64_t seed = 12345;
    for (int i = 0; i < NCONN * MSGS; i++) {
      seed = seed * 6364136223846793005ull + 1442695040888963407ull;
      total += 1 + (seed >> 33) % MSG_MAX;
    }
  }
  CHECK(!st.server_failed);
  CHECK(!st.client_failed);
  CHECK_EQ(st.accepts, NCONN);
  CHECK_EQ(st.connects_done, NCONN);
  CHECK_EQ(st.closed, NCONN);
  CHECK_EQ(st.eofs, NCONN);
  CHECK_EQ(st.stale_events, 0);
  CHECK_EQ(st.echo_mismatch, 0);
  CHECK_EQ(st.client_bytes_sent, total);
  CHECK_EQ(st.server_bytes, total);
  CHECK_EQ(st.client_bytes_checked, total);
  CHECK_EQ(st.server_fds_left, 0);
  CHECK_EQ(st.server_items_left, 0);
  CHECK_EQ(st.client_fds_left, 0);
  struct utcp_rt_link_stats ls0, ls1;
  CHECK_EQ(utcp_rt_link_stats(0, &ls0), 0);
  CHECK_EQ(utcp_rt_link_stats(1, &ls1), 0);
  printf("  %s%s: %d connections, %llu bytes each way in %.2f s; frames 0->1 %llu, 1->0 %llu, "
         "ring-full drops %llu\n",
         mode == UTCP_RT_PAIRED ? "paired" : "rtc", small ? " small writes" : "", NCONN,
         (unsigned long long)total, (double)(now_ns() - t0) / 1e9,
         (unsigned long long)ls0.tx_frames, (unsigned long long)ls1.tx_frames,
         (unsigned long long)(ls0.tx_drops + ls1.tx_drops));
  if (mode == UTCP_RT_PAIRED) {
    for (int core = 0; core < 2; core++) {
      struct utcp_rt_call_stats cs;
      CHECK_EQ(utcp_rt_call_stats(core, &cs), 0);
      print_call_stats(core, &cs);
      CHECK(cs.posted > 0);        /* closes at least; with small writes, most writes */
      CHECK_EQ(cs.posted_dropped, 0); /* no connection failed */
      CHECK_EQ(cs.posted_stalls, 0);  /* the chunks held for credit were there */
      /* most requests were posted writes (a tight pool leaves less credit) */
      if (small && chunks == 0) CHECK(cs.posted * 2 > cs.requests);
      if (small) CHECK(cs.batches < cs.requests);
    }
  }
  utcp_destroy();
}

TEST(test_threads_paired_stress) { run_stress(UTCP_RT_PAIRED, false, 0); }
TEST(test_threads_paired_small_writes) { run_stress(UTCP_RT_PAIRED, true, 0); }
TEST(test_threads_rtc_stress) { run_stress(UTCP_RT_RTC, false, 0); }
/* 256 chunks (512 KiB) for 128 connections whose buffers could take 4 MiB per stack: both
 * sides' caps (docs/tcp.md "Buffers") keep room for writes and for arrivals, and a pool refill
 * wakes every edge-triggered writer, so every byte still arrives; posted writes never find
 * their held chunks gone. */
TEST(test_threads_paired_small_writes_tight_pool) { run_stress(UTCP_RT_PAIRED, true, 256); }
TEST(test_threads_rtc_stress_tight_pool) { run_stress(UTCP_RT_RTC, false, 256); }

/* ---- blocking calls through the paired threads ---- */

#define BIG (256 * 1024)

struct blocking {
  _Atomic int listening;
  bool ok_accept, ok_read, ok_write_back;
  uint64_t server_read;
};

static void *blocking_server(void *arg) {
  struct blocking *b = arg;
  struct utcp_ctx *ctx = utcp_create_context(0);
  if (ctx == NULL) {
    atomic_store(&b->listening, -1);
    return NULL;
  }
  int lfd = utcp_socket(ctx, AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(PORT + 1)};
  if (utcp_bind(ctx, lfd, (struct sockaddr *)&sin, sizeof sin) < 0 || utcp_listen(ctx, lfd, 8) < 0) {
    fprintf(stderr, "blocking_server: bind/listen: %s\n", strerror(errno));
    atomic_store(&b->listening, -1);
    utcp_destroy_context(ctx);
    return NULL;
  }
  atomic_store(&b->listening, 1);
  int fd = utcp_accept(ctx, lfd, NULL, NULL); /* blocks */
  b->ok_accept = fd >= 0;
  static uint8_t buf[BIG];
  /* MSG_WAITALL: the whole BIG bytes in one call, however they arrive. */
  ssize_t r = utcp_recv(ctx, fd, buf, BIG, MSG_WAITALL);
  b->ok_read = r == BIG;
  for (size_t i = 0; b->ok_read && i < BIG; i++)
    if (buf[i] != pattern(9, i)) b->ok_read = false;
  b->ok_write_back = utcp_write(ctx, fd, "done", 4) == 4;
  char c;
  utcp_read(ctx, fd, &c, 1); /* blocks until the client closes */
  utcp_close(ctx, fd);
  utcp_close(ctx, lfd);
  utcp_destroy_context(ctx);
  return NULL;
}

TEST(test_threads_blocking_calls) {
  struct utcp_rt_config cfg;
  utcp_rt_config_default(&cfg);
  cfg.num_cores = 2;
  cfg.spin_iters = 100;
  cfg.ctx.stack.tcp.sndbuf_bytes = 8192; /* the write below needs many rounds */
  REQUIRE(utcp_init_config(&cfg) == 0);
  static struct blocking b;
  memset(&b, 0, sizeof b);
  pthread_t ts;
  REQUIRE(pthread_create(&ts, NULL, blocking_server, &b) == 0);
  while (atomic_load(&b.listening) == 0) sched_yield();
  if (atomic_load(&b.listening) < 0) {
    pthread_join(ts, NULL);
    utcp_destroy();
    REQUIRE(!"the server could not listen");
  }
  struct utcp_ctx *ctx = utcp_create_context(1);
  REQUIRE(ctx != NULL);
  CHECK(utcp_create_context(1) == NULL);
  CHECK_EQ(errno, EBUSY);
  CHECK(utcp_create_context(2) == NULL);
  CHECK_EQ(errno, ENODEV);
  /* The clock reads on the application's thread: monotonic, real time. */
  uint64_t c0 = utcp_ctx_now(ctx);
  CHECK(c0 > 0);
  int fd = utcp_socket(ctx, AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(PORT + 1),
                            .sin_addr.s_addr = htonl(SERVER_IP)};
  CHECK_EQ(utcp_connect(ctx, fd, (struct sockaddr *)&sin, sizeof sin), 0); /* blocks */
  static uint8_t big[BIG];
  for (size_t i = 0; i < BIG; i++) big[i] = pattern(9, i);
  /* A blocking write returns only when everything is queued. */
  struct iovec iov[3] = {{big, 1000}, {big + 1000, BIG / 2 - 1000}, {big + BIG / 2, BIG / 2}};
  CHECK_EQ(utcp_writev(ctx, fd, iov, 3), BIG);
  char reply[8] = {0};
  CHECK_EQ(utcp_recv(ctx, fd, reply, 4, MSG_WAITALL), 4);
  CHECK(memcmp(reply, "done", 4) == 0);
  /* Errors come back with their errno. */
  CHECK_EQ(utcp_connect(ctx, fd, (struct sockaddr *)&sin, sizeof sin), -1);
  CHECK_EQ(errno, EISCONN);
  CHECK_EQ(utcp_read(ctx, 999, reply, 1), -1);
  CHECK_EQ(errno, EBADF);
  /* epoll_wait times out (never earlier than asked) when nothing happens. */
  int ep = utcp_epoll_create1(ctx, 0);
  struct epoll_event ev = {.events = EPOLLIN, .data.fd = fd};
  CHECK_EQ(utcp_epoll_ctl(ctx, ep, EPOLL_CTL_ADD, fd, &ev), 0);
  uint64_t t0 = now_ns();
  CHECK_EQ(utcp_epoll_wait(ctx, ep, &ev, 1, 50), 0);
  CHECK(now_ns() - t0 >= 50000000ull);
  CHECK(utcp_ctx_now(ctx) >= c0 + 50000000ull);
  int flags = utcp_fcntl(ctx, fd, F_GETFL);
  CHECK_EQ(flags & O_NONBLOCK, 0);
  CHECK_EQ(utcp_fcntl(ctx, fd, F_SETFL, flags | O_NONBLOCK), 0);
  CHECK_EQ(utcp_read(ctx, fd, reply, 1), -1);
  CHECK_EQ(errno, EAGAIN);
  CHECK_EQ(utcp_close(ctx, ep), 0);
  CHECK_EQ(utcp_close(ctx, fd), 0);
  pthread_join(ts, NULL);
  CHECK(b.ok_accept);
  CHECK(b.ok_read);
  CHECK(b.ok_write_back);
  CHECK_EQ(utcp_ctx_fds_in_use(ctx), 0);
  utcp_destroy_context(ctx);
  utcp_destroy();
}

TEST(test_threads_init_errors) {
  CHECK(utcp_create_context(0) == NULL);
  CHECK_EQ(errno, EINVAL);
  struct utcp_rt_config cfg;
  utcp_rt_config_default(&cfg);
  cfg.num_cores = 0;
  CHECK_EQ(utcp_init_config(&cfg), -1);
  CHECK_EQ(errno, EINVAL);
  CHECK_EQ(utcp_init("/nonexistent/utcp.conf"), -1);
  CHECK_EQ(errno, EINVAL);
}

/* mTCP's configuration calls (api/mtcp_compat.c) over the threads runtime. */
TEST(test_threads_mtcp_conf) {
  struct mtcp_conf m;
  REQUIRE(mtcp_getconf(&m) == 0); /* before mtcp_init: the defaults */
  CHECK_EQ(m.num_cores, 1);
  m.num_cores = 3;
  m.rcvbuf_size = 20000;
  m.tcp_timewait = 4; /* seconds of TIME-WAIT: MSL 2 s */
  CHECK_EQ(mtcp_setconf(&m), 0);
  m.num_cores = 0;
  CHECK_EQ(mtcp_setconf(&m), -1);
  CHECK_EQ(errno, EINVAL);
  REQUIRE(mtcp_init(NULL) == 0);
  struct utcp_rt_config cfg;
  REQUIRE(utcp_get_config(&cfg) == 0);
  CHECK_EQ(cfg.num_cores, 3);
  CHECK_EQ(cfg.ctx.stack.tcp.rcvbuf_bytes, 20000);
  CHECK_EQ(cfg.ctx.stack.tcp.msl_ns, 2000000000ull);
  REQUIRE(mtcp_getconf(&m) == 0);
  CHECK_EQ(m.num_cores, 3);
  CHECK_EQ(m.tcp_timewait, 4);
  /* After mtcp_init only num_cores may change, and only downwards. */
  m.rcvbuf_size = 30000;
  CHECK_EQ(mtcp_setconf(&m), -1);
  m.rcvbuf_size = 20000;
  m.num_cores = 4;
  CHECK_EQ(mtcp_setconf(&m), -1);
  m.num_cores = 2;
  CHECK_EQ(mtcp_setconf(&m), 0);
  CHECK(mtcp_create_context(2) == NULL);
  CHECK_EQ(errno, ENODEV);
  mctx_t mctx = mtcp_create_context(1);
  REQUIRE(mctx != NULL);
  int s = mtcp_socket(mctx, AF_INET, SOCK_STREAM, 0);
  CHECK(s >= 0);
  CHECK_EQ(mtcp_setsock_nonblock(mctx, s), 0);
  char c;
  CHECK_EQ(mtcp_read(mctx, s, &c, 1), -1);
  CHECK_EQ(errno, ENOTCONN);
  int pipeid[2];
  CHECK_EQ(mtcp_pipe(mctx, pipeid), -1);
  CHECK_EQ(errno, EOPNOTSUPP);
  CHECK_EQ(mtcp_close(mctx, s), 0);
  mtcp_destroy_context(mctx);
  mtcp_destroy();
}

/* A context on `core` with a blocking listener on `port` (*lfd), or NULL. */
static struct utcp_ctx *listen_on(int core, int port, int *lfd) {
  struct utcp_ctx *ctx = utcp_create_context(core);
  if (ctx == NULL) return NULL;
  *lfd = utcp_socket(ctx, AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  if (utcp_bind(ctx, *lfd, (struct sockaddr *)&sin, sizeof sin) < 0 ||
      utcp_listen(ctx, *lfd, 4) < 0) {
    utcp_destroy_context(ctx);
    return NULL;
  }
  return ctx;
}

/* A blocking socket connected to core 0's `port` (its connect's result in *rc). */
static int connect_to(struct utcp_ctx *ctx, int port, int *rc) {
  int fd = utcp_socket(ctx, AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(SERVER_IP)};
  *rc = utcp_connect(ctx, fd, (struct sockaddr *)&sin, sizeof sin);
  return fd;
}

/* Core 1's context once core 0's server thread has said (in *state) it listens, or NULL. */
static struct utcp_ctx *client_context(_Atomic int *state) {
  while (atomic_load(state) == 0) sched_yield();
  return atomic_load(state) > 0 ? utcp_create_context(1) : NULL;
}

/* Two cores, paired threads, defaults; false if utcp_init_config failed. */
static bool init_two_cores(void) {
  struct utcp_rt_config cfg;
  utcp_rt_config_default(&cfg);
  cfg.num_cores = 2;
  return utcp_init_config(&cfg) == 0;
}

/* ---- batching of the application's requests (paired threads) ---- */

/* Ping-pong: each side's round is epoll_wait + read + write of one small message; the write
 * is posted (the read's answer carried the credit) and travels with the next epoll_wait. */
#define PP_ROUNDS 1000
#define PP_LEN 64

struct pingpong {
  _Atomic int listening;
  int server_rounds, server_bad, client_rounds, client_bad;
};

/* Reads one whole message into msg (epoll_wait first, as an event loop would). */
static bool pp_read(struct utcp_ctx *ctx, int ep, int fd, uint8_t *msg) {
  size_t have = 0;
  uint64_t start = now_ns();
  while (have < PP_LEN && now_ns() - start < LIMIT_NS) {
    struct epoll_event ev;
    int n = utcp_epoll_wait(ctx, ep, &ev, 1, 1000);
    if (n < 0) return false;
    if (n == 0) continue;
    ssize_t r = utcp_read(ctx, fd, msg + have, PP_LEN - have);
    if (r == 0 || (r < 0 && errno != EAGAIN)) return false;
    if (r > 0) have += (size_t)r;
  }
  return have == PP_LEN;
}

static void *pp_server(void *arg) {
  struct pingpong *p = arg;
  int lfd;
  struct utcp_ctx *ctx = listen_on(0, PORT + 3, &lfd);
  if (ctx == NULL) {
    atomic_store(&p->listening, -1);
    return NULL;
  }
  atomic_store(&p->listening, 1);
  int fd = utcp_accept4(ctx, lfd, NULL, NULL, SOCK_NONBLOCK);
  int ep = utcp_epoll_create1(ctx, 0);
  struct epoll_event ev = {.events = EPOLLIN, .data.fd = fd};
  utcp_epoll_ctl(ctx, ep, EPOLL_CTL_ADD, fd, &ev);
  uint8_t msg[PP_LEN];
  for (int i = 0; i < PP_ROUNDS; i++) {
    if (!pp_read(ctx, ep, fd, msg)) break;
    for (int b = 0; b < PP_LEN; b++)
      if (msg[b] != pattern(5, (uint64_t)i * PP_LEN + (uint64_t)b)) p->server_bad++;
    if (utcp_write(ctx, fd, msg, PP_LEN) != PP_LEN) p->server_bad++;
    p->server_rounds++;
  }
  char c;
  struct epoll_event e;
  utcp_epoll_wait(ctx, ep, &e, 1, 5000); /* the client's FIN */
  if (utcp_read(ctx, fd, &c, 1) != 0) p->server_bad++;
  utcp_close(ctx, ep);
  utcp_close(ctx, fd);
  utcp_close(ctx, lfd);
  if (utcp_ctx_fds_in_use(ctx) != 0) p->server_bad++;
  utcp_destroy_context(ctx);
  return NULL;
}

TEST(test_threads_batch_pingpong) {
  REQUIRE(init_two_cores());
  static struct pingpong p;
  memset(&p, 0, sizeof p);
  pthread_t ts;
  REQUIRE(pthread_create(&ts, NULL, pp_server, &p) == 0);
  struct utcp_ctx *ctx = client_context(&p.listening);
  if (ctx != NULL) {
    int rc;
    int fd = connect_to(ctx, PORT + 3, &rc);
    CHECK_EQ(rc, 0);
    int ep = utcp_epoll_create1(ctx, 0);
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = fd};
    utcp_epoll_ctl(ctx, ep, EPOLL_CTL_ADD, fd, &ev);
    uint8_t msg[PP_LEN], back[PP_LEN];
    for (int i = 0; i < PP_ROUNDS; i++) {
      for (int b = 0; b < PP_LEN; b++) msg[b] = pattern(5, (uint64_t)i * PP_LEN + (uint64_t)b);
      if (utcp_write(ctx, fd, msg, PP_LEN) != PP_LEN) p.client_bad++;
      memset(msg, 0, sizeof msg); /* the posted write copied it */
      if (!pp_read(ctx, ep, fd, back)) break;
      for (int b = 0; b < PP_LEN; b++)
        if (back[b] != pattern(5, (uint64_t)i * PP_LEN + (uint64_t)b)) p.client_bad++;
      p.client_rounds++;
    }
    CHECK_EQ(utcp_close(ctx, ep), 0);
    CHECK_EQ(utcp_close(ctx, fd), 0);
  }
  pthread_join(ts, NULL);
  CHECK(ctx != NULL);
  CHECK_EQ(p.client_rounds, PP_ROUNDS);
  CHECK_EQ(p.server_rounds, PP_ROUNDS);
  CHECK_EQ(p.client_bad, 0);
  CHECK_EQ(p.server_bad, 0);
  if (ctx != NULL) {
    CHECK_EQ(utcp_ctx_fds_in_use(ctx), 0);
    utcp_destroy_context(ctx);
  }
  for (int core = 0; core < 2; core++) {
    struct utcp_rt_call_stats cs;
    CHECK_EQ(utcp_rt_call_stats(core, &cs), 0);
    print_call_stats(core, &cs);
    /* Every round's write was posted (the first one's credit came with connect/accept). */
    CHECK(cs.posted >= PP_ROUNDS);
    /* A posted write rides with the next epoll_wait: fewer stack wake-ups than requests. */
    CHECK(cs.batches < cs.requests);
    CHECK(cs.handovers < cs.requests);
    CHECK_EQ(cs.posted_dropped, 0);
    CHECK_EQ(cs.posted_stalls, 0);
  }
  CHECK_EQ(utcp_rt_call_stats(2, &(struct utcp_rt_call_stats){0}), -1);
  CHECK_EQ(errno, ENODEV);
  utcp_destroy();
}

/* A posted write whose connection is reset before it runs: the bytes are lost (as bytes
 * written just before a RST), the write returned their count, and the reset surfaces on the
 * next call as on Linux: ECONNRESET once, then EPIPE; read then sees the end. Then a posted
 * close and descriptor reuse: socket() gets the lowest free number, as Linux. */
struct rst {
  _Atomic int state; /* 1 listening, 2 the client holds credit, 3 reset sent; -1 failed */
};

static void *rst_server(void *arg) {
  struct rst *x = arg;
  int lfd;
  struct utcp_ctx *ctx = listen_on(0, PORT + 4, &lfd);
  if (ctx == NULL) {
    atomic_store(&x->state, -1);
    return NULL;
  }
  atomic_store(&x->state, 1);
  int fd = utcp_accept(ctx, lfd, NULL, NULL);
  uint64_t t0 = now_ns();
  while (atomic_load(&x->state) != 2 && now_ns() - t0 < LIMIT_NS) sched_yield();
  utcp_abort(ctx, fd); /* RST */
  atomic_store(&x->state, 3);
  struct epoll_event e;
  int ep = utcp_epoll_create1(ctx, 0);
  utcp_epoll_wait(ctx, ep, &e, 1, 50); /* the RST goes out */
  utcp_close(ctx, ep);
  utcp_close(ctx, lfd);
  utcp_destroy_context(ctx);
  return NULL;
}

TEST(test_threads_posted_write_after_reset) {
  REQUIRE(init_two_cores());
  static struct rst x;
  memset(&x, 0, sizeof x);
  pthread_t ts;
  REQUIRE(pthread_create(&ts, NULL, rst_server, &x) == 0);
  struct utcp_ctx *ctx = client_context(&x.state);
  if (ctx == NULL) {
    atomic_store(&x.state, 2);
    pthread_join(ts, NULL);
    utcp_destroy();
    REQUIRE(!"set-up failed");
  }
  int rc;
  int fd = connect_to(ctx, PORT + 4, &rc);
  CHECK_EQ(rc, 0);
  char c;
  CHECK_EQ(utcp_recv(ctx, fd, &c, 1, MSG_DONTWAIT), -1); /* an answer with credit */
  CHECK_EQ(errno, EAGAIN);
  atomic_store(&x.state, 2);
  uint64_t t0 = now_ns();
  while (atomic_load(&x.state) != 3 && now_ns() - t0 < LIMIT_NS) sched_yield();
  /* No utcp call meanwhile: the stack thread takes the RST on its own. */
  t0 = now_ns();
  while (now_ns() - t0 < 200000000ull) sched_yield();
  struct utcp_rt_call_stats a, b;
  CHECK_EQ(utcp_rt_call_stats(1, &a), 0);
  uint8_t data[3000];
  memset(data, 'x', sizeof data);
  CHECK_EQ(utcp_write(ctx, fd, data, 100), 100); /* posted: linearised before the RST */
  CHECK_EQ(utcp_rt_call_stats(1, &b), 0);
  CHECK_EQ(b.posted, a.posted + 1);
  CHECK_EQ(utcp_write(ctx, fd, data, sizeof data), -1); /* too big to post: synchronous */
  CHECK_EQ(errno, ECONNRESET);
  CHECK_EQ(utcp_write(ctx, fd, data, 10), -1); /* no credit now: synchronous */
  CHECK_EQ(errno, EPIPE);
  CHECK_EQ(utcp_read(ctx, fd, &c, 1), 0);
  CHECK_EQ(utcp_rt_call_stats(1, &b), 0);
  CHECK_EQ(b.posted_dropped, a.posted_dropped + 1);
  /* Posted close, then the lowest free descriptor again. */
  int s2 = utcp_socket(ctx, AF_INET, SOCK_STREAM, 0);
  CHECK(s2 > fd);
  CHECK_EQ(utcp_rt_call_stats(1, &a), 0);
  CHECK_EQ(utcp_close(ctx, fd), 0);
  CHECK_EQ(utcp_rt_call_stats(1, &b), 0);
  CHECK_EQ(b.posted, a.posted + 1);
  CHECK_EQ(utcp_socket(ctx, AF_INET, SOCK_STREAM, 0), fd);
  CHECK_EQ(utcp_close(ctx, s2), 0); /* posted */
  CHECK_EQ(utcp_close(ctx, s2), -1); /* known closed: synchronous, as Linux */
  CHECK_EQ(errno, EBADF);
  CHECK_EQ(utcp_socket(ctx, AF_INET, SOCK_STREAM, 0), s2);
  CHECK_EQ(utcp_close(ctx, fd), 0);
  CHECK_EQ(utcp_close(ctx, s2), 0);
  CHECK_EQ(utcp_ctx_fds_in_use(ctx), 0);
  pthread_join(ts, NULL);
  utcp_destroy_context(ctx);
  utcp_destroy();
}

/* ---- interrupting blocking calls: utcp_rt_interrupt, signals ---- */

static void on_signal(int sig) { (void)sig; }

struct sig {
  _Atomic int phase; /* 1: in accept, 2: in epoll_wait, 3: done; -1: set-up failed */
  _Atomic int release;
  int accept_rc, accept_errno, wait_rc, wait_errno, close_rc;
};

static void *sig_main(void *arg) {
  struct sig *x = arg;
  int lfd = -1;
  struct utcp_ctx *ctx = listen_on(0, PORT + 5, &lfd);
  int ep = ctx != NULL ? utcp_epoll_create1(ctx, 0) : -1;
  struct epoll_event ev = {.events = EPOLLIN, .data.fd = lfd};
  if (ctx == NULL || utcp_epoll_ctl(ctx, ep, EPOLL_CTL_ADD, lfd, &ev) < 0) {
    if (ctx != NULL) utcp_destroy_context(ctx);
    atomic_store(&x->phase, -1);
    return NULL;
  }
  atomic_store(&x->phase, 1);
  x->accept_rc = utcp_accept(ctx, lfd, NULL, NULL);
  x->accept_errno = errno;
  atomic_store(&x->phase, 2);
  x->wait_rc = utcp_epoll_wait(ctx, ep, &ev, 1, -1);
  x->wait_errno = errno;
  /* Signals may still come: they must not disturb calls that do not wait. */
  x->close_rc = utcp_close(ctx, lfd) | utcp_close(ctx, ep) | (int)utcp_ctx_fds_in_use(ctx);
  atomic_store(&x->phase, 3);
  while (!atomic_load(&x->release)) sched_yield();
  utcp_destroy_context(ctx);
  return NULL;
}

/* utcp_rt_interrupt wakes the same thread blocked in accept, and then in epoll_wait, with
 * EINTR; calls that do not wait still work. */
static void run_interrupt(int mode) {
  struct utcp_rt_config cfg;
  utcp_rt_config_default(&cfg);
  cfg.mode = mode;
  REQUIRE(utcp_init_config(&cfg) == 0);
  CHECK_EQ(utcp_rt_interrupt(1), -1);
  CHECK_EQ(errno, ENODEV);
  static struct sig x;
  memset(&x, 0, sizeof x);
  atomic_store(&x.release, 1);
  pthread_t t;
  REQUIRE(pthread_create(&t, NULL, sig_main, &x) == 0);
  while (atomic_load(&x.phase) == 0) sched_yield();
  /* Most likely the thread is blocked by now; EINTR is due either way. */
  uint64_t t0 = now_ns();
  while (now_ns() - t0 < 20000000ull) sched_yield();
  CHECK_EQ(utcp_rt_interrupt(-1), 0);
  pthread_join(t, NULL);
  CHECK_EQ(atomic_load(&x.phase), 3);
  CHECK_EQ(x.accept_rc, -1);
  CHECK_EQ(x.accept_errno, EINTR);
  CHECK_EQ(x.wait_rc, -1);
  CHECK_EQ(x.wait_errno, EINTR);
  CHECK_EQ(x.close_rc, 0);
  utcp_destroy();
}

TEST(test_threads_interrupt_paired) { run_interrupt(UTCP_RT_PAIRED); }
TEST(test_threads_interrupt_rtc) { run_interrupt(UTCP_RT_RTC); }

/* Signals the thread until it leaves `phase` (bounded: 1000 signals, 10 s). */
static int kick(pthread_t t, struct sig *x, int phase) {
  int kills = 0;
  uint64_t t0 = now_ns();
  while (atomic_load(&x->phase) == phase && kills < 1000 && now_ns() - t0 < 10000000000ull) {
    pthread_kill(t, SIGUSR1);
    kills++;
    struct timespec ts = {0, 2000000};
    nanosleep(&ts, NULL);
  }
  return kills;
}

static void run_signal(int mode) {
  struct sigaction sa, old;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal; /* no SA_RESTART */
  sigemptyset(&sa.sa_mask);
  REQUIRE(sigaction(SIGUSR1, &sa, &old) == 0);
  struct utcp_rt_config cfg;
  utcp_rt_config_default(&cfg);
  cfg.mode = mode;
  REQUIRE(utcp_init_config(&cfg) == 0);
  static struct sig x;
  memset(&x, 0, sizeof x);
  pthread_t t;
  REQUIRE(pthread_create(&t, NULL, sig_main, &x) == 0);
  uint64_t t0 = now_ns();
  while (atomic_load(&x.phase) == 0 && now_ns() - t0 < LIMIT_NS) sched_yield();
  int k1 = kick(t, &x, 1);
  /* Signals failed: utcp_rt_interrupt frees the thread so that the test fails, not hangs. */
  bool stuck = atomic_load(&x.phase) == 1;
  if (stuck) utcp_rt_interrupt(-1);
  t0 = now_ns();
  while (atomic_load(&x.phase) == 2 && now_ns() - t0 < 20000000ull) sched_yield();
  int k2 = kick(t, &x, 2);
  if (atomic_load(&x.phase) == 2) {
    stuck = true;
    utcp_rt_interrupt(-1);
  }
  t0 = now_ns();
  while (atomic_load(&x.phase) != 3 && atomic_load(&x.phase) != -1 && now_ns() - t0 < LIMIT_NS)
    sched_yield();
  atomic_store(&x.release, 1);
  pthread_join(t, NULL);
  printf("  %s: accept left after %d signal(s), epoll_wait after %d\n",
         mode == UTCP_RT_PAIRED ? "paired" : "rtc", k1, k2);
  CHECK(!stuck);
  CHECK_EQ(atomic_load(&x.phase), 3);
  CHECK_EQ(x.accept_rc, -1);
  CHECK_EQ(x.accept_errno, EINTR);
  CHECK_EQ(x.wait_rc, -1);
  CHECK_EQ(x.wait_errno, EINTR);
  CHECK_EQ(x.close_rc, 0);
  utcp_destroy();
  sigaction(SIGUSR1, &old, NULL);
}

TEST(test_threads_signal_paired) { run_signal(UTCP_RT_PAIRED); }
TEST(test_threads_signal_rtc) { run_signal(UTCP_RT_RTC); }

TEST_MAIN(TEST_CASE(test_threads_init_errors), TEST_CASE(test_threads_mtcp_conf),
          TEST_CASE(test_threads_interrupt_paired), TEST_CASE(test_threads_interrupt_rtc), TEST_CASE(test_threads_blocking_calls),
          TEST_CASE(test_threads_signal_paired), TEST_CASE(test_threads_signal_rtc),
          TEST_CASE(test_threads_batch_pingpong), TEST_CASE(test_threads_posted_write_after_reset),
          TEST_CASE(test_threads_paired_stress), TEST_CASE(test_threads_paired_small_writes),
          TEST_CASE(test_threads_paired_small_writes_tight_pool),
          TEST_CASE(test_threads_rtc_stress_tight_pool),
          TEST_CASE(test_threads_rtc_stress))
