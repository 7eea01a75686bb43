/* The deterministic network simulator: a discrete-event engine in virtual nanoseconds, nodes
 * (a utcp stack, or anything else with the same small interface), point-to-point links with a
 * fault model, learning switches, pcap capture and a trace hash.
 *
 * One seed drives every random choice (each link and node draws from its own stream derived
 * from it), events with equal times run in the order they were scheduled, and nothing here
 * reads a clock: the same seed and the same inputs give the same run, and the same trace hash.
 *
 * Ownership: the sim owns every node, link and switch created on it and frees them in
 * sim_free. Memory exhaustion inside the simulator aborts with a message (it is a test tool). */
#ifndef UTCP_PLATFORM_SIM_SIM_H
#define UTCP_PLATFORM_SIM_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "core/rng.h"
#include "core/stack.h"

#define SIM_NS_PER_US 1000ull
#define SIM_NS_PER_MS 1000000ull
#define SIM_NS_PER_S 1000000000ull
#define SIM_NEVER UINT64_MAX

struct sim;
struct sim_event;
struct sim_node;
struct sim_link;
struct sim_switch;

/* ======================================================================================
 * Engine
 * ====================================================================================== */

typedef void (*sim_event_fn)(struct sim *sim, struct sim_event *ev);

struct sim_event {
  uint64_t at_ns;
  uint64_t seq; /* insertion order: breaks ties between equal times */
  sim_event_fn fn;
  void *obj;
  uint64_t arg;
  uint8_t *frame; /* owned by the event; freed after fn unless fn sets it to NULL */
  size_t len;
};

/* Creates an empty simulation at virtual time 0 driven by `seed`. */
struct sim *sim_new(uint64_t seed);
/* Frees the simulation with every node, link, switch and pending event. NULL is allowed. */
void sim_free(struct sim *sim);

/* Current virtual time. */
uint64_t sim_now(const struct sim *sim);
/* The seed the simulation was created with. */
uint64_t sim_seed(const struct sim *sim);
/* A 64-bit value derived from (seed, stream) by splitmix64: distinct streams look unrelated. */
uint64_t sim_seed_derive(uint64_t seed, uint64_t stream);
/* Seeds rng with the simulation's stream `stream`. */
void sim_rng_init(const struct sim *sim, struct utcp_rng *rng, uint64_t stream);

/* Schedules fn(sim, ev) at at_ns (>= now; earlier is clamped to now). */
void sim_schedule(struct sim *sim, uint64_t at_ns, sim_event_fn fn, void *obj, uint64_t arg);
/* Like sim_schedule, and the event takes ownership of `frame` (from malloc). */
void sim_schedule_frame(struct sim *sim, uint64_t at_ns, sim_event_fn fn, void *obj,
                        uint64_t arg, uint8_t *frame, size_t len);
/* Events not yet run. */
size_t sim_pending(const struct sim *sim);
/* Time of the earliest pending event, or SIM_NEVER. */
uint64_t sim_next_time(const struct sim *sim);
/* Events run so far. */
uint64_t sim_events_run(const struct sim *sim);

/* Runs the earliest event if it is due at or before until_ns; false when there is none. */
bool sim_step(struct sim *sim, uint64_t until_ns);
/* Runs every event due at or before until_ns, then advances the clock to until_ns (unless it
 * is SIM_NEVER). Returns 0, or -1 when the event limit stopped the run. */
int sim_run_until(struct sim *sim, uint64_t until_ns);
/* Makes sim_run_until stop with -1 after `max` events in total (a livelock guard); 0: none. */
void sim_set_event_limit(struct sim *sim, uint64_t max);

/* Sees every frame a node sends (dir SIM_TX, before any link fault) and every frame
 * delivered to a node (dir SIM_RX): the hook the end-to-end checkers use. */
enum { SIM_TX = 0, SIM_RX = 1 };
typedef void (*sim_observer_fn)(void *ctx, struct sim_node *node, int dir, const uint8_t *frame,
                                size_t len, uint64_t now);
