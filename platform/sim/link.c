/* Point-to-point links. Each direction is independent: its own parameters, PRNG stream,
 * serialisation queue and counters. A frame offered to a direction goes through, in order:
 *   down?  -> drop_down
 *   longer than mtu + 14?  -> drop_mtu
 *   bytes awaiting serialisation + len > queue limit?  -> drop_queue (tail drop)
 *   serialisation: starts when the previous frame is done (busy_until), takes len*8/rate
 *   loss?  -> drop_loss (the frame still used its serialisation time)
 *   arrival = end of serialisation + delay + uniform jitter [+ reorder delay]
 *   corruption flips one bit of an IPv4 frame's IP packet; duplication delivers a second copy at the same time
 * A frame in flight when the link goes down (even if it comes back up) is dropped on
 * arrival (drop_down_in_flight). Serialisation counts the frame's bytes only (no preamble,
 * FCS or inter-frame gap). */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "sim.h"

struct txq_entry {
  uint64_t done_ns;
  size_t len;
};

struct link_dir {
  struct sim_link_params p;
  struct sim_link_stats st;
  struct utcp_rng rng;
  uint64_t busy_until_ns;
  /* Frames not yet fully serialised, oldest first (a ring). */
  struct txq_entry *q;
  size_t q_head, q_len, q_cap;
  uint64_t queued_bytes;
};

struct sim_link {
  struct sim *sim;
  char *name;
  uint32_t id;
  bool up;
  uint64_t down_epoch; /* incremented each time the link goes down */
  struct sim_port *end[2];
  struct link_dir dir[2];
  struct sim_pcap *pcap;
};

enum drop_reason { DROP_DOWN = 1, DROP_DOWN_IN_FLIGHT, DROP_MTU, DROP_QUEUE, DROP_LOSS };

void sim_link_params_default(struct sim_link_params *p) {
  *p = (struct sim_link_params){
      .rate_bps = 1000000000ull,
      .queue_limit_bytes = 1u << 20,
      .mtu = 1500,
      .loss = {0, 1},
      .dup = {0, 1},
      .reorder = {0, 1},
      .corrupt = {0, 1},
      .reorder_delay_ns = SIM_NS_PER_MS,
  };
}

struct sim_link *sim_link_new(struct sim *sim, const char *name,
                              const struct sim_link_params *ab,
                              const struct sim_link_params *ba, struct sim_port *a,
                              struct sim_port *b) {
  if (a->link || b->link) {
    fprintf(stderr, "utcp-sim: link %s: port already attached\n", name);
    abort();
  }
  struct sim_link *link = sim_xcalloc(1, sizeof *link);
  link->sim = sim;
  link->name = sim_xstrdup(name);
  link->id = sim_next_id(sim);
  link->up = true;
  link->end[0] = a;
  link->end[1] = b;
  link->dir[0].p = *ab;
  link->dir[1].p = ba ? *ba : *ab;
  for (int d = 0; d < 2; d++) sim_rng_init(sim, &link->dir[d].rng, SIM_STREAM_LINK(link->id, d));
  a->link = link;
  a->side = 0;
  b->link = link;
  b->side = 1;
  sim_register_link(sim, link);
  return link;
}

void sim_link_free(struct sim_link *link) {
  if (!link) return;
  if (sim_pcap_close(link->pcap) < 0)
    fprintf(stderr, "utcp-sim: link %s: writing the pcap failed\n", link->name);
  for (int d = 0; d < 2; d++) free(link->dir[d].q);
  free(link->name);
  free(link);
}

const char *sim_link_name(const struct sim_link *link) { return link->name; }
uint32_t sim_link_id(const struct sim_link *link) { return link->id; }
bool sim_link_is_up(const struct sim_link *link) { return link->up; }

const struct sim_link_stats *sim_link_stats(const struct sim_link *link, int dir) {
  return &link->dir[dir & 1].st;
}

struct sim_link_params *sim_link_params(struct sim_link *link, int dir) {
  return &link->dir[dir & 1].p;
}

int sim_link_pcap_open(struct sim_link *link, const char *path) {
  struct sim_pcap *pcap = sim_pcap_open(path);
  if (!pcap) return -1;
  sim_pcap_close(link->pcap);
  link->pcap = pcap;
  return 0;
}

/* ---- up/down ---- */

void sim_link_set_up(struct sim_link *link, bool up) {
  if (link->up && !up) link->down_epoch++;
  link->up = up;
}

static void updown_event(struct sim *sim, struct sim_event *ev) {
  (void)sim;
  sim_link_set_up(ev->obj, ev->arg != 0);
}

void sim_link_schedule_up(struct sim_link *link, uint64_t at_ns, bool up) {
  sim_schedule(link->sim, at_ns, updown_event, link, up ? 1 : 0);
}

/* ---- the serialisation queue ---- */

static void txq_expire(struct link_dir *d, uint64_t now) {
  while (d->q_len && d->q[d->q_head].done_ns <= now) {
    d->queued_bytes -= d->q[d->q_head].len;
    d->q_head = (d->q_head + 1) % d->q_cap;
    d->q_len--;
  }
}

static void txq_push(struct link_dir *d, uint64_t done_ns, size_t len) {
  if (d->q_len == d->q_cap) {
    size_t cap = d->q_cap ? d->q_cap * 2 : 16;
    struct txq_entry *q = sim_xmalloc(cap * sizeof *q);
    for (size_t i = 0; i < d->q_len; i++) q[i] = d->q[(d->q_head + i) % d->q_cap];
    free(d->q);
    d->q = q;
    d->q_head = 0;
    d->q_cap = cap;
  }
  d->q[(d->q_head + d->q_len) % d->q_cap] = (struct txq_entry){done_ns, len};
  d->q_len++;
  d->queued_bytes += len;
}

