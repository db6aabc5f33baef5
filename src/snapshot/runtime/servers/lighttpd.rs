//! lighttpd: `server.max-connections`, by default a third of its fd limit and never more than
//! half of it ("can't have more connections than fds/2"); `server.max-fds` sets that fd limit at
//! start (as root, or within the hard limit). At the limit lighttpd stops accepting ("[note]
//! sockets disabled, connection limit reached") and new connections wait in the accept queue.
//! Debian: `lighttpd -D -f /etc/lighttpd/lighttpd.conf`. Source: lighttpd 1.4 `server.c`
//! (`server_main_setup`), measured on 1.4.69.

use super::super::entry::{CapSetting, ConfigSpec, Entry, IncludeKind, Message, Shape};
use crate::snapshot::RuntimeKind;

pub const ENTRY: Entry = Entry {
    kind: RuntimeKind::Lighttpd,
    name: "lighttpd",
    about: "lighttpd: server.max-connections (default a third of its fd limit).",
    sets_own_fd_limit: true,
    product: "lighttpd",
    package: "lighttpd",
    exe: &["lighttpd"],
    config: ConfigSpec {
        shape: Shape::Lighttpd,
        flags: &["-f"],
        default_path: Some("/etc/lighttpd/lighttpd.conf"),
        include: &[("include", IncludeKind::File)],
        ..ConfigSpec::FLAGS_ONLY
    },
    settings: &[
        CapSetting {
            key: "server.max-connections",
            flags: &[],
            default: "a third of the fd limit",
            raises: true,
        },
        CapSetting {
            key: "server.max-fds",
            flags: &[],
            default: "the fd limit it was started with",
            raises: true,
        },
    ],
    messages: &[
        Message {
            id: "lighttpd_connection_limit",
            ceiling: "lighttpd_max_connections",
            candidates: &["process_fds"],
            any: &[&["sockets disabled, connection limit reached"]],
            mechanism: "lighttpd reached server.max-connections (by default a third of server.max-fds) or ran short of fds, and stopped accepting until connections close",
            lift: "raise server.max-fds (lighttpd raises its own RLIMIT_NOFILE to it when started as root) and server.max-connections; restart",
            ..Message::BASE
        },
        Message {
            id: "lighttpd_out_of_fds",
            ceiling: "process_fds",
            candidates: &["lighttpd_max_connections"],
            any: &[&["sockets disabled, out-of-fds"]],
            mechanism: "lighttpd has as many fds open as its fd limit (server.max-fds, or the limit it was started with) allows and stopped accepting until some close",
            lift: "raise server.max-fds (lighttpd raises its own RLIMIT_NOFILE to it when started as root; otherwise LimitNOFILE= for the unit) and restart",
            ..Message::BASE
        },
    ],
    ceilings: &["lighttpd_max_connections"],
    ..Entry::BASE
};
