#!/usr/bin/env bash
# The verification matrix (docs/runtimes.md): real servers started under chosen limits, each in
# its own private network namespace (`unshare -n`), read with `porttune check --pid` and
# flooded with `porttune flood --target`. Every case asserts that what the server held (its own
# sockets on the port, sampled by the flood) equals the prediction within max(1, 0.5 %) and that
# the bottleneck is the expected one. Needs root, util-linux (prlimit, unshare), iproute2 and
# the servers: nginx-light, haproxy, redis-server, nodejs, python3, golang-go, a JDK,
# postgresql, mariadb-server, mosquitto, pgbouncer, lighttpd, memcached, apache2,
# rabbitmq-server, ejabberd.
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
import asyncio, os
cap = int(os.environ.get("MAXCONN", "0"))  # an application cap (closes the excess), like Node's
held = 0
async def h(r, w):
    global held
    if cap and held >= cap:
        w.close()
        return
    held += 1
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

# A client that opens sessions until refused 5 times in a row (or N are open), prints the
# count, then holds them until its standard input closes: a database login as an ordinary user
# (`pg`: PostgreSQL v3 startup with trust authentication; `my`: MySQL 4.1 with an empty
# password), or a greeting for servers that drop idle TCP or refuse only after one (`mqtt`
# CONNECT, `memcached` version, `http` an unfinished request, `pgstart` the startup packet a
# pooler reads). What a server held is counted from its own fd table, not from here.
cat > "$W/hold.py" <<'EOF'
import socket, struct, sys, time
kind, port, user, n = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
def recv(s, k):
    b = b""
    while len(b) < k:
        d = s.recv(k - len(b))
        if not d: raise OSError("closed")
        b += d
    return b
def startup(s):
    body = struct.pack("!I", 196608) + b"user\0" + user.encode() + b"\0database\0" + (b"db" if kind == "pgstart" else b"postgres") + b"\0\0"
    s.sendall(struct.pack("!I", len(body) + 4) + body)
def pg():
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    startup(s)
    while True:
        t = recv(s, 1); ln = struct.unpack("!I", recv(s, 4))[0]
        if ln > 1 << 20: raise OSError("refused")
        m = recv(s, ln - 4)
        if t == b"Z": return s
        if t == b"E": raise OSError(m.decode(errors="replace"))
def my():
    s = socket.create_connection(("127.0.0.1", port), timeout=3)
    def pkt():
        h = recv(s, 4); return h[3], recv(s, h[0] | h[1] << 8 | h[2] << 16)
    seq, g = pkt()
    if g[0] == 0xff: raise OSError(g[3:].decode(errors="replace"))
    body = struct.pack("<IIB", 0x1 | 0x200 | 0x8000 | 0x80000, 1 << 24, 33) + b"\0" * 23 + user.encode() + b"\0\0mysql_native_password\0"
    s.sendall(struct.pack("<I", len(body))[:3] + bytes([seq + 1]) + body)
    _, r = pkt()
    if r[0] != 0: raise OSError(r[3:].decode(errors="replace"))
    return s
