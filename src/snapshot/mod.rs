//! The snapshot: everything the model needs to know about a host and one process, as plain
//! serde structs. `probe` fills it from the live host; `load`/`save` move it through files
//! (YAML or JSON by extension) so a prediction can be made for any host anywhere.
//!
//! A value the host does not have (an older kernel, another OS) is `None`: recorded as
//! absent, never an error. The model says what it assumed instead.

pub mod abilities;
pub mod by_name;
pub mod command;
pub mod file;
pub mod host;
#[cfg(target_os = "linux")]
pub mod kernel_log;
#[cfg(target_os = "linux")]
pub mod linux;
pub mod listening;
pub mod logtime;
#[cfg(any(target_os = "macos", target_os = "freebsd"))]
pub mod macos;
pub mod macos_parse;
pub mod options;
pub mod probe;
pub mod procsys;
pub mod provenance;
pub mod runtime;
pub mod sockdiag;
pub mod sysctl_d;
pub mod sysctl_root;
pub mod target;
pub mod unit;

use serde::{Deserialize, Serialize};

pub use file::{load, save};
pub use provenance::Provenance;

/// Version of the snapshot file format.
pub const SCHEMA: u32 = 1;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Snapshot {
    #[serde(default = "schema_default")]
    pub schema: u32,
    pub platform: Platform,
    #[serde(default)]
    pub net: Net,
    #[serde(default)]
    pub fs: Fs,
    #[serde(default)]
    pub process: Process,
    #[serde(default)]
    pub memory: Memory,
    #[serde(default)]
    pub runtime: Runtime,
    #[serde(default)]
    pub usage: Usage,
    /// What the probe could not read, and why (shown by `check`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// Kernel-log lines showing limits already hit (None: not read, e.g. a fixture /proc).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kernel_log: Option<KernelLog>,
    /// Where a value came from, by input key (`process.nofile`, `kern.maxfilesperproc`, …),
    /// where the probe did not read it from its usual place: given on the command line, taken
    /// from this shell for another process, not visible to the reader. Absent keys were read
    /// where the model's input table says (docs/model.md, "Provenance").
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub provenance: std::collections::BTreeMap<String, Provenance>,
}

/// Evidence from the kernel log (facts; `check` reports them, see explain::kernel_log).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KernelLog {
    /// Where it was read ("/dev/kmsg", "dmesg", "journalctl -k"); None when it could not be.
    #[serde(default)]
    pub source: Option<String>,
    /// Why it could not be read.
    #[serde(default)]
    pub unreadable: Option<String>,
    /// The lines that match a kernel limit message, oldest first (at most 200).
    #[serde(default)]
    pub lines: Vec<LogLine>,
    /// `--since`: only lines from this time on are evidence (ISO 8601). Without it, a
    /// process's lines are those since it started (`process.started`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<String>,
}

/// One kernel-log line and when it was logged (as the log gives it; None if unknown).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogLine {
    #[serde(default)]
    pub seen: Option<String>,
    pub text: String,
}

fn schema_default() -> u32 {
    SCHEMA
}

#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Os {
    #[default]
    Linux,
    Macos,
    Freebsd,
    Other,
}

impl Os {
    /// The OS porttune runs on.
    pub fn current() -> Os {
        if cfg!(target_os = "linux") {
            Os::Linux
        } else if cfg!(target_os = "macos") {
            Os::Macos
        } else if cfg!(target_os = "freebsd") {
            Os::Freebsd
        } else {
            Os::Other
        }
    }

