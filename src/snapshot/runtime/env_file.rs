//! A server's environment file (RabbitMQ's rabbitmq-env.conf) as `sh` would leave its
//! variables, without ever running it. RabbitMQ 3.10 sources the file with `sh -c '. FILE &&
//! set'`, its own defaults in the environment (rabbit_common `rabbit_env.erl`,
//! `do_load_conf_env_file`), and takes the variables it uses that the process does not set.
//! porttune reads plain assignments only (`NAME=value`, `export NAME=value`, quotes, `\`
//! escapes) and expands `$NAME` and `${NAME}` from the file's own earlier assignments, then the
//! variables the server sets before sourcing it, then the process's environment. Anything else
//! a value holds (a command substitution, `${NAME:-…}`, a variable it cannot see, more words
//! after the value) leaves that variable unknown, and so does any other shell construct on a
//! line that names a variable the reader needs. Reasons name the line and variable names,
//! never a value.

/// A variable's value after the file, as far as porttune can tell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Val {
    Known(String),
    /// Why it cannot be told.
    Unknown(String),
}

/// One assignment of the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assignment {
    pub name: String,
    pub val: Val,
    /// 1-based.
    pub line: usize,
}

/// The assignments of `text`, in order. `outside` gives a variable set before the file runs;
/// `asked` are the names whose value matters: a line that is not a plain assignment but names
/// one of them makes it unknown.
pub fn parse(
    text: &str,
    outside: &dyn Fn(&str) -> Option<String>,
    asked: &[&str],
) -> Vec<Assignment> {
    let mut out: Vec<Assignment> = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let body = line
            .strip_prefix("export")
            .filter(|r| r.starts_with([' ', '\t']))
            .map_or(line, str::trim_start);
        let assignment = body.split_once('=').filter(|(name, _)| is_name(name));
        let Some((name, rest)) = assignment else {
            for a in asked.iter().filter(|a| names_word(line, a)) {
                out.push(Assignment {
                    name: a.to_string(),
                    val: Val::Unknown(format!(
                        "line {} is a shell construct porttune does not evaluate",
                        i + 1
                    )),
                    line: i + 1,
                });
            }
            continue;
        };
        let known = |n: &str| -> Result<String, String> {
            match out.iter().rev().find(|a| a.name == n) {
                Some(Assignment {
                    val: Val::Known(v), ..
                }) => Ok(v.clone()),
                Some(Assignment {
                    val: Val::Unknown(why),
                    ..
                }) => Err(why.clone()),
                None => outside(n).ok_or_else(|| {
                    format!("${n} is neither set earlier in the file nor a variable porttune knows")
                }),
            }
        };
        let val = match value(rest, &known) {
            Ok((v, after)) if after.is_empty() || after.starts_with('#') => Val::Known(v),
            Ok(_) => Val::Unknown(format!(
                "line {}: more follows the value (a command, or another assignment)",
                i + 1
            )),
            Err(why) => Val::Unknown(format!("line {}: {why}", i + 1)),
        };
        out.push(Assignment {
            name: name.to_string(),
            val,
            line: i + 1,
        });
    }
    out
}

fn is_name(s: &str) -> bool {
    let mut c = s.chars();
    c.next()
        .is_some_and(|f| f.is_ascii_alphabetic() || f == '_')
        && c.all(|x| x.is_ascii_alphanumeric() || x == '_')
}

/// Whether `line` names `word` as a whole word.
fn names_word(line: &str, word: &str) -> bool {
    line.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .any(|w| w == word)
}

/// The value at the start of `s` (up to unquoted blank) and what follows it, trimmed.
fn value<'a>(
    s: &'a str,
    known: &dyn Fn(&str) -> Result<String, String>,
) -> Result<(String, &'a str), String> {
    let mut out = String::new();
    let mut it = s.char_indices().peekable();
    while let Some(&(at, c)) = it.peek() {
        match c {
            ' ' | '\t' => return Ok((out, s[at..].trim())),
            '\'' => {
                it.next();
                loop {
                    match it.next() {
                        Some((_, '\'')) => break,
                        Some((_, ch)) => out.push(ch),
                        None => return Err("a quote not closed on its line".into()),
                    }
                }
            }
            '"' => {
                it.next();
                loop {
                    match it.next() {
                        Some((_, '"')) => break,
                        Some((_, '\\')) => match it.next() {
                            Some((_, e @ ('$' | '`' | '"' | '\\'))) => out.push(e),
                            Some((_, e)) => {
                                out.push('\\');
                                out.push(e);
                            }
                            None => return Err("a quote not closed on its line".into()),
                        },
                        Some((_, '$')) => out.push_str(&expand(&mut it, known)?),
                        Some((_, '`')) => return Err("a command substitution".into()),
                        Some((_, ch)) => out.push(ch),
                        None => return Err("a quote not closed on its line".into()),
                    }
                }
            }
            '\\' => {
                it.next();
                match it.next() {
                    Some((_, ch)) => out.push(ch),
                    None => return Err("a line continued on the next".into()),
                }
            }
            '$' => {
                it.next();
                out.push_str(&expand(&mut it, known)?);
            }
            '`' => return Err("a command substitution".into()),
            ';' | '|' | '&' | '<' | '>' | '(' | ')' => {
                return Err("a shell operator".into());
            }
            _ => {
                it.next();
                out.push(c);
            }
        }
    }
    Ok((out, ""))
}

