//! The bad-input corpus (issue 11): over 200 hostile-but-fair inputs (profile values and
//! structure, file kinds, snapshots, journals, command-line numbers, output paths), each with
//! its expected exit code and message. Every case: no panic, done within 5 s (a FIFO or
//! /dev/zero cannot hang or flood a read), and nothing changed: the fixture sysctl tree and
//! the --root tree read the same after, and no journal was written.
//!
//! `PORTTUNE_CORPUS_SHOW=1 cargo test --test bad_input_corpus -- --nocapture` prints what
//! each case got.
// Linux only: Linux sysctl trees, /proc and Linux profiles (docs/macos.md, "cargo test on a Mac").
#![cfg(target_os = "linux")]

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::*;

struct Case {
    name: String,
    args: Vec<String>,
    /// Files to create under the temp dir before the run (name, bytes).
    files: Vec<(String, Vec<u8>)>,
    code: i32,
    /// Lower-case substring expected in stderr (or stdout).
    msg: String,
}

fn case(name: &str, args: &[&str], code: i32, msg: &str) -> Case {
    Case {
        name: name.into(),
        args: args.iter().map(|s| s.to_string()).collect(),
        files: vec![],
        code,
        msg: msg.to_lowercase(),
    }
}

fn with_file(mut c: Case, name: &str, body: &[u8]) -> Case {
    c.files.push((name.into(), body.to_vec()));
    c
}

/// `apply` of a profile file `p.yaml` with the given text (against the fixture root).
fn profile(name: &str, text: &str, msg: &str) -> Case {
    with_file(
        case(
            name,
            &[
                "apply",
                "{d}/p.yaml",
                "--yes",
                "--state-dir",
                "{d}/state",
                "--root",
                "{d}/root",
            ],
            2,
            msg,
        ),
        "p.yaml",
        text.as_bytes(),
    )
}

const SYSCTLS: &[(&str, &str)] = &[
    ("fs/file-max", "100000"),
    ("fs/nr_open", "1048576"),
    ("kernel/pid_max", "32768"),
    ("kernel/threads-max", "192730"),
    ("net/core/somaxconn", "4096"),
    ("net/core/netdev_max_backlog", "1000"),
    ("net/core/rmem_max", "212992"),
    ("net/core/wmem_max", "212992"),
    ("net/ipv4/ip_unprivileged_port_start", "1024"),
    ("net/ipv4/ip_local_port_range", "32768\t60999"),
    ("net/ipv4/ip_local_reserved_ports", ""),
    ("net/ipv4/tcp_tw_reuse", "2"),
    ("net/ipv4/tcp_timestamps", "1"),
    ("net/ipv4/tcp_syncookies", "1"),
    ("net/ipv4/tcp_max_tw_buckets", "262144"),
    ("net/ipv4/tcp_fin_timeout", "60"),
    ("net/ipv4/tcp_max_syn_backlog", "4096"),
    ("net/ipv4/tcp_rmem", "4096\t131072\t6291456"),
    ("net/ipv4/tcp_wmem", "4096\t16384\t4194304"),
    ("net/ipv4/tcp_mem", "188319\t251094\t376638"),
    ("net/ipv4/tcp_congestion_control", "cubic"),
];

fn fixture(d: &Path) -> PathBuf {
    let sys = d.join("sys");
    for (k, v) in SYSCTLS {
        let p = sys.join(k);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, format!("{v}\n")).unwrap();
    }
    // A write-only trigger and a directory of keys, as in the real /proc/sys.
    let drop = sys.join("vm/drop_caches");
    std::fs::create_dir_all(drop.parent().unwrap()).unwrap();
    std::fs::write(&drop, "").unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&drop, std::fs::Permissions::from_mode(0o200)).unwrap();
    }
    std::fs::create_dir_all(sys.join("net/ipv4/conf/lo")).unwrap();
    std::fs::write(sys.join("net/ipv4/conf/lo/forwarding"), "0\n").unwrap();
    std::fs::create_dir_all(d.join("root/etc")).unwrap();
    sys
}

fn tree(d: &Path, out: &mut Vec<(String, Vec<u8>)>) {
    let Ok(rd) = std::fs::read_dir(d) else {
        return;
    };
    let mut v: Vec<_> = rd.flatten().collect();
    v.sort_by_key(|e| e.path());
    for e in v {
        let p = e.path();
        let m = std::fs::symlink_metadata(&p).unwrap();
        if m.is_dir() {
            tree(&p, out);
        } else {
            out.push((
                p.display().to_string(),
                if m.is_file() {
                    std::fs::read(&p).unwrap_or_default()
                } else {
                    vec![]
                },
            ));
        }
    }
}

/// Every sysctl value, pattern, and anything else a bad input could have changed.
fn state(d: &Path) -> Vec<(String, Vec<u8>)> {
    let mut v = Vec::new();
    tree(&d.join("sys"), &mut v);
    tree(&d.join("root"), &mut v);
    tree(&d.join("state"), &mut v);
    v
}

