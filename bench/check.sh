#!/usr/bin/env bash
# Benchmark: how long `porttune check` takes on this machine (goal: under 50 ms).
# Not a test. Builds the release binary, runs `check` N times, prints min/median/max.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-50}
cargo build --release -q
bin=target/release/porttune
python3 - "$bin" "$N" <<'PY'
import subprocess, sys, time, statistics
bin, n = sys.argv[1], int(sys.argv[2])
for args in (["check"], ["check", "--scenario", "loopback", "--format", "json"]):
    ts = []
    for _ in range(n):
        t = time.perf_counter()
        subprocess.run([bin, *args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        ts.append((time.perf_counter() - t) * 1000)
    ts.sort()
    print(f"porttune {' '.join(args):45s} min {ts[0]:6.1f} ms  median {statistics.median(ts):6.1f} ms  max {ts[-1]:6.1f} ms  (n={n}; goal < 50 ms)")
PY
