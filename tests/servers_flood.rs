//! `flood --target` against real servers that shed at their limit (Node closes what it
//! accepts at EMFILE; nginx closes idle connections when its table runs low): it counts what
//! the server holds (the server's own sockets, sampled), explains the stop from what it saw,
//! and shows the target's real backlog.

#![cfg(target_os = "linux")]

mod common;

use std::process::{Command, Stdio};

use common::servers::{self, Server};

const PORT: u16 = 8080;

fn flood() -> serde_json::Value {
    let (f, out) = servers::porttune_json(&[
        "flood",
        "--target",
        &format!("127.0.0.1:{PORT}"),
        "--connect-timeout",
        "300",
        "--max",
        "2000",
        "--duration",
        "20",
        "--format",
        "json",
    ]);
    assert!(out.status.code().is_some_and(|c| c <= 1), "{out:?}");
    f
}

/// Node raises nothing here (soft = hard = 300); at EMFILE it accepts and closes at once.
#[test]
#[ignore = "needs root, unshare -n and node"]
fn flood_target_node_at_its_fd_limit() {
    if !(common::need_root("flood_target_node_at_its_fd_limit")
        && common::need_tool(
            "flood_target_node_at_its_fd_limit",
            "node",
            &["--version"],
            "apt-get install nodejs",
        ))
    {
        return;
    }
    servers::in_netns(|| {
        let srv = servers::start_node(PORT, None, "300:300");
        let v = servers::check_pid(srv.pid(), &[]);
        assert_eq!(v["prediction"]["bottleneck"], "process_fds", "{v}");
        let predicted = v["prediction"]["ceiling"].as_u64().unwrap();
        let f = flood();
        assert_eq!(f["verdict"], "match", "{f}");
        assert_eq!(f["prediction"]["ceiling"], predicted, "{f}");
        let held = f["target"]["server_accepted"].as_u64().unwrap();
        assert!(
            held.abs_diff(predicted) <= 1,
            "held {held}, predicted {predicted}: {f}"
        );
        assert_eq!(f["stop"]["ceiling"], "process_fds", "{f}");
        let why = f["stop"]["explanation"].as_str().unwrap();
        assert!(!why.contains("tcp_abort_on_overflow"), "{why}");
        assert!(!why.contains("queue was full"), "{why}");
        // the config shows the target's backlog (Node listens with 511), not porttune's own
        assert_eq!(f["config"]["backlog"], f["target"]["backlog"], "{f}");
        assert_eq!(f["target"]["backlog"], 511, "{f}");
    });
}

/// nginx at worker_connections: it never refuses, it closes idle connections. The flood
/// names the right ceiling and counts what nginx held (within the swing of its reuse).
#[test]
#[ignore = "needs root, unshare -n and nginx (nginx-light)"]
fn flood_target_nginx_sheds_idle_connections() {
    if !(common::need_root("flood_target_nginx_sheds_idle_connections")
        && common::need_tool(
            "flood_target_nginx_sheds_idle_connections",
            "nginx",
            &["-v"],
            "apt-get install nginx-light",
        ))
    {
        return;
    }
    servers::in_netns(|| {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().display();
        let conf = servers::write(
            dir.path(),
            "nginx.conf",
            &format!(
                "worker_processes 1;\npid {d}/nginx.pid;\nerror_log {d}/error.log warn;\n\
                 events {{ worker_connections 128; }}\n\
                 http {{ access_log off; client_body_temp_path {d}/b; proxy_temp_path {d}/p;\n\
                 fastcgi_temp_path {d}/f; uwsgi_temp_path {d}/u; scgi_temp_path {d}/s;\n\
                 server {{ listen 127.0.0.1:{PORT}; return 204; }} }}\n"
            ),
        );
        let child = Command::new("prlimit")
            .args([
                "--nofile=1024:1024",
                "nginx",
                "-c",
                &conf,
                "-g",
                "daemon off;",
            ])
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let srv = Server {
            child,
            name: "nginx",
        };
        servers::wait_listening(PORT);
        let v = servers::check_pid(srv.pid(), &[]);
        assert_eq!(v["prediction"]["ceiling"], 128 - 2 - 8, "{v}");
        let f = flood();
        assert_eq!(f["verdict"], "match", "{f}");
        assert_eq!(f["stop"]["ceiling"], "nginx_worker_connections", "{f}");
        let held = f["target"]["server_accepted"].as_u64().unwrap();
        // nginx closes max(1, min(32, idle/8)) = 14 idle ones at a time, then refills
        assert!((118 - 14..=118).contains(&held), "held {held}: {f}");
        let why = f["stop"]["explanation"].as_str().unwrap();
        assert!(
            why.contains("closed or reset connections it had accepted"),
            "{why}"
        );
        let log = std::fs::read_to_string(dir.path().join("error.log")).unwrap();
        assert!(log.contains("reusing connections"), "{log}");
    });
}
