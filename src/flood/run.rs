//! The flood command on Linux: decide the plan, predict, measure, build the report.

use std::net::SocketAddr;
use std::time::Duration;

use super::Progress;
use super::classify::{self, Context, errno};
use super::options::{FloodOptions, TargetCheck, choose_ports, source_ips};
use super::report::*;
use super::workers::{self, RunPlan};
use crate::error::{Error, Result};
use crate::model::{self, Prediction, Scenario, ScenarioKind, names};
use crate::snapshot::Snapshot;
use crate::snapshot::probe::{ProbeOptions, probe};
use crate::snapshot::{host, sockdiag};

struct TargetFound {
    addr: SocketAddr,
    pid: Option<u32>,
    command: Option<String>,
    backlog: Option<u64>,
    /// Every process holding the listening socket (a master and its workers).
    pids: Vec<u32>,
}

fn find_target(addr: SocketAddr) -> TargetFound {
    let diag = sockdiag::listener(addr.port());
    let inode = diag
        .map(|d| d.inode)
        .filter(|&i| i != 0)
        .or_else(|| host::listen_inode(addr.port()));
    let (owner, pids) = match inode {
        Some(i) => (host::socket_owner(i), host::socket_holders(i)),
        // No inodes (macOS): the processes with a TCP listener on the port.
        None => host::listen_owner(addr.port()),
    };
    TargetFound {
        addr,
        pid: owner.as_ref().map(|o| o.0),
        command: owner.map(|o| o.1),
        backlog: diag.map(|d| d.backlog),
        pids,
    }
}

fn summarize(p: &Prediction) -> Option<PredictionSummary> {
    p.bottleneck?;
    Some(PredictionSummary {
        scenario: p.scenario.kind.name().to_string(),
        ceiling: p.ceiling,
        bottleneck: p.bottleneck_str().to_string(),
        ceilings: p
            .ceilings
            .iter()
            .map(|c| PredictedCeiling {
                name: c.name.to_string(),
                value: c.value,
                why: c.why.clone(),
                lift: c.lift.clone(),
            })
            .collect(),
        rates: p
            .rates
            .iter()
            .map(|r| PredictedRate {
                name: r.name.to_string(),
                per_second: r.per_second,
                why: r.why.clone(),
                lift: r.lift.clone(),
            })
            .collect(),
        assumptions: p.assumptions.clone(),
    })
}

/// Read the host once (porttune itself, or the target's owner) for the plan and the prediction.
fn probe_host(pid: Option<u32>, warnings: &mut Vec<String>) -> Option<Snapshot> {
    match probe(&ProbeOptions {
        pid,
        ..Default::default()
    }) {
        Ok(snap) => Some(snap),
        Err(e) => {
            warnings.push(format!("could not read the host for the prediction: {e}"));
            None
        }
    }
}

/// What was seen of a target at the stop.
struct Observed {
    listen_overflows: Option<u64>,
    queued: Option<u64>,
    backlog: Option<u64>,
    held_peak: Option<u64>,
    held_at_stop: Option<u64>,
    /// The server's processes were gone at the stop: our connections then.
    gone: Option<u64>,
}

/// The target's processes were found before the run and are gone (or zombies) after it.
fn server_gone(t: &TargetFound, out: &super::workers::RunOutcome) -> bool {
    let dead = |p: &u32| super::platform::process_gone(*p, super::platform::is_zombie);
    !t.pids.is_empty() && out.server_held.unwrap_or(0) == 0 && t.pids.iter().all(dead)
}

