//! `porttune check`.

use crate::cli::{CheckArgs, CheckFormat, ScenarioArgs, SourceArgs};
use crate::error::{Error, Result, exit};
use crate::model::{self, Scenario, checks};
use crate::render;
use crate::snapshot::{self, Snapshot, probe::ProbeOptions};

pub fn scenario(a: &ScenarioArgs) -> Scenario {
    Scenario {
        kind: a.scenario.into(),
        destinations: a.destinations,
        source_ips: a.source_ips,
        bind_before_connect: a.bind_before_connect,
        listen_ports: a.listen_ports,
        listen_ports_in_range: a.listen_ports_in_range,
        extra_fds: None,
        processes: a.processes,
        procs_per_conn: a.procs_per_conn,
        threads_per_conn: a.threads_per_conn,
        acceptor_paused: a.acceptor_paused,
        keep_alive: a.keep_alive,
        backlog: a.backlog,
        churn: a.churn,
        app_limits: a.app_limit.clone(),
        selector: a.selector.map(Into::into),
        port: a.port,
    }
}

/// Read the host (or load the snapshot), and save it when asked. Returns the snapshot and
/// where it came from.
pub fn snapshot(a: &SourceArgs) -> Result<(Snapshot, String)> {
    if let Some(path) = &a.save {
        crate::fsio::check_output_path(path, "the snapshot")?;
    }
    let since = a
        .since
        .as_deref()
        .map(|s| snapshot::logtime::parse_since(s, now_epoch()))
        .transpose()
        .map_err(Error::Usage)?;
    let (mut snap, source) = match &a.from {
        Some(path) => {
            if a.runtime.is_some()
                || a.erl_flags.is_some()
                || a.vm_args.is_some()
                || a.nginx_conf.is_some()
                || a.nofile.is_some()
                || a.runtime_version.is_some()
                || a.haproxy_conf.is_some()
                || a.config.is_some()
            {
                return Err(Error::Usage(
                    "--from loads a saved snapshot as it is; --runtime, --erl-flags, --vm-args, --nginx-conf, --haproxy-conf, --config, --nofile and --runtime-version apply when reading a host".into(),
                ));
            }
            (
                snapshot::load(path)?,
                format!("snapshot {}", path.display()),
            )
        }
        None => {
            let (pid, unit) = target(a)?;
            let opts = ProbeOptions {
                pid,
                proc_root: a.proc_root.clone(),
                runtime: a.runtime.map(Into::into),
                erl_flags: a.erl_flags.clone(),
                vm_args: a.vm_args.clone(),
                nginx_conf: a.nginx_conf.clone(),
                kernel_log: Some(crate::model::evidence::is_evidence),
                nofile: a.nofile,
                runtime_version: a.runtime_version.clone(),
                haproxy_conf: a.haproxy_conf.clone(),
                config: a.config.clone(),
                since,
            };
            let mut snap = snapshot::probe::probe(&opts)?;
            let src = match (&unit, pid) {
                (Some(u), Some(p)) => format!("this host, {} (PID {p})", u.name),
                (None, Some(p)) => format!("this host, PID {p}"),
                _ => "this host".to_string(),
            };
            if let Some(u) = unit {
                snap.notes
                    .extend(snapshot::unit::notes(&u, &snap.process.nofile));
                snap.process.unit = Some(u);
            } else if pid.is_some() {
                service_of(&mut snap);
            }
            (snap, src)
        }
    };
    // A saved snapshot's evidence, looked at from --since on.
    if let (Some(t), Some(log)) = (since, snap.kernel_log.as_mut()) {
        log.since = Some(snapshot::logtime::iso_utc(t));
    }
    if let Some(path) = &a.save {
        snapshot::save(&snap, path)?;
    }
    Ok((snap, source))
}

/// Seconds since the epoch now (for `--since 2h`).
fn now_epoch() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// A process under a systemd service (its cgroup says `…/NAME.service`): what systemd says
/// about that unit, so that the what-if knows whether a profile's drop-in or
/// DefaultLimitNOFILE= reaches it. Best effort: without systemd nothing is added.
fn service_of(snap: &mut Snapshot) {
    let Some(name) = snap.process.cgroup.path.as_deref().and_then(|c| {
        c.rsplit('/')
            .find(|p| p.ends_with(".service") && !p.starts_with("user@"))
            .map(str::to_string)
    }) else {
        return;
    };
    let Ok(name) = snapshot::unit::normalise_name(&name) else {
        return;
    };
    match snapshot::unit::query(&name) {
        Ok(u) => snap.process.unit = Some(u),
        Err(e) => snap.notes.push(format!(
            "the process runs under {name}, but systemd could not be asked about it ({e})"
        )),
    }
}

/// The process named by --pid, --process or --unit (with the unit's settings).
pub fn target(a: &SourceArgs) -> Result<(Option<u32>, Option<snapshot::unit::Unit>)> {
    let root = a
        .proc_root
        .clone()
        .unwrap_or_else(|| std::path::PathBuf::from("/proc"));
    if let Some(name) = &a.unit {
        let name = snapshot::unit::normalise_name(name)?;
        let u = snapshot::unit::query(&name)?;
        return Ok((u.main_pid, Some(u)));
    }
    if let Some(name) = &a.process {
        return Ok((Some(snapshot::by_name::find_process(&root, name)?), None));
    }
    Ok((a.pid, None))
}

