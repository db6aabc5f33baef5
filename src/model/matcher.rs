//! The matcher of the pattern table (`super::patterns`): plain ordered substring search on
//! the lower-cased line, no backtracking, linear in the input; and the numbers a message
//! carries. Used by `explain` (any text) and `evidence` (kernel-log lines).

use super::patterns::{At, PATTERNS, Pattern};

/// A line longer than this is matched on its first MAX_LINE bytes.
pub const MAX_LINE: usize = 8192;
/// The matched text shown is cut to this many bytes.
pub const MAX_TEXT: usize = 400;
fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
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

/// The first pattern (table order) that matches this lower-cased line, among those `keep`
/// allows.
pub fn match_line(lower: &str, keep: impl Fn(&Pattern) -> bool) -> Option<&'static Pattern> {
    PATTERNS.iter().find(|p| {
        keep(p)
            && p.any.iter().any(|seq| seq_matches(lower, seq))
            && !p.unless.iter().any(|u| lower.contains(u))
    })
}

fn digits_at(s: &str) -> Option<u64> {
    let d: &str = &s[..s.bytes().take_while(u8::is_ascii_digit).count()];
    if d.is_empty() { None } else { d.parse().ok() }
}

/// One number from the lower-cased line.
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
