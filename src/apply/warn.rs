//! Warnings about a widened ephemeral port range: servers listening inside it (a client can
//! take such a port as its source port while the server restarts) and reserved ports in it.

use crate::plan::Plan;
use crate::snapshot::{PortRange, Snapshot};

const KEY: &str = "net.ipv4.ip_local_port_range";

fn parse_range(v: &str) -> Option<PortRange> {
    let mut it = v.split_whitespace().map(|x| x.parse::<u16>().ok());
    Some(PortRange {
        lo: it.next()??,
        hi: it.next()??,
    })
}

fn list(ports: &[u16]) -> String {
    let mut s: Vec<String> = ports.iter().take(12).map(|p| p.to_string()).collect();
    if ports.len() > 12 {
        s.push(format!("… ({} in all)", ports.len()));
    }
    s.join(", ")
}

/// Warnings for the range the plan sets, given the listening ports seen here.
pub fn port_range(p: &Plan, here: &Snapshot, listening: &[u16]) -> Vec<String> {
    let Some(new) = p
        .changes
        .iter()
        .find(|c| c.key == KEY)
        .and_then(|c| parse_range(&c.to))
    else {
        return Vec::new();
    };
    let reserved = &here.net.ip_local_reserved_ports;
    let is_reserved = |port: u16| reserved.iter().any(|r| r.contains(port));
    let mut out = Vec::new();
    let exposed: Vec<u16> = listening
        .iter()
        .copied()
        .filter(|&port| new.contains(port) && !is_reserved(port))
        .collect();
    if !exposed.is_empty() {
        out.push(format!(
            "the new port range {}–{} includes ports servers listen on here ({}): while such a server restarts, a client can take its port as a source port and the server cannot bind it; reserve them first (net.ipv4.ip_local_reserved_ports = {})",
            new.lo,
            new.hi,
            list(&exposed),
            exposed.iter().map(|p| p.to_string()).collect::<Vec<_>>().join(",")
        ));
    }
    let inside: u64 = reserved
        .iter()
        .map(|r| {
            let lo = r.lo.max(new.lo);
            let hi = r.hi.min(new.hi);
            PortRange { lo, hi }.len()
        })
        .sum();
    if inside > 0 {
        out.push(format!(
            "{inside} reserved port(s) (net.ipv4.ip_local_reserved_ports) lie inside the new range {}–{}: outgoing connections get {} of its {} ports",
            new.lo,
            new.hi,
            new.len().saturating_sub(inside),
            new.len()
        ));
    }
    out
}

/// The TCP ports listened on in this network namespace.
pub fn listening_ports() -> Vec<u16> {
    #[cfg(target_os = "linux")]
    {
        use crate::snapshot::linux;
        linux::tcp_sockets(&linux::Roots::default(), "self", &mut Vec::new())
            .listen_ports
            .into_iter()
            .collect()
    }
    #[cfg(not(target_os = "linux"))]
    {
        Vec::new()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn parses_ranges() {
        assert_eq!(
            super::parse_range("10240 65535"),
            Some(crate::snapshot::PortRange {
                lo: 10240,
                hi: 65535
            })
        );
        assert_eq!(super::parse_range("x"), None);
    }
}
