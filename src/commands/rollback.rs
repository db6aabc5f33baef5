//! `porttune rollback [JOURNAL]`: restore what an apply changed.

use std::path::Path;

use crate::apply::engine;
use crate::apply::prepare::absolute;
use crate::cli::{RollbackArgs, RollbackFormat};
use crate::error::{Error, Result, exit};
use crate::render;

pub fn run(args: &RollbackArgs) -> Result<i32> {
    check_state_dir(&args.state_dir)?;
    let all = engine::rollback(&absolute(&args.state_dir)?, args.journal.as_deref())?;
    let failed = all.iter().any(|r| !r.failed.is_empty());
    let code = if failed { exit::FAILED } else { exit::OK };
    if args.format == RollbackFormat::Json {
        crate::out!(
            "{}",
            render::document(&render::journal::RollbackJson::new(&all))
        );
        return Ok(code);
    }
    let width = render::wrap::terminal_width();
    for r in &all {
        let (out, err) = render::journal::rolled_back(r, width);
        crate::out!("{out}");
        crate::err!("{err}");
    }
    Ok(code)
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
