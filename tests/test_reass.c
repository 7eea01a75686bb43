/* Out-of-order reassembly: a reference-model fuzz over a 64 KiB window (every byte delivered is
 * the first copy received, exactly once, in order), limits, sequence wrap-around near 2^32,
 * RFC 2018 SACK block order, and pools back to full at the end of every test. */
#include "core/reass.h"
#include "core/rng.h"
#include "tests/test.h"

#define CS UTCP_CHUNK_SIZE
#define NOLIMIT UINT32_MAX

struct fix {
  struct utcp_chunk_pool chunks;
  struct utcp_reass_pool nodes;
  struct utcp_reass r;
  struct utcp_bufq out; /* where pulls go */
};

static void fix_init(struct fix *f, uint32_t n_chunks, uint32_t n_nodes) {
  utcp_chunk_pool_init(&f->chunks, malloc((n_chunks + 1) * sizeof(struct utcp_chunk)), n_chunks);
  utcp_reass_pool_init(&f->nodes, malloc((n_nodes + 1) * sizeof(struct utcp_reass_node)), n_nodes,
                       &f->chunks);
  utcp_reass_init(&f->r);
  utcp_bufq_init(&f->out);
}

/* Leak check, then free. */
static void fix_fini(struct fix *f) {
  utcp_reass_clear(&f->nodes, &f->r);
  utcp_bufq_clear(&f->chunks, &f->out);
  CHECK_EQ(f->r.head, 0);
  CHECK_EQ(f->r.n_ranges, 0);
  CHECK_EQ(f->r.bytes, 0);
  CHECK_EQ(f->nodes.n_free, f->nodes.n_nodes);
  CHECK_EQ(f->chunks.n_free, f->chunks.n_chunks);
  free(f->nodes.nodes);
  free(f->chunks.chunks);
}

/* The list is sorted, disjoint and non-adjacent, its totals match, recent[] is valid. */
static void check_list(const struct fix *f) {
  const struct utcp_reass *r = &f->r;
  uint32_t n = 0, bytes = 0, prev = 0;
  for (uint32_t i = r->head; i != 0 && n <= f->nodes.n_nodes; i = f->nodes.nodes[i - 1].next) {
    const struct utcp_reass_node *nd = &f->nodes.nodes[i - 1];
    CHECK(nd->len > 0);
    CHECK_EQ(nd->data.len, nd->len);
    if (prev) {
      const struct utcp_reass_node *pv = &f->nodes.nodes[prev - 1];
      CHECK(utcp_seq_lt(utcp_seq_add(pv->seq, pv->len), nd->seq)); /* a gap between ranges */
    }
    n++;
    bytes += nd->len;
    prev = i;
  }
  CHECK_EQ(n, r->n_ranges);
  CHECK_EQ(bytes, r->bytes);
  bool zero = false;
  for (int i = 0; i < 4; i++) {
    uint32_t x = r->recent[i];
    if (x == 0) {
      zero = true;
      continue;
    }
    CHECK(!zero); /* zeros last */
    bool found = false;
    for (uint32_t j = r->head; j != 0; j = f->nodes.nodes[j - 1].next) found |= j == x;
    CHECK(found); /* no dangling index */
    for (int k = 0; k < i; k++) CHECK(r->recent[k] != x);
  }
}

static struct utcp_reass_result ins(struct fix *f, uint32_t seq, const void *data, uint32_t len) {
  struct utcp_reass_result res =
      utcp_reass_insert(&f->nodes, &f->r, utcp_seq(seq), data, len, NOLIMIT, NOLIMIT);
  check_list(f);
  return res;
}

/* Pulls everything up to rcv_nxt, advancing it; returns the bytes and copies them to out. */
static uint32_t pull_all(struct fix *f, uint32_t *rcv_nxt, uint8_t *out) {
  uint32_t total = 0, n;
  while ((n = utcp_reass_pull(&f->nodes, &f->r, utcp_seq(*rcv_nxt), &f->out)) > 0) {
    *rcv_nxt += n;
    total += n;
  }
  CHECK_EQ(f->out.len, total);
  utcp_bufq_copy(&f->chunks, &f->out, 0, out, total);
  utcp_bufq_consume(&f->chunks, &f->out, total);
  check_list(f);
  return total;
}

