//! The server catalog: one entry per server product, in `servers/` (one file each). An entry
//! says how the product is recognised, where its configuration is and in which shape, which
//! settings cap its connections (with their defaults), the messages it logs at its limits and
//! the ceiling each points at. Reading is generic (`read`, with the readers of `conf`); the
//! formula from the settings to a ceiling is in the model (`model::catalog`), code only where a
//! product needs one. docs/architecture.md says how to add a server.

use super::servers;
use crate::snapshot::{RuntimeKind, ServerConf, Setting};

/// The shape of a configuration file: which generic reader of [`super::conf`] reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// `key value` lines, `#` comments (mosquitto).
    KeyValue,
    /// `key = value` lines, `#` comments: sysctl-like (rabbitmq.conf).
    KeyEquals,
    /// INI: `[section]` then `key = value`, `;`/`#` comments; only this section's keys
    /// (PgBouncer's `[pgbouncer]`).
    Ini(&'static str),
    /// Apache httpd: `Directive args`, `<IfModule>`/`<IfDefine>` sections, `Include`.
    Apache,
    /// lighttpd: `key = value`, `key += value`, `include "file"`; conditional blocks skipped.
    Lighttpd,
    /// No configuration file: command-line flags only (memcached).
    Flags,
}

/// How a directive includes other files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IncludeKind {
    /// One file, or a glob in its last component (`Include`, `include`, `%include`).
    File,
    /// Every file of a directory ending with this extension, in lexical order (`include_dir`).
    Dir(&'static str),
}

/// Where a server's configuration is.
#[derive(Debug, Clone, Copy)]
pub struct ConfigSpec {
    pub shape: Shape,
    /// Command-line flags whose value names the file (`-c`, `-f`).
    pub flags: &'static [&'static str],
    /// The file is the last command-line argument that is not a flag (PgBouncer).
    pub positional: bool,
    /// An environment variable of the process naming the file (`RABBITMQ_CONFIG_FILE`).
    pub env: Option<&'static str>,
    /// A flag naming the directory relative paths are resolved against (Apache's `-d`);
    /// without it, the process's working directory.
    pub root_flag: Option<&'static str>,
    /// A directive setting that directory in the file itself (Apache's `ServerRoot`).
    pub root_directive: Option<&'static str>,
    /// Where the package puts the file when nothing names it (None: the server then runs on
    /// its defaults).
    pub default_path: Option<&'static str>,
    /// Directives that include other files.
    pub include: &'static [(&'static str, IncludeKind)],
}

impl ConfigSpec {
    /// No configuration file: the command line only.
    pub const FLAGS_ONLY: ConfigSpec = ConfigSpec {
        shape: Shape::Flags,
        flags: &[],
        positional: false,
        env: None,
        root_flag: None,
        root_directive: None,
        default_path: None,
        include: &[],
    };
}

/// A setting the model uses: a cap on connections, threads or fds, or an input of a formula.
#[derive(Debug, Clone, Copy)]
pub struct CapSetting {
    /// As written in the configuration (`max_connections`); case-insensitive.
    pub key: &'static str,
    /// Command-line flags that set it (`-c`, `--conn-limit`).
    pub flags: &'static [&'static str],
    /// The default in the server's own words (`-1: unlimited`), for notes and docs.
    pub default: &'static str,
}

/// A message the server logs or answers at a limit, and the ceiling it points at (a name of
/// `model::names`); `explain` matches on it.
#[derive(Debug, Clone, Copy)]
pub struct Message {
    pub text: &'static str,
    pub ceiling: &'static str,
}

/// One server product.
#[derive(Debug, Clone, Copy)]
pub struct Entry {
    pub kind: RuntimeKind,
    /// Shown in text ("mosquitto").
    pub product: &'static str,
    /// Debian's package.
    pub package: &'static str,
    /// Executable base names (of /proc/PID/exe or argv[0]).
    pub exe: &'static [&'static str],
    /// A server running on a VM (Erlang's beam.smp): a word of its command line that marks it.
    pub marker: Option<&'static str>,
    /// Where its version shows: an environment variable of the process and the prefix the
    /// version follows in it (`ERL_LIBS`, `rabbitmq_server-`).
    pub version: Option<(&'static str, &'static str)>,
    pub config: ConfigSpec,
    pub settings: &'static [CapSetting],
    pub messages: &'static [Message],
    /// The ceilings this entry adds (names of `model::names`).
    pub ceilings: &'static [&'static str],
    /// Fds it needs free to accept one more connection (0 for most), and why.
    pub accept_spare_fds: u64,
    pub accept_spare_why: &'static str,
}

