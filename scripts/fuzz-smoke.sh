#!/usr/bin/env bash
# AFL++ smoke run (CI: the fuzz_smoke ctest, part of every scripts/test.sh run): builds the
# `fuzz` preset, runs every harness under afl-fuzz for a bounded time, JOBS at a time, and fails
# on any crash or hang. The canary must crash within CANARY_SECS (proving that instrumentation,
# persistent mode, the sanitizers and crash detection work).
#   UTCP_FUZZ_SMOKE_SECS     seconds per real harness (default 60)
#   CANARY_SECS              limit for the canary (default 60)
#   UTCP_FUZZ_SMOKE_JOBS     harnesses at a time (default 2)
#   UTCP_FUZZ_SMOKE_TARGETS  the real harnesses (default: all six)
#   UTCP_FUZZ_SMOKE_TIMEOUT  afl-fuzz -t, ms per run before it counts as a hang (default 5000:
#                            generous, so that a loaded machine does not make false hangs)
# Exits 77 (ctest: skipped) when afl-fuzz or afl-clang-fast is missing.
set -u
here=$(cd "$(dirname "$0")/.." && pwd)
secs=${UTCP_FUZZ_SMOKE_SECS:-60}
canary_secs=${CANARY_SECS:-60}
jobs=${UTCP_FUZZ_SMOKE_JOBS:-2}
tmout=${UTCP_FUZZ_SMOKE_TIMEOUT:-5000}
# The slowest first, so that the pool drains evenly.
targets=${UTCP_FUZZ_SMOKE_TARGETS:-"pair tcb wire reass script config"}

if ! command -v afl-fuzz >/dev/null || ! command -v afl-clang-fast >/dev/null; then
  echo "fuzz-smoke: SKIPPED: afl-fuzz / afl-clang-fast not installed (apt-get install afl++)"
  exit 77
fi

cd "$here"
echo "fuzz-smoke: building the fuzz preset"
cmake --preset fuzz >/dev/null || exit 1
cmake --build --preset fuzz -j2 >/dev/null || { cmake --build --preset fuzz -j1; exit 1; }
bin=$here/build/afl/bin
work=$here/build/afl/smoke
rm -rf "$work"
mkdir -p "$work"

# What AFL++ needs on a shared CI machine: no CPU-governor check, no CPU pinning (other jobs
# own the cores), no UI, no long calibration; no core-dump helper check when core_pattern
# pipes to a program and cannot be changed.
export AFL_SKIP_CPUFREQ=1 AFL_NO_UI=1 AFL_NO_AFFINITY=1
export AFL_SKIP_CRASHES=1 AFL_FAST_CAL=1 AFL_NO_STARTUP_CALIBRATION=1 AFL_IGNORE_SEED_PROBLEMS=1
if [ "$(cut -c1 /proc/sys/kernel/core_pattern 2>/dev/null)" = "|" ]; then
  if ! (echo core > /proc/sys/kernel/core_pattern) 2>/dev/null; then
    export AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1
  fi
fi
# ASan must abort (AFL++ sees a signal) and not symbolize (slow); leaks are the harnesses' own
# pool checks plus LSan at exit.
export ASAN_OPTIONS=abort_on_error=1:symbolize=0:detect_leaks=1:allocator_may_return_null=1
export UBSAN_OPTIONS=halt_on_error=1:abort_on_error=1:print_stacktrace=1

stat_of() { sed -n "s/^$2 *: *//p" "$1/default/fuzzer_stats" 2>/dev/null | head -1; }

dict_of() {
  if [ -f "$here/fuzz/dict/$1.dict" ]; then echo "$here/fuzz/dict/$1.dict"; else echo "$here/fuzz/dict/tcp.dict"; fi
}

# Runs one harness in the background of a subshell; its verdict goes to $work/<t>.verdict
# (PASS / FAIL lines), its afl-fuzz output to $work/<t>.log.
run() { # name seconds extra-env...
  local t=$1 s=$2
  shift 2
  local out=$work/$t
  env "$@" timeout $((s + 120)) afl-fuzz -i "$here/fuzz/corpus/$t" -o "$out" -m none -t "$tmout" \
    -x "$(dict_of "$t")" -V "$s" -- "$bin/fuzz_$t" >"$work/$t.log" 2>&1
  local rc=$?
  local crashes hangs execs edges
  crashes=$(stat_of "$out" saved_crashes)
  hangs=$(stat_of "$out" saved_hangs)
  execs=$(stat_of "$out" execs_done)
  edges=$(stat_of "$out" edges_found)
  local line="$t: afl-fuzz rc=$rc execs=${execs:-?} edges=${edges:-?} crashes=${crashes:-?} hangs=${hangs:-?}"
  if [ -z "$crashes" ]; then
    { echo "FAIL $line: afl-fuzz did not run:"; tail -20 "$work/$t.log"; } >"$work/$t.verdict"
    return
  fi
  if [ "$t" = canary ]; then
    if [ "$crashes" -ge 1 ]; then
      echo "PASS $line: the planted bug was found" >"$work/$t.verdict"
    else
      echo "FAIL $line: the canary's planted bug was not found in ${s}s" >"$work/$t.verdict"
    fi
    return
  fi
  if [ "$crashes" -ne 0 ] || [ "$hangs" -ne 0 ]; then
    {
      echo "FAIL $line: inputs in $out/default/{crashes,hangs}"
      local n=0
      for f in "$out"/default/crashes/id:* "$out"/default/hangs/id:*; do
        [ -e "$f" ] || continue
        n=$((n + 1))
        [ $n -le 5 ] || { echo "(more inputs not replayed here)"; break; }
        echo "--- $f"
        timeout 60 "$bin/fuzz_$t" "$f" 2>&1 | tail -15
      done
    } >"$work/$t.verdict"
    return
  fi
  echo "PASS $line" >"$work/$t.verdict"
}

# A pool of $jobs: the canary first (AFL_BENCH_UNTIL_CRASH stops it at its first crash), then
# the real harnesses, the slowest first.
queue="canary $targets"
running=0
start=$(date +%s)
for t in $queue; do
  if [ "$running" -ge "$jobs" ]; then
    wait -n
    running=$((running - 1))
  fi
  echo "fuzz-smoke: $t: start ($(( $(date +%s) - start ))s)"
  if [ "$t" = canary ]; then
    run canary "$canary_secs" AFL_BENCH_UNTIL_CRASH=1 &
  else
    run "$t" "$secs" &
  fi
  running=$((running + 1))
done
wait

fail=0
for t in $queue; do
  if [ ! -f "$work/$t.verdict" ]; then
    echo "fuzz-smoke: FAIL $t: no verdict"
    fail=1
    continue
  fi
  sed 's/^/fuzz-smoke: /' "$work/$t.verdict"
  head -1 "$work/$t.verdict" | grep -q '^PASS' || fail=1
done
echo "fuzz-smoke: $(( $(date +%s) - start ))s of fuzzing"
[ $fail -eq 0 ] && echo "fuzz-smoke: PASS"
exit $fail