TEST(test_reass_basic) {
  struct fix f;
  fix_init(&f, 64, 16);
  uint8_t d[4000], out[4000];
  for (size_t i = 0; i < sizeof d; i++) d[i] = (uint8_t)(i * 7 + 3);
  uint32_t base = 1000, nxt = base;
  struct utcp_reass_result res = ins(&f, base + 2000, d + 2000, 1000);
  CHECK_EQ(res.stored, 1000);
  CHECK_EQ(res.dup, 0);
  CHECK(!res.refused);
  CHECK_EQ(pull_all(&f, &nxt, out), 0); /* a hole at rcv_nxt */
  res = ins(&f, base + 1000, d + 1000, 500);
  CHECK_EQ(f.r.n_ranges, 2);
  res = ins(&f, base + 1500, d + 1500, 500); /* joins both neighbours */
  CHECK_EQ(res.stored, 500);
  CHECK_EQ(f.r.n_ranges, 1);
  res = ins(&f, base + 1200, d + 1200, 2500); /* mostly held, 700 new at the end */
  CHECK_EQ(res.stored, 700);
  CHECK_EQ(res.dup, 1800);
  CHECK_EQ(res.dup_seq.v, base + 1200); /* RFC 2883 4.2: the first duplicate run */
  CHECK_EQ(res.dup_len, 1800);
  CHECK_EQ(f.r.bytes, 2700);
  res = ins(&f, base, d, 1000);
  CHECK_EQ(f.r.n_ranges, 1);
  CHECK_EQ(pull_all(&f, &nxt, out), 3700);
  CHECK(memcmp(out, d, 3700) == 0);
  CHECK_EQ(nxt, base + 3700);
  CHECK_EQ(f.r.n_ranges, 0);
  res = ins(&f, nxt, d, 0);
  CHECK_EQ(res.stored + res.dup, 0);
  fix_fini(&f);
}

TEST(test_reass_overlap_keeps_old_bytes) {
  struct fix f;
  fix_init(&f, 16, 8);
  uint8_t a[10], b[30], out[30];
  memset(a, 'A', sizeof a);
  memset(b, 'B', sizeof b);
  uint32_t nxt = 0;
  ins(&f, 10, a, 10);
  ins(&f, 25, a, 2);
  struct utcp_reass_result res = ins(&f, 0, b, 30); /* covers both, and the holes around */
  CHECK_EQ(res.stored, 18);
  CHECK_EQ(res.dup, 12);
  CHECK_EQ(res.dup_seq.v, 10); /* the first of the two duplicate runs, 10..20 */
  CHECK_EQ(res.dup_len, 10);
  CHECK_EQ(f.r.n_ranges, 1);
  CHECK_EQ(pull_all(&f, &nxt, out), 30);
  CHECK(memcmp(out, "BBBBBBBBBBAAAAAAAAAABBBBBAABBB", 30) == 0);
  fix_fini(&f);
}

TEST(test_reass_pull_discards_below_rcv_nxt) {
  struct fix f;
  fix_init(&f, 16, 8);
  uint8_t d[300], out[300];
  for (int i = 0; i < 300; i++) d[i] = (uint8_t)i;
  ins(&f, 100, d + 100, 50);  /* wholly below the rcv_nxt used next: dropped */
  ins(&f, 180, d + 180, 100); /* straddles it */
  ins(&f, 290, d + 290, 10);  /* above */
  uint32_t nxt = 200;
  CHECK_EQ(utcp_reass_pull(&f.nodes, &f.r, utcp_seq(nxt), &f.out), 80);
  nxt += 80;
  CHECK_EQ(utcp_reass_pull(&f.nodes, &f.r, utcp_seq(nxt), &f.out), 0);
  utcp_bufq_copy(&f.chunks, &f.out, 0, out, 80);
  CHECK(memcmp(out, d + 200, 80) == 0);
  CHECK_EQ(f.r.n_ranges, 1);
  CHECK_EQ(f.r.bytes, 10);
  check_list(&f);
  fix_fini(&f);
}

