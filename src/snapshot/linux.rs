//! Linux probes: /proc/sys (through [`ProcSys`]), /proc/PID, /proc/net, cgroup v2.
//!
//! Every reader takes its root so it can run on fixture trees. Values absent on this kernel
//! stay `None`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use super::procsys::ProcSys;
pub use super::target::{netns_id, socket_inodes};
use super::*;
use crate::error::{Error, Result};

/// Where the probe reads from.
#[derive(Debug, Clone)]
pub struct Roots {
    pub proc: PathBuf,
    pub cgroup: PathBuf,
}

impl Default for Roots {
    fn default() -> Self {
        Roots {
            proc: PathBuf::from("/proc"),
            cgroup: PathBuf::from("/sys/fs/cgroup"),
        }
    }
}

impl Roots {
    pub fn procsys(&self) -> ProcSys {
        ProcSys::new(self.proc.join("sys"))
    }
}

pub fn platform(ps: &ProcSys, roots: &Roots) -> Platform {
    Platform {
        os: Os::Linux,
        kernel: ps.get("kernel.osrelease"),
        hostname: ps.get("kernel.hostname"),
        container: detect_container(&roots.proc),
    }
}

/// A container, by the usual marks: /.dockerenv, /run/.containerenv, or PID 1's cgroup.
pub fn detect_container(proc_root: &Path) -> Option<String> {
    if proc_root == Path::new("/proc") {
        if Path::new("/.dockerenv").exists() {
            return Some("docker (/.dockerenv)".into());
        }
        if Path::new("/run/.containerenv").exists() {
            return Some("podman (/run/.containerenv)".into());
        }
    }
    let cg = std::fs::read_to_string(proc_root.join("1/cgroup")).unwrap_or_default();
    for mark in ["kubepods", "docker", "containerd", "lxc", "libpod"] {
        if cg.contains(mark) {
            return Some(format!("{mark} (PID 1 cgroup)"));
        }
    }
    None
}

/// Read every known setting whose key starts with `prefix` into `snap`, through the
/// settings table's parsers (the what-if records values the same way).
fn read_settings(ps: &ProcSys, prefix: &str, snap: &mut Snapshot) {
    for s in crate::settings::linux::SETTINGS
        .iter()
        .filter(|s| s.key.starts_with(prefix) && s.alias_of.is_none())
    {
        if let Some(v) = ps.get(s.key) {
            (s.set)(snap, &v);
        }
    }
}

/// The net.* settings of the network namespace the reading thread is in.
pub fn net(ps: &ProcSys) -> Net {
    let mut snap = Snapshot::default();
    read_settings(ps, "net.", &mut snap);
    let mut net = snap.net;
    if let Some(c) = net.conntrack.as_mut() {
        c.count = ps.get_u64("net.netfilter.nf_conntrack_count");
        c.active = c.count.unwrap_or(0) > 0;
    }
    net.proc_sys_writable = Some(writable(&ps.path("net.ipv4.ip_local_port_range")));
    net
}

/// Whether a /proc/sys file can be opened for writing (without writing anything).
fn writable(path: &Path) -> bool {
    std::fs::OpenOptions::new().write(true).open(path).is_ok()
}

/// Read the net.* settings as seen from the network namespace of `pid`. /proc/sys/net shows
/// the reader's namespace, so a short-lived thread joins the target's namespace (setns
/// applies to the calling thread only) and reads there.
pub fn net_of_pid(roots: &Roots, pid: u32, notes: &mut Vec<String>) -> Net {
    let ps = roots.procsys();
    let ours = netns_id(&roots.proc, "self");
    let theirs = netns_id(&roots.proc, &pid.to_string());
    if ours.is_none() || theirs.is_none() || ours == theirs {
        return net(&ps);
    }
    let nspath = roots.proc.join(format!("{pid}/ns/net"));
    let ps2 = ps.clone();
    let res = std::thread::spawn(move || -> std::result::Result<Net, String> {
        let f = std::fs::File::open(&nspath).map_err(|e| format!("{}: {e}", nspath.display()))?;
        nix::sched::setns(f, nix::sched::CloneFlags::CLONE_NEWNET)
            .map_err(|e| format!("setns into the network namespace of the process: {e}"))?;
        Ok(net(&ps2))
    })
    .join();
    match res {
        Ok(Ok(n)) => n,
        Ok(Err(e)) => {
            notes.push(format!(
                "net.* settings are porttune's own, not PID {pid}'s: {e} (run as root to read another namespace)"
            ));
            net(&ps)
        }
        Err(_) => net(&ps),
    }
}

