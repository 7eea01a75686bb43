#!/usr/bin/env bash
# Smoke run of the microbenchmarks (ctest bench_micro_smoke): every case runs for a moment and
# must report a result with its cycles/op counter and no error. Speed is not checked.
set -euo pipefail
bin=$1
out=$(mktemp)
trap 'rm -f "$out"' EXIT
"$bin" --benchmark_min_time=0.01 --benchmark_format=json >"$out"
python3 - "$out" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
bad = 0
names = []
for b in d["benchmarks"]:
    names.append(b["name"])
    if b.get("error_occurred"):
        print("FAIL: %s: %s" % (b["name"], b.get("error_message"))); bad += 1
    elif "cycles/op" not in b or b["iterations"] < 1:
        print("FAIL: %s reported no cycles/op" % b["name"]); bad += 1
    else:
        print("%-28s %10.1f ns %10.1f cycles/op" % (b["name"], b["real_time"], b["cycles/op"]))
expected = ["cksum/64", "cksum/1500", "cksum/65536", "tcp_parse/64", "tcp_parse/1448",
            "tcp_emit/64", "tcp_emit/1448", "timer_start_stop", "timer_expire/65536",
            "flow_lookup/1000", "flow_lookup/1000000", "tcp_rx_inorder", "tcp_rx_pure_ack",
            "tcp_tx_segment"]
for e in expected:
    if e not in names:
        print("FAIL: case %s did not run" % e); bad += 1
print("%d passed, %d failed" % (len(expected) - bad if bad <= len(expected) else 0, bad))
sys.exit(1 if bad else 0)
PY
