//! Erlang/OTP caps derived from the facts in the snapshot (limits-facts.md §10, macos-facts.md).
//!
//! The snapshot records what was read: the soft RLIMIT_NOFILE, the OS, the flags asked for
//! (+Q/+P/ERL_MAX_PORTS) and, for a running node, the boot-time fd table when its
//! `erl_child_setup` child showed it. Everything that follows from those facts is derived here,
//! so a facts-only snapshot and a live probe give the same answer.

use crate::snapshot::runtime::erlang::{self, effective_table};
use crate::snapshot::{Os, Rlim, Snapshot, Sourced};

/// Fds an idle `erl -noshell` node holds (limits-facts.md 10.7), for nodes not yet running.
pub const ERLANG_BASELINE_FDS: u64 = 19;

/// The fds the process holds besides its connections: one baseline for every fd rung of a
/// ladder. A node not yet started (porttune's own process stands in for it: `--runtime
/// erlang`) counts an idle node's [`ERLANG_BASELINE_FDS`], not porttune's own fds; anything
/// else its fds open now.
pub fn base_fds(snap: &Snapshot) -> u64 {
    if snap.process.is_self && snap.runtime.kind.on_erlang() {
        ERLANG_BASELINE_FDS
    } else {
        snap.process.open_fds
    }
}

/// The caps of an Erlang node, every value with where it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Caps {
    /// The fd table erts sized at boot (`max_fds`).
    pub max_fds: Sourced,
    /// Whether `max_fds` was read from the node (true) or derived from its limits (false).
    pub max_fds_read: bool,
    /// The port table (+Q / ERL_MAX_PORTS rounded up to a power of two, or the default).
    pub port_limit: Sourced,
    /// Whether +Q / ERL_MAX_PORTS was set.
    pub port_limit_set: bool,
    /// The process table (+P rounded up to a power of two, or the default).
    pub process_limit: Sourced,
    pub ports_in_use: Sourced,
    pub processes_in_use: Sourced,
    /// `-kernel inet_backend socket`: gen_tcp sockets are NIFs, not ports.
    pub socket_backend: bool,
}

/// The fd table erts sizes at boot from the soft RLIMIT_NOFILE it starts with: a finite soft
/// limit is taken as it is; an unlimited one is 24576 on macOS (OTP ≥ 23.2: erlang/otp#2908,
/// #4431) and `fs.nr_open` on Linux (the kernel's ceiling for any limit).
pub fn derived_max_fds(snap: &Snapshot) -> Sourced {
    let who = if snap.process.is_self {
        "the soft RLIMIT_NOFILE the node would start with (this shell's)"
    } else {
        "the node's soft RLIMIT_NOFILE (its boot-time value was not read)"
    };
    match (snap.process.nofile.soft, snap.platform.os) {
        (Rlim::Value(v), _) => Sourced {
            value: v,
            source: who.to_string(),
        },
        (Rlim::Unlimited, Os::Macos) => Sourced {
            value: erlang::MACOS_UNLIMITED_MAX_FDS,
            source: "macOS with an unlimited soft RLIMIT_NOFILE: erts sizes its fd table at 24576 \
                     (OTP ≥ 23.2)"
                .into(),
        },
        (Rlim::Unlimited, _) => {
            let nr = snap.fs.nr_open.unwrap_or(1 << 20);
            Sourced {
                value: nr,
                source: format!(
                    "an unlimited soft RLIMIT_NOFILE: fs.nr_open {nr}{}",
                    if snap.fs.nr_open.is_none() {
                        " (assumed: the default)"
                    } else {
                        ""
                    }
                ),
            }
        }
    }
}

fn rounded(s: &Sourced) -> Sourced {
    let v = effective_table(s.value);
    Sourced {
        value: v,
        source: if v == s.value {
            s.source.clone()
        } else {
            format!("{}, rounded up to a power of two", s.source)
        },
    }
}

