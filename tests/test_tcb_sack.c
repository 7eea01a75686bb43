/* The sender's SACK scoreboard (RFC 2018, RFC 2883) and SACK-based loss recovery (RFC 6675):
 * the scoreboard against a per-octet model of RFC 6675 4's definitions, then connections
 * driven through the harness: recovery entry by duplicate ACKs and by SACKed bytes, holes
 * repaired within one RTT and each retransmitted once, SACKed data never resent, the rescue
 * retransmission, RTO clearing the scoreboard, D-SACK ignored, NewReno when SACK is off.
 * Every connection test ends with the leak check. */
#include "core/sack.h"
#include "tcb_util.h"

#define SMSS 1460u
#define B(k) ((uint32_t)(k) * SMSS) /* byte offset of segment k of the stream */

static const struct utcp_counters *ctr(const struct th *h) { return utcp_stack_counters(h->s); }

static bool done(struct est *e) {
  utcp_tcp_abort(e->h->s, e->c, e->h->now);
  th_clear(e->h);
  return th_free(e->h);
}

/* A SACK option; blocks given as pairs of byte offsets from the first byte we sent. */
static struct utcp_tcp_opts sacks_(uint32_t base, size_t n, const uint32_t *lr) {
  struct utcp_tcp_opts o;
  memset(&o, 0, sizeof o);
  o.present = UTCP_OPT_SACK;
  o.sack_count = (uint8_t)n;
  for (size_t i = 0; i < n; i++)
    o.sack[i] = (struct utcp_sack_block){utcp_seq(base + lr[2 * i]), utcp_seq(base + lr[2 * i + 1])};
  return o;
}
#define SACKS(e, ...) \
  sacks_((e).snd, sizeof((uint32_t[]){__VA_ARGS__}) / (2 * sizeof(uint32_t)), (uint32_t[]){__VA_ARGS__})

/* An ACK from the peer for everything below byte `ack` of our stream, with SACK blocks. */
#define SACK_ACK(e, acked, ...) \
  PEER(.seq = SEQ((e).rcv), .ack = SEQ((e).snd + (acked)), .opt = SACKS((e), __VA_ARGS__))

/* A segment the stack sent, as offsets into our stream. */
struct sent {
  uint32_t off, len;
  uint8_t flags;
};

/* Pops every segment waiting; returns how many carried data (stored in out). */
static size_t drain(struct est *e, struct sent *out, size_t max) {
  struct utcp_seg o;
  size_t n = 0;
  while (th_out(e->h, &o)) {
    if (o.len == 0 && !(o.flags & F)) continue;
    if (n < max) out[n] = (struct sent){o.seq.v - e->snd, (uint32_t)o.len, o.flags};
    n++;
  }
  return n;
}

/* A SACK connection (MSS 1460, no timestamps) with `bytes` queued; the initial window of ten
 * segments has gone out and been popped. */
static struct est sack_conn(uint32_t bytes) {
  struct est e = est_open(NULL, UTCP_OPT_SACK_PERM);
  CHECK(tinfo(e.h, e.c).sack_ok);
  CHECK_EQ(utcp_tcp_send(e.h->s, e.c, pat(0), bytes, e.h->now), (int)bytes);
  CHECK_EQ(th_pending(e.h), 10);
  th_clear(e.h);
  return e;
}

/* ---- the scoreboard on its own ---- */

static struct utcp_sack_block blk(uint32_t l, uint32_t r) {
  return (struct utcp_sack_block){utcp_seq(l), utcp_seq(r)};
}

/* RFC 6675 4 Update(): blocks merge with overlapping and adjacent ranges, only octets not
 * SACKed before count as new, and SND.UNA moving trims and drops ranges. */