    /// The name people use: "Linux", "macOS".
    pub fn label(self) -> &'static str {
        match self {
            Os::Linux => "Linux",
            Os::Macos => "macOS",
            Os::Freebsd => "FreeBSD",
            Os::Other => "another OS",
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Platform {
    pub os: Os,
    #[serde(default)]
    pub kernel: Option<String>,
    #[serde(default)]
    pub hostname: Option<String>,
    /// Inside a container (cgroup path, /.dockerenv, /run/.containerenv).
    #[serde(default)]
    pub container: Option<String>,
}

/// An inclusive port range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortRange {
    pub lo: u16,
    pub hi: u16,
}

impl PortRange {
    pub fn len(&self) -> u64 {
        if self.hi < self.lo {
            0
        } else {
            (self.hi - self.lo) as u64 + 1
        }
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    pub fn contains(&self, port: u16) -> bool {
        port >= self.lo && port <= self.hi
    }
}

/// Port spans as the kernel prints `ip_local_reserved_ports`: `8080,9000-9010`.
pub fn port_list(spans: &[PortRange]) -> String {
    spans
        .iter()
        .map(|r| {
            if r.lo == r.hi {
                r.lo.to_string()
            } else {
                format!("{}-{}", r.lo, r.hi)
            }
        })
        .collect::<Vec<_>>()
        .join(",")
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Conntrack {
    /// Whether connections in this network namespace are tracked (the netfilter
    /// conntrack module is loaded and entries exist, or rules that use it were seen).
    pub active: bool,
    #[serde(default)]
    pub max: Option<u64>,
    #[serde(default)]
    pub count: Option<u64>,
}

/// Network settings of the network namespace examined.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Net {
    /// The namespace examined (`net:[4026531840]`) and whether it is the host's initial one.
    #[serde(default)]
    pub netns: Option<String>,
    #[serde(default)]
    pub initial_netns: Option<bool>,
    /// net.ipv4.ip_local_port_range (macOS/FreeBSD: net.inet.ip.portrange.first/last).
    #[serde(default)]
    pub ip_local_port_range: Option<PortRange>,
    /// net.ipv4.ip_local_reserved_ports, as inclusive spans.
    #[serde(default)]
    pub ip_local_reserved_ports: Vec<PortRange>,
    /// Ports inside the ephemeral range held by bind() (listeners, explicit binds).
    #[serde(default)]
    pub bound_ports_in_range: Vec<u16>,
    #[serde(default)]
    pub ip_unprivileged_port_start: Option<u32>,
    #[serde(default)]
    pub ip_autobind_reuse: Option<u32>,
    #[serde(default)]
    pub tcp_tw_reuse: Option<u32>,
    /// Linux ≥ 6.14; absent before (reuse then needs about 1 s).
    #[serde(default)]
    pub tcp_tw_reuse_delay_ms: Option<u64>,
    #[serde(default)]
    pub tcp_timestamps: Option<u32>,
    #[serde(default)]
    pub tcp_max_tw_buckets: Option<u64>,
    /// FIN_WAIT_2 lifetime of orphaned sockets. Not TIME_WAIT (which is a fixed 60 s on Linux).
    #[serde(default)]
    pub tcp_fin_timeout: Option<u64>,
    #[serde(default)]
    pub somaxconn: Option<u64>,
    #[serde(default)]
    pub tcp_max_syn_backlog: Option<u64>,
    #[serde(default)]
    pub tcp_syncookies: Option<u32>,
    #[serde(default)]
    pub tcp_syn_retries: Option<u32>,
    #[serde(default)]
    pub conntrack: Option<Conntrack>,
    /// net.ipv4.tcp_mem in pages (global).
    #[serde(default)]
    pub tcp_mem: Option<[u64; 3]>,
    /// macOS/FreeBSD net.inet.tcp.msl in milliseconds (TIME_WAIT = 2 × MSL).
    #[serde(default)]
    pub msl_ms: Option<u64>,
    /// Whether /proc/sys/net can be written by this user (false in most containers).
    #[serde(default)]
    pub proc_sys_writable: Option<bool>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fs {
    /// fs.file-max (Linux); kern.maxfiles (macOS).
    #[serde(default)]
    pub file_max: Option<u64>,
    /// First field of fs.file-nr: file handles allocated now.
    #[serde(default)]
    pub file_nr_allocated: Option<u64>,
    /// fs.nr_open: the ceiling of any hard RLIMIT_NOFILE.
    #[serde(default)]
    pub nr_open: Option<u64>,
    /// macOS kern.maxfilesperproc.
    #[serde(default)]
    pub maxfilesperproc: Option<u64>,
}

/// An rlimit value: a number or `unlimited`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Rlim {
    Value(u64),
    Unlimited,
}

/// The smallest raw value read as unlimited: Apple's `RLIM_INFINITY` (2^63 − 1, what a Mac's
/// getrlimit reports for "unlimited"); Linux's is 2^64 − 1, above it. No real limit comes near.
pub const RLIM_UNLIMITED_FROM: u64 = i64::MAX as u64;

impl Rlim {
    /// A raw rlimit as the OS reports it: the platform's `RLIM_INFINITY` (Apple 2^63 − 1,
    /// Linux 2^64 − 1) and anything at or above 2^63 − 1 is `unlimited`.
    pub fn from_raw(v: u64) -> Self {
        if v >= RLIM_UNLIMITED_FROM {
            Rlim::Unlimited
        } else {
            Rlim::Value(v)
        }
    }
    pub fn value(self) -> Option<u64> {
        match self {
            Rlim::Value(v) => Some(v),
            Rlim::Unlimited => None,
        }
    }
}

impl std::fmt::Display for Rlim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Rlim::Value(v) => write!(f, "{v}"),
            Rlim::Unlimited => f.write_str("unlimited"),
        }
    }
}

