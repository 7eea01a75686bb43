/* AFL++ persistent-mode driver (afl-clang-fast): the test case arrives in shared memory and
 * one process runs many of them (__AFL_LOOP). Given file arguments it replays them instead,
 * like the plain driver. */
#include <stdio.h>
#include <unistd.h>

#include "fuzz.h"

int fz_replay_main(int argc, char **argv);

#ifndef __AFL_FUZZ_TESTCASE_LEN
#error "driver_afl.c must be built with afl-clang-fast (or afl-clang-lto)"
#endif

__AFL_FUZZ_INIT();

int main(int argc, char **argv) {
  if (argc > 1) return fz_replay_main(argc, argv);
  __AFL_INIT();
  const uint8_t *buf = __AFL_FUZZ_TESTCASE_BUF;
  while (__AFL_LOOP(10000)) {
    size_t len = (size_t)__AFL_FUZZ_TESTCASE_LEN;
    LLVMFuzzerTestOneInput(buf, len);
  }
  return 0;
}
