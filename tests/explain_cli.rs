//! `porttune explain` through the binary: matching, the host's values from saved snapshots,
//! JSON, exit codes, bounded input; and `check`'s kernel-log evidence from a snapshot.

mod common;

use assert_cmd::Command;

const SEED: &str = "driver_select(0x0000000143ce6b40, 24576, ERL_DRV_WRITE ERL_DRV_USE, 1) by tcp_inet driver #Port<0.24531> failed: fd=24576 is larger than the largest allowed fd=24575";

fn fixture(name: &str) -> String {
    format!(
        "{}/tests/fixtures/snapshots/{name}",
        env!("CARGO_MANIFEST_DIR")
    )
}

fn porttune() -> Command {
    let mut c = Command::new(common::bin());
    c.env("NO_COLOR", "1");
    c
}

/// Runs porttune with `args` (and `stdin` on its standard input): its exit code and its
/// standard output read as JSON.
fn run_json<I, S>(args: I, stdin: Option<&str>) -> (Option<i32>, serde_json::Value)
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    let mut c = porttune();
    c.args(args);
    if let Some(input) = stdin {
        c.write_stdin(input);
    }
    let out = c.output().unwrap();
    (out.status.code(), common::json(&out))
}

/// `explain --no-host --format json MSG`: matching only.
fn explain_json(msg: &str) -> (Option<i32>, serde_json::Value) {
    run_json(["explain", "--no-host", "--format", "json", msg], None)
}

fn run(args: &[&str]) -> (Option<i32>, String) {
    let out = porttune().args(args).output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
    )
}

#[test]
fn the_seed_without_a_host() {
    let (code, v) = explain_json(SEED);
    assert_eq!(code, Some(0));
    assert_eq!(v["schema"], 1);
    let m = &v["matches"][0];
    assert_eq!(m["ceiling"], "erlang_max_fds", "{v}");
    assert_eq!(m["pattern"], "erlang_large_fd");
    assert_eq!(m["numbers"]["largest_allowed_fd"], 24575);
    assert!(m["not_lifted_by"].as_str().unwrap().contains("+Q"), "{m}");
    assert!(
        m["implied"][0]
            .as_str()
            .unwrap()
            .contains("12,278 on loopback")
    );
    assert!(m["current"].is_null());
    assert_eq!(v["matches"].as_array().unwrap().len(), 1);

    let (code, text) = run(&["explain", "--no-host", SEED]);
    assert_eq!(code, Some(0));
    assert!(text.contains("1. erlang_max_fds"), "{text}");
    assert!(
        text.contains("will not lift it: +Q / ERL_MAX_PORTS"),
        "{text}"
    );
    assert!(text.contains("ulimit -n"), "{text}");
}

#[test]
fn nothing_recognised_exits_2() {
    let (code, text) = run(&["explain", "everything is fine"]);
    assert_eq!(code, Some(2), "{text}");
    assert!(
        text.contains("No connection-limit message recognised"),
        "{text}"
    );
    let (code, _) = run(&["explain", "--format", "prometheus", "EMFILE"]);
    assert_eq!(code, Some(2));
}

/// The Erlang node of the fixture (+Q 8192, max_fds 20000, 19 fds open) on loopback:
/// erlang_port_limit (8192 − 3 − 1)/2 = 4,094 is the bottleneck, erlang_max_fds
/// (20000 − 19 − 1)/2 = 9,990 is not.
#[test]
fn on_a_saved_erlang_node() {
    let from = fixture("erlang-node.yaml");
    let args = |msg: &'static str| {
        vec![
            "explain",
            "--from",
            &from,
            "--scenario",
            "loopback",
            "--format",
            "json",
            msg,
        ]
        .into_iter()
        .map(str::to_string)
        .collect::<Vec<_>>()
    };
    let (code, v) = run_json(args(SEED), None);
    assert_eq!(code, Some(0), "max_fds is not the bottleneck here");
    let cur = &v["matches"][0]["current"];
    assert_eq!(cur["ceiling"], "erlang_max_fds");
    assert_eq!(cur["value"], 9990, "{v}");
    assert_eq!(cur["binding"], false);
    assert!(v["host"].as_str().unwrap().contains("PID 7000"), "{v}");

    let (code, v) = run_json(args("{error,system_limit}"), None);
    assert_eq!(code, Some(1), "the port table is still binding");
    let m = &v["matches"][0];
    assert_eq!(m["ceiling"], "erlang_port_limit");
    assert_eq!(m["current"]["value"], 4094, "{v}");
    assert_eq!(m["current"]["binding"], true);
    // Next rung: 9,990 (process_fds and erlang_max_fds tie there; the cheaper lift first).
    assert_eq!(m["current"]["next"]["value"], 9990, "{v}");
    assert_eq!(v["binding"], true);
    // Candidates are valued too (system_limit from spawn is the process table).
    assert_eq!(
        m["candidates_current"][0]["ceiling"],
        "erlang_process_limit"
    );
}

