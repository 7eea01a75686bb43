/* Scenarios runnable from the utcp-sim command line. Each takes the arguments after its
 * subcommand name (argv[0] is the subcommand) and returns the process exit status:
 * 0 success, 1 the run failed its expectations, 2 usage error. */
#ifndef UTCP_PLATFORM_SIM_SCENARIO_H
#define UTCP_PLATFORM_SIM_SCENARIO_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "sim.h"

/* `utcp-sim ping`: hosts on a switch ping each other through lossy links (ping.c). */
int sim_ping_main(int argc, char **argv);
/* Prints the options of `utcp-sim ping`. */
void sim_ping_usage(FILE *out);
/* `utcp-sim transfer`: a bulk transfer between two stacks over a faulty link (transfer.c). */
int sim_transfer_main(int argc, char **argv);
/* The same run, reporting to `out` instead of stdout (the wire checker and failing
 * connections still write to stderr/stdout) and storing its trace hash in *trace_hash (if
 * not NULL; left alone on a usage error). Returns the exit status. */
int sim_transfer_run(int argc, char **argv, FILE *out, uint64_t *trace_hash);
/* `utcp-sim swarm --seeds A..B transfer`: transfers with settings drawn from each seed
 * (swarm.c). */
int sim_swarm_main(int argc, char **argv);
void sim_swarm_usage(FILE *out);
/* `utcp-sim churn`: many short connections, sequential or concurrent (transfer.c). */
int sim_churn_main(int argc, char **argv);
/* Prints the options of `utcp-sim transfer` and `utcp-sim churn`. */
void sim_transfer_usage(FILE *out);

/* A decimal uint64 (no sign, no trailing bytes). */
bool sim_parse_u64(const char *s, uint64_t *out);
/* "N/D" or "N" (= N/1) with N <= D, D > 0 and D < 2^32. */
bool sim_parse_ratio(const char *s, struct sim_ratio *out);

/* The link options `utcp-sim transfer`, `churn` and `apps` share: --delay-ms, --jitter-ms,
 * --rate-mbps, --queue-kb, --reorder-ms, --loss, --dup, --reorder, --corrupt. */
struct sim_link_opts {
  uint64_t delay_ms, jitter_ms, rate_mbps, queue_kb, reorder_ms;
  struct sim_ratio loss, dup, reorder, corrupt;
};
/* 1: opt is one of them and val parsed into l; 0: one of them with a bad or missing value;
 * -1: not a link option. */
int sim_link_opts_parse(struct sim_link_opts *l, const char *opt, const char *val);
/* Link parameters (sim_link_params_default, then these options). */
void sim_link_opts_params(const struct sim_link_opts *l, struct sim_link_params *lp);

/* ======================================================================================
 * Scenario files (*.scn): docs/scenarios.md describes the language.
 * scenario_parse.c parses (pure: no I/O, no globals, any bytes give a result or an error);
 * scenario_run.c builds the network, runs it and checks the expectations.
 * ====================================================================================== */

#define SIM_SCN_NAME_MAX 32
#define SIM_SCN_MAX_HOSTS 64
#define SIM_SCN_MAX_SWITCHES 16
#define SIM_SCN_MAX_LINKS 128
#define SIM_SCN_MAX_WORK 64
#define SIM_SCN_MAX_FAULTS 256
#define SIM_SCN_MAX_EXPECT 256
#define SIM_SCN_MAX_CFG 32      /* config keys per host */
#define SIM_SCN_MAX_FLOWS 64    /* parallel connections of one bulk workload */
#define SIM_SCN_MAX_LIST 16     /* nodes of a partition, workloads of a fairness */

struct sim_scn_host {
  char name[SIM_SCN_NAME_MAX];
  uint32_t ip;
  unsigned line;
  unsigned n_cfg;
  char cfg[SIM_SCN_MAX_CFG][96]; /* "key=value", applied with utcp_config_set */
};

struct sim_scn_link {
  char a[SIM_SCN_NAME_MAX], b[SIM_SCN_NAME_MAX]; /* node or switch names; "a-b" names it */
  struct sim_link_params p;                       /* both directions */
  unsigned line;
};

enum sim_scn_work_kind { SIM_SCN_BULK, SIM_SCN_RR, SIM_SCN_CHURN };

struct sim_scn_work {
  enum sim_scn_work_kind kind;
  char name[SIM_SCN_NAME_MAX];
  int src, dst; /* host indexes: src opens the connections */
  uint16_t port;
  uint64_t start_ns;
  uint64_t bytes; /* bulk: per direction */
  bool both;      /* bulk: each way */
  uint32_t flows; /* bulk: parallel connections */
  uint64_t req, resp, count; /* rr: sizes, exchanges on one connection */
  uint64_t conns, msg;       /* churn */
  bool concurrent;           /* churn */
  bool nodelay;              /* TCP_NODELAY on both ends (no Nagle, RFC 1122 4.2.3.4) */
  unsigned line;
};

/* Which link parameters a fault sets (bits). */
enum {
  SIM_SCN_P_RATE = 1u << 0,
  SIM_SCN_P_DELAY = 1u << 1,
  SIM_SCN_P_JITTER = 1u << 2,
  SIM_SCN_P_QUEUE = 1u << 3,
  SIM_SCN_P_MTU = 1u << 4,
  SIM_SCN_P_LOSS = 1u << 5,
  SIM_SCN_P_DUP = 1u << 6,
  SIM_SCN_P_REORDER = 1u << 7,
  SIM_SCN_P_REORDER_DELAY = 1u << 8,
  SIM_SCN_P_CORRUPT = 1u << 9,
};

