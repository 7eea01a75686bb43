/* A tiny test harness: each tests/test_<module>.c defines TEST(name) functions and a
 * TEST_MAIN listing them. A failed CHECK prints file:line and the expression, and the test
 * continues to its end; the program exits non-zero if any check failed. Output ends with the
 * plain line "N passed, N failed". */
#ifndef UTCP_TESTS_TEST_H
#define UTCP_TESTS_TEST_H

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern int test_failures_;
int test_failures_;

#define CHECK(e)                                                                  \
  do {                                                                            \
    if (!(e)) {                                                                   \
      fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #e);      \
      test_failures_++;                                                           \
    }                                                                             \
  } while (0)

#define CHECK_EQ(a, b)                                                            \
  do {                                                                            \
    long long a_ = (long long)(a), b_ = (long long)(b);                           \
    if (a_ != b_) {                                                               \
      fprintf(stderr, "%s:%d: CHECK_EQ failed: %s == %s (%lld vs %lld)\n",        \
              __FILE__, __LINE__, #a, #b, a_, b_);                                \
      test_failures_++;                                                           \
    }                                                                             \
  } while (0)

/* Stops the current test (for a precondition the rest depends on). */
#define REQUIRE(e)                                                                \
  do {                                                                            \
    if (!(e)) {                                                                   \
      fprintf(stderr, "%s:%d: REQUIRE failed: %s\n", __FILE__, __LINE__, #e);    \
      test_failures_++;                                                           \
      return;                                                                     \
    }                                                                             \
  } while (0)

#define TEST(name) static void name(void)

struct test_case_ {
  const char *name;
  void (*fn)(void);
};

#define TEST_CASE(fn) {#fn, fn}

/* Runs every case, or only those whose name contains argv[1]. */
#define TEST_MAIN(...)                                                            \
  int main(int argc, char **argv) {                                               \
    static const struct test_case_ cases_[] = {__VA_ARGS__};                      \
    int passed = 0, failed = 0;                                                   \
    for (size_t i = 0; i < sizeof cases_ / sizeof cases_[0]; i++) {               \
      if (argc > 1 && !strstr(cases_[i].name, argv[1])) continue;                 \
      int before = test_failures_;                                                \
      cases_[i].fn();                                                             \
      if (test_failures_ == before) {                                             \
        passed++;                                                                 \
      } else {                                                                    \
        failed++;                                                                 \
        fprintf(stderr, "FAIL %s\n", cases_[i].name);                             \
      }                                                                           \
    }                                                                             \
    printf("%d passed, %d failed\n", passed, failed);                             \
    return failed ? 1 : 0;                                                        \
  }

#endif
