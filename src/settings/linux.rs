//! The Linux sysctls porttune knows (limits-facts.md §1-3, §7; the kernel's ip-sysctl docs):
//! the type and range the kernel's handlers accept, whether each lives in every network
//! namespace or only on the host (checked on Linux 6.18), and the snapshot field it maps to.
//! The probe reads the snapshot through `set`, the what-if writes it through `set` and
//! reads it through `get`, validation takes `kind`, the plan and the model take `scope`.
//!
//! `kind: None` means the value is not checked before writing (the kernel judges it);
//! `Scope::Host` for a `net.*` key means "not known to be per network namespace".

use super::{Kind, Scope, Setting};
use crate::snapshot::procsys::parse_port_list;
use crate::snapshot::{Conntrack, PortRange, Snapshot, port_list};

const INT_MAX: i128 = i32::MAX as i128;
const LONG_MAX: i128 = i64::MAX as i128;

const fn int(min: i128, max: i128) -> Option<Kind> {
    Some(Kind::Int { min, max })
}

fn text<T: ToString>(v: Option<T>) -> Option<String> {
    v.map(|v| v.to_string())
}

/// One number as the kernel prints it (surrounding whitespace ignored).
fn num<T: std::str::FromStr>(v: &str) -> Option<T> {
    v.trim().parse().ok()
}

/// Whitespace-separated numbers, every one of which must parse.
fn nums<T: std::str::FromStr>(v: &str) -> Option<Vec<T>> {
    v.split_whitespace().map(|x| x.parse().ok()).collect()
}

fn put<T>(slot: &mut Option<T>, v: Option<T>) -> bool {
    match v {
        Some(v) => {
            *slot = Some(v);
            true
        }
        None => false,
    }
}

fn none(_: &Snapshot) -> Option<String> {
    None
}

fn unset(_: &mut Snapshot, _: &str) -> bool {
    false
}

fn port_range(v: &str) -> Option<PortRange> {
    match nums::<u16>(v)?.as_slice() {
        [lo, hi] => Some(PortRange { lo: *lo, hi: *hi }),
        _ => None,
    }
}

fn conntrack_max(s: &mut Snapshot, v: &str) -> bool {
    match num(v) {
        Some(m) => {
            s.net.conntrack.get_or_insert_with(Conntrack::default).max = Some(m);
            true
        }
        None => false,
    }
}

