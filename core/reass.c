/* Out-of-order reassembly. Each range's bytes are stored aligned to their sequence number modulo
 * the chunk size (utcp_bufq_init_at), so joining a range to the one after it copies at most one
 * chunk: filling holes in any order costs O(bytes), never a re-copy of a whole range. Ranges in
 * the list are sorted, disjoint and non-adjacent; all lie within the receive window, so modulo
 * 2^32 comparisons between them are exact. */
#include "reass.h"

#include "assert.h"

static struct utcp_reass_node *node(const struct utcp_reass_pool *p, uint32_t idx) {
  UTCP_ASSERT(idx >= 1 && idx <= p->n_nodes);
  return &p->nodes[idx - 1];
}

static utcp_seq_t node_end(const struct utcp_reass_node *n) { return utcp_seq_add(n->seq, n->len); }

static uint32_t node_alloc(struct utcp_reass_pool *p) {
  uint32_t idx = p->free_head;
  if (idx == 0) return 0;
  UTCP_ASSERT(p->n_free > 0);
  struct utcp_reass_node *n = node(p, idx);
  p->free_head = n->next;
  p->n_free--;
  n->next = 0;
  n->len = 0;
  return idx;
}

static void node_free(struct utcp_reass_pool *p, uint32_t idx) {
  struct utcp_reass_node *n = node(p, idx);
  UTCP_ASSERT(n->data.len == 0 && p->n_free < p->n_nodes);
  n->len = 0;
  n->next = p->free_head;
  p->free_head = idx;
  p->n_free++;
}

/* recent[] holds distinct node indexes, newest first, zeros last. */
enum { N_RECENT = sizeof(((struct utcp_reass *)0)->recent) / sizeof(uint32_t) };

static uint32_t recent_find(const struct utcp_reass *r, uint32_t idx) {
  for (uint32_t i = 0; i < N_RECENT; i++) {
    if (r->recent[i] == idx) return i;
  }
  return N_RECENT;
}

static void recent_remove_at(struct utcp_reass *r, uint32_t pos) {
  for (uint32_t i = pos; i + 1 < N_RECENT; i++) r->recent[i] = r->recent[i + 1];
  r->recent[N_RECENT - 1] = 0;
}

/* Moves idx to the front, dropping the oldest entry if idx was not there. */
static void recent_touch(struct utcp_reass *r, uint32_t idx) {
  UTCP_ASSERT(idx != 0);
  uint32_t pos = recent_find(r, idx);
  if (pos == N_RECENT) pos = N_RECENT - 1;
  for (uint32_t i = pos; i > 0; i--) r->recent[i] = r->recent[i - 1];
  r->recent[0] = idx;
}

static void recent_forget(struct utcp_reass *r, uint32_t idx) {
  uint32_t pos = recent_find(r, idx);
  if (pos < N_RECENT) recent_remove_at(r, pos);
}

/* gone merged into into: into takes the newer of the two positions. */
static void recent_merge(struct utcp_reass *r, uint32_t gone, uint32_t into) {
  uint32_t pos_gone = recent_find(r, gone), pos_into = recent_find(r, into);
  if (pos_gone == N_RECENT) return;
  if (pos_into < pos_gone) {
    recent_remove_at(r, pos_gone);
  } else {
    r->recent[pos_gone] = into;
    if (pos_into < N_RECENT) recent_remove_at(r, pos_into);
  }
}

void utcp_reass_pool_init(struct utcp_reass_pool *p, struct utcp_reass_node *storage,
                          uint32_t n, struct utcp_chunk_pool *chunks) {
  UTCP_ASSERT(storage != 0 || n == 0);
  UTCP_ASSERT(chunks != 0);
  p->nodes = storage;
  p->n_nodes = n;
  p->n_free = n;
  p->free_head = n > 0 ? 1 : 0;
  p->chunks = chunks;
  for (uint32_t i = 0; i < n; i++) {
    storage[i].seq = utcp_seq(0);
    storage[i].len = 0;
    storage[i].next = i + 1 < n ? i + 2 : 0;
    utcp_bufq_init(&storage[i].data);
  }
}

