/* TCP output: deciding what to send (RFC 9293 3.8.6 windows, RFC 1122 4.2.3.4 Nagle and
 * sender SWS avoidance) and building segments straight into the transmit buffer. */
#include <string.h>

#include "cc.h"
#include "syncookie.h"
#include "tcp_impl.h"

static uint16_t mss_to_announce(const struct utcp_stack *s, const struct utcp_tcb *t) {
  uint32_t mss = (uint32_t)s->cfg.mtu - UTCP_IPV4_HLEN - UTCP_TCP_HLEN;
  if (t->user_mss != 0 && t->user_mss < mss) mss = t->user_mss;
  return (uint16_t)mss;
}

/* The window to advertise, in bytes, after receiver SWS avoidance (RFC 9293 3.8.6.2.2) and
 * never moving the right edge left (RFC 9293 3.8.6: "the window SHOULD NOT be shrunk"). */
static uint32_t window_to_advertise(struct utcp_stack *s, struct utcp_tcb *t) {
  uint32_t space = utcp_tcp_rcv_space(s, t);
  uint32_t max_wnd = 65535u << t->rcv_wscale;
  if (space > max_wnd) space = max_wnd;
  if (t->state < UTCP_TCP_ESTABLISHED && t->state != UTCP_TCP_SYN_RECEIVED) return space;
  int32_t adv = utcp_seq_diff(t->rcv_adv, t->rcv_nxt);
  uint32_t old = adv > 0 ? (uint32_t)adv : 0;
  uint32_t mss = t->smss ? t->smss : 536;
  uint32_t thresh = t->rcvbuf / 2 < mss ? t->rcvbuf / 2 : mss;
  if (space > old && space - old < thresh) space = old; /* hold the edge until it moves enough */
  if (space < old) {
    UTCP_COVER(s, window_shrink_avoided);
    space = old;
  }
  /* Round down to what the scale can express, without shrinking. */
  uint32_t unit = 1u << t->rcv_wscale;
  uint32_t rounded = space & ~(unit - 1);
  if (rounded < old) rounded = (space + unit - 1) & ~(unit - 1);
  return rounded;
}

/* SACK blocks an ACK can carry next to the timestamp option (RFC 2018 3: 40 option bytes). */
static size_t sack_blocks_max(const struct utcp_tcb *t) {
  return t->ts_ok ? 3 : UTCP_TCP_MAX_SACK;
}

/* Option bytes of n SACK blocks, with the two NOPs that align them. */
static uint32_t sack_opt_bytes(size_t n) { return n == 0 ? 0 : 4 + 8 * (uint32_t)n; }

/* The data a segment can carry now: the effective send MSS less the SACK option an ACK owes
 * while out-of-order data is queued (RFC 9293 3.7.1: the MSS covers data and options). */
static uint32_t mss_now(const struct utcp_stack *s, const struct utcp_tcb *t) {
  (void)s;
  if (!t->sack_ok || t->reass.n_ranges == 0) return t->smss;
  size_t n = sack_blocks_max(t);
  if (t->reass.n_ranges < n) n = t->reass.n_ranges;
  uint32_t opt = sack_opt_bytes(n);
  return t->smss > opt + 64 ? t->smss - opt : t->smss;
}

