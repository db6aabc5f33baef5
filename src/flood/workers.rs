//! The parent side of a run: it creates the listeners, forks the worker processes (each with
//! its own fd budget), starts them together, watches the shared counters (milestones,
//! progress, deadline, signals), runs the survival check, and reaps every worker on every
//! path. It does no socket work itself.

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::time::Duration;

use nix::sys::signal::{SaFlags, SigAction, SigHandler, SigSet, Signal, kill, sigaction};
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::{ForkResult, Pid, fork};
use socket2::{Domain, SockAddr, Socket};

use super::classify::Call;
use super::engine::{self, EngineConfig};
use super::report::{Milestone, MilestoneTracker};
use super::shm::{MAX_WORKERS, Shm, mono_ns};
use crate::error::{Error, Result};
use crate::snapshot::host;

static SIGNALLED: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_: nix::libc::c_int) {
    SIGNALLED.store(true, Relaxed);
}

/// Catch SIGINT and SIGTERM into a flag (the run then stops and cleans up).
pub fn install_signal_handlers() {
    let sa = SigAction::new(
        SigHandler::Handler(on_signal),
        SaFlags::empty(),
        SigSet::empty(),
    );
    // SAFETY: the handler only stores to an atomic.
    unsafe {
        let _ = sigaction(Signal::SIGINT, &sa);
        let _ = sigaction(Signal::SIGTERM, &sa);
    }
}

pub fn signalled() -> bool {
    SIGNALLED.load(Relaxed)
}

/// Everything a run needs, decided by the CLI.
#[derive(Debug, Clone)]
pub struct RunPlan {
    pub workers: usize,
    /// Loopback: each worker's listen ports. Empty in target mode.
    pub ports: Vec<Vec<u16>>,
    pub target: Option<SocketAddr>,
    pub sources: Vec<Ipv4Addr>,
    pub max: u64,
    pub duration: Duration,
    pub connect_timeout: Duration,
    pub churn: bool,
    pub graceful: bool,
    pub window: u64,
    pub pending_cap: u64,
    pub backlog: i32,
    pub nofile_soft: u64,
    /// Target mode: the processes holding the target's listening socket, whose connections
    /// on the target port are sampled (what the server holds).
    pub target_pids: Vec<u32>,
    /// Keep the connections open this long after the run, before closing them.
    pub hold: Duration,
}

#[derive(Debug, Clone, Default)]
pub struct FirstStop {
    pub errno: i32,
    pub call: Option<Call>,
    pub at_s: f64,
    pub own_timeout: bool,
}

#[derive(Debug, Clone, Default)]
pub struct RunOutcome {
    pub established: u64,
    pub opened: u64,
    pub cycles: u64,
    pub duration_s: f64,
    pub last_new_s: f64,
    pub milestones: Vec<Milestone>,
    pub error: Option<FirstStop>,
    pub signal_at_s: Option<f64>,
    pub deadline_hit: bool,
    pub all_quota: bool,
    pub fds_in_use: u64,
    pub sockstat: crate::snapshot::Usage,
    pub listen_overflows_delta: Option<u64>,
    /// Target mode: the target's accept queue at the stop (connections it had not accepted).
    pub server_queued: Option<u64>,
    /// Target mode: connections the server's processes held at the stop (their sockets on the
    /// target port), and the most seen while sampling during the run.
    pub server_held: Option<u64>,
    pub server_held_peak: Option<u64>,
    pub survival: Option<(u64, u64)>,
    /// Kernel slab growth from the start to the stop, kB.
    pub slab_delta_kb: Option<u64>,
    /// Resident memory of all workers at the stop, kB.
    pub workers_rss_kb: Option<u64>,
    /// Proportional set size of all workers at the stop, kB (pages they share counted once).
    pub workers_pss_kb: Option<u64>,
}

