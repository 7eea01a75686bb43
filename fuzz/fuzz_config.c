/* config: the `key = value` configuration readers (include/utcp/config.h, api/config.c) and the
 * runtime's reader built on them (include/utcp/runtime.h, api/rt_config.c).
 *
 * Input: u8 mode, then the text.
 *   mode bits 0-2: 0 utcp_config_parse(text)         1 utcp_config_set(text up to a NUL)
 *                  2 utcp_config_set_key(key, value): key up to the first NUL, value up to the
 *                    next                             3 utcp_rt_config_parse(text)
 *                  4 utcp_rt_config_overrides(text up to a NUL: "k=v;k=v")
 *                  5 utcp_rt_config_set(text up to a NUL)          6, 7: as 0
 *   mode bit 7: the error buffer is (mode >> 3 & 15) bytes (0..15: truncation) instead of 256.
 * The seeds start with a printable mode byte (' ' parse, '!' set, '"' set_key, '#' rt parse,
 * '$' rt overrides, '%' rt set) so that they stay readable text files.
 *
 * Checks:
 *  - the text lives in an exact-size heap copy without a terminating NUL, the error buffer in an
 *    exact-size heap block: ASan sees any read past the text or write past the buffer;
 *  - a call returns 0 or -1; on -1 the message is NUL-terminated inside the buffer and, when
 *    the buffer has room, starts with the name it was given (`name:line: what`);
 *  - the same call on a fresh default config gives the same result and the same config
 *    (byte for byte: no uninitialised or stale state);
 *  - a stack config that parsed and passes utcp_stack_config_check is one utcp_stack_new
 *    accepts (never UTCP_ERR_INVAL) with an allocator that refuses single blocks over 1 MiB
 *    and more than 16 MiB in all; on success or UTCP_ERR_NOMEM every byte comes back;
 *  - for the runtime reader, utcp_rt_config_check on the result returns 0 or -1 likewise. */
#include <stdlib.h>
#include <string.h>

#include "core/stack.h"
#include "fuzz.h"
#include "utcp/config.h"
#include "utcp/runtime.h"

#define BIG_ERR 256

struct cmem {
  size_t held;
};

static void *cmem_alloc(void *ctx, size_t size) {
  struct cmem *m = ctx;
  if (size > (1u << 20) || m->held + size > (16u << 20)) return NULL;
  void *p = calloc(1, size); /* core/env.h: zeroed */
  if (p != NULL) m->held += size;
  return p;
}

static void cmem_free(void *ctx, void *p, size_t size) {
  struct cmem *m = ctx;
  if (p == NULL) return;
  if (size > m->held) fz_fail("config: stack frees %zu bytes, holds %zu", size, m->held);
  m->held -= size;
  free(p);
}

static uint8_t sink_buf[16384];
static uint8_t *sink_alloc(void *ctx, size_t cap) {
  (void)ctx;
  return cap <= sizeof sink_buf ? sink_buf : NULL;
}
static void sink_commit(void *ctx, uint8_t *buf, size_t len) {
  (void)ctx;
  (void)buf;
  (void)len;
}

/* A config that the parser produced and the check accepts must build a stack. */
static void build_stack(const struct utcp_stack_config *cfg) {
  if (utcp_stack_config_check(cfg) != 0) return;
  struct cmem m = {0};
  struct utcp_mem mem = {.ctx = &m, .alloc = cmem_alloc, .free = cmem_free};
  struct utcp_tx_sink sink = {.ctx = NULL, .alloc = sink_alloc, .commit = sink_commit};
  struct utcp_stack *s = NULL;
  int rc = utcp_stack_new(cfg, &mem, &sink, 0, &s);
  if (rc == UTCP_ERR_INVAL)
    fz_fail("config: utcp_stack_config_check accepts a config that utcp_stack_new refuses");
  if (rc != 0 && rc != UTCP_ERR_NOMEM) fz_fail("config: utcp_stack_new returned %d", rc);
  if (rc == 0) {
    if (s == NULL) fz_fail("config: utcp_stack_new succeeded without a stack");
    utcp_stack_free(s);
  }
  if (m.held != 0) fz_fail("config: %zu bytes not given back (utcp_stack_new rc %d)", m.held, rc);
}

