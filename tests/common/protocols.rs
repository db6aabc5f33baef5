//! Real protocol sessions for the catalog's servers: a connection counts as held only once the
//! server has answered it as its protocol says (an MQTT CONNACK, an AMQP Connection.Open-Ok, a
//! memcached VERSION), or, where the protocol has the client wait (an HTTP request not yet
//! complete, a PostgreSQL startup waiting for its server), when the server has not refused it.
//! Every read has a timeout.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

fn connect(port: u16, read_timeout: Duration) -> Result<TcpStream, String> {
    let s = TcpStream::connect_timeout(
        &SocketAddr::from(([127, 0, 0, 1], port)),
        Duration::from_secs(3),
    )
    .map_err(|e| format!("connect: {e}"))?;
    s.set_read_timeout(Some(read_timeout))
        .map_err(|e| e.to_string())?;
    s.set_nodelay(true).ok();
    Ok(s)
}

fn read_exact(s: &mut TcpStream, n: usize) -> Result<Vec<u8>, String> {
    let mut b = vec![0u8; n];
    s.read_exact(&mut b).map_err(|e| e.to_string())?;
    Ok(b)
}

/// MQTT 3.1.1 CONNECT with a clean session and client id `id`; Ok once CONNACK accepts it.
pub fn mqtt_connect(port: u16, id: &str) -> Result<TcpStream, String> {
    let mut s = connect(port, Duration::from_secs(1))?;
    let mut vh = b"\x00\x04MQTT\x04\x02\x00\x3c".to_vec();
    vh.extend((id.len() as u16).to_be_bytes());
    vh.extend(id.as_bytes());
    let mut msg = vec![0x10, vh.len() as u8];
    msg.extend(vh);
    s.write_all(&msg).map_err(|e| e.to_string())?;
    let ack = read_exact(&mut s, 4)?;
    match ack.as_slice() {
        [0x20, 0x02, _, 0] => Ok(s),
        other => Err(format!("CONNACK {other:?}")),
    }
}

/// memcached: `version`; Ok when it answers `VERSION …` (not "ERROR Too many open connections").
pub fn memcached_version(port: u16) -> Result<TcpStream, String> {
    let mut s = connect(port, Duration::from_secs(1))?;
    s.write_all(b"version\r\n").map_err(|e| e.to_string())?;
    let mut b = [0u8; 128];
    let n = s.read(&mut b).map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&b[..n]).into_owned();
    if text.starts_with("VERSION ") {
        Ok(s)
    } else {
        Err(text.trim().to_string())
    }
}

/// HTTP: a request whose headers are not finished yet (the server reads on, holding the
/// connection until its read timeout).
pub fn http_partial(port: u16) -> Result<TcpStream, String> {
    let mut s = connect(port, Duration::from_secs(3))?;
    s.write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\n")
        .map_err(|e| e.to_string())?;
    Ok(s)
}

/// HTTP/1.1 keep-alive: one `GET path` read to the end of its response (Content-Length),
/// then the connection is left idle; Ok while the server keeps it open (no `Connection: close`).
/// The response's status line is returned with it. A server that accepted but does not answer
/// within the read timeout (the connection waits in its accept queue) is an error.
pub fn http_keep_alive(port: u16, path: &str) -> Result<(TcpStream, String), String> {
    let mut s = connect(port, Duration::from_secs(1))?;
    s.write_all(format!("GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n").as_bytes())
        .map_err(|e| e.to_string())?;
    let mut b = Vec::new();
    let mut chunk = [0u8; 4096];
    let end = loop {
        if let Some(i) = b.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        if b.len() > 1 << 16 {
            return Err("response headers too long".into());
        }
        let n = s.read(&mut chunk).map_err(|e| e.to_string())?;
        if n == 0 {
            return Err("closed before a response".into());
        }
        b.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&b[..end]).to_ascii_lowercase();
    if head.contains("\r\nconnection: close") {
        return Err("Connection: close".into());
    }
    let len: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse().ok())
        .ok_or("no Content-Length")?;
    let mut have = b.len() - end;
    while have < len {
        let n = s.read(&mut chunk).map_err(|e| e.to_string())?;
        if n == 0 {
            return Err("closed in the body".into());
        }
        have += n;
    }
    let status = head.lines().next().unwrap_or("").trim().to_string();
    Ok((s, status))
}

