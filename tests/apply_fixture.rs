//! apply/rollback against a fixture sysctl root (a temp tree: fs.* and kernel.* are never
//! written on the host) and rlimits of a child process the test starts. No root needed.
// Linux only: Linux sysctl trees (fs.*, net.ipv4.*) and a child's rlimits through prlimit (docs/macos.md, "cargo test on a Mac").
#![cfg(target_os = "linux")]

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;

fn tree(d: &Path) -> PathBuf {
    let root = d.join("sys");
    for (k, v) in [
        ("fs/file-max", "100000\n"),
        ("fs/nr_open", "1048576\n"),
        ("kernel/pid_max", "32768\n"),
        ("kernel/threads-max", "192730\n"),
        ("net/core/somaxconn", "4096\n"),
        ("net/ipv4/ip_unprivileged_port_start", "1024\n"),
        ("net/ipv4/ip_local_port_range", "32768\t60999\n"),
    ] {
        let p = root.join(k);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, v).unwrap();
    }
    root
}

fn snapshot(root: &Path) -> Vec<(String, String)> {
    let mut v = Vec::new();
    for k in [
        "fs/file-max",
        "fs/nr_open",
        "kernel/pid_max",
        "kernel/threads-max",
        "net/core/somaxconn",
        "net/ipv4/ip_local_port_range",
    ] {
        v.push((
            k.to_string(),
            std::fs::read_to_string(root.join(k)).unwrap(),
        ));
    }
    v
}

const HOSTWIDE: &str = r#"name: hostwide
sysctl:
  fs.file-max: {min: 2097152}
  fs.nr_open: {min: 1048576}
  kernel.pid_max: 4194304
  kernel.threads-max: {max: 100000}
"#;

fn porttune(args: &[&str], sys: &Path) -> std::process::Output {
    Command::new(bin())
        .args(args)
        .env("PORTTUNE_SYSCTL_ROOT", sys)
        .env_remove("PORTTUNE_STATE_DIR")
        .output()
        .unwrap()
}

#[test]
fn fixture_root_apply_min_max_and_rollback() {
    let tmp = tempfile::tempdir().unwrap();
    let sys = tree(tmp.path());
    let before = snapshot(&sys);
    let prof = tmp.path().join("p.yaml");
    std::fs::write(&prof, HOSTWIDE).unwrap();
    let state = tmp.path().join("state");
    let s = state.to_str().unwrap();
    let p = prof.to_str().unwrap();

    let out = porttune(
        &["apply", p, "--yes", "--state-dir", s, "--format", "json"],
        &sys,
    );
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let j = json(&out);
    assert_eq!(j["changed"], 3, "{j}");
    assert_eq!(
        std::fs::read_to_string(sys.join("fs/file-max")).unwrap(),
        "2097152\n"
    );
    assert_eq!(
        std::fs::read_to_string(sys.join("kernel/pid_max")).unwrap(),
        "4194304\n"
    );
    // min never lowers, max never raises.
    assert_eq!(
        std::fs::read_to_string(sys.join("fs/nr_open")).unwrap(),
        "1048576\n"
    );
    assert_eq!(
        std::fs::read_to_string(sys.join("kernel/threads-max")).unwrap(),
        "100000\n"
    );
    let unchanged = j["unchanged"].as_array().unwrap();
    assert!(unchanged.iter().any(|u| u["key"] == "fs.nr_open"));

    let out = porttune(&["rollback", "--state-dir", s], &sys);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_eq!(snapshot(&sys), before);
    let out = porttune(&["rollback", "--state-dir", s, "--format", "json"], &sys);
    assert_eq!(json(&out)["already"], true);
}

#[test]
fn fixture_root_injected_failure_restores_first_two() {
    let tmp = tempfile::tempdir().unwrap();
    let sys = tree(tmp.path());
    let before = snapshot(&sys);
    let prof = tmp.path().join("p.yaml");
    std::fs::write(&prof, HOSTWIDE).unwrap();
    let out = Command::new(bin())
        .args(["apply", prof.to_str().unwrap(), "--yes", "--state-dir"])
        .arg(tmp.path().join("state"))
        .env("PORTTUNE_SYSCTL_ROOT", &sys)
        // Key order: fs.file-max, fs.nr_open (unchanged), kernel.pid_max, kernel.threads-max.
        .env("PORTTUNE_TEST_FAIL_WRITE", "kernel.threads-max")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("kernel.threads-max = 100000"), "{err}");
    assert!(err.contains("EINVAL"), "{err}");
    assert!(err.contains("restored:"), "{err}");
    assert!(err.contains("kernel.pid_max: 4194304 → 32768"), "{err}");
    assert!(err.contains("fs.file-max: 2097152 → 100000"), "{err}");
    assert_eq!(snapshot(&sys), before);
}

