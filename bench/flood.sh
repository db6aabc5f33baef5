#!/bin/sh
# Benchmark `porttune flood`, each run in a fresh private network namespace (wide port range,
# big backlogs; no global setting changes), and, when the reference C flood is there
# (bench/reference-flood, one epoll loop: $PORTTUNE_SHARED/bench/reference-flood, by default
# ../shared beside this checkout), the reference in the same batch with the ratios
# porttune / reference. Without it, porttune's own rates and times are printed.
#
#   bench/flood.sh            # 3 runs of the 9K one-process case, 1 run of the 1M case
#   RUNS=5 BIG_RUNS=2 bench/flood.sh
#   SKIP_BIG=1 bench/flood.sh # only the one-process case
#   BASE=/path/to/old/porttune bench/flood.sh
#                             # also an earlier porttune build in the same batch (9K case):
#                             # ratios this/reference and base/reference side by side
#
# Needs root (unshare -n), ip, cargo, python3; cc for the reference.
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SHARED=${PORTTUNE_SHARED:-$ROOT/../shared}
REF_DIR=$SHARED/bench/reference-flood
RUNS=${RUNS:-3}
BIG_RUNS=${BIG_RUNS:-2}
BIG_N=${BIG_N:-1000000}   # connections of the big case (a milestone of both tools: 100000, 500000
                          # or 1000000)
COOL=${COOL:-15}   # seconds between 1M runs: the kernel frees ~10 GB of socket memory after each
mkdir -p "$ROOT/target"
REF=
if [ -f "$REF_DIR/flood.c" ]; then
  cc -O2 -Wall -o "$ROOT/target/reference-flood" "$REF_DIR/flood.c"
  REF=$ROOT/target/reference-flood
else
  echo "bench/flood.sh: no reference flood at $REF_DIR: porttune alone (for the ratios, set PORTTUNE_SHARED to the directory holding bench/reference-flood)" >&2
fi
cargo build --quiet --release --manifest-path "$ROOT/Cargo.toml"
PT=$ROOT/target/release/porttune
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

# Run a command in a fresh private network namespace with flood-friendly settings there.
NETNS_BODY='
    ip link set lo up
    echo "1024 65535" > /proc/sys/net/ipv4/ip_local_port_range
    echo 65535 > /proc/sys/net/core/somaxconn
    echo 65535 > /proc/sys/net/ipv4/tcp_max_syn_backlog
    exec "$@"'
NETNS() { unshare -n sh -c "$NETNS_BODY" netns "$@"; }

# value of key=... on the reference's RESULT line
ref_field() { tr ' ' '\n' < "$1" | sed -n "s/^$2=//p" | tail -1; }
# a value from porttune's JSON report, by a Python expression on `r`
pt_field() { python3 -c "import json,sys; r=json.load(open(sys.argv[1])); print($2)" "$1"; }
median() { sort -g | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }

echo "== one process, both ends, to 9,000 connections ($RUNS runs each, alternating)"
: > "$TMP/ref9"; : > "$TMP/pt9"; : > "$TMP/base9"
i=0
while [ $i -lt "$RUNS" ]; do
  i=$((i + 1))
  if [ -n "$REF" ]; then
    NETNS "$REF" -n 9000 -P 1 > "$TMP/r.txt"
    ref_field "$TMP/r.txt" rate >> "$TMP/ref9"
  else
    echo 0 >> "$TMP/ref9"
  fi
  NETNS "$PT" flood --max 9000 --format json > "$TMP/p.json" || true
  pt_field "$TMP/p.json" 'round(r["rate_per_s"])' >> "$TMP/pt9"
  line="  run $i:"
  [ -n "$REF" ] && line="$line reference $(tail -1 "$TMP/ref9") conn/s,"
  line="$line porttune $(tail -1 "$TMP/pt9") conn/s"
  if [ -n "${BASE:-}" ]; then
    NETNS "$BASE" flood --max 9000 --format json > "$TMP/b.json" || true
    pt_field "$TMP/b.json" 'round(r["rate_per_s"])' >> "$TMP/base9"
    line="$line, base $(tail -1 "$TMP/base9") conn/s"
  fi
  echo "$line"
done
R9=$(median < "$TMP/ref9"); P9=$(median < "$TMP/pt9")
if [ -n "$REF" ]; then
  echo "  median: reference $R9 conn/s, porttune $P9 conn/s, ratio $(awk "BEGIN {printf \"%.2f\", $P9/$R9}") (goal >= 1.0)"
else
  echo "  median: porttune $P9 conn/s (no reference: no ratio)"
