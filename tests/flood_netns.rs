//! `porttune flood` in private network namespaces: the flood must measure what the model
//! predicts, and stop for the right, named reason. Each test sets its limits inside
//! `unshare -n` (net.* only) or with prlimit on porttune itself; nothing global changes.

mod common;

use common::*;
use serde_json::Value;

fn flood(sysctls: &[(&str, &str)], args: &[&str]) -> (Value, std::process::Output) {
    let mut all = vec!["flood", "--format", "json"];
    all.extend_from_slice(args);
    let out = netns_porttune(sysctls, &all);
    (json(&out), out)
}

fn dump(out: &std::process::Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn assert_ports(v: &Value, out: &std::process::Output, expected: u64) {
    let d = dump(out);
    assert_eq!(v["established"], expected, "{d}");
    assert_eq!(v["stop"]["reason"], "limit", "{d}");
    assert_eq!(v["stop"]["errno"], "EADDRNOTAVAIL", "{d}");
    assert_eq!(v["stop"]["call"], "connect", "{d}");
    assert_eq!(v["stop"]["ceiling"], "ephemeral_ports", "{d}");
    assert_eq!(v["prediction"]["ceiling"], expected, "{d}");
    assert_eq!(v["prediction"]["bottleneck"], "ephemeral_ports", "{d}");
    assert_eq!(v["verdict"], "match", "{d}");
    assert_eq!(v["survival"]["ok"], true, "{d}");
    assert_eq!(out.status.code(), Some(0), "{d}");
}

const RANGE_1000: (&str, &str) = ("net.ipv4.ip_local_port_range", "40000 40999");

#[test]
#[ignore = "needs root and unshare -n"]
fn flood_port_range_1000() {
    if !need_root("flood_port_range_1000") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let md = dir.path().join("flood.md");
    let (v, out) = flood(&[RANGE_1000], &["--report", md.to_str().unwrap()]);
    assert_ports(&v, &out, 1000);
    let report = std::fs::read_to_string(&md).unwrap();
    for section in [
        "## Configuration",
        "## Milestones",
        "## Breaking point",
        "## Analysis",
        "## How to lift the limit",
    ] {
        assert!(report.contains(section), "{section} missing:\n{report}");
    }
    assert!(report.contains("EADDRNOTAVAIL at connect()"), "{report}");
    assert!(report.contains("ip_local_port_range"), "{report}");
    // the listener sits outside the ephemeral range
    let port = v["config"]["listen_ports"][0].as_u64().unwrap();
    assert!(!(40000..=40999).contains(&port), "{}", dump(&out));
    assert_eq!(v["config"]["listen_ports_in_range"], 0);
}

#[test]
#[ignore = "needs root and unshare -n"]
fn flood_port_range_two_listen_ports() {
    if !need_root("flood_port_range_two_listen_ports") {
        return;
    }
    let (v, out) = flood(&[RANGE_1000], &["--listen-ports", "2"]);
    assert_ports(&v, &out, 2000);
}

#[test]
#[ignore = "needs root and unshare -n"]
fn flood_port_range_three_source_ips() {
    if !need_root("flood_port_range_three_source_ips") {
        return;
    }
    let (v, out) = flood(&[RANGE_1000], &["--source-ips", "3"]);
    assert_ports(&v, &out, 3000);
}

#[test]
#[ignore = "needs root and unshare -n"]
fn flood_nofile_1024() {
    if !need_root("flood_nofile_1024") {
        return;
    }
    let out =
        netns_sh("exec prlimit --nofile=1024:1024 \"$PORTTUNE\" flood --format json --max 3000");
    let v = json(&out);
    let d = dump(&out);
    let measured = v["established"].as_u64().unwrap();
    let predicted = v["prediction"]["ceiling"].as_u64().expect(&d);
    assert!(measured.abs_diff(predicted) <= 2, "{d}");
    assert!((500..=511).contains(&measured), "{d}");
    assert_eq!(v["stop"]["errno"], "EMFILE", "{d}");
    assert_eq!(v["stop"]["ceiling"], "process_fds", "{d}");
    assert_eq!(v["prediction"]["bottleneck"], "process_fds", "{d}");
    assert_eq!(v["verdict"], "match", "{d}");
    assert_eq!(out.status.code(), Some(0), "{d}");
}

#[test]
#[ignore = "needs root and unshare -n"]
fn flood_workers_each_own_fd_budget() {
    if !need_root("flood_workers_each_own_fd_budget") {
        return;
    }
    let out = netns_sh(
        "exec prlimit --nofile=1024:1024 \"$PORTTUNE\" flood --format json --workers 3 --max 3000",
    );
    let v = json(&out);
    let d = dump(&out);
    let measured = v["established"].as_u64().unwrap();
    let predicted = v["prediction"]["ceiling"].as_u64().expect(&d);
    assert!(measured > 1500 && measured <= 1533, "{d}");
    assert!(measured.abs_diff(predicted) <= 2, "{d}");
    assert_eq!(v["config"]["workers"], 3, "{d}");
    assert_eq!(v["stop"]["ceiling"], "process_fds", "{d}");
    assert_eq!(v["verdict"], "match", "{d}");
}

#[test]
#[ignore = "needs root and unshare -n"]
fn flood_max_reached() {
    if !need_root("flood_max_reached") {
        return;
    }
    let (v, out) = flood(&[], &["--max", "1500", "--workers", "2"]);
    let d = dump(&out);
    assert_eq!(v["established"], 1500, "{d}");
    assert_eq!(v["stop"]["reason"], "max", "{d}");
    assert_eq!(v["verdict"], "max_reached", "{d}");
    assert_eq!(v["milestones"][0]["connections"], 1000, "{d}");
    assert_eq!(out.status.code(), Some(0), "{d}");
    // --require above what was reached fails
    let (_, out) = flood(&[], &["--max", "100", "--require", "200"]);
    assert_eq!(out.status.code(), Some(1), "{}", dump(&out));
}

/// A server that listens (address, port and backlog from argv) and never accepts.
const SERVER_PY: &str = r#"
import socket, sys, time
fam = socket.AF_INET6 if ":" in sys.argv[2] else socket.AF_INET
s = socket.socket(fam)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[2], 8080))
s.listen(int(sys.argv[3]))
open(sys.argv[1], "w").write("ready")
time.sleep(30)
"#;

