//! `porttune plan`, `apply`, `rollback` and `profiles`: argument types and entry points.
//! Each `run_*` returns the exit code (docs/profiles.md, "Exit codes").

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use clap::{Args, Subcommand, ValueEnum};
use serde_json::json;

use super::engine;
use super::journal::DEFAULT_STATE_DIR;
use super::sysctl::{DEFAULT_ROOT, SysctlFs};
use crate::error::{Error, Result, exit};
use crate::fsio as persist;
use crate::plan::{self, LiveHost, Plan, PlanOptions};
use crate::profile::{self, bundled};

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub enum Format {
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
    #[arg(long, value_name = "DIR", env = "PORTTUNE_SYSCTL_ROOT", default_value = DEFAULT_ROOT)]
    pub sysctl_root: PathBuf,
    /// The OS whose settings the sysctl root holds [default: this one]. With a fixture tree
    /// as --sysctl-root, `macos` plans and applies a macOS profile on any machine (tests).
    #[arg(long, value_name = "OS", hide = true, value_parser = ["linux", "macos"])]
    pub host_os: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Leave these sysctl keys of the profile out (comma-separated or repeated), e.g. a key
    /// that is read-only here. A profile can mark a key `optional: true` instead.
    #[arg(long, value_name = "KEY,...", value_delimiter = ',')]
    pub skip: Vec<String>,
}

/// `porttune plan PROFILE`: what `apply` would change, and the ceiling before → after.
#[derive(Debug, Clone, Args)]
pub struct PlanArgs {
    /// A bundled profile name (`porttune profiles list`) or a path to a YAML file.
    #[arg(value_parser = crate::cli::Suggest::Profiles, hide_possible_values = true)]
    pub profile: String,
    #[command(flatten)]
    pub target: TargetArgs,
}

