#!/usr/bin/env bash
# Installs what is needed, builds, and runs the main job in the simulator: three hosts on a
# switch, ARP resolution and ICMP echoes across links with 10% loss, with pcap output.
# Extra arguments go to utcp-sim (e.g. --seed 7).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh debug
out=build/run
mkdir -p "$out"
build/bin/utcp-sim ping --hosts 3 --count 20 --pcap "$out" "$@"
echo "pcap files: $(ls "$out"/*.pcap | tr '\n' ' ')"
