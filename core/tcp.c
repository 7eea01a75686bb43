/* TCP connection table, handles, events and the core connection API (RFC 9293 3.9). */
#include <string.h>

#include "syncookie.h"
#include "tcp_impl.h"

#define NIL 0u
#define HANDLE_INDEX_BITS 24
#define HANDLE_INDEX_MASK ((1u << HANDLE_INDEX_BITS) - 1)
#define MS 1000000ull
#define SEC 1000000000ull

void utcp_tcp_config_default(struct utcp_tcp_config *c) {
  memset(c, 0, sizeof *c);
  c->max_conns = 4096;
  c->syn_backlog = 1024;
  c->chunks = 16384;
  c->reass_nodes = 8192;
  c->reass_max_ranges = 32;
  c->sack_max_ranges = 16;
  c->sndbuf_bytes = 64 * 1024;
  c->rcvbuf_bytes = 64 * 1024;
  c->mss_default = 536;
  c->iw_segments = 10;
  c->wscale = true;
  c->timestamps = true;
  c->sack = true;
  c->syncookies = true;
  c->rto_initial_ns = 1 * SEC;
  c->rto_min_ns = 1 * SEC;
  c->rto_max_ns = 60 * SEC;
  /* RFC 1122 4.2.3.5: a SYN retried for at least 3 minutes (SYNs until 123 s with the 60 s RTO
   * cap, giving up at 183 s). */
  c->syn_retries = 7;
  c->data_retries = 15;
  c->delack_ns = 40 * MS;
  c->msl_ns = 30 * SEC;
  c->keepidle_ns = 7200 * SEC;
  c->keepintvl_ns = 75 * SEC;
  c->keepcnt = 9;
  c->persist_min_ns = 1 * SEC;
  c->persist_max_ns = 60 * SEC;
  c->challenge_ack_limit = 1000;
  c->challenge_ack_interval_ns = 1 * SEC;
  c->zero_window_timeout_ns = 3600 * SEC;
  c->zero_window_pressure_ns = 10 * SEC;
  c->oow_ack_interval_ns = 500 * MS;
  c->ephemeral_lo = 32768;
  c->ephemeral_hi = 60999;
}

int utcp_tcp_config_check(const struct utcp_tcp_config *c) {
  if (c->max_conns == 0 || c->max_conns > HANDLE_INDEX_MASK || c->syn_backlog == 0 ||
      c->chunks == 0 || c->reass_nodes == 0 || c->reass_max_ranges == 0)
    return UTCP_ERR_INVAL;
  if (c->sack_max_ranges == 0 || c->sack_max_ranges > UTCP_SACK_RANGES_MAX) return UTCP_ERR_INVAL;
  if (c->sndbuf_bytes < 2048 || c->rcvbuf_bytes < 2048 || c->rcvbuf_bytes > (1u << 30) ||
      c->sndbuf_bytes > (1u << 30))
    return UTCP_ERR_INVAL;
  if (c->mss_default < 88 || c->iw_segments == 0 || c->iw_segments > 100) return UTCP_ERR_INVAL;
  if (c->rto_min_ns == 0 || c->rto_min_ns > c->rto_max_ns || c->rto_initial_ns < c->rto_min_ns ||
      c->rto_initial_ns > c->rto_max_ns)
    return UTCP_ERR_INVAL;
  /* RFC 1122 4.2.3.2: the delay MUST be less than 0.5 seconds; utcp keeps it at most 200 ms. */
  if (c->delack_ns == 0 || c->delack_ns > 200 * MS) return UTCP_ERR_INVAL;
  if (c->msl_ns == 0 || c->keepidle_ns == 0 || c->keepintvl_ns == 0 || c->keepcnt == 0)
    return UTCP_ERR_INVAL;
  if (c->persist_min_ns == 0 || c->persist_min_ns > c->persist_max_ns) return UTCP_ERR_INVAL;
  if (c->challenge_ack_interval_ns == 0) return UTCP_ERR_INVAL;
  if (c->syn_retries == 0 || c->data_retries == 0 || c->syn_retries > 30 || c->data_retries > 30)
    return UTCP_ERR_INVAL;
  if (c->ephemeral_lo == 0 || c->ephemeral_lo > c->ephemeral_hi) return UTCP_ERR_INVAL;
  return 0;
}

const char *utcp_tcp_state_name(int state) {
  static const char *const names[] = {
      "CLOSED",     "LISTEN",     "SYN-SENT", "SYN-RECEIVED", "ESTABLISHED", "FIN-WAIT-1",
      "FIN-WAIT-2", "CLOSE-WAIT", "CLOSING",  "LAST-ACK",     "TIME-WAIT"};
  return state >= 0 && state <= UTCP_TCP_TIME_WAIT ? names[state] : "?";
}

/* ---- creation ---- */

int utcp_tcp_create(struct utcp_stack *s) {
  const struct utcp_tcp_config *c = &s->cfg.tcp;
  struct utcp_tcp *tcp = utcp_stack_alloc(s, sizeof *tcp);
  if (tcp == NULL) return UTCP_ERR_NOMEM;
  s->tcp = tcp;
  tcp->n_tcbs = c->max_conns;
  tcp->n_buckets = 1;
  while (tcp->n_buckets < c->max_conns) tcp->n_buckets <<= 1;
  tcp->tcbs = utcp_stack_alloc(s, sizeof *tcp->tcbs * tcp->n_tcbs);
  tcp->flow_buckets = utcp_stack_alloc(s, sizeof *tcp->flow_buckets * tcp->n_buckets);
  struct utcp_chunk *chunks = utcp_stack_alloc(s, sizeof *chunks * c->chunks);
  struct utcp_reass_node *nodes = utcp_stack_alloc(s, sizeof *nodes * c->reass_nodes);
  if (!tcp->tcbs || !tcp->flow_buckets || !chunks || !nodes) {
    utcp_stack_dealloc(s, chunks, sizeof *chunks * c->chunks);
    utcp_stack_dealloc(s, nodes, sizeof *nodes * c->reass_nodes);
    return UTCP_ERR_NOMEM;
  }
  utcp_chunk_pool_init(&tcp->chunks, chunks, c->chunks);
  utcp_chunks_set_limits(&tcp->chunks, 0, c->chunks / 4, false); /* docs/tcp.md "Buffers" */
  utcp_reass_pool_init(&tcp->reass, nodes, c->reass_nodes, &tcp->chunks);
  for (uint32_t i = 0; i < tcp->n_tcbs; i++) tcp->tcbs[i].q_next = i + 2 <= tcp->n_tcbs ? i + 2 : NIL;
  tcp->free_head = 1;
  for (int i = 0; i < 16; i += 8) {
    uint64_t r = utcp_rng_next(&s->rng);
    memcpy(tcp->flow_key + i, &r, 8);
  }
  utcp_timer_wheel_init(&tcp->wheel, s->now);
  tcp->next_ephemeral =
      (uint16_t)(c->ephemeral_lo + utcp_rng_below(&s->rng, (uint64_t)c->ephemeral_hi - c->ephemeral_lo + 1));
  return 0;
}

