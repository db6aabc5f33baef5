//! TCP sockets as NETLINK_SOCK_DIAG (inet_diag) reports them, filtered by state in the kernel:
//! a dump of the LISTEN state walks only the kernel's listening hash, so its cost does not grow
//! with the connections the host holds (`ss -ltn` reads them the same way). The messages are
//! built and parsed by `netlink-packet-sock-diag`, moved by a `netlink-sys` socket; `request`
//! and `parse` work on bytes and are tested on literal messages.

#[cfg(target_os = "linux")]
use std::io;
use std::net::IpAddr;

#[cfg(target_os = "linux")]
use netlink_packet_core::{
    NLM_F_DUMP, NLM_F_REQUEST, NetlinkHeader, NetlinkMessage, NetlinkPayload,
};
#[cfg(target_os = "linux")]
use netlink_packet_sock_diag::SockDiagMessage;
#[cfg(target_os = "linux")]
use netlink_packet_sock_diag::inet::{ExtensionFlags, InetRequest, SocketId, StateFlags};

/// A listening socket as sock_diag reports it (what the flood reads of its target).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DiagListener {
    /// idiag_wqueue: the backlog the listener was created with (capped by somaxconn).
    pub backlog: u64,
    /// idiag_rqueue: connections waiting in the accept queue now.
    pub queued: u64,
    pub inode: u64,
}

/// One TCP socket of a dump.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DiagSocket {
    /// TCP state (10 LISTEN, 13 bound but inactive, …), as the kernel numbers them.
    pub state: u8,
    pub addr: IpAddr,
    pub port: u16,
    pub inode: u64,
    /// idiag_rqueue: for a listener, connections waiting in its accept queue.
    pub queued: u64,
    /// idiag_wqueue: for a listener, its backlog.
    pub backlog: u64,
}

impl DiagSocket {
    pub fn listener(&self) -> DiagListener {
        DiagListener {
            backlog: self.backlog,
            queued: self.queued,
            inode: self.inode,
        }
    }
}

/// The socket inode a /proc/PID/fd link names (`socket:[N]`).
pub fn socket_inode(link: &str) -> Option<u64> {
    link.strip_prefix("socket:[")?
        .strip_suffix(']')?
        .parse()
        .ok()
}

/// TCP_LISTEN.
pub const TCP_LISTEN: u8 = 10;
/// TCP_BOUND_INACTIVE (Linux ≥ 6.7): bound, neither listening nor connected.
pub const TCP_BOUND_INACTIVE: u8 = 13;
/// Address families of the request (AF_INET, AF_INET6 as Linux numbers them).
pub const AF_INET: u8 = 2;
pub const AF_INET6: u8 = 10;
#[cfg(target_os = "linux")]
const IPPROTO_TCP: u8 = 6;
/// Sockets read from one dump at most: a dump holding more is cut there, and says so.
pub const MAX_SOCKETS: usize = 1 << 18;

#[cfg(target_os = "linux")]
/// A dump request for the TCP sockets of `family` in the states of the bit mask `states`
/// (1 << TCP_LISTEN, …), optionally only those on local port `port`: the kernel filters the
/// listening hash by port itself.
pub fn request(family: u8, states: u32, port: Option<u16>) -> Vec<u8> {
    let mut socket_id = if family == AF_INET6 {
        SocketId::new_v6()
    } else {
        SocketId::new_v4()
    };
    socket_id.source_port = port.unwrap_or(0);
    let mut header = NetlinkHeader::default();
    header.flags = NLM_F_REQUEST | NLM_F_DUMP;
    header.sequence_number = 1;
    let mut msg = NetlinkMessage::new(
        header,
        SockDiagMessage::InetRequest(InetRequest {
            family,
            protocol: IPPROTO_TCP,
            extensions: ExtensionFlags::empty(),
            // from_bits_retain: TCP_BOUND_INACTIVE is newer than the crate's flag names.
            states: StateFlags::from_bits_retain(states),
            socket_id,
        })
        .into(),
    );
    msg.finalize();
    let mut buf = vec![0u8; msg.buffer_len()];
    msg.serialize(&mut buf);
    buf
}

#[cfg(target_os = "linux")]
/// What one datagram of a dump's reply says.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Parsed {
    pub sockets: Vec<DiagSocket>,
    /// The dump ended (NLMSG_DONE): read no more.
    pub end: bool,
}

