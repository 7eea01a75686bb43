#!/usr/bin/env bash
# Installs what is needed, builds the debug preset (ASan + UBSan) and runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh debug
ctest --preset debug "$@"
