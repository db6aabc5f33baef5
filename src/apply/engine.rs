//! Executing a plan and rolling back a journal.

use std::path::{Path, PathBuf};

use super::journal::{Entry, Journal, State};
use super::limits;
use super::persist;
use super::sysctl::{self, SysctlFs};
use crate::error::{Error, Result};
use crate::plan::{Action, Plan};
use crate::profile::validate::normalize;

/// The journal entries for a plan (every old value and file, before anything is written).
pub fn entries(plan: &Plan) -> Result<Vec<Entry>> {
    plan.changes
        .iter()
        .map(|c| match &c.action {
            Action::Sysctl { key, old, new } => Ok(Entry::Sysctl {
                key: key.clone(),
                old: old.clone().ok_or_else(|| {
                    Error::Internal(format!(
                        "{key}: the current value is unknown; cannot journal it"
                    ))
                })?,
                new: new.clone(),
            }),
            Action::Rlimit {
                pid,
                resource,
                old,
                new,
            } => Ok(Entry::Rlimit {
                pid: *pid,
                resource: *resource,
                old: old.ok_or_else(|| {
                    Error::Internal(format!("pid:{pid}: the current limit is unknown"))
                })?,
                new: *new,
            }),
            Action::File {
                path,
                old,
                old_mode,
                new,
                mode,
            } => Ok(Entry::File {
                path: path.clone(),
                old: old.clone(),
                old_mode: *old_mode,
                new: new.clone(),
                mode: *mode,
            }),
        })
        .collect()
}

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

/// Put one entry back as it was. Ok(Some(text)) when something was restored, Ok(None) when
/// it already had its old value.
fn restore(e: &Entry, sys: &SysctlFs) -> std::result::Result<Option<String>, String> {
    match e {
        Entry::Sysctl { key, old, .. } => {
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
            Ok(Some(format!(
                "{key}: {} → {old}",
                cur.unwrap_or_else(|| "?".into())
            )))
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
                    Ok(Some(format!(
                        "{}: removed (did not exist before)",
                        path.display()
                    )))
                }
                Some(text) => {
                    if cur.as_deref() == Some(text.as_str()) {
                        return Ok(None);
                    }
                    persist::write_atomic(path, text.as_bytes(), old_mode.unwrap_or(0o644))
                        .map_err(|err| format!("{}: cannot restore: {err}", path.display()))?;
                    Ok(Some(format!(
                        "{}: previous content restored",
                        path.display()
                    )))
                }
            }
        }
        Entry::Rlimit {
            pid, resource, old, ..
        } => {
            let cur = limits::get(*pid, *resource).ok();
            if cur == Some(*old) {
                return Ok(None);
            }
            if cur.is_none() {
                return Err(format!(
                    "pid:{pid}: the process is gone; nothing to restore"
                ));
            }
            limits::set(*pid, *resource, *old).map_err(|err| {
                format!(
                    "pid:{pid} {}: {}",
                    resource.name(),
                    sysctl::describe_io(&err)
                )
            })?;
            Ok(Some(format!(
                "pid:{pid} {}: → {}:{}",
                resource.name(),
                old.soft,
                old.hard
            )))
        }
    }
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct Applied {
    pub journal: PathBuf,
    pub changed: usize,
}

/// Journal, then apply every change with a read-back; on the first failure restore
/// everything already changed and return `Error::Failed` naming the key, the kernel's error
/// and what was restored.
pub fn execute(plan: &Plan, sys: &SysctlFs, state_dir: &Path) -> Result<Applied> {
    let _lock = super::journal::StateLock::acquire(state_dir)?;
    let mut j = Journal::new(&plan.profile, sys.root(), entries(plan)?);
    let jpath = j.save(state_dir)?;
    for i in 0..j.entries.len() {
        if let Err(msg) = forward(&j.entries[i], sys) {
            let mut restored = Vec::new();
            let mut failed = Vec::new();
            for done in j.entries[..=i].iter().rev() {
                match restore(done, sys) {
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
            let _ = j.save(state_dir);
            let mut text = format!("apply failed at {msg}");
            if restored.is_empty() {
                text.push_str("\nnothing had been changed before it");
            } else {
                text.push_str("\nrestored:");
                for r in &restored {
                    text.push_str(&format!("\n  {r}"));
                }
            }
            if !failed.is_empty() {
                text.push_str("\nCOULD NOT RESTORE (run `porttune rollback`):");
                for f in &failed {
                    text.push_str(&format!("\n  {f}"));
                }
            }
            text.push_str(&format!("\njournal: {}", jpath.display()));
            return Err(Error::Failed(text));
        }
        sysctl::test_pause();
    }
    j.state = State::Applied;
    j.save(state_dir)?;
    Ok(Applied {
        journal: jpath,
        changed: j.entries.len(),
    })
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct RolledBack {
    pub journal: PathBuf,
    pub profile: String,
    /// The journal had already been rolled back or restored: nothing done.
    pub already: bool,
    pub restored: Vec<String>,
    pub failed: Vec<String>,
    pub warnings: Vec<String>,
}

/// Restore a journal (the latest when `which` is None).
pub fn rollback(state_dir: &Path, which: Option<&str>) -> Result<RolledBack> {
    let _lock = if state_dir.is_dir() {
        Some(super::journal::StateLock::acquire(state_dir)?)
    } else {
        None
    };
    let path = super::journal::find(state_dir, which)?;
    let mut j = Journal::load(&path)?;
    let mut out = RolledBack {
        journal: path.clone(),
        profile: j.profile.clone(),
        already: false,
        restored: vec![],
        failed: vec![],
        warnings: vec![],
    };
    if matches!(j.state, State::RolledBack | State::Restored) {
        out.already = true;
        return Ok(out);
    }
    let here = std::fs::read_link("/proc/self/ns/net")
        .ok()
        .map(|p| p.display().to_string());
    if j.netns.is_some()
        && here.is_some()
        && j.netns != here
        && j.entries
            .iter()
            .any(|e| matches!(e, Entry::Sysctl { key, .. } if key.starts_with("net.")))
    {
        out.warnings.push(format!(
            "the journal was written in network namespace {}, this is {}: net.* values are restored here",
            j.netns.as_deref().unwrap_or("?"),
            here.as_deref().unwrap_or("?")
        ));
    }
    let sys = SysctlFs::new(&j.sysctl_root);
    for e in j.entries.iter().rev() {
        match restore(e, &sys) {
            Ok(Some(r)) => out.restored.push(r),
            Ok(None) => {}
            Err(m) => out.failed.push(m),
        }
    }
    if out.failed.is_empty() {
        j.state = State::RolledBack;
        j.updated = Some(super::journal::now());
        rewrite_in_place(&mut j, &path)?;
    }
    Ok(out)
}

/// Rewrite a journal at its own path (a journal named by path outside the state dir).
fn rewrite_in_place(j: &mut Journal, path: &Path) -> Result<PathBuf> {
    let text = serde_json::to_string_pretty(j)
        .map_err(|e| Error::Internal(format!("cannot serialise the journal: {e}")))?;
    persist::write_atomic(path, text.as_bytes(), 0o600)
        .map_err(|e| Error::io(format!("cannot write {}", path.display()), e))?;
    Ok(path.to_path_buf())
}
