#!/bin/sh
# The broken build (utcp-sim-broken: an RTO skips the earliest unacknowledged segment) must
# fail a scenario file, name the workloads it failed, and print a replay line that fails again
# with the same trace hash.  usage: scenario_broken_check.sh UTCP_SIM_BROKEN FILE.scn
set -u
sim=$1
file=$2
out=$("$sim" run "$file")
rc=$?
echo "$out" | grep -E '^(FAIL|result|replay|trace-hash)'
[ "$rc" -eq 1 ] || { echo "FAIL: the broken build gave exit $rc, not 1"; exit 1; }
echo "$out" | grep -q "^FAIL: .*workload" || { echo "FAIL: no failed workload named"; exit 1; }
hash=$(echo "$out" | sed -n 's/^trace-hash: //p')
replay=$(echo "$out" | sed -n 's/^replay: utcp-sim //p')
[ -n "$replay" ] && [ -n "$hash" ] || { echo "FAIL: no replay or trace-hash line"; exit 1; }
# shellcheck disable=SC2086 # the replay line is a list of words
rout=$("$sim" $replay)
rrc=$?
rhash=$(echo "$rout" | sed -n 's/^trace-hash: //p')
echo "replay: exit $rrc, trace-hash $rhash (first run: $hash)"
[ "$rrc" -eq 1 ] && [ "$rhash" = "$hash" ] || { echo "FAIL: the replay differs"; exit 1; }
echo "ok: the broken build fails $file and its replay reproduces the failure"