impl Serialize for Rlim {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Rlim::Value(v) => s.serialize_u64(*v),
            Rlim::Unlimited => s.serialize_str("unlimited"),
        }
    }
}

impl schemars::JsonSchema for Rlim {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Rlim".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "A resource limit: a number, or \"unlimited\" (RLIM_INFINITY).",
            "oneOf": [
                {"type": "integer", "minimum": 0},
                {"const": "unlimited"}
            ]
        })
    }
}

impl<'de> Deserialize<'de> for Rlim {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Rlim;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a non-negative integer or \"unlimited\"")
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Rlim, E> {
                Ok(Rlim::from_raw(v))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Rlim, E> {
                u64::try_from(v)
                    .map(Rlim::from_raw)
                    .map_err(|_| E::custom(format!("limit must not be negative, got {v}")))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Rlim, E> {
                match v {
                    "unlimited" | "infinity" => Ok(Rlim::Unlimited),
                    _ => v.parse::<u64>().map(Rlim::from_raw).map_err(|_| {
                        E::custom(format!("expected a number or \"unlimited\", got {v:?}"))
                    }),
                }
            }
        }
        d.deserialize_any(V)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Limit {
    pub soft: Rlim,
    pub hard: Rlim,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Capabilities {
    /// Raise a hard rlimit, exceed RLIMIT_NPROC.
    pub sys_resource: bool,
    /// Write global sysctls; exempt from fs.file-max.
    pub sys_admin: bool,
    /// Write net.* sysctls of its own network namespace.
    pub net_admin: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Cgroup {
    #[serde(default)]
    pub path: Option<String>,
    #[serde(default)]
    pub pids_max: Option<u64>,
    #[serde(default)]
    pub pids_current: Option<u64>,
    #[serde(default)]
    pub memory_max: Option<u64>,
    #[serde(default)]
    pub memory_current: Option<u64>,
}

/// The process the prediction is for: porttune itself, or `--pid`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Process {
    #[serde(default)]
    pub pid: Option<u32>,
    /// True when this is porttune's own process (the default target).
    #[serde(default)]
    pub is_self: bool,
    #[serde(default)]
    pub exe: Option<String>,
    /// The process name the kernel reports (/proc/PID/comm), e.g. "nginx".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comm: Option<String>,
    /// The systemd unit named with `--unit` (its MainPID is this process).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<unit::Unit>,
    #[serde(default)]
    pub cmdline: Vec<String>,
    /// When it started (ISO 8601, UTC; Linux: /proc/PID/stat starttime after boot).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started: Option<String>,
    pub nofile: Limit,
    /// File descriptors open now.
    #[serde(default)]
    pub open_fds: u64,
    /// Of those, TCP listening sockets.
    #[serde(default)]
    pub listening_sockets: u64,
    #[serde(default)]
    pub nproc: Option<Limit>,
    /// Tasks (threads included) of the process.
    #[serde(default)]
    pub threads: Option<u64>,
    #[serde(default)]
    pub caps: Capabilities,
    #[serde(default)]
    pub cgroup: Cgroup,
}

impl Default for Process {
    fn default() -> Self {
        Process {
            pid: None,
            is_self: false,
            exe: None,
            comm: None,
            unit: None,
            cmdline: Vec::new(),
            started: None,
            nofile: Limit {
                soft: Rlim::Value(1024),
                hard: Rlim::Value(4096),
            },
            open_fds: 3,
            listening_sockets: 0,
            nproc: None,
            threads: None,
            caps: Capabilities::default(),
            cgroup: Cgroup::default(),
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Memory {
    #[serde(default)]
    pub mem_total_kb: Option<u64>,
    #[serde(default)]
    pub mem_available_kb: Option<u64>,
    #[serde(default)]
    pub threads_max: Option<u64>,
    #[serde(default)]
    pub pid_max: Option<u64>,
    /// macOS: the VM page counts `mem_available_kb` is derived from, as read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub macos_pages: Option<MacPages>,
}

/// What a Mac says about its memory (sysctl names in brackets; xnu `bsd/vm/vm_unix.c`,
/// `kern_memorystatus.c`). macOS keeps few pages free (near its free target) and the rest of
/// what it can give back in the file cache and purgeable memory.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MacPages {
    /// Bytes per page [hw.pagesize]: 16384 on Apple silicon, 4096 on Intel.
    #[serde(default)]
    pub page_size: Option<u64>,
    /// Free pages [vm.page_free_count].
    #[serde(default)]
    pub free: Option<u64>,
    /// File-backed pages the pager may drop, speculative (read-ahead) ones included
    /// [vm.page_pageable_external_count].
    #[serde(default)]
    pub file_backed: Option<u64>,
    /// Purgeable pages [vm.page_purgeable_count].
    #[serde(default)]
    pub purgeable: Option<u64>,
    /// The kernel's own percentage of memory available [kern.memorystatus_level].
    #[serde(default)]
    pub memorystatus_level: Option<u64>,
}

/// A product porttune knows: a runtime or a server. Each has one entry in the catalog
/// (`runtime::catalog::ALL`, a file per product in `runtime/servers/`), which says how it is
/// spelled (`name`), recognised, configured and capped; a test checks that every kind has
/// exactly one entry and that serde spells it as the entry does.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RuntimeKind {
    /// A plain native program (C, Rust, Python...): soft NOFILE as it is.
    #[default]
    Native,
    /// Erlang/OTP (BEAM): soft NOFILE at boot, +Q ports, +P processes.
    Erlang,
    /// The JVM: -XX:+MaxFDLimit raises the soft NOFILE to the hard limit.
    Jvm,
    /// Go ≥ 1.19 raises the soft NOFILE to the hard limit.
    Go,
    /// Node.js raises the soft NOFILE to the hard limit.
    Node,
    /// Python: does not raise the soft limit.
    Python,
    /// nginx: worker_processes × worker_connections, worker_rlimit_nofile.
    Nginx,
    /// HAProxy: global and frontend maxconn (computed from the fd limit when unset).
    Haproxy,
    /// Redis: maxclients, lowered to the fd limit − 32 at start.
    Redis,
    /// PostgreSQL: max_connections − reserved slots; a process per connection.
    Postgres,
    /// MySQL/MariaDB: max_connections; a thread per connection.
    Mysql,
    /// RabbitMQ (on Erlang): the file-handle cache's socket limit, `connection_max`.
    Rabbitmq,
    /// ejabberd (on Erlang): the Erlang node's fd table, port and process tables.
    Ejabberd,
    /// mosquitto (MQTT broker): `max_connections`.
    Mosquitto,
    /// PgBouncer: `max_client_conn`.
    Pgbouncer,
    /// lighttpd: `server.max-connections` (default a third of its fd limit).
    Lighttpd,
    /// Apache httpd: `MaxRequestWorkers`, `ServerLimit`, `ThreadsPerChild` by MPM.
    Apache,
    /// memcached: `-c` (maxconns), which also sets its own fd limit.
    Memcached,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Runtime {
    pub kind: RuntimeKind,
    /// How the kind was found: "detected from /proc/PID/exe", "--runtime", ...
    #[serde(default)]
    pub source: Option<String>,
    /// Whether the runtime raises its soft NOFILE to the hard limit at start
    /// (None: decide from the kind and platform).
    #[serde(default)]
    pub raises_soft_to_hard: Option<bool>,
    /// The runtime's version when known (`java -version` of that JDK, OTP release, ...): the
    /// macOS JVM rule depends on it (JDK-8324577).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(default)]
    pub erlang: Option<Erlang>,
    #[serde(default)]
    pub nginx: Option<Nginx>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub haproxy: Option<Haproxy>,
    /// The wait a thread of the running process was blocked in when read (`select`,
    /// `pselect6`, `poll`, `epoll_wait`, ...; /proc/PID/task/*/syscall).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waits_in: Option<String>,
    /// Redis: the maxclients it uses (`INFO clients`), when it answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redis_maxclients: Option<Sourced>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postgres: Option<Postgres>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mysql: Option<Mysql>,
    /// Tasks (threads included) of the process's real user now, all processes counted: what
    /// RLIMIT_NPROC is checked against when a server forks or starts a thread per
    /// connection (PostgreSQL, MySQL/MariaDB).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_tasks: Option<Sourced>,
    /// A server of the catalog (src/snapshot/runtime/servers/): its settings as read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<ServerConf>,
}

/// The settings of a catalog server as it was started: what porttune read, from where, and
/// what it could not read (the model then says the cap is unknown, with its default).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerConf {
    /// The configuration files read, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<String>,
    /// The catalog's settings found (command line, configuration files), the last one wins.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub settings: Vec<Setting>,
    /// Why the configuration could not be read (absent: it was, or the server has none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unread: Option<String>,
    /// The server's version when known (from its install path).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// The processes holding connections (Apache's children), as read from /proc.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub children: Vec<ServerChild>,
}

/// One setting of a catalog server: its value as written and where.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Setting {
    pub key: String,
    pub value: String,
    pub source: String,
}

/// A process of a server that holds connections (a child of its main process).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerChild {
    pub pid: u32,
    pub nofile_soft: Rlim,
    pub open_fds: u64,
    pub connections: u64,
    pub threads: u64,
}

impl ServerConf {
    /// The value of `key` (the last one set), case-insensitive as most servers read keys.
    pub fn get(&self, key: &str) -> Option<&Setting> {
        self.settings
            .iter()
            .rev()
            .find(|s| s.key.eq_ignore_ascii_case(key))
    }
}

/// PostgreSQL's connection settings as the postmaster was started (command line, then
/// postgresql.conf with its includes, then postgresql.auto.conf; absent: the default).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Postgres {
    /// The configuration files read, in order, comma-separated.
    #[serde(default)]
    pub config: String,
    #[serde(default)]
    pub data_directory: Option<String>,
    #[serde(default)]
    pub max_connections: Option<Sourced>,
    #[serde(default)]
    pub superuser_reserved_connections: Option<Sourced>,
    /// PostgreSQL 16+: slots kept for roles with pg_use_reserved_connections.
    #[serde(default)]
    pub reserved_connections: Option<Sourced>,
    #[serde(default)]
    pub postmaster_pid: Option<u32>,
    /// Client backends (one process each) now.
    #[serde(default)]
    pub client_backends: Option<u64>,
    /// What could not be read (moved to the snapshot's notes by the probe).
    #[serde(skip)]
    pub notes: Vec<String>,
}

