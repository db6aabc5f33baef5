//! What the assumptions could change: every ceiling's provenance, the rungs that rest on an
//! assumed value (conditional, with the range the value plausibly gives), the headline (never a
//! conditional rung over one built from read values) and the range the prediction itself lies
//! in (docs/model.md, "Provenance", "Cannot tell").
//!
//! The plausible range is evaluated by the model itself: the snapshot with every assumed input
//! at its pessimistic end, then at its optimistic end. Ceilings only grow with the limits they
//! rest on, so those two predictions bound every rung and the headline.

use serde::{Deserialize, Serialize};

use super::inputs::{self, Input, Knob};
use super::{Ceiling, CeilingName, Prediction, Scenario};
use crate::snapshot::{Provenance, Rlim, Snapshot};

/// The range a number lies in when assumed values could move it: a conditional rung's, or the
/// prediction's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Range {
    /// At the pessimistic end of the assumed values' plausible range.
    pub low: u64,
    /// At the optimistic end; `None`: no limit there (the rung disappears).
    pub high: Option<u64>,
    /// The assumed inputs (keys of `inputs`) that move it.
    pub on: Vec<String>,
    /// What reads the assumed values.
    pub read_with: Vec<String>,
}

/// A rung resting on assumed values: its range over their plausible values.
pub type Conditional = Range;

impl Range {
    /// Whether a requirement of `n` connections could be met and could be missed within it.
    pub fn straddles(&self, n: u64) -> bool {
        self.low < n && self.high.is_none_or(|h| h >= n)
    }
}

/// Facts that disprove an assumption win: an assumed soft RLIMIT_NOFILE at or below the fds the
/// process holds cannot be its limit. Returns the snapshot the model then uses and what was
/// dropped (said in the output).
pub(super) fn prepare(snap: &Snapshot) -> (std::borrow::Cow<'_, Snapshot>, Vec<String>) {
    let p = &snap.process;
    let assumed = snap
        .provenance
        .get("process.nofile")
        .is_some_and(Provenance::is_assumption);
    let Rlim::Value(soft) = p.nofile.soft else {
        return (std::borrow::Cow::Borrowed(snap), Vec::new());
    };
    if !assumed || p.open_fds < soft {
        return (std::borrow::Cow::Borrowed(snap), Vec::new());
    }
    let at_least = p.open_fds.saturating_add(1);
    let mut s = snap.clone();
    s.process.nofile.soft = Rlim::Value(at_least);
    s.process.nofile.hard = s.process.nofile.hard.max(Rlim::Value(at_least));
    let note = format!(
        "RLIMIT_NOFILE: the assumed soft limit {soft} is disproved (the process holds {} fds), so the assumption is dropped: its limit is at least {at_least}",
        p.open_fds
    );
    let read_with = snap.provenance["process.nofile"]
        .read_with()
        .unwrap_or("--nofile SOFT:HARD")
        .to_string();
    s.provenance.insert(
        "process.nofile".into(),
        Provenance::unknown(
            format!(
                "the soft RLIMIT_NOFILE (the assumed {soft} is disproved by {} fds open; at least {at_least})",
                p.open_fds
            ),
            read_with,
        ),
    );
    (std::borrow::Cow::Owned(s), vec![note])
}

fn value_of(p: &Prediction, name: CeilingName) -> Option<u64> {
    p.get(name).map(|c| c.value)
}

/// The assumed inputs a ceiling rests on (by the inputs it names), or every evaluated one when
/// it moved without naming them.
fn on_of(keys: &[&str], knobs: &[(&Input, Knob)]) -> Vec<String> {
    let named: Vec<String> = knobs
        .iter()
        .filter(|(i, _)| keys.contains(&i.key.as_str()))
        .map(|(i, _)| i.key.clone())
        .collect();
    if named.is_empty() {
        knobs.iter().map(|(i, _)| i.key.clone()).collect()
    } else {
        named
    }
}

fn read_with_of(on: &[String], inputs: &[Input]) -> Vec<String> {
    let mut v: Vec<String> = Vec::new();
    for i in inputs.iter().filter(|i| on.contains(&i.key)) {
        if let Some(r) = i.provenance.read_with()
            && !v.iter().any(|x| x == r)
        {
            v.push(r.to_string());
        }
    }
    v
}

