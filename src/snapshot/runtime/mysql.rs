//! MySQL/MariaDB: the settings that bound client connections, as the server was started:
//! its command line (`--max-connections=N`, `--max_connections=N`, `--loose-…`,
//! `--defaults-file`, `--defaults-extra-file`, `--no-defaults`), then the option files it
//! reads (`/etc/my.cnf`, `/etc/mysql/my.cnf` with `!include` and `!includedir`, or the
//! `--defaults-file`), sections `[mysqld]`, `[server]`, `[mariadb]`, `[mariadbd]`,
//! `[client-server]` (MariaDB docs, "Configuring MariaDB with Option Files"). The last value
//! read wins and the command line beats the files. Pure parsers; the Linux part reads a
//! running server.

use std::collections::BTreeMap;

use super::postgres::{Files, read_included};
use crate::snapshot::{Mysql, Sourced};

/// The default max_connections (MariaDB and MySQL).
pub const DEFAULT_MAX_CONNECTIONS: u64 = 151;

/// The option files a server reads without `--defaults-file` / `--no-defaults` (Linux).
pub const DEFAULT_FILES: &[&str] = &["/etc/my.cnf", "/etc/mysql/my.cnf"];

/// The sections the server reads; a MariaDB server also reads `[mysqld-X.Y]`,
/// `[mariadb-X.Y]` and `[mariadbd-X.Y]` of its own major.minor version (Debian's
/// 50-server.cnf has an empty `[mariadb-10.11]` for options only that version understands),
/// and with `--defaults-group-suffix=S` each of them suffixed (MariaDB KB, "Configuring
/// MariaDB with Option Files", Option Groups).
const SERVER_GROUPS: &[&str] = &[
    "mysqld",
    "server",
    "mariadb",
    "mariadbd",
    "client-server",
    "galera",
];
const VERSIONED_GROUPS: &[&str] = &["mysqld", "mariadb", "mariadbd"];

const WANTED: &[&str] = &[
    "max_connections",
    "max_user_connections",
    "extra_port",
    "extra_max_connections",
    "open_files_limit",
    "thread_handling",
];

/// The groups a server of `version` ("10.11") started with `suffix` reads.
pub fn server_groups(version: Option<&str>, suffix: Option<&str>) -> Vec<String> {
    let mut g: Vec<String> = SERVER_GROUPS.iter().map(|s| s.to_string()).collect();
    if let Some(v) = version {
        g.extend(VERSIONED_GROUPS.iter().map(|b| format!("{b}-{v}")));
    }
    if let Some(sfx) = suffix.filter(|s| !s.is_empty()) {
        let suffixed: Vec<String> = g.iter().map(|b| format!("{b}{sfx}")).collect();
        g.extend(suffixed);
    }
    g
}

/// Whether `group` is a versioned server group (`[mariadb-10.6]`) of any version.
fn versioned(group: &str) -> bool {
    VERSIONED_GROUPS.iter().any(|b| {
        group
            .strip_prefix(b)
            .and_then(|r| r.strip_prefix('-'))
            .is_some_and(|v| {
                v.split('.').count() == 2
                    && v.split('.')
                        .all(|n| !n.is_empty() && n.bytes().all(|c| c.is_ascii_digit()))
            })
    })
}

/// A MariaDB server's major.minor version as its binary states it: "10.11.19-MariaDB" between
/// NULs (the server's version string; other "-MariaDB" texts in the binary are not
/// NUL-terminated right after it). None when the binary says nothing so plain.
pub fn mariadb_version(bin: &[u8]) -> Option<String> {
    const TAG: &[u8] = b"-MariaDB\0";
    let mut at = 0;
    while let Some(i) = bin[at..].windows(TAG.len()).position(|w| w == TAG) {
        let end = at + i;
        let start = bin[..end]
            .iter()
            .rposition(|c| !(c.is_ascii_digit() || *c == b'.'))
            .map_or(0, |p| p + 1);
        let v = std::str::from_utf8(&bin[start..end]).unwrap_or("");
        let parts: Vec<&str> = v.split('.').collect();
        if start > 0
            && bin[start - 1] == 0
            && parts.len() == 3
            && parts.iter().all(|p| !p.is_empty())
        {
            return Some(format!("{}.{}", parts[0], parts[1]));
        }
        at = end + TAG.len();
    }
    None
}

/// `max-connections` → `max_connections`, without `loose-`.
fn norm(name: &str) -> String {
    let n = name.trim().to_ascii_lowercase().replace('-', "_");
    n.strip_prefix("loose_").map(str::to_string).unwrap_or(n)
}

