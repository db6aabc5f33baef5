//! Probe the live host into a [`Snapshot`]. The only place (with the platform modules) that
//! reads /proc, sysctl(3) or rlimits.

use std::path::PathBuf;

use super::runtime::{self, erlang};
use super::*;
use crate::error::{Error, Result};

/// What to probe.
#[derive(Debug, Clone, Default)]
pub struct ProbeOptions {
    /// Examine this process instead of porttune itself (its limits, runtime and netns).
    pub pid: Option<u32>,
    /// Root of /proc (fixture trees in tests); default "/proc".
    pub proc_root: Option<PathBuf>,
    /// Name the runtime instead of detecting it.
    pub runtime: Option<RuntimeKind>,
    /// Erlang flags of a node not yet running ("+Q 65536 +P 1048576").
    pub erl_flags: Option<String>,
    /// An Erlang vm.args file of a node not yet running.
    pub vm_args: Option<PathBuf>,
    /// An nginx configuration to read worker settings from.
    pub nginx_conf: Option<PathBuf>,
}

/// Read the host as it is now.
pub fn probe(opts: &ProbeOptions) -> Result<Snapshot> {
    let mut snap = probe_platform(opts)?;
    add_runtime(&mut snap, opts)?;
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
        _ => None,
    };
    // /proc/PID/net/* shows the namespace of PID, so this is right for --pid too.
    let table = linux::tcp_table(&roots.proc, &who);
    if let Some(r) = net.ip_local_port_range {
        net.bound_ports_in_range = table
            .listen_ports
            .iter()
            .copied()
            .filter(|p| r.contains(*p))
            .collect();
    }
    if net.proc_sys_writable == Some(false) {
        notes.push("/proc/sys/net is not writable here (read-only /proc/sys, or not root): changes must be made on the host or as container sysctls".into());
    }
    let inodes = linux::socket_inodes(&roots.proc, &who);
    let process = linux::process(&roots, opts.pid, &table, &inodes)?;
    let mut usage = std::fs::read_to_string(roots.proc.join(&who).join("net/sockstat"))
        .map(|t| linux::parse_sockstat(&t))
        .unwrap_or_default();
    usage.process_connections = Some(
        inodes
            .iter()
            .filter(|i| table.all_inodes.contains(i) && !table.listen_inodes.contains(i))
            .count() as u64,
    );
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
    match kind {
        RuntimeKind::Erlang => add_erlang(snap, opts)?,
        RuntimeKind::Nginx => add_nginx(snap, opts)?,
        _ => {}
    }
    Ok(())
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
        std::path::Path::new("/"),
        &abs.display().to_string(),
        None,
        cpus,
    )
    .map_err(|e| nginx_error(e, path))?;
    n.config_source = Some("--nginx-conf".into());
    snap.runtime.nginx = Some(n);
    Ok(())
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
    let max_fds;
    if running_beam {
        inputs.beam_cmdline = Some(snap.process.cmdline.clone());
        max_fds = boot_max_fds(snap, opts);
    } else {
        inputs.erl_aflags = env_of(opts, "ERL_AFLAGS");
        inputs.erl_flags = env_of(opts, "ERL_FLAGS");
        inputs.erl_zflags = env_of(opts, "ERL_ZFLAGS");
        if let Some(path) = &opts.vm_args {
            let text = crate::fsio::read_text(path, crate::fsio::MAX_INPUT, "vm.args")?;
            inputs
                .command_line
                .push((path.display().to_string(), erlang::vm_args_words(&text)));
        }
        if let Some(f) = &opts.erl_flags {
            inputs
                .command_line
                .push(("--erl-flags".into(), erlang::split_words(f)));
        }
        max_fds = Some(match snap.process.nofile.soft {
            Rlim::Value(v) => Sourced {
                value: v,
                source: "the soft RLIMIT_NOFILE the node would start with (this shell's)".into(),
            },
            Rlim::Unlimited if snap.platform.os == Os::Macos => Sourced {
                value: erlang::MACOS_UNLIMITED_MAX_FDS,
                source: "macOS with an unlimited soft limit: erts uses 24576 (OTP ≥ 23.2)".into(),
            },
            Rlim::Unlimited => Sourced {
                value: snap.fs.nr_open.unwrap_or(1 << 20),
                source: "unlimited soft limit: fs.nr_open".into(),
            },
        });
    }
    let (ports, procs, errors) = erlang::resolve(&inputs, max_fds.as_ref().map(|m| m.value));
    for e in errors {
        snap.notes.push(format!("Erlang: {e}"));
    }
    let (ports_in_use, processes_in_use) = if running_beam {
        let sockets = snap.usage.process_connections.unwrap_or(0) + snap.process.listening_sockets;
        (
            Sourced {
                value: erlang::BASELINE_PORTS + sockets,
                source: format!(
                    "estimated from outside: {} ports of a bare node + {sockets} TCP sockets",
                    erlang::BASELINE_PORTS
                ),
            },
            Sourced {
                value: erlang::BASELINE_PROCESSES,
                source: "estimated: a bare node runs about 38 processes".into(),
            },
        )
    } else {
        (
            Sourced {
                value: erlang::BASELINE_PORTS,
                source: "a bare node holds 3 ports".into(),
            },
            Sourced {
                value: erlang::BASELINE_PROCESSES,
                source: "a bare node runs about 38 processes".into(),
            },
        )
    };
    snap.runtime.erlang = Some(Erlang {
        port_limit: ports,
        process_limit: procs,
        max_fds,
        ports_in_use: Some(ports_in_use),
        processes_in_use: Some(processes_in_use),
    });
    Ok(())
}

