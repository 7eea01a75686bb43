/* TCP timers: retransmission (RFC 6298), persist (RFC 9293 3.8.6.1), delayed ACK
 * (RFC 1122 4.2.3.2), keepalive (RFC 1122 4.2.3.6) and TIME-WAIT (RFC 9293 3.10.7.4). Each TCB
 * keeps one deadline per timer and sits in the stack's timing wheel at the earliest of them. */
#include <stddef.h>

#include "cc.h"
#include "tcp_impl.h"

/* The earliest armed deadline, 0 if none. Unarmed (0) deadlines wrap to UINT64_MAX under the
 * minus one, so a plain minimum skips them without a branch (this runs on every segment). */
static uint64_t earliest(const struct utcp_tcb *t) {
  uint64_t m = t->t_rexmt - 1;
  uint64_t d[] = {t->t_persist - 1, t->t_delack - 1, t->t_keep - 1, t->t_2msl - 1,
                  t->t_zwait - 1};
  for (size_t i = 0; i < sizeof d / sizeof d[0]; i++) m = d[i] < m ? d[i] : m;
  return m + 1;
}

void utcp_tcb_timers_update(struct utcp_stack *s, struct utcp_tcb *t) {
  utcp_tcb_zw_update(s, t);
  /* Keepalive runs while an application that asked for it has an idle connection. */
  if ((t->flags & TF_KEEPALIVE) && t->t_keep == 0 &&
      (t->state == UTCP_TCP_ESTABLISHED || t->state == UTCP_TCP_CLOSE_WAIT))
    t->t_keep = s->now + t->keepidle_ns;
  if (!(t->flags & TF_KEEPALIVE)) t->t_keep = 0;
  uint64_t m = earliest(t);
  if (m == 0) {
    utcp_timer_stop(&s->tcp->wheel, &t->timer);
  } else if (!utcp_timer_running(&t->timer) || t->timer.expires_ns > m) {
    /* A wheel timer due no later than m stays armed: if it fires first, fire() finds nothing
     * due and re-arms it for m. Moving it on every ACK (the RTO restart of RFC 6298 5.3, which
     * only ever moves later) would stop and start it once per segment. */
    utcp_timer_start(&s->tcp->wheel, &t->timer, m);
  }
}

void utcp_tcb_timers_stop(struct utcp_stack *s, struct utcp_tcb *t) {
  t->t_rexmt = t->t_persist = t->t_delack = t->t_keep = t->t_2msl = t->t_zwait = 0;
  utcp_timer_stop(&s->tcp->wheel, &t->timer);
}

void utcp_tcp_rearm_rexmt(struct utcp_stack *s, struct utcp_tcb *t, uint64_t now) {
  /* RFC 6298 5.5 and Karn: the backed-off RTO stays until a new RTT sample, not merely until
   * an ACK (the note after 5.7): an ACK of retransmitted data leaves it doubled. */
  uint64_t rto = t->rto_ns << t->rto_backoff;
  if (rto > s->cfg.tcp.rto_max_ns || (t->rto_backoff > 0 && (rto >> t->rto_backoff) != t->rto_ns))
    rto = s->cfg.tcp.rto_max_ns;
  t->t_rexmt = now + rto;
}

/* RFC 6298 2.2 and 2.3, with G the timer tick. */
void utcp_tcp_rtt_sample(struct utcp_stack *s, struct utcp_tcb *t, uint64_t r) {
  const struct utcp_tcp_config *c = &s->cfg.tcp;
  if (!t->rtt_valid) {
    t->srtt_ns = r;
    t->rttvar_ns = r / 2;
    t->rtt_valid = true;
  } else {
    uint64_t diff = t->srtt_ns > r ? t->srtt_ns - r : r - t->srtt_ns;
    t->rttvar_ns = (3 * t->rttvar_ns + diff) / 4; /* beta = 1/4 */
    t->srtt_ns = (7 * t->srtt_ns + r) / 8;        /* alpha = 1/8 */
  }
  uint64_t g = 1ull << UTCP_TIMER_TICK_SHIFT;
  uint64_t k = 4 * t->rttvar_ns;
  uint64_t rto = t->srtt_ns + (k > g ? k : g);
  if (rto < c->rto_min_ns) rto = c->rto_min_ns; /* RFC 6298 2.4 */
  if (rto > c->rto_max_ns) rto = c->rto_max_ns; /* RFC 6298 2.5 */
  t->rto_ns = rto;
  t->rxt_shift = 0; /* a fresh sample ends the backoff (RFC 6298 5.7 and Karn) */
  t->rto_backoff = 0;
}

