//! macOS plan / apply / rollback on any machine: a tree of macOS sysctls (one file per key, the
//! fake backend that stands for sysctl(3) and `launchctl limit maxfiles`) and a file root for
//! the LaunchDaemon plist. Every value is read back; rollback restores every value and removes
//! the plist. Profiles for the other OS are refused with nothing changed.

use std::path::{Path, PathBuf};
use std::process::Output;

use assert_cmd::Command;

mod common;

const MAC_TREE: &[(&str, &str)] = &[
    ("kern/maxfiles", "122880"),
    ("kern/maxfilesperproc", "61440"),
    ("kern/ipc/somaxconn", "128"),
    ("net/inet/ip/portrange/first", "49152"),
    ("net/inet/ip/portrange/last", "65535"),
    ("net/inet/tcp/msl", "15000"),
    ("launchd/maxfiles", "256 unlimited"),
];

struct Mac {
    _tmp: tempfile::TempDir,
    sys: PathBuf,
    root: PathBuf,
    state: PathBuf,
    lock: PathBuf,
}

fn mac() -> Mac {
    let tmp = tempfile::tempdir().unwrap();
    let sys = tmp.path().join("sys");
    for (k, v) in MAC_TREE {
        let p = sys.join(k);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, format!("{v}\n")).unwrap();
    }
    let root = tmp.path().join("root");
    let state = tmp.path().join("state");
    let lock = tmp.path().join("lock");
    for d in [&root, &state, &lock] {
        std::fs::create_dir_all(d).unwrap();
    }
    Mac {
        sys,
        root,
        state,
        lock,
        _tmp: tmp,
    }
}

impl Mac {
    fn run(&self, args: &[&str]) -> Output {
        let mut cmd = Command::cargo_bin("porttune").unwrap();
        cmd.args(args);
        if matches!(args.first(), Some(&"plan" | &"apply")) {
            cmd.args(["--sysctl-root", self.sys.to_str().unwrap()]);
        }
        cmd.env("PORTTUNE_LOCK_DIR", &self.lock)
            .env("NO_COLOR", "1")
            .env_remove("PORTTUNE_SYSCTL_ROOT")
            .output()
            .unwrap()
    }

    fn values(&self) -> Vec<(String, String)> {
        MAC_TREE
            .iter()
            .map(|(k, _)| {
                (
                    k.to_string(),
                    std::fs::read_to_string(self.sys.join(k))
                        .unwrap()
                        .trim()
                        .to_string(),
                )
            })
            .collect()
    }

    /// `porttune plan macos-dev` against this Mac.
    fn plan_dev(&self) -> Output {
        self.run(&[
            "plan",
            "macos-dev",
            "--host-os",
            "macos",
            "--root",
            self.root.to_str().unwrap(),
        ])
    }

    fn plist(&self) -> PathBuf {
        self.root
            .join("Library/LaunchDaemons/io.porttune.macos-dev.plist")
    }
}

