//! Output of `porttune explain`: text for people, JSON (`"schema": 1`) for scripts.
//! Formats only; everything is computed by `crate::explain`.

use std::fmt::Write;

use serde_json::{Value, json};

use crate::explain::{Entry, HostView};
use crate::model::fmt::thousands;

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
        "binding": entries.iter().any(Entry::binding),
        "matches": matches,
    });
    serde_json::to_string_pretty(&v).unwrap_or_default() + "\n"
}

fn host_lines(out: &mut String, h: &HostView, label: &str) {
    match h.value {
        Some(v) => {
            let _ = writeln!(
                out,
                "   {label}: {} allows {}{} connections now{}",
                h.ceiling,
                if h.exact { "" } else { "~" },
                thousands(v),
                if h.binding {
                    " — the bottleneck: still binding"
                } else {
                    ""
                }
            );
            let _ = writeln!(out, "      because {}", h.why);
            if let Some(l) = &h.lift {
                let _ = writeln!(out, "      lift: {l}");
            }
            if let Some((n, v)) = &h.next {
                let _ = writeln!(
                    out,
                    "      → lift it and the next limit is {n} at {}",
                    thousands(*v)
                );
            }
        }
        None => {
            let _ = writeln!(out, "   {label}: {}: {}", h.ceiling, h.why);
            if let Some(l) = &h.lift {
                let _ = writeln!(out, "      lift: {l}");
            }
        }
    }
    for c in &h.checks {
        let _ = writeln!(out, "      [{} {}] {}", c.severity.label(), c.id, c.message);
    }
}

pub fn text(cx: &Context, entries: &[Entry]) -> String {
    let mut out = String::new();
    if entries.is_empty() {
        let _ = writeln!(
            out,
            "No connection-limit message recognised in {} ({} line(s)). docs/explain.md lists what porttune knows.",
            cx.input, cx.lines
        );
    }
    for (i, e) in entries.iter().enumerate() {
        let p = e.m.pattern;
        let name = p.ceiling.unwrap_or("not a capacity limit");
        let times = if e.m.count > 1 {
            format!(", {}×", e.m.count)
        } else {
            String::new()
        };
        let _ = writeln!(
            out,
            "{}. {name}  ({}, line {}{times})",
            i + 1,
            p.origin,
            e.m.line
        );
        let _ = writeln!(out, "   \"{}\"", e.m.text);
        let _ = writeln!(out, "   why: {}", p.mechanism);
        for s in &e.implied {
            let _ = writeln!(out, "   from the message: {s}");
        }
        if !p.candidates.is_empty() {
            let names: Vec<&str> = p.candidates.iter().map(|c| c.as_str()).collect();
            let _ = writeln!(out, "   also look at: {}", names.join(", "));
        }
        if let Some(n) = p.not_lifted_by {
            let _ = writeln!(out, "   will not lift it: {n}");
        }
        let _ = writeln!(out, "   lift: {}", p.lift);
        if let Some(h) = &e.host {
            host_lines(&mut out, h, "on this host");
        }
        for h in &e.candidates {
            host_lines(&mut out, h, "candidate");
        }
        out.push('\n');
    }
    if let Some(h) = &cx.host {
        let _ = writeln!(out, "Current values: {h}.");
    }
    if let Some(n) = &cx.host_note {
        let _ = writeln!(out, "Host: {n}");
    }
    if let Some(t) = &cx.truncated {
        let _ = writeln!(out, "Input: {t}");
    }
    out
}
