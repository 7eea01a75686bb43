/* utcp's BSD-like socket API: one context (struct utcp_ctx) per core owns one utcp stack, a
 * descriptor table shared by sockets and epoll instances, and the epoll machinery.
 *
 * Every socket call returns what Linux returns for the same call in the same state: a value
 * >= 0, or -1 with errno set to Linux's errno (EAGAIN, EINPROGRESS, ECONNRESET...). The
 * differences that remain are listed in api/README.md. utcp never raises SIGPIPE: a write on a
 * connection whose send side is closed fails with EPIPE whether or not MSG_NOSIGNAL is given.
 *
 * Descriptors are small integers private to one context (the lowest free one, from 0), not
 * kernel file descriptors.
 *
 * Execution: a context is driven by its platform (see struct utcp_platform and api/README.md).
 * A non-blocking socket never waits. A blocking call (blocking connect, accept, read, write,
 * epoll_wait with a timeout) waits through the platform's `wait` hook; a platform without one
 * makes every call behave as non-blocking.
 *
 * Not thread-safe: one context is used by one thread (or one coroutine scheduler) at a time. */
#ifndef UTCP_UTCP_H
#define UTCP_UTCP_H

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "core/rss.h"
#include "core/stack.h"

struct utcp_ctx;

/* ---- Platform hooks ----
 * What a platform gives a context so that blocking calls can wait. All may be NULL. */
struct utcp_platform {
  void *arg;
  /* The current time in ns (monotonic, never decreasing). NULL: the time last given to
   * utcp_ctx_input / utcp_ctx_poll. */
  uint64_t (*now)(void *arg);
  /* Called by a blocking utcp_* call that cannot complete yet. The platform keeps the stack
   * running (feeds received frames through utcp_ctx_input, services timers and drains events
   * through utcp_ctx_poll) until utcp_ctx_poll has reported at least one event for this
   * context, or until deadline_ns (UINT64_MAX: no deadline) has passed; then it returns 0 and
   * the call re-checks its condition (spurious returns are fine). A non-zero return is an errno
   * value that makes the blocking call fail with it (EINTR: the platform is stopping;
   * EDEADLK: nothing can ever wake the caller). In the simulator this is a coroutine yield; on
   * DPDK in run-to-completion mode it runs iterations of the lcore's loop. NULL: no waiting;
   * blocking sockets behave as non-blocking ones. */
  int (*wait)(void *arg, struct utcp_ctx *ctx, uint64_t deadline_ns);
};

struct utcp_ctx_config {
  struct utcp_stack_config stack;
  uint32_t max_fds;           /* descriptors (sockets and epoll instances) */
  uint32_t max_epoll_items;   /* registrations over all epoll instances */
  uint32_t sockbuf_max_bytes; /* SO_RCVBUF / SO_SNDBUF ceiling (Linux: rmem_max/wmem_max) */
  /* RSS-aware source ports (core/rss.h): with rss_queues >= 2, connect on an unbound socket
   * picks only ports p whose returning packets (remote -> this address:p) the NIC sends to RX
   * queue rss_queue, under the symmetric key and a default RETA of rss_reta_size entries
   * (reta[i] = i % rss_queues). rss_queues 0 or 1: off (rss_queue must be 0). rss_reta_size
   * 0 means UTCP_RSS_RETA_SIZE_DEFAULT (128). Also settable later: UTCP_CTX_RSS below. */
  uint32_t rss_queues, rss_queue, rss_reta_size;
};

/* Defaults: utcp_stack_config_default, 1024 descriptors, 4096 epoll registrations, 16 MiB
 * buffer ceiling, RSS off with a 128-entry RETA. */
void utcp_ctx_config_default(struct utcp_ctx_config *cfg);

/* Creates a context and its stack. mem: NULL for calloc/free. The sink and platform are
 * copied; plat may be NULL. Returns 0 or a negative UTCP_ERR_*: INVAL (bad config, NULL
 * arguments), NOMEM. */
int utcp_ctx_new(const struct utcp_ctx_config *cfg, const struct utcp_mem *mem,
                 const struct utcp_tx_sink *sink, const struct utcp_platform *plat, uint64_t now,
                 struct utcp_ctx **out);
/* Frees the context, its stack and every descriptor (connections vanish without a FIN or
 * RST). NULL is allowed. */
void utcp_ctx_free(struct utcp_ctx *ctx);

/* The stack the context owns (for counters, ARP entries, tests). */
struct utcp_stack *utcp_ctx_stack(struct utcp_ctx *ctx);

