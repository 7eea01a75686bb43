/* TCP/IPv4 parse and emit: a full-sized data segment with the timestamp option, as the stack
 * sees it on the established fast path (Ethernet, IPv4 and TCP headers, checksums verified). */
#include <string.h>

#include "bench/fixture.h"
#include "ubench.h"

static struct utcp_seg data_seg(const uint8_t *payload, size_t len) {
  struct utcp_seg seg = {.sport = 40000, .dport = 80, .seq = utcp_seq(1000), .ack = utcp_seq(2000),
                         .flags = UTCP_TCP_ACK | UTCP_TCP_PSH, .wnd = 4096, .payload = payload,
                         .len = len};
  seg.opt.present = UTCP_OPT_TS;
  seg.opt.ts_val = 12345;
  seg.opt.ts_ecr = 678;
  return seg;
}

static void parse_case(struct ubench_state *st) {
  size_t plen = (size_t)ubench_arg(st);
  static uint8_t payload[1448], frame[BF_FRAME_MAX];
  memset(payload, 0xab, sizeof payload);
  struct utcp_seg seg = data_seg(payload, plen);
  size_t n = bf_frame(frame, sizeof frame, BF_PEER_IP, BF_LOCAL_IP, &seg);
  ubench_bytes_per_op(st, (int64_t)n);
  while (ubench_run(st)) {
    struct utcp_eth eth;
    struct utcp_ipv4 ip;
    struct utcp_seg out;
    ubench_use(frame);
    if (utcp_eth_parse(frame, n, &eth) != UTCP_DROP_NONE ||
        utcp_ipv4_parse(eth.payload, eth.payload_len, &ip) != UTCP_DROP_NONE ||
        utcp_tcp_parse(ip.payload, ip.payload_len, ip.src, ip.dst, true, &out) != UTCP_DROP_NONE) {
      ubench_fail(st, "parse failed");
      break;
    }
    ubench_use(&out);
  }
}

static void emit_case(struct ubench_state *st) {
  size_t plen = (size_t)ubench_arg(st);
  static uint8_t payload[1448], frame[BF_FRAME_MAX];
  memset(payload, 0xcd, sizeof payload);
  struct utcp_seg seg = data_seg(payload, plen);
  size_t n = bf_frame(frame, sizeof frame, BF_LOCAL_IP, BF_PEER_IP, &seg);
  ubench_bytes_per_op(st, (int64_t)n);
  while (ubench_run(st)) {
    seg.seq.v += (uint32_t)plen;
    ubench_use(&seg);
    if (bf_frame(frame, sizeof frame, BF_LOCAL_IP, BF_PEER_IP, &seg) != n) {
      ubench_fail(st, "emit failed");
      break;
    }
    ubench_use(frame);
  }
}

void bench_register_wire(void) {
  ubench_register("tcp_parse/64", parse_case, 64);
  ubench_register("tcp_parse/1448", parse_case, 1448);
  ubench_register("tcp_emit/64", emit_case, 64);
  ubench_register("tcp_emit/1448", emit_case, 1448);
}
