//! Setting the rlimits of running processes (prlimit(2)); reading them and the capabilities
//! needed is snapshot::host's.

use crate::snapshot::Limit;

pub use crate::snapshot::host::{
    CAP_NET_ADMIN, CAP_SYS_ADMIN, CAP_SYS_RESOURCE, Resource, has_cap,
};

#[cfg(target_os = "linux")]
fn raw(r: crate::snapshot::Rlim) -> u64 {
    use crate::snapshot::Rlim;
    match r {
        Rlim::Value(v) => v,
        Rlim::Unlimited => u64::MAX,
    }
}

/// The current limit of `pid` (read by the snapshot's host reader).
pub fn get(pid: u32, res: Resource) -> std::io::Result<Limit> {
    crate::snapshot::host::rlimit(pid, res)
}

/// Set the limit of `pid` with prlimit(2).
#[cfg(target_os = "linux")]
pub fn set(pid: u32, res: Resource, lim: Limit) -> std::io::Result<()> {
    let r = match res {
        Resource::Nofile => rlimit::Resource::NOFILE,
        Resource::Nproc => rlimit::Resource::NPROC,
    };
    let pid = i32::try_from(pid)
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::InvalidInput, "pid out of range"))?;
    rlimit::prlimit(pid, r, Some((raw(lim.soft), raw(lim.hard))), None)
}

#[cfg(not(target_os = "linux"))]
pub fn set(_pid: u32, _res: Resource, _lim: Limit) -> std::io::Result<()> {
    Err(std::io::Error::new(
        std::io::ErrorKind::Unsupported,
        "prlimit is Linux-only",
    ))
}
