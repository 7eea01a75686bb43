/* The loopback platform: two contexts (two stacks, 10.0.0.1 and 10.0.0.2 on one /24) joined by
 * an in-memory link with a fixed one-way delay, in virtual time, single-threaded. It implements
 * the platform hooks (now, wait) so blocking calls work: wait runs the link and both stacks'
 * timers, jumping virtual time to the next thing that happens. It exists for tests of api/. */
#ifndef UTCP_API_LOOPBACK_H
#define UTCP_API_LOOPBACK_H

#include <stdbool.h>
#include <stdint.h>

#include "utcp/utcp.h"

#define UTCP_LO_IP(side) (0x0a000001u + (uint32_t)(side)) /* 10.0.0.1, 10.0.0.2 */

struct utcp_loopback;

struct utcp_loopback_config {
  struct utcp_ctx_config ctx[2]; /* addresses, MACs and static ARP are filled in */
  uint64_t delay_ns;             /* one way */
  uint32_t queue_frames;         /* frames in flight per direction; more are dropped */
};

/* Defaults: utcp_ctx_config_default for both sides, 50 us delay, 4096 frames. */
void utcp_loopback_config_default(struct utcp_loopback_config *cfg);
/* 0 or a negative UTCP_ERR_* (INVAL, NOMEM). */
int utcp_loopback_new(const struct utcp_loopback_config *cfg, struct utcp_loopback **out);
void utcp_loopback_free(struct utcp_loopback *lo);

struct utcp_ctx *utcp_loopback_ctx(struct utcp_loopback *lo, int side);
uint64_t utcp_loopback_now(const struct utcp_loopback *lo);
/* Runs the link and the stacks until virtual time `until_ns` (everything due by then). */
void utcp_loopback_run_until(struct utcp_loopback *lo, uint64_t until_ns);
/* Runs for `ns` of virtual time from now. */
void utcp_loopback_run(struct utcp_loopback *lo, uint64_t ns);
/* Frames from `side` are dropped (true) or carried (false). */
void utcp_loopback_set_drop(struct utcp_loopback *lo, int side, bool drop);
/* Frames carried and dropped so far from `side`. */
uint64_t utcp_loopback_frames(const struct utcp_loopback *lo, int side);
uint64_t utcp_loopback_dropped(const struct utcp_loopback *lo, int side);

#endif