// --- the cases ------------------------------------------------------------------------

fn value_cases() -> Vec<Case> {
    let mut v = Vec::new();
    let keys = [
        "net.core.somaxconn",
        "net.ipv4.tcp_max_tw_buckets",
        "net.ipv4.tcp_fin_timeout",
        "net.ipv4.tcp_tw_reuse",
        "fs.file-max",
        "fs.nr_open",
        "kernel.pid_max",
        "kernel.threads-max",
        "net.core.netdev_max_backlog",
        "net.ipv4.tcp_max_syn_backlog",
    ];
    // Values that validate nowhere: the kernel reads them differently or refuses them.
    let bad: &[(&str, &str)] = &[
        ("\"08192\"", "leading zero"),
        ("\"010\"", "octal (8)"),
        ("\"+8192\"", "`+` sign"),
        ("\"1e3\"", "not an integer"),
        ("\"0x10\"", "not an integer"),
        ("\"12abc\"", "not an integer"),
        ("\"1 2\"", "must be"),
        ("\"99999999999999999999999999\"", "must be"),
        ("-5", "must be"),
        ("\"\"", "empty value"),
        ("18446744073709551616", "larger than any kernel integer"),
    ];
    for k in keys {
        for (val, msg) in bad {
            v.push(profile(
                &format!("value {k} = {val}"),
                &format!("name: v\nsysctl:\n  {k}: {val}\n"),
                msg,
            ));
        }
    }
    for (val, msg) in [
        ("\"40000\"", "two ports"),
        ("\"40000 30000\"", "inverted"),
        ("\"0 100\"", "between 1 and 65535"),
        ("\"1000 70000\"", "between 1 and 65535"),
        ("\"500 60000\"", "below net.ipv4.ip_unprivileged_port_start"),
        ("\"040000 60000\"", "leading zero"),
        ("\"+40000 60000\"", "`+` sign"),
        ("\"a b\"", "not an integer"),
        ("\"1 2 3\"", "two ports"),
        ("{min: 1024}", "min"),
    ] {
        v.push(profile(
            &format!("port range {val}"),
            &format!("name: v\nsysctl:\n  net.ipv4.ip_local_port_range: {val}\n"),
            msg,
        ));
    }
    for (val, msg) in [
        ("\"4096 131072\"", "three integers"),
        ("\"4096 1 6291456\"", "min ≤ default ≤ max"),
        ("\"-1 2 3\"", "outside"),
        ("\"04096 131072 6291456\"", "leading zero"),
    ] {
        v.push(profile(
            &format!("tcp_rmem {val}"),
            &format!("name: v\nsysctl:\n  net.ipv4.tcp_rmem: {val}\n"),
            msg,
        ));
    }
    for (val, msg) in [
        ("{min: -1}", "must be"),
        ("{max: 99999999999999}", "must be"),
        ("{min: 1, max: 2}", ""),
        ("{minimum: 5}", "unknown"),
        ("[1, 2]", ""),
        ("null", ""),
        ("{valeu: 1}", "unknown"),
    ] {
        v.push(profile(
            &format!("bound {val}"),
            &format!("name: v\nsysctl:\n  net.core.somaxconn: {val}\n"),
            msg,
        ));
    }
    v
}

fn key_cases() -> Vec<Case> {
    let mut v = Vec::new();
    for (key, msg) in [
        ("\"../../etc/passwd\"", "contains `/`"),
        ("net/core/somaxconn", "contains `/`"),
        ("\"/etc/shadow\"", "contains `/`"),
        ("net..core", "empty part"),
        (".net.core", "empty part"),
        ("\"net.core.\"", "empty part"),
        ("somaxconn", "no dot"),
        ("foo.bar", "known roots"),
        ("\"net.core.some maxconn\"", "contains"),
        ("\"net.core.$(reboot)\"", "contains"),
        ("\"net.core.*\"", "contains"),
        ("net.core.nosuchkey", "does not exist on this kernel"),
        ("vm.drop_caches", "write-only"),
        ("net.ipv4.conf", "directory of settings"),
        ("net.ipv4.conf.lo", "directory of settings"),
    ] {
        v.push(profile(
            &format!("key {key}"),
            &format!("name: k\nsysctl:\n  {key}: 1\n"),
            msg,
        ));
    }
    let long = format!("net.{}", "a".repeat(250));
    v.push(profile(
        "key too long",
        &format!("name: k\nsysctl:\n  {long}: 1\n"),
        "longer than 200",
    ));
    v
}

