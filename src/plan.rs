//! Plan: (host values, Profile) → the list of changes `key: old → new`, each with its scope,
//! the privilege it needs and whether something must restart. The same plan applied to a
//! copy of a snapshot gives the predicted ceiling after the change (`what_if`).
//!
//! Planning reads, never writes. It reads through [`HostView`]: the live host
//! ([`LiveHost`]: a sysctl root, /proc/PID/limits, files under `--root`) or a snapshot
//! ([`SnapshotHost`], for `check --with` on any host).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::apply::limits::{self, Resource};
use crate::apply::sysctl::SysctlFs;
use crate::apply::{launchd, persist};
use crate::error::{Error, Result};
use crate::model::{self, Prediction, Scenario};
use crate::profile::validate;
use crate::profile::{ErlangSection, LimitPair, LimitTarget, Profile, SysctlOp};
use crate::snapshot::{Conntrack, Limit, Os, PortRange, Rlim, RuntimeKind, Snapshot, Sourced};

/// Where a change lands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// The running kernel or process, now.
    Live,
    /// A file read at boot or login (sysctl.d, limits.d).
    File,
    /// A systemd unit or manager setting (drop-in).
    Unit,
    /// A runtime's configuration (Erlang vm.args).
    Runtime,
}

impl std::fmt::Display for Scope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Scope::Live => "live",
            Scope::File => "file",
            Scope::Unit => "unit",
            Scope::Runtime => "runtime config",
        })
    }
}

/// What apply does for one change (with the old state, for the journal).
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    Sysctl {
        key: String,
        old: Option<String>,
        new: String,
    },
    Rlimit {
        pid: u32,
        resource: Resource,
        old: Option<Limit>,
        new: Limit,
    },
    File {
        path: PathBuf,
        old: Option<String>,
        old_mode: Option<u32>,
        new: String,
        mode: u32,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Change {
    /// The sysctl key, `pid:N nofile`, or the file path.
    pub key: String,
    /// The value now (`null` when unknown or the file does not exist).
    pub from: Option<String>,
    pub to: String,
    pub scope: Scope,
    /// Whether root (or a capability) is needed.
    pub needs_root: bool,
    /// The privilege this change needs, in words.
    pub needs: String,
    /// Whether this process has it (always true in a what-if on a snapshot).
    pub allowed: bool,
    /// What must restart for the change to take effect, if anything.
    pub restart: Option<String>,
    /// Why this value (min/max semantics).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub why: Option<String>,
    /// New file content, for file changes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    #[serde(skip)]
    pub action: Action,
}

/// A setting already in place.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Unchanged {
    pub key: String,
    pub value: String,
    pub why: String,
}

/// A setting not planned, and why.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Skipped {
    pub key: String,
    pub why: String,
}

/// Ceiling before → after for the profile's scenario.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WhatIf {
    pub required: Option<u64>,
    pub before: u64,
    pub before_bottleneck: String,
    pub after: u64,
    pub after_bottleneck: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Plan {
    pub profile: String,
    pub source: String,
    pub persist: bool,
    pub changes: Vec<Change>,
    pub unchanged: Vec<Unchanged>,
    pub skipped: Vec<Skipped>,
    pub warnings: Vec<String>,
    pub scenario: Scenario,
    /// The profile's rlimits (the what-if gives them to the examined process).
    pub nofile: Option<LimitPair>,
    pub nproc: Option<LimitPair>,
    pub erlang: Option<ErlangSection>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prediction: Option<WhatIf>,
}

/// For a live sysctl change this process may not make (a container, or not root): where it
/// belongs instead. Per-network-namespace keys can be set for one container or pod; host-wide
/// ones only on the host.
pub fn where_instead(c: &Change) -> Option<String> {
    if c.allowed || c.scope != Scope::Live || c.key.starts_with("pid:") {
        return None;
    }
    Some(if crate::model::knobs::is_per_netns(&c.key) {
        format!(
            "per network namespace: set it for the container instead (`docker run --sysctl {}=\"{}\"`, or a pod's securityContext.sysctls)",
            c.key, c.to
        )
    } else {
        "host-wide: it belongs on the host (a container cannot set it)".to_string()
    })
}

