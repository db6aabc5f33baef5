//! Probe the live host into a [`Snapshot`]. The only place (with the platform modules) that
//! reads /proc, sysctl(3) or rlimits.

use std::path::PathBuf;

use super::runtime::{self, erlang};
use super::target::TargetFs;
use super::*;
use crate::error::{Error, Result};

pub use super::options::ProbeOptions;

/// Read the host as it is now.
pub fn probe(opts: &ProbeOptions) -> Result<Snapshot> {
    let mut snap = probe_platform(opts)?;
    if let Some(l) = opts.nofile {
        snap.notes.push(format!(
            "RLIMIT_NOFILE {} / {} as given with --nofile (read: {} / {})",
            l.soft, l.hard, snap.process.nofile.soft, snap.process.nofile.hard
        ));
        snap.process.nofile = l;
        snap.provenance.insert(
            "process.nofile".into(),
            Provenance::read("--nofile (as given on the command line)"),
        );
    }
    add_runtime(&mut snap, opts)?;
    #[cfg(target_os = "linux")]
    if let Some(keep) = opts.kernel_log
        && opts.proc_root.is_none()
    {
        // The window: --since, else the examined process's lifetime (porttune's own is not
        // a window: `check` of the host reads what the log holds).
        let started = snap.process.started.as_deref();
        let since = opts.since.or_else(|| {
            started
                .filter(|_| !snap.process.is_self)
                .and_then(super::logtime::parse_iso)
        });
        let mut log = super::kernel_log::read(keep, since);
        log.since = opts.since.map(super::logtime::iso_utc);
        snap.kernel_log = Some(log);
    }
    snap.runtime.version = opts.runtime_version.clone();
    Ok(snap)
}

#[cfg(target_os = "linux")]
fn probe_platform(opts: &ProbeOptions) -> Result<Snapshot> {
    use super::linux;
    let mut roots = linux::Roots::default();
    if let Some(p) = &opts.proc_root {
        roots.proc = p.clone();
    }
    let ps = roots.procsys();
    let mut notes = Vec::new();
    let who = opts
        .pid
        .map(|p| p.to_string())
        .unwrap_or_else(|| "self".into());

    if let Some(pid) = opts.pid {
        refuse_non_process(&roots.proc, pid)?;
    }
    let mut net = match opts.pid {
        Some(pid) => linux::net_of_pid(&roots, pid, &mut notes),
        None => linux::net(&ps),
    };
    net.netns = linux::netns_id(&roots.proc, &who);
    let init = linux::netns_id(&roots.proc, "1");
    net.initial_netns = match (&net.netns, &init) {
        (Some(a), Some(b)) => Some(a == b),
        // PID 1's namespace unreadable (another user's process): recognise the fixed inode.
        (Some(a), None) => {
            super::target::fixed_initial_netns(a, ps.get("kernel.osrelease").as_deref())
        }
        _ => None,
    };
    // The sockets of the namespace of PID (sock_diag opened there), so right for --pid too.
    let sockets = linux::tcp_sockets(&roots, &who, &mut notes);
    if let Some(r) = net.ip_local_port_range {
        net.bound_ports_in_range = sockets.bound_in(r);
    }
    if net.proc_sys_writable == Some(false) {
        notes.push("/proc/sys/net is not writable here (read-only /proc/sys, or not root): changes must be made on the host or as container sysctls".into());
    }
    // Our own fd handle is not counted, whichever way porttune was named.
    let fd_who = if opts.pid == Some(std::process::id()) {
        "self"
    } else {
        &who
    };
    let fds = linux::FdTable::read(&roots.proc, fd_who);
    let held = fds
        .as_ref()
        .map(|f| f.tcp_sockets(&sockets))
        .unwrap_or_default();
    if held.read < held.total {
        notes.push(format!(
            "{} has {} fds: the links of the first {} were read, and its connections ({}) are scaled up from those",
            opts.pid.map_or("porttune".to_string(), |p| format!("PID {p}")),
            held.total,
            held.read,
            held.connections
        ));
    }
    let process = linux::process(&roots, opts.pid, fds.as_ref(), &held)?;
    let mut usage = linux::sockstat(&roots.proc, &who);
    usage.process_connections = Some(held.connections);
    Ok(Snapshot {
        schema: SCHEMA,
        platform: linux::platform(&ps, &roots),
        net,
        fs: linux::fs(&ps),
        process,
        memory: linux::memory(&ps, &roots),
        runtime: Runtime::default(),
        usage,
        notes,
        kernel_log: None,
        provenance: Default::default(),
    })
}