/* Stores the hole [at, at + n), which lies after *prev and before *cur, by extending *prev when
 * it ends at `at` or in a new range. A range reaching *cur absorbs it and becomes *cur (the
 * caller then walks over it); otherwise it becomes *prev. Returns the bytes stored. */
static uint32_t store_hole(struct utcp_reass_pool *p, struct utcp_reass *r, uint32_t *prev,
                           uint32_t *cur, utcp_seq_t at, const uint8_t *data, uint32_t n,
                           uint32_t max_ranges, uint32_t max_bytes) {
  UTCP_ASSERT(n > 0);
  UTCP_ASSERT(*cur == 0 || utcp_seq_lt(at, node(p, *cur)->seq));
  uint32_t room = r->bytes < max_bytes ? max_bytes - r->bytes : 0;
  uint32_t want = n < room ? n : room;
  if (want == 0) return 0;
  uint32_t x;
  uint32_t got;
  if (*prev != 0 && utcp_seq_eq(node_end(node(p, *prev)), at)) {
    x = *prev;
    got = (uint32_t)utcp_bufq_append(p->chunks, &node(p, x)->data, data, want);
    if (got == 0) return 0;
  } else {
    /* A new range that fills the hole up to *cur joins it at once, so it may borrow a range
     * beyond the limit for that moment. */
    bool joins = *cur != 0 && want == n && utcp_seq_eq(utcp_seq_add(at, n), node(p, *cur)->seq);
    bool over = r->n_ranges >= max_ranges;
    if ((over && !joins) || r->n_ranges == UINT16_MAX) return 0;
    x = node_alloc(p);
    if (x == 0) return 0;
    struct utcp_reass_node *nx = node(p, x);
    nx->seq = at;
    utcp_bufq_init_at(&nx->data, at.v);
    got = (uint32_t)utcp_bufq_append(p->chunks, &nx->data, data, want);
    if (got == 0 || (over && got < want)) {
      utcp_bufq_clear(p->chunks, &nx->data); /* would not join after all: store nothing */
      node_free(p, x);
      return 0;
    }
    nx->next = *cur;
    if (*prev != 0) {
      node(p, *prev)->next = x;
    } else {
      r->head = x;
    }
    r->n_ranges++;
  }
  struct utcp_reass_node *nx = node(p, x);
  nx->len += got;
  r->bytes += got;
  recent_touch(r, x);
  if (*cur != 0 && utcp_seq_eq(node_end(nx), node(p, *cur)->seq)) {
    /* The hole is filled: join the range after it (aligned, so no new chunk and little copy). */
    struct utcp_reass_node *nc = node(p, *cur);
    UTCP_ASSERT(nc->data.len == nc->len);
    utcp_bufq_move(p->chunks, &nx->data, &nc->data);
    nx->len += nc->len;
    nx->next = nc->next;
    recent_merge(r, *cur, x);
    node_free(p, *cur);
    r->n_ranges--;
    *cur = x;
  } else {
    *prev = x;
  }
  return got;
}

