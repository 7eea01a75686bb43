/* Wire formats: Ethernet II, ARP (RFC 826), IPv4 (RFC 791), ICMP echo (RFC 792) and TCP with its
 * options (RFC 9293, 7323, 2018). Each parser checks lengths once and fills a small struct; after
 * it returns UTCP_DROP_NONE no field or pointer in the struct reaches outside (buf, len). Each
 * emitter writes from the same struct and returns the bytes written, or 0 when cap is too small.
 * Addresses are host byte order in the structs. Parsers never keep state between calls. */
#ifndef UTCP_CORE_WIRE_H
#define UTCP_CORE_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "drop.h"
#include "seq.h"

/* ---- Ethernet II ---- */
#define UTCP_ETH_HLEN 14
#define UTCP_ETHERTYPE_IPV4 0x0800
#define UTCP_ETHERTYPE_ARP 0x0806

struct utcp_mac {
  uint8_t b[6];
};

struct utcp_eth {
  struct utcp_mac dst, src;
  uint16_t type;
  const uint8_t *payload; /* parse only */
  size_t payload_len;     /* parse only */
};

enum utcp_drop utcp_eth_parse(const uint8_t *buf, size_t len, struct utcp_eth *out);
/* Writes the 14-byte header only. */
size_t utcp_eth_emit(const struct utcp_eth *eth, uint8_t *buf, size_t cap);

bool utcp_mac_eq(const struct utcp_mac *a, const struct utcp_mac *b);
bool utcp_mac_is_broadcast(const struct utcp_mac *m);
bool utcp_mac_is_multicast(const struct utcp_mac *m); /* includes broadcast */
extern const struct utcp_mac utcp_mac_broadcast;
extern const struct utcp_mac utcp_mac_zero;

/* ---- ARP over Ethernet for IPv4 (RFC 826) ---- */
#define UTCP_ARP_LEN 28
#define UTCP_ARP_REQUEST 1
#define UTCP_ARP_REPLY 2

struct utcp_arp {
  uint16_t op;
  struct utcp_mac sha;
  uint32_t spa;
  struct utcp_mac tha;
  uint32_t tpa;
};

/* Drops: ARP_TRUNCATED, ARP_BAD_FORMAT (htype != 1, ptype != 0x0800, hlen != 6, plen != 4),
 * ARP_BAD_OP (op not 1 or 2). Trailing bytes (Ethernet padding) are ignored. */
enum utcp_drop utcp_arp_parse(const uint8_t *buf, size_t len, struct utcp_arp *out);
size_t utcp_arp_emit(const struct utcp_arp *arp, uint8_t *buf, size_t cap);

/* ---- IPv4 (RFC 791) ---- */
#define UTCP_IPV4_HLEN 20
#define UTCP_IPPROTO_ICMP 1
#define UTCP_IPPROTO_TCP 6
#define UTCP_IPV4_DF 0x4000
#define UTCP_IPV4_MF 0x2000
#define UTCP_IPV4_OFFMASK 0x1fff

struct utcp_ipv4 {
  uint8_t tos;
  uint16_t id;
  uint16_t frag; /* flags and fragment offset, as on the wire */
  uint8_t ttl;
  uint8_t proto;
  uint32_t src, dst;
  const uint8_t *payload; /* parse only */
  size_t payload_len;     /* total length minus header; emit uses it for total length */
};

/* Drops: IP_TRUNCATED, IP_BAD_VERSION, IP_BAD_HDR_LEN, IP_BAD_TOTAL_LEN (total length below the
 * header or beyond len; bytes past total length are link padding and ignored), IP_BAD_CKSUM,
 * IP_OPTIONS (IHL > 5), IP_FRAGMENT (MF set or offset non-zero). */
enum utcp_drop utcp_ipv4_parse(const uint8_t *buf, size_t len, struct utcp_ipv4 *out);
/* Writes a 20-byte header with total length 20 + ip->payload_len and a correct checksum. */
size_t utcp_ipv4_emit(const struct utcp_ipv4 *ip, uint8_t *buf, size_t cap);

/* ---- ICMP (RFC 792) ---- */
#define UTCP_ICMP_HLEN 8
#define UTCP_ICMP_ECHO_REPLY 0
#define UTCP_ICMP_DEST_UNREACH 3
#define UTCP_ICMP_ECHO_REQUEST 8

struct utcp_icmp {
  uint8_t type, code;
  uint16_t id, seq;   /* echo request/reply; the raw rest-of-header otherwise */
  const uint8_t *data; /* bytes after the 8-byte header */
  size_t data_len;
};

