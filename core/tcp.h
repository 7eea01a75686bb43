/* The core-level TCP connection API (RFC 9293 3.9 user interface) that api/ builds sockets on.
 * Connections are named by handles; a handle stays valid until the application releases it with
 * utcp_tcp_close or utcp_tcp_abort, even after the connection itself has ended. */
#ifndef UTCP_CORE_TCP_H
#define UTCP_CORE_TCP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef uint32_t utcp_conn_t; /* 0 is never a valid handle */

struct utcp_stack;

struct utcp_tcp_config {
  uint32_t max_conns;        /* TCBs, listeners and TIME-WAIT included */
  uint32_t syn_backlog;      /* SYN-RECEIVED connections per listener (the accept queue is
                                bounded by listen's backlog) */
  uint32_t chunks;           /* 2 KiB buffer chunks shared by every connection */
  uint32_t reass_nodes;      /* out-of-order ranges shared by every connection */
  uint32_t reass_max_ranges; /* per connection */
  uint32_t sack_max_ranges;  /* sender SACK scoreboard ranges per connection, 1..16 */
  uint32_t sndbuf_bytes;     /* default send buffer limit per connection */
  uint32_t rcvbuf_bytes;     /* default receive buffer (window) per connection */
  uint16_t mss_default;      /* send MSS when the peer sends no MSS option (RFC 9293 3.7.1) */
  uint32_t iw_segments;      /* initial window in segments (RFC 6928) */
  bool wscale;               /* offer window scaling (RFC 7323) */
  bool timestamps;           /* offer timestamps (RFC 7323) */
  bool sack;                 /* offer SACK (RFC 2018) */
  bool syncookies;           /* answer SYNs with cookies when a SYN queue is full (RFC 4987) */
  uint64_t rto_initial_ns;   /* RFC 6298 2.1: 1 s */
  uint64_t rto_min_ns;       /* RFC 6298 2.4: 1 s */
  uint64_t rto_max_ns;       /* RFC 6298 2.5: at least 60 s */
  uint32_t syn_retries;      /* SYN (and SYN-ACK) retransmissions before giving up */
  uint32_t data_retries;     /* data retransmissions before ETIMEDOUT */
  uint64_t delack_ns;        /* delayed-ACK timeout, at most 200 ms (RFC 1122 4.2.3.2: < 0.5 s) */
  uint64_t msl_ns;           /* TIME-WAIT lasts 2 * MSL */
  uint64_t keepidle_ns, keepintvl_ns;
  uint32_t keepcnt;
  uint64_t persist_min_ns, persist_max_ns;
  uint32_t challenge_ack_limit; /* RFC 5961 7: challenge ACKs per interval per stack */
  uint64_t challenge_ack_interval_ns; /* RFC 5961 7: the interval, default 1 s */
  /* A connection holding buffer memory while stalled on a zero window (the peer's never
   * reopens, or the application never reads a full receive buffer) this long is aborted
   * (RFC 9293 3.8.6.1 resource management, RFC 6429). 0: never. Default 1 hour. */
  uint64_t zero_window_timeout_ns;
  /* When the chunk pool runs dry, connections stalled at least this long are reclaimed at once,
   * the longest stalled first, so that they cannot starve the others. 0: only the timeout.
   * Default 10 s. */
  uint64_t zero_window_pressure_ns;
  /* An out-of-window pure ACK is answered at most once per this interval per connection
   * (forged-ACK floods; Linux tcp_invalid_ratelimit). 0: always. Default 500 ms. */
  uint64_t oow_ack_interval_ns;
  uint16_t ephemeral_lo, ephemeral_hi;
};

/* Defaults: RFC values (RTO 1 s initial and minimum, 60 s maximum), MSL 30 s, delayed ACK
 * 40 ms, IW10, window scaling, timestamps and SACK offered, 64 KiB buffers. */
void utcp_tcp_config_default(struct utcp_tcp_config *cfg);
/* UTCP_ERR_INVAL for zero pools, timers out of their RFC ranges, or a bad ephemeral range. */
int utcp_tcp_config_check(const struct utcp_tcp_config *cfg);

