/* The scenario-file parser (scenario.h, docs/scenarios.md). Pure: it reads only the bytes it
 * is given, allocates one struct sim_scenario, and reports the first error as
 * "file:line:col: message". Every statement is one line of whitespace-separated words. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "core/counters.h"
#include "scenario.h"
#include "utcp/config.h"

#define LINE_MAX_BYTES 1024
#define MAX_TOKENS 64

struct tok {
  const char *s; /* NUL-terminated copy inside the line buffer */
  unsigned col;  /* 1-based */
};

struct pctx {
  const char *file;
  unsigned line;
  unsigned eol_col; /* column just past the line's last byte */
  struct tok t[MAX_TOKENS];
  unsigned n;
  char buf[LINE_MAX_BYTES + 1];
  struct sim_scenario *sc;
  char *err;
  size_t err_len;
  bool have_seed, have_duration;
};

static int perr(struct pctx *p, unsigned col, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int perr(struct pctx *p, unsigned col, const char *fmt, ...) {
  char what[256];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(what, sizeof what, fmt, ap);
  va_end(ap);
  if (p->err != NULL && p->err_len > 0)
    snprintf(p->err, p->err_len, "%s:%u:%u: %s", p->file, p->line, col ? col : 1, what);
  return -1;
}

/* Column of token i, or the end of the line when the statement stopped short. */
static unsigned col_at(const struct pctx *p, unsigned i) {
  return i < p->n ? p->t[i].col : p->eol_col;
}

static const char *tok(const struct pctx *p, unsigned i) { return i < p->n ? p->t[i].s : NULL; }

static bool is(const struct pctx *p, unsigned i, const char *word) {
  return i < p->n && strcmp(p->t[i].s, word) == 0;
}

/* ---- values ---- */

static bool parse_uint(const char *s, uint64_t *out) {
  if (s == NULL || !isdigit((unsigned char)*s)) return false;
  char *end;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 10);
  if (errno || *end) return false;
  *out = v;
  return true;
}

/* A non-negative decimal number (digits, optional fraction) then a unit suffix in *unit. */
static bool split_number(const char *s, double *v, const char **unit) {
  const char *q = s;
  if (!isdigit((unsigned char)*q)) return false;
  while (isdigit((unsigned char)*q)) q++;
  if (*q == '.') {
    q++;
    if (!isdigit((unsigned char)*q)) return false;
    while (isdigit((unsigned char)*q)) q++;
  }
  if (q - s > 30) return false;
  char num[32];
  memcpy(num, s, (size_t)(q - s));
  num[q - s] = 0;
  *v = strtod(num, NULL);
  *unit = q;
  return isfinite(*v);
}

struct unit {
  const char *name;
  double mul;
};

static bool with_unit(const char *s, const struct unit *units, size_t n, bool bare_ok,
                      double *out) {
  double v;
  const char *u;
  if (!split_number(s, &v, &u)) return false;
  if (*u == 0) {
    if (!bare_ok) return false;
    *out = v;
    return true;
  }
  for (size_t i = 0; i < n; i++) {
    if (strcmp(u, units[i].name) == 0) {
      *out = v * units[i].mul;
      return true;
    }
  }
  return false;
}

static const struct unit time_units[] = {{"ns", 1}, {"us", 1e3}, {"ms", 1e6}, {"s", 1e9}};
static const struct unit size_units[] = {{"B", 1},
                                         {"k", 1e3},
                                         {"K", 1e3},
                                         {"KB", 1e3},
                                         {"M", 1e6},
                                         {"MB", 1e6},
                                         {"G", 1e9},
                                         {"GB", 1e9},
                                         {"Ki", 1024.0},
                                         {"KiB", 1024.0},
                                         {"Mi", 1048576.0},
                                         {"MiB", 1048576.0},
                                         {"Gi", 1073741824.0},
                                         {"GiB", 1073741824.0}};
static const struct unit rate_units[] = {{"bps", 1},    {"bit", 1},    {"kbps", 1e3}, {"kbit", 1e3},
                                         {"Kbit", 1e3}, {"Mbps", 1e6}, {"Mbit", 1e6}, {"mbit", 1e6},
                                         {"Gbps", 1e9}, {"Gbit", 1e9}, {"gbit", 1e9}};

#define NUNITS(a) (sizeof(a) / sizeof((a)[0]))

/* Time: 10ms, 1.5s, 250us, 7ns (a unit is required). At most about 11 days. */
static bool parse_time(const char *s, uint64_t *ns) {
  double v;
  if (!s || !with_unit(s, time_units, NUNITS(time_units), false, &v) || v > 1e15) return false;
  *ns = (uint64_t)(v + 0.5);
  return true;
}

static bool parse_size(const char *s, uint64_t *bytes) {
  double v;
  if (!s || !with_unit(s, size_units, NUNITS(size_units), true, &v) || v > 1e13) return false;
  *bytes = (uint64_t)(v + 0.5);
  return true;
}

static bool parse_rate(const char *s, uint64_t *bps) {
  double v;
  if (!s || !with_unit(s, rate_units, NUNITS(rate_units), false, &v) || v > 1e13) return false;
  *bps = (uint64_t)(v + 0.5);
  return true;
}

/* N/D, or N% (N/100), or a decimal fraction 0.xx (as N/1000000). */
static bool parse_prob(const char *s, struct sim_ratio *r) {
  if (s == NULL) return false;
  size_t n = strlen(s);
  if (n > 0 && s[n - 1] == '%') {
    double v;
    const char *u;
    if (!split_number(s, &v, &u) || strcmp(u, "%") != 0 || v > 100) return false;
    *r = (struct sim_ratio){(uint32_t)(v * 10000 + 0.5), 1000000};
    return true;
  }
  if (strchr(s, '/') != NULL) return sim_parse_ratio(s, r);
  double v;
  const char *u;
  if (!split_number(s, &v, &u) || *u || v > 1) return false;
  *r = (struct sim_ratio){(uint32_t)(v * 1000000 + 0.5), 1000000};
  return true;
}

