#!/usr/bin/env bash
# Short AFL++ smoke run (CI and the fuzz_smoke ctest): builds the `fuzz` preset, runs every
# harness under afl-fuzz for a bounded time, and fails on any crash or hang; the canary must
# crash within CANARY_SECS (proving the set-up finds bugs).
#   UTCP_FUZZ_SMOKE_SECS  seconds per real harness (default 40)
#   CANARY_SECS           limit for the canary (default 60)
# Exits 77 (ctest: skipped) when afl-fuzz or afl-clang-fast is missing.
set -u
here=$(cd "$(dirname "$0")/.." && pwd)
secs=${UTCP_FUZZ_SMOKE_SECS:-40}
canary_secs=${CANARY_SECS:-60}
targets="wire tcb reass pair"

if ! command -v afl-fuzz >/dev/null || ! command -v afl-clang-fast >/dev/null; then
  echo "fuzz-smoke: SKIPPED: afl-fuzz / afl-clang-fast not installed (apt-get install afl++)"
  exit 77
fi

cd "$here"
echo "fuzz-smoke: building the fuzz preset"
cmake --preset fuzz >/dev/null || exit 1
cmake --build --preset fuzz -j2 >/dev/null || { cmake --build --preset fuzz -j1; exit 1; }
bin=$here/build/fuzz/bin
work=$here/build/fuzz/smoke
rm -rf "$work"
mkdir -p "$work"

# What AFL++ needs on a shared CI machine: no CPU-governor check, no core-dump helper check
# when core_pattern pipes to a program (and we cannot change it), no CPU pinning (other jobs
# own the cores), no UI.
export AFL_SKIP_CPUFREQ=1 AFL_NO_UI=1 AFL_NO_AFFINITY=1 AFL_NO_AFFINITY=1
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

fail=0
run() { # name seconds extra-env...
  local t=$1 s=$2
  shift 2
  local out=$work/$t
  env "$@" timeout $((s + 60)) afl-fuzz -i "$here/fuzz/corpus/$t" -o "$out" -m none -t 2000 \
    -x "$here/fuzz/dict/tcp.dict" -V "$s" -- "$bin/fuzz_$t" >"$work/$t.log" 2>&1
  local rc=$?
  local crashes hangs execs
  crashes=$(stat_of "$out" saved_crashes)
  hangs=$(stat_of "$out" saved_hangs)
  execs=$(stat_of "$out" execs_done)
  echo "fuzz-smoke: $t: afl-fuzz rc=$rc execs=${execs:-?} crashes=${crashes:-?} hangs=${hangs:-?}"
  LAST_CRASHES=${crashes:-0}
  LAST_HANGS=${hangs:-0}
  [ -n "$crashes" ] || { echo "fuzz-smoke: $t: afl-fuzz did not run:"; tail -20 "$work/$t.log"; return 1; }
  return 0
}

# The canary first: it must crash (AFL_BENCH_UNTIL_CRASH stops at the first one).
if run canary "$canary_secs" AFL_BENCH_UNTIL_CRASH=1; then
  if [ "$LAST_CRASHES" -ge 1 ]; then
    echo "fuzz-smoke: canary found as it must be"
  else
    echo "fuzz-smoke: FAIL: the canary's planted bug was not found in ${canary_secs}s"
    fail=1
  fi
else
  fail=1
fi

for t in $targets; do
  if ! run "$t" "$secs"; then
    fail=1
    continue
  fi
  if [ "$LAST_CRASHES" -ne 0 ] || [ "$LAST_HANGS" -ne 0 ]; then
    echo "fuzz-smoke: FAIL: $t: $LAST_CRASHES crashes, $LAST_HANGS hangs in $work/$t/default/{crashes,hangs}"
    for f in "$work/$t"/default/crashes/id:* "$work/$t"/default/hangs/id:*; do
      [ -e "$f" ] || continue
      echo "--- $f"
      timeout 60 "$bin/fuzz_$t" "$f" 2>&1 | tail -15
    done
    fail=1
  fi
done
[ $fail -eq 0 ] && echo "fuzz-smoke: PASS"
exit $fail
