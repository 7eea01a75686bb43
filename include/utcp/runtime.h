/* Process-wide set-up and per-core contexts, in mTCP's shape (mtcp_init, mtcp_create_context,
 * mtcp_destroy_context, mtcp_destroy).
 *
 * Which platform runs the contexts is chosen when the program is linked, never with #ifdef in
 * the application: a program links exactly one runtime library, and its source stays the same.
 *  - utcp_rt_sim      (platform/sim): each application is a coroutine in virtual time; blocking
 *                     calls and utcp_epoll_wait yield to the simulator.
 *  - utcp_rt_threads  (api/): paired threads per core as in mTCP, a stack thread and an
 *                     application thread joined by lock-free SPSC rings; stacks joined by
 *                     in-memory links (no NIC needed); also run-to-completion.
 *  - utcp_rt_dpdk     (platform/dpdk, later): lcores, RSS, burst I/O.
 *
 * Every call returns 0 / a pointer, or -1 / NULL with errno set (EINVAL for a bad argument or
 * configuration, ENOMEM, EALREADY when initialised twice, ENODEV for a core that does not
 * exist). Configuration errors are printed to stderr as "file:line: what". */
#ifndef UTCP_RUNTIME_H
#define UTCP_RUNTIME_H

#include "utcp/utcp.h"

struct utcp_rt_config {
  struct utcp_ctx_config ctx; /* every context's configuration */
  int num_cores;              /* contexts that may be created: cores 0 .. num_cores-1 */
  /* Added for the runtimes (api/rt_config.c); the simulator ignores them. */
  int mode;                   /* UTCP_RT_PAIRED or UTCP_RT_RTC (utcp_rt_threads only) */
  uint32_t ring_slots;        /* request/event and link ring sizes (power of two) */
  uint32_t spin_iters;        /* polls before an idle thread sleeps */
  bool pin_cores;             /* pin core i's thread(s) to CPU i % online CPUs */
};

#define UTCP_RT_PAIRED 0 /* mTCP: a stack thread and an application thread per core */
#define UTCP_RT_RTC 1    /* run-to-completion: the application's thread runs the stack */
#define UTCP_RT_MAX_CORES 64

/* Defaults: utcp_ctx_config_default, one core, paired threads, 1024 ring slots, 2000 spins,
 * no pinning. */
void utcp_rt_config_default(struct utcp_rt_config *cfg);

/* ---- The configuration reader shared by every runtime (api/rt_config.c) ----
 * Keys: every key of include/utcp/config.h (the stack), plus
 *   num_cores (1..64), max_fds, max_epoll_items, sockbuf_max_bytes, rt_mode (paired | rtc),
 *   ring_slots (power of two, 16..65536), spin_iters, pin_cores (0/1), rss_queues (0..4096,
 *   0/1 off), rss_queue (< rss_queues), rss_reta_size (1..4096, default 128): the RSS filter
 *   of struct utcp_ctx_config, the same for every context;
 * and mTCP's keys that have no meaning here, accepted and ignored so that an mTCP
 * configuration file loads: num_mem_ch, port, stat_print, max_num_buffers, tcp_timeout, io,
 * multiprocess; mTCP's `tcp_timewait = 0` keeps the default MSL. Errors are -1 with
 * "name:line: what" in err (err may be NULL). */
int utcp_rt_config_parse(const char *name, const char *text, size_t len,
                         struct utcp_rt_config *cfg, char *err, size_t err_len);
/* One `key=value` (from a command line); `name` and `line` only label errors. */
int utcp_rt_config_set(const char *name, unsigned line, const char *kv,
                       struct utcp_rt_config *cfg, char *err, size_t err_len);
/* Reads and parses a file (at most 1 MiB). */
int utcp_rt_config_load(const char *path, struct utcp_rt_config *cfg, char *err,
                        size_t err_len);
/* "key=value;key=value" (the UTCP_CONFIG environment variable); errors name it
 * "UTCP_CONFIG:N" for the N-th item. NULL or "" is nothing. */
int utcp_rt_config_overrides(const char *spec, struct utcp_rt_config *cfg, char *err,
                             size_t err_len);
/* The whole configuration is consistent: utcp_stack_config_check and the ranges above. */
int utcp_rt_config_check(const struct utcp_rt_config *cfg, char *err, size_t err_len);
/* What every runtime's utcp_init does: defaults, then the file (NULL: none), then
 * UTCP_CONFIG from the environment, then argv[0..argc-1] (each `key=value`), then the check. */
int utcp_rt_config_read(const char *path, int argc, char *const argv[],
                        struct utcp_rt_config *cfg, char *err, size_t err_len);

/* Reads an mTCP-style `key = value` file (include/utcp/config.h; NULL: defaults), then applies
 * the overrides in the environment variable UTCP_CONFIG ("key=value;key=value"). */
int utcp_init(const char *config_path);
/* The same from a filled structure. */
int utcp_init_config(const struct utcp_rt_config *cfg);
/* The configuration utcp_init settled on. */
int utcp_get_config(struct utcp_rt_config *out);
/* The context of one core (created once per core; the caller then owns it). */
struct utcp_ctx *utcp_create_context(int core);
void utcp_destroy_context(struct utcp_ctx *ctx);
/* Ends what utcp_init began; every context must have been destroyed. */
void utcp_destroy(void);

/* ---- utcp_rt_threads only ---- */

/* Run-to-completion: one iteration of the core's stack loop on the calling thread (link RX
 * burst, timers, events, TX flush) for an application that polls with utcp_epoll_wait(..., 0)
 * and never blocks. Returns the stack events handled; 0 on a paired-threads context (its stack
 * thread runs on its own); -1 EINVAL for a context of no runtime core. */
int utcp_rt_poll(struct utcp_ctx *ctx);

/* From any thread: from now on a blocking call (or utcp_epoll_wait with a timeout) on core's
 * context fails with EINTR instead of waiting, until the context is destroyed; calls that do
 * not wait work as before, so the application can close its sockets and return. core -1: every
 * core. EINVAL (not initialised), ENODEV. */
int utcp_rt_interrupt(int core);

struct utcp_rt_link_stats {
  uint64_t tx_frames; /* frames the core put on its links (one per receiving core) */
  uint64_t tx_drops;  /* frames lost because a peer's ring was full */
  uint64_t rx_frames; /* frames the core took off its links */
};
/* A core's link counters, once its context has been destroyed (EBUSY before, ENODEV for a
 * core that does not exist). */
int utcp_rt_link_stats(int core, struct utcp_rt_link_stats *out);

/* Paired threads: how the application thread's calls reached the stack thread. Mean batch size
 * is requests / batches. */
struct utcp_rt_call_stats {
  uint64_t requests;  /* requests put on the request ring: answered ones and posted ones */
  uint64_t posted;    /* of those, posted without waiting for an answer (writes, closes) */
  uint64_t handovers; /* times the application published requests and rang the stack's bell */
  uint64_t batches;   /* request bursts the stack thread took off the ring */
  uint64_t posted_dropped; /* posted writes whose connection had failed when they ran */
  uint64_t posted_stalls;  /* posted writes that waited for the chunk pool (0: credit holds chunks) */
};
/* A core's call counters, at any time from any thread (each counter is read on its own; they
 * are cumulative over the core's contexts). EINVAL (not initialised, NULL), ENODEV. */
int utcp_rt_call_stats(int core, struct utcp_rt_call_stats *out);

#endif
