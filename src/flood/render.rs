//! Text, JSON and Markdown renderings of a [`FloodReport`]. Formatting only: every number
//! comes from the report.

use colored::Colorize;
use std::fmt::Write;

use super::report::*;

/// 12345 → "12,345".
pub fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, ch) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

fn stop_line(r: &FloodReport) -> String {
    let s = &r.stop;
    match (&s.errno, s.call) {
        (Some(e), Some(c)) => format!(
            "{e} at {}() after {:.3} s → {}",
            c.name(),
            s.at_s,
            s.ceiling.as_deref().unwrap_or("not a capacity limit")
        ),
        _ => format!("{} ({})", s.reason.name(), s.explanation),
    }
}

fn lift_for<'a>(r: &'a FloodReport, name: &str) -> Option<&'a PredictedCeiling> {
    r.prediction
        .as_ref()?
        .ceilings
        .iter()
        .find(|c| c.name == name)
}

/// The model's sustainable churn rate and its reason, as one phrase.
fn model_rate_text(ch: &Churn) -> String {
    match (ch.model_rate_per_s, &ch.model_why) {
        (Some(v), Some(w)) => format!("{v:.1}/s ({w})"),
        (Some(v), None) => format!("{v:.1}/s"),
        _ => "not given by the model".into(),
    }
}

fn churn_verdict_line(r: &FloodReport, ch: &Churn) -> String {
    let v = r.verdict.name();
    if r.verdict == Verdict::MaxReached {
        return format!(
            "max_reached: --max {} cycles were reached before any limit",
            thousands(r.config.max)
        );
    }
    if r.stop.reason == StopReason::Limit {
        let ports = ch
            .predicted_ports
            .or(r.prediction.as_ref().map(|p| p.ceiling));
        return match ports {
            Some(p) => format!(
                "{v}: {} cycles before the ports ran out, predicted {} usable ports within one TIME_WAIT lifetime",
                thousands(ch.cycles),
                thousands(p)
            ),
            None => format!(
                "{v}: {} cycles, no prediction from the model",
                thousands(ch.cycles)
            ),
        };
    }
    if let Some(p) = ch.predicted_ports
        && r.verdict == Verdict::Match
        && ch.cycles <= p
        && ch.model_rate_per_s.is_none_or(|m| m < ch.rate_per_s)
    {
        return format!(
            "{v}: sustained {:.0}/s with no limit; its {} cycles stayed within the {} ports one \
             TIME_WAIT lifetime can hold (model: {} sustainable)",
            ch.rate_per_s,
            thousands(ch.cycles),
            thousands(p),
            ch.model_rate_per_s
                .map(|m| format!("{m:.0}/s"))
                .unwrap_or_else(|| "no rate".into())
        );
    }
    match ch.model_rate_per_s {
        Some(m) if r.verdict == Verdict::Match => format!(
            "{v}: sustained {:.0}/s with no limit, within the model's sustainable {:.0}/s",
            ch.rate_per_s, m
        ),
        Some(m) => format!(
            "{v}: sustained {:.0}/s with no limit, above the model's sustainable {:.0}/s",
            ch.rate_per_s, m
        ),
        None => format!(
            "{v}: sustained {:.0}/s, the model gave no sustainable rate",
            ch.rate_per_s
        ),
    }
}

/// Why a run stopped before any limit: what to do for a measurement.
fn incomplete_line(r: &FloodReport) -> String {
    let why = match r.stop.reason {
        StopReason::Signal => "interrupted (SIGINT/SIGTERM)".to_string(),
        _ => format!("--duration {} s ran out", r.config.duration_s),
    };
    let predicted = r
        .prediction
        .as_ref()
        .map(|p| format!("{} ({})", thousands(p.ceiling), p.bottleneck))
        .unwrap_or_else(|| "nothing".into());
    format!(
        "incomplete: {why} after {} connections, before any limit; predicted {predicted}: \
         nothing was proven, run longer (--duration) or lower --max",
        thousands(r.measured())
    )
}

