/* script: the packetdrill-syntax parser of `utcp-sim pkt` (platform/sim/pkt_lex.c, pkt_parse.c,
 * pkt.h). Parse only: the script is never run.
 *
 * Input: u8 mode, then the text.
 *   mode bit 0: 0 a packetdrill script (pkt_parse); 1 a network-scenario file
 *               (sim_scenario_parse, platform/sim/scenario_parse.c)
 *   mode bit 7: the error buffer is (mode >> 1 & 63) + 1 bytes (truncation) instead of 512
 * The seeds start with '\n' (0x0a: a script) or '#' (0x23: a scenario), big error buffer, so
 * they stay readable text files.
 *
 * Checks:
 *  - the text lives in an exact-size heap copy without a terminating NUL, the error buffer in an
 *    exact-size heap block: ASan sees any read past the text or write past the buffer;
 *  - on failure the message is NUL-terminated and, when the buffer has room, names the file
 *    (`file:line:col: message` or `file: parse error`), and the script is left empty
 *    (pkt.h: nothing allocated); LeakSanitizer sees anything lost at exit;
 *  - on success the model keeps its bounds (options per packet, SACK blocks per option,
 *    seq:end(len) consistent), and parsing again gives the same model;
 *  - round trip: every packet the parser accepted, printed by pkt_format_packet (the runner's
 *    notation in failure messages) and parsed again as `0 <printed>`, gives the same packet;
 *  - scenarios: -1 leaves no scenario and a terminated message naming the file; 0 gives a
 *    scenario whose counts stay within their maxima, whose names are terminated, and whose
 *    host, link and workload indexes all point inside their tables (the runner trusts them). */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "platform/sim/pkt.h"
#include "platform/sim/scenario.h"

#define BIG_ERR 512

static bool same_packet(const struct pkt_packet *a, const struct pkt_packet *b) {
  if (a->inbound != b->inbound || a->has_ports != b->has_ports || a->flags != b->flags ||
      a->seq != b->seq || a->end != b->end || a->len != b->len || a->has_ack != b->has_ack ||
      a->has_win != b->has_win || a->has_urg != b->has_urg || a->opt_mode != b->opt_mode ||
      a->n_opts != b->n_opts)
    return false;
  if (a->has_ports && (a->sport != b->sport || a->dport != b->dport)) return false;
  if ((a->has_ack && a->ack != b->ack) || (a->has_win && a->win != b->win) ||
      (a->has_urg && a->urg != b->urg))
    return false;
  for (size_t i = 0; i < a->n_opts && a->opt_mode == PKT_OPTS_LIST; i++) {
    const struct pkt_tcpopt *x = &a->opts[i], *y = &b->opts[i];
    if (x->kind != y->kind) return false;
    switch (x->kind) {
      case PKT_OPT_MSS:
      case PKT_OPT_WSCALE:
        if (x->v1 != y->v1) return false;
        break;
      case PKT_OPT_TS:
        if (x->v1 != y->v1 || x->v2 != y->v2) return false;
        break;
      case PKT_OPT_SACK:
        if (x->n_sack != y->n_sack) return false;
        for (int k = 0; k < x->n_sack; k++)
          if (x->sack[k][0] != y->sack[k][0] || x->sack[k][1] != y->sack[k][1]) return false;
        break;
      default: break;
    }
  }
  return true;
}

static void check_packet(const struct pkt_packet *p) {
  if (p->n_opts > PKT_MAX_OPTS) fz_fail("script: %zu options in one packet", p->n_opts);
  if (p->end - p->seq != p->len) fz_fail("script: accepted %u:%u(%u)", p->seq, p->end, p->len);
  for (size_t i = 0; i < p->n_opts; i++)
    if (p->opts[i].kind == PKT_OPT_SACK && p->opts[i].n_sack > PKT_MAX_SACK)
      fz_fail("script: %u SACK blocks in one option", p->opts[i].n_sack);
  /* Round trip through the runner's notation. */
  static char text[4096];
  memcpy(text, "0 ", 2);
  pkt_format_packet(p, text + 2, sizeof text - 2);
  size_t n = strlen(text);
  if (n >= sizeof text - 1) return; /* truncated: nothing to compare */
  static char err[BIG_ERR];
  struct pkt_script again;
  memset(&again, 0, sizeof again);
  if (!pkt_parse("again", text, n, &again, err, sizeof err))
    fz_fail("script: the printed packet '%s' does not parse: %s", text, err);
  if (again.n_ev != 1 || again.ev[0].kind != PKT_EV_PACKET)
    fz_fail("script: the printed packet '%s' parses as %zu events", text, again.n_ev);
  if (!same_packet(p, &again.ev[0].pkt))
    fz_fail("script: the printed packet '%s' parses as a different packet", text);
  pkt_script_free(&again);
}

