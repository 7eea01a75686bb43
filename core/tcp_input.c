/* TCP input: RFC 9293 3.10.7 "SEGMENT ARRIVES", step by step, with RFC 5961 (blind-attack
 * mitigations), RFC 7323 (PAWS, timestamps, window scaling), RFC 6298 (RTT samples) and
 * RFC 5681/6582 (duplicate ACKs, NewReno fast recovery) or, with SACK agreed, RFC 6675
 * (SACK-based loss recovery, with the scoreboard of sack.c). Bad segments are counted drops. */
#include <string.h>

#include "cc.h"
#include "syncookie.h"
#include "tcp_impl.h"

#define MS 1000000ull
#define PAWS_IDLE_NS (24ull * 24 * 3600 * 1000000000ull) /* RFC 7323 5.5: 24 days */

/* Options of a SYN (or SYN-ACK) applied to a new connection: RFC 7323 1.3, RFC 2018 2. */
static void apply_syn_options(struct utcp_stack *s, struct utcp_tcb *t, const struct utcp_seg *seg,
                              bool passive) {
  const struct utcp_tcp_config *c = &s->cfg.tcp;
  const struct utcp_tcp_opts *o = &seg->opt;
  t->peer_mss = (o->present & UTCP_OPT_MSS) ? o->mss : c->mss_default;
  t->ws_ok = c->wscale && (o->present & UTCP_OPT_WSCALE);
  if (t->ws_ok) {
    /* RFC 7323 2.3: a shift above 14 is used as 14 (and logged). */
    t->snd_wscale = o->wscale > 14 ? 14 : o->wscale;
    t->rcv_wscale = t->req_wscale;
  } else {
    t->snd_wscale = t->rcv_wscale = 0;
    if (passive) t->req_wscale = 0;
  }
  t->sack_ok = c->sack && (o->present & UTCP_OPT_SACK_PERM);
  t->ts_ok = c->timestamps && (o->present & UTCP_OPT_TS);
  if (t->ts_ok) {
    t->ts_recent = o->ts_val;
    t->ts_recent_age_ns = s->now;
  }
  /* Effective send MSS (RFC 9293 3.7.1, RFC 6691): the peer's MSS, our path MTU and the user's
   * cap, less the options every segment carries. */
  uint32_t mss = t->peer_mss;
  uint32_t mtu_mss = (uint32_t)s->cfg.mtu - UTCP_IPV4_HLEN - UTCP_TCP_HLEN;
  if (mss > mtu_mss) mss = mtu_mss;
  if (t->user_mss != 0 && mss > t->user_mss) mss = t->user_mss;
  if (t->ts_ok) mss = mss > 12 ? mss - 12 : 0; /* a peer MSS below 12 must not wrap */
  if (mss < 64) mss = 64; /* a peer announcing a tiny MSS still gets some payload per segment */
  t->smss = (uint16_t)mss;
}

static void text_and_fin(struct utcp_stack *s, struct utcp_tcb *t, const struct utcp_seg *seg,
                         uint64_t now);

/* RFC 6298 5.7: "If the timer expires awaiting the ACK of a SYN segment and the TCP
 * implementation is using an RTO less than 3 seconds, the RTO MUST be re-initialized to 3
 * seconds when data transmission begins". Called before rxt_shift is cleared. */
static void syn_rexmt_rto_floor(const struct utcp_stack *s, struct utcp_tcb *t) {
  uint64_t floor_ns = 3000ull * MS;
  if (floor_ns > s->cfg.tcp.rto_max_ns) floor_ns = s->cfg.tcp.rto_max_ns;
  if (t->rxt_shift > 0 && t->rto_ns < floor_ns) t->rto_ns = floor_ns;
}

/* syn_rexmts: how often our SYN or SYN-ACK was retransmitted. */
static void established(struct utcp_stack *s, struct utcp_tcb *t, uint32_t syn_rexmts) {
  utcp_cc_newreno.init(s, t);
  /* RFC 5681 3.1: after a lost SYN or SYN-ACK the IW "MUST be one segment"; RFC 6928 2
   * recommends that only after more than one retransmission. */
  if (syn_rexmts > 1) t->cwnd = t->smss;
  t->recover = t->iss; /* RFC 6582 3.2 step 1 */
  utcp_tcb_set_state(s, t, UTCP_TCP_ESTABLISHED);
  utcp_tcb_event(s, t, UTCP_EV_CONNECTED);
  utcp_tcb_event(s, t, UTCP_EV_WRITABLE);
}

/* ---- LISTEN (RFC 9293 3.10.7.2) ---- */

/* A connection born on listener l from a segment of ip: the listener's settings, queued in its
 * SYN queue, sequence space initialised. NULL (counted) when the table is full. */
static struct utcp_tcb *new_child(struct utcp_stack *s, struct utcp_tcb *l,
                                  const struct utcp_ipv4 *ip, const struct utcp_seg *seg) {
  struct utcp_tcb *t = utcp_tcb_alloc(s);
  if (t == NULL) {
    /* Table full: refused at once with a RST, as a closed port would (RFC 9293 3.10.7.1),
     * so the peer fails fast (ECONNREFUSED) instead of retrying into a full table. */
    utcp_count_drop(s, UTCP_DROP_TCP_NO_TCB);
    utcp_tcp_respond_rst(s, ip, seg);
    return NULL;
  }
  t->laddr = ip->dst;
  t->lport = seg->dport;
  t->raddr = ip->src;
  t->rport = seg->sport;
  t->flags |= TF_PASSIVE | (l->flags & (TF_NODELAY | TF_KEEPALIVE));
  t->sndbuf = l->sndbuf;
  t->rcvbuf = l->rcvbuf;
  t->user_mss = l->user_mss;
  t->keepidle_ns = l->keepidle_ns;
  t->keepintvl_ns = l->keepintvl_ns;
  t->keepcnt = l->keepcnt;
  t->linger = l->linger;
  t->listener = tcb_index(s, l) + 1;
  l->synq_len++;
  return t;
}

static void sync_input(struct utcp_stack *s, struct utcp_tcb *t, const struct utcp_seg *seg,
                       uint64_t now);

/* RFC 4987 3.6: an ACK to a listener that answered with cookies lately may complete a cookie
 * handshake. A valid cookie becomes a SYN-RECEIVED connection and the ACK is then processed as
 * in that state. Returns false when the ACK is no cookie (the caller answers with RST). */
