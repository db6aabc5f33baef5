//! The formulas of the catalog's servers (`snapshot::runtime::catalog`): from the settings as
//! read to a ceiling, with where each number came from. A setting that was read says its file
//! and line; one that is not set takes the server's default; one whose configuration could not
//! be read is an assumption, said in the prediction's assumptions and marked not exact. Pure.

use super::Ceiling;
use super::ctx::{Ctx, above, ceiling};
use super::listeners::{Listener, PLAUSIBLE, ProtoListener, listeners, protocol_on};
use super::names::*;
use super::server_settings::raw;
use super::server_settings::{Found, find, lift_file, number, readable, value};
use crate::snapshot::runtime::catalog::{self, Cap, Entry, Listeners, Role};
use crate::snapshot::{Os, Rlim, RuntimeKind, Snapshot};

fn resolve(snap: &Snapshot, r: Rlim) -> u64 {
    match r {
        Rlim::Value(v) => v,
        Rlim::Unlimited => match snap.platform.os {
            Os::Macos => super::macos::perproc(snap),
            _ => snap.fs.nr_open.unwrap_or(1 << 20),
        },
    }
}

/// Whether check `id` can apply to this snapshot: the check of a server the generic readers
/// read only to that server.
pub fn check_applies(id: CheckId, snap: &Snapshot) -> bool {
    let owner = catalog::ALL.iter().filter(|e| e.generic()).find(|e| {
        e.ceilings
            .iter()
            .any(|c| CeilingName::parse(c).map(|n| n.check_id()) == Some(id))
            && !e.ceilings.iter().all(|c| c.starts_with("erlang_"))
    });
    owner.is_none_or(|e| e.kind == snap.runtime.kind)
}

/// The caps of the catalog server this snapshot is, if any; for application code, the note
/// that its own caps are not visible.
pub(super) fn caps(cx: &mut Ctx) -> Vec<Ceiling> {
    application_code(cx);
    let Some(e) = catalog::entry(cx.snap.runtime.kind) else {
        return Vec::new();
    };
    if let Some(c) = e.cap {
        return match c.per_listener {
            Some(l) => listener_cap(cx, e, &c, &l),
            None => setting_cap(cx, e, &c, ""),
        }
        .into_iter()
        .collect();
    }
    match e.kind {
        RuntimeKind::Lighttpd => lighttpd(cx, e).into_iter().collect(),
        RuntimeKind::Memcached => memcached(cx, e).into_iter().collect(),
        RuntimeKind::Rabbitmq => rabbitmq(cx, e),
        RuntimeKind::Apache => super::apache::caps(cx, e),
        _ => Vec::new(),
    }
}

/// A listening process of a runtime, or of native code that matches no product: application
/// code, whose own caps (a pool size, a maxConnections) no configuration shows. Its ceiling
/// stays the runtime's; said once, with how to state a cap and which products porttune
/// reads. It does not make a gate "cannot tell".
fn application_code(cx: &mut Ctx) {
    let snap = cx.snap;
    let e = catalog::of(snap.runtime.kind);
    if e.role != Role::Runtime
        || snap.process.is_self
        || snap.process.listening_sockets == 0
        || !cx.sc.app_limits.is_empty()
    {
        return;
    }
    let known: Vec<&str> = catalog::ALL
        .iter()
        .filter(|e| e.role == Role::Server)
        .map(|e| e.product)
        .collect();
    cx.assume(format!(
        "application code ({}): no cap in its own code is assumed (a connection pool, a maxConnections setting are not visible from outside), so the ceiling is the runtime's; state one with --app-limit N:NAME. porttune reads the caps of: {}",
        e.product,
        known.join(", ")
    ));
}

/// The formula as data (`Entry::cap`): the setting is the cap (no value: no cap); `of`
/// says whose cap it is when that is not the whole process's ("" when it is).
fn setting_cap(cx: &mut Ctx, e: &Entry, c: &Cap, of: &str) -> Option<Ceiling> {
    let name = CeilingName::parse(c.ceiling)?;
    let (v, why, exact) = value(cx, e, c.key, c.default);
    let v = v?;
    let file = lift_file(cx.snap, c.key);
    let lift = c
        .lift
        .replace("{want}", &above(v).to_string())
        .replace("{file}", &file);
    Some(ceiling(
        name,
        v,
        exact,
        Scope::Process,
        format!("{why}{of}; {}", c.beyond),
        lift,
    ))
}

