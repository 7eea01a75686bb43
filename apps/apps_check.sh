#!/bin/sh
# Checks for `utcp-sim apps` runs (ctest, apps/CMakeLists.txt).
#   apps_check.sh verified N UTCP_SIM ARGS...  the run passes; epwget's summary shows N of N
#                                           requests ok and every body byte verified
#   apps_check.sh replay UTCP_SIM ARGS...   the run passes, its printed `replay:` line (with
#                                           quoted app command lines) passes too and gives the
#                                           same trace hash
#   apps_check.sh content-error UTCP_SIM    epserver serves a file of zeros at /gen/4096 (no
#                                           --gen: from its root), so the body has the right
#                                           length and the wrong bytes; the run must fail with
#                                           epwget counting content errors
set -u
mode=$1
sim=$2
shift 2
case $mode in
replay)
  out1=$("$sim" "$@") || { echo "$out1"; echo "FAIL: first run failed"; exit 1; }
  hash1=$(echo "$out1" | sed -n 's/^trace-hash: //p')
  replay=$(echo "$out1" | sed -n 's/^replay: utcp-sim //p')
  [ -n "$hash1" ] && [ -n "$replay" ] || { echo "$out1"; echo "FAIL: no trace-hash or replay line"; exit 1; }
  out2=$(eval "\"\$sim\" $replay") || { echo "$out2"; echo "FAIL: the replay failed"; exit 1; }
  hash2=$(echo "$out2" | sed -n 's/^trace-hash: //p')
  echo "run:    $hash1"
  echo "replay: $hash2 ($replay)"
  [ "$hash1" = "$hash2" ] || { echo "FAIL: the replay gave another trace hash"; exit 1; }
  ;;
verified)
  # apps_check.sh verified N UTCP_SIM ARGS...: the run passes and epwget's summary says all N
  # requests succeeded and every body byte received was verified, none differing
  n=$sim
  sim=$1
  shift
  out=$("$sim" "$@") || { echo "$out"; echo "FAIL: the run failed"; exit 1; }
  echo "$out" | grep -v '^epwget: \['
  echo "$out" | grep -Eq "^epwget: $n requests, $n ok, 0 errors" ||
    { echo "FAIL: not every one of the $n requests succeeded"; exit 1; }
  line=$(echo "$out" | grep -E '^epwget: bytes: ') || { echo "FAIL: no bytes line"; exit 1; }
  rx=$(echo "$line" | sed -n 's/^epwget: bytes: \([0-9]*\) received, \([0-9]*\) verified .*, \([0-9]*\) differ$/\1/p')
  ok=$(echo "$line" | sed -n 's/^epwget: bytes: \([0-9]*\) received, \([0-9]*\) verified .*, \([0-9]*\) differ$/\2 \3/p')
  [ -n "$rx" ] && [ "$ok" = "$rx 0" ] && [ "$rx" -gt 0 ] ||
    { echo "FAIL: not every body byte was verified ($line)"; exit 1; }
  echo "OK: $n requests, $rx body bytes, all verified"
  ;;
content-error)
  root=$(mktemp -d)
  mkdir "$root/gen"
  head -c 4096 /dev/zero >"$root/gen/4096"
  out=$("$sim" apps --seed 3 --host server "epserver --root $root" \
        --host client "epwget --url http://10.0.0.1/gen/4096 --requests 20 --concurrency 5")
  rc=$?
  rm -rf "$root"
  echo "$out"
  [ $rc -eq 1 ] || { echo "FAIL: expected exit status 1, got $rc"; exit 1; }
  echo "$out" | grep -Eq 'errors \(connect [0-9]+, status [0-9]+, content [1-9]' ||
    { echo "FAIL: epwget reported no content error"; exit 1; }
  echo "OK: the wrong content was caught"
  ;;
*)
  echo "usage: apps_check.sh replay|verified N|content-error UTCP_SIM ARGS..." >&2
  exit 2
  ;;
esac
