//! Terminal-safe output: strings that came from outside (a snapshot's hostname, kernel,
//! process name and path, notes and kernel-log lines; an error message pasted into
//! `explain`; a profile's or journal's path; a server process's name) hold ESC, OSC, BEL,
//! C1 (U+009B), CR, backspace and a bidi override. Through every text output of check,
//! explain, plan, apply, rollback, profiles and a flood report, no raw control byte but
//! newline reaches stdout or stderr (colour on: only porttune's own SGR colour codes); the
//! JSON output keeps the strings exact.

#![cfg(target_os = "linux")]

mod common;

use std::path::Path;
use std::process::{Command, Output, Stdio};

/// Every kind of sequence a terminal acts on.
const H: &str = "\u{1b}]0;pwned\u{7}\u{1b}[2J\u{9b}31m\rX\u{8}\u{202e}gpj.exe\u{1b}P+q\u{1b}\\";

fn porttune(args: &[&str], colour: bool, stdin: Option<&str>) -> Output {
    let mut c = Command::new(common::bin());
    c.args(args).env_remove("NO_COLOR");
    if colour {
        c.env("CLICOLOR_FORCE", "1");
    } else {
        c.env("NO_COLOR", "1");
    }
    let mut child = c
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    if let Some(s) = stdin {
        use std::io::Write;
        child.stdin.take().unwrap().write_all(s.as_bytes()).unwrap();
    }
    child.wait_with_output().unwrap()
}

/// No control byte but `\n` (and `\t`); with colour, ESC only as `ESC [ digits;… m`.
fn assert_safe(what: &str, bytes: &[u8], colour: bool) {
    let s = String::from_utf8_lossy(bytes);
    let mut i = 0;
    let b = s.as_bytes();
    while i < b.len() {
        if b[i] == 0x1b && colour {
            let n = b[i + 1..]
                .iter()
                .skip(1)
                .take_while(|c| c.is_ascii_digit() || **c == b';')
                .count();
            assert!(
                b.get(i + 1) == Some(&b'[') && b.get(i + 2 + n) == Some(&b'm'),
                "{what}: an escape sequence that is not a colour at byte {i}: {s:?}"
            );
            i += 3 + n;
            continue;
        }
        i += 1;
    }
    for c in s.chars() {
        let ok = c == '\n' || c == '\t' || (colour && c == '\u{1b}');
        assert!(
            ok || !(c.is_control() || ('\u{202a}'..='\u{202e}').contains(&c)),
            "{what}: raw {c:?} in output: {s:?}"
        );
    }
}

fn check_all(what: &str, args: &[&str], stdin: Option<&str>) -> Output {
    let mut last = None;
    for colour in [false, true] {
        let o = porttune(args, colour, stdin);
        assert_safe(&format!("{what} (stdout)"), &o.stdout, colour);
        assert_safe(&format!("{what} (stderr)"), &o.stderr, colour);
        last = Some(o);
    }
    last.unwrap()
}

/// A snapshot (JSON) of the nginx fixture with `H` in every outside string.
fn hostile_snapshot(d: &Path) -> std::path::PathBuf {
    let json = d.join("base.json");
    let o = Command::new(common::bin())
        .args([
            "check",
            "--from",
            "tests/fixtures/snapshots/nginx.yaml",
            "--save",
        ])
        .arg(&json)
        .output()
        .unwrap();
    assert!(o.status.code().is_some_and(|c| c <= 1), "{o:?}");
    let mut v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    v["platform"]["hostname"] = format!("host{H}").into();
    v["platform"]["kernel"] = format!("6.1{H}").into();
    v["process"]["comm"] = format!("nginx{H}").into();
    v["process"]["exe"] = format!("/usr/sbin/nginx{H}").into();
    v["process"]["cmdline"] = serde_json::json!([format!("nginx: master {H}")]);
    v["notes"] = serde_json::json!([format!("a note {H}")]);
    if v["runtime"]["nginx"].is_object() {
        v["runtime"]["nginx"]["config"] = format!("/etc/nginx/{H}.conf").into();
    }
    v["kernel_log"] = serde_json::json!({
        "source": format!("/dev/kmsg{H}"),
        "lines": [{"seen": "2026-11-30T15:00:00Z",
                   "text": format!("nf_conntrack: nf_conntrack: table full, dropping packet{H}")}]
    });
    let p = d.join("hostile.json");
    std::fs::write(&p, serde_json::to_string(&v).unwrap()).unwrap();
    p
}

