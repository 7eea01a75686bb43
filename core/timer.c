/* Hashed timing wheel. A timer with deadline d lives in the slot of tick s = ceil(d / TICK), or of
 * w->tick when that is later (a deadline already passed). Invariant: every running timer's tick
 * s is >= w->tick, so the slot at tick w->tick + k (k < SLOTS) holds timers for tick
 * w->tick + k and for later turns, and nothing earlier. Because deadlines are rounded up, every
 * timer in a slot whose tick is <= floor(now / TICK) is due at now. */
#include "timer.h"

#include "assert.h"

#define SLOT_MASK ((uint32_t)UTCP_TIMER_SLOTS - 1)
#define TICK_NS ((uint64_t)1 << UTCP_TIMER_TICK_SHIFT)

_Static_assert((UTCP_TIMER_SLOTS & (UTCP_TIMER_SLOTS - 1)) == 0, "slots: a power of two");
_Static_assert(UTCP_TIMER_SLOTS == 64 * 64, "slots: 64 bitmap words, one summary word");

static uint64_t ceil_tick(uint64_t ns) {
  return (ns >> UTCP_TIMER_TICK_SHIFT) + ((ns & (TICK_NS - 1)) != 0);
}

static uint64_t tick_time(uint64_t tick) {
  if (tick > (UINT64_MAX >> UTCP_TIMER_TICK_SHIFT)) return UINT64_MAX;
  return tick << UTCP_TIMER_TICK_SHIFT;
}

static void bit_set(struct utcp_timer_wheel *w, uint32_t slot) {
  w->nonempty[slot >> 6] |= (uint64_t)1 << (slot & 63);
  w->summary |= (uint64_t)1 << (slot >> 6);
}

static void bit_clear(struct utcp_timer_wheel *w, uint32_t slot) {
  w->nonempty[slot >> 6] &= ~((uint64_t)1 << (slot & 63));
  if (w->nonempty[slot >> 6] == 0) w->summary &= ~((uint64_t)1 << (slot >> 6));
}

/* The slot whose sentinel p is, or UTCP_TIMER_SLOTS when p is a timer or another list's head. */
static uint32_t sentinel_slot(const struct utcp_timer_wheel *w, const struct utcp_timer *p) {
  uintptr_t off = (uintptr_t)p - (uintptr_t)w->slots;
  if (off >= sizeof w->slots) return UTCP_TIMER_SLOTS;
  return (uint32_t)(off / sizeof w->slots[0]);
}

/* Offset d < limit of the first non-empty slot at or after slot `from` (wrapping), else limit.
 * Two ctz steps: the rest of from's word, then the summary's next non-zero word. */
static uint32_t find_nonempty(const struct utcp_timer_wheel *w, uint32_t from, uint32_t limit) {
  UTCP_ASSERT(from < UTCP_TIMER_SLOTS);
  UTCP_ASSERT(limit <= UTCP_TIMER_SLOTS);
  uint32_t wi = from >> 6, bi = from & 63;
  uint64_t bits = w->nonempty[wi] >> bi;
  uint32_t d;
  if (bits != 0) {
    d = (uint32_t)__builtin_ctzll(bits);
  } else {
    /* Words after wi, wrapping: rotate the summary so that word wi + 1 is bit 0; word wi itself
     * (its slots before `from`, a whole turn away) comes last, as bit 63. */
    uint32_t r = (wi + 1) & 63;
    uint64_t rot = r ? (w->summary >> r) | (w->summary << (64 - r)) : w->summary;
    if (rot == 0) return limit;
    uint32_t k = (uint32_t)__builtin_ctzll(rot);
    uint32_t word = (wi + 1 + k) & 63;
    uint64_t wb = w->nonempty[word];
    if (word == wi) wb &= ((uint64_t)1 << bi) - 1; /* bi > 0 here: word wi had bits below it */
    UTCP_ASSERT(wb != 0);
    d = (64 - bi) + 64 * k + (uint32_t)__builtin_ctzll(wb);
  }
  return d < limit ? d : limit;
}

static void list_unlink(struct utcp_timer *t) {
  t->prev->next = t->next;
  t->next->prev = t->prev;
}

static void list_append(struct utcp_timer *head, struct utcp_timer *t) {
  t->prev = head->prev;
  t->next = head;
  head->prev->next = t;
  head->prev = t;
}

void utcp_timer_wheel_init(struct utcp_timer_wheel *w, uint64_t now) {
  UTCP_ASSERT(w != 0);
  for (uint32_t i = 0; i < UTCP_TIMER_SLOTS; i++) {
    w->slots[i].next = w->slots[i].prev = &w->slots[i];
    w->slots[i].expires_ns = 0;
  }
  for (uint32_t i = 0; i < UTCP_TIMER_SLOTS / 64; i++) w->nonempty[i] = 0;
  w->summary = 0;
  /* Ticks up to floor(now / TICK) count as processed. */
  w->tick = (now >> UTCP_TIMER_TICK_SHIFT) + 1;
  w->count = 0;
  w->work = 0;
  w->next_valid = false;
}

