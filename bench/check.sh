#!/usr/bin/env bash
# Benchmark: how long `porttune check` takes on this machine (goal: under 50 ms).
# Not a test. Builds the release binary, runs `check` N times, prints min/median/max.
#
#   bench/check.sh                          # this tree's binary alone
#   BASE=/path/to/old/porttune bench/check.sh
#       # also an earlier build, in the same batch (runs interleaved), and the ratio
#       # this/base of the medians; with valgrind installed, also instructions counted by
#       # callgrind (repeatable whatever the machine's load): the regression test is
#       # instructions this/base > 1.05, or, without valgrind, time > 1.10 (exit 1)
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-50}
cargo build --release -q
bin=target/release/porttune
python3 - "$bin" "$N" "${BASE:-}" <<'PY'
import subprocess, sys, time, statistics
bin, n, base = sys.argv[1], int(sys.argv[2]), sys.argv[3]
bins = [("this", bin)] + ([("base", base)] if base else [])
worst = 0.0
for args in (["check"], ["check", "--scenario", "loopback", "--format", "json"],
             ["check", "--from", "tests/fixtures/snapshots/macos/seed-facts.yaml", "--scenario", "loopback"]):
    ts = {name: [] for name, _ in bins}
    for _ in range(n):
        for name, b in bins:            # interleaved: both see the same machine load
            t = time.perf_counter()
            subprocess.run([b, *args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            ts[name].append((time.perf_counter() - t) * 1000)
    for name, _ in bins:
        v = sorted(ts[name])
        print(f"{name} porttune {' '.join(args)[:60]:60s} min {v[0]:6.1f} ms  median {statistics.median(v):6.1f} ms  max {v[-1]:6.1f} ms  (n={n}; goal < 50 ms)")
    if base:
        r = statistics.median(ts["this"]) / statistics.median(ts["base"])
        worst = max(worst, r)
        print(f"  ratio this/base (medians): {r:.2f}")
import shutil, re, tempfile, os
def instructions(b, args):
    with tempfile.TemporaryDirectory() as d:
        r = subprocess.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={d}/cg", b, *args],
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        m = re.search(r"Collected : (\d+)", r.stderr)
        return int(m.group(1)) if m else None
if base:
    print(f"worst time ratio {worst:.2f} (limit 1.10 without valgrind)")
    if shutil.which("valgrind"):
        worst_i = 0.0
        for args in (["check", "--from", "tests/fixtures/snapshots/macos/seed-facts.yaml", "--scenario", "loopback"],
                     ["check", "--from", "tests/fixtures/snapshots/nginx.yaml", "--format", "json"],
                     ["check", "--scenario", "loopback", "--format", "json"]):
            a, b_ = instructions(bin, args), instructions(base, args)
            if a and b_:
                worst_i = max(worst_i, a / b_)
                print(f"instructions porttune {' '.join(args)[:60]:60s} this {a:>10,}  base {b_:>10,}  ratio {a / b_:.3f}")
        print(f"worst instruction ratio {worst_i:.3f} ({'REGRESSION' if worst_i > 1.05 else 'no regression'}; limit 1.05)")
        sys.exit(1 if worst_i > 1.05 else 0)
    print(f"{'REGRESSION' if worst > 1.10 else 'no regression'}")
    sys.exit(1 if worst > 1.10 else 0)
PY
