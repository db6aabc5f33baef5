//! Provenance on every number, and the "cannot tell" gate (docs/model.md, "Provenance"):
//! every ceiling of every fixture says where it came from; a rung resting on an assumed value
//! is conditional and never the headline over one built from read values; `--require` whose
//! verdict an assumption could flip exits 4 unless `--allow-assumed`.

mod common;

use assert_cmd::Command;
use serde_json::Value;

fn fixtures() -> Vec<std::path::PathBuf> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/snapshots");
    let mut v = Vec::new();
    for d in [dir.clone(), dir.join("macos")] {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "yaml" || x == "json") {
                v.push(p);
            }
        }
    }
    v.sort();
    assert!(v.len() >= 15, "{v:?}");
    v
}

fn check(args: &[&str]) -> (i32, String) {
    let out = Command::cargo_bin("porttune")
        .unwrap()
        .env("NO_COLOR", "1")
        .env("COLUMNS", "100")
        .arg("check")
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
    )
}

fn json(args: &[&str]) -> (i32, Value) {
    let mut a = args.to_vec();
    a.extend(["--format", "json"]);
    let (code, out) = check(&a);
    (
        code,
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("{args:?}: {e}\n{out}")),
    )
}

/// Every ceiling has a provenance of a known kind; a derived one names its rule and inputs,
/// and each input it names is in `inputs` with a provenance of its own.
fn assert_provenance(what: &str, ceilings: &Value, inputs: &Value) {
    let inputs = inputs
        .as_array()
        .unwrap_or_else(|| panic!("{what}: no inputs"));
    for i in inputs {
        let kind = i["provenance"]["kind"].as_str().unwrap_or("");
        assert!(
            ["read", "derived", "assumed", "unknown"].contains(&kind),
            "{what}: input without provenance: {i}"
        );
        if kind == "read" {
            assert!(
                !i["provenance"]["from"].as_str().unwrap_or("").is_empty(),
                "{what}: {i}"
            );
        }
        if kind == "assumed" || kind == "unknown" {
            assert!(
                !i["provenance"]["read_with"]
                    .as_str()
                    .unwrap_or("")
                    .is_empty(),
                "{what}: an assumption without what reads it: {i}"
            );
        }
    }
    let keys: Vec<&str> = inputs.iter().filter_map(|i| i["key"].as_str()).collect();
    let ceilings = ceilings.as_array().unwrap();
    for c in ceilings {
        let p = &c["provenance"];
        let kind = p["kind"].as_str().unwrap_or("");
        assert!(
            ["read", "derived", "assumed", "unknown"].contains(&kind),
            "{what}: ceiling without provenance: {c}"
        );
        if kind == "derived" {
            assert!(
                !p["rule"].as_str().unwrap_or("").is_empty(),
                "{what}: no rule: {c}"
            );
            let used = p["inputs"].as_array().unwrap();
            assert!(
                !used.is_empty(),
                "{what}: a derived ceiling without inputs: {c}"
            );
            for u in used {
                assert!(
                    keys.contains(&u.as_str().unwrap()),
                    "{what}: input {u} not listed"
                );
            }
        }
    }
}

#[test]
fn every_ceiling_of_every_fixture_has_a_provenance() {
    let mut n = 0;
    for f in fixtures() {
        let f = f.to_str().unwrap();
        let profile = if f.contains("/macos") {
            "macos-dev"
        } else {
            "production"
        };
        for extra in [
            &["--scenario", "inbound"][..],
            &[
                "--scenario",
                "inbound",
                "--acceptor-paused",
                "--threads-per-conn",
                "1",
            ],
            &["--scenario", "outbound", "--destinations", "3", "--churn"],
            &["--scenario", "loopback", "--app-limit", "5000:pool"],
            &["--with", profile],
        ] {
            let mut args = vec!["--from", f];
            args.extend_from_slice(extra);
            let (code, v) = json(&args);
            assert!([0, 1, 4].contains(&code), "{args:?}: exit {code}");
            let what = format!("{args:?}");
            assert_provenance(&what, &v["ceilings"], &v["inputs"]);
            n += v["ceilings"].as_array().unwrap().len();
            if let Some(w) = v.get("with_profile") {
                assert_provenance(&what, &w["ceilings_after"], &w["inputs_after"]);
            }
        }
    }
    assert!(n > 150, "only {n} ceilings walked");
}