TEST(test_sack_scoreboard_merge_and_trim) {
  struct utcp_sack_sb sb;
  memset(&sb, 0, sizeof sb);
  const uint32_t base = 0xfffff000u; /* the sequence space wraps inside the test */
  utcp_seq_t una = utcp_seq(base), max = utcp_seq(base + 20000), ack = una;
  struct utcp_sack_block b[4] = {blk(base + 3000, base + 4000)};
  struct utcp_sack_update u = utcp_sack_update(&sb, b, 1, ack, una, max, 16);
  CHECK_EQ(u.newly_sacked, 1000);
  CHECK_EQ(sb.n, 1);
  b[0] = blk(base + 1000, base + 2000);
  b[1] = blk(base + 5000, base + 6000);
  u = utcp_sack_update(&sb, b, 2, ack, una, max, 16);
  CHECK_EQ(u.newly_sacked, 2000);
  CHECK_EQ(sb.n, 3);
  /* Adjacent on both sides plus overlap: one range [1000, 6000). */
  b[0] = blk(base + 2000, base + 3000);
  b[1] = blk(base + 3500, base + 5000);
  u = utcp_sack_update(&sb, b, 2, ack, una, max, 16);
  CHECK_EQ(u.newly_sacked, 2000);
  CHECK_EQ(sb.n, 1);
  CHECK_EQ(sb.r[0].left.v, base + 1000);
  CHECK_EQ(sb.r[0].right.v, base + 6000);
  CHECK_EQ(sb.sacked, 5000);
  /* The same block again: nothing new (so no duplicate ACK by RFC 6675 2). */
  u = utcp_sack_update(&sb, b, 2, ack, una, max, 16);
  CHECK_EQ(u.newly_sacked, 0);
  b[0] = blk(base + 8000, base + 9000);
  (void)utcp_sack_update(&sb, b, 1, ack, una, max, 16);
  /* SND.UNA into the first range: trimmed; past it: gone. */
  utcp_sack_trim(&sb, utcp_seq(base + 4000));
  CHECK_EQ(sb.n, 2);
  CHECK_EQ(sb.r[0].left.v, base + 4000);
  CHECK_EQ(sb.sacked, 3000);
  utcp_sack_trim(&sb, utcp_seq(base + 8500));
  CHECK_EQ(sb.n, 1);
  CHECK_EQ(sb.r[0].left.v, base + 8500);
  CHECK_EQ(sb.sacked, 500);
  utcp_sack_trim(&sb, utcp_seq(base + 9000));
  CHECK_EQ(sb.n, 0);
  CHECK_EQ(sb.sacked, 0);
}

/* Blocks outside [SND.UNA, SND.MAX], empty or inverted ones are ignored and counted; D-SACK
 * blocks (RFC 2883 5: first block at or below the segment's ACK, or inside the second block)
 * are recognised and add nothing; a full scoreboard forgets its highest range for a lower
 * one and refuses a higher one. */
TEST(test_sack_scoreboard_invalid_dsack_overflow) {
  struct utcp_sack_sb sb;
  memset(&sb, 0, sizeof sb);
  utcp_seq_t una = utcp_seq(10000), max = utcp_seq(20000);
  struct utcp_sack_block b[4] = {blk(12000, 21000), blk(13000, 12000), blk(8000, 9000),
                                 blk(15000, 15000)};
  struct utcp_sack_update u = utcp_sack_update(&sb, b, 4, una, una, max, 16);
  CHECK_EQ(u.invalid, 4);
  CHECK_EQ(u.newly_sacked, 0);
  CHECK_EQ(u.dsack, 0);
  CHECK_EQ(sb.n, 0);
  /* A first block below the ACK of its segment: D-SACK, even though SND.UNA is lower (an
   * ACK that arrives before a reordered older one). */
  b[0] = blk(10000, 11000);
  b[1] = blk(12000, 13000);
  u = utcp_sack_update(&sb, b, 2, utcp_seq(11000), una, max, 16);
  CHECK_EQ(u.dsack, 1);
  CHECK_EQ(u.newly_sacked, 1000);
  CHECK_EQ(sb.n, 1);
  CHECK_EQ(sb.r[0].left.v, 12000);
  /* A first block inside the second: D-SACK of data above the ACK (RFC 2883 4.1.3). */
  b[0] = blk(12500, 13000);
  b[1] = blk(12000, 14000);
  u = utcp_sack_update(&sb, b, 2, una, una, max, 16);
  CHECK_EQ(u.dsack, 1);
  CHECK_EQ(u.newly_sacked, 1000);
  /* A block straddling SND.UNA is cut to it, not refused. */
  b[0] = blk(9000, 10500);
  u = utcp_sack_update(&sb, b, 1, utcp_seq(8000), una, max, 16);
  CHECK_EQ(u.invalid, 0);
  CHECK_EQ(u.newly_sacked, 500);
  CHECK_EQ(sb.r[0].left.v, 10000);
  /* Overflow with room for two ranges: [10000,10500) [12000,14000) held. */
  b[0] = blk(16000, 17000);
  u = utcp_sack_update(&sb, b, 1, una, una, max, 2);
  CHECK_EQ(u.overflow, 1);
  CHECK_EQ(u.newly_sacked, 0);
  CHECK_EQ(sb.n, 2);
  b[0] = blk(11000, 11500);
  u = utcp_sack_update(&sb, b, 1, una, una, max, 2);
  CHECK_EQ(u.overflow, 1);
  CHECK_EQ(u.newly_sacked, 500);
  CHECK_EQ(sb.n, 2);
  CHECK_EQ(sb.r[1].left.v, 11000);
  CHECK_EQ(sb.sacked, 1000);
}

/* A per-octet model of RFC 6675 4, read literally: the scoreboard's IsLost, SetPipe, NextSeg
 * holes, last hole and skip agree with it over thousands of random scoreboards (wrapping the
 * sequence space), and pipe is never negative nor above twice the flight. */
