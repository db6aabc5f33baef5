//! nginx: each worker holds up to `worker_connections` (default 512) connections, less a slot
//! per listening socket and one for the channel to the master, and its own fd limit, set from
//! `worker_rlimit_nofile` or inherited from the master. The configuration is `-c` (relative
//! to the prefix, `-p`, or the binary's `--prefix=`), else the binary's `--conf-path=`
//! (Debian: /etc/nginx/nginx.conf), read by `runtime::nginx`; the formula is
//! `model::servers`. Source: nginx documentation (ngx_core_module, events), measured on 1.22.

use super::super::entry::{CapSetting, ConfigSpec, Entry, IncludeKind, Shape};
use crate::snapshot::RuntimeKind;

pub const ENTRY: Entry = Entry {
    kind: RuntimeKind::Nginx,
    name: "nginx",
    about: "nginx: worker_processes × worker_connections, worker_rlimit_nofile.",
    product: "nginx",
    package: "nginx",
    exe: &["nginx"],
    config: ConfigSpec {
        shape: Shape::Own,
        flags: &["-c"],
        root_flag: Some("-p"),
        default_path: Some("/etc/nginx/nginx.conf"),
        include: &[("include", IncludeKind::File)],
        ..ConfigSpec::FLAGS_ONLY
    },
    settings: &[
        CapSetting {
            key: "worker_connections",
            flags: &[],
            default: "512",
            raises: true,
        },
        CapSetting {
            key: "worker_processes",
            flags: &[],
            default: "1",
            raises: true,
        },
        CapSetting {
            key: "worker_rlimit_nofile",
            flags: &[],
            default: "none: the workers keep the master's RLIMIT_NOFILE",
            raises: true,
        },
    ],
    ceilings: &["nginx_worker_connections"],
    ..Entry::BASE
};