TEST(test_reass_limits) {
  struct fix f;
  fix_init(&f, 64, 16);
  uint8_t d[8192];
  memset(d, 0x5a, sizeof d);
  struct utcp_reass *r = &f.r;
  /* Range limit: a third separate range is refused, and nothing changes. */
  struct utcp_reass_result res = utcp_reass_insert(&f.nodes, r, utcp_seq(100), d, 10, 2, NOLIMIT);
  res = utcp_reass_insert(&f.nodes, r, utcp_seq(300), d, 10, 2, NOLIMIT);
  CHECK_EQ(r->n_ranges, 2);
  res = utcp_reass_insert(&f.nodes, r, utcp_seq(500), d, 10, 2, NOLIMIT);
  CHECK(res.refused);
  CHECK_EQ(res.stored, 0);
  CHECK_EQ(r->n_ranges, 2);
  CHECK_EQ(r->bytes, 20);
  check_list(&f);
  /* Growing a range or filling a hole needs no new range. */
  res = utcp_reass_insert(&f.nodes, r, utcp_seq(110), d, 10, 2, NOLIMIT);
  CHECK(!res.refused);
  res = utcp_reass_insert(&f.nodes, r, utcp_seq(280), d, 20, 2, NOLIMIT); /* joins 300 */
  CHECK(!res.refused);
  CHECK_EQ(res.stored, 20);
  CHECK_EQ(r->n_ranges, 2);
  res = utcp_reass_insert(&f.nodes, r, utcp_seq(120), d, 160, 2, NOLIMIT); /* joins all */
  CHECK(!res.refused);
  CHECK_EQ(r->n_ranges, 1);
  check_list(&f);
  /* At the range limit: a piece touching nothing is refused; one ending where a range starts
   * joins it at once and is stored; holes between ranges and growth at the end are stored. */
  utcp_reass_clear(&f.nodes, r);
  utcp_reass_insert(&f.nodes, r, utcp_seq(0), d, 10, 2, NOLIMIT);
  utcp_reass_insert(&f.nodes, r, utcp_seq(20), d, 10, 2, NOLIMIT);
  res = utcp_reass_insert(&f.nodes, r, utcp_seq(12), d, 6, 2, NOLIMIT);
  CHECK(res.refused);
  CHECK_EQ(res.stored, 0);
  res = utcp_reass_insert(&f.nodes, r, utcp_seq(15), d, 5, 2, NOLIMIT);
  CHECK(!res.refused);
  CHECK_EQ(res.stored, 5);
  CHECK_EQ(r->n_ranges, 2);
  res = utcp_reass_insert(&f.nodes, r, utcp_seq(5), d, 40, 2, NOLIMIT);
  CHECK(!res.refused);
  CHECK_EQ(res.dup, 20);
  CHECK_EQ(res.stored, 20); /* [10,15) joins both ranges, [30,45) extends the result */
  CHECK_EQ(r->n_ranges, 1);
  check_list(&f);
  /* Byte limit: partial store, refused, never more than the limit. */
  utcp_reass_clear(&f.nodes, r);
  res = utcp_reass_insert(&f.nodes, r, utcp_seq(1000), d, 3000, NOLIMIT, 2500);
  CHECK(res.refused);
  CHECK_EQ(res.stored, 2500);
  CHECK_EQ(r->bytes, 2500);
  res = utcp_reass_insert(&f.nodes, r, utcp_seq(9000), d, 10, NOLIMIT, 2500);
  CHECK(res.refused);
  CHECK_EQ(res.stored, 0);
  res = utcp_reass_insert(&f.nodes, r, utcp_seq(1000), d, 2500, NOLIMIT, 2500); /* all dup */
  CHECK(!res.refused);
  CHECK_EQ(res.dup, 2500);
  check_list(&f);
  fix_fini(&f);
}