static bool cookie_ack(struct utcp_stack *s, struct utcp_tcb *l, const struct utcp_ipv4 *ip,
                       const struct utcp_seg *seg, uint64_t now) {
  const uint64_t window_ns = 128ull * 1000000000ull; /* two cookie periods */
  if (!s->cfg.tcp.syncookies || l->last_cookie_ns == 0 || now + 1 - l->last_cookie_ns > window_ns)
    return false;
  struct utcp_syncookie ck;
  if (!utcp_syncookie_check(s, ip->dst, seg->dport, ip->src, seg->sport, seg, now, &ck)) {
    s->ctr.tcp_syncookies_failed++;
    return false;
  }
  if (l->acceptq_len >= l->backlog) {
    s->ctr.tcp_attempt_fails++;
    utcp_count_drop(s, UTCP_DROP_TCP_LISTEN_OVERFLOW);
    return true; /* the peer retransmits; no RST for a valid cookie */
  }
  struct utcp_tcb *t = new_child(s, l, ip, seg);
  if (t == NULL) return true;
  s->ctr.tcp_syncookies_recv++;
  utcp_tcb_init_conn(s, t, now);
  /* The state the SYN-ACK was sent from, rebuilt from the cookie. */
  t->iss = utcp_seq_add(seg->ack, UINT32_MAX);
  t->snd_una = t->iss;
  t->snd_nxt = t->snd_max = seg->ack;
  t->irs = utcp_seq_add(seg->seq, UINT32_MAX);
  t->rcv_nxt = seg->seq;
  t->rcv_adv = t->rcv_nxt;
  struct utcp_seg syn = {.seq = t->irs};
  syn.opt.present = UTCP_OPT_MSS;
  syn.opt.mss = ck.mss;
  if (ck.ts_ok) {
    syn.opt.present |= UTCP_OPT_TS;
    syn.opt.ts_val = ck.ts_recent;
    if (ck.ws_ok) {
      syn.opt.present |= UTCP_OPT_WSCALE;
      syn.opt.wscale = ck.wscale;
    }
    if (ck.sack_ok) syn.opt.present |= UTCP_OPT_SACK_PERM;
  }
  apply_syn_options(s, t, &syn, true);
  t->last_ack_sent = t->rcv_nxt;
  t->snd_wl1 = seg->seq;
  t->snd_wl2 = t->iss;
  utcp_tcb_hash_insert(s, t);
  utcp_tcb_set_state(s, t, UTCP_TCP_SYN_RECEIVED);
  s->ctr.tcp_passive_opens++;
  sync_input(s, t, seg, now);
  return true;
}

static void listen_input(struct utcp_stack *s, struct utcp_tcb *l, const struct utcp_ipv4 *ip,
                         const struct utcp_seg *seg, uint64_t now) {
  /* First, check for a RST: an incoming RST should be ignored. */
  if (seg->flags & UTCP_TCP_RST) return;
  /* Second, check for an ACK: any acknowledgment is bad in LISTEN: <SEQ=SEG.ACK><CTL=RST>. */
  if (seg->flags & UTCP_TCP_ACK) {
    if (!(seg->flags & UTCP_TCP_SYN) && cookie_ack(s, l, ip, seg, now)) return;
    utcp_tcp_respond_rst(s, ip, seg);
    return;
  }
  /* Third, check for a SYN. Anything else is dropped ("Fourth, other data or control"). */
  if (!(seg->flags & UTCP_TCP_SYN)) return;
  if (l->acceptq_len >= l->backlog) {
    s->ctr.tcp_attempt_fails++;
    utcp_count_drop(s, UTCP_DROP_TCP_LISTEN_OVERFLOW);
    return;
  }
  if (l->synq_len >= s->cfg.tcp.syn_backlog) {
    if (s->cfg.tcp.syncookies) {
      /* RFC 4987 3.6: under SYN-queue pressure, answer without keeping state. */
      l->last_cookie_ns = now + 1; /* + 1: zero means never */
      utcp_tcp_send_cookie_synack(s, l, ip, seg, now);
      return;
    }
    s->ctr.tcp_attempt_fails++;
    utcp_count_drop(s, UTCP_DROP_TCP_LISTEN_OVERFLOW);
    return;
  }
  struct utcp_tcb *t = new_child(s, l, ip, seg);
  if (t == NULL) return;
  utcp_tcb_init_conn(s, t, now);
  /* RCV.NXT = SEG.SEQ + 1, IRS = SEG.SEQ; SYN,ACK with SEQ = ISS; SND.NXT = ISS + 1. */
  t->irs = seg->seq;
  t->rcv_nxt = utcp_seq_add(seg->seq, 1);
  t->rcv_adv = t->rcv_nxt;
  apply_syn_options(s, t, seg, true);
  /* RFC 9293 3.10.7.2: the window is taken from the SYN unscaled. */
  t->snd_wnd = seg->wnd;
  t->max_sndwnd = t->snd_wnd;
  t->snd_wl1 = seg->seq;
  t->snd_wl2 = t->iss;
  utcp_tcb_hash_insert(s, t);
  utcp_tcb_set_state(s, t, UTCP_TCP_SYN_RECEIVED);
  s->ctr.tcp_passive_opens++;
  /* SYN data is queued for after ESTABLISHED by RFC 9293; utcp does not keep it (the peer
   * retransmits it), which RFC 9293 permits. */
  utcp_tcp_output(s, t, now);
}

/* ---- SYN-SENT (RFC 9293 3.10.7.3) ---- */

static void syn_sent_input(struct utcp_stack *s, struct utcp_tcb *t, const struct utcp_ipv4 *ip,
                           const struct utcp_seg *seg, uint64_t now) {
  bool ack_ok = false;
  /* First, check the ACK bit. */
  if (seg->flags & UTCP_TCP_ACK) {
    /* If SEG.ACK =< ISS or SEG.ACK > SND.NXT, send a reset (unless RST) and discard. */
    if (utcp_seq_le(seg->ack, t->iss) || utcp_seq_gt(seg->ack, t->snd_max)) {
      if (!(seg->flags & UTCP_TCP_RST)) utcp_tcp_respond_rst(s, ip, seg);
      utcp_count_drop(s, UTCP_DROP_TCP_BAD_ACK);
      return;
    }
    /* If SND.UNA < SEG.ACK =< SND.NXT, the ACK is acceptable. */
    ack_ok = utcp_seq_lt(t->snd_una, seg->ack) && utcp_seq_le(seg->ack, t->snd_max);
  }
  /* Second, check the RST bit. */
  if (seg->flags & UTCP_TCP_RST) {
    /* RFC 5961 3.2 / RFC 9293: only a RST acknowledging our SYN resets; RST without ACK is
     * dropped. */
    if (ack_ok) {
      utcp_tcb_drop(s, t, UTCP_ERR_CONNREFUSED);
    } else {
      utcp_count_drop(s, UTCP_DROP_TCP_BAD_RST);
    }
    return;
  }
  /* Fourth, check the SYN bit (the third, security, does not apply). */
  if (!(seg->flags & UTCP_TCP_SYN)) {
    utcp_count_drop(s, UTCP_DROP_TCP_NO_SYN);
    return;
  }
  t->irs = seg->seq;
  t->rcv_nxt = utcp_seq_add(seg->seq, 1);
  t->rcv_adv = t->rcv_nxt;
  apply_syn_options(s, t, seg, false);
  if (ack_ok) {
    t->snd_una = seg->ack;
    /* RFC 6298 3 and Karn: the SYN's RTT is a sample unless the SYN was retransmitted. */
    if (t->rtt_timing && t->rxt_shift == 0) utcp_tcp_rtt_sample(s, t, now - t->rtt_start_ns);
    t->rtt_timing = false;
  }
  if (utcp_seq_gt(t->snd_una, t->iss)) {
    /* Our SYN has been ACKed: ESTABLISHED; window from the SYN-ACK, unscaled. */
    t->snd_wnd = seg->wnd;
    t->max_sndwnd = t->snd_wnd;
    t->snd_wl1 = seg->seq;
    t->snd_wl2 = seg->ack;
    t->t_rexmt = 0;
    syn_rexmt_rto_floor(s, t);
    uint32_t syn_rexmts = t->rxt_shift;
    t->rxt_shift = 0;
    t->rto_backoff = 0; /* RFC 6298 5.7: the RTO is re-initialised when data begins */
    t->snd_nxt = t->snd_max;
    established(s, t, syn_rexmts);
    t->flags |= TF_ACKNOW;
    /* "If there are other controls or text in the segment, continue processing at the sixth
     * step" (the text starts after the SYN's sequence number). */
    if (seg->len > 0 || (seg->flags & UTCP_TCP_FIN)) {
      struct utcp_seg rest = *seg;
      rest.seq = utcp_seq_add(seg->seq, 1);
      rest.flags &= (uint8_t)~UTCP_TCP_SYN;
      text_and_fin(s, t, &rest, now);
    }
    utcp_tcp_output(s, t, now);
    return;
  }
  /* Simultaneous open: SYN-RECEIVED, <SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK>. */
  UTCP_COVER(s, simultaneous_open);
  t->snd_wnd = seg->wnd;
  t->max_sndwnd = t->snd_wnd;
  t->snd_wl1 = seg->seq;
  t->snd_wl2 = t->iss;
  utcp_tcb_set_state(s, t, UTCP_TCP_SYN_RECEIVED);
  t->snd_nxt = t->iss;
  t->t_rexmt = 0;
  utcp_tcp_output(s, t, now);
  /* Data in the SYN is not kept (see listen_input); the peer retransmits it. */
}