/// In table order: the per-namespace keys first (the order `check`'s messages name them),
/// then the host-wide ones.
pub static SETTINGS: &[Setting] = &[
    // Per network namespace.
    Setting {
        key: "net.ipv4.ip_local_port_range",
        kind: Some(Kind::PortRange),
        scope: Scope::Netns,
        what: "the ephemeral port range",
        alias_of: None,
        get: |s| {
            s.net
                .ip_local_port_range
                .map(|r| format!("{} {}", r.lo, r.hi))
        },
        set: |s, v| put(&mut s.net.ip_local_port_range, port_range(v)),
    },
    Setting {
        key: "net.ipv4.ip_local_reserved_ports",
        kind: None,
        scope: Scope::Netns,
        what: "ports left out of the ephemeral range",
        alias_of: None,
        get: |s| Some(port_list(&s.net.ip_local_reserved_ports)),
        set: |s, v| match parse_port_list(v) {
            Ok(p) => {
                s.net.ip_local_reserved_ports = p;
                true
            }
            Err(_) => false,
        },
    },
    Setting {
        key: "net.ipv4.ip_unprivileged_port_start",
        kind: int(0, 65535),
        scope: Scope::Netns,
        what: "the first port a process without CAP_NET_BIND_SERVICE may bind",
        alias_of: None,
        get: |s| text(s.net.ip_unprivileged_port_start),
        set: |s, v| put(&mut s.net.ip_unprivileged_port_start, num(v)),
    },
    Setting {
        key: "net.ipv4.ip_autobind_reuse",
        kind: int(0, 1),
        scope: Scope::Netns,
        what: "bind(port 0) may reuse ports of connected sockets",
        alias_of: None,
        get: |s| text(s.net.ip_autobind_reuse),
        set: |s, v| put(&mut s.net.ip_autobind_reuse, num(v)),
    },
    Setting {
        key: "net.ipv4.tcp_tw_reuse",
        kind: int(0, 2),
        scope: Scope::Netns,
        what: "outgoing connections may reuse TIME_WAIT ports",
        alias_of: None,
        get: |s| text(s.net.tcp_tw_reuse),
        set: |s, v| put(&mut s.net.tcp_tw_reuse, num(v)),
    },
    Setting {
        key: "net.ipv4.tcp_tw_reuse_delay",
        kind: int(1, 60000),
        scope: Scope::Netns,
        what: "ms before a TIME_WAIT port may be reused",
        alias_of: None,
        get: |s| text(s.net.tcp_tw_reuse_delay_ms),
        set: |s, v| put(&mut s.net.tcp_tw_reuse_delay_ms, num(v)),
    },
    Setting {
        key: "net.ipv4.tcp_max_tw_buckets",
        kind: int(0, INT_MAX),
        scope: Scope::Netns,
        what: "TIME_WAIT sockets kept at most",
        alias_of: None,
        get: |s| text(s.net.tcp_max_tw_buckets),
        set: |s, v| put(&mut s.net.tcp_max_tw_buckets, num(v)),
    },
    Setting {
        key: "net.ipv4.tcp_fin_timeout",
        kind: int(1, INT_MAX),
        scope: Scope::Netns,
        what: "the FIN_WAIT_2 timeout of orphans, s",
        alias_of: None,
        get: |s| text(s.net.tcp_fin_timeout),
        set: |s, v| put(&mut s.net.tcp_fin_timeout, num(v)),
    },
    Setting {
        key: "net.ipv4.tcp_max_syn_backlog",
        kind: int(0, INT_MAX),
        scope: Scope::Netns,
        what: "half-open connections per listener",
        alias_of: None,
        get: |s| text(s.net.tcp_max_syn_backlog),
        set: |s, v| put(&mut s.net.tcp_max_syn_backlog, num(v)),
    },
    Setting {
        key: "net.ipv4.tcp_syncookies",
        kind: int(0, 2),
        scope: Scope::Netns,
        what: "SYN cookies when the SYN queue is full",
        alias_of: None,
        get: |s| text(s.net.tcp_syncookies),
        set: |s, v| put(&mut s.net.tcp_syncookies, num(v)),
    },
    Setting {
        key: "net.ipv4.tcp_syn_retries",
        kind: None,
        scope: Scope::Netns,
        what: "SYN retransmissions before connect() gives up",
        alias_of: None,
        get: |s| text(s.net.tcp_syn_retries),
        set: |s, v| put(&mut s.net.tcp_syn_retries, num(v)),
    },
    Setting {
        key: "net.ipv4.tcp_timestamps",
        kind: int(0, 2),
        scope: Scope::Netns,
        what: "TCP timestamps (TIME_WAIT reuse needs them)",
        alias_of: None,
        get: |s| text(s.net.tcp_timestamps),
        set: |s, v| put(&mut s.net.tcp_timestamps, num(v)),
    },
    Setting {
        key: "net.ipv4.tcp_rmem",
        kind: Some(Kind::Triple { max: INT_MAX }),
        scope: Scope::Netns,
        what: "TCP receive buffer sizes (min default max)",
        alias_of: None,
        get: none,
        set: unset,
    },
    Setting {
        key: "net.ipv4.tcp_wmem",
        kind: Some(Kind::Triple { max: INT_MAX }),
        scope: Scope::Netns,
        what: "TCP send buffer sizes (min default max)",
        alias_of: None,
        get: none,
        set: unset,
    },
    Setting {
        key: "net.core.somaxconn",
        kind: int(0, INT_MAX),
        scope: Scope::Netns,
        what: "the largest listen backlog",
        alias_of: None,
        get: |s| text(s.net.somaxconn),
        set: |s, v| put(&mut s.net.somaxconn, num(v)),
    },
    Setting {
        key: "net.core.optmem_max",
        kind: int(0, INT_MAX),
        scope: Scope::Netns,
        what: "ancillary buffer size per socket",
        alias_of: None,
        get: none,
        set: unset,
    },
    Setting {
        key: "net.ipv4.tcp_child_ehash_entries",
        kind: None,
        scope: Scope::Netns,
        what: "the established-hash size of network namespaces created later",
        alias_of: None,
        get: none,
        set: unset,
    },
    // Host-wide: only the host (initial namespaces, root) can change them.
    Setting {
        key: "fs.file-max",
        kind: int(0, LONG_MAX),
        scope: Scope::Host,
        what: "open files on the host (ENFILE above it, CAP_SYS_ADMIN exempt)",
        alias_of: None,
        get: |s| text(s.fs.file_max),
        set: |s, v| put(&mut s.fs.file_max, num(v)),
    },
    Setting {
        // fs/file.c: BITS_PER_LONG .. sysctl_nr_open_max (2147483584 on 64-bit).
        key: "fs.nr_open",
        kind: int(64, 2_147_483_584),
        scope: Scope::Host,
        what: "the largest RLIMIT_NOFILE a process may have",
        alias_of: None,
        get: |s| text(s.fs.nr_open),
        set: |s, v| put(&mut s.fs.nr_open, num(v)),
    },
    Setting {
        key: "kernel.pid_max",
        kind: int(301, 4_194_304),
        scope: Scope::Host,
        what: "the largest PID (tasks on the host)",
        alias_of: None,
        get: |s| text(s.memory.pid_max),
        set: |s, v| put(&mut s.memory.pid_max, num(v)),
    },
    Setting {
        key: "kernel.threads-max",
        kind: int(20, 0x3fff_ffff),
        scope: Scope::Host,
        what: "threads on the host",
        alias_of: None,
        get: |s| text(s.memory.threads_max),
        set: |s, v| put(&mut s.memory.threads_max, num(v)),
    },
    Setting {
        key: "net.ipv4.tcp_mem",
        kind: Some(Kind::Triple { max: LONG_MAX }),
        scope: Scope::Host,
        what: "TCP memory pressure thresholds in pages (min pressure max)",
        alias_of: None,
        get: |s| s.net.tcp_mem.map(|m| format!("{} {} {}", m[0], m[1], m[2])),
        set: |s, v| {
            let m = nums::<u64>(v).and_then(|p| match p.as_slice() {
                [a, b, c] => Some([*a, *b, *c]),
                _ => None,
            });
            put(&mut s.net.tcp_mem, m)
        },
    },
    Setting {
        key: "net.ipv4.tcp_max_orphans",
        kind: int(0, INT_MAX),
        scope: Scope::Host,
        what: "sockets closed by their process the kernel keeps at most",
        alias_of: None,
        get: none,
        set: unset,
    },
    Setting {
        key: "net.core.netdev_max_backlog",
        kind: int(0, INT_MAX),
        scope: Scope::Host,
        what: "packets queued per CPU on input",
        alias_of: None,
        get: none,
        set: unset,
    },
    Setting {
        key: "net.netfilter.nf_conntrack_max",
        kind: int(0, INT_MAX),
        scope: Scope::Host,
        what: "tracked connections on the host",
        alias_of: None,
        get: |s| s.net.conntrack.as_ref().and_then(|c| text(c.max)),
        set: conntrack_max,
    },
    Setting {
        key: "net.netfilter.nf_conntrack_buckets",
        kind: None,
        scope: Scope::Host,
        what: "the conntrack hash size",
        alias_of: None,
        get: none,
        set: unset,
    },
    Setting {
        key: "net.core.rmem_max",
        kind: int(0, INT_MAX),
        scope: Scope::Host,
        what: "the largest SO_RCVBUF",
        alias_of: None,
        get: none,
        set: unset,
    },
    Setting {
        key: "net.core.wmem_max",
        kind: int(0, INT_MAX),
        scope: Scope::Host,
        what: "the largest SO_SNDBUF",
        alias_of: None,
        get: none,
        set: unset,
    },
    Setting {
        key: "net.ipv4.tcp_notsent_lowat",
        kind: int(0, u32::MAX as i128),
        scope: Scope::Host,
        what: "unsent bytes before a socket stops being writable",
        alias_of: None,
        get: none,
        set: unset,
    },
    Setting {
        key: "net.nf_conntrack_max",
        kind: int(0, INT_MAX),
        scope: Scope::Host,
        what: "tracked connections on the host",
        alias_of: Some("net.netfilter.nf_conntrack_max"),
        get: |s| s.net.conntrack.as_ref().and_then(|c| text(c.max)),
        set: conntrack_max,
    },
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::find;
    use crate::snapshot::Os;

    #[test]
    fn keys_are_unique() {
        let mut keys: Vec<&str> = SETTINGS.iter().map(|s| s.key).collect();
        keys.sort_unstable();
        let n = keys.len();
        keys.dedup();
        assert_eq!(keys.len(), n);
    }

    #[test]
    fn get_and_set_map_to_the_snapshot() {
        let mut snap = Snapshot::default();
        for (k, v) in [
            ("net.ipv4.ip_local_port_range", "1024 65535"),
            ("net.ipv4.ip_local_reserved_ports", "8080,40000-40010"),
            ("net.ipv4.tcp_mem", "1 2 3"),
            ("net.netfilter.nf_conntrack_max", "262144"),
            ("net.core.somaxconn", "4096"),
            ("kernel.pid_max", "4194304"),
        ] {
            let s = find(Os::Linux, k).unwrap();
            assert!((s.set)(&mut snap, v), "{k}");
            assert_eq!((s.get)(&snap).as_deref(), Some(v), "{k}");
        }
        // The kernel's tab-separated text and extra whitespace read the same.
        let r = find(Os::Linux, "net.ipv4.ip_local_port_range").unwrap();
        assert!((r.set)(&mut snap, " 32768\t60999 "));
        assert_eq!((r.get)(&snap).as_deref(), Some("32768 60999"));
        // Out of range for the field, or the wrong shape: not recorded.
        assert!(!(r.set)(&mut snap, "32768 70000"));
        assert!(!(r.set)(&mut snap, "32768"));
        assert!(!(r.set)(&mut snap, "1 x 2"));
        let m = find(Os::Linux, "net.ipv4.tcp_mem").unwrap();
        assert!(!(m.set)(&mut snap, "1 2"));
        assert!(!(find(Os::Linux, "net.ipv4.tcp_rmem").unwrap().set)(
            &mut snap, "1 2 3"
        ));
        assert_eq!((r.get)(&snap).as_deref(), Some("32768 60999"));
    }

    #[test]
    fn scope() {
        let netns = |k: &str| find(Os::Linux, k).unwrap().scope == Scope::Netns;
        assert!(netns("net.core.somaxconn"));
        assert!(!netns("fs.file-max"));
        assert!(!netns("net.ipv4.tcp_mem"));
        assert!(!netns("net.netfilter.nf_conntrack_max"));
    }
}
