/* tcb: the TCP state machine of one stack, driven by an operation stream decoded from the input.
 * The harness plays the peer (10.0.0.2) and the application. Segments it injects take their
 * sequence and acknowledgment numbers as offsets from the connection's current state (so most
 * land in the window), with any flags, window and options; checksums are always correct (the
 * frames are built by the wire encoders). Payload is never taken from the input: the peer's byte
 * at sequence number x is fz_pat_peer(x) and the application writes fz_pat_app(offset), so the
 * harness checks every byte the application reads and every byte the stack sends.
 *
 * Header (8 bytes):
 *   u8 opt   bit 0-2: the stack offers wscale / timestamps / SACK; bit 3: active open
 *            (connect) instead of passive; bit 4: leave the handshake to the op stream;
 *            bit 5-7: the peer's SYN carries wscale / timestamps / SACK-permitted
 *   u8       buffer chunks (2..65)
 *   u8       reassembly nodes (low nibble + 1), ranges per connection (high nibble & 7, + 1)
 *   u8       max_conns (low 3 bits + 2), rcvbuf = 2 KiB << bits 3-5
 *   u8       sndbuf = 2 KiB << bits 0-2, Nagle off (bit 3), iw_segments 1..16 (bits 4-7)
 *   u8       the peer's window scale (0..15: above 14 is clamped by the stack)
 *   u16      the peer's MSS (0: no MSS option)
 * Ops (first byte, low 4 bits = kind; handles are slots 0..5: 0 the main connection, 1 the
 * listener, 2..5 accepted connections):
 *   0 time    u16 t: advance t ms (t < 0x8000) or (t & 0x7fff) * 100 ms; never backwards
 *   1 segment u8 flags, u8 sel (bits 0-1 seq base: RCV.NXT, IRS+1, right window edge, peer's
 *             own SND.NXT; bits 2-3 ack base: SND.UNA, SND.NXT, ISS+1, end of the stack's last
 *             segment; bits 4-5 ports: main connection, 40001->80, 40000->80, from the input;
 *             bit 6: peer TSval does not advance; bit 7: ack offset is large),
 *             i16 seq offset, i16 ack offset, u16 window, u8 option mask (MSS, WS, SACK_PERM,
 *             SACK, TS, EOL-padded junk) with their fields, u16 payload length (& 0x1fff)
 *   2 write   slot, u16 len        3 read     slot, u16 len (bit 4 of op: peek)
 *   4 shutdown slot, u8 how        5 close    slot            6 abort  slot
 *   7 setopt  slot, u8 opt, u32 value                         8 accept (into a free slot)
 *   9 connect u16 rport, u16 lport (main slot, when free)     10 listen u8 backlog (slot 1)
 *   11 starve u8 mask (chunks, reassembly nodes, TCBs), u8 ops: empty those pools' free lists
 *             for that many ops, so that every allocation in between fails, then give the
 *             entries back ("fail the next pool allocation": pools are fixed at creation, so
 *             allocation failure is a pool running dry, here on demand; tiny pools chosen in
 *             the header make it happen by itself too)
 * The run ends with the leak-checking teardown (all handles aborted, time run out). */
#include <stdlib.h>
#include <string.h>

#include "core/tcp_impl.h"
#include "fuzz.h"

#define SLOTS 6
#define S_MAIN 0
#define S_LISTEN 1

struct app_conn {
  utcp_conn_t c;
  uint64_t written; /* bytes the stack took from the application */
  uint64_t read;    /* bytes the application read */
  bool rd_shut;     /* after SHUT_RD the stack discards data: stop checking offsets */
};

static struct fz_host host;
static struct app_conn slot[SLOTS];
static uint8_t iobuf[65536];

/* The peer's view. */
static uint32_t peer_irs;     /* the peer's ISN on the main flow */
static uint32_t peer_nxt;     /* the peer's next sequence number */
static uint32_t peer_ts;      /* the peer's TSval clock */
static uint16_t main_lport, main_rport;

/* Pool starvation. */
static struct {
  int ops_left;
  uint32_t chunk_head, chunk_n;
  uint32_t node_head, node_n;
  uint32_t tcb_head;
  bool chunks, nodes, tcbs;
} starve;

