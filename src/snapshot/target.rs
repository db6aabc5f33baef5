//! Which process a report is about: `--pid`, `--process NAME` or `--unit NAME.service`.

use std::path::Path;

/// `/proc/PID/comm` without the newline (at most 64 bytes read).
pub fn read_comm(base: &Path) -> Option<String> {
    use std::io::Read;
    let mut buf = Vec::new();
    std::fs::File::open(base.join("comm"))
        .ok()?
        .take(64)
        .read_to_end(&mut buf)
        .ok()?;
    let s = String::from_utf8_lossy(&buf).trim_end().to_string();
    (!s.is_empty()).then_some(s)
}

/// The state letter of `/proc/PID/stat` (`R`, `S`, `Z`, …): after the last `) `, since the
/// command name may hold spaces and parentheses.
pub fn stat_state(stat: &str) -> Option<char> {
    stat.rsplit_once(") ").and_then(|(_, r)| r.chars().next())
}

/// The parent PID in `/proc/PID/stat` (the field after the state).
pub fn stat_ppid(stat: &str) -> Option<u32> {
    stat.rsplit_once(") ")?
        .1
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// The parent of `pid` under `proc_root`, if it can be read.
pub fn ppid(proc_root: &Path, pid: u32) -> Option<u32> {
    let stat =
        crate::fsio::read_bounded_io(&proc_root.join(pid.to_string()).join("stat"), 4096).ok()?;
    stat_ppid(&String::from_utf8_lossy(&stat))
}

/// The process is gone: no `/proc/PID`, or a zombie (`Z`) or dead (`X`) one.
pub fn is_gone(proc_root: &Path, pid: u32) -> bool {
    let stat = crate::fsio::read_bounded_io(&proc_root.join(pid.to_string()).join("stat"), 4096);
    stat.map_or(true, |b| {
        stat_state(&String::from_utf8_lossy(&b)).is_some_and(|c| c == 'Z' || c == 'X')
    })
}

/// Whether `net:[INODE]` is the initial network namespace, from its inode alone. Since Linux
/// 6.18 the initial network namespace has the fixed inode 0xEFFFFFF9 (PROC_NET_INIT_INO) and
/// every other one a number from 0xF0000000 up; before, all were numbered alike: None.
pub fn fixed_initial_netns(id: &str, kernel: Option<&str>) -> Option<bool> {
    let ino: u64 = id.strip_prefix("net:[")?.strip_suffix(']')?.parse().ok()?;
    if ino == 0xEFFF_FFF9 {
        return Some(true);
    }
    let mut v = kernel?.split(|c: char| !c.is_ascii_digit());
    let major: u32 = v.next()?.parse().ok()?;
    let minor: u32 = v.next()?.parse().ok()?;
    ((major, minor) >= (6, 18)).then_some(false)
}

/// The credentials a process opens files with (/proc/PID/status: the filesystem uid and
/// gid, the 4th field of `Uid:`/`Gid:`, and its supplementary `Groups:`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Creds {
    pub uid: u32,
    pub gid: u32,
    pub groups: Vec<u32>,
}

/// [`Creds`] from the text of /proc/PID/status.
pub fn parse_creds(status: &str) -> Option<Creds> {
    let field = |key: &str| -> Option<u32> {
        status
            .lines()
            .find_map(|l| l.strip_prefix(key))?
            .split_whitespace()
            .nth(3)?
            .parse()
            .ok()
    };
    let groups = status
        .lines()
        .find_map(|l| l.strip_prefix("Groups:"))?
        .split_whitespace()
        .map(str::parse)
        .collect::<std::result::Result<Vec<u32>, _>>()
        .ok()?;
    Some(Creds {
        uid: field("Uid:")?,
        gid: field("Gid:")?,
        groups,
    })
}

