/* Runs one packetdrill-syntax script against one utcp stack in virtual time. The script plays
 * the remote peer: `<` lines are injected as frames, `>` lines are matched against what the
 * stack sends, system-call lines are mapped onto the core TCP API (core/tcp.h) through a small
 * fd table. Sequence numbers: the remote side's are used as written (the first inbound SYN's
 * sequence number is the remote ISN, as in packetdrill); the stack's are relative to its ISS,
 * learned from its first SYN or SYN-ACK on each flow. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include "core/cksum.h"
#include "core/stack.h"
#include "core/tcp.h"
#include "core/wire.h"
#include "pkt.h"

#ifndef SIOCINQ
#define SIOCINQ FIONREAD
#endif
#ifndef POLLRDHUP
#define POLLRDHUP 0x2000
#endif

#define NS_PER_US 1000ull
#define NS_PER_MS 1000000ull
#define MAX_FDS 64
#define MAX_FLOWS 16
#define MAX_STASH 16
#define MAX_PENDING_OPTS 16
#define DEFAULT_REMOTE_PORT 40000
#define STEP_LIMIT 10000000u

static const struct utcp_mac local_mac = {{0x02, 0x00, 0x00, 0x00, 0x00, 0x01}};
static const struct utcp_mac remote_mac = {{0x02, 0x00, 0x00, 0x00, 0x00, 0x02}};

/* ---- symbols (values from the host's headers, as the scripts expect for Linux) ---- */
struct sym {
  const char *name;
  int64_t value;
};

#define S(x) {#x, (int64_t)(x)}
static const struct sym symbols[] = {
    S(AF_INET), S(PF_INET), S(AF_INET6), S(PF_INET6), S(SOCK_STREAM), S(SOCK_DGRAM),
    S(SOCK_NONBLOCK), S(IPPROTO_TCP), S(IPPROTO_IP), S(IPPROTO_UDP), S(SOL_SOCKET),
    S(SO_RCVBUF), S(SO_SNDBUF), S(SO_REUSEADDR), S(SO_REUSEPORT), S(SO_LINGER),
    S(SO_KEEPALIVE), S(SO_ERROR), S(TCP_NODELAY), S(TCP_MAXSEG), S(TCP_KEEPIDLE),
    S(TCP_KEEPINTVL), S(TCP_KEEPCNT), S(O_NONBLOCK), S(O_RDWR), S(O_RDONLY), S(O_WRONLY),
    S(F_GETFL), S(F_SETFL), S(FIONREAD), S(SIOCINQ), S(POLLIN), S(POLLOUT), S(POLLERR),
    S(POLLHUP), S(POLLNVAL), S(POLLPRI), S(POLLRDNORM), S(POLLWRNORM), S(POLLRDHUP),
    S(SHUT_RD), S(SHUT_WR), S(SHUT_RDWR), S(MSG_PEEK), S(MSG_DONTWAIT), S(MSG_NOSIGNAL),
    S(MSG_WAITALL), S(EPERM), S(ENOENT), S(EINTR), S(EBADF), S(EAGAIN), S(EWOULDBLOCK),
    S(ENOMEM), S(EINVAL), S(EPIPE), S(ENOTSOCK), S(EMSGSIZE), S(ENOPROTOOPT),
    S(EOPNOTSUPP), S(EADDRINUSE), S(EADDRNOTAVAIL), S(ENETUNREACH), S(ECONNABORTED),
    S(ECONNRESET), S(ENOBUFS), S(EISCONN), S(ENOTCONN), S(ETIMEDOUT), S(ECONNREFUSED),
    S(EHOSTUNREACH), S(EALREADY), S(EINPROGRESS), S(ERANGE),
};
#undef S

static bool sym_lookup(const char *name, int64_t *v) {
  for (size_t i = 0; i < sizeof symbols / sizeof symbols[0]; i++)
    if (strcmp(symbols[i].name, name) == 0) {
      *v = symbols[i].value;
      return true;
    }
  return false;
}

/* errno name of a core error, as Linux reports it for most calls. */
static const char *errname_of(int err) {
  switch (err) {
    case UTCP_ERR_INVAL: return "EINVAL";
    case UTCP_ERR_NOMEM: return "ENOMEM";
    case UTCP_ERR_AGAIN: return "EAGAIN";
    case UTCP_ERR_NOTCONN: return "ENOTCONN";
    case UTCP_ERR_ISCONN: return "EISCONN";
    case UTCP_ERR_CONNREFUSED: return "ECONNREFUSED";
    case UTCP_ERR_CONNRESET: return "ECONNRESET";
    case UTCP_ERR_TIMEDOUT: return "ETIMEDOUT";
    case UTCP_ERR_PIPE: return "EPIPE";
    case UTCP_ERR_ADDRINUSE: return "EADDRINUSE";
    case UTCP_ERR_ADDRNOTAVAIL: return "EADDRNOTAVAIL";
    case UTCP_ERR_INPROGRESS: return "EINPROGRESS";
    case UTCP_ERR_ALREADY: return "EALREADY";
    case UTCP_ERR_BADF: return "EBADF";
    case UTCP_ERR_NOTSUP: return "EOPNOTSUPP";
    case UTCP_ERR_NOBUFS: return "ENOBUFS";
    case UTCP_ERR_HOSTUNREACH: return "ENETUNREACH";
    case UTCP_ERR_MSGSIZE: return "EMSGSIZE";
    case UTCP_ERR_CONNABORTED: return "ECONNABORTED";
    case UTCP_ERR_NOENT: return "ENOENT";
    case UTCP_ERR_RANGE: return "ERANGE";
    default: return "EIO";
  }
}

static int64_t errno_value(const char *name) {
  int64_t v = 0;
  return sym_lookup(name, &v) ? v : EIO;
}

/* ---- state ---- */
enum fd_kind { FD_FREE = 0, FD_SOCKET, FD_LISTEN, FD_CONN };

struct fdent {
  enum fd_kind kind;
  bool nonblock;
  bool bound;
  uint16_t port;
  utcp_conn_t conn;
  bool connecting; /* a non-blocking connect not yet reported complete */
  bool connected;  /* connect reported success, or accepted */
  bool shut_rd;
  int opts[MAX_PENDING_OPTS][2]; /* set before the connection exists */
  size_t n_opts;
  utcp_conn_t stash[MAX_STASH]; /* taken off the accept queue by poll */
  size_t n_stash;
};

struct flow {
  bool used;
  uint16_t lport, rport;
  bool have_iss;
  uint32_t iss;
  bool have_ts;
  uint32_t ts_off; /* live TS val minus the script's */
};

struct frame {
  uint64_t t_ns;
  size_t len;
  uint8_t *data;
};

enum call_status { CALL_DONE, CALL_BLOCK, CALL_FAILED };

struct call_res {
  int64_t ret;
  const char *err; /* errno name or NULL */
};

struct runner {
  const struct pkt_script *sc;
  FILE *out;
  struct utcp_stack *s;
  struct utcp_stack_config cfg;
  uint64_t now;
  uint64_t base_ns; /* relative times count from here */
  uint8_t scratch[9100];
  struct frame *q;
  size_t q_head, q_len, q_cap;
  uint32_t local_ip, remote_ip;
  uint16_t bind_port, connect_port;
  struct flow flows[MAX_FLOWS];
  struct flow *dflt; /* the flow of packets without explicit ports */
  struct fdent fds[MAX_FDS];
  int64_t tol_us;
  double tol_pct;
  bool strict_segments;
  bool verbose;
  bool failed;
  int cur_line; /* the line being run: errors without a better position name it */
  /* the blocking call in progress */
  const struct pkt_event *pend;
  uint64_t pend_start_ns;
  uint64_t pend_deadline_ns; /* poll timeout, UINT64_MAX if none */
  int64_t pend_done;         /* bytes written so far */
  uint8_t *iobuf;
  size_t iobuf_len;
};

static void say(struct runner *r, int line, const char *kind, const char *fmt, ...) {
  if (line <= 0) line = r->cur_line;
  fprintf(r->out, "%s:%d: %s: ", r->sc->file, line, kind);
  va_list ap;
  va_start(ap, fmt);
  vfprintf(r->out, fmt, ap);
  va_end(ap);
  fputc('\n', r->out);
}

#define FAIL(r, line, ...)                 \
  do {                                     \
    if (!(r)->failed) say(r, line, "error", __VA_ARGS__); \
    (r)->failed = true;                    \
  } while (0)

static double secs(uint64_t ns) { return (double)ns / 1e9; }

/* ---- capture ---- */

static uint8_t *sink_alloc(void *ctx, size_t cap) {
  struct runner *r = ctx;
  return cap <= sizeof r->scratch ? r->scratch : NULL;
}

static void sink_commit(void *ctx, uint8_t *buf, size_t len) {
  struct runner *r = ctx;
  if (len == 0) return;
  if (r->q_len == r->q_cap) {
    size_t cap = r->q_cap ? r->q_cap * 2 : 64;
    struct frame *q = malloc(cap * sizeof *q);
    if (q == NULL) abort();
    for (size_t i = 0; i < r->q_len; i++) q[i] = r->q[(r->q_head + i) % r->q_cap];
    free(r->q);
    r->q = q;
    r->q_cap = cap;
    r->q_head = 0;
  }
  struct frame *f = &r->q[(r->q_head + r->q_len) % r->q_cap];
  f->data = malloc(len);
  if (f->data == NULL) abort();
  memcpy(f->data, buf, len);
  f->len = len;
  f->t_ns = r->now;
  r->q_len++;
}

static void q_pop(struct runner *r) {
  free(r->q[r->q_head].data);
  r->q_head = (r->q_head + 1) % r->q_cap;
  r->q_len--;
}

static void *mem_alloc(void *ctx, size_t size) {
  (void)ctx;
  return calloc(1, size);
}

static void mem_free(void *ctx, void *p, size_t size) {
  (void)ctx;
  (void)size;
  free(p);
}

/* A parsed live TCP segment. */
struct live {
  uint64_t t_ns;
  uint32_t src, dst;
  struct utcp_seg seg;
  const uint8_t *opt;
  size_t opt_len;
};