def greet(i):
    s = socket.create_connection(("127.0.0.1", port), timeout=1)
    if kind == "mqtt":
        cid = b"c%d" % i
        vh = b"\x00\x04MQTT\x04\x02\x00\x3c" + struct.pack("!H", len(cid)) + cid
        s.sendall(bytes([0x10, len(vh)]) + vh)
        if recv(s, 4)[3] != 0: raise OSError("refused")
    elif kind == "memcached":
        s.sendall(b"version\r\n")
        if not s.recv(128).startswith(b"VERSION "): raise OSError("refused")
    elif kind == "http":
        s.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\n")
    elif kind == "pgstart":
        startup(s)
    elif kind == "httpka":
        # one request answered, then idle (HTTP/1.1 keep-alive); a pause lets the worker
        # that answered go back to idle (Apache's event MPM counts idle workers)
        s.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
        b = b""
        while b"\r\n\r\n" not in b:
            d = s.recv(4096)
            if not d: raise OSError("closed")
            b += d
        head, body = b.split(b"\r\n\r\n", 1)
        h = head.decode(errors="replace").lower()
        if "connection: close" in h: raise OSError("close")
        n = int(h.split("content-length:")[1].split("\r\n")[0])
        while len(body) < n:
            d = s.recv(4096)
            if not d: raise OSError("closed")
            body += d
        time.sleep(0.2)
    elif kind == "amqp":
        s.settimeout(3)
        s.sendall(b"AMQP\x00\x00\x09\x01")
        if amqp_method(s)[:2] != (10, 10): raise OSError("no Connection.Start")
        p = b"\x00\x0a\x00\x0b" + struct.pack("!I", 0) + shortstr(b"PLAIN") + struct.pack("!I", 12) + b"\0guest\0guest" + shortstr(b"en_US")
        s.sendall(amqp_frame(p))
        c, m, a = amqp_method(s)
        if (c, m) != (10, 30): raise OSError("no Connection.Tune")
        s.sendall(amqp_frame(b"\x00\x0a\x00\x1f" + a[0:6] + b"\x00\x00"))
        s.sendall(amqp_frame(b"\x00\x0a\x00\x28" + shortstr(b"/") + shortstr(b"") + b"\x00"))
        if amqp_method(s)[:2] != (10, 41): raise OSError("no Connection.Open-Ok")
    elif kind == "xmpp":
        s.settimeout(1.5)
        s.sendall(b"<?xml version='1.0'?><stream:stream to='localhost' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>")
        if b"<?xml" not in s.recv(64): raise OSError("no stream header")
    return s
def shortstr(b):
    return bytes([len(b)]) + b
def amqp_frame(p):
    return b"\x01\x00\x00" + struct.pack("!I", len(p)) + p + b"\xce"
def amqp_method(s):
    h = recv(s, 7)
    n = struct.unpack("!I", h[3:7])[0]
    if n > 1 << 20 or h[0] != 1 or n < 4: raise OSError("bad frame")
    b = recv(s, n + 1)
    return struct.unpack("!H", b[0:2])[0], struct.unpack("!H", b[2:4])[0], b[4:n]
held, fails = [], 0
while len(held) < n and fails < 5:
    try:
        held.append(pg() if kind == "pg" else my() if kind == "my" else greet(len(held))); fails = 0
    except OSError:
        fails += 1