/// The credentials of `pid` under `proc_root`, if they can be read.
pub fn creds(proc_root: &Path, pid: u32) -> Option<Creds> {
    let st = crate::fsio::read_bounded_io(&proc_root.join(pid.to_string()).join("status"), 1 << 16)
        .ok()?;
    parse_creds(&String::from_utf8_lossy(&st))
}

/// What a directory entry is (not following a symbolic link).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    File,
    Dir,
    Symlink,
    Other,
}

/// Whose rights a [`TargetFs`] reads with.
#[derive(Debug, Clone)]
enum Who {
    /// The operator's own arguments (`--nginx-conf`, `--vm-args`): porttune's rights.
    Operator,
    /// A running process: its credentials; None when they could not be read (nothing is
    /// read then).
    Process { pid: u32, creds: Option<Creds> },
}

/// Files as one process sees them, read with its rights: every configuration file, include
/// and directory a server reader follows goes through here. For a running process paths
/// resolve inside its root (`/proc/PID/root`) and each open happens on a thread of its own
/// whose filesystem uid, gid and groups are the process's (setfsuid(2), setfsgid(2),
/// setgroups(2) on that thread alone), so the kernel checks every path component, symbolic
/// link and include as it would for the process, at the moment of the open. A file the
/// process could not read is not read: the error says "not readable by uid N".
#[derive(Debug, Clone)]
pub struct TargetFs {
    root: std::path::PathBuf,
    cwd: String,
    who: Who,
}

/// Entries listed per directory (bounded).
const MAX_LIST: usize = 4096;

impl TargetFs {
    /// The operator's own files, with porttune's rights.
    pub fn operator() -> TargetFs {
        TargetFs {
            root: "/".into(),
            cwd: std::env::current_dir()
                .map(|p| p.display().to_string())
                .unwrap_or_else(|_| "/".into()),
            who: Who::Operator,
        }
    }

    /// The files of process `pid` (under `proc_root`), with its credentials.
    pub fn of_pid(proc_root: &Path, pid: u32) -> TargetFs {
        let base = proc_root.join(pid.to_string());
        TargetFs {
            cwd: std::fs::read_link(base.join("cwd"))
                .map(|p| p.display().to_string())
                .unwrap_or_else(|_| "/".into()),
            root: base.join("root"),
            who: Who::Process {
                pid,
                creds: creds(proc_root, pid),
            },
        }
    }

    /// The process's working directory, as it sees it.
    pub fn cwd(&self) -> &str {
        &self.cwd
    }

    /// `path` as the process names it: relative paths against its working directory.
    pub fn absolute(&self, path: &str) -> String {
        if path.starts_with('/') {
            path.to_string()
        } else {
            format!("{}/{path}", self.cwd.trim_end_matches('/'))
        }
    }

    /// Where `path`, as the process names it, is from porttune's side (under its root).
    pub fn inside(&self, path: &str) -> std::path::PathBuf {
        self.root.join(self.absolute(path).trim_start_matches('/'))
    }

    /// Run `f` with the process's rights (see [`TargetFs`]); the error says why not.
    fn as_target<T: Send>(
        &self,
        f: impl FnOnce() -> std::io::Result<T> + Send,
    ) -> std::result::Result<T, String> {
        let creds = match &self.who {
            Who::Operator => return f().map_err(|e| describe(&e, None)),
            Who::Process { creds: Some(c), .. } => c,
            Who::Process { pid, creds: None } => {
                return Err(format!(
                    "the credentials of PID {pid} could not be read; not read"
                ));
            }
        };
        std::thread::scope(|s| {
            s.spawn(|| {
                creds::take(creds)?;
                f().map_err(|e| describe(&e, Some(creds.uid)))
            })
            .join()
            .unwrap_or_else(|_| Err("the reading thread failed".into()))
        })
    }

    /// The text of `path` (at most `cap` bytes, a regular file, UTF-8).
    pub fn read(&self, path: &str, cap: u64) -> std::result::Result<String, String> {
        let p = self.inside(path);
        let bytes = self.as_target(|| crate::fsio::read_regular(&p, cap))?;
        String::from_utf8(bytes).map_err(|e| {
            format!(
                "not text: byte {} is not UTF-8",
                e.utf8_error().valid_up_to()
            )
        })
    }

