/* Chunk pool and byte queues, checked against flat reference arrays: random operation
 * sequences, pool exhaustion and recovery, moves in every alignment, and a leak check at the end
 * of every test. */
#include "core/buf.h"
#include "core/rng.h"
#include "tests/test.h"

#define CS UTCP_CHUNK_SIZE

/* A queue and the bytes it must hold. */
struct ref {
  struct utcp_bufq q;
  uint8_t *bytes;
  size_t len, cap;
};

static void ref_init(struct ref *r, size_t cap) {
  utcp_bufq_init(&r->q);
  r->bytes = malloc(cap);
  r->len = 0;
  r->cap = cap;
}

static void ref_fini(struct utcp_chunk_pool *p, struct ref *r) {
  utcp_bufq_clear(p, &r->q);
  free(r->bytes);
}

static void fill_random(struct utcp_rng *rng, uint8_t *b, size_t n) {
  for (size_t i = 0; i < n; i++) b[i] = (uint8_t)utcp_rng_next(rng);
}

/* Chunks in q's chain, checking the queue invariant on the way. */
static uint32_t check_shape(const struct utcp_chunk_pool *p, const struct utcp_bufq *q) {
  if (q->len == 0) {
    CHECK_EQ(q->head, 0);
    CHECK_EQ(q->tail, 0);
    return 0;
  }
  CHECK(q->head_off < CS);
  uint32_t want = (uint32_t)((q->head_off + (uint64_t)q->len + CS - 1) / CS);
  uint32_t n = 0, idx = q->head, last = 0;
  while (idx != 0 && n <= p->n_chunks) {
    last = idx;
    idx = p->chunks[idx - 1].next;
    n++;
  }
  CHECK_EQ(n, want);
  CHECK_EQ(last, q->tail);
  return n;
}

/* q holds exactly the reference bytes, and every chunk is either free or in one queue. */
static void check_refs(const struct utcp_chunk_pool *p, struct ref *refs, size_t n_refs) {
  uint32_t used = 0;
  for (size_t i = 0; i < n_refs; i++) {
    struct ref *r = &refs[i];
    used += check_shape(p, &r->q);
    REQUIRE(r->q.len == r->len);
    uint8_t *out = malloc(r->len + 1);
    utcp_bufq_copy(p, &r->q, 0, out, r->len);
    CHECK(memcmp(out, r->bytes, r->len) == 0);
    free(out);
  }
  CHECK_EQ(used + p->n_free, p->n_chunks);
}

static struct utcp_chunk *pool_new(struct utcp_chunk_pool *p, uint32_t n) {
  struct utcp_chunk *storage = malloc(n * sizeof *storage);
  utcp_chunk_pool_init(p, storage, n);
  return storage;
}

TEST(test_buf_pool_init) {
  struct utcp_chunk_pool p;
  struct utcp_chunk *s = pool_new(&p, 3);
  CHECK_EQ(p.n_free, 3);
  CHECK_EQ(p.n_chunks, 3);
  struct utcp_bufq q;
  utcp_bufq_init(&q);
  CHECK_EQ(utcp_bufq_append(&p, &q, "x", 0), 0);
  CHECK_EQ(p.n_free, 3); /* an empty queue holds no chunk */
  utcp_bufq_consume(&p, &q, 0);
  utcp_bufq_clear(&p, &q);
  CHECK_EQ(p.n_free, 3);
  free(s);
  struct utcp_chunk_pool empty;
  utcp_chunk_pool_init(&empty, 0, 0);
  CHECK_EQ(utcp_bufq_append(&empty, &q, "abc", 3), 0);
  CHECK_EQ(q.len, 0);
}

/* The reserve keeps chunks from every allocation; the floor caps each side (send queues,
 * received data) at n_chunks - floor, so either always finds the floor's worth free. */
