/* Unit tests of the simulator engine (platform/sim) without a utcp stack: event ordering,
 * link timing and faults, the switch, node timers, pcap output, determinism. */
#include <stdlib.h>
#include <unistd.h>

#include "platform/sim/sim.h"
#include "test.h"

#define MS SIM_NS_PER_MS

/* ---- helpers: a port that records what it receives ---- */

#define RX_MAX 4096

struct rx {
  struct sim_port port;
  size_t n;
  uint64_t at[RX_MAX];
  size_t len[RX_MAX];
  uint8_t first[RX_MAX]; /* first byte of each frame: the frame's tag in these tests */
  uint8_t last_frame[2048];
};

static void rx_deliver(struct sim_port *port, const uint8_t *frame, size_t len, uint64_t now) {
  struct rx *rx = port->owner;
  if (rx->n < RX_MAX) {
    rx->at[rx->n] = now;
    rx->len[rx->n] = len;
    rx->first[rx->n] = len ? frame[0] : 0;
  }
  rx->n++;
  memcpy(rx->last_frame, frame, len < sizeof rx->last_frame ? len : sizeof rx->last_frame);
}

static struct rx *rx_new(void) {
  struct rx *rx = calloc(1, sizeof *rx);
  rx->port = (struct sim_port){.deliver = rx_deliver, .owner = rx};
  return rx;
}

static struct sim_link_params params(void) {
  struct sim_link_params p;
  sim_link_params_default(&p);
  return p;
}

static uint8_t frame_buf[1600];

/* Sends a frame of len bytes whose first byte is `tag` from side 0 of link. */
/* A frame of 0xab bytes with a tag in byte 0 and the IPv4 EtherType (the link corrupts only
 * IPv4 frames, and only past the Ethernet header). */
static void send_tagged(struct sim_link *link, size_t len, uint8_t tag) {
  memset(frame_buf, 0xab, len);
  frame_buf[0] = tag;
  if (len > 14) {
    frame_buf[12] = 0x08;
    frame_buf[13] = 0x00;
  }
  sim_link_send(link, 0, frame_buf, len);
}

/* A send scheduled as an event (so frames leave at a chosen virtual time). */
static void send_event(struct sim *sim, struct sim_event *ev) {
  (void)sim;
  send_tagged(ev->obj, (size_t)(ev->arg & 0xffff), (uint8_t)(ev->arg >> 16));
}

/* ---- engine ---- */

struct order_log {
  size_t n;
  uint64_t at[1000];
  uint64_t idx[1000];
};

static void log_event(struct sim *sim, struct sim_event *ev) {
  struct order_log *log = ev->obj;
  log->at[log->n] = sim_now(sim);
  log->idx[log->n] = ev->arg;
  log->n++;
}

TEST(test_sim_heap_orders_by_time_then_insertion) {
  struct sim *sim = sim_new(1);
  struct order_log *log = calloc(1, sizeof *log);
  struct utcp_rng rng;
  utcp_rng_init(&rng, 42);
  uint64_t when[1000];
  for (uint64_t i = 0; i < 1000; i++) {
    when[i] = utcp_rng_below(&rng, 50); /* many ties */
    sim_schedule(sim, when[i], log_event, log, i);
  }
  CHECK_EQ(sim_pending(sim), 1000);
  CHECK_EQ(sim_run_until(sim, SIM_NEVER), 0);
  REQUIRE(log->n == 1000);
  for (size_t k = 0; k < 1000; k++) CHECK_EQ(log->at[k], when[log->idx[k]]);
  for (size_t k = 1; k < 1000; k++) {
    CHECK(log->at[k - 1] <= log->at[k]);
    if (log->at[k - 1] == log->at[k]) CHECK(log->idx[k - 1] < log->idx[k]);
  }
  CHECK_EQ(sim_pending(sim), 0);
  free(log);
  sim_free(sim);
}

