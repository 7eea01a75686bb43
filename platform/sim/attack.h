/* Attack scenarios (`utcp-sim attack <kind>`): a utcp server and real utcp clients on one
 * switch, plus a raw-frame attacker node that forges IPv4/TCP frames (correct checksums) from
 * its own seeded rng. Each kind measures its pass criteria (docs/tcp.md "Hardening"), prints
 * its figures, seed, trace hash and a `replay:` line, and runs with the wire checker on (the
 * checker watches the real stacks; forged frames, recognised by the attacker's MAC, are not
 * passed to it).
 *
 * Kinds:
 *   synflood   SYNs from spoofed sources in 10.0.128.0/17 (they never answer ARP) while real
 *              clients connect and exchange a request and a response.
 *   blind      forged RSTs and SYNs with sequence numbers from the whole 32-bit space against
 *              established connections carrying data (RFC 5961 3.2, 4.2, 7).
 *   ackflood   forged ACKs for unsent data, for data older than SND.UNA - MAX.SND.WND
 *              (RFC 5961 5.2), and blind ones with random sequence numbers.
 *   oow-data   forged data segments beyond the receive window.
 *   tinyooo    1-byte out-of-order segments inside the window (reassembly caps).
 *   table-full more clients than the server's connection table holds.
 *   zerowin    the attacker opens connections from its own address, asks for a response and
 *              keeps its window closed for ever while answering every probe (RFC 9293
 *              3.8.6.1 MUST-37): the server's zero-window reclaim must free them.
 * The informed attacks (ackflood, tinyooo) read the victim's sequence variables from the
 * stack, as an on-path attacker would from the wire; blind and synflood know only addresses
 * and ports. */
#ifndef UTCP_PLATFORM_SIM_ATTACK_H
#define UTCP_PLATFORM_SIM_ATTACK_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

enum sim_attack_kind {
  SIM_ATTACK_SYNFLOOD,
  SIM_ATTACK_BLIND,
  SIM_ATTACK_ACKFLOOD,
  SIM_ATTACK_OOW_DATA,
  SIM_ATTACK_TINYOOO,
  SIM_ATTACK_TABLE_FULL,
  SIM_ATTACK_ZEROWIN,
  SIM_ATTACK__COUNT
};

struct sim_attack_params {
  enum sim_attack_kind kind;
  uint64_t seed;
  uint32_t clients;      /* real client connections */
  uint32_t client_hosts; /* client nodes they are spread over */
  uint64_t rate_pps;     /* forged frames per virtual second */
  uint64_t count;        /* forged frames of each sort (blind: RSTs, and as many SYNs) */
  uint64_t bytes;        /* per real connection: the response (synflood) or the transfer */
  uint32_t max_conns;    /* the server's connection table (table-full) */
  uint32_t challenge_ack_limit; /* the server's and clients' RFC 5961 7 limit per second */
  uint64_t zw_timeout_ms;       /* zerowin: the server's zero_window_timeout */
  uint64_t zw_pressure_ms;      /* zerowin: the server's zero_window_pressure (0: default) */
  uint32_t server_chunks;       /* the server's chunk pool (0: 16384) */
  bool verbose;          /* every non-zero counter of the server */
  const char *pcap_dir;  /* DIR/<link>.pcap for every link, or NULL */
};

/* Figures a run measured (the ones docs/tcp.md quotes). */
struct sim_attack_result {
  uint64_t forged;                 /* frames the attacker sent */
  uint64_t clients_ok, clients_failed, clients_refused;
  uint32_t peak_conns, peak_chunks; /* server, sampled every millisecond */
  uint32_t peak_ooo_ranges;        /* largest ranges any server connection held */
  uint64_t challenge_acks, challenge_acks_limited, oow_acks_skipped;
  uint64_t syncookies_sent, syncookies_recv;
  uint64_t arp_requests;
  uint64_t resets;                 /* tcpEstabResets, server and clients */
  uint64_t zw_aborts;              /* utcpZeroWindowAbortPeer of the server */
  uint64_t checker_violations;
  uint64_t trace_hash;
};

/* Defaults of each kind (the figures of the ctests). */
void sim_attack_params_default(enum sim_attack_kind kind, struct sim_attack_params *p);
const char *sim_attack_kind_name(enum sim_attack_kind kind);
/* The kind named s, or -1. */
int sim_attack_kind_parse(const char *s);

/* Runs one attack scenario, reporting to out; fills *res if not NULL. Returns 0 when every
 * pass criterion held, 1 otherwise. */
int sim_attack_run(const struct sim_attack_params *p, FILE *out, struct sim_attack_result *res);

/* `utcp-sim attack <kind> [options]`: 0 pass, 1 fail, 2 usage. */
int sim_attack_main(int argc, char **argv);
void sim_attack_usage(FILE *out);

#endif
