//! `--format json` for check: a stable, documented shape (`"schema": 1`), from the
//! [`CheckJson`] type. Keys come out sorted (the document goes through `serde_json::Value`,
//! whose objects are ordered maps), as they always have.

use serde::Serialize;

use super::CheckReport;
use crate::model::checks::Check;
use crate::model::names::{self, CeilingName};
use crate::model::{Ceiling, Input, NotApplicable, Prediction, Range, RateCeiling, Scenario};
use crate::snapshot::unit::Unit;
use crate::snapshot::{Capabilities, Rlim, Snapshot};

/// The prediction's headline.
#[derive(Serialize, schemars::JsonSchema)]
pub struct PredictionJson<'a> {
    pub ceiling: u64,
    #[serde(with = "names::bottleneck_serde")]
    #[schemars(schema_with = "names::bottleneck_schema")]
    pub bottleneck: Option<CeilingName>,
    pub tied: &'a [CeilingName],
    pub scenario: &'a Scenario,
    /// Set when assumed values could move the ceiling: the range it lies in.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub range: Option<&'a Range>,
    /// The limit once the bottleneck is lifted as its `lift` says.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next: Option<&'a crate::model::lift::Next>,
    /// A running process with no room for one more connection: what it holds now.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub at_limit: Option<&'a crate::model::at_limit::AtLimit>,
}

impl<'a> From<&'a Prediction> for PredictionJson<'a> {
    fn from(p: &'a Prediction) -> Self {
        PredictionJson {
            ceiling: p.ceiling,
            bottleneck: p.bottleneck,
            tied: &p.tied,
            scenario: &p.scenario,
            range: p.range.as_ref(),
            next: p.next.as_ref(),
            at_limit: p.at_limit.as_ref(),
        }
    }
}

/// Current usage counters.
#[derive(Serialize, schemars::JsonSchema)]
pub struct UsageJson {
    pub process_fds_open: u64,
    pub process_connections: Option<u64>,
    pub sockets_used: Option<u64>,
    pub tcp_inuse: Option<u64>,
    pub tcp_time_wait: Option<u64>,
    /// Absent on macOS (no connection tracking table), null when unknown.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conntrack_count: Option<Option<u64>>,
    pub file_nr_allocated: Option<u64>,
}

/// The process the report is about.
#[derive(Serialize, schemars::JsonSchema)]
pub struct ProcessJson<'a> {
    pub pid: Option<u32>,
    pub comm: &'a Option<String>,
    pub unit: &'a Option<Unit>,
    pub runtime: &'static str,
    pub nofile_soft: Rlim,
    pub nofile_hard: Rlim,
    pub open_fds: u64,
    pub caps: &'a Capabilities,
}

/// `check --with PROFILE`: the prediction before and after.
#[derive(Serialize, schemars::JsonSchema)]
pub struct WithProfileJson<'a> {
    pub profile: &'a str,
    pub before: PredictionJson<'a>,
    pub after: PredictionJson<'a>,
    pub ceilings_after: &'a [Ceiling],
    pub inputs_after: &'a [Input],
    /// Each setting of the profile, whether it reaches the process, and how or why not.
    pub reach: &'a [crate::plan::Reach],
}

/// The whole `check --format json` document.
#[derive(Serialize, schemars::JsonSchema)]
pub struct CheckJson<'a> {
    pub schema: u32,
    pub source: &'a str,
    pub prediction: PredictionJson<'a>,
    pub ceilings: &'a [Ceiling],
    pub not_applicable: &'a [NotApplicable],
    pub rates: &'a [RateCeiling],
    pub assumptions: &'a [String],
    /// Every input the ceilings rest on: its value and provenance.
    pub inputs: &'a [Input],
    pub checks: &'a [Check],
    pub usage: UsageJson,
    pub process: ProcessJson<'a>,
    pub notes: &'a [String],
    /// Which host the checks (and --require) judged: `host`, or `with_profile` (the what-if).
    pub checks_for: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub with_profile: Option<WithProfileJson<'a>>,
}

impl<'a> CheckJson<'a> {
    pub fn new(r: &'a CheckReport) -> Self {
        let s: &Snapshot = r.snapshot;
        let p = r.prediction;
        let mac = s.platform.os == crate::snapshot::Os::Macos;
        CheckJson {
            schema: 1,
            source: &r.source,
            prediction: p.into(),
            ceilings: &p.ceilings,
            not_applicable: &p.not_applicable,
            rates: &p.rates,
            assumptions: &p.assumptions,
            inputs: &p.inputs,
            checks: r.checks,
            usage: UsageJson {
                process_fds_open: s.process.open_fds,
                process_connections: s.usage.process_connections,
                sockets_used: s.usage.sockets_used,
                tcp_inuse: s.usage.tcp_inuse,
                tcp_time_wait: s.usage.tcp_time_wait,
                conntrack_count: (!mac).then(|| s.net.conntrack.as_ref().and_then(|c| c.count)),
                file_nr_allocated: s.fs.file_nr_allocated,
            },
            process: ProcessJson {
                pid: s.process.pid,
                comm: &s.process.comm,
                unit: &s.process.unit,
                runtime: s.runtime.kind.name(),
                nofile_soft: s.process.nofile.soft,
                nofile_hard: s.process.nofile.hard,
                open_fds: s.process.open_fds,
                caps: &s.process.caps,
            },
            notes: &s.notes,
            checks_for: if r.with_profile.is_some() {
                "with_profile"
            } else {
                "host"
            },
            with_profile: r.with_profile.as_ref().map(|w| WithProfileJson {
                profile: &w.name,
                before: p.into(),
                after: w.after.into(),
                ceilings_after: &w.after.ceilings,
                inputs_after: &w.after.inputs,
                reach: w.reach,
            }),
        }
    }
}

pub fn check(r: &CheckReport) -> String {
    let v = serde_json::to_value(CheckJson::new(r)).unwrap_or_default();
    serde_json::to_string_pretty(&v).unwrap_or_default() + "\n"
}