/// Give every ceiling its provenance, mark the conditional rungs, choose the headline and the
/// prediction's range. `raw` is the model without this pass.
pub(super) fn finish(
    snap: &Snapshot,
    sc: &Scenario,
    p: &mut Prediction,
    dropped: Vec<String>,
    raw: fn(&Snapshot, &Scenario) -> Prediction,
) {
    let all = inputs::collect(snap, sc);
    let mut used: Vec<&str> = Vec::new();
    for c in &mut p.ceilings {
        let (rule, keys) = inputs::rule_of(c.name, snap);
        let keys: Vec<&str> = keys
            .into_iter()
            .filter(|k| all.iter().any(|(i, _)| i.key == *k))
            .collect();
        if c.provenance_pending() {
            c.provenance = Provenance::derived(rule, &keys);
        }
        for k in keys {
            if !used.contains(&k) {
                used.push(k);
            }
        }
    }
    // Every input a ceiling rests on, and a server's unknown cap even when no rung uses it
    // (its default is "no limit": the rung appears only where the cap is low).
    let kept: Vec<(Input, Option<Knob>)> = all
        .into_iter()
        .filter(|(i, k)| {
            used.contains(&i.key.as_str()) || matches!(k, Some(Knob::ServerSetting { .. }))
        })
        .collect();
    let knobs: Vec<(&Input, Knob)> = kept.iter().filter_map(|(i, k)| k.map(|k| (i, k))).collect();
    if !knobs.is_empty() {
        let at = |high: bool| {
            let mut s = snap.clone();
            for (_, k) in &knobs {
                k.set(&mut s, high);
            }
            raw(&s, sc)
        };
        let (lo, hi) = (at(false), at(true));
        let inputs_only: Vec<Input> = kept.iter().map(|(i, _)| i.clone()).collect();
        for c in &mut p.ceilings {
            let low = value_of(&lo, c.name).map_or(c.value, |v| v.min(c.value));
            let high = value_of(&hi, c.name).map(|v| v.max(c.value));
            if low == c.value && high == Some(c.value) {
                continue;
            }
            let keys = inputs::rule_of(c.name, snap).1;
            let on = on_of(&keys, &knobs);
            c.conditional = Some(Conditional {
                read_with: read_with_of(&on, &inputs_only),
                on,
                low,
                high,
            });
        }
        let low = lo.bottleneck.map(|_| lo.ceiling.min(p.ceiling));
        let high = hi.bottleneck.map(|_| hi.ceiling.max(p.ceiling));
        if let Some(low) = low
            && (low != p.ceiling || high != Some(p.ceiling))
        {
            let on: Vec<String> = knobs.iter().map(|(i, _)| i.key.clone()).collect();
            p.range = Some(Range {
                read_with: read_with_of(&on, &inputs_only),
                on,
                low,
                high,
            });
        }
    }
    headline(p);
    let mut assumptions: Vec<String> = dropped;
    for (i, _) in &kept {
        if let Provenance::Assumed { default, why, .. } = &i.provenance {
            assumptions.push(format!("{}: assumed {default} ({why})", i.key));
        } else if let Provenance::Unknown { what, .. } = &i.provenance {
            assumptions.push(format!("{}: unknown, {what}", i.key));
        }
    }
    assumptions.append(&mut p.assumptions);
    p.assumptions = assumptions;
    p.inputs = kept.into_iter().map(|(i, _)| i).collect();
}

/// The headline: the lowest rung built from read values; a conditional rung only when it is
/// below every such rung over its whole plausible range (or when every rung is conditional).
fn headline(p: &mut Prediction) {
    let certain_min = p
        .ceilings
        .iter()
        .filter(|c| c.conditional.is_none())
        .map(|c| c.value)
        .min();
    let pick: Option<&Ceiling> = match certain_min {
        None => p.ceilings.first(),
        Some(m) => p
            .ceilings
            .iter()
            .find(|c| {
                c.conditional
                    .as_ref()
                    .is_some_and(|x| x.high.is_some_and(|h| h < m))
            })
            .or_else(|| p.ceilings.iter().find(|c| c.conditional.is_none())),
    };
    let Some(head) = pick else {
        return;
    };
    let (name, value, conditional) = (head.name, head.value, head.conditional.is_some());
    p.ceiling = value;
    p.bottleneck = Some(name);
    p.tied = p
        .ceilings
        .iter()
        .filter(|c| c.name != name && c.value == value && c.conditional.is_some() == conditional)
        .map(|c| c.name)
        .collect();
}