#[cfg(target_os = "linux")]
/// Parse one datagram of netlink messages. An NLMSG_ERROR is the kernel's refusal (its
/// errno); a message that does not parse ends the dump with `InvalidData`.
pub fn parse(buf: &[u8]) -> io::Result<Parsed> {
    let mut out = Parsed::default();
    let mut off = 0usize;
    while off < buf.len() {
        let msg = NetlinkMessage::<SockDiagMessage>::deserialize(&buf[off..])
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.to_string()))?;
        let len = msg.header.length as usize;
        match msg.payload {
            NetlinkPayload::Done(_) => {
                out.end = true;
                return Ok(out);
            }
            NetlinkPayload::Error(e) => {
                return Err(match e.code {
                    Some(c) => io::Error::from_raw_os_error(c.get().saturating_neg()),
                    None => io::Error::other("sock_diag answered with an empty error"),
                });
            }
            NetlinkPayload::InnerMessage(SockDiagMessage::InetResponse(r)) => {
                let h = &r.header;
                out.sockets.push(DiagSocket {
                    state: h.state,
                    addr: h.socket_id.source_address,
                    port: h.socket_id.source_port,
                    inode: u64::from(h.inode),
                    queued: u64::from(h.recv_queue),
                    backlog: u64::from(h.send_queue),
                });
            }
            _ => {}
        }
        // Messages are aligned to 4 bytes; a length below the header cannot move on.
        if len < 16 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "netlink message shorter than its header",
            ));
        }
        off = match len.checked_add(3).and_then(|l| off.checked_add(l & !3)) {
            Some(next) => next,
            None => break,
        };
    }
    Ok(out)
}

/// A NETLINK_SOCK_DIAG socket. It answers for the network namespace it was opened in, so a
/// thread that joined another namespace can open it there and hand it back.
#[cfg(target_os = "linux")]
pub struct Diag {
    socket: netlink_sys::Socket,
}

/// The sockets of a dump, and whether it was cut at [`MAX_SOCKETS`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Dump {
    pub sockets: Vec<DiagSocket>,
    pub truncated: bool,
}

#[cfg(target_os = "linux")]
impl Diag {
    /// Open one in this thread's network namespace (refused where netlink is: seccomp, some
    /// sandboxes).
    pub fn open() -> io::Result<Diag> {
        let socket = netlink_sys::Socket::new(netlink_sys::protocols::NETLINK_SOCK_DIAG)?;
        // The kernel answers at once; a bound on the wait all the same.
        nix::sys::socket::setsockopt(
            &socket,
            nix::sys::socket::sockopt::ReceiveTimeout,
            &nix::sys::time::TimeVal::new(2, 0),
        )?;
        Ok(Diag { socket })
    }

    /// Dump the TCP sockets of `family` in `states` (a bit mask), on local `port` if given.
    pub fn dump(&self, family: u8, states: u32, port: Option<u16>) -> io::Result<Dump> {
        let req = request(family, states, port);
        let addr = netlink_sys::SocketAddr::new(0, 0);
        self.socket.send_to(&req, &addr, 0)?;
        let mut buf = vec![0u8; 1 << 16];
        let mut out = Dump::default();
        loop {
            let n = self.socket.recv(&mut &mut buf[..], 0)?;
            if n == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "sock_diag dump ended without NLMSG_DONE",
                ));
            }
            let p = parse(&buf[..n])?;
            if !out.truncated {
                let room = MAX_SOCKETS.saturating_sub(out.sockets.len());
                out.truncated = p.sockets.len() > room;
                out.sockets.extend(p.sockets.into_iter().take(room));
            }
            if p.end {
                return Ok(out);
            }
        }
    }

    /// TCP listeners, IPv4 then IPv6.
    pub fn listeners(&self) -> io::Result<Dump> {
        self.both(1 << TCP_LISTEN, None)
    }

    /// TCP sockets on local `port` that are not listening (a server's connections), IPv4
    /// then IPv6. The kernel walks its established hash for them but sends only those.
    pub fn connections_on(&self, port: u16) -> io::Result<Dump> {
        let not_listening = ((1u32 << 12) - 2) & !(1 << TCP_LISTEN);
        self.both(not_listening, Some(port))
    }

    fn both(&self, states: u32, port: Option<u16>) -> io::Result<Dump> {
        let mut d = self.dump(AF_INET, states, port)?;
        let d6 = self.dump(AF_INET6, states, port)?;
        d.truncated |= d6.truncated;
        let room = MAX_SOCKETS.saturating_sub(d.sockets.len());
        d.truncated |= d6.sockets.len() > room;
        d.sockets.extend(d6.sockets.into_iter().take(room));
        Ok(d)
    }
}

/// The TCP listener on `port` (the kernel filters by port), IPv4 first.
#[cfg(target_os = "linux")]
pub fn listener(port: u16) -> Option<DiagListener> {
    let d = Diag::open().ok()?;
    [AF_INET, AF_INET6].into_iter().find_map(|f| {
        d.dump(f, 1 << TCP_LISTEN, Some(port))
            .ok()?
            .sockets
            .iter()
            .find(|s| s.port == port)
            .map(DiagSocket::listener)
    })
}

