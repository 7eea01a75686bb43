/* epoll over utcp descriptors, after Linux's fs/eventpoll.c: registrations hang off their
 * socket; a wake-up puts ready registrations on their instance's ready list; epoll_wait polls
 * each listed socket again, reports it, and (level-triggered) puts it back at the tail. */
#include <string.h>

#include "api_impl.h"

#define EP_USER_EVENTS \
  (EPOLLIN | EPOLLPRI | EPOLLOUT | EPOLLERR | EPOLLHUP | EPOLLRDNORM | EPOLLRDBAND | \
   EPOLLWRNORM | EPOLLWRBAND | EPOLLMSG | EPOLLRDHUP)
/* ep_insert: what EPOLLEXCLUSIVE may be combined with. */
#define EP_EXCLUSIVE_OK (EPOLLIN | EPOLLOUT | EPOLLERR | EPOLLHUP | EPOLLWAKEUP | EPOLLET | EPOLLEXCLUSIVE)

static struct api_item *item(struct utcp_ctx *ctx, uint32_t idx1) { return &ctx->items[idx1 - 1]; }
static uint32_t item_idx1(const struct utcp_ctx *ctx, const struct api_item *it) {
  return (uint32_t)(it - ctx->items) + 1;
}

static void ready_append(struct utcp_ctx *ctx, struct api_epoll *ep, struct api_item *it) {
  uint32_t i1 = item_idx1(ctx, it);
  it->rd_prev = ep->ready_tail;
  it->rd_next = 0;
  if (ep->ready_tail != 0) {
    item(ctx, ep->ready_tail)->rd_next = i1;
  } else {
    ep->ready_head = i1;
  }
  ep->ready_tail = i1;
  it->on_ready = true;
}

static void ready_unlink(struct utcp_ctx *ctx, struct api_epoll *ep, struct api_item *it) {
  if (!it->on_ready) return;
  if (it->rd_prev != 0) {
    item(ctx, it->rd_prev)->rd_next = it->rd_next;
  } else {
    ep->ready_head = it->rd_next;
  }
  if (it->rd_next != 0) {
    item(ctx, it->rd_next)->rd_prev = it->rd_prev;
  } else {
    ep->ready_tail = it->rd_prev;
  }
  it->rd_next = it->rd_prev = 0;
  it->on_ready = false;
}

static struct api_epoll *epoll_of(struct utcp_ctx *ctx, int epfd) {
  return &ctx->files[epfd].u.e;
}

/* Puts the registration on its ready list if its socket has something it wants. */
static void item_check(struct utcp_ctx *ctx, struct api_item *it) {
  if (it->on_ready) return;
  struct api_sock *s = &ctx->files[it->fd].u.s;
  if ((api_sock_poll(ctx, s) & it->events & EP_USER_EVENTS) == 0) return;
  ready_append(ctx, epoll_of(ctx, it->epfd), it);
}

void api_sock_wake(struct utcp_ctx *ctx, int fd, bool edge, uint32_t key) {
  struct api_sock *s = &ctx->files[fd].u.s;
  for (uint32_t i = s->items; i != 0; i = item(ctx, i)->sock_next) {
    struct api_item *it = item(ctx, i);
    if (!edge && (it->events & EPOLLET)) continue;
    if (key == 0) {
      item_check(ctx, it);
    } else if (!it->on_ready && (it->events & key & EP_USER_EVENTS) != 0) {
      ready_append(ctx, epoll_of(ctx, it->epfd), it);
    }
  }
}

static void item_free(struct utcp_ctx *ctx, struct api_item *it) {
  struct api_epoll *ep = epoll_of(ctx, it->epfd);
  ready_unlink(ctx, ep, it);
  ep->n_items--;
  struct api_sock *s = &ctx->files[it->fd].u.s;
  uint32_t i1 = item_idx1(ctx, it);
  uint32_t *link = &s->items;
  while (*link != 0 && *link != i1) link = &item(ctx, *link)->sock_next;
  if (*link == i1) *link = it->sock_next;
  memset(it, 0, sizeof *it);
  it->sock_next = ctx->item_free;
  ctx->item_free = i1;
  ctx->items_in_use--;
}

void api_sock_unregister(struct utcp_ctx *ctx, int fd) {
  struct api_sock *s = &ctx->files[fd].u.s;
  while (s->items != 0) item_free(ctx, item(ctx, s->items));
}

void api_epoll_close(struct utcp_ctx *ctx, int epfd) {
  for (uint32_t i = 0; i < ctx->n_items && epoll_of(ctx, epfd)->n_items > 0; i++) {
    struct api_item *it = &ctx->items[i];
    if (it->used && it->epfd == epfd) item_free(ctx, it);
  }
}

int utcp_epoll_create1(struct utcp_ctx *ctx, int flags) {
  API_REMOTE(ctx, .op = API_OP_EPOLL_CREATE1, .a = flags);
  if (ctx == NULL || (flags & ~EPOLL_CLOEXEC)) return api_fail(EINVAL);
  int fd = api_fd_alloc(ctx, API_EPOLL);
  if (fd < 0) return -1;
  ctx->files[fd].cloexec = (flags & EPOLL_CLOEXEC) != 0;
  return fd;
}

int utcp_epoll_create(struct utcp_ctx *ctx, int size) {
  API_REMOTE(ctx, .op = API_OP_EPOLL_CREATE, .a = size);
  if (size <= 0) return api_fail(EINVAL);
  return utcp_epoll_create1(ctx, 0);
}

static struct api_item *find_item(struct utcp_ctx *ctx, int epfd, int fd) {
  struct api_sock *s = &ctx->files[fd].u.s;
  for (uint32_t i = s->items; i != 0; i = item(ctx, i)->sock_next)
    if (item(ctx, i)->epfd == epfd) return item(ctx, i);
  return NULL;
}

