//! Probe the live host into a [`Snapshot`].

use super::*;
use crate::error::Result;

/// What to probe.
#[derive(Debug, Clone, Default)]
pub struct ProbeOptions {
    /// Examine this process instead of porttune itself (its limits, runtime and netns).
    pub pid: Option<u32>,
    /// Root of /proc (fixture trees in tests); default "/proc".
    pub proc_root: Option<std::path::PathBuf>,
    /// Name the runtime instead of detecting it.
    pub runtime: Option<RuntimeKind>,
    /// Erlang flags of a node not yet running ("+Q 65536 +P 1048576").
    pub erl_flags: Option<String>,
    /// An Erlang vm.args file of a node not yet running.
    pub vm_args: Option<std::path::PathBuf>,
    /// An nginx configuration to read worker settings from.
    pub nginx_conf: Option<std::path::PathBuf>,
}

pub fn probe(_opts: &ProbeOptions) -> Result<Snapshot> {
    Ok(Snapshot::default())
}