/// MySQL/MariaDB's connection settings as the server was started (command line, then the
/// option files it reads, sections [mysqld], [server], [mariadb], ...; absent: the default).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mysql {
    /// The option files read, in order, comma-separated.
    #[serde(default)]
    pub config: String,
    /// "mariadb" or "mysql" (from the executable's name).
    #[serde(default)]
    pub flavor: String,
    #[serde(default)]
    pub max_connections: Option<Sourced>,
    /// `max_user_connections` (global, per account; absent or 0: none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_user_connections: Option<Sourced>,
    /// MariaDB's `extra_port` (a second port with its own cap) and `extra_max_connections`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extra_port: Option<Sourced>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extra_max_connections: Option<Sourced>,
    /// `open_files_limit` as asked (the server's soft RLIMIT_NOFILE is what it got).
    #[serde(default)]
    pub open_files_limit: Option<Sourced>,
    /// `thread_handling` and where it was set (default one-thread-per-connection).
    #[serde(default)]
    pub thread_handling: Option<String>,
    #[serde(skip)]
    pub notes: Vec<String>,
}

/// A value and where it came from.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sourced {
    pub value: u64,
    pub source: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Erlang {
    /// The port table asked for (+Q / ERL_MAX_PORTS) and where; absent: not set (the model
    /// derives the default from the fd table). The model rounds it up to a power of two.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port_limit: Option<Sourced>,
    /// The process table asked for (+P) and where; absent: the default 262144.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub process_limit: Option<Sourced>,
    /// The fd table erts sized at boot, when it was read (a running node's `erl_child_setup`
    /// keeps the boot-time soft limit). Absent: the model derives it from the soft limit and
    /// the OS (24576 on macOS when unlimited, OTP ≥ 23.2; fs.nr_open on Linux).
    #[serde(default)]
    pub max_fds: Option<Sourced>,
    /// Ports in use now (sockets, pipes, the spawn driver): estimated from outside.
    #[serde(default)]
    pub ports_in_use: Option<Sourced>,
    /// Processes alive now (a bare node has about 40).
    #[serde(default)]
    pub processes_in_use: Option<Sourced>,
    /// `-kernel inet_backend socket|inet` as the node was started: with `socket`, gen_tcp
    /// sockets are not ports and `+Q` does not bound them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inet_backend: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Nginx {
    pub config: String,
    pub worker_processes: u64,
    pub worker_connections: u64,
    #[serde(default)]
    pub worker_rlimit_nofile: Option<u64>,
    /// Whether the config proxies (each client connection also opens an upstream one).
    #[serde(default)]
    pub proxies: bool,
    /// Distinct listening sockets in the configuration (each takes a connection slot in
    /// every worker).
    #[serde(default)]
    pub listeners: Option<u64>,
    /// How the configuration was found (the master's `-c`, the binary's built-in path, ...).
    #[serde(default)]
    pub config_source: Option<String>,
    /// Files read through `include`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub includes: Vec<String>,
    #[serde(default)]
    pub master_pid: Option<u32>,
    /// The running workers as /proc shows them (empty: nginx is not running).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub workers: Vec<NginxWorker>,
    /// Why the running master's configuration was not read (worker_connections unknown).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unread: Option<String>,
}