/* ---- synchronised states (RFC 9293 3.10.7.4) ---- */

/* RFC 9293 3.10.7.4 first check: the four cases of segment acceptability. */
static bool acceptable(const struct utcp_tcb *t, const struct utcp_seg *seg, uint32_t rcv_wnd) {
  uint32_t seglen = utcp_seg_seqlen(seg);
  utcp_seq_t wnd_end = utcp_seq_add(t->rcv_nxt, rcv_wnd);
  if (seglen == 0) {
    if (rcv_wnd == 0) return utcp_seq_eq(seg->seq, t->rcv_nxt);
    return utcp_seq_in(seg->seq, t->rcv_nxt, wnd_end);
  }
  if (rcv_wnd == 0) return false;
  utcp_seq_t last = utcp_seq_add(seg->seq, seglen - 1);
  return utcp_seq_in(seg->seq, t->rcv_nxt, wnd_end) || utcp_seq_in(last, t->rcv_nxt, wnd_end);
}

/* Our receive window for the acceptability test: what we advertised, at least. */
static uint32_t rcv_wnd_now(struct utcp_stack *s, const struct utcp_tcb *t) {
  uint32_t space = utcp_tcp_rcv_space(s, t);
  int32_t adv = utcp_seq_diff(t->rcv_adv, t->rcv_nxt);
  if (adv > 0 && (uint32_t)adv > space) space = (uint32_t)adv;
  return space;
}

static void enter_time_wait(struct utcp_stack *s, struct utcp_tcb *t, uint64_t now) {
  utcp_tcb_set_state(s, t, UTCP_TCP_TIME_WAIT);
  t->t_rexmt = t->t_persist = t->t_keep = t->t_delack = 0;
  t->t_2msl = now + 2 * s->cfg.tcp.msl_ns;
  utcp_tcb_sndq_clear(s, t);
  utcp_reass_clear(&s->tcp->reass, &t->reass);
}

/* RFC 6675 5 (4): enter SACK-based loss recovery and retransmit the first hole. */
static void sack_enter_recovery(struct utcp_stack *s, struct utcp_tcb *t, uint64_t now) {
  UTCP_COVER(s, fast_retransmit);
  UTCP_COVER(s, sack_recovery);
  s->ctr.tcp_sack_recovery_episodes++;
  t->recover = t->snd_max; /* (4.1) RecoveryPoint = HighData (recover is one past it) */
  t->flags |= TF_INRECOVERY;
  utcp_cc_newreno.on_enter_sack_recovery(s, t); /* (4.2) */
  /* RFC 6937 3: prr_delivered = prr_out = 0, RecoverFS = snd.nxt - snd.una. */
  t->prr_delivered = t->prr_out = t->prr_last_delivered = 0;
  t->prr_recover_fs = (uint32_t)utcp_seq_diff(t->snd_max, t->snd_una);
  /* (4.3) Retransmit the segment at HighACK + 1 (SND.UNA), cut where SACKed data begins; set
   * HighRxt and RescueRxt to its last octet. */
  t->high_rxt = t->snd_una;
  t->rescue_rxt = utcp_seq_add(t->snd_una, UINT32_MAX);
  utcp_seq_t seq;
  uint32_t len;
  if (utcp_sack_next_hole(&t->sb, t->snd_una, t->snd_una, false, t->smss, t->smss, &seq, &len)) {
    int sent = utcp_tcp_send_rexmit(s, t, seq, len, now);
    if (sent > 0) {
      t->high_rxt = utcp_seq_add(seq, (uint32_t)sent);
      t->rescue_rxt = utcp_seq_add(t->high_rxt, UINT32_MAX);
      t->prr_out += (uint32_t)sent;
    }
  }
  /* (4.4), (4.5): SetPipe and step (C) in utcp_tcp_output. */
  utcp_tcp_output(s, t, now);
}

/* RFC 6675 5 for every ACK of a SACK connection: Update() the scoreboard; outside recovery an
 * ACK with new SACK information is a duplicate ACK (RFC 6675 2), which enters recovery at
 * DupThresh or when IsLost(HighACK + 1) (steps 1, 2, 4), else may release new data while
 * cwnd - pipe >= 1 SMSS (step 3, limited transmit). */
static void sack_ack(struct utcp_stack *s, struct utcp_tcb *t, const struct utcp_seg *seg,
                     uint64_t now) {
  utcp_sack_trim(&t->sb, t->snd_una);
  if (!(seg->opt.present & UTCP_OPT_SACK) || seg->opt.sack_count == 0) return;
  struct utcp_sack_update u =
      utcp_sack_update(&t->sb, seg->opt.sack, seg->opt.sack_count, seg->ack, t->snd_una,
                       t->snd_max, s->cfg.tcp.sack_max_ranges);
  s->ctr.tcp_sack_blocks_invalid += u.invalid;
  s->ctr.tcp_sack_dsack_recv += u.dsack;
  s->ctr.tcp_sack_scoreboard_full += u.overflow;
  if (u.dsack > 0) UTCP_COVER(s, dsack_received);
  /* RFC 2883: a D-SACK is no loss signal; only new SACK information counts. */
  if (u.newly_sacked == 0 || (t->flags & TF_INRECOVERY)) return;
  t->dupacks++;
  if (t->dupacks == 1) t->lt_bytes = 0;
  /* RFC 6675 5.1 (and RFC 6582 4): no new recovery until HighACK reaches the RecoveryPoint
   * of the last recovery or RTO. */
  if (utcp_seq_ge(t->snd_una, t->recover)) {
    if (t->dupacks >= UTCP_SACK_DUPTHRESH) { /* (1) */
      sack_enter_recovery(s, t, now);
      return;
    }
    if (utcp_sack_is_lost(&t->sb, t->snd_una, t->smss)) { /* (2) */
      UTCP_COVER(s, sack_lost_entry);
      sack_enter_recovery(s, t, now);
      return;
    }
  }
  /* (3) Limited transmit (RFC 3042 as RFC 6675 words it): HighRxt = HighACK, SetPipe, then
   * whole segments of new data while cwnd - pipe >= 1 SMSS and the peer's window allows. */
  /* Not after an RTO until its RecoveryPoint is reached (RFC 6675 5.1: the recovery
   * algorithm is off then, and pipe would miss what go-back-N resent). */
  if (!utcp_seq_eq(t->snd_nxt, t->snd_max) || utcp_seq_lt(t->snd_una, t->recover)) return;
  t->high_rxt = t->snd_una;
  uint32_t pipe = utcp_sack_pipe(&t->sb, t->snd_una, t->snd_max, t->high_rxt, t->smss);
  if (t->cwnd < pipe || t->cwnd - pipe < t->smss) return;
  uint32_t cwnd = t->cwnd;
  utcp_seq_t before = t->snd_max;
  t->cwnd = utcp_cc_flight(t) + (cwnd - pipe) / t->smss * t->smss;
  utcp_tcp_output(s, t, now);
  t->cwnd = cwnd;
  if (!utcp_seq_eq(before, t->snd_max)) {
    UTCP_COVER(s, limited_transmit);
    t->lt_bytes += (uint32_t)utcp_seq_diff(t->snd_max, before); /* not in FlightSize (4.2) */
  }
}

