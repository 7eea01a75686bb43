/* utcp backend of utcp-bench: two contexts (client 10.0.0.1, server 10.0.0.2) in one thread,
 * joined by in-memory links. The transmit sink hands the stack a slot of the link's ring
 * directly, so a frame is written once by the sender and read once by the receiver; `pump`
 * delivers what each side sent to the other and runs both contexts' timers and events. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include "macro.h"
#include "utcp/epoll.h"
#include "utcp/utcp.h"

#define RING_FRAMES 8192u

struct ring {
  uint8_t *slots;
  uint32_t *len;
  uint32_t head, count, slot_size;
};

struct side {
  struct impl *im;
  int idx;
  struct utcp_ctx *ctx;
  int ep;
  uint64_t allocated, pool_bytes;
};

struct impl {
  struct side side[2];
  struct ring ring[2]; /* ring[i]: frames sent by side i */
  uint64_t now;
};

static void *mem_alloc(void *arg, size_t size) {
  struct side *s = arg;
  void *p = calloc(1, size);
  if (p == NULL) return NULL;
  /* Touch every page now, as a DPDK platform's hugepages are: page faults during a run would
   * be measured as the stack's cost (calloc's fresh pages are only mapped on first write). */
  memset(p, 0, size);
  s->allocated += size;
  return p;
}

static void mem_free(void *arg, void *p, size_t size) {
  struct side *s = arg;
  s->allocated -= size;
  free(p);
}

static uint8_t *sink_alloc(void *arg, size_t cap) {
  struct side *s = arg;
  struct ring *r = &s->im->ring[s->idx];
  if (cap > r->slot_size || r->count == RING_FRAMES) return NULL;
  return r->slots + (size_t)((r->head + r->count) % RING_FRAMES) * r->slot_size;
}

static void sink_commit(void *arg, uint8_t *buf, size_t len) {
  struct side *s = arg;
  struct ring *r = &s->im->ring[s->idx];
  (void)buf;
  if (len == 0) return;
  r->len[(r->head + r->count) % RING_FRAMES] = (uint32_t)len;
  r->count++;
}

static uint64_t hook_now(void *arg) { return ((struct side *)arg)->im->now; }

static struct impl *im_of(struct mb_be *be) { return be->impl; }

static int be_socket(struct mb_be *be, int side) {
  return utcp_socket(im_of(be)->side[side].ctx, AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
}

static int be_listen(struct mb_be *be, int fd, uint16_t port, int backlog) {
  struct utcp_ctx *ctx = im_of(be)->side[MB_SERVER].ctx;
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
  if (utcp_bind(ctx, fd, (struct sockaddr *)&a, sizeof a) != 0) return -1;
  return utcp_listen(ctx, fd, backlog);
}

static int be_connect(struct mb_be *be, int fd, uint16_t port, uint16_t lport) {
  struct utcp_ctx *ctx = im_of(be)->side[MB_CLIENT].ctx;
  if (lport != 0) {
    /* The same local port toward different server ports, as SO_REUSEADDR allows on Linux. */
    int one = 1;
    utcp_setsockopt(ctx, fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in l = {.sin_family = AF_INET, .sin_port = htons(lport)};
    if (utcp_bind(ctx, fd, (struct sockaddr *)&l, sizeof l) != 0) return -1;
  }
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port),
                          .sin_addr.s_addr = htonl(0x0a000002u)};
  return utcp_connect(ctx, fd, (struct sockaddr *)&a, sizeof a);
}

static int be_accept(struct mb_be *be, int lfd) {
  return utcp_accept4(im_of(be)->side[MB_SERVER].ctx, lfd, NULL, NULL, SOCK_NONBLOCK);
}

static ssize_t be_read(struct mb_be *be, int side, int fd, void *buf, size_t len) {
  return utcp_read(im_of(be)->side[side].ctx, fd, buf, len);
}

static ssize_t be_write(struct mb_be *be, int side, int fd, const void *buf, size_t len) {
  return utcp_write(im_of(be)->side[side].ctx, fd, buf, len);
}

static int be_close(struct mb_be *be, int side, int fd) {
  return utcp_close(im_of(be)->side[side].ctx, fd);
}

