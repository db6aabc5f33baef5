#!/usr/bin/env bash
# The verification matrix (docs/runtimes.md): real servers started under chosen limits, each in
# its own private network namespace (`unshare -n`), read with `porttune check --pid` and
# flooded with `porttune flood --target`. Every case asserts that what the server held (its own
# sockets on the port, sampled by the flood) equals the prediction within max(1, 0.5 %) and that
# the bottleneck is the expected one. Needs root, util-linux (prlimit, unshare), iproute2 and
# the servers: nginx-light, haproxy, redis-server, nodejs, python3, golang-go, a JDK.
# Every server and flood is bounded (a few thousand connections, --duration 20) and killed.
#
#   scripts/server-matrix.sh [PORTTUNE] [CASE-FILTER]
set -uo pipefail
PT=${1:-$(dirname "$0")/../target/release/porttune}
PT=$(realpath "$PT")
FILTER=${2:-}
[ "$(id -u)" = 0 ] || { echo "needs root (unshare -n)"; exit 2; }
W=$(mktemp -d /tmp/porttune-matrix.XXXXXX)
chmod 755 "$W"
trap 'rm -rf "$W"' EXIT
pass=0; fail=0; skip=0

# --- the servers -------------------------------------------------------------------------------
cat > "$W/hold.js" <<'EOF'
const s = require('net').createServer(c => c.on('error', () => {}));
if (process.env.MAXCONN) s.maxConnections = +process.env.MAXCONN;
s.on('error', () => {});
s.listen(8080, '127.0.0.1');
EOF
cat > "$W/asyncio_hold.py" <<'EOF'
import asyncio
async def h(r, w):
    await asyncio.Event().wait()
async def main():
    s = await asyncio.start_server(h, "127.0.0.1", 8080, backlog=4096)
    await s.serve_forever()
asyncio.run(main())
EOF
cat > "$W/select_hold.py" <<'EOF'
import selectors, socket
sel = selectors.SelectSelector()
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 8080)); s.listen(4096); s.setblocking(False)
sel.register(s, selectors.EVENT_READ)
while True:
    for key, _ in sel.select():
        if key.fileobj is s:
            c, _ = s.accept(); c.setblocking(False); sel.register(c, selectors.EVENT_READ)
        elif not key.fileobj.recv(64):
            sel.unregister(key.fileobj); key.fileobj.close()
EOF
mkdir -p "$W/gohold"
cat > "$W/gohold/main.go" <<'EOF'
package main

import (
	"net"
	"time"
)

func main() {
	l, err := net.Listen("tcp", "127.0.0.1:8080")
	if err != nil {
		panic(err)
	}
	var held []net.Conn
	for {
		c, err := l.Accept()
		if err != nil {
			time.Sleep(5 * time.Millisecond) // EMFILE: back off, as net/http does
			continue
		}
		held = append(held, c)
	}
}
EOF
cat > "$W/Hold.java" <<'EOF'
import java.net.*;
import java.nio.channels.*;
import java.util.*;
public class Hold {
    public static void main(String[] a) throws Exception {
        ServerSocketChannel s = ServerSocketChannel.open();
        s.bind(new InetSocketAddress("127.0.0.1", 8080), 4096);
        List<SocketChannel> held = new ArrayList<>();
        while (true) {
            try { held.add(s.accept()); }
            catch (java.io.IOException e) { Thread.sleep(5); }
        }
    }
}
EOF
nginx_conf() { # dir workers wc rlimit
  local d=$1
  mkdir -p "$d"
  { echo "worker_processes $2;"; [ -n "$4" ] && echo "worker_rlimit_nofile $4;"
    echo "pid $d/nginx.pid; error_log $d/error.log warn; events { worker_connections $3; }"
    echo "http { access_log off; client_body_temp_path $d/b; proxy_temp_path $d/p; fastcgi_temp_path $d/f; uwsgi_temp_path $d/u; scgi_temp_path $d/s;"
    echo "  server { listen 127.0.0.1:8080; return 204; } }"; } > "$d/nginx.conf"
  echo "$d/nginx.conf"
}
haproxy_conf() { # dir global-lines frontend-lines
  local d=$1
  mkdir -p "$d"
  printf 'global\n    nbthread 1\n%bdefaults\n    mode http\n    timeout connect 5s\n    timeout client 60s\n    timeout server 60s\n    timeout http-request 60s\nfrontend fe\n    bind 127.0.0.1:8080\n%b    default_backend be\nbackend be\n    server s1 127.0.0.1:9\n' "$2" "$3" > "$d/h.cfg"
  echo "$d/h.cfg"
}
redis_conf() { # dir maxclients
  local d=$1
  mkdir -p "$d"
  printf 'port 8080\nbind 127.0.0.1\nsave ""\nappendonly no\ndir %s\nmaxclients %s\n' "$d" "$2" > "$d/r.conf"
  echo "$d/r.conf"
}

