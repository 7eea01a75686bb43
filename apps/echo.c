/* echo: an echo server and client on blocking utcp sockets (each call waits through the
 * runtime: a coroutine yield in the simulator).
 *
 *   echo --server [--port N] [--once] [-f CONFIG] [--quiet]
 *   echo --connect A.B.C.D [--port N] [--conns K] [--msgs M] [--size S] [-f CONFIG]
 *
 * The server answers one connection at a time, writing back every byte it reads until the
 * client closes; --once returns after the first connection, otherwise it runs until a wait is
 * interrupted. The client opens K connections one after another, sends M messages of S bytes
 * on each (generated content, different on every message) and checks that each comes back
 * whole and unchanged. Exits 0 only when every byte came back. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app_util.h"
#include "apps.h"
#include "utcp/runtime.h"
#include "utcp/utcp.h"

static void usage(FILE *out) {
  fprintf(out, "usage: echo --server [--port N] [--once] [-f CONFIG] [--quiet]\n"
               "       echo --connect A.B.C.D [--port N] [--conns K] [--msgs M] [--size S]\n"
               "            [-f CONFIG] [--wait-server TRIES]\n"
               "  --core N   the runtime core's context to use (default 0)\n");
}

/* Writes all of buf (blocking socket): 0, or -1 with errno. */
static int write_all(struct utcp_ctx *ctx, int fd, const uint8_t *buf, size_t n) {
  while (n > 0) {
    ssize_t w = utcp_write(ctx, fd, buf, n);
    if (w < 0) return -1;
    buf += w;
    n -= (size_t)w;
  }
  return 0;
}

