//! Command-line types (clap). No logic here.
use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "porttune",
    version,
    about = "How many concurrent TCP connections this host can hold, what stops it first, and how to lift it"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Read the host, predict the connection ceiling, name the bottleneck.
    Check,
    /// Show what a profile would change and the predicted ceiling before → after.
    Plan(crate::apply::cli::PlanArgs),
    /// Apply a profile: journal, change, read back; restore everything on failure.
    Apply(crate::apply::cli::ApplyArgs),
    /// Restore the values and files an apply changed (the latest journal, or the one named).
    Rollback(crate::apply::cli::RollbackArgs),
    /// List, show and validate profiles.
    Profiles(crate::apply::cli::ProfilesArgs),
}
