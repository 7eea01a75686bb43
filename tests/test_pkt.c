/* The packetdrill-syntax lexer and parser (platform/sim/pkt_lex.c, pkt_parse.c): good input
 * parses into the expected model; bad input gives an error naming file, line and column, and
 * never crashes (every prefix and many single-byte mutations of a script are parsed too). */
#include "platform/sim/pkt.h"

#include "core/wire.h"
#include "test.h"

static bool parse(const char *src, struct pkt_script *s, char *err, size_t errlen) {
  return pkt_parse("t.pkt", src, strlen(src), s, err, errlen);
}

/* Parses src, expecting an error that starts with "t.pkt:LINE:COL:" and contains `want`. */
static void expect_error(const char *src, int line, int col, const char *want) {
  struct pkt_script s;
  char err[512] = "";
  bool ok = parse(src, &s, err, sizeof err);
  CHECK(!ok);
  if (ok) {
    pkt_script_free(&s);
    return;
  }
  char prefix[64];
  snprintf(prefix, sizeof prefix, "t.pkt:%d:%d: ", line, col);
  if (strncmp(err, prefix, strlen(prefix)) != 0 || strstr(err, want) == NULL) {
    fprintf(stderr, "  got error \"%s\", wanted prefix \"%s\" and \"%s\"\n", err, prefix, want);
    test_failures_++;
  }
}

static const char *const good_script =
    "--ip_version=ipv4 --local_ip=192.168.0.1\n"
    "--tolerance_usecs=10000\n"
    "`echo setup`\n"
    "%{ print('x') }%\n"
    "0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3 // comment\n"
    "/* block\n comment */\n"
    "+0 setsockopt(3, SOL_SOCKET, SO_LINGER, {onoff=1, linger=0}, 8) = 0\n"
    "+0.5 < S 0:0(0) win 32792 <mss 1000,sackOK,TS val 100 ecr 0,nop,wscale 7>\n"
    "+.1~+.2 > S. 0:0(0) ack 1 <...>\n"
    "* > 8080>40000 F. 1:1(0) ack 2 win 257\n"
    "1.5~2 < [ect0] . 1:1001(1000) ack 1 urg 3 <sack 1:2 3:4,eol>\n"
    "+0...0.25 read(4, ..., 1000) = -1 EAGAIN (Resource temporarily unavailable)\n"
    "+0 fcntl(3, F_SETFL, O_RDWR|O_NONBLOCK) = 0x0 (flags O_RDWR)\n"
    "+0 poll([{fd=4, events=POLLIN, revents=POLLIN}], 1, 0) = 1\n"
    "+0 connect(3, {sa_family=AF_INET, sin_port=htons(8080), sin_addr=inet_addr(\"192.0.2.1\")}, 16) = 0\n"
    "+0 writev(4, [{..., 10}, {..., 20}], 2) = 30\n"
    "+0 > - 0:0(0)\n";

