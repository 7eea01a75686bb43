/* The per-core context: descriptor table, connection map, stack events -> socket readiness. */
#include <stdlib.h>
#include <string.h>

#include "api_impl.h"

#define MAP_EMPTY 0u

static void *libc_alloc(void *arg, size_t size) {
  (void)arg;
  return calloc(1, size);
}

static void libc_free(void *arg, void *p, size_t size) {
  (void)arg;
  (void)size;
  free(p);
}

void *api_alloc(struct utcp_ctx *ctx, size_t size) { return ctx->mem.alloc(ctx->mem.ctx, size); }

void api_free(struct utcp_ctx *ctx, void *p, size_t size) {
  if (p != NULL) ctx->mem.free(ctx->mem.ctx, p, size);
}

int api_fail(int e) {
  errno = e;
  return -1;
}

int utcp_errno_from_err(int err) {
  switch (err) {
    case 0: return 0;
    case UTCP_ERR_INVAL: return EINVAL;
    case UTCP_ERR_NOMEM: return ENOBUFS;
    case UTCP_ERR_AGAIN: return EAGAIN;
    case UTCP_ERR_NOTCONN: return ENOTCONN;
    case UTCP_ERR_ISCONN: return EISCONN;
    case UTCP_ERR_CONNREFUSED: return ECONNREFUSED;
    case UTCP_ERR_CONNRESET: return ECONNRESET;
    case UTCP_ERR_TIMEDOUT: return ETIMEDOUT;
    case UTCP_ERR_PIPE: return EPIPE;
    case UTCP_ERR_ADDRINUSE: return EADDRINUSE;
    case UTCP_ERR_ADDRNOTAVAIL: return EADDRNOTAVAIL;
    case UTCP_ERR_INPROGRESS: return EINPROGRESS;
    case UTCP_ERR_ALREADY: return EALREADY;
    case UTCP_ERR_BADF: return EBADF;
    case UTCP_ERR_NOTSUP: return EOPNOTSUPP;
    case UTCP_ERR_NOBUFS: return ENOBUFS;
    case UTCP_ERR_HOSTUNREACH: return EHOSTUNREACH;
    case UTCP_ERR_MSGSIZE: return EMSGSIZE;
    case UTCP_ERR_CONNABORTED: return ECONNABORTED;
    case UTCP_ERR_NOENT: return ENOENT;
    case UTCP_ERR_RANGE: return ERANGE;
    default: return EIO;
  }
}

void utcp_ctx_config_default(struct utcp_ctx_config *cfg) {
  memset(cfg, 0, sizeof *cfg);
  utcp_stack_config_default(&cfg->stack);
  cfg->max_fds = 1024;
  cfg->max_epoll_items = 4096;
  cfg->sockbuf_max_bytes = 16u << 20;
  cfg->rss_reta_size = UTCP_RSS_RETA_SIZE_DEFAULT;
}

static void ctx_release(struct utcp_ctx *ctx) {
  api_free(ctx, ctx->files, sizeof *ctx->files * ctx->n_files);
  api_free(ctx, ctx->items, sizeof *ctx->items * ctx->n_items);
  api_free(ctx, ctx->map_key, sizeof *ctx->map_key * (ctx->map_mask + 1));
  api_free(ctx, ctx->map_fd, sizeof *ctx->map_fd * (ctx->map_mask + 1));
  api_free(ctx, ctx->port_refs, sizeof *ctx->port_refs * 65536);
  api_free(ctx, ctx->port_excl, sizeof *ctx->port_excl * 65536);
  utcp_stack_free(ctx->stack);
  struct utcp_mem mem = ctx->mem;
  mem.free(mem.ctx, ctx, sizeof *ctx);
}

