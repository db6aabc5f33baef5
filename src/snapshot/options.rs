//! What the probe is asked to read (`probe::probe`); its own file so that the per-OS
//! probes (`linux`, `macos`) and `probe` share it without using each other.

use std::path::PathBuf;

use super::{Limit, RuntimeKind};

/// What to probe.
#[derive(Debug, Clone, Default)]
pub struct ProbeOptions {
    /// Examine this process instead of porttune itself (its limits, runtime and netns).
    pub pid: Option<u32>,
    /// Root of /proc (fixture trees in tests); default "/proc".
    pub proc_root: Option<PathBuf>,
    /// Name the runtime instead of detecting it.
    pub runtime: Option<RuntimeKind>,
    /// Erlang flags of a node not yet running ("+Q 65536 +P 1048576").
    pub erl_flags: Option<String>,
    /// An Erlang vm.args file of a node not yet running.
    pub vm_args: Option<PathBuf>,
    /// An nginx configuration to read worker settings from.
    pub nginx_conf: Option<PathBuf>,
    /// Read the kernel log for evidence of limits already hit (not with `proc_root`: that is
    /// another host's /proc).
    /// Keeping the lines this says are evidence (`model::evidence::is_evidence`).
    pub kernel_log: Option<fn(&str) -> bool>,
    /// The process's RLIMIT_NOFILE as stated by the user: what the OS does not expose for
    /// another process on macOS, or the limit a process not yet started will get.
    pub nofile: Option<Limit>,
    /// The runtime's version (the JDK's, for the macOS MaxFDLimit rule).
    pub runtime_version: Option<String>,
    /// `--since` (seconds since the epoch): kernel-log lines from then on are evidence,
    /// instead of those since the examined process started.
    pub since: Option<u64>,
    /// A HAProxy configuration (file or directory) instead of the process's `-f`.
    pub haproxy_conf: Option<PathBuf>,
    /// A catalog server's configuration file instead of the process's (`--config`).
    pub config: Option<PathBuf>,
}
