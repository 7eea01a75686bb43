/* Drop reasons, X(ENUM, short_id, "text"): every frame the stack refuses is counted under exactly one of these. Parsers
 * return UTCP_DROP_NONE (0) when the bytes are well-formed, else the reason. */
#ifndef UTCP_CORE_DROP_H
#define UTCP_CORE_DROP_H

#define UTCP_DROP_LIST(X)                                                   \
  X(ETH_TRUNCATED, eth_truncated, "frame shorter than an Ethernet header")                 \
  X(ETH_NOT_FOR_US, eth_not_for_us, "destination MAC is not ours or broadcast")             \
  X(ETH_UNKNOWN_TYPE, eth_unknown_type, "EtherType not IPv4 or ARP")                          \
  X(ARP_TRUNCATED, arp_truncated, "ARP packet shorter than 28 bytes")                      \
  X(ARP_BAD_FORMAT, arp_bad_format, "ARP hardware/protocol type or lengths not Ethernet/IPv4") \
  X(ARP_BAD_OP, arp_bad_op, "ARP opcode not request or reply")                          \
  X(ARP_BAD_SENDER, arp_bad_sender, "ARP sender address is broadcast, multicast or zero")   \
  X(ARP_NOT_FOR_US, arp_not_for_us, "ARP target address is not ours")                       \
  X(ARP_TABLE_FULL, arp_table_full, "ARP table full")                                       \
  X(ARP_QUEUE_FULL, arp_queue_full, "ARP pending queue full for that next hop")             \
  X(ARP_UNRESOLVED, arp_unresolved, "next hop did not answer ARP")                          \
  X(IP_TRUNCATED, ip_truncated, "IPv4 packet shorter than its header")                    \
  X(IP_BAD_VERSION, ip_bad_version, "IP version not 4")                                     \
  X(IP_BAD_HDR_LEN, ip_bad_hdr_len, "IPv4 IHL below 5 or past the packet")                  \
  X(IP_BAD_TOTAL_LEN, ip_bad_total_len, "IPv4 total length below IHL or past the frame")      \
  X(IP_BAD_CKSUM, ip_bad_cksum, "IPv4 header checksum wrong")                             \
  X(IP_FRAGMENT, ip_fragment, "IPv4 fragment (reassembly not supported)")                \
  X(IP_OPTIONS, ip_options, "IPv4 options (not supported)")                             \
  X(IP_BAD_SRC, ip_bad_src, "IPv4 source is broadcast, multicast or ours")              \
  X(IP_NOT_FOR_US, ip_not_for_us, "IPv4 destination is not ours")                          \
  X(IP_UNKNOWN_PROTO, ip_unknown_proto, "IP protocol not ICMP or TCP")                        \
  X(IP_NO_ROUTE, ip_no_route, "no route to destination")                                 \
  X(ICMP_TRUNCATED, icmp_truncated, "ICMP message shorter than 8 bytes")                    \
  X(ICMP_BAD_CKSUM, icmp_bad_cksum, "ICMP checksum wrong")                                  \
  X(ICMP_UNHANDLED, icmp_unhandled, "ICMP type not handled")                                \
  X(TCP_TRUNCATED, tcp_truncated, "TCP segment shorter than its header")                   \
  X(TCP_BAD_HDR_LEN, tcp_bad_hdr_len, "TCP data offset below 5 or past the segment")         \
  X(TCP_BAD_CKSUM, tcp_bad_cksum, "TCP checksum wrong")                                    \
  X(TCP_BAD_OPT_LEN, tcp_bad_opt_len, "TCP option length 0, 1, wrong for its kind or past the header") \
  X(TCP_BAD_PORT, tcp_bad_port, "TCP port zero")                                          \
  X(TCP_NO_CONN, tcp_no_conn, "TCP segment for no connection or listener (answered with RST)") \
  X(TCP_LISTEN_OVERFLOW, tcp_listen_overflow, "SYN to a listener whose SYN or accept queue is full") \
  X(TCP_NO_TCB, tcp_no_tcb, "SYN refused: connection table full")                      \
  X(TCP_BAD_ACK, tcp_bad_ack, "unacceptable ACK in SYN-SENT or SYN-RECEIVED")          \
  X(TCP_BAD_RST, tcp_bad_rst, "RST in SYN-SENT not acknowledging our SYN")             \
  X(TCP_NO_SYN, tcp_no_syn, "segment in SYN-SENT without SYN")                         \
  X(TCP_NO_ACK, tcp_no_ack, "segment without ACK in a synchronised state")             \
  X(TCP_ACK_UNSENT, tcp_ack_unsent, "ACK for data not yet sent")                           \
  X(TCP_ACK_TOO_OLD, tcp_ack_too_old, "ACK below SND.UNA - MAX.SND.WND (RFC 5961 5.2)")     \
  X(TCP_OUT_OF_WINDOW, tcp_out_of_window, "segment outside the receive window")               \
  X(TCP_PAWS, tcp_paws, "timestamp older than TS.Recent (PAWS, RFC 7323 5)")         \
  X(TCP_NO_TS, tcp_no_ts, "segment without timestamp after timestamps were agreed")   \
  X(TCP_RST_CHALLENGED, tcp_rst_challenged, "in-window RST not at RCV.NXT (RFC 5961 3.2)")     \
  X(TCP_SYN_CHALLENGED, tcp_syn_challenged, "SYN in a synchronised state (RFC 5961 4.2)")      \
  X(TCP_DATA_AFTER_FIN, tcp_data_after_fin, "data after the peer's FIN")                       \
  X(TCP_DATA_AFTER_CLOSE, tcp_data_after_close, "data after the application closed (answered with RST)") \
  X(TCP_NO_BUFFER, tcp_no_buffer, "no buffer chunk for received data")                    \
  X(TCP_REASS_FULL, tcp_reass_full, "out-of-order data over the reassembly limits")        \
  X(TX_NO_BUFFER, tx_no_buffer, "transmit sink had no buffer")                            \
  X(EVENT_QUEUE_FULL, event_queue_full, "event queue full")

enum utcp_drop {
  UTCP_DROP_NONE = 0,
#define UTCP_DROP_ENUM(name, id, text) UTCP_DROP_##name,
  UTCP_DROP_LIST(UTCP_DROP_ENUM)
#undef UTCP_DROP_ENUM
  UTCP_DROP__COUNT
};

/* Short identifier ("ip_bad_cksum") and description of a drop reason; never NULL. */
const char *utcp_drop_name(enum utcp_drop reason);
const char *utcp_drop_text(enum utcp_drop reason);

#endif
