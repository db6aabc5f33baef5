//! Running an external program (systemctl, journalctl, dmesg, launchctl): the one runner.
//! No shell, stdin closed, a time limit, an output cap. On the time limit the program's whole
//! process group is killed; a descendant that left the group and still holds the output
//! pipes is not waited for either (its readers are abandoned), so nothing it does can hold
//! porttune past the limit.

use std::io::Read;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// Why a program gave no output.
#[derive(Debug)]
pub enum Failure {
    /// It could not be started.
    Spawn(std::io::Error),
    /// No exit within the time limit: killed.
    TimedOut(Duration),
    /// It exited with a failure: the status and the first line of its stderr.
    Exit(String),
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Spawn(e) => write!(f, "{e}"),
            Failure::TimedOut(t) => write!(f, "no answer within {} s", t.as_secs_f64()),
            Failure::Exit(m) => f.write_str(m),
        }
    }
}

/// Time allowed for the output readers after the program ended (its pipes are closed by
/// then, unless something it started still holds them: then what arrived so far is kept).
const DRAIN: Duration = Duration::from_millis(500);

/// What a reader thread has read so far, and whether it reached the end.
type Shared = Arc<(Mutex<(Vec<u8>, bool)>, Condvar)>;

/// Read at most `max` bytes of `r` on a thread of its own, into the shared buffer.
fn reader(mut r: impl Read + Send + 'static, max: usize) -> Shared {
    let shared: Shared = Arc::new((Mutex::new((Vec::new(), false)), Condvar::new()));
    let theirs = Arc::clone(&shared);
    std::thread::spawn(move || {
        let mut buf = [0u8; 8192];
        loop {
            let n = match r.read(&mut buf) {
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(_) => 0,
            };
            let (lock, cv) = &*theirs;
            let Ok(mut g) = lock.lock() else { return };
            let room = max.saturating_sub(g.0.len());
            g.0.extend_from_slice(&buf[..n.min(room)]);
            if n == 0 || g.0.len() >= max {
                g.1 = true;
                cv.notify_all();
                return;
            }
        }
    });
    shared
}

/// The bytes a reader has, once it reached the end or `DRAIN` has passed.
fn collect(shared: Option<Shared>) -> Vec<u8> {
    let Some(shared) = shared else {
        return Vec::new();
    };
    let (lock, cv) = &*shared;
    let Ok(g) = lock.lock() else {
        return Vec::new();
    };
    match cv.wait_timeout_while(g, DRAIN, |g| !g.1) {
        Ok((mut g, _)) => std::mem::take(&mut g.0),
        Err(_) => Vec::new(),
    }
}

/// Run `program ARGS` (no shell) with stdin closed, in a process group of its own; killed
/// (the group) after `timeout`; at most `max_bytes` of its output kept.
pub fn run_program(
    program: &str,
    args: &[&str],
    timeout: Duration,
    max_bytes: usize,
) -> Result<String, Failure> {
    let mut cmd = std::process::Command::new(program);
    cmd.args(args)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    #[cfg(unix)]
    std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
    let mut child = cmd.spawn().map_err(Failure::Spawn)?;
    let out = child.stdout.take().map(|s| reader(s, max_bytes));
    let err = child.stderr.take().map(|s| reader(s, 4096));
    let deadline = Instant::now() + timeout;
    let status = loop {
        match child.try_wait() {
            Ok(Some(s)) => break Some(s),
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(10)),
            _ => {
                #[cfg(unix)]
                {
                    let pgid = nix::unistd::Pid::from_raw(child.id() as i32);
                    let _ = nix::sys::signal::killpg(pgid, nix::sys::signal::Signal::SIGKILL);
                }
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
        }
    };
    let (out, err) = (collect(out), collect(err));
    match status {
        Some(s) if s.success() => Ok(String::from_utf8_lossy(&out).into_owned()),
        Some(s) => {
            let err = String::from_utf8_lossy(&err);
            let first = err.lines().next().unwrap_or("failed").trim();
            let first = first
                .strip_prefix(program)
                .and_then(|r| r.strip_prefix(": "))
                .unwrap_or(first);
            Err(Failure::Exit(format!("{first} ({s})")))
        }
        None => Err(Failure::TimedOut(timeout)),
    }
}

/// [`run_program`] with the failure as text.
pub fn run(
    program: &str,
    args: &[&str],
    timeout: Duration,
    max_bytes: usize,
) -> Result<String, String> {
    run_program(program, args, timeout, max_bytes).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_failure_and_time_limit() {
        let t = Duration::from_secs(5);
        assert_eq!(run("echo", &["a;b", "$(c)"], t, 100).unwrap(), "a;b $(c)\n");
        assert_eq!(run("echo", &["abcdef"], t, 3).unwrap(), "abc");
        assert!(run("false", &[], t, 100).is_err());
        assert!(run("/nonexistent/x", &[], t, 100).is_err());
        let start = Instant::now();
        let e = run("sleep", &["5"], Duration::from_millis(200), 100).unwrap_err();
        assert!(e.starts_with("no answer within"), "{e}");
        assert!(start.elapsed() < Duration::from_secs(4));
    }

    /// A program whose child keeps the output pipe open after the program is killed (and one
    /// that left the process group): the runner still ends at its limit. One that exits at
    /// once but leaves such a child: its output so far is kept, nothing waits for the child.
    #[cfg(unix)]
    #[test]
    fn descendants_holding_the_pipes_do_not_hold_the_runner() {
        let start = Instant::now();
        let e = run_program(
            "sh",
            &["-c", "sleep 30 & exec sleep 30"],
            Duration::from_millis(200),
            100,
        )
        .unwrap_err();
        assert!(matches!(e, Failure::TimedOut(_)), "{e}");
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "{:?}",
            start.elapsed()
        );
        // the same with a grandchild in a session of its own (killpg cannot reach it); it
        // prints its PID first so that the test can end it
        let d = std::env::temp_dir().join(format!("porttune-run-{}", std::process::id()));
        let start = Instant::now();
        let script = format!("setsid sleep 30 & echo $! > {}; exec sleep 30", d.display());
        let e = run_program("sh", &["-c", &script], Duration::from_millis(300), 100).unwrap_err();
        assert!(matches!(e, Failure::TimedOut(_)), "{e}");
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "{:?}",
            start.elapsed()
        );
        end(&d);
        let start = Instant::now();
        let script = format!("setsid sleep 30 & echo $! > {}; echo done", d.display());
        let out = run_program("sh", &["-c", &script], Duration::from_secs(5), 100).unwrap();
        assert_eq!(out, "done\n");
        assert!(
            start.elapsed() < Duration::from_secs(3),
            "{:?}",
            start.elapsed()
        );
        end(&d);
    }

    /// End the process whose PID is in file `d`.
    fn end(d: &std::path::Path) {
        if let Ok(pid) = std::fs::read_to_string(d) {
            if let Ok(pid) = pid.trim().parse::<i32>() {
                let _ = nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(pid),
                    nix::sys::signal::Signal::SIGKILL,
                );
            }
        }
        let _ = std::fs::remove_file(d);
    }
}
