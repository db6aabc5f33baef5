//! The own words of server products the catalog (`snapshot::runtime::catalog`) has no entry
//! for (PHP-FPM, ZooKeeper, Elasticsearch, uWSGI): a catalog product's messages are in its
//! entry (`Entry::messages`), and `matcher::all` takes them from there. These are tried after
//! the entries' and before the generic table (`super::patterns::PATTERNS`): a server's
//! wording is more specific than the errno it may also carry. docs/explain.md lists them.

use super::patterns::{At, Pattern, num};
use crate::model::names::*;

/// The patterns of products without a catalog entry, grouped by product.
pub static SERVER_PATTERNS: &[Pattern] = &[
    // ---- PHP-FPM ------------------------------------------------------------------------
    Pattern {
        id: "phpfpm_max_children",
        origin: "php-fpm",
        ceiling: Some(APP_LIMIT.as_str()),
        candidates: &[TASKS],
        any: &[&["server reached", "max_children setting"]],
        unless: &[],
        mechanism: "every PHP-FPM child of the pool is busy (pm.max_children, default 5): one request per process, so further requests wait in the pool's listen queue (and time out at the web server)",
        lift: "raise pm.max_children in the pool (pool.d/www.conf) as memory allows (each child is a PHP process) and reload php-fpm; or make requests shorter",
        not_lifted_by: Some(
            "RLIMIT_NOFILE and the web server's worker_connections: the children, not fds, ran out",
        ),
        numbers: &[num("max_children", At::After("max_children setting ("))],
    },
    // ---- ZooKeeper ----------------------------------------------------------------------
    Pattern {
        id: "zookeeper_max_client_cnxns",
        origin: "zookeeper",
        ceiling: Some(APP_LIMIT.as_str()),
        candidates: &[],
        any: &[&["too many connections from", "max is"]],
        unless: &[],
        mechanism: "one client address already holds maxClientCnxns connections (default 60) to this ZooKeeper server, which refuses more from it",
        lift: "raise maxClientCnxns in zoo.cfg (0 = no per-address cap) and restart, or share one client session per process",
        not_lifted_by: Some("RLIMIT_NOFILE: ZooKeeper counts connections per address itself"),
        numbers: &[num("max_client_cnxns", At::After("max is "))],
    },
    // ---- Elasticsearch ------------------------------------------------------------------
    Pattern {
        id: "elasticsearch_max_file_descriptors",
        origin: "elasticsearch",
        ceiling: Some(PROCESS_FDS.as_str()),
        candidates: &[],
        any: &[&["max file descriptors [", "for elasticsearch process"]],
        unless: &[],
        mechanism: "Elasticsearch's bootstrap check found its RLIMIT_NOFILE below 65,535 (65,536 before 7.0) and refuses to start bound to a non-loopback address",
        lift: "LimitNOFILE=65535 (or more) for the service, `--ulimit nofile=65535:65535` for a container, nofile in limits.d for a tarball install; restart",
        not_lifted_by: Some("fs.file-max: it is host-wide"),
        numbers: &[num("nofile", At::After("max file descriptors ["))],
    },
    Pattern {
        id: "elasticsearch_max_threads",
        origin: "elasticsearch",
        ceiling: Some(TASKS.as_str()),
        candidates: &[],
        any: &[&["max number of threads [", "is too low"]],
        unless: &[],
        mechanism: "Elasticsearch's bootstrap check found RLIMIT_NPROC of its user below 4,096",
        lift: "LimitNPROC=4096 (or more) for the service, nproc in limits.d for a tarball install; restart",
        not_lifted_by: None,
        numbers: &[],
    },
    // ---- uWSGI --------------------------------------------------------------------------
    Pattern {
        id: "uwsgi_listen_queue_full",
        origin: "uwsgi",
        ceiling: Some(ACCEPT_QUEUE.as_str()),
        candidates: &[],
        any: &[&["uwsgi listen queue of socket", "full"]],
        unless: &[],
        mechanism: "uWSGI's listen queue (--listen, default 100, capped by net.core.somaxconn) is full: every worker is busy and new connections pile up (the numbers are queued/size)",
        lift: "more workers or faster requests; raise --listen and net.core.somaxconn together for bursts",
        not_lifted_by: Some("RLIMIT_NOFILE"),
        numbers: &[],
    },
];
