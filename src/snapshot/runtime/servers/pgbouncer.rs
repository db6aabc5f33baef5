//! PgBouncer: `max_client_conn` in `[pgbouncer]` (default 100). Beyond it PgBouncer accepts,
//! answers "no more connections allowed (max_client_conn)" and closes. It does not raise its fd
//! limit (it logs "kernel file descriptor limit: N (hard: M); max_client_conn: C, max expected
//! fd use: F" at start); at the limit it logs "accept() failed: Too many open files". The
//! configuration is the command line's last argument (Debian: /etc/pgbouncer/pgbouncer.ini).
//! Source: pgbouncer.ini(5), PgBouncer 1.18 measured.

use super::super::entry::{CapSetting, ConfigSpec, Entry, Message, Shape};
use crate::snapshot::RuntimeKind;

pub const ENTRY: Entry = Entry {
    kind: RuntimeKind::Pgbouncer,
    name: "pgbouncer",
    about: "PgBouncer: max_client_conn.",
    product: "PgBouncer",
    package: "pgbouncer",
    exe: &["pgbouncer"],
    config: ConfigSpec {
        shape: Shape::Ini("pgbouncer"),
        positional: true,
        default_path: Some("/etc/pgbouncer/pgbouncer.ini"),
        ..ConfigSpec::FLAGS_ONLY
    },
    settings: &[CapSetting {
        key: "max_client_conn",
        flags: &[],
        default: "100",
        raises: true,
    }],
    messages: &[
        Message {
            text: "no more connections allowed (max_client_conn)",
            ceiling: "pgbouncer_max_client_conn",
        },
        Message {
            text: "accept() failed: Too many open files",
            ceiling: "process_fds",
        },
    ],
    ceilings: &["pgbouncer_max_client_conn"],
    ..Entry::BASE
};
