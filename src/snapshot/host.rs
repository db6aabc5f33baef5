//! The live host as `apply` and the flood read it while they work: another process's rlimits
//! and owner, this process's capabilities and network namespace, and the counters the flood
//! watches (sockstat, TcpExt, slab, a server's RSS and connections). Reads are bounded
//! (`fsio`); every parser takes bytes or text and is tested on literal input. The snapshot's
//! probe (`linux`, `macos`) reads the rest.

use std::io;
use std::path::Path;

use crate::snapshot::Limit;

/// Largest /proc text read here (they are a few KiB).
const MAX_PROC: u64 = crate::fsio::MAX_INPUT;

/// Read a /proc (or /sys) file whole, bounded.
pub fn read_proc(path: &Path) -> io::Result<Vec<u8>> {
    crate::fsio::read_bounded_io(path, MAX_PROC)
}

/// A `TcpExt:` counter from /proc/net/netstat text (header line, value line).
pub fn parse_tcpext(text: &str, name: &str) -> Option<u64> {
    let lines: Vec<&str> = text.lines().collect();
    for pair in lines.chunks(2) {
        if pair.len() == 2 && pair[0].starts_with("TcpExt:") && pair[1].starts_with("TcpExt:") {
            let keys = pair[0].split_whitespace().skip(1);
            let vals = pair[1].split_whitespace().skip(1);
            for (k, v) in keys.zip(vals) {
                if k == name {
                    return v.parse().ok();
                }
            }
        }
    }
    None
}

/// A `Key: N kB` value from /proc/meminfo or /proc/PID/status text.
pub fn parse_kb(text: &str, key: &str) -> Option<u64> {
    text.lines().find_map(|l| {
        let rest = l.strip_prefix(key)?.strip_prefix(':')?;
        rest.split_whitespace().next()?.parse().ok()
    })
}

pub use super::sockdiag::socket_inode;

/// NOFILE and NPROC from /proc/PID/limits bytes (procfs's parser).
#[cfg(target_os = "linux")]
pub fn parse_limits(bytes: &[u8]) -> Option<(Limit, Limit)> {
    use procfs::FromRead;
    let l = procfs::process::Limits::from_read(bytes).ok()?;
    use super::linux::limit_of;
    Some((limit_of(&l.max_open_files), limit_of(&l.max_processes)))
}

/// /proc/PID/status bytes (procfs's parser).
#[cfg(target_os = "linux")]
pub fn parse_status(bytes: &[u8]) -> Option<procfs::process::Status> {
    use procfs::FromRead;
    procfs::process::Status::from_read(bytes).ok()
}

/// The rlimits (NOFILE, NPROC) of process `pid` now.
#[cfg(target_os = "linux")]
pub fn rlimits(pid: u32) -> io::Result<(Limit, Limit)> {
    let bytes = read_proc(Path::new(&format!("/proc/{pid}/limits")))?;
    parse_limits(&bytes).ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            "no such row in /proc/PID/limits",
        )
    })
}

/// Elsewhere another process's rlimits are not read (there is no /proc).
#[cfg(not(target_os = "linux"))]
pub fn rlimits(_pid: u32) -> io::Result<(Limit, Limit)> {
    Err(io::Error::from_raw_os_error(nix::libc::ENOENT))
}

/// An rlimit porttune reads and changes on running processes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Resource {
    Nofile,
    Nproc,
}

impl Resource {
    pub fn name(self) -> &'static str {
        match self {
            Resource::Nofile => "nofile",
            Resource::Nproc => "nproc",
        }
    }
}

/// The current `res` limit of process `pid`.
pub fn rlimit(pid: u32, res: Resource) -> io::Result<Limit> {
    let (nofile, nproc) = rlimits(pid)?;
    Ok(match res {
        Resource::Nofile => nofile,
        Resource::Nproc => nproc,
    })
}

