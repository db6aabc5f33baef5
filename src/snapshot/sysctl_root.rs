//! Read sysctls under a root (`/proc/sys`, or a fixture tree in tests); on macOS the default
//! root means the kernel itself, through sysctl(3) and `launchctl limit maxfiles`. Keys are
//! checked with [`crate::settings::check_key`] before any path is built, so nothing outside
//! the root can be named. `apply::sysctl` writes through the same root.

use std::io;
use std::path::{Path, PathBuf};

use super::procsys::ProcSys;

pub const DEFAULT_ROOT: &str = "/proc/sys";

/// The pseudo key for launchd's maxfiles limit ("SOFT HARD"), written with `launchctl limit`.
pub const LAUNCHD_MAXFILES: &str = "launchd.maxfiles";

/// Run `/bin/launchctl ARGS` (no shell), killed after 10 s; its output, or why it failed.
pub fn launchctl(args: &[&str]) -> Result<String, String> {
    super::command::run(
        "/bin/launchctl",
        args,
        std::time::Duration::from_secs(10),
        64 << 10,
    )
    .map_err(|e| format!("`launchctl {}`: {e}", args.join(" ")))
}

/// The checked reader over [`ProcSys`]: every key passes the strict pattern before a path is
/// built. On macOS the default root means the kernel itself; any other root is a tree of one
/// file per key (`kern/maxfiles`), the same on every OS: the fake macOS backend of the tests.
#[derive(Debug, Clone)]
pub struct SysctlRoot {
    sys: ProcSys,
    native: bool,
}

impl Default for SysctlRoot {
    fn default() -> Self {
        SysctlRoot::new(DEFAULT_ROOT)
    }
}

impl SysctlRoot {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        let root = root.into();
        let native = cfg!(target_os = "macos") && root == Path::new(DEFAULT_ROOT);
        SysctlRoot {
            sys: ProcSys::new(root),
            native,
        }
    }

    pub fn root(&self) -> &Path {
        self.sys.root()
    }

    /// The kernel itself (sysctl(3)), not a tree of files.
    pub fn native(&self) -> bool {
        self.native
    }

    fn check(key: &str) -> io::Result<()> {
        crate::settings::check_key(key).map_err(|m| io::Error::new(io::ErrorKind::InvalidInput, m))
    }

    /// The file for `key`; an error for keys that fail the strict pattern.
    pub fn path(&self, key: &str) -> io::Result<PathBuf> {
        Self::check(key)?;
        Ok(self.sys.path(key))
    }

    pub fn exists(&self, key: &str) -> bool {
        if self.native {
            return self.read(key).is_ok();
        }
        self.path(key).map(|p| p.is_file()).unwrap_or(false)
    }

    /// The value, whitespace-normalised (`tcp_rmem` is tab-separated in /proc).
    pub fn read(&self, key: &str) -> io::Result<String> {
        Self::check(key)?;
        if self.native {
            return native::read(key);
        }
        self.sys.read(key)
    }

    /// Why `key` is no setting porttune can apply and read back: a directory of keys
    /// (`net.ipv4.conf`), or a write-only trigger (`vm.drop_caches`, `net.ipv4.route.flush`,
    /// mode without read bits). None for a readable file or a missing key.
    pub fn unusable(&self, key: &str) -> Option<String> {
        if self.native {
            return None;
        }
        let p = self.path(key).ok()?;
        let m = std::fs::metadata(&p).ok()?;
        if m.is_dir() {
            return Some(format!(
                "`{key}` is a directory of settings, not a setting: name one key inside it (e.g. `{key}.…`)"
            ));
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            if m.permissions().mode() & 0o444 == 0 {
                return Some(format!(
                    "`{key}` is write-only (an action, not a setting): it cannot be read back or restored, so porttune does not apply it"
                ));
            }
        }
        if !m.is_file() {
            return Some(format!("`{key}` is not a regular /proc/sys file"));
        }
        None
    }

    /// Whether this process may write `key` (access(2) W_OK: sees read-only mounts too; on
    /// macOS: root).
    pub fn writable(&self, key: &str) -> bool {
        if self.native {
            return nix::unistd::geteuid().is_root();
        }
        match self.path(key) {
            Ok(p) => crate::fsio::writable(&p),
            Err(_) => false,
        }
    }
}

/// The macOS kernel through sysctl(3), and launchd's maxfiles through launchctl(1).
#[cfg(target_os = "macos")]
mod native {
    use std::io;
    use sysctl::Sysctl;

    pub fn read(key: &str) -> io::Result<String> {
        if key == super::LAUNCHD_MAXFILES {
            let out = super::launchctl(&["limit", "maxfiles"]).map_err(io::Error::other)?;
            return super::super::macos_parse::parse_limit(&out)
                .ok_or_else(|| io::Error::other("cannot read `launchctl limit maxfiles`"));
        }
        let ctl = sysctl::Ctl::new(key)
            .map_err(|_| io::Error::new(io::ErrorKind::NotFound, format!("no sysctl {key}")))?;
        ctl.value_string()
            .map(|v| v.trim().to_string())
            .map_err(|e| io::Error::other(e.to_string()))
    }
}

/// No native backend elsewhere: the default root is /proc/sys (Linux) or a tree.
#[cfg(not(target_os = "macos"))]
mod native {
    use std::io;

    pub fn read(key: &str) -> io::Result<String> {
        Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!("no sysctl {key}"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixture_root_reads_checked_keys() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(d.path().join("net/core")).unwrap();
        std::fs::write(d.path().join("net/core/somaxconn"), "4096\n").unwrap();
        let s = SysctlRoot::new(d.path());
        assert_eq!(s.read("net.core.somaxconn").unwrap(), "4096");
        assert!(s.path("../../etc/passwd").is_err());
        assert!(s.read("../../etc/passwd").is_err());
        assert!(!s.exists("net.core.nope"));
        assert!(s.exists("net.core.somaxconn"));
        std::fs::create_dir_all(d.path().join("net/ipv4/conf")).unwrap();
        assert!(s.unusable("net.ipv4.conf").unwrap().contains("directory"));
    }
}