static void check_script(const struct pkt_script *s) {
  for (size_t i = 0; i < s->n_opts; i++)
    if (s->opts[i].name == NULL) fz_fail("script: option %zu without a name", i);
  for (size_t i = 0; i < s->n_ev; i++) {
    const struct pkt_event *ev = &s->ev[i];
    switch (ev->kind) {
      case PKT_EV_PACKET: check_packet(&ev->pkt); break;
      case PKT_EV_SYSCALL:
        if (ev->sc.name == NULL) fz_fail("script: system call without a name");
        if (ev->sc.n_args > 0 && ev->sc.args == NULL) fz_fail("script: arguments missing");
        break;
      case PKT_EV_COMMAND:
      case PKT_EV_CODE:
        if (ev->text == NULL) fz_fail("script: command without text");
        break;
      default: fz_fail("script: event kind %d", (int)ev->kind);
    }
  }
}

static bool same_script(const struct pkt_script *a, const struct pkt_script *b) {
  if (a->n_opts != b->n_opts || a->n_ev != b->n_ev) return false;
  for (size_t i = 0; i < a->n_ev; i++) {
    const struct pkt_event *x = &a->ev[i], *y = &b->ev[i];
    if (x->kind != y->kind || x->line != y->line || x->col != y->col ||
        x->has_time != y->has_time || x->time.kind != y->time.kind || x->time.us != y->time.us ||
        x->time.us2 != y->time.us2)
      return false;
    if (x->kind == PKT_EV_PACKET && !same_packet(&x->pkt, &y->pkt)) return false;
    if (x->kind == PKT_EV_SYSCALL &&
        (strcmp(x->sc.name, y->sc.name) != 0 || x->sc.n_args != y->sc.n_args))
      return false;
  }
  return true;
}

static void fuzz_pkt(const char *text, size_t len, char *err, size_t err_len) {
  struct pkt_script s, s2;
  memset(&s, 0, sizeof s);
  memset(&s2, 0, sizeof s2);
  if (err_len > 0) memset(err, 'x', err_len);
  bool ok = pkt_parse("fuzz.pkt", text, len, &s, err, err_len);
  if (!ok) {
    if (s.n_ev != 0 || s.ev != NULL || s.n_opts != 0 || s.opts != NULL || s.file != NULL)
      fz_fail("script: a failed parse left a script behind");
    if (err_len > 0 && memchr(err, '\0', err_len) == NULL)
      fz_fail("script: error message not terminated");
    if (err_len > sizeof "fuzz.pkt" && strncmp(err, "fuzz.pkt", 8) != 0)
      fz_fail("script: message '%s' does not name the file", err);
    return;
  }
  check_script(&s);
  if (!pkt_parse("fuzz.pkt", text, len, &s2, err, err_len))
    fz_fail("script: parsed once, not twice");
  if (!same_script(&s, &s2)) fz_fail("script: the same text parsed into two scripts");
  pkt_script_free(&s);
  pkt_script_free(&s2);
}

/* ---- network-scenario files (platform/sim/scenario_parse.c, docs/scenarios.md) ---- */

static void in_range(int idx, unsigned n, const char *what, unsigned line) {
  if (idx < -1 || (idx >= 0 && (unsigned)idx >= n))
    fz_fail("scenario: line %u: %s index %d of %u", line, what, idx, n);
}

static void check_name(const char *name, size_t cap, const char *what) {
  if (memchr(name, '\0', cap) == NULL) fz_fail("scenario: %s name not terminated", what);
}