/* Processing of an acceptable ACK field (fifth check), for ESTABLISHED and the closing
 * states. Returns false when the segment is to be dropped. */
static bool process_ack(struct utcp_stack *s, struct utcp_tcb *t, const struct utcp_seg *seg,
                        uint64_t now) {
  /* RFC 5961 5.2: acceptable if SND.UNA - MAX.SND.WND =< SEG.ACK =< SND.NXT; otherwise send
   * an ACK and drop. */
  utcp_seq_t lo = utcp_seq_add(t->snd_una, (uint32_t)-(int32_t)(t->max_sndwnd ? t->max_sndwnd : 1));
  if (utcp_seq_gt(seg->ack, t->snd_max)) {
    /* RFC 9293: "If the ACK acks something not yet sent (SEG.ACK > SND.NXT), then send an
     * ACK, drop the segment, and return." */
    UTCP_COVER(s, ack_unsent_data);
    utcp_count_drop(s, UTCP_DROP_TCP_ACK_UNSENT);
    utcp_tcp_challenge_ack(s, t, now);
    return false;
  }
  if (utcp_seq_lt(seg->ack, lo)) {
    utcp_count_drop(s, UTCP_DROP_TCP_ACK_TOO_OLD);
    utcp_tcp_challenge_ack(s, t, now);
    return false;
  }

  uint32_t seg_wnd = (uint32_t)seg->wnd << t->snd_wscale;
  uint32_t acked = 0;
  utcp_seq_t una_before = t->snd_una;
  uint32_t sacked_before = t->sb.sacked;
  if (utcp_seq_gt(seg->ack, t->snd_una)) {
    acked = (uint32_t)utcp_seq_diff(seg->ack, t->snd_una);
    /* RTT: RFC 7323 4.3 from the echoed timestamp, otherwise the timed segment (Karn). */
    if (t->ts_ok && (seg->opt.present & UTCP_OPT_TS) && seg->opt.ts_ecr != 0) {
      uint32_t delta = utcp_tcp_ts_now(t, now) - seg->opt.ts_ecr;
      if (delta < 0x7fffffffu) utcp_tcp_rtt_sample(s, t, (uint64_t)delta * MS + MS / 2);
    } else if (t->rtt_timing && utcp_seq_gt(seg->ack, t->rtt_seq)) {
      utcp_tcp_rtt_sample(s, t, now - t->rtt_start_ns);
      t->rtt_timing = false;
    }
    /* Our FIN counts in the sequence space but not in the send queue. */
    uint32_t data_acked = acked > t->sndq.len ? t->sndq.len : acked;
    utcp_tcb_sndq_consume(s, t, data_acked);
    t->bytes_acked += data_acked;
    /* SND.WND is relative to SND.WL2, not SND.UNA: when SND.UNA moves and this segment does
     * not update the window (SEG.SEQ < SND.WL1, a late retransmission), the right edge must
     * stay where the peer put it (RFC 9293 3.8.6; FreeBSD: snd_wnd -= acked). */
    t->snd_wnd = acked < t->snd_wnd ? t->snd_wnd - acked : 0;

    if ((t->flags & TF_INRECOVERY) && t->sack_ok) {
      /* RFC 6675 5: a cumulative ACK resets DupAcks. */
      t->snd_una = seg->ack;
      t->dupacks = 0;
      if (utcp_seq_ge(seg->ack, t->recover)) {
        /* RFC 6675 5 (A): RecoveryPoint is acknowledged: recovery ends (the scoreboard above
         * SND.UNA is kept). Otherwise (B) and (C) follow in sack_ack and utcp_tcp_output. */
        utcp_cc_newreno.on_exit_sack_recovery(s, t);
        t->flags &= ~TF_INRECOVERY;
      }
    } else if (t->flags & TF_INRECOVERY) {
      if (utcp_seq_ge(seg->ack, t->recover)) {
        /* RFC 6582 3.2 step 3: full acknowledgment. */
        t->snd_una = seg->ack;
        utcp_cc_newreno.on_exit_recovery(s, t);
        t->flags &= ~TF_INRECOVERY;
        t->dupacks = 0;
      } else {
        /* Step 5: partial acknowledgment: retransmit the first unacknowledged segment. */
        UTCP_COVER(s, partial_ack);
        t->snd_una = seg->ack;
        utcp_cc_newreno.on_partial_ack(s, t, acked);
        utcp_seq_t next = t->snd_nxt;
        t->snd_nxt = t->snd_una;
        uint32_t cwnd = t->cwnd;
        t->cwnd = t->smss; /* exactly one segment */
        utcp_tcp_output(s, t, now);
        t->cwnd = cwnd;
        if (utcp_seq_gt(next, t->snd_nxt)) t->snd_nxt = next;
        /* RFC 6582 3.2 step 5: reset the retransmit timer on the first partial ACK. */
        utcp_tcp_rearm_rexmt(s, t, now);
      }
    } else {
      t->snd_una = seg->ack;
      t->dupacks = 0;
      utcp_cc_newreno.on_ack(s, t, acked);
      /* Sequence numbers compare only within 2^31 (RFC 9293 3.4): `recover` follows SND.UNA
       * once passed, so "SND.UNA >= recover" stays true however long no loss occurs. */
      if (utcp_seq_gt(t->snd_una, t->recover)) t->recover = t->snd_una;
    }
    if (utcp_seq_lt(t->snd_nxt, t->snd_una)) t->snd_nxt = t->snd_una;
    /* RFC 6298 5.2 / 5.3: stop the timer when all is acked, else restart it (NewReno
     * recovery restarts it on partial ACKs itself; RFC 6675 6 keeps RFC 6298's rule). */
    if (utcp_seq_eq(t->snd_una, t->snd_max)) {
      t->t_rexmt = 0;
    } else if (!(t->flags & TF_INRECOVERY) || t->sack_ok) {
      utcp_tcp_rearm_rexmt(s, t, now);
    }
    t->rxt_shift = 0;
    t->t_persist = 0;
    if (t->sndq.len < t->sndbuf) utcp_tcb_event(s, t, UTCP_EV_WRITABLE);
  } else if (!t->sack_ok && utcp_seq_eq(seg->ack, t->snd_una) && seg->len == 0 &&
             !(seg->flags & (UTCP_TCP_SYN | UTCP_TCP_FIN)) &&
             utcp_seq_gt(t->snd_max, t->snd_una) && seg_wnd == t->snd_wnd && seg_wnd > 0) {
    /* RFC 5681 2 "duplicate acknowledgment": no data, no SYN/FIN, ACK = SND.UNA, same window,
     * data outstanding. Answers to zero-window probes are not (the window, not a loss, holds
     * the data back; BSD likewise counts none while the retransmission timer is off). */
    t->dupacks++;
    if (t->dupacks == 1) t->lt_bytes = 0;
    if (t->flags & TF_INRECOVERY) {
      utcp_cc_newreno.on_dupack_in_recovery(s, t);
    } else if (t->dupacks <= 2 && utcp_seq_eq(t->snd_nxt, t->snd_max)) {
      /* RFC 3042 2: on the first two duplicate ACKs send one new segment if the peer's window
       * allows and FlightSize stays within cwnd + 2*SMSS; cwnd itself is not changed. */
      uint32_t cwnd = t->cwnd;
      uint32_t sent_before = utcp_cc_flight(t);
      t->cwnd = cwnd + t->dupacks * t->smss;
      if (sent_before < t->cwnd) {
        UTCP_COVER(s, limited_transmit);
        utcp_tcp_output(s, t, now);
        t->lt_bytes += utcp_cc_flight(t) - sent_before;
      }
      t->cwnd = cwnd;
    } else if (t->dupacks == 3) {
      /* RFC 6582 3.2 step 2: only if the ACK covers more than recover, the highest sequence
       * number sent when the last recovery or RTO began (t->recover holds that plus one). */
      if (utcp_seq_ge(seg->ack, t->recover)) {
        UTCP_COVER(s, fast_retransmit);
        t->recover = t->snd_max;
        t->flags |= TF_INRECOVERY;
        utcp_cc_newreno.on_enter_recovery(s, t);
        /* Retransmit the lost segment: one segment from SND.UNA. */
        utcp_seq_t next = t->snd_nxt;
        uint32_t cwnd = t->cwnd;
        t->snd_nxt = t->snd_una;
        t->cwnd = t->smss;
        utcp_tcp_output(s, t, now);
        t->cwnd = cwnd;
        if (utcp_seq_gt(next, t->snd_nxt)) t->snd_nxt = next;
        t->rtt_timing = false;
      }
    }
  }
  /* With SACK agreed, RFC 6675 replaces the RFC 5681 duplicate ACK and NewReno. */
  if (t->sack_ok) sack_ack(s, t, seg, now);
  if ((t->flags & TF_INRECOVERY) && t->sack_ok) {
    /* RFC 6937 3: DeliveredData = (change in snd.una) + (change in SACKed); the ACK that
     * starts recovery counts too. utcp_tcp_output spends it (sack_output). */
    int64_t delivered = (int64_t)utcp_seq_diff(t->snd_una, una_before) +
                        ((int64_t)t->sb.sacked - (int64_t)sacked_before);
    t->prr_last_delivered = delivered > 0 ? (uint32_t)delivered : 0;
    t->prr_delivered += t->prr_last_delivered;
  }

  /* Window update (RFC 9293 3.10.7.4): if SND.WL1 < SEG.SEQ or (SND.WL1 = SEG.SEQ and
   * SND.WL2 =< SEG.ACK), set SND.WND <- SEG.WND, SND.WL1 <- SEG.SEQ, SND.WL2 <- SEG.ACK.
   * Also when SND.WL2 < SEG.ACK (as Linux): the peer's ACKs never go back, so a segment that
   * acknowledges more was sent later, and its window is the current one even if its sequence
   * number is old (a retransmission). Ignoring it would leave SND.WND measured from an older
   * ACK while SND.UNA + SND.WND moves right: data beyond the peer's advertised edge. SND.WL1
   * never moves left, so a stale segment cannot pass the test later. */
  /* Only "if SND.UNA =< SEG.ACK =< SND.NXT": a window measured from an ACK older than
   * SND.UNA would put the edge past what the peer offered. */
  if (utcp_seq_ge(seg->ack, t->snd_una) &&
      (utcp_seq_lt(t->snd_wl1, seg->seq) ||
       (utcp_seq_eq(t->snd_wl1, seg->seq) && utcp_seq_le(t->snd_wl2, seg->ack)) ||
       utcp_seq_lt(t->snd_wl2, seg->ack))) {
    bool opened = seg_wnd > t->snd_wnd;
    t->snd_wnd = seg_wnd;
    if (utcp_seq_gt(seg->seq, t->snd_wl1)) t->snd_wl1 = seg->seq;
    t->snd_wl2 = seg->ack;
    if (seg_wnd > t->max_sndwnd) t->max_sndwnd = seg_wnd;
    if (opened && seg_wnd > 0) t->t_persist = 0;
    if (opened && t->rxt_shift > 0 && utcp_seq_eq(t->snd_una, t->snd_max)) t->rxt_shift = 0;
  }

  /* State-specific parts of the fifth check. */
  bool fin_acked = (t->flags & TF_FIN_SENT) && utcp_seq_eq(t->snd_una, t->snd_max) &&
                   t->sndq.len == 0;
  switch (t->state) {
    case UTCP_TCP_FIN_WAIT_1:
      if (fin_acked) {
        utcp_tcb_set_state(s, t, UTCP_TCP_FIN_WAIT_2);
        /* An orphan in FIN-WAIT-2 would wait forever for a FIN that may never come. */
        if (t->flags & TF_ORPHAN) t->t_2msl = now + 2 * s->cfg.tcp.msl_ns;
      }
      break;
    case UTCP_TCP_CLOSING:
      if (fin_acked) {
        enter_time_wait(s, t, now);
      } else {
        /* RFC 9293: "otherwise ignore the segment", but its ACK was processed as in
         * ESTABLISHED: data queued before our FIN, and the FIN, may go out now. Nothing else
         * would send them (no timer runs once all that was sent is acknowledged). */
        utcp_tcp_output(s, t, now);
        return false;
      }
      break;
    case UTCP_TCP_LAST_ACK:
      if (fin_acked) {
        utcp_tcb_drop(s, t, 0);
        return false;
      }
      break;
    default:
      break;
  }
  return true;
}

