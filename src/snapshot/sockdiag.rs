//! The TCP listener on a port as NETLINK_SOCK_DIAG (inet_diag) reports it: its backlog, its
//! accept queue now and its inode. The request is built and the reply parsed from bytes
//! (`request`, `parse`), tested on literal messages; `listener` only moves them through a
//! netlink socket (nix, no `unsafe`).

/// A listening socket as sock_diag reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DiagListener {
    /// idiag_wqueue: the backlog the listener was created with (capped by somaxconn).
    pub backlog: u64,
    /// idiag_rqueue: connections waiting in the accept queue now.
    pub queued: u64,
    pub inode: u64,
}

const SOCK_DIAG_BY_FAMILY: u16 = 20;
const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;
const NLM_F_REQUEST: u16 = 0x1;
const NLM_F_DUMP: u16 = 0x300;
const IPPROTO_TCP: u8 = 6;
const TCP_LISTEN: u32 = 10;
/// struct nlmsghdr.
const NLMSG_HDR: usize = 16;
/// struct inet_diag_msg up to and including idiag_inode.
const DIAG_MSG: usize = 72;

/// Address families of the request (AF_INET, AF_INET6 as Linux numbers them).
pub const AF_INET: u8 = 2;
pub const AF_INET6: u8 = 10;

/// A dump request for every TCP listener of `family`: nlmsghdr (16) + inet_diag_req_v2 (56).
pub fn request(family: u8) -> [u8; 72] {
    let mut req = [0u8; 72];
    req[0..4].copy_from_slice(&72u32.to_ne_bytes());
    req[4..6].copy_from_slice(&SOCK_DIAG_BY_FAMILY.to_ne_bytes());
    req[6..8].copy_from_slice(&(NLM_F_REQUEST | NLM_F_DUMP).to_ne_bytes());
    req[8..12].copy_from_slice(&1u32.to_ne_bytes());
    req[16] = family;
    req[17] = IPPROTO_TCP;
    req[20..24].copy_from_slice(&(1u32 << TCP_LISTEN).to_ne_bytes());
    req
}

/// What one datagram of the reply says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Parsed {
    /// The last listener on the port in this datagram.
    pub found: Option<DiagListener>,
    /// The dump ended (NLMSG_DONE, NLMSG_ERROR or a malformed message): read no more.
    pub end: bool,
}

fn ne_u32(b: &[u8], at: usize) -> Option<u32> {
    let s = b.get(at..at.checked_add(4)?)?;
    Some(u32::from_ne_bytes([s[0], s[1], s[2], s[3]]))
}

fn ne_u16(b: &[u8], at: usize) -> Option<u16> {
    let s = b.get(at..at.checked_add(2)?)?;
    Some(u16::from_ne_bytes([s[0], s[1]]))
}

/// Parse one datagram of netlink messages, looking for the listener on local `port`.
pub fn parse(buf: &[u8], port: u16) -> Parsed {
    let mut out = Parsed::default();
    let mut off = 0usize;
    while off.saturating_add(NLMSG_HDR) <= buf.len() {
        let (Some(len), Some(ty)) = (ne_u32(buf, off), ne_u16(buf, off + 4)) else {
            break;
        };
        let len = len as usize;
        let Some(msg_end) = off
            .checked_add(len)
            .filter(|&e| len >= NLMSG_HDR && e <= buf.len())
        else {
            out.end = true;
            return out;
        };
        if ty == NLMSG_DONE || ty == NLMSG_ERROR {
            out.end = true;
            return out;
        }
        // inet_diag_msg: family, state, timer, retrans, id{sport(be16) ...} at +4;
        // rqueue at +56, wqueue at +60, uid at +64, inode at +68.
        let m = &buf[off + NLMSG_HDR..msg_end];
        if m.len() >= DIAG_MSG && u16::from_be_bytes([m[4], m[5]]) == port {
            let (Some(rq), Some(wq), Some(inode)) = (ne_u32(m, 56), ne_u32(m, 60), ne_u32(m, 68))
            else {
                break;
            };
            out.found = Some(DiagListener {
                backlog: u64::from(wq),
                queued: u64::from(rq),
                inode: u64::from(inode),
            });
        }
        // Messages are aligned to 4 bytes.
        match len.checked_add(3).and_then(|l| off.checked_add(l & !3)) {
            Some(next) => off = next,
            None => break,
        }
    }
    out
}

/// Look up the TCP listener on `port`, IPv4 first.
#[cfg(target_os = "linux")]
pub fn listener(port: u16) -> Option<DiagListener> {
    listener_family(AF_INET, port).or_else(|| listener_family(AF_INET6, port))
}

