/* reass: the out-of-order reassembly structure alone (core/reass.h), two instances sharing one
 * node pool and one chunk pool (as connections do), each checked against a simple reference
 * model after every step.
 *
 * The model is a byte map of the window [rcv_nxt, rcv_nxt + W) per instance. Checked after
 * every step: the ranges are sorted, disjoint, non-adjacent, inside the window, each holding
 * exactly its length in bytes; n_ranges, bytes and the limits agree; every byte held equals
 * the byte first stored for that sequence number (old copies win, RFC 9293 3.10.7.4 as
 * reass.h documents); an insert that was not refused stores exactly the missing bytes and counts
 * the rest as duplicates, and its bytes then lead the SACK blocks (RFC 2018 4); a refused one
 * stores a subset; pulls hand over exactly the bytes contiguous from rcv_nxt; the pools' free
 * counts match what the instances hold.
 *
 * Input: a header (initial rcv_nxt u32, window u16, chunk pool 1..64, node pool 1..32,
 * max_ranges, max_bytes), then ops: insert (instance, offset from rcv_nxt, length), advance
 * rcv_nxt and pull, query SACK blocks, clear. */
#include <stdlib.h>
#include <string.h>

#include "core/reass.h"
#include "fuzz.h"

#define W_MAX 65536u /* model ring: window at most this */
#define MAX_CHUNKS 64
#define MAX_NODES 32

struct model {
  struct utcp_reass r;
  uint32_t rcv_nxt;
  uint32_t held; /* bytes set in have[] */
  uint8_t have[W_MAX]; /* indexed by seq % W_MAX */
  uint8_t val[W_MAX];
};

static struct utcp_chunk chunk_store[MAX_CHUNKS];
static struct utcp_reass_node node_store[MAX_NODES];
static struct utcp_chunk_pool chunks;
static struct utcp_reass_pool pool;
static struct model m[2];
static uint32_t window, max_ranges, max_bytes;
static uint8_t buf[W_MAX], got[W_MAX];

/* The value the gen-th insert writes at seq x: differs between inserts, so a new copy
 * overwriting an old one shows. */
static uint8_t gen_byte(uint32_t x, uint32_t gen) { return (uint8_t)(fz_pat_peer(x) ^ (gen * 29u + 1u)); }

static uint32_t held_total(const struct model *md) { return md->held; }

static void check(const struct model *md) {
  const struct utcp_reass *r = &md->r;
  uint32_t n = 0, bytes = 0;
  uint32_t prev_end_off = 0;
  bool first = true;
  uint32_t covered = 0;
  for (uint32_t idx = r->head; idx != 0; idx = pool.nodes[idx - 1].next) {
    if (idx > pool.n_nodes) fz_fail("reass: node index %u out of the pool", idx);
    const struct utcp_reass_node *nd = &pool.nodes[idx - 1];
    uint32_t off = nd->seq.v - md->rcv_nxt;
    if (nd->len == 0) fz_fail("reass: empty range");
    if (nd->data.len != nd->len) fz_fail("reass: range len %u holds %u bytes", nd->len, nd->data.len);
    if (off == 0 || (uint64_t)off + nd->len > window)
      fz_fail("reass: range [+%u, +%u) outside (rcv_nxt, rcv_nxt + %u)", off, off + nd->len, window);
    if (!first && off <= prev_end_off)
      fz_fail("reass: range at +%u not after the previous one ending at +%u (%s)", off,
              prev_end_off, off == prev_end_off ? "adjacent" : "overlap");
    /* The model has exactly these bytes, with these values. */
    utcp_bufq_copy(pool.chunks, &nd->data, 0, got, nd->len);
    for (uint32_t i = 0; i < nd->len; i++) {
      uint32_t x = (md->rcv_nxt + off + i) % W_MAX;
      if (!md->have[x]) fz_fail("reass: holds byte +%u the model never stored", off + i);
      if (md->val[x] != got[i])
        fz_fail("reass: byte +%u is %02x, first stored %02x", off + i, got[i], md->val[x]);
    }
    covered += nd->len;
    prev_end_off = off + nd->len;
    first = false;
    n++;
    bytes += nd->len;
    if (n > pool.n_nodes) fz_fail("reass: cycle in the range list");
  }
  if (covered != held_total(md)) fz_fail("reass: holds %u bytes, model %u", covered, held_total(md));
  if (n != r->n_ranges) fz_fail("reass: n_ranges %u, list has %u", r->n_ranges, n);
  if (bytes != r->bytes) fz_fail("reass: bytes %u, list has %u", r->bytes, bytes);
  if (r->n_ranges > max_ranges) fz_fail("reass: %u ranges over the limit %u", r->n_ranges, max_ranges);
  if (r->bytes > max_bytes) fz_fail("reass: %u bytes over the limit %u", r->bytes, max_bytes);
  /* recent[]: distinct, live, zeros last. */
  bool zero = false;
  for (int i = 0; i < 4; i++) {
    uint32_t x = r->recent[i];
    if (x == 0) {
      zero = true;
      continue;
    }
    if (zero) fz_fail("reass: recent[] has a hole");
    bool live = false;
    for (uint32_t idx = r->head; idx != 0; idx = pool.nodes[idx - 1].next) live |= idx == x;
    if (!live) fz_fail("reass: recent[%d] = %u is not a held range", i, x);
    for (int j = 0; j < i; j++)
      if (r->recent[j] == x) fz_fail("reass: recent[] repeats %u", x);
  }
}