static void check_err(int rc, const char *err, size_t err_len, const char *name) {
  if (rc != 0 && rc != -1) fz_fail("config: returned %d", rc);
  if (rc == 0 || err_len == 0) return;
  if (memchr(err, '\0', err_len) == NULL) fz_fail("config: error message not terminated");
  size_t nl = strlen(name);
  if (err_len > nl + 1 && strncmp(err, name, nl) != 0)
    fz_fail("config: message '%s' does not start with '%s'", err, name);
}

/* Runs one reader call on a fresh default config; returns rc, fills *cfg / *rt. */
static int run_mode(int mode, const char *text, size_t len, const char *z, const char *z2,
                    struct utcp_stack_config *cfg, struct utcp_rt_config *rt, char *err,
                    size_t err_len) {
  memset(cfg, 0, sizeof *cfg);
  utcp_stack_config_default(cfg);
  memset(rt, 0, sizeof *rt);
  utcp_rt_config_default(rt);
  if (err_len > 0) memset(err, 'x', err_len);
  switch (mode) {
    case 1: return utcp_config_set(z, cfg, err, err_len);
    case 2: return utcp_config_set_key("k", 7, z, z2, cfg, err, err_len);
    case 3: return utcp_rt_config_parse("r.conf", text, len, rt, err, err_len);
    case 4: return utcp_rt_config_overrides(z, rt, err, err_len);
    case 5: return utcp_rt_config_set("cli", 3, z, rt, err, err_len);
    default: return utcp_config_parse("f.conf", text, len, cfg, err, err_len);
  }
}

static const char *mode_name(int mode) {
  switch (mode) {
    case 1: return "override";
    case 2: return "k";
    case 3: return "r.conf";
    case 4: return "UTCP_CONFIG";
    case 5: return "cli";
    default: return "f.conf";
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size == 0) return 0;
  uint8_t m = data[0];
  int mode = m & 7;
  size_t err_len = (m & 0x80) ? (size_t)(m >> 3 & 15) : BIG_ERR;
  size_t len = size - 1;
  /* The text without a terminator, exactly sized; NUL-terminated copies for the string APIs. */
  char *text = malloc(len ? len : 1);
  char *z = malloc(len + 2);
  char *err = malloc(err_len ? err_len : 1);
  if (text == NULL || z == NULL || err == NULL) fz_fail("out of memory");
  memcpy(text, data + 1, len);
  memcpy(z, data + 1, len);
  z[len] = '\0';
  z[len + 1] = '\0';
  const char *z2 = z + strlen(z) + 1; /* mode 2: the value after the key's NUL */
  if (z2 > z + len) z2 = z + len + 1;

  static struct utcp_stack_config cfg, cfg2;
  static struct utcp_rt_config rt, rt2;
  int rc = run_mode(mode, text, len, z, z2, &cfg, &rt, err, err_len);
  check_err(rc, err, err_len, mode_name(mode));
  int rc2 = run_mode(mode, text, len, z, z2, &cfg2, &rt2, err, err_len);
  if (rc2 != rc) fz_fail("config: the same input gave %d, then %d", rc, rc2);
  if (memcmp(&cfg, &cfg2, sizeof cfg) != 0 || memcmp(&rt, &rt2, sizeof rt) != 0)
    fz_fail("config: the same input gave two different configs");

  if (rc == 0) {
    bool rt_mode = mode >= 3 && mode <= 5;
    if (rt_mode) {
      int crc = utcp_rt_config_check(&rt, err, err_len);
      check_err(crc, err, err_len, "config");
      build_stack(&rt.ctx.stack);
    } else {
      build_stack(&cfg);
    }
  }
  free(text);
  free(z);
  free(err);
  return 0;
}
