/* Counters named after the IP-MIB (RFC 4293), ICMP-MIB (RFC 4293 icmpStats) and TCP-MIB
 * (RFC 4022), plus one drop counter per reason (drop.h). */
#ifndef UTCP_CORE_COUNTERS_H
#define UTCP_CORE_COUNTERS_H

#include <stddef.h>
#include <stdint.h>

#include "drop.h"

/* X(field, "MIB object name") */
#define UTCP_MIB_LIST(X)                                           \
  X(ip_in_receives, "ipSystemStatsInReceives")                     \
  X(ip_in_hdr_errors, "ipSystemStatsInHdrErrors")                  \
  X(ip_in_addr_errors, "ipSystemStatsInAddrErrors")                \
  X(ip_in_unknown_protos, "ipSystemStatsInUnknownProtos")          \
  X(ip_in_truncated_pkts, "ipSystemStatsInTruncatedPkts")          \
  X(ip_in_discards, "ipSystemStatsInDiscards")                     \
  X(ip_in_delivers, "ipSystemStatsInDelivers")                     \
  X(ip_out_requests, "ipSystemStatsOutRequests")                   \
  X(ip_out_no_routes, "ipSystemStatsOutNoRoutes")                  \
  X(ip_out_discards, "ipSystemStatsOutDiscards")                   \
  X(ip_out_transmits, "ipSystemStatsOutTransmits")                 \
  X(icmp_in_msgs, "icmpStatsInMsgs")                               \
  X(icmp_in_errors, "icmpStatsInErrors")                           \
  X(icmp_in_echos, "icmpMsgStatsInPkts.echo")                      \
  X(icmp_in_echo_reps, "icmpMsgStatsInPkts.echoReply")             \
  X(icmp_out_msgs, "icmpStatsOutMsgs")                             \
  X(icmp_out_echos, "icmpMsgStatsOutPkts.echo")                    \
  X(icmp_out_echo_reps, "icmpMsgStatsOutPkts.echoReply")           \
  X(arp_in_requests, "arpInRequests")                              \
  X(arp_in_replies, "arpInReplies")                                \
  X(arp_out_requests, "arpOutRequests")                            \
  X(arp_out_replies, "arpOutReplies")                              \
  X(arp_pending_evicted, "utcpArpPendingEvicted")                  \
  X(tcp_active_opens, "tcpActiveOpens")                            \
  X(tcp_passive_opens, "tcpPassiveOpens")                          \
  X(tcp_attempt_fails, "tcpAttemptFails")                          \
  X(tcp_estab_resets, "tcpEstabResets")                            \
  X(tcp_in_segs, "tcpHCInSegs")                                    \
  X(tcp_out_segs, "tcpHCOutSegs")                                  \
  X(tcp_retrans_segs, "tcpRetransSegs")                            \
  X(tcp_in_errs, "tcpInErrs")                                      \
  X(tcp_out_rsts, "tcpOutRsts")                                    \
  X(tcp_syncookies_sent, "TcpExtSyncookiesSent")                   \
  X(tcp_syncookies_recv, "TcpExtSyncookiesRecv")                   \
  X(tcp_syncookies_failed, "TcpExtSyncookiesFailed")               \
  X(tcp_sack_recovery_episodes, "TcpExtTCPSackRecovery")           \
  X(tcp_sack_rexmits, "TcpExtTCPSackRetrans")                      \
  X(tcp_sack_blocks_invalid, "TcpExtTCPSACKDiscard")               \
  X(tcp_sack_dsack_recv, "TcpExtTCPDSACKRecv")                     \
  X(tcp_sack_scoreboard_full, "TcpExtTCPSackScoreboardFull")       \
  X(tcp_sack_rto_cleared, "TcpExtTCPSackRtoCleared")               \
  X(tcp_zw_abort_peer, "utcpZeroWindowAbortPeer")                  \
  X(tcp_zw_abort_local, "utcpZeroWindowAbortLocal")                \
  X(tcp_zw_abort_pressure, "utcpZeroWindowAbortPressure")          \
  X(tcp_abort_on_timeout, "TcpExtTCPAbortOnTimeout")               \
  X(tcp_timewait_overflow, "TcpExtTCPTimeWaitOverflow")           \
  X(tcp_timewait_recycled, "TcpExtTWRecycled")                    \
  X(tcp_oow_ack_skipped, "TcpExtTCPACKSkippedSeq")

/* Coverage marks (TigerBeetle): named paths a test can assert were reached. */
#define UTCP_COVERAGE_LIST(X) \
  X(fast_retransmit)          \
  X(limited_transmit)         \
  X(partial_ack)              \
  X(rto_fired)                \
  X(syn_rexmt)                \
  X(challenge_ack)            \
  X(challenge_ack_limited)    \
  X(paws_drop)                \
  X(persist_probe)            \
  X(keepalive_probe)          \
  X(timewait_reuse)           \
  X(timewait_reack)           \
  X(simultaneous_open)        \
  X(simultaneous_close)       \
  X(ooo_queued)               \
  X(hole_filled)              \
  X(delayed_ack)              \
  X(nagle_hold)               \
  X(rst_in_window_exact)      \
  X(ack_unsent_data)          \
  X(window_shrink_avoided)    \
  X(zero_window_probe_answered) \
  X(sack_recovery)            \
  X(sack_rexmit)              \
  X(sack_new_data)            \
  X(sack_rescue)              \
  X(sack_lost_entry)          \
  X(sack_skip_sacked)         \
  X(sack_rto_cleared)         \
  X(dsack_received)           \
  X(zero_window_abort)

enum utcp_coverage {
#define UTCP_COV_ENUM(name) UTCP_COV_##name,
  UTCP_COVERAGE_LIST(UTCP_COV_ENUM)
#undef UTCP_COV_ENUM
  UTCP_COV__COUNT
};

/* Name of coverage mark i < UTCP_COV__COUNT, and the index of a name (-1 if none). */
const char *utcp_coverage_name(size_t i);
int utcp_coverage_find(const char *name);

struct utcp_counters {
#define UTCP_MIB_FIELD(field, name) uint64_t field;
  UTCP_MIB_LIST(UTCP_MIB_FIELD)
#undef UTCP_MIB_FIELD
  uint64_t drop[UTCP_DROP__COUNT];
  uint64_t cov[UTCP_COV__COUNT];
};

enum {
#define UTCP_MIB_COUNT_ONE(field, name) +1
  UTCP_MIB_COUNT = 0 UTCP_MIB_LIST(UTCP_MIB_COUNT_ONE)
#undef UTCP_MIB_COUNT_ONE
};

/* Name ("ipSystemStatsInReceives") and value of MIB counter i < UTCP_MIB_COUNT. */
const char *utcp_mib_name(size_t i);
uint64_t utcp_mib_value(const struct utcp_counters *c, size_t i);

/* Sum of all drop counters. */
uint64_t utcp_drops_total(const struct utcp_counters *c);

#endif
