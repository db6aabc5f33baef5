//! ejabberd (an Erlang node): no connection cap of its own by default; the node's fd table
//! (its soft RLIMIT_NOFILE at boot), its port table (`ERL_MAX_PORTS`, 32000 in Debian's
//! ejabberdctl) and process table (`+P`, 250000) bound it, read as for any Erlang node.
//! Source: Debian's /usr/sbin/ejabberdctl (ERL_MAX_PORTS, ERL_PROCESSES), measured.

use super::super::entry::Entry;
use crate::snapshot::RuntimeKind;

pub const ENTRY: Entry = Entry {
    kind: RuntimeKind::Ejabberd,
    name: "ejabberd",
    about: "ejabberd (Erlang): the node's fd table, port and process tables.",
    vm: Some(RuntimeKind::Erlang),
    product: "ejabberd",
    package: "ejabberd",
    marker: Some("ejabberd"),
    ceilings: &[
        "erlang_max_fds",
        "erlang_port_limit",
        "erlang_process_limit",
    ],
    ..Entry::BASE
};
