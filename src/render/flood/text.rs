//! `flood --format text` (and `apply --verify`'s report).

use colored::Colorize;
use std::fmt::Write;

use super::{held_note, lift_for, model_rate_text, stop_line, verdict_line};
use crate::flood::report::*;
use crate::render::thousands;

/// The report for people (wrapped by the caller to the terminal).
pub fn text(r: &FloodReport) -> String {
    let mut o = String::new();
    let c = &r.config;
    let _ = writeln!(
        o,
        "porttune flood: {}{} | workers {} | listen ports {} | source ips {} | max {} | duration {} s",
        c.mode,
        c.target
            .as_deref()
            .map(|t| format!(" {t}"))
            .unwrap_or_default(),
        c.workers,
        c.listen_ports.len(),
        c.source_ips,
        thousands(c.max),
        c.duration_s
    );
    for w in &r.warnings {
        let _ = writeln!(o, "warning: {w}");
    }
    for m in &r.milestones {
        let _ = writeln!(
            o,
            "  {:>9} connections at {:>8.3} s  ({:.0} conn/s)",
            thousands(m.connections),
            m.seconds,
            m.rate_per_s
        );
    }
    let label = if r.churn.is_some() {
        "cycles"
    } else {
        "established"
    };
    let _ = writeln!(
        o,
        "{label}: {} in {:.3} s ({:.0} conn/s)",
        thousands(r.established),
        r.duration_s,
        r.rate_per_s
    );
    let _ = writeln!(o, "stop: {}", stop_line(r));
    if r.stop.errno.is_some() {
        let _ = writeln!(o, "  {}", r.stop.explanation);
    }
    if let Some(p) = &r.prediction {
        let _ = writeln!(
            o,
            "predicted: {} ({}, scenario {})",
            thousands(p.ceiling),
            p.bottleneck,
            p.scenario
        );
    }
    let line = verdict_line(r);
    let line = match r.verdict {
        Verdict::Match | Verdict::MaxReached => line.green().to_string(),
        Verdict::Differs => line.red().bold().to_string(),
        Verdict::Incomplete => line.yellow().to_string(),
    };
    let _ = writeln!(o, "{} {line}", "verdict:".bold());
    state(&mut o, r);
    if let Some(t) = &r.target {
        target(&mut o, t);
    }
    if let Some(ch) = &r.churn {
        let _ = writeln!(
            o,
            "churn: {} cycles, {:.0}/s sustained, TIME_WAIT {}; model sustainable rate: {}",
            thousands(ch.cycles),
            ch.rate_per_s,
            ch.time_wait.map(thousands).unwrap_or_else(|| "?".into()),
            model_rate_text(ch)
        );
    }
    if let Some(name) = r.stop.ceiling.as_deref()
        && let Some(c) = lift_for(r, name)
    {
        let _ = writeln!(o, "lift {name}: {}", c.lift);
    }
    if let Some(v) = r.below_require {
        let _ = writeln!(o, "FAILED: below --require {}", thousands(v));
    }
    o
}

/// The host at the stop, and the survival check.
fn state(o: &mut String, r: &FloodReport) {
    if let Some(s) = &r.state_at_limit {
        let opt = |v: Option<u64>| v.map(thousands).unwrap_or_else(|| "?".into());
        // Counters the host did not give (a Mac has none of them) are left out.
        let mut line = format!("at the stop: fds in use {}", thousands(s.fds_in_use));
        for (name, v, plus) in [
            ("sockets used", s.sockets_used, ""),
            ("TCP inuse", s.tcp_inuse, ""),
            ("TIME_WAIT", s.time_wait, ""),
            ("ListenOverflows", s.listen_overflows, "+"),
        ] {
            if let Some(v) = v {
                line.push_str(&format!(" | {name} {plus}{}", thousands(v)));
            }
        }
        let _ = writeln!(o, "{line}");
        if let Some(b) = s.bytes_per_connection {
            let _ = writeln!(
                o,
                "memory: kernel slab +{} kB, workers RSS {} kB ≈ {} B per connection",
                opt(s.kernel_memory_kb),
                opt(s.workers_rss_kb),
                thousands(b)
            );
        }
        if let (Some(k), Some(u)) = (s.kernel_bytes_per_connection, s.user_bytes_per_connection) {
            let _ = writeln!(
                o,
                "per connection: kernel ≈ {} B, the flood's own ≈ {} B (workers' PSS {} kB: shared pages counted once)",
                thousands(k),
                thousands(u),
                opt(s.workers_pss_kb)
            );
        }
    }
    if let Some(s) = &r.survival {
        let _ = writeln!(
            o,
            "survival: closed {}, reopened {} → {}",
            s.closed,
            s.reopened,
            if s.ok {
                "new connections are accepted again"
            } else {
                "new connections are NOT accepted"
            }
        );
    }
}

/// The target server: its owner, queue and what it held.
fn target(o: &mut String, t: &TargetInfo) {
    let _ = writeln!(
        o,
        "target {}: owner {} | backlog {} | somaxconn {}{}",
        t.addr,
        match (t.pid, &t.command) {
            (Some(p), Some(c)) => format!("pid {p} ({c})"),
            (Some(p), None) => format!("pid {p}"),
            _ => "unknown".into(),
        },
        t.backlog
            .map(|b| b.to_string())
            .unwrap_or_else(|| "?".into()),
        t.somaxconn
            .map(|b| b.to_string())
            .unwrap_or_else(|| "?".into()),
        if t.stopped_accepting {
            " | the server stopped accepting"
        } else {
            ""
        }
    );
    if let Some(acc) = t.server_accepted.filter(|&a| a > 0) {
        let _ = writeln!(
            o,
            "server side: it held {} connections{}; {} more waited in its accept queue (compared with the prediction: {})",
            thousands(acc),
            held_note(t),
            t.queued_at_stop
                .map(thousands)
                .unwrap_or_else(|| "?".into()),
            thousands(acc)
        );
    }
}
