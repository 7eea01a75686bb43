/* utcp-bench: the macro benchmarks (docs/performance.md). One workload code path drives two
 * backends through `struct mb_be`: utcp (two stacks in one process joined by in-memory links,
 * driven by the same thread) and the Linux kernel (sockets over loopback, one epoll instance).
 *
 * Sockets are named by (side, fd): side 0 is the client end, side 1 the server end. On Linux
 * both sides live in one process's descriptor table; on utcp each side is its own context. */
#ifndef UTCP_BENCH_MACRO_H
#define UTCP_BENCH_MACRO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define MB_CLIENT 0
#define MB_SERVER 1

struct mb_event {
  uint32_t events; /* EPOLLIN, EPOLLOUT, EPOLLERR, EPOLLHUP */
  uint64_t data;   /* what mb_ep_add was given */
};

struct mb_be_config {
  uint32_t max_conns;  /* per side */
  uint32_t bufsize;    /* socket buffers; 0: the backend's default */
  uint32_t mtu;        /* utcp link MTU; 0: 1500 (Linux loopback keeps its own) */
  uint32_t port_base;  /* Linux: ports used start here (different per thread) */
  uint32_t chunks;     /* utcp: 2 KiB buffer chunks per stack; 0: 16384 */
  uint32_t msl_ms;     /* utcp: MSL; 0: the default (30 s) */
};

struct mb_be {
  const char *name;
  void *impl;
  /* Everything returns -1 with errno set on failure, like the BSD calls. */
  int (*socket)(struct mb_be *be, int side);
  int (*listen)(struct mb_be *be, int fd, uint16_t port, int backlog);
  /* Non-blocking connect to the server side's port (0 or -1 EINPROGRESS); lport 0: any. */
  int (*connect)(struct mb_be *be, int fd, uint16_t port, uint16_t lport);
  int (*accept)(struct mb_be *be, int lfd);
  ssize_t (*read)(struct mb_be *be, int side, int fd, void *buf, size_t len);
  ssize_t (*write)(struct mb_be *be, int side, int fd, const void *buf, size_t len);
  int (*close)(struct mb_be *be, int side, int fd);
  int (*linger0)(struct mb_be *be, int side, int fd);
  int (*ep_add)(struct mb_be *be, int side, int fd, uint32_t events, uint64_t data);
  int (*ep_mod)(struct mb_be *be, int side, int fd, uint32_t events, uint64_t data);
  /* Moves frames and services timers (utcp); nothing on Linux. */
  void (*pump)(struct mb_be *be);
  /* Ready events of both sides, without blocking. */
  int (*ep_wait)(struct mb_be *be, struct mb_event *ev, int max);
  /* Memory the backend holds now (utcp: bytes its stacks allocated); 0 if unknown. */
  uint64_t (*mem_bytes)(struct mb_be *be, int side, uint64_t *buffers);
  void (*free)(struct mb_be *be);
};

int mb_be_utcp_new(const struct mb_be_config *cfg, struct mb_be **out);
int mb_be_linux_new(const struct mb_be_config *cfg, struct mb_be **out);

/* TSC helpers (bench/macro_util.c). */
uint64_t mb_tsc(void);
double mb_tsc_hz(void); /* calibrated once against CLOCK_MONOTONIC */
uint64_t mb_now_ns(void); /* from the TSC */

#endif