/// Explain a target's stop from what was observed (queue depth against its real backlog,
/// ListenOverflows, the server's own sockets), never from a setting that is not set.
fn target_stop_explanation(errno: Option<&str>, generic: &str, o: &Observed) -> String {
    let n = |v: Option<u64>| {
        v.map(crate::model::fmt::thousands)
            .unwrap_or_else(|| "?".into())
    };
    let lo = o.listen_overflows.unwrap_or(0);
    let full = lo > 0 || matches!((o.queued, o.backlog), (Some(q), Some(b)) if q >= b);
    // What was read of the queue (macOS reads neither its depth nor an overflow counter).
    let seen = o.queued.is_some() || o.listen_overflows.is_some();
    let mut queue = format!("{} queued of backlog {}", n(o.queued), n(o.backlog));
    if let Some(lo) = o.listen_overflows {
        queue.push_str(&format!(", TcpExtListenOverflows +{lo}"));
    }
    if !seen {
        queue = "the queue's depth was not read".into();
    }
    if let Some(n) = o.gone {
        return format!(
            "the server process exited during the run, holding about {} of our connections (established minus its queue): it crashed or quit at its limit (a select() loop fails at the first fd ≥ 1024: Python raises \"filedescriptor out of range in select()\")",
            crate::model::fmt::thousands(n)
        );
    }
    match errno {
        Some("ECONNRESET") | Some("EPIPE") => {
            let abort = host::tcp_abort_on_overflow() == Some(1);
            if lo > 0 && abort {
                format!(
                    "connection reset: the accept queue overflowed ({queue}) and net.ipv4.tcp_abort_on_overflow=1 makes the kernel answer with RST"
                )
            } else {
                format!(
                    "the server closed or reset connections it had accepted: it held {} at most, {} at the stop ({queue}); a server sheds like this at its own limit (nginx closes idle connections, \"reusing connections\"; Node closes what it accepts at EMFILE)",
                    n(o.held_peak),
                    n(o.held_at_stop)
                )
            }
        }
        Some("ETIMEDOUT") if full => format!(
            "connect() timed out: the server stopped accepting, its accept queue was full ({queue}) and SYNs were dropped; it held {}",
            n(o.held_at_stop)
        ),
        Some("ETIMEDOUT") if seen => format!(
            "connect() timed out while the accept queue was not full ({queue}): handshakes were slow (a busy host or server), not a queue limit; the server held {}",
            n(o.held_at_stop)
        ),
        Some("ETIMEDOUT") => format!(
            "connect() timed out ({queue}): a full accept queue (its listen backlog, capped by somaxconn) and slow handshakes cannot be told apart here; the server held {}",
            n(o.held_at_stop)
        ),
        _ => generic.to_string(),
    }
}

/// What is decided before the run: the target, the host as the prediction sees it, the
/// workers and their listen ports, the scenario.
struct Setup {
    target_addr: Option<SocketAddr>,
    found: Option<TargetFound>,
    snap: Option<Snapshot>,
    /// The fds each worker has: RLIMIT_NOFILE (soft) of this process, which the workers
    /// inherit (macOS: raised, and at most kern.maxfilesperproc).
    soft: u64,
    /// macOS: kern.maxfilesperproc is below the soft limit, so it is the fd limit.
    fd_cap_binds: bool,
    range: Option<(u16, u16)>,
    somaxconn: Option<u64>,
    /// The built-in listeners' backlog.
    backlog: u64,
    workers: u64,
    /// Every worker's listen ports, in order.
    ports: Vec<u16>,
    /// How many of them lie inside the ephemeral range.
    in_range: u64,
    scenario: Scenario,
    warnings: Vec<String>,
}

/// How many workers, and how many fds each opens besides its connections.
struct Sizing {
    workers: u64,
    extra: u64,
}

/// Run the flood and build its report (nothing printed).
pub fn measure(args: &FloodOptions, progress: &mut dyn FnMut(Progress)) -> Result<FloodReport> {
    let mut s = setup(args)?;
    let prediction = s.snap.as_ref().map(|h| model::predict(h, &s.scenario));
    let tw = Context {
        os: crate::snapshot::Os::current(),
        msl_ms: s.snap.as_ref().and_then(|h| h.net.msl_ms),
        ..Context::default()
    }
    .time_wait_s();
    if args.churn {
        progress(Progress::Note(&format!(
            "note: --churn closes every connection client-first: each leaves a TIME_WAIT \
             socket that outlives this run by {tw} s"
        )));
    }
    if args.graceful {
        progress(Progress::Note(&format!(
            "note: --graceful closes with FIN: TIME_WAIT sockets outlive this run by {tw} s"
        )));
    }
    let plan = run_plan(args, &s);
    workers::install_signal_handlers();
    progress(Progress::Start { max: args.max });
    let mut tick = |est: u64, secs: f64| {
        progress(Progress::Tick {
            established: est,
            rate_per_s: rate(est, secs),
        })
    };
    let out = workers::run(&plan, &mut tick);
    // Told on every path (an error too), so no frame of a progress bar stays on the terminal.
    progress(Progress::Finish);
    let out = out?;
    Ok(report(args, &mut s, prediction, &out))
}