/* Builds and sends one segment: data from the send queue at byte offset data_off. */
static int send_segment(struct utcp_stack *s, struct utcp_tcb *t, utcp_seq_t seq, uint8_t flags,
                        uint32_t data_off, uint32_t len, uint64_t now) {
  struct utcp_seg seg = {
      .sport = t->lport, .dport = t->rport, .seq = seq, .flags = flags};
  bool syn = flags & UTCP_TCP_SYN;
  const struct utcp_tcp_config *c = &s->cfg.tcp;
  if (syn) {
    bool passive = t->state == UTCP_TCP_SYN_RECEIVED && (t->flags & TF_PASSIVE);
    seg.opt.present |= UTCP_OPT_MSS;
    seg.opt.mss = mss_to_announce(s, t);
    /* RFC 7323 1.3 / RFC 2018 2: on a SYN-ACK only what the SYN offered. */
    if (passive ? t->ws_ok : c->wscale) {
      seg.opt.present |= UTCP_OPT_WSCALE;
      seg.opt.wscale = t->req_wscale;
    }
    if (passive ? t->sack_ok : c->sack) seg.opt.present |= UTCP_OPT_SACK_PERM;
    if (passive ? t->ts_ok : c->timestamps) {
      seg.opt.present |= UTCP_OPT_TS;
      seg.opt.ts_val = utcp_tcp_ts_now(t, now);
      seg.opt.ts_ecr = passive ? t->ts_recent : 0;
    }
  } else if (t->ts_ok && !(flags & UTCP_TCP_RST)) {
    /* RFC 7323 3.2: once agreed, on every segment (a RST may omit it). */
    seg.opt.present |= UTCP_OPT_TS;
    seg.opt.ts_val = utcp_tcp_ts_now(t, now);
    seg.opt.ts_ecr = t->ts_recent;
  }
  bool dsack = t->dsack && len == 0; /* D-SACK rides on pure ACKs, whose room is certain */
  if ((flags & UTCP_TCP_ACK) && !syn && t->sack_ok && (t->reass.n_ranges > 0 || dsack)) {
    utcp_seq_t left[UTCP_TCP_MAX_SACK], right[UTCP_TCP_MAX_SACK];
    /* RFC 6691 / RFC 9293 3.7.1: options count against the MSS, so data and SACK blocks
     * together stay within it (utcp_tcp_output shortens data while blocks are owed). */
    size_t max = sack_blocks_max(t);
    while (max > 0 && len + sack_opt_bytes(max) > t->smss) max--;
    size_t n = 0;
    if (dsack && max > 0) {
      /* RFC 2883 4: the D-SACK block comes first, then the usual SACK blocks. */
      seg.opt.sack[n++] = (struct utcp_sack_block){t->dsack_left, t->dsack_right};
      max--;
    }
    size_t k = utcp_reass_sack_blocks(&s->tcp->reass, &t->reass, left, right, max);
    for (size_t i = 0; i < k; i++) seg.opt.sack[n++] = (struct utcp_sack_block){left[i], right[i]};
    seg.opt.sack_count = (uint8_t)n;
    if (n > 0) seg.opt.present |= UTCP_OPT_SACK;
  }
  if (flags & UTCP_TCP_ACK) seg.ack = t->rcv_nxt;
  uint32_t wnd = 0;
  if (!(flags & UTCP_TCP_RST)) {
    wnd = window_to_advertise(s, t);
    /* RFC 7323 2.2: the window field of a SYN is never scaled. */
    seg.wnd = syn ? (uint16_t)(wnd > 65535 ? 65535 : wnd) : (uint16_t)(wnd >> t->rcv_wscale);
  }
  size_t opt_len = utcp_tcp_opts_len(&seg.opt);
  size_t l4_len = UTCP_TCP_HLEN + opt_len + len;
  struct utcp_ip_out out;
  int rc = utcp_ip_out_begin(s, t->raddr, UTCP_IPPROTO_TCP, l4_len, &out);
  if (rc < 0) return rc;
  out.df = true;
  uint8_t *payload = out.l4 + UTCP_TCP_HLEN + opt_len;
  if (len > 0) utcp_bufq_read_at(&s->tcp->chunks, &t->sndq, data_off, payload, len);
  seg.payload = payload;
  seg.len = len;
  size_t n = utcp_tcp_emit_ex(&seg, t->laddr, t->raddr, out.l4, out.l4_cap,
                              !s->cfg.tx_l4_cksum_offload);
  UTCP_ASSERT(n == l4_len);
  utcp_ip_out_commit(s, &out, n);
  s->ctr.tcp_out_segs++;
  if (flags & UTCP_TCP_RST) s->ctr.tcp_out_rsts++;
  if (flags & UTCP_TCP_ACK) {
    t->flags &= ~(TF_ACKNOW | TF_DELACK | TF_NEED_WINUPD);
    t->dsack = false;
    t->t_delack = 0;
    t->segs_since_ack = 0;
    t->last_ack_sent = t->rcv_nxt;
    utcp_seq_t edge = utcp_seq_add(t->rcv_nxt, syn ? wnd : ((uint32_t)seg.wnd << t->rcv_wscale));
    if (utcp_seq_gt(edge, t->rcv_adv)) t->rcv_adv = edge;
  }
  t->last_send_ns = now;
  return 0;
}

