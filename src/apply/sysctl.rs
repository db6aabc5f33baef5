//! Write sysctls under a root (`/proc/sys`, or a fixture tree in tests); on macOS the default
//! root is the kernel itself, through sysctl(3) and `launchctl limit maxfiles`.
//!
//! apply is the only writer in porttune. Reading goes through the snapshot's checked reader
//! ([`SysctlRoot`]): keys pass [`crate::settings::check_key`] before any path is built, so
//! nothing outside the root can be named.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::plan::Action as Entry;

pub use crate::snapshot::sysctl_root::{DEFAULT_ROOT, LAUNCHD_MAXFILES, SysctlRoot, launchctl};

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

    /// Write `value` (one write(2) call, as sysctl(8) does). On macOS `kern.maxfiles` is never
    /// lowered below the files the host has open (`kern.num_files`): every open() would then
    /// fail with ENFILE, root's included; nor is launchd's hard maxfiles, which launchd copies
    /// into `kern.maxfiles`.
    pub fn write(&self, key: &str, value: &str) -> io::Result<()> {
        let p = self.path(key)?;
        if std::env::var(ENV_FAIL_WRITE).ok().as_deref() == Some(key) {
            return Err(io::Error::from_raw_os_error(22));
        }
        self.refuse_below_open_files(key, value)?;
        if self.reader.native() {
            return native::write(key, value);
        }
        if key == LAUNCHD_MAXFILES {
            self.as_launchd(value)?;
        }
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .truncate(true)
            .open(&p)?;
        f.write_all(format!("{value}\n").as_bytes())?;
        f.flush()?;
        Ok(())
    }

    fn refuse_below_open_files(&self, key: &str, value: &str) -> io::Result<()> {
        let files = match key {
            "kern.maxfiles" => value.trim(),
            LAUNCHD_MAXFILES => value.split_whitespace().nth(1).unwrap_or(""),
            _ => return Ok(()),
        };
        let num = |k: &str| self.read(k).ok().and_then(|v| v.trim().parse::<u64>().ok());
        let (Ok(files), Some(open)) = (files.parse::<u64>(), num("kern.num_files")) else {
            return Ok(());
        };
        // Lowering only: a value at or above the one now is always allowed.
        if files >= open || num("kern.maxfiles").is_some_and(|now| files >= now) {
            return Ok(());
        }
        let what = if key == LAUNCHD_MAXFILES {
            format!("launchd's hard maxfiles {files} (launchd also sets kern.maxfiles to it)")
        } else {
            format!("kern.maxfiles {files}")
        };
        Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "{what} is below the {open} files open on the host now (kern.num_files): every open() would fail with ENFILE; not written"
            ),
        ))
    }

    /// The fake launchd of a tree: what launchd does when its maxfiles limit changes
    /// (launchd-842 `launchd/ipc.c`): `kern.maxfiles` = HARD and `kern.maxfilesperproc` = SOFT,
    /// each only when it is a positive C int (unlimited is not).
    fn as_launchd(&self, value: &str) -> io::Result<()> {
        let mut words = value.split_whitespace();
        for key in ["kern.maxfilesperproc", "kern.maxfiles"] {
            let v = words.next().and_then(|w| w.parse::<i32>().ok());
            if let Some(v) = v.filter(|v| *v > 0)
                && self.exists(key)
            {
                std::fs::write(self.path(key)?, format!("{v}\n"))?;
            }
        }
        Ok(())
    }
}

/// The order of an apply on macOS. launchd rewrites `kern.maxfiles` and
/// `kern.maxfilesperproc` when its maxfiles limit changes, so `launchd.maxfiles` goes first,
/// and both keys are journalled around it: before it with their values now (rollback, which
/// restores newest first, puts them back after launchd's own restore), and after it with the
/// profile's value or, for a key the profile leaves alone, the value now (so launchctl never
/// changes them behind the profile's back). Nothing changes without `launchd.maxfiles`.
pub fn launchd_order(entries: Vec<Entry>, sys: &SysctlFs) -> Vec<Entry> {
    let is_launchd = |e: &Entry| matches!(e, Entry::Sysctl { key, .. } if key == LAUNCHD_MAXFILES);
    let Some(at) = entries.iter().position(is_launchd) else {
        return entries;
    };
    let mut rest = entries;
    let launchd = rest.remove(at);
    let keep = |key: &str| {
        sys.read(key).ok().map(|v| Entry::Sysctl {
            key: key.to_string(),
            old: Some(v.clone()),
            new: v,
        })
    };
    let touched = |key: &str| {
        rest.iter()
            .any(|e| matches!(e, Entry::Sysctl { key: k, .. } if k == key))
    };
    let mut out: Vec<Entry> = LAUNCHD_REWRITES.iter().filter_map(|k| keep(k)).collect();
    out.push(launchd);
    let after: Vec<Entry> = LAUNCHD_REWRITES
        .iter()
        .filter(|k| !touched(k))
        .filter_map(|k| keep(k))
        .collect();
    out.extend(rest);
    out.extend(after);
    out
}

/// The sysctls launchd writes from its maxfiles limit.
const LAUNCHD_REWRITES: [&str; 2] = ["kern.maxfiles", "kern.maxfilesperproc"];