pub const CAP_NET_ADMIN: u32 = 12;
pub const CAP_SYS_ADMIN: u32 = 21;
pub const CAP_SYS_RESOURCE: u32 = 24;

/// Effective capability bit `n` of this process (CAP_SYS_RESOURCE = 24, CAP_SYS_ADMIN = 21,
/// CAP_NET_ADMIN = 12).
pub fn has_cap(n: u32) -> bool {
    n < 64 && capeff() & (1u64 << n) != 0
}

/// This process's effective capability set (CapEff); 0 when it cannot be read.
pub fn capeff() -> u64 {
    #[cfg(target_os = "linux")]
    {
        read_proc(Path::new("/proc/self/status"))
            .ok()
            .and_then(|b| parse_status(&b))
            .map_or(0, |s| s.capeff)
    }
    #[cfg(not(target_os = "linux"))]
    {
        0
    }
}

/// The real uid owning process `pid`.
pub fn owner(pid: u32) -> Option<u32> {
    #[cfg(target_os = "linux")]
    {
        read_proc(Path::new(&format!("/proc/{pid}/status")))
            .ok()
            .and_then(|b| parse_status(&b))
            .map(|s| s.ruid)
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = pid;
        None
    }
}

/// This process's network namespace (`net:[N]`), where there are namespaces.
pub fn netns() -> Option<String> {
    std::fs::read_link("/proc/self/ns/net")
        .ok()
        .map(|p| p.display().to_string())
}

/// One TCP socket a process holds, as macOS's proc_pidinfo shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TcpSock {
    /// The kernel's socket address (`soi_so`): the same socket shared by a forked master and
    /// its workers is counted once.
    pub id: u64,
    pub local_port: u16,
    pub listening: bool,
}

/// Connections the server holds: TCP sockets on local `port`, not listening, held by any of
/// `pids` (counted once); `sockets` lists a process's TCP sockets (None: not readable). None
/// when no process could be read.
pub fn count_held(
    pids: &[u32],
    port: u16,
    sockets: impl Fn(u32) -> Option<Vec<TcpSock>>,
) -> Option<u64> {
    let mut seen = std::collections::HashSet::new();
    let mut read_any = false;
    for &pid in pids {
        let Some(socks) = sockets(pid) else {
            continue;
        };
        read_any = true;
        seen.extend(
            socks
                .iter()
                .filter(|s| !s.listening && s.local_port == port)
                .map(|s| s.id),
        );
    }
    read_any.then_some(seen.len() as u64)
}

#[cfg(target_os = "linux")]
pub use live::*;
#[cfg(not(target_os = "linux"))]
pub use other::*;

/// Elsewhere (macOS): none of these counters is read; the flood's report then says what it
/// could not observe (queue depth, ListenOverflows, kernel socket memory, the target's owner).
#[cfg(not(target_os = "linux"))]
mod other {
    pub fn sockstat() -> crate::snapshot::Usage {
        crate::snapshot::Usage::default()
    }
    pub fn tcpext(_name: &str) -> Option<u64> {
        None
    }
    pub fn slab_kb() -> Option<u64> {
        None
    }
    pub fn rss_kb(_pid: i32) -> Option<u64> {
        None
    }
    pub fn pss_kb(_pid: i32) -> Option<u64> {
        None
    }
    pub fn listen_overflows() -> Option<u64> {
        None
    }
    pub fn socket_owner(_inode: u64) -> Option<(u32, String)> {
        None
    }
    pub fn socket_holders(_inode: u64) -> Vec<u32> {
        Vec::new()
    }
    /// Connections the server holds, through proc_pidinfo (macOS).
    pub fn server_held(pids: &[u32], port: u16) -> Option<u64> {
        #[cfg(target_os = "macos")]
        {
            super::count_held(pids, port, tcp_sockets)
        }
        #[cfg(not(target_os = "macos"))]
        {
            let _ = (pids, port);
            None
        }
    }
    pub fn tcp_abort_on_overflow() -> Option<u32> {
        None
    }
    pub fn listen_inode(_port: u16) -> Option<u64> {
        None
    }