/* Installs the one observer (NULL removes it). */
void sim_set_observer(struct sim *sim, sim_observer_fn fn, void *ctx);
/* The installed observer (NULL: none) and its context in *ctx: lets a second watcher (the
 * connection trace, trace.h) install itself and pass every frame on to the first. */
sim_observer_fn sim_get_observer(const struct sim *sim, void **ctx);
/* Called by nodes for each frame sent or delivered. */
void sim_observe(struct sim *sim, struct sim_node *node, int dir, const uint8_t *frame,
                 size_t len);
/* Makes sim_run_until return -1 from now on (a checker found a violation). */
void sim_stop(struct sim *sim);
bool sim_stopped(const struct sim *sim);

/* Trace tags mixed into the trace hash. */
enum sim_trace_tag {
  SIM_TRACE_SEND = 'S',    /* a frame handed to a link */
  SIM_TRACE_DELIVER = 'D', /* a frame delivered by a link */
  SIM_TRACE_DROP = 'X',    /* a frame dropped by a link or switch (id, reason) */
};
/* Mixes (tag, now, id, sub, data) into the trace hash (FNV-1a, 64 bit). */
void sim_trace(struct sim *sim, enum sim_trace_tag tag, uint32_t id, uint32_t sub,
               const void *data, size_t len);
/* The trace hash so far. */
uint64_t sim_trace_hash(const struct sim *sim);

/* Opens DIR/<link-name>.pcap for every link that exists now. Returns 0, or -1 (errno set)
 * when a file cannot be created; links already opened keep capturing. */
int sim_pcap_all(struct sim *sim, const char *dir);

/* Iteration for reports: the i-th link / node / switch in creation order, or NULL. */
struct sim_link *sim_link_at(const struct sim *sim, size_t i);
struct sim_node *sim_node_at(const struct sim *sim, size_t i);
struct sim_switch *sim_switch_at(const struct sim *sim, size_t i);

/* Calls malloc/calloc and aborts with a message when they fail. */
void *sim_xmalloc(size_t size);
void *sim_xcalloc(size_t n, size_t size);
char *sim_xstrdup(const char *s);

/* ======================================================================================
 * Ports: where a link ends (a node's interface, a switch port)
 * ====================================================================================== */

struct sim_port {
  /* Called when a frame arrives over the attached link; the frame is borrowed for the call. */
  void (*deliver)(struct sim_port *port, const uint8_t *frame, size_t len, uint64_t now);
  void *owner;
  int index;             /* owner's port number */
  struct sim_link *link; /* set by sim_link_new; NULL while unattached */
  int side;              /* which end of `link` this port is (0 or 1) */
};

/* Sends a frame out of a port over its link (copied). Returns false when unattached. */
bool sim_port_send(struct sim_port *port, const uint8_t *frame, size_t len);

/* ======================================================================================
 * Links: two ends; each direction has its own parameters, state, PRNG and counters
 * ====================================================================================== */

/* A probability as an integer ratio: num/den; 0/x never, x/x always. */
struct sim_ratio {
  uint32_t num, den;
};

struct sim_link_params {
  uint64_t delay_ns;           /* propagation delay */
  uint64_t jitter_ns;          /* extra delay uniform in [0, jitter_ns] per frame */
  uint64_t rate_bps;           /* serialisation rate; 0: infinitely fast */
  uint64_t queue_limit_bytes;  /* tail drop above this many bytes awaiting/in serialisation;
                                  0: unlimited */
  uint32_t mtu;                /* frames longer than mtu + 14 are dropped; 0: no limit */
  struct sim_ratio loss;       /* frame lost on the wire (after serialisation) */
  struct sim_ratio dup;        /* frame delivered twice */
  struct sim_ratio reorder;    /* frame held back by reorder_delay_ns */
  struct sim_ratio corrupt;    /* one random bit of the frame flipped */
  uint64_t reorder_delay_ns;
};

/* Defaults: 0 delay and jitter, 1 Gbit/s, 1 MiB queue, MTU 1500, no faults, 1 ms reorder. */
void sim_link_params_default(struct sim_link_params *p);

