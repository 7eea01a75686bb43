/* The inside of a utcp_ctx, shared by the api/ sources only. */
#ifndef UTCP_API_IMPL_H
#define UTCP_API_IMPL_H

#include <errno.h>

#include "core/tcp.h"
#include "utcp/epoll.h"
#include "utcp/utcp.h"

enum api_kind { API_FREE = 0, API_SOCK, API_EPOLL };

/* struct socket's state in Linux (sock->state), which decides connect/listen errors. */
enum api_ss { SS_UNCONN = 0, SS_CONNECTING, SS_CONNECTED, SS_DISCONNECTING };

/* Linux sk_shutdown bits. */
#define SHUT_RCV 1u
#define SHUT_SND 2u

/* Linux sk_state, as far as the socket layer tells states apart. */
enum api_lstate { L_CLOSE, L_LISTEN, L_SYN_SENT, L_SYN_RECV, L_OPEN };

struct api_sock {
  uint8_t ss;         /* enum api_ss */
  bool listening;
  bool user_bound;    /* bind() gave the port (it survives a disconnect) */
  uint8_t shut;       /* SHUT_RCV | SHUT_SND set by the application (or a reset) */
  bool peer_fin;      /* FIN received (Linux SOCK_DONE) */
  bool nospace;       /* a write found the buffer full: the next WRITABLE is an edge */
  utcp_conn_t conn;   /* 0: no connection or listener */
  uint32_t baddr;     /* bound address, host order; 0: INADDR_ANY */
  uint16_t bport;     /* bound port, host order; 0: unbound */
  bool excl;          /* counted in port_excl: bound and not (SO_REUSEADDR and not listening) */
  int err;            /* pending error (errno), Linux sk_err */
  uint32_t backlog;
  /* options, kept here and applied to the connection when there is one */
  bool reuse, nodelay, keepalive;
  int rcvbuf_rep, sndbuf_rep; /* what SO_RCVBUF / SO_SNDBUF report */
  int rcvbuf, sndbuf;         /* bytes for the core; 0: stack default */
  int maxseg;                 /* 0: default */
  int keepidle, keepintvl, keepcnt; /* 0: stack default */
  int linger;                 /* -1 off, else seconds */
  uint32_t items;             /* epoll registrations on this socket: item index + 1 */
};

struct api_epoll {
  uint32_t ready_head, ready_tail; /* item index + 1 */
  uint32_t n_items;
};

struct api_file {
  uint8_t kind; /* enum api_kind */
  bool nonblock, cloexec;
  union {
    struct api_sock s;
    struct api_epoll e;
  } u;
};

/* Linux keeps these bits of a registration across EPOLLONESHOT. */
#define EP_PRIVATE_BITS (EPOLLWAKEUP | EPOLLONESHOT | EPOLLET | EPOLLEXCLUSIVE)

struct api_item {
  bool used, on_ready;
  int epfd, fd;
  uint32_t events; /* interest, with EPOLLERR | EPOLLHUP added */
  epoll_data_t data;
  uint32_t sock_next;        /* next registration on the same socket */
  uint32_t rd_next, rd_prev; /* the epoll instance's ready list */
};

/* A context whose calls run on another thread (api/rt_threads.c, paired threads): each public
 * call is packed into a struct api_call and handed to remote_call, which returns the call's
 * result with errno set. Pointers stay the caller's: the caller waits for the result. */
enum api_op {
  API_OP_SOCKET, API_OP_BIND, API_OP_LISTEN, API_OP_ACCEPT4, API_OP_CONNECT, API_OP_RECV,
  API_OP_READ, API_OP_READV, API_OP_SEND, API_OP_WRITE, API_OP_WRITEV, API_OP_SHUTDOWN,
  API_OP_CLOSE, API_OP_ABORT, API_OP_GETSOCKNAME, API_OP_GETPEERNAME, API_OP_SETSOCKOPT,
  API_OP_GETSOCKOPT, API_OP_IOCTL, API_OP_FCNTL, API_OP_EPOLL_CREATE, API_OP_EPOLL_CREATE1,
  API_OP_EPOLL_CTL, API_OP_EPOLL_WAIT, API_OP_FDS_IN_USE, API_OP_ITEMS_IN_USE
};

