#!/usr/bin/env bash
# Installs what is needed, builds the debug preset (ASan + UBSan) and runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh debug
# The AFL++ smoke run (label fuzz-smoke, about 4 minutes) runs when UTCP_FUZZ_SMOKE=1; see
# docs/fuzzing.md for why it is not yet on by default.
if [ "${UTCP_FUZZ_SMOKE:-0}" = 1 ]; then
  ctest --preset debug "$@"
else
  ctest --preset debug -LE fuzz-smoke "$@"
fi