TEST(test_sim_run_until_stops_and_advances_clock) {
  struct sim *sim = sim_new(1);
  struct order_log *log = calloc(1, sizeof *log);
  sim_schedule(sim, 10, log_event, log, 0);
  sim_schedule(sim, 20, log_event, log, 1);
  sim_schedule(sim, 30, log_event, log, 2);
  CHECK_EQ(sim_run_until(sim, 20), 0);
  CHECK_EQ(log->n, 2);
  CHECK_EQ(sim_now(sim), 20);
  CHECK_EQ(sim_next_time(sim), 30);
  CHECK_EQ(sim_run_until(sim, 25), 0);
  CHECK_EQ(sim_now(sim), 25);
  /* An event in the past is clamped to now. */
  sim_schedule(sim, 5, log_event, log, 3);
  CHECK_EQ(sim_next_time(sim), 25);
  CHECK_EQ(sim_run_until(sim, SIM_NEVER), 0);
  CHECK_EQ(log->n, 4);
  CHECK_EQ(log->idx[2], 3);
  CHECK_EQ(log->at[2], 25);
  CHECK_EQ(sim_events_run(sim), 4);
  free(log);
  sim_free(sim);
}

static void reschedule_forever(struct sim *sim, struct sim_event *ev) {
  sim_schedule(sim, sim_now(sim), reschedule_forever, ev->obj, 0);
}

TEST(test_sim_event_limit_stops_livelock) {
  struct sim *sim = sim_new(1);
  sim_set_event_limit(sim, 1000);
  sim_schedule(sim, 0, reschedule_forever, NULL, 0);
  CHECK_EQ(sim_run_until(sim, SIM_NEVER), -1);
  CHECK_EQ(sim_events_run(sim), 1000);
  sim_free(sim); /* frees the pending event */
}

TEST(test_sim_seed_derive_streams_differ) {
  CHECK(sim_seed_derive(1, 1) != sim_seed_derive(1, 2));
  CHECK(sim_seed_derive(1, 1) != sim_seed_derive(2, 1));
  CHECK(sim_seed_derive(1, SIM_STREAM_LINK(1, 0)) != sim_seed_derive(1, SIM_STREAM_LINK(1, 1)));
  CHECK_EQ(sim_seed_derive(7, 9), sim_seed_derive(7, 9));
}

/* ---- links: timing ---- */

TEST(test_sim_link_delay_and_rate) {
  struct sim *sim = sim_new(1);
  struct rx *a = rx_new(), *b = rx_new();
  struct sim_link_params p = params();
  p.rate_bps = 1000000; /* 1 Mbit/s: 1500 bytes take 12 ms */
  p.delay_ns = 5 * MS;
  struct sim_link *link = sim_link_new(sim, "l", &p, NULL, &a->port, &b->port);
  send_tagged(link, 1500, 1);
  send_tagged(link, 1500, 2); /* queues behind the first */
  CHECK_EQ(sim_run_until(sim, SIM_NEVER), 0);
  REQUIRE(b->n == 2);
  CHECK_EQ(b->at[0], 12 * MS + 5 * MS);
  CHECK_EQ(b->at[1], 24 * MS + 5 * MS);
  CHECK_EQ(b->first[0], 1);
  CHECK_EQ(b->first[1], 2);
  CHECK_EQ(a->n, 0);
  /* After the link went idle, serialisation starts at the send time again. */
  sim_schedule(sim, 100 * MS, send_event, link, (3u << 16) | 125); /* 125 bytes: 1 ms */
  CHECK_EQ(sim_run_until(sim, SIM_NEVER), 0);
  REQUIRE(b->n == 3);
  CHECK_EQ(b->at[2], 100 * MS + 1 * MS + 5 * MS);
  const struct sim_link_stats *st = sim_link_stats(link, 0);
  CHECK_EQ(st->frames_in, 3);
  CHECK_EQ(st->delivered, 3);
  CHECK_EQ(st->bytes_delivered, 3125);
  sim_free(sim);
  free(a);
  free(b);
}

