//! A real RabbitMQ (Debian's rabbitmq-server) booted by the test in a private network
//! namespace under a chosen fd limit, with two AMQP listeners and `connection_max` in its
//! rabbitmq.conf. Two limits bind in the one boot, each against real AMQP sessions
//! (Connection.Open-Ok): `connection_max` on the first listener, then the file-handle cache's
//! socket limit (sized from the fd table at boot) over both. The node's own boot log line
//! ("Limiting to approx N file handles (M sockets)") is checked against the prediction too.
//! Then connection_max's lift, applied as porttune words it and rebooted: the socket limit
//! binds on one listener. And a node with the MQTT plugin: `check --port` names the listener
//! its ceiling is for (MQTT's own acceptors), measured with real MQTT sessions next to AMQP
//! ones; a port no listener declares is unknown. The listener rules are also checked on
//! fixture snapshots (no server needed).

#![cfg(target_os = "linux")]

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::protocols;
use common::servers::{self, Server};
use porttune::model::{Scenario, ScenarioKind, names::*, predict};
use porttune::snapshot::{RuntimeKind, Setting, Snapshot};

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

/// Boot the node as its package would (the package's start script, its configuration file
/// named by RABBITMQ_CONFIG_FILE), everything it writes kept in `dir`; returned once both
/// listeners accept (a boot takes 20–40 s here).
fn boot(dir: &Path, connection_max: u64) -> Server {
    let conf = format!(
        "listeners.tcp.1 = 127.0.0.1:{}\nlisteners.tcp.2 = 127.0.0.1:{}\nconnection_max = {connection_max}\n",
        PORTS[0], PORTS[1]
    );
    boot_with(dir, &conf, "[].\n", NOFILE, &PORTS)
}

/// Boot with `conf` as rabbitmq.conf, `plugins` as its enabled_plugins file (what
/// `rabbitmq-plugins enable --offline` writes) and RLIMIT_NOFILE `nofile`; returned once every
/// port of `ports` accepts.
fn boot_with(dir: &Path, conf: &str, plugins: &str, nofile: u64, ports: &[u16]) -> Server {
    let conf = servers::write(dir, "rabbitmq.conf", conf);
    servers::write(dir, "enabled_plugins", plugins);
    servers::write(dir, "rabbitmq-env.conf", "");
    let d = |n: &str| dir.join(n).display().to_string();
    let child = Command::new("prlimit")
        .arg(format!("--nofile={nofile}:{nofile}"))
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
    while !ports.iter().all(|p| servers::listening(*p)) {
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

#[test]
#[ignore = "needs root, unshare -n and rabbitmq-server"]
fn rabbitmq_mqtt_listener_has_its_own_cap() {
    if !need("rabbitmq_mqtt_listener_has_its_own_cap") {
        return;
    }
    const AMQP: u16 = 5672;
    const MQTT: u16 = 11883;
    servers::in_netns(|| {
        let dir = tempfile::tempdir().unwrap();
        let _epmd = servers::epmd();
        // connection_max 40 on every listener; MQTT with 4 acceptors, AMQP with the default
        // 10: 43 and 49, far below the file-handle cache's 270 sockets at 400 fds
        let conf = format!(
            "listeners.tcp.1 = 127.0.0.1:{AMQP}\nmqtt.listeners.tcp.1 = 127.0.0.1:{MQTT}\nmqtt.num_acceptors.tcp = 4\nconnection_max = 40\n"
        );
        let srv = boot_with(dir.path(), &conf, "[rabbitmq_mqtt].\n", 400, &[AMQP, MQTT]);
        let pid = beam(&srv);
        let mut held_all = Vec::new();
        for (port, want, proto) in [(MQTT, 43, "MQTT"), (AMQP, 49, "AMQP")] {
            let v = servers::check_pid(pid, &["--port", &port.to_string()]);
            assert_eq!(
                v["prediction"]["bottleneck"], "rabbitmq_connection_max",
                "{v}"
            );
            let c = servers::ceiling(&v, "rabbitmq_connection_max");
            let why = c["why"].as_str().unwrap();
            assert!(
                why.contains(&format!("the {proto} listener on {port}")),
                "{why}"
            );
            let predicted = v["prediction"]["ceiling"].as_u64().unwrap();
            assert_eq!(predicted, want, "{v}");
            let (held, errors) = servers::hold_logins(predicted + 20, 3, || {
                let i = held_all.len();
                if port == MQTT {
                    protocols::mqtt_connect(port, &format!("m{i}-{}", rand_id()))
                } else {
                    protocols::amqp_open(port, Duration::from_millis(1500))
                }
            });
            eprintln!(
                "rabbitmq: --port {port} ({proto}): predicted {predicted}, held {}; {errors:?}",
                held.len()
            );
            assert!(within(predicted, held.len() as u64), "{proto}: {errors:?}");
            held_all.extend(held);
        }
        // a port no listener declares (STOMP's, its plugin not enabled): its cap is unknown
        // (at least 10 with connection_max 1 and 10 acceptors), so a gate between cannot tell
        let (v, out) = servers::porttune_json(&[
            "check",
            "--pid",
            &pid.to_string(),
            "--format",
            "json",
            "--port",
            "61613",
            "--require",
            "100",
        ]);
        assert_eq!(out.status.code(), Some(4), "{v}");
        drop(held_all);
    });
}

/// A client id no two sessions of one test share.
fn rand_id() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::Relaxed)
}