void utcp_tcp_destroy(struct utcp_stack *s) {
  struct utcp_tcp *tcp = s->tcp;
  if (tcp == NULL) return;
  const struct utcp_tcp_config *c = &s->cfg.tcp;
  utcp_stack_dealloc(s, tcp->tcbs, sizeof *tcp->tcbs * tcp->n_tcbs);
  utcp_stack_dealloc(s, tcp->flow_buckets, sizeof *tcp->flow_buckets * tcp->n_buckets);
  utcp_stack_dealloc(s, tcp->chunks.chunks, sizeof *tcp->chunks.chunks * c->chunks);
  utcp_stack_dealloc(s, tcp->reass.nodes, sizeof *tcp->reass.nodes * c->reass_nodes);
  utcp_stack_dealloc(s, tcp, sizeof *tcp);
  s->tcp = NULL;
}

/* ---- flow table ---- */

static uint32_t flow_hash(const struct utcp_tcp *tcp, uint32_t laddr, uint16_t lport,
                          uint32_t raddr, uint16_t rport) {
  uint64_t k0, k1;
  memcpy(&k0, tcp->flow_key, 8);
  memcpy(&k1, tcp->flow_key + 8, 8);
  uint64_t h = utcp_siphash13_2x64(k0, k1, (uint64_t)laddr << 32 | raddr,
                                   (uint64_t)lport << 16 | rport);
  return (uint32_t)h & (tcp->n_buckets - 1);
}

static bool tuple_is(const struct utcp_tcb *t, uint32_t laddr, uint16_t lport, uint32_t raddr,
                     uint16_t rport) {
  return t->lport == lport && t->rport == rport && t->raddr == raddr && t->laddr == laddr;
}

/* A one-entry cache in front of the hash (4.3BSD's tcp_last_inpcb): segments come in bursts
 * of one flow (a receive burst of a bulk transfer, a request and its ACK), and a hit skips the
 * keyed hash. The cached TCB is always in the table (hash_remove forgets it), and a 4-tuple
 * names at most one TCB there, so a hit is what the walk would find. */
struct utcp_tcb *utcp_tcb_lookup(struct utcp_stack *s, uint32_t laddr, uint16_t lport,
                                 uint32_t raddr, uint16_t rport) {
  struct utcp_tcp *tcp = s->tcp;
  if (tcp->last_hit != NIL) {
    struct utcp_tcb *t = &tcp->tcbs[tcp->last_hit - 1];
    if (tuple_is(t, laddr, lport, raddr, rport)) return t;
  }
  uint32_t i = tcp->flow_buckets[flow_hash(tcp, laddr, lport, raddr, rport)];
  while (i != NIL) {
    struct utcp_tcb *t = &tcp->tcbs[i - 1];
    if (tuple_is(t, laddr, lport, raddr, rport)) {
      tcp->last_hit = i;
      return t;
    }
    i = t->hash_next;
  }
  return NULL;
}

/* Listeners hash as (our address, port, 0, 0). */
struct utcp_tcb *utcp_tcb_listener(struct utcp_stack *s, uint16_t lport) {
  struct utcp_tcb *t = utcp_tcb_lookup(s, s->cfg.ip, lport, 0, 0);
  return t != NULL && t->state == UTCP_TCP_LISTEN ? t : NULL;
}

void utcp_tcb_hash_insert(struct utcp_stack *s, struct utcp_tcb *t) {
  struct utcp_tcp *tcp = s->tcp;
  uint32_t b = flow_hash(tcp, t->laddr, t->lport, t->raddr, t->rport);
  t->hash_next = tcp->flow_buckets[b];
  tcp->flow_buckets[b] = tcb_index(s, t) + 1;
}

static void hash_remove(struct utcp_stack *s, struct utcp_tcb *t) {
  struct utcp_tcp *tcp = s->tcp;
  uint32_t idx1 = tcb_index(s, t) + 1;
  uint32_t *link = &tcp->flow_buckets[flow_hash(tcp, t->laddr, t->lport, t->raddr, t->rport)];
  while (*link != NIL && *link != idx1) link = &tcp->tcbs[*link - 1].hash_next;
  if (*link == idx1) *link = t->hash_next;
  t->hash_next = NIL;
  if (tcp->last_hit == idx1) tcp->last_hit = NIL;
}

/* ---- TCB life ---- */

static void tw_unlink(struct utcp_stack *s, struct utcp_tcb *t) {
  struct utcp_tcp *tcp = s->tcp;
  if (t->tw_prev != NIL) {
    tcp->tcbs[t->tw_prev - 1].tw_next = t->tw_next;
  } else {
    tcp->tw_head = t->tw_next;
  }
  if (t->tw_next != NIL) {
    tcp->tcbs[t->tw_next - 1].tw_prev = t->tw_prev;
  } else {
    tcp->tw_tail = t->tw_prev;
  }
  t->tw_next = t->tw_prev = NIL;
}

static void tw_append(struct utcp_stack *s, struct utcp_tcb *t) {
  struct utcp_tcp *tcp = s->tcp;
  uint32_t i = tcb_index(s, t) + 1;
  t->tw_prev = tcp->tw_tail;
  t->tw_next = NIL;
  if (tcp->tw_tail != NIL) {
    tcp->tcbs[tcp->tw_tail - 1].tw_next = i;
  } else {
    tcp->tw_head = i;
  }
  tcp->tw_tail = i;
}

static void tcb_free(struct utcp_stack *s, struct utcp_tcb *t);

/* The connection table is full: end the oldest TIME-WAIT connection the application no longer
 * holds, so that a busy server or client that closes first keeps opening connections instead
 * of refusing them (FreeBSD's tcp_tw_2msl_scan(reuse) and Linux's tcp_max_tw_buckets make the
 * same trade). Counted: TcpExtTCPTimeWaitOverflow. A few entries are looked at, never the whole
 * list. */
static bool tw_recycle(struct utcp_stack *s) {
  uint32_t i = s->tcp->tw_head;
  for (int k = 0; k < 8 && i != NIL; k++) {
    struct utcp_tcb *t = &s->tcp->tcbs[i - 1];
    if (t->flags & TF_ORPHAN) {
      s->ctr.tcp_timewait_overflow++;
      tcb_free(s, t);
      return true;
    }
    i = t->tw_next;
  }
  return false;
}

struct utcp_tcb *utcp_tcb_alloc(struct utcp_stack *s) {
  struct utcp_tcp *tcp = s->tcp;
  if (tcp->free_head == NIL && !tw_recycle(s)) return NULL;
  struct utcp_tcb *t = &tcp->tcbs[tcp->free_head - 1];
  tcp->free_head = t->q_next;
  uint8_t gen = (uint8_t)(t->gen + 1);
  memset(t, 0, sizeof *t);
  t->gen = gen;
  t->used = true;
  t->state = UTCP_TCP_CLOSED;
  t->linger = -1;
  t->sndbuf = s->cfg.tcp.sndbuf_bytes;
  t->rcvbuf = s->cfg.tcp.rcvbuf_bytes;
  t->keepidle_ns = s->cfg.tcp.keepidle_ns;
  t->keepintvl_ns = s->cfg.tcp.keepintvl_ns;
  t->keepcnt = s->cfg.tcp.keepcnt;
  utcp_bufq_init(&t->sndq);
  utcp_bufq_init(&t->rcvq);
  utcp_reass_init(&t->reass);
  utcp_timer_init(&t->timer);
  tcp->in_use++;
  return t;
}