impl Plan {
    /// Changes this process may not make: (key, what it needs).
    pub fn missing_privileges(&self) -> Vec<(&str, &str)> {
        self.changes
            .iter()
            .filter(|c| !c.allowed)
            .map(|c| (c.key.as_str(), c.needs.as_str()))
            .collect()
    }
}

/// The current value of a sysctl as a host view sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cur {
    Value(String),
    /// Not present on this kernel (no such file under the sysctl root).
    Absent,
    /// The view does not know (a snapshot without this field).
    Unknown,
}

/// A file as a host view sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileCur {
    Content { text: String, mode: Option<u32> },
    Absent,
    Unknown,
}

/// Where planning reads current values.
pub trait HostView {
    fn sysctl(&self, key: &str) -> Cur;
    fn rlimit(&self, pid: u32, res: Resource) -> std::result::Result<Option<Limit>, String>;
    fn file(&self, path: &Path) -> std::result::Result<FileCur, String>;
    /// Whether privileges are checked (false for snapshots).
    fn live(&self) -> bool;
    fn can_write_sysctl(&self, key: &str) -> bool;
    fn can_write_file(&self, path: &Path) -> bool;
    /// Why `key` can never be applied here (a directory, a write-only trigger), if so.
    fn unusable(&self, _key: &str) -> Option<String> {
        None
    }
    /// The OS of the host: a profile for another OS is refused.
    fn os(&self) -> Os;
}

/// The live host: a sysctl root and the file system.
#[derive(Debug, Clone)]
pub struct LiveHost {
    pub sysctl: SysctlFs,
    /// The OS its settings are named for (this one; tests drive a macOS tree from Linux).
    pub os: Os,
}

impl Default for LiveHost {
    fn default() -> Self {
        LiveHost {
            sysctl: SysctlFs::default(),
            os: Os::current(),
        }
    }
}

impl HostView for LiveHost {
    fn unusable(&self, key: &str) -> Option<String> {
        self.sysctl.unusable(key)
    }
    fn os(&self) -> Os {
        self.os
    }
    fn sysctl(&self, key: &str) -> Cur {
        match self.sysctl.read(key) {
            Ok(v) => Cur::Value(v),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Cur::Absent,
            Err(_) => Cur::Unknown,
        }
    }
    fn rlimit(&self, pid: u32, res: Resource) -> std::result::Result<Option<Limit>, String> {
        limits::get(pid, res).map(Some).map_err(|e| {
            format!("pid:{pid}: cannot read /proc/{pid}/limits: {e} (is the process running?)")
        })
    }
    fn file(&self, path: &Path) -> std::result::Result<FileCur, String> {
        if std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink()) {
            return Err(format!(
                "{} is a symbolic link: porttune replaces files atomically (rename), which would replace the link; name the real file instead",
                path.display()
            ));
        }
        if let Ok(m) = std::fs::symlink_metadata(path)
            && !m.is_file()
        {
            return Err(format!(
                "{} is not a regular file (a directory, device or FIFO); porttune replaces only regular files",
                path.display()
            ));
        }
        match crate::fsio::read_bounded_io(path, crate::fsio::MAX_INPUT) {
            Ok(b) => match String::from_utf8(b) {
                Ok(text) => Ok(FileCur::Content {
                    text,
                    mode: persist::mode_of(path),
                }),
                Err(_) => Err(format!(
                    "{} is not UTF-8 text; porttune edits only text files",
                    path.display()
                )),
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(FileCur::Absent),
            Err(e) => Err(format!("cannot read {}: {e}", path.display())),
        }
    }
    fn live(&self) -> bool {
        true
    }
    fn can_write_sysctl(&self, key: &str) -> bool {
        self.sysctl.writable(key)
    }
    fn can_write_file(&self, path: &Path) -> bool {
        if path.exists() {
            return crate::apply::sysctl::writable(path);
        }
        let mut p = path.parent();
        while let Some(d) = p {
            if d.exists() {
                return crate::apply::sysctl::writable(d);
            }
            p = d.parent();
        }
        false
    }
}

