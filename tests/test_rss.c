/* RSS (core/rss.c) and the RSS-aware choice of source ports (api/socket.c, UTCP_CTX_RSS,
 * mtcp_init_rss): the Toeplitz hash against Microsoft's verification vectors, the symmetric
 * key, the default redirection table, and connects whose every port is checked against a
 * reference hash written here from Microsoft's pseudocode (not the core's code). */
#include "api_fixture.h"
#include "core/rng.h"
#include "mtcp_api.h"
#include "utcp/runtime.h"

/* Microsoft's example key ("Verifying the RSS Hash Calculation"; Intel 82599 datasheet
 * 7.1.2.8.3). */
static const uint8_t ms_key[UTCP_RSS_KEY_LEN] = {
    0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b, 0x0e, 0xc2, 0x41, 0x67, 0x25, 0x3d, 0x43, 0xa3,
    0x8f, 0xb0, 0xd0, 0xca, 0x2b, 0xcb, 0xae, 0x7b, 0x30, 0xb4, 0x77, 0xcb, 0x2d, 0xa3,
    0x80, 0x30, 0xf2, 0x0c, 0x6a, 0x42, 0xb7, 0x3b, 0xbe, 0xac, 0x01, 0xfa,
};

#define IP4(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (uint32_t)(d))

/* Source, destination, ports, hash of the addresses only, hash of the 4-tuple. */
static const struct {
  uint32_t src, dst;
  uint16_t sport, dport;
  uint32_t hash_ip, hash_tcp;
} ms_vectors[] = {
    {IP4(66, 9, 149, 187), IP4(161, 142, 100, 80), 2794, 1766, 0x323e8fc2, 0x51ccc178},
    {IP4(199, 92, 111, 2), IP4(65, 69, 140, 83), 14230, 4739, 0xd718262a, 0xc626b0ea},
    {IP4(24, 19, 198, 95), IP4(12, 22, 207, 184), 12898, 38024, 0xd2d0a5de, 0x5c2b394a},
    {IP4(38, 27, 205, 30), IP4(209, 142, 163, 6), 48228, 2217, 0x82989176, 0xafc7327f},
    {IP4(153, 39, 163, 191), IP4(202, 188, 127, 2), 44251, 1303, 0x5d1809c5, 0x10e828a2},
};
#define N_VECTORS (sizeof ms_vectors / sizeof ms_vectors[0])

/* ---- the reference: Microsoft's pseudocode, bit by bit over a 320-bit key ---- */

static int key_bit(const uint8_t *key, unsigned i) { return key[i / 8] >> (7 - i % 8) & 1; }

/* ComputeHash: for each input bit b from the left, if b: result ^= leftmost 32 bits of K;
 * shift K left one bit. */
static uint32_t ref_hash(const uint8_t *key, uint32_t src, uint32_t dst, uint16_t sport,
                         uint16_t dport) {
  uint8_t in[12] = {(uint8_t)(src >> 24), (uint8_t)(src >> 16), (uint8_t)(src >> 8), (uint8_t)src,
                    (uint8_t)(dst >> 24), (uint8_t)(dst >> 16), (uint8_t)(dst >> 8), (uint8_t)dst,
                    (uint8_t)(sport >> 8), (uint8_t)sport, (uint8_t)(dport >> 8), (uint8_t)dport};
  uint32_t result = 0;
  for (unsigned bit = 0; bit < 96; bit++) {
    if (!(in[bit / 8] >> (7 - bit % 8) & 1)) continue;
    uint32_t left = 0;
    for (unsigned k = 0; k < 32; k++) left = left << 1 | (uint32_t)key_bit(key, bit + k);
    result ^= left;
  }
  return result;
}

/* DPDK's default table, built as an array: reta[i] = i % queues. */
static uint32_t ref_queue(uint32_t hash, uint32_t reta_size, uint32_t queues) {
  static uint32_t reta[UTCP_RSS_RETA_SIZE_MAX];
  for (uint32_t i = 0; i < reta_size; i++) reta[i] = i % queues;
  return reta[hash % reta_size];
}

