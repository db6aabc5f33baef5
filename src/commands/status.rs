//! `porttune status`: what porttune has applied here and whether it still holds.

use crate::apply::prepare::absolute;
use crate::cli::{StatusArgs, StatusFormat};
use crate::error::{Result, exit};
use crate::render;

pub fn run(args: &StatusArgs) -> Result<i32> {
    super::rollback::check_state_dir(&args.state_dir)?;
    let st = crate::apply::status::status(&absolute(&args.state_dir)?);
    match args.format {
        StatusFormat::Json => crate::out!(
            "{}",
            render::document(&render::journal::StatusJson::new(&st))
        ),
        StatusFormat::Text => crate::out!(
            "{}",
            render::journal::status(&st, args.all, render::wrap::terminal_width())
        ),
    }
    Ok(if st.ok() { exit::OK } else { exit::FAILED })
}
