//! Redis: `maxclients` (default 10000); at start Redis raises its fd limit to maxclients + 32
//! when it can, else lowers maxclients to the fd limit − 32. A running server's value is read
//! from `INFO clients` over its own port (`runtime::redis`); the formula is `model::servers`.
//! Source: redis.conf (maxclients), Redis `adjustOpenFilesLimit`, measured on 7.0.

use super::super::entry::{CapSetting, ConfigSpec, Entry, Shape};
use crate::snapshot::RuntimeKind;

pub const ENTRY: Entry = Entry {
    kind: RuntimeKind::Redis,
    name: "redis",
    about: "Redis: maxclients, lowered to the fd limit − 32 at start.",
    product: "Redis",
    package: "redis-server",
    exe_prefix: &["redis-server"],
    sets_own_fd_limit: true,
    config: ConfigSpec {
        shape: Shape::Own,
        positional: true,
        default_path: Some("/etc/redis/redis.conf"),
        ..ConfigSpec::FLAGS_ONLY
    },
    settings: &[CapSetting {
        key: "maxclients",
        flags: &["--maxclients"],
        default: "10000",
        raises: true,
    }],
    ceilings: &["redis_maxclients"],
    ..Entry::BASE
};
