#!/usr/bin/env bash
# Installs what is needed, builds the debug preset (ASan + UBSan) and runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh debug
# Every test, including the AFL++ smoke run (label fuzz-smoke, 3.5-6 minutes: every harness
# under afl-fuzz, two at a time; docs/fuzzing.md). UTCP_FUZZ_SMOKE=0 leaves it out.
if [ "${UTCP_FUZZ_SMOKE:-1}" = 0 ]; then
  ctest --preset debug -LE fuzz-smoke "$@"
else
  ctest --preset debug "$@"
fi
