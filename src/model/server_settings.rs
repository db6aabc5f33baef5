//! How the model reads a catalog server's settings: as read (file and line), not set (the
//! server's default), or unknown (an assumption, said once). Shared by the formulas of
//! `catalog` and the servers that need code of their own (`apache`).

use super::ctx::Ctx;
use crate::snapshot::runtime::catalog::Entry;
use crate::snapshot::{Setting, Snapshot};

/// A setting as the model finds it.
pub(super) enum Found<'a> {
    /// Set (command line or a file read).
    Read(&'a Setting),
    /// The configuration was read and does not set it: the default applies.
    NotSet,
    /// Not known: the configuration was not read (why), or nothing was given to read.
    Unknown(String),
}

pub(super) fn find<'a>(snap: &'a Snapshot, e: &Entry, key: &str) -> Found<'a> {
    let Some(conf) = &snap.runtime.server else {
        return Found::Unknown(format!(
            "{} was not read (give --pid of the running server, or --config FILE)",
            e.product
        ));
    };
    match (conf.get(key), &conf.unread) {
        (Some(s), _) => Found::Read(s),
        (None, Some(why)) => Found::Unknown(format!("configuration not read: {why}")),
        (None, None) => Found::NotSet,
    }
}

/// A number as servers write it; `None` for "no limit" (`-1`, `0` where it means none,
/// `infinity`, `unlimited`) and for what is not a number.
pub(super) fn number(s: &str) -> Option<u64> {
    let s = s.trim().trim_matches('"');
    if s.eq_ignore_ascii_case("infinity") || s.eq_ignore_ascii_case("unlimited") {
        return None;
    }
    s.parse::<u64>().ok().filter(|v| *v > 0)
}

pub(super) fn files(snap: &Snapshot) -> String {
    snap.runtime
        .server
        .as_ref()
        .map(|c| c.files.join(", "))
        .filter(|f| !f.is_empty())
        .unwrap_or_else(|| "its configuration".into())
}

/// An assumption, said once however many ceilings rest on it.
pub(super) fn assume_once(cx: &mut Ctx, s: String) {
    if !cx.assumptions.contains(&s) {
        cx.assume(s);
    }
}

/// The setting `key` as read, if it was.
pub(super) fn raw<'a>(snap: &'a Snapshot, key: &str) -> Option<&'a Setting> {
    snap.runtime.server.as_ref()?.get(key)
}

/// A setting's value and how the model got it: (value — None for "no limit" —, how, and
/// whether it was read rather than assumed).
pub(super) fn value(
    cx: &mut Ctx,
    e: &Entry,
    key: &str,
    default: Option<u64>,
) -> (Option<u64>, String, bool) {
    match find(cx.snap, e, key) {
        Found::Read(s) => match number(&s.value) {
            Some(v) => (Some(v), format!("{key} {v} ({})", s.source), true),
            None => (
                None,
                format!("{key} {} ({}): no limit", s.value, s.source),
                true,
            ),
        },
        Found::NotSet => (
            default,
            format!(
                "{key} not set in {}: the default {}",
                files(cx.snap),
                default_words(e, key)
            ),
            true,
        ),
        Found::Unknown(why) => {
            assume_once(
                cx,
                format!(
                    "{}: {key} unknown ({why}); the default {} is assumed: a value in its configuration would change this ceiling (pass --config FILE, or --app-limit N:{key})",
                    e.product,
                    default_words(e, key)
                ),
            );
            (
                default,
                format!("{key} assumed {} (not read)", default_words(e, key)),
                false,
            )
        }
    }
}

fn default_words(e: &Entry, key: &str) -> &'static str {
    e.settings
        .iter()
        .find(|s| s.key.eq_ignore_ascii_case(key))
        .map(|s| s.default)
        .unwrap_or("(none)")
}
