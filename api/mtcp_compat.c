/* mTCP's API (include/mtcp_api.h, include/mtcp_epoll.h) mapped onto utcp_* and runtime.h. It
 * uses nothing but public utcp headers, so it works with every runtime library. */
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "mtcp_api.h"
#include "mtcp_epoll.h"
#include "utcp/epoll.h"
#include "utcp/runtime.h"
#include "utcp/utcp.h"

/* Values mtcp_setconf gave before mtcp_init, and the core limit it set after. */
static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static bool g_pending;
static struct mtcp_conf g_conf;
static int g_core_limit; /* 0: all cores */
static int g_tcp_timeout = -1;
/* The context mtcp_create_context made for each core (mtcp_init_rss's queue is the core). */
static mctx_t g_core_ctx[UTCP_RT_MAX_CORES];

static void to_mtcp(const struct utcp_rt_config *c, struct mtcp_conf *m) {
  memset(m, 0, sizeof *m);
  m->num_cores = c->num_cores;
  m->max_concurrency = (int)c->ctx.stack.tcp.max_conns;
  m->max_num_buffers = (int)c->ctx.max_fds;
  m->rcvbuf_size = (int)c->ctx.stack.tcp.rcvbuf_bytes;
  m->sndbuf_size = (int)c->ctx.stack.tcp.sndbuf_bytes;
  m->tcp_timewait = (int)(c->ctx.stack.tcp.msl_ns * 2 / 1000000000ull);
  m->tcp_timeout = g_tcp_timeout;
}

static int from_mtcp(const struct mtcp_conf *m, struct utcp_rt_config *c) {
  if (m->num_cores <= 0 || m->max_concurrency <= 0 || m->max_num_buffers <= 0 ||
      m->rcvbuf_size <= 0 || m->sndbuf_size <= 0 || m->tcp_timewait < 0)
    return -1;
  c->num_cores = m->num_cores;
  c->ctx.stack.tcp.max_conns = (uint32_t)m->max_concurrency;
  c->ctx.max_fds = (uint32_t)m->max_num_buffers;
  c->ctx.stack.tcp.rcvbuf_bytes = (uint32_t)m->rcvbuf_size;
  c->ctx.stack.tcp.sndbuf_bytes = (uint32_t)m->sndbuf_size;
  /* TIME-WAIT lasts 2 MSL (RFC 9293 3.4.2); 0 keeps the default (the core needs MSL > 0). */
  if (m->tcp_timewait > 0) c->ctx.stack.tcp.msl_ns = (uint64_t)m->tcp_timewait * 500000000ull;
  return 0;
}

int mtcp_init(const char *config_file) {
  struct utcp_rt_config cfg;
  char err[256];
  if (utcp_rt_config_read(config_file, 0, NULL, &cfg, err, sizeof err) < 0) {
    fprintf(stderr, "mtcp_init: %s\n", err);
    errno = EINVAL;
    return -1;
  }
  pthread_mutex_lock(&g_lock);
  bool pending = g_pending;
  struct mtcp_conf m = g_conf;
  pthread_mutex_unlock(&g_lock);
  if (pending && from_mtcp(&m, &cfg) < 0) {
    errno = EINVAL;
    return -1;
  }
  return utcp_init_config(&cfg);
}

void mtcp_destroy(void) {
  utcp_destroy();
  pthread_mutex_lock(&g_lock);
  g_pending = false;
  g_core_limit = 0;
  pthread_mutex_unlock(&g_lock);
}

int mtcp_getconf(struct mtcp_conf *conf) {
  if (conf == NULL) {
    errno = EINVAL;
    return -1;
  }
  struct utcp_rt_config cfg;
  if (utcp_get_config(&cfg) < 0) {
    pthread_mutex_lock(&g_lock);
    bool pending = g_pending;
    *conf = g_conf;
    pthread_mutex_unlock(&g_lock);
    if (pending) return 0;
    utcp_rt_config_default(&cfg);
  }
  to_mtcp(&cfg, conf);
  pthread_mutex_lock(&g_lock);
  if (g_core_limit > 0) conf->num_cores = g_core_limit;
  pthread_mutex_unlock(&g_lock);
  return 0;
}

