//! Generic configuration readers for the catalog's shapes (`catalog::Shape`): `key value`,
//! `key = value` (sysctl-like), INI sections, Apache directives, lighttpd's syntax and Erlang
//! terms (`erlang_terms`), each with its include directives, bounded (depth, files, bytes).
//! They keep keys, values and `file:line`; a caller keeps only the settings its entry names, so
//! no other content of a file is ever carried further. Errors name the file and why, never the
//! file's content.

use super::entry::{ConfigSpec, IncludeKind, Shape, Target, flag_value, resolve};
use crate::snapshot::Setting;

/// Include nesting porttune follows.
pub const MAX_DEPTH: usize = 16;
/// Files read for one server, includes counted.
pub const MAX_FILES: usize = 256;

/// What a configuration tree gave: the files read, in order, and every `key value` found.
#[derive(Debug, Default)]
pub struct Tree {
    pub files: Vec<String>,
    pub settings: Vec<Setting>,
}

struct Walk<'a> {
    spec: &'a ConfigSpec,
    t: &'a Target<'a>,
    tree: Tree,
    /// Apache: the ServerRoot relative includes are resolved against.
    base: Option<String>,
    /// Apache: modules loaded so far (`LoadModule NAME file`) and `-D`/`Define` names.
    modules: Vec<String>,
    defines: Vec<(String, String)>,
    /// INI: the section open now (an included file goes on in it, as PgBouncer reads).
    section: String,
}

/// Read the configuration at `path` (absolute) and its includes.
pub fn read_tree(spec: &ConfigSpec, path: &str, t: &Target) -> Result<Tree, String> {
    // a file named with another suffix may be in another shape (rabbitmq.config)
    let spec = &ConfigSpec {
        shape: spec
            .by_suffix
            .iter()
            .find(|(suffix, _)| path.ends_with(suffix))
            .map_or(spec.shape, |(_, shape)| *shape),
        ..*spec
    };
    // Apache: relative includes resolve against ServerRoot (-d, or the built-in one)
    let base = spec
        .root_flag
        .and_then(|f| flag_value(t.cmdline, f))
        .map(|d| resolve(t.cwd.as_deref(), &d))
        .or_else(|| spec.root_default.map(str::to_string));
    let defines = t
        .cmdline
        .iter()
        .skip(1)
        .filter_map(|w| w.strip_prefix("-D"))
        .filter(|d| !d.is_empty())
        .map(|d| (d.to_string(), String::new()))
        .collect();
    let mut w = Walk {
        spec,
        t,
        tree: Tree::default(),
        base,
        modules: Vec::new(),
        defines,
        section: String::new(),
    };
    w.file(path, 0)?;
    Ok(w.tree)
}

/// Strip one pair of matching quotes.
pub fn unquote(s: &str) -> &str {
    let s = s.trim();
    for q in ['"', '\''] {
        if let Some(inner) = s.strip_prefix(q).and_then(|r| r.strip_suffix(q)) {
            return inner;
        }
    }
    s
}

/// `name` matches the glob `pat` (`*` and `?` only).
pub fn glob_match(pat: &str, name: &str) -> bool {
    fn m(p: &[u8], n: &[u8]) -> bool {
        match (p.first(), n.first()) {
            (None, None) => true,
            (Some(b'*'), _) => m(&p[1..], n) || (!n.is_empty() && m(p, &n[1..])),
            (Some(b'?'), Some(_)) => m(&p[1..], &n[1..]),
            (Some(a), Some(b)) if a == b => m(&p[1..], &n[1..]),
            _ => false,
        }
    }
    m(pat.as_bytes(), name.as_bytes())
}

fn dir_of(path: &str) -> &str {
    path.rsplit_once('/').map(|(d, _)| d).unwrap_or("/")
}

