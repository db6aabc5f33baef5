//! Named checks with stable IDs (docs/checks.md): each says current → required → how to fix.
//! Pure: computed from the snapshot and the prediction.

use super::CheckId;
use super::names::*;
use super::{Prediction, ScenarioKind};
use crate::snapshot::{Os, Rlim, RuntimeKind, Snapshot};

pub use super::check::{Check, Severity};

#[derive(Debug, Clone)]
pub struct CheckOptions {
    /// `--require N`: connections the host must hold.
    pub require: Option<u64>,
    /// `--warn-at PERCENT`: usage share of a ceiling that warns.
    pub warn_at: f64,
    /// `--ignore`: IDs demoted from error to warning (`all` for every one but the `--require`
    /// gate's, which only their own IDs demote).
    pub ignore: Vec<String>,
    /// `--allow-assumed`: judge `--require` on the assumed values instead of "cannot tell".
    pub allow_assumed: bool,
    /// `--with PROFILE`: the settings whose reach porttune cannot tell, and the host as it
    /// would be if they reached the process. A `--require` that fails without them and passes
    /// with them is "cannot tell".
    pub unknown_reach: Option<Box<UnknownReach>>,
}

/// The optimistic end of a what-if whose settings' reach is not known.
#[derive(Debug, Clone)]
pub struct UnknownReach {
    /// Each such setting and why its reach is not known.
    pub settings: Vec<(String, String)>,
    pub snap: Snapshot,
    pub pred: Prediction,
}

impl Default for CheckOptions {
    fn default() -> Self {
        CheckOptions {
            require: None,
            warn_at: 80.0,
            ignore: Vec::new(),
            allow_assumed: false,
            unknown_reach: None,
        }
    }
}

/// Every check ID `--ignore` accepts, for validation and docs (typed: `names::IDS`).
pub const IDS: &[&str] = &super::names::ID_STRS;

/// The check IDs that can apply to this snapshot, in [`IDS`] order (the Prometheus list).
pub fn ids_for(snap: &Snapshot) -> impl Iterator<Item = &'static str> + '_ {
    IDS.iter()
        .copied()
        .filter(|id| CheckId::parse(id).is_none_or(|c| applies(c, snap)))
}

/// Whether check `id` can apply to this snapshot at all: the database checks only to a
/// PostgreSQL / MySQL server (so the Prometheus list of the others stays as it was).
pub fn applies(id: CheckId, snap: &Snapshot) -> bool {
    match id {
        CheckId::PostgresMaxConnections => snap.runtime.kind == RuntimeKind::Postgres,
        CheckId::MysqlMaxConnections => snap.runtime.kind == RuntimeKind::Mysql,
        _ => super::catalog::check_applies(id, snap),
    }
}

fn push(out: &mut Vec<Check>, id: CheckId, severity: Severity, message: String) {
    out.push(Check {
        id,
        severity,
        message,
        ignored: false,
    });
}

pub fn run(snap: &Snapshot, pred: &Prediction, opts: &CheckOptions) -> Vec<Check> {
    let mut out = Vec::new();
    require_checks(&mut out, snap, pred, opts);
    // `--ignore all` leaves the gate on: its checks are demoted only by their own IDs.
    let gate = out.len();
    erlang_checks(&mut out, snap);
    limit_and_net_checks(&mut out, snap, pred);
    usage_checks(&mut out, snap, pred, opts);
    out.extend(super::evidence::checks(snap));
    // `--ignore` IDs are matched without regard to case.
    let all = opts.ignore.iter().any(|i| i.eq_ignore_ascii_case("all"));
    let ignored: Vec<CheckId> = opts
        .ignore
        .iter()
        .filter_map(|i| CheckId::from_input(i))
        .collect();
    for (i, c) in out.iter_mut().enumerate() {
        if c.severity == Severity::Error && ((all && i >= gate) || ignored.contains(&c.id)) {
            c.severity = Severity::Warning;
            c.ignored = true;
        }
    }
    out
}

