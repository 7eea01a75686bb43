/* `utcp-sim swarm --seeds A..B transfer`: swarm testing. Each seed draws a whole set of link
 * and stack settings (loss, duplication, reordering, corruption, delay, jitter, rate, queue,
 * buffers, direction, simultaneous close, an outage) from its own utcp_rng, builds the
 * `utcp-sim transfer` command line for them and runs that scenario in-process. The command
 * line is the run's only input, so a failing seed's `replay:` line reproduces it exactly.
 *
 * Every drawn setting stays within bounds where a correct stack finishes well before the
 * transfer scenario's deadline: a failure is a bug (or a checker's false alarm), never bad
 * luck. */
#include <errno.h>
#include <stdarg.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/rng.h"
#include "scenario.h"

#define MAX_ARGS 64
#define ARG_LEN 32

void sim_swarm_usage(FILE *out) {
  fprintf(out,
          "usage: utcp-sim swarm --seeds A..B [--bytes N] [--verbose] transfer|FILE.scn\n"
          "  --seeds A..B               run seeds A to B inclusive (or one seed: --seeds A)\n"
          "  --bytes N[k|M|Ki|Mi]       bytes per direction for every seed (default: drawn,\n"
          "                             64Ki to 1Mi)\n"
          "  --verbose                  print each failing run's whole report, not only its\n"
          "                             FAIL lines\n"
          "Each seed derives loss, duplication, reordering, corruption, delay, jitter, rate,\n"
          "queue and buffer sizes, the direction, a simultaneous close and maybe an outage, and\n"
          "runs `utcp-sim transfer` with them. One line per seed: the seed, the settings, the\n"
          "result and the trace hash; each failure also prints its `replay:` command line.\n"
          "With FILE.scn, each seed runs the scenario file with impairments drawn for every\n"
          "link (`utcp-sim run FILE --seed N --swarm`, docs/scenarios.md).\n"
          "Exits 0 when every seed passed, 1 otherwise, 2 on a usage error.\n");
}

struct argv_buf {
  int argc;
  char *argv[MAX_ARGS];
  char store[MAX_ARGS][ARG_LEN];
};

