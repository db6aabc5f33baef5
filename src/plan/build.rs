//! Profile → plan: the changes, what is already in place, what is skipped, the files.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::files as persist;
use super::launchd;
use super::*;
use crate::error::{Error, Result};
use crate::profile::validate;
use crate::profile::{LimitPair, LimitTarget, Profile, SysctlOp};
use crate::snapshot::host::Resource;
use crate::snapshot::{Limit, Os, Rlim};

/// Persisted files by absolute path (before `--root`): (content, scope, what must restart).
type Files = BTreeMap<String, (String, Scope, Option<String>)>;

fn parse_int(v: &str) -> Option<i128> {
    v.trim().parse().ok()
}

/// Turn a profile into a plan against `host`.
pub fn build(profile: &Profile, host: &dyn HostView, opts: &PlanOptions) -> Result<Plan> {
    let host_os = host.os();
    check_os(profile, host_os)?;
    let persist = opts.persist.unwrap_or(profile.persist);
    let mut plan = Plan {
        profile: profile.name.clone(),
        source: profile.source.clone(),
        persist,
        changes: vec![],
        unchanged: vec![],
        skipped: vec![],
        warnings: vec![],
        scenario: profile.scenario(),
        nofile: profile.limits.nofile,
        nproc: profile.limits.nproc,
        erlang: profile.erlang.clone(),
        limit_targets: profile.limits.targets.clone(),
        prediction: None,
        root: opts.root.clone(),
        reach: vec![],
    };

    let persisted = plan_sysctls(profile, host, &mut plan)?;
    check_nr_open(profile, host, &mut plan)?;

    // Files by absolute path (before --root) → (content, scope, restart).
    let mut files = plan_limits(profile, host, &mut plan)?;
    if host_os == Os::Macos {
        // launchd rewrites kern.maxfiles and kern.maxfilesperproc from its limits: it goes
        // first, and apply journals both around it (apply::sysctl::launchd_order).
        let launchd = crate::snapshot::sysctl_root::LAUNCHD_MAXFILES;
        plan.changes.sort_by_key(|c| c.key != launchd);
    }
    let name = &profile.name;
    let lim = &profile.limits;
    let mut vm_args: Option<String> = None;
    if let Some(e) = &profile.erlang {
        if e.vm_args.is_none() && e.unit.is_none() {
            plan.skipped.push(Skipped {
                key: "runtime.erlang".into(),
                why: format!(
                    "no `vm_args` or `unit` given: nowhere to write {}, so no node gets them and the what-if does not count them",
                    persist::erl_flags(e.max_ports, e.max_processes)
                ),
            });
        }
        vm_args = e.vm_args.clone();
        if matches!(lim.nofile, Some(p) if p.soft == Rlim::Unlimited) {
            plan.warnings.push(
                "nofile is unlimited: erts sizes its fd table from it at boot; give a finite value"
                    .into(),
            );
        }
    }
    if host_os == Os::Macos {
        check_mac_port_range(profile, host)?;
        let maxfiles = lim
            .targets
            .contains(&LimitTarget::Launchd)
            .then_some(lim.nofile)
            .flatten()
            .map(|p| (p.soft.to_string(), p.hard.to_string()));
        if !persisted.is_empty() || maxfiles.is_some() {
            let m = maxfiles.as_ref().map(|(s, h)| (s.as_str(), h.as_str()));
            let content = launchd::plist(name, &persisted, m).map_err(|e| {
                Error::Usage(format!(
                    "profile `{name}` ({}): {e}; nothing was changed",
                    profile.source
                ))
            })?;
            files.insert(
                launchd::plist_path(name),
                (
                    content,
                    Scope::File,
                    Some("read by launchd at boot (RunAtLoad)".into()),
                ),
            );
        }
    } else if !persisted.is_empty() {
        files.insert(
            persist::sysctl_d_path(name),
            (persist::sysctl_d(name, &persisted), Scope::File, None),
        );
    }

    if persist {
        plan_files(
            profile,
            host,
            opts,
            &mut plan,
            files,
            vm_args.as_deref(),
            &persisted,
        )?;
    } else {
        let mut keys: Vec<String> = files.keys().cloned().collect();
        keys.extend(vm_args);
        for k in keys {
            plan.skipped.push(Skipped {
                key: k,
                why: "not persisted (the profile has `persist: false`; pass --persist to write it)"
                    .into(),
            });
        }
    }
    Ok(plan)
}