void utcp_timer_start(struct utcp_timer_wheel *w, struct utcp_timer *t, uint64_t expires_ns) {
  UTCP_ASSERT(sentinel_slot(w, t) == UTCP_TIMER_SLOTS);
  utcp_timer_stop(w, t);
  uint64_t tick = ceil_tick(expires_ns);
  if (tick < w->tick) tick = w->tick;
  uint32_t slot = (uint32_t)(tick & SLOT_MASK);
  t->expires_ns = expires_ns;
  list_append(&w->slots[slot], t);
  bit_set(w, slot);
  w->count++;
  /* An earlier tick than the cached first slot means that slot was empty (the scan from
   * w->tick would have stopped there), so this timer alone decides; the same tick can only
   * lower the answer; a later tick (or a later turn of the same slot) cannot change it. */
  if (w->next_valid) {
    if (tick < w->next_tick) {
      w->next_tick = tick;
      w->next_ns = expires_ns < tick_time(tick) ? expires_ns : tick_time(tick);
    } else if (tick == w->next_tick && expires_ns < w->next_ns) {
      w->next_ns = expires_ns;
    }
  }
  UTCP_ASSERT(utcp_timer_running(t));
}

void utcp_timer_stop(struct utcp_timer_wheel *w, struct utcp_timer *t) {
  if (!utcp_timer_running(t)) return;
  UTCP_ASSERT(w->count > 0);
  /* The timer sits at tick max(ceil(deadline), w->tick) (see the invariant above). While the
   * cached slot keeps a timer, the cached answer stays a valid one: no later than any deadline
   * left (it was the minimum), at worst early, and that early expiry call recomputes it. Only
   * emptying the slot invalidates it. (A slot walk on every stop of the earliest timer, the
   * delayed ACK cancelled by a reply with many connections sharing a slot, cost O(N) per
   * transaction.) */
  bool in_cached_slot = false;
  if (w->next_valid) {
    uint64_t tick = ceil_tick(t->expires_ns);
    if (tick < w->tick) tick = w->tick;
    in_cached_slot = (tick & SLOT_MASK) == (w->next_tick & SLOT_MASK);
  }
  struct utcp_timer *prev = t->prev;
  list_unlink(t);
  t->next = t->prev = 0;
  w->count--;
  /* The list became empty when the neighbour left is its own sentinel, pointing at itself. A
   * timer detached for firing sits on expire's local list, whose head is not a slot. */
  if (prev->next == prev) {
    uint32_t slot = sentinel_slot(w, prev);
    if (slot < UTCP_TIMER_SLOTS) {
      bit_clear(w, slot);
      if (in_cached_slot) w->next_valid = false;
    }
  }
}

uint64_t utcp_timer_next(const struct utcp_timer_wheel *cw) {
  if (cw->count == 0) return UINT64_MAX;
  if (cw->next_valid) return cw->next_ns;
  /* The cache is the wheel's own memory, never a const object: asking stays a const call for
   * the stack's callers. */
  struct utcp_timer_wheel *w = (struct utcp_timer_wheel *)cw;
  uint32_t from = (uint32_t)(w->tick & SLOT_MASK);
  uint32_t d = find_nonempty(w, from, UTCP_TIMER_SLOTS);
  /* Only inside a fire callback can every running timer be off the wheel, awaiting its call. */
  if (d == UTCP_TIMER_SLOTS) return UINT64_MAX;
  uint64_t tick = w->tick + d;
  /* Timers later in the list than this slot are due after tick_time(tick); this slot's timers
   * of this turn may be due earlier, and expire at their exact deadline fires them. */
  uint64_t t_ns = tick_time(tick);
  const struct utcp_timer *head = &w->slots[(from + d) & SLOT_MASK];
  for (const struct utcp_timer *t = head->next; t != head; t = t->next) {
    if (t->expires_ns < t_ns) t_ns = t->expires_ns;
  }
  UTCP_ASSERT(t_ns <= tick_time(tick));
  w->next_tick = tick;
  w->next_ns = t_ns;
  w->next_valid = true;
  return t_ns;
}

void utcp_timer_expire(struct utcp_timer_wheel *w, uint64_t now,
                       void (*fire)(void *arg, struct utcp_timer *t), void *arg) {
  UTCP_ASSERT(fire != 0);
  /* Ticks [w->tick, floor(now / TICK)] are processed whole; the slot of the tick after now's
   * may hold timers due at now too (deadline inside that tick, or already passed), so it is
   * visited as well and becomes the new w->tick. */
  uint64_t end = (now >> UTCP_TIMER_TICK_SHIFT) + 1;
  if (end < w->tick) end = w->tick; /* time went backwards: look at the current slot only */
  w->next_valid = false;
  uint64_t ticks = end - w->tick + 1;
  uint32_t span = ticks > UTCP_TIMER_SLOTS ? UTCP_TIMER_SLOTS : (uint32_t)ticks;
  uint32_t from = (uint32_t)(w->tick & SLOT_MASK);

  /* Detach the due timers first so that fire can start and stop timers freely. */
  struct utcp_timer due;
  due.next = due.prev = &due;
  due.expires_ns = 0;
  uint32_t d = 0;
  for (;;) {
    d += find_nonempty(w, (from + d) & SLOT_MASK, span - d);
    if (d >= span) break;
    uint32_t slot = (from + d) & SLOT_MASK;
    struct utcp_timer *head = &w->slots[slot];
    w->work++;
    for (struct utcp_timer *t = head->next, *next; t != head; t = next) {
      next = t->next;
      w->work++;
      if (t->expires_ns <= now) {
        list_unlink(t);
        list_append(&due, t);
      }
    }
    if (head->next == head) bit_clear(w, slot);
    d++;
  }
  w->tick = end;

  while (due.next != &due) {
    struct utcp_timer *t = due.next;
    list_unlink(t);
    t->next = t->prev = 0;
    UTCP_ASSERT(w->count > 0);
    w->count--;
    fire(arg, t);
  }
}
