/* epserver: an HTTP/1.1 static file server on utcp epoll (after mTCP's epserver).
 *
 *   epserver [--root DIR] [--gen] [--port N] [--idle-timeout S] [-f CONFIG] [--quiet]
 *
 * GET and HEAD (RFC 9110 9.3.1, 9.3.2); other standard methods get 405 with Allow, unknown ones
 * 501 (RFC 9110 15.5.6, 15.6.2). Persistent connections as RFC 9112 9.3: HTTP/1.1 stays open
 * unless a `Connection: close`, HTTP/1.0 only with `Connection: keep-alive`; pipelined requests
 * are answered in order. Files come from --root (read once into a bounded in-memory cache); no
 * path may leave the root (".." segments are refused, and the resolved path must lie under the
 * resolved root, so symbolic links cannot lead out either). With --gen, /gen/<bytes> answers
 * that many bytes of the generated content shared with epwget (apps/app_util.h).
 *
 * Every connection has a fixed 8 KiB request buffer; a request head that does not fit gets 431.
 * Responses are written from the cache (or generated) as the socket takes them, so the
 * server's memory does not grow with the number of connections or the size of the files.
 * A connection with no event for --idle-timeout seconds (default 60; 0: never) is closed: an
 * idle keep-alive connection, a request that stalls half-way, a peer that stops reading. The
 * connections sit in a list by last activity, so finding the expired ones costs O(expired).
 * Runs until a wait is interrupted (the simulator stopping it, or a signal on real runtimes). */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
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

#define REQ_MAX 8192
#define HDR_MAX 512
#define CHUNK 16384
#define CACHE_FILES 256
#define CACHE_FILE_MAX (64u << 20)
#define CACHE_TOTAL_MAX (512u << 20)
#define GEN_MAX (1ull << 34)
#define EVENTS 256
#define LINGER_MAX (1u << 20) /* input discarded after our FIN before giving up (RST) */

struct cache_ent {
  char *path; /* decoded request path */
  uint8_t *data;
  size_t len;
};

struct conn {
  bool used, keepalive, close_after, sending, peer_eof, blocked;
  uint64_t last_ns;            /* last event (utcp_ctx_now) */
  uint32_t idle_prev, idle_next; /* the activity list: fd + 1, 0 for none */
  bool lingering;      /* our side is shut down; discarding input until the peer's FIN */
  uint64_t discarded;
  uint32_t interest; /* the registered EPOLL* mask */
  size_t req_len;
  size_t req_consumed; /* length of the request being answered */
  size_t hdr_len, hdr_off;
  const uint8_t *body; /* cached file, or NULL for generated content */
  uint64_t body_len, body_off;
  /* last: not cleared for a new connection */
  char hdr[HDR_MAX];
  char req[REQ_MAX];
};

struct server {
  struct utcp_ctx *ctx;
  int lfd, ep;
  char *root; /* realpath of --root, or NULL */
  bool gen, quiet;
  struct conn *conns;
  uint32_t n_conns;
  struct cache_ent cache[CACHE_FILES];
  size_t n_cache, cache_bytes;
  uint8_t *scratch;
  bool accept_paused; /* out of descriptors: the listener waits for a connection to close */
  uint64_t idle_ns;       /* --idle-timeout; 0: never */
  uint32_t idle_head, idle_tail; /* least recently active first: fd + 1, 0 for none */
  uint64_t accepted, requests, responses[6]; /* responses by class: [2] = 2xx ... */
  uint64_t idle_closed;
  uint64_t body_bytes;
};

static void usage(FILE *out) {
  fprintf(out, "usage: epserver [--root DIR] [--gen] [--port N] [--idle-timeout S] [-f CONFIG] "
               "[--quiet]\n"
               "  --root DIR   serve files under DIR (default: none)\n"
               "  --gen        serve /gen/<bytes>: generated content epwget can verify\n"
               "  --port N     TCP port (default 80)\n"
               "  --idle-timeout S  close a connection with no event for S seconds (default 60; "
               "0: never)\n"
               "  -f CONFIG    utcp configuration file (runtime.h utcp_init)\n"
               "  --core N     the runtime core's context to use (default 0)\n");
}

