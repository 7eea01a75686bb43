/* Shared by the socket-API tests: two contexts joined by the loopback platform, errno checks,
 * and the leak check every test ends with. */
#ifndef UTCP_TESTS_API_FIXTURE_H
#define UTCP_TESTS_API_FIXTURE_H

#include <arpa/inet.h>

#include "api/loopback.h"
#include "core/tcp.h"
#include "test.h"
#include "utcp/epoll.h"
#include "utcp/utcp.h"

#define MS 1000000ull
#define SEC 1000000000ull

/* -1 with errno e. */
#define CHECK_ERR(expr, e)                                                             \
  do {                                                                                 \
    errno = 0;                                                                         \
    long r_ = (long)(expr);                                                            \
    int e_ = errno;                                                                    \
    if (r_ != -1 || e_ != (e)) {                                                       \
      fprintf(stderr, "%s:%d: CHECK_ERR failed: %s: rc %ld errno %d (%s), want %s\n", \
              __FILE__, __LINE__, #expr, r_, e_, strerror(e_), #e);                    \
      test_failures_++;                                                                \
    }                                                                                  \
  } while (0)

struct fx {
  struct utcp_loopback *lo;
  struct utcp_ctx *a, *b; /* side 0, side 1 */
};

/* Small pools for a test context. */
static inline void fx_small_config(struct utcp_ctx_config *c, uint32_t max_epoll_items) {
  c->stack.tcp.max_conns = 64;
  c->stack.tcp.chunks = 512;
  c->stack.tcp.reass_nodes = 128;
  c->max_fds = 32;
  c->max_epoll_items = max_epoll_items;
}

/* Two small contexts with max_epoll_items registrations each. */
static inline struct fx fx_new_with(uint32_t max_epoll_items) {
  struct utcp_loopback_config cfg;
  utcp_loopback_config_default(&cfg);
  for (int i = 0; i < 2; i++) fx_small_config(&cfg.ctx[i], max_epoll_items);
  struct fx f = {0};
  int rc = utcp_loopback_new(&cfg, &f.lo);
  if (rc != 0) {
    fprintf(stderr, "utcp_loopback_new: %d\n", rc);
    abort();
  }
  f.a = utcp_loopback_ctx(f.lo, 0);
  f.b = utcp_loopback_ctx(f.lo, 1);
  return f;
}

/* Leak check: every descriptor closed by the test; after 2 MSL nothing is left in either
 * stack. */
static inline void fx_free(struct fx *f) {
  CHECK_EQ(utcp_ctx_fds_in_use(f->a), 0);
  CHECK_EQ(utcp_ctx_fds_in_use(f->b), 0);
  CHECK_EQ(utcp_ctx_epoll_items_in_use(f->a), 0);
  CHECK_EQ(utcp_ctx_epoll_items_in_use(f->b), 0);
  utcp_loopback_run(f->lo, 200 * SEC);
  for (int i = 0; i < 2; i++) {
    struct utcp_stack *s = utcp_ctx_stack(utcp_loopback_ctx(f->lo, i));
    CHECK_EQ(utcp_tcp_conns_in_use(s), 0);
    CHECK_EQ(utcp_tcp_chunks_in_use(s), 0);
    CHECK_EQ(utcp_tcp_timers_running(s), 0);
  }
  utcp_loopback_free(f->lo);
}

static inline struct sockaddr_in sin_of(uint32_t ip, uint16_t port) {
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(ip);
  return a;
}

#define SA(a) ((struct sockaddr *)&(a))

#endif
