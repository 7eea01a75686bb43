/* mTCP's application interface on utcp, so that a program written for mTCP builds unchanged
 * (written from mTCP's documented API; docs/api.md has the porting notes).
 *
 * A context (mctx_t) is a utcp context, so mTCP and utcp_* calls may be mixed. Every call
 * returns what the utcp_* call it maps to returns: a value >= 0, or -1 with errno set.
 * Link with utcp_mtcp and one runtime library (utcp_rt_threads, utcp_rt_sim); the runtime
 * decides how contexts run (include/utcp/runtime.h).
 *
 * Differences from mTCP: mtcp_init_rss takes one source address and filters every
 * destination (below; docs/api.md); mtcp_pipe is not supported (EOPNOTSUPP); mtcp_setconf
 * after mtcp_init may only lower num_cores; struct mtcp_conf's tcp_timeout is kept but not
 * used. */
#ifndef UTCP_MTCP_API_H
#define UTCP_MTCP_API_H

#include <netinet/in.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Socket kinds as mTCP names them (mtcp_socket takes SOCK_STREAM, which equals
 * MTCP_SOCK_STREAM). */
enum socket_type {
  MTCP_SOCK_UNUSED,
  MTCP_SOCK_STREAM,
  MTCP_SOCK_PROXY,
  MTCP_SOCK_LISTENER,
  MTCP_SOCK_EPOLL,
  MTCP_SOCK_PIPE,
};

struct mtcp_conf {
  int num_cores;       /* num_cores */
  int max_concurrency; /* connections per core (max_concurrency) */
  int max_num_buffers; /* descriptors per core (utcp: max_fds) */
  int rcvbuf_size;     /* bytes (rcvbuf) */
  int sndbuf_size;     /* bytes (sndbuf) */
  int tcp_timewait;    /* seconds in TIME-WAIT (2 MSL) */
  int tcp_timeout;     /* seconds; -1 off (kept, not used by utcp) */
};

struct utcp_ctx;
typedef struct utcp_ctx *mctx_t;

/* Reads the configuration file (mTCP's keys and utcp's, include/utcp/runtime.h), then the
 * UTCP_CONFIG overrides and what mtcp_setconf set before. EINVAL, EALREADY, ENOMEM. */
int mtcp_init(const char *config_file);
void mtcp_destroy(void);
/* The configuration in use (after mtcp_init) or that mtcp_init will start from. */
int mtcp_getconf(struct mtcp_conf *conf);
/* Before mtcp_init: values mtcp_init applies after the file. After: only num_cores may change,
 * and only downwards (EINVAL otherwise). */
int mtcp_setconf(const struct mtcp_conf *conf);
/* Pins the calling thread to `cpu` (modulo the CPUs online). */
int mtcp_core_affinitize(int cpu);
/* The context of core `cpu` (its stack thread starts, with utcp_rt_threads). ENODEV (no such
 * core), EBUSY (already created), EINVAL (before mtcp_init). */
mctx_t mtcp_create_context(int cpu);
void mtcp_destroy_context(mctx_t mctx);

typedef void (*mtcp_sighandler_t)(int);
/* Installs handler for signum (sigaction) and returns the previous one. */
mtcp_sighandler_t mtcp_register_signal(int signum, mtcp_sighandler_t handler);

/* Not supported: -1 EOPNOTSUPP. */
int mtcp_pipe(mctx_t mctx, int pipeid[2]);

int mtcp_getsockopt(mctx_t mctx, int sockid, int level, int optname, void *optval,
                    socklen_t *optlen);
int mtcp_setsockopt(mctx_t mctx, int sockid, int level, int optname, const void *optval,
                    socklen_t optlen);
/* O_NONBLOCK on. */
int mtcp_setsock_nonblock(mctx_t mctx, int sockid);
/* FIONREAD (and utcp's TIOCOUTQ, FIONBIO). */
int mtcp_socket_ioctl(mctx_t mctx, int sockid, int request, void *argp);

int mtcp_socket(mctx_t mctx, int domain, int type, int protocol);
int mtcp_bind(mctx_t mctx, int sockid, const struct sockaddr *addr, socklen_t addrlen);
int mtcp_listen(mctx_t mctx, int sockid, int backlog);
int mtcp_accept(mctx_t mctx, int sockid, struct sockaddr *addr, socklen_t *addrlen);
/* From now on the context's connects pick source ports whose returning packets RSS sends to
 * the context's core (its RX queue of num_cores), for any destination (daddr and dport are not
 * needed). num_addr must be 1 and saddr_base (network order) INADDR_ANY or the context's
 * address; the context must come from mtcp_create_context. 0, or -1 EINVAL. */
int mtcp_init_rss(mctx_t mctx, in_addr_t saddr_base, int num_addr, in_addr_t daddr,
                  in_addr_t dport);
int mtcp_connect(mctx_t mctx, int sockid, const struct sockaddr *addr, socklen_t addrlen);
int mtcp_close(mctx_t mctx, int sockid);
/* Closes with a RST. */
int mtcp_abort(mctx_t mctx, int sockid);
int mtcp_getsockname(mctx_t mctx, int sockid, struct sockaddr *addr, socklen_t *addrlen);
int mtcp_getpeername(mctx_t mctx, int sockid, struct sockaddr *addr, socklen_t *addrlen);

ssize_t mtcp_read(mctx_t mctx, int sockid, char *buf, size_t len);
ssize_t mtcp_recv(mctx_t mctx, int sockid, char *buf, size_t len, int flags);
ssize_t mtcp_readv(mctx_t mctx, int sockid, const struct iovec *iov, int numIOV);
ssize_t mtcp_write(mctx_t mctx, int sockid, const char *buf, size_t len);
ssize_t mtcp_writev(mctx_t mctx, int sockid, const struct iovec *iov, int numIOV);

#ifdef __cplusplus
}
#endif

#endif
