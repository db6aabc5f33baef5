//! Acceptance 4: every bad profile exits 2 with file:line:column and a message a person
//! understands, and a full read of the sysctls before and after shows nothing changed.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;
use predicates::prelude::*;

fn fixtures() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/bad-profiles");
    let mut v: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    v.sort();
    v
}

/// What the message must say: the `# expect:` first line, or a fixed text for files that
/// cannot carry a comment.
fn expectation(p: &Path) -> String {
    let name = p.file_name().unwrap().to_string_lossy().to_string();
    match name.as_str() {
        "empty.yaml" | "comments-only.yaml" => "empty profile".into(),
        "binary-garbage.yaml" => "not a text file".into(),
        "nul-byte.yaml" => "NUL byte".into(),
        _ => {
            let text = std::fs::read_to_string(p).unwrap();
            text.lines()
                .next()
                .and_then(|l| l.strip_prefix("# expect: "))
                .unwrap_or_else(|| panic!("{name}: first line must be `# expect: ...`"))
                .to_string()
        }
    }
}

fn check_message(p: &Path, stderr: &str) {
    let name = p.file_name().unwrap().to_string_lossy();
    let located = predicates::str::is_match(r"bad-profiles/[a-z0-9-]+\.yaml:\d+:\d+: ").unwrap();
    assert!(
        located.eval(stderr),
        "{name}: no file:line:column in {stderr:?}"
    );
    let want = expectation(p);
    assert!(
        stderr.to_lowercase().contains(&want.to_lowercase()),
        "{name}: expected {want:?} in {stderr:?}"
    );
    assert!(!stderr.contains("panicked"), "{name}: {stderr}");
}

#[test]
fn there_are_at_least_30_bad_profiles() {
    assert!(fixtures().len() >= 30, "{}", fixtures().len());
}

/// Without root: `profiles validate` and `plan` on every file.
#[test]
fn bad_profiles_validate_and_plan_exit_2_with_location() {
    let root = tempfile::tempdir().unwrap();
    for p in fixtures() {
        let name = p.file_name().unwrap().to_string_lossy().to_string();
        let out = Command::new(bin())
            .args(["plan", p.to_str().unwrap(), "--root"])
            .arg(root.path())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{name}: {out:?}");
        check_message(&p, &String::from_utf8_lossy(&out.stderr));
        {
            let out = Command::new(bin())
                .args(["profiles", "validate", p.to_str().unwrap()])
                .output()
                .unwrap();
            assert_eq!(out.status.code(), Some(2), "{name}: {out:?}");
            check_message(&p, &String::from_utf8_lossy(&out.stderr));
        }
    }
    assert_eq!(
        std::fs::read_dir(root.path()).unwrap().count(),
        0,
        "files written"
    );
}

/// In a private network namespace, as root: `apply --yes` on every bad profile exits 2 and
/// changes nothing (full read of /proc/sys/net plus the global fs/kernel keys before and
/// after), writes no journal and no file.
#[test]
#[ignore = "needs root and unshare -n"]
fn bad_profiles_apply_changes_nothing_in_netns() {
    if !need_root("bad_profiles_apply_changes_nothing_in_netns") {
        return;
    }
    for p in fixtures() {
        let name = p.file_name().unwrap().to_string_lossy().to_string();
        let tmp = tempfile::tempdir().unwrap();
        let t = tmp.path().display().to_string();
        let script = format!(
            r#"
dump() {{ grep -rs . /proc/sys/net /proc/sys/fs/file-max /proc/sys/fs/nr_open /proc/sys/kernel/pid_max /proc/sys/kernel/threads-max | grep -v nf_conntrack_count || true; }}
dump > {t}/before
rc=0
"$PORTTUNE" apply {f} --yes --state-dir {t}/state --root {t}/root 2> {t}/err > {t}/out || rc=$?
dump > {t}/after
echo "rc=$rc"
"#,
            f = sh_quote(p.to_str().unwrap()),
        );
        let out = netns_sh(&script);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{name}: script failed: {out:?}");
        assert!(stdout.contains("rc=2"), "{name}: {stdout}");
        let before = std::fs::read_to_string(tmp.path().join("before")).unwrap();
        let after = std::fs::read_to_string(tmp.path().join("after")).unwrap();
        assert!(
            before.lines().count() > 100,
            "{name}: the dump read too little"
        );
        assert_eq!(before, after, "{name}: sysctls changed");
        let stderr = std::fs::read_to_string(tmp.path().join("err")).unwrap();
        check_message(&p, &stderr);
        assert!(
            !tmp.path().join("state").exists(),
            "{name}: journal written"
        );
        assert!(!tmp.path().join("root").exists(), "{name}: files written");
    }
}