static size_t tx_append(struct utcp_chunk_pool *p, struct utcp_bufq *q, const void *d, size_t n) {
  uint32_t before = p->n_free;
  size_t got = utcp_bufq_append_keep(p, q, d, n, utcp_chunks_tx_keep(p));
  p->tx_used += before - p->n_free; /* as the TCP code counts (tcp.c) */
  return got;
}

TEST(test_buf_reserve_and_floor) {
  static uint8_t big[16 * CS];
  struct utcp_chunk_pool p;
  struct utcp_chunk *s = pool_new(&p, 16);
  utcp_chunks_set_limits(&p, 2, 4, false);
  CHECK_EQ(utcp_chunks_available(&p), 14);
  CHECK_EQ(utcp_chunks_tx_available(&p), 12);
  struct utcp_bufq tx, rx;
  utcp_bufq_init(&tx);
  utcp_bufq_init(&rx);
  /* Received data alone takes at most 12: the floor stays for writes. */
  CHECK_EQ(utcp_bufq_append(&p, &rx, big, sizeof big), 12 * CS);
  CHECK_EQ(utcp_chunks_tx_available(&p), 2); /* the floor, less the reserve */
  CHECK_EQ(tx_append(&p, &tx, big, sizeof big), 2 * CS);
  CHECK_EQ(p.n_free, 2); /* the reserve is left */
  utcp_bufq_clear(&p, &rx);
  /* Send queues alone take at most 12 as well; received data then gets what is free. */
  CHECK_EQ(tx_append(&p, &tx, big, sizeof big), 10 * CS);
  CHECK_EQ(p.tx_used, 12);
  CHECK_EQ(utcp_chunks_tx_available(&p), 0);
  CHECK_EQ(utcp_bufq_append(&p, &rx, big, sizeof big), 2 * CS);
  CHECK_EQ(p.n_free, 2);
  /* A held write (reserve 0, floor off) takes the reserve past the cap. */
  utcp_chunks_set_limits(&p, 0, 4, true);
  CHECK_EQ(tx_append(&p, &tx, big, sizeof big), 2 * CS);
  CHECK_EQ(p.n_free, 0);
  uint32_t before = p.n_free;
  utcp_bufq_clear(&p, &tx);
  p.tx_used -= p.n_free - before;
  utcp_bufq_clear(&p, &rx);
  CHECK_EQ(p.n_free, 16);
  CHECK_EQ(p.tx_used, 0);
  free(s);
}

TEST(test_buf_append_copy_consume) {
  struct utcp_chunk_pool p;
  struct utcp_chunk *s = pool_new(&p, 8);
  struct utcp_rng rng;
  utcp_rng_init(&rng, 1);
  struct ref r;
  ref_init(&r, 8 * CS);
  /* Appends that end exactly on, just before and just after chunk boundaries. */
  static const size_t sizes[] = {1, CS - 2, 1, 1, CS, 3, CS - 3, 2 * CS + 5};
  for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
    fill_random(&rng, r.bytes + r.len, sizes[i]);
    CHECK_EQ(utcp_bufq_append(&p, &r.q, r.bytes + r.len, sizes[i]), sizes[i]);
    r.len += sizes[i];
    check_refs(&p, &r, 1);
  }
  /* Copies at every boundary. */
  uint8_t out[3 * CS];
  for (size_t off = 0; off + 2 <= r.len; off += CS / 2 - 1) {
    size_t n = r.len - off < sizeof out ? r.len - off : sizeof out;
    utcp_bufq_copy(&p, &r.q, off, out, n);
    CHECK(memcmp(out, r.bytes + off, n) == 0);
  }
  /* Front to back as the send path reads, then backwards (the hint must not be trusted past
   * where it points). */
  for (size_t off = 0; off + 700 <= r.len; off += 700) {
    utcp_bufq_read_at(&p, &r.q, off, out, 700);
    CHECK(memcmp(out, r.bytes + off, 700) == 0);
  }
  for (size_t off = r.len - 1; off > 0; off -= off > 900 ? 900 : off) {
    utcp_bufq_read_at(&p, &r.q, off, out, 1);
    CHECK_EQ(out[0], r.bytes[off]);
  }
  /* Consume to exactly a boundary, across one, then everything. */
  static const size_t eat[] = {CS, 1, CS - 1, 3, 2 * CS};
  for (size_t i = 0; i < sizeof eat / sizeof eat[0]; i++) {
    utcp_bufq_consume(&p, &r.q, eat[i]);
    memmove(r.bytes, r.bytes + eat[i], r.len - eat[i]);
    r.len -= eat[i];
    check_refs(&p, &r, 1);
  }
  utcp_bufq_consume(&p, &r.q, r.len);
  r.len = 0;
  check_refs(&p, &r, 1);
  CHECK_EQ(r.q.head_off, 0);
  ref_fini(&p, &r);
  CHECK_EQ(p.n_free, p.n_chunks);
  free(s);
}