static void starve_begin(struct utcp_stack *s, uint8_t mask, int ops) {
  struct utcp_tcp *tcp = s->tcp;
  if (starve.ops_left > 0) return;
  starve.ops_left = ops;
  starve.chunks = mask & 1;
  starve.nodes = mask & 2;
  starve.tcbs = mask & 4;
  if (starve.chunks) {
    starve.chunk_head = tcp->chunks.free_head;
    starve.chunk_n = tcp->chunks.n_free;
    tcp->chunks.free_head = 0;
    tcp->chunks.n_free = 0;
  }
  if (starve.nodes) {
    starve.node_head = tcp->reass.free_head;
    starve.node_n = tcp->reass.n_free;
    tcp->reass.free_head = 0;
    tcp->reass.n_free = 0;
  }
  if (starve.tcbs) {
    starve.tcb_head = tcp->free_head;
    tcp->free_head = 0;
  }
}

/* Gives the stolen entries back, appended to whatever was freed meanwhile. */
static void starve_end(struct utcp_stack *s) {
  struct utcp_tcp *tcp = s->tcp;
  if (starve.ops_left <= 0 && !starve.chunks && !starve.nodes && !starve.tcbs) return;
  if (starve.chunks && starve.chunk_head != 0) {
    uint32_t *link = &tcp->chunks.free_head;
    while (*link != 0) link = &tcp->chunks.chunks[*link - 1].next;
    *link = starve.chunk_head;
  }
  if (starve.chunks) tcp->chunks.n_free += starve.chunk_n;
  if (starve.nodes && starve.node_head != 0) {
    uint32_t *link = &tcp->reass.free_head;
    while (*link != 0) link = &tcp->reass.nodes[*link - 1].next;
    *link = starve.node_head;
  }
  if (starve.nodes) tcp->reass.n_free += starve.node_n;
  if (starve.tcbs && starve.tcb_head != 0) {
    uint32_t *link = &tcp->free_head;
    while (*link != 0) link = &tcp->tcbs[*link - 1].q_next;
    *link = starve.tcb_head;
  }
  memset(&starve, 0, sizeof starve);
}

static struct app_conn *pick(uint8_t b) { return &slot[b % SLOTS]; }

/* The main connection's variables, from the stack when the application holds it, otherwise
 * from the last segment the stack sent. */
struct view {
  uint32_t rcv_nxt, rcv_wnd, irs, snd_una, snd_nxt, iss;
};

static struct view view_now(struct fz_host *h) {
  struct view v = {0};
  struct utcp_tcp_info ti;
  if (slot[S_MAIN].c != 0 && utcp_tcp_info(h->s, slot[S_MAIN].c, &ti) == 0 &&
      ti.state >= UTCP_TCP_SYN_RECEIVED) {
    v.rcv_nxt = ti.rcv_nxt;
    v.rcv_wnd = ti.rcv_wnd;
    v.irs = ti.irs;
    v.snd_una = ti.snd_una;
    v.snd_nxt = ti.snd_nxt;
    v.iss = ti.iss;
    return v;
  }
  if (h->last.valid) {
    const struct utcp_seg *l = &h->last.seg;
    v.rcv_nxt = l->ack.v;
    v.rcv_wnd = (uint32_t)l->wnd << 7;
    v.snd_una = l->seq.v;
    v.snd_nxt = l->seq.v + utcp_seg_seqlen(l);
    v.iss = l->seq.v;
  }
  v.irs = peer_irs;
  return v;
}

static void read_slot(struct fz_host *h, struct app_conn *a, size_t len, bool peek) {
  if (a->c == 0) return;
  if (len > sizeof iobuf) len = sizeof iobuf;
  struct utcp_tcp_info ti;
  bool have_info = utcp_tcp_info(h->s, a->c, &ti) == 0;
  int rc = utcp_tcp_recv(h->s, a->c, iobuf, len, peek, h->now);
  if (rc < 0) {
    if (rc == UTCP_ERR_INVAL || rc == UTCP_ERR_BADF) {
      /* BADF only for a handle the application released; INVAL for a listener. */
      if (rc == UTCP_ERR_BADF) fz_fail("recv: BADF on a held handle");
    }
    return;
  }
  if ((size_t)rc > len) fz_fail("recv: returned %d for %zu", rc, len);
  if (have_info && !a->rd_shut) {
    uint32_t first = ti.irs + 1 + (uint32_t)a->read;
    for (int i = 0; i < rc; i++)
      if (iobuf[i] != fz_pat_peer(first + (uint32_t)i))
        fz_fail("recv: byte at seq %u is %02x, the peer sent %02x", first + (uint32_t)i, iobuf[i],
                fz_pat_peer(first + (uint32_t)i));
  }
  if (!peek) a->read += (uint64_t)rc;
}