/* The queue the NIC of `local` gives packets from remote:rport to local:lport. */
static uint32_t ref_rx_queue(uint32_t remote, uint32_t local, uint16_t rport, uint16_t lport,
                             uint32_t queues) {
  uint32_t h = ref_hash(utcp_rss_key_symmetric(), remote, local, rport, lport);
  return ref_queue(h, UTCP_RSS_RETA_SIZE_DEFAULT, queues);
}

/* ---- the hash ---- */

TEST(test_rss_ms_vectors) {
  for (size_t i = 0; i < N_VECTORS; i++) {
    CHECK_EQ(utcp_rss_hash_v4(ms_key, ms_vectors[i].src, ms_vectors[i].dst, ms_vectors[i].sport,
                              ms_vectors[i].dport),
             ms_vectors[i].hash_tcp);
    CHECK_EQ(ref_hash(ms_key, ms_vectors[i].src, ms_vectors[i].dst, ms_vectors[i].sport,
                      ms_vectors[i].dport),
             ms_vectors[i].hash_tcp);
    /* The IPv4-only hash: the first 8 bytes of the same input. */
    uint8_t in[8];
    for (int b = 0; b < 4; b++) {
      in[b] = (uint8_t)(ms_vectors[i].src >> (24 - 8 * b));
      in[4 + b] = (uint8_t)(ms_vectors[i].dst >> (24 - 8 * b));
    }
    CHECK_EQ(utcp_rss_toeplitz(ms_key, sizeof ms_key, in, sizeof in), ms_vectors[i].hash_ip);
  }
  CHECK_EQ(utcp_rss_toeplitz(ms_key, sizeof ms_key, NULL, 0), 0);
}

TEST(test_rss_symmetric_key) {
  static const uint8_t want[4] = {0x6d, 0x5a, 0x6d, 0x5a};
  const uint8_t *k = utcp_rss_key_symmetric();
  for (int i = 0; i < UTCP_RSS_KEY_LEN; i++) CHECK_EQ(k[i], want[i % 4]);
  struct utcp_rng rng;
  utcp_rng_init(&rng, 42);
  int ms_asymmetric = 0;
  for (int i = 0; i < 20000; i++) {
    uint64_t r = utcp_rng_next(&rng);
    uint32_t a = (uint32_t)r, b = (uint32_t)(r >> 32);
    uint32_t ports = (uint32_t)utcp_rng_next(&rng);
    uint16_t pa = (uint16_t)ports, pb = (uint16_t)(ports >> 16);
    uint32_t h = utcp_rss_hash_v4(k, a, b, pa, pb);
    CHECK_EQ(h, utcp_rss_hash_v4(k, b, a, pb, pa));
    /* The 16-bit period goes further: each swap alone leaves the hash unchanged too. */
    CHECK_EQ(h, utcp_rss_hash_v4(k, b, a, pa, pb));
    CHECK_EQ(h, utcp_rss_hash_v4(k, a, b, pb, pa));
    if (i < 200) CHECK_EQ(h, ref_hash(k, a, b, pa, pb));
    if (utcp_rss_hash_v4(ms_key, a, b, pa, pb) != utcp_rss_hash_v4(ms_key, b, a, pb, pa))
      ms_asymmetric++;
  }
  /* The property is the key's: Microsoft's key does not have it. */
  CHECK(ms_asymmetric > 19000);
}

