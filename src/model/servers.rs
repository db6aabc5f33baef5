//! Servers with their own connection caps: nginx (and the hooks for the others). Pure: the
//! snapshot holds the configuration values and the workers as read; this derives.
//!
//! nginx (docs/runtimes.md): each worker has `worker_connections` slots. Every listening
//! socket takes one in every worker and the channel to the master one more. When the free
//! slots fall to `worker_connections`/16, nginx closes idle (reusable) connections instead of
//! refusing new ones ("N worker_connections are not enough, reusing connections"), so idle
//! connections peak at `worker_connections − listeners − 1 − worker_connections/16` per
//! worker. A proxied connection takes two slots and two fds. Each worker is also bound by its
//! own RLIMIT_NOFILE, which it sets from `worker_rlimit_nofile`.

use super::names::*;
use super::{Ceiling, Scenario};
use crate::snapshot::{Nginx, Os, Rlim, RuntimeKind, Snapshot};

/// Fds an idle nginx worker holds besides its listening sockets: stdin/stdout/stderr, the
/// error log, the channel to the master, the epoll fd, its eventfd and /dev/null (measured
/// on nginx 1.22). Used only for a worker that is not running.
pub const NGINX_WORKER_BASE_FDS: u64 = 7;

/// One worker as the model sees it.
struct Worker {
    fd_limit: u64,
    /// Fds it holds besides connections.
    base: u64,
}

fn nginx_of(snap: &Snapshot) -> Option<Nginx> {
    if snap.runtime.kind != RuntimeKind::Nginx {
        return None;
    }
    Some(snap.runtime.nginx.clone().unwrap_or(Nginx {
        config: "(defaults)".into(),
        worker_processes: 1,
        worker_connections: crate::snapshot::runtime::nginx::DEFAULT_WORKER_CONNECTIONS,
        ..Default::default()
    }))
}

fn listeners(n: &Nginx) -> u64 {
    n.listeners
        .or_else(|| n.workers.first().map(|w| w.listeners))
        .unwrap_or(1)
}

fn resolve(snap: &Snapshot, r: Rlim) -> u64 {
    match r {
        Rlim::Value(v) => v,
        Rlim::Unlimited => match snap.platform.os {
            Os::Linux => snap.fs.nr_open.unwrap_or(1 << 20),
            _ => super::macos::perproc(snap),
        },
    }
}

/// The workers: as read from /proc, or `worker_processes` estimated ones.
fn workers(snap: &Snapshot, n: &Nginx) -> (Vec<Worker>, String) {
    if !n.workers.is_empty() {
        let ws = n
            .workers
            .iter()
            .map(|w| Worker {
                fd_limit: resolve(snap, w.nofile_soft),
                base: w.open_fds.saturating_sub(w.connections),
            })
            .collect();
        let how = match n.worker_rlimit_nofile {
            Some(r) => format!("the workers' soft RLIMIT_NOFILE, set from worker_rlimit_nofile {r}"),
            None => "the workers' soft RLIMIT_NOFILE, inherited from the master (no worker_rlimit_nofile)".into(),
        };
        return (ws, how);
    }
    let (lim, how) = match n.worker_rlimit_nofile {
        Some(r) => (r, format!("worker_rlimit_nofile {r}")),
        None => {
            let (v, how) = super::nofile::effective_nofile(snap);
            (
                resolve(snap, v),
                format!("{how}, inherited by the workers (no worker_rlimit_nofile)"),
            )
        }
    };
    let base = NGINX_WORKER_BASE_FDS + listeners(n);
    let ws = (0..n.worker_processes.max(1))
        .map(|_| Worker {
            fd_limit: lim,
            base,
        })
        .collect();
    (ws, how)
}

