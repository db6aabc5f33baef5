//! `flood --format markdown` and `--report FILE`.

use std::fmt::Write;

use super::{held_note, lift_for, model_rate_text, stop_line, verdict_line};
use crate::flood::report::*;
use crate::render::thousands;

/// The report as a Markdown document (`--format markdown`, `--report FILE`).
pub fn markdown(r: &FloodReport) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "# porttune flood report\n");
    let _ = writeln!(o, "**Verdict:** {}\n", verdict_line(r));
    configuration(&mut o, &r.config);
    milestones(&mut o, r);
    breaking_point(&mut o, r);
    analysis(&mut o, r);
    lift(&mut o, r);
    o
}

/// ## Configuration: what was run.
fn configuration(o: &mut String, c: &Config) {
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
    if let (Some((lo, hi)), Some(n)) = (c.port_range, c.port_range_size()) {
        let name = if c.os == crate::snapshot::Os::Macos {
            "net.inet.ip.portrange.first–last"
        } else {
            "ip_local_port_range"
        };
        let _ = writeln!(o, "| {name} | {lo}–{hi} ({n} ports) |");
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
}

/// ## Milestones, and the count established.
fn milestones(o: &mut String, r: &FloodReport) {
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
}

/// ## Breaking point: the stop, the host at it, the target server.
fn breaking_point(o: &mut String, r: &FloodReport) {
    let _ = writeln!(o, "## Breaking point\n");
    let _ = writeln!(o, "- stop: {}", stop_line(r));
    let _ = writeln!(o, "- {}", r.stop.explanation);
    if let Some(s) = &r.state_at_limit {
        let opt = |v: Option<u64>| v.map(thousands).unwrap_or_else(|| "?".into());
        let _ = writeln!(o, "- fds in use: {}", thousands(s.fds_in_use));
        // Counters the host did not give (a Mac has neither) are left out.
        if s.sockets_used.is_some() || s.tcp_inuse.is_some() || s.time_wait.is_some() {
            let _ = writeln!(
                o,
                "- /proc/net/sockstat: sockets used {}, TCP inuse {}, TIME_WAIT {}",
                opt(s.sockets_used),
                opt(s.tcp_inuse),
                opt(s.time_wait)
            );
        }
        if let Some(lo) = s.listen_overflows {
            let _ = writeln!(o, "- TcpExtListenOverflows rose by {}", thousands(lo));
        }
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
}

/// ## Analysis: the prediction and its ladder, churn, notes.
fn analysis(o: &mut String, r: &FloodReport) {
    let _ = writeln!(o, "## Analysis\n");
    match &r.prediction {
        Some(p) => {
            let _ = writeln!(
                o,
                "The model predicted **{}** for the `{}` scenario, limited by `{}`. Measured: **{}**.\n",
                thousands(p.ceiling),
                p.scenario,
                p.bottleneck,
                thousands(r.measured())
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
}

/// ## How to lift the limit.
fn lift(o: &mut String, r: &FloodReport) {
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
}
