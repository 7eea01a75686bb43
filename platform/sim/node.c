/* Nodes: a port, frame and timer callbacks, and one deduplicated timer event. The node keeps
 * the time of its pending timer event and a generation number; asking for an earlier deadline
 * schedules a new event and bumps the generation, so the superseded later event is ignored
 * when it fires. A later deadline leaves the earlier event in place: it fires, the node finds
 * nothing due, and the engine reschedules. */
#include <stdlib.h>

#include "sim.h"

struct sim_node {
  struct sim *sim;
  char *name;
  uint32_t id;
  struct sim_node_ops ops;
  void *ctx;
  struct sim_port port;
  uint64_t timer_at_ns; /* pending timer event, or SIM_NEVER */
  uint64_t timer_gen;
  uint64_t tx_unattached;
};

static void node_deliver(struct sim_port *port, const uint8_t *frame, size_t len,
                         uint64_t now) {
  struct sim_node *node = port->owner;
  sim_observe(node->sim, node, SIM_RX, frame, len);
  if (node->ops.on_frame) node->ops.on_frame(node, frame, len, now);
  sim_node_update(node);
}

static void timer_event(struct sim *sim, struct sim_event *ev) {
  struct sim_node *node = ev->obj;
  if (ev->arg != node->timer_gen) return; /* superseded by an earlier deadline */
  node->timer_at_ns = SIM_NEVER;
  if (node->ops.on_timer) node->ops.on_timer(node, sim_now(sim));
  sim_node_update(node);
}

struct sim_node *sim_node_new(struct sim *sim, const char *name, const struct sim_node_ops *ops,
                              void *ctx) {
  struct sim_node *node = sim_xcalloc(1, sizeof *node);
  node->sim = sim;
  node->name = sim_xstrdup(name);
  node->id = sim_next_id(sim);
  node->ops = *ops;
  node->ctx = ctx;
  node->port = (struct sim_port){.deliver = node_deliver, .owner = node};
  node->timer_at_ns = SIM_NEVER;
  sim_register_node(sim, node);
  return node;
}

void sim_node_free(struct sim_node *node) {
  if (!node) return;
  if (node->ops.fini) node->ops.fini(node);
  free(node->name);
  free(node);
}

void *sim_node_ctx(const struct sim_node *node) { return node->ctx; }
struct sim *sim_node_sim(const struct sim_node *node) { return node->sim; }
struct sim_port *sim_node_port(struct sim_node *node) { return &node->port; }
const char *sim_node_name(const struct sim_node *node) { return node->name; }
uint32_t sim_node_id(const struct sim_node *node) { return node->id; }
uint64_t sim_node_tx_unattached(const struct sim_node *node) { return node->tx_unattached; }

void sim_node_send(struct sim_node *node, const uint8_t *frame, size_t len) {
  sim_observe(node->sim, node, SIM_TX, frame, len);
  if (!sim_port_send(&node->port, frame, len)) node->tx_unattached++;
}

void sim_node_update(struct sim_node *node) {
  if (!node->ops.next_deadline) return;
  uint64_t at = node->ops.next_deadline(node);
  if (at == SIM_NEVER) return;
  uint64_t now = sim_now(node->sim);
  if (at < now) at = now;
  if (at >= node->timer_at_ns) return; /* the pending event comes first */
  node->timer_gen++;
  node->timer_at_ns = at;
  sim_schedule(node->sim, at, timer_event, node, node->timer_gen);
}