/// Read the target and the host, size the workers, choose the listen ports, and state the
/// scenario the prediction is for.
fn setup(args: &FloodOptions) -> Result<Setup> {
    let mut warnings = Vec::new();
    let target_addr = match &args.target {
        TargetCheck::Builtin => None,
        TargetCheck::Local(a) | TargetCheck::Remote(a) => Some(*a),
    };
    if cfg!(target_os = "macos") && target_addr.is_none() {
        warnings.push(
            "the ephemeral ports this flood takes (net.inet.ip.portrange.first–last) are the \
             whole Mac's while it runs (a Mac has no private network stack to run it in), so \
             other programs may fail to connect until it ends; it closes with RST and leaves \
             no port in TIME_WAIT"
                .into(),
        );
    }
    // the fds the workers get, set before the host is read so the prediction sees them
    let (soft, fd_cap_binds) = fd_budget(&mut warnings)?;
    // the host as the prediction sees it: read once, before any listener is open
    let found = target(args, target_addr, &mut warnings)?;
    let snap = probe_host(found.as_ref().and_then(|t| t.pid), &mut warnings);
    let net = snap.as_ref().map(|s| &s.net);
    let range = net
        .and_then(|n| n.ip_local_port_range)
        .map(|r| (r.lo, r.hi));
    let somaxconn = net.and_then(|n| n.somaxconn);
    let backlog = somaxconn.unwrap_or(4096).min(65535);
    let sizing = size(args, snap.as_ref(), found.is_some(), soft, &mut warnings);
    let (ports, in_range) = if target_addr.is_none() {
        let unprivileged = net.and_then(|n| n.ip_unprivileged_port_start);
        listen_ports(args, range, unprivileged, sizing.workers, &mut warnings)?
    } else {
        (Vec::new(), 0)
    };
    let scenario = scenario(args, found.as_ref(), &sizing, in_range);
    Ok(Setup {
        target_addr,
        found,
        snap,
        soft,
        fd_cap_binds,
        range,
        somaxconn,
        backlog,
        workers: sizing.workers,
        ports,
        in_range,
        scenario,
        warnings,
    })
}

/// The server behind `--target`, and the process the prediction is for
/// (`--pid`/`--process`/`--unit` name it).
fn target(
    args: &FloodOptions,
    target_addr: Option<SocketAddr>,
    warnings: &mut Vec<String>,
) -> Result<Option<TargetFound>> {
    let mut found = target_addr.map(find_target);
    if let (Some(t), Some(named)) = (found.as_mut(), super::options::named_owner(&args.owner)?) {
        if let Some(owner) = t.pid.filter(|&o| o != named) {
            warnings.push(format!(
                "the listener on {} belongs to PID {owner}, not to PID {named}: the prediction is for PID {named} as asked",
                t.addr
            ));
        }
        t.pid = Some(named);
        t.command = super::platform::process_name(named);
    }
    if let Some(t) = &found
        && t.pid.is_none()
    {
        let place = if cfg!(target_os = "macos") {
            "that this user can see"
        } else {
            "in this network namespace"
        };
        warnings.push(format!(
            "no process owns a listener on {} {place}: the prediction is for porttune itself",
            t.addr
        ));
    }
    Ok(found)
}

/// The fds each flood process has (see [`super::platform::fd_budget`]): on macOS the soft
/// RLIMIT_NOFILE is first raised to MIN(hard, kern.maxfilesperproc), as any process may.
fn fd_budget(warnings: &mut Vec<String>) -> Result<(u64, bool)> {
    use nix::sys::resource::{Resource, getrlimit};
    let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE)
        .map_err(|e| Error::Internal(format!("getrlimit(RLIMIT_NOFILE): {e}")))?;
    let cap = super::platform::fd_cap();
    let b = super::platform::fd_budget(soft, hard, cap);
    let mut b = b;
    if let Some(to) = b.raise_to {
        match super::platform::set_soft_nofile(to) {
            Ok(()) => {
                warnings.push(format!(
                    "raised this process's soft RLIMIT_NOFILE from {} to {to} (its hard limit {} allows it; kern.maxfilesperproc caps it)",
                    show_limit(soft),
                    show_limit(hard)
                ));
            }
            Err(e) => {
                warnings.push(format!(
                    "could not raise the soft RLIMIT_NOFILE from {} to {to} ({e}): the workers keep it",
                    show_limit(soft)
                ));
                b = super::platform::fd_budget(soft, soft, cap);
            }
        }
    }
    Ok((
        b.usable,
        cap.is_some_and(|c| b.usable == c && c < soft.max(hard)),
    ))
}