#[test]
fn an_assumed_rung_is_not_the_headline_over_a_read_one() {
    let f = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/snapshots/macos/seed-no-perproc.yaml"
    );
    let (code, v) = json(&["--from", f, "--scenario", "loopback"]);
    assert_eq!(code, 0);
    let p = &v["prediction"];
    // (24576 − 54 − 1) / 2 from the facts; not (10240 − 55) / 2 = 5,092 from the assumed
    // kern.maxfilesperproc.
    assert_eq!(p["ceiling"], 12_260, "{p}");
    assert_eq!(p["bottleneck"], "erlang_max_fds");
    assert_eq!(p["range"]["low"], 5_092, "{p}");
    assert_eq!(p["range"]["on"][0], "kern.maxfilesperproc");
    let rung = common::find(&v["ceilings"], "name", "max_files_per_proc");
    assert_eq!(rung["value"], 5_092);
    assert_eq!(rung["conditional"]["low"], 5_092);
    assert!(
        rung["conditional"]["high"].as_u64().unwrap() > 12_260,
        "{rung}"
    );
    let input = common::find(&v["inputs"], "key", "kern.maxfilesperproc");
    assert_eq!(input["provenance"]["kind"], "assumed");
    assert_eq!(
        input["provenance"]["read_with"],
        "`sysctl kern.maxfilesperproc`"
    );
    assert!(!v["assumptions"].as_array().unwrap().is_empty());
    let (_, text) = check(&["--from", f, "--scenario", "loopback"]);
    assert!(text.starts_with("Ceiling: 12,260 concurrent"), "{text}");
    assert!(text.contains("Assumed / not read:"), "{text}");
    assert!(
        text.contains("kern.maxfilesperproc: assumed 10240"),
        "{text}"
    );
}

#[test]
fn require_that_an_assumption_could_flip_cannot_be_told() {
    let f = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/snapshots/macos/seed-no-perproc.yaml"
    );
    let base = ["--from", f, "--scenario", "loopback"];
    let run = |extra: &[&str]| {
        let mut a = base.to_vec();
        a.extend_from_slice(extra);
        check(&a)
    };
    // Below the lowest plausible value: passes; above the highest: fails.
    assert_eq!(run(&["--require", "5000"]).0, 0);
    let (code, out) = run(&["--require", "20000"]);
    assert_eq!(code, 1, "{out}");
    assert!(!out.contains("CannotTell"), "{out}");
    // In between: cannot tell (exit 4), naming what is assumed and what reads it.
    let (code, out) = run(&["--require", "10000"]);
    assert_eq!(code, 4, "{out}");
    let words = common::words(&out);
    assert!(words.contains("[ERROR CannotTell] cannot tell"), "{words}");
    assert!(
        words.contains("kern.maxfilesperproc (assumed, not read)"),
        "{words}"
    );
    assert!(words.contains("`sysctl kern.maxfilesperproc`"), "{words}");
    // --ignore all does not turn the gate off.
    assert_eq!(run(&["--require", "10000", "--ignore", "all"]).0, 4);
    assert_eq!(run(&["--require", "20000", "--ignore", "all"]).0, 1);
    // --allow-assumed judges on the assumed values: kern.maxfilesperproc 10240 gives 5,092.
    let (code, out) = run(&["--require", "10000", "--allow-assumed"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("[WARNING CannotTell]"), "{out}");
    assert!(out.contains("[ERROR MaxFilesPerProc]"), "{out}");
    assert_eq!(run(&["--require", "5000", "--allow-assumed"]).0, 0);
    // Read the value, and the answer is certain.
    let dir = tempfile::tempdir().unwrap();
    let read = dir.path().join("read.yaml");
    let text = std::fs::read_to_string(f).unwrap().replace(
        "fs: {file_max: 122880}",
        "fs: {file_max: 122880, maxfilesperproc: 61440}",
    );
    std::fs::write(&read, text).unwrap();
    let (code, out) = check(&[
        "--from",
        read.to_str().unwrap(),
        "--scenario",
        "loopback",
        "--require",
        "10000",
    ]);
    assert_eq!(code, 0, "{out}");
}

#[test]
fn a_linux_snapshot_without_somaxconn_gates_the_paused_acceptor_honestly() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("s.yaml");
    std::fs::write(
        &f,
        "schema: 1\nplatform: {os: linux}\nfs: {file_max: 2000000, nr_open: 1048576}\n\
         process: {pid: 1, nofile: {soft: 100000, hard: 100000}, open_fds: 10}\n",
    )
    .unwrap();
    let f = f.to_str().unwrap();
    let args = ["--from", f, "--acceptor-paused"];
    let (_, v) = json(&args);
    // somaxconn not read: 4096 + 1 assumed, plausibly 129 to 65536.
    let q = &v["ceilings"][0];
    assert_eq!(q["name"], "accept_queue", "{v}");
    assert_eq!(q["conditional"]["low"], 129);
    assert_eq!(q["conditional"]["high"], 65_536);
    // The rung is below the read ones over its whole range: it is the headline, marked.
    assert_eq!(v["prediction"]["bottleneck"], "accept_queue");
    let (code, out) = check(&[&args[..], &["--require", "1000"]].concat());
    assert_eq!(code, 4, "{out}");
    let (code, _) = check(&[&args[..], &["--require", "70000"]].concat());
    assert_eq!(code, 1);
}