#[cfg(any(target_os = "macos", target_os = "freebsd"))]
fn probe_platform(opts: &ProbeOptions) -> Result<Snapshot> {
    super::macos::probe(opts)
}

#[cfg(not(any(target_os = "linux", target_os = "macos", target_os = "freebsd")))]
fn probe_platform(_opts: &ProbeOptions) -> Result<Snapshot> {
    Err(Error::Internal(
        "porttune cannot read this operating system; use --from with a saved snapshot".into(),
    ))
}

#[cfg(target_os = "macos")]
fn env_of(opts: &ProbeOptions, key: &str) -> Option<String> {
    match opts.pid {
        Some(pid) => super::macos::environ(pid).into_iter().find_map(|kv| {
            kv.strip_prefix(key)
                .and_then(|r| r.strip_prefix('='))
                .map(str::to_string)
        }),
        None => std::env::var(key).ok(),
    }
}

#[cfg(not(target_os = "macos"))]
fn env_of(opts: &ProbeOptions, key: &str) -> Option<String> {
    match opts.pid {
        Some(pid) => {
            let root = opts
                .proc_root
                .clone()
                .unwrap_or_else(|| PathBuf::from("/proc"));
            let raw = std::fs::read(root.join(pid.to_string()).join("environ")).ok()?;
            raw.split(|b| *b == 0).find_map(|kv| {
                let s = String::from_utf8_lossy(kv);
                s.strip_prefix(key)
                    .and_then(|r| r.strip_prefix('='))
                    .map(str::to_string)
            })
        }
        None => std::env::var(key).ok(),
    }
}

/// Detect or take the runtime and read its caps.
fn add_runtime(snap: &mut Snapshot, opts: &ProbeOptions) -> Result<()> {
    let p = &snap.process;
    let (kind, source) = if let Some(k) = opts.runtime {
        (k, "--runtime".to_string())
    } else if opts.erl_flags.is_some() || opts.vm_args.is_some() {
        (RuntimeKind::Erlang, "--erl-flags/--vm-args".to_string())
    } else if opts.nginx_conf.is_some() {
        (RuntimeKind::Nginx, "--nginx-conf".to_string())
    } else if opts.haproxy_conf.is_some() {
        (RuntimeKind::Haproxy, "--haproxy-conf".to_string())
    } else if opts.pid.is_some() {
        match runtime::detect(p.exe.as_deref(), &p.cmdline) {
            Some(k) => (k, "detected from the process's executable".to_string()),
            None => (RuntimeKind::Native, "no known runtime detected".to_string()),
        }
    } else {
        (RuntimeKind::Native, "porttune itself (native)".to_string())
    };
    snap.runtime.kind = kind;
    snap.runtime.source = Some(source);
    #[cfg(target_os = "linux")]
    if let Some(pid) = opts.pid {
        let root = opts
            .proc_root
            .clone()
            .unwrap_or_else(|| PathBuf::from("/proc"));
        snap.runtime.waits_in = runtime::waits_in(&root, pid);
    }
    if let Some(e) = runtime::catalog::entry(kind) {
        add_catalog(snap, opts, e);
    }
    if kind.on_erlang() {
        add_erlang(snap, opts)?;
    }
    match kind {
        RuntimeKind::Nginx => add_nginx(snap, opts)?,
        RuntimeKind::Haproxy => add_haproxy(snap, opts)?,
        RuntimeKind::Redis if opts.pid.is_some() => {
            let root = opts
                .proc_root
                .clone()
                .unwrap_or_else(|| PathBuf::from("/proc"));
            let pid = opts.pid.unwrap_or(0);
            match runtime::redis::from_pid(&root, pid, &snap.process.cmdline) {
                Ok(v) => snap.runtime.redis_maxclients = Some(v),
                Err(e) => snap.notes.push(format!(
                    "Redis: INFO clients not read ({e}): maxclients unknown, from 1 to the fd limit − 32 (shown: the default 10000 within that); give --app-limit N:maxclients"
                )),
            }
        }
        RuntimeKind::Postgres | RuntimeKind::Mysql => add_database(snap, opts),
        _ => {}
    }
    // what RLIMIT_NPROC counts, for any process (a server read above may have set it)
    #[cfg(target_os = "linux")]
    if let Some(pid) = opts.pid
        && snap.runtime.user_tasks.is_none()
    {
        let root = opts
            .proc_root
            .clone()
            .unwrap_or_else(|| PathBuf::from("/proc"));
        if let Some((uid, n)) = runtime::user_tasks(&root, pid) {
            snap.runtime.user_tasks = Some(Sourced {
                value: n,
                source: format!("tasks of uid {uid} in /proc/*/status"),
            });
        }
    }
    Ok(())
}

