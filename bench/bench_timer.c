/* The hashed timing wheel: start+stop of one timer (the RTO re-arm on every ACK), and expiry
 * of 64Ki timers spread over the wheel. */
#include <stdlib.h>

#include "core/timer.h"
#include "ubench.h"

#define TICK_NS (1ull << UTCP_TIMER_TICK_SHIFT)

static void start_stop_case(struct ubench_state *st) {
  struct utcp_timer_wheel *w = calloc(1, sizeof *w);
  utcp_timer_wheel_init(w, 0);
  /* Background load: 4096 timers in the wheel, as busy connections would have. */
  size_t bg_n = 4096;
  struct utcp_timer *bg = calloc(bg_n, sizeof *bg);
  for (size_t i = 0; i < bg_n; i++) {
    utcp_timer_init(&bg[i]);
    utcp_timer_start(w, &bg[i], (i % 4000 + 1) * TICK_NS);
  }
  struct utcp_timer t;
  utcp_timer_init(&t);
  uint64_t when = 200 * TICK_NS;
  while (ubench_run(st)) {
    utcp_timer_start(w, &t, when);
    utcp_timer_stop(w, &t);
    when = when % (3000 * TICK_NS) + 7 * TICK_NS;
  }
  for (size_t i = 0; i < bg_n; i++) utcp_timer_stop(w, &bg[i]);
  free(bg);
  free(w);
}

static void fire(void *arg, struct utcp_timer *t) {
  (void)t;
  ++*(uint64_t *)arg;
}

static void expire_case(struct ubench_state *st) {
  size_t n = (size_t)ubench_arg(st);
  struct utcp_timer_wheel *w = calloc(1, sizeof *w);
  struct utcp_timer *ts = calloc(n, sizeof *ts);
  uint64_t fired = 0, base = 0;
  utcp_timer_wheel_init(w, 0);
  ubench_ops_per_iter(st, (int64_t)n);
  while (ubench_run(st)) {
    ubench_pause(st);
    for (size_t i = 0; i < n; i++) {
      utcp_timer_init(&ts[i]);
      utcp_timer_start(w, &ts[i], base + ((i * 2654435761u) % 4000 + 1) * TICK_NS);
    }
    ubench_resume(st);
    base += 4001 * TICK_NS;
    while (utcp_timer_next(w) <= base) utcp_timer_expire(w, base, fire, &fired);
  }
  if (fired % n != 0) ubench_fail(st, "not every timer fired");
  free(ts);
  free(w);
}

void bench_register_timer(void) {
  ubench_register("timer_start_stop", start_stop_case, 0);
  ubench_register("timer_expire/65536", expire_case, 65536);
}
