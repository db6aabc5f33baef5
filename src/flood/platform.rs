//! What the flood does differently on Linux and macOS, in one place; the engine, the workers
//! and the run are the same code on both (mio speaks epoll and kqueue).
//!
//! | | Linux | macOS |
//! |---|---|---|
//! | new socket | `SOCK_NONBLOCK | SOCK_CLOEXEC` at socket(2) | fcntl after socket(2) |
//! | accept | accept4(2) with the same flags | accept(2), then fcntl |
//! | a source address | `IP_BIND_ADDRESS_NO_PORT` then bind: the port is chosen at connect, per 4-tuple | an explicit bind to the address, port 0: xnu gives each local address one pool for the host |
//! | fds open | /proc/self/fd | /dev/fd |
//! | a worker outlives its parent | never: `PR_SET_PDEATHSIG` | never: a thread in the worker waits on a pipe the parent holds, and ends the worker at EOF |
//! | fds per worker | the soft RLIMIT_NOFILE | soft raised to MIN(hard, `kern.maxfilesperproc`), then MIN(soft, `kern.maxfilesperproc`) |
//! | the target is gone | /proc/PID/stat missing or a zombie | kill(PID, 0) fails with ESRCH, or proc_pidinfo says zombie |

use std::io;
#[cfg(not(target_os = "linux"))]
use std::os::fd::AsRawFd;
use std::os::fd::{BorrowedFd, RawFd};

use socket2::{Domain, SockAddr, Socket, Type};

/// A non-blocking, close-on-exec TCP socket.
pub fn stream(domain: Domain) -> io::Result<Socket> {
    #[cfg(target_os = "linux")]
    {
        Socket::new(domain, Type::STREAM.nonblocking().cloexec(), None)
    }
    #[cfg(not(target_os = "linux"))]
    {
        let s = Socket::new(domain, Type::STREAM, None)?;
        s.set_nonblocking(true)?;
        s.set_cloexec(true)?;
        Ok(s)
    }
}

/// Bind a client socket to its source address so that connect() still picks the port.
pub fn bind_source(sock: &Socket, src: &SockAddr) -> io::Result<()> {
    #[cfg(target_os = "linux")]
    {
        use nix::sys::socket::{setsockopt, sockopt::IpBindAddressNoPort};
        // Best effort: without it the bind takes a port per source address, as on macOS.
        let _ = setsockopt(sock, IpBindAddressNoPort, &true);
    }
    sock.bind(src)
}

/// Accept one connection on the listening socket `fd` (which the caller owns and keeps open
/// for the call) as a non-blocking, close-on-exec socket.
pub fn accept(fd: RawFd) -> io::Result<Socket> {
    // SAFETY: the caller's listener is open for the duration of this call.
    let listener = unsafe { BorrowedFd::borrow_raw(fd) };
    #[cfg(target_os = "linux")]
    let r = {
        use nix::sys::socket::{SockFlag, accept4};
        accept4(listener, SockFlag::SOCK_NONBLOCK | SockFlag::SOCK_CLOEXEC)
    };
    #[cfg(not(target_os = "linux"))]
    let r = nix::sys::socket::accept(listener);
    let s = Socket::from(r.map_err(io::Error::from)?);
    #[cfg(not(target_os = "linux"))]
    {
        s.set_nonblocking(true)?;
        s.set_cloexec(true)?;
    }
    Ok(s)
}

/// Descriptors this process has open now.
pub fn open_fds() -> u64 {
    #[cfg(target_os = "linux")]
    {
        crate::snapshot::linux::open_fds(std::path::Path::new("/proc"), "self").unwrap_or(0)
    }
    #[cfg(not(target_os = "linux"))]
    {
        // The directory handle is one of them.
        std::fs::read_dir("/dev/fd")
            .map(|d| (d.count() as u64).saturating_sub(1))
            .unwrap_or(0)
    }
}

/// Held by the parent while workers run: on macOS the read end of a pipe each worker watches.
pub struct Lifeline {
    #[cfg(not(target_os = "linux"))]
    read: std::os::fd::OwnedFd,
    #[cfg(not(target_os = "linux"))]
    _write: std::os::fd::OwnedFd,
}

impl Lifeline {
    pub fn new() -> io::Result<Lifeline> {
        #[cfg(target_os = "linux")]
        {
            Ok(Lifeline {})
        }
        #[cfg(not(target_os = "linux"))]
        {
            let (read, write) = nix::unistd::pipe().map_err(io::Error::from)?;
            Ok(Lifeline {
                read,
                _write: write,
            })
        }
    }