static void on_rexmt(struct utcp_stack *s, struct utcp_tcb *t, uint64_t now) {
  const struct utcp_tcp_config *c = &s->cfg.tcp;
  bool syn = t->state == UTCP_TCP_SYN_SENT || t->state == UTCP_TCP_SYN_RECEIVED;
  uint32_t limit = syn ? c->syn_retries : c->data_retries;
  if (t->rxt_shift >= limit) {
    /* RFC 1122 4.2.3.5: past R2, close the connection and tell the application. */
    s->ctr.tcp_abort_on_timeout++;
    utcp_tcb_drop(s, t, UTCP_ERR_TIMEDOUT);
    return;
  }
  t->rxt_shift++;
  if (t->rto_backoff < 30) t->rto_backoff++;
  UTCP_COVER(s, rto_fired);
  if (syn) UTCP_COVER(s, syn_rexmt);
  if (!syn) utcp_cc_newreno.on_rto(s, t);
  /* RFC 6298 5.5 backoff (rearm doubles via rxt_shift); 5.4 retransmit the earliest segment;
   * Karn: no RTT sample from what was sent before. */
  t->rtt_timing = false;
  t->flags &= ~TF_INRECOVERY;
  t->dupacks = 0;
  t->recover = t->snd_max; /* RFC 6582 4: no fast retransmit for what was sent before the RTO */
  /* RFC 2018 8 / RFC 6675 5.1: the receiver may have reneged: forget what it SACKed (SACK
   * blocks arriving from now on are used again), and go on from SND.UNA in slow start. */
  if (t->sb.n > 0) {
    UTCP_COVER(s, sack_rto_cleared);
    s->ctr.tcp_sack_rto_cleared++;
  }
  utcp_sack_clear(&t->sb);
  t->snd_nxt = t->snd_una;
#ifdef UTCP_BREAK_SKIP_REXMT
  /* A DELIBERATE BUG, only in the `utcp-sim-broken` test build: the retransmission skips the
   * earliest unacknowledged segment and resends from the one after it. A hole that only the
   * RTO can fill (a lost retransmission, a lost tail) is never filled, so the transfer stalls
   * until its deadline: the swarm must catch it (tests `swarm_broken_caught`). */
  if (!syn) {
    uint32_t out = (uint32_t)utcp_seq_diff(t->snd_max, t->snd_una);
    t->snd_nxt = utcp_seq_add(t->snd_una, out < t->smss ? out : t->smss);
  }
#endif
  utcp_tcp_rearm_rexmt(s, t, now);
  utcp_tcp_output(s, t, now);
}

static void on_persist(struct utcp_stack *s, struct utcp_tcb *t, uint64_t now) {
  /* RFC 1122 4.2.2.17: keep probing a zero window as long as the peer answers. */
  UTCP_COVER(s, persist_probe);
  if (t->rxt_shift < 16) t->rxt_shift++;
  /* RFC 9293 3.8.6.1: every probe carries the first unacknowledged octet again, so each one
   * can elicit the window (a second probe would otherwise find no octet inside it). */
  t->snd_nxt = t->snd_una;
  t->flags |= TF_FORCE_ONE;
  utcp_tcp_output(s, t, now);
  t->flags &= ~TF_FORCE_ONE;
  /* RFC 1122 4.2.2.17: while the window stays closed this timer repeats the probe, backing
   * off, for as long as the peer answers; the retransmission timer (whose retry limit would
   * end the connection, and whose firing sends nothing into a zero window) stays off. As in
   * BSD, SND.NXT stays at the probed octet, so the data goes (again) once the window opens;
   * and the probe is not timed (its ACK waits for the window, not the path). */
  if (t->snd_wnd == 0) {
    t->t_rexmt = 0;
    t->snd_nxt = t->snd_una;
    t->rtt_timing = false;
  }
  if (t->t_persist == 0 && t->t_rexmt == 0) {
    uint64_t d = t->rto_ns << t->rxt_shift;
    if (d < s->cfg.tcp.persist_min_ns) d = s->cfg.tcp.persist_min_ns;
    if (d > s->cfg.tcp.persist_max_ns) d = s->cfg.tcp.persist_max_ns;
    t->t_persist = now + d;
  }
}