    /// The names in directory `dir` and what each is (at most 4096, unsorted).
    pub fn list(&self, dir: &str) -> std::result::Result<Vec<(String, Kind)>, String> {
        let p = self.inside(dir);
        self.as_target(|| {
            let mut out = Vec::new();
            for e in std::fs::read_dir(&p)?.flatten().take(MAX_LIST) {
                let Some(name) = e.file_name().to_str().map(str::to_string) else {
                    continue;
                };
                let kind = match e.file_type() {
                    Ok(t) if t.is_file() => Kind::File,
                    Ok(t) if t.is_dir() => Kind::Dir,
                    Ok(t) if t.is_symlink() => Kind::Symlink,
                    _ => Kind::Other,
                };
                out.push((name, kind));
            }
            Ok(out)
        })
    }

    /// Whether `path` is a directory the process can see (symbolic links followed).
    pub fn is_dir(&self, path: &str) -> bool {
        let p = self.inside(path);
        self.as_target(|| std::fs::metadata(&p).map(|m| m.is_dir()))
            .unwrap_or(false)
    }

    /// Connect to the Unix stream socket at `path` (as the process names it; the caller has
    /// checked that the process listens there) the way the process itself could: with its
    /// credentials (the kernel checks every path component and the socket's write
    /// permission), within `timeout` (a listener whose queue is full does not hold porttune),
    /// and only when the listening end belongs to the process's user (SO_PEERCRED): a path
    /// swapped for a link to another service's socket is not dialed. Read and write time
    /// limits are `timeout` too.
    #[cfg(unix)]
    pub fn dial_unix(
        &self,
        path: &str,
        timeout: std::time::Duration,
    ) -> std::result::Result<std::os::unix::net::UnixStream, String> {
        let p = self.inside(path);
        let owner = match &self.who {
            Who::Process { creds: Some(c), .. } => Some(c.uid),
            _ => None,
        };
        let s = self
            .as_target(|| unix_connect(&p, owner, timeout))
            .map_err(|e| format!("{path}: {e}; not dialed"))?;
        if let Who::Process {
            creds: Some(c),
            pid,
        } = &self.who
        {
            let peer = peer_uid(&s).map_err(|e| {
                format!("{path}: who listens there cannot be read ({e}); not dialed")
            })?;
            if peer != c.uid {
                return Err(format!(
                    "{path}: the listening end is uid {peer}, not PID {pid}'s uid {}; not dialed",
                    c.uid
                ));
            }
        }
        s.set_nonblocking(false)
            .and_then(|_| s.set_read_timeout(Some(timeout)))
            .and_then(|_| s.set_write_timeout(Some(timeout)))
            .map_err(|e| format!("{path}: {e}"))?;
        Ok(s)
    }
}

/// The user of the process that listens at the other end of a connected Unix socket.
#[cfg(target_os = "linux")]
fn peer_uid(s: &std::os::unix::net::UnixStream) -> std::result::Result<u32, String> {
    nix::sys::socket::getsockopt(s, nix::sys::socket::sockopt::PeerCredentials)
        .map(|c| c.uid())
        .map_err(|e| e.to_string())
}

#[cfg(all(unix, not(target_os = "linux")))]
fn peer_uid(_s: &std::os::unix::net::UnixStream) -> std::result::Result<u32, String> {
    Err("read on Linux only".into())
}

