/* Internet checksum (RFC 1071) over 64 B, 1500 B and 64 KiB. */
#include <stdlib.h>

#include "core/cksum.h"
#include "ubench.h"

static void cksum_case(struct ubench_state *st) {
  size_t len = (size_t)ubench_arg(st);
  uint8_t *buf = malloc(len);
  for (size_t i = 0; i < len; i++) buf[i] = (uint8_t)(i * 131 + 7);
  ubench_bytes_per_op(st, (int64_t)len);
  while (ubench_run(st)) {
    ubench_use(buf);
    ubench_use_u64(utcp_cksum(buf, len));
  }
  free(buf);
}

void bench_register_cksum(void) {
  ubench_register("cksum/64", cksum_case, 64);
  ubench_register("cksum/1500", cksum_case, 1500);
  ubench_register("cksum/65536", cksum_case, 65536);
}
