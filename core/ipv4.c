/* IPv4 input validation and output with next-hop resolution (RFC 791, RFC 1122 3.2.1). */
#include <string.h>

#include "stack_impl.h"

static bool is_martian_src(const struct utcp_stack *s, uint32_t src) {
  /* RFC 1122 3.2.1.3: a host MUST silently discard a datagram whose source is a broadcast,
   * multicast or loopback address; one from our own address is a loop or a spoof. */
  uint32_t bcast = s->cfg.ip | ~s->cfg.netmask;
  return src == 0xffffffffu || (src >> 28) == 0xe || (src >> 28) == 0xf || (src >> 24) == 127 ||
         (src == bcast && s->cfg.netmask != 0xffffffffu) || src == s->cfg.ip;
}

void utcp_ipv4_input(struct utcp_stack *s, const uint8_t *pkt, size_t len, uint64_t now) {
  struct utcp_ipv4 ip;
  s->ctr.ip_in_receives++;
  enum utcp_drop why = utcp_ipv4_parse(pkt, len, &ip);
  switch (why) {
    case UTCP_DROP_NONE:
      break;
    case UTCP_DROP_IP_TRUNCATED:
    case UTCP_DROP_IP_BAD_TOTAL_LEN:
      s->ctr.ip_in_truncated_pkts++;
      goto drop;
    case UTCP_DROP_IP_FRAGMENT:
    case UTCP_DROP_IP_OPTIONS:
      s->ctr.ip_in_discards++;
      goto drop;
    default:
      s->ctr.ip_in_hdr_errors++;
      goto drop;
  }
  if (ip.dst != s->cfg.ip) {
    why = UTCP_DROP_IP_NOT_FOR_US;
    s->ctr.ip_in_addr_errors++;
    goto drop;
  }
  if (is_martian_src(s, ip.src)) {
    why = UTCP_DROP_IP_BAD_SRC;
    s->ctr.ip_in_addr_errors++;
    goto drop;
  }
  switch (ip.proto) {
    case UTCP_IPPROTO_ICMP:
      s->ctr.ip_in_delivers++;
      utcp_icmp_input(s, &ip, now);
      return;
    case UTCP_IPPROTO_TCP:
      s->ctr.ip_in_delivers++;
      utcp_tcp_input(s, &ip, now);
      return;
    default:
      s->ctr.ip_in_unknown_protos++;
      why = UTCP_DROP_IP_UNKNOWN_PROTO;
      goto drop;
  }
drop:
  utcp_count_drop(s, why);
}

uint32_t utcp_ip_next_hop(const struct utcp_stack *s, uint32_t dst) {
  const struct utcp_stack_config *c = &s->cfg;
  if ((dst & c->netmask) == (c->ip & c->netmask)) return dst;
  /* Longest prefix among configured routes, then the default gateway. */
  const struct utcp_route *best = NULL;
  for (uint32_t i = 0; i < c->route_count; i++) {
    const struct utcp_route *r = &c->routes[i];
    if ((dst & r->mask) == r->dst && (best == NULL || r->mask > best->mask)) best = r;
  }
  if (best != NULL) return best->gateway != 0 ? best->gateway : dst;
  return c->gateway;
}

int utcp_ip_out_begin(struct utcp_stack *s, uint32_t dst, uint8_t proto, size_t l4_len,
                      struct utcp_ip_out *out) {
  s->ctr.ip_out_requests++;
  if (l4_len > utcp_ip_l4_max(s)) {
    s->ctr.ip_out_discards++;
    return UTCP_ERR_MSGSIZE;
  }
  uint32_t hop = utcp_ip_next_hop(s, dst);
  if (hop == 0) {
    s->ctr.ip_out_no_routes++;
    utcp_count_drop(s, UTCP_DROP_IP_NO_ROUTE);
    return UTCP_ERR_HOSTUNREACH;
  }
  memset(out, 0, sizeof *out);
  out->dst = dst;
  out->proto = proto;
  out->l4_cap = l4_len;
  const struct utcp_mac *mac = utcp_arp_resolve(s, hop, s->now);
  size_t frame_len = UTCP_ETH_HLEN + UTCP_IPV4_HLEN + l4_len;
  if (mac != NULL) {
    out->frame = s->sink.alloc(s->sink.ctx, frame_len);
    if (out->frame == NULL) {
      utcp_count_drop(s, UTCP_DROP_TX_NO_BUFFER);
      s->ctr.ip_out_discards++;
      return UTCP_ERR_NOBUFS;
    }
    struct utcp_eth eth = {.dst = *mac, .src = s->cfg.mac, .type = UTCP_ETHERTYPE_IPV4};
    utcp_eth_emit(&eth, out->frame, UTCP_ETH_HLEN);
  } else {
    out->pending = utcp_arp_hold(s, hop, s->now);
    if (out->pending == NULL) {
      s->ctr.ip_out_discards++;
      return UTCP_ERR_NOBUFS;
    }
    out->frame = out->pending->frame;
    /* The destination MAC is filled in when the next hop resolves. */
    struct utcp_eth eth = {.dst = utcp_mac_zero, .src = s->cfg.mac, .type = UTCP_ETHERTYPE_IPV4};
    utcp_eth_emit(&eth, out->frame, UTCP_ETH_HLEN);
  }
  out->l4 = out->frame + UTCP_ETH_HLEN + UTCP_IPV4_HLEN;
  return 0;
}

void utcp_ip_out_commit(struct utcp_stack *s, struct utcp_ip_out *out, size_t l4_len) {
  UTCP_ASSERT(l4_len <= out->l4_cap);
  struct utcp_ipv4 ip = {
      .id = s->ip_id++,
      .frag = out->df ? UTCP_IPV4_DF : 0,
      .ttl = 64,
      .proto = out->proto,
      .src = s->cfg.ip,
      .dst = out->dst,
      .payload_len = l4_len,
  };
  size_t n = utcp_ipv4_emit(&ip, out->frame + UTCP_ETH_HLEN, UTCP_IPV4_HLEN);
  UTCP_ASSERT(n == UTCP_IPV4_HLEN);
  (void)n;
  size_t frame_len = UTCP_ETH_HLEN + UTCP_IPV4_HLEN + l4_len;
  if (out->pending != NULL) {
    out->pending->len = (uint32_t)frame_len;
  } else {
    s->sink.commit(s->sink.ctx, out->frame, frame_len);
    s->ctr.ip_out_transmits++;
  }
  out->frame = NULL;
}

void utcp_ip_out_abandon(struct utcp_stack *s, struct utcp_ip_out *out) {
  if (out->pending != NULL) {
    /* Stays queued with length 0; it is skipped when the next hop resolves. */
    out->pending->len = 0;
  } else if (out->frame != NULL) {
    s->sink.commit(s->sink.ctx, out->frame, 0);
  }
  out->frame = NULL;
}
