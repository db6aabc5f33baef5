//! The model's inputs: each value a ceiling rests on, with where it came from (read, derived,
//! assumed, unknown) and, for an assumed one, the range of values it plausibly has
//! (docs/model.md, "Provenance").
//!
//! A present value was read by the probe from the place this table names (a snapshot file
//! holds what the probe that recorded it read); an absent one is assumed by the model, with
//! the default the ceilings use; where the snapshot records another source
//! ([`Snapshot::provenance`], a [`crate::snapshot::Sourced`] value), that source is kept.

use serde::{Deserialize, Serialize};

use super::names::*;
use super::{CeilingName, Scenario};
use crate::snapshot::runtime::catalog;
use crate::snapshot::{Os, PortRange, Provenance, Rlim, RuntimeKind, Snapshot};

/// One input of the prediction.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Input {
    /// A sysctl name (`fs.nr_open`, `kern.maxfilesperproc`) or a fact of the process or runtime
    /// (`process.nofile`, `erlang.max_fds`).
    pub key: String,
    /// The value the model used, as the host prints it.
    pub value: String,
    pub provenance: Provenance,
    /// For an assumed value: the values it plausibly has (the prediction is computed at both
    /// ends to see what the assumption could change).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plausible: Option<Plausible>,
}

/// The plausible values of an assumed input.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Plausible {
    pub low: String,
    pub high: String,
    pub why: String,
}

/// An assumed input whose plausible range the model evaluates: how to put each end into a
/// snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Knob {
    PortRange,
    Somaxconn,
    NrOpen,
    FileMax,
    MaxFiles,
    MaxFilesPerProc,
    /// The process's RLIMIT_NOFILE (taken from this shell on a Mac, or disproved).
    Nofile {
        low: u64,
    },
    /// A running node's boot-time fd table, not read.
    ErlangMaxFds {
        low: u64,
        high: u64,
    },
    /// A catalog server's cap that was not read: anywhere from 1 to no limit.
    ServerSetting {
        key: &'static str,
    },
    /// HAProxy's maxconn when its configuration was not read (nor `show info`, nor `-n`).
    HaproxyMaxconn,
    /// nginx's worker_connections when the master's configuration was not read.
    NginxWorkerConnections,
    /// Redis's maxclients when `INFO clients` did not answer: from 1 to its fd limit − 32
    /// (Redis lowers maxclients to that at start).
    RedisMaxclients {
        high: u64,
    },
}

/// A server's own cap at the optimistic end: more than any host holds.
const SERVER_SETTING_TOP: &str = "1000000000";

/// The largest `kern.maxfiles` default (3 × OPEN_MAX × 16, 64 GiB and more).
const MAC_MAXFILES_TOP: u64 = 3 * super::macos::OPEN_MAX * 16;
/// systemd ≥ 240 raises fs.nr_open to this at boot (limits-facts 3.5).
const NR_OPEN_SYSTEMD: u64 = 1_073_741_816;
const NR_OPEN_DEFAULT: u64 = 1 << 20;

impl Knob {
    /// Put the pessimistic (`high == false`) or optimistic end into `s`.
    pub(super) fn set(self, s: &mut Snapshot, high: bool) {
        let mac = s.platform.os == Os::Macos;
        match self {
            Knob::PortRange => {
                let lo = if !high {
                    if mac { 49152 } else { 32768 }
                } else {
                    1024
                };
                let hi = if mac || high { 65535 } else { 60999 };
                s.net.ip_local_port_range = Some(PortRange { lo, hi });
            }
            Knob::Somaxconn => s.net.somaxconn = Some(if high { 65535 } else { 128 }),
            Knob::NrOpen => {
                s.fs.nr_open = Some(if high {
                    NR_OPEN_SYSTEMD
                } else {
                    NR_OPEN_DEFAULT
                })
            }
            Knob::FileMax => {
                s.fs.file_max = Some(if high {
                    i64::MAX as u64
                } else {
                    linux_file_max_default(s)
                })
            }
            Knob::MaxFiles => {
                s.fs.file_max = Some(if high {
                    MAC_MAXFILES_TOP
                } else {
                    super::macos::defaults(s).0
                })
            }
            Knob::MaxFilesPerProc => {
                s.fs.maxfilesperproc = Some(if high {
                    MAC_MAXFILES_TOP / 2
                } else {
                    super::macos::defaults(s).1
                })
            }
            Knob::Nofile { low } => {
                let v = if high {
                    Rlim::Unlimited
                } else {
                    Rlim::Value(low)
                };
                s.process.nofile.soft = v;
                s.process.nofile.hard = s.process.nofile.hard.max(v);
            }
            Knob::ErlangMaxFds { low, high: top } => {
                let e = s.runtime.erlang.get_or_insert_with(Default::default);
                e.max_fds = Some(crate::snapshot::Sourced {
                    value: if high { top } else { low },
                    source: "a plausible boot-time fd table".into(),
                });
            }
            Knob::NginxWorkerConnections => {
                if let Some(n) = s.runtime.nginx.as_mut() {
                    n.unread = None;
                    n.worker_connections = if high { i32::MAX as u64 } else { 1 };
                }
            }
            Knob::HaproxyMaxconn => {
                if let Some(h) = s.runtime.haproxy.as_mut() {
                    h.unread = None;
                    h.global_maxconn = Some(if high { 1_000_000_000 } else { 1 });
                }
            }
            Knob::RedisMaxclients { high: top } => {
                s.runtime.redis_maxclients = Some(crate::snapshot::Sourced {
                    value: if high { top } else { 1 },
                    source: "a plausible value".into(),
                });
            }
            Knob::ServerSetting { key } => {
                let conf = s.runtime.server.get_or_insert_with(Default::default);
                conf.unread = None;
                conf.settings.push(crate::snapshot::Setting {
                    key: key.into(),
                    value: if high { SERVER_SETTING_TOP } else { "1" }.into(),
                    source: super::listeners::PLAUSIBLE.into(),
                });
            }
        }
    }
}