static bool parse_ipv4(const char *s, uint32_t *ip) {
  unsigned a[4];
  char extra;
  if (s == NULL || sscanf(s, "%3u.%3u.%3u.%3u%c", &a[0], &a[1], &a[2], &a[3], &extra) != 4)
    return false;
  for (int i = 0; i < 4; i++)
    if (a[i] > 255 || !isdigit((unsigned char)s[0])) return false;
  *ip = a[0] << 24 | a[1] << 16 | a[2] << 8 | a[3];
  return true;
}

static bool valid_name(const char *s) {
  size_t n = strlen(s);
  if (n == 0 || n >= SIM_SCN_NAME_MAX || !isalpha((unsigned char)s[0])) return false;
  for (size_t i = 0; i < n; i++)
    if (!isalnum((unsigned char)s[i]) && s[i] != '_' && s[i] != '.') return false;
  return true;
}

/* ---- name lookups ---- */

static int find_host(const struct sim_scenario *sc, const char *name) {
  for (unsigned i = 0; name && i < sc->n_hosts; i++)
    if (strcmp(sc->hosts[i].name, name) == 0) return (int)i;
  return -1;
}

static int find_switch(const struct sim_scenario *sc, const char *name) {
  for (unsigned i = 0; name && i < sc->n_switches; i++)
    if (strcmp(sc->switches[i], name) == 0) return (int)i;
  return -1;
}

static int find_work(const struct sim_scenario *sc, const char *name) {
  for (unsigned i = 0; name && i < sc->n_work; i++)
    if (strcmp(sc->work[i].name, name) == 0) return (int)i;
  return -1;
}

/* "a-b" names the link a..b in the a->b direction (dir 0); "b-a" the same link b->a. */
static int find_link(const struct sim_scenario *sc, const char *name, int *dir) {
  if (name == NULL) return -1;
  for (unsigned i = 0; i < sc->n_links; i++) {
    const struct sim_scn_link *l = &sc->links[i];
    size_t na = strlen(l->a), nb = strlen(l->b);
    if (strlen(name) != na + nb + 1) continue;
    if (strncmp(name, l->a, na) == 0 && name[na] == '-' && strcmp(name + na + 1, l->b) == 0) {
      *dir = 0;
      return (int)i;
    }
    if (strncmp(name, l->b, nb) == 0 && name[nb] == '-' && strcmp(name + nb + 1, l->a) == 0) {
      *dir = 1;
      return (int)i;
    }
  }
  return -1;
}

static bool name_taken(const struct sim_scenario *sc, const char *name) {
  return find_host(sc, name) >= 0 || find_switch(sc, name) >= 0 || find_work(sc, name) >= 0;
}

/* ---- statements ---- */

/* Link parameters from tokens [i, n): `rate 100Mbit delay 25ms ...`. */
static int link_params(struct pctx *p, unsigned i, struct sim_link_params *lp, uint32_t *mask) {
  while (i < p->n) {
    const char *k = tok(p, i), *v = tok(p, i + 1);
    unsigned vc = col_at(p, i + 1);
    if (v == NULL) return perr(p, vc, "'%s' needs a value", k);
    bool ok;
    uint32_t bit;
    uint64_t x = 0;
    if (strcmp(k, "rate") == 0) {
      ok = parse_rate(v, &lp->rate_bps), bit = SIM_SCN_P_RATE;
      if (!ok) return perr(p, vc, "rate: want a number with bps, kbit, Mbit or Gbit, got '%s'", v);
    } else if (strcmp(k, "delay") == 0) {
      ok = parse_time(v, &lp->delay_ns) && lp->delay_ns <= 60 * SIM_NS_PER_S, bit = SIM_SCN_P_DELAY;
    } else if (strcmp(k, "jitter") == 0) {
      ok = parse_time(v, &lp->jitter_ns) && lp->jitter_ns <= 60 * SIM_NS_PER_S,
      bit = SIM_SCN_P_JITTER;
    } else if (strcmp(k, "reorder-delay") == 0) {
      ok = parse_time(v, &lp->reorder_delay_ns) && lp->reorder_delay_ns <= 60 * SIM_NS_PER_S,
      bit = SIM_SCN_P_REORDER_DELAY;
    } else if (strcmp(k, "queue") == 0) {
      ok = parse_size(v, &lp->queue_limit_bytes) && lp->queue_limit_bytes <= (1ull << 32),
      bit = SIM_SCN_P_QUEUE;
    } else if (strcmp(k, "mtu") == 0) {
      ok = parse_uint(v, &x) && x >= 68 && x <= 9000, bit = SIM_SCN_P_MTU;
      lp->mtu = (uint32_t)x;
    } else if (strcmp(k, "loss") == 0) {
      ok = parse_prob(v, &lp->loss), bit = SIM_SCN_P_LOSS;
    } else if (strcmp(k, "dup") == 0) {
      ok = parse_prob(v, &lp->dup), bit = SIM_SCN_P_DUP;
    } else if (strcmp(k, "reorder") == 0) {
      ok = parse_prob(v, &lp->reorder), bit = SIM_SCN_P_REORDER;
    } else if (strcmp(k, "corrupt") == 0) {
      ok = parse_prob(v, &lp->corrupt), bit = SIM_SCN_P_CORRUPT;
    } else {
      return perr(p, col_at(p, i),
                  "unknown link parameter '%s' (rate, delay, jitter, queue, mtu, loss, dup, "
                  "reorder, reorder-delay, corrupt)",
                  k);
    }
    if (!ok) return perr(p, vc, "%s: bad value '%s'", k, v);
    if (mask) *mask |= bit;
    i += 2;
  }
  return 0;
}