TEST(test_sim_link_directions_independent) {
  struct sim *sim = sim_new(1);
  struct rx *a = rx_new(), *b = rx_new();
  struct sim_link_params ab = params(), ba = params();
  ab.delay_ns = 3 * MS;
  ab.rate_bps = 0;
  ba.delay_ns = 7 * MS;
  ba.rate_bps = 0;
  struct sim_link *link = sim_link_new(sim, "l", &ab, &ba, &a->port, &b->port);
  uint8_t f[60] = {9};
  CHECK(sim_port_send(&a->port, f, sizeof f));
  CHECK(sim_port_send(&b->port, f, sizeof f));
  CHECK_EQ(sim_run_until(sim, SIM_NEVER), 0);
  REQUIRE(a->n == 1 && b->n == 1);
  CHECK_EQ(b->at[0], 3 * MS);
  CHECK_EQ(a->at[0], 7 * MS);
  CHECK_EQ(sim_link_stats(link, 0)->delivered, 1);
  CHECK_EQ(sim_link_stats(link, 1)->delivered, 1);
  sim_free(sim);
  free(a);
  free(b);
}

TEST(test_sim_link_jitter_within_bounds) {
  struct sim *sim = sim_new(3);
  struct rx *a = rx_new(), *b = rx_new();
  struct sim_link_params p = params();
  p.rate_bps = 0;
  p.delay_ns = 10 * MS;
  p.jitter_ns = 2 * MS;
  struct sim_link *link = sim_link_new(sim, "l", &p, NULL, &a->port, &b->port);
  for (int i = 0; i < 1000; i++) send_tagged(link, 60, 0);
  CHECK_EQ(sim_run_until(sim, SIM_NEVER), 0);
  REQUIRE(b->n == 1000);
  uint64_t lo = UINT64_MAX, hi = 0;
  for (size_t i = 0; i < b->n; i++) {
    if (b->at[i] < lo) lo = b->at[i];
    if (b->at[i] > hi) hi = b->at[i];
  }
  CHECK(lo >= 10 * MS);
  CHECK(hi <= 12 * MS);
  CHECK(hi - lo > 1 * MS); /* the jitter is actually spread */
  sim_free(sim);
  free(a);
  free(b);
}

/* ---- links: drops ---- */

TEST(test_sim_link_queue_limit_tail_drop) {
  struct sim *sim = sim_new(1);
  struct rx *a = rx_new(), *b = rx_new();
  struct sim_link_params p = params();
  p.rate_bps = 1000000;
  p.queue_limit_bytes = 3000; /* two 1500-byte frames */
  struct sim_link *link = sim_link_new(sim, "l", &p, NULL, &a->port, &b->port);
  for (uint8_t i = 0; i < 5; i++) send_tagged(link, 1500, i);
  const struct sim_link_stats *st = sim_link_stats(link, 0);
  CHECK_EQ(st->drop_queue, 3);
  /* At 12 ms the first frame is serialised: room for exactly one more. */
  sim_schedule(sim, 12 * MS, send_event, link, (5u << 16) | 1500);
  sim_schedule(sim, 12 * MS, send_event, link, (6u << 16) | 1500);
  CHECK_EQ(sim_run_until(sim, SIM_NEVER), 0);
  CHECK_EQ(st->drop_queue, 4);
  REQUIRE(b->n == 3);
  CHECK_EQ(b->first[0], 0);
  CHECK_EQ(b->first[1], 1);
  CHECK_EQ(b->first[2], 5);
  CHECK_EQ(b->at[2], 36 * MS);
  CHECK_EQ(st->frames_in, 7);
  sim_free(sim);
  free(a);
  free(b);
}

