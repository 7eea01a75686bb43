/* The canary: a target with a planted bug that afl-fuzz must find within a minute, proving
 * that instrumentation, persistent mode, the sanitizers and crash detection all work. The input
 * is parsed as a TCP segment by the real parser; a segment whose first four payload bytes spell
 * "BUG!" (compared one byte at a time, so coverage guides AFL to it) makes the harness write
 * past the end of a heap buffer, which AddressSanitizer reports. fuzz/dict/canary.dict holds the
 * word, so afl-fuzz finds it in a second or two even on a loaded machine (without it, a 60 s
 * smoke run next to other work missed it once). Never a regression input: the
 * replay of its seed corpus must pass, and scripts/fuzz-smoke.sh requires it to crash. */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  struct utcp_seg seg;
  if (utcp_tcp_parse(data, size, FZ_PEER_IP, FZ_LOCAL_IP, false, &seg) != UTCP_DROP_NONE) return 0;
  if (seg.len < 4) return 0;
  uint8_t *copy = malloc(seg.len);
  if (copy == NULL) return 0;
  memcpy(copy, seg.payload, seg.len);
  if (seg.payload[0] == 'B') {
    if (seg.payload[1] == 'U') {
      if (seg.payload[2] == 'G') {
        if (seg.payload[3] == '!') {
          /* The planted bug: one byte past the buffer. Volatile, or the compiler may drop the
           * store to a block about to be freed (gcc -O1 does: the replay build never saw it). */
          ((volatile uint8_t *)copy)[seg.len] = 0;
        }
      }
    }
  }
  free(copy);
  return 0;
}
