//! deploy/kubernetes: the manifests validate against the Kubernetes schemas
//! (`kubernetes-validate`, which ships them), the pods keep to what they need (host network
//! and PID namespaces, read-only root filesystems, every capability dropped but two), the
//! node-problem-detector plugin config passes node-problem-detector's own rules, the plugin
//! script maps REAL porttune exit codes to the plugin protocol, and the DaemonSet's loop
//! writes a textfile node_exporter can read.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/kubernetes")
}

fn manifests() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir())
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    v.sort();
    v
}

/// Every document of every manifest, as JSON values.
fn documents() -> Vec<Value> {
    manifests()
        .iter()
        .flat_map(|p| {
            let text = std::fs::read_to_string(p).unwrap();
            serde_saphyr::from_multiple::<Value>(&text)
                .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
        })
        .collect()
}

fn find<'a>(docs: &'a [Value], kind: &str, name: &str) -> &'a Value {
    docs.iter()
        .find(|d| d["kind"] == kind && d["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no {kind} {name}"))
}

#[test]
#[ignore = "needs kubernetes-validate (pip install kubernetes-validate)"]
fn manifests_validate_against_the_kubernetes_schemas() {
    common::need_tool(
        "manifests_validate_against_the_kubernetes_schemas",
        "kubernetes-validate",
        &["--version"],
        "python3 -m pip install kubernetes-validate",
    );
    let files = manifests();
    assert!(files.len() >= 3, "{files:?}");
    let out = Command::new("kubernetes-validate")
        .arg("--strict")
        .args(&files)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{text}");
    assert_eq!(text.matches("passed").count(), 8, "every resource: {text}");
    // The validator refuses a misspelt field and a wrong type: the pass above means something.
    let bad = tempfile::tempdir().unwrap();
    let ds = std::fs::read_to_string(dir().join("porttune-daemonset.yaml")).unwrap();
    for (what, broken) in [
        (
            "a misspelt field",
            ds.replace("hostPID: true", "hostPid: true"),
        ),
        (
            "a wrong type",
            ds.replace("hostNetwork: true", "hostNetwork: yes-please"),
        ),
    ] {
        let f = bad.path().join("ds.yaml");
        std::fs::write(&f, broken).unwrap();
        let out = Command::new("kubernetes-validate")
            .arg("--strict")
            .arg(&f)
            .output()
            .unwrap();
        assert!(!out.status.success(), "{what} passed");
    }
}

