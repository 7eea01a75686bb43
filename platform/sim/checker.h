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
 * Connections handed to sim_checker_watch are also checked from their public utcp_tcp_info
 * snapshot, taken by sim_checker_sample after every virtual instant in which one of their
 * frames was sent or received (never from the stack's private state), until the handle is
 * released (utcp_tcp_close):
 *   - states: only transitions along the RFC 9293 3.3.2 diagram (several steps within one
 *     instant allowed, never backwards: e.g. no ESTABLISHED -> SYN-SENT, no TIME-WAIT -> any
 *     state but CLOSED), nothing leaves CLOSED;
 *   - sequence space (synchronised states): SND.UNA <= SND.NXT, and whenever new data went
 *     out since the last snapshot SND.NXT <= SND.UNA + SND.WND + 1 (the one byte a
 *     zero-window probe or a FIN may take, RFC 9293 3.8.6.1; a window that shrank later, by a
 *     reordered ACK, may leave older data beyond it); SND.UNA and RCV.NXT never move back;
 *   - congestion control: cwnd >= 1 SMSS and ssthresh >= 2 SMSS (RFC 5681 eq. 4); cwnd grows
 *     by at most 2 SMSS per ACK received since the last snapshot (RFC 3465 L = 2 in slow
 *     start; RFC 5681 3.2 / RFC 6582 3.2 add one SMSS per duplicate or partial ACK in
 *     recovery), plus ssthresh + 3 SMSS when a fast retransmit began (RFC 6582 3.2 step 2);
 *     when new data went out, the flight (SND.MAX - SND.UNA) is not above max(cwnd,
 *     SND.WND) + 2 SMSS (limited transmit, RFC 3042) + 1 (probe or FIN), and, outside a
 *     recovery episode, not above cwnd + 3 SMSS (one segment's overshoot plus limited
 *     transmit; RFC 5681 3.1). (Inside one, RFC 6675 counts the pipe without SACKed data, so
 *     SND.MAX - SND.UNA may exceed cwnd; and after a loss cwnd falls below a flight sent
 *     earlier.) A recovery episode begins with a retransmission outside one and ends when
 *     SND.UNA reaches the SND.MAX of its start with no RTO backoff pending.
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
/* Adds a connection of the stack hosted by `node` (a sim_stack_node) to the snapshot checks;
 * it is dropped by itself once its handle is gone. */
void sim_checker_watch(struct sim_checker *c, struct sim_node *node, utcp_conn_t conn);
/* The same for a node whose stack is not a sim_stack_node's (the stack must outlive the run or
 * the connection's handle). */
void sim_checker_watch_stack(struct sim_checker *c, struct sim_node *node,
                             const struct utcp_stack *stack, utcp_conn_t conn);
/* Checks the snapshot of every watched connection whose frames moved since the last call.
 * Call after each virtual instant (after sim_run_until(sim, sim_next_time(sim))). */
void sim_checker_sample(struct sim_checker *c);
/* Snapshots checked so far. */
uint64_t sim_checker_snapshots(const struct sim_checker *c);
/* Violations found so far, and segments checked. */
uint64_t sim_checker_violations(const struct sim_checker *c);
uint64_t sim_checker_segments(const struct sim_checker *c);

#endif
