/* BSD-like socket calls on top of the core connection API, with Linux's return values and
 * errno for each call in each state (net/ipv4/af_inet.c, tcp.c, net/core/sock.c). */
#include <limits.h>
#include <stdarg.h>
#include <string.h>

#include "api_impl.h"

/* Linux: SOCK_MIN_RCVBUF and SOCK_MIN_SNDBUF (2 * (2048 + sizeof(struct sk_buff))). */
#define MIN_RCVBUF_REP 2304
#define MIN_SNDBUF_REP 4608
#define CORE_MIN_BUF 2048
#define SOMAXCONN_LINUX 4096
#define LINUX_IOV_MAX 1024

/* ---- state ---- */

static int core_state(const struct utcp_ctx *ctx, const struct api_sock *s) {
  if (s->conn == 0) return UTCP_TCP_CLOSED;
  int st = utcp_tcp_state(ctx->stack, s->conn);
  return st < 0 ? UTCP_TCP_CLOSED : st;
}

/* These two run in every send, recv and readiness check: inlined. */
static inline __attribute__((always_inline)) enum api_lstate lstate_of(const struct api_sock *s,
                                                                       int core_st) {
  if (s->listening) return L_LISTEN;
  if (s->conn == 0) return L_CLOSE;
  switch (core_st) {
    case UTCP_TCP_SYN_SENT: return L_SYN_SENT;
    case UTCP_TCP_SYN_RECEIVED: return L_SYN_RECV;
    case UTCP_TCP_CLOSED:
    case UTCP_TCP_TIME_WAIT: return L_CLOSE; /* Linux: tcp_time_wait -> tcp_done */
    default: return L_OPEN;
  }
}

static enum api_lstate lstate(const struct utcp_ctx *ctx, const struct api_sock *s) {
  return lstate_of(s, core_state(ctx, s));
}

/* Linux sk_shutdown: what the application asked for, plus what the connection's state implies
 * (FIN received: RCV; tcp_done after a reset, a timeout or TIME-WAIT: both). */
static inline __attribute__((always_inline)) uint8_t shut_bits_of(const struct api_sock *s,
                                                                   int core_st) {
  uint8_t sh = s->shut;
  if (s->peer_fin) sh |= SHUT_RCV;
  if (s->conn == 0 || s->listening) return sh;
  switch (core_st) {
    case UTCP_TCP_CLOSED:
    case UTCP_TCP_TIME_WAIT:
    case UTCP_TCP_CLOSING:
    case UTCP_TCP_LAST_ACK: return SHUT_RCV | SHUT_SND;
    case UTCP_TCP_CLOSE_WAIT: return sh | SHUT_RCV;
    case UTCP_TCP_FIN_WAIT_1:
    case UTCP_TCP_FIN_WAIT_2: return sh | SHUT_SND;
    default: return sh;
  }
}

uint32_t api_sock_poll(struct utcp_ctx *ctx, struct api_sock *s) {
  if (s->listening)
    return utcp_tcp_readable(ctx->stack, s->conn) > 0 ? EPOLLIN | EPOLLRDNORM : 0;
  /* One lookup for state, readable and writable: this runs for every ready socket. */
  struct utcp_tcp_pollinfo pi = {UTCP_TCP_CLOSED, 0, 0};
  if (s->conn != 0 && utcp_tcp_pollinfo(ctx->stack, s->conn, &pi) < 0) pi.state = UTCP_TCP_CLOSED;
  enum api_lstate st = lstate_of(s, pi.state);
  uint8_t sh = shut_bits_of(s, pi.state);
  uint32_t m = 0;
  if (sh == (SHUT_RCV | SHUT_SND) || st == L_CLOSE) m |= EPOLLHUP;
  if (sh & SHUT_RCV) m |= EPOLLIN | EPOLLRDNORM | EPOLLRDHUP;
  if (st != L_SYN_SENT && st != L_SYN_RECV) {
    if (s->conn != 0 && pi.readable > 0) m |= EPOLLIN | EPOLLRDNORM;
    if ((sh & SHUT_SND) || s->conn == 0 || pi.writable > 0) m |= EPOLLOUT | EPOLLWRNORM;
  }
  if (s->err != 0) m |= EPOLLERR;
  return m;
}

static int take_err(struct api_sock *s) {
  int e = s->err;
  s->err = 0;
  return e;
}

/* ---- ports ---- */

/* Keeps port_excl right after a socket's SO_REUSEADDR or listening state changed. */
static void port_recount(struct utcp_ctx *ctx, struct api_sock *s) {
  bool excl = s->bport != 0 && !(s->reuse && !s->listening);
  if (excl == s->excl) return;
  if (excl) {
    ctx->port_excl[s->bport]++;
  } else {
    ctx->port_excl[s->bport]--;
  }
  s->excl = excl;
}

static void port_hold(struct utcp_ctx *ctx, struct api_sock *s, uint32_t addr, uint16_t port) {
  s->baddr = addr;
  s->bport = port;
  s->excl = false;
  ctx->port_refs[port]++;
  port_recount(ctx, s);
}

static void port_drop(struct utcp_ctx *ctx, struct api_sock *s) {
  if (s->bport != 0) {
    if (s->excl) ctx->port_excl[s->bport]--;
    ctx->port_refs[s->bport]--;
  }
  s->excl = false;
  s->bport = 0;
  s->baddr = 0;
  s->user_bound = false;
}

/* Linux inet_csk_bind_conflict on a host with one address: another socket on the port
 * conflicts unless both set SO_REUSEADDR and the other is not listening. */
static bool port_conflict(const struct utcp_ctx *ctx, const struct api_sock *self, uint16_t port) {
  /* Counts, not a scan (bind must not walk a million sockets); self may already hold the
   * port (listen after bind), and does not conflict with itself. */
  bool mine = self->bport == port;
  uint32_t others = ctx->port_refs[port] - (mine ? 1u : 0u);
  uint32_t others_excl = ctx->port_excl[port] - (mine && self->excl ? 1u : 0u);
  if (others == 0) return false;
  return !self->reuse || others_excl != 0;
}

static uint16_t eph_next(struct utcp_ctx *ctx) {
  const struct utcp_tcp_config *tc = &ctx->cfg.stack.tcp;
  uint16_t p = ctx->eph_next;
  ctx->eph_next = p >= tc->ephemeral_hi ? tc->ephemeral_lo : (uint16_t)(p + 1);
  return p;
}

