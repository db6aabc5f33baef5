//! "Lift the bottleneck and the next limit is …": the host as the bottleneck's own lift would
//! leave it, predicted again, so the next limit accounts for everything that lift changes (a
//! soft limit raised before an Erlang node starts also resizes its fd table; raising
//! kern.maxfilesperproc on a Mac comes with kern.maxfiles).

use serde::{Deserialize, Serialize};

use super::ctx::{above, suggested_nofile};
use super::names::*;
use super::{CeilingName, Prediction, Scenario};
use crate::snapshot::{Os, PortRange, Rlim, Snapshot, Sourced};

/// The limit after the bottleneck's lift.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Next {
    /// The rung lifted (the bottleneck).
    pub lifted: CeilingName,
    /// The limit then, and its connections.
    pub name: CeilingName,
    pub value: u64,
}

fn raise_nofile(s: &mut Snapshot, to: u64) {
    let v = Rlim::Value(to);
    s.process.nofile.soft = s.process.nofile.soft.max(v);
    s.process.nofile.hard = s.process.nofile.hard.max(v);
    if s.platform.os != Os::Macos {
        s.fs.nr_open = Some(s.fs.nr_open.unwrap_or(1 << 20).max(to));
    } else if to > super::macos::perproc(s) {
        // The Mac lift raises kern.maxfilesperproc with it, and kern.maxfiles to twice that.
        s.fs.maxfilesperproc = Some(to);
        s.fs.file_max = Some(s.fs.file_max.unwrap_or(0).max(to.saturating_mul(2)));
    }
}

/// Fds a process needs to hold `conns` connections, plus one, rounded up to a whole 1024.
fn fds_for(snap: &Snapshot, sc: &Scenario, conns: u64) -> u64 {
    super::nofile::fds_needed(snap, sc, conns.saturating_add(1))
        .div_ceil(1024)
        .saturating_mul(1024)
}

/// The snapshot as the lift of `name` would leave it, lifted far enough to pass `past` (the
/// rung above it; None: the lift's own suggestion); None where the lift is not a setting
/// porttune can put into a snapshot (hardware, the application's design).
fn lifted(
    snap: &Snapshot,
    sc: &Scenario,
    p: &Prediction,
    name: CeilingName,
    past: Option<u64>,
) -> Option<Snapshot> {
    let mut s = snap.clone();
    let fpc = sc.fds_per_conn();
    match name {
        PROCESS_FDS | MAX_FILES_PER_PROC => {
            let (eff, _) = super::nofile::effective_nofile(snap);
            let now = eff.value().unwrap_or(super::macos::perproc(snap));
            let to = past.map_or(suggested_nofile(now), |v| fds_for(snap, sc, v));
            raise_nofile(&mut s, to);
            if name == MAX_FILES_PER_PROC {
                s.fs.maxfilesperproc = Some(s.fs.maxfilesperproc.unwrap_or(0).max(to));
                s.fs.file_max = Some(s.fs.file_max.unwrap_or(0).max(to.saturating_mul(2)));
            }
            // A node started under the new limit sizes its fd table from it.
            if let Some(er) = s.runtime.erlang.as_mut() {
                er.max_fds = None;
            }
        }
        ERLANG_MAX_FDS => {
            let to = match past {
                Some(v) => fds_for(snap, sc, v),
                None => super::ceilings::erlang_fd_target(snap, sc, &p.ceilings)?,
            };
            s.process.nofile.soft = Rlim::Value(to);
            raise_nofile(&mut s, to);
            s.runtime.erlang.as_mut()?.max_fds = None;
        }
        EPHEMERAL_PORTS => {
            s.net.ip_local_port_range = Some(PortRange {
                lo: 1024,
                hi: 65535,
            });
        }
        SYSTEM_FILES => {
            let need = past.map_or(0, |v| {
                v.saturating_add(1)
                    .saturating_mul(sc.sockets_per_conn())
                    .saturating_add(snap.fs.file_nr_allocated.unwrap_or(0))
            });
            s.fs.file_max = Some(above(snap.fs.file_max.unwrap_or(0)).max(need));
        }
        CONNTRACK => {
            let ct = s.net.conntrack.as_mut()?;
            let need = past.map_or(0, |v| {
                v.saturating_add(1).saturating_add(ct.count.unwrap_or(0))
            });
            ct.max = Some(above(ct.max?).max(need));
        }
        ERLANG_PORT_LIMIT | ERLANG_PROCESS_LIMIT => {
            let c = super::erlang::caps(snap)?;
            let (now, per, used) = if name == ERLANG_PORT_LIMIT {
                (c.port_limit.value, fpc, c.ports_in_use.value)
            } else {
                (
                    c.process_limit.value,
                    sc.procs_per_conn.max(1),
                    c.processes_in_use.value,
                )
            };
            let need = past.map_or(0, |v| {
                v.saturating_add(1).saturating_mul(per).saturating_add(used)
            });
            let n = now
                .saturating_mul(2)
                .max(need)
                .min(crate::snapshot::runtime::erlang::MAX_TABLE);
            let src = Some(Sourced {
                value: n,
                source: "the lift".into(),
            });
            let er = s.runtime.erlang.as_mut()?;
            if name == ERLANG_PORT_LIMIT {
                er.port_limit = src;
            } else {
                er.process_limit = src;
            }
        }
        _ => return None,
    }
    Some(s)
}

