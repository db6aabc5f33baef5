//! Real servers started by tests under limits the test chooses, in a private network
//! namespace, and counted from outside (their /proc fd tables), independently of porttune.

use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Output};
use std::time::{Duration, Instant};

/// Run `f` on a thread of its own in a fresh network namespace with `lo` up. Everything it
/// starts (servers, porttune) inherits the namespace; the rest of the test process and the
/// host are untouched.
pub fn in_netns<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|s| {
        let h = s.spawn(|| {
            nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNET).expect("unshare -n");
            let st = Command::new("ip")
                .args(["link", "set", "lo", "up"])
                .status()
                .expect("ip link");
            assert!(st.success(), "ip link set lo up");
            f()
        });
        match h.join() {
            Ok(v) => v,
            Err(p) => std::panic::resume_unwind(p),
        }
    })
}

/// A server process and the processes it forked: killed (TERM, then KILL) on drop.
pub struct Server {
    pub child: Child,
    pub name: &'static str,
}

impl Server {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let pid = self.child.id();
        let mut all = descendants(pid);
        all.push(pid);
        for p in &all {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(*p as i32),
                nix::sys::signal::Signal::SIGTERM,
            );
        }
        let until = Instant::now() + Duration::from_secs(3);
        while Instant::now() < until {
            if let Ok(Some(_)) = self.child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        for p in &all {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(*p as i32),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
        let _ = self.child.wait();
        // until every process of it has exited (a zombie holds no socket): a server started
        // next on the same port must not find it still bound (seen under load: nginx's workers)
        let until = Instant::now() + Duration::from_secs(5);
        let alive = |p: &u32| {
            std::fs::read_to_string(format!("/proc/{p}/stat"))
                .ok()
                .and_then(|s| Some(s.rsplit_once(") ")?.1.chars().next()? != 'Z'))
                .unwrap_or(false)
        };
        while all.iter().any(alive) && Instant::now() < until {
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

fn ppid(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat.rsplit_once(") ")?
        .1
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// Children of `pid`.
pub fn children(pid: u32) -> Vec<u32> {
    let mut v: Vec<u32> = std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|p| ppid(*p) == Some(pid))
        .collect();
    v.sort_unstable();
    v
}

/// All descendants of `pid`.
pub fn descendants(pid: u32) -> Vec<u32> {
    let mut out = Vec::new();
    let mut todo = vec![pid];
    while let Some(p) = todo.pop() {
        for c in children(p) {
            out.push(c);
            todo.push(c);
        }
    }
    out
}

/// Socket fds a process holds now (listeners, channels and connections).
pub fn socket_fds(pid: u32) -> u64 {
    let Ok(rd) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
        return 0;
    };
    rd.flatten()
        .filter(|e| {
            std::fs::read_link(e.path())
                .map(|t| t.to_string_lossy().starts_with("socket:"))
                .unwrap_or(false)
        })
        .count() as u64
}

/// Sum of `f(pid)` over `pids`, read until it stays the same for 700 ms (nginx retries accept() after 500 ms) (at most 5 s).
pub fn settled(pids: &[u32], f: impl Fn(u32) -> u64) -> u64 {
    let until = Instant::now() + Duration::from_secs(5);
    let mut last = pids.iter().map(|p| f(*p)).sum::<u64>();
    let mut since = Instant::now();
    while Instant::now() < until {
        std::thread::sleep(Duration::from_millis(50));
        let now = pids.iter().map(|p| f(*p)).sum::<u64>();
        if now != last {
            last = now;
            since = Instant::now();
        } else if since.elapsed() > Duration::from_millis(700) {
            break;
        }
    }
    last
}

/// Open `n` connections to 127.0.0.1:`port` (kept open by the caller).
pub fn connect_n(port: u16, n: u64) -> Vec<TcpStream> {
    (0..n)
        .map(|i| {
            TcpStream::connect_timeout(
                &std::net::SocketAddr::from(([127, 0, 0, 1], port)),
                Duration::from_secs(2),
            )
            .unwrap_or_else(|e| panic!("connection {i} to port {port}: {e}"))
        })
        .collect()
}

/// One connection past the predicted ceiling. Its own outcome is not the test's question (the
/// server's reaction is): a server that dies on accepting it may reset it before connect()
/// returns, so an error here is tolerated and the connection, if any, returned.
pub fn connect_one_more(port: u16) -> Option<TcpStream> {
    TcpStream::connect_timeout(
        &std::net::SocketAddr::from(([127, 0, 0, 1], port)),
        Duration::from_secs(2),
    )
    .ok()
}

/// Whether something listens on `port` (IPv4) in this thread's network namespace, seen from
/// /proc (no probe connection, which some servers would count or cache a thread for).
pub fn listening(port: u16) -> bool {
    let tcp = std::fs::read_to_string("/proc/thread-self/net/tcp").unwrap_or_default();
    tcp.contains(&format!(":{port:04X} 00000000:0000 0A"))
}

/// Wait until something listens on 127.0.0.1:`port` (at most 5 s).
pub fn wait_listening(port: u16) {
    let until = Instant::now() + Duration::from_secs(5);
    while Instant::now() < until {
        if listening(port) {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("nothing listens on port {port} after 5 s");
}

/// `porttune ARGS` with JSON output parsed.
pub fn porttune_json(args: &[&str]) -> (serde_json::Value, Output) {
    let out = Command::new(super::bin())
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    (super::json(&out), out)
}

/// Write `text` to `dir/name` and return the path as a string.
pub fn write(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.display().to_string()
}

/// `porttune check --pid PID --format json EXTRA…`: the JSON, after asserting it ran (exit 0
/// or 1).
pub fn check_pid(pid: u32, extra: &[&str]) -> serde_json::Value {
    let pid = pid.to_string();
    let mut args = vec!["check", "--pid", &pid, "--format", "json"];
    args.extend_from_slice(extra);
    let (v, out) = porttune_json(&args);
    assert!(out.status.code().is_some_and(|c| c <= 1), "{out:?}");
    v
}

/// The ceiling called `name` in a check's JSON.
pub fn ceiling(v: &serde_json::Value, name: &str) -> serde_json::Value {
    v["ceilings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .cloned()
        .unwrap_or_else(|| panic!("no ceiling {name} in {v}"))
}

// --- database clients: held connections need a completed login, not just a TCP connect ----

fn read_exact_or(s: &mut TcpStream, n: usize) -> Result<Vec<u8>, String> {
    use std::io::Read;
    let mut b = vec![0u8; n];
    s.read_exact(&mut b).map_err(|e| e.to_string())?;
    Ok(b)
}

/// A PostgreSQL message: (type, body).
fn pg_message(s: &mut TcpStream) -> Result<(u8, Vec<u8>), String> {
    let h = read_exact_or(s, 5)?;
    let n = u32::from_be_bytes([h[1], h[2], h[3], h[4]]) as usize;
    if !(4..=1 << 20).contains(&n) {
        return Err(format!("bad message length {n}"));
    }
    Ok((h[0], read_exact_or(s, n - 4)?))
}

/// The `M` (message) field of an ErrorResponse, or the body as text.
fn pg_error_text(body: &[u8]) -> String {
    body.split(|b| *b == 0)
        .find_map(|f| f.strip_prefix(b"M"))
        .map(|m| String::from_utf8_lossy(m).into_owned())
        .unwrap_or_else(|| String::from_utf8_lossy(body).into_owned())
}

/// Log in to PostgreSQL on 127.0.0.1:`port` as `user` (trust authentication) with a v3
/// startup message; Ok once the server is ready for queries (a backend now holds it).
pub fn pg_login(port: u16, user: &str) -> Result<TcpStream, String> {
    use std::io::Write;
    let mut s = TcpStream::connect_timeout(
        &std::net::SocketAddr::from(([127, 0, 0, 1], port)),
        Duration::from_secs(3),
    )
    .map_err(|e| e.to_string())?;
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut body = 196608u32.to_be_bytes().to_vec();
    for (k, v) in [("user", user), ("database", "postgres")] {
        body.extend_from_slice(k.as_bytes());
        body.push(0);
        body.extend_from_slice(v.as_bytes());
        body.push(0);
    }
    body.push(0);
    let mut msg = ((body.len() + 4) as u32).to_be_bytes().to_vec();
    msg.extend(body);
    s.write_all(&msg).map_err(|e| e.to_string())?;
    loop {
        match pg_message(&mut s)? {
            (b'Z', _) => return Ok(s),
            (b'E', b) => return Err(pg_error_text(&b)),
            _ => {}
        }
    }
}

/// Run one SQL statement on a logged-in connection.
pub fn pg_exec(s: &mut TcpStream, sql: &str) -> Result<(), String> {
    use std::io::Write;
    let mut msg = vec![b'Q'];
    msg.extend(((sql.len() + 5) as u32).to_be_bytes());
    msg.extend(sql.as_bytes());
    msg.push(0);
    s.write_all(&msg).map_err(|e| e.to_string())?;
    let mut err = None;
    loop {
        match pg_message(s)? {
            (b'Z', _) => return err.map_or(Ok(()), Err),
            (b'E', b) => err = Some(pg_error_text(&b)),
            _ => {}
        }
    }
}

/// A MySQL/MariaDB packet: (sequence id, payload).
fn my_packet(s: &mut TcpStream) -> Result<(u8, Vec<u8>), String> {
    let h = read_exact_or(s, 4)?;
    let n = usize::from(h[0]) | usize::from(h[1]) << 8 | usize::from(h[2]) << 16;
    Ok((h[3], read_exact_or(s, n)?))
}

/// Log in to MySQL/MariaDB on 127.0.0.1:`port` as `user` with an empty password
/// (mysql_native_password, protocol 4.1); Ok once the server answered OK.
pub fn mysql_login(port: u16, user: &str) -> Result<TcpStream, String> {
    use std::io::Write;
    let mut s = TcpStream::connect_timeout(
        &std::net::SocketAddr::from(([127, 0, 0, 1], port)),
        Duration::from_secs(3),
    )
    .map_err(|e| e.to_string())?;
    s.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
    let (seq, greeting) = my_packet(&mut s)?;
    if greeting.first() == Some(&0xff) {
        return Err(String::from_utf8_lossy(greeting.get(3..).unwrap_or(&[])).into_owned());
    }
    // CLIENT_LONG_PASSWORD | CLIENT_PROTOCOL_41 | CLIENT_SECURE_CONNECTION | CLIENT_PLUGIN_AUTH
    let caps: u32 = 0x1 | 0x200 | 0x8000 | 0x80000;
    let mut body = caps.to_le_bytes().to_vec();
    body.extend((1u32 << 24).to_le_bytes());
    body.push(33);
    body.extend([0u8; 23]);
    body.extend(user.as_bytes());
    body.push(0);
    body.push(0); // empty auth response
    body.extend(b"mysql_native_password\0");
    let mut msg = (body.len() as u32).to_le_bytes()[..3].to_vec();
    msg.push(seq.wrapping_add(1));
    msg.extend(body);
    s.write_all(&msg).map_err(|e| e.to_string())?;
    let (_, r) = my_packet(&mut s)?;
    match r.first() {
        Some(0) => Ok(s),
        _ => Err(String::from_utf8_lossy(r.get(3..).unwrap_or(&[])).into_owned()),
    }
}

/// Log in with `login` until `fails` attempts in a row are refused (at most `max` held):
/// the connections held and the distinct refusals seen.
pub fn hold_logins(
    max: u64,
    fails: u32,
    login: impl Fn() -> Result<TcpStream, String>,
) -> (Vec<TcpStream>, Vec<String>) {
    let mut held = Vec::new();
    let mut errors: Vec<String> = Vec::new();
    let mut in_row = 0;
    while (held.len() as u64) < max && in_row < fails {
        match login() {
            Ok(s) => {
                held.push(s);
                in_row = 0;
            }
            Err(e) => {
                if !errors.contains(&e) {
                    errors.push(e);
                }
                in_row += 1;
            }
        }
    }
    (held, errors)
}

/// Threads of `pid` now.
pub fn threads(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|t| {
            t.lines()
                .find_map(|l| l.strip_prefix("Threads:"))
                .and_then(|v| v.trim().parse().ok())
        })
        .unwrap_or(0)
}

/// The command line of `pid`, words joined by spaces (a process title as `ps` shows it).
pub fn cmdline(pid: u32) -> String {
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .map(|b| {
            String::from_utf8_lossy(&b)
                .split('\0')
                .filter(|w| !w.is_empty())
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_default()
}

/// A Node.js TCP server on 127.0.0.1:`port` that keeps every connection (errors ignored),
/// with `server.maxConnections` when given, under `prlimit --nofile=NOFILE`; returned once it
/// listens.
pub fn start_node(port: u16, max_connections: Option<u32>, nofile: &str) -> Server {
    let cap = max_connections
        .map(|n| format!("s.maxConnections={n};"))
        .unwrap_or_default();
    let js = format!(
        "const s=require('net').createServer(c=>c.on('error',()=>{{}}));{cap}s.on('error',()=>{{}});s.listen({port},'127.0.0.1');"
    );
    let child = Command::new("prlimit")
        .args([&format!("--nofile={nofile}"), "node", "-e", &js])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start node");
    let srv = Server {
        child,
        name: "node",
    };
    wait_listening(port);
    srv
}

/// Wait (at most 20 s) until user `name` runs no task: RLIMIT_NPROC counts every task of the
/// user, so a server about to start under a low one must not share it with the threads of a
/// previous server still exiting (or another test's server of the same user).
pub fn wait_no_tasks_of(name: &str) {
    let uid = nix::unistd::User::from_name(name)
        .unwrap()
        .unwrap_or_else(|| panic!("user {name}"))
        .uid
        .as_raw();
    let until = Instant::now() + Duration::from_secs(20);
    while tasks_of_uid(uid) > 0 && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Tasks (threads counted) of real user `uid` now, over every process /proc shows: what
/// RLIMIT_NPROC counts for that user.
pub fn tasks_of_uid(uid: u32) -> u64 {
    let Ok(rd) = std::fs::read_dir("/proc") else {
        return 0;
    };
    rd.flatten()
        .filter_map(|e| std::fs::read_to_string(e.path().join("status")).ok())
        .filter(|t| {
            t.lines()
                .find_map(|l| l.strip_prefix("Uid:"))
                .and_then(|v| v.split_whitespace().next()?.parse::<u32>().ok())
                == Some(uid)
        })
        .map(|t| {
            t.lines()
                .find_map(|l| l.strip_prefix("Threads:"))
                .and_then(|v| v.trim().parse::<u64>().ok())
                .unwrap_or(1)
        })
        .sum()
}

/// epmd in the foreground, a child of the test stopped by its PID: an Erlang node started
/// after it registers there instead of starting a daemon of its own that would outlive the
/// test.
pub fn epmd() -> Server {
    let child = Command::new("epmd")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start epmd");
    let srv = Server {
        child,
        name: "epmd",
    };
    wait_listening(4369);
    srv
}