/// A server of the catalog: its settings as read (command line, configuration files), and
/// what could not be read (a note naming the settings and their defaults).
#[cfg(target_os = "linux")]
fn add_catalog(snap: &mut Snapshot, opts: &ProbeOptions, e: &runtime::catalog::Entry) {
    if opts.pid.is_none() && opts.config.is_none() {
        let settings: Vec<String> = e
            .settings
            .iter()
            .map(|s| format!("{} (default {})", s.key, s.default))
            .collect();
        if !settings.is_empty() {
            snap.notes.push(format!(
                "{}: settings are read from a running server (--pid) or --config FILE; not read: {}",
                e.product,
                settings.join(", ")
            ));
        }
        return;
    }
    let root = opts
        .proc_root
        .clone()
        .unwrap_or_else(|| PathBuf::from("/proc"));
    let env = |k: &str| env_of(opts, k);
    let conf = runtime::catalog_probe::read(
        e,
        &root,
        opts.pid,
        &snap.process.cmdline,
        &env,
        opts.config.as_deref(),
    );
    if let Some(why) = &conf.unread {
        let settings: Vec<String> = e
            .settings
            .iter()
            .map(|s| format!("{} (default {})", s.key, s.default))
            .collect();
        snap.notes.push(format!(
            "{}: configuration not read ({why}); unknown: {}",
            e.product,
            settings.join(", ")
        ));
    }
    snap.runtime.server = Some(conf);
}

#[cfg(not(target_os = "linux"))]
fn add_catalog(snap: &mut Snapshot, _opts: &ProbeOptions, e: &runtime::catalog::Entry) {
    snap.notes.push(format!(
        "{}: the server's settings are read on Linux only; its caps are unknown",
        e.product
    ));
}