fn limits_cases() -> Vec<Case> {
    let mut v = Vec::new();
    let t = "  targets: [pam]\n";
    for (lim, msg) in [
        ("nofile: 0", "0 would leave"),
        ("nproc: 0", "0 would leave"),
        ("nofile: {soft: 0, hard: 1024}", "0 would leave"),
        (
            "nofile: {soft: 2048, hard: 1024}",
            "soft 2048 is above hard 1024",
        ),
        ("nofile: 4294967296", "largest fs.nr_open"),
        (
            "nofile: {soft: 4294967296, hard: unlimited}",
            "largest fs.nr_open",
        ),
        ("nofile: -1", ""),
        ("nofile: lots", ""),
        ("nofile: {soft: 1, hard: 2, extra: 3}", ""),
        ("nofile: 1.5", "whole number"),
        ("nofile: 18446744073709551616", "larger than any rlimit"),
    ] {
        v.push(profile(
            &format!("limits {lim}"),
            &format!("name: l\nlimits:\n  {lim}\n{t}"),
            msg,
        ));
    }
    for (target, msg) in [
        ("pid:0", "positive integer"),
        ("pid:-1", "positive integer"),
        ("pid:abc", "positive integer"),
        ("pid:99999999999", "positive integer"),
        ("\"systemd:../../x.service\"", "not a systemd unit name"),
        ("systemd:foo", "suffix"),
        ("systemd:", "expected string"),
        ("\"systemd:\"", "not a systemd unit name"),
        ("pma", "did you mean `pam`"),
        ("\"\"", "unknown limits target"),
        ("\"pid:3999999\"", "is the process running"),
    ] {
        v.push(profile(
            &format!("target {target}"),
            &format!("name: l\nlimits:\n  nofile: 65536\n  targets: [{target}]\n"),
            msg,
        ));
    }
    v.push(profile(
        "limits without targets",
        "name: l\nlimits:\n  nofile: 65536\n",
        "no `targets`",
    ));
    v.push(profile(
        "pam_domain with a space",
        "name: l\nlimits:\n  nofile: 65536\n  targets: [pam]\n  pam_domain: \"a b\"\n",
        "pam_domain",
    ));
    v
}