/* The sequence number of a bare ACK: the next new byte (SND.MAX), not SND.NXT as rewound for a
 * retransmission, which the peer may already have and would find unacceptable, dropping the
 * ACK with it (RFC 9293 3.10.7.4 <SEQ=SND.NXT>, SND.NXT meant as the next new byte; FreeBSD
 * tcp_output does the same). While probing a zero window, SND.NXT. */
static utcp_seq_t bare_ack_seq(const struct utcp_tcb *t) {
  return t->t_persist != 0 ? t->snd_nxt : t->snd_max;
}

void utcp_tcp_send_ctl(struct utcp_stack *s, struct utcp_tcb *t, utcp_seq_t seq, utcp_seq_t ack,
                       uint8_t flags, uint64_t now) {
  utcp_seq_t saved = t->rcv_nxt;
  t->rcv_nxt = ack; /* send_segment acknowledges rcv_nxt */
  (void)send_segment(s, t, seq, flags, 0, 0, now);
  t->rcv_nxt = saved;
  if (flags & UTCP_TCP_ACK) t->last_ack_sent = saved;
}

void utcp_tcp_challenge_ack(struct utcp_stack *s, struct utcp_tcb *t, uint64_t now) {
  struct utcp_tcp *tcp = s->tcp;
  /* RFC 5961 7: limit challenge ACKs per unit of time, stack-wide; both the number and the
   * time SHOULD be tunable (challenge_ack_limit, challenge_ack_interval_ns). */
  if (now - tcp->challenge_window_start_ns >= s->cfg.tcp.challenge_ack_interval_ns) {
    tcp->challenge_window_start_ns = now;
    tcp->challenge_acks_in_window = 0;
  }
  if (tcp->challenge_acks_in_window >= s->cfg.tcp.challenge_ack_limit) {
    UTCP_COVER(s, challenge_ack_limited);
    return;
  }
  tcp->challenge_acks_in_window++;
  UTCP_COVER(s, challenge_ack);
  utcp_tcp_send_ctl(s, t, bare_ack_seq(t), t->rcv_nxt, UTCP_TCP_ACK, now);
}

void utcp_tcp_send_ack(struct utcp_stack *s, struct utcp_tcb *t, uint64_t now) {
  (void)send_segment(s, t, bare_ack_seq(t), UTCP_TCP_ACK, 0, 0, now);
}

void utcp_tcp_respond_rst(struct utcp_stack *s, const struct utcp_ipv4 *ip,
                          const struct utcp_seg *seg) {
  /* RFC 9293 3.10.7.1: if the ACK bit is off, <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>;
   * if on, <SEQ=SEG.ACK><CTL=RST>. A RST never answers a RST. */
  if (seg->flags & UTCP_TCP_RST) return;
  struct utcp_seg rst = {.sport = seg->dport, .dport = seg->sport};
  if (seg->flags & UTCP_TCP_ACK) {
    rst.seq = seg->ack;
    rst.flags = UTCP_TCP_RST;
  } else {
    rst.seq = utcp_seq(0);
    rst.ack = utcp_seq_add(seg->seq, utcp_seg_seqlen(seg));
    rst.flags = UTCP_TCP_RST | UTCP_TCP_ACK;
  }
  struct utcp_ip_out out;
  if (utcp_ip_out_begin(s, ip->src, UTCP_IPPROTO_TCP, UTCP_TCP_HLEN, &out) < 0) return;
  out.df = true;
  size_t n = utcp_tcp_emit_ex(&rst, ip->dst, ip->src, out.l4, out.l4_cap,
                              !s->cfg.tx_l4_cksum_offload);
  UTCP_ASSERT(n == UTCP_TCP_HLEN);
  utcp_ip_out_commit(s, &out, n);
  s->ctr.tcp_out_segs++;
  s->ctr.tcp_out_rsts++;
}