/// PostgreSQL / MySQL: the settings of the running server (`--pid`) and the tasks of its
/// user (RLIMIT_NPROC counts them all; each connection is a process or a thread).
#[cfg(target_os = "linux")]
fn add_database(snap: &mut Snapshot, opts: &ProbeOptions) {
    let Some(pid) = opts.pid else {
        snap.notes.push(format!(
            "{}: settings are read from a running server: give --pid; defaults assumed",
            snap.runtime.kind.name()
        ));
        return;
    };
    let root = opts
        .proc_root
        .clone()
        .unwrap_or_else(|| PathBuf::from("/proc"));
    let (who, notes) = if snap.runtime.kind == RuntimeKind::Postgres {
        let mut pg = runtime::postgres::from_pid(&root, pid);
        let notes = std::mem::take(&mut pg.notes);
        let who = pg.postmaster_pid.unwrap_or(pid);
        snap.runtime.postgres = Some(pg);
        (who, notes)
    } else {
        let mut m = runtime::mysql::from_pid(&root, pid);
        let notes = std::mem::take(&mut m.notes);
        snap.runtime.mysql = Some(m);
        (pid, notes)
    };
    let name = snap.runtime.kind.name();
    snap.notes
        .extend(notes.into_iter().map(|n| format!("{name}: {n}")));
    if let Some((uid, n)) = runtime::user_tasks(&root, who) {
        snap.runtime.user_tasks = Some(Sourced {
            value: n,
            source: format!("tasks of uid {uid} in /proc/*/status"),
        });
    }
}

#[cfg(not(target_os = "linux"))]
fn add_database(snap: &mut Snapshot, _opts: &ProbeOptions) {
    snap.notes.push(format!(
        "{}: the server's settings are read on Linux only; defaults assumed",
        snap.runtime.kind.name()
    ));
}

fn nginx_error(e: runtime::nginx::ParseError, fallback: &std::path::Path) -> Error {
    Error::Input {
        path: e
            .file
            .map(PathBuf::from)
            .unwrap_or_else(|| fallback.to_path_buf()),
        line: (e.line > 0).then_some(e.line),
        column: None,
        msg: e.msg,
    }
}

/// nginx: the running master's configuration and workers (`--pid`), or `--nginx-conf`.
fn add_nginx(snap: &mut Snapshot, opts: &ProbeOptions) -> Result<()> {
    let cpus = std::thread::available_parallelism()
        .map(|n| n.get() as u64)
        .unwrap_or(1);
    #[cfg(target_os = "linux")]
    if let Some(pid) = opts.pid {
        let root = opts
            .proc_root
            .clone()
            .unwrap_or_else(|| PathBuf::from("/proc"));
        let conf = opts
            .nginx_conf
            .as_deref()
            .map(std::path::absolute)
            .transpose();
        let conf = conf.map_err(|e| Error::Usage(format!("--nginx-conf: {e}")))?;
        let n = runtime::nginx::from_pid(&root, pid, conf.as_deref(), cpus, &mut snap.notes)
            .map_err(|e| nginx_error(e, std::path::Path::new("nginx.conf")))?;
        snap.runtime.nginx = Some(n);
        return Ok(());
    }
    let Some(path) = &opts.nginx_conf else {
        snap.notes.push(
            "nginx without --nginx-conf or --pid: worker_connections assumed 512 (the nginx default)".into(),
        );
        return Ok(());
    };
    let abs = std::path::absolute(path).unwrap_or_else(|_| path.clone());
    let mut n = runtime::nginx::read_config(
        &super::target::TargetFs::operator(),
        &abs.display().to_string(),
        None,
        cpus,
    )
    .map_err(|e| nginx_error(e, path))?;
    n.config_source = Some("--nginx-conf".into());
    snap.runtime.nginx = Some(n);
    Ok(())
}

