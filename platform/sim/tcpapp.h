/* A small application layer for simulator nodes that host a utcp stack, driven only by the
 * stack's events: connections that send a byte stream generated from a key and check the
 * stream they receive against the stream the peer generated (in order, exactly once, by
 * content), with a running FNV-1a hash of each direction for end-to-end comparison.
 *
 * One `tcpapp_host` per node. It owns the node's listener (if any) and every connection the
 * application holds; each connection follows a `tcpapp_plan`: how many bytes to send and with
 * which key, how many to expect and with which key, when to send the FIN, whether to wait for
 * a release from the scenario first. The scenarios (transfer.c, scenario_run.c) create hosts,
 * open connections, and read the results. */
#ifndef UTCP_PLATFORM_SIM_TCPAPP_H
#define UTCP_PLATFORM_SIM_TCPAPP_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "sim.h"

/* ---- content and hashing ---- */

#define TCPAPP_FNV_BASIS 0xcbf29ce484222325ull

/* Fills buf with bytes [off, off+len) of the stream named by key (a pure function of both). */
void tcpapp_stream_fill(uint64_t key, uint64_t off, uint8_t *buf, size_t len);
/* FNV-1a 64 over buf, continuing from h. */
uint64_t tcpapp_fnv1a(uint64_t h, const void *buf, size_t len);
/* The FNV-1a hash of bytes [0, len) of the stream named by key. */
uint64_t tcpapp_stream_hash(uint64_t key, uint64_t len);

/* ---- connections ---- */

enum tcpapp_fin {
  TCPAPP_FIN_AFTER_TX,  /* shut down sending as soon as everything is queued */
  TCPAPP_FIN_AFTER_RX,  /* ... and every expected byte has arrived */
  TCPAPP_FIN_AFTER_EOF, /* ... and the peer's FIN has arrived (a passive close) */
  TCPAPP_FIN_HOLD,      /* ... and the scenario released it (tcpapp_conn_release) */
};

struct tcpapp_plan {
  uint64_t tx_bytes, tx_key;
  uint64_t rx_bytes, rx_key; /* expected */
  uint64_t tx_after_rx;      /* start sending once this many bytes arrived (request/response) */
  /* Repeated exchanges (request/response): when tx_unit > 0, the connection may have sent
   * tx_unit * (rx_got / rx_unit + tx_first) bytes, so each message waits for the peer's
   * previous one; the side with tx_first records each response time (tcpapp_conn.resp_*). */
  uint64_t tx_unit, rx_unit;
  bool tx_first;
  enum tcpapp_fin fin;
};

struct tcpapp_conn {
  struct tcpapp_host *host;
  utcp_conn_t conn;
  struct tcpapp_plan plan;
  bool passive, connected, tx_shut, rx_eof, released, ready_signalled, failed;
  int err; /* first error seen (UTCP_ERR_*), 0 if none */
  const char *err_where;
  uint64_t tx_sent, tx_hash;
  uint64_t rx_got, rx_hash;
  uint64_t rx_first_bad; /* offset of the first byte that differs; UINT64_MAX: none */
  uint64_t t_open_ns, t_connected_ns, t_rx_done_ns, t_closed_ns;
  /* Exchanges (plan.tx_unit): when the last request was completely queued, and the time from
   * there to the whole response for the first one, the largest and the sum of all. */
  uint64_t t_req_ns, resp_first_ns, resp_max_ns, resp_sum_ns, resp_count;
  uint32_t id; /* scenario's number */
  struct tcpapp_conn *next_free;
};

struct tcpapp_host;

struct tcpapp_ops {
  /* A passive connection was accepted: fill in its plan (info holds its ports). */
  void (*on_accept)(struct tcpapp_host *h, struct tcpapp_conn *c, const struct utcp_tcp_info *info);
  /* Everything was sent and acknowledged and every expected byte arrived (once per conn). */
  void (*on_ready)(struct tcpapp_host *h, struct tcpapp_conn *c);
  /* The application released its handle (after a clean end or a failure); c is freed after. */
  void (*on_done)(struct tcpapp_host *h, struct tcpapp_conn *c);
};

struct tcpapp_stats {
  uint64_t opened, accepted, completed, failed;
  uint64_t tx_bytes, rx_bytes;
  uint64_t tx_hash_sum, rx_hash_sum; /* sums over connections of each stream's hash */
  uint64_t bad_content;              /* connections whose received bytes differed */
  uint32_t live, peak_live;          /* connections the application holds */
};

#define TCPAPP_MAX_LISTENERS 16

struct sim_checker;

struct tcpapp_host {
  struct sim_node *node;
  struct utcp_stack *stack;
  utcp_conn_t listener; /* the first listener; 0: none */
  utcp_conn_t listeners[TCPAPP_MAX_LISTENERS];
  uint32_t n_listeners;
  /* When set, every connection the application opens or accepts is handed to the checker
   * (sim_checker_watch) for its state and congestion-control checks. */
  struct sim_checker *checker;
  struct tcpapp_ops ops;
  void *scenario;
  struct tcpapp_stats st;
  /* connections by handle index */
  struct tcpapp_conn **by_index;
  uint32_t n_index;
  struct tcpapp_conn *pool, *free_list;
  uint32_t pool_len;
  uint8_t *buf; /* scratch for sending and receiving */
  size_t buf_len;
  uint32_t fail_reports; /* failures printed so far (capped) */
};

/* Creates a host on a new stack node (cfg as for sim_stack_node_new) holding up to max_conns
 * application connections. Returns NULL (message printed) when the stack cannot be made. */
struct tcpapp_host *tcpapp_host_new(struct sim *sim, const char *name,
                                    const struct utcp_stack_config *cfg, uint32_t max_conns,
                                    const struct tcpapp_ops *ops, void *scenario);
void tcpapp_host_free(struct tcpapp_host *h);
/* Listens on port (up to TCPAPP_MAX_LISTENERS ports); accepted connections get their plan
 * from ops.on_accept. */
int tcpapp_listen(struct tcpapp_host *h, uint16_t port, uint32_t backlog);
/* Closes every listener. */
void tcpapp_unlisten(struct tcpapp_host *h);
/* Opens a connection following plan; NULL when the stack refuses (err set). */
struct tcpapp_conn *tcpapp_connect(struct tcpapp_host *h, uint32_t raddr, uint16_t rport,
                                   const struct tcpapp_plan *plan, uint32_t id, int *err);
/* Lets a TCPAPP_FIN_HOLD connection send its FIN. Call sim_stack_node_poke afterwards when
 * calling from outside an event callback. */
void tcpapp_conn_release(struct tcpapp_conn *c);
/* Prints the host's live connections (state, sequence variables) for a post-mortem. */
void tcpapp_host_dump(struct tcpapp_host *h, FILE *out, uint32_t max);

#endif
