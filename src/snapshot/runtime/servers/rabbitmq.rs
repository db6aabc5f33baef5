//! RabbitMQ (an Erlang node: the Erlang caps apply too). Its file-handle cache sizes itself
//! from the node's fd table at boot (`erlang:system_info(check_io)` max_fds): a limit of
//! max(2, max_fds − 97) handles (3.8–3.13: `RESERVED_FOR_OTHERS` is `100 + 3`, unparenthesised,
//! so it subtracts 97) and `trunc(0.9 × limit − 2)` sockets, logged at boot as "Limiting to
//! approx N file handles (M sockets)". A connection takes a socket handle before the AMQP
//! handshake; past the limit it waits, the node raises the "file descriptor limit alarm" and
//! logs "New connections will not be accepted until this alarm clears". `connection_max` in
//! rabbitmq.conf (default infinity) caps each listener's connections (ranch `max_connections`,
//! one connection supervisor): a soft limit, since each of the listener's other
//! `num_acceptors.tcp` (default 10) acceptors starts the connection it has accepted before it
//! waits, so a listener holds connection_max + acceptors − 1 (measured: 69 at 60); the rest
//! wait in the accept queue. Configuration: `$RABBITMQ_CONFIG_FILE`, else
//! /etc/rabbitmq/rabbitmq.conf (sysctl-like `key = value`; a name ending `.config` is the
//! classic Erlang-terms format), then `$RABBITMQ_ADVANCED_CONFIG_FILE`, else
//! /etc/rabbitmq/advanced.config (Erlang terms, optional), whose values win; each variable
//! not in the process's environment may be set without its `RABBITMQ_` prefix in
//! `$RABBITMQ_CONF_ENV_FILE`, else /etc/rabbitmq/rabbitmq-env.conf. Source: rabbit_common
//! `file_handle_cache.erl`, rabbit `rabbit_networking.erl` (num_tcp_acceptors 10,
//! num_conns_sups 1) and `tcp_listener_sup.erl` (3.10.8), Ranch 2 `ranch_conns_sup.erl`
//! (max_connections is a soft limit), rabbitmq-env.conf(5), measured.

use super::super::entry::{
    CapSetting, ConfigSpec, Entry, EnvFile, Extra, Message, Overlay, Plugins, Protocol, Shape,
};
use crate::snapshot::RuntimeKind;

/// advanced.config and the classic rabbitmq.config: the `rabbit` application's environment,
/// where rabbitmq.conf's `num_acceptors.tcp` is `num_tcp_acceptors` (rabbit.schema).
const TERMS: Shape = Shape::ErlangTerms {
    app: "rabbit",
    aliases: &[
        ("num_tcp_acceptors", "num_acceptors.tcp"),
        ("num_ssl_acceptors", "num_acceptors.ssl"),
        // a list porttune does not look into: the AMQP listeners become unknown
        ("tcp_listeners", "listeners.tcp.advanced_config"),
        ("ssl_listeners", "listeners.ssl.advanced_config"),
    ],
};

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
        // 3.10 (rabbitmq_prelaunch `rabbit_prelaunch_conf:find_actual_main_config_file`): the
        // name as given if it exists (`.conf` sysctl-like, `.config` Erlang terms, another
        // name Erlang terms when `file:consult/1` reads it); else NAME.config, then NAME.conf
        default_path: Some("/etc/rabbitmq/rabbitmq"),
        by_suffix: &[(".config", TERMS), (".conf", Shape::KeyEquals)],
        try_suffixes: &[".config", ".conf"],
        sniff: Some(TERMS),
        // then every file of $RABBITMQ_CONFIG_FILES (a directory or a glob), sorted, when the
        // main file is sysctl-like or absent (rabbit_env.erl, rabbit_prelaunch_conf.erl)
        extra: Some(Extra {
            env: "RABBITMQ_CONFIG_FILES",
            default: "/etc/rabbitmq/conf.d/*.conf",
        }),
        overlay: Some(Overlay {
            shape: TERMS,
            env: Some("RABBITMQ_ADVANCED_CONFIG_FILE"),
            default_path: "/etc/rabbitmq/advanced.config",
        }),
        env_file: Some(EnvFile {
            var: "RABBITMQ_CONF_ENV_FILE",
            default_path: "/etc/rabbitmq/rabbitmq-env.conf",
            prefix: "RABBITMQ_",
            // what rabbit_env.erl (`do_load_conf_env_file`) sets before sourcing it, with
            // Debian's empty SYS_PREFIX
            defaults: &[
                ("SYS_PREFIX", ""),
                ("CONFIG_FILE", "/etc/rabbitmq/rabbitmq"),
                ("ADVANCED_CONFIG_FILE", "/etc/rabbitmq/advanced.config"),
                ("MNESIA_BASE", "/var/lib/rabbitmq/mnesia"),
                ("ENABLED_PLUGINS_FILE", "/etc/rabbitmq/enabled_plugins"),
                ("CONF_ENV_FILE_PHASE", "rabbtimq-prelaunch"),
            ],
        }),
        ..ConfigSpec::FLAGS_ONLY
    },
    settings: &[
        CapSetting {
            key: "connection_max",
            flags: &[],
            default: "infinity",
            raises: true,
        },
        CapSetting {
            key: "num_acceptors.tcp",
            flags: &[],
            default: "10",
            raises: true,
        },
    ],
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
    protocols: PROTOCOLS,
    plugins: Some(Plugins {
        env: "RABBITMQ_ENABLED_PLUGINS_FILE",
        default_path: "/etc/rabbitmq/enabled_plugins",
    }),
    ..Entry::BASE
};