static uint32_t eph_range(const struct utcp_ctx *ctx) {
  const struct utcp_tcp_config *tc = &ctx->cfg.stack.tcp;
  return (uint32_t)tc->ephemeral_hi - tc->ephemeral_lo + 1;
}

/* mTCP's address pool per core (CreateAddressPoolPerCore): with the RSS filter on, a source
 * port fits when the NIC sends the returning packets (dst:dport -> us:port) to our queue. */
static bool eph_fits_rss(const struct utcp_ctx *ctx, uint32_t dst, uint16_t dport, uint16_t port) {
  const struct utcp_ctx_config *c = &ctx->cfg;
  if (c->rss_queues <= 1) return true;
  uint32_t h = utcp_rss_hash_v4(utcp_rss_key_symmetric(), dst, c->stack.ip, dport, port);
  return utcp_rss_queue(h, c->rss_reta_size, c->rss_queues) == c->rss_queue;
}

/* ---- socket / bind ---- */

int utcp_socket(struct utcp_ctx *ctx, int domain, int type, int protocol) {
  API_REMOTE(ctx, .op = API_OP_SOCKET, .a = domain, .b = type, .c = protocol);
  if (ctx == NULL) return api_fail(EINVAL);
  int flags = type & ~0xf;
  type &= 0xf;
  if (flags & ~(SOCK_NONBLOCK | SOCK_CLOEXEC)) return api_fail(EINVAL);
  if (domain != AF_INET) return api_fail(EAFNOSUPPORT);
  if (type <= 0 || type > SOCK_PACKET) return api_fail(EINVAL);
  if (type != SOCK_STREAM) return api_fail(ESOCKTNOSUPPORT);
  if (protocol != 0 && protocol != IPPROTO_TCP) return api_fail(EPROTONOSUPPORT);
  int fd = api_fd_alloc(ctx, API_SOCK);
  if (fd < 0) return -1;
  struct api_file *f = &ctx->files[fd];
  f->nonblock = (flags & SOCK_NONBLOCK) != 0;
  f->cloexec = (flags & SOCK_CLOEXEC) != 0;
  struct api_sock *s = &f->u.s;
  s->linger = -1;
  s->rcvbuf_rep = (int)ctx->cfg.stack.tcp.rcvbuf_bytes;
  s->sndbuf_rep = (int)ctx->cfg.stack.tcp.sndbuf_bytes;
  return fd;
}

/* Reads a sockaddr_in the way inet_bind / tcp_v4_connect check it. */
static int get_sin(const struct sockaddr *addr, socklen_t len, struct sockaddr_in *out) {
  if (len > sizeof(struct sockaddr_storage)) return EINVAL;
  if (addr == NULL) return len == 0 ? EINVAL : EFAULT;
  if (len < sizeof *out) return EINVAL;
  memcpy(out, addr, sizeof *out);
  return 0;
}

int utcp_bind(struct utcp_ctx *ctx, int fd, const struct sockaddr *addr, socklen_t addrlen) {
  API_REMOTE(ctx, .op = API_OP_BIND, .fd = fd, .in = addr, .inlen = addrlen);
  struct api_sock *s = api_sock(ctx, fd, NULL);
  if (s == NULL) return -1;
  struct sockaddr_in sin;
  int e = get_sin(addr, addrlen, &sin);
  if (e != 0) return api_fail(e);
  uint32_t ip = ntohl(sin.sin_addr.s_addr);
  /* inet_bind: AF_UNSPEC is accepted for INADDR_ANY only (compatibility). */
  if (sin.sin_family != AF_INET && !(sin.sin_family == AF_UNSPEC && ip == INADDR_ANY))
    return api_fail(EAFNOSUPPORT);
  if (ip != INADDR_ANY && ip != ctx->cfg.stack.ip) return api_fail(EADDRNOTAVAIL);
  if (s->bport != 0 || s->listening || s->conn != 0) return api_fail(EINVAL);
  uint16_t port = ntohs(sin.sin_port);
  if (port == 0) {
    uint32_t range = eph_range(ctx), i;
    for (i = 0; i < range; i++) {
      port = eph_next(ctx);
      if (ctx->port_refs[port] == 0) break;
    }
    if (i == range) return api_fail(EADDRINUSE);
  } else if (port_conflict(ctx, s, port)) {
    return api_fail(EADDRINUSE);
  }
  port_hold(ctx, s, ip, port);
  s->user_bound = ntohs(sin.sin_port) != 0;
  return 0;
}

/* ---- options onto the core ---- */

static size_t sock_opts(const struct api_sock *s, int (*o)[2]) {
  size_t n = 0;
  if (s->nodelay) o[n][0] = UTCP_TCPOPT_NODELAY, o[n++][1] = 1;
  if (s->sndbuf) o[n][0] = UTCP_TCPOPT_SNDBUF, o[n++][1] = s->sndbuf;
  if (s->rcvbuf) o[n][0] = UTCP_TCPOPT_RCVBUF, o[n++][1] = s->rcvbuf;
  if (s->maxseg) o[n][0] = UTCP_TCPOPT_MAXSEG, o[n++][1] = s->maxseg;
  if (s->keepidle) o[n][0] = UTCP_TCPOPT_KEEPIDLE, o[n++][1] = s->keepidle;
  if (s->keepintvl) o[n][0] = UTCP_TCPOPT_KEEPINTVL, o[n++][1] = s->keepintvl;
  if (s->keepcnt) o[n][0] = UTCP_TCPOPT_KEEPCNT, o[n++][1] = s->keepcnt;
  if (s->keepalive) o[n][0] = UTCP_TCPOPT_KEEPALIVE, o[n++][1] = 1;
  if (s->linger >= 0) o[n][0] = UTCP_TCPOPT_LINGER, o[n++][1] = s->linger;
  if (s->reuse) o[n][0] = UTCP_TCPOPT_REUSEADDR, o[n++][1] = 1;
  return n;
}

/* ---- listen / accept ---- */

