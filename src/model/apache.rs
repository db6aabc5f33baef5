//! Apache httpd's formula (the catalog entry is `snapshot::runtime::servers::apache`). What
//! holds a connection while its request is read depends on the MPM: a child process (prefork)
//! or a worker thread (worker, event). Source: Apache httpd 2.4 documentation (mpm_common:
//! MaxRequestWorkers, ServerLimit, ThreadsPerChild, ThreadLimit), its start-up messages
//! (AH00180, AH00181 …), measured on Debian's 2.4.
//!
//! - prefork: `min(MaxRequestWorkers (default 256), ServerLimit (default 256))`.
//! - worker/event: `ThreadsPerChild` (default 25) is capped by `ThreadLimit` (default 64);
//!   `MaxRequestWorkers` (default `ServerLimit` 16 × `ThreadsPerChild`) is capped by
//!   `ServerLimit × ThreadsPerChild` and rounded down to a multiple of `ThreadsPerChild`.
//!   Each child holds at most `ThreadsPerChild` connections, within its own soft
//!   RLIMIT_NOFILE less the fds it holds besides them.

use super::Ceiling;
use super::ctx::{Ctx, above, ceiling};
use super::names::*;
use crate::snapshot::runtime::catalog::Entry;
use crate::snapshot::{Rlim, Snapshot};

/// Fds an idle event/worker child holds besides connections (listener, pipe of death, logs,
/// epoll, …), measured on Debian's 2.4 with one Listen: for a server not running.
pub const CHILD_BASE_FDS: u64 = 12;

/// The MPM and its numbers, each with where it came from.
pub struct Mpm {
    pub name: String,
    /// Connections held while requests are read (MaxRequestWorkers as Apache applies it).
    pub workers: u64,
    pub threads_per_child: u64,
    pub why: String,
    pub exact: bool,
}

/// The MPM's limits from the settings (defaults where not set).
pub(super) fn mpm(cx: &mut Ctx, e: &Entry) -> Mpm {
    let (name, mut exact) = match super::server_settings::raw(cx.snap, "mpm") {
        Some(s) => (s.value.clone(), true),
        None => {
            super::server_settings::assume_once(cx, "Apache httpd: the MPM was not read (no LoadModule mpm_*_module seen): event, Debian's default, is assumed".to_string());
            ("event".to_string(), false)
        }
    };
    let mut num = |key: &str, default: u64| {
        let (v, why, read) = super::server_settings::value(cx, e, key, Some(default));
        exact &= read;
        (v.unwrap_or(default), why)
    };
    if name == "prefork" {
        let (sl, sl_why) = num("ServerLimit", 256);
        let (mrw, mrw_why) = num("MaxRequestWorkers", 256);
        let v = mrw.min(sl);
        let why = if mrw > sl {
            format!(
                "{mrw_why}, lowered to {sl_why} (AH00180: \"MaxRequestWorkers of {mrw} exceeds ServerLimit value of {sl} servers\")"
            )
        } else {
            format!("{mrw_why} ({sl_why})")
        };
        return Mpm {
            name,
            workers: v,
            threads_per_child: 1,
            why: format!("prefork MPM: a child process per connection; {why}"),
            exact,
        };
    }
    let (tl, tl_why) = num("ThreadLimit", 64);
    let (tpc, tpc_why) = num("ThreadsPerChild", 25);
    let tpc = tpc.clamp(1, tl.max(1));
    let (sl, sl_why) = num("ServerLimit", 16);
    let most = sl.saturating_mul(tpc);
    let (mrw, mrw_why) = num("MaxRequestWorkers", most);
    let v = (mrw.min(most) / tpc).max(1).saturating_mul(tpc);
    let why = format!(
        "{name} MPM: a worker thread per connection while its request is read; {mrw_why}, at most {sl_why} × ThreadsPerChild {tpc} ({tpc_why}; ThreadLimit: {tl_why}), in multiples of ThreadsPerChild"
    );
    Mpm {
        name,
        workers: v,
        threads_per_child: tpc,
        why,
        exact,
    }
}

/// `apache_max_request_workers`.
pub(super) fn caps(cx: &mut Ctx, e: &Entry) -> Vec<Ceiling> {
    let m = mpm(cx, e);
    let want = above(m.workers);
    let lift = if m.name == "prefork" {
        format!(
            "raise `MaxRequestWorkers {want}` and `ServerLimit {want}` in the <IfModule mpm_prefork_module> section (Debian: mods-enabled/mpm_prefork.conf) and restart Apache (ServerLimit needs a restart, not a graceful reload)"
        )
    } else {
        let children = want.div_ceil(m.threads_per_child.max(1));
        format!(
            "raise `MaxRequestWorkers {}` and `ServerLimit {children}` (× ThreadsPerChild {}) in the <IfModule mpm_{}_module> section (Debian: mods-enabled/mpm_{}.conf) and restart Apache",
            children.saturating_mul(m.threads_per_child),
            m.threads_per_child,
            m.name,
            m.name
        )
    };
    vec![ceiling(
        APACHE_MAX_REQUEST_WORKERS,
        m.workers,
        m.exact,
        Scope::Process,
        format!(
            "{}; past it Apache logs \"AH00484: server reached MaxRequestWorkers setting\" and new connections wait in the accept queue",
            m.why
        ),
        lift,
    )]
}

/// The fd bound of a worker/event Apache: each child holds at most ThreadsPerChild
/// connections, within its own fd limit. None for prefork (a process per connection).
pub(super) fn process_fds(cx: &mut Ctx, e: &Entry) -> Option<Ceiling> {
    let m = mpm(cx, e);
    if m.name == "prefork" {
        return None;
    }
    let snap: &Snapshot = cx.snap;
    let kids: Vec<_> = snap
        .runtime
        .server
        .as_ref()
        .map(|s| s.children.iter().filter(|c| c.threads > 1).collect())
        .unwrap_or_default();
    let (soft, base, how) = match kids.first() {
        Some(c) => (
            match c.nofile_soft {
                Rlim::Value(v) => v,
                Rlim::Unlimited => snap.fs.nr_open.unwrap_or(1 << 20),
            },
            kids.iter()
                .map(|c| c.open_fds.saturating_sub(c.connections))
                .max()
                .unwrap_or(0),
            format!("the children's soft RLIMIT_NOFILE (PID {})", c.pid),
        ),
        None => (
            match snap.process.nofile.soft {
                Rlim::Value(v) => v,
                Rlim::Unlimited => snap.fs.nr_open.unwrap_or(1 << 20),
            },
            CHILD_BASE_FDS,
            "the soft RLIMIT_NOFILE the children inherit (estimated: no child running)".into(),
        ),
    };
    let per = soft.saturating_sub(base);
    let children = m.workers.div_ceil(m.threads_per_child.max(1));
    Some(ceiling(
        PROCESS_FDS,
        per.saturating_mul(children),
        !kids.is_empty(),
        Scope::Process,
        format!(
            "({soft} [{how}] − {base} fds a child holds besides connections) × {children} children (MaxRequestWorkers / ThreadsPerChild): each child has its own fd table"
        ),
        format!(
            "raise LimitNOFILE= of apache2.service (or `ulimit -n` in /etc/apache2/envvars) to at least {} and restart: the children inherit the parent's limit",
            above(m.threads_per_child.saturating_add(base))
        ),
    ))
}
