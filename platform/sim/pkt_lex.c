/* Lexer for packetdrill-syntax scripts. */
#include <ctype.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "pkt.h"

struct lexer {
  const char *file;
  const char *p, *end;
  int line, col;
  char *err;
  size_t errlen;
  struct pkt_tokens *out;
};

static bool lex_error(struct lexer *lx, int line, int col, const char *fmt, ...) {
  int n = snprintf(lx->err, lx->errlen, "%s:%d:%d: ", lx->file, line, col);
  if (n < 0) n = 0;
  if ((size_t)n < lx->errlen) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(lx->err + n, lx->errlen - (size_t)n, fmt, ap);
    va_end(ap);
  }
  return false;
}

static int peekc(const struct lexer *lx, size_t ahead) {
  return lx->p + ahead < lx->end ? (unsigned char)lx->p[ahead] : -1;
}

static void adv(struct lexer *lx) {
  if (*lx->p == '\n') {
    lx->line++;
    lx->col = 1;
  } else {
    lx->col++;
  }
  lx->p++;
}

static struct pkt_token *push(struct lexer *lx, enum pkt_tok kind, int line, int col) {
  struct pkt_tokens *t = lx->out;
  if (t->n == t->cap) {
    size_t cap = t->cap ? t->cap * 2 : 256;
    struct pkt_token *v = realloc(t->v, cap * sizeof *v);
    if (v == NULL) abort();
    t->v = v;
    t->cap = cap;
  }
  struct pkt_token *k = &t->v[t->n++];
  memset(k, 0, sizeof *k);
  k->kind = kind;
  k->line = line;
  k->col = col;
  return k;
}

static char *dup_range(const char *a, size_t n) {
  char *s = malloc(n + 1);
  if (s == NULL) abort();
  memcpy(s, a, n);
  s[n] = '\0';
  return s;
}

/* A number: digits [. digits]{0,3}, stopping before "..". 0x... is hex. */
static bool lex_number(struct lexer *lx, bool neg, int line, int col) {
  const char *start = lx->p;
  if (peekc(lx, 0) == '0' && (peekc(lx, 1) == 'x' || peekc(lx, 1) == 'X')) {
    adv(lx);
    adv(lx);
    const char *h = lx->p;
    while (lx->p < lx->end && isxdigit((unsigned char)*lx->p)) adv(lx);
    if (lx->p == h) return lex_error(lx, line, col, "bad hex number");
    struct pkt_token *k = push(lx, PKT_T_HEX, line, col);
    k->ival = (int64_t)strtoull(h, NULL, 16);
    if (neg) k->ival = -k->ival;
    k->fval = (double)k->ival;
    return true;
  }
  int dots = 0;
  while (lx->p < lx->end) {
    if (isdigit((unsigned char)*lx->p)) {
      adv(lx);
    } else if (*lx->p == '.' && peekc(lx, 1) != '.' && dots < 3) {
      dots++;
      adv(lx);
    } else {
      break;
    }
  }
  if (lx->p < lx->end && (isalpha((unsigned char)*lx->p) || *lx->p == '_'))
    return lex_error(lx, line, col, "bad number '%.*s%c'", (int)(lx->p - start), start, *lx->p);
  size_t n = (size_t)(lx->p - start);
  char *text = dup_range(start, n);
  if (dots == 0) {
    struct pkt_token *k = push(lx, PKT_T_INT, line, col);
    k->ival = strtoll(text, NULL, 10);
    if (neg) k->ival = -k->ival;
    k->fval = (double)k->ival;
    free(text);
  } else if (dots == 1) {
    struct pkt_token *k = push(lx, PKT_T_FLOAT, line, col);
    k->fval = strtod(text, NULL);
    if (neg) k->fval = -k->fval;
    free(text);
  } else if (dots == 3 && !neg) {
    struct pkt_token *k = push(lx, PKT_T_IPV4, line, col);
    k->text = text;
  } else {
    free(text);
    return lex_error(lx, line, col, "bad number '%.*s'", (int)n, start);
  }
  return true;
}

