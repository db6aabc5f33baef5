//! `porttune flood`: options, validation, the run, the report and the exit code.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;

use clap::{Args, ValueEnum};

use crate::error::{Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
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
    pub selector: Option<crate::model::Selector>,

    /// Connections opened but not yet accepted per worker (target and churn modes: connects
    /// in flight). Loopback: at most half the listen backlog.
    #[arg(long, default_value_t = 64, value_name = "N")]
    pub window: u64,

    /// Exit 1 when fewer connections than this were established.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(0..=crate::cli::MAX_CONNECTIONS))]
    pub require: Option<u64>,

    /// Output format on stdout.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,

    /// Also write the Markdown report to this file.
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
}

/// The process named by --pid, --process or --unit, if any.
pub fn named_owner(a: &FloodArgs) -> Result<Option<u32>> {
    use crate::snapshot::{target, unit};
    if let Some(u) = &a.unit {
        return Ok(unit::query(&unit::normalise_name(u)?)?.main_pid);
    }
    if let Some(p) = &a.process {
        return Ok(Some(target::find_process(
            std::path::Path::new("/proc"),
            p,
        )?));
    }
    Ok(a.pid)
}

/// Where the flood sends its connections, after validation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TargetCheck {
    Builtin,
    Local(SocketAddr),
    Remote(SocketAddr),
}

/// Parse and check `--target`: loopback only unless `allow_remote`.
pub fn check_target(target: Option<&str>, allow_remote: bool) -> Result<TargetCheck> {
    let Some(t) = target else {
        return Ok(TargetCheck::Builtin);
    };
    let addr: SocketAddr = t.parse().map_err(|_| {
        Error::Usage(format!(
            "--target {t:?}: expected IP:PORT, e.g. 127.0.0.1:8080 or [::1]:8080"
        ))
    })?;
    if addr.port() == 0 {
        return Err(Error::Usage(format!(
            "--target {t}: port 0 is not a listener"
        )));
    }
    if addr.ip().is_loopback() {
        return Ok(TargetCheck::Local(addr));
    }
    if !allow_remote {
        return Err(Error::Usage(format!(
            "--target {t} is not a loopback address (127.0.0.0/8 or ::1): refused, nothing \
             was sent. Flooding another host can take it down; add --allow-remote if it is \
             yours and you mean it"
        )));
    }
    Ok(TargetCheck::Remote(addr))
}

/// `N` or `auto`.
pub fn parse_workers(s: &str) -> Result<Option<u64>> {
    if s == "auto" {
        return Ok(None);
    }
    match s.parse::<u64>() {
        Ok(n) if (1..=super::shm::MAX_WORKERS as u64).contains(&n) => Ok(Some(n)),
        _ => Err(Error::Usage(format!(
            "--workers {s:?}: expected a number 1..{} or `auto`",
            super::shm::MAX_WORKERS
        ))),
    }
}

/// Listen ports for `count` listeners: above the ephemeral range first, then below it
/// (down to `lowest`), then inside it from the top. Returns the ports and how many lie inside.
pub fn choose_ports(
    range: Option<(u16, u16)>,
    count: usize,
    lowest: u16,
    usable: &mut dyn FnMut(u16) -> bool,
) -> (Vec<u16>, u64) {
    let (lo, hi) = range.unwrap_or((32768, 60999));
    let mut out = Vec::with_capacity(count);
    let above = (hi as u32 + 1..=65535).map(|p| p as u16);
    let below = (lowest as u32..lo as u32).rev().map(|p| p as u16);
    for p in above.chain(below) {
        if out.len() == count {
            return (out, 0);
        }
        if usable(p) {
            out.push(p);
        }
    }
    let mut inside = 0;
    for p in (lo..=hi).rev() {
        if out.len() == count {
            break;
        }
        if usable(p) {
            out.push(p);
            inside += 1;
        }
    }
    (out, inside)
}

/// Longest `--duration` (a day): a flood is a bounded test.
pub const MAX_DURATION_S: f64 = 86_400.0;
/// Longest `--connect-timeout` (ten minutes).
pub const MAX_CONNECT_TIMEOUT_MS: u64 = 600_000;
/// Largest `--window`.
pub const MAX_WINDOW: u64 = 1 << 20;

fn validate(args: &FloodArgs) -> Result<()> {
    if args.max == 0 {
        return Err(Error::Usage("--max must be at least 1".into()));
    }
    if !(args.duration > 0.0 && args.duration <= MAX_DURATION_S) {
        return Err(Error::Usage(format!(
            "--duration {}: give a number of seconds above 0, at most {MAX_DURATION_S} (one day)",
            args.duration
        )));
    }
    if !(1..=MAX_CONNECT_TIMEOUT_MS).contains(&args.connect_timeout) {
        return Err(Error::Usage(format!(
            "--connect-timeout {}: give 1..{MAX_CONNECT_TIMEOUT_MS} ms",
            args.connect_timeout
        )));
    }
    if args.window > MAX_WINDOW {
        return Err(Error::Usage(format!(
            "--window {}: at most {MAX_WINDOW}",
            args.window
        )));
    }
    if !(1..=1000).contains(&args.listen_ports) {
        return Err(Error::Usage("--listen-ports must be 1..1000".into()));
    }
    if !(1..=254).contains(&args.source_ips) {
        return Err(Error::Usage(
            "--source-ips must be 1..254 (127.0.0.1..127.0.0.254)".into(),
        ));
    }
    if args.window == 0 {
        return Err(Error::Usage("--window must be at least 1".into()));
    }
    Ok(())
}

