/* packetdrill-syntax scripts (*.pkt) for utcp: lexer, parser, script model and runner.
 * Written from the published grammar (packetdrill's syntax.md); no packetdrill code.
 *
 * pkt_lex.c    tokens with file/line/column
 * pkt_parse.c  tokens -> struct pkt_script (options, events, expressions)
 * pkt_run.c    runs one script against one utcp stack in virtual time, the script playing
 *              the remote peer; system calls map onto the core TCP API through a small fd table
 * pkt_main.c   `utcp-sim pkt FILE|DIR...`
 */
#ifndef UTCP_SIM_PKT_H
#define UTCP_SIM_PKT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* ---- lexer ---- */
enum pkt_tok {
  PKT_T_EOF = 0,
  PKT_T_INT,      /* decimal, maybe negative: ival */
  PKT_T_HEX,      /* 0x...: ival */
  PKT_T_FLOAT,    /* fval (also set for INT) */
  PKT_T_IPV4,     /* text */
  PKT_T_WORD,     /* text */
  PKT_T_STRING,   /* text (unescaped) */
  PKT_T_OPTION,   /* --name: text without the dashes */
  PKT_T_BACKQUOTE, /* `...`: text */
  PKT_T_CODE,     /* %{ ... }%: text */
  PKT_T_ELLIPSIS, /* ... */
  PKT_T_PUNCT,    /* one of + * ~ < > ( ) [ ] { } , : = | . - */
};

struct pkt_token {
  enum pkt_tok kind;
  char punct;
  int line, col;
  int64_t ival;
  double fval;
  char *text; /* owned; NULL for tokens without text */
};

struct pkt_tokens {
  struct pkt_token *v;
  size_t n, cap;
};

/* Splits src (len bytes, NUL not needed) into tokens; comments (// and / * * /) are skipped.
 * On error returns false and writes "file:line:col: message" into err. */
bool pkt_lex(const char *file, const char *src, size_t len, struct pkt_tokens *out, char *err,
             size_t errlen);
void pkt_tokens_free(struct pkt_tokens *t);

/* ---- expressions (system-call arguments and results) ---- */
enum pkt_expr_kind {
  PKT_E_ELLIPSIS, /* ... : don't care */
  PKT_E_INT,      /* ival */
  PKT_E_WORD,     /* symbol: text */
  PKT_E_STRING,   /* text */
  PKT_E_ARRAY,    /* [a, b] */
  PKT_E_LIST,     /* {a, b} or {name=a, ...} */
  PKT_E_NAMED,    /* name=value: text, kids[0] */
  PKT_E_OR,       /* a | b: kids[0], kids[1] */
  PKT_E_CALL,     /* name(args): htons(8080), inet_addr("..."): text, kids */
};

struct pkt_expr {
  enum pkt_expr_kind kind;
  int line, col;
  int64_t ival;
  char *text;
  struct pkt_expr **kids;
  size_t n_kids;
};

/* ---- script model ---- */
enum pkt_time_kind {
  PKT_TIME_ABS,   /* t */
  PKT_TIME_REL,   /* +t */
  PKT_TIME_ANY,   /* * */
  PKT_TIME_RANGE_ABS, /* a~b */
  PKT_TIME_RANGE_REL, /* +a~+b */
};

struct pkt_time {
  enum pkt_time_kind kind;
  int64_t us, us2;
};

enum pkt_opt_kind {
  PKT_OPT_NOP = 1,
  PKT_OPT_EOL,
  PKT_OPT_MSS,
  PKT_OPT_WSCALE,
  PKT_OPT_SACKOK,
  PKT_OPT_SACK,
  PKT_OPT_TS,
};

#define PKT_MAX_OPTS 16
#define PKT_MAX_SACK 4

struct pkt_tcpopt {
  enum pkt_opt_kind kind;
  uint32_t v1, v2;         /* mss / wscale / TS val, ecr */
  uint32_t sack[PKT_MAX_SACK][2];
  uint8_t n_sack;
};

/* TCP flag letters as in packetdrill: S . P F R U E W (and - for none). */
struct pkt_packet {
  bool inbound; /* '<': the script's peer sends it */
  bool has_ports;
  uint16_t sport, dport;
  uint8_t flags; /* UTCP_TCP_* bits */
  uint32_t seq, end, len;
  bool has_ack, has_win, has_urg;
  uint32_t ack, win, urg;
  enum { PKT_OPTS_NONE, PKT_OPTS_ANY, PKT_OPTS_LIST } opt_mode;
  struct pkt_tcpopt opts[PKT_MAX_OPTS];
  size_t n_opts;
};

struct pkt_syscall {
  char *name;
  struct pkt_expr **args;
  size_t n_args;
  bool has_end;
  struct pkt_time end; /* opt_end_time (ABS or REL) */
  struct pkt_expr *ret;
  char *errno_name; /* NULL when none */
};

enum pkt_event_kind { PKT_EV_PACKET, PKT_EV_SYSCALL, PKT_EV_COMMAND, PKT_EV_CODE };

struct pkt_event {
  enum pkt_event_kind kind;
  int line, col;
  bool has_time; /* commands may come without one */
  struct pkt_time time;
  struct pkt_packet pkt;
  struct pkt_syscall sc;
  char *text; /* command or code text */
};

struct pkt_option {
  char *name; /* without the dashes */
  char *value; /* NULL for a bare flag */
  int line;
};

struct pkt_script {
  char *file;
  struct pkt_option *opts;
  size_t n_opts;
  struct pkt_event *ev;
  size_t n_ev;
};

/* Parses a whole script. On error returns false with "file:line:col: message" in err; never
 * leaves anything allocated in *out then. */
bool pkt_parse(const char *file, const char *src, size_t len, struct pkt_script *out, char *err,
               size_t errlen);
/* Reads and parses a file. */
bool pkt_parse_file(const char *path, struct pkt_script *out, char *err, size_t errlen);
void pkt_script_free(struct pkt_script *s);

/* ---- runner ---- */
struct pkt_run_config {
  bool has_tolerance_usecs, has_tolerance_percent;
  int64_t tolerance_usecs;  /* default 4000 */
  double tolerance_percent; /* default 12.5: of the interval to the previous event */
  bool verbose;
  bool strict_segments;
  uint64_t seed;
};

void pkt_run_config_default(struct pkt_run_config *cfg);

/* Runs a parsed script; messages (warnings, the failure) go to `out`. Returns true when every
 * line passed. */
bool pkt_run(const struct pkt_script *script, const struct pkt_run_config *cfg, FILE *out);

/* Formats a script packet (decoded, as in the script's notation) into buf. */
void pkt_format_packet(const struct pkt_packet *p, char *buf, size_t len);

/* `utcp-sim pkt [options] FILE|DIR...` */
int sim_pkt_main(int argc, char **argv);
void sim_pkt_usage(FILE *out);

#endif
