//! The prediction model: pure functions of a [`Snapshot`] and a [`Scenario`].
//! No I/O, no clock, no environment. See docs/model.md for every formula and its source.

pub mod ceilings;
pub mod checks;
pub mod erlang;
pub mod evidence;
pub mod fmt;
pub mod knobs;
pub mod macos;
pub mod scenario;
pub mod servers;
pub mod usage;

use serde::{Deserialize, Serialize};

use crate::snapshot::Snapshot;
pub use scenario::{AppLimit, Scenario, ScenarioKind, Selector};

/// Stable ceiling names, shared by the model, checks, JSON and flood stop reasons.
pub mod names {
    pub const EPHEMERAL_PORTS: &str = "ephemeral_ports";
    pub const PROCESS_FDS: &str = "process_fds";
    /// macOS: `kern.maxfilesperproc`, the per-process cap xnu applies on top of RLIMIT_NOFILE.
    pub const MAX_FILES_PER_PROC: &str = "max_files_per_proc";
    pub const SYSTEM_FILES: &str = "system_files";
    pub const ACCEPT_QUEUE: &str = "accept_queue";
    pub const CONNTRACK: &str = "conntrack";
    pub const MEMORY: &str = "memory";
    pub const TASKS: &str = "tasks";
    pub const ERLANG_MAX_FDS: &str = "erlang_max_fds";
    pub const ERLANG_PORT_LIMIT: &str = "erlang_port_limit";
    pub const ERLANG_PROCESS_LIMIT: &str = "erlang_process_limit";
    pub const NGINX_WORKER_CONNECTIONS: &str = "nginx_worker_connections";
    pub const HAPROXY_MAXCONN: &str = "haproxy_maxconn";
    pub const SELECT_FD_SETSIZE: &str = "select_fd_setsize";
    pub const APP_LIMIT: &str = "app_limit";
    pub const REDIS_MAXCLIENTS: &str = "redis_maxclients";
    pub const TIME_WAIT_RATE: &str = "time_wait_rate";
}

/// One concurrency ceiling: how many connections this limit allows, why, and how to lift it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ceiling {
    pub name: String,
    /// Connections this limit allows for the scenario (the whole run: per-process ceilings
    /// are already multiplied by the number of processes).
    pub value: u64,
    /// True for exact counts (ports, fds, runtime tables); false for estimates (memory).
    pub exact: bool,
    /// Scope: "process", "netns" or "host".
    pub scope: String,
    /// The formula with the numbers put in.
    pub why: String,
    /// How to lift it: the exact command, sysctl, unit setting or runtime flag.
    pub lift: String,
}

/// A rate ceiling (new connections per second), reported with `--churn`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RateCeiling {
    pub name: String,
    pub per_second: f64,
    pub why: String,
    pub lift: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Prediction {
    pub scenario: Scenario,
    /// The minimum over the applicable ceilings.
    pub ceiling: u64,
    /// The name of the lowest ceiling.
    pub bottleneck: String,
    /// Every other ceiling with the same value as the bottleneck.
    pub tied: Vec<String>,
    /// Every applicable ceiling, ascending: the ladder.
    pub ceilings: Vec<Ceiling>,
    /// Ceilings that do not apply here, with the reason (e.g. system_files for root).
    pub not_applicable: Vec<NotApplicable>,
    /// Rate ceilings (churn), empty unless the scenario asks for churn.
    pub rates: Vec<RateCeiling>,
    /// What the model assumed because the snapshot did not say.
    pub assumptions: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NotApplicable {
    pub name: String,
    pub why: String,
}

impl Prediction {
    pub fn get(&self, name: &str) -> Option<&Ceiling> {
        self.ceilings.iter().find(|c| c.name == name)
    }
}

/// Predict the connection ceiling of `snap` for `scenario`.
pub fn predict(snap: &Snapshot, scenario: &Scenario) -> Prediction {
    ceilings::predict(snap, scenario)
}