static void ready_unlink(struct utcp_stack *s, struct utcp_tcb *t) {
  struct utcp_tcp *tcp = s->tcp;
  if (t->ev_mask == 0) return;
  if (t->ev_prev != NIL) {
    tcp->tcbs[t->ev_prev - 1].ev_next = t->ev_next;
  } else {
    tcp->ready_head = t->ev_next;
  }
  if (t->ev_next != NIL) {
    tcp->tcbs[t->ev_next - 1].ev_prev = t->ev_prev;
  } else {
    tcp->ready_tail = t->ev_prev;
  }
  t->ev_next = t->ev_prev = NIL;
  t->ev_mask = 0;
}

void utcp_tcb_sndq_consume(struct utcp_stack *s, struct utcp_tcb *t, size_t n) {
  struct utcp_chunk_pool *p = &s->tcp->chunks;
  uint32_t before = p->n_free;
  utcp_bufq_consume(p, &t->sndq, n);
  p->tx_used -= p->n_free - before;
}

void utcp_tcb_sndq_clear(struct utcp_stack *s, struct utcp_tcb *t) {
  struct utcp_chunk_pool *p = &s->tcp->chunks;
  uint32_t before = p->n_free;
  utcp_bufq_clear(p, &t->sndq);
  p->tx_used -= p->n_free - before;
}

static void free_buffers(struct utcp_stack *s, struct utcp_tcb *t) {
  struct utcp_tcp *tcp = s->tcp;
  utcp_tcb_sndq_clear(s, t);
  utcp_bufq_clear(&tcp->chunks, &t->rcvq);
  utcp_reass_clear(&tcp->reass, &t->reass);
}

static void tcb_free(struct utcp_stack *s, struct utcp_tcb *t) {
  struct utcp_tcp *tcp = s->tcp;
  UTCP_ASSERT(t->used);
  if (t->state == UTCP_TCP_TIME_WAIT) tw_unlink(s, t);
  utcp_tcb_timers_stop(s, t);
  free_buffers(s, t);
  ready_unlink(s, t);
  hash_remove(s, t);
  t->used = false;
  t->state = UTCP_TCP_CLOSED;
  t->q_next = tcp->free_head;
  tcp->free_head = tcb_index(s, t) + 1;
  tcp->in_use--;
}

void utcp_tcb_event(struct utcp_stack *s, struct utcp_tcb *t, unsigned type) {
  struct utcp_tcp *tcp = s->tcp;
  if (t->flags & TF_ORPHAN) return;
  if (t->flags & TF_IN_ACCEPTQ) return; /* the application does not know it yet */
  if (t->ev_mask == 0) {
    t->ev_prev = tcp->ready_tail;
    t->ev_next = NIL;
    if (tcp->ready_tail != NIL) {
      tcp->tcbs[tcp->ready_tail - 1].ev_next = tcb_index(s, t) + 1;
    } else {
      tcp->ready_head = tcb_index(s, t) + 1;
    }
    tcp->ready_tail = tcb_index(s, t) + 1;
  }
  t->ev_mask |= EVB(type);
}

static utcp_conn_t handle_of(const struct utcp_stack *s, const struct utcp_tcb *t) {
  return ((uint32_t)t->gen << HANDLE_INDEX_BITS) | ((uint32_t)(t - s->tcp->tcbs) + 1);
}

bool utcp_tcp_has_events(const struct utcp_stack *s) { return s->tcp->ready_head != NIL; }

size_t utcp_tcp_poll_events(struct utcp_stack *s, struct utcp_event *ev, size_t max) {
  struct utcp_tcp *tcp = s->tcp;
  size_t n = 0;
  while (tcp->ready_head != NIL && n < max) {
    struct utcp_tcb *t = &tcp->tcbs[tcp->ready_head - 1];
    while (t->ev_mask != 0 && n < max) {
      unsigned type = (unsigned)__builtin_ctz(t->ev_mask);
      t->ev_mask &= ~EVB(type);
      uint16_t fl = 0;
      if (type == UTCP_EV_WRITABLE && (t->flags & TF_POOL_WOKEN)) {
        fl = UTCP_EVF_POOL;
        t->flags &= ~TF_POOL_WOKEN;
      }
      ev[n++] = (struct utcp_event){.type = (uint16_t)type, .conn = handle_of(s, t),
                                    .err = (type == UTCP_EV_ERROR || type == UTCP_EV_RESET)
                                               ? t->so_error : 0,
                                    .addr = t->raddr, .flags = fl};
    }
    if (t->ev_mask != 0) break;
    tcp->ready_head = t->ev_next;
    if (tcp->ready_head != NIL) {
      tcp->tcbs[tcp->ready_head - 1].ev_prev = NIL;
    } else {
      tcp->ready_tail = NIL;
    }
    t->ev_next = t->ev_prev = NIL;
  }
  return n;
}

static void listener_unlink_child(struct utcp_stack *s, struct utcp_tcb *t);

void utcp_tcb_set_state(struct utcp_stack *s, struct utcp_tcb *t, int state) {
  if (t->state == state) return;
  int old = t->state;
  t->state = (uint8_t)state;
  if (old == UTCP_TCP_TIME_WAIT) tw_unlink(s, t);
  if (state == UTCP_TCP_TIME_WAIT) tw_append(s, t);
  /* tcpCurrEstab is derived (utcp_tcp_conns_in_state); resets are counted where they happen. */
  if (state == UTCP_TCP_ESTABLISHED && old == UTCP_TCP_SYN_RECEIVED && (t->flags & TF_PASSIVE)) {
    struct utcp_tcb *l = t->listener ? &s->tcp->tcbs[t->listener - 1] : NULL;
    if (l != NULL) {
      /* Move from the SYN queue to the accept queue. */
      l->synq_len--;
      l->acceptq_len++;
      t->flags |= TF_IN_ACCEPTQ;
      t->q_next = NIL;
      if (l->acceptq_tail != NIL) {
        s->tcp->tcbs[l->acceptq_tail - 1].q_next = tcb_index(s, t) + 1;
      } else {
        l->acceptq_head = tcb_index(s, t) + 1;
      }
      l->acceptq_tail = tcb_index(s, t) + 1;
      utcp_tcb_event(s, l, UTCP_EV_ACCEPTABLE);
    }
  }
}

void utcp_tcb_release_if_done(struct utcp_stack *s, struct utcp_tcb *t) {
  if (t->state != UTCP_TCP_CLOSED) return;
  if (t->listener != NIL) listener_unlink_child(s, t);
  if (t->flags & TF_ORPHAN) {
    tcb_free(s, t);
  } else {
    utcp_tcb_timers_stop(s, t);
    hash_remove(s, t);
  }
}

void utcp_tcb_drop(struct utcp_stack *s, struct utcp_tcb *t, int err) {
  if (t->state >= UTCP_TCP_ESTABLISHED && t->state <= UTCP_TCP_CLOSE_WAIT && err != 0)
    s->ctr.tcp_estab_resets++;
  if ((t->state == UTCP_TCP_SYN_SENT || t->state == UTCP_TCP_SYN_RECEIVED) && err != 0)
    s->ctr.tcp_attempt_fails++;
  if (err != 0) t->so_error = err;
  utcp_tcb_set_state(s, t, UTCP_TCP_CLOSED);
  utcp_tcb_sndq_clear(s, t);
  utcp_reass_clear(&s->tcp->reass, &t->reass);
  if (err == UTCP_ERR_CONNRESET || err == UTCP_ERR_CONNREFUSED) {
    utcp_tcb_event(s, t, UTCP_EV_RESET);
  } else if (err != 0) {
    utcp_tcb_event(s, t, UTCP_EV_ERROR);
  } else {
    utcp_tcb_event(s, t, UTCP_EV_CLOSED);
  }
  utcp_tcb_release_if_done(s, t);
}

