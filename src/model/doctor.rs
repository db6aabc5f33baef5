//! `doctor`: what porttune can and cannot do here, why, and the fix for each "cannot" —
//! derived from the snapshot and the abilities read from the host (`snapshot::abilities`),
//! so the answer holds in a child network namespace, a container or a read-only /proc/sys.

use serde::Serialize;

use crate::snapshot::Snapshot;
use crate::snapshot::abilities::Abilities;

/// One thing porttune can or cannot do here, why, and the fix.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct Finding {
    pub what: String,
    pub can: bool,
    /// `apply` needs it for the bundled profiles: a "cannot" here makes doctor exit 1.
    pub needed: bool,
    pub why: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

/// Something needed cannot be done here (doctor exits 1).
pub fn missing(out: &[Finding]) -> bool {
    out.iter().any(|x| x.needed && !x.can)
}

fn f(what: &str, can: bool, needed: bool, why: String, fix: &str) -> Finding {
    Finding {
        what: what.into(),
        can,
        needed,
        why,
        fix: (!can).then(|| fix.to_string()),
    }
}

/// Where porttune runs: the network namespace and the container, said plainly.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Context {
    /// porttune runs as root (euid 0).
    pub root: bool,
    /// The network namespace (`net:[INODE]`), when it could be read.
    pub netns: Option<String>,
    /// Whether that is the host's own network namespace (`null`: could not be read).
    pub initial_netns: Option<bool>,
    /// The container porttune runs in, and how that was seen.
    pub container: Option<String>,
    /// systemd is the init system (units, drop-ins).
    pub systemd: bool,
    pub os: crate::snapshot::Os,
    /// The kernel's release (Linux) or Darwin version (macOS).
    pub kernel: Option<String>,
}

pub fn context(snap: &Snapshot, ab: &Abilities) -> Context {
    Context {
        root: ab.root,
        netns: snap.net.netns.clone(),
        initial_netns: snap.net.initial_netns,
        container: snap.platform.container.clone(),
        systemd: ab.systemd,
        os: snap.platform.os,
        kernel: snap.platform.kernel.clone(),
    }
}

/// On Linux: what the capabilities, the namespace and /proc/sys allow.
pub fn findings(snap: &Snapshot, ab: &Abilities) -> Vec<Finding> {
    let caps = &snap.process.caps;
    let child_ns = snap.net.initial_netns == Some(false);
    let ns = snap.net.netns.clone().unwrap_or_else(|| "unknown".into());
    let (net, fs, ct, systemd) = (&ab.net, &ab.fs, &ab.conntrack, ab.systemd);
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
            match net {
                Ok(()) => scope.clone(),
                Err(e) => format!("{e}; {scope}"),
            },
            "run as root on the host, or set per-namespace keys as container sysctls (docker run --sysctl, pod securityContext.sysctls)",
        ),
        f(
            "write host-wide sysctls (fs.file-max, fs.nr_open)",
            fs.is_ok(),
            true,
            match (fs, &snap.platform.container) {
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
            match ct {
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
pub fn macos_findings(snap: &Snapshot, root: bool) -> Vec<Finding> {
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
    }
}

#[cfg(test)]
mod linux_tests {
    use super::*;

    fn abilities(net: bool, fs: bool) -> Abilities {
        let no = |k: &str| {
            Err(format!(
                "{k} is on a read-only /proc/sys (a container's default)"
            ))
        };
        Abilities {
            root: true,
            systemd: false,
            net: if net { Ok(()) } else { no("net") },
            fs: if fs { Ok(()) } else { no("fs") },
            conntrack: no("ct"),
        }
    }

    #[test]
    fn a_read_only_proc_sys_is_a_missing_need() {
        let mut snap = Snapshot::default();
        snap.process.caps.sys_resource = true;
        assert!(!missing(&findings(&snap, &abilities(true, true))));
        let ro = findings(&snap, &abilities(false, true));
        assert!(missing(&ro));
        let net = ro
            .iter()
            .find(|f| f.what.starts_with("write net.*"))
            .unwrap();
        assert!(net.why.contains("read-only /proc/sys"), "{}", net.why);
        assert!(net.fix.as_deref().unwrap().contains("container sysctls"));
        // conntrack is not needed: read-only there does not fail doctor
        assert!(!missing(&findings(&snap, &abilities(true, true))));
    }

    #[test]
    fn a_container_that_can_write_fs_is_warned_it_is_host_wide() {
        let mut snap = Snapshot::default();
        snap.platform.container = Some("docker".into());
        let out = findings(&snap, &abilities(true, true));
        let fs = out
            .iter()
            .find(|f| f.what.starts_with("write host-wide"))
            .unwrap();
        assert!(fs.why.contains("changes the whole host"), "{}", fs.why);
    }
}