/* May our FIN go out in this state (it is queued and not yet acknowledged)? */
static bool fin_sendable(const struct utcp_tcb *t) {
  return (t->flags & TF_FIN_QUEUED) &&
         (t->state == UTCP_TCP_FIN_WAIT_1 || t->state == UTCP_TCP_CLOSING ||
          t->state == UTCP_TCP_LAST_ACK);
}

/* The send loop of RFC 9293 3.8.6 / RFC 1122 4.2.3.4: segments from SND.NXT while the send
 * and congestion windows allow, a bare ACK or window update if one is owed. */
static void send_loop(struct utcp_stack *s, struct utcp_tcb *t, uint64_t now) {
  for (;;) {
    bool probe = (t->flags & TF_FORCE_ONE) != 0;
    /* RFC 2018 8 / RFC 6675 5.1: retransmitting after an RTO, SACK blocks that arrived since
     * (the RTO forgot the older ones) tell what the peer holds: fill the holes only. */
    utcp_seq_t hole_end = t->snd_max;
    if (t->sack_ok && t->sb.n > 0 && !probe && utcp_seq_lt(t->snd_nxt, t->snd_max)) {
      utcp_seq_t nx = utcp_sack_skip(&t->sb, t->snd_nxt, t->snd_max, &hole_end);
      if (!utcp_seq_eq(nx, t->snd_nxt)) {
        UTCP_COVER(s, sack_skip_sacked);
        t->snd_nxt = nx;
      }
    }
    uint32_t off = (uint32_t)utcp_seq_diff(t->snd_nxt, t->snd_una);
    uint32_t avail = t->sndq.len > off ? t->sndq.len - off : 0;
    if (utcp_seq_lt(t->snd_nxt, hole_end) && utcp_seq_lt(hole_end, t->snd_max)) {
      uint32_t gap = (uint32_t)utcp_seq_diff(hole_end, t->snd_nxt);
      if (avail > gap) avail = gap; /* stop short of the next SACKed range */
    }
    uint32_t wnd = t->snd_wnd < t->cwnd ? t->snd_wnd : t->cwnd;
    if (probe && wnd == 0) wnd = 1;
    uint32_t usable = wnd > off ? wnd - off : 0;
    uint32_t len = avail;
    if (len > usable) len = usable;
    uint32_t mss = mss_now(s, t);
    if (len > mss) len = mss;
    bool fin = fin_sendable(t) && off + len == t->sndq.len &&
               (utcp_seq_lt(t->snd_nxt, t->snd_max) || !(t->flags & TF_FIN_SENT));
    bool retransmit = utcp_seq_lt(t->snd_nxt, t->snd_max);
    bool send = false;
    if (len > 0) {
      bool idle = utcp_seq_eq(t->snd_max, t->snd_una);
      if (len == mss) {
        send = true;
      } else if (len == avail && (idle || (t->flags & TF_NODELAY))) {
        send = true; /* RFC 1122 4.2.3.4: Nagle lets a short segment go when nothing is unacked */
      } else if (probe || retransmit) {
        send = true;
      } else if (t->max_sndwnd > 0 && len >= t->max_sndwnd / 2) {
        send = true; /* RFC 1122 4.2.3.4 sender SWS: at least half the largest window seen */
      } else if (len == avail && fin) {
        send = true;
      } else {
        UTCP_COVER(s, nagle_hold);
      }
    }
    if (!send && fin && len == avail) send = true;
    if (!send && (t->flags & (TF_ACKNOW | TF_NEED_WINUPD))) {
      len = 0;
      fin = false;
      send = true;
    }
    if (!send) break;

    uint8_t flags = UTCP_TCP_ACK;
    if (fin) flags |= UTCP_TCP_FIN;
    if (len > 0 && off + len == t->sndq.len) flags |= UTCP_TCP_PSH;
    utcp_seq_t seq = len > 0 || fin ? t->snd_nxt : bare_ack_seq(t);
    if (send_segment(s, t, seq, flags, off, len, now) < 0) break;
    if (len > 0 || fin) {
      if (retransmit) {
        s->ctr.tcp_retrans_segs++;
        t->total_retrans++;
      }
      if (!t->ts_ok && !t->rtt_timing && !retransmit && len > 0) {
        /* RFC 6298 3: time one segment per RTT; Karn: never a retransmitted one. */
        t->rtt_timing = true;
        t->rtt_seq = seq;
        t->rtt_start_ns = now;
      }
      t->snd_nxt = utcp_seq_add(seq, len + (fin ? 1u : 0u));
      if (utcp_seq_gt(t->snd_nxt, t->snd_max)) t->snd_max = t->snd_nxt;
      if (fin) t->flags |= TF_FIN_SENT;
      /* RFC 6298 5.1: start the timer when data goes out and it is not running. */
      if (t->t_rexmt == 0) utcp_tcp_rearm_rexmt(s, t, now);
      t->t_persist = 0;
    }
    if (probe) {
      t->flags &= ~TF_FORCE_ONE;
      break;
    }
    if (len == 0 && !fin) break;
  }
}