/* A child leaves its listener's queues (it failed, or was accepted). */
static void listener_unlink_child(struct utcp_stack *s, struct utcp_tcb *t) {
  struct utcp_tcp *tcp = s->tcp;
  struct utcp_tcb *l = &tcp->tcbs[t->listener - 1];
  t->listener = NIL;
  if (!(t->flags & TF_IN_ACCEPTQ)) {
    l->synq_len--;
    if (t->state == UTCP_TCP_CLOSED) t->flags |= TF_ORPHAN; /* nobody will ever accept it */
    return;
  }
  uint32_t idx1 = tcb_index(s, t) + 1, prev = NIL;
  for (uint32_t i = l->acceptq_head; i != NIL; prev = i, i = tcp->tcbs[i - 1].q_next) {
    if (i != idx1) continue;
    if (prev == NIL) {
      l->acceptq_head = t->q_next;
    } else {
      tcp->tcbs[prev - 1].q_next = t->q_next;
    }
    if (l->acceptq_tail == idx1) l->acceptq_tail = prev;
    break;
  }
  l->acceptq_len--;
  t->flags &= ~TF_IN_ACCEPTQ;
  if (t->state == UTCP_TCP_CLOSED) t->flags |= TF_ORPHAN;
}

/* ---- sequence numbers and clocks ---- */

/* RFC 6528 3: ISN = M + F(localip, localport, remoteip, remoteport, secretkey), M a 4 us clock. */
utcp_seq_t utcp_tcp_isn(struct utcp_stack *s, uint32_t laddr, uint16_t lport, uint32_t raddr,
                        uint16_t rport, uint64_t now) {
  uint8_t buf[12];
  memcpy(buf, &laddr, 4);
  memcpy(buf + 4, &raddr, 4);
  memcpy(buf + 8, &lport, 2);
  memcpy(buf + 10, &rport, 2);
  uint32_t f = (uint32_t)utcp_siphash(s->cfg.isn_key, buf, sizeof buf);
  return utcp_seq((uint32_t)(now / 4000) + f);
}

/* RFC 7323 5.4: a millisecond clock with a random offset per connection. */
uint32_t utcp_tcp_ts_now(const struct utcp_tcb *t, uint64_t now) {
  return (uint32_t)(now / MS) + t->ts_offset;
}

uint32_t utcp_tcp_rcv_space(const struct utcp_stack *s, const struct utcp_tcb *t) {
  (void)s;
  uint32_t used = t->rcvq.len;
  return used >= t->rcvbuf ? 0 : t->rcvbuf - used;
}

/* Common initialisation of a connection's sequence space and timers (both opens). */
void utcp_tcb_init_conn(struct utcp_stack *s, struct utcp_tcb *t, uint64_t now) {
  const struct utcp_tcp_config *c = &s->cfg.tcp;
  t->iss = utcp_tcp_isn(s, t->laddr, t->lport, t->raddr, t->rport, now);
  t->snd_una = t->snd_nxt = t->snd_max = t->iss;
  t->rto_ns = c->rto_initial_ns;
  /* RFC 7323 5.4: a per-connection offset; keyed on the 4-tuple so that a new incarnation's
   * timestamps stay above the old one's (TIME-WAIT reuse) and SYN-cookie connections agree. */
  t->ts_offset = utcp_tcp_ts_offset(s, t->laddr, t->lport, t->raddr, t->rport) + 128;
  t->req_wscale = 0;
  if (c->wscale) {
    /* RFC 7323 2.3: the smallest shift that lets the buffer be advertised; at most 14. */
    while (t->req_wscale < 14 && (65535u << t->req_wscale) < t->rcvbuf) t->req_wscale++;
  }
  t->idle_since_ns = now;
}

/* ---- handles ---- */

/* Every call by handle starts here: inlined (LTO kept it out of line, a call per API call). */
static inline __attribute__((always_inline)) struct utcp_tcb *tcb_of(const struct utcp_stack *s,
                                                                     utcp_conn_t c) {
  uint32_t idx1 = c & HANDLE_INDEX_MASK;
  if (s == NULL || idx1 == 0 || idx1 > s->tcp->n_tcbs) return NULL;
  struct utcp_tcb *t = &s->tcp->tcbs[idx1 - 1];
  if (!t->used || t->gen != (uint8_t)(c >> HANDLE_INDEX_BITS) || (t->flags & TF_ORPHAN) ||
      (t->flags & TF_IN_ACCEPTQ))
    return NULL;
  return t;
}

/* ---- the API ---- */

int utcp_tcp_listen(struct utcp_stack *s, uint16_t lport, uint32_t backlog, utcp_conn_t *out) {
  if (s == NULL || out == NULL || lport == 0 || backlog == 0) return UTCP_ERR_INVAL;
  if (utcp_tcb_lookup(s, s->cfg.ip, lport, 0, 0) != NULL) return UTCP_ERR_ADDRINUSE;
  struct utcp_tcb *t = utcp_tcb_alloc(s);
  if (t == NULL) return UTCP_ERR_NOMEM;
  t->laddr = s->cfg.ip;
  t->lport = lport;
  t->backlog = backlog;
  t->state = UTCP_TCP_LISTEN;
  utcp_tcb_hash_insert(s, t);
  *out = handle_of(s, t);
  return 0;
}

int utcp_tcp_accept(struct utcp_stack *s, utcp_conn_t listener, utcp_conn_t *out) {
  struct utcp_tcb *l = tcb_of(s, listener);
  if (l == NULL || out == NULL) return UTCP_ERR_BADF;
  if (l->state != UTCP_TCP_LISTEN) return UTCP_ERR_INVAL;
  if (l->acceptq_head == NIL) return UTCP_ERR_AGAIN;
  struct utcp_tcb *t = &s->tcp->tcbs[l->acceptq_head - 1];
  listener_unlink_child(s, t);
  *out = handle_of(s, t);
  /* Whatever happened while it waited in the queue is news to the application now. */
  utcp_tcb_event(s, t, UTCP_EV_CONNECTED);
  if (t->rcvq.len > 0 || (t->flags & TF_RCVD_FIN)) utcp_tcb_event(s, t, UTCP_EV_READABLE);
  if (t->flags & TF_RCVD_FIN) utcp_tcb_event(s, t, UTCP_EV_PEER_CLOSED);
  if (t->state == UTCP_TCP_CLOSED) utcp_tcb_event(s, t, t->so_error ? UTCP_EV_RESET : UTCP_EV_CLOSED);
  return 0;
}

/* Whether an active open may use this 4-tuple: free, or held only by a TIME-WAIT connection
 * that can be taken over, as Linux's tcp_tw_reuse allows: timestamps were in use (so PAWS
 * discards the old incarnation's duplicates, RFC 7323 5.5 and RFC 6191 2), the application has
 * let go of it, and it has lasted at least one second (the new connection's timestamps are then
 * past every old one). The old connection ends here. Counted: TcpExtTWRecycled. */
