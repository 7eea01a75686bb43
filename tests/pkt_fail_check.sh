#!/bin/sh
# Each script in DIR must fail: utcp-sim pkt exits non-zero and its message names the line
# that the script marks with "// FAILS HERE" (file:LINE: error:).
# usage: pkt_fail_check.sh UTCP_SIM DIR
sim=$1
dir=$2
status=0
found=0
for f in "$dir"/*.pkt; do
  found=1
  line=$(grep -n 'FAILS HERE' "$f" | head -n 1 | cut -d: -f1)
  if [ -z "$line" ]; then
    echo "$f: no '// FAILS HERE' marker"
    status=1
    continue
  fi
  out=$("$sim" pkt "$f" 2>&1)
  rc=$?
  if [ "$rc" -eq 0 ]; then
    echo "$f: passed but must fail"
    echo "$out"
    status=1
  elif ! printf '%s\n' "$out" | grep -q "^$f:$line: error:"; then
    echo "$f: failed without naming line $line:"
    echo "$out"
    status=1
  else
    echo "ok: $f fails at line $line"
    printf '%s\n' "$out" | grep -A3 "^$f:$line: error:"
  fi
done
if [ "$found" -eq 0 ]; then
  echo "no scripts in $dir"
  status=1
fi
exit $status
