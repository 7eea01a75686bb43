/* The runtimes' configuration reader (api/rt_config.c): file, UTCP_CONFIG and command-line
 * overrides in that order; every error names its source and line. */
#include <stdlib.h>
#include <string.h>

#include "test.h"
#include "utcp/runtime.h"

static int parse(const char *text, struct utcp_rt_config *cfg, char *err) {
  return utcp_rt_config_parse("m.conf", text, strlen(text), cfg, err, 200);
}

TEST(test_rt_config_defaults) {
  struct utcp_rt_config cfg;
  memset(&cfg, 0xab, sizeof cfg);
  utcp_rt_config_default(&cfg);
  CHECK_EQ(cfg.num_cores, 1);
  CHECK_EQ(cfg.mode, UTCP_RT_PAIRED);
  CHECK_EQ(cfg.ctx.max_fds, 1024);
  CHECK_EQ(cfg.ring_slots, 1024);
  char err[200] = "";
  CHECK_EQ(utcp_rt_config_check(&cfg, err, sizeof err), 0);
}

/* An mTCP configuration file (mTCP's epserver.conf keys) loads; utcp's own keys land. */
TEST(test_rt_config_mtcp_file) {
  struct utcp_rt_config cfg, def;
  utcp_rt_config_default(&cfg);
  utcp_rt_config_default(&def);
  char err[200] = "";
  const char *text =
      "############### mtcp configuration file ###############\n"
      "io = dpdk\n"
      "num_cores = 4\n"
      "num_mem_ch = 4\n"
      "port = dpdk0 dpdk1\n"
      "max_concurrency = 10000\n"
      "max_num_buffers = 10000\n"
      "rcvbuf = 8192\n"
      "sndbuf = 8192\n"
      "tcp_timeout = 30\n"
      "tcp_timewait = 0\n" /* mTCP: no TIME-WAIT; utcp: the default */
      "stat_print = dpdk0\n"
      "# utcp's own\n"
      "max_fds = 20000\n"
      "max_epoll_items = 30000\n"
      "sockbuf_max_bytes = 1048576\n"
      "rt_mode = rtc\n"
      "ring_slots = 256\n"
      "spin_iters = 10\n"
      "pin_cores = 1\n"
      "ip_addr = 10.9.0.1\n"
      "netmask = 255.255.0.0\n"
      "gateway = 10.9.0.254\n"
      "arp = 10.9.0.2 02:00:00:00:00:02\n"
      "route = 10.10.0.0/16 10.9.0.254\n"
      "delack_ms = 40\n";
  REQUIRE(parse(text, &cfg, err) == 0);
  CHECK_EQ(cfg.num_cores, 4);
  CHECK_EQ(cfg.ctx.stack.tcp.max_conns, 10000);
  CHECK_EQ(cfg.ctx.stack.tcp.rcvbuf_bytes, 8192);
  CHECK_EQ(cfg.ctx.stack.tcp.sndbuf_bytes, 8192);
  CHECK_EQ(cfg.ctx.stack.tcp.msl_ns, def.ctx.stack.tcp.msl_ns); /* 0: the default */
  CHECK_EQ(cfg.ctx.max_fds, 20000);
  CHECK_EQ(cfg.ctx.max_epoll_items, 30000);
  CHECK_EQ(cfg.ctx.sockbuf_max_bytes, 1048576);
  CHECK_EQ(cfg.mode, UTCP_RT_RTC);
  CHECK_EQ(cfg.ring_slots, 256);
  CHECK_EQ(cfg.spin_iters, 10);
  CHECK(cfg.pin_cores);
  CHECK_EQ(cfg.ctx.stack.ip, 0x0a090001);
  CHECK_EQ(cfg.ctx.stack.netmask, 0xffff0000);
  CHECK_EQ(cfg.ctx.stack.gateway, 0x0a0900fe);
  CHECK_EQ(cfg.ctx.stack.static_arp_count, 1);
  CHECK_EQ(cfg.ctx.stack.route_count, 1);
  CHECK_EQ(cfg.ctx.stack.tcp.delack_ns, 40000000ull);
  CHECK_EQ(utcp_rt_config_check(&cfg, err, sizeof err), 0);
}