/* Parses the head frame; false for frames that are not IPv4/TCP (skipped) or malformed. */
static bool parse_live(const struct frame *f, struct live *lv, bool *malformed) {
  struct utcp_eth eth;
  struct utcp_ipv4 ip;
  *malformed = false;
  if (utcp_eth_parse(f->data, f->len, &eth) != UTCP_DROP_NONE) return false;
  if (eth.type != UTCP_ETHERTYPE_IPV4) return false;
  if (utcp_ipv4_parse(eth.payload, eth.payload_len, &ip) != UTCP_DROP_NONE) {
    *malformed = true;
    return false;
  }
  if (ip.proto != UTCP_IPPROTO_TCP) return false;
  if (utcp_tcp_parse(ip.payload, ip.payload_len, ip.src, ip.dst, true, &lv->seg) !=
      UTCP_DROP_NONE) {
    *malformed = true;
    return false;
  }
  lv->t_ns = f->t_ns;
  lv->src = ip.src;
  lv->dst = ip.dst;
  size_t doff = (size_t)(ip.payload[12] >> 4) * 4;
  lv->opt = ip.payload + UTCP_TCP_HLEN;
  lv->opt_len = doff - UTCP_TCP_HLEN;
  return true;
}

/* ---- formatting ---- */

static size_t fmt_flags(uint8_t fl, char *b) {
  size_t n = 0;
  if (fl & UTCP_TCP_SYN) b[n++] = 'S';
  if (fl & UTCP_TCP_FIN) b[n++] = 'F';
  if (fl & UTCP_TCP_RST) b[n++] = 'R';
  if (fl & UTCP_TCP_PSH) b[n++] = 'P';
  if (fl & UTCP_TCP_URG) b[n++] = 'U';
  if (fl & UTCP_TCP_ECE) b[n++] = 'E';
  if (fl & UTCP_TCP_CWR) b[n++] = 'W';
  if (fl & UTCP_TCP_ACK) b[n++] = '.';
  if (n == 0) b[n++] = '-';
  b[n] = '\0';
  return n;
}

struct strbuf {
  char *b;
  size_t len, n;
};

static void sb_printf(struct strbuf *sb, const char *fmt, ...) {
  if (sb->n >= sb->len) return;
  va_list ap;
  va_start(ap, fmt);
  int k = vsnprintf(sb->b + sb->n, sb->len - sb->n, fmt, ap);
  va_end(ap);
  if (k > 0) sb->n += (size_t)k;
  if (sb->n > sb->len) sb->n = sb->len;
}

static void fmt_opt(struct strbuf *sb, const struct pkt_tcpopt *o, bool first) {
  if (!first) sb_printf(sb, ",");
  switch (o->kind) {
    case PKT_OPT_NOP: sb_printf(sb, "nop"); break;
    case PKT_OPT_EOL: sb_printf(sb, "eol"); break;
    case PKT_OPT_MSS: sb_printf(sb, "mss %u", o->v1); break;
    case PKT_OPT_WSCALE: sb_printf(sb, "wscale %u", o->v1); break;
    case PKT_OPT_SACKOK: sb_printf(sb, "sackOK"); break;
    case PKT_OPT_SACK:
      sb_printf(sb, "sack");
      for (int i = 0; i < o->n_sack; i++) sb_printf(sb, " %u:%u", o->sack[i][0], o->sack[i][1]);
      break;
    case PKT_OPT_TS: sb_printf(sb, "TS val %u ecr %u", o->v1, o->v2); break;
  }
}

void pkt_format_packet(const struct pkt_packet *p, char *buf, size_t len) {
  struct strbuf sb = {buf, len, 0};
  char fl[12];
  fmt_flags(p->flags, fl);
  sb_printf(&sb, "%c ", p->inbound ? '<' : '>');
  if (p->has_ports) sb_printf(&sb, "%u>%u ", p->sport, p->dport);
  sb_printf(&sb, "%s %u:%u(%u)", fl, p->seq, p->end, p->len);
  if (p->has_ack) sb_printf(&sb, " ack %u", p->ack);
  if (p->has_win) sb_printf(&sb, " win %u", p->win);
  if (p->has_urg) sb_printf(&sb, " urg %u", p->urg);
  if (p->opt_mode == PKT_OPTS_ANY) sb_printf(&sb, " <...>");
  if (p->opt_mode == PKT_OPTS_LIST) {
    sb_printf(&sb, " <");
    for (size_t i = 0; i < p->n_opts; i++) fmt_opt(&sb, &p->opts[i], i == 0);
    sb_printf(&sb, ">");
  }
}

/* Live options as a script option list (unknown kinds are reported by kind number). */
static bool decode_opts(const uint8_t *o, size_t n, struct pkt_tcpopt *out, size_t *count,
                        int *unknown_kind) {
  size_t k = 0;
  *unknown_kind = -1;
  for (size_t i = 0; i < n && k < PKT_MAX_OPTS;) {
    struct pkt_tcpopt *t = &out[k];
    memset(t, 0, sizeof *t);
    uint8_t kind = o[i];
    if (kind == UTCP_TCPOPT_EOL) {
      t->kind = PKT_OPT_EOL;
      k++;
      i++;
      continue;
    }
    if (kind == UTCP_TCPOPT_NOP) {
      t->kind = PKT_OPT_NOP;
      k++;
      i++;
      continue;
    }
    if (i + 1 >= n || o[i + 1] < 2 || i + o[i + 1] > n) return false;
    size_t ol = o[i + 1];
    const uint8_t *v = o + i + 2;
    switch (kind) {
      case UTCP_TCPOPT_MSS:
        t->kind = PKT_OPT_MSS;
        t->v1 = (uint32_t)(v[0] << 8 | v[1]);
        break;
      case UTCP_TCPOPT_WSCALE:
        t->kind = PKT_OPT_WSCALE;
        t->v1 = v[0];
        break;
      case UTCP_TCPOPT_SACK_PERM:
        t->kind = PKT_OPT_SACKOK;
        break;
      case UTCP_TCPOPT_TS:
        t->kind = PKT_OPT_TS;
        t->v1 = (uint32_t)v[0] << 24 | (uint32_t)v[1] << 16 | (uint32_t)v[2] << 8 | v[3];
        t->v2 = (uint32_t)v[4] << 24 | (uint32_t)v[5] << 16 | (uint32_t)v[6] << 8 | v[7];
        break;
      case UTCP_TCPOPT_SACK:
        t->kind = PKT_OPT_SACK;
        for (size_t b = 0; b + 8 <= ol - 2 && t->n_sack < PKT_MAX_SACK; b += 8, t->n_sack++) {
          const uint8_t *p = v + b;
          t->sack[t->n_sack][0] = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
          t->sack[t->n_sack][1] = (uint32_t)p[4] << 24 | (uint32_t)p[5] << 16 | (uint32_t)p[6] << 8 | p[7];
        }
        break;
      default:
        *unknown_kind = kind;
        return false;
    }
    k++;
    i += ol;
  }
  /* Trailing EOL padding is not an option. */
  while (k > 0 && out[k - 1].kind == PKT_OPT_EOL) k--;
  *count = k;
  return true;
}

static void format_live(const struct live *lv, const struct flow *f, char *buf, size_t len) {
  struct strbuf sb = {buf, len, 0};
  char fl[12];
  fmt_flags(lv->seg.flags, fl);
  uint32_t iss = f != NULL && f->have_iss ? f->iss : 0;
  uint32_t seq = lv->seg.seq.v - iss;
  sb_printf(&sb, "> ");
  if (f == NULL || lv->seg.sport != f->lport || lv->seg.dport != f->rport)
    sb_printf(&sb, "%u>%u ", lv->seg.sport, lv->seg.dport);
  sb_printf(&sb, "%s %u:%u(%zu)", fl, seq, seq + (uint32_t)lv->seg.len, lv->seg.len);
  if (lv->seg.flags & UTCP_TCP_ACK) sb_printf(&sb, " ack %u", lv->seg.ack.v);
  sb_printf(&sb, " win %u", lv->seg.wnd);
  if (lv->seg.flags & UTCP_TCP_URG) sb_printf(&sb, " urg %u", lv->seg.urp);
  struct pkt_tcpopt opts[PKT_MAX_OPTS];
  size_t n = 0;
  int unknown;
  if (lv->opt_len > 0) {
    if (decode_opts(lv->opt, lv->opt_len, opts, &n, &unknown)) {
      if (n > 0) {
        sb_printf(&sb, " <");
        for (size_t i = 0; i < n; i++) fmt_opt(&sb, &opts[i], i == 0);
        sb_printf(&sb, ">");
      }
    } else {
      sb_printf(&sb, " <undecodable options, kind %d>", unknown);
    }
  }
  if (f != NULL && f->have_iss) sb_printf(&sb, " (absolute seq %u)", lv->seg.seq.v);
  sb_printf(&sb, " at %.6f s", secs(lv->t_ns));
}

/* ---- flows ---- */

static struct flow *flow_get(struct runner *r, const struct pkt_packet *p, int line) {
  if (!p->has_ports) return r->dflt;
  uint16_t lport = p->inbound ? p->dport : p->sport;
  uint16_t rport = p->inbound ? p->sport : p->dport;
  for (size_t i = 0; i < MAX_FLOWS; i++)
    if (r->flows[i].used && r->flows[i].lport == lport && r->flows[i].rport == rport)
      return &r->flows[i];
  for (size_t i = 0; i < MAX_FLOWS; i++)
    if (!r->flows[i].used) {
      r->flows[i] = (struct flow){.used = true, .lport = lport, .rport = rport};
      return &r->flows[i];
    }
  FAIL(r, line, "too many flows (at most %d port pairs)", MAX_FLOWS);
  return NULL;
}

/* ---- time ---- */

static uint64_t tolerance_ns(const struct runner *r, uint64_t expect, uint64_t base) {
  uint64_t tol = (uint64_t)r->tol_us * NS_PER_US;
  if (expect > base) tol += (uint64_t)((double)(expect - base) * r->tol_pct / 100.0);
  return tol;
}

static void drain_events(struct runner *r) {
  struct utcp_event ev[64];
  while (utcp_stack_poll_events(r->s, ev, 64) > 0) {
  }
}

static void pending_service(struct runner *r);

static uint64_t next_deadline(const struct runner *r) {
  uint64_t d = utcp_stack_next_deadline(r->s);
  if (r->pend != NULL && r->pend_deadline_ns < d) d = r->pend_deadline_ns;
  return d;
}

static void step_to(struct runner *r, uint64_t t) {
  if (t > r->now) r->now = t;
  utcp_stack_on_timer(r->s, r->now);
  drain_events(r);
  pending_service(r);
}

