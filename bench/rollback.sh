#!/usr/bin/env bash
# Benchmark: `porttune rollback` of a 150,000-entry journal (one sysctl key, alternating old
# values), on a fixture sysctl tree and, as root, on the kernel's /proc/sys inside a private
# network namespace (net.core.somaxconn is per namespace: the host is untouched). Not a test.
#
#   bench/rollback.sh                       # this tree's binary
#   BASE=/path/to/old/porttune bench/rollback.sh   # and an earlier build, for the ratio
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-150000}
cargo build --release -q
bin=$PWD/target/release/porttune
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
run() { # BIN ROOT(fixture|proc)
  local b=$1 kind=$2 d="$work/$kind"
  rm -rf "$d"; mkdir -p "$d/sys/net/core" "$d/state/journal" "$d/locks"
  chmod 700 "$d/state" "$d/state/journal" "$d/locks"
  echo 8192 > "$d/sys/net/core/somaxconn"
  local sysroot="$d/sys"; [ "$kind" = proc ] && sysroot=/proc/sys
  python3 - "$d/state/journal/20250101T000000Z-000000000-bench.json" "$sysroot" "$N" <<'PY'
import json, sys
path, root, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
e = [{"kind": "sysctl", "key": "net.core.somaxconn", "old": str(4096 + i % 2), "new": "8192"} for i in range(n)]
json.dump({"version": 1, "id": "20250101T000000Z-000000000-bench", "profile": "bench", "created": 0,
           "state": "pending", "sysctl_root": root, "netns": None, "entries": e}, open(path, "w"))
PY
  chmod 600 "$d"/state/journal/*.json
  local pre=(); [ "$kind" = proc ] && pre=(unshare -n)
  local t0=$(date +%s.%N)
  "${pre[@]}" env PORTTUNE_LOCK_DIR="$d/locks" "$b" rollback --state-dir "$d/state" >/dev/null 2>&1 || true
  echo "$(date +%s.%N) - $t0" | bc
}
for kind in fixture proc; do
  [ "$kind" = proc ] && [ "$(id -u)" != 0 ] && continue
  this=$(run "$bin" "$kind")
  if [ -n "${BASE:-}" ]; then
    base=$(run "$BASE" "$kind")
    printf '%-8s %d entries: this %.2f s, base %.2f s\n' "$kind" "$N" "$this" "$base"
  else
    printf '%-8s %d entries: %.2f s\n' "$kind" "$N" "$this"
  fi
done
