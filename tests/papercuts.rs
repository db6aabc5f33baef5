//! What a new operator trips on, tried as one would: the short flags scripts expect, `man
//! --dir` into a directory that does not exist yet, `flood --target localhost:PORT`, a
//! server's textfile, `apply` saying what it skipped, a profile that sets nothing, errors
//! that say "error:" once, and every command's text within 80 columns when piped.

mod common;

use std::process::Command;

fn fixture(name: &str) -> String {
    format!(
        "{}/tests/fixtures/snapshots/{name}",
        env!("CARGO_MANIFEST_DIR")
    )
}

fn run(args: &[&str]) -> std::process::Output {
    Command::new(common::bin())
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

fn stdout(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// `check -o json` is `--format json`; `-q` prints nothing and keeps the exit code.
#[test]
fn check_short_output_and_quiet() {
    let snap = fixture("linux-defaults.yaml");
    let o = run(&["check", "--from", &snap, "-o", "json"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(common::json(&o)["schema"], 1);
    for (req, code) in [("100", 0), ("500000", 1)] {
        let q = run(&["check", "--from", &snap, "-q", "--require", req]);
        assert_eq!(q.status.code(), Some(code), "{}", stderr(&q));
        assert!(q.stdout.is_empty(), "{}", stdout(&q));
    }
    let q = run(&["check", "--from", &snap, "--quiet"]);
    assert_eq!(q.status.code(), Some(0), "{}", stderr(&q));
    for cmd in [
        &["rollback", "--help"][..],
        &["plan", "--help"],
        &["flood", "--help"],
    ] {
        assert!(stdout(&run(cmd)).contains("-o, --format"), "{cmd:?}");
    }
}

/// `rollback --yes` is accepted (scripts pair it with `apply --yes`).
#[test]
fn rollback_accepts_yes() {
    let d = tempfile::tempdir().unwrap();
    let o = run(&[
        "rollback",
        "--yes",
        "--state-dir",
        d.path().to_str().unwrap(),
    ]);
    let err = stderr(&o);
    assert!(!err.contains("unexpected argument"), "{err}");
    assert_eq!(o.status.code(), Some(1), "no journal yet: {err}");
    assert!(err.contains("no journal"), "{err}");
}

/// `man --dir` creates a missing directory (the README's /usr/local/share/man/man1 is
/// missing on a stock Debian 12); one that cannot be created is bad input (exit 2), not an
/// internal error.
#[test]
fn man_dir_is_created() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path().join("share/man/man1");
    let o = run(&["man", "--dir", dir.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(dir.join("porttune.1").is_file());
    assert!(dir.join("porttune-rollback.1").is_file());
    let file = d.path().join("a-file");
    std::fs::write(&file, "").unwrap();
    let o = run(&["man", "--dir", file.join("man1").to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("cannot create"), "{}", stderr(&o));
}

/// A server's textfile exports its own scenario only; the host's all three.
#[test]
#[cfg_attr(not(target_os = "linux"), ignore = "Linux only: a Linux sysctl tree")]
fn prometheus_of_a_process_has_its_scenario_only() {
    let scenarios = |snap: &str| -> Vec<String> {
        let o = run(&["check", "--from", &fixture(snap), "--format", "prometheus"]);
        let mut v: Vec<String> = stdout(&o)
            .lines()
            .filter(|l| l.starts_with("porttune_ceiling_connections{"))
            .map(|l| {
                let i = l.find("scenario=\"").unwrap() + 10;
                l[i..].split('"').next().unwrap().to_string()
            })
            .collect();
        v.sort();
        v
    };
    assert_eq!(scenarios("nginx.yaml"), ["inbound"]);
    assert_eq!(
        scenarios("linux-defaults.yaml"),
        ["inbound", "loopback", "outbound"]
    );
}

/// A snapshot that does not parse: one "error:", at the start.
#[test]
fn snapshot_errors_say_error_once() {
    let d = tempfile::tempdir().unwrap();
    let f = d.path().join("bad.yaml");
    std::fs::write(&f, "schema: 1\nnot_a_field: 3\n").unwrap();
    let o = run(&["check", "--from", f.to_str().unwrap()]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert_eq!(err.matches("error").count(), 1, "{err}");
    assert!(err.contains("bad.yaml:2"), "{err}");
    assert!(err.contains("not_a_field"), "{err}");
}

/// A profile that sets nothing is refused by plan, apply and validate (exit 2), as the docs
/// say; one that extends another sets what its parent sets.
#[test]
fn a_profile_must_set_something() {
    let d = tempfile::tempdir().unwrap();
    let only = d.path().join("only.yaml");
    std::fs::write(&only, "name: only\n").unwrap();
    let p = only.to_str().unwrap();
    for args in [
        &["plan", p][..],
        &["profiles", "validate", p],
        &["apply", p, "--check"],
    ] {
        let o = run(args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stdout(&o));
        assert!(stderr(&o).contains("sets nothing"), "{}", stderr(&o));
    }
    let child = d.path().join("child.yaml");
    std::fs::write(&child, "name: child\nextends: [base]\n").unwrap();
    let o = run(&["profiles", "validate", child.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

/// `flood --target localhost:PORT` floods the loopback address the server listens on (here
/// only ::1), and says which.
#[test]
#[ignore = "needs root and unshare -n"]
fn flood_target_localhost() {
    common::need_root("flood_target_localhost");
    let dir = tempfile::tempdir().unwrap();
    let py = dir.path().join("srv.py");
    std::fs::write(
        &py,
        "import socket, sys, time\n\
         s = socket.socket(socket.AF_INET6); s.bind(('::1', 8080)); s.listen(128)\n\
         open(sys.argv[1], 'w').close()\n\
         conns = []\n\
         end = time.time() + 20\n\
         while time.time() < end:\n    c, _ = s.accept(); conns.append(c)\n",
    )
    .unwrap();
    let d = dir.path().display();
    let script = format!(
        "timeout 25 python3 {py} {d}/ready & srv=$!\n\
         trap 'kill $srv' EXIT\n\
         for i in $(seq 100); do [ -e {d}/ready ] && break; sleep 0.05; done\n\
         \"$PORTTUNE\" flood --target localhost:8080 --max 50 --format json > {d}/a.json || true",
        py = py.display()
    );
    let out = common::netns_sh(&script);
    let a = std::fs::read_to_string(dir.path().join("a.json")).unwrap_or_default();
    let v: serde_json::Value = serde_json::from_str(&a)
        .unwrap_or_else(|_| panic!("{a}\n{}", String::from_utf8_lossy(&out.stderr)));
    assert_eq!(v["established"], 50, "{v}");
    assert_eq!(v["config"]["target"], "[::1]:8080", "{v}");
}

/// `--brief` packs the check tags whole: no `[ERROR Id]` is cut across two lines.
#[test]
fn brief_never_cuts_a_tag() {
    for snap in ["linux-defaults.yaml", "nginx.yaml", "erlang-node.yaml"] {
        let o = run(&[
            "check",
            "--from",
            &fixture(snap),
            "--brief",
            "--require",
            "100000000",
        ]);
        let text = stdout(&o);
        let tags: Vec<&str> = text.lines().filter(|l| l.starts_with("  [")).collect();
        assert!(!tags.is_empty(), "{text}");
        for l in tags {
            assert_eq!(
                l.matches('[').count(),
                l.matches(']').count(),
                "{l}\n{text}"
            );
            assert!(l.chars().count() <= 80, "{l}");
        }
    }
}

/// A fixture sysctl tree (nothing on the host is written).
fn sysctl_tree(d: &std::path::Path) -> std::path::PathBuf {
    common::sysctl_tree(
        d,
        &[
            ("fs/file-max", "100000"),
            ("fs/nr_open", "1048576"),
            ("kernel/pid_max", "32768"),
            ("net/core/somaxconn", "4096"),
            ("net/ipv4/ip_unprivileged_port_start", "1024"),
            ("net/ipv4/ip_local_port_range", "32768\t60999"),
        ],
    )
}

fn in_tree(args: &[&str], sys: &std::path::Path) -> std::process::Output {
    Command::new(common::bin())
        .args(args)
        .env("PORTTUNE_SYSCTL_ROOT", sys)
        .env("NO_COLOR", "1")
        .env_remove("PORTTUNE_STATE_DIR")
        .output()
        .unwrap()
}

/// `apply` says which keys it left out and why; the journal's rollback lists structured
/// entries (JSON) and its text fits 80 columns.
#[test]
#[cfg_attr(not(target_os = "linux"), ignore = "Linux only: a Linux sysctl tree")]
fn apply_prints_skipped_keys_and_rollback_is_structured() {
    let d = tempfile::tempdir().unwrap();
    let sys = sysctl_tree(d.path());
    let prof = d.path().join("p.yaml");
    std::fs::write(
        &prof,
        "name: skiptest\nsysctl:\n  net.core.somaxconn: 8192\n  kernel.pid_max: 4194304\n",
    )
    .unwrap();
    let state = d.path().join("state");
    let (p, s) = (prof.to_str().unwrap(), state.to_str().unwrap());
    let o = in_tree(
        &[
            "apply",
            p,
            "--yes",
            "--skip",
            "kernel.pid_max",
            "--state-dir",
            s,
        ],
        &sys,
    );
    let text = stdout(&o);
    assert_eq!(o.status.code(), Some(0), "{text}{}", stderr(&o));
    let skipped = text
        .split("Skipped")
        .nth(1)
        .unwrap_or_else(|| panic!("no Skipped section:\n{text}"));
    assert!(skipped.contains("kernel.pid_max"), "{text}");
    assert!(text.contains("net.core.somaxconn: 4096 → 8192"), "{text}");
    assert_eq!(
        std::fs::read_to_string(sys.join("kernel/pid_max")).unwrap(),
        "32768\n"
    );
    for l in text.lines().filter(|l| !l.contains(s)) {
        assert!(l.chars().count() <= 80, "{l}\n{text}");
    }
    let undo = text.lines().find(|l| l.starts_with("undo: ")).unwrap();
    assert!(
        undo.contains(&format!("porttune rollback {s}/journal/")),
        "{text}"
    );
    let o = in_tree(&["rollback", "--yes", "--state-dir", s, "-o", "json"], &sys);
    let v = common::json(&o);
    assert_eq!(v["schema"], 1, "{v}");
    let r = &v["restored"][0];
    assert_eq!(
        (r["kind"].as_str(), r["key"].as_str()),
        (Some("sysctl"), Some("net.core.somaxconn")),
        "{v}"
    );
    assert_eq!(
        (r["from"].as_str(), r["to"].as_str()),
        (Some("8192"), Some("4096"))
    );
    // Again, as text: already rolled back, said within 80 columns.
    let o = in_tree(&["apply", p, "--yes", "--state-dir", s], &sys);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let o = in_tree(&["rollback", "--state-dir", s], &sys);
    let text = stdout(&o);
    assert!(text.contains("restored net.core.somaxconn"), "{text}");
    for l in text.lines().filter(|l| !l.contains(s)) {
        assert!(l.chars().count() <= 80, "{l}\n{text}");
    }
}

/// `profiles list` fits 80 columns when piped, like every command's text.
#[test]
fn profiles_list_fits_80_columns() {
    let text = stdout(&run(&["profiles", "list"]));
    assert!(text.contains("production"), "{text}");
    for l in text.lines() {
        assert!(
            l.chars().count() <= 80,
            "{} columns: {l}",
            l.chars().count()
        );
    }
}

/// An error on a terminal (a pty from script(1), 60 columns) is folded at its width, with
/// the words whole; piped, the same error is one line (grep, logs, Ansible).
#[test]
#[ignore = "needs script (util-linux)"]
fn errors_fit_the_terminal_and_stay_one_line_when_piped() {
    common::need_tool(
        "errors_fit_the_terminal_and_stay_one_line_when_piped",
        "script",
        &["--version"],
        "apt-get install util-linux",
    );
    let d = tempfile::tempdir().unwrap();
    let state = d.path().join("state-dir-of-this-test");
    let s = state.to_str().unwrap();
    let piped = run(&["rollback", "--state-dir", s]);
    assert_eq!(piped.status.code(), Some(1));
    let err = stderr(&piped);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.trim_end().chars().count() > 60, "{err}");
    let cmd = format!(
        "stty rows 40 cols 60; NO_COLOR=1 {} rollback --state-dir {s}",
        common::bin().display()
    );
    let o = Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    let tty = stdout(&o).replace('\r', "");
    assert!(tty.lines().count() > 1, "{tty}");
    for l in tty.lines() {
        assert!(
            l.chars().count() <= 60,
            "{} columns: {l}",
            l.chars().count()
        );
    }
    let words = |t: &str| t.split_whitespace().collect::<Vec<_>>().join(" ");
    assert_eq!(words(&tty), words(&err), "the same words, folded");
}

/// `profiles show NAME` prints the bundled file as it is: its comments and its description
/// fit 80 columns too, and the file still says what it said (the resolved profile of a
/// folded description is one line).
#[test]
fn profiles_show_fits_80_columns() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("profiles");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .filter_map(|e| {
            let p = e.path();
            (p.extension()? == "yaml").then(|| p.file_stem()?.to_str().map(String::from))?
        })
        .collect();
    names.sort();
    assert!(names.len() >= 7, "{names:?}");
    for name in &names {
        let o = run(&["profiles", "show", name]);
        assert_eq!(o.status.code(), Some(0), "{name}: {}", stderr(&o));
        let text = stdout(&o);
        assert!(text.contains(&format!("name: {name}")), "{name}:\n{text}");
        for l in text.lines() {
            assert!(
                l.chars().count() <= 80,
                "{name}: {} columns: {l}",
                l.chars().count()
            );
        }
        let resolved = common::json(&run(&["profiles", "show", name, "--resolved"]));
        let desc = resolved["description"].as_str().unwrap_or_default();
        assert!(
            !desc.is_empty() && !desc.contains('\n') && !desc.contains("  "),
            "{name}: {desc:?}"
        );
    }
}

/// Colour follows the one switch in the commands that had none or some: coloured with
/// CLICOLOR_FORCE, plain when piped and with NO_COLOR.
#[test]
fn colour_in_profiles_status_and_apply() {
    let d = tempfile::tempdir().unwrap();
    let s = d.path().to_str().unwrap();
    let cmds: [&[&str]; 5] = [
        &["explain", "--no-host", "Too many open files"],
        &["profiles", "list"],
        &["profiles", "validate", "profiles/base.yaml"],
        &["status", "--state-dir", s],
        &["apply", "production", "--dry-run", "--root", s],
    ];
    for args in cmds {
        let with = |env: &[(&str, &str)]| {
            let mut c = Command::new(common::bin());
            c.args(args)
                .current_dir(env!("CARGO_MANIFEST_DIR"))
                .env_remove("NO_COLOR")
                .env_remove("CLICOLOR_FORCE");
            for (k, v) in env {
                c.env(k, v);
            }
            stdout(&c.output().unwrap())
        };
        assert!(!with(&[]).contains('\u{1b}'), "{args:?} piped");
        assert!(
            with(&[("CLICOLOR_FORCE", "1")]).contains('\u{1b}'),
            "{args:?} forced"
        );
        assert!(
            !with(&[("CLICOLOR_FORCE", "1"), ("NO_COLOR", "1")]).contains('\u{1b}'),
            "{args:?} NO_COLOR"
        );
    }
}

/// What users read (the README, every page of docs/, the bundled profiles, examples and
/// manifests) speaks about the product: no citations of the development facts sheets (by
/// name or by their § numbers), no "(N here)" from the machine it was written on, no issue
/// numbers as headings, no `--from tests/fixtures/…` in examples a user would copy.
#[test]
fn user_docs_speak_about_the_product() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = vec![root.join("README.md")];
    for d in ["docs", "profiles", "examples", "deploy/kubernetes"] {
        for e in std::fs::read_dir(root.join(d)).unwrap().flatten() {
            if e.path().is_file() {
                files.push(e.path());
            }
        }
    }
    let heading_issue = |l: &str| {
        l.starts_with('#') && {
            let low = l.to_lowercase();
            low.contains("issue ") || low.contains("(#")
        }
    };
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        for bad in [
            "limits-facts",
            "macos-facts",
            "facts sheet",
            "§",
            " here)",
            "--from tests/fixtures",
        ] {
            assert!(!text.contains(bad), "{} says {bad:?}", f.display());
        }
        if let Some(l) = text.lines().find(|l| heading_issue(l)) {
            panic!("{}: an issue number as a heading: {l}", f.display());
        }
        // An example's output that is cut says so ("[… cut: what]"), never a bare "...".
        if f.extension().is_some_and(|e| e == "md") {
            if let Some(l) = text.lines().find(|l| matches!(l.trim(), "..." | "…")) {
                panic!("{}: an unmarked cut in an example: {l:?}", f.display());
            }
        }
    }
}
