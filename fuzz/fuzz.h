/* Shared pieces of the fuzz harnesses: the entry point every target defines (the libFuzzer
 * signature, so the same file also builds under libFuzzer), a reader that turns the input into
 * small integers, and a host that runs one utcp stack with a checking transmit sink, an
 * allocator that counts what the stack holds, and a teardown that fails on any leak.
 *
 * A harness reports a bug by aborting (assertion, sanitizer, fz_fail): the replay driver and
 * afl-fuzz both see that as a crash. Nothing here keeps state between runs except buffers. */
#ifndef UTCP_FUZZ_FUZZ_H
#define UTCP_FUZZ_FUZZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/stack.h"
#include "core/tcp.h"
#include "core/wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Prints a message and aborts: a finding. */
_Noreturn void fz_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- input reader: reads past the end yield zeros, so every input is a valid program ---- */
struct fz_in {
  const uint8_t *p;
  size_t n;
};
static inline bool fz_more(const struct fz_in *in) { return in->n > 0; }
uint8_t fz_u8(struct fz_in *in);
uint16_t fz_u16(struct fz_in *in);
uint32_t fz_u32(struct fz_in *in);
/* Takes up to n bytes (fewer at the end); returns how many and points *out at them. */
size_t fz_bytes(struct fz_in *in, size_t n, const uint8_t **out);

/* ---- addresses of the fuzzed stack and its scripted peer ---- */
#define FZ_LOCAL_IP 0x0a000001u /* 10.0.0.1: the stack */
#define FZ_PEER_IP 0x0a000002u  /* 10.0.0.2: the peer the harness plays */
#define FZ_LOCAL_PORT 80
#define FZ_PEER_PORT 40000
#define FZ_MS 1000000ull
#define FZ_S 1000000000ull
extern const struct utcp_mac fz_local_mac, fz_peer_mac;

/* What the stack last sent on TCP (parsed by the checking sink). */
struct fz_last_tx {
  bool valid;
  struct utcp_seg seg; /* payload pointer cleared */
  uint32_t src, dst;
};

/* Content oracle for data the stack sends: on a registered flow, byte k of the stream (sequence
 * number iss + 1 + k) must be fz_pat_app(k), which is what the harness's application writes. */
#define FZ_MAX_FLOWS 8
struct fz_flow {
  bool on;
  uint16_t lport, rport;
  uint32_t iss;
};

/* Payload patterns: the peer's byte at sequence number x, the application's byte at stream
 * offset k. Generated, never taken from the input, so a mismatch is always the stack's fault. */
static inline uint8_t fz_pat_peer(uint32_t x) { return (uint8_t)((x * 2654435761u) >> 24); }
static inline uint8_t fz_pat_app(uint64_t k) { return (uint8_t)(((uint32_t)k * 40503u + 7u) >> 5); }

struct fz_host {
  struct utcp_stack *s;
  struct utcp_stack_config cfg;
  uint64_t now;
  uint64_t allocated; /* bytes the stack holds from the allocator */
  uint64_t frames_out;
  struct fz_last_tx last;
  uint32_t peer_ts_seen; /* last TSval the stack sent (for the peer's TSecr) */
  bool ts_seen;
  struct fz_flow flows[FZ_MAX_FLOWS];
  uint8_t scratch[16384];
};

/* Defaults for a fuzzed stack: 10.0.0.1/24, static ARP for the peer, small pools. */
void fz_host_config(struct utcp_stack_config *cfg);
/* Creates the stack; false when utcp_stack_new refuses cfg (an uninteresting input). */
bool fz_host_init(struct fz_host *h, const struct utcp_stack_config *cfg);
/* Moves virtual time forward to t (never back), servicing every timer on the way in deadline
 * order. Fails on a timer livelock. */
void fz_host_advance(struct fz_host *h, uint64_t t);
/* Sends one Ethernet frame to the stack. */
void fz_host_input(struct fz_host *h, const uint8_t *frame, size_t len);
/* Builds a frame from the peer carrying seg (checksums correct) and sends it to the stack. */
void fz_host_inject(struct fz_host *h, const struct utcp_seg *seg);
/* Writes an Ethernet + IPv4 + TCP frame for seg from src to dst into buf; returns its length. */
size_t fz_build_tcp_frame(const struct utcp_mac *dmac, const struct utcp_mac *smac, uint32_t src,
                          uint32_t dst, const struct utcp_seg *seg, uint8_t *buf, size_t cap);
/* Registers flow (lport, rport) with its ISS for the content oracle (replacing an entry for
 * the same ports). */
void fz_host_watch_flow(struct fz_host *h, uint16_t lport, uint16_t rport, uint32_t iss);
/* Opens a listener on FZ_LOCAL_PORT (backlog 4) and completes a handshake from the peer's
 * port with initial sequence irs and the given SYN options (TSecr filled in); returns the
 * accepted connection, or 0 when the stack did not complete it. */
utcp_conn_t fz_host_establish(struct fz_host *h, uint16_t peer_port, uint32_t irs,
                              const struct utcp_tcp_opts *opts, utcp_conn_t *listener);
/* The wire harness's established connection (the corpus generator builds the same one). */
#define FZ_WIRE_IRS 1000000u
static inline struct utcp_tcp_opts fz_wire_opts(void) {
  return (struct utcp_tcp_opts){.present = UTCP_OPT_MSS | UTCP_OPT_WSCALE | UTCP_OPT_SACK_PERM |
                                           UTCP_OPT_TS,
                                .mss = 1460, .wscale = 7, .ts_val = 1000};
}
/* Drains and discards the stack's events; returns a mask (1 << type) of those for conn c. */
uint32_t fz_host_events(struct fz_host *h, utcp_conn_t c);
/* Ends a run: aborts the given handles (0 entries skipped), lets time run out every timer
 * (TIME-WAIT, retransmissions, ...), then fails if a connection, timer or buffer chunk is still
 * held, frees the stack and fails if any allocated byte was not given back. */
void fz_host_teardown(struct fz_host *h, const utcp_conn_t *handles, size_t n);

/* Recomputes the IPv4 header checksum and, for TCP/ICMP, the L4 checksum of an Ethernet frame
 * in place, as far as the lengths in its headers allow. Returns true when anything was fixed. */
bool fz_fix_checksums(uint8_t *frame, size_t len);

#endif
