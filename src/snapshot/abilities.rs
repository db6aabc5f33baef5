//! What this process may do here, read from the host for `doctor`: whether a sysctl could be
//! written (asked with access(2): nothing is opened or written), root, systemd as PID 1.
//! Facts only; the findings are derived in `model::doctor`.

use nix::errno::Errno;

/// The abilities `doctor` reports on, as read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Abilities {
    pub root: bool,
    /// systemd is PID 1 (/run/systemd/system exists).
    pub systemd: bool,
    /// net.ipv4.ip_local_port_range writable, or why not.
    pub net: Result<(), String>,
    /// fs.file-max writable, or why not.
    pub fs: Result<(), String>,
    /// net.netfilter.nf_conntrack_max writable, or why not.
    pub conntrack: Result<(), String>,
}

/// Read them from this host.
pub fn read() -> Abilities {
    Abilities {
        root: nix::unistd::geteuid().is_root(),
        systemd: std::path::Path::new("/run/systemd/system").exists(),
        net: sysctl_writable("net.ipv4.ip_local_port_range"),
        fs: sysctl_writable("fs.file-max"),
        conntrack: sysctl_writable("net.netfilter.nf_conntrack_max"),
    }
}

/// Whether `/proc/sys/KEY` could be written, and why not: access(2) asks the kernel the
/// question a write would (the mount, the file's mode, the namespace's owner, the
/// capabilities) without opening anything.
fn sysctl_writable(key: &str) -> Result<(), String> {
    let path = format!("/proc/sys/{}", key.replace('.', "/"));
    nix::unistd::access(path.as_str(), nix::unistd::AccessFlags::W_OK)
        .map_err(|e| why_not_writable(key, &std::io::Error::from(e)))
}

/// Why `/proc/sys/KEY` is not writable, in words (from access(2)'s errno).
pub fn why_not_writable(key: &str, e: &std::io::Error) -> String {
    match e.raw_os_error().map(Errno::from_raw) {
        Some(Errno::EROFS) => format!("{key} is on a read-only /proc/sys (a container's default)"),
        Some(Errno::ENOENT) => {
            format!("{key} does not exist here (module not loaded, or another kernel)")
        }
        Some(Errno::EACCES | Errno::EPERM) => format!(
            "{key} is not writable by this user here (not root, or read-only in this network namespace)"
        ),
        _ => format!("{key}: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_by_errno() {
        let k = "fs.file-max";
        let e = |n| std::io::Error::from_raw_os_error(n);
        assert!(why_not_writable(k, &e(Errno::EROFS as i32)).contains("read-only /proc/sys"));
        assert!(why_not_writable(k, &e(Errno::ENOENT as i32)).contains("does not exist"));
        assert!(why_not_writable(k, &e(Errno::EPERM as i32)).contains("not writable by this user"));
        assert!(
            why_not_writable(k, &e(Errno::EACCES as i32)).contains("not writable by this user")
        );
        assert!(why_not_writable(k, &e(Errno::EIO as i32)).starts_with("fs.file-max: "));
    }
}