TEST(test_sim_link_mtu_drop) {
  struct sim *sim = sim_new(1);
  struct rx *a = rx_new(), *b = rx_new();
  struct sim_link_params p = params();
  p.mtu = 1500;
  struct sim_link *link = sim_link_new(sim, "l", &p, NULL, &a->port, &b->port);
  send_tagged(link, 1514, 1);
  send_tagged(link, 1515, 2);
  CHECK_EQ(sim_run_until(sim, SIM_NEVER), 0);
  CHECK_EQ(b->n, 1);
  CHECK_EQ(sim_link_stats(link, 0)->drop_mtu, 1);
  sim_free(sim);
  free(a);
  free(b);
}

static uint64_t lost_of(uint64_t seed, struct sim_ratio loss, int frames) {
  struct sim *sim = sim_new(seed);
  struct rx *a = rx_new(), *b = rx_new();
  struct sim_link_params p = params();
  p.rate_bps = 0;
  p.queue_limit_bytes = 0;
  p.loss = loss;
  struct sim_link *link = sim_link_new(sim, "l", &p, NULL, &a->port, &b->port);
  for (int i = 0; i < frames; i++) send_tagged(link, 60, 0);
  sim_run_until(sim, SIM_NEVER);
  uint64_t lost = sim_link_stats(link, 0)->drop_loss;
  CHECK_EQ(lost + b->n, (uint64_t)frames);
  sim_free(sim);
  free(a);
  free(b);
  return lost;
}

TEST(test_sim_link_loss_ratios) {
  CHECK_EQ(lost_of(1, (struct sim_ratio){1, 1}, 1000), 1000);
  CHECK_EQ(lost_of(1, (struct sim_ratio){0, 1}, 1000), 0);
  CHECK_EQ(lost_of(1, (struct sim_ratio){0, 0}, 1000), 0);
  /* Binomial(100000, 0.1): mean 10000, sd ~95; +-5 sd. */
  uint64_t lost = lost_of(1, (struct sim_ratio){1, 10}, 100000);
  CHECK(lost > 9525 && lost < 10475);
  lost = lost_of(99, (struct sim_ratio){1, 10}, 100000);
  CHECK(lost > 9525 && lost < 10475);
}

static void set_down(struct sim *sim, struct sim_event *ev) {
  (void)sim;
  sim_link_set_up(ev->obj, ev->arg != 0);
}

TEST(test_sim_link_down_drops) {
  struct sim *sim = sim_new(1);
  struct rx *a = rx_new(), *b = rx_new();
  struct sim_link_params p = params();
  p.rate_bps = 0;
  p.delay_ns = 10 * MS;
  struct sim_link *link = sim_link_new(sim, "l", &p, NULL, &a->port, &b->port);
  const struct sim_link_stats *st = sim_link_stats(link, 0);
  CHECK(sim_link_is_up(link));
  /* In flight when the link goes down at 5 ms (and up again at 6 ms): lost. */
  send_tagged(link, 60, 1);
  sim_link_schedule_up(link, 5 * MS, false);
  sim_link_schedule_up(link, 6 * MS, true);
  /* Sent while down: dropped at once. */
  sim_schedule(sim, 5 * MS + 1, send_event, link, (2u << 16) | 60);
  /* Sent after it came back: delivered. */
  sim_schedule(sim, 7 * MS, send_event, link, (3u << 16) | 60);
  CHECK_EQ(sim_run_until(sim, SIM_NEVER), 0);
  CHECK_EQ(st->drop_down_in_flight, 1);
  CHECK_EQ(st->drop_down, 1);
  REQUIRE(b->n == 1);
  CHECK_EQ(b->first[0], 3);
  CHECK_EQ(b->at[0], 17 * MS);
  /* Down now, by direct call: the other direction drops too. */
  sim_schedule(sim, 20 * MS, set_down, link, 0);
  CHECK_EQ(sim_run_until(sim, SIM_NEVER), 0);
  uint8_t f[60] = {0};
  sim_port_send(&b->port, f, sizeof f);
  CHECK_EQ(sim_link_stats(link, 1)->drop_down, 1);
  CHECK(!sim_link_is_up(link));
  sim_free(sim);
  free(a);
  free(b);
}