fn structure_cases() -> Vec<Case> {
    let mut v = Vec::new();
    for (name, text, msg) in [
        (
            "unknown top key",
            "name: s\nsysctls: {}\n",
            "did you mean `sysctl`",
        ),
        ("duplicate key", "name: s\nname: t\n", "duplicate key"),
        ("a list", "- a\n- b\n", "expected a mapping"),
        ("a scalar", "hello\n", ""),
        (
            "two documents",
            "name: a\n---\nname: b\n",
            "single yaml document",
        ),
        ("empty", "", "empty profile"),
        ("comments only", "# x\n# y\n", "empty profile"),
        (
            "bad name",
            "name: \"a b\"\nsysctl:\n  fs.file-max: 1\n",
            "name",
        ),
        ("long name", &format!("name: {}\n", "a".repeat(100)), "name"),
        (
            "unclosed quote",
            "name: \"s\nsysctl: {}\n",
            "unclosed quote",
        ),
        (
            "unclosed bracket",
            "name: s\nlimits:\n  targets: [pam\n",
            "",
        ),
        ("tab indent", "name: s\nsysctl:\n\tfs.file-max: 1\n", ""),
        ("null sysctl", "name: s\nsysctl:\n  fs.file-max: ~\n", ""),
        (
            "bool as number",
            "name: s\nsysctl:\n  fs.file-max: yes\n",
            "",
        ),
        (
            "connections 0",
            "name: s\nrequire:\n  connections: 0\n",
            "above 0",
        ),
        (
            "connections text",
            "name: s\nrequire:\n  connections: many\n",
            "",
        ),
        (
            "destinations 0",
            "name: s\nrequire:\n  connections: 1\n  scenario: {destinations: 0}\n",
            "destinations",
        ),
        (
            "destinations huge",
            "name: s\nrequire:\n  connections: 1\n  scenario: {destinations: 18446744073709551615}\n",
            "destinations",
        ),
        (
            "processes huge",
            "name: s\nrequire:\n  connections: 1\n  scenario: {processes: 99999999999}\n",
            "processes",
        ),
        (
            "source_ips huge",
            "name: s\nrequire:\n  connections: 1\n  scenario: {source_ips: 4294967296}\n",
            "source_ips",
        ),
        (
            "listen_ports 70000",
            "name: s\nrequire:\n  connections: 1\n  scenario: {listen_ports: 70000}\n",
            "listen_ports",
        ),
        (
            "unknown scenario key",
            "name: s\nrequire:\n  connections: 1\n  scenario: {kinds: outbound}\n",
            "unknown key",
        ),
        (
            "unknown scenario kind",
            "name: s\nrequire:\n  connections: 1\n  scenario: {kind: sideways}\n",
            "unknown value",
        ),
        (
            "erlang max_ports small",
            "name: s\nruntime:\n  erlang: {max_ports: 10}\n",
            "between 1024",
        ),
        (
            "erlang max_ports huge",
            "name: s\nruntime:\n  erlang: {max_ports: 1099511627776}\n",
            "between 1024",
        ),
        (
            "erlang vm_args relative",
            "name: s\nruntime:\n  erlang: {max_ports: 65536, vm_args: etc/vm.args}\n",
            "absolute path",
        ),
        (
            "erlang vm_args dotdot",
            "name: s\nruntime:\n  erlang: {max_ports: 65536, vm_args: /etc/../x}\n",
            "absolute path",
        ),
        (
            "erlang unit",
            "name: s\nruntime:\n  erlang: {max_ports: 65536, unit: \"a/b\"}\n",
            "systemd unit",
        ),
        ("NUL byte", "name: s\0\n", "nul byte"),
        (
            "alias bomb",
            "a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\ne: [*d, *d, *d, *d, *d, *d, *d, *d, *d]\n",
            "alias",
        ),
        (
            "deep nesting",
            &format!("name: s\nx: {}{}\n", "[".repeat(200), "]".repeat(200)),
            "",
        ),
        (
            "extends missing",
            "name: s\nextends: [./nope.yaml]\n",
            "cannot read profile",
        ),
        (
            "extends unknown bundled",
            "name: s\nextends: [prodution]\n",
            "did you mean `production`",
        ),
        ("extends itself", "name: s\nextends: [./p.yaml]\n", "cycle"),
        (
            "extends a directory",
            "name: s\nextends: [./]\n",
            "a directory",
        ),
        (
            "extends /dev/zero",
            "name: s\nextends: [/dev/zero]\n",
            "character device",
        ),
    ] {
        v.push(profile(&format!("structure: {name}"), text, msg));
    }
    v.push(with_file(
        with_file(
            profile(
                "extends cycle a→b→a",
                "name: a\nextends: [./b.yaml]\n",
                "cycle",
            ),
            "b.yaml",
            b"name: b\nextends: [./p.yaml]\n",
        ),
        "unused",
        b"",
    ));
    // 12 files, each extending the next four times: exponential before, linear now.
    let mut c = profile(
        "extends fan-out",
        "name: f\nextends: [./f1.yaml, ./f1.yaml, ./f1.yaml, ./f1.yaml]\nsysctl:\n  net.core.somaxconn: \"+1\"\n",
        "`+` sign",
    );
    for i in 1..=12 {
        let next = if i < 12 {
            format!(
                "extends: [./f{n}.yaml, ./f{n}.yaml, ./f{n}.yaml, ./f{n}.yaml]\n",
                n = i + 1
            )
        } else {
            String::new()
        };
        c.files.push((
            format!("f{i}.yaml"),
            format!("name: f{i}\n{next}").into_bytes(),
        ));
    }
    v.push(c);
    // A chain deeper than 16.
    let mut c = profile(
        "extends too deep",
        "name: z\nextends: [./z1.yaml]\n",
        "deeper than 16",
    );
    for i in 1..=20 {
        c.files.push((
            format!("z{i}.yaml"),
            format!("name: z{i}\nextends: [./z{}.yaml]\n", i + 1).into_bytes(),
        ));
    }
    c.files.push(("z21.yaml".into(), b"name: z21\n".to_vec()));
    v.push(c);
    // Large and binary files.
    v.push(with_file(
        case(
            "profile over 1 MiB",
            &["plan", "{d}/big.yaml"],
            2,
            "limited to 1048576 bytes",
        ),
        "big.yaml",
        &vec![b'#'; (1 << 20) + 10],
    ));
    v.push(with_file(
        case(
            "binary profile",
            &["plan", "{d}/bin.yaml"],
            2,
            "not a text file",
        ),
        "bin.yaml",
        &[0xff, 0xfe, 0x00, 0x01, 0x80],
    ));
    v
}