static int be_linger0(struct mb_be *be, int side, int fd) {
  struct linger lg = {.l_onoff = 1, .l_linger = 0};
  return utcp_setsockopt(im_of(be)->side[side].ctx, fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
}

static int ep_ctl(struct mb_be *be, int op, int side, int fd, uint32_t events, uint64_t data) {
  struct side *s = &im_of(be)->side[side];
  struct epoll_event ev = {.events = events, .data.u64 = data};
  return utcp_epoll_ctl(s->ctx, s->ep, op, fd, &ev);
}

static int be_ep_add(struct mb_be *be, int side, int fd, uint32_t events, uint64_t data) {
  return ep_ctl(be, EPOLL_CTL_ADD, side, fd, events, data);
}

static int be_ep_mod(struct mb_be *be, int side, int fd, uint32_t events, uint64_t data) {
  return ep_ctl(be, EPOLL_CTL_MOD, side, fd, events, data);
}

static void deliver(struct impl *im, int from) {
  struct ring *r = &im->ring[from];
  struct utcp_ctx *to = im->side[!from].ctx;
  uint32_t n = r->count;
  for (uint32_t i = 0; i < n; i++) {
    uint32_t slot = r->head;
    utcp_ctx_input(to, r->slots + (size_t)slot * r->slot_size, r->len[slot], im->now);
    r->head = (r->head + 1) % RING_FRAMES;
    r->count--;
  }
  /* Start over at slot 0 whenever the ring drains, as a NIC driver's per-core buffer cache
   * hands back the buffers it just freed: the next frames are written into cache-hot slots. */
  if (r->count == 0) r->head = 0;
}

static void be_pump(struct mb_be *be) {
  struct impl *im = im_of(be);
  im->now = mb_now_ns();
  deliver(im, 0);
  deliver(im, 1);
  utcp_ctx_poll(im->side[0].ctx, im->now);
  utcp_ctx_poll(im->side[1].ctx, im->now);
}

static int be_ep_wait(struct mb_be *be, struct mb_event *out, int max) {
  struct impl *im = im_of(be);
  struct epoll_event ev[256];
  int n = 0;
  for (int side = 0; side < 2 && n < max; side++) {
    int want = max - n < 256 ? max - n : 256;
    int k = utcp_epoll_wait(im->side[side].ctx, im->side[side].ep, ev, want, 0);
    for (int i = 0; i < k; i++) {
      out[n].events = ev[i].events;
      out[n].data = ev[i].data.u64;
      n++;
    }
  }
  return n;
}

static uint64_t be_mem(struct mb_be *be, int side, uint64_t *buffers) {
  struct side *s = &im_of(be)->side[side];
  if (buffers != NULL) *buffers = s->pool_bytes;
  return s->allocated;
}

static void be_free(struct mb_be *be) {
  struct impl *im = im_of(be);
  for (int i = 0; i < 2; i++) {
    utcp_ctx_free(im->side[i].ctx);
    free(im->ring[i].slots);
    free(im->ring[i].len);
  }
  free(im);
  free(be);
}

int mb_be_utcp_new(const struct mb_be_config *cfg, struct mb_be **out) {
  struct impl *im = calloc(1, sizeof *im);
  struct mb_be *be = calloc(1, sizeof *be);
  if (im == NULL || be == NULL) goto fail;
  uint32_t mtu = cfg->mtu ? cfg->mtu : 1500;
  im->now = mb_now_ns();
  for (int i = 0; i < 2; i++) {
    struct ring *r = &im->ring[i];
    r->slot_size = (mtu + 14 + 63) & ~63u;
    r->slots = malloc((size_t)RING_FRAMES * r->slot_size);
    r->len = calloc(RING_FRAMES, sizeof *r->len);
    if (r->slots == NULL || r->len == NULL) goto fail;
  }
  for (int i = 0; i < 2; i++) {
    struct side *s = &im->side[i];
    s->im = im;
    s->idx = i;
    struct utcp_ctx_config c;
    utcp_ctx_config_default(&c);
    struct utcp_stack_config *sc = &c.stack;
    sc->mac = (struct utcp_mac){{0x02, 0, 0, 0, 0, (uint8_t)(i + 1)}};
    sc->ip = 0x0a000001u + (uint32_t)i;
    sc->netmask = 0xffffff00u;
    sc->mtu = (uint16_t)mtu;
    sc->seed = 42 + (uint64_t)i;
    for (int k = 0; k < 16; k++) sc->isn_key[k] = (uint8_t)(k * 13 + i);
    sc->static_arp_count = 1;
    sc->static_arp[0].ip = 0x0a000001u + (uint32_t)!i;
    sc->static_arp[0].mac = (struct utcp_mac){{0x02, 0, 0, 0, 0, (uint8_t)(!i + 1)}};
    sc->tcp.max_conns = cfg->max_conns + 64;
    sc->tcp.syn_backlog = cfg->max_conns + 64;
    sc->tcp.chunks = cfg->chunks ? cfg->chunks : 16384;
    sc->tcp.reass_nodes = 4096;
    /* The link acts as a NIC pair with TCP checksum offload, as DPDK deployments use it (and as
     * Linux's loopback, which sums nothing): the sender leaves the checksum to the "NIC", the
     * receiver trusts it. The simulator never does this. */
    sc->rx_l4_cksum_checked = true;
    sc->tx_l4_cksum_offload = true;
    if (cfg->bufsize) sc->tcp.sndbuf_bytes = sc->tcp.rcvbuf_bytes = cfg->bufsize;
    if (cfg->msl_ms) sc->tcp.msl_ns = (uint64_t)cfg->msl_ms * 1000000ull;
    c.max_fds = cfg->max_conns + 64;
    c.max_epoll_items = cfg->max_conns + 64;
    s->pool_bytes = (uint64_t)sc->tcp.chunks * 2048u;
    struct utcp_mem mem = {.ctx = s, .alloc = mem_alloc, .free = mem_free};
    struct utcp_tx_sink sink = {.ctx = s, .alloc = sink_alloc, .commit = sink_commit};
    struct utcp_platform plat = {.arg = s, .now = hook_now};
    if (utcp_ctx_new(&c, &mem, &sink, &plat, im->now, &s->ctx) != 0) goto fail;
    s->ep = utcp_epoll_create1(s->ctx, 0);
    if (s->ep < 0) goto fail;
  }
  be->name = "utcp";
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
fail:
  if (im != NULL) {
    for (int i = 0; i < 2; i++) {
      utcp_ctx_free(im->side[i].ctx);
      free(im->ring[i].slots);
      free(im->ring[i].len);
    }
  }
  free(im);
  free(be);
  errno = ENOMEM;
  return -1;
}
