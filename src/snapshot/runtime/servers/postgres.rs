//! PostgreSQL: `max_connections` (default 100) less `superuser_reserved_connections` (3) and
//! `reserved_connections` (0, PostgreSQL 16+); a backend process per connection, so
//! RLIMIT_NPROC of its user and memory bound it too, and the postmaster's fd limit does not.
//! The settings are the postmaster's command line (`-c`, `-N`), postgresql.conf in the data
//! directory (`-D`, `$PGDATA`, or `config_file`) with its includes, and postgresql.auto.conf,
//! read by `runtime::postgres`; the formula is `model::servers`. Source: PostgreSQL
//! documentation (runtime-config-connection), measured on 15.

use super::super::entry::{CapSetting, ConfigSpec, Entry, IncludeKind, Message, Shape};
use crate::snapshot::RuntimeKind;

pub const ENTRY: Entry = Entry {
    kind: RuntimeKind::Postgres,
    name: "postgres",
    about: "PostgreSQL: max_connections − reserved slots; a process per connection.",
    product: "PostgreSQL",
    package: "postgresql",
    exe: &["postgres", "postmaster"],
    exe_prefix: &["postgres: "],
    sets_own_fd_limit: true,
    config: ConfigSpec {
        shape: Shape::Own,
        include: &[
            ("include", IncludeKind::File),
            ("include_if_exists", IncludeKind::File),
            ("include_dir", IncludeKind::Dir(".conf")),
        ],
        ..ConfigSpec::FLAGS_ONLY
    },
    settings: &[
        CapSetting {
            key: "max_connections",
            flags: &["-N"],
            default: "100",
            raises: true,
        },
        CapSetting {
            key: "superuser_reserved_connections",
            flags: &[],
            default: "3",
            raises: true,
        },
        CapSetting {
            key: "reserved_connections",
            flags: &[],
            default: "0 (PostgreSQL 16+)",
            raises: true,
        },
    ],
    messages: &[
        Message {
            id: "postgres_too_many_clients",
            ceiling: "postgres_max_connections",
            any: &[
                &["sorry, too many clients already"],
                &["too many clients already"],
            ],
            mechanism: "PostgreSQL already has max_connections backends (one process per connection), so it refuses the next client at login",
            lift: "pool client connections (pgbouncer, the driver's pool) or raise max_connections in postgresql.conf and restart PostgreSQL (each backend costs memory)",
            not_lifted_by: Some(
                "RLIMIT_NOFILE or net.core.somaxconn: PostgreSQL counts backends itself",
            ),
            ..Message::BASE
        },
        Message {
            id: "postgres_reserved_slots",
            ceiling: "postgres_max_connections",
            any: &[
                &["remaining connection slots are reserved"],
                &["connection limit exceeded for non-superusers"],
            ],
            mechanism: "only the slots kept back for superusers (superuser_reserved_connections, and reserved_connections from PostgreSQL 16) are left of max_connections, so an ordinary role is refused (before 9.6 the message was \"connection limit exceeded for non-superusers\")",
            lift: "pool client connections or raise max_connections (restart); find who holds the connections in pg_stat_activity",
            not_lifted_by: Some("RLIMIT_NOFILE: PostgreSQL counts backends itself"),
            ..Message::BASE
        },
        Message {
            id: "postgres_role_or_database_limit",
            ceiling: "postgres_max_connections",
            any: &[
                &["too many connections for role"],
                &["too many connections for database"],
            ],
            mechanism: "the role's (or database's) CONNECTION LIMIT is reached: a per-role cap below max_connections",
            lift: "ALTER ROLE … CONNECTION LIMIT n (or ALTER DATABASE …), or pool the role's connections; see rolconnlimit in pg_roles",
            not_lifted_by: Some("max_connections alone: the role's own limit is lower"),
            ..Message::BASE
        },
        Message {
            id: "postgres_sqlstate_53300",
            ceiling: "postgres_max_connections",
            any: &[&["sqlstate", "53300"], &["sql state", "53300"]],
            mechanism: "SQLSTATE 53300 is PostgreSQL's too_many_connections: max_connections, the superuser reserve, or a role's or database's CONNECTION LIMIT refused the login",
            lift: "pool client connections or raise max_connections (restart); see pg_stat_activity for who holds them, and rolconnlimit/datconnlimit for per-role and per-database limits",
            not_lifted_by: Some("RLIMIT_NOFILE: PostgreSQL counts backends itself"),
            ..Message::BASE
        },
    ],
    ceilings: &["postgres_max_connections"],
    ..Entry::BASE
};
