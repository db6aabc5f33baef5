//! `porttune flood`: the arguments as [`FloodOptions`], the run with a progress bar, the
//! report in the format asked (and `--report`), the exit code.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::cli::{FloodArgs, FloodFormat};
use crate::error::Result;
use crate::flood::options::{self, Owner, TargetCheck};
use crate::flood::report::FloodReport;
use crate::flood::{FloodOptions, Progress};

/// The options `args` ask for, checked in the order the messages have always come in:
/// the numbers, then `--target`, then `--workers`.
pub fn options(a: &FloodArgs) -> Result<FloodOptions> {
    let mut o = FloodOptions {
        max: a.max,
        duration_s: a.duration,
        connect_timeout_ms: a.connect_timeout,
        workers: None,
        listen_ports: a.listen_ports,
        source_ips: a.source_ips,
        target: TargetCheck::Builtin,
        owner: Owner {
            pid: a.pid,
            process: a.process.clone(),
            unit: a.unit.clone(),
        },
        churn: a.churn,
        graceful: a.graceful,
        app_limits: a.app_limit.clone(),
        selector: a.selector.map(Into::into),
        window: a.window,
        require: a.require,
        hold_s: a.hold,
    };
    options::validate(&o)?;
    let target = a.target.as_deref().map(localhost);
    o.target = options::check_target(target.as_deref(), a.allow_remote)?;
    o.workers = options::parse_workers(&a.workers)?;
    Ok(o)
}

/// `localhost:PORT` (any case) as the loopback address that has a listener on PORT: the
/// resolver's loopback addresses in its order (as a client of `localhost` would try them),
/// else 127.0.0.1 then ::1; the first that listens, or the first of them when none does (the
/// flood then says nothing listens). Nothing is sent to find out. Anything else is returned
/// as it is.
fn localhost(t: &str) -> String {
    use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, ToSocketAddrs};
    let Some((host, port)) = t.rsplit_once(':') else {
        return t.to_string();
    };
    let Ok(port) = port.parse::<u16>() else {
        return t.to_string();
    };
    if !host.eq_ignore_ascii_case("localhost") {
        return t.to_string();
    }
    let mut cands: Vec<SocketAddr> = ("localhost", port)
        .to_socket_addrs()
        .map(|it| it.filter(|a| a.ip().is_loopback()).collect())
        .unwrap_or_default();
    for ip in [
        IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(Ipv6Addr::LOCALHOST),
    ] {
        let a = SocketAddr::new(ip, port);
        if !cands.contains(&a) {
            cands.push(a);
        }
    }
    let pick = cands
        .iter()
        .find(|a| crate::snapshot::listening::is_listening(**a) == Some(true))
        .unwrap_or(&cands[0]);
    pick.to_string()
}

/// Run the flood with its notes on standard error and a progress bar when standard error is
/// a terminal (also `apply --verify`).
pub fn measure(o: &FloodOptions) -> Result<FloodReport> {
    let mut bar: Option<ProgressBar> = None;
    let mut show = |p: Progress| match p {
        Progress::Note(n) => crate::errln!("{n}"),
        Progress::Start { max } => {
            bar = std::io::stderr().is_terminal().then(|| {
                let pb = ProgressBar::with_draw_target(Some(max), ProgressDrawTarget::stderr());
                pb.set_style(
                    ProgressStyle::with_template(
                        "{elapsed_precise} [{bar:30}] {pos}/{len} established  {msg}",
                    )
                    .unwrap_or_else(|_| ProgressStyle::default_bar())
                    .progress_chars("=> "),
                );
                pb
            });
        }
        Progress::Tick {
            established,
            rate_per_s,
        } => {
            if let Some(pb) = &bar {
                pb.set_position(established);
                pb.set_message(format!("{rate_per_s:.0} conn/s"));
            }
        }
        Progress::Finish => {
            if let Some(pb) = bar.take() {
                pb.finish_and_clear();
            }
        }
    };
    crate::flood::measure(o, &mut show)
}

/// Run `porttune flood`: measure, print the report (and write `--report`); returns the exit code.
pub fn run(args: &FloodArgs) -> Result<i32> {
    use crate::render::flood as render;
    // An unusable --report path is bad input: found before the flood, not after it.
    if let Some(path) = &args.report {
        crate::fsio::check_output_path(path, "the report")?;
    }
    let o = options(args)?;
    if let TargetCheck::Remote(a) = &o.target {
        crate::errln!("warning: flooding {a}, which is not a loopback address (--allow-remote)");
    }
    let report = measure(&o)?;
    let text = match args.format {
        FloodFormat::Text => crate::render::wrap::wrap_lines(
            &render::text(&report),
            crate::render::wrap::terminal_width(),
        ),
        FloodFormat::Json => render::json(&report),
        FloodFormat::Markdown => render::markdown(&report),
    };
    crate::out!("{text}");
    if let Some(path) = &args.report {
        crate::fsio::write_output(path, render::markdown(&report).as_bytes(), "the report")?;
    }
    Ok(report.exit_code())
}
