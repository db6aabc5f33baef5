//! The working context of a prediction and the small rules every ceiling file shares (its own
//! file so that `ceilings`, `macos` and `servers` use it without using each other).

use super::names::CeilingName;
use super::{Ceiling, NotApplicable, Scenario, Scope};
use crate::snapshot::Snapshot;

pub(super) struct Ctx<'a> {
    pub(super) snap: &'a Snapshot,
    pub(super) sc: &'a Scenario,
    pub(super) assumptions: Vec<String>,
    pub(super) not_applicable: Vec<NotApplicable>,
}

impl Ctx<'_> {
    pub(super) fn assume(&mut self, s: impl Into<String>) {
        self.assumptions.push(s.into());
    }
    pub(super) fn na(&mut self, name: CeilingName, why: impl Into<String>) {
        self.not_applicable.push(NotApplicable {
            name,
            why: why.into(),
        });
    }
    pub(super) fn procs(&self) -> u64 {
        self.sc.processes.max(1)
    }
}

pub(super) fn ceiling(
    name: CeilingName,
    value: u64,
    exact: bool,
    scope: Scope,
    why: String,
    lift: String,
) -> Ceiling {
    Ceiling {
        name,
        value,
        exact,
        scope,
        why,
        lift,
        provenance: Ceiling::pending(),
        conditional: None,
    }
}

/// A limit worth suggesting when no target is given: at least 65536 and always above
/// `current` (twice it, to a power of two; never past the largest value).
pub fn suggested_nofile(current: u64) -> u64 {
    current
        .saturating_mul(2)
        .max(65536)
        .checked_next_power_of_two()
        .unwrap_or(u64::MAX)
        .max(current.saturating_add(1))
}

/// A value to lift a limit to: twice it, and always above it.
pub fn above(cur: u64) -> u64 {
    cur.saturating_mul(2).max(cur.saturating_add(1))
}