#[test]
fn fixture_root_sigkill_then_rollback() {
    let tmp = tempfile::tempdir().unwrap();
    let sys = tree(tmp.path());
    let before = snapshot(&sys);
    let prof = tmp.path().join("p.yaml");
    std::fs::write(&prof, HOSTWIDE).unwrap();
    let state = tmp.path().join("state");
    let mut child = Command::new(bin())
        .args(["apply", prof.to_str().unwrap(), "--yes", "--state-dir"])
        .arg(&state)
        .env("PORTTUNE_SYSCTL_ROOT", &sys)
        .env("PORTTUNE_TEST_PAUSE_AFTER_WRITE", "30")
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while std::fs::read_to_string(sys.join("fs/file-max")).unwrap() == "100000\n" {
        assert!(
            std::time::Instant::now() < deadline,
            "first write never happened"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    assert_ne!(snapshot(&sys), before);
    assert_eq!(
        std::fs::read_to_string(sys.join("kernel/pid_max")).unwrap(),
        "32768\n"
    );
    let out = porttune(&["rollback", "--state-dir", state.to_str().unwrap()], &sys);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_eq!(snapshot(&sys), before);
}

#[test]
fn plan_against_fixture_root_shows_changes_and_prediction() {
    let tmp = tempfile::tempdir().unwrap();
    let sys = tree(tmp.path());
    let prof = tmp.path().join("p.yaml");
    std::fs::write(&prof, HOSTWIDE).unwrap();
    let out = porttune(&["plan", prof.to_str().unwrap()], &sys);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("fs.file-max: 100000 → 2097152"), "{text}");
    assert!(
        text.contains("needs: root (CAP_SYS_ADMIN; host-wide"),
        "{text}"
    );
    assert!(text.contains("Predicted ceiling (inbound):"), "{text}");
    let out = porttune(&["plan", prof.to_str().unwrap(), "--format", "json"], &sys);
    let j = json(&out);
    assert_eq!(j["changes"][0]["key"], "fs.file-max");
    assert_eq!(j["changes"][0]["from"], "100000");
    assert_eq!(j["changes"][0]["to"], "2097152");
    assert_eq!(j["changes"][0]["scope"], "live");
    assert_eq!(j["changes"][0]["needs_root"], true);
    assert!(j["prediction"]["after"].is_u64());
    // Nothing written by plan.
    assert_eq!(
        std::fs::read_to_string(sys.join("fs/file-max")).unwrap(),
        "100000\n"
    );
}

#[cfg(target_os = "linux")]
fn cap_sys_resource() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("CapEff:"))
                .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
        })
        .is_some_and(|b| b & (1 << 24) != 0)
}

#[cfg(target_os = "linux")]
fn nofile(pid: u32) -> (String, String) {
    let t = std::fs::read_to_string(format!("/proc/{pid}/limits")).unwrap();
    let l = t.lines().find(|l| l.starts_with("Max open files")).unwrap();
    let mut it = l["Max open files".len()..].split_whitespace();
    (it.next().unwrap().into(), it.next().unwrap().into())
}