/// `--require N` on the what-if of a profile some of whose settings may or may not reach the
/// process: when the gate fails without them and passes with them, "cannot tell" (exit 4;
/// `--allow-assumed` accepts that they reach it, and the warning says so).
fn require_checks(out: &mut Vec<Check>, snap: &Snapshot, pred: &Prediction, opts: &CheckOptions) {
    let mut gate = Vec::new();
    require_gate(&mut gate, snap, pred, opts);
    let fails = |v: &[Check]| {
        v.iter()
            .any(|c| c.severity == Severity::Error && c.id != CheckId::CannotTell)
    };
    if let (Some(u), Some(req)) = (&opts.unknown_reach, opts.require)
        && fails(&gate)
    {
        let mut best = Vec::new();
        require_gate(&mut best, &u.snap, &u.pred, opts);
        if !fails(&best) {
            let msg = format!(
                "cannot tell: {req} required is met only if {} reach the process, and porttune cannot tell whether they do ({}) → find out how the process is started; {}",
                u.settings
                    .iter()
                    .map(|s| s.0.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
                u.settings
                    .iter()
                    .map(|s| s.1.as_str())
                    .collect::<Vec<_>>()
                    .join("; "),
                if opts.allow_assumed {
                    "judged as if they reach it (--allow-assumed)"
                } else {
                    "or pass --allow-assumed to judge as if they reach it"
                }
            );
            if opts.allow_assumed {
                push(out, CheckId::CannotTell, Severity::Warning, msg);
                gate = best;
            } else {
                push(out, CheckId::CannotTell, Severity::Error, msg);
                // What fails without them, said but not failing the gate.
                for c in &mut gate {
                    c.severity = Severity::Warning;
                }
            }
        }
    }
    out.append(&mut gate);
}

/// `--require N`: every ceiling below N is an error with its own fix, and the total; when an
/// assumed value could flip the verdict, "cannot tell" (exit 4) unless `--allow-assumed`.
fn require_gate(out: &mut Vec<Check>, snap: &Snapshot, pred: &Prediction, opts: &CheckOptions) {
    let Some(req) = opts.require else {
        return;
    };
    let undecided = pred.range.as_ref().filter(|r| r.straddles(req));
    if let Some(r) = undecided {
        let high = r.high.map_or("no limit".to_string(), |h| h.to_string());
        let (sev, then) = if opts.allow_assumed {
            (
                Severity::Warning,
                match pred.ceilings.first() {
                    Some(c) => format!(
                        "judged on the assumed values (--allow-assumed): the lowest rung is then {} at {}",
                        c.name, c.value
                    ),
                    None => "judged on the assumed values (--allow-assumed)".to_string(),
                },
            )
        } else {
            (
                Severity::Error,
                "read them, or pass --allow-assumed to judge on the assumed values".to_string(),
            )
        };
        push(
            out,
            CheckId::CannotTell,
            sev,
            format!(
                "cannot tell: the ceiling lies between {} and {high} depending on {} (assumed, not read) → {req} required → read: {}; {then}",
                r.low,
                r.on.join(", "),
                r.read_with.join("; ")
            ),
        );
    }
    // Every ceiling below the required count is an error, with its own fix; a conditional
    // one only when it is below over its whole plausible range (or the assumptions are
    // accepted).
    for c in pred.ceilings.iter().filter(|c| c.value < req) {
        let certain = match &c.conditional {
            None => true,
            Some(x) => opts.allow_assumed || x.high.is_some_and(|h| h < req),
        };
        if !certain {
            continue;
        }
        let mut lift = c.lift.clone();
        if c.name == PROCESS_FDS {
            let need = super::ceilings::fds_needed(snap, &pred.scenario, req);
            lift = super::ceilings::nofile_lift(snap, need);
        }
        push(
            out,
            c.name.check_id(),
            Severity::Error,
            format!(
                "{} allows {} connections → {req} required → {lift}",
                c.name, c.value
            ),
        );
    }
    {
        if pred.ceiling < req && (undecided.is_none() || opts.allow_assumed) {
            push(
                out,
                CheckId::Require,
                Severity::Error,
                format!(
                    "predicted ceiling {} ({}) → {req} required → lift the ceilings above, lowest first",
                    pred.ceiling,
                    pred.bottleneck_str()
                ),
            );
        }
    }
}

/// Erlang: a fd table sized at boot below the limit the node has now; invalid flags.
fn erlang_checks(out: &mut Vec<Check>, snap: &Snapshot) {
    let p = &snap.process;
    // Erlang: the fd table was sized at boot with a lower limit than the process has now.
    if let Some(e) = snap
        .runtime
        .erlang
        .as_ref()
        .filter(|_| snap.runtime.kind.on_erlang())
    {
        if let (Some(m), Rlim::Value(now)) = (&e.max_fds, p.nofile.soft) {
            if m.value < now && !p.is_self {
                push(
                    out,
                    CheckId::ErlangBootFds,
                    Severity::Error,
                    format!(
                        "the node sized its fd table at boot with {} fds, but its soft limit is now {now} → {now} at boot → restart the node with the higher limit set before start (raising it on a running node does nothing; sockets beyond fd {} fail with {{error,timeout}})",
                        m.value,
                        m.value.saturating_sub(1)
                    ),
                );
            }
        }
        for note in snap.notes.iter().filter(|n| n.starts_with("Erlang:")) {
            push(
                out,
                CheckId::ErlangFlags,
                Severity::Error,
                format!("{note} → use a value in 1024..134217727"),
            );
        }
    }
}

/// RLIMIT_NOFILE and somaxconn (per OS), TIME_WAIT reuse, the range parity, read-only
/// /proc/sys, containers.
fn limit_and_net_checks(out: &mut Vec<Check>, snap: &Snapshot, pred: &Prediction) {
    let net = &snap.net;
    if snap.platform.os == Os::Macos {
        macos_limits(out, snap);
    } else {
        linux_limits(out, snap);
    }
    if pred.scenario.kind == ScenarioKind::Outbound && net.tcp_tw_reuse == Some(0) {
        push(
            out,
            CheckId::TimeWaitReuse,
            Severity::Warning,
            "net.ipv4.tcp_tw_reuse is 0: every closed outbound connection holds its port for 60 s → 1 → `sysctl -w net.ipv4.tcp_tw_reuse=1`".into(),
        );
    }
    if let Some(r) = net
        .ip_local_port_range
        .filter(|_| snap.platform.os != Os::Macos)
    {
        if r.lo % 2 == r.hi % 2 && r.len() > 1 {
            push(
                out,
                CheckId::PortRangeParity,
                Severity::Info,
                format!(
                    "ip_local_port_range {} {} has ends of the same parity; the kernel prefers different parity (an even port count) for its connect/bind split",
                    r.lo, r.hi
                ),
            );
        }
    }
    if net.proc_sys_writable == Some(false) {
        push(
            out,
            CheckId::ProcSysReadOnly,
            Severity::Info,
            "/proc/sys/net is not writable here: per-network-namespace keys (net.ipv4.ip_local_port_range, tcp_tw_reuse, somaxconn, …) must be set on the host or as container sysctls (docker --sysctl, pod securityContext.sysctls)".into(),
        );
    }

    if let Some(c) = &snap.platform.container {
        push(
            out,
            CheckId::Container,
            Severity::Info,
            format!(
                "inside a container ({c}): per-network-namespace keys ({}, …) can be set for this container as sysctls (`docker run --sysctl net.ipv4.ip_local_port_range=\"1024 65535\"`, pod securityContext.sysctls); host-wide ones ({}) and a higher hard RLIMIT_NOFILE (`--ulimit nofile=N:N`) belong on the host",
                super::knobs::per_netns()
                    .take(4)
                    .collect::<Vec<_>>()
                    .join(", "),
                super::knobs::host_wide()
                    .take(2)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        );
    }
}

/// Usage near a ceiling (`--warn-at`).
fn usage_checks(out: &mut Vec<Check>, snap: &Snapshot, pred: &Prediction, opts: &CheckOptions) {
    let p = &snap.process;
    let net = &snap.net;
    // Usage and headroom.
    let warn = opts.warn_at / 100.0;
    let share = |used: u64, of: u64| of > 0 && used as f64 >= warn * of as f64;
    if let Some(cap) = super::usage::process_fds_usable(snap, pred) {
        if share(p.open_fds, cap) {
            push(
                out,
                CheckId::FdUsage,
                Severity::Warning,
                format!(
                    "{} fds open of a usable {} (≥ {}%) → raise RLIMIT_NOFILE before it runs out",
                    p.open_fds, cap, opts.warn_at
                ),
            );
        }
    }
    if let (Some(tw), Some(b)) = (snap.usage.tcp_time_wait, net.tcp_max_tw_buckets) {
        if share(tw, b) {
            push(
                out,
                CheckId::TimeWaitUsage,
                Severity::Warning,
                format!(
                    "{tw} sockets in TIME_WAIT of tcp_max_tw_buckets {b} (≥ {}%) → pool connections or enable tcp_tw_reuse",
                    opts.warn_at
                ),
            );
        }
    }
    if let Some(ct) = &net.conntrack {
        if let (Some(c), Some(m)) = (ct.count, ct.max) {
            if share(c, m) {
                push(
                    out,
                    CheckId::ConntrackUsage,
                    Severity::Warning,
                    format!(
                        "{c} conntrack entries of nf_conntrack_max {m} (≥ {}%) → raise nf_conntrack_max",
                        opts.warn_at
                    ),
                );
            }
        }
    }
    if let (Some(a), Some(m)) = (snap.fs.file_nr_allocated, snap.fs.file_max) {
        if share(a, m) {
            let key = if snap.platform.os == Os::Macos {
                "kern.maxfiles"
            } else {
                "fs.file-max"
            };
            push(
                out,
                CheckId::SystemFilesUsage,
                Severity::Warning,
                format!(
                    "{a} file handles allocated of {key} {m} (≥ {}%) → raise {key}",
                    opts.warn_at
                ),
            );
        }
    }
}

/// RLIMIT_NOFILE and somaxconn checks on Linux.
/// Whether the process's RLIMIT_NOFILE was not read (taken from this shell for another
/// process on a Mac): the checks about its value would judge an assumption, so they wait; the
/// "Assumed / not read" block says what reads it.
fn nofile_assumed(snap: &Snapshot) -> bool {
    snap.provenance
        .get("process.nofile")
        .is_some_and(crate::snapshot::Provenance::is_assumption)
}

fn linux_limits(out: &mut Vec<Check>, snap: &Snapshot) {
    let p = &snap.process;
    let net = &snap.net;
    let read = !nofile_assumed(snap);
    // A hard limit this process cannot raise.
    if let (Rlim::Value(hard), true) = (p.nofile.hard, read) {
        let nr_open = snap.fs.nr_open.unwrap_or(u64::MAX);
        if !p.caps.sys_resource && hard < nr_open {
            push(
                out,
                CheckId::HardLimitLocked,
                Severity::Warning,
                format!(
                    "hard RLIMIT_NOFILE is {hard} and this process cannot raise it (no CAP_SYS_RESOURCE; fs.nr_open allows {}) → more than {hard} fds per process need a higher hard limit where the process is started (systemd LimitNOFILE=, limits.d, container --ulimit) or several processes",
                    snap.fs
                        .nr_open
                        .map(|n| n.to_string())
                        .unwrap_or_else(|| "?".into())
                ),
            );
        }
    }
    if read
        && p.nofile.soft == Rlim::Value(1024)
        && !crate::snapshot::runtime::raises_soft_to_hard(snap.runtime.kind)
        && !super::servers::sets_own_fd_limit(snap)
    {
        // A target above the soft limit: the hard limit when it is higher, else 65536 (which
        // then needs the hard limit raised where the process starts).
        let fix = match p.nofile.hard {
            Rlim::Value(h) if h > 1024 => format!(
                "`ulimit -n {h}` in the start script (up to the hard limit, no privileges) or LimitNOFILE={h}"
            ),
            Rlim::Unlimited => "`ulimit -n 65536` in the start script or LimitNOFILE=65536".into(),
            Rlim::Value(_) => "LimitNOFILE=65536 in the unit (the hard limit is 1024 too, so a shell cannot raise it without root; limits.d or `--ulimit nofile=65536:65536` for a container)".into(),
        };
        push(
            out,
            CheckId::SoftLimit1024,
            Severity::Warning,
            format!(
                "soft RLIMIT_NOFILE is 1024 (the select()-era default) and {} does not raise it → set it before start: {fix}",
                snap.runtime.kind.name(),
            ),
        );
    }
    if let Some(s) = net.somaxconn {
        if s < 4096 {
            push(
                out,
                CheckId::Somaxconn,
                Severity::Warning,
                format!(
                    "net.core.somaxconn is {s} (listen backlogs are cut to it) → 4096 (Linux ≥ 5.4 default) → `sysctl -w net.core.somaxconn=4096`"
                ),
            );
        }
    }
}

/// The same on a Mac: launchd's 256 default, a hard limit only root can raise, and
/// kern.ipc.somaxconn (128 by default).
fn macos_limits(out: &mut Vec<Check>, snap: &Snapshot) {
    let p = &snap.process;
    let perproc = super::macos::perproc(snap);
    let read = !nofile_assumed(snap);
    if let (Rlim::Value(hard), true) = (p.nofile.hard, read) {
        if !p.caps.sys_resource && hard < perproc {
            push(
                out,
                CheckId::HardLimitLocked,
                Severity::Warning,
                format!(
                    "hard RLIMIT_NOFILE is {hard} (kern.maxfilesperproc allows {perproc}) and only root can raise it → more than {hard} fds per process need a higher hard limit where the process is started ({}, HardResourceLimits NumberOfFiles in its launchd plist) or several processes",
                    super::macos::launchctl_limit(snap, perproc)
                ),
            );
        }
    }
    if let (Rlim::Value(soft), true) = (p.nofile.soft, read) {
        if soft <= 256 && !crate::snapshot::runtime::raises_soft_to_hard(snap.runtime.kind) {
            push(
                out,
                CheckId::SoftLimit256,
                Severity::Warning,
                format!(
                    "soft RLIMIT_NOFILE is {soft} (launchd's default) and {} does not raise it → set it before start: `ulimit -n {perproc}` in the shell, or {} for what launchd starts (launchctl takes numbers only)",
                    snap.runtime.kind.name(),
                    super::macos::launchctl_limit(snap, perproc)
                ),
            );
        }
    }
    if let Some(s) = snap.net.somaxconn {
        if s < 1024 {
            push(
                out,
                CheckId::Somaxconn,
                Severity::Info,
                format!(
                    "kern.ipc.somaxconn is {s} (listen backlogs are cut to it; the macOS default is 128) → for servers that take bursts of connections, 1024 or more → `sudo sysctl -w kern.ipc.somaxconn=1024`"
                ),
            );
        }
    }
}
