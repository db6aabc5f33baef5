//! Executing a plan and rolling back a journal.

use std::path::{Path, PathBuf};

use super::guard::{self, HostLock};
use super::journal::{Entry, Journal, State};
use super::limits;
use super::sysctl::{self, SysctlFs};
use crate::error::{Error, Result};
use crate::fsio as persist;
use crate::plan::{Action, Plan};
use crate::profile::validate::normalize;

/// The journal entries for a plan: its actions, every old value known (checked before
/// anything is written).
pub fn entries(plan: &Plan) -> Result<Vec<Entry>> {
    plan.changes
        .iter()
        .map(|c| match &c.action {
            Action::Sysctl { key, old: None, .. } => Err(Error::Internal(format!(
                "{key}: the current value is unknown; cannot journal it"
            ))),
            Action::Rlimit { pid, old: None, .. } => Err(Error::Internal(format!(
                "pid:{pid}: the current limit is unknown"
            ))),
            a => Ok(a.clone()),
        })
        .collect()
}

/// How a vanished target process is named (rollback treats it as done).
const GONE: &str = "the process has exited";

/// Make one change and read it back.
fn forward(e: &Entry, sys: &SysctlFs) -> std::result::Result<(), String> {
    match e {
        Entry::Sysctl { key, new, .. } => {
            sys.write(key, new).map_err(|err| {
                format!(
                    "{key} = {new}: the kernel refused the write: {}",
                    sysctl::describe_io(&err)
                )
            })?;
            let back = sys.read(key).map_err(|err| {
                format!("{key}: cannot read it back: {}", sysctl::describe_io(&err))
            })?;
            if normalize(&back) != normalize(new) {
                return Err(format!(
                    "{key} = {new}: the kernel accepted the write but reads back {back:?}"
                ));
            }
            Ok(())
        }
        Entry::File {
            path, new, mode, ..
        } => {
            persist::write_atomic(path, new.as_bytes(), *mode).map_err(|err| {
                format!(
                    "{}: cannot write: {}",
                    path.display(),
                    sysctl::describe_io(&err)
                )
            })?;
            match std::fs::read_to_string(path) {
                Ok(t) if t == *new => Ok(()),
                Ok(_) => Err(format!("{}: content differs after writing", path.display())),
                Err(err) => Err(format!("{}: cannot read it back: {err}", path.display())),
            }
        }
        Entry::Rlimit {
            pid, resource, new, ..
        } => {
            limits::set(*pid, *resource, *new).map_err(|err| {
                format!(
                    "pid:{pid} {} = {}:{}: prlimit failed: {}",
                    resource.name(),
                    new.soft,
                    new.hard,
                    sysctl::describe_io(&err)
                )
            })?;
            match limits::get(*pid, *resource) {
                Ok(l) if l == *new => Ok(()),
                Ok(l) => Err(format!(
                    "pid:{pid} {}: reads back {}:{}",
                    resource.name(),
                    l.soft,
                    l.hard
                )),
                Err(err) => Err(format!("pid:{pid}: cannot read the limit back: {err}")),
            }
        }
    }
}

/// What a journal entry changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum EntryKind {
    /// A kernel setting.
    Sysctl,
    /// A persisted file (sysctl.d, limits.d, a systemd drop-in, vm.args).
    File,
    /// A running process's resource limit (prlimit).
    Rlimit,
}

/// One value or file a rollback (or an apply's undo) put back.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
pub struct Restored {
    pub kind: EntryKind,
    /// The sysctl key, the file's path, or `pid:N nofile`.
    pub key: String,
    /// The value before the rollback (`null` when it could not be read; for a file, its
    /// content is not repeated here).
    pub from: Option<String>,
    /// The value put back (`null`: the file was removed, as it did not exist before).
    pub to: Option<String>,
    /// The same, in words (what the text output prints).
    pub text: String,
}

impl std::fmt::Display for Restored {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

/// One entry a rollback could not restore.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
pub struct NotRestored {
    pub kind: EntryKind,
    pub key: String,
    /// Why, in words.
    pub error: String,
}

impl std::fmt::Display for NotRestored {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.error)
    }
}

impl Entry {
    /// What the entry changes, as the journal tags it.
    pub fn kind(&self) -> EntryKind {
        match self {
            Entry::Sysctl { .. } => EntryKind::Sysctl,
            Entry::File { .. } => EntryKind::File,
            Entry::Rlimit { .. } => EntryKind::Rlimit,
        }
    }

    fn restored(&self, from: Option<String>, to: Option<String>, text: String) -> Restored {
        Restored {
            kind: self.kind(),
            key: self.label(),
            from,
            to,
            text,
        }
    }

    fn not_restored(&self, error: String) -> NotRestored {
        NotRestored {
            kind: self.kind(),
            key: self.label(),
            error,
        }
    }
}