static void check_pools(void) {
  uint32_t nodes_used = m[0].r.n_ranges + m[1].r.n_ranges;
  if (pool.n_free + nodes_used != pool.n_nodes)
    fz_fail("reass: %u nodes free + %u used != %u", pool.n_free, nodes_used, pool.n_nodes);
  uint32_t fl = 0;
  for (uint32_t idx = pool.free_head; idx != 0 && fl <= pool.n_nodes; idx = pool.nodes[idx - 1].next) fl++;
  if (fl != pool.n_free) fz_fail("reass: free list has %u nodes, n_free %u", fl, pool.n_free);
  /* Chunks in use: at least one per range, at most what the bytes need plus alignment. */
  uint32_t used = chunks.n_chunks - chunks.n_free;
  uint32_t lo = nodes_used;
  uint32_t hi = 0;
  for (int k = 0; k < 2; k++)
    for (uint32_t idx = m[k].r.head; idx != 0; idx = pool.nodes[idx - 1].next)
      hi += (pool.nodes[idx - 1].len + UTCP_CHUNK_SIZE - 1) / UTCP_CHUNK_SIZE + 1;
  if (used < lo || used > hi) fz_fail("reass: %u chunks in use, expected %u..%u", used, lo, hi);
}

static void do_insert(struct model *md, uint32_t off, uint32_t len, uint32_t gen) {
  if (off >= window) off %= window;
  if (off == 0) off = 1; /* reassembly holds only data above rcv_nxt */
  if (len > window - off) len = window - off;
  if (len == 0) return;
  uint32_t seq = md->rcv_nxt + off;
  uint32_t missing = 0;
  for (uint32_t i = 0; i < len; i++) {
    buf[i] = gen_byte(seq + i, gen);
    missing += !md->have[(seq + i) % W_MAX];
  }
  uint32_t before = held_total(md);
  struct utcp_reass_result res =
      utcp_reass_insert(&pool, &md->r, utcp_seq(seq), buf, len, max_ranges, max_bytes);
  if (res.stored + res.dup > len) fz_fail("reass: stored %u + dup %u > len %u", res.stored, res.dup, len);
  if (res.dup != len - missing) fz_fail("reass: dup %u, but %u of %u bytes were held", res.dup, len - missing, len);
  if (!res.refused && res.stored != missing)
    fz_fail("reass: not refused but stored %u of %u missing bytes", res.stored, missing);
  /* Bring the model up to date from what the structure now holds: only bytes of this segment
   * that were missing may be new, with this segment's values. */
  uint32_t added = 0;
  for (uint32_t idx = md->r.head; idx != 0; idx = pool.nodes[idx - 1].next) {
    const struct utcp_reass_node *nd = &pool.nodes[idx - 1];
    if (idx > pool.n_nodes || nd->len > window) fz_fail("reass: corrupt range list");
    for (uint32_t i = 0; i < nd->len; i++) {
      uint32_t x = nd->seq.v + i;
      if (md->have[x % W_MAX]) continue;
      uint32_t rel = x - seq;
      if (rel >= len) fz_fail("reass: new byte at seq %u outside the segment", x);
      md->have[x % W_MAX] = 1;
      md->val[x % W_MAX] = buf[rel];
      md->held++;
      added++;
    }
  }
  if (added != res.stored) fz_fail("reass: says stored %u, %u new bytes held", res.stored, added);
  if (held_total(md) != before + added) fz_fail("reass: lost bytes on insert");
  check(md);
  if (!res.refused) {
    /* RFC 2018 4: the first SACK block holds the segment just received. */
    utcp_seq_t l[4], rr[4];
    size_t nb = utcp_reass_sack_blocks(&pool, &md->r, l, rr, 4);
    if (nb == 0 || utcp_seq_gt(l[0], utcp_seq(seq)) || utcp_seq_lt(rr[0], utcp_seq(seq + len)))
      fz_fail("reass: first SACK block does not cover the last segment [%u, %u)", seq, seq + len);
  }
}