/// A raw RLIMIT_NOFILE value as people write it.
fn show_limit(v: u64) -> String {
    crate::snapshot::Rlim::from_raw(v).to_string()
}

/// Workers: as asked, or as many as RLIMIT_NOFILE needs for `--max` (`auto`).
fn size(
    args: &FloodOptions,
    snap: Option<&Snapshot>,
    target: bool,
    soft: u64,
    warnings: &mut Vec<String>,
) -> Sizing {
    let base_fds = match snap {
        Some(s) if !target => s.process.open_fds,
        _ => super::platform::open_fds().max(3),
    };
    // fds per connection in a worker, and fds a worker opens besides connections
    let (fpc, extra) = if target {
        (1, 1)
    } else {
        (2, args.listen_ports + 1)
    };
    let per_process = soft.saturating_sub(base_fds + extra) / fpc;
    let workers = match args.workers {
        Some(n) => n,
        None if args.churn => 1,
        None => args
            .max
            .div_ceil(per_process.max(1))
            .clamp(1, super::shm::MAX_WORKERS as u64),
    };
    let limit = if cfg!(target_os = "macos") {
        format!(
            "{} fds: MIN(RLIMIT_NOFILE, kern.maxfilesperproc)",
            show_limit(soft)
        )
    } else {
        format!("RLIMIT_NOFILE {}", show_limit(soft))
    };
    if args.workers.is_none() {
        warnings.push(format!(
            "--workers auto: {workers} worker process(es), each holding up to {per_process} \
             connections ({limit})"
        ));
    }
    if workers == 1 && args.max > per_process && !target && !args.churn {
        warnings.push(format!(
            "one process holds at most {per_process} loopback connections (2 fds each, \
             {limit}); use --workers auto to measure beyond it"
        ));
    }
    Sizing { workers, extra }
}

/// Listen ports for every worker, outside the ephemeral range where possible; how many lie
/// inside it.
fn listen_ports(
    args: &FloodOptions,
    range: Option<(u16, u16)>,
    unprivileged_start: Option<u32>,
    workers: u64,
    warnings: &mut Vec<String>,
) -> Result<(Vec<u16>, u64)> {
    let l = args.listen_ports;
    let lowest = if nix::unistd::geteuid().is_root() {
        1
    } else {
        unprivileged_start.unwrap_or(1024).clamp(1, 65535) as u16
    };
    let (p, inside) = choose_ports(range, (workers * l) as usize, lowest, &mut |p| {
        workers::make_listener(p, 1).is_ok()
    });
    if p.len() < (workers * l) as usize {
        return Err(Error::Internal(format!(
            "found only {} free ports for {} listeners",
            p.len(),
            workers * l
        )));
    }
    if inside > 0 {
        warnings.push(format!(
            "{inside} listen port(s) lie inside the ephemeral range; the prediction \
             accounts for them"
        ));
    }
    Ok((p, inside))
}

/// The scenario the flood runs, for the prediction.
fn scenario(
    args: &FloodOptions,
    found: Option<&TargetFound>,
    sizing: &Sizing,
    in_range: u64,
) -> Scenario {
    match found {
        None => Scenario {
            kind: ScenarioKind::Loopback,
            listen_ports: sizing.workers * args.listen_ports,
            source_ips: args.source_ips,
            listen_ports_in_range: in_range,
            extra_fds: Some(sizing.extra),
            processes: sizing.workers,
            churn: args.churn,
            ..Default::default()
        },
        Some(t) => Scenario {
            kind: ScenarioKind::Inbound,
            backlog: t.backlog,
            churn: args.churn,
            app_limits: args.app_limits.clone(),
            selector: args.selector,
            port: Some(t.addr.port()),
            ..Default::default()
        },
    }
}

