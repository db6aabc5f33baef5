//! External commands are bounded: a `systemctl` that prints its answer and exits, but leaves
//! a child in a session of its own holding the output pipe (what a hostile program earlier
//! on root's PATH, or a wedged helper, can do), does not hold `check` until that child ends.
//! The runner kills a command's whole process group at its limit and never waits for a pipe
//! past it (src/snapshot/command.rs; its unit tests cover the killed and the escaped child).

#![cfg(unix)]

mod common;

use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[test]
fn a_systemctl_whose_child_holds_the_pipe_does_not_hold_check() {
    let d = tempfile::tempdir().unwrap();
    let pidfile = d.path().join("grandchild.pid");
    let show = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/systemctl/show-web.txt"),
    )
    .unwrap()
    .replace("@MAINPID@", &std::process::id().to_string());
    let answer = d.path().join("show.txt");
    std::fs::write(&answer, show).unwrap();
    let sc = d.path().join("systemctl");
    std::fs::write(
        &sc,
        format!(
            "#!/bin/sh\ncat {}\nsetsid sleep 60 &\necho $! > {}\nexit 0\n",
            answer.display(),
            pidfile.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&sc, std::fs::Permissions::from_mode(0o755)).unwrap();
    let mut c = Command::new(common::bin())
        .args(["check", "--unit", "web", "--format", "json"])
        .env("PORTTUNE_SYSTEMCTL", &sc)
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let t = Instant::now();
    let mut ended = false;
    while t.elapsed() < Duration::from_secs(30) {
        if c.try_wait().unwrap().is_some() {
            ended = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let took = t.elapsed();
    if !ended {
        let _ = c.kill();
    }
    let out = c.wait_with_output().unwrap();
    // the grandchild (a session of its own) is ended by its PID
    if let Some(pid) = std::fs::read_to_string(&pidfile)
        .ok()
        .and_then(|p| p.trim().parse::<i32>().ok())
    {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::SIGKILL,
        );
    }
    assert!(ended, "check --unit still waiting after {took:?}");
    assert!(took < Duration::from_secs(10), "{took:?}");
    let v = common::json(&out);
    // the answer printed before the exit is used
    assert_eq!(v["process"]["unit"]["name"], "web.service", "{v}");
    assert_eq!(
        v["process"]["unit"]["main_pid"],
        u64::from(std::process::id()),
        "{v}"
    );
}
