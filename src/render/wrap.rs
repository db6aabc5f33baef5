//! Terminal width and word wrapping for the human output. Pure string work: the width is
//! passed in by the command layer ([`terminal_width`] and [`stderr_width`] are the only places
//! that ask the terminal).

/// Width used when stdout is not a terminal (pipes, files, CI logs).
pub const DEFAULT_WIDTH: usize = 80;
/// Narrowest width honoured; below it lines would hold a word or two.
pub const MIN_WIDTH: usize = 40;

/// Columns of stdout when it is a terminal, else [`DEFAULT_WIDTH`].
pub fn terminal_width() -> usize {
    use std::io::IsTerminal;
    if !std::io::stdout().is_terminal() {
        return DEFAULT_WIDTH;
    }
    match terminal_size::terminal_size() {
        Some((terminal_size::Width(w), _)) => usize::from(w).max(MIN_WIDTH),
        None => DEFAULT_WIDTH,
    }
}

/// Columns of standard error when it is a terminal; `None` when it is not (a pipe, a file, a
/// journal), where each message stays on one line for grep and log collectors.
pub fn stderr_width() -> Option<usize> {
    use std::io::IsTerminal;
    if !std::io::stderr().is_terminal() {
        return None;
    }
    terminal_size::terminal_size_of(std::io::stderr())
        .map(|(terminal_size::Width(w), _)| usize::from(w).max(MIN_WIDTH))
}

/// Printed width of `s`: characters, not counting ANSI colour sequences (`ESC [ … m`).
pub fn visible_len(s: &str) -> usize {
    let mut n = 0usize;
    let mut in_esc = false;
    for c in s.chars() {
        if in_esc {
            if c.is_ascii_alphabetic() {
                in_esc = false;
            }
        } else if c == '\u{1b}' {
            in_esc = true;
        } else {
            n += 1;
        }
    }
    n
}

/// Wrap `text` into lines of at most `width` printed columns. The first line starts with
/// `first` and the following ones with `cont` (both counted in the width). Words longer than
/// a line are cut. Each line ends with '\n'.
pub fn wrap(text: &str, width: usize, first: &str, cont: &str) -> String {
    let mut out = String::new();
    let mut line = first.to_string();
    let mut len = visible_len(first);
    let mut empty = true;
    let cont_len = visible_len(cont);
    for word in text.split(' ').filter(|w| !w.is_empty()) {
        let wl = visible_len(word);
        if !empty && len + 1 + wl > width {
            out.push_str(line.trim_end());
            out.push('\n');
            line = cont.to_string();
            len = cont_len;
            empty = true;
        }
        if !empty {
            line.push(' ');
            len += 1;
        }
        let room = width.saturating_sub(len).max(1);
        if wl > room && !word.contains('\u{1b}') {
            // Cut a word that cannot fit on any line.
            let chars: Vec<char> = word.chars().collect();
            let mut rest: &[char] = &chars;
            let mut room = room;
            while rest.len() > room {
                line.extend(&rest[..room]);
                out.push_str(line.trim_end());
                out.push('\n');
                line = cont.to_string();
                len = cont_len;
                rest = &rest[room..];
                room = width.saturating_sub(cont_len).max(1);
            }
            line.extend(rest);
            len += rest.len();
        } else {
            line.push_str(word);
            len += wl;
        }
        empty = false;
    }
    out.push_str(line.trim_end());
    out.push('\n');
    out
}

/// Wrap every line of `text` longer than `width`, continuation lines indented two columns
/// past the line's own indentation. Shorter lines are kept as they are.
pub fn wrap_lines(text: &str, width: usize) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        if visible_len(line) <= width {
            out.push_str(line);
            out.push('\n');
            continue;
        }
        let body = line.trim_start_matches(' ');
        let indent = " ".repeat(line.len() - body.len());
        out.push_str(&wrap(body, width, &indent, &format!("{indent}  ")));
    }
    out
}

/// A message for a terminal `width` columns wide: [`wrap_lines`], except that a line holding
/// a word too long for a continuation line (a long path) is left whole, so the word is never
/// cut in two and stays one piece to copy (the terminal folds that line itself).
pub fn wrap_message(text: &str, width: usize) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    for line in text.lines() {
        let body = line.trim_start_matches(' ');
        let room = width.saturating_sub(line.len() - body.len() + 2);
        if body.split(' ').any(|w| visible_len(w) > room) {
            out.push_str(line);
            out.push('\n');
        } else {
            out.push_str(&wrap_lines(line, width));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wraps_with_hanging_indent() {
        let t = wrap("aaa bbb ccc ddd", 9, "- ", "  ");
        assert_eq!(t, "- aaa bbb\n  ccc ddd\n");
        for l in t.lines() {
            assert!(l.chars().count() <= 9);
        }
    }

    #[test]
    fn cuts_long_words_and_skips_colour() {
        let t = wrap("abcdefghijkl", 6, "", "  ");
        assert_eq!(t, "abcdef\n  ghij\n  kl\n");
        assert_eq!(visible_len("\u{1b}[1mab\u{1b}[0m"), 2);
        assert_eq!(
            wrap("\u{1b}[1mab\u{1b}[0m cd", 5, "", ""),
            "\u{1b}[1mab\u{1b}[0m cd\n"
        );
    }

    #[test]
    fn wraps_only_long_lines() {
        let t = wrap_lines("short\n  a bb ccc dddd\n", 10);
        assert_eq!(t, "short\n  a bb ccc\n    dddd\n");
    }

    #[test]
    fn a_message_never_cuts_a_word() {
        let t = wrap_message(
            "error: no journal in /a/very/long/path/of/many/parts ok",
            20,
        );
        assert_eq!(
            t,
            "error: no journal in /a/very/long/path/of/many/parts ok\n"
        );
        let t = wrap_message("error: a b c d e f g h i j\n  k", 12);
        assert_eq!(t, "error: a b c\n  d e f g h\n  i j\n  k\n");
    }

    #[test]
    fn empty_text_gives_the_prefix() {
        assert_eq!(wrap("", 10, "x:", " "), "x:\n");
    }
}
