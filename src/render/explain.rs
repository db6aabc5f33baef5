//! Output of `porttune explain`: text for people, JSON (`"schema": 1`) for scripts.
//! Formats only; everything is computed by `crate::explain`.

use serde::Serialize;

use crate::explain::{Confidence, Entry, HostView, confidence};
use crate::model::fmt::thousands;
use crate::render::wrap::wrap;

/// What was read and which host the values are for.
#[derive(Debug, Clone, Default)]
pub struct Context {
    /// Where the text came from: "argument", "stdin", a file name.
    pub input: String,
    pub bytes: usize,
    pub lines: usize,
    /// Set when only part of the input was read.
    pub truncated: Option<String>,
    /// The host the current values are for ("this host", "snapshot x.yaml", …), the scenario,
    /// the process examined; None with --no-host.
    pub host: Option<String>,
    /// Why the host was not read, when it was not.
    pub host_note: Option<String>,
}

/// The `explain --format json` document.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct ExplainJson<'a> {
    /// The document's version (docs/json.md).
    pub schema: u32,
    pub input: InputJson<'a>,
    /// The host the current values are for; `null` with `--no-host`.
    pub host: Option<&'a str>,
    /// Why the host was not read, when it was not.
    pub host_note: Option<&'a str>,
    /// Something in the input was recognised.
    pub recognised: bool,
    /// The answer for the whole input (`null`: nothing recognised).
    pub verdict: Option<VerdictJson>,
    /// A recognised limit is still the bottleneck on the host examined (exit 1).
    pub binding: bool,
    /// One entry per pattern, in order of first appearance.
    pub matches: Vec<MatchJson<'a>>,
}

/// What was read.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct InputJson<'a> {
    /// "argument", "stdin", or the file name.
    pub source: &'a str,
    pub bytes: usize,
    pub lines: usize,
    /// Set when only part of the input was read, saying which.
    pub truncated: Option<&'a str>,
}

/// The match that answers for the whole input.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct VerdictJson {
    pub confidence: Confidence,
    /// The ceiling it names (`null` for a weak match or not a limit).
    pub ceiling: Option<&'static str>,
    /// Ceilings that give the same message.
    pub candidates: &'static [crate::model::CeilingName],
    pub pattern: &'static str,
    pub line: usize,
}

/// One recognised message.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct MatchJson<'a> {
    /// The pattern's stable id (docs/explain.md).
    pub pattern: &'static str,
    /// Who prints the message: kernel, errno, erlang, nginx, …
    pub origin: &'static str,
    pub confidence: Confidence,
    pub ceiling: Option<&'static str>,
    pub candidates: &'static [crate::model::CeilingName],
    /// The first line it matched, as written.
    pub text: &'a str,
    pub line: usize,
    /// Lines it matched.
    pub count: u64,
    /// The mechanism, in one sentence.
    pub explanation: &'static str,
    /// Numbers taken from the message (`fd`, `max`, …).
    pub numbers: std::collections::BTreeMap<&'a str, u64>,
    /// What the numbers imply (e.g. the soft limit the process had).
    pub implied: &'a [String],
    pub lift: &'static str,
    /// The common wrong fix, when there is one.
    pub not_lifted_by: Option<&'static str>,
    /// The ceiling on the host examined.
    pub current: Option<HostJson<'a>>,
    /// The candidate ceilings on the host.
    pub candidates_current: Vec<HostJson<'a>>,
    /// The ceiling is still the bottleneck there.
    pub binding: bool,
}

/// A ceiling on the host examined.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct HostJson<'a> {
    pub ceiling: crate::model::CeilingName,
    /// Connections it allows now (`null`: no value for it here).
    pub value: Option<u64>,
    pub exact: bool,
    pub why: &'a str,
    pub lift: Option<&'a str>,
    /// The next limit once this one is lifted.
    pub next: Option<NextJson>,
    /// It is the bottleneck (or tied with it).
    pub binding: bool,
    /// `check`'s findings about this ceiling.
    pub checks: &'a [crate::model::checks::Check],
}

/// The next limit and the connections it allows.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct NextJson {
    pub name: crate::model::CeilingName,
    pub value: u64,
}

impl<'a> From<&'a HostView> for HostJson<'a> {
    fn from(h: &'a HostView) -> Self {
        HostJson {
            ceiling: h.ceiling,
            value: h.value,
            exact: h.exact,
            why: &h.why,
            lift: h.lift.as_deref(),
            next: h.next.map(|(name, value)| NextJson { name, value }),
            binding: h.binding,
            checks: &h.checks,
        }
    }
}

impl<'a> From<&'a Entry> for MatchJson<'a> {
    fn from(e: &'a Entry) -> Self {
        let p = e.m.pattern;
        MatchJson {
            pattern: p.id,
            origin: p.origin,
            confidence: confidence(p),
            ceiling: p.ceiling,
            candidates: p.candidates,
            text: &e.m.text,
            line: e.m.line,
            count: e.m.count,
            explanation: p.mechanism,
            numbers: e.m.numbers.iter().map(|(k, v)| (k.as_str(), *v)).collect(),
            implied: &e.implied,
            lift: p.lift,
            not_lifted_by: p.not_lifted_by,
            current: e.host.as_ref().map(Into::into),
            candidates_current: e.candidates.iter().map(Into::into).collect(),
            binding: e.binding(),
        }
    }
}

