/* The simulator's event-driven application layer (tcpapp.h). */
#include "tcpapp.h"

#include "checker.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define BUF_BYTES (64 * 1024)
#define MAX_FAIL_REPORTS 10

/* ---- content and hashing ---- */

static uint64_t splitmix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

void tcpapp_stream_fill(uint64_t key, uint64_t off, uint8_t *buf, size_t len) {
  size_t i = 0;
  while (i < len) {
    uint64_t pos = off + i;
    uint64_t w = splitmix64(key ^ ((pos >> 3) * 0xd1342543de82ef95ull));
    unsigned b = (unsigned)(pos & 7);
    for (; b < 8 && i < len; b++, i++) buf[i] = (uint8_t)(w >> (8 * b));
  }
}

uint64_t tcpapp_fnv1a(uint64_t h, const void *buf, size_t len) {
  const uint8_t *p = buf;
  for (size_t i = 0; i < len; i++) {
    h ^= p[i];
    h *= 0x100000001b3ull;
  }
  return h;
}

uint64_t tcpapp_stream_hash(uint64_t key, uint64_t len) {
  uint8_t tmp[4096];
  uint64_t h = TCPAPP_FNV_BASIS;
  for (uint64_t off = 0; off < len;) {
    size_t n = len - off < sizeof tmp ? (size_t)(len - off) : sizeof tmp;
    tcpapp_stream_fill(key, off, tmp, n);
    h = tcpapp_fnv1a(h, tmp, n);
    off += n;
  }
  return h;
}

/* ---- connection table ---- */

#define HANDLE_INDEX(c) ((c)&0xffffffu)

static struct tcpapp_conn *conn_get(struct tcpapp_host *h, utcp_conn_t conn) {
  uint32_t i = HANDLE_INDEX(conn);
  if (i >= h->n_index) return NULL;
  struct tcpapp_conn *c = h->by_index[i];
  return c != NULL && c->conn == conn ? c : NULL;
}

static struct tcpapp_conn *conn_new(struct tcpapp_host *h, utcp_conn_t conn, uint64_t now) {
  struct tcpapp_conn *c = h->free_list;
  if (c == NULL) return NULL;
  h->free_list = c->next_free;
  uint32_t i = HANDLE_INDEX(conn);
  if (i >= h->n_index) {
    fprintf(stderr, "tcpapp: handle index %" PRIu32 " beyond the table\n", i);
    abort();
  }
  memset(c, 0, sizeof *c);
  c->host = h;
  c->conn = conn;
  c->rx_first_bad = UINT64_MAX;
  c->tx_hash = c->rx_hash = TCPAPP_FNV_BASIS;
  c->t_open_ns = now;
  h->by_index[i] = c;
  h->st.live++;
  if (h->checker) sim_checker_watch(h->checker, h->node, conn);
  if (h->st.live > h->st.peak_live) h->st.peak_live = h->st.live;
  return c;
}

static void conn_free(struct tcpapp_host *h, struct tcpapp_conn *c) {
  uint32_t i = HANDLE_INDEX(c->conn);
  if (i < h->n_index && h->by_index[i] == c) h->by_index[i] = NULL;
  h->st.live--;
  c->conn = 0;
  c->next_free = h->free_list;
  h->free_list = c;
}

/* ---- the connection's life ---- */

static void fail(struct tcpapp_conn *c, int err, const char *where) {
  if (c->failed) return;
  c->failed = true;
  c->err = err;
  c->err_where = where;
}

/* The application lets go of the handle: account for the connection and free it. */
static void finish(struct tcpapp_conn *c, uint64_t now) {
  struct tcpapp_host *h = c->host;
  utcp_tcp_close(h->stack, c->conn, now);
  c->t_closed_ns = now;
  bool ok = !c->failed && c->rx_eof && c->rx_got == c->plan.rx_bytes &&
            c->rx_first_bad == UINT64_MAX && c->tx_sent == c->plan.tx_bytes;
  if (ok) {
    h->st.completed++;
  } else {
    h->st.failed++;
    if (h->fail_reports++ < MAX_FAIL_REPORTS) {
      printf("  conn %s#%" PRIu32 " failed: %s%s%s; sent %" PRIu64 "/%" PRIu64 ", received %" PRIu64
             "/%" PRIu64 "%s",
             sim_node_name(h->node), c->id,
             c->err_where                    ? c->err_where
             : c->rx_first_bad != UINT64_MAX ? "received bytes differ from the sent ones"
                                             : "ended early",
             c->err ? ": " : "", c->err ? utcp_strerror(c->err) : "", c->tx_sent, c->plan.tx_bytes,
             c->rx_got, c->plan.rx_bytes, c->rx_eof ? ", eof" : "");
      if (c->rx_first_bad != UINT64_MAX) printf(", first bad byte at %" PRIu64, c->rx_first_bad);
      printf("\n");
    }
  }
  if (c->rx_first_bad != UINT64_MAX) h->st.bad_content++;
  h->st.tx_bytes += c->tx_sent;
  h->st.rx_bytes += c->rx_got;
  h->st.tx_hash_sum += c->tx_hash;
  h->st.rx_hash_sum += c->rx_hash;
  if (h->ops.on_done) h->ops.on_done(h, c);
  conn_free(h, c);
}

