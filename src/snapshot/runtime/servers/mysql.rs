//! MySQL / MariaDB: `max_connections` (default 151; one more for a user with SUPER /
//! CONNECTION ADMIN), a thread per connection with `thread_handling`
//! one-thread-per-connection (RLIMIT_NPROC of its user counts them). The settings are the
//! server's command line, then the option files (`--defaults-file`, else /etc/my.cnf and
//! /etc/mysql/my.cnf with `!include`/`!includedir`), read by `runtime::mysql`; the formula is
//! `model::servers`. Source: MariaDB and MySQL server system variables, measured on
//! MariaDB 10.11.

use super::super::entry::{CapSetting, ConfigSpec, Entry, IncludeKind, Message, Shape};
use crate::snapshot::RuntimeKind;

pub const ENTRY: Entry = Entry {
    kind: RuntimeKind::Mysql,
    name: "mysql",
    about: "MySQL/MariaDB: max_connections; a thread per connection.",
    product: "MySQL/MariaDB",
    package: "mariadb-server",
    exe: &["mysqld", "mariadbd"],
    config: ConfigSpec {
        shape: Shape::Own,
        flags: &["--defaults-file"],
        default_path: Some("/etc/mysql/my.cnf"),
        include: &[
            ("!include", IncludeKind::File),
            ("!includedir", IncludeKind::Dir(".cnf")),
        ],
        ..ConfigSpec::FLAGS_ONLY
    },
    settings: &[
        CapSetting {
            key: "max_connections",
            flags: &["--max-connections"],
            default: "151",
            raises: true,
        },
        CapSetting {
            key: "thread_handling",
            flags: &["--thread-handling"],
            default: "one-thread-per-connection",
            raises: true,
        },
    ],
    messages: &[
        Message {
            id: "mysql_user_connections",
            ceiling: "mysql_max_connections",
            any: &[
                &["max_user_connections"],
                &["1203", "too many active connections"],
                &["1203", "already has more than"],
            ],
            mechanism: "the account's max_user_connections (ER_TOO_MANY_USER_CONNECTIONS, 1203, or the resource limit, 1226) is reached: a per-user cap below max_connections",
            lift: "raise the account's MAX_USER_CONNECTIONS (ALTER USER … WITH MAX_USER_CONNECTIONS n) or the global max_user_connections, or pool the connections",
            not_lifted_by: Some("max_connections alone"),
            ..Message::BASE
        },
        Message {
            id: "mysql_too_many_connections",
            ceiling: "mysql_max_connections",
            candidates: &["process_fds"],
            any: &[
                &["er_con_count_error"],
                &["1040", "many connections"],
                &["(1040,"],
                &["(1040)"],
                &["[1040]"],
                &["error 1040"],
                &["/1040)"],
                &["message from server", "too many connections"],
                &["mysql", "too many connections"],
                &["too many connections", "mysql"],
                &["mysqli", "too many connections"],
                &["mariadb", "too many connections"],
                &["maria-db", "too many connections"],
                &["too many connections", "mariadb"],
            ],
            mechanism: "MySQL/MariaDB already serves max_connections (+1 for a SUPER/CONNECTION_ADMIN user) clients and refuses the next with ER_CON_COUNT_ERROR (1040; \"Too many connections\", recognised by its number or next to the server's name)",
            lift: "pool client connections or raise max_connections (SET GLOBAL max_connections = n, and in my.cnf); mysqld also needs RLIMIT_NOFILE (open_files_limit) above it",
            not_lifted_by: Some(
                "a larger max_connections alone when open_files_limit is lower: mysqld lowers max_connections to fit it at start",
            ),
            ..Message::BASE
        },
    ],
    ceilings: &["mysql_max_connections"],
    ..Entry::BASE
};