/// "× 2 workers" or the per-worker list when they differ.
fn times(values: &[u64]) -> String {
    match values {
        [_] => String::new(),
        [a, rest @ ..] if rest.iter().all(|v| v == a) => format!(" × {} workers", values.len()),
        _ => format!(
            " per worker, summed over {} workers [{}]",
            values.len(),
            values
                .iter()
                .map(u64::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// The fd bound of a server porttune models itself (nginx's workers, HAProxy), replacing
/// the generic process_fds; None for the others.
pub fn process_fds(snap: &Snapshot, sc: &Scenario) -> Option<Ceiling> {
    match snap.runtime.kind {
        RuntimeKind::Nginx => nginx_process_fds(snap, sc),
        RuntimeKind::Haproxy => haproxy_process_fds(snap),
        _ => None,
    }
}

/// nginx's fd bound: each worker's own limit minus what it holds besides connections
/// (the master's limit is not the workers').
fn nginx_process_fds(snap: &Snapshot, _sc: &Scenario) -> Option<Ceiling> {
    let n = nginx_of(snap)?;
    let (ws, how) = workers(snap, &n);
    let fpc = if n.proxies { 2 } else { 1 };
    let per: Vec<u64> = ws
        .iter()
        .map(|w| w.fd_limit.saturating_sub(w.base) / fpc)
        .collect();
    let w0 = &ws[0];
    let estimated = if n.workers.is_empty() {
        " (estimated: nginx is not running)"
    } else {
        ""
    };
    let mut why = format!(
        "(worker fd limit {} [{how}] − {} fds a worker holds besides connections{estimated}) / {fpc} fd{} per connection{}",
        w0.fd_limit,
        w0.base,
        if fpc > 1 { "s (client + upstream)" } else { "" },
        times(&per)
    );
    let wc = n.worker_connections;
    if w0.fd_limit < wc {
        why.push_str(&format!(
            "; nginx warns at start \"{wc} worker_connections exceed open file resource limit: {}\" and logs \"accept4() failed (24: Too many open files)\" at the limit",
            w0.fd_limit
        ));
    }
    let want = wc
        .saturating_mul(2)
        .max(wc.saturating_mul(fpc).saturating_add(w0.base))
        .max(w0.fd_limit.saturating_mul(2));
    let mut lift = format!(
        "set `worker_rlimit_nofile {want};` in the main context of {} and reload (`nginx -s reload`): each worker sets its own RLIMIT_NOFILE from it",
        n.config
    );
    if n.worker_rlimit_nofile.is_some() {
        lift.push_str(
            ", so `ulimit -n` or LimitNOFILE= for the master does not change the workers' limit",
        );
    }
    let hard = snap.process.nofile.hard.value().unwrap_or(u64::MAX);
    if want > hard && !snap.process.caps.sys_resource {
        lift.push_str(&format!(
            "; the master's hard limit {hard} caps it unless the master runs as root: raise LimitNOFILE= too"
        ));
    }
    Some(Ceiling {
        name: PROCESS_FDS,
        value: per.iter().sum(),
        exact: !n.workers.is_empty(),
        scope: Scope::Process,
        why,
        lift,
        provenance: Ceiling::pending(),
        conditional: None,
    })
}

/// nginx's connection-table bound.
fn nginx_worker_connections(snap: &Snapshot, n: &Nginx) -> Ceiling {
    let (ws, _) = workers(snap, n);
    let wc = n.worker_connections;
    let l = listeners(n);
    let slots = wc.saturating_sub(l + 1);
    // Proxied: 2 slots per client. nginx accepts until fewer than wc/16 slots are free; past
    // that, each accept first closes reusable connections, which include clients whose request
    // is not yet read, so what it keeps under a burst is (wc − wc/16) / 2, and up to
    // (wc − listeners − 1) / 2 only when every request is read before the next accept
    // (measured on nginx 1.22: 60–63 held at wc 128, 119–120 at wc 256, one listener).
    let per = if n.proxies {
        (wc.saturating_sub(wc / 16) / 2).min(slots / 2)
    } else {
        slots.saturating_sub(wc / 16)
    };
    let values: Vec<u64> = ws.iter().map(|_| per).collect();
    let src = match (&n.unread, &n.config_source) {
        (Some(why), _) => format!(
            "{} NOT READ ({why}): worker_connections unknown, the default 512 shown",
            n.config
        ),
        (None, Some(s)) => format!("{}, from {s}", n.config),
        (None, None) => n.config.clone(),
    };
    let why = if n.proxies {
        format!(
            "(worker_connections {wc} − {} kept free ({wc}/16: below that nginx closes reusable connections, clients whose request is not yet read among them)) / 2 slots per proxied connection (client + upstream){}, held under a burst; up to {} per worker ((worker_connections − {l} listening socket{} − 1 channel) / 2) when each request is read before the next accept [config {src}]; at the limit nginx logs \"{wc} worker_connections are not enough\"",
            wc / 16,
            times(&values),
            slots / 2,
            if l == 1 { "" } else { "s" },
        )
    } else {
        format!(
            "worker_connections {wc} − {l} listening socket{} − 1 channel to the master − {} kept free ({wc}/16: there nginx closes idle connections instead, logging \"{wc} worker_connections are not enough, reusing connections\"){} [config {src}]",
            if l == 1 { "" } else { "s" },
            wc / 16,
            times(&values)
        )
    };
    let want = wc.saturating_mul(2);
    let base = ws
        .first()
        .map(|w| w.base)
        .unwrap_or(NGINX_WORKER_BASE_FDS + l);
    Ceiling {
        name: NGINX_WORKER_CONNECTIONS,
        value: values.iter().sum(),
        // proxied: a range (burst .. slow arrivals), the lower end given
        exact: !n.proxies && n.unread.is_none(),
        scope: Scope::Process,
        why,
        lift: format!(
            "raise `worker_connections {want};` in events {{}} and `worker_rlimit_nofile` to at least {} (main context) together, then reload (`nginx -s reload`)",
            want.saturating_add(base)
        ),
        provenance: Ceiling::pending(),
        conditional: None,
    }
}

/// The fewest connections a server that sheds at its predicted limit holds right after
/// shedding: nginx closes max(1, min(32, idle/8)) idle connections per worker when its
/// table runs low (ngx_drain_connections), then refills. None when the bottleneck does not
/// shed.
pub fn shed_floor(snap: &Snapshot, pred: &super::Prediction) -> Option<u64> {
    if pred.bottleneck != Some(NGINX_WORKER_CONNECTIONS) {
        return None;
    }
    let n = nginx_of(snap)?;
    if n.proxies {
        return None;
    }
    let workers = (workers(snap, &n).0.len() as u64).max(1);
    let per = pred.ceiling / workers;
    let k = (per / 8).clamp(1, 32);
    Some(pred.ceiling.saturating_sub(workers * k))
}

/// Servers that set their own fd limit at start, so the soft limit they were started with is
/// not theirs (their catalog entries say: HAProxy, Redis, memcached, lighttpd; PostgreSQL,
/// whose fd limit does not bound connections), and nginx workers with `worker_rlimit_nofile`.
pub fn sets_own_fd_limit(snap: &Snapshot) -> bool {
    let kind = snap.runtime.kind;
    crate::snapshot::runtime::catalog::of(kind).sets_own_fd_limit
        || kind == RuntimeKind::Nginx
            && snap
                .runtime
                .nginx
                .as_ref()
                .is_some_and(|n| n.worker_rlimit_nofile.is_some())
}

/// The caps of servers porttune knows.
pub fn caps(snap: &Snapshot, sc: &Scenario) -> Vec<Ceiling> {
    let mut out = Vec::new();
    if let Some(n) = nginx_of(snap) {
        out.push(nginx_worker_connections(snap, &n));
    }
    if let Some(h) = haproxy_of(snap) {
        out.push(haproxy_maxconn(snap, sc, &h));
    }
    out.extend(select_fd_setsize(snap, sc));
    out.extend(redis_maxclients(snap, sc));
    out.extend(postgres_max_connections(snap));
    out.extend(mysql_max_connections(snap, sc));
    for a in &sc.app_limits {
        out.push(Ceiling {
            name: APP_LIMIT,
            value: a.value,
            exact: true,
            scope: Scope::Process,
            why: format!("{} {} (--app-limit: a cap the application enforces itself, invisible from the OS)", a.name, a.value),
            lift: format!("raise {} in the application's configuration (the OS limits above it are the next rung)", a.name),
            provenance: Ceiling::pending(),
            conditional: None,
        });
    }
    out
}

/// Redis's maxclients: as it reports it, else min(10000, soft limit − 32) (Redis raises its
/// soft limit to maxclients + 32 at start when it can, else lowers maxclients).
/// `--app-limit N:maxclients`: Redis's maxclients as the operator states it.
pub(super) fn redis_given(sc: &Scenario) -> Option<u64> {
    sc.app_limits
        .iter()
        .rev()
        .find(|a| a.name.eq_ignore_ascii_case("maxclients"))
        .map(|a| a.value)
}

fn redis_maxclients(snap: &Snapshot, sc: &Scenario) -> Option<Ceiling> {
    use crate::snapshot::runtime::redis::{DEFAULT_MAXCLIENTS, RESERVED_FDS};
    if snap.runtime.kind != RuntimeKind::Redis {
        return None;
    }
    let soft = resolve(snap, snap.process.nofile.soft);
    let reduced = soft.saturating_sub(RESERVED_FDS);
    let given = redis_given(sc).filter(|_| snap.runtime.redis_maxclients.is_none());
    let (value, why) = match (&snap.runtime.redis_maxclients, given) {
        (Some(s), _) => (s.value, format!("maxclients {} ({})", s.value, s.source)),
        (None, Some(v)) => (
            v.min(reduced),
            format!(
                "min(maxclients {v} (--app-limit), soft RLIMIT_NOFILE {soft} − {RESERVED_FDS})"
            ),
        ),
        (None, None) => {
            let v = DEFAULT_MAXCLIENTS.min(reduced);
            (
                v,
                format!(
                    "maxclients unknown (INFO clients did not answer): min(the default {DEFAULT_MAXCLIENTS}, soft RLIMIT_NOFILE {soft} − {RESERVED_FDS}) shown"
                ),
            )
        }
    };
    let want = value.saturating_mul(2);
    let lift = if value >= reduced {
        format!(
            "Redis lowered maxclients to its fd limit − 32 (its log says \"maxclients has been reduced to {value} to compensate for low ulimit\"): raise LimitNOFILE=/`ulimit -n` to at least {} and `maxclients {want}` in redis.conf, then restart",
            want.saturating_add(RESERVED_FDS)
        )
    } else {
        format!(
            "`CONFIG SET maxclients {want}` (live) and `maxclients {want}` in redis.conf; Redis needs an fd limit of at least {} for it",
            want.saturating_add(RESERVED_FDS)
        )
    };
    Some(Ceiling {
        name: REDIS_MAXCLIENTS,
        value,
        exact: snap.runtime.redis_maxclients.is_some() || given.is_some(),
        scope: Scope::Process,
        why: format!(
            "{why}; beyond it Redis answers \"-ERR max number of clients reached\" and closes"
        ),
        lift,
        provenance: Ceiling::pending(),
        conditional: None,
    })
}

/// Memory an idle PostgreSQL backend costs (measured on PostgreSQL 15: 1.0–1.3 MiB private,
/// ~3.3 MiB of MemAvailable per backend with its page tables and kernel stack). An estimate.
pub const PG_BACKEND_BYTES: u64 = 3400 << 10;

/// PostgreSQL's connection slots for ordinary roles: max_connections −
/// superuser_reserved_connections (default 3) − reserved_connections (PostgreSQL 16+,
/// default 0). Superusers may use the reserved slots too.
fn postgres_max_connections(snap: &Snapshot) -> Option<Ceiling> {
    use crate::snapshot::runtime::postgres::{DEFAULT_MAX_CONNECTIONS, DEFAULT_SUPERUSER_RESERVED};
    if snap.runtime.kind != RuntimeKind::Postgres {
        return None;
    }
    let pg = snap.runtime.postgres.clone().unwrap_or_default();
    let shown = |s: &Option<crate::snapshot::Sourced>, default: u64| match s {
        Some(s) => (s.value, s.source.clone()),
        None => (default, "the default".to_string()),
    };
    let (max, max_src) = shown(&pg.max_connections, DEFAULT_MAX_CONNECTIONS);
    let (su, su_src) = shown(
        &pg.superuser_reserved_connections,
        DEFAULT_SUPERUSER_RESERVED,
    );
    let (rc, rc_src) = shown(&pg.reserved_connections, 0);
    let value = max.saturating_sub(su).saturating_sub(rc);
    let mut why = format!(
        "max_connections {max} ({max_src}) − superuser_reserved_connections {su} ({su_src})"
    );
    if pg.reserved_connections.is_some() {
        why.push_str(&format!(" − reserved_connections {rc} ({rc_src})"));
    }
    why.push_str(&format!(
        " for ordinary roles (superusers: {}); beyond it PostgreSQL answers \"FATAL: remaining connection slots are reserved for …\", then \"FATAL: sorry, too many clients already\"",
        max
    ));
    if !pg.config.is_empty() {
        why.push_str(&format!(" [config {}]", pg.config));
    }
    let want = max.saturating_mul(2).max(max.saturating_add(1));
    let lift = if max_src == "the postmaster's command line" {
        format!(
            "raise `-c max_connections={want}` on the postmaster's command line (it overrides postgresql.conf and ALTER SYSTEM), then restart PostgreSQL; a reload does not change it"
        )
    } else {
        format!(
            "`ALTER SYSTEM SET max_connections = {want};` (as a superuser), then restart PostgreSQL (`pg_ctl restart -D DATADIR`, or `systemctl restart postgresql`); a reload does not change it. Each backend is a process: RLIMIT_NPROC and memory must allow {want}"
        )
    };
    Some(Ceiling {
        name: POSTGRES_MAX_CONNECTIONS,
        value,
        exact: snap.runtime.postgres.is_some(),
        scope: Scope::Process,
        why,
        lift,
        provenance: Ceiling::pending(),
        conditional: None,
    })
}

/// MySQL/MariaDB's max_connections as started (default 151). MariaDB lets one more in for a
/// user with SUPER / CONNECTION ADMIN.
fn mysql_max_connections(snap: &Snapshot, sc: &Scenario) -> Option<Ceiling> {
    use crate::snapshot::runtime::mysql::DEFAULT_MAX_CONNECTIONS;
    if snap.runtime.kind != RuntimeKind::Mysql {
        return None;
    }
    let m = snap.runtime.mysql.clone().unwrap_or_default();
    if let Some(c) = mysql_extra_port(&m, sc) {
        return Some(c);
    }
    let (max, src) = match &m.max_connections {
        Some(s) => (s.value, s.source.clone()),
        None => (DEFAULT_MAX_CONNECTIONS, "the default".to_string()),
    };
    let mut why = format!(
        "max_connections {max} ({src}) for ordinary users (one more for a user with SUPER / CONNECTION ADMIN); beyond it the server answers \"ERROR 1040 (08004): Too many connections\""
    );
    // max_user_connections: what one account holds (an application usually logs in as one)
    let per_account = m.max_user_connections.clone().filter(|u| u.value < max);
    if let Some(u) = &per_account {
        why = format!(
            "max_user_connections {} ({}) per account: one account holds at most {}, beyond it \"ERROR 1203 (42000): User … already has more than 'max_user_connections' active connections\"; all accounts together: {why}",
            u.value, u.source, u.value
        );
    }
    if let Some(p) = &m.extra_port {
        let e = m.extra_max_connections.as_ref().map_or(1, |e| e.value);
        why.push_str(&format!(
            "; extra_port {} ({}) takes up to {e} more there, not counted here (check --port {} for it)",
            p.value, p.source, p.value
        ));
    }
    if !m.config.is_empty() {
        why.push_str(&format!(" [config {}]", m.config));
    }
    let want = max.saturating_mul(2).max(max.saturating_add(1));
    let fds = want.saturating_add(64);
    let lift = if src == "the server's command line" {
        format!(
            "raise `--max-connections={want}` on the server's command line (it overrides the option files) and restart; `SET GLOBAL max_connections = {want};` applies it at once until then. The server needs an fd limit of at least {fds} (LimitNOFILE=)"
        )
    } else {
        let file = match src.rsplit_once(':') {
            Some((f, _)) if src != "the default" => format!("in {f}"),
            _ => "in [mysqld] of the option file".to_string(),
        };
        format!(
            "`max_connections = {want}` {file} and restart; `SET GLOBAL max_connections = {want};` applies it at once until then. The server needs an fd limit of at least {fds} (LimitNOFILE=)"
        )
    };
    let (value, lift) = match &per_account {
        Some(u) => (
            u.value,
            format!(
                "raise `max_user_connections` (to at least {}, or 0 for none) where it is set ({}) and `SET GLOBAL max_user_connections = {};` (an account's own MAX_USER_CONNECTIONS in GRANT overrides it); then: {lift}",
                u.value.saturating_mul(2).min(max),
                u.source,
                u.value.saturating_mul(2).min(max)
            ),
        ),
        None => (max, lift),
    };
    Some(Ceiling {
        name: MYSQL_MAX_CONNECTIONS,
        value,
        exact: snap.runtime.mysql.is_some(),
        scope: Scope::Process,
        why,
        lift,
        provenance: Ceiling::pending(),
        conditional: None,
    })
}

/// MariaDB's `extra_port`, when it is the port asked about (`--port`, flood --target's):
/// its own cap `extra_max_connections` (default 1), apart from max_connections (MariaDB KB,
/// "Thread Pool in MariaDB": extra_port, extra_max_connections).
fn mysql_extra_port(m: &crate::snapshot::Mysql, sc: &Scenario) -> Option<Ceiling> {
    let p = m
        .extra_port
        .as_ref()
        .filter(|p| Some(p.value) == sc.port.map(u64::from))?;
    let (e, src) = match &m.extra_max_connections {
        Some(e) => (e.value, e.source.clone()),
        None => (1, "the default".to_string()),
    };
    Some(Ceiling {
        name: MYSQL_MAX_CONNECTIONS,
        value: e,
        exact: true,
        scope: Scope::Process,
        why: format!(
            "extra_max_connections {e} ({src}) on extra_port {} ({}): the extra port's own cap, apart from max_connections; beyond it \"ERROR 1040 (08004): Too many connections\"",
            p.value, p.source
        ),
        lift: format!(
            "raise `extra_max_connections` (to at least {}) where it is set and restart; `SET GLOBAL extra_max_connections = {};` applies it at once",
            e.saturating_mul(2),
            e.saturating_mul(2)
        ),
        provenance: Ceiling::pending(),
        conditional: None,
    })
}

/// Servers that fork a process (PostgreSQL) or start a thread (MySQL/MariaDB with
/// one-thread-per-connection, Python's http.server) per connection: the tasks ceiling,
/// without --threads-per-conn. RLIMIT_NPROC counts every task of the server's real user.
pub fn tasks(snap: &Snapshot, sc: &Scenario) -> Option<Ceiling> {
    if sc.threads_per_conn != 0 {
        return None;
    }
    let (what, conns) = match snap.runtime.kind {
        RuntimeKind::Postgres => (
            "PostgreSQL forks a backend process per connection",
            snap.runtime
                .postgres
                .as_ref()
                .and_then(|p| p.client_backends)
                .unwrap_or(0),
        ),
        RuntimeKind::Mysql
            if snap
                .runtime
                .mysql
                .as_ref()
                .is_none_or(crate::snapshot::runtime::mysql::thread_per_connection) =>
        {
            (
                "the server runs a thread per connection (thread_handling one-thread-per-connection)",
                snap.usage.process_connections.unwrap_or(0),
            )
        }
        RuntimeKind::Python if python_threading_server(&snap.process.cmdline) => (
            "Python's http.server (ThreadingHTTPServer) starts a thread per connection",
            snap.usage.process_connections.unwrap_or(0),
        ),
        _ => return None,
    };
    let p = &snap.process;
    let threads = p.threads.unwrap_or(1);
    let mut limits: Vec<(u64, String, String)> = Vec::new();
    if let (Some(n), Some(ut)) = (p.nproc, &snap.runtime.user_tasks) {
        if let (Rlim::Value(v), false) = (n.soft, p.caps.sys_resource || p.caps.sys_admin) {
            let base = ut.value.saturating_sub(conns);
            limits.push((
                v.saturating_sub(base),
                format!(
                    "RLIMIT_NPROC {v} − {base} tasks of the server's user besides connections ({} {}, − {conns} connections)",
                    ut.value, ut.source
                ),
                format!(
                    "raise RLIMIT_NPROC of the server's user to at least {} (LimitNPROC= in the unit, or `nproc` in /etc/security/limits.conf; `prlimit --nproc` before start) and restart the server: it counts every process and thread of that user",
                    v.saturating_mul(2).max(base.saturating_add(v))
                ),
            ));
        }
    }
    if let Some(m) = p.cgroup.pids_max {
        let cur = p
            .cgroup
            .pids_current
            .unwrap_or(threads)
            .saturating_sub(conns);
        limits.push((
            m.saturating_sub(cur),
            format!("cgroup pids.max {m} − {cur} tasks besides connections"),
            format!(
                "raise TasksMax= of the unit (cgroup pids.max) to at least {}",
                m.saturating_mul(2)
            ),
        ));
    }
    if let Some(t) = snap.memory.threads_max {
        limits.push((
            t.saturating_sub(threads),
            format!("kernel.threads-max {t}"),
            "kernel.threads-max (global)".into(),
        ));
    }
    let (room, why, lift) = limits.into_iter().min_by_key(|l| l.0)?;
    Some(Ceiling {
        name: TASKS,
        value: room,
        exact: true,
        scope: Scope::Process,
        why: format!("{why}: {what}; at the limit fork()/pthread_create() fail with EAGAIN"),
        lift,
        provenance: Ceiling::pending(),
        conditional: None,
    })
}

/// `python3 -m http.server`: its ThreadingHTTPServer (Python 3.7+) runs a thread per
/// connection (`daemon_threads`); past RLIMIT_NPROC it logs "can't start new thread" and
/// closes the connection. Source: CPython Lib/http/server.py (`test()` serves with
/// ThreadingHTTPServer), Lib/socketserver.py (ThreadingMixIn.process_request).
fn python_threading_server(cmdline: &[String]) -> bool {
    let mut it = cmdline.iter().skip(1);
    while let Some(w) = it.next() {
        if w == "-m" {
            return it.next().is_some_and(|m| m == "http.server");
        }
        if let Some(m) = w.strip_prefix("-m") {
            return m == "http.server";
        }
        if !w.starts_with('-') {
            return false; // a script: its own code decides
        }
    }
    false
}

/// Why the generic fd bound does not apply: a PostgreSQL backend is a process of its own with
/// its own fd table; the postmaster hands each connection over and closes its copy.
pub fn process_fds_not_applicable(snap: &Snapshot) -> Option<String> {
    if let Some(why) = super::catalog::process_fds_not_applicable(snap) {
        return Some(why);
    }
    (snap.runtime.kind == RuntimeKind::Postgres).then(|| {
        "PostgreSQL forks a backend per connection: each has its own fd table and the postmaster closes its copy of the socket, so the postmaster's RLIMIT_NOFILE does not bound connections (backends keep their files within max_files_per_process)".to_string()
    })
}

/// Memory one connection costs when it is more than its sockets: a PostgreSQL backend.
pub fn conn_bytes(snap: &Snapshot) -> Option<(u64, &'static str)> {
    (snap.runtime.kind == RuntimeKind::Postgres).then_some((
        PG_BACKEND_BYTES,
        "~3.3 MiB per PostgreSQL backend process (measured, idle)",
    ))
}

/// FD_SETSIZE: select(2) can watch only fds numbered below 1024, whatever RLIMIT_NOFILE says.
pub const FD_SETSIZE: u64 = 1024;

/// A select()-based server (named with --selector select, or seen blocked in select) holds
/// connections only on fds below FD_SETSIZE; Python's SelectSelector dies at the first fd
/// ≥ 1024 ("filedescriptor out of range in select()").
fn select_fd_setsize(snap: &Snapshot, sc: &Scenario) -> Option<Ceiling> {
    use super::Selector;
    if snap.runtime.kind == RuntimeKind::Postgres {
        // the postmaster select()s on its listening sockets only; backends hold connections
        return None;
    }
    let seen = snap.runtime.waits_in.as_deref();
    let how = match (sc.selector, seen) {
        (Some(Selector::Select), _) => "--selector select".to_string(),
        (None, Some(w)) if w.contains("select") => {
            format!("the process was blocked in {w}() when read")
        }
        _ => return None,
    };
    let p = &snap.process;
    let conns = if p.is_self {
        0
    } else {
        snap.usage.process_connections.unwrap_or(0)
    };
    let base = p.open_fds.saturating_sub(conns).min(FD_SETSIZE);
    let extra = sc.setup_fds();
    let fpc = sc.fds_per_conn();
    Some(Ceiling {
        name: SELECT_FD_SETSIZE,
        value: FD_SETSIZE.saturating_sub(base + extra) / fpc,
        exact: true,
        scope: Scope::Process,
        why: format!(
            "(FD_SETSIZE {FD_SETSIZE} − {base} fds open besides connections{}) / {fpc}: select() cannot watch an fd ≥ {FD_SETSIZE} ({how}); Python's SelectSelector then fails with \"filedescriptor out of range in select()\"",
            if extra > 0 { format!(" − {extra} set-up fds") } else { String::new() }
        ),
        lift: "use epoll or poll instead of select() (Python: selectors.DefaultSelector / asyncio's default loop; C: poll/epoll); raising RLIMIT_NOFILE does not help".into(),
        provenance: Ceiling::pending(),
        conditional: None,
    })
}

/// Fds HAProxy reserves before connections: 10, one per listener, and `stats maxconn`
/// (default 10) per stats socket frontend (haproxy.c, `global.maxsock`).
pub const HAPROXY_RESERVED_FDS: u64 = 10;
pub const HAPROXY_STATS_MAXCONN: u64 = 10;
/// HAProxy's floor for a computed maxconn (DEFAULT_MAXCONN).
pub const HAPROXY_MIN_MAXCONN: u64 = 100;

fn haproxy_of(snap: &Snapshot) -> Option<crate::snapshot::Haproxy> {
    if snap.runtime.kind != RuntimeKind::Haproxy {
        return None;
    }
    Some(snap.runtime.haproxy.clone().unwrap_or_default())
}

/// The fd limit HAProxy sizes maxconn from: max(soft, hard) (of the running process, whose
/// soft limit HAProxy has set to its maxsock; or of this shell), capped by `fd-hard-limit`
/// (haproxy.c / limits.c compute_ideal_maxconn: `MAX(rlim_fd_cur_at_boot,
/// rlim_fd_max_at_boot)`; `ulimit-n` is not part of it).
fn haproxy_sizing_fds(snap: &Snapshot, h: &crate::snapshot::Haproxy) -> (u64, String) {
    haproxy_fds(snap, h, false)
}

/// The fd limit HAProxy runs with: `ulimit-n` when set (it sets RLIMIT_NOFILE to it), else
/// as [`haproxy_sizing_fds`].
fn haproxy_fd_base(snap: &Snapshot, h: &crate::snapshot::Haproxy) -> (u64, String) {
    haproxy_fds(snap, h, true)
}

fn haproxy_fds(snap: &Snapshot, h: &crate::snapshot::Haproxy, ulimit: bool) -> (u64, String) {
    let (lim, who) = match &h.process {
        Some(p) => (p.nofile, format!("PID {}", p.pid)),
        None => (snap.process.nofile, "this shell".to_string()),
    };
    let (s, hd) = (resolve(snap, lim.soft), resolve(snap, lim.hard));
    let mut v = s.max(hd);
    let mut how = format!("max(soft {}, hard {}) of {who}", lim.soft, lim.hard);
    if let Some(u) = h.ulimit_n.filter(|_| ulimit) {
        v = u;
        how = format!("global ulimit-n {u}");
    }
    if let Some(f) = h.fd_hard_limit.filter(|f| *f < v) {
        v = f;
        how = format!("fd-hard-limit {f}");
    }
    (v, how)
}

/// HAProxy's own maxconn when `maxconn` is unset (haproxy.c compute_ideal_maxconn, no
/// pipes, no SSL engines): (fd limit − reserved − 3 fds per thread) / 2, at least 100.
fn haproxy_auto_maxconn(snap: &Snapshot, h: &crate::snapshot::Haproxy) -> (u64, String) {
    let (fds, how) = haproxy_sizing_fds(snap, h);
    let stats = if h.stats_sockets.is_empty() {
        0
    } else {
        h.stats_maxconn.unwrap_or(HAPROXY_STATS_MAXCONN)
    };
    let reserved = HAPROXY_RESERVED_FDS + h.listeners + stats;
    let nbt = h.nbthread.unwrap_or(1).max(1);
    let v = (fds.saturating_sub(reserved + 3 * nbt) / 2).max(HAPROXY_MIN_MAXCONN);
    let mut why = format!(
        "maxconn unset: HAProxy computes (fd limit {fds} [{how}] − {reserved} reserved (10 + {} listeners + {stats} stats) − 3 × {nbt} threads) / 2 fds per connection",
        h.listeners
    );
    // the fds that maxconn needs; a lower `ulimit-n` stops HAProxy at start (strict-limits,
    // on by default since 2.3; measured on 2.6: "FD limit (3000) too low for maxconn=9976")
    let maxsock = v.saturating_mul(2).saturating_add(reserved);
    if let Some(u) = h.ulimit_n.filter(|u| *u < maxsock) {
        why.push_str(&format!(
            "; global ulimit-n {u} is below the {maxsock} fds that needs: HAProxy refuses to start (\"FD limit ({u}) too low for maxconn={v}\") unless maxconn is set to fit it"
        ));
    }
    (v, why)
}

fn haproxy_maxconn(snap: &Snapshot, sc: &Scenario, h: &crate::snapshot::Haproxy) -> Ceiling {
    let (global, mut why, lift) = if let Some(i) = &h.info {
        let set = h.cmdline_maxconn.or(h.global_maxconn).is_some();
        (
            i.maxconn,
            format!(
                "Maxconn {} (stats socket show info; Maxsock {}, Ulimit-n {})",
                i.maxconn,
                i.maxsock.map(|v| v.to_string()).unwrap_or("?".into()),
                i.ulimit_n.map(|v| v.to_string()).unwrap_or("?".into())
            ),
            set,
        )
    } else if let Some(n) = h.cmdline_maxconn {
        (n, format!("-n {n} on the command line"), true)
    } else if let Some(n) = h.global_maxconn {
        (n, format!("global maxconn {n}"), true)
    } else if let Some(unread) = &h.unread {
        let (v, w) = haproxy_auto_maxconn(snap, h);
        (
            v,
            format!(
                "maxconn unknown: the configuration was not read ({unread}); shown as if unset: {w}"
            ),
            false,
        )
    } else {
        let (v, w) = haproxy_auto_maxconn(snap, h);
        (v, w, false)
    };
    // each frontend also stops at its own maxconn (default: the defaults section's, else
    // global); with --port (flood --target's), only the frontends binding that port count
    let on_port: Vec<&crate::snapshot::HaproxyFrontend> = match sc.port {
        Some(p) => h
            .frontends
            .iter()
            .filter(|f| f.ports.iter().any(|[lo, hi]| (*lo..=*hi).contains(&p)))
            .collect(),
        None => Vec::new(),
    };
    let matched = on_port.len();
    let frontends: Vec<&crate::snapshot::HaproxyFrontend> = if on_port.is_empty() {
        h.frontends.iter().collect()
    } else {
        on_port
    };
    let mut fe_sum: u64 = 0;
    let mut fe_why = Vec::new();
    for f in frontends.iter().copied() {
        let (mut v, mut src) = match (f.maxconn, f.defaults_maxconn) {
            (Some(m), _) => (m, "maxconn"),
            (None, Some(d)) => (d, "defaults maxconn"),
            (None, None) => (global, "global"),
        };
        if let Some(b) = f.bind_maxconn.filter(|b| *b < v) {
            (v, src) = (b, "its binds' maxconn");
        }
        fe_sum = fe_sum.saturating_add(v);
        fe_why.push(format!("{} {v} ({src})", f.name));
    }
    let value = if frontends.is_empty() {
        global
    } else {
        global.min(fe_sum)
    };
    let fe_binds = !frontends.is_empty() && fe_sum < global;
    if !frontends.is_empty() {
        let on = match sc.port {
            Some(p) if matched > 0 => format!(" binding port {p}"),
            Some(p) => format!(" (none binds port {p} in the configuration read: all counted)"),
            None => String::new(),
        };
        why.push_str(&format!("; frontends{on}: {}", fe_why.join(", ")));
    }
    if fe_binds {
        why.push_str(&format!(
            " → the frontends' sum {fe_sum} binds first; at its maxconn a frontend stops accepting and new connections wait in the kernel's accept queue"
        ));
    } else {
        why.push_str("; at maxconn HAProxy stops accepting and new connections wait in the kernel's accept queue");
    }
    why.push_str(&format!(" [config {}]", h.config));
    let want = value.saturating_mul(2).max(HAPROXY_MIN_MAXCONN);
    let lift = if fe_binds {
        format!(
            "raise `maxconn` in the frontend(s) {} (or in defaults) to at least {want}, then reload",
            fe_why.join(", ")
        )
    } else if lift {
        format!(
            "raise `maxconn {want}` in the global section and reload: HAProxy raises its own RLIMIT_NOFILE to about 2 × maxconn at start (as root, or within the hard limit), so `ulimit -n` alone does not change this"
        )
    } else {
        format!(
            "set `maxconn {want}` in the global section, or raise the hard RLIMIT_NOFILE HAProxy starts with (LimitNOFILE= to at least {}): with maxconn unset HAProxy sizes it from max(soft, hard) at start, so a restart is needed",
            want.saturating_mul(2).saturating_add(64)
        )
    };
    Ceiling {
        name: HAPROXY_MAXCONN,
        value,
        exact: h.unread.is_none() || h.info.is_some() || h.cmdline_maxconn.is_some(),
        scope: Scope::Process,
        why,
        lift,
        provenance: Ceiling::pending(),
        conditional: None,
    }
}

/// HAProxy's fd bound: 2 fds per proxied connection. A running HAProxy has already set its
/// soft limit to its maxsock, which covers maxconn.
fn haproxy_process_fds(snap: &Snapshot) -> Option<Ceiling> {
    let h = haproxy_of(snap)?;
    let (lim, base, who) = match &h.process {
        Some(p) => (
            resolve(snap, p.nofile.soft),
            p.open_fds.saturating_sub(p.connections),
            format!(
                "the soft RLIMIT_NOFILE of PID {} (HAProxy sets it to its maxsock at start)",
                p.pid
            ),
        ),
        None => {
            let (v, how) = haproxy_fd_base(snap, &h);
            let nbt = h.nbthread.unwrap_or(1);
            (
                v,
                3 + h.listeners + 3 * nbt,
                format!("{how}: HAProxy raises its soft limit at start"),
            )
        }
    };
    Some(Ceiling {
        name: PROCESS_FDS,
        value: lim.saturating_sub(base) / 2,
        exact: h.process.is_some(),
        scope: Scope::Process,
        why: format!("({lim} [{who}] − {base} fds held besides connections) / 2 fds per proxied connection (client + server)"),
        lift: "raise the hard RLIMIT_NOFILE HAProxy starts with (LimitNOFILE=) and `maxconn` with it; HAProxy sets its own soft limit from maxconn".into(),
        provenance: Ceiling::pending(),
        conditional: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::NginxWorker;

    fn snap(n: Nginx) -> Snapshot {
        let mut s = Snapshot::default();
        s.runtime.kind = RuntimeKind::Nginx;
        s.runtime.nginx = Some(n);
        s
    }

    /// A running HAProxy whose configuration could not be read (Debian's default config chroots
    /// the worker, whose -f path then does not exist): maxconn is unknown, from 1 to no limit,
    /// not "computed from the fd limit" as if it were unset.
    #[test]
    fn haproxy_unread_configuration_is_unknown_not_unset() {
        let mut s = Snapshot::default();
        s.runtime.kind = RuntimeKind::Haproxy;
        s.process.nofile.soft = Rlim::Value(4096);
        s.process.nofile.hard = Rlim::Value(4096);
        s.runtime.haproxy = Some(crate::snapshot::Haproxy {
            config: "/etc/haproxy/haproxy.cfg".into(),
            unread: Some("/etc/haproxy/haproxy.cfg: no such file or directory".into()),
            ..Default::default()
        });
        let p = crate::model::predict(&s, &Scenario::default());
        let c = p.get(HAPROXY_MAXCONN).unwrap();
        assert!(!c.exact, "{c:?}");
        assert!(c.why.starts_with("maxconn unknown"), "{}", c.why);
        assert_eq!(c.conditional.as_ref().map(|k| k.low), Some(1), "{c:?}");
        let i = p
            .inputs
            .iter()
            .find(|i| i.key == "runtime.haproxy")
            .unwrap();
        assert_eq!(i.value, "unknown");
        assert!(p.range.is_some(), "the headline has a range down to 1");
        // show info answers: read, exact, no range
        let h = s.runtime.haproxy.as_mut().unwrap();
        h.info = Some(crate::snapshot::HaproxyInfo {
            maxconn: 300,
            ..Default::default()
        });
        let p = crate::model::predict(&s, &Scenario::default());
        let c = p.get(HAPROXY_MAXCONN).unwrap();
        assert_eq!(
            (c.value, c.exact, c.conditional.is_none()),
            (300, true, true)
        );
    }

    /// Redis whose INFO did not answer (requirepass): maxclients is unknown, from 1 to the fd
    /// limit − 32, not "the default" (held-out: 992 predicted, 500 held with `maxclients
    /// 500` in an included file); `--app-limit N:maxclients` states it.
    #[test]
    fn redis_unread_maxclients_is_unknown() {
        let mut s = Snapshot::default();
        s.runtime.kind = RuntimeKind::Redis;
        s.process.nofile.soft = Rlim::Value(1024);
        s.process.nofile.hard = Rlim::Value(1024);
        let p = crate::model::predict(&s, &Scenario::default());
        let c = p.get(REDIS_MAXCLIENTS).unwrap();
        assert_eq!((c.value, c.exact), (992, false));
        assert_eq!(
            c.conditional.as_ref().map(|k| (k.low, k.high)),
            Some((1, Some(992)))
        );
        let i = p
            .inputs
            .iter()
            .find(|i| i.key == "redis.maxclients")
            .unwrap();
        assert_eq!(i.value, "unknown");
        let mut sc = Scenario::default();
        sc.app_limits.push(crate::model::AppLimit {
            value: 500,
            name: "maxclients".into(),
        });
        let p = crate::model::predict(&s, &sc);
        let c = p.get(REDIS_MAXCLIENTS).unwrap();
        assert_eq!(
            (c.value, c.exact, c.conditional.is_none()),
            (500, true, true)
        );
        assert!(p.range.is_none());
    }

    /// `ulimit-n` does not size HAProxy's own maxconn (it sizes from the limits it started
    /// with); below what that maxconn needs, HAProxy does not start, and the why says so.
    #[test]
    fn haproxy_ulimit_n_does_not_size_maxconn() {
        let mut s = Snapshot::default();
        s.runtime.kind = RuntimeKind::Haproxy;
        s.process.nofile.soft = Rlim::Value(1024);
        s.process.nofile.hard = Rlim::Value(20000);
        s.runtime.haproxy = Some(crate::snapshot::Haproxy {
            config: "h.cfg".into(),
            ulimit_n: Some(3000),
            nbthread: Some(4),
            listeners: 2,
            ..Default::default()
        });
        let c = haproxy_maxconn(
            &s,
            &Scenario::default(),
            s.runtime.haproxy.as_ref().unwrap(),
        );
        assert_eq!(c.value, (20000 - 12 - 12) / 2, "{}", c.why);
        assert!(c.why.contains("refuses to start"), "{}", c.why);
        // the fd bound of a HAProxy not running: it runs with ulimit-n
        let f = haproxy_process_fds(&s).unwrap();
        assert_eq!(f.value, (3000 - (3 + 2 + 12)) / 2, "{}", f.why);
    }

    /// MariaDB's extra_port has its own cap: asked about that port (`--port`), the ceiling is
    /// extra_max_connections; otherwise max_connections, with the extra port named.
    #[test]
    fn mysql_extra_port_is_its_own_cap() {
        let src = |v: u64| {
            Some(crate::snapshot::Sourced {
                value: v,
                source: "/etc/mysql/my.cnf:2".into(),
            })
        };
        let mut s = Snapshot::default();
        s.runtime.kind = RuntimeKind::Mysql;
        s.runtime.mysql = Some(crate::snapshot::Mysql {
            max_connections: src(50),
            extra_port: src(3307),
            extra_max_connections: src(5),
            ..Default::default()
        });
        let c = mysql_max_connections(&s, &Scenario::default()).unwrap();
        assert_eq!(c.value, 50);
        assert!(c.why.contains("extra_port 3307"), "{}", c.why);
        let mut sc = Scenario {
            port: Some(3307),
            ..Default::default()
        };
        let c = mysql_max_connections(&s, &sc).unwrap();
        assert_eq!(c.value, 5, "{}", c.why);
        sc.port = Some(3306);
        assert_eq!(mysql_max_connections(&s, &sc).unwrap().value, 50);
    }

    #[test]
    fn python_http_server_is_thread_per_connection() {
        let c = |s: &str| s.split_whitespace().map(str::to_string).collect::<Vec<_>>();
        assert!(python_threading_server(&c("python3 -m http.server 8000")));
        assert!(python_threading_server(&c("python3 -u -mhttp.server")));
        assert!(!python_threading_server(&c(
            "python3 app.py -m http.server"
        )));
        assert!(!python_threading_server(&c("python3 -m asyncio")));
    }

    #[test]
    fn running_workers_are_what_counts() {
        let w = |pid, soft, open, conns| NginxWorker {
            pid,
            nofile_soft: Rlim::Value(soft),
            open_fds: open,
            listeners: 1,
            connections: conns,
        };
        let n = Nginx {
            config: "/etc/nginx/nginx.conf".into(),
            worker_processes: 2,
            worker_connections: 1024,
            listeners: Some(2),
            workers: vec![w(10, 100, 30, 20), w(11, 200, 12, 0)],
            ..Default::default()
        };
        let s = snap(n);
        let sc = Scenario::default();
        // fds: (100 − (30 − 20 connections)) + (200 − 12)
        let f = process_fds(&s, &sc).unwrap();
        assert_eq!(f.value, 90 + 188);
        assert!(
            f.why.contains("summed over 2 workers [90, 188]"),
            "{}",
            f.why
        );
        assert!(f.why.contains("exceed open file resource limit: 100"));
        let c = &caps(&s, &sc)[0];
        assert_eq!(c.value, 2 * (1024 - 2 - 1 - 64));
        assert!(c.lift.contains("worker_connections 2048;"));
        // not nginx: no hook
        assert!(process_fds(&Snapshot::default(), &sc).is_none());
        assert!(
            !sets_own_fd_limit(&s),
            "no worker_rlimit_nofile: the workers keep the master's"
        );
        assert!(caps(&Snapshot::default(), &sc).is_empty());
    }
}