/* ---- links: duplication, reordering, corruption ---- */

TEST(test_sim_link_dup_reorder_corrupt) {
  struct sim *sim = sim_new(5);
  struct rx *a = rx_new(), *b = rx_new();
  struct sim_link_params p = params();
  p.rate_bps = 0;
  p.delay_ns = 1 * MS;
  p.dup = (struct sim_ratio){1, 1};
  struct sim_link *link = sim_link_new(sim, "l", &p, NULL, &a->port, &b->port);
  send_tagged(link, 60, 7);
  CHECK_EQ(sim_run_until(sim, SIM_NEVER), 0);
  CHECK_EQ(b->n, 2);
  CHECK_EQ(sim_link_stats(link, 0)->duplicated, 1);

  struct sim_link_params *lp = sim_link_params(link, 0);
  lp->dup = (struct sim_ratio){0, 1};
  lp->reorder = (struct sim_ratio){1, 1};
  lp->reorder_delay_ns = 4 * MS;
  sim_schedule(sim, 10 * MS, send_event, link, (8u << 16) | 60);
  CHECK_EQ(sim_run_until(sim, SIM_NEVER), 0);
  REQUIRE(b->n == 3);
  CHECK_EQ(b->at[2], 10 * MS + 1 * MS + 4 * MS);
  CHECK_EQ(sim_link_stats(link, 0)->reordered, 1);

  lp->reorder = (struct sim_ratio){0, 1};
  lp->corrupt = (struct sim_ratio){1, 1};
  for (int round = 0; round < 20; round++) {
    send_tagged(link, 100, 0);
    CHECK_EQ(sim_run_until(sim, SIM_NEVER), 0);
    int bits = 0, header_bits = 0;
    for (size_t i = 0; i < 100; i++) {
      uint8_t want = i == 0 ? 0 : i == 12 ? 0x08 : i == 13 ? 0x00 : 0xab;
      int flipped = __builtin_popcount((unsigned)(b->last_frame[i] ^ want));
      bits += flipped;
      if (i < 14) header_bits += flipped;
    }
    CHECK_EQ(bits, 1);
    CHECK_EQ(header_bits, 0);
  }
  CHECK_EQ(sim_link_stats(link, 0)->corrupted, 20);
  /* A non-IPv4 frame (ARP, say) is never corrupted. */
  memset(frame_buf, 0xab, 60);
  frame_buf[12] = 0x08;
  frame_buf[13] = 0x06;
  sim_link_send(link, 0, frame_buf, 60);
  CHECK_EQ(sim_run_until(sim, SIM_NEVER), 0);
  CHECK_EQ(sim_link_stats(link, 0)->corrupted, 20);
  CHECK(b->last_frame[20] == 0xab && b->last_frame[13] == 0x06);
  sim_free(sim);
  free(a);
  free(b);
}

/* ---- determinism ---- */

struct outcome {
  uint64_t hash;
  size_t n;
  uint64_t fingerprint; /* over delivery times, lengths and tags */
};

static struct outcome faulty_run(uint64_t seed) {
  struct sim *sim = sim_new(seed);
  struct rx *a = rx_new(), *b = rx_new();
  struct sim_link_params p = params();
  p.rate_bps = 50000000; /* below the ~61 Mbit/s offered: some tail drops */
  p.delay_ns = 2 * MS;
  p.jitter_ns = 1 * MS;
  p.queue_limit_bytes = 20000;
  p.loss = (struct sim_ratio){1, 10};
  p.dup = (struct sim_ratio){1, 20};
  p.reorder = (struct sim_ratio){1, 20};
  p.corrupt = (struct sim_ratio){1, 50};
  struct sim_link *link = sim_link_new(sim, "l", &p, NULL, &a->port, &b->port);
  for (uint64_t i = 0; i < 1000; i++)
    sim_schedule(sim, i * 100 * SIM_NS_PER_US, send_event, link,
                 ((i & 0xff) << 16) | (60 + (i * 37) % 1400));
  sim_run_until(sim, SIM_NEVER);
  struct outcome o = {.hash = sim_trace_hash(sim), .n = b->n, .fingerprint = 0};
  const struct sim_link_stats *st = sim_link_stats(link, 0);
  CHECK(st->drop_queue > 0 && st->drop_loss > 0 && st->duplicated > 0 && st->reordered > 0 &&
        st->corrupted > 0);
  for (size_t i = 0; i < b->n && i < RX_MAX; i++)
    o.fingerprint = o.fingerprint * 1000003u + b->at[i] * 31u + b->len[i] * 7u + b->first[i];
  sim_free(sim);
  free(a);
  free(b);
  return o;
}

