//! Apache httpd's formula (the catalog entry is `snapshot::runtime::servers::apache`). What
//! holds a connection while its request is read depends on the MPM: a child process (prefork)
//! or a worker thread (worker, event). Source: Apache httpd 2.4 documentation (mpm_common:
//! MaxRequestWorkers, ServerLimit, ThreadsPerChild, ThreadLimit; event:
//! AsyncRequestWorkerFactor), its source (server/mpm/event/event.c, os/unix/unixd.c), its
//! start-up messages (AH00180, AH00181 …), measured on Debian's 2.4.
//!
//! - prefork: `min(MaxRequestWorkers (default 256), ServerLimit (default 256))`.
//! - worker/event: `ThreadsPerChild` (default 25) is capped by `ThreadLimit` (default 64);
//!   `MaxRequestWorkers` (default `ServerLimit` 16 × `ThreadsPerChild`) is capped by
//!   `ServerLimit × ThreadsPerChild` and rounded down to a multiple of `ThreadsPerChild`.
//!   Each child holds at most `ThreadsPerChild` connections, within its own soft
//!   RLIMIT_NOFILE less the fds it holds besides them.
//! - event, idle keep-alive sessions (`--keep-alive`): the listener thread holds them without
//!   a worker. event.c's `connections_above_limit()` stops a child accepting once its
//!   connections (less those in lingering close) reach `ThreadsPerChild + idle workers ×
//!   AsyncRequestWorkerFactor`, the factor in whole numbers (it is kept in sixteenths and
//!   divided by 16 there), at least 1; with every worker idle between requests that is
//!   `ThreadsPerChild × (1 + factor)` per child, `MaxRequestWorkers / ThreadsPerChild`
//!   children (the parent starts no more). Connections that send nothing, or whose request
//!   is still being read, hold a worker thread each (MaxRequestWorkers).
//! - at a child's fd limit accept() fails with EMFILE ("AH02179: apr_socket_accept: (client
//!   socket)"): the child stops gracefully (event.c `resource_shortage`), closes its listener
//!   and, in the event MPM, its idle keep-alive connections; the parent starts another.

