/* The sender's SACK scoreboard (RFC 2018, RFC 6675 3-4): what the peer has selectively
 * acknowledged above SND.UNA, kept as a small fixed array of merged ranges in the TCB (no
 * allocation), and the RFC 6675 queries over it: IsLost, SetPipe and the holes NextSeg picks
 * from. The recovery itself (entry, RecoveryPoint, HighRxt, RescueRxt) is in tcp_input.c and
 * tcp_output.c; this file knows nothing of a connection but sequence numbers. */
#ifndef UTCP_CORE_SACK_H
#define UTCP_CORE_SACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "seq.h"
#include "wire.h"

/* Ranges a scoreboard can hold; cfg.tcp.sack_max_ranges (1..this) says how many are used. */
#define UTCP_SACK_RANGES_MAX 16
/* RFC 6675 2 DupThresh, per RFC 5681. */
#define UTCP_SACK_DUPTHRESH 3

struct utcp_sack_range {
  utcp_seq_t left, right; /* [left, right) */
};

/* Ranges ascending, disjoint and non-adjacent, all within [SND.UNA, SND.MAX]. */
struct utcp_sack_sb {
  struct utcp_sack_range r[UTCP_SACK_RANGES_MAX];
  uint8_t n;       /* ranges held */
  uint32_t sacked; /* bytes held (RFC 6675 4 Update: "the total number of octets SACKed") */
};

static inline void utcp_sack_clear(struct utcp_sack_sb *sb) {
  sb->n = 0;
  sb->sacked = 0;
}

/* What one ACK's SACK option did to the scoreboard. */
struct utcp_sack_update {
  uint32_t newly_sacked; /* octets not SACKed before: > 0 makes it an RFC 6675 2 duplicate ACK */
  uint8_t invalid;       /* blocks ignored: empty, inverted, outside [SND.UNA, SND.MAX] */
  uint8_t dsack;         /* D-SACK blocks recognised (RFC 2883 4 / 5) and ignored */
  uint8_t overflow;      /* ranges forgotten because the scoreboard was full */
};

/* Forgets what lies below una (cumulatively acknowledged now). */
void utcp_sack_trim(struct utcp_sack_sb *sb, utcp_seq_t una);

/* RFC 6675 4 Update(): records the blocks of one ACK (n <= UTCP_TCP_MAX_SACK, as received)
 * whose cumulative acknowledgment is seg_ack, against SND.UNA una and SND.MAX snd_max. The
 * first block is a D-SACK when it lies at or below seg_ack or inside the second block
 * (RFC 2883 5: compared with the ACK in the same segment, never with SND.UNA); it is not new
 * SACK information. max_ranges (1..UTCP_SACK_RANGES_MAX) bounds the ranges kept: when full,
 * the highest range makes way for a lower one (loss detection starts at SND.UNA), else the
 * new one is dropped; either is counted in `overflow`. */
struct utcp_sack_update utcp_sack_update(struct utcp_sack_sb *sb,
                                         const struct utcp_sack_block *blocks, size_t n,
                                         utcp_seq_t seg_ack, utcp_seq_t una, utcp_seq_t snd_max,
                                         uint32_t max_ranges);

/* Is seq SACKed? */
bool utcp_sack_has(const struct utcp_sack_sb *sb, utcp_seq_t seq);

/* RFC 6675 4 IsLost(seq): DupThresh discontiguous SACKed ranges above seq, or more than
 * (DupThresh - 1) * SMSS SACKed octets above it. */
bool utcp_sack_is_lost(const struct utcp_sack_sb *sb, utcp_seq_t seq, uint32_t smss);

/* RFC 6675 4 SetPipe(): over the unSACKed octets of [una, snd_max), one for each not lost and
 * one for each below high_rxt (HighRxt + 1: the end of what was retransmitted). Never
 * negative: a sum of counts. */
uint32_t utcp_sack_pipe(const struct utcp_sack_sb *sb, utcp_seq_t una, utcp_seq_t snd_max,
                        utcp_seq_t high_rxt, uint32_t smss);

/* RFC 6675 4 NextSeg() rules (1) and (3): the lowest unSACKed octet S2 >= high_rxt below the
 * highest SACKed octet (and IsLost(S2) when need_lost); *seq = S2, *len = up to max_len
 * octets, never reaching into SACKed data. False when there is none. */
bool utcp_sack_next_hole(const struct utcp_sack_sb *sb, utcp_seq_t una, utcp_seq_t high_rxt,
                         bool need_lost, uint32_t smss, uint32_t max_len, utcp_seq_t *seq,
                         uint32_t *len);

/* The hole holding the highest unSACKed octet of [una, snd_max) (NextSeg rule (4)): its start
 * in *start and the octet after that highest one in *end. False when all is SACKed. */
bool utcp_sack_last_hole(const struct utcp_sack_sb *sb, utcp_seq_t una, utcp_seq_t snd_max,
                         utcp_seq_t *start, utcp_seq_t *end);

/* Retransmitting from seq (after an RTO): the first unSACKed octet at or above seq, and in
 * *limit where the next SACKed range above it starts (snd_max when none). */
utcp_seq_t utcp_sack_skip(const struct utcp_sack_sb *sb, utcp_seq_t seq, utcp_seq_t snd_max,
                          utcp_seq_t *limit);

#endif