/// Every sysctl of `entries` read back after the last write: the new values after an apply,
/// the old ones after a rollback (a later write, such as launchd's, can undo an earlier one).
/// The keys that differ, each with what it reads.
pub fn read_back_all(entries: &[Entry], sys: &SysctlFs, old: bool) -> Vec<(String, String)> {
    use crate::profile::validate::normalize;
    let value = |e: &'_ Entry| -> Option<(String, String)> {
        match e {
            Entry::Sysctl { key, old: o, .. } if old => Some((key.clone(), o.clone()?)),
            Entry::Sysctl { key, new, .. } => Some((key.clone(), new.clone())),
            _ => None,
        }
    };
    // An apply ends with the last value written to a key; a rollback restores newest first,
    // so it ends with the key's first entry.
    let mut want = std::collections::BTreeMap::new();
    let ordered: Box<dyn Iterator<Item = &Entry>> = if old {
        Box::new(entries.iter().rev())
    } else {
        Box::new(entries.iter())
    };
    want.extend(ordered.filter_map(value));
    let mut bad = Vec::new();
    for (key, v) in want {
        let why = match sys.read(&key) {
            Ok(back) if normalize(&back) == normalize(&v) => continue,
            Ok(back) => format!(
                "{key} reads {back:?} after the last write, not {v:?} (a later write changed it)"
            ),
            Err(e) => format!("{key}: cannot read it back: {}", describe_io(&e)),
        };
        bad.push((key, why));
    }
    bad
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
            return super::launchctl(&["limit", "maxfiles", soft, hard])
                .map(|_| ())
                .map_err(other);
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

    fn entry(key: &str, old: &str, new: &str) -> Entry {
        Entry::Sysctl {
            key: key.into(),
            old: Some(old.into()),
            new: new.into(),
        }
    }

    fn mac_tree() -> (tempfile::TempDir, SysctlFs) {
        let d = tempfile::tempdir().unwrap();
        for (k, v) in [
            ("kern/maxfiles", "30720"),
            ("kern/maxfilesperproc", "10240"),
            ("kern/ipc/somaxconn", "128"),
            ("launchd/maxfiles", "256 unlimited"),
        ] {
            std::fs::create_dir_all(d.path().join(k).parent().unwrap()).unwrap();
            std::fs::write(d.path().join(k), format!("{v}\n")).unwrap();
        }
        let s = SysctlFs::new(d.path());
        (d, s)
    }

    #[test]
    fn launchd_goes_first_between_the_keys_it_rewrites() {
        let (_d, s) = mac_tree();
        let plan = vec![
            entry("kern.ipc.somaxconn", "128", "1024"),
            entry("kern.maxfiles", "30720", "524288"),
            entry(LAUNCHD_MAXFILES, "256 unlimited", "4096 8192"),
        ];
        let keys = |v: &[Entry]| -> Vec<String> {
            v.iter()
                .map(|e| match e {
                    Entry::Sysctl { key, old, new } => {
                        format!("{key} {} → {new}", old.as_deref().unwrap_or("?"))
                    }
                    _ => unreachable!(),
                })
                .collect()
        };
        assert_eq!(
            keys(&launchd_order(plan, &s)),
            [
                "kern.maxfiles 30720 → 30720",
                "kern.maxfilesperproc 10240 → 10240",
                "launchd.maxfiles 256 unlimited → 4096 8192",
                "kern.ipc.somaxconn 128 → 1024",
                "kern.maxfiles 30720 → 524288",
                "kern.maxfilesperproc 10240 → 10240",
            ]
        );
        // Without launchd nothing moves.
        let plain = vec![entry("kern.ipc.somaxconn", "128", "1024")];
        assert_eq!(launchd_order(plain.clone(), &s), plain);
    }

    #[test]
    fn read_back_after_the_last_write() {
        let (_d, s) = mac_tree();
        let j = vec![
            entry("kern.maxfiles", "30720", "30720"),
            entry(LAUNCHD_MAXFILES, "256 unlimited", "4096 8192"),
            entry("kern.maxfiles", "30720", "65536"),
        ];
        s.write("kern.maxfiles", "65536").unwrap();
        s.write(LAUNCHD_MAXFILES, "4096 8192").unwrap();
        // The fake launchd set kern.maxfiles to 8192 after it was written.
        let e = read_back_all(&j, &s, false);
        assert_eq!(e.len(), 1, "{e:?}");
        assert_eq!(e[0].0, "kern.maxfiles");
        assert!(
            e[0].1
                .contains("reads \"8192\" after the last write, not \"65536\""),
            "{e:?}"
        );
        s.write("kern.maxfiles", "65536").unwrap();
        assert_eq!(read_back_all(&j, &s, false), []);
        // After a rollback every key has its first old value.
        let e = read_back_all(&j, &s, true);
        assert!(
            e.iter()
                .any(|(k, m)| k == LAUNCHD_MAXFILES && m.contains("reads \"4096 8192\"")),
            "{e:?}"
        );
        s.write(LAUNCHD_MAXFILES, "256 unlimited").unwrap();
        s.write("kern.maxfiles", "30720").unwrap();
        assert_eq!(read_back_all(&j, &s, true), []);
    }
}
