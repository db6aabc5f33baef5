//! Words only Linux says: no macOS output of check, flood or plan/apply may contain one
//! (docs/macos.md, "Nothing on a Mac is said in Linux terms").

/// Linux keys, mechanisms, files and numbers a Mac does not have.
pub const LINUX_WORDS: &[&str] = &[
    "net.core",
    "net.ipv4",
    "fs.file-max",
    "fs.nr_open",
    "conntrack",
    "CAP_",
    "LimitNOFILE",
    "IP_BIND_ADDRESS_NO_PORT",
    "tcp_abort_on_overflow",
    "TcpExtListenOverflows",
    "ListenOverflows",
    "tcp_tw_reuse",
    "ip_local_port_range",
    "sockstat",
    "MemAvailable",
    "/proc",
    "/etc/sysctl",
    "sysctl.d",
    "limits.d",
    "pam_limits",
    "systemd",
    "systemctl",
    "prlimit",
    "cgroup",
    "namespace",
    "netns",
    "REJECT",
    "60 s",
    "(source ip, destination ip, destination port)",
    "Linux",
    "linux",
    // RLIM_INFINITY as a number (2^63 − 1) or as u64::MAX: a Mac's unlimited is a word.
    "9223372036854775807",
    "18446744073709551615",
];

/// Panics with the lines of `text` that say a Linux word.
pub fn assert_none(what: &str, text: &str) {
    for w in LINUX_WORDS {
        assert!(
            !text.contains(w),
            "{what} says {w:?}:\n{}",
            text.lines()
                .filter(|l| l.contains(w))
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
}
