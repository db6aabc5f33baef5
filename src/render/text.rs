//! Human output for check: the verdict first, then the ladder, then the checks.

use colored::Colorize;
use std::fmt::Write;

use super::{CheckReport, thousands, wrap};
use crate::model::checks::Severity;
use crate::model::{Prediction, Scope};

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
            if s.keep_alive {
                out.push_str(", idle HTTP keep-alive sessions");
            }
        }
    }
    if s.processes > 1 {
        let _ = write!(out, ", {} processes", s.processes);
    }
    out
}

/// How to lay out the human output.
#[derive(Debug, Clone, Copy)]
pub struct TextOptions {
    /// Printed columns per line (the terminal's, or 80).
    pub width: usize,
    /// `--brief`: the verdict, the ladder's numbers and the check IDs on one screen.
    pub brief: bool,
}

impl Default for TextOptions {
    fn default() -> Self {
        TextOptions {
            width: wrap::DEFAULT_WIDTH,
            brief: false,
        }
    }
}

/// Columns of the ladder: name width, number width, and where the text column starts.
struct Columns {
    name: usize,
    num: usize,
    text: usize,
}

fn columns(p: &Prediction, width: usize) -> Columns {
    let name = p
        .ceilings
        .iter()
        .map(|c| c.name.as_str().chars().count())
        .chain(
            p.not_applicable
                .iter()
                .map(|n| n.name.as_str().chars().count()),
        )
        .max()
        .unwrap_or(10)
        .max("ceiling".len());
    let num = p
        .ceilings
        .iter()
        .map(|c| value(c).chars().count())
        .max()
        .unwrap_or(0)
        .max("connections".len());
    let text = 2 + name + 2 + num + 2;
    // Too narrow for a text column beside the numbers: the text goes below, indented.
    let text = if width.saturating_sub(text) < 30 {
        6
    } else {
        text
    };
    Columns { name, num, text }
}

fn value(c: &crate::model::Ceiling) -> String {
    let mark = if c.conditional.is_some() {
        "?"
    } else if c.exact {
        ""
    } else {
        "~"
    };
    format!("{mark}{}", thousands(c.value))
}

/// `LOW and HIGH` (or `LOW and no limit`) of a range that assumptions leave open.
fn span(low: u64, high: Option<u64>) -> String {
    match high {
        Some(h) => format!("{} and {}", thousands(low), thousands(h)),
        None => format!("{} and no limit", thousands(low)),
    }
}

/// The conditional line of a rung: what it rests on, its range, what reads it.
fn conditional_line(c: &crate::model::Conditional) -> String {
    format!(
        "conditional: rests on assumed {}; between {} over the plausible values; read it: {}",
        c.on.join(", "),
        span(c.low, c.high),
        c.read_with.join("; ")
    )
}

/// One ladder row: name and number, then `text` wrapped in the text column (or below).
fn row(out: &mut String, col: &Columns, width: usize, name: &str, num: &str, text: &str) {
    let pad = col.name.saturating_sub(wrap::visible_len(name));
    let head = format!("  {name}{:pad$}  {num:>n$}  ", "", n = col.num);
    let indent = " ".repeat(col.text);
    if col.text < wrap::visible_len(&head) {
        out.push_str(head.trim_end());
        out.push('\n');
        out.push_str(&wrap::wrap(text, width, &indent, &indent));
    } else {
        out.push_str(&wrap::wrap(text, width, &head, &indent));
    }
}

/// A line of the text column: starts at the text column, continuation lines two further in.
fn text_line(out: &mut String, col: &Columns, width: usize, text: &str) {
    let first = " ".repeat(col.text);
    let cont = " ".repeat(col.text + 2);
    out.push_str(&wrap::wrap(text, width, &first, &cont));
}

