//! What porttune did to this host, from its journals: `rollback` (text and JSON). Formatting
//! only.

use colored::Colorize;
use serde::Serialize;

use crate::apply::engine::{NotRestored, Restored, RolledBack};
use crate::render::wrap::wrap;

/// The `rollback --format json` document: every journal rolled back, and the entries of all
/// of them together.
#[derive(Debug, Serialize)]
pub struct RollbackJson<'a> {
    /// The document's version (docs/json.md).
    pub schema: u32,
    /// The first (newest) journal rolled back.
    pub journal: Option<String>,
    /// Its profile.
    pub profile: Option<&'a str>,
    /// Every journal named had been rolled back already: nothing was done.
    pub already: bool,
    /// Every value and file put back, newest journal first.
    pub restored: Vec<&'a Restored>,
    /// What could not be put back (exit 1).
    pub failed: Vec<&'a NotRestored>,
    pub warnings: Vec<&'a str>,
    /// One entry per journal.
    pub journals: &'a [RolledBack],
}

impl<'a> RollbackJson<'a> {
    pub fn new(all: &'a [RolledBack]) -> Self {
        let first = all.first();
        RollbackJson {
            schema: 1,
            journal: first.map(|r| r.journal.display().to_string()),
            profile: first.map(|r| r.profile.as_str()),
            already: all.iter().all(|r| r.already),
            restored: all.iter().flat_map(|r| &r.restored).collect(),
            failed: all.iter().flat_map(|r| &r.failed).collect(),
            warnings: all
                .iter()
                .flat_map(|r| r.warnings.iter().map(String::as_str))
                .collect(),
            journals: all,
        }
    }
}

/// One journal's rollback as text, wrapped at `width` (continuation lines indented). The
/// lines of failures are returned apart: they go to standard error.
pub fn rolled_back(r: &RolledBack, width: usize) -> (String, String) {
    let mut out = String::new();
    let mut err = String::new();
    for w in &r.warnings {
        out.push_str(&wrap(w, width, &format!("{} ", "warning:".yellow()), "  "));
    }
    let journal = r.journal.display();
    if r.already {
        let t = format!(
            "nothing to do: journal {journal} (profile `{}`) was already rolled back",
            r.profile
        );
        out.push_str(&wrap(&t, width, "", "  "));
        return (out, err);
    }
    let t = format!("{journal} (profile `{}`):", r.profile);
    out.push_str(&wrap(
        &t,
        width,
        &format!("{} ", "Rolled back journal".bold()),
        "  ",
    ));
    if r.restored.is_empty() {
        out.push_str("  every value already had its old value\n");
    }
    for x in &r.restored {
        out.push_str(&wrap(&x.text, width, "  restored ", "      "));
    }
    for f in &r.failed {
        err.push_str(&wrap(
            &f.error,
            width,
            &format!("  {} ", "FAILED".red().bold()),
            "      ",
        ));
    }
    out.push_str(&format!("restored: {}\n", r.restored.len()));
    (out, err)
}
