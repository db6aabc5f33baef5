//! Honest about what porttune does not know of a server: a catalog server whose configuration
//! could not be read has its caps unknown (anywhere from 1 to no limit), said with the
//! directive and its default; a `--require` resting on them cannot tell (exit 4) unless
//! `--app-limit N:KEY` or `--config FILE` supplies the value. Application code (a process of a
//! runtime, or one matching no product) keeps the runtime's ceiling with a note that in-code
//! caps are not visible, which alone does not make a gate "cannot tell".

mod common;

use std::process::Command;

use porttune::model::{Scenario, ScenarioKind, names::*, predict};
use porttune::snapshot::{self, RuntimeKind, ServerConf, Snapshot};

fn fixture(name: &str) -> Snapshot {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/snapshots")
        .join(name);
    snapshot::load(&p).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// The Linux defaults fixture as a running server of `kind` whose configuration could not be
/// read.
fn unread(kind: RuntimeKind) -> Snapshot {
    let mut s = fixture("linux-defaults.yaml");
    s.process.is_self = false;
    s.process.pid = Some(4321);
    s.runtime.kind = kind;
    s.runtime.server = Some(ServerConf {
        unread: Some(
            "/etc/x.conf (named by -c on the command line): /etc/x.conf: not readable by uid 65534"
                .into(),
        ),
        ..Default::default()
    });
    s
}

fn check(snap: &Snapshot, args: &[&str]) -> (i32, serde_json::Value) {
    let d = tempfile::tempdir().unwrap();
    let f = d.path().join("snap.json");
    std::fs::write(&f, serde_json::to_string(snap).unwrap()).unwrap();
    let out = Command::new(common::bin())
        .args(["check", "--format", "json", "--from"])
        .arg(&f)
        .args(args)
        .output()
        .unwrap();
    (out.status.code().unwrap_or(-1), common::json(&out))
}

fn input<'a>(v: &'a serde_json::Value, key: &str) -> &'a serde_json::Value {
    v["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["key"] == key)
        .unwrap_or_else(|| panic!("no input {key}: {}", v["inputs"]))
}

#[test]
fn an_unread_cap_is_unknown_and_the_gate_cannot_tell() {
    // PgBouncer's max_client_conn (default 100) not read
    let s = unread(RuntimeKind::Pgbouncer);
    let p = predict(&s, &Scenario::new(ScenarioKind::Inbound));
    let c = p
        .get(PGBOUNCER_MAX_CLIENT_CONN)
        .expect("the rung, at its default");
    assert_eq!(c.value, 100);
    let cond = c
        .conditional
        .as_ref()
        .expect("conditional on the unknown setting");
    assert_eq!(
        (cond.low, cond.on.clone()),
        (1, vec!["max_client_conn".to_string()])
    );
    // the headline rests on read values; the range reaches down to the unknown cap
    assert_eq!(p.bottleneck, Some(PROCESS_FDS));
    assert_eq!(p.range.as_ref().map(|r| r.low), Some(1));

    let (code, v) = check(&s, &["--require", "50"]);
    assert_eq!(code, 4, "{v}");
    let i = input(&v, "max_client_conn");
    assert_eq!(i["provenance"]["kind"], "unknown", "{i}");
    let what = i["provenance"]["what"].as_str().unwrap();
    assert!(
        what.contains("PgBouncer max_client_conn not read")
            && what.contains("not readable by uid 65534")
            && what.contains("its default is 100"),
        "{what}"
    );
    assert!(
        i["provenance"]["read_with"]
            .as_str()
            .unwrap()
            .contains("--app-limit N:max_client_conn"),
        "{i}"
    );

    // the operator states it: read from --app-limit, the gate judges it
    let (code, v) = check(
        &s,
        &["--require", "50", "--app-limit", "500:max_client_conn"],
    );
    assert_eq!(code, 0, "{v}");
    assert_eq!(input(&v, "max_client_conn")["provenance"]["kind"], "read");
    assert_eq!(v["prediction"]["range"], serde_json::Value::Null, "{v}");
    let (code, v) = check(
        &s,
        &["--require", "600", "--app-limit", "500:max_client_conn"],
    );
    assert_eq!(code, 1, "{v}");
}

