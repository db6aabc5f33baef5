//! `porttune status`: what porttune has applied on this host, from its journals, and whether
//! it still holds (tuned-adm's `active` and `verify`). It reads only: every journal in the
//! state directory, and for each one not rolled back, the value each entry wrote, compared
//! with the value now.

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::journal::{Entry, Journal, State};
use super::sysctl::SysctlFs;
use crate::profile::validate::normalize;

/// Whether one value an apply wrote is still in place.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Holds {
    /// The value (or the file's content) is the one the apply wrote.
    Yes,
    /// Something changed it since.
    Changed,
    /// The sysctl or the file is gone.
    Missing,
    /// The process whose limit was raised has exited (nothing left to hold).
    ProcessGone,
    /// It could not be read here (permissions, or another network namespace).
    Unknown,
}

impl Holds {
    pub fn label(self) -> &'static str {
        match self {
            Holds::Yes => "holds",
            Holds::Changed => "CHANGED",
            Holds::Missing => "MISSING",
            Holds::ProcessGone => "gone",
            Holds::Unknown => "unknown",
        }
    }
}

/// One entry of an open journal, now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct EntryStatus {
    pub kind: super::engine::EntryKind,
    /// The sysctl key, the file's path, or `pid:N nofile`.
    pub key: String,
    /// The value the apply wrote (`null` for a file: its content is not repeated).
    pub applied: Option<String>,
    /// The value now (`null` for a file, or when it could not be read).
    pub current: Option<String>,
    pub holds: Holds,
    /// Why, when it does not hold or could not be read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// One journal: what it applied and, while it is open (applied or pending), whether that
/// still holds.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct JournalStatus {
    pub journal: PathBuf,
    pub id: String,
    pub profile: String,
    /// `pending` (an apply was interrupted: roll it back), `applied`, `restored` (a change
    /// failed and everything was put back) or `rolled-back`.
    pub state: State,
    /// Seconds since the epoch.
    pub created: u64,
    pub updated: Option<u64>,
    /// Open journals: every entry, now. Closed ones: empty.
    pub entries: Vec<EntryStatus>,
    /// The files it wrote (sysctl.d, limits.d, drop-ins, vm.args).
    pub files: Vec<PathBuf>,
}

impl JournalStatus {
    /// Still applied (or half-applied): its values are on the host.
    pub fn open(&self) -> bool {
        matches!(self.state, State::Pending | State::Applied)
    }

    /// Entries that no longer hold (changed or missing since the apply).
    pub fn drifted(&self) -> usize {
        self.entries
            .iter()
            .filter(|e| matches!(e.holds, Holds::Changed | Holds::Missing))
            .count()
    }
}

/// A journal that could not be read (named, never quoted).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Unreadable {
    pub journal: PathBuf,
    pub error: String,
}

/// Everything `status` reports.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Status {
    pub state_dir: PathBuf,
    /// Every journal, oldest first.
    pub journals: Vec<JournalStatus>,
    pub unreadable: Vec<Unreadable>,
}

impl Status {
    /// Profiles applied and not rolled back, oldest first (a profile applied twice once).
    pub fn active(&self) -> Vec<&str> {
        let mut v: Vec<&str> = Vec::new();
        for j in self.journals.iter().filter(|j| j.state == State::Applied) {
            if !v.contains(&j.profile.as_str()) {
                v.push(&j.profile);
            }
        }
        v
    }

    pub fn pending(&self) -> usize {
        self.journals
            .iter()
            .filter(|j| j.state == State::Pending)
            .count()
    }

    pub fn drifted(&self) -> usize {
        self.journals.iter().map(JournalStatus::drifted).sum()
    }

    /// Everything applied still holds and no apply was left half-done.
    pub fn ok(&self) -> bool {
        self.pending() == 0 && self.drifted() == 0 && self.unreadable.is_empty()
    }
}

/// Largest persisted file compared (the files porttune writes are a few lines).
const MAX_FILE: u64 = 1 << 20;

/// Read every journal in `state_dir` and compare each open one with the host now.
pub fn status(state_dir: &Path) -> Status {
    let here = crate::snapshot::host::netns();
    let mut out = Status {
        state_dir: state_dir.to_path_buf(),
        journals: Vec::new(),
        unreadable: Vec::new(),
    };
    for path in super::journal::list(state_dir) {
        match Journal::load(&path) {
            Ok(j) => out.journals.push(one(&path, &j, here.as_deref())),
            Err(e) => out.unreadable.push(Unreadable {
                journal: path,
                error: e.to_string(),
            }),
        }
    }
    out
}

fn one(path: &Path, j: &Journal, netns: Option<&str>) -> JournalStatus {
    let open = j.open();
    let sys = SysctlFs::new(&j.sysctl_root);
    let other_netns = j.netns.is_some() && netns.is_some() && j.netns.as_deref() != netns;
    JournalStatus {
        journal: path.to_path_buf(),
        id: j.id.clone(),
        profile: j.profile.clone(),
        state: j.state,
        created: j.created,
        updated: j.updated,
        entries: if open {
            j.entries
                .iter()
                .map(|e| entry(e, &sys, other_netns))
                .collect()
        } else {
            Vec::new()
        },
        files: j
            .entries
            .iter()
            .filter_map(|e| match e {
                Entry::File { path, .. } => Some(path.clone()),
                _ => None,
            })
            .collect(),
    }
}

fn entry(e: &Entry, sys: &SysctlFs, other_netns: bool) -> EntryStatus {
    let mut s = EntryStatus {
        kind: e.kind(),
        key: e.label(),
        applied: None,
        current: None,
        holds: Holds::Unknown,
        note: None,
    };
    match e {
        Entry::Sysctl { key, new, .. } => {
            s.applied = Some(new.clone());
            if other_netns && key.starts_with("net.") {
                s.note = Some(
                    "written in another network namespace: its value there is not visible here"
                        .into(),
                );
                return s;
            }
            match sys.read(key) {
                Ok(cur) => {
                    s.holds = if normalize(&cur) == normalize(new) {
                        Holds::Yes
                    } else {
                        Holds::Changed
                    };
                    s.current = Some(normalize(&cur));
                }
                Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                    s.holds = Holds::Missing;
                    s.note = Some("not on this kernel any more".into());
                }
                Err(err) => s.note = Some(crate::fsio::describe_io(&err)),
            }
        }
        Entry::File { path, new, .. } => match crate::fsio::read_bounded_io(path, MAX_FILE) {
            Ok(b) if b == new.as_bytes() => s.holds = Holds::Yes,
            Ok(_) => {
                s.holds = Holds::Changed;
                s.note = Some("its content differs from what apply wrote".into());
            }
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                s.holds = Holds::Missing;
                s.note = Some("removed since".into());
            }
            Err(err) => s.note = Some(crate::fsio::describe_io(&err)),
        },
        Entry::Rlimit {
            pid, resource, new, ..
        } => {
            s.applied = Some(format!("{}:{}", new.soft, new.hard));
            match super::limits::get(*pid, *resource) {
                Ok(l) => {
                    s.current = Some(format!("{}:{}", l.soft, l.hard));
                    s.holds = if l == *new {
                        Holds::Yes
                    } else {
                        Holds::Changed
                    };
                }
                Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                    s.holds = Holds::ProcessGone;
                    s.note = Some("the process has exited".into());
                }
                Err(err) => s.note = Some(crate::fsio::describe_io(&err)),
            }
        }
    }
    s
}
