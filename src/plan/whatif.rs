//! The plan applied to a copy of a snapshot: the ceiling before → after.

use std::path::PathBuf;

use super::*;
use crate::error::Result;
use crate::model::{self, Prediction, Scenario};
use crate::profile::Profile;
use crate::profile::validate;
use crate::snapshot::{Conntrack, Os, PortRange, RuntimeKind, Snapshot, Sourced};

/// The value a snapshot records for a sysctl key, as the kernel would print it.
pub fn snapshot_get(snap: &Snapshot, key: &str) -> Option<String> {
    if snap.platform.os == Os::Macos {
        return crate::settings::find(Os::Macos, key).and_then(|s| (s.get)(snap));
    }
    let n = &snap.net;
    let s = |v: Option<u64>| v.map(|v| v.to_string());
    let s32 = |v: Option<u32>| v.map(|v| v.to_string());
    match key {
        "net.ipv4.ip_local_port_range" => {
            n.ip_local_port_range.map(|r| format!("{} {}", r.lo, r.hi))
        }
        "net.ipv4.ip_unprivileged_port_start" => s32(n.ip_unprivileged_port_start),
        "net.ipv4.ip_autobind_reuse" => s32(n.ip_autobind_reuse),
        "net.ipv4.tcp_tw_reuse" => s32(n.tcp_tw_reuse),
        "net.ipv4.tcp_tw_reuse_delay" => s(n.tcp_tw_reuse_delay_ms),
        "net.ipv4.tcp_timestamps" => s32(n.tcp_timestamps),
        "net.ipv4.tcp_max_tw_buckets" => s(n.tcp_max_tw_buckets),
        "net.ipv4.tcp_fin_timeout" => s(n.tcp_fin_timeout),
        "net.core.somaxconn" => s(n.somaxconn),
        "net.ipv4.tcp_max_syn_backlog" => s(n.tcp_max_syn_backlog),
        "net.ipv4.tcp_syncookies" => s32(n.tcp_syncookies),
        "net.ipv4.tcp_syn_retries" => s32(n.tcp_syn_retries),
        "net.ipv4.tcp_mem" => n.tcp_mem.map(|m| format!("{} {} {}", m[0], m[1], m[2])),
        "net.netfilter.nf_conntrack_max" | "net.nf_conntrack_max" => {
            n.conntrack.as_ref().and_then(|c| s(c.max))
        }
        "fs.file-max" => s(snap.fs.file_max),
        "fs.nr_open" => s(snap.fs.nr_open),
        "kernel.threads-max" => s(snap.memory.threads_max),
        "kernel.pid_max" => s(snap.memory.pid_max),
        _ => None,
    }
}

/// Record a sysctl value in a snapshot. Returns false for keys the snapshot has no field for
/// (or values that do not parse).
pub fn snapshot_set(snap: &mut Snapshot, key: &str, value: &str) -> bool {
    if snap.platform.os == Os::Macos {
        return crate::settings::find(Os::Macos, key).is_some_and(|s| (s.set)(snap, value));
    }
    let v = validate::normalize(value);
    let u64v = || v.parse::<u64>().ok();
    let u32v = || v.parse::<u32>().ok();
    let n = &mut snap.net;
    fn put<T>(slot: &mut Option<T>, v: Option<T>) -> bool {
        match v {
            Some(v) => {
                *slot = Some(v);
                true
            }
            None => false,
        }
    }
    match key {
        "net.ipv4.ip_local_port_range" => {
            let mut it = v.split(' ').filter_map(|p| p.parse::<u16>().ok());
            match (it.next(), it.next()) {
                (Some(lo), Some(hi)) => {
                    n.ip_local_port_range = Some(PortRange { lo, hi });
                    true
                }
                _ => false,
            }
        }
        "net.ipv4.ip_unprivileged_port_start" => put(&mut n.ip_unprivileged_port_start, u32v()),
        "net.ipv4.ip_autobind_reuse" => put(&mut n.ip_autobind_reuse, u32v()),
        "net.ipv4.tcp_tw_reuse" => put(&mut n.tcp_tw_reuse, u32v()),
        "net.ipv4.tcp_tw_reuse_delay" => put(&mut n.tcp_tw_reuse_delay_ms, u64v()),
        "net.ipv4.tcp_timestamps" => put(&mut n.tcp_timestamps, u32v()),
        "net.ipv4.tcp_max_tw_buckets" => put(&mut n.tcp_max_tw_buckets, u64v()),
        "net.ipv4.tcp_fin_timeout" => put(&mut n.tcp_fin_timeout, u64v()),
        "net.core.somaxconn" => put(&mut n.somaxconn, u64v()),
        "net.ipv4.tcp_max_syn_backlog" => put(&mut n.tcp_max_syn_backlog, u64v()),
        "net.ipv4.tcp_syncookies" => put(&mut n.tcp_syncookies, u32v()),
        "net.ipv4.tcp_syn_retries" => put(&mut n.tcp_syn_retries, u32v()),
        "net.ipv4.tcp_mem" => {
            let p: Vec<u64> = v.split(' ').filter_map(|x| x.parse().ok()).collect();
            match p.as_slice() {
                [a, b, c] => {
                    n.tcp_mem = Some([*a, *b, *c]);
                    true
                }
                _ => false,
            }
        }
        "net.netfilter.nf_conntrack_max" | "net.nf_conntrack_max" => match u64v() {
            Some(m) => {
                n.conntrack.get_or_insert_with(Conntrack::default).max = Some(m);
                true
            }
            None => false,
        },
        "fs.file-max" => put(&mut snap.fs.file_max, u64v()),
        "fs.nr_open" => put(&mut snap.fs.nr_open, u64v()),
        "kernel.threads-max" => put(&mut snap.memory.threads_max, u64v()),
        "kernel.pid_max" => put(&mut snap.memory.pid_max, u64v()),
        _ => false,
    }
}

