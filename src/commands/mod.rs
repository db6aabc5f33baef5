//! Every command: its arguments (from `cli`) into typed options, the stages, the renderer.
//! Only commands print, prompt or show progress.

pub mod apply;
pub mod check;
pub mod completions;
pub mod doctor;
pub mod explain;
pub mod flood;
pub mod man;
pub mod plan;
pub mod profiles;
pub mod rollback;
pub mod schema;
pub mod status;

/// Create the directory `--dir` names when it is missing (as `install -d`); one that cannot
/// be created is bad input (exit 2), named, and nothing is written.
pub fn create_output_dir(dir: &std::path::Path, what: &str) -> crate::error::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    std::fs::create_dir_all(dir).map_err(|e| {
        crate::error::Error::input(
            dir,
            format!(
                "cannot create the {what} directory: {}; nothing was written",
                crate::fsio::describe_io(&e)
            ),
        )
    })
}
