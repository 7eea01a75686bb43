#!/bin/sh
# Runs every scenario file in DIR that must be refused: each names, on its first line,
#   # error: LINE:COL: TEXT
# the position and the start of the message `utcp-sim run` must print (exit status 2, the
# message "FILE:LINE:COL: TEXT..." on stderr).  usage: scenario_syntax_check.sh UTCP_SIM DIR
set -u
sim=$1
dir=$2
fail=0
n=0
for f in "$dir"/*.scn; do
  n=$((n + 1))
  want=$(sed -n '1s/^# error: //p' "$f")
  [ -n "$want" ] || { echo "FAIL: $f has no '# error:' line"; fail=1; continue; }
  err=$("$sim" run "$f" 2>&1 >/dev/null)
  rc=$?
  if [ "$rc" -ne 2 ]; then
    echo "FAIL: $f: exit status $rc, want 2 ($err)"
    fail=1
    continue
  fi
  case "$err" in
    "$f:$want"*) echo "ok   $err" ;;
    *) echo "FAIL: $f: got '$err', want '$f:$want...'"; fail=1 ;;
  esac
done
[ "$n" -gt 0 ] || { echo "FAIL: no scenario files in $dir"; exit 1; }
exit $fail
