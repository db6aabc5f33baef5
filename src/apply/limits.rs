//! rlimits of running processes (prlimit(2)) and the capabilities needed to change them.

use crate::snapshot::Limit;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Resource {
    Nofile,
    Nproc,
}

impl Resource {
    pub fn name(self) -> &'static str {
        match self {
            Resource::Nofile => "nofile",
            Resource::Nproc => "nproc",
        }
    }
}

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
    let (nofile, nproc) = crate::snapshot::host::rlimits(pid)?;
    Ok(match res {
        Resource::Nofile => nofile,
        Resource::Nproc => nproc,
    })
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

/// Effective capability bit `n` of this process (CAP_SYS_RESOURCE = 24, CAP_SYS_ADMIN = 21,
/// CAP_NET_ADMIN = 12).
pub fn has_cap(n: u32) -> bool {
    n < 64 && crate::snapshot::host::capeff() & (1u64 << n) != 0
}

pub const CAP_NET_ADMIN: u32 = 12;
pub const CAP_SYS_ADMIN: u32 = 21;
pub const CAP_SYS_RESOURCE: u32 = 24;

/// What changing `pid`'s limit from `cur` to `new` needs, if this process lacks it.
pub fn missing_privilege(pid: u32, cur: Limit, new: Limit) -> Option<String> {
    let cap = has_cap(CAP_SYS_RESOURCE);
    if new.hard > cur.hard && !cap {
        return Some(format!(
            "CAP_SYS_RESOURCE (raising the hard limit from {} to {})",
            cur.hard, new.hard
        ));
    }
    if new.hard < cur.hard && !cap {
        return Some(format!(
            "CAP_SYS_RESOURCE (lowering the hard limit from {} to {} cannot be undone without it: rollback could not raise it back)",
            cur.hard, new.hard
        ));
    }
    #[cfg(unix)]
    {
        let me = nix::unistd::geteuid().as_raw();
        if crate::snapshot::host::owner(pid).is_some_and(|o| o != me) && !cap {
            return Some("CAP_SYS_RESOURCE (the process belongs to another user)".into());
        }
    }
    None
}