static void write_slot(struct fz_host *h, struct app_conn *a, size_t len) {
  if (a->c == 0) return;
  if (len > sizeof iobuf) len = sizeof iobuf;
  for (size_t i = 0; i < len; i++) iobuf[i] = fz_pat_app(a->written + i);
  int rc = utcp_tcp_send(h->s, a->c, iobuf, len, h->now);
  if (rc == UTCP_ERR_BADF) fz_fail("send: BADF on a held handle");
  if (rc > 0) {
    if ((size_t)rc > len) fz_fail("send: took %d of %zu", rc, len);
    a->written += (uint64_t)rc;
  }
}

static void watch(struct fz_host *h, struct app_conn *a) {
  struct utcp_tcp_info ti;
  if (a->c != 0 && utcp_tcp_info(h->s, a->c, &ti) == 0 && ti.state != UTCP_TCP_LISTEN)
    fz_host_watch_flow(h, ti.lport, ti.rport, ti.iss);
}

static void release(struct fz_host *h, struct app_conn *a, bool abort_it) {
  if (a->c == 0) return;
  int rc = abort_it ? utcp_tcp_abort(h->s, a->c, h->now) : utcp_tcp_close(h->s, a->c, h->now);
  if (rc != 0) fz_fail("%s: %s on a held handle", abort_it ? "abort" : "close", utcp_strerror(rc));
  memset(a, 0, sizeof *a);
}