/* X(field, description): one counter per outcome, per direction. */
#define SIM_LINK_STATS_LIST(X)                                          \
  X(frames_in, "frames handed to the link")                             \
  X(bytes_in, "bytes handed to the link")                               \
  X(delivered, "frames delivered")                                      \
  X(bytes_delivered, "bytes delivered")                                 \
  X(drop_down, "dropped: link down when sent")                          \
  X(drop_down_in_flight, "dropped: link went down while in flight")     \
  X(drop_mtu, "dropped: longer than MTU + 14")                          \
  X(drop_queue, "dropped: queue limit (tail drop)")                     \
  X(drop_loss, "dropped: random loss")                                  \
  X(duplicated, "frames duplicated")                                    \
  X(reordered, "frames held back (reordering)")                         \
  X(corrupted, "frames with a flipped bit")

struct sim_link_stats {
#define SIM_LINK_STATS_FIELD(f, d) uint64_t f;
  SIM_LINK_STATS_LIST(SIM_LINK_STATS_FIELD)
#undef SIM_LINK_STATS_FIELD
};

/* Creates a link between ports a (side 0) and b (side 1); direction 0 carries a -> b with
 * `ab`, direction 1 carries b -> a with `ba` (NULL: same as ab). Both ports must be
 * unattached. The link starts up. */
struct sim_link *sim_link_new(struct sim *sim, const char *name,
                              const struct sim_link_params *ab,
                              const struct sim_link_params *ba, struct sim_port *a,
                              struct sim_port *b);
/* Offers a frame (copied) to the direction leaving `side`. */
void sim_link_send(struct sim_link *link, int side, const uint8_t *frame, size_t len);
/* Takes the link (both directions) up or down now. */
void sim_link_set_up(struct sim_link *link, bool up);
/* Schedules sim_link_set_up(link, up) at at_ns. */
void sim_link_schedule_up(struct sim_link *link, uint64_t at_ns, bool up);
/* Whether the link is up. */
bool sim_link_is_up(const struct sim_link *link);
/* Counters of direction dir (0: a -> b, 1: b -> a). */
const struct sim_link_stats *sim_link_stats(const struct sim_link *link, int dir);
/* Parameters of direction dir; may be changed between events. */
struct sim_link_params *sim_link_params(struct sim_link *link, int dir);
const char *sim_link_name(const struct sim_link *link);
uint32_t sim_link_id(const struct sim_link *link);
/* Captures every frame offered to the link, both directions, into a new pcap file.
 * Returns 0 or -1 (errno set). */
int sim_link_pcap_open(struct sim_link *link, const char *path);
/* Prints the non-zero counters of both directions, one line each. */
void sim_link_print(const struct sim_link *link, FILE *out);

/* ======================================================================================
 * Learning switch: N ports; floods broadcast, multicast and unknown unicast
 * ====================================================================================== */

struct sim_switch_stats {
  uint64_t frames_in, forwarded, flooded, filtered, drop_runt;
};

/* Creates a switch with nports ports (each to be connected with sim_link_new). */
struct sim_switch *sim_switch_new(struct sim *sim, const char *name, int nports);
/* Port i of the switch. */
struct sim_port *sim_switch_port(struct sim_switch *sw, int i);
const struct sim_switch_stats *sim_switch_stats(const struct sim_switch *sw);
const char *sim_switch_name(const struct sim_switch *sw);
/* Port the switch has learned for mac, or -1. */
int sim_switch_lookup(const struct sim_switch *sw, const uint8_t mac[6]);
/* Prints the switch counters on one line. */
void sim_switch_print(const struct sim_switch *sw, FILE *out);

/* ======================================================================================
 * Nodes: one network interface (a port) plus frame and timer callbacks
 * ====================================================================================== */

struct sim_node_ops {
  /* A frame arrived on the node's port (borrowed for the call). */
  void (*on_frame)(struct sim_node *node, const uint8_t *frame, size_t len, uint64_t now);
  /* The deadline the node asked for has come (may be called early; then do nothing). */
  void (*on_timer)(struct sim_node *node, uint64_t now);
  /* When on_timer is next needed; SIM_NEVER for never. May be NULL. */
  uint64_t (*next_deadline)(struct sim_node *node);
  /* Frees the node's ctx at sim_free. May be NULL. */
  void (*fini)(struct sim_node *node);
};