fn ladder(out: &mut String, p: &Prediction, o: &TextOptions) {
    let col = columns(p, o.width);
    let header = if o.brief { "" } else { "why / how to lift" };
    row(out, &col, o.width, "ceiling", "connections", header);
    for c in &p.ceilings {
        let head = p.bottleneck == Some(c.name);
        let name = if head {
            c.name.as_str().bold().to_string()
        } else {
            c.name.to_string()
        };
        if o.brief {
            row(out, &col, o.width, &name, &value(c), "");
            continue;
        }
        row(out, &col, o.width, &name, &value(c), &c.why);
        if let Some(x) = &c.conditional {
            text_line(out, &col, o.width, &conditional_line(x));
        }
        let scope = match c.scope {
            Scope::Netns => " [per network namespace]",
            Scope::Host => " [host-wide]",
            Scope::Process => "",
        };
        text_line(out, &col, o.width, &format!("lift{scope}: {}", c.lift));
        if let (true, Some(next)) = (head, &p.next) {
            let t = if next.name == c.name {
                format!(
                    "→ lifted as far as it goes, {} is still the limit, at {}",
                    c.name,
                    thousands(next.value)
                )
            } else {
                format!(
                    "→ lift {} and the next limit is {} at {}",
                    c.name,
                    next.name,
                    thousands(next.value)
                )
            };
            text_line(out, &col, o.width, &t);
        }
    }
    if o.brief {
        return;
    }
    for n in &p.not_applicable {
        row(
            out,
            &col,
            o.width,
            &n.name.as_str().dimmed().to_string(),
            "n/a",
            &n.why,
        );
    }
}

fn check_label(c: &crate::model::checks::Check) -> String {
    let label = format!("[{} {}]", c.severity.label(), c.id);
    let label = match c.severity {
        Severity::Error => label.red().bold().to_string(),
        Severity::Warning => label.yellow().to_string(),
        Severity::Info => label.dimmed().to_string(),
    };
    if c.ignored {
        format!("{label} (ignored)")
    } else {
        label
    }
}

/// Who the report is about: a unit, a named process, a PID, or porttune itself.
fn who(s: &crate::snapshot::Snapshot) -> String {
    let rt = s.runtime.kind.name();
    let comm = crate::text::escape(s.process.comm.as_deref().unwrap_or("?"));
    match (&s.process.unit, s.process.is_self, s.process.pid) {
        (Some(u), _, Some(pid)) => {
            format!("{} (PID {pid}, {comm}, {rt})", crate::text::escape(&u.name))
        }
        (None, false, Some(pid)) => format!("PID {pid} ({comm}, {rt})"),
        (None, false, None) => format!("the process the snapshot describes ({rt})"),
        _ => format!("porttune's own process ({rt})"),
    }
}

/// What a process at its limit holds now.
fn at_limit_line(a: &crate::model::at_limit::AtLimit) -> String {
    let table = match (a.in_use, a.of, &a.table) {
        (Some(u), Some(o), Some(t)) => Some(format!(
            "{} of its {} {t} are in use",
            thousands(u),
            thousands(o)
        )),
        _ => None,
    };
    let socks = a
        .connected_sockets
        .map(|c| format!("it holds {} connected TCP sockets", thousands(c)));
    match (table, socks) {
        (Some(t), Some(c)) => format!("at its limit now: {t}; {c}"),
        (Some(t), None) => format!("at its limit now: {t}"),
        (None, Some(c)) => format!("at its limit now: {c}"),
        (None, None) => "at its limit now (what it holds was not read)".to_string(),
    }
}

/// The headline's number: a headline resting on assumed values leads with its range, not the
/// assumed point.
fn headline_number(p: &Prediction) -> String {
    let conditional = p
        .bottleneck_ceiling()
        .is_some_and(|c| c.conditional.is_some());
    match (&p.range, conditional) {
        (Some(r), true) => format!("between {}", span(r.low, r.high)),
        _ if p.at_limit.is_some() => format!("{} more", thousands(p.ceiling)),
        _ => thousands(p.ceiling),
    }
}