/// A number with an optional K/M/G suffix, as option files allow.
pub fn num(v: &str) -> Option<u64> {
    let v = v.trim();
    let (digits, mult) = match v.chars().last()? {
        'k' | 'K' => (&v[..v.len() - 1], 1u64 << 10),
        'm' | 'M' => (&v[..v.len() - 1], 1 << 20),
        'g' | 'G' => (&v[..v.len() - 1], 1 << 30),
        _ => (v, 1),
    };
    digits.parse::<u64>().ok()?.checked_mul(mult)
}

/// What the command line says.
#[derive(Debug, Default, PartialEq)]
pub struct Args {
    pub defaults_file: Option<String>,
    pub extra_file: Option<String>,
    pub group_suffix: Option<String>,
    pub no_defaults: bool,
    pub settings: Vec<(String, String)>,
}

pub fn cmdline_args(argv: &[String]) -> Args {
    let mut a = Args::default();
    for w in argv.iter().skip(1) {
        let Some(opt) = w.strip_prefix("--") else {
            continue;
        };
        let (k, v) = opt.split_once('=').unwrap_or((opt, ""));
        match norm(k).as_str() {
            "defaults_file" => a.defaults_file = Some(v.to_string()),
            "defaults_extra_file" => a.extra_file = Some(v.to_string()),
            "defaults_group_suffix" => a.group_suffix = Some(v.to_string()),
            "no_defaults" => a.no_defaults = true,
            n if WANTED.contains(&n) => a.settings.push((n.to_string(), v.to_string())),
            _ => {}
        }
    }
    a
}

/// Settings read from option files, last one winning.
#[derive(Debug, Default)]
pub struct Loaded {
    /// The groups read (empty: [`SERVER_GROUPS`]).
    pub groups: Vec<String>,
    pub values: BTreeMap<String, (String, String)>,
    pub files: Vec<String>,
    pub notes: Vec<String>,
}

fn dir_of(p: &str) -> &str {
    match p.rsplit_once('/') {
        Some(("", _)) => "/",
        Some((d, _)) => d,
        None => ".",
    }
}

fn join(dir: &str, p: &str) -> String {
    if p.starts_with('/') {
        p.to_string()
    } else {
        format!("{}/{p}", dir.trim_end_matches('/'))
    }
}

fn unquote(v: &str) -> String {
    let v = v.trim();
    for q in ['"', '\''] {
        if v.len() >= 2 && v.starts_with(q) && v.ends_with(q) {
            return v[1..v.len() - 1].to_string();
        }
    }
    // an unquoted value ends at a comment
    v.split(" #").next().unwrap_or(v).trim().to_string()
}

/// Read one option file (and what it includes) into `out`. `must`: a missing file is
/// noted (a `--defaults-file`, an `!include`); the default files may be absent.
pub fn load(fs: &dyn Files, path: &str, must: bool, depth: usize, out: &mut Loaded) {
    let Some(text) = read_included(fs, path, must, depth, &mut out.files, &mut out.notes) else {
        return;
    };
    let mut in_server = false;
    let mut other_version: Option<String> = None;
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(inc) = line.strip_prefix("!includedir") {
            let d = join(dir_of(path), inc.trim());
            match fs.list(&d) {
                Ok(mut names) => {
                    names.retain(|n| n.ends_with(".cnf"));
                    names.sort();
                    for n in names {
                        load(fs, &join(&d, &n), true, depth + 1, out);
                    }
                }
                Err(e) => out.notes.push(format!("{d}: not listed ({e})")),
            }
            continue;
        }
        if let Some(inc) = line.strip_prefix("!include") {
            load(fs, &join(dir_of(path), inc.trim()), true, depth + 1, out);
            continue;
        }
        if let Some(g) = line.strip_prefix('[') {
            let g = g
                .split(']')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase();
            in_server = if out.groups.is_empty() {
                SERVER_GROUPS.contains(&g.as_str())
            } else {
                out.groups.contains(&g)
            };
            other_version = (!in_server && versioned(&g)).then_some(g);
            continue;
        }
        let (k, v) = line.split_once('=').unwrap_or((line, ""));
        let k = norm(k);
        if let Some(g) = &other_version
            && WANTED.contains(&k.as_str())
        {
            out.notes.push(format!(
                "{path}:{}: {k} in [{g}] is read only by a server of that version; not this one's (or its version was not read)",
                i + 1
            ));
        }
        if !in_server {
            continue;
        }
        if WANTED.contains(&k.as_str()) {
            out.values
                .insert(k, (unquote(v), format!("{path}:{}", i + 1)));
        }
    }
}

