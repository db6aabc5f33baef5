//! Checks from kernel-log evidence recorded by the probe: a limit the kernel says was already
//! hit, with when it was seen. Pure: the lines are facts in the snapshot; the pattern table
//! (explain::patterns) says what they mean.

use super::checks::{Check, Severity};
use crate::explain::kernel_log;
use crate::snapshot::Snapshot;

pub const ID: crate::model::CheckId = crate::model::CheckId::KernelLog;

fn check(severity: Severity, message: String) -> Check {
    Check {
        id: ID,
        severity,
        message,
        ignored: false,
    }
}

/// One check per kernel limit message found (with count and first/last time seen), or one
/// info check saying the log could not be read.
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
    kernel_log::group(&log.lines)
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
                    "{source} {when}: \"{}\" → {} already hit: {} → {}",
                    g.text,
                    p.ceiling.unwrap_or("a limit"),
                    p.mechanism,
                    p.lift
                ),
            )
        })
        .collect()
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

    #[test]
    fn unreadable_is_said_and_absent_is_silent() {
        let c = checks(&snap(KernelLog {
            source: None,
            unreadable: Some("/dev/kmsg: Operation not permitted".into()),
            lines: vec![],
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