# --- one case ----------------------------------------------------------------------------------
# run_case NAME EXPECTED-BOTTLENECK "CHECK-ARGS" COMMAND...
run_case() {
  local name=$1 want=$2 cargs=$3; shift 3
  if [ -n "$FILTER" ] && [[ "$name" != *"$FILTER"* ]]; then return; fi
  if ! command -v "${RUNTIME_TOOL:-$1}" >/dev/null 2>&1; then
    echo "SKIP $name: ${RUNTIME_TOOL:-$1} not installed"; skip=$((skip+1)); return
  fi
  local out="$W/$name.out"
  unshare -n bash -c '
    ip link set lo up
    echo 1024 > /proc/sys/net/core/somaxconn   # this namespace only: queues fill fast
    "$@" >/dev/null 2>&1 &
    srv=$!
    trap "kill \$srv 2>/dev/null; sleep 0.3; kill -9 \$srv 2>/dev/null; wait" EXIT
    for i in $(seq 200); do grep -q ":1F90 00000000:0000 0A" /proc/net/tcp && break; sleep 0.05; done
    sleep 0.3
    pid=$(ss -ltnpH "sport = :8080" | grep -o "pid=[0-9]*" | head -1 | cut -d= -f2)
    "$PT" check --pid "$pid" --format json $CARGS > "$OUT.check"
    if [ -n "${DIES:-}" ]; then
      # a server that dies at its limit: hold the predicted count, then one more
      n=$(python3 -c "import json;print(json.load(open(\"$OUT.check\"))[\"prediction\"][\"ceiling\"])")
      python3 - "$n" "$srv" > "$OUT.flood" <<"PY"
import json, os, socket, sys, time
n, srv = int(sys.argv[1]), int(sys.argv[2])
def alive():
    try:
        return open(f"/proc/{srv}/stat").read().rsplit(") ", 1)[1][0] not in "ZX"
    except OSError:
        return False
def socks():
    return sum(1 for f in os.listdir(f"/proc/{srv}/fd") if os.readlink(f"/proc/{srv}/fd/{f}").startswith("socket:"))
base = socks(); cs = []
for i in range(n):
    cs.append(socket.create_connection(("127.0.0.1", 8080)))
time.sleep(0.5)
held = socks() - base
ok_alive = alive()
cs.append(socket.create_connection(("127.0.0.1", 8080)))
for _ in range(60):
    if not alive(): break
    time.sleep(0.05)
print(json.dumps({"target": {"server_accepted": held if ok_alive else None}, "verdict": "match" if ok_alive and not alive() else "differs", "stop": {"ceiling": "dies at one more" if not alive() else None}}))
PY
    else
      "$PT" flood --target 127.0.0.1:8080 --connect-timeout 300 --max 5000 --duration 20 --format json $CARGS > "$OUT.flood"
    fi
  ' _ "$@" </dev/null
  python3 - "$out" "$want" "$name" <<'EOF'
import json, sys
out, want, name = sys.argv[1:4]
try:
    c = json.load(open(out + ".check")); f = json.load(open(out + ".flood"))
except Exception as e:
    print(f"FAIL {name}: no output ({e})"); sys.exit(1)
pred, bott = c["prediction"]["ceiling"], c["prediction"]["bottleneck"]
held = (f.get("target") or {}).get("server_accepted")
ok = held is not None and abs(held - pred) <= max(1, 0.005 * pred) and bott == want
tol_note = ""
if not ok and held is not None and f.get("verdict") == "match" and bott == want:
    ok, tol_note = True, " (within the server's shedding swing)"
print(f"{'PASS' if ok else 'FAIL'} {name}: predicted {pred} ({bott}), held {held}, flood verdict {f.get('verdict')}, stop {f['stop'].get('ceiling')}{tol_note}")
sys.exit(0 if ok else 1)
EOF
  if [ $? = 0 ]; then pass=$((pass+1)); else fail=$((fail+1)); fi
}
export PT
export -f run_case 2>/dev/null || true
case_() { local n=$1 w=$2 a=$3 tool=$4; shift 4; OUT="$W/$n.out" CARGS="$a" RUNTIME_TOOL=$tool DIES="${DIES:-}" run_case "$n" "$w" "$a" "$@"; }
export W

