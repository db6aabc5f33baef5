//! Stop-reason classification (limits-facts.md §12.4): an errno and the call that returned it,
//! plus what was observed around it, become one of the model's ceiling names.
//!
//! Pure: no I/O. The engine records what it saw; this decides what it means.

use serde::{Deserialize, Serialize};

use crate::model::names::{self, CeilingName};
use crate::snapshot::Os;

/// The call that failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Call {
    Socket,
    Bind,
    Connect,
    Accept,
}

impl Call {
    pub fn name(self) -> &'static str {
        match self {
            Call::Socket => "socket",
            Call::Bind => "bind",
            Call::Connect => "connect",
            Call::Accept => "accept",
        }
    }
    pub fn code(self) -> u32 {
        match self {
            Call::Socket => 1,
            Call::Bind => 2,
            Call::Connect => 3,
            Call::Accept => 4,
        }
    }
    pub fn from_code(c: u32) -> Option<Call> {
        Some(match c {
            1 => Call::Socket,
            2 => Call::Bind,
            3 => Call::Connect,
            4 => Call::Accept,
            _ => return None,
        })
    }
}

/// errno values of this platform (EADDRNOTAVAIL is 99 on Linux, 49 on macOS), from nix.
pub mod errno {
    use nix::errno::Errno;

    pub const ENOMEM: i32 = Errno::ENOMEM as i32;
    pub const ENFILE: i32 = Errno::ENFILE as i32;
    pub const EMFILE: i32 = Errno::EMFILE as i32;
    pub const EAGAIN: i32 = Errno::EAGAIN as i32;
    pub const ENOBUFS: i32 = Errno::ENOBUFS as i32;
    pub const EADDRINUSE: i32 = Errno::EADDRINUSE as i32;
    pub const EADDRNOTAVAIL: i32 = Errno::EADDRNOTAVAIL as i32;
    pub const ECONNRESET: i32 = Errno::ECONNRESET as i32;
    pub const ETIMEDOUT: i32 = Errno::ETIMEDOUT as i32;
    pub const ECONNREFUSED: i32 = Errno::ECONNREFUSED as i32;

    /// The symbolic name of an errno, e.g. "EADDRNOTAVAIL".
    pub fn name(e: i32) -> String {
        match Errno::from_raw(e) {
            Errno::UnknownErrno => format!("errno {e}"),
            n => format!("{n:?}"),
        }
    }
}

/// What was observed around the failure (counters read by the engine).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Context {
    /// The run opened and closed connections continuously (`--churn`).
    pub churn: bool,
    /// The listener's queue overflowed during the run (Linux: TcpExtListenOverflows rose).
    pub listen_overflows_rose: bool,
    /// TIME_WAIT sockets at the stop (Linux: /proc/net/sockstat `tw`).
    pub time_wait: u64,
    /// The ETIMEDOUT came from the flood's own `--connect-timeout`, not the kernel.
    pub own_timeout: bool,
    /// The OS the flood ran on: the explanation speaks its words.
    pub os: Os,
    /// macOS: `net.inet.tcp.msl` in ms (TIME_WAIT is twice it); None: the default 15000.
    pub msl_ms: Option<u64>,
    /// macOS: `kern.maxfilesperproc` is below the soft RLIMIT_NOFILE, so EMFILE is it.
    pub fd_cap_binds: bool,
}

impl Context {
    /// How long a closed connection holds its port in TIME_WAIT, in seconds: 60 on Linux
    /// (TCP_TIMEWAIT_LEN), 2 × `net.inet.tcp.msl` on macOS (xnu `tcp_input.c`).
    pub fn time_wait_s(&self) -> u64 {
        match self.os {
            Os::Macos => 2 * self.msl_ms.unwrap_or(crate::model::macos::MSL_MS) / 1000,
            _ => 60,
        }
    }
}

/// The meaning of a stop.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Classification {
    /// A ceiling name from `model::names`, or None when the stop is not a capacity limit.
    pub ceiling: Option<String>,
    /// One sentence: what happened and how to confirm it.
    pub explanation: String,
}

fn c(ceiling: Option<CeilingName>, explanation: impl Into<String>) -> Classification {
    Classification {
        ceiling: ceiling.map(|n| n.as_str().to_string()),
        explanation: explanation.into(),
    }
}

