/* SYN cookies (RFC 4987 3.6): when a listener's SYN queue is full, the SYN-ACK's ISN encodes
 * what the connection needs, so no state is kept until the peer's ACK returns it.
 *   ISN = t (5 bits, 64 s periods) | MSS index (3 bits) | 24-bit keyed hash of the 4-tuple,
 *         t and the peer's ISN.
 * With timestamps, the low 6 bits of our TSval carry the peer's window scale (4 bits,
 * 15 = none) and SACK-permitted (1 bit); the peer echoes them in TSecr. Without timestamps a
 * cookie connection has no window scaling and no SACK, as RFC 4987 notes. */
#ifndef UTCP_CORE_SYNCOOKIE_H
#define UTCP_CORE_SYNCOOKIE_H

#include <stdbool.h>
#include <stdint.h>

#include "seq.h"
#include "wire.h"

struct utcp_stack;

/* What a valid cookie gives back. */
struct utcp_syncookie {
  uint16_t mss;    /* the peer's MSS, rounded down to the table */
  bool ts_ok;
  bool sack_ok;
  bool ws_ok;
  uint8_t wscale;  /* the peer's shift */
  uint32_t ts_recent;
};

/* Cookie ISN for a SYN from (raddr, rport) to (laddr, lport); fills *ts_val with the TSval
 * to send when the SYN carried timestamps. */
utcp_seq_t utcp_syncookie_make(const struct utcp_stack *s, uint32_t laddr, uint16_t lport,
                               uint32_t raddr, uint16_t rport, const struct utcp_seg *syn,
                               uint64_t now, uint32_t *ts_val);

/* Checks the ACK that completes a cookie handshake (SEG.ACK - 1 is the cookie). */
bool utcp_syncookie_check(const struct utcp_stack *s, uint32_t laddr, uint16_t lport,
                          uint32_t raddr, uint16_t rport, const struct utcp_seg *ack,
                          uint64_t now, struct utcp_syncookie *out);

/* A per-connection timestamp offset (RFC 7323 5.4) that both the cookie path and a normal
 * connection derive from the 4-tuple under the stack's secret. */
uint32_t utcp_tcp_ts_offset(const struct utcp_stack *s, uint32_t laddr, uint16_t lport,
                            uint32_t raddr, uint16_t rport);

#endif
