//! mosquitto (Eclipse Mosquitto, MQTT broker): `max_connections`, per listener (default -1,
//! unlimited; 0 and negative values are unlimited too: 2.0 compares `max_connections > 0`).
//! mosquitto.conf(5): "Limit the total number of clients connected for the current listener";
//! `per_listener_settings` changes only the authentication options, not this one. In 2.0.11
//! (src/conf.c) a `max_connections` line sets the listener opened by the last `listener PORT
//! [ADDRESS]` line before it; one written before any `listener` sets the default listener,
//! which mosquitto then creates on `port` (else 1883, every address) — a listener of its own.
//! With no listener declared it listens on 1883 of 127.0.0.1 and ::1 only, each without a cap.
//! src/net.c counts `client_count` per listener and, past the cap, accepts and closes at once,
//! logging "Client connection from ADDR denied: max_connections exceeded.". It is not reloaded
//! on SIGHUP (man page: "Not reloaded on reload signal"). It does not raise its fd limit; at the
//! limit accept() fails and it logs "Client connection from ADDR denied access by tcpd.".
//! Debian's unit starts `mosquitto -c /etc/mosquitto/mosquitto.conf` (`include_dir
//! /etc/mosquitto/conf.d`); without `-c` mosquitto runs on its defaults. Measured on 2.0.11,
//! which miscounts: `net__socket_close` lowers the listener's count without forgetting the
//! listener, so a socket closed twice lowers it twice and after a burst of denied connections
//! the listener holds more than max_connections (fixed in 2.0.12, commit 79542158 "Fix
//! `max_connections` option not being correctly counted"; measured: all 70 sessions offered
//! held at 50 right after a flood).

use super::super::entry::{
    Cap, CapSetting, ConfigSpec, Entry, IncludeKind, Listeners, Message, Shape,
};
use crate::snapshot::RuntimeKind;

pub const ENTRY: Entry = Entry {
    kind: RuntimeKind::Mosquitto,
    name: "mosquitto",
    about: "mosquitto (MQTT): max_connections.",
    product: "mosquitto",
    package: "mosquitto",
    exe: &["mosquitto"],
    config: ConfigSpec {
        shape: Shape::KeyValue,
        flags: &["-c", "--config-file"],
        include: &[("include_dir", IncludeKind::Dir(".conf"))],
        ..ConfigSpec::FLAGS_ONLY
    },
    settings: &[CapSetting {
        key: "max_connections",
        flags: &[],
        default: "-1 (unlimited)",
        raises: true,
    }],
    messages: &[
        Message {
            id: "mosquitto_socket_count",
            ceiling: "process_fds",
            any: &[
                &["system socket count has been exceeded"],
                &["client connection from", "denied access by tcpd"],
            ],
            mechanism: "mosquitto's accept() failed because the broker has as many fds as its RLIMIT_NOFILE allows (1.4 reported it as a tcpd denial)",
            lift: "raise LimitNOFILE= for mosquitto.service (or `limit nofile` in its init script) and restart; max_connections only lowers the cap",
            not_lifted_by: Some(
                "max_connections -1: it removes mosquitto's own cap, not the fd limit",
            ),
            ..Message::BASE
        },
        Message {
            id: "mosquitto_max_connections",
            ceiling: "mosquitto_max_connections",
            any: &[&["denied: max_connections exceeded"]],
            mechanism: "the listener already holds max_connections clients (mosquitto.conf, per listener; default -1, unlimited), so mosquitto accepts and closes the next",
            lift: "raise max_connections for that listener (or -1) and restart mosquitto (a reload does not change it); keep LimitNOFILE= above the sum over its listeners",
            not_lifted_by: Some("RLIMIT_NOFILE: mosquitto counts its listener's clients itself"),
            ..Message::BASE
        },
    ],
    cap: Some(Cap {
        key: "max_connections",
        ceiling: "mosquitto_max_connections",
        default: None,
        beyond: "beyond it mosquitto accepts and closes at once, logging \"Client connection from … denied: max_connections exceeded.\" (2.0.0 to 2.0.11 miscount the connections they close, fixed in 2.0.12: after denials such a listener holds more)",
        lift: "raise `max_connections {want}` in {file} (or -1 for no limit) and restart mosquitto (a reload does not change it); it does not raise its own fd limit, so LimitNOFILE= must cover it too",
        per_listener: Some(Listeners {
            directive: "listener",
            default_port_key: "port",
            default_port: 1883,
            none_declared: "no listener declared: mosquitto listens on 1883 of 127.0.0.1 and ::1 only, without a cap",
        }),
    }),
    ceilings: &["mosquitto_max_connections"],
    // Debian's mosquitto is built with libwrap: hosts_access() opens /etc/hosts.allow for each
    // accepted connection; at the last fd it cannot, and the connection is denied ("denied
    // access by tcpd"). Measured: 119 held at 128 fds with 8 open, not 120.
    accept_spare_fds: 1,
    accept_spare_why: "fd libwrap needs free to read /etc/hosts.allow while accepting (mosquitto logs \"denied access by tcpd\" at the last one)",
    ..Entry::BASE
};