/// Put one entry back as it was. Ok(Some(what)) when something was restored, Ok(None) when
/// it already had its old value.
fn restore(e: &Entry, sys: &SysctlFs) -> std::result::Result<Option<Restored>, String> {
    match e {
        Entry::Sysctl {
            key,
            old: Some(old),
            ..
        } => {
            let cur = sys.read(key).ok();
            if cur.as_deref().map(normalize) == Some(normalize(old)) {
                return Ok(None);
            }
            sys.write(key, old)
                .map_err(|err| format!("{key} = {old}: {}", sysctl::describe_io(&err)))?;
            let back = sys.read(key).map_err(|err| format!("{key}: {err}"))?;
            if normalize(&back) != normalize(old) {
                return Err(format!("{key}: restored {old:?} but reads back {back:?}"));
            }
            let text = format!("{key}: {} → {old}", cur.as_deref().unwrap_or("?"));
            Ok(Some(e.restored(cur, Some(old.clone()), text)))
        }
        Entry::File {
            path,
            old,
            old_mode,
            ..
        } => {
            let cur = std::fs::read_to_string(path).ok();
            match old {
                None => {
                    if cur.is_none() && !path.exists() {
                        return Ok(None);
                    }
                    std::fs::remove_file(path)
                        .map_err(|err| format!("{}: cannot remove: {err}", path.display()))?;
                    let text = format!("{}: removed (did not exist before)", path.display());
                    Ok(Some(e.restored(None, None, text)))
                }
                Some(text) => {
                    if cur.as_deref() == Some(text.as_str()) {
                        return Ok(None);
                    }
                    persist::write_atomic(path, text.as_bytes(), old_mode.unwrap_or(0o644))
                        .map_err(|err| format!("{}: cannot restore: {err}", path.display()))?;
                    let text = format!("{}: previous content restored", path.display());
                    Ok(Some(e.restored(None, Some(text.clone()), text)))
                }
            }
        }
        Entry::Rlimit {
            pid,
            resource,
            old: Some(old),
            ..
        } => {
            let cur = limits::get(*pid, *resource).ok();
            if cur == Some(*old) {
                return Ok(None);
            }
            if cur.is_none() {
                return Err(format!(
                    "pid:{pid}: {GONE}; its {} limit needs no restoring",
                    resource.name()
                ));
            }
            limits::set(*pid, *resource, *old).map_err(|err| {
                format!(
                    "pid:{pid} {}: {}",
                    resource.name(),
                    sysctl::describe_io(&err)
                )
            })?;
            let text = format!("pid:{pid} {}: → {}:{}", resource.name(), old.soft, old.hard);
            let from = cur.map(|c| format!("{}:{}", c.soft, c.hard));
            Ok(Some(e.restored(
                from,
                Some(format!("{}:{}", old.soft, old.hard)),
                text,
            )))
        }
        // Not in a journal: `entries` and `Journal::load` refuse an unknown old value.
        Entry::Sysctl { old: None, .. } | Entry::Rlimit { old: None, .. } => {
            Err(format!("{}: no old value to restore", e.label()))
        }
    }
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct Applied {
    pub journal: PathBuf,
    pub changed: usize,
}

/// Why an apply stopped before the end.
enum Stop {
    /// A change failed (the message names the key and the kernel's error).
    Failed(String),
    /// SIGINT, SIGTERM or SIGHUP arrived.
    Signal(i32),
    /// The journal could not be rewritten after the changes (a full disk).
    Journal(String),
}

/// Refuse while an earlier apply's journal is still pending (killed mid-apply): its original
/// values are the ones to keep, and a new journal would record half-applied ones as "old".
/// `held`: this process holds the host lock already.
pub fn refuse_pending(sysctl_root: &Path, state_dir: &Path, held: bool) -> Result<()> {
    let mut pending: Vec<PathBuf> = super::journal::list(state_dir)
        .into_iter()
        .filter(|p| Journal::load(p).is_ok_and(|j| j.state == State::Pending))
        .collect();
    if let Some(p) = guard::in_flight(sysctl_root)
        && !pending.contains(&p)
        && Journal::load(&p).is_ok_and(|j| j.state == State::Pending)
    {
        pending.push(p);
    }
    let Some(first) = pending.first() else {
        return Ok(());
    };
    if !held && guard::lock_busy(sysctl_root) {
        return Err(Error::Failed(
            "another porttune apply or rollback is running on this host; nothing was changed"
                .into(),
        ));
    }
    Err(Error::Failed(format!(
        "an earlier apply was interrupted: journal {} is still pending, so the host may be half-changed. Restore it first with `porttune rollback {}`, then apply again. Nothing was changed",
        first.display(),
        first.display()
    )))
}

/// Journal (durable, space reserved), then apply every change with a read-back. On the first
/// failure, on SIGINT/SIGTERM/SIGHUP, or when the journal cannot be rewritten afterwards,
/// restore everything already changed and return an error naming the cause and what was
/// restored (exit 1; 130 for SIGINT).
pub fn execute(plan: &Plan, sys: &SysctlFs, state_dir: &Path) -> Result<Applied> {
    let mut lock = HostLock::acquire(sys.root())?;
    refuse_pending(sys.root(), state_dir, true)?;
    let signals = guard::Signals::catch();
    let entries = sysctl::launchd_order(entries(plan)?, sys);
    let mut j = Journal::new(&plan.profile, sys.root(), &plan.root, entries);
    let jpath = j.save_reserving(state_dir)?;
    lock.record(Some(&jpath));
    let mut done = 0;
    let mut stop = signals.caught().map(Stop::Signal);
    while stop.is_none() && done < j.entries.len() {
        if let Err(msg) = forward(&j.entries[done], sys) {
            stop = Some(Stop::Failed(msg));
            break;
        }
        done += 1;
        guard::test_signal_after(done);
        super::guard::test_pause();
        stop = signals.caught().map(Stop::Signal);
    }
    if stop.is_none() {
        let bad = sysctl::read_back_all(&j.entries, sys, false);
        if !bad.is_empty() {
            let all: Vec<String> = bad.into_iter().map(|(_, m)| m).collect();
            stop = Some(Stop::Failed(all.join("; ")));
        }
    }
    if stop.is_none() {
        j.state = State::Applied;
        match j.save(state_dir) {
            Ok(_) => {
                lock.record(None);
                return Ok(Applied {
                    journal: jpath,
                    changed: plan.changes.len(),
                });
            }
            Err(e) => stop = Some(Stop::Journal(e.to_string())),
        }
    }
    let stop = stop.unwrap_or(Stop::Failed("stopped".into()));
    Err(undo(&mut j, done, sys, state_dir, &jpath, &mut lock, stop))
}

/// Restore the first `done` entries (and the one that failed) newest first, rewrite the
/// journal, and build the error that says what happened.
fn undo(
    j: &mut Journal,
    done: usize,
    sys: &SysctlFs,
    state_dir: &Path,
    jpath: &Path,
    lock: &mut HostLock,
    stop: Stop,
) -> Error {
    let upto = (done + usize::from(matches!(stop, Stop::Failed(_)))).min(j.entries.len());
    let mut restored = Vec::new();
    let mut failed = Vec::new();
    for e in j.entries[..upto].iter().rev() {
        match restore(e, sys) {
            Ok(Some(r)) => restored.push(r),
            Ok(None) => {}
            Err(m) => failed.push(m),
        }
    }
    j.state = if failed.is_empty() {
        State::Restored
    } else {
        State::Pending
    };
    let saved = j.save(state_dir);
    j.release(state_dir);
    if failed.is_empty() {
        lock.record(None);
    }
    let mut text = match &stop {
        Stop::Failed(msg) => format!("apply failed at {msg}"),
        Stop::Signal(sig) => format!(
            "apply interrupted by {} after {done} of {} change(s)",
            guard::signal_name(*sig),
            j.entries.len()
        ),
        Stop::Journal(msg) => format!(
            "every change was made, but the journal could not be updated ({msg}), so the changes were undone"
        ),
    };
    if restored.is_empty() && failed.is_empty() {
        text.push_str("\nnothing had been changed: the host is as it was");
    } else if !restored.is_empty() {
        text.push_str("\nrestored:");
        for r in &restored {
            text.push_str(&format!("\n  {r}"));
        }
    }
    if !failed.is_empty() {
        text.push_str(&format!(
            "\nCOULD NOT RESTORE (run `porttune rollback {}`):",
            jpath.display()
        ));
        for f in &failed {
            text.push_str(&format!("\n  {f}"));
        }
    } else if !restored.is_empty() {
        text.push_str("\nevery original value is back");
    }
    match saved {
        Ok(_) => text.push_str(&format!("\njournal: {}", jpath.display())),
        Err(e) => text.push_str(&format!(
            "\njournal {} could not be updated ({e}); it still reads `pending`: `porttune rollback` will find every value already restored",
            jpath.display()
        )),
    }
    match stop {
        Stop::Signal(2) => Error::Interrupted(text),
        _ => Error::Failed(text),
    }
}

#[derive(Debug, Clone, serde::Serialize, schemars::JsonSchema)]
pub struct RolledBack {
    pub journal: PathBuf,
    pub profile: String,
    /// The journal had already been rolled back or restored: nothing done.
    pub already: bool,
    pub restored: Vec<Restored>,
    pub failed: Vec<NotRestored>,
    pub warnings: Vec<String>,
}

/// The journals `rollback` restores: the one named, or (none named) every journal that
/// still holds values, newest first, so the oldest original values are the ones left; the
/// latest when all are done (it then says so).
pub fn rollback_targets(state_dir: &Path, which: Option<&str>) -> Result<Vec<PathBuf>> {
    if which.is_some() {
        return Ok(vec![super::journal::find(state_dir, which)?]);
    }
    let all = super::journal::list(state_dir);
    let mut open: Vec<PathBuf> = all
        .iter()
        .filter(|p| Journal::load(p).is_ok_and(|j| j.open()))
        .cloned()
        .collect();
    open.reverse();
    if open.is_empty() {
        return Ok(vec![super::journal::find(state_dir, None)?]);
    }
    Ok(open)
}

/// Restore one journal. Kernel values and files are restored even when the journal cannot
/// be rewritten afterwards (a read-only state dir: a warning says so); a target process
/// that has exited counts as done, with a warning.
pub fn rollback_one(path: &Path) -> Result<RolledBack> {
    let first = Journal::load(path)?;
    let mut lock = HostLock::acquire(&first.sysctl_root)?;
    let _signals = guard::Signals::catch();
    let mut j = Journal::load(path)?;
    let mut out = RolledBack {
        journal: path.to_path_buf(),
        profile: j.profile.clone(),
        already: false,
        restored: vec![],
        failed: vec![],
        warnings: vec![],
    };
    if !j.open() {
        out.already = true;
        return Ok(out);
    }
    if let Some(w) = netns_warning(&j) {
        out.warnings.push(w);
    }
    let sys = SysctlFs::new(&j.sysctl_root);
    for e in to_restore(&j.entries) {
        match restore(e, &sys) {
            Ok(Some(r)) => out.restored.push(r),
            Ok(None) => {}
            Err(m) if m.contains(GONE) => out.warnings.push(m),
            Err(m) => out.failed.push(e.not_restored(m)),
        }
    }
    if out.failed.is_empty() {
        for (key, error) in sysctl::read_back_all(&j.entries, &sys, true) {
            out.failed.push(NotRestored {
                kind: EntryKind::Sysctl,
                key,
                error,
            });
        }
    }
    if out.failed.is_empty() {
        j.state = State::RolledBack;
        j.updated = Some(super::journal::now());
        match rewrite_in_place(&mut j, path) {
            Ok(_) => {
                if lock.in_flight().as_deref() == Some(path) {
                    lock.record(None);
                }
            }
            Err(e) => out.warnings.push(format!(
                "the values are restored, but the journal could not be marked rolled back ({e}); a later rollback will find them already restored"
            )),
        }
        if let Some(dir) = path.parent() {
            let _ = std::fs::remove_file(dir.join(format!(".{}.reserve", j.id)));
        }
    }
    Ok(out)
}

/// The entries a rollback restores, newest first: of several entries for one key (a sysctl,
/// a file, a process's limit) only the earliest counts, since its old value is what was
/// there before the apply. Each key is restored once; the work is linear in the journal.
fn to_restore(entries: &[Entry]) -> Vec<&Entry> {
    let mut seen = std::collections::HashSet::new();
    let mut firsts: Vec<&Entry> = entries.iter().filter(|e| seen.insert(e.label())).collect();
    firsts.reverse();
    firsts
}

/// Restore a journal (the one named, or every open one, newest first).
pub fn rollback(state_dir: &Path, which: Option<&str>) -> Result<Vec<RolledBack>> {
    rollback_targets(state_dir, which)?
        .iter()
        .map(|p| rollback_one(p))
        .collect()
}

fn netns_warning(j: &Journal) -> Option<String> {
    let here = crate::snapshot::host::netns();
    let net = j
        .entries
        .iter()
        .any(|e| matches!(e, Entry::Sysctl { key, .. } if key.starts_with("net.")));
    (j.netns.is_some() && here.is_some() && j.netns != here && net).then(|| {
        format!(
            "the journal was written in network namespace {}, this is {}: net.* values are restored here",
            j.netns.as_deref().unwrap_or("?"),
            here.as_deref().unwrap_or("?")
        )
    })
}

/// Rewrite a journal at its own path (a journal named by path outside the state dir).
fn rewrite_in_place(j: &mut Journal, path: &Path) -> Result<PathBuf> {
    let text = serde_json::to_string_pretty(j)
        .map_err(|e| Error::Internal(format!("cannot serialise the journal: {e}")))?;
    persist::write_atomic(path, text.as_bytes(), 0o600)
        .map_err(|e| Error::io(format!("cannot write {}", path.display()), e))?;
    Ok(path.to_path_buf())
}