/// fs.file-max as the kernel sizes it at boot: 10 % of memory at 1 KiB per file, at least
/// NR_FILE 8192 (fs/file_table.c `files_maxfiles_init`).
pub fn linux_file_max_default(s: &Snapshot) -> u64 {
    s.memory.mem_total_kb.map_or(8192, |kb| (kb / 10).max(8192))
}

fn sysctl_from(os: Os, key: &str) -> String {
    if os == Os::Macos {
        format!("sysctl {key}")
    } else {
        format!("/proc/sys/{}", key.replace('.', "/"))
    }
}

fn read_cmd(os: Os, key: &str) -> String {
    if os == Os::Macos {
        format!("`sysctl {key}`")
    } else {
        format!("`cat /proc/sys/{}`", key.replace('.', "/"))
    }
}

fn opt(v: Option<u64>) -> String {
    v.map_or_else(|| "absent".into(), |v| v.to_string())
}

/// A sysctl-backed input: read where present, else assumed `default` with `knob`.
fn sysctl(
    snap: &Snapshot,
    key: &str,
    value: Option<String>,
    default: (String, String),
    knob: Option<(Knob, Plausible)>,
) -> (Input, Option<Knob>) {
    let os = snap.platform.os;
    match value {
        Some(v) => (
            Input {
                key: key.into(),
                value: v,
                provenance: Provenance::read(sysctl_from(os, key)),
                plausible: None,
            },
            None,
        ),
        None => {
            let (k, p) = knob.unzip();
            (
                Input {
                    key: key.into(),
                    value: default.0.clone(),
                    provenance: Provenance::assumed(default.0, default.1, read_cmd(os, key)),
                    plausible: p,
                },
                k,
            )
        }
    }
}

fn plausible(low: impl ToString, high: impl ToString, why: &str) -> Plausible {
    Plausible {
        low: low.to_string(),
        high: high.to_string(),
        why: why.into(),
    }
}

