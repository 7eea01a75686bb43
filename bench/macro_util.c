#include <time.h>
#include <x86intrin.h>

#include "macro.h"

uint64_t mb_tsc(void) { return __rdtsc(); }

static uint64_t mono_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static double tsc_hz;
static uint64_t tsc0;

double mb_tsc_hz(void) {
  if (tsc_hz == 0) {
    uint64_t t0 = mono_ns(), c0 = __rdtsc();
    while (mono_ns() - t0 < 50000000ull) {
    }
    uint64_t t1 = mono_ns(), c1 = __rdtsc();
    tsc_hz = (double)(c1 - c0) * 1e9 / (double)(t1 - t0);
    tsc0 = c1;
  }
  return tsc_hz;
}

/* ns = ticks * mult >> 32, with mult fixed once: the platform clock the stacks read on every
 * loop iteration should not cost a floating-point division. */
static uint64_t ns_mult;

uint64_t mb_now_ns(void) {
  if (ns_mult == 0) ns_mult = (uint64_t)(1e9 * 4294967296.0 / mb_tsc_hz());
  unsigned __int128 ns = (unsigned __int128)(__rdtsc() - tsc0) * ns_mult;
  return (uint64_t)(ns >> 32) + 1000000000ull;
}
