//! Kernel-log evidence in its window: for a process, what the kernel logged while it ran (or
//! since `--since`), each line with its time; the log read from the end, bounded.

mod common;

use std::process::Command;

fn porttune() -> Command {
    let mut c = Command::new(common::bin());
    c.env("NO_COLOR", "1");
    c
}

/// The checks with id KernelLog of `check --format json` on `args`.
fn kernel_log_checks(args: &[&str]) -> Vec<serde_json::Value> {
    let out = porttune()
        .args(["check", "--format", "json"])
        .args(args)
        .output()
        .unwrap();
    let v = common::json(&out);
    v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["id"] == "KernelLog")
        .cloned()
        .collect()
}

/// A server (PID 7100) started at 15:00 on a host whose kernel log holds a conntrack line
/// from another service an hour earlier, and a SYN flood on the server's port after it
/// started.
fn fixture(dir: &std::path::Path) -> std::path::PathBuf {
    let text = "schema: 1\nplatform: {os: linux, kernel: 6.8.0}\n\
        net: {ip_local_port_range: {lo: 32768, hi: 60999}, somaxconn: 4096}\n\
        fs: {file_max: 9223372036854775807, nr_open: 1048576}\n\
        process:\n  pid: 7100\n  started: \"2026-11-30T15:00:00Z\"\n  nofile: {soft: 65536, hard: 65536}\n  open_fds: 40\n\
        memory: {mem_total_kb: 24684092, mem_available_kb: 20000000}\n\
        kernel_log:\n  source: syslog(2)\n  lines:\n\
        \x20   - seen: \"2026-11-30T14:02:10Z\"\n      text: \"nf_conntrack: nf_conntrack: table full, dropping packet\"\n\
        \x20   - seen: \"2026-11-30T15:20:31Z\"\n      text: \"TCP: request_sock_TCP: Possible SYN flooding on port 0.0.0.0:8080. Sending cookies.\"\n";
    let p = dir.join("server-with-old-log.yaml");
    std::fs::write(&p, text).unwrap();
    p
}

#[test]
fn another_services_older_line_is_not_this_process_evidence() {
    let dir = tempfile::tempdir().unwrap();
    let snap = fixture(dir.path());
    let s = snap.to_str().unwrap();
    let c = kernel_log_checks(&["--from", s]);
    assert_eq!(c.len(), 2, "{c:?}");
    let warn = c[0]["message"].as_str().unwrap();
    assert_eq!(c[0]["severity"], "warning");
    assert!(
        warn.starts_with("syslog(2), since PID 7100 started at 2026-11-30T15:00:00Z, at 2026-11-30T15:20:31Z: \"TCP: request_sock_TCP: Possible SYN flooding on port 0.0.0.0:8080")
            && warn.contains("accept_queue already hit"),
        "{warn}"
    );
    assert_eq!(c[1]["severity"], "info");
    let info = c[1]["message"].as_str().unwrap();
    assert!(
        info.contains("1 kernel-log line(s) of limits hit before the window, the latest at 2026-11-30T14:02:10Z,")
            && info.contains("--since TIME takes them in"),
        "{info}"
    );
    assert!(c.iter().all(|c| {
        !c["message"]
            .as_str()
            .unwrap()
            .contains("conntrack already hit")
    }));

    // --since an earlier time takes the conntrack line in, with its time.
    let c = kernel_log_checks(&["--from", s, "--since", "2026-11-30T13:00:00Z"]);
    assert_eq!(c.len(), 2, "{c:?}");
    assert!(c.iter().all(|c| c["severity"] == "warning"), "{c:?}");
    assert!(
        c.iter().any(|c| c["message"].as_str().unwrap().contains(
            "since 2026-11-30T13:00:00Z (--since), at 2026-11-30T14:02:10Z: \"nf_conntrack"
        )),
        "{c:?}"
    );
    // The text output says the same.
    let out = porttune().args(["check", "--from", s]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("[WARNING KernelLog] syslog(2), since PID 7100 started"),
        "{text}"
    );
    assert!(!text.contains("conntrack already hit"), "{text}");
}

#[test]
fn since_is_checked() {
    let dir = tempfile::tempdir().unwrap();
    let snap = fixture(dir.path());
    for bad in ["yesterday", "2026-13-01", "@x", "5y"] {
        let out = porttune()
            .args(["check", "--from", snap.to_str().unwrap(), "--since", bad])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{bad}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(&format!("--since {bad}")), "{err}");
    }
}

/// The live reader: a process started by the test is read with its start time (the window),
/// and the log is read through syslog(2) in one call, --since recorded.
#[cfg(target_os = "linux")]
#[test]
#[ignore = "needs root (the kernel log is root's when kernel.dmesg_restrict=1)"]
fn live_process_window_and_since() {
    if !common::need_root("live_process_window_and_since") {
        return;
    }
    let before = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let mut child = Command::new("sleep").arg("30").spawn().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let save = dir.path().join("snap.yaml");
    let out = porttune()
        .args(["check", "--pid", &child.id().to_string(), "--save"])
        .arg(&save)
        .output()
        .unwrap();
    assert!(out.status.code().is_some_and(|c| c <= 1), "{out:?}");
    let snap = porttune::snapshot::load(&save).unwrap();
    let started = snap.process.started.as_deref().expect("a start time");
    let t = porttune::snapshot::logtime::parse_iso(started).unwrap();
    // /proc/PID/stat counts in clock ticks after boot, /proc/stat btime in whole seconds
    assert!(t + 2 >= before && t <= before + 3, "{started} vs {before}");
    let log = snap.kernel_log.expect("kernel log read");
    assert_eq!(log.source.as_deref(), Some("syslog(2)"), "{log:?}");
    assert_eq!(log.since, None);

    let out = porttune()
        .args(["check", "--since", "@1700000000", "--save"])
        .arg(&save)
        .output()
        .unwrap();
    assert!(out.status.code().is_some_and(|c| c <= 1), "{out:?}");
    let snap = porttune::snapshot::load(&save).unwrap();
    assert_eq!(
        snap.kernel_log.unwrap().since.as_deref(),
        Some("2023-11-14T22:13:20Z")
    );
    child.kill().unwrap();
    child.wait().unwrap();
}
