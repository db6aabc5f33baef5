//! What a catalog entry is (`catalog` lists them, `servers/` holds one file per product): the
//! types an entry is written in, and what a reader needs of its target process.

use crate::snapshot::RuntimeKind;

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
    /// Erlang terms as `file:consult/1` reads them (`[{App, [{Key, Value}, …]}].`): the keys
    /// of application `app`, each renamed by `aliases` (as written → as the entry's settings
    /// name it) where the two spellings differ (RabbitMQ's advanced.config).
    ErlangTerms {
        app: &'static str,
        aliases: &'static [(&'static str, &'static str)],
    },
    /// No configuration file: command-line flags only (memcached).
    Flags,
    /// A reader of its own in `snapshot::runtime` (nginx blocks, HAProxy sections,
    /// postgresql.conf, MySQL option files, Redis's INFO): the entry still says where the
    /// configuration is and which settings count; the code reads them.
    Own,
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
    /// That directory when no flag names it: the one built into the server (Debian's
    /// apache2: /etc/apache2; nginx reads it from its binary, `--prefix=`); None: the
    /// process's working directory.
    pub root_default: Option<&'static str>,
    /// Where the package puts the file when nothing names it (None: the server then runs on
    /// its defaults).
    pub default_path: Option<&'static str>,
    /// Directives that include other files.
    pub include: &'static [(&'static str, IncludeKind)],
    /// A file whose name ends so is read in that shape instead (RabbitMQ's classic
    /// `rabbitmq.config`: Erlang terms).
    pub by_suffix: &'static [(&'static str, Shape)],
    /// A second file read after the first, whose settings win over it (RabbitMQ's
    /// advanced.config).
    pub overlay: Option<Overlay>,
    /// A shell file of `NAME=value` lines standing for environment variables the process
    /// does not have (rabbitmq-env.conf: `CONFIG_FILE=` for `RABBITMQ_CONFIG_FILE`).
    pub env_file: Option<EnvFile>,
    /// Absent as named, the name with each of these suffixes is tried, in order (RabbitMQ
    /// 3.10: `rabbitmq` → `rabbitmq.config`, then `rabbitmq.conf`).
    pub try_suffixes: &'static [&'static str],
    /// A file whose name ends with none of `by_suffix`'s suffixes is read in this shape when
    /// it parses so, else in `shape` (RabbitMQ: Erlang terms when `file:consult/1` reads it).
    pub sniff: Option<Shape>,
    /// Files read after the main one when that is in `shape` (or absent), whose settings win
    /// over it (RabbitMQ's conf.d/*.conf).
    pub extra: Option<Extra>,
}

/// Files read after the main configuration: a directory (all its files) or a glob in the
/// last component of a path.
#[derive(Debug, Clone, Copy)]
pub struct Extra {
    /// The environment variable naming them (`RABBITMQ_CONFIG_FILES`).
    pub env: &'static str,
    /// The package's default (`/etc/rabbitmq/conf.d/*.conf`).
    pub default: &'static str,
}

/// A file of `NAME=value` lines the server reads as its environment, below the real one.
#[derive(Debug, Clone, Copy)]
pub struct EnvFile {
    /// The environment variable naming it (`RABBITMQ_CONF_ENV_FILE`).
    pub var: &'static str,
    /// Where the package puts it (absent: nothing in it).
    pub default_path: &'static str,
    /// The prefix its names go without (`RABBITMQ_`).
    pub prefix: &'static str,
    /// The variables the server sets before it sources the file, which the file may use
    /// (`$CONFIG_FILE`); references to anything else but the file's own earlier assignments
    /// and the process's environment are unknown (porttune never runs the file).
    pub defaults: &'static [(&'static str, &'static str)],
}

/// A file read after the main configuration, whose settings win over it.
#[derive(Debug, Clone, Copy)]
pub struct Overlay {
    pub shape: Shape,
    /// An environment variable of the process naming it (`RABBITMQ_ADVANCED_CONFIG_FILE`).
    pub env: Option<&'static str>,
    /// Where the package puts it; absent there, nothing is overlaid (the file is optional).
    pub default_path: &'static str,
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
        root_default: None,
        default_path: None,
        include: &[],
        by_suffix: &[],
        overlay: None,
        env_file: None,
        try_suffixes: &[],
        sniff: None,
        extra: None,
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
    /// A larger value lets the server hold more connections (a cap, or what a cap is made
    /// of): one not read is unknown anywhere from 1 to no limit. False for a setting that
    /// is only an input (memcached's thread count).
    pub raises: bool,
}

