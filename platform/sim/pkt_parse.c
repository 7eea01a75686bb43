/* Parser for packetdrill-syntax scripts: tokens -> struct pkt_script. Follows the grammar in
 * packetdrill's syntax.md for the parts utcp runs (TCP packets, system calls, options); UDP,
 * ICMP, GRE/MPLS encapsulation and TCP Fast Open/MD5 options are refused with a message. */
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/wire.h"
#include "pkt.h"

struct parser {
  const char *file;
  const struct pkt_token *t;
  size_t n, i;
  char *err;
  size_t errlen;
  bool failed;
};

static const struct pkt_token *cur(const struct parser *ps) { return &ps->t[ps->i]; }
static const struct pkt_token *ahead(const struct parser *ps, size_t k) {
  return ps->i + k < ps->n ? &ps->t[ps->i + k] : &ps->t[ps->n - 1];
}
static void next(struct parser *ps) {
  if (ps->i + 1 < ps->n) ps->i++;
}

static bool perr_at(struct parser *ps, const struct pkt_token *k, const char *fmt, ...) {
  if (ps->failed) return false;
  ps->failed = true;
  int n = snprintf(ps->err, ps->errlen, "%s:%d:%d: ", ps->file, k->line, k->col);
  if (n < 0) n = 0;
  if ((size_t)n < ps->errlen) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ps->err + n, ps->errlen - (size_t)n, fmt, ap);
    va_end(ap);
  }
  return false;
}

static const char *tok_desc(const struct pkt_token *k, char *buf, size_t len) {
  switch (k->kind) {
    case PKT_T_EOF: return "end of file";
    case PKT_T_INT: snprintf(buf, len, "number %lld", (long long)k->ival); return buf;
    case PKT_T_HEX: snprintf(buf, len, "number 0x%llx", (long long)k->ival); return buf;
    case PKT_T_FLOAT: snprintf(buf, len, "number %g", k->fval); return buf;
    case PKT_T_PUNCT: snprintf(buf, len, "'%c'", k->punct); return buf;
    case PKT_T_ELLIPSIS: return "'...'";
    case PKT_T_BACKQUOTE: return "`command`";
    case PKT_T_CODE: return "%{ code }%";
    default: snprintf(buf, len, "'%.40s'", k->text ? k->text : ""); return buf;
  }
}

static bool expected(struct parser *ps, const char *what) {
  char b[64];
  return perr_at(ps, cur(ps), "expected %s, found %s", what, tok_desc(cur(ps), b, sizeof b));
}

static bool is_punct(const struct parser *ps, char c) {
  return cur(ps)->kind == PKT_T_PUNCT && cur(ps)->punct == c;
}

static bool eat_punct(struct parser *ps, char c) {
  if (!is_punct(ps, c)) {
    char what[8] = {'\'', c, '\'', 0};
    return expected(ps, what);
  }
  next(ps);
  return true;
}

static bool is_word(const struct parser *ps, const char *w) {
  return cur(ps)->kind == PKT_T_WORD && strcasecmp(cur(ps)->text, w) == 0;
}

static char *xstrdup(const char *s) {
  size_t n = strlen(s) + 1;
  char *d = malloc(n);
  if (d == NULL) abort();
  memcpy(d, s, n);
  return d;
}

static bool parse_u32(struct parser *ps, uint32_t *v, const char *what) {
  const struct pkt_token *k = cur(ps);
  if (k->kind != PKT_T_INT && k->kind != PKT_T_HEX) return expected(ps, what);
  if (k->ival < 0 || k->ival > (int64_t)UINT32_MAX)
    return perr_at(ps, k, "%s out of range: %lld", what, (long long)k->ival);
  *v = (uint32_t)k->ival;
  next(ps);
  return true;
}

/* A time in seconds -> microseconds. */
static bool parse_seconds(struct parser *ps, int64_t *us) {
  const struct pkt_token *k = cur(ps);
  if (k->kind != PKT_T_INT && k->kind != PKT_T_FLOAT) return expected(ps, "a time");
  if (k->fval < 0 || k->fval > 1e9) return perr_at(ps, k, "time out of range");
  *us = (int64_t)llround(k->fval * 1e6);
  next(ps);
  return true;
}