struct utcp_reass_result utcp_reass_insert(struct utcp_reass_pool *p, struct utcp_reass *r,
                                           utcp_seq_t seq, const uint8_t *data, uint32_t len,
                                           uint32_t max_ranges, uint32_t max_bytes) {
  UTCP_ASSERT(data != 0 || len == 0);
  UTCP_ASSERT(len <= INT32_MAX);
  struct utcp_reass_result res = {.stored = 0, .dup = 0, .refused = false};
  /* prev: the last range ending at or before the cursor; cur: the first range after prev. */
  uint32_t prev = 0, cur = r->head;
  while (cur != 0 && utcp_seq_le(node_end(node(p, cur)), seq)) {
    prev = cur;
    cur = node(p, cur)->next;
  }
  uint32_t pos = 0;
  while (pos < len) {
    utcp_seq_t at = utcp_seq_add(seq, pos);
    if (cur != 0 && utcp_seq_le(node(p, cur)->seq, at)) {
      /* Bytes already held: keep the old copy (RFC 9293 3.10.7.4 allows either). */
      uint32_t upto = (uint32_t)utcp_seq_diff(node_end(node(p, cur)), seq);
      if (upto > len) upto = len;
      UTCP_ASSERT(upto > pos);
      if (res.dup == 0) {
        res.dup_seq = at; /* RFC 2883 4.2: the first duplicate sub-segment is reported */
        res.dup_len = upto - pos;
      }
      res.dup += upto - pos;
      pos = upto;
      recent_touch(r, cur); /* RFC 2018 4: the block holding the latest segment goes first */
      prev = cur;
      cur = node(p, cur)->next;
      continue;
    }
    uint32_t hole_end = len;
    if (cur != 0) {
      uint32_t start = (uint32_t)utcp_seq_diff(node(p, cur)->seq, seq);
      if (start < hole_end) hole_end = start;
    }
    uint32_t got = store_hole(p, r, &prev, &cur, at, data + pos, hole_end - pos, max_ranges,
                              max_bytes);
    res.stored += got;
    if (got < hole_end - pos) res.refused = true;
    pos = hole_end;
  }
  UTCP_ASSERT(res.stored + res.dup <= len);
  return res;
}

uint32_t utcp_reass_pull(struct utcp_reass_pool *p, struct utcp_reass *r, utcp_seq_t rcv_nxt,
                         struct utcp_bufq *to) {
  UTCP_ASSERT(to != 0);
  while (r->head != 0) {
    uint32_t h = r->head;
    struct utcp_reass_node *n = node(p, h);
    if (utcp_seq_gt(n->seq, rcv_nxt)) return 0;
    UTCP_ASSERT(r->n_ranges > 0 && r->bytes >= n->len);
    r->head = n->next;
    r->n_ranges--;
    r->bytes -= n->len;
    recent_forget(r, h);
    uint32_t skip = (uint32_t)utcp_seq_diff(rcv_nxt, n->seq);
    uint32_t moved = 0;
    if (skip < n->len) {
      utcp_bufq_consume(p->chunks, &n->data, skip);
      moved = (uint32_t)utcp_bufq_move(p->chunks, to, &n->data);
    } else {
      utcp_bufq_clear(p->chunks, &n->data); /* wholly below rcv_nxt: nothing new */
    }
    node_free(p, h);
    if (moved > 0) return moved;
  }
  return 0;
}

size_t utcp_reass_sack_blocks(const struct utcp_reass_pool *p, const struct utcp_reass *r,
                              utcp_seq_t *left, utcp_seq_t *right, size_t max) {
  UTCP_ASSERT((left != 0 && right != 0) || max == 0);
  size_t n = 0;
  /* RFC 2018 4: first the block holding the most recent segment, then the other recently
   * reported ones, then the rest. */
  for (uint32_t i = 0; i < N_RECENT && n < max && r->recent[i] != 0; i++) {
    const struct utcp_reass_node *nd = node(p, r->recent[i]);
    left[n] = nd->seq;
    right[n] = node_end(nd);
    n++;
  }
  for (uint32_t idx = r->head; idx != 0 && n < max; idx = node(p, idx)->next) {
    if (recent_find(r, idx) < N_RECENT) continue;
    const struct utcp_reass_node *nd = node(p, idx);
    left[n] = nd->seq;
    right[n] = node_end(nd);
    n++;
  }
  UTCP_ASSERT(n <= max && n <= r->n_ranges);
  return n;
}

void utcp_reass_clear(struct utcp_reass_pool *p, struct utcp_reass *r) {
  uint32_t idx = r->head;
  while (idx != 0) {
    struct utcp_reass_node *n = node(p, idx);
    uint32_t next = n->next;
    utcp_bufq_clear(p->chunks, &n->data);
    node_free(p, idx);
    idx = next;
  }
  utcp_reass_init(r);
}