/// Run a never-accepting server on `addr`:8080 with `backlog`, then flood it.
fn flood_paused_server(addr: &str, backlog: u32, sysctls: &[(&str, &str)]) -> std::process::Output {
    let dir = tempfile::tempdir().unwrap();
    let py = dir.path().join("server.py");
    std::fs::write(&py, SERVER_PY).unwrap();
    let ready = dir.path().join("ready");
    let mut script = String::new();
    for (k, v) in sysctls {
        script.push_str(&sysctl_set(k, v));
        script.push('\n');
    }
    let target = if addr.contains(':') {
        format!("[{addr}]:8080")
    } else {
        format!("{addr}:8080")
    };
    script.push_str(&format!(
        "python3 {} {} {addr} {backlog} & srv=$!\n\
         for i in $(seq 100); do [ -e {} ] && break; sleep 0.05; done\n\
         set +e\n\"$PORTTUNE\" flood --format json --target {target} --connect-timeout 300\n\
         rc=$?\nkill $srv\nexit $rc",
        sh_quote(py.to_str().unwrap()),
        sh_quote(ready.to_str().unwrap()),
        sh_quote(ready.to_str().unwrap()),
    ));
    netns_sh(&script)
}

#[test]
#[ignore = "needs root and unshare -n"]
fn flood_target_accept_queue() {
    if !need_root("flood_target_accept_queue") {
        return;
    }
    let out = flood_paused_server(
        "127.0.0.1",
        100,
        &[
            ("net.core.somaxconn", "16"),
            ("net.ipv4.tcp_syn_retries", "1"),
        ],
    );
    let v = json(&out);
    let d = dump(&out);
    // backlog 100 capped by somaxconn 16: 16 + 1
    assert_eq!(v["target"]["backlog"], 16, "{d}");
    assert_eq!(v["established"], 17, "{d}");
    assert_eq!(v["stop"]["errno"], "ETIMEDOUT", "{d}");
    assert_eq!(v["stop"]["ceiling"], "accept_queue", "{d}");
    assert_eq!(v["target"]["stopped_accepting"], true, "{d}");
    assert_eq!(v["target"]["command"], "python3", "{d}");
    assert_eq!(v["prediction"]["ceiling"], 17, "{d}");
    assert_eq!(v["prediction"]["bottleneck"], "accept_queue", "{d}");
    assert_eq!(v["verdict"], "match", "{d}");
    assert!(
        v["state_at_limit"]["listen_overflows"].as_u64().unwrap() > 0,
        "{d}"
    );
}

#[test]
#[ignore = "needs root and unshare -n"]
fn flood_target_ipv6_loopback() {
    if !need_root("flood_target_ipv6_loopback") {
        return;
    }
    let out = flood_paused_server("::1", 5, &[("net.ipv4.tcp_syn_retries", "1")]);
    let v = json(&out);
    let d = dump(&out);
    assert_eq!(v["target"]["backlog"], 5, "{d}");
    assert_eq!(v["established"], 6, "{d}");
    assert_eq!(v["stop"]["ceiling"], "accept_queue", "{d}");
    assert_eq!(v["prediction"]["ceiling"], 6, "{d}");
    assert_eq!(v["verdict"], "match", "{d}");
}

