//! A real RabbitMQ (Debian's rabbitmq-server) booted by the test in a private network
//! namespace under a chosen fd limit, with two AMQP listeners and `connection_max` in its
//! rabbitmq.conf. Two limits bind in the one boot, each against real AMQP sessions
//! (Connection.Open-Ok): `connection_max` on the first listener, then the file-handle cache's
//! socket limit (sized from the fd table at boot) over both. The node's own boot log line
//! ("Limiting to approx N file handles (M sockets)") is checked against the prediction too.
//! Then connection_max's lift, applied as porttune words it and rebooted: the socket limit
//! binds on one listener.

#![cfg(target_os = "linux")]

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::protocols;
use common::servers::{self, Server};

const PORTS: [u16; 2] = [5672, 5673];
/// The fd limit the node boots with: 200 − 97 = 103 file handles, trunc(0.9 × 103 − 2) = 90
/// sockets.
const NOFILE: u64 = 200;
const CONNECTION_MAX: u64 = 60;

fn need(test: &str) -> bool {
    common::need_root(test)
        && common::need_tool(
            test,
            "prlimit",
            &["--version"],
            "apt-get install util-linux",
        )
        && common::need_program(test, "epmd", "apt-get install erlang-base")
        && (Path::new(SERVER).exists()
            || panic!(
                "{test}: {SERVER} is missing (apt-get install rabbitmq-server); .ci/run installs it"
            ))
}

/// The package's start script (what its unit runs, less the switch to the rabbitmq user).
const SERVER: &str = "/usr/lib/rabbitmq/bin/rabbitmq-server";

/// Whether something listens on 127.0.0.1:`port` in this thread's network namespace.
fn listening(port: u16) -> bool {
    let tcp = std::fs::read_to_string("/proc/thread-self/net/tcp").unwrap_or_default();
    tcp.contains(&format!(":{port:04X} 00000000:0000 0A"))
}

