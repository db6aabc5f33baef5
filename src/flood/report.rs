//! The flood's result: plain serde structs and the pure functions that decide milestones and
//! the verdict. Rendering lives in `render/flood/` and computes nothing.

use serde::{Deserialize, Serialize};

use super::classify::Call;

/// Version of the JSON report.
pub const SCHEMA: u32 = 1;

/// Connection counts at which the time and rate are recorded.
pub const MILESTONES: [u64; 7] = [1_000, 10_000, 50_000, 64_000, 100_000, 500_000, 1_000_000];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    /// A hard error: a limit (or a failure that is not one, see `ceiling`).
    Limit,
    /// `--max` connections reached.
    Max,
    /// `--duration` elapsed.
    Deadline,
    /// SIGINT or SIGTERM.
    Signal,
}

impl StopReason {
    pub fn name(self) -> &'static str {
        match self {
            StopReason::Limit => "limit",
            StopReason::Max => "max",
            StopReason::Deadline => "deadline",
            StopReason::Signal => "signal",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Match,
    Differs,
    MaxReached,
    /// Stopped by --duration or a signal before any limit: nothing to compare.
    Incomplete,
}

impl Verdict {
    pub fn name(self) -> &'static str {
        match self {
            Verdict::Match => "match",
            Verdict::Differs => "differs",
            Verdict::MaxReached => "max_reached",
            Verdict::Incomplete => "incomplete",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Milestone {
    pub connections: u64,
    pub seconds: f64,
    pub rate_per_s: f64,
}

/// Records the first time each milestone is reached.
#[derive(Debug, Clone, Default)]
pub struct MilestoneTracker {
    next: usize,
    pub hits: Vec<Milestone>,
}

impl MilestoneTracker {
    /// `established` connections at `seconds` after the start.
    pub fn observe(&mut self, established: u64, seconds: f64) {
        while self.next < MILESTONES.len() && established >= MILESTONES[self.next] {
            let n = MILESTONES[self.next];
            self.hits.push(Milestone {
                connections: n,
                seconds,
                rate_per_s: rate(n, seconds),
            });
            self.next += 1;
        }
    }
}

/// Connections per second, 0 when no time has passed.
pub fn rate(n: u64, seconds: f64) -> f64 {
    if seconds > 0.0 {
        n as f64 / seconds
    } else {
        0.0
    }
}

/// Measured and predicted agree within 0.5 % or 2 connections, whichever is larger.
pub fn agrees(measured: u64, predicted: u64) -> bool {
    let diff = measured.abs_diff(predicted);
    diff <= 2 || (diff as f64) <= 0.005 * predicted as f64
}

/// The verdict for a hold run: `max_reached` when `--max` stopped it first, `incomplete` when
/// --duration or a signal stopped it before any limit, else whether the measurement agrees
/// with the prediction (no prediction: `differs`).
pub fn verdict(measured: u64, predicted: Option<u64>, reason: StopReason) -> Verdict {
    match reason {
        StopReason::Max => return Verdict::MaxReached,
        StopReason::Deadline | StopReason::Signal => return Verdict::Incomplete,
        StopReason::Limit => {}
    }
    match predicted {
        Some(p) if agrees(measured, p) => Verdict::Match,
        _ => Verdict::Differs,
    }
}

/// The verdict for a churn run. Within one TIME_WAIT lifetime a churn can make at most as many
/// connections as the port ceiling allows, so a stop on a limit compares the completed cycles
/// with the predicted ports; a run that ran out its time without a limit matches when the
/// model's sustainable rate is at least the rate reached, or when it made no more cycles than
/// the ports can hold (so the limit could not show yet).
pub fn churn_verdict(
    cycles: u64,
    predicted: Option<u64>,
    rate_per_s: f64,
    model_rate: Option<f64>,
    reason: StopReason,
) -> Verdict {
    match reason {
        StopReason::Max => Verdict::MaxReached,
        StopReason::Limit => verdict(cycles, predicted, reason),
        // A churn run normally runs out its --duration; an interrupted one proves nothing.
        StopReason::Signal => Verdict::Incomplete,
        // no limit within the run: consistent with the model when the rate stayed within the
        // sustainable one, or when fewer cycles were made than the ports TIME_WAIT can hold
        StopReason::Deadline => {
            if model_rate.is_some_and(|r| r >= rate_per_s) || predicted.is_some_and(|p| cycles <= p)
            {
                Verdict::Match
            } else {
                Verdict::Differs
            }
        }
    }
}

/// What a churn run's verdict rests on, which its verdict line says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChurnBasis {
    /// `--max` cycles were reached before any limit.
    MaxReached,
    /// A limit stopped it: the cycles against the predicted ports (the model's port ceiling,
    /// else its ceiling; `None`: no prediction).
    PortsRanOut { ports: Option<u64> },
    /// No limit, and no more cycles than the predicted ports one TIME_WAIT lifetime can hold
    /// (with no model rate at or above the rate reached to say so instead).
    WithinPorts { ports: u64 },
    /// No limit: the rate reached against the model's sustainable rate.
    Rate,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Stop {
    pub reason: StopReason,
    /// Symbolic errno ("EADDRNOTAVAIL") for a limit stop.
    pub errno: Option<String>,
    /// The call that failed.
    pub call: Option<Call>,
    /// The ceiling name the stop is classified as; None when it is not a capacity limit.
    pub ceiling: Option<String>,
    pub explanation: String,
    /// Seconds after the start.
    pub at_s: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct PredictedCeiling {
    pub name: String,
    pub value: u64,
    pub why: String,
    pub lift: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct PredictedRate {
    pub name: String,
    pub per_second: f64,
    pub why: String,
    pub lift: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct PredictionSummary {
    /// The scenario the prediction is for ("loopback", "inbound").
    pub scenario: String,
    pub ceiling: u64,
    pub bottleneck: String,
    /// The ladder, ascending.
    pub ceilings: Vec<PredictedCeiling>,
    pub rates: Vec<PredictedRate>,
    pub assumptions: Vec<String>,
}

/// Host state read at the stop, with every connection still open.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct LimitState {
    /// File descriptors open in the flood's worker processes.
    pub fds_in_use: u64,
    /// /proc/net/sockstat `sockets: used`.
    pub sockets_used: Option<u64>,
    /// /proc/net/sockstat `TCP: inuse`.
    pub tcp_inuse: Option<u64>,
    /// /proc/net/sockstat `TCP: tw`.
    pub time_wait: Option<u64>,
    /// TcpExtListenOverflows: rise during the run.
    pub listen_overflows: Option<u64>,
    /// Kernel memory (Slab) grown during the run, kB: host-wide, so other activity counts.
    #[serde(default)]
    pub kernel_memory_kb: Option<u64>,
    /// Resident memory of the flood's worker processes, kB: each counts the pages all share
    /// (the binary, libraries, the parent's copy-on-write pages) again.
    #[serde(default)]
    pub workers_rss_kb: Option<u64>,
    /// Proportional set size of the workers, kB (/proc/PID/smaps_rollup `Pss`): their
    /// memory with each shared page split between its sharers, so the sum counts it once.
    #[serde(default)]
    pub workers_pss_kb: Option<u64>,
    /// Kernel memory per established connection, bytes (slab growth / established).
    #[serde(default)]
    pub kernel_bytes_per_connection: Option<u64>,
    /// The flood's own memory per established connection, bytes (workers' PSS / established).
    #[serde(default)]
    pub user_bytes_per_connection: Option<u64>,
    /// (kernel + workers) memory per established connection, bytes.
    #[serde(default)]
    pub bytes_per_connection: Option<u64>,
}

/// After a limit: close 1 % of the connections and open as many again.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Survival {
    pub closed: u64,
    pub reopened: u64,
    /// Every closed connection could be replaced.
    pub ok: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Churn {
    /// Connections opened and closed.
    pub cycles: u64,
    pub rate_per_s: f64,
    /// TIME_WAIT sockets in the namespace at the stop.
    pub time_wait: Option<u64>,
    /// The model's sustainable rate (`time_wait_rate`), when it gives one.
    pub model_rate_per_s: Option<f64>,
    /// The model's port ceiling: at most this many cycles fit in one TIME_WAIT lifetime
    /// when ports are not reused.
    #[serde(default)]
    pub predicted_ports: Option<u64>,
    pub model_why: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct TargetInfo {
    pub addr: String,
    /// The process that owns the listening socket.
    pub pid: Option<u32>,
    pub command: Option<String>,
    /// The listener's backlog (sock_diag idiag_wqueue, `ss -lt` Send-Q).
    pub backlog: Option<u64>,
    pub somaxconn: Option<u64>,
    /// The server stopped accepting (connect timeouts while ListenOverflows rose, resets).
    pub stopped_accepting: bool,
    /// Connections the server held: the most its processes' sockets on the target port were
    /// seen to hold (sampled), else ours minus its accept queue at the stop. The verdict
    /// compares this with the prediction when it is above 0.
    #[serde(default)]
    pub server_accepted: Option<u64>,
    /// The server's sockets on the target port at the stop (after any shedding).
    #[serde(default)]
    pub held_at_stop: Option<u64>,
    /// Connections waiting in the server's accept queue at the stop.
    #[serde(default)]
    pub queued_at_stop: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Config {
    /// "loopback" (built-in listener) or "target".
    pub mode: String,
    pub target: Option<String>,
    pub workers: u64,
    pub listen_ports: Vec<u16>,
    pub listen_ports_in_range: u64,
    pub source_ips: u64,
    pub max: u64,
    pub duration_s: f64,
    pub connect_timeout_ms: u64,
    pub graceful: bool,
    pub churn: bool,
    pub port_range: Option<(u16, u16)>,
    pub backlog: Option<u64>,
    pub nofile_soft: Option<u64>,
    /// The OS the flood ran on (reports written before it said so: Linux).
    #[serde(default)]
    pub os: crate::snapshot::Os,
}

impl Config {
    /// Ports in `port_range`, both ends included.
    pub fn port_range_size(&self) -> Option<u32> {
        self.port_range
            .map(|(lo, hi)| (u32::from(hi) + 1).saturating_sub(u32::from(lo)))
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct FloodReport {
    pub schema: u32,
    pub config: Config,
    /// Connections both connected and accepted at the stop (target mode: connected; churn:
    /// completed open-close cycles).
    pub established: u64,
    /// From the start to the stop.
    pub duration_s: f64,
    /// established / time of the last new connection.
    pub rate_per_s: f64,
    pub milestones: Vec<Milestone>,
    pub stop: Stop,
    pub prediction: Option<PredictionSummary>,
    pub verdict: Verdict,
    pub state_at_limit: Option<LimitState>,
    pub survival: Option<Survival>,
    pub churn: Option<Churn>,
    pub target: Option<TargetInfo>,
    /// `--require N` given and not reached.
    pub below_require: Option<u64>,
    pub warnings: Vec<String>,
}

impl FloodReport {
    /// Exit code: 0 matched or --max reached, 1 differs or below --require.
    /// The number compared with the prediction: connections the target server accepted when
    /// it accepted some and then stopped (`--target`), else the connections established.
    pub fn measured(&self) -> u64 {
        self.target
            .as_ref()
            .and_then(|t| t.server_accepted)
            .filter(|&n| n > 0)
            .unwrap_or(self.established)
    }

    /// A churn run: what its verdict rests on ([`churn_verdict`] decides the verdict).
    pub fn churn_basis(&self) -> Option<ChurnBasis> {
        let ch = self.churn.as_ref()?;
        if self.verdict == Verdict::MaxReached {
            return Some(ChurnBasis::MaxReached);
        }
        if self.stop.reason == StopReason::Limit {
            return Some(ChurnBasis::PortsRanOut {
                ports: ch
                    .predicted_ports
                    .or(self.prediction.as_ref().map(|p| p.ceiling)),
            });
        }
        match ch.predicted_ports {
            Some(p)
                if self.verdict == Verdict::Match
                    && ch.cycles <= p
                    && ch.model_rate_per_s.is_none_or(|m| m < ch.rate_per_s) =>
            {
                Some(ChurnBasis::WithinPorts { ports: p })
            }
            _ => Some(ChurnBasis::Rate),
        }
    }

    pub fn exit_code(&self) -> i32 {
        // Ctrl-C (SIGINT) or SIGTERM: the shell convention 128 + SIGINT.
        if self.stop.reason == StopReason::Signal {
            return crate::error::exit::INTERRUPTED;
        }
        if self.below_require.is_some() {
            return crate::error::exit::FAILED;
        }
        match self.verdict {
            Verdict::Match | Verdict::MaxReached => crate::error::exit::OK,
            Verdict::Differs | Verdict::Incomplete => crate::error::exit::FAILED,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn milestones_recorded_once_in_order() {
        let mut m = MilestoneTracker::default();
        m.observe(500, 0.01);
        assert!(m.hits.is_empty());
        m.observe(1_000, 0.02);
        m.observe(1_500, 0.03);
        // a jump over several milestones records each at that time
        m.observe(70_000, 1.0);
        let got: Vec<u64> = m.hits.iter().map(|h| h.connections).collect();
        assert_eq!(got, vec![1_000, 10_000, 50_000, 64_000]);
        assert_eq!(m.hits[0].seconds, 0.02);
        assert_eq!(m.hits[0].rate_per_s, 50_000.0);
        assert_eq!(m.hits[3].rate_per_s, 64_000.0);
        m.observe(2_000_000, 10.0);
        assert_eq!(m.hits.len(), MILESTONES.len());
        assert_eq!(m.hits.last().unwrap().connections, 1_000_000);
    }

    #[test]
    fn rate_zero_time() {
        assert_eq!(rate(10, 0.0), 0.0);
        assert_eq!(rate(10, 2.0), 5.0);
    }

    #[test]
    fn agreement_window() {
        assert!(agrees(1000, 1000));
        assert!(agrees(998, 1000));
        assert!(agrees(1002, 1000));
        assert!(agrees(995, 1000));
        assert!(!agrees(994, 1000));
        assert!(!agrees(97, 100));
        // 0.5 % of 100,000 is 500
        assert!(agrees(99_500, 100_000));
        assert!(!agrees(99_499, 100_000));
        assert!(agrees(0, 2));
    }

    #[test]
    fn verdicts() {
        assert_eq!(verdict(1000, Some(1000), StopReason::Limit), Verdict::Match);
        assert_eq!(
            verdict(900, Some(1000), StopReason::Limit),
            Verdict::Differs
        );
        assert_eq!(verdict(900, None, StopReason::Limit), Verdict::Differs);
        assert_eq!(
            verdict(500, Some(1000), StopReason::Max),
            Verdict::MaxReached
        );
        assert_eq!(
            verdict(500, Some(1000), StopReason::Deadline),
            Verdict::Incomplete
        );
        assert_eq!(
            verdict(1000, Some(1000), StopReason::Signal),
            Verdict::Incomplete
        );
    }

    #[test]
    fn churn_verdicts() {
        use StopReason::*;
        assert_eq!(
            churn_verdict(200, Some(200), 5000.0, Some(3.3), Limit),
            Verdict::Match
        );
        assert_eq!(
            churn_verdict(150, Some(200), 5000.0, Some(3.3), Limit),
            Verdict::Differs
        );
        assert_eq!(
            churn_verdict(9e4 as u64, Some(200), 3000.0, Some(28000.0), Deadline),
            Verdict::Match
        );
        assert_eq!(
            churn_verdict(9e4 as u64, Some(200), 3000.0, None, Deadline),
            Verdict::Differs
        );
        assert_eq!(churn_verdict(10, None, 1.0, None, Max), Verdict::MaxReached);
    }

    fn report(verdict: Verdict, below: Option<u64>) -> FloodReport {
        FloodReport {
            schema: SCHEMA,
            config: Config {
                mode: "loopback".into(),
                target: None,
                workers: 1,
                listen_ports: vec![39999],
                listen_ports_in_range: 0,
                source_ips: 1,
                max: 100,
                duration_s: 30.0,
                connect_timeout_ms: 2000,
                graceful: false,
                churn: false,
                port_range: Some((40000, 40999)),
                backlog: Some(4096),
                nofile_soft: Some(1024),
                os: crate::snapshot::Os::Linux,
            },
            established: 100,
            duration_s: 0.1,
            rate_per_s: 1000.0,
            milestones: vec![],
            stop: Stop {
                reason: StopReason::Max,
                errno: None,
                call: None,
                ceiling: None,
                explanation: String::new(),
                at_s: 0.1,
            },
            prediction: None,
            verdict,
            state_at_limit: None,
            survival: None,
            churn: None,
            target: None,
            below_require: below,
            warnings: vec![],
        }
    }

    #[test]
    fn exit_codes() {
        assert_eq!(report(Verdict::Match, None).exit_code(), 0);
        assert_eq!(report(Verdict::MaxReached, None).exit_code(), 0);
        assert_eq!(report(Verdict::Differs, None).exit_code(), 1);
        assert_eq!(report(Verdict::Match, Some(5000)).exit_code(), 1);
    }

    #[test]
    fn json_shape() {
        let v = serde_json::to_value(report(Verdict::MaxReached, None)).unwrap();
        assert_eq!(v["schema"], 1);
        assert_eq!(v["verdict"], "max_reached");
        assert_eq!(v["stop"]["reason"], "max");
        assert!(v["milestones"].is_array());
    }
}