/// A profile for one OS is not planned on another.
fn check_os(profile: &Profile, host_os: Os) -> Result<()> {
    if profile.os == host_os {
        return Ok(());
    }
    Err(Error::Usage(format!(
        "profile `{}` ({}) is for {}, and the host is {}: nothing was changed{}",
        profile.name,
        profile.source,
        profile.os.label(),
        host_os.label(),
        if profile.os == Os::Macos {
            ""
        } else {
            " (a macOS profile says `os: macos`; `porttune profiles list` shows macos-dev)"
        }
    )))
}

/// The limits targets: running processes now (prlimit), and the files that carry limits and
/// Erlang flags for what starts later (limits.d, systemd), by absolute path.
fn plan_limits(profile: &Profile, host: &dyn HostView, plan: &mut Plan) -> Result<Files> {
    let mut files = Files::new();
    let name = &profile.name;
    let lim = &profile.limits;
    let mut unit_flags: BTreeMap<String, String> = BTreeMap::new();
    if let Some(e) = &profile.erlang
        && let Some(u) = &e.unit
    {
        unit_flags.insert(u.clone(), persist::erl_flags(e.max_ports, e.max_processes));
    }
    for t in &lim.targets {
        match t {
            LimitTarget::Pid { pid } => {
                for (res, pair) in [(Resource::Nofile, lim.nofile), (Resource::Nproc, lim.nproc)] {
                    let Some(pair) = pair else { continue };
                    let new = Limit::from(pair);
                    let cur = host
                        .rlimit(*pid, res)
                        .map_err(|m| Error::Usage(format!("{m}; nothing was changed")))?;
                    let label = format!("pid:{pid} {}", res.name());
                    let show = |l: Limit| format!("{}:{}", l.soft, l.hard);
                    if cur == Some(new) {
                        plan.unchanged.push(Unchanged {
                            key: label,
                            value: show(new),
                            why: "already set".into(),
                        });
                        continue;
                    }
                    let missing = if host.live() {
                        cur.and_then(|c| super::host::missing_privilege(*pid, c, new))
                    } else {
                        None
                    };
                    plan.changes.push(Change {
                        key: label,
                        from: cur.map(show),
                        to: show(new),
                        scope: Scope::Live,
                        needs_root: missing.is_some(),
                        needs: missing
                            .clone()
                            .unwrap_or_else(|| "same user, or CAP_SYS_RESOURCE".into()),
                        allowed: missing.is_none(),
                        restart: profile.erlang.as_ref().map(|_| {
                            "an Erlang node sized its fd table at start: restart it for nofile to count".into()
                        }),
                        why: None,
                        content: None,
                        action: Action::Rlimit {
                            pid: *pid,
                            resource: res,
                            old: cur,
                            new,
                        },
                    });
                }
            }
            LimitTarget::Launchd => {
                if let Some(c) = launchd_change(host, lim.nofile, plan)? {
                    plan.changes.push(c);
                }
            }
            LimitTarget::Pam => {
                let domain = lim.pam_domain.as_deref().unwrap_or("*");
                files.insert(
                    persist::limits_d_path(name),
                    (
                        persist::limits_d(name, domain, lim.nofile, lim.nproc),
                        Scope::File,
                        Some("new login sessions (pam_limits); not systemd services".into()),
                    ),
                );
            }
            LimitTarget::SystemdDefault => {
                files.insert(
                    persist::system_conf_d_path(name),
                    (
                        persist::system_conf_d(name, lim.nofile, lim.nproc),
                        Scope::Unit,
                        Some("`systemctl daemon-reexec`, then restart the services".into()),
                    ),
                );
            }
            LimitTarget::Systemd { unit } => {
                let flags = unit_flags.remove(unit);
                files.insert(
                    persist::unit_dropin_path(unit),
                    (
                        persist::unit_dropin(name, lim.nofile, lim.nproc, flags.as_deref()),
                        Scope::Unit,
                        Some(format!(
                            "`systemctl daemon-reload && systemctl restart {unit}`"
                        )),
                    ),
                );
            }
        }
    }
    for (unit, flags) in unit_flags {
        files.insert(
            persist::unit_dropin_path(&unit),
            (
                persist::unit_dropin(name, None, None, Some(&flags)),
                Scope::Unit,
                Some(format!(
                    "`systemctl daemon-reload && systemctl restart {unit}`"
                )),
            ),
        );
    }
    Ok(files)
}