TEST(test_rss_queue_mapping) {
  static const uint32_t retas[] = {64, 128, 512};
  static const uint32_t queues[] = {1, 2, 3, 4, 7, 16};
  struct utcp_rng rng;
  utcp_rng_init(&rng, 7);
  for (size_t r = 0; r < sizeof retas / sizeof retas[0]; r++)
    for (size_t q = 0; q < sizeof queues / sizeof queues[0]; q++)
      for (int i = 0; i < 2000; i++) {
        uint32_t h = (uint32_t)utcp_rng_next(&rng);
        CHECK_EQ(utcp_rss_queue(h, retas[r], queues[q]), ref_queue(h, retas[r], queues[q]));
      }
  /* 3 queues over 128 entries: the table, not hash % 3. */
  CHECK_EQ(utcp_rss_queue(128, 128, 3), 0);
  CHECK_EQ(utcp_rss_queue(130, 128, 3), 2);
  CHECK_EQ(utcp_rss_queue(0xffffffffu, 128, 4), 3);
  /* utcp_rss_check */
  CHECK_EQ(utcp_rss_check(0, 0, 128), 0);
  CHECK_EQ(utcp_rss_check(1, 0, 128), 0);
  CHECK_EQ(utcp_rss_check(1, 1, 128), UTCP_ERR_INVAL);
  CHECK_EQ(utcp_rss_check(4, 3, 128), 0);
  CHECK_EQ(utcp_rss_check(4, 4, 128), UTCP_ERR_INVAL);
  CHECK_EQ(utcp_rss_check(128, 127, 128), 0);
  CHECK_EQ(utcp_rss_check(129, 0, 128), UTCP_ERR_INVAL);
  CHECK_EQ(utcp_rss_check(2, 0, 0), UTCP_ERR_INVAL);
  CHECK_EQ(utcp_rss_check(2, 0, UTCP_RSS_RETA_SIZE_MAX + 1), UTCP_ERR_INVAL);
}

/* ---- source ports on a context ---- */

#define SERVER UTCP_LO_IP(0)
#define CLIENT UTCP_LO_IP(1)
#define DPORT 8080

/* Loopback contexts sized for `conns` connections; side 1 gets the RSS settings and the
 * ephemeral range [lo, hi]. */
static struct fx rss_fx(uint32_t conns, uint32_t queues, uint32_t queue, uint16_t lo,
                        uint16_t hi) {
  struct utcp_loopback_config cfg;
  utcp_loopback_config_default(&cfg);
  for (int i = 0; i < 2; i++) {
    fx_small_config(&cfg.ctx[i], 64);
    cfg.ctx[i].stack.tcp.max_conns = conns + 8;
    cfg.ctx[i].max_fds = conns + 8;
  }
  cfg.ctx[1].rss_queues = queues;
  cfg.ctx[1].rss_queue = queue;
  if (lo != 0) {
    cfg.ctx[1].stack.tcp.ephemeral_lo = lo;
    cfg.ctx[1].stack.tcp.ephemeral_hi = hi;
  }
  struct fx f = {0};
  if (utcp_loopback_new(&cfg, &f.lo) != 0) abort();
  f.a = utcp_loopback_ctx(f.lo, 0);
  f.b = utcp_loopback_ctx(f.lo, 1);
  return f;
}

