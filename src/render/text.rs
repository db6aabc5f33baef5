//! Human output for check: the verdict first, then the ladder, then the checks.

use colored::Colorize;
use std::fmt::Write;

use super::{CheckReport, thousands};
use crate::model::Prediction;
use crate::model::checks::Severity;

fn scenario_line(p: &Prediction) -> String {
    let s = &p.scenario;
    let mut out = s.kind.name().to_string();
    match s.kind {
        crate::model::ScenarioKind::Outbound => {
            let _ = write!(
                out,
                ", {} destination(s), {} source IP(s)",
                s.destinations, s.source_ips
            );
            if s.bind_before_connect {
                out.push_str(", bind before connect");
            }
        }
        crate::model::ScenarioKind::Loopback => {
            let _ = write!(
                out,
                ", {} listen port(s), {} source IP(s), 2 fds per connection",
                s.listen_ports, s.source_ips
            );
        }
        crate::model::ScenarioKind::Inbound => {
            if s.acceptor_paused {
                out.push_str(", acceptor paused");
            }
        }
    }
    if s.processes > 1 {
        let _ = write!(out, ", {} processes", s.processes);
    }
    out
}

fn ladder(out: &mut String, p: &Prediction) {
    let w = p
        .ceilings
        .iter()
        .map(|c| c.name.len())
        .max()
        .unwrap_or(10)
        .max(7);
    let _ = writeln!(
        out,
        "  {:<w$}  {:>13}  why / how to lift",
        "ceiling", "connections"
    );
    for (i, c) in p.ceilings.iter().enumerate() {
        let val = format!("{}{}", if c.exact { "" } else { "~" }, thousands(c.value));
        let name = if i == 0 {
            c.name.bold().to_string()
        } else {
            c.name.clone()
        };
        let pad = w.saturating_sub(c.name.len());
        let _ = writeln!(out, "  {name}{:pad$}  {val:>13}  {}", "", c.why);
        let scope = match c.scope.as_str() {
            "netns" => " [per network namespace]",
            "host" => " [host-wide]",
            _ => "",
        };
        let _ = writeln!(out, "  {:w$}  {:>13}  lift{scope}: {}", "", "", c.lift);
        if let Some(next) = p.ceilings.get(i + 1) {
            if i == 0 {
                let _ = writeln!(
                    out,
                    "  {:w$}  {:>13}  → lift {} and the next limit is {} at {}",
                    "",
                    "",
                    c.name,
                    next.name,
                    thousands(next.value)
                );
            }
        }
    }
    for n in &p.not_applicable {
        let pad = w.saturating_sub(n.name.len());
        let _ = writeln!(
            out,
            "  {}{:pad$}  {:>13}  {}",
            n.name.dimmed(),
            "",
            "n/a",
            n.why
        );
    }
}

pub fn check(r: &CheckReport) -> String {
    let p = r.prediction;
    let s = r.snapshot;
    let mut out = String::new();
    let why = p.ceilings.first().map(|c| c.why.as_str()).unwrap_or("");
    let _ = writeln!(
        out,
        "{} {} concurrent connections ({}), limited by {}",
        "Ceiling:".bold(),
        thousands(p.ceiling).bold(),
        scenario_line(p),
        p.bottleneck.bold()
    );
    let _ = writeln!(out, "  because {why}");
    if !p.tied.is_empty() {
        let _ = writeln!(out, "  tied with: {}", p.tied.join(", "));
    }
    let who = match (s.process.is_self, s.process.pid) {
        (false, Some(pid)) => format!("PID {pid} ({})", s.runtime.kind.name()),
        (false, None) => format!(
            "the process the snapshot describes ({})",
            s.runtime.kind.name()
        ),
        _ => format!("porttune's own process ({})", s.runtime.kind.name()),
    };
    let _ = writeln!(
        out,
        "  for {who} on {} {}; source: {}",
        format!("{:?}", s.platform.os).to_lowercase(),
        s.platform.kernel.as_deref().unwrap_or(""),
        r.source
    );
    if let Some((name, after)) = &r.with_profile {
        let _ = writeln!(
            out,
            "\n{} {} → {} with profile {name} (bottleneck {} → {})",
            "What-if:".bold(),
            thousands(p.ceiling),
            thousands(after.ceiling).bold(),
            p.bottleneck,
            after.bottleneck
        );
    }
    let _ = writeln!(out, "\n{}", "Ladder (lowest first):".bold());
    ladder(&mut out, p);
    if !p.rates.is_empty() {
        let _ = writeln!(out, "\n{}", "Churn (new connections per second):".bold());
        for r in &p.rates {
            let _ = writeln!(
                out,
                "  {}  {:.0}/s  {}\n  lift: {}",
                r.name, r.per_second, r.why, r.lift
            );
        }
    }
    settings(&mut out, s);
    let u = &s.usage;
    let _ = writeln!(
        out,
        "\n{} fds open {} of soft {} / hard {}; TCP sockets in use {}, TIME_WAIT {}; connections held by the process {}",
        "Usage:".bold(),
        s.process.open_fds,
        s.process.nofile.soft,
        s.process.nofile.hard,
        u.tcp_inuse
            .map(|v| v.to_string())
            .unwrap_or_else(|| "?".into()),
        u.tcp_time_wait
            .map(|v| v.to_string())
            .unwrap_or_else(|| "?".into()),
        u.process_connections
            .map(|v| v.to_string())
            .unwrap_or_else(|| "?".into()),
    );
    if !r.checks.is_empty() {
        let _ = writeln!(out, "\n{}", "Checks:".bold());
        for c in r.checks {
            let label = format!("[{} {}]", c.severity.label(), c.id);
            let label = match c.severity {
                Severity::Error => label.red().bold().to_string(),
                Severity::Warning => label.yellow().to_string(),
                Severity::Info => label.dimmed().to_string(),
            };
            let ign = if c.ignored { " (ignored)" } else { "" };
            let _ = writeln!(out, "{label}{ign} {}", c.message);
        }
    }
    let notes: Vec<&String> = p.assumptions.iter().chain(s.notes.iter()).collect();
    if !notes.is_empty() {
        let _ = writeln!(out, "\n{}", "Assumed / not read:".bold());
        for n in notes {
            let _ = writeln!(out, "  - {n}");
        }
    }
    out
}