int utcp_ctx_new(const struct utcp_ctx_config *cfg, const struct utcp_mem *mem,
                 const struct utcp_tx_sink *sink, const struct utcp_platform *plat, uint64_t now,
                 struct utcp_ctx **out) {
  static const struct utcp_mem libc_mem = {NULL, libc_alloc, libc_free};
  if (cfg == NULL || sink == NULL || out == NULL) return UTCP_ERR_INVAL;
  if (cfg->max_fds == 0 || cfg->max_fds > (1u << 24) || cfg->max_epoll_items == 0 ||
      cfg->max_epoll_items > (1u << 24) || cfg->sockbuf_max_bytes < 4096)
    return UTCP_ERR_INVAL;
  uint32_t reta = cfg->rss_reta_size != 0 ? cfg->rss_reta_size : UTCP_RSS_RETA_SIZE_DEFAULT;
  if (utcp_rss_check(cfg->rss_queues, cfg->rss_queue, reta) < 0) return UTCP_ERR_INVAL;
  if (mem == NULL) mem = &libc_mem;
  if (mem->alloc == NULL || mem->free == NULL) return UTCP_ERR_INVAL;
  struct utcp_ctx *ctx = mem->alloc(mem->ctx, sizeof *ctx);
  if (ctx == NULL) return UTCP_ERR_NOMEM;
  memset(ctx, 0, sizeof *ctx);
  ctx->mem = *mem;
  ctx->cfg = *cfg;
  ctx->cfg.rss_reta_size = reta;
  if (plat != NULL) ctx->plat = *plat;
  ctx->now = now;
  int rc = utcp_stack_new(&cfg->stack, mem, sink, now, &ctx->stack);
  if (rc < 0) {
    ctx->stack = NULL;
    ctx_release(ctx);
    return rc;
  }
  ctx->n_files = cfg->max_fds;
  ctx->n_items = cfg->max_epoll_items;
  uint32_t cap = 16;
  while (cap < 2 * cfg->max_fds) cap <<= 1;
  ctx->map_mask = cap - 1;
  ctx->files = api_alloc(ctx, sizeof *ctx->files * ctx->n_files);
  ctx->items = api_alloc(ctx, sizeof *ctx->items * ctx->n_items);
  ctx->map_key = api_alloc(ctx, sizeof *ctx->map_key * cap);
  ctx->map_fd = api_alloc(ctx, sizeof *ctx->map_fd * cap);
  ctx->port_refs = api_alloc(ctx, sizeof *ctx->port_refs * 65536);
  ctx->port_excl = api_alloc(ctx, sizeof *ctx->port_excl * 65536);
  if (!ctx->files || !ctx->items || !ctx->map_key || !ctx->map_fd || !ctx->port_refs ||
      !ctx->port_excl) {
    ctx_release(ctx);
    return UTCP_ERR_NOMEM;
  }
  memset(ctx->files, 0, sizeof *ctx->files * ctx->n_files);
  memset(ctx->items, 0, sizeof *ctx->items * ctx->n_items);
  memset(ctx->map_key, 0, sizeof *ctx->map_key * cap);
  memset(ctx->port_refs, 0, sizeof *ctx->port_refs * 65536);
  memset(ctx->port_excl, 0, sizeof *ctx->port_excl * 65536);
  for (uint32_t i = 0; i < ctx->n_items; i++) ctx->items[i].sock_next = i + 2 <= ctx->n_items ? i + 2 : 0;
  ctx->item_free = 1;
  const struct utcp_tcp_config *tc = &cfg->stack.tcp;
  ctx->eph_next = (uint16_t)(tc->ephemeral_lo +
                             (cfg->stack.seed * 0x9e3779b97f4a7c15ull >> 32) %
                                 ((uint32_t)tc->ephemeral_hi - tc->ephemeral_lo + 1));
  *out = ctx;
  return 0;
}

void utcp_ctx_free(struct utcp_ctx *ctx) {
  if (ctx == NULL) return;
  for (uint32_t fd = 0; fd < ctx->n_files; fd++) {
    if (ctx->files[fd].kind == API_EPOLL) api_epoll_close(ctx, (int)fd);
  }
  for (uint32_t fd = 0; fd < ctx->n_files; fd++) {
    if (ctx->files[fd].kind == API_SOCK) api_sock_close(ctx, (int)fd, false);
  }
  ctx_release(ctx);
}

struct utcp_stack *utcp_ctx_stack(struct utcp_ctx *ctx) { return ctx->stack; }

uint64_t api_now(struct utcp_ctx *ctx) {
  if (ctx->plat.now != NULL) {
    uint64_t t = ctx->plat.now(ctx->plat.arg);
    if (t > ctx->now) ctx->now = t;
  }
  return ctx->now;
}

