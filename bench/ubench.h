/* utcp's microbenchmarks are written in C against this small interface; ubench_shim.cc maps it
 * onto Google Benchmark (libbenchmark-dev), which does the timing, repetitions and reporting.
 *
 * A case is a function that sets up, then loops `while (ubench_run(st)) { ... }` over the
 * operation being measured. The shim reports, besides Google Benchmark's ns per iteration:
 *  - `cycles/op`: TSC ticks per operation (rdtsc around the loop; at this machine's constant
 *    TSC rate these are reference cycles, not core clock cycles under turbo),
 *  - bytes/s when the case calls ubench_bytes_per_op, items/s always (ops per iteration: 1
 *    unless ubench_ops_per_iter says otherwise). */
#ifndef UTCP_BENCH_UBENCH_H
#define UTCP_BENCH_UBENCH_H

#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct ubench_state;
typedef void (*ubench_fn)(struct ubench_state *st);

/* Registers a case; arg is handed to it through ubench_arg (e.g. a buffer size). */
void ubench_register(const char *name, ubench_fn fn, int64_t arg);
/* True while the benchmark wants more iterations. Starts the TSC count on the first call. */
bool ubench_run(struct ubench_state *st);
int64_t ubench_arg(const struct ubench_state *st);
/* Stops / restarts timing around per-iteration set-up that must not be counted. */
void ubench_pause(struct ubench_state *st);
void ubench_resume(struct ubench_state *st);
void ubench_bytes_per_op(struct ubench_state *st, int64_t bytes);
void ubench_ops_per_iter(struct ubench_state *st, int64_t ops);
/* Marks the case failed (reported as an error by Google Benchmark; the run goes on). */
void ubench_fail(struct ubench_state *st, const char *why);

/* Keeps the compiler from discarding a computed value. */
static inline void ubench_use(const void *p) { __asm__ volatile("" : : "r"(p) : "memory"); }
static inline void ubench_use_u64(uint64_t v) { __asm__ volatile("" : : "r"(v)); }

/* Each bench_*.c file registers its cases here (called by the shim's main). */
void bench_register_cksum(void);
void bench_register_wire(void);
void bench_register_timer(void);
void bench_register_flow(void);
void bench_register_tcp(void);

#ifdef __cplusplus
}
#endif

#endif
