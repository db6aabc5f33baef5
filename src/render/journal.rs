//! What porttune did to this host, from its journals: `rollback` (text and JSON). Formatting
//! only.

use colored::Colorize;
use serde::Serialize;

use crate::apply::engine::{NotRestored, Restored, RolledBack};
use crate::apply::journal::State;
use crate::apply::status::{Holds, JournalStatus, Status, Unreadable};
use crate::render::wrap::wrap;

/// The `rollback --format json` document: every journal rolled back, and the entries of all
/// of them together.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct RollbackJson<'a> {
    /// The document's version (docs/json.md).
    pub schema: u32,
    /// The first (newest) journal rolled back.
    pub journal: Option<String>,
    /// Its profile.
    pub profile: Option<&'a str>,
    /// Every journal named had been rolled back already: nothing was done.
    pub already: bool,
    /// Every value and file put back, newest journal first.
    pub restored: Vec<&'a Restored>,
    /// What could not be put back (exit 1).
    pub failed: Vec<&'a NotRestored>,
    pub warnings: Vec<&'a str>,
    /// One entry per journal.
    pub journals: &'a [RolledBack],
}

impl<'a> RollbackJson<'a> {
    pub fn new(all: &'a [RolledBack]) -> Self {
        let first = all.first();
        RollbackJson {
            schema: 1,
            journal: first.map(|r| r.journal.display().to_string()),
            profile: first.map(|r| r.profile.as_str()),
            already: all.iter().all(|r| r.already),
            restored: all.iter().flat_map(|r| &r.restored).collect(),
            failed: all.iter().flat_map(|r| &r.failed).collect(),
            warnings: all
                .iter()
                .flat_map(|r| r.warnings.iter().map(String::as_str))
                .collect(),
            journals: all,
        }
    }
}

/// One journal's rollback as text, wrapped at `width` (continuation lines indented). The
/// lines of failures are returned apart: they go to standard error.
pub fn rolled_back(r: &RolledBack, width: usize) -> (String, String) {
    let mut out = String::new();
    let mut err = String::new();
    for w in &r.warnings {
        out.push_str(&wrap(w, width, &format!("{} ", "warning:".yellow()), "  "));
    }
    let journal = r.journal.display();
    if r.already {
        let t = format!(
            "nothing to do: journal {journal} (profile `{}`) was already rolled back",
            r.profile
        );
        out.push_str(&wrap(&t, width, "", "  "));
        return (out, err);
    }
    let t = format!("{journal} (profile `{}`):", r.profile);
    out.push_str(&wrap(
        &t,
        width,
        &format!("{} ", "Rolled back journal".bold()),
        "  ",
    ));
    if r.restored.is_empty() && r.failed.is_empty() {
        out.push_str("  every value already had its old value\n");
    }
    for x in &r.restored {
        out.push_str(&wrap(&x.text, width, "  restored ", "      "));
    }
    for f in &r.failed {
        err.push_str(&wrap(
            &f.error,
            width,
            &format!("  {} ", "FAILED".red().bold()),
            "      ",
        ));
    }
    out.push_str(&format!("restored: {}\n", r.restored.len()));
    (out, err)
}

/// The command that rolls back one journal: by its id when it lies in the default state
/// directory (short, fits a terminal), else by its path.
pub fn undo_command(journal: &std::path::Path) -> String {
    let default = std::path::Path::new(crate::apply::journal::DEFAULT_STATE_DIR);
    let in_default = journal.parent() == Some(&crate::apply::journal::journal_dir(default));
    match journal.file_stem() {
        Some(id) if in_default => format!("porttune rollback {}", id.to_string_lossy()),
        _ => format!("porttune rollback {}", journal.display()),
    }
}

/// The `status --format json` document.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct StatusJson<'a> {
    /// The document's version (docs/json.md).
    pub schema: u32,
    pub state_dir: String,
    /// Profiles applied and not rolled back, oldest first.
    pub active: Vec<&'a str>,
    /// Every open journal's values still hold, none is pending, every journal could be read
    /// (exit 0).
    pub ok: bool,
    /// Journals left `pending` by an interrupted apply (roll them back).
    pub pending: usize,
    /// Values or files of open journals changed or removed since they were applied.
    pub drifted: usize,
    /// Every journal, oldest first.
    pub journals: &'a [JournalStatus],
    pub unreadable: &'a [Unreadable],
}

impl<'a> StatusJson<'a> {
    pub fn new(st: &'a Status) -> Self {
        StatusJson {
            schema: 1,
            state_dir: st.state_dir.display().to_string(),
            active: st.active(),
            ok: st.ok(),
            pending: st.pending(),
            drifted: st.drifted(),
            journals: &st.journals,
            unreadable: &st.unreadable,
        }
    }
}