int mtcp_setconf(const struct mtcp_conf *conf) {
  if (conf == NULL) {
    errno = EINVAL;
    return -1;
  }
  struct utcp_rt_config cfg;
  if (utcp_get_config(&cfg) < 0) {
    /* Before mtcp_init: checked now, applied by mtcp_init. */
    struct utcp_rt_config probe;
    utcp_rt_config_default(&probe);
    if (from_mtcp(conf, &probe) < 0 || utcp_rt_config_check(&probe, NULL, 0) < 0) {
      errno = EINVAL;
      return -1;
    }
    pthread_mutex_lock(&g_lock);
    g_conf = *conf;
    g_pending = true;
    g_tcp_timeout = conf->tcp_timeout;
    pthread_mutex_unlock(&g_lock);
    return 0;
  }
  struct mtcp_conf now;
  to_mtcp(&cfg, &now);
  struct mtcp_conf want = *conf;
  if (want.num_cores < 1 || want.num_cores > cfg.num_cores) {
    errno = EINVAL;
    return -1;
  }
  now.num_cores = want.num_cores;
  want.tcp_timeout = now.tcp_timeout;
  if (memcmp(&now, &want, sizeof now) != 0) {
    errno = EINVAL; /* the stacks' configuration is fixed once mtcp_init ran */
    return -1;
  }
  pthread_mutex_lock(&g_lock);
  g_core_limit = want.num_cores;
  pthread_mutex_unlock(&g_lock);
  return 0;
}

int mtcp_core_affinitize(int cpu) {
  long cpus = sysconf(_SC_NPROCESSORS_ONLN);
  if (cpu < 0 || cpus <= 0) {
    errno = EINVAL;
    return -1;
  }
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET((int)(cpu % cpus), &set);
  int rc = pthread_setaffinity_np(pthread_self(), sizeof set, &set);
  if (rc != 0) {
    errno = rc;
    return -1;
  }
  return 0;
}

mctx_t mtcp_create_context(int cpu) {
  pthread_mutex_lock(&g_lock);
  int limit = g_core_limit;
  pthread_mutex_unlock(&g_lock);
  if (limit > 0 && cpu >= limit) {
    errno = ENODEV;
    return NULL;
  }
  mctx_t mctx = utcp_create_context(cpu);
  if (mctx != NULL && cpu < UTCP_RT_MAX_CORES) {
    pthread_mutex_lock(&g_lock);
    g_core_ctx[cpu] = mctx;
    pthread_mutex_unlock(&g_lock);
  }
  return mctx;
}

void mtcp_destroy_context(mctx_t mctx) {
  pthread_mutex_lock(&g_lock);
  for (int i = 0; i < UTCP_RT_MAX_CORES; i++)
    if (mctx != NULL && g_core_ctx[i] == mctx) g_core_ctx[i] = NULL;
  pthread_mutex_unlock(&g_lock);
  utcp_destroy_context(mctx);
}

mtcp_sighandler_t mtcp_register_signal(int signum, mtcp_sighandler_t handler) {
  struct sigaction sa, old;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = handler;
  sigemptyset(&sa.sa_mask);
  if (sigaction(signum, &sa, &old) < 0) return SIG_ERR;
  return old.sa_handler;
}

int mtcp_pipe(mctx_t mctx, int pipeid[2]) {
  (void)mctx;
  (void)pipeid;
  errno = EOPNOTSUPP;
  return -1;
}

int mtcp_getsockopt(mctx_t mctx, int sockid, int level, int optname, void *optval,
                    socklen_t *optlen) {
  return utcp_getsockopt(mctx, sockid, level, optname, optval, optlen);
}

int mtcp_setsockopt(mctx_t mctx, int sockid, int level, int optname, const void *optval,
                    socklen_t optlen) {
  return utcp_setsockopt(mctx, sockid, level, optname, optval, optlen);
}

int mtcp_setsock_nonblock(mctx_t mctx, int sockid) {
  int fl = utcp_fcntl(mctx, sockid, F_GETFL);
  if (fl < 0) return -1;
  return utcp_fcntl(mctx, sockid, F_SETFL, fl | O_NONBLOCK);
}

int mtcp_socket_ioctl(mctx_t mctx, int sockid, int request, void *argp) {
  return utcp_ioctl(mctx, sockid, (unsigned long)request, argp);
}

int mtcp_socket(mctx_t mctx, int domain, int type, int protocol) {
  return utcp_socket(mctx, domain, type, protocol);
}

int mtcp_bind(mctx_t mctx, int sockid, const struct sockaddr *addr, socklen_t addrlen) {
  return utcp_bind(mctx, sockid, addr, addrlen);
}

int mtcp_listen(mctx_t mctx, int sockid, int backlog) {
  return utcp_listen(mctx, sockid, backlog);
}

int mtcp_accept(mctx_t mctx, int sockid, struct sockaddr *addr, socklen_t *addrlen) {
  return utcp_accept(mctx, sockid, addr, addrlen);
}

/* mTCP builds a pool of source ports per core for one destination, those whose returning
 * packets RSS sends to the core's RX queue. utcp filters each connect's own ports the same way
 * (UTCP_CTX_RSS: api/socket.c, core/rss.h), so daddr and dport are not needed: every destination
 * works. A utcp context has one address: num_addr must be 1 and saddr_base (network order)
 * INADDR_ANY or the context's address, else EINVAL. The queue is the core the context was
 * created for by mtcp_create_context (another context: EINVAL), out of mtcp_getconf's
 * num_cores queues. */