/// `pid:N` on a child the test starts: raise its soft limit, read back, rollback.
/// Raising the hard limit without CAP_SYS_RESOURCE: exit 1, nothing changed.
#[test]
#[cfg(target_os = "linux")]
fn pid_target_on_a_child_process() {
    let mut child = Command::new("sh")
        .args(["-c", "ulimit -S -n 512 && exec sleep 60"])
        .spawn()
        .unwrap();
    let pid = child.id();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while nofile(pid).0 != "512" {
        assert!(std::time::Instant::now() < deadline);
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let hard = nofile(pid).1;
    let tmp = tempfile::tempdir().unwrap();
    let state = tmp.path().join("state");
    let prof = tmp.path().join("pid.yaml");
    std::fs::write(
        &prof,
        format!(
            "name: pid\nlimits:\n  nofile: {{soft: 1024, hard: {hard}}}\n  targets: [\"pid:{pid}\"]\n"
        ),
    )
    .unwrap();
    let out = Command::new(bin())
        .args(["apply", prof.to_str().unwrap(), "--yes", "--state-dir"])
        .arg(&state)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_eq!(nofile(pid), ("1024".to_string(), hard.clone()));
    let out = Command::new(bin())
        .args(["rollback", "--state-dir"])
        .arg(&state)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_eq!(nofile(pid), ("512".to_string(), hard.clone()));

    if hard != "unlimited" && !cap_sys_resource() {
        let higher: u64 = hard.parse::<u64>().unwrap() + 1;
        std::fs::write(
            &prof,
            format!(
                "name: pid\nlimits:\n  nofile: {{soft: 1024, hard: {higher}}}\n  targets: [\"pid:{pid}\"]\n"
            ),
        )
        .unwrap();
        let out = Command::new(bin())
            .args(["apply", prof.to_str().unwrap(), "--yes", "--state-dir"])
            .arg(&state)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{out:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains(&format!("pid:{pid} nofile: needs CAP_SYS_RESOURCE")),
            "{err}"
        );
        assert_eq!(nofile(pid), ("512".to_string(), hard));
    }
    child.kill().unwrap();
    child.wait().unwrap();
}

/// Two applies on one state directory do not interleave: the second is refused.
#[test]
fn concurrent_apply_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let sys = tree(tmp.path());
    let prof = tmp.path().join("p.yaml");
    std::fs::write(&prof, HOSTWIDE).unwrap();
    let state = tmp.path().join("state");
    let mut first = Command::new(bin())
        .args(["apply", prof.to_str().unwrap(), "--yes", "--state-dir"])
        .arg(&state)
        .env("PORTTUNE_SYSCTL_ROOT", &sys)
        .env("PORTTUNE_TEST_PAUSE_AFTER_WRITE", "30")
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while std::fs::read_to_string(sys.join("fs/file-max")).unwrap() == "100000\n" {
        assert!(
            std::time::Instant::now() < deadline,
            "first write never happened"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let out = porttune(
        &[
            "apply",
            prof.to_str().unwrap(),
            "--yes",
            "--state-dir",
            state.to_str().unwrap(),
        ],
        &sys,
    );
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("another porttune"));
    first.kill().unwrap();
    first.wait().unwrap();
    let out = porttune(&["rollback", "--state-dir", state.to_str().unwrap()], &sys);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_eq!(
        std::fs::read_to_string(sys.join("fs/file-max")).unwrap(),
        "100000\n"
    );
}

/// On a terminal (a pty from script(1)) apply shows the plan and asks: "n" changes nothing
/// (exit 1), "y" applies.
#[test]
#[cfg(target_os = "linux")]
#[ignore = "needs script(1) (util-linux)"]
fn terminal_confirmation() {
    assert!(
        Command::new("script").arg("--version").output().is_ok(),
        "terminal_confirmation: needs script(1) from util-linux; .ci/run installs it"
    );
    let tmp = tempfile::tempdir().unwrap();
    let sys = tree(tmp.path());
    let prof = tmp.path().join("p.yaml");
    std::fs::write(&prof, "name: c\nsysctl:\n  fs.file-max: 200000\n").unwrap();
    let cmd = format!(
        "{} apply {} --state-dir {}",
        bin().display(),
        prof.display(),
        tmp.path().join("state").display()
    );
    let answer = |key: &str| {
        Command::new("sh")
            .args([
                "-c",
                &format!(
                    "(sleep 1; printf '{key}') | script -qec {} /dev/null",
                    sh_quote(&cmd)
                ),
            ])
            .env("PORTTUNE_SYSCTL_ROOT", &sys)
            .output()
            .unwrap()
    };
    let out = answer("n");
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("fs.file-max: 100000 → 200000"), "{text}");
    assert!(text.contains("nothing was changed"), "{text}");
    assert_eq!(
        std::fs::read_to_string(sys.join("fs/file-max")).unwrap(),
        "100000\n"
    );
    let out = answer("y");
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_eq!(
        std::fs::read_to_string(sys.join("fs/file-max")).unwrap(),
        "200000\n"
    );
}

/// `rollback JOURNAL` restores the journal named (by id prefix or path), not the latest.
#[test]
fn rollback_a_named_journal() {
    let tmp = tempfile::tempdir().unwrap();
    let sys = tree(tmp.path());
    let state = tmp.path().join("state");
    let s = state.to_str().unwrap();
    let one = tmp.path().join("one.yaml");
    std::fs::write(&one, "name: one\nsysctl:\n  kernel.pid_max: 65536\n").unwrap();
    let two = tmp.path().join("two.yaml");
    std::fs::write(&two, "name: two\nsysctl:\n  fs.file-max: 300000\n").unwrap();
    let first = json(&porttune(
        &[
            "apply",
            one.to_str().unwrap(),
            "--yes",
            "--state-dir",
            s,
            "--format",
            "json",
        ],
        &sys,
    ));
    let j1 = first["journal"].as_str().unwrap().to_string();
    porttune(
        &["apply", two.to_str().unwrap(), "--yes", "--state-dir", s],
        &sys,
    );
    let id = Path::new(&j1)
        .file_stem()
        .unwrap()
        .to_string_lossy()
        .to_string();
    let out = porttune(&["rollback", &id, "--state-dir", s], &sys);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_eq!(
        std::fs::read_to_string(sys.join("kernel/pid_max")).unwrap(),
        "32768\n"
    );
    assert_eq!(
        std::fs::read_to_string(sys.join("fs/file-max")).unwrap(),
        "300000\n"
    );
    // By path, a second time: nothing to do.
    let out = porttune(&["rollback", &j1, "--state-dir", s], &sys);
    assert!(String::from_utf8_lossy(&out.stdout).contains("already rolled back"));
    // The latest is still `two`.
    let out = porttune(&["rollback", "--state-dir", s], &sys);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_eq!(
        std::fs::read_to_string(sys.join("fs/file-max")).unwrap(),
        "100000\n"
    );
}