/// HAProxy: the configuration from `--haproxy-conf` or the process's `-f`, `-n`, the process
/// holding the connections, and `show info` from its stats socket when it answers.
fn add_haproxy(snap: &mut Snapshot, opts: &ProbeOptions) -> Result<()> {
    use runtime::haproxy;
    let root = opts
        .proc_root
        .clone()
        .unwrap_or_else(|| PathBuf::from("/proc"));
    // files and the stats socket as the master sees them: a worker is chrooted
    let reader = opts.pid.map(|pid| haproxy::master_of(&root, pid));
    let target = reader.map(|pid| TargetFs::of_pid(&root, pid));
    let (mut names, cmd_maxconn) = haproxy::cmdline_args(&snap.process.cmdline);
    let mut how = format!("-f of PID {}", reader.unwrap_or(0));
    let files = if let Some(c) = &opts.haproxy_conf {
        let abs = std::path::absolute(c).unwrap_or_else(|_| c.clone());
        names = vec![abs.display().to_string()];
        how = "--haproxy-conf".into();
        TargetFs::operator()
    } else if let Some(t) = target.clone().filter(|_| !names.is_empty()) {
        for n in names.iter_mut() {
            *n = t.absolute(n);
        }
        t
    } else {
        snap.notes.push("HAProxy: no configuration (give --haproxy-conf or --pid of a process started with -f); maxconn unknown".into());
        return Ok(());
    };
    let input = |e: haproxy::ParseError| Error::Input {
        path: PathBuf::from(&e.file),
        line: (e.line > 0).then_some(e.line),
        column: None,
        msg: e.msg,
    };
    let parsed = haproxy::read_files(&files, &names).and_then(|f| haproxy::parse(&f));
    let mut h = match parsed {
        Ok(h) => h,
        Err(e) if opts.haproxy_conf.is_some() => return Err(input(e)),
        // a running process's -f that cannot be read here: say so, keep what /proc shows
        Err(e) => {
            let chroot = reader
                .and_then(|p| haproxy::chroot_of(&root, p).map(|d| (p, d)))
                .map(|(p, d)| format!(" (PID {p} runs chrooted in {d}, HAProxy's `chroot`, with no master process outside it)"))
                .unwrap_or_default();
            let why = format!(
                "{}{}: {}{chroot}",
                e.file,
                if e.line > 0 {
                    format!(":{}", e.line)
                } else {
                    String::new()
                },
                e.msg
            );
            snap.notes.push(format!(
                "HAProxy: {why}; the configuration was not read: maxconn unknown unless the stats socket or -n says it; give --haproxy-conf"
            ));
            Haproxy {
                config: names.join(", "),
                unread: Some(why),
                ..Default::default()
            }
        }
    };
    h.config_source = Some(how);
    h.cmdline_maxconn = cmd_maxconn;
    #[cfg(target_os = "linux")]
    if let Some(pid) = opts.pid {
        h.process = haproxy::process(&root, pid);
        if h.nbthread.is_none() {
            h.nbthread = h
                .process
                .as_ref()
                .and_then(|p| haproxy::threads(&root, p.pid));
        }
    }
    if h.nbthread.is_none() {
        h.nbthread = std::thread::available_parallelism()
            .ok()
            .map(|n| n.get() as u64);
    }
    #[cfg(unix)]
    if let (Some(pid), Some(t)) = (opts.pid, &target) {
        stats_info(&mut h, &root, pid, t, &mut snap.notes);
    }
    snap.runtime.haproxy = Some(h);
    Ok(())
}

/// `show info` from a stats socket the process itself listens on (its own Unix sockets);
/// a path the configuration names but no process of this HAProxy holds is not dialed.
#[cfg(unix)]
fn stats_info(
    h: &mut Haproxy,
    root: &std::path::Path,
    pid: u32,
    fs: &TargetFs,
    notes: &mut Vec<String>,
) {
    use runtime::haproxy;
    let mut pids = vec![pid, runtime::haproxy::master_of(root, pid)];
    pids.extend(h.process.as_ref().map(|p| p.pid));
    let listening = super::target::listening(root, &pids);
    for s in h.stats_sockets.clone() {
        let Some(path) = haproxy::stats_path(&s) else {
            continue;
        };
        if !listening.unix.iter().any(|u| haproxy::is_bound_as(u, path)) {
            notes.push(format!(
                "HAProxy stats socket {path}: PID {pid} does not listen there; not dialed (maxconn derived from the configuration and limits)"
            ));
            continue;
        }
        match haproxy::show_info(fs, &s) {
            Ok(i) => {
                h.info = Some(i);
                break;
            }
            Err(e) => notes.push(format!(
                "HAProxy stats socket not read ({e}): maxconn derived from the configuration and limits"
            )),
        }
    }
}

