//! Terminal-safe text. Strings from outside (error messages pasted into `explain`, process
//! titles, hostnames, paths, configuration values, kernel log lines, server answers) reach
//! text output only through [`escape`]: every control character is shown visibly (`\x1b`,
//! `\r`, `\u009b`), so an escape sequence in them cannot move the cursor, set the window
//! title, hide text or rewrite what the operator reads. JSON keeps strings exact (its own
//! escaping makes them safe). [`sanitize_output`] is the backstop for everything written as
//! text: only the colour codes porttune itself emits survive.

use std::borrow::Cow;

/// Characters shown escaped: C0 controls (with newline, tab and carriage return), DEL, C1
/// controls (U+0080–U+009F: U+009B is a one-character CSI), and the bidirectional
/// formatting characters that reorder what a line appears to say.
fn hostile(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

fn push_escaped(out: &mut String, c: char) {
    match c {
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        c if (c as u32) < 0x80 => out.push_str(&format!("\\x{:02x}", c as u32)),
        // JSON's form: valid inside a JSON string (the value stays exact) and readable in text
        c => out.push_str(&format!("\\u{:04x}", c as u32)),
    }
}

/// `s` with every control character (newlines too: one outside value is one line) and
/// bidirectional override shown visibly. Borrowed when there is nothing to escape.
pub fn escape(s: &str) -> Cow<'_, str> {
    if !s.chars().any(hostile) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if hostile(c) {
            push_escaped(&mut out, c);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// The length of an SGR colour sequence (`ESC [ digits;… m`) at the start of `s`, if it is
/// one.
fn sgr_len(s: &str) -> Option<usize> {
    let rest = s.strip_prefix("\x1b[")?;
    let n = rest
        .bytes()
        .take_while(|b| b.is_ascii_digit() || *b == b';')
        .count();
    (rest.as_bytes().get(n) == Some(&b'm')).then_some(n + 3)
}

/// Text about to be written to a terminal or a pipe: newlines and tabs stay, colour codes
/// stay when `colour` (porttune's own, from the colour library), every other control
/// character is shown escaped. A string escaped at its source passes unchanged.
pub fn sanitize_output(s: &str, colour: bool) -> Cow<'_, str> {
    let bad = |c: char| hostile(c) && c != '\n' && c != '\t';
    if !s.chars().any(bad) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    let mut i = 0;
    while let Some(c) = s[i..].chars().next() {
        if c == '\x1b' && colour {
            if let Some(n) = sgr_len(&s[i..]) {
                out.push_str(&s[i..i + n]);
                i += n;
                continue;
            }
        }
        if bad(c) {
            push_escaped(&mut out, c);
        } else {
            out.push(c);
        }
        i += c.len_utf8();
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_visibly() {
        assert_eq!(escape("plain text"), "plain text");
        assert!(matches!(escape("plain"), Cow::Borrowed(_)));
        assert_eq!(escape("a\x1b]0;pwned\x07b"), "a\\x1b]0;pwned\\x07b");
        assert_eq!(escape("x\u{9b}31m\r\x08\n"), "x\\u009b31m\\r\\x08\\n");
        assert_eq!(escape("\u{202e}fdp.exe"), "\\u202efdp.exe");
        assert_eq!(escape("tab\tdel\x7f"), "tab\\tdel\\x7f");
    }

    #[test]
    fn output_keeps_lines_tabs_and_own_colours() {
        let s = "\x1b[1;31mERROR\x1b[0m line\n\tnext \x1b]8;;http://x\x07link\x1b[2J";
        assert_eq!(
            sanitize_output(s, true),
            "\x1b[1;31mERROR\x1b[0m line\n\tnext \\x1b]8;;http://x\\x07link\\x1b[2J"
        );
        assert_eq!(
            sanitize_output(s, false),
            "\\x1b[1;31mERROR\\x1b[0m line\n\tnext \\x1b]8;;http://x\\x07link\\x1b[2J"
        );
        assert_eq!(sanitize_output("ok\n", false), "ok\n");
    }
}
