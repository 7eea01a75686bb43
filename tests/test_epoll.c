/* epoll over utcp descriptors: argument errors as Linux gives them, level- and edge-triggered
 * readiness, EPOLLRDHUP, EPOLLHUP|EPOLLERR on reset, EPOLLONESHOT rearmed by MOD, several
 * instances, and an echo server end to end over the loopback platform. */
#include "api_fixture.h"

#define PORT 7

static struct fx fx_new(void) { return fx_new_with(8); }

static int listener(struct utcp_ctx *c) {
  int fd = utcp_socket(c, AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  struct sockaddr_in a = sin_of(INADDR_ANY, PORT);
  utcp_bind(c, fd, SA(a), sizeof a);
  utcp_listen(c, fd, 16);
  return fd;
}

static int client(struct fx *f) {
  int c = utcp_socket(f->b, AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  struct sockaddr_in a = sin_of(UTCP_LO_IP(0), PORT);
  CHECK_ERR(utcp_connect(f->b, c, SA(a), sizeof a), EINPROGRESS);
  return c;
}

static void pair(struct fx *f, int *l, int *c, int *s) {
  *l = listener(f->a);
  *c = client(f);
  utcp_loopback_run(f->lo, 10 * MS);
  *s = utcp_accept4(f->a, *l, NULL, NULL, SOCK_NONBLOCK);
  CHECK(*s >= 0);
}

static int add(struct utcp_ctx *c, int ep, int fd, uint32_t events) {
  struct epoll_event e = {.events = events, .data.fd = fd};
  return utcp_epoll_ctl(c, ep, EPOLL_CTL_ADD, fd, &e);
}

/* Events reported for fd by a non-blocking wait (0: not reported). */
static uint32_t wait_for(struct utcp_ctx *c, int ep, int fd) {
  struct epoll_event ev[8];
  int n = utcp_epoll_wait(c, ep, ev, 8, 0);
  for (int i = 0; i < n; i++)
    if (ev[i].data.fd == fd) return ev[i].events;
  return 0;
}

TEST(test_epoll_create_errors) {
  struct fx f = fx_new();
  CHECK_ERR(utcp_epoll_create(f.a, 0), EINVAL);
  CHECK_ERR(utcp_epoll_create(f.a, -1), EINVAL);
  CHECK_ERR(utcp_epoll_create1(f.a, 1), EINVAL);
  int ep = utcp_epoll_create1(f.a, EPOLL_CLOEXEC);
  CHECK(ep >= 0);
  CHECK_EQ(utcp_fcntl(f.a, ep, F_GETFD), FD_CLOEXEC);
  CHECK_EQ(utcp_close(f.a, ep), 0);
  fx_free(&f);
}

TEST(test_epoll_ctl_errors) {
  struct fx f = fx_new();
  int ep = utcp_epoll_create(f.a, 1), ep2 = utcp_epoll_create(f.a, 1);
  int s = utcp_socket(f.a, AF_INET, SOCK_STREAM, 0), t = utcp_socket(f.a, AF_INET, SOCK_STREAM, 0);
  struct epoll_event e = {.events = EPOLLIN};
  CHECK_ERR(utcp_epoll_ctl(f.a, ep, 99, s, &e), EINVAL);
  CHECK_ERR(utcp_epoll_ctl(f.a, ep, EPOLL_CTL_ADD, ep, &e), EINVAL);
  CHECK_ERR(utcp_epoll_ctl(f.a, s, EPOLL_CTL_ADD, t, &e), EINVAL); /* not an epoll fd */
  CHECK_ERR(utcp_epoll_ctl(f.a, ep, EPOLL_CTL_ADD, 999, &e), EBADF);
  CHECK_ERR(utcp_epoll_ctl(f.a, 999, EPOLL_CTL_ADD, s, &e), EBADF);
  CHECK_ERR(utcp_epoll_ctl(f.a, -1, EPOLL_CTL_ADD, s, &e), EBADF);
  CHECK_ERR(utcp_epoll_ctl(f.a, ep, EPOLL_CTL_ADD, s, NULL), EFAULT);
  CHECK_ERR(utcp_epoll_ctl(f.a, ep, EPOLL_CTL_MOD, s, &e), ENOENT);
  CHECK_ERR(utcp_epoll_ctl(f.a, ep, EPOLL_CTL_DEL, s, &e), ENOENT);
  CHECK_EQ(utcp_epoll_ctl(f.a, ep, EPOLL_CTL_ADD, s, &e), 0);
  CHECK_ERR(utcp_epoll_ctl(f.a, ep, EPOLL_CTL_ADD, s, &e), EEXIST);
  CHECK_EQ(utcp_epoll_ctl(f.a, ep, EPOLL_CTL_MOD, s, &e), 0);
  CHECK_EQ(utcp_epoll_ctl(f.a, ep, EPOLL_CTL_DEL, s, NULL), 0); /* event ignored for DEL */
  CHECK_ERR(utcp_epoll_ctl(f.a, ep, EPOLL_CTL_DEL, s, NULL), ENOENT);
  /* EPOLLEXCLUSIVE: ADD only, and never changed by MOD. */
  struct epoll_event x = {.events = EPOLLIN | EPOLLEXCLUSIVE};
  CHECK_EQ(utcp_epoll_ctl(f.a, ep, EPOLL_CTL_ADD, t, &x), 0);
  CHECK_ERR(utcp_epoll_ctl(f.a, ep, EPOLL_CTL_MOD, t, &x), EINVAL);
  CHECK_ERR(utcp_epoll_ctl(f.a, ep, EPOLL_CTL_MOD, t, &e), EINVAL);
  struct epoll_event xo = {.events = EPOLLIN | EPOLLEXCLUSIVE | EPOLLONESHOT};
  CHECK_ERR(utcp_epoll_ctl(f.a, ep2, EPOLL_CTL_ADD, t, &xo), EINVAL);
  /* Nested epoll is not supported (Linux allows it). */
  CHECK_ERR(utcp_epoll_ctl(f.a, ep, EPOLL_CTL_ADD, ep2, &e), EPERM);
  /* The registration pool (8 here) runs out: ENOSPC, as max_user_watches. */
  int fds[8], n = 0, rc = 0;
  for (; n < 8; n++) {
    fds[n] = utcp_socket(f.a, AF_INET, SOCK_STREAM, 0);
    rc = utcp_epoll_ctl(f.a, ep, EPOLL_CTL_ADD, fds[n], &e);
    if (rc != 0) break;
  }
  CHECK_EQ(n, 7);
  CHECK_EQ(errno, ENOSPC);
  for (int i = 0; i <= n && i < 8; i++) utcp_close(f.a, fds[i]);
  utcp_close(f.a, s);
  utcp_close(f.a, t);
  utcp_close(f.a, ep);
  utcp_close(f.a, ep2);
  fx_free(&f);
}

TEST(test_epoll_wait_errors) {
  struct fx f = fx_new();
  int ep = utcp_epoll_create(f.a, 1);
  int s = utcp_socket(f.a, AF_INET, SOCK_STREAM, 0);
  struct epoll_event ev[2];
  CHECK_ERR(utcp_epoll_wait(f.a, ep, ev, 0, 0), EINVAL);
  CHECK_ERR(utcp_epoll_wait(f.a, ep, ev, -1, 0), EINVAL);
  CHECK_ERR(utcp_epoll_wait(f.a, s, ev, 2, 0), EINVAL);
  CHECK_ERR(utcp_epoll_wait(f.a, 999, ev, 2, 0), EBADF);
  CHECK_ERR(utcp_epoll_wait(f.a, ep, NULL, 2, 0), EFAULT);
  CHECK_EQ(utcp_epoll_wait(f.a, ep, ev, 2, 0), 0);
  utcp_close(f.a, s);
  utcp_close(f.a, ep);
  fx_free(&f);
}

TEST(test_epoll_timeout_advances_time) {
  struct fx f = fx_new();
  int ep = utcp_epoll_create(f.a, 1);
  struct epoll_event ev[2];
  uint64_t t0 = utcp_loopback_now(f.lo);
  CHECK_EQ(utcp_epoll_wait(f.a, ep, ev, 2, 250), 0);
  CHECK_EQ(utcp_loopback_now(f.lo) - t0, 250 * MS);
  CHECK_ERR(utcp_epoll_wait(f.a, ep, ev, 2, -1), EDEADLK); /* nothing could ever wake it */
  utcp_close(f.a, ep);
  fx_free(&f);
}

TEST(test_epoll_hup_err_always_reported) {
  struct fx f = fx_new();
  int ep = utcp_epoll_create(f.a, 1);
  int s = utcp_socket(f.a, AF_INET, SOCK_STREAM, 0);
  CHECK_EQ(add(f.a, ep, s, 0), 0); /* no interest at all */
  CHECK_EQ(wait_for(f.a, ep, s), EPOLLHUP);
  CHECK_EQ(add(f.a, ep, utcp_socket(f.a, AF_INET, SOCK_STREAM, 0), EPOLLOUT), 0);
  struct epoll_event ev[4];
  CHECK_EQ(utcp_epoll_wait(f.a, ep, ev, 4, 0), 2);
  utcp_close(f.a, s);
  utcp_close(f.a, 2);
  CHECK_EQ(utcp_epoll_wait(f.a, ep, ev, 4, 0), 0);
  utcp_close(f.a, ep);
  fx_free(&f);
}

TEST(test_epoll_nonblocking_connect) {
  struct fx f = fx_new();
  int l = listener(f.a);
  int ep = utcp_epoll_create(f.b, 1);
  int c = client(&f);
  CHECK_EQ(add(f.b, ep, c, EPOLLOUT | EPOLLET), 0);
  CHECK_EQ(wait_for(f.b, ep, c), 0); /* SYN-SENT: nothing */
  struct epoll_event ev[2];
  CHECK_EQ(utcp_epoll_wait(f.b, ep, ev, 2, 1000), 1); /* waits (virtual time) for it */
  CHECK_EQ(ev[0].events, EPOLLOUT);
  CHECK_EQ(ev[0].data.fd, c);
  CHECK_EQ(wait_for(f.b, ep, c), 0); /* edge-triggered: once */
  /* Refused: EPOLLOUT | EPOLLERR | EPOLLHUP. */
  int r = utcp_socket(f.b, AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  struct sockaddr_in a = sin_of(UTCP_LO_IP(0), 99);
  CHECK_ERR(utcp_connect(f.b, r, SA(a), sizeof a), EINPROGRESS);
  CHECK_EQ(add(f.b, ep, r, EPOLLOUT), 0);
  CHECK_EQ(utcp_epoll_wait(f.b, ep, ev, 2, 1000), 1);
  CHECK_EQ(ev[0].events, EPOLLOUT | EPOLLERR | EPOLLHUP);
  int v = 0;
  socklen_t vl = sizeof v;
  CHECK_EQ(utcp_getsockopt(f.b, r, SOL_SOCKET, SO_ERROR, &v, &vl), 0);
  CHECK_EQ(v, ECONNREFUSED);
  CHECK_EQ(wait_for(f.b, ep, r), EPOLLOUT | EPOLLHUP); /* the error was read */
  utcp_close(f.b, r);
  utcp_close(f.b, c);
  utcp_close(f.b, ep);
  int s = utcp_accept(f.a, l, NULL, NULL);
  utcp_close(f.a, s);
  utcp_close(f.a, l);
  fx_free(&f);
}

TEST(test_epoll_listener) {
  struct fx f = fx_new();
  int l = listener(f.a);
  int ep = utcp_epoll_create(f.a, 1);
  CHECK_EQ(add(f.a, ep, l, EPOLLIN), 0);
  CHECK_EQ(wait_for(f.a, ep, l), 0);
  int c1 = client(&f), c2 = client(&f);
  struct epoll_event ev[2];
  CHECK_EQ(utcp_epoll_wait(f.a, ep, ev, 2, 100), 1);
  CHECK_EQ(ev[0].events, EPOLLIN);
  utcp_loopback_run(f.lo, 10 * MS);
  int s1 = utcp_accept(f.a, l, NULL, NULL);
  CHECK_EQ(wait_for(f.a, ep, l), EPOLLIN); /* level-triggered: one more waits */
  int s2 = utcp_accept(f.a, l, NULL, NULL);
  CHECK(s1 >= 0 && s2 >= 0);
  CHECK_EQ(wait_for(f.a, ep, l), 0);
  utcp_close(f.a, s1);
  utcp_close(f.a, s2);
  utcp_close(f.b, c1);
  utcp_close(f.b, c2);
  utcp_close(f.a, l);
  utcp_close(f.a, ep);
  fx_free(&f);
}

TEST(test_epoll_level_triggered) {
  struct fx f = fx_new();
  int l, c, s;
  pair(&f, &l, &c, &s);
  int ep = utcp_epoll_create(f.a, 1);
  CHECK_EQ(add(f.a, ep, s, EPOLLIN), 0);
  CHECK_EQ(wait_for(f.a, ep, s), 0);
  CHECK_EQ(utcp_send(f.b, c, "abcdef", 6, 0), 6);
  utcp_loopback_run(f.lo, 10 * MS);
  char b[4];
  CHECK_EQ(wait_for(f.a, ep, s), EPOLLIN);
  CHECK_EQ(wait_for(f.a, ep, s), EPOLLIN); /* again: still readable */
  CHECK_EQ(utcp_recv(f.a, s, b, 4, 0), 4);
  CHECK_EQ(wait_for(f.a, ep, s), EPOLLIN); /* 2 bytes left */
  CHECK_EQ(utcp_recv(f.a, s, b, 4, 0), 2);
  CHECK_EQ(wait_for(f.a, ep, s), 0); /* drained */
  /* MOD to EPOLLOUT: writable at once. */
  struct epoll_event e = {.events = EPOLLIN | EPOLLOUT, .data.fd = s};
  CHECK_EQ(utcp_epoll_ctl(f.a, ep, EPOLL_CTL_MOD, s, &e), 0);
  CHECK_EQ(wait_for(f.a, ep, s), EPOLLOUT);
  CHECK_EQ(utcp_epoll_ctl(f.a, ep, EPOLL_CTL_DEL, s, NULL), 0);
  CHECK_EQ(wait_for(f.a, ep, s), 0);
  utcp_close(f.a, ep);
  utcp_close(f.a, s);
  utcp_close(f.b, c);
  utcp_close(f.a, l);
  fx_free(&f);
}

TEST(test_epoll_edge_triggered) {
  struct fx f = fx_new();
  int l, c, s;
  pair(&f, &l, &c, &s);
  int ep = utcp_epoll_create(f.a, 1);
  CHECK_EQ(add(f.a, ep, s, EPOLLIN | EPOLLOUT | EPOLLET), 0);
  CHECK_EQ(wait_for(f.a, ep, s), EPOLLOUT); /* ADD reports what is ready now */
  CHECK_EQ(wait_for(f.a, ep, s), 0);
  CHECK_EQ(utcp_send(f.b, c, "abcdef", 6, 0), 6);
  utcp_loopback_run(f.lo, 10 * MS);
  char b[4];
  CHECK_EQ(wait_for(f.a, ep, s), EPOLLIN | EPOLLOUT); /* the full mask, once */
  CHECK_EQ(wait_for(f.a, ep, s), 0);
  CHECK_EQ(utcp_recv(f.a, s, b, 4, 0), 4); /* reading does not re-arm */
  CHECK_EQ(wait_for(f.a, ep, s), 0);
  CHECK_EQ(utcp_send(f.b, c, "g", 1, 0), 1); /* new data does */
  utcp_loopback_run(f.lo, 100 * MS);          /* (Nagle waits for the delayed ACK) */
  CHECK_EQ(wait_for(f.a, ep, s), EPOLLIN | EPOLLOUT);
  CHECK_EQ(utcp_recv(f.a, s, b, 4, 0), 3);
  /* MOD re-arms. */
  struct epoll_event e = {.events = EPOLLOUT | EPOLLET, .data.fd = s};
  CHECK_EQ(utcp_epoll_ctl(f.a, ep, EPOLL_CTL_MOD, s, &e), 0);
  CHECK_EQ(wait_for(f.a, ep, s), EPOLLOUT);
  CHECK_EQ(wait_for(f.a, ep, s), 0);
  utcp_close(f.a, ep);
  utcp_close(f.a, s);
  utcp_close(f.b, c);
  utcp_close(f.a, l);
  fx_free(&f);
}

TEST(test_epoll_edge_writable_after_full) {
  struct fx f = fx_new();
  int l, c, s;
  pair(&f, &l, &c, &s);
  int ep = utcp_epoll_create(f.b, 1);
  CHECK_EQ(add(f.b, ep, c, EPOLLOUT | EPOLLET), 0);
  CHECK_EQ(wait_for(f.b, ep, c), EPOLLOUT);
  static uint8_t big[128 * 1024], sink[128 * 1024];
  /* Fill our send buffer and the peer's window (its application does not read). ACKs that
   * free space on the way are edges and are reported. */
  for (int i = 0; i < 50; i++) {
    while (utcp_send(f.b, c, big, sizeof big, 0) > 0) {
    }
    utcp_loopback_run(f.lo, 50 * MS);
  }
  CHECK_ERR(utcp_send(f.b, c, big, sizeof big, 0), EAGAIN);
  wait_for(f.b, ep, c);
  CHECK_ERR(utcp_send(f.b, c, big, sizeof big, 0), EAGAIN);
  utcp_loopback_run(f.lo, 2 * SEC); /* window probes, no space: nothing to report */
  CHECK_EQ(wait_for(f.b, ep, c), 0);
  while (utcp_recv(f.a, s, sink, sizeof sink, 0) > 0) {
  }
  utcp_loopback_run(f.lo, 300 * MS); /* window update, data flows, ACKs: space again */
  CHECK_EQ(wait_for(f.b, ep, c), EPOLLOUT);
  CHECK_EQ(wait_for(f.b, ep, c), 0);
  utcp_close(f.b, ep);
  utcp_close(f.a, s);
  utcp_close(f.b, c);
  utcp_close(f.a, l);
  fx_free(&f);
}

TEST(test_epoll_rdhup_on_peer_shutdown) {
  struct fx f = fx_new();
  int l, c, s;
  pair(&f, &l, &c, &s);
  int ep = utcp_epoll_create(f.a, 1);
  CHECK_EQ(add(f.a, ep, s, EPOLLIN | EPOLLRDHUP | EPOLLET), 0);
  CHECK_EQ(wait_for(f.a, ep, s), 0);
  CHECK_EQ(utcp_shutdown(f.b, c, SHUT_WR), 0);
  utcp_loopback_run(f.lo, 10 * MS);
  CHECK_EQ(wait_for(f.a, ep, s), EPOLLIN | EPOLLRDHUP);
  char b[4];
  CHECK_EQ(utcp_recv(f.a, s, b, sizeof b, 0), 0);
  /* Our own shutdown too: EPOLLHUP (both directions closed). */
  CHECK_EQ(utcp_shutdown(f.a, s, SHUT_WR), 0);
  CHECK_EQ(wait_for(f.a, ep, s), EPOLLIN | EPOLLRDHUP | EPOLLHUP);
  utcp_close(f.a, ep);
  utcp_close(f.a, s);
  utcp_close(f.b, c);
  utcp_close(f.a, l);
  fx_free(&f);
}

TEST(test_epoll_err_hup_on_reset) {
  struct fx f = fx_new();
  int l, c, s;
  pair(&f, &l, &c, &s);
  int ep = utcp_epoll_create(f.b, 1);
  CHECK_EQ(add(f.b, ep, c, EPOLLIN | EPOLLRDHUP | EPOLLET), 0);
  CHECK_EQ(utcp_abort(f.a, s), 0);
  struct epoll_event ev[2];
  CHECK_EQ(utcp_epoll_wait(f.b, ep, ev, 2, 100), 1);
  CHECK_EQ(ev[0].events, EPOLLIN | EPOLLRDHUP | EPOLLERR | EPOLLHUP);
  char b[4];
  CHECK_ERR(utcp_recv(f.b, c, b, sizeof b, 0), ECONNRESET);
  CHECK_EQ(wait_for(f.b, ep, c), 0); /* edge-triggered: nothing new */
  struct epoll_event e = {.events = EPOLLIN, .data.fd = c};
  CHECK_EQ(utcp_epoll_ctl(f.b, ep, EPOLL_CTL_MOD, c, &e), 0);
  CHECK_EQ(wait_for(f.b, ep, c), EPOLLIN | EPOLLHUP); /* level: EOF and HUP remain */
  utcp_close(f.b, ep);
  utcp_close(f.b, c);
  utcp_close(f.a, l);
  fx_free(&f);
}

TEST(test_epoll_oneshot_rearm) {
  struct fx f = fx_new();
  int l, c, s;
  pair(&f, &l, &c, &s);
  int ep = utcp_epoll_create(f.a, 1);
  CHECK_EQ(add(f.a, ep, s, EPOLLIN | EPOLLONESHOT), 0);
  CHECK_EQ(utcp_send(f.b, c, "ab", 2, 0), 2);
  utcp_loopback_run(f.lo, 10 * MS);
  CHECK_EQ(wait_for(f.a, ep, s), EPOLLIN);
  CHECK_EQ(wait_for(f.a, ep, s), 0); /* disabled, though still readable */
  CHECK_EQ(utcp_send(f.b, c, "c", 1, 0), 1);
  utcp_loopback_run(f.lo, 10 * MS);
  CHECK_EQ(wait_for(f.a, ep, s), 0); /* new data does not re-arm */
  CHECK_EQ(utcp_abort(f.b, c), 0);    /* nor does an error: ERR/HUP are disabled too */
  utcp_loopback_run(f.lo, 10 * MS);
  CHECK_EQ(wait_for(f.a, ep, s), 0);
  struct epoll_event e = {.events = EPOLLIN | EPOLLONESHOT, .data.fd = s};
  CHECK_EQ(utcp_epoll_ctl(f.a, ep, EPOLL_CTL_MOD, s, &e), 0);
  CHECK_EQ(wait_for(f.a, ep, s), EPOLLIN | EPOLLERR | EPOLLHUP);
  CHECK_EQ(wait_for(f.a, ep, s), 0);
  utcp_close(f.a, ep);
  utcp_close(f.a, s);
  utcp_close(f.a, l);
  fx_free(&f);
}

TEST(test_epoll_several_instances) {
  struct fx f = fx_new();
  int l, c, s;
  pair(&f, &l, &c, &s);
  int e1 = utcp_epoll_create(f.a, 1), e2 = utcp_epoll_create(f.a, 1);
  CHECK_EQ(add(f.a, e1, s, EPOLLIN), 0);
  CHECK_EQ(add(f.a, e2, s, EPOLLIN | EPOLLET), 0);
  CHECK_EQ(add(f.a, e2, l, EPOLLIN), 0);
  CHECK_EQ(utcp_send(f.b, c, "x", 1, 0), 1);
  utcp_loopback_run(f.lo, 10 * MS);
  CHECK_EQ(wait_for(f.a, e1, s), EPOLLIN);
  CHECK_EQ(wait_for(f.a, e2, s), EPOLLIN);
  CHECK_EQ(wait_for(f.a, e1, s), EPOLLIN);
  CHECK_EQ(wait_for(f.a, e2, s), 0);
  CHECK_EQ(utcp_ctx_epoll_items_in_use(f.a), 3);
  /* Closing the socket takes it out of both; closing an instance frees its registrations. */
  utcp_close(f.a, s);
  CHECK_EQ(utcp_ctx_epoll_items_in_use(f.a), 1);
  CHECK_EQ(wait_for(f.a, e1, s), 0);
  utcp_close(f.a, e2);
  CHECK_EQ(utcp_ctx_epoll_items_in_use(f.a), 0);
  utcp_close(f.a, e1);
  utcp_close(f.b, c);
  utcp_close(f.a, l);
  fx_free(&f);
}

TEST(test_epoll_maxevents_round_robin) {
  struct fx f = fx_new();
  int ep = utcp_epoll_create(f.a, 1);
  int s[3];
  for (int i = 0; i < 3; i++) {
    s[i] = utcp_socket(f.a, AF_INET, SOCK_STREAM, 0);
    CHECK_EQ(add(f.a, ep, s[i], EPOLLOUT), 0); /* fresh sockets: OUT|HUP, level-triggered */
  }
  struct epoll_event ev[2];
  int seen[3] = {0, 0, 0};
  for (int round = 0; round < 3; round++) {
    CHECK_EQ(utcp_epoll_wait(f.a, ep, ev, 2, 0), 2);
    for (int i = 0; i < 2; i++) seen[ev[i].data.fd - s[0]]++;
  }
  CHECK_EQ(seen[0], 2); /* each reported twice in three rounds of two */
  CHECK_EQ(seen[1], 2);
  CHECK_EQ(seen[2], 2);
  for (int i = 0; i < 3; i++) utcp_close(f.a, s[i]);
  utcp_close(f.a, ep);
  fx_free(&f);
}

/* An echo server on side 0 with one epoll loop, a client on side 1; trigger mode from `et`. */
static void echo(bool et) {
  struct fx f = fx_new();
  int l = listener(f.a);
  int ep = utcp_epoll_create(f.a, 16);
  CHECK_EQ(add(f.a, ep, l, EPOLLIN | (et ? EPOLLET : 0)), 0);
  int c = client(&f);
  static uint8_t msg[20000], got[20000];
  for (size_t i = 0; i < sizeof msg; i++) msg[i] = (uint8_t)(i * 13 + 1);
  size_t sent = 0, recvd = 0;
  bool closed = false, server_done = false;
  for (int iter = 0; iter < 2000 && !server_done; iter++) {
    /* Client: non-blocking writes and reads; then half-close. */
    if (sent < sizeof msg) {
      ssize_t w = utcp_send(f.b, c, msg + sent, sizeof msg - sent < 3000 ? sizeof msg - sent : 3000, 0);
      if (w > 0) sent += (size_t)w;
    } else if (!closed && recvd == sizeof msg) {
      CHECK_EQ(utcp_shutdown(f.b, c, SHUT_WR), 0);
      closed = true;
    }
    ssize_t r;
    while ((r = utcp_recv(f.b, c, got + recvd, sizeof got - recvd, 0)) > 0) recvd += (size_t)r;
    /* Server: one epoll_wait with a timeout (runs the link in virtual time). */
    struct epoll_event ev[8];
    int n = utcp_epoll_wait(f.a, ep, ev, 8, 5);
    CHECK(n >= 0);
    for (int i = 0; i < n; i++) {
      int fd = ev[i].data.fd;
      if (fd == l) {
        int s;
        while ((s = utcp_accept4(f.a, l, NULL, NULL, SOCK_NONBLOCK)) >= 0)
          CHECK_EQ(add(f.a, ep, s, EPOLLIN | EPOLLRDHUP | (et ? EPOLLET : 0)), 0);
        CHECK_EQ(errno, EAGAIN);
        continue;
      }
      uint8_t buf[1500];
      for (;;) { /* ET: read until EAGAIN; LT: once is enough, but this is fine too */
        ssize_t k = utcp_recv(f.a, fd, buf, et ? sizeof buf : 700, 0);
        if (k > 0) {
          CHECK_EQ(utcp_send(f.a, fd, buf, (size_t)k, 0), k);
          if (!et) break;
          continue;
        }
        if (k == 0) {
          utcp_close(f.a, fd);
          server_done = true;
        } else {
          CHECK_EQ(errno, EAGAIN);
        }
        break;
      }
    }
  }
  CHECK(server_done);
  CHECK_EQ(recvd, sizeof msg);
  CHECK(memcmp(msg, got, sizeof msg) == 0);
  utcp_loopback_run(f.lo, 10 * MS);
  char b[1];
  CHECK_EQ(utcp_recv(f.b, c, b, 1, 0), 0);
  utcp_close(f.b, c);
  utcp_close(f.a, l);
  utcp_close(f.a, ep);
  fx_free(&f);
}

TEST(test_epoll_echo_level_triggered) { echo(false); }
TEST(test_epoll_echo_edge_triggered) { echo(true); }

TEST_MAIN(TEST_CASE(test_epoll_create_errors), TEST_CASE(test_epoll_ctl_errors),
          TEST_CASE(test_epoll_wait_errors), TEST_CASE(test_epoll_timeout_advances_time),
          TEST_CASE(test_epoll_hup_err_always_reported), TEST_CASE(test_epoll_nonblocking_connect),
          TEST_CASE(test_epoll_listener), TEST_CASE(test_epoll_level_triggered),
          TEST_CASE(test_epoll_edge_triggered), TEST_CASE(test_epoll_edge_writable_after_full),
          TEST_CASE(test_epoll_rdhup_on_peer_shutdown), TEST_CASE(test_epoll_err_hup_on_reset),
          TEST_CASE(test_epoll_oneshot_rearm), TEST_CASE(test_epoll_several_instances),
          TEST_CASE(test_epoll_maxevents_round_robin), TEST_CASE(test_epoll_echo_level_triggered),
          TEST_CASE(test_epoll_echo_edge_triggered))