TEST(test_pkt_parse_good) {
  struct pkt_script s;
  char err[512] = "";
  bool ok = parse(good_script, &s, err, sizeof err);
  if (!ok) fprintf(stderr, "  %s\n", err);
  REQUIRE(ok);
  CHECK_EQ(s.n_opts, 3);
  CHECK(strcmp(s.opts[0].name, "ip_version") == 0 && strcmp(s.opts[0].value, "ipv4") == 0);
  CHECK(strcmp(s.opts[1].value, "192.168.0.1") == 0);
  CHECK_EQ(s.n_ev, 14);
  CHECK_EQ(s.ev[0].kind, PKT_EV_COMMAND);
  CHECK(!s.ev[0].has_time);
  CHECK_EQ(s.ev[1].kind, PKT_EV_CODE);
  const struct pkt_event *e = &s.ev[2];
  CHECK_EQ(e->kind, PKT_EV_SYSCALL);
  CHECK_EQ(e->line, 5);
  CHECK(strcmp(e->sc.name, "socket") == 0);
  CHECK_EQ(e->sc.n_args, 3);
  CHECK_EQ(e->sc.args[0]->kind, PKT_E_ELLIPSIS);
  CHECK_EQ(e->sc.ret->ival, 3);
  e = &s.ev[3];
  CHECK_EQ(e->line, 8);
  CHECK_EQ(e->sc.args[3]->kind, PKT_E_LIST);
  CHECK_EQ(e->sc.args[3]->n_kids, 2);
  CHECK_EQ(e->sc.args[3]->kids[0]->kind, PKT_E_NAMED);
  e = &s.ev[4];
  CHECK_EQ(e->kind, PKT_EV_PACKET);
  CHECK_EQ(e->time.kind, PKT_TIME_REL);
  CHECK_EQ(e->time.us, 500000);
  CHECK(e->pkt.inbound);
  CHECK_EQ(e->pkt.flags, UTCP_TCP_SYN);
  CHECK(e->pkt.has_win && e->pkt.win == 32792);
  CHECK_EQ(e->pkt.opt_mode, PKT_OPTS_LIST);
  CHECK_EQ(e->pkt.n_opts, 5);
  CHECK_EQ(e->pkt.opts[2].kind, PKT_OPT_TS);
  CHECK_EQ(e->pkt.opts[2].v1, 100);
  CHECK_EQ(e->pkt.opts[4].v1, 7);
  e = &s.ev[5];
  CHECK_EQ(e->time.kind, PKT_TIME_RANGE_REL);
  CHECK_EQ(e->time.us, 100000);
  CHECK_EQ(e->time.us2, 200000);
  CHECK(!e->pkt.inbound);
  CHECK_EQ(e->pkt.flags, UTCP_TCP_SYN | UTCP_TCP_ACK);
  CHECK_EQ(e->pkt.opt_mode, PKT_OPTS_ANY);
  e = &s.ev[6];
  CHECK_EQ(e->time.kind, PKT_TIME_ANY);
  CHECK(e->pkt.has_ports && e->pkt.sport == 8080 && e->pkt.dport == 40000);
  CHECK_EQ(e->pkt.flags, UTCP_TCP_FIN | UTCP_TCP_ACK);
  e = &s.ev[7];
  CHECK_EQ(e->time.kind, PKT_TIME_RANGE_ABS);
  CHECK_EQ(e->time.us, 1500000);
  CHECK_EQ(e->time.us2, 2000000);
  CHECK_EQ(e->pkt.len, 1000);
  CHECK(e->pkt.has_urg && e->pkt.urg == 3);
  CHECK_EQ(e->pkt.opts[0].kind, PKT_OPT_SACK);
  CHECK_EQ(e->pkt.opts[0].n_sack, 2);
  CHECK_EQ(e->pkt.opts[0].sack[1][1], 4);
  CHECK_EQ(e->pkt.opts[1].kind, PKT_OPT_EOL);
  e = &s.ev[8];
  CHECK(e->sc.has_end);
  CHECK_EQ(e->sc.end.us, 250000);
  CHECK_EQ(e->sc.ret->ival, -1);
  CHECK(e->sc.errno_name != NULL && strcmp(e->sc.errno_name, "EAGAIN") == 0);
  e = &s.ev[9];
  CHECK_EQ(e->sc.args[2]->kind, PKT_E_OR);
  CHECK(e->sc.errno_name == NULL);
  e = &s.ev[11];
  CHECK_EQ(e->sc.args[1]->kind, PKT_E_LIST);
  CHECK_EQ(e->sc.args[1]->kids[1]->kids[0]->kind, PKT_E_CALL);
  e = &s.ev[13];
  CHECK_EQ(e->pkt.flags, 0);
  char buf[256];
  pkt_format_packet(&s.ev[4].pkt, buf, sizeof buf);
  CHECK(strcmp(buf, "< S 0:0(0) win 32792 <mss 1000,sackOK,TS val 100 ecr 0,nop,wscale 7>") == 0);
  pkt_script_free(&s);
}