static void receive(struct tcpapp_conn *c, uint64_t now) {
  struct tcpapp_host *h = c->host;
  uint8_t *exp = h->buf + h->buf_len / 2;
  size_t cap = h->buf_len / 2;
  while (!c->rx_eof && !c->failed) {
    int n = utcp_tcp_recv(h->stack, c->conn, h->buf, cap, false, now);
    if (n == UTCP_ERR_AGAIN) return;
    if (n < 0) {
      fail(c, n, "recv");
      return;
    }
    if (n == 0) {
      c->rx_eof = true;
      return;
    }
    size_t len = (size_t)n;
    /* Check by content against the stream the peer generates, byte for byte. */
    uint64_t in_plan = c->rx_got < c->plan.rx_bytes ? c->plan.rx_bytes - c->rx_got : 0;
    size_t cmp = len < in_plan ? len : (size_t)in_plan;
    tcpapp_stream_fill(c->plan.rx_key, c->rx_got, exp, cmp);
    if (c->rx_first_bad == UINT64_MAX) {
      if (cmp < len) c->rx_first_bad = c->rx_got + cmp; /* more than the peer sends */
      for (size_t i = 0; i < cmp; i++) {
        if (h->buf[i] != exp[i]) {
          c->rx_first_bad = c->rx_got + i;
          break;
        }
      }
    }
    c->rx_hash = tcpapp_fnv1a(c->rx_hash, h->buf, len);
    uint64_t before = c->rx_got;
    c->rx_got += len;
    if (c->plan.tx_unit && c->plan.tx_first &&
        c->rx_got / c->plan.rx_unit > before / c->plan.rx_unit) {
      /* A whole response arrived: the time since its request was queued. */
      uint64_t d = now - c->t_req_ns;
      if (c->resp_count == 0) c->resp_first_ns = d;
      if (d > c->resp_max_ns) c->resp_max_ns = d;
      c->resp_sum_ns += d;
      c->resp_count++;
    }
    if (c->rx_got >= c->plan.rx_bytes && c->t_rx_done_ns == 0) c->t_rx_done_ns = now;
  }
}

static void transmit(struct tcpapp_conn *c, uint64_t now) {
  struct tcpapp_host *h = c->host;
  if (c->rx_got < c->plan.tx_after_rx) return;
  uint64_t limit = c->plan.tx_bytes;
  if (c->plan.tx_unit && c->plan.rx_unit) {
    uint64_t allowed = c->plan.tx_unit * (c->rx_got / c->plan.rx_unit + (c->plan.tx_first ? 1 : 0));
    if (allowed < limit) limit = allowed;
  }
  while (c->tx_sent < limit && !c->failed) {
    uint64_t left = limit - c->tx_sent;
    size_t want = left < h->buf_len ? (size_t)left : h->buf_len;
    int w = utcp_tcp_writable(h->stack, c->conn);
    if (w <= 0) return;
    if ((size_t)w < want) want = (size_t)w;
    tcpapp_stream_fill(c->plan.tx_key, c->tx_sent, h->buf, want);
    int n = utcp_tcp_send(h->stack, c->conn, h->buf, want, now);
    if (n == UTCP_ERR_AGAIN) return;
    if (n < 0) {
      fail(c, n, "send");
      return;
    }
    c->tx_hash = tcpapp_fnv1a(c->tx_hash, h->buf, (size_t)n);
    c->tx_sent += (uint64_t)n;
    if (c->plan.tx_unit && c->tx_sent % c->plan.tx_unit == 0) c->t_req_ns = now;
  }
}