/// The sysctls, in key order: validated against the host, `min`/`max` resolved, each a change
/// or already in place. Returns every (key, value) the profile wants, for the persisted files.
fn plan_sysctls(
    profile: &Profile,
    host: &dyn HostView,
    plan: &mut Plan,
) -> Result<Vec<(String, String)>> {
    let host_os = host.os();
    let unpriv_start = match profile.sysctl.get("net.ipv4.ip_unprivileged_port_start") {
        Some(e) => match &e.op {
            SysctlOp::Set(v) => parse_int(v),
            _ => None,
        },
        None => None,
    }
    .or_else(
        || match host.sysctl("net.ipv4.ip_unprivileged_port_start") {
            Cur::Value(v) => parse_int(&v),
            _ => None,
        },
    );
    let mut persisted: Vec<(String, String)> = Vec::new();
    for (key, e) in &profile.sysctl {
        let input = |msg: String| Error::Input {
            path: e.origin.path.clone(),
            line: Some(e.origin.line),
            column: Some(e.origin.column),
            msg,
        };
        if let Some(why) = host.unusable(key) {
            return Err(input(why));
        }
        let cur = host.sysctl(key);
        if cur == Cur::Absent {
            if e.optional {
                plan.skipped.push(Skipped {
                    key: key.clone(),
                    why: "absent on this kernel (optional)".into(),
                });
                continue;
            }
            return Err(input(format!(
                "`{key}` does not exist on this kernel (no {}); mark it `optional: true` to skip it where absent",
                key.replace('.', "/")
            )));
        }
        let cur_v = match &cur {
            Cur::Value(v) => Some(v.clone()),
            _ => None,
        };
        let (target, why) = match &e.op {
            SysctlOp::Set(v) => {
                let v = validate::check_value(key, v, unpriv_start).map_err(input)?;
                (v, None)
            }
            SysctlOp::Min(n) | SysctlOp::Max(n) => {
                let is_min = matches!(e.op, SysctlOp::Min(_));
                match cur_v.as_deref().map(|c| (c, parse_int(c))) {
                    Some((c, None)) => {
                        return Err(input(format!(
                            "`{key}` is {c:?} now, not a single integer: `min`/`max` cannot compare; give the exact value"
                        )));
                    }
                    Some((c, Some(cv))) if (is_min && cv >= *n) || (!is_min && cv <= *n) => (
                        c.to_string(),
                        Some(format!(
                            "{} {n}: already {cv}, {}",
                            if is_min { "min" } else { "max" },
                            if is_min {
                                "never lowered"
                            } else {
                                "never raised"
                            }
                        )),
                    ),
                    _ => (
                        n.to_string(),
                        Some(format!("{} {n}", if is_min { "min" } else { "max" })),
                    ),
                }
            }
        };
        persisted.push((key.clone(), target.clone()));
        if cur_v.as_deref() == Some(target.as_str()) {
            plan.unchanged.push(Unchanged {
                key: key.clone(),
                value: target,
                why: why.unwrap_or_else(|| "already set".into()),
            });
            continue;
        }
        let net = crate::model::knobs::is_per_netns(key);
        plan.changes.push(Change {
            key: key.clone(),
            from: cur_v.clone(),
            to: target.clone(),
            scope: Scope::Live,
            needs_root: true,
            needs: if host_os == Os::Macos {
                "root (sudo; macOS sysctls are host-wide)".into()
            } else if net {
                "root (CAP_NET_ADMIN in the network namespace)".into()
            } else {
                "root (CAP_SYS_ADMIN; host-wide, or not known to be per namespace)".into()
            },
            allowed: host.can_write_sysctl(key),
            restart: None,
            why,
            content: None,
            action: Action::Sysctl {
                key: key.clone(),
                old: cur_v,
                new: target,
            },
        });
    }
    Ok(persisted)
}