pub fn fs(ps: &ProcSys) -> Fs {
    let mut snap = Snapshot::default();
    read_settings(ps, "fs.", &mut snap);
    Fs {
        file_nr_allocated: ps.get_vec("fs.file-nr").and_then(|v| v.first().copied()),
        ..snap.fs
    }
}

pub fn memory(ps: &ProcSys, roots: &Roots) -> Memory {
    let (total, avail) = meminfo(&roots.proc.join("meminfo"));
    let mut snap = Snapshot::default();
    read_settings(ps, "kernel.", &mut snap);
    Memory {
        mem_total_kb: total,
        mem_available_kb: avail,
        ..snap.memory
    }
}

fn meminfo(path: &Path) -> (Option<u64>, Option<u64>) {
    use procfs::FromRead;
    match procfs::Meminfo::from_file(path) {
        Ok(m) => (Some(m.mem_total / 1024), m.mem_available.map(|v| v / 1024)),
        Err(_) => (None, None),
    }
}

/// /proc/net/sockstat: `sockets: used N` and `TCP: inuse N orphan N tw N alloc N mem N`.
pub fn parse_sockstat(text: &str) -> Usage {
    let mut u = Usage::default();
    for line in text.lines() {
        let mut it = line.split_whitespace();
        let head = it.next().unwrap_or("");
        let rest: Vec<&str> = it.collect();
        let field = |name: &str| -> Option<u64> {
            rest.chunks(2)
                .find(|c| c.len() == 2 && c[0] == name)
                .and_then(|c| c[1].parse().ok())
        };
        match head {
            "sockets:" => u.sockets_used = field("used"),
            "TCP:" => {
                u.tcp_inuse = field("inuse");
                u.tcp_orphan = field("orphan");
                u.tcp_time_wait = field("tw");
                u.tcp_alloc = field("alloc");
            }
            _ => {}
        }
    }
    u
}

/// TCP sockets of a network namespace (via /proc/PID/net/tcp{,6}): listening inodes and
/// listening ports.
pub struct TcpTable {
    pub listen_ports: BTreeSet<u16>,
    pub listen_inodes: BTreeSet<u64>,
    pub all_inodes: BTreeSet<u64>,
}

pub fn tcp_table(proc_root: &Path, who: &str) -> TcpTable {
    use procfs::FromReadSI;
    let mut t = TcpTable {
        listen_ports: BTreeSet::new(),
        listen_inodes: BTreeSet::new(),
        all_inodes: BTreeSet::new(),
    };
    let si = procfs::current_system_info();
    for f in ["tcp", "tcp6"] {
        let path = proc_root.join(who).join("net").join(f);
        let Ok(entries) = procfs::net::TcpNetEntries::from_file(&path, si) else {
            continue;
        };
        for e in entries.0 {
            t.all_inodes.insert(e.inode);
            if e.state == procfs::net::TcpState::Listen {
                t.listen_ports.insert(e.local_address.port());
                t.listen_inodes.insert(e.inode);
            }
        }
    }
    t
}

/// Count a process's open fds. For porttune itself the directory handle used to count is
/// not counted.
pub fn open_fds(proc_root: &Path, who: &str) -> Option<u64> {
    open_fds_below(proc_root, who, None)
}

