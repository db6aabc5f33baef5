//! The servers' own words for their connection caps, one group per server product. Each
//! pattern's `origin` is the product's name (the key the server catalog will use), so a
//! product's messages can move into its catalog entry unchanged. They are tried before the
//! generic table (`super::patterns::PATTERNS`): a server's wording is more specific than the
//! errno it may also carry. docs/explain.md lists them with their sources.

use super::patterns::{At, Pattern, num};
use crate::model::names::*;

/// Every server pattern, grouped by product.
pub static SERVER_PATTERNS: &[Pattern] = &[
    // ---- PostgreSQL -------------------------------------------------------------------
    Pattern {
        id: "postgres_too_many_clients",
        origin: "postgresql",
        ceiling: Some(POSTGRES_MAX_CONNECTIONS.as_str()),
        candidates: &[],
        any: &[
            &["sorry, too many clients already"],
            &["too many clients already"],
        ],
        unless: &[],
        mechanism: "PostgreSQL already has max_connections backends (one process per connection), so it refuses the next client at login",
        lift: "pool client connections (pgbouncer, the driver's pool) or raise max_connections in postgresql.conf and restart PostgreSQL (each backend costs memory)",
        not_lifted_by: Some(
            "RLIMIT_NOFILE or net.core.somaxconn: PostgreSQL counts backends itself",
        ),
        numbers: &[],
    },
    Pattern {
        id: "postgres_reserved_slots",
        origin: "postgresql",
        ceiling: Some(POSTGRES_MAX_CONNECTIONS.as_str()),
        candidates: &[],
        any: &[
            &["remaining connection slots are reserved"],
            &["connection limit exceeded for non-superusers"],
        ],
        unless: &[],
        mechanism: "only the slots kept back for superusers (superuser_reserved_connections, and reserved_connections from PostgreSQL 16) are left of max_connections, so an ordinary role is refused (before 9.6 the message was \"connection limit exceeded for non-superusers\")",
        lift: "pool client connections or raise max_connections (restart); find who holds the connections in pg_stat_activity",
        not_lifted_by: Some("RLIMIT_NOFILE: PostgreSQL counts backends itself"),
        numbers: &[],
    },
    Pattern {
        id: "postgres_role_or_database_limit",
        origin: "postgresql",
        ceiling: Some(POSTGRES_MAX_CONNECTIONS.as_str()),
        candidates: &[],
        any: &[
            &["too many connections for role"],
            &["too many connections for database"],
        ],
        unless: &[],
        mechanism: "the role's (or database's) CONNECTION LIMIT is reached: a per-role cap below max_connections",
        lift: "ALTER ROLE … CONNECTION LIMIT n (or ALTER DATABASE …), or pool the role's connections; see rolconnlimit in pg_roles",
        not_lifted_by: Some("max_connections alone: the role's own limit is lower"),
        numbers: &[],
    },
    Pattern {
        id: "postgres_sqlstate_53300",
        origin: "postgresql",
        ceiling: Some(POSTGRES_MAX_CONNECTIONS.as_str()),
        candidates: &[],
        any: &[&["sqlstate", "53300"], &["sql state", "53300"]],
        unless: &[],
        mechanism: "SQLSTATE 53300 is PostgreSQL's too_many_connections: max_connections, the superuser reserve, or a role's or database's CONNECTION LIMIT refused the login",
        lift: "pool client connections or raise max_connections (restart); see pg_stat_activity for who holds them, and rolconnlimit/datconnlimit for per-role and per-database limits",
        not_lifted_by: Some("RLIMIT_NOFILE: PostgreSQL counts backends itself"),
        numbers: &[],
    },
    // ---- MySQL / MariaDB ----------------------------------------------------------------
    Pattern {
        id: "mysql_user_connections",
        origin: "mysql",
        ceiling: Some(MYSQL_MAX_CONNECTIONS.as_str()),
        candidates: &[],
        any: &[
            &["max_user_connections"],
            &["1203", "too many active connections"],
            &["1203", "already has more than"],
        ],
        unless: &[],
        mechanism: "the account's max_user_connections (ER_TOO_MANY_USER_CONNECTIONS, 1203, or the resource limit, 1226) is reached: a per-user cap below max_connections",
        lift: "raise the account's MAX_USER_CONNECTIONS (ALTER USER … WITH MAX_USER_CONNECTIONS n) or the global max_user_connections, or pool the connections",
        not_lifted_by: Some("max_connections alone"),
        numbers: &[],
    },
    Pattern {
        id: "mysql_too_many_connections",
        origin: "mysql",
        ceiling: Some(MYSQL_MAX_CONNECTIONS.as_str()),
        candidates: &[PROCESS_FDS],
        any: &[
            &["er_con_count_error"],
            &["1040", "connections"],
            &["message from server", "too many connections"],
            &["mysql", "too many connections"],
            &["too many connections", "mysql"],
            &["mysqli", "too many connections"],
            &["mariadb", "too many connections"],
            &["maria-db", "too many connections"],
            &["too many connections", "mariadb"],
        ],
        unless: &[],
        mechanism: "MySQL/MariaDB already serves max_connections (+1 for a SUPER/CONNECTION_ADMIN user) clients and refuses the next with ER_CON_COUNT_ERROR (1040; \"Too many connections\", recognised by its number or next to the server's name)",
        lift: "pool client connections or raise max_connections (SET GLOBAL max_connections = n, and in my.cnf); mysqld also needs RLIMIT_NOFILE (open_files_limit) above it",
        not_lifted_by: Some(
            "a larger max_connections alone when open_files_limit is lower: mysqld lowers max_connections to fit it at start",
        ),
        numbers: &[],
    },
    // ---- pgbouncer ------------------------------------------------------------------------
    Pattern {
        id: "pgbouncer_max_client_conn",
        origin: "pgbouncer",
        ceiling: Some(APP_LIMIT.as_str()),
        candidates: &[PROCESS_FDS],
        any: &[&["no more connections allowed (max_client_conn)"]],
        unless: &[],
        mechanism: "pgbouncer already has max_client_conn client connections and refuses the next (its own cap, separate from the server-side pool sizes)",
        lift: "raise max_client_conn in pgbouncer.ini (and RLIMIT_NOFILE to max_client_conn + pool sizes) and reload",
        not_lifted_by: Some("PostgreSQL's max_connections: pgbouncer refused before reaching it"),
        numbers: &[],
    },
    // ---- Apache httpd -------------------------------------------------------------------
    Pattern {
        id: "apache_max_request_workers",
        origin: "apache",
        ceiling: Some(APP_LIMIT.as_str()),
        candidates: &[TASKS],
        any: &[
            &["server reached maxrequestworkers setting"],
            &["server reached maxclients setting"],
        ],
        unless: &[],
        mechanism: "every Apache worker (process or thread, MaxRequestWorkers = ServerLimit × ThreadsPerChild) is busy, so new connections wait in the listen queue (AH00161 prefork, AH00286 worker, AH00484 event)",
        lift: "raise MaxRequestWorkers (with ServerLimit) in the MPM configuration and restart; with prefork each worker is a process (memory, RLIMIT_NPROC)",
        not_lifted_by: Some("RLIMIT_NOFILE: the workers, not fds, ran out"),
        numbers: &[],
    },
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
    // ---- memcached ----------------------------------------------------------------------
    Pattern {
        id: "memcached_maxconns",
        origin: "memcached",
        ceiling: Some(APP_LIMIT.as_str()),
        candidates: &[PROCESS_FDS],
        any: &[
            &["error too many open connections"],
            &["too many open connections"],
        ],
        unless: &[],
        mechanism: "memcached already serves its maxconns clients (-c, default 1024) and closes the next with ERROR Too many open connections",
        lift: "start memcached with a larger -c (and RLIMIT_NOFILE above it), or pool client connections",
        not_lifted_by: None,
        numbers: &[],
    },
    // ---- mosquitto ----------------------------------------------------------------------
    Pattern {
        id: "mosquitto_socket_count",
        origin: "mosquitto",
        ceiling: Some(PROCESS_FDS.as_str()),
        candidates: &[],
        any: &[
            &["system socket count has been exceeded"],
            &["client connection from", "denied access by tcpd"],
        ],
        unless: &[],
        mechanism: "mosquitto's accept() failed because the broker has as many fds as its RLIMIT_NOFILE allows (1.4 reported it as a tcpd denial)",
        lift: "raise LimitNOFILE= for mosquitto.service (or `limit nofile` in its init script) and restart; max_connections only lowers the cap",
        not_lifted_by: Some("max_connections -1: it removes mosquitto's own cap, not the fd limit"),
        numbers: &[],
    },
    // ---- RabbitMQ -----------------------------------------------------------------------
    Pattern {
        id: "rabbitmq_fd_alarm",
        origin: "rabbitmq",
        ceiling: Some(PROCESS_FDS.as_str()),
        candidates: &[],
        any: &[
            &["file descriptor limit alarm set"],
            &["please increase max open file handles limit"],
        ],
        unless: &[],
        mechanism: "RabbitMQ's file descriptors (sockets and files) reached its RLIMIT_NOFILE watermark, so the node stops accepting connections and blocks publishers",
        lift: "raise LimitNOFILE= for rabbitmq-server.service (65,536 or more) and restart the node; erts sizes its fd table at boot",
        not_lifted_by: Some("ERL_MAX_PORTS / +Q: they size the port table, not the fd limit"),
        numbers: &[],
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
    // ---- lighttpd -----------------------------------------------------------------------
    Pattern {
        id: "lighttpd_connection_limit",
        origin: "lighttpd",
        ceiling: Some(APP_LIMIT.as_str()),
        candidates: &[PROCESS_FDS],
        any: &[&["sockets disabled, connection limit reached"]],
        unless: &[],
        mechanism: "lighttpd reached server.max-connections (by default a third of server.max-fds) or ran short of fds, and stopped accepting until connections close",
        lift: "raise server.max-fds (lighttpd raises its own RLIMIT_NOFILE to it when started as root) and server.max-connections; restart",
        not_lifted_by: None,
        numbers: &[],
    },
];
