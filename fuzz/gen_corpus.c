/* Writes the seed corpora, fuzz/corpus/<target>/<name>, from the project's own encoders:
 *   fuzz_gen_corpus DIR            write (overwrite) every seed under DIR
 *   fuzz_gen_corpus --check DIR    exit 1 if a seed under DIR differs from what would be written
 * Seeds are small and named for what they hold; each is a valid program for its harness's
 * input format (see the comment at the top of each fuzz_<target>.c). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

struct out {
  uint8_t b[65536];
  size_t n;
};

static const char *root;
static bool check_mode;
static int differences;

static void u8(struct out *o, uint32_t v) {
  if (o->n < sizeof o->b) o->b[o->n++] = (uint8_t)v;
}
static void u16(struct out *o, uint32_t v) { u8(o, v >> 8); u8(o, v); }
static void u32(struct out *o, uint32_t v) { u16(o, v >> 16); u16(o, v); }
static void raw(struct out *o, const void *p, size_t n) {
  for (size_t i = 0; i < n; i++) u8(o, ((const uint8_t *)p)[i]);
}

static void emit(const char *target, const char *name, const struct out *o) {
  char path[512];
  snprintf(path, sizeof path, "%s/%s", root, target);
  if (!check_mode && mkdir(path, 0777) != 0 && errno != EEXIST) {
    perror(path);
    exit(2);
  }
  snprintf(path, sizeof path, "%s/%s/%s", root, target, name);
  if (check_mode) {
    static uint8_t have[65536 + 1];
    FILE *f = fopen(path, "rb");
    size_t n = f ? fread(have, 1, sizeof have, f) : 0;
    if (f) fclose(f);
    if (!f || n != o->n || memcmp(have, o->b, n) != 0) {
      fprintf(stderr, "%s: differs from the generator's output (run fuzz_gen_corpus %s)\n", path, root);
      differences++;
    }
    return;
  }
  FILE *f = fopen(path, "wb");
  if (f == NULL || fwrite(o->b, 1, o->n, f) != o->n || fclose(f) != 0) {
    perror(path);
    exit(2);
  }
}

/* ---- wire: frames against the harness's stack (listener :80, one connection from :40000) ---- */

static struct fz_host host;
static uint32_t w_iss, w_rcv, w_tsecr;

static void wire_frame(struct out *o, uint8_t ctl, const uint8_t *f, size_t n) {
  u8(o, ctl);
  u16(o, (uint32_t)n);
  raw(o, f, n);
}

static void wire_seg(struct out *o, uint8_t ctl, struct utcp_seg seg) {
  uint8_t f[UTCP_ETH_HLEN + 9100];
  if (seg.sport == 0) seg.sport = FZ_PEER_PORT;
  if (seg.dport == 0) seg.dport = FZ_LOCAL_PORT;
  size_t n = fz_build_tcp_frame(&fz_local_mac, &fz_peer_mac, FZ_PEER_IP, FZ_LOCAL_IP, &seg, f, sizeof f);
  wire_frame(o, ctl, f, n);
}

static struct utcp_seg est(uint32_t seq_off, uint8_t flags, size_t len) {
  static uint8_t pay[4096];
  for (size_t i = 0; i < len && i < sizeof pay; i++) pay[i] = fz_pat_peer(w_rcv + seq_off + (uint32_t)i);
  struct utcp_seg s = {.seq = utcp_seq(w_rcv + seq_off), .ack = utcp_seq(w_iss + 1),
                       .flags = flags, .wnd = 1024, .payload = pay, .len = len};
  s.opt.present = UTCP_OPT_TS;
  s.opt.ts_val = 2000 + seq_off;
  s.opt.ts_ecr = w_tsecr;
  return s;
}