/// Bind and listen on 127.0.0.1:port.
pub fn make_listener(port: u16, backlog: i32) -> std::io::Result<Socket> {
    let s = super::platform::stream(Domain::IPV4)?;
    s.set_reuse_address(true)?;
    s.bind(&SockAddr::from(SocketAddrV4::new(
        Ipv4Addr::LOCALHOST,
        port,
    )))?;
    s.listen(backlog)?;
    Ok(s)
}

/// The forked workers; whatever is left is killed and reaped on drop.
struct Children(Vec<Pid>);

impl Children {
    fn reap(&mut self, within: Duration) {
        let until = mono_ns() + within.as_nanos() as u64;
        while !self.0.is_empty() {
            self.0.retain(|&p| {
                !matches!(
                    waitpid(p, Some(WaitPidFlag::WNOHANG)),
                    Ok(WaitStatus::Exited(..)) | Ok(WaitStatus::Signaled(..)) | Err(_)
                )
            });
            if self.0.is_empty() || mono_ns() > until {
                break;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
    }
    fn alive(&mut self) -> usize {
        self.reap(Duration::ZERO);
        self.0.len()
    }
}

impl Drop for Children {
    fn drop(&mut self) {
        for &p in &self.0 {
            let _ = kill(p, Signal::SIGKILL);
        }
        for &p in &self.0 {
            let _ = waitpid(p, None);
        }
        self.0.clear();
    }
}

/// A duration in nanoseconds, saturating (a `--duration` of years stays a deadline).
fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// Why start-up must stop before worker `w` of `n`: a signal, or the deadline passed.
fn startup_stop(deadline: u64, w: usize, n: usize) -> Option<Error> {
    if signalled() {
        return Some(Error::Failed(format!(
            "interrupted while starting the workers ({w} of {n} started); no connection was opened"
        )));
    }
    (mono_ns() >= deadline).then(|| {
        Error::Failed(format!(
            "--duration elapsed while starting the workers ({w} of {n} started); no connection was opened: give a longer --duration or fewer --workers"
        ))
    })
}

fn secs(ns: u64, t0: u64) -> f64 {
    ns.saturating_sub(t0) as f64 / 1e9
}

/// Run the flood. `tick(established, seconds)` is called about every 50 ms.
pub fn run(plan: &RunPlan, tick: &mut dyn FnMut(u64, f64)) -> Result<RunOutcome> {
    let n = plan.workers;
    if n == 0 || n > MAX_WORKERS {
        return Err(Error::Usage(format!(
            "--workers must be 1..{MAX_WORKERS}, got {n}"
        )));
    }
    let shm = Shm::new().map_err(|e| Error::io("mmap shared counters", e))?;
    let listeners = open_listeners(plan)?;
    let lo0 = host::listen_overflows();
    let ctrl = shm.ctrl();
    // The --duration deadline covers starting the workers too: hundreds of forks cannot
    // stretch a 1 s run, and a signal stops the forking (the Drop of `children` reaps).
    let start = mono_ns();
    let deadline = start.saturating_add(nanos(plan.duration));
    // Workers end when this process ends, however it ends (kept until the workers are reaped).
    let lifeline = super::platform::Lifeline::new()
        .map_err(|e| Error::Internal(format!("a pipe for the workers: {e}")))?;
    let mut children = Children(Vec::with_capacity(n));
    let started = spawn(plan, &shm, listeners, deadline, &lifeline, &mut children)
        .and_then(|()| wait_ready(&shm, n, deadline, &mut children));
    if let Err(e) = started {
        ctrl.release.store(1, Relaxed);
        return Err(e);
    }

    let slab0 = host::slab_kb();
    let t0 = mono_ns();
    ctrl.go.store(1, Relaxed);
    let mut out = RunOutcome::default();
    let watched = supervise(plan, &shm, &mut children, t0, deadline, tick, &mut out);
    let Ok((ms, stop_ns)) = watched else {
        ctrl.release.store(1, Relaxed);
        return watched.map(|_| out);
    };
    let t_end = mono_ns();
    collect(plan, &shm, &children, t0, (lo0, slab0), &mut out);
    finish_times(&mut out, ms, t0, stop_ns, t_end);
    survival(plan, &shm, &mut out);
    hold(plan.hold);

    ctrl.release.store(1, Relaxed);
    // closing a million sockets takes the kernel about 15 s: wait for it rather than kill
    // workers mid-close (their remaining sockets would then close with FIN and linger)
    children.reap(Duration::from_secs(120));
    drop(children);
    Ok(out)
}

/// Loopback: each worker's listeners, opened before the fork.
fn open_listeners(plan: &RunPlan) -> Result<Vec<Vec<Socket>>> {
    let mut listeners: Vec<Vec<Socket>> = Vec::with_capacity(plan.workers);
    if plan.target.is_none() {
        for ports in &plan.ports {
            let mut v = Vec::new();
            for &p in ports {
                v.push(
                    make_listener(p, plan.backlog)
                        .map_err(|e| Error::io(format!("listen on 127.0.0.1:{p}"), e))?,
                );
            }
            listeners.push(v);
        }
    }
    Ok(listeners)
}

/// Fork the workers, each with its listeners, its share of `--max` and its destinations.
fn spawn(
    plan: &RunPlan,
    shm: &Shm,
    mut listeners: Vec<Vec<Socket>>,
    deadline: u64,
    lifeline: &super::platform::Lifeline,
    children: &mut Children,
) -> Result<()> {
    let n = plan.workers;
    let ctrl = shm.ctrl();
    for w in 0..n {
        if let Some(e) = startup_stop(deadline, w, n) {
            return Err(e);
        }
        let mine = if listeners.is_empty() {
            Vec::new()
        } else {
            std::mem::take(&mut listeners[w])
        };
        let quota = plan.max / n as u64 + u64::from((w as u64) < plan.max % n as u64);
        let dests: Vec<SocketAddr> = match plan.target {
            Some(t) => vec![t],
            None => plan.ports[w]
                .iter()
                .map(|&p| SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, p)))
                .collect(),
        };
        // SAFETY: the parent is single-threaded here (no progress thread yet); the child
        // only does socket work and leaves with _exit.
        match unsafe { fork() } {
            Err(e) => {
                return Err(Error::Internal(format!("fork worker {w}: {e}")));
            }
            Ok(ForkResult::Child) => {
                lifeline.bind_child();
                // SAFETY: resetting dispositions in the child.
                unsafe {
                    let _ = nix::sys::signal::signal(Signal::SIGINT, SigHandler::SigIgn);
                    let _ = nix::sys::signal::signal(Signal::SIGTERM, SigHandler::SigIgn);
                }
                listeners.clear();
                let cfg = EngineConfig {
                    target_mode: plan.target.is_some(),
                    listeners: mine,
                    dests,
                    sources: plan.sources.clone(),
                    quota,
                    window: plan.window,
                    pending_cap: plan.pending_cap,
                    connect_timeout: plan.connect_timeout,
                    churn: plan.churn,
                    graceful: plan.graceful,
                    errors_stop_all: plan.target.is_some(),
                    nofile_soft: plan.nofile_soft,
                    target_port: plan.target.map(|a| a.port()),
                };
                let code = engine::run(cfg, shm.slot(w), ctrl);
                // SAFETY: leave without running the parent's destructors or flushing its buffers.
                unsafe { nix::libc::_exit(code) };
            }
            Ok(ForkResult::Parent { child }) => {
                children.0.push(child);
                drop(mine);
            }
        }
    }
    Ok(())
}

