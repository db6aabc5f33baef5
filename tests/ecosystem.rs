//! Fitting where operators work: completions, man page, Prometheus output, doctor.

mod common;

use std::io::Write;
use std::process::{Command, Stdio};

#[test]
fn bash_completion_registers() {
    let script = format!(
        "source <(\"{}\" completions bash) && complete -p porttune",
        common::bin().display()
    );
    let out = Command::new("bash").args(["-c", &script]).output().unwrap();
    let s = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(s.contains("complete") && s.contains("porttune"), "{s}");
    for shell in ["zsh", "fish"] {
        let out = Command::new(common::bin())
            .args(["completions", shell])
            .output()
            .unwrap();
        assert!(out.status.success() && out.stdout.len() > 100, "{shell}");
    }
}

#[test]
fn man_page_renders() {
    let out = Command::new(common::bin()).arg("man").output().unwrap();
    let s = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    assert!(s.contains(".TH porttune"), "{}", &s[..s.len().min(200)]);
}

#[test]
#[ignore = "needs python3 with prometheus_client"]
fn prometheus_output_parses() {
    if !common::need_tool(
        "prometheus_output_parses",
        "python3",
        &["-c", "import prometheus_client.parser"],
        "pip install prometheus_client",
    ) {
        return;
    }
    let fixture = format!(
        "{}/tests/fixtures/snapshots/conntrack.yaml",
        env!("CARGO_MANIFEST_DIR")
    );
    let out = Command::new(common::bin())
        .args([
            "check",
            "--from",
            &fixture,
            "--format",
            "prometheus",
            "--require",
            "100000",
        ])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "the failed checks are exported, the exit code still says so"
    );
    let parser = r#"
import sys
from prometheus_client.parser import text_string_to_metric_families
fams = {f.name: f for f in text_string_to_metric_families(sys.stdin.read())}
c = {s.labels["scenario"]: (s.value, s.labels["bottleneck"]) for s in fams["porttune_ceiling_connections"].samples}
assert c["inbound"] == (12144.0, "conntrack"), c
assert set(c) == {"inbound", "outbound", "loopback"}, c
fails = {s.labels["id"] for s in fams["porttune_check_failed"].samples if s.value == 1}
assert "Conntrack" in fails and "Require" in fails, fails
ratio = [s for s in fams["porttune_usage_ratio"].samples if s.labels["ceiling"] == "conntrack"]
assert abs(ratio[0].value - 250000 / 262144) < 1e-4, ratio
print("parsed", len(fams))
"#;
    let mut py = Command::new("python3")
        .args(["-c", parser])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    py.stdin.take().unwrap().write_all(&out.stdout).unwrap();
    let res = py.wait_with_output().unwrap();
    assert!(
        res.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&res.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
#[cfg_attr(not(target_os = "linux"), ignore = "Linux only: reads /proc")]
fn doctor_reports_can_and_cannot() {
    let out = Command::new(common::bin())
        .args(["doctor", "--format", "json"])
        .output()
        .unwrap();
    let v = common::json(&out);
    let f = v["findings"].as_array().unwrap();
    // Exit 1 exactly when something apply needs is missing.
    let missing = f.iter().any(|x| x["needed"] == true && x["can"] == false);
    assert_eq!(out.status.code(), Some(i32::from(missing)), "{v}");
    let hard = f
        .iter()
        .find(|x| x["what"].as_str().unwrap().contains("hard RLIMIT_NOFILE"))
        .unwrap();
    // Whether this process may raise a hard limit is exactly whether it has CAP_SYS_RESOURCE.
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let capeff = status.lines().find(|l| l.starts_with("CapEff:")).unwrap();
    let bits = u64::from_str_radix(capeff.split_whitespace().nth(1).unwrap(), 16).unwrap();
    assert_eq!(hard["can"], bits & (1 << 24) != 0);
    if hard["can"] == false {
        assert!(hard["fix"].as_str().unwrap().contains("LimitNOFILE"));
    }
}

/// In a container (here: a user that cannot write /proc/sys), `plan` says which changes can be
/// container sysctls and which belong on the host, and keys that already have the wanted value
/// count as satisfied even though they are read-only.
#[test]
#[ignore = "needs root and unshare -n"]
fn read_only_sysctls_plan_and_satisfied_keys() {
    if !common::need_root("read_only_sysctls_plan_and_satisfied_keys") {
        return;
    }
    let state = tempfile::tempdir().unwrap();
    let drop = "setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all";
    let script = format!(
        "{}\n{}\n\
         {drop} \"$PORTTUNE\" plan production --root {d}/img > {d}/plan.txt 2>&1 || true\n\
         rc=0; {drop} \"$PORTTUNE\" apply container --yes --format json --state-dir {d}/state > {d}/apply.json 2> {d}/apply.err || rc=$?\n\
         echo $rc > {d}/rc",
        common::sysctl_set("net.ipv4.ip_local_port_range", "1024 65535"),
        common::sysctl_set("net.ipv4.tcp_fin_timeout", "30"),
        d = state.path().display()
    );
    let out = common::netns_sh(&script);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The plan is wrapped to 80 columns: compare with the line breaks taken out.
    let plan = std::fs::read_to_string(state.path().join("plan.txt"))
        .unwrap()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    assert!(
        plan.contains("docker run --sysctl net.core.somaxconn=\"65535\""),
        "{plan}"
    );
    assert!(plan.contains("host-wide: it belongs on the host"), "{plan}");
    let rc = std::fs::read_to_string(state.path().join("rc")).unwrap();
    let err = std::fs::read_to_string(state.path().join("apply.err")).unwrap();
    assert_eq!(rc.trim(), "0", "{err}");
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(state.path().join("apply.json")).unwrap())
            .unwrap();
    assert_eq!(v["changed"], 0, "{v}");
}