static bool parse_time(struct parser *ps, struct pkt_time *t) {
  memset(t, 0, sizeof *t);
  if (is_punct(ps, '*')) {
    next(ps);
    t->kind = PKT_TIME_ANY;
    return true;
  }
  bool rel = false;
  if (is_punct(ps, '+')) {
    rel = true;
    next(ps);
  }
  if (!parse_seconds(ps, &t->us)) return false;
  t->kind = rel ? PKT_TIME_REL : PKT_TIME_ABS;
  if (is_punct(ps, '~')) {
    next(ps);
    if (rel && !eat_punct(ps, '+')) return false;
    if (!parse_seconds(ps, &t->us2)) return false;
    t->kind = rel ? PKT_TIME_RANGE_REL : PKT_TIME_RANGE_ABS;
    if (t->us2 < t->us) return perr_at(ps, cur(ps), "time range ends before it starts");
  }
  return true;
}

/* ---- expressions ---- */

static void expr_free(struct pkt_expr *e) {
  if (e == NULL) return;
  for (size_t i = 0; i < e->n_kids; i++) expr_free(e->kids[i]);
  free(e->kids);
  free(e->text);
  free(e);
}

static struct pkt_expr *expr_new(enum pkt_expr_kind kind, const struct pkt_token *at) {
  struct pkt_expr *e = calloc(1, sizeof *e);
  if (e == NULL) abort();
  e->kind = kind;
  e->line = at->line;
  e->col = at->col;
  return e;
}

static void expr_add(struct pkt_expr *e, struct pkt_expr *kid) {
  struct pkt_expr **k = realloc(e->kids, (e->n_kids + 1) * sizeof *k);
  if (k == NULL) abort();
  e->kids = k;
  e->kids[e->n_kids++] = kid;
}

static struct pkt_expr *parse_expr(struct parser *ps, int depth);

/* Comma-separated expressions up to the closing punctuation `close`, added to e. */
static bool parse_list(struct parser *ps, struct pkt_expr *e, char close, int depth) {
  if (is_punct(ps, close)) {
    next(ps);
    return true;
  }
  for (;;) {
    struct pkt_expr *k = parse_expr(ps, depth + 1);
    if (k == NULL) return false;
    expr_add(e, k);
    if (is_punct(ps, ',')) {
      next(ps);
      continue;
    }
    return eat_punct(ps, close);
  }
}

static struct pkt_expr *parse_primary(struct parser *ps, int depth) {
  const struct pkt_token *k = cur(ps);
  if (depth > 32) {
    perr_at(ps, k, "expression nested too deeply");
    return NULL;
  }
  struct pkt_expr *e = NULL;
  switch (k->kind) {
    case PKT_T_ELLIPSIS:
      next(ps);
      return expr_new(PKT_E_ELLIPSIS, k);
    case PKT_T_INT:
    case PKT_T_HEX:
      e = expr_new(PKT_E_INT, k);
      e->ival = k->ival;
      next(ps);
      return e;
    case PKT_T_STRING:
      e = expr_new(PKT_E_STRING, k);
      e->text = xstrdup(k->text);
      next(ps);
      if (cur(ps)->kind == PKT_T_ELLIPSIS) next(ps); /* STRING ELLIPSIS */
      return e;
    case PKT_T_WORD:
      next(ps);
      if (is_punct(ps, '(')) {
        e = expr_new(PKT_E_CALL, k);
        e->text = xstrdup(k->text);
        next(ps);
        if (!parse_list(ps, e, ')', depth)) goto fail;
        return e;
      }
      if (is_punct(ps, '=')) {
        e = expr_new(PKT_E_NAMED, k);
        e->text = xstrdup(k->text);
        next(ps);
        struct pkt_expr *v = parse_expr(ps, depth + 1);
        if (v == NULL) goto fail;
        expr_add(e, v);
        return e;
      }
      e = expr_new(PKT_E_WORD, k);
      e->text = xstrdup(k->text);
      return e;
    case PKT_T_PUNCT:
      if (k->punct == '[' || k->punct == '{') {
        e = expr_new(k->punct == '[' ? PKT_E_ARRAY : PKT_E_LIST, k);
        next(ps);
        if (!parse_list(ps, e, k->punct == '[' ? ']' : '}', depth)) goto fail;
        return e;
      }
      break;
    default:
      break;
  }
  expected(ps, "an expression");
  return NULL;
fail:
  expr_free(e);
  return NULL;
}