static bool tuple_free_for_connect(struct utcp_stack *s, uint16_t lport, uint32_t raddr,
                                   uint16_t rport, uint64_t now) {
  struct utcp_tcb *t = utcp_tcb_lookup(s, s->cfg.ip, lport, raddr, rport);
  if (t == NULL) return true;
  if (t->state != UTCP_TCP_TIME_WAIT || !t->ts_ok || !(t->flags & TF_ORPHAN)) return false;
  uint64_t entered = t->t_2msl - 2 * s->cfg.tcp.msl_ns;
  if (now < entered + 1000000000ull) return false;
  s->ctr.tcp_timewait_recycled++;
  tcb_free(s, t);
  return true;
}

static int pick_ephemeral(struct utcp_stack *s, uint32_t raddr, uint16_t rport, uint16_t *port,
                          uint64_t now) {
  const struct utcp_tcp_config *c = &s->cfg.tcp;
  uint32_t range = (uint32_t)c->ephemeral_hi - c->ephemeral_lo + 1;
  for (uint32_t i = 0; i < range; i++) {
    uint16_t p = s->tcp->next_ephemeral;
    s->tcp->next_ephemeral = p >= c->ephemeral_hi ? c->ephemeral_lo : (uint16_t)(p + 1);
    if (utcp_tcb_listener(s, p) == NULL && tuple_free_for_connect(s, p, raddr, rport, now)) {
      *port = p;
      return 0;
    }
  }
  return UTCP_ERR_ADDRNOTAVAIL;
}

int utcp_tcp_connect_opts(struct utcp_stack *s, uint32_t raddr, uint16_t rport, uint16_t lport,
                          const int (*opts)[2], size_t n, uint64_t now, utcp_conn_t *out) {
  if (s == NULL || out == NULL || rport == 0 || raddr == 0 || raddr == 0xffffffffu ||
      (raddr >> 28) >= 0xe)
    return UTCP_ERR_INVAL;
  if (now > s->now) s->now = now;
  if (utcp_ip_next_hop(s, raddr) == 0) return UTCP_ERR_HOSTUNREACH;
  if (lport == 0) {
    int rc = pick_ephemeral(s, raddr, rport, &lport, now);
    if (rc < 0) return rc;
  } else if (!tuple_free_for_connect(s, lport, raddr, rport, now)) {
    return UTCP_ERR_ADDRINUSE;
  }
  struct utcp_tcb *t = utcp_tcb_alloc(s);
  if (t == NULL) return UTCP_ERR_NOMEM;
  t->laddr = s->cfg.ip;
  t->lport = lport;
  t->raddr = raddr;
  t->rport = rport;
  for (size_t i = 0; i < n; i++) {
    int rc = utcp_tcp_setopt(s, handle_of(s, t), opts[i][0], opts[i][1]);
    if (rc < 0) {
      tcb_free(s, t);
      return rc;
    }
  }
  utcp_tcb_init_conn(s, t, now);
  utcp_tcb_hash_insert(s, t);
  utcp_tcb_set_state(s, t, UTCP_TCP_SYN_SENT);
  s->ctr.tcp_active_opens++;
  utcp_tcp_output(s, t, now);
  *out = handle_of(s, t);
  return 0;
}

int utcp_tcp_connect(struct utcp_stack *s, uint32_t raddr, uint16_t rport, uint16_t lport,
                     uint64_t now, utcp_conn_t *out) {
  return utcp_tcp_connect_opts(s, raddr, rport, lport, NULL, 0, now, out);
}

static int conn_error(struct utcp_tcb *t) {
  return t->so_error != 0 ? t->so_error : UTCP_ERR_NOTCONN;
}

int utcp_tcp_send(struct utcp_stack *s, utcp_conn_t c, const void *buf, size_t len, uint64_t now) {
  return utcp_tcp_send_more(s, c, buf, len, false, now);
}

void utcp_tcp_push(struct utcp_stack *s, utcp_conn_t c, uint64_t now) {
  struct utcp_tcb *t = tcb_of(s, c);
  if (t == NULL) return;
  if (now > s->now) s->now = now;
  if (t->state == UTCP_TCP_ESTABLISHED || t->state == UTCP_TCP_CLOSE_WAIT) utcp_tcp_output(s, t, now);
}

int utcp_tcp_send_more(struct utcp_stack *s, utcp_conn_t c, const void *buf, size_t len,
                       bool more, uint64_t now) {
  struct utcp_tcb *t = tcb_of(s, c);
  if (t == NULL) return UTCP_ERR_BADF;
  if (buf == NULL && len > 0) return UTCP_ERR_INVAL;
  if (now > s->now) s->now = now;
  switch (t->state) {
    case UTCP_TCP_SYN_SENT:
    case UTCP_TCP_SYN_RECEIVED:
    case UTCP_TCP_ESTABLISHED:
    case UTCP_TCP_CLOSE_WAIT:
      break;
    case UTCP_TCP_CLOSED:
    case UTCP_TCP_LISTEN:
      return conn_error(t);
    default: /* RFC 9293 3.10.2: FIN-WAIT-1 and later: "connection closing" */
      return UTCP_ERR_PIPE;
  }
  if (t->flags & TF_FIN_QUEUED) return UTCP_ERR_PIPE;
  if (len > INT32_MAX) len = INT32_MAX;
  uint32_t room = t->sndq.len >= t->sndbuf ? 0 : t->sndbuf - t->sndq.len;
  if (room == 0) return UTCP_ERR_AGAIN;
  size_t want = len < room ? len : room;
  struct utcp_chunk_pool *pool = &s->tcp->chunks;
  uint32_t free_before = pool->n_free;
  size_t n = utcp_bufq_append_keep(pool, &t->sndq, buf, want, utcp_chunks_tx_keep(pool));
  pool->tx_used += free_before - pool->n_free;
  if (n < want && utcp_chunks_tx_available(pool) == 0) utcp_tcb_zw_pressure(s, t, now);
  /* Chunk pool dry: back-pressure, not an error; WRITABLE follows when it refills
   * (utcp_tcp_pool_wakeup). */
  if (utcp_chunks_tx_available(pool) == 0) s->tcp->pool_dry = true;
  if (n == 0) return UTCP_ERR_AGAIN;
  if (!more && t->state != UTCP_TCP_SYN_SENT && t->state != UTCP_TCP_SYN_RECEIVED)
    utcp_tcp_output(s, t, now);
  return (int)n;
}

int utcp_tcp_recv(struct utcp_stack *s, utcp_conn_t c, void *buf, size_t len, bool peek,
                  uint64_t now) {
  struct utcp_tcb *t = tcb_of(s, c);
  if (t == NULL) return UTCP_ERR_BADF;
  if (buf == NULL && len > 0) return UTCP_ERR_INVAL;
  if (now > s->now) s->now = now;
  if (t->state == UTCP_TCP_LISTEN) return UTCP_ERR_NOTCONN;
  if (t->rcvq.len == 0) {
    if (t->flags & (TF_RCVD_FIN | TF_SHUT_RD)) return 0;
    if (t->state == UTCP_TCP_CLOSED) return t->so_error != 0 ? t->so_error : 0;
    if (t->state == UTCP_TCP_SYN_SENT || t->state == UTCP_TCP_SYN_RECEIVED)
      return UTCP_ERR_AGAIN;
    return UTCP_ERR_AGAIN;
  }
  if (len > INT32_MAX) len = INT32_MAX;
  size_t n = len < t->rcvq.len ? len : t->rcvq.len;
  if (n == 0) return 0;
  utcp_bufq_copy(&s->tcp->chunks, &t->rcvq, 0, buf, n);
  if (peek) return (int)n;
  uint32_t before = utcp_tcp_rcv_space(s, t);
  utcp_bufq_consume(&s->tcp->chunks, &t->rcvq, n);
  /* A read ends a zero-window stall of ours (it cannot start one). */
  if (t->t_zwait != 0) utcp_tcb_timers_update(s, t);
  utcp_tcp_pool_wakeup(s);
  /* RFC 9293 3.8.6.2.2: announce the opened window once it has grown by min(RCV.BUFF/2, MSS)
   * beyond what was last advertised. */
  if (t->state == UTCP_TCP_ESTABLISHED || t->state == UTCP_TCP_FIN_WAIT_1 ||
      t->state == UTCP_TCP_FIN_WAIT_2) {
    uint32_t after = utcp_tcp_rcv_space(s, t);
    uint32_t adv = (uint32_t)utcp_seq_diff(t->rcv_adv, t->rcv_nxt);
    uint32_t thresh = t->rcvbuf / 2 < t->smss ? t->rcvbuf / 2 : t->smss;
    if (after > before && after >= adv + thresh) {
      t->flags |= TF_ACKNOW;
      utcp_tcp_output(s, t, now);
    }
  }
  return (int)n;
}