/* ---- file cache ---- */

static const struct cache_ent *cache_get(struct server *s, const char *path, int *status) {
  for (size_t i = 0; i < s->n_cache; i++)
    if (strcmp(s->cache[i].path, path) == 0) return &s->cache[i];
  *status = 404;
  if (s->root == NULL) return NULL;
  size_t n = strlen(s->root) + strlen(path) + 1;
  char *full = malloc(n);
  if (full == NULL) return *status = 500, NULL;
  snprintf(full, n, "%s%s", s->root, path);
  char *real = realpath(full, NULL);
  free(full);
  if (real == NULL) return NULL;
  size_t rl = strlen(s->root);
  /* The resolved file must lie under the resolved root. */
  bool inside = strncmp(real, s->root, rl) == 0 && real[rl] == '/';
  struct stat st;
  int fd = inside ? open(real, O_RDONLY | O_CLOEXEC) : -1;
  free(real);
  if (fd < 0) return NULL;
  if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    return NULL;
  }
  *status = 500;
  if ((uint64_t)st.st_size > CACHE_FILE_MAX || s->n_cache == CACHE_FILES ||
      s->cache_bytes + (size_t)st.st_size > CACHE_TOTAL_MAX) {
    close(fd);
    return NULL;
  }
  struct cache_ent *e = &s->cache[s->n_cache];
  e->len = (size_t)st.st_size;
  e->data = malloc(e->len ? e->len : 1);
  e->path = strdup(path);
  size_t got = 0;
  while (e->data && e->path && got < e->len) {
    ssize_t r = read(fd, e->data + got, e->len - got);
    if (r <= 0) break;
    got += (size_t)r;
  }
  close(fd);
  if (e->data == NULL || e->path == NULL || got != e->len) {
    free(e->data);
    free(e->path);
    return NULL;
  }
  s->n_cache++;
  s->cache_bytes += e->len;
  return e;
}

/* ---- HTTP parsing ---- */