fi
if [ -n "${BASE:-}" ] && [ -z "$REF" ]; then
  B9=$(median < "$TMP/base9")
  echo "  base: $B9 conn/s; this/base $(awk "BEGIN {printf \"%.2f\", $P9/$B9}") (regression if < 0.90)"
elif [ -n "${BASE:-}" ]; then
  B9=$(median < "$TMP/base9")
  echo "  base: $B9 conn/s, ratio $(awk "BEGIN {printf \"%.2f\", $B9/$R9}") to the reference; this/base $(awk "BEGIN {printf \"%.2f\", $P9/$B9}") (regression if < 0.90)"
fi

[ "${SKIP_BIG:-0}" = 1 ] && exit 0

echo "== $BIG_N connections, several processes ($BIG_RUNS run(s) each, order alternating, ${COOL} s apart)"
# CPU seconds (user + system, all processes of the run: opening, holding and closing) of the
# command that follows, into $TMP/cpu; the kernel's work for a connection is charged to the
# process that makes the call, so this is what each tool costs the machine.
TIMED_NETNS() {
  if [ -x /usr/bin/time ]; then
    /usr/bin/time -f "%U %S" -o "$TMP/cpu" unshare -n sh -c "$NETNS_BODY" netns "$@"
  else
    echo "0 0" > "$TMP/cpu"; NETNS "$@"
  fi
}
cpu_s() { awk '{printf "%.1f\n", $1 + $2}' "$TMP/cpu"; }
ref_big() {
  TIMED_NETNS "$REF" -n "$BIG_N" -P 0 -D > "$TMP/r.txt"
  cpu_s >> "$TMP/refcpu"
  RT=$(ref_field "$TMP/r.txt" t$BIG_N); RP=$(ref_field "$TMP/r.txt" procs)
  RB=$(ref_field "$TMP/r.txt" slab_B_per_conn)
  echo "$RT" >> "$TMP/refbig"
  echo "  reference: $BIG_N in ${RT} s ($RP procs), CPU $(cpu_s) s, kernel slab ${RB} B/conn"
  sleep "$COOL"
}
pt_big() {
  TIMED_NETNS "$PT" flood --workers auto --max "$BIG_N" --duration 60 --format json > "$TMP/p.json" || true
  cpu_s >> "$TMP/ptcpu"
  PTT=$(pt_field "$TMP/p.json" '([round(m["seconds"],3) for m in r["milestones"] if m["connections"]=='"$BIG_N"'] or ["not-reached"])[0]')
  PW=$(pt_field "$TMP/p.json" 'r["config"]["workers"]')
  PK=$(pt_field "$TMP/p.json" 'round(r["state_at_limit"]["kernel_memory_kb"]*1024/max(r["established"],1))')
  PB=$(pt_field "$TMP/p.json" 'r["state_at_limit"]["bytes_per_connection"]')
  PU=$(pt_field "$TMP/p.json" 'r["state_at_limit"].get("user_bytes_per_connection")')
  echo "$PTT" >> "$TMP/ptbig"
  echo "  porttune:  $BIG_N in ${PTT} s ($PW workers), CPU $(cpu_s) s, kernel slab ${PK} B/conn, the workers' own (PSS) ${PU} B/conn, slab + worker RSS ${PB} B/conn"
  sleep "$COOL"
}
: > "$TMP/refbig"; : > "$TMP/ptbig"; : > "$TMP/refcpu"; : > "$TMP/ptcpu"
i=0
while [ $i -lt "$BIG_RUNS" ]; do
  i=$((i + 1))
  if [ -z "$REF" ]; then pt_big; elif [ $((i % 2)) = 1 ]; then ref_big; pt_big; else pt_big; ref_big; fi
done
PBT=$(median < "$TMP/ptbig")
if [ -n "$REF" ]; then
  RB=$(median < "$TMP/refbig")
  RC=$(median < "$TMP/refcpu"); PC=$(median < "$TMP/ptcpu")
  echo "  median: reference ${RB} s, porttune ${PBT} s, ratio $(awk "BEGIN {printf \"%.2f\", $PBT/$RB}") (goal <= 0.6)"
  if [ "$RC" = 0 ] || [ "$RC" = 0.0 ]; then
    echo "  CPU not measured (no /usr/bin/time: apt-get install time)"
  else
    echo "  CPU of a whole run (median): reference ${RC} s, porttune ${PC} s, ratio $(awk "BEGIN {printf \"%.2f\", $PC/$RC}")"
  fi
  echo "  (a run cannot take less than its CPU over the $(nproc) CPUs: the kernel's work per connection bounds both)"
else
  echo "  median: porttune ${PBT} s (no reference: no ratio)"
fi
