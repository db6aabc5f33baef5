//! The flood honours its bounds while starting workers (issue 11): the --duration deadline
//! covers forking hundreds of workers, and SIGTERM during the forking stops it before any
//! connection is opened. Loopback only, bounded in workers, connections and time.

mod common;

use std::time::{Duration, Instant};

use common::*;

#[test]
#[cfg(target_os = "linux")]
fn duration_covers_worker_start_up() {
    let t0 = Instant::now();
    let out = std::process::Command::new(bin())
        .args([
            "flood",
            "--workers",
            "400",
            "--duration",
            "0.2",
            "--max",
            "400000",
        ])
        .output()
        .unwrap();
    let took = t0.elapsed();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("panicked"), "{err}");
    // Start-up, the run, the wind-down and reaping: far from the 30 s it took when the
    // deadline started only after every worker was up.
    assert!(took < Duration::from_secs(8), "took {took:?}: {err}");
    assert!(matches!(out.status.code(), Some(0 | 1)), "{out:?}");
}

#[test]
#[cfg(target_os = "linux")]
fn sigterm_while_forking_stops_before_any_connection() {
    let child = std::process::Command::new(bin())
        .args([
            "flood",
            "--workers",
            "500",
            "--duration",
            "30",
            "--max",
            "500000",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    // Wait until workers are being forked (children of the flood appear), then signal.
    let deadline = Instant::now() + Duration::from_secs(20);
    while children_of(child.id()) == 0 {
        assert!(Instant::now() < deadline, "no worker was ever forked");
        std::thread::sleep(Duration::from_millis(2));
    }
    let t0 = Instant::now();
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(t0.elapsed() < Duration::from_secs(5), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(
        err.contains("interrupted while starting the workers"),
        "{err}"
    );
    assert!(err.contains("no connection was opened"), "{err}");
}

/// How many processes have `ppid` as their parent.
fn children_of(ppid: u32) -> usize {
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter(|e| {
            std::fs::read_to_string(e.path().join("stat"))
                .ok()
                .and_then(|s| {
                    let rest = s.rsplit_once(')')?.1.to_string();
                    rest.split_whitespace().nth(1)?.parse::<u32>().ok()
                })
                == Some(ppid)
        })
        .count()
}