int utcp_listen(struct utcp_ctx *ctx, int fd, int backlog) {
  API_REMOTE(ctx, .op = API_OP_LISTEN, .fd = fd, .a = backlog);
  struct api_sock *s = api_sock(ctx, fd, NULL);
  if (s == NULL) return -1;
  api_sync(ctx);
  if (s->ss != SS_UNCONN) return api_fail(EINVAL);
  /* inet_listen: a backlog above somaxconn (or negative, as unsigned) is clamped. */
  uint32_t bl = (unsigned)backlog > SOMAXCONN_LINUX ? SOMAXCONN_LINUX : (uint32_t)backlog;
  if (s->listening) {
    s->backlog = bl;
    return 0;
  }
  if (s->conn != 0) return api_fail(EINVAL);
  uint16_t port = s->bport;
  utcp_conn_t l = 0;
  /* Linux lets backlog + 1 connections wait (sk_acceptq_is_full uses >). */
  uint32_t core_bl = bl + 1 > ctx->cfg.stack.tcp.max_conns ? ctx->cfg.stack.tcp.max_conns : bl + 1;
  if (port != 0) {
    if (port_conflict(ctx, s, port)) return api_fail(EADDRINUSE);
    int rc = utcp_tcp_listen(ctx->stack, port, core_bl, &l);
    if (rc < 0) return api_fail(utcp_errno_from_err(rc));
  } else {
    /* inet_csk_listen_start -> get_port(0): an ephemeral port. */
    uint32_t range = eph_range(ctx), i;
    int rc = UTCP_ERR_ADDRINUSE;
    for (i = 0; i < range && rc == UTCP_ERR_ADDRINUSE; i++) {
      port = eph_next(ctx);
      if (ctx->port_refs[port] != 0) continue;
      rc = utcp_tcp_listen(ctx->stack, port, core_bl, &l);
    }
    if (rc < 0) return api_fail(utcp_errno_from_err(rc));
    port_hold(ctx, s, INADDR_ANY, port);
  }
  int opts[16][2];
  size_t n = sock_opts(s, opts);
  for (size_t i = 0; i < n; i++) utcp_tcp_setopt(ctx->stack, l, opts[i][0], opts[i][1]);
  s->conn = l;
  s->listening = true;
  port_recount(ctx, s);
  s->backlog = bl;
  api_map_put(ctx, l, fd);
  return 0;
}

static int put_addr(struct sockaddr *addr, socklen_t *addrlen, uint32_t ip, uint16_t port) {
  if (addr == NULL || addrlen == NULL) return EFAULT;
  if ((int)*addrlen < 0) return EINVAL;
  struct sockaddr_in sin = {0};
  sin.sin_family = AF_INET;
  sin.sin_port = htons(port);
  sin.sin_addr.s_addr = htonl(ip);
  size_t n = *addrlen < sizeof sin ? *addrlen : sizeof sin;
  memcpy(addr, &sin, n);
  *addrlen = sizeof sin;
  return 0;
}

int utcp_accept4(struct utcp_ctx *ctx, int fd, struct sockaddr *addr, socklen_t *addrlen,
                 int flags) {
  API_REMOTE(ctx, .op = API_OP_ACCEPT4, .fd = fd, .out = addr, .lenp = addrlen, .a = flags);
  if (flags & ~(SOCK_NONBLOCK | SOCK_CLOEXEC)) return api_fail(EINVAL);
  struct api_file *f;
  struct api_sock *s = api_sock(ctx, fd, &f);
  if (s == NULL) return -1;
  if (ctx->files_in_use == ctx->n_files) return api_fail(EMFILE);
  if (!s->listening) return api_fail(EINVAL);
  if (addr != NULL && addrlen == NULL) return api_fail(EFAULT);
  if (addr != NULL && (int)*addrlen < 0) return api_fail(EINVAL);
  utcp_conn_t c;
  for (;;) {
    api_sync(ctx);
    if (ctx->files_in_use == ctx->n_files) return api_fail(EMFILE);
    int rc = utcp_tcp_accept(ctx->stack, s->conn, &c);
    if (rc == 0) break;
    if (rc != UTCP_ERR_AGAIN) return api_fail(utcp_errno_from_err(rc));
    if (f->nonblock || !api_can_wait(ctx)) return api_fail(EAGAIN);
    int e = api_wait(ctx, UINT64_MAX);
    if (e != 0) return api_fail(e);
    /* The listener may have been closed or shut down while this call waited. */
    if (api_sock(ctx, fd, NULL) != s || !s->listening) return api_fail(EINVAL);
  }
  int nfd = api_fd_alloc(ctx, API_SOCK); /* cannot fail: checked just before */
  if (nfd < 0) {
    utcp_tcp_abort(ctx->stack, c, api_now(ctx));
    return -1;
  }
  struct api_file *nf = &ctx->files[nfd];
  s = &ctx->files[fd].u.s;
  nf->nonblock = (flags & SOCK_NONBLOCK) != 0;
  nf->cloexec = (flags & SOCK_CLOEXEC) != 0;
  struct api_sock *n = &nf->u.s;
  /* The child inherits the listener's options (Linux: sk_clone_lock). */
  *n = *s;
  n->listening = false;
  n->items = 0;
  n->err = 0;
  n->shut = 0;
  n->peer_fin = false;
  n->nospace = false;
  n->backlog = 0;
  n->ss = SS_CONNECTED;
  n->conn = c;
  n->user_bound = false;
  n->bport = 0;
  struct utcp_tcp_info info;
  utcp_tcp_info(ctx->stack, c, &info);
  port_hold(ctx, n, info.laddr, info.lport);
  api_map_put(ctx, c, nfd);
  if (addr != NULL) put_addr(addr, addrlen, info.raddr, info.rport);
  return nfd;
}

int utcp_accept(struct utcp_ctx *ctx, int fd, struct sockaddr *addr, socklen_t *addrlen) {
  return utcp_accept4(ctx, fd, addr, addrlen, 0);
}

/* ---- connect ---- */

/* Ends the association after a failed connect or AF_UNSPEC (Linux tcp_disconnect): the socket
 * is as new, but keeps a port the application bound. */
static void disconnect(struct utcp_ctx *ctx, int fd, struct api_sock *s, bool rst) {
  if (s->conn != 0) {
    api_map_del(ctx, s->conn);
    if (rst) {
      utcp_tcp_abort(ctx->stack, s->conn, api_now(ctx));
    } else {
      utcp_tcp_close(ctx->stack, s->conn, api_now(ctx));
    }
    s->conn = 0;
  }
  s->listening = false;
  port_recount(ctx, s);
  s->shut = 0;
  s->peer_fin = false;
  s->nospace = false;
  if (!s->user_bound) port_drop(ctx, s);
  s->ss = SS_UNCONN;
  api_sock_wake(ctx, fd, true, 0);
}

