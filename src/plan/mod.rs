//! Plan: (host values, Profile) → the list of changes `key: old → new`, each with its scope,
//! the privilege it needs and whether something must restart. The same plan applied to a
//! copy of a snapshot gives the predicted ceiling after the change (`what_if`).
//!
//! Planning reads, never writes. It reads through [`HostView`]: the live host
//! ([`LiveHost`]: a sysctl root, /proc/PID/limits, files under `--root`) or a snapshot
//! ([`SnapshotHost`], for `check --with` on any host).

//!
//! Files: this one holds the plan's types; `host` what planning reads through; `build` the
//! profile → changes diff (and the persisted files' contents); `whatif` the plan applied to a
//! snapshot.

mod build;
pub mod files;
mod host;
pub mod launchd;
pub mod reach;
mod whatif;

pub use build::*;
pub use host::*;
pub use reach::Reach;
pub use whatif::*;

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::model::Scenario;
use crate::profile::{ErlangSection, LimitPair};
use crate::snapshot::Limit;
use crate::snapshot::host::Resource;

/// Where a change lands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// The running kernel or process, now.
    Live,
    /// A file read at boot or login (sysctl.d, limits.d).
    File,
    /// A systemd unit or manager setting (drop-in).
    Unit,
    /// A runtime's configuration (Erlang vm.args).
    Runtime,
}

impl std::fmt::Display for Scope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Scope::Live => "live",
            Scope::File => "file",
            Scope::Unit => "unit",
            Scope::Runtime => "runtime config",
        })
    }
}

/// What apply does for one change, with the old state. It is also the journal's entry
/// (`apply::journal::Entry`), written as JSON tagged by `kind`; a journal holds only actions
/// whose old value is known.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Action {
    Sysctl {
        key: String,
        old: Option<String>,
        new: String,
    },
    Rlimit {
        pid: u32,
        resource: Resource,
        old: Option<Limit>,
        new: Limit,
    },
    File {
        path: PathBuf,
        old: Option<String>,
        old_mode: Option<u32>,
        new: String,
        mode: u32,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Change {
    /// The sysctl key, `pid:N nofile`, or the file path.
    pub key: String,
    /// The value now (`null` when unknown or the file does not exist).
    pub from: Option<String>,
    pub to: String,
    pub scope: Scope,
    /// Whether root (or a capability) is needed.
    pub needs_root: bool,
    /// The privilege this change needs, in words.
    pub needs: String,
    /// Whether this process has it (always true in a what-if on a snapshot).
    pub allowed: bool,
    /// What must restart for the change to take effect, if anything.
    pub restart: Option<String>,
    /// Why this value (min/max semantics).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub why: Option<String>,
    /// New file content, for file changes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    #[serde(skip)]
    pub action: Action,
}

/// A setting already in place.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Unchanged {
    pub key: String,
    pub value: String,
    pub why: String,
}

/// A setting not planned, and why.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Skipped {
    pub key: String,
    pub why: String,
}

/// Ceiling before → after for the profile's scenario.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct WhatIf {
    pub required: Option<u64>,
    pub before: u64,
    pub before_bottleneck: String,
    pub after: u64,
    pub after_bottleneck: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Plan {
    pub profile: String,
    pub source: String,
    pub persist: bool,
    pub changes: Vec<Change>,
    pub unchanged: Vec<Unchanged>,
    pub skipped: Vec<Skipped>,
    pub warnings: Vec<String>,
    pub scenario: Scenario,
    /// The profile's rlimits (the what-if gives them to the examined process).
    pub nofile: Option<LimitPair>,
    pub nproc: Option<LimitPair>,
    pub erlang: Option<ErlangSection>,
    /// Where the profile's limits go (the what-if credits them only where one reaches).
    #[serde(skip)]
    pub limit_targets: Vec<crate::profile::LimitTarget>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prediction: Option<WhatIf>,
    /// The prefix of every persisted path (`--root`; "/" on a real host): recorded in the
    /// journal, so a rollback restores only porttune's own files under it.
    #[serde(skip)]
    pub root: PathBuf,
    /// Each setting and whether it reaches the process the what-if is for (filled by
    /// `attach_prediction`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub reach: Vec<Reach>,
}

/// For a live sysctl change this process may not make (a container, or not root): where it
/// belongs instead. Per-network-namespace keys can be set for one container or pod; host-wide
/// ones only on the host.
pub fn where_instead(c: &Change) -> Option<String> {
    if c.allowed || c.scope != Scope::Live || c.key.starts_with("pid:") {
        return None;
    }
    Some(if crate::model::knobs::is_per_netns(&c.key) {
        format!(
            "per network namespace: set it for the container instead (`docker run --sysctl {}=\"{}\"`, or a pod's securityContext.sysctls)",
            c.key, c.to
        )
    } else {
        "host-wide: it belongs on the host (a container cannot set it)".to_string()
    })
}