/// The inputs of the network settings.
fn net_inputs(snap: &Snapshot, out: &mut Vec<(Input, Option<Knob>)>) {
    let n = &snap.net;
    let mac = snap.platform.os == Os::Macos;
    let range = n.ip_local_port_range.map(|r| format!("{} {}", r.lo, r.hi));
    if mac {
        let mut i = sysctl(
            snap,
            "net.inet.ip.portrange",
            range,
            (
                "49152 65535".into(),
                "not in the snapshot: the macOS default".into(),
            ),
            Some((
                Knob::PortRange,
                plausible(
                    "49152 65535",
                    "1024 65535",
                    "the default up to the widest range",
                ),
            )),
        );
        if i.1.is_none() {
            i.0.provenance =
                Provenance::read("sysctl net.inet.ip.portrange.first net.inet.ip.portrange.last");
        } else if let Provenance::Assumed { read_with, .. } = &mut i.0.provenance {
            *read_with = "`sysctl net.inet.ip.portrange.first net.inet.ip.portrange.last`".into();
        }
        out.push(i);
        if !n.bound_ports_in_range.is_empty() {
            out.push(read(
                "net.bound_ports_in_range",
                format!("{:?}", n.bound_ports_in_range),
                "net.inet.tcp.pcblist_n (ports the host's TCP sockets hold inside the range)",
            ));
        }
    } else {
        out.push(sysctl(
            snap,
            "net.ipv4.ip_local_port_range",
            range,
            (
                "32768 60999".into(),
                "not in the snapshot: the kernel's default".into(),
            ),
            Some((
                Knob::PortRange,
                plausible(
                    "32768 60999",
                    "1024 65535",
                    "the default up to the widest range",
                ),
            )),
        ));
        out.push(read(
            "net.ipv4.ip_local_reserved_ports",
            crate::snapshot::port_list(&n.ip_local_reserved_ports),
            sysctl_from(Os::Linux, "net.ipv4.ip_local_reserved_ports"),
        ));
        out.push(read(
            "net.bound_ports_in_range",
            format!("{:?}", n.bound_ports_in_range),
            "/proc/net/tcp and tcp6 (sockets bound inside the range)",
        ));
    }
    let somax = if mac {
        "kern.ipc.somaxconn"
    } else {
        "net.core.somaxconn"
    };
    let default = if mac {
        (
            "128".to_string(),
            "not in the snapshot: the macOS default (SOMAXCONN)".to_string(),
        )
    } else {
        (
            "4096".to_string(),
            "not in the snapshot: the Linux ≥ 5.4 default".to_string(),
        )
    };
    out.push(sysctl(
        snap,
        somax,
        n.somaxconn.map(|v| v.to_string()),
        default,
        Some((
            Knob::Somaxconn,
            plausible(128, 65535, "the old default up to the usual tuned value"),
        )),
    ));
    if let Some(ct) = &n.conntrack {
        out.push(read(
            "net.netfilter.nf_conntrack_max",
            opt(ct.max),
            sysctl_from(Os::Linux, "net.netfilter.nf_conntrack_max"),
        ));
        out.push(read(
            "net.netfilter.nf_conntrack_count",
            opt(ct.count),
            sysctl_from(Os::Linux, "net.netfilter.nf_conntrack_count"),
        ));
    }
}

fn read(key: &str, value: impl Into<String>, from: impl Into<String>) -> (Input, Option<Knob>) {
    (
        Input {
            key: key.into(),
            value: value.into(),
            provenance: Provenance::read(from),
            plausible: None,
        },
        None,
    )
}

fn derived(
    key: &str,
    value: impl Into<String>,
    rule: impl Into<String>,
    inputs: &[&str],
) -> (Input, Option<Knob>) {
    (
        Input {
            key: key.into(),
            value: value.into(),
            provenance: Provenance::derived(rule, inputs),
            plausible: None,
        },
        None,
    )
}

/// The host-wide file limits.
fn fs_inputs(snap: &Snapshot, out: &mut Vec<(Input, Option<Knob>)>) {
    let f = &snap.fs;
    if snap.platform.os == Os::Macos {
        let (files, perproc, why) = super::macos::defaults(snap);
        let range_why = "the default for this memory up to the default of a 64 GiB Mac; an administrator may have raised it";
        out.push(sysctl(
            snap,
            "kern.maxfiles",
            f.file_max.map(|v| v.to_string()),
            (files.to_string(), format!("not read: {why}")),
            Some((
                Knob::MaxFiles,
                plausible(files, MAC_MAXFILES_TOP, range_why),
            )),
        ));
        out.push(sysctl(
            snap,
            "kern.maxfilesperproc",
            f.maxfilesperproc.map(|v| v.to_string()),
            (perproc.to_string(), format!("not read: {why}")),
            Some((
                Knob::MaxFilesPerProc,
                plausible(perproc, MAC_MAXFILES_TOP / 2, range_why),
            )),
        ));
        out.push(sysctl(
            snap,
            "kern.num_files",
            f.file_nr_allocated.map(|v| v.to_string()),
            ("0".into(), "not read: no files counted as open".into()),
            None,
        ));
        return;
    }
    let fm = linux_file_max_default(snap);
    out.push(sysctl(
        snap,
        "fs.file-max",
        f.file_max.map(|v| v.to_string()),
        (
            fm.to_string(),
            "not read: the kernel's boot default, 10 % of memory at 1 KiB per file".into(),
        ),
        Some((
            Knob::FileMax,
            plausible(
                fm,
                i64::MAX,
                "the kernel's default up to LONG_MAX (systemd ≥ 240 raises it at boot)",
            ),
        )),
    ));
    out.push(sysctl(
        snap,
        "fs.file-nr",
        f.file_nr_allocated.map(|v| v.to_string()),
        (
            "0".into(),
            "not read: no file handles counted as allocated".into(),
        ),
        None,
    ));
    out.push(sysctl(
        snap,
        "fs.nr_open",
        f.nr_open.map(|v| v.to_string()),
        (
            NR_OPEN_DEFAULT.to_string(),
            "not read: the kernel's default".into(),
        ),
        Some((
            Knob::NrOpen,
            plausible(
                NR_OPEN_DEFAULT,
                NR_OPEN_SYSTEMD,
                "the kernel's default up to what systemd ≥ 240 sets at boot",
            ),
        )),
    ));
    for (key, v) in [
        ("kernel.threads-max", snap.memory.threads_max),
        ("kernel.pid_max", snap.memory.pid_max),
    ] {
        if let Some(v) = v {
            out.push(read(key, v.to_string(), sysctl_from(Os::Linux, key)));
        }
    }
}