static bool all_acked(struct tcpapp_conn *c) {
  struct utcp_tcp_info info;
  if (utcp_tcp_info(c->host->stack, c->conn, &info) < 0) return false;
  return info.unacked == 0 && info.sndbuf_used == 0;
}

/* Does whatever the connection can do now: read, write, FIN, let go. */
static void pump(struct tcpapp_conn *c, uint64_t now) {
  struct tcpapp_host *h = c->host;
  if (!c->connected) return;
  receive(c, now);
  transmit(c, now);
  if (c->failed) {
    finish(c, now);
    return;
  }
  bool tx_done = c->tx_sent == c->plan.tx_bytes;
  bool rx_done = c->rx_got >= c->plan.rx_bytes;
  if (!c->ready_signalled && tx_done && rx_done && all_acked(c)) {
    c->ready_signalled = true;
    if (h->ops.on_ready) h->ops.on_ready(h, c);
  }
  if (!c->tx_shut && tx_done) {
    bool go;
    switch (c->plan.fin) {
      case TCPAPP_FIN_AFTER_TX:
        go = true;
        break;
      case TCPAPP_FIN_AFTER_RX:
        go = rx_done;
        break;
      case TCPAPP_FIN_AFTER_EOF:
        go = c->rx_eof;
        break;
      default:
        go = c->released;
        break;
    }
    if (go) {
      int rc = utcp_tcp_shutdown(h->stack, c->conn, UTCP_SHUT_WR, now);
      if (rc < 0) {
        fail(c, rc, "shutdown");
        finish(c, now);
        return;
      }
      c->tx_shut = true;
    }
  }
  if (c->tx_shut && c->rx_eof) finish(c, now);
}

void tcpapp_conn_release(struct tcpapp_conn *c) {
  c->released = true;
  pump(c, sim_now(sim_node_sim(c->host->node)));
}

static void accept_all(struct tcpapp_host *h, utcp_conn_t listener, uint64_t now) {
  for (;;) {
    utcp_conn_t conn;
    int rc = utcp_tcp_accept(h->stack, listener, &conn);
    if (rc == UTCP_ERR_AGAIN) return;
    if (rc < 0) {
      printf("  %s: accept: %s\n", sim_node_name(h->node), utcp_strerror(rc));
      return;
    }
    struct tcpapp_conn *c = conn_new(h, conn, now);
    if (c == NULL) {
      printf("  %s: no application slot for an accepted connection\n", sim_node_name(h->node));
      utcp_tcp_abort(h->stack, conn, now);
      h->st.failed++;
      continue;
    }
    c->passive = true;
    h->st.accepted++;
    struct utcp_tcp_info info;
    utcp_tcp_info(h->stack, conn, &info);
    if (h->ops.on_accept) h->ops.on_accept(h, c, &info);
    /* CONNECTED (and any READABLE) follow from the accept as events. */
  }
}

static void on_event(struct sim_node *node, const struct utcp_event *ev, uint64_t now, void *app) {
  struct tcpapp_host *h = app;
  (void)node;
  if (ev->type == UTCP_EV_ACCEPTABLE) {
    for (uint32_t i = 0; i < h->n_listeners; i++)
      if (ev->conn == h->listeners[i]) accept_all(h, ev->conn, now);
    return;
  }
  struct tcpapp_conn *c = conn_get(h, ev->conn);
  if (c == NULL) return; /* released since the event was queued */
  switch (ev->type) {
    case UTCP_EV_CONNECTED:
      if (!c->connected) {
        c->connected = true;
        c->t_connected_ns = now;
      }
      pump(c, now);
      break;
    case UTCP_EV_READABLE:
    case UTCP_EV_WRITABLE:
    case UTCP_EV_PEER_CLOSED:
      pump(c, now);
      break;
    case UTCP_EV_RESET:
    case UTCP_EV_ERROR:
      fail(c, ev->err, ev->type == UTCP_EV_RESET ? "reset" : "error");
      finish(c, now);
      break;
    case UTCP_EV_CLOSED:
      if (c->connected) pump(c, now);
      if (conn_get(h, ev->conn) == c) {
        if (!(c->tx_shut && c->rx_eof)) fail(c, 0, "closed before the application finished");
        finish(c, now);
      }
      break;
    default:
      break;
  }
}

/* ---- hosts ---- */

