#!/bin/sh
# A scenario whose expectations fail: `utcp-sim run` must exit 1, print every failed one as
# "FAIL FILE:LINE: expect ..." with an "expected: ...; measured: ... (seed N)" line, keep the
# one that holds as "ok", and end with a result line and a replay line.
# usage: scenario_expect_check.sh UTCP_SIM FILE.scn
set -u
sim=$1
file=$2
out=$("$sim" run "$file")
rc=$?
echo "$out" | grep -E '^(ok|FAIL|  expected|result|replay)'
[ "$rc" -eq 1 ] || { echo "FAIL: exit status $rc, want 1"; exit 1; }
fails=$(echo "$out" | grep -c "^FAIL $file:[0-9]*: expect ")
exps=$(echo "$out" | grep -c '^  expected: .*; measured: .* (seed 5)$')
oks=$(echo "$out" | grep -c "^ok   $file:[0-9]*: expect ")
[ "$fails" -eq 3 ] && [ "$exps" -eq 3 ] && [ "$oks" -eq 1 ] ||
  { echo "FAIL: $fails failed / $exps expected-measured / $oks ok lines, want 3/3/1"; exit 1; }
echo "$out" | grep -q '^result: FAIL (seed 5)$' || { echo "FAIL: no result line"; exit 1; }
echo "$out" | grep -q "^replay: utcp-sim run $file --seed 5\$" || { echo "FAIL: no replay line"; exit 1; }
echo "ok: failed expectations reported"
