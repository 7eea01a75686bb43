/* The discrete-event engine: a binary min-heap of events keyed by (virtual time, insertion
 * sequence), the trace hash, seed derivation and the registry of simulated objects. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim.h"

struct objvec {
  void **v;
  size_t n, cap;
};

struct sim {
  uint64_t seed;
  uint64_t now_ns;
  uint64_t next_seq;
  uint64_t events_run, event_limit;
  uint64_t trace_hash;
  uint32_t next_id;

  struct sim_event *heap;
  size_t heap_len, heap_cap;

  struct objvec links, nodes, switches;

  sim_observer_fn observer;
  void *observer_ctx;
  bool stopped;
};

#define FNV_OFFSET 0xcbf29ce484222325ull
#define FNV_PRIME 0x100000001b3ull

/* ---- allocation ---- */

static _Noreturn void out_of_memory(size_t size) {
  fprintf(stderr, "utcp-sim: out of memory (%zu bytes)\n", size);
  abort();
}

void *sim_xmalloc(size_t size) {
  void *p = malloc(size ? size : 1);
  if (!p) out_of_memory(size);
  return p;
}

void *sim_xcalloc(size_t n, size_t size) {
  void *p = calloc(n ? n : 1, size ? size : 1);
  if (!p) out_of_memory(n * size);
  return p;
}

char *sim_xstrdup(const char *s) {
  size_t n = strlen(s) + 1;
  char *p = sim_xmalloc(n);
  memcpy(p, s, n);
  return p;
}

static void objvec_push(struct objvec *ov, void *obj) {
  if (ov->n == ov->cap) {
    size_t cap = ov->cap ? ov->cap * 2 : 8;
    void **v = realloc(ov->v, cap * sizeof *v);
    if (!v) out_of_memory(cap * sizeof *v);
    ov->v = v;
    ov->cap = cap;
  }
  ov->v[ov->n++] = obj;
}

/* ---- lifetime ---- */

struct sim *sim_new(uint64_t seed) {
  struct sim *sim = sim_xcalloc(1, sizeof *sim);
  sim->seed = seed;
  sim->trace_hash = FNV_OFFSET;
  sim->next_id = 1;
  return sim;
}

void sim_free(struct sim *sim) {
  if (!sim) return;
  for (size_t i = 0; i < sim->heap_len; i++) free(sim->heap[i].frame);
  free(sim->heap);
  for (size_t i = 0; i < sim->nodes.n; i++) sim_node_free(sim->nodes.v[i]);
  for (size_t i = 0; i < sim->switches.n; i++) sim_switch_free(sim->switches.v[i]);
  for (size_t i = 0; i < sim->links.n; i++) sim_link_free(sim->links.v[i]);
  free(sim->nodes.v);
  free(sim->switches.v);
  free(sim->links.v);
  free(sim);
}

uint64_t sim_now(const struct sim *sim) { return sim->now_ns; }
uint64_t sim_seed(const struct sim *sim) { return sim->seed; }
size_t sim_pending(const struct sim *sim) { return sim->heap_len; }
uint64_t sim_events_run(const struct sim *sim) { return sim->events_run; }
void sim_set_event_limit(struct sim *sim, uint64_t max) { sim->event_limit = max; }

uint64_t sim_next_time(const struct sim *sim) {
  return sim->heap_len ? sim->heap[0].at_ns : SIM_NEVER;
}

uint64_t sim_seed_derive(uint64_t seed, uint64_t stream) {
  /* Two rounds of splitmix64 so nearby (seed, stream) pairs spread over the whole range. */
  uint64_t z = seed ^ (stream * 0x9e3779b97f4a7c15ull);
  for (int i = 0; i < 2; i++) {
    z += 0x9e3779b97f4a7c15ull;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
  }
  return z;
}

void sim_rng_init(const struct sim *sim, struct utcp_rng *rng, uint64_t stream) {
  utcp_rng_init(rng, sim_seed_derive(sim->seed, stream));
}

/* ---- the heap ---- */

static bool ev_before(const struct sim_event *a, const struct sim_event *b) {
  return a->at_ns < b->at_ns || (a->at_ns == b->at_ns && a->seq < b->seq);
}

static void heap_push(struct sim *sim, const struct sim_event *ev) {
  if (sim->heap_len == sim->heap_cap) {
    size_t cap = sim->heap_cap ? sim->heap_cap * 2 : 64;
    struct sim_event *h = realloc(sim->heap, cap * sizeof *h);
    if (!h) out_of_memory(cap * sizeof *h);
    sim->heap = h;
    sim->heap_cap = cap;
  }
  size_t i = sim->heap_len++;
  while (i > 0) {
    size_t parent = (i - 1) / 2;
    if (!ev_before(ev, &sim->heap[parent])) break;
    sim->heap[i] = sim->heap[parent];
    i = parent;
  }
  sim->heap[i] = *ev;
}

static struct sim_event heap_pop(struct sim *sim) {
  struct sim_event top = sim->heap[0];
  struct sim_event last = sim->heap[--sim->heap_len];
  size_t n = sim->heap_len, i = 0;
  for (;;) {
    size_t child = 2 * i + 1;
    if (child >= n) break;
    if (child + 1 < n && ev_before(&sim->heap[child + 1], &sim->heap[child])) child++;
    if (!ev_before(&sim->heap[child], &last)) break;
    sim->heap[i] = sim->heap[child];
    i = child;
  }
  if (n > 0) sim->heap[i] = last;
  return top;
}