static int start_connect(struct utcp_ctx *ctx, int fd, struct api_sock *s,
                         const struct sockaddr_in *sin) {
  uint32_t dst = ntohl(sin->sin_addr.s_addr);
  uint16_t dport = ntohs(sin->sin_port);
  /* tcp_v4_connect: broadcast or multicast routes are ENETUNREACH. */
  if (dst == INADDR_ANY || dst == INADDR_BROADCAST || (dst >> 28) == 0xe) return ENETUNREACH;
  if (dport == 0) return ECONNREFUSED; /* nothing listens on port 0 */
  int opts[16][2];
  size_t n = sock_opts(s, opts);
  uint64_t now = api_now(ctx);
  utcp_conn_t c = 0;
  int rc;
  if (s->bport != 0) {
    rc = utcp_tcp_connect_opts(ctx->stack, dst, dport, s->bport, (const int(*)[2])opts, n, now, &c);
    if (rc == UTCP_ERR_ADDRINUSE) return EADDRNOTAVAIL; /* __inet_hash_connect on a bound port */
  } else {
    uint32_t range = eph_range(ctx), i;
    uint16_t port = 0;
    rc = UTCP_ERR_ADDRNOTAVAIL;
    for (i = 0; i < range; i++) {
      port = eph_next(ctx);
      if (ctx->port_refs[port] != 0 || !eph_fits_rss(ctx, dst, dport, port)) continue;
      rc = utcp_tcp_connect_opts(ctx->stack, dst, dport, port, (const int(*)[2])opts, n, now, &c);
      if (rc != UTCP_ERR_ADDRINUSE) break;
    }
    if (rc == UTCP_ERR_ADDRINUSE) rc = UTCP_ERR_ADDRNOTAVAIL;
    if (rc == 0) port_hold(ctx, s, INADDR_ANY, port);
  }
  if (rc == UTCP_ERR_HOSTUNREACH) return ENETUNREACH;
  if (rc < 0) return utcp_errno_from_err(rc);
  s->conn = c;
  s->shut = 0;
  s->peer_fin = false;
  api_map_put(ctx, c, fd);
  return 0;
}

int utcp_connect(struct utcp_ctx *ctx, int fd, const struct sockaddr *addr, socklen_t addrlen) {
  API_REMOTE(ctx, .op = API_OP_CONNECT, .fd = fd, .in = addr, .inlen = addrlen);
  struct api_file *f;
  struct api_sock *s = api_sock(ctx, fd, &f);
  if (s == NULL) return -1;
  api_sync(ctx);
  if (addrlen > sizeof(struct sockaddr_storage)) return api_fail(EINVAL);
  if (addr == NULL) return api_fail(addrlen == 0 ? EINVAL : EFAULT);
  if (addrlen < sizeof addr->sa_family) return api_fail(EINVAL);
  if (addr->sa_family == AF_UNSPEC) {
    /* __inet_stream_connect: AF_UNSPEC disconnects. */
    bool rst = s->conn != 0 && !s->listening && lstate(ctx, s) != L_CLOSE;
    if (s->listening && s->conn != 0) {
      api_map_del(ctx, s->conn);
      utcp_tcp_close(ctx->stack, s->conn, api_now(ctx));
      s->conn = 0;
      s->listening = false;
      port_recount(ctx, s);
    }
    disconnect(ctx, fd, s, rst);
    return 0;
  }
  int err;
  switch (s->ss) {
    case SS_CONNECTED:
      return api_fail(EISCONN);
    case SS_CONNECTING:
      err = EALREADY;
      break;
    case SS_UNCONN: {
      if (s->listening || s->conn != 0) return api_fail(EISCONN);
      struct sockaddr_in sin;
      int e = get_sin(addr, addrlen, &sin);
      if (e != 0) return api_fail(e);
      if (sin.sin_family != AF_INET) return api_fail(EAFNOSUPPORT);
      e = start_connect(ctx, fd, s, &sin);
      if (e != 0) return api_fail(e);
      s->ss = SS_CONNECTING;
      err = EINPROGRESS;
      break;
    }
    default:
      return api_fail(EINVAL);
  }
  for (;;) {
    enum api_lstate st = lstate(ctx, s);
    if (st != L_SYN_SENT && st != L_SYN_RECV) break;
    if (f->nonblock || !api_can_wait(ctx)) return api_fail(err);
    int e = api_wait(ctx, UINT64_MAX);
    if (e != 0) return api_fail(e);
    if (api_sock(ctx, fd, NULL) != s) return api_fail(EBADF);
  }
  if (lstate(ctx, s) == L_CLOSE) {
    /* Reset, refused or timed out: report it once and start over (sock_error path). */
    int e = s->err != 0 ? take_err(s) : ECONNABORTED;
    disconnect(ctx, fd, s, false);
    return api_fail(e);
  }
  s->ss = SS_CONNECTED;
  return 0;
}

/* ---- receive ---- */

/* Reads into iov (peek only with one buffer). Blocks for the first byte unless non-blocking,
 * and for all of it with MSG_WAITALL. */
static ssize_t recv_iov(struct utcp_ctx *ctx, int fd, const struct iovec *iov, int cnt,
                        size_t total, int flags) {
  struct api_file *f;
  struct api_sock *s = api_sock(ctx, fd, &f);
  if (s == NULL) return -1;
  api_sync(ctx);
  if (s->listening) return api_fail(ENOTCONN);
  if (flags & MSG_OOB) return api_fail(EINVAL); /* no urgent data, ever */
  bool nb = f->nonblock || (flags & MSG_DONTWAIT) || !api_can_wait(ctx);
  bool peek = (flags & MSG_PEEK) != 0;
  bool waitall = (flags & MSG_WAITALL) && !peek;
  size_t copied = 0;
  int vi = 0;
  size_t voff = 0;
  for (;;) {
    /* One lookup for what is readable and the state the checks below need. */
    struct utcp_tcp_pollinfo pi = {UTCP_TCP_CLOSED, 0, 0};
    if (s->conn != 0 && utcp_tcp_pollinfo(ctx->stack, s->conn, &pi) < 0) pi.state = UTCP_TCP_CLOSED;
    int avail = pi.readable;
    if (avail > 0) {
      if (total == 0) return 0;
      while (copied < total && avail > 0) {
        while (vi < cnt && voff == iov[vi].iov_len) vi++, voff = 0;
        if (iov[vi].iov_base == NULL) return copied ? (ssize_t)copied : api_fail(EFAULT);
        int n = utcp_tcp_recv(ctx->stack, s->conn, (uint8_t *)iov[vi].iov_base + voff,
                              iov[vi].iov_len - voff, peek, api_now(ctx));
        if (n <= 0) break;
        copied += (size_t)n;
        voff += (size_t)n;
        avail -= n;
        if (peek) break;
      }
      if (!waitall || copied == total) return (ssize_t)copied;
    }
    if (copied > 0 && !waitall) return (ssize_t)copied;
    /* Nothing (more) to read now: tcp_recvmsg's checks, in its order. */
    if (s->peer_fin) return (ssize_t)copied;
    if (s->err != 0) return copied ? (ssize_t)copied : api_fail(take_err(s));
    /* Reading changes no connection state: pi.state is still current. */
    int cst = pi.state;
    if (shut_bits_of(s, cst) & SHUT_RCV) return (ssize_t)copied;
    if (lstate_of(s, cst) == L_CLOSE) return copied ? (ssize_t)copied : api_fail(ENOTCONN);
    if (nb) return copied ? (ssize_t)copied : api_fail(EAGAIN);
    int e = api_wait(ctx, UINT64_MAX);
    if (e != 0) return copied ? (ssize_t)copied : api_fail(e);
    if (api_sock(ctx, fd, NULL) != s) return copied ? (ssize_t)copied : api_fail(EBADF);
  }
}

