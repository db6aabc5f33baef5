//! Command-line types (clap): every command's arguments, with a format enum per command and
//! clap's own copies of the stages' enums (converted with `From`). No logic here; only `main`
//! and `commands` use this module.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

pub use crate::model::scenario::{
    MAX_CONNECTIONS, MAX_DESTINATIONS, MAX_PER_CONN, MAX_PROCESSES, MAX_SOURCE_IPS,
};

pub const EXIT_CODES: &str =
    "Start with `porttune check`, then `porttune plan PROFILE`, `porttune apply PROFILE`
and `porttune flood` to prove the ceiling.

Exit codes (every command):
  0  all good: checks passed, applied or nothing to do, the flood matched the prediction
  1  ran, and the answer is no: a check failed or the prediction is below --require, a change
     failed (or SIGTERM/SIGHUP came) and everything was restored, apply --check found changes,
     apply --verify measured fewer (the changes stay applied unless --rollback-on-fail),
     the flood differs
  2  bad usage or bad input: nothing was changed
  3  internal error (a bug, the host could not be read, standard output failed)
  4  check --require: cannot tell, the verdict depends on a value porttune assumed (or on
     whether a profile's setting reaches the process)
  130  apply interrupted by SIGINT, after restoring everything it had changed";

#[derive(Debug, Parser)]
#[command(
    name = "porttune",
    version,
    about = "How many concurrent TCP connections this host can hold, what stops it first, and how to lift it",
    long_about = "porttune reads the host (ephemeral ports, TIME_WAIT reuse, RLIMIT_NOFILE, fs.file-max, \
accept queues, conntrack, memory, Erlang/JVM/nginx caps), predicts the connection ceiling for a \
scenario, names the bottleneck and shows the ladder of limits above it with how to lift each.

Runs on Linux and macOS. On macOS it speaks macOS (kern.maxfilesperproc, net.inet.ip.portrange, launchctl, LaunchDaemons); what differs there: `check --pid` needs --nofile for the process's limits, `--unit` is Linux-only (systemd), and the flood's queue and kernel-memory counters are not observed (docs/macos.md).",
    after_help = EXIT_CODES
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Read the host, predict the connection ceiling, name the bottleneck, run the checks.
    #[command(after_help = CHECK_EXAMPLES)]
    Check(Box<CheckArgs>),
    /// Open connections on loopback until a limit stops it; compare with the prediction.
    Flood(FloodArgs),
    /// Name the limit behind an error message or log (EMFILE, driver_select … fd=N, worker_connections
    /// are not enough, nf_conntrack: table full …) and show its value on this host.
    #[command(after_help = EXPLAIN_EXAMPLES)]
    Explain(Box<ExplainArgs>),
    /// Show what a profile would change and the predicted ceiling before → after.
    Plan(PlanArgs),
    /// Apply a profile: journal, change, read back; restore everything on failure.
    Apply(ApplyArgs),
    /// Restore the values and files applies changed (every open journal, or the one named).
    Rollback(RollbackArgs),
    /// What porttune has applied on this host (its journals: applied, pending, rolled back,
    /// the files written) and whether each value still holds. Exits 1 when one no longer
    /// does or an apply was left half-done.
    Status(StatusArgs),
    /// List, show and validate profiles.
    Profiles(ProfilesArgs),
    /// What porttune can and cannot do on this host, and why (root, capabilities, /proc/sys,
    /// containers, network namespace, systemd), with the fix for each "cannot". Exits 1 when
    /// something `apply` needs is missing.
    Doctor(DoctorArgs),
    /// Print a shell completion script: `porttune completions bash > /etc/bash_completion.d/porttune`.
    Completions(CompletionsArgs),
    /// Print the JSON Schema of a document porttune prints with `--format json` (`porttune
    /// schema check`), or write all of them into a directory (`--dir`).
    Schema(SchemaArgs),
    /// Print a man page (roff): `porttune man > porttune.1`, `porttune man check >
    /// porttune-check.1`, or all of them: `porttune man --dir /usr/local/share/man/man1`.
    Man(ManArgs),
}

#[derive(Debug, Clone, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Clone, Args)]
pub struct ManArgs {
    /// The subcommand whose page to print (porttune-COMMAND(1)); none: porttune(1).
    #[arg(value_parser = ["check", "explain", "flood", "plan", "apply", "rollback", "status", "profiles", "doctor", "schema", "completions", "man"])]
    pub command: Option<String>,
    /// Write every page (porttune.1, porttune-check.1, …) into DIR and list them.
    #[arg(long, value_name = "DIR", conflicts_with = "command", value_hint = clap::ValueHint::DirPath)]
    pub dir: Option<PathBuf>,
}