/// Each file-reading flag against what must not be read: a FIFO (would block), /dev/zero
/// (endless), /proc/self/pagemap (reports no size), a directory, a missing file, a file over
/// the cap.
fn file_kind_cases() -> Vec<Case> {
    let mut v = Vec::new();
    let flags: &[(&str, &[&str])] = &[
        ("profile", &["plan", "{F}"]),
        ("--from", &["check", "--from", "{F}"]),
        (
            "--nginx-conf",
            &["check", "--runtime", "nginx", "--nginx-conf", "{F}"],
        ),
        (
            "--vm-args",
            &["check", "--runtime", "erlang", "--vm-args", "{F}"],
        ),
        ("--with", &["check", "--with", "{F}"]),
        ("profiles validate", &["profiles", "validate", "{F}"]),
        ("profiles show", &["profiles", "show", "{F}"]),
        (
            "rollback journal",
            &["rollback", "{F}", "--state-dir", "{d}/state"],
        ),
    ];
    let kinds: &[(&str, &str, &str)] = &[
        ("FIFO", "{d}/fifo.yaml", "a fifo"),
        ("/dev/zero", "/dev/zero", "character device"),
        ("directory", "{d}/dir.yaml", "a directory"),
        ("missing", "{d}/missing.yaml", "no such file"),
        ("pagemap", "/proc/self/pagemap", ""),
    ];
    for (flag, args) in flags {
        for (kind, file, msg) in kinds {
            if *flag == "profiles show" && *kind == "missing" {
                continue;
            }
            let args: Vec<String> = args.iter().map(|a| a.replace("{F}", file)).collect();
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            v.push(case(&format!("{flag} on {kind}"), &args, 2, msg));
        }
    }
    let big = vec![b' '; (4 << 20) + 1];
    for (flag, args) in [
        ("--from", vec!["check", "--from", "{d}/big.json"]),
        (
            "--nginx-conf",
            vec![
                "check",
                "--runtime",
                "nginx",
                "--nginx-conf",
                "{d}/big.json",
            ],
        ),
        (
            "--vm-args",
            vec!["check", "--runtime", "erlang", "--vm-args", "{d}/big.json"],
        ),
    ] {
        v.push(with_file(
            case(&format!("{flag} over 4 MiB"), &args, 2, "larger than"),
            "big.json",
            &big,
        ));
    }
    v
}

fn snapshot_cases() -> Vec<Case> {
    let mut v = Vec::new();
    for (name, file, body, msg) in [
        ("empty json", "s.json", "", "empty"),
        ("empty object", "s.json", "{}", "not a valid snapshot"),
        (
            "truncated",
            "s.json",
            "{\"schema\": 1, \"platform\"",
            "not a valid snapshot",
        ),
        ("schema 99", "s.json", "{\"schema\": 99}", ""),
        ("array", "s.json", "[1,2,3]", "not a valid snapshot"),
        (
            "binary",
            "s.json",
            "\u{1}\u{2}\u{3}",
            "not a valid snapshot",
        ),
        ("yaml duplicate", "s.yaml", "schema: 1\nschema: 1\n", ""),
        ("yaml list", "s.yaml", "- 1\n", "not a valid snapshot"),
        ("yaml empty", "s.yaml", "", "empty"),
        (
            "yaml bad syntax",
            "s.yaml",
            "schema: [1\n",
            "not a valid snapshot",
        ),
        (
            "huge number",
            "s.json",
            "{\"schema\": 99999999999999999999999}",
            "not a valid snapshot",
        ),
        (
            "negative schema",
            "s.json",
            "{\"schema\": -1}",
            "not a valid snapshot",
        ),
    ] {
        v.push(with_file(
            case(
                &format!("snapshot {name}"),
                &["check", "--from", &format!("{{d}}/{file}")],
                2,
                msg,
            ),
            file,
            body.as_bytes(),
        ));
    }
    v.push(with_file(
        case(
            "snapshot not UTF-8",
            &["check", "--from", "{d}/u.json"],
            2,
            "not text",
        ),
        "u.json",
        &[0xff, 0xfe, 0xfd],
    ));
    v
}

fn journal_cases() -> Vec<Case> {
    let mut v = Vec::new();
    for (name, body, msg) in [
        ("junk", "hello", "not a porttune journal"),
        ("truncated", "{\"version\": 1, \"id\": \"x\"", "truncated"),
        ("empty", "", "empty journal"),
        ("wrong shape", "{\"version\": 1}", "not a porttune journal"),
        ("array", "[]", "not a porttune journal"),
    ] {
        v.push(with_file(
            case(
                &format!("journal {name}"),
                &["rollback", "{d}/j.json", "--state-dir", "{d}/state"],
                2,
                msg,
            ),
            "j.json",
            body.as_bytes(),
        ));
    }
    v.push(with_file(
        case(
            "journal binary",
            &["rollback", "{d}/j.json", "--state-dir", "{d}/state"],
            2,
            "not text",
        ),
        "j.json",
        &[0x80, 0x81, 0x00],
    ));
    v.push(case(
        "rollback unknown id",
        &["rollback", "nope", "--state-dir", "{d}/state"],
        2,
        "no journal `nope`",
    ));
    v.push(with_file(
        case(
            "rollback --state-dir a file",
            &["rollback", "--state-dir", "{d}/file"],
            2,
            "not a directory",
        ),
        "file",
        b"x",
    ));
    v.push(with_file(
        case(
            "apply --state-dir a file",
            &["apply", "{d}/ok.yaml", "--yes", "--state-dir", "{d}/file"],
            2,
            "not a directory",
        ),
        "file",
        b"x",
    ));
    v
}

