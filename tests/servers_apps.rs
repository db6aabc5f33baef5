//! Application-level caps on real servers in a private network namespace: a select()-based
//! Python server (FD_SETSIZE, detected from the process) and Node's server.maxConnections
//! (`--app-limit`), each next to a configuration where the fd limit binds instead.

#![cfg(target_os = "linux")]

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::servers::{self, Server};

const PORT: u16 = 8080;

/// A selectors.SelectSelector echo-less server: it registers every connection.
const SELECT_PY: &str = r#"
import selectors, socket
sel = selectors.SelectSelector()
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 8080)); s.listen(4096); s.setblocking(False)
sel.register(s, selectors.EVENT_READ)
while True:
    for key, _ in sel.select():
        if key.fileobj is s:
            c, _ = s.accept(); c.setblocking(False); sel.register(c, selectors.EVENT_READ)
        elif not key.fileobj.recv(64):
            sel.unregister(key.fileobj); key.fileobj.close()
"#;

fn alive(srv: &mut Server) -> bool {
    srv.child.try_wait().unwrap().is_none()
}

/// Wait up to 3 s for the server to exit.
fn exits(srv: &mut Server) -> bool {
    let until = Instant::now() + Duration::from_secs(3);
    while Instant::now() < until {
        if !alive(srv) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

fn start_select(dir: &std::path::Path, limit: &str) -> Server {
    let py = servers::write(dir, "sel.py", SELECT_PY);
    let child = Command::new("prlimit")
        .args([&format!("--nofile={limit}"), "python3", &py])
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.join("err.log")).unwrap())
        .spawn()
        .unwrap();
    let srv = Server {
        child,
        name: "python3",
    };
    servers::wait_listening(PORT);
    std::thread::sleep(Duration::from_millis(100)); // blocked in select() now
    srv
}

/// Holding `predicted` connections keeps the server alive; one more kills it with `error`.
fn holds_then_dies(srv: &mut Server, predicted: u64, dir: &std::path::Path, error: &str) {
    let pids = [srv.pid()];
    let before = servers::settled(&pids, servers::socket_fds);
    let mut conns = Vec::new();
    for i in 0..predicted {
        match std::net::TcpStream::connect(("127.0.0.1", PORT)) {
            Ok(c) => conns.push(c),
            Err(e) => panic!(
                "connection {i} of {predicted}: {e}; server alive: {}; its stderr: {}",
                alive(srv),
                std::fs::read_to_string(dir.join("err.log")).unwrap_or_default()
            ),
        }
    }
    let held = servers::settled(&pids, servers::socket_fds) - before;
    assert_eq!(held, predicted, "the server holds the predicted count");
    assert!(alive(srv), "alive at the predicted count");
    conns.extend(servers::connect_one_more(PORT));
    assert!(exits(srv), "one more connection ends it");
    let err = std::fs::read_to_string(dir.join("err.log")).unwrap();
    assert!(err.contains(error), "{err}");
}

#[test]
#[ignore = "needs root, unshare -n and python3"]
fn select_server_fd_setsize_and_fd_limit() {
    if !(common::need_root("select_server_fd_setsize_and_fd_limit")
        && common::need_tool(
            "select_server_fd_setsize_and_fd_limit",
            "python3",
            &["-V"],
            "apt-get install python3",
        ))
    {
        return;
    }
    servers::in_netns(|| {
        // hard 2048: the fd limit is above 1024, so FD_SETSIZE binds (detected: blocked in select)
        let dir = tempfile::tempdir().unwrap();
        let mut srv = start_select(dir.path(), "2048:2048");
        let v = servers::check_pid(srv.pid(), &[]);
        assert_eq!(v["prediction"]["bottleneck"], "select_fd_setsize", "{v}");
        let predicted = v["prediction"]["ceiling"].as_u64().unwrap();
        assert!(predicted > 1000 && predicted < 1024, "{v}");
        holds_then_dies(
            &mut srv,
            predicted,
            dir.path(),
            "filedescriptor out of range in select()",
        );
        drop(srv);

        // soft 512: the fd limit binds first
        let dir = tempfile::tempdir().unwrap();
        let mut srv = start_select(dir.path(), "512:512");
        let v = servers::check_pid(srv.pid(), &[]);
        assert_eq!(v["prediction"]["bottleneck"], "process_fds", "{v}");
        let predicted = v["prediction"]["ceiling"].as_u64().unwrap();
        let sel = v["ceilings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == "select_fd_setsize")
            .cloned()
            .unwrap();
        assert!(sel["value"].as_u64().unwrap() > predicted, "{v}");
        holds_then_dies(&mut srv, predicted, dir.path(), "Too many open files");
    });
}

/// Node's server.maxConnections: Node accepts and closes the excess. Invisible from the OS,
/// so the operator names it with --app-limit; porttune puts it on the ladder.
#[test]
#[ignore = "needs root, unshare -n and node"]
fn node_max_connections_as_app_limit() {
    if !(common::need_root("node_max_connections_as_app_limit")
        && common::need_tool(
            "node_max_connections_as_app_limit",
            "node",
            &["--version"],
            "apt-get install nodejs",
        ))
    {
        return;
    }
    servers::in_netns(|| {
        let srv = servers::start_node(PORT, Some(100), "4096:4096");
        let plain = servers::check_pid(srv.pid(), &[]);
        assert_eq!(plain["prediction"]["bottleneck"], "process_fds", "{plain}");
        let v = servers::check_pid(srv.pid(), &["--app-limit", "100:server.maxConnections"]);
        assert_eq!(v["prediction"]["bottleneck"], "app_limit", "{v}");
        assert_eq!(v["prediction"]["ceiling"], 100, "{v}");
        let pids = [srv.pid()];
        let before = servers::settled(&pids, servers::socket_fds);
        let conns1 = servers::connect_n(PORT, 130);
        let held = servers::settled(&pids, servers::socket_fds) - before;
        assert_eq!(
            held, 100,
            "Node closes what it accepts beyond maxConnections"
        );
        let lift = servers::ceiling(&v, "app_limit")["lift"].to_string();
        assert!(lift.contains("server.maxConnections"), "{lift}");
        drop(conns1);
        drop(srv);
        // the lift: the application's own setting (200), named again with --app-limit
        let srv = servers::start_node(PORT, Some(200), "4096:4096");
        let v = servers::check_pid(srv.pid(), &["--app-limit", "200:server.maxConnections"]);
        assert_eq!(v["prediction"]["ceiling"], 200, "{v}");
        let pids = [srv.pid()];
        let before = servers::settled(&pids, servers::socket_fds);
        let conns = servers::connect_n(PORT, 230);
        let held = servers::settled(&pids, servers::socket_fds) - before;
        assert_eq!(held, 200, "{v}");
        drop(conns);
        // bad input: exit 2, named
        let out = Command::new(common::bin())
            .args(["check", "--app-limit", "many"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{out:?}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("N:NAME"),
            "{out:?}"
        );
    });
}
