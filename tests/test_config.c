/* The `key = value` configuration file: values land in the stack config, every error names
 * its line, bad input never crashes. */
#include <string.h>

#include "core/rng.h"
#include "test.h"
#include "utcp/config.h"

static int parse(const char *text, struct utcp_stack_config *cfg, char *err) {
  return utcp_config_parse("t.conf", text, strlen(text), cfg, err, 200);
}

TEST(test_config_values) {
  struct utcp_stack_config cfg;
  utcp_stack_config_default(&cfg);
  char err[200] = "";
  const char *text =
      "# utcp\n"
      "ip_addr = 10.1.2.3\n"
      "netmask=255.255.255.0\n"
      "  gateway = 10.1.2.254   # the router\n"
      "mac = 02:00:00:aa:bb:cc\n"
      "arp = 10.1.2.9 02:00:00:00:00:09\n"
      "route = 192.168.0.0/16 10.1.2.254\n"
      "max_concurrency = 100000\n"
      "rcvbuf = 131072\n"
      "delack_ms = 100\n"
      "msl_ms = 1000\n"
      "syncookies = 0\n"
      "isn_key = 000102030405060708090a0b0c0d0e0f\n"
      "\n";
  REQUIRE(parse(text, &cfg, err) == 0);
  CHECK_EQ(cfg.ip, 0x0a010203);
  CHECK_EQ(cfg.netmask, 0xffffff00);
  CHECK_EQ(cfg.gateway, 0x0a0102fe);
  CHECK_EQ(cfg.mac.b[5], 0xcc);
  CHECK_EQ(cfg.static_arp_count, 1);
  CHECK_EQ(cfg.static_arp[0].ip, 0x0a010209);
  CHECK_EQ(cfg.route_count, 1);
  CHECK_EQ(cfg.routes[0].mask, 0xffff0000);
  CHECK_EQ(cfg.tcp.max_conns, 100000);
  CHECK_EQ(cfg.tcp.rcvbuf_bytes, 131072);
  CHECK_EQ(cfg.tcp.delack_ns, 100000000ull);
  CHECK_EQ(cfg.tcp.msl_ns, 1000000000ull);
  CHECK(!cfg.tcp.syncookies);
  CHECK_EQ(cfg.isn_key[15], 15);
  CHECK_EQ(utcp_stack_config_check(&cfg), 0);
  /* An override applies after the file. */
  CHECK_EQ(utcp_config_set("rcvbuf=65536", &cfg, err, sizeof err), 0);
  CHECK_EQ(cfg.tcp.rcvbuf_bytes, 65536);
}

/* The hardening keys (docs/tcp.md "Hardening"): limits an attack runs into. */
TEST(test_config_hardening_keys) {
  struct utcp_stack_config cfg;
  utcp_stack_config_default(&cfg);
  CHECK_EQ(cfg.tcp.zero_window_timeout_ns, 3600000000000ull);
  char err[200] = "";
  const char *text =
      "ip_addr = 10.0.0.1\n"
      "zero_window_timeout_ms = 5000\n"
      "zero_window_pressure_ms = 1500\n"
      "challenge_ack_limit = 50\n"
      "challenge_ack_interval_ms = 5000\n"
      "oow_ack_interval_ms = 0\n"
      "reass_nodes = 300\n"
      "reass_max_ranges = 4\n";
  REQUIRE(parse(text, &cfg, err) == 0);
  CHECK_EQ(cfg.tcp.zero_window_timeout_ns, 5000000000ull);
  CHECK_EQ(cfg.tcp.zero_window_pressure_ns, 1500000000ull);
  CHECK_EQ(cfg.tcp.challenge_ack_limit, 50);
  CHECK_EQ(cfg.tcp.challenge_ack_interval_ns, 5000000000ull);
  CHECK_EQ(cfg.tcp.oow_ack_interval_ns, 0);
  CHECK_EQ(cfg.tcp.reass_nodes, 300);
  CHECK_EQ(cfg.tcp.reass_max_ranges, 4);
  /* 0 turns the zero-window reclaim off (strict RFC 9293 MUST-37). */
  CHECK_EQ(utcp_config_set("zero_window_timeout_ms=0", &cfg, err, sizeof err), 0);
  CHECK_EQ(cfg.tcp.zero_window_timeout_ns, 0);
  CHECK_EQ(parse("zero_window_timeout_ms = 86400001\n", &cfg, err), -1);
  CHECK(strcmp(err, "t.conf:1: zero_window_timeout_ms: '86400001' is not a number in 0..86400000") == 0);
  CHECK_EQ(utcp_tcp_config_check(&cfg.tcp), 0);
  /* A zero challenge interval or reassembly pool is a config the stack refuses. */
  CHECK_EQ(utcp_config_set("challenge_ack_interval_ms=0", &cfg, err, sizeof err), 0);
  CHECK_EQ(utcp_tcp_config_check(&cfg.tcp), UTCP_ERR_INVAL);
  CHECK_EQ(utcp_config_set("challenge_ack_interval_ms=1000", &cfg, err, sizeof err), 0);
  CHECK_EQ(utcp_config_set("reass_max_ranges=0", &cfg, err, sizeof err), 0);
  CHECK_EQ(utcp_tcp_config_check(&cfg.tcp), UTCP_ERR_INVAL);
}

