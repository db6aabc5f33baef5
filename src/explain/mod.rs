//! `porttune explain`: from an error message to the limit behind it.
//!
//! Pure: [`scan`] matches text against the pattern table (`model::patterns::PATTERNS`, with
//! the matcher in `model::matcher`) and [`on_host`] puts a match next to a prediction of the
//! host; the command layer reads the input and the host, `render::explain` formats. The
//! kernel-log lines `check` reports come through the same table (`model::evidence`).
//!
//! Bounded and linear: at most [`MAX_INPUT`] bytes are read, each line is cut at
//! [`MAX_LINE`] bytes, and every pattern is a fixed list of substrings searched left to right
//! (no backtracking), so the work is at most patterns × fragments × input length.

pub mod servers;

use serde::Serialize;

use crate::model::ceilings::ERLANG_BASELINE_FDS;
use crate::model::checks::Check;
pub use crate::model::matcher::{
    MAX_LINE, MAX_TEXT, all as all_patterns, by_id, cut, match_line, normalize, number, refine,
};
pub use crate::model::patterns::{At, PATTERNS, Pattern};
use crate::model::{CeilingName, CheckId, Prediction};

/// Input read at most (the tail of a larger file).
pub const MAX_INPUT: usize = 8 << 20;
/// Distinct patterns reported at most (each with its count).
pub const MAX_MATCHES: usize = 64;

/// A pattern that matched, with the first line it matched and how often.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Match {
    #[serde(skip)]
    pub pattern: &'static Pattern,
    /// 1-based line of the first occurrence.
    pub line: usize,
    /// That line, as written (cut to MAX_TEXT bytes).
    pub text: String,
    /// Lines this pattern matched.
    pub count: u64,
    /// Numbers taken from the first occurrence.
    pub numbers: Vec<(String, u64)>,
}

/// Match every line of `text`; one [`Match`] per pattern, in order of first appearance.
pub fn scan(text: &str) -> Vec<Match> {
    scan_with(text, |_| true)
}

/// [`scan`] restricted to the patterns `keep` allows. Each line is normalised
/// ([`normalize`]); a line that matches nothing is tried once more joined with a shorter next
/// line (a message wrapped when it was posted); an EADDRNOTAVAIL match is checked against the
/// lines around it ([`refine`]).
pub fn scan_with(text: &str, keep: impl Fn(&Pattern) -> bool) -> Vec<Match> {
    let raw: Vec<&str> = text
        .lines()
        .map(|l| cut(l.trim_end_matches('\r'), MAX_LINE))
        .collect();
    let norm: Vec<String> = raw.iter().map(|l| normalize(l)).collect();
    let single: Vec<Option<&'static Pattern>> = norm.iter().map(|l| match_line(l, &keep)).collect();
    let mut out: Vec<Match> = Vec::new();
    let mut i = 0;
    while i < norm.len() {
        let (p, lower, used) = match single[i] {
            Some(p) => (p, norm[i].clone(), 1),
            // Neither this line nor a shorter next one matches alone: a message wrapped
            // when it was posted fills the first line, so try the two together, once.
            None if i + 1 < norm.len()
                && single[i + 1].is_none()
                && norm[i + 1].len() < norm[i].len() =>
            {
                let joined = format!("{} {}", norm[i], norm[i + 1]);
                match match_line(&joined, &keep) {
                    Some(p) => (p, joined, 2),
                    None => {
                        i += 1;
                        continue;
                    }
                }
            }
            None => {
                i += 1;
                continue;
            }
        };
        let from = traceback_start(&norm, i).unwrap_or(i.saturating_sub(CONTEXT));
        let around = norm[from..norm.len().min(i + used + CONTEXT)].join(" ");
        let p = refine(p, &lower, &around);
        record(
            &mut out,
            p,
            &lower,
            raw[i..i + used].join(" ").trim(),
            i + 1,
        );
        i += used;
    }
    out
}

/// Lines before and after a match that [`refine`] looks at.
const CONTEXT: usize = 4;

/// How far back a traceback's first line is looked for.
const TRACEBACK: usize = 40;

/// The first line of the Python traceback that line `i` ends, when it is one: its frames
/// (the program's own call, several lines above the error) belong to the error.
fn traceback_start(norm: &[String], i: usize) -> Option<usize> {
    (i.saturating_sub(TRACEBACK)..i)
        .rev()
        .find(|&j| norm[j].contains("traceback (most recent call last)"))
        .filter(|&j| j + CONTEXT < i)
}

fn record(out: &mut Vec<Match>, p: &'static Pattern, lower: &str, line: &str, at: usize) {
    if let Some(m) = out.iter_mut().find(|m| m.pattern.id == p.id) {
        m.count = m.count.saturating_add(1);
        return;
    }
    if out.len() >= MAX_MATCHES {
        return;
    }
    let numbers = p
        .numbers
        .iter()
        .filter_map(|n| number(lower, n.at).map(|v| (n.name.to_string(), v)))
        .collect();
    out.push(Match {
        pattern: p,
        line: at,
        text: cut(line, MAX_TEXT).to_string(),
        count: 1,
        numbers,
    });
}