#[test]
fn host_wide_and_not_modelled_ceilings() {
    let from = fixture("linux-defaults.yaml");
    // process_fds: (1024 − 3)/1 = 1,021 inbound: the bottleneck.
    let on = |msg: &str| run_json(["explain", "--from", &from, "--format", "json", msg], None);
    let (code, v) = on("OSError: [Errno 24] Too many open files");
    assert_eq!(code, Some(1));
    assert_eq!(v["matches"][0]["current"]["value"], 1021, "{v}");
    let ids: Vec<&str> = v["matches"][0]["current"]["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert!(ids.contains(&"SoftLimit1024"), "{ids:?}");
    // conntrack is not loaded in that snapshot: recognised, not a limit there, exit 0.
    let (code, v) = on("nf_conntrack: table full, dropping packet");
    assert_eq!(code, Some(0));
    let cur = &v["matches"][0]["current"];
    assert!(cur["value"].is_null());
    assert!(
        cur["why"].as_str().unwrap().contains("not a limit here"),
        "{cur}"
    );
    // erlang_max_fds on a native process: says how to get the value.
    let (code, text) = run(&["explain", "--from", &from, SEED]);
    assert_eq!(code, Some(0));
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(flat.contains("pass --pid of the node"), "{text}");
}

#[test]
fn stdin_and_a_log_file_tail() {
    let (code, v) = run_json(
        ["explain", "--no-host", "--format", "json", "-"],
        Some("hello\n2026/11/30 [alert] 7#7: 512 worker_connections are not enough\n"),
    );
    assert_eq!(code, Some(0));
    assert_eq!(v["input"]["source"], "standard input");
    assert_eq!(v["matches"][0]["line"], 2);
    assert_eq!(v["matches"][0]["numbers"]["worker_connections"], 512);

    // A log larger than 8 MiB: only its last 8 MiB are read, from the first full line.
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("error.log");
    let mut s = String::from("java.net.SocketException: Too many open files\n");
    let filler = "2026/11/30 [info] 7#7: client closed connection while waiting for request\n";
    while s.len() < (9 << 20) {
        s.push_str(filler);
    }
    s.push_str("TCP: too many orphaned sockets\n");
    std::fs::write(&log, &s).unwrap();
    let (code, v) = run_json(
        ["explain", "--no-host", "--format", "json", "--file"]
            .map(std::ffi::OsStr::new)
            .into_iter()
            .chain([log.as_os_str()]),
        None,
    );
    assert_eq!(code, Some(0));
    let ms = v["matches"].as_array().unwrap();
    assert_eq!(ms.len(), 1, "the first line is beyond the 8 MiB tail: {v}");
    assert_eq!(ms[0]["pattern"], "kernel_orphans");
    assert!(
        v["input"]["truncated"]
            .as_str()
            .unwrap()
            .contains("last 8 MiB")
    );
    assert!(v["input"]["bytes"].as_u64().unwrap() <= 8 << 20);

    let (code, text) = run(&["explain", "--file", "/nonexistent/x.log"]);
    assert_eq!(code, Some(2), "{text}");
    assert!(text.contains("/nonexistent/x.log"), "{text}");
}

/// A snapshot with kernel-log evidence (as the probe records it): `check` reports it as a
/// KernelLog warning with the time seen; an old snapshot without the field still loads.
#[test]
fn check_reports_kernel_log_evidence_from_a_snapshot() {
    let base = std::fs::read_to_string(fixture("linux-defaults.yaml")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let with = dir.path().join("with-log.yaml");
    std::fs::write(
        &with,
        format!(
            "{base}kernel_log:\n  source: /dev/kmsg\n  lines:\n    - seen: \"2026-11-30T15:00:00Z\"\n      text: \"nf_conntrack: nf_conntrack: table full, dropping packet\"\n    - seen: \"2026-11-30T15:09:00Z\"\n      text: \"nf_conntrack: nf_conntrack: table full, dropping packet\"\n"
        ),
    )
    .unwrap();
    let with_s = with.to_str().unwrap();
    let (_, v) = run_json(["check", "--format", "json", "--from", with_s], None);
    let kl: Vec<&serde_json::Value> = v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["id"] == "KernelLog")
        .collect();
    assert_eq!(kl.len(), 1, "{v}");
    assert_eq!(kl[0]["severity"], "warning");
    let msg = kl[0]["message"].as_str().unwrap();
    assert!(
        msg.contains("2× between 2026-11-30T15:00:00Z and 2026-11-30T15:09:00Z")
            && msg.contains("conntrack already hit"),
        "{msg}"
    );

    // explain puts that evidence next to the ceiling it names (here a candidate of ETIMEDOUT).
    let (_, v) = run_json(
        [
            "explain",
            "--format",
            "json",
            "--from",
            with_s,
            "connect: Connection timed out",
        ],
        None,
    );
    let ct = v["matches"][0]["candidates_current"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["ceiling"] == "conntrack")
        .unwrap()
        .clone();
    assert!(
        ct["checks"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["id"] == "KernelLog"),
        "{v}"
    );

    let unreadable = dir.path().join("unreadable.yaml");
    std::fs::write(
        &unreadable,
        format!("{base}kernel_log:\n  unreadable: \"/dev/kmsg: Operation not permitted\"\n"),
    )
    .unwrap();
    let (code, text) = run(&["check", "--from", unreadable.to_str().unwrap()]);
    assert_eq!(code, Some(0), "{text}");
    assert!(
        text.contains("[INFO KernelLog] the kernel log could not be read"),
        "{text}"
    );

    let (_, text) = run(&["check", "--from", &fixture("linux-defaults.yaml")]);
    assert!(!text.contains("KernelLog"), "{text}");
}

/// Without the right to read the kernel log, `check` says so (an info check naming each
/// source tried) and still exits 0. Run as nobody with kernel.dmesg_restrict as it is here.
#[test]
#[ignore = "needs root (setpriv to an unprivileged user)"]
fn check_says_when_the_kernel_log_is_unreadable() {
    if !common::need_root("kernel_log_unreadable") {
        return;
    }
    let restricted = std::fs::read_to_string("/proc/sys/kernel/dmesg_restrict")
        .map(|s| s.trim() == "1")
        .unwrap_or(false);
    let out = std::process::Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(common::bin())
        .args(["check", "--format", "json"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v = common::json(&out);
    let kl: Vec<&serde_json::Value> = v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["id"] == "KernelLog")
        .collect();
    if restricted {
        assert_eq!(kl.len(), 1, "{v}");
        assert_eq!(kl[0]["severity"], "info");
        let msg = kl[0]["message"].as_str().unwrap();
        assert!(
            msg.contains("could not be read") && msg.contains("/dev/kmsg"),
            "{msg}"
        );
    } else {
        // dmesg_restrict=0: anyone may read it, and nothing says otherwise.
        assert!(kl.iter().all(|c| c["severity"] != "info"), "{v}");
    }
}

#[test]
fn options_after_the_message_are_options() {
    // Flags after the message, a flag with its value, and `-` for standard input anywhere.
    let (code, v) = run_json(
        [
            "explain",
            "Too many open files",
            "--no-host",
            "--format",
            "json",
        ],
        None,
    );
    assert_eq!(code, Some(0));
    assert_eq!(v["matches"][0]["pattern"], "errno_emfile");
    assert_eq!(
        v["input"]["bytes"], 19,
        "the flags are not part of the message"
    );
    let (code, v) = run_json(
        ["explain", "-", "--format=json", "--no-host"],
        Some("sorry, too many clients already\n"),
    );
    assert_eq!(code, Some(0));
    assert_eq!(v["input"]["source"], "standard input");
    assert_eq!(v["verdict"]["ceiling"], "postgres_max_connections");
    // A message that starts with a hyphen is still a message.
    let (_, v) = run_json(
        [
            "explain",
            "-ERR max number of clients reached",
            "--no-host",
            "--format",
            "json",
        ],
        None,
    );
    assert_eq!(v["verdict"]["ceiling"], "redis_maxclients");
    // A bad combination after the message is refused like one before it.
    let (code, _) = run(&["explain", "x", "--file", "/dev/null"]);
    assert_eq!(code, Some(2));
}

#[test]
fn a_bare_accept_emfile_is_not_attributed_to_go() {
    let json = |msg: &str| explain_json(msg).1;
    let v = json("accept: Too many open files");
    assert_eq!(v["matches"][0]["origin"], "errno");
    assert_eq!(v["verdict"]["ceiling"], "process_fds");
    let v = json(
        "http: Accept error: accept tcp [::]:8080: accept4: too many open files; retrying in 1s",
    );
    assert_eq!(v["matches"][0]["origin"], "go");
}

#[test]
fn text_wraps_to_80_columns_when_piped() {
    let out = porttune()
        .args([
            "explain",
            "--no-host",
            "2026/11/30 [crit] 1#1: *9 connect() to 10.0.0.5:8080 failed (99: Cannot assign requested address) while connecting to upstream",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.lines().count() > 5, "{text}");
    for l in text.lines() {
        assert!(
            l.chars().count() <= 80,
            "{} columns: {l}",
            l.chars().count()
        );
    }
    // Continuation lines are indented under their field.
    assert!(text.lines().any(|l| l.starts_with("     ")), "{text}");
}

#[test]
fn connectivity_says_not_a_local_limit_with_the_reason() {
    let out = porttune()
        .args([
            "explain",
            "--no-host",
            "dial tcp: lookup db.internal: no such host",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("1. not a local limit"), "{text}");
    assert!(
        text.contains("not a local limit: a name did not resolve"),
        "{text}"
    );
    let (_, v) = explain_json("OSError: [Errno 98] Address already in use");
    assert_eq!(v["verdict"]["confidence"], "weak");
    assert_eq!(v["verdict"]["candidates"][0], "ephemeral_ports");
}
