//! The ceilings (limits-facts.md §12.2) and how they combine (§12.3).
//!
//! Each ceiling is a small function of the snapshot and scenario that returns the number of
//! connections it allows, whether that number is exact, the formula with the numbers put in,
//! and how to lift it. Pure: no I/O.

use super::ctx::Ctx;
use super::ctx::ceiling;
pub use super::ctx::{above, suggested_nofile};
use super::names::*;
pub use super::nofile::{effective_nofile, fds_needed, nofile_lift};
use super::*;
use crate::snapshot::runtime::erlang;
use crate::snapshot::{Os, Rlim};

/// Kernel memory per idle TCP socket (tcp_sock 2368 + sock_inode_cache 832 + filp 192 +
/// dentry 192 + eventpoll_epi 128 bytes; limits-facts.md 5.1). An estimate.
pub const SOCKET_BYTES: u64 = 3712;
pub use super::erlang::{ERLANG_BASELINE_FDS, base_fds};

/// TIME_WAIT length on Linux (TCP_TIMEWAIT_LEN, fixed).
pub const LINUX_TIME_WAIT_S: f64 = 60.0;

/// How expensive a ceiling is to lift: ties go to the cheaper one (§12.3).
fn lift_rank(name: CeilingName) -> u32 {
    match name {
        EPHEMERAL_PORTS => 0,
        ACCEPT_QUEUE => 1,
        PROCESS_FDS => 2,
        MAX_FILES_PER_PROC => 4,
        ERLANG_PORT_LIMIT
        | ERLANG_PROCESS_LIMIT
        | ERLANG_MAX_FDS
        | NGINX_WORKER_CONNECTIONS
        | HAPROXY_MAXCONN
        | POSTGRES_MAX_CONNECTIONS
        | MYSQL_MAX_CONNECTIONS => 3,
        CONNTRACK => 4,
        SYSTEM_FILES => 5,
        TASKS => 6,
        MEMORY => 9,
        _ => 7,
    }
}

pub fn predict(snap: &Snapshot, sc: &Scenario) -> Prediction {
    let mut cx = Ctx {
        snap,
        sc,
        assumptions: Vec::new(),
        not_applicable: Vec::new(),
    };
    let mut cs: Vec<Ceiling> = Vec::new();
    cs.extend(process_fds(&mut cx));
    cs.extend(system_files(&mut cx));
    cs.extend(ephemeral_ports(&mut cx));
    cs.extend(accept_queue(&mut cx));
    cs.extend(conntrack(&mut cx));
    cs.extend(memory(&mut cx));
    cs.extend(tasks(&mut cx));
    cs.extend(runtime_caps(&mut cx));
    cs.sort_by_key(|c| (c.value, lift_rank(c.name)));
    erlang_max_fds_lift(snap, sc, &mut cs);
    let rates = if sc.churn {
        let ports = cs
            .iter()
            .find(|c| c.name == EPHEMERAL_PORTS)
            .map(|c| c.value);
        churn_rates(&mut cx, ports)
    } else {
        Vec::new()
    };
    let (ceiling, bottleneck) = cs
        .first()
        .map(|c| (c.value, Some(c.name)))
        .unwrap_or((0, None));
    let tied = cs
        .iter()
        .skip(1)
        .filter(|c| c.value == ceiling)
        .map(|c| c.name)
        .collect();
    Prediction {
        scenario: sc.clone(),
        ceiling,
        bottleneck,
        tied,
        ceilings: cs,
        not_applicable: cx.not_applicable,
        rates,
        assumptions: cx.assumptions,
        inputs: Vec::new(),
        range: None,
        next: None,
        at_limit: None,
    }
}