/// `YYYY-MM-DD HH:MM UTC` for a Unix time.
fn when(secs: u64) -> String {
    let s = crate::apply::journal::stamp(secs);
    format!(
        "{}-{}-{} {}:{} UTC",
        &s[0..4],
        &s[4..6],
        &s[6..8],
        &s[9..11],
        &s[11..13]
    )
}

fn state_label(s: State) -> &'static str {
    match s {
        State::Pending => "pending",
        State::Applied => "applied",
        State::Restored => "restored",
        State::RolledBack => "rolled back",
    }
}

/// One open journal: its header and every entry with whether it holds.
fn open_journal(o: &mut String, j: &JournalStatus, width: usize) {
    let head = format!("`{}` on {} (journal {})", j.profile, when(j.created), j.id);
    let tag = if j.state == State::Pending {
        format!("{} ", "Pending:".red().bold())
    } else {
        format!("{} ", "Applied:".bold())
    };
    o.push_str(&wrap(&head, width, &tag, "  "));
    if j.state == State::Pending {
        let t = format!(
            "an apply was interrupted and the host may be half-changed: restore it with `{}`",
            undo_command(&j.journal)
        );
        o.push_str(&wrap(&t, width, "  ", "    "));
    }
    for e in &j.entries {
        let label = match e.holds {
            Holds::Yes => format!("{:<8}", e.holds.label()).green().to_string(),
            Holds::Changed | Holds::Missing => {
                format!("{:<8}", e.holds.label()).red().bold().to_string()
            }
            _ => format!("{:<8}", e.holds.label()).yellow().to_string(),
        };
        let mut t = match (&e.applied, &e.current) {
            (Some(a), Some(c)) if e.holds != Holds::Yes => format!("{} = {a}, now {c}", e.key),
            (Some(a), _) => format!("{} = {a}", e.key),
            _ => e.key.clone(),
        };
        if let Some(n) = &e.note {
            t.push_str(&format!(" ({n})"));
        }
        o.push_str(&wrap(&t, width, &format!("  {label} "), &" ".repeat(13)));
    }
}

/// `porttune status` as text: the open journals entry by entry, a verdict, and the closed
/// ones counted (listed one line each with `all`).
pub fn status(st: &Status, all: bool, width: usize) -> String {
    let mut o = String::new();
    let dir = st.state_dir.display();
    if st.journals.is_empty() && st.unreadable.is_empty() {
        let t = format!(
            "{}: nothing applied by porttune here: no journal in {dir}/journal (`--state-dir` names another state directory)",
            "ok".green()
        );
        o.push_str(&wrap(&t, width, &format!("{} ", "Status:".bold()), "  "));
        return o;
    }
    for j in st.journals.iter().filter(|j| j.open()) {
        open_journal(&mut o, j, width);
    }
    for u in &st.unreadable {
        let t = format!("{}: {}", u.journal.display(), u.error);
        o.push_str(&wrap(&t, width, &format!("{} ", "unreadable:".red()), "  "));
    }
    let closed: Vec<&JournalStatus> = st.journals.iter().filter(|j| !j.open()).collect();
    if all {
        for j in &closed {
            let t = format!(
                "`{}` applied {}, {} {} (journal {})",
                j.profile,
                when(j.created),
                state_label(j.state),
                j.updated.map_or_else(|| "(time unknown)".to_string(), when),
                j.id
            );
            o.push_str(&wrap(&t, width, &format!("{} ", "Earlier:".bold()), "  "));
        }
    } else if !closed.is_empty() {
        let t = format!(
            "{} journal(s) already rolled back or restored (`porttune status --all` lists them)",
            closed.len()
        );
        o.push_str(&wrap(&t, width, "", "  "));
    }
    let verdict = if st.ok() {
        match st.active().as_slice() {
            [] => "nothing applied now: every apply was rolled back or restored".to_string(),
            a => format!(
                "{} applied; every value still holds",
                a.iter()
                    .map(|p| format!("`{p}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    } else {
        let mut v = Vec::new();
        if st.drifted() > 0 {
            v.push(format!(
                "{} value(s) changed since they were applied (apply the profile again, or roll it back)",
                st.drifted()
            ));
        }
        if st.pending() > 0 {
            v.push(format!(
                "{} apply left half-done (roll it back)",
                st.pending()
            ));
        }
        if !st.unreadable.is_empty() {
            v.push(format!("{} journal(s) unreadable", st.unreadable.len()));
        }
        v.join("; ")
    };
    let tag = if st.ok() {
        "ok".green().to_string()
    } else {
        "NO".red().bold().to_string()
    };
    o.push_str(&wrap(
        &format!("{tag}: {verdict}"),
        width,
        &format!("{} ", "Status:".bold()),
        "  ",
    ));
    o
}
