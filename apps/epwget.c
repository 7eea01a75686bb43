/* epwget: an HTTP load generator on utcp epoll (after mTCP's epwget).
 *
 *   epwget --url http://A.B.C.D[:PORT]/PATH [--requests N] [--concurrency C] [--keepalive]
 *          [--root DIR] [--timeout-s S] [-f CONFIG] [--quiet]
 *
 * Keeps C connections busy until N requests have been answered. Without --keepalive each
 * request has a connection of its own (`Connection: close`); with it, a connection carries
 * requests one after another until N are started or the server closes. Every response must
 * be 200 with a Content-Length, and every body byte is compared with what the file holds:
 * for /gen/<bytes> the generated content shared with epserver --gen, otherwise the file
 * DIR/PATH given by --root (without either, bodies are counted, not compared).
 *
 * Prints a progress line each second (of the context's clock: virtual seconds in the
 * simulator) and a summary: requests/s, errors by kind, latency p50/p99/p999 (from the first
 * byte of the request, or from connect for a new connection, to the last byte of the body),
 * bytes verified. Exits 0 only when every request succeeded and every byte matched. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "app_util.h"
#include "apps.h"
#include "utcp/epoll.h"
#include "utcp/runtime.h"
#include "utcp/utcp.h"

#define RESP_HEAD_MAX 4096
#define EVENTS 256
#define NS_PER_S 1000000000ull

enum cstate { C_FREE, C_CONNECTING, C_SENDING, C_HEAD, C_BODY };

enum err_kind { E_CONNECT, E_STATUS, E_CONTENT, E_TIMEOUT, E_RESET, E_PROTO, E__COUNT };
static const char *const err_names[E__COUNT] = {"connect", "status", "content", "timeout",
                                                "reset",   "protocol"};

struct conn {
  enum cstate st;
  bool server_close;
  size_t head_len;
  size_t req_off;
  uint64_t body_len, body_got;
  uint64_t t_start;
  uint32_t reqs; /* requests carried so far */
  uint64_t bad; /* body bytes of this response that differed */
  char head[RESP_HEAD_MAX]; /* last: not cleared for a new connection */
};

struct client {
  struct utcp_ctx *ctx;
  int ep;
  uint32_t ip;
  uint16_t port;
  char path[1024];
  char req[1400];
  size_t req_len;
  uint64_t n_req, conc, timeout_ns;
  bool keepalive, quiet;
  /* expected content */
  bool gen;
  uint64_t gen_len;
  uint8_t *file;
  size_t file_len;
  bool verify;
  /* state */
  struct conn *conns; /* by descriptor */
  uint32_t n_conns;
  uint64_t started, done, ok, open;
  uint64_t errors[E__COUNT];
  uint64_t *lat;
  uint64_t body_bytes, verified_bytes, bad_bytes;
  uint64_t t0, t_last;
};

static void usage(FILE *out) {
  fprintf(out,
          "usage: epwget --url http://A.B.C.D[:PORT]/PATH [options]\n"
          "  --requests N      requests in all (default 1000)\n"
          "  --concurrency C   connections at once (default 100)\n"
          "  --keepalive       several requests per connection (default: one each)\n"
          "  --root DIR        expected bodies: the files under DIR (/gen/<bytes>: built in)\n"
          "  --timeout-s S     a request not answered in S seconds is an error (default 60)\n"
          "  -f CONFIG         utcp configuration file\n"
          "  --core N          the runtime core's context to use (default 0)\n"
          "  --wait-server T   first try to connect up to T times, 100 ms apart, until the\n"
          "                    server listens (for launchers that start both at once)\n"
          "  --quiet           no progress lines\n");
}