/// The rungs one lift moves together: the fd limits (RLIMIT_NOFILE, erts' table sized from it,
/// kern.maxfilesperproc raised with it) are one wall; any other rung is its own.
fn family(name: CeilingName) -> &'static [CeilingName] {
    const FDS: &[CeilingName] = &[PROCESS_FDS, ERLANG_MAX_FDS, MAX_FILES_PER_PROC];
    if FDS.contains(&name) {
        FDS
    } else {
        match name {
            EPHEMERAL_PORTS => &[EPHEMERAL_PORTS],
            SYSTEM_FILES => &[SYSTEM_FILES],
            CONNTRACK => &[CONNTRACK],
            ERLANG_PORT_LIMIT => &[ERLANG_PORT_LIMIT],
            ERLANG_PROCESS_LIMIT => &[ERLANG_PROCESS_LIMIT],
            _ => &[],
        }
    }
}

/// The limit once the bottleneck is lifted as its `lift` says, past the next rung: the lowest
/// rung of the lifted host outside the bottleneck's family (or a rung of the family that the
/// lift cannot get past, such as the widest port range); the ladder's next rung where the lift
/// cannot be simulated.
pub(super) fn next(
    snap: &Snapshot,
    sc: &Scenario,
    p: &Prediction,
    raw: fn(&Snapshot, &Scenario) -> Prediction,
) -> Option<Next> {
    let b = p.bottleneck?;
    let fam = family(b);
    let past = p
        .ceilings
        .iter()
        .find(|c| c.name != b && !fam.contains(&c.name) && c.value >= p.ceiling)
        .map(|c| c.value);
    let after = lifted(snap, sc, p, b, past).map(|s| raw(&s, sc));
    let pick = match &after {
        Some(a) => {
            let other = a
                .ceilings
                .iter()
                .find(|c| c.name != b && !fam.contains(&c.name));
            // A rung the lift could not get past the rung above is still the limit: the
            // widest port range; where the simulation falls short of the lift's own words
            // (a JVM that keeps OPEN_MAX until -XX:-MaxFDLimit), the ladder says.
            let stuck = a.ceilings.iter().find(|c| {
                (c.name == b || fam.contains(&c.name))
                    && past.is_some_and(|v| c.value < v)
                    && other.is_none_or(|o| c.value < o.value)
            });
            match stuck {
                Some(c) if b == EPHEMERAL_PORTS => Some((c.name, c.value)),
                Some(_) => p.next_after_bottleneck().map(|c| (c.name, c.value)),
                None => other.map(|c| (c.name, c.value)),
            }
        }
        None => p.next_after_bottleneck().map(|c| (c.name, c.value)),
    }?;
    Some(Next {
        lifted: b,
        name: pick.0,
        value: pick.1,
    })
}
