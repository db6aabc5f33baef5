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
