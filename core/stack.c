/* The stack object: creation from a config, Ethernet demultiplexing, timers and events. */
#include "stack.h"

#include <string.h>

#include "stack_impl.h"

void utcp_stack_config_default(struct utcp_stack_config *cfg) {
  memset(cfg, 0, sizeof *cfg);
  cfg->mtu = 1500;
  cfg->arp_entries = 256;
  cfg->arp_pending_per_entry = 4;
  cfg->arp_pending_total = 64;
  cfg->arp_retries = 3;
  cfg->arp_retry_ns = 1000000000ull;
  cfg->arp_ttl_ns = 20ull * 60 * 1000000000ull;
  cfg->event_queue_len = 4096;
  utcp_tcp_config_default(&cfg->tcp);
}

static bool ip_is_unicast(uint32_t ip) {
  return ip != 0 && ip != 0xffffffffu && (ip >> 28) != 0xe && (ip >> 28) != 0xf &&
         (ip >> 24) != 127;
}

static bool mask_is_prefix(uint32_t mask) { return (~mask & (~mask + 1)) == 0; }

int utcp_stack_config_check(const struct utcp_stack_config *c) {
  if (c == NULL) return UTCP_ERR_INVAL;
  if (utcp_mac_is_multicast(&c->mac) || utcp_mac_eq(&c->mac, &utcp_mac_zero)) return UTCP_ERR_INVAL;
  if (!ip_is_unicast(c->ip) || !mask_is_prefix(c->netmask)) return UTCP_ERR_INVAL;
  if (c->gateway != 0 && (!ip_is_unicast(c->gateway) ||
                          (c->gateway & c->netmask) != (c->ip & c->netmask)))
    return UTCP_ERR_INVAL;
  if (c->mtu < 68 || c->mtu > 9000) return UTCP_ERR_INVAL;
  if (c->arp_entries == 0 || c->arp_pending_per_entry == 0 || c->arp_pending_total == 0 ||
      c->event_queue_len == 0 || c->arp_retry_ns == 0 || c->arp_ttl_ns == 0)
    return UTCP_ERR_INVAL;
  if (c->static_arp_count > UTCP_MAX_STATIC_ARP || c->route_count > UTCP_MAX_ROUTES)
    return UTCP_ERR_INVAL;
  if (c->static_arp_count > c->arp_entries) return UTCP_ERR_INVAL;
  /* What utcp_arp_add_static refuses (found by fuzz_config: the check passed a multicast MAC
   * that utcp_stack_new then refused). */
  for (uint32_t i = 0; i < c->static_arp_count; i++)
    if (c->static_arp[i].ip == 0 || utcp_mac_is_multicast(&c->static_arp[i].mac))
      return UTCP_ERR_INVAL;
  if (utcp_tcp_config_check(&c->tcp) < 0) return UTCP_ERR_INVAL;
  for (uint32_t i = 0; i < c->route_count; i++) {
    const struct utcp_route *r = &c->routes[i];
    if (!mask_is_prefix(r->mask) || (r->dst & ~r->mask) != 0) return UTCP_ERR_INVAL;
    if (r->gateway != 0 && (r->gateway & c->netmask) != (c->ip & c->netmask))
      return UTCP_ERR_INVAL;
  }
  return 0;
}

void *utcp_stack_alloc(struct utcp_stack *s, size_t size) {
  return size == 0 ? NULL : s->mem.alloc(s->mem.ctx, size);
}

void utcp_stack_dealloc(struct utcp_stack *s, void *p, size_t size) {
  if (p != NULL) s->mem.free(s->mem.ctx, p, size);
}

int utcp_stack_new(const struct utcp_stack_config *cfg, const struct utcp_mem *mem,
                   const struct utcp_tx_sink *sink, uint64_t now, struct utcp_stack **out) {
  int rc = utcp_stack_config_check(cfg);
  if (rc < 0) return rc;
  if (mem == NULL || mem->alloc == NULL || mem->free == NULL || sink == NULL ||
      sink->alloc == NULL || sink->commit == NULL || out == NULL)
    return UTCP_ERR_INVAL;
  struct utcp_stack *s = mem->alloc(mem->ctx, sizeof *s);
  if (s == NULL) return UTCP_ERR_NOMEM;
  memset(s, 0, sizeof *s);
  s->cfg = *cfg;
  s->mem = *mem;
  s->sink = *sink;
  s->now = now;
  utcp_rng_init(&s->rng, cfg->seed);
  s->ip_id = (uint16_t)utcp_rng_next(&s->rng);
  s->events = utcp_stack_alloc(s, sizeof *s->events * cfg->event_queue_len);
  if (s->events == NULL) rc = UTCP_ERR_NOMEM;
  if (rc == 0) rc = utcp_arp_create(s);
  if (rc == 0) rc = utcp_tcp_create(s);
  if (rc < 0) {
    utcp_stack_free(s);
    return rc;
  }
  *out = s;
  return 0;
}