static int st_host(struct pctx *p) {
  struct sim_scenario *sc = p->sc;
  if (p->n < 3) return perr(p, col_at(p, p->n), "want: host NAME IP [key=value ...]");
  if (!valid_name(tok(p, 1))) return perr(p, col_at(p, 1), "bad name '%s'", tok(p, 1));
  if (name_taken(sc, tok(p, 1))) return perr(p, col_at(p, 1), "'%s' is already defined", tok(p, 1));
  if (sc->n_hosts == SIM_SCN_MAX_HOSTS) return perr(p, 1, "more than %d hosts", SIM_SCN_MAX_HOSTS);
  struct sim_scn_host *h = &sc->hosts[sc->n_hosts];
  memset(h, 0, sizeof *h);
  snprintf(h->name, sizeof h->name, "%s", tok(p, 1));
  if (!parse_ipv4(tok(p, 2), &h->ip) || h->ip == 0 || h->ip >= 0xe0000000u)
    return perr(p, col_at(p, 2), "'%s' is not a unicast IPv4 address", tok(p, 2));
  for (unsigned i = 0; i < sc->n_hosts; i++)
    if (sc->hosts[i].ip == h->ip)
      return perr(p, col_at(p, 2), "address used by host %s", sc->hosts[i].name);
  h->line = p->line;
  sc->n_hosts++;
  for (unsigned i = 3; i < p->n; i++) {
    /* key=value, one word each here (config lines allow spaces around '='). */
    const char *kv = tok(p, i);
    const char *eq = strchr(kv, '=');
    if (eq == NULL || eq == kv || eq[1] == 0)
      return perr(p, col_at(p, i), "want key=value, got '%s'", kv);
    if (h->n_cfg == SIM_SCN_MAX_CFG) return perr(p, col_at(p, i), "too many settings");
    if (strlen(kv) >= sizeof h->cfg[0]) return perr(p, col_at(p, i), "setting too long");
    struct utcp_stack_config scratch;
    utcp_stack_config_default(&scratch);
    char cerr[200];
    if (utcp_config_set(kv, &scratch, cerr, sizeof cerr) < 0) {
      const char *m = strstr(cerr, ": ");
      return perr(p, col_at(p, i), "%s", m ? m + 2 : cerr);
    }
    snprintf(h->cfg[h->n_cfg++], sizeof h->cfg[0], "%s", kv);
  }
  return 0;
}

/* config HOST|* key = value   (also key=value) */
static int st_config(struct pctx *p) {
  struct sim_scenario *sc = p->sc;
  if (p->n < 3) return perr(p, col_at(p, p->n), "want: config HOST|* key = value");
  bool all = is(p, 1, "*");
  int h = find_host(sc, tok(p, 1));
  if (!all && h < 0) return perr(p, col_at(p, 1), "unknown host '%s'", tok(p, 1));
  char kv[128] = "";
  /* The words joined by single blanks: values such as `arp = IP MAC` keep theirs. */
  for (unsigned i = 2; i < p->n; i++) {
    if (strlen(kv) + strlen(tok(p, i)) + 2 >= sizeof kv)
      return perr(p, col_at(p, i), "setting too long");
    if (i > 2) strcat(kv, " ");
    strcat(kv, tok(p, i));
  }
  const char *eq = strchr(kv, '=');
  size_t vlen = eq ? strspn(eq + 1, " ") : 0;
  if (eq == NULL || eq == kv || eq[1 + vlen] == 0) return perr(p, col_at(p, 2), "want key = value");
  if (strlen(kv) >= sizeof sc->hosts[0].cfg[0]) return perr(p, col_at(p, 2), "setting too long");
  struct utcp_stack_config scratch;
  utcp_stack_config_default(&scratch);
  char cerr[200];
  if (utcp_config_set(kv, &scratch, cerr, sizeof cerr) < 0) {
    const char *m = strstr(cerr, ": ");
    return perr(p, col_at(p, 2), "%s", m ? m + 2 : cerr);
  }
  for (unsigned i = 0; i < sc->n_hosts; i++) {
    if (!all && (int)i != h) continue;
    struct sim_scn_host *ho = &sc->hosts[i];
    if (ho->n_cfg == SIM_SCN_MAX_CFG)
      return perr(p, col_at(p, 2), "too many settings for %s", ho->name);
    memcpy(ho->cfg[ho->n_cfg++], kv, strlen(kv) + 1); /* fits: checked above */
  }
  return 0;
}

static int st_switch(struct pctx *p) {
  struct sim_scenario *sc = p->sc;
  if (p->n != 2) return perr(p, col_at(p, p->n < 2 ? p->n : 2), "want: switch NAME");
  if (!valid_name(tok(p, 1))) return perr(p, col_at(p, 1), "bad name '%s'", tok(p, 1));
  if (name_taken(sc, tok(p, 1))) return perr(p, col_at(p, 1), "'%s' is already defined", tok(p, 1));
  if (sc->n_switches == SIM_SCN_MAX_SWITCHES)
    return perr(p, 1, "more than %d switches", SIM_SCN_MAX_SWITCHES);
  snprintf(sc->switches[sc->n_switches++], SIM_SCN_NAME_MAX, "%s", tok(p, 1));
  return 0;
}

static bool host_has_link(const struct sim_scenario *sc, const char *name) {
  for (unsigned i = 0; i < sc->n_links; i++)
    if (strcmp(sc->links[i].a, name) == 0 || strcmp(sc->links[i].b, name) == 0) return true;
  return false;
}