/* Moves virtual time to t, servicing timers (and the blocking call) on the way. */
static void advance_to(struct runner *r, uint64_t t) {
  uint32_t steps = 0;
  uint64_t d;
  while (!r->failed && (d = next_deadline(r)) <= t) {
    step_to(r, d);
    if (++steps > STEP_LIMIT) {
      FAIL(r, 0, "the stack's timers do not settle at %.6f s", secs(r->now));
      return;
    }
  }
  if (!r->failed) step_to(r, t);
}

/* The time an event is scheduled for, and its window [lo, hi]. */
static void event_window(const struct runner *r, const struct pkt_time *tm, uint64_t *at,
                         uint64_t *lo, uint64_t *hi) {
  uint64_t base = r->base_ns;
  switch (tm->kind) {
    case PKT_TIME_ANY:
      *at = r->now;
      *lo = 0;
      *hi = UINT64_MAX;
      return;
    case PKT_TIME_ABS:
    case PKT_TIME_REL: {
      uint64_t t = (uint64_t)tm->us * NS_PER_US + (tm->kind == PKT_TIME_REL ? base : 0);
      uint64_t tol = tolerance_ns(r, t, base);
      *at = t;
      *lo = t > tol ? t - tol : 0;
      *hi = t + tol;
      return;
    }
    case PKT_TIME_RANGE_ABS:
    case PKT_TIME_RANGE_REL: {
      uint64_t off = tm->kind == PKT_TIME_RANGE_REL ? base : 0;
      uint64_t a = (uint64_t)tm->us * NS_PER_US + off, b = (uint64_t)tm->us2 * NS_PER_US + off;
      uint64_t tol = tolerance_ns(r, b, base);
      *at = a;
      *lo = a > tol ? a - tol : 0;
      *hi = b + tol;
      return;
    }
  }
}

/* Brings time to an inbound packet's or a system call's moment. */
static bool arrive_at(struct runner *r, const struct pkt_event *ev, uint64_t *at_out) {
  uint64_t at, lo, hi;
  event_window(r, &ev->time, &at, &lo, &hi);
  if (at < r->now) {
    if (r->now > hi) {
      FAIL(r, ev->line, "event scheduled at %.6f s but the script is already at %.6f s",
           secs(at), secs(r->now));
      return false;
    }
    at = r->now;
  }
  advance_to(r, at);
  *at_out = at;
  return !r->failed;
}

/* Everything the stack sent before this moment should have been expected by the script. */
static bool check_unexpected(struct runner *r, const struct pkt_event *ev) {
  while (r->q_len > 0) {
    struct live lv;
    bool bad;
    if (!parse_live(&r->q[r->q_head], &lv, &bad)) {
      if (bad) {
        FAIL(r, ev->line, "the stack sent a malformed frame at %.6f s", secs(r->q[r->q_head].t_ns));
        return false;
      }
      q_pop(r);
      continue;
    }
    char live[512];
    struct flow *f = NULL;
    for (size_t i = 0; i < MAX_FLOWS; i++)
      if (r->flows[i].used && r->flows[i].lport == lv.seg.sport && r->flows[i].rport == lv.seg.dport)
        f = &r->flows[i];
    format_live(&lv, f, live, sizeof live);
    FAIL(r, ev->line, "unexpected outbound packet before this line:\n  actual:   %s", live);
    return false;
  }
  return true;
}

/* ---- inbound packets ---- */

static size_t encode_opts(const struct pkt_packet *p, const struct flow *f, uint8_t *o,
                          size_t cap, bool *overflow) {
  size_t n = 0;
  *overflow = false;
  uint32_t iss = f->have_iss ? f->iss : 0;
  for (size_t i = 0; i < p->n_opts; i++) {
    const struct pkt_tcpopt *t = &p->opts[i];
    uint8_t b[40];
    size_t k = 0;
    switch (t->kind) {
      case PKT_OPT_NOP: b[k++] = UTCP_TCPOPT_NOP; break;
      case PKT_OPT_EOL: b[k++] = UTCP_TCPOPT_EOL; break;
      case PKT_OPT_MSS:
        b[k++] = UTCP_TCPOPT_MSS, b[k++] = 4, b[k++] = (uint8_t)(t->v1 >> 8), b[k++] = (uint8_t)t->v1;
        break;
      case PKT_OPT_WSCALE: b[k++] = UTCP_TCPOPT_WSCALE, b[k++] = 3, b[k++] = (uint8_t)t->v1; break;
      case PKT_OPT_SACKOK: b[k++] = UTCP_TCPOPT_SACK_PERM, b[k++] = 2; break;
      case PKT_OPT_SACK:
        b[k++] = UTCP_TCPOPT_SACK;
        b[k++] = (uint8_t)(2 + 8 * t->n_sack);
        for (int j = 0; j < t->n_sack; j++)
          for (int e = 0; e < 2; e++) {
            uint32_t v = t->sack[j][e] + iss; /* blocks of our data: relative to our ISS */
            b[k++] = (uint8_t)(v >> 24), b[k++] = (uint8_t)(v >> 16), b[k++] = (uint8_t)(v >> 8),
            b[k++] = (uint8_t)v;
          }
        break;
      case PKT_OPT_TS: {
        uint32_t ecr = t->v2;
        if (ecr != 0 && f->have_ts) ecr += f->ts_off;
        b[k++] = UTCP_TCPOPT_TS, b[k++] = 10;
        uint32_t vals[2] = {t->v1, ecr};
        for (int e = 0; e < 2; e++)
          b[k++] = (uint8_t)(vals[e] >> 24), b[k++] = (uint8_t)(vals[e] >> 16),
          b[k++] = (uint8_t)(vals[e] >> 8), b[k++] = (uint8_t)vals[e];
        break;
      }
    }
    if (n + k > cap) {
      *overflow = true;
      return n;
    }
    memcpy(o + n, b, k);
    n += k;
  }
  while (n % 4 != 0) o[n++] = UTCP_TCPOPT_EOL;
  return n;
}

static void put16(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)(v >> 8);
  p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)(v >> 24);
  p[1] = (uint8_t)(v >> 16);
  p[2] = (uint8_t)(v >> 8);
  p[3] = (uint8_t)v;
}

static void run_inbound(struct runner *r, const struct pkt_event *ev) {
  const struct pkt_packet *p = &ev->pkt;
  uint64_t at;
  if (!arrive_at(r, ev, &at)) return;
  if (!check_unexpected(r, ev)) return;
  struct flow *f = flow_get(r, p, ev->line);
  if (f == NULL) return;
  uint8_t opts[44];
  bool overflow;
  size_t olen = encode_opts(p, f, opts, 40, &overflow);
  if (overflow) {
    FAIL(r, ev->line, "TCP options longer than 40 bytes");
    return;
  }
  size_t tcp_len = UTCP_TCP_HLEN + olen + p->len;
  size_t total = UTCP_ETH_HLEN + UTCP_IPV4_HLEN + tcp_len;
  if (UTCP_IPV4_HLEN + tcp_len > 65535) {
    FAIL(r, ev->line, "packet too large");
    return;
  }
  uint8_t *frame = calloc(1, total);
  if (frame == NULL) abort();
  struct utcp_eth eth = {.dst = local_mac, .src = remote_mac, .type = UTCP_ETHERTYPE_IPV4};
  size_t n = utcp_eth_emit(&eth, frame, total);
  struct utcp_ipv4 ip = {.ttl = 64, .proto = UTCP_IPPROTO_TCP, .src = r->remote_ip,
                         .dst = r->local_ip, .payload_len = tcp_len, .frag = UTCP_IPV4_DF};
  n += utcp_ipv4_emit(&ip, frame + n, total - n);
  uint8_t *t = frame + n;
  uint32_t iss = f->have_iss ? f->iss : 0;
  put16(t, f->rport);
  put16(t + 2, f->lport);
  put32(t + 4, p->seq);
  put32(t + 8, p->has_ack ? p->ack + iss : 0);
  t[12] = (uint8_t)(((UTCP_TCP_HLEN + olen) / 4) << 4);
  t[13] = p->flags;
  put16(t + 14, p->has_win ? p->win : 65535);
  put16(t + 18, p->has_urg ? p->urg : 0);
  memcpy(t + UTCP_TCP_HLEN, opts, olen);
  /* payload stays zero */
  uint32_t sum = utcp_cksum_pseudo(r->remote_ip, r->local_ip, UTCP_IPPROTO_TCP, (uint16_t)tcp_len);
  uint16_t ck = utcp_cksum_finish(utcp_cksum_add(sum, t, tcp_len));
  memcpy(t + 16, &ck, 2);
  if (r->verbose) {
    char b[512];
    pkt_format_packet(p, b, sizeof b);
    say(r, ev->line, "note", "%.6f s inject %s", secs(r->now), b);
  }
  utcp_stack_input(r->s, frame, total, r->now);
  free(frame);
  drain_events(r);
  r->base_ns = at;
  pending_service(r);
}

/* ---- outbound packets ---- */

/* Compares one live segment with the expectation (seq relative to the flow's ISS). Writes the
 * first difference into why and returns false, or returns true. */