/* Platform side: one received Ethernet frame (borrowed for the call). */
void utcp_ctx_input(struct utcp_ctx *ctx, const uint8_t *frame, size_t len, uint64_t now);
/* Platform side: services due timers, turns the stack's events into socket readiness and
 * flushes the transmit sink. Returns how many stack events it handled. */
int utcp_ctx_poll(struct utcp_ctx *ctx, uint64_t now);
/* When utcp_ctx_poll is next needed for timers; UINT64_MAX when nothing is pending. */
uint64_t utcp_ctx_next_deadline(const struct utcp_ctx *ctx);
/* Time as the context sees it (the platform's now hook, or the last time given to it). */
uint64_t utcp_ctx_now(const struct utcp_ctx *ctx);

/* Leak checks: descriptors and epoll registrations in use. */
uint32_t utcp_ctx_fds_in_use(const struct utcp_ctx *ctx);
uint32_t utcp_ctx_epoll_items_in_use(const struct utcp_ctx *ctx);
/* The core connection handle behind socket fd (0: not a socket, a listener, or no connection):
 * for platform tools such as the simulator's congestion trace. */
utcp_conn_t utcp_ctx_sock_conn(const struct utcp_ctx *ctx, int fd);

/* errno value for a UTCP_ERR_* code (0 for 0). */
int utcp_errno_from_err(int utcp_err);

/* ---- Sockets (AF_INET, SOCK_STREAM only) ----
 * Errors every call on a descriptor can give: EBADF (not open), ENOTSOCK (an epoll
 * descriptor). */

/* domain AF_INET; type SOCK_STREAM, optionally | SOCK_NONBLOCK | SOCK_CLOEXEC; protocol 0 or
 * IPPROTO_TCP. EAFNOSUPPORT, EINVAL (unknown flags or type), ESOCKTNOSUPPORT (SOCK_DGRAM,
 * SOCK_RAW...: not implemented), EPROTONOSUPPORT, EMFILE (table full). */
int utcp_socket(struct utcp_ctx *ctx, int domain, int type, int protocol);
/* Local address: INADDR_ANY or the stack's address; port 0 picks an ephemeral one. EINVAL
 * (short addrlen, already bound, not closed), EAFNOSUPPORT, EFAULT, EADDRNOTAVAIL,
 * EADDRINUSE. */
int utcp_bind(struct utcp_ctx *ctx, int fd, const struct sockaddr *addr, socklen_t addrlen);
/* EINVAL (connected or connecting), EADDRINUSE, ENOBUFS (no connection left in the pool). A
 * second listen keeps the first backlog. */
int utcp_listen(struct utcp_ctx *ctx, int fd, int backlog);
/* EINVAL (not listening, bad flags), EAGAIN, EFAULT, EMFILE. The new socket is blocking
 * unless flags has SOCK_NONBLOCK (accept4). */
int utcp_accept(struct utcp_ctx *ctx, int fd, struct sockaddr *addr, socklen_t *addrlen);
int utcp_accept4(struct utcp_ctx *ctx, int fd, struct sockaddr *addr, socklen_t *addrlen,
                 int flags);
/* Non-blocking: -1 EINPROGRESS, then EALREADY while in progress; completion shows as
 * EPOLLOUT (and EPOLLERR on failure) and through SO_ERROR; another connect then returns 0 or
 * the error. Blocking: waits for the outcome. EISCONN, EINVAL, EAFNOSUPPORT, EFAULT,
 * ENETUNREACH, EADDRNOTAVAIL, ECONNREFUSED, ETIMEDOUT, ECONNABORTED, ENOBUFS.
 * AF_UNSPEC dissolves the association (RST if connected). */
int utcp_connect(struct utcp_ctx *ctx, int fd, const struct sockaddr *addr, socklen_t addrlen);

/* flags: MSG_PEEK, MSG_DONTWAIT, MSG_WAITALL (MSG_NOSIGNAL ignored). Returns bytes, 0 at end of
 * stream (or after shutdown(SHUT_RD)), or -1: EAGAIN, ENOTCONN, ECONNRESET, ETIMEDOUT,
 * ECONNREFUSED (each pending error once, then 0), EFAULT, EINVAL (MSG_OOB). */
ssize_t utcp_recv(struct utcp_ctx *ctx, int fd, void *buf, size_t len, int flags);
ssize_t utcp_read(struct utcp_ctx *ctx, int fd, void *buf, size_t len);
ssize_t utcp_readv(struct utcp_ctx *ctx, int fd, const struct iovec *iov, int iovcnt);
/* flags: MSG_DONTWAIT, MSG_NOSIGNAL, MSG_MORE (ignored). Returns bytes queued (a short count
 * when the buffer fills, non-blocking), or -1: EAGAIN, EPIPE (not connected or send side shut
 * down), ECONNRESET / ETIMEDOUT (pending error, once), EFAULT, EOPNOTSUPP (MSG_OOB). */
