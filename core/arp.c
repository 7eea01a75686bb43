/* ARP cache: RFC 826's packet reception algorithm, RFC 1122 2.3.2 timeouts and queueing. */
#include "arp.h"

#include <string.h>

#include "stack_impl.h"

#define NIL 0u

static uint32_t hash_ip(uint32_t ip, uint32_t n_buckets) {
  return (uint32_t)((ip * 0x9e3779b1u) >> 8) & (n_buckets - 1);
}

static struct utcp_arp_entry *entry_at(struct utcp_arp_table *t, uint32_t idx1) {
  return idx1 == NIL ? NULL : &t->entries[idx1 - 1];
}

static struct utcp_arp_entry *find(struct utcp_arp_table *t, uint32_t ip) {
  for (uint32_t i = t->buckets[hash_ip(ip, t->n_buckets)]; i != NIL;) {
    struct utcp_arp_entry *e = &t->entries[i - 1];
    if (e->ip == ip) return e;
    i = e->chain;
  }
  return NULL;
}

static void note_deadline(struct utcp_arp_table *t, uint64_t when) {
  if (when < t->deadline_ns) t->deadline_ns = when;
}

static struct utcp_arp_entry *insert(struct utcp_stack *s, uint32_t ip) {
  struct utcp_arp_table *t = &s->arp;
  struct utcp_arp_entry *e = entry_at(t, t->free_entry);
  if (e == NULL) {
    utcp_count_drop(s, UTCP_DROP_ARP_TABLE_FULL);
    return NULL;
  }
  t->free_entry = e->chain;
  uint32_t b = hash_ip(ip, t->n_buckets);
  memset(e, 0, sizeof *e);
  e->ip = ip;
  e->chain = t->buckets[b];
  t->buckets[b] = (uint32_t)(e - t->entries) + 1;
  return e;
}

static void free_slot(struct utcp_arp_table *t, struct utcp_arp_slot *slot) {
  slot->next = t->free_slot;
  slot->len = 0;
  t->free_slot = (uint32_t)(slot - t->slots) + 1;
}

/* Drops every held frame of e (counted as unresolved). */
static void flush_queue_dropped(struct utcp_stack *s, struct utcp_arp_entry *e) {
  struct utcp_arp_table *t = &s->arp;
  while (e->q_head != NIL) {
    struct utcp_arp_slot *slot = &t->slots[e->q_head - 1];
    e->q_head = slot->next;
    free_slot(t, slot);
    utcp_count_drop(s, UTCP_DROP_ARP_UNRESOLVED);
    s->ctr.ip_out_discards++;
  }
  e->q_tail = NIL;
  e->queued = 0;
}

static void remove_entry(struct utcp_stack *s, struct utcp_arp_entry *e) {
  struct utcp_arp_table *t = &s->arp;
  flush_queue_dropped(s, e);
  uint32_t idx1 = (uint32_t)(e - t->entries) + 1;
  uint32_t *link = &t->buckets[hash_ip(e->ip, t->n_buckets)];
  while (*link != idx1) link = &t->entries[*link - 1].chain;
  *link = e->chain;
  e->state = ARP_FREE;
  e->chain = t->free_entry;
  t->free_entry = idx1;
}

/* Frees one entry still resolving (its held frames are counted drops); false if none. */
static bool evict_pending(struct utcp_stack *s) {
  struct utcp_arp_table *t = &s->arp;
  for (uint32_t i = 0; i < t->n_entries; i++) {
    struct utcp_arp_entry *e = &t->entries[i];
    if (e->state != ARP_PENDING) continue;
    remove_entry(s, e);
    s->ctr.arp_pending_evicted++;
    return true;
  }
  return false;
}

static void send_arp(struct utcp_stack *s, uint16_t op, const struct utcp_mac *dst_mac,
                     const struct utcp_mac *tha, uint32_t tpa) {
  uint8_t *buf = s->sink.alloc(s->sink.ctx, UTCP_ETH_HLEN + UTCP_ARP_LEN);
  if (buf == NULL) {
    utcp_count_drop(s, UTCP_DROP_TX_NO_BUFFER);
    return;
  }
  struct utcp_eth eth = {.dst = *dst_mac, .src = s->cfg.mac, .type = UTCP_ETHERTYPE_ARP};
  struct utcp_arp arp = {
      .op = op, .sha = s->cfg.mac, .spa = s->cfg.ip, .tha = *tha, .tpa = tpa};
  size_t n = utcp_eth_emit(&eth, buf, UTCP_ETH_HLEN);
  n += utcp_arp_emit(&arp, buf + n, UTCP_ARP_LEN);
  UTCP_ASSERT(n == UTCP_ETH_HLEN + UTCP_ARP_LEN);
  s->sink.commit(s->sink.ctx, buf, n);
  if (op == UTCP_ARP_REQUEST) {
    s->ctr.arp_out_requests++;
  } else {
    s->ctr.arp_out_replies++;
  }
}

