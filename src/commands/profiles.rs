//! `porttune profiles list|show|validate`.

use std::path::PathBuf;

use crate::cli::{ProfilesArgs, ProfilesCommand};
use crate::error::{Result, exit};
use crate::plan::{self, LiveHost, PlanOptions};
use crate::profile::{self, bundled};

pub fn run(args: &ProfilesArgs) -> Result<i32> {
    match &args.command {
        ProfilesCommand::List => {
            let width = crate::render::wrap::terminal_width();
            for n in bundled::names() {
                crate::out!(
                    "{}",
                    crate::render::wrap::wrap(
                        crate::profile::summary(n).as_str(),
                        width,
                        &format!("{} ", colored::Colorize::bold(format!("{n:<16}").as_str())),
                        &" ".repeat(17)
                    )
                );
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
                        "{f}: {} (profile `{}`: {} sysctl(s), {} limit target(s){}{})",
                        colored::Colorize::green("ok"),
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
