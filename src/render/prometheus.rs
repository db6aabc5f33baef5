//! `check --format prometheus`: node_exporter textfile-collector output.

use std::fmt::Write;

use crate::model::checks::{Check, Severity};
use crate::model::{Prediction, names};
use crate::snapshot::Snapshot;

fn esc(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn header(out: &mut String, name: &str, help: &str, kind: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

/// Current usage of the resource behind a ceiling, as a share of it, where porttune knows it.
pub fn usage_ratio(snap: &Snapshot, p: &Prediction, ceiling: &str) -> Option<f64> {
    let c = p.get(ceiling)?;
    let ratio = |used: u64, of: u64| (of > 0).then(|| used as f64 / of as f64);
    match ceiling {
        names::PROCESS_FDS => ratio(
            snap.process.open_fds,
            c.value * p.scenario.fds_per_conn() + snap.process.open_fds,
        ),
        names::SYSTEM_FILES => ratio(snap.fs.file_nr_allocated?, snap.fs.file_max?),
        names::CONNTRACK => {
            let ct = snap.net.conntrack.as_ref()?;
            ratio(ct.count?, ct.max?)
        }
        _ => None,
    }
}

pub fn check(snap: &Snapshot, preds: &[Prediction], checks: &[Check]) -> String {
    let mut out = String::new();
    header(
        &mut out,
        "porttune_ceiling_connections",
        "Predicted maximum concurrent TCP connections for the scenario.",
        "gauge",
    );
    for p in preds {
        let _ = writeln!(
            out,
            "porttune_ceiling_connections{{scenario=\"{}\",bottleneck=\"{}\"}} {}",
            p.scenario.kind.name(),
            esc(&p.bottleneck),
            p.ceiling
        );
    }
    header(
        &mut out,
        "porttune_limit_connections",
        "Connections each ceiling allows, by scenario and ceiling name.",
        "gauge",
    );
    for p in preds {
        for c in &p.ceilings {
            let _ = writeln!(
                out,
                "porttune_limit_connections{{scenario=\"{}\",ceiling=\"{}\",exact=\"{}\"}} {}",
                p.scenario.kind.name(),
                esc(&c.name),
                c.exact,
                c.value
            );
        }
    }
    header(
        &mut out,
        "porttune_usage_ratio",
        "Current usage of the resource behind a ceiling, as a ratio of it (0..1).",
        "gauge",
    );
    for p in preds {
        for c in &p.ceilings {
            if let Some(r) = usage_ratio(snap, p, &c.name) {
                let _ = writeln!(
                    out,
                    "porttune_usage_ratio{{scenario=\"{}\",ceiling=\"{}\"}} {r:.6}",
                    p.scenario.kind.name(),
                    esc(&c.name)
                );
            }
        }
    }
    header(
        &mut out,
        "porttune_check_failed",
        "1 for each check that failed (error) or warns, by check ID and severity.",
        "gauge",
    );
    for c in checks.iter().filter(|c| c.severity >= Severity::Warning) {
        let _ = writeln!(
            out,
            "porttune_check_failed{{id=\"{}\",severity=\"{}\"}} 1",
            esc(&c.id),
            c.severity.label().to_lowercase()
        );
    }
    header(
        &mut out,
        "porttune_tcp_time_wait_sockets",
        if snap.platform.os == crate::snapshot::Os::Macos {
            "TCP sockets in TIME_WAIT on the host."
        } else {
            "TCP sockets in TIME_WAIT in the examined network namespace."
        },
        "gauge",
    );
    let _ = writeln!(
        out,
        "porttune_tcp_time_wait_sockets {}",
        snap.usage.tcp_time_wait.unwrap_or(0)
    );
    out
}
