/* Flow lookup (the 4-tuple hash) with 1K and 1M connections in one stack. The connections are
 * real TCBs in SYN-SENT (opened by the stack toward the scripted peer on distinct ports and
 * addresses, explicit local ports); each lookup finds one of them, in a scattered order. */
#include <stdlib.h>

#include "bench/fixture.h"
#include "core/tcp_impl.h"
#include "ubench.h"

struct tuple {
  uint32_t raddr;
  uint16_t lport, rport;
};

static void lookup_case(struct ubench_state *st) {
  uint32_t n = (uint32_t)ubench_arg(st);
  struct utcp_stack_config cfg;
  bf_config(&cfg, n + 16);
  cfg.tcp.chunks = 64;
  cfg.tcp.syn_retries = 6;
  /* Peers spread over 10.1.0.0/16 via a gateway so that ARP is one static entry. */
  cfg.netmask = 0xffffff00u;
  cfg.gateway = BF_PEER_IP;
  struct bf *b = bf_new(&cfg);
  struct tuple *t = calloc(n, sizeof *t);
  if (b == NULL || t == NULL) {
    ubench_fail(st, "set-up failed (memory)");
    free(t);
    bf_free(b);
    return;
  }
  for (uint32_t i = 0; i < n; i++) {
    t[i].raddr = 0x0a010000u + (i / 60000);
    t[i].rport = 80;
    t[i].lport = (uint16_t)(1024 + i % 60000);
    utcp_conn_t c;
    if (utcp_tcp_connect(b->s, t[i].raddr, t[i].rport, t[i].lport, b->now, &c) != 0) {
      ubench_fail(st, "connect failed");
      free(t);
      bf_free(b);
      return;
    }
    if ((i & 4095) == 0) bf_drain_events(b);
  }
  bf_drain_events(b);
  uint32_t k = 0, found = 0;
  while (ubench_run(st)) {
    const struct tuple *x = &t[k];
    k = (k + 40503u) % n;
    struct utcp_tcb *tcb = utcp_tcb_lookup(b->s, BF_LOCAL_IP, x->lport, x->raddr, x->rport);
    found += tcb != NULL;
    ubench_use(tcb);
  }
  if (found == 0) ubench_fail(st, "lookups found nothing");
  free(t);
  bf_free(b);
}

void bench_register_flow(void) {
  ubench_register("flow_lookup/1000", lookup_case, 1000);
  ubench_register("flow_lookup/1000000", lookup_case, 1000000);
}
