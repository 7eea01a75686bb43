/* ICMP: echo reply (RFC 792, RFC 1122 3.2.2.6) and echo request for the stack's own pings. */
#include <string.h>

#include "stack_impl.h"

/* Sends an echo message; data NULL means data_len bytes of a counting pattern. */
static int send_echo(struct utcp_stack *s, uint32_t dst, uint8_t type, uint16_t id,
                     uint16_t seq, const uint8_t *data, size_t data_len) {
  struct utcp_ip_out out;
  int rc = utcp_ip_out_begin(s, dst, UTCP_IPPROTO_ICMP, UTCP_ICMP_HLEN + data_len, &out);
  if (rc < 0) return rc;
  if (data == NULL) {
    uint8_t *pattern = out.l4 + UTCP_ICMP_HLEN;
    for (size_t i = 0; i < data_len; i++) pattern[i] = (uint8_t)(0x10 + i);
    data = pattern;
  }
  struct utcp_icmp msg = {.type = type, .id = id, .seq = seq, .data = data, .data_len = data_len};
  size_t n = utcp_icmp_emit(&msg, out.l4, out.l4_cap);
  UTCP_ASSERT(n == out.l4_cap);
  utcp_ip_out_commit(s, &out, n);
  s->ctr.icmp_out_msgs++;
  if (type == UTCP_ICMP_ECHO_REPLY) {
    s->ctr.icmp_out_echo_reps++;
  } else {
    s->ctr.icmp_out_echos++;
  }
  return 0;
}

void utcp_icmp_input(struct utcp_stack *s, const struct utcp_ipv4 *ip, uint64_t now) {
  (void)now;
  struct utcp_icmp msg;
  s->ctr.icmp_in_msgs++;
  enum utcp_drop why = utcp_icmp_parse(ip->payload, ip->payload_len, &msg);
  if (why != UTCP_DROP_NONE) {
    s->ctr.icmp_in_errors++;
    utcp_count_drop(s, why);
    return;
  }
  switch (msg.type) {
    case UTCP_ICMP_ECHO_REQUEST:
      s->ctr.icmp_in_echos++;
      /* RFC 1122 3.2.2.6: the reply carries the request's data unchanged, and its source is
       * the address the request was sent to (ours). */
      (void)send_echo(s, ip->src, UTCP_ICMP_ECHO_REPLY, msg.id, msg.seq, msg.data, msg.data_len);
      return;
    case UTCP_ICMP_ECHO_REPLY: {
      s->ctr.icmp_in_echo_reps++;
      struct utcp_event ev = {
          .type = UTCP_EV_ECHO_REPLY, .id = msg.id, .seq = msg.seq, .addr = ip->src};
      utcp_stack_event(s, &ev);
      return;
    }
    default:
      utcp_count_drop(s, UTCP_DROP_ICMP_UNHANDLED);
      return;
  }
}

int utcp_stack_ping(struct utcp_stack *s, uint32_t dst, uint16_t id, uint16_t seq,
                    size_t payload_len, uint64_t now) {
  if (now > s->now) s->now = now;
  if (payload_len > utcp_ip_l4_max(s) - UTCP_ICMP_HLEN) return UTCP_ERR_MSGSIZE;
  return send_echo(s, dst, UTCP_ICMP_ECHO_REQUEST, id, seq, NULL, payload_len);
}
