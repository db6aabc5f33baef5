//! `check --format prometheus`: node_exporter textfile-collector output.

use std::fmt::Write;

use crate::model::Prediction;
use crate::model::checks::{Check, Severity};
use crate::model::usage::usage_ratio;
use crate::snapshot::Snapshot;

/// A label value as the exposition format reads it: control characters first shown as text
/// (`\x1b`, `\n`: an outside name never drives a terminal), then `\` and `"` escaped, so the
/// only escapes left are the three the format knows (node_exporter refuses a whole textfile
/// with any other).
fn esc(s: &str) -> String {
    crate::text::escape(s)
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
}

fn header(out: &mut String, name: &str, help: &str, kind: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

/// The labels that say which host view, unit or process a series is about, so textfiles
/// for several services (and the host) coexist in one node_exporter:
/// `target` ("host", "process" or "unit"), `unit`, `comm` and `pid` (empty when not known).
pub fn identity(snap: &Snapshot) -> String {
    let p = &snap.process;
    let target = match (&p.unit, is_host_view(snap)) {
        (Some(_), _) => "unit",
        (None, false) => "process",
        _ => "host",
    };
    let unit = p.unit.as_ref().map(|u| u.name.as_str()).unwrap_or("");
    // porttune's own PID changes every run: the host view carries none.
    let (comm, pid) = if target == "host" {
        (String::new(), String::new())
    } else {
        (
            p.comm.clone().unwrap_or_default(),
            p.pid.map(|v| v.to_string()).unwrap_or_default(),
        )
    };
    format!(
        "target=\"{target}\",unit=\"{}\",comm=\"{}\",pid=\"{}\"",
        esc(unit),
        esc(&comm),
        esc(&pid)
    )
}

/// Whether the snapshot is the host's view (porttune's own process, or none named) rather
/// than a service's (`--pid`, `--process`, `--unit`).
pub fn is_host_view(snap: &Snapshot) -> bool {
    let p = &snap.process;
    p.unit.is_none() && (p.is_self || p.pid.is_none())
}

pub fn check(snap: &Snapshot, preds: &[Prediction], checks: &[Check]) -> String {
    let mut out = String::new();
    let id = identity(snap);
    header(
        &mut out,
        "porttune_build_info",
        "The porttune version that wrote these series (always 1).",
        "gauge",
    );
    let _ = writeln!(
        out,
        "porttune_build_info{{{id},version=\"{}\"}} 1",
        env!("CARGO_PKG_VERSION")
    );
    header(
        &mut out,
        "porttune_ceiling_connections",
        "Predicted maximum concurrent TCP connections for the scenario.",
        "gauge",
    );
    for p in preds {
        let _ = writeln!(
            out,
            "porttune_ceiling_connections{{{id},scenario=\"{}\",bottleneck=\"{}\"}} {}",
            p.scenario.kind.name(),
            esc(p.bottleneck_str()),
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
                "porttune_limit_connections{{{id},scenario=\"{}\",ceiling=\"{}\",exact=\"{}\"}} {}",
                p.scenario.kind.name(),
                esc(c.name.as_str()),
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
            if let Some(r) = usage_ratio(snap, p, c.name) {
                let _ = writeln!(
                    out,
                    "porttune_usage_ratio{{{id},scenario=\"{}\",ceiling=\"{}\"}} {r:.6}",
                    p.scenario.kind.name(),
                    esc(c.name.as_str())
                );
            }
        }
    }
    header(
        &mut out,
        "porttune_check_failed",
        "1 when a check fails (error) or warns, 0 when it passes or only informs; level is error, warning, info or ok.",
        "gauge",
    );
    for known in crate::model::checks::ids_for(snap) {
        // The worst finding of this ID (an ID can be reported once per ceiling).
        let found = checks
            .iter()
            .filter(|c| c.id == known)
            .max_by_key(|c| c.severity);
        let (level, v) = match found {
            Some(c) => (
                c.severity.label().to_lowercase(),
                u8::from(c.severity >= Severity::Warning),
            ),
            None => ("ok".to_string(), 0),
        };
        let _ = writeln!(
            out,
            "porttune_check_failed{{{id},id=\"{}\",level=\"{level}\"}} {v}",
            esc(known)
        );
    }
    // Checks the list of IDs does not know (none today) are still exported.
    for c in checks
        .iter()
        .filter(|c| !crate::model::checks::IDS.contains(&c.id.as_str()))
    {
        let _ = writeln!(
            out,
            "porttune_check_failed{{{id},id=\"{}\",level=\"{}\"}} {}",
            esc(c.id.as_str()),
            c.severity.label().to_lowercase(),
            u8::from(c.severity >= Severity::Warning)
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
        "porttune_tcp_time_wait_sockets{{{id}}} {}",
        snap.usage.tcp_time_wait.unwrap_or(0)
    );
    out
}
