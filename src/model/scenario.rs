//! What the operator asks about: which kind of connections, how many destinations, ...

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
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

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
    /// Inbound: the application's listen() backlog, when known.
    pub backlog: Option<u64>,
    /// Report rate ceilings for open-close churn.
    pub churn: bool,
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
            backlog: None,
            churn: false,
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
