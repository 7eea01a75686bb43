/* The inside of TCP: the TCB, the per-stack TCP state, and the functions the tcp_*.c files
 * share. Field names follow RFC 9293 3.3.1. */
#ifndef UTCP_CORE_TCP_IMPL_H
#define UTCP_CORE_TCP_IMPL_H

#include "buf.h"
#include "reass.h"
#include "sack.h"
#include "stack_impl.h"
#include "tcp.h"
#include "timer.h"

/* tcb->flags */
#define TF_ACKNOW 0x0001u      /* send an ACK now */
#define TF_DELACK 0x0002u      /* an ACK is owed; the delayed-ACK timer runs */
#define TF_NODELAY 0x0004u     /* Nagle off */
#define TF_FIN_QUEUED 0x0008u  /* the application shut down sending: FIN after the data */
#define TF_FIN_SENT 0x0010u    /* FIN has been sent (it is at snd_max - 1) */
#define TF_RCVD_FIN 0x0020u    /* the peer's FIN has been received (in order) */
#define TF_SHUT_RD 0x0040u     /* the application shut down receiving */
#define TF_ORPHAN 0x0080u      /* the application released its handle */
#define TF_PASSIVE 0x0100u     /* created by a listener */
#define TF_KEEPALIVE 0x0200u
#define TF_IN_ACCEPTQ 0x0400u
#define TF_REUSEADDR 0x0800u
#define TF_NEED_WINUPD 0x1000u /* a window update is owed */
#define TF_FORCE_ONE 0x2000u   /* persist probe: send one byte past the window */
#define TF_INRECOVERY 0x4000u  /* loss recovery: NewReno (RFC 6582), or RFC 6675 with sack_ok */
#define TF_POOL_WOKEN 0x8000u  /* the pending WRITABLE comes from a chunk-pool refill */

/* Pending application events (tcb->ev_mask), delivered by utcp_stack_poll_events. */
#define EVB(type) (1u << (type))

struct utcp_tcb {
  /* identity and table links */
  uint32_t laddr, raddr;
  uint16_t lport, rport;
  uint8_t state;
  uint8_t gen;       /* handle generation */
  bool used;
  uint32_t flags;
  uint32_t hash_next; /* flow table chain, index + 1 */
  uint32_t listener;  /* passive: index + 1 of the listener while queued */
  uint32_t q_next;    /* SYN queue / accept queue / free list link, index + 1 */
  uint32_t ev_next, ev_prev; /* ready-list links, index + 1 */
  uint32_t tw_next, tw_prev; /* TIME-WAIT list (oldest first), index + 1 */
  uint32_t ev_mask;
  int32_t so_error;   /* pending UTCP_ERR_* for the application */

  /* send sequence space, RFC 9293 3.3.1 */
  utcp_seq_t iss;     /* initial send sequence number */
  utcp_seq_t snd_una; /* oldest unacknowledged */
  utcp_seq_t snd_nxt; /* next to send */
  utcp_seq_t snd_max; /* highest sent + 1 */
  utcp_seq_t snd_wl1; /* segment sequence number used for last window update */
  utcp_seq_t snd_wl2; /* segment acknowledgment number used for last window update */
  uint32_t snd_wnd;   /* send window (scaled) */
  uint32_t max_sndwnd; /* largest window the peer offered */
  /* receive sequence space */
  utcp_seq_t irs;     /* initial receive sequence number */
  utcp_seq_t rcv_nxt; /* next expected */
  utcp_seq_t rcv_adv; /* right edge advertised: never moves left */
  utcp_seq_t last_ack_sent;
  utcp_seq_t fin_seq; /* the peer's FIN, when seen out of order */
  bool dsack;         /* a D-SACK block is owed (RFC 2883) */
  utcp_seq_t dsack_left, dsack_right;
  bool fin_ooo;

  /* options */
  uint8_t snd_wscale, rcv_wscale; /* shifts in use (0 unless both sides agreed) */
  uint8_t req_wscale;             /* what we offered */
  bool ws_ok, ts_ok, sack_ok;
  uint16_t smss;      /* effective send MSS: data bytes per segment, options excluded */
  uint16_t peer_mss;  /* from the peer's MSS option */
  uint16_t user_mss;  /* TCP_MAXSEG, 0 if unset */
  uint32_t ts_recent; /* RFC 7323 TS.Recent */
  uint64_t ts_recent_age_ns;
  uint32_t ts_offset; /* random per connection, RFC 7323 5.4 */

  /* RTT and RTO, RFC 6298 */
  uint64_t srtt_ns, rttvar_ns, rto_ns;
  bool rtt_valid;
  bool rtt_timing;      /* timing one segment (no timestamps) */
  utcp_seq_t rtt_seq;
  uint64_t rtt_start_ns;
  uint8_t rxt_shift;    /* consecutive retransmission timeouts */
  uint8_t rto_backoff;  /* RFC 6298 5.5 doublings of RTO not yet undone by a new RTT sample */
  uint8_t keep_probes;
  uint64_t total_retrans;