fn add_erlang(snap: &mut Snapshot, opts: &ProbeOptions) -> Result<()> {
    let running_beam = opts.pid.is_some()
        && snap
            .process
            .exe
            .as_deref()
            .map(|e| e.contains("beam"))
            .unwrap_or(false);
    let mut inputs = erlang::Inputs {
        erl_max_ports: env_of(opts, "ERL_MAX_PORTS"),
        ..Default::default()
    };
    let mut max_fds = None;
    if running_beam {
        inputs.beam_cmdline = Some(snap.process.cmdline.clone());
        max_fds = boot_max_fds(opts);
    } else {
        inputs.erl_aflags = env_of(opts, "ERL_AFLAGS");
        inputs.erl_flags = env_of(opts, "ERL_FLAGS");
        inputs.erl_zflags = env_of(opts, "ERL_ZFLAGS");
        if let Some(path) = &opts.vm_args {
            inputs
                .command_line
                .push((path.display().to_string(), erlang::read_vm_args(path)?));
        }
        if let Some(f) = &opts.erl_flags {
            inputs
                .command_line
                .push(("--erl-flags".into(), erlang::split_words(f)));
        }
    }
    let (ports, procs, errors) = erlang::resolve(&inputs);
    let backend_words: Vec<String> = match &inputs.beam_cmdline {
        Some(argv) => argv.clone(),
        None => [&inputs.erl_aflags, &inputs.erl_flags, &inputs.erl_zflags]
            .iter()
            .filter_map(|v| v.as_deref())
            .flat_map(erlang::split_words)
            .chain(inputs.command_line.iter().flat_map(|(_, w)| w.clone()))
            .collect(),
    };
    let inet_backend = erlang::inet_backend(&backend_words);
    for e in errors {
        snap.notes.push(format!("Erlang: {e}"));
    }
    // A running node's ports are estimated from its sockets; for a node not yet started the
    // model uses a bare node's (erlang::BASELINE_*).
    let (ports_in_use, processes_in_use) = if running_beam {
        let sockets = snap.usage.process_connections.unwrap_or(0) + snap.process.listening_sockets;
        (
            Some(Sourced {
                value: erlang::BASELINE_PORTS + sockets,
                source: format!(
                    "estimated from outside: {} ports of a bare node + {sockets} TCP sockets",
                    erlang::BASELINE_PORTS
                ),
            }),
            Some(Sourced {
                value: erlang::BASELINE_PROCESSES,
                source: "estimated: a bare node runs about 38 processes".into(),
            }),
        )
    } else {
        (None, None)
    };
    snap.runtime.erlang = Some(Erlang {
        port_limit: ports,
        process_limit: procs,
        max_fds,
        ports_in_use,
        processes_in_use,
        inet_backend,
    });
    Ok(())
}

/// The fd table a running node sized at boot, when it can be read: argv[1] of its
/// `erl_child_setup` child (erts passes its `max_files` there), else that child's soft limit
/// (it keeps the boot-time one). Otherwise `None`, and the model says the boot-time table was
/// not read and what it assumed.
#[cfg(target_os = "linux")]
fn boot_max_fds(opts: &ProbeOptions) -> Option<Sourced> {
    let root = opts
        .proc_root
        .clone()
        .unwrap_or_else(|| PathBuf::from("/proc"));
    let pid = opts.pid?;
    let child = erl_child_setup_of(&root, pid)?;
    let base = root.join(child.to_string());
    let argv = crate::fsio::read_bounded_io(&base.join("cmdline"), 4096).ok();
    if let Some(n) = argv.as_deref().and_then(erlang::child_setup_max_files) {
        return Some(Sourced {
            value: n,
            source: format!(
                "argv[1] of erl_child_setup (PID {child}): erts' fd table, sized at boot"
            ),
        });
    }
    let (nofile, _) = super::linux::limits(&root, &child.to_string()).ok()?;
    nofile.soft.value().map(|v| Sourced {
        value: v,
        source: format!("soft RLIMIT_NOFILE at boot (from erl_child_setup, PID {child})"),
    })
}