/// Where the probe reads a fact of the examined process.
fn process_from(snap: &Snapshot, linux_file: &str, mac_api: &str, own: &str) -> String {
    let p = &snap.process;
    match (p.is_self, p.pid, snap.platform.os) {
        (true, _, _) => own.to_string(),
        (false, Some(pid), Os::Macos) => format!("{mac_api} of PID {pid}"),
        (false, Some(pid), _) => format!("/proc/{pid}/{linux_file}"),
        (false, None, _) => format!("the snapshot's process ({linux_file})"),
    }
}

/// The examined process: its fd limit, fds, capabilities, tasks, memory room.
fn process_inputs(snap: &Snapshot, out: &mut Vec<(Input, Option<Knob>)>) {
    let p = &snap.process;
    let mac = snap.platform.os == Os::Macos;
    let nofile = format!("{} / {}", p.nofile.soft, p.nofile.hard);
    let mut given = snap.provenance.get("process.nofile").cloned();
    let mut knob = None;
    let mut plaus = None;
    if let Some(prov) = &given
        && prov.is_assumption()
    {
        let floor = if mac { 256 } else { 1024 };
        let low = floor.max(p.open_fds.saturating_add(1));
        knob = Some(Knob::Nofile { low });
        plaus = Some(plausible(
            low,
            "unlimited",
            "any limit the process may have been started with, above the fds it holds",
        ));
    }
    let prov = given.take().unwrap_or_else(|| {
        Provenance::read(process_from(
            snap,
            "limits",
            "(not readable on macOS)",
            "getrlimit(RLIMIT_NOFILE) of this shell (a process started from it inherits it)",
        ))
    });
    out.push((
        Input {
            key: "process.nofile".into(),
            value: nofile,
            provenance: prov,
            plausible: plaus,
        },
        knob,
    ));
    let base = super::erlang::base_fds(snap);
    if base == p.open_fds {
        out.push(read(
            "process.open_fds",
            p.open_fds.to_string(),
            process_from(
                snap,
                "fd",
                "proc_pidinfo(PROC_PIDLISTFDS)",
                "this process's fd table",
            ),
        ));
    } else {
        // A node not yet started: porttune's own fds do not stand for it.
        out.push((
            Input {
                key: "process.open_fds".into(),
                value: base.to_string(),
                provenance: Provenance::assumed(
                    base.to_string(),
                    "a node not yet started: an idle node holds 19 fds (erl -noshell)",
                    "porttune check --pid of the running node",
                ),
                plausible: None,
            },
            None,
        ));
    }
    let caps = format!(
        "CAP_SYS_RESOURCE {}, CAP_SYS_ADMIN {}",
        p.caps.sys_resource, p.caps.sys_admin
    );
    out.push(read(
        "process.caps",
        caps,
        process_from(
            snap,
            "status (CapEff)",
            "the process's uid",
            "this process's CapEff",
        ),
    ));
    out.push(read(
        "runtime.kind",
        snap.runtime.kind.name(),
        snap.runtime
            .source
            .clone()
            .unwrap_or_else(|| "the process's executable".into()),
    ));
    if let Some(n) = p.nproc {
        out.push(read(
            "process.nproc",
            format!("{} / {}", n.soft, n.hard),
            process_from(snap, "limits", "getrlimit", "getrlimit(RLIMIT_NPROC)"),
        ));
    }
    let cg = &p.cgroup;
    if cg.pids_max.is_some() {
        out.push(read(
            "process.cgroup.pids",
            format!("{} of {}", opt(cg.pids_current), opt(cg.pids_max)),
            "the cgroup's pids.current and pids.max",
        ));
    }
    if cg.memory_max.is_some() {
        out.push(read(
            "process.cgroup.memory",
            format!("{} of {}", opt(cg.memory_current), opt(cg.memory_max)),
            "the cgroup's memory.current and memory.max",
        ));
    }
    if let Some(kb) = snap.memory.mem_available_kb {
        out.push(read(
            "memory.available",
            format!("{kb} kB"),
            if mac {
                "vm.page_free_count × vm.pagesize"
            } else {
                "/proc/meminfo (MemAvailable)"
            },
        ));
    }
}

