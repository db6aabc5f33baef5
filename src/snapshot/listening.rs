//! Whether a TCP listener accepts on a local address: the flood's `--target localhost:PORT`
//! picks the loopback address a server actually listens on.

use std::net::SocketAddr;

/// `Some(true)` when a socket in LISTEN state is bound to `addr` or to the wildcard address
/// of its family on that port, `Some(false)` when none is, `None` when this OS does not say.
#[cfg(target_os = "linux")]
pub fn is_listening(addr: SocketAddr) -> Option<bool> {
    let table = if addr.is_ipv4() {
        procfs::net::tcp()
    } else {
        procfs::net::tcp6()
    }
    .ok()?;
    Some(table.iter().any(|e| {
        e.state == procfs::net::TcpState::Listen
            && e.local_address.port() == addr.port()
            && (e.local_address.ip() == addr.ip() || e.local_address.ip().is_unspecified())
    }))
}

#[cfg(not(target_os = "linux"))]
pub fn is_listening(_addr: SocketAddr) -> Option<bool> {
    None
}