/* Seventh check: segment text. Returns whether data was delivered in order. */
static void process_data(struct utcp_stack *s, struct utcp_tcb *t, const struct utcp_seg *seg,
                         uint64_t now) {
  struct utcp_tcp *tcp = s->tcp;
  const uint8_t *data = seg->payload;
  uint32_t len = (uint32_t)seg->len;
  utcp_seq_t seq = seg->seq;
  /* Trim what lies before RCV.NXT and beyond the window (RFC 9293 3.10.7.4 first check). */
  int32_t before = utcp_seq_diff(t->rcv_nxt, seq);
  if (before > 0) {
    /* RFC 2883 4: the part already received is reported as a D-SACK block. */
    uint32_t dup = (uint32_t)before < len ? (uint32_t)before : len;
    utcp_tcb_note_dsack(t, seq, utcp_seq_add(seq, dup));
    t->flags |= TF_ACKNOW;
    if ((uint32_t)before >= len) {
      len = 0;
    } else {
      data += before;
      len -= (uint32_t)before;
      seq = t->rcv_nxt;
    }
  }
  uint32_t wnd = rcv_wnd_now(s, t);
  uint32_t off = (uint32_t)utcp_seq_diff(seq, t->rcv_nxt);
  if (len > 0 && off + len > wnd) len = off >= wnd ? 0 : wnd - off;
  if (len == 0) return;

  if (t->flags & TF_SHUT_RD) {
    /* Data after shutdown(SHUT_RD) is acknowledged and discarded, as Linux does. */
    if (off == 0) t->rcv_nxt = utcp_seq_add(t->rcv_nxt, len);
    t->flags |= TF_ACKNOW;
    return;
  }

  if (off == 0 && t->reass.n_ranges == 0) {
    size_t n = utcp_bufq_append(&tcp->chunks, &t->rcvq, data, len);
    if (n == 0) {
      utcp_count_drop(s, UTCP_DROP_TCP_NO_BUFFER);
      utcp_tcb_zw_pressure(s, t, now); /* room for the retransmission */
      t->flags |= TF_ACKNOW;
      return;
    }
    t->rcv_nxt = utcp_seq_add(t->rcv_nxt, (uint32_t)n);
    t->bytes_received += n;
    utcp_tcb_event(s, t, UTCP_EV_READABLE);
    /* RFC 5681 4.2 / RFC 1122 4.2.3.2: ACK at least every second full-sized segment, and
     * within the delayed-ACK timeout. */
    t->segs_since_ack++;
    if (n < len) {
      t->flags |= TF_ACKNOW;
    } else if (t->segs_since_ack >= 2) {
      t->flags |= TF_ACKNOW;
    } else if (!(t->flags & TF_DELACK)) {
      t->flags |= TF_DELACK;
      t->t_delack = now + s->cfg.tcp.delack_ns;
    }
    return;
  }

  /* Out of order, or filling a hole: through the reassembly queue. RFC 5681 4.2: ACK
   * immediately in both cases. */
  bool filled = off == 0;
  uint32_t total = 0;
  if (filled) {
    /* The bytes at RCV.NXT go straight to the receive queue: the segment that fills a hole
     * must never be refused by the reassembly limits, or the connection could not advance. */
    uint32_t gap = (uint32_t)utcp_seq_diff(tcp->reass.nodes[t->reass.head - 1].seq, t->rcv_nxt);
    uint32_t lim = len < gap ? len : gap;
    size_t n = utcp_bufq_append(&tcp->chunks, &t->rcvq, data, lim);
    if (n < lim) {
      utcp_count_drop(s, UTCP_DROP_TCP_NO_BUFFER);
      utcp_tcb_zw_pressure(s, t, now);
    }
    t->rcv_nxt = utcp_seq_add(t->rcv_nxt, (uint32_t)n);
    total = (uint32_t)n;
    len = n < lim ? 0 : len - lim;
    data += lim;
    seq = utcp_seq_add(seq, lim);
  }
  if (len > 0) {
    struct utcp_reass_result r = utcp_reass_insert(&tcp->reass, &t->reass, seq, data, len,
                                                   s->cfg.tcp.reass_max_ranges, wnd);
    if (r.refused) utcp_count_drop(s, UTCP_DROP_TCP_REASS_FULL);
    /* RFC 2883 4.1.3 / 4.2: a (partial) duplicate of held data: its first duplicate run goes
     * in the D-SACK block, unless a part below RCV.NXT, earlier in sequence, already did. */
    if (r.dup > 0 && before <= 0)
      utcp_tcb_note_dsack(t, r.dup_seq, utcp_seq_add(r.dup_seq, r.dup_len));
  }
  if (!filled) UTCP_COVER(s, ooo_queued);
  uint32_t moved;
  while ((moved = utcp_reass_pull(&tcp->reass, &t->reass, t->rcv_nxt, &t->rcvq)) > 0) {
    t->rcv_nxt = utcp_seq_add(t->rcv_nxt, moved);
    total += moved;
  }
  if (total > 0) {
    UTCP_COVER(s, hole_filled);
    t->bytes_received += total;
    utcp_tcb_event(s, t, UTCP_EV_READABLE);
  }
  t->flags |= TF_ACKNOW;
}

