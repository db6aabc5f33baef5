//! No shell, strict values: what a profile can make porttune write is checked against what
//! the reader of that file accepts (pam_limits, systemd, sysctl(8) from a LaunchDaemon,
//! erts reading vm.args). Each hostile value is refused at `profiles validate` (exit 2, the
//! file and key named); the plain value next to it passes. And vm.args is edited in place.

mod common;

use std::path::Path;
use std::process::{Command, Output};

fn validate(d: &Path, body: &str) -> Output {
    let p = d.join("p.yaml");
    std::fs::write(&p, body).unwrap();
    Command::new(common::bin())
        .args(["profiles", "validate"])
        .arg(&p)
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

fn refused(d: &Path, body: &str, why: &str) {
    let o = validate(d, body);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "accepted:\n{body}\n{err}");
    assert!(err.contains(why), "{body}\n{err}");
    // the message shows control characters escaped, never raw
    assert!(
        !err.chars().any(|c| c.is_control() && c != '\n'),
        "raw control character in: {err:?}"
    );
}

fn accepted(d: &Path, body: &str) {
    let o = validate(d, body);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{body}\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

fn pam(domain: &str) -> String {
    format!(
        "name: p\nlimits:\n  nofile: {{soft: 65536, hard: 65536}}\n  targets: [pam]\n  pam_domain: \"{domain}\"\n"
    )
}

#[test]
fn pam_domains_are_what_pam_limits_accepts() {
    let d = tempfile::tempdir().unwrap();
    for bad in [
        "#",
        "%admins",
        "%",
        "ro\\u200bot",
        "a b",
        "@",
        "-x",
        "root;x",
        ":",
    ] {
        refused(d.path(), &pam(bad), "is not a limits.d domain");
    }
    refused(d.path(), &pam("%admins"), "maxlogins only");
    for good in [
        "*",
        "alice",
        "@users",
        "1000:",
        ":999",
        "1000:1999",
        "@100:200",
        "svc$",
    ] {
        accepted(d.path(), &pam(good));
    }
}

#[test]
fn nofile_unlimited_is_refused_for_pam() {
    let d = tempfile::tempdir().unwrap();
    refused(
        d.path(),
        "name: p\nlimits:\n  nofile: {soft: 65536, hard: unlimited}\n  targets: [pam]\n",
        "cannot be `unlimited` for the `pam` target",
    );
    let o = validate(
        d.path(),
        "name: p\nlimits:\n  nofile: {soft: unlimited, hard: unlimited}\n  targets: [pam]\n",
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("nofile: {soft: 1048576, hard: 1048576}"),
        "{err}"
    );
    accepted(
        d.path(),
        "name: p\nlimits:\n  nofile: {soft: 1048576, hard: 1048576}\n  targets: [pam]\n",
    );
}

#[test]
fn unit_names_are_what_systemd_accepts() {
    let d = tempfile::tempdir().unwrap();
    let unit = |u: &str| {
        format!(
            "name: p\nlimits:\n  nofile: {{soft: 65536, hard: 65536}}\n  targets: [\"systemd:{u}\"]\n"
        )
    };
    let long = format!("{}.service", "a".repeat(292));
    refused(d.path(), &unit(&long), "systemd allows at most 255");
    refused(d.path(), &unit("app%i.service"), "not a systemd unit name");
    refused(d.path(), &unit("app\\n.service"), "not a systemd unit name");
    refused(d.path(), &unit("../x.service"), "not a systemd unit name");
    accepted(d.path(), &unit(&format!("{}.service", "a".repeat(247))));
    accepted(d.path(), &unit("app@1.service"));
}

#[test]
fn sysctl_values_are_printable_and_macos_text_is_plain() {
    let d = tempfile::tempdir().unwrap();
    for v in ["8192\\u001b[2J", "8192\\u0007", "\\u009b31m", "1\\r2"] {
        refused(
            d.path(),
            &format!("name: p\nsysctl:\n  net.core.somaxconn: \"{v}\"\n"),
            "net.core.somaxconn",
        );
    }
    let mac = |v: &str| format!("name: p\nos: macos\nsysctl:\n  kern.hostname: \"{v}\"\n");
    for v in [
        "x;touch /tmp/pwned",
        "$(id)",
        "`id`",
        "a|b",
        "x&y",
        "<string>",
        "a'b",
    ] {
        refused(d.path(), &mac(v), "must be plain words");
    }
    accepted(d.path(), &mac("build-01.example.com"));
}

#[test]
fn vm_args_paths_are_one_line_and_a_vm_args_file() {
    let d = tempfile::tempdir().unwrap();
    let p =
        |v: &str| format!("name: p\nruntime:\n  erlang: {{max_ports: 65536, vm_args: \"{v}\"}}\n");
    refused(
        d.path(),
        &p("/srv/app/vm.args\\n/etc/x"),
        "control character",
    );
    refused(d.path(), &p("/etc/passwd"), "not a vm.args file");
    refused(d.path(), &p("/srv/../etc/vm.args"), "without `..`");
    accepted(d.path(), &p("/srv/app/vm.args"));
}

/// The plan's new vm.args content: `+Q` changed where it stands, the other flags on its line
/// kept (before: the whole line became `+Q N`).
#[test]
fn vm_args_flag_is_edited_in_place() {
    let d = tempfile::tempdir().unwrap();
    let root = d.path().join("root");
    std::fs::create_dir_all(root.join("srv/app")).unwrap();
    std::fs::write(
        root.join("srv/app/vm.args"),
        "-name app@h\n+Q 65536 +P 262144 -env X 1\n",
    )
    .unwrap();
    let prof = d.path().join("p.yaml");
    std::fs::write(
        &prof,
        "name: p\nruntime:\n  erlang: {max_ports: 1048576, vm_args: /srv/app/vm.args}\npersist: true\n",
    )
    .unwrap();
    let o = Command::new(common::bin())
        .arg("plan")
        .arg(&prof)
        .arg("--root")
        .arg(&root)
        .args(["--format", "json"])
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let v = common::json(&o);
    let change = v["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["key"].as_str().is_some_and(|k| k.ends_with("vm.args")))
        .cloned()
        .unwrap_or_else(|| panic!("no vm.args change: {v}"));
    let content = change["content"]
        .as_str()
        .unwrap_or_else(|| panic!("{change}"));
    assert_eq!(
        content, "-name app@h\n+Q 1048576 +P 262144 -env X 1\n",
        "{change}"
    );
}

/// Sysctls that make the kernel run a program as root (or decide who may) are refused in a
/// profile whatever their value: porttune tunes connection limits only.
#[test]
fn sysctls_that_run_programs_are_refused() {
    let d = tempfile::tempdir().unwrap();
    for (k, v) in [
        ("kernel.core_pattern", "|/tmp/x %p"),
        ("kernel.modprobe", "/tmp/x"),
        ("kernel.poweroff_cmd", "/tmp/x"),
        ("fs.suid_dumpable", "2"),
        ("kernel.yama.ptrace_scope", "0"),
    ] {
        refused(
            d.path(),
            &format!("name: p\nsysctl:\n  {k}: \"{v}\"\n"),
            "porttune never sets it",
        );
    }
    accepted(d.path(), "name: p\nsysctl:\n  net.core.somaxconn: 8192\n");
}

/// `apply --root R` never writes through a symbolic link planted in R (a link in R/etc, or
/// R's sysctl.d file itself a link, pointing out of the root): refused before any change,
/// the target outside untouched, the sysctl tree as it was.
#[test]
fn apply_does_not_write_through_a_link_under_root() {
    let d = tempfile::tempdir().unwrap();
    let sys = d.path().join("sys");
    std::fs::create_dir_all(sys.join("net/core")).unwrap();
    std::fs::write(sys.join("net/core/somaxconn"), "4096\n").unwrap();
    let outside = d.path().join("outside");
    std::fs::create_dir_all(outside.join("sysctl.d")).unwrap();
    let victim = outside.join("victim.conf");
    std::fs::write(&victim, "untouched\n").unwrap();
    let prof = d.path().join("p.yaml");
    std::fs::write(
        &prof,
        "name: p\nsysctl:\n  net.core.somaxconn: 8192\npersist: true\n",
    )
    .unwrap();
    let apply = |root: &Path| {
        Command::new(common::bin())
            .arg("apply")
            .arg(&prof)
            .arg("--root")
            .arg(root)
            .args(["--yes", "--state-dir"])
            .arg(d.path().join("state"))
            .env("PORTTUNE_SYSCTL_ROOT", &sys)
            .env("NO_COLOR", "1")
            .output()
            .unwrap()
    };
    // R/etc is a link to a directory outside R
    let r1 = d.path().join("r1");
    std::fs::create_dir_all(&r1).unwrap();
    std::os::unix::fs::symlink(&outside, r1.join("etc")).unwrap();
    // R/etc/sysctl.d/60-porttune-p.conf is a link to a file outside R
    let r2 = d.path().join("r2");
    std::fs::create_dir_all(r2.join("etc/sysctl.d")).unwrap();
    std::os::unix::fs::symlink(&victim, r2.join("etc/sysctl.d/60-porttune-p.conf")).unwrap();
    for r in [&r1, &r2] {
        let o = apply(r);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_ne!(o.status.code(), Some(0), "{err}");
        assert!(err.contains("symbolic link"), "{err}");
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "untouched\n");
        assert_eq!(
            std::fs::read_dir(outside.join("sysctl.d")).unwrap().count(),
            0
        );
        assert_eq!(
            std::fs::read_to_string(sys.join("net/core/somaxconn")).unwrap(),
            "4096\n",
            "{err}"
        );
    }
    // control: a plain tree is written
    let r3 = d.path().join("r3");
    std::fs::create_dir_all(&r3).unwrap();
    let o = apply(&r3);
    assert_eq!(o.status.code(), Some(0), "{o:?}");
    assert!(
        std::fs::read_to_string(r3.join("etc/sysctl.d/60-porttune-p.conf"))
            .unwrap()
            .contains("net.core.somaxconn")
    );
}

/// A profile that `extends` some other file (a shadow-like file, or one renamed .yaml) gets
/// an error at the `extends` entry or the file's position, never a line of that file.
#[test]
fn extending_another_file_quotes_none_of_it() {
    let d = tempfile::tempdir().unwrap();
    let line = "root:$y$j9T$S3CRETHASH$abc:19000:0:99999:7:::\n";
    let shadow = d.path().join("shadow");
    std::fs::write(&shadow, line).unwrap();
    let as_yaml = d.path().join("shadow.yaml");
    std::fs::write(&as_yaml, format!("{line}daemon:*:19000:0:99999:7:::\n")).unwrap();
    for parent in [&shadow, &as_yaml] {
        let body = format!("name: p\nextends: [{}]\n", parent.display());
        let o = validate(d.path(), &body);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{err}");
        assert!(!err.contains("S3CRET") && !err.contains("19000"), "{err}");
    }
    let o = validate(
        d.path(),
        &format!("name: p\nextends: [{}]\n", shadow.display()),
    );
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("not a profile file"),
        "{o:?}"
    );
    // a profile's own typo is still named
    refused(d.path(), "name: p\nsysclt: {}\n", "unknown key `sysclt`");
}