fn verdict_line(r: &FloodReport) -> String {
    if r.verdict == Verdict::Incomplete {
        return incomplete_line(r);
    }
    if let Some(ch) = &r.churn {
        return churn_verdict_line(r, ch);
    }
    match (&r.prediction, r.verdict) {
        (_, Verdict::MaxReached) => format!(
            "max_reached: --max {} was reached before any limit",
            thousands(r.config.max)
        ),
        (Some(p), Verdict::Match) => format!(
            "match: measured {} = predicted {} ({})",
            thousands(r.measured()),
            thousands(p.ceiling),
            p.bottleneck
        ),
        (Some(p), _) => format!(
            "differs: measured {}, predicted {} ({})",
            thousands(r.measured()),
            thousands(p.ceiling),
            p.bottleneck
        ),
        (None, Verdict::Match) => "match".into(),
        (None, _) => format!(
            "differs: measured {}, no prediction from the model",
            thousands(r.measured())
        ),
    }
}

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
    if let Some(s) = &r.state_at_limit {
        let opt = |v: Option<u64>| v.map(thousands).unwrap_or_else(|| "?".into());
        let _ = writeln!(
            o,
            "at the stop: fds in use {} | sockets used {} | TCP inuse {} | TIME_WAIT {} | ListenOverflows +{}",
            thousands(s.fds_in_use),
            opt(s.sockets_used),
            opt(s.tcp_inuse),
            opt(s.time_wait),
            opt(s.listen_overflows)
        );
        if let Some(b) = s.bytes_per_connection {
            let _ = writeln!(
                o,
                "memory: kernel slab +{} kB, workers RSS {} kB ≈ {} B per connection",
                opt(s.kernel_memory_kb),
                opt(s.workers_rss_kb),
                thousands(b)
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
    if let Some(t) = &r.target {
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

pub fn json(r: &FloodReport) -> String {
    let mut s =
        serde_json::to_string_pretty(r).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"));
    s.push('\n');
    s
}

pub fn markdown(r: &FloodReport) -> String {
    let mut o = String::new();
    let c = &r.config;
    let _ = writeln!(o, "# porttune flood report\n");
    let _ = writeln!(o, "**Verdict:** {}\n", verdict_line(r));
    let _ = writeln!(o, "## Configuration\n");
    let _ = writeln!(o, "| setting | value |\n|---|---|");
    let _ = writeln!(o, "| mode | {} |", c.mode);
    if let Some(t) = &c.target {
        let _ = writeln!(o, "| target | {t} |");
    }
    let _ = writeln!(o, "| worker processes | {} |", c.workers);
    if !c.listen_ports.is_empty() {
        let ports: Vec<String> = c
            .listen_ports
            .iter()
            .take(8)
            .map(|p| p.to_string())
            .collect();
        let more = if c.listen_ports.len() > 8 {
            ", …"
        } else {
            ""
        };
        let _ = writeln!(
            o,
            "| listen ports | {} ({}{more}; {} inside the ephemeral range) |",
            c.listen_ports.len(),
            ports.join(", "),
            c.listen_ports_in_range
        );
    }
    let _ = writeln!(o, "| source IPs | {} |", c.source_ips);
    if let Some((lo, hi)) = c.port_range {
        let _ = writeln!(
            o,
            "| ip_local_port_range | {lo}–{hi} ({} ports) |",
            hi as u32 - lo as u32 + 1
        );
    }
    if let Some(b) = c.backlog {
        let _ = writeln!(o, "| listen backlog | {b} |");
    }
    if let Some(n) = c.nofile_soft {
        let _ = writeln!(o, "| RLIMIT_NOFILE (soft) | {n} |");
    }
    let _ = writeln!(
        o,
        "| --max / --duration / --connect-timeout | {} / {} s / {} ms |",
        c.max, c.duration_s, c.connect_timeout_ms
    );
    let _ = writeln!(
        o,
        "| close | {} |",
        if c.graceful {
            "FIN (graceful)"
        } else {
            "RST (SO_LINGER 0)"
        }
    );
    let _ = writeln!(o, "| churn | {} |\n", c.churn);

    let _ = writeln!(o, "## Milestones\n");
    if r.milestones.is_empty() {
        let _ = writeln!(o, "No milestone (1,000 connections) was reached.\n");
    } else {
        let _ = writeln!(o, "| connections | seconds | conn/s |\n|---:|---:|---:|");
        for m in &r.milestones {
            let _ = writeln!(
                o,
                "| {} | {:.3} | {:.0} |",
                thousands(m.connections),
                m.seconds,
                m.rate_per_s
            );
        }
        let _ = writeln!(o);
    }
    let _ = writeln!(
        o,
        "Established: **{}** in {:.3} s ({:.0} conn/s).\n",
        thousands(r.established),
        r.duration_s,
        r.rate_per_s
    );

    let _ = writeln!(o, "## Breaking point\n");
    let _ = writeln!(o, "- stop: {}", stop_line(r));
    let _ = writeln!(o, "- {}", r.stop.explanation);
    if let Some(s) = &r.state_at_limit {
        let opt = |v: Option<u64>| v.map(thousands).unwrap_or_else(|| "?".into());
        let _ = writeln!(o, "- fds in use: {}", thousands(s.fds_in_use));
        let _ = writeln!(
            o,
            "- /proc/net/sockstat: sockets used {}, TCP inuse {}, TIME_WAIT {}",
            opt(s.sockets_used),
            opt(s.tcp_inuse),
            opt(s.time_wait)
        );
        let _ = writeln!(
            o,
            "- TcpExtListenOverflows rose by {}",
            opt(s.listen_overflows)
        );
    }
    if let Some(s) = &r.survival {
        let _ = writeln!(
            o,
            "- survival: closed {} connection(s), {} reopened: {}",
            s.closed,
            s.reopened,
            if s.ok {
                "the host accepts new connections again"
            } else {
                "new connections are still refused or dropped"
            }
        );
    }
    if let Some(t) = &r.target {
        if t.stopped_accepting {
            let full = matches!((t.queued_at_stop, t.backlog), (Some(q), Some(b)) if q >= b);
            let _ = writeln!(
                o,
                "- the server at {} stopped taking connections; {} queued of backlog {}{}",
                t.addr,
                t.queued_at_stop
                    .map(|b| b.to_string())
                    .unwrap_or_else(|| "?".into()),
                t.backlog
                    .map(|b| b.to_string())
                    .unwrap_or_else(|| "?".into()),
                if full {
                    ": its accept queue was full"
                } else {
                    ""
                }
            );
        }
        if let Some(acc) = t.server_accepted.filter(|&a| a > 0) {
            let _ = writeln!(
                o,
                "- the server held {} connections{}; {} more waited in its queue",
                thousands(acc),
                held_note(t),
                t.queued_at_stop
                    .map(thousands)
                    .unwrap_or_else(|| "?".into())
            );
        }
    }
    let _ = writeln!(o);

    let _ = writeln!(o, "## Analysis\n");
    match &r.prediction {
        Some(p) => {
            let _ = writeln!(
                o,
                "The model predicted **{}** for the `{}` scenario, limited by `{}`. Measured: **{}**.\n",
                thousands(p.ceiling),
                p.scenario,
                p.bottleneck,
                thousands(
                    r.target
                        .as_ref()
                        .and_then(|t| t.server_accepted)
                        .filter(|&n| n > 0)
                        .unwrap_or(r.established)
                )
            );
            if !p.ceilings.is_empty() {
                let _ = writeln!(o, "| ceiling | value | why |\n|---|---:|---|");
                for c in &p.ceilings {
                    let _ = writeln!(o, "| {} | {} | {} |", c.name, thousands(c.value), c.why);
                }
                let _ = writeln!(o);
            }
            for a in &p.assumptions {
                let _ = writeln!(o, "- assumed: {a}");
            }
        }
        None => {
            let _ = writeln!(o, "The model gave no prediction for this scenario.\n");
        }
    }
    if let Some(ch) = &r.churn {
        let _ = writeln!(
            o,
            "Churn: {} open-close cycles, {:.0}/s sustained, {} TIME_WAIT sockets at the stop. \
             Model sustainable rate: {}.\n",
            thousands(ch.cycles),
            ch.rate_per_s,
            ch.time_wait.map(thousands).unwrap_or_else(|| "?".into()),
            model_rate_text(ch)
        );
    }
    for w in &r.warnings {
        let _ = writeln!(o, "- note: {w}");
    }
    let _ = writeln!(o, "\n## How to lift the limit\n");
    let mut any = false;
    for name in r
        .stop
        .ceiling
        .iter()
        .chain(r.prediction.as_ref().map(|p| &p.bottleneck))
    {
        if let Some(c) = lift_for(r, name) {
            let _ = writeln!(o, "- `{}`: {}", c.name, c.lift);
            any = true;
            if r.stop.ceiling.as_deref() == r.prediction.as_ref().map(|p| p.bottleneck.as_str()) {
                break;
            }
        }
    }
    if let Some(p) = &r.prediction
        && p.ceilings.len() > 1
    {
        let next = &p.ceilings[1];
        let _ = writeln!(
            o,
            "- after that, the next limit is `{}` at {}",
            next.name,
            thousands(next.value)
        );
    }
    if !any {
        let _ = writeln!(
            o,
            "- no lift hint: the stop was not a capacity limit the model names."
        );
    }
    o
}

/// How the server's count was taken.
fn held_note(t: &TargetInfo) -> String {
    match t.held_at_stop {
        Some(h) if Some(h) != t.server_accepted => format!(
            " at most (its own sockets on the port, sampled), {} at the stop",
            thousands(h)
        ),
        Some(_) => " (its own sockets on the port, sampled)".into(),
        None => " (ours minus its accept queue)".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::flood::classify::Call;

    fn sample() -> FloodReport {
        let mut r: FloodReport = serde_json::from_value(serde_json::json!({
            "schema": 1,
            "config": {"mode": "loopback", "target": null, "workers": 1, "listen_ports": [41000],
                "listen_ports_in_range": 0, "source_ips": 1, "max": 100000, "duration_s": 30.0,
                "connect_timeout_ms": 2000, "graceful": false, "churn": false,
                "port_range": [40000, 40999], "backlog": 4096, "nofile_soft": 20000},
            "established": 1000, "duration_s": 0.05, "rate_per_s": 20000.0,
            "milestones": [{"connections": 1000, "seconds": 0.05, "rate_per_s": 20000.0}],
            "stop": {"reason": "limit", "errno": "EADDRNOTAVAIL", "call": "connect",
                "ceiling": "ephemeral_ports", "explanation": "ports used up", "at_s": 0.05},
            "prediction": {"scenario": "loopback", "ceiling": 1000, "bottleneck": "ephemeral_ports",
                "ceilings": [
                    {"name": "ephemeral_ports", "value": 1000, "why": "1000 ports", "lift": "widen the range"},
                    {"name": "process_fds", "value": 9996, "why": "20000 fds / 2", "lift": "raise nofile"}],
                "rates": [], "assumptions": []},
            "verdict": "match",
            "state_at_limit": null, "survival": {"closed": 10, "reopened": 10, "ok": true},
            "churn": null, "target": null, "below_require": null, "warnings": []
        }))
        .unwrap();
        r.stop.call = Some(Call::Connect);
        r
    }

    #[test]
    fn text_names_stop_prediction_and_lift() {
        let t = text(&sample());
        assert!(
            t.contains("stop: EADDRNOTAVAIL at connect() after 0.050 s → ephemeral_ports"),
            "{t}"
        );
        assert!(
            t.contains("verdict: match: measured 1,000 = predicted 1,000 (ephemeral_ports)"),
            "{t}"
        );
        assert!(t.contains("lift ephemeral_ports: widen the range"), "{t}");
        assert!(t.contains("survival: closed 10, reopened 10"), "{t}");
    }

    #[test]
    fn markdown_sections_and_ladder() {
        let m = markdown(&sample());
        assert!(m.contains("| 1,000 | 0.050 | 20000 |"), "{m}");
        assert!(m.contains("- `ephemeral_ports`: widen the range"), "{m}");
        assert!(
            m.contains("the next limit is `process_fds` at 9,996"),
            "{m}"
        );
    }

    #[test]
    fn json_round_trips() {
        let r = sample();
        let back: FloodReport = serde_json::from_str(&json(&r)).unwrap();
        assert_eq!(back, r);
    }

    #[test]
    fn differs_shows_both_numbers() {
        let mut r = sample();
        r.established = 900;
        r.verdict = Verdict::Differs;
        assert!(text(&r).contains("differs: measured 900, predicted 1,000"));
    }

    #[test]
    fn churn_verdict_speaks_of_rates() {
        let mut r = sample();
        r.churn = Some(Churn {
            cycles: 42_000,
            rate_per_s: 14_000.0,
            time_wait: Some(14_000),
            model_rate_per_s: Some(28_232.0),
            model_why: Some("28232 ports / 1 s".into()),
            predicted_ports: None,
        });
        r.stop.reason = StopReason::Deadline;
        let t = text(&r);
        assert!(t.contains("verdict: match: sustained 14000/s with no limit, within the model's sustainable 28232/s"), "{t}");
        assert!(
            t.contains("model sustainable rate: 28232.0/s (28232 ports / 1 s)"),
            "{t}"
        );
        r.stop.reason = StopReason::Limit;
        r.churn.as_mut().unwrap().cycles = 1000;
        assert!(text(&r).contains("1,000 cycles before the ports ran out, predicted 1,000"));
    }

    #[test]
    fn thousands_sep() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(1234567), "1,234,567");
    }
}
