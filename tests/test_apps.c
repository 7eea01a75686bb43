/* The simulator's application runtime (platform/sim/rt_sim.c) and epserver's HTTP behaviour.
 *
 * Two hosts, 10.0.0.1 and 10.0.0.2, joined by one link with a 10 ms one-way delay, no rate
 * limit and static ARP, so every wake-up time is exact: a test coroutine records when each
 * blocking call returned and the checks compare with the times the link dictates. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "apps/app_util.h"
#include "apps/apps.h"
#include "platform/sim/rt_sim.h"
#include "platform/sim/sim.h"
#include "test.h"
#include "utcp/epoll.h"
#include "utcp/runtime.h"
#include "utcp/utcp.h"

#define MS 1000000ull
#define DELAY_MS 10
#define A_IP 0x0a000001u
#define B_IP 0x0a000002u

struct world {
  struct sim *sim;
  struct rt_sim *rt;
  struct rt_host *a, *b;
};

static void host_cfg(struct utcp_ctx_config *c, int i) {
  utcp_ctx_config_default(c);
  c->stack.ip = i == 0 ? A_IP : B_IP;
  c->stack.netmask = 0xffffff00u;
  c->stack.mac = (struct utcp_mac){{2, 0, 0, 0, 0, (uint8_t)(i + 1)}};
  c->stack.static_arp_count = 1;
  c->stack.static_arp[0] =
      (struct utcp_static_arp){i == 0 ? B_IP : A_IP, {{2, 0, 0, 0, 0, (uint8_t)(2 - i)}}};
  c->stack.tcp.msl_ns = 1000 * MS;
}

static void world_new(struct world *w, uint64_t seed) {
  w->sim = sim_new(seed);
  w->rt = rt_sim_new(w->sim);
  struct utcp_ctx_config c;
  host_cfg(&c, 0);
  w->a = rt_sim_host_new(w->rt, "a", &c);
  host_cfg(&c, 1);
  w->b = rt_sim_host_new(w->rt, "b", &c);
  struct sim_link_params lp;
  sim_link_params_default(&lp);
  lp.delay_ns = DELAY_MS * MS;
  lp.rate_bps = 0;
  sim_link_new(w->sim, "a-b", &lp, NULL, sim_node_port(rt_host_node(w->a)),
               sim_node_port(rt_host_node(w->b)));
}

/* Stops the apps, lets TCP finish, and checks that both hosts hold nothing. */
static void world_free(struct world *w) {
  rt_sim_stop(w->rt);
  sim_run_until(w->sim, sim_now(w->sim) + 10000 * MS);
  CHECK_EQ(rt_sim_apps_running(w->rt), 0);
  struct rt_host *hs[2] = {w->a, w->b};
  for (int i = 0; i < 2; i++) {
    struct utcp_ctx *ctx = rt_host_ctx(hs[i]);
    CHECK_EQ(utcp_ctx_fds_in_use(ctx), 0);
    CHECK_EQ(utcp_tcp_conns_in_use(utcp_ctx_stack(ctx)), 0);
    CHECK_EQ(utcp_tcp_chunks_in_use(utcp_ctx_stack(ctx)), 0);
  }
  rt_sim_free(w->rt);
  sim_free(w->sim);
}

static struct utcp_ctx *app_ctx(void) {
  if (utcp_init(NULL) < 0) return NULL;
  return utcp_create_context(0);
}

static void app_end(struct utcp_ctx *ctx) {
  utcp_destroy_context(ctx);
  utcp_destroy();
}

/* Waits ms of virtual time (an epoll_wait on an empty instance). */
static void nap(struct utcp_ctx *ctx, int ms) {
  int ep = utcp_epoll_create1(ctx, 0);
  struct epoll_event ev;
  utcp_epoll_wait(ctx, ep, &ev, 1, ms);
  utcp_close(ctx, ep);
}

static struct sockaddr_in sin_of(uint32_t ip, uint16_t port) {
  return (struct sockaddr_in){.sin_family = AF_INET, .sin_port = htons(port),
                              .sin_addr.s_addr = htonl(ip)};
}

