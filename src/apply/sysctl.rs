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
        let value = if key == LAUNCHD_MAXFILES {
            let (soft, hard) = launchctl_words(value)?;
            self.as_launchctl(&soft, &hard)?
        } else {
            value.to_string()
        };
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

    /// The fake `launchctl limit maxfiles SOFT HARD` of a tree, with the launchd behind it, as
    /// their sources do (launchd-842): launchctl refuses the word `unlimited` for maxfiles and
    /// reads numbers with strtoll (`support/launchctl.c` `limit_cmd`, `str2lim`); launchd then
    /// sets `kern.maxfilesperproc` = SOFT and `kern.maxfiles` = HARD, each only when it is
    /// positive as a C int (`src/ipc.c` `adjust_rlimits`: RLIM_INFINITY becomes -1, "can't be
    /// zero", and is not written). Returns the limit as `launchctl limit maxfiles` then prints
    /// it (`lim2str`: RLIM_INFINITY is `unlimited`).
    fn as_launchctl(&self, soft: &str, hard: &str) -> io::Result<String> {
        let mut printed = Vec::new();
        let mut limits = Vec::new();
        for w in [soft, hard] {
            if w == "unlimited" {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "launchctl: Neither the hard nor soft limit for \"maxfiles\" can be unlimited. Please use a numeric parameter for both.",
                ));
            }
            if w.is_empty() || !w.bytes().all(|b| b.is_ascii_digit()) {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("launchctl: `{}` is not a limit", w.escape_debug()),
                ));
            }
            // strtoll saturates at LLONG_MAX, which is RLIM_INFINITY.
            let v = w.parse::<i64>().unwrap_or(i64::MAX);
            printed.push(if v == i64::MAX {
                "unlimited".to_string()
            } else {
                v.to_string()
            });
            limits.push(v);
        }
        for (key, v) in ["kern.maxfilesperproc", "kern.maxfiles"].iter().zip(limits) {
            // launchd's `int gval = rlim_max`: the low 32 bits, as a signed int.
            let as_int = v as i32;
            if as_int > 0 && self.exists(key) {
                std::fs::write(self.path(key)?, format!("{as_int}\n"))?;
            }
        }
        Ok(printed.join(" "))
    }
}

/// RLIM_INFINITY on macOS (`0x7fffffffffffffff`), written as a number.
pub const RLIM_INFINITY_NUMBER: &str = "9223372036854775807";

/// The SOFT and HARD that `launchctl limit maxfiles` is given for the limit "SOFT HARD".
/// launchctl refuses the word `unlimited` for maxfiles ("Neither the hard nor soft limit for
/// \"maxfiles\" can be unlimited. Please use a numeric parameter for both.": launchd-842
/// `support/launchctl.c` `limit_cmd`; also reported for macOS 10.8 in basho/basho_docs#577),
/// but reads any number with strtoll (`str2lim`). So launchd's default hard limit,
/// `unlimited`, which a rollback restores, is given as RLIM_INFINITY's number: the same
/// limit, and one that launchd does not copy into `kern.maxfiles` (as a C int it is -1:
/// `src/ipc.c` `adjust_rlimits` skips it).
pub fn launchctl_words(value: &str) -> io::Result<(String, String)> {
    let word = |w: &str| -> io::Result<String> {
        match w {
            "unlimited" => Ok(RLIM_INFINITY_NUMBER.to_string()),
            n if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) => Ok(n.to_string()),
            _ => Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "launchd.maxfiles: `{}` is not a number or `unlimited`",
                    w.escape_debug()
                ),
            )),
        }
    };
    let mut words = value.split_whitespace();
    match (words.next(), words.next(), words.next()) {
        (Some(s), Some(h), None) => Ok((word(s)?, word(h)?)),
        _ => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "launchd.maxfiles: `{}` is not \"SOFT HARD\"",
                value.escape_debug()
            ),
        )),
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
            let (soft, hard) = super::launchctl_words(value)?;
            return super::launchctl(&["limit", "maxfiles", &soft, &hard])
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

    /// launchctl refuses `unlimited` for maxfiles (launchd-842 `limit_cmd`): the default hard
    /// limit a rollback restores goes to it as RLIM_INFINITY's number, which launchd takes as
    /// the same limit and does not copy into kern.maxfiles.
    #[test]
    fn unlimited_reaches_launchctl_as_a_number() {
        assert_eq!(
            launchctl_words("256 unlimited").unwrap(),
            ("256".to_string(), RLIM_INFINITY_NUMBER.to_string())
        );
        assert_eq!(
            launchctl_words("4096 8192").unwrap(),
            ("4096".to_string(), "8192".to_string())
        );
        for bad in ["", "256", "256 unlimited x", "-1 5", "256 ∞", "1 2;x"] {
            assert!(launchctl_words(bad).is_err(), "{bad:?}");
        }
        let (_d, s) = mac_tree();
        // The word itself is refused, as launchctl does, and nothing changes.
        let e = s.as_launchctl("256", "unlimited").unwrap_err();
        assert!(e.to_string().contains("can be unlimited"), "{e}");
        assert_eq!(s.read("kern.maxfilesperproc").unwrap(), "10240");
        // Through the writer: restored as launchd had it, kern.maxfiles left alone.
        s.write(LAUNCHD_MAXFILES, "4096 8192").unwrap();
        assert_eq!(s.read("kern.maxfiles").unwrap(), "8192");
        s.write("kern.maxfiles", "30720").unwrap();
        s.write(LAUNCHD_MAXFILES, "256 unlimited").unwrap();
        assert_eq!(s.read(LAUNCHD_MAXFILES).unwrap(), "256 unlimited");
        assert_eq!(s.read("kern.maxfiles").unwrap(), "30720");
        assert_eq!(s.read("kern.maxfilesperproc").unwrap(), "256");
        // launchd's int conversion: the low 32 bits, written only when positive.
        assert_eq!(
            s.as_launchctl("4294967296", "4294967297").unwrap(),
            "4294967296 4294967297"
        );
        assert_eq!(s.read("kern.maxfilesperproc").unwrap(), "256");
        assert_eq!(s.read("kern.maxfiles").unwrap(), "1");
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