static void send_request(struct utcp_stack *s, struct utcp_arp_entry *e, uint64_t now) {
  send_arp(s, UTCP_ARP_REQUEST, &utcp_mac_broadcast, &utcp_mac_zero, e->ip);
  e->tries++;
  e->deadline_ns = now + s->cfg.arp_retry_ns;
  note_deadline(&s->arp, e->deadline_ns);
}

/* Sends every frame held for e, in the order they were queued. */
static void release_queue(struct utcp_stack *s, struct utcp_arp_entry *e) {
  struct utcp_arp_table *t = &s->arp;
  while (e->q_head != NIL) {
    struct utcp_arp_slot *slot = &t->slots[e->q_head - 1];
    e->q_head = slot->next;
    uint8_t *buf = slot->len == 0 ? NULL : s->sink.alloc(s->sink.ctx, slot->len);
    if (slot->len == 0) {
      /* abandoned while queued */
    } else if (buf == NULL) {
      utcp_count_drop(s, UTCP_DROP_TX_NO_BUFFER);
      s->ctr.ip_out_discards++;
    } else {
      memcpy(buf, slot->frame, slot->len);
      memcpy(buf, e->mac.b, 6); /* Ethernet destination */
      s->sink.commit(s->sink.ctx, buf, slot->len);
      s->ctr.ip_out_transmits++;
    }
    free_slot(t, slot);
  }
  e->q_tail = NIL;
  e->queued = 0;
}

static void learn(struct utcp_stack *s, struct utcp_arp_entry *e, const struct utcp_mac *mac,
                  uint64_t now) {
  if (e->state == ARP_STATIC) return; /* configuration wins over the network */
  e->mac = *mac;
  e->state = ARP_RESOLVED;
  e->tries = 0;
  e->deadline_ns = now + s->cfg.arp_ttl_ns;
  note_deadline(&s->arp, e->deadline_ns);
  release_queue(s, e);
}

void utcp_arp_input(struct utcp_stack *s, const uint8_t *pkt, size_t len, uint64_t now) {
  struct utcp_arp arp;
  enum utcp_drop why = utcp_arp_parse(pkt, len, &arp);
  if (why != UTCP_DROP_NONE) goto drop;
  if (arp.op == UTCP_ARP_REQUEST) {
    s->ctr.arp_in_requests++;
  } else {
    s->ctr.arp_in_replies++;
  }
  if (utcp_mac_is_multicast(&arp.sha) || arp.spa == 0xffffffffu ||
      (arp.spa >> 28) == 0xe || utcp_mac_eq(&arp.sha, &s->cfg.mac)) {
    why = UTCP_DROP_ARP_BAD_SENDER;
    goto drop;
  }

  /* RFC 826 "Packet Reception": update an existing entry for the sender first ... */
  bool merged = false;
  struct utcp_arp_entry *e = arp.spa != 0 ? find(&s->arp, arp.spa) : NULL;
  if (e != NULL) {
    learn(s, e, &arp.sha, now);
    merged = true;
  }
  if (arp.tpa != s->cfg.ip) {
    why = UTCP_DROP_ARP_NOT_FOR_US;
    goto drop;
  }
  /* ... then, being the target, add the sender if it was not there (spa 0 is a probe). A host
   * asking for us is about to talk to us: it beats a next hop that never answered (under a
   * spoofed SYN flood the table fills with those), so a full table gives up a pending entry. */
  if (!merged && arp.spa != 0) {
    if (s->arp.free_entry == NIL) evict_pending(s);
    e = insert(s, arp.spa);
    if (e != NULL) learn(s, e, &arp.sha, now);
  }
  if (arp.op == UTCP_ARP_REQUEST) send_arp(s, UTCP_ARP_REPLY, &arp.sha, &arp.sha, arp.spa);
  return;
drop:
  utcp_count_drop(s, why);
}

const struct utcp_mac *utcp_arp_resolve(struct utcp_stack *s, uint32_t next_hop, uint64_t now) {
  struct utcp_arp_entry *e = find(&s->arp, next_hop);
  if (e != NULL && (e->state == ARP_RESOLVED || e->state == ARP_STATIC)) return &e->mac;
  if (e == NULL) {
    e = insert(s, next_hop);
    if (e == NULL) return NULL;
    e->state = ARP_PENDING;
    send_request(s, e, now);
  }
  return NULL;
}