static void gen_wire(void) {
  struct utcp_stack_config cfg;
  fz_host_config(&cfg);
  if (!fz_host_init(&host, &cfg)) exit(2);
  utcp_conn_t l = 0;
  struct utcp_tcp_opts opts = fz_wire_opts();
  utcp_conn_t c = fz_host_establish(&host, FZ_PEER_PORT, FZ_WIRE_IRS, &opts, &l);
  struct utcp_tcp_info ti;
  if (c == 0 || utcp_tcp_info(host.s, c, &ti) != 0) exit(2);
  w_iss = ti.iss;
  w_rcv = ti.rcv_nxt;
  w_tsecr = host.peer_ts_seen;
  utcp_conn_t hs[2] = {c, l};
  fz_host_teardown(&host, hs, 2);

  struct out o;
  struct utcp_tcp_opts all = {.present = UTCP_OPT_MSS | UTCP_OPT_WSCALE | UTCP_OPT_SACK_PERM | UTCP_OPT_TS,
                              .mss = 1460, .wscale = 14, .ts_val = 77};
  o.n = 0;
  wire_seg(&o, 0, (struct utcp_seg){.sport = FZ_PEER_PORT + 1, .seq = utcp_seq(5000),
                                    .flags = UTCP_TCP_SYN, .wnd = 65535, .opt = all});
  emit("wire", "syn-all-options", &o);
  o.n = 0;
  wire_seg(&o, 0, (struct utcp_seg){.sport = FZ_PEER_PORT + 2, .seq = utcp_seq(9000), .ack = utcp_seq(1),
                                    .flags = UTCP_TCP_SYN | UTCP_TCP_ACK, .wnd = 65535, .opt = all});
  emit("wire", "synack-all-options", &o);
  o.n = 0;
  wire_seg(&o, 1, est(0, UTCP_TCP_ACK | UTCP_TCP_PSH, 100));
  emit("wire", "data", &o);
  o.n = 0;
  wire_seg(&o, 1, est(0, UTCP_TCP_ACK | UTCP_TCP_FIN, 0));
  emit("wire", "fin", &o);
  o.n = 0;
  wire_seg(&o, 1, est(0, UTCP_TCP_RST, 0));
  emit("wire", "rst-exact", &o);
  o.n = 0;
  wire_seg(&o, 1, est(300, UTCP_TCP_ACK, 200));
  wire_seg(&o, 1, est(100, UTCP_TCP_ACK, 250));
  wire_seg(&o, 1, est(0, UTCP_TCP_ACK, 150));
  emit("wire", "out-of-order-overlapping", &o);
  o.n = 0;
  {
    struct utcp_seg s = est(0, UTCP_TCP_ACK, 0);
    s.opt.present |= UTCP_OPT_SACK;
    s.opt.sack_count = 3;
    for (int i = 0; i < 3; i++) {
      s.opt.sack[i].left = utcp_seq(w_iss + 1 + 1000u * (uint32_t)(i + 1));
      s.opt.sack[i].right = utcp_seq(w_iss + 1 + 1000u * (uint32_t)(i + 1) + 500);
    }
    s.opt.present &= (uint8_t)~UTCP_OPT_TS;
    s.opt.present |= UTCP_OPT_TS;
    wire_seg(&o, 1, s);
  }
  emit("wire", "sack-blocks", &o);
  o.n = 0;
  {
    struct utcp_arp a = {.op = UTCP_ARP_REQUEST, .sha = fz_peer_mac, .spa = FZ_PEER_IP,
                         .tpa = FZ_LOCAL_IP};
    uint8_t f[64] = {0};
    struct utcp_eth e = {.dst = utcp_mac_broadcast, .src = fz_peer_mac, .type = UTCP_ETHERTYPE_ARP};
    size_t n = utcp_eth_emit(&e, f, sizeof f);
    n += utcp_arp_emit(&a, f + n, sizeof f - n);
    wire_frame(&o, 0, f, n < 60 ? 60 : n);
  }
  emit("wire", "arp-request", &o);
  o.n = 0;
  {
    uint8_t f[128];
    struct utcp_eth e = {.dst = fz_local_mac, .src = fz_peer_mac, .type = UTCP_ETHERTYPE_IPV4};
    size_t n = utcp_eth_emit(&e, f, sizeof f);
    uint8_t data[32];
    for (int i = 0; i < 32; i++) data[i] = (uint8_t)i;
    struct utcp_icmp ic = {.type = UTCP_ICMP_ECHO_REQUEST, .id = 7, .seq = 1, .data = data, .data_len = 32};
    size_t il = utcp_icmp_emit(&ic, f + n + UTCP_IPV4_HLEN, sizeof f - n - UTCP_IPV4_HLEN);
    struct utcp_ipv4 ip = {.ttl = 64, .proto = UTCP_IPPROTO_ICMP, .src = FZ_PEER_IP, .dst = FZ_LOCAL_IP,
                           .payload_len = il};
    n += utcp_ipv4_emit(&ip, f + n, sizeof f - n);
    wire_frame(&o, 0, f, n + il);
  }
  emit("wire", "icmp-echo", &o);
  o.n = 0;
  wire_seg(&o, 0x81, (struct utcp_seg){.sport = 5555, .dport = 81, .seq = utcp_seq(1), .flags = UTCP_TCP_SYN});
  emit("wire", "syn-closed-port-fixup", &o);
}