TEST(test_config_errors_name_the_line) {
  static const struct {
    const char *text, *want;
  } cases[] = {
      {"ip_addr = 10.0.0.1\nfoo = 1\n", "t.conf:2: unknown key 'foo'"},
      {"\n\nip_addr = 10.0.0.300\n", "t.conf:3: ip_addr: '10.0.0.300' is not an IPv4 address"},
      {"mtu = 9001\n", "t.conf:1: mtu: '9001' is not a number in 0..9000"},
      {"mtu = -1\n", "t.conf:1: mtu: '-1' is not a number in 0..9000"},
      {"delack_ms = 500\n", "t.conf:1: delack_ms: '500' is not a number in 0..200"},
      {"mac = 02:00:00:00:00\n", "t.conf:1: mac: '02:00:00:00:00' is not aa:bb:cc:dd:ee:ff"},
      {"arp = 10.0.0.1\n", "t.conf:1: arp: want 'IP MAC', got '10.0.0.1'"},
      {"route = 10.0.0.0/33 10.0.0.1\n", "t.conf:1: route: want 'DST/PREFIX GATEWAY', got '10.0.0.0/33 10.0.0.1'"},
      {"just words\n", "t.conf:1: want 'key = value'"},
      {"= 3\n", "t.conf:1: missing key before '='"},
      {"rcvbuf =\n", "t.conf:1: rcvbuf: missing value"},
      {"isn_key = 12\n", "t.conf:1: isn_key: want 32 hex digits"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    struct utcp_stack_config cfg;
    utcp_stack_config_default(&cfg);
    char err[200] = "";
    CHECK_EQ(parse(cases[i].text, &cfg, err), -1);
    if (strcmp(err, cases[i].want) != 0) {
      fprintf(stderr, "case %zu: got '%s'\n", i, err);
      CHECK(0);
    }
  }
}

TEST(test_config_load_checks_result) {
  struct utcp_stack_config cfg;
  utcp_stack_config_default(&cfg);
  char err[200] = "";
  CHECK_EQ(utcp_config_load("/nonexistent/utcp.conf", &cfg, err, sizeof err), -1);
  CHECK(strstr(err, "/nonexistent/utcp.conf:0:") == err);
  /* A file whose values parse but make no valid stack (no address) is refused. */
  const char *path = "test_config_tmp.conf";
  FILE *f = fopen(path, "w");
  REQUIRE(f != NULL);
  fputs("mtu = 1500\n", f);
  fclose(f);
  CHECK_EQ(utcp_config_load(path, &cfg, err, sizeof err), -1);
  CHECK(strstr(err, "not valid") != NULL);
  remove(path);
}

TEST(test_config_random_bytes_never_crash) {
  struct utcp_rng rng;
  utcp_rng_init(&rng, 3);
  static const char alphabet[] = "=#\n .:/0123456789abcdefx_ipmacroutesynkl\t-";
  for (int i = 0; i < 20000; i++) {
    char text[300];
    size_t n = (size_t)utcp_rng_below(&rng, sizeof text);
    for (size_t k = 0; k < n; k++)
      text[k] = utcp_rng_chance(&rng, 1, 20) ? (char)utcp_rng_next(&rng)
                                             : alphabet[utcp_rng_below(&rng, sizeof alphabet - 1)];
    struct utcp_stack_config cfg;
    utcp_stack_config_default(&cfg);
    char err[64];
    int rc = utcp_config_parse("r", text, n, &cfg, err, sizeof err);
    CHECK(rc == 0 || rc == -1);
  }
}

TEST_MAIN(TEST_CASE(test_config_values), TEST_CASE(test_config_hardening_keys),
          TEST_CASE(test_config_errors_name_the_line),
          TEST_CASE(test_config_load_checks_result), TEST_CASE(test_config_random_bytes_never_crash))
