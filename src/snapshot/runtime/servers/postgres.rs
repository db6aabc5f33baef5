//! PostgreSQL: `max_connections` (default 100) less `superuser_reserved_connections` (3) and
//! `reserved_connections` (0, PostgreSQL 16+); a backend process per connection, so
//! RLIMIT_NPROC of its user and memory bound it too, and the postmaster's fd limit does not.
//! The settings are the postmaster's command line (`-c`, `-N`), postgresql.conf in the data
//! directory (`-D`, `$PGDATA`, or `config_file`) with its includes, and postgresql.auto.conf,
//! read by `runtime::postgres`; the formula is `model::servers`. Source: PostgreSQL
//! documentation (runtime-config-connection), measured on 15.

use super::super::entry::{CapSetting, ConfigSpec, Entry, IncludeKind, Shape};
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
    ceilings: &["postgres_max_connections"],
    ..Entry::BASE
};