/// The text report, wrapped to `o.width` columns.
pub fn check(r: &CheckReport, o: &TextOptions) -> String {
    let p = r.prediction;
    let s = r.snapshot;
    let w = o.width;
    let mut out = String::new();
    let bn = p.bottleneck_ceiling();
    let why = bn.map(|c| c.why.as_str()).unwrap_or("");
    let head_conditional = bn.is_some_and(|c| c.conditional.is_some());
    let number = headline_number(p);
    let head = format!(
        "{} {} concurrent connections ({}), limited by {}",
        "Ceiling:".bold(),
        number.bold(),
        scenario_line(p),
        p.bottleneck_str().bold()
    );
    out.push_str(&wrap::wrap(&head, w, "", "  "));
    out.push_str(&wrap::wrap(why, w, "  because ", "    "));
    if let Some(a) = &p.at_limit {
        out.push_str(&wrap::wrap(&at_limit_line(a), w, "  ", "    "));
    }
    if let Some(r) = &p.range {
        let t = format!(
            "{} {} not read: the ceiling lies between {}; read: {}",
            if head_conditional {
                "it rests on"
            } else {
                "but"
            },
            r.on.join(", "),
            span(r.low, r.high),
            r.read_with.join("; ")
        );
        out.push_str(&wrap::wrap(&t, w, "  ", "    "));
    }
    if !p.tied.is_empty() {
        out.push_str(&wrap::wrap(
            &p.tied
                .iter()
                .map(|t| t.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            w,
            "  tied with: ",
            "    ",
        ));
    }
    let on = format!(
        "for {} on {} {}; source: {}",
        who(s),
        format!("{:?}", s.platform.os).to_lowercase(),
        crate::text::escape(s.platform.kernel.as_deref().unwrap_or("")),
        crate::text::escape(&r.source)
    );
    out.push_str(&wrap::wrap(&on, w, "  ", "    "));
    if let Some(wp) = &r.with_profile {
        let t = format!(
            "{} {} → {} with profile {} (bottleneck {} → {}); the checks below and --require judge the process with the profile applied, counting only the settings that reach it",
            "What-if:".bold(),
            number,
            headline_number(wp.after).bold(),
            wp.name,
            p.bottleneck_str(),
            wp.after.bottleneck_str()
        );
        out.push('\n');
        out.push_str(&wrap::wrap(&t, w, "", "  "));
        reach_block(&mut out, wp, w);
    }
    if o.brief {
        return brief_rest(out, r, o);
    }
    ladders(&mut out, r, o);
    if !p.rates.is_empty() {
        let _ = writeln!(out, "\n{}", "Churn (new connections per second):".bold());
        for r in &p.rates {
            let t = format!("{}  {:.0}/s  {}", r.name, r.per_second, r.why);
            out.push_str(&wrap::wrap(&t, w, "  ", "    "));
            out.push_str(&wrap::wrap(&r.lift, w, "  lift: ", "    "));
        }
    }
    settings(&mut out, s, w);
    let u = &s.usage;
    let t = format!(
        "{} fds open {} of soft {} / hard {}; TCP sockets in use {}, TIME_WAIT {}; connections held by the process {}",
        "Usage:".bold(),
        s.process.open_fds,
        s.process.nofile.soft,
        s.process.nofile.hard,
        opt(&u.tcp_inuse),
        opt(&u.tcp_time_wait),
        opt(&u.process_connections),
    );
    out.push('\n');
    out.push_str(&wrap::wrap(&t, w, "", "  "));
    if !r.checks.is_empty() {
        let _ = writeln!(out, "\n{}", "Checks:".bold());
        for c in r.checks {
            let first = format!("{} ", check_label(c));
            out.push_str(&wrap::wrap(&c.message, w, &first, "    "));
        }
    }
    assumed_block(
        &mut out,
        r.with_profile.as_ref().map_or(p, |wp| wp.after),
        s,
        w,
    );
    out
}

/// The ladder; with `--with`, the ladder now in numbers and then the one the checks judge,
/// the profiled one, each named.
fn ladders(out: &mut String, r: &CheckReport, o: &TextOptions) {
    let p = r.prediction;
    match &r.with_profile {
        Some(wp) => {
            let _ = writeln!(out, "\n{}", "Ladder now (lowest first):".bold());
            let now = TextOptions { brief: true, ..*o };
            ladder(out, p, &now);
            let _ = writeln!(
                out,
                "\n{}",
                format!("Ladder with profile {} (lowest first):", wp.name).bold()
            );
            ladder(out, wp.after, o);
        }
        None => {
            let _ = writeln!(out, "\n{}", "Ladder (lowest first):".bold());
            ladder(out, p, o);
        }
    }
}

/// Which of the profile's settings reach the process, and how or why not.
fn reach_block(out: &mut String, wp: &super::WithProfile, w: usize) {
    if wp.reach.is_empty() {
        return;
    }
    let _ = writeln!(out, "\n{}", format!("Reach of profile {}:", wp.name).bold());
    for r in wp.reach {
        let mark = match (r.reaches, r.known) {
            (true, _) => "+",
            (false, true) => "-",
            (false, false) => "?",
        };
        let t = format!("{}: {}", r.setting, r.how);
        out.push_str(&wrap::wrap(&t, w, &format!("  {mark} "), "    "));
    }
}

/// "Assumed / not read": every assumed or unknown input with what reads it, then the model's
/// other assumptions and the probe's notes.
fn assumed_block(out: &mut String, p: &Prediction, s: &crate::snapshot::Snapshot, w: usize) {
    use crate::model::Provenance;
    let mut lines: Vec<String> = Vec::new();
    let mut covered: Vec<String> = Vec::new();
    for i in &p.inputs {
        let t = match &i.provenance {
            Provenance::Assumed {
                default,
                why,
                read_with,
            } => format!("{}: assumed {default} ({why}); read it: {read_with}", i.key),
            Provenance::Unknown { what, read_with } => {
                format!("{}: unknown: {what}; read it: {read_with}", i.key)
            }
            _ => continue,
        };
        let t = match &i.plausible {
            Some(r) => format!("{t}; plausible {} to {} ({})", r.low, r.high, r.why),
            None => t,
        };
        covered.push(format!("{}: ", i.key));
        lines.push(t);
    }
    for a in &p.assumptions {
        if !covered.iter().any(|k| a.starts_with(k.as_str())) {
            lines.push(a.clone());
        }
    }
    lines.extend(s.notes.iter().map(|n| crate::text::escape(n).into_owned()));
    if lines.is_empty() {
        return;
    }
    let _ = writeln!(out, "\n{}", "Assumed / not read:".bold());
    for n in lines {
        out.push_str(&wrap::wrap(&n, w, "  - ", "    "));
    }
}

/// `--brief`: the lift of the bottleneck, the ladder's numbers, one line per check; with
/// `--with`, the ladder now and the ladder with the profile, each named.
fn brief_rest(mut out: String, r: &CheckReport, o: &TextOptions) -> String {
    let p = r.prediction;
    let judged = r.with_profile.as_ref().map_or(p, |wp| wp.after);
    if let Some(c) = judged.bottleneck_ceiling() {
        out.push_str(&wrap::wrap(&c.lift, o.width, "  lift: ", "    "));
    }
    out.push('\n');
    if let Some(wp) = &r.with_profile {
        let _ = writeln!(out, "{}", "Ladder now:".bold());
        ladder(&mut out, p, o);
        let _ = writeln!(
            out,
            "{}",
            format!("Ladder with profile {}:", wp.name).bold()
        );
        ladder(&mut out, wp.after, o);
    } else {
        ladder(&mut out, p, o);
    }
    let count = |sev: Severity| r.checks.iter().filter(|c| c.severity == sev).count();
    let t = format!(
        "{} {} error(s), {} warning(s), {} info",
        "Checks:".bold(),
        count(Severity::Error),
        count(Severity::Warning),
        count(Severity::Info)
    );
    out.push('\n');
    out.push_str(&wrap::wrap(&t, o.width, "", "  "));
    // One tag is never cut across lines: tags are packed whole, two spaces in.
    let mut line = String::new();
    for label in r.checks.iter().map(check_label) {
        let len = wrap::visible_len(&line);
        if len > 2 && len + 1 + wrap::visible_len(&label) > o.width {
            out.push_str(&line);
            out.push('\n');
            line.clear();
        }
        line.push_str(if line.is_empty() { "  " } else { " " });
        line.push_str(&label);
    }
    if !line.is_empty() {
        out.push_str(&line);
        out.push('\n');
    }
    out.push_str(&wrap::wrap(
        "`porttune check` without --brief explains each ceiling and check.",
        o.width,
        "",
        "  ",
    ));
    out
}

fn opt<T: std::fmt::Display>(v: &Option<T>) -> String {
    v.as_ref()
        .map(|v| v.to_string())
        .unwrap_or_else(|| "absent".into())
}

/// The settings the model read, each named for what it is.
fn settings(out: &mut String, s: &crate::snapshot::Snapshot, w: usize) {
    if s.platform.os == crate::snapshot::Os::Macos {
        return super::text_macos::settings(out, s, w);
    }
    let n = &s.net;
    let _ = writeln!(out, "\n{}", "Settings read:".bold());
    let range = n
        .ip_local_port_range
        .map(|r| format!("{} {} ({} ports)", r.lo, r.hi, r.len()))
        .unwrap_or_else(|| "absent".into());
    let reserved = crate::snapshot::port_list(&n.ip_local_reserved_ports);
    let t = format!(
        "per network namespace: ip_local_port_range {range}; reserved [{}]; listeners in range {:?}; somaxconn {}; tcp_max_syn_backlog {}; tcp_syncookies {}",
        reserved,
        n.bound_ports_in_range,
        opt(&n.somaxconn),
        opt(&n.tcp_max_syn_backlog),
        opt(&n.tcp_syncookies),
    );
    out.push_str(&wrap::wrap(&t, w, "  ", "    "));
    let t = format!(
        "TIME_WAIT (fixed 60 s on Linux): tcp_tw_reuse {}, tcp_tw_reuse_delay {} ms, tcp_timestamps {}, tcp_max_tw_buckets {}; tcp_fin_timeout {} s is the FIN_WAIT_2 timeout of orphans, not TIME_WAIT",
        opt(&n.tcp_tw_reuse),
        opt(&n.tcp_tw_reuse_delay_ms),
        opt(&n.tcp_timestamps),
        opt(&n.tcp_max_tw_buckets),
        opt(&n.tcp_fin_timeout),
    );
    out.push_str(&wrap::wrap(&t, w, "  ", "    "));
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
    let t = format!(
        "host-wide: fs.file-max {}, allocated {}, fs.nr_open {}; conntrack {ct}; tcp_mem {}",
        opt(&s.fs.file_max),
        opt(&s.fs.file_nr_allocated),
        opt(&s.fs.nr_open),
        n.tcp_mem
            .map(|m| format!("{} {} {} pages", m[0], m[1], m[2]))
            .unwrap_or_else(|| "absent".into()),
    );
    out.push_str(&wrap::wrap(&t, w, "  ", "    "));
    let p = &s.process;
    let t = format!(
        "process: RLIMIT_NOFILE {} / {}, capabilities: CAP_SYS_RESOURCE {}, CAP_SYS_ADMIN {}, CAP_NET_ADMIN {}",
        p.nofile.soft,
        p.nofile.hard,
        yes(p.caps.sys_resource),
        yes(p.caps.sys_admin),
        yes(p.caps.net_admin),
    );
    out.push_str(&wrap::wrap(&t, w, "  ", "    "));
}

fn yes(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}
