/* The loopback platform (see loopback.h): two contexts, one in-memory link, virtual time. */
#include "loopback.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct lo_dir {
  uint8_t *slots; /* cap frames of slot_size bytes */
  uint64_t *at;
  uint32_t *len;
  uint32_t head, count, cap, slot_size;
  uint8_t *stage; /* the buffer handed to the stack by alloc */
  bool drop;
  uint64_t sent, dropped;
};

struct lo_side {
  struct utcp_loopback *lo;
  int side;
};

struct utcp_loopback {
  struct utcp_ctx *ctx[2];
  struct lo_dir dir[2]; /* dir[i]: frames sent by side i */
  struct lo_side arg[2];
  int events[2]; /* stack events side i handled in the last step */
  uint64_t now, delay_ns;
};

void utcp_loopback_config_default(struct utcp_loopback_config *cfg) {
  memset(cfg, 0, sizeof *cfg);
  for (int i = 0; i < 2; i++) utcp_ctx_config_default(&cfg->ctx[i]);
  cfg->delay_ns = 50000;
  cfg->queue_frames = 2048;
}

static struct utcp_mac lo_mac(int side) {
  return (struct utcp_mac){{0x02, 0, 0, 0, 0, (uint8_t)(side + 1)}};
}

static uint8_t *sink_alloc(void *arg, size_t cap) {
  struct lo_side *a = arg;
  struct lo_dir *d = &a->lo->dir[a->side];
  return cap <= d->slot_size ? d->stage : NULL;
}

static void sink_commit(void *arg, uint8_t *buf, size_t len) {
  struct lo_side *a = arg;
  struct utcp_loopback *lo = a->lo;
  struct lo_dir *d = &lo->dir[a->side];
  if (len == 0 || buf != d->stage) return;
  if (d->drop || d->count == d->cap) {
    d->dropped++;
    return;
  }
  uint32_t i = (d->head + d->count) % d->cap;
  memcpy(d->slots + (size_t)i * d->slot_size, buf, len);
  d->len[i] = (uint32_t)len;
  d->at[i] = lo->now + lo->delay_ns;
  d->count++;
  d->sent++;
}

static uint64_t hook_now(void *arg) { return ((struct lo_side *)arg)->lo->now; }

/* One step: moves time to the next frame arrival or timer (if at or before limit), delivers
 * what is due and lets both contexts poll. false when nothing is due by limit. */
static bool step(struct utcp_loopback *lo, uint64_t limit) {
  uint64_t t = UINT64_MAX;
  for (int i = 0; i < 2; i++) {
    struct lo_dir *d = &lo->dir[i];
    if (d->count > 0 && d->at[d->head] < t) t = d->at[d->head];
    uint64_t dl = utcp_ctx_next_deadline(lo->ctx[i]);
    if (dl < t) t = dl;
  }
  if (t == UINT64_MAX || t > limit) return false;
  if (t > lo->now) lo->now = t;
  for (int i = 0; i < 2; i++) {
    struct lo_dir *d = &lo->dir[i];
    for (uint32_t n = d->count; n > 0 && d->at[d->head] <= lo->now; n--) {
      uint32_t h = d->head;
      d->head = (d->head + 1) % d->cap;
      d->count--;
      utcp_ctx_input(lo->ctx[1 - i], d->slots + (size_t)h * d->slot_size, d->len[h], lo->now);
    }
  }
  for (int i = 0; i < 2; i++) lo->events[i] = utcp_ctx_poll(lo->ctx[i], lo->now);
  return true;
}

static int hook_wait(void *arg, struct utcp_ctx *ctx, uint64_t deadline) {
  struct lo_side *a = arg;
  struct utcp_loopback *lo = a->lo;
  (void)ctx;
  for (;;) {
    if (!step(lo, deadline)) {
      if (deadline == UINT64_MAX) return EDEADLK; /* nothing can ever happen */
      utcp_loopback_run_until(lo, deadline);
      return 0;
    }
    if (lo->events[a->side] > 0) return 0;
  }
}

static void dir_free(struct lo_dir *d) {
  free(d->slots);
  free(d->at);
  free(d->len);
  free(d->stage);
}

int utcp_loopback_new(const struct utcp_loopback_config *cfg, struct utcp_loopback **out) {
  if (cfg == NULL || out == NULL || cfg->queue_frames == 0) return UTCP_ERR_INVAL;
  struct utcp_loopback *lo = calloc(1, sizeof *lo);
  if (lo == NULL) return UTCP_ERR_NOMEM;
  lo->delay_ns = cfg->delay_ns;
  for (int i = 0; i < 2; i++) {
    struct utcp_ctx_config c = cfg->ctx[i];
    c.stack.ip = UTCP_LO_IP(i);
    c.stack.netmask = 0xffffff00u;
    c.stack.mac = lo_mac(i);
    if (c.stack.seed == 0) c.stack.seed = 1000 + (uint64_t)i;
    c.stack.static_arp_count = 1;
    c.stack.static_arp[0] = (struct utcp_static_arp){UTCP_LO_IP(1 - i), lo_mac(1 - i)};
    struct lo_dir *d = &lo->dir[i];
    d->cap = cfg->queue_frames;
    d->slot_size = (uint32_t)c.stack.mtu + 18;
    d->slots = malloc((size_t)d->cap * d->slot_size);
    d->at = calloc(d->cap, sizeof *d->at);
    d->len = calloc(d->cap, sizeof *d->len);
    d->stage = malloc(d->slot_size);
    lo->arg[i] = (struct lo_side){lo, i};
    struct utcp_tx_sink sink = {&lo->arg[i], sink_alloc, sink_commit, NULL};
    struct utcp_platform plat = {&lo->arg[i], hook_now, hook_wait};
    int rc = UTCP_ERR_NOMEM;
    if (d->slots && d->at && d->len && d->stage)
      rc = utcp_ctx_new(&c, NULL, &sink, &plat, 0, &lo->ctx[i]);
    if (rc < 0) {
      lo->ctx[i] = NULL;
      utcp_loopback_free(lo);
      return rc;
    }
  }
  *out = lo;
  return 0;
}

void utcp_loopback_free(struct utcp_loopback *lo) {
  if (lo == NULL) return;
  for (int i = 0; i < 2; i++) {
    utcp_ctx_free(lo->ctx[i]);
    dir_free(&lo->dir[i]);
  }
  free(lo);
}

struct utcp_ctx *utcp_loopback_ctx(struct utcp_loopback *lo, int side) {
  return lo->ctx[side & 1];
}

uint64_t utcp_loopback_now(const struct utcp_loopback *lo) { return lo->now; }

void utcp_loopback_run_until(struct utcp_loopback *lo, uint64_t until_ns) {
  while (step(lo, until_ns)) {
  }
  if (lo->now < until_ns) lo->now = until_ns;
  for (int i = 0; i < 2; i++) lo->events[i] = utcp_ctx_poll(lo->ctx[i], lo->now);
}

void utcp_loopback_run(struct utcp_loopback *lo, uint64_t ns) {
  utcp_loopback_run_until(lo, lo->now + ns);
}

void utcp_loopback_set_drop(struct utcp_loopback *lo, int side, bool drop) {
  lo->dir[side & 1].drop = drop;
}

uint64_t utcp_loopback_frames(const struct utcp_loopback *lo, int side) {
  return lo->dir[side & 1].sent;
}

uint64_t utcp_loopback_dropped(const struct utcp_loopback *lo, int side) {
  return lo->dir[side & 1].dropped;
}