/// Every server of the catalog.
pub const ALL: &[&Entry] = &[
    &servers::rabbitmq::ENTRY,
    &servers::ejabberd::ENTRY,
    &servers::mosquitto::ENTRY,
    &servers::pgbouncer::ENTRY,
    &servers::lighttpd::ENTRY,
    &servers::apache::ENTRY,
    &servers::memcached::ENTRY,
];

/// The catalog entry of `kind`, if it is a catalog server.
pub fn entry(kind: RuntimeKind) -> Option<&'static Entry> {
    ALL.iter().copied().find(|e| e.kind == kind)
}

/// The catalog server a process is, from its executable's and argv[0]'s base names (and, for a
/// VM, a marker word of its command line).
pub fn detect(names: &[String], cmdline: &[String]) -> Option<RuntimeKind> {
    let vm = names
        .iter()
        .any(|n| matches!(n.as_str(), "beam.smp" | "beam" | "erlexec"));
    ALL.iter()
        .find(|e| match e.marker {
            Some(m) => {
                vm && cmdline
                    .iter()
                    .any(|w| w == m || w.split('/').any(|part| part.starts_with(m)))
            }
            None => names.iter().any(|n| e.exe.contains(&n.as_str())),
        })
        .map(|e| e.kind)
}

/// What the reader needs of the target process: its command line, environment, working
/// directory, and how to read its files (with its credentials, through its root).
pub struct Target<'a> {
    pub cmdline: &'a [String],
    pub env: &'a dyn Fn(&str) -> Option<String>,
    /// The process's working directory (relative configuration paths are resolved against
    /// it, not against porttune's).
    pub cwd: Option<String>,
    /// Read one file of the target (bounded); Err says why not, never the content.
    pub read: &'a dyn Fn(&str) -> Result<String, String>,
    /// List a directory of the target (names only).
    pub list: &'a dyn Fn(&str) -> Result<Vec<String>, String>,
    /// An explicit configuration file instead of the process's (`--config`).
    pub config: Option<String>,
}

/// The value after `flag` in `cmdline` (`-c 200`, `-c200`, `--conn-limit=200`,
/// `--conn-limit 200`), the last one wins.
pub fn flag_value(cmdline: &[String], flag: &str) -> Option<String> {
    let mut out = None;
    let mut it = cmdline.iter().skip(1).peekable();
    while let Some(w) = it.next() {
        if w == flag {
            if let Some(v) = it.peek() {
                out = Some((*v).clone());
                it.next();
            }
        } else if let Some(rest) = w.strip_prefix(flag) {
            if flag.starts_with("--") {
                if let Some(v) = rest.strip_prefix('=') {
                    out = Some(v.to_string());
                }
            } else if !flag.starts_with("--") && flag.len() == 2 && !rest.is_empty() {
                out = Some(rest.to_string());
            }
        }
    }
    out
}

/// `path` made absolute against `base` (a directory), without touching the filesystem.
pub fn resolve(base: Option<&str>, path: &str) -> String {
    if path.starts_with('/') {
        return path.to_string();
    }
    let base = base.unwrap_or("/").trim_end_matches('/');
    let rel = path.strip_prefix("./").unwrap_or(path);
    format!("{base}/{rel}")
}

/// The configuration file of the target: `--config`, a flag, the last positional argument,
/// an environment variable, or the package's default path; and how it was found.
fn config_path(e: &Entry, t: &Target) -> Option<(String, String)> {
    let spec = &e.config;
    if let Some(c) = &t.config {
        return Some((c.clone(), "--config".into()));
    }
    let base = spec
        .root_flag
        .and_then(|f| flag_value(t.cmdline, f))
        .map(|d| resolve(t.cwd.as_deref(), &d))
        .or_else(|| t.cwd.clone());
    for f in spec.flags {
        if let Some(v) = flag_value(t.cmdline, f) {
            return Some((
                resolve(base.as_deref(), &v),
                format!("{f} on the command line"),
            ));
        }
    }
    if spec.positional {
        if let Some(v) = t.cmdline.iter().skip(1).rev().find(|w| !w.starts_with('-')) {
            return Some((resolve(base.as_deref(), v), "the command line".into()));
        }
    }
    if let Some(var) = spec.env {
        if let Some(v) = (t.env)(var).filter(|v| !v.is_empty()) {
            return Some((resolve(base.as_deref(), &v), format!("${var}")));
        }
    }
    spec.default_path
        .map(|p| (p.to_string(), "the package's default path".into()))
}

