//! The ceilings (limits-facts.md §12.2).

use super::*;

pub fn predict(_snap: &Snapshot, scenario: &Scenario) -> Prediction {
    Prediction {
        scenario: scenario.clone(),
        ceiling: 0,
        bottleneck: String::new(),
        tied: vec![],
        ceilings: vec![],
        not_applicable: vec![],
        rates: vec![],
        assumptions: vec![],
    }
}