ssize_t utcp_recv(struct utcp_ctx *ctx, int fd, void *buf, size_t len, int flags) {
  API_REMOTE(ctx, .op = API_OP_RECV, .fd = fd, .out = buf, .len = len, .a = flags);
  struct iovec v = {buf, len};
  return recv_iov(ctx, fd, &v, 1, len, flags);
}

ssize_t utcp_read(struct utcp_ctx *ctx, int fd, void *buf, size_t len) {
  API_REMOTE(ctx, .op = API_OP_READ, .fd = fd, .out = buf, .len = len);
  struct api_file *f = api_file(ctx, fd);
  if (f == NULL) return api_fail(EBADF);
  if (f->kind != API_SOCK) return api_fail(EINVAL); /* an epoll file cannot be read */
  if (len == 0) return 0; /* sock_read_iter: a zero-length read returns 0 at once */
  return utcp_recv(ctx, fd, buf, len, 0);
}

/* Checks an iovec array as the kernel's import_iovec does; the total, or -1. */
static ssize_t iov_total(const struct iovec *iov, int cnt) {
  if (cnt < 0 || cnt > LINUX_IOV_MAX) return api_fail(EINVAL);
  if (cnt > 0 && iov == NULL) return api_fail(EFAULT);
  size_t total = 0;
  for (int i = 0; i < cnt; i++) {
    if (iov[i].iov_len > (size_t)SSIZE_MAX - total) return api_fail(EINVAL);
    total += iov[i].iov_len;
  }
  return (ssize_t)total;
}

ssize_t utcp_readv(struct utcp_ctx *ctx, int fd, const struct iovec *iov, int iovcnt) {
  API_REMOTE(ctx, .op = API_OP_READV, .fd = fd, .iov = iov, .a = iovcnt);
  if (api_sock(ctx, fd, NULL) == NULL) return -1;
  ssize_t total = iov_total(iov, iovcnt);
  if (total <= 0) return total;
  return recv_iov(ctx, fd, iov, iovcnt, (size_t)total, 0);
}

/* ---- send ---- */

static ssize_t send_iov(struct utcp_ctx *ctx, int fd, const struct iovec *iov, int cnt,
                        size_t total, int flags) {
  struct api_file *f;
  struct api_sock *s = api_sock(ctx, fd, &f);
  if (s == NULL) return -1;
  api_sync(ctx);
  if (flags & MSG_OOB) return api_fail(EOPNOTSUPP); /* urgent data is not implemented */
  bool nb = f->nonblock || (flags & MSG_DONTWAIT) || !api_can_wait(ctx);
  size_t copied = 0;
  int vi = 0;
  size_t voff = 0;
  for (;;) {
    int cst = core_state(ctx, s);
    enum api_lstate st = lstate_of(s, cst);
    if (st == L_SYN_SENT || st == L_SYN_RECV) {
      /* sk_stream_wait_connect */
      if (s->err != 0) return api_fail(take_err(s));
      if (nb) return api_fail(EAGAIN);
      int e = api_wait(ctx, UINT64_MAX);
      if (e != 0) return api_fail(e);
      if (api_sock(ctx, fd, NULL) != s) return api_fail(EBADF);
      continue;
    }
    /* tcp_sendmsg: a pending error first, then EPIPE for a closed send side. */
    if (s->err != 0) return copied ? (ssize_t)copied : api_fail(take_err(s));
    if ((shut_bits_of(s, cst) & SHUT_SND) || st != L_OPEN)
      return copied ? (ssize_t)copied : api_fail(EPIPE);
    if (total == 0) return 0;
    /* Queue every piece, then send once (tcp_sendmsg copies the whole iovec before it
     * pushes): a writev is segmented as one write. */
    size_t queued_before = copied;
    int err = 0; /* an errno */
    while (copied < total) {
      while (vi < cnt && voff == iov[vi].iov_len) vi++, voff = 0;
      if (iov[vi].iov_base == NULL) {
        err = EFAULT;
        break;
      }
      size_t want = iov[vi].iov_len - voff;
      int n = utcp_tcp_send_more(ctx->stack, s->conn, (const uint8_t *)iov[vi].iov_base + voff,
                                 want, true, api_now(ctx));
      if (n == UTCP_ERR_AGAIN) break;
      if (n < 0) {
        err = utcp_errno_from_err(n);
        break;
      }
      copied += (size_t)n;
      voff += (size_t)n;
      if ((size_t)n < want) break;
    }
    if (copied > queued_before) utcp_tcp_push(ctx->stack, s->conn, api_now(ctx));
    if (err != 0) return copied ? (ssize_t)copied : api_fail(err);
    if (copied == total) return (ssize_t)copied;
    s->nospace = true;
    if (nb) return copied ? (ssize_t)copied : api_fail(EAGAIN);
    int e = api_wait(ctx, UINT64_MAX);
    if (e != 0) return copied ? (ssize_t)copied : api_fail(e);
    if (api_sock(ctx, fd, NULL) != s) return copied ? (ssize_t)copied : api_fail(EBADF);
  }
}

ssize_t utcp_send(struct utcp_ctx *ctx, int fd, const void *buf, size_t len, int flags) {
  API_REMOTE(ctx, .op = API_OP_SEND, .fd = fd, .in = buf, .len = len, .a = flags);
  if (api_sock(ctx, fd, NULL) == NULL) return -1;
  if (buf == NULL && len > 0) return api_fail(EFAULT);
  struct iovec v = {(void *)(uintptr_t)buf, len};
  return send_iov(ctx, fd, &v, 1, len, flags);
}