/// What the workers are told.
fn run_plan(args: &FloodOptions, s: &Setup) -> RunPlan {
    let backlog = s.backlog;
    RunPlan {
        workers: s.workers as usize,
        ports: s
            .ports
            .chunks(args.listen_ports as usize)
            .map(|c| c.to_vec())
            .collect(),
        target: s.target_addr,
        sources: source_ips(args.source_ips),
        max: args.max,
        duration: Duration::from_secs_f64(args.duration_s),
        connect_timeout: Duration::from_millis(args.connect_timeout_ms),
        churn: args.churn,
        graceful: args.graceful,
        window: if let Some(t) = &s.found {
            // at most half the target's queue in flight, so a slow acceptor sees no SYN drops
            args.window.min((t.backlog.unwrap_or(128) / 2).max(1))
        } else {
            args.window.min((backlog / 2).max(1))
        },
        pending_cap: (backlog / 2).max(1),
        backlog: backlog as i32,
        nofile_soft: s.soft,
        target_pids: s.found.as_ref().map(|t| t.pids.clone()).unwrap_or_default(),
        hold: Duration::from_secs_f64(args.hold_s),
    }
}

/// Why the run stopped: the first worker's error classified, else a signal, the deadline or
/// `--max`.
fn classify_stop(args: &FloodOptions, s: &Setup, out: &workers::RunOutcome) -> Stop {
    let lo_rose = out.listen_overflows_delta.unwrap_or(0) > 0;
    let tw = out.sockstat.tcp_time_wait.unwrap_or(0);
    match &out.error {
        Some(e)
            if out.signal_at_s.is_none_or(|s| e.at_s <= s)
                && (!out.deadline_hit || e.at_s <= args.duration_s) =>
        {
            let call = e.call.unwrap_or(classify::Call::Socket);
            let c = classify::classify(
                e.errno,
                call,
                &Context {
                    churn: args.churn,
                    listen_overflows_rose: lo_rose,
                    time_wait: tw,
                    own_timeout: e.own_timeout,
                    os: crate::snapshot::Os::current(),
                    msl_ms: s.snap.as_ref().and_then(|h| h.net.msl_ms),
                    fd_cap_binds: s.fd_cap_binds,
                },
            );
            Stop {
                reason: StopReason::Limit,
                errno: Some(errno::name(e.errno)),
                call: Some(call),
                ceiling: c.ceiling,
                explanation: c.explanation,
                at_s: e.at_s,
            }
        }
        _ => {
            let (reason, explanation) = if out.signal_at_s.is_some() {
                (StopReason::Signal, "stopped by SIGINT/SIGTERM".to_string())
            } else if out.deadline_hit {
                (
                    StopReason::Deadline,
                    format!("--duration {} s elapsed before any limit", args.duration_s),
                )
            } else {
                (
                    StopReason::Max,
                    format!("--max {} reached before any limit", args.max),
                )
            };
            Stop {
                reason,
                errno: None,
                call: None,
                ceiling: None,
                explanation,
                at_s: out.duration_s,
            }
        }
    }
}

/// Did the target server stop accepting, and how many did it hold? A server whose queue
/// filled while it accepted nothing is predicted again as a paused acceptor.
fn target_outcome(
    s: &Setup,
    t: &TargetFound,
    out: &workers::RunOutcome,
    stop: &Stop,
    prediction: &mut Option<Prediction>,
) -> TargetInfo {
    let lo_rose = out.listen_overflows_delta.unwrap_or(0) > 0;
    // the accept queue filled: predict for a paused acceptor with the listener's backlog
    let queue_full = lo_rose || stop.errno.as_deref() == Some("ETIMEDOUT");
    let stopped = queue_full
        || matches!(
            stop.errno.as_deref(),
            Some("ECONNRESET") | Some("ECONNREFUSED")
        );
    // Connections the server holds: its own sockets on the target port, sampled (the most
    // seen: a server that sheds at its limit held that many just before); without them,
    // ours minus those still waiting in its queue.
    // A server that exited at the stop (a crash at its limit) held what we had then.
    let server_accepted = if server_gone(t, out) {
        Some(
            out.established
                .saturating_sub(out.server_queued.unwrap_or(0)),
        )
    } else {
        out.server_held_peak
            .or_else(|| out.server_queued.map(|q| out.established.saturating_sub(q)))
    };
    // A server that accepted nothing is bounded by its queue alone; one that accepted
    // some and then stopped is bounded by whatever made it stop (its own ceiling).
    if queue_full && server_accepted.unwrap_or(0) == 0 {
        let paused = Scenario {
            acceptor_paused: true,
            ..s.scenario.clone()
        };
        *prediction = s
            .snap
            .as_ref()
            .map(|h| model::predict(h, &paused))
            .or(prediction.take());
    }
    TargetInfo {
        addr: t.addr.to_string(),
        pid: t.pid,
        command: t.command.clone(),
        backlog: t.backlog,
        somaxconn: s.somaxconn,
        stopped_accepting: stopped,
        server_accepted,
        queued_at_stop: out.server_queued,
        held_at_stop: out.server_held,
    }
}