    /// The TCP sockets `pid` holds, through proc_pidinfo (`PROC_PIDLISTFDS`,
    /// `PROC_PIDFDSOCKETINFO`); None when the process cannot be read.
    #[cfg(target_os = "macos")]
    pub fn tcp_sockets(pid: u32) -> Option<Vec<super::TcpSock>> {
        use libproc::libproc::bsd_info::BSDInfo;
        use libproc::libproc::file_info::{ListFDs, ProcFDType, pidfdinfo};
        use libproc::libproc::net_info::{SocketFDInfo, SocketInfoKind, TcpSIState};
        use libproc::libproc::proc_pid::{listpidinfo, pidinfo};

        let ipid = i32::try_from(pid).ok()?;
        let info = pidinfo::<BSDInfo>(ipid, 0).ok()?;
        let fds = listpidinfo::<ListFDs>(ipid, info.pbi_nfiles as usize).ok()?;
        let mut out = Vec::new();
        for fd in &fds {
            if !matches!(ProcFDType::from(fd.proc_fdtype), ProcFDType::Socket) {
                continue;
            }
            let Ok(s) = pidfdinfo::<SocketFDInfo>(ipid, fd.proc_fd) else {
                continue;
            };
            if !matches!(SocketInfoKind::from(s.psi.soi_kind), SocketInfoKind::Tcp) {
                continue;
            }
            // SAFETY: soi_kind says the union holds TCP socket information.
            let tcp = unsafe { s.psi.soi_proto.pri_tcp };
            out.push(super::TcpSock {
                id: s.psi.soi_so,
                local_port: u16::from_be(tcp.tcpsi_ini.insi_lport as u16),
                listening: matches!(TcpSIState::from(tcp.tcpsi_state), TcpSIState::Listen),
            });
        }
        Some(out)
    }

    /// The processes with a TCP listener on `port` (first: the owner with its name), through
    /// proc_pidinfo: every visible process's TCP sockets.
    #[cfg(target_os = "macos")]
    pub fn listen_owner(port: u16) -> (Option<(u32, String)>, Vec<u32>) {
        use libproc::libproc::proc_pid::name;
        use libproc::processes::{ProcFilter, pids_by_type};

        let mut holders: Vec<u32> = pids_by_type(ProcFilter::All)
            .unwrap_or_default()
            .into_iter()
            .filter(|&pid| {
                tcp_sockets(pid)
                    .is_some_and(|s| s.iter().any(|s| s.listening && s.local_port == port))
            })
            .collect();
        holders.sort_unstable();
        let owner = holders
            .first()
            .map(|&p| (p, name(p as i32).unwrap_or_default()));
        (owner, holders)
    }

    #[cfg(not(target_os = "macos"))]
    pub fn listen_owner(_port: u16) -> (Option<(u32, String)>, Vec<u32>) {
        (None, Vec::new())
    }
}

#[cfg(target_os = "linux")]
mod live {
    use super::*;
    use std::fs;

    fn text(path: &str) -> Option<String> {
        read_proc(Path::new(path))
            .ok()
            .map(|b| String::from_utf8_lossy(&b).into_owned())
    }

    /// /proc/net/sockstat and sockstat6 of the current network namespace (the snapshot's
    /// reader).
    pub fn sockstat() -> crate::snapshot::Usage {
        crate::snapshot::linux::sockstat(Path::new("/proc"), "self")
    }

    pub fn tcpext(name: &str) -> Option<u64> {
        text("/proc/net/netstat").and_then(|t| parse_tcpext(&t, name))
    }

    /// Kernel slab memory now, kB (/proc/meminfo `Slab`).
    pub fn slab_kb() -> Option<u64> {
        text("/proc/meminfo").and_then(|t| parse_kb(&t, "Slab"))
    }

