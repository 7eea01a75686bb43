/* Per-connection congestion-control trace for simulator runs (`utcp-sim transfer --trace DIR`).
 *
 * For every watched connection it writes, in DIR:
 *   <host>-<lport>-<rport>.csv      one row each time the connection's utcp_tcp_info changes
 *                                   (sampled after every virtual instant at which events ran):
 *     time_s,state,cwnd,ssthresh,srtt_ms,rttvar_ms,rto_ms,flight,snd_una,snd_nxt,snd_wnd,
 *     retrans,backoffs,in_recovery,episodes
 *     (snd_una and snd_nxt relative to the ISS; flight = SND.MAX - SND.UNA; retrans = total
 *     retransmitted segments; backoffs = consecutive RTO backoffs now);
 *   <host>-<lport>-<rport>-seq.csv  one row per segment the host sent on the connection with
 *                                   payload, SYN or FIN ("data"), and per ACK it received ("ack"):
 *     time_s,kind,seq,len,retrans     (seq relative to the ISS; for "ack", seq is the ACK number);
 *   <host>-<lport>-<rport>.gp       the gnuplot script, and, when gnuplot runs, its output:
 *   <host>-<lport>-<rport>-{cwnd,rtt,tseq}.{png,svg}
 *     cwnd/ssthresh/flight over time, srtt/rttvar/rto over time, and the time-sequence graph.
 *
 * Recovery episodes are derived from what is observable, not read from the stack: an episode
 * starts when the retransmission count grows outside an episode (fast retransmit or RTO) and
 * records SND.MAX then as its recovery point; it ends when SND.UNA reaches that point (every
 * byte outstanding at the loss is acknowledged, the RFC 6582 "recover" rule). A segment in the
 * time-sequence file is a retransmission when it starts below the highest sequence sent so far.
 *
 * The trace installs itself as the sim observer and passes every frame on to the observer
 * installed before it (the wire checker), so checking is unchanged; it never alters the run. */
#ifndef UTCP_PLATFORM_SIM_TRACE_H
#define UTCP_PLATFORM_SIM_TRACE_H

#include <stdio.h>

#include "sim.h"

struct sim_tcptrace;

/* Creates DIR (one level, if missing) and a trace writing into it, chained in front of the
 * sim's current observer. NULL (errno set) when DIR cannot be created. */
struct sim_tcptrace *sim_tcptrace_new(struct sim *sim, const char *dir);
/* Starts tracing connection conn of the stack hosted by node (a sim_stack_node). Returns 0, or
 * -1 (message printed) when its files cannot be created or the handle is not a connection. */
int sim_tcptrace_watch(struct sim_tcptrace *t, struct sim_node *node, utcp_conn_t conn);
/* The same for a node whose stack is not a sim_stack_node's (e.g. a utcp context's). */
int sim_tcptrace_watch_stack(struct sim_tcptrace *t, struct sim_node *node,
                             struct utcp_stack *stack, utcp_conn_t conn);
/* Samples every watched connection; writes a row when something changed. Call after each
 * virtual instant (after sim_run_until(sim, sim_next_time(sim))). */
void sim_tcptrace_sample(struct sim_tcptrace *t);
/* Closes the CSV files, writes the gnuplot scripts, runs gnuplot for connections that sent data,
 * and prints "trace: ... plots: ..." lines to out. Returns 0, or -1 when a file could not be
 * written or gnuplot failed (a missing gnuplot is reported, not an error). */
int sim_tcptrace_finish(struct sim_tcptrace *t, FILE *out);
/* Uninstalls (restoring the previous observer) and frees. NULL is allowed. */
void sim_tcptrace_free(struct sim_tcptrace *t);

#endif