/// A running Erlang node read by PID on a Mac, whose RLIMIT_NOFILE macOS does not show: the
/// probe records this shell's 256 as assumed. The old answer was "Ceiling: 100" with a
/// SoftLimit256 warning about the node (its real table: 24,576). Now the rungs resting on it
/// are conditional, the headline is a rung read from facts, no check judges the assumed
/// limit, and a gate inside the range cannot tell.
#[test]
fn a_macos_node_whose_limit_was_not_read_is_not_judged_by_this_shells() {
    let dir = tempfile::tempdir().unwrap();
    let snap = |open: u64| {
        let f = dir.path().join(format!("node-{open}.yaml"));
        std::fs::write(
            &f,
            format!(
                "schema: 1\nplatform: {{os: macos, kernel: 23.6.0}}\n\
                 net: {{ip_local_port_range: {{lo: 49152, hi: 65535}}, somaxconn: 128, msl_ms: 15000}}\n\
                 fs: {{file_max: 122880, maxfilesperproc: 61440}}\n\
                 process: {{pid: 80123, nofile: {{soft: 256, hard: unlimited}}, open_fds: {open}}}\n\
                 memory: {{mem_total_kb: 16777216}}\n\
                 runtime: {{kind: erlang, erlang: {{port_limit: {{value: 65536, source: \"-Q 65536 (beam.smp command line)\"}}}}}}\n\
                 provenance:\n  process.nofile: {{kind: assumed, default: \"256 / unlimited (this shell's)\", why: \"macOS does not show another process's RLIMIT_NOFILE\", read_with: \"--nofile SOFT:HARD\"}}\n"
            ),
        )
        .unwrap();
        f.display().to_string()
    };
    let f = snap(54);
    let (code, v) = json(&["--from", &f, "--scenario", "loopback"]);
    assert_eq!(code, 0, "{v}");
    // erts' table is below the read rungs (ports 16,384) over the whole range, so it is the
    // bottleneck; its number is not known, only its range.
    assert_eq!(v["prediction"]["bottleneck"], "erlang_max_fds", "{v}");
    assert_eq!(v["prediction"]["range"]["low"], 100, "{v}");
    assert_eq!(v["prediction"]["range"]["high"], 12_260, "{v}");
    let (_, text) = check(&["--from", &f, "--scenario", "loopback"]);
    assert!(
        text.starts_with("Ceiling: between 100 and 12,260 concurrent"),
        "{text}"
    );
    assert!(!text.contains("SoftLimit256"), "{text}");
    let fds = common::find(&v["ceilings"], "name", "erlang_max_fds");
    assert_eq!(
        fds["value"], 100,
        "(256 − 54 − 1) / 2 on the assumed limit: {fds}"
    );
    assert_eq!(fds["conditional"]["on"][0], "process.nofile");
    assert_eq!(
        fds["conditional"]["high"], 12_260,
        "24,576 when unlimited: {fds}"
    );
    let checks = v["checks"].to_string();
    assert!(!checks.contains("SoftLimit256"), "{checks}");
    let input = common::find(&v["inputs"], "key", "process.nofile");
    assert_eq!(input["provenance"]["read_with"], "--nofile SOFT:HARD");
    let (code, _) = json(&["--from", &f, "--scenario", "loopback", "--require", "10000"]);
    assert_eq!(code, 4);
    // The node holds 300 fds: it cannot have a limit of 256. The assumption is dropped, said,
    // and the limit is taken as at least 301.
    let f = snap(300);
    let (_, v) = json(&["--from", &f, "--scenario", "loopback"]);
    let a = v["assumptions"].to_string();
    assert!(
        a.contains("the assumed soft limit 256 is disproved (the process holds 300 fds)"),
        "{a}"
    );
    let input = common::find(&v["inputs"], "key", "process.nofile");
    assert_eq!(input["provenance"]["kind"], "unknown", "{input}");
}