/// HAProxy's settings as read (configuration, command line, stats socket) and its process.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Haproxy {
    /// The configuration files read, comma-separated.
    pub config: String,
    /// How they were found (`-f` of PID N, --haproxy-conf).
    #[serde(default)]
    pub config_source: Option<String>,
    /// `global maxconn` (None: HAProxy computes it from its fd limit at start).
    #[serde(default)]
    pub global_maxconn: Option<u64>,
    /// `-n` on the command line (overrides `global maxconn`).
    #[serde(default)]
    pub cmdline_maxconn: Option<u64>,
    /// Threads: `nbthread`, else the running process's threads, else the CPUs it may use.
    #[serde(default)]
    pub nbthread: Option<u64>,
    #[serde(default)]
    pub fd_hard_limit: Option<u64>,
    #[serde(default)]
    pub ulimit_n: Option<u64>,
    /// Listening sockets: every `bind` address and every `stats socket`.
    #[serde(default)]
    pub listeners: u64,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stats_sockets: Vec<String>,
    /// `stats maxconn` (default 10 per stats socket frontend).
    #[serde(default)]
    pub stats_maxconn: Option<u64>,
    /// Frontends and listen sections that bind.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub frontends: Vec<HaproxyFrontend>,
    /// `show info` from the stats socket, when it answered.
    #[serde(default)]
    pub info: Option<HaproxyInfo>,
    /// The process holding the connections (the worker in master-worker mode).
    #[serde(default)]
    pub process: Option<HaproxyProcess>,
    /// Why the configuration of a running HAProxy was not read (then its maxconn is unknown
    /// unless `show info` or `-n` says it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unread: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HaproxyFrontend {
    pub name: String,
    /// Its own `maxconn`.
    #[serde(default)]
    pub maxconn: Option<u64>,
    /// The `maxconn` of the `defaults` section before it.
    #[serde(default)]
    pub defaults_maxconn: Option<u64>,
    /// Listening sockets it binds.
    #[serde(default)]
    pub binds: u64,
    /// The sum of its listeners' own `maxconn` (a `bind` option) when every `bind` line has
    /// one: it then holds no more than that.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bind_maxconn: Option<u64>,
    /// The TCP ports it binds, as inclusive ranges (`bind :8080-8083`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ports: Vec<[u16; 2]>,
}

