/* The hashed timing wheel: never early, at most a tick late, safe re-arming from callbacks,
 * far-future deadlines and time jumps, next() checked against a brute-force model, and expiry
 * work linear in the number of timers. */
#include "core/rng.h"
#include "core/timer.h"
#include "tests/test.h"

#define MS 1000000ull
#define TICK ((uint64_t)1 << UTCP_TIMER_TICK_SHIFT)
#define TURN ((uint64_t)UTCP_TIMER_SLOTS * TICK)

static struct utcp_timer_wheel wheel; /* about 100 KiB: keep it off the stack */

/* What every test's callback records. */
struct log {
  struct utcp_timer *base; /* timers[] the fired ones belong to */
  uint64_t now;            /* the time expire was called with */
  size_t n;
  size_t order[256];
  uint64_t fired_at[256];
};

static void log_fire(void *arg, struct utcp_timer *t) {
  struct log *l = arg;
  CHECK(!utcp_timer_running(t));
  CHECK(t->expires_ns <= l->now); /* never early */
  if (l->n < 256) {
    l->order[l->n] = (size_t)(t - l->base);
    l->fired_at[l->n] = l->now;
  }
  l->n++;
}

static void expire_at(struct log *l, uint64_t now) {
  l->now = now;
  utcp_timer_expire(&wheel, now, log_fire, l);
}

/* Drives the wheel as a caller does: sleep until next(), expire, until now reaches `until`. */
static uint64_t run_until(struct log *l, uint64_t now, uint64_t until) {
  for (int guard = 0; guard < 1000000; guard++) {
    uint64_t t = utcp_timer_next(&wheel);
    if (t > until) break;
    if (t > now) now = t;
    expire_at(l, now);
  }
  if (until > now) now = until;
  expire_at(l, now);
  return now;
}

TEST(test_timer_empty) {
  utcp_timer_wheel_init(&wheel, 5 * MS);
  CHECK_EQ(utcp_timer_next(&wheel), UINT64_MAX);
  struct log l = {0};
  expire_at(&l, 100 * MS);
  CHECK_EQ(l.n, 0);
  struct utcp_timer t;
  utcp_timer_init(&t);
  CHECK(!utcp_timer_running(&t));
  utcp_timer_stop(&wheel, &t); /* stopping a stopped timer is a no-op */
  CHECK_EQ(wheel.count, 0);
}

TEST(test_timer_ordering) {
  utcp_timer_wheel_init(&wheel, 0);
  static const uint64_t deadlines[] = {50 * MS, 3 * MS, 3 * MS + 1, 700 * MS, 1, 2 * MS,
                                       TICK,    TICK + 1, 4 * MS - 1, 900 * MS};
  enum { N = sizeof deadlines / sizeof deadlines[0] };
  struct utcp_timer t[N];
  struct log l = {.base = t};
  for (size_t i = 0; i < N; i++) {
    utcp_timer_init(&t[i]);
    utcp_timer_start(&wheel, &t[i], deadlines[i]);
  }
  CHECK_EQ(wheel.count, N);
  CHECK_EQ(utcp_timer_next(&wheel), 1);
  run_until(&l, 0, 1000 * MS);
  REQUIRE(l.n == N);
  for (size_t i = 0; i < N; i++) {
    uint64_t d = deadlines[l.order[i]];
    CHECK(l.fired_at[i] >= d);
    CHECK(l.fired_at[i] - d < TICK); /* at most one tick late */
    if (i > 0) CHECK(deadlines[l.order[i - 1]] <= d);
  }
  CHECK_EQ(wheel.count, 0);
  CHECK_EQ(utcp_timer_next(&wheel), UINT64_MAX);
}

TEST(test_timer_never_early_within_tick) {
  /* Deadline in the middle of a tick: expire just before it fires nothing, at it fires. */
  utcp_timer_wheel_init(&wheel, 0);
  struct utcp_timer t;
  struct log l = {.base = &t};
  utcp_timer_init(&t);
  uint64_t d = 10 * TICK + TICK / 2;
  utcp_timer_start(&wheel, &t, d);
  CHECK(utcp_timer_next(&wheel) <= d);
  expire_at(&l, 10 * TICK);
  expire_at(&l, d - 1);
  CHECK_EQ(l.n, 0);
  CHECK(utcp_timer_running(&t));
  CHECK(utcp_timer_next(&wheel) <= d);
  expire_at(&l, d);
  CHECK_EQ(l.n, 1);
  CHECK_EQ(wheel.count, 0);
}

