//! Reading a catalog server from the live host: its command line, environment and working
//! directory from /proc, its configuration files through its own root (`/proc/PID/root`), and
//! the children that hold its connections. The generic reading is `catalog::read`.

use std::path::{Path, PathBuf};

use super::catalog::{self, Entry, Target};
use crate::snapshot::{ServerChild, ServerConf};

/// Bytes read of one configuration file.
pub const MAX_CONFIG_BYTES: u64 = 1 << 20;

fn read_under(root: &Path, path: &str) -> Result<String, String> {
    let p = root.join(path.trim_start_matches('/'));
    let meta = std::fs::metadata(&p).map_err(|e| e.kind().to_string())?;
    if !meta.is_file() {
        return Err("not a regular file".into());
    }
    crate::fsio::read_bounded_io(&p, MAX_CONFIG_BYTES)
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .map_err(|e| e.kind().to_string())
}

fn list_under(root: &Path, dir: &str) -> Result<Vec<String>, String> {
    let p = root.join(dir.trim_start_matches('/'));
    let rd = std::fs::read_dir(&p).map_err(|e| e.kind().to_string())?;
    Ok(rd
        .flatten()
        .take(4096)
        .filter_map(|e| e.file_name().to_str().map(str::to_string))
        .collect())
}

/// A catalog server's settings: of the running process `pid` (under `proc_root`), or from
/// `config` alone (a server not running: `--config` with `--runtime`).
pub fn read(
    e: &Entry,
    proc_root: &Path,
    pid: Option<u32>,
    cmdline: &[String],
    env: &dyn Fn(&str) -> Option<String>,
    config: Option<&Path>,
) -> ServerConf {
    let (root, cwd) = match pid {
        Some(pid) => {
            let base = proc_root.join(pid.to_string());
            let cwd = std::fs::read_link(base.join("cwd"))
                .ok()
                .map(|p| p.display().to_string());
            (base.join("root"), cwd)
        }
        None => (
            PathBuf::from("/"),
            std::env::current_dir()
                .ok()
                .map(|p| p.display().to_string()),
        ),
    };
    // `--config` is the user's own file, named relative to porttune's directory
    let config = config.map(|c| {
        std::path::absolute(c)
            .unwrap_or_else(|_| c.to_path_buf())
            .display()
            .to_string()
    });
    let (config_root, read_root) = match &config {
        Some(_) => (PathBuf::from("/"), PathBuf::from("/")),
        None => (root.clone(), root),
    };
    let read = |p: &str| read_under(&read_root, p);
    let list = |d: &str| list_under(&config_root, d);
    let t = Target {
        cmdline,
        env,
        cwd,
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
    pids.into_iter()
        .take(4096)
        .filter_map(|p| {
            let who = p.to_string();
            let (nofile, _) = l::limits(proc_root, &who).ok()?;
            let table = l::tcp_table(proc_root, &who);
            let connections = l::socket_inodes(proc_root, &who)
                .iter()
                .filter(|i| table.all_inodes.contains(i) && !table.listen_inodes.contains(i))
                .count() as u64;
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
                open_fds: l::open_fds_below(proc_root, &who, nofile.soft.value()).unwrap_or(0),
                connections,
                threads,
            })
        })
        .collect()
}
