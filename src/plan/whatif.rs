//! The plan applied to a copy of a snapshot: the ceiling before → after.

use std::path::PathBuf;

use super::*;
use crate::error::Result;
use crate::model::{self, Prediction, Scenario};
use crate::profile::Profile;
use crate::snapshot::{Snapshot, Sourced};

/// The settings table of a snapshot's OS (every OS but macOS is read as Linux).
fn setting(snap: &Snapshot, key: &str) -> Option<&'static crate::settings::Setting> {
    crate::settings::find(snap.platform.os, key)
}

/// The value a snapshot records for a sysctl key, as the kernel would print it.
pub fn snapshot_get(snap: &Snapshot, key: &str) -> Option<String> {
    setting(snap, key).and_then(|s| (s.get)(snap))
}

/// Record a sysctl value in a snapshot. Returns false for keys the snapshot has no field for
/// (or values that do not parse).
pub fn snapshot_set(snap: &mut Snapshot, key: &str, value: &str) -> bool {
    setting(snap, key).is_some_and(|s| (s.set)(snap, value))
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
        let is_erlang = snap.runtime.kind.on_erlang() || snap.runtime.erlang.is_some();
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