ssize_t utcp_send(struct utcp_ctx *ctx, int fd, const void *buf, size_t len, int flags);
ssize_t utcp_write(struct utcp_ctx *ctx, int fd, const void *buf, size_t len);
ssize_t utcp_writev(struct utcp_ctx *ctx, int fd, const struct iovec *iov, int iovcnt);

/* how: SHUT_RD, SHUT_WR, SHUT_RDWR. EINVAL, ENOTCONN. On a listener SHUT_RD stops listening;
 * on a connecting socket it abandons the attempt (as Linux). */
int utcp_shutdown(struct utcp_ctx *ctx, int fd, int how);
/* Releases a socket (graceful close in the background; RST if unread data or SO_LINGER 0) or
 * an epoll instance. EBADF. */
int utcp_close(struct utcp_ctx *ctx, int fd);
/* Releases a socket and resets its connection (utcp extension). EBADF, ENOTSOCK. */
int utcp_abort(struct utcp_ctx *ctx, int fd);

/* EFAULT (NULL), EINVAL (negative *addrlen); the address is truncated to *addrlen and
 * *addrlen set to its full size. getpeername: ENOTCONN. */
int utcp_getsockname(struct utcp_ctx *ctx, int fd, struct sockaddr *addr, socklen_t *addrlen);
int utcp_getpeername(struct utcp_ctx *ctx, int fd, struct sockaddr *addr, socklen_t *addrlen);

/* Options: SOL_SOCKET SO_ERROR (get, clears), SO_RCVBUF, SO_SNDBUF (set value doubled, as
 * Linux), SO_REUSEADDR, SO_LINGER, SO_KEEPALIVE, SO_TYPE, SO_DOMAIN, SO_PROTOCOL,
 * SO_ACCEPTCONN; IPPROTO_TCP TCP_NODELAY, TCP_MAXSEG, TCP_KEEPIDLE, TCP_KEEPINTVL,
 * TCP_KEEPCNT, UTCP_TCP_INFO (get: struct utcp_tcp_info, not Linux's struct tcp_info).
 * ENOPROTOOPT (unknown level or name, or read-only), EINVAL (short optlen on set, value out of
 * range), EFAULT. */
#define UTCP_TCP_INFO TCP_INFO
int utcp_getsockopt(struct utcp_ctx *ctx, int fd, int level, int optname, void *optval,
                    socklen_t *optlen);
int utcp_setsockopt(struct utcp_ctx *ctx, int fd, int level, int optname, const void *optval,
                    socklen_t optlen);

/* Context options: utcp_setsockopt / utcp_getsockopt with fd UTCP_CTX_FD and level
 * UTCP_SOL_CTX apply to the context, not to a socket (so they reach a paired-threads stack
 * thread like any socket call).
 * UTCP_CTX_RSS (struct utcp_ctx_rss): the RSS filter of struct utcp_ctx_config for the
 * connects that follow. set: laddr must be INADDR_ANY or the context's address
 * (EADDRNOTAVAIL); bad queues/queue/reta_size (utcp_rss_check) or a short optlen: EINVAL.
 * get: the current settings, laddr the context's address. Other names: ENOPROTOOPT. */
#define UTCP_CTX_FD (-1)
#define UTCP_SOL_CTX 0x7574
#define UTCP_CTX_RSS 1
struct utcp_ctx_rss {
  in_addr_t laddr;    /* network byte order */
  uint32_t queues;    /* 0 or 1: off */
  uint32_t queue;     /* this context's RX queue, < queues */
  uint32_t reta_size; /* entries of the NIC's redirection table; 0: keep the current one */
};

/* FIONREAD (int: bytes readable; EINVAL on a listener), TIOCOUTQ (int: bytes not yet
 * acknowledged), FIONBIO (int: non-zero sets O_NONBLOCK). ENOTTY for anything else, EFAULT. */
int utcp_ioctl(struct utcp_ctx *ctx, int fd, unsigned long request, void *argp);
/* F_GETFL (O_RDWR | O_NONBLOCK), F_SETFL (only O_NONBLOCK counts), F_GETFD, F_SETFD
 * (FD_CLOEXEC, recorded only). EINVAL for other commands. */
int utcp_fcntl(struct utcp_ctx *ctx, int fd, int cmd, ...);

#endif
