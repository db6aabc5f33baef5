//! The pattern table: connection-limit errors of the kernel and the common runtimes, each with
//! the ceiling it names (the model's stable names), the mechanism in one sentence, the lift,
//! and the numbers it carries. docs/explain.md lists every pattern with the source of its text.
//!
//! Matching is plain ordered substring search on the lower-cased line (see `super::matcher`):
//! no backtracking, linear in the input. The table is ordered from specific to generic; the
//! first pattern that matches a line wins, so `Too many open files in system` is ENFILE, not
//! EMFILE, and nginx's `accept4() failed (24: …)` is nginx's, not the bare errno's.

use crate::model::names::*;

/// Where a number sits relative to a marker (both on the lower-cased line).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum At {
    /// The first integer right after the marker (spaces skipped).
    After(&'static str),
    /// The integer right before the marker (spaces skipped).
    Before(&'static str),
    /// The port of the `addr:port` or `port` token after the marker.
    PortAfter(&'static str),
}

/// A number a message carries, by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Num {
    pub name: &'static str,
    pub at: At,
}

const fn num(name: &'static str, at: At) -> Num {
    Num { name, at }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pattern {
    /// Stable pattern id (JSON `pattern`, docs/explain.md).
    pub id: &'static str,
    /// Who prints it: kernel, errno, erlang, nginx, haproxy, redis, jvm, node, go, python.
    pub origin: &'static str,
    /// The ceiling it names (a [`CeilingName`] spelled as JSON spells it); None when the
    /// message is not a capacity limit.
    pub ceiling: Option<&'static str>,
    /// Other ceilings that give the same message (look at these too).
    pub candidates: &'static [CeilingName],
    /// Alternatives; each a sequence of lower-case fragments that must occur in this order on
    /// one line. A fragment that starts (ends) with a letter, digit or `_` must start (end)
    /// at a word boundary.
    pub any: &'static [&'static [&'static str]],
    /// Lower-case fragments that rule the line out.
    pub unless: &'static [&'static str],
    /// The mechanism, in one sentence.
    pub mechanism: &'static str,
    /// How to lift it.
    pub lift: &'static str,
    /// The common wrong fix, when there is one.
    pub not_lifted_by: Option<&'static str>,
    /// Numbers to take from the message.
    pub numbers: &'static [Num],
}

impl Pattern {
    /// The ceiling it names, typed.
    pub fn ceiling_name(&self) -> Option<CeilingName> {
        self.ceiling.and_then(CeilingName::parse)
    }
}

const NOFILE_LIFT: &str = "raise RLIMIT_NOFILE where the process is started (`ulimit -n`, systemd LimitNOFILE=, container --ulimit nofile=N:N), hard limit too, and restart it";

/// Every pattern, most specific first. Keep docs/explain.md in step (a test checks it).
pub static PATTERNS: &[Pattern] = &[
    // ---- Erlang/OTP -------------------------------------------------------------------
    Pattern {
        id: "erlang_large_fd",
        origin: "erlang",
        ceiling: Some(ERLANG_MAX_FDS.as_str()),
        candidates: &[],
        any: &[&["is larger than the largest allowed fd"]],
        unless: &[],
        mechanism: "erts sized its fd table once, at boot, from the soft RLIMIT_NOFILE it had then (max_fds); a socket whose fd is at or above max_fds is refused by driver_select/enif_select and gen_tcp returns {error,timeout}",
        lift: "set a finite soft limit above the fds the node needs before the node starts (`ulimit -n 65536` in its start script, LimitNOFILE= in its unit) and restart the node; raising the limit of a running node does nothing",
        not_lifted_by: Some(
            "+Q / ERL_MAX_PORTS: they size the port table, not the fd table (and +Q 65536 is already the default)",
        ),
        numbers: &[
            num("fd", At::After("fd=")),
            num("largest_allowed_fd", At::After("largest allowed fd=")),
        ],
    },
    Pattern {
        id: "erlang_too_many_processes",
        origin: "erlang",
        ceiling: Some(ERLANG_PROCESS_LIMIT.as_str()),
        candidates: &[],
        any: &[&["too many processes"], &["spawn", "system_limit"]],
        unless: &[],
        mechanism: "the Erlang process table (+P, default 262,144) is full: spawn fails with system_limit",
        lift: "start the node with a larger `+P` (vm.args or ERL_FLAGS), or spawn fewer processes per connection",
        not_lifted_by: None,
        numbers: &[],
    },
    Pattern {
        id: "erlang_system_limit",
        origin: "erlang",
        ceiling: Some(ERLANG_PORT_LIMIT.as_str()),
        candidates: &[ERLANG_PROCESS_LIMIT],
        any: &[&["system_limit"]],
        unless: &[],
        mechanism: "from gen_tcp (or open_port) system_limit means the Erlang port table (+Q, default 65,536 or the fd limit if larger) is full: every socket is a port",
        lift: "start the node with a larger `+Q` (vm.args or ERL_FLAGS; ERL_MAX_PORTS is deprecated); from spawn it is the process table: `+P`",
        not_lifted_by: None,
        numbers: &[],
    },
    Pattern {
        id: "erlang_emfile",
        origin: "erlang",
        ceiling: Some(PROCESS_FDS.as_str()),
        candidates: &[],
        any: &[
            &["{shutdown,emfile}"],
            &["{error,emfile}"],
            &["reason: emfile"],
            &["file operation error: emfile"],
            &["out of file descriptors"],
        ],
        unless: &[],
        mechanism: "the node's socket() or accept() hit its RLIMIT_NOFILE (EMFILE); the node may then fail to open files and load modules too",
        lift: "raise the soft RLIMIT_NOFILE before the node starts (erts sizes its fd table at boot): `ulimit -n N` in the start script or LimitNOFILE=, and restart the node",
        not_lifted_by: Some("+Q / ERL_MAX_PORTS: they size the port table, not the fd limit"),
        numbers: &[],
    },
    // ---- nginx ------------------------------------------------------------------------
    Pattern {
        id: "nginx_worker_connections",
        origin: "nginx",
        ceiling: Some(NGINX_WORKER_CONNECTIONS.as_str()),
        candidates: &[],
        any: &[&["worker_connections are not enough"]],
        unless: &[],
        mechanism: "a worker already holds worker_connections connections (clients and upstreams together) and drops the new one",
        lift: "raise worker_connections in events {} and worker_rlimit_nofile to at least twice it, together; or more worker_processes",
        not_lifted_by: Some("ulimit -n alone: worker_connections is nginx's own cap"),
        numbers: &[num(
            "worker_connections",
            At::Before("worker_connections are not enough"),
        )],
    },
    Pattern {
        id: "nginx_worker_connections_exceed_nofile",
        origin: "nginx",
        ceiling: Some(PROCESS_FDS.as_str()),
        candidates: &[NGINX_WORKER_CONNECTIONS],
        any: &[&["worker_connections exceed open file resource limit"]],
        unless: &[],
        mechanism: "worker_connections is larger than the workers' RLIMIT_NOFILE, so the fd limit, not worker_connections, stops the workers (accept4() then fails with 24: Too many open files)",
        lift: "set worker_rlimit_nofile to at least twice worker_connections (or LimitNOFILE= for the nginx unit)",
        not_lifted_by: None,
        numbers: &[num("nofile", At::After("exceed open file resource limit:"))],
    },
    Pattern {
        id: "nginx_enfile",
        origin: "nginx",
        ceiling: Some(SYSTEM_FILES.as_str()),
        candidates: &[],
        any: &[&["failed (23: too many open files in system)"]],
        unless: &[],
        mechanism: "the host has no free file handle: fs.file-max is reached (ENFILE)",
        lift: "`sysctl -w fs.file-max=N` (host-wide), and find what holds the handles",
        not_lifted_by: Some("worker_rlimit_nofile / ulimit -n: they are per process"),
        numbers: &[],
    },
    Pattern {
        id: "nginx_emfile",
        origin: "nginx",
        ceiling: Some(PROCESS_FDS.as_str()),
        candidates: &[],
        any: &[&["failed (24: too many open files)"]],
        unless: &[],
        mechanism: "an nginx worker hit its RLIMIT_NOFILE (EMFILE) on accept4() or socket(): each client and each upstream connection takes one fd",
        lift: "set worker_rlimit_nofile (or LimitNOFILE= for the unit) to at least twice worker_connections and reload",
        not_lifted_by: None,
        numbers: &[],
    },
    Pattern {
        id: "nginx_eaddrnotavail",
        origin: "nginx",
        ceiling: Some(EPHEMERAL_PORTS.as_str()),
        candidates: &[],
        any: &[&["failed (99: cannot assign requested address)"]],
        unless: &[],
        mechanism: "connect() to an upstream found no free ephemeral port for that (source ip, upstream ip, upstream port) tuple",
        lift: "keepalive connections to the upstream (upstream { keepalive N; } with proxy_http_version 1.1), widen net.ipv4.ip_local_port_range, or more upstream addresses",
        not_lifted_by: None,
        numbers: &[],
    },
    // ---- HAProxy ----------------------------------------------------------------------
    Pattern {
        id: "haproxy_maxconn",
        origin: "haproxy",
        ceiling: Some(HAPROXY_MAXCONN.as_str()),
        candidates: &[],
        any: &[
            &["reached the configured maximum connection limit"],
            &["maxconn", "reached"],
        ],
        unless: &[],
        mechanism: "HAProxy refused a connection because its fd would be above maxsock, which global maxconn sets",
        lift: "raise global maxconn (HAProxy raises its own fd limit to match when it can; otherwise raise LimitNOFILE= too)",
        not_lifted_by: None,
        numbers: &[],
    },
    Pattern {
        id: "haproxy_process_fd_limit",
        origin: "haproxy",
        ceiling: Some(PROCESS_FDS.as_str()),
        candidates: &[HAPROXY_MAXCONN],
        any: &[&["reached process fd limit"]],
        unless: &[],
        mechanism: "HAProxy's accept() or socket() hit its RLIMIT_NOFILE (EMFILE) before maxconn",
        lift: "raise `ulimit-n` in the global section or LimitNOFILE= for the unit, to at least maxsock, and restart",
        not_lifted_by: None,
        numbers: &[
            num("maxsock", At::After("maxsock=")),
            num("at", At::After("fd limit at ")),
        ],
    },
    Pattern {
        id: "haproxy_cannot_raise_fd_limit",
        origin: "haproxy",
        ceiling: Some(PROCESS_FDS.as_str()),
        candidates: &[HAPROXY_MAXCONN],
        any: &[&["cannot raise fd limit to", "limit is"]],
        unless: &[],
        mechanism: "HAProxy needs maxconn × 2 + extras fds (maxsock) and could not raise RLIMIT_NOFILE that far (the hard limit is lower and it lacks CAP_SYS_RESOURCE), so it refuses to start",
        lift: "raise the hard limit where HAProxy is started (LimitNOFILE= for the unit, container --ulimit) to at least the number it asked for, or lower global maxconn",
        not_lifted_by: None,
        numbers: &[
            num("fds_needed", At::After("fd limit to ")),
            num("nofile", At::After("limit is ")),
        ],
    },
    Pattern {
        id: "haproxy_system_fd_limit",
        origin: "haproxy",
        ceiling: Some(SYSTEM_FILES.as_str()),
        candidates: &[],
        any: &[&["reached system fd limit"]],
        unless: &[],
        mechanism: "HAProxy's accept() or socket() found no free file handle on the host (ENFILE: fs.file-max)",
        lift: "`sysctl -w fs.file-max=N` (host-wide)",
        not_lifted_by: None,
        numbers: &[num("maxsock", At::After("maxsock="))],
    },
    Pattern {
        id: "haproxy_system_memory_limit",
        origin: "haproxy",
        ceiling: Some(MEMORY.as_str()),
        candidates: &[],
        any: &[&["reached system memory limit"]],
        unless: &[],
        mechanism: "HAProxy's accept() or socket() got ENOBUFS/ENOMEM: the kernel (or the memory cgroup) had no memory for another socket",
        lift: "more memory or a higher cgroup memory.max; fewer buffers per connection (tune.bufsize)",
        not_lifted_by: None,
        numbers: &[num("maxsock", At::After("maxsock="))],
    },
    // ---- Redis ------------------------------------------------------------------------
    Pattern {
        id: "redis_maxclients_nofile",
        origin: "redis",
        ceiling: Some(PROCESS_FDS.as_str()),
        candidates: &[REDIS_MAXCLIENTS],
        any: &[
            &["you requested maxclients of", "max file descriptors"],
            &["maxclients has been reduced to"],
            &["is not enough for the server to start"],
        ],
        unless: &[],
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
    },
    Pattern {
        id: "redis_max_clients_reached",
        origin: "redis",
        ceiling: Some(REDIS_MAXCLIENTS.as_str()),
        candidates: &[PROCESS_FDS],
        any: &[&["max number of clients reached"]],
        unless: &[],
        mechanism: "Redis already serves maxclients clients (maybe lowered at start to fit RLIMIT_NOFILE) and refuses the next",
        lift: "raise maxclients, and RLIMIT_NOFILE to maxclients + 32 with it; or pool client connections",
        not_lifted_by: None,
        numbers: &[],
    },
    // ---- JVM --------------------------------------------------------------------------
    Pattern {
        id: "jvm_native_thread",
        origin: "jvm",
        ceiling: Some(TASKS.as_str()),
        candidates: &[MEMORY],
        any: &[&["unable to create", "native thread"]],
        unless: &[],
        mechanism: "the JVM could not start another thread: RLIMIT_NPROC, the cgroup pids.max, kernel.threads-max or pid_max is reached (or thread stacks found no memory), the ceiling of thread-per-connection servers",
        lift: "LimitNPROC= and TasksMax= for the unit (pids.max in a container), kernel.pid_max / threads-max; or a server with fewer threads (NIO, virtual threads)",
        not_lifted_by: Some("-Xmx: thread stacks live outside the heap"),
        numbers: &[],
    },
    Pattern {
        id: "jvm_emfile",
        origin: "jvm",
        ceiling: Some(PROCESS_FDS.as_str()),
        candidates: &[],
        any: &[&["java.", "too many open files"]],
        unless: &["too many open files in system"],
        mechanism: "the JVM hit RLIMIT_NOFILE (EMFILE); HotSpot raises its soft limit to the hard one at start (-XX:+MaxFDLimit), so the hard limit is what binds",
        lift: "raise the hard RLIMIT_NOFILE where the JVM is started (LimitNOFILE=, limits.d, container --ulimit) and restart",
        not_lifted_by: Some("-Xmx or thread pool sizes"),
        numbers: &[],
    },
    // ---- Go ---------------------------------------------------------------------------
    Pattern {
        id: "go_accept_emfile",
        origin: "go",
        ceiling: Some(PROCESS_FDS.as_str()),
        candidates: &[],
        any: &[
            &["accept4: too many open files"],
            &["accept: too many open files"],
        ],
        unless: &[],
        mechanism: "the Go server's accept4() hit RLIMIT_NOFILE (EMFILE); Go ≥ 1.19 raises its soft limit to the hard one at start, so the hard limit is what binds; net/http retries with a back-off",
        lift: "raise the hard RLIMIT_NOFILE where the program is started (LimitNOFILE=, container --ulimit) and restart",
        not_lifted_by: None,
        numbers: &[],
    },
    Pattern {
        id: "go_socket_emfile",
        origin: "go",
        ceiling: Some(PROCESS_FDS.as_str()),
        candidates: &[],
        any: &[&["dial", "socket: too many open files"]],
        unless: &[],
        mechanism: "the Go client's socket() hit RLIMIT_NOFILE (EMFILE): every open connection, including idle pooled ones, holds an fd",
        lift: "raise the hard RLIMIT_NOFILE where the program is started, and bound the pool (http.Transport MaxConnsPerHost)",
        not_lifted_by: None,
        numbers: &[],
    },
    Pattern {
        id: "go_connect_eaddrnotavail",
        origin: "go",
        ceiling: Some(EPHEMERAL_PORTS.as_str()),
        candidates: &[TIME_WAIT_RATE],
        any: &[&["connect: cannot assign requested address"]],
        unless: &[],
        mechanism: "connect() found no free ephemeral port for the (source ip, destination ip, destination port) tuple: too many open or TIME_WAIT connections to one destination",
        lift: "reuse connections (http.Transport MaxIdleConnsPerHost), widen net.ipv4.ip_local_port_range, net.ipv4.tcp_tw_reuse=1, or more destination addresses",
        not_lifted_by: Some("RLIMIT_NOFILE: ports, not fds, ran out"),
        numbers: &[],
    },
    // ---- Node.js ----------------------------------------------------------------------
    Pattern {
        id: "node_emfile",
        origin: "node",
        ceiling: Some(PROCESS_FDS.as_str()),
        candidates: &[],
        any: &[
            &["error: accept emfile"],
            &["error: connect emfile"],
            &["error: listen emfile"],
            &["error: emfile"],
            &["code: 'emfile'"],
            &["\"code\":\"emfile\""],
        ],
        unless: &[],
        mechanism: "Node.js hit RLIMIT_NOFILE (EMFILE); Node raises its soft limit to the hard one at start, so the hard limit is what binds, and a server keeps retrying accept",
        lift: "raise the hard RLIMIT_NOFILE where node is started (LimitNOFILE=, container --ulimit nofile=N:N) and restart; bound agents' maxSockets",
        not_lifted_by: Some("`ulimit -Sn` alone: Node already runs at the hard limit"),
        numbers: &[],
    },
    Pattern {
        id: "node_eaddrnotavail",
        origin: "node",
        ceiling: Some(EPHEMERAL_PORTS.as_str()),
        candidates: &[TIME_WAIT_RATE],
        any: &[&["connect eaddrnotavail"], &["code: 'eaddrnotavail'"]],
        unless: &[],
        mechanism: "connect() found no free ephemeral port for the (source ip, destination ip, destination port) tuple: too many open or TIME_WAIT connections to one destination (no keep-alive agent?)",
        lift: "reuse connections (http.Agent({ keepAlive: true, maxSockets })), widen net.ipv4.ip_local_port_range, net.ipv4.tcp_tw_reuse=1, or more destination addresses",
        not_lifted_by: Some("RLIMIT_NOFILE: ports, not fds, ran out"),
        numbers: &[],
    },
    // ---- Python -----------------------------------------------------------------------
    Pattern {
        id: "python_select_fd_setsize",
        origin: "python",
        ceiling: Some(SELECT_FD_SETSIZE.as_str()),
        candidates: &[],
        any: &[&["filedescriptor out of range in select()"]],
        unless: &[],
        mechanism: "select() can only watch fds below FD_SETSIZE (1024); the process has an fd numbered 1024 or higher",
        lift: "use poll/epoll (selectors.DefaultSelector, asyncio) instead of select(); keeping the soft limit at 1024 only turns this into EMFILE",
        not_lifted_by: Some(
            "ulimit -n: a higher limit gives more fds, and select() still cannot watch any above 1023",
        ),
        numbers: &[],
    },
    // ---- Kernel log ---------------------------------------------------------------------
    Pattern {
        id: "kernel_conntrack_full",
        origin: "kernel",
        ceiling: Some(CONNTRACK.as_str()),
        candidates: &[],
        any: &[&["nf_conntrack", "table full"]],
        unless: &[],
        mechanism: "the netfilter connection-tracking table is at nf_conntrack_max and no entry could be evicted, so the new flow's packet was dropped (clients see connect timeouts)",
        lift: "`sysctl -w net.netfilter.nf_conntrack_max=N` (global; raise nf_conntrack_buckets with it), shorter conntrack timeouts, or notrack rules for traffic that needs no state",
        not_lifted_by: Some("RLIMIT_NOFILE or the port range"),
        numbers: &[],
    },
    Pattern {
        id: "kernel_time_wait_overflow",
        origin: "kernel",
        ceiling: Some(TIME_WAIT_RATE.as_str()),
        candidates: &[],
        any: &[&["time wait bucket table overflow"]],
        unless: &[],
        mechanism: "more sockets entered TIME_WAIT than net.ipv4.tcp_max_tw_buckets allows, so the kernel destroyed the extra ones at once (their ports are free again): a sign of a high close rate, not a connection ceiling",
        lift: "pool connections or let the peer close first; raise net.ipv4.tcp_max_tw_buckets only if TIME_WAIT protection matters more than memory",
        not_lifted_by: None,
        numbers: &[],
    },
    Pattern {
        id: "kernel_syn_flooding",
        origin: "kernel",
        ceiling: Some(ACCEPT_QUEUE.as_str()),
        candidates: &[],
        any: &[&["possible syn flooding on port"]],
        unless: &[],
        mechanism: "a listener's SYN queue reached its backlog (min(listen backlog, somaxconn)): the kernel answered with SYN cookies or dropped SYNs; the application accepts more slowly than connections arrive, or its backlog is small",
        lift: "accept faster; raise net.core.somaxconn and the application's listen() backlog (and net.ipv4.tcp_max_syn_backlog)",
        not_lifted_by: Some("RLIMIT_NOFILE"),
        numbers: &[num("port", At::PortAfter("syn flooding on port"))],
    },
    Pattern {
        id: "kernel_tcp_mem",
        origin: "kernel",
        ceiling: Some(MEMORY.as_str()),
        candidates: &[],
        any: &[&["out of memory -- consider tuning tcp_mem"]],
        unless: &[],
        mechanism: "TCP buffers of all sockets together passed net.ipv4.tcp_mem's maximum, so the kernel reset sockets (data in flight, not idle connections, fill tcp_mem)",
        lift: "raise net.ipv4.tcp_mem (pages, global), smaller socket buffers, or read faster so data does not queue",
        not_lifted_by: None,
        numbers: &[],
    },
    Pattern {
        id: "kernel_orphans",
        origin: "kernel",
        ceiling: Some(MEMORY.as_str()),
        candidates: &[],
        any: &[&["too many", "orphaned sockets"]],
        unless: &[],
        mechanism: "sockets closed by their applications but not yet finished (orphans) passed net.ipv4.tcp_max_orphans, so the kernel reset them: a close storm",
        lift: "raise net.ipv4.tcp_max_orphans (global; each orphan can hold up to ~64 KB) or close less abruptly",
        not_lifted_by: None,
        numbers: &[],
    },
    Pattern {
        id: "kernel_file_max",
        origin: "kernel",
        ceiling: Some(SYSTEM_FILES.as_str()),
        candidates: &[],
        any: &[&["vfs: file-max limit", "reached"]],
        unless: &[],
        mechanism: "the host has fs.file-max file handles open, so socket() and open() fail with ENFILE for every process without CAP_SYS_ADMIN",
        lift: "`sysctl -w fs.file-max=N` (host-wide)",
        not_lifted_by: Some("ulimit -n: it is per process"),
        numbers: &[num("file_max", At::After("file-max limit "))],
    },
    Pattern {
        id: "kernel_pids_controller",
        origin: "kernel",
        ceiling: Some(TASKS.as_str()),
        candidates: &[],
        any: &[&["fork rejected by pids controller"]],
        unless: &[],
        mechanism: "a cgroup reached pids.max, so fork()/clone() (new processes and threads) fail with EAGAIN",
        lift: "TasksMax= for the unit or the container's pids limit (--pids-limit); or fewer threads per connection",
        not_lifted_by: None,
        numbers: &[],
    },
    // ---- errno, in its usual spellings (Node, Python, libc, Go …) ----------------------
    Pattern {
        id: "errno_enfile",
        origin: "errno",
        ceiling: Some(SYSTEM_FILES.as_str()),
        candidates: &[],
        any: &[&["too many open files in system"], &["enfile"]],
        unless: &[],
        mechanism: "ENFILE: the host has no free file handle (fs.file-max; processes with CAP_SYS_ADMIN are exempt)",
        lift: "`sysctl -w fs.file-max=N` (host-wide)",
        not_lifted_by: Some("ulimit -n: it is per process"),
        numbers: &[],
    },
    Pattern {
        id: "errno_emfile",
        origin: "errno",
        ceiling: Some(PROCESS_FDS.as_str()),
        candidates: &[],
        any: &[&["too many open files"], &["emfile"]],
        unless: &[],
        mechanism: "EMFILE: the process has as many fds open as its soft RLIMIT_NOFILE allows; every socket, accepted connection, file and pipe takes one",
        lift: NOFILE_LIFT,
        not_lifted_by: Some("fs.file-max: it is the host-wide limit (ENFILE)"),
        numbers: &[],
    },
    Pattern {
        id: "errno_eaddrnotavail",
        origin: "errno",
        ceiling: Some(EPHEMERAL_PORTS.as_str()),
        candidates: &[TIME_WAIT_RATE],
        any: &[
            &["cannot assign requested address"],
            &["can't assign requested address"],
            &["eaddrnotavail"],
        ],
        unless: &[],
        mechanism: "EADDRNOTAVAIL at connect(): no free ephemeral port for the (source ip, destination ip, destination port) tuple; open and TIME_WAIT connections to one destination hold them",
        lift: "reuse connections, widen net.ipv4.ip_local_port_range, net.ipv4.tcp_tw_reuse=1, or more destination ports/addresses or source IPs (IP_BIND_ADDRESS_NO_PORT)",
        not_lifted_by: Some("RLIMIT_NOFILE: ports, not fds, ran out"),
        numbers: &[],
    },
    Pattern {
        id: "errno_eaddrinuse_listen",
        origin: "errno",
        ceiling: None,
        candidates: &[],
        any: &[
            &["listen", "address already in use"],
            &["bind() to", "address already in use"],
            &["listen", "eaddrinuse"],
        ],
        unless: &[],
        mechanism: "a listener could not bind its port because another socket holds it (another process, or a restart before SO_REUSEADDR): not a capacity limit",
        lift: "find the holder (`ss -ltnp 'sport = :PORT'`) or use another port",
        not_lifted_by: None,
        numbers: &[],
    },
    Pattern {
        id: "errno_eaddrinuse",
        origin: "errno",
        ceiling: Some(EPHEMERAL_PORTS.as_str()),
        candidates: &[],
        any: &[&["address already in use"], &["eaddrinuse"]],
        unless: &[],
        mechanism: "EADDRINUSE on the client side: bind(port 0) before connect() draws from one port pool per source IP for all destinations, and it is used up (from a server's bind() of its listening port it means another socket holds that port: not a capacity limit)",
        lift: "set IP_BIND_ADDRESS_NO_PORT before bind() (or do not bind before connect) so ports are shared per destination; widen net.ipv4.ip_local_port_range",
        not_lifted_by: None,
        numbers: &[],
    },
    Pattern {
        id: "errno_econnreset_accept",
        origin: "errno",
        ceiling: Some(ACCEPT_QUEUE.as_str()),
        candidates: &[],
        any: &[
            &["accept", "connection reset by peer"],
            &["accept4", "connection reset by peer"],
            &["accept", "econnreset"],
            &["accept", "software caused connection abort"],
            &["accept", "econnaborted"],
        ],
        unless: &[],
        mechanism: "the client gave up (reset) while its connection waited in the accept queue: the server accepts more slowly than clients arrive",
        lift: "accept faster (more acceptors, less work on the accept path); raise net.core.somaxconn and the listen() backlog for bursts",
        not_lifted_by: None,
        numbers: &[],
    },
    Pattern {
        id: "errno_enobufs",
        origin: "errno",
        ceiling: Some(MEMORY.as_str()),
        candidates: &[],
        any: &[&["no buffer space available"], &["enobufs"]],
        unless: &[],
        mechanism: "ENOBUFS: the kernel (or the memory cgroup) had no memory for another socket or its buffers",
        lift: "more memory or a higher cgroup memory.max; smaller socket buffers",
        not_lifted_by: None,
        numbers: &[],
    },
    Pattern {
        id: "errno_etimedout",
        origin: "errno",
        ceiling: None,
        candidates: &[ACCEPT_QUEUE, CONNTRACK],
        any: &[
            &["connection timed out"],
            &["operation timed out"],
            &["etimedout"],
            &["i/o timeout"],
        ],
        unless: &[],
        mechanism: "ETIMEDOUT at connect(): the SYN got no answer; it was dropped because the listener's accept queue was full (TcpExtListenOverflows rises), the conntrack table was full (kernel log: table full), or by a firewall; for an Erlang {error,timeout} look for 'larger than the largest allowed fd' (erlang_max_fds)",
        lift: "check `nstat -az TcpExtListenOverflows` and the kernel log (porttune check reads it): raise somaxconn and the backlog, or nf_conntrack_max",
        not_lifted_by: None,
        numbers: &[],
    },
    Pattern {
        id: "errno_econnrefused",
        origin: "errno",
        ceiling: None,
        candidates: &[ACCEPT_QUEUE],
        any: &[&["connection refused"], &["econnrefused"]],
        unless: &[],
        mechanism: "ECONNREFUSED: nothing listens on that port (the server died, closed or listens elsewhere) or a firewall rejects; on Linux a full accept queue drops SYNs instead (ETIMEDOUT), on macOS/BSD a full listen queue refuses",
        lift: "check that the server is up and listening (`ss -ltn`); on macOS raise kern.ipc.somaxconn and the backlog",
        not_lifted_by: None,
        numbers: &[],
    },
];

/// The pattern with this id.
pub fn by_id(id: &str) -> Option<&'static Pattern> {
    PATTERNS.iter().find(|p| p.id == id)
}