impl Walk<'_> {
    fn file(&mut self, path: &str, depth: usize) -> Result<(), String> {
        if depth > MAX_DEPTH {
            return Err(format!("includes nested deeper than {MAX_DEPTH} at {path}"));
        }
        if self.tree.files.len() >= MAX_FILES {
            return Err(format!("more than {MAX_FILES} configuration files"));
        }
        let text = (self.t.read)(path).map_err(|e| format!("{path}: {e}"))?;
        self.tree.files.push(path.to_string());
        match self.spec.shape {
            Shape::Apache => self.apache(path, &text, depth),
            Shape::ErlangTerms { app, aliases } => {
                let env = super::erlang_terms::app_env(&text, app)
                    .map_err(|e| format!("{path}: not Erlang terms at {e}"))?;
                for (key, value, line) in env {
                    let key = aliases
                        .iter()
                        .find(|(written, _)| *written == key)
                        .map_or(key.as_str(), |(_, named)| named);
                    self.push(key, &value, path, line);
                }
                Ok(())
            }
            _ => self.lines(path, &text, depth),
        }
    }

    fn push(&mut self, key: &str, value: &str, path: &str, line: usize) {
        self.tree.settings.push(Setting {
            key: key.to_string(),
            value: value.to_string(),
            source: format!("{path}:{line}"),
        });
    }

    /// The include directive `key` names, if it is one.
    fn include_kind(&self, key: &str) -> Option<IncludeKind> {
        self.spec
            .include
            .iter()
            .find(|(d, _)| d.eq_ignore_ascii_case(key))
            .map(|(_, k)| *k)
    }

    /// Follow an include: a file, a glob in its last component, or a directory's files.
    fn include(
        &mut self,
        kind: IncludeKind,
        target: &str,
        from: &str,
        depth: usize,
        optional: bool,
    ) -> Result<(), String> {
        let base = match self.spec.shape {
            Shape::Apache => self
                .base
                .clone()
                .unwrap_or_else(|| dir_of(from).to_string()),
            _ => dir_of(from).to_string(),
        };
        let full = resolve(Some(&base), unquote(target));
        let (dir, pat) = match kind {
            IncludeKind::Dir(_) => (full.clone(), "*".to_string()),
            IncludeKind::File => {
                if !full.contains(['*', '?']) {
                    return match self.file(&full, depth + 1) {
                        Err(_) if optional => Ok(()),
                        r => r,
                    };
                }
                let (d, p) = full.rsplit_once('/').unwrap_or(("/", full.as_str()));
                (d.to_string(), p.to_string())
            }
        };
        let mut names = match (self.t.list)(&dir) {
            Ok(n) => n,
            Err(_) if optional || pat.contains('*') => return Ok(()),
            Err(e) => return Err(format!("{dir}: {e}")),
        };
        names.sort();
        for n in names {
            let ok = match kind {
                IncludeKind::Dir(ext) => n.ends_with(ext),
                IncludeKind::File => glob_match(&pat, &n),
            };
            if ok && !n.starts_with('.') {
                self.file(&format!("{}/{n}", dir.trim_end_matches('/')), depth + 1)?;
            }
        }
        Ok(())
    }

    /// `key value`, `key = value`, INI and lighttpd lines.
    fn lines(&mut self, path: &str, text: &str, depth: usize) -> Result<(), String> {
        let mut braces: i64 = 0;
        for (i, raw) in text.lines().enumerate() {
            let line = raw.trim();
            let n = i + 1;
            if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
                continue;
            }
            let (key, value) = match self.spec.shape {
                Shape::KeyValue => match line.split_once(char::is_whitespace) {
                    Some((k, v)) => (k, v.trim()),
                    None => (line, ""),
                },
                Shape::KeyEquals => match line.split_once('=') {
                    Some((k, v)) => (k.trim(), v.trim()),
                    None => continue,
                },
                Shape::Ini(want) => {
                    if let Some(s) = line.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
                        self.section = s.trim().to_ascii_lowercase();
                        continue;
                    }
                    if let Some(inc) = line.strip_prefix("%include") {
                        self.include(IncludeKind::File, inc.trim(), path, depth, false)?;
                        continue;
                    }
                    if self.section != want {
                        continue;
                    }
                    match line.split_once('=') {
                        Some((k, v)) => (k.trim(), v.trim()),
                        None => continue,
                    }
                }
                Shape::Lighttpd => {
                    let opens = line.matches('{').count() as i64;
                    let closes = line.matches('}').count() as i64;
                    let top = braces == 0;
                    braces = (braces + opens - closes).max(0);
                    if !top || opens > 0 {
                        continue;
                    }
                    if let Some(rest) = line.strip_prefix("include ") {
                        self.include(IncludeKind::File, rest, path, depth, false)?;
                        continue;
                    }
                    if line.starts_with("include_shell") {
                        // never run: a command of the target's configuration is not ours to run
                        continue;
                    }
                    match line.split_once('=') {
                        Some((k, v)) => (k.trim().trim_end_matches('+').trim(), unquote(v)),
                        None => continue,
                    }
                }
                Shape::Apache | Shape::ErlangTerms { .. } | Shape::Flags | Shape::Own => {
                    return Ok(());
                }
            };
            let value = value.split(" #").next().unwrap_or(value).trim();
            if let Some(kind) = self.include_kind(key) {
                self.include(kind, value, path, depth, false)?;
                continue;
            }
            self.push(key, unquote(value), path, n);
        }
        Ok(())
    }

    /// `${VAR}` from `Define`s, then the process's environment (Debian's envvars).
    fn expand(&self, s: &str) -> String {
        let mut out = String::new();
        let mut rest = s;
        while let Some(i) = rest.find("${") {
            out.push_str(&rest[..i]);
            let after = &rest[i + 2..];
            let Some(j) = after.find('}') else {
                out.push_str(&rest[i..]);
                return out;
            };
            let name = &after[..j];
            let v = self
                .defines
                .iter()
                .rev()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
                .or_else(|| (self.t.env)(name))
                .unwrap_or_default();
            out.push_str(&v);
            rest = &after[j + 1..];
        }
        out.push_str(rest);
        out
    }

    /// Whether an `<IfModule>`/`<IfDefine>` condition holds.
    fn holds(&self, tag: &str, arg: &str) -> bool {
        let (neg, name) = match arg.strip_prefix('!') {
            Some(n) => (true, n),
            None => (false, arg),
        };
        let yes = if tag.eq_ignore_ascii_case("ifdefine") {
            self.defines.iter().any(|(k, _)| k == name)
        } else {
            // `mpm_event_module` or `mod_mpm_event.c`
            let id = name
                .strip_prefix("mod_")
                .and_then(|n| n.strip_suffix(".c"))
                .map(|n| format!("{n}_module"))
                .unwrap_or_else(|| name.to_string());
            self.modules.contains(&id) || BUILTIN_MODULES.contains(&id.as_str())
        };
        yes != neg
    }

    /// Apache httpd: directives, sections, includes, continuation lines.
    fn apache(&mut self, path: &str, text: &str, depth: usize) -> Result<(), String> {
        // conditions of the open sections: false while inside one that does not hold
        let mut stack: Vec<bool> = Vec::new();
        let mut joined = String::new();
        let mut start = 0;
        for (i, raw) in text.lines().enumerate() {
            if joined.is_empty() {
                start = i + 1;
            }
            if let Some(head) = raw.strip_suffix('\\') {
                joined.push_str(head);
                joined.push(' ');
                continue;
            }
            joined.push_str(raw);
            let line = std::mem::take(&mut joined);
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let active = stack.iter().all(|b| *b);
            if let Some(close) = line.strip_prefix("</") {
                let _ = close;
                stack.pop();
                continue;
            }
            if let Some(open) = line.strip_prefix('<') {
                let open = open.trim_end_matches('>');
                let (tag, arg) = open.split_once(char::is_whitespace).unwrap_or((open, ""));
                let arg = unquote(arg.trim());
                let cond = if tag.eq_ignore_ascii_case("ifmodule")
                    || tag.eq_ignore_ascii_case("ifdefine")
                {
                    self.holds(tag, arg)
                } else {
                    true
                };
                stack.push(cond);
                continue;
            }
            if !active {
                continue;
            }
            let line = self.expand(line);
            let (key, value) = line
                .split_once(char::is_whitespace)
                .map(|(k, v)| (k.to_string(), v.trim().to_string()))
                .unwrap_or((line.clone(), String::new()));
            if key.eq_ignore_ascii_case("LoadModule") {
                if let Some(name) = value.split_whitespace().next() {
                    self.modules.push(name.to_string());
                    if let Some(mpm) = name
                        .strip_prefix("mpm_")
                        .and_then(|m| m.strip_suffix("_module"))
                    {
                        self.push("mpm", mpm, path, start);
                    }
                }
                continue;
            }
            if key.eq_ignore_ascii_case("Define") {
                let mut w = value.split_whitespace();
                if let Some(k) = w.next() {
                    self.defines
                        .push((k.to_string(), w.next().unwrap_or("").to_string()));
                }
                continue;
            }
            if self
                .spec
                .root_directive
                .is_some_and(|d| d.eq_ignore_ascii_case(&key))
            {
                self.base = Some(unquote(&value).to_string());
                continue;
            }
            if let Some(kind) = self.include_kind(&key) {
                let optional = key.to_ascii_lowercase().ends_with("optional");
                self.include(kind, &value, path, depth, optional)?;
                continue;
            }
            self.push(&key, unquote(&value), path, start);
        }
        Ok(())
    }
}