/// A cap counted per listener (`Cap::per_listener`): the listener's on `--port`; without it,
/// the one listener's, or with several the sum of theirs (none when one of them has no cap):
/// the process holds at most that many, and its fds bound the total too (process_fds).
fn listener_cap(cx: &mut Ctx, e: &Entry, c: &Cap, l: &Listeners) -> Option<Ceiling> {
    let snap = cx.snap;
    let conf = snap.runtime.server.as_ref().filter(|c| c.unread.is_none());
    let all = conf.map_or(Vec::new(), |conf| listeners(conf, l, c.key));
    let tcp: Vec<&Listener> = all.iter().filter(|x| x.port != 0).collect();
    let plausible = conf.is_some_and(|conf| conf.settings.iter().any(|s| s.source == PLAUSIBLE));
    let of = match cx.sc.port {
        Some(p) => tcp.iter().rev().find(|x| x.port == p).map(|x| x.name()),
        None if tcp.len() == 1 => Some(tcp[0].name()),
        None => None,
    };
    if cx.sc.port.is_some() || tcp.len() < 2 || plausible {
        let of = of.map_or(String::new(), |n| format!(", for its {n}"));
        return setting_cap(cx, e, c, &of);
    }
    // several listeners, no port asked: the process's total
    let (mut parts, mut wants) = (Vec::new(), Vec::new());
    let mut sum = Some(0u64);
    for x in &tcp {
        match x.value.map(|s| (number(&s.value), s)) {
            Some((Some(v), s)) => {
                sum = sum.map(|t| t.saturating_add(v));
                parts.push(format!("{} {v} ({}) for its {}", c.key, s.source, x.name()));
                wants.push(format!("{}: {v} → {}", x.port, above(v)));
            }
            Some((None, s)) if !readable(&s.value) => return setting_cap(cx, e, c, ""),
            _ => sum = None,
        }
    }
    let name = CeilingName::parse(c.ceiling)?;
    let total = sum?;
    let ports: Vec<String> = tcp.iter().map(|x| x.port.to_string()).collect();
    Some(ceiling(
        name,
        total,
        true,
        Scope::Process,
        format!(
            "the sum over its {} listeners, each counted on its own: {}; {} (ask about one listener with --port {})",
            tcp.len(),
            parts.join(", "),
            c.beyond,
            ports.join(" or --port ")
        ),
        format!(
            "{} (per listener: {})",
            c.lift.replace("{want}", "N").replace(
                "{file}",
                &format!("{} after each listener's line", lift_file(snap, c.key))
            ),
            wants.join(", ")
        ),
    ))
}

fn lighttpd(cx: &mut Ctx, e: &Entry) -> Option<Ceiling> {
    let snap = cx.snap;
    let running = !snap.process.is_self;
    let (fds, fds_why) = match (running, find(snap, e, "server.max-fds")) {
        (false, Found::Read(s)) if number(&s.value).is_some() => (
            number(&s.value).unwrap_or(0),
            format!("server.max-fds ({})", s.source),
        ),
        _ => (
            resolve(snap, snap.process.nofile.soft),
            if running {
                "its soft RLIMIT_NOFILE (lighttpd sets it from server.max-fds at start)".into()
            } else {
                "the soft RLIMIT_NOFILE it would start with".to_string()
            },
        ),
    };
    let (set, why, exact) = value(cx, e, "server.max-connections", None);
    let (v, formula) = match set {
        Some(n) if n > fds / 2 => (
            fds / 2,
            format!(
                "{why}, above half of its fd limit {fds} [{fds_why}]: lighttpd lowers it to {} (\"can't have more connections than fds/2\")",
                fds / 2
            ),
        ),
        Some(n) => (n, format!("{why} (fd limit {fds} [{fds_why}])")),
        None => (
            fds / 3,
            format!("server.max-connections not set: a third of its fd limit {fds} [{fds_why}]"),
        ),
    };
    let want = above(v);
    Some(ceiling(
        LIGHTTPD_MAX_CONNECTIONS,
        v,
        exact,
        Scope::Process,
        format!(
            "{formula}; at the limit lighttpd stops accepting (\"sockets disabled, connection limit reached\") and new connections wait in the accept queue"
        ),
        format!(
            "set `server.max-connections = {want}` and `server.max-fds = {}` in {} and restart lighttpd (it sets its fd limit from server.max-fds as root; otherwise raise LimitNOFILE= to that)",
            want.saturating_mul(3),
            lift_file(snap, "server.max-connections")
        ),
    ))
}