ssize_t utcp_write(struct utcp_ctx *ctx, int fd, const void *buf, size_t len) {
  API_REMOTE(ctx, .op = API_OP_WRITE, .fd = fd, .in = buf, .len = len);
  struct api_file *f = api_file(ctx, fd);
  if (f == NULL) return api_fail(EBADF);
  if (f->kind != API_SOCK) return api_fail(EINVAL);
  return utcp_send(ctx, fd, buf, len, 0);
}

ssize_t utcp_writev(struct utcp_ctx *ctx, int fd, const struct iovec *iov, int iovcnt) {
  API_REMOTE(ctx, .op = API_OP_WRITEV, .fd = fd, .iov = iov, .a = iovcnt);
  if (api_sock(ctx, fd, NULL) == NULL) return -1;
  ssize_t total = iov_total(iov, iovcnt);
  if (total < 0) return -1;
  return send_iov(ctx, fd, iov, iovcnt, (size_t)total, 0);
}

/* ---- shutdown / close ---- */

int utcp_shutdown(struct utcp_ctx *ctx, int fd, int how) {
  API_REMOTE(ctx, .op = API_OP_SHUTDOWN, .fd = fd, .a = how);
  struct api_sock *s = api_sock(ctx, fd, NULL);
  if (s == NULL) return -1;
  /* inet_shutdown: SHUT_RD/WR/RDWR become RCV/SEND/both shutdown bits. */
  if (how < SHUT_RD || how > SHUT_RDWR) return api_fail(EINVAL);
  api_sync(ctx);
  uint8_t bits = (uint8_t)(how + 1);
  enum api_lstate st = lstate(ctx, s);
  if (s->ss == SS_CONNECTING)
    s->ss = (st == L_SYN_SENT || st == L_SYN_RECV || st == L_CLOSE) ? SS_DISCONNECTING
                                                                      : SS_CONNECTED;
  int rc = 0;
  switch (st) {
    case L_CLOSE:
      s->shut |= bits; /* sets the bits anyway, so poll reports them */
      rc = api_fail(ENOTCONN);
      break;
    case L_LISTEN:
      if (bits & SHUT_RCV) {
        /* Linux: tcp_disconnect stops listening; the socket is unconnected again. */
        api_map_del(ctx, s->conn);
        utcp_tcp_close(ctx->stack, s->conn, api_now(ctx));
        s->conn = 0;
        s->listening = false;
        port_recount(ctx, s);
        s->ss = SS_UNCONN;
      }
      break;
    case L_SYN_SENT:
      /* Linux: tcp_disconnect abandons the attempt and records ECONNRESET. */
      disconnect(ctx, fd, s, true);
      s->err = ECONNRESET;
      break;
    default:
      s->shut |= bits;
      /* Only the send side goes to the core: Linux keeps queued and arriving data readable
       * after SHUT_RD, where the core's SHUT_RD would discard it. */
      if (bits & SHUT_SND) {
        int r = utcp_tcp_shutdown(ctx->stack, s->conn, UTCP_SHUT_WR, api_now(ctx));
        if (r < 0 && r != UTCP_ERR_NOTCONN) rc = api_fail(utcp_errno_from_err(r));
      }
      break;
  }
  api_sock_wake(ctx, fd, true, 0);
  return rc;
}

void api_sock_close(struct utcp_ctx *ctx, int fd, bool abort) {
  struct api_sock *s = &ctx->files[fd].u.s;
  api_sock_unregister(ctx, fd);
  if (s->conn != 0) {
    api_map_del(ctx, s->conn);
    if (abort) {
      utcp_tcp_abort(ctx->stack, s->conn, api_now(ctx));
    } else {
      utcp_tcp_close(ctx->stack, s->conn, api_now(ctx));
    }
    s->conn = 0;
  }
  port_drop(ctx, s);
  api_fd_release(ctx, fd);
}

int utcp_close(struct utcp_ctx *ctx, int fd) {
  API_REMOTE(ctx, .op = API_OP_CLOSE, .fd = fd);
  struct api_file *f = api_file(ctx, fd);
  if (f == NULL) return api_fail(EBADF);
  api_sync(ctx);
  if (f->kind == API_EPOLL) {
    api_epoll_close(ctx, fd);
    api_fd_release(ctx, fd);
  } else {
    api_sock_close(ctx, fd, false);
  }
  return 0;
}

int utcp_abort(struct utcp_ctx *ctx, int fd) {
  API_REMOTE(ctx, .op = API_OP_ABORT, .fd = fd);
  if (api_sock(ctx, fd, NULL) == NULL) return -1;
  api_sync(ctx);
  api_sock_close(ctx, fd, true);
  return 0;
}

/* ---- names ---- */

int utcp_getsockname(struct utcp_ctx *ctx, int fd, struct sockaddr *addr, socklen_t *addrlen) {
  API_REMOTE(ctx, .op = API_OP_GETSOCKNAME, .fd = fd, .out = addr, .lenp = addrlen);
  struct api_sock *s = api_sock(ctx, fd, NULL);
  if (s == NULL) return -1;
  uint32_t ip = s->baddr;
  uint16_t port = s->bport;
  struct utcp_tcp_info info;
  if (s->conn != 0 && !s->listening && utcp_tcp_info(ctx->stack, s->conn, &info) == 0) {
    ip = info.laddr;
    port = info.lport;
  }
  int e = put_addr(addr, addrlen, ip, port);
  return e != 0 ? api_fail(e) : 0;
}

int utcp_getpeername(struct utcp_ctx *ctx, int fd, struct sockaddr *addr, socklen_t *addrlen) {
  API_REMOTE(ctx, .op = API_OP_GETPEERNAME, .fd = fd, .out = addr, .lenp = addrlen);
  struct api_sock *s = api_sock(ctx, fd, NULL);
  if (s == NULL) return -1;
  api_sync(ctx);
  enum api_lstate st = lstate(ctx, s);
  /* inet_getname: no peer in CLOSE, SYN-SENT or LISTEN. */
  if (st == L_CLOSE || st == L_SYN_SENT || st == L_LISTEN) return api_fail(ENOTCONN);
  struct utcp_tcp_info info;
  if (utcp_tcp_info(ctx->stack, s->conn, &info) < 0) return api_fail(ENOTCONN);
  int e = put_addr(addr, addrlen, info.raddr, info.rport);
  return e != 0 ? api_fail(e) : 0;
}

/* ---- options ---- */