static struct pkt_expr *parse_expr(struct parser *ps, int depth) {
  struct pkt_expr *e = parse_primary(ps, depth);
  while (e != NULL && is_punct(ps, '|')) {
    const struct pkt_token *at = cur(ps);
    next(ps);
    struct pkt_expr *r = parse_primary(ps, depth + 1);
    if (r == NULL) {
      expr_free(e);
      return NULL;
    }
    struct pkt_expr *o = expr_new(PKT_E_OR, at);
    expr_add(o, e);
    expr_add(o, r);
    e = o;
  }
  return e;
}

/* ---- packets ---- */

static bool parse_flags(struct parser *ps, struct pkt_packet *p) {
  const struct pkt_token *k = cur(ps);
  if (is_punct(ps, '-')) {
    next(ps);
    return true;
  }
  if (is_punct(ps, '.')) {
    p->flags |= UTCP_TCP_ACK;
    next(ps);
    return true;
  }
  if (k->kind != PKT_T_WORD) return expected(ps, "TCP flags (S . P F R U E W or -)");
  if (strcasecmp(k->text, "udp") == 0 || strcasecmp(k->text, "icmp") == 0)
    return perr_at(ps, k, "unsupported: %s packets (utcp-sim pkt runs TCP scripts)", k->text);
  for (const char *c = k->text; *c; c++) {
    switch (*c) {
      case 'S': p->flags |= UTCP_TCP_SYN; break;
      case 'F': p->flags |= UTCP_TCP_FIN; break;
      case 'R': p->flags |= UTCP_TCP_RST; break;
      case 'P': p->flags |= UTCP_TCP_PSH; break;
      case 'U': p->flags |= UTCP_TCP_URG; break;
      case 'E': p->flags |= UTCP_TCP_ECE; break;
      case 'W': p->flags |= UTCP_TCP_CWR; break;
      default: return perr_at(ps, k, "unknown TCP flag '%c' in '%s'", *c, k->text);
    }
  }
  next(ps);
  if (is_punct(ps, '.')) {
    p->flags |= UTCP_TCP_ACK;
    next(ps);
  }
  return true;
}

