//! The plan applied to a copy of a snapshot: the ceiling before → after.

use std::path::PathBuf;

use super::*;
use crate::error::Result;
use crate::model::{self, Prediction, Scenario};
use crate::profile::Profile;
use crate::snapshot::{Provenance, Snapshot, Sourced};

use super::reach::Reach;

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

/// Apply a plan to a snapshot: the sysctls to their fields, then each limit and the Erlang
/// flags only where one of the profile's targets reaches the examined process (as if it
/// restarted under them, where that is what it takes). Returns what reaches and what does not.
/// `credit_unknown`: also apply the settings whose reach porttune cannot tell (the optimistic
/// end of "cannot tell").
pub fn apply_to_snapshot(snap: &mut Snapshot, plan: &Plan, credit_unknown: bool) -> Vec<Reach> {
    let before = snap.clone();
    let mut reach = Vec::new();
    // Each value the profile sets is the profile's, not read from the host: its inputs say so.
    let set_by = |what: &str, on: &[&str]| {
        Provenance::derived(format!("set by profile {}: {what}", plan.profile), on)
    };
    for c in &plan.changes {
        if let Action::Sysctl { key, new, .. } = &c.action
            && snapshot_set(snap, key, new)
        {
            super::reach::sysctl(key, new, &mut reach);
            let input = model_key(key);
            snap.provenance
                .insert(input.into(), set_by(&format!("{key} = {new}"), &[]));
        }
    }
    let targets = &plan.limit_targets;
    let nofile = plan.nofile.and_then(|p| {
        super::reach::limit(
            "nofile",
            p,
            targets,
            (&before, snap),
            credit_unknown,
            &mut reach,
        )
    });
    if let Some(l) = nofile {
        snap.process.nofile = l;
        // Held to fs.nr_open by the model (a limit still to be set).
        let on: &[&str] = if snap.platform.os == crate::snapshot::Os::Macos {
            &[]
        } else {
            &["fs.nr_open"]
        };
        snap.provenance.insert(
            "process.nofile".into(),
            set_by(
                &format!(
                    "limits.nofile {}:{} where it reaches the process (with_profile.reach)",
                    l.soft, l.hard
                ),
                on,
            ),
        );
    }
    if let Some(l) = plan.nproc.and_then(|p| {
        super::reach::limit(
            "nproc",
            p,
            targets,
            (&before, snap),
            credit_unknown,
            &mut reach,
        )
    }) {
        snap.process.nproc = Some(l);
        snap.provenance.insert(
            "process.nproc".into(),
            set_by(&format!("limits.nproc {}:{}", l.soft, l.hard), &[]),
        );
    }
    let is_erlang = snap.runtime.kind.on_erlang() || snap.runtime.erlang.is_some();
    if let Some(e) = plan.erlang.as_ref().filter(|_| is_erlang) {
        let flags = super::reach::erlang_flags(e, &before, credit_unknown, &mut reach);
        let src = format!("profile {}", plan.profile);
        let er = snap.runtime.erlang.get_or_insert_with(Default::default);
        // The model rounds +Q/+P as erts does and derives max_fds from the new soft limit.
        if flags && let Some(q) = e.max_ports {
            er.port_limit = Some(Sourced {
                value: q,
                source: format!("{src} (+Q {q})"),
            });
            snap.provenance
                .insert("erlang.port_limit".into(), set_by(&format!("+Q {q}"), &[]));
        }
        if flags && let Some(p) = e.max_processes {
            er.process_limit = Some(Sourced {
                value: p,
                source: format!("{src} (+P {p})"),
            });
            snap.provenance.insert(
                "erlang.process_limit".into(),
                set_by(&format!("+P {p}"), &[]),
            );
        }
        // A new limit reaches the node's fd table only when it restarts under it (not with
        // prlimit on the running PID).
        let restarted = reach.iter().any(|r| {
            r.reaches && r.setting.starts_with("limits.nofile") && !r.setting.contains("pid:")
        });
        if nofile.is_some() && restarted {
            er.max_fds = None;
        }
    }
    reach
}

/// The model's input key of a sysctl (a Mac's port range is one input, first and last).
fn model_key(key: &str) -> &str {
    if key.starts_with("net.inet.ip.portrange.") {
        "net.inet.ip.portrange"
    } else {
        key
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

/// The snapshot after the plan if every setting whose reach porttune cannot tell reached the
/// process: the optimistic end of "cannot tell" (None when there is no such setting).
pub fn optimistic_after(before: &Snapshot, plan: &Plan) -> Option<Snapshot> {
    if plan.reach.iter().all(|r| r.known) {
        return None;
    }
    let mut after = before.clone();
    apply_to_snapshot(&mut after, plan, true);
    Some(after)
}

/// Apply the plan to a copy of `before`, record the ceiling before → after in the plan, and
/// return the snapshot after.
pub fn attach_prediction(plan: &mut Plan, before: &Snapshot, required: Option<u64>) -> Snapshot {
    let mut after = before.clone();
    plan.reach = apply_to_snapshot(&mut after, plan, false);
    let (b, a) = predict_pair(before, &after, &plan.scenario);
    if let Some(req) = required.filter(|r| a.ceiling < *r) {
        plan.warnings.push(format!(
            "after this profile the predicted ceiling is {} ({}), below its own require.connections {req}{}",
            a.ceiling,
            a.bottleneck_str(),
            match plan.reach.iter().find(|r| !r.reaches) {
                Some(r) => format!("; {} does not reach the process: {}", r.setting, r.how),
                None => String::new(),
            }
        ));
    }
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
