//! `flood --format json`: the report as it is (schema 1).

use crate::flood::report::FloodReport;

pub fn json(r: &FloodReport) -> String {
    let mut s =
        serde_json::to_string_pretty(r).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"));
    s.push('\n');
    s
}
