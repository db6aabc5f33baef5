//! Running an external program: no shell, stdin closed, a time limit, an output cap.

use std::io::Read;
use std::time::{Duration, Instant};

/// Run `program ARGS` (no shell) with stdin closed; killed after `timeout`; at most `max_bytes`
/// of its output kept. Its output, or why it failed (the first line of its stderr).
pub fn run(
    program: &str,
    args: &[&str],
    timeout: Duration,
    max_bytes: usize,
) -> Result<String, String> {
    let mut child = std::process::Command::new(program)
        .args(args)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| e.to_string())?;
    let mut stdout = child.stdout.take().ok_or("no stdout")?;
    let reader = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = (&mut stdout).take(max_bytes as u64).read_to_end(&mut v);
        v
    });
    let deadline = Instant::now() + timeout;
    let status = loop {
        match child.try_wait() {
            Ok(Some(s)) => break Some(s),
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(10)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
        }
    };
    let out = reader.join().unwrap_or_default();
    let mut err = String::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = (&mut e).take(4096).read_to_string(&mut err);
    }
    match status {
        Some(s) if s.success() => Ok(String::from_utf8_lossy(&out).into_owned()),
        Some(s) => {
            let first = err.lines().next().unwrap_or("failed").trim();
            let first = first
                .strip_prefix(program)
                .and_then(|r| r.strip_prefix(": "))
                .unwrap_or(first);
            Err(format!("{first} ({s})"))
        }
        None => Err(format!("no answer within {} s", timeout.as_secs_f64())),
    }
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
}
