/* A hashed timing wheel (Varghese and Lauck, scheme 6): O(1) start and stop, expiry work
 * proportional to the timers that fire plus the slots passed. Timers are intrusive: embed a
 * struct utcp_timer in the object that owns it. Deadlines are rounded up to the next tick, so a
 * timer never fires early and at most one tick late. */
#ifndef UTCP_CORE_TIMER_H
#define UTCP_CORE_TIMER_H

#include <stdbool.h>
#include <stdint.h>

#define UTCP_TIMER_TICK_SHIFT 20 /* 2^20 ns: a tick of about 1.05 ms */
#define UTCP_TIMER_SLOTS 4096    /* one turn of the wheel: about 4.4 s */

struct utcp_timer {
  struct utcp_timer *next, *prev; /* NULL when not running */
  uint64_t expires_ns;
};

struct utcp_timer_wheel {
  struct utcp_timer slots[UTCP_TIMER_SLOTS]; /* list heads (sentinels) */
  uint64_t nonempty[UTCP_TIMER_SLOTS / 64];  /* bit per slot with at least one timer */
  uint64_t summary;                          /* bit per nonempty[] word that is not zero */
  uint64_t tick;                             /* next tick to process */
  uint64_t count;                            /* timers running */
  uint64_t work; /* cost counter: slots visited plus timers examined by expire (tests, stats) */
  /* What utcp_timer_next last computed (the first non-empty slot's tick and the answer), kept
   * exact by start, stop and expire so that asking on every poll costs O(1). */
  uint64_t next_tick, next_ns;
  bool next_valid;
};

/* Prepares an empty wheel whose clock starts at now. */
void utcp_timer_wheel_init(struct utcp_timer_wheel *w, uint64_t now);

static inline void utcp_timer_init(struct utcp_timer *t) {
  t->next = t->prev = 0;
  t->expires_ns = 0;
}
static inline bool utcp_timer_running(const struct utcp_timer *t) { return t->next != 0; }

/* (Re)starts t to fire at expires_ns (a time in the past fires at the next expiry call). */
void utcp_timer_start(struct utcp_timer_wheel *w, struct utcp_timer *t, uint64_t expires_ns);
/* Stops t if it is running. */
void utcp_timer_stop(struct utcp_timer_wheel *w, struct utcp_timer *t);

/* Earliest time at which utcp_timer_expire may have work: never later than the earliest
 * deadline, possibly earlier when a slot holds timers for a later turn or when the earliest
 * timer of a slot that still holds others was stopped (the answer is cached: O(1)). UINT64_MAX if empty.
 * Calling expire at the returned time always fires a timer, moves the wheel past a slot or
 * makes the next answer later than that time, so
 * `while (utcp_timer_next(w) <= now) utcp_timer_expire(w, now, ...)` terminates. */
uint64_t utcp_timer_next(const struct utcp_timer_wheel *w);

/* Removes every timer whose deadline is <= now and calls fire(arg, timer) for each, in
 * deadline-slot order (after a jump of more than a turn, timers of different turns sharing a
 * slot fire together). fire may start or stop any timer, including the one fired; a timer it
 * starts fires at the next call at the earliest, even when its deadline is <= now. */
void utcp_timer_expire(struct utcp_timer_wheel *w, uint64_t now,
                       void (*fire)(void *arg, struct utcp_timer *t), void *arg);

#endif
