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
    /// /proc at `proc` (a fixture tree in tests), the default cgroup root.
    pub fn at(proc: &Path) -> Self {
        Roots {
            proc: proc.to_path_buf(),
            ..Default::default()
        }
    }

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
    // access(2): the mount, the file's mode, the namespace's owner and our capabilities
    // decide, as they would for a write; nothing is opened.
    net.proc_sys_writable = Some(crate::fsio::writable(
        &ps.path("net.ipv4.ip_local_port_range"),
    ));
    net
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

/// /proc/net/sockstat: `sockets: used N` and `TCP: inuse N orphan N tw N alloc N mem N`;
/// followed by /proc/net/sockstat6, whose `TCP6: inuse N` (the IPv6 sockets, which the
/// `TCP:` line leaves out; its orphan, tw and alloc already count both) is added in.
pub fn parse_sockstat(text: &str) -> Usage {
    let mut u = Usage::default();
    let mut tcp6 = None;
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
            "TCP6:" => tcp6 = field("inuse"),
            _ => {}
        }
    }
    if let (Some(v4), Some(v6)) = (u.tcp_inuse, tcp6) {
        u.tcp_inuse = v4.checked_add(v6);
    }
    u
}

/// The socket counts of the network namespace of `who` ("self" or a PID): its
/// /proc/`who`/net/sockstat and sockstat6 (the kernel's counters: nothing is iterated).
pub fn sockstat(proc_root: &Path, who: &str) -> Usage {
    let dir = proc_root.join(who).join("net");
    let mut text = String::new();
    for f in ["sockstat", "sockstat6"] {
        if let Ok(b) = crate::fsio::read_bounded_io(&dir.join(f), 1 << 16) {
            text.push_str(&String::from_utf8_lossy(&b));
            text.push('\n');
        }
    }
    parse_sockstat(&text)
}

/// The TCP sockets of a network namespace the snapshot needs: its listeners.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TcpSockets {
    pub listen_ports: BTreeSet<u16>,
    pub listen_inodes: BTreeSet<u64>,
    /// Every TCP socket's inode, where the whole table was read (/proc/PID/net/tcp): then
    /// a process's sockets are told apart by it instead of by their protocol name.
    pub all_inodes: Option<BTreeSet<u64>>,
}

impl TcpSockets {
    fn from_listeners(listeners: &[super::sockdiag::DiagSocket]) -> Self {
        TcpSockets {
            listen_ports: listeners.iter().map(|s| s.port).collect(),
            listen_inodes: listeners.iter().map(|s| s.inode).collect(),
            ..Default::default()
        }
    }

    /// Listening ports inside `range` (the ephemeral ports connect() cannot take).
    pub fn bound_in(&self, range: PortRange) -> Vec<u16> {
        self.listen_ports
            .iter()
            .copied()
            .filter(|p| range.contains(*p))
            .collect()
    }
}

/// Read the TCP sockets of the network namespace of `who` ("self" or a PID): through
/// sock_diag, filtered by the kernel (its cost does not grow with the connections held), or
/// from /proc/`who`/net/tcp{,6} on a fixture tree and where netlink is refused (said in
/// `notes`).
///
/// Sockets bound to a port without listening are not read: /proc/net/tcp never showed them,
/// and sock_diag finds them (TCP_BOUND_INACTIVE, Linux ≥ 6.7) only by walking every socket
/// with a port (measured: 0.45 s with 200,000 sockets), which is what this avoids.
pub fn tcp_sockets(roots: &Roots, who: &str, notes: &mut Vec<String>) -> TcpSockets {
    if roots.proc != Path::new("/proc") {
        return tcp_table(&roots.proc, who);
    }
    let res = diag_in_netns_of(&roots.proc, who).and_then(|d| {
        let l = d.listeners()?;
        let t = TcpSockets::from_listeners(&l.sockets);
        if l.truncated {
            notes.push(format!(
                "more than {} TCP listeners: only the first were read",
                super::sockdiag::MAX_SOCKETS
            ));
        }
        Ok(t)
    });
    match res {
        Ok(t) => t,
        Err(e) => {
            notes.push(format!(
                "TCP listeners read from /proc/{who}/net/tcp and tcp6 (every socket of the namespace, slower on a busy host): sock_diag netlink was refused ({e})"
            ));
            tcp_table(&roots.proc, who)
        }
    }
}