use super::Ceiling;
use super::ctx::{Ctx, above, ceiling};
use super::names::*;
use super::server_settings::Found;
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
    // MaxClients is MaxRequestWorkers' old name, still accepted by 2.4 (mpm_common: "This
    // directive was called MaxClients before version 2.3.13. The old name is still
    // supported."): both set the same number, so the one read last wins.
    let mrw_key = match cx.snap.runtime.server.as_ref() {
        Some(c) => c
            .settings
            .iter()
            .rev()
            .find(|s| {
                s.key.eq_ignore_ascii_case("MaxRequestWorkers")
                    || s.key.eq_ignore_ascii_case("MaxClients")
            })
            .filter(|s| s.key.eq_ignore_ascii_case("MaxClients"))
            .map_or("MaxRequestWorkers", |_| "MaxClients"),
        None => "MaxRequestWorkers",
    };
    let mut num = |key: &str, default: u64| {
        let (v, why, read) = super::server_settings::value(cx, e, key, Some(default));
        exact &= read;
        (v.unwrap_or(default), why)
    };
    if name == "prefork" {
        let (sl, sl_why) = num("ServerLimit", 256);
        let (mrw, mrw_why) = num(mrw_key, 256);
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
    let (mrw, mrw_why) = num(mrw_key, most);
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

/// `apache_max_request_workers`, or for the event MPM's idle keep-alive sessions
/// (`--keep-alive`) `apache_async_connections`; the other is said not to apply.
pub(super) fn caps(cx: &mut Ctx, e: &Entry) -> Vec<Ceiling> {
    let m = mpm(cx, e);
    if m.name != "event" {
        return vec![workers_ceiling(&m)];
    }
    let a = async_connections(cx, e, &m);
    if cx.sc.keep_alive {
        cx.na(
            APACHE_MAX_REQUEST_WORKERS,
            format!(
                "the event MPM's idle keep-alive connections hold no worker thread (its listener thread watches them); the {} worker threads only serve their requests",
                m.workers
            ),
        );
        vec![a]
    } else {
        cx.na(
            APACHE_ASYNC_CONNECTIONS,
            format!(
                "connections that send nothing, or whose request is still being read, hold a worker thread each; the event MPM holds only idle keep-alive connections without one (up to {}: `--keep-alive`)",
                a.value
            ),
        );
        vec![workers_ceiling(&m)]
    }
}

fn workers_ceiling(m: &Mpm) -> Ceiling {
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
    let idle = if m.name == "event" {
        "a connection whose request is being read holds a worker, idle keep-alive ones do not (`--keep-alive`); "
    } else {
        "an idle keep-alive connection keeps its worker until KeepAliveTimeout; "
    };
    // server/listen.c: `AcceptFilter http data` (core.c's default on Linux) sets
    // TCP_DEFER_ACCEPT to 30 s on the listener
    let idle = format!(
        "{idle}a connection that sends nothing is first kept half-open by the kernel (AcceptFilter http data, the Linux default: TCP_DEFER_ACCEPT 30 s) until it sends data, that time is up or the SYN queue overflows, then holds a worker until mod_reqtimeout closes it (RequestReadTimeout header=20-40 on Debian); "
    );
    ceiling(
        APACHE_MAX_REQUEST_WORKERS,
        m.workers,
        m.exact,
        Scope::Process,
        format!(
            "{}; {idle}past it Apache logs \"AH00484: server reached MaxRequestWorkers setting\" and new connections wait in the accept queue",
            m.why
        ),
        lift,
    )
}

/// AsyncRequestWorkerFactor as event.c applies it in `connections_above_limit()`: the value
/// (strtod, > 0) times 16 in an unsigned int, at least 16, divided by 16 — whole numbers, at
/// least 1. None for a value Apache refuses at start.
pub fn async_factor(value: &str) -> Option<u64> {
    let v: f64 = value.trim().trim_matches('"').parse().ok()?;
    if !(v.is_finite() && v > 0.0) {
        return None;
    }
    // the float-to-unsigned cast of event.c (saturating here, as Rust's `as` is)
    Some(((v * 16.0) as u64).max(16) / 16)
}

/// The factor, how it was found, and whether it was read.
fn factor(cx: &mut Ctx, e: &Entry) -> (u64, String, bool) {
    const KEY: &str = "AsyncRequestWorkerFactor";
    if let Some(s) = super::server_settings::raw(cx.snap, KEY) {
        if let Some(f) = async_factor(&s.value) {
            let whole = if s.value.trim().parse::<u64>().ok() == Some(f) {
                String::new()
            } else {
                format!(", applied as {f}: event.c uses it in whole numbers here")
            };
            return (f, format!("{KEY} {} ({}){whole}", s.value, s.source), true);
        }
    }
    match super::server_settings::find(cx.snap, e, KEY) {
        Found::Read(s) => {
            let why = format!(
                "{KEY} {} ({}) is not a value Apache accepts (it refuses to start): the default 2 shown",
                s.value, s.source
            );
            super::server_settings::assume_once(cx, format!("Apache httpd: {why}"));
            (2, why, false)
        }
        _ => {
            let (v, why, read) = super::server_settings::value(cx, e, KEY, Some(2));
            (v.unwrap_or(2).max(1), why, read)
        }
    }
}

/// The event MPM's idle keep-alive connections: `children × ThreadsPerChild × (1 + factor)`.
fn async_connections(cx: &mut Ctx, e: &Entry, m: &Mpm) -> Ceiling {
    let (f, f_why, f_read) = factor(cx, e);
    let tpc = m.threads_per_child.max(1);
    let children = m.workers / tpc;
    let per = tpc.saturating_mul(f.saturating_add(1));
    let v = per.saturating_mul(children);
    let snap = cx.snap;
    let keep =
        |k: &str| super::server_settings::raw(snap, k).map(|s| (s.value.clone(), s.source.clone()));
    let held = match keep("KeepAlive") {
        Some((v, src)) if v.eq_ignore_ascii_case("off") => format!(
            "; KeepAlive Off ({src}): Apache closes each connection after its response, so none stays open idle"
        ),
        _ => match keep("KeepAliveTimeout") {
            Some((t, src)) => format!("; each is closed after KeepAliveTimeout {t} s ({src}) idle"),
            None => "; each is closed after KeepAliveTimeout (default 5 s) idle".into(),
        },
    };
    let want = above(v);
    let need = want
        .div_ceil(tpc.saturating_mul(children).max(1))
        .saturating_sub(1);
    ceiling(
        APACHE_ASYNC_CONNECTIONS,
        v,
        // several children: each can stop up to the factor short (measured), an upper value
        m.exact && f_read && children <= 1,
        Scope::Process,
        format!(
            "event MPM, idle keep-alive connections (held by the listener thread, not a worker): a child accepts while its connections not in lingering close are fewer than ThreadsPerChild {tpc} + idle workers × {f_why}; with every worker idle that is {tpc} × (1 + {f}) = {per} a child, × {children} children (MaxRequestWorkers {} / ThreadsPerChild) = {v}. Past it connections wait in the accept queue. A child counts a worker still finishing a response, or one its listener reserved for a connection another child then accepted, as not idle, and once stopped resumes only below ThreadsPerChild + (idle workers − 1) × {f}: so a child can stop up to {f} short, more likely with several children{held}",
            m.workers
        ),
        format!(
            "raise `AsyncRequestWorkerFactor {need}` (whole numbers count) in the <IfModule mpm_event_module> section (Debian: mods-enabled/mpm_event.conf), or MaxRequestWorkers (more children), and restart Apache"
        ),
    )
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
    // the connections a child holds at most in this scenario, for the lift
    let most = if m.name == "event" && cx.sc.keep_alive {
        m.threads_per_child
            .saturating_mul(factor(cx, e).0.saturating_add(1))
    } else {
        m.threads_per_child
    };
    Some(ceiling(
        PROCESS_FDS,
        per.saturating_mul(children),
        !kids.is_empty(),
        Scope::Process,
        format!(
            "({soft} [{how}] − {base} fds a child holds besides connections) × {children} children (MaxRequestWorkers / ThreadsPerChild): each child has its own fd table. At it accept() fails with EMFILE (\"AH02179: apr_socket_accept: (client socket)\"): the child stops gracefully, closing its listener{} and keeping the requests it is reading, and the parent starts another if ServerLimit leaves room; a request that opens a file needs one fd more",
            if m.name == "event" {
                " and its idle keep-alive connections"
            } else {
                ""
            }
        ),
        format!(
            "raise LimitNOFILE= of apache2.service (or `ulimit -n` in /etc/apache2/envvars) to at least {} and restart: the children inherit the parent's limit",
            above(most.saturating_add(base))
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::async_factor;

    #[test]
    fn async_factor_is_applied_in_whole_numbers() {
        // event.c: worker_factor = val * 16 (unsigned), at least 16; the limit uses
        // worker_factor / 16
        assert_eq!(async_factor("2"), Some(2));
        assert_eq!(async_factor("2.9"), Some(2));
        assert_eq!(async_factor("1.5"), Some(1));
        assert_eq!(async_factor("0.25"), Some(1));
        assert_eq!(async_factor(" 4 "), Some(4));
        assert_eq!(async_factor("1e1"), Some(10));
        assert_eq!(async_factor("0"), None);
        assert_eq!(async_factor("-1"), None);
        assert_eq!(async_factor("two"), None);
        assert_eq!(async_factor("inf"), None);
    }
}