fn cli_cases() -> Vec<Case> {
    let mut v = Vec::new();
    for (flag, val, msg) in [
        ("--processes", "0", "not in 1..="),
        ("--processes", "99999999999999", "not in 1..="),
        ("--processes", "-1", "unexpected argument"),
        ("--processes", "abc", "invalid digit"),
        ("--destinations", "0", "not in 1..="),
        ("--destinations", "18446744073709551615", "not in 1..="),
        ("--destinations", "18446744073709551616", "too large"),
        ("--source-ips", "0", "not in 1..="),
        ("--source-ips", "4294967296", "not in 1..="),
        ("--listen-ports", "70000", "not in 1..="),
        ("--listen-ports-in-range", "70000", "not in 0..="),
        ("--procs-per-conn", "99999999999", "not in 0..="),
        ("--threads-per-conn", "99999999999", "not in 0..="),
        ("--backlog", "99999999999", "not in 0..="),
        ("--warn-at", "101", "between 0 and 100"),
        ("--warn-at", "-1", "unexpected argument"),
        ("--warn-at", "NaN", "between 0 and 100"),
        ("--require", "-5", "unexpected argument"),
        ("--require", "1e9", "invalid digit"),
        ("--require", "18446744073709551615", "not in 0..="),
        ("--ignore", "NoSuchCheck", "no such check"),
        ("--scenario", "sideways", "invalid value"),
        ("--pid", "0x10", "invalid digit"),
        ("--pid", "99999999999", "not in 0..="),
        ("--pid", "2", "kernel thread"),
    ] {
        v.push(case(
            &format!("check {flag} {val}"),
            &["check", flag, val],
            2,
            msg,
        ));
    }
    for (args, msg) in [
        (vec!["--duration", "1e20"], "at most 86400"),
        (vec!["--duration", "18446744074"], "at most 86400"),
        (vec!["--duration", "0"], "above 0"),
        (vec!["--duration", "-1"], "unexpected argument"),
        (vec!["--duration", "NaN"], "above 0"),
        (vec!["--duration", "inf"], "at most 86400"),
        (vec!["--connect-timeout", "0"], "1..600000"),
        (
            vec!["--connect-timeout", "18446744073709551615"],
            "1..600000",
        ),
        (vec!["--max", "0"], "at least 1"),
        (vec!["--window", "0"], "at least 1"),
        (vec!["--window", "99999999999"], "at most"),
        (vec!["--listen-ports", "0"], "1..1000"),
        (vec!["--source-ips", "255"], "1..254"),
        (vec!["--workers", "0"], ""),
        (vec!["--workers", "abc"], ""),
        (vec!["--target", "8.8.8.8:53"], "loopback"),
        (vec!["--target", "garbage"], "expected ip:port"),
        (vec!["--target", "127.0.0.1:0"], "port"),
        (vec!["--report", "/dev/null"], "not a regular file"),
        (vec!["--report", "{d}/no/such/dir/r.md"], "does not exist"),
    ] {
        let mut a = vec!["flood"];
        a.extend(args.iter().copied());
        v.push(case(&format!("flood {}", args.join(" ")), &a, 2, msg));
    }
    for (args, msg) in [
        (vec!["plan"], "required"),
        (vec!["apply", "{d}/ok.yaml"], "without confirmation"),
        (
            vec!["apply", "nosuchbundled", "--yes"],
            "no bundled profile",
        ),
        (
            vec!["apply", "productoin", "--yes"],
            "did you mean `production`",
        ),
        (vec!["completions", "tcsh"], "invalid value"),
        (vec!["nosuchcommand"], "unrecognized subcommand"),
        (
            vec!["check", "--from", "{d}/ok.yaml", "--runtime", "erlang"],
            "--from loads a saved snapshot",
        ),
        (vec!["check", "--save", "/dev/null"], "not a regular file"),
        (
            vec!["check", "--save", "{d}/no/dir/s.json"],
            "does not exist",
        ),
        (vec!["check", "--save", "{d}/dir.yaml"], "a directory"),
        (vec!["check", "--save", "{d}/link.json"], "symbolic link"),
    ] {
        v.push(with_file(
            case(&format!("cli {}", args.join(" ")), &args, 2, msg),
            "ok.yaml",
            b"name: ok\nsysctl:\n  net.core.somaxconn: 8192\n",
        ));
    }
    v
}

