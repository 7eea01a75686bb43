/* Byte buffers built from fixed-size chunks of a pool allocated at init: send queues, receive
 * queues and out-of-order ranges all draw from one stack-wide pool, so an idle connection holds
 * no buffer memory and a full pool is a counted refusal, never an allocation. */
#ifndef UTCP_CORE_BUF_H
#define UTCP_CORE_BUF_H

#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>

#define UTCP_CHUNK_SIZE 2048u

struct utcp_chunk {
  uint32_t next; /* index + 1 of the next chunk; 0 ends */
  uint8_t data[UTCP_CHUNK_SIZE];
};

struct utcp_chunk_pool {
  struct utcp_chunk *chunks;
  uint32_t n_chunks, n_free, free_head; /* free_head: index + 1 */
  uint32_t reserved; /* free chunks no allocation may take (utcp_tcp_chunks_reserve) */
  uint32_t floor;    /* chunks each side (send queues, received data) leaves to the other */
  bool tx_floor_off; /* the runtime's posted write takes chunks held for it (rt_threads.c) */
  uint32_t tx_used;  /* chunks held by send queues (kept by the TCP code: sndq_* in tcp.c) */
};

/* Sets the reserve and the floor. Each side may hold at most n_chunks - floor: send queues
 * full of unacknowledged data must leave room for the data (and ACKs) that would free them,
 * and received data an application does not read yet (it may be waiting to write first) must
 * leave room for writes. */
static inline void utcp_chunks_set_limits(struct utcp_chunk_pool *p, uint32_t reserved,
                                          uint32_t floor, bool tx_floor_off) {
  p->reserved = reserved;
  p->floor = floor;
  p->tx_floor_off = tx_floor_off;
}

/* Chunks an allocation may take now: the free ones beyond the reserve. */
static inline uint32_t utcp_chunks_available(const struct utcp_chunk_pool *p) {
  return p->n_free > p->reserved ? p->n_free - p->reserved : 0;
}

/* Chunks a send queue may take now: free beyond the reserve, and within the send side's cap. */
static inline uint32_t utcp_chunks_tx_available(const struct utcp_chunk_pool *p) {
  uint32_t cap = p->n_chunks - (p->tx_floor_off ? 0 : p->floor);
  uint32_t quota = cap > p->tx_used ? cap - p->tx_used : 0;
  uint32_t avail = utcp_chunks_available(p);
  return quota < avail ? quota : avail;
}

/* The free chunks a send-queue append must leave (for utcp_bufq_append_keep). */
static inline uint32_t utcp_chunks_tx_keep(const struct utcp_chunk_pool *p) {
  return p->n_free - utcp_chunks_tx_available(p);
}

/* The free chunks received data must leave: the reserve, and the part of the floor the send
 * queues do not hold yet (received data holds at most n_chunks - floor). */
static inline uint32_t utcp_chunks_rx_keep(const struct utcp_chunk_pool *p) {
  uint32_t keep = p->floor > p->tx_used ? p->floor - p->tx_used : 0;
  return keep > p->reserved ? keep : p->reserved;
}

/* A FIFO byte queue: bytes [head_off, head_off + len) of the chain head..tail. */
struct utcp_bufq {
  uint32_t head, tail; /* index + 1; 0 when empty */
  uint32_t head_off;   /* offset of the first byte in the head chunk */
  uint32_t len;
  /* Where utcp_bufq_read_at last stopped: chunk hint_idx (index + 1; 0: no hint) starts at
   * position hint_pos, counted from the start of the head chunk. */
  uint32_t hint_idx, hint_pos;
};

/* Threads n chunks (storage from the caller: n * sizeof(struct utcp_chunk)) into a pool. */
void utcp_chunk_pool_init(struct utcp_chunk_pool *p, struct utcp_chunk *storage, uint32_t n);

static inline void utcp_bufq_init(struct utcp_bufq *q) {
  q->head = q->tail = 0;
  q->head_off = 0;
  q->len = 0;
  q->hint_idx = q->hint_pos = 0;
}
/* An empty queue whose first byte will sit at offset off (< UTCP_CHUNK_SIZE) of its first chunk.
 * Reassembly aligns each range's bytes to their sequence number modulo the chunk size, so that
 * joining two adjacent ranges with utcp_bufq_move copies at most one chunk. */
static inline void utcp_bufq_init_at(struct utcp_bufq *q, uint32_t off) {
  utcp_bufq_init(q);
  q->head_off = off % UTCP_CHUNK_SIZE;
}

/* Appends up to len bytes of received data (leaving rx_keep chunks free); returns how many fit
 * before the pool ran dry. An empty queue holds no chunk: its first chunk is taken here, its
 * bytes starting at head_off (0 unless init_at). */
size_t utcp_bufq_append(struct utcp_chunk_pool *p, struct utcp_bufq *q, const void *data,
                        size_t len);
/* The same, leaving at least `keep` chunks free (a send queue: utcp_chunks_tx_keep). */
size_t utcp_bufq_append_keep(struct utcp_chunk_pool *p, struct utcp_bufq *q, const void *data,
                             size_t len, uint32_t keep);
/* Copies len bytes starting offset bytes into the queue to out; offset + len <= q->len. */
void utcp_bufq_copy(const struct utcp_chunk_pool *p, const struct utcp_bufq *q, size_t offset,
                    void *out, size_t len);
/* The same, remembering the chunk where it stopped: reading a long queue front to back one
 * segment at a time (the send queue) costs O(bytes) instead of a walk from the head each time. */
void utcp_bufq_read_at(const struct utcp_chunk_pool *p, struct utcp_bufq *q, size_t offset,
                       void *out, size_t len);
/* Overwrites len bytes at offset (offset + len <= q->len) with data. */
void utcp_bufq_write_at(struct utcp_chunk_pool *p, struct utcp_bufq *q, size_t offset,
                        const void *data, size_t len);
/* Drops the first n bytes (n <= q->len), returning emptied chunks to the pool. */
void utcp_bufq_consume(struct utcp_chunk_pool *p, struct utcp_bufq *q, size_t n);
/* Drops everything. */
void utcp_bufq_clear(struct utcp_chunk_pool *p, struct utcp_bufq *q);
/* Moves all of src to the end of dst and leaves src empty. Needs no new chunk: bytes are copied
 * into the room left in dst's tail chunk, then src's chain is relinked after it, keeping the
 * invariant that every chunk but the head starts at offset 0 and every chunk but the tail is
 * full. That copies at most one chunk when dst is empty (src's chain is taken whole) or when
 * dst's end and src's start are at the same offset in their chunks (as for sequence-aligned
 * reassembly ranges); otherwise src's bytes are first shifted down through its own chunks to
 * offset 0, a copy of src->len bytes. Returns the bytes moved. */
size_t utcp_bufq_move(struct utcp_chunk_pool *p, struct utcp_bufq *dst, struct utcp_bufq *src);

#endif