/* Connection states, RFC 9293 3.3.2. */
enum utcp_tcp_state {
  UTCP_TCP_CLOSED = 0,
  UTCP_TCP_LISTEN,
  UTCP_TCP_SYN_SENT,
  UTCP_TCP_SYN_RECEIVED,
  UTCP_TCP_ESTABLISHED,
  UTCP_TCP_FIN_WAIT_1,
  UTCP_TCP_FIN_WAIT_2,
  UTCP_TCP_CLOSE_WAIT,
  UTCP_TCP_CLOSING,
  UTCP_TCP_LAST_ACK,
  UTCP_TCP_TIME_WAIT,
};

const char *utcp_tcp_state_name(int state);

/* Per-connection options (utcp_tcp_setopt / utcp_tcp_getopt). */
enum utcp_tcp_opt {
  UTCP_TCPOPT_NODELAY = 1,   /* 0/1: disable Nagle */
  UTCP_TCPOPT_SNDBUF,        /* bytes */
  UTCP_TCPOPT_RCVBUF,        /* bytes; before connect/listen for window scaling to follow */
  UTCP_TCPOPT_MAXSEG,        /* MSS to announce and cap the send MSS with */
  UTCP_TCPOPT_KEEPALIVE,     /* 0/1 */
  UTCP_TCPOPT_KEEPIDLE,      /* seconds */
  UTCP_TCPOPT_KEEPINTVL,     /* seconds */
  UTCP_TCPOPT_KEEPCNT,
  UTCP_TCPOPT_LINGER,        /* -1 off; 0: close aborts with RST; n > 0: as off (no blocking) */
  UTCP_TCPOPT_REUSEADDR,     /* 0/1 (listeners: bind over TIME-WAIT) */
  UTCP_TCPOPT_ERROR,         /* get only: pending error (UTCP_ERR_*), cleared by reading */
};

/* Like Linux struct tcp_info. */
struct utcp_tcp_info {
  uint8_t state;
  uint8_t snd_wscale, rcv_wscale;
  bool ts_ok, sack_ok;
  uint32_t snd_mss, rcv_mss;
  uint32_t iss, irs, snd_una, snd_nxt, rcv_nxt;
  uint32_t snd_wnd, rcv_wnd;
  uint32_t cwnd, ssthresh; /* bytes */
  uint64_t srtt_ns, rttvar_ns, rto_ns;
  uint32_t retransmits; /* consecutive RTO backoffs now */
  uint64_t total_retrans;
  uint32_t unacked, sndbuf_used, rcvbuf_used, ooo_bytes;
  uint32_t ooo_ranges; /* out-of-order ranges held (at most reass_max_ranges) */
  uint64_t bytes_acked, bytes_received;
  uint32_t laddr, raddr;
  uint16_t lport, rport;
};

/* Opens a listener on lport (our address). backlog bounds the accept queue; the SYN queue is
 * bounded by cfg.tcp.syn_backlog. Errors: INVAL (port 0, backlog 0), ADDRINUSE, NOMEM. */
int utcp_tcp_listen(struct utcp_stack *s, uint16_t lport, uint32_t backlog, utcp_conn_t *out);
/* Takes an established connection off a listener's accept queue. Errors: BADF, INVAL (not a
 * listener), AGAIN (queue empty). */
int utcp_tcp_accept(struct utcp_stack *s, utcp_conn_t listener, utcp_conn_t *out);
/* Active open to raddr:rport from lport (0: an ephemeral port). Sends the SYN; completion is a
 * UTCP_EV_CONNECTED (or UTCP_EV_ERROR) event. Errors: INVAL, ADDRINUSE, ADDRNOTAVAIL (no free
 * ephemeral port), HOSTUNREACH, NOMEM. */
int utcp_tcp_connect(struct utcp_stack *s, uint32_t raddr, uint16_t rport, uint16_t lport,
                     uint64_t now, utcp_conn_t *out);
/* Like connect but with options set on the new connection before its SYN goes out
 * (opts: pairs of enum utcp_tcp_opt and value, n pairs). */
int utcp_tcp_connect_opts(struct utcp_stack *s, uint32_t raddr, uint16_t rport, uint16_t lport,
                          const int (*opts)[2], size_t n, uint64_t now, utcp_conn_t *out);
/* Queues up to len bytes; returns bytes queued (> 0), or AGAIN (buffer full), NOTCONN (not yet
 * synchronised and not SYN-SENT), PIPE (send side shut down), CONNRESET/TIMEDOUT (connection
 * failed), BADF. */