#define MODEL_N 300u
struct model {
  bool sacked[MODEL_N];
  uint32_t una; /* offsets below are acknowledged */
};

static bool m_lost(const struct model *m, uint32_t s, uint32_t smss) {
  uint32_t runs = 0, bytes = 0;
  for (uint32_t i = s + 1; i < MODEL_N; i++) {
    if (!m->sacked[i]) continue;
    bytes++;
    if (i == s + 1 || !m->sacked[i - 1]) runs++;
  }
  return runs >= 3 || bytes > 2 * smss;
}

static uint32_t m_pipe(const struct model *m, uint32_t high_rxt, uint32_t smss) {
  uint32_t pipe = 0;
  for (uint32_t s = m->una; s < MODEL_N; s++) {
    if (m->sacked[s]) continue;
    if (!m_lost(m, s, smss)) pipe++;
    if (s < high_rxt) pipe++;
  }
  return pipe;
}

static uint64_t lcg(uint64_t *x) {
  *x = *x * 6364136223846793005ull + 1442695040888963407ull;
  return *x >> 33;
}

TEST(test_sack_scoreboard_matches_rfc6675_model) {
  const uint32_t base = 0xffffff00u, smss = 10;
  uint64_t rng = 42;
  for (int round = 0; round < 300; round++) {
    struct utcp_sack_sb sb;
    memset(&sb, 0, sizeof sb);
    struct model m;
    memset(&m, 0, sizeof m);
    for (int step = 0; step < 12; step++) {
      /* Random blocks, some invalid; then maybe SND.UNA moves. */
      struct utcp_sack_block b[4];
      size_t nb = 1 + lcg(&rng) % 4;
      for (size_t i = 0; i < nb; i++) {
        uint32_t l = (uint32_t)(lcg(&rng) % (MODEL_N + 20));
        uint32_t len = (uint32_t)(1 + lcg(&rng) % 40);
        b[i] = blk(base + l, base + l + len);
      }
      struct utcp_sack_update u = utcp_sack_update(&sb, b, nb, utcp_seq(base + m.una),
                                                   utcp_seq(base + m.una),
                                                   utcp_seq(base + MODEL_N), 16);
      /* The model applies the same rules. */
      uint32_t fresh = 0;
      for (size_t i = 0; i < nb; i++) {
        uint32_t l = b[i].left.v - base, r = b[i].right.v - base;
        if (i == 0 && nb > 1 && b[0].left.v - base >= b[1].left.v - base &&
            r <= b[1].right.v - base)
          continue; /* D-SACK inside the second block */
        if (r > MODEL_N || r <= m.una) continue;
        if (l < m.una) l = m.una;
        for (uint32_t k = l; k < r; k++) {
          if (!m.sacked[k]) fresh++;
          m.sacked[k] = true;
        }
      }
      if (u.overflow == 0) {
        CHECK_EQ(u.newly_sacked, fresh);
      } else {
        /* The scoreboard forgot something: the model follows it. */
        memset(m.sacked, 0, sizeof m.sacked);
        for (uint32_t i = 0; i < sb.n; i++)
          for (uint32_t k = sb.r[i].left.v - base; k < sb.r[i].right.v - base; k++) m.sacked[k] = true;
      }
      if (lcg(&rng) % 3 == 0) {
        m.una += (uint32_t)(lcg(&rng) % 30);
        if (m.una > MODEL_N) m.una = MODEL_N;
        utcp_sack_trim(&sb, utcp_seq(base + m.una));
        for (uint32_t k = 0; k < m.una; k++) m.sacked[k] = false;
      }
      /* Invariants: sorted, disjoint, non-adjacent, inside [una, max), sacked is the sum. */
      uint32_t sum = 0, held = 0;
      for (uint32_t i = 0; i < sb.n; i++) {
        CHECK(utcp_seq_lt(sb.r[i].left, sb.r[i].right));
        CHECK(utcp_seq_ge(sb.r[i].left, utcp_seq(base + m.una)));
        if (i > 0) CHECK(utcp_seq_lt(sb.r[i - 1].right, sb.r[i].left));
        sum += (uint32_t)utcp_seq_diff(sb.r[i].right, sb.r[i].left);
      }
      for (uint32_t k = 0; k < MODEL_N; k++) held += m.sacked[k];
      CHECK_EQ(sb.sacked, sum);
      CHECK_EQ(sum, held);
      /* Queries. */
      utcp_seq_t una = utcp_seq(base + m.una), max = utcp_seq(base + MODEL_N);
      for (uint32_t s = m.una; s < MODEL_N; s += 7)
        if (!m.sacked[s]) CHECK_EQ(utcp_sack_is_lost(&sb, utcp_seq(base + s), smss), m_lost(&m, s, smss));
      uint32_t hr = m.una + (uint32_t)(lcg(&rng) % (MODEL_N - m.una + 1));
      uint32_t pipe = utcp_sack_pipe(&sb, una, max, utcp_seq(base + hr), smss);
      CHECK_EQ(pipe, m_pipe(&m, hr, smss));
      CHECK(pipe <= 2 * (MODEL_N - m.una));
      uint32_t top = 0; /* one past the highest SACKed octet */
      for (uint32_t k = 0; k < MODEL_N; k++)
        if (m.sacked[k]) top = k + 1;
      for (int need = 0; need < 2; need++) {
        utcp_seq_t seq;
        uint32_t len;
        bool got = utcp_sack_next_hole(&sb, una, utcp_seq(base + hr), need, smss, smss, &seq, &len);
        uint32_t want = MODEL_N;
        for (uint32_t s = hr > m.una ? hr : m.una; s + 1 < top; s++)
          if (!m.sacked[s] && (!need || m_lost(&m, s, smss))) {
            want = s;
            break;
          }
        CHECK_EQ(got, want != MODEL_N);
        if (got && want != MODEL_N) {
          uint32_t run = 0;
          while (want + run < MODEL_N && !m.sacked[want + run] && run < smss) run++;
          CHECK_EQ(seq.v - base, want);
          CHECK_EQ(len, run);
        }
      }
      utcp_seq_t a, z;
      bool got = utcp_sack_last_hole(&sb, una, max, &a, &z);
      uint32_t hi = MODEL_N;
      for (uint32_t s = MODEL_N; s-- > m.una;)
        if (!m.sacked[s]) {
          hi = s;
          break;
        }
      CHECK_EQ(got, hi != MODEL_N);
      if (got && hi != MODEL_N) {
        uint32_t lo = hi;
        while (lo > m.una && !m.sacked[lo - 1]) lo--;
        CHECK_EQ(z.v - base, hi + 1);
        CHECK_EQ(a.v - base, lo);
      }
      uint32_t from = m.una + (uint32_t)(lcg(&rng) % (MODEL_N - m.una + 1));
      utcp_seq_t lim;
      utcp_seq_t nx = utcp_sack_skip(&sb, utcp_seq(base + from), max, &lim);
      uint32_t f = from;
      while (f < MODEL_N && m.sacked[f]) f++;
      uint32_t l = f;
      while (l < MODEL_N && !m.sacked[l]) l++;
      CHECK_EQ(nx.v - base, f);
      CHECK_EQ(lim.v - base, l);
    }
  }
}