fn opt<T: std::fmt::Display>(v: &Option<T>) -> String {
    v.as_ref()
        .map(|v| v.to_string())
        .unwrap_or_else(|| "absent".into())
}

/// The settings the model read, each named for what it is.
fn settings(out: &mut String, s: &crate::snapshot::Snapshot) {
    if s.platform.os == crate::snapshot::Os::Macos {
        return super::text_macos::settings(out, s);
    }
    let n = &s.net;
    let _ = writeln!(out, "\n{}", "Settings read:".bold());
    let range = n
        .ip_local_port_range
        .map(|r| format!("{} {} ({} ports)", r.lo, r.hi, r.len()))
        .unwrap_or_else(|| "absent".into());
    let reserved: Vec<String> = n
        .ip_local_reserved_ports
        .iter()
        .map(|r| {
            if r.lo == r.hi {
                r.lo.to_string()
            } else {
                format!("{}-{}", r.lo, r.hi)
            }
        })
        .collect();
    let _ = writeln!(
        out,
        "  per network namespace: ip_local_port_range {range}; reserved [{}]; listeners in range {:?}; somaxconn {}; tcp_max_syn_backlog {}; tcp_syncookies {}",
        reserved.join(","),
        n.bound_ports_in_range,
        opt(&n.somaxconn),
        opt(&n.tcp_max_syn_backlog),
        opt(&n.tcp_syncookies),
    );
    let _ = writeln!(
        out,
        "  TIME_WAIT (fixed 60 s on Linux): tcp_tw_reuse {}, tcp_tw_reuse_delay {} ms, tcp_timestamps {}, tcp_max_tw_buckets {}; tcp_fin_timeout {} s is the FIN_WAIT_2 timeout of orphans, not TIME_WAIT",
        opt(&n.tcp_tw_reuse),
        opt(&n.tcp_tw_reuse_delay_ms),
        opt(&n.tcp_timestamps),
        opt(&n.tcp_max_tw_buckets),
        opt(&n.tcp_fin_timeout),
    );
    let ct = n
        .conntrack
        .as_ref()
        .map(|c| {
            format!(
                "{} ({} of {})",
                if c.active { "active" } else { "idle" },
                opt(&c.count),
                opt(&c.max)
            )
        })
        .unwrap_or_else(|| "not loaded".into());
    let _ = writeln!(
        out,
        "  host-wide: fs.file-max {}, allocated {}, fs.nr_open {}; conntrack {ct}; tcp_mem {}",
        opt(&s.fs.file_max),
        opt(&s.fs.file_nr_allocated),
        opt(&s.fs.nr_open),
        n.tcp_mem
            .map(|m| format!("{} {} {} pages", m[0], m[1], m[2]))
            .unwrap_or_else(|| "absent".into()),
    );
    let p = &s.process;
    let _ = writeln!(
        out,
        "  process: RLIMIT_NOFILE {} / {}, capabilities: CAP_SYS_RESOURCE {}, CAP_SYS_ADMIN {}, CAP_NET_ADMIN {}",
        p.nofile.soft,
        p.nofile.hard,
        yes(p.caps.sys_resource),
        yes(p.caps.sys_admin),
        yes(p.caps.net_admin),
    );
}

fn yes(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}