static int st_link(struct pctx *p) {
  struct sim_scenario *sc = p->sc;
  if (p->n < 3) return perr(p, col_at(p, p->n), "want: link A B [rate R] [delay T] ...");
  if (sc->n_links == SIM_SCN_MAX_LINKS) return perr(p, 1, "more than %d links", SIM_SCN_MAX_LINKS);
  for (unsigned i = 1; i <= 2; i++) {
    const char *n = tok(p, i);
    if (find_host(sc, n) < 0 && find_switch(sc, n) < 0)
      return perr(p, col_at(p, i), "unknown host or switch '%s'", n);
    if (find_host(sc, n) >= 0 && host_has_link(sc, n))
      return perr(p, col_at(p, i), "host %s already has its link (one interface per host)", n);
  }
  if (strcmp(tok(p, 1), tok(p, 2)) == 0) return perr(p, col_at(p, 2), "a link needs two ends");
  int dir;
  char name[2 * SIM_SCN_NAME_MAX + 2];
  snprintf(name, sizeof name, "%s-%s", tok(p, 1), tok(p, 2));
  if (find_link(sc, name, &dir) >= 0) return perr(p, col_at(p, 1), "link %s already exists", name);
  struct sim_scn_link *l = &sc->links[sc->n_links];
  memset(l, 0, sizeof *l);
  snprintf(l->a, sizeof l->a, "%s", tok(p, 1));
  snprintf(l->b, sizeof l->b, "%s", tok(p, 2));
  sim_link_params_default(&l->p);
  l->line = p->line;
  if (link_params(p, 3, &l->p, NULL) < 0) return -1;
  sc->n_links++;
  return 0;
}

/* Options after the fixed words of a workload: `at T`, `port N`, plus kind-specific ones. */
static int st_work(struct pctx *p, enum sim_scn_work_kind kind) {
  struct sim_scenario *sc = p->sc;
  static const char *const usage[] = {
      "want: bulk NAME A -> B BYTES [both] [flows N] [at T] [port N] [nodelay]",
      "want: rr NAME A -> B REQ RESP [count K] [at T] [port N] [nodelay]",
      "want: churn NAME A -> B CONNS [msg SIZE] [concurrent] [at T] [port N] [nodelay]"};
  unsigned fixed = kind == SIM_SCN_RR ? 7 : 6;
  if (p->n < 5) return perr(p, col_at(p, p->n), "%s", usage[kind]);
  if (sc->n_work == SIM_SCN_MAX_WORK) return perr(p, 1, "more than %d workloads", SIM_SCN_MAX_WORK);
  if (!valid_name(tok(p, 1))) return perr(p, col_at(p, 1), "bad name '%s'", tok(p, 1));
  if (name_taken(sc, tok(p, 1))) return perr(p, col_at(p, 1), "'%s' is already defined", tok(p, 1));
  struct sim_scn_work *w = &sc->work[sc->n_work];
  memset(w, 0, sizeof *w);
  w->kind = kind;
  snprintf(w->name, sizeof w->name, "%s", tok(p, 1));
  w->src = find_host(sc, tok(p, 2));
  if (w->src < 0) return perr(p, col_at(p, 2), "unknown host '%s'", tok(p, 2));
  if (!is(p, 3, "->")) return perr(p, col_at(p, 3), "want '->' between the two hosts");
  w->dst = find_host(sc, tok(p, 4));
  if (w->dst < 0) return perr(p, col_at(p, 4), "unknown host '%s'", tok(p, 4));
  if (w->dst == w->src) return perr(p, col_at(p, 4), "a workload needs two different hosts");
  if (p->n < fixed) return perr(p, col_at(p, p->n), "%s", usage[kind]);
  w->port = (uint16_t)(5001 + sc->n_work);
  w->flows = 1;
  w->count = 1;
  w->msg = 64;
  w->line = p->line;
  uint64_t x;
  switch (kind) {
    case SIM_SCN_BULK:
      if (!parse_size(tok(p, 5), &w->bytes) || w->bytes == 0)
        return perr(p, col_at(p, 5), "bad byte count '%s'", tok(p, 5));
      break;
    case SIM_SCN_RR:
      if (!parse_size(tok(p, 5), &w->req) || w->req == 0 || w->req > (1ull << 30))
        return perr(p, col_at(p, 5), "bad request size '%s'", tok(p, 5));
      if (!parse_size(tok(p, 6), &w->resp) || w->resp == 0 || w->resp > (1ull << 30))
        return perr(p, col_at(p, 6), "bad response size '%s'", tok(p, 6));
      break;
    case SIM_SCN_CHURN:
      if (!parse_size(tok(p, 5), &w->conns) || w->conns == 0 || w->conns > 1000000)
        return perr(p, col_at(p, 5), "bad connection count '%s' (1..1000000)", tok(p, 5));
      break;
  }
  for (unsigned i = fixed; i < p->n; i++) {
    const char *k = tok(p, i);
    if (kind == SIM_SCN_BULK && strcmp(k, "both") == 0) {
      w->both = true;
      continue;
    }
    if (kind == SIM_SCN_CHURN && strcmp(k, "concurrent") == 0) {
      w->concurrent = true;
      continue;
    }
    if (strcmp(k, "nodelay") == 0) {
      w->nodelay = true;
      continue;
    }
    const char *v = tok(p, i + 1);
    unsigned vc = col_at(p, i + 1);
    if (strcmp(k, "at") == 0) {
      if (!parse_time(v, &w->start_ns)) return perr(p, vc, "bad time '%s'", v ? v : "");
    } else if (strcmp(k, "port") == 0) {
      if (!parse_uint(v, &x) || x == 0 || x > 65535)
        return perr(p, vc, "bad port '%s'", v ? v : "");
      w->port = (uint16_t)x;
    } else if (kind == SIM_SCN_BULK && strcmp(k, "flows") == 0) {
      if (!parse_uint(v, &x) || x == 0 || x > SIM_SCN_MAX_FLOWS)
        return perr(p, vc, "flows: want 1..%d", SIM_SCN_MAX_FLOWS);
      w->flows = (uint32_t)x;
    } else if (kind == SIM_SCN_RR && strcmp(k, "count") == 0) {
      if (!parse_uint(v, &x) || x == 0 || x > 1000000) return perr(p, vc, "count: want 1..1000000");
      w->count = x;
    } else if (kind == SIM_SCN_CHURN && strcmp(k, "msg") == 0) {
      if (!parse_size(v, &w->msg) || w->msg == 0 || w->msg > 16384)
        return perr(p, vc, "msg: want 1..16384 bytes");
    } else {
      return perr(p, col_at(p, i), "unknown option '%s'", k);
    }
    i++;
  }
  for (unsigned i = 0; i < sc->n_work; i++)
    if (sc->work[i].dst == w->dst && sc->work[i].port == w->port)
      return perr(p, 1, "port %u on %s is used by workload %s", w->port, sc->hosts[w->dst].name,
                  sc->work[i].name);
  sc->n_work++;
  return 0;
}

