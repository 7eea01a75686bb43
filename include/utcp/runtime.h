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
};

/* Defaults: utcp_ctx_config_default, one core. */
void utcp_rt_config_default(struct utcp_rt_config *cfg);

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

#endif
