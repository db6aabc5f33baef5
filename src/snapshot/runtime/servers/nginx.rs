//! nginx: each worker holds up to `worker_connections` (default 512) connections, less a slot
//! per listening socket and one for the channel to the master, and its own fd limit, set from
//! `worker_rlimit_nofile` or inherited from the master. The configuration is `-c` (relative
//! to the prefix, `-p`, or the binary's `--prefix=`), else the binary's `--conf-path=`
//! (Debian: /etc/nginx/nginx.conf), read by `runtime::nginx`; the formula is
//! `model::servers`. Source: nginx documentation (ngx_core_module, events), measured on 1.22.

use super::super::entry::{At, CapSetting, ConfigSpec, Entry, IncludeKind, Message, Shape, num};
use crate::snapshot::RuntimeKind;

pub const ENTRY: Entry = Entry {
    kind: RuntimeKind::Nginx,
    name: "nginx",
    about: "nginx: worker_processes × worker_connections, worker_rlimit_nofile.",
    product: "nginx",
    package: "nginx",
    exe: &["nginx"],
    config: ConfigSpec {
        shape: Shape::Own,
        flags: &["-c"],
        root_flag: Some("-p"),
        default_path: Some("/etc/nginx/nginx.conf"),
        include: &[("include", IncludeKind::File)],
        ..ConfigSpec::FLAGS_ONLY
    },
    settings: &[
        CapSetting {
            key: "worker_connections",
            flags: &[],
            default: "512",
            raises: true,
        },
        CapSetting {
            key: "worker_processes",
            flags: &[],
            default: "1",
            raises: true,
        },
        CapSetting {
            key: "worker_rlimit_nofile",
            flags: &[],
            default: "none: the workers keep the master's RLIMIT_NOFILE",
            raises: true,
        },
    ],
    messages: &[
        Message {
            id: "nginx_worker_connections",
            ceiling: "nginx_worker_connections",
            any: &[&["worker_connections are not enough"]],
            mechanism: "a worker already holds worker_connections connections (clients and upstreams together) and drops the new one",
            lift: "raise worker_connections in events {} and worker_rlimit_nofile to at least twice it, together; or more worker_processes",
            not_lifted_by: Some("ulimit -n alone: worker_connections is nginx's own cap"),
            numbers: &[num(
                "worker_connections",
                At::Before("worker_connections are not enough"),
            )],
            ..Message::BASE
        },
        Message {
            id: "nginx_worker_connections_exceed_nofile",
            ceiling: "process_fds",
            candidates: &["nginx_worker_connections"],
            any: &[&["worker_connections exceed open file resource limit"]],
            mechanism: "worker_connections is larger than the workers' RLIMIT_NOFILE, so the fd limit, not worker_connections, stops the workers (accept4() then fails with 24: Too many open files)",
            lift: "set worker_rlimit_nofile to at least twice worker_connections (or LimitNOFILE= for the nginx unit)",
            numbers: &[num("nofile", At::After("exceed open file resource limit:"))],
            ..Message::BASE
        },
        Message {
            id: "nginx_enfile",
            ceiling: "system_files",
            any: &[&["failed (23: "]],
            mechanism: "the host has no free file handle: fs.file-max is reached (ENFILE)",
            lift: "`sysctl -w fs.file-max=N` (host-wide), and find what holds the handles",
            not_lifted_by: Some("worker_rlimit_nofile / ulimit -n: they are per process"),
            ..Message::BASE
        },
        Message {
            id: "nginx_emfile",
            ceiling: "process_fds",
            any: &[&["failed (24: "]],
            mechanism: "an nginx worker hit its RLIMIT_NOFILE (EMFILE) on accept4() or socket(): each client and each upstream connection takes one fd",
            lift: "set worker_rlimit_nofile (or LimitNOFILE= for the unit) to at least twice worker_connections and reload",
            ..Message::BASE
        },
        Message {
            id: "nginx_eaddrnotavail",
            ceiling: "ephemeral_ports",
            any: &[&["failed (99: "]],
            mechanism: "connect() to an upstream found no free ephemeral port for that (source ip, upstream ip, upstream port) tuple",
            lift: "keepalive connections to the upstream (upstream { keepalive N; } with proxy_http_version 1.1), widen net.ipv4.ip_local_port_range, or more upstream addresses",
            ..Message::BASE
        },
    ],
    ceilings: &["nginx_worker_connections"],
    ..Entry::BASE
};
