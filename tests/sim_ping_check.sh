#!/usr/bin/env bash
# ctest driver for `utcp-sim ping` (registered in platform/sim/CMakeLists.txt).
#   sim_ping_check.sh runs             SIM            3 hosts, seed 1: exit 0, replies per pair
#   sim_ping_check.sh total-loss-fails SIM            --loss 1/1 must exit 1 with a FAIL line
#   sim_ping_check.sh same-seed        SIM            seed 1 twice: equal trace hashes
#   sim_ping_check.sh other-seed       SIM            seeds 1 and 2: different trace hashes
#   sim_ping_check.sh pcap             SIM DIR TSHARK pcap files hold ARP and ICMP, nothing
#                                                     malformed (exit 77 = skip without tshark)
set -u
mode=${1:?mode}
sim=${2:?path to utcp-sim}

fail() { echo "FAIL: $*" >&2; exit 1; }

# Runs the simulator; prints its output; fails the test on a non-zero exit.
run() {
  local out rc
  out=$("$sim" ping "$@" 2>&1); rc=$?
  printf '%s\n' "$out"
  [ "$rc" -eq 0 ] || fail "utcp-sim ping $* exited $rc"
}

hash_of() { printf '%s\n' "$1" | sed -n 's/^trace-hash: \([0-9a-f]\{16\}\)$/\1/p'; }

case "$mode" in
  runs)
    out=$(run --seed 1 --hosts 3) || { printf '%s\n' "$out"; exit 1; }
    printf '%s\n' "$out"
    n=$(printf '%s\n' "$out" | grep -Ec '^ping h[0-9] -> h[0-9]: sent 20 received [1-9]')
    [ "$n" -eq 3 ] || fail "expected 3 pairs with replies, got $n"
    printf '%s\n' "$out" | grep -q '^replay: utcp-sim ping --seed 1 ' || fail "no replay line"
    printf '%s\n' "$out" | grep -q 'icmpMsgStatsInPkts.echoReply' || fail "no echo reply counter"
    ;;
  total-loss-fails)
    out=$("$sim" ping --seed 1 --count 3 --loss 1/1 2>&1); rc=$?
    printf '%s\n' "$out"
    [ "$rc" -eq 1 ] || fail "total loss should exit 1, exited $rc"
    printf '%s\n' "$out" | grep -q '^FAIL: h1 -> h2 got no reply' || fail "no FAIL line"
    printf '%s\n' "$out" | grep -q '^replay: ' || fail "no replay line on failure"
    ;;
  same-seed)
    a=$(run --seed 1 --hosts 3) || exit 1
    b=$(run --seed 1 --hosts 3) || exit 1
    ha=$(hash_of "$a"); hb=$(hash_of "$b")
    echo "run 1: $ha"; echo "run 2: $hb"
    [ -n "$ha" ] || fail "no trace-hash line"
    [ "$ha" = "$hb" ] || fail "same seed gave different trace hashes"
    [ "$a" = "$b" ] || fail "same seed gave different output"
    ;;
  other-seed)
    a=$(run --seed 1 --hosts 3) || exit 1
    b=$(run --seed 2 --hosts 3) || exit 1
    ha=$(hash_of "$a"); hb=$(hash_of "$b")
    echo "seed 1: $ha"; echo "seed 2: $hb"
    [ -n "$ha" ] && [ -n "$hb" ] || fail "no trace-hash line"
    [ "$ha" != "$hb" ] || fail "seeds 1 and 2 gave the same trace hash"
    ;;
  pcap)
    dir=${3:?pcap directory}
    tshark=${4:-}
    if [ -z "$tshark" ] || [[ "$tshark" == *NOTFOUND ]] || [ ! -x "$tshark" ]; then
      echo "SKIP: tshark not found (UTCP_TSHARK unset); install tshark to run this test"
      exit 77
    fi
    rm -rf "$dir" && mkdir -p "$dir" || fail "cannot create $dir"
    run --seed 1 --hosts 3 --count 5 --pcap "$dir" >/dev/null || exit 1
    for link in h1-sw h2-sw h3-sw; do
      f=$dir/$link.pcap
      [ -s "$f" ] || fail "$f missing or empty"
      all=$("$tshark" -r "$f" 2>/dev/null) || fail "tshark cannot read $f"
      echo "$link.pcap: $(printf '%s\n' "$all" | wc -l) frames"
      bad=$("$tshark" -r "$f" -Y '_ws.malformed || _ws.expert.severity >= error' 2>/dev/null) ||
        fail "tshark filter failed on $f"
      [ -z "$bad" ] || fail "$f has malformed frames or errors: $bad"
      [ -n "$("$tshark" -r "$f" -Y arp 2>/dev/null)" ] || fail "$f has no ARP"
      [ -n "$("$tshark" -r "$f" -Y 'icmp.type == 8' 2>/dev/null)" ] || fail "$f has no echo request"
      [ -n "$("$tshark" -r "$f" -Y 'icmp.type == 0' 2>/dev/null)" ] || fail "$f has no echo reply"
    done
    ;;
  *)
    fail "unknown mode $mode"
    ;;
esac
echo "PASS: $mode"
