//! The Debian package: scripts/build-deb.sh builds it with cargo-deb (from the debug binary
//! the tests already built, so no second compile), it holds every file in its Debian place,
//! lintian finds no error or warning, and `dpkg -i` into a throwaway root (its own dpkg
//! database; this machine's / is not touched) installs it: `porttune --version` runs from
//! there and `man -w porttune` finds its pages; `dpkg -P` removes every file again.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

fn sh(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?}: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Build the package into `out`; returns its path.
fn build(out: &Path) -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    sh(Command::new(root.join("scripts/build-deb.sh"))
        .args(["--profile", "dev", "--fast", "--output"])
        .arg(out)
        .current_dir(root));
    let debs: Vec<PathBuf> = std::fs::read_dir(out)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "deb"))
        .collect();
    assert_eq!(debs.len(), 1, "{debs:?}");
    debs[0].clone()
}

#[test]
#[ignore = "needs root, cargo-deb, dpkg, man and lintian"]
fn deb_builds_installs_into_a_throwaway_root_and_is_lintian_clean() {
    common::need_root("deb_builds_installs_into_a_throwaway_root_and_is_lintian_clean");
    for (tool, args, how) in [
        (
            "cargo-deb",
            &["--version"][..],
            "cargo install cargo-deb --version 3.8.0 --locked",
        ),
        ("dpkg", &["--version"], "apt-get install dpkg"),
        ("man", &["--version"], "apt-get install man-db"),
        ("lintian", &["--version"], "apt-get install lintian"),
    ] {
        common::need_tool("deb_builds_installs_into_a_throwaway_root", tool, args, how);
    }
    let tmp = tempfile::tempdir().unwrap();
    let deb = build(&tmp.path().join("out"));

    // Every file in its Debian place.
    let listing = sh(Command::new("dpkg-deb").arg("--contents").arg(&deb));
    let has = |p: &str| listing.lines().any(|l| l.ends_with(&format!(" ./{p}")));
    let mut want: Vec<String> = [
        "usr/bin/porttune",
        "usr/share/man/man1/porttune.1.gz",
        "usr/share/bash-completion/completions/porttune",
        "usr/share/zsh/vendor-completions/_porttune",
        "usr/share/fish/vendor_completions.d/porttune.fish",
        "lib/systemd/system/porttune-apply.service",
        "lib/systemd/system/porttune-textfile@.service",
        "lib/systemd/system/porttune-textfile@.timer",
        "usr/share/porttune/prometheus/porttune-alerts.yml",
        "usr/share/doc/porttune/copyright",
        "usr/share/doc/porttune/changelog.Debian.gz",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    for sub in [
        "check",
        "explain",
        "flood",
        "plan",
        "apply",
        "rollback",
        "status",
        "profiles",
        "doctor",
        "schema",
        "completions",
        "man",
    ] {
        want.push(format!("usr/share/man/man1/porttune-{sub}.1.gz"));
    }
    for doc in [
        "check", "flood", "plan", "rollback", "status", "doctor", "explain", "servers",
    ] {
        want.push(format!("usr/share/porttune/schema/{doc}.schema.json"));
    }
    for p in &want {
        assert!(has(p), "{p} missing from the package:\n{listing}");
    }
    let control = sh(Command::new("dpkg-deb").arg("--field").arg(&deb));
    assert!(control.contains("Depends: libc6"), "{control}");

    // lintian: no error, no warning (the one override, shipped in the package, says why).
    let out = Command::new("lintian").arg(&deb).output().unwrap();
    let lint = String::from_utf8_lossy(&out.stdout);
    let bad: Vec<&str> = lint
        .lines()
        .filter(|l| l.starts_with("E:") || l.starts_with("W:"))
        .collect();
    assert!(bad.is_empty(), "lintian:\n{lint}");

    // A throwaway root with its own dpkg database. libc6 is this machine's (the binary runs
    // with it), not the root's: --force-depends.
    let root = tmp.path().join("root");
    for d in ["var/lib/dpkg/info", "var/lib/dpkg/updates", "var/log"] {
        std::fs::create_dir_all(root.join(d)).unwrap();
    }
    std::fs::write(root.join("var/lib/dpkg/status"), "").unwrap();
    sh(Command::new("dpkg")
        .arg(format!("--root={}", root.display()))
        .args(["--force-depends", "-i"])
        .arg(&deb));
    let version = sh(Command::new(root.join("usr/bin/porttune")).arg("--version"));
    assert_eq!(
        version.trim(),
        format!("porttune {}", env!("CARGO_PKG_VERSION"))
    );
    let manpath = root.join("usr/share/man");
    let found = sh(Command::new("man")
        .args(["-w", "porttune", "porttune-check"])
        .env("MANPATH", &manpath));
    assert!(
        found.contains(&format!("{}/man1/porttune.1.gz", manpath.display())),
        "{found}"
    );
    let page = sh(Command::new("man")
        .args(["-P", "cat", "porttune-status"])
        .env("MANPATH", &manpath)
        .env("MANWIDTH", "80"));
    assert!(
        page.contains("EXIT STATUS") && page.contains("--state-dir"),
        "{page}"
    );
    let complete = sh(Command::new("bash").arg("-c").arg(format!(
        "source {}; complete -p porttune",
        root.join("usr/share/bash-completion/completions/porttune")
            .display()
    )));
    assert!(complete.contains("porttune"), "{complete}");
    for unit in ["porttune-apply.service", "porttune-textfile@.service"] {
        let text = std::fs::read_to_string(root.join("lib/systemd/system").join(unit)).unwrap();
        assert!(text.contains("/usr/bin/porttune"), "{unit}");
        assert!(
            !text.contains("/usr/local/bin"),
            "{unit}: the packaged path"
        );
    }
    let schema =
        std::fs::read_to_string(root.join("usr/share/porttune/schema/plan.schema.json")).unwrap();
    let installed = String::from_utf8(
        Command::new(root.join("usr/bin/porttune"))
            .args(["schema", "plan"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    assert_eq!(schema, installed, "the schema shipped is the binary's");

    // Purge: nothing of the package is left in the root.
    sh(Command::new("dpkg")
        .arg(format!("--root={}", root.display()))
        .args(["-P", "porttune"]));
    for p in &want {
        assert!(!root.join(p).exists(), "{p} left after purge");
    }
}
