/* A learning Ethernet switch with no forwarding delay (the links carry all the timing). It
 * learns each unicast source MAC's port, forwards to a learned port, floods broadcast,
 * multicast and unknown unicast to every other port, and filters frames whose destination
 * was learned on the port they came in on. Entries never age; a station that moves is
 * relearned from its next frame. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "sim.h"

struct fdb_entry {
  uint8_t mac[6];
  int port;
};

struct sim_switch {
  struct sim *sim;
  char *name;
  uint32_t id;
  int nports;
  struct sim_port *ports;
  struct fdb_entry *fdb;
  size_t fdb_len, fdb_cap;
  struct sim_switch_stats st;
};

int sim_switch_lookup(const struct sim_switch *sw, const uint8_t mac[6]) {
  for (size_t i = 0; i < sw->fdb_len; i++)
    if (memcmp(sw->fdb[i].mac, mac, 6) == 0) return sw->fdb[i].port;
  return -1;
}

static void learn(struct sim_switch *sw, const uint8_t mac[6], int port) {
  for (size_t i = 0; i < sw->fdb_len; i++) {
    if (memcmp(sw->fdb[i].mac, mac, 6) == 0) {
      sw->fdb[i].port = port;
      return;
    }
  }
  if (sw->fdb_len == sw->fdb_cap) {
    size_t cap = sw->fdb_cap ? sw->fdb_cap * 2 : 16;
    struct fdb_entry *v = sim_xmalloc(cap * sizeof *v);
    if (sw->fdb_len) memcpy(v, sw->fdb, sw->fdb_len * sizeof *v);
    free(sw->fdb);
    sw->fdb = v;
    sw->fdb_cap = cap;
  }
  memcpy(sw->fdb[sw->fdb_len].mac, mac, 6);
  sw->fdb[sw->fdb_len].port = port;
  sw->fdb_len++;
}

static void switch_deliver(struct sim_port *port, const uint8_t *frame, size_t len,
                           uint64_t now) {
  (void)now;
  struct sim_switch *sw = port->owner;
  int in = port->index;
  sw->st.frames_in++;
  if (len < 14) {
    sw->st.drop_runt++;
    sim_trace(sw->sim, SIM_TRACE_DROP, sw->id, (uint32_t)in, NULL, 0);
    return;
  }
  const uint8_t *dst = frame, *src = frame + 6;
  if (!(src[0] & 1)) learn(sw, src, in);
  int out = (dst[0] & 1) ? -1 : sim_switch_lookup(sw, dst);
  if (out == in) {
    sw->st.filtered++;
    return;
  }
  if (out >= 0) {
    sw->st.forwarded++;
    sim_port_send(&sw->ports[out], frame, len);
    return;
  }
  sw->st.flooded++;
  for (int i = 0; i < sw->nports; i++)
    if (i != in) sim_port_send(&sw->ports[i], frame, len);
}

struct sim_switch *sim_switch_new(struct sim *sim, const char *name, int nports) {
  struct sim_switch *sw = sim_xcalloc(1, sizeof *sw);
  sw->sim = sim;
  sw->name = sim_xstrdup(name);
  sw->id = sim_next_id(sim);
  sw->nports = nports;
  sw->ports = sim_xcalloc((size_t)nports, sizeof *sw->ports);
  for (int i = 0; i < nports; i++)
    sw->ports[i] = (struct sim_port){.deliver = switch_deliver, .owner = sw, .index = i};
  sim_register_switch(sim, sw);
  return sw;
}

void sim_switch_free(struct sim_switch *sw) {
  if (!sw) return;
  free(sw->fdb);
  free(sw->ports);
  free(sw->name);
  free(sw);
}

struct sim_port *sim_switch_port(struct sim_switch *sw, int i) {
  if (i < 0 || i >= sw->nports) {
    fprintf(stderr, "utcp-sim: switch %s has no port %d\n", sw->name, i);
    abort();
  }
  return &sw->ports[i];
}

const struct sim_switch_stats *sim_switch_stats(const struct sim_switch *sw) { return &sw->st; }
const char *sim_switch_name(const struct sim_switch *sw) { return sw->name; }

void sim_switch_print(const struct sim_switch *sw, FILE *out) {
  fprintf(out,
          "  %s: frames_in=%" PRIu64 " forwarded=%" PRIu64 " flooded=%" PRIu64
          " filtered=%" PRIu64 " drop_runt=%" PRIu64 "\n",
          sw->name, sw->st.frames_in, sw->st.forwarded, sw->st.flooded, sw->st.filtered,
          sw->st.drop_runt);
}