static int apply(struct utcp_ctx *ctx, struct api_sock *s, int opt, int value) {
  if (s->conn == 0) return 0;
  int rc = utcp_tcp_setopt(ctx->stack, s->conn, opt, value);
  return rc < 0 ? utcp_errno_from_err(rc) : 0;
}

static int clamp_buf(const struct utcp_ctx *ctx, int val, int min_rep, int *core) {
  /* sock_setsockopt: min(val, max) doubled, at least SOCK_MIN_*BUF. */
  long v = val < 0 ? 0 : val;
  if (v > (long)ctx->cfg.sockbuf_max_bytes) v = (long)ctx->cfg.sockbuf_max_bytes;
  long rep = 2 * v < min_rep ? min_rep : 2 * v;
  *core = (int)(rep / 2 < CORE_MIN_BUF ? CORE_MIN_BUF : rep / 2);
  return (int)rep;
}

static int put_opt(void *optval, socklen_t *optlen, const void *v, size_t size) {
  /* sk_getsockopt / tcp_getsockopt: a shorter buffer gets a truncated value. */
  size_t n = *optlen < size ? *optlen : size;
  if (n > 0 && optval == NULL) return api_fail(EFAULT);
  memcpy(optval, v, n);
  *optlen = (socklen_t)n;
  return 0;
}

/* ---- context options (fd UTCP_CTX_FD, level UTCP_SOL_CTX) ---- */

static int ctx_setopt(struct utcp_ctx *ctx, int optname, const void *optval, socklen_t optlen) {
  if (optname != UTCP_CTX_RSS) return api_fail(ENOPROTOOPT);
  struct utcp_ctx_rss r;
  if (optlen < sizeof r) return api_fail(EINVAL);
  if (optval == NULL) return api_fail(EFAULT);
  memcpy(&r, optval, sizeof r);
  uint32_t reta = r.reta_size != 0 ? r.reta_size : ctx->cfg.rss_reta_size;
  if (utcp_rss_check(r.queues, r.queue, reta) < 0) return api_fail(EINVAL);
  /* One address per context: the filter is for connects from it. */
  if (r.laddr != htonl(INADDR_ANY) && r.laddr != htonl(ctx->cfg.stack.ip))
    return api_fail(EADDRNOTAVAIL);
  ctx->cfg.rss_queues = r.queues;
  ctx->cfg.rss_queue = r.queue;
  ctx->cfg.rss_reta_size = reta;
  return 0;
}

static int ctx_getopt(struct utcp_ctx *ctx, int optname, void *optval, socklen_t *optlen) {
  if (optname != UTCP_CTX_RSS) return api_fail(ENOPROTOOPT);
  if (optlen == NULL) return api_fail(EFAULT);
  if ((int)*optlen < 0) return api_fail(EINVAL);
  struct utcp_ctx_rss r = {htonl(ctx->cfg.stack.ip), ctx->cfg.rss_queues, ctx->cfg.rss_queue,
                           ctx->cfg.rss_reta_size};
  return put_opt(optval, optlen, &r, sizeof r);
}

int utcp_setsockopt(struct utcp_ctx *ctx, int fd, int level, int optname, const void *optval,
                    socklen_t optlen) {
  API_REMOTE(ctx, .op = API_OP_SETSOCKOPT, .fd = fd, .a = level, .b = optname, .in = optval,
             .inlen = optlen);
  if (ctx != NULL && fd == UTCP_CTX_FD && level == UTCP_SOL_CTX)
    return ctx_setopt(ctx, optname, optval, optlen);
  struct api_sock *s = api_sock(ctx, fd, NULL);
  if (s == NULL) return -1;
  api_sync(ctx);
  if (level != SOL_SOCKET && level != IPPROTO_TCP) return api_fail(ENOPROTOOPT);
  if (level == SOL_SOCKET && optname == SO_LINGER) {
    struct linger lg;
    if (optlen < sizeof lg) return api_fail(EINVAL);
    if (optval == NULL) return api_fail(EFAULT);
    memcpy(&lg, optval, sizeof lg);
    s->linger = lg.l_onoff ? (lg.l_linger < 0 ? 0 : lg.l_linger) : -1;
    int e = apply(ctx, s, UTCP_TCPOPT_LINGER, s->linger);
    return e ? api_fail(e) : 0;
  }
  if (optlen < sizeof(int)) return api_fail(EINVAL);
  if (optval == NULL) return api_fail(EFAULT);
  int v;
  memcpy(&v, optval, sizeof v);
  int e = 0;
  if (level == SOL_SOCKET) {
    switch (optname) {
      case SO_REUSEADDR:
        s->reuse = v != 0;
        port_recount(ctx, s);
        e = apply(ctx, s, UTCP_TCPOPT_REUSEADDR, s->reuse);
        break;
      case SO_KEEPALIVE:
        s->keepalive = v != 0;
        e = apply(ctx, s, UTCP_TCPOPT_KEEPALIVE, s->keepalive);
        break;
      case SO_RCVBUF:
        s->rcvbuf_rep = clamp_buf(ctx, v, MIN_RCVBUF_REP, &s->rcvbuf);
        e = apply(ctx, s, UTCP_TCPOPT_RCVBUF, s->rcvbuf);
        break;
      case SO_SNDBUF:
        s->sndbuf_rep = clamp_buf(ctx, v, MIN_SNDBUF_REP, &s->sndbuf);
        e = apply(ctx, s, UTCP_TCPOPT_SNDBUF, s->sndbuf);
        break;
      default:
        return api_fail(ENOPROTOOPT);
    }
  } else {
    switch (optname) {
      case TCP_NODELAY:
        s->nodelay = v != 0;
        e = apply(ctx, s, UTCP_TCPOPT_NODELAY, s->nodelay);
        break;
      case TCP_MAXSEG:
        /* tcp_setsockopt: 0 (default) or TCP_MIN_MSS..MAX_TCP_WINDOW. */
        if (v != 0 && (v < 88 || v > 32767)) return api_fail(EINVAL);
        s->maxseg = v;
        if (v != 0) e = apply(ctx, s, UTCP_TCPOPT_MAXSEG, v);
        break;
      case TCP_KEEPIDLE:
        if (v < 1 || v > 32767) return api_fail(EINVAL);
        s->keepidle = v;
        e = apply(ctx, s, UTCP_TCPOPT_KEEPIDLE, v);
        break;
      case TCP_KEEPINTVL:
        if (v < 1 || v > 32767) return api_fail(EINVAL);
        s->keepintvl = v;
        e = apply(ctx, s, UTCP_TCPOPT_KEEPINTVL, v);
        break;
      case TCP_KEEPCNT:
        if (v < 1 || v > 127) return api_fail(EINVAL);
        s->keepcnt = v;
        e = apply(ctx, s, UTCP_TCPOPT_KEEPCNT, v);
        break;
      default:
        return api_fail(ENOPROTOOPT);
    }
  }
  return e ? api_fail(e) : 0;
}