/// The JSON documents `porttune schema` knows (the same list as render::schema::DOCUMENTS;
/// a test in commands::schema keeps them equal).
pub const SCHEMA_DOCUMENTS: [&str; 8] = [
    "check", "flood", "plan", "rollback", "status", "doctor", "explain", "servers",
];

#[derive(Debug, Clone, Args)]
pub struct SchemaArgs {
    /// The document: the command that prints it (`apply` prints the `plan` document).
    #[arg(value_parser = SCHEMA_DOCUMENTS)]
    pub document: Option<String>,
    /// Write every schema into DIR as DOCUMENT.schema.json and list them.
    #[arg(long, value_name = "DIR", conflicts_with = "document", value_hint = clap::ValueHint::DirPath)]
    pub dir: Option<PathBuf>,
}

#[derive(Debug, Clone, Args)]
pub struct DoctorArgs {
    /// Output format (`-o json`).
    #[arg(long, short = 'o', value_enum, default_value = "text")]
    pub format: DoctorFormat,
}

/// Formats `doctor` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DoctorFormat {
    Text,
    Json,
}

pub const CHECK_EXAMPLES: &str = "Examples:
  porttune check                                      # this host, a server accepting connections
  porttune check --scenario outbound --destinations 4 # a client towards 4 (ip, port) destinations
  porttune check --scenario loopback --format json    # what `porttune flood` will measure
  porttune check --pid $(pgrep -f beam.smp)           # a running Erlang node (its limits, +Q, +P)
  porttune check --runtime erlang --erl-flags '+Q 65536 +P 1048576'   # a node not yet started
  porttune check --require 500000 --ignore HardLimitLocked            # a CI gate
  porttune check --save host.json; porttune check --from host.json    # predict anywhere

Exit codes:
  0  all checks passed (and the prediction meets --require)
  1  a check failed, or the prediction is below --require
  2  bad usage or bad input (nothing was changed)
  3  internal error
  4  cannot tell: --require would pass or fail depending on a value porttune assumed (not
     read), or with --with on whether a setting porttune cannot see reaches the process; the
     message names it and what reads it; --allow-assumed accepts the assumption";

/// Formats `check` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CheckFormat {
    Text,
    Json,
    /// node_exporter textfile collector format (check only).
    Prometheus,
}

/// Formats `explain` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExplainFormat {
    Text,
    Json,
}

/// Which connections to predict for (clap's copy of [`crate::model::ScenarioKind`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub enum ScenarioArg {
    /// A server accepting connections: 1 fd per connection in that process.
    #[default]
    Inbound,
    /// A client connecting to N distinct (ip, port) destinations: 1 fd per connection.
    Outbound,
    /// Both ends in one process on 127.0.0.0/8 (the flood's self-test): 2 fds per connection.
    Loopback,
}

impl From<ScenarioArg> for crate::model::ScenarioKind {
    fn from(a: ScenarioArg) -> Self {
        match a {
            ScenarioArg::Inbound => Self::Inbound,
            ScenarioArg::Outbound => Self::Outbound,
            ScenarioArg::Loopback => Self::Loopback,
        }
    }
}

/// How the application waits for its sockets (clap's copy of [`crate::model::Selector`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SelectorArg {
    /// select(2): only fds below FD_SETSIZE (1024) can be watched.
    Select,
    /// poll(2): no fd-number limit.
    Poll,
    /// epoll / kqueue: no fd-number limit.
    Epoll,
}

impl From<SelectorArg> for crate::model::Selector {
    fn from(a: SelectorArg) -> Self {
        match a {
            SelectorArg::Select => Self::Select,
            SelectorArg::Poll => Self::Poll,
            SelectorArg::Epoll => Self::Epoll,
        }
    }
}

/// The runtime named on the command line: every [`crate::snapshot::RuntimeKind`], spelled and
/// described as the kind itself says (one list: a kind added there is a `--runtime` value).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RuntimeArg(pub crate::snapshot::RuntimeKind);