/// Where a number sits in a message relative to a marker (both lower-cased).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum At {
    /// The first integer right after the marker (spaces skipped).
    After(&'static str),
    /// The integer right before the marker (spaces skipped).
    Before(&'static str),
    /// The port of the `addr:port` or `port` token after the marker.
    PortAfter(&'static str),
}

/// A number a message carries, by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Num {
    pub name: &'static str,
    pub at: At,
}

pub const fn num(name: &'static str, at: At) -> Num {
    Num { name, at }
}

/// A message the product logs or answers at a limit, as `explain` reads it: the words it
/// matches, the ceiling it points at, and what explain says about it. `explain` takes every
/// entry's messages before its generic table (`model::patterns`), so adding a product adds
/// its words; docs/explain.md lists them.
#[derive(Debug, Clone, Copy)]
pub struct Message {
    /// Stable id (JSON `pattern`).
    pub id: &'static str,
    /// The ceiling it names (a name of `model::names`); "" when it names none.
    pub ceiling: &'static str,
    /// Other ceilings that give the same message (names of `model::names`).
    pub candidates: &'static [&'static str],
    /// Alternatives; each a sequence of lower-case fragments that must occur in this order on
    /// one line (a fragment starting or ending with a letter, digit or `_` at a word boundary).
    pub any: &'static [&'static [&'static str]],
    /// Lower-case fragments that rule the line out.
    pub unless: &'static [&'static str],
    /// The mechanism, in one sentence.
    pub mechanism: &'static str,
    /// How to lift it.
    pub lift: &'static str,
    /// The common wrong fix, when there is one.
    pub not_lifted_by: Option<&'static str>,
    /// Numbers to take from the message.
    pub numbers: &'static [Num],
}

impl Message {
    /// The defaults a message fills in: no candidates, nothing ruled out, no numbers.
    pub const BASE: Message = Message {
        id: "",
        ceiling: "",
        candidates: &[],
        any: &[],
        unless: &[],
        mechanism: "",
        lift: "",
        not_lifted_by: None,
        numbers: &[],
    };
}

/// The simplest formula, as data: one setting is the cap (not set and no default: no cap),
/// a ceiling of its own; the model needs no code for it (`model::catalog`).
#[derive(Debug, Clone, Copy)]
pub struct Cap {
    /// The setting (one of the entry's `settings`).
    pub key: &'static str,
    /// The ceiling it is (a name of `model::names`, one of the entry's `ceilings`).
    pub ceiling: &'static str,
    /// Its default as a number; None: no limit.
    pub default: Option<u64>,
    /// What the server does beyond it, in its own words.
    pub beyond: &'static str,
    /// The lift: `{want}` stands for the value to set, `{file}` for the files read.
    pub lift: &'static str,
    /// The setting counts per listener, not per process (mosquitto's `max_connections`).
    pub per_listener: Option<Listeners>,
}

/// How a configuration declares listeners, when a cap counts per listener: a setting applies
/// to the listener declared before it, and those written before any to the default listener.
#[derive(Debug, Clone, Copy)]
pub struct Listeners {
    /// The directive that opens a listener: `listener PORT [ADDRESS]` (port 0: a Unix socket).
    pub directive: &'static str,
    /// The directive that sets the default listener's port (mosquitto's deprecated `port`).
    pub default_port_key: &'static str,
    /// The default listener's port when that directive is absent.
    pub default_port: u16,
    /// How the server listens when the configuration declares no listener at all (and no cap
    /// applies), in its own words.
    pub none_declared: &'static str,
}

/// A protocol a server listens for (RabbitMQ: AMQP; MQTT, STOMP, … when a plugin brings
/// them): the keys that declare its listeners, and what caps each listener's connections.
#[derive(Debug, Clone, Copy)]
pub struct Protocol {
    /// In text ("MQTT").
    pub name: &'static str,
    /// The plugins that bring it (any one enabled); empty: always there.
    pub plugins: &'static [&'static str],
    /// The key declaring its listeners: each `KEY.NAME = [ADDRESS:]PORT` is one, `KEY = none`
    /// none (`mqtt.listeners.tcp`); with `port_key`, one key whose value is the port
    /// (`web_mqtt.tcp.port`).
    pub key: &'static str,
    pub port_key: bool,
    /// Its listener's port when none is declared (None: no listener unless declared).
    pub default_port: Option<u16>,
    /// The setting that caps each listener's connections, as Ranch's soft `max_connections`
    /// (the listener holds cap + acceptors − 1); None: none of the server's own.
    pub cap: Option<&'static str>,
    /// The listener's acceptors setting, and its default.
    pub acceptors: (&'static str, u64),
    /// Its connections take a socket of the server's file-handle cache (RabbitMQ's).
    pub fhc: bool,
    /// Where an Erlang-terms file (advanced.config, a classic rabbitmq.config) sets its
    /// listeners: the application and key (`rabbitmq_mqtt`, `tcp_listeners`). porttune does
    /// not look into the value: set there, its listeners are unknown.
    pub terms: Option<(&'static str, &'static str)>,
}