static bool compare_segment(struct runner *r, const struct pkt_packet *p, struct flow *f,
                            const struct live *lv, uint8_t want_flags, uint32_t want_seq,
                            uint32_t want_len, char *why, size_t whylen) {
  (void)r;
  const struct utcp_seg *sg = &lv->seg;
  if (sg->sport != f->lport || sg->dport != f->rport) {
    snprintf(why, whylen, "ports %u>%u, expected %u>%u", sg->sport, sg->dport, f->lport, f->rport);
    return false;
  }
  if (sg->flags != want_flags) {
    char a[12], b[12];
    fmt_flags(sg->flags, a);
    fmt_flags(want_flags, b);
    snprintf(why, whylen, "flags %s, expected %s", a, b);
    return false;
  }
  uint32_t seq = sg->seq.v - (f->have_iss ? f->iss : 0);
  if (seq != want_seq) {
    snprintf(why, whylen, "sequence number %u, expected %u", seq, want_seq);
    return false;
  }
  if (sg->len != want_len) {
    snprintf(why, whylen, "payload length %zu, expected %u", sg->len, want_len);
    return false;
  }
  if (p->has_ack && sg->ack.v != p->ack) {
    snprintf(why, whylen, "ack %u, expected %u", sg->ack.v, p->ack);
    return false;
  }
  if (p->has_win && sg->wnd != p->win) {
    snprintf(why, whylen, "window %u, expected %u", sg->wnd, p->win);
    return false;
  }
  if (p->has_urg && sg->urp != p->urg) {
    snprintf(why, whylen, "urgent pointer %u, expected %u", sg->urp, p->urg);
    return false;
  }
  if (p->opt_mode == PKT_OPTS_ANY) return true;
  struct pkt_tcpopt live[PKT_MAX_OPTS];
  size_t n = 0;
  int unknown;
  if (!decode_opts(lv->opt, lv->opt_len, live, &n, &unknown)) {
    snprintf(why, whylen, "undecodable TCP options (kind %d)", unknown);
    return false;
  }
  size_t want_n = p->opt_mode == PKT_OPTS_LIST ? p->n_opts : 0;
  if (n != want_n) {
    snprintf(why, whylen, "%zu TCP options, expected %zu", n, want_n);
    return false;
  }
  for (size_t i = 0; i < n; i++) {
    const struct pkt_tcpopt *a = &live[i], *b = &p->opts[i];
    bool same = a->kind == b->kind;
    if (same) {
      switch (a->kind) {
        case PKT_OPT_MSS:
        case PKT_OPT_WSCALE: same = a->v1 == b->v1; break;
        case PKT_OPT_TS: same = a->v2 == b->v2; break; /* TS val is not checked */
        case PKT_OPT_SACK:
          same = a->n_sack == b->n_sack;
          for (int j = 0; same && j < a->n_sack; j++)
            same = a->sack[j][0] == b->sack[j][0] && a->sack[j][1] == b->sack[j][1];
          break;
        default: break;
      }
    }
    if (!same) {
      char x[128], y[128];
      struct strbuf sx = {x, sizeof x, 0}, sy = {y, sizeof y, 0};
      fmt_opt(&sx, a, true);
      fmt_opt(&sy, b, true);
      /* A long message is cut to whylen, on purpose. */
      if (snprintf(why, whylen, "TCP option %zu is '%s', expected '%s'", i + 1, x, y) < 0)
        why[0] = '\0';
      return false;
    }
  }
  return true;
}

static void learn_ts(struct flow *f, const struct pkt_packet *p, const struct live *lv) {
  if (p->opt_mode != PKT_OPTS_LIST) return;
  struct pkt_tcpopt live[PKT_MAX_OPTS];
  size_t n = 0;
  int unknown;
  if (!decode_opts(lv->opt, lv->opt_len, live, &n, &unknown)) return;
  for (size_t i = 0; i < n && i < p->n_opts; i++)
    if (live[i].kind == PKT_OPT_TS && p->opts[i].kind == PKT_OPT_TS) {
      f->have_ts = true;
      f->ts_off = live[i].v1 - p->opts[i].v1;
    }
}

static void run_outbound(struct runner *r, const struct pkt_event *ev) {
  const struct pkt_packet *p = &ev->pkt;
  uint64_t at, lo, hi;
  event_window(r, &ev->time, &at, &lo, &hi);
  struct flow *f = flow_get(r, p, ev->line);
  if (f == NULL) return;
  char script[512];
  pkt_format_packet(p, script, sizeof script);
  uint32_t want_seq = p->seq, remaining = p->len;
  unsigned pieces = 0;
  for (;;) {
    /* Wait for the next TCP frame, up to the end of the window. */
    while (!r->failed && r->q_len == 0) {
      uint64_t d = next_deadline(r);
      if (d == UINT64_MAX || d > hi) {
        if (hi != UINT64_MAX && hi > r->now) advance_to(r, hi);
        if (r->q_len > 0 || r->failed) break;
        FAIL(r, ev->line,
             "expected outbound packet was not sent (waited until %.6f s)\n  expected: %s%s",
             secs(r->now), script, pieces ? " (after aggregating some segments)" : "");
        return;
      }
      advance_to(r, d);
    }
    if (r->failed) return;
    struct live lv;
    bool bad;
    if (!parse_live(&r->q[r->q_head], &lv, &bad)) {
      if (bad) {
        FAIL(r, ev->line, "the stack sent a malformed frame at %.6f s", secs(r->q[r->q_head].t_ns));
        return;
      }
      q_pop(r);
      continue;
    }
    /* Flow ports and the stack's ISS come from its first SYN. */
    if (f->lport == 0 && lv.seg.dport == f->rport) f->lport = lv.seg.sport;
    if ((p->flags & UTCP_TCP_SYN) && (lv.seg.flags & UTCP_TCP_SYN) && pieces == 0) {
      f->have_iss = true;
      f->iss = lv.seg.seq.v - p->seq;
    }
    char why[256], live[512];
    format_live(&lv, f, live, sizeof live);
    if (lv.t_ns < lo || lv.t_ns > hi) {
      FAIL(r, ev->line,
           "outbound packet at the wrong time: sent at %.6f s, expected %.6f s (window %.6f..%.6f)"
           "\n  expected: %s\n  actual:   %s",
           secs(lv.t_ns), secs(at), secs(lo), hi == UINT64_MAX ? 1e99 : secs(hi), script, live);
      return;
    }
    /* Aggregation (packetdrill without --strict_segments): a smaller segment of the same
     * kind starts the expected range, and more follow. */
    uint8_t mid_flags = p->flags & (uint8_t) ~(UTCP_TCP_PSH | UTCP_TCP_FIN);
    if (!r->strict_segments && lv.seg.len > 0 && lv.seg.len < remaining &&
        compare_segment(r, p, f, &lv, lv.seg.flags == p->flags ? p->flags : mid_flags, want_seq,
                        (uint32_t)lv.seg.len, why, sizeof why)) {
      learn_ts(f, p, &lv);
      want_seq += (uint32_t)lv.seg.len;
      remaining -= (uint32_t)lv.seg.len;
      pieces++;
      q_pop(r);
      continue;
    }
    if (!compare_segment(r, p, f, &lv, p->flags, want_seq, remaining, why, sizeof why)) {
      FAIL(r, ev->line, "outbound packet mismatch: %s%s\n  expected: %s\n  actual:   %s", why,
           pieces ? " (after aggregating earlier segments)" : "", script, live);
      return;
    }
    learn_ts(f, p, &lv);
    if (r->verbose) say(r, ev->line, "note", "matched %s", live);
    r->base_ns = lv.t_ns;
    q_pop(r);
    return;
  }
}

/* ---- expressions ---- */

static const struct pkt_expr *arg(const struct pkt_event *ev, size_t i) {
  return i < ev->sc.n_args ? ev->sc.args[i] : NULL;
}

/* 1: value, 0: don't care (...), -1: error (reported). */
static int eval_int(struct runner *r, const struct pkt_expr *e, int64_t *v) {
  if (e == NULL) {
    FAIL(r, 0, "missing argument");
    return -1;
  }
  switch (e->kind) {
    case PKT_E_ELLIPSIS: return 0;
    case PKT_E_INT: *v = e->ival; return 1;
    case PKT_E_WORD:
      if (sym_lookup(e->text, v)) return 1;
      FAIL(r, e->line, "unknown symbol %s (column %d)", e->text, e->col);
      return -1;
    case PKT_E_ARRAY:
      if (e->n_kids == 1) return eval_int(r, e->kids[0], v);
      break;
    case PKT_E_CALL:
      if ((strcmp(e->text, "htons") == 0 || strcmp(e->text, "htonl") == 0) && e->n_kids == 1)
        return eval_int(r, e->kids[0], v);
      break;
    case PKT_E_OR: {
      int64_t a, b;
      int ra = eval_int(r, e->kids[0], &a);
      if (ra <= 0) return ra;
      int rb = eval_int(r, e->kids[1], &b);
      if (rb <= 0) return rb;
      *v = a | b;
      return 1;
    }
    default:
      break;
  }
  FAIL(r, e->line, "expected an integer expression at column %d", e->col);
  return -1;
}

static const struct pkt_expr *named(const struct pkt_expr *e, const char *name) {
  if (e == NULL || (e->kind != PKT_E_LIST && e->kind != PKT_E_ARRAY)) return NULL;
  for (size_t i = 0; i < e->n_kids; i++)
    if (e->kids[i]->kind == PKT_E_NAMED && strcmp(e->kids[i]->text, name) == 0)
      return e->kids[i]->kids[0];
  return NULL;
}

static bool parse_ip(const char *s, uint32_t *ip) {
  unsigned a, b, c, d;
  char tail;
  if (sscanf(s, "%u.%u.%u.%u%c", &a, &b, &c, &d, &tail) != 4 || a > 255 || b > 255 || c > 255 ||
      d > 255)
    return false;
  *ip = a << 24 | b << 16 | c << 8 | d;
  return true;
}

/* A sockaddr argument: port and address where given. */
static bool eval_sockaddr(struct runner *r, const struct pkt_expr *e, uint16_t *port,
                          uint32_t *addr) {
  if (e == NULL || e->kind == PKT_E_ELLIPSIS) return true;
  const struct pkt_expr *pe = named(e, "sin_port");
  const struct pkt_expr *ae = named(e, "sin_addr");
  if (pe == NULL && ae == NULL) {
    FAIL(r, e->line, "unsupported address expression at column %d", e->col);
    return false;
  }
  if (pe != NULL) {
    int64_t v;
    int rc = eval_int(r, pe, &v);
    if (rc < 0) return false;
    if (rc > 0) *port = (uint16_t)v;
  }
  if (ae != NULL && ae->kind == PKT_E_CALL && ae->n_kids == 1 &&
      ae->kids[0]->kind == PKT_E_STRING) {
    if (!parse_ip(ae->kids[0]->text, addr)) {
      FAIL(r, ae->line, "bad address \"%s\"", ae->kids[0]->text);
      return false;
    }
  }
  return true;
}

/* Sum of iovec lengths: [{..., 10}, {..., 20}]. */
static bool eval_iov(struct runner *r, const struct pkt_expr *e, int64_t *total) {
  *total = 0;
  if (e == NULL || e->kind != PKT_E_ARRAY) {
    FAIL(r, e ? e->line : 0, "expected an iovec array [{..., len}, ...]");
    return false;
  }
  for (size_t i = 0; i < e->n_kids; i++) {
    const struct pkt_expr *k = e->kids[i];
    const struct pkt_expr *le = named(k, "iov_len");
    if (le == NULL && k->kind == PKT_E_LIST && k->n_kids == 2) le = k->kids[1];
    int64_t v;
    if (le == NULL || eval_int(r, le, &v) <= 0 || v < 0) {
      FAIL(r, k->line, "expected an iovec {..., len} at column %d", k->col);
      return false;
    }
    *total += v;
  }
  return true;
}