TEST(test_rt_config_errors_name_the_line) {
  static const struct {
    const char *text, *want;
  } cases[] = {
      {"num_cores = 2\nbogus = 1\n", "m.conf:2: unknown key 'bogus'"},
      {"\nnum_cores = 0\n", "m.conf:2: num_cores: '0' is not a number in 1..64"},
      {"num_cores = 65\n", "m.conf:1: num_cores: '65' is not a number in 1..64"},
      {"num_cores = -1\n", "m.conf:1: num_cores: '-1' is not a number in 1..64"},
      {"num_cores = 2x\n", "m.conf:1: num_cores: '2x' is not a number in 1..64"},
      {"ring_slots = 100\n", "m.conf:1: ring_slots: 100 is not a power of two"},
      {"rt_mode = fast\n", "m.conf:1: rt_mode: 'fast' is not 'paired' or 'rtc'"},
      {"max_fds =\n", "m.conf:1: max_fds: missing value"},
      {"a\nb\nmax_fds 3\n", "m.conf:1: want 'key = value'"},
      {"# ok\n\n  ip_addr = 1.2.3\n", "m.conf:3: ip_addr: '1.2.3' is not an IPv4 address"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    struct utcp_rt_config cfg;
    utcp_rt_config_default(&cfg);
    char err[200] = "";
    CHECK_EQ(parse(cases[i].text, &cfg, err), -1);
    if (strcmp(err, cases[i].want) != 0) {
      fprintf(stderr, "case %zu: got '%s', want '%s'\n", i, err, cases[i].want);
      CHECK(0);
    }
  }
  /* A NUL byte and an over-long line are errors too, not crashes. */
  struct utcp_rt_config cfg;
  utcp_rt_config_default(&cfg);
  char err[200] = "";
  CHECK_EQ(utcp_rt_config_parse("m.conf", "max_fds = 1\0", 12, &cfg, err, sizeof err), -1);
  CHECK(strcmp(err, "m.conf:1: NUL byte") == 0);
  char longline[700];
  memset(longline, 'x', sizeof longline);
  CHECK_EQ(utcp_rt_config_parse("m.conf", longline, sizeof longline, &cfg, err, sizeof err), -1);
  CHECK(strstr(err, "m.conf:1: line longer") == err);
  CHECK_EQ(utcp_rt_config_parse("m.conf", "num_cores = 3\n", 14, &cfg, NULL, 0), 0);
  CHECK_EQ(cfg.num_cores, 3);
}

/* Order: file, then UTCP_CONFIG, then the command line; each names its own source. */
TEST(test_rt_config_read_order) {
  const char *path = "test_rt_config.tmp.conf";
  FILE *f = fopen(path, "w");
  REQUIRE(f != NULL);
  fputs("num_cores = 2\nmax_fds = 100\nrcvbuf = 10000\n", f);
  fclose(f);
  struct utcp_rt_config cfg;
  char err[200] = "";
  REQUIRE(setenv("UTCP_CONFIG", "max_fds=200; rcvbuf = 20000 ;;", 1) == 0);
  char *args[] = {"rcvbuf=30000", "num_cores=5"};
  CHECK_EQ(utcp_rt_config_read(path, 2, args, &cfg, err, sizeof err), 0);
  CHECK_EQ(cfg.num_cores, 5);
  CHECK_EQ(cfg.ctx.max_fds, 200);
  CHECK_EQ(cfg.ctx.stack.tcp.rcvbuf_bytes, 30000);

  REQUIRE(setenv("UTCP_CONFIG", "max_fds=200;nope=1", 1) == 0);
  CHECK_EQ(utcp_rt_config_read(path, 0, NULL, &cfg, err, sizeof err), -1);
  CHECK(strcmp(err, "UTCP_CONFIG:2: unknown key 'nope'") == 0);
  CHECK_EQ(errno, EINVAL);

  REQUIRE(unsetenv("UTCP_CONFIG") == 0);
  char *bad[] = {"num_cores=2", "num_cores"};
  CHECK_EQ(utcp_rt_config_read(path, 2, bad, &cfg, err, sizeof err), -1);
  CHECK(strcmp(err, "argv:2: want 'key=value', got 'num_cores'") == 0);

  CHECK_EQ(utcp_rt_config_read("/nonexistent/utcp.conf", 0, NULL, &cfg, err, sizeof err), -1);
  CHECK(strstr(err, "/nonexistent/utcp.conf:0: ") == err);

  /* Without a file: defaults and overrides only. */
  CHECK_EQ(utcp_rt_config_read(NULL, 0, NULL, &cfg, err, sizeof err), 0);
  CHECK_EQ(cfg.num_cores, 1);
  remove(path);
}

TEST(test_rt_config_check_refuses) {
  struct utcp_rt_config cfg;
  char err[200] = "";
  utcp_rt_config_default(&cfg);
  cfg.num_cores = 0;
  CHECK_EQ(utcp_rt_config_check(&cfg, err, sizeof err), -1);
  CHECK(strstr(err, "num_cores") != NULL);
  utcp_rt_config_default(&cfg);
  cfg.ring_slots = 48;
  CHECK_EQ(utcp_rt_config_check(&cfg, err, sizeof err), -1);
  utcp_rt_config_default(&cfg);
  cfg.ctx.stack.mtu = 20;
  CHECK_EQ(utcp_rt_config_check(&cfg, err, sizeof err), -1);
  CHECK(strstr(err, "utcp_stack_config_check") != NULL);
}

TEST_MAIN(TEST_CASE(test_rt_config_defaults), TEST_CASE(test_rt_config_mtcp_file),
          TEST_CASE(test_rt_config_errors_name_the_line), TEST_CASE(test_rt_config_read_order),
          TEST_CASE(test_rt_config_check_refuses))
