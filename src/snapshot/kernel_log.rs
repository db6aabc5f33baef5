//! Read recent kernel-log evidence of limits already hit, newest first and in a window: the
//! records since `since` (the examined process's start, or `--since`), at most the newest
//! MAX_BYTES of the ring buffer. syslog(2) (SYSLOG_ACTION_READ_ALL, one call that hands over
//! the newest bytes of the buffer, as `dmesg` reads it) first; /dev/kmsg (one record a read,
//! at most MAX_RECORDS) where syslog(2) is refused or gives no times (a container's seccomp
//! filter, printk.time=0); then `dmesg`, then the journal (`journalctl -k -b --since`). Keeps
//! only the lines that match a kernel limit message (the caller says which:
//! `model::evidence::is_evidence`), with their time, at most MAX_LINES.
//! Each command is killed after COMMAND_TIMEOUT (1 s), so an unreadable log costs `check` at
//! most about 2 s; a readable one about a millisecond.

use std::io::Read;
use std::time::Duration;

use super::logtime::{iso_utc, parse_iso};
use super::{KernelLog, LogLine};

const MAX_RECORDS: usize = 65_536;
const MAX_BYTES: usize = 1 << 20;
const COMMAND_TIMEOUT: Duration = Duration::from_secs(1);

/// Read the kernel log of this host from `since` (seconds since the epoch; None: all it
/// holds). Never fails: says why when it cannot read it.
pub fn read(keep: fn(&str) -> bool, since: Option<u64>) -> KernelLog {
    let mut why = Vec::new();
    let boot = boot_time();
    match syslog_all() {
        Ok(text) if boot.is_some() && text.lines().any(|l| parse_syslog(l).is_some()) => {
            let lines = text.lines().filter_map(|l| {
                let (usec, msg) = parse_syslog(l)?;
                Some(LogLine {
                    seen: boot.map(|b| iso_utc(b.saturating_add(usec / 1_000_000))),
                    text: msg.to_string(),
                })
            });
            return found("syslog(2)", lines, keep, since);
        }
        Ok(_) => why.push("syslog(2): no record with a time (printk.time=0?)".to_string()),
        Err(e) => why.push(format!("syslog(2): {e}")),
    }
    let denied = match kmsg(boot, since) {
        Ok(lines) => return found("/dev/kmsg", lines, keep, since),
        Err((e, denied)) => {
            why.push(format!("/dev/kmsg: {e}"));
            denied
        }
    };
    // dmesg reads /dev/kmsg too (or syslog(2), under the same kernel.dmesg_restrict): worth a
    // try only when /dev/kmsg is missing, not when it was refused.
    if !denied {
        match command("dmesg", &["--time-format", "iso", "--kernel"]) {
            Ok(out) => {
                let lines = out.lines().filter_map(parse_dmesg_iso);
                return found("dmesg", lines, keep, since);
            }
            Err(e) => why.push(format!("dmesg: {e}")),
        }
    }
    let after = since.map(|t| format!("@{t}"));
    let mut args = vec![
        "-k",
        "-b",
        "-q",
        "--no-pager",
        "-o",
        "short-iso",
        "-n",
        "20000",
    ];
    if let Some(a) = &after {
        args.extend(["--since", a.as_str()]);
    }
    match command("journalctl", &args) {
        // The current boot always has kernel lines; none means no journal or no permission
        // (journalctl shows an unprivileged user only their own messages, and exits 0) — or,
        // with --since, nothing logged since then.
        Ok(out) if out.lines().any(|l| parse_journal(l).is_some()) || since.is_some() => {
            let lines = out.lines().filter_map(parse_journal);
            return found("journalctl -k", lines, keep, since);
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
        since: None,
    }
}

/// The lines from `since` on (a line whose time cannot be read is kept: the model places
/// it), then those `keep` says are evidence.
fn found(
    source: &str,
    lines: impl IntoIterator<Item = LogLine>,
    keep: fn(&str) -> bool,
    since: Option<u64>,
) -> KernelLog {
    let in_window = lines.into_iter().filter(|l| {
        since.is_none_or(|s| l.seen.as_deref().and_then(parse_iso).is_none_or(|t| t >= s))
    });
    KernelLog {
        source: Some(source.to_string()),
        unreadable: None,
        lines: keep_evidence(in_window, keep),
        since: None,
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

/// The newest bytes of the ring buffer as text, in one syscall: syslog(2)
/// SYSLOG_ACTION_READ_ALL (3) with a buffer twice the ring's size
/// (SYSLOG_ACTION_SIZE_BUFFER, 10; the text adds a prefix to each record), at most MAX_BYTES.
/// Nothing is consumed or cleared. No crate wraps klogctl(3): this is its one unsafe call.
fn syslog_all() -> Result<String, String> {
    use nix::libc;
    // SAFETY: SYSLOG_ACTION_SIZE_BUFFER takes no buffer (NULL, 0) and returns a size or -1.
    let size = unsafe { libc::klogctl(10, std::ptr::null_mut(), 0) };
    let len = usize::try_from(size)
        .ok()
        .filter(|&n| n > 0)
        .map_or(MAX_BYTES, |n| n.saturating_mul(2).min(MAX_BYTES));
    let mut buf = vec![0u8; len];
    let c_len = libc::c_int::try_from(len).map_err(|e| e.to_string())?;
    // SAFETY: the kernel writes at most `c_len` bytes into `buf`, which holds `len` bytes.
    let n = unsafe { libc::klogctl(3, buf.as_mut_ptr().cast(), c_len) };
    let n = usize::try_from(n).map_err(|_| std::io::Error::last_os_error().to_string())?;
    buf.truncate(n.min(len));
    Ok(String::from_utf8_lossy(&buf).into_owned())
}

/// One line of syslog(2)'s text, `<6>[   12.345678] MESSAGE`: microseconds since boot and
/// the message. None without the time (printk.time=0).
pub fn parse_syslog(line: &str) -> Option<(u64, &str)> {
    let (_, rest) = line.strip_prefix('<')?.split_once('>')?;
    let (ts, msg) = rest.strip_prefix('[')?.split_once(']')?;
    let (s, us) = ts.trim().split_once('.')?;
    let usec = s
        .parse::<u64>()
        .ok()?
        .checked_mul(1_000_000)?
        .checked_add(us.parse().ok()?)?;
    Some((usec, msg.strip_prefix(' ').unwrap_or(msg)))
}

/// The records in the ring buffer from `since` on: /dev/kmsg returns one record per read()
/// and EAGAIN at the end when opened non-blocking; a record before the window is skipped on
/// its header. At most MAX_RECORDS reads.
/// Err: the reason, and whether it was a permission refusal.
fn kmsg(boot: Option<u64>, since: Option<u64>) -> Result<Vec<LogLine>, (String, bool)> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(nix::fcntl::OFlag::O_NONBLOCK.bits())
        .open("/dev/kmsg")
        .map_err(|e| {
            let denied = e.kind() == std::io::ErrorKind::PermissionDenied;
            (e.to_string(), denied)
        })?;
    // µs since boot where the window starts
    let from = match (boot, since) {
        (Some(b), Some(s)) => s.saturating_sub(b).saturating_mul(1_000_000),
        _ => 0,
    };
    let mut buf = vec![0u8; 8192];
    let mut out = Vec::new();
    let mut reads = 0usize;
    while reads < MAX_RECORDS {
        reads += 1;
        match f.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                if kmsg_usec(&buf[..n]).is_some_and(|u| u < from) {
                    continue;
                }
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

/// The timestamp of a /dev/kmsg record (`PRI,SEQ,TS_USEC,…;`), from its header only.
fn kmsg_usec(record: &[u8]) -> Option<u64> {
    let head = record.split(|b| *b == b';').next()?;
    let ts = head.split(|b| *b == b',').nth(2)?;
    std::str::from_utf8(ts).ok()?.parse().ok()
}

/// Run a command with a time limit and an output cap; Err with its stderr when it fails.
fn command(program: &str, args: &[&str]) -> Result<String, String> {
    super::command::run(program, args, COMMAND_TIMEOUT, MAX_BYTES)
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
