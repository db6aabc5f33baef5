//! Read and write sysctls under a root (`/proc/sys`, or a fixture tree in tests).
//!
//! apply is the only writer in porttune. Keys are checked with
//! [`crate::profile::validate::check_key`] before any path is built, so nothing outside
//! the root can be named.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::profile::validate;
use crate::snapshot::procsys::ProcSys;

pub const DEFAULT_ROOT: &str = "/proc/sys";

/// Test hook: make the write of this key fail with EINVAL (`PORTTUNE_TEST_FAIL_WRITE=KEY`).
pub const ENV_FAIL_WRITE: &str = "PORTTUNE_TEST_FAIL_WRITE";
/// Test hook: sleep this many seconds after each write (`PORTTUNE_TEST_PAUSE_AFTER_WRITE=N`).
pub const ENV_PAUSE_AFTER_WRITE: &str = "PORTTUNE_TEST_PAUSE_AFTER_WRITE";

/// The writer (and checked reader) over [`ProcSys`]: every key passes the strict pattern
/// before a path is built. On macOS the default root means the kernel itself, through
/// sysctl(3) and `launchctl limit maxfiles` (`launchd.maxfiles`); any other root is a tree of
/// one file per key (`kern/maxfiles`), the same on every OS: the fake macOS backend of the tests.
#[derive(Debug, Clone)]
pub struct SysctlFs {
    sys: ProcSys,
    native: bool,
}

/// The pseudo key for launchd's maxfiles limit ("SOFT HARD"), written with `launchctl limit`.
pub const LAUNCHD_MAXFILES: &str = "launchd.maxfiles";

impl Default for SysctlFs {
    fn default() -> Self {
        SysctlFs::new(DEFAULT_ROOT)
    }
}

impl SysctlFs {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        let root = root.into();
        let native = cfg!(target_os = "macos") && root == Path::new(DEFAULT_ROOT);
        SysctlFs {
            sys: ProcSys::new(root),
            native,
        }
    }

    pub fn root(&self) -> &Path {
        self.sys.root()
    }

    fn check(key: &str) -> io::Result<()> {
        validate::check_key(key).map_err(|m| io::Error::new(io::ErrorKind::InvalidInput, m))
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

    /// Write `value` (one write(2) call, as sysctl(8) does).
    pub fn write(&self, key: &str, value: &str) -> io::Result<()> {
        let p = self.path(key)?;
        if std::env::var(ENV_FAIL_WRITE).ok().as_deref() == Some(key) {
            return Err(io::Error::from_raw_os_error(22));
        }
        if self.native {
            return native::write(key, value);
        }
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .truncate(true)
            .open(&p)?;
        f.write_all(format!("{value}\n").as_bytes())?;
        f.flush()?;
        Ok(())
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
            Ok(p) => writable(&p),
            Err(_) => false,
        }
    }
}

/// The macOS kernel through sysctl(3), and launchd's maxfiles through launchctl(1).
#[cfg(target_os = "macos")]
mod native {
    use std::io;
    use sysctl::Sysctl;

    fn other(e: impl std::fmt::Display) -> io::Error {
        io::Error::other(e.to_string())
    }

    pub fn read(key: &str) -> io::Result<String> {
        if key == super::LAUNCHD_MAXFILES {
            let out = std::process::Command::new("/bin/launchctl")
                .args(["limit", "maxfiles"])
                .output()?;
            return crate::plan::launchd::parse_limit(&String::from_utf8_lossy(&out.stdout))
                .ok_or_else(|| other("cannot read `launchctl limit maxfiles`"));
        }
        let ctl = sysctl::Ctl::new(key)
            .map_err(|_| io::Error::new(io::ErrorKind::NotFound, format!("no sysctl {key}")))?;
        ctl.value_string()
            .map(|v| v.trim().to_string())
            .map_err(other)
    }

    pub fn write(key: &str, value: &str) -> io::Result<()> {
        if key == super::LAUNCHD_MAXFILES {
            let mut words = value.split_whitespace();
            let (soft, hard) = (words.next().unwrap_or(""), words.next().unwrap_or(""));
            let st = std::process::Command::new("/bin/launchctl")
                .args(["limit", "maxfiles", soft, hard])
                .status()?;
            return if st.success() {
                Ok(())
            } else {
                Err(other(format!(
                    "`launchctl limit maxfiles {soft} {hard}` failed: {st}"
                )))
            };
        }
        let ctl = sysctl::Ctl::new(key)
            .map_err(|_| io::Error::new(io::ErrorKind::NotFound, format!("no sysctl {key}")))?;
        ctl.set_value_string(value).map(|_| ()).map_err(other)
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

    pub fn write(key: &str, _value: &str) -> io::Result<()> {
        Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!("no sysctl {key}"),
        ))
    }
}

pub use crate::fsio::writable;

pub use crate::fsio::describe_io;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixture_root() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(d.path().join("net/core")).unwrap();
        std::fs::write(d.path().join("net/core/somaxconn"), "4096\n").unwrap();
        let s = SysctlFs::new(d.path());
        assert_eq!(s.read("net.core.somaxconn").unwrap(), "4096");
        s.write("net.core.somaxconn", "8192").unwrap();
        assert_eq!(s.read("net.core.somaxconn").unwrap(), "8192");
        assert!(s.path("../../etc/passwd").is_err());
        assert!(!s.exists("net.core.nope"));
    }
}