static bool parse_tcp_option(struct parser *ps, struct pkt_packet *p) {
  const struct pkt_token *k = cur(ps);
  if (p->n_opts == PKT_MAX_OPTS) return perr_at(ps, k, "too many TCP options");
  struct pkt_tcpopt *o = &p->opts[p->n_opts];
  memset(o, 0, sizeof *o);
  if (k->kind != PKT_T_WORD) return expected(ps, "a TCP option");
  if (is_word(ps, "nop")) {
    o->kind = PKT_OPT_NOP;
    next(ps);
  } else if (is_word(ps, "eol")) {
    o->kind = PKT_OPT_EOL;
    next(ps);
  } else if (is_word(ps, "mss")) {
    o->kind = PKT_OPT_MSS;
    next(ps);
    if (!parse_u32(ps, &o->v1, "an MSS value")) return false;
    if (o->v1 > 65535) return perr_at(ps, k, "MSS out of range");
  } else if (is_word(ps, "wscale")) {
    o->kind = PKT_OPT_WSCALE;
    next(ps);
    if (!parse_u32(ps, &o->v1, "a window scale")) return false;
    if (o->v1 > 255) return perr_at(ps, k, "window scale out of range");
  } else if (is_word(ps, "sackOK")) {
    o->kind = PKT_OPT_SACKOK;
    next(ps);
  } else if (is_word(ps, "sack")) {
    o->kind = PKT_OPT_SACK;
    next(ps);
    while (cur(ps)->kind == PKT_T_INT) {
      if (o->n_sack == PKT_MAX_SACK) return perr_at(ps, cur(ps), "more than 4 SACK blocks");
      if (!parse_u32(ps, &o->sack[o->n_sack][0], "a SACK block start")) return false;
      if (!eat_punct(ps, ':')) return false;
      if (!parse_u32(ps, &o->sack[o->n_sack][1], "a SACK block end")) return false;
      o->n_sack++;
    }
    if (o->n_sack == 0) return expected(ps, "SACK blocks a:b");
  } else if (is_word(ps, "TS")) {
    o->kind = PKT_OPT_TS;
    next(ps);
    if (!is_word(ps, "val")) return expected(ps, "'val'");
    next(ps);
    if (!parse_u32(ps, &o->v1, "a TS value")) return false;
    if (!is_word(ps, "ecr")) return expected(ps, "'ecr'");
    next(ps);
    if (!parse_u32(ps, &o->v2, "a TS echo reply")) return false;
  } else {
    return perr_at(ps, k, "unsupported TCP option '%s'", k->text);
  }
  p->n_opts++;
  return true;
}

static bool parse_packet(struct parser *ps, struct pkt_packet *p) {
  memset(p, 0, sizeof *p);
  p->inbound = cur(ps)->punct == '<';
  next(ps);
  if (is_word(ps, "ipv4") || is_word(ps, "ipv6") || is_word(ps, "gre") || is_word(ps, "mpls"))
    return perr_at(ps, cur(ps), "unsupported: %s encapsulation", cur(ps)->text);
  if (is_punct(ps, '(') || is_punct(ps, '[')) {
    /* opt_ip_info (ECN, TOS, flow label, TTL): parsed and ignored. */
    char close = is_punct(ps, '(') ? ')' : ']';
    next(ps);
    while (!is_punct(ps, close)) {
      if (cur(ps)->kind == PKT_T_EOF) return expected(ps, "the end of the IP information");
      next(ps);
    }
    next(ps);
  }
  if (cur(ps)->kind == PKT_T_INT && ahead(ps, 1)->kind == PKT_T_PUNCT &&
      ahead(ps, 1)->punct == '>') {
    uint32_t a, b;
    if (!parse_u32(ps, &a, "a port")) return false;
    next(ps);
    if (!parse_u32(ps, &b, "a port")) return false;
    if (a == 0 || a > 65535 || b == 0 || b > 65535) return perr_at(ps, cur(ps), "bad port");
    p->has_ports = true;
    p->sport = (uint16_t)a;
    p->dport = (uint16_t)b;
  }
  if (!parse_flags(ps, p)) return false;
  const struct pkt_token *seq_at = cur(ps);
  if (!parse_u32(ps, &p->seq, "a sequence number start:end(length)")) return false;
  if (!eat_punct(ps, ':')) return false;
  if (!parse_u32(ps, &p->end, "a sequence number end")) return false;
  if (!eat_punct(ps, '(')) return false;
  if (!parse_u32(ps, &p->len, "a payload length")) return false;
  if (!eat_punct(ps, ')')) return false;
  if (p->end - p->seq != p->len)
    return perr_at(ps, seq_at, "inconsistent sequence range %u:%u(%u)", p->seq, p->end, p->len);
  if (p->len > 65000) return perr_at(ps, seq_at, "payload length %u too large", p->len);
  for (;;) {
    if (is_word(ps, "ack")) {
      next(ps);
      if (!parse_u32(ps, &p->ack, "an ack number")) return false;
      p->has_ack = true;
    } else if (is_word(ps, "win")) {
      next(ps);
      const struct pkt_token *at = cur(ps);
      if (!parse_u32(ps, &p->win, "a window")) return false;
      if (p->win > 65535) return perr_at(ps, at, "window %u does not fit 16 bits", p->win);
      p->has_win = true;
    } else if (is_word(ps, "urg")) {
      next(ps);
      if (!parse_u32(ps, &p->urg, "an urgent pointer")) return false;
      p->has_urg = true;
    } else {
      break;
    }
  }
  if (is_punct(ps, '<')) {
    next(ps);
    if (cur(ps)->kind == PKT_T_ELLIPSIS) {
      next(ps);
      p->opt_mode = PKT_OPTS_ANY;
    } else {
      p->opt_mode = PKT_OPTS_LIST;
      for (;;) {
        if (!parse_tcp_option(ps, p)) return false;
        if (is_punct(ps, ',')) {
          next(ps);
          continue;
        }
        break;
      }
    }
    if (!eat_punct(ps, '>')) return false;
  }
  return true;
}