/// A running node's boot-time fd table when it was not read: assumed to be the soft limit
/// it has now, plausibly lower (a limit raised after boot) down to 1024 or the fds it holds.
fn erlang_max_fds(snap: &Snapshot, e: &super::erlang::Caps) -> (Input, Option<Knob>) {
    let key = "erlang.max_fds";
    let v = e.max_fds.value.to_string();
    if e.max_fds_read {
        return read(key, v, e.max_fds.source.clone());
    }
    let p = &snap.process;
    let nofile_assumed = snap
        .provenance
        .get("process.nofile")
        .is_some_and(Provenance::is_assumption);
    // A facts-only snapshot (no PID) describes the node as it booted.
    if p.is_self || p.pid.is_none() || nofile_assumed {
        // A node still to be started sizes its table from this soft limit; on a Mac the
        // assumed limit's own range covers it.
        let from: &[&str] = if snap.platform.os == Os::Macos {
            &["process.nofile"]
        } else {
            &["process.nofile", "fs.nr_open"]
        };
        return derived(key, v, e.max_fds.source.clone(), from);
    }
    let top = e.max_fds.value;
    let low = top.min(1024).max(p.open_fds.saturating_add(1)).min(top);
    (
        Input {
            key: key.into(),
            value: v,
            provenance: Provenance::assumed(
                format!("{top} (the soft limit it has now)"),
                "the fd table erts sized at boot was not read (its erl_child_setup child was not found or not readable)",
                "porttune check --pid as root or as the node's user (it reads argv[1] of the node's erl_child_setup child), or `erlang:system_info(check_io)` in the node (max_fds)",
            ),
            plausible: Some(plausible(
                low,
                top,
                "a limit raised after boot leaves a smaller table",
            )),
        },
        Some(Knob::ErlangMaxFds { low, high: top }),
    )
}

/// Erlang's tables, the server caps and the scenario's own numbers.
fn runtime_inputs(snap: &Snapshot, sc: &Scenario, out: &mut Vec<(Input, Option<Knob>)>) {
    if let Some(e) = super::erlang::caps(snap) {
        out.push(erlang_max_fds(snap, &e));
        for (key, s, read_it) in [
            ("erlang.port_limit", &e.port_limit, e.port_limit_set),
            (
                "erlang.process_limit",
                &e.process_limit,
                snap.runtime
                    .erlang
                    .as_ref()
                    .is_some_and(|x| x.process_limit.is_some()),
            ),
        ] {
            out.push(if read_it {
                read(key, s.value.to_string(), s.source.clone())
            } else {
                derived(
                    key,
                    s.value.to_string(),
                    s.source.clone(),
                    &["erlang.max_fds"],
                )
            });
        }
        let running = !snap.process.is_self;
        for (key, s) in [
            ("erlang.ports_in_use", &e.ports_in_use),
            ("erlang.processes_in_use", &e.processes_in_use),
        ] {
            out.push(if running {
                derived(
                    key,
                    s.value.to_string(),
                    s.source.clone(),
                    &["process.open_fds"],
                )
            } else {
                (
                    Input {
                        key: key.into(),
                        value: s.value.to_string(),
                        provenance: Provenance::assumed(
                            s.value.to_string(),
                            format!("a node not yet started: {}", s.source),
                            "porttune check --pid of the running node",
                        ),
                        plausible: None,
                    },
                    None,
                )
            });
        }
        out.push((
            Input {
                key: "scenario.procs_per_conn".into(),
                value: sc.procs_per_conn.to_string(),
                provenance: Provenance::assumed(
                    sc.procs_per_conn.to_string(),
                    "Erlang processes per connection are the application's design, not visible from outside",
                    "--procs-per-conn N",
                ),
                plausible: None,
            },
            None,
        ));
    }
    server_inputs(snap, sc, out);
    catalog_inputs(snap, sc, out);
}

