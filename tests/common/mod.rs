//! Shared helpers for integration tests: the porttune binary, root/namespace gating.
#![allow(dead_code)]

pub mod linux_words;
#[cfg(target_os = "linux")]
pub mod protocols;
#[cfg(target_os = "linux")]
pub mod servers;

use std::process::{Command, Output};

/// Path of the built porttune binary.
pub fn bin() -> std::path::PathBuf {
    assert_cmd::cargo::cargo_bin("porttune")
}

pub fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

/// Gate for tests that need root and namespaces. Such tests are `#[ignore = "needs root …"]`,
/// so a plain `cargo test` lists them as ignored; when they are run (`--include-ignored`, as
/// `.ci/run` does) a missing prerequisite is a failure, never a silent skip.
pub fn need_root(test: &str) -> bool {
    if is_root()
        && Command::new("unshare")
            .arg("-n")
            .arg("true")
            .status()
            .map(|s| s.success())
            .unwrap_or(false)
    {
        return true;
    }
    panic!(
        "{test}: needs root and network namespaces (unshare -n); run it as root, or leave out \
         --include-ignored to skip it (it is #[ignore = \"needs root …\"])"
    );
}

/// A fixture sysctl tree under `dir/sys` holding `entries` (`"net/core/somaxconn"`, value):
/// plan, apply, rollback and status read and write it through PORTTUNE_SYSCTL_ROOT, so
/// nothing on the host is written.
pub fn sysctl_tree(dir: &std::path::Path, entries: &[(&str, &str)]) -> std::path::PathBuf {
    let root = dir.join("sys");
    for (k, v) in entries {
        let p = root.join(k);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, format!("{v}\n")).unwrap();
    }
    root
}

/// Shell-quote one word.
pub fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// A shell snippet that writes `value` to the sysctl `key` (dotted) inside the namespace.
pub fn sysctl_set(key: &str, value: &str) -> String {
    format!(
        "echo {} > /proc/sys/{} || exit 97",
        sh_quote(value),
        key.replace('.', "/")
    )
}

/// Run `script` (sh) in a fresh private network namespace with `lo` up. `$PORTTUNE` is the
/// binary. Nothing outside the namespace is touched.
pub fn netns_sh(script: &str) -> Output {
    let full = format!("set -e\nip link set lo up\n{script}");
    // apply's host lock lives with each namespace test: tests run side by side, each in its
    // own network namespace, writing only net.* there.
    let locks = tempfile::tempdir().expect("temp dir for the apply lock");
    Command::new("unshare")
        .args(["-n", "sh", "-c", &full])
        .env("PORTTUNE", bin())
        .env("NO_COLOR", "1")
        .env("PORTTUNE_LOCK_DIR", locks.path())
        .output()
        .expect("run unshare -n")
}

/// Run porttune with `args` in a fresh network namespace after setting `sysctls`.
pub fn netns_porttune(sysctls: &[(&str, &str)], args: &[&str]) -> Output {
    let mut script = String::new();
    for (k, v) in sysctls {
        script.push_str(&sysctl_set(k, v));
        script.push('\n');
    }
    script.push_str("exec \"$PORTTUNE\"");
    for a in args {
        script.push(' ');
        script.push_str(&sh_quote(a));
    }
    netns_sh(&script)
}

/// Parse stdout as JSON, with the whole output in the panic message when it is not.
pub fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}); status {:?}\nstdout:\n{}\nstderr:\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// Gate for tests that need an installed tool (they are `#[ignore = "needs TOOL"]`): true when
/// `program args` succeeds; otherwise the test fails with how to install it (.ci/run does).
pub fn need_tool(test: &str, program: &str, args: &[&str], hint: &str) -> bool {
    let ok = Command::new(program)
        .args(args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if ok {
        return true;
    }
    panic!("{test}: `{program}` is missing ({hint}); .ci/run installs it");
}

/// Gate for a test that runs something as another user in a private namespace: root,
/// `unshare -n` and `setpriv` (util-linux), or the test fails with how to get them.
pub fn need_root_and_setpriv(test: &str) -> bool {
    need_root(test)
        && need_tool(
            test,
            "setpriv",
            &["--version"],
            "apt-get install util-linux",
        )
}

/// Gate for a program that has no option that exits 0 (`epmd`): true when it can be run at
/// all; otherwise the test fails with how to install it.
pub fn need_program(test: &str, program: &str, hint: &str) -> bool {
    let found = Command::new(program)
        .arg("-h")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok();
    if found {
        return true;
    }
    panic!("{test}: `{program}` is missing ({hint}); .ci/run installs it");
}

/// Erlang/OTP (`erl`) for tests that start a real node.
pub fn need_erl(test: &str) -> bool {
    need_tool(test, "erl", &["-version"], "apt-get install erlang-nox")
}

/// The element of the JSON array `list` whose `field` is `value` (a ceiling by `name`, an
/// input by `key`); panics with the document when there is none.
pub fn find<'a>(list: &'a serde_json::Value, field: &str, value: &str) -> &'a serde_json::Value {
    list.as_array()
        .unwrap_or_else(|| panic!("not a list: {list}"))
        .iter()
        .find(|x| x[field] == value)
        .unwrap_or_else(|| panic!("no {field} {value} in {list}"))
}

/// `text` with every run of whitespace one space: wrapped text output, searched for a phrase.
pub fn words(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The Linux defaults fixture snapshot as a running server of `kind` (PID 4321) whose
/// configuration `file` sets `settings` in this order, line by line.
pub fn server_fixture(
    kind: porttune::snapshot::RuntimeKind,
    file: &str,
    settings: &[(&str, &str)],
) -> porttune::snapshot::Snapshot {
    use porttune::snapshot::{ServerConf, Setting};
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/snapshots/linux-defaults.yaml");
    let mut s = porttune::snapshot::load(&p).unwrap();
    s.process.is_self = false;
    s.process.pid = Some(4321);
    s.runtime.kind = kind;
    s.runtime.server = Some(ServerConf {
        files: vec![file.into()],
        settings: settings
            .iter()
            .enumerate()
            .map(|(i, (k, v))| Setting {
                key: k.to_string(),
                value: v.to_string(),
                source: format!("{file}:{}", i + 1),
            })
            .collect(),
        ..Default::default()
    });
    s
}
