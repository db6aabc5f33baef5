//! `porttune flood`: the measuring instrument. It opens connections on loopback (or to a
//! local `--target`) until a limit stops it, classifies the stop into the model's ceiling
//! names, and compares the count with the prediction for the same scenario.
//!
//! Data flows one way: `options` (what is asked) → `workers` (fork, watch, reap) → `engine`
//! (one epoll loop per worker) → `report` (result structs, verdict). Nothing here prints:
//! `commands::flood` shows the [`Progress`] and renders the report.

pub mod classify;
pub mod engine;
pub mod options;
pub mod platform;
pub mod report;
mod run;
pub mod shm;
pub mod workers;

pub use options::FloodOptions;

use crate::error::{Error, Result};

/// What a running flood tells its caller, in order: notes (before the run), then `Start`,
/// `Tick`s about every 50 ms, and `Finish` on every path once the workers are done.
#[derive(Debug, Clone, PartialEq)]
pub enum Progress<'a> {
    /// A note for standard error (TIME_WAIT left behind by `--churn`, `--graceful`).
    Note(&'a str),
    /// The connections are about to be opened, up to `max`.
    Start { max: u64 },
    /// Established so far, and the rate since the start.
    Tick { established: u64, rate_per_s: f64 },
    /// The run ended (or failed): progress can be cleared.
    Finish,
}

/// Run the flood described by `opts` and build its report (nothing printed: `progress` is
/// told what happens). Used by `porttune flood` and `apply --verify`.
pub fn measure(
    opts: &FloodOptions,
    progress: &mut dyn FnMut(Progress),
) -> Result<report::FloodReport> {
    options::validate(opts)?;
    platform::check_sources(&options::source_ips(opts.source_ips)).map_err(Error::Usage)?;
    run::measure(opts, progress)
}