/// Read a catalog server's settings: the configuration file with its includes, then the
/// command-line flags (which win). What could not be read is said in `unread`.
pub fn read(e: &Entry, t: &Target) -> ServerConf {
    let mut out = ServerConf::default();
    if e.config.shape != Shape::Flags {
        match config_path(e, t) {
            Some((path, how)) => match super::conf::read_tree(&e.config, &path, t) {
                Ok(tree) => {
                    out.files = tree.files;
                    out.settings = tree.settings;
                }
                Err(why) => {
                    out.unread = Some(format!("{path} (named by {how}): {why}"));
                }
            },
            None => {
                out.unread = None;
            }
        }
    }
    for s in e.settings {
        for f in s.flags {
            if let Some(v) = flag_value(t.cmdline, f) {
                out.settings.push(Setting {
                    key: s.key.to_string(),
                    value: v,
                    source: format!("{f} on the command line"),
                });
            }
        }
    }
    if let Some((var, prefix)) = e.version {
        out.version = (t.env)(var).and_then(|v| {
            let at = v.find(prefix)? + prefix.len();
            let ver: String = v[at..]
                .chars()
                .take_while(|c| c.is_ascii_digit() || *c == '.')
                .collect();
            (!ver.is_empty()).then_some(ver)
        });
    }
    // keep only what the entry uses (and the MPM an Apache loaded): no other content is kept
    out.settings.retain(|st| {
        e.settings
            .iter()
            .any(|s| s.key.eq_ignore_ascii_case(&st.key))
            || st.key == "mpm"
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_string).collect()
    }

    #[test]
    fn flags() {
        let c = words("memcached -u memcache -c 200 -t4 --conn-limit=300");
        assert_eq!(flag_value(&c, "-c").as_deref(), Some("200"));
        assert_eq!(flag_value(&c, "-t").as_deref(), Some("4"));
        assert_eq!(flag_value(&c, "--conn-limit").as_deref(), Some("300"));
        assert_eq!(flag_value(&c, "-p"), None);
        assert_eq!(
            resolve(Some("/srv/app/"), "./nginx.conf"),
            "/srv/app/nginx.conf"
        );
        assert_eq!(resolve(Some("/srv"), "/etc/x"), "/etc/x");
    }

    #[test]
    fn detects_by_exe_and_marker() {
        let n = |s: &str| vec![s.to_string()];
        assert_eq!(
            detect(
                &n("mosquitto"),
                &words("/usr/sbin/mosquitto -c /etc/m.conf")
            ),
            Some(RuntimeKind::Mosquitto)
        );
        assert_eq!(
            detect(
                &n("beam.smp"),
                &words("beam.smp -- -root /usr/lib/erlang -s rabbit boot")
            ),
            Some(RuntimeKind::Rabbitmq)
        );
        assert_eq!(detect(&n("beam.smp"), &words("beam.smp -- -s myapp")), None);
        assert_eq!(detect(&n("cat"), &words("cat")), None);
    }

    #[test]
    fn every_entry_is_complete() {
        for e in ALL {
            assert!(!e.ceilings.is_empty(), "{}", e.product);
            assert!(
                e.exe.len() + usize::from(e.marker.is_some()) > 0,
                "{}",
                e.product
            );
            for m in e.messages {
                assert!(
                    e.ceilings.contains(&m.ceiling)
                        || m.ceiling == "process_fds"
                        || m.ceiling.starts_with("erlang_"),
                    "{}: {}",
                    e.product,
                    m.text
                );
            }
            assert_eq!(entry(e.kind).map(|x| x.product), Some(e.product));
        }
    }
}
