//! nginx: the directives that bound connections, read the way nginx reads them
//! (limits-facts.md 10.13, docs/runtimes.md).
//!
//! - `worker_connections` (default 512) is the size of each worker's connection table. Every
//!   listening socket takes a slot in every worker, and so does the worker's channel to the
//!   master; a proxied request takes two (client and upstream).
//! - `worker_rlimit_nofile` is the RLIMIT_NOFILE each worker sets for itself; without it the
//!   workers keep the limit the master was started with.
//! - `include` is followed (globs in the last path component), relative paths resolve against
//!   the directory of the main file, like nginx's conf prefix.
//!
//! The parser is pure (text in); [`load`] reads the files through a caller-given reader, and
//! the Linux part of the probe ([`from_pid`]) finds a running master, its configuration and
//! its workers.

use crate::snapshot::Nginx;

pub const DEFAULT_WORKER_CONNECTIONS: u64 = 512;
/// Include depth and total size nginx configurations are read to (bounded reads).
const MAX_DEPTH: usize = 16;
const MAX_FILES: usize = 512;
pub const MAX_FILE_BYTES: u64 = 4 << 20;
/// NGX_MAX_PROCESSES: nginx starts at most this many workers.
pub const MAX_WORKER_PROCESSES: u64 = 1024;

#[derive(Debug, PartialEq)]
pub struct ParseError {
    /// The file the error is in (None: the only text given).
    pub file: Option<String>,
    pub line: usize,
    pub msg: String,
}

/// One statement: its words, the line it starts on, and whether it opens a block.
#[derive(Debug, Clone, PartialEq)]
struct Stmt {
    words: Vec<String>,
    line: usize,
    opens: bool,
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Stmt(Stmt),
    Close(usize),
}

/// Split nginx configuration text into statements (`;`), block openings (`{`) and closings
/// (`}`). Handles `#` comments, single and double quotes and backslash escapes.
fn tokenize(text: &str) -> Result<Vec<Tok>, (usize, String)> {
    let mut out = Vec::new();
    let mut words: Vec<String> = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut start = 1;
    let mut line = 1;
    let mut chars = text.chars().peekable();
    let flush = |word: &mut String, in_word: &mut bool, words: &mut Vec<String>| {
        if *in_word {
            words.push(std::mem::take(word));
            *in_word = false;
        }
    };
    while let Some(c) = chars.next() {
        match c {
            '\n' => {
                line += 1;
                flush(&mut word, &mut in_word, &mut words);
            }
            '#' if !in_word => {
                for c in chars.by_ref() {
                    if c == '\n' {
                        line += 1;
                        break;
                    }
                }
            }
            '"' | '\'' => {
                let q = c;
                let open_line = line;
                in_word = true;
                if words.is_empty() && word.is_empty() {
                    start = line;
                }
                loop {
                    match chars.next() {
                        None => return Err((open_line, format!("unterminated {q} quote"))),
                        Some('\\') => {
                            if let Some(n) = chars.next() {
                                word.push(n);
                            }
                        }
                        Some(ch) if ch == q => break,
                        Some(ch) => {
                            if ch == '\n' {
                                line += 1;
                            }
                            word.push(ch)
                        }
                    }
                }
            }
            ';' | '{' => {
                flush(&mut word, &mut in_word, &mut words);
                if words.is_empty() {
                    if c == '{' {
                        return Err((line, "unexpected \"{\"".into()));
                    }
                    continue;
                }
                out.push(Tok::Stmt(Stmt {
                    words: std::mem::take(&mut words),
                    line: start,
                    opens: c == '{',
                }));
            }
            '}' => {
                flush(&mut word, &mut in_word, &mut words);
                if !words.is_empty() {
                    return Err((
                        line,
                        format!("{} has no \";\"", shown("directive", &words[0])),
                    ));
                }
                out.push(Tok::Close(line));
            }
            c if c.is_whitespace() => flush(&mut word, &mut in_word, &mut words),
            '\\' => {
                in_word = true;
                if let Some(n) = chars.next() {
                    word.push(n);
                }
            }
            c => {
                if words.is_empty() && !in_word {
                    start = line;
                }
                in_word = true;
                word.push(c);
            }
        }
    }
    flush(&mut word, &mut in_word, &mut words);
    if let Some(w) = words.first() {
        return Err((
            line,
            format!(
                "{} has no \";\" at the end of the file",
                shown("directive", w)
            ),
        ));
    }
    Ok(out)
}