int utcp_tcp_send(struct utcp_stack *s, utcp_conn_t c, const void *buf, size_t len, uint64_t now);
/* Like utcp_tcp_send; with `more`, only queues: the caller has more to add (the rest of a
 * writev) and calls utcp_tcp_push after it, so the pieces are segmented as one write (a
 * header and a short body in one segment, not the body held by Nagle behind the header). */
int utcp_tcp_send_more(struct utcp_stack *s, utcp_conn_t c, const void *buf, size_t len,
                       bool more, uint64_t now);
/* Sends what utcp_tcp_send_more queued (as utcp_tcp_send would have). */
void utcp_tcp_push(struct utcp_stack *s, utcp_conn_t c, uint64_t now);
/* Reads up to len in-order bytes; peek leaves them queued. Returns bytes (> 0), 0 at end of
 * stream, AGAIN, NOTCONN, CONNRESET, TIMEDOUT, BADF. */
int utcp_tcp_recv(struct utcp_stack *s, utcp_conn_t c, void *buf, size_t len, bool peek,
                  uint64_t now);
/* Shuts down the send side (FIN after queued data), the receive side (further data is
 * discarded and acknowledged), or both. Errors: BADF, NOTCONN. */
#define UTCP_SHUT_RD 1
#define UTCP_SHUT_WR 2
#define UTCP_SHUT_RDWR 3
int utcp_tcp_shutdown(struct utcp_stack *s, utcp_conn_t c, int how, uint64_t now);
/* Releases the handle. The connection closes gracefully in the background (RFC 9293 CLOSE);
 * unread received data makes it an abort with RST (RFC 2525 2.17, as Linux). BADF. */
int utcp_tcp_close(struct utcp_stack *s, utcp_conn_t c, uint64_t now);
/* Releases the handle and resets the connection (RFC 9293 ABORT). BADF. */
int utcp_tcp_abort(struct utcp_stack *s, utcp_conn_t c, uint64_t now);

int utcp_tcp_setopt(struct utcp_stack *s, utcp_conn_t c, int opt, int value);
int utcp_tcp_getopt(struct utcp_stack *s, utcp_conn_t c, int opt, int *value);
int utcp_tcp_info(const struct utcp_stack *s, utcp_conn_t c, struct utcp_tcp_info *info);

/* Bytes readable now (FIONREAD; for a listener: connections waiting in its accept queue),
 * bytes of send-buffer space, connection state. */
int utcp_tcp_readable(const struct utcp_stack *s, utcp_conn_t c);
int utcp_tcp_writable(const struct utcp_stack *s, utcp_conn_t c);
int utcp_tcp_state(const struct utcp_stack *s, utcp_conn_t c);
/* State, readable and writable bytes (as the three calls above) in one lookup, for poll and
 * epoll. BADF. */
struct utcp_tcp_pollinfo {
  int state, readable, writable;
};
int utcp_tcp_pollinfo(const struct utcp_stack *s, utcp_conn_t c, struct utcp_tcp_pollinfo *pi);

/* Connections in use (all states but free), and TCP timers running: leak checks. */
uint32_t utcp_tcp_conns_in_use(const struct utcp_stack *s);
uint64_t utcp_tcp_timers_running(const struct utcp_stack *s);
uint32_t utcp_tcp_chunks_in_use(const struct utcp_stack *s);
/* Keeps n free chunks from every allocation (received data, writes) until the reserve is
 * lowered again: the paired-threads runtime holds the chunks a write it already accepted for
 * the application will need (api/rt_threads.c). 0: no reserve. */
void utcp_tcp_chunks_reserve(struct utcp_stack *s, uint32_t n);
/* Chunks a write may take now: beyond the reserve and beyond the floor (a quarter of the pool)
 * that send queues leave for received data. */
uint32_t utcp_tcp_chunks_tx_available(const struct utcp_stack *s);
/* Whether writes respect that floor (default on). The paired-threads runtime turns it off
 * while a posted write takes the chunks it held for it (they came out of the room above the
 * floor when it gave the credit). */
void utcp_tcp_chunks_tx_floor(struct utcp_stack *s, bool on);

#endif