/// A churn run: cycles and rates against the model's ports and sustainable rate.
fn churn_of(out: &workers::RunOutcome, summary: Option<&PredictionSummary>) -> Churn {
    let r = summary.and_then(|s| s.rates.iter().find(|r| r.name == names::TIME_WAIT_RATE));
    Churn {
        predicted_ports: summary.and_then(|s| {
            s.ceilings
                .iter()
                .find(|c| c.name == names::EPHEMERAL_PORTS)
                .map(|c| c.value)
        }),
        cycles: out.cycles,
        rate_per_s: rate(out.cycles, out.duration_s),
        time_wait: out.sockstat.tcp_time_wait,
        model_rate_per_s: r.map(|r| r.per_second),
        model_why: r.map(|r| r.why.clone()),
    }
}

/// The verdict of a hold run: measured (what the server held, else what was established)
/// against predicted; a server that sheds at its limit matches anywhere in its swing.
fn hold_verdict(
    s: &mut Setup,
    out: &workers::RunOutcome,
    stop: &Stop,
    server_accepted: Option<u64>,
    prediction: Option<&Prediction>,
    predicted: Option<u64>,
) -> Verdict {
    let measured = server_accepted
        .filter(|&n| n > 0)
        .unwrap_or(out.established);
    let v = verdict(measured, predicted, stop.reason);
    // a server that sheds at its limit (nginx closing idle connections) holds between
    // its floor after shedding and its peak: both are the predicted ceiling at work
    let shed = matches!(stop.errno.as_deref(), Some("ECONNRESET") | Some("EPIPE"));
    let floor = match (&s.snap, prediction) {
        (Some(h), Some(p)) if shed => model::servers::shed_floor(h, p),
        _ => None,
    };
    match (v, floor, predicted) {
        (Verdict::Differs, Some(lo), Some(hi)) if (lo..=hi).contains(&measured) => {
            s.warnings.push(format!(
                "the server sheds at its limit: it holds up to {} and then closes idle connections down to about {}; measured {} is within that swing",
                crate::model::fmt::thousands(hi),
                crate::model::fmt::thousands(lo),
                crate::model::fmt::thousands(measured)
            ));
            Verdict::Match
        }
        _ => v,
    }
}

/// A target's stop explained from what was observed, and named as its predicted ceiling
/// when the server held that many.
fn explain_target_stop(
    stop: &mut Stop,
    t: &TargetFound,
    out: &workers::RunOutcome,
    server_accepted: Option<u64>,
    summary: Option<&PredictionSummary>,
    verdict: Verdict,
) {
    if stop.reason == StopReason::Limit {
        stop.explanation = target_stop_explanation(
            stop.errno.as_deref(),
            &stop.explanation,
            &Observed {
                listen_overflows: out.listen_overflows_delta,
                queued: out.server_queued,
                backlog: t.backlog,
                held_peak: out.server_held_peak,
                held_at_stop: out.server_held,
                gone: server_gone(t, out).then(|| {
                    out.established
                        .saturating_sub(out.server_queued.unwrap_or(0))
                }),
            },
        );
    }
    if let (Some(acc), Some(s)) = (server_accepted.filter(|&n| n > 0), summary)
        && verdict == Verdict::Match
        && stop.reason == StopReason::Limit
    {
        stop.explanation = format!(
            "{}; the server held {} connections, which is its predicted {} ceiling",
            stop.explanation,
            crate::model::fmt::thousands(acc),
            s.bottleneck
        );
        stop.ceiling = Some(s.bottleneck.clone());
    }
}

