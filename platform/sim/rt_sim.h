/* The simulator's runtime for applications (library utcp_rt_sim): every application is a
 * coroutine scheduled in virtual time on a simulated host, and each host runs one utcp context
 * (struct utcp_ctx) whose platform hooks are `now` = virtual time and `wait` = yield the
 * coroutine until the context has news or the deadline passes. Blocking socket calls and
 * utcp_epoll_wait therefore work unchanged: the same application source runs here and on the
 * threaded or DPDK runtimes.
 *
 * It also implements include/utcp/runtime.h: utcp_init, utcp_create_context(0) ... called from
 * inside an application coroutine give that coroutine's host's context. A host has one core
 * (core 0); several applications on one host share its context.
 *
 * Scheduling: a coroutine is resumed only from a simulator event (never from inside another
 * coroutine), so every resume has its place in the engine's (time, sequence) order and a run
 * is a function of its seed. A coroutine that waits is resumed when a frame or timer on its host
 * makes utcp_ctx_poll report an event, or when its deadline comes, whichever is first.
 *
 * Stopping: rt_sim_stop makes every wait return EINTR from then on; applications are expected
 * to give up and return from their main function. Stacks are mmap-ed with a guard page when the
 * coroutine is created; under AddressSanitizer every switch is announced with its fiber
 * annotations. */
#ifndef UTCP_PLATFORM_SIM_RT_SIM_H
#define UTCP_PLATFORM_SIM_RT_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "sim.h"
#include "utcp/utcp.h"

struct rt_sim;
struct rt_host;
struct rt_app;

typedef int (*rt_app_main_fn)(int argc, char **argv);

#define RT_SIM_STACK_BYTES_DEFAULT (256u << 10)

/* Creates the runtime on a simulation (one runtime per process at a time: runtime.h calls
 * find it). NULL when another runtime exists. */
struct rt_sim *rt_sim_new(struct sim *sim);
/* Frees every application (a coroutine still suspended is abandoned, with a message) and
 * every host context. Call before sim_free. NULL is allowed. */
void rt_sim_free(struct rt_sim *rt);

/* Creates a host: a simulator node whose port carries the frames of a utcp context made from
 * cfg (cfg->stack.seed and isn_key are replaced by values derived from the simulation seed).
 * Returns NULL (message printed) when the context cannot be made. The host belongs to rt. */
struct rt_host *rt_sim_host_new(struct rt_sim *rt, const char *name,
                                const struct utcp_ctx_config *cfg);
struct sim_node *rt_host_node(struct rt_host *h);
struct utcp_ctx *rt_host_ctx(struct rt_host *h);
const char *rt_host_name(const struct rt_host *h);
/* Hosts in creation order (NULL past the end). */
struct rt_host *rt_sim_host_at(struct rt_sim *rt, size_t i);

/* Starts fn(argc, argv) as a coroutine on host h at virtual time at_ns (argv is copied).
 * stack_bytes 0: RT_SIM_STACK_BYTES_DEFAULT. NULL when the stack cannot be mapped. */
struct rt_app *rt_sim_spawn(struct rt_sim *rt, struct rt_host *h, const char *name,
                            rt_app_main_fn fn, int argc, char **argv, size_t stack_bytes,
                            uint64_t at_ns);
/* Whether the application has returned, and what it returned. */
bool rt_app_done(const struct rt_app *a);
int rt_app_status(const struct rt_app *a);
const char *rt_app_name(const struct rt_app *a);
struct rt_host *rt_app_host(const struct rt_app *a);
/* Applications in creation order (NULL past the end). */
struct rt_app *rt_sim_app_at(struct rt_sim *rt, size_t i);
/* Applications that have not returned yet. */
size_t rt_sim_apps_running(const struct rt_sim *rt);

/* From now on every wait returns EINTR; suspended applications are resumed at once to see it. */
void rt_sim_stop(struct rt_sim *rt);

/* The application coroutine running now (NULL in the scheduler). */
struct rt_app *rt_sim_current(void);

#endif