/// Classify `err` returned by `call` (limits-facts.md §12.4), in the words of `ctx.os`.
pub fn classify(err: i32, call: Call, ctx: &Context) -> Classification {
    if ctx.os == Os::Macos {
        return classify_mac(err, call, ctx);
    }
    use errno::*;
    match (err, call) {
        (EADDRNOTAVAIL, Call::Connect) if ctx.churn && ctx.time_wait > 0 => c(
            Some(names::TIME_WAIT_RATE),
            format!(
                "connect() found no free ephemeral port: {} TIME_WAIT sockets hold the ports \
                 (60 s each); the churn rate is above ports/60 s",
                ctx.time_wait
            ),
        ),
        (EADDRNOTAVAIL, Call::Connect | Call::Bind) => c(
            Some(names::EPHEMERAL_PORTS),
            "connect() found no free ephemeral port for a (source ip, destination ip, \
             destination port) tuple: the port range is used up",
        ),
        (EADDRINUSE, Call::Bind) => c(
            Some(names::EPHEMERAL_PORTS),
            "bind(port 0) found no free port for the source IP (the per-source pool of \
             bind-before-connect); IP_BIND_ADDRESS_NO_PORT shares ports across destinations",
        ),
        (EMFILE, _) => c(
            Some(names::PROCESS_FDS),
            format!(
                "{}() hit RLIMIT_NOFILE: the process has no free file descriptor",
                call.name()
            ),
        ),
        (ENFILE, _) => c(
            Some(names::SYSTEM_FILES),
            format!(
                "{}() hit fs.file-max: the host has no free file handle",
                call.name()
            ),
        ),
        (ENOBUFS | ENOMEM, _) => c(
            Some(names::MEMORY),
            format!(
                "{}() could not allocate kernel memory (memory cgroup limit or low memory)",
                call.name()
            ),
        ),
        (ETIMEDOUT, Call::Connect) if ctx.listen_overflows_rose => c(
            Some(names::ACCEPT_QUEUE),
            "connect() timed out while TcpExtListenOverflows rose: the listener's accept \
             queue is full, the server stopped accepting and SYNs are dropped",
        ),
        (ETIMEDOUT, Call::Connect) => c(
            None,
            if ctx.own_timeout {
                "connect() did not complete within --connect-timeout and ListenOverflows did \
                 not rise: SYNs are dropped elsewhere (firewall, conntrack table full?)"
            } else {
                "connect() timed out (SYN retries exhausted) and ListenOverflows did not rise: \
                 SYNs are dropped elsewhere (firewall, conntrack table full?)"
            },
        ),
        (ECONNREFUSED, _) => c(
            None,
            "connection refused: no listener on that port (it died or closed) or a REJECT \
             rule; not a capacity limit on Linux",
        ),
        (ECONNRESET, _) => c(
            None,
            "connection reset by the server (tcp_abort_on_overflow=1, the server closed or \
             crashed)",
        ),
        (EAGAIN, Call::Connect) => c(
            None,
            "connect() returned EAGAIN (rare on modern Linux); reported as it is",
        ),
        _ => other(err, call),
    }
}

fn other(err: i32, call: Call) -> Classification {
    c(
        None,
        format!("{}() failed with {}", call.name(), errno::name(err)),
    )
}