/// Wait for every worker to be ready (10 s at most).
fn wait_ready(shm: &Shm, n: usize, deadline: u64, children: &mut Children) -> Result<()> {
    let until = mono_ns().saturating_add(10_000_000_000);
    while (0..n).any(|w| shm.slot(w).ready.load(Relaxed) == 0) {
        if let Some(e) = startup_stop(deadline, n, n) {
            return Err(e);
        }
        if mono_ns() > until || children.alive() < n {
            return Err(Error::Internal("a flood worker did not start".into()));
        }
        std::thread::sleep(Duration::from_micros(200));
    }
    Ok(())
}

/// Watch the run until every worker is done: progress, milestones, what the target holds,
/// signals, the deadline, dead workers. Returns the milestones and when the stop was seen.
fn supervise(
    plan: &RunPlan,
    shm: &Shm,
    children: &mut Children,
    t0: u64,
    deadline: u64,
    tick: &mut dyn FnMut(u64, f64),
    out: &mut RunOutcome,
) -> Result<(MilestoneTracker, u64)> {
    let n = plan.workers;
    let ctrl = shm.ctrl();
    let mut ms = MilestoneTracker::default();
    let mut next_tick = 0u64;
    let mut stop_ns = 0u64;
    let mut last_alive_check = 0u64;
    let held_port = held_port(plan);
    let mut next_sample = 0u64;
    loop {
        std::thread::sleep(Duration::from_micros(500));
        let now = mono_ns();
        let est: u64 = (0..n).map(|w| shm.slot(w).established.load(Relaxed)).sum();
        ms.observe(est, secs(now, t0));
        if now >= next_tick {
            tick(est, secs(now, t0));
            next_tick = now + 50_000_000;
        }
        // what the target holds, sampled at most 10 % of the time (at least every 20 ms)
        if let Some(port) = held_port
            && now >= next_sample
        {
            if let Some(h) = host::server_held(&plan.target_pids, port) {
                out.server_held_peak = Some(out.server_held_peak.unwrap_or(0).max(h));
            }
            let cost = mono_ns().saturating_sub(now);
            next_sample = mono_ns().saturating_add(cost.saturating_mul(10).max(20_000_000));
        }
        if signalled() && ctrl.stop.load(Relaxed) == 0 {
            out.signal_at_s = Some(secs(now, t0));
            ctrl.stop.store(1, Relaxed);
        }
        if now >= deadline && ctrl.stop.load(Relaxed) == 0 {
            out.deadline_hit = true;
            ctrl.stop.store(1, Relaxed);
        }
        if stop_ns == 0 && ctrl.stop.load(Relaxed) != 0 {
            stop_ns = now;
        }
        if (0..n).all(|w| shm.slot(w).done.load(Relaxed) != 0) {
            break;
        }
        // a signal: do not wait long for stragglers
        if stop_ns != 0 && out.signal_at_s.is_some() && now - stop_ns > 1_000_000_000 {
            break;
        }
        if now - last_alive_check > 100_000_000 {
            last_alive_check = now;
            if children.alive() < n && (0..n).any(|w| shm.slot(w).done.load(Relaxed) == 0) {
                return Err(Error::Internal("a flood worker died during the run".into()));
            }
        }
        if now > deadline.saturating_add(15_000_000_000) {
            break; // hard guard
        }
    }
    Ok((ms, stop_ns))
}