/// The persisted files: each compared with what is there now, a change when it differs, and a
/// warning for sysctl.d files read after porttune's.
fn plan_files(
    profile: &Profile,
    host: &dyn HostView,
    opts: &PlanOptions,
    plan: &mut Plan,
    files: Files,
    vm_args: Option<&str>,
    persisted: &[(String, String)],
) -> Result<()> {
    let host_os = host.os();
    let name = &profile.name;
    // (path under --root, content (None: edit vm.args), scope, restart, mode)
    type FileJob = (PathBuf, Option<String>, Scope, Option<String>, u32);
    let mut all: Vec<FileJob> = files
        .into_iter()
        .map(|(p, (c, s, r))| (persist::under(&opts.root, &p), Some(c), s, r, 0o644))
        .collect();
    if let Some(v) = vm_args {
        all.push((
            persist::under(&opts.root, v),
            None,
            Scope::Runtime,
            Some("restart the Erlang node".into()),
            0o644,
        ));
    }
    for (path, content, scope, restart, mode) in all {
        let cur = host.file(&path).map_err(Error::Failed)?;
        let (old, old_mode) = match &cur {
            FileCur::Content { text, mode } => (Some(text.clone()), *mode),
            _ => (None, None),
        };
        let new = match content {
            Some(c) => c,
            None => {
                let e = profile.erlang.as_ref().expect("vm_args implies erlang");
                persist::edit_vm_args(old.as_deref(), e.max_ports, e.max_processes)
            }
        };
        let key = path.display().to_string();
        if old.as_deref() == Some(new.as_str()) {
            plan.unchanged.push(Unchanged {
                key,
                value: format!("{} lines", new.lines().count()),
                why: "file already has this content".into(),
            });
            continue;
        }
        let from = match &cur {
            FileCur::Content { text, .. } => Some(format!("{} lines", text.lines().count())),
            FileCur::Absent => Some("absent".into()),
            FileCur::Unknown => None,
        };
        plan.changes.push(Change {
            key,
            from,
            to: format!("{} lines", new.lines().count()),
            scope,
            needs_root: opts.root == Path::new("/"),
            needs: format!(
                "write access to {}",
                path.parent().unwrap_or(Path::new("/")).display()
            ),
            allowed: host.can_write_file(&path),
            restart,
            why: None,
            content: Some(new.clone()),
            action: Action::File {
                path,
                old,
                old_mode,
                new,
                mode: old_mode.unwrap_or(mode),
            },
        });
    }
    if host.live() && !persisted.is_empty() && host_os != Os::Macos {
        for (file, key, theirs, ours) in
            persist::sysctl_conflicts(&opts.root, &persist::sysctl_d_path(name), persisted)
        {
            plan.warnings.push(format!(
                "{} sets {key} = {theirs} and is read after porttune's file at boot: the value after a reboot will be {theirs}, not {ours}",
                file.display()
            ));
        }
    }
    Ok(())
}