/// The Linux defaults fixture as a running RabbitMQ 3.10.8 whose configuration sets
/// `settings`.
fn fixture(settings: &[(&str, &str)]) -> Snapshot {
    let mut s = common::server_fixture(
        RuntimeKind::Rabbitmq,
        "/etc/rabbitmq/rabbitmq.conf",
        settings,
    );
    if let Some(c) = s.runtime.server.as_mut() {
        c.version = Some("3.10.8".into());
    }
    s
}

fn for_port(s: &Snapshot, port: Option<u16>) -> porttune::model::Prediction {
    predict(
        s,
        &Scenario {
            port,
            ..Scenario::new(ScenarioKind::Inbound)
        },
    )
}

#[test]
fn listeners_from_a_fixture() {
    let s = fixture(&[
        ("listeners.tcp.default", "5672"),
        ("connection_max", "40"),
        ("mqtt.listeners.tcp.default", "1883"),
        ("mqtt.num_acceptors.tcp", "4"),
        ("enabled_plugins", "rabbitmq_mqtt,rabbitmq_management"),
    ]);
    let cap = |port| {
        let p = for_port(&s, port);
        p.get(RABBITMQ_CONNECTION_MAX)
            .map(|c| (c.value, c.exact, c.why.clone()))
    };
    let (v, exact, why) = cap(Some(5672)).unwrap();
    assert!(
        v == 49 && exact && why.contains("the AMQP listener on 5672"),
        "{v} {why}"
    );
    let (v, exact, why) = cap(Some(1883)).unwrap();
    assert!(
        v == 43 && exact && why.contains("the MQTT listener on 1883"),
        "{v} {why}"
    );
    assert!(
        why.contains("mqtt.num_acceptors.tcp 4 (/etc/rabbitmq/rabbitmq.conf:4)"),
        "{why}"
    );
    // without --port: per AMQP listener, the others named
    let (v, _, why) = cap(None).unwrap();
    assert!(v == 49 && why.contains("MQTT 1883"), "{v} {why}");
    // the HTTP API: no cap of RabbitMQ's, and no file-handle cache socket
    let p = for_port(&s, Some(15672));
    assert!(p.get(RABBITMQ_CONNECTION_MAX).is_none());
    assert!(
        p.not_applicable
            .iter()
            .any(|n| n.name == RABBITMQ_SOCKET_LIMIT),
        "{:?}",
        p.not_applicable
    );
    // STOMP's port, its plugin not enabled: not a listener, unknown from 1 to no limit
    let unknown = |p: &porttune::model::Prediction| {
        p.range
            .as_ref()
            .is_some_and(|r| r.on.iter().any(|k| k == "connection_max"))
    };
    let p = for_port(&s, Some(61613));
    assert!(p.get(RABBITMQ_CONNECTION_MAX).is_none());
    assert!(unknown(&p), "{:?}", p.range);
    // plugins not known: MQTT's port cannot be attributed; AMQP's still can
    let mut s2 = fixture(&[("connection_max", "40"), ("enabled_plugins", "?")]);
    assert!(unknown(&for_port(&s2, Some(1883))));
    assert_eq!(
        for_port(&s2, Some(5672))
            .get(RABBITMQ_CONNECTION_MAX)
            .map(|c| c.value),
        Some(49)
    );
    // a listener porttune does not read (advanced.config's list): unknown
    s2.runtime.server.as_mut().unwrap().settings.push(Setting {
        key: "listeners.tcp.advanced_config".into(),
        value: "…".into(),
        source: "/etc/rabbitmq/advanced.config:2".into(),
    });
    assert!(unknown(&for_port(&s2, Some(5672))));
    // MQTT's listeners set in advanced.config (not read): its default port is not assumed
    let mut s4 = fixture(&[
        ("connection_max", "40"),
        ("enabled_plugins", "rabbitmq_mqtt"),
    ]);
    assert_eq!(
        for_port(&s4, Some(1883))
            .get(RABBITMQ_CONNECTION_MAX)
            .map(|c| c.value),
        Some(49)
    );
    s4.runtime.server.as_mut().unwrap().settings.push(Setting {
        key: "mqtt.listeners.tcp.advanced_config".into(),
        value: "…".into(),
        source: "/etc/rabbitmq/advanced.config:2".into(),
    });
    assert!(unknown(&for_port(&s4, Some(1883))));
    // Web MQTT: its own max_connections, and it brings MQTT
    let s3 = fixture(&[
        ("web_mqtt.max_connections", "100"),
        ("enabled_plugins", "rabbitmq_web_mqtt"),
    ]);
    let p = for_port(&s3, Some(15675));
    let c = p.get(RABBITMQ_CONNECTION_MAX).unwrap();
    assert!(c.value == 109 && c.why.contains("Web MQTT"), "{}", c.why);
    // its MQTT listener, connection_max not set: no cap
    assert!(
        for_port(&s3, Some(1883))
            .get(RABBITMQ_CONNECTION_MAX)
            .is_none()
    );
    assert!(!unknown(&for_port(&s3, Some(1883))));
}
