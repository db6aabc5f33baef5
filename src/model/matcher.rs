//! The matcher of the pattern table (`super::patterns`): plain ordered substring search on
//! the normalised line, no backtracking, linear in the input; the numbers a message carries;
//! and the context rules that tell EADDRNOTAVAIL from a bind or an IPv6 address apart from
//! port exhaustion. Used by `explain` (any text) and `evidence` (kernel-log lines).

use super::patterns::{At, PATTERNS, Pattern};
use super::server_patterns::SERVER_PATTERNS;

/// A line longer than this is matched on its first MAX_LINE bytes.
pub const MAX_LINE: usize = 8192;
/// The matched text shown is cut to this many bytes.
pub const MAX_TEXT: usize = 400;
fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// The line as the patterns see it: lower case, ANSI colour sequences removed (as bytes, or
/// written out as `\x1b[`, `\u001b[`, `\033[`, `\e[`), escaped quotes and escaped newlines
/// and tabs of JSON or language strings undone, runs of white space made one space.
pub fn normalize(line: &str) -> String {
    let lower = line.to_ascii_lowercase();
    let plain = |b: &u8| !matches!(b, 0x1b | b'\\' | b'_' | b'*' | b'\t' | b'\n' | b'\r');
    if lower.bytes().all(|b| plain(&b)) && !lower.contains("  ") {
        return lower;
    }
    let mut out = String::with_capacity(lower.len());
    let mut rest = lower.as_str();
    while let Some(c) = rest.chars().next() {
        if let Some(after) = (c == '\u{1b}' || c == '\\')
            .then(|| escape_intro(rest))
            .flatten()
        {
            // Skip the parameters and the final letter of a CSI sequence.
            let n = after
                .bytes()
                .position(|b| b.is_ascii_alphabetic())
                .map_or(after.len(), |i| i + 1);
            rest = &after[n..];
            continue;
        }
        if let Some(tail) = rest.strip_prefix('\\') {
            match tail.chars().next() {
                Some('\'' | '"') => {
                    rest = tail;
                    continue;
                }
                Some('n' | 't' | 'r') => {
                    push_space(&mut out);
                    rest = &tail[1..];
                    continue;
                }
                _ => {}
            }
        }
        if c.is_whitespace() {
            push_space(&mut out);
        } else if (c == '_' || c == '*') && markdown_edge(&out, &rest[1..]) {
            // Markdown emphasis around a posted line (`_…_`, `**…**`).
        } else {
            out.push(c);
        }
        rest = &rest[c.len_utf8()..];
    }
    out
}

/// A `_` or `*` between the start of a line or a space and the end of a line or a space.
fn markdown_edge(before: &str, after: &str) -> bool {
    let open = before.is_empty() || before.ends_with(' ');
    let close = after.is_empty() || after.starts_with(char::is_whitespace);
    open || close
}

fn push_space(out: &mut String) {
    if !out.is_empty() && !out.ends_with(' ') {
        out.push(' ');
    }
}

/// After an ANSI escape introducer at the start of `s`, the rest.
fn escape_intro(s: &str) -> Option<&str> {
    ["\u{1b}[", "\\x1b[", "\\u001b[", "\\033[", "\\e["]
        .iter()
        .find_map(|p| s.strip_prefix(p))
}

/// The pattern with this id.
pub fn by_id(id: &str) -> Option<&'static Pattern> {
    all().find(|p| p.id == id)
}

/// Every pattern in matching order: the servers' own words first, then the table.
pub fn all() -> impl Iterator<Item = &'static Pattern> {
    SERVER_PATTERNS.iter().chain(PATTERNS.iter())
}

/// The first occurrence of `needle` in `hay` at or after `from` that respects word boundaries
/// at a word-character end of the needle. Returns the end of the occurrence.
fn find_frag(hay: &str, needle: &str, from: usize) -> Option<usize> {
    let h = hay.as_bytes();
    let n = needle.as_bytes();
    let (first, last) = (*n.first()?, *n.last()?);
    let mut at = from;
    while at <= h.len() {
        let i = at + hay.get(at..)?.find(needle)?;
        let end = i + n.len();
        let start_ok = !is_word(first) || i == 0 || !is_word(h[i - 1]);
        let end_ok = !is_word(last) || end == h.len() || !is_word(h[end]);
        if start_ok && end_ok {
            return Some(end);
        }
        // Next candidate after this start; `find` on a char boundary only.
        at = i + 1;
        while at < h.len() && !hay.is_char_boundary(at) {
            at += 1;
        }
    }
    None
}