/// Source IPs for `n`: none bound for 1 (the kernel picks 127.0.0.1), else 127.0.0.1..n.
pub fn source_ips(n: u64) -> Vec<Ipv4Addr> {
    if n <= 1 {
        Vec::new()
    } else {
        (1..=n as u8).map(|i| Ipv4Addr::new(127, 0, 0, i)).collect()
    }
}

/// Run the flood described by `args` and build its report, without printing it (also used
/// by `apply --verify`).
pub fn measure(args: &FloodArgs) -> Result<super::report::FloodReport> {
    validate(args)?;
    let target = check_target(args.target.as_deref(), args.allow_remote)?;
    let workers = parse_workers(&args.workers)?;
    if let TargetCheck::Remote(a) = &target {
        crate::errln!("warning: flooding {a}, which is not a loopback address (--allow-remote)");
    }
    super::platform::check_sources(&source_ips(args.source_ips)).map_err(Error::Usage)?;
    super::run::measure(args, &target, workers)
}

/// Run `porttune flood`: measure, print the report (and write `--report`); returns the exit code.
pub fn run(args: &FloodArgs) -> Result<i32> {
    use super::render;
    // An unusable --report path is bad input: found before the flood, not after it.
    if let Some(path) = &args.report {
        crate::fsio::check_output_path(path, "the report")?;
    }
    let report = measure(args)?;
    let text = match args.format {
        Format::Text => crate::render::wrap::wrap_lines(
            &render::text(&report),
            crate::render::wrap::terminal_width(),
        ),
        Format::Json => render::json(&report),
        Format::Markdown => render::markdown(&report),
    };
    crate::out::write_bytes(text.as_bytes());
    if let Some(path) = &args.report {
        crate::fsio::write_output(path, render::markdown(&report).as_bytes(), "the report")?;
    }
    Ok(report.exit_code())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn target_loopback_only() {
        assert_eq!(check_target(None, false).unwrap(), TargetCheck::Builtin);
        assert!(matches!(
            check_target(Some("127.0.0.1:80"), false),
            Ok(TargetCheck::Local(_))
        ));
        assert!(matches!(
            check_target(Some("127.3.2.1:80"), false),
            Ok(TargetCheck::Local(_))
        ));
        assert!(matches!(
            check_target(Some("[::1]:80"), false),
            Ok(TargetCheck::Local(_))
        ));
        let e = check_target(Some("10.0.0.1:80"), false).unwrap_err();
        assert_eq!(e.exit_code(), 2);
        assert!(matches!(
            check_target(Some("10.0.0.1:80"), true),
            Ok(TargetCheck::Remote(_))
        ));
        assert_eq!(
            check_target(Some("localhost"), false)
                .unwrap_err()
                .exit_code(),
            2
        );
        assert_eq!(
            check_target(Some("127.0.0.1:0"), false)
                .unwrap_err()
                .exit_code(),
            2
        );
    }

    #[test]
    fn workers_arg() {
        assert_eq!(parse_workers("auto").unwrap(), None);
        assert_eq!(parse_workers("3").unwrap(), Some(3));
        assert!(parse_workers("0").is_err());
        assert!(parse_workers("x").is_err());
    }

    #[test]
    fn ports_outside_range() {
        let (p, inside) = choose_ports(Some((40000, 40999)), 2, 1024, &mut |_| true);
        assert_eq!(p, vec![41000, 41001]);
        assert_eq!(inside, 0);
        // the range reaches 65535: below it
        let (p, inside) = choose_ports(Some((1024, 65535)), 2, 1, &mut |_| true);
        assert_eq!(p, vec![1023, 1022]);
        assert_eq!(inside, 0);
        // nothing outside: from the top of the range, counted
        let (p, inside) = choose_ports(Some((1024, 65535)), 2, 1024, &mut |_| true);
        assert_eq!(p, vec![65535, 65534]);
        assert_eq!(inside, 2);
        // busy ports are skipped
        let (p, _) = choose_ports(Some((40000, 40999)), 1, 1024, &mut |p| p != 41000);
        assert_eq!(p, vec![41001]);
    }

    #[test]
    fn sources() {
        assert!(source_ips(1).is_empty());
        assert_eq!(source_ips(3)[2], Ipv4Addr::new(127, 0, 0, 3));
    }
}
