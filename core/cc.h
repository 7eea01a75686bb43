/* Congestion control behind a small interface, so another algorithm (CUBIC) is one more file.
 * The loss-recovery mechanics (duplicate-ACK counting, the recovery point, which segment to
 * retransmit: NewReno, or RFC 6675 with the SACK scoreboard) live in tcp_input.c and
 * tcp_output.c; an algorithm only sizes cwnd and ssthresh. */
#ifndef UTCP_CORE_CC_H
#define UTCP_CORE_CC_H

#include <stdint.h>

struct utcp_stack;
struct utcp_tcb;

struct utcp_cc_ops {
  const char *name;
  /* Connection established: initial window (RFC 6928) and ssthresh. */
  void (*init)(struct utcp_stack *s, struct utcp_tcb *t);
  /* New data acknowledged outside recovery: grow cwnd. */
  void (*on_ack)(struct utcp_stack *s, struct utcp_tcb *t, uint32_t acked);
  /* Third duplicate ACK: set ssthresh and cwnd for fast recovery. */
  void (*on_enter_recovery)(struct utcp_stack *s, struct utcp_tcb *t);
  /* Partial ACK during recovery (RFC 6582 3.2 step 5). */
  void (*on_partial_ack)(struct utcp_stack *s, struct utcp_tcb *t, uint32_t acked);
  /* Further duplicate ACK during recovery: inflate. */
  void (*on_dupack_in_recovery)(struct utcp_stack *s, struct utcp_tcb *t);
  /* Full ACK: leave recovery (RFC 6582 3.2 step 3). */
  void (*on_exit_recovery)(struct utcp_stack *s, struct utcp_tcb *t);
  /* SACK-based loss recovery begins (RFC 6675 5 step 4.2): ssthresh and cwnd for it; no
   * inflation, the pipe estimate does that job. */
  void (*on_enter_sack_recovery)(struct utcp_stack *s, struct utcp_tcb *t);
  /* SACK-based loss recovery ends (RFC 6675 5 step A: RecoveryPoint cumulatively ACKed). */
  void (*on_exit_sack_recovery)(struct utcp_stack *s, struct utcp_tcb *t);
  /* Retransmission timeout (RFC 5681 eq. 4). */
  void (*on_rto)(struct utcp_stack *s, struct utcp_tcb *t);
  /* Sending after an idle period longer than an RTO (RFC 5681 4.1). */
  void (*on_idle_restart)(struct utcp_stack *s, struct utcp_tcb *t);
};

extern const struct utcp_cc_ops utcp_cc_newreno;

/* Bytes in flight: SND.MAX - SND.UNA. */
uint32_t utcp_cc_flight(const struct utcp_tcb *t);

static inline void utcp_cc_idle_restart(struct utcp_stack *s, struct utcp_tcb *t) {
  utcp_cc_newreno.on_idle_restart(s, t);
}

#endif