TEST(test_timer_stop_restart) {
  utcp_timer_wheel_init(&wheel, 0);
  struct utcp_timer t[3];
  struct log l = {.base = t};
  for (int i = 0; i < 3; i++) utcp_timer_init(&t[i]);
  utcp_timer_start(&wheel, &t[0], 10 * MS);
  utcp_timer_start(&wheel, &t[1], 10 * MS);
  utcp_timer_start(&wheel, &t[2], 20 * MS);
  utcp_timer_stop(&wheel, &t[1]);
  CHECK(!utcp_timer_running(&t[1]));
  CHECK_EQ(wheel.count, 2);
  utcp_timer_start(&wheel, &t[0], 30 * MS); /* restart moves it */
  CHECK_EQ(wheel.count, 2);
  utcp_timer_start(&wheel, &t[0], 30 * MS); /* restarting twice is harmless */
  CHECK_EQ(wheel.count, 2);
  CHECK_EQ(utcp_timer_next(&wheel), 20 * MS); /* the emptied slot causes no stale wakeup */
  expire_at(&l, 25 * MS);
  REQUIRE(l.n == 1);
  CHECK_EQ(l.order[0], 2);
  utcp_timer_stop(&wheel, &t[0]);
  CHECK_EQ(wheel.count, 0);
  CHECK_EQ(utcp_timer_next(&wheel), UINT64_MAX);
  expire_at(&l, 100 * MS);
  CHECK_EQ(l.n, 1);
  /* A deadline in the past fires at the next expiry call, even one at the same time. */
  utcp_timer_start(&wheel, &t[1], 1 * MS);
  CHECK(utcp_timer_next(&wheel) <= 1 * MS);
  expire_at(&l, 100 * MS);
  CHECK_EQ(l.n, 2);
  CHECK_EQ(wheel.count, 0);
}

/* A periodic timer re-arming itself, one that stops a sibling due in the same call, and one
 * that restarts itself in the past. */
struct rearm {
  struct utcp_timer t[4];
  uint64_t now;
  int fires[4];
};

static void rearm_fire(void *arg, struct utcp_timer *t) {
  struct rearm *r = arg;
  size_t i = (size_t)(t - r->t);
  CHECK(t->expires_ns <= r->now);
  r->fires[i]++;
  if (i == 0) utcp_timer_start(&wheel, t, r->now + 10 * MS); /* periodic */
  if (i == 1) utcp_timer_stop(&wheel, &r->t[2]);             /* 2 is due too but must not fire */
  if (i == 3 && r->fires[3] < 3) utcp_timer_start(&wheel, t, r->now - 1); /* past: next call */
}

TEST(test_timer_rearm_in_callback) {
  utcp_timer_wheel_init(&wheel, 0);
  struct rearm r = {0};
  for (int i = 0; i < 4; i++) utcp_timer_init(&r.t[i]);
  utcp_timer_start(&wheel, &r.t[0], 10 * MS);
  utcp_timer_start(&wheel, &r.t[1], 5 * MS);
  utcp_timer_start(&wheel, &r.t[2], 5 * MS);
  utcp_timer_start(&wheel, &r.t[3], 7 * MS);
  r.now = 5 * MS;
  utcp_timer_expire(&wheel, r.now, rearm_fire, &r);
  CHECK_EQ(r.fires[1], 1);
  CHECK_EQ(r.fires[2], 0);
  CHECK(!utcp_timer_running(&r.t[2]));
  r.now = 7 * MS;
  utcp_timer_expire(&wheel, r.now, rearm_fire, &r);
  CHECK_EQ(r.fires[3], 1);
  CHECK(utcp_timer_running(&r.t[3])); /* re-armed in the past: waits for the next call */
  utcp_timer_expire(&wheel, r.now, rearm_fire, &r);
  CHECK_EQ(r.fires[3], 2);
  utcp_timer_expire(&wheel, r.now, rearm_fire, &r);
  CHECK_EQ(r.fires[3], 3);
  CHECK(!utcp_timer_running(&r.t[3]));
  for (r.now = 8 * MS; r.now <= 1000 * MS; r.now += MS) {
    utcp_timer_expire(&wheel, r.now, rearm_fire, &r);
  }
  CHECK_EQ(r.fires[0], 100); /* 10 ms, 20 ms, ..., 1000 ms */
  CHECK_EQ(r.fires[2], 0);
  CHECK_EQ(wheel.count, 1);
  utcp_timer_stop(&wheel, &r.t[0]);
  CHECK_EQ(wheel.count, 0);
}