TEST(test_reass_pool_exhaustion) {
  struct fix f;
  fix_init(&f, 3, 2);
  uint8_t d[4 * CS];
  memset(d, 1, sizeof d);
  uint32_t nxt = 0;
  /* Chunks run out mid-segment: a prefix is stored, consistently. */
  struct utcp_reass_result res = ins(&f, 100, d, 4 * CS);
  CHECK(res.refused);
  CHECK(res.stored > 0 && res.stored < 4 * CS);
  CHECK_EQ(f.r.bytes, res.stored);
  CHECK_EQ(f.chunks.n_free, 0);
  /* No chunk for a new range: its node goes back. */
  res = ins(&f, 50 * CS, d, 10);
  CHECK(res.refused);
  CHECK_EQ(f.nodes.n_free, 1);
  /* Nodes run out. */
  utcp_reass_clear(&f.nodes, &f.r);
  ins(&f, 10, d, 1);
  ins(&f, 20, d, 1);
  res = ins(&f, 30, d, 1);
  CHECK(res.refused);
  CHECK_EQ(f.nodes.n_free, 0);
  /* The piece before the first range needs a node: refused. Filling [11, 20) joins the two
   * ranges and frees a node, and [21, 40) grows the result. */
  res = ins(&f, 0, d, 40);
  CHECK(res.refused);
  CHECK_EQ(res.stored, 28);
  CHECK_EQ(res.dup, 2);
  CHECK_EQ(f.r.n_ranges, 1);
  CHECK_EQ(f.nodes.n_free, 1);
  res = ins(&f, 0, d, 40); /* now it fits */
  CHECK(!res.refused);
  CHECK_EQ(res.stored, 10);
  CHECK_EQ(res.dup, 30);
  uint8_t out[64];
  CHECK_EQ(pull_all(&f, &nxt, out), 40);
  /* At the range limit a piece may join the next range, but when the chunks run out before it
   * reaches it, it is not kept at all (it would be a range over the limit). */
  CHECK_EQ(utcp_reass_insert(&f.nodes, &f.r, utcp_seq(3 * CS), d, 10, 1, NOLIMIT).stored, 10);
  CHECK_EQ(f.chunks.n_free, 2);
  res = utcp_reass_insert(&f.nodes, &f.r, utcp_seq(0), d, 3 * CS, 1, NOLIMIT);
  CHECK(res.refused);
  CHECK_EQ(res.stored, 0);
  CHECK_EQ(f.r.n_ranges, 1);
  CHECK_EQ(f.chunks.n_free, 2);
  res = utcp_reass_insert(&f.nodes, &f.r, utcp_seq(2 * CS), d, CS, 1, NOLIMIT); /* fits */
  CHECK(!res.refused);
  CHECK_EQ(f.r.n_ranges, 1);
  check_list(&f);
  fix_fini(&f);
}

TEST(test_reass_seq_wrap) {
  struct fix f;
  fix_init(&f, 64, 16);
  uint8_t d[6000], out[6000];
  for (size_t i = 0; i < sizeof d; i++) d[i] = (uint8_t)(i ^ (i >> 8));
  uint32_t base = 0xffffffffu - 2500, nxt = base;
  /* Ranges on both sides of 2^32, one spanning it, inserted out of order. */
  ins(&f, base + 4000, d + 4000, 2000);
  ins(&f, base + 2000, d + 2000, 1000); /* spans the wrap */
  ins(&f, base + 1000, d + 1000, 500);
  CHECK_EQ(f.r.n_ranges, 3);
  utcp_seq_t l[4], rr[4];
  size_t n = utcp_reass_sack_blocks(&f.nodes, &f.r, l, rr, 4);
  CHECK_EQ(n, 3);
  CHECK_EQ(l[0].v, base + 1000);
  CHECK_EQ(rr[1].v, (uint32_t)(base + 3000));
  ins(&f, base + 1400, d + 1400, 3000); /* joins all three across the wrap */
  CHECK_EQ(f.r.n_ranges, 1);
  ins(&f, base, d, 1000);
  CHECK_EQ(pull_all(&f, &nxt, out), 6000);
  CHECK(memcmp(out, d, 6000) == 0);
  CHECK_EQ(nxt, (uint32_t)(base + 6000));
  fix_fini(&f);
}