#[test]
fn check_from_a_hostile_snapshot_is_terminal_safe() {
    let d = tempfile::tempdir().unwrap();
    let snap = hostile_snapshot(d.path());
    let s = snap.to_str().unwrap();
    let o = check_all("check --from", &["check", "--from", s], None);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("\\x1b]0;pwned\\x07"),
        "not shown escaped: {out}"
    );
    check_all("check --brief", &["check", "--from", s, "--brief"], None);
    check_all(
        "check --markdown",
        &["check", "--from", s, "--format", "markdown"],
        None,
    );
    // JSON keeps the strings exact
    let o = porttune(&["check", "--from", s, "--format", "json"], false, None);
    assert_safe("check json", &o.stdout, false);
    let v = common::json(&o);
    assert_eq!(v["process"]["comm"], format!("nginx{H}"), "{v}");
    check_all(
        "doctor-like explain",
        &["explain", "--from", s, "table full"],
        None,
    );
    // Prometheus textfile: no raw control byte, and no escape in a label value other than
    // the three the exposition format knows (node_exporter drops a whole file with another)
    let o = check_all(
        "check --format prometheus",
        &["check", "--from", s, "--format", "prometheus"],
        None,
    );
    let prom = String::from_utf8_lossy(&o.stdout);
    assert!(prom.contains("comm=\"nginx\\\\x1b]0;pwned"), "{prom}");
    for line in prom.lines().filter(|l| !l.starts_with('#')) {
        let mut chars = line.chars();
        while let Some(c) = chars.next() {
            if c == '\\' {
                let next = chars.next();
                assert!(
                    matches!(next, Some('\\' | '"' | 'n')),
                    "escape \\{next:?} in: {line}"
                );
            }
        }
    }
}

#[test]
fn explain_echoes_a_hostile_message_escaped() {
    let msg = format!("accept4() failed (24: Too many open files){H}");
    let o = check_all("explain ARG", &["explain", &msg], None);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("\\x1b[2J") && out.contains("\\u009b"), "{out}");
    check_all(
        "explain -",
        &["explain", "-"],
        Some(&format!("{msg}\n{H}\n")),
    );
    let d = tempfile::tempdir().unwrap();
    let f = d.path().join(format!("log{H}.txt"));
    std::fs::write(&f, format!("{msg}\n")).unwrap();
    check_all(
        "explain --file",
        &["explain", "--file", f.to_str().unwrap()],
        None,
    );
    let o = porttune(&["explain", "--format", "json", &msg], false, None);
    let v = common::json(&o);
    assert!(v.to_string().contains("\\u001b]0;pwned"), "{v}");
}

#[test]
fn plan_apply_rollback_and_profiles_errors_are_terminal_safe() {
    let d = tempfile::tempdir().unwrap();
    let state = d.path().join("state");
    let st = state.to_str().unwrap();
    let bad = d.path().join(format!("p{H}.yaml"));
    let b = bad.to_str().unwrap();
    check_all("plan missing", &["plan", b], None);
    check_all(
        "apply missing",
        &["apply", b, "--yes", "--state-dir", st],
        None,
    );
    std::fs::write(
        &bad,
        format!("name: p\nsysctl:\n  net.core.somaxconn: \"1{H}\"\n  \"kern.x{H}\": 1\n"),
    )
    .unwrap();
    check_all("plan hostile profile", &["plan", b], None);
    check_all("profiles validate", &["profiles", "validate", b], None);
    check_all("profiles show", &["profiles", "show", b], None);
    check_all("rollback id", &["rollback", H, "--state-dir", st], None);
    check_all("rollback path", &["rollback", b, "--state-dir", st], None);
    check_all("check --pid", &["check", "--pid", H], None);
    check_all(
        "check --nginx-conf",
        &["check", "--runtime", "nginx", "--nginx-conf", b],
        None,
    );
}

/// A server whose process name (comm, 15 bytes) is an escape sequence: the flood report and
/// check --pid print it escaped.
#[test]
#[ignore = "needs root, unshare -n and python3"]
fn flood_report_on_a_hostile_process_name_is_terminal_safe() {
    if !common::need_root("flood_report_on_a_hostile_process_name_is_terminal_safe") {
        return;
    }
    common::servers::in_netns(|| {
        let mut srv = Command::new("python3")
            .args([
                "-c",
                "import ctypes,socket,time\n\
                 ctypes.CDLL(None).prctl(15, b'\\x1b]0;x\\x07\\x1b[2J\\x9b', 0, 0, 0)\n\
                 s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n\
                 s.bind(('127.0.0.1', 7401)); s.listen(4096)\n\
                 time.sleep(30)\n",
            ])
            .spawn()
            .unwrap();
        common::servers::wait_listening(7401);
        let pid = srv.id().to_string();
        let comm = std::fs::read(format!("/proc/{pid}/comm")).unwrap();
        assert!(comm.contains(&0x1b), "{comm:?}");
        check_all("check --pid", &["check", "--pid", &pid], None);
        check_all(
            "flood --target",
            &[
                "flood",
                "--target",
                "127.0.0.1:7401",
                "--pid",
                &pid,
                "--max",
                "20",
                "--duration",
                "3",
            ],
            None,
        );
        let _ = srv.kill();
        let _ = srv.wait();
    });
}