/// A sock_diag socket in the network namespace of `who`: a short-lived thread joins that
/// namespace (setns applies to the calling thread only) and opens it there.
fn diag_in_netns_of(proc_root: &Path, who: &str) -> std::io::Result<super::sockdiag::Diag> {
    use super::sockdiag::Diag;
    let ours = netns_id(proc_root, "self");
    let theirs = netns_id(proc_root, who);
    if who == "self" || ours.is_none() || theirs.is_none() || ours == theirs {
        return Diag::open();
    }
    let nspath = proc_root.join(who).join("ns/net");
    std::thread::spawn(move || {
        let f = std::fs::File::open(&nspath)?;
        nix::sched::setns(f, nix::sched::CloneFlags::CLONE_NEWNET)?;
        Diag::open()
    })
    .join()
    .unwrap_or_else(|_| Err(std::io::Error::other("the namespace thread failed")))
}

/// TCP sockets from /proc/`who`/net/tcp{,6}: every socket of the namespace is read and
/// parsed as text, so its cost grows with the connections held.
pub fn tcp_table(proc_root: &Path, who: &str) -> TcpSockets {
    use procfs::FromReadSI;
    let mut t = TcpSockets {
        all_inodes: Some(BTreeSet::new()),
        ..Default::default()
    };
    let si = procfs::current_system_info();
    for f in ["tcp", "tcp6"] {
        let path = proc_root.join(who).join("net").join(f);
        let Ok(entries) = procfs::net::TcpNetEntries::from_file(&path, si) else {
            continue;
        };
        for e in entries.0 {
            if let Some(all) = t.all_inodes.as_mut() {
                all.insert(e.inode);
            }
            if e.state == procfs::net::TcpState::Listen {
                t.listen_ports.insert(e.local_address.port());
                t.listen_inodes.insert(e.inode);
            }
        }
    }
    t
}

/// Links read at most per process when its sockets are counted (one readlink each, and the
/// protocol name of each socket): a process with more fds has the rest estimated.
pub const MAX_FD_LINKS: usize = 1 << 15;

/// A process's open fds, from one pass over /proc/PID/fd (getdents): their numbers, and the
/// directory kept open to read their links when its sockets are counted.
pub struct FdTable {
    dir: rustix::fs::Dir,
    path: PathBuf,
    pub fds: Vec<u32>,
}

/// The TCP sockets a process holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HeldSockets {
    pub listening: u64,
    /// TCP sockets not listening (connections).
    pub connections: u64,
    /// Fds whose link was read; fewer than the process's fds when [`MAX_FD_LINKS`] cut the
    /// count (then `connections` is scaled up to all of them).
    pub read: u64,
    pub total: u64,
}

