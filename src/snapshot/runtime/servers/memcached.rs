//! memcached: `-c` (`--conn-limit`, maxconns, default 1024). memcached sets its own
//! RLIMIT_NOFILE (soft and hard) to maxconns at start, or exits ("failed to set rlimit for
//! open files. Try starting as root or requesting smaller maxconns value."), so its fd limit
//! never binds apart from `-c`: the fds it holds besides connections (listeners, its threads'
//! pipes and event fds, 25 with the default 4 threads on 1.6.18) come off maxconns. Beyond it
//! memcached answers "ERROR Too many open connections" and closes. Debian's memcached.conf holds
//! the flags (the unit passes them). Source: memcached(1), memcached 1.6.18 measured.

use super::super::entry::{CapSetting, Entry, Message};
use crate::snapshot::RuntimeKind;

pub const ENTRY: Entry = Entry {
    kind: RuntimeKind::Memcached,
    name: "memcached",
    about: "memcached: -c (maxconns), which also sets its fd limit.",
    sets_own_fd_limit: true,
    product: "memcached",
    package: "memcached",
    exe: &["memcached"],
    settings: &[
        CapSetting {
            key: "maxconns",
            flags: &["-c", "--conn-limit"],
            default: "1024",
            raises: true,
        },
        CapSetting {
            key: "threads",
            flags: &["-t", "--threads"],
            default: "4",
            raises: false,
        },
    ],
    messages: &[
        Message {
            id: "memcached_maxconns",
            ceiling: "memcached_maxconns",
            candidates: &["process_fds"],
            any: &[
                &["error too many open connections"],
                &["too many open connections"],
            ],
            mechanism: "memcached already serves its maxconns clients (-c, default 1024) and closes the next with ERROR Too many open connections",
            lift: "start memcached with a larger -c (and RLIMIT_NOFILE above it), or pool client connections",
            ..Message::BASE
        },
        Message {
            id: "memcached_rlimit",
            ceiling: "memcached_maxconns",
            candidates: &["process_fds"],
            any: &[&["failed to set rlimit for open files"]],
            mechanism: "memcached sets its RLIMIT_NOFILE to maxconns (-c) at start and could not (the hard limit is lower and it is not root), so it exits",
            lift: "start memcached with a -c within the hard limit, or raise the hard limit (LimitNOFILE= for the unit) to at least -c",
            ..Message::BASE
        },
    ],
    ceilings: &["memcached_maxconns"],
    // with maxconns_fast (the default) it accepts the next connection to answer it "ERROR Too
    // many open connections": one fd stays free for that (measured: 175 held at -c 200 with 24
    // fds open besides connections)
    accept_spare_fds: 1,
    accept_spare_why: "fd it keeps free to accept and refuse the next connection",
    ..Entry::BASE
};