/// The settings of a server started with `argv`, its files read through `fs`.
pub fn resolve(fs: &dyn Files, argv: &[String], cwd: &str, version: Option<&str>) -> Mysql {
    let a = cmdline_args(argv);
    let exe = argv
        .first()
        .map(|s| s.rsplit('/').next().unwrap_or(s))
        .unwrap_or("");
    let mut m = Mysql {
        flavor: if exe.starts_with("mariadb") {
            "mariadb".into()
        } else {
            "mysql".into()
        },
        ..Default::default()
    };
    let mut loaded = Loaded {
        groups: server_groups(version, a.group_suffix.as_deref()),
        ..Default::default()
    };
    if let Some(f) = &a.defaults_file {
        load(fs, &join(cwd, f), true, 0, &mut loaded);
    } else if !a.no_defaults {
        for f in DEFAULT_FILES {
            load(fs, f, false, 0, &mut loaded);
        }
    }
    if let Some(f) = &a.extra_file {
        load(fs, &join(cwd, f), true, 0, &mut loaded);
    }
    let raw = |name: &str| -> Option<(String, String)> {
        match a.settings.iter().rev().find(|(k, _)| k == name) {
            Some((_, v)) => Some((v.clone(), "the server's command line".to_string())),
            None => loaded.values.get(name).cloned(),
        }
    };
    let get = |m: &mut Mysql, name: &str| -> Option<Sourced> {
        let (v, src) = raw(name)?;
        match num(&v) {
            Some(n) => Some(Sourced {
                value: n,
                source: src,
            }),
            None => {
                m.notes
                    .push(format!("{name} ({src}) is not a number: ignored"));
                None
            }
        }
    };
    m.max_connections = get(&mut m, "max_connections");
    // 0 (the default) is no per-account limit
    m.max_user_connections = get(&mut m, "max_user_connections").filter(|s| s.value > 0);
    // MariaDB's extra_port (0: none) and its own cap, extra_max_connections (default 1)
    m.extra_port = get(&mut m, "extra_port").filter(|s| s.value > 0);
    m.extra_max_connections = get(&mut m, "extra_max_connections");
    m.open_files_limit = get(&mut m, "open_files_limit");
    m.thread_handling = raw("thread_handling").map(|(v, src)| format!("{v} ({src})"));
    m.config = loaded.files.join(", ");
    m.notes.extend(loaded.notes);
    m
}

/// Whether the server runs a thread per connection (the default) rather than a pool.
pub fn thread_per_connection(m: &Mysql) -> bool {
    m.thread_handling
        .as_ref()
        .is_none_or(|t| !t.starts_with("pool-of-threads"))
}

/// Read a running server, its files with its credentials.
#[cfg(target_os = "linux")]
pub fn from_pid(root: &std::path::Path, pid: u32) -> Mysql {
    let proot = root.join(pid.to_string());
    let argv: Vec<String> = crate::fsio::read_bounded_io(&proot.join("cmdline"), 1 << 20)
        .unwrap_or_default()
        .split(|c| *c == 0)
        .filter(|s| !s.is_empty())
        .map(|w| String::from_utf8_lossy(w).into_owned())
        .collect();
    let fs = crate::snapshot::target::TargetFs::of_pid(root, pid);
    // the version names the [mariadb-X.Y] groups the server reads (its binary, bounded)
    let version = {
        use std::io::Read;
        let mut bin = Vec::new();
        let _ =
            std::fs::File::open(proot.join("exe")).map(|f| f.take(64 << 20).read_to_end(&mut bin));
        mariadb_version(&bin)
    };
    resolve(&fs, &argv, fs.cwd(), version.as_deref())
}

#[cfg(test)]
mod tests {
    use super::super::postgres::mem::{Mem, argv};
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn debian_layout_with_includedir() {
        let fs = Mem(HashMap::from([
            (
                "/etc/mysql/my.cnf",
                "# The MariaDB configuration file\n[client-server]\nsocket = /run/mysqld/mysqld.sock\n\n!includedir /etc/mysql/conf.d/\n!includedir /etc/mysql/mariadb.conf.d/\n",
            ),
            (
                "/etc/mysql/conf.d/mysql.cnf",
                "[mysql]\nmax_connections = 5\n",
            ),
            (
                "/etc/mysql/mariadb.conf.d/50-server.cnf",
                "[server]\n\n[mysqld]\nuser = mysql\nmax_connections = 100\n[embedded]\nmax_connections = 7\n",
            ),
            (
                "/etc/mysql/mariadb.conf.d/60-tuning.cnf",
                "[mariadb]\nmax-connections = 300 # more\nthread_handling = pool-of-threads\n",
            ),
            (
                "/etc/mysql/mariadb.conf.d/README",
                "[mysqld]\nmax_connections = 9\n",
            ),
        ]));
        let m = resolve(&fs, &argv("/usr/sbin/mariadbd"), "/", None);
        let mc = m.max_connections.clone().unwrap();
        assert_eq!(mc.value, 300);
        assert_eq!(mc.source, "/etc/mysql/mariadb.conf.d/60-tuning.cnf:2");
        assert_eq!(m.flavor, "mariadb");
        assert!(!thread_per_connection(&m));
        assert!(m.notes.is_empty(), "{:?}", m.notes);
        // the command line wins, --loose- and underscores too
        let m = resolve(
            &fs,
            &argv("/usr/sbin/mariadbd --loose-max_connections=40"),
            "/",
            None,
        );
        assert_eq!(m.max_connections.unwrap().value, 40);
        // --no-defaults: no files
        let m = resolve(&fs, &argv("mysqld --no-defaults"), "/", None);
        assert_eq!(m.max_connections, None);
        assert_eq!(m.flavor, "mysql");
        assert!(thread_per_connection(&m));
    }