TEST(test_sim_same_seed_same_outcomes) {
  struct outcome x = faulty_run(11), y = faulty_run(11), z = faulty_run(12);
  CHECK_EQ(x.hash, y.hash);
  CHECK_EQ(x.n, y.n);
  CHECK_EQ(x.fingerprint, y.fingerprint);
  CHECK(x.hash != z.hash);
  CHECK(x.fingerprint != z.fingerprint);
  CHECK(x.n > 500 && x.n < 1000);
}

/* ---- switch ---- */

TEST(test_sim_switch_learns_and_floods) {
  struct sim *sim = sim_new(1);
  struct sim_switch *sw = sim_switch_new(sim, "sw", 3);
  struct rx *h[3];
  struct sim_link_params p = params();
  for (int i = 0; i < 3; i++) {
    h[i] = rx_new();
    char name[16];
    snprintf(name, sizeof name, "h%d", i);
    sim_link_new(sim, name, &p, NULL, &h[i]->port, sim_switch_port(sw, i));
  }
  uint8_t f[60] = {0};
  uint8_t mac0[6] = {2, 0, 0, 0, 0, 1}, mac1[6] = {2, 0, 0, 0, 0, 2};
  /* h0 -> mac1 (unknown): flooded to h1 and h2; h0 learned. */
  memcpy(f, mac1, 6);
  memcpy(f + 6, mac0, 6);
  sim_port_send(&h[0]->port, f, sizeof f);
  CHECK_EQ(sim_run_until(sim, SIM_NEVER), 0);
  CHECK_EQ(h[0]->n, 0);
  CHECK_EQ(h[1]->n, 1);
  CHECK_EQ(h[2]->n, 1);
  CHECK_EQ(sim_switch_lookup(sw, mac0), 0);
  CHECK_EQ(sim_switch_lookup(sw, mac1), -1);
  /* h1 -> mac0 (learned): only h0. */
  memcpy(f, mac0, 6);
  memcpy(f + 6, mac1, 6);
  sim_port_send(&h[1]->port, f, sizeof f);
  CHECK_EQ(sim_run_until(sim, SIM_NEVER), 0);
  CHECK_EQ(h[0]->n, 1);
  CHECK_EQ(h[2]->n, 1);
  CHECK_EQ(sim_switch_lookup(sw, mac1), 1);
  /* Broadcast from h2: everyone else. */
  memset(f, 0xff, 6);
  f[6] = 2;
  f[11] = 3;
  sim_port_send(&h[2]->port, f, sizeof f);
  CHECK_EQ(sim_run_until(sim, SIM_NEVER), 0);
  CHECK_EQ(h[0]->n, 2);
  CHECK_EQ(h[1]->n, 2);
  CHECK_EQ(h[2]->n, 1);
  /* A runt is counted and dropped. */
  sim_port_send(&h[2]->port, f, 10);
  CHECK_EQ(sim_run_until(sim, SIM_NEVER), 0);
  const struct sim_switch_stats *st = sim_switch_stats(sw);
  CHECK_EQ(st->frames_in, 4);
  CHECK_EQ(st->flooded, 2);
  CHECK_EQ(st->forwarded, 1);
  CHECK_EQ(st->drop_runt, 1);
  sim_free(sim);
  for (int i = 0; i < 3; i++) free(h[i]);
}

