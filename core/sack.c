/* The sender's SACK scoreboard and the RFC 6675 4 queries over it. */
#include "sack.h"

#include "assert.h"

static uint32_t span(utcp_seq_t a, utcp_seq_t b) { return (uint32_t)utcp_seq_diff(b, a); }

/* The SACKed octets above hole i (the gap below range i) make every octet of it lost or not
 * alike: ranges i..n-1 lie wholly above it. RFC 6675 4 IsLost. */
static bool hole_lost(uint32_t ranges_above, uint32_t bytes_above, uint32_t smss) {
  return ranges_above >= UTCP_SACK_DUPTHRESH ||
         bytes_above > (uint32_t)(UTCP_SACK_DUPTHRESH - 1) * smss;
}

void utcp_sack_trim(struct utcp_sack_sb *sb, utcp_seq_t una) {
  uint32_t drop = 0;
  while (drop < sb->n && utcp_seq_le(sb->r[drop].right, una)) {
    sb->sacked -= span(sb->r[drop].left, sb->r[drop].right);
    drop++;
  }
  if (drop > 0) {
    for (uint32_t i = drop; i < sb->n; i++) sb->r[i - drop] = sb->r[i];
    sb->n = (uint8_t)(sb->n - drop);
  }
  if (sb->n > 0 && utcp_seq_lt(sb->r[0].left, una)) {
    sb->sacked -= span(sb->r[0].left, una);
    sb->r[0].left = una;
  }
}

/* Marks [left, right) SACKed; returns the octets that were not SACKed before. */
static uint32_t mark(struct utcp_sack_sb *sb, utcp_seq_t left, utcp_seq_t right, uint32_t max,
                     uint8_t *overflow) {
  uint32_t n = sb->n;
  /* i: first range that reaches left (overlapping or adjacent); j: last that starts by right. */
  uint32_t i = 0;
  while (i < n && utcp_seq_lt(sb->r[i].right, left)) i++;
  uint32_t j = i;
  uint32_t old = 0;
  while (j < n && utcp_seq_le(sb->r[j].left, right)) {
    utcp_seq_t a = utcp_seq_max(left, sb->r[j].left), b = utcp_seq_min(right, sb->r[j].right);
    if (utcp_seq_lt(a, b)) old += span(a, b);
    j++;
  }
  uint32_t fresh = span(left, right) - old;
  if (j > i) {
    /* Ranges i..j-1 touch the new one: merge them into range i. */
    struct utcp_sack_range m = {utcp_seq_min(left, sb->r[i].left),
                                utcp_seq_max(right, sb->r[j - 1].right)};
    for (uint32_t k = i; k < j; k++) sb->sacked -= span(sb->r[k].left, sb->r[k].right);
    sb->r[i] = m;
    sb->sacked += span(m.left, m.right);
    uint32_t gone = j - i - 1;
    for (uint32_t k = j; k < n; k++) sb->r[k - gone] = sb->r[k];
    sb->n = (uint8_t)(n - gone);
    return fresh;
  }
  if (n >= max) {
    (*overflow)++;
    if (i >= n) return 0; /* above everything held: forgotten */
    /* Below the highest range: the highest goes (holes near SND.UNA matter first). */
    n--;
    sb->sacked -= span(sb->r[n].left, sb->r[n].right);
  }
  for (uint32_t k = n; k > i; k--) sb->r[k] = sb->r[k - 1];
  sb->r[i] = (struct utcp_sack_range){left, right};
  sb->sacked += span(left, right);
  sb->n = (uint8_t)(n + 1);
  return fresh;
}

struct utcp_sack_update utcp_sack_update(struct utcp_sack_sb *sb,
                                         const struct utcp_sack_block *blocks, size_t n,
                                         utcp_seq_t seg_ack, utcp_seq_t una, utcp_seq_t snd_max,
                                         uint32_t max_ranges) {
  struct utcp_sack_update u = {0, 0, 0, 0};
  if (max_ranges > UTCP_SACK_RANGES_MAX) max_ranges = UTCP_SACK_RANGES_MAX;
  if (max_ranges == 0) max_ranges = 1;
  for (size_t b = 0; b < n && b < UTCP_TCP_MAX_SACK; b++) {
    utcp_seq_t left = blocks[b].left, right = blocks[b].right;
    if (!utcp_seq_lt(left, right)) {
      u.invalid++;
      continue;
    }
    if (b == 0) {
      /* RFC 2883 5: a first block at or below the cumulative ACK of the same segment, or
       * inside the second block, reports duplicate data (4.1), not new SACK information. */
      if (utcp_seq_le(right, seg_ack) ||
          (n > 1 && utcp_seq_ge(left, blocks[1].left) && utcp_seq_le(right, blocks[1].right) &&
           utcp_seq_lt(blocks[1].left, blocks[1].right))) {
        u.dsack++;
        continue;
      }
    }
    /* RFC 2018 / RFC 6675 2: SACK information is only about [SND.UNA, SND.MAX). */
    if (utcp_seq_gt(right, snd_max) || utcp_seq_le(right, una)) {
      u.invalid++;
      continue;
    }
    if (utcp_seq_lt(left, una)) left = una;
    u.newly_sacked += mark(sb, left, right, max_ranges, &u.overflow);
  }
  return u;
}