/// The pods: host network and PID namespaces, read-only root filesystems, no privilege
/// escalation, every capability dropped and only SYS_PTRACE and DAC_READ_SEARCH added back
/// (porttune's container, to read another process's /proc/PID/fd and limits).
#[test]
fn pods_keep_to_what_they_need() {
    let docs = documents();
    let ns = find(&docs, "Namespace", "porttune");
    assert_eq!(
        ns["metadata"]["labels"]["pod-security.kubernetes.io/enforce"],
        "privileged"
    );
    for name in ["porttune", "porttune-npd"] {
        let spec = &find(&docs, "DaemonSet", name)["spec"]["template"]["spec"];
        assert_eq!(spec["hostNetwork"], true, "{name}");
        assert_eq!(
            spec["securityContext"]["seccompProfile"]["type"],
            "RuntimeDefault"
        );
        let containers = spec["containers"]
            .as_array()
            .unwrap()
            .iter()
            .chain(spec["initContainers"].as_array().into_iter().flatten());
        for c in containers {
            let sc = &c["securityContext"];
            let who = format!("{name}/{}", c["name"]);
            assert_eq!(sc["readOnlyRootFilesystem"], true, "{who}");
            assert_eq!(sc["allowPrivilegeEscalation"], false, "{who}");
            assert_ne!(sc["privileged"], true, "{who}");
            assert_eq!(
                sc["capabilities"]["drop"],
                serde_json::json!(["ALL"]),
                "{who}"
            );
            let added: Vec<&str> = sc["capabilities"]["add"]
                .as_array()
                .map(|a| a.iter().map(|v| v.as_str().unwrap()).collect())
                .unwrap_or_default();
            assert!(
                added
                    .iter()
                    .all(|a| ["SYS_PTRACE", "DAC_READ_SEARCH"].contains(a)),
                "{who}: {added:?}"
            );
            if sc["runAsUser"] != 0 {
                assert!(
                    added.is_empty(),
                    "{who}: capabilities without root do nothing"
                );
            }
        }
    }
    let ds = &find(&docs, "DaemonSet", "porttune")["spec"]["template"]["spec"];
    assert_eq!(ds["hostPID"], true);
    assert_eq!(ds["automountServiceAccountToken"], false);
    // The metrics are served by node_exporter (an existing package), textfile collector only.
    let exporter = ds["containers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "node-exporter")
        .unwrap();
    assert!(
        exporter["image"]
            .as_str()
            .unwrap()
            .contains("prometheus/node-exporter")
    );
    let args = exporter["args"].to_string();
    assert!(args.contains("--collector.disable-defaults") && args.contains("--collector.textfile"));
}

/// The ConfigMap holds exactly the plugin files of deploy/kubernetes/node-problem-detector/,
/// and the config passes node-problem-detector's own checks (CustomPluginConfig.Validate in
/// pkg/custompluginmonitor/types/config.go): plugin `custom`, no rule timeout above the
/// global one, every permanent rule's condition among the default conditions, every rule's
/// path where the ConfigMap is mounted.
#[test]
fn npd_plugin_config_is_what_node_problem_detector_accepts() {
    let docs = documents();
    let cm = find(&docs, "ConfigMap", "porttune-npd-plugin");
    let files = dir().join("node-problem-detector");
    for key in ["porttune-plugin.json", "porttune-check.sh"] {
        assert_eq!(
            cm["data"][key].as_str().unwrap(),
            std::fs::read_to_string(files.join(key)).unwrap(),
            "the ConfigMap's {key} differs from the file"
        );
    }
    let cfg: Value =
        serde_json::from_str(cm["data"]["porttune-plugin.json"].as_str().unwrap()).unwrap();
    assert_eq!(cfg["plugin"], "custom");
    let secs = |v: &Value| -> u64 { v.as_str().unwrap().trim_end_matches('s').parse().unwrap() };
    let global = secs(&cfg["pluginConfig"]["timeout"]);
    let max_output = cfg["pluginConfig"]["max_output_length"].as_u64().unwrap();
    assert!(max_output >= 80, "the plugin's line is up to 80 bytes");
    let ds = &find(&docs, "DaemonSet", "porttune-npd")["spec"]["template"]["spec"];
    let npd = &ds["containers"][0];
    let mount = npd["volumeMounts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == "plugin")
        .unwrap()["mountPath"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(npd["command"].to_string().contains(&format!(
        "--config.custom-plugin-monitor={mount}/porttune-plugin.json"
    )));
    let conditions: Vec<&Value> = cfg["conditions"].as_array().unwrap().iter().collect();
    for rule in cfg["rules"].as_array().unwrap() {
        assert!(secs(&rule["timeout"]) <= global, "{rule}");
        if rule["type"] == "permanent" {
            assert!(
                conditions.iter().any(|c| c["type"] == rule["condition"]),
                "{rule}: no default condition"
            );
        }
        assert_eq!(rule["path"], format!("{mount}/porttune-check.sh").as_str());
    }
    // The script's own timeout for porttune stays below the rule's.
    let env = npd["env"].to_string();
    assert!(env.contains("PORTTUNE_REQUIRE"), "{env}");
    assert!(20 < secs(&cfg["rules"][0]["timeout"]));
}

/// Run the plugin as node-problem-detector does, against the real porttune binary.
fn plugin(require: &str, args: &str, porttune: &Path) -> (i32, String) {
    let out = Command::new("sh")
        .arg(dir().join("node-problem-detector/porttune-check.sh"))
        .env("PORTTUNE", porttune)
        .env("PORTTUNE_REQUIRE", require)
        .env("PORTTUNE_ARGS", args)
        .env("PORTTUNE_TIMEOUT", "2")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(stdout.lines().count(), 1, "one line: {stdout:?}");
    assert!(stdout.trim_end().len() <= 80, "{stdout:?}");
    (out.status.code().unwrap(), stdout.trim_end().to_string())
}

/// porttune exit 0 → OK (0), 1 → a problem (1), 4 (cannot tell) → unknown (2), 2 (bad
/// input) → unknown, a hang → unknown after the timeout.
#[test]
fn npd_plugin_maps_porttune_exit_codes() {
    let bin = common::bin();
    let snap = |f: &str| format!("--from tests/fixtures/snapshots/{f}");
    let (code, msg) = plugin("100000", &snap("tuned-server.yaml"), &bin);
    assert_eq!(code, 0, "{msg}");
    assert!(
        msg.starts_with("ceiling ") && msg.contains(">= 100000"),
        "{msg}"
    );
    let (code, msg) = plugin("100000", &snap("linux-defaults.yaml"), &bin);
    assert_eq!(code, 1, "{msg}");
    assert!(msg.contains("< 100000 (limited by process_fds)"), "{msg}");
    assert!(msg.contains("Require"), "{msg}");
    let cannot = format!("{} --scenario loopback", snap("macos/seed-no-perproc.yaml"));
    let (code, msg) = plugin("10000", &cannot, &bin);
    assert_eq!(code, 2, "{msg}");
    assert!(msg.starts_with("cannot tell"), "{msg}");
    let (code, msg) = plugin("100000", "--from /nonexistent.yaml", &bin);
    assert_eq!(code, 2, "{msg}");
    assert!(msg.contains("exit 2"), "{msg}");
    let (code, msg) = plugin("lots", "", &bin);
    assert_eq!(code, 2, "{msg}");
    // A porttune that hangs: stopped by the timeout, unknown.
    let d = tempfile::tempdir().unwrap();
    let hang = d.path().join("porttune");
    std::fs::write(&hang, "#!/bin/sh\nexec sleep 30\n").unwrap();
    std::fs::set_permissions(&hang, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let t = std::time::Instant::now();
    let (code, msg) = plugin("100000", "", &hang);
    assert_eq!(code, 2, "{msg}");
    assert!(msg.contains("timed out"), "{msg}");
    assert!(t.elapsed().as_secs() < 10);
}

/// The porttune container's loop, run as the pod would (its textfile directory a temporary
/// one, two rounds a second apart): it writes porttune.prom with the host's series.
#[test]
fn daemonset_loop_writes_the_textfile() {
    let docs = documents();
    let c = &find(&docs, "DaemonSet", "porttune")["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(c["command"], serde_json::json!(["/bin/sh", "-c"]));
    let script = c["args"][0].as_str().unwrap();
    let d = tempfile::tempdir().unwrap();
    let path = format!(
        "{}:{}",
        common::bin().parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let _ = Command::new("timeout")
        .args(["2.5", "sh", "-c", script])
        .env("PATH", path)
        .env("TEXTFILE_DIR", d.path())
        .env("PORTTUNE_INTERVAL", "1")
        .env("PORTTUNE_ARGS", "")
        .output()
        .unwrap();
    let prom = std::fs::read_to_string(d.path().join("porttune.prom")).unwrap();
    assert!(
        prom.contains("porttune_ceiling_connections{target=\"host\""),
        "{prom}"
    );
    // Whole series only (the file is renamed into place, never read half-written).
    for l in prom.lines().filter(|l| !l.starts_with('#')) {
        let (series, value) = l.rsplit_once(' ').unwrap();
        assert!(
            series.starts_with("porttune_") && series.ends_with('}'),
            "{l}"
        );
        assert!(value.parse::<f64>().is_ok(), "{l}");
    }
}
