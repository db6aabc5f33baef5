//! PostgreSQL: the settings that bound client connections (`max_connections`,
//! `superuser_reserved_connections`, `reserved_connections`), as the postmaster was started:
//! its command line (`-c name=value`, `--name=value`, `-N n`), then `postgresql.conf` (the
//! data directory's, or `config_file=`) with `include`, `include_if_exists` and
//! `include_dir` followed, then `postgresql.auto.conf` (ALTER SYSTEM) in the data directory.
//! The last value read wins; the command line beats every file (PostgreSQL docs, 20.1
//! "Setting Parameters"). Pure parsers; the Linux part reads a running postmaster.

use crate::snapshot::target::{Kind, TargetFs};
use crate::snapshot::{Postgres, Sourced};
use std::collections::BTreeMap;

/// Files read per configuration (PostgreSQL itself stops at 10 levels of nesting).
const MAX_FILES: usize = 256;
const MAX_DEPTH: usize = 10;
const MAX_BYTES: u64 = 4 << 20;

/// PostgreSQL's defaults (postgresql.conf.sample).
pub const DEFAULT_MAX_CONNECTIONS: u64 = 100;
pub const DEFAULT_SUPERUSER_RESERVED: u64 = 3;

/// The settings porttune reads.
const WANTED: &[&str] = &[
    "max_connections",
    "superuser_reserved_connections",
    "reserved_connections",
    "data_directory",
    "config_file",
];

/// One `name = value` line of a configuration file.
#[derive(Debug, PartialEq)]
pub struct Entry {
    pub line: usize,
    pub name: String,
    pub value: String,
}

/// Parse postgresql.conf syntax: `name [=] value`, `#` comments, values single-quoted
/// (`''` or `\'` for a quote) or bare words. Names are case-insensitive.
pub fn parse_conf(text: &str) -> Result<Vec<Entry>, (usize, String)> {
    let mut out = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let s = raw.trim_start();
        if s.is_empty() || s.starts_with('#') {
            continue;
        }
        let end = s
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '.'))
            .unwrap_or(s.len());
        if end == 0 {
            return Err((line, "syntax error: a line starts with a name".into()));
        }
        let name = s[..end].to_ascii_lowercase();
        let mut rest = s[end..].trim_start();
        if let Some(r) = rest.strip_prefix('=') {
            rest = r.trim_start();
        }
        let value = if let Some(q) = rest.strip_prefix('\'') {
            let mut v = String::new();
            let mut it = q.chars();
            let mut closed = false;
            while let Some(c) = it.next() {
                match c {
                    '\'' => {
                        if it.as_str().starts_with('\'') {
                            it.next();
                            v.push('\'');
                        } else {
                            closed = true;
                            break;
                        }
                    }
                    '\\' => {
                        if let Some(n) = it.next() {
                            v.push(n);
                        }
                    }
                    c => v.push(c),
                }
            }
            if !closed {
                return Err((line, format!("unterminated quoted string for {name}")));
            }
            let tail = it.as_str().trim_start();
            if !(tail.is_empty() || tail.starts_with('#')) {
                return Err((line, format!("syntax error after the value of {name}")));
            }
            v
        } else {
            let v: String = rest
                .chars()
                .take_while(|c| !c.is_whitespace() && *c != '#')
                .collect();
            let tail = rest[v.len()..].trim_start();
            if !(tail.is_empty() || tail.starts_with('#')) {
                return Err((line, format!("syntax error after the value of {name}")));
            }
            if v.is_empty() {
                return Err((line, format!("{name}: no value")));
            }
            v
        };
        out.push(Entry { line, name, value });
    }
    Ok(out)
}

/// What the postmaster's command line says.
#[derive(Debug, Default, PartialEq)]
pub struct Args {
    /// `-D DIR`.
    pub data_dir: Option<String>,
    /// Settings given as `-c name=value`, `--name=value` or `-N n`, in order.
    pub settings: Vec<(String, String)>,
}

