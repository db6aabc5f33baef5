//! The plan for this host: the profile loaded, the keys left out (`--skip`, optional keys
//! refused here), the plan built against the live sysctls (or a fixture tree), the reasons
//! this place refuses a change, and the predicted ceiling before → after. Shared by `plan`
//! and `apply`; nothing printed.

use std::path::{Path, PathBuf};

use super::sysctl::SysctlFs;
use crate::error::{Error, Result};
use crate::fsio as persist;
use crate::plan::{self, LiveHost, Plan, PlanOptions};
use crate::profile;
use crate::snapshot::Os;

/// What to plan, and where (`plan` and `apply` share these).
#[derive(Debug, Clone)]
pub struct TargetOptions {
    /// A bundled profile name or a path to a YAML file.
    pub profile: String,
    /// Also write the files read at boot, whatever the profile says.
    pub persist: bool,
    /// Where persisted files go instead of /.
    pub root: PathBuf,
    /// Where sysctls are read and written.
    pub sysctl_root: PathBuf,
    /// The OS whose settings the sysctl root holds; `None`: this one.
    pub os: Option<Os>,
    /// Sysctl keys of the profile to leave out.
    pub skip: Vec<String>,
}

/// An absolute path (journals record absolute paths, so a rollback works from anywhere).
pub fn absolute(p: &Path) -> Result<PathBuf> {
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
pub fn make_plan(t: &TargetOptions) -> Result<(Plan, SysctlFs)> {
    let mut prof = profile::load(&t.profile)?;
    let sys = SysctlFs::new(absolute(&t.sysctl_root)?);
    let os = t.os.unwrap_or_else(crate::snapshot::Os::current);
    let host = LiveHost {
        sysctl: sys.reader().clone(),
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
