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
}