/// The settings of a server the catalog's generic readers read: as read, given with
/// `--app-limit N:KEY`, the server's default, or unknown — a cap not read is anywhere from 1
/// to no limit, so a gate resting on it cannot tell.
fn catalog_inputs(snap: &Snapshot, sc: &Scenario, out: &mut Vec<(Input, Option<Knob>)>) {
    use super::server_settings::{Found, find_in};
    let Some(e) = catalog::entry(snap.runtime.kind) else {
        return;
    };
    for s in e.settings {
        let key = s.key;
        out.push(match find_in(snap, sc, e, key) {
            Found::Read(st) => read(key, st.value.clone(), st.source.clone()),
            Found::Given(v) => read(key, v.to_string(), "--app-limit"),
            Found::NotSet => derived(
                key,
                "default",
                format!("not set: the default {}", s.default),
                &[],
            ),
            Found::Unknown(why) => (
                Input {
                    key: key.into(),
                    value: "unknown".into(),
                    provenance: Provenance::unknown(
                        format!(
                            "{} {key} not read ({why}); its default is {}",
                            e.product, s.default
                        ),
                        format!("--config FILE, or --app-limit N:{key}"),
                    ),
                    plausible: s.raises.then(|| Plausible {
                        low: "1".into(),
                        high: "no limit".into(),
                        why: format!("{}'s own setting: any value", e.product),
                    }),
                },
                s.raises.then_some(Knob::ServerSetting { key }),
            ),
        });
    }
}

/// A server's own cap that was not read: unknown, anywhere from 1 to no limit.
fn unknown_cap(
    key: &str,
    what: String,
    read_with: &str,
    product: &str,
    knob: Knob,
) -> (Input, Option<Knob>) {
    (
        Input {
            key: key.into(),
            value: "unknown".into(),
            provenance: Provenance::unknown(what, read_with.to_string()),
            plausible: Some(Plausible {
                low: "1".into(),
                high: "no limit".into(),
                why: format!("{product}'s own setting: any value"),
            }),
        },
        Some(knob),
    )
}

/// HAProxy's maxconn input: read (show info, -n, the configuration) or unknown.
fn haproxy_input(snap: &Snapshot, out: &mut Vec<(Input, Option<Knob>)>) {
    let r = &snap.runtime;
    if let Some(h) = &r.haproxy
        && let (Some(why), None, None) = (&h.unread, &h.info, h.cmdline_maxconn)
    {
        out.push(unknown_cap(
            "runtime.haproxy",
            format!("HAProxy maxconn (global, defaults and frontend sections) not read ({why}); unset, HAProxy computes it from its fd limit at start"),
            "--haproxy-conf FILE, or a stats socket the process listens on",
            "HAProxy",
            Knob::HaproxyMaxconn,
        ));
    } else if let Some(h) = &r.haproxy {
        out.push(read(
            "runtime.haproxy",
            h.info
                .as_ref()
                .map(|i| i.maxconn)
                .or(h.cmdline_maxconn)
                .or(h.global_maxconn)
                .map_or_else(
                    || "maxconn from the fd limit".into(),
                    |v| format!("maxconn {v}"),
                ),
            if h.info.is_some() {
                "the stats socket (show info)".to_string()
            } else {
                h.config.clone()
            },
        ));
    }
}

/// Redis's maxclients input: read (INFO clients, --app-limit) or unknown.
fn redis_input(snap: &Snapshot, sc: &Scenario, out: &mut Vec<(Input, Option<Knob>)>) {
    let r = &snap.runtime;
    if let Some(s) = &r.redis_maxclients {
        out.push(read(
            "redis.maxclients",
            s.value.to_string(),
            s.source.clone(),
        ));
    } else if let Some(v) = super::servers::redis_given(sc).filter(|_| r.kind == RuntimeKind::Redis)
    {
        out.push(read("redis.maxclients", v.to_string(), "--app-limit"));
    } else if r.kind == RuntimeKind::Redis {
        // not asked (requirepass, no socket it listens on, not running): the configured value
        // is not known; Redis never keeps more than its fd limit − 32
        let soft = match snap.process.nofile.soft {
            Rlim::Value(v) => v,
            Rlim::Unlimited => snap.fs.nr_open.unwrap_or(NR_OPEN_DEFAULT),
        };
        let high = soft
            .saturating_sub(crate::snapshot::runtime::redis::RESERVED_FDS)
            .max(1);
        out.push((
            Input {
                key: "redis.maxclients".into(),
                value: "unknown".into(),
                provenance: Provenance::unknown(
                    "Redis maxclients not read (INFO clients did not answer; redis.conf, its includes and CONFIG SET are not followed); its default is 10000, lowered at start to the fd limit − 32".to_string(),
                    "--app-limit N:maxclients, or INFO clients reachable (a socket the server listens on, no requirepass for porttune)".to_string(),
                ),
                plausible: Some(Plausible {
                    low: "1".into(),
                    high: high.to_string(),
                    why: format!("Redis's own setting, at most its fd limit {soft} − 32"),
                }),
            },
            Some(Knob::RedisMaxclients { high }),
        ));
    }
}