/// Modules compiled into Debian's apache2 binary (`apache2 -l`): `<IfModule>` of them holds.
const BUILTIN_MODULES: &[&str] = &[
    "core_module",
    "so_module",
    "watchdog_module",
    "http_module",
    "log_config_module",
    "logio_module",
    "version_module",
    "unixd_module",
];

#[cfg(test)]
mod tests {
    use super::super::entry::{ConfigSpec, IncludeKind, Shape, Target};
    use super::*;
    use std::collections::BTreeMap;

    fn spec(shape: Shape, include: &'static [(&'static str, IncludeKind)]) -> ConfigSpec {
        ConfigSpec {
            shape,
            include,
            root_directive: Some("ServerRoot"),
            ..ConfigSpec::FLAGS_ONLY
        }
    }

    fn run(
        spec: &ConfigSpec,
        files: &[(&str, &str)],
        main: &str,
        env: &[(&str, &str)],
    ) -> Result<Tree, String> {
        let fs: BTreeMap<String, String> = files
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let envs: BTreeMap<String, String> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let read = |p: &str| fs.get(p).cloned().ok_or_else(|| "not found".to_string());
        let list = |d: &str| {
            let pre = format!("{}/", d.trim_end_matches('/'));
            let v: Vec<String> = fs
                .keys()
                .filter_map(|k| k.strip_prefix(&pre))
                .filter(|r| !r.contains('/'))
                .map(str::to_string)
                .collect();
            if v.is_empty() {
                Err("no such directory".to_string())
            } else {
                Ok(v)
            }
        };
        let getenv = |k: &str| envs.get(k).cloned();
        let cmd: Vec<String> = vec!["x".into()];
        let t = Target {
            cmdline: &cmd,
            env: &getenv,
            cwd: Some("/".into()),
            read: &read,
            list: &list,
            config: None,
        };
        read_tree(spec, main, &t)
    }

    fn get<'a>(t: &'a Tree, k: &str) -> Option<&'a Setting> {
        t.settings
            .iter()
            .rev()
            .find(|s| s.key.eq_ignore_ascii_case(k))
    }

    #[test]
    fn key_value_with_include_dir() {
        let s = spec(
            Shape::KeyValue,
            &[("include_dir", IncludeKind::Dir(".conf"))],
        );
        let t = run(
            &s,
            &[
                (
                    "/etc/m/m.conf",
                    "# c\npid_file /run/m.pid\ninclude_dir /etc/m/conf.d\n",
                ),
                ("/etc/m/conf.d/b.conf", "max_connections 70\n"),
                ("/etc/m/conf.d/a.conf", "max_connections 50\n"),
                ("/etc/m/conf.d/README", "max_connections 1\n"),
            ],
            "/etc/m/m.conf",
            &[],
        )
        .unwrap();
        let m = get(&t, "max_connections").unwrap();
        assert_eq!(
            (m.value.as_str(), m.source.as_str()),
            ("70", "/etc/m/conf.d/b.conf:1")
        );
        assert_eq!(t.files.len(), 3);
    }

    #[test]
    fn ini_section_and_include() {
        let s = spec(Shape::Ini("pgbouncer"), &[]);
        let t = run(
            &s,
            &[
                ("/e/p.ini", "[databases]\nmax_client_conn = 1\n[pgbouncer]\n; c\nmax_client_conn = 300\n%include /e/more.ini\n"),
                ("/e/more.ini", "max_client_conn=400\n"),
            ],
            "/e/p.ini",
            &[],
        )
        .unwrap();
        assert_eq!(get(&t, "max_client_conn").unwrap().value, "400");
        assert_eq!(t.files, ["/e/p.ini", "/e/more.ini"]);
        assert!(
            run(&s, &[], "/e/p.ini", &[])
                .unwrap_err()
                .contains("/e/p.ini: not found")
        );
    }

    #[test]
    fn lighttpd_skips_conditionals_and_shell() {
        let s = spec(Shape::Lighttpd, &[]);
        let t = run(
            &s,
            &[
                ("/l/l.conf", "server.max-connections = 60\n$HTTP[\"host\"] == \"x\" {\n  server.max-connections = 5\n}\ninclude_shell \"/bin/false\"\ninclude \"more.conf\"\n"),
                ("/l/more.conf", "server.max-fds = 2048\n"),
            ],
            "/l/l.conf",
            &[],
        )
        .unwrap();
        assert_eq!(get(&t, "server.max-connections").unwrap().value, "60");
        assert_eq!(get(&t, "server.max-fds").unwrap().value, "2048");
    }

    #[test]
    fn apache_modules_envvars_and_globs() {
        let s = spec(
            Shape::Apache,
            &[
                ("Include", IncludeKind::File),
                ("IncludeOptional", IncludeKind::File),
            ],
        );
        let t = run(
            &s,
            &[
                ("/etc/a/apache2.conf", "ServerRoot \"/etc/a\"\nUser ${APACHE_RUN_USER}\nIncludeOptional mods-enabled/*.load\nIncludeOptional mods-enabled/*.conf\nIncludeOptional nothing/*.conf\n<IfModule mpm_prefork_module>\n  MaxRequestWorkers 7\n</IfModule>\n"),
                ("/etc/a/mods-enabled/mpm_event.load", "LoadModule mpm_event_module /usr/lib/apache2/modules/mod_mpm_event.so\n"),
                ("/etc/a/mods-enabled/mpm_event.conf", "<IfModule mpm_event_module>\n\tThreadsPerChild 25\n\tMaxRequestWorkers \\\n 150\n</IfModule>\n"),
            ],
            "/etc/a/apache2.conf",
            &[("APACHE_RUN_USER", "www-data")],
        )
        .unwrap();
        assert_eq!(get(&t, "mpm").unwrap().value, "event");
        let m = get(&t, "MaxRequestWorkers").unwrap();
        assert_eq!(
            (m.value.as_str(), m.source.as_str()),
            ("150", "/etc/a/mods-enabled/mpm_event.conf:3")
        );
        assert_eq!(get(&t, "User").unwrap().value, "www-data");
        assert!(glob_match("*.conf", "a.conf") && !glob_match("*.conf", "a.load"));
    }
}