int utcp_getsockopt(struct utcp_ctx *ctx, int fd, int level, int optname, void *optval,
                    socklen_t *optlen) {
  API_REMOTE(ctx, .op = API_OP_GETSOCKOPT, .fd = fd, .a = level, .b = optname, .out = optval,
             .lenp = optlen);
  if (ctx != NULL && fd == UTCP_CTX_FD && level == UTCP_SOL_CTX)
    return ctx_getopt(ctx, optname, optval, optlen);
  struct api_sock *s = api_sock(ctx, fd, NULL);
  if (s == NULL) return -1;
  api_sync(ctx);
  if (level != SOL_SOCKET && level != IPPROTO_TCP) return api_fail(ENOPROTOOPT);
  if (optlen == NULL) return api_fail(EFAULT);
  if ((int)*optlen < 0) return api_fail(EINVAL);
  const struct utcp_tcp_config *tc = &ctx->cfg.stack.tcp;
  int v;
  if (level == SOL_SOCKET) {
    switch (optname) {
      case SO_ERROR: {
        if (*optlen > 0 && optval == NULL) return api_fail(EFAULT);
        v = take_err(s);
        break;
      }
      case SO_REUSEADDR: v = s->reuse; break;
      case SO_KEEPALIVE: v = s->keepalive; break;
      case SO_RCVBUF: v = s->rcvbuf_rep; break;
      case SO_SNDBUF: v = s->sndbuf_rep; break;
      case SO_TYPE: v = SOCK_STREAM; break;
      case SO_DOMAIN: v = AF_INET; break;
      case SO_PROTOCOL: v = IPPROTO_TCP; break;
      case SO_ACCEPTCONN: v = s->listening; break;
      case SO_LINGER: {
        struct linger lg = {s->linger >= 0, s->linger >= 0 ? s->linger : 0};
        return put_opt(optval, optlen, &lg, sizeof lg);
      }
      default:
        return api_fail(ENOPROTOOPT);
    }
  } else {
    switch (optname) {
      case TCP_NODELAY: v = s->nodelay; break;
      case TCP_MAXSEG: {
        /* tcp_getsockopt: the current MSS once connected, else user_mss or 536. */
        enum api_lstate st = lstate(ctx, s);
        int cur = 0;
        if (s->conn != 0 && !s->listening && st != L_SYN_SENT && st != L_CLOSE &&
            utcp_tcp_getopt(ctx->stack, s->conn, UTCP_TCPOPT_MAXSEG, &cur) == 0 && cur > 0) {
          v = cur;
        } else {
          v = s->maxseg ? s->maxseg : 536;
        }
        break;
      }
      case TCP_KEEPIDLE: v = s->keepidle ? s->keepidle : (int)(tc->keepidle_ns / 1000000000u); break;
      case TCP_KEEPINTVL:
        v = s->keepintvl ? s->keepintvl : (int)(tc->keepintvl_ns / 1000000000u);
        break;
      case TCP_KEEPCNT: v = s->keepcnt ? s->keepcnt : (int)tc->keepcnt; break;
      case UTCP_TCP_INFO: {
        struct utcp_tcp_info info;
        memset(&info, 0, sizeof info);
        if (s->conn == 0 || utcp_tcp_info(ctx->stack, s->conn, &info) < 0) {
          memset(&info, 0, sizeof info);
          info.state = UTCP_TCP_CLOSED;
          info.laddr = s->baddr;
          info.lport = s->bport;
        }
        return put_opt(optval, optlen, &info, sizeof info);
      }
      default:
        return api_fail(ENOPROTOOPT);
    }
  }
  return put_opt(optval, optlen, &v, sizeof v);
}

/* ---- ioctl / fcntl ---- */

int utcp_ioctl(struct utcp_ctx *ctx, int fd, unsigned long request, void *argp) {
  API_REMOTE(ctx, .op = API_OP_IOCTL, .fd = fd, .req = request, .out = argp);
  struct api_file *f = api_file(ctx, fd);
  if (f == NULL) return api_fail(EBADF);
  api_sync(ctx);
  if (request == FIONBIO) {
    if (argp == NULL) return api_fail(EFAULT);
    int v;
    memcpy(&v, argp, sizeof v);
    f->nonblock = v != 0;
    return 0;
  }
  if (f->kind != API_SOCK) return api_fail(ENOTTY);
  struct api_sock *s = &f->u.s;
  int v;
  if (request == FIONREAD) {
    if (s->listening) return api_fail(EINVAL); /* tcp_ioctl SIOCINQ */
    v = s->conn != 0 ? utcp_tcp_readable(ctx->stack, s->conn) : 0;
  } else if (request == TIOCOUTQ) {
    if (s->listening) return api_fail(EINVAL);
    struct utcp_tcp_info info;
    v = (s->conn != 0 && utcp_tcp_info(ctx->stack, s->conn, &info) == 0) ? (int)info.sndbuf_used : 0;
  } else {
    return api_fail(ENOTTY);
  }
  if (argp == NULL) return api_fail(EFAULT);
  if (v < 0) v = 0;
  memcpy(argp, &v, sizeof v);
  return 0;
}

int utcp_fcntl(struct utcp_ctx *ctx, int fd, int cmd, ...) {
  va_list ap;
  int arg = 0;
  if (cmd == F_SETFL || cmd == F_SETFD) {
    va_start(ap, cmd);
    arg = va_arg(ap, int);
    va_end(ap);
  }
  API_REMOTE(ctx, .op = API_OP_FCNTL, .fd = fd, .a = cmd, .b = arg);
  struct api_file *f = api_file(ctx, fd);
  if (f == NULL) return api_fail(EBADF);
  switch (cmd) {
    case F_GETFL: return O_RDWR | (f->nonblock ? O_NONBLOCK : 0);
    case F_SETFL: f->nonblock = (arg & O_NONBLOCK) != 0; return 0;
    case F_GETFD: return f->cloexec ? FD_CLOEXEC : 0;
    case F_SETFD: f->cloexec = (arg & FD_CLOEXEC) != 0; return 0;
    default: return api_fail(EINVAL);
  }
}