/* RFC 9293 3.10.4 CLOSE: a FIN after the queued data; ESTABLISHED -> FIN-WAIT-1, CLOSE-WAIT ->
 * LAST-ACK; in SYN-RECEIVED the FIN waits until the connection is established. */
static void queue_fin(struct utcp_stack *s, struct utcp_tcb *t) {
  t->flags |= TF_FIN_QUEUED;
  if (t->state == UTCP_TCP_ESTABLISHED) {
    utcp_tcb_set_state(s, t, UTCP_TCP_FIN_WAIT_1);
  } else if (t->state == UTCP_TCP_CLOSE_WAIT) {
    utcp_tcb_set_state(s, t, UTCP_TCP_LAST_ACK);
  }
}

int utcp_tcp_shutdown(struct utcp_stack *s, utcp_conn_t c, int how, uint64_t now) {
  struct utcp_tcb *t = tcb_of(s, c);
  if (t == NULL) return UTCP_ERR_BADF;
  if (how < UTCP_SHUT_RD || how > UTCP_SHUT_RDWR) return UTCP_ERR_INVAL;
  if (now > s->now) s->now = now;
  if (t->state == UTCP_TCP_LISTEN || t->state == UTCP_TCP_SYN_SENT ||
      (t->state == UTCP_TCP_CLOSED && t->so_error == 0))
    return UTCP_ERR_NOTCONN;
  if (how & UTCP_SHUT_RD) {
    t->flags |= TF_SHUT_RD;
    utcp_bufq_clear(&s->tcp->chunks, &t->rcvq);
  }
  if ((how & UTCP_SHUT_WR) && !(t->flags & TF_FIN_QUEUED)) {
    queue_fin(s, t);
    utcp_tcp_output(s, t, now);
  }
  return 0;
}

static void abort_conn(struct utcp_stack *s, struct utcp_tcb *t, uint64_t now) {
  /* RFC 9293 3.10.5 ABORT: a RST in SYN-RECEIVED, ESTABLISHED, FIN-WAIT-1/2, CLOSE-WAIT. */
  switch (t->state) {
    case UTCP_TCP_SYN_RECEIVED:
    case UTCP_TCP_ESTABLISHED:
    case UTCP_TCP_FIN_WAIT_1:
    case UTCP_TCP_FIN_WAIT_2:
    case UTCP_TCP_CLOSE_WAIT:
      utcp_tcp_send_ctl(s, t, t->snd_nxt, t->rcv_nxt, UTCP_TCP_RST | UTCP_TCP_ACK, now);
      s->ctr.tcp_estab_resets += t->state != UTCP_TCP_SYN_RECEIVED;
      break;
    default:
      break;
  }
  t->so_error = 0;
  utcp_tcb_set_state(s, t, UTCP_TCP_CLOSED);
  utcp_tcb_release_if_done(s, t);
}

/* ---- zero-window reclaim ---- */

/* RFC 9293 3.8.6.1: a receiver MAY keep its window closed indefinitely (MAY-8) and the sender
 * MUST keep the connection open while probes are answered (MUST-37), "subject to the
 * implementation's resource management concerns" (RFC 6429). A connection that holds buffer
 * memory stalled on a zero window is such a concern: 1 when the peer's window is closed on
 * data we hold, 2 when ours is (a full receive buffer the application does not read). */
static int zw_stall(const struct utcp_stack *s, const struct utcp_tcb *t) {
  switch (t->state) {
    case UTCP_TCP_ESTABLISHED:
    case UTCP_TCP_CLOSE_WAIT:
    case UTCP_TCP_FIN_WAIT_1:
    case UTCP_TCP_FIN_WAIT_2:
    case UTCP_TCP_CLOSING:
    case UTCP_TCP_LAST_ACK:
      break;
    default:
      return 0;
  }
  if (t->snd_wnd == 0 && t->sndq.len > 0) return 1;
  if (t->rcvq.len > 0 && utcp_tcp_rcv_space(s, t) == 0 && !(t->flags & TF_SHUT_RD)) return 2;
  return 0;
}

void utcp_tcb_zw_update(struct utcp_stack *s, struct utcp_tcb *t) {
  uint64_t limit = s->cfg.tcp.zero_window_timeout_ns;
  if (limit == 0 || zw_stall(s, t) == 0) {
    t->t_zwait = 0;
  } else if (t->t_zwait == 0) {
    t->t_zwait = s->now + limit;
  }
}

/* Reclaim: RST the peer (RFC 9293 3.10.5 ABORT), free every buffer, ETIMEDOUT. */
static void zw_abort(struct utcp_stack *s, struct utcp_tcb *t, int why, uint64_t now) {
  UTCP_COVER(s, zero_window_abort);
  if (why == 1) {
    s->ctr.tcp_zw_abort_peer++;
  } else {
    s->ctr.tcp_zw_abort_local++;
  }
  utcp_tcp_send_ctl(s, t, t->snd_nxt, t->rcv_nxt, UTCP_TCP_RST | UTCP_TCP_ACK, now);
  utcp_bufq_clear(&s->tcp->chunks, &t->rcvq);
  utcp_tcb_drop(s, t, UTCP_ERR_TIMEDOUT);
}

bool utcp_tcb_zw_expired(struct utcp_stack *s, struct utcp_tcb *t, uint64_t now) {
  int why = s->cfg.tcp.zero_window_timeout_ns != 0 ? zw_stall(s, t) : 0;
  if (why == 0) return false;
  zw_abort(s, t, why, now);
  return true;
}

void utcp_tcb_zw_pressure(struct utcp_stack *s, const struct utcp_tcb *except, uint64_t now) {
  const struct utcp_tcp_config *c = &s->cfg.tcp;
  struct utcp_tcp *tcp = s->tcp;
  if (c->zero_window_timeout_ns == 0 || c->zero_window_pressure_ns == 0) return;
  /* One look per 100 ms at most: a dry pool is met by every segment until it refills. */
  if (tcp->zw_scan_ns != 0 && now + 1 - tcp->zw_scan_ns < 100 * MS) return;
  tcp->zw_scan_ns = now + 1;
  /* Longest stalled first, until a sixteenth of the pool is free again. */
  for (int round = 0; round < 64 && utcp_chunks_tx_available(&tcp->chunks) < tcp->chunks.n_chunks / 16 + 1;
       round++) {
    struct utcp_tcb *best = NULL;
    for (uint32_t i = 0; i < tcp->n_tcbs; i++) {
      struct utcp_tcb *t = &tcp->tcbs[i];
      if (!t->used || t == except || t->t_zwait == 0) continue;
      uint64_t since = t->t_zwait - c->zero_window_timeout_ns;
      if (now < since + c->zero_window_pressure_ns || zw_stall(s, t) == 0) continue;
      if (best == NULL || t->t_zwait < best->t_zwait) best = t;
    }
    if (best == NULL) return;
    s->ctr.tcp_zw_abort_pressure++;
    zw_abort(s, best, zw_stall(s, best), now);
  }
}