/// Directive and block names an error may quote: the ones nginx documents that matter here.
/// Any other word of a file is not echoed (it could be anything, a secret included).
const KNOWN: &[&str] = &[
    "events",
    "http",
    "stream",
    "mail",
    "server",
    "location",
    "upstream",
    "if",
    "map",
    "geo",
    "types",
    "limit_except",
    "split_clients",
    "include",
    "listen",
    "user",
    "pid",
    "worker_processes",
    "worker_connections",
    "worker_rlimit_nofile",
    "error_log",
    "access_log",
    "server_name",
    "root",
    "index",
    "proxy_pass",
    "fastcgi_pass",
    "uwsgi_pass",
    "scgi_pass",
    "grpc_pass",
    "memcached_pass",
    "return",
    "rewrite",
    "daemon",
    "multi_accept",
    "use",
    "keepalive_timeout",
    "sendfile",
];

/// How an error names a statement: `directive "worker_connections"` for a known name,
/// else `a directive` (the word itself is not echoed).
fn shown(kind: &str, word: &str) -> String {
    if KNOWN.contains(&word) {
        format!("{kind} {word:?}")
    } else {
        format!("a {kind}")
    }
}

/// Reads a configuration file named in an `include` (globs resolved): the files as
/// (display name, text), or why it could not.
pub type Reader<'a> = dyn FnMut(&str) -> Result<Vec<(String, String)>, String> + 'a;

/// What the walk collects.
#[derive(Default)]
struct Walk {
    n: Nginx,
    /// Block names, outermost first.
    stack: Vec<String>,
    /// For each open `server` block: whether it had a `listen`.
    server_listen: Vec<bool>,
    listens: std::collections::BTreeSet<String>,
    files: usize,
    cpus: u64,
}

/// Normalize a `listen` address the way nginx groups listening sockets: `80` and `*:80` are
/// the same socket.
fn listen_key(ctx: &str, args: &[String]) -> String {
    let a = args.first().map(String::as_str).unwrap_or("");
    let addr = if a.starts_with("unix:") || a.contains(':') {
        a.to_string()
    } else if a.chars().all(|c| c.is_ascii_digit()) {
        format!("*:{a}")
    } else {
        format!("{a}:80")
    };
    let udp = args.iter().any(|w| w == "udp");
    format!("{ctx} {addr}{}", if udp { " udp" } else { "" })
}

fn num(args: &[String], what: &str) -> Result<u64, String> {
    args.first()
        .and_then(|v| v.parse::<u64>().ok())
        // nginx keeps these in C ints: larger is a typo, and would overflow the model's products.
        .filter(|v| (1..=i32::MAX as u64).contains(v))
        .ok_or(format!("{what}: expected a number from 1 to {}", i32::MAX))
}