static void expect_blocks(struct fix *f, size_t max, const uint32_t *want, size_t n_want) {
  utcp_seq_t l[8], r[8];
  size_t n = utcp_reass_sack_blocks(&f->nodes, &f->r, l, r, max);
  CHECK_EQ(n, n_want);
  for (size_t i = 0; i < n && i < n_want; i++) {
    CHECK_EQ(l[i].v, want[i]);
    /* Each block is a whole range: its right edge is the end of that range. */
    for (uint32_t j = f->r.head; j != 0; j = f->nodes.nodes[j - 1].next) {
      const struct utcp_reass_node *nd = &f->nodes.nodes[j - 1];
      if (nd->seq.v == l[i].v) CHECK_EQ(r[i].v, nd->seq.v + nd->len);
    }
    for (size_t k = 0; k < i; k++) CHECK(l[k].v != l[i].v); /* no duplicates */
  }
}

TEST(test_reass_sack_order) {
  struct fix f;
  fix_init(&f, 64, 16);
  uint8_t d[100] = {0};
  /* RFC 2018 4: newest first, then the others most recent first, then the rest ascending. */
  ins(&f, 1100, d, 100);
  ins(&f, 1300, d, 100);
  ins(&f, 1500, d, 100);
  ins(&f, 1700, d, 100);
  ins(&f, 1900, d, 100);
  ins(&f, 2100, d, 100);
  expect_blocks(&f, 4, (const uint32_t[]){2100, 1900, 1700, 1500}, 4);
  expect_blocks(&f, 3, (const uint32_t[]){2100, 1900, 1700}, 3);
  expect_blocks(&f, 8, (const uint32_t[]){2100, 1900, 1700, 1500, 1100, 1300}, 6);
  expect_blocks(&f, 0, 0, 0);
  /* A duplicate segment: its block goes first again (with the D-SACK block, RFC 2883 4). */
  struct utcp_reass_result res = ins(&f, 1320, d, 10);
  CHECK_EQ(res.dup, 10);
  expect_blocks(&f, 4, (const uint32_t[]){1300, 2100, 1900, 1700}, 4);
  /* Filling the hole between 1700 and 1900 merges them: one block, first, no duplicate. */
  ins(&f, 1800, d, 100);
  expect_blocks(&f, 8, (const uint32_t[]){1700, 1300, 2100, 1100, 1500}, 5);
  /* Growing a range at its end moves it to the front. */
  ins(&f, 1150, d, 60);
  expect_blocks(&f, 3, (const uint32_t[]){1100, 1700, 1300}, 3);
  /* Pulled ranges leave recent[] with no dangling entries. */
  uint32_t nxt = 1000;
  ins(&f, 1000, d, 100);
  uint8_t out[2000];
  CHECK_EQ(pull_all(&f, &nxt, out), 210);
  expect_blocks(&f, 8, (const uint32_t[]){1700, 1300, 1500, 2100}, 4);
  fix_fini(&f);
}

/* Reference-model fuzz. The stream's bytes at offset o (from the initial sequence number) live
 * at model index o; held[] marks bytes the reassembly must hold, val[] their first copy. */
enum { WIN = 65536, STREAM = 4 * 1024 * 1024 };

struct model {
  uint8_t *held, *val;
  uint64_t nxt;  /* offset of rcv_nxt */
  uint32_t iss;
};

/* The reassembly's ranges and bytes match the model exactly over [nxt, nxt + WIN), and the
 * model holds nothing below nxt. */
static void model_compare(struct fix *f, struct model *m) {
  uint64_t lo = m->nxt, hi = m->nxt + WIN;
  static uint8_t buf[WIN];
  uint64_t expect_from = lo;
  REQUIRE(lo == 0 || !m->held[lo - 1]);
  for (uint32_t i = f->r.head; i != 0; i = f->nodes.nodes[i - 1].next) {
    const struct utcp_reass_node *nd = &f->nodes.nodes[i - 1];
    uint64_t off = m->nxt + (int64_t)utcp_seq_diff(nd->seq, utcp_seq((uint32_t)(m->iss + m->nxt)));
    REQUIRE(off >= lo && off + nd->len <= hi);
    REQUIRE(memchr(m->held + expect_from, 1, off - expect_from) == 0);
    REQUIRE(memchr(m->held + off, 0, nd->len) == 0);
    utcp_bufq_copy(&f->chunks, &nd->data, 0, buf, nd->len);
    REQUIRE(memcmp(buf, m->val + off, nd->len) == 0);
    expect_from = off + nd->len;
  }
  REQUIRE(memchr(m->held + expect_from, 1, hi - expect_from) == 0);
}

