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

/// Wait until something listens on 127.0.0.1:`port` (at most 5 s).
pub fn wait_listening(port: u16) {
    let until = Instant::now() + Duration::from_secs(5);
    while Instant::now() < until {
        let tcp = std::fs::read_to_string("/proc/thread-self/net/tcp").unwrap_or_default();
        let hex = format!(":{port:04X} 00000000:0000 0A");
        if tcp.contains(&hex) {
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
