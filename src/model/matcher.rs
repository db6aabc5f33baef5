//! The matcher of the pattern table (`super::patterns`): plain ordered substring search on
//! the normalised line, no backtracking, linear in the input; the numbers a message carries;
//! and the context rules that tell EADDRNOTAVAIL from a bind or an IPv6 address apart from
//! port exhaustion. Used by `explain` (any text) and `evidence` (kernel-log lines).

use std::sync::LazyLock;

use aho_corasick::{AhoCorasick, MatchKind};

use super::names::CeilingName;
use super::patterns::{At, PATTERNS, Pattern};
use super::server_patterns::SERVER_PATTERNS;
use super::strerror::LOCALIZED;
use crate::snapshot::runtime::catalog::{self, Message};

/// A line longer than this is matched on its first MAX_LINE bytes.
pub const MAX_LINE: usize = 8192;
/// The matched text shown is cut to this many bytes.
pub const MAX_TEXT: usize = 400;
fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// The line as the patterns see it: lower case, ANSI colour sequences removed (as bytes, or
/// written out as `\x1b[`, `\u001b[`, `\033[`, `\e[`, `^[[`), escaped quotes and escaped
/// newlines and tabs of JSON or language strings undone, full-width punctuation and letters
/// (`（22：…）`) made ASCII, runs of white space made one space, and glibc's translations of the
/// strerror() texts the patterns name rewritten to the C locale's (`打开的文件过多` → `too many
/// open files`, see `super::strerror`).
pub fn normalize(line: &str) -> String {
    let plain = |b: u8| !matches!(b, 0x1b | b'\\' | b'_' | b'*' | b'^' | b'\t' | b'\n' | b'\r');
    let lower = if line.is_ascii() {
        line.to_ascii_lowercase()
    } else {
        line.to_lowercase()
    };
    if lower.is_ascii() && lower.bytes().all(plain) && !lower.contains("  ") {
        return localize(lower);
    }
    localize(clean(&lower))
}

/// The escapes, emphasis and white space of [`normalize`] on a lower-cased line.
fn clean(lower: &str) -> String {
    let mut out = String::with_capacity(lower.len());
    let mut rest = lower;
    while let Some(c) = rest.chars().next() {
        if let Some(after) = matches!(c, '\u{1b}' | '\\' | '^')
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
        let c = halfwidth(c);
        if c.is_whitespace() {
            push_space(&mut out);
        } else if (c == '_' || c == '*') && markdown_edge(&out, &rest[1..]) {
            // Markdown emphasis around a posted line (`_…_`, `**…**`).
        } else {
            out.push(c);
        }
        rest = &rest[rest.chars().next().map_or(1, char::len_utf8)..];
    }
    out
}

/// A full-width form (U+FF01–U+FF5E, the ideographic space) as its ASCII character.
fn halfwidth(c: char) -> char {
    match c {
        '\u{3000}' => ' ',
        '\u{ff01}'..='\u{ff5e}' => char::from_u32(c as u32 - 0xfee0).unwrap_or(c),
        _ => c,
    }
}

/// The line with glibc's translated strerror() texts in the C locale's words: one pass of an
/// Aho-Corasick automaton over every translation (linear in the line, longest match first).
fn localize(line: String) -> String {
    static AC: LazyLock<Option<AhoCorasick>> = LazyLock::new(|| {
        AhoCorasick::builder()
            .match_kind(MatchKind::LeftmostLongest)
            .build(LOCALIZED.iter().map(|(from, _)| from))
            .ok()
    });
    match AC.as_ref() {
        Some(ac) if ac.is_match(&line) => {
            let to: Vec<&str> = LOCALIZED.iter().map(|(_, to)| *to).collect();
            ac.replace_all(&line, &to)
        }
        _ => line,
    }
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
    ["\u{1b}[", "\\x1b[", "\\u001b[", "\\033[", "\\e[", "^[["]
        .iter()
        .find_map(|p| s.strip_prefix(p))
}

/// The pattern with this id.
pub fn by_id(id: &str) -> Option<&'static Pattern> {
    all().find(|p| p.id == id)
}

/// Every pattern in matching order: the servers' own words first (the catalog entries'
/// messages, then the products without an entry), then the table.
pub fn all() -> impl Iterator<Item = &'static Pattern> {
    CATALOG
        .iter()
        .chain(SERVER_PATTERNS.iter())
        .chain(PATTERNS.iter())
}

