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

/// The address a running Redis announces in its process title ("redis-server 127.0.0.1:6379"):
/// only a hint of which of its own listening sockets to ask; never dialed on its own.
pub fn title_addr(cmdline: &[String]) -> Option<std::net::SocketAddr> {
    let joined = cmdline.join(" ");
    let addr = joined.split_whitespace().nth(1)?;
    let addr = addr.replace("*:", "127.0.0.1:");
    addr.parse().ok()
}

/// Time allowed to connect, and to write and read the answer.
const CONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_millis(500);
const IO_TIMEOUT: std::time::Duration = std::time::Duration::from_millis(1000);

/// Ask a connected Redis for `INFO clients` (bounded in time and size). Errors name the
/// socket (`shown`) and at most the error word of the answer (`NOAUTH`, `ERR`).
pub fn query<S: std::io::Read + std::io::Write>(mut s: S, shown: &str) -> Result<u64, String> {
    s.write_all(b"INFO clients\r\n")
        .map_err(|e| format!("{shown}: {e}"))?;
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
            Err(e) if got == 0 => return Err(format!("{shown}: {e}")),
            Err(_) => break,
        }
    }
    let text = String::from_utf8_lossy(&buf[..got]);
    parse_info(&text).ok_or_else(|| {
        let word = text
            .strip_prefix('-')
            .and_then(|r| r.split_whitespace().next())
            .filter(|w| w.len() <= 16 && w.chars().all(|c| c.is_ascii_uppercase()));
        match word {
            Some(w) => format!("{shown}: the server answered -{w}"),
            None => format!("{shown}: no maxclients in the answer"),
        }
    })
}

/// `maxclients` of the running Redis `pid`, asked over a socket it listens on itself: a
/// loopback TCP listener (the one its title names first) in its own network namespace, else
/// a Unix socket it holds. Nothing else is dialed; the error says why not.
pub fn from_pid(
    proc_root: &std::path::Path,
    pid: u32,
    cmdline: &[String],
) -> Result<Sourced, String> {
    use crate::snapshot::target;
    if !cfg!(target_os = "linux") {
        return Err("the sockets a process listens on are read on Linux only; not dialed".into());
    }
    let listening = target::listening(proc_root, &[pid]);
    let mut tcp = listening.loopback();
    if let Some(t) = title_addr(cmdline) {
        tcp.sort_by_key(|a| a.port() != t.port());
    }
    let set = |s: &std::net::TcpStream| {
        s.set_read_timeout(Some(IO_TIMEOUT))
            .and_then(|_| s.set_write_timeout(Some(IO_TIMEOUT)))
            .map_err(|e| e.to_string())
    };
    let mut why = Vec::new();
    if let Some(addr) = tcp.first() {
        let asked = target::dial_tcp(proc_root, pid, *addr, CONNECT_TIMEOUT)
            .and_then(|s| set(&s).map(|_| s))
            .and_then(|s| query(s, &addr.to_string()));
        match asked {
            Ok(v) => {
                return Ok(Sourced {
                    value: v,
                    source: format!("INFO clients on {addr} (a socket PID {pid} listens on)"),
                });
            }
            Err(e) => why.push(e),
        }
    }
    if let Some(path) = listening.unix.first() {
        let fs = target::TargetFs::of_pid(proc_root, pid);
        let asked = fs.dial_unix(path, IO_TIMEOUT).and_then(|s| query(s, path));
        match asked {
            Ok(v) => {
                return Ok(Sourced {
                    value: v,
                    source: format!("INFO clients on {path} (a socket PID {pid} listens on)"),
                });
            }
            Err(e) => why.push(e),
        }
    }
    if why.is_empty() {
        why.push(format!(
            "PID {pid} listens on no loopback address nor Unix socket; not dialed"
        ));
    }
    Err(why.join("; "))
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
        // A server's answer: read, never echoed beyond its error word.
        struct Answer(&'static [u8], Vec<u8>);
        impl std::io::Read for Answer {
            fn read(&mut self, b: &mut [u8]) -> std::io::Result<usize> {
                std::io::Read::read(&mut self.0, b)
            }
        }
        impl std::io::Write for Answer {
            fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
                self.1.write(b)
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let a = Answer(b"-NOAUTH \x1b]0;x\x07 required.\r\n", Vec::new());
        assert_eq!(query(a, "s"), Err("s: the server answered -NOAUTH".into()));
        let a = Answer(b"+\x1b[2J secret\r\n", Vec::new());
        assert_eq!(query(a, "s"), Err("s: no maxclients in the answer".into()));
        let a = Answer(b"$30\r\n# Clients\r\nmaxclients:77\r\n", Vec::new());
        assert_eq!(query(a, "s"), Ok(77));
        let c = vec!["redis-server 127.0.0.1:6390".to_string()];
        assert_eq!(title_addr(&c), Some("127.0.0.1:6390".parse().unwrap()));
        let c = vec!["redis-server *:6379".to_string()];
        assert_eq!(title_addr(&c), Some("127.0.0.1:6379".parse().unwrap()));
    }
}