/// How sure a match is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Confidence {
    /// The message names this limit.
    Limit,
    /// The message fits several causes; the candidates say which limits to look at.
    Weak,
    /// The message is about connectivity (or another non-limit): not a local limit.
    NotALimit,
}

/// How sure a pattern is.
pub fn confidence(p: &Pattern) -> Confidence {
    match (p.ceiling, p.candidates.is_empty()) {
        (Some(_), _) => Confidence::Limit,
        (None, false) => Confidence::Weak,
        (None, true) => Confidence::NotALimit,
    }
}

/// The answer for a whole text: the first match that names a limit, else the first weak
/// match, else the first "not a limit"; None when nothing matched.
pub fn verdict(matches: &[Match]) -> Option<&Match> {
    [Confidence::Limit, Confidence::Weak, Confidence::NotALimit]
        .iter()
        .find_map(|c| matches.iter().find(|m| confidence(m.pattern) == *c))
}

impl Match {
    pub fn num(&self, name: &str) -> Option<u64> {
        self.numbers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| *v)
    }
}

/// What the numbers in the message say, in sentences (computed from the message alone).
pub fn implied(m: &Match) -> Vec<String> {
    use crate::model::fmt::thousands as t;
    let mut out = Vec::new();
    match m.pattern.id {
        "erlang_large_fd" => {
            if let Some(max_fds) = m.num("largest_allowed_fd").and_then(|v| v.checked_add(1)) {
                let base = ERLANG_BASELINE_FDS;
                let room = max_fds.saturating_sub(base);
                out.push(format!(
                    "max_fds is {} (largest allowed fd {} + 1): about {} connections accepted from outside, or {} on loopback with both ends in the node (2 fds each), after a bare node's {base} fds",
                    t(max_fds),
                    t(max_fds - 1),
                    t(room),
                    t(room / 2)
                ));
                if max_fds == 24_576 {
                    out.push("24,576 is what erts uses on macOS when the soft limit is unlimited (OTP ≥ 23.2): `ulimit -n unlimited` caps the node at 24,576 fds; a finite `ulimit -n` above it before start lifts it".into());
                }
            }
        }
        "nginx_worker_connections" => {
            if let Some(n) = m.num("worker_connections") {
                out.push(format!(
                    "worker_connections is {}: each worker holds at most {} connections, {} clients when proxying (each client also holds an upstream connection)",
                    t(n),
                    t(n),
                    t(n / 2)
                ));
            }
        }
        "nginx_worker_connections_exceed_nofile" => {
            if let Some(n) = m.num("nofile") {
                out.push(format!(
                    "the workers' RLIMIT_NOFILE is {}: a worker holds at most about {} connections, whatever worker_connections says",
                    t(n),
                    t(n)
                ));
            }
        }
        "haproxy_process_fd_limit" | "haproxy_system_fd_limit" => {
            if let Some(n) = m.num("maxsock").or_else(|| m.num("at")) {
                out.push(format!("HAProxy's maxsock was {}", t(n)));
            }
        }
        "haproxy_cannot_raise_fd_limit" => {
            if let (Some(need), Some(have)) = (m.num("fds_needed"), m.num("nofile")) {
                out.push(format!(
                    "HAProxy needed {} fds and the limit is {}",
                    t(need),
                    t(have)
                ));
            }
        }
        "redis_maxclients_nofile" => {
            if let (Some(c), Some(f)) = (m.num("maxclients"), m.num("fds_needed")) {
                out.push(format!(
                    "maxclients {} needs {} fds (maxclients + 32): RLIMIT_NOFILE must be at least {}",
                    t(c),
                    t(f),
                    t(f)
                ));
            }
            if let Some(n) = m.num("maxclients_now") {
                out.push(format!("Redis now serves at most {} clients", t(n)));
            }
        }
        "kernel_syn_flooding" => {
            if let Some(p) = m.num("port") {
                out.push(format!("the listener on port {p}"));
            }
        }
        "kernel_file_max" => {
            if let Some(n) = m.num("file_max") {
                out.push(format!("fs.file-max was {}", t(n)));
            }
        }
        _ => {}
    }
    out
}

/// Related check IDs per ceiling: the checks `check` would show for it.
fn related_checks(ceiling: CeilingName) -> &'static [CheckId] {
    use crate::model::names::*;
    use CheckId::*;
    match ceiling {
        PROCESS_FDS => &[HardLimitLocked, SoftLimit1024, FdUsage, ProcessFds],
        ERLANG_MAX_FDS => &[ErlangBootFds, ErlangMaxFds],
        ERLANG_PORT_LIMIT => &[ErlangFlags, ErlangPortLimit],
        ERLANG_PROCESS_LIMIT => &[ErlangFlags, ErlangProcessLimit],
        SYSTEM_FILES => &[SystemFilesUsage, SystemFiles],
        CONNTRACK => &[ConntrackUsage, Conntrack],
        ACCEPT_QUEUE => &[Somaxconn, AcceptQueue],
        TIME_WAIT_RATE => &[TimeWaitReuse, TimeWaitUsage],
        EPHEMERAL_PORTS => &[EphemeralPorts, PortRangeParity, TimeWaitReuse],
        NGINX_WORKER_CONNECTIONS => &[NginxWorkerConnections],
        HAPROXY_MAXCONN => &[HaproxyMaxconn],
        REDIS_MAXCLIENTS => &[RedisMaxclients],
        _ => &[],
    }
}