struct tcpapp_host *tcpapp_host_new(struct sim *sim, const char *name,
                                    const struct utcp_stack_config *cfg, uint32_t max_conns,
                                    const struct tcpapp_ops *ops, void *scenario) {
  struct tcpapp_host *h = sim_xcalloc(1, sizeof *h);
  if (ops) h->ops = *ops;
  h->scenario = scenario;
  int rc = sim_stack_node_new(sim, name, cfg, on_event, h, &h->node);
  if (rc < 0) {
    fprintf(stderr, "utcp-sim: creating host %s: %s\n", name, utcp_strerror(rc));
    free(h);
    return NULL;
  }
  h->stack = sim_stack_node_stack(h->node);
  h->n_index = cfg->tcp.max_conns + 1;
  h->by_index = sim_xcalloc(h->n_index, sizeof *h->by_index);
  h->pool_len = max_conns;
  h->pool = sim_xcalloc(max_conns, sizeof *h->pool);
  for (uint32_t i = max_conns; i-- > 0;) {
    h->pool[i].next_free = h->free_list;
    h->free_list = &h->pool[i];
  }
  h->buf_len = 2 * BUF_BYTES;
  h->buf = sim_xmalloc(h->buf_len);
  return h;
}

void tcpapp_host_free(struct tcpapp_host *h) {
  if (h == NULL) return;
  free(h->by_index);
  free(h->pool);
  free(h->buf);
  free(h);
}

int tcpapp_listen(struct tcpapp_host *h, uint16_t port, uint32_t backlog) {
  if (h->n_listeners == TCPAPP_MAX_LISTENERS) return UTCP_ERR_NOMEM;
  utcp_conn_t l;
  int rc = utcp_tcp_listen(h->stack, port, backlog, &l);
  if (rc < 0) return rc;
  h->listeners[h->n_listeners++] = l;
  if (h->listener == 0) h->listener = l;
  return rc;
}

void tcpapp_unlisten(struct tcpapp_host *h) {
  for (uint32_t i = 0; i < h->n_listeners; i++)
    utcp_tcp_close(h->stack, h->listeners[i], sim_now(sim_node_sim(h->node)));
  h->n_listeners = 0;
  h->listener = 0;
}

struct tcpapp_conn *tcpapp_connect(struct tcpapp_host *h, uint32_t raddr, uint16_t rport,
                                   const struct tcpapp_plan *plan, uint32_t id, int *err) {
  uint64_t now = sim_now(sim_node_sim(h->node));
  if (h->free_list == NULL) {
    *err = UTCP_ERR_NOMEM;
    return NULL;
  }
  utcp_conn_t conn;
  int rc = utcp_tcp_connect(h->stack, raddr, rport, 0, now, &conn);
  if (rc < 0) {
    *err = rc;
    return NULL;
  }
  struct tcpapp_conn *c = conn_new(h, conn, now);
  c->plan = *plan;
  c->id = id;
  h->st.opened++;
  return c;
}

void tcpapp_host_dump(struct tcpapp_host *h, FILE *out, uint32_t max) {
  uint32_t shown = 0;
  for (uint32_t i = 0; i < h->n_index && shown < max; i++) {
    struct tcpapp_conn *c = h->by_index[i];
    if (c == NULL) continue;
    shown++;
    struct utcp_tcp_info in;
    if (utcp_tcp_info(h->stack, c->conn, &in) < 0) {
      fprintf(out, "  %s#%" PRIu32 ": (no TCB)\n", sim_node_name(h->node), c->id);
      continue;
    }
    fprintf(out,
            "  %s#%" PRIu32 " :%u->:%u %s sent %" PRIu64 "/%" PRIu64 " rcvd %" PRIu64 "/%" PRIu64
            "%s%s una %" PRIu32 " nxt %" PRIu32 " rcv_nxt %" PRIu32 " snd_wnd %" PRIu32
            " cwnd %" PRIu32 " ssthresh %" PRIu32 " rto %.3fs backoff %" PRIu32 " unacked %" PRIu32
            " sndbuf %" PRIu32 " rcvbuf %" PRIu32 " ooo %" PRIu32 "\n",
            sim_node_name(h->node), c->id, in.lport, in.rport, utcp_tcp_state_name(in.state),
            c->tx_sent, c->plan.tx_bytes, c->rx_got, c->plan.rx_bytes, c->tx_shut ? " shut" : "",
            c->rx_eof ? " eof" : "", in.snd_una - in.iss, in.snd_nxt - in.iss, in.rcv_nxt - in.irs,
            in.snd_wnd, in.cwnd, in.ssthresh, (double)in.rto_ns / 1e9, in.retransmits, in.unacked,
            in.sndbuf_used, in.rcvbuf_used, in.ooo_bytes);
  }
}