/// Apply a plan to a snapshot: sysctls to their fields, the profile's limits to the examined
/// process (as if it restarted under them), Erlang +Q/+P to the runtime.
pub fn apply_to_snapshot(snap: &mut Snapshot, plan: &Plan) {
    for c in &plan.changes {
        if let Action::Sysctl { key, new, .. } = &c.action {
            snapshot_set(snap, key, new);
        }
    }
    let nofile_changed = plan.nofile.is_some();
    if let Some(p) = plan.nofile {
        snap.process.nofile = p.into();
    }
    if let Some(p) = plan.nproc {
        snap.process.nproc = Some(p.into());
    }
    if let Some(e) = &plan.erlang {
        let is_erlang = snap.runtime.kind == RuntimeKind::Erlang || snap.runtime.erlang.is_some();
        if is_erlang {
            let src = format!("profile {}", plan.profile);
            let er = snap.runtime.erlang.get_or_insert_with(Default::default);
            // The model rounds +Q/+P as erts does and derives max_fds from the new soft limit.
            if let Some(q) = e.max_ports {
                er.port_limit = Some(Sourced {
                    value: q,
                    source: format!("{src} (+Q {q})"),
                });
            }
            if let Some(p) = e.max_processes {
                er.process_limit = Some(Sourced {
                    value: p,
                    source: format!("{src} (+P {p})"),
                });
            }
            if nofile_changed {
                er.max_fds = None;
            }
        }
    }
}

/// What the host would hold with a profile applied: the snapshot after, and the plan.
/// `profile` is a bundled name or a path. Only the snapshot is read: no host I/O besides
/// reading the profile file.
pub fn what_if(snap: &Snapshot, profile: &str) -> Result<(Snapshot, Plan)> {
    let p = crate::profile::load(profile)?;
    let opts = PlanOptions {
        persist: Some(true),
        root: PathBuf::from("/"),
    };
    let mut plan = build(&p, &SnapshotHost(snap), &opts)?;
    let after = attach_prediction(&mut plan, snap, p.require.as_ref().map(|r| r.connections));
    Ok((after, plan))
}

/// Apply the plan to a copy of `before`, record the ceiling before → after in the plan, and
/// return the snapshot after.
pub fn attach_prediction(plan: &mut Plan, before: &Snapshot, required: Option<u64>) -> Snapshot {
    let mut after = before.clone();
    apply_to_snapshot(&mut after, plan);
    let (b, a) = predict_pair(before, &after, &plan.scenario);
    plan.prediction = Some(WhatIf {
        required,
        before: b.ceiling,
        before_bottleneck: b.bottleneck_str().to_string(),
        after: a.ceiling,
        after_bottleneck: a.bottleneck_str().to_string(),
    });
    after
}

/// Predictions before and after.
pub fn predict_pair(
    before: &Snapshot,
    after: &Snapshot,
    sc: &Scenario,
) -> (Prediction, Prediction) {
    (model::predict(before, sc), model::predict(after, sc))
}

/// Overlay the values read from a sysctl root on a snapshot (for `plan` against a fixture
/// root, the prediction must start from the same values the plan does).
pub fn overlay(snap: &mut Snapshot, host: &dyn HostView, profile: &Profile) {
    for key in profile.sysctl.keys() {
        if let Cur::Value(v) = host.sysctl(key) {
            snapshot_set(snap, key, &v);
        }
    }
}