/* ---- system calls ---- */

static void syscall_free(struct pkt_syscall *sc) {
  free(sc->name);
  for (size_t i = 0; i < sc->n_args; i++) expr_free(sc->args[i]);
  free(sc->args);
  expr_free(sc->ret);
  free(sc->errno_name);
  memset(sc, 0, sizeof *sc);
}

static bool parse_syscall(struct parser *ps, struct pkt_event *ev) {
  struct pkt_syscall *sc = &ev->sc;
  if (cur(ps)->kind == PKT_T_ELLIPSIS) {
    next(ps);
    sc->has_end = true;
    if (!parse_seconds(ps, &sc->end.us)) return false;
    sc->end.kind = (ev->time.kind == PKT_TIME_REL) ? PKT_TIME_REL : PKT_TIME_ABS;
    if (ev->time.kind == PKT_TIME_ANY || ev->time.kind == PKT_TIME_RANGE_ABS ||
        ev->time.kind == PKT_TIME_RANGE_REL)
      return perr_at(ps, cur(ps), "a blocking call needs a plain start time");
  }
  const struct pkt_token *name = cur(ps);
  if (name->kind != PKT_T_WORD) return expected(ps, "a packet, a system call or a command");
  sc->name = xstrdup(name->text);
  next(ps);
  if (!eat_punct(ps, '(')) return false;
  struct pkt_expr holder = {0};
  bool ok = parse_list(ps, &holder, ')', 0);
  sc->args = holder.kids;
  sc->n_args = holder.n_kids;
  if (!ok) return false;
  const struct pkt_token *eq = cur(ps);
  if (!eat_punct(ps, '=')) return false;
  sc->ret = parse_expr(ps, 0);
  if (sc->ret == NULL) return false;
  if (cur(ps)->kind == PKT_T_WORD && cur(ps)->line == eq->line) {
    sc->errno_name = xstrdup(cur(ps)->text);
    next(ps);
  }
  if (is_punct(ps, '(') && cur(ps)->line == eq->line) {
    /* A note: (Operation now in progress), (flags O_RDWR). */
    int depth = 0;
    do {
      if (cur(ps)->kind == PKT_T_EOF) return expected(ps, "')' closing the note");
      if (is_punct(ps, '(')) depth++;
      if (is_punct(ps, ')')) depth--;
      next(ps);
    } while (depth > 0);
  }
  return true;
}

/* ---- script ---- */

static void event_free(struct pkt_event *ev) {
  syscall_free(&ev->sc);
  free(ev->text);
}

void pkt_script_free(struct pkt_script *s) {
  for (size_t i = 0; i < s->n_opts; i++) {
    free(s->opts[i].name);
    free(s->opts[i].value);
  }
  free(s->opts);
  for (size_t i = 0; i < s->n_ev; i++) event_free(&s->ev[i]);
  free(s->ev);
  free(s->file);
  memset(s, 0, sizeof *s);
}