bool utcp_sack_has(const struct utcp_sack_sb *sb, utcp_seq_t seq) {
  for (uint32_t i = 0; i < sb->n; i++)
    if (utcp_seq_in(seq, sb->r[i].left, sb->r[i].right)) return true;
  return false;
}

bool utcp_sack_is_lost(const struct utcp_sack_sb *sb, utcp_seq_t seq, uint32_t smss) {
  uint32_t ranges = 0, bytes = 0;
  utcp_seq_t above = utcp_seq_add(seq, 1);
  for (uint32_t i = sb->n; i-- > 0;) {
    if (utcp_seq_le(sb->r[i].right, above)) break;
    ranges++;
    bytes += span(utcp_seq_max(sb->r[i].left, above), sb->r[i].right);
  }
  return hole_lost(ranges, bytes, smss);
}

uint32_t utcp_sack_pipe(const struct utcp_sack_sb *sb, utcp_seq_t una, utcp_seq_t snd_max,
                        utcp_seq_t high_rxt, uint32_t smss) {
  uint32_t pipe = 0, above = sb->sacked;
  utcp_seq_t prev = una;
  for (uint32_t i = 0; i <= sb->n; i++) {
    /* Hole i: [prev, start of range i), or up to SND.MAX above the last range. */
    utcp_seq_t end = i < sb->n ? sb->r[i].left : snd_max;
    bool lost = i < sb->n && hole_lost(sb->n - i, above, smss);
    if (utcp_seq_lt(prev, end)) {
      if (!lost) pipe += span(prev, end);                        /* (a) */
      if (utcp_seq_lt(prev, high_rxt))                          /* (b) */
        pipe += span(prev, utcp_seq_min(end, high_rxt));
    }
    if (i < sb->n) {
      above -= span(sb->r[i].left, sb->r[i].right);
      prev = sb->r[i].right;
    }
  }
  return pipe;
}

bool utcp_sack_next_hole(const struct utcp_sack_sb *sb, utcp_seq_t una, utcp_seq_t high_rxt,
                         bool need_lost, uint32_t smss, uint32_t max_len, utcp_seq_t *seq,
                         uint32_t *len) {
  uint32_t above = sb->sacked;
  utcp_seq_t prev = una;
  for (uint32_t i = 0; i < sb->n; i++) {
    /* (1.a) above HighRxt; (1.b) below the highest SACKed octet: a hole under range i. */
    utcp_seq_t a = utcp_seq_max(prev, high_rxt), b = sb->r[i].left;
    if (utcp_seq_lt(a, b) && (!need_lost || hole_lost(sb->n - i, above, smss))) { /* (1.c) */
      uint32_t l = span(a, b);
      *seq = a;
      *len = l < max_len ? l : max_len;
      return true;
    }
    above -= span(sb->r[i].left, sb->r[i].right);
    prev = sb->r[i].right;
  }
  return false;
}

bool utcp_sack_last_hole(const struct utcp_sack_sb *sb, utcp_seq_t una, utcp_seq_t snd_max,
                         utcp_seq_t *start, utcp_seq_t *end) {
  utcp_seq_t top = sb->n > 0 ? sb->r[sb->n - 1].right : una;
  if (utcp_seq_lt(top, snd_max)) {
    *start = top;
    *end = snd_max;
    return true;
  }
  for (uint32_t i = sb->n; i-- > 0;) {
    utcp_seq_t a = i > 0 ? sb->r[i - 1].right : una;
    if (utcp_seq_lt(a, sb->r[i].left)) {
      *start = a;
      *end = sb->r[i].left;
      return true;
    }
  }
  return false;
}

utcp_seq_t utcp_sack_skip(const struct utcp_sack_sb *sb, utcp_seq_t seq, utcp_seq_t snd_max,
                          utcp_seq_t *limit) {
  for (uint32_t i = 0; i < sb->n; i++) {
    if (utcp_seq_le(sb->r[i].right, seq)) continue;
    if (utcp_seq_le(sb->r[i].left, seq)) {
      seq = sb->r[i].right; /* inside a SACKed range: past it (ranges never touch) */
      continue;
    }
    *limit = sb->r[i].left;
    return seq;
  }
  *limit = snd_max;
  return seq;
}