/* ---- blocking calls wake when they should ---- */

static struct {
  uint64_t t_accept, t_read1, t_idle_ret, t_ev_ret, t_read3;
  int idle_n, ev_n;
  char read1[8], read2[8], read3[8];
  uint64_t t_nap, t_connect, t_refused, t_eof;
  int refused_errno;
  int status_a, status_b;
} bt;

static int blocking_server(int argc, char **argv) {
  (void)argc, (void)argv;
  struct utcp_ctx *ctx = app_ctx();
  if (ctx == NULL) return 1;
  int l = utcp_socket(ctx, AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in sa = sin_of(0, 9000);
  if (utcp_bind(ctx, l, (struct sockaddr *)&sa, sizeof sa) < 0 || utcp_listen(ctx, l, 8) < 0)
    return 2;
  int fd = utcp_accept(ctx, l, NULL, NULL); /* blocks until the handshake completes */
  bt.t_accept = utcp_ctx_now(ctx);
  if (fd < 0) return 3;
  utcp_read(ctx, fd, bt.read1, 5); /* "hello" came with the ACK */
  bt.t_read1 = utcp_ctx_now(ctx);
  int ep = utcp_epoll_create1(ctx, 0);
  struct epoll_event ev = {.events = EPOLLIN, .data.fd = fd};
  utcp_epoll_ctl(ctx, ep, EPOLL_CTL_ADD, fd, &ev);
  bt.idle_n = utcp_epoll_wait(ctx, ep, &ev, 1, 300); /* nothing comes: times out */
  bt.t_idle_ret = utcp_ctx_now(ctx);
  bt.ev_n = utcp_epoll_wait(ctx, ep, &ev, 1, 10000); /* "world" comes first */
  bt.t_ev_ret = utcp_ctx_now(ctx);
  utcp_read(ctx, fd, bt.read2, 5);
  utcp_read(ctx, fd, bt.read3, 5); /* blocks until "again" */
  bt.t_read3 = utcp_ctx_now(ctx);
  utcp_close(ctx, ep);
  utcp_close(ctx, fd);
  utcp_close(ctx, l);
  app_end(ctx);
  return 0;
}

static int blocking_client(int argc, char **argv) {
  (void)argc, (void)argv;
  struct utcp_ctx *ctx = app_ctx();
  if (ctx == NULL) return 1;
  nap(ctx, 100);
  bt.t_nap = utcp_ctx_now(ctx);
  /* refused: no listener on 9999; the RST comes back after one round trip */
  int r = utcp_socket(ctx, AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in bad = sin_of(A_IP, 9999);
  if (utcp_connect(ctx, r, (struct sockaddr *)&bad, sizeof bad) < 0) bt.refused_errno = errno;
  bt.t_refused = utcp_ctx_now(ctx);
  utcp_close(ctx, r);
  int fd = utcp_socket(ctx, AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in sa = sin_of(A_IP, 9000);
  if (utcp_connect(ctx, fd, (struct sockaddr *)&sa, sizeof sa) < 0) return 2;
  bt.t_connect = utcp_ctx_now(ctx);
  utcp_write(ctx, fd, "hello", 5);
  nap(ctx, 500);
  utcp_write(ctx, fd, "world", 5);
  nap(ctx, 200);
  utcp_write(ctx, fd, "again", 5);
  char b[8];
  ssize_t n = utcp_read(ctx, fd, b, sizeof b); /* blocks until the server's FIN */
  bt.t_eof = n == 0 ? utcp_ctx_now(ctx) : 0;
  utcp_close(ctx, fd);
  app_end(ctx);
  return 0;
}

TEST(test_apps_blocking_calls_wake_on_time) {
  struct world w;
  world_new(&w, 1);
  memset(&bt, 0, sizeof bt);
  struct rt_app *s = rt_sim_spawn(w.rt, w.a, "server", blocking_server, 0, NULL, 0, 1 * MS);
  struct rt_app *c = rt_sim_spawn(w.rt, w.b, "client", blocking_client, 0, NULL, 0, 1 * MS);
  REQUIRE(s != NULL && c != NULL);
  sim_run_until(w.sim, 5000 * MS);
  CHECK(rt_app_done(s) && rt_app_done(c));
  CHECK_EQ(rt_app_status(s), 0);
  CHECK_EQ(rt_app_status(c), 0);
  /* client: nap 100 ms from 1 ms; refused after one round trip (20 ms) */
  CHECK_EQ(bt.t_nap, 101 * MS);
  CHECK_EQ(bt.refused_errno, ECONNREFUSED);
  CHECK_EQ(bt.t_refused, 121 * MS);
  /* connect returns when the SYN-ACK arrives, one round trip later */
  CHECK_EQ(bt.t_connect, 141 * MS);
  /* accept returns when the ACK (with "hello") arrives, 10 ms after that */
  CHECK_EQ(bt.t_accept, 151 * MS);
  CHECK_EQ(bt.t_read1, 151 * MS);
  CHECK(memcmp(bt.read1, "hello", 5) == 0);
  /* epoll_wait with nothing to report returns 0 exactly at its timeout */
  CHECK_EQ(bt.idle_n, 0);
  CHECK_EQ(bt.t_idle_ret, 451 * MS);
  /* ... and with an event before the timeout, at the event: "world" written at 641 ms */
  CHECK_EQ(bt.ev_n, 1);
  CHECK_EQ(bt.t_ev_ret, 651 * MS);
  CHECK(memcmp(bt.read2, "world", 5) == 0);
  /* a blocking read wakes when data arrives: "again" written at 841 ms */
  CHECK_EQ(bt.t_read3, 851 * MS);
  CHECK(memcmp(bt.read3, "again", 5) == 0);
  /* the client's blocked read sees the server's FIN */
  CHECK_EQ(bt.t_eof, 861 * MS);
  world_free(&w);
}

/* ---- stopping: a wait that would last forever returns EINTR ---- */

static int stop_errno;

static int waits_forever(int argc, char **argv) {
  (void)argc, (void)argv;
  struct utcp_ctx *ctx = app_ctx();
  int l = utcp_socket(ctx, AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in sa = sin_of(0, 9100);
  utcp_bind(ctx, l, (struct sockaddr *)&sa, sizeof sa);
  utcp_listen(ctx, l, 8);
  int fd = utcp_accept(ctx, l, NULL, NULL);
  stop_errno = fd < 0 ? errno : 0;
  if (fd >= 0) utcp_close(ctx, fd);
  utcp_close(ctx, l);
  app_end(ctx);
  return 7;
}

TEST(test_apps_stop_interrupts_a_blocked_accept) {
  struct world w;
  world_new(&w, 2);
  stop_errno = -1;
  struct rt_app *a = rt_sim_spawn(w.rt, w.a, "forever", waits_forever, 0, NULL, 0, 1 * MS);
  sim_run_until(w.sim, 1000 * MS);
  CHECK(!rt_app_done(a));
  CHECK_EQ(rt_sim_apps_running(w.rt), 1);
  rt_sim_stop(w.rt);
  sim_run_until(w.sim, sim_now(w.sim));
  CHECK(rt_app_done(a));
  CHECK_EQ(rt_app_status(a), 7);
  CHECK_EQ(stop_errno, EINTR);
  world_free(&w);
}

/* runtime.h from inside a coroutine: the host's context, core 0 only, init once */
static int rt_errs[4];
static struct utcp_ctx *rt_ctx_seen;

static int runtime_calls(int argc, char **argv) {
  (void)argc, (void)argv;
  rt_errs[0] = utcp_create_context(0) == NULL ? errno : 0; /* before init */
  utcp_init(NULL);
  rt_errs[1] = utcp_init(NULL) < 0 ? errno : 0;
  rt_errs[2] = utcp_create_context(1) == NULL ? errno : 0;
  rt_ctx_seen = utcp_create_context(0);
  struct utcp_rt_config cfg;
  rt_errs[3] = utcp_get_config(&cfg) == 0 ? (int)cfg.ctx.stack.ip : -1;
  app_end(rt_ctx_seen);
  return 0;
}

TEST(test_apps_runtime_gives_the_hosts_context) {
  struct world w;
  world_new(&w, 3);
  rt_sim_spawn(w.rt, w.b, "rt", runtime_calls, 0, NULL, 0, 1 * MS);
  sim_run_until(w.sim, 10 * MS);
  CHECK_EQ(rt_errs[0], EINVAL);
  CHECK_EQ(rt_errs[1], EALREADY);
  CHECK_EQ(rt_errs[2], ENODEV);
  CHECK(rt_ctx_seen == rt_host_ctx(w.b));
  CHECK_EQ(rt_errs[3], B_IP);
  /* outside a coroutine there is nothing to return */
  CHECK(utcp_create_context(0) == NULL);
  world_free(&w);
}

/* ---- epserver ---- */

static char root_dir[256];
static const char index_body[] = "<html><body>utcp index</body></html>\n";

/* One HTTP exchange on a blocking socket: sends req, reads one response. Returns the status
 * (0 when none could be read) and fills the head, the Content-Length and the body. */
struct resp {
  int status;
  char head[2048];
  long clen;
  char body[4096];
  size_t body_len;
};

static char pending[16384]; /* bytes read past the last response (pipelining) */
static size_t pending_len;

static int read_resp(struct utcp_ctx *ctx, int fd, bool head_req, struct resp *r) {
  memset(r, 0, sizeof *r);
  char *end;
  for (;;) {
    pending[pending_len] = 0;
    end = strstr(pending, "\r\n\r\n");
    if (end != NULL) break;
    ssize_t n = utcp_read(ctx, fd, pending + pending_len, sizeof pending - 1 - pending_len);
    if (n <= 0) return 0;
    pending_len += (size_t)n;
  }
  size_t hl = (size_t)(end + 4 - pending);
  memcpy(r->head, pending, hl < sizeof r->head ? hl : sizeof r->head - 1);
  r->status = atoi(pending + 9);
  char *cl = strstr(r->head, "Content-Length: ");
  r->clen = cl ? atol(cl + 16) : -1;
  memmove(pending, pending + hl, pending_len - hl);
  pending_len -= hl;
  size_t want = head_req || r->clen < 0 ? 0 : (size_t)r->clen;
  while (pending_len < want) {
    ssize_t n = utcp_read(ctx, fd, pending + pending_len, sizeof pending - 1 - pending_len);
    if (n <= 0) break;
    pending_len += (size_t)n;
  }
  size_t take = want < pending_len ? want : pending_len;
  memcpy(r->body, pending, take < sizeof r->body ? take : sizeof r->body);
  r->body_len = take;
  memmove(pending, pending + take, pending_len - take);
  pending_len -= take;
  return r->status;
}

static int http_connect(struct utcp_ctx *ctx) {
  pending_len = 0;
  int fd = utcp_socket(ctx, AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in sa = sin_of(A_IP, 80);
  if (utcp_connect(ctx, fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
    utcp_close(ctx, fd);
    return -1;
  }
  return fd;
}

static void send_str(struct utcp_ctx *ctx, int fd, const char *s) {
  utcp_write(ctx, fd, s, strlen(s));
}

/* Whether the server closed the connection: after 100 ms (five round trips) a non-blocking
 * read sees EOF, not EAGAIN. */
static bool server_closed(struct utcp_ctx *ctx, int fd) {
  char b[64];
  nap(ctx, 100);
  return pending_len == 0 && utcp_recv(ctx, fd, b, sizeof b, MSG_DONTWAIT) == 0;
}

/* Sends one request on a new connection; returns the status and whether the server closed. */
static int one_shot(struct utcp_ctx *ctx, const char *req, struct resp *r, bool *closed) {
  int fd = http_connect(ctx);
  if (fd < 0) return -1;
  send_str(ctx, fd, req);
  int st = read_resp(ctx, fd, false, r);
  *closed = server_closed(ctx, fd);
  utcp_close(ctx, fd);
  return st;
}

static struct {
  int get_st, head_st, miss_st, pipe1, pipe2, close_st, http10_st;
  long get_clen, head_clen;
  size_t head_body;
  bool body_ok, pipe_ok, gen_ok;
  bool close_closed, http10_closed, keepalive_open;
  int bad_st, nohost_st, post_st, brew_st, v2_st, trav_st, trav2_st, link_st, big_st;
  bool bad_closed, big_closed, post_closed;
  bool allow_hdr;
  int done;
} hr;

static int http_client(int argc, char **argv) {
  (void)argc, (void)argv;
  struct utcp_ctx *ctx = app_ctx();
  if (ctx == NULL) return 1;
  nap(ctx, 10); /* the server listens first */
  struct resp r;
  /* keep-alive: GET, HEAD, a miss and a generated body on one connection */
  int fd = http_connect(ctx);
  if (fd < 0) return 2;
  send_str(ctx, fd, "GET /index.html HTTP/1.1\r\nHost: a\r\n\r\n");
  hr.get_st = read_resp(ctx, fd, false, &r);
  hr.get_clen = r.clen;
  hr.body_ok = r.body_len == strlen(index_body) && memcmp(r.body, index_body, r.body_len) == 0;
  send_str(ctx, fd, "HEAD /index.html HTTP/1.1\r\nHost: a\r\n\r\n");
  hr.head_st = read_resp(ctx, fd, true, &r);
  hr.head_clen = r.clen;
  send_str(ctx, fd, "GET /missing.html HTTP/1.1\r\nHost: a\r\n\r\n");
  hr.miss_st = read_resp(ctx, fd, false, &r);
  hr.head_body = 0; /* a body after HEAD would have been read as this response's head */
  send_str(ctx, fd, "GET /gen/3000 HTTP/1.1\r\nHost: a\r\n\r\n");
  read_resp(ctx, fd, false, &r);
  hr.gen_ok = r.status == 200 && r.body_len == 3000;
  for (size_t i = 0; hr.gen_ok && i < r.body_len; i++)
    hr.gen_ok = (uint8_t)r.body[i] == app_gen_byte(i);
  /* pipelining: two requests in one write, answered in order */
  send_str(ctx, fd, "GET /index.html HTTP/1.1\r\nHost: a\r\n\r\nGET /nope HTTP/1.1\r\nHost: a\r\n\r\n");
  hr.pipe1 = read_resp(ctx, fd, false, &r);
  hr.pipe_ok = r.body_len == strlen(index_body);
  hr.pipe2 = read_resp(ctx, fd, false, &r);
  /* the connection is still open: another request works */
  send_str(ctx, fd, "HEAD / HTTP/1.1\r\nHost: a\r\n\r\n");
  hr.keepalive_open = read_resp(ctx, fd, true, &r) == 200 && r.clen == (long)strlen(index_body);
  utcp_close(ctx, fd);

  hr.close_st = one_shot(ctx, "GET /index.html HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", &r,
                         &hr.close_closed);
  hr.http10_st = one_shot(ctx, "GET /index.html HTTP/1.0\r\n\r\n", &r, &hr.http10_closed);
  hr.bad_st = one_shot(ctx, "GARBAGE\r\n\r\n", &r, &hr.bad_closed);
  bool closed;
  hr.nohost_st = one_shot(ctx, "GET / HTTP/1.1\r\n\r\n", &r, &closed);
  hr.post_st = one_shot(ctx, "POST / HTTP/1.1\r\nHost: a\r\n\r\n", &r, &hr.post_closed);
  hr.allow_hdr = strstr(r.head, "Allow: GET, HEAD\r\n") != NULL;
  hr.brew_st = one_shot(ctx, "BREW / HTTP/1.1\r\nHost: a\r\n\r\n", &r, &closed);
  hr.v2_st = one_shot(ctx, "GET / HTTP/2.0\r\nHost: a\r\n\r\n", &r, &closed);
  hr.trav_st = one_shot(ctx, "GET /../secret.txt HTTP/1.1\r\nHost: a\r\n\r\n", &r, &closed);
  hr.trav2_st = one_shot(ctx, "GET /%2e%2e/secret.txt HTTP/1.1\r\nHost: a\r\n\r\n", &r, &closed);
  hr.link_st = one_shot(ctx, "GET /escape.txt HTTP/1.1\r\nHost: a\r\n\r\n", &r, &closed);
  /* a head larger than the server's 8 KiB buffer */
  fd = http_connect(ctx);
  char big[9000];
  memcpy(big, "GET / HTTP/1.1\r\nX: ", 19);
  memset(big + 19, 'x', sizeof big - 20);
  big[sizeof big - 1] = 0;
  send_str(ctx, fd, big);
  hr.big_st = read_resp(ctx, fd, false, &r);
  hr.big_closed = server_closed(ctx, fd);
  utcp_close(ctx, fd);
  hr.done = 1;
  app_end(ctx);
  return 0;
}

static void make_root(void) {
  snprintf(root_dir, sizeof root_dir, "/tmp/utcp-test-apps-XXXXXX");
  REQUIRE(mkdtemp(root_dir) != NULL);
  char p[512];
  snprintf(p, sizeof p, "%s/www", root_dir);
  mkdir(p, 0755);
  snprintf(p, sizeof p, "%s/www/index.html", root_dir);
  FILE *f = fopen(p, "w");
  REQUIRE(f != NULL);
  fputs(index_body, f);
  fclose(f);
  snprintf(p, sizeof p, "%s/secret.txt", root_dir);
  f = fopen(p, "w");
  REQUIRE(f != NULL);
  fputs("secret\n", f);
  fclose(f);
  char target[512];
  snprintf(target, sizeof target, "%s/secret.txt", root_dir);
  snprintf(p, sizeof p, "%s/www/escape.txt", root_dir);
  CHECK(symlink(target, p) == 0);
}

static void remove_root(void) {
  char p[512];
  const char *names[] = {"www/index.html", "www/escape.txt", "secret.txt", "www", ""};
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
    snprintf(p, sizeof p, "%s/%s", root_dir, names[i]);
    remove(p);
  }
}

TEST(test_apps_epserver_http_behaviour) {
  make_root();
  struct world w;
  world_new(&w, 4);
  memset(&hr, 0, sizeof hr);
  char root_arg[300];
  snprintf(root_arg, sizeof root_arg, "%s/www", root_dir);
  char *sargv[] = {"epserver", "--root", root_arg, "--gen", "--quiet", NULL};
  struct rt_app *s = rt_sim_spawn(w.rt, w.a, "epserver", epserver_main, 5, sargv, 0, 1 * MS);
  struct rt_app *c = rt_sim_spawn(w.rt, w.b, "client", http_client, 0, NULL, 0, 1 * MS);
  REQUIRE(s != NULL && c != NULL);
  sim_run_until(w.sim, 20000 * MS);
  CHECK(rt_app_done(c));
  CHECK_EQ(hr.done, 1);
  CHECK_EQ(hr.get_st, 200);
  CHECK_EQ(hr.get_clen, (long)strlen(index_body));
  CHECK(hr.body_ok);
  CHECK_EQ(hr.head_st, 200);
  CHECK_EQ(hr.head_clen, (long)strlen(index_body)); /* RFC 9110 9.3.2: same fields as GET */
  CHECK_EQ(hr.miss_st, 404);                         /* parsed right after HEAD: no body sent */
  CHECK(hr.gen_ok);
  CHECK_EQ(hr.pipe1, 200);
  CHECK(hr.pipe_ok);
  CHECK_EQ(hr.pipe2, 404);
  CHECK(hr.keepalive_open);
  CHECK_EQ(hr.close_st, 200);
  CHECK(hr.close_closed);
  CHECK_EQ(hr.http10_st, 200);
  CHECK(hr.http10_closed);
  CHECK_EQ(hr.bad_st, 400);
  CHECK(hr.bad_closed);
  CHECK_EQ(hr.nohost_st, 400);
  CHECK_EQ(hr.post_st, 405);
  CHECK(hr.allow_hdr);
  CHECK(!hr.post_closed); /* 405 keeps the connection */
  CHECK_EQ(hr.brew_st, 501);
  CHECK_EQ(hr.v2_st, 505);
  CHECK_EQ(hr.trav_st, 400);
  CHECK_EQ(hr.trav2_st, 400);
  CHECK_EQ(hr.link_st, 404); /* a symbolic link out of the root */
  CHECK_EQ(hr.big_st, 431);
  CHECK(hr.big_closed);
  CHECK(!rt_app_done(s)); /* a server runs until it is stopped */
  world_free(&w);        /* stops it and checks that it returned */
  remove_root();
}

/* ---- epserver and garbage: every connection ends, the server keeps serving ---- */

static struct {
  int ended, answered_400, valid_st;
  bool valid_ok;
  int done;
} gr;

static int garbage_client(int argc, char **argv) {
  (void)argc, (void)argv;
  struct utcp_ctx *ctx = app_ctx();
  if (ctx == NULL) return 1;
  nap(ctx, 10);
  uint64_t x = 0x243f6a8885a308d3ull; /* a fixed xorshift stream: the same garbage each run */
  static char buf[4000], in[8192];
  static const char pieces[][12] = {"GET ", "HEAD ", "/", " HTTP/1.1", "\r\n", ":", "Host",
                                    "%", "..", "\n", " ", "\0"};
  for (int k = 0; k < 60; k++) {
    size_t len = 0, want = 1 + (size_t)(x % 3000);
    while (len < want) {
      x ^= x << 13, x ^= x >> 7, x ^= x << 17;
      if (x % 3 == 0) {
        const char *p = pieces[(x >> 8) % (sizeof pieces / sizeof pieces[0])];
        size_t pl = strlen(p) ? strlen(p) : 1;
        if (len + pl > sizeof buf) break;
        memcpy(buf + len, p, pl);
        len += pl;
      } else {
        buf[len++] = (char)(x >> 24);
      }
    }
    int fd = http_connect(ctx);
    if (fd < 0) continue;
    utcp_write(ctx, fd, buf, len);
    utcp_shutdown(ctx, fd, SHUT_WR);
    /* whatever the server answers, it must end the connection */
    size_t got = 0;
    for (;;) {
      ssize_t n = utcp_read(ctx, fd, in + got, sizeof in - 1 - got);
      if (n <= 0) {
        gr.ended += n == 0 || errno == ECONNRESET;
        break;
      }
      got += (size_t)n;
      if (got == sizeof in - 1) got = 0;
    }
    in[got] = 0;
    gr.answered_400 += strstr(in, "HTTP/1.1 400 ") != NULL;
    utcp_close(ctx, fd);
  }
  /* and still serves a good request */
  struct resp r;
  int fd = http_connect(ctx);
  if (fd >= 0) {
    send_str(ctx, fd, "GET /gen/100 HTTP/1.1\r\nHost: a\r\n\r\n");
    gr.valid_st = read_resp(ctx, fd, false, &r);
    gr.valid_ok = r.body_len == 100;
    utcp_close(ctx, fd);
  }
  gr.done = 1;
  app_end(ctx);
  return 0;
}

TEST(test_apps_epserver_survives_garbage) {
  struct world w;
  world_new(&w, 5);
  memset(&gr, 0, sizeof gr);
  char *sargv[] = {"epserver", "--gen", "--quiet", NULL};
  struct rt_app *s = rt_sim_spawn(w.rt, w.a, "epserver", epserver_main, 3, sargv, 0, 1 * MS);
  struct rt_app *c = rt_sim_spawn(w.rt, w.b, "garbage", garbage_client, 0, NULL, 0, 1 * MS);
  REQUIRE(s != NULL && c != NULL);
  sim_run_until(w.sim, 60000 * MS);
  CHECK(rt_app_done(c));
  CHECK_EQ(gr.done, 1);
  CHECK_EQ(gr.ended, 60);           /* no connection was left hanging */
  CHECK(gr.answered_400 > 0);       /* the garbage was recognised as such */
  CHECK_EQ(gr.valid_st, 200);
  CHECK(gr.valid_ok);
  CHECK(!rt_app_done(s));
  world_free(&w);
}

/* ---- epserver closes idle connections ---- */

static struct {
  uint64_t t_connect, t_eof; /* the silent connection */
  int busy_ok;               /* requests answered on the busy connection */
  bool busy_open;            /* still open after 4 s of requests 1 s apart */
  uint64_t t_busy_last, t_busy_eof;
  int done;
} it;

static int idle_client(int argc, char **argv) {
  (void)argc, (void)argv;
  struct utcp_ctx *ctx = app_ctx();
  if (ctx == NULL) return 1;
  nap(ctx, 10);
  /* A connection that never sends: closed 2 s after it was accepted. */
  int silent = http_connect(ctx);
  it.t_connect = utcp_ctx_now(ctx);
  char b[64];
  if (silent >= 0 && utcp_read(ctx, silent, b, sizeof b) == 0) it.t_eof = utcp_ctx_now(ctx);
  utcp_close(ctx, silent);
  /* A connection with a request every second outlives the timeout, then idles out. */
  int fd = http_connect(ctx);
  struct resp r;
  for (int k = 0; fd >= 0 && k < 5; k++) {
    if (k > 0) nap(ctx, 1000);
    send_str(ctx, fd, "GET /gen/10 HTTP/1.1\r\nHost: a\r\n\r\n");
    it.busy_ok += read_resp(ctx, fd, false, &r) == 200;
  }
  it.t_busy_last = utcp_ctx_now(ctx);
  it.busy_open = utcp_recv(ctx, fd, b, sizeof b, MSG_DONTWAIT) < 0 && errno == EAGAIN;
  if (utcp_read(ctx, fd, b, sizeof b) == 0) it.t_busy_eof = utcp_ctx_now(ctx);
  utcp_close(ctx, fd);
  it.done = 1;
  app_end(ctx);
  return 0;
}

TEST(test_apps_epserver_idle_timeout) {
  struct world w;
  world_new(&w, 9);
  memset(&it, 0, sizeof it);
  char *sargv[] = {"epserver", "--gen", "--quiet", "--idle-timeout", "2", NULL};
  struct rt_app *s = rt_sim_spawn(w.rt, w.a, "epserver", epserver_main, 5, sargv, 0, 1 * MS);
  struct rt_app *c = rt_sim_spawn(w.rt, w.b, "idle", idle_client, 0, NULL, 0, 1 * MS);
  REQUIRE(s != NULL && c != NULL);
  sim_run_until(w.sim, 60000 * MS);
  CHECK(rt_app_done(c));
  CHECK_EQ(it.done, 1);
  /* accepted half a round trip before connect returned; the FIN takes one delay back */
  uint64_t silent = it.t_eof - it.t_connect;
  CHECK(it.t_eof != 0);
  CHECK(silent >= 2000 * MS && silent <= 2000 * MS + 2 * DELAY_MS * MS);
  CHECK_EQ(it.busy_ok, 5);
  CHECK(it.busy_open);
  uint64_t busy = it.t_busy_eof - it.t_busy_last;
  CHECK(it.t_busy_eof != 0);
  CHECK(busy >= 2000 * MS - 2 * DELAY_MS * MS && busy <= 2000 * MS + 2 * DELAY_MS * MS);
  CHECK(!rt_app_done(s));
  world_free(&w);
}

TEST_MAIN(TEST_CASE(test_apps_blocking_calls_wake_on_time),
          TEST_CASE(test_apps_stop_interrupts_a_blocked_accept),
          TEST_CASE(test_apps_runtime_gives_the_hosts_context),
          TEST_CASE(test_apps_epserver_http_behaviour),
          TEST_CASE(test_apps_epserver_survives_garbage),
          TEST_CASE(test_apps_epserver_idle_timeout))