void utcp_stack_free(struct utcp_stack *s) {
  if (s == NULL) return;
  utcp_tcp_destroy(s);
  if (s->arp.entries != NULL || s->arp.slots != NULL) utcp_arp_destroy(s);
  utcp_stack_dealloc(s, s->events, sizeof *s->events * s->cfg.event_queue_len);
  struct utcp_mem mem = s->mem;
  mem.free(mem.ctx, s, sizeof *s);
}

void utcp_stack_input(struct utcp_stack *s, const uint8_t *frame, size_t len, uint64_t now) {
  if (now > s->now) s->now = now;
  struct utcp_eth eth;
  enum utcp_drop why = utcp_eth_parse(frame, len, &eth);
  if (why != UTCP_DROP_NONE) goto drop;
  if (!utcp_mac_eq(&eth.dst, &s->cfg.mac) && !utcp_mac_is_broadcast(&eth.dst)) {
    why = UTCP_DROP_ETH_NOT_FOR_US;
    goto drop;
  }
  switch (eth.type) {
    case UTCP_ETHERTYPE_IPV4:
      utcp_ipv4_input(s, eth.payload, eth.payload_len, now);
      utcp_tcp_pool_wakeup(s);
      return;
    case UTCP_ETHERTYPE_ARP:
      utcp_arp_input(s, eth.payload, eth.payload_len, now);
      return;
    default:
      why = UTCP_DROP_ETH_UNKNOWN_TYPE;
      goto drop;
  }
drop:
  utcp_count_drop(s, why);
}

uint64_t utcp_stack_next_deadline(const struct utcp_stack *s) {
  uint64_t arp = s->arp.deadline_ns;
  uint64_t tcp = utcp_tcp_next_deadline(s);
  return arp < tcp ? arp : tcp;
}

void utcp_stack_on_timer(struct utcp_stack *s, uint64_t now) {
  if (now > s->now) s->now = now;
  utcp_arp_on_timer(s, now);
  utcp_tcp_on_timer(s, now);
  utcp_tcp_pool_wakeup(s);
}

void utcp_stack_flush(struct utcp_stack *s) {
  if (s->sink.flush != NULL) s->sink.flush(s->sink.ctx);
}

const struct utcp_counters *utcp_stack_counters(const struct utcp_stack *s) { return &s->ctr; }

const struct utcp_stack_config *utcp_stack_config(const struct utcp_stack *s) { return &s->cfg; }

void utcp_stack_event(struct utcp_stack *s, const struct utcp_event *ev) {
  if (s->ev_count == s->cfg.event_queue_len) {
    utcp_count_drop(s, UTCP_DROP_EVENT_QUEUE_FULL);
    return;
  }
  s->events[(s->ev_head + s->ev_count) % s->cfg.event_queue_len] = *ev;
  s->ev_count++;
}

bool utcp_stack_has_events(const struct utcp_stack *s) {
  return s->ev_count > 0 || utcp_tcp_has_events(s);
}

size_t utcp_stack_poll_events(struct utcp_stack *s, struct utcp_event *ev, size_t max) {
  size_t n = 0;
  while (n < max && s->ev_count > 0) {
    ev[n++] = s->events[s->ev_head];
    s->ev_head = (s->ev_head + 1) % s->cfg.event_queue_len;
    s->ev_count--;
  }
  return n + utcp_tcp_poll_events(s, ev + n, max - n);
}

static const char *const coverage_names[] = {
#define UTCP_COV_NAME(name) #name,
    UTCP_COVERAGE_LIST(UTCP_COV_NAME)
#undef UTCP_COV_NAME
};

const char *utcp_coverage_name(size_t i) {
  return i < UTCP_COV__COUNT ? coverage_names[i] : "?";
}

int utcp_coverage_find(const char *name) {
  for (size_t i = 0; i < UTCP_COV__COUNT; i++)
    if (strcmp(coverage_names[i], name) == 0) return (int)i;
  return -1;
}