/// Target mode: the port whose server-side sockets are counted, when its processes are known.
fn held_port(plan: &RunPlan) -> Option<u16> {
    plan.target
        .map(|a| a.port())
        .filter(|_| !plan.target_pids.is_empty())
}

/// The state at the stop, every connection still open: the workers' counters, the host's
/// socket and memory counters (against `(listen overflows, slab)` at the start), the first
/// error.
fn collect(
    plan: &RunPlan,
    shm: &Shm,
    children: &Children,
    t0: u64,
    (lo0, slab0): (Option<u64>, Option<u64>),
    out: &mut RunOutcome,
) {
    let n = plan.workers;
    let agg = |f: &dyn Fn(usize) -> u64| (0..n).map(f).sum::<u64>();
    out.established = agg(&|w| shm.slot(w).established.load(Relaxed));
    out.server_queued = (0..n)
        .map(|w| shm.slot(w).server_queued.load(Relaxed))
        .max()
        .filter(|&q| q > 0)
        .map(|q| q - 1);
    if let Some(port) = held_port(plan) {
        out.server_held = host::server_held(&plan.target_pids, port);
        out.server_held_peak = match (out.server_held_peak, out.server_held) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
    }
    out.opened = agg(&|w| shm.slot(w).opened.load(Relaxed));
    out.cycles = agg(&|w| shm.slot(w).cycles.load(Relaxed));
    out.fds_in_use = agg(&|w| shm.slot(w).fds.load(Relaxed));
    out.sockstat = host::sockstat();
    out.slab_delta_kb = match (slab0, host::slab_kb()) {
        (Some(a), Some(b)) => Some(b.saturating_sub(a)),
        _ => None,
    };
    out.workers_rss_kb = Some(
        children
            .0
            .iter()
            .filter_map(|p| host::rss_kb(p.as_raw()))
            .sum(),
    );
    let pss: Vec<u64> = children
        .0
        .iter()
        .filter_map(|p| host::pss_kb(p.as_raw()))
        .collect();
    out.workers_pss_kb = (pss.len() == children.0.len()).then(|| pss.iter().sum());
    out.listen_overflows_delta = match (lo0, host::listen_overflows()) {
        (Some(a), Some(b)) => Some(b.saturating_sub(a)),
        _ => None,
    };
    let last_new = (0..n)
        .map(|w| shm.slot(w).last_new_ns.load(Relaxed))
        .max()
        .unwrap_or(0);
    out.last_new_s = if last_new > t0 {
        secs(last_new, t0)
    } else {
        0.0
    };
    out.all_quota = (0..n).all(|w| shm.slot(w).quota_reached.load(Relaxed) != 0);
    let first = (0..n)
        .filter(|&w| shm.slot(w).stop_errno.load(Relaxed) != 0)
        .min_by_key(|&w| shm.slot(w).stop_ns.load(Relaxed));
    if let Some(w) = first {
        let s = shm.slot(w);
        out.error = Some(FirstStop {
            errno: s.stop_errno.load(Relaxed),
            call: Call::from_code(s.stop_call.load(Relaxed)),
            at_s: secs(s.stop_ns.load(Relaxed), t0),
            own_timeout: s.own_timeout.load(Relaxed) != 0,
        });
    }
}