/// [`RuntimeArg`] for each kind, in the kinds' order.
const RUNTIME_ARGS: [RuntimeArg; crate::snapshot::RuntimeKind::ALL.len()] = {
    let all = crate::snapshot::RuntimeKind::ALL;
    let mut out =
        [RuntimeArg(crate::snapshot::RuntimeKind::Native); crate::snapshot::RuntimeKind::ALL.len()];
    let mut i = 0;
    while i < all.len() {
        out[i] = RuntimeArg(all[i]);
        i += 1;
    }
    out
};

impl ValueEnum for RuntimeArg {
    fn value_variants<'a>() -> &'a [Self] {
        &RUNTIME_ARGS
    }

    fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
        Some(clap::builder::PossibleValue::new(self.0.name()).help(self.0.about()))
    }
}

impl From<RuntimeArg> for crate::snapshot::RuntimeKind {
    fn from(a: RuntimeArg) -> Self {
        a.0
    }
}

impl From<crate::snapshot::RuntimeKind> for RuntimeArg {
    fn from(k: crate::snapshot::RuntimeKind) -> Self {
        RuntimeArg(k)
    }
}

/// Which connections to predict for.
#[derive(Debug, Clone, Args)]
pub struct ScenarioArgs {
    /// inbound: a server accepting (1 fd per connection); outbound: a client; loopback: both
    /// ends in one process on 127.0.0.0/8, 2 fds per connection (what `porttune flood` runs).
    #[arg(long, value_enum, default_value = "inbound")]
    pub scenario: ScenarioArg,
    /// Outbound: distinct (ip, port) destinations. Ephemeral ports are counted per
    /// (source ip, destination ip, destination port).
    #[arg(long, default_value_t = 1, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=MAX_DESTINATIONS))]
    pub destinations: u64,
    /// Outbound and loopback: source IPs (loopback uses 127.0.0.1..N).
    #[arg(long, default_value_t = 1, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=MAX_SOURCE_IPS))]
    pub source_ips: u64,
    /// Outbound and loopback: the client binds port 0 before connect() without
    /// IP_BIND_ADDRESS_NO_PORT (as gen_tcp with `{ip, …}` does), so each source IP has one port
    /// pool for all destinations and listen ports.
    #[arg(long)]
    pub bind_before_connect: bool,
    /// Loopback: listening ports of the self-test.
    #[arg(long, default_value_t = 1, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=65535))]
    pub listen_ports: u64,
    /// Loopback: how many of the listening ports lie inside the ephemeral range (they remove
    /// ports from it). `porttune flood` puts them outside when it can.
    #[arg(long, default_value_t = 0, value_name = "N", value_parser = clap::value_parser!(u64).range(0..=65535))]
    pub listen_ports_in_range: u64,
    /// Worker processes sharing the connections: per-process ceilings count once per process,
    /// host-wide ones once.
    #[arg(long, default_value_t = 1, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=MAX_PROCESSES))]
    pub processes: u64,
    /// Erlang: processes spawned per connection (0: do not model the process table).
    #[arg(long, default_value_t = 1, value_name = "N", value_parser = clap::value_parser!(u64).range(0..=MAX_PER_CONN))]
    pub procs_per_conn: u64,
    /// Thread-per-connection servers: threads per connection (0 = event-driven).
    #[arg(long, default_value_t = 0, value_name = "N", value_parser = clap::value_parser!(u64).range(0..=MAX_PER_CONN))]
    pub threads_per_conn: u64,
    /// Inbound: the application has stopped calling accept(); the accept queue is the limit.
    #[arg(long)]
    pub acceptor_paused: bool,
    /// Inbound: the clients are HTTP keep-alive sessions, idle after a request (default:
    /// connections that send nothing, what `porttune flood` opens). Apache's event MPM holds
    /// idle keep-alive connections without a worker thread (AsyncRequestWorkerFactor).
    #[arg(long)]
    pub keep_alive: bool,
    /// Inbound: the application's listen() backlog (default: somaxconn).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(0..=i32::MAX as u64))]
    pub backlog: Option<u64>,
    /// Also report the sustainable new-connection rate against TIME_WAIT.
    #[arg(long)]
    pub churn: bool,
    /// A cap only the application knows, as a rung of the ladder: `N` or `N:NAME`, e.g.
    /// `--app-limit 5000:maxConnections` (Node server.maxConnections, Tomcat maxConnections,
    /// a pool size). Repeatable.
    #[arg(long, value_name = "N[:NAME]")]
    pub app_limit: Vec<crate::model::AppLimit>,
    /// The application's event loop when it cannot be seen: `select` caps the fds it can
    /// watch at FD_SETSIZE (1024). Default: detected from a running process (--pid).
    #[arg(long, value_enum, value_name = "KIND")]
    pub selector: Option<SelectorArg>,
    /// Inbound: the port the clients connect to. A server whose cap counts per listener
    /// (mosquitto's max_connections, RabbitMQ's AMQP/MQTT/STOMP listeners) is judged on that
    /// listener's; without it, on all of its listeners together.
    #[arg(long, value_name = "PORT", value_parser = clap::value_parser!(u16).range(1..))]
    pub port: Option<u16>,
}