/// Boot the node as its package would (the package's start script, its configuration file
/// named by RABBITMQ_CONFIG_FILE), everything it writes kept in `dir`; returned once both
/// listeners accept (a boot takes 20–40 s here).
fn boot(dir: &Path, connection_max: u64) -> Server {
    let conf = servers::write(
        dir,
        "rabbitmq.conf",
        &format!(
            "listeners.tcp.1 = 127.0.0.1:{}\nlisteners.tcp.2 = 127.0.0.1:{}\nconnection_max = {connection_max}\n",
            PORTS[0], PORTS[1]
        ),
    );
    servers::write(dir, "enabled_plugins", "[].\n");
    servers::write(dir, "rabbitmq-env.conf", "");
    let d = |n: &str| dir.join(n).display().to_string();
    let child = Command::new("prlimit")
        .arg(format!("--nofile={NOFILE}:{NOFILE}"))
        .arg(SERVER)
        .env("HOME", dir)
        .env("RABBITMQ_CONFIG_FILE", &conf)
        .env("RABBITMQ_CONF_ENV_FILE", d("rabbitmq-env.conf"))
        .env("RABBITMQ_ENABLED_PLUGINS_FILE", d("enabled_plugins"))
        .env("RABBITMQ_MNESIA_BASE", d("mnesia"))
        .env("RABBITMQ_LOG_BASE", d("log"))
        .env("RABBITMQ_PID_FILE", d("pid"))
        .env("RABBITMQ_NODENAME", "rabbit@localhost")
        .env("RABBITMQ_DIST_PORT", "25673")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start rabbitmq-server");
    let srv = Server {
        child,
        name: "rabbitmq-server",
    };
    let until = Instant::now() + Duration::from_secs(90);
    while !PORTS.iter().all(|p| listening(*p)) {
        assert!(
            Instant::now() < until,
            "RabbitMQ did not listen in 90 s: {}",
            std::fs::read_to_string(dir.join("log/rabbit@localhost.log")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    srv
}

/// The node's beam.smp: the server process or one of its descendants.
fn beam(srv: &Server) -> u32 {
    let mut all = vec![srv.pid()];
    all.extend(servers::descendants(srv.pid()));
    all.into_iter()
        .find(|p| {
            std::fs::read_link(format!("/proc/{p}/exe"))
                .is_ok_and(|e| e.to_string_lossy().ends_with("beam.smp"))
        })
        .expect("a beam.smp under rabbitmq-server")
}

/// Open AMQP sessions on `port` until 3 in a row get no Connection.Start in time: those held.
fn hold(port: u16, max: u64) -> (Vec<std::net::TcpStream>, Vec<String>) {
    servers::hold_logins(max, 3, || {
        protocols::amqp_open(port, Duration::from_millis(1500))
    })
}

fn within(predicted: u64, held: u64) -> bool {
    held.abs_diff(predicted) <= (predicted / 200).max(1)
}

#[test]
#[ignore = "needs root, unshare -n and rabbitmq-server"]
fn rabbitmq_connection_max_then_file_handle_cache() {
    if !need("rabbitmq_connection_max_then_file_handle_cache") {
        return;
    }
    servers::in_netns(|| {
        let dir = tempfile::tempdir().unwrap();
        let _epmd = servers::epmd();
        let srv = boot(dir.path(), CONNECTION_MAX);
        let pid = beam(&srv);

        // one listener: connection_max binds
        let v = servers::check_pid(pid, &[]);
        assert_eq!(v["process"]["runtime"], "rabbitmq", "{v}");
        assert_eq!(
            v["prediction"]["bottleneck"], "rabbitmq_connection_max",
            "{v}"
        );
        let predicted = v["prediction"]["ceiling"].as_u64().unwrap();
        // ranch's soft limit: the 9 other acceptors each start one more
        assert_eq!(predicted, CONNECTION_MAX + 10 - 1, "{v}");
        let sockets = servers::ceiling(&v, "rabbitmq_socket_limit");
        assert_eq!(sockets["value"], 90, "{sockets}");
        let (first, errors) = hold(PORTS[0], predicted + 20);
        eprintln!(
            "rabbitmq: predicted {predicted} (rabbitmq_connection_max), held {} on port {}; {errors:?}",
            first.len(),
            PORTS[0]
        );
        assert!(within(predicted, first.len() as u64), "{errors:?}");

        // both listeners: connection_max allows 2 × 60, the file-handle cache 90
        let v2 = servers::check_pid(pid, &["--listen-ports", "2"]);
        assert_eq!(
            v2["prediction"]["bottleneck"], "rabbitmq_socket_limit",
            "{v2}"
        );
        let predicted2 = v2["prediction"]["ceiling"].as_u64().unwrap();
        let (second, errors) = hold(PORTS[1], predicted2 + 20);
        let total = (first.len() + second.len()) as u64;
        eprintln!(
            "rabbitmq: predicted {predicted2} (rabbitmq_socket_limit) over both listeners, held {total} ({} + {}); {errors:?}",
            first.len(),
            second.len()
        );
        assert!(within(predicted2, total), "{errors:?}");

        // the node's own words at boot
        let log = std::fs::read_to_string(dir.path().join("log/rabbit@localhost.log"))
            .unwrap_or_default();
        assert!(
            log.contains(&format!(
                "Limiting to approx 103 file handles ({predicted2} sockets)"
            )),
            "{log}"
        );
        drop((first, second));
        drop(srv);

        // the lift of connection_max, applied as it says and restarted: the file-handle cache
        // binds next, on one listener
        let lift = servers::ceiling(&v, "rabbitmq_connection_max")["lift"]
            .as_str()
            .unwrap()
            .to_string();
        let want: u64 = lift
            .split("connection_max = ")
            .nth(1)
            .and_then(|r| r.split('`').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("{lift}"));
        let dir = tempfile::tempdir().unwrap();
        let srv = boot(dir.path(), want);
        let v = servers::check_pid(beam(&srv), &[]);
        assert_eq!(
            v["prediction"]["bottleneck"], "rabbitmq_socket_limit",
            "{v}"
        );
        let predicted = v["prediction"]["ceiling"].as_u64().unwrap();
        let (held, errors) = hold(PORTS[0], predicted + 20);
        eprintln!(
            "rabbitmq: connection_max {want} (the lift): predicted {predicted} (rabbitmq_socket_limit), held {}; {errors:?}",
            held.len()
        );
        assert!(within(predicted, held.len() as u64), "{errors:?}");
        drop(held);
        drop(srv);
    });
}