/* ---- recovery on a connection ---- */

/* RFC 6675 5: ACKs with new SACK information are duplicate ACKs; on the first two, limited
 * transmit sends one new segment each (cwnd - pipe >= 1 SMSS, step 3; cwnd unchanged); the
 * third enters recovery (step 4): RecoveryPoint = HighData, ssthresh = cwnd = FlightSize / 2
 * (FlightSize without the limited-transmit segments, 4.2), the first segment retransmitted,
 * nothing more while pipe exceeds cwnd. As SACKs shrink the pipe, new data goes out (rule 2)
 * during recovery. */
TEST(test_tcb_established_sack_recovery_third_dupack) {
  struct est e = sack_conn(B(20));
  struct sent o[16];
  seg_in(e.h, 50, SACK_ACK(e, 0, B(1), B(2)));
  CHECK_EQ(drain(&e, o, 16), 1);
  CHECK_EQ(o[0].off, B(10));
  CHECK_EQ(o[0].len, SMSS);
  seg_in(e.h, 51, SACK_ACK(e, 0, B(1), B(3)));
  CHECK_EQ(drain(&e, o, 16), 1);
  CHECK_EQ(o[0].off, B(11));
  CHECK_EQ(th_cov(e.h, "limited_transmit"), 2);
  CHECK_EQ(tinfo(e.h, e.c).cwnd, B(10));
  CHECK_EQ(th_cov(e.h, "sack_recovery"), 0);
  seg_in(e.h, 52, SACK_ACK(e, 0, B(1), B(4)));
  CHECK_EQ(drain(&e, o, 16), 1);
  CHECK_EQ(o[0].off, 0);
  CHECK_EQ(o[0].len, SMSS);
  struct utcp_tcp_info i = tinfo(e.h, e.c);
  CHECK_EQ(i.ssthresh, B(10) / 2);
  CHECK_EQ(i.cwnd, B(10) / 2);
  CHECK_EQ(i.total_retrans, 1);
  CHECK_EQ(th_cov(e.h, "sack_recovery"), 1);
  CHECK_EQ(th_cov(e.h, "fast_retransmit"), 1);
  CHECK_EQ(th_cov(e.h, "sack_lost_entry"), 0);
  CHECK_EQ(ctr(e.h)->tcp_sack_recovery_episodes, 1);
  /* pipe = 1 (retransmitted) + 8 (segments 4..11) > cwnd 5: segments 4..7 SACKed bring it
   * to 5, segment 8 to 4: one new segment. */
  for (uint32_t k = 5; k <= 8; k++) seg_in(e.h, 55 + k, SACK_ACK(e, 0, B(1), B(k)));
  CHECK_EQ(drain(&e, o, 16), 0);
  seg_in(e.h, 64, SACK_ACK(e, 0, B(1), B(9)));
  CHECK_EQ(drain(&e, o, 16), 1);
  CHECK_EQ(o[0].off, B(12));
  CHECK_EQ(th_cov(e.h, "sack_new_data"), 1);
  CHECK_EQ(tinfo(e.h, e.c).cwnd, B(10) / 2); /* no inflation in RFC 6675 recovery */
  CHECK(done(&e));
}