/// Which host and process to read.
#[derive(Debug, Clone, Args)]
pub struct SourceArgs {
    /// Examine a running process: its limits, open fds, runtime and network namespace.
    #[arg(long, value_name = "PID", conflicts_with_all = ["from", "process", "unit"])]
    pub pid: Option<u32>,
    /// Examine the running process with this name (as `pgrep -x` matches it; a master with
    /// its workers counts once). Two unrelated processes with the name are an error.
    #[arg(long, value_name = "NAME", conflicts_with_all = ["from", "unit"])]
    pub process: Option<String>,
    /// Examine a systemd unit's main process (MainPID) and compare it with the limits the
    /// unit sets (LimitNOFILE=, TasksMax=, MemoryMax=); `nginx` means nginx.service.
    #[arg(long, value_name = "NAME.service", conflicts_with = "from")]
    pub unit: Option<String>,
    /// Load a saved snapshot (YAML or JSON by extension) instead of reading this host.
    #[arg(long, value_name = "FILE")]
    pub from: Option<PathBuf>,
    /// Save the snapshot that was read (YAML or JSON by extension).
    #[arg(long, value_name = "FILE")]
    pub save: Option<PathBuf>,
    /// Name the runtime instead of detecting it from the process.
    #[arg(long, value_enum)]
    pub runtime: Option<RuntimeArg>,
    /// Erlang flags of a node not yet running, e.g. "+Q 65536 +P 1048576".
    #[arg(long, value_name = "FLAGS", allow_hyphen_values = true)]
    pub erl_flags: Option<String>,
    /// An Erlang vm.args file of a node not yet running.
    #[arg(long, value_name = "FILE")]
    pub vm_args: Option<PathBuf>,
    /// An nginx configuration with worker_processes / worker_connections / worker_rlimit_nofile.
    #[arg(long, value_name = "FILE")]
    pub nginx_conf: Option<PathBuf>,
    /// The process's RLIMIT_NOFILE, SOFT[:HARD] (a number or `unlimited`): for `--pid` on
    /// macOS, where the OS does not show another process's limits, or for a process not yet
    /// started (`--nofile unlimited` for a shell with `ulimit -n unlimited`).
    #[arg(long, value_name = "SOFT[:HARD]", value_parser = parse_nofile)]
    pub nofile: Option<crate::snapshot::Limit>,
    /// The runtime's version, where the model depends on it: the JDK's (`17.0.9`) for the macOS
    /// MaxFDLimit cap (JDK-8324577).
    #[arg(long, value_name = "VERSION")]
    pub runtime_version: Option<String>,
    /// A HAProxy configuration (file or directory of *.cfg) instead of the process's `-f`:
    /// global/frontend maxconn, nbthread, binds, stats sockets.
    #[arg(long, value_name = "FILE")]
    pub haproxy_conf: Option<PathBuf>,
    /// A server's configuration file instead of the one its process names (mosquitto.conf,
    /// pgbouncer.ini, lighttpd.conf, apache2.conf, rabbitmq.conf): for a server not running
    /// give `--runtime` too.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Kernel-log lines from this time on are evidence of limits already hit: a time
    /// (2026-11-30T15:00:00Z; without a zone, UTC), @EPOCH, or an age (30m, 2h, 7d). Without
    /// it, a process's evidence is what the kernel logged since the process started, and the
    /// host's is what the kernel log holds.
    #[arg(long, value_name = "TIME", allow_hyphen_values = true)]
    pub since: Option<String>,
    /// Read /proc from another root (fixture trees).
    #[arg(long, value_name = "DIR", hide = true)]
    pub proc_root: Option<PathBuf>,
}

