//! One check's result: its ID, severity and message. Its own file so that the check groups
//! (`checks`, `evidence`) share it without using each other.

use serde::{Deserialize, Serialize};

use super::CheckId;

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warning,
    Error,
}

impl Severity {
    pub fn label(self) -> &'static str {
        match self {
            Severity::Info => "INFO",
            Severity::Warning => "WARNING",
            Severity::Error => "ERROR",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Check {
    pub id: CheckId,
    pub severity: Severity,
    pub message: String,
    /// Set when `--ignore` demoted an error to a warning.
    #[serde(skip_serializing_if = "std::ops::Not::not", default)]
    pub ignored: bool,
}