fn process_fds(cx: &mut Ctx) -> Vec<Ceiling> {
    if let Some(c) = super::servers::process_fds(cx.snap, cx.sc) {
        return vec![c];
    }
    if let Some(c) = super::catalog::process_fds(cx) {
        return vec![c];
    }
    if let Some(why) = super::servers::process_fds_not_applicable(cx.snap) {
        cx.na(PROCESS_FDS, why);
        return Vec::new();
    }
    let snap = cx.snap;
    let sc = cx.sc;
    let (eff, how) = effective_nofile(snap);
    macos::assume_jdk(cx);
    let eff = eff.value();
    let procs = cx.procs();
    let fpc = sc.fds_per_conn();
    let open = base_fds(snap);
    let extra = cx.sc.setup_fds();
    let mut out = Vec::new();
    if snap.platform.os == Os::Macos {
        out.push(macos::max_files_per_proc(cx, open, extra, fpc, procs));
    }
    let Some(eff) = eff else {
        cx.na(
            PROCESS_FDS,
            "RLIMIT_NOFILE is unlimited: kern.maxfilesperproc is the per-process cap (max_files_per_proc)",
        );
        return out;
    };
    let (spare, spare_why) = super::catalog::accept_spare_fds(snap);
    let avail = eff.saturating_sub(open.saturating_add(extra).saturating_add(spare));
    let per = avail / fpc;
    let mut why = format!("({how} − {open} fds open");
    if extra > 0 {
        why.push_str(&format!(" − {extra} set-up fds (listeners)"));
    }
    if spare > 0 {
        why.push_str(&format!(" − {spare} {spare_why}"));
    }
    why.push_str(&format!(
        ") / {fpc} fd{} per connection",
        if fpc > 1 { "s" } else { "" }
    ));
    if procs > 1 {
        why.push_str(&format!(" × {procs} processes"));
    }
    let lift = if snap.platform.os == Os::Macos {
        macos::process_fds_lift(snap, eff)
    } else {
        nofile_lift(snap, suggested_nofile(eff))
    };
    out.push(ceiling(
        PROCESS_FDS,
        per.saturating_mul(procs),
        true,
        Scope::Process,
        why,
        lift,
    ));
    out
}

fn system_files(cx: &mut Ctx) -> Option<Ceiling> {
    let snap = cx.snap;
    if snap.platform.os == Os::Macos {
        let spc = cx.sc.sockets_per_conn();
        return Some(macos::system_files(cx, spc));
    }
    if snap.process.caps.sys_admin {
        cx.na(
            SYSTEM_FILES,
            "the process has CAP_SYS_ADMIN, which is exempt from fs.file-max",
        );
        return None;
    }
    let (max, assumed) = match snap.fs.file_max {
        Some(m) => (m, ""),
        None => (super::inputs::linux_file_max_default(snap), " (assumed)"),
    };
    let used = snap.fs.file_nr_allocated.unwrap_or(0);
    let spc = cx.sc.sockets_per_conn();
    let v = max.saturating_sub(used) / spc;
    let key = if snap.platform.os == Os::Linux {
        "fs.file-max"
    } else {
        "kern.maxfiles"
    };
    Some(ceiling(
        SYSTEM_FILES,
        v,
        true,
        Scope::Host,
        format!(
            "({key} {max}{assumed} − {used} allocated) / {spc} socket{} per connection",
            if spc > 1 { "s" } else { "" }
        ),
        format!("`sysctl -w {key}={}` (host-wide)", above(max)),
    ))
}

/// Default ephemeral range per platform when the snapshot does not have it.
fn default_range(os: Os) -> crate::snapshot::PortRange {
    use crate::snapshot::PortRange;
    match os {
        Os::Linux | Os::Other => PortRange {
            lo: 32768,
            hi: 60999,
        },
        Os::Macos => PortRange {
            lo: 49152,
            hi: 65535,
        },
        Os::Freebsd => PortRange {
            lo: 10000,
            hi: 65535,
        },
    }
}

