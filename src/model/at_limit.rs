//! A process already at its limit: a ceiling of 0 more connections says what the process holds
//! now (its connections, and the fds, ports or processes of the table that stops it), so that
//! "0" reads as "full", not as "cannot hold one". For every process target (`--pid`,
//! `--process`, `--unit`, a snapshot of one), on every OS.

use serde::{Deserialize, Serialize};

use super::names::*;
use super::{Prediction, erlang, macos, nofile};
use crate::snapshot::{Rlim, Snapshot};

/// What a process at its limit holds now.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct AtLimit {
    /// The connected TCP sockets the process holds now (null when they were not read).
    pub connected_sockets: Option<u64>,
    /// The entries of the bottleneck's table in use now (fds, ports, processes).
    pub in_use: Option<u64>,
    /// The size of that table.
    pub of: Option<u64>,
    /// What the table is: `fds (erts' fd table, max_fds)`, `fds (RLIMIT_NOFILE)`, ….
    pub table: Option<String>,
}

/// Set when the process is a running one and no more connections fit (ceiling 0).
pub fn of(snap: &Snapshot, p: &Prediction) -> Option<AtLimit> {
    if snap.process.is_self || p.ceiling > 0 {
        return None;
    }
    let open = snap.process.open_fds;
    let (in_use, table) = match p.bottleneck? {
        ERLANG_MAX_FDS => {
            let e = erlang::caps(snap)?;
            (
                Some((open, e.max_fds.value)),
                "fds (erts' fd table, max_fds)",
            )
        }
        ERLANG_PORT_LIMIT => {
            let e = erlang::caps(snap)?;
            (
                Some((e.ports_in_use.value, e.port_limit.value)),
                "ports (erts' port table, +Q)",
            )
        }
        ERLANG_PROCESS_LIMIT => {
            let e = erlang::caps(snap)?;
            (
                Some((e.processes_in_use.value, e.process_limit.value)),
                "processes (erts' process table, +P)",
            )
        }
        PROCESS_FDS => match nofile::effective_nofile(snap).0 {
            Rlim::Value(v) => (Some((open, v)), "fds (RLIMIT_NOFILE)"),
            Rlim::Unlimited => (None, ""),
        },
        MAX_FILES_PER_PROC => (
            Some((open, macos::perproc(snap))),
            "fds (kern.maxfilesperproc)",
        ),
        _ => (None, ""),
    };
    Some(AtLimit {
        connected_sockets: snap.usage.process_connections,
        in_use: in_use.map(|(u, _)| u),
        of: in_use.map(|(_, o)| o),
        table: in_use.map(|_| table.to_string()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Scenario, ScenarioKind, predict};

    /// A node whose RLIMIT_NOFILE was raised after boot: erts' 4096-fd table stops it.
    fn node(open: u64, conns: u64) -> Snapshot {
        let mut s: Snapshot = serde_saphyr::from_str(
            "schema: 1\nplatform: {os: linux, kernel: 6.1.0}\nfs: {file_max: 9000000, nr_open: 1048576}\nprocess:\n  pid: 4242\n  nofile: {soft: 8192, hard: 8192}\nruntime:\n  kind: erlang\n  erlang:\n    max_fds: {value: 4096, source: erl_child_setup}\n",
        )
        .unwrap();
        s.process.open_fds = open;
        s.usage.process_connections = Some(conns);
        s
    }

    #[test]
    fn full_node_says_what_it_holds() {
        let p = predict(&node(4096, 2038), &Scenario::new(ScenarioKind::Loopback));
        assert_eq!(p.ceiling, 0, "{:#?}", p.ceilings);
        let a = p.at_limit.expect("at its limit");
        assert_eq!(a.connected_sockets, Some(2038));
        assert_eq!((a.in_use, a.of), (Some(4096), Some(4096)));
        assert!(a.table.unwrap().contains("erts"));
        // Room for more: nothing to say.
        let p = predict(&node(100, 40), &Scenario::new(ScenarioKind::Loopback));
        assert!(p.ceiling > 0 && p.at_limit.is_none());
    }
}
