//! Kernel-log evidence of limits already hit: parsing of the three formats the probe reads
//! (/dev/kmsg records, `dmesg --time-format iso`, `journalctl -k -o short-iso`) and the
//! grouping `check` reports. Pure: the probe does the reading, the model the reporting.

use super::{Pattern, match_line};
use crate::snapshot::LogLine;

/// Lines kept at most (the most recent ones).
pub const MAX_LINES: usize = 200;

/// Only the kernel's own messages are evidence in the kernel log.
pub fn kernel_only(p: &Pattern) -> bool {
    p.origin == "kernel"
}

/// The kernel pattern a kernel-log message matches.
pub fn evidence(message: &str) -> Option<&'static Pattern> {
    match_line(
        &super::cut(message, super::MAX_LINE).to_ascii_lowercase(),
        kernel_only,
    )
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

/// Keep the evidence lines among `lines`, at most [`MAX_LINES`] (the latest).
pub fn keep_evidence(lines: impl IntoIterator<Item = LogLine>) -> Vec<LogLine> {
    let mut out: Vec<LogLine> = lines
        .into_iter()
        .filter(|l| evidence(&l.text).is_some())
        .map(|mut l| {
            l.text = super::cut(&l.text, super::MAX_TEXT).to_string();
            l
        })
        .collect();
    if out.len() > MAX_LINES {
        out.drain(..out.len() - MAX_LINES);
    }
    out
}

/// Evidence grouped by pattern: the pattern, how often, first and last time seen, one line.
#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    pub pattern: &'static Pattern,
    pub count: u64,
    pub first_seen: Option<String>,
    pub last_seen: Option<String>,
    pub text: String,
}

pub fn group(lines: &[LogLine]) -> Vec<Group> {
    let mut out: Vec<Group> = Vec::new();
    for l in lines {
        let Some(p) = evidence(&l.text) else { continue };
        match out.iter_mut().find(|g| g.pattern.id == p.id) {
            Some(g) => {
                g.count += 1;
                if l.seen.is_some() {
                    g.last_seen = l.seen.clone();
                }
                g.text = l.text.clone();
            }
            None => out.push(Group {
                pattern: p,
                count: 1,
                first_seen: l.seen.clone(),
                last_seen: l.seen.clone(),
                text: l.text.clone(),
            }),
        }
    }
    out
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
        assert_eq!(evidence(&k.text).unwrap().id, "kernel_syn_flooding");
        let j = parse_journal(
            "2026-11-30T15:02:11+0000 web1 kernel: nf_conntrack: nf_conntrack: table full, dropping packet",
        )
        .unwrap();
        assert_eq!(j.seen.as_deref(), Some("2026-11-30T15:02:11+0000"));
        assert_eq!(evidence(&j.text).unwrap().id, "kernel_conntrack_full");
        let d = parse_dmesg_iso("2026-11-30T15:02:11,123456+00:00 TCP: too many orphaned sockets")
            .unwrap();
        assert_eq!(evidence(&d.text).unwrap().id, "kernel_orphans");
        assert!(parse_journal("-- No entries --").is_none());
        // A runtime's message in the kernel log is not kernel evidence.
        assert!(evidence("accept4() failed (24: Too many open files)").is_none());
    }

    #[test]
    fn grouping_and_cap() {
        let mk = |t: &str, s: &str| LogLine {
            seen: Some(s.into()),
            text: t.into(),
        };
        let lines = vec![
            mk("nf_conntrack: table full, dropping packet", "t1"),
            mk("eth0: link up", "t2"),
            mk("nf_conntrack: table full, dropping packet", "t3"),
        ];
        let kept = keep_evidence(lines);
        assert_eq!(kept.len(), 2);
        let g = group(&kept);
        assert_eq!(g.len(), 1);
        assert_eq!(g[0].count, 2);
        assert_eq!(g[0].first_seen.as_deref(), Some("t1"));
        assert_eq!(g[0].last_seen.as_deref(), Some("t3"));
        let many = (0..500).map(|i| mk("TCP: too many orphaned sockets", &i.to_string()));
        let kept = keep_evidence(many);
        assert_eq!(kept.len(), MAX_LINES);
        assert_eq!(kept.last().unwrap().seen.as_deref(), Some("499"));
    }
}
