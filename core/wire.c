#include "wire.h"

#include <string.h>

#include "assert.h"
#include "cksum.h"

static uint16_t get16(const uint8_t *p) { return (uint16_t)((p[0] << 8) | p[1]); }

static uint32_t get32(const uint8_t *p) {
  return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

/* Big-endian stores as one store each (GCC does not merge byte stores here). */
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define TO_BE16(v) __builtin_bswap16(v)
#define TO_BE32(v) __builtin_bswap32(v)
#else
#define TO_BE16(v) (v)
#define TO_BE32(v) (v)
#endif

static void put16(uint8_t *p, uint16_t v) {
  v = TO_BE16(v);
  memcpy(p, &v, 2);
}

static void put32(uint8_t *p, uint32_t v) {
  v = TO_BE32(v);
  memcpy(p, &v, 4);
}

/* Checksums are stored in memory order, as utcp_cksum computed them. */
static void put_cksum(uint8_t *p, uint16_t ck) { memcpy(p, &ck, sizeof ck); }

/* ---- Ethernet II ---- */

const struct utcp_mac utcp_mac_broadcast = {{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}};
const struct utcp_mac utcp_mac_zero = {{0, 0, 0, 0, 0, 0}};

bool utcp_mac_eq(const struct utcp_mac *a, const struct utcp_mac *b) {
  return memcmp(a->b, b->b, sizeof a->b) == 0;
}

bool utcp_mac_is_broadcast(const struct utcp_mac *m) {
  return utcp_mac_eq(m, &utcp_mac_broadcast);
}

/* The I/G bit: least significant bit of the first octet. */
bool utcp_mac_is_multicast(const struct utcp_mac *m) { return (m->b[0] & 1) != 0; }

enum utcp_drop utcp_eth_parse(const uint8_t *buf, size_t len, struct utcp_eth *out) {
  if (len < UTCP_ETH_HLEN) return UTCP_DROP_ETH_TRUNCATED;
  memcpy(out->dst.b, buf, 6);
  memcpy(out->src.b, buf + 6, 6);
  out->type = get16(buf + 12);
  out->payload = buf + UTCP_ETH_HLEN;
  out->payload_len = len - UTCP_ETH_HLEN;
  return UTCP_DROP_NONE;
}

size_t utcp_eth_emit(const struct utcp_eth *eth, uint8_t *buf, size_t cap) {
  if (cap < UTCP_ETH_HLEN) return 0;
  memcpy(buf, eth->dst.b, 6);
  memcpy(buf + 6, eth->src.b, 6);
  put16(buf + 12, eth->type);
  return UTCP_ETH_HLEN;
}

/* ---- ARP (RFC 826) ---- */

#define ARP_HTYPE_ETHER 1

enum utcp_drop utcp_arp_parse(const uint8_t *buf, size_t len, struct utcp_arp *out) {
  if (len < UTCP_ARP_LEN) return UTCP_DROP_ARP_TRUNCATED;
  /* RFC 826, packet reception: check ar$hrd and ar$pro, optionally ar$hln and ar$pln. */
  if (get16(buf) != ARP_HTYPE_ETHER || get16(buf + 2) != UTCP_ETHERTYPE_IPV4 || buf[4] != 6 ||
      buf[5] != 4)
    return UTCP_DROP_ARP_BAD_FORMAT;
  out->op = get16(buf + 6);
  if (out->op != UTCP_ARP_REQUEST && out->op != UTCP_ARP_REPLY) return UTCP_DROP_ARP_BAD_OP;
  memcpy(out->sha.b, buf + 8, 6);
  out->spa = get32(buf + 14);
  memcpy(out->tha.b, buf + 18, 6);
  out->tpa = get32(buf + 24);
  return UTCP_DROP_NONE;
}

size_t utcp_arp_emit(const struct utcp_arp *arp, uint8_t *buf, size_t cap) {
  if (cap < UTCP_ARP_LEN) return 0;
  put16(buf, ARP_HTYPE_ETHER);
  put16(buf + 2, UTCP_ETHERTYPE_IPV4);
  buf[4] = 6;
  buf[5] = 4;
  put16(buf + 6, arp->op);
  memcpy(buf + 8, arp->sha.b, 6);
  put32(buf + 14, arp->spa);
  memcpy(buf + 18, arp->tha.b, 6);
  put32(buf + 24, arp->tpa);
  return UTCP_ARP_LEN;
}

/* ---- IPv4 (RFC 791) ---- */

#define IPV4_MAX_LEN 65535u

enum utcp_drop utcp_ipv4_parse(const uint8_t *buf, size_t len, struct utcp_ipv4 *out) {
  if (len < UTCP_IPV4_HLEN) return UTCP_DROP_IP_TRUNCATED;
  /* RFC 1122 3.2.1.1: a datagram whose version number is not 4 MUST be silently discarded. */
  if ((buf[0] >> 4) != 4) return UTCP_DROP_IP_BAD_VERSION;
  size_t hlen = (size_t)(buf[0] & 0x0f) * 4;
  if (hlen < UTCP_IPV4_HLEN || hlen > len) return UTCP_DROP_IP_BAD_HDR_LEN;
  size_t total = get16(buf + 2);
  if (total < hlen || total > len) return UTCP_DROP_IP_BAD_TOTAL_LEN;
  /* RFC 1122 3.2.1.2: MUST verify the header checksum and silently discard on mismatch. */
  if (utcp_cksum(buf, hlen) != 0) return UTCP_DROP_IP_BAD_CKSUM;
  if (hlen > UTCP_IPV4_HLEN) return UTCP_DROP_IP_OPTIONS;
  uint16_t frag = get16(buf + 6);
  if (frag & (UTCP_IPV4_MF | UTCP_IPV4_OFFMASK)) return UTCP_DROP_IP_FRAGMENT;

  out->tos = buf[1];
  out->id = get16(buf + 4);
  out->frag = frag;
  out->ttl = buf[8];
  out->proto = buf[9];
  out->src = get32(buf + 12);
  out->dst = get32(buf + 16);
  out->payload = buf + hlen;
  out->payload_len = total - hlen;
  return UTCP_DROP_NONE;
}

size_t utcp_ipv4_emit(const struct utcp_ipv4 *ip, uint8_t *buf, size_t cap) {
  UTCP_ASSERT(ip->payload_len <= IPV4_MAX_LEN - UTCP_IPV4_HLEN);
  if (cap < UTCP_IPV4_HLEN) return 0;
  buf[0] = 0x45;
  buf[1] = ip->tos;
  put16(buf + 2, (uint16_t)(UTCP_IPV4_HLEN + ip->payload_len));
  put16(buf + 4, ip->id);
  put16(buf + 6, ip->frag);
  buf[8] = ip->ttl;
  buf[9] = ip->proto;
  put16(buf + 10, 0);
  put32(buf + 12, ip->src);
  put32(buf + 16, ip->dst);
  put_cksum(buf + 10, utcp_cksum(buf, UTCP_IPV4_HLEN));
  return UTCP_IPV4_HLEN;
}

/* ---- ICMP (RFC 792) ---- */

enum utcp_drop utcp_icmp_parse(const uint8_t *buf, size_t len, struct utcp_icmp *out) {
  if (len < UTCP_ICMP_HLEN) return UTCP_DROP_ICMP_TRUNCATED;
  if (utcp_cksum(buf, len) != 0) return UTCP_DROP_ICMP_BAD_CKSUM;
  out->type = buf[0];
  out->code = buf[1];
  out->id = get16(buf + 4);
  out->seq = get16(buf + 6);
  out->data = buf + UTCP_ICMP_HLEN;
  out->data_len = len - UTCP_ICMP_HLEN;
  return UTCP_DROP_NONE;
}

size_t utcp_icmp_emit(const struct utcp_icmp *icmp, uint8_t *buf, size_t cap) {
  if (cap < UTCP_ICMP_HLEN || cap - UTCP_ICMP_HLEN < icmp->data_len) return 0;
  if (icmp->data_len > 0 && icmp->data != buf + UTCP_ICMP_HLEN)
    memmove(buf + UTCP_ICMP_HLEN, icmp->data, icmp->data_len);
  buf[0] = icmp->type;
  buf[1] = icmp->code;
  put16(buf + 2, 0);
  put16(buf + 4, icmp->id);
  put16(buf + 6, icmp->seq);
  size_t n = UTCP_ICMP_HLEN + icmp->data_len;
  put_cksum(buf + 2, utcp_cksum(buf, n));
  return n;
}

/* ---- TCP (RFC 9293) ---- */

#define TCPOLEN_MSS 4
#define TCPOLEN_WSCALE 3
#define TCPOLEN_SACK_PERM 2
#define TCPOLEN_TS 10
#define TCPOLEN_SACK_BLOCK 8

/* A repeated option overwrites the earlier one: the last occurrence wins. */
static enum utcp_drop parse_opts(const uint8_t *p, size_t n, struct utcp_tcp_opts *o) {
  size_t i = 0;
  while (i < n) {
    uint8_t kind = p[i];
    if (kind == UTCP_TCPOPT_EOL) break;
    if (kind == UTCP_TCPOPT_NOP) {
      i++;
      continue;
    }
    /* RFC 9293 3.1: MUST be prepared to handle an illegal option length (MUST-7). */
    if (n - i < 2) return UTCP_DROP_TCP_BAD_OPT_LEN;
    size_t olen = p[i + 1];
    if (olen < 2 || olen > n - i) return UTCP_DROP_TCP_BAD_OPT_LEN;
    const uint8_t *v = p + i + 2;
    switch (kind) {
    case UTCP_TCPOPT_MSS:
      if (olen != TCPOLEN_MSS) return UTCP_DROP_TCP_BAD_OPT_LEN;
      o->mss = get16(v);
      o->present |= UTCP_OPT_MSS;
      break;
    case UTCP_TCPOPT_WSCALE:
      if (olen != TCPOLEN_WSCALE) return UTCP_DROP_TCP_BAD_OPT_LEN;
      o->wscale = v[0];
      o->present |= UTCP_OPT_WSCALE;
      break;
    case UTCP_TCPOPT_SACK_PERM:
      if (olen != TCPOLEN_SACK_PERM) return UTCP_DROP_TCP_BAD_OPT_LEN;
      o->present |= UTCP_OPT_SACK_PERM;
      break;
    case UTCP_TCPOPT_SACK: {
      /* RFC 2018 3: length 2 + 8n. */
      size_t nb = (olen - 2) / TCPOLEN_SACK_BLOCK;
      if ((olen - 2) % TCPOLEN_SACK_BLOCK != 0 || nb < 1 || nb > UTCP_TCP_MAX_SACK)
        return UTCP_DROP_TCP_BAD_OPT_LEN;
      for (size_t b = 0; b < nb; b++) {
        o->sack[b].left = utcp_seq(get32(v + b * TCPOLEN_SACK_BLOCK));
        o->sack[b].right = utcp_seq(get32(v + b * TCPOLEN_SACK_BLOCK + 4));
      }
      o->sack_count = (uint8_t)nb;
      o->present |= UTCP_OPT_SACK;
      break;
    }
    case UTCP_TCPOPT_TS:
      if (olen != TCPOLEN_TS) return UTCP_DROP_TCP_BAD_OPT_LEN;
      o->ts_val = get32(v);
      o->ts_ecr = get32(v + 4);
      o->present |= UTCP_OPT_TS;
      break;
    default:
      /* RFC 9293 3.1: MUST ignore without error any option it does not implement (MUST-6). */
      break;
    }
    i += olen;
  }
  return UTCP_DROP_NONE;
}

enum utcp_drop utcp_tcp_parse(const uint8_t *buf, size_t len, uint32_t src, uint32_t dst,
                              bool verify_cksum, struct utcp_seg *out) {
  if (len < UTCP_TCP_HLEN) return UTCP_DROP_TCP_TRUNCATED;
  size_t hlen = (size_t)(buf[12] >> 4) * 4;
  if (hlen < UTCP_TCP_HLEN || hlen > len) return UTCP_DROP_TCP_BAD_HDR_LEN;
  if (verify_cksum) {
    /* The pseudo-header cannot carry a longer length, so no checksum can match. */
    if (len > IPV4_MAX_LEN) return UTCP_DROP_TCP_BAD_CKSUM;
    uint32_t sum = utcp_cksum_pseudo(src, dst, UTCP_IPPROTO_TCP, (uint16_t)len);
    /* RFC 9293 3.1: the receiver MUST check the checksum (MUST-3). */
    if (utcp_cksum_finish(utcp_cksum_add(sum, buf, len)) != 0) return UTCP_DROP_TCP_BAD_CKSUM;
  }
  memset(&out->opt, 0, sizeof out->opt);
  enum utcp_drop d = parse_opts(buf + UTCP_TCP_HLEN, hlen - UTCP_TCP_HLEN, &out->opt);
  if (d != UTCP_DROP_NONE) return d;

  out->sport = get16(buf);
  out->dport = get16(buf + 2);
  out->seq = utcp_seq(get32(buf + 4));
  out->ack = utcp_seq(get32(buf + 8));
  out->flags = buf[13];
  out->wnd = get16(buf + 14);
  out->urp = get16(buf + 18);
  out->payload = buf + hlen;
  out->len = len - hlen;
  return UTCP_DROP_NONE;
}

/* Writes the options for o into p (room for UTCP_TCP_MAX_OPT_LEN bytes); returns their length,
 * a multiple of 4. */
static size_t write_opts(const struct utcp_tcp_opts *o, uint8_t *p) {
  size_t n = 0;
  if (o->present & UTCP_OPT_MSS) {
    p[n++] = UTCP_TCPOPT_MSS;
    p[n++] = TCPOLEN_MSS;
    put16(p + n, o->mss);
    n += 2;
  }
  if (o->present & UTCP_OPT_TS) {
    if (o->present & UTCP_OPT_SACK_PERM) {
      p[n++] = UTCP_TCPOPT_SACK_PERM;
      p[n++] = TCPOLEN_SACK_PERM;
    } else {
      p[n++] = UTCP_TCPOPT_NOP;
      p[n++] = UTCP_TCPOPT_NOP;
    }
    p[n++] = UTCP_TCPOPT_TS;
    p[n++] = TCPOLEN_TS;
    put32(p + n, o->ts_val);
    put32(p + n + 4, o->ts_ecr);
    n += 8;
  } else if (o->present & UTCP_OPT_SACK_PERM) {
    p[n++] = UTCP_TCPOPT_NOP;
    p[n++] = UTCP_TCPOPT_NOP;
    p[n++] = UTCP_TCPOPT_SACK_PERM;
    p[n++] = TCPOLEN_SACK_PERM;
  }
  if (o->present & UTCP_OPT_WSCALE) {
    p[n++] = UTCP_TCPOPT_NOP;
    p[n++] = UTCP_TCPOPT_WSCALE;
    p[n++] = TCPOLEN_WSCALE;
    p[n++] = o->wscale;
  }
  if (o->present & UTCP_OPT_SACK) {
    size_t room = (UTCP_TCP_MAX_OPT_LEN - n - 4) / TCPOLEN_SACK_BLOCK;
    size_t nb = o->sack_count < room ? o->sack_count : room;
    if (nb > UTCP_TCP_MAX_SACK) nb = UTCP_TCP_MAX_SACK;
    if (nb > 0) {
      p[n++] = UTCP_TCPOPT_NOP;
      p[n++] = UTCP_TCPOPT_NOP;
      p[n++] = UTCP_TCPOPT_SACK;
      p[n++] = (uint8_t)(2 + nb * TCPOLEN_SACK_BLOCK);
      for (size_t b = 0; b < nb; b++) {
        put32(p + n, o->sack[b].left.v);
        put32(p + n + 4, o->sack[b].right.v);
        n += TCPOLEN_SACK_BLOCK;
      }
    }
  }
  UTCP_ASSERT(n % 4 == 0 && n <= UTCP_TCP_MAX_OPT_LEN);
  return n;
}

/* What write_opts writes, counted without writing (every segment sent asks, twice). */
size_t utcp_tcp_opts_len(const struct utcp_tcp_opts *o) {
  size_t n = 0;
  if (o->present & UTCP_OPT_MSS) n += 4;
  if (o->present & (UTCP_OPT_TS | UTCP_OPT_SACK_PERM)) n += 4; /* TS's or SACK-permitted's word */
  if (o->present & UTCP_OPT_TS) n += 8;
  if (o->present & UTCP_OPT_WSCALE) n += 4;
  if (o->present & UTCP_OPT_SACK) {
    size_t room = (UTCP_TCP_MAX_OPT_LEN - n - 4) / TCPOLEN_SACK_BLOCK;
    size_t nb = o->sack_count < room ? o->sack_count : room;
    if (nb > UTCP_TCP_MAX_SACK) nb = UTCP_TCP_MAX_SACK;
    if (nb > 0) n += 4 + nb * TCPOLEN_SACK_BLOCK;
  }
  return n;
}

size_t utcp_tcp_emit(const struct utcp_seg *seg, uint32_t src, uint32_t dst, uint8_t *buf,
                     size_t cap) {
  return utcp_tcp_emit_ex(seg, src, dst, buf, cap, true);
}

size_t utcp_tcp_emit_ex(const struct utcp_seg *seg, uint32_t src, uint32_t dst, uint8_t *buf,
                        size_t cap, bool full_cksum) {
  size_t hlen = UTCP_TCP_HLEN + utcp_tcp_opts_len(&seg->opt);
  UTCP_ASSERT(seg->len <= IPV4_MAX_LEN - UTCP_IPV4_HLEN - hlen);
  if (cap < hlen || cap - hlen < seg->len) return 0;
  if (seg->len > 0 && seg->payload != buf + hlen) memmove(buf + hlen, seg->payload, seg->len);
  put16(buf, seg->sport);
  put16(buf + 2, seg->dport);
  put32(buf + 4, seg->seq.v);
  put32(buf + 8, seg->ack.v);
  buf[12] = (uint8_t)((hlen / 4) << 4);
  buf[13] = seg->flags;
  put16(buf + 14, seg->wnd);
  put16(buf + 16, 0);
  put16(buf + 18, seg->urp);
  size_t written = write_opts(&seg->opt, buf + UTCP_TCP_HLEN);
  UTCP_ASSERT(written == hlen - UTCP_TCP_HLEN);
  (void)written;
  size_t n = hlen + seg->len;
  uint32_t sum = utcp_cksum_pseudo(src, dst, UTCP_IPPROTO_TCP, (uint16_t)n);
  if (!full_cksum) {
    /* Offload: the NIC sums the segment with this field included and writes the complement
     * (DPDK's RTE_MBUF_F_TX_TCP_CKSUM wants the folded, uncomplemented pseudo-header sum). */
    put_cksum(buf + 16, (uint16_t)~utcp_cksum_finish(sum));
    return n;
  }
  put_cksum(buf + 16, utcp_cksum_finish(utcp_cksum_add(sum, buf, n)));
  return n;
}

char *utcp_ipv4_fmt(uint32_t addr, char out[16]) {
  char *p = out;
  for (int shift = 24; shift >= 0; shift -= 8) {
    unsigned v = (addr >> shift) & 0xff;
    if (v >= 100) *p++ = (char)('0' + v / 100);
    if (v >= 10) *p++ = (char)('0' + v / 10 % 10);
    *p++ = (char)('0' + v % 10);
    *p++ = shift ? '.' : '\0';
  }
  return out;
}