/* RFC 6937 3 (PRR-SSRB): how much recovery may send now. While pipe > ssthresh, in proportion
 * to what the peer received: CEIL(prr_delivered * ssthresh / RecoverFS) - prr_out; below it,
 * up to ssthresh - pipe but no faster than slow start: MAX(prr_delivered - prr_out,
 * DeliveredData) + MSS. This replaces RFC 6675 5 (C)'s "cwnd - pipe >= 1 SMSS" gate, which
 * holds every retransmission after the first until half a window of ACKs has come back (a
 * whole round trip when the loss struck in slow start). cwnd stays at ssthresh (RFC 6675
 * 4.2) for the exit and for what the traces show. */
static uint32_t prr_sndcnt(const struct utcp_tcb *t, uint32_t pipe) {
  int64_t sndcnt;
  uint64_t ssthresh = t->ssthresh;
  if (pipe > ssthresh) {
    uint64_t fs = t->prr_recover_fs > 0 ? t->prr_recover_fs : 1;
    sndcnt = (int64_t)(((uint64_t)t->prr_delivered * ssthresh + fs - 1) / fs) - t->prr_out;
  } else {
    int64_t limit = (int64_t)t->prr_delivered - t->prr_out;
    if (limit < (int64_t)t->prr_last_delivered) limit = t->prr_last_delivered;
    limit += t->smss;
    sndcnt = (int64_t)ssthresh - pipe;
    if (sndcnt > limit) sndcnt = limit;
  }
  return sndcnt > 0 ? (uint32_t)(sndcnt > UINT32_MAX ? UINT32_MAX : sndcnt) : 0;
}

/* RFC 6675 5 (C) with the amount from PRR (above): send what NextSeg() names: (1) the next
 * lost hole above HighRxt, (2) new data, (3) any hole above HighRxt below the highest SACK,
 * (4) once per recovery a rescue retransmission of the highest unSACKed segment. Pipe grows
 * by what is sent (C.4). */