/// A non-blocking connect to the Unix stream socket at `path`, retried while the listener's
/// queue is full (EAGAIN) until `timeout` has passed. The socket file is opened first
/// (O_PATH) and checked: a socket, created by `owner` when given (bind(2) makes the file
/// its caller's, so a link to another user's socket is refused before any connection);
/// the connection then goes to that very file (`/proc/self/fd/N`), not to whatever the
/// path names a moment later.
#[cfg(unix)]
fn unix_connect(
    path: &Path,
    owner: Option<u32>,
    timeout: std::time::Duration,
) -> std::io::Result<std::os::unix::net::UnixStream> {
    use nix::errno::Errno;
    use nix::sys::socket::{AddressFamily, SockFlag, SockType, UnixAddr, connect, socket};
    use std::os::unix::fs::{FileTypeExt, MetadataExt};
    let refuse = |m: String| std::io::Error::new(std::io::ErrorKind::InvalidInput, m);
    #[cfg(target_os = "linux")]
    let (meta, addr, _file) = {
        use std::os::unix::fs::OpenOptionsExt;
        let f = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(nix::libc::O_PATH | nix::libc::O_CLOEXEC)
            .open(path)?;
        let fd = std::os::fd::AsRawFd::as_raw_fd(&f);
        let addr = UnixAddr::new(format!("/proc/self/fd/{fd}").as_str())?;
        (f.metadata()?, addr, f)
    };
    #[cfg(not(target_os = "linux"))]
    let (meta, addr) = (std::fs::metadata(path)?, UnixAddr::new(path)?);
    if !meta.file_type().is_socket() {
        return Err(refuse("not a socket".into()));
    }
    if let Some(uid) = owner.filter(|u| *u != meta.uid()) {
        return Err(refuse(format!(
            "the socket file is uid {}'s, not uid {uid}'s",
            meta.uid()
        )));
    }
    #[cfg(target_os = "linux")]
    let flags = SockFlag::SOCK_CLOEXEC;
    #[cfg(not(target_os = "linux"))]
    let flags = SockFlag::empty();
    let s: std::os::unix::net::UnixStream =
        socket(AddressFamily::Unix, SockType::Stream, flags, None)?.into();
    s.set_nonblocking(true)?;
    let deadline = std::time::Instant::now() + timeout;
    loop {
        match connect(std::os::fd::AsRawFd::as_raw_fd(&s), &addr) {
            Ok(()) => return Ok(s),
            Err(Errno::EAGAIN | Errno::EINTR) if std::time::Instant::now() < deadline => {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            Err(Errno::EAGAIN) => {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    format!(
                        "not accepted within {} s (its queue is full)",
                        timeout.as_secs_f64()
                    ),
                ));
            }
            Err(e) => return Err(e.into()),
        }
    }
}

/// An io error of a read on someone's behalf, without the path (the caller names it):
/// "not readable by uid N" for a permission error.
fn describe(e: &std::io::Error, uid: Option<u32>) -> String {
    use std::io::ErrorKind::*;
    match (e.kind(), uid) {
        (PermissionDenied, Some(u)) => format!("not readable by uid {u}"),
        (NotFound, _) => "no such file or directory".into(),
        (InvalidInput | FileTooLarge, _) => e.to_string(),
        _ => crate::fsio::describe_io(e),
    }
}

/// Taking a process's file credentials on the current thread only.
#[cfg(target_os = "linux")]
mod creds {
    use super::Creds;
    use nix::unistd::{Gid, Uid, geteuid, setfsgid, setfsuid};

    /// CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH in a capability mask.
    const DAC_CAPS: u64 = (1 << 1) | (1 << 2);

    fn thread_capeff() -> Option<u64> {
        let t =
            crate::fsio::read_bounded_io(std::path::Path::new("/proc/thread-self/status"), 1 << 16)
                .ok()?;
        let t = String::from_utf8_lossy(&t);
        let hex = t.lines().find_map(|l| l.strip_prefix("CapEff:"))?.trim();
        u64::from_str_radix(hex, 16).ok()
    }

