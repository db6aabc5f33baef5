//! The journal: every old value and every file an apply will touch, written (atomically,
//! mode 0600) before the first change, so `porttune rollback` can undo an apply that was
//! interrupted, even by SIGKILL.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::fsio::write_atomic;

/// Where journals live: `/var/lib` on Linux (FHS); `/var/db` on macOS, where system daemons
/// keep their state (hier(7)).
pub const DEFAULT_STATE_DIR: &str = if cfg!(target_os = "macos") {
    "/var/db/porttune"
} else {
    "/var/lib/porttune"
};
pub const VERSION: u32 = 1;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum State {
    /// Written before the first change; still so if the apply was killed.
    Pending,
    /// Every change made and read back.
    Applied,
    /// A change failed and everything was restored.
    Restored,
    /// `porttune rollback` restored it.
    RolledBack,
}

/// One journal entry: the plan's action, with its old value (a sysctl's and a limit's old
/// value is always known in a journal: see [`Journal::load`]).
pub type Entry = crate::plan::Action;

impl Entry {
    pub fn label(&self) -> String {
        match self {
            Entry::Sysctl { key, .. } => key.clone(),
            Entry::File { path, .. } => path.display().to_string(),
            Entry::Rlimit { pid, resource, .. } => format!("pid:{pid} {}", resource.name()),
        }
    }

