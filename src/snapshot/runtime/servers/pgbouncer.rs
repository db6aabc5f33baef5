//! PgBouncer: `max_client_conn` in `[pgbouncer]` (default 100). Beyond it PgBouncer accepts,
//! answers "no more connections allowed (max_client_conn)" and closes. It does not raise its fd
//! limit (it logs "kernel file descriptor limit: N (hard: M); max_client_conn: C, max expected
//! fd use: F" at start); at the limit it logs "accept() failed: Too many open files". The
//! configuration is the command line's last argument (Debian: /etc/pgbouncer/pgbouncer.ini).
//! Source: pgbouncer.ini(5), PgBouncer 1.18 measured.

use super::super::entry::{Cap, CapSetting, ConfigSpec, Entry, Message, Shape};
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
            id: "pgbouncer_max_client_conn",
            ceiling: "pgbouncer_max_client_conn",
            candidates: &["process_fds"],
            any: &[&["no more connections allowed (max_client_conn)"]],
            mechanism: "pgbouncer already has max_client_conn client connections and refuses the next (its own cap, separate from the server-side pool sizes)",
            lift: "raise max_client_conn in pgbouncer.ini (and RLIMIT_NOFILE to max_client_conn + pool sizes) and reload",
            not_lifted_by: Some(
                "PostgreSQL's max_connections: pgbouncer refused before reaching it",
            ),
            ..Message::BASE
        },
        Message {
            id: "pgbouncer_accept_emfile",
            ceiling: "process_fds",
            candidates: &["pgbouncer_max_client_conn"],
            any: &[&["accept() failed: too many open files"]],
            mechanism: "PgBouncer does not raise its fd limit: its accept() hit RLIMIT_NOFILE before max_client_conn (it logs the limit and its expected fd use at start)",
            lift: "raise LimitNOFILE= for pgbouncer (to max_client_conn + the pools' server connections and some) and restart",
            not_lifted_by: Some("max_client_conn: the fd limit binds first"),
            ..Message::BASE
        },
    ],
    cap: Some(Cap {
        key: "max_client_conn",
        ceiling: "pgbouncer_max_client_conn",
        default: Some(100),
        beyond: "beyond it PgBouncer answers \"no more connections allowed (max_client_conn)\" and closes",
        lift: "raise `max_client_conn = {want}` in [pgbouncer] of {file} and reload (`RELOAD;` on the admin console, or SIGHUP); PgBouncer does not raise its fd limit: LimitNOFILE= must cover the clients, its server connections and some 32 more",
        per_listener: None,
    }),
    ceilings: &["pgbouncer_max_client_conn"],
    ..Entry::BASE
};
