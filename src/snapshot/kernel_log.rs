//! Read recent kernel-log evidence of limits already hit: the kernel ring buffer through
//! /dev/kmsg, else `dmesg`, else the journal (`journalctl -k -b`). Records only the lines
//! that match a kernel limit message (explain::kernel_log decides which), with their time.
//! Bounded: at most MAX_RECORDS records or MAX_BYTES bytes, and each command is killed after
//! COMMAND_TIMEOUT (1 s), so an unreadable log costs `check` at most about 2 s, usually a few ms.

use std::io::Read;
use std::time::{Duration, Instant};

use super::{KernelLog, LogLine};
use crate::explain::kernel_log as ev;

const MAX_RECORDS: usize = 100_000;
const MAX_BYTES: usize = 16 << 20;
const COMMAND_TIMEOUT: Duration = Duration::from_secs(1);

/// Read the kernel log of this host. Never fails: says why when it cannot read it.
pub fn read() -> KernelLog {
    let mut why = Vec::new();
    let denied = match kmsg() {
        Ok(lines) => return found("/dev/kmsg", lines),
        Err((e, denied)) => {
            why.push(format!("/dev/kmsg: {e}"));
            denied
        }
    };
    // dmesg reads /dev/kmsg too (or syslog(2), under the same kernel.dmesg_restrict): worth a
    // try only when /dev/kmsg is missing, not when it was refused.
    if !denied {
        match command("dmesg", &["--time-format", "iso", "--kernel"]) {
            Ok(out) => return found("dmesg", out.lines().filter_map(ev::parse_dmesg_iso)),
            Err(e) => why.push(format!("dmesg: {e}")),
        }
    }
    match command(
        "journalctl",
        &[
            "-k",
            "-b",
            "-q",
            "--no-pager",
            "-o",
            "short-iso",
            "-n",
            "20000",
        ],
    ) {
        // The current boot always has kernel lines; none means no journal or no permission
        // (journalctl shows an unprivileged user only their own messages, and exits 0).
        Ok(out) if out.lines().any(|l| ev::parse_journal(l).is_some()) => {
            return found("journalctl -k", out.lines().filter_map(ev::parse_journal));
        }
        Ok(_) => why.push(
            "journalctl -k: no kernel messages visible (no journal, or not in the systemd-journal/adm group)".into(),
        ),
        Err(e) => why.push(format!("journalctl -k: {e}")),
    }
    KernelLog {
        source: None,
        unreadable: Some(format!(
            "{} (reading the kernel log needs root or CAP_SYSLOG when kernel.dmesg_restrict=1, or membership of the systemd-journal/adm group)",
            why.join("; ")
        )),
        lines: Vec::new(),
    }
}

fn found(source: &str, lines: impl IntoIterator<Item = LogLine>) -> KernelLog {
    KernelLog {
        source: Some(source.to_string()),
        unreadable: None,
        lines: ev::keep_evidence(lines),
    }
}

/// Seconds since the epoch at boot (/proc/stat btime).
fn boot_time() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    stat.lines()
        .find_map(|l| l.strip_prefix("btime "))
        .and_then(|v| v.trim().parse().ok())
}

/// Every record in the ring buffer: /dev/kmsg returns one record per read() and EAGAIN at
/// the end when opened non-blocking.
/// Err: the reason, and whether it was a permission refusal.
fn kmsg() -> Result<Vec<LogLine>, (String, bool)> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(nix::fcntl::OFlag::O_NONBLOCK.bits())
        .open("/dev/kmsg")
        .map_err(|e| {
            let denied = e.kind() == std::io::ErrorKind::PermissionDenied;
            (e.to_string(), denied)
        })?;
    let boot = boot_time();
    let mut buf = vec![0u8; 8192];
    let mut out = Vec::new();
    let mut bytes = 0usize;
    while out.len() < MAX_RECORDS && bytes < MAX_BYTES {
        match f.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                bytes += n;
                let rec = String::from_utf8_lossy(&buf[..n]);
                if let Some(l) = ev::parse_kmsg(&rec, boot) {
                    out.push(l);
                }
            }
            // EPIPE: records were overwritten while reading; the next read goes on.
            Err(e) if e.raw_os_error() == Some(nix::libc::EPIPE) => continue,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
            Err(e) if out.is_empty() => {
                let denied = e.kind() == std::io::ErrorKind::PermissionDenied;
                return Err((e.to_string(), denied));
            }
            Err(_) => break,
        }
    }
    Ok(out)
}

/// Run a command with a time limit and an output cap; Err with its stderr when it fails.
fn command(program: &str, args: &[&str]) -> Result<String, String> {
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
        let _ = (&mut stdout).take(MAX_BYTES as u64).read_to_end(&mut v);
        v
    });
    let deadline = Instant::now() + COMMAND_TIMEOUT;
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
        None => Err(format!("no answer within {} s", COMMAND_TIMEOUT.as_secs())),
    }
}