/// A snapshot seen as a host: sysctls the snapshot records; files unknown.
pub struct SnapshotHost<'a>(pub &'a Snapshot);

impl HostView for SnapshotHost<'_> {
    fn os(&self) -> Os {
        self.0.platform.os
    }
    fn sysctl(&self, key: &str) -> Cur {
        match snapshot_get(self.0, key) {
            Some(v) => Cur::Value(v),
            None => Cur::Unknown,
        }
    }
    fn rlimit(&self, pid: u32, res: Resource) -> std::result::Result<Option<Limit>, String> {
        let p = &self.0.process;
        if p.pid == Some(pid) {
            return Ok(match res {
                Resource::Nofile => Some(p.nofile),
                Resource::Nproc => p.nproc,
            });
        }
        Ok(None)
    }
    fn file(&self, _path: &Path) -> std::result::Result<FileCur, String> {
        Ok(FileCur::Unknown)
    }
    fn live(&self) -> bool {
        false
    }
    fn can_write_sysctl(&self, _key: &str) -> bool {
        true
    }
    fn can_write_file(&self, _path: &Path) -> bool {
        true
    }
}

/// How to plan.
#[derive(Debug, Clone)]
pub struct PlanOptions {
    /// Persist to files (None: as the profile says).
    pub persist: Option<bool>,
    /// Prefix of every persisted path (`--root`); "/" on a real host.
    pub root: PathBuf,
}

impl Default for PlanOptions {
    fn default() -> Self {
        PlanOptions {
            persist: None,
            root: PathBuf::from("/"),
        }
    }
}

fn parse_int(v: &str) -> Option<i128> {
    v.trim().parse().ok()
}

