//! Output of `porttune explain`: text for people, JSON (`"schema": 1`) for scripts.
//! Formats only; everything is computed by `crate::explain`.

use serde_json::{Value, json};

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

fn host_json(h: &HostView) -> Value {
    json!({
        "ceiling": h.ceiling,
        "value": h.value,
        "exact": h.exact,
        "why": h.why,
        "lift": h.lift,
        "next": h.next.as_ref().map(|(n, v)| json!({"name": n, "value": v})),
        "binding": h.binding,
        "checks": h.checks,
    })
}

pub fn json(cx: &Context, entries: &[Entry]) -> String {
    let matches: Vec<Value> = entries
        .iter()
        .map(|e| {
            let p = e.m.pattern;
            let numbers: serde_json::Map<String, Value> =
                e.m.numbers
                    .iter()
                    .map(|(k, v)| (k.clone(), json!(v)))
                    .collect();
            json!({
                "pattern": p.id,
                "origin": p.origin,
                "confidence": confidence(p),
                "ceiling": p.ceiling,
                "candidates": p.candidates,
                "text": e.m.text,
                "line": e.m.line,
                "count": e.m.count,
                "explanation": p.mechanism,
                "numbers": numbers,
                "implied": e.implied,
                "lift": p.lift,
                "not_lifted_by": p.not_lifted_by,
                "current": e.host.as_ref().map(host_json),
                "candidates_current": e.candidates.iter().map(host_json).collect::<Vec<_>>(),
                "binding": e.binding(),
            })
        })
        .collect();
    let v = json!({
        "schema": 1,
        "input": {
            "source": cx.input,
            "bytes": cx.bytes,
            "lines": cx.lines,
            "truncated": cx.truncated,
        },
        "host": cx.host,
        "host_note": cx.host_note,
        "recognised": !entries.is_empty(),
        "verdict": verdict_json(entries),
        "binding": entries.iter().any(Entry::binding),
        "matches": matches,
    });
    serde_json::to_string_pretty(&v).unwrap_or_default() + "\n"
}

/// The answer for the whole input: the first match that names a limit, else the first weak
/// one, else the first "not a limit" (as `explain::verdict`).
fn verdict_json(entries: &[Entry]) -> Value {
    let ms: Vec<crate::explain::Match> = entries.iter().map(|e| e.m.clone()).collect();
    match crate::explain::verdict(&ms) {
        Some(m) => json!({
            "confidence": confidence(m.pattern),
            "ceiling": m.pattern.ceiling,
            "candidates": m.pattern.candidates,
            "pattern": m.pattern.id,
            "line": m.line,
        }),
        None => Value::Null,
    }
}

/// Control characters of the user's text shown escaped (`\x1b`), so a pasted log cannot
/// move the cursor or recolour the terminal.
fn escaped(s: &str) -> String {
    crate::text::escape(s).into_owned()
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
            cx.input, cx.lines
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
        let head = format!(
            "{}. {}  ({}, line {}{times})",
            i + 1,
            heading(e),
            p.origin,
            e.m.line
        );
        out.push_str(&wrap(&head, w, "", l1));
        out.push_str(&wrap(&format!("\"{}\"", escaped(&e.m.text)), w, l1, l1));
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