TEST(test_timer_far_future) {
  /* Deadlines several turns out share slots with near ones and must wait their turn. */
  utcp_timer_wheel_init(&wheel, 0);
  static const uint64_t deadlines[] = {
      3 * MS,          3 * MS + TURN, 3 * MS + 3 * TURN, 3 * MS + 7 * TURN + 5,
      100 * TURN + 17, TURN - 1,      TURN,              TURN + 1,
  };
  enum { N = sizeof deadlines / sizeof deadlines[0] };
  struct utcp_timer t[N];
  struct log l = {.base = t};
  for (size_t i = 0; i < N; i++) {
    utcp_timer_init(&t[i]);
    utcp_timer_start(&wheel, &t[i], deadlines[i]);
  }
  uint64_t now = 0;
  size_t calls = 0;
  for (;;) {
    uint64_t next = utcp_timer_next(&wheel);
    if (next == UINT64_MAX) break;
    uint64_t min = UINT64_MAX;
    for (size_t i = 0; i < N; i++) {
      if (utcp_timer_running(&t[i]) && deadlines[i] < min) min = deadlines[i];
    }
    CHECK(next <= min);
    if (next > now) now = next;
    expire_at(&l, now);
    calls++;
    REQUIRE(calls < 1000); /* at most a couple of wakeups per slot-turn passed */
  }
  REQUIRE(l.n == N);
  for (size_t i = 0; i < N; i++) {
    CHECK(l.fired_at[i] >= deadlines[l.order[i]]);
    CHECK(l.fired_at[i] - deadlines[l.order[i]] < TICK);
    if (i > 0) CHECK(deadlines[l.order[i - 1]] <= deadlines[l.order[i]]);
  }
}

TEST(test_timer_jump_forward) {
  /* One call far in the future fires everything due, each slot visited once. */
  utcp_timer_wheel_init(&wheel, 123 * MS);
  enum { N = 200 };
  struct utcp_timer t[N];
  struct log l = {.base = t};
  struct utcp_rng rng;
  utcp_rng_init(&rng, 7);
  for (size_t i = 0; i < N; i++) {
    utcp_timer_init(&t[i]);
    utcp_timer_start(&wheel, &t[i], 123 * MS + utcp_rng_below(&rng, 20 * TURN));
  }
  utcp_timer_start(&wheel, &t[0], 1000 * TURN); /* stays */
  uint64_t before = wheel.work;
  expire_at(&l, 50 * TURN);
  CHECK_EQ(l.n, N - 1);
  CHECK_EQ(wheel.count, 1);
  CHECK(wheel.work - before <= UTCP_TIMER_SLOTS + N);
  CHECK(utcp_timer_next(&wheel) <= 1000 * TURN);
  /* Time far beyond, then a timer relative to the new time. */
  expire_at(&l, 5000 * TURN);
  CHECK_EQ(l.n, N);
  utcp_timer_start(&wheel, &t[1], 5000 * TURN + 2 * MS);
  CHECK(utcp_timer_next(&wheel) <= 5000 * TURN + 2 * MS);
  CHECK(utcp_timer_next(&wheel) > 5000 * TURN);
  expire_at(&l, 5000 * TURN + 2 * MS);
  CHECK_EQ(l.n, N + 1);
  CHECK_EQ(wheel.count, 0);
}

TEST(test_timer_extreme_deadline) {
  utcp_timer_wheel_init(&wheel, 0);
  struct utcp_timer t[2];
  struct log l = {.base = t};
  utcp_timer_init(&t[0]);
  utcp_timer_init(&t[1]);
  utcp_timer_start(&wheel, &t[0], UINT64_MAX - 1);
  utcp_timer_start(&wheel, &t[1], UINT64_MAX - TURN);
  CHECK(utcp_timer_next(&wheel) <= UINT64_MAX - TURN);
  expire_at(&l, UINT64_MAX - TURN - 1);
  CHECK_EQ(l.n, 0);
  expire_at(&l, UINT64_MAX - 1);
  CHECK_EQ(l.n, 2);
  CHECK_EQ(wheel.count, 0);
}