static bool parse_url(struct client *c, const char *url) {
  if (strncmp(url, "http://", 7) != 0) return false;
  const char *h = url + 7, *slash = strchr(h, '/');
  const char *colon = memchr(h, ':', slash ? (size_t)(slash - h) : strlen(h));
  const char *hend = colon ? colon : slash ? slash : h + strlen(h);
  char host[32];
  if ((size_t)(hend - h) >= sizeof host) return false;
  memcpy(host, h, (size_t)(hend - h));
  host[hend - h] = 0;
  if (!app_parse_ipv4(host, &c->ip)) return false;
  c->port = 80;
  if (colon) {
    char p[8];
    const char *pe = slash ? slash : colon + strlen(colon);
    uint64_t v;
    if ((size_t)(pe - colon - 1) >= sizeof p) return false;
    memcpy(p, colon + 1, (size_t)(pe - colon - 1));
    p[pe - colon - 1] = 0;
    if (!app_parse_num(p, 1, 65535, &v)) return false;
    c->port = (uint16_t)v;
  }
  const char *path = slash ? slash : "/";
  if (strlen(path) >= sizeof c->path) return false;
  strcpy(c->path, path);
  return true;
}

static bool load_expected(struct client *c, const char *root) {
  uint64_t n;
  if (strncmp(c->path, "/gen/", 5) == 0 && app_parse_num(c->path + 5, 0, UINT64_MAX, &n)) {
    c->gen = true;
    c->gen_len = n;
    c->verify = true;
    return true;
  }
  if (root == NULL) return true;
  char full[2048];
  snprintf(full, sizeof full, "%s%s%s", root, c->path,
           c->path[strlen(c->path) - 1] == '/' ? "index.html" : "");
  int fd = open(full, O_RDONLY | O_CLOEXEC);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) < 0) {
    fprintf(stderr, "epwget: --root: %s: %s\n", full, strerror(errno));
    if (fd >= 0) close(fd);
    return false;
  }
  c->file_len = (size_t)st.st_size;
  c->file = malloc(c->file_len ? c->file_len : 1);
  size_t got = 0;
  while (c->file && got < c->file_len) {
    ssize_t r = read(fd, c->file + got, c->file_len - got);
    if (r <= 0) break;
    got += (size_t)r;
  }
  close(fd);
  if (c->file == NULL || got != c->file_len) {
    fprintf(stderr, "epwget: cannot read %s\n", full);
    return false;
  }
  c->verify = true;
  return true;
}

/* ---- connections ---- */

static void conn_end(struct client *c, int fd) {
  c->conns[fd].st = C_FREE;
  utcp_epoll_ctl(c->ctx, c->ep, EPOLL_CTL_DEL, fd, NULL);
  utcp_close(c->ctx, fd);
  c->open--;
}

static void fail(struct client *c, int fd, enum err_kind k) {
  c->errors[k]++;
  c->done++;
  c->t_last = utcp_ctx_now(c->ctx);
  conn_end(c, fd);
}

static void set_interest(struct client *c, int fd, uint32_t ev) {
  struct epoll_event e = {.events = ev, .data.fd = fd};
  utcp_epoll_ctl(c->ctx, c->ep, EPOLL_CTL_MOD, fd, &e);
}