/// Read `-D`, `-c name=value`, `--name=value` and `-N` from a postmaster's argv.
pub fn cmdline_args(argv: &[String]) -> Args {
    let mut a = Args::default();
    let norm = |s: &str| s.replace('-', "_").to_ascii_lowercase();
    let setting = |a: &mut Args, kv: &str| {
        if let Some((k, v)) = kv.split_once('=') {
            a.settings.push((norm(k), v.to_string()));
        }
    };
    let mut i = 1;
    while i < argv.len() {
        let w = argv[i].as_str();
        let next = argv.get(i + 1).cloned();
        match w {
            "-D" | "-c" | "-N" => {
                if let Some(v) = next {
                    match w {
                        "-D" => a.data_dir = Some(v),
                        "-c" => setting(&mut a, &v),
                        _ => a.settings.push(("max_connections".into(), v)),
                    }
                }
                i += 2;
                continue;
            }
            _ => {}
        }
        if let Some(v) = w.strip_prefix("-D").filter(|v| !v.is_empty()) {
            a.data_dir = Some(v.to_string());
        } else if let Some(v) = w.strip_prefix("-c").filter(|v| !v.is_empty()) {
            setting(&mut a, v);
        } else if let Some(v) = w.strip_prefix("-N").filter(|v| !v.is_empty()) {
            a.settings.push(("max_connections".into(), v.to_string()));
        } else if let Some(v) = w.strip_prefix("--") {
            setting(&mut a, v);
        }
        i += 1;
    }
    a
}

/// Settings gathered from the files, last one winning, each with where it was set.
#[derive(Debug, Default)]
pub struct Loaded {
    pub values: BTreeMap<String, (String, String)>,
    pub files: Vec<String>,
    pub notes: Vec<String>,
}

/// Reads a file or lists a directory as the server sees its file system.
pub trait Files {
    fn read(&self, path: &str) -> Result<String, String>;
    fn list(&self, dir: &str) -> Result<Vec<String>, String>;
}

/// One configuration file of a chain of includes (PostgreSQL's and MySQL's readers): its
/// text, recorded in `files`; None when past the depth or file bound or unreadable, with a
/// note when that matters (`must`: a file the server needs; bounds always).
pub fn read_included(
    fs: &dyn Files,
    path: &str,
    must: bool,
    depth: usize,
    files: &mut Vec<String>,
    notes: &mut Vec<String>,
) -> Option<String> {
    if depth > MAX_DEPTH || files.len() >= MAX_FILES {
        notes.push(format!(
            "{path}: not read (more than {MAX_DEPTH} levels of includes or {MAX_FILES} files)"
        ));
        return None;
    }
    match fs.read(path) {
        Ok(t) => {
            files.push(path.to_string());
            Some(t)
        }
        Err(e) => {
            if must {
                notes.push(format!("{path}: {e}; not read"));
            }
            None
        }
    }
}

/// A running server's files, read with its credentials (crate::snapshot::target).
impl Files for TargetFs {
    fn read(&self, path: &str) -> Result<String, String> {
        TargetFs::read(self, path, MAX_BYTES)
    }
    fn list(&self, dir: &str) -> Result<Vec<String>, String> {
        Ok(TargetFs::list(self, dir)?
            .into_iter()
            .filter(|(_, k)| matches!(k, Kind::File | Kind::Symlink))
            .map(|(n, _)| n)
            .collect())
    }
}

fn join(dir: &str, p: &str) -> String {
    if p.starts_with('/') {
        p.to_string()
    } else {
        format!("{}/{p}", dir.trim_end_matches('/'))
    }
}

fn dir_of(p: &str) -> &str {
    match p.rsplit_once('/') {
        Some(("", _)) => "/",
        Some((d, _)) => d,
        None => ".",
    }
}

/// Load `path` and what it includes into `out`. `must`: a missing file is an error (the
/// server would not start) rather than skipped (`include_if_exists`, the auto file).
pub fn load(fs: &dyn Files, path: &str, must: bool, depth: usize, out: &mut Loaded) {
    let Some(text) = read_included(fs, path, must, depth, &mut out.files, &mut out.notes) else {
        return;
    };
    let entries = match parse_conf(&text) {
        Ok(e) => e,
        Err((line, msg)) => {
            out.notes
                .push(format!("{path}:{line}: {msg}; the file was not used"));
            return;
        }
    };
    for e in entries {
        match e.name.as_str() {
            "include" => load(fs, &join(dir_of(path), &e.value), true, depth + 1, out),
            "include_if_exists" => load(fs, &join(dir_of(path), &e.value), false, depth + 1, out),
            "include_dir" => {
                let d = join(dir_of(path), &e.value);
                match fs.list(&d) {
                    Ok(mut names) => {
                        names.retain(|n| n.ends_with(".conf") && !n.starts_with('.'));
                        names.sort();
                        for n in names {
                            load(fs, &join(&d, &n), true, depth + 1, out);
                        }
                    }
                    Err(err) => out.notes.push(format!("{d}: not listed ({err})")),
                }
            }
            n if WANTED.contains(&n) => {
                out.values
                    .insert(e.name.clone(), (e.value, format!("{path}:{}", e.line)));
            }
            _ => {}
        }
    }
}