impl Plan {
    /// Changes this process may not make: (key, what it needs).
    pub fn missing_privileges(&self) -> Vec<(&str, &str)> {
        self.changes
            .iter()
            .filter(|c| !c.allowed)
            .map(|c| (c.key.as_str(), c.needs.as_str()))
            .collect()
    }
}

/// The current value of a sysctl as a host view sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cur {
    Value(String),
    /// Not present on this kernel (no such file under the sysctl root).
    Absent,
    /// The view does not know (a snapshot without this field).
    Unknown,
}

/// A file as a host view sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileCur {
    Content { text: String, mode: Option<u32> },
    Absent,
    Unknown,
}

/// How to plan.
#[derive(Debug, Clone)]
pub struct PlanOptions {
    /// Persist to files (None: as the profile says).
    pub persist: Option<bool>,
    /// Prefix of every persisted path (`--root`); "/" on a real host.
    pub root: PathBuf,
}

impl Default for PlanOptions {
    fn default() -> Self {
        PlanOptions {
            persist: None,
            root: PathBuf::from("/"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model;
    use crate::snapshot::{Fs, Limit, Net, PortRange, Rlim, Snapshot};

    /// A Linux-defaults host (limits-facts: kernel defaults, systemd service limits).
    pub fn linux_defaults() -> Snapshot {
        Snapshot {
            net: Net {
                ip_local_port_range: Some(PortRange {
                    lo: 32768,
                    hi: 60999,
                }),
                ip_unprivileged_port_start: Some(1024),
                tcp_tw_reuse: Some(2),
                tcp_timestamps: Some(1),
                tcp_max_tw_buckets: Some(131072),
                tcp_fin_timeout: Some(60),
                somaxconn: Some(4096),
                tcp_max_syn_backlog: Some(2048),
                tcp_syncookies: Some(1),
                ..Net::default()
            },
            fs: Fs {
                file_max: Some(2_466_170),
                nr_open: Some(1_048_576),
                ..Fs::default()
            },
            process: crate::snapshot::Process {
                nofile: Limit {
                    soft: Rlim::Value(1024),
                    hard: Rlim::Value(524288),
                },
                ..Default::default()
            },
            ..Snapshot::default()
        }
    }

    #[test]
    fn production_raises_the_ceiling_on_linux_defaults() {
        let snap = linux_defaults();
        let (after, plan) = what_if(&snap, "production").unwrap();
        assert_eq!(after.process.nofile.soft, Rlim::Value(1_048_576));
        assert_eq!(after.net.somaxconn, Some(65535));
        assert_eq!(after.fs.file_max, Some(2_466_170), "min never lowers");
        assert_eq!(
            after.net.ip_local_port_range,
            Some(PortRange {
                lo: 10240,
                hi: 65535
            })
        );
        let w = plan.prediction.unwrap();
        assert_eq!(w.required, Some(500_000));
        let before = model::predict(&snap, &plan.scenario);
        let aft = model::predict(&after, &plan.scenario);
        assert_eq!((w.before, w.after), (before.ceiling, aft.ceiling));
        if before.ceiling > 0 {
            // The real model has landed: the ceiling must rise, past the requirement.
            assert!(
                aft.ceiling > before.ceiling,
                "{} -> {}",
                before.ceiling,
                aft.ceiling
            );
            assert!(aft.ceiling >= 500_000, "after: {}", aft.ceiling);
        }
    }

    #[test]
    fn min_never_lowers_max_never_raises() {
        let mut snap = linux_defaults();
        snap.net.somaxconn = Some(100_000);
        let (_, plan) = what_if(&snap, "production").unwrap();
        assert!(plan.changes.iter().all(|c| c.key != "net.core.somaxconn"));
        assert!(plan.unchanged.iter().any(|u| u.key == "net.core.somaxconn"));
    }

    #[test]
    fn snapshot_roundtrip() {
        let mut s = Snapshot::default();
        for (k, v) in [
            ("net.ipv4.ip_local_port_range", "1024 65535"),
            ("net.core.somaxconn", "8192"),
            ("fs.nr_open", "2097152"),
            ("net.ipv4.tcp_mem", "1 2 3"),
        ] {
            assert!(snapshot_set(&mut s, k, v));
            assert_eq!(snapshot_get(&s, k).as_deref(), Some(v));
        }
        assert!(!snapshot_set(&mut s, "net.ipv4.tcp_keepalive_time", "600"));
    }
}