static void inject(struct fz_host *h, struct fz_in *in) {
  uint8_t flags = fz_u8(in);
  uint8_t sel = fz_u8(in);
  int16_t seq_off = (int16_t)fz_u16(in);
  int16_t ack_off = (int16_t)fz_u16(in);
  uint16_t wnd = fz_u16(in);
  uint8_t omask = fz_u8(in);
  struct view v = view_now(h);
  struct utcp_seg seg = {.flags = flags, .wnd = wnd};
  switch (sel & 3) {
    case 0: seg.seq = utcp_seq(v.rcv_nxt + (uint32_t)(int32_t)seq_off); break;
    case 1: seg.seq = utcp_seq(v.irs + 1 + (uint32_t)(int32_t)seq_off); break;
    case 2: seg.seq = utcp_seq(v.rcv_nxt + v.rcv_wnd + (uint32_t)(int32_t)seq_off); break;
    default: seg.seq = utcp_seq(peer_nxt + (uint32_t)(int32_t)seq_off); break;
  }
  uint32_t aoff = (sel & 0x80) ? (uint32_t)(int32_t)ack_off << 12 : (uint32_t)(int32_t)ack_off;
  switch ((sel >> 2) & 3) {
    case 0: seg.ack = utcp_seq(v.snd_una + aoff); break;
    case 1: seg.ack = utcp_seq(v.snd_nxt + aoff); break;
    case 2: seg.ack = utcp_seq(v.iss + 1 + aoff); break;
    default:
      seg.ack = utcp_seq(h->last.seg.seq.v + utcp_seg_seqlen(&h->last.seg) + aoff);
      break;
  }
  switch ((sel >> 4) & 3) {
    case 0: seg.sport = main_rport; seg.dport = main_lport; break;
    case 1: seg.sport = FZ_PEER_PORT + 1; seg.dport = FZ_LOCAL_PORT; break;
    case 2: seg.sport = FZ_PEER_PORT; seg.dport = FZ_LOCAL_PORT; break;
    default: seg.sport = fz_u16(in); seg.dport = fz_u16(in); break;
  }
  if (omask & 0x01) {
    seg.opt.present |= UTCP_OPT_MSS;
    seg.opt.mss = fz_u16(in);
  }
  if (omask & 0x02) {
    seg.opt.present |= UTCP_OPT_WSCALE;
    seg.opt.wscale = fz_u8(in);
  }
  if (omask & 0x04) seg.opt.present |= UTCP_OPT_SACK_PERM;
  if (omask & 0x08) {
    seg.opt.present |= UTCP_OPT_SACK;
    seg.opt.sack_count = (uint8_t)(fz_u8(in) % UTCP_TCP_MAX_SACK + 1);
    for (int i = 0; i < seg.opt.sack_count; i++) {
      uint32_t l = v.snd_una + (uint32_t)(int32_t)(int16_t)fz_u16(in);
      seg.opt.sack[i].left = utcp_seq(l);
      seg.opt.sack[i].right = utcp_seq(l + fz_u16(in));
    }
  }
  if (omask & 0x10) {
    seg.opt.present |= UTCP_OPT_TS;
    if (!(sel & 0x40)) peer_ts += 1 + (omask >> 5);
    seg.opt.ts_val = peer_ts;
    seg.opt.ts_ecr = h->peer_ts_seen + (uint32_t)(int32_t)(int8_t)fz_u8(in);
  }
  size_t len = fz_u16(in) & 0x1fff;
  static uint8_t payload[0x2000];
  uint32_t first = seg.seq.v + ((flags & UTCP_TCP_SYN) ? 1u : 0u);
  for (size_t i = 0; i < len; i++) payload[i] = fz_pat_peer(first + (uint32_t)i);
  seg.payload = payload;
  seg.len = len;
  if (seg.sport == main_rport && seg.dport == main_lport) {
    uint32_t end = seg.seq.v + utcp_seg_seqlen(&seg);
    if (utcp_seq_gt(utcp_seq(end), utcp_seq(peer_nxt))) peer_nxt = end;
  }
  fz_host_inject(h, &seg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  struct fz_host *h = &host;
  struct fz_in in = {data, size};
  memset(slot, 0, sizeof slot);
  memset(&starve, 0, sizeof starve);

  uint8_t o = fz_u8(&in);
  struct utcp_stack_config cfg;
  fz_host_config(&cfg);
  cfg.tcp.wscale = o & 1;
  cfg.tcp.timestamps = o & 2;
  cfg.tcp.sack = o & 4;
  cfg.tcp.chunks = fz_u8(&in) % 64 + 2;
  uint8_t b = fz_u8(&in);
  cfg.tcp.reass_nodes = (b & 15) + 1;
  cfg.tcp.reass_max_ranges = ((b >> 4) & 7) + 1;
  b = fz_u8(&in);
  cfg.tcp.max_conns = (b & 7) + 2;
  cfg.tcp.syn_backlog = 2;
  cfg.tcp.rcvbuf_bytes = 2048u << ((b >> 3) & 7);
  b = fz_u8(&in);
  cfg.tcp.sndbuf_bytes = 2048u << (b & 7);
  bool nodelay = b & 8;
  cfg.tcp.iw_segments = (b >> 4) + 1u;
  uint8_t peer_ws = fz_u8(&in);
  uint16_t peer_mss = fz_u16(&in);
  if (!fz_host_init(h, &cfg)) fz_fail("config refused: %s", "check the header decoding");

  struct utcp_tcp_opts popts = {0};
  if (o & 0x20) { popts.present |= UTCP_OPT_WSCALE; popts.wscale = peer_ws; }
  if (o & 0x40) { popts.present |= UTCP_OPT_TS; popts.ts_val = 5000; }
  if (o & 0x80) popts.present |= UTCP_OPT_SACK_PERM;
  if (peer_mss != 0) { popts.present |= UTCP_OPT_MSS; popts.mss = peer_mss; }
  peer_irs = 0xfffff000u; /* wraps soon: sequence arithmetic is exercised */
  peer_ts = 5000;
  bool active = o & 8, manual = o & 0x10;
  if (active) {
    main_lport = 1234;
    main_rport = FZ_PEER_PORT;
    if (utcp_tcp_listen(h->s, FZ_LOCAL_PORT, 4, &slot[S_LISTEN].c) != 0) fz_fail("listen");
    if (utcp_tcp_connect(h->s, FZ_PEER_IP, main_rport, main_lport, h->now, &slot[S_MAIN].c) != 0)
      fz_fail("connect");
    if (nodelay) utcp_tcp_setopt(h->s, slot[S_MAIN].c, UTCP_TCPOPT_NODELAY, 1);
    watch(h, &slot[S_MAIN]);
    peer_nxt = peer_irs;
    if (!manual) {
      struct utcp_seg syn = h->last.seg;
      struct utcp_seg sa = {.sport = main_rport, .dport = main_lport, .seq = utcp_seq(peer_irs),
                            .ack = utcp_seq_add(syn.seq, 1), .flags = UTCP_TCP_SYN | UTCP_TCP_ACK,
                            .wnd = 65535, .opt = popts};
      sa.opt.ts_ecr = syn.opt.ts_val;
      fz_host_inject(h, &sa);
      peer_nxt = peer_irs + 1;
    }
  } else {
    main_lport = FZ_LOCAL_PORT;
    main_rport = FZ_PEER_PORT;
    if (manual) {
      if (utcp_tcp_listen(h->s, FZ_LOCAL_PORT, 4, &slot[S_LISTEN].c) != 0) fz_fail("listen");
      struct utcp_seg syn = {.sport = main_rport, .dport = main_lport, .seq = utcp_seq(peer_irs),
                             .flags = UTCP_TCP_SYN, .wnd = 65535, .opt = popts};
      fz_host_inject(h, &syn);
    } else {
      slot[S_MAIN].c = fz_host_establish(h, main_rport, peer_irs, &popts, &slot[S_LISTEN].c);
      if (slot[S_MAIN].c == 0) fz_fail("handshake failed");
      if (nodelay) utcp_tcp_setopt(h->s, slot[S_MAIN].c, UTCP_TCPOPT_NODELAY, 1);
      peer_ts = 5001;
    }
    peer_nxt = peer_irs + 1;
  }
  fz_host_events(h, 0);

  while (fz_more(&in)) {
    uint8_t op = fz_u8(&in);
    switch (op & 15) {
      case 0: {
        uint16_t t = fz_u16(&in);
        uint64_t d = t < 0x8000 ? t * FZ_MS : (uint64_t)(t & 0x7fff) * 100 * FZ_MS;
        fz_host_advance(h, h->now + d);
        break;
      }
      case 1: inject(h, &in); break;
      case 2: { struct app_conn *a = pick(fz_u8(&in)); write_slot(h, a, fz_u16(&in)); break; }
      case 3: { struct app_conn *a = pick(fz_u8(&in)); read_slot(h, a, fz_u16(&in), op & 0x10); break; }
      case 4: {
        struct app_conn *a = pick(fz_u8(&in));
        int how = fz_u8(&in) % 5;
        if (a->c != 0 && utcp_tcp_shutdown(h->s, a->c, how, h->now) == 0 && (how & UTCP_SHUT_RD))
          a->rd_shut = true;
        break;
      }
      case 5: release(h, pick(fz_u8(&in)), false); break;
      case 6: release(h, pick(fz_u8(&in)), true); break;
      case 7: {
        struct app_conn *a = pick(fz_u8(&in));
        int opt = fz_u8(&in) % 13;
        int32_t val = (int32_t)fz_u32(&in);
        if (a->c != 0) (void)utcp_tcp_setopt(h->s, a->c, opt, val);
        break;
      }
      case 8:
        if (slot[S_LISTEN].c != 0) {
          for (int i = 0; i < SLOTS; i++) {
            if (i == S_LISTEN || slot[i].c != 0) continue;
            if (utcp_tcp_accept(h->s, slot[S_LISTEN].c, &slot[i].c) == 0) watch(h, &slot[i]);
            break;
          }
        }
        break;
      case 9: {
        uint16_t rport = fz_u16(&in), lport = fz_u16(&in);
        if (slot[S_MAIN].c == 0 &&
            utcp_tcp_connect(h->s, FZ_PEER_IP, rport, lport, h->now, &slot[S_MAIN].c) == 0) {
          struct utcp_tcp_info ti;
          utcp_tcp_info(h->s, slot[S_MAIN].c, &ti);
          main_lport = ti.lport;
          main_rport = ti.rport;
          watch(h, &slot[S_MAIN]);
        }
        break;
      }
      case 10: {
        uint8_t backlog = fz_u8(&in);
        if (slot[S_LISTEN].c == 0) (void)utcp_tcp_listen(h->s, FZ_LOCAL_PORT, backlog, &slot[S_LISTEN].c);
        break;
      }
      case 11: {
        uint8_t mask = fz_u8(&in);
        starve_begin(h->s, mask, fz_u8(&in) % 8 + 1);
        continue; /* the next ops run starved */
      }
      default: break;
    }
    if (starve.ops_left > 0 && --starve.ops_left == 0) starve_end(h->s);
    fz_host_events(h, 0);
    /* Invariants the application can see. */
    struct utcp_tcp_info ti;
    if (slot[S_MAIN].c != 0 && utcp_tcp_info(h->s, slot[S_MAIN].c, &ti) == 0 &&
        ti.state >= UTCP_TCP_SYN_RECEIVED) {
      if (utcp_seq_gt(utcp_seq(ti.snd_una), utcp_seq(ti.snd_nxt)))
        fz_fail("SND.UNA %u beyond SND.NXT %u", ti.snd_una, ti.snd_nxt);
    }
    if (utcp_tcp_chunks_in_use(h->s) > cfg.tcp.chunks) fz_fail("more chunks in use than exist");
  }
  starve_end(h->s);
  utcp_conn_t handles[SLOTS];
  for (int i = 0; i < SLOTS; i++) handles[i] = slot[i].c;
  fz_host_teardown(h, handles, SLOTS);
  return 0;
}
