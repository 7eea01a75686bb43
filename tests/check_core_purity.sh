#!/usr/bin/env bash
# Fails if core/'s static library needs any symbol from outside itself beyond libc's string
# and memory functions: no syscalls, clocks, stdio, heap, threads or DPDK in the pure core.
set -euo pipefail
nm=$1 lib=$2
allowed='^(memcpy|memmove|memset|memcmp|memchr|strlen|strcmp|strncmp|strnlen)$'
[ -s "$lib" ] || { echo "core_purity: $lib missing" >&2; exit 1; }
undefined=$("$nm" -u --format=just-symbols "$lib" | sort -u)
defined=$("$nm" --defined-only --format=just-symbols "$lib" | sort -u)
bad=$(comm -23 <(echo "$undefined") <(echo "$defined") | grep -Ev "$allowed" | grep -v '^$' || true)
if [ -n "$bad" ]; then
  echo "core_purity: core/ needs symbols outside the allow-list:" >&2
  echo "$bad" >&2
  exit 1
fi
echo "core_purity: $(echo "$undefined" | grep -Ec "$allowed" || true) allowed libc symbols, nothing else"
echo "1 passed, 0 failed"
