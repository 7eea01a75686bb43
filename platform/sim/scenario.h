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

#endif