pub fn run(a: &CheckArgs) -> Result<i32> {
    if !(0.0..=100.0).contains(&a.warn_at) {
        return Err(Error::Usage(format!(
            "--warn-at {}: give a percentage between 0 and 100",
            a.warn_at
        )));
    }
    // Check IDs are matched without regard to case (`softlimit1024` is SoftLimit1024).
    let mut ignore = Vec::new();
    for id in &a.ignore {
        if id.eq_ignore_ascii_case("all") {
            ignore.push("all".to_string());
            continue;
        }
        match crate::model::CheckId::from_input(id) {
            Some(k) => ignore.push(k.as_str().to_string()),
            None => {
                return Err(Error::Usage(format!(
                    "--ignore {id}: no such check (known: all, {}, {})",
                    checks::IDS.join(", "),
                    crate::model::names::IGNORABLE_ONLY
                        .iter()
                        .map(|k| k.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )));
            }
        }
    }
    let (snap, source) = snapshot(&a.source)?;
    let sc = scenario(&a.scenario);
    let pred = model::predict(&snap, &sc);
    let mut opts = checks::CheckOptions {
        require: a.require,
        warn_at: a.warn_at,
        ignore,
        allow_assumed: a.allow_assumed,
        unknown_reach: None,
    };
    let with = match &a.with {
        Some(profile) => Some((profile.clone(), what_if(&snap, profile, &sc)?)),
        None => None,
    };
    // With --with, the checks and --require judge the host as the profile would leave it.
    let found = match &with {
        Some((_, (after, after_pred, reach, unknown))) => {
            opts.unknown_reach = unknown.clone();
            let mut found = checks::run(after, after_pred, &opts);
            found.extend(unreached(reach));
            found
        }
        None => checks::run(&snap, &pred, &opts),
    };
    let report = render::CheckReport {
        snapshot: &snap,
        prediction: &pred,
        with_profile: with
            .as_ref()
            .map(|(n, (_, p, reach, _))| render::WithProfile {
                name: n.clone(),
                after: p,
                reach,
            }),
        checks: &found,
        source,
    };
    let code = exit_code(&found);
    if a.quiet {
        return Ok(code);
    }
    let out = match a.format {
        CheckFormat::Json => render::json::check(&report),
        CheckFormat::Prometheus => {
            // The host: the predicted ceiling for every scenario kind, the requested one
            // first. A process or unit: its own scenario only (a server's textfile with
            // `outbound` and `loopback` series would mean nothing for it).
            let mut preds = vec![pred.clone()];
            let host = render::prometheus::is_host_view(&snap);
            for kind in [
                model::ScenarioKind::Inbound,
                model::ScenarioKind::Outbound,
                model::ScenarioKind::Loopback,
            ] {
                if host && kind != sc.kind {
                    preds.push(model::predict(&snap, &Scenario { kind, ..sc.clone() }));
                }
            }
            render::prometheus::check(&snap, &preds, &found)
        }
        CheckFormat::Text => {
            let o = render::text::TextOptions {
                width: render::wrap::terminal_width(),
                brief: a.brief,
            };
            render::text::check(&report, &o)
        }
    };
    crate::out!("{out}");
    Ok(code)
}

/// 1 when a check failed, else 4 when `--require` cannot be judged (an assumption could flip
/// it), else 0.
pub fn exit_code(found: &[checks::Check]) -> i32 {
    let errors = || {
        found
            .iter()
            .filter(|c| c.severity == checks::Severity::Error)
    };
    if errors().any(|c| c.id != model::CheckId::CannotTell) {
        exit::FAILED
    } else if errors().next().is_some() {
        exit::CANNOT_TELL
    } else {
        exit::OK
    }
}

/// The host and the prediction as if `profile` were applied (nothing is changed), which of
/// its settings reach the process, and the host if those whose reach is not known did.
type WhatIf = (
    Snapshot,
    model::Prediction,
    Vec<crate::plan::Reach>,
    Option<Box<checks::UnknownReach>>,
);

fn what_if(snap: &Snapshot, profile: &str, sc: &Scenario) -> Result<WhatIf> {
    let (after, plan) = crate::plan::what_if(snap, profile)?;
    let pred = model::predict(&after, sc);
    let unknown = crate::plan::optimistic_after(snap, &plan).map(|best| {
        let pred = model::predict(&best, sc);
        Box::new(checks::UnknownReach {
            settings: plan
                .reach
                .iter()
                .filter(|r| !r.known)
                .map(|r| (r.setting.clone(), r.how.clone()))
                .collect(),
            snap: best,
            pred,
        })
    });
    Ok((after, pred, plan.reach, unknown))
}

/// A warning for each setting of the profile that does not reach the process: the what-if
/// does not count it.
fn unreached(reach: &[crate::plan::Reach]) -> Vec<checks::Check> {
    reach
        .iter()
        .filter(|r| !r.reaches)
        .map(|r| checks::Check {
            id: model::CheckId::NotReached,
            severity: checks::Severity::Warning,
            message: format!(
                "{} is not counted in the what-if: {} → {}",
                r.setting,
                r.how,
                if r.known {
                    "set it where the process is started"
                } else {
                    "find out how the process is started"
                }
            ),
            ignored: false,
        })
        .collect()
}