/* at T [for D] link L down|up|PARAM VALUE...
 * at T for D partition NODE...                                                     */
static int st_at(struct pctx *p) {
  struct sim_scenario *sc = p->sc;
  if (sc->n_faults == SIM_SCN_MAX_FAULTS)
    return perr(p, 1, "more than %d faults", SIM_SCN_MAX_FAULTS);
  struct sim_scn_fault *f = &sc->faults[sc->n_faults];
  memset(f, 0, sizeof *f);
  f->line = p->line;
  if (!parse_time(tok(p, 1), &f->at_ns))
    return perr(p, col_at(p, 1), "want a time after 'at' (10ms, 2s), got '%s'",
                tok(p, 1) ? tok(p, 1) : "");
  unsigned i = 2;
  if (is(p, i, "for")) {
    if (!parse_time(tok(p, i + 1), &f->dur_ns) || f->dur_ns == 0)
      return perr(p, col_at(p, i + 1), "want a duration after 'for'");
    i += 2;
  }
  if (is(p, i, "link")) {
    int dir;
    f->link = find_link(sc, tok(p, i + 1), &dir);
    if (f->link < 0)
      return perr(p, col_at(p, i + 1), "unknown link '%s' (links are named A-B)",
                  tok(p, i + 1) ? tok(p, i + 1) : "");
    i += 2;
    if (is(p, i, "down") || is(p, i, "up")) {
      f->kind = is(p, i, "down") ? SIM_SCN_LINK_DOWN : SIM_SCN_LINK_UP;
      if (f->kind == SIM_SCN_LINK_UP && f->dur_ns)
        return perr(p, col_at(p, 2), "'for' goes with 'down'");
      if (i + 1 < p->n) return perr(p, col_at(p, i + 1), "unexpected '%s'", tok(p, i + 1));
    } else {
      f->kind = SIM_SCN_LINK_SET;
      f->link_dir = -1;
      if (is(p, i, "dir")) {
        int d2;
        const char *v = tok(p, i + 1);
        if (find_link(sc, v, &d2) != f->link)
          return perr(p, col_at(p, i + 1), "dir: want A-B or B-A of this link");
        f->link_dir = d2;
        i += 2;
      }
      if (i >= p->n) return perr(p, col_at(p, i), "want down, up or link parameters");
      sim_link_params_default(&f->p);
      if (link_params(p, i, &f->p, &f->mask) < 0) return -1;
    }
  } else if (is(p, i, "partition")) {
    f->kind = SIM_SCN_PARTITION;
    if (f->dur_ns == 0) return perr(p, col_at(p, i), "partition needs 'for D'");
    if (i + 1 >= p->n) return perr(p, col_at(p, i + 1), "partition: name the hosts to cut off");
    for (unsigned j = i + 1; j < p->n; j++) {
      int h = find_host(sc, tok(p, j));
      if (h < 0) return perr(p, col_at(p, j), "unknown host '%s'", tok(p, j));
      if (f->n_nodes == SIM_SCN_MAX_LIST) return perr(p, col_at(p, j), "too many hosts");
      f->nodes[f->n_nodes++] = h;
    }
  } else {
    return perr(p, col_at(p, i), "want 'link' or 'partition' here");
  }
  sc->n_faults++;
  return 0;
}

/* drop WORK [reverse] segment N | segments K..M */
static bool parse_range(const char *s, uint64_t *a, uint64_t *b) {
  if (s == NULL) return false;
  const char *dots = strstr(s, "..");
  if (dots == NULL || dots - s > 30) return false;
  char left[32];
  memcpy(left, s, (size_t)(dots - s));
  left[dots - s] = 0;
  return parse_uint(left, a) && parse_uint(dots + 2, b) && *a <= *b;
}

static int st_drop(struct pctx *p) {
  struct sim_scenario *sc = p->sc;
  if (sc->n_faults == SIM_SCN_MAX_FAULTS)
    return perr(p, 1, "more than %d faults", SIM_SCN_MAX_FAULTS);
  struct sim_scn_fault *f = &sc->faults[sc->n_faults];
  memset(f, 0, sizeof *f);
  f->line = p->line;
  f->kind = SIM_SCN_DROP;
  f->work = find_work(sc, tok(p, 1));
  if (f->work < 0)
    return perr(p, col_at(p, 1), "unknown workload '%s'", tok(p, 1) ? tok(p, 1) : "");
  if (sc->work[f->work].kind == SIM_SCN_CHURN)
    return perr(p, col_at(p, 1), "drop needs a bulk or rr workload");
  unsigned i = 2;
  if (is(p, i, "reverse")) {
    f->reverse = true;
    i++;
  }
  if (is(p, i, "segment")) {
    if (!parse_uint(tok(p, i + 1), &f->first) || f->first == 0)
      return perr(p, col_at(p, i + 1), "want a segment number (1 is the first)");
    f->last = f->first;
  } else if (is(p, i, "segments")) {
    if (!parse_range(tok(p, i + 1), &f->first, &f->last) || f->first == 0)
      return perr(p, col_at(p, i + 1), "want K..M (1 is the first segment)");
  } else {
    return perr(p, col_at(p, i), "want 'segment N' or 'segments K..M'");
  }
  if (i + 2 < p->n) return perr(p, col_at(p, i + 2), "unexpected '%s'", tok(p, i + 2));
  sc->n_faults++;
  return 0;
}