/// The caps of the node the snapshot describes, or `None` when it is not an Erlang node.
pub fn caps(snap: &Snapshot) -> Option<Caps> {
    if !snap.runtime.kind.on_erlang() {
        return None;
    }
    let e = snap.runtime.erlang.clone().unwrap_or_default();
    let max_fds_read = e.max_fds.is_some();
    let max_fds = e.max_fds.unwrap_or_else(|| derived_max_fds(snap));
    let port_limit_set = e.port_limit.is_some();
    let port_limit = match &e.port_limit {
        Some(s) => rounded(s),
        // erts raises the default port table to the fd table when that is larger.
        None if max_fds.value > erlang::DEFAULT_PORTS => Sourced {
            value: effective_table(max_fds.value),
            source: format!(
                "the default 65536 raised to the fd table {} (no +Q)",
                max_fds.value
            ),
        },
        None => Sourced {
            value: erlang::DEFAULT_PORTS,
            source: "the default (+Q not set)".into(),
        },
    };
    let process_limit = match &e.process_limit {
        Some(s) => rounded(s),
        None => Sourced {
            value: erlang::DEFAULT_PROCESSES,
            source: "the default (+P not set)".into(),
        },
    };
    Some(Caps {
        max_fds,
        max_fds_read,
        port_limit,
        port_limit_set,
        process_limit,
        ports_in_use: e.ports_in_use.unwrap_or(Sourced {
            value: erlang::BASELINE_PORTS,
            source: "a bare node holds 3 ports".into(),
        }),
        processes_in_use: e.processes_in_use.unwrap_or(Sourced {
            value: erlang::BASELINE_PROCESSES,
            source: "a bare node runs about 38 processes".into(),
        }),
        socket_backend: e.inet_backend.as_deref() == Some("socket"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::{Erlang, Limit, RuntimeKind};

    fn node(os: Os, soft: Rlim) -> Snapshot {
        let mut s = Snapshot::default();
        s.platform.os = os;
        s.process.nofile = Limit {
            soft,
            hard: Rlim::Unlimited,
        };
        s.runtime.kind = RuntimeKind::Erlang;
        s
    }

    #[test]
    fn max_fds_from_facts() {
        let c = caps(&node(Os::Macos, Rlim::Unlimited)).unwrap();
        assert_eq!(c.max_fds.value, 24_576);
        assert!(!c.max_fds_read);
        assert_eq!(
            c.port_limit.value, 65_536,
            "24576 < 65536: the default stays"
        );
        assert_eq!(c.process_limit.value, 262_144);
        let mut linux = node(Os::Linux, Rlim::Unlimited);
        linux.fs.nr_open = Some(2_000_000);
        let c = caps(&linux).unwrap();
        assert_eq!(c.max_fds.value, 2_000_000);
        assert_eq!(
            c.port_limit.value, 2_097_152,
            "raised to the fd table, rounded"
        );
        let c = caps(&node(Os::Macos, Rlim::Value(10_000))).unwrap();
        assert_eq!(c.max_fds.value, 10_000);
        assert!(caps(&Snapshot::default()).is_none());
    }

    #[test]
    fn read_values_win_and_flags_round() {
        let mut s = node(Os::Macos, Rlim::Unlimited);
        s.runtime.erlang = Some(Erlang {
            port_limit: Some(Sourced {
                value: 5000,
                source: "+Q 5000 (vm.args)".into(),
            }),
            process_limit: Some(Sourced {
                value: 134_217_727,
                source: "+P 134217727".into(),
            }),
            max_fds: Some(Sourced {
                value: 4096,
                source: "erl_child_setup".into(),
            }),
            ..Erlang::default()
        });
        let c = caps(&s).unwrap();
        assert_eq!(c.max_fds.value, 4096);
        assert!(c.max_fds_read);
        assert_eq!(c.port_limit.value, 8192);
        assert!(c.port_limit.source.contains("rounded up"));
        assert_eq!(
            c.process_limit.value, 134_217_727,
            "the maximum is not rounded"
        );
    }
}
