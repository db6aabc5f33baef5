//! MySQL / MariaDB: `max_connections` (default 151; one more for a user with SUPER /
//! CONNECTION ADMIN), a thread per connection with `thread_handling`
//! one-thread-per-connection (RLIMIT_NPROC of its user counts them). The settings are the
//! server's command line, then the option files (`--defaults-file`, else /etc/my.cnf and
//! /etc/mysql/my.cnf with `!include`/`!includedir`), read by `runtime::mysql`; the formula is
//! `model::servers`. Source: MariaDB and MySQL server system variables, measured on
//! MariaDB 10.11.

use super::super::entry::{CapSetting, ConfigSpec, Entry, IncludeKind, Shape};
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
    ceilings: &["mysql_max_connections"],
    ..Entry::BASE
};
