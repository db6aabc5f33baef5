//! Stable names, shared by the model, checks, JSON and flood stop reasons: the ceilings
//! (`ephemeral_ports` …), the check IDs (`ProcessFds` …) and the scope of a limit. Their serde
//! names are the JSON contract (docs/checks.md, docs/model.md).

use serde::{Deserialize, Serialize};

pub use crate::settings::Scope;

macro_rules! names {
    ($(#[$m:meta])* $ty:ident { $($(#[$vm:meta])* $v:ident = $s:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema)]
        pub enum $ty {
            $($(#[$vm])* #[serde(rename = $s)] $v),+
        }

        impl $ty {
            /// Every name, in declaration order.
            pub const ALL: &[$ty] = &[$($ty::$v),+];

            /// The name as JSON and the text output spell it.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $($ty::$v => $s),+
                }
            }

            /// The name spelled exactly as [`Self::as_str`] does.
            pub fn parse(s: &str) -> Option<$ty> {
                Self::ALL.iter().copied().find(|n| n.as_str() == s)
            }
        }

        impl std::fmt::Display for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl PartialEq<str> for $ty {
            fn eq(&self, other: &str) -> bool {
                self.as_str() == other
            }
        }

        impl PartialEq<$ty> for String {
            fn eq(&self, other: &$ty) -> bool {
                self == other.as_str()
            }
        }

        impl PartialEq<$ty> for &str {
            fn eq(&self, other: &$ty) -> bool {
                *self == other.as_str()
            }
        }

        impl PartialEq<&str> for $ty {
            fn eq(&self, other: &&str) -> bool {
                self.as_str() == *other
            }
        }
    };
}

names! {
    /// A concurrency or rate ceiling of the model.
    CeilingName {
        EphemeralPorts = "ephemeral_ports",
        ProcessFds = "process_fds",
        /// macOS: `kern.maxfilesperproc`, the per-process cap xnu applies on top of RLIMIT_NOFILE.
        MaxFilesPerProc = "max_files_per_proc",
        SystemFiles = "system_files",
        AcceptQueue = "accept_queue",
        Conntrack = "conntrack",
        Memory = "memory",
        Tasks = "tasks",
        ErlangMaxFds = "erlang_max_fds",
        ErlangPortLimit = "erlang_port_limit",
        ErlangProcessLimit = "erlang_process_limit",
        NginxWorkerConnections = "nginx_worker_connections",
        HaproxyMaxconn = "haproxy_maxconn",
        SelectFdSetsize = "select_fd_setsize",
        AppLimit = "app_limit",
        RedisMaxclients = "redis_maxclients",
        PostgresMaxConnections = "postgres_max_connections",
        MysqlMaxConnections = "mysql_max_connections",
        TimeWaitRate = "time_wait_rate",
        RabbitmqSocketLimit = "rabbitmq_socket_limit",
        RabbitmqConnectionMax = "rabbitmq_connection_max",
        MosquittoMaxConnections = "mosquitto_max_connections",
        PgbouncerMaxClientConn = "pgbouncer_max_client_conn",
        LighttpdMaxConnections = "lighttpd_max_connections",
        ApacheMaxRequestWorkers = "apache_max_request_workers",
        ApacheAsyncConnections = "apache_async_connections",
        MemcachedMaxconns = "memcached_maxconns",
    }
}

names! {
    /// A check's stable ID (docs/checks.md).
    CheckId {
        Require = "Require",
        /// `--require` cannot be judged: the verdict flips within an assumed value's range.
        CannotTell = "CannotTell",
        /// `check --with`: a setting of the profile that does not reach the process.
        NotReached = "NotReached",
        EphemeralPorts = "EphemeralPorts",
        ProcessFds = "ProcessFds",
        /// The `--require` check of the macOS `max_files_per_proc` ceiling: `--ignore` takes it
        /// ([`IGNORABLE_ONLY`]); not in [`IDS`], so Linux textfiles do not list it.
        MaxFilesPerProc = "MaxFilesPerProc",
        SystemFiles = "SystemFiles",
        AcceptQueue = "AcceptQueue",
        Conntrack = "Conntrack",
        Memory = "Memory",
        Tasks = "Tasks",
        ErlangMaxFds = "ErlangMaxFds",
        ErlangPortLimit = "ErlangPortLimit",
        ErlangProcessLimit = "ErlangProcessLimit",
        NginxWorkerConnections = "NginxWorkerConnections",
        HaproxyMaxconn = "HaproxyMaxconn",
        SelectFdSetsize = "SelectFdSetsize",
        AppLimit = "AppLimit",
        RedisMaxclients = "RedisMaxclients",
        TimeWaitRate = "TimeWaitRate",
        ErlangBootFds = "ErlangBootFds",
        ErlangFlags = "ErlangFlags",
        HardLimitLocked = "HardLimitLocked",
        SoftLimit1024 = "SoftLimit1024",
        SoftLimit256 = "SoftLimit256",
        Somaxconn = "Somaxconn",
        TimeWaitReuse = "TimeWaitReuse",
        PortRangeParity = "PortRangeParity",
        ProcSysReadOnly = "ProcSysReadOnly",
        Container = "Container",
        FdUsage = "FdUsage",
        TimeWaitUsage = "TimeWaitUsage",
        ConntrackUsage = "ConntrackUsage",
        SystemFilesUsage = "SystemFilesUsage",
        KernelLog = "KernelLog",
        PostgresMaxConnections = "PostgresMaxConnections",
        MysqlMaxConnections = "MysqlMaxConnections",
        RabbitmqSocketLimit = "RabbitmqSocketLimit",
        RabbitmqConnectionMax = "RabbitmqConnectionMax",
        MosquittoMaxConnections = "MosquittoMaxConnections",
        PgbouncerMaxClientConn = "PgbouncerMaxClientConn",
        LighttpdMaxConnections = "LighttpdMaxConnections",
        ApacheMaxRequestWorkers = "ApacheMaxRequestWorkers",
        ApacheAsyncConnections = "ApacheAsyncConnections",
        MemcachedMaxconns = "MemcachedMaxconns",
    }
}

/// Check IDs `--ignore` accepts beyond [`IDS`]: macOS-only ones the textfile lists only when
/// they are reported.
pub const IGNORABLE_ONLY: &[CheckId] = &[CheckId::MaxFilesPerProc];

/// Every check ID `--ignore` accepts and the prometheus output lists, in that order.
pub const IDS: &[CheckId] = {
    use CheckId::*;
    &[
        Require,
        CannotTell,
        NotReached,
        EphemeralPorts,
        ProcessFds,
        SystemFiles,
        AcceptQueue,
        Conntrack,
        Memory,
        Tasks,
        ErlangMaxFds,
        ErlangPortLimit,
        ErlangProcessLimit,
        NginxWorkerConnections,
        HaproxyMaxconn,
        SelectFdSetsize,
        AppLimit,
        RedisMaxclients,
        ErlangBootFds,
        ErlangFlags,
        HardLimitLocked,
        SoftLimit1024,
        SoftLimit256,
        Somaxconn,
        TimeWaitReuse,
        PortRangeParity,
        ProcSysReadOnly,
        Container,
        FdUsage,
        TimeWaitUsage,
        ConntrackUsage,
        SystemFilesUsage,
        KernelLog,
        PostgresMaxConnections,
        MysqlMaxConnections,
        RabbitmqSocketLimit,
        RabbitmqConnectionMax,
        MosquittoMaxConnections,
        PgbouncerMaxClientConn,
        LighttpdMaxConnections,
        ApacheMaxRequestWorkers,
        ApacheAsyncConnections,
        MemcachedMaxconns,
    ]
};

/// [`IDS`] spelled out, for the command line and the prometheus output.
pub const ID_STRS: [&str; IDS.len()] = {
    let mut out = [""; IDS.len()];
    let mut i = 0;
    while i < IDS.len() {
        out[i] = IDS[i].as_str();
        i += 1;
    }
    out
};

impl CheckId {
    /// `--ignore`'s spelling, case-insensitive (`hardlimitlocked`); only the IDs of [`IDS`].
    pub fn from_input(s: &str) -> Option<CheckId> {
        IDS.iter()
            .chain(IGNORABLE_ONLY)
            .copied()
            .find(|k| k.as_str().eq_ignore_ascii_case(s))
    }
}

impl CeilingName {
    /// The check reporting this ceiling under `--require` (`process_fds` → `ProcessFds`).
    pub fn check_id(self) -> CheckId {
        use CeilingName as C;
        match self {
            C::EphemeralPorts => CheckId::EphemeralPorts,
            C::ProcessFds => CheckId::ProcessFds,
            C::MaxFilesPerProc => CheckId::MaxFilesPerProc,
            C::SystemFiles => CheckId::SystemFiles,
            C::AcceptQueue => CheckId::AcceptQueue,
            C::Conntrack => CheckId::Conntrack,
            C::Memory => CheckId::Memory,
            C::Tasks => CheckId::Tasks,
            C::ErlangMaxFds => CheckId::ErlangMaxFds,
            C::ErlangPortLimit => CheckId::ErlangPortLimit,
            C::ErlangProcessLimit => CheckId::ErlangProcessLimit,
            C::NginxWorkerConnections => CheckId::NginxWorkerConnections,
            C::HaproxyMaxconn => CheckId::HaproxyMaxconn,
            C::SelectFdSetsize => CheckId::SelectFdSetsize,
            C::AppLimit => CheckId::AppLimit,
            C::RedisMaxclients => CheckId::RedisMaxclients,
            C::PostgresMaxConnections => CheckId::PostgresMaxConnections,
            C::MysqlMaxConnections => CheckId::MysqlMaxConnections,
            C::TimeWaitRate => CheckId::TimeWaitRate,
            C::RabbitmqSocketLimit => CheckId::RabbitmqSocketLimit,
            C::RabbitmqConnectionMax => CheckId::RabbitmqConnectionMax,
            C::MosquittoMaxConnections => CheckId::MosquittoMaxConnections,
            C::PgbouncerMaxClientConn => CheckId::PgbouncerMaxClientConn,
            C::LighttpdMaxConnections => CheckId::LighttpdMaxConnections,
            C::ApacheMaxRequestWorkers => CheckId::ApacheMaxRequestWorkers,
            C::ApacheAsyncConnections => CheckId::ApacheAsyncConnections,
            C::MemcachedMaxconns => CheckId::MemcachedMaxconns,
        }
    }
}

pub const EPHEMERAL_PORTS: CeilingName = CeilingName::EphemeralPorts;
pub const PROCESS_FDS: CeilingName = CeilingName::ProcessFds;
/// macOS: `kern.maxfilesperproc`, the per-process cap xnu applies on top of RLIMIT_NOFILE.
pub const MAX_FILES_PER_PROC: CeilingName = CeilingName::MaxFilesPerProc;
pub const SYSTEM_FILES: CeilingName = CeilingName::SystemFiles;
pub const ACCEPT_QUEUE: CeilingName = CeilingName::AcceptQueue;
pub const CONNTRACK: CeilingName = CeilingName::Conntrack;
pub const MEMORY: CeilingName = CeilingName::Memory;
pub const TASKS: CeilingName = CeilingName::Tasks;
pub const ERLANG_MAX_FDS: CeilingName = CeilingName::ErlangMaxFds;
pub const ERLANG_PORT_LIMIT: CeilingName = CeilingName::ErlangPortLimit;
pub const ERLANG_PROCESS_LIMIT: CeilingName = CeilingName::ErlangProcessLimit;
pub const NGINX_WORKER_CONNECTIONS: CeilingName = CeilingName::NginxWorkerConnections;
pub const HAPROXY_MAXCONN: CeilingName = CeilingName::HaproxyMaxconn;
pub const SELECT_FD_SETSIZE: CeilingName = CeilingName::SelectFdSetsize;
pub const APP_LIMIT: CeilingName = CeilingName::AppLimit;
pub const REDIS_MAXCLIENTS: CeilingName = CeilingName::RedisMaxclients;
pub const POSTGRES_MAX_CONNECTIONS: CeilingName = CeilingName::PostgresMaxConnections;
pub const MYSQL_MAX_CONNECTIONS: CeilingName = CeilingName::MysqlMaxConnections;
pub const TIME_WAIT_RATE: CeilingName = CeilingName::TimeWaitRate;
pub const RABBITMQ_SOCKET_LIMIT: CeilingName = CeilingName::RabbitmqSocketLimit;
pub const RABBITMQ_CONNECTION_MAX: CeilingName = CeilingName::RabbitmqConnectionMax;
pub const MOSQUITTO_MAX_CONNECTIONS: CeilingName = CeilingName::MosquittoMaxConnections;
pub const PGBOUNCER_MAX_CLIENT_CONN: CeilingName = CeilingName::PgbouncerMaxClientConn;
pub const LIGHTTPD_MAX_CONNECTIONS: CeilingName = CeilingName::LighttpdMaxConnections;
pub const APACHE_MAX_REQUEST_WORKERS: CeilingName = CeilingName::ApacheMaxRequestWorkers;
pub const APACHE_ASYNC_CONNECTIONS: CeilingName = CeilingName::ApacheAsyncConnections;
pub const MEMCACHED_MAXCONNS: CeilingName = CeilingName::MemcachedMaxconns;

/// The JSON Schema of a bottleneck (see [`bottleneck_serde`]): a ceiling's name, or `""`.
pub fn bottleneck_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    let mut names: Vec<&str> = CeilingName::ALL.iter().map(|n| n.as_str()).collect();
    names.push("");
    schemars::json_schema!({
        "type": "string",
        "enum": names,
        "description": "The lowest ceiling's name, or \"\" when no ceiling applies."
    })
}