uint64_t utcp_ctx_now(const struct utcp_ctx *ctx) {
  return api_now((struct utcp_ctx *)ctx);
}

void utcp_ctx_input(struct utcp_ctx *ctx, const uint8_t *frame, size_t len, uint64_t now) {
  if (now > ctx->now) ctx->now = now;
  utcp_stack_input(ctx->stack, frame, len, ctx->now);
}

uint64_t utcp_ctx_next_deadline(const struct utcp_ctx *ctx) {
  return utcp_stack_next_deadline(ctx->stack);
}

uint32_t utcp_ctx_fds_in_use(const struct utcp_ctx *ctx) {
  API_REMOTE(ctx, .op = API_OP_FDS_IN_USE);
  return ctx->files_in_use;
}
uint32_t utcp_ctx_epoll_items_in_use(const struct utcp_ctx *ctx) {
  API_REMOTE(ctx, .op = API_OP_ITEMS_IN_USE);
  return ctx->items_in_use;
}

/* Platform tools only (the simulator's trace): reads the table directly, never remote. */
utcp_conn_t utcp_ctx_sock_conn(const struct utcp_ctx *ctx, int fd) {
  if (ctx == NULL || fd < 0 || (uint32_t)fd >= ctx->n_files) return 0;
  const struct api_file *f = &ctx->files[fd];
  return f->kind == API_SOCK && !f->u.s.listening ? f->u.s.conn : 0;
}

/* ---- connection map ---- */

static uint32_t map_slot(const struct utcp_ctx *ctx, utcp_conn_t c) {
  return (uint32_t)((c * 0x9e3779b1u) >> 7) & ctx->map_mask;
}

void api_map_put(struct utcp_ctx *ctx, utcp_conn_t c, int fd) {
  uint32_t i = map_slot(ctx, c);
  while (ctx->map_key[i] != MAP_EMPTY && ctx->map_key[i] != c) i = (i + 1) & ctx->map_mask;
  ctx->map_key[i] = c;
  ctx->map_fd[i] = fd;
}

int api_map_get(const struct utcp_ctx *ctx, utcp_conn_t c) {
  if (c == 0) return -1;
  for (uint32_t i = map_slot(ctx, c); ctx->map_key[i] != MAP_EMPTY; i = (i + 1) & ctx->map_mask)
    if (ctx->map_key[i] == c) return ctx->map_fd[i];
  return -1;
}

void api_map_del(struct utcp_ctx *ctx, utcp_conn_t c) {
  uint32_t i = map_slot(ctx, c);
  while (ctx->map_key[i] != c) {
    if (ctx->map_key[i] == MAP_EMPTY) return;
    i = (i + 1) & ctx->map_mask;
  }
  /* Backward-shift deletion keeps every probe chain unbroken. */
  uint32_t j = i;
  for (;;) {
    ctx->map_key[i] = MAP_EMPTY;
    for (;;) {
      j = (j + 1) & ctx->map_mask;
      if (ctx->map_key[j] == MAP_EMPTY) return;
      uint32_t home = map_slot(ctx, ctx->map_key[j]);
      /* Move j back to i unless its home lies cyclically in (i, j]. */
      bool stays = i <= j ? (i < home && home <= j) : (i < home || home <= j);
      if (!stays) break;
    }
    ctx->map_key[i] = ctx->map_key[j];
    ctx->map_fd[i] = ctx->map_fd[j];
    i = j;
  }
}

/* ---- descriptors ---- */

/* The lowest free descriptor, as POSIX requires; the search starts at fd_hint, below which
 * every descriptor is in use, so opening N sockets in a row costs O(N), not O(N^2). */
int api_fd_alloc(struct utcp_ctx *ctx, uint8_t kind) {
  for (uint32_t fd = ctx->fd_hint; fd < ctx->n_files; fd++) {
    struct api_file *f = &ctx->files[fd];
    if (f->kind != API_FREE) continue;
    memset(f, 0, sizeof *f);
    f->kind = kind;
    ctx->files_in_use++;
    ctx->fd_hint = fd + 1;
    return (int)fd;
  }
  ctx->fd_hint = ctx->n_files;
  return api_fail(EMFILE);
}