static int serve(struct utcp_ctx *ctx, uint16_t port, bool once, bool quiet) {
  int lfd = utcp_socket(ctx, AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
  if (lfd < 0 || utcp_bind(ctx, lfd, (struct sockaddr *)&sa, sizeof sa) < 0 ||
      utcp_listen(ctx, lfd, 128) < 0) {
    fprintf(stderr, "echo: listen on port %u: %s\n", port, strerror(errno));
    if (lfd >= 0) utcp_close(ctx, lfd);
    return 1;
  }
  if (!quiet) printf("echo: serving on port %u\n", port);
  uint8_t *buf = malloc(16384);
  uint64_t conns = 0, bytes = 0;
  int status = 0;
  while (buf != NULL) {
    int fd = utcp_accept(ctx, lfd, NULL, NULL);
    if (fd < 0) {
      if (errno != EINTR) {
        fprintf(stderr, "echo: accept: %s\n", strerror(errno));
        status = 1;
      }
      break;
    }
    conns++;
    int one = 1; /* each echo goes out at once (no Nagle wait for the ACK of the last one) */
    utcp_setsockopt(ctx, fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    for (;;) {
      ssize_t r = utcp_read(ctx, fd, buf, 16384);
      if (r <= 0) {
        if (r < 0 && errno == EINTR) once = true; /* stopping */
        break;
      }
      bytes += (uint64_t)r;
      if (write_all(ctx, fd, buf, (size_t)r) < 0) break;
    }
    utcp_close(ctx, fd);
    if (once) break;
  }
  if (!quiet) printf("echo: served %" PRIu64 " connections, %" PRIu64 " bytes\n", conns, bytes);
  free(buf);
  utcp_close(ctx, lfd);
  return buf == NULL ? 1 : status;
}

static int client(struct utcp_ctx *ctx, uint32_t ip, uint16_t port, uint64_t conns,
                  uint64_t msgs, uint64_t size) {
  uint8_t *out = malloc(size), *in = malloc(size);
  uint64_t ok_msgs = 0, bad = 0, off = 0;
  uint64_t t0 = utcp_ctx_now(ctx);
  int status = 0;
  for (uint64_t k = 0; k < conns && out && in && status == 0; k++) {
    int fd = utcp_socket(ctx, AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port),
                             .sin_addr.s_addr = htonl(ip)};
    int one = 1;
    if (fd >= 0) utcp_setsockopt(ctx, fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (fd < 0 || utcp_connect(ctx, fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
      fprintf(stderr, "echo: connect %" PRIu64 ": %s\n", k, strerror(errno));
      if (fd >= 0) utcp_close(ctx, fd);
      status = 1;
      break;
    }
    for (uint64_t m = 0; m < msgs; m++, off += size) {
      app_gen_fill(out, off, size);
      if (write_all(ctx, fd, out, size) < 0) {
        fprintf(stderr, "echo: write: %s\n", strerror(errno));
        status = 1;
        break;
      }
      size_t got = 0;
      while (got < size) {
        ssize_t r = utcp_read(ctx, fd, in + got, size - got);
        if (r <= 0) break;
        got += (size_t)r;
      }
      if (got != size) {
        fprintf(stderr, "echo: connection %" PRIu64 " message %" PRIu64 ": %zu of %" PRIu64
                        " bytes came back (%s)\n", k, m, got, size, got ? "EOF" : strerror(errno));
        status = 1;
        break;
      }
      if (memcmp(in, out, size) != 0) {
        bad++;
        status = 1;
        break;
      }
      ok_msgs++;
    }
    utcp_close(ctx, fd);
  }
  double secs = (double)(utcp_ctx_now(ctx) - t0) / 1e9;
  printf("echo: %" PRIu64 " of %" PRIu64 " messages of %" PRIu64 " bytes echoed intact, %" PRIu64
         " differed, %.3f s (%.3f ms per round trip)\n",
         ok_msgs, conns * msgs, size, bad, secs, ok_msgs ? secs * 1e3 / (double)ok_msgs : 0.0);
  free(out);
  free(in);
  return status == 0 && ok_msgs == conns * msgs ? 0 : 1;
}

int echo_main(int argc, char **argv) {
  bool server = false, once = false, quiet = false;
  const char *conf = NULL, *peer = NULL;
  uint64_t port = 7, conns = 1, msgs = 10, size = 1000, core = 0, wait_tries = 0;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    bool ok = true;
    if (strcmp(a, "--server") == 0) {
      server = true;
      continue;
    } else if (strcmp(a, "--once") == 0) {
      once = true;
      continue;
    } else if (strcmp(a, "--quiet") == 0) {
      quiet = true;
      continue;
    } else if (strcmp(a, "--help") == 0) {
      usage(stdout);
      return 0;
    } else if (strcmp(a, "--connect") == 0) {
      ok = (peer = v) != NULL;
    } else if (strcmp(a, "--wait-server") == 0) {
      ok = app_parse_num(v, 1, 1000000, &wait_tries);
    } else if (strcmp(a, "--core") == 0) {
      ok = app_parse_num(v, 0, 1023, &core);
    } else if (strcmp(a, "-f") == 0) {
      ok = (conf = v) != NULL;
    } else if (strcmp(a, "--port") == 0) {
      ok = app_parse_num(v, 1, 65535, &port);
    } else if (strcmp(a, "--conns") == 0) {
      ok = app_parse_num(v, 1, 10000000, &conns);
    } else if (strcmp(a, "--msgs") == 0) {
      ok = app_parse_num(v, 1, 100000000, &msgs);
    } else if (strcmp(a, "--size") == 0) {
      ok = app_parse_size(v, &size) && size >= 1 && size <= (64u << 20);
    } else {
      ok = false;
    }
    if (!ok) {
      fprintf(stderr, "echo: bad argument %s\n", a);
      usage(stderr);
      return 2;
    }
    i++;
  }
  uint32_t ip = 0;
  if (server == (peer != NULL) || (peer && !app_parse_ipv4(peer, &ip))) {
    usage(stderr);
    return 2;
  }
  int own_rt = utcp_init(conf) == 0; /* EALREADY: a launcher set the runtime up */
  if (!own_rt && errno != EALREADY) {
    fprintf(stderr, "echo: utcp_init: %s\n", strerror(errno));
    return 1;
  }
  struct utcp_ctx *ctx = utcp_create_context((int)core);
  int status = 1;
  if (ctx == NULL) {
    fprintf(stderr, "echo: utcp_create_context: %s\n", strerror(errno));
  } else {
    if (!server && wait_tries && app_wait_server(ctx, ip, (uint16_t)port, wait_tries) < 0)
      fprintf(stderr, "echo: no server: %s\n", strerror(errno));
    else
      status = server ? serve(ctx, (uint16_t)port, once, quiet)
                      : client(ctx, ip, (uint16_t)port, conns, msgs, size);
    utcp_destroy_context(ctx);
  }
  if (own_rt) utcp_destroy();
  return status;
}