/// The bottleneck as JSON has always spelled it: the name, or `""` when there is none.
pub mod bottleneck_serde {
    use super::CeilingName;
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    pub fn serialize<S: Serializer>(b: &Option<CeilingName>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(b.map_or("", CeilingName::as_str))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<CeilingName>, D::Error> {
        let s = String::deserialize(d)?;
        if s.is_empty() {
            return Ok(None);
        }
        CeilingName::parse(&s)
            .map(Some)
            .ok_or_else(|| D::Error::custom(format!("unknown ceiling `{s}`")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serde_names_are_the_strings() {
        for n in CeilingName::ALL {
            assert_eq!(
                serde_json::to_string(n).unwrap(),
                format!("\"{}\"", n.as_str())
            );
            assert_eq!(CeilingName::parse(n.as_str()), Some(*n));
        }
        for id in CheckId::ALL {
            assert_eq!(
                serde_json::to_string(id).unwrap(),
                format!("\"{}\"", id.as_str())
            );
        }
        assert_eq!(serde_json::to_string(&Scope::Netns).unwrap(), "\"netns\"");
    }

    #[test]
    fn check_ids() {
        assert_eq!(PROCESS_FDS.check_id().as_str(), "ProcessFds");
        assert_eq!(ERLANG_PORT_LIMIT.check_id().as_str(), "ErlangPortLimit");
        // The ID is the ceiling's name in CamelCase.
        for n in CeilingName::ALL {
            let camel: String = n
                .as_str()
                .split('_')
                .map(|w| {
                    let mut c = w.chars();
                    c.next()
                        .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                        .unwrap_or_default()
                })
                .collect();
            assert_eq!(n.check_id().as_str(), camel);
        }
        for n in [
            EPHEMERAL_PORTS,
            PROCESS_FDS,
            SYSTEM_FILES,
            ERLANG_MAX_FDS,
            NGINX_WORKER_CONNECTIONS,
            POSTGRES_MAX_CONNECTIONS,
            MYSQL_MAX_CONNECTIONS,
        ] {
            assert!(IDS.contains(&n.check_id()), "{n}");
        }
        assert_eq!(
            CheckId::from_input("hardlimitlocked"),
            Some(CheckId::HardLimitLocked)
        );
        assert_eq!(
            CheckId::from_input("maxfilesperproc"),
            Some(CheckId::MaxFilesPerProc)
        );
        assert_eq!(CheckId::from_input("nope"), None);
    }

    #[test]
    fn bottleneck_as_before() {
        #[derive(Serialize, Deserialize, PartialEq, Debug)]
        struct P {
            #[serde(with = "bottleneck_serde")]
            b: Option<CeilingName>,
        }
        let none = P { b: None };
        assert_eq!(serde_json::to_string(&none).unwrap(), r#"{"b":""}"#);
        let some = P {
            b: Some(PROCESS_FDS),
        };
        assert_eq!(
            serde_json::to_string(&some).unwrap(),
            r#"{"b":"process_fds"}"#
        );
        assert_eq!(serde_json::from_str::<P>(r#"{"b":""}"#).unwrap(), none);
        assert_eq!(
            serde_json::from_str::<P>(r#"{"b":"process_fds"}"#).unwrap(),
            some
        );
    }
}