fn erlang_nginx_cases() -> Vec<Case> {
    let mut v = Vec::new();
    for (name, body, msg) in [
        (
            "worker_connections 0",
            "events { worker_connections 0; }\n",
            "worker_connections",
        ),
        (
            "worker_connections huge",
            "events { worker_connections 99999999999999999999; }\n",
            "worker_connections",
        ),
        (
            "worker_connections above int",
            "events { worker_connections 4294967296; }\n",
            "worker_connections",
        ),
        (
            "worker_processes huge",
            "worker_processes 18446744073709551615;\nevents {}\n",
            "worker_processes",
        ),
        (
            "worker_rlimit_nofile text",
            "worker_rlimit_nofile lots;\nevents {}\n",
            "worker_rlimit_nofile",
        ),
        ("binary", "\u{0}\u{1}", ""),
    ] {
        v.push(with_file(
            case(
                &format!("nginx {name}"),
                &[
                    "check",
                    "--runtime",
                    "nginx",
                    "--nginx-conf",
                    "{d}/nginx.conf",
                ],
                2,
                msg,
            ),
            "nginx.conf",
            body.as_bytes(),
        ));
    }
    v.push(with_file(
        case(
            "vm.args not UTF-8",
            &["check", "--runtime", "erlang", "--vm-args", "{d}/vm.args"],
            2,
            "not text",
        ),
        "vm.args",
        &[0xff, 0x00, 0xfe],
    ));
    v
}

fn all_cases() -> Vec<Case> {
    let mut v = Vec::new();
    v.extend(value_cases());
    v.extend(key_cases());
    v.extend(limits_cases());
    v.extend(structure_cases());
    v.extend(file_kind_cases());
    v.extend(snapshot_cases());
    v.extend(journal_cases());
    v.extend(cli_cases());
    v.extend(erlang_nginx_cases());
    v
}

/// Most bytes a refused input may make porttune read in all (read(2) calls: the capped
/// input, plus /proc files the probe reads on a busy host). /dev/zero used to read ~2 GB.
const MAX_READ: u64 = 64 << 20;

/// Run `cmd` with a time limit. Linux: the child is waited for without being reaped
/// (waitid WNOWAIT), so its /proc/PID/io still tells how many bytes it read (`rchar`).
fn run_bounded(
    mut cmd: std::process::Command,
    limit: Duration,
) -> std::io::Result<(std::process::Output, Option<u64>)> {
    use std::process::Stdio;
    #[cfg_attr(not(target_os = "linux"), allow(unused_mut))]
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    #[cfg_attr(not(target_os = "linux"), allow(unused_mut))]
    let mut read_bytes = None;
    #[cfg(target_os = "linux")]
    {
        use nix::sys::wait::{Id, WaitPidFlag, WaitStatus, waitid};
        let pid = nix::unistd::Pid::from_raw(child.id() as i32);
        let until = Instant::now() + limit;
        loop {
            let flags = WaitPidFlag::WEXITED | WaitPidFlag::WNOWAIT | WaitPidFlag::WNOHANG;
            match waitid(Id::Pid(pid), flags) {
                Ok(WaitStatus::StillAlive) if Instant::now() < until => {
                    std::thread::sleep(Duration::from_millis(5))
                }
                Ok(WaitStatus::StillAlive) => {
                    let _ = child.kill();
                    break;
                }
                _ => {
                    read_bytes = std::fs::read_to_string(format!("/proc/{pid}/io"))
                        .ok()
                        .and_then(|t| {
                            t.lines()
                                .find_map(|l| l.strip_prefix("rchar:"))
                                .and_then(|v| v.trim().parse().ok())
                        });
                    break;
                }
            }
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = limit;
    Ok((child.wait_with_output()?, read_bytes))
}

/// Run one case; the failure text when it does not hold.
fn run_case(c: &Case) -> Result<(), String> {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let sys = fixture(d);
    std::fs::create_dir_all(d.join("dir.yaml")).unwrap();
    #[cfg(unix)]
    {
        nix::unistd::mkfifo(&d.join("fifo.yaml"), nix::sys::stat::Mode::S_IRWXU).unwrap();
        std::os::unix::fs::symlink(d.join("elsewhere.json"), d.join("link.json")).unwrap();
    }
    for (name, body) in &c.files {
        std::fs::write(d.join(name), body).unwrap();
    }
    let before = state(d);
    let args: Vec<String> = c
        .args
        .iter()
        .map(|a| a.replace("{d}", &d.display().to_string()))
        .collect();
    let start = Instant::now();
    let mut cmd = std::process::Command::new(bin());
    cmd.args(&args)
        .current_dir(d)
        .env("PORTTUNE_SYSCTL_ROOT", &sys)
        .env("PORTTUNE_LOCK_DIR", d)
        .env("NO_COLOR", "1")
        .env_remove("PORTTUNE_STATE_DIR");
    let (out, read_bytes) = run_bounded(cmd, Duration::from_secs(5))
        .map_err(|e| format!("{}: cannot run: {e}", c.name))?;
    let took = start.elapsed();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    if std::env::var_os("PORTTUNE_CORPUS_SHOW").is_some() {
        println!(
            "{:<50} {:?} read={:?} {:?}",
            c.name,
            out.status.code(),
            read_bytes,
            stderr.lines().next().unwrap_or("")
        );
    }
    let got = out.status.code();
    let mut errs = Vec::new();
    if let Some(n) = read_bytes
        && n > MAX_READ
    {
        errs.push(format!("read {n} bytes (more than {MAX_READ})"));
    }
    if took >= Duration::from_secs(5) || got.is_none() {
        errs.push(format!(
            "did not finish within 5 s (status {:?})",
            out.status
        ));
    }
    if got != Some(c.code) {
        errs.push(format!("exit {got:?}, expected {}", c.code));
    }
    if stderr.contains("panicked") || got == Some(101) {
        errs.push("panicked".into());
    }
    let all = format!("{stderr}{stdout}").to_lowercase();
    if !all.contains(&c.msg) {
        errs.push(format!("expected {:?} in the message", c.msg));
    }
    if c.code == 2 && !stderr.trim().is_empty() && !stderr.contains("error") {
        errs.push("no `error` in stderr".into());
    }
    if state(d) != before {
        errs.push("something changed under the fixture tree, --root or the state dir".into());
    }
    if errs.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{} ({}): {}\nstderr: {stderr}",
            c.name,
            args.join(" "),
            errs.join("; ")
        ))
    }
}