/* Randomized check against a brute-force model: timers started, stopped and re-armed (also
 * from callbacks), time advanced in small steps, by next(), and in large jumps. */
enum { MODEL_N = 48 };
struct model {
  struct utcp_timer t[MODEL_N];
  bool running[MODEL_N];
  bool armed_in_call[MODEL_N]; /* started by a callback of the running expire call */
  uint64_t expires[MODEL_N];
  uint64_t started_at[MODEL_N];
  uint64_t now;
  bool lateness; /* this call was made at the time next() asked for */
  struct utcp_rng rng;
  uint64_t fired;
};

static void model_start(struct model *m, size_t i, uint64_t deadline) {
  utcp_timer_start(&wheel, &m->t[i], deadline);
  m->running[i] = true;
  m->expires[i] = deadline;
  m->started_at[i] = m->now;
}

static uint64_t model_deadline(struct model *m) {
  switch (utcp_rng_below(&m->rng, 5)) {
  case 0: return m->now > 10 * MS ? m->now - utcp_rng_below(&m->rng, 10 * MS) : 0;
  case 1: return m->now + utcp_rng_below(&m->rng, 4 * TICK);
  case 2: return m->now + utcp_rng_below(&m->rng, 500 * MS);
  case 3: return m->now + utcp_rng_below(&m->rng, TURN + TICK);
  default: return m->now + utcp_rng_below(&m->rng, 6 * TURN);
  }
}

static void model_fire(void *arg, struct utcp_timer *t) {
  struct model *m = arg;
  size_t i = (size_t)(t - m->t);
  REQUIRE(i < MODEL_N);
  CHECK(m->running[i]);
  CHECK(!m->armed_in_call[i]);
  CHECK(m->expires[i] <= m->now); /* never early */
  if (m->lateness) {
    uint64_t from = m->expires[i] > m->started_at[i] ? m->expires[i] : m->started_at[i];
    CHECK(m->now - from < TICK); /* at most one tick late when driven by next() */
  }
  m->running[i] = false;
  m->fired++;
  uint32_t r = (uint32_t)utcp_rng_below(&m->rng, 10);
  size_t j = (size_t)utcp_rng_below(&m->rng, MODEL_N);
  if (r < 3) {
    model_start(m, j, model_deadline(m));
    m->armed_in_call[j] = true;
  } else if (r < 5) {
    utcp_timer_stop(&wheel, &m->t[j]);
    m->running[j] = false;
  }
}

static void model_check(struct model *m) {
  uint64_t count = 0, min = UINT64_MAX;
  for (size_t i = 0; i < MODEL_N; i++) {
    CHECK_EQ(utcp_timer_running(&m->t[i]), m->running[i]);
    if (!m->running[i]) continue;
    count++;
    if (m->expires[i] < min) min = m->expires[i];
  }
  CHECK_EQ(wheel.count, count);
  uint64_t next = utcp_timer_next(&wheel);
  CHECK(next <= min); /* never later than the earliest deadline */
  if (count == 0) CHECK_EQ(next, UINT64_MAX);
}

/* One expire call at now, checking that exactly the due timers fired. */
static void model_expire(struct model *m, uint64_t now, bool lateness) {
  bool due[MODEL_N];
  for (size_t i = 0; i < MODEL_N; i++) {
    due[i] = m->running[i] && m->expires[i] <= now;
    m->armed_in_call[i] = false;
  }
  uint64_t tick_before = wheel.tick, fired_before = m->fired;
  m->now = now;
  m->lateness = lateness;
  utcp_timer_expire(&wheel, now, model_fire, m);
  for (size_t i = 0; i < MODEL_N; i++) {
    /* Every timer due before the call fired (or a callback stopped or re-armed it). */
    if (due[i] && !m->armed_in_call[i]) CHECK(!m->running[i] || m->expires[i] > now);
  }
  /* Progress: something fired, the wheel moved past a slot, or the next answer is now later
   * than `now` (an early answer cached after its timer stopped is recomputed). */
  CHECK(m->fired > fired_before || wheel.tick > tick_before || utcp_timer_next(&wheel) > now ||
        !lateness);
}