/// The same stops on a Mac (xnu): one port pool per local address for the whole host,
/// TIME_WAIT of 2 × net.inet.tcp.msl, the fd cap kern.maxfilesperproc, kern.maxfiles with no
/// exemption for root; no queue-overflow counter is read, no connection tracking.
fn classify_mac(err: i32, call: Call, ctx: &Context) -> Classification {
    use errno::*;
    let tw = ctx.time_wait_s();
    match (err, call) {
        (EADDRNOTAVAIL, Call::Connect) if ctx.churn => c(
            Some(names::TIME_WAIT_RATE),
            format!(
                "connect() found no free ephemeral port: closed connections hold their ports \
                 in TIME_WAIT ({tw} s each, 2 × net.inet.tcp.msl); the churn rate is above \
                 ports/{tw} s"
            ),
        ),
        (EADDRNOTAVAIL | EADDRINUSE, Call::Connect | Call::Bind) => c(
            Some(names::EPHEMERAL_PORTS),
            format!(
                "{}() found no free ephemeral port: on macOS a port any TCP socket on the Mac \
                 holds is taken for every destination (one pool per local address, \
                 net.inet.ip.portrange.first–last): the range is used up",
                call.name()
            ),
        ),
        (EMFILE, _) => {
            let (name, what) = if ctx.fd_cap_binds {
                (names::MAX_FILES_PER_PROC, "kern.maxfilesperproc")
            } else {
                (names::PROCESS_FDS, "RLIMIT_NOFILE")
            };
            c(
                Some(name),
                format!(
                    "{}() hit {what}: the process has no free file descriptor (xnu gives a \
                     process MIN(RLIMIT_NOFILE, kern.maxfilesperproc))",
                    call.name()
                ),
            )
        }
        (ENFILE, _) => c(
            Some(names::SYSTEM_FILES),
            format!(
                "{}() hit kern.maxfiles: the Mac has no free file, root included",
                call.name()
            ),
        ),
        (ENOBUFS | ENOMEM, _) => c(
            Some(names::MEMORY),
            format!(
                "{}() could not allocate kernel memory (mbufs or low memory)",
                call.name()
            ),
        ),
        (ETIMEDOUT, Call::Connect) => c(
            None,
            if ctx.own_timeout {
                "connect() did not complete within --connect-timeout: the listener's queue is \
                 full (kern.ipc.somaxconn and its backlog; `netstat -s -p tcp` counts listen \
                 queue overflows) or a pf rule drops SYNs"
            } else {
                "connect() timed out (SYN retries exhausted): the listener's queue is full \
                 (kern.ipc.somaxconn and its backlog; `netstat -s -p tcp` counts listen queue \
                 overflows) or a pf rule drops SYNs"
            },
        ),
        (ECONNREFUSED, _) => c(
            None,
            "connection refused: no listener on that port (it died or closed) or a pf rule; \
             not a capacity limit",
        ),
        (ECONNRESET, _) => c(
            None,
            "connection reset by the server (it closed or crashed)",
        ),
        (EAGAIN, Call::Connect) => c(None, "connect() returned EAGAIN; reported as it is"),
        _ => other(err, call),
    }
}

#[cfg(test)]
mod tests {
    use super::errno::*;
    use super::*;

    fn name(err: i32, call: Call, ctx: Context) -> Option<String> {
        classify(err, call, &ctx).ceiling
    }

    #[test]
    fn ports() {
        let ctx = Context::default();
        assert_eq!(
            name(EADDRNOTAVAIL, Call::Connect, ctx).as_deref(),
            Some("ephemeral_ports")
        );
        assert_eq!(
            name(EADDRINUSE, Call::Bind, ctx).as_deref(),
            Some("ephemeral_ports")
        );
        // EADDRINUSE on connect is not the bind pool
        assert_eq!(name(EADDRINUSE, Call::Connect, ctx), None);
    }

    #[test]
    fn fds() {
        let ctx = Context::default();
        for call in [Call::Socket, Call::Accept] {
            assert_eq!(name(EMFILE, call, ctx).as_deref(), Some("process_fds"));
            assert_eq!(name(ENFILE, call, ctx).as_deref(), Some("system_files"));
        }
        assert_eq!(name(ENOBUFS, Call::Socket, ctx).as_deref(), Some("memory"));
        assert_eq!(name(ENOMEM, Call::Connect, ctx).as_deref(), Some("memory"));
    }

    #[test]
    fn timeouts() {
        let rose = Context {
            listen_overflows_rose: true,
            own_timeout: true,
            ..Context::default()
        };
        assert_eq!(
            name(ETIMEDOUT, Call::Connect, rose).as_deref(),
            Some("accept_queue")
        );
        assert_eq!(name(ETIMEDOUT, Call::Connect, Context::default()), None);
    }

    #[test]
    fn churn_time_wait() {
        let churn = Context {
            churn: true,
            time_wait: 200,
            ..Context::default()
        };
        assert_eq!(
            name(EADDRNOTAVAIL, Call::Connect, churn).as_deref(),
            Some("time_wait_rate")
        );
        // churn without TIME_WAIT sockets: the ports are held by live connections
        let no_tw = Context {
            churn: true,
            ..Context::default()
        };
        assert_eq!(
            name(EADDRNOTAVAIL, Call::Connect, no_tw).as_deref(),
            Some("ephemeral_ports")
        );
    }

    #[test]
    fn not_limits() {
        let ctx = Context::default();
        assert_eq!(name(ECONNREFUSED, Call::Connect, ctx), None);
        assert_eq!(name(ECONNRESET, Call::Connect, ctx), None);
        assert_eq!(name(EAGAIN, Call::Connect, ctx), None);
        assert!(
            classify(13, Call::Bind, &ctx)
                .explanation
                .contains("EACCES")
        );
    }

    #[test]
    fn call_codes_round_trip() {
        for call in [Call::Socket, Call::Bind, Call::Connect, Call::Accept] {
            assert_eq!(Call::from_code(call.code()), Some(call));
        }
        assert_eq!(Call::from_code(0), None);
    }
}