/// `SOFT[:HARD]`, each a number or `unlimited`; HARD defaults to SOFT.
fn parse_nofile(s: &str) -> Result<crate::snapshot::Limit, String> {
    use crate::snapshot::Rlim;
    let one = |v: &str| -> Result<Rlim, String> {
        match v.trim() {
            "unlimited" | "infinity" => Ok(Rlim::Unlimited),
            n => n
                .parse::<u64>()
                .map(Rlim::from_raw)
                .map_err(|_| format!("{n:?} is not a number or `unlimited`")),
        }
    };
    let (soft, hard) = match s.split_once(':') {
        Some((a, b)) => (one(a)?, one(b)?),
        None => (one(s)?, one(s)?),
    };
    if soft > hard {
        return Err(format!(
            "the soft limit {soft} is above the hard limit {hard}"
        ));
    }
    if soft == Rlim::Value(0) {
        return Err("a limit of 0 leaves no file descriptor at all".into());
    }
    Ok(crate::snapshot::Limit { soft, hard })
}

#[derive(Debug, Clone, Args)]
pub struct CheckArgs {
    #[command(flatten)]
    pub scenario: ScenarioArgs,
    #[command(flatten)]
    pub source: SourceArgs,
    /// Fail (exit 1) when the predicted ceiling is below N connections; every ceiling below N
    /// becomes an error with its fix.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(0..=MAX_CONNECTIONS))]
    pub require: Option<u64>,
    /// Demote these check IDs from error to warning (comma-separated, or `all`). `all` leaves
    /// the --require gate on (its IDs can be named one by one).
    #[arg(long, value_name = "ID,...", value_delimiter = ',', value_parser = Suggest::CheckIds, hide_possible_values = true)]
    pub ignore: Vec<String>,
    /// Judge --require with the values porttune assumed where it could not read them (and, with
    /// --with, as if the settings whose reach it cannot see reached the process), instead of
    /// exiting 4 ("cannot tell") when an assumption could flip the verdict.
    #[arg(long)]
    pub allow_assumed: bool,
    /// Warn when usage passes this share of a ceiling.
    #[arg(long, value_name = "PERCENT", default_value_t = 80.0)]
    pub warn_at: f64,
    /// Predict as if this profile (bundled name or file) were applied, without applying it;
    /// the checks and --require then judge that what-if (JSON: `with_profile`,
    /// `checks_for: "with_profile"`).
    #[arg(long, value_name = "PROFILE", value_parser = Suggest::Profiles, hide_possible_values = true)]
    pub with: Option<String>,
    /// Output format: text for people, json for scripts (`"schema": 1`), prometheus for
    /// node_exporter's textfile collector (`-o json`).
    #[arg(long, short = 'o', value_enum, default_value = "text")]
    pub format: CheckFormat,
    /// Print nothing; only the exit code says whether the checks (and --require) passed.
    #[arg(long, short = 'q', conflicts_with_all = ["brief", "format"])]
    pub quiet: bool,
    /// Text: one screen — the verdict, the bottleneck's lift, the ladder's numbers and the
    /// check IDs (without the explanations).
    #[arg(long)]
    pub brief: bool,
}

/// A free-form value whose usual answers shell completions offer: bundled profile names
/// (a path is accepted too) or check IDs (matched without regard to case in `check`).
#[derive(Debug, Clone, Copy)]
pub enum Suggest {
    Profiles,
    CheckIds,
}

impl clap::builder::TypedValueParser for Suggest {
    type Value = String;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<String, clap::Error> {
        clap::builder::StringValueParser::new().parse_ref(cmd, arg, value)
    }

    fn possible_values(
        &self,
    ) -> Option<Box<dyn Iterator<Item = clap::builder::PossibleValue> + '_>> {
        use clap::builder::PossibleValue;
        match self {
            Suggest::Profiles => Some(Box::new(
                crate::profile::bundled::BUNDLED
                    .iter()
                    .map(|(n, _)| PossibleValue::new(*n)),
            )),
            Suggest::CheckIds => Some(Box::new(
                std::iter::once("all")
                    .chain(crate::model::checks::IDS.iter().copied())
                    .chain(
                        crate::model::names::IGNORABLE_ONLY
                            .iter()
                            .map(|k| k.as_str()),
                    )
                    .map(PossibleValue::new),
            )),
        }
    }
}

