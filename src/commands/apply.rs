//! `porttune apply PROFILE`: journal, change, read back, restore everything on failure; with
//! `--verify`, prove the result with a bounded loopback flood.

use std::io::IsTerminal;

use std::path::Path;

use super::plan::target_options;
use super::rollback::check_state_dir;
use crate::apply::engine;
use crate::apply::prepare::{absolute, make_plan};
use crate::cli::{ApplyArgs, PlanFormat};
use crate::error::{Error, Result, exit};
use crate::flood::FloodOptions;
use crate::plan::Plan;
use crate::render;
use crate::render::plan::{PlanJson, VerifyJson};
use crate::render::wrap::terminal_width;

pub fn run(args: &ApplyArgs) -> Result<i32> {
    check_state_dir(&args.state_dir)?;
    let (mut p, sys) = make_plan(&target_options(&args.profile, &args.target))?;
    if (args.check || args.dry_run)
        && let Err(e) = engine::refuse_pending(sys.root(), &absolute(&args.state_dir)?, false)
    {
        // Nothing is changed here, but the host may not be what the plan shows.
        p.warnings.push(e.to_string());
    }
    let json = args.target.format == PlanFormat::Json;
    let required = p.prediction.as_ref().and_then(|w| w.required);
    if args.verify && required.is_none() {
        return Err(Error::Usage(format!(
            "--verify needs the profile's `require.connections` (profile `{}` has none); nothing was changed",
            p.profile
        )));
    }
    if args.check {
        return Ok(check_only(&p, json));
    }
    if args.dry_run {
        if json {
            crate::out!(
                "{}",
                render::document(&PlanJson::new(&p, 0, None, "dry-run"))
            );
        } else {
            crate::out!("{}", render::plan::text(&p));
            crate::outln!("dry run: nothing changed");
        }
        return Ok(exit::OK);
    }
    // An interrupted apply first: its journal holds the original values.
    engine::refuse_pending(sys.root(), &absolute(&args.state_dir)?, false)?;
    if p.changes.is_empty() {
        if !json {
            crate::out!("{}", render::plan::text(&p));
            crate::outln!("changed: 0 (nothing to do)");
        }
        return finish(args, &p, 0, None);
    }
    refuse_missing(&p)?;
    if !args.yes && !confirm(args, &p)? {
        return Ok(exit::FAILED);
    }
    let done = engine::execute(&p, &sys, &absolute(&args.state_dir)?)?;
    if !json {
        crate::out!(
            "{}",
            render::plan::applied(&p, done.changed, &done.journal, terminal_width())
        );
    }
    finish(args, &p, done.changed, Some(&done.journal))
}

/// `apply --check`: the plan, and exit 0 when nothing is to change, 1 otherwise.
fn check_only(p: &Plan, json: bool) -> i32 {
    if json {
        crate::out!("{}", render::document(&PlanJson::new(p, 0, None, "check")));
    } else {
        crate::out!("{}", render::plan::text(p));
        if p.changes.is_empty() {
            crate::outln!("check: in place (exit 0)");
        } else {
            crate::outln!("check: {} change(s) needed (exit 1)", p.changes.len());
        }
    }
    if p.changes.is_empty() {
        exit::OK
    } else {
        exit::FAILED
    }
}

/// Refuse the whole apply (nothing changed) when a change is not allowed here.
fn refuse_missing(p: &Plan) -> Result<()> {
    let missing = p.missing_privileges();
    if missing.is_empty() {
        return Ok(());
    }
    let mut msg = format!(
        "not allowed to make {} of {} change(s); nothing was changed:",
        missing.len(),
        p.changes.len()
    );
    for (k, needs) in &missing {
        if needs.starts_with("refused here") {
            msg.push_str(&format!("\n  {k}: {needs}"));
            continue;
        }
        msg.push_str(&format!("\n  {k}: needs {needs}"));
        if let Some(c) = p.changes.iter().find(|c| c.key == *k) {
            if let Some(w) = crate::plan::where_instead(c) {
                msg.push_str(&format!("; {w}"));
            }
        }
    }
    let keys: Vec<&str> = missing.iter().map(|(k, _)| *k).collect();
    msg.push_str(&format!(
        "\nfix the cause named, or leave those keys out: --skip {} (or `optional: true` in the profile)",
        keys.join(",")
    ));
    Err(Error::Failed(msg))
}