static struct pkt_event *add_event(struct pkt_script *s, size_t *cap) {
  if (s->n_ev == *cap) {
    *cap = *cap ? *cap * 2 : 32;
    struct pkt_event *v = realloc(s->ev, *cap * sizeof *v);
    if (v == NULL) abort();
    s->ev = v;
  }
  struct pkt_event *ev = &s->ev[s->n_ev++];
  memset(ev, 0, sizeof *ev);
  return ev;
}

bool pkt_parse(const char *file, const char *src, size_t len, struct pkt_script *out, char *err,
               size_t errlen) {
  memset(out, 0, sizeof *out);
  struct pkt_tokens toks;
  if (!pkt_lex(file, src, len, &toks, err, errlen)) return false;
  struct parser ps = {.file = file, .t = toks.v, .n = toks.n, .err = err, .errlen = errlen};
  out->file = xstrdup(file);
  size_t ev_cap = 0;
  while (cur(&ps)->kind == PKT_T_OPTION) {
    const struct pkt_token *k = cur(&ps);
    struct pkt_option *o = realloc(out->opts, (out->n_opts + 1) * sizeof *o);
    if (o == NULL) abort();
    out->opts = o;
    o = &out->opts[out->n_opts++];
    o->name = xstrdup(k->text);
    o->value = NULL;
    o->line = k->line;
    next(&ps);
    if (is_punct(&ps, '=')) {
      next(&ps);
      if (cur(&ps)->kind != PKT_T_STRING) {
        expected(&ps, "an option value");
        goto fail;
      }
      o->value = xstrdup(cur(&ps)->text);
      next(&ps);
    }
  }
  while (cur(&ps)->kind != PKT_T_EOF) {
    const struct pkt_token *k = cur(&ps);
    struct pkt_event *ev = add_event(out, &ev_cap);
    ev->line = k->line;
    ev->col = k->col;
    if (k->kind == PKT_T_OPTION) {
      perr_at(&ps, k, "options (--%s) must come before the first event", k->text);
      goto fail;
    }
    if (k->kind != PKT_T_BACKQUOTE && k->kind != PKT_T_CODE) {
      ev->has_time = true;
      if (!parse_time(&ps, &ev->time)) goto fail;
    }
    k = cur(&ps);
    if (k->kind == PKT_T_BACKQUOTE || k->kind == PKT_T_CODE) {
      ev->kind = k->kind == PKT_T_BACKQUOTE ? PKT_EV_COMMAND : PKT_EV_CODE;
      ev->text = xstrdup(k->text);
      next(&ps);
    } else if (k->kind == PKT_T_PUNCT && (k->punct == '<' || k->punct == '>')) {
      ev->kind = PKT_EV_PACKET;
      if (!parse_packet(&ps, &ev->pkt)) goto fail;
    } else {
      ev->kind = PKT_EV_SYSCALL;
      if (!parse_syscall(&ps, ev)) goto fail;
    }
  }
  pkt_tokens_free(&toks);
  return true;
fail:
  if (!ps.failed) snprintf(err, errlen, "%s: parse error", file);
  pkt_tokens_free(&toks);
  pkt_script_free(out);
  return false;
}

bool pkt_parse_file(const char *path, struct pkt_script *out, char *err, size_t errlen) {
  memset(out, 0, sizeof *out);
  FILE *f = fopen(path, "rb");
  if (f == NULL) {
    snprintf(err, errlen, "%s: cannot open", path);
    return false;
  }
  size_t cap = 4096, n = 0;
  char *buf = malloc(cap);
  if (buf == NULL) abort();
  size_t r;
  while ((r = fread(buf + n, 1, cap - n, f)) > 0) {
    n += r;
    if (n == cap) {
      if (cap >= (64u << 20)) {
        free(buf);
        fclose(f);
        snprintf(err, errlen, "%s: file too large", path);
        return false;
      }
      cap *= 2;
      char *b = realloc(buf, cap);
      if (b == NULL) abort();
      buf = b;
    }
  }
  fclose(f);
  bool ok = pkt_parse(path, buf, n, out, err, errlen);
  free(buf);
  return ok;
}