pub const EXPLAIN_EXAMPLES: &str = "Examples:
  porttune explain 'accept4() failed (24: Too many open files)'
  porttune explain --pid $(pgrep -f beam.smp) 'fd=24576 is larger than the largest allowed fd=24575'
  porttune explain --file /var/log/nginx/error.log
  journalctl -u myapp --since -1h | porttune explain -
  porttune explain --no-host --format json \"$MSG\"   # the matching only, nothing read
  porttune explain --servers                         # the servers porttune knows, their caps

Exit codes:
  0  a limit was recognised (and it is not the bottleneck on the host examined)
  1  a limit was recognised and it is still the bottleneck on the host examined
  2  nothing recognised, or bad usage
  3  internal error";

#[derive(Debug, Clone, Args)]
pub struct ExplainArgs {
    /// The error message (one or more words; `-` reads standard input). Docs: docs/explain.md.
    #[arg(
        value_name = "TEXT",
        allow_hyphen_values = true,
        conflicts_with = "file"
    )]
    pub text: Vec<String>,
    /// Read the messages from this log file (its last 8 MiB when larger).
    #[arg(long, short = 'f', value_name = "LOG")]
    pub file: Option<PathBuf>,
    /// Only match the text: do not read the host for the current values.
    #[arg(long, conflicts_with_all = ["pid", "from"])]
    pub no_host: bool,
    /// List the server products porttune knows instead: what recognises each, where its
    /// configuration is, each cap setting with its default and the ceiling it feeds, the lift.
    #[arg(long, conflicts_with_all = ["text", "file", "no_host", "pid", "from"])]
    pub servers: bool,
    #[command(flatten)]
    pub scenario: ScenarioArgs,
    #[command(flatten)]
    pub source: SourceArgs,
    /// Output format: text for people, json for scripts (`"schema": 1`).
    #[arg(long, short = 'o', value_enum, default_value = "text")]
    pub format: ExplainFormat,
}

/// Formats `plan` and `apply` write.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub enum PlanFormat {
    #[default]
    Text,
    Json,
}

/// Formats `rollback` writes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub enum RollbackFormat {
    #[default]
    Text,
    Json,
}

/// Options shared by `plan` and `apply`.
#[derive(Debug, Clone, Args)]
pub struct TargetArgs {
    /// Also write files read at boot (sysctl.d, limits.d, systemd drop-ins, vm.args), even
    /// if the profile says `persist: false`.
    #[arg(long)]
    pub persist: bool,
    /// Put every persisted file under DIR instead of / (e.g. to build an image or to test).
    /// Example: --root /tmp/img writes /tmp/img/etc/sysctl.d/60-porttune-NAME.conf.
    #[arg(long, value_name = "DIR", default_value = "/")]
    pub root: PathBuf,
    /// Where sysctls are read and written [default: /proc/sys]. For chroots and fixture
    /// trees in tests.
    #[arg(long, value_name = "DIR", env = "PORTTUNE_SYSCTL_ROOT", default_value = crate::apply::sysctl::DEFAULT_ROOT)]
    pub sysctl_root: PathBuf,
    /// The OS whose settings the sysctl root holds [default: this one]. With a fixture tree
    /// as --sysctl-root, `macos` plans and applies a macOS profile on any machine (tests).
    #[arg(long, value_name = "OS", hide = true, value_parser = ["linux", "macos"])]
    pub host_os: Option<String>,
    /// Output format (`-o json`).
    #[arg(long, short = 'o', value_enum, default_value_t = PlanFormat::Text)]
    pub format: PlanFormat,
    /// Leave these sysctl keys of the profile out (comma-separated or repeated), e.g. a key
    /// that is read-only here. A profile can mark a key `optional: true` instead.
    #[arg(long, value_name = "KEY,...", value_delimiter = ',')]
    pub skip: Vec<String>,
}

/// `porttune plan PROFILE`: what `apply` would change, and the ceiling before → after.
#[derive(Debug, Clone, Args)]
pub struct PlanArgs {
    /// A bundled profile name (`porttune profiles list`) or a path to a YAML file.
    #[arg(value_parser = Suggest::Profiles, hide_possible_values = true)]
    pub profile: String,
    #[command(flatten)]
    pub target: TargetArgs,
}