void api_fd_release(struct utcp_ctx *ctx, int fd) {
  memset(&ctx->files[fd], 0, sizeof ctx->files[fd]);
  ctx->files_in_use--;
  if ((uint32_t)fd < ctx->fd_hint) ctx->fd_hint = (uint32_t)fd;
}

struct api_file *api_file(struct utcp_ctx *ctx, int fd) {
  if (ctx == NULL || fd < 0 || (uint32_t)fd >= ctx->n_files) return NULL;
  struct api_file *f = &ctx->files[fd];
  return f->kind == API_FREE ? NULL : f;
}

struct api_sock *api_sock(struct utcp_ctx *ctx, int fd, struct api_file **fp) {
  struct api_file *f = api_file(ctx, fd);
  if (f == NULL) {
    errno = EBADF;
    return NULL;
  }
  if (f->kind != API_SOCK) {
    errno = ENOTSOCK;
    return NULL;
  }
  if (fp != NULL) *fp = f;
  return &f->u.s;
}

/* ---- events ---- */

static int ev_errno(const struct api_sock *s, const struct utcp_event *ev) {
  int e = utcp_errno_from_err(ev->err);
  if (ev->type == UTCP_EV_RESET && e == ECONNRESET && s->peer_fin && !(s->shut & SHUT_SND))
    e = EPIPE; /* Linux tcp_reset: a RST in CLOSE-WAIT reports EPIPE */
  if (e == 0 && ev->type == UTCP_EV_RESET) e = ECONNRESET;
  return e;
}

static int drain(struct utcp_ctx *ctx) {
  if (!utcp_stack_has_events(ctx->stack)) return 0; /* most calls: nothing happened */
  struct utcp_event ev[64];
  int total = 0;
  size_t n;
  do {
    n = utcp_stack_poll_events(ctx->stack, ev, sizeof ev / sizeof ev[0]);
    for (size_t i = 0; i < n; i++) {
      total++;
      int fd = api_map_get(ctx, ev[i].conn);
      if (fd < 0) continue; /* ICMP, or a connection no socket names any more */
      struct api_sock *s = &ctx->files[fd].u.s;
      bool edge = true;
      uint32_t key = EPOLLIN | EPOLLRDNORM | EPOLLOUT | EPOLLWRNORM | EPOLLERR | EPOLLHUP |
                     EPOLLRDHUP; /* what the event may have changed: all, unless named below */
      switch (ev[i].type) {
        case UTCP_EV_ACCEPTABLE:
        case UTCP_EV_READABLE:
          key = EPOLLIN | EPOLLRDNORM;
          break;
        case UTCP_EV_WRITABLE:
          /* Linux wakes writers only after SOCK_NOSPACE; a pool refill wakes every writer */
          edge = s->nospace || (ev[i].flags & UTCP_EVF_POOL);
          s->nospace = false;
          key = EPOLLOUT | EPOLLWRNORM;
          break;
        case UTCP_EV_PEER_CLOSED:
          s->peer_fin = true;
          break;
        case UTCP_EV_RESET:
        case UTCP_EV_ERROR:
          s->err = ev_errno(s, &ev[i]);
          break;
        default:
          break;
      }
      api_sock_wake(ctx, fd, edge, key);
    }
  } while (n == sizeof ev / sizeof ev[0]);
  return total;
}

void api_sync(struct utcp_ctx *ctx) { drain(ctx); }

int utcp_ctx_poll(struct utcp_ctx *ctx, uint64_t now) {
  if (now > ctx->now) ctx->now = now;
  if (utcp_stack_next_deadline(ctx->stack) <= ctx->now) utcp_stack_on_timer(ctx->stack, ctx->now);
  int n = drain(ctx);
  utcp_stack_flush(ctx->stack);
  return n;
}

bool api_can_wait(const struct utcp_ctx *ctx) { return ctx->plat.wait != NULL; }

int api_wait(struct utcp_ctx *ctx, uint64_t deadline) {
  utcp_stack_flush(ctx->stack);
  int e = ctx->plat.wait(ctx->plat.arg, ctx, deadline);
  api_now(ctx);
  api_sync(ctx);
  return e;
}