    #[test]
    fn defaults_file_and_include() {
        let fs = Mem(HashMap::from([
            (
                "/srv/db/my.cnf",
                "[mysqld]\nmax_connections=1K\n!include extra.cnf\n",
            ),
            (
                "/srv/db/extra.cnf",
                "[server]\nopen_files_limit = \"4096\"\n",
            ),
            ("/etc/mysql/my.cnf", "[mysqld]\nmax_connections = 99\n"),
        ]));
        let m = resolve(
            &fs,
            &argv("mariadbd --defaults-file=my.cnf"),
            "/srv/db",
            None,
        );
        assert_eq!(m.max_connections.unwrap().value, 1024);
        assert_eq!(m.open_files_limit.unwrap().value, 4096);
        let m = resolve(&fs, &argv("mariadbd --defaults-file=/nope.cnf"), "/", None);
        assert!(m.notes[0].starts_with("/nope.cnf"), "{:?}", m.notes);
        let m = resolve(&fs, &argv("mariadbd --max-connections=abc"), "/", None);
        assert_eq!(m.max_connections, None);
        assert!(m.notes[0].contains("not a number"), "{:?}", m.notes);
    }

    /// Debian's 50-server.cnf has `[mariadb-10.11]`: a 10.11 server reads it (held-out:
    /// max_connections = 80 there, 151 predicted, 80 held), another version does not;
    /// `max_user_connections` is read; `--defaults-group-suffix` adds suffixed groups.
    #[test]
    fn versioned_and_suffixed_groups() {
        let fs = Mem(HashMap::from([(
            "/etc/mysql/my.cnf",
            "[mysqld]\nmax_connections = 100\n[mariadb-10.11]\nmax_connections = 80\n[mariadb-10.6]\nmax_connections = 60\n[mysqld.db2]\nmax_user_connections = 20\n[mariadbd-10.11.db2]\nmax_connections = 70\n",
        )]));
        let m = resolve(&fs, &argv("/usr/sbin/mariadbd"), "/", Some("10.11"));
        assert_eq!(m.max_connections.unwrap().value, 80);
        assert_eq!(m.max_user_connections, None);
        assert!(
            m.notes.iter().any(|n| n.contains("[mariadb-10.6]")),
            "{:?}",
            m.notes
        );
        let m = resolve(&fs, &argv("/usr/sbin/mariadbd"), "/", None);
        assert_eq!(m.max_connections.unwrap().value, 100);
        assert!(
            m.notes.iter().any(|n| n.contains("[mariadb-10.11]")),
            "{:?}",
            m.notes
        );
        let m = resolve(
            &fs,
            &argv("/usr/sbin/mariadbd --defaults-group-suffix=.db2"),
            "/",
            Some("10.11"),
        );
        assert_eq!(m.max_connections.unwrap().value, 70);
        assert_eq!(m.max_user_connections.unwrap().value, 20);
        let fs = Mem(HashMap::from([(
            "/etc/mysql/my.cnf",
            "[mariadb]\nextra_port = 3307\nextra-max-connections = 5\n",
        )]));
        let m = resolve(&fs, &argv("mariadbd"), "/", None);
        assert_eq!(m.extra_port.map(|s| s.value), Some(3307));
        assert_eq!(m.extra_max_connections.map(|s| s.value), Some(5));
        assert_eq!(
            mariadb_version(
                b"x\x0010.1.1-MariaDB-mariadb1precise-log.\x00y\x0010.11.19-MariaDB\x00z"
            ),
            Some("10.11".into())
        );
        assert_eq!(mariadb_version(b"5.7.44-log\x00"), None);
    }

    #[test]
    fn numbers() {
        assert_eq!(num("151"), Some(151));
        assert_eq!(num("2k"), Some(2048));
        assert_eq!(num("99999999999G"), None);
        assert_eq!(num(""), None);
    }
}
