//! Redis: `maxclients` (default 10000). At start Redis raises its fd limit to maxclients + 32
//! when it can, else lowers maxclients to the fd limit − 32 and logs "maxclients has been
//! reduced to N to compensate for low ulimit". A running server reports the value it uses in
//! `INFO clients` (`maxclients:`), read here over its own port; beyond it Redis accepts,
//! answers "-ERR max number of clients reached" and closes.

use crate::snapshot::Sourced;

/// Redis's default maxclients and the fds it keeps for itself (CONFIG_MIN_RESERVED_FDS).
pub const DEFAULT_MAXCLIENTS: u64 = 10000;
pub const RESERVED_FDS: u64 = 32;

/// `maxclients:N` from an `INFO clients` answer.
pub fn parse_info(text: &str) -> Option<u64> {
    text.lines()
        .find_map(|l| l.trim().strip_prefix("maxclients:"))
        .and_then(|v| v.trim().parse().ok())
}

/// The address a running Redis announces in its process title ("redis-server 127.0.0.1:6379").
pub fn title_addr(cmdline: &[String]) -> Option<std::net::SocketAddr> {
    let joined = cmdline.join(" ");
    let addr = joined.split_whitespace().nth(1)?;
    let addr = addr.replace("*:", "127.0.0.1:");
    addr.parse().ok()
}

/// Ask a Redis at `addr` for `INFO clients` (bounded in time and size).
pub fn query(addr: std::net::SocketAddr) -> Result<Sourced, String> {
    use std::io::{Read, Write};
    use std::time::Duration;
    let mut s = std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(500))
        .map_err(|e| format!("{addr}: {e}"))?;
    let t = Some(Duration::from_millis(1000));
    s.set_read_timeout(t).map_err(|e| e.to_string())?;
    s.write_all(b"INFO clients\r\n")
        .map_err(|e| format!("{addr}: {e}"))?;
    let mut buf = vec![0u8; 1 << 16];
    let mut got = 0;
    while got < buf.len() {
        match s.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => {
                got += n;
                if parse_info(&String::from_utf8_lossy(&buf[..got])).is_some() {
                    break;
                }
            }
            Err(e) if got == 0 => return Err(format!("{addr}: {e}")),
            Err(_) => break,
        }
    }
    let text = String::from_utf8_lossy(&buf[..got]);
    match parse_info(&text) {
        Some(v) => Ok(Sourced {
            value: v,
            source: format!("INFO clients on {addr}"),
        }),
        None => Err(format!(
            "{addr}: no maxclients in the answer ({})",
            text.lines()
                .next()
                .unwrap_or("")
                .chars()
                .take(80)
                .collect::<String>()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses() {
        assert_eq!(
            parse_info("$207\r\n# Clients\r\nconnected_clients:1\r\nmaxclients:992\r\n"),
            Some(992)
        );
        assert_eq!(parse_info("-NOAUTH Authentication required.\r\n"), None);
        let c = vec!["redis-server 127.0.0.1:6390".to_string()];
        assert_eq!(title_addr(&c), Some("127.0.0.1:6390".parse().unwrap()));
        let c = vec!["redis-server *:6379".to_string()];
        assert_eq!(title_addr(&c), Some("127.0.0.1:6379".parse().unwrap()));
    }
}