/// Fds a memcached holds besides connections: 9, and 4 per worker thread (measured on
/// 1.6.18: 25 with the default 4 threads). For a server not running.
pub const MEMCACHED_BASE_FDS: u64 = 9;
pub const MEMCACHED_FDS_PER_THREAD: u64 = 4;

fn memcached(cx: &mut Ctx, e: &Entry) -> Option<Ceiling> {
    let (c, why, exact) = value(cx, e, "maxconns", Some(1024));
    let c = c.unwrap_or(1024);
    let snap = cx.snap;
    let (base, base_why) = if snap.process.is_self || snap.runtime.server.is_none() {
        let (t, _, _) = value(cx, e, "threads", Some(4));
        let t = t.unwrap_or(4);
        let b = MEMCACHED_BASE_FDS + MEMCACHED_FDS_PER_THREAD * t;
        (
            b,
            format!(
                "~{b} fds it holds besides connections with {t} threads (estimated: not running)"
            ),
        )
    } else {
        let conns = snap.usage.process_connections.unwrap_or(0);
        let b = snap.process.open_fds.saturating_sub(conns);
        (b, format!("{b} fds it holds besides connections"))
    };
    let spare = e.accept_spare_fds;
    Some(ceiling(
        MEMCACHED_MAXCONNS,
        c.saturating_sub(base).saturating_sub(spare),
        exact,
        Scope::Process,
        format!(
            "{why} − {base_why} − {spare} {}: memcached sets its own RLIMIT_NOFILE to maxconns at start, and beyond it answers \"ERROR Too many open connections\" and closes",
            e.accept_spare_why
        ),
        format!(
            "raise `-c {}` (in /etc/memcached.conf, or the unit's command line) and restart memcached: it sets its fd limit from -c itself, so LimitNOFILE= alone changes nothing (it needs a hard limit of at least -c, or root)",
            above(c)
        ),
    ))
}

/// Fds a catalog server needs free to accept one more connection, and why (mosquitto: libwrap
/// opens /etc/hosts.allow for each accept, and denies the connection when it cannot).
pub fn accept_spare_fds(snap: &Snapshot) -> (u64, &'static str) {
    catalog::entry(snap.runtime.kind)
        .filter(|e| e.accept_spare_fds > 0)
        .map_or((0, ""), |e| (e.accept_spare_fds, e.accept_spare_why))
}

/// The fd bound of a catalog server whose connections are held by other processes than the
/// one read (Apache's children), replacing the generic one.
pub(super) fn process_fds(cx: &mut Ctx) -> Option<Ceiling> {
    let e = catalog::entry(cx.snap.runtime.kind)?;
    match e.kind {
        RuntimeKind::Apache => super::apache::process_fds(cx, e),
        _ => None,
    }
}

/// Why process_fds does not apply to a catalog server (it sets its own fd limit from a
/// setting the catalog ceiling already counts).
pub fn process_fds_not_applicable(snap: &Snapshot) -> Option<String> {
    match snap.runtime.kind {
        RuntimeKind::Memcached => Some("memcached sets its own RLIMIT_NOFILE (soft and hard) to -c (maxconns) at start: memcached_maxconns is its fd bound".into()),
        RuntimeKind::Apache if raw(snap, "mpm").is_some_and(|m| m.value == "prefork") => Some("Apache's prefork MPM holds each connection in a child process of its own, with its own fd table".into()),
        _ => None,
    }
}

/// RabbitMQ's file-handle cache: max(2, max_fds − reserve) handles, trunc(0.9 × that − 2)
/// sockets. The reserve is 97 from 3.8 to 3.13 (`100 + 3` unparenthesised), 100 before.
fn rabbitmq_socket_limit(max_fds: u64, version: Option<&str>) -> (Option<u64>, u64, String) {
    let ver: Vec<u64> = version
        .unwrap_or("")
        .split('.')
        .filter_map(|p| p.parse().ok())
        .collect();
    let (reserve, note) = match ver.as_slice() {
        [3, minor, ..] if *minor >= 8 => (97, format!("RabbitMQ {}", version.unwrap_or(""))),
        [major, ..] if *major >= 4 => {
            return (
                None,
                0,
                format!(
                    "RabbitMQ {} has no file-handle cache socket limit",
                    version.unwrap_or("")
                ),
            );
        }
        [_, ..] => (100, format!("RabbitMQ {}", version.unwrap_or(""))),
        [] => (97, "version unknown: 3.8–3.13 assumed".into()),
    };
    let limit = max_fds.saturating_sub(reserve).max(2);
    let sockets = limit.saturating_mul(9).saturating_sub(20) / 10;
    (Some(sockets), limit, format!("{note}: reserve {reserve}"))
}

