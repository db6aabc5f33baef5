//! The prediction model: pure functions of a [`Snapshot`] and a [`Scenario`].
//! No I/O, no clock, no environment. See docs/model.md for every formula and its source.

pub mod apache;
pub mod assumed;
pub mod at_limit;
pub mod catalog;
pub mod ceilings;
pub mod check;
pub mod checks;
mod ctx;
pub mod doctor;
pub mod erlang;
pub mod evidence;
pub mod fmt;
pub mod inputs;
pub mod knobs;
pub mod lift;
mod listeners;
pub mod macos;
pub mod matcher;
pub mod names;
pub mod nofile;
pub mod patterns;
pub mod scenario;
pub mod server_patterns;
mod server_settings;
pub mod servers;
pub mod strerror;
pub mod usage;

use serde::{Deserialize, Serialize};

pub use crate::snapshot::Provenance;
use crate::snapshot::Snapshot;
pub use assumed::{Conditional, Range};
pub use inputs::{Input, Plausible};
pub use names::{CeilingName, CheckId, Scope};
pub use scenario::{AppLimit, Scenario, ScenarioKind, Selector};

/// One concurrency ceiling: how many connections this limit allows, why, and how to lift it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Ceiling {
    pub name: CeilingName,
    /// Connections this limit allows for the scenario (the whole run: per-process ceilings
    /// are already multiplied by the number of processes).
    pub value: u64,
    /// True for exact counts (ports, fds, runtime tables); false for estimates (memory).
    pub exact: bool,
    /// Where the limit applies: "process", "netns" or "host".
    pub scope: Scope,
    /// The formula with the numbers put in.
    pub why: String,
    /// How to lift it: the exact command, sysctl, unit setting or runtime flag.
    pub lift: String,
    /// Where the number came from: the rule and the inputs (keys of `Prediction::inputs`).
    #[serde(default = "Ceiling::pending")]
    pub provenance: Provenance,
    /// Set when the number rests on an assumed value: its range over the assumption's
    /// plausible values, and what to read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conditional: Option<Conditional>,
}

impl Ceiling {
    /// The provenance of a ceiling before the model's last pass gives it its own.
    pub fn pending() -> Provenance {
        Provenance::derived("", &[])
    }

    pub(crate) fn provenance_pending(&self) -> bool {
        matches!(&self.provenance, Provenance::Derived { rule, .. } if rule.is_empty())
    }
}

/// A rate ceiling (new connections per second), reported with `--churn`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RateCeiling {
    pub name: CeilingName,
    pub per_second: f64,
    pub why: String,
    pub lift: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Prediction {
    pub scenario: Scenario,
    /// The minimum over the applicable ceilings.
    pub ceiling: u64,
    /// The name of the lowest ceiling (None: no ceiling applies; JSON `""` as always).
    #[serde(with = "names::bottleneck_serde")]
    pub bottleneck: Option<CeilingName>,
    /// Every other ceiling with the same value as the bottleneck.
    pub tied: Vec<CeilingName>,
    /// Every applicable ceiling, ascending: the ladder.
    pub ceilings: Vec<Ceiling>,
    /// Ceilings that do not apply here, with the reason (e.g. system_files for root).
    pub not_applicable: Vec<NotApplicable>,
    /// Rate ceilings (churn), empty unless the scenario asks for churn.
    pub rates: Vec<RateCeiling>,
    /// What the model assumed because the snapshot did not say.
    pub assumptions: Vec<String>,
    /// Every input the ceilings rest on, with its value and provenance.
    #[serde(default)]
    pub inputs: Vec<Input>,
    /// Set when assumed values could move the prediction: the range it lies in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub range: Option<Range>,
    /// The limit once the bottleneck is lifted as its `lift` says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<lift::Next>,
    /// A running process with no room for one more connection: what it holds now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at_limit: Option<at_limit::AtLimit>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct NotApplicable {
    pub name: CeilingName,
    pub why: String,
}

impl Prediction {
    pub fn get(&self, name: CeilingName) -> Option<&Ceiling> {
        self.ceilings.iter().find(|c| c.name == name)
    }

    /// The bottleneck's rung (the headline).
    pub fn bottleneck_ceiling(&self) -> Option<&Ceiling> {
        self.bottleneck.and_then(|b| self.get(b))
    }

    /// The rung above the bottleneck in the ladder: what limits once it is lifted.
    pub fn next_after_bottleneck(&self) -> Option<&Ceiling> {
        let b = self.bottleneck?;
        let i = self.ceilings.iter().position(|c| c.name == b)?;
        let v = self.ceilings[i].value;
        self.ceilings
            .iter()
            .enumerate()
            .filter(|(j, c)| *j != i && (c.value > v || (c.value == v && *j > i)))
            .map(|(_, c)| c)
            .next()
    }

    /// The bottleneck's name, `""` when there is none (as the outputs spell it).
    pub fn bottleneck_str(&self) -> &'static str {
        self.bottleneck.map_or("", CeilingName::as_str)
    }
}

/// Predict the connection ceiling of `snap` for `scenario`.
pub fn predict(snap: &Snapshot, scenario: &Scenario) -> Prediction {
    let (snap, dropped) = assumed::prepare(snap);
    let mut p = raw(&snap, scenario);
    assumed::finish(&snap, scenario, &mut p, dropped, raw);
    p.next = lift::next(&snap, scenario, &p, raw);
    p.at_limit = at_limit::of(&snap, &p);
    p
}

/// The ceilings of a snapshot before provenance and ranges, a limit still to be set held to
/// fs.nr_open ([`nofile::within_nr_open`]).
fn raw(snap: &Snapshot, scenario: &Scenario) -> Prediction {
    ceilings::predict(&nofile::within_nr_open(snap), scenario)
}
