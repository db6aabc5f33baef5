//! A reader of Erlang term files as `file:consult/1` reads them (RabbitMQ's advanced.config
//! and classic rabbitmq.config, `[{App, [{Key, Value}, …]}, …].`): the `{Key, Value}` pairs
//! of one application, each with its line. Values that are not a number, an atom or a string
//! are kept as `…` (no entry needs them, and no other content is carried further). Bounded:
//! the text is at most what the caller read, nesting at most [`MAX_NESTING`].

/// Nesting porttune follows (lists and tuples); deeper is an error, not a stack overflow.
pub const MAX_NESTING: usize = 64;

#[derive(Debug, Clone, PartialEq)]
enum Term {
    /// An atom, a number (digit separators removed) or a string's characters.
    Word(String),
    List(Vec<(Term, usize)>),
    Tuple(Vec<(Term, usize)>),
    /// Anything else (a binary, a map, a fun, a pid): not looked into.
    Other,
}

struct Parser<'a> {
    s: &'a [u8],
    at: usize,
    line: usize,
}

impl Parser<'_> {
    fn skip(&mut self) {
        while let Some(&c) = self.s.get(self.at) {
            match c {
                b'\n' => {
                    self.line += 1;
                    self.at += 1;
                }
                b'%' => {
                    while self.s.get(self.at).is_some_and(|c| *c != b'\n') {
                        self.at += 1;
                    }
                }
                c if c.is_ascii_whitespace() => self.at += 1,
                _ => return,
            }
        }
    }

    fn err(&self, what: &str) -> String {
        format!("line {}: {what}", self.line)
    }

    fn eat(&mut self, c: u8) -> bool {
        self.skip();
        if self.s.get(self.at) == Some(&c) {
            self.at += 1;
            true
        } else {
            false
        }
    }

    /// Terms up to `close`, separated by commas.
    fn seq(&mut self, close: u8, depth: usize) -> Result<Vec<(Term, usize)>, String> {
        let mut out = Vec::new();
        if self.eat(close) {
            return Ok(out);
        }
        loop {
            self.skip();
            let line = self.line;
            out.push((self.term(depth + 1)?, line));
            if self.eat(b',') {
                continue;
            }
            // an improper list tail `[H | T]`: kept as Other
            if close == b']' && self.eat(b'|') {
                self.term(depth + 1)?;
            }
            if self.eat(close) {
                return Ok(out);
            }
            return Err(self.err(&format!("expected `,` or `{}`", close as char)));
        }
    }

    /// A quoted string or atom, its characters (escapes kept as written, less the backslash).
    fn quoted(&mut self, q: u8) -> Result<String, String> {
        let mut out = Vec::new();
        self.at += 1;
        loop {
            match self.s.get(self.at) {
                None => return Err(self.err("unterminated quote")),
                Some(&c) if c == q => {
                    self.at += 1;
                    return Ok(String::from_utf8_lossy(&out).into_owned());
                }
                Some(b'\\') => {
                    if let Some(&c) = self.s.get(self.at + 1) {
                        out.push(c);
                    }
                    self.at += 2;
                }
                Some(&c) => {
                    if c == b'\n' {
                        self.line += 1;
                    }
                    out.push(c);
                    self.at += 1;
                }
            }
        }
    }

    fn term(&mut self, depth: usize) -> Result<Term, String> {
        if depth > MAX_NESTING {
            return Err(self.err(&format!("terms nested deeper than {MAX_NESTING}")));
        }
        self.skip();
        let Some(&c) = self.s.get(self.at) else {
            return Err(self.err("unexpected end"));
        };
        match c {
            b'[' => {
                self.at += 1;
                Ok(Term::List(self.seq(b']', depth)?))
            }
            b'{' => {
                self.at += 1;
                Ok(Term::Tuple(self.seq(b'}', depth)?))
            }
            b'"' | b'\'' => Ok(Term::Word(self.quoted(c)?)),
            b'<' if self.s.get(self.at + 1) == Some(&b'<') => {
                // a binary: up to its `>>` (a string inside is skipped whole)
                self.at += 2;
                loop {
                    self.skip();
                    match self.s.get(self.at) {
                        None => return Err(self.err("unterminated binary")),
                        Some(b'"') => {
                            self.quoted(b'"')?;
                        }
                        Some(b'>') if self.s.get(self.at + 1) == Some(&b'>') => {
                            self.at += 2;
                            return Ok(Term::Other);
                        }
                        Some(_) => self.at += 1,
                    }
                }
            }
            b'#' => {
                // a map `#{…}`
                self.at += 1;
                if !self.eat(b'{') {
                    return Err(self.err("expected `{` after `#`"));
                }
                let mut d = 1usize;
                while d > 0 {
                    match self.s.get(self.at) {
                        None => return Err(self.err("unterminated map")),
                        Some(b'{') => d += 1,
                        Some(b'}') => d -= 1,
                        Some(b'\n') => self.line += 1,
                        Some(q @ (b'"' | b'\'')) => {
                            self.quoted(*q)?;
                            continue;
                        }
                        _ => {}
                    }
                    self.at += 1;
                }
                Ok(Term::Other)
            }
            _ => {
                let start = self.at;
                while self.s.get(self.at).is_some_and(|c| {
                    c.is_ascii_alphanumeric()
                        || matches!(c, b'_' | b'@' | b'.' | b'-' | b'+' | b'#')
                }) {
                    // a dot followed by whitespace ends the form, not the word
                    if self.s[self.at] == b'.'
                        && self
                            .s
                            .get(self.at + 1)
                            .is_none_or(|n| n.is_ascii_whitespace() || *n == b'%')
                    {
                        break;
                    }
                    self.at += 1;
                }
                if self.at == start {
                    return Err(self.err(&format!("unexpected `{}`", c as char)));
                }
                let w = String::from_utf8_lossy(&self.s[start..self.at]).into_owned();
                // a number's digit separators (`1_000`, OTP 23+)
                let w = if c.is_ascii_digit() {
                    w.replace('_', "")
                } else {
                    w
                };
                Ok(Term::Word(w))
            }
        }
    }
}