/* ---- nodes: deduplicated timers ---- */

struct timer_node {
  uint64_t deadline;
  size_t fired;
  uint64_t fired_at[16];
  size_t frames;
};

static void tn_on_frame(struct sim_node *node, const uint8_t *frame, size_t len, uint64_t now) {
  (void)frame;
  (void)len;
  struct timer_node *tn = sim_node_ctx(node);
  tn->frames++;
  tn->deadline = now + 1 * MS; /* a frame pulls the deadline in */
}

static void tn_on_timer(struct sim_node *node, uint64_t now) {
  struct timer_node *tn = sim_node_ctx(node);
  if (now < tn->deadline) return;
  if (tn->fired < 16) tn->fired_at[tn->fired] = now;
  tn->fired++;
  tn->deadline = SIM_NEVER;
}

static uint64_t tn_deadline(struct sim_node *node) {
  return ((struct timer_node *)sim_node_ctx(node))->deadline;
}

static void tn_fini(struct sim_node *node) { free(sim_node_ctx(node)); }

static const struct sim_node_ops timer_node_ops = {
    .on_frame = tn_on_frame,
    .on_timer = tn_on_timer,
    .next_deadline = tn_deadline,
    .fini = tn_fini,
};

static void poke_node(struct sim *sim, struct sim_event *ev) {
  (void)sim;
  sim_node_update(ev->obj);
}

TEST(test_sim_node_timer_dedup) {
  struct sim *sim = sim_new(1);
  struct timer_node *tn = calloc(1, sizeof *tn);
  tn->deadline = 50 * MS;
  struct sim_node *node = sim_node_new(sim, "n", &timer_node_ops, tn);
  struct rx *peer = rx_new();
  struct sim_link_params p = params();
  p.rate_bps = 0;
  sim_link_new(sim, "l", &p, NULL, &peer->port, sim_node_port(node));
  sim_node_update(node);
  sim_node_update(node); /* asking twice schedules once */
  CHECK_EQ(sim_pending(sim), 1);
  sim_free(sim);
  peer->port.link = NULL;

  /* A frame at 10 ms pulls the deadline in to 11 ms; the 50 ms event becomes stale and a
   * poke at 20 ms (deadline now SIM_NEVER) schedules nothing. */
  sim = sim_new(1);
  tn = calloc(1, sizeof *tn);
  tn->deadline = 50 * MS;
  node = sim_node_new(sim, "n", &timer_node_ops, tn);
  struct sim_link *link = sim_link_new(sim, "l", &p, NULL, &peer->port, sim_node_port(node));
  sim_node_update(node);
  sim_schedule(sim, 10 * MS, send_event, link, (1u << 16) | 60);
  sim_schedule(sim, 20 * MS, poke_node, node, 0);
  CHECK_EQ(sim_run_until(sim, SIM_NEVER), 0);
  CHECK_EQ(tn->frames, 1);
  REQUIRE(tn->fired == 1);
  CHECK_EQ(tn->fired_at[0], 11 * MS);
  CHECK_EQ(sim_node_tx_unattached(node), 0);
  sim_free(sim);
  free(peer);
}

TEST(test_sim_node_unattached_send_counted) {
  struct sim *sim = sim_new(1);
  struct sim_node_ops ops = {0};
  struct sim_node *node = sim_node_new(sim, "lonely", &ops, NULL);
  uint8_t f[60] = {0};
  sim_node_send(node, f, sizeof f);
  CHECK_EQ(sim_node_tx_unattached(node), 1);
  CHECK(strcmp(sim_node_name(node), "lonely") == 0);
  CHECK(sim_node_at(sim, 0) == node);
  CHECK(sim_node_at(sim, 1) == NULL);
  sim_free(sim);
}

/* ---- pcap ---- */

