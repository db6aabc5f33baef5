//! RabbitMQ (an Erlang node: the Erlang caps apply too). Its file-handle cache sizes itself
//! from the node's fd table at boot (`erlang:system_info(check_io)` max_fds): a limit of
//! max(2, max_fds − 97) handles (3.8–3.13: `RESERVED_FOR_OTHERS` is `100 + 3`, unparenthesised,
//! so it subtracts 97) and `trunc(0.9 × limit − 2)` sockets, logged at boot as "Limiting to
//! approx N file handles (M sockets)". A connection takes a socket handle before the AMQP
//! handshake; past the limit it waits, the node raises the "file descriptor limit alarm" and
//! logs "New connections will not be accepted until this alarm clears". `connection_max` in
//! rabbitmq.conf (default infinity) caps each listener's connections (ranch `max_connections`;
//! the rest wait in the accept queue). Configuration: `$RABBITMQ_CONFIG_FILE`, else
//! /etc/rabbitmq/rabbitmq.conf (sysctl-like `key = value`). Source: rabbit_common
//! `file_handle_cache.erl`, rabbit `tcp_listener_sup.erl` (3.10.8), measured.

use super::super::entry::{CapSetting, ConfigSpec, Entry, Message, Shape};
use crate::snapshot::RuntimeKind;

pub const ENTRY: Entry = Entry {
    kind: RuntimeKind::Rabbitmq,
    name: "rabbitmq",
    about: "RabbitMQ (Erlang): the file-handle cache's socket limit, connection_max.",
    vm: Some(RuntimeKind::Erlang),
    product: "RabbitMQ",
    package: "rabbitmq-server",
    marker: Some("rabbit"),
    version: Some(("ERL_LIBS", "rabbitmq_server-")),
    config: ConfigSpec {
        shape: Shape::KeyEquals,
        env: Some("RABBITMQ_CONFIG_FILE"),
        default_path: Some("/etc/rabbitmq/rabbitmq.conf"),
        ..ConfigSpec::FLAGS_ONLY
    },
    settings: &[CapSetting {
        key: "connection_max",
        flags: &[],
        default: "infinity",
    }],
    messages: &[
        Message {
            id: "rabbitmq_fd_alarm",
            ceiling: "rabbitmq_socket_limit",
            candidates: &["process_fds"],
            any: &[
                &["file descriptor limit alarm set"],
                &["new connections will not be accepted until this alarm clears"],
            ],
            mechanism: "RabbitMQ's file-handle cache has no socket handle left (about 0.9 × the node's max_fds less 97, sized at boot from RLIMIT_NOFILE), so the node raises the file descriptor alarm and stops accepting connections until handles are released",
            lift: "raise LimitNOFILE= for rabbitmq-server.service (65,536 or more) and restart the node; erts sizes its fd table at boot",
            not_lifted_by: Some("ERL_MAX_PORTS / +Q: they size the port table, not the fd limit"),
            ..Message::BASE
        },
        Message {
            id: "rabbitmq_file_handles",
            ceiling: "process_fds",
            any: &[&["please increase max open file handles limit"]],
            mechanism: "at boot RabbitMQ found fewer file handles (from the node's RLIMIT_NOFILE) than it needs to recover its queues",
            lift: "raise LimitNOFILE= for rabbitmq-server.service (65,536 or more) and restart the node; erts sizes its fd table at boot",
            not_lifted_by: Some("ERL_MAX_PORTS / +Q: they size the port table, not the fd limit"),
            ..Message::BASE
        },
    ],
    ceilings: &["rabbitmq_socket_limit", "rabbitmq_connection_max"],
    ..Entry::BASE
};
