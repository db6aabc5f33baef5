//! The server catalog: one entry per server product, in `servers/` (one file each). An entry
//! says how the product is recognised, where its configuration is and in which shape, which
//! settings cap its connections (with their defaults), the messages it logs at its limits and
//! the ceiling each points at. Reading is generic (`read`, with the readers of `conf`); the
//! formula from the settings to a ceiling is in the model (`model::catalog`), code only where a
//! product needs one. docs/architecture.md says how to add a server.

pub use super::entry::*;
use super::env_file::{Assignment, Val};
use super::servers::{self, runtimes};
use crate::snapshot::{RuntimeKind, ServerConf, Setting};

/// Every product, in the order `--runtime` lists them: the runtimes, then the servers.
pub const ALL: &[&Entry] = &[
    &runtimes::NATIVE,
    &runtimes::ERLANG,
    &runtimes::JVM,
    &runtimes::GO,
    &runtimes::NODE,
    &runtimes::PYTHON,
    &servers::nginx::ENTRY,
    &servers::haproxy::ENTRY,
    &servers::redis::ENTRY,
    &servers::postgres::ENTRY,
    &servers::mysql::ENTRY,
    &servers::rabbitmq::ENTRY,
    &servers::ejabberd::ENTRY,
    &servers::mosquitto::ENTRY,
    &servers::pgbouncer::ENTRY,
    &servers::lighttpd::ENTRY,
    &servers::apache::ENTRY,
    &servers::memcached::ENTRY,
];

/// The kinds of [`ALL`], in its order.
const KINDS: [RuntimeKind; ALL.len()] = {
    let mut out = [RuntimeKind::Native; ALL.len()];
    let mut i = 0;
    while i < ALL.len() {
        out[i] = ALL[i].kind;
        i += 1;
    }
    out
};

/// What a kind is called and does comes from its entry: one list.
impl RuntimeKind {
    /// Every kind, in the catalog's order (the `--runtime` values).
    pub const ALL: &[RuntimeKind] = &KINDS;

    /// How `--runtime`, JSON and text spell it.
    pub fn name(self) -> &'static str {
        of(self).name
    }

    /// What porttune reads for this kind (the `--runtime` help).
    pub fn about(self) -> &'static str {
        of(self).about
    }

    /// The kind spelled as [`Self::name`] does.
    pub fn parse(s: &str) -> Option<RuntimeKind> {
        ALL.iter().find(|e| e.name == s).map(|e| e.kind)
    }

    /// Whether the process is an Erlang node (the Erlang/OTP caps apply): Erlang itself and
    /// the servers that run on it.
    pub fn on_erlang(self) -> bool {
        self == RuntimeKind::Erlang || of(self).vm == Some(RuntimeKind::Erlang)
    }
}

/// The entry of `kind` (every kind has one; a test checks it).
pub fn of(kind: RuntimeKind) -> &'static Entry {
    ALL.iter()
        .copied()
        .find(|e| e.kind == kind)
        .unwrap_or(&runtimes::NATIVE)
}

/// The entry of `kind` if it is a server whose settings the catalog's generic readers read.
pub fn entry(kind: RuntimeKind) -> Option<&'static Entry> {
    Some(of(kind)).filter(|e| e.generic())
}

/// The product a process is, from its executable's and argv[0]'s base names: a server on a
/// VM by a marker word of its command line first (RabbitMQ before Erlang), then by name.
pub fn detect(names: &[String], cmdline: &[String]) -> Option<RuntimeKind> {
    let on_vm = |e: &Entry| {
        let vm = e.vm.map(of)?;
        let m = e.marker?;
        let runs_vm = names.iter().any(|n| vm.exe.contains(&n.as_str()));
        (runs_vm
            && cmdline
                .iter()
                .any(|w| w == m || w.split('/').any(|part| part.starts_with(m))))
        .then_some(e.kind)
    };
    let by_name = |e: &Entry| {
        names
            .iter()
            .map(|n| n.trim_end_matches(" (deleted)"))
            .any(|n| e.exe.contains(&n) || e.exe_prefix.iter().any(|p| n.starts_with(p)))
            .then_some(e.kind)
    };
    ALL.iter()
        .find_map(|e| on_vm(e))
        .or_else(|| ALL.iter().find_map(|e| by_name(e)))
}

