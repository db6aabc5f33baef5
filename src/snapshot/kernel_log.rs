//! Read recent kernel-log evidence of limits already hit: the kernel ring buffer through
//! /dev/kmsg, else `dmesg`, else the journal (`journalctl -k -b`). Records only the lines
//! that match a kernel limit message (the caller says which: `model::evidence::is_evidence`),
//! with their time.
//! Bounded: at most MAX_RECORDS records or MAX_BYTES bytes, and each command is killed after
//! COMMAND_TIMEOUT (1 s), so an unreadable log costs `check` at most about 2 s, usually a few ms.

use std::io::Read;
use std::time::Duration;

use super::{KernelLog, LogLine};

const MAX_RECORDS: usize = 100_000;
const MAX_BYTES: usize = 16 << 20;
const COMMAND_TIMEOUT: Duration = Duration::from_secs(1);

/// Read the kernel log of this host. Never fails: says why when it cannot read it.
pub fn read(keep: fn(&str) -> bool) -> KernelLog {
    let mut why = Vec::new();
    let denied = match kmsg() {
        Ok(lines) => return found("/dev/kmsg", lines, keep),
        Err((e, denied)) => {
            why.push(format!("/dev/kmsg: {e}"));
            denied
        }
    };
    // dmesg reads /dev/kmsg too (or syslog(2), under the same kernel.dmesg_restrict): worth a
    // try only when /dev/kmsg is missing, not when it was refused.
    if !denied {
        match command("dmesg", &["--time-format", "iso", "--kernel"]) {
            Ok(out) => return found("dmesg", out.lines().filter_map(parse_dmesg_iso), keep),
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
        Ok(out) if out.lines().any(|l| parse_journal(l).is_some()) => {
            return found("journalctl -k", out.lines().filter_map(parse_journal), keep);
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

fn found(
    source: &str,
    lines: impl IntoIterator<Item = LogLine>,
    keep: fn(&str) -> bool,
) -> KernelLog {
    KernelLog {
        source: Some(source.to_string()),
        unreadable: None,
        lines: keep_evidence(lines, keep),
    }
}

/// Lines kept at most (the most recent ones).
pub const MAX_LINES: usize = 200;
/// A kept line is cut to this many bytes.
pub const MAX_TEXT: usize = 400;

/// The lines `keep` says are evidence, each cut to [`MAX_TEXT`] bytes, at most [`MAX_LINES`]
/// (the latest).
pub fn keep_evidence(
    lines: impl IntoIterator<Item = LogLine>,
    keep: fn(&str) -> bool,
) -> Vec<LogLine> {
    let mut out: Vec<LogLine> = lines
        .into_iter()
        .filter(|l| keep(&l.text))
        .map(|mut l| {
            if l.text.len() > MAX_TEXT {
                let mut n = MAX_TEXT;
                while !l.text.is_char_boundary(n) {
                    n -= 1;
                }
                l.text.truncate(n);
            }
            l
        })
        .collect();
    if out.len() > MAX_LINES {
        out.drain(..out.len() - MAX_LINES);
    }
    out
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
                if let Some(l) = parse_kmsg(&rec, boot) {
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
    super::command::run(program, args, COMMAND_TIMEOUT, MAX_BYTES)
}

/// Seconds since the epoch → `YYYY-MM-DDTHH:MM:SSZ` (UTC, proleptic Gregorian).
pub fn iso_utc(epoch_s: u64) -> String {
    let days = (epoch_s / 86_400) as i64;
    let secs = epoch_s % 86_400;
    // Civil date from days since 1970-01-01 (H. Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

/// One /dev/kmsg record: `PRI,SEQ,TS_USEC,FLAGS[,…];MESSAGE` then continuation lines. The
/// timestamp is microseconds since boot; `boot_time` (seconds since the epoch, /proc/stat
/// btime) turns it into a wall-clock time.
pub fn parse_kmsg(record: &str, boot_time: Option<u64>) -> Option<LogLine> {
    let (head, rest) = record.split_once(';')?;
    let message = rest.lines().next().unwrap_or("").trim_end().to_string();
    let usec: Option<u64> = head.split(',').nth(2).and_then(|t| t.parse().ok());
    let seen = match (boot_time, usec) {
        (Some(b), Some(u)) => Some(iso_utc(b.saturating_add(u / 1_000_000))),
        _ => None,
    };
    Some(LogLine {
        seen,
        text: message,
    })
}

/// `dmesg --time-format iso`: `2026-11-30T15:02:11,123456+00:00 MESSAGE`.
pub fn parse_dmesg_iso(line: &str) -> Option<LogLine> {
    let (time, msg) = line.split_once(' ')?;
    if !time.starts_with(|c: char| c.is_ascii_digit()) || !time.contains('T') {
        return None;
    }
    Some(LogLine {
        seen: Some(time.to_string()),
        text: msg.trim().to_string(),
    })
}

/// `journalctl -k -o short-iso`: `2026-11-30T15:02:11+0000 HOST kernel: MESSAGE`.
pub fn parse_journal(line: &str) -> Option<LogLine> {
    let (time, rest) = line.split_once(' ')?;
    if !time.starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    let msg = rest.split_once("kernel: ").map(|x| x.1).unwrap_or(rest);
    Some(LogLine {
        seen: Some(time.to_string()),
        text: msg.trim().to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(iso_utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(iso_utc(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(iso_utc(1_796_052_131), "2026-11-30T15:22:11Z");
    }

    #[test]
    fn formats() {
        let k = parse_kmsg(
            "6,1234,5000000,-;TCP: request_sock_TCP: Possible SYN flooding on port 127.0.0.1:40000. Sending cookies.\n SUBSYSTEM=net\n",
            Some(1_796_052_126),
        )
        .unwrap();
        assert_eq!(k.seen.as_deref(), Some("2026-11-30T15:22:11Z"));
        assert!(k.text.ends_with("Sending cookies."), "{k:?}");
        let j = parse_journal(
            "2026-11-30T15:02:11+0000 web1 kernel: nf_conntrack: nf_conntrack: table full, dropping packet",
        )
        .unwrap();
        assert_eq!(j.seen.as_deref(), Some("2026-11-30T15:02:11+0000"));
        assert_eq!(
            j.text,
            "nf_conntrack: nf_conntrack: table full, dropping packet"
        );
        let d = parse_dmesg_iso("2026-11-30T15:02:11,123456+00:00 TCP: too many orphaned sockets")
            .unwrap();
        assert_eq!(d.text, "TCP: too many orphaned sockets");
        assert!(parse_journal("-- No entries --").is_none());
        assert!(parse_dmesg_iso("garbage line").is_none());
    }

    #[test]
    fn keeps_what_it_is_told_bounded() {
        let mk = |t: &str, s: &str| LogLine {
            seen: Some(s.into()),
            text: t.into(),
        };
        let orphan = |t: &str| t.contains("orphaned");
        let lines = vec![
            mk("TCP: too many orphaned sockets", "t1"),
            mk("eth0: link up", "t2"),
        ];
        assert_eq!(keep_evidence(lines, orphan).len(), 1);
        let many = (0..500).map(|i| mk("TCP: too many orphaned sockets", &i.to_string()));
        let kept = keep_evidence(many, orphan);
        assert_eq!(kept.len(), MAX_LINES);
        assert_eq!(kept.last().unwrap().seen.as_deref(), Some("499"));
        let long = format!("TCP: too many orphaned sockets {}", "é".repeat(400));
        let kept = keep_evidence([mk(&long, "t")], orphan);
        assert!(kept[0].text.len() <= MAX_TEXT && long.starts_with(&kept[0].text));
    }
}
