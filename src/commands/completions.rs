//! `porttune completions SHELL`: a shell completion script.

use crate::cli::{Cli, CompletionsArgs};
use crate::error::{Result, exit};

pub fn run(a: &CompletionsArgs) -> Result<i32> {
    // Generated into memory: clap_complete panics when its writer fails.
    let mut cmd = <Cli as clap::CommandFactory>::command();
    let mut buf = Vec::new();
    clap_complete::generate(a.shell, &mut cmd, "porttune", &mut buf);
    crate::out::write_bytes(&buf);
    Ok(exit::OK)
}