/// The `{Key, Value}` pairs of application `app` in the configuration `text` (one term, a
/// list, ended by a dot), each as (key, value, line); a value that is not a number, an atom
/// or a string is `…`. Err says where the text stops being a term, never what it says.
pub fn app_env(text: &str, app: &str) -> Result<Vec<(String, String, usize)>, String> {
    let mut p = Parser {
        s: text.as_bytes(),
        at: 0,
        line: 1,
    };
    let top = p.term(0)?;
    if !p.eat(b'.') {
        return Err(p.err("expected `.` after the configuration term"));
    }
    let Term::List(apps) = top else {
        return Err("line 1: not a list of applications".into());
    };
    let mut out = Vec::new();
    for (t, _) in apps {
        let Term::Tuple(pair) = t else { continue };
        let [(Term::Word(name), _), (Term::List(env), _)] = pair.as_slice() else {
            continue;
        };
        if name != app {
            continue;
        }
        for (kv, line) in env {
            if let Term::Tuple(kv) = kv {
                if let [(Term::Word(k), _), (v, _)] = kv.as_slice() {
                    let v = match v {
                        Term::Word(w) => w.clone(),
                        _ => "…".to_string(),
                    };
                    out.push((k.clone(), v, *line));
                }
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rabbit_keys_with_lines() {
        let text = "%% advanced.config\n[\n {rabbit, [\n   {tcp_listeners, [5672]},\n   {connection_max, 1_000},\n   {num_tcp_acceptors, 4}\n  ]},\n {ranch, [{x, <<\"a]}\">>}]},\n {rabbit, [{vm_memory_high_watermark, 0.4}, {default_user, \"guest\"}]}\n].\n";
        let got = app_env(text, "rabbit").unwrap();
        assert_eq!(
            got,
            vec![
                ("tcp_listeners".into(), "…".into(), 4),
                ("connection_max".into(), "1000".into(), 5),
                ("num_tcp_acceptors".into(), "4".into(), 6),
                ("vm_memory_high_watermark".into(), "0.4".into(), 9),
                ("default_user".into(), "guest".into(), 9),
            ]
        );
        assert_eq!(app_env("[].", "rabbit").unwrap(), vec![]);
        assert_eq!(
            app_env("[{rabbit, [{connection_max, infinity}]}].", "rabbit").unwrap()[0].1,
            "infinity"
        );
    }

    #[test]
    fn bad_terms_say_where_not_what() {
        let e = app_env("[{rabbit, [{connection_max, 10}]\n", "rabbit").unwrap_err();
        assert!(e.starts_with("line 2:"), "{e}");
        let e = app_env("[{rabbit, [{secret_password, \"hunter2\"}]}]", "rabbit").unwrap_err();
        assert!(!e.contains("hunter2"), "{e}");
        let deep = "[".repeat(10_000);
        assert!(app_env(&deep, "rabbit").unwrap_err().contains("deeper"));
        assert!(app_env("[{rabbit, [{a, 'unterminated}]}].", "rabbit").is_err());
    }
}
