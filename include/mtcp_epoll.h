/* mTCP's epoll interface on utcp (written from mTCP's documented API). The flag and operation
 * values are Linux's, as in mTCP; struct mtcp_epoll_event is mTCP's packed layout with a
 * `sockid` member, converted to and from struct epoll_event by api/mtcp_compat.c.
 * Semantics are utcp_epoll_* (include/utcp/epoll.h): level-triggered unless MTCP_EPOLLET,
 * MTCP_EPOLLONESHOT, MTCP_EPOLLERR and MTCP_EPOLLHUP always reported. */
#ifndef UTCP_MTCP_EPOLL_H
#define UTCP_MTCP_EPOLL_H

#include <stdint.h>

#include "mtcp_api.h"

#ifdef __cplusplus
extern "C" {
#endif

enum mtcp_epoll_op {
  MTCP_EPOLL_CTL_ADD = 1,
  MTCP_EPOLL_CTL_DEL = 2,
  MTCP_EPOLL_CTL_MOD = 3,
};

#define MTCP_EPOLLNONE 0x000u
#define MTCP_EPOLLIN 0x001u
#define MTCP_EPOLLPRI 0x002u
#define MTCP_EPOLLOUT 0x004u
#define MTCP_EPOLLERR 0x008u
#define MTCP_EPOLLHUP 0x010u
#define MTCP_EPOLLRDNORM 0x040u
#define MTCP_EPOLLRDBAND 0x080u
#define MTCP_EPOLLWRNORM 0x100u
#define MTCP_EPOLLWRBAND 0x200u
#define MTCP_EPOLLMSG 0x400u
#define MTCP_EPOLLRDHUP 0x2000u
#define MTCP_EPOLLONESHOT (1u << 30)
#define MTCP_EPOLLET (1u << 31)

typedef union mtcp_epoll_data {
  void *ptr;
  int sockid;
  uint32_t u32;
  uint64_t u64;
} mtcp_epoll_data_t;

struct mtcp_epoll_event {
  uint32_t events;
  mtcp_epoll_data_t data;
} __attribute__((packed));

/* size is a hint (> 0). EINVAL, EMFILE. */
int mtcp_epoll_create(mctx_t mctx, int size);
/* EBADF, EINVAL, EEXIST, ENOENT, EFAULT, EPERM, ENOSPC (utcp_epoll_ctl). */
int mtcp_epoll_ctl(mctx_t mctx, int epid, int op, int sockid, struct mtcp_epoll_event *event);
/* timeout in ms; -1 without limit. Returns the count, 0 on timeout, or -1. */
int mtcp_epoll_wait(mctx_t mctx, int epid, struct mtcp_epoll_event *events, int maxevents,
                    int timeout);

#ifdef __cplusplus
}
#endif

#endif
