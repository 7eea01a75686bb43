#include "drop.h"

#include <stddef.h>

/* Indexed by reason so that a misordered entry cannot shift the rest; tests/test_wire.c checks
 * each name against the X-macro identifier. */
static const char *const drop_names[UTCP_DROP__COUNT] = {
    [UTCP_DROP_NONE] = "none",
    [UTCP_DROP_ETH_TRUNCATED] = "eth_truncated",
    [UTCP_DROP_ETH_NOT_FOR_US] = "eth_not_for_us",
    [UTCP_DROP_ETH_UNKNOWN_TYPE] = "eth_unknown_type",
    [UTCP_DROP_ARP_TRUNCATED] = "arp_truncated",
    [UTCP_DROP_ARP_BAD_FORMAT] = "arp_bad_format",
    [UTCP_DROP_ARP_BAD_OP] = "arp_bad_op",
    [UTCP_DROP_ARP_BAD_SENDER] = "arp_bad_sender",
    [UTCP_DROP_ARP_NOT_FOR_US] = "arp_not_for_us",
    [UTCP_DROP_ARP_TABLE_FULL] = "arp_table_full",
    [UTCP_DROP_ARP_QUEUE_FULL] = "arp_queue_full",
    [UTCP_DROP_ARP_UNRESOLVED] = "arp_unresolved",
    [UTCP_DROP_IP_TRUNCATED] = "ip_truncated",
    [UTCP_DROP_IP_BAD_VERSION] = "ip_bad_version",
    [UTCP_DROP_IP_BAD_HDR_LEN] = "ip_bad_hdr_len",
    [UTCP_DROP_IP_BAD_TOTAL_LEN] = "ip_bad_total_len",
    [UTCP_DROP_IP_BAD_CKSUM] = "ip_bad_cksum",
    [UTCP_DROP_IP_FRAGMENT] = "ip_fragment",
    [UTCP_DROP_IP_OPTIONS] = "ip_options",
    [UTCP_DROP_IP_BAD_SRC] = "ip_bad_src",
    [UTCP_DROP_IP_NOT_FOR_US] = "ip_not_for_us",
    [UTCP_DROP_IP_UNKNOWN_PROTO] = "ip_unknown_proto",
    [UTCP_DROP_IP_NO_ROUTE] = "ip_no_route",
    [UTCP_DROP_ICMP_TRUNCATED] = "icmp_truncated",
    [UTCP_DROP_ICMP_BAD_CKSUM] = "icmp_bad_cksum",
    [UTCP_DROP_ICMP_UNHANDLED] = "icmp_unhandled",
    [UTCP_DROP_TCP_TRUNCATED] = "tcp_truncated",
    [UTCP_DROP_TCP_BAD_HDR_LEN] = "tcp_bad_hdr_len",
    [UTCP_DROP_TCP_BAD_CKSUM] = "tcp_bad_cksum",
    [UTCP_DROP_TCP_BAD_OPT_LEN] = "tcp_bad_opt_len",
    [UTCP_DROP_TCP_BAD_PORT] = "tcp_bad_port",
    [UTCP_DROP_TX_NO_BUFFER] = "tx_no_buffer",
    [UTCP_DROP_EVENT_QUEUE_FULL] = "event_queue_full",
};

static const char *const drop_texts[UTCP_DROP__COUNT] = {
    [UTCP_DROP_NONE] = "not dropped",
#define DROP_TEXT(name, text) [UTCP_DROP_##name] = text,
    UTCP_DROP_LIST(DROP_TEXT)
#undef DROP_TEXT
};

const char *utcp_drop_name(enum utcp_drop reason) {
  if ((unsigned)reason >= UTCP_DROP__COUNT || drop_names[reason] == NULL) return "unknown";
  return drop_names[reason];
}

const char *utcp_drop_text(enum utcp_drop reason) {
  if ((unsigned)reason >= UTCP_DROP__COUNT) return "unknown drop reason";
  return drop_texts[reason];
}
