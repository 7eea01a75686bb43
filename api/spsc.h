/* A lock-free single-producer / single-consumer ring of fixed-size elements (C11 atomics),
 * as in DPDK's rte_ring (SP/SC mode) and Linux's kfifo: a power-of-two number of slots, free
 * running 32-bit head/tail counters (head - tail = slots in use), the producer's and the
 * consumer's counters on separate cache lines, each side keeping a cached copy of the other's
 * counter so that it touches the other line only when its cache says the ring is full/empty.
 *
 * Ordering: the producer writes the slots, then publishes head with a release store; the
 * consumer reads head with an acquire load before reading the slots, and publishes tail with
 * a release store after it has copied them out, which the producer's acquire load of tail pairs
 * with before it reuses those slots.
 *
 * Exactly one thread may call the producer functions and exactly one (possibly other) thread
 * the consumer functions at a time. Bursts: spsc_enqueue_burst / spsc_dequeue_burst move up to
 * n elements with one publication; spsc_prod_reserve/commit and spsc_cons_peek/release give
 * in-place access (no copy) to a contiguous run of slots. */
#ifndef UTCP_API_SPSC_H
#define UTCP_API_SPSC_H

#include <stdalign.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define SPSC_CACHE_LINE 64

struct spsc_ring {
  /* producer's line */
  alignas(SPSC_CACHE_LINE) _Atomic uint32_t head;
  uint32_t tail_cache;
  /* consumer's line */
  alignas(SPSC_CACHE_LINE) _Atomic uint32_t tail;
  uint32_t head_cache;
  /* read-only after init */
  alignas(SPSC_CACHE_LINE) uint32_t mask;
  uint32_t esize;
  unsigned char *slots;
};

/* slots: a power of two >= 2; esize: bytes per element. 0, or -1 (bad size, no memory). */
static inline int spsc_init(struct spsc_ring *r, uint32_t slots, uint32_t esize) {
  if (slots < 2 || (slots & (slots - 1)) != 0 || esize == 0) return -1;
  memset(r, 0, sizeof *r);
  r->slots = calloc(slots, esize);
  if (r->slots == NULL) return -1;
  atomic_init(&r->head, 0);
  atomic_init(&r->tail, 0);
  r->mask = slots - 1;
  r->esize = esize;
  return 0;
}

static inline void spsc_fini(struct spsc_ring *r) {
  free(r->slots);
  r->slots = NULL;
}

static inline void *spsc_slot(const struct spsc_ring *r, uint32_t i) {
  return r->slots + (size_t)(i & r->mask) * r->esize;
}

/* ---- producer side ---- */

/* Free slots as the producer sees them (refreshes the cache when it says fewer than want). */
static inline uint32_t spsc_prod_free(struct spsc_ring *r, uint32_t want) {
  uint32_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
  uint32_t free_n = r->mask + 1 - (head - r->tail_cache);
  if (free_n < want) {
    r->tail_cache = atomic_load_explicit(&r->tail, memory_order_acquire);
    free_n = r->mask + 1 - (head - r->tail_cache);
  }
  return free_n;
}

/* Up to n slots to fill in place, contiguous in memory (fewer at the wrap): *out points at the
 * first; returns how many. Nothing is visible to the consumer before spsc_prod_commit. */
static inline uint32_t spsc_prod_reserve(struct spsc_ring *r, uint32_t n, void **out) {
  uint32_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
  uint32_t avail = spsc_prod_free(r, n);
  if (n > avail) n = avail;
  uint32_t to_end = r->mask + 1 - (head & r->mask);
  if (n > to_end) n = to_end;
  *out = spsc_slot(r, head);
  return n;
}

/* Publishes n reserved slots. */
static inline void spsc_prod_commit(struct spsc_ring *r, uint32_t n) {
  uint32_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
  atomic_store_explicit(&r->head, head + n, memory_order_release);
}

/* Copies up to n elements in and publishes them at once; returns how many fit. */
static inline uint32_t spsc_enqueue_burst(struct spsc_ring *r, const void *elems, uint32_t n) {
  uint32_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
  uint32_t avail = spsc_prod_free(r, n);
  if (n > avail) n = avail;
  const unsigned char *src = elems;
  for (uint32_t i = 0; i < n; i++) memcpy(spsc_slot(r, head + i), src + (size_t)i * r->esize, r->esize);
  if (n > 0) atomic_store_explicit(&r->head, head + n, memory_order_release);
  return n;
}

static inline bool spsc_enqueue(struct spsc_ring *r, const void *elem) {
  return spsc_enqueue_burst(r, elem, 1) == 1;
}

/* ---- consumer side ---- */

/* Elements waiting as the consumer sees them (refreshes the cache when it says fewer than
 * want). */
static inline uint32_t spsc_cons_avail(struct spsc_ring *r, uint32_t want) {
  uint32_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
  uint32_t n = r->head_cache - tail;
  if (n < want) {
    r->head_cache = atomic_load_explicit(&r->head, memory_order_acquire);
    n = r->head_cache - tail;
  }
  return n;
}

/* Up to n elements to read in place, contiguous (fewer at the wrap); release them after. */
static inline uint32_t spsc_cons_peek(struct spsc_ring *r, uint32_t n, void **out) {
  uint32_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
  uint32_t avail = spsc_cons_avail(r, n);
  if (n > avail) n = avail;
  uint32_t to_end = r->mask + 1 - (tail & r->mask);
  if (n > to_end) n = to_end;
  *out = spsc_slot(r, tail);
  return n;
}

static inline void spsc_cons_release(struct spsc_ring *r, uint32_t n) {
  uint32_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
  atomic_store_explicit(&r->tail, tail + n, memory_order_release);
}

/* Copies out up to n elements and frees their slots at once; returns how many. */
static inline uint32_t spsc_dequeue_burst(struct spsc_ring *r, void *elems, uint32_t n) {
  uint32_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
  uint32_t avail = spsc_cons_avail(r, n);
  if (n > avail) n = avail;
  unsigned char *dst = elems;
  for (uint32_t i = 0; i < n; i++) memcpy(dst + (size_t)i * r->esize, spsc_slot(r, tail + i), r->esize);
  if (n > 0) atomic_store_explicit(&r->tail, tail + n, memory_order_release);
  return n;
}

static inline bool spsc_dequeue(struct spsc_ring *r, void *elem) {
  return spsc_dequeue_burst(r, elem, 1) == 1;
}

/* Either side: true when nothing is waiting (a hint: the other side may change it at once). */
static inline bool spsc_empty(struct spsc_ring *r) {
  return atomic_load_explicit(&r->head, memory_order_acquire) ==
         atomic_load_explicit(&r->tail, memory_order_acquire);
}

#endif
