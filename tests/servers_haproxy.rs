//! A real HAProxy started by the test under chosen limits in a private network namespace;
//! `check --pid` (configuration from its `-f`, stats socket when there is one) is held
//! against the connections it then holds, counted from its /proc fd table.

#![cfg(target_os = "linux")]

mod common;

use std::path::Path;
use std::process::Command;

use common::servers::{self, Server};

const PORT: u16 = 8080;

fn need_haproxy(test: &str) -> bool {
    common::need_root(test)
        && common::need_tool(test, "haproxy", &["-v"], "apt-get install haproxy")
}

/// HTTP mode: idle client connections wait for a request (1 fd each) and count against
/// maxconn; nothing is proxied to the (absent) server.
fn conf(dir: &Path, global: &str, frontend: &str, stats: bool) -> String {
    let d = dir.display();
    let stats = if stats {
        format!("    stats socket {d}/stats.sock mode 600 level admin\n")
    } else {
        String::new()
    };
    let text = format!(
        "global\n    nbthread 1\n{stats}{global}\
         defaults\n    mode http\n    timeout connect 5s\n    timeout client 60s\n    timeout server 60s\n    timeout http-request 60s\n\
         frontend fe\n    bind 127.0.0.1:{PORT}\n{frontend}    default_backend be\n\
         backend be\n    server s1 127.0.0.1:9\n"
    );
    servers::write(dir, "haproxy.cfg", &text)
}

fn start(conf: &str, limit: &str) -> Server {
    start_with(limit, &["-db", "-f", conf])
}

/// Start haproxy with `args` under `prlimit --nofile=LIMIT`; wait until it listens.
fn start_with(limit: &str, args: &[&str]) -> Server {
    let child = Command::new("prlimit")
        .arg(format!("--nofile={limit}"))
        .arg("haproxy")
        .args(args)
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start haproxy");
    let srv = Server {
        child,
        name: "haproxy",
    };
    servers::wait_listening(PORT);
    srv
}

/// Predict, open `extra` more than predicted (they wait in the kernel queue), count.
fn predict_and_hold(srv: &Server, extra: u64) -> (serde_json::Value, u64, u64) {
    let v = servers::check_pid(srv.pid(), &[]);
    assert_eq!(v["prediction"]["bottleneck"], "haproxy_maxconn", "{v}");
    let predicted = v["prediction"]["ceiling"].as_u64().unwrap();
    let pids = [srv.pid()];
    let before = servers::settled(&pids, servers::socket_fds);
    let conns = servers::connect_n(PORT, predicted + extra);
    let held = servers::settled(&pids, servers::socket_fds) - before;
    drop(conns);
    (v, predicted, held)
}