/// Count open fds numbered below `limit` (the soft RLIMIT_NOFILE): only those take a slot
/// the limit allows; an inherited fd numbered above it does not.
pub fn open_fds_below(proc_root: &Path, who: &str, limit: Option<u64>) -> Option<u64> {
    let rd = std::fs::read_dir(proc_root.join(who).join("fd")).ok()?;
    let n = rd
        .flatten()
        .filter(|e| {
            match (
                limit,
                e.file_name().to_str().and_then(|s| s.parse::<u64>().ok()),
            ) {
                (Some(l), Some(fd)) => fd < l,
                _ => true,
            }
        })
        .count() as u64;
    Some(if who == "self" {
        n.saturating_sub(1)
    } else {
        n
    })
}

pub(crate) fn limit_of(l: &procfs::process::Limit) -> Limit {
    let conv = |v: &procfs::process::LimitValue| match v {
        procfs::process::LimitValue::Unlimited => Rlim::Unlimited,
        procfs::process::LimitValue::Value(n) => Rlim::Value(*n),
    };
    Limit {
        soft: conv(&l.soft_limit),
        hard: conv(&l.hard_limit),
    }
}

/// Read `/proc/PID/limits` (NOFILE and NPROC).
pub fn limits(proc_root: &Path, who: &str) -> Result<(Limit, Limit)> {
    use procfs::FromRead;
    let path = proc_root.join(who).join("limits");
    let l = procfs::process::Limits::from_file(&path)
        .map_err(|e| Error::Internal(format!("cannot read {}: {e}", path.display())))?;
    Ok((limit_of(&l.max_open_files), limit_of(&l.max_processes)))
}

const CAP_NET_ADMIN: u32 = 12;
const CAP_SYS_ADMIN: u32 = 21;
const CAP_SYS_RESOURCE: u32 = 24;

pub fn capabilities(capeff: u64) -> Capabilities {
    let has = |bit: u32| capeff & (1u64 << bit) != 0;
    Capabilities {
        sys_resource: has(CAP_SYS_RESOURCE),
        sys_admin: has(CAP_SYS_ADMIN),
        net_admin: has(CAP_NET_ADMIN),
    }
}

/// cgroup v2: the process's cgroup path and its pids/memory limits.
pub fn cgroup(proc_root: &Path, cgroup_root: &Path, who: &str) -> Cgroup {
    let text = std::fs::read_to_string(proc_root.join(who).join("cgroup")).unwrap_or_default();
    let Some(path) = text
        .lines()
        .find_map(|l| l.strip_prefix("0::"))
        .map(str::to_string)
    else {
        return Cgroup::default();
    };
    let dir = cgroup_root.join(path.trim_start_matches('/'));
    let num = |f: &str| -> Option<u64> {
        std::fs::read_to_string(dir.join(f))
            .ok()
            .and_then(|s| s.trim().parse().ok())
    };
    Cgroup {
        path: Some(path.clone()),
        pids_max: num("pids.max"),
        pids_current: num("pids.current"),
        memory_max: num("memory.max"),
        memory_current: num("memory.current"),
    }
}

