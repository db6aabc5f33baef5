//! How the model reads a catalog server's settings: as read (file and line), not set (the
//! server's default), or unknown (an assumption, said once). Shared by the formulas of
//! `catalog` and the servers that need code of their own (`apache`).

use super::Scenario;
use super::ctx::Ctx;
use super::listeners::{Listener, PLAUSIBLE, listeners, protocol_on};
use crate::snapshot::runtime::catalog::Entry;
use crate::snapshot::{ServerConf, Setting, Snapshot};

/// A setting as the model finds it.
pub(super) enum Found<'a> {
    /// Set (command line or a file read).
    Read(&'a Setting),
    /// Named by the operator with `--app-limit N:KEY` (the configuration was not read).
    Given(u64),
    /// The configuration was read and does not set it: the default applies.
    NotSet,
    /// Not known: the configuration was not read (why), or nothing was given to read.
    Unknown(String),
}

/// The setting `key` of a catalog server: as read, as `--app-limit N:KEY` gives it when the
/// configuration was not read, not set, or unknown.
pub(super) fn find_in<'a>(snap: &'a Snapshot, sc: &Scenario, e: &Entry, key: &str) -> Found<'a> {
    let unknown = match &snap.runtime.server {
        None => format!(
            "{} was not read (give --pid of the running server, or --config FILE)",
            e.product
        ),
        Some(conf) => match (setting_of(conf, sc, e, key), &conf.unread) {
            (Ok(Some(s)), _)
                if readable(&s.value)
                    || e.not_integers.iter().any(|k| k.eq_ignore_ascii_case(key)) =>
            {
                return Found::Read(s);
            }
            // a value porttune does not read is not "no limit": it is unknown
            (Ok(Some(s)), _) => format!("{key} at {} is not a number porttune reads", s.source),
            (Ok(None), Some(why)) => format!("configuration not read: {why}"),
            (Ok(None), None) => return Found::NotSet,
            (Err(why), _) => why,
        },
    };
    match given(sc, key) {
        Some(v) => Found::Given(v),
        None => Found::Unknown(unknown),
    }
}

/// The setting `key` as `conf` sets it for the clients of the scenario: for a cap counted per
/// listener, the one of the listener on `--port` (Err: a port no listener declares, so its cap
/// cannot be attributed); without `--port`, the one listener's (several: the last one read,
/// the formula sums them; one not readable first, so that the cap is unknown).
fn setting_of<'a>(
    conf: &'a ServerConf,
    sc: &Scenario,
    e: &Entry,
    key: &str,
) -> Result<Option<&'a Setting>, String> {
    let plausible = conf.settings.iter().rev().find(|s| s.source == PLAUSIBLE);
    if let Some(s) = plausible.filter(|s| s.key.eq_ignore_ascii_case(key)) {
        return Ok(Some(s));
    }
    // a cap of a protocol's listeners (RabbitMQ's connection_max): the one on --port's
    let by_protocol = e.protocols.iter().any(|p| p.cap == Some(key));
    if let (true, Some(p), None) = (by_protocol, sc.port, &conf.unread) {
        let l = protocol_on(conf, e, p)?;
        return Ok(conf.get(key).filter(|_| l.proto.cap == Some(key)));
    }
    let per = e
        .cap
        .filter(|c| c.key.eq_ignore_ascii_case(key))
        .and_then(|c| c.per_listener);
    let Some(l) = per.filter(|_| conf.unread.is_none()) else {
        return Ok(conf.get(key));
    };
    let all = listeners(conf, &l, key);
    let tcp: Vec<&Listener> = all.iter().filter(|x| x.port != 0).collect();
    let Some(p) = sc.port else {
        let bad = tcp
            .iter()
            .filter_map(|x| x.value)
            .find(|s| !readable(&s.value));
        return Ok(bad.or(tcp.last().and_then(|x| x.value)));
    };
    match tcp.iter().rev().find(|x| x.port == p) {
        Some(x) => Ok(x.value),
        None if tcp.is_empty() && p == l.default_port => Ok(None),
        None => {
            let declared = if tcp.is_empty() {
                l.none_declared.to_string()
            } else {
                let ports: Vec<String> = tcp.iter().map(|x| x.port.to_string()).collect();
                format!("it declares {}", ports.join(", "))
            };
            Err(format!(
                "port {p} is not a listener of {}'s configuration ({declared}): which {key} applies cannot be told",
                e.product
            ))
        }
    }
}

