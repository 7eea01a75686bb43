/* utcp-sim: the deterministic simulator's command line. */
#include <stdio.h>
#include <string.h>

#include "apps_cmd.h"
#include "attack.h"
#include "pkt.h"
#include "scenario.h"

static void usage(FILE *out) {
  fprintf(out,
          "usage: utcp-sim <command> [options]\n"
          "commands:\n"
          "  ping    hosts on a switch ping each other over lossy links\n"
          "  pkt     run packetdrill-syntax scripts (*.pkt) against one stack\n"
          "  transfer  bulk TCP transfer between two stacks over a faulty link\n"
          "  churn   many short TCP connections, one after another or all at once\n"
          "  swarm   run a scenario over a range of seeds, each drawing its own faults\n"
          "  run     run scenario files (*.scn) or a directory of them\n"
          "  apps    unmodified apps (epserver, epwget, echo, bulk) as coroutines on hosts\n"
          "  attack  a raw-frame attacker against a server and real clients (synflood, blind...)\n"
          "  help    this text; `utcp-sim <command> --help` describes a command\n"
          "Every run is a function of its options and --seed; each prints its trace hash\n"
          "and the command line that replays it.\n\n");
  sim_ping_usage(out);
  fprintf(out, "\n");
  sim_transfer_usage(out);
  fprintf(out, "\n");
  sim_swarm_usage(out);
  fprintf(out, "\n");
  sim_run_usage(out);
  fprintf(out, "\n");
  sim_attack_usage(out);
#ifndef UTCP_SIM_NO_APPS
  fprintf(out, "\n");
  sim_apps_usage(out);
#endif
}

int main(int argc, char **argv) {
  if (argc < 2) {
    usage(stderr);
    return 2;
  }
  const char *cmd = argv[1];
  if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
    usage(stdout);
    return 0;
  }
  if (strcmp(cmd, "ping") == 0) return sim_ping_main(argc - 1, argv + 1);
  if (strcmp(cmd, "pkt") == 0) return sim_pkt_main(argc - 1, argv + 1);
  if (strcmp(cmd, "transfer") == 0) return sim_transfer_main(argc - 1, argv + 1);
  if (strcmp(cmd, "churn") == 0) return sim_churn_main(argc - 1, argv + 1);
  if (strcmp(cmd, "swarm") == 0) return sim_swarm_main(argc - 1, argv + 1);
  if (strcmp(cmd, "run") == 0) return sim_run_main(argc - 1, argv + 1);
  if (strcmp(cmd, "attack") == 0) return sim_attack_main(argc - 1, argv + 1);
#ifndef UTCP_SIM_NO_APPS
  if (strcmp(cmd, "apps") == 0) return sim_apps_main(argc - 1, argv + 1);
#endif
  fprintf(stderr, "utcp-sim: unknown command %s\n", cmd);
  usage(stderr);
  return 2;
}
