//! Small readers of /proc and sock_diag used by the flood while it measures. Parsers take
//! text so they are tested on bytes; the readers are thin.

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
    pub fn listen_overflows() -> Option<u64> {
        None
    }
    pub fn socket_owner(_inode: u64) -> Option<(u32, String)> {
        None
    }
    pub fn socket_holders(_inode: u64) -> Vec<u32> {
        Vec::new()
    }
    pub fn server_held(_pids: &[u32], _port: u16) -> Option<u64> {
        None
    }
    pub fn tcp_abort_on_overflow() -> Option<u32> {
        None
    }
    pub fn listen_inode(_port: u16) -> Option<u64> {
        None
    }
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct DiagListener {
        pub backlog: u64,
        pub queued: u64,
        pub inode: u64,
    }
    pub fn diag_listener(_port: u16) -> Option<DiagListener> {
        None
    }

    /// The processes with a TCP listener on `port` (first: the owner with its name), through
    /// proc_pidinfo: every visible process's fds, their socket info, the local port.
    #[cfg(target_os = "macos")]
    pub fn listen_owner(port: u16) -> (Option<(u32, String)>, Vec<u32>) {
        use libproc::libproc::bsd_info::BSDInfo;
        use libproc::libproc::file_info::{ListFDs, ProcFDType, pidfdinfo};
        use libproc::libproc::net_info::{SocketFDInfo, SocketInfoKind, TcpSIState};
        use libproc::libproc::proc_pid::{listpidinfo, name, pidinfo};
        use libproc::processes::{ProcFilter, pids_by_type};

        let mut holders = Vec::new();
        for pid in pids_by_type(ProcFilter::All).unwrap_or_default() {
            let Ok(ipid) = i32::try_from(pid) else {
                continue;
            };
            let Ok(info) = pidinfo::<BSDInfo>(ipid, 0) else {
                continue;
            };
            let fds = listpidinfo::<ListFDs>(ipid, info.pbi_nfiles as usize).unwrap_or_default();
            let listens = fds.iter().any(|fd| {
                matches!(ProcFDType::from(fd.proc_fdtype), ProcFDType::Socket)
                    && pidfdinfo::<SocketFDInfo>(ipid, fd.proc_fd).is_ok_and(|s| {
                        if !matches!(SocketInfoKind::from(s.psi.soi_kind), SocketInfoKind::Tcp) {
                            return false;
                        }
                        // SAFETY: soi_kind says the union holds TCP socket information.
                        let tcp = unsafe { s.psi.soi_proto.pri_tcp };
                        let lport = u16::from_be(tcp.tcpsi_ini.insi_lport as u16);
                        matches!(TcpSIState::from(tcp.tcpsi_state), TcpSIState::Listen)
                            && lport == port
                    })
            });
            if listens {
                holders.push(pid);
            }
        }
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

    /// /proc/net/sockstat of the current network namespace (the snapshot's parser).
    pub fn sockstat() -> crate::snapshot::Usage {
        fs::read_to_string("/proc/net/sockstat")
            .map(|t| crate::snapshot::linux::parse_sockstat(&t))
            .unwrap_or_default()
    }

    pub fn tcpext(name: &str) -> Option<u64> {
        fs::read_to_string("/proc/net/netstat")
            .ok()
            .and_then(|t| parse_tcpext(&t, name))
    }

    /// Kernel slab memory now, kB (/proc/meminfo `Slab`).
    pub fn slab_kb() -> Option<u64> {
        fs::read_to_string("/proc/meminfo")
            .ok()
            .and_then(|t| parse_kb(&t, "Slab"))
    }

    /// Resident memory of a process, kB (/proc/PID/status `VmRSS`).
    pub fn rss_kb(pid: i32) -> Option<u64> {
        fs::read_to_string(format!("/proc/{pid}/status"))
            .ok()
            .and_then(|t| parse_kb(&t, "VmRSS"))
    }

    pub fn listen_overflows() -> Option<u64> {
        tcpext("ListenOverflows")
    }

    /// The process owning socket `inode` (scans /proc/PID/fd links), with its command name.
    pub fn socket_owner(inode: u64) -> Option<(u32, String)> {
        let want = format!("socket:[{inode}]");
        let me = std::process::id();
        for entry in fs::read_dir("/proc").ok()?.flatten() {
            let Some(pid) = entry
                .file_name()
                .to_str()
                .and_then(|s| s.parse::<u32>().ok())
            else {
                continue;
            };
            if pid == me {
                continue;
            }
            let Ok(fds) = fs::read_dir(format!("/proc/{pid}/fd")) else {
                continue;
            };
            for fd in fds.flatten() {
                if fs::read_link(fd.path()).is_ok_and(|l| l.as_os_str() == want.as_str()) {
                    let comm = fs::read_to_string(format!("/proc/{pid}/comm"))
                        .map(|s| s.trim().to_string())
                        .unwrap_or_default();
                    return Some((pid, comm));
                }
            }
        }
        None
    }

    /// Every process holding the socket `inode` (a server's master and its workers).
    pub fn socket_holders(inode: u64) -> Vec<u32> {
        let want = format!("socket:[{inode}]");
        let me = std::process::id();
        let Ok(rd) = fs::read_dir("/proc") else {
            return Vec::new();
        };
        let mut out: Vec<u32> = rd
            .flatten()
            .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
            .filter(|&pid| pid != me)
            .filter(|pid| {
                fs::read_dir(format!("/proc/{pid}/fd")).is_ok_and(|fds| {
                    fds.flatten().any(|fd| {
                        fs::read_link(fd.path()).is_ok_and(|l| l.as_os_str() == want.as_str())
                    })
                })
            })
            .collect();
        out.sort_unstable();
        out
    }

    /// Connections the server holds: TCP sockets on local `port`, not listening, owned by
    /// any of `pids` (counted once). None when no process could be read.
    pub fn server_held(pids: &[u32], port: u16) -> Option<u64> {
        let v4 = procfs::net::tcp().unwrap_or_default();
        let v6 = procfs::net::tcp6().unwrap_or_default();
        let conns: std::collections::HashSet<u64> = v4
            .into_iter()
            .chain(v6)
            .filter(|e| e.state != procfs::net::TcpState::Listen && e.local_address.port() == port)
            .map(|e| e.inode)
            .collect();
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
                let inode = l
                    .to_str()
                    .and_then(|s| s.strip_prefix("socket:["))
                    .and_then(|s| s.strip_suffix(']'))
                    .and_then(|s| s.parse::<u64>().ok());
                if let Some(i) = inode.filter(|i| conns.contains(i)) {
                    seen.insert(i);
                }
            }
        }
        read_any.then_some(seen.len() as u64)
    }

    /// net.ipv4.tcp_abort_on_overflow of this network namespace.
    /// On Linux the owner is found by the listener's inode; nothing more to look for.
    pub fn listen_owner(_port: u16) -> (Option<(u32, String)>, Vec<u32>) {
        (None, Vec::new())
    }

    pub fn tcp_abort_on_overflow() -> Option<u32> {
        fs::read_to_string("/proc/sys/net/ipv4/tcp_abort_on_overflow")
            .ok()
            .and_then(|s| s.trim().parse().ok())
    }

    /// Inode of the TCP listener on `port` from /proc/net/tcp and tcp6.
    pub fn listen_inode(port: u16) -> Option<u64> {
        let v4 = procfs::net::tcp().unwrap_or_default();
        let v6 = procfs::net::tcp6().unwrap_or_default();
        v4.into_iter()
            .chain(v6)
            .find(|e| e.state == procfs::net::TcpState::Listen && e.local_address.port() == port)
            .map(|e| e.inode)
    }

    /// A listening socket as sock_diag reports it.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct DiagListener {
        /// idiag_wqueue: the backlog the listener was created with (capped by somaxconn).
        pub backlog: u64,
        /// idiag_rqueue: connections waiting in the accept queue now.
        pub queued: u64,
        pub inode: u64,
    }

    /// Look up the TCP listener on `port` with NETLINK_SOCK_DIAG (inet_diag), IPv4 first.
    pub fn diag_listener(port: u16) -> Option<DiagListener> {
        diag_listener_family(nix::libc::AF_INET as u8, port)
            .or_else(|| diag_listener_family(nix::libc::AF_INET6 as u8, port))
    }

    fn diag_listener_family(family: u8, port: u16) -> Option<DiagListener> {
        use nix::libc;
        const SOCK_DIAG_BY_FAMILY: u16 = 20;
        const NLMSG_DONE: u16 = 3;
        const NLMSG_ERROR: u16 = 2;
        const TCP_LISTEN: u32 = 10;
        // nlmsghdr (16) + inet_diag_req_v2 (56)
        let mut req = [0u8; 72];
        req[0..4].copy_from_slice(&72u32.to_ne_bytes());
        req[4..6].copy_from_slice(&SOCK_DIAG_BY_FAMILY.to_ne_bytes());
        let flags = (libc::NLM_F_REQUEST | libc::NLM_F_DUMP) as u16;
        req[6..8].copy_from_slice(&flags.to_ne_bytes());
        req[8..12].copy_from_slice(&1u32.to_ne_bytes());
        req[16] = family;
        req[17] = libc::IPPROTO_TCP as u8;
        req[20..24].copy_from_slice(&(1u32 << TCP_LISTEN).to_ne_bytes());
        // SAFETY: plain socket syscalls on a fd this function owns and closes.
        unsafe {
            let fd = libc::socket(
                libc::AF_NETLINK,
                libc::SOCK_DGRAM | libc::SOCK_CLOEXEC,
                libc::NETLINK_SOCK_DIAG,
            );
            if fd < 0 {
                return None;
            }
            let mut sa: libc::sockaddr_nl = std::mem::zeroed();
            sa.nl_family = libc::AF_NETLINK as u16;
            let sent = libc::sendto(
                fd,
                req.as_ptr().cast(),
                req.len(),
                0,
                (&raw const sa).cast(),
                std::mem::size_of::<libc::sockaddr_nl>() as u32,
            );
            if sent < 0 {
                libc::close(fd);
                return None;
            }
            let mut buf = vec![0u8; 65536];
            let mut found = None;
            'outer: loop {
                let n = libc::recv(fd, buf.as_mut_ptr().cast(), buf.len(), 0);
                if n <= 0 {
                    break;
                }
                let n = n as usize;
                let mut off = 0;
                while off + 16 <= n {
                    let len = u32::from_ne_bytes(buf[off..off + 4].try_into().unwrap()) as usize;
                    let ty = u16::from_ne_bytes(buf[off + 4..off + 6].try_into().unwrap());
                    if len < 16 || off + len > n {
                        break 'outer;
                    }
                    if ty == NLMSG_DONE || ty == NLMSG_ERROR {
                        break 'outer;
                    }
                    // inet_diag_msg: family, state, timer, retrans, id{sport(be16) ...} at +4
                    let m = &buf[off + 16..off + len];
                    if m.len() >= 72 {
                        let sport = u16::from_be_bytes([m[4], m[5]]);
                        if sport == port {
                            let rq = u32::from_ne_bytes(m[56..60].try_into().unwrap());
                            let wq = u32::from_ne_bytes(m[60..64].try_into().unwrap());
                            let inode = u32::from_ne_bytes(m[68..72].try_into().unwrap());
                            found = Some(DiagListener {
                                backlog: wq as u64,
                                queued: rq as u64,
                                inode: inode as u64,
                            });
                        }
                    }
                    off += (len + 3) & !3;
                }
            }
            libc::close(fd);
            found
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
