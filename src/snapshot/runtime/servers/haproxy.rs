//! HAProxy: `maxconn` (global, `-n`, and each frontend's), computed from the fd limit when
//! unset; HAProxy sets its own RLIMIT_NOFILE to its maxsock at start. The configuration is
//! every `-f` (files or directories, relative to the working directory), read by
//! `runtime::haproxy` with `show info` from a stats socket the process listens on; the formula
//! is `model::servers`. Source: HAProxy configuration manual (maxconn, ulimit-n,
//! fd-hard-limit), haproxy.c, measured on 2.6.

use super::super::entry::{CapSetting, ConfigSpec, Entry, Shape};
use crate::snapshot::RuntimeKind;

pub const ENTRY: Entry = Entry {
    kind: RuntimeKind::Haproxy,
    name: "haproxy",
    about: "HAProxy: global and frontend maxconn (computed from the fd limit when unset).",
    product: "HAProxy",
    package: "haproxy",
    exe: &["haproxy"],
    sets_own_fd_limit: true,
    config: ConfigSpec {
        shape: Shape::Own,
        flags: &["-f"],
        default_path: Some("/etc/haproxy/haproxy.cfg"),
        ..ConfigSpec::FLAGS_ONLY
    },
    settings: &[
        CapSetting {
            key: "maxconn",
            flags: &["-n"],
            default: "computed: (fd limit − reserved fds) / 2, at least 100",
            raises: true,
        },
        CapSetting {
            key: "ulimit-n",
            flags: &[],
            default: "computed from maxconn",
            raises: true,
        },
        CapSetting {
            key: "fd-hard-limit",
            flags: &[],
            default: "none",
            raises: true,
        },
        CapSetting {
            key: "nbthread",
            flags: &[],
            default: "the CPUs it may run on",
            raises: true,
        },
    ],
    ceilings: &["haproxy_maxconn"],
    ..Entry::BASE
};