TEST(test_reass_model_fuzz) {
  struct model m;
  m.held = calloc(STREAM + 2 * WIN, 1);
  m.val = calloc(STREAM + 2 * WIN, 1);
  uint64_t pulled_total = 0, refusals = 0, merges_checked = 0;
  for (uint64_t seed = 1; seed <= 12; seed++) {
    struct utcp_rng rng;
    utcp_rng_init(&rng, seed);
    bool tight = seed % 3 == 0; /* small pools and limits */
    struct fix f;
    fix_init(&f, tight ? 24 : 160, tight ? 6 : 64);
    uint32_t max_ranges = tight ? 4 : (uint32_t)(8 + utcp_rng_below(&rng, 32));
    uint32_t max_bytes = tight ? 20000 : (seed % 2 ? NOLIMIT : 48000);
    memset(m.held, 0, STREAM + 2 * WIN);
    m.nxt = 0;
    m.iss = seed % 4 == 1 ? 0xffffffffu - (uint32_t)utcp_rng_below(&rng, 100000)
                          : (uint32_t)utcp_rng_next(&rng);
    uint8_t data[WIN], got[WIN];
    for (int step = 0; step < 4000 && m.nxt + 2 * WIN < STREAM; step++) {
      uint32_t op = (uint32_t)utcp_rng_below(&rng, 100);
      if (op < 70) {
        /* A segment at or above rcv_nxt inside the window, random overlaps. */
        uint64_t off = m.nxt + (utcp_rng_chance(&rng, 1, 8) ? 0 : utcp_rng_below(&rng, WIN - 1));
        uint32_t maxlen = (uint32_t)(m.nxt + WIN - off);
        uint64_t len_max = utcp_rng_chance(&rng, 1, 2) ? 16 : 3000;
        uint32_t len = (uint32_t)(1 + utcp_rng_below(&rng, len_max));
        if (len > maxlen) len = maxlen;
        for (uint32_t k = 0; k < len; k++) data[k] = (uint8_t)utcp_rng_next(&rng);
        uint32_t fresh = 0, holes = 0, chunks_needed = 0, run = 0;
        for (uint32_t k = 0; k <= len; k++) {
          if (k < len && !m.held[off + k]) {
            fresh++;
            run++;
          } else if (run > 0) {
            holes++;
            chunks_needed += run / CS + 2;
            run = 0;
          }
        }
        uint32_t bytes_before = f.r.bytes;
        struct utcp_reass_result res =
            utcp_reass_insert(&f.nodes, &f.r, utcp_seq((uint32_t)(m.iss + off)), data, len,
                              max_ranges, max_bytes);
        CHECK_EQ(res.dup, len - fresh);
        CHECK_EQ(res.refused, res.stored < fresh);
        CHECK_EQ(f.r.bytes, bytes_before + res.stored);
        CHECK(f.r.n_ranges <= max_ranges);
        CHECK(f.r.bytes <= max_bytes);
        bool roomy = (uint64_t)bytes_before + fresh <= max_bytes &&
                     f.r.n_ranges + holes <= max_ranges && f.nodes.n_free >= holes &&
                     f.chunks.n_free >= chunks_needed;
        if (roomy) CHECK(!res.refused);
        if (res.refused) refusals++;
        /* Learn which new bytes were kept from the ranges, then check everything else. */
        uint32_t newly = 0;
        for (uint32_t i = f.r.head; i != 0; i = f.nodes.nodes[i - 1].next) {
          const struct utcp_reass_node *nd = &f.nodes.nodes[i - 1];
          int32_t rel = utcp_seq_diff(nd->seq, utcp_seq((uint32_t)(m.iss + off)));
          for (int64_t k = rel > 0 ? rel : 0; k < (int64_t)len && k < (int64_t)rel + nd->len;
               k++) {
            if (!m.held[off + k]) {
              m.held[off + k] = 1;
              m.val[off + k] = data[k];
              newly++;
            }
          }
        }
        CHECK_EQ(newly, res.stored);
        if (newly != res.stored) {
          fprintf(stderr, "seed %llu step %d off %llu len %u nxt %llu stored %u dup %u ref %d\n",
                  (unsigned long long)seed, step, (unsigned long long)off, len,
                  (unsigned long long)m.nxt, res.stored, res.dup, res.refused);
          return;
        }
      } else if (op < 90) {
        /* Deliver what is in order. */
        uint32_t n;
        while ((n = utcp_reass_pull(&f.nodes, &f.r, utcp_seq((uint32_t)(m.iss + m.nxt)),
                                    &f.out)) > 0) {
          utcp_bufq_copy(&f.chunks, &f.out, 0, got, n);
          utcp_bufq_consume(&f.chunks, &f.out, n);
          /* Exactly the first copy of each byte, once, in order. */
          for (uint32_t k = 0; k < n; k++) {
            REQUIRE(m.held[m.nxt + k]);
            REQUIRE(got[k] == m.val[m.nxt + k]);
            m.held[m.nxt + k] = 0;
          }
          m.nxt += n;
          pulled_total += n;
        }
        CHECK(m.nxt == 0 || !m.held[m.nxt]);
        /* Bytes below rcv_nxt were dropped with their ranges. */
        for (uint64_t o = m.nxt > WIN ? m.nxt - WIN : 0; o < m.nxt; o++) m.held[o] = 0;
      } else if (op < 97) {
        /* In-order data that bypassed reassembly moves rcv_nxt on; held bytes it covers are
         * discarded at the next pull. Model: they are gone once pulled (see above). */
        uint32_t k = (uint32_t)utcp_rng_below(&rng, 3000);
        uint64_t nx = m.nxt + k;
        /* Pull with the new rcv_nxt: ranges starting at or below it are consumed. */
        uint32_t n;
        while ((n = utcp_reass_pull(&f.nodes, &f.r, utcp_seq((uint32_t)(m.iss + nx)), &f.out)) >
               0) {
          utcp_bufq_copy(&f.chunks, &f.out, 0, got, n);
          utcp_bufq_consume(&f.chunks, &f.out, n);
          for (uint32_t j = 0; j < n; j++) {
            REQUIRE(m.held[nx + j]);
            REQUIRE(got[j] == m.val[nx + j]);
          }
          /* The whole range it came from is gone, also below nx. */
          uint64_t s = nx;
          while (s > 0 && m.held[s - 1]) s--;
          for (uint64_t o = s; o < nx + n; o++) m.held[o] = 0;
          nx += n;
          pulled_total += n;
        }
        /* A range lying wholly below nx that touched no byte at nx was dropped too. */
        for (uint64_t o = m.nxt; o < nx; o++) m.held[o] = 0;
        m.nxt = nx;
      } else {
        /* Flushing a connection frees everything. */
        if (utcp_rng_chance(&rng, 1, 4)) {
          utcp_reass_clear(&f.nodes, &f.r);
          memset(m.held + m.nxt, 0, WIN);
        }
      }
      check_list(&f);
      model_compare(&f, &m);
      if (f.r.n_ranges == 1) merges_checked++;
    }
    fix_fini(&f);
  }
  printf("reass fuzz: %llu bytes delivered, %llu refusals\n", (unsigned long long)pulled_total,
         (unsigned long long)refusals);
  CHECK(pulled_total > 1000000);
  CHECK(refusals > 100);
  CHECK(merges_checked > 0);
  free(m.held);
  free(m.val);
}

TEST_MAIN(TEST_CASE(test_reass_basic), TEST_CASE(test_reass_overlap_keeps_old_bytes),
          TEST_CASE(test_reass_pull_discards_below_rcv_nxt), TEST_CASE(test_reass_limits),
          TEST_CASE(test_reass_pool_exhaustion), TEST_CASE(test_reass_seq_wrap),
          TEST_CASE(test_reass_sack_order), TEST_CASE(test_reass_model_fuzz))
