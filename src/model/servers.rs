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
            _ => snap.fs.maxfilesperproc.unwrap_or(u64::MAX),
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
            let (v, how) = super::ceilings::effective_nofile(snap);
            (
                v,
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

/// nginx's fd bound: each worker's own limit minus what it holds besides connections.
/// Replaces the generic process_fds for nginx (the master's limit is not the workers').
pub fn process_fds(snap: &Snapshot, _sc: &Scenario) -> Option<Ceiling> {
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
        name: PROCESS_FDS.into(),
        value: per.iter().sum(),
        exact: !n.workers.is_empty(),
        scope: "process".into(),
        why,
        lift,
    })
}

/// nginx's connection-table bound.
fn nginx_worker_connections(snap: &Snapshot, n: &Nginx) -> Ceiling {
    let (ws, _) = workers(snap, n);
    let wc = n.worker_connections;
    let l = listeners(n);
    let slots = wc.saturating_sub(l + 1);
    let per = if n.proxies {
        slots / 2
    } else {
        slots.saturating_sub(wc / 16)
    };
    let values: Vec<u64> = ws.iter().map(|_| per).collect();
    let src = match &n.config_source {
        Some(s) => format!("{}, from {s}", n.config),
        None => n.config.clone(),
    };
    let why = if n.proxies {
        format!(
            "(worker_connections {wc} − {l} listening socket{} − 1 channel to the master) / 2 slots per proxied connection (client + upstream){} [config {src}]; at the limit nginx logs \"{wc} worker_connections are not enough\"",
            if l == 1 { "" } else { "s" },
            times(&values)
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
        name: NGINX_WORKER_CONNECTIONS.into(),
        value: values.iter().sum(),
        exact: true,
        scope: "process".into(),
        why,
        lift: format!(
            "raise `worker_connections {want};` in events {{}} and `worker_rlimit_nofile` to at least {} (main context) together, then reload (`nginx -s reload`)",
            want.saturating_add(base)
        ),
    }
}

/// The caps of servers porttune knows (nginx; more follow).
pub fn caps(snap: &Snapshot, _sc: &Scenario) -> Vec<Ceiling> {
    let mut out = Vec::new();
    if let Some(n) = nginx_of(snap) {
        out.push(nginx_worker_connections(snap, &n));
    }
    out
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
        assert!(caps(&Snapshot::default(), &sc).is_empty());
    }
}