/// What `Protocol` fills in: a Ranch listener started by `tcp_listener_sup`, capped by
/// `connection_max` (3.10.8 `tcp_listener_sup.erl` reads `rabbit.connection_max` for every
/// listener it starts: AMQP's, and the MQTT, STOMP and stream plugins'), whose connections go
/// through `rabbit_networking:handshake/2`, which takes a file-handle cache socket.
const RANCH: Protocol = Protocol {
    name: "",
    plugins: &[],
    key: "",
    port_key: false,
    default_port: None,
    cap: Some("connection_max"),
    acceptors: ("num_acceptors.tcp", 10),
    fhc: true,
    terms: None,
};

/// The listeners of 3.10.8, with the plugin that brings each, from the plugins' schemas and
/// Makefiles (`PROJECT_ENV`: tcp_listeners [1883], [61613], [5552], `tcp_config` port 15675,
/// 15674, num_tcp_acceptors 10). Web MQTT and Web STOMP are Cowboy listeners capped by their
/// own `max_connections` (default infinity), and their handlers take a file-handle cache
/// socket (`rabbit_web_mqtt_handler`, `rabbit_web_stomp_handler`); the HTTP API and the
/// Prometheus endpoint take none and have no cap.
const PROTOCOLS: &[Protocol] = &[
    Protocol {
        name: "AMQP",
        key: "listeners.tcp",
        default_port: Some(5672),
        ..RANCH
    },
    Protocol {
        name: "AMQP over TLS",
        key: "listeners.ssl",
        acceptors: ("num_acceptors.ssl", 10),
        ..RANCH
    },
    Protocol {
        name: "MQTT",
        plugins: &["rabbitmq_mqtt", "rabbitmq_web_mqtt"],
        key: "mqtt.listeners.tcp",
        terms: Some(("rabbitmq_mqtt", "tcp_listeners")),
        default_port: Some(1883),
        acceptors: ("mqtt.num_acceptors.tcp", 10),
        ..RANCH
    },
    Protocol {
        name: "MQTT over TLS",
        plugins: &["rabbitmq_mqtt", "rabbitmq_web_mqtt"],
        key: "mqtt.listeners.ssl",
        terms: Some(("rabbitmq_mqtt", "ssl_listeners")),
        acceptors: ("mqtt.num_acceptors.ssl", 10),
        ..RANCH
    },
    Protocol {
        name: "STOMP",
        plugins: &["rabbitmq_stomp", "rabbitmq_web_stomp"],
        key: "stomp.listeners.tcp",
        terms: Some(("rabbitmq_stomp", "tcp_listeners")),
        default_port: Some(61613),
        acceptors: ("stomp.num_acceptors.tcp", 10),
        ..RANCH
    },
    Protocol {
        name: "RabbitMQ Stream",
        plugins: &["rabbitmq_stream", "rabbitmq_stream_management"],
        key: "stream.listeners.tcp",
        terms: Some(("rabbitmq_stream", "tcp_listeners")),
        default_port: Some(5552),
        acceptors: ("stream.num_acceptors.tcp", 10),
        ..RANCH
    },
    Protocol {
        name: "Web MQTT",
        plugins: &["rabbitmq_web_mqtt", "rabbitmq_web_mqtt_examples"],
        key: "web_mqtt.tcp.port",
        terms: Some(("rabbitmq_web_mqtt", "tcp_config")),
        port_key: true,
        default_port: Some(15675),
        cap: Some("web_mqtt.max_connections"),
        acceptors: ("web_mqtt.num_acceptors.tcp", 10),
        ..RANCH
    },
    Protocol {
        name: "Web STOMP",
        plugins: &["rabbitmq_web_stomp", "rabbitmq_web_stomp_examples"],
        key: "web_stomp.tcp.port",
        terms: Some(("rabbitmq_web_stomp", "tcp_config")),
        port_key: true,
        default_port: Some(15674),
        cap: Some("web_stomp.max_connections"),
        acceptors: ("web_stomp.num_acceptors.tcp", 10),
        ..RANCH
    },
    Protocol {
        name: "the HTTP API (management)",
        plugins: &[
            "rabbitmq_management",
            "rabbitmq_federation_management",
            "rabbitmq_shovel_management",
            "rabbitmq_stream_management",
        ],
        key: "management.tcp.port",
        terms: Some(("rabbitmq_management", "listener")),
        port_key: true,
        default_port: Some(15672),
        cap: None,
        fhc: false,
        ..RANCH
    },
    Protocol {
        name: "Prometheus metrics",
        plugins: &["rabbitmq_prometheus"],
        key: "prometheus.tcp.port",
        terms: Some(("rabbitmq_prometheus", "tcp_config")),
        port_key: true,
        default_port: Some(15692),
        cap: None,
        fhc: false,
        ..RANCH
    },
];