/// The matched ceiling on the host examined: its value now, how to lift it, the next rung.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HostView {
    pub ceiling: CeilingName,
    /// Connections this ceiling allows now (None when the model has no value for it here).
    pub value: Option<u64>,
    pub exact: bool,
    pub why: String,
    pub lift: Option<String>,
    /// The next limit once this one is lifted (name, connections).
    pub next: Option<(CeilingName, u64)>,
    /// It is the bottleneck (or tied with it) of the prediction.
    pub binding: bool,
    /// Checks of `check` about this ceiling.
    pub checks: Vec<Check>,
}

/// Put a matched ceiling next to the prediction (pure).
pub fn on_host(ceiling: CeilingName, pred: &Prediction, checks: &[Check]) -> HostView {
    let related = related_checks(ceiling);
    // Kernel-log evidence that this very limit was already hit on the host.
    let seen = format!("→ {ceiling} already hit");
    let checks: Vec<Check> = checks
        .iter()
        .filter(|c| {
            related.contains(&c.id)
                || (c.id == crate::model::evidence::ID && c.message.contains(&seen))
        })
        .cloned()
        .collect();
    if let Some(i) = pred.ceilings.iter().position(|c| c.name == ceiling) {
        let c = &pred.ceilings[i];
        let binding = pred.bottleneck == Some(ceiling) || pred.tied.contains(&ceiling);
        return HostView {
            ceiling,
            value: Some(c.value),
            exact: c.exact,
            why: c.why.clone(),
            lift: Some(c.lift.clone()),
            next: pred.ceilings.get(i + 1).map(|n| (n.name, n.value)),
            binding,
            checks,
        };
    }
    if let Some(r) = pred.rates.iter().find(|r| r.name == ceiling) {
        return HostView {
            ceiling,
            value: None,
            exact: false,
            why: format!("{:.0} new connections/s: {}", r.per_second, r.why),
            lift: Some(r.lift.clone()),
            next: None,
            binding: false,
            checks,
        };
    }
    let why = match pred.not_applicable.iter().find(|n| n.name == ceiling) {
        Some(n) => format!("not a limit here: {}", n.why),
        None => not_modelled_hint(ceiling),
    };
    HostView {
        ceiling,
        value: None,
        exact: false,
        why,
        lift: None,
        next: None,
        binding: false,
        checks,
    }
}

fn not_modelled_hint(ceiling: CeilingName) -> String {
    use crate::model::names::*;
    match ceiling {
        ERLANG_MAX_FDS | ERLANG_PORT_LIMIT | ERLANG_PROCESS_LIMIT => {
            "not modelled for this process: pass --pid of the node, or --runtime erlang (--erl-flags, --vm-args) for a node started from this shell".into()
        }
        NGINX_WORKER_CONNECTIONS => {
            "not modelled for this process: pass --pid of an nginx worker or --nginx-conf FILE".into()
        }
        HAPROXY_MAXCONN => {
            "not modelled for this process: pass --pid of haproxy or --haproxy-conf FILE".into()
        }
        REDIS_MAXCLIENTS => "not modelled for this process: pass --pid of redis-server".into(),
        TIME_WAIT_RATE => "a rate, shown with --churn for an outbound or loopback scenario".into(),
        _ => "not modelled by check for this host".into(),
    }
}

/// One explained match: the message, what its numbers say, and the host's side.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub m: Match,
    pub implied: Vec<String>,
    /// The matched ceiling on the host (None without a host, or no ceiling).
    pub host: Option<HostView>,
    /// The candidate ceilings on the host.
    pub candidates: Vec<HostView>,
}

impl Entry {
    /// The ceiling is still the bottleneck on the host examined.
    pub fn binding(&self) -> bool {
        self.host.as_ref().is_some_and(|h| h.binding)
    }
}

/// Match `text` and, given a host's prediction and checks, put each match next to it.
pub fn explain(text: &str, host: Option<(&Prediction, &[Check])>) -> Vec<Entry> {
    scan(text)
        .into_iter()
        .map(|m| {
            let p = m.pattern;
            let (h, cands) = match host {
                Some((pred, checks)) => (
                    p.ceiling_name().map(|c| on_host(c, pred, checks)),
                    p.candidates
                        .iter()
                        .map(|&c| on_host(c, pred, checks))
                        .collect(),
                ),
                None => (None, Vec::new()),
            };
            Entry {
                implied: implied(&m),
                m,
                host: h,
                candidates: cands,
            }
        })
        .collect()
}