enum sim_scn_fault_kind {
  SIM_SCN_LINK_DOWN, /* link down at `at` (and up again after `dur` when dur > 0) */
  SIM_SCN_LINK_UP,
  SIM_SCN_LINK_SET,  /* parameters in `mask` changed at `at`, restored after `dur` (> 0) */
  SIM_SCN_PARTITION, /* every link of every listed node down for `dur` */
  SIM_SCN_DROP,      /* data segments first..last of workload `work`'s first connection */
};

struct sim_scn_fault {
  enum sim_scn_fault_kind kind;
  uint64_t at_ns, dur_ns;
  int link;                   /* link index */
  int link_dir;               /* LINK_SET: -1 both, 0 a->b, 1 b->a */
  uint32_t mask;              /* LINK_SET */
  struct sim_link_params p;   /* LINK_SET values */
  int nodes[SIM_SCN_MAX_LIST]; /* PARTITION: host indexes */
  unsigned n_nodes;
  int work;                   /* DROP */
  bool reverse;               /* DROP: the segments the passive side sends */
  uint64_t first, last;       /* DROP: 1-based, inclusive */
  unsigned line;
};

enum sim_scn_metric {
  SIM_SCN_M_COUNTER,     /* host counter by name */
  SIM_SCN_M_MARK,        /* coverage mark reached (>= 1) */
  SIM_SCN_M_DONE,        /* workload finished (intact) by a time */
  SIM_SCN_M_GOODPUT,     /* bit/s of a workload's received bytes in a window */
  SIM_SCN_M_UTIL,        /* link direction busy fraction in a window */
  SIM_SCN_M_RECOVERY,    /* first recovery episode, in RTTs */
  SIM_SCN_M_REDUCTION,   /* ssthresh after the first loss / cwnd before it */
  SIM_SCN_M_FAIRNESS,    /* Jain index over connections / workloads in a window */
  SIM_SCN_M_RESPONSE,    /* rr: first response time after its request, in RTTs or seconds */
  SIM_SCN_M_MATHIS,      /* goodput / (MSS/RTT * 1.22/sqrt(p)) */
  SIM_SCN_M_RETRANS,     /* retransmitted segments of a workload's first connection */
  SIM_SCN_M_BYTES,       /* bytes a workload's connections received (both ends) */
};

enum sim_scn_op { SIM_SCN_EQ, SIM_SCN_NE, SIM_SCN_LT, SIM_SCN_LE, SIM_SCN_GT, SIM_SCN_GE,
                  SIM_SCN_IN };

struct sim_scn_expect {
  enum sim_scn_metric metric;
  enum sim_scn_op op;
  double v, v2; /* IN: [v, v2] */
  int host;     /* COUNTER, MARK */
  char counter[48];
  int link, link_dir;      /* UTIL */
  int works[SIM_SCN_MAX_LIST]; /* workload indexes (FAIRNESS may list several) */
  unsigned n_works;
  uint64_t from_ns, to_ns; /* window (to 0: the end of the run) */
  uint64_t by_ns;          /* DONE */
  bool in_rtts;            /* RESPONSE: v in RTTs (else seconds) */
  struct sim_ratio loss;   /* MATHIS */
  uint64_t rtt_ns;         /* MATHIS */
  unsigned line;
  char text[160];          /* the statement as written, for reports */
};

struct sim_scenario {
  char file[128];
  char name[64];
  uint64_t seed;
  uint64_t duration_ns;
  struct sim_scn_host hosts[SIM_SCN_MAX_HOSTS];
  unsigned n_hosts;
  char switches[SIM_SCN_MAX_SWITCHES][SIM_SCN_NAME_MAX];
  unsigned n_switches;
  struct sim_scn_link links[SIM_SCN_MAX_LINKS];
  unsigned n_links;
  struct sim_scn_work work[SIM_SCN_MAX_WORK];
  unsigned n_work;
  struct sim_scn_fault faults[SIM_SCN_MAX_FAULTS];
  unsigned n_faults;
  struct sim_scn_expect expects[SIM_SCN_MAX_EXPECT];
  unsigned n_expects;
};

/* Parses a scenario (text, len bytes, need not be NUL-terminated; `file` names it in
 * messages). Returns 0 and a new scenario in *out, or -1 with "file:line:col: message" in
 * err. Pure: no I/O, no globals; never crashes or hangs on any input. */
int sim_scenario_parse(const char *file, const char *text, size_t len, struct sim_scenario **out,
                       char *err, size_t err_len);
/* Frees a parsed scenario. NULL is allowed. */
void sim_scenario_free(struct sim_scenario *sc);

/* `utcp-sim run FILE.scn|DIR [--seed N] [--seeds A..B] [--pcap DIR] [--trace DIR]`. */
int sim_run_main(int argc, char **argv);
void sim_run_usage(FILE *out);
/* Runs one parsed scenario with `seed` and reports to out. Returns 0 (every expectation
 * held), 1 (a failure) or 2 (the scenario cannot be built). *trace_hash gets the hash. */
int sim_scenario_run(const struct sim_scenario *sc, uint64_t seed, const char *pcap_dir,
                     const char *trace_dir, FILE *out, uint64_t *trace_hash);
/* The same run with impairments on every link drawn from `seed` (loss, duplication,
 * reordering, corruption, jitter), five times the duration plus 120 s, and no expectations:
 * the standing rules only. Its replay line is `utcp-sim run FILE --seed N --swarm`. */
int sim_scenario_swarm_run(const struct sim_scenario *sc, uint64_t seed, const char *pcap_dir,
                           const char *trace_dir, FILE *out, uint64_t *trace_hash);
/* `utcp-sim swarm --seeds A..B FILE.scn`: one swarm run per seed; 0 all passed, 1 some
 * failed, 2 the file does not parse. */
int sim_scenario_swarm_main(const char *path, uint64_t lo, uint64_t hi, bool verbose);

#endif
