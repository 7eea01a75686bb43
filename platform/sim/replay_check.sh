#!/bin/sh
# Runs a utcp-sim scenario, then the `replay:` command line it printed, and checks that both
# runs pass and give the same trace hash.  usage: replay_check.sh UTCP_SIM ARGS...
set -u
sim=$1
shift
out1=$("$sim" "$@") || { echo "$out1"; echo "FAIL: first run failed"; exit 1; }
hash1=$(echo "$out1" | sed -n 's/^trace-hash: //p')
replay=$(echo "$out1" | sed -n 's/^replay: utcp-sim //p')
[ -n "$hash1" ] && [ -n "$replay" ] || { echo "$out1"; echo "FAIL: no trace-hash or replay line"; exit 1; }
# shellcheck disable=SC2086 # the replay line is a list of words
out2=$("$sim" $replay) || { echo "$out2"; echo "FAIL: the replay failed"; exit 1; }
hash2=$(echo "$out2" | sed -n 's/^trace-hash: //p')
echo "run:    $hash1"
echo "replay: $hash2 ($replay)"
[ "$hash1" = "$hash2" ] || { echo "FAIL: the replay gave another trace hash"; exit 1; }