static void sack_output(struct utcp_stack *s, struct utcp_tcb *t, uint64_t now) {
  uint32_t smss = t->smss;
  uint32_t pipe = utcp_sack_pipe(&t->sb, t->snd_una, t->snd_max, t->high_rxt, smss);
  uint32_t budget = prr_sndcnt(t, pipe);
  for (;; budget = prr_sndcnt(t, pipe)) {
    if (budget < smss) break;
    uint32_t mss = mss_now(s, t);
    utcp_seq_t seq;
    uint32_t len;
    int sent;
    /* Rule (1), then rule (3) after new data (rule 2) had its turn. */
    if (utcp_sack_next_hole(&t->sb, t->snd_una, t->high_rxt, true, smss, mss, &seq, &len)) {
      sent = utcp_tcp_send_rexmit(s, t, seq, len, now);
      if (sent <= 0) break;
      /* (C.2) HighRxt to the end of the retransmission. */
      t->high_rxt = utcp_seq_add(seq, (uint32_t)sent);
      pipe += (uint32_t)sent;
      t->prr_out += (uint32_t)sent;
      continue;
    }
    /* Rule (2): one segment of new data, if the peer's window and Nagle allow. */
    utcp_seq_t before = t->snd_max;
    if (utcp_seq_eq(t->snd_nxt, t->snd_max)) {
      uint32_t cwnd = t->cwnd;
      t->cwnd = utcp_cc_flight(t) + mss; /* room for exactly one segment */
      send_loop(s, t, now);
      t->cwnd = cwnd;
      uint32_t fresh = (uint32_t)utcp_seq_diff(t->snd_max, before);
      if (fresh > 0) {
        UTCP_COVER(s, sack_new_data);
        pipe += fresh; /* (C.3), (C.4) */
        t->prr_out += fresh;
        continue;
      }
    }
    if (utcp_sack_next_hole(&t->sb, t->snd_una, t->high_rxt, false, smss, mss, &seq, &len)) {
      sent = utcp_tcp_send_rexmit(s, t, seq, len, now);
      if (sent <= 0) break;
      t->high_rxt = utcp_seq_add(seq, (uint32_t)sent);
      pipe += (uint32_t)sent;
      t->prr_out += (uint32_t)sent;
      continue;
    }
    /* Rule (4): the rescue retransmission, if HighACK > RescueRxt. The highest unSACKed
     * octet is skipped when this recovery already resent it (a SHOULD; utcp retransmits
     * each segment at most once per recovery). HighRxt is not updated. */
    utcp_seq_t start, end;
    if (utcp_seq_gt(utcp_seq_add(t->snd_una, UINT32_MAX), t->rescue_rxt) &&
        utcp_sack_last_hole(&t->sb, t->snd_una, t->snd_max, &start, &end) &&
        utcp_seq_ge(utcp_seq_add(end, UINT32_MAX), t->high_rxt)) {
      utcp_seq_t from = utcp_seq_max(start, t->high_rxt);
      if ((uint32_t)utcp_seq_diff(end, from) > mss) from = utcp_seq_add(end, (uint32_t)-mss);
      sent = utcp_tcp_send_rexmit(s, t, from, (uint32_t)utcp_seq_diff(end, from), now);
      if (sent <= 0) break;
      UTCP_COVER(s, sack_rescue);
      t->rescue_rxt = utcp_seq_add(t->recover, UINT32_MAX); /* RescueRxt = RecoveryPoint */
      pipe += (uint32_t)sent;
      t->prr_out += (uint32_t)sent;
      continue;
    }
    break; /* rule (5): nothing to send */
  }
}