/// `check --with` shows the ladder now (numbers) and the ladder the checks judge, the profiled
/// one, each named; `--brief` too (it showed only the current one under the what-if).
#[test]
fn check_with_shows_the_profiled_ladder_and_says_which_is_which() {
    let f = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/snapshots/linux-defaults.yaml"
    );
    for brief in [false, true] {
        let mut args = vec!["--from", f, "--with", "production"];
        if brief {
            args.push("--brief");
        }
        let (_, text) = check(&args);
        let now = text.find("Ladder now").unwrap_or_else(|| panic!("{text}"));
        let with = text
            .find("Ladder with profile production")
            .unwrap_or_else(|| panic!("{text}"));
        assert!(now < with, "{text}");
        // The profiled ladder holds the profiled numbers: soft 1048576 − 3.
        assert!(text[with..].contains("1,048,573"), "{text}");
        assert!(!text[now..with].contains("1,048,573"), "{text}");
        assert!(text.contains("Reach of profile production:"), "{text}");
    }
}

/// A profile's `limits.nofile` above 1048576 on a host whose fs.nr_open was not read: the
/// kernel refuses a hard limit above fs.nr_open, so the what-if does not credit the profile's
/// number as if it would be accepted, nor cap it at the default as if that were read: the rung
/// is conditional on fs.nr_open, and a gate inside its range cannot tell. Each value the
/// profile sets is listed as the profile's (derived), not as read from the host.
#[test]
fn a_limit_above_an_unread_nr_open_cannot_tell() {
    let dir = tempfile::tempdir().unwrap();
    let snap = dir.path().join("s.yaml");
    std::fs::write(
        &snap,
        "schema: 1\nplatform: {os: linux}\nfs: {file_max: 9000000}\n\
         net: {ip_local_port_range: {lo: 1024, hi: 65535}, somaxconn: 65535}\n\
         process: {is_self: true, nofile: {soft: 1024, hard: 524288}, open_fds: 3}\n\
         memory: {mem_total_kb: 64000000, mem_available_kb: 60000000}\n",
    )
    .unwrap();
    let prof = dir.path().join("big.yaml");
    std::fs::write(
        &prof,
        "name: big\nsysctl:\n  fs.file-max: 12000000\nlimits:\n  nofile: 2000000\n  targets: [pam]\n",
    )
    .unwrap();
    let (s, p) = (snap.to_str().unwrap(), prof.to_str().unwrap());
    let gate = |n: &str| check(&["--from", s, "--with", p, "--require", n]);
    let (code, out) = gate("1500000");
    assert_eq!(code, 4, "{out}");
    let words = common::words(&out);
    assert!(
        words.contains("depending on fs.nr_open (assumed, not read)"),
        "{words}"
    );
    assert!(
        words.contains("What-if: 1,021 → between 1,048,573 and 1,999,997"),
        "{words}"
    );
    assert!(words.contains("fs.nr_open was not read"), "{words}");
    assert_eq!(gate("3000000").0, 1);
    assert_eq!(gate("1000000").0, 0);
    let (_, v) = json(&["--from", s, "--with", p]);
    let w = &v["with_profile"];
    let fds = common::find(&w["ceilings_after"], "name", "process_fds");
    assert_eq!(fds["conditional"]["on"][0], "fs.nr_open", "{fds}");
    assert_eq!(fds["conditional"]["low"], 1_048_573, "{fds}");
    assert_eq!(fds["conditional"]["high"], 1_999_997, "{fds}");
    for key in ["process.nofile", "fs.file-max"] {
        let i = common::find(&w["inputs_after"], "key", key);
        assert_eq!(i["provenance"]["kind"], "derived", "{i}");
        assert!(
            i["provenance"]["rule"]
                .as_str()
                .unwrap()
                .starts_with("set by profile big: "),
            "{i}"
        );
    }
    let nr = common::find(&w["inputs_after"], "key", "fs.nr_open");
    assert_eq!(nr["provenance"]["kind"], "assumed", "{nr}");
    // The host as it is: nothing there rests on fs.nr_open, and the values are read.
    let fm = common::find(&v["inputs"], "key", "fs.file-max");
    assert_eq!(fm["provenance"]["kind"], "read", "{fm}");
    // Read fs.nr_open and the answer is certain: capped at it, with the reason.
    std::fs::write(
        &snap,
        std::fs::read_to_string(&snap)
            .unwrap()
            .replace("file_max: 9000000}", "file_max: 9000000, nr_open: 4000000}"),
    )
    .unwrap();
    let (code, out) = gate("1500000");
    assert_eq!(code, 0, "{out}");
}
