//! Where a number came from: read from the host (which file, sysctl or API), derived from other
//! inputs by a rule, assumed (which default, why, and what would read it) or unknown.
//!
//! Every model input and every ceiling carries one (docs/model.md, "Provenance"). The probe
//! records one in the snapshot only where a value did not come from its usual place
//! ([`super::Snapshot::provenance`]): a limit given with `--nofile`, the shell's limit taken for
//! another process on a Mac, a server cap the reader could not see.

use serde::{Deserialize, Serialize};

/// Where one value came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
pub enum Provenance {
    /// Read from the host: the file, sysctl, API or flag it came from.
    Read { from: String },
    /// Computed from other inputs (their keys) by a rule.
    Derived { rule: String, inputs: Vec<String> },
    /// Not read: the model took `default`, for the reason `why`; `read_with` says what reads it.
    Assumed {
        default: String,
        why: String,
        read_with: String,
    },
    /// Not read and no default: `what` is unknown; `read_with` says what reads it.
    Unknown { what: String, read_with: String },
}

impl Provenance {
    pub fn read(from: impl Into<String>) -> Self {
        Provenance::Read { from: from.into() }
    }

    pub fn derived(rule: impl Into<String>, inputs: &[&str]) -> Self {
        Provenance::Derived {
            rule: rule.into(),
            inputs: inputs.iter().map(|s| s.to_string()).collect(),
        }
    }

    pub fn assumed(
        default: impl Into<String>,
        why: impl Into<String>,
        read_with: impl Into<String>,
    ) -> Self {
        Provenance::Assumed {
            default: default.into(),
            why: why.into(),
            read_with: read_with.into(),
        }
    }

    pub fn unknown(what: impl Into<String>, read_with: impl Into<String>) -> Self {
        Provenance::Unknown {
            what: what.into(),
            read_with: read_with.into(),
        }
    }

    /// `read`, `derived`, `assumed` or `unknown`, as JSON spells the kind.
    pub fn kind(&self) -> &'static str {
        match self {
            Provenance::Read { .. } => "read",
            Provenance::Derived { .. } => "derived",
            Provenance::Assumed { .. } => "assumed",
            Provenance::Unknown { .. } => "unknown",
        }
    }

    /// Assumed or unknown: not read, and not derived from read values alone.
    pub fn is_assumption(&self) -> bool {
        matches!(
            self,
            Provenance::Assumed { .. } | Provenance::Unknown { .. }
        )
    }

    /// What would read the value (for assumed and unknown ones).
    pub fn read_with(&self) -> Option<&str> {
        match self {
            Provenance::Assumed { read_with, .. } | Provenance::Unknown { read_with, .. } => {
                Some(read_with)
            }
            _ => None,
        }
    }
}

impl std::fmt::Display for Provenance {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Provenance::Read { from } => write!(f, "read from {from}"),
            Provenance::Derived { rule, inputs } => {
                write!(f, "derived: {rule}")?;
                if !inputs.is_empty() {
                    write!(f, " (from {})", inputs.join(", "))?;
                }
                Ok(())
            }
            Provenance::Assumed {
                default,
                why,
                read_with,
            } => write!(f, "assumed {default}: {why}; read it with {read_with}"),
            Provenance::Unknown { what, read_with } => {
                write!(f, "unknown: {what}; read it with {read_with}")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serialised_with_its_kind() {
        let p = Provenance::assumed(
            "10240",
            "kern.maxfilesperproc was not read",
            "`sysctl kern.maxfilesperproc`",
        );
        let v = serde_json::to_value(&p).unwrap();
        assert_eq!(v["kind"], "assumed");
        assert_eq!(v["default"], "10240");
        let back: Provenance = serde_json::from_value(v).unwrap();
        assert_eq!(back, p);
        assert!(p.is_assumption());
        assert!(!Provenance::read("/proc/sys/fs/nr_open").is_assumption());
        let d = Provenance::derived("a − b", &["a", "b"]);
        assert_eq!(d.to_string(), "derived: a − b (from a, b)");
        assert!(
            serde_json::from_str::<Provenance>(r#"{"kind":"read","from":"x","extra":1}"#).is_err()
        );
    }
}