/// A non-negative integer setting (PostgreSQL accepts decimal, `0x` hex and leading `+`).
fn int(v: &str) -> Option<u64> {
    let v = v.trim().trim_start_matches('+');
    match v.strip_prefix("0x").or_else(|| v.strip_prefix("0X")) {
        Some(h) => u64::from_str_radix(h, 16).ok(),
        None => v.parse().ok(),
    }
}

/// The settings of a postmaster started with `argv` (and `pgdata` from its environment),
/// its files read through `fs`.
pub fn resolve(fs: &dyn Files, argv: &[String], pgdata: Option<&str>, cwd: &str) -> Postgres {
    let args = cmdline_args(argv);
    let abs = |p: &str| join(cwd, p);
    let cmd = |name: &str| {
        args.settings
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    let mut data_dir = args
        .data_dir
        .clone()
        .or_else(|| pgdata.map(str::to_string))
        .map(|d| abs(&d));
    let config_file = cmd("config_file")
        .map(|c| abs(&c))
        .or_else(|| data_dir.as_ref().map(|d| join(d, "postgresql.conf")));
    let mut loaded = Loaded::default();
    let mut pg = Postgres::default();
    match &config_file {
        Some(c) => load(fs, c, true, 0, &mut loaded),
        None => pg.notes.push(
            "no data directory (-D, PGDATA) nor config_file on the command line: postgresql.conf not read".into(),
        ),
    }
    if let Some((d, _)) = loaded.values.get("data_directory") {
        if cmd("data_directory").is_none() {
            data_dir = Some(d.clone());
        }
    }
    if let Some(d) = cmd("data_directory") {
        data_dir = Some(abs(&d));
    }
    if let Some(d) = &data_dir {
        load(fs, &join(d, "postgresql.auto.conf"), false, 0, &mut loaded);
    }
    let get = |pg: &mut Postgres, name: &str| -> Option<Sourced> {
        let (v, src) = match cmd(name) {
            Some(v) => (v, "the postmaster's command line".to_string()),
            None => loaded.values.get(name).cloned()?,
        };
        match int(&v) {
            Some(n) => Some(Sourced {
                value: n,
                source: src,
            }),
            None => {
                pg.notes
                    .push(format!("{name} ({src}) is not a number: ignored"));
                None
            }
        }
    };
    pg.max_connections = get(&mut pg, "max_connections");
    pg.superuser_reserved_connections = get(&mut pg, "superuser_reserved_connections");
    pg.reserved_connections = get(&mut pg, "reserved_connections");
    pg.data_directory = data_dir;
    pg.config = loaded.files.join(", ");
    pg.notes.extend(loaded.notes);
    pg
}

/// Whether a postgres child's process title is a client backend: "postgres: USER DB
/// HOST(PORT) STATE" or "[local]" (optionally after "CLUSTER: "), not a walsender nor a
/// background process.
pub fn is_client_backend(title: &str) -> bool {
    let Some(rest) = title.strip_prefix("postgres: ") else {
        return false;
    };
    if rest.contains("walsender") {
        return false;
    }
    rest.split_whitespace().any(|w| {
        w == "[local]"
            || (w.ends_with(')')
                && w.rfind('(').is_some_and(|i| {
                    i > 0 && w[i + 1..w.len() - 1].chars().all(|c| c.is_ascii_digit())
                }))
    })
}

#[cfg(target_os = "linux")]
pub use linux::*;

#[cfg(target_os = "linux")]
mod linux {
    use super::*;
    use std::path::Path;

    fn argv(root: &Path, pid: u32) -> Vec<String> {
        crate::fsio::read_bounded_io(&root.join(pid.to_string()).join("cmdline"), 1 << 20)
            .unwrap_or_default()
            .split(|c| *c == 0)
            .filter(|s| !s.is_empty())
            .map(|w| String::from_utf8_lossy(w).into_owned())
            .collect()
    }

    use crate::snapshot::target::ppid;

    fn environ(root: &Path, pid: u32, key: &str) -> Option<String> {
        let raw =
            crate::fsio::read_bounded_io(&root.join(pid.to_string()).join("environ"), 1 << 20)
                .ok()?;
        raw.split(|b| *b == 0).find_map(|kv| {
            let s = String::from_utf8_lossy(kv);
            s.strip_prefix(key)
                .and_then(|r| r.strip_prefix('='))
                .map(str::to_string)
        })
    }

    /// The postmaster of `pid`: itself, or the parent of a backend ("postgres: ..." title).
    pub fn postmaster_of(root: &Path, pid: u32) -> u32 {
        let a = argv(root, pid);
        if a.first().is_some_and(|t| t.starts_with("postgres: ")) {
            if let Some(pp) = ppid(root, pid) {
                return pp;
            }
        }
        pid
    }

    /// Client backends: children of the postmaster whose title names a client.
    pub fn client_backends(root: &Path, master: u32) -> u64 {
        let Ok(rd) = std::fs::read_dir(root) else {
            return 0;
        };
        rd.flatten()
            .take(1 << 20)
            .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
            .filter(|p| ppid(root, *p) == Some(master))
            .filter(|p| argv(root, *p).first().is_some_and(|t| is_client_backend(t)))
            .count() as u64
    }

    /// Read a running postmaster (any of its PIDs), its files with its credentials.
    pub fn from_pid(root: &Path, pid: u32) -> Postgres {
        let master = postmaster_of(root, pid);
        let fs = TargetFs::of_pid(root, master);
        let pgdata = environ(root, master, "PGDATA");
        let mut pg = resolve(&fs, &argv(root, master), pgdata.as_deref(), fs.cwd());
        pg.postmaster_pid = Some(master);
        pg.client_backends = Some(client_backends(root, master));
        pg
    }
}

/// An in-memory file tree and an argv splitter for the config readers' tests (PostgreSQL's
/// and MySQL's).
#[cfg(test)]
pub(super) mod mem {
    use super::Files;
    use std::collections::HashMap;

    pub struct Mem(pub HashMap<&'static str, &'static str>);
    impl Files for Mem {
        fn read(&self, p: &str) -> Result<String, String> {
            self.0
                .get(p)
                .map(|s| s.to_string())
                .ok_or_else(|| "No such file or directory".into())
        }
        fn list(&self, d: &str) -> Result<Vec<String>, String> {
            let pre = format!("{}/", d.trim_end_matches('/'));
            Ok(self
                .0
                .keys()
                .filter_map(|k| k.strip_prefix(pre.as_str()))
                .filter(|k| !k.contains('/'))
                .map(str::to_string)
                .collect())
        }
    }

    pub fn argv(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_string).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::mem::{Mem, argv};
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn parses_conf_syntax() {
        let e = parse_conf(
            "# c\nmax_connections = 200   # (change requires restart)\nMAX_CONNECTIONS 300\nlisten_addresses = 'a, b' # x\nx='it''s'\n",
        )
        .unwrap();
        assert_eq!(e[0].name, "max_connections");
        assert_eq!(e[0].value, "200");
        assert_eq!(
            (e[1].name.as_str(), e[1].value.as_str()),
            ("max_connections", "300")
        );
        assert_eq!(e[2].value, "a, b");
        assert_eq!(e[3].value, "it's");
        assert_eq!(parse_conf("x = 'open\n").unwrap_err().0, 1);
        assert!(parse_conf("max_connections = 1 2\n").is_err());
        assert!(parse_conf("= 3\n").is_err());
    }

    #[test]
    fn command_line() {
        let a = cmdline_args(&argv(
            "postgres -D /d -c max_connections=20 --superuser-reserved-connections=2 -N 30 -cport=5",
        ));
        assert_eq!(a.data_dir.as_deref(), Some("/d"));
        assert_eq!(
            a.settings,
            vec![
                ("max_connections".to_string(), "20".to_string()),
                ("superuser_reserved_connections".into(), "2".into()),
                ("max_connections".into(), "30".into()),
                ("port".into(), "5".into()),
            ]
        );
    }

    #[test]
    fn files_includes_auto_and_command_line() {
        let fs = Mem(HashMap::from([
            (
                "/data/postgresql.conf",
                "max_connections = 100\ninclude 'inc.conf'\ninclude_dir 'conf.d'\ninclude_if_exists '/nope.conf'\n",
            ),
            ("/data/inc.conf", "max_connections = 150\n"),
            (
                "/data/conf.d/10-a.conf",
                "max_connections = 160\nsuperuser_reserved_connections = 5\n",
            ),
            ("/data/conf.d/20-b.conf", "max_connections = 170\n"),
            ("/data/conf.d/.hidden.conf", "max_connections = 1\n"),
            ("/data/conf.d/notes.txt", "max_connections = 2\n"),
            (
                "/data/postgresql.auto.conf",
                "# Do not edit\nmax_connections = '180'\n",
            ),
        ]));
        let pg = resolve(&fs, &argv("postgres -D /data"), None, "/");
        let m = pg.max_connections.unwrap();
        assert_eq!(m.value, 180);
        assert_eq!(m.source, "/data/postgresql.auto.conf:2");
        assert_eq!(pg.superuser_reserved_connections.unwrap().value, 5);
        assert!(pg.notes.is_empty(), "{:?}", pg.notes);
        assert_eq!(pg.config.matches(", ").count(), 4, "{}", pg.config);
        // the command line beats every file
        let pg = resolve(
            &fs,
            &argv("postgres -D /data -c max_connections=20"),
            None,
            "/",
        );
        assert_eq!(pg.max_connections.unwrap().value, 20);
        // PGDATA, relative to the working directory
        let pg = resolve(&fs, &argv("postgres"), Some("data"), "/");
        assert_eq!(pg.max_connections.unwrap().value, 180);
    }

    #[test]
    fn debian_layout() {
        let fs = Mem(HashMap::from([
            (
                "/etc/postgresql/15/main/postgresql.conf",
                "data_directory = '/var/lib/postgresql/15/main'\nmax_connections = 100\ninclude_dir 'conf.d'\n",
            ),
            (
                "/etc/postgresql/15/main/conf.d/x.conf",
                "max_connections = 250\n",
            ),
            (
                "/var/lib/postgresql/15/main/postgresql.auto.conf",
                "reserved_connections = 4\n",
            ),
        ]));
        let pg = resolve(
            &fs,
            &argv(
                "/usr/lib/postgresql/15/bin/postgres -D /var/lib/postgresql/15/main -c config_file=/etc/postgresql/15/main/postgresql.conf",
            ),
            None,
            "/",
        );
        assert_eq!(pg.max_connections.unwrap().value, 250);
        assert_eq!(pg.reserved_connections.unwrap().value, 4);
        assert_eq!(pg.superuser_reserved_connections, None);
        // a broken included file is named, the rest kept
        let fs = Mem(HashMap::from([
            (
                "/d/postgresql.conf",
                "max_connections = 40\ninclude 'bad.conf'\ninclude 'gone.conf'\n",
            ),
            ("/d/bad.conf", "max_connections = 'x\n"),
        ]));
        let pg = resolve(&fs, &argv("postgres -D /d"), None, "/");
        assert_eq!(pg.max_connections.unwrap().value, 40);
        assert!(
            pg.notes.iter().any(|n| n.starts_with("/d/bad.conf:1")),
            "{:?}",
            pg.notes
        );
        assert!(
            pg.notes.iter().any(|n| n.starts_with("/d/gone.conf")),
            "{:?}",
            pg.notes
        );
    }

    #[test]
    fn backend_titles() {
        assert!(is_client_backend(
            "postgres: app postgres 127.0.0.1(41234) idle"
        ));
        assert!(is_client_backend("postgres: 15/main: app db [local] idle"));
        assert!(!is_client_backend("postgres: checkpointer "));
        assert!(!is_client_backend(
            "postgres: logical replication launcher "
        ));
        assert!(!is_client_backend(
            "postgres: walsender rep 10.0.0.2(5000) streaming 0/3000148"
        ));
        assert!(!is_client_backend(
            "/usr/lib/postgresql/15/bin/postgres -D /d"
        ));
    }
}