/* Called after every entry point that may free chunks. While the pool is dry writers see
 * utcp_tcp_writable 0 (or UTCP_ERR_AGAIN); once a sixteenth of it is free again (not at the
 * first chunk: they would only find it dry once more), every connection that can send and has
 * room gets a WRITABLE event, so that no writer waits for ever. O(connections) per refill. */
void utcp_tcp_pool_wakeup(struct utcp_stack *s) {
  struct utcp_tcp *tcp = s->tcp;
  uint32_t avail = utcp_chunks_tx_available(&tcp->chunks);
  if (avail == 0) tcp->pool_dry = true;
  if (!tcp->pool_dry || avail < tcp->chunks.n_chunks / 16 + 1) return;
  tcp->pool_dry = false;
  for (uint32_t i = 0; i < tcp->n_tcbs; i++) {
    struct utcp_tcb *t = &tcp->tcbs[i];
    if (!t->used || (t->state != UTCP_TCP_ESTABLISHED && t->state != UTCP_TCP_CLOSE_WAIT) ||
        (t->flags & TF_FIN_QUEUED) || t->sndq.len >= t->sndbuf)
      continue;
    t->flags |= TF_POOL_WOKEN;
    utcp_tcb_event(s, t, UTCP_EV_WRITABLE);
  }
}

/* ---- answers to unacceptable segments ---- */

/* RFC 9293 3.10.7.4 answers every unacceptable segment with an ACK. A flood of forged pure ACKs
 * with random sequence numbers would turn each into an ACK from us: as Linux does
 * (tcp_oow_rate_limited), such answers are limited per connection. Data (whose duplicates need
 * their ACK and D-SACK for recovery), FIN and SYN (RFC 5961 4.2, limited by
 * utcp_tcp_challenge_ack) are always answered. */
bool utcp_tcb_oow_ack_allowed(struct utcp_stack *s, struct utcp_tcb *t, const struct utcp_seg *seg,
                              uint64_t now) {
  uint64_t gap = s->cfg.tcp.oow_ack_interval_ns;
  if (gap == 0 || seg->len > 0 || (seg->flags & (UTCP_TCP_SYN | UTCP_TCP_FIN))) return true;
  if (t->last_oow_ack_ns != 0 && now - t->last_oow_ack_ns < gap) {
    s->ctr.tcp_oow_ack_skipped++;
    return false;
  }
  t->last_oow_ack_ns = now == 0 ? 1 : now;
  return true;
}

/* Closing a listener resets what waits in its queues. */
static void close_listener(struct utcp_stack *s, struct utcp_tcb *l, uint64_t now) {
  struct utcp_tcp *tcp = s->tcp;
  for (uint32_t i = 0; i < tcp->n_tcbs; i++) {
    struct utcp_tcb *t = &tcp->tcbs[i];
    if (!t->used || t->listener != tcb_index(s, l) + 1) continue;
    listener_unlink_child(s, t);
    t->flags |= TF_ORPHAN;
    abort_conn(s, t, now);
  }
  tcb_free(s, l);
}

/* The application lets go of t: a listener goes at once (and resets its queues); a
 * connection becomes an orphan. Returns false when nothing is left to do. */
static bool release_handle(struct utcp_stack *s, struct utcp_tcb *t, uint64_t now) {
  if (now > s->now) s->now = now;
  if (t->state == UTCP_TCP_LISTEN) {
    close_listener(s, t, now);
    return false;
  }
  ready_unlink(s, t);
  t->flags |= TF_ORPHAN;
  return true;
}

int utcp_tcp_close(struct utcp_stack *s, utcp_conn_t c, uint64_t now) {
  struct utcp_tcb *t = tcb_of(s, c);
  if (t == NULL) return UTCP_ERR_BADF;
  if (!release_handle(s, t, now)) return 0;
  /* RFC 2525 2.17 (as Linux): closing with unread data resets; so does SO_LINGER 0. */
  if (t->rcvq.len > 0 || t->linger == 0) {
    abort_conn(s, t, now);
    utcp_tcp_pool_wakeup(s);
    return 0;
  }
  switch (t->state) {
    case UTCP_TCP_CLOSED:
      tcb_free(s, t);
      return 0;
    case UTCP_TCP_SYN_SENT: /* RFC 9293 3.10.4: delete the TCB */
      utcp_tcb_set_state(s, t, UTCP_TCP_CLOSED);
      tcb_free(s, t);
      return 0;
    default:
      t->flags |= TF_SHUT_RD;
      if (!(t->flags & TF_FIN_QUEUED)) queue_fin(s, t);
      utcp_tcp_output(s, t, now);
      /* Closed after shutdown(WR) had its FIN acknowledged: the orphan must not wait for
       * the peer's FIN for ever either (as process_ack does on entering FIN-WAIT-2). */
      if (t->state == UTCP_TCP_FIN_WAIT_2 && t->t_2msl == 0)
        t->t_2msl = now + 2 * s->cfg.tcp.msl_ns;
      utcp_tcb_timers_update(s, t);
      return 0;
  }
}

int utcp_tcp_abort(struct utcp_stack *s, utcp_conn_t c, uint64_t now) {
  struct utcp_tcb *t = tcb_of(s, c);
  if (t == NULL) return UTCP_ERR_BADF;
  if (release_handle(s, t, now)) abort_conn(s, t, now);
  utcp_tcp_pool_wakeup(s);
  return 0;
}

int utcp_tcp_setopt(struct utcp_stack *s, utcp_conn_t c, int opt, int value) {
  struct utcp_tcb *t = tcb_of(s, c);
  if (t == NULL) return UTCP_ERR_BADF;
  switch (opt) {
    case UTCP_TCPOPT_NODELAY:
      if (value) t->flags |= TF_NODELAY; else t->flags &= ~TF_NODELAY;
      if (value && t->state >= UTCP_TCP_ESTABLISHED) utcp_tcp_output(s, t, s->now);
      return 0;
    case UTCP_TCPOPT_SNDBUF:
      if (value < 2048 || value > (1 << 30)) return UTCP_ERR_INVAL;
      t->sndbuf = (uint32_t)value;
      return 0;
    case UTCP_TCPOPT_RCVBUF:
      if (value < 2048 || value > (1 << 30)) return UTCP_ERR_INVAL;
      t->rcvbuf = (uint32_t)value;
      return 0;
    case UTCP_TCPOPT_MAXSEG:
      if (value < 88 || value > 65495) return UTCP_ERR_INVAL;
      t->user_mss = (uint16_t)value;
      return 0;
    case UTCP_TCPOPT_KEEPALIVE:
      if (value) t->flags |= TF_KEEPALIVE; else t->flags &= ~TF_KEEPALIVE;
      utcp_tcb_timers_update(s, t);
      return 0;
    case UTCP_TCPOPT_KEEPIDLE:
      if (value < 1 || value > 32767) return UTCP_ERR_INVAL;
      t->keepidle_ns = (uint64_t)value * SEC;
      return 0;
    case UTCP_TCPOPT_KEEPINTVL:
      if (value < 1 || value > 32767) return UTCP_ERR_INVAL;
      t->keepintvl_ns = (uint64_t)value * SEC;
      return 0;
    case UTCP_TCPOPT_KEEPCNT:
      if (value < 1 || value > 127) return UTCP_ERR_INVAL;
      t->keepcnt = (uint32_t)value;
      return 0;
    case UTCP_TCPOPT_LINGER:
      t->linger = value < 0 ? -1 : value;
      return 0;
    case UTCP_TCPOPT_REUSEADDR:
      if (value) t->flags |= TF_REUSEADDR; else t->flags &= ~TF_REUSEADDR;
      return 0;
    default:
      return UTCP_ERR_INVAL;
  }
}