/* Creates a node with a (not yet attached) port. ops is copied; ctx belongs to the node. */
struct sim_node *sim_node_new(struct sim *sim, const char *name, const struct sim_node_ops *ops,
                              void *ctx);
void *sim_node_ctx(const struct sim_node *node);
struct sim *sim_node_sim(const struct sim_node *node);
struct sim_port *sim_node_port(struct sim_node *node);
const char *sim_node_name(const struct sim_node *node);
uint32_t sim_node_id(const struct sim_node *node);
/* Sends a frame (copied) out of the node's port; an unattached port drops and counts it. */
void sim_node_send(struct sim_node *node, const uint8_t *frame, size_t len);
/* Asks the node for its next deadline and schedules one timer event for it (an earlier
 * pending timer event stays; a later one is superseded). The engine calls this after every
 * frame and timer; call it after calling into a node from outside. */
void sim_node_update(struct sim_node *node);
/* Frames sent while the port was unattached. */
uint64_t sim_node_tx_unattached(const struct sim_node *node);

/* ---- A node hosting a utcp stack (stack_node.c) ---- */

/* Receives the stack's events, drained after every frame, timer and poke. */
typedef void (*sim_stack_event_fn)(struct sim_node *node, const struct utcp_event *ev,
                                   uint64_t now, void *app);

/* Creates a node hosting a utcp stack built from cfg; cfg->seed and cfg->isn_key are replaced
 * by values derived from the simulation seed and the node id. on_event may be NULL (events are
 * then discarded). Returns 0 or the error of utcp_stack_new. */
int sim_stack_node_new(struct sim *sim, const char *name, const struct utcp_stack_config *cfg,
                       sim_stack_event_fn on_event, void *app, struct sim_node **out);
/* The node's stack, for application calls. */
struct utcp_stack *sim_stack_node_stack(struct sim_node *node);
/* After application calls on the stack: drains its events and reschedules its timer. */
void sim_stack_node_poke(struct sim_node *node);
/* Prints the stack's non-zero MIB and drop counters, one per line, indented. */
void sim_stack_node_print_counters(struct sim_node *node, FILE *out);

/* ======================================================================================
 * pcap writer (classic libpcap format, LINKTYPE_ETHERNET, microsecond timestamps)
 * ====================================================================================== */

struct sim_pcap;

/* Creates the file and writes the global header; NULL (errno set) on failure. */
struct sim_pcap *sim_pcap_open(const char *path);
/* Appends one record stamped with virtual time t_ns. */
void sim_pcap_write(struct sim_pcap *pcap, uint64_t t_ns, const uint8_t *frame, size_t len);
/* Closes the file. NULL is allowed. Returns 0, or -1 when a write had failed. */
int sim_pcap_close(struct sim_pcap *pcap);

/* ======================================================================================
 * Internal registration (used by link.c, switch.c, node code)
 * ====================================================================================== */

/* Next object id (links, nodes and switches share one sequence). */
uint32_t sim_next_id(struct sim *sim);
void sim_register_link(struct sim *sim, struct sim_link *link);
void sim_register_node(struct sim *sim, struct sim_node *node);
void sim_register_switch(struct sim *sim, struct sim_switch *sw);
/* Frees one link, node, switch (called by sim_free). */
void sim_link_free(struct sim_link *link);
void sim_node_free(struct sim_node *node);
void sim_switch_free(struct sim_switch *sw);

/* Stream ids for sim_rng_init / sim_seed_derive: kind in the top byte, object id below. */
#define SIM_STREAM_LINK(id, dir) ((1ull << 56) | ((uint64_t)(id) << 1) | (uint64_t)(dir))
#define SIM_STREAM_NODE(id) ((2ull << 56) | (uint64_t)(id))
#define SIM_STREAM_ISN(id) ((3ull << 56) | (uint64_t)(id))

#endif