/// The process part of the snapshot, and the raw material for runtime detection.
/// `inodes`: the socket inodes the process holds (read once by the caller).
pub fn process(
    roots: &Roots,
    pid: Option<u32>,
    table: &TcpTable,
    inodes: &[u64],
) -> Result<Process> {
    use procfs::FromRead;
    let who = pid.map(|p| p.to_string()).unwrap_or_else(|| "self".into());
    let base = roots.proc.join(&who);
    if !base.exists() {
        return Err(Error::Usage(format!(
            "no process {who}: {} does not exist",
            base.display()
        )));
    }
    let (nofile, nproc) = limits(&roots.proc, &who)?;
    let status = procfs::process::Status::from_file(base.join("status")).ok();
    let real_pid = match pid {
        Some(p) => p,
        None => status
            .as_ref()
            .map(|s| s.pid as u32)
            .unwrap_or_else(std::process::id),
    };
    let listening = inodes
        .iter()
        .filter(|i| table.listen_inodes.contains(i))
        .count() as u64;
    let cmdline = std::fs::read(base.join("cmdline"))
        .map(|b| {
            b.split(|c| *c == 0)
                .filter(|s| !s.is_empty())
                .map(|s| String::from_utf8_lossy(s).into_owned())
                .collect()
        })
        .unwrap_or_default();
    Ok(Process {
        pid: Some(real_pid),
        is_self: pid.is_none(),
        exe: std::fs::read_link(base.join("exe"))
            .ok()
            .map(|p| p.to_string_lossy().into_owned()),
        comm: super::target::read_comm(&base),
        unit: None,
        cmdline,
        nofile,
        // Our own /proc/PID/fd handle is not counted, whichever way porttune was named.
        open_fds: open_fds_below(
            &roots.proc,
            if pid == Some(std::process::id()) {
                "self"
            } else {
                &who
            },
            nofile.soft.value(),
        )
        .unwrap_or(0),
        listening_sockets: listening,
        nproc: Some(nproc),
        threads: status.as_ref().map(|s| s.threads),
        caps: status
            .as_ref()
            .map(|s| capabilities(s.capeff))
            .unwrap_or_default(),
        cgroup: cgroup(&roots.proc, &roots.cgroup, &who),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sockstat_parses() {
        let t =
            "sockets: used 291\nTCP: inuse 7 orphan 1 tw 12 alloc 9 mem 2\nUDP: inuse 3 mem 1\n";
        let u = parse_sockstat(t);
        assert_eq!(u.sockets_used, Some(291));
        assert_eq!(u.tcp_inuse, Some(7));
        assert_eq!(u.tcp_orphan, Some(1));
        assert_eq!(u.tcp_time_wait, Some(12));
        assert_eq!(u.tcp_alloc, Some(9));
        assert_eq!(parse_sockstat("garbage\n"), Usage::default());
    }

    #[test]
    fn fds_above_the_soft_limit_take_no_slot() {
        let d = tempfile::tempdir().unwrap();
        let fd = d.path().join("42/fd");
        std::fs::create_dir_all(&fd).unwrap();
        for n in ["0", "1", "2", "251", "5000"] {
            std::fs::write(fd.join(n), "").unwrap();
        }
        assert_eq!(open_fds(d.path(), "42"), Some(5));
        assert_eq!(open_fds_below(d.path(), "42", Some(1024)), Some(4));
        assert_eq!(open_fds_below(d.path(), "42", Some(200)), Some(3));
    }

    #[test]
    fn caps_bits() {
        let c = capabilities((1 << 21) | (1 << 12));
        assert!(c.sys_admin && c.net_admin && !c.sys_resource);
        assert!(capabilities(u64::MAX).sys_resource);
    }

    #[test]
    fn net_on_fixture_tree() {
        let d = tempfile::tempdir().unwrap();
        let w = |k: &str, v: &str| {
            let p = d.path().join(k.replace('.', "/"));
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, v).unwrap();
        };
        w("net.ipv4.ip_local_port_range", "40000\t40999\n");
        w("net.ipv4.ip_local_reserved_ports", "40001-40003\n");
        w("net.core.somaxconn", "4096\n");
        w("net.netfilter.nf_conntrack_max", "262144\n");
        w("net.netfilter.nf_conntrack_count", "12\n");
        let n = net(&ProcSys::new(d.path()));
        assert_eq!(
            n.ip_local_port_range,
            Some(PortRange {
                lo: 40000,
                hi: 40999
            })
        );
        assert_eq!(n.ip_local_reserved_ports[0].len(), 3);
        assert_eq!(n.somaxconn, Some(4096));
        assert_eq!(n.tcp_tw_reuse_delay_ms, None);
        let ct = n.conntrack.unwrap();
        assert!(ct.active);
        assert_eq!(ct.count, Some(12));
    }
}
