//! Reading a catalog server from the live host: its command line, environment and working
//! directory from /proc, its configuration files as the process itself would read them
//! (`snapshot::target::TargetFs`: through its root, with its file credentials, failing
//! closed), and the children that hold its connections. The generic reading is
//! `catalog::read`.

use std::path::Path;

use super::catalog::{self, Entry, Target};
use crate::snapshot::target::{Kind, TargetFs};
use crate::snapshot::{ServerChild, ServerConf};

/// Bytes read of one configuration file.
pub const MAX_CONFIG_BYTES: u64 = 1 << 20;

/// A catalog server's settings: of the running process `pid` (under `proc_root`), or from
/// `config` alone (a server not running: `--config` with `--runtime`). The process's files
/// are read with its credentials; `--config` is the operator's own file, read with
/// porttune's (and its includes with it).
pub fn read(
    e: &Entry,
    proc_root: &Path,
    pid: Option<u32>,
    cmdline: &[String],
    env: &dyn Fn(&str) -> Option<String>,
    config: Option<&Path>,
) -> ServerConf {
    let process = pid.map(|pid| TargetFs::of_pid(proc_root, pid));
    let operator = TargetFs::operator();
    // relative paths of the command line are the process's: its working directory
    let cwd = process.as_ref().unwrap_or(&operator).cwd().to_string();
    let fs = match (&process, config) {
        (Some(p), None) => p,
        _ => &operator,
    };
    // `--config` is named relative to porttune's directory
    let config = config.map(|c| {
        std::path::absolute(c)
            .unwrap_or_else(|_| c.to_path_buf())
            .display()
            .to_string()
    });
    let read = |p: &str| fs.read(p, MAX_CONFIG_BYTES);
    let list = |d: &str| {
        fs.list(d).map(|names| {
            names
                .into_iter()
                .filter(|(_, k)| *k != Kind::Dir)
                .map(|(n, _)| n)
                .collect()
        })
    };
    let t = Target {
        cmdline,
        env,
        cwd: Some(cwd),
        read: &read,
        list: &list,
        config,
    };
    let mut conf = catalog::read(e, &t);
    if let Some(pid) = pid {
        conf.children = children(proc_root, pid);
    }
    conf
}

/// The children of `pid` and what each holds (Apache's processes; empty for the others).
fn children(proc_root: &Path, pid: u32) -> Vec<ServerChild> {
    use crate::snapshot::linux as l;
    let Ok(rd) = std::fs::read_dir(proc_root) else {
        return Vec::new();
    };
    let mut pids: Vec<u32> = rd
        .flatten()
        .take(1 << 20)
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|p| crate::snapshot::target::ppid(proc_root, *p) == Some(pid))
        .collect();
    pids.sort_unstable();
    // The children share the parent's network namespace: its listeners are read once.
    let table = l::tcp_sockets(&l::Roots::at(proc_root), &pid.to_string(), &mut Vec::new());
    pids.into_iter()
        .take(4096)
        .filter_map(|p| {
            let who = p.to_string();
            let (nofile, _) = l::limits(proc_root, &who).ok()?;
            let fds = l::FdTable::read(proc_root, &who);
            let connections = fds
                .as_ref()
                .map_or(0, |f| f.tcp_sockets(&table).connections);
            let status =
                crate::fsio::read_bounded_io(&proc_root.join(&who).join("status"), 1 << 16)
                    .ok()
                    .map(|b| String::from_utf8_lossy(&b).into_owned())
                    .unwrap_or_default();
            let threads = status
                .lines()
                .find_map(|l| l.strip_prefix("Threads:"))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(1);
            Some(ServerChild {
                pid: p,
                nofile_soft: nofile.soft,
                open_fds: fds.map_or(0, |f| f.count_below(nofile.soft.value())),
                connections,
                threads,
            })
        })
        .collect()
}