/// `porttune apply PROFILE`: journal, change, read back, restore everything on failure.
#[derive(Debug, Clone, Args)]
pub struct ApplyArgs {
    /// A bundled profile name (`porttune profiles list`) or a path to a YAML file.
    #[arg(value_parser = Suggest::Profiles, hide_possible_values = true)]
    pub profile: String,
    /// Do not ask for confirmation (required when stdin is not a terminal).
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Show the plan and change nothing (same as `porttune plan`).
    #[arg(long)]
    pub dry_run: bool,
    /// Change nothing; exit 0 if the host already matches the profile, 1 if changes are
    /// needed (for Ansible `changed_when` / `failed_when`).
    #[arg(long, conflicts_with = "dry_run")]
    pub check: bool,
    /// Journal directory (old values, for `porttune rollback`).
    #[arg(long, value_name = "DIR", env = "PORTTUNE_STATE_DIR", default_value = crate::apply::journal::DEFAULT_STATE_DIR)]
    pub state_dir: PathBuf,
    /// After applying, prove it: a bounded loopback flood (`porttune flood --workers auto
    /// --max N`) up to the profile's `require.connections`; exit 1 when it measures fewer.
    #[arg(long, conflicts_with_all = ["dry_run", "check"])]
    pub verify: bool,
    /// With --verify: when the flood measures fewer than required, roll the apply back (its
    /// journal) instead of leaving the changes in place; exit 1 either way.
    #[arg(long, requires = "verify")]
    pub rollback_on_fail: bool,
    #[command(flatten)]
    pub target: TargetArgs,
}

/// `porttune rollback [JOURNAL]`: restore what an apply changed.
#[derive(Debug, Clone, Args)]
pub struct RollbackArgs {
    /// A journal file, or a journal id (prefix) in the state directory; default: every journal
    /// not yet rolled back, newest first (the oldest original values are what remains).
    pub journal: Option<String>,
    /// Journal directory.
    #[arg(long, value_name = "DIR", env = "PORTTUNE_STATE_DIR", default_value = crate::apply::journal::DEFAULT_STATE_DIR)]
    pub state_dir: PathBuf,
    /// Output format (`-o json`).
    #[arg(long, short = 'o', value_enum, default_value_t = RollbackFormat::Text)]
    pub format: RollbackFormat,
    /// Accepted so scripts can pair `rollback --yes` with `apply --yes`: rollback never asks
    /// (it only puts back values a journal recorded).
    #[arg(long, short = 'y')]
    pub yes: bool,
}

/// Formats `status` writes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub enum StatusFormat {
    #[default]
    Text,
    Json,
}

/// `porttune status`: the journals and whether what they applied still holds.
#[derive(Debug, Clone, Args)]
pub struct StatusArgs {
    /// Journal directory.
    #[arg(long, value_name = "DIR", env = "PORTTUNE_STATE_DIR", default_value = crate::apply::journal::DEFAULT_STATE_DIR)]
    pub state_dir: PathBuf,
    /// Also list the journals already rolled back or restored, one line each.
    #[arg(long)]
    pub all: bool,
    /// Output format (`-o json`).
    #[arg(long, short = 'o', value_enum, default_value_t = StatusFormat::Text)]
    pub format: StatusFormat,
}

/// `porttune profiles list|show|validate`.
#[derive(Debug, Clone, Args)]
pub struct ProfilesArgs {
    #[command(subcommand)]
    pub command: ProfilesCommand,
}

#[derive(Debug, Clone, Subcommand)]
pub enum ProfilesCommand {
    /// The bundled profiles, with who each is for.
    List,
    /// Print a bundled profile (or a file) as YAML, comments included.
    Show {
        /// A bundled name or a path.
        name: String,
        /// Print the profile with `extends` resolved instead of the text.
        #[arg(long)]
        resolved: bool,
    },
    /// Check profile files without changing anything: the schema and values, then the keys
    /// against this host's kernel (read-only). Exit 0 if all are valid, 2 otherwise.
    Validate {
        #[arg(required = true)]
        files: Vec<String>,
    },
}

/// Formats `flood` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FloodFormat {
    Text,
    Json,
    Markdown,
}

/// Open connections on loopback until a limit stops it, and compare with the prediction.
#[derive(Debug, Clone, Args)]
#[command(after_help = "Examples:\n  \
    porttune flood                              # one process, both ends, until a limit\n  \
    porttune flood --workers auto --max 1000000 # beyond one process's RLIMIT_NOFILE\n  \
    porttune flood --listen-ports 2 --source-ips 3\n  \
    porttune flood --target 127.0.0.1:8080 --connect-timeout 500\n  \
    porttune flood --churn --duration 10        # open and close: TIME_WAIT rate\n\n\
    Exit codes: 0 measured = predicted (or --max reached), 1 differs, incomplete (--duration\n\
    ran out before any limit) or below --require, 2 bad usage, 3 internal error,\n\
    130 interrupted (Ctrl-C).")]
