//! What planning reads: the live host, or a snapshot seen as a host.

use std::path::Path;

use super::*;
use crate::snapshot::host::{self as live, CAP_SYS_RESOURCE, Resource, has_cap};
use crate::snapshot::sysctl_root::SysctlRoot;
use crate::snapshot::{Limit, Os, Snapshot};

/// Where planning reads current values.
pub trait HostView {
    fn sysctl(&self, key: &str) -> Cur;
    fn rlimit(&self, pid: u32, res: Resource) -> std::result::Result<Option<Limit>, String>;
    fn file(&self, path: &Path) -> std::result::Result<FileCur, String>;
    /// Whether privileges are checked (false for snapshots).
    fn live(&self) -> bool;
    fn can_write_sysctl(&self, key: &str) -> bool;
    fn can_write_file(&self, path: &Path) -> bool;
    /// Why `key` can never be applied here (a directory, a write-only trigger), if so.
    fn unusable(&self, _key: &str) -> Option<String> {
        None
    }
    /// The OS of the host: a profile for another OS is refused.
    fn os(&self) -> Os;
}

/// The live host: a sysctl root and the file system.
#[derive(Debug, Clone)]
pub struct LiveHost {
    pub sysctl: SysctlRoot,
    /// The OS its settings are named for (this one; tests drive a macOS tree from Linux).
    pub os: Os,
}

impl Default for LiveHost {
    fn default() -> Self {
        LiveHost {
            sysctl: SysctlRoot::default(),
            os: Os::current(),
        }
    }
}

impl HostView for LiveHost {
    fn unusable(&self, key: &str) -> Option<String> {
        self.sysctl.unusable(key)
    }
    fn os(&self) -> Os {
        self.os
    }
    fn sysctl(&self, key: &str) -> Cur {
        match self.sysctl.read(key) {
            Ok(v) => Cur::Value(v),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Cur::Absent,
            Err(_) => Cur::Unknown,
        }
    }
    fn rlimit(&self, pid: u32, res: Resource) -> std::result::Result<Option<Limit>, String> {
        live::rlimit(pid, res).map(Some).map_err(|e| {
            format!("pid:{pid}: cannot read /proc/{pid}/limits: {e} (is the process running?)")
        })
    }
    fn file(&self, path: &Path) -> std::result::Result<FileCur, String> {
        if std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink()) {
            return Err(format!(
                "{} is a symbolic link: porttune replaces files atomically (rename), which would replace the link; name the real file instead",
                path.display()
            ));
        }
        if let Ok(m) = std::fs::symlink_metadata(path)
            && !m.is_file()
        {
            return Err(format!(
                "{} is not a regular file (a directory, device or FIFO); porttune replaces only regular files",
                path.display()
            ));
        }
        match crate::fsio::read_bounded_io(path, crate::fsio::MAX_INPUT) {
            Ok(b) => match String::from_utf8(b) {
                Ok(text) => Ok(FileCur::Content {
                    text,
                    mode: crate::fsio::mode_of(path),
                }),
                Err(_) => Err(format!(
                    "{} is not UTF-8 text; porttune edits only text files",
                    path.display()
                )),
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(FileCur::Absent),
            Err(e) => Err(format!("cannot read {}: {e}", path.display())),
        }
    }
    fn live(&self) -> bool {
        true
    }
    fn can_write_sysctl(&self, key: &str) -> bool {
        self.sysctl.writable(key)
    }
    fn can_write_file(&self, path: &Path) -> bool {
        if path.exists() {
            return crate::fsio::writable(path);
        }
        let mut p = path.parent();
        while let Some(d) = p {
            if d.exists() {
                return crate::fsio::writable(d);
            }
            p = d.parent();
        }
        false
    }
}

/// A snapshot seen as a host: sysctls the snapshot records; files unknown.
pub struct SnapshotHost<'a>(pub &'a Snapshot);

impl HostView for SnapshotHost<'_> {
    fn os(&self) -> Os {
        self.0.platform.os
    }
    fn sysctl(&self, key: &str) -> Cur {
        match snapshot_get(self.0, key) {
            Some(v) => Cur::Value(v),
            None => Cur::Unknown,
        }
    }
    fn rlimit(&self, pid: u32, res: Resource) -> std::result::Result<Option<Limit>, String> {
        let p = &self.0.process;
        if p.pid == Some(pid) {
            return Ok(match res {
                Resource::Nofile => Some(p.nofile),
                Resource::Nproc => p.nproc,
            });
        }
        Ok(None)
    }
    fn file(&self, _path: &Path) -> std::result::Result<FileCur, String> {
        Ok(FileCur::Unknown)
    }
    fn live(&self) -> bool {
        false
    }
    fn can_write_sysctl(&self, _key: &str) -> bool {
        true
    }
    fn can_write_file(&self, _path: &Path) -> bool {
        true
    }
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
        if live::owner(pid).is_some_and(|o| o != me) && !cap {
            return Some("CAP_SYS_RESOURCE (the process belongs to another user)".into());
        }
    }
    None
}
