//! `porttune doctor`: what porttune can and cannot do here, why, and the fix for each "cannot".
//! Each "can write" is tested on the file itself (opened for writing, nothing written), so the
//! answer holds in a child network namespace, a container or a read-only /proc/sys.

use crate::cli::{DoctorArgs, DoctorFormat};
use crate::error::{Result, exit};
use crate::render;
use crate::render::doctor::Finding;
use crate::snapshot::{self, Snapshot, probe::ProbeOptions};

fn f(what: &str, can: bool, needed: bool, why: String, fix: &str) -> Finding {
    Finding {
        what: what.into(),
        can,
        needed,
        why,
        fix: (!can).then(|| fix.to_string()),
    }
}

/// Whether `/proc/sys/KEY` can be opened for writing, and why not (nothing is written).
fn sysctl_writable(key: &str) -> std::result::Result<(), String> {
    let path = format!("/proc/sys/{}", key.replace('.', "/"));
    match std::fs::OpenOptions::new().write(true).open(&path) {
        Ok(_) => Ok(()),
        Err(e) => Err(match e.raw_os_error() {
            Some(libc_erofs) if libc_erofs == nix::errno::Errno::EROFS as i32 => {
                format!("{key} is on a read-only /proc/sys (a container's default)")
            }
            Some(n) if n == nix::errno::Errno::ENOENT as i32 => {
                format!("{key} does not exist here (module not loaded, or another kernel)")
            }
            Some(n)
                if n == nix::errno::Errno::EACCES as i32
                    || n == nix::errno::Errno::EPERM as i32 =>
            {
                format!(
                    "{key} is not writable by this user here (not root, or read-only in this network namespace)"
                )
            }
            _ => format!("{key}: {e}"),
        }),
    }
}

/// Where porttune runs: the network namespace and the container, said plainly.
fn context(snap: &Snapshot) -> serde_json::Value {
    serde_json::json!({
        "root": nix::unistd::geteuid().is_root(),
        "netns": snap.net.netns,
        "initial_netns": snap.net.initial_netns,
        "container": snap.platform.container,
        "systemd": std::path::Path::new("/run/systemd/system").exists(),
        "os": snap.platform.os,
        "kernel": snap.platform.kernel,
    })
}

fn findings(snap: &Snapshot) -> Vec<Finding> {
    let caps = &snap.process.caps;
    let child_ns = snap.net.initial_netns == Some(false);
    let ns = snap.net.netns.clone().unwrap_or_else(|| "unknown".into());
    let net = sysctl_writable("net.ipv4.ip_local_port_range");
    let fs = sysctl_writable("fs.file-max");
    let ct = sysctl_writable("net.netfilter.nf_conntrack_max");
    let systemd = std::path::Path::new("/run/systemd/system").exists();
    let scope = match snap.net.initial_netns {
        Some(false) => format!(
            "in network namespace {ns}, a child namespace: changes stay in it, not on the host"
        ),
        Some(true) => format!("in network namespace {ns}, the host's own"),
        None => format!("in network namespace {ns} (whether it is the host's could not be read)"),
    };
    let mut out = vec![
        f("read the host", true, true, "/proc is readable".into(), ""),
        f(
            "write net.* sysctls (ports, TIME_WAIT reuse, somaxconn)",
            net.is_ok(),
            true,
            match &net {
                Ok(()) => scope.clone(),
                Err(e) => format!("{e}; {scope}"),
            },
            "run as root on the host, or set per-namespace keys as container sysctls (docker run --sysctl, pod securityContext.sysctls)",
        ),
        f(
            "write host-wide sysctls (fs.file-max, fs.nr_open)",
            fs.is_ok(),
            true,
            match (&fs, &snap.platform.container) {
                (Ok(()), Some(c)) => format!("writable, but this is a container ({c}): a change here changes the whole host"),
                (Ok(()), None) if child_ns => "writable: fs.* is host-wide, so a change from this network namespace changes the whole host".into(),
                (Ok(()), None) => "writable (root with CAP_SYS_ADMIN)".into(),
                (Err(e), _) => e.clone(),
            },
            "run on the host as root; a container cannot change host-wide keys (set them on the host)",
        ),
        f(
            "write net.netfilter.nf_conntrack_max",
            ct.is_ok(),
            false,
            match &ct {
                Ok(()) => "writable".into(),
                Err(e) if child_ns => format!("{e}; the kernel makes it read-only outside the host's initial network namespace"),
                Err(e) => e.clone(),
            },
            "set it on the host (initial network namespace) as root, or skip it (`apply --skip net.netfilter.nf_conntrack_max`)",
        ),
        f(
            "raise a hard RLIMIT_NOFILE (this process or others via prlimit)",
            caps.sys_resource,
            true,
            format!(
                "CAP_SYS_RESOURCE: {}; hard limit now {}",
                if caps.sys_resource { "yes" } else { "no" },
                snap.process.nofile.hard
            ),
            "grant CAP_SYS_RESOURCE, or set the limit where the process starts: LimitNOFILE= in its systemd unit, /etc/security/limits.d for logins, --ulimit for containers",
        ),
        f(
            "persist limits for services with systemd drop-ins",
            systemd,
            false,
            if systemd {
                "systemd is PID 1".into()
            } else {
                "systemd is not running as PID 1 (/run/systemd/system is absent)".into()
            },
            "use limits.d for login sessions, or the init system's own mechanism; `porttune apply --root DIR` writes files for an image",
        ),
        f(
            "flood beyond one process's fd limit (several worker processes)",
            true,
            false,
            format!("each worker has its own {} fds", snap.process.nofile.soft),
            "",
        ),
    ];
    if !cfg!(target_os = "linux") {
        out.retain(|x| !x.what.contains("nf_conntrack") && !x.what.contains("systemd"));
    }
    out
}