TEST(test_buf_write_at) {
  struct utcp_chunk_pool p;
  struct utcp_chunk *s = pool_new(&p, 6);
  struct utcp_rng rng;
  utcp_rng_init(&rng, 2);
  struct ref r;
  ref_init(&r, 6 * CS);
  fill_random(&rng, r.bytes, 4 * CS);
  CHECK_EQ(utcp_bufq_append(&p, &r.q, r.bytes, 4 * CS), 4 * CS);
  r.len = 4 * CS;
  utcp_bufq_consume(&p, &r.q, 100); /* a head that does not start at 0 */
  memmove(r.bytes, r.bytes + 100, r.len - 100);
  r.len -= 100;
  static const size_t at[][2] = {{0, 1}, {CS - 101, 2}, {CS - 100, CS}, {5, 3 * CS}, {0, 0}};
  for (size_t i = 0; i < sizeof at / sizeof at[0]; i++) {
    size_t off = at[i][0], n = at[i][1];
    REQUIRE(off + n <= r.len);
    fill_random(&rng, r.bytes + off, n);
    utcp_bufq_write_at(&p, &r.q, off, r.bytes + off, n);
    check_refs(&p, &r, 1);
  }
  ref_fini(&p, &r);
  CHECK_EQ(p.n_free, p.n_chunks);
  free(s);
}

TEST(test_buf_pool_exhaustion) {
  struct utcp_chunk_pool p;
  struct utcp_chunk *s = pool_new(&p, 4);
  struct utcp_rng rng;
  utcp_rng_init(&rng, 3);
  struct ref r[2];
  ref_init(&r[0], 8 * CS);
  ref_init(&r[1], 8 * CS);
  uint8_t data[8 * CS];
  fill_random(&rng, data, sizeof data);
  /* 5 chunks' worth into a pool of 4: a partial append. */
  CHECK_EQ(utcp_bufq_append(&p, &r[0].q, data, 3 * CS + 10), 3 * CS + 10);
  memcpy(r[0].bytes, data, 3 * CS + 10);
  r[0].len = 3 * CS + 10;
  size_t got = utcp_bufq_append(&p, &r[0].q, data + 100, 2 * CS);
  CHECK_EQ(got, CS - 10); /* fills the tail's room and the last chunk */
  memcpy(r[0].bytes + r[0].len, data + 100, got);
  r[0].len += got;
  CHECK_EQ(p.n_free, 0);
  CHECK_EQ(utcp_bufq_append(&p, &r[0].q, data, 1), 0);
  CHECK_EQ(utcp_bufq_append(&p, &r[1].q, data, 1), 0);
  check_refs(&p, r, 2);
  /* Consuming less than a chunk frees nothing; crossing a boundary frees one. */
  utcp_bufq_consume(&p, &r[0].q, CS - 1);
  CHECK_EQ(p.n_free, 0);
  utcp_bufq_consume(&p, &r[0].q, 1);
  CHECK_EQ(p.n_free, 1);
  memmove(r[0].bytes, r[0].bytes + CS, r[0].len - CS);
  r[0].len -= CS;
  /* Recovery: the other queue gets the freed chunk. */
  CHECK_EQ(utcp_bufq_append(&p, &r[1].q, data, 2 * CS), CS);
  memcpy(r[1].bytes, data, CS);
  r[1].len = CS;
  check_refs(&p, r, 2);
  ref_fini(&p, &r[0]);
  ref_fini(&p, &r[1]);
  CHECK_EQ(p.n_free, p.n_chunks);
  free(s);
}