    /// Make this thread open files as `c` would: supplementary groups, then fsgid, then
    /// fsuid (dropping root's file capabilities on this thread), each checked. A root
    /// process's files are read as root. Not root: porttune reads with its own rights, which
    /// are no more than its user's. Fails closed when the switch cannot be made or checked.
    pub fn take(c: &Creds) -> std::result::Result<(), String> {
        let refuse = |why: &str| format!("cannot read as uid {} ({why}); not read", c.uid);
        if c.uid == 0 {
            return Ok(());
        }
        if geteuid().is_root() {
            if c.groups.len() > 65536 {
                return Err(refuse("too many groups"));
            }
            // setgroups(2) directly: the C library's wrapper changes every thread of the
            // process; the system call changes this thread only.
            // SAFETY: a valid pointer to `len` gid_t values, read by the kernel only.
            let rc = unsafe {
                nix::libc::syscall(nix::libc::SYS_setgroups, c.groups.len(), c.groups.as_ptr())
            };
            if rc != 0 {
                return Err(refuse("setgroups failed"));
            }
            setfsgid(Gid::from_raw(c.gid));
            setfsuid(Uid::from_raw(c.uid));
            // setfsuid/setfsgid report no error: ask for the current values (-1 changes nothing).
            let fsgid = setfsgid(Gid::from_raw(u32::MAX)).as_raw();
            let fsuid = setfsuid(Uid::from_raw(u32::MAX)).as_raw();
            if (fsuid, fsgid) != (c.uid, c.gid) {
                return Err(refuse("setfsuid/setfsgid refused"));
            }
        }
        // With a filesystem uid other than 0 the kernel clears the file capabilities of the
        // thread; check it (a securebits setting or file capabilities could keep them).
        match thread_capeff() {
            Some(caps) if caps & DAC_CAPS == 0 => Ok(()),
            Some(_) => Err(refuse("CAP_DAC_OVERRIDE or CAP_DAC_READ_SEARCH still held")),
            None => Err(refuse("/proc/thread-self/status unreadable")),
        }
    }
}

/// Other systems: no per-thread credentials here, so another user's process's files are
/// read only when porttune runs as that user.
#[cfg(not(target_os = "linux"))]
mod creds {
    use super::Creds;

    pub fn take(c: &Creds) -> std::result::Result<(), String> {
        if c.uid == nix::unistd::geteuid().as_raw() {
            Ok(())
        } else {
            Err(format!(
                "cannot read as uid {} on this system; not read",
                c.uid
            ))
        }
    }
}

/// The network namespace of a process (`net:[INODE]`).
pub fn netns_id(proc_root: &Path, who: &str) -> Option<String> {
    std::fs::read_link(proc_root.join(who).join("ns/net"))
        .ok()
        .map(|p| p.to_string_lossy().into_owned())
}

/// Socket inodes held by a process (from its /proc/PID/fd links).
pub fn socket_inodes(proc_root: &Path, pid: &str) -> Vec<u64> {
    let mut v = Vec::new();
    let Ok(rd) = std::fs::read_dir(proc_root.join(pid).join("fd")) else {
        return v;
    };
    for e in rd.flatten() {
        if let Ok(target) = std::fs::read_link(e.path()) {
            let s = target.to_string_lossy();
            if let Some(n) = s.strip_prefix("socket:[").and_then(|r| r.strip_suffix(']')) {
                if let Ok(i) = n.parse() {
                    v.push(i);
                }
            }
        }
    }
    v
}

/// Where a process listens: its own sockets (inodes among its fds) in the LISTEN state of
/// the TCP tables of its network namespace, and the Unix socket paths it holds. The only
/// places porttune may dial to ask a server for its settings.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Listening {
    pub tcp: Vec<std::net::SocketAddr>,
    pub unix: Vec<String>,
}

