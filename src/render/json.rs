//! `--format json` for check: a stable, documented shape (`"schema": 1`).

use serde_json::{Value, json};

use super::CheckReport;
use crate::model::Prediction;

fn prediction(p: &Prediction) -> Value {
    json!({
        "ceiling": p.ceiling,
        "bottleneck": p.bottleneck,
        "tied": p.tied,
        "scenario": p.scenario,
    })
}

fn ceilings(p: &Prediction) -> Value {
    Value::Array(
        p.ceilings
            .iter()
            .map(|c| {
                json!({
                    "name": c.name, "value": c.value, "exact": c.exact,
                    "scope": c.scope, "why": c.why, "lift": c.lift,
                })
            })
            .collect(),
    )
}

pub fn check(r: &CheckReport) -> String {
    let s = r.snapshot;
    let p = r.prediction;
    let mut v = json!({
        "schema": 1,
        "source": r.source,
        "prediction": prediction(p),
        "ceilings": ceilings(p),
        "not_applicable": p.not_applicable,
        "rates": p.rates,
        "assumptions": p.assumptions,
        "checks": r.checks,
        "usage": {
            "process_fds_open": s.process.open_fds,
            "process_connections": s.usage.process_connections,
            "sockets_used": s.usage.sockets_used,
            "tcp_inuse": s.usage.tcp_inuse,
            "tcp_time_wait": s.usage.tcp_time_wait,
            "conntrack_count": s.net.conntrack.as_ref().and_then(|c| c.count),
            "file_nr_allocated": s.fs.file_nr_allocated,
        },
        "process": {
            "pid": s.process.pid,
            "comm": s.process.comm,
            "unit": s.process.unit,
            "runtime": s.runtime.kind.name(),
            "nofile_soft": s.process.nofile.soft,
            "nofile_hard": s.process.nofile.hard,
            "open_fds": s.process.open_fds,
            "caps": s.process.caps,
        },
        "notes": s.notes,
    });
    // Which host the checks (and --require) judged: this one, or the what-if.
    v["checks_for"] = json!(if r.with_profile.is_some() {
        "with_profile"
    } else {
        "host"
    });
    if s.platform.os == crate::snapshot::Os::Macos {
        // macOS has no connection tracking table: no such field rather than a null.
        if let Some(u) = v["usage"].as_object_mut() {
            u.remove("conntrack_count");
        }
    }
    if let Some((name, after)) = &r.with_profile {
        v["with_profile"] = json!({
            "profile": name,
            "before": prediction(p),
            "after": prediction(after),
            "ceilings_after": ceilings(after),
        });
    }
    serde_json::to_string_pretty(&v).unwrap_or_default() + "\n"
}