# nginx: the connection table, then worker_rlimit_nofile
case_ nginx-worker-connections nginx_worker_connections "" nginx \
  prlimit --nofile=1024:1024 nginx -c "$(nginx_conf "$W/ng1" 1 256 "")" -g "daemon off;"
case_ nginx-worker-rlimit-nofile process_fds "" nginx \
  prlimit --nofile=1024:1024 nginx -c "$(nginx_conf "$W/ng2" 1 1024 200)" -g "daemon off;"
case_ nginx-two-workers-fd-limit process_fds "" nginx \
  prlimit --nofile=100:100 nginx -c "$(nginx_conf "$W/ng3" 2 1024 "")" -g "daemon off;"
# HAProxy: maxconn computed from the fd limit, set globally, set on the frontend
case_ haproxy-auto-maxconn haproxy_maxconn "" haproxy \
  prlimit --nofile=512:1024 haproxy -db -f "$(haproxy_conf "$W/hp1" "" "")"
case_ haproxy-global-maxconn haproxy_maxconn "" haproxy \
  prlimit --nofile=1024:1024 haproxy -db -f "$(haproxy_conf "$W/hp2" "    maxconn 300\n" "")"
case_ haproxy-frontend-maxconn haproxy_maxconn "" haproxy \
  prlimit --nofile=1024:1024 haproxy -db -f "$(haproxy_conf "$W/hp3" "    maxconn 300\n" "    maxconn 120\n")"
# Redis: maxclients lowered to the fd limit − 32, and as configured
case_ redis-reduced redis_maxclients "" redis-server \
  prlimit --nofile=1024:1024 redis-server "$(redis_conf "$W/rd1" 5000)"
case_ redis-maxclients redis_maxclients "" redis-server \
  prlimit --nofile=4096:4096 redis-server "$(redis_conf "$W/rd2" 300)"
# Node: raises soft to hard; server.maxConnections only the operator knows
case_ node-fd-limit process_fds "" node prlimit --nofile=256:1024 node "$W/hold.js"
case_ node-max-connections app_limit "--app-limit 200:server.maxConnections" node \
  env MAXCONN=200 prlimit --nofile=4096:4096 node "$W/hold.js"
# Python: asyncio (epoll) bound by the fd limit; a select() loop by FD_SETSIZE
case_ python-asyncio-fd-limit process_fds "" python3 prlimit --nofile=700:700 python3 "$W/asyncio_hold.py"
# (a select() loop dies at its limit: held = the predicted count keeps it alive, one more kills it)
DIES=1 case_ python-select-fd-setsize select_fd_setsize "" python3 prlimit --nofile=2048:2048 python3 "$W/select_hold.py"
DIES=1 case_ python-select-fd-limit process_fds "" python3 prlimit --nofile=600:600 python3 "$W/select_hold.py"
# Go: raises soft to hard (≥ 1.19)
if command -v go >/dev/null 2>&1 && (cd "$W/gohold" && GOCACHE="$W/gocache" GOPATH="$W/gopath" GO111MODULE=off go build -o "$W/gohold/gohold" . 2>/dev/null); then
  case_ go-raises-to-hard process_fds "" go prlimit --nofile=256:1024 "$W/gohold/gohold"
  case_ go-fd-limit process_fds "" go prlimit --nofile=512:512 "$W/gohold/gohold"
else
  echo "SKIP go: go build failed or go missing"; skip=$((skip+2))
fi
# JVM: raises soft to hard (MaxFDLimit), or not with -XX:-MaxFDLimit
case_ jvm-raises-to-hard process_fds "" java prlimit --nofile=256:1024 java "$W/Hold.java"
case_ jvm-no-maxfdlimit process_fds "" java prlimit --nofile=512:1024 java -XX:-MaxFDLimit "$W/Hold.java"

echo "matrix: $pass passed, $fail failed, $skip skipped"
[ "$fail" = 0 ]