/// Ports connect() can choose from for one (src ip, dst ip, dst port) tuple:
/// the range minus reserved ports minus ports bound inside the range.
pub fn usable_ports(
    cx_snap: &Snapshot,
    extra_bound_in_range: u64,
) -> (u64, String, crate::snapshot::PortRange) {
    let net = &cx_snap.net;
    let r = net
        .ip_local_port_range
        .unwrap_or_else(|| default_range(cx_snap.platform.os));
    let mut excluded = std::collections::BTreeSet::new();
    for span in &net.ip_local_reserved_ports {
        let (lo, hi) = (span.lo.max(r.lo), span.hi.min(r.hi));
        if lo <= hi {
            excluded.extend(lo..=hi);
        }
    }
    let reserved = excluded.len() as u64;
    for p in &net.bound_ports_in_range {
        if r.contains(*p) {
            excluded.insert(*p);
        }
    }
    let bound = (excluded.len() as u64).saturating_sub(reserved);
    let p = r
        .len()
        .saturating_sub((excluded.len() as u64).saturating_add(extra_bound_in_range));
    let mut why = format!("range {}–{} ({} ports)", r.lo, r.hi, r.len());
    if reserved > 0 {
        why.push_str(&format!(" − {reserved} reserved"));
    }
    if bound > 0 {
        // A Mac's connect() skips every port a TCP socket holds, connected ones included.
        let by = match cx_snap.platform.os {
            Os::Macos => "held by the host's TCP sockets",
            _ => "bound by listeners",
        };
        why.push_str(&format!(" − {bound} {by}"));
    }
    if extra_bound_in_range > 0 {
        why.push_str(&format!(" − {extra_bound_in_range} test listeners"));
    }
    (p, why, r)
}

fn ephemeral_ports(cx: &mut Ctx) -> Option<Ceiling> {
    let snap = cx.snap;
    let sc = cx.sc;
    if sc.kind == ScenarioKind::Inbound {
        cx.na(
            EPHEMERAL_PORTS,
            "accepted connections share the listening port; ephemeral ports are the clients' concern",
        );
        return None;
    }
    let in_range = if sc.kind == ScenarioKind::Loopback {
        sc.listen_ports_in_range
    } else {
        0
    };
    let (p, mut why, r) = usable_ports(snap, in_range);
    if r.len() % 2 == 1 && r.len() > 1 && r.len() < 64 {
        cx.assume(format!(
            "the port range has an odd size ({}): the kernel's parity scan may leave one port unused",
            r.len()
        ));
    }
    let src = sc.source_ips.max(1);
    let mac = snap.platform.os == Os::Macos;
    let (tuples, tuple_why) = match sc.kind {
        _ if mac => macos::port_tuples(sc),
        // An Erlang (or any) client that binds port 0 before connect() without
        // IP_BIND_ADDRESS_NO_PORT: one pool per source IP, on loopback too (no per-listener
        // doubling).
        _ if sc.bind_before_connect => (
            src,
            format!(
                "{src} source IP{} (bind before connect: one pool per source IP)",
                if src > 1 { "s" } else { "" }
            ),
        ),
        ScenarioKind::Outbound => {
            let d = sc.destinations.max(1);
            (
                src.saturating_mul(d),
                format!(
                    "{src} source IP × {d} destination{}",
                    if d > 1 { "s" } else { "" }
                ),
            )
        }
        _ => {
            let l = sc.listen_ports.max(1);
            (
                src.saturating_mul(l),
                format!(
                    "{src} source IP × {l} listen port{}",
                    if l > 1 { "s" } else { "" }
                ),
            )
        }
    };
    why = if mac {
        format!("{p} usable ports [{why}] × {tuple_why}")
    } else {
        format!(
            "{p} usable ports per (source ip, destination ip, destination port) [{why}] × {tuples} tuples ({tuple_why})"
        )
    };
    if mac && src > 1 {
        cx.assume(
            "macOS has only 127.0.0.1 on lo0 unless aliases are added (`sudo ifconfig lo0 alias 127.0.0.2 up`)",
        );
    }
    if mac {
        return Some(ceiling(
            EPHEMERAL_PORTS,
            p.saturating_mul(tuples),
            true,
            Scope::Host,
            why,
            {
                let r = snap.net.ip_local_port_range;
                macos::ports_lift(r.map_or(49152, |r| r.lo), r.map_or(65535, |r| r.hi))
            },
        ));
    }
    let key = match snap.platform.os {
        Os::Linux | Os::Other => {
            "`sysctl -w net.ipv4.ip_local_port_range=\"1024 65535\"` (per network namespace)"
                .to_string()
        }
        _ => "`sysctl -w net.inet.ip.portrange.first=1024` (host-wide)".to_string(),
    };
    let mut lift = format!(
        "widen the range: {key}; or add tuples: more destination ports or source IPs (127.0.0.2… on loopback) with IP_BIND_ADDRESS_NO_PORT"
    );
    if sc.bind_before_connect {
        lift = format!(
            "set IP_BIND_ADDRESS_NO_PORT before bind() so ports are shared per 4-tuple instead of per source IP; or {lift}"
        );
    }
    if !snap.net.ip_local_reserved_ports.is_empty() || !snap.net.bound_ports_in_range.is_empty() {
        lift.push_str("; move listeners and reserved ports out of the range");
    }
    Some(ceiling(
        EPHEMERAL_PORTS,
        p.saturating_mul(tuples),
        true,
        Scope::Netns,
        why,
        lift,
    ))
}