/* ---- tcb: header + ops (fuzz_tcb.c) ---- */

enum { T_TIME, T_SEG, T_WRITE, T_READ, T_SHUT, T_CLOSE, T_ABORT, T_SETOPT, T_ACCEPT, T_CONNECT,
       T_LISTEN, T_STARVE };

static void tcb_header(struct out *o, uint8_t opt) {
  o->n = 0;
  u8(o, opt);
  u8(o, 62); /* 64 chunks */
  u8(o, 0x3f); /* 16 nodes, 4 ranges */
  u8(o, 0x06 | (5 << 3)); /* 8 conns, 64 KiB rcvbuf */
  u8(o, 0x05 | (9 << 4)); /* 64 KiB sndbuf, IW10 */
  u8(o, 7);
  u16(o, 1460);
}
static void t_time(struct out *o, uint32_t ms) { u8(o, T_TIME); u16(o, ms); }
/* sel: seq base | ack base << 2 | ports << 4 */
static void t_seg(struct out *o, uint8_t flags, uint8_t sel, int16_t so, int16_t ao, uint16_t wnd,
                  uint8_t omask, size_t len) {
  u8(o, T_SEG);
  u8(o, flags);
  u8(o, sel);
  u16(o, (uint16_t)so);
  u16(o, (uint16_t)ao);
  u16(o, wnd);
  u8(o, omask);
  if (omask & 0x10) u8(o, 0);
  u16(o, (uint32_t)len);
}
static void t_app(struct out *o, uint8_t op, uint8_t slot, int len) {
  u8(o, op);
  u8(o, slot);
  if (len >= 0) u16(o, (uint32_t)len);
}