struct api_call {
  int op; /* enum api_op */
  int fd;
  int a, b;          /* flags, level/optname, how, backlog, cmd/arg, op/fd, maxevents/timeout */
  int c;             /* socket's protocol */
  unsigned long req; /* ioctl */
  const void *in;    /* address, buffer, option value */
  void *out;         /* address, buffer, option value, ioctl argument, events */
  size_t len;        /* buffer length */
  socklen_t inlen;   /* address or option length */
  socklen_t *lenp;   /* in/out length */
  const struct iovec *iov;
};

#define API_REMOTE(ctx, ...)                                              \
  do {                                                                    \
    if ((ctx) != NULL && (ctx)->remote_call != NULL) {                    \
      struct api_call call_ = {__VA_ARGS__};                              \
      return (ctx)->remote_call((ctx)->remote_arg, &call_);               \
    }                                                                     \
  } while (0)

struct utcp_ctx {
  /* Non-NULL on a paired-threads proxy context: everything below is unused then. */
  ssize_t (*remote_call)(void *arg, struct api_call *call);
  void *remote_arg;
  struct utcp_stack *stack;
  struct utcp_platform plat;
  struct utcp_mem mem;
  struct utcp_ctx_config cfg;
  uint64_t now;
  struct api_file *files;
  uint32_t n_files, files_in_use;
  uint32_t fd_hint; /* every descriptor below it is in use */
  struct api_item *items;
  uint32_t n_items, item_free, items_in_use;
  /* connection handle -> descriptor: open addressing, key 0 = empty */
  utcp_conn_t *map_key;
  int32_t *map_fd;
  uint32_t map_mask;
  uint32_t *port_refs; /* sockets holding each local port */
  uint32_t *port_excl; /* of those, the ones another SO_REUSEADDR bind conflicts with */
  uint16_t eph_next;
};

/* ctx.c */
void *api_alloc(struct utcp_ctx *ctx, size_t size);
void api_free(struct utcp_ctx *ctx, void *p, size_t size);
uint64_t api_now(struct utcp_ctx *ctx);
/* Drains the stack's events into socket state and readiness. */
void api_sync(struct utcp_ctx *ctx);
/* -1 with errno = e. */
int api_fail(int e);
/* A free descriptor (lowest), or -1 (EMFILE). */
int api_fd_alloc(struct utcp_ctx *ctx, uint8_t kind);
void api_fd_release(struct utcp_ctx *ctx, int fd);
struct api_file *api_file(struct utcp_ctx *ctx, int fd);
/* The socket for fd or NULL with errno EBADF / ENOTSOCK. */
struct api_sock *api_sock(struct utcp_ctx *ctx, int fd, struct api_file **f);
void api_map_put(struct utcp_ctx *ctx, utcp_conn_t conn, int fd);
void api_map_del(struct utcp_ctx *ctx, utcp_conn_t conn);
int api_map_get(const struct utcp_ctx *ctx, utcp_conn_t conn);
/* Blocks through the platform until something happens or deadline: 0, or an errno. */
int api_wait(struct utcp_ctx *ctx, uint64_t deadline);
bool api_can_wait(const struct utcp_ctx *ctx);

/* socket.c */
/* Linux tcp_poll: the EPOLL* mask of a socket now. */
uint32_t api_sock_poll(struct utcp_ctx *ctx, struct api_sock *s);
/* Releases a socket's connection and descriptor (close / abort / ctx_free). */
void api_sock_close(struct utcp_ctx *ctx, int fd, bool abort);

/* epoll.c */
/* Something happened to socket fd: registrations that are ready go on their ready lists.
 * edge: false when level-triggered registrations only should hear of it. key: the EPOLL*
 * bits the event can have made true (as the key of Linux's ep_poll_callback): registrations
 * wanting one of them are listed without a poll (epoll_wait polls what it reports); 0: poll
 * each registration now. */
void api_sock_wake(struct utcp_ctx *ctx, int fd, bool edge, uint32_t key);
/* The socket fd is going away: drop its registrations. */
void api_sock_unregister(struct utcp_ctx *ctx, int fd);
void api_epoll_close(struct utcp_ctx *ctx, int epfd);

#endif
