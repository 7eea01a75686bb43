#!/usr/bin/env bash
# Installs what is needed, builds, and runs the main job in the deterministic simulator: the
# unmodified apps epserver (HTTP/1.1 file server) and epwget (load generator) on two hosts
# across a link with 5 ms delay, 100 Mbit/s and 1% loss each way. epwget sends 2000 keep-alive
# requests over 200 connections, prints a progress line per virtual second and a summary
# (requests/s, errors, latency p50/p99/p999, every body byte checked). The run writes the pcap
# of the link and the cwnd/RTT trace and plots of one connection per host.
# Extra arguments go to `utcp-sim apps` (e.g. --seed 7, --loss 2/100).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh debug
out=build/run
rm -rf "$out/pcap" "$out/trace"
mkdir -p "$out/pcap" "$out/trace" "$out/www"
printf '<html><body>utcp epserver</body></html>\n' >"$out/www/index.html"
status=0
build/bin/utcp-sim apps --seed 1 --delay-ms 5 --rate-mbps 100 --loss 1/100 \
  --pcap "$out/pcap" --trace "$out/trace" \
  --host server "epserver --root $out/www --gen" \
  --host client "epwget --url http://10.0.0.1/gen/65536 --requests 2000 --concurrency 200 --keepalive" \
  "$@" || status=$?
echo
echo "pcap (tcpdump -r / wireshark): $(ls "$out"/pcap/*.pcap | tr '\n' ' ')"
plots=$(ls "$out"/trace/*-cwnd.png "$out"/trace/*-rtt.png 2>/dev/null | tr '\n' ' ' || true)
echo "cwnd/RTT traces: $out/trace/*.csv; plots: ${plots:-none (gnuplot missing)}"
echo "more: build/bin/utcp-sim --help; apps/README.md"
exit $status