static void gen_tcb(void) {
  struct out o;
  const uint8_t A = UTCP_TCP_ACK, TSO = 0x10; /* timestamps in every peer segment */
  const uint8_t ALL = 0x07 | 0xe0;            /* every option on both sides */
  /* Passive, established by the harness: data both ways, FIN from the peer, close. */
  tcb_header(&o, ALL);
  t_app(&o, T_WRITE, 0, 3000);
  t_time(&o, 10);
  t_seg(&o, A, 1 << 2, 0, 0, 1024, TSO, 0);
  t_seg(&o, A | UTCP_TCP_PSH, 0, 0, 0, 1024, TSO, 700);
  t_app(&o, T_READ, 0, 4096);
  t_seg(&o, A | UTCP_TCP_FIN, 0, 0, 0, 1024, TSO, 0);
  t_app(&o, T_READ, 0, 4096);
  t_app(&o, T_CLOSE, 0, -1);
  t_seg(&o, A, 0, 0, 1, 1024, TSO, 0);
  emit("tcb", "passive-data-fin-close", &o);
  /* Out-of-order and overlapping segments, then the hole. */
  tcb_header(&o, ALL);
  t_seg(&o, A, 0, 1000, 0, 1024, TSO, 500);
  t_seg(&o, A, 0, 3000, 0, 1024, TSO, 300);
  t_seg(&o, A, 0, 1200, 0, 1024, TSO, 2000);
  t_seg(&o, A, 0, 0, 0, 1024, TSO, 1100);
  t_app(&o, T_READ, 0, 8192);
  emit("tcb", "ooo-overlap-fill", &o);
  /* Active open, the handshake left to the ops: SYN-ACK with every option. */
  tcb_header(&o, ALL | 0x08 | 0x10);
  u8(&o, T_SEG); u8(&o, UTCP_TCP_SYN | A); u8(&o, 1 | (2 << 2)); u16(&o, 0xffff); u16(&o, 0);
  u16(&o, 65535); u8(&o, 0x01 | 0x02 | 0x04 | 0x10); u16(&o, 1400); u8(&o, 7); u8(&o, 0); u16(&o, 0);
  t_app(&o, T_WRITE, 0, 5000);
  t_time(&o, 5);
  t_seg(&o, A, 0, 0, 0, 2048, TSO, 0);
  emit("tcb", "active-synack-all-options", &o);
  /* SACK: send a lot, then duplicate ACKs carrying SACK blocks (fast retransmit). */
  tcb_header(&o, ALL);
  t_app(&o, T_WRITE, 0, 30000);
  t_time(&o, 1);
  for (int i = 0; i < 4; i++) {
    u8(&o, T_SEG); u8(&o, A); u8(&o, 0); u16(&o, 0); u16(&o, 0); u16(&o, 2048);
    u8(&o, 0x08 | 0x10); u8(&o, 1); u16(&o, (uint16_t)(1448 * (i + 1))); u16(&o, 1448);
    u16(&o, (uint16_t)(1448 * (i + 3))); u16(&o, 1448); u8(&o, 0); u16(&o, 0);
  }
  t_time(&o, 1500);
  emit("tcb", "sack-fast-retransmit", &o);
  /* RST exactly at RCV.NXT, and in the window but not exact (challenge ACK). */
  tcb_header(&o, ALL);
  t_seg(&o, UTCP_TCP_RST, 0, 10, 0, 0, 0, 0);
  t_seg(&o, UTCP_TCP_SYN, 0, 0, 0, 0, TSO, 0);
  t_seg(&o, UTCP_TCP_RST, 0, 0, 0, 0, 0, 0);
  emit("tcb", "rst-challenge-then-exact", &o);
  /* Zero window and persist probes, then the window opens. */
  tcb_header(&o, ALL);
  t_seg(&o, A, 0, 0, 0, 0, TSO, 0);
  t_app(&o, T_WRITE, 0, 4000);
  t_time(&o, 0x8000 | 20);
  t_time(&o, 0x8000 | 50);
  t_seg(&o, A, 1 << 2, 0, 0, 4096, TSO, 0);
  emit("tcb", "zero-window-persist", &o);
  /* Pools run dry while data arrives. */
  tcb_header(&o, ALL);
  u8(&o, T_STARVE); u8(&o, 7); u8(&o, 3);
  t_seg(&o, A, 0, 500, 0, 1024, TSO, 400);
  t_seg(&o, A, 0, 0, 0, 1024, TSO, 400);
  t_seg(&o, UTCP_TCP_SYN, 0x10, 0, 0, 1024, 0, 0);
  t_seg(&o, A, 0, 0, 0, 1024, TSO, 900);
  t_app(&o, T_READ, 0, 8192);
  emit("tcb", "starve-pools", &o);
  /* Second connection through the listener, accepted, shutdown both ways, options set. */
  tcb_header(&o, 0x02 | 0x40);
  u8(&o, T_SEG); u8(&o, UTCP_TCP_SYN); u8(&o, 1 << 4); u16(&o, 0); u16(&o, 0); u16(&o, 65535);
  u8(&o, 0x01 | 0x10); u16(&o, 536); u8(&o, 0); u16(&o, 0);
  u8(&o, T_SEG); u8(&o, A); u8(&o, (1 << 4) | (3 << 2)); u16(&o, 1); u16(&o, 0);
  u16(&o, 65535); u8(&o, 0x10); u8(&o, 0); u16(&o, 0);
  u8(&o, T_ACCEPT);
  u8(&o, T_SETOPT); u8(&o, 2); u8(&o, UTCP_TCPOPT_NODELAY); u32(&o, 1);
  t_app(&o, T_WRITE, 2, 100);
  u8(&o, T_SHUT); u8(&o, 2); u8(&o, UTCP_SHUT_RDWR);
  t_time(&o, 0x8000 | 700);
  emit("tcb", "second-conn-accept-shutdown", &o);
  /* Abort, time passes, reconnect, keepalive. */
  tcb_header(&o, 0x00);
  t_app(&o, T_ABORT, 0, -1);
  u8(&o, T_CONNECT); u16(&o, 7000); u16(&o, 0);
  u8(&o, T_SETOPT); u8(&o, 0); u8(&o, UTCP_TCPOPT_KEEPALIVE); u32(&o, 1);
  t_time(&o, 0x8000 | 0x7fff);
  emit("tcb", "abort-reconnect-timeouts", &o);
}