/// maxconn unset: HAProxy computes it from max(soft, hard) at start. With a stats socket
/// porttune reads it (`show info`); without one it derives HAProxy's formula. Both held.
#[test]
#[ignore = "needs root, unshare -n and haproxy"]
fn haproxy_auto_maxconn_from_fd_limit() {
    if !need_haproxy("haproxy_auto_maxconn_from_fd_limit") {
        return;
    }
    servers::in_netns(|| {
        let dir = tempfile::tempdir().unwrap();
        // soft 256, hard 1024: HAProxy sizes from the hard limit, not `ulimit -n`
        let srv = start(&conf(dir.path(), "", "", true), "256:1024");
        let (v, predicted, held) = predict_and_hold(&srv, 20);
        // (1024 − (10 + 2 listeners + 10 stats) − 3 × 1 thread) / 2
        assert_eq!(predicted, (1024 - 22 - 3) / 2, "{v}");
        assert_eq!(held, predicted, "{v}");
        let c = servers::ceiling(&v, "haproxy_maxconn");
        assert!(c["why"].as_str().unwrap().contains("show info"), "{c}");
        // process_fds for HAProxy is 2 fds per connection from its raised limit: above maxconn
        assert!(
            servers::ceiling(&v, "process_fds")["value"]
                .as_u64()
                .unwrap()
                > predicted
        );
        drop(srv);

        let srv = start(&conf(dir.path(), "", "", false), "1024:1024");
        let (v, predicted, held) = predict_and_hold(&srv, 20);
        assert_eq!(predicted, (1024 - 11 - 3) / 2, "{v}");
        let c = servers::ceiling(&v, "haproxy_maxconn");
        assert!(c["why"].as_str().unwrap().contains("maxconn unset"), "{c}");
        assert!(c["lift"].as_str().unwrap().contains("LimitNOFILE"), "{c}");
        assert_eq!(held, predicted, "{v}");
        drop(srv);

        // the lift: the hard limit it names (HAProxy sizes maxconn from it at start)
        let lift = c["lift"].as_str().unwrap();
        let fds: u64 = lift
            .split("LimitNOFILE= to at least ")
            .nth(1)
            .and_then(|r| r.split(|ch: char| !ch.is_ascii_digit()).next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no LimitNOFILE value in {lift}"));
        let srv = start(&conf(dir.path(), "", "", false), &format!("{fds}:{fds}"));
        let (v, lifted, held) = predict_and_hold(&srv, 20);
        eprintln!(
            "haproxy auto maxconn: {predicted} at 1024 fds; lift to {fds} fds: predicted {lifted}, held {held}"
        );
        assert_eq!(lifted, (fds - 11 - 3) / 2, "{v}");
        assert!(lifted >= 2 * predicted, "{v}");
        assert_eq!(held, lifted, "{v}");
    });
}

/// global maxconn binds (the fd limit is irrelevant: HAProxy raises its own); the lift
/// (`maxconn` doubled) is applied and measured; `flood --target` says match.
#[test]
#[ignore = "needs root, unshare -n and haproxy"]
fn haproxy_global_maxconn_binds_and_lifts() {
    if !need_haproxy("haproxy_global_maxconn_binds_and_lifts") {
        return;
    }
    servers::in_netns(|| {
        let dir = tempfile::tempdir().unwrap();
        let srv = start(
            &conf(dir.path(), "    maxconn 200\n", "", true),
            "1024:1024",
        );
        let (v, predicted, held) = predict_and_hold(&srv, 20);
        assert_eq!((predicted, held), (200, 200), "{v}");
        // HAProxy sets its own fd limit: no advice to raise the soft limit it started with
        assert!(!v["checks"].to_string().contains("SoftLimit1024"), "{v}");
        let lift = servers::ceiling(&v, "haproxy_maxconn")["lift"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(lift.contains("maxconn 400"), "{lift}");
        std::thread::sleep(std::time::Duration::from_millis(200));
        let (f, out) = servers::porttune_json(&[
            "flood",
            "--target",
            &format!("127.0.0.1:{PORT}"),
            "--connect-timeout",
            "300",
            "--max",
            "2000",
            "--format",
            "json",
        ]);
        assert_eq!(f["verdict"], "match", "{f}\n{out:?}");
        assert_eq!(f["prediction"]["bottleneck"], "haproxy_maxconn", "{f}");
        drop(srv);

        let srv = start(
            &conf(dir.path(), "    maxconn 400\n", "", true),
            "1024:1024",
        );
        let (v, predicted, held) = predict_and_hold(&srv, 20);
        assert_eq!((predicted, held), (400, 400), "{v}");
    });
}

/// A frontend's own maxconn binds below the global one.
#[test]
#[ignore = "needs root, unshare -n and haproxy"]
fn haproxy_frontend_maxconn_binds() {
    if !need_haproxy("haproxy_frontend_maxconn_binds") {
        return;
    }
    servers::in_netns(|| {
        let dir = tempfile::tempdir().unwrap();
        let c = conf(dir.path(), "    maxconn 200\n", "    maxconn 50\n", false);
        let srv = start(&c, "1024:1024");
        let (v, predicted, held) = predict_and_hold(&srv, 20);
        assert_eq!((predicted, held), (50, 50), "{v}");
        let c = servers::ceiling(&v, "haproxy_maxconn");
        let lift = c["lift"].as_str().unwrap();
        assert!(
            lift.contains("frontend") && lift.contains("at least 100"),
            "{c}"
        );
        drop(srv);
        // the lift: the frontend's maxconn 100
        let c = conf(dir.path(), "    maxconn 200\n", "    maxconn 100\n", false);
        let srv = start(&c, "1024:1024");
        let (v, predicted, held) = predict_and_hold(&srv, 20);
        assert_eq!((predicted, held), (100, 100), "{v}");
        drop(srv);
        // a listener's own maxconn (a bind option) below the frontend's
        let text = std::fs::read_to_string(&c).unwrap().replace(
            &format!("bind 127.0.0.1:{PORT}\n"),
            &format!("bind 127.0.0.1:{PORT} maxconn 30\n"),
        );
        std::fs::write(&c, text).unwrap();
        let srv = start(&c, "1024:1024");
        let (v, predicted, held) = predict_and_hold(&srv, 20);
        assert_eq!((predicted, held), (30, 30), "{v}");
        let why = servers::ceiling(&v, "haproxy_maxconn")["why"].to_string();
        assert!(why.contains("its binds' maxconn"), "{why}");
    });
}

/// Debian's layout: master-worker (`-W`, as its unit's `-Ws`) with `chroot` in the global
/// section. The worker holds the connections and runs chrooted, where the `-f` path and the
/// stats socket path do not exist; porttune reads both through the master. Asked about the
/// worker (the process listening on the port) or about the master, the prediction is the
/// frontend's maxconn 120 (global 300 from show info) and 120 are held.
#[test]
#[ignore = "needs root, unshare -n and haproxy"]
fn haproxy_chrooted_worker_is_read_through_its_master() {
    if !need_haproxy("haproxy_chrooted_worker_is_read_through_its_master") {
        return;
    }
    servers::in_netns(|| {
        let dir = tempfile::tempdir().unwrap();
        let jail = dir.path().join("jail");
        std::fs::create_dir(&jail).unwrap();
        let global = format!("    maxconn 300\n    chroot {}\n", jail.display());
        let c = conf(dir.path(), &global, "    maxconn 120\n", true);
        let srv = start_with("1024:1024", &["-W", "-db", "-f", &c]);
        let worker = *servers::children(srv.pid())
            .last()
            .expect("a worker process");
        assert_ne!(
            std::fs::read_link(format!("/proc/{worker}/root")).unwrap(),
            Path::new("/"),
            "the worker is chrooted"
        );
        for pid in [worker, srv.pid()] {
            let v = servers::check_pid(pid, &[]);
            assert_eq!(v["prediction"]["ceiling"], 120, "PID {pid}: {v}");
            assert_eq!(v["prediction"]["bottleneck"], "haproxy_maxconn", "{v}");
            let why = servers::ceiling(&v, "haproxy_maxconn")["why"].to_string();
            assert!(why.contains("Maxconn 300 (stats socket"), "{why}");
            assert!(!v.to_string().contains("not read"), "{v}");
        }
        let before = servers::settled(&[worker], servers::socket_fds);
        let conns = servers::connect_n(PORT, 140);
        let held = servers::settled(&[worker], servers::socket_fds) - before;
        drop(conns);
        assert_eq!(held, 120);
    });
}

/// Two frontends (40 and 60 under a global 500): the service holds their sum, and a client
/// of one port that frontend's maxconn; `check --port` and `flood --target` (whose port the
/// model takes) predict the one flooded.
#[test]
#[ignore = "needs root, unshare -n and haproxy"]
fn haproxy_frontend_of_the_flooded_port() {
    if !need_haproxy("haproxy_frontend_of_the_flooded_port") {
        return;
    }
    servers::in_netns(|| {
        let dir = tempfile::tempdir().unwrap();
        let second = format!(
            "    maxconn 40\n    default_backend be\nfrontend fe2\n    bind 127.0.0.1:{}\n    maxconn 60\n",
            PORT + 1
        );
        let srv = start(
            &conf(dir.path(), "    maxconn 500\n", &second, false),
            "1024:1024",
        );
        let pid = srv.pid().to_string();
        let v = servers::check_pid(srv.pid(), &[]);
        assert_eq!(v["prediction"]["ceiling"], 100, "{v}");
        for (port, want) in [(PORT, 40), (PORT + 1, 60)] {
            let v = servers::check_pid(srv.pid(), &["--port", &port.to_string()]);
            assert_eq!(v["prediction"]["ceiling"], want, "{v}");
            let before = servers::settled(&[srv.pid()], servers::socket_fds);
            let conns = servers::connect_n(port, want + 20);
            let held = servers::settled(&[srv.pid()], servers::socket_fds) - before;
            drop(conns);
            assert_eq!(held, want, "port {port}");
            std::thread::sleep(std::time::Duration::from_millis(300));
        }
        let (f, out) = servers::porttune_json(&[
            "flood",
            "--target",
            &format!("127.0.0.1:{PORT}"),
            "--pid",
            &pid,
            "--connect-timeout",
            "300",
            "--max",
            "500",
            "--format",
            "json",
        ]);
        assert_eq!(f["prediction"]["ceiling"], 40, "{f}\n{out:?}");
        assert_eq!(f["verdict"], "match", "{f}");
    });
}
