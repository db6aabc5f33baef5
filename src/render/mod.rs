//! Output formats. Renderers format; they compute nothing.

pub mod doctor;
pub mod explain;
pub mod flood;
pub mod journal;
pub mod json;
pub mod plan;
pub mod prometheus;
pub mod schema;
pub mod servers;
pub mod text;
pub mod text_macos;
pub mod wrap;

use serde::Serialize;

use crate::model::Prediction;
use crate::model::checks::Check;
use crate::snapshot::Snapshot;

/// Everything `porttune check` reports.
#[derive(Debug, Clone, Serialize)]
pub struct CheckReport<'a> {
    pub snapshot: &'a Snapshot,
    pub prediction: &'a Prediction,
    /// The prediction with a profile applied (`check --with`): before → after.
    pub with_profile: Option<WithProfile<'a>>,
    pub checks: &'a [Check],
    pub source: String,
}

/// `check --with PROFILE`: the prediction as the profile would leave the process, and which
/// of its settings reach the process.
#[derive(Debug, Clone, Serialize)]
pub struct WithProfile<'a> {
    pub name: String,
    pub after: &'a Prediction,
    pub reach: &'a [crate::plan::Reach],
}

pub use crate::model::fmt::thousands;

/// A JSON document as every command prints it: pretty, keys sorted, a final newline.
pub fn document<T: Serialize>(doc: &T) -> String {
    let v = serde_json::to_value(doc).unwrap_or_default();
    serde_json::to_string_pretty(&v).unwrap_or_default() + "\n"
}

/// Whether to colour: on a terminal (or with CLICOLOR_FORCE set and not "0"), never with
/// NO_COLOR (https://no-color.org). Every command's text output follows this one switch.
pub fn use_colour(is_terminal: bool) -> bool {
    let set = |k: &str| std::env::var_os(k).is_some_and(|v| !v.is_empty() && v != "0");
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        && (is_terminal || set("CLICOLOR_FORCE"))
}

#[cfg(test)]
mod tests {
    #[test]
    fn thousands() {
        assert_eq!(super::thousands(0), "0");
        assert_eq!(super::thousands(999), "999");
        assert_eq!(super::thousands(28232), "28,232");
        assert_eq!(super::thousands(1048576), "1,048,576");
    }
}