/* RFC 6675 5 step 2: one ACK SACKing three segments (its predecessors lost) makes
 * IsLost(HighACK + 1) true: recovery starts on the first duplicate ACK. */
TEST(test_tcb_established_sack_recovery_by_sacked_bytes) {
  struct est e = sack_conn(B(10));
  struct sent o[16];
  seg_in(e.h, 50, SACK_ACK(e, 0, B(1), B(4)));
  CHECK_EQ(drain(&e, o, 16), 1);
  CHECK_EQ(o[0].off, 0);
  CHECK_EQ(th_cov(e.h, "sack_recovery"), 1);
  CHECK_EQ(th_cov(e.h, "sack_lost_entry"), 1);
  CHECK_EQ(tinfo(e.h, e.c).cwnd, B(10) / 2);
  /* Two SACKed segments are not enough (2 * SMSS is not more than (DupThresh - 1) * SMSS). */
  struct est f = sack_conn(B(10));
  seg_in(f.h, 50, SACK_ACK(f, 0, B(1), B(3)));
  CHECK_EQ(drain(&f, o, 16), 0);
  CHECK_EQ(th_cov(f.h, "sack_recovery"), 0);
  /* Three separate SACKed ranges are, however small (DupThresh discontiguous sequences). */
  seg_in(f.h, 51, SACK_ACK(f, 0, B(5), B(5) + 100, B(7), B(7) + 100, B(1), B(3)));
  CHECK_EQ(th_cov(f.h, "sack_recovery"), 1);
  CHECK_EQ(drain(&f, o, 16), 1);
  CHECK_EQ(o[0].off, 0);
  CHECK(done(&e));
  CHECK(done(&f));
}

/* Checks that no segment in o[0..n) carries an octet of the SACKed ranges (offset pairs). */
static bool none_sacked(const struct sent *o, size_t n, const uint32_t *lr, size_t nr) {
  for (size_t i = 0; i < n; i++)
    for (size_t k = 0; k < nr; k++)
      if (o[i].off < lr[2 * k + 1] && lr[2 * k] < o[i].off + o[i].len) return false;
  return true;
}

/* RFC 6675: three holes in one window are all retransmitted before the first of them is
 * acknowledged (within one RTT, where NewReno needs one RTT per hole), each exactly once,
 * never a SACKed octet; the cumulative ACK covering RecoveryPoint ends recovery (step A). */
TEST(test_tcb_established_sack_three_holes_one_rtt) {
  struct est e = sack_conn(B(10));
  struct sent o[32];
  size_t n = 0;
  /* Segments 0, 3 and 6 are lost; the others arrive, each bringing an ACK. */
  seg_in(e.h, 50, SACK_ACK(e, 0, B(1), B(2)));
  seg_in(e.h, 50, SACK_ACK(e, 0, B(1), B(3)));
  CHECK_EQ(th_pending(e.h), 0);
  seg_in(e.h, 51, SACK_ACK(e, 0, B(4), B(5), B(1), B(3)));
  n += drain(&e, o + n, 32 - n);
  seg_in(e.h, 51, SACK_ACK(e, 0, B(4), B(6), B(1), B(3)));
  n += drain(&e, o + n, 32 - n);
  seg_in(e.h, 52, SACK_ACK(e, 0, B(7), B(8), B(4), B(6), B(1), B(3)));
  n += drain(&e, o + n, 32 - n);
  seg_in(e.h, 52, SACK_ACK(e, 0, B(7), B(9), B(4), B(6), B(1), B(3)));
  n += drain(&e, o + n, 32 - n);
  seg_in(e.h, 53, SACK_ACK(e, 0, B(7), B(10), B(4), B(6), B(1), B(3)));
  n += drain(&e, o + n, 32 - n);
  REQUIRE(n == 3);
  CHECK_EQ(o[0].off, B(0));
  CHECK_EQ(o[1].off, B(3));
  CHECK_EQ(o[2].off, B(6));
  for (size_t i = 0; i < n; i++) CHECK_EQ(o[i].len, SMSS);
  const uint32_t sacked[] = {B(1), B(3), B(4), B(6), B(7), B(10)};
  CHECK(none_sacked(o, n, sacked, 3));
  CHECK_EQ(th_cov(e.h, "sack_rexmit"), 3);
  CHECK_EQ(ctr(e.h)->tcp_sack_rexmits, 3);
  CHECK_EQ(tinfo(e.h, e.c).total_retrans, 3);
  /* The repairs arrive: partial ACKs keep recovery on and resend nothing. */
  seg_in(e.h, 100, SACK_ACK(e, B(3), B(7), B(10), B(4), B(6)));
  seg_in(e.h, 100, SACK_ACK(e, B(6), B(7), B(10)));
  CHECK_EQ(drain(&e, o, 32), 0);
  CHECK_EQ(tinfo(e.h, e.c).cwnd, B(5));
  seg_in(e.h, 101, PEER(.seq = SEQ(e.rcv), .ack = SEQ(e.snd + B(10))));
  struct utcp_tcp_info i = tinfo(e.h, e.c);
  CHECK_EQ(i.unacked, 0);
  CHECK_EQ(i.cwnd, B(5));
  CHECK_EQ(i.ssthresh, B(5));
  CHECK_EQ(i.total_retrans, 3);
  CHECK_EQ(ctr(e.h)->tcp_sack_recovery_episodes, 1);
  /* Out of recovery: ordinary ACK clocking again (congestion avoidance). */
  CHECK_EQ(utcp_tcp_send(e.h->s, e.c, pat(0), B(5), e.h->now), (int)B(5));
  CHECK_EQ(drain(&e, o, 32), 5);
  CHECK(done(&e));
}