fn rabbitmq(cx: &mut Ctx, e: &Entry) -> Vec<Ceiling> {
    let mut out = Vec::new();
    let snap = cx.snap;
    let version = snap.runtime.server.as_ref().and_then(|s| s.version.clone());
    // the listener on --port, when it can be told (else the caps stay as for AMQP, and
    // connection_max is unknown: `server_settings`)
    let on = match (snap.runtime.server.as_ref(), cx.sc.port) {
        (Some(conf), Some(p)) if conf.unread.is_none() => protocol_on(conf, e, p).ok(),
        _ => None,
    };
    if let Some(l) = on.as_ref().filter(|l| !l.proto.fhc) {
        cx.na(
            RABBITMQ_SOCKET_LIMIT,
            format!(
                "port {} is {}: its connections take no socket of the file-handle cache",
                l.port,
                l.name()
            ),
        );
    }
    let fhc = on.as_ref().is_none_or(|l| l.proto.fhc);
    if let Some(caps) = super::erlang::caps(snap).filter(|_| fhc) {
        let max_fds = caps.max_fds.value;
        let (sockets, limit, note) = rabbitmq_socket_limit(max_fds, version.as_deref());
        if version.is_none() {
            cx.assume(format!("RabbitMQ's version is unknown: its file-handle cache is taken as 3.8–3.13's ({note})"));
        }
        if let Some(s) = sockets {
            out.push(ceiling(
                RABBITMQ_SOCKET_LIMIT,
                s,
                caps.max_fds_read,
                Scope::Process,
                format!(
                    "trunc(0.9 × {limit} file handles − 2), the handles being max(2, erts max_fds {max_fds} [{}] − 97) ({note}); logged at boot as \"Limiting to approx {limit} file handles ({s} sockets)\"; past it a connection waits for a handle before the AMQP handshake and the node raises the \"file descriptor limit alarm\" (\"New connections will not be accepted until this alarm clears\")",
                    caps.max_fds.source
                ),
                format!(
                    "raise the node's soft RLIMIT_NOFILE before it starts (LimitNOFILE={} in rabbitmq-server.service, or `ulimit -n` in rabbitmq-env.conf's caller) and restart: the file-handle cache sizes itself from the fd table at boot",
                    above(max_fds)
                ),
            ));
        }
    }
    out.extend(rabbitmq_connection_max(cx, e, on.as_ref()));
    out
}

/// What caps each listener of a protocol: its cap setting and acceptors, as (value — None:
/// no limit —, how, read).
fn protocol_cap(cx: &mut Ctx, e: &Entry, l: &ProtoListener) -> Option<(u64, String, bool)> {
    let key = l.proto.cap?;
    let (max, max_why, read) = value(cx, e, key, None);
    let max = max?;
    let (akey, adefault) = l.proto.acceptors;
    let (acc, acc_why, acc_read) = match raw(cx.snap, akey) {
        Some(s) => match number(&s.value) {
            Some(v) => (v, format!("{akey} {v} ({})", s.source), true),
            None => (
                adefault,
                format!("{akey} unread at {}, {adefault} shown", s.source),
                false,
            ),
        },
        None => (
            adefault,
            format!("{akey} not set: the default {adefault}"),
            true,
        ),
    };
    let acc = acc.max(1);
    Some((
        max.saturating_add(acc - 1),
        format!("{max_why} + {acc_why} − 1"),
        read && acc_read,
    ))
}