/// Elsewhere there is no sock_diag: the flood's report says what it could not observe.
#[cfg(not(target_os = "linux"))]
pub fn listener(_port: u16) -> Option<DiagListener> {
    None
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;
    use netlink_packet_core::{DoneMessage, ErrorMessage};
    use netlink_packet_sock_diag::inet::{InetResponse, InetResponseHeader};

    fn bytes(payload: NetlinkPayload<SockDiagMessage>) -> Vec<u8> {
        let mut m = NetlinkMessage::new(NetlinkHeader::default(), payload);
        m.finalize();
        let mut b = vec![0u8; m.buffer_len()];
        m.serialize(&mut b);
        b
    }

    /// One SOCK_DIAG_BY_FAMILY answer for a socket on `port`, as the kernel sends it.
    fn msg(state: u8, port: u16, rq: u32, wq: u32, inode: u32) -> Vec<u8> {
        let mut id = SocketId::new_v4();
        id.source_port = port;
        id.source_address = "127.0.0.1".parse().unwrap();
        bytes(NetlinkPayload::InnerMessage(SockDiagMessage::InetResponse(
            Box::new(InetResponse {
                header: InetResponseHeader {
                    family: AF_INET,
                    state,
                    timer: None,
                    socket_id: id,
                    recv_queue: rq,
                    send_queue: wq,
                    uid: 0,
                    inode,
                },
                nlas: Default::default(),
            }),
        )))
    }

    fn done() -> Vec<u8> {
        bytes(NetlinkPayload::Done(DoneMessage::default()))
    }

    #[test]
    fn request_bytes() {
        let r = request(AF_INET6, 1 << TCP_LISTEN, Some(8080));
        // nlmsghdr (16) + inet_diag_req_v2 (56)
        assert_eq!(r.len(), 72);
        assert_eq!(u32::from_ne_bytes(r[0..4].try_into().unwrap()), 72);
        assert_eq!(u16::from_ne_bytes(r[4..6].try_into().unwrap()), 20);
        assert_eq!(u16::from_ne_bytes(r[6..8].try_into().unwrap()), 0x301);
        assert_eq!(r[16], 10);
        assert_eq!(r[17], 6);
        assert_eq!(u32::from_ne_bytes(r[20..24].try_into().unwrap()), 1 << 10);
        // idiag_sport, network order: the kernel's own filter on the listening hash
        assert_eq!(u16::from_be_bytes([r[24], r[25]]), 8080);
        // a state the crate has no name for is sent as it is
        let b = request(AF_INET, 1 << TCP_BOUND_INACTIVE, None);
        assert_eq!(u32::from_ne_bytes(b[20..24].try_into().unwrap()), 1 << 13);
        assert_eq!(u16::from_be_bytes([b[24], b[25]]), 0);
    }

    #[test]
    fn reads_every_socket_until_done() {
        let mut buf = msg(TCP_LISTEN, 80, 1, 128, 77);
        buf.extend(msg(TCP_LISTEN, 8080, 3, 4096, 99));
        buf.extend(msg(TCP_BOUND_INACTIVE, 40000, 0, 0, 5));
        let p = parse(&buf).unwrap();
        assert!(!p.end);
        assert_eq!(p.sockets.len(), 3);
        assert_eq!(
            p.sockets[1].listener(),
            DiagListener {
                backlog: 4096,
                queued: 3,
                inode: 99
            }
        );
        assert_eq!(p.sockets[2].state, TCP_BOUND_INACTIVE);
        assert_eq!(p.sockets[2].port, 40000);
        assert_eq!(p.sockets[0].addr, "127.0.0.1".parse::<IpAddr>().unwrap());

        let mut end = msg(TCP_LISTEN, 8080, 0, 10, 1);
        end.extend(done());
        end.extend(msg(TCP_LISTEN, 8081, 0, 20, 2));
        let p = parse(&end).unwrap();
        assert!(p.end);
        assert_eq!(p.sockets.len(), 1, "nothing after NLMSG_DONE");
    }

    #[test]
    fn a_refusal_is_its_errno() {
        let mut m = ErrorMessage::default();
        m.code = std::num::NonZeroI32::new(-1);
        m.header = vec![0u8; 16];
        let e = bytes(NetlinkPayload::Error(m));
        let err = parse(&e).unwrap_err();
        assert_eq!(err.raw_os_error(), Some(1), "{err}");
    }

    #[test]
    fn malformed_input_is_not_read_past() {
        let good = msg(TCP_LISTEN, 80, 0, 1, 1);
        // A length past the buffer, a length below the header, a truncated header.
        let mut long = good.clone();
        long[0..4].copy_from_slice(&4096u32.to_ne_bytes());
        assert!(parse(&long).is_err());
        let mut short = good.clone();
        short[0..4].copy_from_slice(&3u32.to_ne_bytes());
        assert!(parse(&short).is_err());
        assert!(parse(&good[..10]).is_err());
        let mut max = good.clone();
        max[0..4].copy_from_slice(&u32::MAX.to_ne_bytes());
        assert!(parse(&max).is_err());
        // A message too short for inet_diag_msg.
        let mut cut = good[..16 + 8].to_vec();
        cut[0..4].copy_from_slice(&24u32.to_ne_bytes());
        assert!(parse(&cut).is_err());
        assert_eq!(parse(&[]).unwrap(), Parsed::default());
    }

    /// A listener of this process, as the kernel reports it.
    #[test]
    fn live_listener() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let d = listener(port).expect("sock_diag sees the listener");
        assert!(d.backlog > 0);
        assert_eq!(d.queued, 0);
        assert_ne!(d.inode, 0);
        let all = Diag::open().unwrap().listeners().unwrap();
        assert!(
            all.sockets
                .iter()
                .any(|s| s.port == port && s.inode == d.inode)
        );
        assert!(!all.truncated);
    }
}