/// On a Mac (no /proc, no namespaces, no capabilities): what sysctl(3), launchd and the
/// process-information API allow, for `root` or not.
fn macos_findings(snap: &Snapshot, root: bool) -> Vec<Finding> {
    let sudo =
        "run it with sudo (macOS sysctls, launchctl limit and /Library/LaunchDaemons are root's)";
    vec![
        f(
            "read the host (sysctl: ports, files, somaxconn, MSL, memory)",
            true,
            true,
            "sysctl(3) is readable by every user".into(),
            "",
        ),
        f(
            "read another process's RLIMIT_NOFILE (check --pid)",
            false,
            false,
            "macOS does not expose another process's limits; its fds and sockets are read through proc_pidinfo".into(),
            "pass the limits the process was started with: `porttune check --pid PID --nofile SOFT:HARD`",
        ),
        f(
            "write sysctls (kern.maxfiles, kern.maxfilesperproc, kern.ipc.somaxconn, net.inet.ip.portrange.*, net.inet.tcp.msl)",
            root,
            true,
            if root {
                "root: writable (host-wide on macOS; there are no network namespaces)".into()
            } else {
                "not root".into()
            },
            sudo,
        ),
        f(
            "set launchd's maxfiles (`launchctl limit maxfiles`) and persist with a LaunchDaemon plist",
            root,
            true,
            if root { "root".into() } else { "not root".into() },
            sudo,
        ),
        f(
            "flood on loopback (kqueue, several worker processes)",
            true,
            false,
            format!(
                "each worker has its own {} fds; the ephemeral ports are the whole Mac's while it runs (no namespaces), and source addresses beyond 127.0.0.1 need lo0 aliases",
                snap.process.nofile.soft
            ),
            "",
        ),
    ]
}

pub fn run(a: &DoctorArgs) -> Result<i32> {
    let snap = snapshot::probe::probe(&ProbeOptions::default())?;
    let out = if snap.platform.os == crate::snapshot::Os::Macos {
        macos_findings(&snap, nix::unistd::geteuid().is_root())
    } else {
        findings(&snap)
    };
    let ctx = context(&snap);
    match a.format {
        DoctorFormat::Json => crate::outln!("{}", render::doctor::json(&ctx, &out)?),
        DoctorFormat::Text => crate::out!("{}", render::doctor::text(&ctx, &out)),
    }
    let missing = out.iter().any(|x| x.needed && !x.can);
    Ok(if missing { exit::FAILED } else { exit::OK })
}

#[cfg(test)]
mod macos_tests {
    use super::*;

    #[test]
    fn a_mac_says_what_it_can_and_cannot_do() {
        let mut snap = Snapshot::default();
        snap.platform.os = crate::snapshot::Os::Macos;
        let user = macos_findings(&snap, false);
        assert!(user.iter().any(|x| x.needed && !x.can), "not root: exit 1");
        let root = macos_findings(&snap, true);
        assert!(
            !root.iter().any(|x| x.needed && !x.can),
            "root: all it needs"
        );
        let all = serde_json::to_string(&root).unwrap();
        for linux in [
            "/proc/sys",
            "CAP_",
            "conntrack",
            "systemd",
            "network namespace ",
        ] {
            assert!(!all.contains(linux), "{linux}: {all}");
        }
        assert!(all.contains("--nofile SOFT:HARD"));
        let ctx = serde_json::json!({"os": "macos", "kernel": "23.4.0", "root": true});
        assert!(render::doctor::text(&ctx, &root).contains("macOS 23.4.0, as root"));
    }
}
