//! JSON contracts: every command's JSON carries `schema`, docs/schema/ holds the schema
//! `porttune schema` generates from the types (regenerate: `SCHEMA_UPDATE=1 cargo test --test
//! json_schema`), and REAL outputs — fixture snapshots, this host, a flood, an apply with
//! its journal, a rollback, status — validate against those files (the `jsonschema` crate,
//! draft 2020-12).

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const DOCUMENTS: &[&str] = &[
    "check", "flood", "plan", "rollback", "status", "doctor", "explain", "servers",
];

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn schema_file(doc: &str) -> PathBuf {
    root().join(format!("docs/schema/{doc}.schema.json"))
}

fn porttune(args: &[&str], env: &[(&str, &Path)]) -> Output {
    let mut c = Command::new(common::bin());
    c.args(args).env("NO_COLOR", "1");
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().unwrap()
}

/// Validate `out`'s standard output as document `doc` against docs/schema/DOC.schema.json.
fn validate(doc: &str, what: &str, out: &Output) -> serde_json::Value {
    let text = String::from_utf8_lossy(&out.stdout);
    let v: serde_json::Value = serde_json::from_str(&text).unwrap_or_else(|e| {
        panic!(
            "{what}: not JSON ({e}):\n{text}\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    let schema: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(schema_file(doc)).unwrap()).unwrap();
    let validator = jsonschema::validator_for(&schema)
        .unwrap_or_else(|e| panic!("docs/schema/{doc}.schema.json is not a valid schema: {e}"));
    let errors: Vec<String> = validator
        .iter_errors(&v)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{what}: {}\n{v}", errors.join("\n"));
    assert_eq!(v["schema"], 1, "{what}: `schema` names the version");
    v
}

#[test]
fn docs_schema_files_are_generated_from_the_types() {
    let dir = tempfile::tempdir().unwrap();
    let out = porttune(&["schema", "--dir", dir.path().to_str().unwrap()], &[]);
    assert!(out.status.success(), "{out:?}");
    let update = std::env::var_os("SCHEMA_UPDATE").is_some();
    let mut stale = Vec::new();
    for doc in DOCUMENTS {
        let fresh = std::fs::read_to_string(dir.path().join(format!("{doc}.schema.json"))).unwrap();
        let one = porttune(&["schema", doc], &[]);
        assert_eq!(String::from_utf8_lossy(&one.stdout), fresh, "schema {doc}");
        if update {
            std::fs::create_dir_all(schema_file(doc).parent().unwrap()).unwrap();
            std::fs::write(schema_file(doc), &fresh).unwrap();
        } else if std::fs::read_to_string(schema_file(doc)).ok().as_deref() != Some(&fresh) {
            stale.push(*doc);
        }
    }
    assert!(
        stale.is_empty(),
        "docs/schema/ is stale for {stale:?}: run `SCHEMA_UPDATE=1 cargo test --test json_schema` and read the diff"
    );
    // Every document has a schema, and only those.
    let listed: Vec<String> = std::fs::read_dir(root().join("docs/schema"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(listed.len(), DOCUMENTS.len(), "{listed:?}");
}

#[test]
fn check_outputs_validate() {
    let mut snaps: Vec<PathBuf> = Vec::new();
    for d in ["tests/fixtures/snapshots", "tests/fixtures/snapshots/macos"] {
        for e in std::fs::read_dir(root().join(d)).unwrap().flatten() {
            let p = e.path();
            if p.extension()
                .is_some_and(|x| x == "yaml" || x == "json" || x == "yml")
            {
                snaps.push(p);
            }
        }
    }
    assert!(snaps.len() >= 8, "{snaps:?}");
    for s in &snaps {
        let s = s.to_str().unwrap();
        for extra in [
            &[][..],
            &["--scenario", "outbound", "--churn", "--require", "1000000"],
        ] {
            let mut args = vec!["check", "--from", s, "--format", "json"];
            args.extend_from_slice(extra);
            let out = porttune(&args, &[]);
            if out.status.code() == Some(2) {
                // A fixture made to be refused (bad input) prints no document.
                continue;
            }
            validate("check", &format!("{args:?}"), &out);
        }
    }
    let with = porttune(
        &[
            "check",
            "--from",
            &format!(
                "{}/tests/fixtures/snapshots/linux-defaults.yaml",
                root().display()
            ),
            "--with",
            "production",
            "-o",
            "json",
        ],
        &[],
    );
    let v = validate("check", "check --with production", &with);
    assert_eq!(v["checks_for"], "with_profile");
    validate(
        "check",
        "check on this host",
        &porttune(&["check", "-o", "json"], &[]),
    );
}

#[test]
fn doctor_and_flood_outputs_validate() {
    validate(
        "doctor",
        "doctor",
        &porttune(&["doctor", "-o", "json"], &[]),
    );
    // A small bounded loopback flood on this host (both ends here, 20 connections).
    let out = porttune(&["flood", "--max", "20", "-o", "json"], &[]);
    let v = validate("flood", "flood --max 20", &out);
    assert_eq!(v["established"], 20, "{v}");
}

/// plan, apply (--check, --dry-run, a real apply into a fixture sysctl tree and a temporary
/// root), status, rollback: each document validates.
#[test]
#[cfg_attr(
    not(target_os = "linux"),
    ignore = "Linux only: a Linux sysctl tree and Linux profiles"
)]
fn plan_apply_rollback_status_outputs_validate() {
    let d = tempfile::tempdir().unwrap();
    let sys = common::sysctl_tree(
        d.path(),
        &[
            ("fs/file-max", "100000"),
            ("kernel/pid_max", "32768"),
            ("net/core/somaxconn", "4096"),
        ],
    );
    let prof = d.path().join("p.yaml");
    std::fs::write(
        &prof,
        "name: contract\npersist: true\nrequire:\n  connections: 1000\nsysctl:\n  net.core.somaxconn: 8192\n  fs.file-max: {min: 200000}\n  net.netfilter.nf_conntrack_max: {min: 262144, optional: true}\n",
    )
    .unwrap();
    let (p, img) = (prof.to_str().unwrap(), d.path().join("img"));
    let img = img.to_str().unwrap();
    let env: [(&str, &Path); 2] = [
        ("PORTTUNE_SYSCTL_ROOT", &sys),
        ("PORTTUNE_STATE_DIR", &d.path().join("state")),
    ];
    let v = validate(
        "plan",
        "plan",
        &porttune(&["plan", p, "--root", img, "-o", "json"], &env),
    );
    assert_eq!(v["mode"], "plan");
    assert!(v["skipped"].to_string().contains("nf_conntrack_max"), "{v}");
    for mode in ["--check", "--dry-run"] {
        validate(
            "plan",
            mode,
            &porttune(&["apply", p, mode, "--root", img, "-o", "json"], &env),
        );
    }
    validate(
        "status",
        "status, nothing applied",
        &porttune(&["status", "-o", "json"], &env),
    );
    let v = validate(
        "plan",
        "apply",
        &porttune(&["apply", p, "--yes", "--root", img, "-o", "json"], &env),
    );
    assert_eq!(v["changed"], 3, "{v}");
    let v = validate(
        "status",
        "status",
        &porttune(&["status", "-o", "json"], &env),
    );
    assert_eq!(v["active"][0], "contract");
    let v = validate(
        "rollback",
        "rollback",
        &porttune(&["rollback", "--yes", "-o", "json"], &env),
    );
    assert_eq!(v["restored"].as_array().unwrap().len(), 3, "{v}");
    validate(
        "rollback",
        "rollback again",
        &porttune(&["rollback", "-o", "json"], &env),
    );
    validate(
        "status",
        "status --all",
        &porttune(&["status", "--all", "-o", "json"], &env),
    );
}

/// `apply --verify` (with `--rollback-on-fail`) in a private network namespace: the plan
/// document with its `verify` part (the flood report, the rollback) validates.
#[test]
#[ignore = "needs root and unshare -n"]
fn apply_verify_output_validates() {
    common::need_root("apply_verify_output_validates");
    let d = tempfile::tempdir().unwrap();
    let prof = d.path().join("v.yaml");
    std::fs::write(
        &prof,
        "name: contract-verify\nrequire:\n  connections: 3000\n  scenario: {kind: loopback}\nsysctl:\n  net.ipv4.ip_local_port_range: \"40000 40999\"\n",
    )
    .unwrap();
    let out = common::netns_sh(&format!(
        "\"$PORTTUNE\" apply {} --yes --verify --rollback-on-fail -o json --state-dir {}/s || true",
        prof.display(),
        d.path().display()
    ));
    let v = validate("plan", "apply --verify --rollback-on-fail", &out);
    assert_eq!(v["verify"]["ok"], false, "{v}");
    assert_eq!(v["verify"]["flood"]["schema"], 1, "{v}");
    assert_eq!(v["verify"]["rolled_back"]["restored"][0]["kind"], "sysctl");
}

/// explain: every message of the corpus (matched alone, without a host) and a few on a
/// fixture host (with `current`, `next` and the checks).
#[test]
fn explain_outputs_validate() {
    let corpus = root().join("tests/explain-corpus/messages.txt");
    let out = porttune(
        &[
            "explain",
            "--no-host",
            "-o",
            "json",
            "--file",
            corpus.to_str().unwrap(),
        ],
        &[],
    );
    let v = validate("explain", "explain --file the corpus", &out);
    // One entry per pattern the corpus reaches: most of the table.
    let n = v["matches"].as_array().unwrap().len();
    assert!(n > 30, "{n} patterns matched");
    let snap = format!(
        "{}/tests/fixtures/snapshots/erlang-node.yaml",
        root().display()
    );
    for msg in [
        "accept4() failed (24: Too many open files)",
        "driver_select(0x00000000, 24576, ERL_DRV_READ ...) by tcp_inet driver #Port<0.1> failed: fd=24576 is larger than the largest allowed fd=24575",
        "nf_conntrack: table full, dropping packet",
        "connect: Connection refused",
        "nothing that porttune knows",
    ] {
        let out = porttune(&["explain", "--from", &snap, "-o", "json", msg], &[]);
        validate("explain", msg, &out);
    }
}

/// Every command that prints JSON says which version of its document it is.
#[test]
fn every_json_document_carries_schema() {
    let snap = format!("{}/tests/fixtures/snapshots/nginx.yaml", root().display());
    for args in [
        &["check", "--from", snap.as_str(), "-o", "json"][..],
        &["explain", "--no-host", "-o", "json", "Too many open files"],
        &["doctor", "-o", "json"],
        &[
            "plan",
            "production",
            "--root",
            "/nonexistent-root",
            "-o",
            "json",
        ],
        &["status", "--state-dir", "/nonexistent-state", "-o", "json"],
    ] {
        let out = porttune(args, &[]);
        let v: serde_json::Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{args:?}: {e}\n{out:?}"));
        assert_eq!(v["schema"], 1, "{args:?}: {v}");
    }
}

/// The schemas reject what the types would never print: the validation above can fail.
#[test]
fn a_document_that_breaks_the_contract_is_refused() {
    let snap = format!("{}/tests/fixtures/snapshots/nginx.yaml", root().display());
    let out = porttune(&["check", "--from", &snap, "-o", "json"], &[]);
    let good: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let schema: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(schema_file("check")).unwrap()).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    assert!(validator.is_valid(&good));
    let broken = |f: &dyn Fn(&mut serde_json::Value)| {
        let mut v = good.clone();
        f(&mut v);
        validator.is_valid(&v)
    };
    assert!(!broken(&|v| v["prediction"]["ceiling"] = "many".into()));
    assert!(!broken(&|v| v["process"]["nofile_soft"] = (-1).into()));
    assert!(!broken(&|v| v["process"]["nofile_hard"] = "infinity".into()));
    assert!(!broken(
        &|v| v["prediction"]["bottleneck"] = "no_such_ceiling".into()
    ));
    assert!(!broken(&|v| v["checks"][0]["severity"] = "fatal".into()));
    assert!(!broken(&|v| {
        v.as_object_mut().unwrap().remove("ceilings");
    }));
    // A field added later does not break a consumer of this version (objects stay open).
    assert!(validator.is_valid(&{
        let mut v = good.clone();
        v["a_new_field"] = 1.into();
        v
    }));
}