print(len(held))
sys.stdout.flush()
sys.stdin.read()
EOF
PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
pg_data() { # dir max_connections: an initdb'd data directory owned by postgres
  local d=$1
  mkdir -p "$d"; chown postgres "$d"
  runuser -u postgres -- "$PG_BIN/initdb" -N -A trust -U postgres -D "$d/data" >/dev/null 2>&1
  echo "max_connections = $2" >> "$d/data/postgresql.conf"
  echo "$d/data"
}
my_data() { # dir max_connections: a MariaDB data directory and option file, run as mysql
  local d=$1
  mkdir -p "$d"; chown mysql "$d"
  printf '[mysqld]\ndatadir=%s/data\nsocket=%s/sock\npid-file=%s/pid\nport=8080\nbind-address=127.0.0.1\nskip-log-bin\nlog-error=%s/err.log\nmax_connections=%s\n' "$d" "$d" "$d" "$d" "$2" > "$d/my.cnf"
  runuser -u mysql -- mariadb-install-db --defaults-file="$d/my.cnf" --auth-root-authentication-method=socket --skip-test-db >/dev/null 2>&1
  echo "$d/my.cnf"
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
    # EPMD=1: an Erlang port mapper of its own first; TREE=1: the server in a session of its
    # own, stopped as a whole (its children too); SRVPID=1: predict for the started process
    # (Apache: the parent, not a child that shares its listener); WAITN: listen wait in 50 ms
    if [ -n "${EPMD:-}" ]; then epmd >/dev/null 2>&1 & epmd_pid=$!; sleep 0.5; fi
    if [ -n "${TREE:-}" ]; then setsid "$@" >/dev/null 2>&1 & else "$@" >/dev/null 2>&1 & fi
    srv=$!
    trap "if [ -n \"\${TREE:-}\" ]; then kill -- -\$srv 2>/dev/null; for i in \$(seq 50); do kill -0 -- -\$srv 2>/dev/null || break; sleep 0.1; done; kill -9 -- -\$srv 2>/dev/null; fi; kill \$srv 2>/dev/null; sleep 0.3; kill -9 \$srv 2>/dev/null; [ -n \"\${epmd_pid:-}\" ] && kill \$epmd_pid 2>/dev/null; wait 2>/dev/null" EXIT
    for i in $(seq "${WAITN:-200}"); do grep -q ":1F90 00000000:0000 0A" /proc/net/tcp && break; sleep 0.05; done
    sleep "${SETTLE:-0.3}"
    pid=$(ss -ltnpH "sport = :8080" | grep -o "pid=[0-9]*" | head -1 | cut -d= -f2)
    [ -n "${SRVPID:-}" ] && pid=$srv
    "$PT" check --pid "$pid" --format json $CARGS > "$OUT.check"
    if [ -n "${DB:-}" ]; then
      # a database: an ordinary user logs in until refused; held = what the server then has
      if [ "$DB" = pg ]; then
        for i in $(seq 100); do psql -h "$DBSOCK" -p 8080 -U postgres -qc "create role app login" postgres 2>/dev/null && break; sleep 0.1; done
        sleep 1   # until the backend of the admin login has gone
      else
        for i in $(seq 100); do mariadb -S "$DBSOCK" -u root -e "create user app@127.0.0.1" 2>/dev/null && break; sleep 0.1; done
        # restart, so that no thread is left cached by the admin login
        kill "$pid"; for i in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        "$@" >/dev/null 2>&1 &
        srv=$!
        for i in $(seq 200); do grep -q ":1F90 00000000:0000 0A" /proc/net/tcp && break; sleep 0.05; done
        sleep 1
        pid=$(ss -ltnpH "sport = :8080" | grep -o "pid=[0-9]*" | head -1 | cut -d= -f2)
      fi
      "$PT" check --pid "$pid" --format json $CARGS > "$OUT.check"
      n=$(python3 -c "import json;print(json.load(open(\"$OUT.check\"))[\"prediction\"][\"ceiling\"])")
      before=$(ls -l /proc/$pid/fd | grep -c "socket:")
      exec 3> >(python3 "$W/hold.py" "$DB" 8080 app $((n + 40)) > "$OUT.logins")
      for i in $(seq 900); do [ -s "$OUT.logins" ] && break; sleep 0.1; done
      sleep 0.5
      if [ "$DB" = pg ]; then
        held=$(ps -o cmd= --ppid "$pid" | grep -c "^postgres: app ")
      else
        held=$(( $(ls -l /proc/$pid/fd | grep -c "socket:") - before ))
      fi
      logins=$(cat "$OUT.logins")
      exec 3>&-
      printf "{\"target\": {\"server_accepted\": %s, \"logins\": %s}, \"verdict\": \"%s\", \"stop\": {\"ceiling\": \"refused\"}}\n" \
        "$held" "$logins" "$([ "$held" = "$logins" ] && echo match || echo differs)" > "$OUT.flood"
      kill "$pid" 2>/dev/null
    elif [ -n "${PROTO:-}" ]; then
      # a protocol server: sessions opened up to 30 past the prediction; held = the sockets
      # the server then has beyond those it had
      n=$(python3 -c "import json;print(json.load(open(\"$OUT.check\"))[\"prediction\"][\"ceiling\"])")
      # COUNT=ss: connections on the port owned by any process (Apache'"'"'s children), not
      # those still waiting in the accept queue (they have no owner yet)
      if [ -n "${COUNT:-}" ]; then
        socks() { ss -tnpH state established "( sport = :8080 )" | grep -c "users:"; }
      else
        socks() { ls -l /proc/$pid/fd 2>/dev/null | grep -c "socket:"; }
      fi
      before=$(socks)
      exec 3> >(python3 "$W/hold.py" "$PROTO" 8080 app $((n + 30)) > "$OUT.sessions")
      for i in $(seq 900); do [ -s "$OUT.sessions" ] && break; sleep 0.1; done
      # until the count stays the same for 0.5 s (a loaded machine: children still accepting)
      last=-1
      for i in $(seq 20); do sleep 0.5; now=$(socks); [ "$now" = "$last" ] && break; last=$now; done
      held=$(( now - before ))
      exec 3>&-
      printf "{\"target\": {\"server_accepted\": %s, \"sessions\": %s}, \"verdict\": \"-\", \"stop\": {\"ceiling\": \"%s sessions\"}}\n" \
        "$held" "$(cat "$OUT.sessions")" "$PROTO" > "$OUT.flood"
    elif [ -n "${DIES:-}" ]; then
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
case_() { local n=$1 w=$2 a=$3 tool=$4; shift 4; OUT="$W/$n.out" CARGS="$a" RUNTIME_TOOL=$tool DIES="${DIES:-}" PROTO="${PROTO:-}" run_case "$n" "$w" "$a" "$@"; }
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
case_ python-asyncio-app-limit app_limit "--app-limit 300:max_clients" python3 \
  env MAXCONN=300 prlimit --nofile=4096:4096 python3 "$W/asyncio_hold.py"
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

# PostgreSQL: max_connections − 3 reserved for ordinary roles; a backend process per
# connection, so RLIMIT_NPROC of user postgres (every task of that user counted)
if [ -n "$PG_BIN" ]; then
  for c in "pg-max-connections 30 4096 postgres_max_connections" "pg-nproc 100 30 tasks"; do
    set -- $c
    if [ -z "$FILTER" ] || [[ "$1" == *"$FILTER"* ]]; then
      d=$(pg_data "$W/$1" "$2")
      DB=pg DBSOCK="$W/$1" case_ "$1" "$4" "" runuser \
        runuser -u postgres -- prlimit --nproc="$3:$3" "$PG_BIN/postgres" -D "$d" -p 8080 \
        -c listen_addresses=127.0.0.1 -c unix_socket_directories="$W/$1" -c autovacuum=off
    fi
  done
else
  echo "SKIP postgres: not installed"; skip=$((skip+2))
fi
# MySQL/MariaDB: max_connections; the fd limit (MariaDB 10.11 does not lower max_connections
# to fit it: accept() fails with EMFILE); a thread per connection under RLIMIT_NPROC
if command -v mariadbd >/dev/null 2>&1; then
  for c in "mysql-max-connections 50 4096 4096 mysql_max_connections" \
           "mysql-fd-limit 1000 1024 4096 process_fds" "mysql-nproc 500 4096 100 tasks"; do
    set -- $c
    if [ -z "$FILTER" ] || [[ "$1" == *"$FILTER"* ]]; then
      f=$(my_data "$W/$1" "$2")
      DB=my DBSOCK="$W/$1/sock" case_ "$1" "$5" "" mariadbd \
        runuser -u mysql -- prlimit --nofile="$3:$3" --nproc="$4:$4" mariadbd --defaults-file="$f"
    fi
  done
else
  echo "SKIP mysql: mariadbd not installed"; skip=$((skip+3))
fi

# The server catalog's products, held with their own protocol.
# mosquitto: max_connections, then its fd limit (less the fd libwrap takes per accept)
mosquitto_conf() { # dir extra-lines
  mkdir -p "$1"
  printf 'user root\nlistener 8080 127.0.0.1\nallow_anonymous true\npersistence false\nlog_dest none\n%b' "$2" > "$1/m.conf"
  echo "$1/m.conf"
}
PROTO=mqtt case_ mosquitto-max-connections mosquitto_max_connections "" mosquitto \
  prlimit --nofile=4096:4096 mosquitto -c "$(mosquitto_conf "$W/mq1" 'max_connections 40\n')"
PROTO=mqtt case_ mosquitto-fd-limit process_fds "" mosquitto \
  prlimit --nofile=128:128 mosquitto -c "$(mosquitto_conf "$W/mq2" '')"
# ... per listener: 50 on the flooded port 8080, 30 on a second listener
PROTO=mqtt case_ mosquitto-two-listeners mosquitto_max_connections "--port 8080" mosquitto \
  prlimit --nofile=4096:4096 mosquitto -c "$(mosquitto_conf "$W/mq3" 'max_connections 50\nlistener 18830 127.0.0.1\nmax_connections 30\n')"
# PgBouncer: max_client_conn, then its fd limit (it does not raise it); run as postgres
pgb_ini() { # dir extra-lines
  mkdir -p "$1"; chown postgres "$1"
  printf '[databases]\ndb = host=127.0.0.1 port=5999 dbname=db user=app\n[pgbouncer]\nlogfile = %s/pgb.log\nlisten_addr = 127.0.0.1\nlisten_port = 8080\nunix_socket_dir =\nauth_type = any\n%b' "$1" "$2" > "$1/pgb.ini"
  echo "$1/pgb.ini"
}
PROTO=pgstart case_ pgbouncer-max-client-conn pgbouncer_max_client_conn "" pgbouncer \
  runuser -u postgres -- prlimit --nofile=4096:4096 pgbouncer -q "$(pgb_ini "$W/pb1" 'max_client_conn = 50\n')"
PROTO=pgstart case_ pgbouncer-fd-limit process_fds "" pgbouncer \
  runuser -u postgres -- prlimit --nofile=96:96 pgbouncer -q "$(pgb_ini "$W/pb2" '')"
# lighttpd: server.max-connections as set, and its default (a third of the fd limit)
lighttpd_conf() { # dir extra-lines
  mkdir -p "$1"
  printf 'server.document-root = "%s"\nserver.bind = "127.0.0.1"\nserver.port = 8080\nserver.errorlog = "%s/err.log"\n%b' "$1" "$1" "$2" > "$1/l.conf"
  echo "$1/l.conf"
}
PROTO=http case_ lighttpd-max-connections lighttpd_max_connections "" lighttpd \
  prlimit --nofile=1024:1024 lighttpd -D -f "$(lighttpd_conf "$W/lt1" 'server.max-connections = 60\n')"
PROTO=http case_ lighttpd-default lighttpd_max_connections "" lighttpd \
  prlimit --nofile=300:300 lighttpd -D -f "$(lighttpd_conf "$W/lt2" '')"
# memcached: -c (it sets its own fd limit from it), with 4 and 8 threads
PROTO=memcached case_ memcached-conn-limit memcached_maxconns "" memcached \
  prlimit --nofile=1024:1024 memcached -u nobody -l 127.0.0.1 -p 8080 -U 0 -c 200
PROTO=memcached case_ memcached-eight-threads memcached_maxconns "" memcached \
  prlimit --nofile=1024:1024 memcached -u nobody -l 127.0.0.1 -p 8080 -U 0 -c 300 -t 8

# Apache httpd (Debian's package configuration, copied): the MPM's workers hold requests being
# read (HTTP requests whose headers are not complete), and with prefork and worker idle
# keep-alive sessions (one GET answered each) too; the event MPM's idle keep-alive sessions
# are capped by AsyncRequestWorkerFactor instead; a child's fd limit. Counted from the connections the children own.
apache_root() { # dir mpm "mpm lines"
  mkdir -p "$1/run" "$1/lock" "$1/log"
  cp -a /etc/apache2 "$1/apache2"
  echo "Listen 127.0.0.1:8080" > "$1/apache2/ports.conf"
  rm -f "$1"/apache2/mods-enabled/mpm_*
  ln -s "../mods-available/mpm_$2.load" "$1/apache2/mods-enabled/mpm_$2.load"
  printf '<IfModule mpm_%s_module>\n%b</IfModule>\n' "$2" "$3" > "$1/apache2/mods-enabled/mpm_$2.conf"
  echo "$1"
}
apache_env() { # dir
  echo APACHE_RUN_USER=www-data APACHE_RUN_GROUP=www-data APACHE_PID_FILE="$1/run/pid" \
    APACHE_RUN_DIR="$1/run" APACHE_LOCK_DIR="$1/lock" APACHE_LOG_DIR="$1/log" LANG=C
}
apache_case() { # name bottleneck check-args proto nofile mpm "mpm lines"
  if [ -n "$FILTER" ] && [[ "$1" != *"$FILTER"* ]]; then return; fi
  if ! command -v apache2 >/dev/null 2>&1; then echo "SKIP $1: apache2 not installed"; skip=$((skip+1)); return; fi
  local d; d=$(apache_root "$W/$1" "$6" "$7")
  PROTO=$4 COUNT=1 TREE=1 SRVPID=1 SETTLE=3 case_ "$1" "$2" "$3" apache2 \
    env $(apache_env "$d") prlimit --nofile="$5:$5" apache2 -d "$d/apache2" -f apache2.conf -DFOREGROUND
}
apache_case apache-prefork apache_max_request_workers "" http 1024 prefork \
  'StartServers 20\nMinSpareServers 20\nMaxSpareServers 40\nServerLimit 20\nMaxRequestWorkers 20\n'
apache_case apache-prefork-keep-alive apache_max_request_workers "--keep-alive" httpka 1024 prefork \
  'StartServers 20\nMinSpareServers 20\nMaxSpareServers 40\nServerLimit 20\nMaxRequestWorkers 20\nKeepAliveTimeout 60\n'
apache_case apache-worker apache_max_request_workers "" http 1024 worker \
  'StartServers 3\nServerLimit 3\nThreadsPerChild 16\nMinSpareThreads 16\nMaxSpareThreads 48\nMaxRequestWorkers 40\n'
apache_case apache-worker-keep-alive apache_max_request_workers "--keep-alive" httpka 1024 worker \
  'StartServers 3\nServerLimit 3\nThreadsPerChild 16\nMinSpareThreads 16\nMaxSpareThreads 48\nMaxRequestWorkers 40\nKeepAliveTimeout 60\n'
apache_case apache-event-workers apache_max_request_workers "" http 1024 event \
  'StartServers 1\nServerLimit 1\nThreadsPerChild 8\nMinSpareThreads 8\nMaxSpareThreads 16\nMaxRequestWorkers 8\nKeepAliveTimeout 60\n'
apache_case apache-event-keep-alive apache_async_connections "--keep-alive" httpka 1024 event \
  'StartServers 1\nServerLimit 1\nThreadsPerChild 8\nMinSpareThreads 8\nMaxSpareThreads 16\nMaxRequestWorkers 8\nKeepAliveTimeout 60\n'
apache_case apache-event-child-fds process_fds "" http 40 event \
  'StartServers 1\nServerLimit 1\nThreadLimit 64\nThreadsPerChild 64\nMinSpareThreads 64\nMaxSpareThreads 128\nMaxRequestWorkers 64\n'

# RabbitMQ (the package's start script, its own epmd, a boot of 20–40 s): connection_max, then
# the file-handle cache's socket limit sized from the fd limit at boot (200 fds: 90 sockets);
# held with AMQP sessions (Connection.Open-Ok as guest from loopback)
rabbit_case() { # name bottleneck "conf lines"
  if [ -n "$FILTER" ] && [[ "$1" != *"$FILTER"* ]]; then return; fi
  local srvbin=/usr/lib/rabbitmq/bin/rabbitmq-server d="$W/$1"
  if [ ! -x "$srvbin" ]; then echo "SKIP $1: rabbitmq-server not installed"; skip=$((skip+1)); return; fi
  mkdir -p "$d"
  printf '%b%b' "${RLISTEN:-listeners.tcp.1 = 127.0.0.1:8080\n}" "$3" > "$d/rabbitmq.conf"
  echo "${RPLUGINS:-[].}" > "$d/enabled_plugins"; : > "$d/rabbitmq-env.conf"
  PROTO=${RPROTO:-amqp} COUNT=1 TREE=1 EPMD=1 WAITN=1800 SETTLE=2 RUNTIME_TOOL=epmd case_ "$1" "$2" "${RARGS:-}" epmd \
    env HOME="$d" RABBITMQ_CONFIG_FILE="$d/rabbitmq.conf" RABBITMQ_CONF_ENV_FILE="$d/rabbitmq-env.conf" \
    RABBITMQ_ENABLED_PLUGINS_FILE="$d/enabled_plugins" RABBITMQ_MNESIA_BASE="$d/mnesia" \
    RABBITMQ_LOG_BASE="$d/log" RABBITMQ_PID_FILE="$d/pid" RABBITMQ_NODENAME=rabbit@localhost \
    RABBITMQ_DIST_PORT=25673 prlimit --nofile=200:200 "$srvbin"
}
rabbit_case rabbitmq-connection-max rabbitmq_connection_max 'connection_max = 60\n'
rabbit_case rabbitmq-socket-limit rabbitmq_socket_limit ''
# ... the MQTT plugin's listener (on 8080; AMQP's on 5672): connection_max with its own 4
# acceptors, judged with check --port 8080 and held with MQTT sessions
RPROTO=mqtt RPLUGINS='[rabbitmq_mqtt].' RARGS='--port 8080' \
  RLISTEN='listeners.tcp.1 = 127.0.0.1:5672\nmqtt.listeners.tcp.1 = 127.0.0.1:8080\n' \
  rabbit_case rabbitmq-mqtt-listener rabbitmq_connection_max 'connection_max = 40\nmqtt.num_acceptors.tcp = 4\n'

# ejabberd (ejabberdctl foreground as user ejabberd, its own epmd): its fd limit and Erlang's
# fd table (sized from it at boot; erlang_max_fds ties), 300 fds; held with XMPP streams (the
# server's stream header)
ejabberd_case() { # name
  if [ -n "$FILTER" ] && [[ "$1" != *"$FILTER"* ]]; then return; fi
  local ctl=/usr/sbin/ejabberdctl d="$W/$1"
  if [ ! -x "$ctl" ] || ! id ejabberd >/dev/null 2>&1; then echo "SKIP $1: ejabberd not installed"; skip=$((skip+1)); return; fi
  mkdir -p "$d/spool" "$d/logs"
  printf 'hosts:\n  - localhost\nloglevel: info\nlisten:\n  -\n    port: 8080\n    ip: "127.0.0.1"\n    module: ejabberd_c2s\nmodules: {}\n' > "$d/ejabberd.yml"
  echo 'ERL_OPTIONS="-env ERL_CRASH_DUMP_BYTES 0"' > "$d/ejabberdctl.cfg"
  chown -R ejabberd:ejabberd "$d"
  PROTO=xmpp COUNT=1 TREE=1 EPMD=1 WAITN=1800 SETTLE=2 case_ "$1" process_fds "" setpriv \
    env -C "$d" HOME="$d" setpriv --reuid=ejabberd --regid=ejabberd --init-groups -- \
    prlimit --nofile=300:300 "$ctl" --ctl-config "$d/ejabberdctl.cfg" --config "$d/ejabberd.yml" \
    --spool "$d/spool" --logs "$d/logs" foreground
}
ejabberd_case ejabberd-fd-table

echo "matrix: $pass passed, $fail failed, $skip skipped"
[ "$fail" = 0 ]