fn accept_queue(cx: &mut Ctx) -> Option<Ceiling> {
    let sc = cx.sc;
    let snap = cx.snap;
    if !(sc.kind == ScenarioKind::Inbound && sc.acceptor_paused) {
        cx.na(
            ACCEPT_QUEUE,
            "the application keeps accepting: the accept queue bounds bursts (SYN drops and retries), not concurrent connections",
        );
        return None;
    }
    if snap.platform.os == Os::Macos {
        return Some(macos::accept_queue(cx));
    }
    let somax = snap.net.somaxconn.unwrap_or(4096);
    let backlog = sc.backlog.unwrap_or(somax);
    let q = backlog.min(somax);
    Some(ceiling(
        ACCEPT_QUEUE,
        q.saturating_add(1),
        true,
        Scope::Netns,
        format!("min(listen backlog {backlog}, net.core.somaxconn {somax}) + 1 while the application does not accept"),
        "accept faster (the application stopped calling accept()); raise net.core.somaxconn and the application's listen() backlog".into(),
    ))
}

fn conntrack(cx: &mut Ctx) -> Option<Ceiling> {
    if cx.snap.platform.os == Os::Macos {
        // No connection tracking table on macOS (pf keeps state only for its rules).
        return None;
    }
    let Some(ct) = cx.snap.net.conntrack.clone() else {
        cx.na(CONNTRACK, "the conntrack module is not loaded");
        return None;
    };
    if !ct.active {
        cx.na(
            CONNTRACK,
            "no connections are tracked in this network namespace",
        );
        return None;
    }
    let (Some(max), count) = (ct.max, ct.count.unwrap_or(0)) else {
        cx.na(CONNTRACK, "nf_conntrack_max unknown");
        return None;
    };
    Some(ceiling(
        CONNTRACK,
        max.saturating_sub(count),
        true,
        Scope::Host,
        format!("net.netfilter.nf_conntrack_max {max} − {count} entries (one per connection)"),
        format!(
            "`sysctl -w net.netfilter.nf_conntrack_max={}` (global), or a raw-table notrack rule for loopback",
            above(max)
        ),
    ))
}

fn memory(cx: &mut Ctx) -> Option<Ceiling> {
    let snap = cx.snap;
    // On a Mac, from the page counts when the snapshot has them (docs/model.md, "macOS").
    let mac_pages = snap
        .memory
        .macos_pages
        .as_ref()
        .and_then(|p| crate::snapshot::macos_parse::available_kb(p, snap.memory.mem_total_kb));
    let avail_kb = mac_pages
        .as_ref()
        .map(|(kb, _)| *kb)
        .or(snap.memory.mem_available_kb);
    let cg = &snap.process.cgroup;
    let cg_room = cg
        .memory_max
        .map(|m| m.saturating_sub(cg.memory_current.unwrap_or(0)));
    let avail_name = match (mac_pages, snap.platform.os) {
        (Some((_, how)), _) => format!("available memory ({how})"),
        (None, Os::Macos) => "available memory".to_string(),
        (None, _) => "MemAvailable".to_string(),
    };
    let (bytes, src) = match (avail_kb, cg_room) {
        (Some(a), Some(c)) if c < a.saturating_mul(1024) => {
            (c, "cgroup memory.max − memory.current".to_string())
        }
        (Some(a), _) => (a.saturating_mul(1024), avail_name),
        (None, Some(c)) => (c, "cgroup memory.max − memory.current".to_string()),
        (None, None) => {
            cx.na(MEMORY, "available memory unknown");
            return None;
        }
    };
    let spc = cx.sc.sockets_per_conn();
    let mut per = SOCKET_BYTES * spc;
    let mut why = format!(
        "{src} {} MiB / ({spc} × ~3.6 KB of kernel memory per idle socket): an estimate, without application memory or data in flight",
        bytes >> 20
    );
    if let Some((b, what)) = super::servers::conn_bytes(snap) {
        per = per.saturating_add(b);
        why = format!(
            "{src} {} MiB / ({spc} × ~3.6 KB of kernel memory per idle socket + {what}): an estimate, without data in flight",
            bytes >> 20
        );
    }
    Some(ceiling(
        MEMORY,
        bytes / per,
        false,
        Scope::Host,
        why,
        if snap.platform.os == Os::Macos {
            "more RAM, or fewer other programs; idle connections hold little buffer memory".into()
        } else {
            "more RAM or a higher cgroup memory.max; idle connections need no tcp_mem".into()
        },
    ))
}