/* ---- expectations ---- */

enum vkind { V_NUM, V_TIME, V_RATE, V_SIZE };

static bool parse_value(enum vkind k, const char *s, double *v) {
  if (s == NULL) return false;
  uint64_t x;
  switch (k) {
    case V_TIME:
      if (!parse_time(s, &x)) return false;
      *v = (double)x;
      return true;
    case V_RATE:
      if (!parse_rate(s, &x)) return false;
      *v = (double)x;
      return true;
    case V_SIZE:
      if (!parse_size(s, &x)) return false;
      *v = (double)x;
      return true;
    default: {
      const char *u;
      return split_number(s, v, &u) && *u == 0;
    }
  }
}

/* OP VALUE or `in A..B` starting at token i; must end the statement. */
static int parse_cmp(struct pctx *p, unsigned i, enum vkind k, struct sim_scn_expect *e) {
  static const struct {
    const char *s;
    enum sim_scn_op op;
  } ops[] = {{"==", SIM_SCN_EQ}, {"!=", SIM_SCN_NE}, {"<", SIM_SCN_LT},
             {"<=", SIM_SCN_LE}, {">", SIM_SCN_GT},  {">=", SIM_SCN_GE}};
  const char *o = tok(p, i);
  if (o == NULL) return perr(p, col_at(p, i), "want a comparison (== != < <= > >= or in A..B)");
  if (strcmp(o, "in") == 0) {
    const char *r = tok(p, i + 1);
    const char *dots = r ? strstr(r, "..") : NULL;
    char left[48];
    if (dots == NULL || (size_t)(dots - r) >= sizeof left)
      return perr(p, col_at(p, i + 1), "want A..B after 'in'");
    memcpy(left, r, (size_t)(dots - r));
    left[dots - r] = 0;
    if (!parse_value(k, left, &e->v) || !parse_value(k, dots + 2, &e->v2) || e->v > e->v2)
      return perr(p, col_at(p, i + 1), "bad range '%s'", r);
    e->op = SIM_SCN_IN;
  } else {
    bool found = false;
    for (size_t j = 0; j < sizeof ops / sizeof ops[0]; j++) {
      if (strcmp(o, ops[j].s) == 0) {
        e->op = ops[j].op;
        found = true;
      }
    }
    if (!found)
      return perr(p, col_at(p, i), "want a comparison (== != < <= > >= or in A..B), got '%s'", o);
    if (!parse_value(k, tok(p, i + 1), &e->v))
      return perr(p, col_at(p, i + 1), "bad %s '%s'",
                  k == V_TIME   ? "time"
                  : k == V_RATE ? "rate (e.g. 90Mbit)"
                  : k == V_SIZE ? "size"
                                : "number",
                  tok(p, i + 1) ? tok(p, i + 1) : "");
  }
  if (i + 2 < p->n) return perr(p, col_at(p, i + 2), "unexpected '%s'", tok(p, i + 2));
  return 0;
}

/* Optional `from T to T` at token *i. */
static int parse_window(struct pctx *p, unsigned *i, struct sim_scn_expect *e) {
  if (is(p, *i, "from")) {
    if (!parse_time(tok(p, *i + 1), &e->from_ns))
      return perr(p, col_at(p, *i + 1), "bad time after 'from'");
    *i += 2;
    if (!is(p, *i, "to")) return perr(p, col_at(p, *i), "want 'to T' after 'from T'");
    if (!parse_time(tok(p, *i + 1), &e->to_ns) || e->to_ns <= e->from_ns)
      return perr(p, col_at(p, *i + 1), "bad time after 'to' (after 'from')");
    *i += 2;
  }
  return 0;
}

