//! `porttune rollback [JOURNAL]`: restore what an apply changed.

use std::path::Path;

use serde_json::json;

use super::plan::print_json;
use crate::apply::engine;
use crate::apply::prepare::absolute;
use crate::cli::{RollbackArgs, RollbackFormat};
use crate::error::{Error, Result, exit};

pub fn run(args: &RollbackArgs) -> Result<i32> {
    check_state_dir(&args.state_dir)?;
    let all = engine::rollback(&absolute(&args.state_dir)?, args.journal.as_deref())?;
    let failed = all.iter().any(|r| !r.failed.is_empty());
    let code = if failed { exit::FAILED } else { exit::OK };
    if args.format == RollbackFormat::Json {
        let cat = |f: fn(&engine::RolledBack) -> &Vec<String>| -> Vec<String> {
            all.iter().flat_map(|r| f(r).iter().cloned()).collect()
        };
        let first = all.first();
        print_json(&json!({
            "journal": first.map(|r| r.journal.display().to_string()),
            "profile": first.map(|r| r.profile.clone()),
            "already": all.iter().all(|r| r.already),
            "restored": cat(|r| &r.restored),
            "failed": cat(|r| &r.failed),
            "warnings": cat(|r| &r.warnings),
            "journals": all,
        }));
        return Ok(code);
    }
    for r in &all {
        print_rolled_back(r);
    }
    Ok(code)
}

fn print_rolled_back(r: &engine::RolledBack) {
    for w in &r.warnings {
        crate::outln!("warning: {w}");
    }
    if r.already {
        crate::outln!(
            "nothing to do: journal {} (profile `{}`) was already rolled back",
            r.journal.display(),
            r.profile
        );
        return;
    }
    crate::outln!(
        "{} {} (profile `{}`):",
        colored::Colorize::bold("Rolled back journal"),
        r.journal.display(),
        r.profile
    );
    if r.restored.is_empty() {
        crate::outln!("  every value already had its old value");
    }
    for x in &r.restored {
        crate::outln!("  restored {x}");
    }
    for f in &r.failed {
        crate::errln!("  FAILED {f}");
    }
    crate::outln!("restored: {}", r.restored.len());
}

/// `--state-dir` naming something that is not a directory is bad input (exit 2).
pub fn check_state_dir(d: &Path) -> Result<()> {
    match std::fs::metadata(d) {
        Ok(m) if !m.is_dir() => Err(Error::Usage(format!(
            "--state-dir {}: not a directory; nothing was changed",
            d.display()
        ))),
        _ => Ok(()),
    }
}