    /// In a freshly forked worker: end this worker when the parent goes, however it goes.
    pub fn bind_child(&self) {
        #[cfg(target_os = "linux")]
        {
            let _ = nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGKILL);
        }
        #[cfg(not(target_os = "linux"))]
        {
            let fd = self.read.as_raw_fd();
            // The worker's copy of the write end would keep the pipe open: close it (the
            // worker leaves with _exit, so its copy of the OwnedFd is never dropped).
            // SAFETY: closing this process's copy of the write end, never used again here.
            unsafe { nix::libc::close(self._write.as_raw_fd()) };
            std::thread::spawn(move || {
                let mut b = [0u8; 1];
                // SAFETY: the read end stays open in the worker until it exits.
                let read = unsafe { BorrowedFd::borrow_raw(fd) };
                // Blocks until every write end is closed: the parent has exited.
                let _ = nix::unistd::read(read, &mut b);
                // SAFETY: leave at once, as SIGKILL would.
                unsafe { nix::libc::_exit(137) };
            });
        }
    }
}

/// Whether the peer of `fd` closed (EOF), sent data or failed; false while nothing is there
/// yet (EAGAIN).
pub fn peek_closed(fd: RawFd) -> bool {
    let mut buf = [0u8; 64];
    !matches!(
        nix::sys::socket::recv(fd, &mut buf, nix::sys::socket::MsgFlags::empty()),
        Err(nix::errno::Errno::EAGAIN)
    )
}

/// Every source address can be bound here. On Linux all of 127.0.0.0/8 is local; a Mac has
/// only 127.0.0.1 on lo0 unless aliases were added, and binding another address fails with
/// EADDRNOTAVAIL, which must not be read as port exhaustion.
pub fn check_sources(sources: &[std::net::Ipv4Addr]) -> Result<(), String> {
    for ip in sources {
        let s = stream(Domain::IPV4).map_err(|e| format!("socket(): {e}"))?;
        let addr = SockAddr::from(std::net::SocketAddrV4::new(*ip, 0));
        if let Err(e) = s.bind(&addr) {
            return Err(format!(
                "cannot bind the source address {ip} ({e}): on macOS add it to lo0 first (`sudo ifconfig lo0 alias {ip} up`), or use --source-ips 1"
            ));
        }
    }
    Ok(())
}

/// The fds a flood process can open, and the soft limit to set first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FdBudget {
    /// Raise the soft RLIMIT_NOFILE to this first (no privilege needed: it is at most the
    /// hard limit).
    pub raise_to: Option<u64>,
    /// The fds each process then has.
    pub usable: u64,
}

/// The fd budget for a soft and hard RLIMIT_NOFILE (raw getrlimit values) under a per-process
/// cap. macOS caps every process at `kern.maxfilesperproc` whatever its soft limit (xnu
/// `kern_resource.c`, `proc_limitgetcur_nofile`), and any process may raise its soft limit up
/// to its hard one: raise soft to MIN(hard, cap), and each process then holds MIN(soft, cap).
/// Without a cap (Linux: the soft limit is the limit, and the flood measures it as it is):
/// the soft limit.
pub fn fd_budget(soft: u64, hard: u64, cap: Option<u64>) -> FdBudget {
    match cap {
        None => FdBudget {
            raise_to: None,
            usable: soft,
        },
        Some(cap) => {
            let target = hard.min(cap);
            FdBudget {
                raise_to: (target > soft).then_some(target),
                usable: soft.max(target).min(cap),
            }
        }
    }
}

/// The per-process fd cap above RLIMIT_NOFILE: `kern.maxfilesperproc` on macOS; none on Linux.
pub fn fd_cap() -> Option<u64> {
    #[cfg(target_os = "macos")]
    {
        crate::snapshot::macos::sysctl_u64("kern.maxfilesperproc")
    }
    #[cfg(not(target_os = "macos"))]
    {
        None
    }
}

/// Set this process's soft RLIMIT_NOFILE to `soft`, keeping the hard limit.
pub fn set_soft_nofile(soft: u64) -> io::Result<()> {
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    let (_, hard) = getrlimit(Resource::RLIMIT_NOFILE).map_err(io::Error::from)?;
    setrlimit(Resource::RLIMIT_NOFILE, soft.min(hard), hard).map_err(io::Error::from)
}

