/* The core's assertion hook for the real runtimes (utcp_rt_threads): print and abort. */
#include <stdio.h>
#include <stdlib.h>

#include "core/assert.h"

_Noreturn void utcp_assert_fail(const char *expr, const char *file, int line) {
  fflush(stdout);
  fprintf(stderr, "%s:%d: assertion failed: %s\n", file, line, expr);
  abort();
}
