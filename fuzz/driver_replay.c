/* The plain (non-AFL) driver: runs the harness once per input file; a directory argument means
 * every regular file in it, in name order. Used by ctest to replay corpora and regression
 * inputs under ASan/UBSan, and by hand to reproduce a crash:
 *   build/bin/fuzz_tcb_replay fuzz/regressions/tcb/some-crash
 * In the AFL build the same code serves `fuzz_<target> FILE...` (see driver_afl.c). */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

int fz_replay_main(int argc, char **argv);

static int run_file(const char *path) {
  FILE *f = fopen(path, "rb");
  if (f == NULL) {
    perror(path);
    return -1;
  }
  size_t cap = 1 << 16, len = 0;
  uint8_t *buf = malloc(cap);
  size_t n;
  while (buf != NULL && (n = fread(buf + len, 1, cap - len, f)) > 0) {
    len += n;
    if (len == cap) {
      cap *= 2;
      uint8_t *nb = realloc(buf, cap);
      if (nb == NULL) free(buf);
      buf = nb;
    }
  }
  fclose(f);
  if (buf == NULL) {
    fprintf(stderr, "%s: out of memory\n", path);
    return -1;
  }
  /* An exact-size copy, so that ASan sees a read past the input. */
  uint8_t *exact = malloc(len ? len : 1);
  if (exact == NULL) {
    free(buf);
    return -1;
  }
  memcpy(exact, buf, len);
  free(buf);
  fprintf(stderr, "replay %s (%zu bytes)\n", path, len);
  LLVMFuzzerTestOneInput(exact, len);
  free(exact);
  return 0;
}

static int cmp_names(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static int run_path(const char *path, unsigned *count) {
  struct stat st;
  if (stat(path, &st) != 0) {
    perror(path);
    return -1;
  }
  if (!S_ISDIR(st.st_mode)) {
    (*count)++;
    return run_file(path);
  }
  DIR *d = opendir(path);
  if (d == NULL) {
    perror(path);
    return -1;
  }
  char **names = NULL;
  size_t n = 0, cap = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (e->d_name[0] == '.') continue; /* ., .., .gitkeep, README-like dot files */
    if (n == cap) {
      cap = cap ? cap * 2 : 64;
      char **nn = realloc(names, cap * sizeof *names);
      if (nn == NULL) break;
      names = nn;
    }
    size_t l = strlen(path) + strlen(e->d_name) + 2;
    names[n] = malloc(l);
    if (names[n] == NULL) break;
    snprintf(names[n], l, "%s/%s", path, e->d_name);
    n++;
  }
  closedir(d);
  if (n > 0) qsort(names, n, sizeof *names, cmp_names);
  int rc = 0;
  for (size_t i = 0; i < n; i++) {
    if (stat(names[i], &st) == 0 && S_ISREG(st.st_mode)) {
      (*count)++;
      if (run_file(names[i]) != 0) rc = -1;
    }
    free(names[i]);
  }
  free(names);
  return rc;
}

int fz_replay_main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s FILE|DIR...\n", argv[0]);
    return 2;
  }
  unsigned count = 0;
  int rc = 0;
  for (int i = 1; i < argc; i++)
    if (run_path(argv[i], &count) != 0) rc = 1;
  fprintf(stderr, "%s: %u inputs replayed\n", argv[0], count);
  return rc;
}

#ifndef UTCP_FUZZ_NO_MAIN
int main(int argc, char **argv) { return fz_replay_main(argc, argv); }
#endif