/* Opens a connection for the next request. */
static void conn_open(struct client *c) {
  int fd = utcp_socket(c->ctx, AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  c->started++;
  if (fd < 0 || (uint32_t)fd >= c->n_conns) {
    if (fd >= 0) utcp_close(c->ctx, fd);
    c->errors[E_CONNECT]++;
    c->done++;
    return;
  }
  struct conn *k = &c->conns[fd];
  memset(k, 0, offsetof(struct conn, head));
  k->t_start = utcp_ctx_now(c->ctx);
  k->reqs = 1;
  int one = 1;
  utcp_setsockopt(c->ctx, fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(c->port),
                           .sin_addr.s_addr = htonl(c->ip)};
  int rc = utcp_connect(c->ctx, fd, (struct sockaddr *)&sa, sizeof sa);
  k->st = C_CONNECTING;
  struct epoll_event e = {.events = EPOLLOUT | EPOLLIN | EPOLLRDHUP, .data.fd = fd};
  if ((rc < 0 && errno != EINPROGRESS) || utcp_epoll_ctl(c->ctx, c->ep, EPOLL_CTL_ADD, fd, &e) < 0) {
    utcp_close(c->ctx, fd);
    k->st = C_FREE;
    c->errors[E_CONNECT]++;
    c->done++;
    return;
  }
  c->open++;
}

static void send_req(struct client *c, int fd) {
  struct conn *k = &c->conns[fd];
  while (k->req_off < c->req_len) {
    ssize_t w = utcp_write(c->ctx, fd, c->req + k->req_off, c->req_len - k->req_off);
    if (w < 0) {
      if (errno == EAGAIN) {
        /* output only: input that is already there (an early EOF) would be reported again
         * and again while the write waits; errors and hang-ups are reported anyway */
        set_interest(c, fd, EPOLLOUT);
        return;
      }
      fail(c, fd, E_RESET);
      return;
    }
    k->req_off += (size_t)w;
  }
  k->st = C_HEAD;
  set_interest(c, fd, EPOLLIN | EPOLLRDHUP);
}

static void request_done(struct client *c, int fd) {
  struct conn *k = &c->conns[fd];
  uint64_t now = utcp_ctx_now(c->ctx);
  if (k->bad > 0) {
    fail(c, fd, E_CONTENT);
    return;
  }
  c->lat[c->ok++] = now - k->t_start;
  c->done++;
  c->t_last = now;
  if (c->keepalive && !k->server_close && c->started < c->n_req) {
    c->started++;
    k->reqs++;
    k->st = C_SENDING;
    k->req_off = 0;
    k->head_len = 0;
    k->body_len = k->body_got = k->bad = 0;
    k->t_start = now;
    send_req(c, fd);
    return;
  }
  conn_end(c, fd);
}

/* Checks body bytes against the expected content. */
static void body_bytes(struct client *c, struct conn *k, const uint8_t *p, size_t n) {
  c->body_bytes += n;
  if (c->verify) {
    uint64_t bad = 0;
    for (size_t i = 0; i < n; i++) {
      uint64_t off = k->body_got + i;
      uint8_t want = c->gen ? app_gen_byte(off) : off < c->file_len ? c->file[off] : 0;
      bad += p[i] != want;
    }
    c->bad_bytes += bad;
    c->verified_bytes += n - bad;
    k->bad += bad;
  }
  k->body_got += n;
}

/* Parses the response head: false on a malformed one. */
static bool parse_head(struct conn *k, size_t head_len, int *status) {
  const char *h = k->head;
  if (head_len < 12 || strncmp(h, "HTTP/1.", 7) != 0 || h[8] != ' ') return false;
  *status = atoi(h + 9);
  bool have_len = false;
  k->server_close = h[7] == '0';
  for (const char *p = memchr(h, '\n', head_len); p && p < h + head_len;) {
    p++;
    const char *nl = memchr(p, '\n', (size_t)(h + head_len - p));
    if (nl == NULL) break;
    if (strncasecmp(p, "Content-Length:", 15) == 0) {
      char *end;
      k->body_len = strtoull(p + 15, &end, 10);
      have_len = true;
    } else if (strncasecmp(p, "Connection:", 11) == 0) {
      const char *v = p + 11;
      while (*v == ' ') v++;
      if (strncasecmp(v, "close", 5) == 0) k->server_close = true;
    }
    p = nl;
  }
  return have_len;
}

static void on_readable(struct client *c, int fd) {
  struct conn *k = &c->conns[fd];
  uint8_t buf[16384];
  for (;;) {
    if (k->st == C_HEAD) {
      ssize_t r = utcp_read(c->ctx, fd, k->head + k->head_len, RESP_HEAD_MAX - k->head_len);
      if (r < 0) {
        if (errno != EAGAIN) fail(c, fd, E_RESET);
        return;
      }
      if (r == 0) {
        fail(c, fd, E_PROTO); /* closed before a response */
        return;
      }
      size_t old = k->head_len;
      k->head_len += (size_t)r;
      char *end = NULL;
      size_t from = old > 3 ? old - 3 : 0;
      for (size_t i = from; i + 3 < k->head_len; i++)
        if (memcmp(k->head + i, "\r\n\r\n", 4) == 0) {
          end = k->head + i + 4;
          break;
        }
      if (end == NULL) {
        if (k->head_len == RESP_HEAD_MAX) fail(c, fd, E_PROTO);
        continue;
      }
      size_t hl = (size_t)(end - k->head);
      int status = 0;
      if (!parse_head(k, hl, &status)) {
        fail(c, fd, E_PROTO);
        return;
      }
      if (status != 200) {
        fail(c, fd, E_STATUS);
        return;
      }
      if (c->verify && k->body_len != (c->gen ? c->gen_len : c->file_len)) {
        fail(c, fd, E_CONTENT);
        return;
      }
      k->st = C_BODY;
      size_t extra = k->head_len - hl;
      if (extra > k->body_len) {
        fail(c, fd, E_PROTO); /* more than the body: we never pipeline */
        return;
      }
      body_bytes(c, k, (const uint8_t *)end, extra);
    } else if (k->st == C_BODY) {
      if (k->body_got < k->body_len) {
        uint64_t want = k->body_len - k->body_got;
        ssize_t r = utcp_read(c->ctx, fd, buf, want < sizeof buf ? (size_t)want : sizeof buf);
        if (r < 0) {
          if (errno != EAGAIN) fail(c, fd, E_RESET);
          return;
        }
        if (r == 0) {
          fail(c, fd, E_PROTO); /* body cut short */
          return;
        }
        body_bytes(c, k, buf, (size_t)r);
      }
      if (k->body_got == k->body_len) {
        request_done(c, fd);
        return;
      }
    } else {
      return;
    }
  }
}

static void on_event(struct client *c, int fd, uint32_t ev) {
  struct conn *k = &c->conns[fd];
  if (k->st == C_CONNECTING) {
    if (!(ev & (EPOLLOUT | EPOLLERR | EPOLLHUP))) return;
    int err = 0;
    socklen_t el = sizeof err;
    utcp_getsockopt(c->ctx, fd, SOL_SOCKET, SO_ERROR, &err, &el);
    if (err != 0 || (ev & (EPOLLERR | EPOLLHUP))) {
      fail(c, fd, E_CONNECT);
      return;
    }
    k->st = C_SENDING;
  }
  if (k->st == C_SENDING) {
    if (ev & (EPOLLERR | EPOLLHUP)) {
      fail(c, fd, E_RESET);
      return;
    }
    send_req(c, fd);
    if (k->st != C_HEAD) return;
  }
  if (ev & (EPOLLIN | EPOLLRDHUP | EPOLLERR | EPOLLHUP)) on_readable(c, fd);
}

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of sorted v[0..n). */
static double pct_ms(const uint64_t *v, uint64_t n, double p) {
  if (n == 0) return 0;
  uint64_t rank = (uint64_t)(p / 100.0 * (double)n + 0.999999);
  if (rank < 1) rank = 1;
  if (rank > n) rank = n;
  return (double)v[rank - 1] / 1e6;
}

static uint64_t errors_total(const struct client *c) {
  uint64_t e = 0;
  for (int i = 0; i < E__COUNT; i++) e += c->errors[i];
  return e;
}

static void check_timeouts(struct client *c, uint64_t now) {
  for (uint32_t fd = 0; fd < c->n_conns; fd++) {
    struct conn *k = &c->conns[fd];
    if (k->st != C_FREE && now - k->t_start > c->timeout_ns) fail(c, (int)fd, E_TIMEOUT);
  }
}

int epwget_main(int argc, char **argv) {
  struct client c = {.ep = -1, .n_req = 1000, .conc = 100, .timeout_ns = 60 * NS_PER_S};
  const char *url = NULL, *root = NULL, *conf = NULL;
  uint64_t v, core = 0, wait_tries = 0;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
    bool ok = true;
    if (strcmp(a, "--keepalive") == 0) {
      c.keepalive = true;
      continue;
    } else if (strcmp(a, "--quiet") == 0 || strcmp(a, "-q") == 0) {
      c.quiet = true;
      continue;
    } else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
      usage(stdout);
      return 0;
    } else if (strcmp(a, "--url") == 0) {
      url = val;
      ok = val != NULL;
    } else if (strcmp(a, "--root") == 0) {
      root = val;
      ok = val != NULL;
    } else if (strcmp(a, "--wait-server") == 0) {
      ok = app_parse_num(val, 1, 1000000, &wait_tries);
    } else if (strcmp(a, "--core") == 0) {
      ok = app_parse_num(val, 0, 1023, &core);
    } else if (strcmp(a, "-f") == 0) {
      conf = val;
      ok = val != NULL;
    } else if (strcmp(a, "--requests") == 0) {
      ok = app_parse_num(val, 1, 100000000, &c.n_req);
    } else if (strcmp(a, "--concurrency") == 0) {
      ok = app_parse_num(val, 1, 1000000, &c.conc);
    } else if (strcmp(a, "--timeout-s") == 0) {
      ok = app_parse_num(val, 1, 100000, &v);
      c.timeout_ns = v * NS_PER_S;
    } else {
      ok = false;
    }
    if (!ok) {
      fprintf(stderr, "epwget: bad argument %s\n", a);
      usage(stderr);
      return 2;
    }
    i++;
  }
  if (url == NULL || !parse_url(&c, url)) {
    fprintf(stderr, "epwget: need --url http://A.B.C.D[:PORT]/PATH\n");
    usage(stderr);
    return 2;
  }
  if (!load_expected(&c, root)) return 2;
  c.req_len = (size_t)snprintf(c.req, sizeof c.req,
                               "GET %s HTTP/1.1\r\nHost: %u.%u.%u.%u\r\nUser-Agent: utcp-epwget\r\n"
                               "Connection: %s\r\n\r\n",
                               c.path, c.ip >> 24, (c.ip >> 16) & 255, (c.ip >> 8) & 255,
                               c.ip & 255, c.keepalive ? "keep-alive" : "close");
  int status = 1;
  int own_rt = utcp_init(conf) == 0; /* EALREADY: a launcher set the runtime up */
  if (!own_rt && errno != EALREADY) {
    fprintf(stderr, "epwget: utcp_init: %s\n", strerror(errno));
    free(c.file);
    return 1;
  }
  struct utcp_rt_config rc;
  c.ctx = utcp_create_context((int)core);
  if (c.ctx == NULL || utcp_get_config(&rc) < 0) {
    fprintf(stderr, "epwget: utcp_create_context: %s\n", strerror(errno));
    goto out;
  }
  c.n_conns = rc.ctx.max_fds;
  if (c.conc > c.n_conns - 2) c.conc = c.n_conns - 2;
  c.conns = calloc(c.n_conns, sizeof *c.conns);
  c.lat = calloc(c.n_req, sizeof *c.lat);
  c.ep = utcp_epoll_create1(c.ctx, 0);
  if (c.conns == NULL || c.lat == NULL || c.ep < 0) {
    fprintf(stderr, "epwget: set-up failed: %s\n", strerror(errno));
    goto out;
  }
  if (wait_tries && app_wait_server(c.ctx, c.ip, c.port, wait_tries) < 0) {
    fprintf(stderr, "epwget: no server: %s\n", strerror(errno));
    goto out;
  }
  c.t0 = c.t_last = utcp_ctx_now(c.ctx);
  if (!c.quiet)
    printf("epwget: %" PRIu64 " requests for %s, %" PRIu64 " at once%s\n", c.n_req, url, c.conc,
           c.keepalive ? ", keep-alive" : "");
  uint64_t next_tick = c.t0 + NS_PER_S, last_done = 0;
  struct epoll_event evs[EVENTS];
  bool interrupted = false;
  while (c.done < c.n_req) {
    while (c.open < c.conc && c.started < c.n_req) conn_open(&c);
    if (c.done >= c.n_req) break;
    uint64_t now = utcp_ctx_now(c.ctx);
    int wait_ms = now >= next_tick ? 0 : (int)((next_tick - now + 999999) / 1000000);
    int n = utcp_epoll_wait(c.ctx, c.ep, evs, EVENTS, wait_ms);
    if (n < 0) {
      fprintf(stderr, "epwget: epoll_wait: %s\n", strerror(errno));
      interrupted = true;
      break;
    }
    for (int i = 0; i < n; i++) {
      int fd = evs[i].data.fd;
      if (c.conns[fd].st != C_FREE) on_event(&c, fd, evs[i].events);
    }
    now = utcp_ctx_now(c.ctx);
    if (now >= next_tick) {
      check_timeouts(&c, now);
      if (!c.quiet) {
        printf("epwget: [%6.1f s] %8" PRIu64 " done %7" PRIu64 "/s  errors %" PRIu64
               "  open %" PRIu64 "\n",
               (double)(now - c.t0) / 1e9, c.done, c.done - last_done, errors_total(&c), c.open);
        fflush(stdout);
      }
      last_done = c.done;
      next_tick += NS_PER_S;
      if (next_tick <= now) next_tick = now + NS_PER_S;
    }
  }
  /* summary */
  double secs = (double)(c.t_last - c.t0) / 1e9;
  uint64_t errs = errors_total(&c) + (c.n_req - c.done);
  qsort(c.lat, c.ok, sizeof *c.lat, cmp_u64);
  printf("epwget: %" PRIu64 " requests, %" PRIu64 " ok, %" PRIu64 " errors (", c.n_req, c.ok,
         errs);
  for (int i = 0; i < E__COUNT; i++)
    printf("%s%s %" PRIu64, i ? ", " : "", err_names[i], c.errors[i]);
  printf(", not done %" PRIu64 ")\n", c.n_req - c.done);
  printf("epwget: %.3f s, %.1f requests/s, %.3f Gbit/s of bodies\n", secs,
         secs > 0 ? (double)c.ok / secs : 0.0,
         secs > 0 ? (double)c.body_bytes * 8 / secs / 1e9 : 0.0);
  printf("epwget: latency ms: p50 %.3f  p99 %.3f  p999 %.3f  max %.3f\n", pct_ms(c.lat, c.ok, 50),
         pct_ms(c.lat, c.ok, 99), pct_ms(c.lat, c.ok, 99.9), pct_ms(c.lat, c.ok, 100));
  if (c.verify)
    printf("epwget: bytes: %" PRIu64 " received, %" PRIu64 " verified against %s, %" PRIu64
           " differ\n",
           c.body_bytes, c.verified_bytes, c.gen ? "the generated content" : "the file",
           c.bad_bytes);
  else
    printf("epwget: bytes: %" PRIu64 " received, not verified (no --root and not /gen/)\n",
           c.body_bytes);
  status = errs == 0 && c.bad_bytes == 0 && !interrupted &&
                   (!c.verify || c.verified_bytes == c.body_bytes)
               ? 0
               : 1;
out:
  if (c.ctx != NULL) {
    for (uint32_t fd = 0; c.conns != NULL && fd < c.n_conns; fd++)
      if (c.conns[fd].st != C_FREE) conn_end(&c, (int)fd);
    if (c.ep >= 0) utcp_close(c.ctx, c.ep);
    utcp_destroy_context(c.ctx);
  }
  if (own_rt) utcp_destroy();
  free(c.conns);
  free(c.lat);
  free(c.file);
  return status;
}
