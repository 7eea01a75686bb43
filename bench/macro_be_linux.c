/* Linux backend of utcp-bench: kernel TCP over loopback (127.0.0.1), both ends in this process,
 * one epoll instance for both sides (the same thread runs both ends, as utcp's backend does). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "macro.h"

struct impl {
  int ep;
  uint16_t port_base;
};

static struct impl *im_of(struct mb_be *be) { return be->impl; }

static int be_socket(struct mb_be *be, int side) {
  (void)be;
  (void)side;
  return socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
}

static int be_listen(struct mb_be *be, int fd, uint16_t port, int backlog) {
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in a = {.sin_family = AF_INET,
                          .sin_port = htons((uint16_t)(im_of(be)->port_base + port)),
                          .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0) return -1;
  return listen(fd, backlog);
}

static int be_connect(struct mb_be *be, int fd, uint16_t port, uint16_t lport) {
  if (lport != 0) {
    struct sockaddr_in l = {.sin_family = AF_INET, .sin_port = htons(lport),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (bind(fd, (struct sockaddr *)&l, sizeof l) != 0) return -1;
  }
  struct sockaddr_in a = {.sin_family = AF_INET,
                          .sin_port = htons((uint16_t)(im_of(be)->port_base + port)),
                          .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  return connect(fd, (struct sockaddr *)&a, sizeof a);
}

static int be_accept(struct mb_be *be, int lfd) {
  (void)be;
  return accept4(lfd, NULL, NULL, SOCK_NONBLOCK);
}

static ssize_t be_read(struct mb_be *be, int side, int fd, void *buf, size_t len) {
  (void)be;
  (void)side;
  return read(fd, buf, len);
}

static ssize_t be_write(struct mb_be *be, int side, int fd, const void *buf, size_t len) {
  (void)be;
  (void)side;
  return send(fd, buf, len, MSG_NOSIGNAL);
}

static int be_close(struct mb_be *be, int side, int fd) {
  (void)be;
  (void)side;
  return close(fd);
}

static int be_linger0(struct mb_be *be, int side, int fd) {
  (void)be;
  (void)side;
  struct linger lg = {.l_onoff = 1, .l_linger = 0};
  return setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
}

static int be_ep_add(struct mb_be *be, int side, int fd, uint32_t events, uint64_t data) {
  (void)side;
  struct epoll_event ev = {.events = events, .data.u64 = data};
  return epoll_ctl(im_of(be)->ep, EPOLL_CTL_ADD, fd, &ev);
}

static int be_ep_mod(struct mb_be *be, int side, int fd, uint32_t events, uint64_t data) {
  (void)side;
  struct epoll_event ev = {.events = events, .data.u64 = data};
  return epoll_ctl(im_of(be)->ep, EPOLL_CTL_MOD, fd, &ev);
}

static void be_pump(struct mb_be *be) { (void)be; }

static int be_ep_wait(struct mb_be *be, struct mb_event *out, int max) {
  struct epoll_event ev[256];
  int n = epoll_wait(im_of(be)->ep, ev, max < 256 ? max : 256, 0);
  for (int i = 0; i < n; i++) {
    out[i].events = ev[i].events;
    out[i].data = ev[i].data.u64;
  }
  return n < 0 ? 0 : n;
}

static uint64_t be_mem(struct mb_be *be, int side, uint64_t *buffers) {
  (void)be;
  (void)side;
  if (buffers != NULL) *buffers = 0;
  return 0;
}

static void be_free(struct mb_be *be) {
  close(im_of(be)->ep);
  free(be->impl);
  free(be);
}

int mb_be_linux_new(const struct mb_be_config *cfg, struct mb_be **out) {
  struct impl *im = calloc(1, sizeof *im);
  struct mb_be *be = calloc(1, sizeof *be);
  if (im == NULL || be == NULL) {
    free(im);
    free(be);
    errno = ENOMEM;
    return -1;
  }
  im->ep = epoll_create1(0);
  im->port_base = (uint16_t)(cfg->port_base ? cfg->port_base : 20000);
  be->name = "linux";
  be->impl = im;
  be->socket = be_socket;
  be->listen = be_listen;
  be->connect = be_connect;
  be->accept = be_accept;
  be->read = be_read;
  be->write = be_write;
  be->close = be_close;
  be->linger0 = be_linger0;
  be->ep_add = be_ep_add;
  be->ep_mod = be_ep_mod;
  be->pump = be_pump;
  be->ep_wait = be_ep_wait;
  be->mem_bytes = be_mem;
  be->free = be_free;
  *out = be;
  return 0;
}