fn tasks(cx: &mut Ctx) -> Option<Ceiling> {
    if let Some(c) = super::servers::tasks(cx.snap, cx.sc) {
        return Some(c);
    }
    let tpc = cx.sc.threads_per_conn;
    if tpc == 0 {
        cx.na(TASKS, "event-driven (no thread per connection); use --threads-per-conn for thread-per-connection servers");
        return None;
    }
    let snap = cx.snap;
    let p = &snap.process;
    let threads = p.threads.unwrap_or(1);
    let mut limits: Vec<(u64, String)> = Vec::new();
    if let Some(n) = p.nproc {
        if !(p.caps.sys_resource || p.caps.sys_admin) {
            if let Rlim::Value(v) = n.soft {
                // RLIMIT_NPROC counts every task of the process's real user, when read
                let (used, what) = match &snap.runtime.user_tasks {
                    Some(u) => {
                        let conns = snap.usage.process_connections.unwrap_or(0);
                        let base = u.value.saturating_sub(conns.saturating_mul(tpc));
                        (
                            base,
                            format!(
                                "{base} tasks of its user besides connections ({} {})",
                                u.value, u.source
                            ),
                        )
                    }
                    None => (threads, format!("{threads} threads")),
                };
                limits.push((v.saturating_sub(used), format!("RLIMIT_NPROC {v} − {what}")));
            }
        }
    }
    if let Some(m) = p.cgroup.pids_max {
        let cur = p.cgroup.pids_current.unwrap_or(threads);
        limits.push((
            m.saturating_sub(cur),
            format!("cgroup pids.max {m} − {cur}"),
        ));
    }
    if let Some(t) = snap.memory.threads_max {
        limits.push((t.saturating_sub(threads), format!("kernel.threads-max {t}")));
    }
    if let Some(t) = snap.memory.pid_max {
        limits.push((t.saturating_sub(threads), format!("kernel.pid_max {t}")));
    }
    let (room, why) = limits.into_iter().min_by_key(|l| l.0)?;
    Some(ceiling(
        TASKS,
        (room / tpc).saturating_mul(cx.procs()),
        true,
        Scope::Process,
        format!(
            "{why}, / {tpc} thread{} per connection",
            if tpc > 1 { "s" } else { "" }
        ),
        if snap.platform.os == Os::Macos {
            "`ulimit -u` / `sudo launchctl limit maxproc N M`, kern.maxproc and kern.maxprocperuid; or an event-driven server".into()
        } else {
            "LimitNPROC= and TasksMax= in the unit, kernel.pid_max / kernel.threads-max; or an event-driven server".into()
        },
    ))
}

fn runtime_caps(cx: &mut Ctx) -> Vec<Ceiling> {
    let snap = cx.snap;
    let sc = cx.sc;
    let mut out = Vec::new();
    let fpc = sc.fds_per_conn();
    let extra = cx.sc.setup_fds();
    if let Some(e) = super::erlang::caps(snap) {
        out.extend(erlang_ceilings(cx, &e, fpc, extra));
    }
    out.extend(super::servers::caps(snap, sc));
    out.extend(super::catalog::caps(cx));
    out
}

/// `+Q`/`+P` lift text: the next table size, or that the table is at erts' maximum.
fn table_lift(flag: &str, now: u64, want: u64, note: &str) -> String {
    if want > now {
        format!("start the node with `{flag} {want}` {note}")
            .trim_end()
            .to_string()
    } else {
        format!(
            "the table is at erts' maximum ({}): spread the connections over more nodes",
            erlang::MAX_TABLE
        )
    }
}