/// The configuration file of the target: `--config`, a flag, the last positional argument,
/// an environment variable, or the package's default path; and how it was found.
fn config_path(e: &Entry, t: &Target) -> Option<(String, String)> {
    let spec = &e.config;
    if let Some(c) = &t.config {
        return Some((c.clone(), "--config".into()));
    }
    let base = root_dir(spec, t);
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

/// The assignments of the server's environment file, as far as porttune can tell without
/// running it (`env_file::parse`); absent at the package's path, none. One that exists and
/// cannot be read leaves where the configuration is unknown: Err says which and why.
fn env_file(f: &EnvFile, t: &Target, asked: &[&str]) -> Result<Vec<Assignment>, String> {
    let named = (t.env)(f.var).filter(|v| !v.is_empty());
    let path = named
        .as_deref()
        .map_or(f.default_path.to_string(), |p| resolve(t.cwd.as_deref(), p));
    let text = match (t.read)(&path) {
        Ok(text) => text,
        Err(why) if named.is_none() && why.ends_with("no such file or directory") => {
            return Ok(Vec::new());
        }
        Err(why) => {
            return Err(format!(
                "{path} (which may name the configuration files) could not be read: {why}"
            ));
        }
    };
    let outside = |n: &str| {
        f.defaults
            .iter()
            .find(|(k, _)| *k == n)
            .map(|(_, v)| v.to_string())
            .or_else(|| (t.env)(n))
    };
    let mut vars = super::env_file::parse(&text, &outside, asked);
    for a in &mut vars {
        if let Val::Unknown(why) = &a.val {
            a.val = Val::Unknown(format!(
                "{path}:{} sets {} from what porttune cannot tell ({why}); porttune never runs it (a shell script RabbitMQ sources)",
                a.line, a.name
            ));
        }
    }
    Ok(vars)
}

/// Whether `key` is one of `p`'s: a listener, its cap or its acceptors.
pub fn protocol_key(p: &Protocol, key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    k == p.key
        || (!p.port_key && k.strip_prefix(p.key).is_some_and(|r| r.starts_with('.')))
        || p.cap == Some(k.as_str())
        || k == p.acceptors.0
}

/// The plugins the server has enabled, as one setting (`ENABLED_PLUGINS`): comma-separated,
/// empty when the file is absent (RabbitMQ then enables none), `?` when it cannot be told.
fn plugins(p: &Plugins, t: &Target) -> Setting {
    let path = (t.env)(p.env)
        .filter(|v| !v.is_empty())
        .map_or(p.default_path.to_string(), |v| {
            resolve(t.cwd.as_deref(), &v)
        });
    let (value, source) = match (t.read)(&path) {
        Ok(text) => match plugin_list(&text) {
            Some(list) => (list.join(","), path),
            None => ("?".into(), format!("{path}: not a list of plugin names")),
        },
        Err(why) if absent(&why) => (String::new(), format!("{path} (absent: none)")),
        Err(why) => ("?".into(), format!("{path}: {why}")),
    };
    Setting {
        key: ENABLED_PLUGINS.into(),
        value,
        source,
    }
}

/// `[name, 'name', …].` with `%` comments: the names, or None.
fn plugin_list(text: &str) -> Option<Vec<String>> {
    let body: String = text
        .lines()
        .map(|l| l.split('%').next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join(" ");
    let inner = body
        .trim()
        .strip_suffix('.')?
        .trim_end()
        .strip_prefix('[')?
        .strip_suffix(']')?;
    let names: Vec<String> = inner
        .split(',')
        .map(|n| n.trim().trim_matches('\'').to_string())
        .filter(|n| !n.is_empty())
        .collect();
    names
        .iter()
        .all(|n| n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
        .then_some(names)
}

fn absent(why: &str) -> bool {
    why.ends_with("no such file or directory")
}

/// The main configuration at `path` and the shape it was read in; absent as named, each of
/// `try_suffixes` appended in turn (none there: Ok(None), the server's defaults).
fn main_tree(
    spec: &ConfigSpec,
    path: &str,
    t: &Target,
) -> Result<Option<(super::conf::Tree, Shape)>, String> {
    match main_file(spec, path, t) {
        Err(why) if absent(&why) && !spec.try_suffixes.is_empty() => {
            for s in spec.try_suffixes {
                match main_file(spec, &format!("{path}{s}"), t) {
                    Err(why) if absent(&why) => continue,
                    r => return r.map(Some),
                }
            }
            Ok(None)
        }
        r => r.map(Some),
    }
}

/// One file in the shape its name says (`by_suffix`), else the `sniff` shape when it parses
/// so, else the main shape.
fn main_file(
    spec: &ConfigSpec,
    path: &str,
    t: &Target,
) -> Result<(super::conf::Tree, Shape), String> {
    let plain = ConfigSpec {
        by_suffix: &[],
        ..*spec
    };
    let by_name = spec.by_suffix.iter().find(|(s, _)| path.ends_with(s));
    match (by_name, spec.sniff) {
        (Some((_, shape)), _) => super::conf::read_tree(spec, path, t).map(|tr| (tr, *shape)),
        (None, Some(sniff)) => {
            let as_sniff = ConfigSpec {
                shape: sniff,
                ..plain
            };
            super::conf::read_tree(&as_sniff, path, t)
                .map(|tr| (tr, sniff))
                .or_else(|_| super::conf::read_tree(&plain, path, t).map(|tr| (tr, spec.shape)))
        }
        (None, None) => super::conf::read_tree(spec, path, t).map(|tr| (tr, spec.shape)),
    }
}

/// Read the extra files `x` names (RabbitMQ's conf.d/*.conf), in the main shape, sorted, into
/// `out` after the main file. Their directory absent: none; one not readable: what the
/// configuration sets is unknown.
fn extra(x: &Extra, spec: &ConfigSpec, t: &Target, out: &mut ServerConf) {
    let named = (t.env)(x.env).filter(|v| !v.is_empty());
    let how = named
        .as_ref()
        .map_or("the package's default".to_string(), |_| {
            format!("${}", x.env)
        });
    let at = named.map_or(x.default.to_string(), |p| resolve(t.cwd.as_deref(), &p));
    // a directory: all its files; else a glob (or a name) in the last component
    let (dir, glob) = match (t.list)(&at) {
        Ok(_) => (at.clone(), "*".to_string()),
        Err(_) => match at.rsplit_once('/') {
            Some((d, g)) => (
                if d.is_empty() { "/" } else { d }.to_string(),
                g.to_string(),
            ),
            None => return,
        },
    };
    let mut names = match (t.list)(&dir) {
        Ok(n) => n,
        Err(why) if absent(&why) => return,
        Err(why) => {
            out.settings.clear();
            out.unread = Some(format!("{dir} (named by {how}): {why}"));
            return;
        }
    };
    names.sort();
    let plain = ConfigSpec {
        by_suffix: &[],
        ..*spec
    };
    for n in names
        .iter()
        .filter(|n| !n.starts_with('.') && super::conf::glob_match(&glob, n))
    {
        let path = format!("{}/{n}", dir.trim_end_matches('/'));
        match super::conf::read_tree(&plain, &path, t) {
            Ok(tree) => {
                out.files.extend(tree.files);
                out.settings.extend(tree.settings);
            }
            Err(why) => {
                out.settings.clear();
                out.unread = Some(format!("{path} (named by {how}): {why}"));
                return;
            }
        }
    }
}

/// Read the overlay `o` (RabbitMQ's advanced.config) into `out`: its settings win over the
/// main file's. Absent at the package's path, it is not there to read; named and absent, or
/// not readable, what the files set is unknown (the overlay could set any of it).
fn overlay(o: &Overlay, protocols: &[Protocol], t: &Target, out: &mut ServerConf) {
    let named = o.env.and_then(|var| {
        let v = (t.env)(var).filter(|v| !v.is_empty())?;
        Some((resolve(t.cwd.as_deref(), &v), format!("${var}")))
    });
    let (path, how) = named.clone().unwrap_or_else(|| {
        (
            o.default_path.to_string(),
            "the package's default path".into(),
        )
    });
    let spec = ConfigSpec {
        shape: o.shape,
        ..ConfigSpec::FLAGS_ONLY
    };
    match super::conf::read_tree(&spec, &path, t) {
        Ok(tree) => {
            out.files.extend(tree.files);
            out.settings.extend(tree.settings);
            terms_listeners(protocols, &path, t, out);
        }
        Err(why) if named.is_none() && why.ends_with("no such file or directory") => {}
        Err(why) => {
            out.settings.clear();
            out.unread
                .get_or_insert(format!("{path} (named by {how}): {why}"));
        }
    }
}

/// Protocols whose listeners the Erlang-terms file at `path` sets under their own application
/// (`{rabbitmq_mqtt, [{tcp_listeners, …}]}`): a setting porttune does not read, so that their
/// listeners are unknown rather than the defaults.
fn terms_listeners(protocols: &[Protocol], path: &str, t: &Target, out: &mut ServerConf) {
    if protocols.iter().all(|p| p.terms.is_none()) {
        return;
    }
    let Ok(text) = (t.read)(path) else { return };
    for p in protocols {
        let Some((app, key)) = p.terms else { continue };
        let Ok(env) = super::erlang_terms::app_env(&text, app) else {
            continue;
        };
        for (_, _, line) in env.iter().filter(|(k, _, _)| k == key) {
            let name = if p.port_key {
                p.key.to_string()
            } else {
                format!("{}.advanced_config", p.key)
            };
            out.settings.push(Setting {
                key: name,
                value: "…".into(),
                source: format!("{path}:{line}"),
            });
        }
    }
}

/// The configuration files of a catalog server: the main one, the extra ones, the overlay,
/// and the plugins list, into `out`.
fn read_files(e: &Entry, t: &Target, out: &mut ServerConf) {
    let mut main_shape = None;
    if let Some((path, how)) = config_path(e, t) {
        match main_tree(&e.config, &path, t) {
            Ok(Some((tree, shape))) => {
                let main = tree.files.first().cloned();
                out.files = tree.files;
                out.settings = tree.settings;
                main_shape = Some(shape);
                if let (Shape::ErlangTerms { .. }, Some(main)) = (shape, main) {
                    terms_listeners(e.protocols, &main, t, out);
                }
            }
            // absent, and nothing else tried is there: the server runs on its defaults
            Ok(None) => {}
            Err(why) => {
                out.unread = Some(format!("{path} (named by {how}): {why}"));
            }
        }
    }
    let main_is_plain = main_shape.is_none_or(|s| s == e.config.shape);
    if let (Some(x), None, None, true) = (e.config.extra, &t.config, &out.unread, main_is_plain) {
        extra(&x, &e.config, t, out);
    }
    if let (Some(o), None) = (e.config.overlay, &t.config) {
        overlay(&o, e.protocols, t, out);
    }
    if let (Some(p), None) = (e.plugins, &t.config) {
        out.settings.push(plugins(&p, t));
    }
}

/// Read a catalog server's settings: the configuration file with its includes, then the
/// command-line flags (which win). What could not be read is said in `unread`.
pub fn read(e: &Entry, t: &Target) -> ServerConf {
    let mut out = ServerConf::default();
    // the server's environment file stands for variables its process does not have
    let prefix = e.config.env_file.map_or("", |f| f.prefix);
    let asked: Vec<&str> = [
        e.config.env,
        e.config.overlay.and_then(|o| o.env),
        e.config.extra.map(|x| x.env),
        e.plugins.map(|p| p.env),
    ]
    .into_iter()
    .flatten()
    .map(|v| v.strip_prefix(prefix).unwrap_or(v))
    .collect();
    let vars = match e.config.env_file.filter(|_| t.config.is_none()) {
        Some(f) => match env_file(&f, t, &asked) {
            Ok(v) => v,
            Err(why) => {
                out.unread = Some(why);
                return out;
            }
        },
        None => Vec::new(),
    };
    // the process's own variable wins (with its prefix, or without: RabbitMQ takes both)
    let own = |k: &str| {
        (t.env)(k).filter(|v| !v.is_empty()).or_else(|| {
            let bare = k.strip_prefix(prefix).filter(|_| !prefix.is_empty())?;
            (t.env)(bare).filter(|v| !v.is_empty())
        })
    };
    let from_file = |k: &str| {
        let name = k.strip_prefix(prefix)?;
        vars.iter().rev().find(|a| a.name == name).map(|a| &a.val)
    };
    for var in asked.iter().map(|v| format!("{prefix}{v}")) {
        if let (None, Some(Val::Unknown(why))) = (own(&var), from_file(&var)) {
            out.unread = Some(why.clone());
            return out;
        }
    }
    let env = |k: &str| {
        own(k).or_else(|| match from_file(k) {
            Some(Val::Known(v)) if !v.is_empty() => Some(v.clone()),
            _ => None,
        })
    };
    let t = &Target {
        cmdline: t.cmdline,
        env: &env,
        cwd: t.cwd.clone(),
        read: t.read,
        list: t.list,
        config: t.config.clone(),
    };
    if e.config.shape != Shape::Flags {
        read_files(e, t, &mut out);
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
    // keep only what the entry uses (and the MPM an Apache loaded, the listeners a cap counts
    // per): no other content is kept
    let listeners = e.cap.and_then(|c| c.per_listener);
    out.settings.retain(|st| {
        e.settings
            .iter()
            .any(|s| s.key.eq_ignore_ascii_case(&st.key))
            || st.key == "mpm"
            || listeners.is_some_and(|l| {
                st.key.eq_ignore_ascii_case(l.directive)
                    || st.key.eq_ignore_ascii_case(l.default_port_key)
            })
            || e.protocols.iter().any(|p| protocol_key(p, &st.key))
            || st.key == ENABLED_PLUGINS
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
        assert_eq!(
            detect(&n("beam.smp"), &words("beam.smp -- -s myapp")),
            Some(RuntimeKind::Erlang)
        );
        assert_eq!(
            detect(&n("redis-server *:6379"), &words("redis-server *:6379")),
            Some(RuntimeKind::Redis)
        );
        assert_eq!(
            detect(
                &["postgres".to_string(), "postgres: checkpointer".to_string()],
                &[]
            ),
            Some(RuntimeKind::Postgres)
        );
        assert_eq!(
            detect(&n("python3.11 (deleted)"), &[]),
            Some(RuntimeKind::Python)
        );
        assert_eq!(detect(&n("mariadbd"), &[]), Some(RuntimeKind::Mysql));
        assert_eq!(detect(&n("cat"), &words("cat")), None);
    }

    #[test]
    fn relative_paths_are_the_servers_own() {
        let env = |_: &str| None;
        let read = |_: &str| Err("unused".to_string());
        let list = |_: &str| Err("unused".to_string());
        let path = |e: &Entry, cmd: &str| {
            let cmdline = words(cmd);
            let t = Target {
                cmdline: &cmdline,
                env: &env,
                cwd: Some("/srv/run".into()),
                read: &read,
                list: &list,
                config: None,
            };
            config_path(e, &t).map(|(p, _)| p)
        };
        let m = &servers::mosquitto::ENTRY;
        let a = &servers::apache::ENTRY;
        assert_eq!(path(m, "mosquitto -c m.conf").unwrap(), "/srv/run/m.conf");
        // Apache: -f against -d (itself against the working directory), else its own root
        assert_eq!(
            path(a, "apache2 -f conf/a.conf").unwrap(),
            "/etc/apache2/conf/a.conf"
        );
        assert_eq!(
            path(a, "apache2 -d /opt/ap -f a.conf").unwrap(),
            "/opt/ap/a.conf"
        );
        assert_eq!(
            path(a, "apache2 -d ap -f a.conf").unwrap(),
            "/srv/run/ap/a.conf"
        );
        let p = &servers::pgbouncer::ENTRY;
        assert_eq!(
            path(p, "pgbouncer -d ./pgb.ini").unwrap(),
            "/srv/run/pgb.ini"
        );
    }

    /// RabbitMQ's settings read from `files` (path, text) with the process environment `env`.
    fn rabbit(files: &[(&str, &str)], env: &[(&str, &str)]) -> ServerConf {
        let fs: std::collections::BTreeMap<_, _> = files.iter().copied().collect();
        let envs: std::collections::BTreeMap<_, _> = env.iter().copied().collect();
        let rd = |p: &str| {
            fs.get(p).map(|s| s.to_string()).ok_or_else(|| match p {
                "/etc/rabbitmq/locked.config" | "/etc/rabbitmq/locked-env.conf" => {
                    "not readable by uid 999".to_string()
                }
                _ => "no such file or directory".to_string(),
            })
        };
        // a directory lists the files under it; one with none is absent
        let list = |d: &str| {
            let names: Vec<String> = fs
                .keys()
                .filter_map(|p| p.strip_prefix(d)?.strip_prefix('/'))
                .filter(|n| !n.contains('/'))
                .map(str::to_string)
                .collect();
            if names.is_empty() {
                Err("no such file or directory".to_string())
            } else {
                Ok(names)
            }
        };
        let getenv = |k: &str| envs.get(k).map(|v| v.to_string());
        let cmdline = words("beam.smp -- -s rabbit boot");
        let t = Target {
            cmdline: &cmdline,
            env: &getenv,
            cwd: Some("/var/lib/rabbitmq".into()),
            read: &rd,
            list: &list,
            config: None,
        };
        read(&servers::rabbitmq::ENTRY, &t)
    }

    fn get(c: &ServerConf, k: &str) -> Option<(String, String)> {
        c.get(k).map(|s| (s.value.clone(), s.source.clone()))
    }

    const RABBIT_CONF: (&str, &str) = ("/etc/rabbitmq/rabbitmq.conf", "connection_max = 60\n");

    #[test]
    fn rabbitmq_advanced_config_wins_and_classic_config_is_terms() {
        let run = rabbit;
        let conf = RABBIT_CONF;
        let adv = (
            "/etc/rabbitmq/advanced.config",
            "%% ours\n[\n {rabbit, [\n   {connection_max, 500},\n   {num_tcp_acceptors, 4}]}\n].\n",
        );
        // advanced.config wins, its acceptors under rabbitmq.conf's name
        let c = run(&[conf, adv], &[]);
        let a = "/etc/rabbitmq/advanced.config";
        assert_eq!(
            get(&c, "connection_max"),
            Some(("500".into(), format!("{a}:4")))
        );
        assert_eq!(
            get(&c, "num_acceptors.tcp"),
            Some(("4".into(), format!("{a}:5")))
        );
        assert_eq!(c.unread, None);
        // no advanced.config at the package's path: rabbitmq.conf alone
        let c = run(&[conf], &[]);
        assert_eq!(get(&c, "connection_max").unwrap().0, "60");
        assert_eq!(c.unread, None);
        // one that cannot be read: what the files set is unknown
        let c = run(
            &[conf],
            &[(
                "RABBITMQ_ADVANCED_CONFIG_FILE",
                "/etc/rabbitmq/locked.config",
            )],
        );
        assert_eq!(get(&c, "connection_max"), None);
        assert!(
            c.unread
                .as_deref()
                .unwrap()
                .contains("not readable by uid 999")
        );
        // named and absent: unknown too
        let c = run(&[conf], &[("RABBITMQ_ADVANCED_CONFIG_FILE", "gone.config")]);
        assert!(
            c.unread
                .as_deref()
                .unwrap()
                .starts_with("/var/lib/rabbitmq/gone.config")
        );
        // a classic rabbitmq.config is Erlang terms
        let c = run(
            &[("/srv/r.config", "[{rabbit, [{connection_max, 70}]}].")],
            &[("RABBITMQ_CONFIG_FILE", "/srv/r.config")],
        );
        assert_eq!(get(&c, "connection_max").unwrap().0, "70");
    }

    #[test]
    fn rabbitmq_env_conf_names_what_the_environment_does_not() {
        let (run, conf) = (rabbit, RABBIT_CONF);
        // rabbitmq-env.conf names the files the process's environment does not
        let c = run(
            &[
                conf,
                (
                    "/etc/rabbitmq/rabbitmq-env.conf",
                    "# ours\nexport CONFIG_FILE=\"/srv/env.conf\"\n",
                ),
                ("/srv/env.conf", "connection_max = 33\n"),
            ],
            &[],
        );
        assert_eq!(
            get(&c, "connection_max"),
            Some(("33".into(), "/srv/env.conf:1".into()))
        );
        // ... below the environment
        let c = run(
            &[
                (
                    "/etc/rabbitmq/rabbitmq-env.conf",
                    "CONFIG_FILE=/srv/env.conf\n",
                ),
                ("/srv/env.conf", "connection_max = 33\n"),
                ("/srv/r.conf", "connection_max = 44\n"),
            ],
            &[("RABBITMQ_CONFIG_FILE", "/srv/r.conf")],
        );
        assert_eq!(get(&c, "connection_max").unwrap().0, "44");
        // one that cannot be read: where the configuration is is unknown
        let c = run(
            &[conf],
            &[("RABBITMQ_CONF_ENV_FILE", "/etc/rabbitmq/locked-env.conf")],
        );
        assert_eq!(get(&c, "connection_max"), None);
        assert!(c.unread.as_deref().unwrap().contains("locked-env.conf"));
        // one that is not terms: unread, and the error quotes nothing of it
        let c = run(
            &[("/srv/r.config", "[{rabbit, [{default_pass, \"hunter2\"}")],
            &[("RABBITMQ_CONFIG_FILE", "/srv/r.config")],
        );
        let why = c.unread.unwrap();
        assert!(
            why.contains("not Erlang terms") && !why.contains("hunter2"),
            "{why}"
        );
    }

    #[test]
    fn rabbitmq_main_file_as_3_10_finds_it() {
        let run = rabbit;
        let val = |c: &ServerConf| get(c, "connection_max").map(|(v, s)| format!("{v} {s}"));
        let (conf, classic) = (
            ("/etc/rabbitmq/rabbitmq.conf", "connection_max = 60\n"),
            (
                "/etc/rabbitmq/rabbitmq.config",
                "[{rabbit, [{connection_max, 70}]}].\n",
            ),
        );
        // the default name has no extension: .config first, then .conf
        let c = run(&[conf, classic], &[]);
        assert_eq!(val(&c).unwrap(), "70 /etc/rabbitmq/rabbitmq.config:1");
        assert_eq!(
            val(&run(&[conf], &[])).unwrap(),
            "60 /etc/rabbitmq/rabbitmq.conf:1"
        );
        // none: the defaults, nothing unknown
        let c = run(&[], &[]);
        assert_eq!((val(&c), c.unread), (None, None));
        // RABBITMQ_CONFIG_FILE without an extension (as older releases' scripts wanted it)
        let env = [("RABBITMQ_CONFIG_FILE", "/srv/rabbit")];
        let c = run(&[("/srv/rabbit.conf", "connection_max = 33\n")], &env);
        assert_eq!(val(&c).unwrap(), "33 /srv/rabbit.conf:1");
        // ... naming a file that exists as named: Erlang terms if they parse, else sysctl-like
        let c = run(
            &[("/srv/rabbit", "[{rabbit, [{connection_max, 44}]}].\n")],
            &env,
        );
        assert_eq!(val(&c).unwrap(), "44 /srv/rabbit:1");
        let c = run(&[("/srv/rabbit", "connection_max = 45\n")], &env);
        assert_eq!(val(&c).unwrap(), "45 /srv/rabbit:1");
        // conf.d/*.conf after a sysctl-like main file (sorted, the last wins), not after a
        // classic one
        let d1 = ("/etc/rabbitmq/conf.d/10-a.conf", "connection_max = 80\n");
        let d2 = ("/etc/rabbitmq/conf.d/20-b.conf", "connection_max = 90\n");
        let d3 = ("/etc/rabbitmq/conf.d/README", "connection_max = 1\n");
        let c = run(&[conf, d2, d1, d3], &[]);
        assert_eq!(val(&c).unwrap(), "90 /etc/rabbitmq/conf.d/20-b.conf:1");
        assert_eq!(
            val(&run(&[d1], &[])).unwrap(),
            "80 /etc/rabbitmq/conf.d/10-a.conf:1"
        );
        assert_eq!(
            val(&run(&[classic, d1], &[])).unwrap().split(' ').next(),
            Some("70")
        );
        // RABBITMQ_CONFIG_FILES: a directory, or a glob
        let c = run(
            &[conf, ("/srv/d/x.conf", "connection_max = 11\n")],
            &[("RABBITMQ_CONFIG_FILES", "/srv/d")],
        );
        assert_eq!(val(&c).unwrap(), "11 /srv/d/x.conf:1");
        let c = run(
            &[
                conf,
                ("/srv/d/x.cfg", "connection_max = 12\n"),
                ("/srv/d/y.conf", "connection_max = 13\n"),
            ],
            &[("RABBITMQ_CONFIG_FILES", "/srv/d/*.cfg")],
        );
        assert_eq!(val(&c).unwrap(), "12 /srv/d/x.cfg:1");
    }

    #[test]
    fn rabbitmq_plugin_listeners_in_erlang_terms_are_kept_unread() {
        // advanced.config moving MQTT's listener: porttune keeps that it is set (value not
        // read), so MQTT's default port is not taken for granted
        let adv = (
            "/etc/rabbitmq/advanced.config",
            "[{rabbit, [{connection_max, 50}]},\n {rabbitmq_mqtt, [{tcp_listeners, [1884]}]},\n {rabbitmq_web_mqtt, [{tcp_config, [{port, 15676}]}]}].\n",
        );
        let c = rabbit(&[RABBIT_CONF, adv], &[]);
        let a = "/etc/rabbitmq/advanced.config";
        assert_eq!(
            get(&c, "mqtt.listeners.tcp.advanced_config"),
            Some(("…".into(), format!("{a}:2")))
        );
        assert_eq!(
            get(&c, "web_mqtt.tcp.port"),
            Some(("…".into(), format!("{a}:3")))
        );
        assert_eq!(get(&c, "connection_max").unwrap().0, "50");
        // the same in a classic rabbitmq.config
        let classic = (
            "/etc/rabbitmq/rabbitmq.config",
            "[{rabbitmq_stomp, [{tcp_listeners, [61614]}]}].\n",
        );
        let c = rabbit(&[classic], &[]);
        assert!(
            get(&c, "stomp.listeners.tcp.advanced_config").is_some(),
            "{c:?}"
        );
    }

    #[test]
    fn rabbitmq_env_conf_references_expand_or_are_unknown() {
        let run = rabbit;
        let env_conf = |text: &'static str| ("/etc/rabbitmq/rabbitmq-env.conf", text);
        let target = ("/srv/rabbit/main.conf", "connection_max = 21\n");
        // ${VAR} of an earlier line, and $CONFIG_FILE's default (rabbit_env's)
        let c = run(
            &[
                env_conf("BASE=/srv/rabbit\nCONFIG_FILE=${BASE}/main.conf\n"),
                target,
            ],
            &[],
        );
        assert_eq!(get(&c, "connection_max").unwrap().0, "21");
        let c = run(
            &[
                env_conf("CONFIG_FILE=\"$CONFIG_FILE.d/x\"\n"),
                ("/etc/rabbitmq/rabbitmq.d/x.conf", "connection_max = 22\n"),
            ],
            &[],
        );
        assert_eq!(get(&c, "connection_max").unwrap().0, "22");
        // the process's environment, read, counts
        let c = run(
            &[env_conf("CONFIG_FILE=$RBASE/main.conf\n"), target],
            &[("RBASE", "/srv/rabbit")],
        );
        assert_eq!(get(&c, "connection_max").unwrap().0, "21");
        // a variable porttune cannot see, or a command: where the configuration is is unknown
        for text in [
            "CONFIG_FILE=$RBASE/main.conf\n",
            "CONFIG_FILE=/srv/$(hostname)/main.conf\n",
            "if [ -d /srv ]; then CONFIG_FILE=/srv/rabbit/main.conf; fi\n",
        ] {
            let c = run(&[env_conf(text), target, RABBIT_CONF], &[]);
            assert_eq!(get(&c, "connection_max"), None, "{text}");
            let why = c.unread.unwrap();
            assert!(
                why.contains("rabbitmq-env.conf:1 sets CONFIG_FILE") && why.contains("never runs"),
                "{why}"
            );
        }
        // ... unless the process's own variable decides it
        let c = run(
            &[env_conf("CONFIG_FILE=$(hostname)\n"), target],
            &[("RABBITMQ_CONFIG_FILE", "/srv/rabbit/main.conf")],
        );
        assert_eq!(get(&c, "connection_max").unwrap().0, "21");
        // a variable the reader does not ask about may be anything
        let c = run(
            &[env_conf("NODENAME=rabbit@$(hostname)\n"), RABBIT_CONF],
            &[],
        );
        assert_eq!(get(&c, "connection_max").unwrap().0, "60");
    }

    /// The catalog as docs/runtimes.md shows it: one row per product.
    fn docs_table() -> String {
        let code = |v: &[&str]| {
            v.iter()
                .map(|s| format!("`{s}`"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let mut out = String::from(
            "| product (`--runtime`) | package | recognised by | configuration | settings read (default) | ceilings |\n|---|---|---|---|---|---|\n",
        );
        for e in ALL {
            let mut seen: Vec<String> = e.exe.iter().map(|x| format!("`{x}`")).collect();
            seen.extend(e.exe_prefix.iter().map(|x| format!("`{x}…`")));
            if let (Some(vm), Some(m)) = (e.vm, e.marker) {
                seen.push(format!("`{m}` on {}", of(vm).product));
            }
            let c = &e.config;
            let mut conf: Vec<String> = Vec::new();
            if !c.flags.is_empty() {
                conf.push(code(c.flags));
            }
            if c.positional {
                conf.push("last argument".into());
            }
            if let Some(v) = c.env {
                conf.push(format!("`${v}`"));
            }
            if let Some(p) = c.default_path {
                conf.push(format!("`{p}`"));
            }
            if !c.try_suffixes.is_empty() {
                conf.push(format!("else with {}", code(c.try_suffixes)));
            }
            if let Some(x) = c.extra {
                conf.push(format!("then `{}` (`${}`)", x.default, x.env));
            }
            if let Some(o) = c.overlay {
                conf.push(format!("then `{}`", o.default_path));
            }
            if c.shape == Shape::Flags && !e.settings.is_empty() {
                conf.push("command line".into());
            }
            let settings: Vec<String> = e
                .settings
                .iter()
                .map(|s| {
                    let flags = if s.flags.is_empty() {
                        String::new()
                    } else {
                        format!(" ({})", code(s.flags))
                    };
                    format!("`{}`{flags}: {}", s.key, s.default)
                })
                .collect();
            let dash = |v: Vec<String>, sep: &str| {
                if v.is_empty() {
                    "—".to_string()
                } else {
                    v.join(sep)
                }
            };
            out.push_str(&format!(
                "| {} (`{}`) | {} | {} | {} | {} | {} |\n",
                e.product,
                e.name,
                if e.package.is_empty() {
                    "—"
                } else {
                    e.package
                },
                dash(seen, ", "),
                dash(conf, ", "),
                dash(settings, "; "),
                dash(e.ceilings.iter().map(|c| format!("`{c}`")).collect(), ", "),
            ));
        }
        out
    }

    #[test]
    fn docs_list_the_catalog() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/runtimes.md");
        let md = std::fs::read_to_string(&path).unwrap();
        let (begin, end) = ("<!-- catalog: begin -->\n", "<!-- catalog: end -->");
        let (Some(a), Some(b)) = (md.find(begin), md.find(end)) else {
            panic!("docs/runtimes.md has no {begin:?} … {end:?} section");
        };
        let table = docs_table();
        let now = &md[a + begin.len()..b];
        if now != table && std::env::var_os("DOCS_UPDATE").is_some() {
            let new = format!("{}{table}{}", &md[..a + begin.len()], &md[b..]);
            std::fs::write(&path, new).unwrap();
            return;
        }
        assert_eq!(
            now, table,
            "docs/runtimes.md's catalog table is stale: run `DOCS_UPDATE=1 cargo test --lib catalog` and read the diff"
        );
    }

    /// Every kind of the enum, named by a match that does not compile when a kind is added:
    /// the reminder to add its entry.
    fn every_kind() -> Vec<RuntimeKind> {
        use RuntimeKind::*;
        let all = [
            Native, Erlang, Jvm, Go, Node, Python, Nginx, Haproxy, Redis, Postgres, Mysql,
            Rabbitmq, Ejabberd, Mosquitto, Pgbouncer, Lighttpd, Apache, Memcached,
        ];
        for k in all {
            match k {
                Native | Erlang | Jvm | Go | Node | Python | Nginx | Haproxy | Redis | Postgres
                | Mysql | Rabbitmq | Ejabberd | Mosquitto | Pgbouncer | Lighttpd | Apache
                | Memcached => {}
            }
        }
        all.to_vec()
    }

    #[test]
    fn one_entry_per_kind_spelled_as_serde_spells_it() {
        let kinds = every_kind();
        assert_eq!(RuntimeKind::ALL, kinds.as_slice());
        for k in kinds {
            let n = ALL.iter().filter(|e| e.kind == k).count();
            assert_eq!(n, 1, "{k:?} has {n} entries");
            let e = of(k);
            let json = serde_json::to_string(&k).unwrap();
            assert_eq!(json, format!("\"{}\"", e.name));
            assert_eq!(RuntimeKind::parse(e.name), Some(k));
            assert!(!e.about.is_empty() && !e.product.is_empty(), "{k:?}");
        }
        assert!(RuntimeKind::Rabbitmq.on_erlang() && RuntimeKind::Erlang.on_erlang());
        assert!(!RuntimeKind::Nginx.on_erlang());
    }

    #[test]
    fn every_entry_is_complete() {
        for e in ALL.iter().filter(|e| e.role == Role::Server) {
            assert!(!e.ceilings.is_empty(), "{}", e.product);
            assert!(
                !e.package.is_empty() && !e.settings.is_empty() || e.vm.is_some(),
                "{}",
                e.product
            );
            assert!(
                e.exe.len() + e.exe_prefix.len() + usize::from(e.marker.is_some()) > 0,
                "{}",
                e.product
            );
            for m in e.messages {
                // Every ceiling a message names is a ceiling of the model (its own, or a
                // host's or a process's: fds, ports, memory), and it has words to match.
                use crate::model::names::CeilingName;
                for c in std::iter::once(&m.ceiling).chain(m.candidates) {
                    assert!(
                        c.is_empty() || CeilingName::parse(c).is_some(),
                        "{}: {}: {c}",
                        e.product,
                        m.id
                    );
                }
                assert!(!m.id.is_empty() && !m.any.is_empty(), "{}", e.product);
                assert!(
                    m.any
                        .iter()
                        .flat_map(|seq| seq.iter())
                        .all(|f| { !f.is_empty() && *f == f.to_lowercase() }),
                    "{}: {}: fragments are lower-case",
                    e.product,
                    m.id
                );
            }
            let generic = entry(e.kind).is_some();
            assert_eq!(generic, e.config.shape != Shape::Own, "{}", e.product);
        }
    }
}