TEST(test_timer_random_model) {
  static struct model m;
  for (uint64_t seed = 1; seed <= 20; seed++) {
    memset(&m, 0, sizeof m);
    utcp_rng_init(&m.rng, seed);
    m.now = utcp_rng_below(&m.rng, 10 * TURN);
    utcp_timer_wheel_init(&wheel, m.now);
    for (size_t i = 0; i < MODEL_N; i++) utcp_timer_init(&m.t[i]);
    for (int step = 0; step < 3000; step++) {
      uint32_t op = (uint32_t)utcp_rng_below(&m.rng, 100);
      size_t i = (size_t)utcp_rng_below(&m.rng, MODEL_N);
      if (op < 35) {
        model_start(&m, i, model_deadline(&m));
      } else if (op < 45) {
        utcp_timer_stop(&wheel, &m.t[i]);
        m.running[i] = false;
      } else if (op < 85) {
        /* Sleep until next() as a caller does, up to a target. */
        uint64_t until = m.now + utcp_rng_below(&m.rng, op < 80 ? 50 * MS : 3 * TURN);
        for (int guard = 0;; guard++) {
          REQUIRE(guard < 100000);
          uint64_t next = utcp_timer_next(&wheel);
          if (next > until) break;
          model_expire(&m, next > m.now ? next : m.now, true);
          model_check(&m);
        }
        model_expire(&m, until, false);
      } else if (op < 95) {
        model_expire(&m, m.now + utcp_rng_below(&m.rng, 3 * TICK), false);
      } else {
        model_expire(&m, m.now + utcp_rng_below(&m.rng, 20 * TURN), false); /* jump */
      }
      model_check(&m);
    }
    CHECK(m.fired > 1000); /* the run did exercise expiry */
    for (size_t i = 0; i < MODEL_N; i++) utcp_timer_stop(&wheel, &m.t[i]);
    CHECK_EQ(wheel.count, 0);
  }
}

/* Scaling: expiry work (slot visits plus timers examined) per timer stays a small constant from
 * 100,000 to 1,000,000 timers, for a caller that expires every tick and for one time jump. */
struct scale {
  uint64_t now, fired, late;
};

static void scale_fire(void *arg, struct utcp_timer *t) {
  struct scale *s = arg;
  if (t->expires_ns > s->now || s->now - t->expires_ns >= TICK) s->late++;
  s->fired++;
}

static double scale_run(uint32_t n, bool jump) {
  struct utcp_timer *t = malloc(n * sizeof *t);
  if (!t) return 1e9;
  struct utcp_rng rng;
  utcp_rng_init(&rng, n);
  utcp_timer_wheel_init(&wheel, 0);
  for (uint32_t i = 0; i < n; i++) {
    utcp_timer_init(&t[i]);
    utcp_timer_start(&wheel, &t[i], 1 + utcp_rng_below(&rng, 5 * TURN)); /* up to ~22 s */
  }
  struct scale s = {0};
  if (jump) {
    s.now = 6 * TURN;
    utcp_timer_expire(&wheel, s.now, scale_fire, &s);
    s.late = 0; /* a jump fires late by design */
  } else {
    while (wheel.count > 0 && s.now < 6 * TURN) {
      s.now += TICK;
      utcp_timer_expire(&wheel, s.now, scale_fire, &s);
    }
  }
  CHECK_EQ(s.fired, n);
  CHECK_EQ(s.late, 0);
  CHECK_EQ(wheel.count, 0);
  free(t);
  return (double)wheel.work / n;
}

TEST(test_timer_scaling_linear) {
  double small = scale_run(100000, false), large = scale_run(1000000, false);
  printf("timer work per timer, tick by tick: %.2f (1e5), %.2f (1e6)\n", small, large);
  /* Five turns waited at most, each slot examined twice a turn (whole, and as the next tick). */
  CHECK(small < 12.0);
  CHECK(large < 12.0);
  CHECK(large < small * 1.1);
  small = scale_run(100000, true);
  large = scale_run(1000000, true);
  printf("timer work per timer, one jump: %.2f (1e5), %.2f (1e6)\n", small, large);
  CHECK(small < 1.1);
  CHECK(large < 1.1);
}

TEST_MAIN(TEST_CASE(test_timer_empty), TEST_CASE(test_timer_ordering),
          TEST_CASE(test_timer_never_early_within_tick), TEST_CASE(test_timer_stop_restart),
          TEST_CASE(test_timer_rearm_in_callback), TEST_CASE(test_timer_far_future),
          TEST_CASE(test_timer_jump_forward), TEST_CASE(test_timer_extreme_deadline),
          TEST_CASE(test_timer_random_model), TEST_CASE(test_timer_scaling_linear))