/* RFC 6675 NextSeg rule (4): a lost tail has nothing SACKed above it, so IsLost never names
 * it; once HighACK passes RescueRxt, one rescue retransmission of the highest unSACKed
 * segment goes, once per recovery, instead of waiting for the RTO. */
TEST(test_tcb_established_sack_rescue_retransmission) {
  struct est e = sack_conn(B(10));
  struct sent o[16];
  /* Segments 0 and 9 lost. */
  seg_in(e.h, 50, SACK_ACK(e, 0, B(1), B(2)));
  seg_in(e.h, 50, SACK_ACK(e, 0, B(1), B(3)));
  seg_in(e.h, 50, SACK_ACK(e, 0, B(1), B(4)));
  CHECK_EQ(drain(&e, o, 16), 1);
  CHECK_EQ(o[0].off, 0);
  for (uint32_t k = 5; k <= 9; k++) seg_in(e.h, 51, SACK_ACK(e, 0, B(1), B(k)));
  CHECK_EQ(drain(&e, o, 16), 0);
  CHECK_EQ(th_cov(e.h, "sack_rescue"), 0);
  /* Segment 0 repaired: HighACK > RescueRxt; segment 9 is the rescue. */
  seg_in(e.h, 100, PEER(.seq = SEQ(e.rcv), .ack = SEQ(e.snd + B(9))));
  CHECK_EQ(drain(&e, o, 16), 1);
  CHECK_EQ(o[0].off, B(9));
  CHECK_EQ(o[0].len, SMSS);
  CHECK_EQ(th_cov(e.h, "sack_rescue"), 1);
  /* Only once: a further duplicate ACK sends nothing. */
  seg_in(e.h, 101, PEER(.seq = SEQ(e.rcv), .ack = SEQ(e.snd + B(9))));
  CHECK_EQ(drain(&e, o, 16), 0);
  seg_in(e.h, 150, PEER(.seq = SEQ(e.rcv), .ack = SEQ(e.snd + B(10))));
  CHECK_EQ(tinfo(e.h, e.c).unacked, 0);
  CHECK_EQ(tinfo(e.h, e.c).total_retrans, 2);
  CHECK(done(&e));
}

/* RFC 2018 8 / RFC 6675 5.1: a timeout clears the SACKed marks (the receiver may have
 * reneged) and slow start resends from SND.UNA even what was SACKed before; SACK blocks
 * arriving after the timeout are used again. */
