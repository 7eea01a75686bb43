#!/bin/sh
# The broken build (utcp-sim-broken, core compiled with UTCP_BREAK_SKIP_REXMT) must fail the
# swarm, and each failure must print a replay line that, run again, fails the same way with the
# same trace hash.  usage: swarm_broken_check.sh UTCP_SIM_BROKEN
set -u
sim=$1
out=$("$sim" swarm --seeds 1..40 transfer)
rc=$?
echo "$out" | grep -v '^seed .* -> ok' # the failures and the summary
[ "$rc" -ne 0 ] || { echo "FAIL: the swarm passed the broken build (exit $rc)"; exit 1; }
[ "$rc" -eq 1 ] || { echo "FAIL: the swarm exited $rc, not 1"; exit 1; }
replay=$(echo "$out" | sed -n 's/^replay: utcp-sim //p' | head -n 1)
[ -n "$replay" ] || { echo "FAIL: no replay line"; exit 1; }
seed=$(echo "$replay" | sed -n 's/.*--seed \([0-9]*\).*/\1/p')
hash=$(echo "$out" | sed -n "s/^seed $seed: .* -> FAIL trace-hash \([0-9a-f]*\)\$/\1/p")
# shellcheck disable=SC2086 # the replay line is a list of words
rout=$("$sim" $replay)
rrc=$?
rhash=$(echo "$rout" | sed -n 's/^trace-hash: //p')
echo "replay: exit $rrc, trace-hash $rhash (swarm: $hash): $replay"
[ "$rrc" -eq 1 ] || { echo "$rout"; echo "FAIL: the replay did not fail"; exit 1; }
[ -n "$hash" ] && [ "$hash" = "$rhash" ] || { echo "FAIL: the replay gave another trace hash"; exit 1; }
echo "ok: the broken build was caught and its replay line reproduces the failure"