  /* congestion control, RFC 5681 / 6582 */
  uint32_t cwnd, ssthresh;
  uint32_t dupacks;
  uint32_t lt_bytes;     /* sent by limited transmit in this run of duplicate ACKs (RFC 3042) */
  utcp_seq_t recover;
  uint32_t bytes_acked_ca; /* RFC 3465 byte counting in congestion avoidance */
  /* SACK-based loss recovery, RFC 6675 (when sack_ok); RecoveryPoint is `recover` */
  struct utcp_sack_sb sb; /* the peer's SACK blocks above SND.UNA (the scoreboard) */
  utcp_seq_t high_rxt;    /* HighRxt + 1: the end of what this recovery retransmitted */
  utcp_seq_t rescue_rxt;  /* RescueRxt */
  /* Proportional Rate Reduction (RFC 6937) during SACK recovery: bytes the peer received
   * since recovery began, bytes sent since, FlightSize at the start, and the last ACK's
   * DeliveredData. */
  uint32_t prr_delivered, prr_out, prr_recover_fs, prr_last_delivered;
  uint64_t last_send_ns;

  /* timers: deadlines in ns (0 = off); `timer` sits in the wheel at the earliest */
  uint64_t t_rexmt, t_persist, t_delack, t_keep, t_2msl;
  uint64_t t_zwait; /* zero-window stall deadline (tcp.c utcp_tcb_zw_update) */
  uint64_t last_oow_ack_ns; /* last ACK for an unacceptable pure ACK (utcp_tcb_oow_ack_allowed) */
  struct utcp_timer timer;
  uint64_t idle_since_ns;

  /* buffers */
  struct utcp_bufq sndq; /* bytes from snd_una on */
  struct utcp_bufq rcvq; /* in-order bytes not yet read */
  struct utcp_reass reass;
  uint32_t sndbuf, rcvbuf;
  uint32_t segs_since_ack;

  /* keepalive (per socket) */
  uint64_t keepidle_ns, keepintvl_ns;
  uint32_t keepcnt;
  int32_t linger; /* -1 off */

  /* listener */
  uint32_t backlog;
  uint32_t synq_len, acceptq_len;
  uint32_t acceptq_head, acceptq_tail;
  uint64_t last_cookie_ns; /* 1 + when this listener last sent a SYN cookie; 0: never */

  uint64_t bytes_acked, bytes_received;
};

struct utcp_tcp {
  struct utcp_tcb *tcbs;
  uint32_t n_tcbs, free_head, in_use;
  uint32_t *flow_buckets; /* index + 1 */
  uint32_t n_buckets;
  uint32_t last_hit; /* index + 1 of the TCB the last lookup found (NIL: none); always hashed */
  uint8_t flow_key[16];
  struct utcp_chunk_pool chunks;
  struct utcp_reass_pool reass;
  struct utcp_timer_wheel wheel;
  uint32_t ready_head, ready_tail; /* connections with pending events */
  uint32_t tw_head, tw_tail;       /* connections in TIME-WAIT, oldest first */
  uint16_t next_ephemeral;
  uint64_t challenge_window_start_ns;
  uint32_t challenge_acks_in_window;
  uint64_t zw_scan_ns; /* 1 + when utcp_tcb_zw_pressure last looked; 0: never */
  bool pool_dry; /* the chunk pool ran dry: writers get WRITABLE once it refills */
};

/* Notes duplicate data [left, right) for a D-SACK block in the next ACK (RFC 2883 4). */
static inline void utcp_tcb_note_dsack(struct utcp_tcb *t, utcp_seq_t left, utcp_seq_t right) {
  if (!t->sack_ok || !utcp_seq_lt(left, right)) return;
  t->dsack = true;
  t->dsack_left = left;
  t->dsack_right = right;
}

static inline struct utcp_tcp *tcp_of(struct utcp_stack *s) { return s->tcp; }
static inline uint32_t tcb_index(const struct utcp_stack *s, const struct utcp_tcb *t) {
  return (uint32_t)(t - s->tcp->tcbs);
}

/* tcp.c */
struct utcp_tcb *utcp_tcb_lookup(struct utcp_stack *s, uint32_t laddr, uint16_t lport,
                                 uint32_t raddr, uint16_t rport);