static uint64_t serialisation_ns(size_t len, uint64_t rate_bps) {
  if (rate_bps == 0) return 0;
  return ((uint64_t)len * 8u * SIM_NS_PER_S + rate_bps - 1) / rate_bps; /* rounded up */
}

static bool chance(struct link_dir *d, struct sim_ratio r) {
  if (r.num == 0 || r.den == 0) return false;
  return utcp_rng_chance(&d->rng, r.num, r.den) != 0;
}

/* ---- send and deliver ---- */

static void drop(struct sim_link *link, int side, enum drop_reason reason) {
  sim_trace(link->sim, SIM_TRACE_DROP, link->id, ((uint32_t)side << 8) | reason, NULL, 0);
}

static void deliver_event(struct sim *sim, struct sim_event *ev) {
  struct sim_link *link = ev->obj;
  int side = (int)(ev->arg & 1);
  struct link_dir *d = &link->dir[side];
  if (!link->up || link->down_epoch != ev->arg >> 1) {
    d->st.drop_down_in_flight++;
    drop(link, side, DROP_DOWN_IN_FLIGHT);
    return;
  }
  d->st.delivered++;
  d->st.bytes_delivered += ev->len;
  sim_trace(sim, SIM_TRACE_DELIVER, link->id, (uint32_t)side, ev->frame, ev->len);
  struct sim_port *to = link->end[1 - side];
  to->deliver(to, ev->frame, ev->len, sim_now(sim));
}

static uint8_t *copy_frame(const uint8_t *frame, size_t len) {
  uint8_t *c = sim_xmalloc(len);
  if (len) memcpy(c, frame, len);
  return c;
}

void sim_link_send(struct sim_link *link, int side, const uint8_t *frame, size_t len) {
  struct sim *sim = link->sim;
  struct link_dir *d = &link->dir[side & 1];
  uint64_t now = sim_now(sim);

  d->st.frames_in++;
  d->st.bytes_in += len;
  sim_trace(sim, SIM_TRACE_SEND, link->id, (uint32_t)side, frame, len);
  if (link->pcap) sim_pcap_write(link->pcap, now, frame, len);

  if (!link->up) {
    d->st.drop_down++;
    drop(link, side, DROP_DOWN);
    return;
  }
  if (d->p.mtu && len > (size_t)d->p.mtu + 14) {
    d->st.drop_mtu++;
    drop(link, side, DROP_MTU);
    return;
  }
  txq_expire(d, now);
  if (d->p.queue_limit_bytes && d->queued_bytes + len > d->p.queue_limit_bytes) {
    d->st.drop_queue++;
    drop(link, side, DROP_QUEUE);
    return;
  }
  uint64_t start = d->busy_until_ns > now ? d->busy_until_ns : now;
  d->busy_until_ns = start + serialisation_ns(len, d->p.rate_bps);
  txq_push(d, d->busy_until_ns, len);

  if (chance(d, d->p.loss)) {
    d->st.drop_loss++;
    drop(link, side, DROP_LOSS);
    return;
  }
  uint64_t at = d->busy_until_ns + d->p.delay_ns;
  if (d->p.jitter_ns) at += utcp_rng_below(&d->rng, d->p.jitter_ns + 1);
  if (chance(d, d->p.reorder)) {
    d->st.reordered++;
    at += d->p.reorder_delay_ns;
  }
  uint8_t *copy = copy_frame(frame, len);
  /* Corruption models errors that slip past the Ethernet FCS, for the IPv4 and TCP checksums
   * to catch: only the IPv4 packet of an IPv4 frame is hit. ARP has no checksum of its own, and
   * a flipped ARP address would poison a cache for its whole lifetime (real links' FCS stops
   * that), so ARP and other frames are spared. */
  bool ipv4 = len > 14 && frame[12] == 0x08 && frame[13] == 0x00;
  if (ipv4 && chance(d, d->p.corrupt)) {
    uint64_t bit = 14 * 8 + utcp_rng_below(&d->rng, (uint64_t)(len - 14) * 8);
    copy[bit / 8] ^= (uint8_t)(1u << (bit % 8));
    d->st.corrupted++;
  }
  uint64_t arg = (link->down_epoch << 1) | (uint64_t)(side & 1);
  bool dup = chance(d, d->p.dup);
  uint8_t *second = dup ? copy_frame(copy, len) : NULL;
  sim_schedule_frame(sim, at, deliver_event, link, arg, copy, len);
  if (dup) {
    d->st.duplicated++;
    sim_schedule_frame(sim, at, deliver_event, link, arg, second, len);
  }
}

bool sim_port_send(struct sim_port *port, const uint8_t *frame, size_t len) {
  if (!port->link) return false;
  sim_link_send(port->link, port->side, frame, len);
  return true;
}

void sim_link_print(const struct sim_link *link, FILE *out) {
  static const char *const dir_name[2] = {"a->b", "b->a"};
  for (int d = 0; d < 2; d++) {
    const struct sim_link_stats *st = &link->dir[d].st;
    fprintf(out, "  %s %s:", link->name, dir_name[d]);
#define SIM_LINK_STATS_PRINT(f, desc) \
  if (st->f) fprintf(out, " " #f "=%" PRIu64, st->f);
    SIM_LINK_STATS_LIST(SIM_LINK_STATS_PRINT)
#undef SIM_LINK_STATS_PRINT
    fprintf(out, "\n");
  }
}
