/* echo as a program of its own on a real runtime (linked with utcp_rt_threads, later
 * utcp_rt_dpdk): the same echo_main the simulator runs as a coroutine. */
#include "apps.h"

int main(int argc, char **argv) { return echo_main(argc, argv); }