static bool is_tchar(int c) {
  return isalnum(c) || (c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static int hexval(int c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* Decodes the path of an origin-form target (query dropped) into out; false when malformed or
 * when a segment is "." or ".." (nothing may walk out of the root). */
static bool decode_path(const char *t, size_t tl, char *out, size_t cap) {
  size_t o = 0;
  if (tl == 0 || t[0] != '/') return false;
  for (size_t i = 0; i < tl && t[i] != '?' && t[i] != '#'; i++) {
    int c = (unsigned char)t[i];
    if (c == '%') {
      int hi = i + 2 < tl ? hexval(t[i + 1]) : -1, lo = i + 2 < tl ? hexval(t[i + 2]) : -1;
      if (hi < 0 || lo < 0) return false;
      c = hi * 16 + lo;
      i += 2;
      if (c == 0) return false;
    } else if (c <= 0x20 || c >= 0x7f) {
      return false;
    }
    if (o + 1 >= cap) return false;
    out[o++] = (char)c;
  }
  out[o] = 0;
  /* segments */
  for (const char *p = out; *p;) {
    const char *seg = p + 1, *end = strchr(seg, '/');
    size_t n = end ? (size_t)(end - seg) : strlen(seg);
    if ((n == 1 && seg[0] == '.') || (n == 2 && seg[0] == '.' && seg[1] == '.')) return false;
    if (n > 0 && memchr(seg, '\\', n) != NULL) return false;
    p = seg + n;
  }
  return true;
}

static const char *reason(int status) {
  switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 505: return "HTTP Version Not Supported";
    default: return "Error";
  }
}

static const char *content_type(const char *path) {
  const char *dot = strrchr(path, '.');
  if (dot == NULL || strchr(dot, '/') != NULL) return "application/octet-stream";
  static const char *const map[][2] = {
      {".html", "text/html"},        {".htm", "text/html"},     {".txt", "text/plain"},
      {".css", "text/css"},          {".js", "text/javascript"}, {".json", "application/json"},
      {".png", "image/png"},         {".jpg", "image/jpeg"},    {".gif", "image/gif"},
      {".svg", "image/svg+xml"}};
  for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
    if (strcasecmp(dot, map[i][0]) == 0) return map[i][1];
  return "application/octet-stream";
}

/* Whether the comma-separated header value holds the token (case-insensitive). */
static bool has_token(const char *v, size_t vl, const char *tok) {
  size_t tl = strlen(tok);
  size_t i = 0;
  while (i < vl) {
    while (i < vl && (v[i] == ' ' || v[i] == '\t' || v[i] == ',')) i++;
    size_t j = i;
    while (j < vl && v[j] != ',') j++;
    size_t e = j;
    while (e > i && (v[e - 1] == ' ' || v[e - 1] == '\t')) e--;
    if (e - i == tl && strncasecmp(v + i, tok, tl) == 0) return true;
    i = j;
  }
  return false;
}

/* Prepares the response for the request head req[0, head_len). */
static void answer(struct server *s, struct conn *c, const char *req, size_t head_len) {
  int status = 200;
  bool head = false, v11 = false, close_tok = false, keep_tok = false, has_body = false;
  int hosts = 0;
  const struct cache_ent *ent = NULL;
  uint64_t gen_len = 0;
  bool gen = false;
  char path[1024] = "";
  s->requests++;

  /* Request line (RFC 9112 3): method SP request-target SP HTTP-version. */
  const char *end = req + head_len;
  const char *eol = memchr(req, '\n', head_len);
  const char *le = eol && eol > req && eol[-1] == '\r' ? eol - 1 : eol;
  const char *sp1 = le ? memchr(req, ' ', (size_t)(le - req)) : NULL;
  const char *sp2 = sp1 ? memchr(sp1 + 1, ' ', (size_t)(le - sp1 - 1)) : NULL;
  if (sp1 == NULL || sp2 == NULL || sp1 == req || sp2 == sp1 + 1) {
    status = 400;
    goto respond;
  }
  for (const char *p = req; p < sp1; p++)
    if (!is_tchar((unsigned char)*p)) {
      status = 400;
      goto respond;
    }
  size_t vl = (size_t)(le - sp2 - 1);
  const char *ver = sp2 + 1;
  if (vl == 8 && memcmp(ver, "HTTP/1.1", 8) == 0) {
    v11 = true;
  } else if (vl == 8 && memcmp(ver, "HTTP/1.0", 8) == 0) {
    v11 = false;
  } else if (vl == 8 && memcmp(ver, "HTTP/", 5) == 0 && isdigit((unsigned char)ver[5]) &&
             ver[6] == '.' && isdigit((unsigned char)ver[7])) {
    status = 505; /* RFC 9110 15.6.6 */
    goto respond;
  } else {
    status = 400;
    goto respond;
  }
  /* Header fields (RFC 9112 5): name ":" OWS value OWS; no space before the colon. */
  for (const char *p = eol + 1; p < end;) {
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    if (nl == NULL) break;
    const char *fe = nl > p && nl[-1] == '\r' ? nl - 1 : nl;
    if (fe == p) break; /* the empty line */
    const char *colon = memchr(p, ':', (size_t)(fe - p));
    if (colon == NULL || colon == p) {
      status = 400;
      goto respond;
    }
    for (const char *q = p; q < colon; q++)
      if (!is_tchar((unsigned char)*q)) {
        status = 400; /* RFC 9112 5.1: whitespace before the colon must be rejected */
        goto respond;
      }
    const char *v = colon + 1;
    while (v < fe && (*v == ' ' || *v == '\t')) v++;
    size_t nlen = (size_t)(colon - p), vlen = (size_t)(fe - v);
    if (nlen == 4 && strncasecmp(p, "host", 4) == 0) hosts++;
    if (nlen == 10 && strncasecmp(p, "connection", 10) == 0) {
      close_tok |= has_token(v, vlen, "close");
      keep_tok |= has_token(v, vlen, "keep-alive");
    }
    if (nlen == 17 && strncasecmp(p, "transfer-encoding", 17) == 0) has_body = true;
    if (nlen == 14 && strncasecmp(p, "content-length", 14) == 0) {
      char num[24];
      size_t k = vlen;
      while (k > 0 && (v[k - 1] == ' ' || v[k - 1] == '\t')) k--;
      uint64_t cl;
      if (k == 0 || k >= sizeof num) {
        status = 400;
        goto respond;
      }
      memcpy(num, v, k);
      num[k] = 0;
      if (!app_parse_num(num, 0, UINT64_MAX, &cl)) {
        status = 400;
        goto respond;
      }
      if (cl > 0) has_body = true;
    }
    p = nl + 1;
  }
  /* RFC 9112 3.2: a 1.1 request without exactly one Host field gets 400. */
  if (v11 && hosts != 1) {
    status = 400;
    goto respond;
  }
  size_t ml = (size_t)(sp1 - req);
  if (ml == 3 && memcmp(req, "GET", 3) == 0) {
    head = false;
  } else if (ml == 4 && memcmp(req, "HEAD", 4) == 0) {
    head = true;
  } else {
    static const char *const known[] = {"POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE",
                                        "PATCH"};
    status = 501; /* RFC 9110 15.6.2: a method the server does not recognise */
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
      if (ml == strlen(known[i]) && memcmp(req, known[i], ml) == 0) status = 405;
    goto respond;
  }
  if (!decode_path(sp1 + 1, (size_t)(sp2 - sp1 - 1), path, sizeof path)) {
    status = 400;
    goto respond;
  }
  if (s->gen && strncmp(path, "/gen/", 5) == 0) {
    if (!app_parse_num(path + 5, 0, GEN_MAX, &gen_len)) {
      status = 404;
      goto respond;
    }
    gen = true;
  } else {
    if (path[strlen(path) - 1] == '/') {
      if (strlen(path) + 10 >= sizeof path) {
        status = 404;
        goto respond;
      }
      strcat(path, "index.html");
    }
    ent = cache_get(s, path, &status);
    if (ent == NULL) goto respond;
    status = 200;
  }

respond:;
  /* RFC 9112 9.3: persistence. Errors in the request itself end the connection. A request with
   * a body is answered and the connection closed (the body is not read). */
  c->keepalive = status != 400 && status != 431 && status != 501 && status != 505 && !has_body &&
                 (v11 ? !close_tok : keep_tok);
  c->close_after = !c->keepalive;
  char errbody[160];
  const char *ctype = "text/html";
  uint64_t len;
  c->body = NULL;
  if (status == 200) {
    len = gen ? gen_len : ent->len;
    c->body = gen ? NULL : ent->data;
    ctype = gen ? "application/octet-stream" : content_type(path);
    s->body_bytes += head ? 0 : len;
  } else {
    int n = snprintf(errbody, sizeof errbody, "<html><body><h1>%d %s</h1></body></html>\n",
                     status, reason(status));
    len = (uint64_t)n;
  }
  int n = snprintf(c->hdr, sizeof c->hdr,
                   "HTTP/1.1 %d %s\r\nServer: utcp-epserver\r\nContent-Type: %s\r\n"
                   "Content-Length: %" PRIu64 "\r\n%sConnection: %s\r\n\r\n",
                   status, reason(status), ctype, len,
                   status == 405 ? "Allow: GET, HEAD\r\n" : "",
                   c->keepalive ? "keep-alive" : "close");
  c->hdr_len = (size_t)n;
  c->hdr_off = 0;
  c->body_off = 0;
  c->body_len = head ? 0 : len;
  if (status != 200 && !head) {
    /* small error bodies go out with the header */
    if (c->hdr_len + len < sizeof c->hdr) {
      memcpy(c->hdr + c->hdr_len, errbody, (size_t)len);
      c->hdr_len += (size_t)len;
    }
    c->body_len = 0;
  }
  c->sending = true;
  s->responses[status / 100 < 6 ? status / 100 : 5]++;
}

/* ---- connections ---- */

static void listener_interest(struct server *s, bool on) {
  s->accept_paused = !on;
  struct epoll_event ev = {.events = on ? EPOLLIN : 0, .data.fd = s->lfd};
  utcp_epoll_ctl(s->ctx, s->ep, EPOLL_CTL_MOD, s->lfd, &ev);
}

/* ---- the activity list ---- */

static void idle_unlink(struct server *s, int fd) {
  struct conn *c = &s->conns[fd];
  if (c->idle_prev) s->conns[c->idle_prev - 1].idle_next = c->idle_next;
  else if (s->idle_head == (uint32_t)fd + 1) s->idle_head = c->idle_next;
  if (c->idle_next) s->conns[c->idle_next - 1].idle_prev = c->idle_prev;
  else if (s->idle_tail == (uint32_t)fd + 1) s->idle_tail = c->idle_prev;
  c->idle_prev = c->idle_next = 0;
}

/* The connection had an event now: it moves to the end of the list. */
static void idle_touch(struct server *s, int fd) {
  if (s->idle_ns == 0) return;
  struct conn *c = &s->conns[fd];
  idle_unlink(s, fd);
  c->last_ns = utcp_ctx_now(s->ctx);
  c->idle_prev = s->idle_tail;
  if (s->idle_tail) s->conns[s->idle_tail - 1].idle_next = (uint32_t)fd + 1;
  else s->idle_head = (uint32_t)fd + 1;
  s->idle_tail = (uint32_t)fd + 1;
}

/* The epoll_wait timeout: until the least recently active connection expires (-1: none). */
static int idle_wait_ms(const struct server *s) {
  if (s->idle_head == 0) return -1;
  uint64_t due = s->conns[s->idle_head - 1].last_ns + s->idle_ns, now = utcp_ctx_now(s->ctx);
  if (due <= now) return 0;
  uint64_t ms = (due - now + 999999) / 1000000;
  return ms > INT_MAX ? INT_MAX : (int)ms;
}

static void conn_close(struct server *s, int fd);

static void idle_expire(struct server *s) {
  uint64_t now = utcp_ctx_now(s->ctx);
  while (s->idle_head != 0 && s->conns[s->idle_head - 1].last_ns + s->idle_ns <= now) {
    s->idle_closed++;
    conn_close(s, (int)s->idle_head - 1);
  }
}

static void conn_close(struct server *s, int fd) {
  struct conn *c = &s->conns[fd];
  idle_unlink(s, fd);
  c->used = false;
  utcp_epoll_ctl(s->ctx, s->ep, EPOLL_CTL_DEL, fd, NULL);
  utcp_close(s->ctx, fd);
  if (s->accept_paused) listener_interest(s, true);
}

/* Registers for what the connection can use now: input while there is room and no EOF (a full
 * buffer or an EOF would otherwise be reported again and again), output while a write waits. */
static void update_interest(struct server *s, int fd) {
  struct conn *c = &s->conns[fd];
  if (!c->used) return;
  uint32_t want = (!c->peer_eof && c->req_len < REQ_MAX ? EPOLLIN | EPOLLRDHUP : 0) |
                  (c->sending && c->blocked ? EPOLLOUT : 0);
  if (want == c->interest) return;
  c->interest = want;
  struct epoll_event ev = {.events = want, .data.fd = fd};
  utcp_epoll_ctl(s->ctx, s->ep, EPOLL_CTL_MOD, fd, &ev);
}

/* Writes what the socket takes; false when the connection was closed. */
static bool send_some(struct server *s, int fd) {
  struct conn *c = &s->conns[fd];
  while (c->sending) {
    /* The head and the first body bytes go in one writev: two writes would leave the body to
     * Nagle's algorithm until the client's (delayed) ACK of the head, 40 ms or more. */
    struct iovec v[2];
    int cnt = 0;
    size_t hdr_left = c->hdr_len - c->hdr_off;
    if (hdr_left > 0) v[cnt++] = (struct iovec){c->hdr + c->hdr_off, hdr_left};
    if (c->body_off < c->body_len) {
      uint64_t left = c->body_len - c->body_off;
      size_t n = left < CHUNK ? (size_t)left : CHUNK;
      if (c->body != NULL) {
        v[cnt++] = (struct iovec){(void *)(uintptr_t)(c->body + c->body_off), n};
      } else {
        app_gen_fill(s->scratch, c->body_off, n);
        v[cnt++] = (struct iovec){s->scratch, n};
      }
    }
    if (cnt == 0) {
      /* response complete */
      c->sending = false;
      memmove(c->req, c->req + c->req_consumed, c->req_len - c->req_consumed);
      c->req_len -= c->req_consumed;
      c->req_consumed = 0;
      if (c->peer_eof && (c->close_after || c->req_len == 0)) {
        conn_close(s, fd);
        return false;
      }
      if (c->close_after) {
        /* A lingering close: closing with unread input would send a RST that can destroy the
         * response before the client reads it (RFC 9112 9.6), so send our FIN and read until
         * the client's. */
        utcp_shutdown(s->ctx, fd, SHUT_WR);
        c->lingering = true;
        c->req_len = 0;
        return true;
      }
      return true;
    }
    c->blocked = false;
    ssize_t w = utcp_writev(s->ctx, fd, v, cnt);
    if (w < 0) {
      if (errno == EAGAIN) {
        c->blocked = true;
        return true;
      }
      conn_close(s, fd); /* EPIPE, ECONNRESET... */
      return false;
    }
    size_t from_hdr = (size_t)w < hdr_left ? (size_t)w : hdr_left;
    c->hdr_off += from_hdr;
    c->body_off += (uint64_t)w - from_hdr;
  }
  return true;
}

/* Finds the end of a request head: the empty line. 0 when not complete yet. */
static size_t head_end(const char *b, size_t n) {
  for (size_t i = 0; i + 1 < n; i++) {
    if (b[i] != '\n') continue;
    if (b[i + 1] == '\n') return i + 2;
    if (i + 2 < n && b[i + 1] == '\r' && b[i + 2] == '\n') return i + 3;
  }
  return 0;
}

/* Answers every complete request in the buffer, one at a time. */
static void process(struct server *s, int fd) {
  struct conn *c = &s->conns[fd];
  while (c->used && !c->sending && !c->lingering) {
    size_t he = head_end(c->req, c->req_len);
    if (he == 0) {
      if (c->req_len == REQ_MAX) {
        /* RFC 6585 5: the head does not fit our buffer */
        c->req_consumed = c->req_len;
        c->keepalive = false;
        c->close_after = true;
        int n = snprintf(c->hdr, sizeof c->hdr,
                         "HTTP/1.1 431 %s\r\nServer: utcp-epserver\r\nContent-Length: 0\r\n"
                         "Connection: close\r\n\r\n",
                         reason(431));
        c->hdr_len = (size_t)n;
        c->hdr_off = 0;
        c->body_len = c->body_off = 0;
        c->sending = true;
        s->responses[4]++;
        s->requests++;
        send_some(s, fd);
      } else if (c->peer_eof) {
        conn_close(s, fd);
      }
      return;
    }
    c->req_consumed = he;
    answer(s, c, c->req, he);
    if (!send_some(s, fd)) return;
  }
}

static void on_readable(struct server *s, int fd) {
  struct conn *c = &s->conns[fd];
  if (c->lingering) {
    for (;;) {
      ssize_t r = utcp_read(s->ctx, fd, s->scratch, CHUNK);
      if (r > 0 && (c->discarded += (uint64_t)r) < LINGER_MAX) continue;
      if (r < 0 && errno == EAGAIN) return;
      conn_close(s, fd); /* EOF, an error, or too much */
      return;
    }
  }
  while (c->req_len < REQ_MAX && !c->peer_eof) {
    ssize_t r = utcp_read(s->ctx, fd, c->req + c->req_len, REQ_MAX - c->req_len);
    if (r > 0) {
      c->req_len += (size_t)r;
      continue;
    }
    if (r == 0) {
      c->peer_eof = true;
      break;
    }
    if (errno == EAGAIN) break;
    conn_close(s, fd);
    return;
  }
  process(s, fd);
}

static void on_accept(struct server *s) {
  for (;;) {
    int fd = utcp_accept4(s->ctx, s->lfd, NULL, NULL, SOCK_NONBLOCK);
    if (fd < 0) {
      /* EMFILE: connections stay queued until a descriptor frees (the listener would stay
       * readable meanwhile, so it is left out of the epoll set until then). */
      if (errno != EAGAIN) listener_interest(s, false);
      return;
    }
    if ((uint32_t)fd >= s->n_conns) {
      utcp_close(s->ctx, fd);
      continue;
    }
    struct conn *c = &s->conns[fd];
    memset(c, 0, offsetof(struct conn, hdr));
    c->used = true;
    idle_touch(s, fd);
    c->interest = EPOLLIN | EPOLLRDHUP;
    struct epoll_event ev = {.events = c->interest, .data.fd = fd};
    if (utcp_epoll_ctl(s->ctx, s->ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
      c->used = false;
      utcp_close(s->ctx, fd);
      continue;
    }
    s->accepted++;
  }
}

int epserver_main(int argc, char **argv) {
  struct server s = {.lfd = -1, .ep = -1};
  const char *root = NULL, *conf = NULL;
  uint64_t port = 80, core = 0, idle_s = 60;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (strcmp(a, "--gen") == 0) {
      s.gen = true;
    } else if (strcmp(a, "--quiet") == 0 || strcmp(a, "-q") == 0) {
      s.quiet = true;
    } else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
      usage(stdout);
      return 0;
    } else if (strcmp(a, "--root") == 0 && v) {
      root = v, i++;
    } else if (strcmp(a, "--core") == 0 && v && app_parse_num(v, 0, 1023, &core)) {
      i++;
    } else if (strcmp(a, "-f") == 0 && v) {
      conf = v, i++;
    } else if (strcmp(a, "--port") == 0 && v && app_parse_num(v, 1, 65535, &port)) {
      i++;
    } else if (strcmp(a, "--idle-timeout") == 0 && v && app_parse_num(v, 0, 1000000, &idle_s)) {
      i++;
    } else {
      fprintf(stderr, "epserver: bad argument %s\n", a);
      usage(stderr);
      return 2;
    }
  }
  if (root != NULL && (s.root = realpath(root, NULL)) == NULL) {
    fprintf(stderr, "epserver: --root %s: %s\n", root, strerror(errno));
    return 2;
  }
  s.idle_ns = idle_s * 1000000000ull;
  int status = 1;
  int own_rt = utcp_init(conf) == 0; /* EALREADY: a launcher set the runtime up */
  if (!own_rt && errno != EALREADY) {
    fprintf(stderr, "epserver: utcp_init: %s\n", strerror(errno));
    free(s.root);
    return 1;
  }
  struct utcp_rt_config rc;
  s.ctx = utcp_create_context((int)core);
  if (s.ctx == NULL || utcp_get_config(&rc) < 0) {
    fprintf(stderr, "epserver: utcp_create_context: %s\n", strerror(errno));
    goto out;
  }
  s.n_conns = rc.ctx.max_fds;
  s.conns = calloc(s.n_conns, sizeof *s.conns);
  s.scratch = malloc(CHUNK);
  if (s.conns == NULL || s.scratch == NULL) {
    fprintf(stderr, "epserver: out of memory\n");
    goto out;
  }
  s.lfd = utcp_socket(s.ctx, AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                           .sin_addr.s_addr = htonl(INADDR_ANY)};
  int one = 1;
  if (s.lfd < 0 || utcp_setsockopt(s.ctx, s.lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
      utcp_bind(s.ctx, s.lfd, (struct sockaddr *)&sa, sizeof sa) < 0 ||
      utcp_listen(s.ctx, s.lfd, 4096) < 0) {
    fprintf(stderr, "epserver: listen on port %" PRIu64 ": %s\n", port, strerror(errno));
    goto out;
  }
  s.ep = utcp_epoll_create1(s.ctx, 0);
  struct epoll_event lev = {.events = EPOLLIN, .data.fd = s.lfd};
  if (s.ep < 0 || utcp_epoll_ctl(s.ctx, s.ep, EPOLL_CTL_ADD, s.lfd, &lev) < 0) {
    fprintf(stderr, "epserver: epoll: %s\n", strerror(errno));
    goto out;
  }
  if (!s.quiet)
    printf("epserver: listening on port %" PRIu64 "%s%s%s\n", port, s.root ? ", root " : "",
           s.root ? s.root : "", s.gen ? ", /gen/<bytes> on" : "");
  struct epoll_event evs[EVENTS];
  for (;;) {
    int n = utcp_epoll_wait(s.ctx, s.ep, evs, EVENTS, idle_wait_ms(&s));
    if (n < 0) {
      if (errno == EINTR) {
        status = 0; /* asked to stop */
      } else {
        fprintf(stderr, "epserver: epoll_wait: %s\n", strerror(errno));
      }
      break;
    }
    for (int i = 0; i < n; i++) {
      int fd = evs[i].data.fd;
      if (fd == s.lfd) {
        on_accept(&s);
        continue;
      }
      struct conn *c = &s.conns[fd];
      if (!c->used) continue;
      idle_touch(&s, fd);
      if (evs[i].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
        on_readable(&s, fd);
        if (!c->used) continue;
      }
      if (c->sending && (evs[i].events & EPOLLOUT)) {
        if (send_some(&s, fd)) process(&s, fd);
      }
      if (c->used && (evs[i].events & (EPOLLHUP | EPOLLERR)) && !c->sending) conn_close(&s, fd);
      update_interest(&s, fd);
    }
    idle_expire(&s);
  }
out:
  if (!s.quiet || status != 0)
    printf("epserver: %" PRIu64 " connections, %" PRIu64 " requests: %" PRIu64 " 2xx %" PRIu64
           " 4xx %" PRIu64 " 5xx, %" PRIu64 " body bytes, %" PRIu64 " closed idle\n",
           s.accepted, s.requests, s.responses[2], s.responses[4], s.responses[5],
           s.body_bytes, s.idle_closed);
  if (s.ctx != NULL) {
    for (uint32_t fd = 0; s.conns != NULL && fd < s.n_conns; fd++)
      if (s.conns[fd].used) conn_close(&s, (int)fd);
    if (s.ep >= 0) utcp_close(s.ctx, s.ep);
    if (s.lfd >= 0) utcp_close(s.ctx, s.lfd);
    utcp_destroy_context(s.ctx);
  }
  if (own_rt) utcp_destroy();
  for (size_t i = 0; i < s.n_cache; i++) {
    free(s.cache[i].path);
    free(s.cache[i].data);
  }
  free(s.conns);
  free(s.scratch);
  free(s.root);
  return status;
}

bool epserver_serves(int argc, char **argv);
bool epserver_serves(int argc, char **argv) {
  (void)argc;
  (void)argv;
  return true;
}