#[test]
#[ignore = "needs root and unshare -n"]
fn flood_target_refused_is_not_a_limit() {
    if !need_root("flood_target_refused_is_not_a_limit") {
        return;
    }
    let (v, out) = flood(&[], &["--target", "127.0.0.1:9"]);
    let d = dump(&out);
    assert_eq!(v["stop"]["errno"], "ECONNREFUSED", "{d}");
    assert_eq!(v["stop"]["ceiling"], serde_json::Value::Null, "{d}");
    assert_eq!(v["established"], 0, "{d}");
    assert_eq!(v["verdict"], "differs", "{d}");
    assert_eq!(out.status.code(), Some(1), "{d}");
}

#[test]
#[ignore = "needs root and unshare -n"]
fn flood_churn_time_wait() {
    if !need_root("flood_churn_time_wait") {
        return;
    }
    let (v, out) = flood(
        &[
            ("net.ipv4.ip_local_port_range", "40000 40199"),
            ("net.ipv4.tcp_tw_reuse", "0"),
        ],
        &["--churn", "--duration", "5"],
    );
    let d = dump(&out);
    let cycles = v["established"].as_u64().unwrap();
    assert!((195..=200).contains(&cycles), "{d}");
    assert_eq!(v["stop"]["errno"], "EADDRNOTAVAIL", "{d}");
    assert_eq!(v["stop"]["ceiling"], "time_wait_rate", "{d}");
    assert!(v["churn"]["time_wait"].as_u64().unwrap() >= 195, "{d}");
    // the model's sustainable rate: 200 ports / 60 s
    let r = v["churn"]["model_rate_per_s"].as_f64().expect(&d);
    assert!((r - 200.0 / 60.0).abs() < 0.01, "{d}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("TIME_WAIT"),
        "{d}"
    );
}

/// Start `setup` then `porttune flood FLOOD_ARGS` in the background, send SIGINT after
/// 0.5 s, and return (timing/cleanup facts, the flood's JSON report, a dump for messages).
/// Start a flood, wait until `ready` (a shell condition) holds while it runs (a ready signal,
/// not a fixed sleep, so a loaded machine only waits longer), then SIGINT it.
fn sigint_mid_flood(
    setup: &str,
    flood_args: &str,
    ready: &str,
) -> (serde_json::Value, serde_json::Value, String) {
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("out.json");
    let script = format!(
        "set +e\n\
         before=$(awk '/^TCP:/ {{print $3}}' /proc/net/sockstat)\n\
         {setup}\n\
         \"$PORTTUNE\" flood --format json {flood_args} > {report} 2>&1 & pid=$!\n\
         for i in $(seq 1500); do kill -0 $pid 2>/dev/null || break; {ready} && break; sleep 0.02; done\n\
         kids=$(pgrep -P $pid | tr '\\n' ' ')\n\
         t0=$(date +%s%N)\n\
         kill -INT $pid\n\
         wait $pid; rc=$?\n\
         t1=$(date +%s%N)\n\
         [ -n \"${{srv:-}}\" ] && {{ kill $srv; wait $srv 2>/dev/null; sleep 0.1; }}\n\
         after=$(awk '/^TCP:/ {{print $3}}' /proc/net/sockstat)\n\
         left=0; for k in $kids; do kill -0 $k 2>/dev/null && left=$((left+1)); done\n\
         echo \"{{\\\"ms\\\": $(( (t1 - t0) / 1000000 )), \\\"before\\\": $before, \\\"after\\\": $after, \\\"kids\\\": \\\"$kids\\\", \\\"left\\\": $left, \\\"rc\\\": $rc}}\"",
        report = sh_quote(report.to_str().unwrap()),
    );
    let out = netns_sh(&script);
    let v = json(&out);
    let d = dump(&out);
    assert!(v["ms"].as_u64().unwrap() < 2000, "{d}");
    assert_eq!(v["after"], v["before"], "{d}");
    assert_eq!(v["left"], 0, "{d}");
    assert!(!v["kids"].as_str().unwrap().trim().is_empty(), "{d}");
    let r: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).expect(&d);
    assert_eq!(r["stop"]["reason"], "signal", "{d}\n{r}");
    assert_eq!(r["verdict"], "incomplete", "{d}\n{r}");
    assert_eq!(v["rc"], 130, "Ctrl-C exits 130: {d}");
    (v, r, d)
}

#[test]
#[ignore = "needs root and unshare -n"]
fn flood_sigint_cleans_up() {
    if !need_root("flood_sigint_cleans_up") {
        return;
    }
    // One tuple and a 10,000-port range: past half the range each connect() scans the used
    // half (limits-facts 1.6), so the run lasts about 1.5 s and the signal lands mid-flood.
    let (_, r, _) = sigint_mid_flood(
        "echo '40000 49999' > /proc/sys/net/ipv4/ip_local_port_range",
        "--max 100000 --duration 60",
        // Both ends are in the namespace: 2 × 1,001 established sockets.
        "[ $(ss -Htn state established | wc -l) -ge 2002 ]",
    );
    assert!(r["established"].as_u64().unwrap() > 1000, "{r}");
}