#[test]
fn config_file_supplies_the_cap() {
    let d = tempfile::tempdir().unwrap();
    let ini = d.path().join("pgbouncer.ini");
    std::fs::write(&ini, "[databases]\n[pgbouncer]\nmax_client_conn = 70\n").unwrap();
    let run = |args: &[&str]| {
        let out = Command::new(common::bin())
            .args(["check", "--format", "json", "--runtime", "pgbouncer"])
            .args(args)
            .output()
            .unwrap();
        (out.status.code().unwrap_or(-1), common::json(&out))
    };
    let (code, v) = run(&["--require", "50"]);
    assert_eq!(code, 4, "nothing read: {v}");
    let (code, v) = run(&["--require", "50", "--config", ini.to_str().unwrap()]);
    assert_eq!(code, 0, "{v}");
    let i = input(&v, "max_client_conn");
    assert_eq!(
        (i["value"].as_str(), i["provenance"]["kind"].as_str()),
        (Some("70"), Some("read")),
        "{i}"
    );
    assert!(
        i["provenance"]["from"]
            .as_str()
            .unwrap()
            .ends_with("pgbouncer.ini:3")
    );
}

#[test]
fn an_unread_unlimited_default_still_cannot_tell() {
    // mosquitto's max_connections defaults to no limit: no rung at the default, but the
    // prediction's range still reaches down to a cap of 1
    let s = unread(RuntimeKind::Mosquitto);
    let p = predict(&s, &Scenario::new(ScenarioKind::Inbound));
    assert!(p.get(MOSQUITTO_MAX_CONNECTIONS).is_none());
    assert_eq!(p.range.as_ref().map(|r| r.low), Some(1), "{:?}", p.range);
    let (code, v) = check(&s, &["--require", "10"]);
    assert_eq!(code, 4, "{v}");
    let what = input(&v, "max_connections")["provenance"]["what"].to_string();
    assert!(what.contains("-1 (unlimited)"), "{what}");
}

#[test]
fn application_code_keeps_the_runtimes_ceiling_with_a_note() {
    let mut s = fixture("linux-defaults.yaml");
    s.process.is_self = false;
    s.process.pid = Some(4321);
    s.process.listening_sockets = 1;
    for kind in [RuntimeKind::Jvm, RuntimeKind::Native] {
        s.runtime.kind = kind;
        let (code, v) = check(&s, &["--require", "500"]);
        assert_eq!(code, 0, "{kind:?} {v}");
        let a = v["prediction"]["assumptions"].to_string() + &v["assumptions"].to_string();
        assert!(
            a.contains("application code") && a.contains("--app-limit N:NAME"),
            "{a}"
        );
        for product in ["nginx", "RabbitMQ", "mosquitto", "memcached"] {
            assert!(a.contains(product), "{product} in {a}");
        }
        // a stated cap: no note, the cap is a rung
        let (_, v) = check(&s, &["--app-limit", "300:pool"]);
        assert!(!v.to_string().contains("application code ("), "{v}");
        assert_eq!(v["prediction"]["bottleneck"], "app_limit");
    }
    // porttune itself, and a process that does not listen: no note
    s.process.listening_sockets = 0;
    let (_, v) = check(&s, &[]);
    assert!(!v.to_string().contains("application code ("), "{v}");
}

#[test]
fn a_value_it_does_not_read_is_unknown_not_no_limit() {
    // `max_connections 40x` (or an Erlang term porttune does not look into) is not "no limit"
    let mut s = unread(RuntimeKind::Mosquitto);
    s.runtime.server = Some(ServerConf {
        files: vec!["/etc/mosquitto/mosquitto.conf".into()],
        settings: vec![snapshot::Setting {
            key: "max_connections".into(),
            value: "40x".into(),
            source: "/etc/mosquitto/mosquitto.conf:3".into(),
        }],
        ..Default::default()
    });
    let (code, v) = check(&s, &["--require", "10"]);
    assert_eq!(code, 4, "{v}");
    let i = input(&v, "max_connections");
    assert_eq!(i["provenance"]["kind"], "unknown", "{i}");
    let what = i["provenance"]["what"].as_str().unwrap();
    assert!(
        what.contains("mosquitto.conf:3") && !what.contains("40x"),
        "{what}"
    );
    // -1, as mosquitto writes no limit, is read
    s.runtime.server.as_mut().unwrap().settings[0].value = "-1".into();
    let (code, v) = check(&s, &["--require", "10"]);
    assert_eq!(code, 0, "{v}");
    assert!(!v["inputs"].to_string().contains("\"unknown\""), "{v}");
}
