/* api/spsc.h: the single-producer/single-consumer ring. Single-threaded edge cases (full,
 * empty, wrap, bursts, in-place access), then two threads moving millions of sequence-numbered
 * elements through a small ring in bursts of random sizes: every element arrives once, in
 * order, intact. Run under ThreadSanitizer by the `tsan` preset (docs/api.md). */
#include <pthread.h>
#include <sched.h>

#include "api/spsc.h"
#include "test.h"

struct elem {
  uint64_t seq;
  uint64_t check; /* ~seq: a torn copy shows */
};

TEST(test_spsc_bad_sizes) {
  struct spsc_ring r;
  CHECK_EQ(spsc_init(&r, 0, 8), -1);
  CHECK_EQ(spsc_init(&r, 1, 8), -1);
  CHECK_EQ(spsc_init(&r, 12, 8), -1);
  CHECK_EQ(spsc_init(&r, 16, 0), -1);
  REQUIRE(spsc_init(&r, 16, 8) == 0);
  spsc_fini(&r);
}

TEST(test_spsc_layout) {
  /* The producer's counter, the consumer's and the constants each on their own line. */
  CHECK(offsetof(struct spsc_ring, tail) - offsetof(struct spsc_ring, head) >= SPSC_CACHE_LINE);
  CHECK(offsetof(struct spsc_ring, mask) - offsetof(struct spsc_ring, tail) >= SPSC_CACHE_LINE);
  CHECK_EQ(offsetof(struct spsc_ring, head) % SPSC_CACHE_LINE, 0);
  CHECK_EQ(offsetof(struct spsc_ring, tail) % SPSC_CACHE_LINE, 0);
}

TEST(test_spsc_full_empty_wrap) {
  struct spsc_ring r;
  REQUIRE(spsc_init(&r, 8, sizeof(struct elem)) == 0);
  struct elem e[12], out[12];
  for (int i = 0; i < 12; i++) e[i] = (struct elem){(uint64_t)i, ~(uint64_t)i};
  CHECK(spsc_empty(&r));
  CHECK_EQ(spsc_dequeue_burst(&r, out, 4), 0);
  CHECK_EQ(spsc_enqueue_burst(&r, e, 12), 8); /* only 8 fit */
  CHECK(!spsc_enqueue(&r, &e[8]));
  CHECK_EQ(spsc_dequeue_burst(&r, out, 5), 5);
  for (int i = 0; i < 5; i++) CHECK_EQ(out[i].seq, i);
  /* wraps around the end */
  CHECK_EQ(spsc_enqueue_burst(&r, e + 8, 4), 4);
  CHECK_EQ(spsc_dequeue_burst(&r, out, 12), 7);
  for (int i = 0; i < 7; i++) CHECK_EQ(out[i].seq, i + 5);
  CHECK(spsc_empty(&r));
  /* In place: a reservation stops at the wrap; nothing is visible before commit. */
  void *p;
  uint32_t n = spsc_prod_reserve(&r, 8, &p);
  CHECK_EQ(n, 4); /* head is at 12: slots 4..7 before the wrap */
  for (uint32_t i = 0; i < n; i++) ((struct elem *)p)[i] = e[i];
  CHECK_EQ(spsc_cons_avail(&r, 1), 0);
  spsc_prod_commit(&r, n);
  CHECK_EQ(spsc_cons_avail(&r, 1), 4);
  n = spsc_cons_peek(&r, 8, &p);
  CHECK_EQ(n, 4);
  CHECK_EQ(((struct elem *)p)[3].seq, 3);
  spsc_cons_release(&r, n);
  CHECK(spsc_empty(&r));
  spsc_fini(&r);
}

#define TOTAL 2000000ull

struct xfer {
  struct spsc_ring ring;
  uint64_t seed;
  uint64_t bad, got;
  uint64_t full_spins, empty_spins;
};

static uint64_t xrand(uint64_t *s) {
  *s ^= *s << 13;
  *s ^= *s >> 7;
  *s ^= *s << 17;
  return *s;
}

static void *producer(void *arg) {
  struct xfer *x = arg;
  uint64_t s = x->seed, next = 0;
  struct elem batch[64];
  while (next < TOTAL) {
    uint32_t want = 1 + (uint32_t)(xrand(&s) % 64);
    if (want > TOTAL - next) want = (uint32_t)(TOTAL - next);
    if (xrand(&s) & 1) {
      for (uint32_t i = 0; i < want; i++) batch[i] = (struct elem){next + i, ~(next + i)};
      uint32_t n = spsc_enqueue_burst(&x->ring, batch, want);
      if (n == 0) x->full_spins++, sched_yield(); /* a busy machine: let the consumer run */
      next += n;
    } else {
      void *p;
      uint32_t n = spsc_prod_reserve(&x->ring, want, &p);
      struct elem *slots = p;
      for (uint32_t i = 0; i < n; i++) slots[i] = (struct elem){next + i, ~(next + i)};
      spsc_prod_commit(&x->ring, n);
      if (n == 0) x->full_spins++, sched_yield();
      next += n;
    }
  }
  return NULL;
}

static void *consumer(void *arg) {
  struct xfer *x = arg;
  uint64_t s = x->seed * 7 + 1, expect = 0;
  struct elem batch[64];
  while (expect < TOTAL) {
    uint32_t want = 1 + (uint32_t)(xrand(&s) % 64);
    uint32_t n;
    if (xrand(&s) & 1) {
      n = spsc_dequeue_burst(&x->ring, batch, want);
      for (uint32_t i = 0; i < n; i++, expect++)
        if (batch[i].seq != expect || batch[i].check != ~expect) x->bad++;
    } else {
      void *p;
      n = spsc_cons_peek(&x->ring, want, &p);
      const struct elem *slots = p;
      for (uint32_t i = 0; i < n; i++, expect++)
        if (slots[i].seq != expect || slots[i].check != ~expect) x->bad++;
      spsc_cons_release(&x->ring, n);
    }
    if (n == 0) x->empty_spins++, sched_yield();
    x->got += n;
  }
  return NULL;
}

TEST(test_spsc_two_threads) {
  /* A 64-slot ring: the producer often finds it full and the consumer empty. */
  static struct xfer x;
  REQUIRE(spsc_init(&x.ring, 64, sizeof(struct elem)) == 0);
  x.seed = 0x9e3779b97f4a7c15ull;
  pthread_t tp, tc;
  REQUIRE(pthread_create(&tc, NULL, consumer, &x) == 0);
  REQUIRE(pthread_create(&tp, NULL, producer, &x) == 0);
  pthread_join(tp, NULL);
  pthread_join(tc, NULL);
  CHECK_EQ(x.bad, 0);
  CHECK_EQ(x.got, TOTAL);
  CHECK(spsc_empty(&x.ring));
  printf("  %llu elements, producer found it full %llu times, consumer empty %llu times\n",
         (unsigned long long)x.got, (unsigned long long)x.full_spins,
         (unsigned long long)x.empty_spins);
  spsc_fini(&x.ring);
}

TEST_MAIN(TEST_CASE(test_spsc_bad_sizes), TEST_CASE(test_spsc_layout),
          TEST_CASE(test_spsc_full_empty_wrap), TEST_CASE(test_spsc_two_threads))
