/* The example applications. Each is an ordinary program written only against
 * the headers in include/utcp/ and libc: its logic is `int <app>_main(int argc, char **argv)`, run by a
 * tiny per-app `main` on real runtimes (apps/<app>_run.c, linked with utcp_rt_threads or
 * utcp_rt_dpdk) and as a coroutine by the simulator (`utcp-sim apps`, runtime utcp_rt_sim).
 * Nothing in them knows which runtime it runs on. */
#ifndef UTCP_APPS_APPS_H
#define UTCP_APPS_APPS_H

#include <stdbool.h>
#include <stddef.h>

int epserver_main(int argc, char **argv);
int epwget_main(int argc, char **argv);
int echo_main(int argc, char **argv);
int bulk_main(int argc, char **argv);

struct app_desc {
  const char *name;
  int (*main)(int argc, char **argv);
  /* Whether this command line runs a server that only stops when asked (the simulator stops
   * it once every other app has returned). */
  bool (*serves)(int argc, char **argv);
  const char *summary;
};

/* The applications by name (NULL when unknown), and the whole table. */
const struct app_desc *app_find(const char *name);
const struct app_desc *app_table(size_t *n);

#endif
