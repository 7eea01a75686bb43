/* utcp-apps: several apps in one process on a real runtime (linked with utcp_rt_threads):
 * app i runs in a thread of its own on core i (10.0.0.1 + i on the threaded runtime's
 * in-memory Ethernet), with `--core i` added to its arguments.
 *
 *   utcp-apps [-f CONFIG] "APP ARGS..." "APP ARGS..." ...
 *
 * The runtime is set up here (the file, UTCP_CONFIG, then num_cores = the number of apps);
 * each app's own utcp_init then reports EALREADY, which the apps take as "already set up".
 * Waits for every app that is not a server (apps/apps.h: app_desc.serves); servers have no
 * way to be stopped from outside on this runtime yet, so the process ends with them still
 * running. Exits with the first non-zero status of the apps it waited for. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app_util.h"
#include "apps.h"
#include "utcp/runtime.h"

#define MAX_APPS 64
#define MAX_ARGS 64

struct app_thread {
  const struct app_desc *d;
  int argc;
  char *argv[MAX_ARGS + 3];
  char core[16];
  char *line;
  int status;
  bool serves;
  pthread_t t;
};

static void *run(void *arg) {
  struct app_thread *a = arg;
  a->status = a->d->main(a->argc, a->argv);
  return NULL;
}

int main(int argc, char **argv) {
  const char *conf = NULL;
  static struct app_thread apps[MAX_APPS];
  int n = 0;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "-f") == 0 && i + 1 < argc) {
      conf = argv[++i];
      continue;
    }
    if (strcmp(argv[i], "--help") == 0 || n == MAX_APPS) {
      fprintf(stderr, "usage: utcp-apps [-f CONFIG] \"APP ARGS...\" ...  (app i on core i)\n");
      return 2;
    }
    struct app_thread *a = &apps[n];
    a->line = strdup(argv[i]);
    a->argc = a->line ? app_split_args(a->line, a->argv, MAX_ARGS) : -1;
    a->d = a->argc > 0 ? app_find(a->argv[0]) : NULL;
    if (a->d == NULL) {
      fprintf(stderr, "utcp-apps: %s: no such app\n", argv[i]);
      return 2;
    }
    snprintf(a->core, sizeof a->core, "%d", n);
    a->argv[a->argc++] = "--core";
    a->argv[a->argc++] = a->core;
    a->argv[a->argc] = NULL;
    a->serves = a->d->serves != NULL && a->d->serves(a->argc, a->argv);
    n++;
  }
  if (n == 0) {
    fprintf(stderr, "usage: utcp-apps [-f CONFIG] \"APP ARGS...\" ...  (app i on core i)\n");
    return 2;
  }
  struct utcp_rt_config cfg;
  char err[256];
  if (utcp_rt_config_read(conf, 0, NULL, &cfg, err, sizeof err) < 0) {
    fprintf(stderr, "utcp-apps: %s\n", err);
    return 2;
  }
  cfg.num_cores = n;
  if (utcp_init_config(&cfg) < 0) {
    fprintf(stderr, "utcp-apps: utcp_init_config: %s\n", strerror(errno));
    return 1;
  }
  for (int i = 0; i < n; i++) {
    if (pthread_create(&apps[i].t, NULL, run, &apps[i]) != 0) {
      fprintf(stderr, "utcp-apps: cannot start a thread\n");
      return 1;
    }
  }
  int status = 0;
  for (int i = 0; i < n; i++) {
    if (apps[i].serves) continue;
    pthread_join(apps[i].t, NULL);
    printf("utcp-apps: app %d (%s) on core %d returned %d\n", i + 1, apps[i].argv[0], i,
           apps[i].status);
    if (status == 0) status = apps[i].status;
  }
  fflush(stdout);
  return status;
}