/// Turn a profile into a plan against `host`.
pub fn build(profile: &Profile, host: &dyn HostView, opts: &PlanOptions) -> Result<Plan> {
    let host_os = host.os();
    if profile.os != host_os {
        return Err(Error::Usage(format!(
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
        )));
    }
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
        prediction: None,
    };

    // --- sysctls, in key order ---
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

    // --- files: path (absolute, before --root) → (content, scope, restart) ---
    let mut files: BTreeMap<String, (String, Scope, Option<String>)> = BTreeMap::new();
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
                        cur.and_then(|c| limits::missing_privilege(*pid, c, new))
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
                if let Some(c) = launchd_change(host, lim.nofile, &mut plan)? {
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
    let mut vm_args: Option<String> = None;
    if let Some(e) = &profile.erlang {
        if e.vm_args.is_none() && e.unit.is_none() {
            plan.skipped.push(Skipped {
                key: "runtime.erlang".into(),
                why: format!(
                    "no `vm_args` or `unit` given: nowhere to write {}; the what-if still counts them",
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
            .then(|| lim.nofile.map(launchd_value))
            .flatten();
        if !persisted.is_empty() || maxfiles.is_some() {
            files.insert(
                launchd::plist_path(name),
                (
                    launchd::plist(name, &persisted, maxfiles.as_deref()),
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

    if !persist {
        let mut keys: Vec<String> = files.keys().cloned().collect();
        if let Some(v) = &vm_args {
            keys.push(v.clone());
        }
        for k in keys {
            plan.skipped.push(Skipped {
                key: k,
                why: "not persisted (the profile has `persist: false`; pass --persist to write it)"
                    .into(),
            });
        }
    } else {
        // (path under --root, content (None: edit vm.args), scope, restart, mode)
        type FileJob = (PathBuf, Option<String>, Scope, Option<String>, u32);
        let mut all: Vec<FileJob> = files
            .into_iter()
            .map(|(p, (c, s, r))| (persist::under(&opts.root, &p), Some(c), s, r, 0o644))
            .collect();
        if let Some(v) = &vm_args {
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
                persist::sysctl_conflicts(&opts.root, &persist::sysctl_d_path(name), &persisted)
            {
                plan.warnings.push(format!(
                    "{} sets {key} = {theirs} and is read after porttune's file at boot: the value after a reboot will be {theirs}, not {ours}",
                    file.display()
                ));
            }
        }
    }
    Ok(plan)
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
    let key = crate::apply::sysctl::LAUNCHD_MAXFILES;
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
            "processes launchd starts from now on; restart running services and open a new terminal"
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

/// The value a snapshot records for a sysctl key, as the kernel would print it.
pub fn snapshot_get(snap: &Snapshot, key: &str) -> Option<String> {
    if snap.platform.os == Os::Macos {
        return crate::settings::find(Os::Macos, key).and_then(|s| (s.get)(snap));
    }
    let n = &snap.net;
    let s = |v: Option<u64>| v.map(|v| v.to_string());
    let s32 = |v: Option<u32>| v.map(|v| v.to_string());
    match key {
        "net.ipv4.ip_local_port_range" => {
            n.ip_local_port_range.map(|r| format!("{} {}", r.lo, r.hi))
        }
        "net.ipv4.ip_unprivileged_port_start" => s32(n.ip_unprivileged_port_start),
        "net.ipv4.ip_autobind_reuse" => s32(n.ip_autobind_reuse),
        "net.ipv4.tcp_tw_reuse" => s32(n.tcp_tw_reuse),
        "net.ipv4.tcp_tw_reuse_delay" => s(n.tcp_tw_reuse_delay_ms),
        "net.ipv4.tcp_timestamps" => s32(n.tcp_timestamps),
        "net.ipv4.tcp_max_tw_buckets" => s(n.tcp_max_tw_buckets),
        "net.ipv4.tcp_fin_timeout" => s(n.tcp_fin_timeout),
        "net.core.somaxconn" => s(n.somaxconn),
        "net.ipv4.tcp_max_syn_backlog" => s(n.tcp_max_syn_backlog),
        "net.ipv4.tcp_syncookies" => s32(n.tcp_syncookies),
        "net.ipv4.tcp_syn_retries" => s32(n.tcp_syn_retries),
        "net.ipv4.tcp_mem" => n.tcp_mem.map(|m| format!("{} {} {}", m[0], m[1], m[2])),
        "net.netfilter.nf_conntrack_max" | "net.nf_conntrack_max" => {
            n.conntrack.as_ref().and_then(|c| s(c.max))
        }
        "fs.file-max" => s(snap.fs.file_max),
        "fs.nr_open" => s(snap.fs.nr_open),
        "kernel.threads-max" => s(snap.memory.threads_max),
        "kernel.pid_max" => s(snap.memory.pid_max),
        _ => None,
    }
}

/// Record a sysctl value in a snapshot. Returns false for keys the snapshot has no field for
/// (or values that do not parse).
pub fn snapshot_set(snap: &mut Snapshot, key: &str, value: &str) -> bool {
    if snap.platform.os == Os::Macos {
        return crate::settings::find(Os::Macos, key).is_some_and(|s| (s.set)(snap, value));
    }
    let v = validate::normalize(value);
    let u64v = || v.parse::<u64>().ok();
    let u32v = || v.parse::<u32>().ok();
    let n = &mut snap.net;
    fn put<T>(slot: &mut Option<T>, v: Option<T>) -> bool {
        match v {
            Some(v) => {
                *slot = Some(v);
                true
            }
            None => false,
        }
    }
    match key {
        "net.ipv4.ip_local_port_range" => {
            let mut it = v.split(' ').filter_map(|p| p.parse::<u16>().ok());
            match (it.next(), it.next()) {
                (Some(lo), Some(hi)) => {
                    n.ip_local_port_range = Some(PortRange { lo, hi });
                    true
                }
                _ => false,
            }
        }
        "net.ipv4.ip_unprivileged_port_start" => put(&mut n.ip_unprivileged_port_start, u32v()),
        "net.ipv4.ip_autobind_reuse" => put(&mut n.ip_autobind_reuse, u32v()),
        "net.ipv4.tcp_tw_reuse" => put(&mut n.tcp_tw_reuse, u32v()),
        "net.ipv4.tcp_tw_reuse_delay" => put(&mut n.tcp_tw_reuse_delay_ms, u64v()),
        "net.ipv4.tcp_timestamps" => put(&mut n.tcp_timestamps, u32v()),
        "net.ipv4.tcp_max_tw_buckets" => put(&mut n.tcp_max_tw_buckets, u64v()),
        "net.ipv4.tcp_fin_timeout" => put(&mut n.tcp_fin_timeout, u64v()),
        "net.core.somaxconn" => put(&mut n.somaxconn, u64v()),
        "net.ipv4.tcp_max_syn_backlog" => put(&mut n.tcp_max_syn_backlog, u64v()),
        "net.ipv4.tcp_syncookies" => put(&mut n.tcp_syncookies, u32v()),
        "net.ipv4.tcp_syn_retries" => put(&mut n.tcp_syn_retries, u32v()),
        "net.ipv4.tcp_mem" => {
            let p: Vec<u64> = v.split(' ').filter_map(|x| x.parse().ok()).collect();
            match p.as_slice() {
                [a, b, c] => {
                    n.tcp_mem = Some([*a, *b, *c]);
                    true
                }
                _ => false,
            }
        }
        "net.netfilter.nf_conntrack_max" | "net.nf_conntrack_max" => match u64v() {
            Some(m) => {
                n.conntrack.get_or_insert_with(Conntrack::default).max = Some(m);
                true
            }
            None => false,
        },
        "fs.file-max" => put(&mut snap.fs.file_max, u64v()),
        "fs.nr_open" => put(&mut snap.fs.nr_open, u64v()),
        "kernel.threads-max" => put(&mut snap.memory.threads_max, u64v()),
        "kernel.pid_max" => put(&mut snap.memory.pid_max, u64v()),
        _ => false,
    }
}

/// Apply a plan to a snapshot: sysctls to their fields, the profile's limits to the examined
/// process (as if it restarted under them), Erlang +Q/+P to the runtime.
pub fn apply_to_snapshot(snap: &mut Snapshot, plan: &Plan) {
    for c in &plan.changes {
        if let Action::Sysctl { key, new, .. } = &c.action {
            snapshot_set(snap, key, new);
        }
    }
    let nofile_changed = plan.nofile.is_some();
    if let Some(p) = plan.nofile {
        snap.process.nofile = p.into();
    }
    if let Some(p) = plan.nproc {
        snap.process.nproc = Some(p.into());
    }
    if let Some(e) = &plan.erlang {
        let is_erlang = snap.runtime.kind == RuntimeKind::Erlang || snap.runtime.erlang.is_some();
        if is_erlang {
            let src = format!("profile {}", plan.profile);
            let er = snap.runtime.erlang.get_or_insert_with(Default::default);
            // The model rounds +Q/+P as erts does and derives max_fds from the new soft limit.
            if let Some(q) = e.max_ports {
                er.port_limit = Some(Sourced {
                    value: q,
                    source: format!("{src} (+Q {q})"),
                });
            }
            if let Some(p) = e.max_processes {
                er.process_limit = Some(Sourced {
                    value: p,
                    source: format!("{src} (+P {p})"),
                });
            }
            if nofile_changed {
                er.max_fds = None;
            }
        }
    }
}

/// What the host would hold with a profile applied: the snapshot after, and the plan.
/// `profile` is a bundled name or a path. Only the snapshot is read: no host I/O besides
/// reading the profile file.
pub fn what_if(snap: &Snapshot, profile: &str) -> Result<(Snapshot, Plan)> {
    let p = crate::profile::load(profile)?;
    let opts = PlanOptions {
        persist: Some(true),
        root: PathBuf::from("/"),
    };
    let mut plan = build(&p, &SnapshotHost(snap), &opts)?;
    let after = attach_prediction(&mut plan, snap, p.require.as_ref().map(|r| r.connections));
    Ok((after, plan))
}

/// Apply the plan to a copy of `before`, record the ceiling before → after in the plan, and
/// return the snapshot after.
pub fn attach_prediction(plan: &mut Plan, before: &Snapshot, required: Option<u64>) -> Snapshot {
    let mut after = before.clone();
    apply_to_snapshot(&mut after, plan);
    let (b, a) = predict_pair(before, &after, &plan.scenario);
    plan.prediction = Some(WhatIf {
        required,
        before: b.ceiling,
        before_bottleneck: b.bottleneck,
        after: a.ceiling,
        after_bottleneck: a.bottleneck,
    });
    after
}

/// Predictions before and after.
pub fn predict_pair(
    before: &Snapshot,
    after: &Snapshot,
    sc: &Scenario,
) -> (Prediction, Prediction) {
    (model::predict(before, sc), model::predict(after, sc))
}

/// Overlay the values read from a sysctl root on a snapshot (for `plan` against a fixture
/// root, the prediction must start from the same values the plan does).
pub fn overlay(snap: &mut Snapshot, host: &dyn HostView, profile: &Profile) {
    for key in profile.sysctl.keys() {
        if let Cur::Value(v) = host.sysctl(key) {
            snapshot_set(snap, key, &v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::{Fs, Limit, Net};

    /// A Linux-defaults host (limits-facts: kernel defaults, systemd service limits).
    pub fn linux_defaults() -> Snapshot {
        Snapshot {
            net: Net {
                ip_local_port_range: Some(PortRange {
                    lo: 32768,
                    hi: 60999,
                }),
                ip_unprivileged_port_start: Some(1024),
                tcp_tw_reuse: Some(2),
                tcp_timestamps: Some(1),
                tcp_max_tw_buckets: Some(131072),
                tcp_fin_timeout: Some(60),
                somaxconn: Some(4096),
                tcp_max_syn_backlog: Some(2048),
                tcp_syncookies: Some(1),
                ..Net::default()
            },
            fs: Fs {
                file_max: Some(2_466_170),
                nr_open: Some(1_048_576),
                ..Fs::default()
            },
            process: crate::snapshot::Process {
                nofile: Limit {
                    soft: Rlim::Value(1024),
                    hard: Rlim::Value(524288),
                },
                ..Default::default()
            },
            ..Snapshot::default()
        }
    }

    #[test]
    fn production_raises_the_ceiling_on_linux_defaults() {
        let snap = linux_defaults();
        let (after, plan) = what_if(&snap, "production").unwrap();
        assert_eq!(after.process.nofile.soft, Rlim::Value(1_048_576));
        assert_eq!(after.net.somaxconn, Some(65535));
        assert_eq!(after.fs.file_max, Some(2_466_170), "min never lowers");
        assert_eq!(
            after.net.ip_local_port_range,
            Some(PortRange {
                lo: 10240,
                hi: 65535
            })
        );
        let w = plan.prediction.unwrap();
        assert_eq!(w.required, Some(500_000));
        let before = model::predict(&snap, &plan.scenario);
        let aft = model::predict(&after, &plan.scenario);
        assert_eq!((w.before, w.after), (before.ceiling, aft.ceiling));
        if before.ceiling > 0 {
            // The real model has landed: the ceiling must rise, past the requirement.
            assert!(
                aft.ceiling > before.ceiling,
                "{} -> {}",
                before.ceiling,
                aft.ceiling
            );
            assert!(aft.ceiling >= 500_000, "after: {}", aft.ceiling);
        }
    }

    #[test]
    fn min_never_lowers_max_never_raises() {
        let mut snap = linux_defaults();
        snap.net.somaxconn = Some(100_000);
        let (_, plan) = what_if(&snap, "production").unwrap();
        assert!(plan.changes.iter().all(|c| c.key != "net.core.somaxconn"));
        assert!(plan.unchanged.iter().any(|u| u.key == "net.core.somaxconn"));
    }

    #[test]
    fn snapshot_roundtrip() {
        let mut s = Snapshot::default();
        for (k, v) in [
            ("net.ipv4.ip_local_port_range", "1024 65535"),
            ("net.core.somaxconn", "8192"),
            ("fs.nr_open", "2097152"),
            ("net.ipv4.tcp_mem", "1 2 3"),
        ] {
            assert!(snapshot_set(&mut s, k, v));
            assert_eq!(snapshot_get(&s, k).as_deref(), Some(v));
        }
        assert!(!snapshot_set(&mut s, "net.ipv4.tcp_keepalive_time", "600"));
    }
}
