//! The server catalog: one entry per server product, in `servers/` (one file each). An entry
//! says how the product is recognised, where its configuration is and in which shape, which
//! settings cap its connections (with their defaults), the messages it logs at its limits and
//! the ceiling each points at. Reading is generic (`read`, with the readers of `conf`); the
//! formula from the settings to a ceiling is in the model (`model::catalog`), code only where a
//! product needs one. docs/architecture.md says how to add a server.

pub use super::entry::*;
use super::servers;
use crate::snapshot::{RuntimeKind, ServerConf, Setting};

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
