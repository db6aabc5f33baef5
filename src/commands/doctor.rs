//! `porttune doctor`: what porttune can and cannot do here, why, and the fix for each "cannot".

use serde::Serialize;

use crate::cli::{DoctorArgs, Format};
use crate::error::{Error, Result, exit};
use crate::snapshot::{self, probe::ProbeOptions};

#[derive(Debug, Serialize)]
pub struct Finding {
    pub what: String,
    pub can: bool,
    pub why: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

fn f(what: &str, can: bool, why: String, fix: Option<&str>) -> Finding {
    Finding {
        what: what.into(),
        can,
        why,
        fix: if can { None } else { fix.map(str::to_string) },
    }
}

pub fn run(a: &DoctorArgs) -> Result<i32> {
    let snap = snapshot::probe::probe(&ProbeOptions::default())?;
    let root = nix::unistd::geteuid().is_root();
    let caps = &snap.process.caps;
    let writable = snap.net.proc_sys_writable.unwrap_or(false);
    let systemd = std::path::Path::new("/run/systemd/system").exists();
    let mut out = vec![
        f("read the host", true, "/proc is readable".into(), None),
        f(
            "write net.* sysctls (ports, TIME_WAIT reuse, somaxconn)",
            writable && caps.net_admin,
            if writable {
                format!(
                    "/proc/sys/net is writable; CAP_NET_ADMIN: {}",
                    caps.net_admin
                )
            } else {
                "/proc/sys/net is read-only here (a container, or not root)".into()
            },
            Some(
                "run as root on the host, or set per-namespace keys as container sysctls (docker run --sysctl, pod securityContext.sysctls)",
            ),
        ),
        f(
            "write global sysctls (fs.file-max, fs.nr_open, nf_conntrack_max)",
            root && caps.sys_admin && writable && snap.net.initial_netns != Some(false),
            format!(
                "root: {root}; CAP_SYS_ADMIN: {}; initial network namespace: {}",
                caps.sys_admin,
                snap.net
                    .initial_netns
                    .map(|b| b.to_string())
                    .unwrap_or_else(|| "unknown".into())
            ),
            Some("run on the host as root (not in a container or a child network namespace)"),
        ),
        f(
            "raise a hard RLIMIT_NOFILE (this process or others via prlimit)",
            caps.sys_resource,
            format!(
                "CAP_SYS_RESOURCE: {}; hard limit now {}",
                caps.sys_resource, snap.process.nofile.hard
            ),
            Some(
                "grant CAP_SYS_RESOURCE, or set the limit where the process starts: LimitNOFILE= in its systemd unit, /etc/security/limits.d for logins, --ulimit for containers",
            ),
        ),
        f(
            "persist limits for services with systemd drop-ins",
            systemd,
            if systemd {
                "systemd is PID 1".into()
            } else {
                "systemd is not running as PID 1 (/run/systemd/system is absent)".into()
            },
            Some(
                "use limits.d for login sessions, or the init system's own mechanism; `porttune apply --root DIR` writes files for an image",
            ),
        ),
        f(
            "flood beyond one process's fd limit (several worker processes)",
            true,
            format!("each worker has its own {} fds", snap.process.nofile.soft),
            None,
        ),
    ];
    if let Some(c) = &snap.platform.container {
        out.push(f(
            "change host-wide settings from here",
            false,
            format!("inside a container: {c}"),
            Some("apply host-wide keys (fs.*, nf_conntrack_max, hard limits) on the host; per-namespace net.* keys as container sysctls"),
        ));
    }
    match a.format {
        Format::Json => crate::outln!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({"schema": 1, "findings": out}))
                .map_err(|e| Error::Internal(e.to_string()))?
        ),
        Format::Text => {
            for x in &out {
                crate::outln!(
                    "[{}] {}: {}",
                    if x.can { "can   " } else { "cannot" },
                    x.what,
                    x.why
                );
                if let Some(fix) = &x.fix {
                    crate::outln!("         fix: {fix}");
                }
            }
        }
        Format::Prometheus => {
            return Err(Error::Usage(
                "doctor: --format prometheus is for check".into(),
            ));
        }
    }
    Ok(exit::OK)
}