/// The catalog entries' messages as patterns, built once: a product added to the catalog
/// brings its words to explain with it.
static CATALOG: LazyLock<Vec<Pattern>> = LazyLock::new(|| {
    catalog::ALL
        .iter()
        .flat_map(|e| e.messages.iter().map(|m| of_message(e.name, m)))
        .collect()
});

fn of_message(origin: &'static str, m: &'static Message) -> Pattern {
    // Names the catalog's own test checks; one that does not parse is left out.
    let candidates: Vec<CeilingName> = m
        .candidates
        .iter()
        .filter_map(|c| CeilingName::parse(c))
        .collect();
    Pattern {
        id: m.id,
        origin,
        ceiling: (!m.ceiling.is_empty()).then_some(m.ceiling),
        // Built once per process (a LazyLock): a bounded, one-time allocation.
        candidates: Box::leak(candidates.into_boxed_slice()),
        any: m.any,
        unless: m.unless,
        mechanism: m.mechanism,
        lift: m.lift,
        not_lifted_by: m.not_lifted_by,
        numbers: m.numbers,
    }
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
    let index = &*INDEX;
    // One pass over the line finds every fragment it contains (overlapping); only the
    // alternatives whose fragments are all there are checked for order and word boundaries.
    // (Without the automaton, which only a size limit could refuse, every fragment counts as
    // present and the exact check decides alone.)
    let mut present = vec![index.ac.is_none(); index.fragments];
    if let Some(ac) = &index.ac {
        for m in ac.find_overlapping_iter(lower) {
            present[m.pattern().as_usize()] = true;
        }
    }
    index
        .patterns
        .iter()
        .find(|(p, alts)| {
            keep(p)
                && alts
                    .iter()
                    .zip(p.any)
                    .any(|(ids, seq)| ids.iter().all(|&i| present[i]) && seq_matches(lower, seq))
                && !p.unless.iter().any(|u| lower.contains(u))
        })
        .map(|(p, _)| *p)
}

/// Every pattern in matching order, each alternative as the ids of its fragments in one
/// automaton over all fragments.
struct Index {
    ac: Option<AhoCorasick>,
    fragments: usize,
    patterns: Vec<(&'static Pattern, Vec<Vec<usize>>)>,
}

static INDEX: LazyLock<Index> = LazyLock::new(|| {
    let mut ids: std::collections::HashMap<&'static str, usize> = Default::default();
    let mut frags: Vec<&'static str> = Vec::new();
    let patterns = all()
        .map(|p| {
            let alts = p
                .any
                .iter()
                .map(|seq| {
                    seq.iter()
                        .map(|f| {
                            *ids.entry(f).or_insert_with(|| {
                                frags.push(f);
                                frags.len() - 1
                            })
                        })
                        .collect()
                })
                .collect();
            (p, alts)
        })
        .collect();
    Index {
        ac: AhoCorasick::new(&frags).ok(),
        fragments: frags.len(),
        patterns,
    }
});

/// Patterns that name EADDRNOTAVAIL as port exhaustion; their context may say otherwise.
const EADDRNOTAVAIL: &[&str] = &[
    "errno_eaddrnotavail",
    "node_eaddrnotavail",
    "go_connect_eaddrnotavail",
    "nginx_eaddrnotavail",
];

/// The pattern to report for a match, given the normalised lines around it (the matched
/// line included): the call the error came from and the address it was about decide what
/// an errno means. EADDRNOTAVAIL after a bind()/listen() or to 0.0.0.0 is not port
/// exhaustion (the address is not one this host has); towards an IPv6 address, or when the
/// text names no call, it cannot be told apart (no such source address, or the ports);
/// from a client's connect() towards IPv4 it is the ports. Windows' WSAEADDRINUSE is port
/// exhaustion from a client's connect() and a taken port from a server's bind().
pub fn refine(p: &'static Pattern, line: &str, around: &str) -> &'static Pattern {
    let call = call(line, around);
    let id = if EADDRNOTAVAIL.contains(&p.id) {
        if line.contains("eaddrnotavail 0.0.0.0") || line.contains("to 0.0.0.0") {
            Some("eaddrnotavail_unspecified")
        } else if call == Call::Bind {
            Some("eaddrnotavail_bind")
        } else if has_ipv6(line) || has_ipv6(around) {
            Some("eaddrnotavail_ipv6")
        } else if call == Call::Unknown && p.id == "errno_eaddrnotavail" {
            Some("eaddrnotavail_no_call")
        } else {
            None
        }
    } else if p.id == "erlang_system_limit" || p.id == "erlang_system_limit_no_call" {
        erlang_call(around)
    } else if p.id == "wsa_eaddrinuse" {
        match call {
            Call::Connect => Some("wsa_eaddrinuse_connect"),
            Call::Bind => Some("errno_eaddrinuse_listen"),
            Call::Unknown => None,
        }
    } else {
        None
    };
    id.and_then(by_id).unwrap_or(p)
}

/// What an Erlang system_limit came from, by the calls named on its line and the lines
/// around (the shell prints the reason first and `in function  spawn/3` under it; a crash
/// report names the call before or after it): spawn is the process table, open_port,
/// gen_tcp and accept the port table, list_to_atom, ets, bsl and make_tuple a limit
/// connections do not count against. None when they name none of these, or more than one.
fn erlang_call(around: &str) -> Option<&'static str> {
    let (mut spawn, mut port, mut other) = (false, false, false);
    // words split at `_`: open_port, gen_tcp, #Port<…>, list_to_atom, make_tuple
    for w in words(around) {
        match w {
            "spawn" => spawn = true,
            "port" | "tcp" | "accept" | "listen" | "connect" => port = true,
            "atom" | "ets" | "bsl" | "tuple" => other = true,
            _ => {}
        }
    }
    match (spawn, port, other) {
        (true, false, false) => Some("erlang_too_many_processes"),
        (false, true, false) => Some("erlang_system_limit"),
        (false, false, true) => Some("erlang_system_limit_not_connections"),
        _ => None,
    }
}

/// The call a failed socket operation came from, as the text names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Call {
    /// bind() or listen(): the program asked for an address of its own.
    Bind,
    /// A client's connect() (or the library call that wraps it).
    Connect,
    /// Neither, or both among the lines around.
    Unknown,
}

