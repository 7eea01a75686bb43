/* The table of example applications (for runners such as `utcp-sim apps`). */
#include "apps.h"

#include <string.h>

#include "app_util.h"

bool epserver_serves(int argc, char **argv);

static bool serves_unless_once(int argc, char **argv, const char *server_flag) {
  return app_has_flag(argc, argv, server_flag) && !app_has_flag(argc, argv, "--once");
}

static bool echo_serves(int argc, char **argv) {
  return serves_unless_once(argc, argv, "--server");
}

static bool bulk_serves(int argc, char **argv) { return serves_unless_once(argc, argv, "--recv"); }

static const struct app_desc table[] = {
    {"epserver", epserver_main, epserver_serves, "HTTP/1.1 static file server (epoll)"},
    {"epwget", epwget_main, NULL, "HTTP load generator (epoll), checks every body byte"},
    {"echo", echo_main, echo_serves, "echo server and client (blocking sockets)"},
    {"bulk", bulk_main, bulk_serves, "iperf-like bulk sender and receiver (blocking sockets)"},
};

const struct app_desc *app_find(const char *name) {
  for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
    if (strcmp(table[i].name, name) == 0) return &table[i];
  return NULL;
}

const struct app_desc *app_table(size_t *n) {
  *n = sizeof table / sizeof table[0];
  return table;
}
