/* Classic libpcap files, written by hand: a 24-byte global header (magic 0xa1b2c3d4, version
 * 2.4, LINKTYPE_ETHERNET) and a 16-byte record header per frame, all little-endian. Virtual
 * time 0 is the Unix epoch; timestamps have microsecond resolution. */
#include <stdio.h>
#include <stdlib.h>

#include "sim.h"

#define PCAP_MAGIC 0xa1b2c3d4u
#define PCAP_SNAPLEN 65535u
#define LINKTYPE_ETHERNET 1u

struct sim_pcap {
  FILE *f;
  int failed;
};

static void put_u16(uint8_t *p, uint16_t v) {
  p[0] = (uint8_t)v;
  p[1] = (uint8_t)(v >> 8);
}

static void put_u32(uint8_t *p, uint32_t v) {
  for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}

static void write_all(struct sim_pcap *pcap, const void *p, size_t n) {
  if (n && fwrite(p, 1, n, pcap->f) != n) pcap->failed = 1;
}

struct sim_pcap *sim_pcap_open(const char *path) {
  FILE *f = fopen(path, "wb");
  if (!f) return NULL;
  struct sim_pcap *pcap = sim_xcalloc(1, sizeof *pcap);
  pcap->f = f;
  uint8_t h[24];
  put_u32(h, PCAP_MAGIC);
  put_u16(h + 4, 2); /* version 2.4 */
  put_u16(h + 6, 4);
  put_u32(h + 8, 0);  /* thiszone */
  put_u32(h + 12, 0); /* sigfigs */
  put_u32(h + 16, PCAP_SNAPLEN);
  put_u32(h + 20, LINKTYPE_ETHERNET);
  write_all(pcap, h, sizeof h);
  return pcap;
}

void sim_pcap_write(struct sim_pcap *pcap, uint64_t t_ns, const uint8_t *frame, size_t len) {
  size_t incl = len < PCAP_SNAPLEN ? len : PCAP_SNAPLEN;
  uint8_t h[16];
  put_u32(h, (uint32_t)(t_ns / SIM_NS_PER_S));
  put_u32(h + 4, (uint32_t)((t_ns % SIM_NS_PER_S) / SIM_NS_PER_US));
  put_u32(h + 8, (uint32_t)incl);
  put_u32(h + 12, (uint32_t)len);
  write_all(pcap, h, sizeof h);
  write_all(pcap, frame, incl);
}

int sim_pcap_close(struct sim_pcap *pcap) {
  if (!pcap) return 0;
  int failed = pcap->failed;
  if (fclose(pcap->f) != 0) failed = 1;
  free(pcap);
  return failed ? -1 : 0;
}