/* ---- fds ---- */

static struct fdent *fd_get(struct runner *r, int64_t fd) {
  if (fd < 0 || fd >= MAX_FDS || r->fds[fd].kind == FD_FREE) return NULL;
  return &r->fds[fd];
}

static int fd_alloc(struct runner *r) {
  for (int i = 3; i < MAX_FDS; i++)
    if (r->fds[i].kind == FD_FREE) {
      memset(&r->fds[i], 0, sizeof r->fds[i]);
      return i;
    }
  return -1;
}

static struct call_res ok(int64_t v) { return (struct call_res){v, NULL}; }
static struct call_res fail_errno(const char *e) { return (struct call_res){-1, e}; }

static uint8_t *iobuf(struct runner *r, size_t n) {
  if (n > r->iobuf_len) {
    free(r->iobuf);
    r->iobuf = calloc(1, n);
    if (r->iobuf == NULL) abort();
    r->iobuf_len = n;
  }
  return r->iobuf;
}

/* Options given before the connection exists, replayed onto it. */
static void fd_remember_opt(struct fdent *d, int opt, int value) {
  for (size_t i = 0; i < d->n_opts; i++)
    if (d->opts[i][0] == opt) {
      d->opts[i][1] = value;
      return;
    }
  if (d->n_opts < MAX_PENDING_OPTS) {
    d->opts[d->n_opts][0] = opt;
    d->opts[d->n_opts][1] = value;
    d->n_opts++;
  }
}

/* Consumes a connection error, as Linux's sock_error() does. */
static void consume_error(struct runner *r, utcp_conn_t c) {
  int v;
  (void)utcp_tcp_getopt(r->s, c, UTCP_TCPOPT_ERROR, &v);
}

static bool conn_synchronizing(struct runner *r, utcp_conn_t c) {
  int st = utcp_tcp_state(r->s, c);
  return st == UTCP_TCP_SYN_SENT || st == UTCP_TCP_SYN_RECEIVED;
}

/* ---- system calls ---- */

static enum call_status sys_socket(struct runner *r, const struct pkt_event *ev,
                                   struct call_res *res) {
  int64_t type = SOCK_STREAM;
  if (eval_int(r, arg(ev, 1), &type) < 0) return CALL_FAILED;
  if ((type & ~(int64_t)SOCK_NONBLOCK) != SOCK_STREAM) {
    FAIL(r, ev->line, "only SOCK_STREAM sockets are supported");
    return CALL_FAILED;
  }
  int fd = fd_alloc(r);
  if (fd < 0) {
    *res = fail_errno("EMFILE");
    return CALL_DONE;
  }
  r->fds[fd].kind = FD_SOCKET;
  r->fds[fd].nonblock = (type & SOCK_NONBLOCK) != 0;
  *res = ok(fd);
  return CALL_DONE;
}

static enum call_status sys_bind(struct runner *r, const struct pkt_event *ev,
                                 struct call_res *res, struct fdent *d) {
  uint16_t port = r->bind_port;
  uint32_t addr = r->local_ip;
  if (!eval_sockaddr(r, arg(ev, 1), &port, &addr)) return CALL_FAILED;
  if (d->kind != FD_SOCKET || d->bound) {
    *res = fail_errno("EINVAL");
    return CALL_DONE;
  }
  if (addr != r->local_ip && addr != 0) {
    *res = fail_errno("EADDRNOTAVAIL");
    return CALL_DONE;
  }
  for (int i = 3; i < MAX_FDS; i++)
    if (&r->fds[i] != d && r->fds[i].kind != FD_FREE && r->fds[i].bound &&
        r->fds[i].port == port && r->fds[i].kind != FD_CONN) {
      *res = fail_errno("EADDRINUSE");
      return CALL_DONE;
    }
  d->bound = true;
  d->port = port;
  if (r->dflt->lport == 0 || r->dflt->lport == r->bind_port) r->dflt->lport = port;
  *res = ok(0);
  return CALL_DONE;
}

static enum call_status sys_listen(struct runner *r, const struct pkt_event *ev,
                                   struct call_res *res, struct fdent *d) {
  int64_t backlog = 1;
  if (eval_int(r, arg(ev, 1), &backlog) < 0) return CALL_FAILED;
  if (d->kind == FD_LISTEN) {
    *res = ok(0);
    return CALL_DONE;
  }
  if (d->kind != FD_SOCKET) {
    *res = fail_errno("EINVAL");
    return CALL_DONE;
  }
  if (!d->bound) {
    d->bound = true;
    d->port = r->bind_port;
  }
  utcp_conn_t c;
  int rc = utcp_tcp_listen(r->s, d->port, backlog < 1 ? 1 : (uint32_t)backlog, &c);
  if (rc < 0) {
    *res = fail_errno(rc == UTCP_ERR_NOMEM ? "ENOBUFS" : errname_of(rc));
    return CALL_DONE;
  }
  for (size_t i = 0; i < d->n_opts; i++) (void)utcp_tcp_setopt(r->s, c, d->opts[i][0], d->opts[i][1]);
  d->kind = FD_LISTEN;
  d->conn = c;
  *res = ok(0);
  return CALL_DONE;
}

static enum call_status sys_accept(struct runner *r, const struct pkt_event *ev,
                                   struct call_res *res, struct fdent *d) {
  (void)ev;
  if (d->kind != FD_LISTEN) {
    *res = fail_errno("EINVAL");
    return CALL_DONE;
  }
  utcp_conn_t c;
  if (d->n_stash > 0) {
    c = d->stash[0];
    memmove(d->stash, d->stash + 1, (d->n_stash - 1) * sizeof d->stash[0]);
    d->n_stash--;
  } else {
    int rc = utcp_tcp_accept(r->s, d->conn, &c);
    if (rc == UTCP_ERR_AGAIN) {
      if (d->nonblock) {
        *res = fail_errno("EAGAIN");
        return CALL_DONE;
      }
      return CALL_BLOCK;
    }
    if (rc < 0) {
      *res = fail_errno(errname_of(rc));
      return CALL_DONE;
    }
  }
  int fd = fd_alloc(r);
  if (fd < 0) {
    (void)utcp_tcp_abort(r->s, c, r->now);
    *res = fail_errno("EMFILE");
    return CALL_DONE;
  }
  struct fdent *n = &r->fds[fd];
  n->kind = FD_CONN;
  n->conn = c;
  n->connected = true;
  n->bound = true;
  n->port = d->port;
  *res = ok(fd);
  return CALL_DONE;
}

static enum call_status sys_connect(struct runner *r, const struct pkt_event *ev,
                                    struct call_res *res, struct fdent *d, bool first) {
  if (first) {
    if (d->kind == FD_LISTEN || (d->kind == FD_CONN && d->connected)) {
      *res = fail_errno("EISCONN");
      return CALL_DONE;
    }
    if (d->kind == FD_SOCKET) {
      uint16_t port = r->connect_port;
      uint32_t addr = r->remote_ip;
      if (!eval_sockaddr(r, arg(ev, 1), &port, &addr)) return CALL_FAILED;
      utcp_conn_t c;
      int rc = utcp_tcp_connect_opts(r->s, addr, port, d->bound ? d->port : 0,
                                     (const int(*)[2])d->opts, d->n_opts, r->now, &c);
      if (rc < 0) {
        *res = fail_errno(errname_of(rc));
        return CALL_DONE;
      }
      d->kind = FD_CONN;
      d->conn = c;
      struct utcp_tcp_info info;
      if (utcp_tcp_info(r->s, c, &info) == 0 && addr == r->remote_ip) {
        r->dflt->lport = info.lport;
        r->dflt->rport = info.rport;
      }
      if (d->nonblock) {
        d->connecting = true;
        *res = fail_errno("EINPROGRESS");
        return CALL_DONE;
      }
    } else if (d->connecting && d->nonblock && conn_synchronizing(r, d->conn)) {
      *res = fail_errno("EALREADY");
      return CALL_DONE;
    }
  }
  if (conn_synchronizing(r, d->conn)) return CALL_BLOCK;
  int st = utcp_tcp_state(r->s, d->conn);
  d->connecting = false;
  if (st == UTCP_TCP_CLOSED) {
    int err = 0;
    (void)utcp_tcp_getopt(r->s, d->conn, UTCP_TCPOPT_ERROR, &err);
    *res = fail_errno(err == UTCP_ERR_CONNRESET ? "ECONNREFUSED"
                      : err != 0               ? errname_of(err)
                                               : "ECONNABORTED");
    return CALL_DONE;
  }
  d->connected = true;
  *res = ok(0);
  return CALL_DONE;
}

static enum call_status sys_read(struct runner *r, const struct pkt_event *ev,
                                 struct call_res *res, struct fdent *d, int64_t len, int64_t flags) {
  (void)ev;
  if (d->kind != FD_CONN) {
    *res = fail_errno("ENOTCONN");
    return CALL_DONE;
  }
  bool nb = d->nonblock || (flags & MSG_DONTWAIT);
  if (conn_synchronizing(r, d->conn)) {
    if (nb) {
      *res = fail_errno("EAGAIN");
      return CALL_DONE;
    }
    return CALL_BLOCK;
  }
  if (len < 0) {
    *res = fail_errno("EINVAL");
    return CALL_DONE;
  }
  uint8_t *buf = iobuf(r, (size_t)len + 1);
  int rc = utcp_tcp_recv(r->s, d->conn, buf, (size_t)len, (flags & MSG_PEEK) != 0, r->now);
  if (rc == UTCP_ERR_AGAIN) {
    if (nb) {
      *res = fail_errno("EAGAIN");
      return CALL_DONE;
    }
    return CALL_BLOCK;
  }
  if (rc < 0) {
    if (rc == UTCP_ERR_CONNRESET || rc == UTCP_ERR_TIMEDOUT) consume_error(r, d->conn);
    *res = fail_errno(errname_of(rc));
    return CALL_DONE;
  }
  *res = ok(rc);
  return CALL_DONE;
}