void sim_schedule_frame(struct sim *sim, uint64_t at_ns, sim_event_fn fn, void *obj,
                        uint64_t arg, uint8_t *frame, size_t len) {
  struct sim_event ev = {
      .at_ns = at_ns < sim->now_ns ? sim->now_ns : at_ns,
      .seq = sim->next_seq++,
      .fn = fn,
      .obj = obj,
      .arg = arg,
      .frame = frame,
      .len = len,
  };
  heap_push(sim, &ev);
}

void sim_schedule(struct sim *sim, uint64_t at_ns, sim_event_fn fn, void *obj, uint64_t arg) {
  sim_schedule_frame(sim, at_ns, fn, obj, arg, NULL, 0);
}

bool sim_step(struct sim *sim, uint64_t until_ns) {
  if (sim->heap_len == 0 || sim->heap[0].at_ns > until_ns) return false;
  struct sim_event ev = heap_pop(sim);
  sim->now_ns = ev.at_ns;
  sim->events_run++;
  ev.fn(sim, &ev);
  free(ev.frame);
  return true;
}

void sim_set_observer(struct sim *sim, sim_observer_fn fn, void *ctx) {
  sim->observer = fn;
  sim->observer_ctx = ctx;
}

sim_observer_fn sim_get_observer(const struct sim *sim, void **ctx) {
  if (ctx) *ctx = sim->observer_ctx;
  return sim->observer;
}

void sim_observe(struct sim *sim, struct sim_node *node, int dir, const uint8_t *frame,
                 size_t len) {
  if (sim->observer) sim->observer(sim->observer_ctx, node, dir, frame, len, sim->now_ns);
}

void sim_stop(struct sim *sim) { sim->stopped = true; }
bool sim_stopped(const struct sim *sim) { return sim->stopped; }

int sim_run_until(struct sim *sim, uint64_t until_ns) {
  for (;;) {
    if (sim->stopped) return -1;
    if (sim->event_limit && sim->events_run >= sim->event_limit && sim->heap_len &&
        sim->heap[0].at_ns <= until_ns)
      return -1;
    if (!sim_step(sim, until_ns)) break;
  }
  if (until_ns != SIM_NEVER && until_ns > sim->now_ns) sim->now_ns = until_ns;
  return 0;
}

/* ---- trace hash ---- */

static uint64_t fnv_bytes(uint64_t h, const uint8_t *p, size_t n) {
  for (size_t i = 0; i < n; i++) {
    h ^= p[i];
    h *= FNV_PRIME;
  }
  return h;
}

static uint64_t fnv_u64(uint64_t h, uint64_t v) {
  uint8_t b[8];
  for (int i = 0; i < 8; i++) b[i] = (uint8_t)(v >> (8 * i)); /* little-endian: portable */
  return fnv_bytes(h, b, sizeof b);
}

void sim_trace(struct sim *sim, enum sim_trace_tag tag, uint32_t id, uint32_t sub,
               const void *data, size_t len) {
  uint64_t h = sim->trace_hash;
  h = fnv_u64(h, (uint64_t)tag);
  h = fnv_u64(h, sim->now_ns);
  h = fnv_u64(h, ((uint64_t)id << 32) | sub);
  h = fnv_u64(h, len);
  h = fnv_bytes(h, data, len);
  sim->trace_hash = h;
}

uint64_t sim_trace_hash(const struct sim *sim) { return sim->trace_hash; }

/* ---- registry ---- */

uint32_t sim_next_id(struct sim *sim) { return sim->next_id++; }
void sim_register_link(struct sim *sim, struct sim_link *link) { objvec_push(&sim->links, link); }
void sim_register_node(struct sim *sim, struct sim_node *node) { objvec_push(&sim->nodes, node); }
void sim_register_switch(struct sim *sim, struct sim_switch *sw) {
  objvec_push(&sim->switches, sw);
}

struct sim_link *sim_link_at(const struct sim *sim, size_t i) {
  return i < sim->links.n ? sim->links.v[i] : NULL;
}
struct sim_node *sim_node_at(const struct sim *sim, size_t i) {
  return i < sim->nodes.n ? sim->nodes.v[i] : NULL;
}
struct sim_switch *sim_switch_at(const struct sim *sim, size_t i) {
  return i < sim->switches.n ? sim->switches.v[i] : NULL;
}

int sim_pcap_all(struct sim *sim, const char *dir) {
  for (size_t i = 0; i < sim->links.n; i++) {
    struct sim_link *link = sim->links.v[i];
    size_t n = strlen(dir) + strlen(sim_link_name(link)) + 8;
    char *path = sim_xmalloc(n);
    snprintf(path, n, "%s/%s.pcap", dir, sim_link_name(link));
    int rc = sim_link_pcap_open(link, path);
    int saved = errno;
    free(path);
    if (rc < 0) {
      errno = saved;
      return -1;
    }
  }
  return 0;
}