/// The `erl_child_setup` child of a node: among the children its threads list
/// (`/proc/PID/task/*/children`), else among every process whose parent it is.
#[cfg(target_os = "linux")]
fn erl_child_setup_of(root: &std::path::Path, pid: u32) -> Option<u32> {
    let is_it = |c: u32| {
        super::target::ppid(root, c) == Some(pid)
            && super::target::read_comm(&root.join(c.to_string())).as_deref()
                == Some("erl_child_setup")
    };
    let mut listed: Vec<u32> = Vec::new();
    if let Ok(tasks) = std::fs::read_dir(root.join(pid.to_string()).join("task")) {
        for t in tasks.flatten().take(65536) {
            if let Ok(b) = crate::fsio::read_bounded_io(&t.path().join("children"), 1 << 16) {
                listed.extend(
                    String::from_utf8_lossy(&b)
                        .split_whitespace()
                        .filter_map(|w| w.parse::<u32>().ok()),
                );
            }
        }
    }
    if let Some(c) = listed.into_iter().find(|c| is_it(*c)) {
        return Some(c);
    }
    std::fs::read_dir(root)
        .ok()?
        .flatten()
        .take(4_194_304)
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .find(|c| is_it(*c))
}

/// On a Mac, which shows no other process's rlimits: the max_files erts passed to its
/// `erl_child_setup` child as argv[1] (read through KERN_PROCARGS2).
#[cfg(target_os = "macos")]
fn boot_max_fds(opts: &ProbeOptions) -> Option<Sourced> {
    let child = super::macos::child_named(opts.pid?, "erl_child_setup")?;
    super::macos_parse::forker_max_files(&super::macos::args(child)).map(|v| Sourced {
        value: v,
        source: format!("erts' fd table at boot (argv[1] of erl_child_setup, PID {child})"),
    })
}

#[cfg(not(any(target_os = "linux", target_os = "macos")))]
fn boot_max_fds(_opts: &ProbeOptions) -> Option<Sourced> {
    None
}

/// `--pid` of a kernel thread or a zombie: nothing to predict (it holds no sockets and no
/// fd table of its own), so say so instead of printing a ceiling (exit 2).
#[cfg(target_os = "linux")]
fn refuse_non_process(proc_root: &std::path::Path, pid: u32) -> Result<()> {
    let Ok(stat) = std::fs::read_to_string(proc_root.join(pid.to_string()).join("stat")) else {
        return Ok(());
    };
    let Some((head, rest)) = stat.rsplit_once(')') else {
        return Ok(());
    };
    let comm = head.split_once('(').map(|x| x.1).unwrap_or("?");
    let f: Vec<&str> = rest.split_whitespace().collect();
    // Fields after `)`: state (3rd in stat), …, flags (9th in stat).
    let state = f.first().copied().unwrap_or("");
    let flags: u64 = f.get(6).and_then(|x| x.parse().ok()).unwrap_or(0);
    const PF_KTHREAD: u64 = 0x0020_0000;
    if state == "Z" {
        return Err(Error::Usage(format!(
            "--pid {pid} ({comm}) is a zombie: it has exited and holds no connections; examine a running process"
        )));
    }
    if flags & PF_KTHREAD != 0 {
        return Err(Error::Usage(format!(
            "--pid {pid} ({comm}) is a kernel thread: it has no file descriptors or sockets of its own; examine a user process"
        )));
    }
    Ok(())
}