int utcp_tcp_send_rexmit(struct utcp_stack *s, struct utcp_tcb *t, utcp_seq_t seq, uint32_t len,
                         uint64_t now) {
  int32_t off = utcp_seq_diff(seq, t->snd_una);
  if (off < 0 || len == 0 || utcp_seq_gt(utcp_seq_add(seq, len), t->snd_max)) return 0;
  uint32_t data = (uint32_t)off < t->sndq.len ? t->sndq.len - (uint32_t)off : 0;
  if (data > len) data = len;
  /* Our FIN sits right after the last byte of the send queue. */
  bool fin = (t->flags & TF_FIN_SENT) && (uint32_t)off + len > t->sndq.len;
  if (data == 0 && !fin) return 0;
  uint8_t flags = UTCP_TCP_ACK;
  if (fin) flags |= UTCP_TCP_FIN;
  if (data > 0 && (uint32_t)off + data == t->sndq.len) flags |= UTCP_TCP_PSH;
  int rc = send_segment(s, t, seq, flags, (uint32_t)off, data, now);
  if (rc < 0) return rc;
  s->ctr.tcp_retrans_segs++;
  s->ctr.tcp_sack_rexmits++;
  t->total_retrans++;
  UTCP_COVER(s, sack_rexmit);
  t->rtt_timing = false; /* Karn: nothing timed across a retransmission */
  if (t->t_rexmt == 0) utcp_tcp_rearm_rexmt(s, t, now);
  return (int)(data + (fin ? 1u : 0u));
}

void utcp_tcp_output(struct utcp_stack *s, struct utcp_tcb *t, uint64_t now) {
  if (t->state == UTCP_TCP_CLOSED || t->state == UTCP_TCP_LISTEN) return;
  if (t->state == UTCP_TCP_SYN_SENT || t->state == UTCP_TCP_SYN_RECEIVED) {
    if (utcp_seq_eq(t->snd_nxt, t->iss)) {
      uint8_t flags = UTCP_TCP_SYN | (t->state == UTCP_TCP_SYN_RECEIVED ? UTCP_TCP_ACK : 0);
      if (utcp_seq_lt(t->snd_nxt, t->snd_max)) s->ctr.tcp_retrans_segs++;
      /* A SYN lost to a full transmit path is still "sent": its timer retransmits it. */
      (void)send_segment(s, t, t->iss, flags, 0, 0, now);
      if (t->rxt_shift == 0) {
        t->rtt_timing = true; /* RFC 6298 2.1: the handshake gives the first RTT sample */
        t->rtt_start_ns = now;
      }
      t->snd_nxt = utcp_seq_add(t->iss, 1);
      if (utcp_seq_gt(t->snd_nxt, t->snd_max)) t->snd_max = t->snd_nxt;
      if (t->t_rexmt == 0) utcp_tcp_rearm_rexmt(s, t, now);
    } else if (t->flags & TF_ACKNOW) {
      send_segment(s, t, t->snd_nxt, UTCP_TCP_ACK, 0, 0, now);
    }
    utcp_tcb_timers_update(s, t);
    return;
  }

  /* Nothing to send (every segment received that only acknowledges): no unsent data, FIN,
   * retransmission, owed ACK, probe or recovery. What the send loop would decide, cheaper. */
  uint32_t unsent_from = (uint32_t)utcp_seq_diff(t->snd_nxt, t->snd_una);
  if (t->sndq.len <= unsent_from && utcp_seq_eq(t->snd_nxt, t->snd_max) &&
      !(t->flags & (TF_ACKNOW | TF_NEED_WINUPD | TF_FORCE_ONE | TF_INRECOVERY)) &&
      !(fin_sendable(t) && !(t->flags & TF_FIN_SENT))) {
    utcp_tcb_timers_update(s, t);
    return;
  }

  /* RFC 5681 4.1: restart from the restart window after an idle period longer than an RTO. */
  if (utcp_seq_eq(t->snd_max, t->snd_una) && t->last_send_ns != 0 &&
      now - t->last_send_ns > t->rto_ns)
    utcp_cc_idle_restart(s, t);

  if ((t->flags & TF_INRECOVERY) && t->sack_ok && utcp_seq_eq(t->snd_nxt, t->snd_max)) {
    sack_output(s, t, now);
    /* New data went in sack_output as pipe allowed; here only a FIN or an owed ACK. */
    uint32_t cwnd = t->cwnd;
    t->cwnd = utcp_cc_flight(t);
    send_loop(s, t, now);
    t->cwnd = cwnd;
  } else {
    send_loop(s, t, now);
  }

  /* RFC 9293 3.8.6.1: with data waiting, a zero window and nothing in flight, probe. The same
   * timer is the override timeout of RFC 1122 4.2.3.4 (RFC 9293 3.8.6.2.1) when sender SWS
   * avoidance holds data back from a small non-zero window: nothing is in flight, so no ACK
   * will come to reopen it, and without a timer the data would wait for ever (as in BSD, the
   * persist timer runs whenever data waits with no retransmission timer). */
  uint32_t off = (uint32_t)utcp_seq_diff(t->snd_nxt, t->snd_una);
  if (t->sndq.len > off && t->t_rexmt == 0 && t->t_persist == 0 &&
      utcp_seq_eq(t->snd_max, t->snd_una)) {
    uint64_t d = t->rto_ns << t->rxt_shift;
    if (d < s->cfg.tcp.persist_min_ns) d = s->cfg.tcp.persist_min_ns;
    if (d > s->cfg.tcp.persist_max_ns) d = s->cfg.tcp.persist_max_ns;
    t->t_persist = now + d;
  }
  utcp_tcb_timers_update(s, t);
}