static void process_fin(struct utcp_stack *s, struct utcp_tcb *t, uint64_t now) {
  /* Eighth check: the FIN. Advance RCV.NXT over it and acknowledge it. */
  t->rcv_nxt = utcp_seq_add(t->rcv_nxt, 1);
  t->flags |= TF_RCVD_FIN | TF_ACKNOW;
  t->fin_ooo = false;
  utcp_tcb_event(s, t, UTCP_EV_READABLE);
  utcp_tcb_event(s, t, UTCP_EV_PEER_CLOSED);
  switch (t->state) {
    case UTCP_TCP_SYN_RECEIVED:
    case UTCP_TCP_ESTABLISHED:
      utcp_tcb_set_state(s, t, UTCP_TCP_CLOSE_WAIT);
      break;
    case UTCP_TCP_FIN_WAIT_1:
      /* If our FIN has been ACKed, TIME-WAIT; otherwise CLOSING. */
      if ((t->flags & TF_FIN_SENT) && utcp_seq_eq(t->snd_una, t->snd_max) && t->sndq.len == 0) {
        enter_time_wait(s, t, now);
      } else {
        UTCP_COVER(s, simultaneous_close);
        utcp_tcb_set_state(s, t, UTCP_TCP_CLOSING);
      }
      break;
    case UTCP_TCP_FIN_WAIT_2:
      enter_time_wait(s, t, now);
      break;
    case UTCP_TCP_TIME_WAIT:
      t->t_2msl = now + 2 * s->cfg.tcp.msl_ns; /* restart the 2 MSL time-wait timeout */
      break;
    default: /* CLOSE-WAIT, CLOSING, LAST-ACK: remain */
      break;
  }
}

