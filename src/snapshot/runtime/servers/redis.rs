//! Redis: `maxclients` (default 10000); at start Redis raises its fd limit to maxclients + 32
//! when it can, else lowers maxclients to the fd limit − 32. A running server's value is read
//! from `INFO clients` over its own port (`runtime::redis`); the formula is `model::servers`.
//! Source: redis.conf (maxclients), Redis `adjustOpenFilesLimit`, measured on 7.0.

use super::super::entry::{At, CapSetting, ConfigSpec, Entry, Message, Shape, num};
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
    messages: &[
        Message {
            id: "redis_maxclients_nofile",
            ceiling: "process_fds",
            candidates: &["redis_maxclients"],
            any: &[
                &["you requested maxclients of", "max file descriptors"],
                &["maxclients has been reduced to"],
                &["is not enough for the server to start"],
                &["unable to set the max number of files limit"],
                &["setting the max clients configuration to"],
                &["not able to handle the specified number of clients"],
            ],
            mechanism: "Redis needs maxclients + 32 fds and could not raise RLIMIT_NOFILE that far, so it lowered maxclients to fit the fd limit",
            lift: "raise LimitNOFILE= (or `ulimit -n`) for redis-server to at least maxclients + 32 and restart",
            not_lifted_by: Some("a larger maxclients alone: Redis cuts it back to the fd limit"),
            numbers: &[
                num("maxclients", At::After("maxclients of ")),
                num("fds_needed", At::After("requiring at least ")),
                num(
                    "max_open_files",
                    At::After("current maximum open files is "),
                ),
                num("maxclients_now", At::After("reduced to ")),
            ],
            ..Message::BASE
        },
        Message {
            id: "redis_max_clients_reached",
            ceiling: "redis_maxclients",
            candidates: &["process_fds"],
            any: &[&["max number of clients reached"]],
            mechanism: "Redis already serves maxclients clients (maybe lowered at start to fit RLIMIT_NOFILE) and refuses the next",
            lift: "raise maxclients, and RLIMIT_NOFILE to maxclients + 32 with it; or pool client connections",
            ..Message::BASE
        },
    ],
    ceilings: &["redis_maxclients"],
    ..Entry::BASE
};