impl<'a> ExplainJson<'a> {
    pub fn new(cx: &'a Context, entries: &'a [Entry]) -> Self {
        ExplainJson {
            schema: 1,
            input: InputJson {
                source: &cx.input,
                bytes: cx.bytes,
                lines: cx.lines,
                truncated: cx.truncated.as_deref(),
            },
            host: cx.host.as_deref(),
            host_note: cx.host_note.as_deref(),
            recognised: !entries.is_empty(),
            verdict: verdict_json(entries),
            binding: entries.iter().any(Entry::binding),
            matches: entries.iter().map(Into::into).collect(),
        }
    }
}

pub fn json(cx: &Context, entries: &[Entry]) -> String {
    super::document(&ExplainJson::new(cx, entries))
}

/// The answer for the whole input: the first match that names a limit, else the first weak
/// one, else the first "not a limit" (as `explain::verdict`).
fn verdict_json(entries: &[Entry]) -> Option<VerdictJson> {
    let ms: Vec<crate::explain::Match> = entries.iter().map(|e| e.m.clone()).collect();
    crate::explain::verdict(&ms).map(|m| VerdictJson {
        confidence: confidence(m.pattern),
        ceiling: m.pattern.ceiling,
        candidates: m.pattern.candidates,
        pattern: m.pattern.id,
        line: m.line,
    })
}

fn host_lines(out: &mut String, h: &HostView, label: &str, w: usize) {
    let (l1, l2) = ("   ", "      ");
    match h.value {
        Some(v) => {
            let head = format!(
                "{label}: {} allows {}{} connections now{}",
                h.ceiling,
                if h.exact { "" } else { "~" },
                thousands(v),
                if h.binding {
                    " — the bottleneck: still binding"
                } else {
                    ""
                }
            );
            out.push_str(&wrap(&head, w, l1, l2));
            out.push_str(&wrap(&h.why, w, "      because ", "        "));
            if let Some(l) = &h.lift {
                out.push_str(&wrap(l, w, "      lift: ", "        "));
            }
            if let Some((n, v)) = &h.next {
                let next = format!("→ lift it and the next limit is {n} at {}", thousands(*v));
                out.push_str(&wrap(&next, w, l2, "        "));
            }
        }
        None => {
            out.push_str(&wrap(
                &format!("{label}: {}: {}", h.ceiling, h.why),
                w,
                l1,
                l2,
            ));
            if let Some(l) = &h.lift {
                out.push_str(&wrap(l, w, "      lift: ", "        "));
            }
        }
    }
    for c in &h.checks {
        let head = format!("[{} {}] ", c.severity.label(), c.id);
        out.push_str(&wrap(&c.message, w, &format!("{l2}{head}"), "        "));
    }
}

/// The heading of one match: the limit, or how unsure the match is.
fn heading(e: &Entry) -> String {
    let p = e.m.pattern;
    match (confidence(p), p.ceiling) {
        (Confidence::Limit, Some(c)) => c.to_string(),
        (Confidence::Weak, _) => {
            let names: Vec<&str> = p.candidates.iter().map(|c| c.as_str()).collect();
            format!(
                "cannot tell from the message alone: {} or not a limit",
                names.join(", ")
            )
        }
        _ => "not a local limit".to_string(),
    }
}

/// Text for people, wrapped to `w` columns (continuation lines indented).
pub fn text(cx: &Context, entries: &[Entry], w: usize) -> String {
    let mut out = String::new();
    if entries.is_empty() {
        let none = format!(
            "No connection-limit message recognised in {} ({} line(s)). docs/explain.md lists what porttune knows.",
            crate::text::escape(&cx.input),
            cx.lines
        );
        out.push_str(&wrap(&none, w, "", "  "));
    }
    let (l1, l2) = ("   ", "     ");
    for (i, e) in entries.iter().enumerate() {
        let p = e.m.pattern;
        let times = if e.m.count > 1 {
            format!(", {}×", e.m.count)
        } else {
            String::new()
        };
        let head = format!("{}  ({}, line {}{times})", heading(e), p.origin, e.m.line);
        let num = colored::Colorize::bold(format!("{}.", i + 1).as_str()).to_string();
        out.push_str(&wrap(&head, w, &format!("{num} "), l1));
        // The user's text, control characters shown escaped: a pasted log cannot move the
        // cursor or recolour the terminal.
        out.push_str(&wrap(
            &format!("\"{}\"", crate::text::escape(&e.m.text)),
            w,
            l1,
            l1,
        ));
        let why = if confidence(p) == Confidence::NotALimit {
            "not a local limit: "
        } else {
            "why: "
        };
        out.push_str(&wrap(p.mechanism, w, &format!("{l1}{why}"), l2));
        for s in &e.implied {
            out.push_str(&wrap(s, w, "   from the message: ", l2));
        }
        if !p.candidates.is_empty() {
            let names: Vec<&str> = p.candidates.iter().map(|c| c.as_str()).collect();
            out.push_str(&wrap(&names.join(", "), w, "   also look at: ", l2));
        }
        if let Some(n) = p.not_lifted_by {
            out.push_str(&wrap(n, w, "   will not lift it: ", l2));
        }
        let lift = if p.ceiling.is_some() {
            "   lift: "
        } else {
            "   what to do: "
        };
        out.push_str(&wrap(p.lift, w, lift, l2));
        if let Some(h) = &e.host {
            host_lines(&mut out, h, "on this host", w);
        }
        for h in &e.candidates {
            host_lines(&mut out, h, "candidate", w);
        }
        out.push('\n');
    }
    if let Some(h) = &cx.host {
        out.push_str(&wrap(&format!("Current values: {h}."), w, "", "  "));
    }
    if let Some(n) = &cx.host_note {
        out.push_str(&wrap(n, w, "Host: ", "  "));
    }
    if let Some(t) = &cx.truncated {
        out.push_str(&wrap(t, w, "Input: ", "  "));
    }
    out
}
