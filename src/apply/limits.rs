//! rlimits of running processes (prlimit(2)) and the capabilities needed to change them.

use crate::snapshot::{Limit, Rlim};

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
    /// The row in /proc/PID/limits.
    fn row(self) -> &'static str {
        match self {
            Resource::Nofile => "Max open files",
            Resource::Nproc => "Max processes",
        }
    }
}

#[cfg(target_os = "linux")]
fn raw(r: Rlim) -> u64 {
    match r {
        Rlim::Value(v) => v,
        Rlim::Unlimited => u64::MAX,
    }
}

/// Parse one row of /proc/PID/limits.
pub fn parse_limits(text: &str, res: Resource) -> Option<Limit> {
    let line = text.lines().find(|l| l.starts_with(res.row()))?;
    let mut it = line[res.row().len()..].split_whitespace();
    let p = |s: &str| {
        if s == "unlimited" {
            Some(Rlim::Unlimited)
        } else {
            s.parse().ok().map(Rlim::Value)
        }
    };
    Some(Limit {
        soft: p(it.next()?)?,
        hard: p(it.next()?)?,
    })
}

/// The current limit of `pid`.
pub fn get(pid: u32, res: Resource) -> std::io::Result<Limit> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/limits"))?;
    parse_limits(&text, res).ok_or_else(|| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "no such row in /proc/PID/limits",
        )
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
    let Ok(s) = std::fs::read_to_string("/proc/self/status") else {
        return false;
    };
    s.lines()
        .find_map(|l| l.strip_prefix("CapEff:"))
        .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
        .map(|bits| bits & (1u64 << n) != 0)
        .unwrap_or(false)
}

pub const CAP_NET_ADMIN: u32 = 12;
pub const CAP_SYS_ADMIN: u32 = 21;
pub const CAP_SYS_RESOURCE: u32 = 24;

/// Owner uid of a process (from /proc/PID/status, real uid).
pub fn owner(pid: u32) -> Option<u32> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    s.lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
}

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
        if owner(pid).is_some_and(|o| o != me) && !cap {
            return Some("CAP_SYS_RESOURCE (the process belongs to another user)".into());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse() {
        let t = "Limit                     Soft Limit           Hard Limit           Units\nMax processes             96365                96365                processes\nMax open files            1024                 unlimited            files\n";
        assert_eq!(
            parse_limits(t, Resource::Nofile),
            Some(Limit {
                soft: Rlim::Value(1024),
                hard: Rlim::Unlimited
            })
        );
        assert_eq!(
            parse_limits(t, Resource::Nproc).unwrap().soft,
            Rlim::Value(96365)
        );
    }
}
