//! What a flood is asked to do ([`FloodOptions`], clap-free: built by `commands::flood` and
//! by `apply --verify`), its validation, and the choices made from it before the run (listen
//! ports, source addresses, the worker count).

use std::net::{Ipv4Addr, SocketAddr};

use crate::error::{Error, Result};
use crate::model::{AppLimit, Selector};

/// `--duration` by default, seconds.
pub const DEFAULT_DURATION_S: f64 = 30.0;
/// `--connect-timeout` by default, milliseconds.
pub const DEFAULT_CONNECT_TIMEOUT_MS: u64 = 2000;
/// `--window` by default.
pub const DEFAULT_WINDOW: u64 = 64;

/// One flood, as asked for.
#[derive(Debug, Clone)]
pub struct FloodOptions {
    /// Stop after this many connections (churn: open-close cycles).
    pub max: u64,
    /// Stop opening after this many seconds.
    pub duration_s: f64,
    /// A connect() still in progress after this long counts as timed out.
    pub connect_timeout_ms: u64,
    /// Worker processes; `None`: as many as RLIMIT_NOFILE needs for `max` (`--workers auto`).
    pub workers: Option<u64>,
    /// Listening ports per worker (loopback mode).
    pub listen_ports: u64,
    /// Source IPs 127.0.0.1..N.
    pub source_ips: u64,
    /// The built-in listener, or an existing server.
    pub target: TargetCheck,
    /// The process the prediction is for, when named (target mode).
    pub owner: Owner,
    pub churn: bool,
    pub graceful: bool,
    /// Caps only the application knows, for the prediction (target mode).
    pub app_limits: Vec<AppLimit>,
    /// The server's event loop when it cannot be seen (target mode).
    pub selector: Option<Selector>,
    /// Connections opened but not yet accepted per worker.
    pub window: u64,
    /// Fewer connections than this established: the report says so (exit 1).
    pub require: Option<u64>,
    /// Keep the connections open this many seconds after the run stops, before closing them
    /// (to look at them with `ss`, `porttune check --pid`, …).
    pub hold_s: f64,
}

impl FloodOptions {
    /// A bounded loopback flood up to `max` connections, everything else as `porttune flood`
    /// defaults it (one worker).
    pub fn loopback(max: u64) -> Self {
        FloodOptions {
            max,
            duration_s: DEFAULT_DURATION_S,
            connect_timeout_ms: DEFAULT_CONNECT_TIMEOUT_MS,
            workers: Some(1),
            listen_ports: 1,
            source_ips: 1,
            target: TargetCheck::Builtin,
            owner: Owner::default(),
            churn: false,
            graceful: false,
            app_limits: Vec::new(),
            selector: None,
            window: DEFAULT_WINDOW,
            require: None,
            hold_s: 0.0,
        }
    }
}

/// The server process named by `--pid`, `--process` or `--unit`.
#[derive(Debug, Clone, Default)]
pub struct Owner {
    pub pid: Option<u32>,
    pub process: Option<String>,
    pub unit: Option<String>,
}

/// The process named by --pid, --process or --unit, if any.
pub fn named_owner(a: &Owner) -> Result<Option<u32>> {
    use crate::snapshot::{by_name, unit};
    if let Some(u) = &a.unit {
        return Ok(unit::query(&unit::normalise_name(u)?)?.main_pid);
    }
    if let Some(p) = &a.process {
        return Ok(Some(by_name::find_process(
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
/// Longest `--hold` (an hour).
pub const MAX_HOLD_S: f64 = 3_600.0;
/// Longest `--connect-timeout` (ten minutes).
pub const MAX_CONNECT_TIMEOUT_MS: u64 = 600_000;
/// Largest `--window`.
pub const MAX_WINDOW: u64 = 1 << 20;

/// Check the numbers of `args` (the flag names in the messages are the command line's).
pub fn validate(args: &FloodOptions) -> Result<()> {
    if args.max == 0 {
        return Err(Error::Usage("--max must be at least 1".into()));
    }
    if !(args.duration_s > 0.0 && args.duration_s <= MAX_DURATION_S) {
        return Err(Error::Usage(format!(
            "--duration {}: give a number of seconds above 0, at most {MAX_DURATION_S} (one day)",
            args.duration_s
        )));
    }
    if !(args.hold_s >= 0.0 && args.hold_s <= MAX_HOLD_S) {
        return Err(Error::Usage(format!(
            "--hold {}: give a number of seconds from 0 to {MAX_HOLD_S} (one hour)",
            args.hold_s
        )));
    }
    if !(1..=MAX_CONNECT_TIMEOUT_MS).contains(&args.connect_timeout_ms) {
        return Err(Error::Usage(format!(
            "--connect-timeout {}: give 1..{MAX_CONNECT_TIMEOUT_MS} ms",
            args.connect_timeout_ms
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