/// `connection_max` per listener (ranch max_connections, one connection supervisor): a soft
/// limit, since each of the listener's other acceptors starts the connection it has accepted
/// before it waits. On `--port`'s listener (MQTT, STOMP and stream listeners have it too, with
/// their own acceptors; Web MQTT/STOMP their own `max_connections`; the HTTP API none);
/// without `--port`, per AMQP listener, the clients spread over `--listen-ports` of them.
fn rabbitmq_connection_max(cx: &mut Ctx, e: &Entry, on: Option<&ProtoListener>) -> Option<Ceiling> {
    if let Some(l) = on {
        let Some((per, why, exact)) = protocol_cap(cx, e, l) else {
            if l.proto.cap.is_none() {
                cx.na(
                    RABBITMQ_CONNECTION_MAX,
                    format!(
                        "port {} is {}: RabbitMQ caps its connections with no setting",
                        l.port,
                        l.name()
                    ),
                );
            }
            return None;
        };
        let key = l.proto.cap.unwrap_or("connection_max");
        return Some(ceiling(
            RABBITMQ_CONNECTION_MAX,
            per,
            exact,
            Scope::Process,
            format!(
                "({why}) for {}: ranch stops accepting on it at {key}, but each of its other acceptors first starts the connection it has accepted (a soft limit); the rest wait in the accept queue",
                l.name()
            ),
            format!(
                "raise `{key} = {}` in {} (or `infinity`) and restart RabbitMQ",
                above(per),
                lift_file(cx.snap, key)
            ),
        ));
    }
    let (max, max_why, read) = value(cx, e, "connection_max", None);
    let max = max?;
    let (acc, acc_why, acc_read) = value(cx, e, "num_acceptors.tcp", Some(10));
    let acc = acc.unwrap_or(10).max(1);
    let ports = cx.sc.listen_ports.max(1);
    let per = max.saturating_add(acc - 1);
    let times = if ports > 1 {
        format!(" × {ports} listen ports")
    } else {
        String::new()
    };
    Some(ceiling(
        RABBITMQ_CONNECTION_MAX,
        per.saturating_mul(ports),
        read && acc_read,
        Scope::Process,
        format!(
            "({max_why} + {acc_why} − 1){times}: per AMQP listener ranch stops accepting at connection_max, but each of its other acceptors first starts the connection it has accepted (a soft limit); the rest wait in the accept queue{}",
            other_listeners(cx.snap, e)
        ),
        format!(
            "raise `connection_max = {}` in {} (or `infinity`) and restart RabbitMQ",
            above(max),
            lift_file(cx.snap, "connection_max")
        ),
    ))
}

/// The listeners of other protocols, named for the AMQP ceiling (they have their own caps:
/// `--port`).
fn other_listeners(snap: &Snapshot, e: &Entry) -> String {
    let Some(Ok((all, _))) = snap
        .runtime
        .server
        .as_ref()
        .map(|c| super::listeners::protocol_listeners(c, e))
    else {
        return String::new();
    };
    let others: Vec<String> = all
        .iter()
        .filter(|l| l.proto.name != "AMQP")
        .map(|l| format!("{} {}", l.proto.name, l.port))
        .collect();
    if others.is_empty() {
        return String::new();
    }
    format!(
        ". Its other listeners ({}) count on their own: ask with --port",
        others.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rabbitmq_file_handle_cache() {
        // measured on 3.10.8 at 1024 fds: "Limiting to approx 927 file handles (832 sockets)"
        assert_eq!(rabbitmq_socket_limit(1024, Some("3.10.8")).0, Some(832));
        assert_eq!(rabbitmq_socket_limit(1024, Some("3.10.8")).1, 927);
        assert_eq!(rabbitmq_socket_limit(1024, Some("3.7.0")).0, Some(829));
        assert_eq!(rabbitmq_socket_limit(1024, Some("4.0.1")).0, None);
        assert_eq!(rabbitmq_socket_limit(50, None).0, Some(0));
        assert_eq!(number("-1"), None);
        assert_eq!(number("infinity"), None);
        assert_eq!(number("50"), Some(50));
    }

    #[test]
    fn every_cap_is_a_ceiling_of_its_entry() {
        for e in catalog::ALL {
            if let Some(c) = e.cap {
                assert!(CeilingName::parse(c.ceiling).is_some(), "{}", e.product);
                assert!(e.ceilings.contains(&c.ceiling), "{}", e.product);
                assert!(e.settings.iter().any(|s| s.key == c.key), "{}", e.product);
                assert!(c.lift.contains("{want}"), "{}", e.product);
            }
        }
    }
}