static uint32_t le32(const uint8_t *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

TEST(test_sim_pcap_format) {
  char path[] = "/tmp/utcp_test_sim_XXXXXX";
  int fd = mkstemp(path);
  REQUIRE(fd >= 0);
  close(fd);
  struct sim_pcap *pcap = sim_pcap_open(path);
  REQUIRE(pcap != NULL);
  uint8_t f[60];
  for (int i = 0; i < 60; i++) f[i] = (uint8_t)i;
  sim_pcap_write(pcap, 3 * SIM_NS_PER_S + 1234567, f, sizeof f);
  CHECK_EQ(sim_pcap_close(pcap), 0);

  uint8_t buf[256];
  FILE *in = fopen(path, "rb");
  REQUIRE(in != NULL);
  size_t n = fread(buf, 1, sizeof buf, in);
  fclose(in);
  unlink(path);
  REQUIRE(n == 24 + 16 + 60);
  CHECK_EQ(le32(buf), 0xa1b2c3d4u);
  CHECK_EQ(buf[4] | buf[5] << 8, 2);
  CHECK_EQ(buf[6] | buf[7] << 8, 4);
  CHECK_EQ(le32(buf + 16), 65535);
  CHECK_EQ(le32(buf + 20), 1); /* LINKTYPE_ETHERNET */
  CHECK_EQ(le32(buf + 24), 3);
  CHECK_EQ(le32(buf + 28), 1234); /* microseconds */
  CHECK_EQ(le32(buf + 32), 60);
  CHECK_EQ(le32(buf + 36), 60);
  CHECK(memcmp(buf + 40, f, 60) == 0);
}

TEST(test_sim_link_pcap_records_offered_frames) {
  char dir[] = "/tmp/utcp_test_sim_dir_XXXXXX";
  REQUIRE(mkdtemp(dir) != NULL);
  struct sim *sim = sim_new(1);
  struct rx *a = rx_new(), *b = rx_new();
  struct sim_link_params p = params();
  p.loss = (struct sim_ratio){1, 1}; /* lost frames are still captured */
  sim_link_new(sim, "cap", &p, NULL, &a->port, &b->port);
  CHECK_EQ(sim_pcap_all(sim, dir), 0);
  uint8_t f[60] = {0};
  sim_port_send(&a->port, f, sizeof f);
  sim_port_send(&b->port, f, 42);
  CHECK_EQ(sim_run_until(sim, SIM_NEVER), 0);
  sim_free(sim);
  char path[64];
  snprintf(path, sizeof path, "%s/cap.pcap", dir);
  FILE *in = fopen(path, "rb");
  REQUIRE(in != NULL);
  fseek(in, 0, SEEK_END);
  CHECK_EQ(ftell(in), 24 + 16 + 60 + 16 + 42);
  fclose(in);
  unlink(path);
  rmdir(dir);
  free(a);
  free(b);
}

TEST_MAIN(TEST_CASE(test_sim_heap_orders_by_time_then_insertion),
          TEST_CASE(test_sim_run_until_stops_and_advances_clock),
          TEST_CASE(test_sim_event_limit_stops_livelock),
          TEST_CASE(test_sim_seed_derive_streams_differ),
          TEST_CASE(test_sim_link_delay_and_rate),
          TEST_CASE(test_sim_link_directions_independent),
          TEST_CASE(test_sim_link_jitter_within_bounds),
          TEST_CASE(test_sim_link_queue_limit_tail_drop),
          TEST_CASE(test_sim_link_mtu_drop),
          TEST_CASE(test_sim_link_loss_ratios),
          TEST_CASE(test_sim_link_down_drops),
          TEST_CASE(test_sim_link_dup_reorder_corrupt),
          TEST_CASE(test_sim_same_seed_same_outcomes),
          TEST_CASE(test_sim_switch_learns_and_floods),
          TEST_CASE(test_sim_node_timer_dedup),
          TEST_CASE(test_sim_node_unattached_send_counted),
          TEST_CASE(test_sim_pcap_format),
          TEST_CASE(test_sim_link_pcap_records_offered_frames))
