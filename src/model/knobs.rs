//! Which sysctls live in each network namespace and which are host-wide
//! (limits-facts.md §7, checked on Linux 6.18).

/// Per network namespace: writable inside a container's or pod's own namespace, so they can
/// be set as container sysctls (`docker run --sysctl`, pod `securityContext.sysctls`).
pub const PER_NETNS: &[&str] = &[
    "net.ipv4.ip_local_port_range",
    "net.ipv4.ip_local_reserved_ports",
    "net.ipv4.ip_unprivileged_port_start",
    "net.ipv4.ip_autobind_reuse",
    "net.ipv4.tcp_tw_reuse",
    "net.ipv4.tcp_tw_reuse_delay",
    "net.ipv4.tcp_max_tw_buckets",
    "net.ipv4.tcp_fin_timeout",
    "net.ipv4.tcp_max_syn_backlog",
    "net.ipv4.tcp_syncookies",
    "net.ipv4.tcp_syn_retries",
    "net.ipv4.tcp_timestamps",
    "net.ipv4.tcp_rmem",
    "net.ipv4.tcp_wmem",
    "net.core.somaxconn",
    "net.core.optmem_max",
    "net.ipv4.tcp_child_ehash_entries",
];

/// Host-wide: only the host (initial namespaces, root) can change them.
pub const HOST_WIDE: &[&str] = &[
    "fs.file-max",
    "fs.nr_open",
    "kernel.pid_max",
    "kernel.threads-max",
    "net.ipv4.tcp_mem",
    "net.ipv4.tcp_max_orphans",
    "net.core.netdev_max_backlog",
    "net.netfilter.nf_conntrack_max",
    "net.netfilter.nf_conntrack_buckets",
    "net.core.rmem_max",
    "net.core.wmem_max",
];

/// True for keys known to be per network namespace; unknown keys are treated as host-wide.
pub fn is_per_netns(key: &str) -> bool {
    PER_NETNS.contains(&key)
}
