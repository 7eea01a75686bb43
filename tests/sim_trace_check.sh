#!/usr/bin/env bash
# ctest driver for `utcp-sim transfer --trace DIR` (test transfer_trace, registered in
# platform/sim/CMakeLists.txt):
#   sim_trace_check.sh SIM DIR
# Runs a 2 MiB transfer with 1/100 loss into DIR and checks: the run passes and names its trace
# files; the congestion CSV has its header, many rows and a cwnd that changes; the segment CSV
# holds data segments, retransmissions and ACKs; the trace hash equals that of the same run
# without --trace (tracing does not perturb the run); the PNG and SVG graphs exist and are
# non-empty (exit 77 = skip that last part when gnuplot is not installed).
set -u
sim=${1:?path to utcp-sim}
dir=${2:?trace directory}

fail() { echo "FAIL: $*" >&2; exit 1; }

args=(transfer --seed 1 --bytes 2Mi --loss 1/100)
rm -rf "$dir"
mkdir -p "$(dirname "$dir")" || fail "cannot create the parent of $dir"
out=$("$sim" "${args[@]}" --trace "$dir" 2>&1); rc=$?
printf '%s\n' "$out"
[ "$rc" -eq 0 ] || fail "utcp-sim ${args[*]} --trace $dir exited $rc"

csv=$(printf '%s\n' "$out" | sed -n 's/^trace: \(.*\/h1-[0-9]*-5001\.csv\) .*/\1/p')
[ -n "$csv" ] || fail "no 'trace: DIR/h1-<lport>-5001.csv' line"
seq=${csv%.csv}-seq.csv
[ -s "$csv" ] || fail "$csv missing or empty"
[ -s "$seq" ] || fail "$seq missing or empty"

want='time_s,state,cwnd,ssthresh,srtt_ms,rttvar_ms,rto_ms,flight,snd_una,snd_nxt,snd_wnd,retrans,backoffs,in_recovery,episodes'
[ "$(head -n 1 "$csv")" = "$want" ] || fail "$csv: header is '$(head -n 1 "$csv")'"
rows=$(($(wc -l <"$csv") - 1))
[ "$rows" -ge 500 ] || fail "$csv: only $rows rows"
cwnds=$(tail -n +2 "$csv" | cut -d, -f3 | sort -u | wc -l)
[ "$cwnds" -ge 20 ] || fail "$csv: only $cwnds distinct cwnd values"
episodes=$(tail -n 1 "$csv" | cut -d, -f15)
[ "$episodes" -ge 1 ] || fail "$csv: no recovery episode with 1/100 loss"
grep -q ',1,[0-9]*$' "$csv" || fail "$csv: in_recovery never 1"
[ "$(head -n 1 "$seq")" = "time_s,kind,seq,len,retrans" ] || fail "$seq: bad header"
data=$(grep -c ',data,' "$seq")
rtx=$(grep -c ',data,.*,1$' "$seq")
acks=$(grep -c ',ack,' "$seq")
[ "$data" -ge 1400 ] || fail "$seq: only $data data segments for 2 MiB"
[ "$rtx" -ge 1 ] || fail "$seq: no retransmission with 1/100 loss"
[ "$acks" -ge 100 ] || fail "$seq: only $acks ACKs"
echo "csv: $rows rows, $cwnds cwnd values, $episodes episodes; seq: $data segments, $rtx retransmitted, $acks ACKs"

hash_of() { printf '%s\n' "$1" | sed -n 's/^trace-hash: \([0-9a-f]\{16\}\)$/\1/p'; }
plain=$("$sim" "${args[@]}" 2>&1) || fail "utcp-sim ${args[*]} failed without --trace"
h1=$(hash_of "$out") h2=$(hash_of "$plain")
[ -n "$h1" ] && [ "$h1" = "$h2" ] || fail "trace hash with --trace $h1, without $h2"

if ! command -v "${UTCP_GNUPLOT:-gnuplot}" >/dev/null 2>&1; then
  echo "SKIP: gnuplot not installed: graphs not checked"
  exit 77
fi
printf '%s\n' "$out" | grep -q '^trace: plots: .*-cwnd\.png' || fail "no 'trace: plots:' line"
base=${csv%.csv}
for g in cwnd rtt tseq; do
  [ -s "$base-$g.png" ] || fail "$base-$g.png missing or empty"
  [ -s "$base-$g.svg" ] || fail "$base-$g.svg missing or empty"
  [ "$(head -c 8 "$base-$g.png" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] ||
    fail "$base-$g.png is not a PNG"
  grep -q '<svg' "$base-$g.svg" || fail "$base-$g.svg is not an SVG"
done
echo "ok: graphs $base-{cwnd,rtt,tseq}.{png,svg}"