impl FdTable {
    /// Read /proc/`who`/fd once. For porttune itself its own directory handle is left out.
    pub fn read(proc_root: &Path, who: &str) -> Option<FdTable> {
        use rustix::fs::{Dir, Mode, OFlags, open};
        use std::os::fd::AsRawFd;
        let path = proc_root.join(who).join("fd");
        let fd = open(
            &path,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .ok()?;
        let own = (who == "self").then(|| fd.as_raw_fd());
        let mut dir = Dir::new(fd).ok()?;
        let mut fds = Vec::new();
        while let Some(e) = dir.read() {
            let Ok(e) = e else { break };
            if let Some(n) = e
                .file_name()
                .to_str()
                .ok()
                .and_then(|s| s.parse::<u32>().ok())
                && own.is_none_or(|o| i64::from(n) != i64::from(o))
            {
                fds.push(n);
            }
        }
        Some(FdTable { dir, path, fds })
    }

    /// Fds numbered below `limit` (the soft RLIMIT_NOFILE): only those take a slot the limit
    /// allows; an inherited fd numbered above it does not.
    pub fn count_below(&self, limit: Option<u64>) -> u64 {
        self.fds
            .iter()
            .filter(|&&fd| limit.is_none_or(|l| u64::from(fd) < l))
            .count() as u64
    }

    /// The socket inode behind fd `n`, if it is a socket.
    fn socket_inode(&self, n: u32) -> Option<u64> {
        let dir = self.dir.fd().ok()?;
        let link = rustix::fs::readlinkat(dir, n.to_string(), Vec::new()).ok()?;
        super::sockdiag::socket_inode(link.to_str().ok()?)
    }

    /// Whether socket fd `n` is TCP: its protocol name ("TCP", "TCPv6"), from the
    /// `system.sockprotoname` attribute of the socket the link leads to.
    fn is_tcp(&self, n: u32) -> bool {
        let mut buf = [0u8; 32];
        rustix::fs::getxattr(
            self.path.join(n.to_string()),
            "system.sockprotoname",
            &mut buf,
        )
        .is_ok_and(|len| {
            matches!(
                &buf[..len.min(buf.len())],
                b"TCP\0" | b"TCPv6\0" | b"TCP" | b"TCPv6"
            )
        })
    }

    /// Count the TCP sockets held: readlink per fd, at most [`MAX_FD_LINKS`]; a socket
    /// among `t`'s listeners is listening, another TCP socket is a connection.
    pub fn tcp_sockets(&self, t: &TcpSockets) -> HeldSockets {
        let mut h = HeldSockets {
            total: self.fds.len() as u64,
            ..Default::default()
        };
        for &n in self.fds.iter().take(MAX_FD_LINKS) {
            h.read += 1;
            let Some(inode) = self.socket_inode(n) else {
                continue;
            };
            if t.listen_inodes.contains(&inode) {
                h.listening += 1;
            } else if match &t.all_inodes {
                Some(all) => all.contains(&inode),
                None => self.is_tcp(n),
            } {
                h.connections += 1;
            }
        }
        if h.read < h.total && h.read > 0 {
            h.connections = (u128::from(h.connections) * u128::from(h.total) / u128::from(h.read))
                .try_into()
                .unwrap_or(u64::MAX);
        }
        h
    }
}

/// Count a process's open fds. For porttune itself the directory handle used to count is
/// not counted.
pub fn open_fds(proc_root: &Path, who: &str) -> Option<u64> {
    open_fds_below(proc_root, who, None)
}

/// Count open fds numbered below `limit` (the soft RLIMIT_NOFILE).
pub fn open_fds_below(proc_root: &Path, who: &str, limit: Option<u64>) -> Option<u64> {
    FdTable::read(proc_root, who).map(|t| t.count_below(limit))
}

/// When the process at `base` started, in seconds since the epoch: its starttime (clock
/// ticks after boot, /proc/PID/stat) after the boot time (/proc/stat btime).
fn started(proc_root: &Path, base: &Path) -> Option<u64> {
    use procfs::FromRead;
    let stat = procfs::process::Stat::from_file(base.join("stat")).ok()?;
    let btime = std::fs::read_to_string(proc_root.join("stat"))
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix("btime "))?
        .trim()
        .parse::<u64>()
        .ok()?;
    let tps = procfs::ticks_per_second().max(1);
    btime.checked_add(stat.starttime / tps)
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
/// `fds`: its fd table (read once by the caller), `held`: the TCP sockets among them.
pub fn process(
    roots: &Roots,
    pid: Option<u32>,
    fds: Option<&FdTable>,
    held: &HeldSockets,
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
        started: started(&roots.proc, &base).map(super::logtime::iso_utc),
        nofile,
        open_fds: fds.map_or(0, |f| f.count_below(nofile.soft.value())),
        listening_sockets: held.listening,
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
        // sockstat6 after it: its TCP6 sockets are in use too; its other lines change nothing.
        let both = format!("{t}TCP6: inuse 5\nUDP6: inuse 2\nRAW6: inuse 1\n");
        let u = parse_sockstat(&both);
        assert_eq!(u.tcp_inuse, Some(12));
        assert_eq!((u.tcp_time_wait, u.sockets_used), (Some(12), Some(291)));
        let huge = format!("TCP: inuse {} tw 0\nTCP6: inuse 1\n", u64::MAX);
        assert_eq!(parse_sockstat(&huge).tcp_inuse, None);
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