#[cfg(target_os = "linux")]
pub fn listening(proc_root: &Path, pids: &[u32]) -> Listening {
    use procfs::FromReadSI;
    let mut l = Listening::default();
    let si = procfs::current_system_info();
    for pid in pids {
        let who = pid.to_string();
        let mine: std::collections::BTreeSet<u64> =
            socket_inodes(proc_root, &who).into_iter().collect();
        let net = proc_root.join(&who).join("net");
        for f in ["tcp", "tcp6"] {
            let Ok(t) = procfs::net::TcpNetEntries::from_file(net.join(f), si) else {
                continue;
            };
            l.tcp.extend(
                t.0.iter()
                    .filter(|e| e.state == procfs::net::TcpState::Listen)
                    .filter(|e| mine.contains(&e.inode))
                    .map(|e| e.local_address),
            );
        }
        if let Ok(u) =
            <procfs::net::UnixNetEntries as procfs::FromRead>::from_file(net.join("unix"))
        {
            l.unix.extend(
                u.0.iter()
                    // a listener: a stream socket not connected (an accepted connection
                    // shows its server's path too)
                    .filter(|e| mine.contains(&e.inode))
                    .filter(|e| e.socket_type == nix::libc::SOCK_STREAM as u16)
                    .filter(|e| e.state == procfs::net::UnixState::UNCONNECTED)
                    .filter_map(|e| e.path.as_ref()?.to_str().map(str::to_string))
                    .filter(|p| p.starts_with('/')),
            );
        }
    }
    l.tcp.sort();
    l.tcp.dedup();
    l.unix.sort();
    l.unix.dedup();
    l
}

#[cfg(not(target_os = "linux"))]
pub fn listening(_proc_root: &Path, _pids: &[u32]) -> Listening {
    Listening::default()
}

impl Listening {
    /// The loopback addresses that reach these listeners: a loopback listener itself, and
    /// 127.0.0.1 / ::1 for a wildcard one. A listener on another address only is not
    /// dialed.
    pub fn loopback(&self) -> Vec<std::net::SocketAddr> {
        use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
        let mut v: Vec<SocketAddr> = self
            .tcp
            .iter()
            .filter_map(|a| match a.ip() {
                ip if ip.is_loopback() => Some(*a),
                IpAddr::V4(ip) if ip.is_unspecified() => {
                    Some(SocketAddr::new(Ipv4Addr::LOCALHOST.into(), a.port()))
                }
                IpAddr::V6(ip) if ip.is_unspecified() => {
                    Some(SocketAddr::new(Ipv6Addr::LOCALHOST.into(), a.port()))
                }
                _ => None,
            })
            .collect();
        v.dedup();
        v
    }
}

/// Connect to `addr` (loopback) inside the network namespace of `pid`, with a timeout: a
/// thread of its own enters the namespace when it is not porttune's, so the socket reached
/// is the one the process listens on.
#[cfg(target_os = "linux")]
pub fn dial_tcp(
    proc_root: &Path,
    pid: u32,
    addr: std::net::SocketAddr,
    timeout: std::time::Duration,
) -> std::result::Result<std::net::TcpStream, String> {
    if !addr.ip().is_loopback() {
        return Err(format!("{addr} is not a loopback address; not dialed"));
    }
    let ours = netns_id(proc_root, "self");
    let theirs = netns_id(proc_root, &pid.to_string());
    let connect =
        || std::net::TcpStream::connect_timeout(&addr, timeout).map_err(|e| format!("{addr}: {e}"));
    if ours.is_some() && ours == theirs {
        return connect();
    }
    let ns = proc_root.join(pid.to_string()).join("ns/net");
    std::thread::scope(|s| {
        s.spawn(|| {
            let f = std::fs::File::open(&ns)
                .map_err(|e| format!("the network namespace of PID {pid}: {e}; not dialed"))?;
            nix::sched::setns(f, nix::sched::CloneFlags::CLONE_NEWNET).map_err(|e| {
                format!("cannot enter the network namespace of PID {pid} ({e}); not dialed")
            })?;
            connect()
        })
        .join()
        .unwrap_or_else(|_| Err("the dialing thread failed".into()))
    })
}

