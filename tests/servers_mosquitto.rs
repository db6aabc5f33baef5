//! A real mosquitto (Debian's package) started by the test in a private network namespace, its
//! configuration laid out as the package does (a main file with `include_dir`, the listener
//! and caps in conf.d), under chosen limits: `check --pid` against the MQTT sessions it then
//! accepts (CONNACK), in two configurations where different limits bind (`max_connections`,
//! then its fd limit), and the lift of `max_connections` applied and measured.

#![cfg(target_os = "linux")]

mod common;

use std::process::{Command, Stdio};

use common::protocols;
use common::servers::{self, Server};

const PORT: u16 = 18830;

fn start(dir: &std::path::Path, local: &str, nofile: &str) -> Server {
    let confd = dir.join("conf.d");
    std::fs::create_dir_all(&confd).unwrap();
    servers::write(
        &confd,
        "local.conf",
        &format!("listener {PORT} 127.0.0.1\nallow_anonymous true\n{local}"),
    );
    let main = servers::write(
        dir,
        "mosquitto.conf",
        &format!(
            "# as Debian's /etc/mosquitto/mosquitto.conf, in the test's directory\npid_file {d}/mosquitto.pid\npersistence false\nlog_dest file {d}/mosquitto.log\ninclude_dir {d}/conf.d\n",
            d = dir.display()
        ),
    );
    // mosquitto started as root drops to the `mosquitto` user: let it write its log there
    let uid = nix::unistd::User::from_name("mosquitto")
        .unwrap()
        .map(|u| u.uid.as_raw());
    std::os::unix::fs::chown(dir, uid, None).unwrap();
    let child = Command::new("prlimit")
        .args([&format!("--nofile={nofile}"), "mosquitto", "-c", &main])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start mosquitto");
    let srv = Server {
        child,
        name: "mosquitto",
    };
    servers::wait_listening(PORT);
    srv
}

/// Predict, then open MQTT sessions until 3 in a row are refused: (check, predicted, sessions
/// held, sockets the broker holds for them).
fn predict_and_hold(srv: &Server) -> (serde_json::Value, u64, u64, u64) {
    let v = servers::check_pid(srv.pid(), &[]);
    let predicted = v["prediction"]["ceiling"].as_u64().unwrap();
    let pids = [srv.pid()];
    let before = servers::settled(&pids, servers::socket_fds);
    let n = std::sync::atomic::AtomicU64::new(0);
    let (held, errors) = servers::hold_logins(predicted + 30, 3, || {
        let i = n.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        protocols::mqtt_connect(PORT, &format!("c{i}"))
    });
    let sockets = servers::settled(&pids, servers::socket_fds) - before;
    eprintln!(
        "mosquitto: predicted {predicted} ({}), held {} sessions, {sockets} sockets; refusals {errors:?}",
        v["prediction"]["bottleneck"],
        held.len()
    );
    let h = held.len() as u64;
    drop(held);
    (v, predicted, h, sockets)
}

fn need(test: &str) -> bool {
    common::need_root(test)
        && common::need_tool(
            test,
            "sh",
            &["-c", "command -v mosquitto"],
            "apt-get install mosquitto",
        )
}

#[test]
#[ignore = "needs root, unshare -n and mosquitto"]
fn mosquitto_max_connections_then_fds() {
    if !need("mosquitto_max_connections_then_fds") {
        return;
    }
    servers::in_netns(|| {
        // max_connections binds (fd limit 4096)
        let dir = tempfile::tempdir().unwrap();
        let srv = start(dir.path(), "max_connections 40\n", "4096:4096");
        let (v, predicted, held, sockets) = predict_and_hold(&srv);
        assert_eq!(
            v["prediction"]["bottleneck"], "mosquitto_max_connections",
            "{v}"
        );
        assert_eq!((predicted, held, sockets), (40, 40, 40), "{v}");
        let c = servers::ceiling(&v, "mosquitto_max_connections");
        assert!(
            c["why"].as_str().unwrap().contains("conf.d/local.conf:3"),
            "{c}"
        );
        let lift = c["lift"].as_str().unwrap().to_string();
        assert!(lift.contains("max_connections 80"), "{lift}");
        drop(srv);
        // the lift: max_connections 80, restarted
        let dir = tempfile::tempdir().unwrap();
        let srv = start(dir.path(), "max_connections 80\n", "4096:4096");
        let (_, predicted, held, _) = predict_and_hold(&srv);
        assert_eq!((predicted, held), (80, 80));
        drop(srv);
        // no max_connections (the default: unlimited): its fd limit binds
        let dir = tempfile::tempdir().unwrap();
        let srv = start(dir.path(), "", "128:128");
        let (v, predicted, held, sockets) = predict_and_hold(&srv);
        assert_eq!(v["prediction"]["bottleneck"], "process_fds", "{v}");
        assert!(predicted > 100 && predicted < 128, "{v}");
        assert_eq!((held, sockets), (predicted, predicted), "{v}");
    });
}