/// PostgreSQL protocol v3 startup message for `user`/`database` (a pooler then holds the
/// client while it finds a server connection).
pub fn pg_startup(port: u16, user: &str, database: &str) -> Result<TcpStream, String> {
    let mut s = connect(port, Duration::from_secs(3))?;
    let mut body = 196608u32.to_be_bytes().to_vec();
    for (k, v) in [("user", user), ("database", database)] {
        body.extend(k.as_bytes());
        body.push(0);
        body.extend(v.as_bytes());
        body.push(0);
    }
    body.push(0);
    let mut msg = ((body.len() + 4) as u32).to_be_bytes().to_vec();
    msg.extend(body);
    s.write_all(&msg).map_err(|e| e.to_string())?;
    Ok(s)
}

/// Whether the server has closed `s` or sent an error on it (without waiting).
pub fn refused(s: &TcpStream) -> bool {
    s.set_nonblocking(true).ok();
    let mut b = [0u8; 1];
    let r = match s.peek(&mut b) {
        Ok(0) => true,
        Ok(_) => b[0] == b'E' || b[0] == b'-',
        Err(e) => e.kind() != std::io::ErrorKind::WouldBlock,
    };
    s.set_nonblocking(false).ok();
    r
}

fn amqp_frame(kind: u8, payload: &[u8]) -> Vec<u8> {
    let mut f = vec![kind, 0, 0];
    f.extend((payload.len() as u32).to_be_bytes());
    f.extend(payload);
    f.push(0xCE);
    f
}

/// One AMQP frame's method (class, method) and arguments.
fn amqp_method(s: &mut TcpStream) -> Result<(u16, u16, Vec<u8>), String> {
    let h = read_exact(s, 7)?;
    let n = u32::from_be_bytes([h[3], h[4], h[5], h[6]]) as usize;
    if n > 1 << 20 {
        return Err(format!("frame of {n} bytes"));
    }
    let body = read_exact(s, n + 1)?;
    if h[0] != 1 || n < 4 {
        return Err(format!("frame type {}", h[0]));
    }
    let class = u16::from_be_bytes([body[0], body[1]]);
    let method = u16::from_be_bytes([body[2], body[3]]);
    Ok((class, method, body[4..n].to_vec()))
}

fn shortstr(v: &mut Vec<u8>, s: &str) {
    v.push(s.len() as u8);
    v.extend(s.as_bytes());
}

/// AMQP 0-9-1 as guest/guest to vhost `/`: protocol header, Start-Ok, Tune-Ok (no heartbeat),
/// Open; Ok once Open-Ok arrived. A connection the broker has accepted but not started (no
/// Connection.Start within `wait`) is an error.
pub fn amqp_open(port: u16, wait: Duration) -> Result<TcpStream, String> {
    let mut s = connect(port, wait)?;
    s.write_all(b"AMQP\x00\x00\x09\x01")
        .map_err(|e| e.to_string())?;
    let (c, m, _) = amqp_method(&mut s).map_err(|e| format!("no Connection.Start: {e}"))?;
    if (c, m) != (10, 10) {
        return Err(format!("expected Connection.Start, got {c}.{m}"));
    }
    s.set_read_timeout(Some(Duration::from_secs(5))).ok();
    let mut p = vec![0, 10, 0, 11];
    p.extend(0u32.to_be_bytes()); // client-properties: empty table
    shortstr(&mut p, "PLAIN");
    let resp = b"\0guest\0guest";
    p.extend((resp.len() as u32).to_be_bytes());
    p.extend(resp);
    shortstr(&mut p, "en_US");
    s.write_all(&amqp_frame(1, &p)).map_err(|e| e.to_string())?;
    let (c, m, args) = amqp_method(&mut s)?;
    if (c, m) != (10, 30) || args.len() < 8 {
        return Err(format!("expected Connection.Tune, got {c}.{m}"));
    }
    let mut p = vec![0, 10, 0, 31];
    p.extend(&args[0..6]); // channel-max, frame-max as offered
    p.extend(0u16.to_be_bytes()); // no heartbeat
    s.write_all(&amqp_frame(1, &p)).map_err(|e| e.to_string())?;
    let mut p = vec![0, 10, 0, 40];
    shortstr(&mut p, "/");
    shortstr(&mut p, "");
    p.push(0);
    s.write_all(&amqp_frame(1, &p)).map_err(|e| e.to_string())?;
    match amqp_method(&mut s)? {
        (10, 41, _) => Ok(s),
        (c, m, a) => Err(format!(
            "Connection.Open answered {c}.{m}: {}",
            String::from_utf8_lossy(&a)
        )),
    }
}