/* Sixth to eighth checks of RFC 9293 3.10.7.4: URG, segment text, FIN. */
static void text_and_fin(struct utcp_stack *s, struct utcp_tcb *t, const struct utcp_seg *seg,
                         uint64_t now) {
  /* Sixth: URG. utcp delivers urgent data inline as ordinary data (RFC 6093). */

  /* Seventh: segment text, in ESTABLISHED, FIN-WAIT-1 and FIN-WAIT-2 only. */
  bool has_fin = (seg->flags & UTCP_TCP_FIN) != 0;
  if (seg->len > 0) {
    if (t->state == UTCP_TCP_ESTABLISHED || t->state == UTCP_TCP_FIN_WAIT_1 ||
        t->state == UTCP_TCP_FIN_WAIT_2) {
      process_data(s, t, seg, now);
    } else {
      /* CLOSE-WAIT, CLOSING, LAST-ACK: the peer already sent FIN; ignore the text. */
      utcp_count_drop(s, UTCP_DROP_TCP_DATA_AFTER_FIN);
    }
  }

  /* Eighth: FIN, once everything before it has arrived. */
  if (has_fin && !(t->flags & TF_RCVD_FIN)) {
    utcp_seq_t fin_seq = utcp_seq_add(seg->seq, (uint32_t)seg->len);
    if (utcp_seq_eq(fin_seq, t->rcv_nxt)) {
      process_fin(s, t, now);
    } else if (utcp_seq_gt(fin_seq, t->rcv_nxt)) {
      t->fin_ooo = true; /* remembered: processed when the data before it arrives */
      t->fin_seq = fin_seq;
      /* RFC 5681 4.2: an out-of-order segment, a bare FIN too, gets an immediate dup ACK. */
      t->flags |= TF_ACKNOW;
    }
  } else if (t->fin_ooo && utcp_seq_eq(t->fin_seq, t->rcv_nxt) && !(t->flags & TF_RCVD_FIN)) {
    process_fin(s, t, now);
  }

}

static void sync_input(struct utcp_stack *s, struct utcp_tcb *t, const struct utcp_seg *seg,
                       uint64_t now) {
  uint32_t rcv_wnd = rcv_wnd_now(s, t);

  /* RFC 7323 5.3 R1: PAWS. */
  if (t->ts_ok) {
    if (!(seg->opt.present & UTCP_OPT_TS)) {
      /* RFC 7323 3.2: a non-RST segment without a timestamp SHOULD be dropped. */
      if (!(seg->flags & UTCP_TCP_RST)) {
        utcp_count_drop(s, UTCP_DROP_TCP_NO_TS);
        return;
      }
    } else if (!(seg->flags & UTCP_TCP_RST) &&
               (int32_t)(seg->opt.ts_val - t->ts_recent) < 0) {
      if (now - t->ts_recent_age_ns > PAWS_IDLE_NS) {
        t->ts_recent = seg->opt.ts_val; /* RFC 7323 5.5: TS.Recent too old to trust */
      } else {
        UTCP_COVER(s, paws_drop);
        utcp_count_drop(s, UTCP_DROP_TCP_PAWS);
        /* RFC 7323 5.3 R1: send an ACK and drop; forged SYNs and pure ACKs get the limits
         * of RFC 5961 7 and utcp_tcb_oow_ack_allowed, as out-of-window ones do. */
        if ((seg->flags & UTCP_TCP_SYN) && t->state != UTCP_TCP_SYN_RECEIVED) {
          utcp_tcp_challenge_ack(s, t, now);
        } else if (utcp_tcb_oow_ack_allowed(s, t, seg, now)) {
          t->flags |= TF_ACKNOW;
          utcp_tcp_output(s, t, now);
        }
        return;
      }
    }
  }

  /* First: sequence number. */
  if (!acceptable(t, seg, rcv_wnd)) {
    /* An unacceptable segment gets an ACK (unless it is a RST) and is dropped. */
    utcp_count_drop(s, UTCP_DROP_TCP_OUT_OF_WINDOW);
    if (seg->len > 0 && utcp_seq_le(utcp_seq_add(seg->seq, (uint32_t)seg->len), t->rcv_nxt))
      utcp_tcb_note_dsack(t, seg->seq, utcp_seq_add(seg->seq, (uint32_t)seg->len));
    if (!(seg->flags & UTCP_TCP_RST)) {
      if (t->state == UTCP_TCP_TIME_WAIT && (seg->flags & UTCP_TCP_FIN)) {
        /* A retransmitted FIN in TIME-WAIT: acknowledge it and restart 2 MSL. */
        UTCP_COVER(s, timewait_reack);
        t->t_2msl = now + 2 * s->cfg.tcp.msl_ns;
      }
      /* A probe of our closed window (RFC 9293 3.8.6.1): our RCV.WND, not the peer's. */
      if (seg->len == 1 && rcv_wnd == 0) UTCP_COVER(s, zero_window_probe_answered);
      if (t->state == UTCP_TCP_SYN_RECEIVED) {
        t->flags |= TF_ACKNOW;
        utcp_tcp_output(s, t, now);
      } else if (seg->flags & UTCP_TCP_SYN) {
        /* RFC 5961 4.2: a SYN, whatever its sequence number, gets a challenge ACK, which the
         * limit of RFC 5961 7 throttles (blind SYN floods reflect no more than that). */
        utcp_tcp_challenge_ack(s, t, now);
      } else if (utcp_tcb_oow_ack_allowed(s, t, seg, now)) {
        /* A bare ACK, not a retransmission carrying it: when both sides retransmit data the
         * other already holds, each would drop the other's segments (and their ACKs) here. */
        utcp_tcp_send_ack(s, t, now);
      }
    }
    return;
  }

  /* RFC 7323 4.3: TS.Recent from a segment that covers Last.ACK.sent. */
  if (t->ts_ok && (seg->opt.present & UTCP_OPT_TS) &&
      (int32_t)(seg->opt.ts_val - t->ts_recent) >= 0 &&
      utcp_seq_le(seg->seq, t->last_ack_sent)) {
    t->ts_recent = seg->opt.ts_val;
    t->ts_recent_age_ns = now;
  }

  /* Second: RST. */
  if (seg->flags & UTCP_TCP_RST) {
    /* RFC 5961 3.2: reset only when SEG.SEQ = RCV.NXT exactly; in window otherwise, send a
     * challenge ACK. */
    if (!utcp_seq_eq(seg->seq, t->rcv_nxt)) {
      utcp_count_drop(s, UTCP_DROP_TCP_RST_CHALLENGED);
      utcp_tcp_challenge_ack(s, t, now);
      return;
    }
    UTCP_COVER(s, rst_in_window_exact);
    switch (t->state) {
      case UTCP_TCP_SYN_RECEIVED:
        /* Passive open: back to LISTEN (the embryo goes away); active: refused. */
        utcp_tcb_drop(s, t, (t->flags & TF_PASSIVE) ? 0 : UTCP_ERR_CONNREFUSED);
        if (t->flags & TF_PASSIVE) s->ctr.tcp_attempt_fails++;
        return;
      case UTCP_TCP_CLOSING:
      case UTCP_TCP_LAST_ACK:
      case UTCP_TCP_TIME_WAIT:
        utcp_tcb_drop(s, t, 0);
        return;
      default:
        /* ESTABLISHED, FIN-WAIT-1/2, CLOSE-WAIT: "connection reset". */
        utcp_tcb_drop(s, t, UTCP_ERR_CONNRESET);
        return;
    }
  }

  /* Fourth: SYN (the third, security, does not apply). */
  if (seg->flags & UTCP_TCP_SYN) {
    if (t->state == UTCP_TCP_SYN_RECEIVED && (t->flags & TF_PASSIVE)) {
      /* RFC 9293: a passive SYN-RECEIVED connection returns to LISTEN. */
      s->ctr.tcp_attempt_fails++;
      utcp_tcb_drop(s, t, 0);
      return;
    }
    /* RFC 5961 4.2: any SYN in a synchronised state gets a challenge ACK. */
    utcp_count_drop(s, UTCP_DROP_TCP_SYN_CHALLENGED);
    utcp_tcp_challenge_ack(s, t, now);
    return;
  }

  /* Fifth: ACK. Without it, drop. */
  if (!(seg->flags & UTCP_TCP_ACK)) {
    utcp_count_drop(s, UTCP_DROP_TCP_NO_ACK);
    return;
  }
  if (t->state == UTCP_TCP_SYN_RECEIVED) {
    /* If SND.UNA < SEG.ACK =< SND.NXT, ESTABLISHED; else <SEQ=SEG.ACK><CTL=RST>. */
    if (!(utcp_seq_lt(t->snd_una, seg->ack) && utcp_seq_le(seg->ack, t->snd_max))) {
      utcp_count_drop(s, UTCP_DROP_TCP_BAD_ACK);
      utcp_tcp_send_ctl(s, t, seg->ack, t->rcv_nxt, UTCP_TCP_RST, now);
      return;
    }
    t->snd_wnd = (uint32_t)seg->wnd << t->snd_wscale;
    t->max_sndwnd = t->snd_wnd;
    t->snd_wl1 = seg->seq;
    t->snd_wl2 = seg->ack;
    t->snd_una = seg->ack;
    if (t->rtt_timing && t->rxt_shift == 0) utcp_tcp_rtt_sample(s, t, now - t->rtt_start_ns);
    t->rtt_timing = false;
    t->t_rexmt = 0;
    syn_rexmt_rto_floor(s, t);
    uint32_t syn_rexmts = t->rxt_shift;
    t->rxt_shift = 0;
    t->rto_backoff = 0; /* RFC 6298 5.7: the RTO is re-initialised when data begins */
    if (utcp_seq_lt(t->snd_nxt, t->snd_una)) t->snd_nxt = t->snd_una;
    established(s, t, syn_rexmts);
    /* A FIN queued while in SYN-RECEIVED goes now (RFC 9293 3.10.4). */
    if (t->flags & TF_FIN_QUEUED) utcp_tcb_set_state(s, t, UTCP_TCP_FIN_WAIT_1);
  } else {
    if (t->state == UTCP_TCP_TIME_WAIT) {
      /* RFC 5961 5.2 (RFC 9293 fifth check, all synchronised states): an ACK outside
       * [SND.UNA - MAX.SND.WND, SND.NXT] MUST be discarded and an ACK sent back. */
      uint32_t max_wnd = t->max_sndwnd ? t->max_sndwnd : 1;
      utcp_seq_t lo = utcp_seq_add(t->snd_una, (uint32_t)-(int32_t)max_wnd);
      if (utcp_seq_gt(seg->ack, t->snd_max) || utcp_seq_lt(seg->ack, lo)) {
        utcp_count_drop(s, utcp_seq_gt(seg->ack, t->snd_max) ? UTCP_DROP_TCP_ACK_UNSENT
                                                              : UTCP_DROP_TCP_ACK_TOO_OLD);
        utcp_tcp_challenge_ack(s, t, now);
        return;
      }
      /* TIME-WAIT: nothing but a retransmitted FIN is expected (eighth check). */
      if (seg->flags & UTCP_TCP_FIN) {
        UTCP_COVER(s, timewait_reack);
        t->t_2msl = now + 2 * s->cfg.tcp.msl_ns;
        t->flags |= TF_ACKNOW;
        utcp_tcp_output(s, t, now);
      }
      return;
    }
    if (!process_ack(s, t, seg, now)) return;
  }

  /* RFC 1122 4.2.2.13: new data arriving after the application called CLOSE SHOULD be
   * answered with a RST, and the connection dropped (Linux does the same). */
  if ((t->flags & TF_ORPHAN) && seg->len > 0 &&
      utcp_seq_gt(utcp_seq_add(seg->seq, (uint32_t)seg->len), t->rcv_nxt) &&
      (t->state == UTCP_TCP_FIN_WAIT_1 || t->state == UTCP_TCP_FIN_WAIT_2)) {
    utcp_count_drop(s, UTCP_DROP_TCP_DATA_AFTER_CLOSE);
    utcp_tcp_send_ctl(s, t, t->snd_max, t->rcv_nxt, UTCP_TCP_RST | UTCP_TCP_ACK, now);
    s->ctr.tcp_estab_resets++;
    utcp_tcb_drop(s, t, 0);
    return;
  }

  text_and_fin(s, t, seg, now);

  /* Keepalive idles from the last segment received. */
  if (t->flags & TF_KEEPALIVE) {
    t->keep_probes = 0;
    t->t_keep = now + t->keepidle_ns;
  }
  if (t->state != UTCP_TCP_CLOSED) utcp_tcp_output(s, t, now);
}