pub(super) fn find<'a>(snap: &'a Snapshot, e: &Entry, key: &str) -> Found<'a> {
    find_in(snap, &Scenario::default(), e, key)
}

/// `--app-limit N:KEY` naming a server's setting.
fn given(sc: &Scenario, key: &str) -> Option<u64> {
    sc.app_limits
        .iter()
        .rev()
        .find(|a| a.name.eq_ignore_ascii_case(key))
        .map(|a| a.value)
}

/// Whether `s` is a value porttune reads: an integer (a negative one or 0 meaning no limit
/// where the server says so), or a word for no limit.
pub(super) fn readable(s: &str) -> bool {
    let s = s.trim().trim_matches('"');
    s.eq_ignore_ascii_case("infinity")
        || s.eq_ignore_ascii_case("unlimited")
        || s.parse::<i64>().is_ok()
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

/// The one file a lift should name for `key`: the file it was read from, else the main
/// configuration file (the first read; the others are its includes), else "its configuration".
/// Naming every file read would tell the operator to set the key in each of them.
pub(super) fn lift_file(snap: &Snapshot, key: &str) -> String {
    let Some(c) = snap.runtime.server.as_ref() else {
        return "its configuration".into();
    };
    let read_in = c.get(key).and_then(|s| {
        let (path, line) = s.source.rsplit_once(':')?;
        (path.starts_with('/') && line.parse::<u64>().is_ok()).then(|| path.to_string())
    });
    read_in
        .or_else(|| c.files.first().cloned())
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
    match find_in(cx.snap, cx.sc, e, key) {
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
        Found::Given(v) => (Some(v), format!("{key} {v} (--app-limit)"), true),
        // unknown: the default stands in, and the input is unknown with its range (the model
        // evaluates both ends: `inputs`, `assumed`), so a gate resting on it cannot tell
        Found::Unknown(_) => (
            default,
            format!(
                "{key} unknown, the default {} shown (not read)",
                default_words(e, key)
            ),
            false,
        ),
    }
}

pub(super) fn default_words(e: &Entry, key: &str) -> &'static str {
    e.settings
        .iter()
        .find(|s| s.key.eq_ignore_ascii_case(key))
        .map(|s| s.default)
        .unwrap_or("(none)")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::ServerConf;

    #[test]
    fn a_lift_names_one_file() {
        let mut snap = Snapshot::default();
        assert_eq!(lift_file(&snap, "k"), "its configuration");
        let main = "/etc/lighttpd/lighttpd.conf".to_string();
        let inc = "/etc/lighttpd/conf-enabled/90-javascript-alias.conf".to_string();
        snap.runtime.server = Some(ServerConf {
            files: vec![main.clone(), inc.clone()],
            settings: vec![
                Setting {
                    key: "server.max-fds".into(),
                    value: "600".into(),
                    source: format!("{inc}:3"),
                },
                Setting {
                    key: "maxconns".into(),
                    value: "10".into(),
                    source: "-c on the command line".into(),
                },
            ],
            ..ServerConf::default()
        });
        // not set: the main file, not every file read
        assert_eq!(lift_file(&snap, "server.max-connections"), main);
        // set in an include: that file
        assert_eq!(lift_file(&snap, "server.max-fds"), inc);
        // from the command line: still a file, the main one
        assert_eq!(lift_file(&snap, "maxconns"), main);
    }
}