static enum call_status sys_write(struct runner *r, const struct pkt_event *ev,
                                  struct call_res *res, struct fdent *d, int64_t len, int64_t flags) {
  (void)ev;
  if (d->kind != FD_CONN) {
    *res = fail_errno("EPIPE");
    return CALL_DONE;
  }
  bool nb = d->nonblock || (flags & MSG_DONTWAIT);
  if (conn_synchronizing(r, d->conn)) {
    if (nb) {
      *res = fail_errno("EAGAIN");
      return CALL_DONE;
    }
    return CALL_BLOCK;
  }
  if (len < 0) {
    *res = fail_errno("EINVAL");
    return CALL_DONE;
  }
  for (;;) {
    int64_t left = len - r->pend_done;
    if (left == 0 && len > 0) break;
    uint8_t *buf = iobuf(r, (size_t)left + 1);
    for (int64_t i = 0; i < left; i++) buf[i] = (uint8_t)('a' + (r->pend_done + i) % 26);
    int rc = utcp_tcp_send(r->s, d->conn, buf, (size_t)left, r->now);
    if (rc == UTCP_ERR_AGAIN) {
      if (r->pend_done > 0 && nb) break;
      if (nb) {
        *res = fail_errno("EAGAIN");
        return CALL_DONE;
      }
      return CALL_BLOCK;
    }
    if (rc < 0) {
      if (r->pend_done > 0) break;
      if (rc == UTCP_ERR_CONNRESET || rc == UTCP_ERR_TIMEDOUT) consume_error(r, d->conn);
      *res = fail_errno(rc == UTCP_ERR_NOTCONN ? "EPIPE" : errname_of(rc));
      return CALL_DONE;
    }
    r->pend_done += rc;
    if (len == 0) break;
  }
  *res = ok(r->pend_done);
  return CALL_DONE;
}

static int64_t poll_revents(struct runner *r, int64_t fd, int64_t events) {
  struct fdent *d = fd_get(r, fd);
  if (d == NULL) return POLLNVAL;
  int64_t m = 0;
  if (d->kind == FD_SOCKET) {
    m = POLLOUT | POLLWRNORM | POLLHUP;
  } else if (d->kind == FD_LISTEN) {
    if (d->n_stash == 0) {
      utcp_conn_t c;
      if (utcp_tcp_accept(r->s, d->conn, &c) == 0) d->stash[d->n_stash++] = c;
    }
    if (d->n_stash > 0) m |= POLLIN | POLLRDNORM;
  } else {
    int st = utcp_tcp_state(r->s, d->conn);
    uint8_t b;
    int peek = utcp_tcp_recv(r->s, d->conn, &b, 1, true, r->now);
    bool closed = st == UTCP_TCP_CLOSED;
    bool rcv_shut = peek == 0 || d->shut_rd || closed;
    bool snd_shut = st == UTCP_TCP_FIN_WAIT_1 || st == UTCP_TCP_FIN_WAIT_2 ||
                    st == UTCP_TCP_CLOSING || st == UTCP_TCP_LAST_ACK ||
                    st == UTCP_TCP_TIME_WAIT || closed;
    if (closed || (rcv_shut && snd_shut)) m |= POLLHUP;
    if (rcv_shut) m |= POLLIN | POLLRDNORM | POLLRDHUP;
    if (st != UTCP_TCP_SYN_SENT && st != UTCP_TCP_SYN_RECEIVED) {
      if (peek > 0) m |= POLLIN | POLLRDNORM;
      if (snd_shut || utcp_tcp_writable(r->s, d->conn) > 0) m |= POLLOUT | POLLWRNORM;
    }
    if (peek < 0 && peek != UTCP_ERR_AGAIN) m |= POLLERR;
  }
  return m & (events | POLLERR | POLLHUP | POLLNVAL);
}

static enum call_status sys_poll(struct runner *r, const struct pkt_event *ev,
                                 struct call_res *res, bool first) {
  const struct pkt_expr *arr = arg(ev, 0);
  int64_t nfds = 0, timeout = 0;
  if (eval_int(r, arg(ev, 1), &nfds) < 0 || eval_int(r, arg(ev, 2), &timeout) < 0)
    return CALL_FAILED;
  if (arr == NULL || arr->kind != PKT_E_ARRAY || (int64_t)arr->n_kids != nfds) {
    FAIL(r, ev->line, "poll() needs an array of %lld {fd=..., events=...} entries", (long long)nfds);
    return CALL_FAILED;
  }
  int64_t ready = 0;
  int64_t revents[64];
  if (nfds > 64) nfds = 64;
  for (int64_t i = 0; i < nfds; i++) {
    int64_t fd = -1, events = 0;
    const struct pkt_expr *e = arr->kids[i];
    if (eval_int(r, named(e, "fd"), &fd) <= 0 || eval_int(r, named(e, "events"), &events) < 0)
      return CALL_FAILED;
    revents[i] = poll_revents(r, fd, events);
    if (revents[i] != 0) ready++;
  }
  if (ready == 0 && timeout != 0) {
    if (first) r->pend_deadline_ns = timeout > 0 ? r->now + (uint64_t)timeout * NS_PER_MS : UINT64_MAX;
    if (r->now < r->pend_deadline_ns) return CALL_BLOCK;
  }
  for (int64_t i = 0; i < nfds; i++) {
    const struct pkt_expr *want = named(arr->kids[i], "revents");
    if (want == NULL) continue;
    int64_t w;
    int rc = eval_int(r, want, &w);
    if (rc < 0) return CALL_FAILED;
    if (rc > 0 && w != revents[i]) {
      FAIL(r, ev->line, "poll(): revents of entry %lld is 0x%llx, expected 0x%llx", (long long)i,
           (unsigned long long)revents[i], (unsigned long long)w);
      return CALL_FAILED;
    }
  }
  *res = ok(ready);
  return CALL_DONE;
}

/* The utcp option behind a (level, name) pair; 0 if unsupported. */
static int map_sockopt(int64_t level, int64_t name) {
  if (level == SOL_SOCKET) {
    switch (name) {
      case SO_RCVBUF: return UTCP_TCPOPT_RCVBUF;
      case SO_SNDBUF: return UTCP_TCPOPT_SNDBUF;
      case SO_REUSEADDR: return UTCP_TCPOPT_REUSEADDR;
      case SO_KEEPALIVE: return UTCP_TCPOPT_KEEPALIVE;
      case SO_LINGER: return UTCP_TCPOPT_LINGER;
      case SO_ERROR: return UTCP_TCPOPT_ERROR;
      default: return 0;
    }
  }
  if (level == IPPROTO_TCP) {
    switch (name) {
      case TCP_NODELAY: return UTCP_TCPOPT_NODELAY;
      case TCP_MAXSEG: return UTCP_TCPOPT_MAXSEG;
      case TCP_KEEPIDLE: return UTCP_TCPOPT_KEEPIDLE;
      case TCP_KEEPINTVL: return UTCP_TCPOPT_KEEPINTVL;
      case TCP_KEEPCNT: return UTCP_TCPOPT_KEEPCNT;
      default: return 0;
    }
  }
  return 0;
}

static enum call_status sys_setsockopt(struct runner *r, const struct pkt_event *ev,
                                       struct call_res *res, struct fdent *d) {
  int64_t level, name, value = 0;
  if (eval_int(r, arg(ev, 1), &level) <= 0 || eval_int(r, arg(ev, 2), &name) <= 0) {
    if (!r->failed) FAIL(r, ev->line, "setsockopt() needs a level and an option name");
    return CALL_FAILED;
  }
  int opt = map_sockopt(level, name);
  if (opt == 0 || opt == UTCP_TCPOPT_ERROR) {
    FAIL(r, ev->line, "unsupported socket option (level %lld, name %lld)", (long long)level,
         (long long)name);
    return CALL_FAILED;
  }
  const struct pkt_expr *ve = arg(ev, 3);
  if (opt == UTCP_TCPOPT_LINGER) {
    int64_t onoff = 0, secs_v = 0;
    if (eval_int(r, named(ve, "onoff"), &onoff) < 0 || eval_int(r, named(ve, "linger"), &secs_v) < 0)
      return CALL_FAILED;
    value = onoff ? secs_v : -1;
  } else if (eval_int(r, ve, &value) <= 0) {
    if (!r->failed) FAIL(r, ev->line, "setsockopt() needs a value");
    return CALL_FAILED;
  }
  /* Linux clamps buffer sizes instead of refusing them. */
  if (opt == UTCP_TCPOPT_RCVBUF || opt == UTCP_TCPOPT_SNDBUF) {
    if (value < 2048) value = 2048;
    if (value > (1 << 30)) value = 1 << 30;
  }
  if (d->kind == FD_LISTEN || d->kind == FD_CONN) {
    int rc = utcp_tcp_setopt(r->s, d->conn, opt, (int)value);
    *res = rc < 0 ? fail_errno(errname_of(rc)) : ok(0);
    return CALL_DONE;
  }
  if (opt == UTCP_TCPOPT_MAXSEG && (value < 88 || value > 65495)) {
    *res = fail_errno("EINVAL");
    return CALL_DONE;
  }
  fd_remember_opt(d, opt, (int)value);
  *res = ok(0);
  return CALL_DONE;
}