/* Builds a queue of len bytes starting at offset off of its first chunk. */
static void build(struct utcp_chunk_pool *p, struct ref *r, uint32_t off, size_t len,
                  struct utcp_rng *rng) {
  utcp_bufq_init_at(&r->q, off);
  fill_random(rng, r->bytes, len);
  CHECK_EQ(utcp_bufq_append(p, &r->q, r->bytes, len), len);
  r->len = len;
  if (len > 0) CHECK_EQ(r->q.head_off, off);
}

TEST(test_buf_move_alignments) {
  struct utcp_chunk_pool p;
  struct utcp_chunk *s = pool_new(&p, 16);
  struct utcp_rng rng;
  utcp_rng_init(&rng, 4);
  static const uint32_t offs[] = {0, 1, CS / 2, CS - 1};
  static const size_t lens[] = {0, 1, CS / 2, CS - 1, CS, CS + 1, 3 * CS + 7};
  size_t cases = 0, copy_free = 0;
  for (size_t a = 0; a < 4; a++) {
    for (size_t b = 0; b < sizeof lens / sizeof lens[0]; b++) {
      for (size_t c = 0; c < 4; c++) {
        for (size_t d = 0; d < sizeof lens / sizeof lens[0]; d++) {
          struct ref r[2];
          ref_init(&r[0], 16 * CS);
          ref_init(&r[1], 8 * CS);
          build(&p, &r[0], offs[a], lens[b], &rng);
          build(&p, &r[1], offs[c], lens[d], &rng);
          uint32_t free_before = p.n_free;
          CHECK_EQ(utcp_bufq_move(&p, &r[0].q, &r[1].q), lens[d]);
          CHECK(p.n_free >= free_before); /* needs no new chunk */
          memcpy(r[0].bytes + r[0].len, r[1].bytes, r[1].len);
          r[0].len += r[1].len;
          r[1].len = 0;
          check_refs(&p, r, 2);
          /* The result keeps working as a queue. */
          CHECK_EQ(utcp_bufq_append(&p, &r[0].q, "xyz", 3), 3);
          memcpy(r[0].bytes + r[0].len, "xyz", 3);
          r[0].len += 3;
          utcp_bufq_consume(&p, &r[0].q, 1);
          memmove(r[0].bytes, r[0].bytes + 1, --r[0].len);
          check_refs(&p, r, 2);
          ref_fini(&p, &r[0]);
          ref_fini(&p, &r[1]);
          CHECK_EQ(p.n_free, p.n_chunks);
          cases++;
          /* dst's end and src's start at the same chunk offset: no shifting. */
          if (lens[b] > 0 && (offs[a] + lens[b]) % CS == offs[c]) copy_free++;
        }
      }
    }
  }
  CHECK_EQ(cases, 4 * 7 * 4 * 7);
  CHECK(copy_free > 0);
  free(s);
}

