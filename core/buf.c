/* Chunk pool and byte queues. Queue invariant: an empty queue holds no chunk; every chunk but the
 * head starts at offset 0 and every chunk but the tail is full, so byte i of the queue sits at
 * offset (head_off + i) % CHUNK_SIZE of chunk (head_off + i) / CHUNK_SIZE along the chain. */
#include "buf.h"

#include <string.h>

#include "assert.h"

#define CS UTCP_CHUNK_SIZE

static struct utcp_chunk *chunk(const struct utcp_chunk_pool *p, uint32_t idx) {
  UTCP_ASSERT(idx >= 1 && idx <= p->n_chunks);
  return &p->chunks[idx - 1];
}

/* A chunk, if more than `keep` are free. */
static uint32_t chunk_alloc(struct utcp_chunk_pool *p, uint32_t keep) {
  uint32_t idx = p->free_head;
  if (idx == 0 || p->n_free <= keep) return 0;
  UTCP_ASSERT(p->n_free > 0);
  struct utcp_chunk *c = chunk(p, idx);
  p->free_head = c->next;
  p->n_free--;
  c->next = 0;
  return idx;
}

static void chunk_free(struct utcp_chunk_pool *p, uint32_t idx) {
  UTCP_ASSERT(p->n_free < p->n_chunks);
  chunk(p, idx)->next = p->free_head;
  p->free_head = idx;
  p->n_free++;
}

/* Bytes used in the tail chunk (1..CS) of a non-empty queue. */
static uint32_t tail_fill(const struct utcp_bufq *q) {
  UTCP_ASSERT(q->len > 0 && q->tail != 0);
  return (uint32_t)((q->head_off + (uint64_t)q->len - 1) % CS) + 1;
}

static size_t min_size(size_t a, size_t b) { return a < b ? a : b; }

/* The chunk and offset holding byte `offset` of a non-empty queue. */
static uint32_t seek(const struct utcp_chunk_pool *p, const struct utcp_bufq *q, size_t offset,
                     uint32_t *off) {
  UTCP_ASSERT(offset < q->len);
  size_t pos = q->head_off + offset;
  uint32_t idx = q->head;
  for (; pos >= CS; pos -= CS) idx = chunk(p, idx)->next;
  *off = (uint32_t)pos;
  return idx;
}

void utcp_chunk_pool_init(struct utcp_chunk_pool *p, struct utcp_chunk *storage, uint32_t n) {
  UTCP_ASSERT(storage != 0 || n == 0);
  p->chunks = storage;
  p->n_chunks = n;
  p->n_free = n;
  utcp_chunks_set_limits(p, 0, 0, false);
  p->tx_used = 0;
  p->free_head = n > 0 ? 1 : 0;
  for (uint32_t i = 0; i < n; i++) storage[i].next = i + 1 < n ? i + 2 : 0;
}

size_t utcp_bufq_append(struct utcp_chunk_pool *p, struct utcp_bufq *q, const void *data,
                        size_t len) {
  return utcp_bufq_append_keep(p, q, data, len, utcp_chunks_rx_keep(p));
}

size_t utcp_bufq_append_keep(struct utcp_chunk_pool *p, struct utcp_bufq *q, const void *data,
                             size_t len, uint32_t keep) {
  UTCP_ASSERT(data != 0 || len == 0);
  UTCP_ASSERT(q->head_off < CS && (q->len == 0) == (q->head == 0));
  if (len > UINT32_MAX - q->len) len = UINT32_MAX - q->len;
  const uint8_t *src = data;
  size_t done = 0;
  while (done < len) {
    uint32_t off;
    if (q->len > 0 && tail_fill(q) < CS) {
      off = tail_fill(q);
    } else {
      uint32_t idx = chunk_alloc(p, keep);
      if (idx == 0) break;
      if (q->head == 0) {
        q->head = idx;
        off = q->head_off; /* an empty queue may be aligned by utcp_bufq_init_at */
      } else {
        chunk(p, q->tail)->next = idx;
        off = 0;
      }
      q->tail = idx;
    }
    size_t n = min_size(CS - off, len - done);
    memcpy(chunk(p, q->tail)->data + off, src + done, n);
    done += n;
    q->len += (uint32_t)n;
  }
  return done;
}

void utcp_bufq_copy(const struct utcp_chunk_pool *p, const struct utcp_bufq *q, size_t offset,
                    void *out, size_t len) {
  UTCP_ASSERT(offset <= q->len && len <= q->len - offset);
  UTCP_ASSERT(out != 0 || len == 0);
  if (len == 0) return;
  uint8_t *dst = out;
  uint32_t off;
  uint32_t idx = seek(p, q, offset, &off);
  for (size_t done = 0; done < len; off = 0) {
    size_t n = min_size(CS - off, len - done);
    const struct utcp_chunk *c = chunk(p, idx);
    memcpy(dst + done, c->data + off, n);
    done += n;
    idx = c->next;
  }
}

