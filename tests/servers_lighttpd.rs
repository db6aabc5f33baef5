//! A real lighttpd (Debian's package) started by the test in a private network namespace with
//! a configuration in the package's shape (`include`d files), under chosen limits: `check
//! --pid` against the HTTP connections it then holds (requests whose headers are not complete
//! yet), counted from its fd table, in two configurations where different rules bind
//! (`server.max-connections` as set, and its default: a third of the fd limit), and the lift
//! applied and measured.

#![cfg(target_os = "linux")]

mod common;

use std::path::Path;
use std::process::{Command, Stdio};

use common::protocols;
use common::servers::{self, Server};

const PORT: u16 = 18080;

fn start(dir: &Path, local: &str, nofile: &str) -> Server {
    let www = dir.join("www");
    std::fs::create_dir_all(&www).unwrap();
    servers::write(&www, "index.html", "hi\n");
    servers::write(dir, "local.conf", local);
    let conf = servers::write(
        dir,
        "lighttpd.conf",
        &format!(
            "server.document-root = \"{d}/www\"\nserver.port = {PORT}\nserver.bind = \"127.0.0.1\"\nserver.errorlog = \"{d}/error.log\"\nindex-file.names = ( \"index.html\" )\ninclude \"local.conf\"\n",
            d = dir.display()
        ),
    );
    let child = Command::new("prlimit")
        .args([&format!("--nofile={nofile}"), "lighttpd", "-D", "-f", &conf])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start lighttpd");
    let srv = Server {
        child,
        name: "lighttpd",
    };
    servers::wait_listening(PORT);
    srv
}

/// Predict, open 30 more than predicted, count the connections lighttpd holds.
fn predict_and_hold(srv: &Server) -> (serde_json::Value, u64, u64) {
    let v = servers::check_pid(srv.pid(), &[]);
    let predicted = v["prediction"]["ceiling"].as_u64().unwrap();
    let pids = [srv.pid()];
    let before = servers::settled(&pids, servers::socket_fds);
    let conns: Vec<_> = (0..predicted + 30)
        .map(|_| protocols::http_partial(PORT).unwrap())
        .collect();
    let held = servers::settled(&pids, servers::socket_fds) - before;
    drop(conns);
    eprintln!(
        "lighttpd: predicted {predicted} ({}), held {held}",
        v["prediction"]["bottleneck"]
    );
    (v, predicted, held)
}

#[test]
#[ignore = "needs root, unshare -n and lighttpd"]
fn lighttpd_max_connections_and_default() {
    let test = "lighttpd_max_connections_and_default";
    if !(common::need_root(test)
        && common::need_tool(test, "lighttpd", &["-v"], "apt-get install lighttpd"))
    {
        return;
    }
    servers::in_netns(|| {
        // server.max-connections as set (fd limit 1024)
        let dir = tempfile::tempdir().unwrap();
        let srv = start(dir.path(), "server.max-connections = 60\n", "1024:1024");
        let (v, predicted, held) = predict_and_hold(&srv);
        assert_eq!(
            v["prediction"]["bottleneck"], "lighttpd_max_connections",
            "{v}"
        );
        assert_eq!((predicted, held), (60, 60), "{v}");
        let c = servers::ceiling(&v, "lighttpd_max_connections");
        assert!(c["why"].as_str().unwrap().contains("local.conf:1"), "{c}");
        assert!(
            c["lift"]
                .as_str()
                .unwrap()
                .contains("server.max-connections = 120"),
            "{c}"
        );
        drop(srv);
        // the lift, restarted
        let dir = tempfile::tempdir().unwrap();
        let srv = start(dir.path(), "server.max-connections = 120\n", "1024:1024");
        let (_, predicted, held) = predict_and_hold(&srv);
        assert_eq!((predicted, held), (120, 120));
        drop(srv);
        // not set: a third of the fd limit 300
        let dir = tempfile::tempdir().unwrap();
        let srv = start(dir.path(), "", "300:300");
        let (v, predicted, held) = predict_and_hold(&srv);
        assert_eq!(
            v["prediction"]["bottleneck"], "lighttpd_max_connections",
            "{v}"
        );
        assert_eq!((predicted, held), (100, 100), "{v}");
        drop(srv);
        // set above half the fd limit: lighttpd lowers it to fds/2
        let dir = tempfile::tempdir().unwrap();
        let srv = start(dir.path(), "server.max-connections = 500\n", "300:300");
        let (v, predicted, held) = predict_and_hold(&srv);
        assert_eq!((predicted, held), (150, 150), "{v}");
    });
}
