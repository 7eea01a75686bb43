/* Out-of-order reassembly: a sorted list of disjoint, non-adjacent byte ranges above RCV.NXT,
 * each holding its bytes in a bufq. New data is stored exactly once: bytes already held are
 * kept and the new copy's duplicates are discarded (RFC 9293 3.10.7.4 lets either win; keeping
 * the old bytes means an overlap cannot rewrite data already acknowledged by SACK). Limits on
 * ranges and bytes keep a flood of tiny segments from exhausting memory. */
#ifndef UTCP_CORE_REASS_H
#define UTCP_CORE_REASS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "seq.h"

struct utcp_reass_node {
  utcp_seq_t seq; /* first byte */
  uint32_t len;
  uint32_t next;  /* index + 1 in the node pool; 0 ends */
  struct utcp_bufq data;
};

/* Nodes for every connection's ranges come from one pool. */
struct utcp_reass_pool {
  struct utcp_reass_node *nodes;
  uint32_t n_nodes, free_head;
  uint32_t n_free; /* nodes on the free list (leak checks, stats) */
  struct utcp_chunk_pool *chunks;
};

/* Per-connection state. */
struct utcp_reass {
  uint32_t head;      /* lowest range */
  uint16_t n_ranges;  /* ranges held */
  uint32_t bytes;     /* bytes held */
  uint32_t recent[4]; /* index + 1 of the ranges most recently changed or hit by a segment,
                         newest first, distinct, zeros last (SACK) */
};

void utcp_reass_pool_init(struct utcp_reass_pool *p, struct utcp_reass_node *storage,
                          uint32_t n, struct utcp_chunk_pool *chunks);
static inline void utcp_reass_init(struct utcp_reass *r) {
  r->head = 0;
  r->n_ranges = 0;
  r->bytes = 0;
  for (int i = 0; i < 4; i++) r->recent[i] = 0;
}

/* Result of an insert. */
struct utcp_reass_result {
  uint32_t stored;   /* new bytes stored */
  uint32_t dup;      /* bytes that were already held (D-SACK material) */
  bool refused;      /* some new bytes not stored: range or byte limit, or pools empty */
  utcp_seq_t dup_seq; /* the first run of already-held bytes (RFC 2883 4.2), when dup > 0 */
  uint32_t dup_len;
};

/* Inserts data for [seq, seq + len), which the caller has trimmed to lie at or above rcv_nxt
 * and inside the window. max_ranges and max_bytes bound what the connection may hold. */
struct utcp_reass_result utcp_reass_insert(struct utcp_reass_pool *p, struct utcp_reass *r,
                                           utcp_seq_t seq, const uint8_t *data, uint32_t len,
                                           uint32_t max_ranges, uint32_t max_bytes);

/* If the lowest range starts at or below rcv_nxt (it can only start exactly at it when the
 * caller keeps rcv_nxt in step), moves its bytes past rcv_nxt to the end of `to` and returns
 * how many; 0 otherwise. Call until it returns 0. */
uint32_t utcp_reass_pull(struct utcp_reass_pool *p, struct utcp_reass *r, utcp_seq_t rcv_nxt,
                         struct utcp_bufq *to);

/* Up to max ranges as SACK blocks, most recently changed first then ascending (RFC 2018 4). */
size_t utcp_reass_sack_blocks(const struct utcp_reass_pool *p, const struct utcp_reass *r,
                              utcp_seq_t *left, utcp_seq_t *right, size_t max);

/* Frees every range. */
void utcp_reass_clear(struct utcp_reass_pool *p, struct utcp_reass *r);

#endif
