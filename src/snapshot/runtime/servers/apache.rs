//! Apache httpd. The MPM decides what holds a connection while its request is read: prefork a
//! process (one connection each: `MaxRequestWorkers`, default 256, at most `ServerLimit`),
//! worker and event a thread (`MaxRequestWorkers`, default `ServerLimit` 16 ×
//! `ThreadsPerChild` 25 = 400, at most `ServerLimit` × `ThreadsPerChild`). Each child has its
//! own fd table: a worker/event child holds up to `ThreadsPerChild` connections on its soft
//! RLIMIT_NOFILE. Past `MaxRequestWorkers` the parent logs "AH00484: server reached
//! MaxRequestWorkers setting, consider raising the MaxRequestWorkers setting" and connections
//! wait in the accept queue. The event MPM also keeps idle keep-alive connections without a
//! thread (up to `ThreadsPerChild + AsyncRequestWorkerFactor × idle threads` per child, the
//! factor in whole numbers: event.c `connections_above_limit()`), for `KeepAliveTimeout`.
//! Configuration: `-f` relative to `-d`/`ServerRoot` (Debian: /etc/apache2/apache2.conf with
//! `${APACHE_*}` from envvars, `IncludeOptional mods-enabled/*.load`). Source: Apache httpd 2.4
//! documentation (mpm_common, event), measured on 2.4.
use super::super::entry::{CapSetting, ConfigSpec, Entry, IncludeKind, Message, Shape};
use crate::snapshot::RuntimeKind;

const fn s(key: &'static str, default: &'static str) -> CapSetting {
    CapSetting {
        key,
        flags: &[],
        default,
        raises: true,
    }
}

pub const ENTRY: Entry = Entry {
    kind: RuntimeKind::Apache,
    name: "apache",
    about: "Apache httpd: MaxRequestWorkers, ServerLimit, ThreadsPerChild by MPM; the event MPM's AsyncRequestWorkerFactor.",
    product: "Apache httpd",
    package: "apache2",
    exe: &["apache2", "httpd"],
    config: ConfigSpec {
        shape: Shape::Apache,
        flags: &["-f"],
        root_flag: Some("-d"),
        root_directive: Some("ServerRoot"),
        root_default: Some("/etc/apache2"),
        default_path: Some("/etc/apache2/apache2.conf"),
        include: &[
            ("Include", IncludeKind::File),
            ("IncludeOptional", IncludeKind::File),
        ],
        ..ConfigSpec::FLAGS_ONLY
    },
    settings: &[
        s(
            "MaxRequestWorkers",
            "256 (prefork), ServerLimit × ThreadsPerChild (worker, event)",
        ),
        s(
            "MaxClients",
            "as MaxRequestWorkers: its old name, the one read last wins",
        ),
        s("ServerLimit", "256 (prefork), 16 (worker, event)"),
        s("ThreadsPerChild", "25"),
        s("ThreadLimit", "64"),
        s("AsyncRequestWorkerFactor", "2"),
        // inputs only: how long an idle keep-alive connection stays, not how many
        CapSetting {
            raises: false,
            ..s("KeepAlive", "On")
        },
        CapSetting {
            raises: false,
            ..s("KeepAliveTimeout", "5")
        },
    ],
    messages: &[Message {
        id: "apache_max_request_workers",
        ceiling: "apache_max_request_workers",
        candidates: &["tasks"],
        any: &[
            &["server reached maxrequestworkers setting"],
            &["server reached maxclients setting"],
            &["ah00484"],
            &["ah00161"],
            &["ah00286"],
        ],
        mechanism: "every Apache worker (process or thread, MaxRequestWorkers = ServerLimit × ThreadsPerChild) is busy, so new connections wait in the listen queue (AH00161 prefork, AH00286 worker, AH00484 event)",
        lift: "raise MaxRequestWorkers (with ServerLimit) in the MPM configuration and restart; with prefork each worker is a process (memory, RLIMIT_NPROC)",
        not_lifted_by: Some("RLIMIT_NOFILE: the workers, not fds, ran out"),
        ..Message::BASE
    }],
    ceilings: &["apache_max_request_workers", "apache_async_connections"],
    not_integers: &["AsyncRequestWorkerFactor", "KeepAlive"],
    ..Entry::BASE
};
