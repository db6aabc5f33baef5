//! HAProxy: `maxconn` (global, `-n`, and each frontend's), computed from the fd limit when
//! unset; HAProxy sets its own RLIMIT_NOFILE to its maxsock at start. The configuration is
//! every `-f` (files or directories, relative to the working directory), read by
//! `runtime::haproxy` with `show info` from a stats socket the process listens on; the formula
//! is `model::servers`. Source: HAProxy configuration manual (maxconn, ulimit-n,
//! fd-hard-limit), haproxy.c, measured on 2.6.

use super::super::entry::{At, CapSetting, ConfigSpec, Entry, Message, Shape, num};
use crate::snapshot::RuntimeKind;

pub const ENTRY: Entry = Entry {
    kind: RuntimeKind::Haproxy,
    name: "haproxy",
    about: "HAProxy: global and frontend maxconn (computed from the fd limit when unset).",
    product: "HAProxy",
    package: "haproxy",
    exe: &["haproxy"],
    sets_own_fd_limit: true,
    config: ConfigSpec {
        shape: Shape::Own,
        flags: &["-f"],
        default_path: Some("/etc/haproxy/haproxy.cfg"),
        ..ConfigSpec::FLAGS_ONLY
    },
    settings: &[
        CapSetting {
            key: "maxconn",
            flags: &["-n"],
            default: "computed: (fd limit − reserved fds) / 2, at least 100",
            raises: true,
        },
        CapSetting {
            key: "ulimit-n",
            flags: &[],
            default: "computed from maxconn",
            raises: true,
        },
        CapSetting {
            key: "fd-hard-limit",
            flags: &[],
            default: "none",
            raises: true,
        },
        CapSetting {
            key: "nbthread",
            flags: &[],
            default: "the CPUs it may run on",
            raises: true,
        },
    ],
    messages: &[
        Message {
            id: "haproxy_maxconn",
            ceiling: "haproxy_maxconn",
            any: &[
                &["reached the configured maximum connection limit"],
                &["maxconn", "reached"],
            ],
            mechanism: "HAProxy refused a connection because its fd would be above maxsock, which global maxconn sets",
            lift: "raise global maxconn (HAProxy raises its own fd limit to match when it can; otherwise raise LimitNOFILE= too)",
            ..Message::BASE
        },
        Message {
            id: "haproxy_process_fd_limit",
            ceiling: "process_fds",
            candidates: &["haproxy_maxconn"],
            any: &[&["reached process fd limit"]],
            mechanism: "HAProxy's accept() or socket() hit its RLIMIT_NOFILE (EMFILE) before maxconn",
            lift: "raise `ulimit-n` in the global section or LimitNOFILE= for the unit, to at least maxsock, and restart",
            numbers: &[
                num("maxsock", At::After("maxsock=")),
                num("at", At::After("fd limit at ")),
            ],
            ..Message::BASE
        },
        Message {
            id: "haproxy_cannot_raise_fd_limit",
            ceiling: "process_fds",
            candidates: &["haproxy_maxconn"],
            any: &[
                &["cannot raise fd limit to", "limit is"],
                &["fd limit", "too low for maxconn"],
                &["cannot raise fd limit to"],
            ],
            mechanism: "HAProxy needs maxconn × 2 + extras fds (maxsock) and could not raise RLIMIT_NOFILE that far (the hard limit is lower and it lacks CAP_SYS_RESOURCE), so it refuses to start",
            lift: "raise the hard limit where HAProxy is started (LimitNOFILE= for the unit, container --ulimit) to at least the number it asked for, or lower global maxconn",
            numbers: &[
                num("fds_needed", At::After("fd limit to ")),
                num("nofile", At::After("limit is ")),
            ],
            ..Message::BASE
        },
        Message {
            id: "haproxy_system_fd_limit",
            ceiling: "system_files",
            any: &[&["reached system fd limit"]],
            mechanism: "HAProxy's accept() or socket() found no free file handle on the host (ENFILE: fs.file-max)",
            lift: "`sysctl -w fs.file-max=N` (host-wide)",
            numbers: &[num("maxsock", At::After("maxsock="))],
            ..Message::BASE
        },
        Message {
            id: "haproxy_system_memory_limit",
            ceiling: "memory",
            any: &[&["reached system memory limit"]],
            mechanism: "HAProxy's accept() or socket() got ENOBUFS/ENOMEM: the kernel (or the memory cgroup) had no memory for another socket",
            lift: "more memory or a higher cgroup memory.max; fewer buffers per connection (tune.bufsize)",
            numbers: &[num("maxsock", At::After("maxsock="))],
            ..Message::BASE
        },
    ],
    ceilings: &["haproxy_maxconn"],
    ..Entry::BASE
};