TEST(test_tcb_established_sack_rto_clears_scoreboard) {
  struct est e = sack_conn(B(10));
  struct sent o[16];
  seg_in(e.h, 50, SACK_ACK(e, 0, B(1), B(2)));
  seg_in(e.h, 50, SACK_ACK(e, 0, B(1), B(3))); /* two duplicate ACKs, too little SACKed */
  CHECK_EQ(th_cov(e.h, "sack_recovery"), 0);
  th_clear(e.h);
  /* The RTO (1 s after the window went out) resends segment 0 alone (cwnd 1 SMSS). */
  CHECK_EQ(seg_none(e.h, 999), 0);
  th_at(e.h, 1000);
  CHECK_EQ(drain(&e, o, 16), 1);
  CHECK_EQ(o[0].off, 0);
  CHECK_EQ(th_cov(e.h, "sack_rto_cleared"), 1);
  CHECK_EQ(ctr(e.h)->tcp_sack_rto_cleared, 1);
  CHECK_EQ(tinfo(e.h, e.c).cwnd, SMSS);
  /* The peer reneged on 1..3: it ACKs segment 0 only. Slow start resends segments 1 and 2,
   * SACKed before the RTO. */
  seg_in(e.h, 1050, PEER(.seq = SEQ(e.rcv), .ack = SEQ(e.snd + B(1))));
  CHECK_EQ(drain(&e, o, 16), 2);
  CHECK_EQ(o[0].off, B(1));
  CHECK_EQ(o[1].off, B(2));
  /* Now it reports 4..10 held: go-back-N fills only the hole at segment 3. */
  seg_in(e.h, 1100, SACK_ACK(e, B(3), B(4), B(10)));
  CHECK_EQ(drain(&e, o, 16), 1);
  CHECK_EQ(o[0].off, B(3));
  CHECK_EQ(o[0].len, SMSS);
  CHECK(th_cov(e.h, "sack_skip_sacked") >= 1);
  /* No new recovery for data sent before the RTO (RFC 6675 5.1). */
  CHECK_EQ(th_cov(e.h, "sack_recovery"), 0);
  seg_in(e.h, 1150, PEER(.seq = SEQ(e.rcv), .ack = SEQ(e.snd + B(10))));
  CHECK_EQ(tinfo(e.h, e.c).unacked, 0);
  CHECK_EQ(drain(&e, o, 16), 0);
  CHECK(done(&e));
}

/* RFC 2883: D-SACK blocks report duplicates; they are no loss signal. Repeated ACKs that
 * carry only D-SACK (or already known) information are not RFC 6675 duplicate ACKs, so
 * nothing is retransmitted however many arrive. */
TEST(test_tcb_established_sack_dsack_not_loss_signal) {
  struct est e = sack_conn(B(10));
  struct sent o[16];
  seg_in(e.h, 50, PEER(.seq = SEQ(e.rcv), .ack = SEQ(e.snd + B(5))));
  th_clear(e.h);
  for (int k = 0; k < 4; k++) seg_in(e.h, 60 + (uint64_t)k, SACK_ACK(e, B(5), B(0), B(1)));
  /* One D-SACK inside the second block, which is new information: one duplicate ACK. */
  seg_in(e.h, 70, SACK_ACK(e, B(5), B(6), B(7), B(6), B(8)));
  for (int k = 0; k < 4; k++) seg_in(e.h, 71 + (uint64_t)k, SACK_ACK(e, B(5), B(6), B(7), B(6), B(8)));
  CHECK_EQ(drain(&e, o, 16), 0);
  CHECK_EQ(th_cov(e.h, "sack_recovery"), 0);
  CHECK_EQ(th_cov(e.h, "fast_retransmit"), 0);
  CHECK_EQ(ctr(e.h)->tcp_sack_dsack_recv, 9);
  CHECK_EQ(th_cov(e.h, "dsack_received"), 9);
  CHECK_EQ(tinfo(e.h, e.c).total_retrans, 0);
  CHECK(done(&e));
}

/* Invalid blocks (beyond SND.MAX, below SND.UNA, inverted) are counted and ignored: three
 * ACKs carrying only those do not start recovery. */
TEST(test_tcb_established_sack_invalid_blocks_ignored) {
  struct est e = sack_conn(B(10));
  struct sent o[16];
  seg_in(e.h, 50, PEER(.seq = SEQ(e.rcv), .ack = SEQ(e.snd + B(2))));
  th_clear(e.h);
  for (int k = 0; k < 3; k++)
    seg_in(e.h, 60 + (uint64_t)k,
           SACK_ACK(e, B(2), B(4), B(12), B(6), B(5), B(0) + 1, B(1)));
  CHECK_EQ(ctr(e.h)->tcp_sack_blocks_invalid, 9);
  CHECK_EQ(th_cov(e.h, "sack_recovery"), 0);
  CHECK_EQ(drain(&e, o, 16), 0);
  CHECK(done(&e));
}

/* RFC 6675 applies only when both sides agreed to SACK: without it, SACK blocks the peer
 * sends anyway are ignored and recovery is NewReno's (cwnd = ssthresh + 3*SMSS). */
