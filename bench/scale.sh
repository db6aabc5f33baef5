#!/usr/bin/env bash
# Benchmark (not a test): what `porttune check` costs on a host holding N established loopback
# connections, against `ss -ltn` and `ss -s` in the same run.
#
# Each N runs in a fresh private network namespace (unshare -n; port range 1024-65535, big
# backlogs; nothing global changes) where `porttune flood --workers auto --max N --hold`
# opens N connections (2N sockets) and holds them. Then, RUNS rounds, interleaved (every
# command sees the same machine load): `porttune check`, `porttune check --pid WORKER` (the
# flood worker holding the most fds; for N = 0 a sleeping process), `ss -ltn`, `ss -s`.
# Prints the median wall time of each, the ratios paired round by round (median of the
# per-round ratios), the growth of check from 10,000 to the largest N, and the flood's
# memory per connection (kernel slab, the workers' own PSS).
#
#   bench/scale.sh                          # N = 0 10000 100000 1000000, 15 rounds each
#   NS="0 10000 100000" RUNS=9 bench/scale.sh
#   BASE=/path/to/old/porttune bench/scale.sh   # also an earlier build's `check`, same rounds
#
# Needs root (unshare -n), python3, ss (iproute2), cargo. 1,000,000 connections need about
# 2,000,000 fds (fs.file-max) and ~10 GB of kernel memory; the script says how many it
# reached when the machine holds fewer.
set -euo pipefail
cd "$(dirname "$0")/.."
NS=${NS:-"0 10000 100000 1000000"}
RUNS=${RUNS:-15}
cargo build --release -q
PT=$PWD/target/release/porttune
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

# In the namespace: hold N connections, time the commands, print one JSON line.
inner='
set -eu
PT=$1; N=$2; RUNS=$3; BASE=$4; TMP=$5
ip link set lo up
sysctl -q -w net.ipv4.ip_local_port_range="1024 65535"
sysctl -q -w net.core.somaxconn=65535
sysctl -q -w net.ipv4.tcp_max_syn_backlog=65535
inuse() { awk "/^TCP:/ {print \$3}" /proc/net/sockstat; }
if [ "$N" -gt 0 ]; then
  "$PT" flood --workers auto --max "$N" --duration 300 --hold 900 --format json \
    > "$TMP/flood-$N.json" 2> "$TMP/flood-$N.err" &
  HOLDER=$!
  i=0
  while [ "$(inuse)" -lt $((2 * N)) ]; do
    kill -0 "$HOLDER" 2>/dev/null || { echo "the flood ended at $(inuse) sockets: $(tail -3 "$TMP/flood-$N.err")" >&2; break; }
    i=$((i + 1)); [ $i -lt 3000 ] || { echo "not all $N connections after 300 s" >&2; break; }
    sleep 0.1
  done
  sleep 1
  PID=$(for p in $(pgrep -P "$HOLDER"); do echo "$(ls /proc/$p/fd | wc -l) $p"; done | sort -n | tail -1 | cut -d" " -f2)
else
  sleep 900 & HOLDER=$!
  PID=$HOLDER
fi
python3 - "$PT" "$PID" "$RUNS" "$BASE" "$N" "$(inuse)" <<"PY"
import json, statistics, subprocess, sys, time
pt, pid, runs, base, n, inuse = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], int(sys.argv[5]), int(sys.argv[6])
cmds = {"check": [pt, "check"], "check_pid": [pt, "check", "--pid", pid],
        "ss_ltn": ["ss", "-ltn"], "ss_s": ["ss", "-s"]}
if base:
    cmds["base_check"] = [base, "check"]
def once(argv):
    t = time.perf_counter()
    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return (time.perf_counter() - t) * 1000
for argv in cmds.values():
    once(argv)                                   # warm-up: page cache, binary
rounds = [{k: once(v) for k, v in cmds.items()} for _ in range(runs)]
out = {"n": n, "tcp_inuse": inuse, "pid_fds": len(__import__("os").listdir(f"/proc/{pid}/fd")), "rounds": rounds}
print(json.dumps(out))
PY
kill -TERM "$HOLDER" 2>/dev/null || true
wait "$HOLDER" 2>/dev/null || true
'

for n in $NS; do
  echo "== N = $n" >&2
  unshare -n bash -c "$inner" inner "$PT" "$n" "$RUNS" "${BASE:-}" "$TMP" >> "$TMP/results.jsonl"
done

python3 - "$TMP" <<'PY'
import json, os, statistics, sys
tmp = sys.argv[1]
res = [json.loads(l) for l in open(os.path.join(tmp, "results.jsonl")) if l.strip()]
med = lambda xs: statistics.median(xs)
def ratio(r, a, b):
    return med([x[a] / x[b] for x in r["rounds"]])
have_base = any("base_check" in r["rounds"][0] for r in res)
print(f"{'N held':>10} {'TCP sockets':>11} {'check':>9} {'check --pid':>12} {'(its fds)':>9} {'ss -ltn':>9} {'ss -s':>8}"
      f" {'check/ss -ltn':>13} {'check/ss -s':>11}" + (f" {'base check':>10}" if have_base else ""))
for r in res:
    m = {k: med([x[k] for x in r["rounds"]]) for k in r["rounds"][0]}
    line = (f"{r['n']:>10,} {r['tcp_inuse']:>11,} {m['check']:>7.1f}ms {m['check_pid']:>10.1f}ms {r['pid_fds']:>9,}"
            f" {m['ss_ltn']:>7.1f}ms {m['ss_s']:>6.1f}ms {ratio(r, 'check', 'ss_ltn'):>13.2f} {ratio(r, 'check', 'ss_s'):>11.2f}")
    if have_base:
        line += f" {m['base_check']:>8.1f}ms"
    print(line)
by_n = {r["n"]: r for r in res}
big = max(by_n)
if 10000 in by_n and big > 10000:
    g = med([x["check"] for x in by_n[big]["rounds"]]) / med([x["check"] for x in by_n[10000]["rounds"]])
    print(f"check at {big:,} / check at 10,000 (medians): {g:.2f} (target <= 2)")
    print(f"check / ss -ltn at {big:,}: {ratio(by_n[big], 'check', 'ss_ltn'):.2f} (target <= 1.5)")
if 0 in by_n:
    print(f"idle check / ss -ltn: {ratio(by_n[0], 'check', 'ss_ltn'):.2f} (target <= 2)")
for r in res:
    f = os.path.join(tmp, f"flood-{r['n']}.json")
    if r["n"] and os.path.exists(f) and os.path.getsize(f):
        s = json.load(open(f)).get("state_at_limit") or {}
        print(f"flood holding {r['n']:,}: kernel {s.get('kernel_bytes_per_connection')} B/connection (slab), "
              f"the flood's own {s.get('user_bytes_per_connection')} B/connection (workers' PSS {s.get('workers_pss_kb')} kB; "
              f"RSS {s.get('workers_rss_kb')} kB)")
PY