    /// A sysctl's or a limit's old value is missing: such an action cannot be journalled.
    pub fn old_unknown(&self) -> bool {
        matches!(
            self,
            Entry::Sysctl { old: None, .. } | Entry::Rlimit { old: None, .. }
        )
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Journal {
    pub version: u32,
    pub id: String,
    pub profile: String,
    /// Seconds since the epoch.
    pub created: u64,
    pub state: State,
    /// The sysctl root written to (`/proc/sys` unless a fixture tree).
    pub sysctl_root: PathBuf,
    /// The network namespace the sysctls were written in (net.* values belong to it).
    #[serde(default)]
    pub netns: Option<String>,
    pub entries: Vec<Entry>,
    #[serde(default)]
    pub updated: Option<u64>,
    /// The prefix of the files written (`--root`; "/" on a real host). A rollback restores
    /// only porttune's own files under it.
    #[serde(default = "slash")]
    pub root: PathBuf,
}

fn slash() -> PathBuf {
    PathBuf::from("/")
}

pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// `YYYYMMDDTHHMMSSZ` for a Unix time (UTC).
pub fn stamp(secs: u64) -> String {
    let days = (secs / 86400) as i64;
    let rem = secs % 86400;
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    format!(
        "{y:04}{m:02}{d:02}T{:02}{:02}{:02}Z",
        rem / 3600,
        (rem / 60) % 60,
        rem % 60
    )
}

pub fn journal_dir(state_dir: &Path) -> PathBuf {
    state_dir.join("journal")
}

impl Journal {
    pub fn new(profile: &str, sysctl_root: &Path, root: &Path, entries: Vec<Entry>) -> Self {
        let created = now();
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        Journal {
            version: VERSION,
            id: format!("{}-{nanos:09}-{profile}", stamp(created)),
            profile: profile.into(),
            created,
            state: State::Pending,
            sysctl_root: sysctl_root.to_path_buf(),
            netns: crate::snapshot::host::netns(),
            entries,
            updated: None,
            root: root.to_path_buf(),
        }
    }

    pub fn path(&self, state_dir: &Path) -> PathBuf {
        journal_dir(state_dir).join(format!("{}.json", self.id))
    }

    /// The space reserve next to the journal (not a `.json`, so never listed).
    fn reserve_path(&self, state_dir: &Path) -> PathBuf {
        journal_dir(state_dir).join(format!(".{}.reserve", self.id))
    }

    /// Write (or rewrite) atomically with mode 0600; the directories are created 0700.
    /// A reserve left by [`Journal::save_reserving`] is released first, so the rewrite has
    /// the space it needs even on a full disk.
    pub fn save(&mut self, state_dir: &Path) -> Result<PathBuf> {
        let dir = journal_dir(state_dir);
        create_private_dir(state_dir)?;
        create_private_dir(&dir)?;
        let _ = std::fs::remove_file(self.reserve_path(state_dir));
        self.updated = Some(now());
        let path = self.path(state_dir);
        let text = serde_json::to_string_pretty(self)
            .map_err(|e| Error::Internal(format!("cannot serialise the journal: {e}")))?;
        write_atomic(&path, text.as_bytes(), 0o600).map_err(|e| {
            Error::Failed(format!(
                "cannot write the journal {}: {}",
                path.display(),
                super::sysctl::describe_io(&e)
            ))
        })?;
        Ok(path)
    }

    /// The first save of an apply, before any change: the journal, durable (fsynced), plus a
    /// reserve of at least its size so the later rewrite (applied, or restored) cannot run
    /// out of space. On failure nothing is left behind and nothing was changed.
    pub fn save_reserving(&mut self, state_dir: &Path) -> Result<PathBuf> {
        let nothing = |e: Error| {
            Error::Failed(format!(
                "{e}; nothing was changed (free some space, or choose another --state-dir)"
            ))
        };
        let path = self.save(state_dir).map_err(nothing)?;
        let len = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        let want = usize::try_from(len)
            .unwrap_or(usize::MAX)
            .saturating_mul(2)
            .saturating_add(4096);
        let reserve = self.reserve_path(state_dir);
        if let Err(e) = crate::fsio::write_reserve(&reserve, want) {
            let _ = std::fs::remove_file(&path);
            return Err(nothing(Error::Failed(format!(
                "cannot reserve {want} bytes for the journal in {}: {}",
                journal_dir(state_dir).display(),
                super::sysctl::describe_io(&e)
            ))));
        }
        Ok(path)
    }

    /// Release the reserve (the apply is over).
    pub fn release(&self, state_dir: &Path) {
        let _ = std::fs::remove_file(self.reserve_path(state_dir));
    }

    /// Read a journal: a regular file in a directory, both this user's and writable by no
    /// one else (root's, for root), whose every entry is one porttune writes (see
    /// [`Journal::check_entries`]). Anything else is refused before a value is restored.
    pub fn load(path: &Path) -> Result<Journal> {
        check_journal_file(path)?;
        let text = crate::fsio::read_text(path, MAX_JOURNAL, "journal")?;
        if text.trim().is_empty() {
            return Err(Error::input(path, "empty journal: not a porttune journal"));
        }
        let j: Journal = serde_json::from_str(&text).map_err(|e| Error::Input {
            path: path.to_path_buf(),
            line: Some(e.line()),
            column: Some(e.column()),
            msg: format!(
                "not a porttune journal{}: {e}",
                if e.is_eof() { " (truncated?)" } else { "" }
            ),
        })?;
        j.check_entries()
            .map_err(|m| Error::input(path, format!("{m}; nothing was restored")))?;
        if let Some(e) = j.entries.iter().find(|e| e.old_unknown()) {
            return Err(Error::input(
                path,
                format!(
                    "not a porttune journal: {} has no old value to restore",
                    e.label()
                ),
            ));
        }
        Ok(j)
    }

    /// Every entry is something porttune writes: a sysctl key that names a file under the
    /// sysctl root and is not one that makes the kernel run a program, and a file of
    /// porttune's own under the journal's root (see [`porttune_file`]).
    pub fn check_entries(&self) -> std::result::Result<(), String> {
        let plain = |p: &Path| {
            p.is_absolute()
                && p.components()
                    .all(|c| !matches!(c, std::path::Component::ParentDir))
        };
        if !plain(&self.sysctl_root) || !plain(&self.root) {
            return Err(
                "the journal's sysctl root or root is not an absolute path without `..`".into(),
            );
        }
        for (i, e) in self.entries.iter().enumerate() {
            let why = match e {
                Entry::Sysctl { key, .. } => crate::profile::validate::check_key(key)
                    .and_then(|_| crate::profile::validate::check_not_exec(key))
                    .err(),
                Entry::File { path, .. } => match path.strip_prefix(&self.root) {
                    Ok(rel) if plain(path) && porttune_file(rel) => None,
                    _ => Some(format!(
                        "not a file porttune writes under {} (sysctl.d, limits.d, systemd drop-ins, LaunchDaemons, vm.args)",
                        self.root.display()
                    )),
                },
                Entry::Rlimit { .. } => None,
            };
            if let Some(why) = why {
                return Err(format!(
                    "journal entry {}: {}: {why}",
                    i + 1,
                    crate::settings::printable(&e.label())
                ));
            }
        }
        Ok(())
    }

    /// Whether the journal still holds values to restore (not restored, not rolled back).
    pub fn open(&self) -> bool {
        matches!(self.state, State::Pending | State::Applied)
    }
}

/// Whether `rel` (a path below a root) is a file porttune writes: its sysctl.d, limits.d
/// and systemd `system.conf.d` files (`60-porttune-NAME.conf`), a unit's drop-in
/// (`UNIT.d/porttune.conf`), its LaunchDaemon (`io.porttune.NAME.plist`), or a vm.args file
/// (a name ending in `.args`).
pub fn porttune_file(rel: &Path) -> bool {
    let Some(rel) = rel.to_str() else {
        return false;
    };
    let rel = rel.trim_start_matches('/');
    let name_ok = |n: &str| !n.is_empty() && !n.contains('/');
    let between = |pre: &str, suf: &str| {
        rel.strip_prefix(pre)
            .and_then(|r| r.strip_suffix(suf))
            .is_some_and(name_ok)
    };
    if between("etc/sysctl.d/60-porttune-", ".conf")
        || between("etc/security/limits.d/60-porttune-", ".conf")
        || between("etc/systemd/system.conf.d/60-porttune-", ".conf")
        || between("etc/systemd/system/", ".d/porttune.conf")
        || between("Library/LaunchDaemons/io.porttune.", ".plist")
    {
        return true;
    }
    let file = rel.rsplit('/').next().unwrap_or("");
    file.ends_with(".args") && !rel.split('/').any(|c| c == ".." || c.is_empty())
}

/// The journal file and its directory are this user's alone, and the file is a regular file
/// (not a link someone could point elsewhere).
fn check_journal_file(path: &Path) -> Result<()> {
    let refuse = |m: String| Error::input(path, format!("{m}; not loaded, nothing was restored"));
    let meta = match std::fs::symlink_metadata(path) {
        Ok(m) => m,
        // missing, unreadable: read_text says so in its own words
        Err(_) => return Ok(()),
    };
    if meta.file_type().is_symlink() {
        return Err(refuse(format!(
            "{} is a symbolic link; a journal is a file porttune wrote",
            path.display()
        )));
    }
    if !meta.is_file() {
        return Ok(()); // read_text names what it is
    }
    crate::fsio::check_private(path, &meta).map_err(refuse)?;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let dmeta = std::fs::metadata(dir).map_err(|e| refuse(format!("{}: {e}", dir.display())))?;
    crate::fsio::check_private(dir, &dmeta).map_err(refuse)
}

/// Largest journal read (a 150,000-entry journal, pretty-printed as porttune writes it, is
/// about 17 MB).
pub const MAX_JOURNAL: u64 = 32 << 20;

fn create_private_dir(d: &Path) -> Result<()> {
    if d.is_dir() {
        return Ok(());
    }
    let mut b = std::fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        b.mode(0o700);
    }
    b.create(d).map_err(|e| {
        Error::Failed(format!(
            "cannot create the state directory {}: {}",
            d.display(),
            super::sysctl::describe_io(&e)
        ))
    })
}

/// Every journal in the state directory, oldest first.
pub fn list(state_dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(journal_dir(state_dir))
        .map(|rd| {
            rd.flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|e| e == "json"))
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// Find a journal: a path, an id (or unique id prefix) in the state directory, or the latest.
pub fn find(state_dir: &Path, which: Option<&str>) -> Result<PathBuf> {
    let all = list(state_dir);
    match which {
        None => all.last().cloned().ok_or_else(|| {
            Error::Failed(format!(
                "no journal in {}: nothing was applied with this state directory",
                journal_dir(state_dir).display()
            ))
        }),
        Some(w) => {
            // A path has a `/` (`./ID.json` for a file here); anything else is an ID, looked up
            // in the state directory only, never in the current directory.
            if w.contains('/') {
                return Ok(PathBuf::from(w));
            }
            let hits: Vec<&PathBuf> = all
                .iter()
                .filter(|p| {
                    p.file_stem().is_some_and(|s| {
                        s.to_string_lossy().starts_with(w.trim_end_matches(".json"))
                    })
                })
                .collect();
            match hits.as_slice() {
                [one] => Ok((*one).clone()),
                [] => Err(Error::Usage(format!(
                    "no journal `{}` in {} (a file elsewhere is named by its path, e.g. ./{})",
                    crate::settings::printable(w),
                    journal_dir(state_dir).display(),
                    crate::settings::printable(w)
                ))),
                _ => Err(Error::Usage(format!(
                    "`{w}` matches {} journals; give more of the id",
                    hits.len()
                ))),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps() {
        assert_eq!(stamp(0), "19700101T000000Z");
        assert_eq!(stamp(1_795_000_000), "20261118T110640Z");
    }

    #[test]
    fn save_load_mode() {
        let d = tempfile::tempdir().unwrap();
        let mut j = Journal::new(
            "t",
            Path::new("/proc/sys"),
            Path::new("/"),
            vec![Entry::Sysctl {
                key: "net.core.somaxconn".into(),
                old: Some("4096".into()),
                new: "8192".into(),
            }],
        );
        let p = j.save(d.path()).unwrap();
        assert_eq!(crate::fsio::mode_of(&p), Some(0o600));
        assert_eq!(Journal::load(&p).unwrap(), j);
        assert_eq!(find(d.path(), None).unwrap(), p);
    }
}
