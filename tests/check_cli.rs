//! `porttune check` through the binary, on saved snapshots: output, JSON, exit codes.

mod common;

use assert_cmd::Command;
use predicates::prelude::*;

fn fixture(name: &str) -> String {
    format!(
        "{}/tests/fixtures/snapshots/{name}",
        env!("CARGO_MANIFEST_DIR")
    )
}

fn porttune() -> Command {
    let mut c = Command::new(common::bin());
    c.env("NO_COLOR", "1");
    c
}

#[test]
fn json_shape_from_fixture() {
    let out = porttune()
        .args([
            "check",
            "--from",
            &fixture("tuned-server.yaml"),
            "--scenario",
            "outbound",
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v = common::json(&out);
    assert_eq!(v["schema"], 1);
    assert_eq!(v["prediction"]["ceiling"], 64499);
    assert_eq!(v["prediction"]["bottleneck"], "ephemeral_ports");
    assert_eq!(v["prediction"]["scenario"]["kind"], "outbound");
    let c = v["ceilings"].as_array().unwrap();
    assert_eq!(c[0]["name"], "ephemeral_ports");
    assert_eq!(c[0]["exact"], true);
    assert!(
        c[0]["lift"]
            .as_str()
            .unwrap()
            .contains("ip_local_port_range")
    );
    assert!(v["checks"].is_array());
    assert!(v["usage"].is_object());
}

#[test]
fn text_verdict_first_no_colour() {
    porttune()
        .args(["check", "--from", &fixture("linux-defaults.yaml")])
        .assert()
        .code(0) // warnings (SoftLimit1024) do not fail
        .stdout(predicate::str::contains("[WARNING SoftLimit1024]"))
        .stdout(predicate::str::starts_with(
            "Ceiling: 1,021 concurrent connections",
        ))
        .stdout(predicate::str::contains("\u{1b}[").not());
}

#[test]
fn require_and_ignore_exit_codes() {
    let f = fixture("linux-defaults.yaml");
    porttune()
        .args(["check", "--from", &f, "--require", "1000"])
        .assert()
        .code(0);
    porttune()
        .args(["check", "--from", &f, "--require", "500000"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("[ERROR ProcessFds]"))
        .stdout(predicate::str::contains("[ERROR Require]"));
    porttune()
        .args([
            "check",
            "--from",
            &f,
            "--require",
            "500000",
            "--ignore",
            "ProcessFds,Require",
        ])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("[WARNING ProcessFds] (ignored)"));
    porttune()
        .args(["check", "--from", &f, "--ignore", "NoSuchCheck"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no such check"));
}

#[test]
fn save_then_from_gives_the_same_prediction() {
    let dir = tempfile::tempdir().unwrap();
    for ext in ["json", "yaml"] {
        let path = dir.path().join(format!("host.{ext}"));
        let first = porttune()
            .args([
                "check",
                "--scenario",
                "loopback",
                "--format",
                "json",
                "--save",
            ])
            .arg(&path)
            .output()
            .unwrap();
        assert!(path.exists());
        let second = porttune()
            .args([
                "check",
                "--scenario",
                "loopback",
                "--format",
                "json",
                "--from",
            ])
            .arg(&path)
            .output()
            .unwrap();
        let (a, b) = (common::json(&first), common::json(&second));
        assert_eq!(a["prediction"], b["prediction"], "{ext}");
        assert_eq!(a["ceilings"], b["ceilings"], "{ext}");
    }
}

#[test]
fn corrupt_snapshots_exit_2_with_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let good = std::fs::read_to_string(fixture("linux-defaults.yaml")).unwrap();
    let cases: Vec<(&str, String, &str)> = vec![
        ("truncated.json", "{\n  \"schema\": 1,\n  \"platform\": {\"os\": \"linux\"".into(), ":3:"),
        ("truncated.yaml", good[..good.find("process:").unwrap() + 20].to_string(), ".yaml:"),
        ("garbage.yaml", "process:\n  nofile: {soft: lots, hard: 1}\nplatform: {os: linux}\n".into(), ":2:"),
        ("unknown.yaml", "schema: 1\nplatform: {os: linux}\nprocess:\n  nofile: {soft: 1, hard: 1}\n  nofiles: 3\n".into(), ":5:"),
        ("empty.json", "".into(), "empty"),
        ("schema.json", "{\"schema\": 99, \"platform\": {\"os\": \"linux\"}}".into(), "schema 99"),
    ];
    for (name, text, expect) in cases {
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        let out = porttune()
            .args(["check", "--from"])
            .arg(&p)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{name}: {err}");
        assert!(
            err.contains(name),
            "{name}: error must name the file: {err}"
        );
        assert!(err.contains(expect), "{name}: expected {expect:?} in {err}");
    }
    porttune()
        .args(["check", "--from", "/nonexistent/host.json"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("/nonexistent/host.json"));
}

#[test]
fn help_teaches_and_documents_exit_codes() {
    porttune()
        .args(["check", "--help"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("--scenario"))
        .stdout(predicate::str::contains("Exit codes"))
        .stdout(predicate::str::contains("Examples"));
    porttune()
        .args(["check", "--scenario", "sideways"])
        .assert()
        .code(2);
}

#[test]
fn erlang_not_yet_running_from_flags() {
    let out = porttune()
        .args([
            "check",
            "--runtime",
            "erlang",
            "--erl-flags",
            "+Q 5000 +P 300000",
            "--scenario",
            "loopback",
            "--format",
            "json",
        ])
        .env_remove("ERL_FLAGS")
        .env_remove("ERL_AFLAGS")
        .env_remove("ERL_ZFLAGS")
        .output()
        .unwrap();
    let v = common::json(&out);
    let c = v["ceilings"].as_array().unwrap();
    let port = c.iter().find(|c| c["name"] == "erlang_port_limit").unwrap();
    // 5000 → 8192; a bare node's 3 ports and 1 listener; 2 ports per connection.
    assert_eq!(port["value"], (8192 - 3 - 1) / 2);
    let procs = c
        .iter()
        .find(|c| c["name"] == "erlang_process_limit")
        .unwrap();
    assert_eq!(procs["value"], 524288 - 38);
    // ERL_FLAGS beats the command line.
    let out = porttune()
        .args([
            "check",
            "--runtime",
            "erlang",
            "--erl-flags",
            "+Q 8192",
            "--format",
            "json",
        ])
        .env("ERL_FLAGS", "+Q 2048")
        .output()
        .unwrap();
    let v = common::json(&out);
    let port = v["ceilings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "erlang_port_limit")
        .unwrap()
        .clone();
    assert_eq!(port["value"], 2048 - 3);
    // A bad +Q is an error check.
    porttune()
        .args(["check", "--runtime", "erlang", "--erl-flags", "+Q 10"])
        .env_remove("ERL_FLAGS")
        .assert()
        .code(1)
        .stdout(predicate::str::contains("[ERROR ErlangFlags]"));
}

#[test]
fn nginx_conf_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("nginx.conf");
    std::fs::write(
        &conf,
        "worker_processes 2;\nevents { worker_connections 1000; }\n",
    )
    .unwrap();
    let out = porttune()
        .args(["check", "--format", "json", "--nginx-conf"])
        .arg(&conf)
        .output()
        .unwrap();
    let v = common::json(&out);
    assert_eq!(v["prediction"]["bottleneck"], "nginx_worker_connections");
    // 2 workers × (1000 slots − 0 listeners − 1 channel − 1000/16 kept free for reuse)
    assert_eq!(v["prediction"]["ceiling"], 2 * (1000 - 1 - 62));
    std::fs::write(&conf, "events {\n  worker_connections many;\n}\n").unwrap();
    porttune()
        .args(["check", "--nginx-conf"])
        .arg(&conf)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("nginx.conf:2"));
}

#[test]
fn check_with_profile_shows_before_and_after() {
    let f = fixture("linux-defaults.yaml");
    let out = porttune()
        .args([
            "check",
            "--from",
            &f,
            "--with",
            "production",
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    let v = common::json(&out);
    let w = &v["with_profile"];
    assert_eq!(w["profile"], "production");
    assert_eq!(w["before"]["ceiling"], 1021);
    assert!(w["after"]["ceiling"].as_u64().unwrap() >= 500_000, "{w}");
    // Nothing was applied: the plain prediction is still the host's.
    assert_eq!(v["prediction"]["ceiling"], 1021);
    porttune()
        .args(["check", "--from", &f, "--with", "production"])
        .assert()
        .stdout(predicate::str::contains("What-if: 1,021 →"));
    porttune()
        .args(["check", "--from", &f, "--with", "no-such-profile"])
        .assert()
        .code(2);
}