/// The fd ceiling a running node sized at boot: the soft limit of its `erl_child_setup`
/// child (started at boot, keeps the boot-time limit), else the node's current soft limit.
#[cfg(target_os = "linux")]
fn boot_max_fds(snap: &Snapshot, opts: &ProbeOptions) -> Option<Sourced> {
    let root = opts
        .proc_root
        .clone()
        .unwrap_or_else(|| PathBuf::from("/proc"));
    let pid = opts.pid?;
    let child = std::fs::read_dir(&root).ok()?.flatten().find_map(|e| {
        let name = e.file_name().to_string_lossy().into_owned();
        name.parse::<u32>().ok()?;
        let stat = std::fs::read_to_string(e.path().join("stat")).ok()?;
        // "PID (comm) S PPID ..."
        let (comm, rest) = stat.split_once(") ")?;
        let comm = comm.split_once(" (")?.1;
        let ppid: u32 = rest.split_whitespace().nth(1)?.parse().ok()?;
        (ppid == pid && comm == "erl_child_setup").then_some(name)
    });
    if let Some(c) = child {
        if let Ok((nofile, _)) = super::linux::limits(&root, &c) {
            if let Rlim::Value(v) = nofile.soft {
                return Some(Sourced {
                    value: v,
                    source: format!("soft RLIMIT_NOFILE at boot (from erl_child_setup, PID {c})"),
                });
            }
        }
    }
    snap.process.nofile.soft.value().map(|v| Sourced {
        value: v,
        source: "the node's current soft RLIMIT_NOFILE (boot value not visible)".into(),
    })
}

#[cfg(not(target_os = "linux"))]
fn boot_max_fds(snap: &Snapshot, _opts: &ProbeOptions) -> Option<Sourced> {
    Some(match snap.process.nofile.soft {
        Rlim::Value(v) => Sourced {
            value: v,
            source: "the node's current soft RLIMIT_NOFILE".into(),
        },
        Rlim::Unlimited => Sourced {
            value: erlang::MACOS_UNLIMITED_MAX_FDS,
            source: "unlimited soft limit: erts uses 24576 (OTP ≥ 23.2)".into(),
        },
    })
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