struct utcp_tcb *utcp_tcb_listener(struct utcp_stack *s, uint16_t lport);
struct utcp_tcb *utcp_tcb_alloc(struct utcp_stack *s);
void utcp_tcb_hash_insert(struct utcp_stack *s, struct utcp_tcb *t);
void utcp_tcb_set_state(struct utcp_stack *s, struct utcp_tcb *t, int state);
/* Frees the TCB if the application no longer holds it; otherwise leaves it CLOSED. */
void utcp_tcb_release_if_done(struct utcp_stack *s, struct utcp_tcb *t);
/* Ends a connection: state CLOSED, buffers freed, error recorded and signalled. */
void utcp_tcb_drop(struct utcp_stack *s, struct utcp_tcb *t, int err);
void utcp_tcb_event(struct utcp_stack *s, struct utcp_tcb *t, unsigned type);
utcp_seq_t utcp_tcp_isn(struct utcp_stack *s, uint32_t laddr, uint16_t lport, uint32_t raddr,
                        uint16_t rport, uint64_t now);
uint32_t utcp_tcp_ts_now(const struct utcp_tcb *t, uint64_t now);
void utcp_tcb_init_conn(struct utcp_stack *s, struct utcp_tcb *t, uint64_t now);
/* Window we can offer now (bytes, unscaled). */
uint32_t utcp_tcp_rcv_space(const struct utcp_stack *s, const struct utcp_tcb *t);
/* Zero-window reclaim (RFC 9293 3.8.6.1, RFC 6429): arms t_zwait while t holds buffers stalled
 * on a zero window and clears it otherwise; on expiry, aborts t if it is still stalled
 * (returns true: t is closed, perhaps freed). */
void utcp_tcb_zw_update(struct utcp_stack *s, struct utcp_tcb *t);
bool utcp_tcb_zw_expired(struct utcp_stack *s, struct utcp_tcb *t, uint64_t now);
/* The chunk pool ran dry: reclaims stalled connections (not `except`) per
 * cfg.tcp.zero_window_pressure_ns. */
void utcp_tcb_zw_pressure(struct utcp_stack *s, const struct utcp_tcb *except, uint64_t now);
/* Send-queue consume and clear, counting the chunks send queues hold (pool tx_used). */
void utcp_tcb_sndq_consume(struct utcp_stack *s, struct utcp_tcb *t, size_t n);
void utcp_tcb_sndq_clear(struct utcp_stack *s, struct utcp_tcb *t);
/* Whether an unacceptable segment may be answered with an ACK now: always for data, FIN or
 * SYN; a pure ACK at most once per cfg.tcp.oow_ack_interval_ns per connection (counted). */
bool utcp_tcb_oow_ack_allowed(struct utcp_stack *s, struct utcp_tcb *t, const struct utcp_seg *seg,
                              uint64_t now);

/* tcp_output.c */
/* Sends whatever the state, windows and flags call for. */
void utcp_tcp_output(struct utcp_stack *s, struct utcp_tcb *t, uint64_t now);
/* A bare control segment for a connection (ACK, RST...): seq and ack as given. */
void utcp_tcp_send_ctl(struct utcp_stack *s, struct utcp_tcb *t, utcp_seq_t seq, utcp_seq_t ack,
                       uint8_t flags, uint64_t now);
/* A RST in answer to a segment that has no connection (RFC 9293 3.10.7.1). */
void utcp_tcp_respond_rst(struct utcp_stack *s, const struct utcp_ipv4 *ip,
                          const struct utcp_seg *seg);
/* Sends [seq, seq + len) of the sequence space again (data, and our FIN if the range holds
 * it): a retransmission chosen by SACK recovery. Returns the sequence space sent (0: nothing
 * there) or a negative UTCP_ERR_* from the transmit path. */
int utcp_tcp_send_rexmit(struct utcp_stack *s, struct utcp_tcb *t, utcp_seq_t seq, uint32_t len,
                         uint64_t now);
/* A bare ACK now, with a sequence number the peer accepts even while we retransmit. */
void utcp_tcp_send_ack(struct utcp_stack *s, struct utcp_tcb *t, uint64_t now);
/* A stateless SYN-ACK carrying a SYN cookie (RFC 4987 3.6) for a listener. */
void utcp_tcp_send_cookie_synack(struct utcp_stack *s, const struct utcp_tcb *l,
                                 const struct utcp_ipv4 *ip, const struct utcp_seg *syn,
                                 uint64_t now);
/* A challenge ACK (RFC 5961), subject to the stack-wide rate limit. */
void utcp_tcp_challenge_ack(struct utcp_stack *s, struct utcp_tcb *t, uint64_t now);

/* tcp_timer.c */
void utcp_tcb_timers_update(struct utcp_stack *s, struct utcp_tcb *t);
void utcp_tcb_timers_stop(struct utcp_stack *s, struct utcp_tcb *t);
void utcp_tcp_rearm_rexmt(struct utcp_stack *s, struct utcp_tcb *t, uint64_t now);
void utcp_tcp_rtt_sample(struct utcp_stack *s, struct utcp_tcb *t, uint64_t rtt_ns);

#define UTCP_COVER(s, mark) ((s)->ctr.cov[UTCP_COV_##mark]++)

#endif