/// `limits.nofile` above the host's fs.nr_open is refused unless the profile raises nr_open
/// far enough; then that change goes first, so the kernel accepts the limits after it.
fn check_nr_open(profile: &Profile, host: &dyn HostView, plan: &mut Plan) -> Result<()> {
    const KEY: &str = "fs.nr_open";
    let Some(pair) = profile.limits.nofile.filter(|_| host.os() != Os::Macos) else {
        return Ok(());
    };
    let now = match host.sysctl(KEY) {
        Cur::Value(v) => v.trim().parse::<u64>().ok(),
        _ => None,
    };
    // What the profile leaves nr_open at (the planned value, or the value kept by `min`).
    let planned = profile.sysctl.get(KEY).and_then(|_| {
        plan.changes
            .iter()
            .find(|c| c.key == KEY)
            .map(|c| c.to.clone())
            .or_else(|| {
                plan.unchanged
                    .iter()
                    .find(|u| u.key == KEY)
                    .map(|u| u.value.clone())
            })
            .and_then(|v| v.trim().parse::<u64>().ok())
    });
    let first =
        validate::check_nofile_nr_open(pair.hard, now, planned).map_err(|msg| Error::Input {
            path: profile.source.clone().into(),
            line: None,
            column: None,
            msg: format!("{msg}; nothing was changed"),
        })?;
    if first && let Some(i) = plan.changes.iter().position(|c| c.key == KEY) {
        let c = plan.changes.remove(i);
        plan.changes.insert(0, c);
    }
    Ok(())
}

/// "SOFT HARD" for `launchctl limit maxfiles` (numbers only; validation refuses unlimited).
fn launchd_value(p: LimitPair) -> String {
    format!("{} {}", p.soft, p.hard)
}

/// macOS: `launchctl limit maxfiles` to the profile's nofile, as a change of the pseudo key
/// `launchd.maxfiles` (journaled, read back and rolled back like a sysctl).
fn launchd_change(
    host: &dyn HostView,
    nofile: Option<LimitPair>,
    plan: &mut Plan,
) -> Result<Option<Change>> {
    let Some(pair) = nofile else {
        return Ok(None);
    };
    let key = crate::snapshot::sysctl_root::LAUNCHD_MAXFILES;
    let new = launchd_value(pair);
    let cur = match host.sysctl(key) {
        Cur::Value(v) => Some(v),
        _ => None,
    };
    if cur.as_deref() == Some(new.as_str()) {
        plan.unchanged.push(Unchanged {
            key: key.into(),
            value: new,
            why: "already set".into(),
        });
        return Ok(None);
    }
    Ok(Some(Change {
        key: key.into(),
        from: cur.clone(),
        to: new.clone(),
        scope: Scope::Live,
        needs_root: true,
        needs: "root (sudo launchctl)".into(),
        allowed: host.can_write_sysctl(key),
        restart: Some(
            "processes launchd starts from now on: restart running services, and quit and reopen Terminal (its new windows and tabs keep the limit the app started with)"
                .into(),
        ),
        why: None,
        content: None,
        action: Action::Sysctl {
            key: key.into(),
            old: cur,
            new,
        },
    }))
}

/// macOS: the ephemeral range after the profile (planned or current values) must not be
/// inverted; xnu checks each end alone.
fn check_mac_port_range(profile: &Profile, host: &dyn HostView) -> Result<()> {
    let end = |key: &str| -> Option<i128> {
        match profile.sysctl.get(key).map(|e| &e.op) {
            Some(SysctlOp::Set(v)) => parse_int(v),
            _ => match host.sysctl(key) {
                Cur::Value(v) => parse_int(&v),
                _ => None,
            },
        }
    };
    if let (Some(first), Some(last)) = (
        end("net.inet.ip.portrange.first"),
        end("net.inet.ip.portrange.last"),
    ) && first > last
    {
        let e = profile
            .sysctl
            .get("net.inet.ip.portrange.first")
            .or_else(|| profile.sysctl.get("net.inet.ip.portrange.last"));
        let msg = format!(
            "the ephemeral range would be inverted: net.inet.ip.portrange.first {first} is above net.inet.ip.portrange.last {last}"
        );
        return Err(match e {
            Some(e) => Error::Input {
                path: e.origin.path.clone(),
                line: Some(e.origin.line),
                column: Some(e.origin.column),
                msg,
            },
            None => Error::Usage(msg),
        });
    }
    Ok(())
}