int utcp_epoll_ctl(struct utcp_ctx *ctx, int epfd, int op, int fd, struct epoll_event *event) {
  API_REMOTE(ctx, .op = API_OP_EPOLL_CTL, .fd = epfd, .a = op, .b = fd, .out = event);
  /* do_epoll_ctl, in its order of checks. */
  if (op != EPOLL_CTL_DEL && op != EPOLL_CTL_ADD && op != EPOLL_CTL_MOD) {
    if (api_file(ctx, epfd) == NULL || api_file(ctx, fd) == NULL) return api_fail(EBADF);
    return api_fail(EINVAL);
  }
  if (op != EPOLL_CTL_DEL && event == NULL) return api_fail(EFAULT);
  struct api_file *ef = api_file(ctx, epfd), *tf = api_file(ctx, fd);
  if (ef == NULL || tf == NULL) return api_fail(EBADF);
  if (tf->kind == API_EPOLL && fd != epfd) return api_fail(EPERM); /* no nested epoll */
  if (ef->kind != API_EPOLL || fd == epfd) return api_fail(EINVAL);
  uint32_t want = 0;
  if (op != EPOLL_CTL_DEL) {
    want = event->events;
    if (want & EPOLLEXCLUSIVE) {
      if (op == EPOLL_CTL_MOD) return api_fail(EINVAL);
      if (want & ~EP_EXCLUSIVE_OK) return api_fail(EINVAL);
    }
  }
  api_sync(ctx);
  struct api_item *it = find_item(ctx, epfd, fd);
  switch (op) {
    case EPOLL_CTL_ADD: {
      if (it != NULL) return api_fail(EEXIST);
      if (ctx->item_free == 0) return api_fail(ENOSPC); /* max_user_watches */
      uint32_t i1 = ctx->item_free;
      it = item(ctx, i1);
      ctx->item_free = it->sock_next;
      memset(it, 0, sizeof *it);
      it->used = true;
      it->epfd = epfd;
      it->fd = fd;
      it->events = want | EPOLLERR | EPOLLHUP;
      it->data = event->data;
      struct api_sock *s = &tf->u.s;
      it->sock_next = s->items;
      s->items = i1;
      ef->u.e.n_items++;
      ctx->items_in_use++;
      item_check(ctx, it);
      return 0;
    }
    case EPOLL_CTL_MOD:
      if (it == NULL) return api_fail(ENOENT);
      if (it->events & EPOLLEXCLUSIVE) return api_fail(EINVAL);
      it->events = want | EPOLLERR | EPOLLHUP;
      it->data = event->data;
      item_check(ctx, it);
      return 0;
    default:
      if (it == NULL) return api_fail(ENOENT);
      item_free(ctx, it);
      return 0;
  }
}

/* ep_send_events: reports up to max ready registrations. */
static int collect(struct utcp_ctx *ctx, struct api_epoll *ep, struct epoll_event *out, int max) {
  uint32_t head = ep->ready_head;
  ep->ready_head = ep->ready_tail = 0;
  int n = 0;
  while (head != 0 && n < max) {
    struct api_item *it = item(ctx, head);
    head = it->rd_next;
    if (head != 0) item(ctx, head)->rd_prev = 0;
    it->rd_next = it->rd_prev = 0;
    it->on_ready = false;
    uint32_t m = api_sock_poll(ctx, &ctx->files[it->fd].u.s) & it->events & EP_USER_EVENTS;
    if (m == 0) continue;
    out[n].events = m;
    out[n].data = it->data;
    n++;
    if (it->events & EPOLLONESHOT) {
      it->events &= EP_PRIVATE_BITS;
    } else if (!(it->events & EPOLLET)) {
      ready_append(ctx, ep, it); /* level-triggered: look again next time */
    }
  }
  /* What was not looked at stays ready, ahead of what was put back. */
  if (head != 0) {
    uint32_t tail = head;
    while (item(ctx, tail)->rd_next != 0) tail = item(ctx, tail)->rd_next;
    if (ep->ready_head != 0) {
      item(ctx, tail)->rd_next = ep->ready_head;
      item(ctx, ep->ready_head)->rd_prev = tail;
    } else {
      ep->ready_tail = tail;
    }
    ep->ready_head = head;
  }
  return n;
}

int utcp_epoll_wait(struct utcp_ctx *ctx, int epfd, struct epoll_event *events, int maxevents,
                    int timeout_ms) {
  API_REMOTE(ctx, .op = API_OP_EPOLL_WAIT, .fd = epfd, .out = events, .a = maxevents,
             .b = timeout_ms);
  if (maxevents <= 0 || maxevents > INT32_MAX / (int)sizeof *events) return api_fail(EINVAL);
  if (events == NULL) return api_fail(EFAULT);
  struct api_file *ef = api_file(ctx, epfd);
  if (ef == NULL) return api_fail(EBADF);
  if (ef->kind != API_EPOLL) return api_fail(EINVAL);
  uint64_t deadline = UINT64_MAX;
  if (timeout_ms >= 0) deadline = api_now(ctx) + (uint64_t)timeout_ms * 1000000u;
  for (;;) {
    api_sync(ctx);
    int n = collect(ctx, &ef->u.e, events, maxevents);
    if (n > 0 || timeout_ms == 0 || !api_can_wait(ctx)) return n;
    if (deadline != UINT64_MAX && api_now(ctx) >= deadline) return 0;
    int e = api_wait(ctx, deadline);
    if (e != 0) return api_fail(e);
    if (api_file(ctx, epfd) != ef || ef->kind != API_EPOLL) return api_fail(EBADF);
  }
}
