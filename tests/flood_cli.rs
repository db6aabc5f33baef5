//! `porttune flood` options that need no namespace: refusals happen before anything is sent.

mod common;

use std::process::Command;

#[test]
fn flood_remote_target_refused() {
    let out = Command::new(common::bin())
        .args(["flood", "--target", "10.1.2.3:80", "--max", "10"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("not a loopback address"), "{err}");
    assert!(err.contains("--allow-remote"), "{err}");
    assert!(out.stdout.is_empty());
}

#[test]
fn flood_bad_usage() {
    for args in [
        &["flood", "--workers", "zero"][..],
        &["flood", "--max", "0"],
        &["flood", "--target", "nonsense"],
        &["flood", "--source-ips", "300"],
    ] {
        let out = Command::new(common::bin()).args(args).output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(2),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn flood_help_documents_flags() {
    let out = Command::new(common::bin())
        .args(["flood", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    for flag in [
        "--max",
        "--duration",
        "--connect-timeout",
        "--workers",
        "--target",
        "--churn",
        "--report",
        "--require",
    ] {
        assert!(help.contains(flag), "{flag} missing from --help");
    }
}
