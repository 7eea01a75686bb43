/* The BSD-like socket API: every call in each state and each error path, with the return value
 * and errno Linux gives (checked against the kernel on 127.0.0.1 where the man pages are
 * vague), and end-to-end use over the loopback platform (two stacks, virtual time).
 * Side 0 (10.0.0.1) usually listens, side 1 (10.0.0.2) connects. */
#include "api_fixture.h"

#define PORT 8080

static struct fx fx_new(void) { return fx_new_with(64); }

static int listener(struct utcp_ctx *c, uint16_t port) {
  int fd = utcp_socket(c, AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  struct sockaddr_in a = sin_of(INADDR_ANY, port);
  if (utcp_bind(c, fd, SA(a), sizeof a) != 0) return -1;
  if (utcp_listen(c, fd, 16) != 0) return -1;
  return fd;
}

/* A connection: *lfd listens on side 0, *cfd (side 1, non-blocking) connected, *sfd accepted
 * (side 0, non-blocking). */
static void pair(struct fx *f, int *lfd, int *cfd, int *sfd) {
  *lfd = listener(f->a, PORT);
  *cfd = utcp_socket(f->b, AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  struct sockaddr_in a = sin_of(UTCP_LO_IP(0), PORT);
  CHECK_ERR(utcp_connect(f->b, *cfd, SA(a), sizeof a), EINPROGRESS);
  utcp_loopback_run(f->lo, 10 * MS);
  CHECK_EQ(utcp_connect(f->b, *cfd, SA(a), sizeof a), 0);
  *sfd = utcp_accept4(f->a, *lfd, NULL, NULL, SOCK_NONBLOCK);
  CHECK(*sfd >= 0);
}

/* The EPOLL* mask a fresh level-triggered registration reports now (0 if none). */
static uint32_t mask_of(struct utcp_ctx *c, int fd) {
  int ep = utcp_epoll_create(c, 1);
  struct epoll_event e = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP};
  utcp_epoll_ctl(c, ep, EPOLL_CTL_ADD, fd, &e);
  struct epoll_event out;
  int n = utcp_epoll_wait(c, ep, &out, 1, 0);
  utcp_close(c, ep);
  return n > 0 ? out.events : 0;
}

static int so_error(struct utcp_ctx *c, int fd) {
  int v = -1;
  socklen_t l = sizeof v;
  if (utcp_getsockopt(c, fd, SOL_SOCKET, SO_ERROR, &v, &l) != 0) return -2;
  return v;
}

/* ---- socket() ---- */

TEST(test_socket_args) {
  struct fx f = fx_new();
  CHECK_ERR(utcp_socket(f.a, AF_INET6, SOCK_STREAM, 0), EAFNOSUPPORT);
  CHECK_ERR(utcp_socket(f.a, 99, SOCK_STREAM, 0), EAFNOSUPPORT);
  CHECK_ERR(utcp_socket(f.a, AF_INET, SOCK_STREAM | 0x100000, 0), EINVAL);
  CHECK_ERR(utcp_socket(f.a, AF_INET, 99, 0), EINVAL);
  CHECK_ERR(utcp_socket(f.a, AF_INET, SOCK_SEQPACKET, 0), ESOCKTNOSUPPORT);
  CHECK_ERR(utcp_socket(f.a, AF_INET, SOCK_DGRAM, 0), ESOCKTNOSUPPORT); /* no UDP in utcp */
  CHECK_ERR(utcp_socket(f.a, AF_INET, SOCK_STREAM, IPPROTO_UDP), EPROTONOSUPPORT);
  CHECK_ERR(utcp_socket(NULL, AF_INET, SOCK_STREAM, 0), EINVAL);
  int s0 = utcp_socket(f.a, AF_INET, SOCK_STREAM, IPPROTO_TCP);
  int s1 = utcp_socket(f.a, AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  CHECK_EQ(s0, 0); /* lowest free descriptor */
  CHECK_EQ(s1, 1);
  CHECK_EQ(utcp_fcntl(f.a, s0, F_GETFL), O_RDWR);
  CHECK_EQ(utcp_fcntl(f.a, s1, F_GETFL), O_RDWR | O_NONBLOCK);
  CHECK_EQ(utcp_fcntl(f.a, s1, F_GETFD), FD_CLOEXEC);
  CHECK_EQ(utcp_close(f.a, s0), 0);
  CHECK_EQ(utcp_socket(f.a, AF_INET, SOCK_STREAM, 0), 0);
  /* The table holds max_fds (32) descriptors. */
  int n = 2;
  while (utcp_socket(f.a, AF_INET, SOCK_STREAM, 0) >= 0) n++;
  CHECK_EQ(n, 32);
  CHECK_ERR(utcp_socket(f.a, AF_INET, SOCK_STREAM, 0), EMFILE);
  CHECK_ERR(utcp_epoll_create(f.a, 1), EMFILE);
  for (int fd = 0; fd < 32; fd++) CHECK_EQ(utcp_close(f.a, fd), 0);
  fx_free(&f);
}

/* ---- descriptors that are not open, or not sockets ---- */

TEST(test_bad_descriptors) {
  struct fx f = fx_new();
  char b[8];
  struct sockaddr_in a = sin_of(UTCP_LO_IP(0), PORT);
  socklen_t al = sizeof a;
  int v = 1;
  socklen_t vl = sizeof v;
  int ep = utcp_epoll_create(f.a, 1);
  int closed = utcp_socket(f.a, AF_INET, SOCK_STREAM, 0);
  utcp_close(f.a, closed);
  const int bad[] = {-1, 9999, 31, closed};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    int fd = bad[i];
    CHECK_ERR(utcp_bind(f.a, fd, SA(a), sizeof a), EBADF);
    CHECK_ERR(utcp_listen(f.a, fd, 1), EBADF);
    CHECK_ERR(utcp_accept(f.a, fd, NULL, NULL), EBADF);
    CHECK_ERR(utcp_connect(f.a, fd, SA(a), sizeof a), EBADF);
    CHECK_ERR(utcp_recv(f.a, fd, b, 1, 0), EBADF);
    CHECK_ERR(utcp_read(f.a, fd, b, 1), EBADF);
    CHECK_ERR(utcp_read(f.a, fd, b, 0), EBADF);
    CHECK_ERR(utcp_send(f.a, fd, b, 1, 0), EBADF);
    CHECK_ERR(utcp_write(f.a, fd, b, 1), EBADF);
    CHECK_ERR(utcp_shutdown(f.a, fd, SHUT_WR), EBADF);
    CHECK_ERR(utcp_close(f.a, fd), EBADF);
    CHECK_ERR(utcp_abort(f.a, fd), EBADF);
    CHECK_ERR(utcp_getsockname(f.a, fd, SA(a), &al), EBADF);
    CHECK_ERR(utcp_getpeername(f.a, fd, SA(a), &al), EBADF);
    CHECK_ERR(utcp_getsockopt(f.a, fd, SOL_SOCKET, SO_ERROR, &v, &vl), EBADF);
    CHECK_ERR(utcp_setsockopt(f.a, fd, SOL_SOCKET, SO_KEEPALIVE, &v, sizeof v), EBADF);
    CHECK_ERR(utcp_ioctl(f.a, fd, FIONREAD, &v), EBADF);
    CHECK_ERR(utcp_fcntl(f.a, fd, F_GETFL), EBADF);
  }
  /* An epoll descriptor is not a socket. */
  CHECK_ERR(utcp_bind(f.a, ep, SA(a), sizeof a), ENOTSOCK);
  CHECK_ERR(utcp_listen(f.a, ep, 1), ENOTSOCK);
  CHECK_ERR(utcp_accept(f.a, ep, NULL, NULL), ENOTSOCK);
  CHECK_ERR(utcp_connect(f.a, ep, SA(a), sizeof a), ENOTSOCK);
  CHECK_ERR(utcp_recv(f.a, ep, b, 1, 0), ENOTSOCK);
  CHECK_ERR(utcp_send(f.a, ep, b, 1, 0), ENOTSOCK);
  CHECK_ERR(utcp_read(f.a, ep, b, 1), EINVAL); /* read(2) on an epoll file */
  CHECK_ERR(utcp_write(f.a, ep, b, 1), EINVAL);
  CHECK_ERR(utcp_shutdown(f.a, ep, SHUT_WR), ENOTSOCK);
  CHECK_ERR(utcp_abort(f.a, ep), ENOTSOCK);
  CHECK_ERR(utcp_getsockname(f.a, ep, SA(a), &al), ENOTSOCK);
  CHECK_ERR(utcp_getsockopt(f.a, ep, SOL_SOCKET, SO_ERROR, &v, &vl), ENOTSOCK);
  CHECK_ERR(utcp_ioctl(f.a, ep, FIONREAD, &v), ENOTTY);
  CHECK_EQ(utcp_ioctl(f.a, ep, FIONBIO, &v), 0);
  CHECK_EQ(utcp_fcntl(f.a, ep, F_GETFL), O_RDWR | O_NONBLOCK);
  CHECK_EQ(utcp_close(f.a, ep), 0);
  CHECK_ERR(utcp_close(f.a, ep), EBADF);
  fx_free(&f);
}

/* ---- a socket that was never connected (Linux sk_state CLOSE) ---- */

TEST(test_fresh_socket) {
  struct fx f = fx_new();
  char b[8];
  int s = utcp_socket(f.a, AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  CHECK_ERR(utcp_send(f.a, s, "x", 1, MSG_NOSIGNAL), EPIPE); /* Linux: EPIPE, not ENOTCONN */
  CHECK_ERR(utcp_send(f.a, s, "x", 0, 0), EPIPE);
  CHECK_ERR(utcp_write(f.a, s, "x", 0), EPIPE);
  CHECK_ERR(utcp_recv(f.a, s, b, 1, 0), ENOTCONN);
  CHECK_ERR(utcp_recv(f.a, s, b, 0, 0), ENOTCONN);
  CHECK_EQ(utcp_read(f.a, s, b, 0), 0); /* sock_read_iter: zero length is 0 at once */
  CHECK_ERR(utcp_accept(f.a, s, NULL, NULL), EINVAL);
  struct sockaddr_in a;
  socklen_t al = sizeof a;
  CHECK_ERR(utcp_getpeername(f.a, s, SA(a), &al), ENOTCONN);
  CHECK_EQ(utcp_getsockname(f.a, s, SA(a), &al), 0);
  CHECK_EQ(al, sizeof a);
  CHECK_EQ(a.sin_family, AF_INET);
  CHECK_EQ(a.sin_port, 0);
  CHECK_EQ(a.sin_addr.s_addr, 0);
  int q = -1;
  CHECK_EQ(utcp_ioctl(f.a, s, FIONREAD, &q), 0);
  CHECK_EQ(q, 0);
  CHECK_EQ(mask_of(f.a, s), EPOLLOUT | EPOLLHUP);
  CHECK_ERR(utcp_shutdown(f.a, s, SHUT_WR), ENOTCONN);
  CHECK_ERR(utcp_shutdown(f.a, s, 3), EINVAL);
  CHECK_ERR(utcp_shutdown(f.a, s, -1), EINVAL);
  CHECK_EQ(mask_of(f.a, s), EPOLLOUT | EPOLLHUP);
  /* Linux sets the shutdown bits even though it says ENOTCONN. */
  CHECK_ERR(utcp_shutdown(f.a, s, SHUT_RD), ENOTCONN);
  CHECK_EQ(mask_of(f.a, s), EPOLLIN | EPOLLOUT | EPOLLHUP | EPOLLRDHUP);
  CHECK_EQ(utcp_close(f.a, s), 0);
  fx_free(&f);
}

/* ---- bind ---- */

TEST(test_bind) {
  struct fx f = fx_new();
  int s = utcp_socket(f.a, AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = sin_of(INADDR_ANY, PORT);
  CHECK_ERR(utcp_bind(f.a, s, NULL, sizeof a), EFAULT);
  CHECK_ERR(utcp_bind(f.a, s, NULL, 0), EINVAL);
  CHECK_ERR(utcp_bind(f.a, s, SA(a), 8), EINVAL);
  CHECK_ERR(utcp_bind(f.a, s, SA(a), 1000), EINVAL);
  struct sockaddr_in a6 = a;
  a6.sin_family = AF_INET6;
  CHECK_ERR(utcp_bind(f.a, s, SA(a6), sizeof a6), EAFNOSUPPORT);
  struct sockaddr_in far = sin_of(0x0a090909, PORT);
  CHECK_ERR(utcp_bind(f.a, s, SA(far), sizeof far), EADDRNOTAVAIL);
  struct sockaddr_in lo127 = sin_of(INADDR_LOOPBACK, PORT);
  CHECK_ERR(utcp_bind(f.a, s, SA(lo127), sizeof lo127), EADDRNOTAVAIL); /* no loopback if */
  struct sockaddr_in own = sin_of(UTCP_LO_IP(0), PORT);
  CHECK_EQ(utcp_bind(f.a, s, SA(own), sizeof own), 0);
  CHECK_ERR(utcp_bind(f.a, s, SA(a), sizeof a), EINVAL); /* bound already */
  struct sockaddr_in got;
  socklen_t gl = sizeof got;
  CHECK_EQ(utcp_getsockname(f.a, s, SA(got), &gl), 0);
  CHECK_EQ(ntohs(got.sin_port), PORT);
  CHECK_EQ(ntohl(got.sin_addr.s_addr), UTCP_LO_IP(0));
  /* Another socket on the port: EADDRINUSE, with or without its own SO_REUSEADDR. */
  int t = utcp_socket(f.a, AF_INET, SOCK_STREAM, 0);
  CHECK_ERR(utcp_bind(f.a, t, SA(a), sizeof a), EADDRINUSE);
  int one = 1;
  CHECK_EQ(utcp_setsockopt(f.a, t, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one), 0);
  CHECK_ERR(utcp_bind(f.a, t, SA(a), sizeof a), EADDRINUSE);
  /* AF_UNSPEC with INADDR_ANY is accepted (inet_bind compatibility); port 0 is ephemeral. */
  struct sockaddr_in un = sin_of(INADDR_ANY, 0);
  un.sin_family = AF_UNSPEC;
  CHECK_EQ(utcp_bind(f.a, t, SA(un), sizeof un), 0);
  gl = sizeof got;
  CHECK_EQ(utcp_getsockname(f.a, t, SA(got), &gl), 0);
  CHECK(ntohs(got.sin_port) >= 32768 && ntohs(got.sin_port) <= 60999);
  /* Closing frees the port. */
  CHECK_EQ(utcp_close(f.a, s), 0);
  int u = utcp_socket(f.a, AF_INET, SOCK_STREAM, 0);
  CHECK_EQ(utcp_bind(f.a, u, SA(a), sizeof a), 0);
  CHECK_EQ(utcp_close(f.a, t), 0);
  CHECK_EQ(utcp_close(f.a, u), 0);
  fx_free(&f);
}

TEST(test_bind_reuseaddr_listen_conflict) {
  struct fx f = fx_new();
  int one = 1;
  int r1 = utcp_socket(f.a, AF_INET, SOCK_STREAM, 0), r2 = utcp_socket(f.a, AF_INET, SOCK_STREAM, 0);
  CHECK_EQ(utcp_setsockopt(f.a, r1, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one), 0);
  CHECK_EQ(utcp_setsockopt(f.a, r2, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one), 0);
  struct sockaddr_in a = sin_of(INADDR_ANY, PORT);
  CHECK_EQ(utcp_bind(f.a, r1, SA(a), sizeof a), 0);
  CHECK_EQ(utcp_bind(f.a, r2, SA(a), sizeof a), 0); /* both SO_REUSEADDR, neither listens */
  CHECK_EQ(utcp_listen(f.a, r1, 1), 0);
  CHECK_ERR(utcp_listen(f.a, r2, 1), EADDRINUSE); /* listen on a port in use */
  int r3 = utcp_socket(f.a, AF_INET, SOCK_STREAM, 0);
  CHECK_EQ(utcp_setsockopt(f.a, r3, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one), 0);
  CHECK_ERR(utcp_bind(f.a, r3, SA(a), sizeof a), EADDRINUSE); /* r1 listens now */
  CHECK_EQ(utcp_close(f.a, r1), 0);
  CHECK_EQ(utcp_listen(f.a, r2, 1), 0);
  CHECK_EQ(utcp_close(f.a, r2), 0);
  CHECK_EQ(utcp_close(f.a, r3), 0);
  fx_free(&f);
}

/* ---- listen / accept ---- */

TEST(test_listen_states) {
  struct fx f = fx_new();
  char b[4];
  int l = utcp_socket(f.a, AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  CHECK_EQ(utcp_listen(f.a, l, 5), 0); /* unbound: an ephemeral port */
  struct sockaddr_in got;
  socklen_t gl = sizeof got;
  CHECK_EQ(utcp_getsockname(f.a, l, SA(got), &gl), 0);
  CHECK(ntohs(got.sin_port) >= 32768);
  CHECK_EQ(utcp_listen(f.a, l, 10), 0); /* again: fine */
  CHECK_EQ(mask_of(f.a, l), 0);
  CHECK_ERR(utcp_recv(f.a, l, b, 1, 0), ENOTCONN);
  CHECK_ERR(utcp_read(f.a, l, b, 1), ENOTCONN);
  CHECK_ERR(utcp_send(f.a, l, "x", 1, 0), EPIPE);
  CHECK_ERR(utcp_connect(f.a, l, SA(got), sizeof got), EISCONN);
  CHECK_ERR(utcp_getpeername(f.a, l, SA(got), &gl), ENOTCONN);
  int q;
  CHECK_ERR(utcp_ioctl(f.a, l, FIONREAD, &q), EINVAL);
  CHECK_ERR(utcp_accept(f.a, l, NULL, NULL), EAGAIN);
  CHECK_ERR(utcp_accept4(f.a, l, NULL, NULL, 0x40), EINVAL);
  int v = 0;
  socklen_t vl = sizeof v;
  CHECK_EQ(utcp_getsockopt(f.a, l, SOL_SOCKET, SO_ACCEPTCONN, &v, &vl), 0);
  CHECK_EQ(v, 1);
  CHECK_EQ(utcp_shutdown(f.a, l, SHUT_WR), 0); /* Linux: nothing happens */
  CHECK_ERR(utcp_accept(f.a, l, NULL, NULL), EAGAIN);
  CHECK_EQ(utcp_shutdown(f.a, l, SHUT_RD), 0); /* Linux: stops listening */
  CHECK_ERR(utcp_accept(f.a, l, NULL, NULL), EINVAL);
  CHECK_EQ(utcp_listen(f.a, l, 5), 0); /* and it may listen again */
  CHECK_ERR(utcp_accept(f.a, l, NULL, NULL), EAGAIN);
  CHECK_EQ(utcp_close(f.a, l), 0);
  fx_free(&f);
}

TEST(test_accept_addr_and_flags) {
  struct fx f = fx_new();
  int l = listener(f.a, PORT);
  int c = utcp_socket(f.b, AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  struct sockaddr_in a = sin_of(UTCP_LO_IP(0), PORT);
  CHECK_ERR(utcp_connect(f.b, c, SA(a), sizeof a), EINPROGRESS);
  utcp_loopback_run(f.lo, 10 * MS);
  CHECK_EQ(mask_of(f.a, l), EPOLLIN);
  int q;
  struct sockaddr_in peer;
  CHECK_ERR(utcp_accept(f.a, l, SA(peer), NULL), EFAULT);
  socklen_t pl = (socklen_t)-1;
  CHECK_ERR(utcp_accept(f.a, l, SA(peer), &pl), EINVAL);
  pl = 4; /* truncated to 4 bytes; the full length comes back */
  memset(&peer, 0xee, sizeof peer);
  int s = utcp_accept4(f.a, l, SA(peer), &pl, SOCK_NONBLOCK);
  CHECK(s >= 0);
  CHECK_EQ(pl, sizeof peer);
  CHECK_EQ(peer.sin_family, AF_INET);
  CHECK_EQ(peer.sin_addr.s_addr, 0xeeeeeeeeu);
  CHECK_EQ(utcp_fcntl(f.a, s, F_GETFL), O_RDWR | O_NONBLOCK);
  struct sockaddr_in pn, cn;
  socklen_t l1 = sizeof pn, l2 = sizeof cn;
  CHECK_EQ(utcp_getpeername(f.a, s, SA(pn), &l1), 0);
  CHECK_EQ(utcp_getsockname(f.b, c, SA(cn), &l2), 0);
  CHECK_EQ(pn.sin_port, cn.sin_port);
  CHECK_EQ(ntohl(pn.sin_addr.s_addr), UTCP_LO_IP(1));
  CHECK_EQ(ntohl(cn.sin_addr.s_addr), UTCP_LO_IP(1));
  CHECK_EQ(ntohs(cn.sin_port), ntohs(pn.sin_port));
  CHECK_ERR(utcp_getpeername(f.a, s, NULL, &l1), EFAULT);
  CHECK_ERR(utcp_getsockname(f.a, s, SA(pn), NULL), EFAULT);
  l1 = (socklen_t)-5;
  CHECK_ERR(utcp_getsockname(f.a, s, SA(pn), &l1), EINVAL);
  CHECK_EQ(utcp_ioctl(f.a, l, FIONBIO, &(int){0}), 0);
  CHECK_EQ(mask_of(f.a, l), 0);
  q = 0;
  CHECK_EQ(utcp_ioctl(f.a, s, FIONREAD, &q), 0);
  CHECK_EQ(q, 0);
  CHECK_EQ(utcp_close(f.a, s), 0);
  CHECK_EQ(utcp_close(f.b, c), 0);
  CHECK_EQ(utcp_close(f.a, l), 0);
  fx_free(&f);
}

TEST(test_accept_backlog) {
  struct fx f = fx_new();
  int l = utcp_socket(f.a, AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  struct sockaddr_in a = sin_of(INADDR_ANY, PORT);
  CHECK_EQ(utcp_bind(f.a, l, SA(a), sizeof a), 0);
  CHECK_EQ(utcp_listen(f.a, l, 0), 0); /* Linux: backlog 0 still queues one */
  struct sockaddr_in d = sin_of(UTCP_LO_IP(0), PORT);
  int c1 = utcp_socket(f.b, AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  int c2 = utcp_socket(f.b, AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  CHECK_ERR(utcp_connect(f.b, c1, SA(d), sizeof d), EINPROGRESS);
  utcp_loopback_run(f.lo, 10 * MS);
  CHECK_ERR(utcp_connect(f.b, c2, SA(d), sizeof d), EINPROGRESS);
  utcp_loopback_run(f.lo, 10 * MS);
  CHECK_EQ(utcp_connect(f.b, c1, SA(d), sizeof d), 0);
  CHECK_ERR(utcp_connect(f.b, c2, SA(d), sizeof d), EALREADY); /* its SYN was dropped */
  int s1 = utcp_accept(f.a, l, NULL, NULL);
  CHECK(s1 >= 0);
  CHECK_ERR(utcp_accept(f.a, l, NULL, NULL), EAGAIN);
  utcp_loopback_run(f.lo, 5 * SEC); /* SYN retransmitted: room now */
  CHECK_EQ(utcp_connect(f.b, c2, SA(d), sizeof d), 0);
  int s2 = utcp_accept(f.a, l, NULL, NULL);
  CHECK(s2 >= 0);
  utcp_close(f.a, s1);
  utcp_close(f.a, s2);
  utcp_close(f.b, c1);
  utcp_close(f.b, c2);
  utcp_close(f.a, l);
  fx_free(&f);
}

/* ---- connect ---- */

TEST(test_connect_nonblocking) {
  struct fx f = fx_new();
  char b[4];
  int l = listener(f.a, PORT);
  int c = utcp_socket(f.b, AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  struct sockaddr_in a = sin_of(UTCP_LO_IP(0), PORT);
  CHECK_ERR(utcp_connect(f.b, c, SA(a), sizeof a), EINPROGRESS);
  /* SYN-SENT */
  CHECK_ERR(utcp_connect(f.b, c, SA(a), sizeof a), EALREADY);
  struct sockaddr_in any = sin_of(INADDR_ANY, 0);
  CHECK_ERR(utcp_listen(f.b, c, 1), EINVAL);
  CHECK_ERR(utcp_bind(f.b, c, SA(any), sizeof any), EINVAL);
  CHECK_ERR(utcp_bind(f.b, c, SA(a), sizeof a), EADDRNOTAVAIL); /* the address is checked first */
  CHECK_ERR(utcp_send(f.b, c, "x", 1, 0), EAGAIN);
  CHECK_ERR(utcp_recv(f.b, c, b, 1, 0), EAGAIN);
  struct sockaddr_in pn;
  socklen_t pl = sizeof pn;
  CHECK_ERR(utcp_getpeername(f.b, c, SA(pn), &pl), ENOTCONN);
  CHECK_EQ(mask_of(f.b, c), 0);
  CHECK_EQ(so_error(f.b, c), 0);
  utcp_loopback_run(f.lo, 10 * MS);
  /* ESTABLISHED */
  CHECK_EQ(mask_of(f.b, c), EPOLLOUT);
  CHECK_EQ(so_error(f.b, c), 0);
  CHECK_EQ(utcp_connect(f.b, c, SA(a), sizeof a), 0); /* the outcome, once */
  CHECK_ERR(utcp_connect(f.b, c, SA(a), sizeof a), EISCONN);
  CHECK_ERR(utcp_bind(f.b, c, SA(any), sizeof any), EINVAL);
  CHECK_ERR(utcp_listen(f.b, c, 1), EINVAL);
  CHECK_EQ(utcp_getpeername(f.b, c, SA(pn), &pl), 0);
  CHECK_EQ(ntohs(pn.sin_port), PORT);
  int s = utcp_accept(f.a, l, NULL, NULL);
  CHECK_ERR(utcp_connect(f.a, s, SA(a), sizeof a), EISCONN);
  CHECK_ERR(utcp_listen(f.a, s, 1), EINVAL);
  int v = 0;
  socklen_t vl = sizeof v;
  CHECK_EQ(utcp_getsockopt(f.b, c, IPPROTO_TCP, TCP_MAXSEG, &v, &vl), 0);
  CHECK_EQ(v, 1500 - 40 - 12); /* MSS less the timestamp option */
  struct utcp_tcp_info ti;
  socklen_t tl = sizeof ti;
  CHECK_EQ(utcp_getsockopt(f.b, c, IPPROTO_TCP, UTCP_TCP_INFO, &ti, &tl), 0);
  CHECK_EQ(tl, sizeof ti);
  CHECK_EQ(ti.state, UTCP_TCP_ESTABLISHED);
  CHECK_EQ(ti.rport, PORT);
  utcp_close(f.a, s);
  utcp_close(f.b, c);
  utcp_close(f.a, l);
  fx_free(&f);
}

TEST(test_connect_args) {
  struct fx f = fx_new();
  int c = utcp_socket(f.b, AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  struct sockaddr_in a = sin_of(UTCP_LO_IP(0), PORT);
  struct sockaddr_in a6 = a;
  a6.sin_family = AF_INET6;
  CHECK_ERR(utcp_connect(f.b, c, SA(a6), sizeof a6), EAFNOSUPPORT);
  CHECK_ERR(utcp_connect(f.b, c, SA(a), 8), EINVAL);
  CHECK_ERR(utcp_connect(f.b, c, SA(a), 1), EINVAL);
  CHECK_ERR(utcp_connect(f.b, c, NULL, sizeof a), EFAULT);
  CHECK_ERR(utcp_connect(f.b, c, NULL, 0), EINVAL);
  struct sockaddr_in mc = sin_of(0xe0000001, PORT);
  CHECK_ERR(utcp_connect(f.b, c, SA(mc), sizeof mc), ENETUNREACH);
  struct sockaddr_in bc = sin_of(INADDR_BROADCAST, PORT);
  CHECK_ERR(utcp_connect(f.b, c, SA(bc), sizeof bc), ENETUNREACH);
  struct sockaddr_in far = sin_of(0x0b000001, PORT); /* no gateway: no route */
  CHECK_ERR(utcp_connect(f.b, c, SA(far), sizeof far), ENETUNREACH);
  CHECK_EQ(mask_of(f.b, c), EPOLLOUT | EPOLLHUP); /* still a fresh socket */
  utcp_close(f.b, c);
  fx_free(&f);
}

TEST(test_connect_refused_nonblocking) {
  struct fx f = fx_new();
  char b[4];
  int c = utcp_socket(f.b, AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  struct sockaddr_in a = sin_of(UTCP_LO_IP(0), 9); /* nobody listens */
  CHECK_ERR(utcp_connect(f.b, c, SA(a), sizeof a), EINPROGRESS);
  utcp_loopback_run(f.lo, 10 * MS);
  CHECK_EQ(mask_of(f.b, c), EPOLLIN | EPOLLOUT | EPOLLERR | EPOLLHUP | EPOLLRDHUP);
  /* The error once, then end of stream (Linux after tcp_done). */
  CHECK_ERR(utcp_recv(f.b, c, b, 1, 0), ECONNREFUSED);
  CHECK_EQ(utcp_recv(f.b, c, b, 1, 0), 0);
  CHECK_EQ(mask_of(f.b, c), EPOLLIN | EPOLLOUT | EPOLLHUP | EPOLLRDHUP);
  /* connect now reports the failure (consumed: ECONNABORTED) and resets the socket. */
  CHECK_ERR(utcp_connect(f.b, c, SA(a), sizeof a), ECONNABORTED);
  CHECK_ERR(utcp_recv(f.b, c, b, 1, 0), ENOTCONN);
  CHECK_EQ(mask_of(f.b, c), EPOLLOUT | EPOLLHUP);
  /* The socket may try again. */
  CHECK_ERR(utcp_connect(f.b, c, SA(a), sizeof a), EINPROGRESS);
  utcp_loopback_run(f.lo, 10 * MS);
  CHECK_EQ(so_error(f.b, c), ECONNREFUSED);
  CHECK_EQ(so_error(f.b, c), 0);
  utcp_close(f.b, c);
  /* Unconsumed, connect reports the error itself. */
  c = utcp_socket(f.b, AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  CHECK_ERR(utcp_connect(f.b, c, SA(a), sizeof a), EINPROGRESS);
  utcp_loopback_run(f.lo, 10 * MS);
  CHECK_ERR(utcp_connect(f.b, c, SA(a), sizeof a), ECONNREFUSED);
  CHECK_EQ(so_error(f.b, c), 0);
  utcp_close(f.b, c);
  fx_free(&f);
}

TEST(test_connect_blocking) {
  struct fx f = fx_new();
  struct sockaddr_in a = sin_of(UTCP_LO_IP(0), PORT);
  int c = utcp_socket(f.b, AF_INET, SOCK_STREAM, 0);
  CHECK_ERR(utcp_connect(f.b, c, SA(a), sizeof a), ECONNREFUSED);
  CHECK_ERR(utcp_connect(f.b, c, SA(a), sizeof a), ECONNREFUSED); /* a new attempt */
  int l = listener(f.a, PORT);
  uint64_t t0 = utcp_loopback_now(f.lo);
  CHECK_EQ(utcp_connect(f.b, c, SA(a), sizeof a), 0);
  CHECK(utcp_loopback_now(f.lo) - t0 >= 100000); /* one round trip of virtual time */
  CHECK_ERR(utcp_connect(f.b, c, SA(a), sizeof a), EISCONN);
  /* Blocking accept finds the connection. */
  CHECK_EQ(utcp_fcntl(f.a, l, F_SETFL, 0), 0);
  int s = utcp_accept(f.a, l, NULL, NULL);
  CHECK(s >= 0);
  utcp_close(f.a, s);
  utcp_close(f.b, c);
  utcp_close(f.a, l);
  fx_free(&f);
}

TEST(test_connect_timeout) {
  struct fx f = fx_new();
  int l = listener(f.a, PORT);
  utcp_loopback_set_drop(f.lo, 0, true); /* side 0 answers nothing */
  int c = utcp_socket(f.b, AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = sin_of(UTCP_LO_IP(0), PORT);
  uint64_t t0 = utcp_loopback_now(f.lo);
  CHECK_ERR(utcp_connect(f.b, c, SA(a), sizeof a), ETIMEDOUT);
  CHECK(utcp_loopback_now(f.lo) - t0 > 60 * SEC); /* SYN retries with backoff */
  CHECK_EQ(so_error(f.b, c), 0);
  CHECK_EQ(mask_of(f.b, c), EPOLLOUT | EPOLLHUP);
  utcp_loopback_set_drop(f.lo, 0, false);
  utcp_close(f.b, c);
  utcp_close(f.a, l);
  fx_free(&f);
}

TEST(test_connect_shutdown_while_connecting) {
  struct fx f = fx_new();
  int l = listener(f.a, PORT);
  utcp_loopback_set_drop(f.lo, 0, true);
  int c = utcp_socket(f.b, AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  struct sockaddr_in a = sin_of(UTCP_LO_IP(0), PORT);
  CHECK_ERR(utcp_connect(f.b, c, SA(a), sizeof a), EINPROGRESS);
  CHECK_EQ(utcp_shutdown(f.b, c, SHUT_RDWR), 0); /* Linux: abandons the attempt */
  CHECK_EQ(so_error(f.b, c), ECONNRESET);
  CHECK_EQ(mask_of(f.b, c), EPOLLOUT | EPOLLHUP);
  utcp_loopback_set_drop(f.lo, 0, false);
  CHECK_ERR(utcp_connect(f.b, c, SA(a), sizeof a), EINPROGRESS); /* unconnected again */
  utcp_loopback_run(f.lo, 10 * MS);
  CHECK_EQ(utcp_connect(f.b, c, SA(a), sizeof a), 0);
  int s = utcp_accept(f.a, l, NULL, NULL);
  CHECK(s >= 0);
  utcp_close(f.a, s);
  utcp_close(f.b, c);
  /* A connect that already failed, then shutdown: SS_DISCONNECTING, where connect is EINVAL. */
  c = utcp_socket(f.b, AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  struct sockaddr_in none = sin_of(UTCP_LO_IP(0), 9);
  CHECK_ERR(utcp_connect(f.b, c, SA(none), sizeof none), EINPROGRESS);
  utcp_loopback_run(f.lo, 10 * MS);
  CHECK_ERR(utcp_shutdown(f.b, c, SHUT_WR), ENOTCONN);
  CHECK_ERR(utcp_connect(f.b, c, SA(none), sizeof none), EINVAL);
  CHECK_ERR(utcp_listen(f.b, c, 1), EINVAL);
  utcp_close(f.b, c);
  utcp_close(f.a, l);
  fx_free(&f);
}

TEST(test_connect_unspec_disconnects) {
  struct fx f = fx_new();
  int l, c, s;
  char b[4];
  pair(&f, &l, &c, &s);
  struct sockaddr_in un;
  memset(&un, 0, sizeof un);
  un.sin_family = AF_UNSPEC;
  CHECK_EQ(utcp_connect(f.b, c, SA(un), sizeof un), 0);
  utcp_loopback_run(f.lo, 10 * MS);
  CHECK_ERR(utcp_recv(f.a, s, b, 1, 0), ECONNRESET);
  CHECK_ERR(utcp_recv(f.b, c, b, 1, 0), ENOTCONN); /* as new */
  struct sockaddr_in a = sin_of(UTCP_LO_IP(0), PORT);
  CHECK_ERR(utcp_connect(f.b, c, SA(a), sizeof a), EINPROGRESS);
  utcp_loopback_run(f.lo, 10 * MS);
  CHECK_EQ(utcp_connect(f.b, c, SA(a), sizeof a), 0);
  int s2 = utcp_accept(f.a, l, NULL, NULL);
  CHECK(s2 >= 0);
  utcp_close(f.a, s2);
  utcp_close(f.a, s);
  utcp_close(f.b, c);
  utcp_close(f.a, l);
  fx_free(&f);
}

TEST(test_connect_bound_port) {
  struct fx f = fx_new();
  int l = listener(f.a, PORT);
  int c = utcp_socket(f.b, AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  struct sockaddr_in me = sin_of(INADDR_ANY, 5555);
  CHECK_EQ(utcp_bind(f.b, c, SA(me), sizeof me), 0);
  struct sockaddr_in a = sin_of(UTCP_LO_IP(0), PORT);
  CHECK_ERR(utcp_connect(f.b, c, SA(a), sizeof a), EINPROGRESS);
  utcp_loopback_run(f.lo, 10 * MS);
  struct sockaddr_in peer;
  socklen_t pl = sizeof peer;
  int s = utcp_accept(f.a, l, SA(peer), &pl);
  CHECK_EQ(ntohs(peer.sin_port), 5555);
  utcp_close(f.a, s);
  utcp_close(f.b, c);
  utcp_close(f.a, l);
  fx_free(&f);
}

/* ---- data ---- */

TEST(test_read_write) {
  struct fx f = fx_new();
  int l, c, s;
  pair(&f, &l, &c, &s);
  char b[64];
  CHECK_ERR(utcp_recv(f.a, s, b, sizeof b, 0), EAGAIN);
  CHECK_ERR(utcp_recv(f.a, s, NULL, 10, 0), EAGAIN); /* nothing to copy: no fault yet */
  CHECK_ERR(utcp_send(f.b, c, NULL, 10, 0), EFAULT);
  CHECK_EQ(utcp_send(f.b, c, "x", 0, 0), 0);
  CHECK_ERR(utcp_send(f.b, c, "x", 1, MSG_OOB), EOPNOTSUPP);
  CHECK_EQ(utcp_write(f.b, c, "hello", 5), 5);
  struct iovec wv[3] = {{"ab", 2}, {NULL, 0}, {"cde", 3}};
  CHECK_EQ(utcp_writev(f.b, c, wv, 3), 5);
  CHECK_ERR(utcp_writev(f.b, c, wv, -1), EINVAL);
  CHECK_ERR(utcp_writev(f.b, c, NULL, 1), EFAULT);
  CHECK_EQ(utcp_writev(f.b, c, wv, 0), 0);
  utcp_loopback_run(f.lo, 100 * MS); /* Nagle holds the second write for the delayed ACK */
  int q = 0;
  CHECK_EQ(utcp_ioctl(f.a, s, FIONREAD, &q), 0);
  CHECK_EQ(q, 10);
  CHECK_ERR(utcp_recv(f.a, s, NULL, 10, 0), EFAULT);
  CHECK_ERR(utcp_recv(f.a, s, b, 10, MSG_OOB), EINVAL);
  CHECK_EQ(utcp_recv(f.a, s, b, 0, 0), 0);
  CHECK_EQ(utcp_recv(f.a, s, b, 3, MSG_PEEK), 3);
  CHECK(memcmp(b, "hel", 3) == 0);
  CHECK_EQ(utcp_recv(f.a, s, b, 3, MSG_PEEK | MSG_DONTWAIT), 3);
  CHECK_EQ(utcp_read(f.a, s, b, 4), 4);
  CHECK(memcmp(b, "hell", 4) == 0);
  char r1[2], r2[10];
  struct iovec rv[2] = {{r1, sizeof r1}, {r2, sizeof r2}};
  CHECK_EQ(utcp_readv(f.a, s, rv, 2), 6);
  CHECK(memcmp(r1, "oa", 2) == 0 && memcmp(r2, "bcde", 4) == 0);
  CHECK_ERR(utcp_readv(f.a, s, rv, 2), EAGAIN);
  CHECK_EQ(utcp_readv(f.a, s, rv, 0), 0);
  CHECK_ERR(utcp_readv(f.a, s, rv, 5000), EINVAL);
  CHECK_EQ(utcp_ioctl(f.a, s, FIONREAD, &q), 0);
  CHECK_EQ(q, 0);
  CHECK_ERR(utcp_ioctl(f.a, s, FIONREAD, NULL), EFAULT);
  CHECK_ERR(utcp_ioctl(f.a, s, 0x5401 /* TCGETS */, &q), ENOTTY);
  utcp_close(f.a, s);
  utcp_close(f.b, c);
  utcp_close(f.a, l);
  fx_free(&f);
}

/* A writev is one write to Nagle's algorithm (tcp_sendmsg queues the whole iovec, then
 * pushes): a header and a short body leave together, not the body after the delayed ACK. */
TEST(test_writev_is_one_write) {
  struct fx f = fx_new();
  int l, c, s;
  pair(&f, &l, &c, &s);
  static char head[100], body[10];
  memset(head, 'h', sizeof head);
  memset(body, 'b', sizeof body);
  struct iovec v[2] = {{head, sizeof head}, {body, sizeof body}};
  uint64_t segs = utcp_stack_counters(utcp_ctx_stack(f.b))->tcp_out_segs;
  CHECK_EQ(utcp_writev(f.b, c, v, 2), 110);
  CHECK_EQ(utcp_stack_counters(utcp_ctx_stack(f.b))->tcp_out_segs - segs, 1);
  utcp_loopback_run(f.lo, 5 * MS); /* well inside the peer's delayed-ACK time */
  int q = 0;
  CHECK_EQ(utcp_ioctl(f.a, s, FIONREAD, &q), 0);
  CHECK_EQ(q, 110);
  utcp_close(f.a, s);
  utcp_close(f.b, c);
  utcp_close(f.a, l);
  fx_free(&f);
}

TEST(test_write_fills_buffer) {
  struct fx f = fx_new();
  int l, c, s;
  pair(&f, &l, &c, &s);
  static uint8_t big[256 * 1024], sink[256 * 1024];
  for (size_t i = 0; i < sizeof big; i++) big[i] = (uint8_t)(i * 7);
  /* Non-blocking: a short count, then EAGAIN. */
  ssize_t n = utcp_send(f.b, c, big, sizeof big, 0);
  CHECK_EQ(n, 64 * 1024);
  CHECK_ERR(utcp_send(f.b, c, big, sizeof big, 0), EAGAIN);
  CHECK_EQ(mask_of(f.b, c), 0);
  int outq = 0;
  CHECK_EQ(utcp_ioctl(f.b, c, TIOCOUTQ, &outq), 0);
  CHECK_EQ(outq, 64 * 1024);
  /* The peer drains; the sender may write again. */
  size_t got = 0, sent = (size_t)n;
  for (int round = 0; round < 1000 && got < sizeof big; round++) {
    utcp_loopback_run(f.lo, 1 * MS);
    ssize_t r;
    while ((r = utcp_recv(f.a, s, sink + got, sizeof sink - got, 0)) > 0) got += (size_t)r;
    if (sent < sizeof big) {
      ssize_t w = utcp_send(f.b, c, big + sent, sizeof big - sent, 0);
      if (w > 0) sent += (size_t)w;
    }
  }
  CHECK_EQ(got, sizeof big);
  CHECK(memcmp(big, sink, sizeof big) == 0);
  /* Blocking write of more than the buffer: waits for acknowledgments (the peer's window
   * takes the rest). */
  CHECK_EQ(utcp_fcntl(f.b, c, F_SETFL, 0), 0);
  CHECK_EQ(utcp_write(f.b, c, big, 100 * 1024), 100 * 1024);
  /* Blocking read returns what is there. */
  CHECK_EQ(utcp_fcntl(f.a, s, F_SETFL, 0), 0);
  got = 0;
  while (got < 100 * 1024) {
    ssize_t r = utcp_read(f.a, s, sink, sizeof sink);
    CHECK(r > 0);
    if (r <= 0) break;
    got += (size_t)r;
  }
  CHECK_EQ(got, 100 * 1024);
  /* MSG_WAITALL waits for all of it. */
  CHECK_EQ(utcp_send(f.b, c, big, 3000, 0), 3000);
  CHECK_EQ(utcp_recv(f.a, s, sink, 3000, MSG_WAITALL), 3000);
  /* Nothing more will come: the loopback platform says so. */
  CHECK_ERR(utcp_read(f.a, s, sink, 1), EDEADLK);
  utcp_close(f.a, s);
  utcp_close(f.b, c);
  utcp_close(f.a, l);
  fx_free(&f);
}

/* ---- shutdown and close ---- */

TEST(test_shutdown_wr_and_eof) {
  struct fx f = fx_new();
  int l, c, s;
  pair(&f, &l, &c, &s);
  char b[8];
  CHECK_EQ(utcp_send(f.b, c, "bye", 3, 0), 3);
  CHECK_EQ(utcp_shutdown(f.b, c, SHUT_WR), 0);
  CHECK_ERR(utcp_send(f.b, c, "x", 1, 0), EPIPE);
  CHECK_ERR(utcp_send(f.b, c, "x", 0, 0), EPIPE);
  CHECK_EQ(mask_of(f.b, c), EPOLLOUT);
  CHECK_EQ(utcp_shutdown(f.b, c, SHUT_WR), 0); /* again: fine */
  utcp_loopback_run(f.lo, 10 * MS);
  CHECK_EQ(mask_of(f.a, s), EPOLLIN | EPOLLOUT | EPOLLRDHUP);
  CHECK_EQ(utcp_recv(f.a, s, b, sizeof b, 0), 3);
  CHECK_EQ(utcp_recv(f.a, s, b, sizeof b, 0), 0);
  CHECK_EQ(utcp_recv(f.a, s, b, sizeof b, 0), 0);
  CHECK_EQ(utcp_fcntl(f.a, s, F_SETFL, 0), 0);
  CHECK_EQ(utcp_read(f.a, s, b, sizeof b), 0); /* blocking: EOF does not wait */
  /* Half-closed: the other direction still works. */
  CHECK_EQ(utcp_send(f.a, s, "ok", 2, 0), 2);
  utcp_loopback_run(f.lo, 10 * MS);
  CHECK_EQ(utcp_recv(f.b, c, b, sizeof b, 0), 2);
  CHECK_EQ(utcp_shutdown(f.b, c, SHUT_RD), 0);
  CHECK_EQ(mask_of(f.b, c), EPOLLIN | EPOLLOUT | EPOLLHUP | EPOLLRDHUP);
  CHECK_EQ(utcp_recv(f.b, c, b, sizeof b, 0), 0);
  CHECK_EQ(utcp_close(f.a, s), 0);
  utcp_loopback_run(f.lo, 10 * MS);
  /* TIME-WAIT is CLOSE to the socket layer. */
  CHECK_EQ(mask_of(f.b, c), EPOLLIN | EPOLLOUT | EPOLLHUP | EPOLLRDHUP);
  struct sockaddr_in pn;
  socklen_t pl = sizeof pn;
  CHECK_ERR(utcp_getpeername(f.b, c, SA(pn), &pl), ENOTCONN);
  CHECK_ERR(utcp_shutdown(f.b, c, SHUT_RD), ENOTCONN);
  CHECK_ERR(utcp_connect(f.b, c, SA(pn), sizeof pn), EISCONN);
  utcp_close(f.b, c);
  utcp_close(f.a, l);
  fx_free(&f);
}

TEST(test_shutdown_rd_keeps_data) {
  struct fx f = fx_new();
  int l, c, s;
  pair(&f, &l, &c, &s);
  char b[8];
  CHECK_EQ(utcp_send(f.b, c, "abc", 3, 0), 3);
  utcp_loopback_run(f.lo, 10 * MS);
  CHECK_EQ(utcp_shutdown(f.a, s, SHUT_RD), 0);
  CHECK_EQ(utcp_recv(f.a, s, b, sizeof b, 0), 3); /* Linux: queued data stays readable */
  CHECK_EQ(utcp_recv(f.a, s, b, sizeof b, 0), 0);
  CHECK_EQ(mask_of(f.a, s), EPOLLIN | EPOLLOUT | EPOLLRDHUP);
  utcp_close(f.a, s);
  utcp_close(f.b, c);
  utcp_close(f.a, l);
  fx_free(&f);
}

TEST(test_reset_recv) {
  struct fx f = fx_new();
  int l, c, s;
  pair(&f, &l, &c, &s);
  char b[8];
  CHECK_EQ(utcp_send(f.a, s, "abc", 3, 0), 3);
  utcp_loopback_run(f.lo, 10 * MS);
  struct linger lg = {1, 0};
  CHECK_EQ(utcp_setsockopt(f.a, s, SOL_SOCKET, SO_LINGER, &lg, sizeof lg), 0);
  CHECK_EQ(utcp_close(f.a, s), 0); /* SO_LINGER 0: RST */
  utcp_loopback_run(f.lo, 10 * MS);
  CHECK_EQ(mask_of(f.b, c), EPOLLIN | EPOLLOUT | EPOLLERR | EPOLLHUP | EPOLLRDHUP);
  struct sockaddr_in pn;
  socklen_t pl = sizeof pn;
  CHECK_ERR(utcp_getpeername(f.b, c, SA(pn), &pl), ENOTCONN);
  CHECK_EQ(utcp_recv(f.b, c, b, sizeof b, 0), 3); /* data before the RST first */
  CHECK_ERR(utcp_recv(f.b, c, b, sizeof b, 0), ECONNRESET);
  CHECK_EQ(utcp_recv(f.b, c, b, sizeof b, 0), 0);
  CHECK_EQ(mask_of(f.b, c), EPOLLIN | EPOLLOUT | EPOLLHUP | EPOLLRDHUP);
  CHECK_ERR(utcp_send(f.b, c, "x", 1, 0), EPIPE);
  CHECK_ERR(utcp_shutdown(f.b, c, SHUT_WR), ENOTCONN);
  CHECK_ERR(utcp_connect(f.b, c, SA(pn), sizeof pn), EISCONN);
  utcp_close(f.b, c);
  utcp_close(f.a, l);
  fx_free(&f);
}

TEST(test_reset_send) {
  struct fx f = fx_new();
  int l, c, s;
  pair(&f, &l, &c, &s);
  CHECK_EQ(utcp_abort(f.a, s), 0); /* utcp extension: RST and release */
  utcp_loopback_run(f.lo, 10 * MS);
  CHECK_ERR(utcp_send(f.b, c, "x", 1, MSG_NOSIGNAL), ECONNRESET);
  CHECK_ERR(utcp_send(f.b, c, "x", 1, MSG_NOSIGNAL), EPIPE);
  CHECK_EQ(so_error(f.b, c), 0);
  utcp_close(f.b, c);
  utcp_close(f.a, l);
  fx_free(&f);
}

TEST(test_close_with_unread_data_resets) {
  struct fx f = fx_new();
  int l, c, s;
  pair(&f, &l, &c, &s);
  char b[4];
  CHECK_EQ(utcp_send(f.b, c, "unread", 6, 0), 6);
  utcp_loopback_run(f.lo, 10 * MS);
  CHECK_EQ(utcp_close(f.a, s), 0);
  utcp_loopback_run(f.lo, 10 * MS);
  CHECK_ERR(utcp_recv(f.b, c, b, sizeof b, 0), ECONNRESET);
  utcp_close(f.b, c);
  utcp_close(f.a, l);
  fx_free(&f);
}

TEST(test_close_listener_resets_queue) {
  struct fx f = fx_new();
  int l = listener(f.a, PORT);
  int c = utcp_socket(f.b, AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  struct sockaddr_in a = sin_of(UTCP_LO_IP(0), PORT);
  CHECK_ERR(utcp_connect(f.b, c, SA(a), sizeof a), EINPROGRESS);
  utcp_loopback_run(f.lo, 10 * MS);
  CHECK_EQ(utcp_close(f.a, l), 0);
  utcp_loopback_run(f.lo, 10 * MS);
  CHECK_EQ(so_error(f.b, c), ECONNRESET);
  utcp_close(f.b, c);
  fx_free(&f);
}

/* ---- options ---- */

TEST(test_sockopts) {
  struct fx f = fx_new();
  int s = utcp_socket(f.a, AF_INET, SOCK_STREAM, 0);
  int v;
  socklen_t vl = sizeof v;
  v = 10000;
  CHECK_EQ(utcp_setsockopt(f.a, s, SOL_SOCKET, SO_RCVBUF, &v, sizeof v), 0);
  CHECK_EQ(utcp_getsockopt(f.a, s, SOL_SOCKET, SO_RCVBUF, &v, &vl), 0);
  CHECK_EQ(v, 20000); /* Linux doubles it */
  v = 1;
  CHECK_EQ(utcp_setsockopt(f.a, s, SOL_SOCKET, SO_SNDBUF, &v, sizeof v), 0);
  CHECK_EQ(utcp_getsockopt(f.a, s, SOL_SOCKET, SO_SNDBUF, &v, &vl), 0);
  CHECK_EQ(v, 4608); /* SOCK_MIN_SNDBUF */
  CHECK_ERR(utcp_setsockopt(f.a, s, SOL_SOCKET, SO_ERROR, &v, sizeof v), ENOPROTOOPT);
  CHECK_ERR(utcp_setsockopt(f.a, s, SOL_SOCKET, SO_KEEPALIVE, &v, 2), EINVAL);
  CHECK_ERR(utcp_setsockopt(f.a, s, SOL_SOCKET, SO_KEEPALIVE, NULL, sizeof v), EFAULT);
  CHECK_ERR(utcp_setsockopt(f.a, s, 999, 1, &v, sizeof v), ENOPROTOOPT);
  CHECK_ERR(utcp_getsockopt(f.a, s, 999, 1, &v, &vl), ENOPROTOOPT);
  CHECK_ERR(utcp_setsockopt(f.a, s, SOL_SOCKET, 9999, &v, sizeof v), ENOPROTOOPT);
  CHECK_ERR(utcp_setsockopt(f.a, s, IPPROTO_TCP, 9999, &v, sizeof v), ENOPROTOOPT);
  CHECK_ERR(utcp_setsockopt(f.a, s, IPPROTO_TCP, UTCP_TCP_INFO, &v, sizeof v), ENOPROTOOPT);
  v = 50;
  CHECK_ERR(utcp_setsockopt(f.a, s, IPPROTO_TCP, TCP_MAXSEG, &v, sizeof v), EINVAL);
  v = 0;
  CHECK_EQ(utcp_setsockopt(f.a, s, IPPROTO_TCP, TCP_MAXSEG, &v, sizeof v), 0);
  CHECK_EQ(utcp_getsockopt(f.a, s, IPPROTO_TCP, TCP_MAXSEG, &v, &vl), 0);
  CHECK_EQ(v, 536);
  v = 0;
  CHECK_ERR(utcp_setsockopt(f.a, s, IPPROTO_TCP, TCP_KEEPIDLE, &v, sizeof v), EINVAL);
  v = 128;
  CHECK_ERR(utcp_setsockopt(f.a, s, IPPROTO_TCP, TCP_KEEPCNT, &v, sizeof v), EINVAL);
  v = 30;
  CHECK_EQ(utcp_setsockopt(f.a, s, IPPROTO_TCP, TCP_KEEPIDLE, &v, sizeof v), 0);
  CHECK_EQ(utcp_getsockopt(f.a, s, IPPROTO_TCP, TCP_KEEPIDLE, &v, &vl), 0);
  CHECK_EQ(v, 30);
  CHECK_EQ(utcp_getsockopt(f.a, s, IPPROTO_TCP, TCP_KEEPINTVL, &v, &vl), 0);
  CHECK_EQ(v, 75);
  CHECK_EQ(utcp_getsockopt(f.a, s, IPPROTO_TCP, TCP_KEEPCNT, &v, &vl), 0);
  CHECK_EQ(v, 9);
  v = 1;
  CHECK_EQ(utcp_setsockopt(f.a, s, IPPROTO_TCP, TCP_NODELAY, &v, sizeof v), 0);
  CHECK_EQ(utcp_setsockopt(f.a, s, SOL_SOCKET, SO_KEEPALIVE, &v, sizeof v), 0);
  /* A short buffer gets a truncated value (Linux does not fail). */
  v = 0;
  vl = 2;
  CHECK_EQ(utcp_getsockopt(f.a, s, SOL_SOCKET, SO_KEEPALIVE, &v, &vl), 0);
  CHECK_EQ(vl, 2);
  vl = sizeof v;
  CHECK_EQ(utcp_getsockopt(f.a, s, IPPROTO_TCP, TCP_NODELAY, &v, &vl), 0);
  CHECK_EQ(v, 1);
  CHECK_ERR(utcp_getsockopt(f.a, s, SOL_SOCKET, SO_TYPE, &v, NULL), EFAULT);
  vl = (socklen_t)-1;
  CHECK_ERR(utcp_getsockopt(f.a, s, SOL_SOCKET, SO_TYPE, &v, &vl), EINVAL);
  vl = sizeof v;
  CHECK_EQ(utcp_getsockopt(f.a, s, SOL_SOCKET, SO_TYPE, &v, &vl), 0);
  CHECK_EQ(v, SOCK_STREAM);
  CHECK_EQ(utcp_getsockopt(f.a, s, SOL_SOCKET, SO_ACCEPTCONN, &v, &vl), 0);
  CHECK_EQ(v, 0);
  struct linger lg = {1, 5}, lg2;
  CHECK_ERR(utcp_setsockopt(f.a, s, SOL_SOCKET, SO_LINGER, &lg, sizeof(int)), EINVAL);
  CHECK_EQ(utcp_setsockopt(f.a, s, SOL_SOCKET, SO_LINGER, &lg, sizeof lg), 0);
  socklen_t ll = sizeof lg2;
  CHECK_EQ(utcp_getsockopt(f.a, s, SOL_SOCKET, SO_LINGER, &lg2, &ll), 0);
  CHECK_EQ(ll, sizeof lg2);
  CHECK_EQ(lg2.l_onoff, 1);
  CHECK_EQ(lg2.l_linger, 5);
  struct utcp_tcp_info ti;
  socklen_t tl = sizeof ti;
  CHECK_EQ(utcp_getsockopt(f.a, s, IPPROTO_TCP, UTCP_TCP_INFO, &ti, &tl), 0);
  CHECK_EQ(ti.state, UTCP_TCP_CLOSED);
  utcp_close(f.a, s);
  fx_free(&f);
}

TEST(test_sockopts_reach_the_connection) {
  struct fx f = fx_new();
  int l = listener(f.a, PORT);
  int v = 1;
  CHECK_EQ(utcp_setsockopt(f.a, l, IPPROTO_TCP, TCP_NODELAY, &v, sizeof v), 0);
  v = 8000;
  CHECK_EQ(utcp_setsockopt(f.a, l, SOL_SOCKET, SO_SNDBUF, &v, sizeof v), 0);
  int c = utcp_socket(f.b, AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  v = 600;
  CHECK_EQ(utcp_setsockopt(f.b, c, IPPROTO_TCP, TCP_MAXSEG, &v, sizeof v), 0);
  struct sockaddr_in a = sin_of(UTCP_LO_IP(0), PORT);
  CHECK_ERR(utcp_connect(f.b, c, SA(a), sizeof a), EINPROGRESS);
  utcp_loopback_run(f.lo, 10 * MS);
  int s = utcp_accept(f.a, l, NULL, NULL);
  socklen_t vl = sizeof v;
  /* Inherited from the listener. */
  CHECK_EQ(utcp_getsockopt(f.a, s, IPPROTO_TCP, TCP_NODELAY, &v, &vl), 0);
  CHECK_EQ(v, 1);
  CHECK_EQ(utcp_getsockopt(f.a, s, SOL_SOCKET, SO_SNDBUF, &v, &vl), 0);
  CHECK_EQ(v, 16000);
  static uint8_t big[32 * 1024];
  CHECK_EQ(utcp_send(f.a, s, big, sizeof big, MSG_DONTWAIT), 8000); /* the core got 8000 */
  /* The peer's MSS option follows TCP_MAXSEG. */
  CHECK_EQ(utcp_getsockopt(f.a, s, IPPROTO_TCP, TCP_MAXSEG, &v, &vl), 0);
  CHECK_EQ(v, 600 - 12);
  utcp_close(f.a, s);
  utcp_close(f.b, c);
  utcp_close(f.a, l);
  fx_free(&f);
}

TEST(test_ioctl_fcntl) {
  struct fx f = fx_new();
  int s = utcp_socket(f.a, AF_INET, SOCK_STREAM, 0);
  int on = 1;
  CHECK_EQ(utcp_ioctl(f.a, s, FIONBIO, &on), 0);
  CHECK_EQ(utcp_fcntl(f.a, s, F_GETFL), O_RDWR | O_NONBLOCK);
  CHECK_ERR(utcp_ioctl(f.a, s, FIONBIO, NULL), EFAULT);
  CHECK_EQ(utcp_fcntl(f.a, s, F_SETFL, O_RDWR), 0);
  CHECK_EQ(utcp_fcntl(f.a, s, F_GETFL), O_RDWR);
  CHECK_EQ(utcp_fcntl(f.a, s, F_SETFL, O_NONBLOCK | O_APPEND), 0);
  CHECK_EQ(utcp_fcntl(f.a, s, F_GETFL), O_RDWR | O_NONBLOCK);
  CHECK_EQ(utcp_fcntl(f.a, s, F_SETFD, FD_CLOEXEC), 0);
  CHECK_EQ(utcp_fcntl(f.a, s, F_GETFD), FD_CLOEXEC);
  CHECK_ERR(utcp_fcntl(f.a, s, F_DUPFD, 0), EINVAL);
  utcp_close(f.a, s);
  fx_free(&f);
}

/* ---- a context without a wait hook: blocking sockets cannot block ---- */

static uint8_t nul_buf[2048];
static uint8_t *nul_alloc(void *arg, size_t cap) {
  (void)arg;
  return cap <= sizeof nul_buf ? nul_buf : NULL;
}
static void nul_commit(void *arg, uint8_t *buf, size_t len) {
  (void)arg;
  (void)buf;
  (void)len;
}

TEST(test_ctx_without_wait_hook) {
  struct utcp_ctx_config cfg;
  utcp_ctx_config_default(&cfg);
  fx_small_config(&cfg, 64);
  cfg.stack.ip = 0x0a000001;
  cfg.stack.netmask = 0xffffff00;
  cfg.stack.mac = (struct utcp_mac){{2, 0, 0, 0, 0, 1}};
  struct utcp_tx_sink sink = {NULL, nul_alloc, nul_commit, NULL};
  struct utcp_ctx *ctx = NULL;
  CHECK_EQ(utcp_ctx_new(NULL, NULL, &sink, NULL, 0, &ctx), UTCP_ERR_INVAL);
  struct utcp_ctx_config bad = cfg;
  bad.max_fds = 0;
  CHECK_EQ(utcp_ctx_new(&bad, NULL, &sink, NULL, 0, &ctx), UTCP_ERR_INVAL);
  REQUIRE(utcp_ctx_new(&cfg, NULL, &sink, NULL, 0, &ctx) == 0);
  int l = utcp_socket(ctx, AF_INET, SOCK_STREAM, 0); /* blocking */
  CHECK_EQ(utcp_listen(ctx, l, 1), 0);
  CHECK_ERR(utcp_accept(ctx, l, NULL, NULL), EAGAIN);
  int ep = utcp_epoll_create(ctx, 1);
  struct epoll_event e;
  CHECK_EQ(utcp_epoll_wait(ctx, ep, &e, 1, -1), 0);
  CHECK_EQ(utcp_ctx_poll(ctx, 5 * SEC), 0);
  CHECK_EQ(utcp_ctx_now(ctx), 5 * SEC);
  utcp_close(ctx, ep);
  utcp_close(ctx, l);
  CHECK_EQ(utcp_ctx_fds_in_use(ctx), 0);
  utcp_ctx_free(ctx);
  utcp_ctx_free(NULL);
}

TEST(test_errno_map) {
  CHECK_EQ(utcp_errno_from_err(0), 0);
  CHECK_EQ(utcp_errno_from_err(UTCP_ERR_CONNRESET), ECONNRESET);
  CHECK_EQ(utcp_errno_from_err(UTCP_ERR_HOSTUNREACH), EHOSTUNREACH);
  CHECK_EQ(utcp_errno_from_err(UTCP_ERR_NOMEM), ENOBUFS);
  CHECK_EQ(utcp_errno_from_err(-999), EIO);
}

TEST_MAIN(TEST_CASE(test_socket_args), TEST_CASE(test_writev_is_one_write), TEST_CASE(test_bad_descriptors),
          TEST_CASE(test_fresh_socket), TEST_CASE(test_bind),
          TEST_CASE(test_bind_reuseaddr_listen_conflict), TEST_CASE(test_listen_states),
          TEST_CASE(test_accept_addr_and_flags), TEST_CASE(test_accept_backlog),
          TEST_CASE(test_connect_nonblocking), TEST_CASE(test_connect_args),
          TEST_CASE(test_connect_refused_nonblocking), TEST_CASE(test_connect_blocking),
          TEST_CASE(test_connect_timeout), TEST_CASE(test_connect_shutdown_while_connecting),
          TEST_CASE(test_connect_unspec_disconnects), TEST_CASE(test_connect_bound_port),
          TEST_CASE(test_read_write), TEST_CASE(test_write_fills_buffer),
          TEST_CASE(test_shutdown_wr_and_eof), TEST_CASE(test_shutdown_rd_keeps_data),
          TEST_CASE(test_reset_recv), TEST_CASE(test_reset_send),
          TEST_CASE(test_close_with_unread_data_resets),
          TEST_CASE(test_close_listener_resets_queue), TEST_CASE(test_sockopts),
          TEST_CASE(test_sockopts_reach_the_connection), TEST_CASE(test_ioctl_fcntl),
          TEST_CASE(test_ctx_without_wait_hook), TEST_CASE(test_errno_map))