struct utcp_arp_slot *utcp_arp_hold(struct utcp_stack *s, uint32_t next_hop, uint64_t now) {
  struct utcp_arp_table *t = &s->arp;
  (void)now;
  struct utcp_arp_entry *e = find(t, next_hop);
  if (e == NULL || e->state != ARP_PENDING) return NULL;
  struct utcp_arp_slot *slot = NULL;
  if (e->queued >= s->cfg.arp_pending_per_entry || t->free_slot == NIL) {
    if (e->q_head == NIL) {
      utcp_count_drop(s, UTCP_DROP_ARP_QUEUE_FULL);
      return NULL;
    }
    /* RFC 1122 2.3.2.2: keep the latest frames; the oldest one gives way. */
    slot = &t->slots[e->q_head - 1];
    e->q_head = slot->next;
    if (e->q_head == NIL) e->q_tail = NIL;
    e->queued--;
    utcp_count_drop(s, UTCP_DROP_ARP_QUEUE_FULL);
    s->ctr.ip_out_discards++;
  } else {
    slot = &t->slots[t->free_slot - 1];
    t->free_slot = slot->next;
  }
  slot->next = NIL;
  slot->len = 0;
  uint32_t idx1 = (uint32_t)(slot - t->slots) + 1;
  if (e->q_tail == NIL) {
    e->q_head = idx1;
  } else {
    t->slots[e->q_tail - 1].next = idx1;
  }
  e->q_tail = idx1;
  e->queued++;
  return slot;
}

void utcp_arp_on_timer(struct utcp_stack *s, uint64_t now) {
  struct utcp_arp_table *t = &s->arp;
  if (now < t->deadline_ns) return;
  t->deadline_ns = UINT64_MAX;
  for (uint32_t i = 0; i < t->n_entries; i++) {
    struct utcp_arp_entry *e = &t->entries[i];
    if (e->state == ARP_FREE || e->state == ARP_STATIC) continue;
    if (e->deadline_ns <= now) {
      if (e->state == ARP_PENDING && e->tries < s->cfg.arp_retries) {
        send_request(s, e, now);
      } else {
        /* Gave up resolving (held frames are counted drops), or the entry aged out. */
        remove_entry(s, e);
        continue;
      }
    }
    note_deadline(t, e->deadline_ns);
  }
}

int utcp_arp_add_static(struct utcp_stack *s, uint32_t ip, const struct utcp_mac *mac) {
  if (ip == 0 || utcp_mac_is_multicast(mac)) return UTCP_ERR_INVAL;
  struct utcp_arp_entry *e = find(&s->arp, ip);
  if (e == NULL) e = insert(s, ip);
  if (e == NULL) return UTCP_ERR_NOMEM;
  e->mac = *mac;
  e->state = ARP_STATIC;
  release_queue(s, e);
  return 0;
}

int utcp_arp_lookup(const struct utcp_stack *s, uint32_t ip, struct utcp_mac *mac) {
  struct utcp_arp_entry *e = find((struct utcp_arp_table *)&s->arp, ip);
  if (e == NULL || (e->state != ARP_RESOLVED && e->state != ARP_STATIC)) return UTCP_ERR_NOENT;
  *mac = e->mac;
  return 0;
}

int utcp_arp_create(struct utcp_stack *s) {
  struct utcp_arp_table *t = &s->arp;
  const struct utcp_stack_config *c = &s->cfg;
  t->n_entries = c->arp_entries;
  t->n_buckets = 1;
  while (t->n_buckets < t->n_entries) t->n_buckets <<= 1;
  t->n_slots = c->arp_pending_total;
  size_t frame_cap = (size_t)c->mtu + UTCP_ETH_HLEN;
  t->entries = utcp_stack_alloc(s, sizeof *t->entries * t->n_entries);
  t->buckets = utcp_stack_alloc(s, sizeof *t->buckets * t->n_buckets);
  t->slots = utcp_stack_alloc(s, sizeof *t->slots * t->n_slots);
  t->slot_mem = utcp_stack_alloc(s, frame_cap * t->n_slots);
  if (!t->entries || !t->buckets || !t->slots || !t->slot_mem) return UTCP_ERR_NOMEM;
  for (uint32_t i = 0; i < t->n_entries; i++) t->entries[i].chain = i + 2 <= t->n_entries ? i + 2 : NIL;
  t->free_entry = t->n_entries ? 1 : NIL;
  for (uint32_t i = 0; i < t->n_slots; i++) {
    t->slots[i].frame = t->slot_mem + frame_cap * i;
    t->slots[i].next = i + 2 <= t->n_slots ? i + 2 : NIL;
  }
  t->free_slot = t->n_slots ? 1 : NIL;
  t->deadline_ns = UINT64_MAX;
  for (uint32_t i = 0; i < c->static_arp_count; i++) {
    int rc = utcp_arp_add_static(s, c->static_arp[i].ip, &c->static_arp[i].mac);
    if (rc < 0) return rc;
  }
  return 0;
}

void utcp_arp_destroy(struct utcp_stack *s) {
  struct utcp_arp_table *t = &s->arp;
  size_t frame_cap = (size_t)s->cfg.mtu + UTCP_ETH_HLEN;
  utcp_stack_dealloc(s, t->entries, sizeof *t->entries * t->n_entries);
  utcp_stack_dealloc(s, t->buckets, sizeof *t->buckets * t->n_buckets);
  utcp_stack_dealloc(s, t->slots, sizeof *t->slots * t->n_slots);
  utcp_stack_dealloc(s, t->slot_mem, frame_cap * t->n_slots);
}
