//! What the operator asks about: which kind of connections, how many destinations, ...

use serde::{Deserialize, Serialize};

#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum ScenarioKind {
    /// A server accepting connections: 1 fd per connection in that process.
    #[default]
    Inbound,
    /// A client connecting to N distinct (ip, port) destinations: 1 fd per connection.
    Outbound,
    /// Both ends in one process on 127.0.0.0/8 (the flood's self-test): 2 fds per connection.
    Loopback,
}

impl ScenarioKind {
    pub fn name(self) -> &'static str {
        match self {
            ScenarioKind::Inbound => "inbound",
            ScenarioKind::Outbound => "outbound",
            ScenarioKind::Loopback => "loopback",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Scenario {
    pub kind: ScenarioKind,
    /// Outbound: distinct (ip, port) destinations.
    pub destinations: u64,
    /// Outbound and loopback: source IPs used (127.0.0.1..N for loopback).
    pub source_ips: u64,
    /// Outbound: bind(port 0) before connect without IP_BIND_ADDRESS_NO_PORT.
    pub bind_before_connect: bool,
    /// Loopback: listening ports of the self-test.
    pub listen_ports: u64,
    /// Loopback: how many of those listening ports lie inside the ephemeral range.
    pub listen_ports_in_range: u64,
    /// Fds the scenario opens besides connections (listeners not yet open). `None`: the
    /// model's default (loopback: one per listen port; otherwise 0).
    pub extra_fds: Option<u64>,
    /// Worker processes sharing the load: per-process ceilings are multiplied by this.
    pub processes: u64,
    /// Erlang: processes spawned per connection (default 1).
    pub procs_per_conn: u64,
    /// Threads per connection (thread-per-connection servers); 0 = event-driven.
    pub threads_per_conn: u64,
    /// Inbound: the application has stopped calling accept().
    pub acceptor_paused: bool,
    /// Inbound: the clients are HTTP keep-alive sessions left idle after a request (not
    /// connections that send nothing): Apache's event MPM holds those without a worker thread.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub keep_alive: bool,
    /// Inbound: the application's listen() backlog, when known.
    pub backlog: Option<u64>,
    /// Report rate ceilings for open-close churn.
    pub churn: bool,
    /// Caps only the application knows (Node `maxConnections`, Tomcat `maxConnections`, a
    /// pool size), given by the operator: (connections, name).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub app_limits: Vec<AppLimit>,
    /// The application's event loop, when the operator names it (`select` caps fds at
    /// FD_SETSIZE); None: as detected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selector: Option<Selector>,
    /// Inbound: the port the clients connect to, for a server whose caps count per listener
    /// (mosquitto's max_connections, RabbitMQ's protocol listeners); None: every listener.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
}

/// A cap only the application knows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct AppLimit {
    pub value: u64,
    pub name: String,
}

impl std::str::FromStr for AppLimit {
    type Err = String;
    /// `N` or `N:NAME` (e.g. `5000:maxConnections`).
    fn from_str(s: &str) -> Result<Self, String> {
        let (n, name) = s
            .split_once(':')
            .unwrap_or((s, "the application's own limit"));
        let value = n
            .trim()
            .parse::<u64>()
            .ok()
            .filter(|v| (1..=1u64 << 40).contains(v))
            .ok_or_else(|| format!("{s:?}: expected N or N:NAME with N from 1 to 2^40"))?;
        if name.trim().is_empty() {
            return Err(format!("{s:?}: the name after ':' is empty"));
        }
        Ok(AppLimit {
            value,
            name: name.trim().to_string(),
        })
    }
}

/// How the application waits for its sockets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Selector {
    /// select(2): only fds below FD_SETSIZE (1024) can be watched.
    Select,
    /// poll(2): no fd-number limit.
    Poll,
    /// epoll / kqueue: no fd-number limit.
    Epoll,
}

impl Default for Scenario {
    fn default() -> Self {
        Scenario {
            kind: ScenarioKind::Inbound,
            destinations: 1,
            source_ips: 1,
            bind_before_connect: false,
            listen_ports: 1,
            listen_ports_in_range: 0,
            extra_fds: None,
            processes: 1,
            procs_per_conn: 1,
            threads_per_conn: 0,
            acceptor_paused: false,
            keep_alive: false,
            backlog: None,
            churn: false,
            app_limits: Vec::new(),
            selector: None,
            port: None,
        }
    }
}

impl Scenario {
    pub fn new(kind: ScenarioKind) -> Self {
        Scenario {
            kind,
            ..Scenario::default()
        }
    }

    /// Fds per connection in the examined process.
    pub fn fds_per_conn(&self) -> u64 {
        match self.kind {
            ScenarioKind::Loopback => 2,
            _ => 1,
        }
    }

    /// Fds the scenario opens besides connections: `extra_fds`, or by default one per
    /// listen port of a loopback self-test (listeners not yet open), else none.
    pub fn setup_fds(&self) -> u64 {
        self.extra_fds.unwrap_or(match self.kind {
            ScenarioKind::Loopback => self.listen_ports,
            _ => 0,
        })
    }

    /// Sockets per connection on the host.
    pub fn sockets_per_conn(&self) -> u64 {
        self.fds_per_conn()
    }
}

/// Bounds of the scenario numbers: far above any real host, low enough that the model's
/// products (ports × destinations × source IPs, per-process ceilings × processes) stay
/// exact in 64 bits. Above them clap refuses the argument (exit 2).
pub const MAX_DESTINATIONS: u64 = 1 << 24;
/// See [`MAX_DESTINATIONS`].
pub const MAX_SOURCE_IPS: u64 = 1 << 16;
/// pid_max's ceiling (4194304): no more processes can exist.
pub const MAX_PROCESSES: u64 = 1 << 22;
/// See [`MAX_DESTINATIONS`].
pub const MAX_PER_CONN: u64 = 1 << 20;
/// Largest connection count asked for (`--require`, `require.connections`): 2^40.
pub const MAX_CONNECTIONS: u64 = 1 << 40;