static void on_keepalive(struct utcp_stack *s, struct utcp_tcb *t, uint64_t now) {
  if (!(t->flags & TF_KEEPALIVE) ||
      (t->state != UTCP_TCP_ESTABLISHED && t->state != UTCP_TCP_CLOSE_WAIT))
    return;
  if (t->keep_probes >= t->keepcnt) {
    s->ctr.tcp_abort_on_timeout++;
    utcp_tcb_drop(s, t, UTCP_ERR_TIMEDOUT);
    return;
  }
  /* RFC 1122 4.2.3.6: a segment with SEG.SEQ = SND.NXT - 1 that the peer must ACK. */
  UTCP_COVER(s, keepalive_probe);
  t->keep_probes++;
  utcp_tcp_send_ctl(s, t, utcp_seq_add(t->snd_una, UINT32_MAX), t->rcv_nxt, UTCP_TCP_ACK, now);
  t->t_keep = now + t->keepintvl_ns;
}

static void fire(void *arg, struct utcp_timer *timer) {
  struct utcp_stack *s = arg;
  struct utcp_tcb *t = (struct utcp_tcb *)((char *)timer - offsetof(struct utcp_tcb, timer));
  uint64_t now = s->now;
  if (t->t_2msl != 0 && t->t_2msl <= now) {
    t->t_2msl = 0;
    /* TIME-WAIT over (or an orphan stuck in FIN-WAIT-2): delete the TCB. */
    utcp_tcb_set_state(s, t, UTCP_TCP_CLOSED);
    utcp_tcb_drop(s, t, 0);
    return;
  }
  if (t->t_zwait != 0 && t->t_zwait <= now) {
    t->t_zwait = 0;
    if (utcp_tcb_zw_expired(s, t, now)) return;
  }
  if (t->t_rexmt != 0 && t->t_rexmt <= now) {
    t->t_rexmt = 0;
    on_rexmt(s, t, now);
    if (!t->used || t->state == UTCP_TCP_CLOSED) return;
  }
  if (t->t_persist != 0 && t->t_persist <= now) {
    t->t_persist = 0;
    on_persist(s, t, now);
  }
  if (t->t_delack != 0 && t->t_delack <= now) {
    t->t_delack = 0;
    UTCP_COVER(s, delayed_ack);
    t->flags |= TF_ACKNOW;
    utcp_tcp_output(s, t, now);
  }
  if (t->t_keep != 0 && t->t_keep <= now) {
    t->t_keep = 0;
    on_keepalive(s, t, now);
    if (!t->used || t->state == UTCP_TCP_CLOSED) return;
  }
  utcp_tcb_timers_update(s, t);
}

uint64_t utcp_tcp_next_deadline(const struct utcp_stack *s) {
  return utcp_timer_next(&s->tcp->wheel);
}

void utcp_tcp_on_timer(struct utcp_stack *s, uint64_t now) {
  utcp_timer_expire(&s->tcp->wheel, now, fire, s);
  /* While writers find the pool dry, stalls that have grown old enough are reclaimed as time
   * passes, not only when a write or an arriving segment next meets the dry pool: the floor
   * kept for received data means arrivals may never meet it, and blocked writers wait. */
  if (s->tcp->pool_dry) utcp_tcb_zw_pressure(s, NULL, now);
}