fn listeners_phrase(extra: u64) -> String {
    if extra > 0 {
        format!(" − {extra} listeners")
    } else {
        String::new()
    }
}

/// erlang_max_fds, erlang_port_limit and erlang_process_limit for a node's derived caps.
fn erlang_ceilings(cx: &mut Ctx, e: &super::erlang::Caps, fpc: u64, extra: u64) -> Vec<Ceiling> {
    let snap = cx.snap;
    let sc = cx.sc;
    let mut out = Vec::new();
    let base_fds = base_fds(snap);
    let m = &e.max_fds;
    out.push(ceiling(
        ERLANG_MAX_FDS,
        m.value.saturating_sub(base_fds.saturating_add(extra)) / fpc,
        true,
        Scope::Process,
        format!(
            "(erts max_fds {} [{}] − {base_fds} fds open{}) / {fpc}",
            m.value,
            m.source,
            listeners_phrase(extra)
        ),
        // Completed in erlang_max_fds_lift once the ladder is known.
        String::new(),
    ));
    let ports_used = e.ports_in_use.value;
    let want_q = e.port_limit.value.saturating_mul(2).min(erlang::MAX_TABLE);
    if e.socket_backend {
        cx.na(
            ERLANG_PORT_LIMIT,
            "-kernel inet_backend socket: gen_tcp sockets are not ports, so +Q does not bound them (the fd table does)",
        );
    } else {
        out.push(ceiling(
            ERLANG_PORT_LIMIT,
            e.port_limit
                .value
                .saturating_sub(ports_used.saturating_add(extra))
                / fpc,
            true,
            Scope::Process,
            format!(
                "(port limit {} [{}] − {ports_used} ports in use{}) / {fpc} port{} per connection",
                e.port_limit.value,
                e.port_limit.source,
                listeners_phrase(extra),
                if fpc > 1 { "s" } else { "" }
            ),
            table_lift(
                "+Q",
                e.port_limit.value,
                want_q,
                "(vm.args or ERL_FLAGS; ERL_MAX_PORTS is deprecated)",
            ),
        ));
    }
    let procs_used = e.processes_in_use.value;
    let ppc = sc.procs_per_conn.max(1);
    if sc.procs_per_conn > 0 {
        let want_p = e
            .process_limit
            .value
            .saturating_mul(2)
            .min(erlang::MAX_TABLE);
        out.push(ceiling(
            ERLANG_PROCESS_LIMIT,
            e.process_limit.value.saturating_sub(procs_used) / ppc,
            false,
            Scope::Process,
            format!(
                "(process limit {} [{}] − ~{procs_used} processes running) / {ppc} process{} per connection (assumed; --procs-per-conn)",
                e.process_limit.value,
                e.process_limit.source,
                if ppc > 1 { "es" } else { "" }
            ),
            table_lift("+P", e.process_limit.value, want_p, ""),
        ));
    }
    out
}

/// The finite soft limit to start a node with so that the rung above `erlang_max_fds` (in the
/// sorted ladder `cs`) becomes the limit: its fds, rounded up to a whole 1024, never at or
/// below the table erts has now.
pub(super) fn erlang_fd_target(snap: &Snapshot, sc: &Scenario, cs: &[Ceiling]) -> Option<u64> {
    let e = super::erlang::caps(snap)?;
    let i = cs.iter().position(|c| c.name == ERLANG_MAX_FDS)?;
    let next = cs
        .iter()
        .skip(i + 1)
        .find(|c| c.name != ERLANG_PORT_LIMIT || c.value > cs[i].value);
    Some(match next {
        Some(n) => fds_needed(snap, sc, n.value)
            .div_ceil(1024)
            .saturating_mul(1024)
            .max(e.max_fds.value.saturating_add(1024)),
        None => suggested_nofile(e.max_fds.value),
    })
}