static enum call_status sys_getsockopt(struct runner *r, const struct pkt_event *ev,
                                       struct call_res *res, struct fdent *d) {
  int64_t level, name;
  if (eval_int(r, arg(ev, 1), &level) <= 0 || eval_int(r, arg(ev, 2), &name) <= 0) {
    if (!r->failed) FAIL(r, ev->line, "getsockopt() needs a level and an option name");
    return CALL_FAILED;
  }
  int opt = map_sockopt(level, name);
  if (opt == 0) {
    FAIL(r, ev->line, "unsupported socket option (level %lld, name %lld)", (long long)level,
         (long long)name);
    return CALL_FAILED;
  }
  int value = 0;
  if (d->kind == FD_LISTEN || d->kind == FD_CONN) {
    int rc = utcp_tcp_getopt(r->s, d->conn, opt, &value);
    if (rc < 0) {
      *res = fail_errno(errname_of(rc));
      return CALL_DONE;
    }
  } else {
    bool found = false;
    for (size_t i = 0; i < d->n_opts; i++)
      if (d->opts[i][0] == opt) {
        value = d->opts[i][1];
        found = true;
      }
    if (!found) {
      const struct utcp_tcp_config *c = &r->cfg.tcp;
      switch (opt) {
        case UTCP_TCPOPT_RCVBUF: value = (int)c->rcvbuf_bytes; break;
        case UTCP_TCPOPT_SNDBUF: value = (int)c->sndbuf_bytes; break;
        case UTCP_TCPOPT_MAXSEG: value = c->mss_default; break;
        case UTCP_TCPOPT_KEEPIDLE: value = (int)(c->keepidle_ns / 1000000000ull); break;
        case UTCP_TCPOPT_KEEPINTVL: value = (int)(c->keepintvl_ns / 1000000000ull); break;
        case UTCP_TCPOPT_KEEPCNT: value = (int)c->keepcnt; break;
        case UTCP_TCPOPT_LINGER: value = -1; break;
        default: value = 0; break;
      }
    }
  }
  int64_t got = value;
  if (opt == UTCP_TCPOPT_ERROR) got = value == 0 ? 0 : errno_value(errname_of(value));
  const struct pkt_expr *ve = arg(ev, 3);
  if (opt == UTCP_TCPOPT_LINGER) {
    int64_t w;
    int rc = eval_int(r, named(ve, "onoff"), &w);
    if (rc < 0) return CALL_FAILED;
    if (rc > 0 && w != (value >= 0)) {
      FAIL(r, ev->line, "getsockopt(): SO_LINGER onoff is %d, expected %lld", value >= 0, (long long)w);
      return CALL_FAILED;
    }
    rc = eval_int(r, named(ve, "linger"), &w);
    if (rc < 0) return CALL_FAILED;
    if (rc > 0 && value >= 0 && w != value) {
      FAIL(r, ev->line, "getsockopt(): SO_LINGER linger is %d, expected %lld", value, (long long)w);
      return CALL_FAILED;
    }
  } else if (ve != NULL) {
    int64_t w;
    int rc = eval_int(r, ve, &w);
    if (rc < 0) return CALL_FAILED;
    if (rc > 0 && w != got) {
      FAIL(r, ev->line, "getsockopt(): value is %lld, expected %lld", (long long)got, (long long)w);
      return CALL_FAILED;
    }
  }
  *res = ok(0);
  return CALL_DONE;
}

static enum call_status sys_close(struct runner *r, struct call_res *res, struct fdent *d) {
  if (d->kind == FD_LISTEN) {
    for (size_t i = 0; i < d->n_stash; i++) (void)utcp_tcp_abort(r->s, d->stash[i], r->now);
    (void)utcp_tcp_close(r->s, d->conn, r->now);
  } else if (d->kind == FD_CONN) {
    (void)utcp_tcp_close(r->s, d->conn, r->now);
  }
  memset(d, 0, sizeof *d);
  *res = ok(0);
  return CALL_DONE;
}

static enum call_status sys_shutdown(struct runner *r, const struct pkt_event *ev,
                                     struct call_res *res, struct fdent *d) {
  int64_t how;
  if (eval_int(r, arg(ev, 1), &how) <= 0) {
    if (!r->failed) FAIL(r, ev->line, "shutdown() needs SHUT_RD, SHUT_WR or SHUT_RDWR");
    return CALL_FAILED;
  }
  int uhow = how == SHUT_RD ? UTCP_SHUT_RD : how == SHUT_WR ? UTCP_SHUT_WR
             : how == SHUT_RDWR ? UTCP_SHUT_RDWR : 0;
  if (uhow == 0) {
    *res = fail_errno("EINVAL");
    return CALL_DONE;
  }
  if (d->kind != FD_CONN) {
    *res = fail_errno("ENOTCONN");
    return CALL_DONE;
  }
  int rc = utcp_tcp_shutdown(r->s, d->conn, uhow, r->now);
  if (rc < 0) {
    *res = fail_errno(errname_of(rc));
    return CALL_DONE;
  }
  if (uhow & UTCP_SHUT_RD) d->shut_rd = true;
  *res = ok(0);
  return CALL_DONE;
}

static enum call_status sys_fcntl(struct runner *r, const struct pkt_event *ev,
                                  struct call_res *res, struct fdent *d) {
  int64_t cmd, flags = 0;
  if (eval_int(r, arg(ev, 1), &cmd) <= 0) {
    if (!r->failed) FAIL(r, ev->line, "fcntl() needs a command");
    return CALL_FAILED;
  }
  if (cmd == F_GETFL) {
    *res = ok(O_RDWR | (d->nonblock ? O_NONBLOCK : 0));
    return CALL_DONE;
  }
  if (cmd == F_SETFL) {
    if (eval_int(r, arg(ev, 2), &flags) <= 0) {
      if (!r->failed) FAIL(r, ev->line, "fcntl(F_SETFL) needs flags");
      return CALL_FAILED;
    }
    d->nonblock = (flags & O_NONBLOCK) != 0;
    *res = ok(0);
    return CALL_DONE;
  }
  FAIL(r, ev->line, "unsupported fcntl() command %lld", (long long)cmd);
  return CALL_FAILED;
}

static enum call_status sys_ioctl(struct runner *r, const struct pkt_event *ev,
                                  struct call_res *res, struct fdent *d) {
  int64_t req;
  if (eval_int(r, arg(ev, 1), &req) <= 0 || (req != FIONREAD && req != SIOCINQ)) {
    if (!r->failed) FAIL(r, ev->line, "unsupported ioctl() (FIONREAD and SIOCINQ are)");
    return CALL_FAILED;
  }
  if (d->kind != FD_CONN) {
    *res = fail_errno("EINVAL");
    return CALL_DONE;
  }
  int n = utcp_tcp_readable(r->s, d->conn);
  if (n < 0) n = 0;
  int64_t w;
  int rc = eval_int(r, arg(ev, 2), &w);
  if (rc < 0) return CALL_FAILED;
  if (rc > 0 && w != n) {
    FAIL(r, ev->line, "ioctl(): %d bytes readable, expected %lld", n, (long long)w);
    return CALL_FAILED;
  }
  *res = ok(0);
  return CALL_DONE;
}

/* Runs (or re-tries, first == false) a system call. */
static enum call_status exec_call(struct runner *r, const struct pkt_event *ev, bool first,
                                  struct call_res *res) {
  const char *name = ev->sc.name;
  if (strcmp(name, "socket") == 0) return sys_socket(r, ev, res);
  if (strcmp(name, "poll") == 0) return sys_poll(r, ev, res, first);
  int64_t fd;
  int rc = eval_int(r, arg(ev, 0), &fd);
  if (rc < 0) return CALL_FAILED;
  if (rc == 0) {
    FAIL(r, ev->line, "%s(): the file descriptor must be given", name);
    return CALL_FAILED;
  }
  struct fdent *d = fd_get(r, fd);
  static const char *const known[] = {"bind", "listen", "accept", "accept4", "connect", "read",
                                      "recv", "recvfrom", "readv", "write", "send", "sendto",
                                      "writev", "close", "shutdown", "setsockopt", "getsockopt",
                                      "fcntl", "ioctl"};
  bool is_known = false;
  for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
    if (strcmp(name, known[i]) == 0) is_known = true;
  if (!is_known) {
    FAIL(r, ev->line, "unsupported system call %s()", name);
    return CALL_FAILED;
  }
  if (d == NULL) {
    *res = fail_errno("EBADF");
    return CALL_DONE;
  }
  if (strcmp(name, "bind") == 0) return sys_bind(r, ev, res, d);
  if (strcmp(name, "listen") == 0) return sys_listen(r, ev, res, d);
  if (strcmp(name, "accept") == 0 || strcmp(name, "accept4") == 0) return sys_accept(r, ev, res, d);
  if (strcmp(name, "connect") == 0) return sys_connect(r, ev, res, d, first);
  if (strcmp(name, "close") == 0) return sys_close(r, res, d);
  if (strcmp(name, "shutdown") == 0) return sys_shutdown(r, ev, res, d);
  if (strcmp(name, "setsockopt") == 0) return sys_setsockopt(r, ev, res, d);
  if (strcmp(name, "getsockopt") == 0) return sys_getsockopt(r, ev, res, d);
  if (strcmp(name, "fcntl") == 0) return sys_fcntl(r, ev, res, d);
  if (strcmp(name, "ioctl") == 0) return sys_ioctl(r, ev, res, d);
  int64_t len = 0, flags = 0;
  bool vec = strcmp(name, "readv") == 0 || strcmp(name, "writev") == 0;
  if (vec) {
    if (!eval_iov(r, arg(ev, 1), &len)) return CALL_FAILED;
  } else {
    if (eval_int(r, arg(ev, 2), &len) <= 0) {
      if (!r->failed) FAIL(r, ev->line, "%s(): the length must be given", name);
      return CALL_FAILED;
    }
    if (ev->sc.n_args > 3 && eval_int(r, arg(ev, 3), &flags) < 0) return CALL_FAILED;
  }
  if (strcmp(name, "read") == 0 || strcmp(name, "recv") == 0 || strcmp(name, "recvfrom") == 0 ||
      strcmp(name, "readv") == 0)
    return sys_read(r, ev, res, d, len, flags);
  return sys_write(r, ev, res, d, len, flags);
}

/* Checks a finished call against the script. */
static void check_result(struct runner *r, const struct pkt_event *ev, const struct call_res *res,
                         uint64_t start, uint64_t done) {
  const struct pkt_syscall *sc = &ev->sc;
  int64_t want = 0;
  int rc = eval_int(r, sc->ret, &want);
  if (rc < 0) return;
  char got[96];
  if (res->err != NULL) {
    snprintf(got, sizeof got, "%lld %s", (long long)res->ret, res->err);
  } else {
    snprintf(got, sizeof got, "%lld", (long long)res->ret);
  }
  if (rc > 0 && want != res->ret) {
    FAIL(r, ev->line, "%s() returned %s, expected %lld%s%s", sc->name, got, (long long)want,
         sc->errno_name ? " " : "", sc->errno_name ? sc->errno_name : "");
    return;
  }
  if (sc->errno_name != NULL || res->err != NULL) {
    const char *a = res->err ? res->err : "(none)", *b = sc->errno_name ? sc->errno_name : "(none)";
    bool same = strcmp(a, b) == 0 || (strcmp(a, "EAGAIN") == 0 && strcmp(b, "EWOULDBLOCK") == 0);
    if (!same) {
      FAIL(r, ev->line, "%s() returned %s, expected errno %s", sc->name, got, b);
      return;
    }
  }
  if (sc->has_end) {
    uint64_t end = (uint64_t)sc->end.us * NS_PER_US + (sc->end.kind == PKT_TIME_REL ? start : 0);
    uint64_t tol = tolerance_ns(r, end, start);
    uint64_t lo = end > tol ? end - tol : 0;
    if (done < lo || done > end + tol) {
      FAIL(r, ev->line, "%s() returned at %.6f s, expected at %.6f s (tolerance %.6f s)", sc->name,
           secs(done), secs(end), secs(tol));
      return;
    }
  }
  if (r->verbose) say(r, ev->line, "note", "%.6f s %s() = %s", secs(done), sc->name, got);
}