impl Walk {
    fn directive(&mut self, s: &Stmt) -> Result<(), String> {
        let (key, args) = (s.words[0].as_str(), &s.words[1..]);
        let top = self.stack.last().map(String::as_str);
        match key {
            "worker_processes" if self.stack.is_empty() => {
                self.n.worker_processes = if args.first().map(String::as_str) == Some("auto") {
                    self.cpus.max(1)
                } else {
                    num(args, "worker_processes")?
                }
            }
            "worker_connections" if top == Some("events") => {
                self.n.worker_connections = num(args, "worker_connections")?
            }
            "worker_rlimit_nofile" if self.stack.is_empty() => {
                self.n.worker_rlimit_nofile = Some(num(args, "worker_rlimit_nofile")?)
            }
            "proxy_pass" | "fastcgi_pass" | "uwsgi_pass" | "scgi_pass" | "grpc_pass"
            | "memcached_pass" => self.n.proxies = true,
            "listen" if top == Some("server") => {
                let ctx = self.stack.first().cloned().unwrap_or_default();
                self.listens.insert(listen_key(&ctx, args));
                if let Some(l) = self.server_listen.last_mut() {
                    *l = true;
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn open(&mut self, s: &Stmt) {
        if s.words[0] == "server" {
            self.server_listen.push(false);
        }
        self.stack.push(s.words[0].clone());
    }

    fn close(&mut self) -> Result<(), String> {
        let Some(name) = self.stack.pop() else {
            return Err("unexpected \"}\"".into());
        };
        if name == "server" {
            let had = self.server_listen.pop().unwrap_or(true);
            // an http server without `listen` listens on *:80 (*:8000 when not root)
            if !had && self.stack.first().map(String::as_str) == Some("http") {
                self.listens.insert("http *:80".into());
            }
        }
        Ok(())
    }

    fn text(
        &mut self,
        file: Option<&str>,
        text: &str,
        read: &mut Reader,
        depth: usize,
    ) -> Result<(), ParseError> {
        let err = |line: usize, msg: String| ParseError {
            file: file.map(str::to_string),
            line,
            msg,
        };
        let toks = tokenize(text).map_err(|(l, m)| err(l, m))?;
        for t in toks {
            match t {
                Tok::Close(line) => self.close().map_err(|m| err(line, m))?,
                Tok::Stmt(s) if s.opens => self.open(&s),
                Tok::Stmt(s) if s.words[0] == "include" => {
                    let Some(pat) = s.words.get(1) else {
                        return Err(err(s.line, "include: no file named".into()));
                    };
                    if depth >= MAX_DEPTH {
                        return Err(err(s.line, format!("include {pat}: nested too deep")));
                    }
                    let files =
                        read(pat).map_err(|m| err(s.line, format!("include {pat}: {m}")))?;
                    for (name, t) in files {
                        self.files += 1;
                        if self.files > MAX_FILES {
                            return Err(err(s.line, "more than 512 included files".into()));
                        }
                        self.n.includes.push(name.clone());
                        self.text(Some(&name), &t, read, depth + 1)?;
                    }
                }
                Tok::Stmt(s) => self.directive(&s).map_err(|m| err(s.line, m))?,
            }
        }
        Ok(())
    }
}

/// Parse a configuration: `text` is the main file (named `config`), `extra` the directives of
/// the master's `-g`, `read` resolves includes, `cpus` resolves `worker_processes auto`.
pub fn load(
    config: &str,
    text: &str,
    extra: Option<&str>,
    read: &mut Reader,
    cpus: u64,
) -> Result<Nginx, ParseError> {
    let mut w = Walk {
        n: Nginx {
            config: config.to_string(),
            worker_processes: 1,
            worker_connections: DEFAULT_WORKER_CONNECTIONS,
            ..Default::default()
        },
        cpus,
        ..Default::default()
    };
    w.text(Some(config), text, read, 0)?;
    if let Some(open) = w.stack.last() {
        return Err(ParseError {
            file: Some(config.into()),
            line: text.lines().count(),
            msg: format!("{} is not closed (\"}}\" missing)", shown("block", open)),
        });
    }
    if let Some(g) = extra {
        w.text(Some("-g"), g, read, 0)?;
    }
    w.n.listeners = Some(w.listens.len() as u64);
    Ok(w.n)
}

/// Parse one text with no includes (`--nginx-conf` of a single file, tests).
pub fn parse(text: &str, config: &str, cpus: u64) -> Result<Nginx, ParseError> {
    load(
        config,
        text,
        None,
        &mut |p: &str| Err(format!("not followed here ({p})")),
        cpus,
    )
}

/// Whether `name` matches the shell glob `pat` (`*`, `?`; no character classes).
pub fn glob_match(pat: &str, name: &str) -> bool {
    let (p, n): (Vec<char>, Vec<char>) = (pat.chars().collect(), name.chars().collect());
    let (mut pi, mut ni, mut star, mut mark) = (0, 0, None, 0);
    while ni < n.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == n[ni]) {
            pi += 1;
            ni += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ni;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ni = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// The master's command line, as nginx rewrites it ("nginx: master process /usr/sbin/nginx
/// -c /etc/nginx/nginx.conf -g daemon off;"): the `-c`, `-p` and `-g` values.
#[derive(Debug, Default, PartialEq)]
pub struct MasterArgs {
    pub conf: Option<String>,
    pub prefix: Option<String>,
    pub directives: Option<String>,
}

pub fn master_args(cmdline: &str) -> MasterArgs {
    let rest = cmdline
        .strip_prefix("nginx: master process ")
        .unwrap_or(cmdline);
    let words: Vec<&str> = rest.split_whitespace().collect();
    let mut a = MasterArgs::default();
    let mut i = 1;
    while i < words.len() {
        let take = |i: usize| words.get(i + 1).map(|s| s.to_string());
        match words[i] {
            "-c" => a.conf = take(i),
            "-p" => a.prefix = take(i),
            "-g" => {
                // -g's value had spaces; it runs until the next option
                let mut g = Vec::new();
                let mut j = i + 1;
                while j < words.len() && !matches!(words[j], "-c" | "-p" | "-e" | "-q") {
                    g.push(words[j]);
                    j += 1;
                }
                a.directives = Some(g.join(" "));
                i = j;
                continue;
            }
            _ => {}
        }
        i += 2;
    }
    a
}

/// A value of the nginx binary's configure arguments (`--prefix=`, `--conf-path=`).
fn configure_arg(binary: &[u8], key: &[u8]) -> Option<String> {
    let at = binary.windows(key.len()).position(|w| w == key)? + key.len();
    let v: Vec<u8> = binary[at..]
        .iter()
        .take_while(|b| !matches!(b, b' ' | 0 | b'\'' | b'"' | b'\n'))
        .copied()
        .collect();
    (!v.is_empty()).then(|| String::from_utf8_lossy(&v).into_owned())
}

/// The prefix built into an nginx binary (`--prefix=`, else nginx's default): what a relative
/// `-c` is resolved against when no `-p` is given (Debian: /usr/share/nginx).
pub fn builtin_prefix(binary: &[u8]) -> String {
    configure_arg(binary, b"--prefix=").unwrap_or_else(|| "/usr/local/nginx".into())
}

/// The built-in configuration path of an nginx binary: `--conf-path=` in its configure
/// arguments, else `--prefix=`/conf/nginx.conf, else nginx's default prefix.
pub fn builtin_conf_path(binary: &[u8]) -> String {
    if let Some(c) = configure_arg(binary, b"--conf-path=") {
        return c;
    }
    format!(
        "{}/conf/nginx.conf",
        builtin_prefix(binary).trim_end_matches('/')
    )
}

/// The file `-c conf` names, as nginx resolves it: relative to the prefix (`-p`, itself
/// relative to the working directory, else the one built into the binary, which `binary`
/// reads only when needed).
pub fn conf_from_args(
    conf: &str,
    prefix: Option<&str>,
    binary: impl FnOnce() -> Vec<u8>,
) -> String {
    if conf.starts_with('/') {
        return conf.to_string();
    }
    let prefix = prefix
        .map(str::to_string)
        .unwrap_or_else(|| builtin_prefix(&binary()));
    format!("{}/{conf}", prefix.trim_end_matches('/'))
}

use crate::snapshot::target::{Kind, TargetFs};

/// One file read as the process would read it (crate::snapshot::target): errors name the
/// file, never its content.
fn read_one(fs: &TargetFs, path: &str) -> Result<String, String> {
    fs.read(path, MAX_FILE_BYTES)
        .map_err(|e| format!("{path}: {e}"))
}

/// Resolve `pat` (relative to `dir`) as the process sees its files, with `*` and `?` in any
/// part of the path, as nginx's glob(3) does (`include sites-*/*.conf`): matches sorted, a
/// pattern matching nothing is no file, a plain name that is missing an error. More matches
/// than porttune reads is an error, not a silent cut.
fn read_include(fs: &TargetFs, dir: &str, pat: &str) -> Result<Vec<(String, String)>, String> {
    let full = if pat.starts_with('/') {
        pat.to_string()
    } else {
        format!("{}/{pat}", dir.trim_end_matches('/'))
    };
    if !full.contains(['*', '?']) {
        return Ok(vec![(full.clone(), read_one(fs, &full)?)]);
    }
    let parts: Vec<&str> = full.split('/').filter(|p| !p.is_empty()).collect();
    let mut paths: Vec<String> = vec![if full.starts_with('/') {
        String::new()
    } else {
        ".".into()
    }];
    for (i, part) in parts.iter().enumerate() {
        let last = i + 1 == parts.len();
        let mut next = Vec::new();
        for p in &paths {
            if !part.contains(['*', '?']) {
                next.push(format!("{p}/{part}"));
                continue;
            }
            let d = if p.is_empty() { "/" } else { p.as_str() };
            // a directory that is not there matches nothing, as with glob(3)
            let Ok(entries) = fs.list(d) else {
                continue;
            };
            next.extend(
                entries
                    .into_iter()
                    .filter(|(n, _)| {
                        glob_match(part, n) && (!n.starts_with('.') || part.starts_with('.'))
                    })
                    .map(|(n, k)| (format!("{p}/{n}"), k))
                    .filter(|(path, k)| {
                        last || *k == Kind::Dir || (*k == Kind::Symlink && fs.is_dir(path))
                    })
                    .map(|(path, _)| path),
            );
            if next.len() > MAX_FILES {
                return Err(format!(
                    "{} files match; porttune reads at most {MAX_FILES}",
                    next.len()
                ));
            }
        }
        paths = next;
    }
    paths.sort();
    paths
        .into_iter()
        .filter(|p| !fs.is_dir(p))
        .map(|p| read_one(fs, &p).map(|t| (p, t)))
        .collect()
}

/// Read the configuration at `conf` (a path as the process sees it) with the process's
/// rights (`fs`).
pub fn read_config(
    fs: &TargetFs,
    conf: &str,
    directives: Option<&str>,
    cpus: u64,
) -> Result<Nginx, ParseError> {
    let text = fs.read(conf, MAX_FILE_BYTES).map_err(|m| ParseError {
        file: Some(conf.into()),
        line: 0,
        msg: m,
    })?;
    let dir = conf
        .rsplit_once('/')
        .map(|d| d.0)
        .unwrap_or(".")
        .to_string();
    let mut read = |p: &str| read_include(fs, &dir, p);
    load(conf, &text, directives, &mut read, cpus)
}

#[cfg(target_os = "linux")]
pub use linux::from_pid;

#[cfg(target_os = "linux")]
mod linux {
    use std::path::Path;

    use super::*;
    use crate::snapshot::NginxWorker;
    use crate::snapshot::linux as l;

    fn cmdline(root: &Path, pid: u32) -> String {
        let raw = std::fs::read(root.join(pid.to_string()).join("cmdline")).unwrap_or_default();
        let s: Vec<&[u8]> = raw.split(|c| *c == 0).filter(|s| !s.is_empty()).collect();
        s.iter()
            .map(|w| String::from_utf8_lossy(w).into_owned())
            .collect::<Vec<_>>()
            .join(" ")
    }

    use crate::snapshot::target::ppid;

    fn children(root: &Path, parent: u32) -> Vec<u32> {
        let mut v: Vec<u32> = std::fs::read_dir(root)
            .map(|rd| {
                rd.flatten()
                    .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
                    .filter(|p| ppid(root, *p) == Some(parent))
                    .collect()
            })
            .unwrap_or_default();
        v.sort_unstable();
        v
    }

    /// The master of the nginx `pid` (itself, or the parent of a worker).
    pub fn master_of(root: &Path, pid: u32) -> u32 {
        let c = cmdline(root, pid);
        if c.starts_with("nginx: worker process") || c.starts_with("nginx: cache ") {
            if let Some(pp) = ppid(root, pid) {
                if cmdline(root, pp).starts_with("nginx: master process") {
                    return pp;
                }
            }
        }
        pid
    }

    /// Each worker as /proc shows it: its soft limit, its fds, its connections.
    pub fn workers(root: &Path, master: u32) -> Vec<NginxWorker> {
        let mut out = Vec::new();
        let mut pids: Vec<u32> = children(root, master)
            .into_iter()
            .filter(|p| cmdline(root, *p).starts_with("nginx: worker process"))
            .collect();
        if pids.is_empty() && !cmdline(root, master).starts_with("nginx: master process") {
            pids.push(master); // master_process off: one process serves
        }
        // The workers share the master's network namespace: its listeners are read once.
        let table = l::tcp_sockets(&l::Roots::at(root), &master.to_string(), &mut Vec::new());
        for p in pids {
            let who = p.to_string();
            let Ok((nofile, _)) = l::limits(root, &who) else {
                continue;
            };
            let fds = l::FdTable::read(root, &who);
            let held = fds
                .as_ref()
                .map(|f| f.tcp_sockets(&table))
                .unwrap_or_default();
            out.push(NginxWorker {
                pid: p,
                nofile_soft: nofile.soft,
                open_fds: fds.map_or(0, |f| f.count_below(nofile.soft.value())),
                listeners: held.listening,
                connections: held.connections,
            });
        }
        out
    }

    /// The executable of a process (at most 64 MiB): where nginx keeps its configure
    /// arguments.
    fn exe_bytes(proc_dir: &Path) -> Vec<u8> {
        use std::io::Read;
        let mut bin = Vec::new();
        let _ = std::fs::File::open(proc_dir.join("exe"))
            .map(|f| f.take(64 << 20).read_to_end(&mut bin));
        bin
    }

    /// Read a running nginx from any of its PIDs: the master's configuration (its `-c`, or
    /// the binary's built-in path), followed includes, and its workers. `conf` overrides the
    /// configuration file. Errors name the file and line.
    pub fn from_pid(
        proc_root: &Path,
        pid: u32,
        conf: Option<&Path>,
        cpus: u64,
        notes: &mut Vec<String>,
    ) -> Result<Nginx, ParseError> {
        let master = master_of(proc_root, pid);
        let mroot = proc_root.join(master.to_string());
        let args = master_args(&cmdline(proc_root, master));
        let target = TargetFs::of_pid(proc_root, master);
        let (path, how, fs) = match (conf, &args.conf) {
            (Some(c), _) => (
                c.display().to_string(),
                "--nginx-conf".to_string(),
                TargetFs::operator(),
            ),
            (None, Some(c)) => {
                // relative to the prefix; a relative prefix to the master's working directory
                let p = conf_from_args(c, args.prefix.as_deref(), || exe_bytes(&mroot));
                (
                    target.absolute(&p),
                    format!("the master's -c (PID {master})"),
                    target,
                )
            }
            (None, None) => (
                builtin_conf_path(&exe_bytes(&mroot)),
                format!("the built-in --conf-path of the master's binary (PID {master})"),
                target,
            ),
        };
        let mut n = match read_config(&fs, &path, args.directives.as_deref(), cpus) {
            Ok(n) => n,
            // the operator's own --nginx-conf must be right; a running master's file that
            // cannot be read or followed here still leaves its workers to read
            Err(e) if conf.is_some() => return Err(e),
            Err(e) => {
                let at = match (e.file.as_deref(), e.line) {
                    (Some(f), l) if l > 0 => format!("{f}:{l}: "),
                    (Some(f), _) => format!("{f}: "),
                    (None, _) => String::new(),
                };
                notes.push(format!(
                    "nginx: {at}{}; the master's configuration was not read: worker_connections unknown (512 shown, the default), listeners counted in the workers; give --nginx-conf",
                    e.msg
                ));
                Nginx {
                    config: path.clone(),
                    worker_processes: 1,
                    worker_connections: DEFAULT_WORKER_CONNECTIONS,
                    unread: Some(format!("{at}{}", e.msg)),
                    ..Default::default()
                }
            }
        };
        n.config_source = Some(how);
        n.master_pid = Some(master);
        n.workers = workers(proc_root, master);
        if n.workers.is_empty() {
            notes.push(format!(
                "nginx: no worker processes of master {master} found; the model uses worker_processes {} from the configuration",
                n.worker_processes
            ));
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses() {
        let conf = "user www-data;\nworker_processes auto; # one per core\nworker_rlimit_nofile 65535;\nevents {\n    worker_connections 768;\n}\nhttp { server { location / { proxy_pass http://app; } } }\n";
        let n = parse(conf, "nginx.conf", 4).unwrap();
        assert_eq!(n.worker_processes, 4);
        assert_eq!(n.worker_connections, 768);
        assert_eq!(n.worker_rlimit_nofile, Some(65535));
        assert!(n.proxies);
        assert_eq!(n.listeners, Some(1), "a server without listen: *:80");
        let one = parse(
            "worker_processes 2;\nevents { worker_connections 1000; }\n",
            "x",
            1,
        )
        .unwrap();
        assert_eq!((one.worker_processes, one.worker_connections), (2, 1000));
        let d = parse("events {}\n", "x", 2).unwrap();
        assert_eq!(
            (d.worker_processes, d.worker_connections, d.proxies),
            (1, 512, false)
        );
        let e = parse("events {\n worker_connections lots;\n}", "x", 2).unwrap_err();
        assert_eq!(e.line, 2);
    }

    #[test]
    fn listeners_and_quotes() {
        let conf = "events{}\nhttp {\n server { listen 80; listen [::]:80; }\n server { listen *:80; server_name \"a;b\"; }\n server { listen 127.0.0.1:8080 reuseport; }\n upstream u { server 127.0.0.1:9000; }\n}\nstream { server { listen 53 udp; proxy_pass u; } }\n";
        let n = parse(conf, "x", 1).unwrap();
        // *:80, [::]:80, 127.0.0.1:8080, and the stream's udp 53
        assert_eq!(n.listeners, Some(4));
        assert!(n.proxies);
        let e = parse("events { worker_connections 10 }\n", "x", 1).unwrap_err();
        assert!(e.msg.contains("no \";\""), "{e:?}");
        let e = parse("http {\n", "x", 1).unwrap_err();
        assert!(e.msg.contains("not closed"), "{e:?}");
        let e = parse("a '\n", "x", 1).unwrap_err();
        assert_eq!(e.line, 1);
    }

    #[test]
    fn includes_are_followed() {
        let files = [
            ("/etc/nginx/events.conf", "worker_connections 2048;\n"),
            ("/etc/nginx/conf.d/a.conf", "server { listen 81; }\n"),
            ("/etc/nginx/conf.d/b.conf", "server { listen 82; }\n"),
        ];
        let mut read = |p: &str| -> Result<Vec<(String, String)>, String> {
            let full = if p.starts_with('/') {
                p.to_string()
            } else {
                format!("/etc/nginx/{p}")
            };
            let (d, last) = full.rsplit_once('/').unwrap();
            let v: Vec<(String, String)> = files
                .iter()
                .filter(|(f, _)| {
                    let (fd, fl) = f.rsplit_once('/').unwrap();
                    fd == d && glob_match(last, fl)
                })
                .map(|(f, t)| (f.to_string(), t.to_string()))
                .collect();
            if v.is_empty() && !last.contains('*') {
                return Err("no such file".into());
            }
            Ok(v)
        };
        let main = "worker_processes 2;\nevents { include events.conf; }\nhttp {\n  include conf.d/*.conf;\n}\n";
        let n = load(
            "/etc/nginx/nginx.conf",
            main,
            Some("worker_processes 3;"),
            &mut read,
            1,
        )
        .unwrap();
        assert_eq!(n.worker_connections, 2048);
        assert_eq!(n.worker_processes, 3, "-g comes after the file");
        assert_eq!(n.listeners, Some(2));
        assert_eq!(n.includes.len(), 3);
        let bad = "http {\n include missing.conf;\n}\n";
        let e = load("/etc/nginx/nginx.conf", bad, None, &mut read, 1).unwrap_err();
        assert_eq!(
            (e.file.as_deref(), e.line),
            (Some("/etc/nginx/nginx.conf"), 2)
        );
    }

    #[test]
    fn include_globs_past_the_bound_are_an_error_not_a_cut() {
        let d = tempfile::tempdir().unwrap();
        let conf_d = d.path().join("conf.d");
        std::fs::create_dir(&conf_d).unwrap();
        for i in 0..=MAX_FILES {
            std::fs::write(conf_d.join(format!("{i:04}.conf")), "").unwrap();
        }
        let main = d.path().join("nginx.conf");
        std::fs::write(&main, "http {\n include conf.d/*.conf;\n}\n").unwrap();
        let fs = TargetFs::operator();
        let e = read_config(&fs, &main.display().to_string(), None, 1).unwrap_err();
        assert_eq!(e.line, 2, "{e:?}");
        assert!(
            e.msg
                .contains("513 files match; porttune reads at most 512"),
            "{e:?}"
        );
        std::fs::remove_file(conf_d.join("0000.conf")).unwrap();
        let n = read_config(&fs, &main.display().to_string(), None, 1).unwrap();
        assert_eq!(n.includes.len(), MAX_FILES);
    }

    /// `include` globs in directory parts too (glob(3), as nginx reads them), sorted, dot
    /// files left out, a pattern matching nothing no error.
    #[test]
    fn include_globs_in_directories() {
        let d = tempfile::tempdir().unwrap();
        let root = d.path();
        for (f, t) in [
            ("sites-a/x.conf", "server { listen 81; }\n"),
            ("sites-b/y.conf", "server { listen 82; }\n"),
            ("sites-b/.hidden.conf", "server { listen 83; }\n"),
            ("sites-b/z.txt", "server { listen 84; }\n"),
            ("events/e.conf", "worker_connections 300;\n"),
        ] {
            let p = root.join(f);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, t).unwrap();
        }
        std::os::unix::fs::symlink(root.join("sites-a"), root.join("sites-link")).unwrap();
        let main = root.join("nginx.conf");
        std::fs::write(
            &main,
            "events { include ev*/*.conf; }\nhttp {\n include sites-?/*.conf;\n include nothing-*/*.conf;\n}\n",
        )
        .unwrap();
        let fs = TargetFs::operator();
        let n = read_config(&fs, &main.display().to_string(), None, 1).unwrap();
        assert_eq!(n.worker_connections, 300);
        assert_eq!(n.listeners, Some(2), "{:?}", n.includes);
        assert!(
            n.includes[1].ends_with("sites-a/x.conf") && n.includes[2].ends_with("sites-b/y.conf")
        );
        // a symlinked directory is followed
        std::fs::write(&main, "events {}\nhttp { include sites-l*/*.conf; }\n").unwrap();
        let n = read_config(&fs, &main.display().to_string(), None, 1).unwrap();
        assert_eq!(n.listeners, Some(1));
    }

    #[test]
    fn errors_quote_no_content() {
        let e = parse("events {\n worker_connections s3cret;\n}", "x", 1).unwrap_err();
        assert!(
            !e.msg.contains("s3cret") && e.msg.contains("worker_connections"),
            "{e:?}"
        );
        let e = parse("s3cret {\n", "x", 1).unwrap_err();
        assert!(
            !e.msg.contains("s3cret") && e.msg.contains("not closed"),
            "{e:?}"
        );
        let e = parse("s3cret x }\n", "x", 1).unwrap_err();
        assert!(!e.msg.contains("s3cret"), "{e:?}");
        let e = parse("http {\n", "x", 1).unwrap_err();
        assert!(e.msg.contains("block \"http\""), "{e:?}");
    }

    #[test]
    fn relative_conf_is_resolved_against_the_prefix() {
        let bin = b"xx --prefix=/usr/share/nginx --conf-path=/etc/nginx/nginx.conf\0".to_vec();
        let none = || -> Vec<u8> { panic!("the binary is read only without -p") };
        assert_eq!(
            conf_from_args("nginx.conf", Some("."), none),
            "./nginx.conf"
        );
        assert_eq!(
            conf_from_args("conf/n.conf", Some("/srv/ng/"), none),
            "/srv/ng/conf/n.conf"
        );
        assert_eq!(conf_from_args("/etc/x.conf", None, none), "/etc/x.conf");
        // no -p: nginx's built-in prefix, not the working directory
        assert_eq!(
            conf_from_args("nginx.conf", None, || bin.clone()),
            "/usr/share/nginx/nginx.conf"
        );
        assert_eq!(
            conf_from_args("n.conf", None, Vec::new),
            "/usr/local/nginx/n.conf"
        );
        let fs = TargetFs::operator();
        assert!(fs.absolute("./nginx.conf").ends_with("/./nginx.conf"));
    }

    #[test]
    fn globs_and_master_args() {
        assert!(glob_match("*.conf", "a.conf"));
        assert!(!glob_match("*.conf", "a.conf.bak"));
        assert!(glob_match("a?c*", "abcdef"));
        let a = master_args("nginx: master process /usr/sbin/nginx -c /tmp/n.conf -g daemon off;");
        assert_eq!(a.conf.as_deref(), Some("/tmp/n.conf"));
        assert_eq!(a.directives.as_deref(), Some("daemon off;"));
        let b = master_args("nginx: master process nginx -g worker_processes 2; -p /srv/ng");
        assert_eq!(b.prefix.as_deref(), Some("/srv/ng"));
        assert_eq!(b.directives.as_deref(), Some("worker_processes 2;"));
        assert_eq!(
            builtin_conf_path(
                b"xx --prefix=/usr/share/nginx --conf-path=/etc/nginx/nginx.conf --x\0"
            ),
            "/etc/nginx/nginx.conf"
        );
        assert_eq!(
            builtin_conf_path(b"--prefix=/opt/ng \0"),
            "/opt/ng/conf/nginx.conf"
        );
    }
}
