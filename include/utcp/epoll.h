/* epoll for utcp descriptors, with Linux's struct epoll_event, EPOLL* flags and EPOLL_CTL_*
 * operations. Level-triggered by default; EPOLLET reports a socket again only after something
 * new happened to it (data, an acknowledgment that frees space after the buffer was found full,
 * a connection to accept, FIN, RST, a shutdown); EPOLLONESHOT disables the registration after
 * one report until EPOLL_CTL_MOD. EPOLLERR and EPOLLHUP are always reported. A context has any
 * number of epoll instances and a socket may be in several. Readiness is computed from the
 * socket's state each time it is reported (as Linux's tcp_poll), so level-triggered results
 * are exact. */
#ifndef UTCP_EPOLL_H
#define UTCP_EPOLL_H

#include <sys/epoll.h>

#include "utcp/utcp.h"

/* size > 0 (otherwise ignored, as Linux). EINVAL, EMFILE. */
int utcp_epoll_create(struct utcp_ctx *ctx, int size);
/* flags: 0 or EPOLL_CLOEXEC. EINVAL, EMFILE. */
int utcp_epoll_create1(struct utcp_ctx *ctx, int flags);
/* op: EPOLL_CTL_ADD, EPOLL_CTL_MOD, EPOLL_CTL_DEL. EBADF (epfd or fd not open), EINVAL (epfd
 * not an epoll instance, fd == epfd, bad op, EPOLLEXCLUSIVE misuse), EEXIST, ENOENT, EFAULT
 * (event NULL for ADD/MOD), EPERM (fd is an epoll instance: nesting is not supported), ENOSPC
 * (no registration left). */
int utcp_epoll_ctl(struct utcp_ctx *ctx, int epfd, int op, int fd, struct epoll_event *event);
/* Up to maxevents ready registrations; timeout_ms 0 never waits, -1 waits without limit (through
 * the platform's wait hook). Returns the count (0 on timeout), or -1: EBADF, EINVAL (not an
 * epoll instance, maxevents <= 0), EFAULT (events NULL), or the wait hook's errno. */
int utcp_epoll_wait(struct utcp_ctx *ctx, int epfd, struct epoll_event *events, int maxevents,
                    int timeout_ms);

#endif
