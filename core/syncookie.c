#include "syncookie.h"

#include <string.h>

#include "stack_impl.h"

#define PERIOD_NS (64ull * 1000000000ull)
#define MS 1000000ull
#define TS_BITS 0x3fu
#define WS_NONE 15u

/* RFC 4987 3.6: a small table of common MSS values, encoded in 3 bits. */
static const uint16_t mss_table[8] = {216, 536, 1200, 1220, 1360, 1440, 1460, 8960};

static uint32_t cookie_hash(const struct utcp_stack *s, uint32_t laddr, uint16_t lport,
                            uint32_t raddr, uint16_t rport, uint32_t t, uint32_t peer_isn) {
  uint8_t buf[21];
  memcpy(buf, &laddr, 4);
  memcpy(buf + 4, &raddr, 4);
  memcpy(buf + 8, &lport, 2);
  memcpy(buf + 10, &rport, 2);
  memcpy(buf + 12, &t, 4);
  memcpy(buf + 16, &peer_isn, 4);
  buf[20] = 'c'; /* domain separation from the ISN hash under the same key */
  return (uint32_t)utcp_siphash(s->cfg.isn_key, buf, sizeof buf) & 0xffffffu;
}

uint32_t utcp_tcp_ts_offset(const struct utcp_stack *s, uint32_t laddr, uint16_t lport,
                            uint32_t raddr, uint16_t rport) {
  uint8_t buf[13];
  memcpy(buf, &laddr, 4);
  memcpy(buf + 4, &raddr, 4);
  memcpy(buf + 8, &lport, 2);
  memcpy(buf + 10, &rport, 2);
  buf[12] = 't';
  return (uint32_t)utcp_siphash(s->cfg.isn_key, buf, sizeof buf);
}

utcp_seq_t utcp_syncookie_make(const struct utcp_stack *s, uint32_t laddr, uint16_t lport,
                               uint32_t raddr, uint16_t rport, const struct utcp_seg *syn,
                               uint64_t now, uint32_t *ts_val) {
  uint16_t peer_mss = (syn->opt.present & UTCP_OPT_MSS) ? syn->opt.mss : 536;
  uint32_t m = 0;
  while (m + 1 < 8 && mss_table[m + 1] <= peer_mss) m++;
  uint32_t t = (uint32_t)(now / PERIOD_NS) & 31u;
  uint32_t h = cookie_hash(s, laddr, lport, raddr, rport, t, syn->seq.v);
  if (ts_val != NULL && (syn->opt.present & UTCP_OPT_TS)) {
    uint32_t ws = (syn->opt.present & UTCP_OPT_WSCALE) && s->cfg.tcp.wscale
                      ? (syn->opt.wscale > 14 ? 14u : syn->opt.wscale)
                      : WS_NONE;
    uint32_t sack = (syn->opt.present & UTCP_OPT_SACK_PERM) && s->cfg.tcp.sack ? 1u : 0u;
    uint32_t base = (uint32_t)(now / MS) + utcp_tcp_ts_offset(s, laddr, lport, raddr, rport);
    /* Rounded up so that the connection's later TSvals (offset + 128) never go backwards. */
    *ts_val = ((base + 64u) & ~TS_BITS) | (sack << 4) | ws;
  }
  return utcp_seq((t << 27) | (m << 24) | h);
}

bool utcp_syncookie_check(const struct utcp_stack *s, uint32_t laddr, uint16_t lport,
                          uint32_t raddr, uint16_t rport, const struct utcp_seg *ack,
                          uint64_t now, struct utcp_syncookie *out) {
  uint32_t cookie = ack->ack.v - 1;
  uint32_t peer_isn = ack->seq.v - 1;
  uint32_t t = cookie >> 27, m = (cookie >> 24) & 7u;
  uint32_t now_t = (uint32_t)(now / PERIOD_NS) & 31u;
  /* Valid for the current period and the one before (64 to 128 s). */
  if (((now_t - t) & 31u) > 1) return false;
  if (cookie_hash(s, laddr, lport, raddr, rport, t, peer_isn) != (cookie & 0xffffffu))
    return false;
  memset(out, 0, sizeof *out);
  out->mss = mss_table[m];
  if (ack->opt.present & UTCP_OPT_TS) {
    uint32_t bits = ack->opt.ts_ecr & TS_BITS;
    out->ts_ok = s->cfg.tcp.timestamps;
    out->sack_ok = (bits >> 4) & 1u;
    out->ws_ok = (bits & 15u) != WS_NONE;
    out->wscale = out->ws_ok ? (uint8_t)(bits & 15u) : 0;
    out->ts_recent = ack->opt.ts_val;
  }
  return true;
}
