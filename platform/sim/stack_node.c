/* A node hosting one utcp stack. Memory comes from calloc/free; the transmit sink hands out
 * one of a few per-node scratch buffers and commit sends the frame over the node's link
 * (the link copies it, so the buffer is free again at once). The stack's events are drained
 * to the node's event callback after every frame, timer and poke. */
#include <inttypes.h>
#include <stdlib.h>

#include "sim.h"

#define TX_SLOTS 4
#define TX_SLOT_BYTES 16384 /* above the largest frame: 9000-byte MTU + 14 */
#define EVENT_BATCH 32

struct stack_node {
  struct sim_node *node;
  struct utcp_stack *stack;
  sim_stack_event_fn on_event;
  void *app;
  bool slot_busy[TX_SLOTS];
  uint8_t slot[TX_SLOTS][TX_SLOT_BYTES];
};

/* ---- environment given to the stack ---- */

static void *mem_alloc(void *ctx, size_t size) {
  (void)ctx;
  return calloc(1, size);
}

static void mem_free(void *ctx, void *ptr, size_t size) {
  (void)ctx;
  (void)size;
  free(ptr);
}

static uint8_t *sink_alloc(void *ctx, size_t cap) {
  struct stack_node *sn = ctx;
  if (cap > TX_SLOT_BYTES) return NULL;
  for (int i = 0; i < TX_SLOTS; i++) {
    if (!sn->slot_busy[i]) {
      sn->slot_busy[i] = true;
      return sn->slot[i];
    }
  }
  return NULL;
}

static void sink_commit(void *ctx, uint8_t *buf, size_t len) {
  struct stack_node *sn = ctx;
  int i = 0;
  while (i < TX_SLOTS && buf != sn->slot[i]) i++;
  if (i == TX_SLOTS || !sn->slot_busy[i]) {
    fprintf(stderr, "utcp-sim: node %s: commit of a buffer the sink did not hand out\n",
            sim_node_name(sn->node));
    abort();
  }
  sn->slot_busy[i] = false;
  if (len > 0) sim_node_send(sn->node, buf, len);
}

static void sink_flush(void *ctx) { (void)ctx; }

/* ---- node callbacks ---- */

static void drain_events(struct stack_node *sn) {
  struct utcp_event ev[EVENT_BATCH];
  uint64_t now = sim_now(sim_node_sim(sn->node));
  size_t n;
  while ((n = utcp_stack_poll_events(sn->stack, ev, EVENT_BATCH)) > 0) {
    if (!sn->on_event) continue;
    for (size_t i = 0; i < n; i++) sn->on_event(sn->node, &ev[i], now, sn->app);
  }
}

static void on_frame(struct sim_node *node, const uint8_t *frame, size_t len, uint64_t now) {
  struct stack_node *sn = sim_node_ctx(node);
  utcp_stack_input(sn->stack, frame, len, now);
  drain_events(sn);
}

static void on_timer(struct sim_node *node, uint64_t now) {
  struct stack_node *sn = sim_node_ctx(node);
  utcp_stack_on_timer(sn->stack, now);
  drain_events(sn);
}

static uint64_t next_deadline(struct sim_node *node) {
  struct stack_node *sn = sim_node_ctx(node);
  return utcp_stack_next_deadline(sn->stack);
}

static void fini(struct sim_node *node) {
  struct stack_node *sn = sim_node_ctx(node);
  utcp_stack_free(sn->stack);
  free(sn);
}

static const struct sim_node_ops stack_node_ops = {
    .on_frame = on_frame,
    .on_timer = on_timer,
    .next_deadline = next_deadline,
    .fini = fini,
};

/* ---- public ---- */

int sim_stack_node_new(struct sim *sim, const char *name, const struct utcp_stack_config *cfg,
                       sim_stack_event_fn on_event, void *app, struct sim_node **out) {
  struct stack_node *sn = sim_xcalloc(1, sizeof *sn);
  sn->on_event = on_event;
  sn->app = app;

  /* The stack's seeds come from an id of their own, taken before the node exists, so that a
   * failed stack creation leaves no node behind. */
  uint32_t seed_id = sim_next_id(sim);
  struct utcp_stack_config c = *cfg;
  c.seed = sim_seed_derive(sim_seed(sim), SIM_STREAM_NODE(seed_id));
  struct utcp_rng isn;
  sim_rng_init(sim, &isn, SIM_STREAM_ISN(seed_id));
  for (int i = 0; i < 16; i += 8) {
    uint64_t v = utcp_rng_next(&isn);
    for (int j = 0; j < 8; j++) c.isn_key[i + j] = (uint8_t)(v >> (8 * j));
  }

  struct utcp_mem mem = {.ctx = NULL, .alloc = mem_alloc, .free = mem_free};
  struct utcp_tx_sink sink = {
      .ctx = sn, .alloc = sink_alloc, .commit = sink_commit, .flush = sink_flush};
  int rc = utcp_stack_new(&c, &mem, &sink, sim_now(sim), &sn->stack);
  if (rc < 0) {
    free(sn);
    return rc;
  }
  sn->node = sim_node_new(sim, name, &stack_node_ops, sn);
  sim_node_update(sn->node);
  *out = sn->node;
  return 0;
}

struct utcp_stack *sim_stack_node_stack(struct sim_node *node) {
  struct stack_node *sn = sim_node_ctx(node);
  return sn->stack;
}

void sim_stack_node_poke(struct sim_node *node) {
  drain_events(sim_node_ctx(node));
  sim_node_update(node);
}

void sim_stack_node_print_counters(struct sim_node *node, FILE *out) {
  struct stack_node *sn = sim_node_ctx(node);
  const struct utcp_counters *c = utcp_stack_counters(sn->stack);
  for (size_t i = 0; i < UTCP_MIB_COUNT; i++) {
    uint64_t v = utcp_mib_value(c, i);
    if (v) fprintf(out, "    %-32s %" PRIu64 "\n", utcp_mib_name(i), v);
  }
  for (int r = 1; r < UTCP_DROP__COUNT; r++)
    if (c->drop[r])
      fprintf(out, "    drop %-27s %" PRIu64 "\n", utcp_drop_name((enum utcp_drop)r),
              c->drop[r]);
}