fn server_inputs(snap: &Snapshot, sc: &Scenario, out: &mut Vec<(Input, Option<Knob>)>) {
    let r = &snap.runtime;
    if let Some(n) = &r.nginx
        && let Some(why) = &n.unread
    {
        out.push(unknown_cap(
            "runtime.nginx",
            format!("nginx worker_connections (events {{}}) not read ({why}); its default is 512"),
            "--nginx-conf FILE",
            "nginx",
            Knob::NginxWorkerConnections,
        ));
    } else if let Some(n) = &r.nginx {
        out.push(read(
            "runtime.nginx",
            format!(
                "{} workers × worker_connections {}",
                n.worker_processes, n.worker_connections
            ),
            n.config.clone(),
        ));
    }
    haproxy_input(snap, out);
    redis_input(snap, sc, out);
    let mut sourced = |key: &str, s: &Option<crate::snapshot::Sourced>, cfg: &str| match s {
        Some(s) => out.push(read(key, s.value.to_string(), s.source.clone())),
        None => out.push(derived(
            key,
            "default",
            format!("not set in {cfg}: the server's default"),
            &[],
        )),
    };
    if let Some(p) = &r.postgres {
        sourced("postgres.max_connections", &p.max_connections, &p.config);
        sourced(
            "postgres.superuser_reserved_connections",
            &p.superuser_reserved_connections,
            &p.config,
        );
    }
    if let Some(m) = &r.mysql {
        sourced("mysql.max_connections", &m.max_connections, &m.config);
        if let Some(u) = &m.max_user_connections {
            out.push(read(
                "mysql.max_user_connections",
                u.value.to_string(),
                u.source.clone(),
            ));
        }
    }
    if let Some(s) = &r.user_tasks {
        out.push(read(
            "runtime.user_tasks",
            s.value.to_string(),
            s.source.clone(),
        ));
    }
    if let Some(w) = &r.waits_in {
        out.push(read(
            "runtime.waits_in",
            w.clone(),
            "/proc/PID/task/*/syscall",
        ));
    }
}

/// Every input the model has for this snapshot, with the knob of each assumed one whose range
/// is evaluated.
pub(super) fn collect(snap: &Snapshot, sc: &Scenario) -> Vec<(Input, Option<Knob>)> {
    let mut out = Vec::new();
    net_inputs(snap, &mut out);
    fs_inputs(snap, &mut out);
    process_inputs(snap, &mut out);
    runtime_inputs(snap, sc, &mut out);
    // A value the snapshot records another source for (a profile's setting in the what-if)
    // keeps it: it was not read from the place the table names.
    for (i, knob) in &mut out {
        if let Some(p) = snap.provenance.get(&i.key)
            && !p.is_assumption()
            && matches!(i.provenance, Provenance::Read { .. })
        {
            i.provenance = p.clone();
            *knob = None;
        }
    }
    for a in &sc.app_limits {
        out.push((
            Input {
                key: "scenario.app_limit".into(),
                value: format!("{} ({})", a.value, a.name),
                provenance: Provenance::read("--app-limit"),
                plausible: None,
            },
            None,
        ));
    }
    out
}