/// Whether process `pid` has ended (gone, or a zombie nobody reaped): `kill(pid, 0)` fails
/// with ESRCH when no such process exists (EPERM: it exists, another user's); a zombie still
/// answers it, so `zombie` says whether it is one (Linux: /proc/PID/stat, macOS:
/// proc_pidinfo's `pbi_status`). A pid reused by a new process would read as alive: the
/// flood asks during and right after its run, seconds apart.
pub fn process_gone(pid: u32, zombie: impl Fn(u32) -> Option<bool>) -> bool {
    use nix::errno::Errno;
    let Ok(ipid) = i32::try_from(pid) else {
        return true;
    };
    if ipid <= 0 {
        return true;
    }
    match nix::sys::signal::kill(nix::unistd::Pid::from_raw(ipid), None) {
        Err(Errno::ESRCH) => true,
        Ok(()) | Err(_) => zombie(pid).unwrap_or(false),
    }
}

/// The command name of `pid` (Linux: /proc/PID/comm; macOS: proc_pidinfo).
pub fn process_name(pid: u32) -> Option<String> {
    #[cfg(target_os = "macos")]
    {
        libproc::libproc::proc_pid::name(i32::try_from(pid).ok()?).ok()
    }
    #[cfg(not(target_os = "macos"))]
    {
        crate::snapshot::target::read_comm(&std::path::Path::new("/proc").join(pid.to_string()))
    }
}

/// Whether `pid` is a zombie, as this platform tells it; None when it cannot be read.
pub fn is_zombie(pid: u32) -> Option<bool> {
    #[cfg(target_os = "linux")]
    {
        let stat = crate::fsio::read_bounded_io(
            &std::path::Path::new("/proc")
                .join(pid.to_string())
                .join("stat"),
            4096,
        )
        .ok()?;
        crate::snapshot::target::stat_state(&String::from_utf8_lossy(&stat))
            .map(|c| c == 'Z' || c == 'X')
    }
    #[cfg(target_os = "macos")]
    {
        use libproc::libproc::bsd_info::BSDInfo;
        use libproc::libproc::proc_pid::pidinfo;
        // SZOMB in <sys/proc.h>.
        const SZOMB: u32 = 5;
        let info = pidinfo::<BSDInfo>(i32::try_from(pid).ok()?, 0).ok()?;
        Some(info.pbi_status == SZOMB)
    }
    #[cfg(not(any(target_os = "linux", target_os = "macos")))]
    {
        let _ = pid;
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAC_INF: u64 = i64::MAX as u64;

    #[test]
    fn fd_budget_on_a_mac_and_elsewhere() {
        // The seed's shell: unlimited soft and hard under kern.maxfilesperproc 61440.
        assert_eq!(
            fd_budget(MAC_INF, MAC_INF, Some(61_440)),
            FdBudget {
                raise_to: None,
                usable: 61_440
            }
        );
        // launchd's 256 / unlimited: raised to the cap, unprivileged.
        assert_eq!(
            fd_budget(256, MAC_INF, Some(10_240)),
            FdBudget {
                raise_to: Some(10_240),
                usable: 10_240
            }
        );
        // A finite hard limit below the cap: raised to it.
        assert_eq!(
            fd_budget(256, 4_096, Some(10_240)),
            FdBudget {
                raise_to: Some(4_096),
                usable: 4_096
            }
        );
        // Already above the cap: kept, capped.
        assert_eq!(fd_budget(100_000, 200_000, Some(61_440)).usable, 61_440);
        // Linux: the soft limit as it is.
        assert_eq!(
            fd_budget(1_024, 4_096, None),
            FdBudget {
                raise_to: None,
                usable: 1_024
            }
        );
    }

    #[test]
    fn gone_by_signal_zero_and_zombie() {
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .unwrap();
        let pid = child.id();
        assert!(!process_gone(pid, is_zombie));
        // A fake platform that says zombie.
        assert!(process_gone(pid, |_| Some(true)));
        child.kill().unwrap();
        // Killed, not reaped: a zombie, which kill(pid, 0) still answers.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while is_zombie(pid) != Some(true) && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        assert!(process_gone(pid, is_zombie));
        assert!(!process_gone(pid, |_| Some(false)), "kill(pid, 0) alone");
        child.wait().unwrap();
        // Reaped: ESRCH, whatever the platform says.
        assert!(process_gone(pid, |_| Some(false)));
        assert!(process_gone(0, |_| Some(false)));
        assert!(process_gone(u32::MAX, |_| Some(false)));
    }
}
