/* wire: any bytes as Ethernet frames into the full receive path (Ethernet, ARP, IPv4, ICMP,
 * TCP) of a stack with one listener (port 80) and one established connection (peer
 * 10.0.0.2:40000, timestamps, SACK and window scaling agreed).
 *
 * Input: records of
 *   u8  ctl   bit 7: fix up the IPv4 and TCP/ICMP checksums before delivery (so mutations
 *             reach past the checksum checks; without it the bytes go in exactly as given);
 *             bits 0-5: advance virtual time by that many 10 ms steps first
 *   u16 len   frame length (big-endian), cut to what remains of the input
 *   len bytes the frame
 * After each frame the harness accepts pending connections and reads what is readable. The run
 * ends with the leak-checking teardown. */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

#define MAX_HANDLES 8

static struct fz_host host;
static uint8_t frame[UTCP_ETH_HLEN + 9100];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  struct fz_host *h = &host;
  struct utcp_stack_config cfg;
  fz_host_config(&cfg);
  if (!fz_host_init(h, &cfg)) fz_fail("default config refused");
  utcp_conn_t handles[MAX_HANDLES] = {0};
  struct utcp_tcp_opts opts = fz_wire_opts();
  handles[1] = fz_host_establish(h, FZ_PEER_PORT, FZ_WIRE_IRS, &opts, &handles[0]);
  if (handles[1] == 0) fz_fail("handshake failed");

  struct fz_in in = {data, size};
  while (fz_more(&in)) {
    uint8_t ctl = fz_u8(&in);
    size_t len = fz_u16(&in);
    const uint8_t *p;
    len = fz_bytes(&in, len < sizeof frame ? len : sizeof frame, &p);
    if (ctl & 0x3f) fz_host_advance(h, h->now + (uint64_t)(ctl & 0x3f) * 10 * FZ_MS);
    if (ctl & 0x80) {
      memcpy(frame, p, len);
      fz_fix_checksums(frame, len);
      fz_host_input(h, frame, len);
    } else {
      fz_host_input(h, p, len);
    }
    fz_host_events(h, 0);
    for (int i = 2; i < MAX_HANDLES; i++) {
      if (handles[i] == 0 && utcp_tcp_accept(h->s, handles[0], &handles[i]) != 0) break;
    }
    for (int i = 1; i < MAX_HANDLES; i++) {
      uint8_t buf[4096];
      if (handles[i] != 0) (void)utcp_tcp_recv(h->s, handles[i], buf, sizeof buf, false, h->now);
    }
  }
  fz_host_teardown(h, handles, MAX_HANDLES);
  return 0;
}
