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
            text: "sockets disabled, connection limit reached",
            ceiling: "lighttpd_max_connections",
        },
        Message {
            text: "sockets disabled, out-of-fds",
            ceiling: "process_fds",
        },
    ],
    ceilings: &["lighttpd_max_connections"],
    ..Entry::BASE
};