fn text(o: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status,
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

#[test]
fn macos_dev_applies_reads_back_and_rolls_back() {
    let m = mac();
    let before = m.values();
    let (root, state) = (m.root.to_str().unwrap(), m.state.to_str().unwrap());
    let out = m.run(&[
        "apply",
        "macos-dev",
        "--yes",
        "--host-os",
        "macos",
        "--root",
        root,
        "--state-dir",
        state,
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(v.to_string().contains("launchd.maxfiles"), "{v}");
    let after: std::collections::BTreeMap<_, _> = m.values().into_iter().collect();
    assert_eq!(after["kern/maxfiles"], "524288");
    assert_eq!(after["kern/maxfilesperproc"], "262144");
    assert_eq!(after["kern/ipc/somaxconn"], "1024");
    assert_eq!(after["net/inet/ip/portrange/first"], "32768");
    assert_eq!(after["net/inet/ip/portrange/last"], "65535", "untouched");
    assert_eq!(after["net/inet/tcp/msl"], "15000", "untouched");
    assert_eq!(after["launchd/maxfiles"], "262144 262144");
    let plist = read(&m.plist());
    assert!(
        plist.contains("<string>io.porttune.macos-dev</string>"),
        "{plist}"
    );
    assert_eq!(
        program_arguments(&plist).join(" "),
        "/usr/bin/find /dev/null ( -exec /bin/launchctl limit maxfiles 262144 262144 ; -o -prune ) \
         -exec /usr/sbin/sysctl -w kern.ipc.somaxconn=1024 kern.maxfiles=524288 \
         kern.maxfilesperproc=262144 net.inet.ip.portrange.first=32768 ;",
        "{plist}"
    );
    // No Linux file anywhere under the root.
    assert!(!m.root.join("etc").exists());

    // Applying again changes nothing.
    let again = m.run(&[
        "apply",
        "macos-dev",
        "--yes",
        "--host-os",
        "macos",
        "--root",
        root,
        "--state-dir",
        state,
    ]);
    assert_eq!(again.status.code(), Some(0), "{}", text(&again));

    let rb = m.run(&["rollback", "--state-dir", state]);
    assert_eq!(rb.status.code(), Some(0), "{}", text(&rb));
    assert_eq!(m.values(), before, "{}", text(&rb));
    assert!(!m.plist().exists(), "the LaunchDaemon plist is removed");
}

/// Nothing plan, apply, status and rollback of `macos-dev` print or write on a Mac says a
/// Linux word: their text and JSON, and the LaunchDaemon plist. (The journal is porttune's own
/// file, not output: it records the network namespace where there is one.)
#[test]
fn plan_apply_rollback_speak_macos() {
    let m = mac();
    let (root, state) = (m.root.to_str().unwrap(), m.state.to_str().unwrap());
    let on_mac = ["--host-os", "macos", "--root", root, "--state-dir", state];
    let mut said = Vec::new();
    for fmt in ["text", "json"] {
        let mut plan = vec!["plan", "macos-dev", "--host-os", "macos", "--root", root];
        plan.extend(["--format", fmt]);
        said.push(("plan", m.run(&plan)));
    }
    let mut apply = vec!["apply", "macos-dev", "--yes"];
    apply.extend(on_mac);
    said.push(("apply", m.run(&apply)));
    apply.extend(["--format", "json"]);
    said.push(("apply again", m.run(&apply)));
    said.push(("status", m.run(&["status", "--state-dir", state])));
    let plist = read(&m.plist());
    said.push(("rollback", m.run(&["rollback", "--state-dir", state])));
    for (what, out) in &said {
        assert!(
            matches!(out.status.code(), Some(0 | 1)) && out.stdout.len() > 40,
            "{what}: {}",
            text(out)
        );
        common::linux_words::assert_none(what, &text(out));
    }
    common::linux_words::assert_none("the plist", &plist);
}

#[test]
fn plan_shows_the_lift_and_the_plist() {
    let m = mac();
    let out = m.plan_dev();
    let t = String::from_utf8_lossy(&out.stdout).to_string();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(t.contains("kern.maxfilesperproc: 61440 → 262144"), "{t}");
    assert!(
        t.contains("launchd.maxfiles: 256 unlimited → 262144 262144"),
        "{t}"
    );
    assert!(t.contains("io.porttune.macos-dev.plist"), "{t}");
    // A new tab or window of Terminal keeps the limits the app started with.
    let words = t.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        words.contains("quit and reopen Terminal (its new windows and tabs keep the limit the app started with)"),
        "{t}"
    );
    for linux in ["sysctl.d", "limits.d", "CAP_", "systemd", "namespace"] {
        assert!(!t.contains(linux), "{linux} in:\n{t}");
    }
    assert_eq!(m.values(), mac().values(), "plan changes nothing");
}

#[test]
fn profiles_for_the_other_os_are_refused_and_change_nothing() {
    let m = mac();
    let before = m.values();
    let (root, state) = (m.root.to_str().unwrap(), m.state.to_str().unwrap());
    // A Linux profile on the Mac tree.
    let out = m.run(&[
        "apply",
        "production",
        "--yes",
        "--host-os",
        "macos",
        "--root",
        root,
        "--state-dir",
        state,
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("is for Linux, and the host is macOS"), "{err}");
    assert_eq!(m.values(), before);
    // The macOS profile on a Linux host (this one's tree stays untouched too).
    let out = m.run(&[
        "apply",
        "macos-dev",
        "--yes",
        "--host-os",
        "linux",
        "--root",
        root,
        "--state-dir",
        state,
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("is for macOS, and the host is Linux"));
    assert_eq!(m.values(), before);
    assert!(
        std::fs::read_dir(&m.root).unwrap().next().is_none(),
        "no file written"
    );
}

#[test]
fn macos_profiles_validate_their_keys() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            "os: macos\nsysctl:\n  net.core.somaxconn: 1024\n",
            "`net.core.somaxconn` is a Linux key (on macOS it is kern.ipc.somaxconn)",
        ),
        (
            "sysctl:\n  kern.maxfiles: 100000\n",
            "`kern.maxfiles` is a macOS key",
        ),
        (
            "os: macos\nsysctl:\n  kern.ipc.somaxconn: 70000\n",
            "`kern.ipc.somaxconn` must be an integer from 1 to 32767",
        ),
        (
            "os: macos\nsysctl:\n  net.inet.ip.portrange.first: 80\n",
            "from 1024 to 65535",
        ),
        (
            "os: macos\nlimits:\n  nofile: {soft: 1024, hard: 2048}\n  targets: [pam]\n",
            "limits target `pam` is for Linux",
        ),
        (
            "os: macos\nlimits:\n  nofile: {soft: unlimited, hard: unlimited}\n  targets: [launchd]\n",
            "launchctl limit maxfiles` refuses `unlimited`",
        ),
        ("os: windows\n", "unknown value `windows`"),
    ];
    for (i, (yaml, want)) in cases.iter().enumerate() {
        let p = dir.path().join(format!("p{i}.yaml"));
        std::fs::write(&p, format!("name: p{i}\n{yaml}")).unwrap();
        let out = Command::cargo_bin("porttune")
            .unwrap()
            .args(["profiles", "validate", p.to_str().unwrap()])
            .output()
            .unwrap();
        let all = text(&out);
        assert_eq!(out.status.code(), Some(2), "{yaml}\n{all}");
        assert!(all.contains(want), "{yaml}: want {want:?}\n{all}");
        assert!(
            all.contains(&format!("p{i}.yaml:")),
            "names the file: {all}"
        );
    }
    // A valid macOS profile passes the static checks on Linux, and says how it was checked.
    let out = Command::cargo_bin("porttune")
        .unwrap()
        .args(["profiles", "validate", "macos-dev"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("a macOS profile: checked without"));
}

/// A key the Mac does not have is refused at plan time, naming it; nothing changes.
#[test]
fn unknown_mac_key_is_refused_against_the_host() {
    let m = mac();
    let p = m.root.join("p.yaml");
    std::fs::write(&p, "name: p\nos: macos\nsysctl:\n  kern.nosuchthing: 1\n").unwrap();
    let out = m.run(&["plan", p.to_str().unwrap(), "--host-os", "macos"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("`kern.nosuchthing` does not exist"),
        "{}",
        text(&out)
    );
}

/// The `<string>`s of a plist's ProgramArguments array, XML entities decoded: what launchd
/// hands to execve(2) as argv.
fn program_arguments(plist: &str) -> Vec<String> {
    let start = plist
        .find("<key>ProgramArguments</key>")
        .expect("ProgramArguments");
    let body = &plist[start..];
    let body = &body[body.find("<array>").unwrap()..body.find("</array>").unwrap()];
    body.split("<string>")
        .skip(1)
        .map(|s| {
            s.split("</string>")
                .next()
                .unwrap()
                .replace("&lt;", "<")
                .replace("&gt;", ">")
                .replace("&quot;", "\"")
                .replace("&amp;", "&")
        })
        .collect()
}

/// Run a LaunchDaemon's argv as launchd would (execve, no shell), with launchctl and sysctl
/// replaced by recorders that append their arguments, one per line, to `log` (and exit
/// `launchctl_rc` for launchctl). GNU find stands for BSD find: `-exec … ;`, `( )`, `-o` and
/// `-prune` are POSIX.
fn run_as_launchd(args: &[String], dir: &Path, launchctl_rc: i32) -> String {
    use std::os::unix::fs::PermissionsExt;
    let log = dir.join("calls.log");
    let _ = std::fs::remove_file(&log);
    let stub = |name: &str, rc: i32| {
        let p = dir.join(name);
        std::fs::write(
            &p,
            format!(
                "#!/bin/sh\necho \"== {name}\" >> '{log}'\nfor a in \"$@\"; do printf '%s\\n' \"$a\" >> '{log}'; done\nexit {rc}\n",
                log = log.display()
            ),
        )
        .unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        p
    };
    let (launchctl, sysctl) = (stub("launchctl", launchctl_rc), stub("sysctl", 0));
    let argv: Vec<String> = args
        .iter()
        .map(|a| match a.as_str() {
            "/bin/launchctl" => launchctl.display().to_string(),
            "/usr/sbin/sysctl" => sysctl.display().to_string(),
            "/usr/bin/find" => "find".into(),
            other => other.to_string(),
        })
        .collect();
    let st = std::process::Command::new(&argv[0])
        .args(&argv[1..])
        .current_dir(dir)
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .status()
        .unwrap();
    assert!(st.success(), "{argv:?}: {st}");
    std::fs::read_to_string(&log).unwrap_or_default()
}

/// The LaunchDaemon runs no shell: each program and each `key=value` is its own
/// ProgramArguments string, so a value full of shell syntax stays one argument of sysctl(8)
/// (or the profile is refused before anything is written). launchctl runs before sysctl, and
/// sysctl runs even when launchctl fails.
#[test]
fn launchdaemon_runs_no_shell() {
    let m = mac();
    std::fs::write(m.sys.join("kern/hostname"), "mac\n").unwrap();
    let pwned = m.root.parent().unwrap().join("pwned");
    let evil = [
        format!("x;touch {}", pwned.display()),
        format!("x$(touch {})", pwned.display()),
        format!("x`touch {}`", pwned.display()),
        format!("x' && touch {} #", pwned.display()),
        "x;touch /tmp/pwned".to_string(),
    ];
    // Validation refuses those for a text key; a plain value it accepts still goes through
    // the LaunchDaemon as one argument and is run without a shell.
    let values = evil
        .iter()
        .map(|v| (v.clone(), false))
        .chain([("mac-01.local".to_string(), true)]);
    for (i, (value, must_accept)) in values.enumerate() {
        let value = &value;
        let p = m.state.join(format!("evil{i}.yaml"));
        std::fs::write(
            &p,
            format!(
                "name: macos-dev\nos: macos\nsysctl:\n  kern.hostname: {value:?}\n  kern.ipc.somaxconn: 1024\n\
                 limits:\n  nofile: {{soft: 4096, hard: 8192}}\n  targets: [launchd]\n"
            ),
        )
        .unwrap();
        let state = m.state.join(format!("s{i}"));
        let out = m.run(&[
            "apply",
            p.to_str().unwrap(),
            "--yes",
            "--persist",
            "--host-os",
            "macos",
            "--root",
            m.root.to_str().unwrap(),
            "--state-dir",
            state.to_str().unwrap(),
        ]);
        if out.status.code() == Some(2) && !must_accept {
            // Refused by validation: it names the key and writes nothing.
            assert!(text(&out).contains("kern.hostname"), "{}", text(&out));
            assert!(!m.plist().exists(), "{}", text(&out));
            continue;
        }
        assert_eq!(out.status.code(), Some(0), "{value}: {}", text(&out));
        let args = program_arguments(&read(&m.plist()));
        for a in &args {
            let base = a.rsplit('/').next().unwrap();
            assert!(
                !matches!(
                    base,
                    "sh" | "bash" | "zsh" | "dash" | "ksh" | "csh" | "tcsh" | "fish" | "env"
                ) && a != "-c",
                "a shell in the LaunchDaemon: {args:?}"
            );
        }
        let hostname = format!("kern.hostname={value}");
        assert_eq!(
            args.iter().filter(|a| **a == hostname).count(),
            1,
            "the value is one argument: {args:?}"
        );
        for rc in [0, 1] {
            let calls = run_as_launchd(&args, m.root.parent().unwrap(), rc);
            assert_eq!(
                calls,
                format!(
                    "== launchctl\nlimit\nmaxfiles\n4096\n8192\n== sysctl\n-w\n{hostname}\nkern.ipc.somaxconn=1024\n"
                ),
                "launchctl exiting {rc}"
            );
            assert!(!pwned.exists(), "{value} ran as shell code");
        }
        let rb = m.run(&["rollback", "--state-dir", state.to_str().unwrap()]);
        assert_eq!(rb.status.code(), Some(0), "{}", text(&rb));
        assert!(!m.plist().exists());
    }
}

impl Mac {
    fn set(&self, key: &str, v: &str) {
        std::fs::write(self.sys.join(key), format!("{v}\n")).unwrap();
    }

    fn get(&self, key: &str) -> String {
        read(&self.sys.join(key)).trim().to_string()
    }

    fn apply_yaml(&self, yaml: &str, state: &str) -> Output {
        let p = self.root.parent().unwrap().join(format!("{state}.yaml"));
        std::fs::write(&p, format!("name: t\nos: macos\n{yaml}")).unwrap();
        let state = self.root.parent().unwrap().join(state);
        self.run(&[
            "apply",
            p.to_str().unwrap(),
            "--yes",
            "--host-os",
            "macos",
            "--root",
            self.root.to_str().unwrap(),
            "--state-dir",
            state.to_str().unwrap(),
        ])
    }

    fn rollback(&self, state: &str) -> Output {
        let state = self.root.parent().unwrap().join(state);
        self.run(&["rollback", "--state-dir", state.to_str().unwrap()])
    }
}

/// launchd, when its maxfiles limit changes, also writes kern.maxfiles = HARD and
/// kern.maxfilesperproc = SOFT (launchd-842 src/ipc.c; the tree's fake launchd does the
/// same). So launchctl runs first, and the profile's own values are what the host ends with;
/// plan and apply list it first.
#[test]
fn launchctl_runs_before_the_sysctls_it_would_undo() {
    let m = mac();
    let plan = m.plan_dev();
    let t = String::from_utf8_lossy(&plan.stdout).to_string();
    let at = |k: &str| {
        t.find(&format!("  {k}: "))
            .unwrap_or_else(|| panic!("{k}:\n{t}"))
    };
    assert!(at("launchd.maxfiles") < at("kern.maxfiles"), "{t}");
    assert!(at("launchd.maxfiles") < at("kern.maxfilesperproc"), "{t}");
    let out = m.apply_yaml(
        "sysctl:\n  kern.maxfiles: 524288\n  kern.maxfilesperproc: 262144\nlimits:\n  nofile: {soft: 65536, hard: 131072}\n  targets: [launchd]\n",
        "s",
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(m.get("kern/maxfiles"), "524288", "not launchd's 131072");
    assert_eq!(
        m.get("kern/maxfilesperproc"),
        "262144",
        "not launchd's 65536"
    );
    assert_eq!(m.get("launchd/maxfiles"), "65536 131072");
    let out = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(out.contains("changed: 3"), "{out}");
    let rb = m.rollback("s");
    assert_eq!(rb.status.code(), Some(0), "{}", text(&rb));
    assert_eq!(m.values(), mac().values(), "{}", text(&rb));
}

/// A profile that only sets launchd's limit leaves kern.maxfiles and kern.maxfilesperproc as
/// they were, after apply and after rollback (launchd's restore of "256 unlimited" would
/// otherwise leave 256 fds per process until reboot).
#[test]
fn launchd_only_profile_keeps_the_host_wide_limits_through_apply_and_rollback() {
    let m = mac();
    let before = m.values();
    let out = m.apply_yaml(
        "limits:\n  nofile: {soft: 4096, hard: 8192}\n  targets: [launchd]\n",
        "s",
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(m.get("launchd/maxfiles"), "4096 8192");
    assert_eq!(
        m.get("kern/maxfiles"),
        "122880",
        "launchd's 8192 was undone"
    );
    assert_eq!(m.get("kern/maxfilesperproc"), "61440");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("changed: 1"),
        "{}",
        text(&out)
    );
    let rb = m.rollback("s");
    assert_eq!(rb.status.code(), Some(0), "{}", text(&rb));
    assert_eq!(m.values(), before, "{}", text(&rb));
    assert_eq!(m.get("kern/maxfilesperproc"), "61440", "not 256");
}

/// kern.maxfiles is never set below the files the host has open (kern.num_files): not by a
/// profile, not through launchd's hard limit, not by a rollback; each is refused naming the
/// count, and the host keeps its values.
#[test]
fn kern_maxfiles_never_drops_below_the_files_in_use() {
    let m = mac();
    m.set("kern/num_files", "100000");
    let before = m.values();
    for (yaml, want) in [
        (
            "sysctl:\n  kern.maxfiles: 90000\n",
            "kern.maxfiles 90000 is below the 100000 files open",
        ),
        (
            "sysctl:\n  kern.ipc.somaxconn: 1024\nlimits:\n  nofile: {soft: 4096, hard: 8192}\n  targets: [launchd]\n",
            "launchd's hard maxfiles 8192 (launchd also sets kern.maxfiles to it) is below the 100000 files open",
        ),
    ] {
        let out = m.apply_yaml(yaml, "s");
        assert_eq!(out.status.code(), Some(1), "{}", text(&out));
        let words = text(&out).split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(words.contains(want), "{words}");
        assert_eq!(m.values(), before, "{}", text(&out));
    }
    // Applied while 100,000 files were open; 300,000 are open at rollback.
    let out = m.apply_yaml("sysctl:\n  kern.maxfiles: 524288\n", "r");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    m.set("kern/num_files", "300000");
    let rb = m.rollback("r");
    assert_ne!(rb.status.code(), Some(0), "{}", text(&rb));
    let words = text(&rb).split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        words.contains("kern.maxfiles 122880 is below the 300000 files open"),
        "{words}"
    );
    assert_eq!(m.get("kern/maxfiles"), "524288");
}

/// launchd's default, "256 unlimited", is what a rollback restores; launchctl refuses the word
/// `unlimited` for maxfiles (launchd-842 `support/launchctl.c` `limit_cmd`; the tree's fake
/// launchctl refuses it too) and takes RLIM_INFINITY as a number: the rollback restores the
/// unlimited hard limit that way, reports every key restored, and launchd leaves kern.maxfiles
/// alone (as a C int the number is -1).
#[test]
fn rollback_restores_launchds_unlimited_hard_limit() {
    let m = mac();
    let before = m.values();
    let out = m.apply_yaml(
        "limits:\n  nofile: {soft: 65536, hard: 200000}\n  targets: [launchd]\n",
        "u",
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(m.get("launchd/maxfiles"), "65536 200000");
    let rb = m.rollback("u");
    assert_eq!(rb.status.code(), Some(0), "{}", text(&rb));
    let words = text(&rb).split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        words.contains("restored launchd.maxfiles: 65536 200000 → 256 unlimited"),
        "{words}"
    );
    assert!(!words.contains("not restored"), "{words}");
    assert!(!words.contains("9223372036854775807"), "{words}");
    assert_eq!(m.values(), before, "{words}");
    assert_eq!(m.get("launchd/maxfiles"), "256 unlimited");
}