/// Ask on the terminal (the plan on standard error). `false`: the answer was no.
fn confirm(args: &ApplyArgs, p: &Plan) -> Result<bool> {
    if !(std::io::stdin().is_terminal() && std::io::stderr().is_terminal()) {
        return Err(Error::Usage(format!(
            "refusing to change the host without confirmation: stdin is not a terminal and --yes was not given. Nothing was changed. Review with `porttune plan {}`, then pass --yes",
            args.profile
        )));
    }
    crate::err!("{}", render::plan::text(p));
    let ok = dialoguer::Confirm::new()
        .with_prompt(format!("Apply {} change(s)?", p.changes.len()))
        .default(false)
        .interact()
        .map_err(|e| Error::Usage(format!("no answer ({e}); nothing was changed")))?;
    if !ok {
        crate::errln!("not applied; nothing was changed");
    }
    Ok(ok)
}

/// What a loopback flood proves for the profile's scenario, in one sentence.
fn verify_scope(sc: &crate::model::Scenario) -> String {
    use crate::model::ScenarioKind::*;
    let base = "a loopback flood (both ends in this host on 127.0.0.0/8, 2 fds per connection) proves the limits loopback meets here (fds, ephemeral ports, memory)";
    match sc.kind {
        Loopback => format!("{base}: the profile's own scenario"),
        Inbound => format!(
            "{base}, not real clients: it cannot prove conntrack, the NIC or the clients' side of the inbound scenario"
        ),
        Outbound => format!(
            "{base}; the profile's {} destination(s) are emulated as as many listening ports, and remote servers, NAT and conntrack on a real interface are not proven",
            sc.destinations
        ),
    }
}

/// Print the apply result (JSON: one document) and, with `--verify`, run the flood and
/// report whether the host now holds the profile's required connections: the flood must
/// reach them, and the plan's prediction for the profile's own scenario must too (a loopback
/// flood cannot prove an outbound or inbound requirement the model says is not met). After a
/// failed verify the changes stay applied (said, with the rollback command), unless
/// `--rollback-on-fail` rolls this apply's journal back.
fn finish(args: &ApplyArgs, p: &Plan, changed: usize, journal: Option<&Path>) -> Result<i32> {
    let json = args.target.format == PlanFormat::Json;
    let mut doc = PlanJson::new(p, changed, journal, "apply");
    let required = p.prediction.as_ref().and_then(|w| w.required);
    let (true, Some(n)) = (args.verify, required) else {
        if json {
            crate::out!("{}", render::document(&doc));
        }
        return Ok(exit::OK);
    };
    let flood = verify_flood(n, &p.scenario)?;
    let predicted = p.prediction.as_ref().map(|w| w.after);
    let ok = flood.measured() >= n && predicted.is_none_or(|a| a >= n);
    let rolled_back = match journal {
        Some(j) if !ok && args.rollback_on_fail => Some(engine::rollback_one(j)?),
        _ => None,
    };
    let restored = rolled_back.as_ref().is_some_and(|r| r.failed.is_empty());
    let v = VerifyJson {
        required: n,
        measured: flood.measured(),
        predicted,
        ok,
        scenario: p.scenario.kind.name(),
        proves: verify_scope(&p.scenario),
        still_applied: changed > 0 && !restored,
        rolled_back,
        flood,
    };
    if json {
        doc.verify = Some(v);
        crate::out!("{}", render::document(&doc));
    } else {
        crate::out!("{}", render::plan::verified(&v, journal, terminal_width()));
    }
    Ok(if ok { exit::OK } else { exit::FAILED })
}

/// A bounded loopback flood up to `n` connections, in as many worker processes as the fd
/// limit needs, shaped like the profile's scenario where loopback can (destinations become
/// listening ports, source IPs 127.0.0.x).
fn verify_flood(n: u64, sc: &crate::model::Scenario) -> Result<crate::flood::report::FloodReport> {
    use crate::model::ScenarioKind;
    let listen_ports = match sc.kind {
        ScenarioKind::Outbound => sc.destinations,
        ScenarioKind::Loopback => sc.listen_ports,
        ScenarioKind::Inbound => 1,
    }
    .clamp(1, 64);
    let source_ips = match sc.kind {
        ScenarioKind::Inbound => 1,
        _ => sc.source_ips,
    }
    .clamp(1, 254);
    let o = FloodOptions {
        workers: None,
        listen_ports,
        source_ips,
        ..FloodOptions::loopback(n)
    };
    super::flood::measure(&o)
}