/// `check --pid` of a zombie: refused, not predicted.
#[test]
#[cfg(target_os = "linux")]
fn zombie_pid_is_refused() {
    // `sleep 0` exits at once; its parent became `sleep 5` (exec) and never reaps it.
    let mut parent = std::process::Command::new("sh")
        .args(["-c", "sleep 0 & exec sleep 5"])
        .spawn()
        .unwrap();
    let ppid = parent.id();
    let deadline = Instant::now() + Duration::from_secs(3);
    let zombie = loop {
        let found = std::fs::read_dir("/proc").unwrap().flatten().find_map(|e| {
            let stat = std::fs::read_to_string(e.path().join("stat")).ok()?;
            let rest = stat.rsplit_once(')')?.1.to_string();
            let f: Vec<&str> = rest.split_whitespace().collect();
            (f.first() == Some(&"Z") && f.get(1) == Some(&ppid.to_string().as_str()))
                .then(|| e.file_name().to_string_lossy().to_string())
        });
        if let Some(z) = found {
            break z;
        }
        assert!(Instant::now() < deadline, "no zombie appeared");
        std::thread::sleep(Duration::from_millis(20));
    };
    let out = std::process::Command::new(bin())
        .args(["check", "--pid", &zombie])
        .output()
        .unwrap();
    parent.kill().unwrap();
    parent.wait().unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("zombie"),
        "{out:?}"
    );
}

#[test]
fn corpus_has_at_least_200_cases() {
    let n = all_cases().len();
    assert!(n >= 200, "{n} cases");
}

#[test]
fn every_bad_input_is_refused_cleanly() {
    let cases = all_cases();
    let fails: Vec<String> = cases.iter().filter_map(|c| run_case(c).err()).collect();
    assert!(
        fails.is_empty(),
        "{} of {} cases failed:\n{}",
        fails.len(),
        cases.len(),
        fails.join("\n")
    );
}

/// A FIFO among the sysctl.d files read for boot-time conflicts: skipped, never blocks.
#[test]
#[cfg(unix)]
fn fifo_in_sysctl_d_does_not_block_a_plan() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let sys = fixture(d);
    let dir = d.join("root/etc/sysctl.d");
    std::fs::create_dir_all(&dir).unwrap();
    nix::unistd::mkfifo(&dir.join("99-fifo.conf"), nix::sys::stat::Mode::S_IRWXU).unwrap();
    std::fs::write(
        d.join("p.yaml"),
        "name: f\nsysctl:\n  net.core.somaxconn: 8192\n",
    )
    .unwrap();
    let out = assert_cmd::Command::new(bin())
        .args(["plan", "p.yaml", "--persist", "--root"])
        .arg(d.join("root"))
        .current_dir(d)
        .env("PORTTUNE_SYSCTL_ROOT", &sys)
        .timeout(Duration::from_secs(5))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
}

/// `-` reads standard input, with the same cap and checks as a file.
#[test]
fn profile_on_stdin_is_bounded_and_checked() {
    let tmp = tempfile::tempdir().unwrap();
    let sys = fixture(tmp.path());
    let run = |input: Vec<u8>| {
        assert_cmd::Command::new(bin())
            .args(["plan", "-"])
            .env("PORTTUNE_SYSCTL_ROOT", &sys)
            .write_stdin(input)
            .timeout(Duration::from_secs(5))
            .output()
            .unwrap()
    };
    let out = run(vec![b'#'; (1 << 20) + 1]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("limited to 1048576 bytes"));
    let out = run(b"name: s\nsysctl:\n  net.core.somaxconn: \"010\"\n".to_vec());
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("-:3:3:"),
        "{out:?}"
    );
    let out = run(b"name: s\nsysctl:\n  net.core.somaxconn: 8192\n".to_vec());
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("4096 → 8192"),
        "{out:?}"
    );
}