/// The file listing the plugins enabled (RabbitMQ's enabled_plugins: `[name, …].`).
#[derive(Debug, Clone, Copy)]
pub struct Plugins {
    /// The environment variable naming it (`RABBITMQ_ENABLED_PLUGINS_FILE`).
    pub env: &'static str,
    /// Where the package puts it (absent: no plugin enabled).
    pub default_path: &'static str,
}

/// The setting under which the reader keeps the enabled plugins (comma-separated; `?` when
/// the file could not be read, its source then saying why).
pub const ENABLED_PLUGINS: &str = "enabled_plugins";

/// What a product is to the model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// A language runtime (or none: native code): what runs on it is application code, whose
    /// own caps no configuration shows.
    Runtime,
    /// A server product with settings of its own that cap connections.
    Server,
}

/// One product: a server (nginx, mosquitto, …) or a runtime (Erlang, the JVM, …).
#[derive(Debug, Clone, Copy)]
pub struct Entry {
    pub kind: RuntimeKind,
    /// How `--runtime`, JSON (`runtime`) and text spell the kind ("nginx", "jvm").
    pub name: &'static str,
    /// One line: what porttune reads for it (the `--runtime` help).
    pub about: &'static str,
    pub role: Role,
    /// Shown in text ("mosquitto").
    pub product: &'static str,
    /// Debian's package.
    pub package: &'static str,
    /// Executable base names (of /proc/PID/exe or argv[0]).
    pub exe: &'static [&'static str],
    /// Beginnings of executable base names or of a title the process sets itself
    /// (`python3.11`, `redis-server *:6379`, `postgres: checkpointer`).
    pub exe_prefix: &'static [&'static str],
    /// A server running on a VM (Erlang's beam.smp): a word of its command line that marks it.
    pub marker: Option<&'static str>,
    /// The VM it runs on, whose caps apply too (RabbitMQ and ejabberd: Erlang).
    pub vm: Option<RuntimeKind>,
    /// It raises its soft RLIMIT_NOFILE to the hard limit at start (Go, the JVM, Node.js).
    pub raises_soft_to_hard: bool,
    /// It sets its own fd limit at start (HAProxy to its maxsock, Redis to maxclients + 32,
    /// memcached to -c, lighttpd to server.max-fds), or its fd limit does not bound
    /// connections (PostgreSQL: a process per connection): the limit it was started with is
    /// not what binds.
    pub sets_own_fd_limit: bool,
    /// Where its version shows: an environment variable of the process and the prefix the
    /// version follows in it (`ERL_LIBS`, `rabbitmq_server-`).
    pub version: Option<(&'static str, &'static str)>,
    pub config: ConfigSpec,
    pub settings: &'static [CapSetting],
    pub messages: &'static [Message],
    /// Its cap when one setting is the cap (the formula as data); None when the model has code
    /// for it.
    pub cap: Option<Cap>,
    /// The ceilings this entry adds (names of `model::names`).
    pub ceilings: &'static [&'static str],
    /// Fds it needs free to accept one more connection (0 for most), and why.
    pub accept_spare_fds: u64,
    pub accept_spare_why: &'static str,
    /// The protocols it listens for, when its caps are per protocol listener (RabbitMQ).
    pub protocols: &'static [Protocol],
    /// Where it lists the plugins that bring some of those protocols.
    pub plugins: Option<Plugins>,
    /// Settings whose values are not integers (a factor such as `2.5`, `On`/`Off`): read as
    /// written; the formula parses them.
    pub not_integers: &'static [&'static str],
}

impl Entry {
    /// An entry with nothing but its kind and names: the base the entries fill in.
    pub const BASE: Entry = Entry {
        kind: RuntimeKind::Native,
        name: "",
        about: "",
        role: Role::Server,
        product: "",
        package: "",
        exe: &[],
        exe_prefix: &[],
        marker: None,
        vm: None,
        raises_soft_to_hard: false,
        sets_own_fd_limit: false,
        version: None,
        config: ConfigSpec::FLAGS_ONLY,
        settings: &[],
        messages: &[],
        cap: None,
        ceilings: &[],
        accept_spare_fds: 0,
        accept_spare_why: "",
        protocols: &[],
        plugins: None,
        not_integers: &[],
    };

    /// Whether its settings are read by the catalog's generic readers (`catalog::read`).
    pub fn generic(&self) -> bool {
        self.role == Role::Server && self.config.shape != Shape::Own
    }
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

/// The directory the target resolves a relative configuration path against: its root flag
/// (relative to its working directory), else the root built into the server, else its
/// working directory.
pub fn root_dir(spec: &ConfigSpec, t: &Target) -> Option<String> {
    spec.root_flag
        .and_then(|f| flag_value(t.cmdline, f))
        .map(|d| resolve(t.cwd.as_deref(), &d))
        .or_else(|| spec.root_default.map(str::to_string))
        .or_else(|| t.cwd.clone())
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