/// The stats socket's `show info`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HaproxyInfo {
    pub maxconn: u64,
    #[serde(default)]
    pub maxsock: Option<u64>,
    #[serde(default)]
    pub ulimit_n: Option<u64>,
    #[serde(default)]
    pub curr_conns: Option<u64>,
    #[serde(default)]
    pub nbthread: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HaproxyProcess {
    pub pid: u32,
    pub nofile: Limit,
    /// Fds open now, connections included.
    pub open_fds: u64,
    /// TCP connections it holds now.
    #[serde(default)]
    pub connections: u64,
}

/// One running nginx worker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NginxWorker {
    pub pid: u32,
    /// Its soft RLIMIT_NOFILE (set from `worker_rlimit_nofile` when that is given).
    pub nofile_soft: Rlim,
    /// Fds open now (below the soft limit), connections included.
    pub open_fds: u64,
    /// TCP listening sockets it holds.
    #[serde(default)]
    pub listeners: u64,
    /// TCP connections it holds now.
    #[serde(default)]
    pub connections: u64,
}

/// Usage now, for headroom warnings (/proc/net/sockstat and sockstat6, the process's fds).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Usage {
    #[serde(default)]
    pub sockets_used: Option<u64>,
    #[serde(default)]
    pub tcp_inuse: Option<u64>,
    #[serde(default)]
    pub tcp_orphan: Option<u64>,
    #[serde(default)]
    pub tcp_time_wait: Option<u64>,
    #[serde(default)]
    pub tcp_alloc: Option<u64>,
    /// Established connections of the examined process (its TCP sockets not listening).
    #[serde(default)]
    pub process_connections: Option<u64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn apple_and_linux_rlim_infinity_are_unlimited() {
        // Apple's RLIM_INFINITY (what a Mac's getrlimit reports for `ulimit -n unlimited`).
        assert_eq!(Rlim::from_raw(9_223_372_036_854_775_807), Rlim::Unlimited);
        // Linux's RLIM_INFINITY.
        assert_eq!(Rlim::from_raw(u64::MAX), Rlim::Unlimited);
        assert_eq!(Rlim::from_raw(1 << 63), Rlim::Unlimited);
        assert_eq!(
            Rlim::from_raw(9_223_372_036_854_775_806),
            Rlim::Value(9_223_372_036_854_775_806)
        );
        assert_eq!(Rlim::from_raw(1024), Rlim::Value(1024));
        // In snapshot files, as a number (YAML or JSON) or a string.
        let l: Limit =
            serde_json::from_str(r#"{"soft": 9223372036854775807, "hard": "9223372036854775807"}"#)
                .unwrap();
        assert_eq!((l.soft, l.hard), (Rlim::Unlimited, Rlim::Unlimited));
        let l: Limit =
            serde_saphyr::from_str("soft: 9223372036854775807\nhard: unlimited\n").unwrap();
        assert_eq!((l.soft, l.hard), (Rlim::Unlimited, Rlim::Unlimited));
        assert_eq!(
            serde_json::to_string(&Rlim::from_raw(9_223_372_036_854_775_807)).unwrap(),
            "\"unlimited\""
        );
    }
}
