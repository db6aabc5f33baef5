//! Profiles: YAML files that say which limits to lift and to what (docs/profiles.md).
//!
//! `load` reads a bundled name or a file, parses it strictly (unknown and duplicate keys are
//! errors with file:line:column), resolves `extends` (parents first, later wins, cycles are
//! an error) and checks every key and value that can be checked without the live host.

pub mod bundled;
pub mod load;
pub mod schema;
pub mod suggest;
pub mod validate;

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Serialize;

pub use load::{load, summary};
pub use schema::{ErlangSection, LimitPair, Require, ScenarioSpec, SysctlOp};
pub use validate::LimitTarget;

/// Where a setting was written: file, line, column (for error messages).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Origin {
    pub path: PathBuf,
    pub line: usize,
    pub column: usize,
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}:{}", self.path.display(), self.line, self.column)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SysctlEntry {
    pub key: String,
    pub op: SysctlOp,
    pub optional: bool,
    #[serde(skip)]
    pub origin: Origin,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ResolvedLimits {
    pub nofile: Option<LimitPair>,
    pub nproc: Option<LimitPair>,
    pub targets: Vec<LimitTarget>,
    pub pam_domain: Option<String>,
}

/// A profile with `extends` resolved.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Profile {
    pub name: String,
    pub description: Option<String>,
    /// The file or `bundled:NAME` it was loaded from.
    pub source: String,
    /// Every file merged, parents first.
    pub chain: Vec<String>,
    pub require: Option<Require>,
    pub sysctl: BTreeMap<String, SysctlEntry>,
    pub limits: ResolvedLimits,
    pub erlang: Option<ErlangSection>,
    pub persist: bool,
    /// The OS the profile is for (`os:`; Linux unless it says `macos`).
    pub os: crate::snapshot::Os,
}

impl Profile {
    /// The scenario the profile is for (default: inbound, one process).
    pub fn scenario(&self) -> crate::model::Scenario {
        self.require
            .as_ref()
            .map(|r| r.scenario.to_scenario())
            .unwrap_or_default()
    }
}