/// The report: the stop classified, the target's outcome, the verdict, the host at the stop.
fn report(
    args: &FloodOptions,
    s: &mut Setup,
    mut prediction: Option<Prediction>,
    out: &workers::RunOutcome,
) -> FloodReport {
    let mut stop = classify_stop(args, s, out);
    let found = s.found.take();
    let target_info = found
        .as_ref()
        .map(|t| target_outcome(s, t, out, &stop, &mut prediction));
    let server_accepted = target_info.as_ref().and_then(|t| t.server_accepted);
    let summary = prediction.as_ref().and_then(summarize);
    if prediction.is_some() && summary.is_none() {
        s.warnings
            .push("the model gave no ceiling for this scenario".into());
    }
    let predicted = summary.as_ref().map(|p| p.ceiling);
    let churn = args.churn.then(|| churn_of(out, summary.as_ref()));
    let verdict = match &churn {
        Some(c) => churn_verdict(
            c.cycles,
            c.predicted_ports.or(predicted),
            c.rate_per_s,
            c.model_rate_per_s,
            stop.reason,
        ),
        None => hold_verdict(
            s,
            out,
            &stop,
            server_accepted,
            prediction.as_ref(),
            predicted,
        ),
    };
    // A target that accepted connections and then shed or stalled at its own predicted
    // ceiling stopped on that ceiling: name it.
    if let Some(t) = &found {
        explain_target_stop(
            &mut stop,
            t,
            out,
            server_accepted,
            summary.as_ref(),
            verdict,
        );
    }
    FloodReport {
        schema: SCHEMA,
        config: config(args, s, found.as_ref()),
        established: out.established,
        duration_s: out.duration_s,
        rate_per_s: rate(out.established, out.last_new_s),
        milestones: out.milestones.clone(),
        stop,
        prediction: summary,
        verdict,
        state_at_limit: Some(limit_state(out)),
        survival: out.survival.map(|(closed, reopened)| Survival {
            closed,
            reopened,
            ok: closed > 0 && reopened >= closed,
        }),
        churn,
        target: target_info,
        below_require: args.require.filter(|&r| out.established < r),
        warnings: std::mem::take(&mut s.warnings),
    }
}

/// What was run, as the report states it.
fn config(args: &FloodOptions, s: &mut Setup, found: Option<&TargetFound>) -> Config {
    Config {
        mode: if s.target_addr.is_some() {
            "target"
        } else {
            "loopback"
        }
        .into(),
        target: s.target_addr.map(|a| a.to_string()),
        workers: s.workers,
        listen_ports: std::mem::take(&mut s.ports),
        listen_ports_in_range: s.in_range,
        source_ips: if s.target_addr.is_some() {
            1
        } else {
            args.source_ips
        },
        max: args.max,
        duration_s: args.duration_s,
        connect_timeout_ms: args.connect_timeout_ms,
        graceful: args.graceful,
        churn: args.churn,
        port_range: s.range,
        backlog: match found {
            Some(t) => t.backlog,
            None => Some(s.backlog),
        },
        nofile_soft: Some(s.soft),
        os: crate::snapshot::Os::current(),
    }
}

/// `kb` over `n` connections, in bytes.
fn per_connection(kb: Option<u64>, n: u64) -> Option<u64> {
    kb.filter(|_| n > 0).map(|k| k.saturating_mul(1024) / n)
}

/// The host at the stop, every connection still open.
fn limit_state(out: &workers::RunOutcome) -> LimitState {
    LimitState {
        fds_in_use: out.fds_in_use,
        sockets_used: out.sockstat.sockets_used,
        tcp_inuse: out.sockstat.tcp_inuse,
        time_wait: out.sockstat.tcp_time_wait,
        listen_overflows: out.listen_overflows_delta,
        kernel_memory_kb: out.slab_delta_kb,
        workers_rss_kb: out.workers_rss_kb,
        workers_pss_kb: out.workers_pss_kb,
        kernel_bytes_per_connection: per_connection(out.slab_delta_kb, out.established),
        user_bytes_per_connection: per_connection(out.workers_pss_kb, out.established),
        bytes_per_connection: (out.established > 0)
            .then(|| {
                out.slab_delta_kb.map(|k| {
                    k.saturating_add(out.workers_rss_kb.unwrap_or(0))
                        .saturating_mul(1024)
                        / out.established
                })
            })
            .flatten(),
    }
}
