//! Checks from kernel-log evidence recorded by the probe: a limit the kernel says was already
//! hit, with when it was seen. Pure: the lines are facts in the snapshot; the pattern table
//! (`super::patterns`, its kernel patterns) says what they mean.

use super::check::{Check, Severity};
use super::matcher::{MAX_LINE, cut, match_line};
use super::patterns::Pattern;
use crate::snapshot::LogLine;
use crate::snapshot::Snapshot;
use crate::snapshot::logtime::parse_iso;

/// Only the kernel's own messages are evidence in the kernel log.
pub fn kernel_only(p: &Pattern) -> bool {
    p.origin == "kernel"
}

/// The kernel pattern a kernel-log message matches.
pub fn evidence(message: &str) -> Option<&'static Pattern> {
    match_line(&cut(message, MAX_LINE).to_ascii_lowercase(), kernel_only)
}

/// A kernel-log message worth keeping in the snapshot (the probe is told this).
pub fn is_evidence(message: &str) -> bool {
    evidence(message).is_some()
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

pub const ID: crate::model::CheckId = crate::model::CheckId::KernelLog;

fn check(severity: Severity, message: String) -> Check {
    Check {
        id: ID,
        severity,
        message,
        ignored: false,
    }
}

/// The time from which kernel-log lines are evidence, and how to say it: `--since`, else the
/// examined process's start (a line from before it is another process's, or its previous
/// run's). `check` of the host (porttune's own process) takes what the log holds.
pub fn window(snap: &Snapshot) -> Option<(u64, String)> {
    let log = snap.kernel_log.as_ref()?;
    if let Some(s) = &log.since {
        return parse_iso(s).map(|t| (t, format!("since {s} (--since)")));
    }
    let p = &snap.process;
    if p.is_self {
        return None;
    }
    let started = p.started.as_deref()?;
    let t = parse_iso(started)?;
    let who = p
        .pid
        .map_or("the process".to_string(), |n| format!("PID {n}"));
    Some((t, format!("since {who} started at {started}")))
}

/// One check per kernel limit message found in the window (with count and first/last time
/// seen), an info check for evidence left out as older than the window, or one info check
/// saying the log could not be read.
pub fn checks(snap: &Snapshot) -> Vec<Check> {
    let Some(log) = &snap.kernel_log else {
        return Vec::new();
    };
    if let Some(why) = &log.unreadable {
        return vec![check(
            Severity::Info,
            format!(
                "the kernel log could not be read: {why} → no evidence of limits already hit was checked"
            ),
        )];
    }
    let source = log.source.as_deref().unwrap_or("the kernel log");
    let win = window(snap);
    // A line whose time cannot be read cannot be placed in a window: not evidence then.
    let (inside, before): (Vec<LogLine>, Vec<LogLine>) =
        log.lines.iter().cloned().partition(|l| match &win {
            Some((t, _)) => l
                .seen
                .as_deref()
                .and_then(parse_iso)
                .is_some_and(|s| s >= *t),
            None => true,
        });
    let within = win
        .as_ref()
        .map_or(String::new(), |(_, w)| format!(", {w},"));
    let mut out: Vec<Check> = group(&inside)
        .into_iter()
        .map(|g| {
            let p = g.pattern;
            let when = match (&g.first_seen, &g.last_seen) {
                (Some(f), Some(l)) if g.count > 1 && f != l => {
                    format!("{}× between {f} and {l}", g.count)
                }
                (_, Some(l)) if g.count > 1 => format!("{}×, last at {l}", g.count),
                (_, Some(l)) => format!("at {l}"),
                _ => format!("{}×", g.count),
            };
            check(
                Severity::Warning,
                format!(
                    "{source}{within} {when}: \"{}\" → {} already hit: {} → {}",
                    g.text,
                    p.ceiling.unwrap_or("a limit"),
                    p.mechanism,
                    p.lift
                ),
            )
        })
        .collect();
    let older = group(&before);
    if let (Some((_, w)), false) = (&win, older.is_empty()) {
        let n: u64 = older.iter().map(|g| g.count).sum();
        let last = older
            .iter()
            .filter_map(|g| g.last_seen.as_deref())
            .max()
            .map_or(String::new(), |l| format!(", the latest at {l},"));
        out.push(check(
            Severity::Info,
            format!(
                "{n} kernel-log line(s) of limits hit before the window{last} are not evidence here (evidence is taken {w}): another process's, or an earlier run's → --since TIME takes them in"
            ),
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::{KernelLog, LogLine};

    fn snap(log: KernelLog) -> Snapshot {
        Snapshot {
            kernel_log: Some(log),
            ..Snapshot::default()
        }
    }

    #[test]
    fn evidence_becomes_checks_with_time() {
        let log = KernelLog {
            source: Some("/dev/kmsg".into()),
            unreadable: None,
            lines: vec![
                LogLine {
                    seen: Some("2026-11-30T15:00:00Z".into()),
                    text: "nf_conntrack: nf_conntrack: table full, dropping packet".into(),
                },
                LogLine {
                    seen: Some("2026-11-30T15:05:00Z".into()),
                    text: "nf_conntrack: nf_conntrack: table full, dropping packet".into(),
                },
                LogLine {
                    seen: Some("2026-11-30T15:06:00Z".into()),
                    text: "TCP: request_sock_TCP: Possible SYN flooding on port 127.0.0.1:8080. Sending cookies.".into(),
                },
            ],
            since: None,
        };
        let c = checks(&snap(log));
        assert_eq!(c.len(), 2, "{c:?}");
        assert_eq!(c[0].severity, Severity::Warning);
        assert!(
            c[0].message
                .contains("2× between 2026-11-30T15:00:00Z and 2026-11-30T15:05:00Z"),
            "{}",
            c[0].message
        );
        assert!(
            c[0].message.contains("conntrack already hit"),
            "{}",
            c[0].message
        );
        assert!(
            c[1].message.contains("accept_queue already hit"),
            "{}",
            c[1].message
        );
        assert!(
            c[1].message.contains("at 2026-11-30T15:06:00Z"),
            "{}",
            c[1].message
        );
    }

    fn line(seen: &str, text: &str) -> LogLine {
        LogLine {
            seen: Some(seen.into()),
            text: text.into(),
        }
    }

    /// A node started at 15:00 whose log holds a conntrack line from 14:00 (another
    /// service's, before it started) and a SYN flood on its port at 15:05.
    fn node_with_an_older_line() -> Snapshot {
        let mut s = snap(KernelLog {
            source: Some("syslog(2)".into()),
            lines: vec![
                line(
                    "2026-11-30T14:00:00Z",
                    "nf_conntrack: nf_conntrack: table full, dropping packet",
                ),
                line(
                    "2026-11-30T15:05:00+0000",
                    "TCP: request_sock_TCP: Possible SYN flooding on port 127.0.0.1:4369. Sending cookies.",
                ),
            ],
            ..KernelLog::default()
        });
        s.process.pid = Some(4242);
        s.process.started = Some("2026-11-30T15:00:00Z".into());
        s
    }

    #[test]
    fn evidence_is_what_was_logged_in_the_process_lifetime() {
        let s = node_with_an_older_line();
        let c = checks(&s);
        assert_eq!(c.len(), 2, "{c:?}");
        assert_eq!(c[0].severity, Severity::Warning);
        assert!(
            c[0].message.starts_with(
                "syslog(2), since PID 4242 started at 2026-11-30T15:00:00Z, at 2026-11-30T15:05:00+0000: \"TCP: request_sock_TCP: Possible SYN flooding"
            ),
            "{}",
            c[0].message
        );
        assert!(
            c.iter()
                .all(|c| !c.message.contains("conntrack already hit")),
            "{c:?}"
        );
        assert_eq!(c[1].severity, Severity::Info);
        assert!(
            c[1].message.starts_with("1 kernel-log line(s) of limits hit before the window, the latest at 2026-11-30T14:00:00Z, are not evidence here (evidence is taken since PID 4242 started at 2026-11-30T15:00:00Z)"),
            "{}",
            c[1].message
        );

        // --since before the start takes the older line in, and says so.
        let mut wide = s.clone();
        wide.kernel_log.as_mut().unwrap().since = Some("2026-11-30T13:00:00Z".into());
        let c = checks(&wide);
        assert_eq!(c.len(), 2, "{c:?}");
        assert!(c.iter().all(|c| c.severity == Severity::Warning), "{c:?}");
        assert!(
            c[0].message
                .contains(", since 2026-11-30T13:00:00Z (--since), at 2026-11-30T14:00:00Z"),
            "{}",
            c[0].message
        );
        // --since after both: nothing in the window, both said to be older.
        let mut narrow = s.clone();
        narrow.kernel_log.as_mut().unwrap().since = Some("2026-11-30T16:00:00Z".into());
        let c = checks(&narrow);
        assert_eq!(c.len(), 1, "{c:?}");
        assert!(
            c[0].message.starts_with("2 kernel-log line(s)"),
            "{}",
            c[0].message
        );

        // The host (porttune's own process) has no lifetime window: every line counts.
        let mut host = s.clone();
        host.process.is_self = true;
        let c = checks(&host);
        assert_eq!(c.len(), 2, "{c:?}");
        assert!(
            c.iter()
                .all(|c| c.severity == Severity::Warning && !c.message.contains("since")),
            "{c:?}"
        );
        // A line without a time cannot be placed in a window.
        let mut untimed = s.clone();
        untimed.kernel_log.as_mut().unwrap().lines[1].seen = None;
        let c = checks(&untimed);
        assert!(c.iter().all(|c| c.severity == Severity::Info), "{c:?}");
    }

    #[test]
    fn unreadable_is_said_and_absent_is_silent() {
        let c = checks(&snap(KernelLog {
            source: None,
            unreadable: Some("/dev/kmsg: Operation not permitted".into()),
            lines: vec![],
            since: None,
        }));
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].severity, Severity::Info);
        assert!(c[0].message.contains("could not be read"));
        assert!(checks(&Snapshot::default()).is_empty());
        // Readable and clean: nothing to say.
        assert!(
            checks(&snap(KernelLog {
                source: Some("/dev/kmsg".into()),
                ..KernelLog::default()
            }))
            .is_empty()
        );
    }
}

#[cfg(all(test, target_os = "linux"))]
mod kernel_log_tests {
    use super::*;
    use crate::snapshot::kernel_log::{keep_evidence, parse_dmesg_iso, parse_journal, parse_kmsg};

    #[test]
    fn kernel_patterns_only() {
        let k = parse_kmsg(
            "6,1234,5000000,-;TCP: request_sock_TCP: Possible SYN flooding on port 127.0.0.1:40000. Sending cookies.\n",
            None,
        )
        .unwrap();
        assert_eq!(evidence(&k.text).unwrap().id, "kernel_syn_flooding");
        let j = parse_journal(
            "2026-11-30T15:02:11+0000 web1 kernel: nf_conntrack: nf_conntrack: table full, dropping packet",
        )
        .unwrap();
        assert_eq!(evidence(&j.text).unwrap().id, "kernel_conntrack_full");
        let d = parse_dmesg_iso("2026-11-30T15:02:11,123456+00:00 TCP: too many orphaned sockets")
            .unwrap();
        assert_eq!(evidence(&d.text).unwrap().id, "kernel_orphans");
        // A runtime's message in the kernel log is not kernel evidence.
        assert!(!is_evidence("accept4() failed (24: Too many open files)"));
    }

    #[test]
    fn grouping() {
        let mk = |t: &str, s: &str| LogLine {
            seen: Some(s.into()),
            text: t.into(),
        };
        let lines = vec![
            mk("nf_conntrack: table full, dropping packet", "t1"),
            mk("eth0: link up", "t2"),
            mk("nf_conntrack: table full, dropping packet", "t3"),
        ];
        let kept = keep_evidence(lines, is_evidence);
        assert_eq!(kept.len(), 2);
        let g = group(&kept);
        assert_eq!(g.len(), 1);
        assert_eq!(g[0].count, 2);
        assert_eq!(g[0].first_seen.as_deref(), Some("t1"));
        assert_eq!(g[0].last_seen.as_deref(), Some("t3"));
    }
}