static void do_pull(struct model *md, uint32_t adv) {
  /* As if adv bytes arrived in order: they pass rcv_nxt, and whatever the structure holds from
   * the new rcv_nxt on must come out, contiguous. */
  if (adv > window) adv = window;
  for (uint32_t i = 0; i < adv; i++) {
    uint32_t x = (md->rcv_nxt + i) % W_MAX;
    md->held -= md->have[x];
    md->have[x] = 0;
  }
  /* Bytes held below the new rcv_nxt are discarded by pull; the model forgets them above. */
  md->rcv_nxt += adv;
  uint32_t expect = 0;
  while (expect < window && md->have[(md->rcv_nxt + expect) % W_MAX]) expect++;
  struct utcp_bufq to;
  utcp_bufq_init(&to);
  uint32_t total = 0, m_;
  uint32_t at = md->rcv_nxt;
  while ((m_ = utcp_reass_pull(&pool, &md->r, utcp_seq(at), &to)) > 0) {
    total += m_;
    at += m_;
    if (total > window) fz_fail("reass: pull runs away");
  }
  if (total != expect) fz_fail("reass: pulled %u bytes, %u were contiguous", total, expect);
  if (to.len != total) fz_fail("reass: queue holds %u, pull said %u", to.len, total);
  if (total > 0) utcp_bufq_copy(&chunks, &to, 0, got, total);
  for (uint32_t i = 0; i < total; i++) {
    uint32_t x = (md->rcv_nxt + i) % W_MAX;
    if (got[i] != md->val[x]) fz_fail("reass: pulled byte %u is %02x, expected %02x", i, got[i], md->val[x]);
    md->have[x] = 0;
    md->held--;
  }
  utcp_bufq_clear(&chunks, &to);
  md->rcv_nxt += total;
  check(md);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  struct fz_in in = {data, size};
  uint32_t rcv0 = fz_u32(&in);
  window = fz_u16(&in);
  if (window < 16) window = 16;
  uint32_t nch = fz_u8(&in) % MAX_CHUNKS + 1;
  uint32_t nno = fz_u8(&in) % MAX_NODES + 1;
  max_ranges = fz_u8(&in) % 12 + 1;
  max_bytes = fz_u16(&in);
  max_bytes = max_bytes == 0 ? UINT32_MAX : max_bytes * 4u;
  utcp_chunk_pool_init(&chunks, chunk_store, nch);
  utcp_reass_pool_init(&pool, node_store, nno, &chunks);
  for (int k = 0; k < 2; k++) {
    utcp_reass_init(&m[k].r);
    m[k].rcv_nxt = rcv0 + (uint32_t)k * 0x80000000u;
    memset(m[k].have, 0, sizeof m[k].have);
    m[k].held = 0;
  }
  uint32_t gen = 0;
  while (fz_more(&in)) {
    uint8_t op = fz_u8(&in);
    struct model *md = &m[(op >> 7) & 1];
    switch (op & 3) {
      case 0:
      case 1: {
        uint32_t off = fz_u16(&in);
        uint32_t len = fz_u16(&in);
        if (op & 0x40) len &= 0xff; /* small segments: many ranges */
        do_insert(md, off, len, ++gen);
        break;
      }
      case 2:
        do_pull(md, fz_u16(&in) % (window + 1));
        break;
      case 3:
        if (op & 0x40) {
          utcp_reass_clear(&pool, &md->r);
          memset(md->have, 0, sizeof md->have);
          md->held = 0;
          check(md);
        } else {
          utcp_seq_t l[4], r[4];
          size_t want = fz_u8(&in) % 5;
          size_t nb = utcp_reass_sack_blocks(&pool, &md->r, l, r, want);
          size_t expect = md->r.n_ranges < want ? md->r.n_ranges : want;
          if (nb != expect) fz_fail("reass: %zu SACK blocks, expected %zu", nb, expect);
          for (size_t i = 0; i < nb; i++) {
            bool found = false;
            for (uint32_t idx = md->r.head; idx != 0; idx = pool.nodes[idx - 1].next) {
              const struct utcp_reass_node *nd = &pool.nodes[idx - 1];
              found |= nd->seq.v == l[i].v && nd->seq.v + nd->len == r[i].v;
            }
            if (!found) fz_fail("reass: SACK block %zu [%u, %u) is no range", i, l[i].v, r[i].v);
            for (size_t j = 0; j < i; j++)
              if (l[j].v == l[i].v) fz_fail("reass: SACK block repeated");
          }
        }
        break;
    }
    check_pools();
  }
  for (int k = 0; k < 2; k++) utcp_reass_clear(&pool, &m[k].r);
  if (pool.n_free != pool.n_nodes) fz_fail("reass: %u nodes leaked", pool.n_nodes - pool.n_free);
  if (chunks.n_free != chunks.n_chunks) fz_fail("reass: %u chunks leaked", chunks.n_chunks - chunks.n_free);
  return 0;
}
