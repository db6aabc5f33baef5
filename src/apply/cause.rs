//! Why a sysctl this process may not write is refused here: a read-only /proc/sys (a
//! container), a key the kernel makes read-only outside the host's initial network namespace,
//! a missing capability, or not being root. Read-only: nothing is written.

use super::limits::{CAP_NET_ADMIN, CAP_SYS_ADMIN, has_cap};
use super::sysctl::SysctlFs;

/// The facts a refusal is explained from (separate from the I/O so it can be tested).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Facts {
    /// errno of access(W_OK), None when the access check passes.
    pub errno: Option<i32>,
    pub root: bool,
    /// The file's mode has no write bit (the kernel made it read-only here).
    pub mode_read_only: bool,
    pub per_netns: bool,
    pub has_cap: bool,
    pub initial_netns: Option<bool>,
    pub container: bool,
}

/// The cause in words, or None when nothing refuses it.
pub fn explain(key: &str, f: &Facts) -> Option<String> {
    let cap = if f.per_netns {
        "CAP_NET_ADMIN"
    } else {
        "CAP_SYS_ADMIN"
    };
    let erofs = nix::errno::Errno::EROFS as i32;
    Some(match f.errno {
        Some(e) if e == erofs => format!(
            "/proc/sys is mounted read-only here{}: {}",
            if f.container { " (a container)" } else { "" },
            if f.per_netns {
                "set it as a container sysctl, or on the host"
            } else {
                "host-wide: set it on the host"
            }
        ),
        Some(_) if !f.root => "not root: run as root".to_string(),
        Some(_) if f.mode_read_only && f.initial_netns != Some(true) => format!(
            "{key} is read-only in this network namespace (the kernel lets only the host's initial namespace change it): set it on the host, or leave it out (--skip {key})"
        ),
        Some(_) if f.mode_read_only => format!("{key} is read-only on this kernel"),
        Some(e) => format!(
            "refused ({}) although root: a user namespace or a security module (AppArmor, SELinux) denies it",
            std::io::Error::from_raw_os_error(e)
        ),
        None if !f.has_cap => format!("missing capability {cap}"),
        None => return None,
    })
}

impl SysctlFs {
    /// Why `key` cannot be written here, or None when it can.
    pub fn refusal(
        &self,
        key: &str,
        initial_netns: Option<bool>,
        container: bool,
    ) -> Option<String> {
        let path = self.path(key).ok()?;
        let errno = nix::unistd::access(&path, nix::unistd::AccessFlags::W_OK)
            .err()
            .map(|e| e as i32);
        let mode_read_only = {
            use std::os::unix::fs::PermissionsExt;
            std::fs::metadata(&path).is_ok_and(|m| m.permissions().mode() & 0o222 == 0)
        };
        let per_netns = crate::model::knobs::is_per_netns(key);
        let facts = Facts {
            errno,
            root: nix::unistd::geteuid().is_root(),
            mode_read_only,
            per_netns,
            // Capabilities matter for the real /proc/sys only (not for fixture trees).
            has_cap: self.root() != std::path::Path::new(super::sysctl::DEFAULT_ROOT)
                || has_cap(if per_netns {
                    CAP_NET_ADMIN
                } else {
                    CAP_SYS_ADMIN
                }),
            initial_netns,
            container,
        };
        explain(key, &facts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts() -> Facts {
        Facts {
            errno: None,
            root: true,
            mode_read_only: false,
            per_netns: true,
            has_cap: true,
            initial_netns: Some(true),
            container: false,
        }
    }

    #[test]
    fn causes() {
        let k = "net.netfilter.nf_conntrack_max";
        assert_eq!(explain(k, &facts()), None);
        let ro_ns = Facts {
            errno: Some(13),
            mode_read_only: true,
            initial_netns: Some(false),
            ..facts()
        };
        assert!(
            explain(k, &ro_ns)
                .unwrap()
                .contains("read-only in this network namespace")
        );
        let erofs = Facts {
            errno: Some(30),
            container: true,
            ..facts()
        };
        assert!(
            explain(k, &erofs)
                .unwrap()
                .contains("mounted read-only here (a container)")
        );
        let user = Facts {
            errno: Some(13),
            root: false,
            ..facts()
        };
        assert_eq!(explain(k, &user).unwrap(), "not root: run as root");
        let nocap = Facts {
            has_cap: false,
            per_netns: false,
            ..facts()
        };
        assert_eq!(
            explain("fs.file-max", &nocap).unwrap(),
            "missing capability CAP_SYS_ADMIN"
        );
    }
}