static void add(struct argv_buf *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add(struct argv_buf *a, const char *fmt, ...) {
  if (a->argc >= MAX_ARGS) abort();
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(a->store[a->argc], ARG_LEN, fmt, ap);
  va_end(ap);
  a->argv[a->argc] = a->store[a->argc];
  a->argc++;
}

static uint64_t pick(struct utcp_rng *rng, uint64_t lo, uint64_t hi) {
  return lo + utcp_rng_below(rng, hi - lo + 1);
}

/* The settings of one seed, as `transfer` arguments (argv[0] is "transfer"). The stream of
 * draws is fixed: change it and old seeds mean other settings (their replay lines still hold). */
static void derive(uint64_t seed, const char *bytes_arg, struct argv_buf *a) {
  struct utcp_rng rng;
  utcp_rng_init(&rng, seed ^ 0x5377a4d5eed5ull);
  a->argc = 0;
  add(a, "transfer");
  add(a, "--seed");
  add(a, "%" PRIu64, seed);

  static const uint64_t sizes[] = {64, 128, 256, 512, 1024}; /* KiB */
  uint64_t kib = sizes[utcp_rng_below(&rng, 5)];
  uint64_t bytes = kib * 1024;
  add(a, "--bytes");
  if (bytes_arg) {
    add(a, "%s", bytes_arg);
    bytes = 0; /* unknown here: only used to keep an outage inside the transfer */
  } else {
    add(a, "%" PRIu64 "Ki", kib);
  }

  uint64_t dir = utcp_rng_below(&rng, 3);
  bool simclose = dir == 2 && utcp_rng_chance(&rng, 1, 4);
  if (simclose) {
    add(a, "--simclose");
  } else {
    add(a, "--dir");
    add(a, "%s", dir == 0 ? "c2s" : dir == 1 ? "s2c" : "both");
  }

  /* Faults, each absent half of the time (loss a quarter of the time). */
  uint64_t loss = utcp_rng_chance(&rng, 1, 4) ? 0 : pick(&rng, 1, 50); /* per mille, <= 5% */
  uint64_t dup = utcp_rng_chance(&rng, 1, 2) ? 0 : pick(&rng, 1, 50);
  uint64_t reorder = utcp_rng_chance(&rng, 1, 2) ? 0 : pick(&rng, 1, 100);
  uint64_t reorder_ms = pick(&rng, 1, 20);
  uint64_t corrupt = utcp_rng_chance(&rng, 1, 2) ? 0 : pick(&rng, 1, 20);
  if (loss) add(a, "--loss"), add(a, "%" PRIu64 "/1000", loss);
  if (dup) add(a, "--dup"), add(a, "%" PRIu64 "/1000", dup);
  if (reorder) {
    add(a, "--reorder"), add(a, "%" PRIu64 "/1000", reorder);
    add(a, "--reorder-ms"), add(a, "%" PRIu64, reorder_ms);
  }
  if (corrupt) add(a, "--corrupt"), add(a, "%" PRIu64 "/1000", corrupt);

  /* Path. */
  uint64_t delay_ms = pick(&rng, 0, 50);
  uint64_t jitter_ms = utcp_rng_chance(&rng, 1, 2) ? 0 : pick(&rng, 1, 5);
  static const uint64_t rates[] = {2, 10, 100, 1000}; /* Mbit/s */
  uint64_t rate = rates[utcp_rng_below(&rng, 4)];
  static const uint64_t queues[] = {32, 64, 256, 1024}; /* KiB */
  uint64_t queue_kb = queues[utcp_rng_below(&rng, 4)];
  static const uint64_t bufs[] = {8, 16, 64, 256}; /* KiB */
  uint64_t buf_kb = bufs[utcp_rng_below(&rng, 4)];

  /* An outage, a quarter of the time: only without loss or corruption (a lost SYN would
   * delay the connection past its start) and only with bytes enough to still be flowing
   * when it starts (the scenario checks the outage fell inside the transfer). */
  bool outage = utcp_rng_chance(&rng, 1, 4) && !loss && !corrupt && bytes != 0;
  uint64_t outage_ms = pick(&rng, 100, 3000);
  uint64_t rtt_ms = 2 * (delay_ms + jitter_ms + (reorder ? reorder_ms : 0)) + 1;
  uint64_t outage_at_ms = 5 + 3 * rtt_ms + pick(&rng, 0, 20);
  if (outage) {
    /* Slow the link so that sending the bytes takes at least twice that long. */
    uint64_t want_ms = 2 * outage_at_ms + 20;
    uint64_t max_rate = bytes * 8 / (want_ms * 1000);
    if (max_rate < 1) max_rate = 1;
    if (rate > max_rate) rate = max_rate;
  }

  add(a, "--delay-ms"), add(a, "%" PRIu64, delay_ms);
  if (jitter_ms) add(a, "--jitter-ms"), add(a, "%" PRIu64, jitter_ms);
  add(a, "--rate-mbps"), add(a, "%" PRIu64, rate);
  add(a, "--queue-kb"), add(a, "%" PRIu64, queue_kb);
  add(a, "--buf-kb"), add(a, "%" PRIu64, buf_kb);
  if (outage) {
    add(a, "--outage-at-ms"), add(a, "%" PRIu64, outage_at_ms);
    add(a, "--outage-ms"), add(a, "%" PRIu64, outage_ms);
  }
  a->argv[a->argc] = NULL;
}

static void print_args(FILE *out, const struct argv_buf *a) {
  for (int i = 0; i < a->argc; i++) fprintf(out, "%s%s", i ? " " : "", a->argv[i]);
}

static bool parse_seeds(const char *s, uint64_t *lo, uint64_t *hi) {
  if (!s || !*s || *s == '-') return false;
  char *end;
  errno = 0;
  unsigned long long a = strtoull(s, &end, 10), b = a;
  if (errno || end == s) return false;
  if (*end) {
    if (strncmp(end, "..", 2) != 0) return false;
    const char *t = end + 2;
    if (!*t || *t == '-') return false;
    b = strtoull(t, &end, 10);
    if (errno || *end) return false;
  }
  if (b < a) return false;
  *lo = a, *hi = b;
  return true;
}

int sim_swarm_main(int argc, char **argv) {
  uint64_t lo = 0, hi = 0;
  bool have_seeds = false, verbose = false;
  const char *bytes_arg = NULL, *scenario = NULL;
  for (int i = 1; i < argc; i++) {
    const char *opt = argv[i];
    if (strcmp(opt, "--help") == 0 || strcmp(opt, "-h") == 0) {
      sim_swarm_usage(stdout);
      return 0;
    }
    if (strcmp(opt, "--verbose") == 0 || strcmp(opt, "-v") == 0) {
      verbose = true;
    } else if (strcmp(opt, "--seeds") == 0 && i + 1 < argc) {
      have_seeds = parse_seeds(argv[++i], &lo, &hi);
      if (!have_seeds) {
        fprintf(stderr, "utcp-sim swarm: bad --seeds %s (want A..B)\n", argv[i]);
        return 2;
      }
    } else if (strcmp(opt, "--bytes") == 0 && i + 1 < argc) {
      bytes_arg = argv[++i];
    } else if (opt[0] != '-' && scenario == NULL) {
      scenario = opt;
    } else {
      fprintf(stderr, "utcp-sim swarm: unknown or incomplete option %s\n", opt);
      sim_swarm_usage(stderr);
      return 2;
    }
  }
  if (!have_seeds || scenario == NULL) {
    sim_swarm_usage(stderr);
    return 2;
  }
  size_t scn_len = strlen(scenario);
  if (scn_len > 4 && strcmp(scenario + scn_len - 4, ".scn") == 0)
    return sim_scenario_swarm_main(scenario, lo, hi, verbose); /* scenario_run.c */
  if (strcmp(scenario, "transfer") != 0) {
    fprintf(stderr, "utcp-sim swarm: unknown scenario %s (transfer or a FILE.scn)\n", scenario);
    return 2;
  }

  struct timespec t0;
  clock_gettime(CLOCK_MONOTONIC, &t0); /* wall time for the summary only */
  uint64_t runs = 0, failed = 0, first_failed = 0;
  for (uint64_t seed = lo;; seed++) {
    struct argv_buf a;
    derive(seed, bytes_arg, &a);
    /* The settings first, flushed: if the run crashes, the line names it. */
    printf("seed %" PRIu64 ": ", seed);
    print_args(stdout, &a);
    fflush(stdout);
    char *log = NULL;
    size_t log_len = 0;
    FILE *out = open_memstream(&log, &log_len);
    if (out == NULL) {
      perror("open_memstream");
      return 1;
    }
    uint64_t hash = 0;
    int rc = sim_transfer_run(a.argc, a.argv, out, &hash);
    fclose(out);
    runs++;
    printf(" -> %s trace-hash %016" PRIx64 "\n", rc == 0 ? "ok" : "FAIL", hash);
    if (rc != 0) {
      if (failed++ == 0) first_failed = seed;
      /* The run's FAIL lines (or all of it), then the command line that replays it. */
      char *save = NULL;
      for (char *line = strtok_r(log, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
        if (verbose || strncmp(line, "FAIL", 4) == 0) printf("    %s\n", line);
      printf("replay: utcp-sim ");
      print_args(stdout, &a);
      printf("\n");
    }
    free(log);
    fflush(stdout);
    if (seed == hi) break;
  }
  struct timespec t1;
  clock_gettime(CLOCK_MONOTONIC, &t1);
  double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
  printf("swarm: %" PRIu64 " seeds, %" PRIu64 " failed", runs, failed);
  if (failed) printf(" (first: seed %" PRIu64 ")", first_failed);
  printf(", %.1f s wall\n", secs);
  return failed ? 1 : 0;
}
