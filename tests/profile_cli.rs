//! `porttune profiles list|show|validate` and the bundled profiles through the binary.

mod common;

use std::process::Command;

use common::*;

#[test]
fn list_shows_every_bundled_profile() {
    let out = Command::new(bin())
        .args(["profiles", "list"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    for n in [
        "base",
        "production",
        "development",
        "outbound-heavy",
        "erlang",
        "container",
    ] {
        assert!(
            text.lines().any(|l| l.starts_with(n)),
            "{n} missing: {text}"
        );
    }
}

#[test]
fn show_prints_the_commented_yaml_and_the_resolved_form() {
    let out = Command::new(bin())
        .args(["profiles", "show", "production"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("# production:"));
    assert!(text.contains("extends: [base]"));
    let out = Command::new(bin())
        .args(["profiles", "show", "production", "--resolved"])
        .output()
        .unwrap();
    let j = json(&out);
    assert_eq!(j["name"], "production");
    // Inherited from base, overridden by production.
    assert_eq!(j["sysctl"]["net.core.somaxconn"]["op"]["min"], 65535);
    assert!(j["sysctl"]["net.ipv4.tcp_max_syn_backlog"].is_object());
    let out = Command::new(bin())
        .args(["profiles", "show", "prodution"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("did you mean `production`"));
}

#[test]
fn bundled_files_validate() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("profiles");
    let mut files: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path().display().to_string())
        .collect();
    files.sort();
    assert!(files.len() >= 6);
    let out = Command::new(bin())
        .args(["profiles", "validate"])
        .args(&files)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
}

#[test]
fn apply_unknown_bundled_name_is_a_usage_error() {
    let tmp = tempfile::tempdir().unwrap();
    let out = Command::new(bin())
        .args(["apply", "nosuch", "--yes", "--state-dir"])
        .arg(tmp.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no bundled profile `nosuch`"));
}

#[test]
fn rollback_without_journal_fails_clearly() {
    let tmp = tempfile::tempdir().unwrap();
    let out = Command::new(bin())
        .args(["rollback", "--state-dir"])
        .arg(tmp.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no journal"));
}