TEST(test_buf_random_ops) {
  enum { NQ = 3, CHUNKS = 24, STEPS = 20000 };
  for (uint64_t seed = 1; seed <= 10; seed++) {
    struct utcp_chunk_pool p;
    struct utcp_chunk *s = pool_new(&p, CHUNKS);
    struct utcp_rng rng;
    utcp_rng_init(&rng, seed);
    struct ref r[NQ];
    for (int i = 0; i < NQ; i++) ref_init(&r[i], (CHUNKS + 1) * CS);
    uint8_t data[4 * CS];
    int partial = 0;
    for (int step = 0; step < STEPS; step++) {
      struct ref *x = &r[utcp_rng_below(&rng, NQ)];
      struct ref *y = &r[utcp_rng_below(&rng, NQ)];
      uint32_t op = (uint32_t)utcp_rng_below(&rng, 100);
      if (op < 35) {
        size_t n = utcp_rng_below(&rng, utcp_rng_chance(&rng, 1, 2) ? 4 * CS : 300);
        if (x->len == 0 && utcp_rng_chance(&rng, 1, 2)) {
          utcp_bufq_init_at(&x->q, (uint32_t)utcp_rng_below(&rng, CS));
        }
        /* Exactly what fits: the tail's room (or the aligned first chunk's), then free chunks. */
        size_t room = x->len > 0 ? (CS - (x->q.head_off + x->len) % CS) % CS : 0;
        size_t fit = room + (size_t)p.n_free * CS - (x->len == 0 && p.n_free ? x->q.head_off : 0);
        size_t want = n < fit ? n : fit;
        fill_random(&rng, data, n);
        size_t got = utcp_bufq_append(&p, &x->q, data, n);
        CHECK_EQ(got, want);
        if (got < n) partial++;
        memcpy(x->bytes + x->len, data, got);
        x->len += got;
      } else if (op < 50) {
        if (x->len == 0) continue;
        size_t off = utcp_rng_below(&rng, x->len);
        size_t n = utcp_rng_below(&rng, x->len - off + 1);
        uint8_t out[(CHUNKS + 1) * CS];
        /* read_at's remembered chunk must survive every other operation in between. */
        if (utcp_rng_chance(&rng, 1, 2)) {
          utcp_bufq_read_at(&p, &x->q, off, out, n);
        } else {
          utcp_bufq_copy(&p, &x->q, off, out, n);
        }
        CHECK(memcmp(out, x->bytes + off, n) == 0);
      } else if (op < 60) {
        if (x->len == 0) continue;
        size_t off = utcp_rng_below(&rng, x->len);
        size_t n = utcp_rng_below(&rng, x->len - off + 1);
        fill_random(&rng, x->bytes + off, n);
        utcp_bufq_write_at(&p, &x->q, off, x->bytes + off, n);
      } else if (op < 85) {
        size_t n = utcp_rng_below(&rng, x->len + 1);
        if (utcp_rng_chance(&rng, 1, 3)) n = x->len < CS ? x->len : CS;
        utcp_bufq_consume(&p, &x->q, n);
        memmove(x->bytes, x->bytes + n, x->len - n);
        x->len -= n;
      } else if (op < 97) {
        if (x == y) continue;
        uint32_t free_before = p.n_free;
        CHECK_EQ(utcp_bufq_move(&p, &x->q, &y->q), y->len);
        CHECK(p.n_free >= free_before);
        memcpy(x->bytes + x->len, y->bytes, y->len);
        x->len += y->len;
        y->len = 0;
      } else {
        utcp_bufq_clear(&p, &x->q);
        x->len = 0;
      }
      check_refs(&p, r, NQ);
    }
    CHECK(partial > 0); /* the run did exhaust the pool */
    for (int i = 0; i < NQ; i++) ref_fini(&p, &r[i]);
    CHECK_EQ(p.n_free, p.n_chunks);
    free(s);
  }
}

TEST_MAIN(TEST_CASE(test_buf_pool_init), TEST_CASE(test_buf_reserve_and_floor),
          TEST_CASE(test_buf_append_copy_consume),
          TEST_CASE(test_buf_write_at), TEST_CASE(test_buf_pool_exhaustion),
          TEST_CASE(test_buf_move_alignments), TEST_CASE(test_buf_random_ops))