TEST(test_tcb_established_sack_off_newreno) {
  struct est e = est_open(NULL, 0);
  CHECK(!tinfo(e.h, e.c).sack_ok);
  CHECK_EQ(utcp_tcp_send(e.h->s, e.c, pat(0), B(10), e.h->now), (int)B(10));
  th_clear(e.h);
  struct sent o[16];
  for (int k = 0; k < 3; k++) seg_in(e.h, 50 + (uint64_t)k, SACK_ACK(e, 0, B(1), B(2 + k)));
  CHECK_EQ(drain(&e, o, 16), 1);
  CHECK_EQ(o[0].off, 0);
  CHECK_EQ(th_cov(e.h, "fast_retransmit"), 1);
  CHECK_EQ(th_cov(e.h, "sack_recovery"), 0);
  struct utcp_tcp_info i = tinfo(e.h, e.c);
  CHECK_EQ(i.ssthresh, B(5));
  CHECK_EQ(i.cwnd, B(5) + 3 * SMSS);
  CHECK_EQ(ctr(e.h)->tcp_sack_recovery_episodes, 0);
  CHECK_EQ(ctr(e.h)->tcp_sack_blocks_invalid, 0);
  CHECK(done(&e));
}

/* The scoreboard's size comes from the config (1..UTCP_SACK_RANGES_MAX): with two ranges, a
 * third disjoint block is counted and forgotten, and recovery still works from what is kept. */
TEST(test_tcb_established_sack_scoreboard_size_from_config) {
  struct utcp_stack_config cfg;
  th_config(&cfg);
  cfg.tcp.sack_max_ranges = 0;
  CHECK_EQ(utcp_tcp_config_check(&cfg.tcp), UTCP_ERR_INVAL);
  cfg.tcp.sack_max_ranges = UTCP_SACK_RANGES_MAX + 1;
  CHECK_EQ(utcp_tcp_config_check(&cfg.tcp), UTCP_ERR_INVAL);
  cfg.tcp.sack_max_ranges = 2;
  CHECK_EQ(utcp_tcp_config_check(&cfg.tcp), 0);
  struct est e = est_open(&cfg, UTCP_OPT_SACK_PERM);
  CHECK_EQ(utcp_tcp_send(e.h->s, e.c, pat(0), B(10), e.h->now), (int)B(10));
  th_clear(e.h);
  struct sent o[16];
  seg_in(e.h, 50, SACK_ACK(e, 0, B(7), B(8), B(4), B(5), B(1), B(2)));
  CHECK_EQ(ctr(e.h)->tcp_sack_scoreboard_full, 1);
  /* Two ranges held ([1,2) and [4,5)): two SACKed segments, not lost yet. */
  CHECK_EQ(th_cov(e.h, "sack_recovery"), 0);
  seg_in(e.h, 51, SACK_ACK(e, 0, B(4), B(6), B(1), B(2)));
  CHECK_EQ(th_cov(e.h, "sack_recovery"), 1);
  CHECK_EQ(drain(&e, o, 16), 1);
  CHECK_EQ(o[0].off, 0);
  CHECK(done(&e));
}

/* Determinism: two stacks fed the same SACK recovery send the same bytes. */
static size_t run_recovery(uint8_t *log, size_t cap) {
  struct est e = sack_conn(B(20));
  size_t n = 0;
  const uint32_t steps[][2] = {{B(1), B(2)}, {B(1), B(3)}, {B(1), B(4)}, {B(1), B(6)}, {B(1), B(9)}};
  for (size_t k = 0; k < sizeof steps / sizeof steps[0]; k++) {
    seg_in(e.h, 50 + k, SACK_ACK(e, 0, steps[k][0], steps[k][1]));
    struct utcp_seg o;
    while (th_out(e.h, &o))
      if (n + 8 <= cap) {
        memcpy(log + n, &o.seq.v, 4);
        memcpy(log + n + 4, &o.len, 4);
        n += 8;
      }
  }
  CHECK(done(&e));
  return n;
}

TEST(test_tcb_established_sack_deterministic) {
  static uint8_t a[4096], b[4096];
  size_t na = run_recovery(a, sizeof a), nb = run_recovery(b, sizeof b);
  CHECK(na > 0);
  CHECK_EQ(na, nb);
  CHECK(memcmp(a, b, na) == 0);
}

TEST_MAIN(TEST_CASE(test_sack_scoreboard_merge_and_trim),
          TEST_CASE(test_sack_scoreboard_invalid_dsack_overflow),
          TEST_CASE(test_sack_scoreboard_matches_rfc6675_model),
          TEST_CASE(test_tcb_established_sack_recovery_third_dupack),
          TEST_CASE(test_tcb_established_sack_recovery_by_sacked_bytes),
          TEST_CASE(test_tcb_established_sack_three_holes_one_rtt),
          TEST_CASE(test_tcb_established_sack_rescue_retransmission),
          TEST_CASE(test_tcb_established_sack_rto_clears_scoreboard),
          TEST_CASE(test_tcb_established_sack_dsack_not_loss_signal),
          TEST_CASE(test_tcb_established_sack_invalid_blocks_ignored),
          TEST_CASE(test_tcb_established_sack_off_newreno),
          TEST_CASE(test_tcb_established_sack_scoreboard_size_from_config),
          TEST_CASE(test_tcb_established_sack_deterministic))
