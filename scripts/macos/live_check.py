#!/usr/bin/env python3
"""Compare porttune's live answer on a Mac with what the Mac itself says (sysctl -n, ulimit -n),
and the seed's flood with its prediction. Run by .github/workflows/macos.yml on real Macs.

  live_check.py check PORTTUNE       values read by `porttune check --format json` vs sysctl -n
  live_check.py words FILE...        no Linux-only word in porttune's macOS output
  live_check.py seed CHECK_JSON OUT  the node held within 0.5 % of the prediction

Exit 1 with every difference listed."""
import json
import subprocess
import sys

# Words only Linux says; a macOS answer must not contain them.
LINUX_WORDS = [
    "net.core", "net.ipv4", "fs.file-max", "fs.nr_open", "conntrack", "CAP_", "LimitNOFILE",
    "IP_BIND_ADDRESS_NO_PORT", "namespace", "MemAvailable", "cgroup", "tcp_tw_reuse",
    "tcp_abort_on_overflow", "ListenOverflows", "limits.d", "systemd", "/proc", "sockstat",
    "ip_local_port_range", "60 s",
]


def sysctl(name):
    return subprocess.run(["sysctl", "-n", name], check=True, capture_output=True,
                          text=True, timeout=10).stdout.strip()


def ulimit_n():
    return subprocess.run(["/bin/sh", "-c", "ulimit -n"], check=True, capture_output=True,
                          text=True, timeout=10).stdout.strip()


def porttune_json(porttune, *args):
    out = subprocess.run([porttune, "check", "--format", "json", *args], capture_output=True,
                         text=True, timeout=120)
    if out.returncode not in (0, 1):
        sys.exit(f"porttune check {' '.join(args)}: exit {out.returncode}\n{out.stderr}")
    return json.loads(out.stdout)


def inputs(v):
    return {i["key"]: i.get("value") for i in v.get("inputs", [])}


def check(porttune):
    bad = []
    seen = {}
    for args in (["--scenario", "outbound", "--churn"], ["--acceptor-paused"], []):
        v = porttune_json(porttune, *args)
        seen.update(inputs(v))
        soft = v["process"]["nofile_soft"]
        if str(soft) != ulimit_n():
            bad.append(f"RLIMIT_NOFILE soft: porttune {soft}, ulimit -n {ulimit_n()}")
    want = {
        "kern.maxfiles": sysctl("kern.maxfiles"),
        "kern.maxfilesperproc": sysctl("kern.maxfilesperproc"),
        "kern.ipc.somaxconn": sysctl("kern.ipc.somaxconn"),
        "net.inet.ip.portrange": sysctl("net.inet.ip.portrange.first") + " "
        + sysctl("net.inet.ip.portrange.last"),
    }
    for k, w in want.items():
        if seen.get(k) != w:
            bad.append(f"{k}: porttune {seen.get(k)!r}, sysctl -n {w!r}")
    # Available memory: more than the free pages alone, at most the memory there is.
    avail = seen.get("memory.available", "")
    total = int(sysctl("hw.memsize")) >> 10
    free = int(sysctl("vm.page_free_count")) * int(sysctl("hw.pagesize")) >> 10
    try:
        kb = int(avail.split()[0])
        if not free <= kb <= total:
            bad.append(f"memory.available {kb} kB not within free {free} .. hw.memsize {total}")
    except (ValueError, IndexError):
        bad.append(f"memory.available not read: {avail!r}")
    report(bad, "porttune check agrees with sysctl -n and ulimit -n")


def words(files):
    bad = []
    for f in files:
        with open(f, encoding="utf-8", errors="replace") as fh:
            for n, line in enumerate(fh, 1):
                for w in LINUX_WORDS:
                    if w in line:
                        bad.append(f"{f}:{n}: {w!r}: {line.strip()[:160]}")
    report(bad, f"no Linux word in {len(files)} file(s)")


def seed(check_json, out):
    with open(check_json, encoding="utf-8") as fh:
        v = json.load(fh)
    predicted = v["prediction"]["ceiling"]
    held = None
    with open(out, encoding="utf-8", errors="replace") as fh:
        for line in fh:
            if line.startswith("held "):
                held = int(line.split()[1])
    bad = []
    if held is None:
        bad.append(f"the node printed no 'held N' line ({out})")
    elif abs(held - predicted) > 0.005 * predicted:
        bad.append(f"held {held}, predicted {predicted} ({v['prediction']['bottleneck']}): "
                   f"{abs(held - predicted) / predicted:.2%} off, more than 0.5 %")
    print(f"predicted {predicted} ({v['prediction']['bottleneck']}), held {held}")
    report(bad, "the seed's node stopped within 0.5 % of the prediction")


def report(bad, ok):
    if bad:
        print("\n".join(bad))
        sys.exit(1)
    print(ok)


if __name__ == "__main__":
    cmd = sys.argv[1] if len(sys.argv) > 1 else ""
    if cmd == "check" and len(sys.argv) == 3:
        check(sys.argv[2])
    elif cmd == "words" and len(sys.argv) > 2:
        words(sys.argv[2:])
    elif cmd == "seed" and len(sys.argv) == 4:
        seed(sys.argv[2], sys.argv[3])
    else:
        sys.exit(__doc__)