/// The formula of a ceiling and the inputs it rests on (keys of [`collect`]).
pub fn rule_of(name: CeilingName, snap: &Snapshot) -> (&'static str, Vec<&'static str>) {
    let mac = snap.platform.os == Os::Macos;
    let p = &snap.process;
    let unlimited = p.nofile.soft == Rlim::Unlimited || p.nofile.hard == Rlim::Unlimited;
    match name {
        PROCESS_FDS => {
            let mut v = vec!["process.nofile", "process.open_fds", "runtime.kind"];
            if (unlimited || super::nofile::nofile_is_a_setting(snap)) && !mac {
                v.push("fs.nr_open");
            }
            server_keys(snap, &mut v);
            (
                "(effective soft RLIMIT_NOFILE − fds open − set-up fds) / fds per connection × processes",
                v,
            )
        }
        MAX_FILES_PER_PROC => (
            "(kern.maxfilesperproc − fds open − set-up fds) / fds per connection × processes",
            vec!["kern.maxfilesperproc", "process.open_fds"],
        ),
        SYSTEM_FILES if mac => (
            "(kern.maxfiles − files open on the host) / sockets per connection",
            vec!["kern.maxfiles", "kern.num_files"],
        ),
        SYSTEM_FILES => (
            "(fs.file-max − allocated file handles) / sockets per connection",
            vec!["fs.file-max", "fs.file-nr", "process.caps"],
        ),
        EPHEMERAL_PORTS if mac => (
            "(range − ports held by the host's TCP sockets) × local addresses",
            vec!["net.inet.ip.portrange", "net.bound_ports_in_range"],
        ),
        EPHEMERAL_PORTS => (
            "(range − reserved − bound in range) × (source ip, destination) tuples",
            vec![
                "net.ipv4.ip_local_port_range",
                "net.ipv4.ip_local_reserved_ports",
                "net.bound_ports_in_range",
            ],
        ),
        ACCEPT_QUEUE if mac => (
            "min(listen backlog, kern.ipc.somaxconn) while the application does not accept",
            vec!["kern.ipc.somaxconn"],
        ),
        ACCEPT_QUEUE => (
            "min(listen backlog, net.core.somaxconn) + 1 while the application does not accept",
            vec!["net.core.somaxconn"],
        ),
        CONNTRACK => (
            "nf_conntrack_max − nf_conntrack_count",
            vec![
                "net.netfilter.nf_conntrack_max",
                "net.netfilter.nf_conntrack_count",
            ],
        ),
        MEMORY => (
            "available memory / (sockets per connection × kernel memory per socket + application bytes)",
            vec!["memory.available", "process.cgroup.memory"],
        ),
        TASKS => (
            "min(RLIMIT_NPROC − tasks, pids.max − pids.current, threads-max, pid_max) / threads per connection",
            vec![
                "process.nproc",
                "process.cgroup.pids",
                "kernel.threads-max",
                "kernel.pid_max",
                "runtime.user_tasks",
            ],
        ),
        ERLANG_MAX_FDS => (
            "(erts max_fds − fds open − set-up fds) / fds per connection",
            vec!["erlang.max_fds", "process.open_fds"],
        ),
        ERLANG_PORT_LIMIT => (
            "(port table − ports in use − set-up ports) / ports per connection",
            vec!["erlang.port_limit", "erlang.ports_in_use"],
        ),
        ERLANG_PROCESS_LIMIT => (
            "(process table − processes running) / processes per connection",
            vec![
                "erlang.process_limit",
                "erlang.processes_in_use",
                "scenario.procs_per_conn",
            ],
        ),
        NGINX_WORKER_CONNECTIONS => (
            "Σ over workers of (worker_connections − listeners − 1 …)",
            vec!["runtime.nginx"],
        ),
        HAPROXY_MAXCONN => (
            "HAProxy's maxconn (set, or computed from its fd limit)",
            vec!["runtime.haproxy", "process.nofile"],
        ),
        REDIS_MAXCLIENTS => (
            "maxclients, lowered to the fd limit − 32 at start",
            vec!["redis.maxclients", "process.nofile"],
        ),
        POSTGRES_MAX_CONNECTIONS => (
            "max_connections − reserved slots",
            vec![
                "postgres.max_connections",
                "postgres.superuser_reserved_connections",
            ],
        ),
        MYSQL_MAX_CONNECTIONS => (
            "max_connections + 1 for SUPER (one account: max_user_connections)",
            vec!["mysql.max_connections", "mysql.max_user_connections"],
        ),
        SELECT_FD_SETSIZE => (
            "FD_SETSIZE 1024 − fds open (select() cannot watch fd 1024 or above)",
            vec!["runtime.waits_in", "process.open_fds"],
        ),
        APP_LIMIT => (
            "the application's own cap, as given",
            vec!["scenario.app_limit"],
        ),
        _ => catalog_rule(name, snap),
    }
}

/// A catalog server's ceiling rests on the settings its entry names (RabbitMQ's file-handle
/// cache on the node's fd table).
fn catalog_rule(name: CeilingName, snap: &Snapshot) -> (&'static str, Vec<&'static str>) {
    if name == RABBITMQ_SOCKET_LIMIT {
        return (
            "trunc(0.9 × max(2, erts max_fds − 97) − 2): RabbitMQ's file-handle cache",
            vec!["erlang.max_fds"],
        );
    }
    match catalog::entry(snap.runtime.kind) {
        Some(e) if e.ceilings.contains(&name.as_str()) => (
            "the server's own settings, by its formula (docs/runtimes.md)",
            e.settings.iter().map(|s| s.key).collect(),
        ),
        _ => ("", vec![]),
    }
}

fn server_keys(snap: &Snapshot, v: &mut Vec<&'static str>) {
    match snap.runtime.kind {
        RuntimeKind::Nginx if snap.runtime.nginx.is_some() => v.push("runtime.nginx"),
        RuntimeKind::Haproxy if snap.runtime.haproxy.is_some() => v.push("runtime.haproxy"),
        _ => {}
    }
}
