//! The macOS settings porttune knows (xnu; macos-facts.md): types and ranges as the kernel's
//! sysctl handlers accept them, and the snapshot fields they map to.

use super::Setting;
use super::{Kind, Scope};
use crate::snapshot::{PortRange, Snapshot};

const INT_MAX: i128 = i32::MAX as i128;

fn text(v: Option<u64>) -> Option<String> {
    v.map(|v| v.to_string())
}

fn num(v: &str) -> Option<u64> {
    v.trim().parse().ok()
}

fn port(v: &str) -> Option<u16> {
    v.trim().parse().ok()
}

fn range(snap: &Snapshot) -> PortRange {
    snap.net.ip_local_port_range.unwrap_or(PortRange {
        lo: 49152,
        hi: 65535,
    })
}

pub static SETTINGS: &[Setting] = &[
    Setting {
        key: "kern.maxfiles",
        kind: Some(Kind::Int {
            min: 1,
            max: INT_MAX,
        }),
        scope: Scope::Host,
        alias_of: None,
        what: "open files on the host (ENFILE above it, root included)",
        get: |s| text(s.fs.file_max),
        set: |s, v| num(v).map(|n| s.fs.file_max = Some(n)).is_some(),
    },
    Setting {
        key: "kern.maxfilesperproc",
        kind: Some(Kind::Int {
            min: 1,
            max: INT_MAX,
        }),
        scope: Scope::Host,
        alias_of: None,
        what: "open files per process (the kernel enforces the lower of it and RLIMIT_NOFILE)",
        get: |s| text(s.fs.maxfilesperproc),
        set: |s, v| num(v).map(|n| s.fs.maxfilesperproc = Some(n)).is_some(),
    },
    Setting {
        // so_qlimit is a short in xnu's struct socket: larger backlogs do not fit.
        key: "kern.ipc.somaxconn",
        kind: Some(Kind::Int { min: 1, max: 32767 }),
        scope: Scope::Host,
        alias_of: None,
        what: "the largest listen backlog",
        get: |s| text(s.net.somaxconn),
        set: |s, v| num(v).map(|n| s.net.somaxconn = Some(n)).is_some(),
    },
    Setting {
        // sysctl_net_ipport_check: IPPORT_RESERVED (1024) ..= IPPORT_MAX (65535).
        key: "net.inet.ip.portrange.first",
        kind: Some(Kind::Int {
            min: 1024,
            max: 65535,
        }),
        scope: Scope::Host,
        alias_of: None,
        what: "the first ephemeral port",
        get: |s| s.net.ip_local_port_range.map(|r| r.lo.to_string()),
        set: |s, v| match port(v) {
            Some(lo) => {
                let r = range(s);
                s.net.ip_local_port_range = Some(PortRange { lo, hi: r.hi });
                true
            }
            None => false,
        },
    },
    Setting {
        key: "net.inet.ip.portrange.last",
        kind: Some(Kind::Int {
            min: 1024,
            max: 65535,
        }),
        scope: Scope::Host,
        alias_of: None,
        what: "the last ephemeral port",
        get: |s| s.net.ip_local_port_range.map(|r| r.hi.to_string()),
        set: |s, v| match port(v) {
            Some(hi) => {
                let r = range(s);
                s.net.ip_local_port_range = Some(PortRange { lo: r.lo, hi });
                true
            }
            None => false,
        },
    },
    Setting {
        // Milliseconds; TIME_WAIT is 2 × MSL (tcp_timer.c).
        key: "net.inet.tcp.msl",
        kind: Some(Kind::Int {
            min: 1,
            max: INT_MAX,
        }),
        scope: Scope::Host,
        alias_of: None,
        what: "the maximum segment lifetime in ms (TIME_WAIT = 2 × MSL)",
        get: |s| text(s.net.msl_ms),
        set: |s, v| num(v).map(|n| s.net.msl_ms = Some(n)).is_some(),
    },
    Setting {
        key: "kern.maxproc",
        kind: Some(Kind::Int {
            min: 1,
            max: INT_MAX,
        }),
        scope: Scope::Host,
        alias_of: None,
        what: "processes on the host",
        get: |_| None,
        set: |_, _| false,
    },
    Setting {
        key: "kern.maxprocperuid",
        kind: Some(Kind::Int {
            min: 1,
            max: INT_MAX,
        }),
        scope: Scope::Host,
        alias_of: None,
        what: "processes per user",
        get: |_| None,
        set: |_, _| false,
    },
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::find;
    use crate::snapshot::Os;

    #[test]
    fn get_and_set_map_to_the_snapshot() {
        let mut snap = Snapshot::default();
        snap.platform.os = Os::Macos;
        let first = find(Os::Macos, "net.inet.ip.portrange.first").unwrap();
        assert!((first.set)(&mut snap, "10000"));
        assert_eq!(
            snap.net.ip_local_port_range,
            Some(PortRange {
                lo: 10000,
                hi: 65535
            })
        );
        assert!(!(first.set)(&mut snap, "70000"));
        let msl = find(Os::Macos, "net.inet.tcp.msl").unwrap();
        assert!((msl.set)(&mut snap, "5000"));
        assert_eq!((msl.get)(&snap).as_deref(), Some("5000"));
    }
}