void utcp_tcp_send_cookie_synack(struct utcp_stack *s, const struct utcp_tcb *l,
                                 const struct utcp_ipv4 *ip, const struct utcp_seg *syn,
                                 uint64_t now) {
  /* No TCB is kept: a throw-away one describes the SYN-ACK to send_segment. */
  struct utcp_tcb t;
  memset(&t, 0, sizeof t);
  t.laddr = ip->dst;
  t.lport = syn->dport;
  t.raddr = ip->src;
  t.rport = syn->sport;
  t.state = UTCP_TCP_SYN_RECEIVED;
  t.flags = TF_PASSIVE;
  t.rcvbuf = l->rcvbuf;
  t.user_mss = l->user_mss;
  utcp_bufq_init(&t.rcvq);
  utcp_bufq_init(&t.sndq);
  utcp_reass_init(&t.reass);
  uint32_t ts_val = 0;
  utcp_seq_t cookie =
      utcp_syncookie_make(s, t.laddr, t.lport, t.raddr, t.rport, syn, now, &ts_val);
  const struct utcp_tcp_config *c = &s->cfg.tcp;
  /* RFC 4987 3.6: without timestamps there is nowhere to keep window scale and SACK. */
  t.ts_ok = c->timestamps && (syn->opt.present & UTCP_OPT_TS);
  if (t.ts_ok) {
    t.ws_ok = c->wscale && (syn->opt.present & UTCP_OPT_WSCALE);
    t.sack_ok = c->sack && (syn->opt.present & UTCP_OPT_SACK_PERM);
    t.ts_recent = syn->opt.ts_val;
    t.ts_offset = ts_val - (uint32_t)(now / 1000000ull); /* makes ts_now() the cookie TSval */
  }
  if (t.ws_ok)
    while (t.req_wscale < 14 && (65535u << t.req_wscale) < t.rcvbuf) t.req_wscale++;
  t.rcv_nxt = utcp_seq_add(syn->seq, 1);
  t.rcv_adv = t.rcv_nxt;
  /* Counted when made, as Linux does: a SYN-ACK the transmit path refuses (a spoofed source
   * that never answers ARP) is that path's counted drop. */
  s->ctr.tcp_syncookies_sent++;
  (void)send_segment(s, &t, cookie, UTCP_TCP_SYN | UTCP_TCP_ACK, 0, 0, now);
}