/// Whether all fragments occur in order.
fn seq_matches(lower: &str, seq: &[&str]) -> bool {
    let mut pos = 0;
    for frag in seq {
        match find_frag(lower, frag, pos) {
            Some(end) => pos = end,
            None => return false,
        }
    }
    true
}

/// The first pattern (table order) that matches this normalised line, among those `keep`
/// allows.
pub fn match_line(lower: &str, keep: impl Fn(&Pattern) -> bool) -> Option<&'static Pattern> {
    all().find(|p| {
        keep(p)
            && p.any.iter().any(|seq| seq_matches(lower, seq))
            && !p.unless.iter().any(|u| lower.contains(u))
    })
}

/// Patterns that name EADDRNOTAVAIL as port exhaustion; their context may say otherwise.
const EADDRNOTAVAIL: &[&str] = &[
    "errno_eaddrnotavail",
    "node_eaddrnotavail",
    "go_connect_eaddrnotavail",
];

/// The pattern to report for a match, given the normalised lines around it (the matched
/// line included): EADDRNOTAVAIL after a bind()/listen(), towards an IPv6 address or to
/// 0.0.0.0 is not port exhaustion.
pub fn refine(p: &'static Pattern, line: &str, around: &str) -> &'static Pattern {
    if !EADDRNOTAVAIL.contains(&p.id) {
        return p;
    }
    let id = if line.contains("eaddrnotavail 0.0.0.0") || line.contains("to 0.0.0.0") {
        Some("eaddrnotavail_unspecified")
    } else if is_bind(line) || is_bind(around) {
        Some("eaddrnotavail_bind")
    } else if has_ipv6(line) || has_ipv6(around) {
        Some("eaddrnotavail_ipv6")
    } else {
        None
    };
    id.and_then(by_id).unwrap_or(p)
}

fn is_bind(s: &str) -> bool {
    [
        "bind(",
        ".bind ",
        "server_bind",
        "listen eaddrnotavail",
        "syscall: 'listen'",
        "bind: ",
    ]
    .iter()
    .any(|c| s.contains(c))
}

/// An IPv6 address in the text: `::1`, `tcp6`, a bracketed host `[…:…]:port`, or a token of
/// hex digits and colons with `::` and two groups or more (not C++'s `std::`).
fn has_ipv6(s: &str) -> bool {
    if s.contains("tcp6") || s.contains("udp6") {
        return true;
    }
    let bracketed = s.split('[').skip(1).any(|t| {
        t.split_once("]:")
            .is_some_and(|(host, _)| host.contains(':') && !host.contains(' '))
    });
    bracketed
        || s.split(|c: char| !(c.is_ascii_hexdigit() || c == ':'))
            .any(|t| {
                t == "::1"
                    || (t.contains("::") && t.split(':').filter(|g| !g.is_empty()).count() >= 2)
            })
}

fn digits_at(s: &str) -> Option<u64> {
    let d: &str = &s[..s.bytes().take_while(u8::is_ascii_digit).count()];
    if d.is_empty() { None } else { d.parse().ok() }
}

/// One number from the normalised line.
pub fn number(lower: &str, at: At) -> Option<u64> {
    match at {
        At::After(m) => {
            let i = lower.find(m)? + m.len();
            digits_at(lower[i..].trim_start())
        }
        At::Before(m) => {
            let head = lower[..lower.find(m)?].trim_end();
            let n = head.bytes().rev().take_while(u8::is_ascii_digit).count();
            digits_at(&head[head.len() - n..])
        }
        At::PortAfter(m) => {
            let i = lower.find(m)? + m.len();
            let tok = lower[i..].split_whitespace().next()?;
            let tok = tok.trim_end_matches(['.', ',', ';']);
            let port = tok.rsplit(':').next()?;
            digits_at(port)
        }
    }
}

/// `s` cut to at most `max` bytes, on a character boundary.
pub fn cut(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut n = max;
    while !s.is_char_boundary(n) {
        n -= 1;
    }
    &s[..n]
}