bool pkt_lex(const char *file, const char *src, size_t len, struct pkt_tokens *out, char *err,
             size_t errlen) {
  struct lexer lx = {.file = file, .p = src, .end = src + len, .line = 1, .col = 1,
                     .err = err, .errlen = errlen, .out = out};
  memset(out, 0, sizeof *out);
  while (lx.p < lx.end) {
    int c = (unsigned char)*lx.p;
    int line = lx.line, col = lx.col;
    if (c == '\0') {
      lex_error(&lx, line, col, "NUL byte in script");
      goto fail;
    }
    if (isspace(c)) {
      adv(&lx);
      continue;
    }
    if (c == '/' && peekc(&lx, 1) == '/') {
      while (lx.p < lx.end && *lx.p != '\n') adv(&lx);
      continue;
    }
    if (c == '/' && peekc(&lx, 1) == '*') {
      adv(&lx);
      adv(&lx);
      while (lx.p < lx.end && !(*lx.p == '*' && peekc(&lx, 1) == '/')) adv(&lx);
      if (lx.p >= lx.end) {
        lex_error(&lx, line, col, "unterminated comment");
        goto fail;
      }
      adv(&lx);
      adv(&lx);
      continue;
    }
    if (c == '`') {
      adv(&lx);
      const char *s = lx.p;
      while (lx.p < lx.end && *lx.p != '`') adv(&lx);
      if (lx.p >= lx.end) {
        lex_error(&lx, line, col, "unterminated `command`");
        goto fail;
      }
      struct pkt_token *k = push(&lx, PKT_T_BACKQUOTE, line, col);
      k->text = dup_range(s, (size_t)(lx.p - s));
      adv(&lx);
      continue;
    }
    if (c == '%' && peekc(&lx, 1) == '{') {
      adv(&lx);
      adv(&lx);
      const char *s = lx.p;
      while (lx.p < lx.end && !(*lx.p == '}' && peekc(&lx, 1) == '%')) adv(&lx);
      if (lx.p >= lx.end) {
        lex_error(&lx, line, col, "unterminated %%{ code block");
        goto fail;
      }
      struct pkt_token *k = push(&lx, PKT_T_CODE, line, col);
      k->text = dup_range(s, (size_t)(lx.p - s));
      adv(&lx);
      adv(&lx);
      continue;
    }
    if (c == '"') {
      adv(&lx);
      size_t cap = 64, n = 0;
      char *buf = malloc(cap);
      if (buf == NULL) abort();
      while (lx.p < lx.end && *lx.p != '"' && *lx.p != '\n') {
        char ch = *lx.p;
        if (ch == '\\' && lx.p + 1 < lx.end) {
          adv(&lx);
          ch = *lx.p;
          ch = ch == 'n' ? '\n' : ch == 't' ? '\t' : ch == '0' ? '\0' : ch;
        }
        if (n + 1 >= cap) {
          cap *= 2;
          char *b = realloc(buf, cap);
          if (b == NULL) abort();
          buf = b;
        }
        buf[n++] = ch;
        adv(&lx);
      }
      if (lx.p >= lx.end || *lx.p != '"') {
        free(buf);
        lex_error(&lx, line, col, "unterminated string");
        goto fail;
      }
      adv(&lx);
      buf[n] = '\0';
      struct pkt_token *k = push(&lx, PKT_T_STRING, line, col);
      k->text = buf;
      continue;
    }
    if (c == '-' && peekc(&lx, 1) == '-' && peekc(&lx, 2) > 0 && isalpha(peekc(&lx, 2))) {
      adv(&lx);
      adv(&lx);
      const char *s = lx.p;
      while (lx.p < lx.end && (isalnum((unsigned char)*lx.p) || *lx.p == '_' || *lx.p == '-'))
        adv(&lx);
      struct pkt_token *k = push(&lx, PKT_T_OPTION, line, col);
      k->text = dup_range(s, (size_t)(lx.p - s));
      if (lx.p < lx.end && *lx.p == '=') {
        /* The value is raw text up to white space (quotes allowed): addresses, words, paths. */
        struct pkt_token *eq = push(&lx, PKT_T_PUNCT, lx.line, lx.col);
        eq->punct = '=';
        adv(&lx);
        int vline = lx.line, vcol = lx.col;
        bool quoted = lx.p < lx.end && *lx.p == '"';
        if (quoted) adv(&lx);
        const char *v = lx.p;
        while (lx.p < lx.end && (quoted ? *lx.p != '"' && *lx.p != '\n' : !isspace((unsigned char)*lx.p)))
          adv(&lx);
        struct pkt_token *val = push(&lx, PKT_T_STRING, vline, vcol);
        val->text = dup_range(v, (size_t)(lx.p - v));
        if (quoted) {
          if (lx.p >= lx.end || *lx.p != '"') {
            lex_error(&lx, vline, vcol, "unterminated string");
            goto fail;
          }
          adv(&lx);
        }
      }
      continue;
    }
    if (c == '.' && peekc(&lx, 1) == '.' && peekc(&lx, 2) == '.') {
      adv(&lx);
      adv(&lx);
      adv(&lx);
      push(&lx, PKT_T_ELLIPSIS, line, col);
      continue;
    }
    if (isdigit(c) || (c == '.' && peekc(&lx, 1) > 0 && isdigit(peekc(&lx, 1)))) {
      if (!lex_number(&lx, false, line, col)) goto fail;
      continue;
    }
    if (c == '-' && peekc(&lx, 1) > 0 && isdigit(peekc(&lx, 1))) {
      adv(&lx);
      if (!lex_number(&lx, true, line, col)) goto fail;
      continue;
    }
    if (isalpha(c) || c == '_') {
      const char *s = lx.p;
      while (lx.p < lx.end && (isalnum((unsigned char)*lx.p) || *lx.p == '_')) adv(&lx);
      struct pkt_token *k = push(&lx, PKT_T_WORD, line, col);
      k->text = dup_range(s, (size_t)(lx.p - s));
      continue;
    }
    if (strchr("+*~<>()[]{},:=|.-", c) != NULL) {
      struct pkt_token *k = push(&lx, PKT_T_PUNCT, line, col);
      k->punct = (char)c;
      adv(&lx);
      continue;
    }
    if (isprint(c)) {
      lex_error(&lx, line, col, "unexpected character '%c'", c);
    } else {
      lex_error(&lx, line, col, "unexpected byte 0x%02x", c);
    }
    goto fail;
  }
  push(&lx, PKT_T_EOF, lx.line, lx.col);
  return true;
fail:
  pkt_tokens_free(out);
  return false;
}

void pkt_tokens_free(struct pkt_tokens *t) {
  for (size_t i = 0; i < t->n; i++) free(t->v[i].text);
  free(t->v);
  memset(t, 0, sizeof *t);
}