int utcp_tcp_getopt(struct utcp_stack *s, utcp_conn_t c, int opt, int *value) {
  struct utcp_tcb *t = tcb_of(s, c);
  if (t == NULL) return UTCP_ERR_BADF;
  if (value == NULL) return UTCP_ERR_INVAL;
  switch (opt) {
    case UTCP_TCPOPT_NODELAY: *value = !!(t->flags & TF_NODELAY); return 0;
    case UTCP_TCPOPT_SNDBUF: *value = (int)t->sndbuf; return 0;
    case UTCP_TCPOPT_RCVBUF: *value = (int)t->rcvbuf; return 0;
    case UTCP_TCPOPT_MAXSEG: *value = t->smss ? t->smss : (t->user_mss ? t->user_mss : s->cfg.tcp.mss_default); return 0;
    case UTCP_TCPOPT_KEEPALIVE: *value = !!(t->flags & TF_KEEPALIVE); return 0;
    case UTCP_TCPOPT_KEEPIDLE: *value = (int)(t->keepidle_ns / SEC); return 0;
    case UTCP_TCPOPT_KEEPINTVL: *value = (int)(t->keepintvl_ns / SEC); return 0;
    case UTCP_TCPOPT_KEEPCNT: *value = (int)t->keepcnt; return 0;
    case UTCP_TCPOPT_LINGER: *value = t->linger; return 0;
    case UTCP_TCPOPT_REUSEADDR: *value = !!(t->flags & TF_REUSEADDR); return 0;
    case UTCP_TCPOPT_ERROR:
      *value = t->so_error;
      t->so_error = 0;
      return 0;
    default:
      return UTCP_ERR_INVAL;
  }
}

int utcp_tcp_info(const struct utcp_stack *s, utcp_conn_t c, struct utcp_tcp_info *i) {
  const struct utcp_tcb *t = tcb_of(s, c);
  if (t == NULL) return UTCP_ERR_BADF;
  if (i == NULL) return UTCP_ERR_INVAL;
  memset(i, 0, sizeof *i);
  i->state = t->state;
  i->snd_wscale = t->snd_wscale;
  i->rcv_wscale = t->rcv_wscale;
  i->ts_ok = t->ts_ok;
  i->sack_ok = t->sack_ok;
  i->snd_mss = t->smss;
  i->rcv_mss = t->peer_mss;
  i->iss = t->iss.v;
  i->irs = t->irs.v;
  i->snd_una = t->snd_una.v;
  i->snd_nxt = t->snd_nxt.v;
  i->rcv_nxt = t->rcv_nxt.v;
  i->snd_wnd = t->snd_wnd;
  i->rcv_wnd = utcp_tcp_rcv_space(s, t);
  i->cwnd = t->cwnd;
  i->ssthresh = t->ssthresh;
  i->srtt_ns = t->srtt_ns;
  i->rttvar_ns = t->rttvar_ns;
  i->rto_ns = t->rto_ns;
  i->retransmits = t->rxt_shift;
  i->total_retrans = t->total_retrans;
  i->unacked = (uint32_t)utcp_seq_diff(t->snd_max, t->snd_una);
  i->sndbuf_used = t->sndq.len;
  i->rcvbuf_used = t->rcvq.len;
  i->ooo_bytes = t->reass.bytes;
  i->ooo_ranges = t->reass.n_ranges;
  i->bytes_acked = t->bytes_acked;
  i->bytes_received = t->bytes_received;
  i->laddr = t->laddr;
  i->raddr = t->raddr;
  i->lport = t->lport;
  i->rport = t->rport;
  return 0;
}

static int readable_of(const struct utcp_tcb *t) {
  return t->state == UTCP_TCP_LISTEN ? (int)t->acceptq_len : (int)t->rcvq.len;
}

static int writable_of(const struct utcp_stack *s, const struct utcp_tcb *t) {
  /* no chunk to write into (see utcp_tcp_send) */
  if (utcp_chunks_tx_available(&s->tcp->chunks) == 0) return 0;
  return t->sndq.len >= t->sndbuf ? 0 : (int)(t->sndbuf - t->sndq.len);
}

int utcp_tcp_readable(const struct utcp_stack *s, utcp_conn_t c) {
  const struct utcp_tcb *t = tcb_of(s, c);
  return t == NULL ? UTCP_ERR_BADF : readable_of(t);
}

int utcp_tcp_writable(const struct utcp_stack *s, utcp_conn_t c) {
  const struct utcp_tcb *t = tcb_of(s, c);
  return t == NULL ? UTCP_ERR_BADF : writable_of(s, t);
}

int utcp_tcp_pollinfo(const struct utcp_stack *s, utcp_conn_t c, struct utcp_tcp_pollinfo *pi) {
  const struct utcp_tcb *t = tcb_of(s, c);
  if (t == NULL) return UTCP_ERR_BADF;
  pi->state = t->state;
  pi->readable = readable_of(t);
  pi->writable = writable_of(s, t);
  return 0;
}

int utcp_tcp_state(const struct utcp_stack *s, utcp_conn_t c) {
  const struct utcp_tcb *t = tcb_of(s, c);
  return t == NULL ? UTCP_ERR_BADF : t->state;
}

uint32_t utcp_tcp_conns_in_use(const struct utcp_stack *s) { return s->tcp->in_use; }
uint64_t utcp_tcp_timers_running(const struct utcp_stack *s) { return s->tcp->wheel.count; }
uint32_t utcp_tcp_chunks_in_use(const struct utcp_stack *s) {
  return s->tcp->chunks.n_chunks - s->tcp->chunks.n_free;
}

void utcp_tcp_chunks_reserve(struct utcp_stack *s, uint32_t n) {
  struct utcp_tcp *tcp = s->tcp;
  bool lowered = n < tcp->chunks.reserved;
  utcp_chunks_set_limits(&tcp->chunks, n, tcp->chunks.floor, tcp->chunks.tx_floor_off);
  if (lowered) utcp_tcp_pool_wakeup(s); /* writers that found the pool dry may go on */
}

uint32_t utcp_tcp_chunks_tx_available(const struct utcp_stack *s) {
  return utcp_chunks_tx_available(&s->tcp->chunks);
}

void utcp_tcp_chunks_tx_floor(struct utcp_stack *s, bool on) {
  struct utcp_chunk_pool *p = &s->tcp->chunks;
  utcp_chunks_set_limits(p, p->reserved, p->floor, !on);
}