    /// Resident memory of a process, kB (/proc/PID/status `VmRSS`).
    pub fn rss_kb(pid: i32) -> Option<u64> {
        text(&format!("/proc/{pid}/status")).and_then(|t| parse_kb(&t, "VmRSS"))
    }

    /// Proportional set size of a process, kB (/proc/PID/smaps_rollup `Pss`, Linux ≥ 4.14).
    pub fn pss_kb(pid: i32) -> Option<u64> {
        text(&format!("/proc/{pid}/smaps_rollup")).and_then(|t| parse_kb(&t, "Pss"))
    }

    pub fn listen_overflows() -> Option<u64> {
        tcpext("ListenOverflows")
    }

    /// Whether process `pid` has the socket `inode` open (its /proc/PID/fd links).
    fn holds(pid: u32, want: u64) -> bool {
        fs::read_dir(format!("/proc/{pid}/fd")).is_ok_and(|fds| {
            fds.flatten().any(|fd| {
                fs::read_link(fd.path())
                    .is_ok_and(|l| l.to_str().and_then(socket_inode) == Some(want))
            })
        })
    }

    /// Every process but this one, by pid.
    fn other_pids() -> Vec<u32> {
        let me = std::process::id();
        let Ok(rd) = fs::read_dir("/proc") else {
            return Vec::new();
        };
        rd.flatten()
            .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
            .filter(|&pid| pid != me)
            .collect()
    }

    /// The process owning socket `inode` (scans /proc/PID/fd links), with its command name.
    pub fn socket_owner(inode: u64) -> Option<(u32, String)> {
        let pid = other_pids().into_iter().find(|&pid| holds(pid, inode))?;
        let comm = text(&format!("/proc/{pid}/comm"))
            .map(|s| s.trim().to_string())
            .unwrap_or_default();
        Some((pid, comm))
    }

    /// Every process holding the socket `inode` (a server's master and its workers).
    pub fn socket_holders(inode: u64) -> Vec<u32> {
        let mut out: Vec<u32> = other_pids()
            .into_iter()
            .filter(|&pid| holds(pid, inode))
            .collect();
        out.sort_unstable();
        out
    }

    /// TCP sockets on local `port` that are not listening: from sock_diag (only those are
    /// sent), else from /proc/net/tcp{,6} where netlink is refused.
    fn connections_on(port: u16) -> std::collections::HashSet<u64> {
        let diag = crate::snapshot::sockdiag::Diag::open().and_then(|d| d.connections_on(port));
        if let Ok(d) = diag {
            return d.sockets.iter().map(|s| s.inode).collect();
        }
        let v4 = procfs::net::tcp().unwrap_or_default();
        let v6 = procfs::net::tcp6().unwrap_or_default();
        v4.into_iter()
            .chain(v6)
            .filter(|e| e.state != procfs::net::TcpState::Listen && e.local_address.port() == port)
            .map(|e| e.inode)
            .collect()
    }

    /// Connections the server holds: TCP sockets on local `port`, not listening, owned by
    /// any of `pids` (counted once). None when no process could be read.
    pub fn server_held(pids: &[u32], port: u16) -> Option<u64> {
        let conns = connections_on(port);
        let mut seen = std::collections::HashSet::new();
        let mut read_any = false;
        for pid in pids {
            let Ok(fds) = fs::read_dir(format!("/proc/{pid}/fd")) else {
                continue;
            };
            read_any = true;
            for fd in fds.flatten() {
                let Ok(l) = fs::read_link(fd.path()) else {
                    continue;
                };
                if let Some(i) = l
                    .to_str()
                    .and_then(socket_inode)
                    .filter(|i| conns.contains(i))
                {
                    seen.insert(i);
                }
            }
        }
        read_any.then_some(seen.len() as u64)
    }

    /// On Linux the owner is found by the listener's inode; nothing more to look for.
    pub fn listen_owner(_port: u16) -> (Option<(u32, String)>, Vec<u32>) {
        (None, Vec::new())
    }

