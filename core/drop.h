/* Drop reasons: every frame the stack refuses is counted under exactly one of these. Parsers
 * return UTCP_DROP_NONE (0) when the bytes are well-formed, else the reason. */
#ifndef UTCP_CORE_DROP_H
#define UTCP_CORE_DROP_H

#define UTCP_DROP_LIST(X)                                                   \
  X(ETH_TRUNCATED, "frame shorter than an Ethernet header")                 \
  X(ETH_NOT_FOR_US, "destination MAC is not ours or broadcast")             \
  X(ETH_UNKNOWN_TYPE, "EtherType not IPv4 or ARP")                          \
  X(ARP_TRUNCATED, "ARP packet shorter than 28 bytes")                      \
  X(ARP_BAD_FORMAT, "ARP hardware/protocol type or lengths not Ethernet/IPv4") \
  X(ARP_BAD_OP, "ARP opcode not request or reply")                          \
  X(ARP_BAD_SENDER, "ARP sender address is broadcast, multicast or zero")   \
  X(ARP_NOT_FOR_US, "ARP target address is not ours")                       \
  X(ARP_TABLE_FULL, "ARP table full")                                       \
  X(ARP_QUEUE_FULL, "ARP pending queue full for that next hop")             \
  X(ARP_UNRESOLVED, "next hop did not answer ARP")                          \
  X(IP_TRUNCATED, "IPv4 packet shorter than its header")                    \
  X(IP_BAD_VERSION, "IP version not 4")                                     \
  X(IP_BAD_HDR_LEN, "IPv4 IHL below 5 or past the packet")                  \
  X(IP_BAD_TOTAL_LEN, "IPv4 total length below IHL or past the frame")      \
  X(IP_BAD_CKSUM, "IPv4 header checksum wrong")                             \
  X(IP_FRAGMENT, "IPv4 fragment (reassembly not supported)")                \
  X(IP_OPTIONS, "IPv4 options (not supported)")                             \
  X(IP_BAD_SRC, "IPv4 source is broadcast, multicast or ours")              \
  X(IP_NOT_FOR_US, "IPv4 destination is not ours")                          \
  X(IP_UNKNOWN_PROTO, "IP protocol not ICMP or TCP")                        \
  X(IP_NO_ROUTE, "no route to destination")                                 \
  X(ICMP_TRUNCATED, "ICMP message shorter than 8 bytes")                    \
  X(ICMP_BAD_CKSUM, "ICMP checksum wrong")                                  \
  X(ICMP_UNHANDLED, "ICMP type not handled")                                \
  X(TCP_TRUNCATED, "TCP segment shorter than its header")                   \
  X(TCP_BAD_HDR_LEN, "TCP data offset below 5 or past the segment")         \
  X(TCP_BAD_CKSUM, "TCP checksum wrong")                                    \
  X(TCP_BAD_OPT_LEN, "TCP option length 0, 1, wrong for its kind or past the header") \
  X(TCP_BAD_PORT, "TCP port zero")                                          \
  X(TCP_NO_CONN, "TCP segment for no connection or listener (answered with RST)") \
  X(TCP_LISTEN_OVERFLOW, "SYN to a listener whose SYN or accept queue is full") \
  X(TCP_NO_TCB, "SYN refused: connection table full")                      \
  X(TCP_BAD_ACK, "unacceptable ACK in SYN-SENT or SYN-RECEIVED")          \
  X(TCP_BAD_RST, "RST in SYN-SENT not acknowledging our SYN")             \
  X(TCP_NO_SYN, "segment in SYN-SENT without SYN")                         \
  X(TCP_NO_ACK, "segment without ACK in a synchronised state")             \
  X(TCP_ACK_UNSENT, "ACK for data not yet sent")                           \
  X(TCP_ACK_TOO_OLD, "ACK below SND.UNA - MAX.SND.WND (RFC 5961 5.2)")     \
  X(TCP_OUT_OF_WINDOW, "segment outside the receive window")               \
  X(TCP_PAWS, "timestamp older than TS.Recent (PAWS, RFC 7323 5)")         \
  X(TCP_NO_TS, "segment without timestamp after timestamps were agreed")   \
  X(TCP_RST_CHALLENGED, "in-window RST not at RCV.NXT (RFC 5961 3.2)")     \
  X(TCP_SYN_CHALLENGED, "SYN in a synchronised state (RFC 5961 4.2)")      \
  X(TCP_DATA_AFTER_FIN, "data after the peer's FIN")                       \
  X(TCP_NO_BUFFER, "no buffer chunk for received data")                    \
  X(TCP_REASS_FULL, "out-of-order data over the reassembly limits")        \
  X(TX_NO_BUFFER, "transmit sink had no buffer")                            \
  X(EVENT_QUEUE_FULL, "event queue full")

enum utcp_drop {
  UTCP_DROP_NONE = 0,
#define UTCP_DROP_ENUM(name, text) UTCP_DROP_##name,
  UTCP_DROP_LIST(UTCP_DROP_ENUM)
#undef UTCP_DROP_ENUM
  UTCP_DROP__COUNT
};

/* Short identifier ("ip_bad_cksum") and description of a drop reason; never NULL. */
const char *utcp_drop_name(enum utcp_drop reason);
const char *utcp_drop_text(enum utcp_drop reason);

#endif