void utcp_bufq_read_at(const struct utcp_chunk_pool *p, struct utcp_bufq *q, size_t offset,
                       void *out, size_t len) {
  UTCP_ASSERT(offset <= q->len && len <= q->len - offset);
  UTCP_ASSERT(out != 0 || len == 0);
  if (len == 0) return;
  size_t pos = q->head_off + offset;
  uint32_t idx = q->head, at = 0; /* chunk idx starts at position at */
  if (q->hint_idx != 0 && q->hint_pos <= pos) {
    idx = q->hint_idx;
    at = q->hint_pos;
  }
  for (; pos - at >= CS; at += CS) idx = chunk(p, idx)->next;
  uint8_t *dst = out;
  uint32_t off = (uint32_t)(pos - at);
  for (size_t done = 0;;) {
    size_t n = min_size(CS - off, len - done);
    const struct utcp_chunk *c = chunk(p, idx);
    memcpy(dst + done, c->data + off, n);
    done += n;
    off = 0;
    if (done == len) break;
    idx = c->next;
    at += CS;
  }
  q->hint_idx = idx;
  q->hint_pos = at;
}

void utcp_bufq_write_at(struct utcp_chunk_pool *p, struct utcp_bufq *q, size_t offset,
                        const void *data, size_t len) {
  UTCP_ASSERT(offset <= q->len && len <= q->len - offset);
  UTCP_ASSERT(data != 0 || len == 0);
  if (len == 0) return;
  const uint8_t *src = data;
  uint32_t off;
  uint32_t idx = seek(p, q, offset, &off);
  for (size_t done = 0; done < len; off = 0) {
    size_t n = min_size(CS - off, len - done);
    struct utcp_chunk *c = chunk(p, idx);
    memcpy(c->data + off, src + done, n);
    done += n;
    idx = c->next;
  }
}

void utcp_bufq_consume(struct utcp_chunk_pool *p, struct utcp_bufq *q, size_t n) {
  UTCP_ASSERT(n <= q->len);
  while (n > 0) {
    uint32_t in_head = (uint32_t)min_size(CS - q->head_off, q->len);
    uint32_t take = (uint32_t)min_size(in_head, n);
    q->head_off += take;
    q->len -= take;
    n -= take;
    if (q->len == 0) {
      chunk_free(p, q->head);
      utcp_bufq_init(q);
    } else if (q->head_off == CS) {
      uint32_t next = chunk(p, q->head)->next;
      UTCP_ASSERT(next != 0);
      if (q->hint_idx == q->head || q->hint_pos < CS) {
        q->hint_idx = 0;
      } else {
        q->hint_pos -= CS;
      }
      chunk_free(p, q->head);
      q->head = next;
      q->head_off = 0;
    }
  }
  UTCP_ASSERT((q->len == 0) == (q->head == 0));
}

void utcp_bufq_clear(struct utcp_chunk_pool *p, struct utcp_bufq *q) {
  uint32_t idx = q->len > 0 ? q->head : 0;
  while (idx != 0) {
    uint32_t next = chunk(p, idx)->next;
    chunk_free(p, idx);
    idx = next;
  }
  utcp_bufq_init(q);
}

/* Shifts a non-empty queue's bytes down through its own chunks so that head_off becomes 0,
 * freeing the tail chunk if it empties. Writes never overtake reads: the gap is head_off. */
static void realign(struct utcp_chunk_pool *p, struct utcp_bufq *q) {
  UTCP_ASSERT(q->len > 0 && q->head_off > 0);
  uint32_t rd = q->head, rd_off = q->head_off;
  uint32_t wr = q->head, wr_off = 0;
  for (uint32_t left = q->len; left > 0;) {
    if (rd_off == CS) {
      rd = chunk(p, rd)->next;
      rd_off = 0;
    }
    if (wr_off == CS) {
      wr = chunk(p, wr)->next;
      wr_off = 0;
    }
    uint32_t n = (uint32_t)min_size(min_size(CS - rd_off, CS - wr_off), left);
    memmove(chunk(p, wr)->data + wr_off, chunk(p, rd)->data + rd_off, n);
    rd_off += n;
    wr_off += n;
    left -= n;
  }
  uint32_t spare = chunk(p, wr)->next;
  chunk(p, wr)->next = 0;
  if (spare != 0) {
    UTCP_ASSERT(spare == q->tail);
    chunk_free(p, spare);
  }
  q->tail = wr;
  q->head_off = 0;
  q->hint_idx = 0;
}

size_t utcp_bufq_move(struct utcp_chunk_pool *p, struct utcp_bufq *dst, struct utcp_bufq *src) {
  UTCP_ASSERT(dst != src);
  UTCP_ASSERT((src->len == 0) == (src->head == 0) && (dst->len == 0) == (dst->head == 0));
  UTCP_ASSERT(src->len <= UINT32_MAX - dst->len);
  size_t moved = src->len;
  if (src->len == 0) return 0;
  if (dst->len == 0) {
    *dst = *src; /* take the chain whole: src's head may start anywhere */
    utcp_bufq_init(src);
    return moved;
  }
  /* Fill the room in dst's tail chunk. */
  uint32_t fill = tail_fill(dst);
  uint32_t k = (uint32_t)min_size(CS - fill, src->len);
  utcp_bufq_copy(p, src, 0, chunk(p, dst->tail)->data + fill, k);
  dst->len += k;
  utcp_bufq_consume(p, src, k);
  if (src->len == 0) return moved;
  /* dst's tail is full now; src's chain must start at offset 0 to follow it. */
  if (src->head_off != 0) realign(p, src);
  chunk(p, dst->tail)->next = src->head;
  dst->tail = src->tail;
  dst->len += src->len;
  utcp_bufq_init(src);
  return moved;
}