    /// net.ipv4.tcp_abort_on_overflow of this network namespace.
    pub fn tcp_abort_on_overflow() -> Option<u32> {
        text("/proc/sys/net/ipv4/tcp_abort_on_overflow").and_then(|s| s.trim().parse().ok())
    }

    /// Inode of the TCP listener on `port` from /proc/net/tcp and tcp6 (where sock_diag
    /// gave none).
    pub fn listen_inode(port: u16) -> Option<u64> {
        let v4 = procfs::net::tcp().unwrap_or_default();
        let v6 = procfs::net::tcp6().unwrap_or_default();
        v4.into_iter()
            .chain(v6)
            .find(|e| e.state == procfs::net::TcpState::Listen && e.local_address.port() == port)
            .map(|e| e.inode)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn held_connections_counted_once_across_a_master_and_its_workers() {
        let sock = |id, local_port, listening| TcpSock {
            id,
            local_port,
            listening,
        };
        // A master (10) and a worker (11) share the listener and one connection; the worker
        // holds two more; a connection elsewhere and an outbound one do not count.
        let table = |pid: u32| match pid {
            10 => Some(vec![sock(1, 8080, true), sock(2, 8080, false)]),
            11 => Some(vec![
                sock(1, 8080, true),
                sock(2, 8080, false),
                sock(3, 8080, false),
                sock(4, 8080, false),
                sock(5, 5432, false),
            ]),
            _ => None,
        };
        assert_eq!(count_held(&[10, 11], 8080, table), Some(3));
        assert_eq!(count_held(&[10, 11, 99], 5432, table), Some(1));
        // Nothing readable: unknown, not zero.
        assert_eq!(count_held(&[99], 8080, table), None);
        assert_eq!(count_held(&[], 8080, table), None);
    }

    #[cfg(target_os = "linux")]
    use crate::snapshot::Rlim;

    #[test]
    fn tcpext() {
        let t = "TcpExt: SyncookiesSent ListenOverflows ListenDrops\nTcpExt: 0 17 18\n\
                 IpExt: InNoRoutes\nIpExt: 0\n";
        assert_eq!(parse_tcpext(t, "ListenOverflows"), Some(17));
        assert_eq!(parse_tcpext(t, "ListenDrops"), Some(18));
        assert_eq!(parse_tcpext(t, "Nope"), None);
    }

    #[test]
    fn kb() {
        let t = "MemTotal:       24000000 kB\nSlab:             123456 kB\n";
        assert_eq!(parse_kb(t, "Slab"), Some(123456));
        assert_eq!(parse_kb(t, "Sla"), None);
        assert_eq!(parse_kb(t, "VmRSS"), None);
    }

    #[test]
    fn inode_of_a_link() {
        assert_eq!(socket_inode("socket:[12345]"), Some(12345));
        assert_eq!(socket_inode("pipe:[12345]"), None);
        assert_eq!(socket_inode("socket:[x]"), None);
        assert_eq!(socket_inode("/dev/null"), None);
    }

    #[cfg(target_os = "linux")]
    const LIMITS: &str = "Limit                     Soft Limit           Hard Limit           Units     \n\
Max cpu time              unlimited            unlimited            seconds   \n\
Max file size             unlimited            unlimited            bytes     \n\
Max data size             unlimited            unlimited            bytes     \n\
Max stack size            8388608              unlimited            bytes     \n\
Max core file size        0                    unlimited            bytes     \n\
Max resident set          unlimited            unlimited            bytes     \n\
Max processes             96365                96365                processes \n\
Max open files            1024                 unlimited            files     \n\
Max locked memory         8388608              8388608              bytes     \n\
Max address space         unlimited            unlimited            bytes     \n\
Max file locks            unlimited            unlimited            locks     \n\
Max pending signals       96365                96365                signals   \n\
Max msgqueue size         819200               819200               bytes     \n\
Max nice priority         0                    0                    \n\
Max realtime priority     0                    0                    \n\
Max realtime timeout      unlimited            unlimited            us        \n";

    #[cfg(target_os = "linux")]
    #[test]
    fn limits() {
        let (nofile, nproc) = parse_limits(LIMITS.as_bytes()).unwrap();
        assert_eq!(
            nofile,
            Limit {
                soft: Rlim::Value(1024),
                hard: Rlim::Unlimited
            }
        );
        assert_eq!(nproc.soft, Rlim::Value(96365));
        assert_eq!(parse_limits(b"Limit Soft Hard Units\n"), None);
        assert_eq!(parse_limits(b""), None);
    }

    #[cfg(target_os = "linux")]
    const STATUS: &str = "Name:\tcat\nUmask:\t0022\nState:\tR (running)\nTgid:\t4242\nNgid:\t0\n\
Pid:\t4242\nPPid:\t1\nTracerPid:\t0\nUid:\t1000\t0\t0\t0\nGid:\t1000\t0\t0\t0\n\
FDSize:\t64\nGroups:\t\nNStgid:\t4242\nNSpid:\t4242\nNSpgid:\t4242\nNSsid:\t1\n\
VmPeak:\t    8000 kB\nVmSize:\t    8000 kB\nVmLck:\t       0 kB\nVmPin:\t       0 kB\n\
VmHWM:\t    1000 kB\nVmRSS:\t    1000 kB\nRssAnon:\t     100 kB\nRssFile:\t     900 kB\n\
RssShmem:\t       0 kB\nVmData:\t     400 kB\nVmStk:\t     132 kB\nVmExe:\t      20 kB\n\
VmLib:\t    1600 kB\nVmPTE:\t      48 kB\nVmSwap:\t       0 kB\nHugetlbPages:\t       0 kB\n\
CoreDumping:\t0\nTHP_enabled:\t1\nThreads:\t1\nSigQ:\t0/96365\nSigPnd:\t0000000000000000\n\
ShdPnd:\t0000000000000000\nSigBlk:\t0000000000000000\nSigIgn:\t0000000000000000\n\
SigCgt:\t0000000000000000\nCapInh:\t0000000000000000\nCapPrm:\t0000000001201000\n\
CapEff:\t0000000001201000\nCapBnd:\t000001ffffffffff\nCapAmb:\t0000000000000000\n\
NoNewPrivs:\t0\nSeccomp:\t0\nSeccomp_filters:\t0\nSpeculation_Store_Bypass:\tthread vulnerable\n\
Cpus_allowed:\t3\nCpus_allowed_list:\t0-1\nMems_allowed:\t1\nMems_allowed_list:\t0\n\
voluntary_ctxt_switches:\t0\nnonvoluntary_ctxt_switches:\t1\n";

    #[cfg(target_os = "linux")]
    #[test]
    fn status() {
        let s = parse_status(STATUS.as_bytes()).unwrap();
        assert_eq!(s.ruid, 1000);
        // CAP_NET_ADMIN (12), CAP_SYS_ADMIN (21), CAP_SYS_RESOURCE (24).
        assert_eq!(s.capeff, (1 << 12) | (1 << 21) | (1 << 24));
        let c = crate::snapshot::linux::capabilities(s.capeff);
        assert!(c.net_admin && c.sys_admin && c.sys_resource);
        assert_eq!(parse_kb(STATUS, "VmRSS"), Some(1000));
        assert!(parse_status(b"Name:\tcat\n").is_none());
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn this_process() {
        let (nofile, _) = rlimits(std::process::id()).unwrap();
        let (soft, _) =
            nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE).unwrap();
        assert_eq!(
            nofile.soft,
            if soft == nix::libc::RLIM_INFINITY {
                Rlim::Unlimited
            } else {
                Rlim::Value(soft)
            }
        );
        assert_eq!(
            owner(std::process::id()),
            Some(nix::unistd::getuid().as_raw())
        );
        assert!(netns().is_some());
    }
}