static bool counter_known(const char *name) {
#define KNOWN_MIB(field, mib) \
  if (strcmp(name, #field) == 0 || strcmp(name, mib) == 0) return true;
  UTCP_MIB_LIST(KNOWN_MIB)
#undef KNOWN_MIB
  if (utcp_coverage_find(name) >= 0) return true;
  if (strncmp(name, "drop.", 5) == 0) {
    for (int d = 1; d < UTCP_DROP__COUNT; d++)
      if (strcmp(name + 5, utcp_drop_name((enum utcp_drop)d)) == 0) return true;
  }
  return strcmp(name, "tcp_rto_expired") == 0 || strcmp(name, "tcp_fast_retransmits") == 0;
}

static int work_arg(struct pctx *p, unsigned i, struct sim_scn_expect *e) {
  int w = find_work(p->sc, tok(p, i));
  if (w < 0) return perr(p, col_at(p, i), "unknown workload '%s'", tok(p, i) ? tok(p, i) : "");
  e->works[0] = w;
  e->n_works = 1;
  return 0;
}

static int st_expect(struct pctx *p) {
  struct sim_scenario *sc = p->sc;
  if (sc->n_expects == SIM_SCN_MAX_EXPECT)
    return perr(p, 1, "more than %d expectations", SIM_SCN_MAX_EXPECT);
  struct sim_scn_expect *e = &sc->expects[sc->n_expects];
  memset(e, 0, sizeof *e);
  e->line = p->line;
  {
    size_t off = 0;
    for (unsigned i = 1; i < p->n && off + 1 < sizeof e->text; i++) {
      int n = snprintf(e->text + off, sizeof e->text - off, "%s%s", i > 1 ? " " : "", tok(p, i));
      if (n < 0) break;
      off += (size_t)n;
      if (off >= sizeof e->text) off = sizeof e->text - 1;
    }
  }
  const char *m = tok(p, 1);
  if (m == NULL)
    return perr(p, col_at(p, 1), "want what to expect (counter, mark, done, goodput, ...)");
  unsigned i;
  if (strcmp(m, "counter") == 0 || strcmp(m, "mark") == 0) {
    e->metric = m[0] == 'c' ? SIM_SCN_M_COUNTER : SIM_SCN_M_MARK;
    e->host = find_host(sc, tok(p, 2));
    if (e->host < 0) return perr(p, col_at(p, 2), "unknown host '%s'", tok(p, 2) ? tok(p, 2) : "");
    const char *c = tok(p, 3);
    if (c == NULL || strlen(c) >= sizeof e->counter)
      return perr(p, col_at(p, 3), "want a counter name");
    if (e->metric == SIM_SCN_M_MARK ? utcp_coverage_find(c) < 0 : !counter_known(c))
      return perr(p, col_at(p, 3), "unknown %s '%s'",
                  e->metric == SIM_SCN_M_MARK ? "coverage mark" : "counter", c);
    snprintf(e->counter, sizeof e->counter, "%s", c);
    if (e->metric == SIM_SCN_M_MARK) {
      if (p->n > 4) return perr(p, col_at(p, 4), "unexpected '%s'", tok(p, 4));
      e->op = SIM_SCN_GE;
      e->v = 1;
    } else if (parse_cmp(p, 4, V_NUM, e) < 0) {
      return -1;
    }
  } else if (strcmp(m, "bytes") == 0) {
    e->metric = SIM_SCN_M_BYTES;
    if (work_arg(p, 2, e) < 0) return -1;
    if (parse_cmp(p, 3, V_SIZE, e) < 0) return -1;
  } else if (strcmp(m, "done") == 0) {
    e->metric = SIM_SCN_M_DONE;
    if (work_arg(p, 2, e) < 0) return -1;
    if (!is(p, 3, "by") || !parse_time(tok(p, 4), &e->by_ns))
      return perr(p, col_at(p, 3), "want: expect done WORK by T");
    if (p->n > 5) return perr(p, col_at(p, 5), "unexpected '%s'", tok(p, 5));
  } else if (strcmp(m, "goodput") == 0 || strcmp(m, "fairness") == 0 || strcmp(m, "mathis") == 0) {
    e->metric = m[0] == 'g'   ? SIM_SCN_M_GOODPUT
                : m[0] == 'f' ? SIM_SCN_M_FAIRNESS
                              : SIM_SCN_M_MATHIS;
    i = 2;
    /* one workload, or for fairness a comma-separated list of them */
    const char *list = tok(p, i);
    if (list == NULL) return perr(p, col_at(p, i), "want a workload name");
    char buf[SIM_SCN_MAX_LIST * SIM_SCN_NAME_MAX];
    snprintf(buf, sizeof buf, "%s", list);
    char *save = NULL;
    for (char *w = strtok_r(buf, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
      int k = find_work(sc, w);
      if (k < 0) return perr(p, col_at(p, i), "unknown workload '%s'", w);
      if (e->n_works == SIM_SCN_MAX_LIST || (e->n_works > 0 && e->metric != SIM_SCN_M_FAIRNESS))
        return perr(p, col_at(p, i), "too many workloads");
      e->works[e->n_works++] = k;
    }
    if (e->n_works == 0) return perr(p, col_at(p, i), "want a workload name");
    i++;
    if (e->metric == SIM_SCN_M_MATHIS) {
      if (!is(p, i, "loss") || !parse_prob(tok(p, i + 1), &e->loss) || e->loss.num == 0)
        return perr(p, col_at(p, i), "want: expect mathis WORK loss P rtt T [from T to T] OP X");
      i += 2;
      if (!is(p, i, "rtt") || !parse_time(tok(p, i + 1), &e->rtt_ns) || e->rtt_ns == 0)
        return perr(p, col_at(p, i), "want: rtt T");
      i += 2;
    }
    if (parse_window(p, &i, e) < 0) return -1;
    if (parse_cmp(p, i, e->metric == SIM_SCN_M_GOODPUT ? V_RATE : V_NUM, e) < 0) return -1;
  } else if (strcmp(m, "utilisation") == 0 || strcmp(m, "utilization") == 0) {
    e->metric = SIM_SCN_M_UTIL;
    e->link = find_link(sc, tok(p, 2), &e->link_dir);
    if (e->link < 0)
      return perr(p, col_at(p, 2), "unknown link '%s' (A-B)", tok(p, 2) ? tok(p, 2) : "");
    i = 3;
    if (parse_window(p, &i, e) < 0) return -1;
    if (parse_cmp(p, i, V_NUM, e) < 0) return -1;
  } else if (strcmp(m, "recovery") == 0 || strcmp(m, "reduction") == 0 ||
             strcmp(m, "retransmits") == 0) {
    e->metric = m[2] == 'c'   ? SIM_SCN_M_RECOVERY
                : m[2] == 'd' ? SIM_SCN_M_REDUCTION
                              : SIM_SCN_M_RETRANS;
    if (work_arg(p, 2, e) < 0) return -1;
    i = 3;
    if (e->metric == SIM_SCN_M_RECOVERY) {
      if (!is(p, i, "rtts")) return perr(p, col_at(p, i), "want: expect recovery WORK rtts OP X");
      i++;
    }
    if (parse_cmp(p, i, V_NUM, e) < 0) return -1;
  } else if (strcmp(m, "response") == 0) {
    e->metric = SIM_SCN_M_RESPONSE;
    if (work_arg(p, 2, e) < 0) return -1;
    if (sc->work[e->works[0]].kind != SIM_SCN_RR)
      return perr(p, col_at(p, 2), "response needs an rr workload");
    i = 3;
    if (is(p, i, "rtts")) {
      e->in_rtts = true;
      i++;
    }
    if (parse_cmp(p, i, e->in_rtts ? V_NUM : V_TIME, e) < 0) return -1;
  } else {
    return perr(p, col_at(p, 1),
                "unknown expectation '%s' (counter, mark, bytes, done, goodput, utilisation, "
                "recovery, reduction, retransmits, fairness, response, mathis)",
                m);
  }
  sc->n_expects++;
  return 0;
}

static int statement(struct pctx *p) {
  const char *w = tok(p, 0);
  struct sim_scenario *sc = p->sc;
  if (strcmp(w, "scenario") == 0) {
    if (p->n < 2) return perr(p, col_at(p, 1), "want: scenario NAME");
    size_t off = 0;
    for (unsigned i = 1; i < p->n; i++) {
      int n = snprintf(sc->name + off, sizeof sc->name - off, "%s%s", i > 1 ? " " : "", tok(p, i));
      if (n < 0 || (size_t)n >= sizeof sc->name - off) break;
      off += (size_t)n;
    }
    return 0;
  }
  if (strcmp(w, "seed") == 0) {
    if (p->n != 2 || !parse_uint(tok(p, 1), &sc->seed))
      return perr(p, col_at(p, 1), "want: seed N");
    p->have_seed = true;
    return 0;
  }
  if (strcmp(w, "duration") == 0) {
    if (p->n != 2 || !parse_time(tok(p, 1), &sc->duration_ns) || sc->duration_ns == 0 ||
        sc->duration_ns > 100000 * SIM_NS_PER_S)
      return perr(p, col_at(p, 1), "want: duration T (up to 100000s)");
    p->have_duration = true;
    return 0;
  }
  if (strcmp(w, "host") == 0) return st_host(p);
  if (strcmp(w, "config") == 0) return st_config(p);
  if (strcmp(w, "switch") == 0) return st_switch(p);
  if (strcmp(w, "link") == 0) return st_link(p);
  if (strcmp(w, "bulk") == 0) return st_work(p, SIM_SCN_BULK);
  if (strcmp(w, "rr") == 0) return st_work(p, SIM_SCN_RR);
  if (strcmp(w, "churn") == 0) return st_work(p, SIM_SCN_CHURN);
  if (strcmp(w, "at") == 0) return st_at(p);
  if (strcmp(w, "drop") == 0) return st_drop(p);
  if (strcmp(w, "expect") == 0) return st_expect(p);
  return perr(p, 1,
              "unknown statement '%s' (scenario, seed, duration, host, config, switch, link, bulk, "
              "rr, churn, at, drop, expect)",
              w);
}

/* Whole-file checks once every line is read. */
static int finish(struct pctx *p) {
  struct sim_scenario *sc = p->sc;
  p->eol_col = 1;
  for (unsigned i = 0; i < sc->n_hosts; i++) {
    if (!host_has_link(sc, sc->hosts[i].name)) {
      p->line = sc->hosts[i].line;
      return perr(p, 1, "host %s has no link", sc->hosts[i].name);
    }
  }
  if (sc->n_work == 0) {
    p->line = p->line ? p->line : 1;
    return perr(p, 1, "no workload (bulk, rr or churn)");
  }
  for (unsigned i = 0; i < sc->n_work; i++) {
    if (sc->work[i].start_ns >= sc->duration_ns) {
      p->line = sc->work[i].line;
      return perr(p, 1, "workload %s starts after the duration", sc->work[i].name);
    }
  }
  return 0;
}

int sim_scenario_parse(const char *file, const char *text, size_t len, struct sim_scenario **out,
                       char *err, size_t err_len) {
  if (err && err_len) err[0] = 0;
  if (out == NULL || (text == NULL && len > 0)) return -1;
  *out = NULL;
  struct pctx *p = calloc(1, sizeof *p);
  struct sim_scenario *sc = calloc(1, sizeof *sc);
  if (p == NULL || sc == NULL) {
    free(p);
    free(sc);
    if (err && err_len) snprintf(err, err_len, "%s:1:1: out of memory", file ? file : "?");
    return -1;
  }
  p->file = file ? file : "<scenario>";
  p->sc = sc;
  p->err = err;
  p->err_len = err_len;
  snprintf(sc->file, sizeof sc->file, "%s", p->file);
  sc->seed = 1;
  sc->duration_ns = 60 * SIM_NS_PER_S;
  int rc = 0;
  size_t i = 0;
  while (i < len && rc == 0) {
    size_t start = i;
    while (i < len && text[i] != '\n') i++;
    size_t n = i - start;
    if (i < len) i++;
    p->line++;
    if (n > LINE_MAX_BYTES) {
      rc = perr(p, LINE_MAX_BYTES + 1, "line longer than %d bytes", LINE_MAX_BYTES);
      break;
    }
    memcpy(p->buf, text + start, n);
    p->buf[n] = 0;
    if (n > 0 && p->buf[n - 1] == '\r') p->buf[--n] = 0;
    p->n = 0;
    p->eol_col = (unsigned)n + 1;
    for (size_t k = 0; k < n; k++) {
      unsigned char ch = (unsigned char)p->buf[k];
      if (ch == '#') {
        p->buf[k] = 0;
        p->eol_col = (unsigned)k + 1;
        break;
      }
      if (ch == 0 || (ch < 0x20 && ch != '\t') || ch >= 0x7f) {
        rc = perr(p, (unsigned)k + 1, "unexpected byte 0x%02x", ch);
        break;
      }
    }
    if (rc) break;
    /* Split into words in place. */
    size_t end = strlen(p->buf);
    for (size_t k = 0; k < end;) {
      while (k < end && (p->buf[k] == ' ' || p->buf[k] == '\t')) p->buf[k++] = 0;
      if (k >= end) break;
      if (p->n == MAX_TOKENS) {
        rc = perr(p, (unsigned)k + 1, "more than %d words on a line", MAX_TOKENS);
        break;
      }
      p->t[p->n].s = p->buf + k;
      p->t[p->n].col = (unsigned)k + 1;
      p->n++;
      while (k < end && p->buf[k] != ' ' && p->buf[k] != '\t') k++;
    }
    if (rc || p->n == 0) continue;
    rc = statement(p);
  }
  if (rc == 0) rc = finish(p);
  free(p);
  if (rc < 0) {
    free(sc);
    return -1;
  }
  *out = sc;
  return 0;
}

void sim_scenario_free(struct sim_scenario *sc) { free(sc); }