static void check_scenario(const struct sim_scenario *sc) {
  if (sc->n_hosts > SIM_SCN_MAX_HOSTS || sc->n_switches > SIM_SCN_MAX_SWITCHES ||
      sc->n_links > SIM_SCN_MAX_LINKS || sc->n_work > SIM_SCN_MAX_WORK ||
      sc->n_faults > SIM_SCN_MAX_FAULTS || sc->n_expects > SIM_SCN_MAX_EXPECT)
    fz_fail("scenario: a count beyond its maximum");
  check_name(sc->file, sizeof sc->file, "file");
  check_name(sc->name, sizeof sc->name, "scenario");
  for (unsigned i = 0; i < sc->n_hosts; i++) {
    const struct sim_scn_host *h = &sc->hosts[i];
    check_name(h->name, sizeof h->name, "host");
    if (h->n_cfg > SIM_SCN_MAX_CFG) fz_fail("scenario: %u config keys", h->n_cfg);
    for (unsigned k = 0; k < h->n_cfg; k++) check_name(h->cfg[k], sizeof h->cfg[k], "config");
  }
  for (unsigned i = 0; i < sc->n_switches; i++)
    check_name(sc->switches[i], sizeof sc->switches[i], "switch");
  for (unsigned i = 0; i < sc->n_links; i++) {
    check_name(sc->links[i].a, sizeof sc->links[i].a, "link end");
    check_name(sc->links[i].b, sizeof sc->links[i].b, "link end");
  }
  for (unsigned i = 0; i < sc->n_work; i++) {
    const struct sim_scn_work *w = &sc->work[i];
    check_name(w->name, sizeof w->name, "workload");
    in_range(w->src, sc->n_hosts, "workload source", w->line);
    in_range(w->dst, sc->n_hosts, "workload destination", w->line);
    if (w->flows > SIM_SCN_MAX_FLOWS) fz_fail("scenario: %u flows", w->flows);
  }
  for (unsigned i = 0; i < sc->n_faults; i++) {
    const struct sim_scn_fault *f = &sc->faults[i];
    if (f->kind == SIM_SCN_LINK_DOWN || f->kind == SIM_SCN_LINK_UP || f->kind == SIM_SCN_LINK_SET)
      in_range(f->link, sc->n_links, "fault link", f->line);
    if (f->n_nodes > SIM_SCN_MAX_LIST) fz_fail("scenario: %u partition nodes", f->n_nodes);
    for (unsigned k = 0; k < f->n_nodes; k++) in_range(f->nodes[k], sc->n_hosts, "partition node", f->line);
    if (f->kind == SIM_SCN_DROP) in_range(f->work, sc->n_work, "drop workload", f->line);
  }
  for (unsigned i = 0; i < sc->n_expects; i++) {
    const struct sim_scn_expect *e = &sc->expects[i];
    check_name(e->counter, sizeof e->counter, "counter");
    check_name(e->text, sizeof e->text, "expectation text");
    if (e->n_works > SIM_SCN_MAX_LIST) fz_fail("scenario: %u workloads in one expectation", e->n_works);
    for (unsigned k = 0; k < e->n_works; k++) in_range(e->works[k], sc->n_work, "expected workload", e->line);
    if (e->metric == SIM_SCN_M_COUNTER || e->metric == SIM_SCN_M_MARK)
      in_range(e->host, sc->n_hosts, "expectation host", e->line);
    if (e->metric == SIM_SCN_M_UTIL) in_range(e->link, sc->n_links, "expectation link", e->line);
  }
}

static void fuzz_scenario(const char *text, size_t len, char *err, size_t err_len) {
  struct sim_scenario *sc = NULL;
  if (err_len > 0) memset(err, 'x', err_len);
  int rc = sim_scenario_parse("fuzz.scn", text, len, &sc, err, err_len);
  if (rc != 0 && rc != -1) fz_fail("scenario: returned %d", rc);
  if (rc == -1) {
    if (sc != NULL) fz_fail("scenario: a failed parse returned a scenario");
    if (err_len > 0 && memchr(err, '\0', err_len) == NULL)
      fz_fail("scenario: error message not terminated");
    if (err_len > sizeof "fuzz.scn" && strncmp(err, "fuzz.scn", 8) != 0)
      fz_fail("scenario: message '%s' does not name the file", err);
    return;
  }
  if (sc == NULL) fz_fail("scenario: parsed without a scenario");
  check_scenario(sc);
  sim_scenario_free(sc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size == 0) return 0;
  uint8_t m = data[0];
  size_t err_len = (m & 0x80) ? (size_t)(m >> 1 & 63) + 1 : BIG_ERR;
  size_t len = size - 1;
  char *text = malloc(len ? len : 1);
  char *err = malloc(err_len);
  if (text == NULL || err == NULL) fz_fail("out of memory");
  memcpy(text, data + 1, len);
  if ((m & 1) == 0) {
    fuzz_pkt(text, len, err, err_len);
  } else {
    fuzz_scenario(text, len, err, err_len);
  }
  free(text);
  free(err);
  return 0;
}