int mtcp_init_rss(mctx_t mctx, in_addr_t saddr_base, int num_addr, in_addr_t daddr,
                  in_addr_t dport) {
  (void)daddr;
  (void)dport;
  int core = -1;
  pthread_mutex_lock(&g_lock);
  for (int i = 0; i < UTCP_RT_MAX_CORES; i++)
    if (mctx != NULL && g_core_ctx[i] == mctx) core = i;
  pthread_mutex_unlock(&g_lock);
  struct mtcp_conf conf;
  if (core < 0 || num_addr != 1 || mtcp_getconf(&conf) < 0) {
    errno = EINVAL;
    return -1;
  }
  struct utcp_ctx_rss rss = {saddr_base, (uint32_t)conf.num_cores, (uint32_t)core, 0};
  if (utcp_setsockopt(mctx, UTCP_CTX_FD, UTCP_SOL_CTX, UTCP_CTX_RSS, &rss, sizeof rss) < 0) {
    if (errno == EADDRNOTAVAIL) errno = EINVAL;
    return -1;
  }
  return 0;
}

int mtcp_connect(mctx_t mctx, int sockid, const struct sockaddr *addr, socklen_t addrlen) {
  return utcp_connect(mctx, sockid, addr, addrlen);
}

int mtcp_close(mctx_t mctx, int sockid) { return utcp_close(mctx, sockid); }

int mtcp_abort(mctx_t mctx, int sockid) { return utcp_abort(mctx, sockid); }

int mtcp_getsockname(mctx_t mctx, int sockid, struct sockaddr *addr, socklen_t *addrlen) {
  return utcp_getsockname(mctx, sockid, addr, addrlen);
}

int mtcp_getpeername(mctx_t mctx, int sockid, struct sockaddr *addr, socklen_t *addrlen) {
  return utcp_getpeername(mctx, sockid, addr, addrlen);
}

ssize_t mtcp_read(mctx_t mctx, int sockid, char *buf, size_t len) {
  return utcp_read(mctx, sockid, buf, len);
}

ssize_t mtcp_recv(mctx_t mctx, int sockid, char *buf, size_t len, int flags) {
  return utcp_recv(mctx, sockid, buf, len, flags);
}

ssize_t mtcp_readv(mctx_t mctx, int sockid, const struct iovec *iov, int numIOV) {
  return utcp_readv(mctx, sockid, iov, numIOV);
}

ssize_t mtcp_write(mctx_t mctx, int sockid, const char *buf, size_t len) {
  return utcp_write(mctx, sockid, buf, len);
}

ssize_t mtcp_writev(mctx_t mctx, int sockid, const struct iovec *iov, int numIOV) {
  return utcp_writev(mctx, sockid, iov, numIOV);
}

/* ---- epoll ---- */

_Static_assert(MTCP_EPOLLIN == EPOLLIN && MTCP_EPOLLOUT == EPOLLOUT && MTCP_EPOLLERR == EPOLLERR &&
                   MTCP_EPOLLHUP == EPOLLHUP && MTCP_EPOLLRDHUP == EPOLLRDHUP &&
                   MTCP_EPOLLPRI == EPOLLPRI && MTCP_EPOLLONESHOT == EPOLLONESHOT &&
                   MTCP_EPOLLET == (uint32_t)EPOLLET,
               "mTCP's epoll flags are Linux's");
_Static_assert(MTCP_EPOLL_CTL_ADD == EPOLL_CTL_ADD && MTCP_EPOLL_CTL_DEL == EPOLL_CTL_DEL &&
                   MTCP_EPOLL_CTL_MOD == EPOLL_CTL_MOD,
               "mTCP's epoll operations are Linux's");

int mtcp_epoll_create(mctx_t mctx, int size) { return utcp_epoll_create(mctx, size); }

int mtcp_epoll_ctl(mctx_t mctx, int epid, int op, int sockid, struct mtcp_epoll_event *event) {
  if (event == NULL) return utcp_epoll_ctl(mctx, epid, op, sockid, NULL);
  struct epoll_event ev;
  ev.events = event->events;
  ev.data.u64 = event->data.u64;
  return utcp_epoll_ctl(mctx, epid, op, sockid, &ev);
}

int mtcp_epoll_wait(mctx_t mctx, int epid, struct mtcp_epoll_event *events, int maxevents,
                    int timeout) {
  if (events == NULL) return utcp_epoll_wait(mctx, epid, NULL, maxevents, timeout);
  /* Converted through a bounded buffer: at most 256 events per call. */
  struct epoll_event ev[256];
  int max = maxevents > 256 ? 256 : maxevents;
  int n = utcp_epoll_wait(mctx, epid, ev, max, timeout);
  for (int i = 0; i < n; i++) {
    events[i].events = ev[i].events;
    events[i].data.u64 = ev[i].data.u64;
  }
  return n;
}