/// The milestones (the last one at the last new connection) and the run's duration: to the
/// first error, else to the stop (or the end), never before the last new connection.
fn finish_times(out: &mut RunOutcome, mut ms: MilestoneTracker, t0: u64, stop_ns: u64, t_end: u64) {
    ms.observe(out.established, out.last_new_s.max(1e-9));
    out.milestones = ms.hits;
    out.duration_s = match &out.error {
        Some(e) if out.signal_at_s.is_none() && !out.deadline_hit => e.at_s.max(out.last_new_s),
        _ => secs(if stop_ns != 0 { stop_ns } else { t_end }, t0).max(out.last_new_s),
    };
}

/// `--hold`: the connections stay open this long (a signal ends the wait).
fn hold(d: Duration) {
    let until = mono_ns().saturating_add(nanos(d));
    while mono_ns() < until && !signalled() {
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// After a limit: close 1 % and check new connections are accepted again.
fn survival(plan: &RunPlan, shm: &Shm, out: &mut RunOutcome) {
    if out.error.is_none() || plan.churn || out.signal_at_s.is_some() || signalled() {
        return;
    }
    let n = plan.workers;
    shm.ctrl().survival.store(1, Relaxed);
    let until = mono_ns()
        .saturating_add(nanos(plan.connect_timeout))
        .saturating_add(3_000_000_000);
    while (0..n).any(|w| shm.slot(w).surv_done.load(Relaxed) == 0)
        && mono_ns() < until
        && !signalled()
    {
        std::thread::sleep(Duration::from_millis(1));
    }
    let agg = |f: &dyn Fn(usize) -> u64| (0..n).map(f).sum::<u64>();
    let closed = agg(&|w| shm.slot(w).surv_closed.load(Relaxed));
    let reopened = agg(&|w| shm.slot(w).surv_reopened.load(Relaxed));
    out.survival = Some((closed, reopened));
}
