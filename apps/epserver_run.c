/* epserver as a program of its own on a real runtime (linked with utcp_rt_threads, later
 * utcp_rt_dpdk): the same epserver_main the simulator runs as a coroutine. */
#include "apps.h"

int main(int argc, char **argv) { return epserver_main(argc, argv); }
