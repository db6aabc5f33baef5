//! `porttune status` against a fixture sysctl tree and a temporary root (nothing on the host
//! is written): nothing applied, applied and holding, a value changed behind porttune's back,
//! a persisted file removed, an interrupted apply left pending, everything rolled back.
// Linux only: Linux sysctl trees and Linux profiles (docs/macos.md, "cargo test on a Mac").
#![cfg(target_os = "linux")]

mod common;

use std::path::Path;
use std::process::Command;

fn tree(d: &Path) -> std::path::PathBuf {
    common::sysctl_tree(
        d,
        &[
            ("fs/file-max", "100000"),
            ("kernel/pid_max", "32768"),
            ("net/core/somaxconn", "4096"),
        ],
    )
}

struct Host {
    _dir: tempfile::TempDir,
    sys: std::path::PathBuf,
    state: std::path::PathBuf,
    img: std::path::PathBuf,
    profile: std::path::PathBuf,
}

fn host() -> Host {
    let dir = tempfile::tempdir().unwrap();
    let sys = tree(dir.path());
    let profile = dir.path().join("st.yaml");
    std::fs::write(
        &profile,
        "name: st\npersist: true\nsysctl:\n  net.core.somaxconn: 8192\n  kernel.pid_max: 4194304\n",
    )
    .unwrap();
    Host {
        state: dir.path().join("state"),
        img: dir.path().join("img"),
        sys,
        profile,
        _dir: dir,
    }
}

impl Host {
    fn run(&self, args: &[&str]) -> std::process::Output {
        Command::new(common::bin())
            .args(args)
            .env("PORTTUNE_SYSCTL_ROOT", &self.sys)
            .env("PORTTUNE_STATE_DIR", &self.state)
            .env("NO_COLOR", "1")
            .output()
            .unwrap()
    }

    fn status(&self) -> (Option<i32>, String, serde_json::Value) {
        let t = self.run(&["status"]);
        let text = String::from_utf8_lossy(&t.stdout).into_owned();
        for l in text
            .lines()
            .filter(|l| !l.contains(self.img.to_str().unwrap()))
        {
            assert!(l.chars().count() <= 80, "{l}\n{text}");
        }
        let j = self.run(&["status", "-o", "json"]);
        assert_eq!(j.status.code(), t.status.code(), "text and JSON agree");
        (t.status.code(), text, common::json(&j))
    }

    fn apply(&self) {
        let o = self.run(&[
            "apply",
            self.profile.to_str().unwrap(),
            "--yes",
            "--root",
            self.img.to_str().unwrap(),
        ]);
        assert_eq!(
            o.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
}

#[test]
fn status_says_what_is_applied_and_whether_it_holds() {
    let h = host();
    let (code, text, v) = h.status();
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("nothing applied by porttune here"), "{text}");
    assert_eq!(v["journals"].as_array().unwrap().len(), 0, "{v}");

    h.apply();
    let (code, text, v) = h.status();
    assert_eq!(code, Some(0), "{text}");
    assert_eq!(v["active"], serde_json::json!(["st"]), "{v}");
    let entries = v["journals"][0]["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 3, "two sysctls and the sysctl.d file: {v}");
    assert!(entries.iter().all(|e| e["holds"] == "yes"), "{v}");
    let file = h.img.join("etc/sysctl.d/60-porttune-st.conf");
    assert_eq!(v["journals"][0]["files"][0], file.to_str().unwrap(), "{v}");
    assert!(text.contains("every value still holds"), "{text}");

    // Someone lowers a value and removes the persisted file.
    std::fs::write(h.sys.join("net/core/somaxconn"), "1000\n").unwrap();
    std::fs::remove_file(&file).unwrap();
    let (code, text, v) = h.status();
    assert_eq!(code, Some(1), "{text}");
    assert_eq!(v["drifted"], 2, "{v}");
    let e = |key: &str| {
        v["journals"][0]["entries"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["key"] == key)
            .cloned()
            .unwrap()
    };
    let som = e("net.core.somaxconn");
    assert_eq!(
        (&som["holds"], &som["applied"], &som["current"]),
        (&"changed".into(), &"8192".into(), &"1000".into())
    );
    assert_eq!(e(file.to_str().unwrap())["holds"], "missing");
    assert_eq!(e("kernel.pid_max")["holds"], "yes");
    assert!(
        text.contains("CHANGED  net.core.somaxconn = 8192, now 1000"),
        "{text}"
    );

    // Rolled back: nothing applied now; --all lists it.
    let o = h.run(&["rollback", "--yes"]);
    assert_eq!(o.status.code(), Some(0));
    let (code, text, v) = h.status();
    assert_eq!(code, Some(0), "{text}");
    assert_eq!(v["journals"][0]["state"], "rolled-back", "{v}");
    assert!(text.contains("1 journal(s) already rolled back"), "{text}");
    let all = String::from_utf8_lossy(&h.run(&["status", "--all"]).stdout).into_owned();
    assert!(
        all.contains("`st` applied") && all.contains("rolled back"),
        "{all}"
    );
}

/// A journal left `pending` (an apply killed half-way) makes status exit 1 and name the
/// rollback that restores it.
#[test]
fn a_pending_journal_is_said() {
    let h = host();
    h.apply();
    let dir = h.state.join("journal");
    let j = std::fs::read_dir(&dir)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let text = std::fs::read_to_string(&j)
        .unwrap()
        .replace("\"applied\"", "\"pending\"");
    std::fs::write(&j, text).unwrap();
    let (code, text, v) = h.status();
    assert_eq!(code, Some(1), "{text}");
    assert_eq!(v["pending"], 1, "{v}");
    assert!(text.contains("Pending:"), "{text}");
    assert!(text.contains("porttune rollback"), "{text}");
}

/// A journal that does not parse is named, its content never printed; exit 1.
#[test]
fn an_unreadable_journal_is_named_not_quoted() {
    let h = host();
    let dir = h.state.join("journal");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("junk.json"), "SECRET-CONTENT {").unwrap();
    let (code, text, v) = h.status();
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("junk.json"), "{text}");
    assert!(!text.contains("SECRET-CONTENT"), "{text}");
    assert!(!v.to_string().contains("SECRET-CONTENT"), "{v}");
}