/* A non-blocking connect from side 1 to the server: the source port, or -1 with errno. */
static int connect_port(struct fx *f, int *fd) {
  *fd = utcp_socket(f->b, AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  if (*fd < 0) return -1;
  struct sockaddr_in a = sin_of(SERVER, DPORT);
  if (utcp_connect(f->b, *fd, SA(a), sizeof a) != -1 || errno != EINPROGRESS) {
    int e = errno;
    utcp_close(f->b, *fd);
    *fd = -1;
    errno = e;
    return -1;
  }
  struct sockaddr_in me;
  socklen_t len = sizeof me;
  if (utcp_getsockname(f->b, *fd, SA(me), &len) != 0) return -1;
  return ntohs(me.sin_port);
}

static void close_all(struct fx *f, const int *fds, int n) {
  for (int i = 0; i < n; i++)
    if (fds[i] >= 0) CHECK_EQ(utcp_close(f->b, fds[i]), 0);
}

TEST(test_rss_connect_ports_fit_queue) {
  enum { N = 200 };
  struct fx f = rss_fx(N, 4, 2, 0, 0);
  int fds[N], ports[N];
  int skipped = 0;
  for (int i = 0; i < N; i++) {
    ports[i] = connect_port(&f, &fds[i]);
    REQUIRE(ports[i] > 0);
    CHECK_EQ(ref_rx_queue(SERVER, CLIENT, DPORT, (uint16_t)ports[i], 4), 2);
    /* What the server's NIC sees (our SYN) lands on the same queue: the key is symmetric. */
    CHECK_EQ(ref_queue(ref_hash(utcp_rss_key_symmetric(), CLIENT, SERVER, (uint16_t)ports[i], DPORT),
                       128, 4),
             2);
    for (int j = 0; j < i; j++) CHECK(ports[j] != ports[i]);
    if (i > 0 && ports[i] != ports[i - 1] + 1) skipped++;
  }
  CHECK(skipped > N / 2); /* ports that do not fit were passed over */
  struct utcp_ctx_rss r;
  socklen_t len = sizeof r;
  CHECK_EQ(utcp_getsockopt(f.b, UTCP_CTX_FD, UTCP_SOL_CTX, UTCP_CTX_RSS, &r, &len), 0);
  CHECK_EQ(len, sizeof r);
  CHECK_EQ(r.laddr, htonl(CLIENT));
  CHECK_EQ(r.queues, 4);
  CHECK_EQ(r.queue, 2);
  CHECK_EQ(r.reta_size, 128);
  close_all(&f, fds, N);
  fx_free(&f);
}

/* The first range of `n` ports from 40000 on in which exactly `fit` ports reach queue 2 of 4. */
static uint16_t range_with(uint16_t n, int fit) {
  for (uint32_t lo = 40000; lo < 60000; lo++) {
    int k = 0;
    for (uint32_t p = lo; p < lo + n; p++) k += ref_rx_queue(SERVER, CLIENT, DPORT, (uint16_t)p, 4) == 2;
    if (k == fit) return (uint16_t)lo;
  }
  return 0;
}

TEST(test_rss_connect_exhaustion) {
  /* 16 ports, of which exactly 3 fit: three connects, then EADDRNOTAVAIL (no hang). */
  uint16_t lo = range_with(16, 3);
  REQUIRE(lo != 0);
  struct fx f = rss_fx(16, 4, 2, lo, (uint16_t)(lo + 15));
  int fds[4] = {-1, -1, -1, -1};
  for (int i = 0; i < 3; i++) {
    int p = connect_port(&f, &fds[i]);
    CHECK(p >= lo && p <= lo + 15);
    CHECK_EQ(ref_rx_queue(SERVER, CLIENT, DPORT, (uint16_t)p, 4), 2);
  }
  CHECK_ERR(connect_port(&f, &fds[3]), EADDRNOTAVAIL);
  /* A port freed is found again. */
  CHECK_EQ(utcp_abort(f.b, fds[1]), 0);
  fds[1] = -1;
  int p = connect_port(&f, &fds[3]);
  CHECK_EQ(ref_rx_queue(SERVER, CLIENT, DPORT, (uint16_t)p, 4), 2);
  close_all(&f, fds, 4);
  fx_free(&f);

  /* A range where no port fits: EADDRNOTAVAIL at once, though every port is free. */
  lo = range_with(4, 0);
  REQUIRE(lo != 0);
  f = rss_fx(4, 4, 2, lo, (uint16_t)(lo + 3));
  int fd;
  CHECK_ERR(connect_port(&f, &fd), EADDRNOTAVAIL);
  fx_free(&f);
}

TEST(test_rss_off_keeps_order) {
  /* Off (0 or 1 queue): consecutive ports as before, whatever queue they hash to. */
  for (uint32_t queues = 0; queues <= 1; queues++) {
    struct fx f = rss_fx(40, queues, 0, 0, 0);
    int fds[40], first = 0;
    int other_queue = 0;
    for (int i = 0; i < 40; i++) {
      int p = connect_port(&f, &fds[i]);
      if (i == 0) first = p;
      CHECK_EQ(p, first + i);
      other_queue += ref_rx_queue(SERVER, CLIENT, DPORT, (uint16_t)p, 4) != 2;
    }
    CHECK(other_queue > 10);
    close_all(&f, fds, 40);
    fx_free(&f);
  }
}

TEST(test_rss_ctx_option) {
  struct fx f = rss_fx(16, 0, 0, 0, 0);
  struct utcp_ctx_rss r = {htonl(INADDR_ANY), 4, 1, 0};
  CHECK_EQ(utcp_setsockopt(f.b, UTCP_CTX_FD, UTCP_SOL_CTX, UTCP_CTX_RSS, &r, sizeof r), 0);
  int fds[8];
  for (int i = 0; i < 8; i++) {
    int p = connect_port(&f, &fds[i]);
    CHECK_EQ(ref_rx_queue(SERVER, CLIENT, DPORT, (uint16_t)p, 4), 1);
  }
  close_all(&f, fds, 8);
  /* The context's own address is accepted too; a 64-entry table changes the mapping. */
  r = (struct utcp_ctx_rss){htonl(CLIENT), 4, 3, 64};
  CHECK_EQ(utcp_setsockopt(f.b, UTCP_CTX_FD, UTCP_SOL_CTX, UTCP_CTX_RSS, &r, sizeof r), 0);
  for (int i = 0; i < 8; i++) {
    int p = connect_port(&f, &fds[i]);
    uint32_t h = ref_hash(utcp_rss_key_symmetric(), SERVER, CLIENT, DPORT, (uint16_t)p);
    CHECK_EQ(ref_queue(h, 64, 4), 3);
  }
  close_all(&f, fds, 8);
  struct utcp_ctx_rss got;
  socklen_t len = sizeof got;
  CHECK_EQ(utcp_getsockopt(f.b, UTCP_CTX_FD, UTCP_SOL_CTX, UTCP_CTX_RSS, &got, &len), 0);
  CHECK_EQ(got.reta_size, 64);
  CHECK_EQ(got.queue, 3);
  /* Errors leave the settings alone. */
  r = (struct utcp_ctx_rss){htonl(SERVER), 4, 0, 0};
  CHECK_ERR(utcp_setsockopt(f.b, UTCP_CTX_FD, UTCP_SOL_CTX, UTCP_CTX_RSS, &r, sizeof r), EADDRNOTAVAIL);
  r = (struct utcp_ctx_rss){0, 4, 4, 0};
  CHECK_ERR(utcp_setsockopt(f.b, UTCP_CTX_FD, UTCP_SOL_CTX, UTCP_CTX_RSS, &r, sizeof r), EINVAL);
  r = (struct utcp_ctx_rss){0, 65, 0, 0}; /* more queues than the 64 entries */
  CHECK_ERR(utcp_setsockopt(f.b, UTCP_CTX_FD, UTCP_SOL_CTX, UTCP_CTX_RSS, &r, sizeof r), EINVAL);
  r = (struct utcp_ctx_rss){0, 1, 1, 0};
  CHECK_ERR(utcp_setsockopt(f.b, UTCP_CTX_FD, UTCP_SOL_CTX, UTCP_CTX_RSS, &r, sizeof r), EINVAL);
  CHECK_ERR(utcp_setsockopt(f.b, UTCP_CTX_FD, UTCP_SOL_CTX, UTCP_CTX_RSS, &r, sizeof r - 1), EINVAL);
  CHECK_ERR(utcp_setsockopt(f.b, UTCP_CTX_FD, UTCP_SOL_CTX, UTCP_CTX_RSS, NULL, sizeof r), EFAULT);
  CHECK_ERR(utcp_setsockopt(f.b, UTCP_CTX_FD, UTCP_SOL_CTX, 99, &r, sizeof r), ENOPROTOOPT);
  CHECK_ERR(utcp_getsockopt(f.b, UTCP_CTX_FD, UTCP_SOL_CTX, 99, &got, &len), ENOPROTOOPT);
  CHECK_ERR(utcp_setsockopt(f.b, UTCP_CTX_FD, SOL_SOCKET, SO_REUSEADDR, &r, sizeof r), EBADF);
  len = sizeof got;
  CHECK_EQ(utcp_getsockopt(f.b, UTCP_CTX_FD, UTCP_SOL_CTX, UTCP_CTX_RSS, &got, &len), 0);
  CHECK_EQ(got.queues, 4);
  CHECK_EQ(got.queue, 3);
  /* Off again: consecutive ports. */
  r = (struct utcp_ctx_rss){0, 0, 0, 0};
  CHECK_EQ(utcp_setsockopt(f.b, UTCP_CTX_FD, UTCP_SOL_CTX, UTCP_CTX_RSS, &r, sizeof r), 0);
  int p0 = connect_port(&f, &fds[0]);
  CHECK_EQ(connect_port(&f, &fds[1]), p0 + 1);
  close_all(&f, fds, 2);
  fx_free(&f);
}

/* ---- configuration ---- */

TEST(test_rss_config_keys) {
  struct utcp_rt_config cfg;
  char err[256] = "";
  utcp_rt_config_default(&cfg);
  CHECK_EQ(cfg.ctx.rss_queues, 0);
  CHECK_EQ(cfg.ctx.rss_reta_size, 128);
  static const char good[] = "rss_queues = 8\nrss_queue = 5\nrss_reta_size = 512\n";
  CHECK_EQ(utcp_rt_config_parse("t.conf", good, sizeof good - 1, &cfg, err, sizeof err), 0);
  CHECK_EQ(cfg.ctx.rss_queues, 8);
  CHECK_EQ(cfg.ctx.rss_queue, 5);
  CHECK_EQ(cfg.ctx.rss_reta_size, 512);
  CHECK_EQ(utcp_rt_config_check(&cfg, err, sizeof err), 0);

  static const char bad_num[] = "num_cores = 2\nrss_queues = x\n";
  CHECK_EQ(utcp_rt_config_parse("t.conf", bad_num, sizeof bad_num - 1, &cfg, err, sizeof err), -1);
  CHECK(strstr(err, "t.conf:2: rss_queues:") != NULL);
  static const char bad_reta[] = "rss_reta_size = 0\n";
  CHECK_EQ(utcp_rt_config_parse("t.conf", bad_reta, sizeof bad_reta - 1, &cfg, err, sizeof err), -1);
  CHECK(strstr(err, "t.conf:1: rss_reta_size:") != NULL);
  static const char bad_key[] = "\nrss_queuez = 1\n";
  CHECK_EQ(utcp_rt_config_parse("t.conf", bad_key, sizeof bad_key - 1, &cfg, err, sizeof err), -1);
  CHECK(strstr(err, "t.conf:2: unknown key 'rss_queuez'") != NULL);

  /* Consistency: the queue below the count, the count within the table. */
  utcp_rt_config_default(&cfg);
  cfg.ctx.rss_queues = 4;
  cfg.ctx.rss_queue = 4;
  CHECK_EQ(utcp_rt_config_check(&cfg, err, sizeof err), -1);
  CHECK(strstr(err, "rss_queue 4") != NULL);
  cfg.ctx.rss_queue = 3;
  cfg.ctx.rss_reta_size = 2;
  CHECK_EQ(utcp_rt_config_check(&cfg, err, sizeof err), -1);
  cfg.ctx.rss_reta_size = 0; /* the default, 128 */
  CHECK_EQ(utcp_rt_config_check(&cfg, err, sizeof err), 0);

  /* utcp_ctx_new refuses the same. */
  struct utcp_ctx_config c;
  utcp_ctx_config_default(&c);
  fx_small_config(&c, 16);
  c.stack.ip = CLIENT;
  c.stack.netmask = 0xffffff00u;
  c.stack.mac.b[5] = 9;
  c.rss_queues = 2;
  c.rss_queue = 2;
  static const struct utcp_tx_sink no_sink;
  struct utcp_ctx *ctx = NULL;
  CHECK_EQ(utcp_ctx_new(&c, NULL, &no_sink, NULL, 0, &ctx), UTCP_ERR_INVAL);
}

/* ---- mtcp_init_rss over the paired-threads runtime ---- */

TEST(test_rss_mtcp_init_rss) {
  struct utcp_rt_config cfg;
  utcp_rt_config_default(&cfg);
  cfg.num_cores = 4;
  cfg.mode = UTCP_RT_PAIRED;
  cfg.spin_iters = 100;
  cfg.ctx.max_fds = 64;
  cfg.ctx.stack.tcp.max_conns = 64;
  REQUIRE(utcp_init_config(&cfg) == 0);
  mctx_t mctx = mtcp_create_context(2);
  REQUIRE(mctx != NULL);
  uint32_t me = IP4(10, 0, 0, 3), server = IP4(10, 0, 0, 1);
  in_addr_t daddr = htonl(server), dport = htons(DPORT);

  /* Bad arguments change nothing. */
  CHECK_ERR(mtcp_init_rss(NULL, INADDR_ANY, 1, daddr, dport), EINVAL);
  CHECK_ERR(mtcp_init_rss(mctx, INADDR_ANY, 2, daddr, dport), EINVAL);
  CHECK_ERR(mtcp_init_rss(mctx, INADDR_ANY, 0, daddr, dport), EINVAL);
  CHECK_ERR(mtcp_init_rss(mctx, htonl(IP4(10, 0, 0, 9)), 1, daddr, dport), EINVAL);
  struct utcp_ctx *plain = utcp_create_context(1); /* not made by mtcp_create_context */
  REQUIRE(plain != NULL);
  CHECK_ERR(mtcp_init_rss(plain, INADDR_ANY, 1, daddr, dport), EINVAL);
  utcp_destroy_context(plain);
  struct utcp_ctx_rss r;
  socklen_t len = sizeof r;
  CHECK_EQ(utcp_getsockopt(mctx, UTCP_CTX_FD, UTCP_SOL_CTX, UTCP_CTX_RSS, &r, &len), 0);
  CHECK_EQ(r.queues, 0);
  CHECK_EQ(r.laddr, htonl(me));

  /* The context's address or INADDR_ANY: queue = core 2 of 4 cores. */
  CHECK_EQ(mtcp_init_rss(mctx, htonl(me), 1, daddr, dport), 0);
  CHECK_EQ(mtcp_init_rss(mctx, INADDR_ANY, 1, daddr, dport), 0);
  len = sizeof r;
  CHECK_EQ(utcp_getsockopt(mctx, UTCP_CTX_FD, UTCP_SOL_CTX, UTCP_CTX_RSS, &r, &len), 0);
  CHECK_EQ(r.queues, 4);
  CHECK_EQ(r.queue, 2);
  /* Every destination, not only daddr:dport. */
  for (int i = 0; i < 24; i++) {
    uint16_t to = (uint16_t)(DPORT + i % 3);
    int fd = mtcp_socket(mctx, AF_INET, SOCK_STREAM, 0);
    CHECK(fd >= 0);
    CHECK_EQ(mtcp_setsock_nonblock(mctx, fd), 0);
    struct sockaddr_in a = sin_of(server, to);
    CHECK_ERR(mtcp_connect(mctx, fd, SA(a), sizeof a), EINPROGRESS);
    struct sockaddr_in got;
    socklen_t glen = sizeof got;
    CHECK_EQ(mtcp_getsockname(mctx, fd, SA(got), &glen), 0);
    CHECK_EQ(ref_rx_queue(server, me, to, ntohs(got.sin_port), 4), 2);
    CHECK_EQ(mtcp_abort(mctx, fd), 0);
  }
  mtcp_destroy_context(mctx);
  mtcp_destroy();
}

TEST_MAIN(TEST_CASE(test_rss_ms_vectors), TEST_CASE(test_rss_symmetric_key),
          TEST_CASE(test_rss_queue_mapping), TEST_CASE(test_rss_connect_ports_fit_queue),
          TEST_CASE(test_rss_connect_exhaustion), TEST_CASE(test_rss_off_keeps_order),
          TEST_CASE(test_rss_ctx_option), TEST_CASE(test_rss_config_keys),
          TEST_CASE(test_rss_mtcp_init_rss))
