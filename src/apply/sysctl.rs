//! Write sysctls under a root (`/proc/sys`, or a fixture tree in tests); on macOS the default
//! root is the kernel itself, through sysctl(3) and `launchctl limit maxfiles`.
//!
//! apply is the only writer in porttune. Reading goes through the snapshot's checked reader
//! ([`SysctlRoot`]): keys pass [`crate::settings::check_key`] before any path is built, so
//! nothing outside the root can be named.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

pub use crate::snapshot::sysctl_root::{DEFAULT_ROOT, LAUNCHD_MAXFILES, SysctlRoot};

/// Test hook: make the write of this key fail with EINVAL (`PORTTUNE_TEST_FAIL_WRITE=KEY`).
pub const ENV_FAIL_WRITE: &str = "PORTTUNE_TEST_FAIL_WRITE";
/// Test hook: sleep this many seconds after each write (`PORTTUNE_TEST_PAUSE_AFTER_WRITE=N`).
pub const ENV_PAUSE_AFTER_WRITE: &str = "PORTTUNE_TEST_PAUSE_AFTER_WRITE";

/// The writer over a [`SysctlRoot`] (which it reads through, to read back and restore).
#[derive(Debug, Clone, Default)]
pub struct SysctlFs {
    reader: SysctlRoot,
}

impl SysctlFs {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        SysctlFs {
            reader: SysctlRoot::new(root),
        }
    }

    /// The reader over the same root.
    pub fn reader(&self) -> &SysctlRoot {
        &self.reader
    }

    pub fn root(&self) -> &Path {
        self.reader.root()
    }

    pub fn path(&self, key: &str) -> io::Result<PathBuf> {
        self.reader.path(key)
    }

    pub fn exists(&self, key: &str) -> bool {
        self.reader.exists(key)
    }

    pub fn read(&self, key: &str) -> io::Result<String> {
        self.reader.read(key)
    }

    pub fn unusable(&self, key: &str) -> Option<String> {
        self.reader.unusable(key)
    }

    pub fn writable(&self, key: &str) -> bool {
        self.reader.writable(key)
    }

    /// Write `value` (one write(2) call, as sysctl(8) does).
    pub fn write(&self, key: &str, value: &str) -> io::Result<()> {
        let p = self.path(key)?;
        if std::env::var(ENV_FAIL_WRITE).ok().as_deref() == Some(key) {
            return Err(io::Error::from_raw_os_error(22));
        }
        if self.reader.native() {
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
}

/// The macOS kernel through sysctl(3), and launchd's maxfiles through launchctl(1).
#[cfg(target_os = "macos")]
mod native {
    use std::io;
    use sysctl::Sysctl;

    fn other(e: impl std::fmt::Display) -> io::Error {
        io::Error::other(e.to_string())
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