pub struct FloodArgs {
    /// Stop after this many connections (churn: open-close cycles).
    #[arg(long, default_value_t = 100_000, value_name = "N")]
    pub max: u64,

    /// Stop opening after this many seconds.
    #[arg(long, default_value_t = 30.0, value_name = "S")]
    pub duration: f64,

    /// A connect() still in progress after this many milliseconds counts as timed out
    /// (ETIMEDOUT), which stops the run.
    #[arg(long = "connect-timeout", default_value_t = 2000, value_name = "MS")]
    pub connect_timeout: u64,

    /// Worker processes, each with its own fd budget: a number, or `auto` (as many as
    /// RLIMIT_NOFILE needs for --max). The prediction is per-process ceilings × N.
    #[arg(long, default_value = "1", value_name = "N|auto")]
    pub workers: String,

    /// Listening ports per worker (loopback mode). Each (source ip, listen port) tuple has
    /// its own ephemeral port pool. Ports are chosen outside the ephemeral range when possible.
    #[arg(long = "listen-ports", default_value_t = 1, value_name = "N")]
    pub listen_ports: u64,

    /// Source IPs 127.0.0.1..127.0.0.N, bound with IP_BIND_ADDRESS_NO_PORT.
    #[arg(long = "source-ips", default_value_t = 1, value_name = "N")]
    pub source_ips: u64,

    /// Flood an existing local server (IP:PORT) instead of the built-in listener; the
    /// prediction is `inbound` for the process that owns the listening socket.
    #[arg(long, value_name = "IP:PORT")]
    pub target: Option<String>,

    /// With --target: predict for this process (instead of the one that owns the listener).
    #[arg(long, value_name = "PID", requires = "target", conflicts_with_all = ["process", "unit"])]
    pub pid: Option<u32>,

    /// With --target: predict for the running process with this name (as `pgrep -x`).
    #[arg(
        long,
        value_name = "NAME",
        requires = "target",
        conflicts_with = "unit"
    )]
    pub process: Option<String>,

    /// With --target: predict for this systemd unit's main process (MainPID).
    #[arg(long, value_name = "NAME.service", requires = "target")]
    pub unit: Option<String>,

    /// Allow a --target outside 127.0.0.0/8 and ::1 (you flood someone else's host).
    #[arg(long = "allow-remote")]
    pub allow_remote: bool,

    /// Open and close continuously (the client closes first, gracefully) and measure the
    /// sustained rate against the TIME_WAIT limit. TIME_WAIT outlives the run by 60 s.
    #[arg(long)]
    pub churn: bool,

    /// Close with FIN at the end instead of RST (leaves TIME_WAIT behind for 60 s).
    #[arg(long)]
    pub graceful: bool,

    /// --target: a cap only the application knows, for the prediction (as `check
    /// --app-limit`): `N` or `N:NAME`. Repeatable.
    #[arg(long, value_name = "N[:NAME]")]
    pub app_limit: Vec<crate::model::AppLimit>,

    /// --target: the server's event loop when it cannot be seen (`select`: FD_SETSIZE).
    #[arg(long, value_enum, value_name = "KIND")]
    pub selector: Option<SelectorArg>,

    /// Connections opened but not yet accepted per worker (target and churn modes: connects
    /// in flight). Loopback: at most half the listen backlog.
    #[arg(long, default_value_t = 64, value_name = "N")]
    pub window: u64,

    /// Exit 1 when fewer connections than this were established.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(0..=MAX_CONNECTIONS))]
    pub require: Option<u64>,

    /// Keep the connections open this many seconds after the run stops, then close them
    /// (at most 3600): time to look at them with `ss -s` or `porttune check --pid WORKER`.
    /// Ctrl-C ends the wait.
    #[arg(long, default_value_t = 0.0, value_name = "S")]
    pub hold: f64,

    /// Output format on stdout (`-o json`).
    #[arg(long, short = 'o', value_enum, default_value_t = FloodFormat::Text)]
    pub format: FloodFormat,

    /// Also write the Markdown report to this file.
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
}