static void pending_service(struct runner *r) {
  if (r->pend == NULL || r->failed) return;
  struct call_res res = {0};
  const struct pkt_event *ev = r->pend;
  int outer_line = r->cur_line;
  r->cur_line = ev->line;
  enum call_status st = exec_call(r, ev, false, &res);
  r->cur_line = outer_line;
  if (st == CALL_BLOCK) return;
  r->pend = NULL;
  drain_events(r);
  if (st == CALL_DONE) {
    r->cur_line = ev->line;
    check_result(r, ev, &res, r->pend_start_ns, r->now);
    r->cur_line = outer_line;
  }
}

static void run_syscall(struct runner *r, const struct pkt_event *ev) {
  uint64_t at;
  if (!arrive_at(r, ev, &at)) return;
  if (r->pend != NULL) {
    FAIL(r, ev->line, "system call while %s() from line %d is still blocked", r->pend->sc.name,
         r->pend->line);
    return;
  }
  if (!check_unexpected(r, ev)) return;
  r->base_ns = at;
  r->pend_done = 0;
  r->pend_deadline_ns = UINT64_MAX;
  struct call_res res = {0};
  enum call_status st = exec_call(r, ev, true, &res);
  drain_events(r);
  if (st == CALL_FAILED) return;
  if (st == CALL_BLOCK) {
    r->pend = ev;
    r->pend_start_ns = r->now;
    return;
  }
  check_result(r, ev, &res, r->now, r->now);
}

/* ---- options and setup ---- */

static bool opt_u64(struct runner *r, const struct pkt_option *o, uint64_t lo, uint64_t hi,
                    uint64_t *v) {
  char *end = NULL;
  if (o->value == NULL) {
    FAIL(r, o->line, "option --%s needs a value", o->name);
    return false;
  }
  unsigned long long x = strtoull(o->value, &end, 0);
  if (end == o->value || *end != '\0' || x < lo || x > hi) {
    FAIL(r, o->line, "bad value for --%s: %s", o->name, o->value);
    return false;
  }
  *v = x;
  return true;
}

static bool apply_option(struct runner *r, const struct pkt_option *o, bool *tol_us_set,
                         bool *tol_pct_set) {
  struct utcp_tcp_config *t = &r->cfg.tcp;
  uint64_t v;
  const char *n = o->name;
  if (strcmp(n, "ip_version") == 0) {
    if (o->value == NULL || strcmp(o->value, "ipv4") != 0) {
      FAIL(r, o->line, "unsupported --ip_version=%s (utcp runs IPv4 only)", o->value ? o->value : "");
      return false;
    }
  } else if (strcmp(n, "local_ip") == 0 || strcmp(n, "remote_ip") == 0) {
    uint32_t ip;
    if (o->value == NULL || !parse_ip(o->value, &ip)) {
      FAIL(r, o->line, "bad address for --%s", n);
      return false;
    }
    if (n[0] == 'l') r->local_ip = ip; else r->remote_ip = ip;
  } else if (strcmp(n, "tolerance_usecs") == 0) {
    if (!opt_u64(r, o, 0, 100000000, &v)) return false;
    if (!*tol_us_set) r->tol_us = (int64_t)v;
  } else if (strcmp(n, "tolerance_percent") == 0) {
    char *end = NULL;
    double p = o->value ? strtod(o->value, &end) : -1;
    if (o->value == NULL || *end != '\0' || p < 0 || p > 100) {
      FAIL(r, o->line, "bad value for --tolerance_percent");
      return false;
    }
    if (!*tol_pct_set) r->tol_pct = p;
  } else if (strcmp(n, "mss") == 0) {
    if (!opt_u64(r, o, 48, 8960, &v)) return false;
    r->cfg.mtu = (uint16_t)(v + 40);
  } else if (strcmp(n, "mtu") == 0) {
    if (!opt_u64(r, o, 68, 9000, &v)) return false;
    r->cfg.mtu = (uint16_t)v;
  } else if (strcmp(n, "bind_port") == 0 || strcmp(n, "connect_port") == 0) {
    if (!opt_u64(r, o, 1, 65535, &v)) return false;
    if (n[0] == 'b') r->bind_port = (uint16_t)v; else r->connect_port = (uint16_t)v;
  } else if (strcmp(n, "strict_segments") == 0) {
    r->strict_segments = true;
  } else if (strcmp(n, "utcp_rcvbuf") == 0) {
    if (!opt_u64(r, o, 2048, 1u << 30, &v)) return false;
    t->rcvbuf_bytes = (uint32_t)v;
  } else if (strcmp(n, "utcp_sndbuf") == 0) {
    if (!opt_u64(r, o, 2048, 1u << 30, &v)) return false;
    t->sndbuf_bytes = (uint32_t)v;
  } else if (strcmp(n, "utcp_delack_ms") == 0) {
    if (!opt_u64(r, o, 1, 499, &v)) return false;
    t->delack_ns = v * NS_PER_MS;
  } else if (strcmp(n, "utcp_msl_ms") == 0) {
    if (!opt_u64(r, o, 1, 3600000, &v)) return false;
    t->msl_ns = v * NS_PER_MS;
  } else if (strcmp(n, "utcp_iw") == 0) {
    if (!opt_u64(r, o, 1, 100, &v)) return false;
    t->iw_segments = (uint32_t)v;
  } else if (strcmp(n, "utcp_syn_retries") == 0) {
    if (!opt_u64(r, o, 1, 30, &v)) return false;
    t->syn_retries = (uint32_t)v;
  } else if (strcmp(n, "utcp_wscale") == 0 || strcmp(n, "utcp_timestamps") == 0 ||
             strcmp(n, "utcp_sack") == 0) {
    if (!opt_u64(r, o, 0, 1, &v)) return false;
    if (n[5] == 'w') t->wscale = v; else if (n[5] == 't') t->timestamps = v; else t->sack = v;
  } else {
    say(r, o->line, "warning", "ignoring option --%s", n);
  }
  return true;
}

void pkt_run_config_default(struct pkt_run_config *cfg) {
  memset(cfg, 0, sizeof *cfg);
  cfg->tolerance_usecs = 4000;
  cfg->tolerance_percent = 12.5;
  cfg->seed = 1;
}

bool pkt_run(const struct pkt_script *script, const struct pkt_run_config *rc, FILE *out) {
  struct runner *r = calloc(1, sizeof *r);
  if (r == NULL) abort();
  r->sc = script;
  r->out = out;
  r->tol_us = rc->tolerance_usecs;
  r->tol_pct = rc->tolerance_percent;
  r->verbose = rc->verbose;
  r->strict_segments = rc->strict_segments;
  r->local_ip = 0xc0a80001u;  /* 192.168.0.1 */
  r->remote_ip = 0xc0000201u; /* 192.0.2.1 */
  r->bind_port = 8080;
  r->connect_port = 8080;
  utcp_stack_config_default(&r->cfg);
  r->cfg.tcp.max_conns = 64;
  r->cfg.tcp.chunks = 4096;
  r->cfg.tcp.reass_nodes = 512;
  bool tol_us_set = rc->has_tolerance_usecs, tol_pct_set = rc->has_tolerance_percent;
  for (size_t i = 0; i < script->n_opts && !r->failed; i++)
    apply_option(r, &script->opts[i], &tol_us_set, &tol_pct_set);
  if (!r->failed) {
    r->cfg.mac = local_mac;
    r->cfg.ip = r->local_ip;
    r->cfg.netmask = 0xffffff00u;
    r->cfg.seed = rc->seed;
    for (int i = 0; i < 16; i++) r->cfg.isn_key[i] = (uint8_t)(0x5a ^ i);
    r->cfg.static_arp_count = 1;
    r->cfg.static_arp[0].ip = r->remote_ip;
    r->cfg.static_arp[0].mac = remote_mac;
    r->cfg.route_count = 1;
    r->cfg.routes[0] = (struct utcp_route){.dst = r->remote_ip, .mask = 0xffffffffu};
    struct utcp_mem mem = {.ctx = r, .alloc = mem_alloc, .free = mem_free};
    struct utcp_tx_sink sink = {.ctx = r, .alloc = sink_alloc, .commit = sink_commit};
    int e = utcp_stack_new(&r->cfg, &mem, &sink, 0, &r->s);
    if (e != 0) FAIL(r, 1, "cannot create the stack: %s", utcp_strerror(e));
  }
  r->flows[0] = (struct flow){.used = true, .lport = r->bind_port, .rport = DEFAULT_REMOTE_PORT};
  r->dflt = &r->flows[0];
  for (size_t i = 0; i < script->n_ev && !r->failed; i++) {
    const struct pkt_event *ev = &script->ev[i];
    r->cur_line = ev->line;
    switch (ev->kind) {
      case PKT_EV_COMMAND:
        say(r, ev->line, "warning", "skipping shell command `%.60s` (not run)", ev->text);
        break;
      case PKT_EV_CODE:
        say(r, ev->line, "warning", "skipping %%{ code }%% block (not run)");
        break;
      case PKT_EV_PACKET:
        if (ev->pkt.inbound) run_inbound(r, ev); else run_outbound(r, ev);
        break;
      case PKT_EV_SYSCALL:
        run_syscall(r, ev);
        break;
    }
  }
  if (!r->failed && r->pend != NULL) {
    const struct pkt_event *ev = r->pend;
    if (ev->sc.has_end) {
      uint64_t end = (uint64_t)ev->sc.end.us * NS_PER_US +
                     (ev->sc.end.kind == PKT_TIME_REL ? r->pend_start_ns : 0);
      advance_to(r, end + tolerance_ns(r, end, r->pend_start_ns));
    }
    if (!r->failed && r->pend != NULL)
      FAIL(r, ev->line, "%s() blocked and never returned (script ended at %.6f s)", ev->sc.name,
           secs(r->now));
  }
  bool passed = !r->failed;
  if (r->s != NULL) utcp_stack_free(r->s);
  while (r->q_len > 0) q_pop(r);
  free(r->q);
  free(r->iobuf);
  free(r);
  return passed;
}