#[cfg(target_os = "linux")]
fn listener_family(family: u8, port: u16) -> Option<DiagListener> {
    use nix::sys::socket::{
        AddressFamily, MsgFlags, NetlinkAddr, SockFlag, SockProtocol, SockType, recv, sendto,
        socket,
    };
    use std::os::fd::AsRawFd;
    let fd = socket(
        AddressFamily::Netlink,
        SockType::Datagram,
        SockFlag::SOCK_CLOEXEC,
        SockProtocol::NetlinkSockDiag,
    )
    .ok()?;
    let req = request(family);
    sendto(
        fd.as_raw_fd(),
        &req,
        &NetlinkAddr::new(0, 0),
        MsgFlags::empty(),
    )
    .ok()?;
    let mut buf = vec![0u8; 65536];
    let mut found = None;
    loop {
        let n = match recv(fd.as_raw_fd(), &mut buf, MsgFlags::empty()) {
            Ok(n) if n > 0 => n,
            _ => break,
        };
        let p = parse(&buf[..n], port);
        if p.found.is_some() {
            found = p.found;
        }
        if p.end {
            break;
        }
    }
    found
}

/// Elsewhere there is no sock_diag: the flood's report says what it could not observe.
#[cfg(not(target_os = "linux"))]
pub fn listener(_port: u16) -> Option<DiagListener> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(len: u32, ty: u16) -> Vec<u8> {
        let mut h = Vec::new();
        h.extend_from_slice(&len.to_ne_bytes());
        h.extend_from_slice(&ty.to_ne_bytes());
        h.extend_from_slice(&[0u8; 10]);
        h
    }

    /// One SOCK_DIAG_BY_FAMILY message for a listener on `port`.
    fn msg(port: u16, rq: u32, wq: u32, inode: u32) -> Vec<u8> {
        let mut m = header(16 + 72, SOCK_DIAG_BY_FAMILY);
        let mut d = [0u8; 72];
        d[0] = AF_INET;
        d[1] = TCP_LISTEN as u8;
        d[4..6].copy_from_slice(&port.to_be_bytes());
        d[56..60].copy_from_slice(&rq.to_ne_bytes());
        d[60..64].copy_from_slice(&wq.to_ne_bytes());
        d[68..72].copy_from_slice(&inode.to_ne_bytes());
        m.extend_from_slice(&d);
        m
    }

    #[test]
    fn request_bytes() {
        let r = request(AF_INET6);
        assert_eq!(u32::from_ne_bytes(r[0..4].try_into().unwrap()), 72);
        assert_eq!(u16::from_ne_bytes(r[4..6].try_into().unwrap()), 20);
        assert_eq!(u16::from_ne_bytes(r[6..8].try_into().unwrap()), 0x301);
        assert_eq!(r[16], 10);
        assert_eq!(r[17], 6);
        assert_eq!(u32::from_ne_bytes(r[20..24].try_into().unwrap()), 1 << 10);
    }

    #[test]
    fn finds_the_port() {
        let mut buf = msg(80, 1, 128, 77);
        buf.extend(msg(8080, 3, 4096, 99));
        buf.extend(msg(443, 0, 511, 5));
        let p = parse(&buf, 8080);
        assert_eq!(
            p.found,
            Some(DiagListener {
                backlog: 4096,
                queued: 3,
                inode: 99
            })
        );
        assert!(!p.end);
        assert_eq!(parse(&buf, 22), Parsed::default());
    }

    #[test]
    fn done_and_error_end_the_dump() {
        let mut buf = msg(8080, 0, 10, 1);
        buf.extend(header(20, NLMSG_DONE));
        buf.extend([0u8; 4]);
        buf.extend(msg(8080, 0, 20, 2));
        let p = parse(&buf, 8080);
        assert_eq!(p.found.map(|d| d.inode), Some(1));
        assert!(p.end);
        assert!(parse(&header(16, NLMSG_ERROR), 1).end);
    }

    #[test]
    fn malformed_input_is_not_read_past() {
        // A length past the buffer, a length below the header, a truncated header.
        assert!(parse(&header(4096, SOCK_DIAG_BY_FAMILY), 1).end);
        assert!(parse(&header(3, SOCK_DIAG_BY_FAMILY), 1).end);
        assert_eq!(parse(&[1, 2, 3], 1), Parsed::default());
        assert_eq!(parse(&[], 1), Parsed::default());
        // A message too short for inet_diag_msg is skipped.
        let mut short = header(16 + 8, SOCK_DIAG_BY_FAMILY);
        short.extend([0u8; 8]);
        assert_eq!(parse(&short, 0), Parsed::default());
        // u32::MAX length does not overflow.
        assert!(parse(&header(u32::MAX, SOCK_DIAG_BY_FAMILY), 1).end);
    }

    /// A listener of this process, as the kernel reports it.
    #[cfg(target_os = "linux")]
    #[test]
    fn live_listener() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let d = listener(port).expect("sock_diag sees the listener");
        assert!(d.backlog > 0);
        assert_eq!(d.queued, 0);
        assert_ne!(d.inode, 0);
    }
}