/* Drops: ICMP_TRUNCATED (len < 8), ICMP_BAD_CKSUM (over all len bytes). */
enum utcp_drop utcp_icmp_parse(const uint8_t *buf, size_t len, struct utcp_icmp *out);
/* Writes header plus icmp->data (data may already sit at buf + 8) with a correct checksum. */
size_t utcp_icmp_emit(const struct utcp_icmp *icmp, uint8_t *buf, size_t cap);

/* ---- TCP (RFC 9293) ---- */
#define UTCP_TCP_HLEN 20
#define UTCP_TCP_MAX_OPT_LEN 40
#define UTCP_TCP_FIN 0x01
#define UTCP_TCP_SYN 0x02
#define UTCP_TCP_RST 0x04
#define UTCP_TCP_PSH 0x08
#define UTCP_TCP_ACK 0x10
#define UTCP_TCP_URG 0x20
#define UTCP_TCP_ECE 0x40
#define UTCP_TCP_CWR 0x80

#define UTCP_TCPOPT_EOL 0
#define UTCP_TCPOPT_NOP 1
#define UTCP_TCPOPT_MSS 2
#define UTCP_TCPOPT_WSCALE 3
#define UTCP_TCPOPT_SACK_PERM 4
#define UTCP_TCPOPT_SACK 5
#define UTCP_TCPOPT_TS 8

/* Bits of utcp_tcp_opts.present. */
#define UTCP_OPT_MSS 0x01
#define UTCP_OPT_WSCALE 0x02
#define UTCP_OPT_SACK_PERM 0x04
#define UTCP_OPT_SACK 0x08
#define UTCP_OPT_TS 0x10

#define UTCP_TCP_MAX_SACK 4

struct utcp_sack_block {
  utcp_seq_t left, right; /* [left, right) */
};

struct utcp_tcp_opts {
  uint8_t present; /* UTCP_OPT_* */
  uint8_t wscale;  /* as received; the caller clamps to 14 (RFC 7323 2.3) */
  uint16_t mss;
  uint8_t sack_count;
  struct utcp_sack_block sack[UTCP_TCP_MAX_SACK];
  uint32_t ts_val, ts_ecr;
};

struct utcp_seg {
  uint16_t sport, dport;
  utcp_seq_t seq, ack;
  uint8_t flags; /* UTCP_TCP_* */
  uint16_t wnd;  /* raw header field, unscaled */
  uint16_t urp;
  struct utcp_tcp_opts opt;
  const uint8_t *payload;
  size_t len; /* payload bytes */
};

/* Parses a TCP segment of len bytes (the IPv4 payload). With verify_cksum the pseudo-header
 * checksum over src/dst (host order) is checked. Unknown options are skipped by their length;
 * EOL ends the option list. Drops: TCP_TRUNCATED, TCP_BAD_HDR_LEN, TCP_BAD_CKSUM,
 * TCP_BAD_OPT_LEN (length 0 or 1, past the header, or wrong for MSS(4)/WSCALE(3)/SACK_PERM(2)/
 * TS(10)/SACK(2+8n, n 1..4)). */
enum utcp_drop utcp_tcp_parse(const uint8_t *buf, size_t len, uint32_t src, uint32_t dst,
                              bool verify_cksum, struct utcp_seg *out);

/* Length of the options utcp_tcp_emit writes for opt, padded to a multiple of 4, at most 40.
 * Layout as common stacks send it: on any segment MSS first; SACK_PERM+TS as
 * (SACK_PERM, TS) or (NOP, NOP, TS); (NOP, WSCALE); (NOP, NOP, SACK blocks). SACK blocks are cut
 * to what still fits in 40 bytes. */
size_t utcp_tcp_opts_len(const struct utcp_tcp_opts *opt);

/* Writes header, options and seg->payload (which may already sit at its place after the
 * header; memmove semantics) and the checksum over the pseudo-header of src/dst. */
size_t utcp_tcp_emit(const struct utcp_seg *seg, uint32_t src, uint32_t dst, uint8_t *buf,
                     size_t cap);
/* The same; with full_cksum false the checksum field gets the folded pseudo-header sum for a
 * NIC to complete (transmit checksum offload) instead of the checksum. */
size_t utcp_tcp_emit_ex(const struct utcp_seg *seg, uint32_t src, uint32_t dst, uint8_t *buf,
                        size_t cap, bool full_cksum);

/* Bytes of sequence space a segment occupies: payload plus one each for SYN and FIN. */
static inline uint32_t utcp_seg_seqlen(const struct utcp_seg *seg) {
  return (uint32_t)seg->len + ((seg->flags & UTCP_TCP_SYN) ? 1u : 0u) +
         ((seg->flags & UTCP_TCP_FIN) ? 1u : 0u);
}

/* Formats an IPv4 address "a.b.c.d" into out (at least 16 bytes); returns out. */
char *utcp_ipv4_fmt(uint32_t addr, char out[16]);

#endif