#[cfg(not(target_os = "linux"))]
pub fn dial_tcp(
    _proc_root: &Path,
    _pid: u32,
    addr: std::net::SocketAddr,
    timeout: std::time::Duration,
) -> std::result::Result<std::net::TcpStream, String> {
    if !addr.ip().is_loopback() {
        return Err(format!("{addr} is not a loopback address; not dialed"));
    }
    std::net::TcpStream::connect_timeout(&addr, timeout).map_err(|e| format!("{addr}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn creds_are_the_filesystem_ids_and_groups() {
        let st = "Name:\tx\nUid:\t1000\t1001\t1002\t1003\nGid:\t20\t21\t22\t23\nGroups:\t4 27 \n";
        let c = parse_creds(st).unwrap();
        assert_eq!((c.uid, c.gid, c.groups), (1003, 23, vec![4, 27]));
        let none = "Uid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\nGroups:\t\n";
        assert_eq!(parse_creds(none).unwrap().groups, Vec::<u32>::new());
        assert_eq!(parse_creds("Uid:\t0\n"), None);
    }

    #[test]
    fn only_loopback_listeners_are_dialed() {
        let l = Listening {
            tcp: [
                "0.0.0.0:6379",
                "[::]:6380",
                "127.0.0.2:1",
                "10.0.0.5:6381",
                "[::1]:2",
            ]
            .iter()
            .map(|a| a.parse().unwrap())
            .collect(),
            unix: vec![],
        };
        let got: Vec<String> = l.loopback().iter().map(|a| a.to_string()).collect();
        assert_eq!(
            got,
            ["127.0.0.1:6379", "[::1]:6380", "127.0.0.2:1", "[::1]:2"]
        );
        let e = dial_tcp(
            Path::new("/proc"),
            1,
            "10.0.0.5:6381".parse().unwrap(),
            std::time::Duration::from_millis(1),
        );
        assert!(e.unwrap_err().contains("not dialed"));
    }

    #[test]
    fn unreadable_credentials_read_nothing() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(d.path().join("7")).unwrap();
        let fs = TargetFs::of_pid(d.path(), 7);
        let e = fs.read("/etc/hostname", 100).unwrap_err();
        assert!(
            e.contains("credentials of PID 7 could not be read; not read"),
            "{e}"
        );
    }

    #[test]
    fn initial_netns_from_the_fixed_inode() {
        use super::fixed_initial_netns as f;
        assert_eq!(f("net:[4026531833]", Some("6.18.44")), Some(true));
        assert_eq!(f("net:[4026532177]", Some("6.18.44-fc")), Some(false));
        assert_eq!(f("net:[4026532177]", Some("6.1.0-28-amd64")), None);
        assert_eq!(f("net:[4026531840]", None), None);
        assert_eq!(f("garbage", Some("6.18")), None);
    }

    #[test]
    fn stat_state_after_the_command_name() {
        assert_eq!(stat_state("42 (a) b) c) Z 1 42 42"), Some('Z'));
        assert_eq!(stat_state("7 (nginx) S 1 7 7 0"), Some('S'));
        assert_eq!(stat_state("garbage"), None);
        assert_eq!(stat_ppid("42 (a) b) c) Z 1 42 42"), Some(1));
        assert_eq!(stat_ppid("7 (nginx) S 6 7 7 0"), Some(6));
        assert_eq!(stat_ppid("garbage"), None);
    }

    #[test]
    fn gone_from_a_fixture_proc() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(d.path().join("7")).unwrap();
        std::fs::write(d.path().join("7/stat"), "7 (x) S 1 7 7 0\n").unwrap();
        std::fs::create_dir_all(d.path().join("8")).unwrap();
        std::fs::write(d.path().join("8/stat"), "8 (x) Z 1 8 8 0\n").unwrap();
        assert!(!is_gone(d.path(), 7));
        assert!(is_gone(d.path(), 8));
        assert!(is_gone(d.path(), 9));
    }
}