/* RFC 9293 3.10.7.4 (TIME-WAIT) and RFC 6191: a new SYN may reuse a TIME-WAIT 4-tuple when its
 * sequence number is above everything the old incarnation used, or its timestamp is newer. */
static bool timewait_reusable(const struct utcp_tcb *t, const struct utcp_seg *seg) {
  if (!(seg->flags & UTCP_TCP_SYN) || (seg->flags & (UTCP_TCP_ACK | UTCP_TCP_RST))) return false;
  if (t->ts_ok && (seg->opt.present & UTCP_OPT_TS))
    return (int32_t)(seg->opt.ts_val - t->ts_recent) > 0;
  return utcp_seq_gt(seg->seq, t->rcv_nxt);
}

void utcp_tcp_input(struct utcp_stack *s, const struct utcp_ipv4 *ip, uint64_t now) {
  struct utcp_seg seg;
  s->ctr.tcp_in_segs++;
  enum utcp_drop why = utcp_tcp_parse(ip->payload, ip->payload_len, ip->src, ip->dst,
                                      !s->cfg.rx_l4_cksum_checked, &seg);
  if (why == UTCP_DROP_NONE && (seg.sport == 0 || seg.dport == 0)) why = UTCP_DROP_TCP_BAD_PORT;
  if (why != UTCP_DROP_NONE) {
    s->ctr.tcp_in_errs++;
    utcp_count_drop(s, why);
    return;
  }
  struct utcp_tcb *t = utcp_tcb_lookup(s, ip->dst, seg.dport, ip->src, seg.sport);
  if (t != NULL && t->state == UTCP_TCP_TIME_WAIT && timewait_reusable(t, &seg)) {
    struct utcp_tcb *l = utcp_tcb_listener(s, seg.dport);
    if (l != NULL) {
      UTCP_COVER(s, timewait_reuse);
      utcp_tcb_drop(s, t, 0); /* leaves the flow table even if a handle still names it */
      t = NULL;
    }
  }
  if (t == NULL || t->state == UTCP_TCP_CLOSED) {
    struct utcp_tcb *l = utcp_tcb_listener(s, seg.dport);
    if (l != NULL) {
      listen_input(s, l, ip, &seg, now);
      return;
    }
    /* RFC 9293 3.10.7.1: CLOSED. Everything is discarded; anything but a RST gets a RST. */
    utcp_count_drop(s, UTCP_DROP_TCP_NO_CONN);
    utcp_tcp_respond_rst(s, ip, &seg);
    return;
  }
  if (t->state == UTCP_TCP_SYN_SENT) {
    syn_sent_input(s, t, ip, &seg, now);
  } else {
    sync_input(s, t, &seg, now);
  }
}
