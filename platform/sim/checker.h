/* End-to-end TCP checkers for simulator runs, written from the RFCs and independent of the
 * stack's own bookkeeping: they see only the frames each node sends and receives (the sim
 * observer hook) and check, on every frame:
 *   - every emitted frame parses with correct IPv4 and TCP checksums;
 *   - MSS, window scale and SACK-permitted only on SYNs; on a SYN-ACK only the options the
 *     SYN offered (RFC 7323 1.3, RFC 2018 2); timestamps on every non-RST segment once both
 *     SYNs carried them, never otherwise (RFC 7323 3.2); SACK blocks only when agreed;
 *   - payload no larger than the peer's MSS (536 when it sent none) less 12 bytes of
 *     timestamps (RFC 9293 3.7.1, RFC 6691);
 *   - the sender stays inside the window the receiver advertised (SND.NXT <= SND.UNA +
 *     SND.WND), bar one-byte zero-window probes (RFC 9293 3.8.6.1);
 *   - a receiver's advertised right edge never moves left (RFC 9293 3.8.6);
 *   - no ACK acknowledges data the peer never sent.
 * A violation prints the seed, the virtual time, what was violated and the last frames,
 * stops the simulation (sim_stop) and is counted. */
#ifndef UTCP_PLATFORM_SIM_CHECKER_H
#define UTCP_PLATFORM_SIM_CHECKER_H

#include <stdbool.h>
#include <stdint.h>

#include "sim.h"

struct sim_checker;

/* Creates a checker and installs it as the sim's observer. replay is the command line that
 * reproduces the run (printed with a violation); it is copied. */
struct sim_checker *sim_checker_new(struct sim *sim, const char *replay);
void sim_checker_free(struct sim_checker *c);
/* Violations found so far, and segments checked. */
uint64_t sim_checker_violations(const struct sim_checker *c);
uint64_t sim_checker_segments(const struct sim_checker *c);

#endif
