/* NewReno: RFC 5681 slow start and congestion avoidance with appropriate byte counting
 * (RFC 3465, L = 2 SMSS), RFC 6582 fast recovery, RFC 6675 cwnd/ssthresh for SACK-based
 * recovery, RFC 6928 initial window. */
#include "cc.h"

#include "tcp_impl.h"

uint32_t utcp_cc_flight(const struct utcp_tcb *t) {
  return (uint32_t)utcp_seq_diff(t->snd_max, t->snd_una);
}

static uint32_t initial_window(const struct utcp_stack *s, const struct utcp_tcb *t) {
  uint32_t iw = s->cfg.tcp.iw_segments;
  if (iw == 10) {
    /* RFC 6928 2: min(10*MSS, max(2*MSS, 14600)). */
    uint32_t cap = 2u * t->smss > 14600u ? 2u * t->smss : 14600u;
    return 10u * t->smss < cap ? 10u * t->smss : cap;
  }
  return iw * t->smss;
}

static void nr_init(struct utcp_stack *s, struct utcp_tcb *t) {
  t->cwnd = initial_window(s, t);
  /* RFC 5681 3.1: ssthresh SHOULD be set arbitrarily high initially. */
  t->ssthresh = UINT32_MAX;
  t->bytes_acked_ca = 0;
}

static void nr_on_ack(struct utcp_stack *s, struct utcp_tcb *t, uint32_t acked) {
  (void)s;
  if (t->cwnd < t->ssthresh) {
    /* RFC 3465 2.2: slow start grows by the bytes acked, at most L = 2 SMSS per ACK. */
    uint32_t inc = acked < 2u * t->smss ? acked : 2u * t->smss;
    t->cwnd += inc;
  } else {
    /* RFC 3465 2.1 / RFC 5681 eq. 3: one SMSS per cwnd of bytes acknowledged. */
    t->bytes_acked_ca += acked;
    if (t->bytes_acked_ca >= t->cwnd) {
      t->bytes_acked_ca -= t->cwnd;
      t->cwnd += t->smss;
    }
  }
}

static uint32_t half_flight(const struct utcp_tcb *t) {
  /* RFC 5681 eq. 4: ssthresh = max(FlightSize / 2, 2*SMSS). */
  uint32_t half = utcp_cc_flight(t) / 2;
  return half > 2u * t->smss ? half : 2u * t->smss;
}

static void nr_enter_recovery(struct utcp_stack *s, struct utcp_tcb *t) {
  (void)s;
  /* RFC 5681 3.2 step 2: "additional data sent in limited transmit MUST NOT be included in
   * this calculation" (eq. 4). */
  uint32_t flight = utcp_cc_flight(t);
  flight = flight > t->lt_bytes ? flight - t->lt_bytes : 0;
  t->ssthresh = flight / 2 > 2u * t->smss ? flight / 2 : 2u * t->smss;
  /* RFC 5681 3.2 step 3 / RFC 6582 3.2 step 2: cwnd = ssthresh + 3*SMSS. */
  t->cwnd = t->ssthresh + 3u * t->smss;
}

static void nr_on_partial_ack(struct utcp_stack *s, struct utcp_tcb *t, uint32_t acked) {
  (void)s;
  /* RFC 6582 3.2 step 5: deflate by the amount acked, add back one SMSS if that was at
   * least one SMSS. */
  t->cwnd = t->cwnd > acked ? t->cwnd - acked : t->smss;
  if (acked >= t->smss) t->cwnd += t->smss;
}

static void nr_dupack_in_recovery(struct utcp_stack *s, struct utcp_tcb *t) {
  (void)s;
  t->cwnd += t->smss; /* RFC 5681 3.2 step 4 */
}

static void nr_exit_recovery(struct utcp_stack *s, struct utcp_tcb *t) {
  (void)s;
  /* RFC 6582 3.2 step 3, option (1): min(ssthresh, max(FlightSize, SMSS) + SMSS). */
  uint32_t flight = utcp_cc_flight(t);
  uint32_t w = (flight > t->smss ? flight : t->smss) + t->smss;
  t->cwnd = w < t->ssthresh ? w : t->ssthresh;
  t->bytes_acked_ca = 0;
}

static void nr_enter_sack_recovery(struct utcp_stack *s, struct utcp_tcb *t) {
  (void)s;
  /* RFC 6675 5 (4.2): ssthresh = cwnd = FlightSize / 2, with RFC 5681 eq. 4's floor of
   * 2*SMSS; data sent by limited transmit is not part of FlightSize here (RFC 5681 3.2). */
  uint32_t flight = utcp_cc_flight(t);
  flight = flight > t->lt_bytes ? flight - t->lt_bytes : 0;
  t->ssthresh = flight / 2 > 2u * t->smss ? flight / 2 : 2u * t->smss;
  t->cwnd = t->ssthresh;
  t->bytes_acked_ca = 0;
}

static void nr_exit_sack_recovery(struct utcp_stack *s, struct utcp_tcb *t) {
  (void)s;
  /* RFC 6675 leaves cwnd at ssthresh through recovery; congestion avoidance resumes from it. */
  t->cwnd = t->ssthresh;
  t->bytes_acked_ca = 0;
}

static void nr_on_rto(struct utcp_stack *s, struct utcp_tcb *t) {
  (void)s;
  /* RFC 5681 3.1: on the first timeout ssthresh from eq. 4; cwnd to the loss window, 1 SMSS.
   * A timeout during backoff leaves ssthresh alone (eq. 4 would halve an empty flight). */
  if (t->rxt_shift <= 1) t->ssthresh = half_flight(t);
  t->cwnd = t->smss;
  t->bytes_acked_ca = 0;
}

static void nr_idle_restart(struct utcp_stack *s, struct utcp_tcb *t) {
  /* RFC 5681 4.1: RW = min(IW, cwnd). */
  uint32_t rw = initial_window(s, t);
  if (rw < t->cwnd) t->cwnd = rw;
}

const struct utcp_cc_ops utcp_cc_newreno = {
    .name = "newreno",
    .init = nr_init,
    .on_ack = nr_on_ack,
    .on_enter_recovery = nr_enter_recovery,
    .on_partial_ack = nr_on_partial_ack,
    .on_dupack_in_recovery = nr_dupack_in_recovery,
    .on_exit_recovery = nr_exit_recovery,
    .on_enter_sack_recovery = nr_enter_sack_recovery,
    .on_exit_sack_recovery = nr_exit_sack_recovery,
    .on_rto = nr_on_rto,
    .on_idle_restart = nr_idle_restart,
};
