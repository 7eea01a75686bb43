/* `utcp-sim apps` (apps_cmd.c): unmodified applications as coroutines on simulated hosts. */
#ifndef UTCP_PLATFORM_SIM_APPS_CMD_H
#define UTCP_PLATFORM_SIM_APPS_CMD_H

#include <stdio.h>

/* Takes the arguments after the subcommand (argv[0] is "apps"); returns the exit status. */
int sim_apps_main(int argc, char **argv);
/* Prints the options of `utcp-sim apps`. */
void sim_apps_usage(FILE *out);

#endif