/// The expansion after a `$`: `NAME` or `{NAME}`; anything else is not read.
fn expand(
    it: &mut std::iter::Peekable<std::str::CharIndices>,
    known: &dyn Fn(&str) -> Result<String, String>,
) -> Result<String, String> {
    let braced = it.peek().is_some_and(|&(_, c)| c == '{');
    if braced {
        it.next();
    }
    let mut name = String::new();
    while let Some(&(_, c)) = it.peek() {
        if c.is_ascii_alphanumeric() || c == '_' {
            name.push(c);
            it.next();
        } else {
            break;
        }
    }
    if braced && it.next().map(|(_, c)| c) != Some('}') {
        return Err("a ${…} expansion with an operator".into());
    }
    if !is_name(&name) {
        return Err(
            "a $ expansion porttune does not read (a command substitution, or a special parameter)"
                .into(),
        );
    }
    known(&name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(text: &str) -> Vec<(String, Val)> {
        let outside = |n: &str| match n {
            "CONFIG_FILE" => Some("/etc/rabbitmq/rabbitmq".to_string()),
            "HOME" => Some("/var/lib/rabbitmq".to_string()),
            _ => None,
        };
        parse(text, &outside, &["CONFIG_FILE", "ADVANCED_CONFIG_FILE"])
            .into_iter()
            .map(|a| (a.name, a.val))
            .collect()
    }

    fn known(v: &str) -> Val {
        Val::Known(v.into())
    }

    #[test]
    fn plain_assignments_and_quotes() {
        let got = run(
            "# comment\nNODENAME=rabbit@localhost\nexport CONFIG_FILE=\"/srv/r.conf\"  # ours\nA='x $B'\nB=a\\ b\n",
        );
        assert_eq!(
            got,
            vec![
                ("NODENAME".into(), known("rabbit@localhost")),
                ("CONFIG_FILE".into(), known("/srv/r.conf")),
                ("A".into(), known("x $B")),
                ("B".into(), known("a b")),
            ]
        );
    }

    #[test]
    fn references_expand_from_earlier_lines_defaults_and_the_environment() {
        let got = run(
            "BASE=/srv/rabbit\nCONFIG_FILE=${BASE}/rabbitmq\nADVANCED_CONFIG_FILE=\"$HOME/adv.config\"\nX=$CONFIG_FILE.d\n",
        );
        assert_eq!(got[1].1, known("/srv/rabbit/rabbitmq"));
        assert_eq!(got[2].1, known("/var/lib/rabbitmq/adv.config"));
        // the file's own assignment, not the default, once it is made
        assert_eq!(got[3].1, known("/srv/rabbit/rabbitmq.d"));
        // before it is made, the server's default
        let got = run("X=${CONFIG_FILE}.conf\n");
        assert_eq!(got[0].1, known("/etc/rabbitmq/rabbitmq.conf"));
    }

    #[test]
    fn what_it_cannot_tell_is_unknown_and_says_which_line() {
        let unknown = |text: &str| -> String {
            match &run(text).last().unwrap().1 {
                Val::Unknown(why) => why.clone(),
                v => panic!("{text:?}: {v:?}"),
            }
        };
        let why = unknown("CONFIG_FILE=$NOPE/r.conf\n");
        assert!(why.contains("line 1") && why.contains("$NOPE"), "{why}");
        assert!(unknown("CONFIG_FILE=$(hostname).conf\n").contains("command substitution"));
        assert!(unknown("CONFIG_FILE=`cat /x`\n").contains("command substitution"));
        assert!(unknown("CONFIG_FILE=${BASE:-/etc}/r\n").contains("operator"));
        assert!(unknown("CONFIG_FILE=/a; rm -rf /\n").contains("operator"));
        assert!(unknown("CONFIG_FILE=/a other\n").contains("more follows"));
        assert!(unknown("CONFIG_FILE='/a\n").contains("not closed"));
        // a reference to a variable the file left unknown is unknown
        let why = unknown("BASE=$(pwd)\nCONFIG_FILE=$BASE/r\n");
        assert!(why.contains("line 1"), "{why}");
        // a construct naming an asked variable makes it unknown; others are ignored
        let got = run("if [ -f /x ]; then CONFIG_FILE=/x; fi\nif true; then Y=1; fi\n");
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].0, "CONFIG_FILE");
        assert!(matches!(&got[0].1, Val::Unknown(w) if w.contains("line 1")));
        // a value is never quoted back
        let why = unknown("CONFIG_FILE=hunter2$(x)\n");
        assert!(!why.contains("hunter2"), "{why}");
    }
}