/// The lift of `erlang_max_fds`, written once the ladder is sorted: the finite soft limit to
/// start the node with so that the next rung becomes the limit, and that `+Q` cannot help.
fn erlang_max_fds_lift(snap: &Snapshot, sc: &Scenario, cs: &mut [Ceiling]) {
    let Some(e) = super::erlang::caps(snap) else {
        return;
    };
    let Some(i) = cs.iter().position(|c| c.name == ERLANG_MAX_FDS) else {
        return;
    };
    let target = erlang_fd_target(snap, sc, cs).unwrap_or(0);
    let q = if e.port_limit_set {
        format!(
            "`+Q`/ERL_MAX_PORTS do not lift it (they size the port table, now {})",
            e.port_limit.value
        )
    } else {
        format!(
            "`+Q`/ERL_MAX_PORTS do not lift it (they size the port table; `+Q 65536` is already the default, now {})",
            e.port_limit.value
        )
    };
    let start = if snap.platform.os == Os::Macos {
        format!(
            "start the node with a finite soft limit: `ulimit -n {target}` before `erl` (or SoftResourceLimits NumberOfFiles {target} in its launchd plist); erts sizes its fd table at boot from it, so raising it on a running node does nothing"
        )
    } else {
        format!(
            "start the node with a finite soft limit: `ulimit -n {target}` before `erl`, LimitNOFILE={target} in its unit; erts sizes its fd table at boot from it, so raising it on a running node does nothing"
        )
    };
    let mut lift = format!("{start}; {q}");
    if snap.platform.os == Os::Macos {
        let perproc = macos::perproc(snap);
        if target > perproc {
            lift.push_str(&format!(
                "; above kern.maxfilesperproc {perproc} also `sudo sysctl -w kern.maxfilesperproc={target}`"
            ));
        }
    }
    cs[i].lift = lift;
}

/// New connections per second that TIME_WAIT allows (§12.2 C4).
/// `ports`: the ephemeral_ports ceiling already computed for this scenario.
fn churn_rates(cx: &mut Ctx, ports: Option<u64>) -> Vec<RateCeiling> {
    let snap = cx.snap;
    let sc = cx.sc;
    if sc.kind == ScenarioKind::Inbound {
        cx.assume("churn: the server side keeps no TIME_WAIT when clients close first; no rate ceiling on the server");
        return Vec::new();
    }
    let Some(ports) = ports else {
        return Vec::new();
    };
    let net = &snap.net;
    let (t, why_t, lift) = match snap.platform.os {
        Os::Linux | Os::Other => {
            let reuse = net.tcp_tw_reuse.unwrap_or(2);
            let ts = net.tcp_timestamps.unwrap_or(1) != 0;
            let applies = ts && (reuse == 1 || (reuse == 2 && sc.kind == ScenarioKind::Loopback));
            if applies {
                let d = net.tcp_tw_reuse_delay_ms.unwrap_or(1000);
                let note = if net.tcp_tw_reuse_delay_ms.is_none() {
                    " (no tcp_tw_reuse_delay on this kernel: about 1 s)"
                } else {
                    ""
                };
                (
                    d as f64 / 1000.0,
                    format!("TIME_WAIT ports reused after tcp_tw_reuse_delay {d} ms{note} (tcp_tw_reuse={reuse})"),
                    "lower net.ipv4.tcp_tw_reuse_delay (Linux ≥ 6.14), add tuples, or pool connections".to_string(),
                )
            } else {
                let why = if !ts {
                    "tcp_timestamps=0 disables reuse".to_string()
                } else if reuse == 0 {
                    "tcp_tw_reuse=0".to_string()
                } else {
                    "tcp_tw_reuse=2 reuses only loopback connections".to_string()
                };
                (
                    LINUX_TIME_WAIT_S,
                    format!("each port stays in TIME_WAIT for 60 s ({why})"),
                    "`sysctl -w net.ipv4.tcp_tw_reuse=1` (timestamps on), more tuples, or pool connections".to_string(),
                )
            }
        }
        _ => macos::time_wait(snap),
    };
    let mut why = format!("{ports} ports / {t} s: {why_t}");
    if let Some(b) = net.tcp_max_tw_buckets {
        if b < ports {
            why.push_str(&format!(
                "; note tcp_max_tw_buckets {b} < {ports}: TIME_WAIT sockets above it are dropped at once, so this rate is not a hard limit"
            ));
        }
    }
    vec![RateCeiling {
        name: TIME_WAIT_RATE,
        per_second: ports as f64 / t,
        why,
        lift,
    }]
}