/// `porttune apply PROFILE`: journal, change, read back, restore everything on failure.
#[derive(Debug, Clone, Args)]
pub struct ApplyArgs {
    /// A bundled profile name (`porttune profiles list`) or a path to a YAML file.
    #[arg(value_parser = crate::cli::Suggest::Profiles, hide_possible_values = true)]
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
    #[arg(long, value_name = "DIR", env = "PORTTUNE_STATE_DIR", default_value = DEFAULT_STATE_DIR)]
    pub state_dir: PathBuf,
    /// After applying, prove it: a bounded loopback flood (`porttune flood --workers auto
    /// --max N`) up to the profile's `require.connections`; exit 1 when it measures fewer.
    #[arg(long, conflicts_with_all = ["dry_run", "check"])]
    pub verify: bool,
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
    #[arg(long, value_name = "DIR", env = "PORTTUNE_STATE_DIR", default_value = DEFAULT_STATE_DIR)]
    pub state_dir: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
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

fn fmt_num(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn absolute(p: &Path) -> Result<PathBuf> {
    std::path::absolute(p).map_err(|e| Error::Usage(format!("{}: {e}", p.display())))
}

/// Take out of the profile the keys named by `--skip`, and the `optional: true` keys this
/// process may not write here (with the cause). Unknown `--skip` keys are a usage error.
fn leave_out(
    prof: &mut profile::Profile,
    sys: &SysctlFs,
    here: &crate::snapshot::Snapshot,
    skip: &[String],
) -> Result<Vec<plan::Skipped>> {
    let mut out = Vec::new();
    for key in skip {
        if prof.sysctl.remove(key).is_none() {
            let keys: Vec<&str> = prof.sysctl.keys().map(String::as_str).collect();
            return Err(Error::Usage(format!(
                "--skip {key}: profile `{}` sets no such sysctl (it sets: {}); nothing was changed",
                prof.name,
                keys.join(", ")
            )));
        }
        out.push(plan::Skipped {
            key: key.clone(),
            why: "left out with --skip".into(),
        });
    }
    let (initial, container) = (here.net.initial_netns, here.platform.container.is_some());
    let refused: Vec<(String, String)> = prof
        .sysctl
        .iter()
        .filter(|(k, e)| e.optional && sys.exists(k))
        .filter_map(|(k, _)| Some((k.clone(), sys.refusal(k, initial, container)?)))
        // Not being root is fixed by running as root: only a refusal by this place skips.
        .filter(|(_, cause)| !cause.starts_with("not root"))
        .collect();
    for (key, cause) in refused {
        prof.sysctl.remove(&key);
        out.push(plan::Skipped {
            key,
            why: format!("optional, and refused here: {cause}"),
        });
    }
    Ok(out)
}

/// Name the real cause of every sysctl change this process may not make here.
fn explain_refusals(p: &mut Plan, sys: &SysctlFs, here: &crate::snapshot::Snapshot) {
    let (initial, container) = (here.net.initial_netns, here.platform.container.is_some());
    for c in p.changes.iter_mut() {
        if !matches!(c.action, plan::Action::Sysctl { .. }) {
            continue;
        }
        if let Some(cause) = sys.refusal(&c.key, initial, container) {
            c.allowed = false;
            // Not root: `needs` already says what it takes (root, and which capability).
            if !cause.starts_with("not root") {
                c.needs = format!("refused here: {cause}");
            }
        }
    }
}

/// Build the plan for the live host (or the sysctl root given) and the prediction.
fn make_plan(profile_spec: &str, t: &TargetArgs) -> Result<(Plan, SysctlFs)> {
    let mut prof = profile::load(profile_spec)?;
    let sys = SysctlFs::new(absolute(&t.sysctl_root)?);
    let os = match t.host_os.as_deref() {
        Some("macos") => crate::snapshot::Os::Macos,
        Some(_) => crate::snapshot::Os::Linux,
        None => crate::snapshot::Os::current(),
    };
    let host = LiveHost {
        sysctl: sys.clone(),
        os,
    };
    let here = crate::snapshot::probe::probe(&Default::default()).unwrap_or_default();
    let left_out = leave_out(&mut prof, &sys, &here, &t.skip)?;
    let opts = PlanOptions {
        persist: if t.persist { Some(true) } else { None },
        // Journals record absolute paths, so a rollback works from any directory.
        root: absolute(&t.root)?,
    };
    let mut p = plan::build(&prof, &host, &opts)?;
    p.skipped.extend(left_out);
    if os == crate::snapshot::Os::Linux {
        // Namespaces, containers, /proc/net: the Linux reasons and warnings.
        explain_refusals(&mut p, &sys, &here);
        let listening = super::warn::listening_ports();
        p.warnings
            .extend(super::warn::port_range(&p, &here, &listening));
    }
    confine(&p, &opts.root)?;
    super::ports::order_for_kernel(&mut p);
    let mut before = here;
    if before.platform.os != os {
        // A tree of another OS's settings: only this process's limits carry over.
        before = crate::snapshot::Snapshot {
            platform: crate::snapshot::Platform {
                os,
                ..Default::default()
            },
            process: before.process,
            ..Default::default()
        };
    }
    plan::overlay(&mut before, &host, &prof);
    if os == crate::snapshot::Os::Linux {
        super::ports::prepare(&mut before, &sys, &super::warn::listening_ports());
    }
    plan::attach_prediction(
        &mut p,
        &before,
        prof.require.as_ref().map(|r| r.connections),
    );
    Ok((p, sys))
}

/// Every file the plan writes stays under `--root` without a symbolic link on the way, and
/// replaces only a regular file (exit 2 before anything is changed).
fn confine(p: &Plan, root: &Path) -> Result<()> {
    for c in &p.changes {
        if let plan::Action::File { path, .. } = &c.action {
            persist::check_confined(root, path)
                .map_err(|m| Error::Usage(format!("{m}; nothing was changed")))?;
            persist::check_replaceable(path)
                .map_err(|e| Error::Usage(format!("{e}; nothing was changed")))?;
        }
    }
    Ok(())
}

/// The plan as text.
pub fn render_plan(p: &Plan) -> String {
    use crate::render::wrap::{terminal_width, wrap};
    use colored::Colorize;
    let w = terminal_width();
    let mut s = format!(
        "{} `{}` ({}), persist: {}\n",
        "Profile".bold(),
        p.profile,
        p.source,
        if p.persist { "yes" } else { "no" }
    );
    if p.changes.is_empty() {
        s.push_str("No changes needed: the host already matches the profile.\n");
    } else {
        s.push_str(&format!("{} change(s):\n", p.changes.len()));
        for c in &p.changes {
            s.push_str(&format!(
                "  {}: {} → {}\n",
                c.key,
                c.from.as_deref().unwrap_or("(unknown)"),
                c.to
            ));
            let mut d = format!(
                "scope: {}; needs: {}{}; restart: {}",
                c.scope,
                c.needs,
                if c.allowed {
                    String::new()
                } else {
                    " (MISSING)".red().bold().to_string()
                },
                c.restart.as_deref().unwrap_or("no")
            );
            if let Some(why) = &c.why {
                d.push_str(&format!("; {why}"));
            }
            s.push_str(&wrap(&d, w, "      ", "        "));
            if let Some(instead) = crate::plan::where_instead(c) {
                s.push_str(&wrap(&instead, w, "      ", "        "));
            }
        }
    }
    if !p.unchanged.is_empty() {
        s.push_str("Already in place:\n");
        for u in &p.unchanged {
            let t = format!("{} = {} ({})", u.key, u.value, u.why);
            s.push_str(&wrap(&t, w, "  ", "      "));
        }
    }
    if !p.skipped.is_empty() {
        s.push_str("Skipped:\n");
        for k in &p.skipped {
            s.push_str(&wrap(&format!("{}: {}", k.key, k.why), w, "  ", "      "));
        }
    }
    for warning in &p.warnings {
        let first = format!("{} ", "warning:".yellow());
        s.push_str(&wrap(warning, w, &first, "  "));
    }
    if let Some(pred) = &p.prediction {
        let side = |n: u64, b: &str| {
            if b.is_empty() {
                "n/a (no prediction)".to_string()
            } else {
                format!("{} (bottleneck: {b})", fmt_num(n))
            }
        };
        let mut t = format!(
            "{} ({}): {} → {}",
            "Predicted ceiling".bold(),
            p.scenario.kind.name(),
            side(pred.before, &pred.before_bottleneck),
            side(pred.after, &pred.after_bottleneck)
        );
        if let Some(r) = pred.required {
            t.push_str(&format!("; the profile requires {}", fmt_num(r)));
        }
        s.push_str(&wrap(&t, w, "", "  "));
    }
    s
}

fn plan_json(p: &Plan, changed: usize, journal: Option<&Path>, mode: &str) -> serde_json::Value {
    json!({
        "profile": p.profile,
        "source": p.source,
        "mode": mode,
        "persist": p.persist,
        "changes": p.changes,
        "changed": changed,
        "needed": p.changes.len(),
        "journal": journal.map(|j| j.display().to_string()),
        "unchanged": p.unchanged,
        "skipped": p.skipped,
        "warnings": p.warnings,
        "prediction": p.prediction,
    })
}

fn print_json(v: &serde_json::Value) {
    crate::outln!("{}", serde_json::to_string_pretty(v).unwrap_or_default());
}

pub fn run_plan(args: &PlanArgs) -> Result<i32> {
    let (p, _) = make_plan(&args.profile, &args.target)?;
    match args.target.format {
        Format::Text => crate::out!("{}", render_plan(&p)),
        Format::Json => print_json(&plan_json(&p, 0, None, "plan")),
    }
    Ok(exit::OK)
}

pub fn run_apply(args: &ApplyArgs) -> Result<i32> {
    check_state_dir(&args.state_dir)?;
    let (mut p, sys) = make_plan(&args.profile, &args.target)?;
    if (args.check || args.dry_run)
        && let Err(e) = engine::refuse_pending(sys.root(), &absolute(&args.state_dir)?, false)
    {
        // Nothing is changed here, but the host may not be what the plan shows.
        p.warnings.push(e.to_string());
    }
    let json = args.target.format == Format::Json;
    let required = p.prediction.as_ref().and_then(|w| w.required);
    if args.verify && required.is_none() {
        return Err(Error::Usage(format!(
            "--verify needs the profile's `require.connections` (profile `{}` has none); nothing was changed",
            p.profile
        )));
    }
    if args.check {
        if json {
            print_json(&plan_json(&p, 0, None, "check"));
        } else {
            crate::out!("{}", render_plan(&p));
            if p.changes.is_empty() {
                crate::outln!("check: in place (exit 0)");
            } else {
                crate::outln!("check: {} change(s) needed (exit 1)", p.changes.len());
            }
        }
        return Ok(if p.changes.is_empty() {
            exit::OK
        } else {
            exit::FAILED
        });
    }
    if args.dry_run {
        if json {
            print_json(&plan_json(&p, 0, None, "dry-run"));
        } else {
            crate::out!("{}", render_plan(&p));
            crate::outln!("dry run: nothing changed");
        }
        return Ok(exit::OK);
    }
    // An interrupted apply first: its journal holds the original values.
    engine::refuse_pending(sys.root(), &absolute(&args.state_dir)?, false)?;
    if p.changes.is_empty() {
        if !json {
            crate::out!("{}", render_plan(&p));
            crate::outln!("changed: 0 (nothing to do)");
        }
        return finish(
            args,
            json.then(|| plan_json(&p, 0, None, "apply")),
            required,
            &p,
        );
    }
    let missing = p.missing_privileges();
    if !missing.is_empty() {
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
        return Err(Error::Failed(msg));
    }
    if !args.yes {
        if !(std::io::stdin().is_terminal() && std::io::stderr().is_terminal()) {
            return Err(Error::Usage(format!(
                "refusing to change the host without confirmation: stdin is not a terminal and --yes was not given. Nothing was changed. Review with `porttune plan {}`, then pass --yes",
                args.profile
            )));
        }
        crate::err!("{}", render_plan(&p));
        let ok = dialoguer::Confirm::new()
            .with_prompt(format!("Apply {} change(s)?", p.changes.len()))
            .default(false)
            .interact()
            .map_err(|e| Error::Usage(format!("no answer ({e}); nothing was changed")))?;
        if !ok {
            crate::errln!("not applied; nothing was changed");
            return Ok(exit::FAILED);
        }
    }
    let done = engine::execute(&p, &sys, &absolute(&args.state_dir)?)?;

    if !json {
        crate::outln!(
            "{} `{}`:",
            colored::Colorize::bold("Applied profile"),
            p.profile
        );
        for c in &p.changes {
            crate::outln!(
                "  {}: {} → {} ({})",
                c.key,
                c.from.as_deref().unwrap_or("?"),
                c.to,
                c.scope
            );
            if let Some(r) = &c.restart {
                crate::outln!("      takes effect after: {r}");
            }
        }
        for w in &p.warnings {
            crate::outln!("warning: {w}");
        }
        crate::outln!("changed: {}", done.changed);
        crate::outln!(
            "journal: {} (undo: porttune rollback)",
            done.journal.display()
        );
    }
    finish(
        args,
        json.then(|| plan_json(&p, done.changed, Some(&done.journal), "apply")),
        required,
        &p,
    )
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
/// flood cannot prove an outbound or inbound requirement the model says is not met).
fn finish(
    args: &ApplyArgs,
    json: Option<serde_json::Value>,
    required: Option<u64>,
    p: &Plan,
) -> Result<i32> {
    let verified = match (args.verify, required) {
        (true, Some(n)) => Some((n, verify_flood(n, &p.scenario)?)),
        _ => None,
    };
    let predicted = p.prediction.as_ref().map(|w| w.after);
    let met = |n: u64, r: &crate::flood::report::FloodReport| {
        r.measured() >= n && predicted.is_none_or(|a| a >= n)
    };
    let code = match &verified {
        Some((n, r)) if !met(*n, r) => exit::FAILED,
        _ => exit::OK,
    };
    let kind = p.scenario.kind.name();
    let scope = verify_scope(&p.scenario);
    match json {
        Some(mut v) => {
            if let Some((n, r)) = &verified {
                v["verify"] = json!({
                    "required": n,
                    "measured": r.measured(),
                    "predicted": predicted,
                    "ok": met(*n, r),
                    "scenario": kind,
                    "proves": scope,
                    "flood": serde_json::to_value(r).unwrap_or_default(),
                });
            }
            print_json(&v);
        }
        None => {
            if let Some((n, r)) = &verified {
                crate::outln!("\nverify: up to the profile's {n} connections; {scope}");
                crate::out!(
                    "{}",
                    crate::render::wrap::wrap_lines(
                        &crate::flood::render::text(r),
                        crate::render::wrap::terminal_width()
                    )
                );
                let short = predicted.filter(|&a| a < *n).map(|a| {
                    format!(
                        "; the plan predicts {} for the profile's {kind} scenario, below the required {}: a loopback flood cannot prove it",
                        fmt_num(a),
                        fmt_num(*n)
                    )
                });
                crate::outln!(
                    "verify: {} — measured {} on loopback, required {n}{}",
                    if met(*n, r) {
                        colored::Colorize::green("ok").to_string()
                    } else {
                        colored::Colorize::bold(colored::Colorize::red("FAILED")).to_string()
                    },
                    r.measured(),
                    short.unwrap_or_default()
                );
            }
        }
    }
    Ok(code)
}

/// A bounded loopback flood up to `n` connections, in as many worker processes as the fd
/// limit needs, shaped like the profile's scenario where loopback can (destinations become
/// listening ports, source IPs 127.0.0.x).
fn verify_flood(n: u64, sc: &crate::model::Scenario) -> Result<crate::flood::report::FloodReport> {
    use crate::model::ScenarioKind;
    use clap::{Args as _, FromArgMatches as _};
    let cmd = crate::flood::cli::FloodArgs::augment_args(clap::Command::new("flood"));
    let max = n.to_string();
    let ports = match sc.kind {
        ScenarioKind::Outbound => sc.destinations,
        ScenarioKind::Loopback => sc.listen_ports,
        ScenarioKind::Inbound => 1,
    }
    .clamp(1, 64)
    .to_string();
    let ips = match sc.kind {
        ScenarioKind::Inbound => 1,
        _ => sc.source_ips,
    }
    .clamp(1, 254)
    .to_string();
    let m = cmd
        .try_get_matches_from([
            "flood",
            "--max",
            &max,
            "--workers",
            "auto",
            "--listen-ports",
            &ports,
            "--source-ips",
            &ips,
        ])
        .map_err(|e| Error::Internal(format!("verify flood arguments: {e}")))?;
    let fa = crate::flood::cli::FloodArgs::from_arg_matches(&m)
        .map_err(|e| Error::Internal(format!("verify flood arguments: {e}")))?;
    crate::flood::cli::measure(&fa)
}

pub fn run_rollback(args: &RollbackArgs) -> Result<i32> {
    check_state_dir(&args.state_dir)?;
    let all = engine::rollback(&absolute(&args.state_dir)?, args.journal.as_deref())?;
    let failed = all.iter().any(|r| !r.failed.is_empty());
    let code = if failed { exit::FAILED } else { exit::OK };
    if args.format == Format::Json {
        let cat = |f: fn(&engine::RolledBack) -> &Vec<String>| -> Vec<String> {
            all.iter().flat_map(|r| f(r).iter().cloned()).collect()
        };
        let first = all.first();
        print_json(&json!({
            "journal": first.map(|r| r.journal.display().to_string()),
            "profile": first.map(|r| r.profile.clone()),
            "already": all.iter().all(|r| r.already),
            "restored": cat(|r| &r.restored),
            "failed": cat(|r| &r.failed),
            "warnings": cat(|r| &r.warnings),
            "journals": all,
        }));
        return Ok(code);
    }
    for r in &all {
        print_rolled_back(r);
    }
    Ok(code)
}

fn print_rolled_back(r: &engine::RolledBack) {
    for w in &r.warnings {
        crate::outln!("warning: {w}");
    }
    if r.already {
        crate::outln!(
            "nothing to do: journal {} (profile `{}`) was already rolled back",
            r.journal.display(),
            r.profile
        );
        return;
    }
    crate::outln!(
        "{} {} (profile `{}`):",
        colored::Colorize::bold("Rolled back journal"),
        r.journal.display(),
        r.profile
    );
    if r.restored.is_empty() {
        crate::outln!("  every value already had its old value");
    }
    for x in &r.restored {
        crate::outln!("  restored {x}");
    }
    for f in &r.failed {
        crate::errln!("  FAILED {f}");
    }
    crate::outln!("restored: {}", r.restored.len());
}

/// `--state-dir` naming something that is not a directory is bad input (exit 2).
fn check_state_dir(d: &Path) -> Result<()> {
    match std::fs::metadata(d) {
        Ok(m) if !m.is_dir() => Err(Error::Usage(format!(
            "--state-dir {}: not a directory; nothing was changed",
            d.display()
        ))),
        _ => Ok(()),
    }
}

pub fn run_profiles(args: &ProfilesArgs) -> Result<i32> {
    match &args.command {
        ProfilesCommand::List => {
            for n in bundled::names() {
                crate::outln!("{n:<16} {}", bundled::summary(n));
            }
            Ok(exit::OK)
        }
        ProfilesCommand::Show { name, resolved } => {
            if *resolved {
                let p = profile::load(name)?;
                crate::outln!("{}", serde_json::to_string_pretty(&p).unwrap_or_default());
                return Ok(exit::OK);
            }
            let src = profile::load::read_source(name, None)?;
            crate::out!("{}", src.text);
            Ok(exit::OK)
        }
        ProfilesCommand::Validate { files } => {
            let mut bad = 0;
            for f in files {
                // Static checks, then the kernel-dependent ones against this host (keys
                // present, port range above ip_unprivileged_port_start), read-only.
                let checked = profile::load(f).and_then(|p| {
                    let mut q = p.clone();
                    q.limits
                        .targets
                        .retain(|t| !matches!(t, profile::LimitTarget::Pid { .. }));
                    let opts = PlanOptions {
                        persist: Some(false),
                        root: PathBuf::from("/"),
                    };
                    // A profile for another OS gets the static checks only.
                    if q.os != crate::snapshot::Os::current() {
                        return Ok(p);
                    }
                    plan::build(&q, &LiveHost::default(), &opts).map(|_| p)
                });
                match checked {
                    Ok(p) => crate::outln!(
                        "{f}: ok (profile `{}`: {} sysctl(s), {} limit target(s){}{})",
                        p.name,
                        p.sysctl.len(),
                        p.limits.targets.len(),
                        if p.erlang.is_some() {
                            ", erlang runtime"
                        } else {
                            ""
                        },
                        if p.os != crate::snapshot::Os::current() {
                            format!(
                                "; a {} profile: checked without this host's kernel",
                                p.os.label()
                            )
                        } else {
                            String::new()
                        }
                    ),
                    Err(e) => {
                        bad += 1;
                        crate::errln!("error: {e}");
                    }
                }
            }
            Ok(if bad == 0 { exit::OK } else { exit::USAGE })
        }
    }
}