#[test]
#[ignore = "needs root and unshare -n"]
fn flood_leaves_nothing_behind() {
    if !need_root("flood_leaves_nothing_behind") {
        return;
    }
    // default close: RST, so neither live sockets nor TIME_WAIT remain; --graceful: FIN,
    // and the client ends stay in TIME_WAIT
    let script = "set +e\n\
        \"$PORTTUNE\" flood --max 2000 --workers 2 > /dev/null 2>&1\n\
        a=$(awk '/^TCP:/ {print $3, $7}' /proc/net/sockstat)\n\
        \"$PORTTUNE\" flood --max 2000 --graceful > /dev/null 2>&1\n\
        sleep 0.2\n\
        b=$(awk '/^TCP:/ {print $3, $7}' /proc/net/sockstat)\n\
        set -- $a $b\n\
        echo \"{\\\"inuse\\\": $1, \\\"tw\\\": $2, \\\"inuse_graceful\\\": $3, \\\"tw_graceful\\\": $4}\"";
    let out = netns_sh(script);
    let v = json(&out);
    let d = dump(&out);
    assert_eq!(v["inuse"], 0, "{d}");
    assert_eq!(v["tw"], 0, "{d}");
    assert_eq!(v["inuse_graceful"], 0, "{d}");
    assert!(v["tw_graceful"].as_u64().unwrap() >= 1900, "{d}");
}

/// SIGINT while the flood waits on a server that has stopped accepting (a deterministic
/// mid-run moment, whatever the machine's speed): exits within 2 s, leaves no socket and
/// no worker behind, and reports the signal.
#[test]
#[ignore = "needs root and unshare -n"]
fn flood_sigint_during_target_wait() {
    if !need_root("flood_sigint_during_target_wait") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let py = dir.path().join("server.py");
    std::fs::write(&py, SERVER_PY).unwrap();
    let ready = sh_quote(dir.path().join("ready").to_str().unwrap());
    let (_, r, _) = sigint_mid_flood(
        &format!(
            "python3 {} {ready} 127.0.0.1 4096 & srv=$!\n\
             for i in $(seq 100); do [ -e {ready} ] && break; sleep 0.05; done",
            sh_quote(py.to_str().unwrap())
        ),
        "--target 127.0.0.1:8080 --connect-timeout 20000 --duration 60",
        // The window of 64 connects is in the server's queue.
        "[ $(ss -Htn state established '( dport = :8080 )' | wc -l) -ge 64 ]",
    );
    // Paced on the server's queue (the window of 64): they were waiting when the signal came.
    assert_eq!(r["established"], 64, "{r}");
}

/// A run that --duration stops before any limit (the server stopped accepting and the
/// connects wait 20 s, the run lasts 1 s) is `incomplete`, exit 1, with why; not `differs`.
#[test]
#[ignore = "needs root and unshare -n"]
fn flood_stopped_by_duration_is_incomplete() {
    if !need_root("flood_stopped_by_duration_is_incomplete") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let py = dir.path().join("server.py");
    std::fs::write(&py, SERVER_PY).unwrap();
    let ready = sh_quote(dir.path().join("ready").to_str().unwrap());
    let script = format!(
        "python3 {} {ready} 127.0.0.1 4096 & srv=$!\n\
         trap 'kill $srv' EXIT\n\
         for i in $(seq 100); do [ -e {ready} ] && break; sleep 0.05; done\n\
         rc=0; \"$PORTTUNE\" flood --target 127.0.0.1:8080 --connect-timeout 20000 --duration 1 --format json || rc=$?\n\
         echo \"rc=$rc\" >&2\n\
         \"$PORTTUNE\" flood --target 127.0.0.1:8080 --connect-timeout 20000 --duration 1 >&2 || true",
        sh_quote(py.to_str().unwrap())
    );
    let out = netns_sh(&script);
    let d = dump(&out);
    let v = json(&out);
    assert_eq!(v["stop"]["reason"], "deadline", "{d}");
    assert_eq!(v["verdict"], "incomplete", "{d}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("rc=1"), "{d}");
    assert!(
        err.contains("incomplete: --duration 1 s ran out"),
        "the text says why: {d}"
    );
    // The text report fits 80 columns when piped.
    for line in err
        .lines()
        .skip_while(|l| !l.starts_with("porttune flood:"))
    {
        assert!(line.chars().count() <= 80, "{line}\n{d}");
    }
}