/// The matched line decides when it names a call (bind() first: a connect() from a chosen
/// source address binds it first); otherwise the lines around, when they name only one.
fn call(line: &str, around: &str) -> Call {
    if is_bind(line) {
        return Call::Bind;
    }
    if is_connect(line) {
        return Call::Connect;
    }
    match (is_bind(around), is_connect(around)) {
        (true, false) => Call::Bind,
        (false, true) => Call::Connect,
        _ => Call::Unknown,
    }
}

/// The words of a normalised text: runs of ASCII letters and digits.
fn words(s: &str) -> impl Iterator<Item = &str> {
    s.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
}

/// bind() or listen() named in the text: the word in any runtime's spelling (`bind(`,
/// `bind:`, `Net.bind0`, `JVM_Bind`, `server_bind`, `(Bind failed)`, `failed to bind`,
/// `listen tcp`, Node's `listen EADDRNOTAVAIL` and `syscall: 'listen'`); not `BindException`,
/// which the JVM throws for a connect() too.
fn is_bind(s: &str) -> bool {
    words(s).any(|w| {
        matches!(w, "bind" | "binding" | "dobind" | "listen" | "listening")
            || w.strip_prefix("bind")
                .is_some_and(|r| !r.is_empty() && r.bytes().all(|b| b.is_ascii_digit()))
    })
}

/// A client's connect() named in the text: any word that begins with `connect` (the call,
/// `connection`, `ConnectException`, .NET's `ConnectAsync`, `Net.connect0`), Go's `dial`, an
/// upstream or an outgoing request, and the JVM's connect-only `NoRouteToHostException`.
fn is_connect(s: &str) -> bool {
    words(s).any(|w| {
        w.starts_with("connect")
            || w.starts_with("doconnect")
            || matches!(
                w,
                "dial"
                    | "upstream"
                    | "request"
                    | "requests"
                    | "noroutetohostexception"
                    | "httprequestexception"
                    | "webexception"
                    | "httpclient"
            )
    })
}

/// An IPv6 address in the text: `::1`, `tcp6`, a bracketed host `[…:…]:port`, or a token of
/// hex digits and colons with `::` and two groups or more (not C++'s `std::`).
fn has_ipv6(s: &str) -> bool {
    if ["tcp6", "udp6", "ipv6", "inet6"]
        .iter()
        .any(|w| s.contains(w))
    {
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