/* ---- reass: header + ops (fuzz_reass.c) ---- */

static void gen_reass(void) {
  struct out o;
  o.n = 0;
  u32(&o, 0xffffff00u); u16(&o, 20000); u8(&o, 15); u8(&o, 7); u8(&o, 3); u16(&o, 0);
  u8(&o, 0); u16(&o, 100); u16(&o, 50);      /* [100, 150) */
  u8(&o, 0); u16(&o, 300); u16(&o, 50);      /* [300, 350) */
  u8(&o, 0); u16(&o, 120); u16(&o, 250);     /* overlaps both, fills the gap */
  u8(&o, 3); u8(&o, 4);                      /* SACK blocks */
  u8(&o, 2); u16(&o, 100);                   /* pull */
  emit("reass", "overlap-join-pull", &o);
  o.n = 0;
  u32(&o, 12345); u16(&o, 65535); u8(&o, 3); u8(&o, 2); u8(&o, 1); u16(&o, 200);
  for (int i = 0; i < 6; i++) { u8(&o, 0x40); u16(&o, (uint16_t)(10 + 40 * i)); u16(&o, 20); }
  u8(&o, 0x80); u16(&o, 5000); u16(&o, 3000);
  u8(&o, 0x43);
  u8(&o, 2); u16(&o, 10);
  emit("reass", "limits-two-instances", &o);
}

/* ---- pair: header + fates (fuzz_pair.c) ---- */

static void gen_pair(void) {
  struct out o;
  o.n = 0;
  u32(&o, 1); u16(&o, 2000); u16(&o, 500); u8(&o, 5); u8(&o, 0x3f);
  emit("pair", "clean-both-ways", &o);
  o.n = 0;
  u32(&o, 2); u16(&o, 4000); u16(&o, 100); u8(&o, 10); u8(&o, 0x3f);
  const uint8_t fates[] = {0, 0, 0, 0xa0, 0, 0xb1, 0xc3, 0, 0xa0, 0xa0, 0, 0xc1, 0};
  raw(&o, fates, sizeof fates);
  emit("pair", "drop-dup-reorder", &o);
  o.n = 0;
  u32(&o, 3); u16(&o, 1000); u16(&o, 1000); u8(&o, 2); u8(&o, 0x40 | 0x80 | 0x12);
  u8(&o, 0); u8(&o, 0); u8(&o, 0); u8(&o, 0xd0); u16(&o, 400); u8(&o, 0xe0); u16(&o, 0);
  u8(&o, 0xe4); u16(&o, 1000); u8(&o, 0xe8); u16(&o, 30);
  emit("pair", "flip-rewrite-small-buffers", &o);
}

/* ---- canary ---- */

static void gen_canary(void) {
  struct out o;
  uint8_t f[64];
  struct utcp_seg s = {.sport = 1, .dport = 2, .flags = UTCP_TCP_ACK, .payload = (const uint8_t *)"AAAA", .len = 4};
  o.n = 0;
  raw(&o, f, utcp_tcp_emit(&s, FZ_PEER_IP, FZ_LOCAL_IP, f, sizeof f));
  emit("canary", "segment-aaaa", &o);
}

int main(int argc, char **argv) {
  if (argc == 3 && strcmp(argv[1], "--check") == 0) {
    check_mode = true;
    root = argv[2];
  } else if (argc == 2) {
    root = argv[1];
    if (mkdir(root, 0777) != 0 && errno != EEXIST) {
      perror(root);
      return 2;
    }
  } else {
    fprintf(stderr, "usage: %s [--check] DIR\n", argv[0]);
    return 2;
  }
  gen_wire();
  gen_tcb();
  gen_reass();
  gen_pair();
  gen_canary();
  if (differences) return 1;
  return 0;
}