TEST(test_pkt_parse_errors) {
  expect_error("0 < S 0:0(0) win 100 <mss>\n", 1, 26, "expected an MSS value");
  expect_error("0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n+0 < X 0:0(0)\n", 2, 6,
               "unknown TCP flag 'X'");
  expect_error("0 < S 0:5(3)\n", 1, 7, "inconsistent sequence range");
  expect_error("0 < S 0:0(0) win 70000\n", 1, 18, "does not fit 16 bits");
  expect_error("0 read(4, ..., 10 = 10\n", 1, 19, "expected ')'");
  expect_error("0 read(4, ..., 10)\n", 2, 1, "expected '=', found end of file");
  expect_error("\n\n  0 < S 0:0(0) <md5 abc>\n", 3, 17, "unsupported TCP option 'md5'");
  expect_error("0 < udp (100)\n", 1, 5, "unsupported: udp packets");
  expect_error("0 < ipv4 1.2.3.4 > 5.6.7.8: S 0:0(0)\n", 1, 5, "unsupported: ipv4 encapsulation");
  expect_error("0 < S 0:0(0)\n--mss=1000\n", 2, 1, "must come before the first event");
  expect_error("0 `echo hi\n", 1, 3, "unterminated `command`");
  expect_error("0 %{ x = 1\n", 1, 3, "unterminated %{ code block");
  expect_error("/* never closed\n", 1, 1, "unterminated comment");
  expect_error("0 write(4, \"abc, 3) = 3\n", 1, 12, "unterminated string");
  expect_error("0 < S 0:0(0) $\n", 1, 14, "unexpected character '$'");
  expect_error("0 < S 0:0(0)\n1.2.3 < S 0:0(0)\n", 2, 1, "bad number");
  expect_error("+ < S 0:0(0)\n", 1, 3, "expected a time");
  expect_error("0~ < S 0:0(0)\n", 1, 4, "expected a time");
  expect_error("2~1 < S 0:0(0)\n", 1, 5, "time range ends before it starts");
  expect_error("0 < S 0:0(0) ack 4294967296\n", 1, 18, "out of range");
  expect_error("0 < S 0:0(0) <sack 1:2 3:4 5:6 7:8 9:10>\n", 1, 36, "more than 4 SACK blocks");
  expect_error("0 < S 0:0(0) <TS val 1>\n", 1, 23, "expected 'ecr'");
  expect_error("0 frob 3\n", 1, 8, "expected '(', found number 3");
  expect_error("0 = 3\n", 1, 3, "expected a packet, a system call or a command");
  expect_error("0 f(((((\n", 1, 5, "expected an expression");
}

/* Never crashes: every prefix of a script, and byte substitutions at every position. */
TEST(test_pkt_parse_never_crashes) {
  size_t n = strlen(good_script);
  char *buf = malloc(n + 1);
  REQUIRE(buf != NULL);
  static const char subst[] = {'(', ')', '<', '>', '.', '~', '"', '`', '{', '[', '0', 'x', '-',
                               '\n', '%', '/', '*', ':', ',', '=', '+', '\0', '\xff'};
  size_t parsed = 0, failed = 0;
  for (size_t len = 0; len <= n; len++) {
    struct pkt_script s;
    char err[256];
    if (pkt_parse("t.pkt", good_script, len, &s, err, sizeof err)) {
      pkt_script_free(&s);
      parsed++;
    } else {
      CHECK(strncmp(err, "t.pkt:", 6) == 0);
      failed++;
    }
  }
  for (size_t pos = 0; pos < n; pos++)
    for (size_t k = 0; k < sizeof subst; k++) {
      memcpy(buf, good_script, n);
      buf[pos] = subst[k];
      struct pkt_script s;
      char err[256];
      if (pkt_parse("t.pkt", buf, n, &s, err, sizeof err)) {
        pkt_script_free(&s);
      } else {
        CHECK(strncmp(err, "t.pkt:", 6) == 0);
      }
    }
  free(buf);
  CHECK(parsed > 0);
  CHECK(failed > 0);
}

TEST(test_pkt_parse_missing_file) {
  struct pkt_script s;
  char err[256] = "";
  CHECK(!pkt_parse_file("/nonexistent/x.pkt", &s, err, sizeof err));
  CHECK(strstr(err, "/nonexistent/x.pkt") != NULL);
}

TEST_MAIN(TEST_CASE(test_pkt_parse_good), TEST_CASE(test_pkt_parse_errors),
          TEST_CASE(test_pkt_parse_never_crashes), TEST_CASE(test_pkt_parse_missing_file))
