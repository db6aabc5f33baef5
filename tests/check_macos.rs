//! `porttune check --from` on macOS snapshots, on any machine: the seed's answer, and output that
//! speaks macOS only (no Linux key, mechanism or number ≥ 2^63 anywhere).

mod common;

use assert_cmd::Command;

fn fixtures() -> Vec<std::path::PathBuf> {
    let dir =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/snapshots/macos");
    let mut v: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    v.sort();
    assert!(v.len() >= 7, "{v:?}");
    v
}

fn check(args: &[&str]) -> (Option<i32>, String) {
    let out = Command::cargo_bin("porttune")
        .unwrap()
        .env("NO_COLOR", "1")
        .arg("check")
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.stderr.is_empty(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code(), String::from_utf8(out.stdout).unwrap())
}

#[test]
fn seed_from_facts_only_snapshot() {
    let seed = fixtures()
        .into_iter()
        .find(|p| p.ends_with("seed-facts.yaml"))
        .unwrap();
    let (code, out) = check(&[
        "--from",
        seed.to_str().unwrap(),
        "--scenario",
        "loopback",
        "--format",
        "json",
    ]);
    assert_eq!(code, Some(0), "{out}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let ceiling = v["prediction"]["ceiling"].as_u64().unwrap();
    assert!(
        (ceiling as f64 - 12_261.0).abs() / 12_261.0 <= 0.005,
        "{ceiling}"
    );
    assert_eq!(v["prediction"]["bottleneck"], "erlang_max_fds");
    assert_eq!(v["ceilings"][1]["name"], "ephemeral_ports");
    assert_eq!(v["ceilings"][1]["value"], 16_384);
    let (_, text) = check(&["--from", seed.to_str().unwrap(), "--scenario", "loopback"]);
    // The text is wrapped to 80 columns: compare with the words joined.
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        text.contains("→ lift erlang_max_fds and the next limit is ephemeral_ports at 16,384"),
        "{text}"
    );
    assert!(text.contains("`+Q`/ERL_MAX_PORTS do not lift it"), "{text}");
}

/// No macOS output says a Linux word or a number ≥ 2^63: every macOS fixture × every scenario ×
/// every format (text, JSON, Prometheus), short (`--brief`) and with the what-if of the
/// `macos-dev` profile. (plan/apply/rollback: tests/apply_macos.rs; the flood's report:
/// tests/flood_macos.rs.)
#[test]
fn macos_output_is_native_and_finite() {
    let variants: &[&[&str]] = &[
        &["--format", "text"],
        &["--format", "json"],
        &["--format", "prometheus"],
        &["--brief"],
        &["--with", "macos-dev"],
        &["--with", "macos-dev", "--format", "json"],
    ];
    for f in fixtures() {
        for scenario in ["inbound", "outbound", "loopback"] {
            for extra in variants {
                let mut args = vec!["--from", f.to_str().unwrap(), "--scenario", scenario];
                args.extend_from_slice(extra);
                if !extra.contains(&"--with") {
                    args.push("--churn");
                }
                if scenario == "inbound" {
                    args.push("--acceptor-paused");
                }
                let (code, out) = check(&args);
                assert!(matches!(code, Some(0 | 1)), "{args:?}: {code:?}\n{out}");
                assert!(out.len() > 40, "{args:?}: {out}");
                common::linux_words::assert_none(&format!("{args:?}"), &out);
                // No number of 19 digits or more (≥ 2^63 would be).
                let long = out
                    .split(|c: char| !c.is_ascii_digit())
                    .find(|run| run.len() >= 19);
                assert!(long.is_none(), "{args:?}: {long:?}");
            }
        }
    }
}

#[test]
fn require_on_a_mac_names_mac_lifts() {
    let f = fixtures()
        .into_iter()
        .find(|p| p.ends_with("default-mac.yaml"))
        .unwrap();
    let (code, out) = check(&["--from", f.to_str().unwrap(), "--require", "100000"]);
    assert_eq!(code, Some(1));
    let out = out.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        out.contains("[ERROR ProcessFds] process_fds allows 253 connections → 100000 required"),
        "{out}"
    );
    assert!(
        out.contains("sudo sysctl -w kern.maxfilesperproc="),
        "{out}"
    );
    common::linux_words::assert_none("--require", &out);
}

/// The what-if on the seed's snapshot: macos-dev gives the node a finite 262,144 fds at boot
/// (erts' table follows), so `+Q 65536` becomes the limit (32,766), and the next rung is the
/// widened host-wide port pool (65,535 − 32,768 + 1 = 32,768), which starts above the ports
/// dev servers listen on (11211, 15672, 25672, 27017). Linux profiles are refused.
#[test]
fn what_if_macos_dev_on_the_seed() {
    let seed = fixtures()
        .into_iter()
        .find(|p| p.ends_with("seed-facts.yaml"))
        .unwrap();
    let (code, out) = check(&[
        "--from",
        seed.to_str().unwrap(),
        "--scenario",
        "loopback",
        "--with",
        "macos-dev",
        "--format",
        "json",
    ]);
    assert!(matches!(code, Some(0 | 1)), "{out}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let w = &v["with_profile"];
    assert_eq!(w["after"]["bottleneck"], "erlang_port_limit", "{w}");
    assert_eq!(w["after"]["ceiling"], (65_536 - 3 - 1) / 2);
    let after = w["ceilings_after"].as_array().unwrap();
    assert_eq!(after[1]["name"], "ephemeral_ports");
    assert_eq!(after[1]["value"], 32_768);
    let first: u16 = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("profiles/macos-dev.yaml"),
    )
    .unwrap()
    .lines()
    .find_map(|l| l.trim().strip_prefix("net.inet.ip.portrange.first:"))
    .unwrap()
    .trim()
    .parse()
    .unwrap();
    for dev in [11211, 15672, 25672, 27017] {
        assert!(first > dev, "the range starts at {first}, over port {dev}");
    }
    let fds = after
        .iter()
        .find(|c| c["name"] == "erlang_max_fds")
        .unwrap();
    assert_eq!(fds["value"], (262_144 - 54 - 1) / 2);

    let out = assert_cmd::Command::cargo_bin("porttune")
        .unwrap()
        .args([
            "check",
            "--from",
            seed.to_str().unwrap(),
            "--with",
            "production",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("is for Linux, and the host is macOS"));
}

/// `MaxFilesPerProc` (the `--require` check of kern.maxfilesperproc) is reported on a Mac, so
/// `--ignore` takes it, in any case, and demotes it to a warning; Linux textfiles do not list it.
#[test]
fn ignore_takes_max_files_per_proc() {
    let snap = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/snapshots/macos/default-mac.yaml"
    );
    let ids = |extra: &[&str]| {
        let mut args = vec!["--from", snap, "--require", "1000000", "--format", "json"];
        args.extend_from_slice(extra);
        let (code, out) = check(&args);
        assert_eq!(code, Some(1), "{out}");
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        v["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == "MaxFilesPerProc")
            .map(|c| (c["severity"].clone(), c["ignored"].clone()))
            .unwrap()
    };
    assert_eq!(ids(&[]).0, "error");
    assert_eq!(
        ids(&["--ignore", "maxfilesperproc"]),
        ("warning".into(), true.into())
    );
    let linux = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/snapshots/linux-defaults.yaml"
    );
    let (_, prom) = check(&["--from", linux, "--format", "prometheus"]);
    assert!(!prom.contains("MaxFilesPerProc"), "{prom}");
}

/// Every number after `needle` in `text`, with the text after it.
fn after<'a>(text: &'a str, needle: &str) -> Vec<(&'a str, &'a str)> {
    text.match_indices(needle)
        .map(|(i, _)| {
            let rest = &text[i + needle.len()..];
            let end = rest.find('`').unwrap_or(rest.len());
            (&rest[..end], rest)
        })
        .collect()
}

/// No advice lowers a host-wide limit: launchd, when its maxfiles limit changes, also sets
/// kern.maxfiles to the hard and kern.maxfilesperproc to the soft limit (launchd-842
/// src/ipc.c), so every `launchctl limit maxfiles S H` has H ≥ kern.maxfiles and a S
/// below kern.maxfilesperproc is followed by the sysctl that puts it back. And no `ulimit -n
/// N` above kern.maxfilesperproc comes before the sysctl that allows it (setrlimit fails with
/// EINVAL there before macOS 11). Every launchctl advice says to relaunch Terminal, whose new
/// tabs keep the app's limit. Checked on every macOS fixture and an 8 GiB Mac (30,720 and
/// 10,240, where the old advice set kern.maxfiles to 10,240).
#[test]
fn no_advice_lowers_kern_maxfiles_or_runs_ulimit_before_its_sysctl() {
    let dir = tempfile::tempdir().unwrap();
    let small = dir.path().join("small-mac.yaml");
    std::fs::write(
        &small,
        "schema: 1\nplatform: {os: macos, kernel: 19.6.0}\nfs: {file_max: 30720, file_nr_allocated: 3000, maxfilesperproc: 10240}\n\
         process: {is_self: true, nofile: {soft: 256, hard: unlimited}, open_fds: 3}\nmemory: {mem_total_kb: 8388608}\n",
    )
    .unwrap();
    let mut files = fixtures();
    files.push(small);
    let mut seen = 0;
    for f in files {
        let snap = porttune::snapshot::load(&f).unwrap();
        let maxfiles = snap.fs.file_max;
        let perproc = snap.fs.maxfilesperproc;
        for scenario in ["inbound", "outbound", "loopback"] {
            let (_, out) = check(&[
                "--from",
                f.to_str().unwrap(),
                "--scenario",
                scenario,
                "--require",
                "200000",
            ]);
            let out = out.split_whitespace().collect::<Vec<_>>().join(" ");
            for (args, rest) in after(&out, "launchctl limit maxfiles ") {
                seen += 1;
                let n: Vec<u64> = args
                    .split_whitespace()
                    .map(|w| w.parse().unwrap())
                    .collect();
                let (soft, hard) = (n[0], n[1]);
                // Terminal's new windows and tabs keep the limit the app started with.
                let note = rest.find(')').map_or(rest, |end| &rest[..end]);
                assert!(
                    note.contains("quit and reopen Terminal"),
                    "{f:?} {scenario}: `{args}` without relaunching Terminal: {rest}"
                );
                if let Some(m) = maxfiles {
                    assert!(
                        hard >= m,
                        "{f:?} {scenario}: `{args}` lowers kern.maxfiles {m}"
                    );
                }
                if let Some(p) = perproc.filter(|p| soft < *p) {
                    assert!(
                        rest.starts_with(&format!(
                            "{args}` then `sudo sysctl -w kern.maxfilesperproc={p}`"
                        )),
                        "{f:?} {scenario}: `{args}` leaves kern.maxfilesperproc at {soft}: {rest}"
                    );
                }
            }
            if let Some(p) = perproc {
                for (i, _) in out.match_indices("ulimit -n ") {
                    let n: u64 = out[i + 10..]
                        .split(|c: char| !c.is_ascii_digit())
                        .next()
                        .unwrap()
                        .parse()
                        .unwrap();
                    if n <= p {
                        continue;
                    }
                    // The sysctl that allows it comes earlier in the same sentence.
                    let start = out[..i].rfind("lift:").unwrap_or(0);
                    let earlier = &out[start..i];
                    let allowed = after(earlier, "kern.maxfilesperproc=")
                        .iter()
                        .any(|(v, _)| {
                            v.split(|c: char| !c.is_ascii_digit())
                                .next()
                                .and_then(|v| v.parse::<u64>().ok())
                                .is_some_and(|v| v >= n)
                        });
                    assert!(
                        allowed,
                        "{f:?} {scenario}: `ulimit -n {n}` above kern.maxfilesperproc {p} before its sysctl: {}",
                        &out[start..(i + 40).min(out.len())]
                    );
                }
            }
        }
    }
    assert!(seen > 10, "{seen} launchctl advices");
}

/// What `check --pid` reads on a Mac for a running Erlang node (a Mac shows no other
/// process's rlimits): argv[1] of its `erl_child_setup` child, which erts starts with its fd
/// table size (OTP erl_child_setup.h FORKER_ARGV_MAX_FILES). Checked against a real node here:
/// started under a soft limit the test chose, the node reports its own max_fds
/// (erlang:system_info(check_io)), and the child's arguments, laid out as KERN_PROCARGS2 gives
/// them on a Mac (argc, the path padded to 8 bytes, argv, environment), parse to the same
/// number.
#[test]
#[ignore = "needs erl (erlang-nox) and prlimit (util-linux)"]
fn erl_child_setup_argv1_is_the_fd_table_erts_sized() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    if !common::need_erl("erl_child_setup_argv1_is_the_fd_table_erts_sized") {
        return;
    }
    let mut child = Command::new("prlimit")
        .args(["--nofile=3000:20000", "erl", "-noshell", "-eval"])
        .arg(
            "[CI | _] = case erlang:system_info(check_io) of [L | _] when is_list(L) -> [L]; L -> [L] end, \
             io:format(\"~p~n\", [proplists:get_value(max_fds, CI)]), \
             receive after 20000 -> halt() end.",
        )
        .env_remove("ERL_FLAGS")
        .env_remove("ERL_AFLAGS")
        .env_remove("ERL_ZFLAGS")
        .stdout(Stdio::piped())
        .spawn()
        .expect("start erl");
    struct Kill(std::process::Child);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let stdout = child.stdout.take().unwrap();
    let node = Kill(child);
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).unwrap();
    let max_fds: u64 = line.trim().parse().unwrap_or_else(|_| panic!("{line:?}"));
    assert_eq!(
        max_fds, 3000,
        "the node sized its table from the soft limit"
    );
    let pid = node.0.id();
    let setup = std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .find(|p| {
            let stat = std::fs::read_to_string(format!("/proc/{p}/stat")).unwrap_or_default();
            stat.contains("(erl_child_setup)")
                && stat
                    .rsplit_once(") ")
                    .and_then(|(_, r)| r.split_whitespace().nth(1))
                    == Some(pid.to_string().as_str())
        })
        .expect("the node's erl_child_setup");
    // The child's strings as a Mac's KERN_PROCARGS2 lays them out.
    let args = std::fs::read(format!("/proc/{setup}/cmdline")).unwrap();
    let env = std::fs::read(format!("/proc/{setup}/environ")).unwrap_or_default();
    let exe = std::fs::read_link(format!("/proc/{setup}/exe")).unwrap();
    let argc = args.iter().filter(|b| **b == 0).count() as i32;
    let mut buf = argc.to_ne_bytes().to_vec();
    buf.extend_from_slice(exe.to_string_lossy().as_bytes());
    buf.push(0);
    while (buf.len() - 4) % 8 != 0 {
        buf.push(0);
    }
    buf.extend_from_slice(&args);
    buf.extend_from_slice(&env);
    let (argv, _) = porttune::snapshot::macos_parse::procargs2(&buf);
    assert_eq!(
        porttune::snapshot::macos_parse::forker_max_files(&argv),
        Some(max_fds),
        "{argv:?}"
    );
}

fn fixture(name: &str) -> String {
    let p = fixtures()
        .into_iter()
        .find(|p| p.ends_with(name))
        .unwrap_or_else(|| panic!("{name}"));
    p.to_str().unwrap().to_string()
}

fn joined(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The seed's node read by PID at the moment it stopped: 12,260 loopback connections (24,520
/// connected sockets), 24,575 fds open of erts' 24,576-fd table (read from erl_child_setup).
/// No room for one more: the headline says "0 more" and what the node holds, in text, in
/// --brief and in JSON; the port pool counts the 12,260 ports its connections hold.
#[test]
fn a_node_at_its_limit_says_what_it_holds() {
    let f = fixture("seed-at-limit.json");
    for brief in [false, true] {
        let mut args = vec!["--from", &f, "--scenario", "loopback"];
        if brief {
            args.push("--brief");
        }
        let (code, out) = check(&args);
        assert_eq!(code, Some(0), "{out}");
        let t = joined(&out);
        assert!(
            t.starts_with("Ceiling: 0 more concurrent connections (loopback"),
            "{t}"
        );
        assert!(
            t.contains(
                "at its limit now: 24,575 of its 24,576 fds (erts' fd table, max_fds) are in use; it holds 24,520 connected TCP sockets"
            ),
            "{t}"
        );
    }
    let (_, out) = check(&["--from", &f, "--scenario", "loopback", "-o", "json"]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let p = &v["prediction"];
    assert_eq!(p["ceiling"], 0);
    assert_eq!(p["bottleneck"], "erlang_max_fds");
    assert_eq!(p["at_limit"]["in_use"], 24_575);
    assert_eq!(p["at_limit"]["of"], 24_576);
    assert_eq!(p["at_limit"]["connected_sockets"], 24_520);
    let eph = v["ceilings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "ephemeral_ports")
        .unwrap();
    assert_eq!(eph["value"], 16_384 - 12_260, "{eph}");
    // A process with room to spare says nothing of the kind.
    let (_, out) = check(&["--from", &fixture("seed-probed.json"), "-o", "json"]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert!(v["prediction"].get("at_limit").is_none(), "{v}");
}

/// The same on Linux, for a process named by PID whose RLIMIT_NOFILE is full: every process
/// target, not only a node on a Mac.
#[test]
fn a_full_process_on_linux_says_what_it_holds() {
    let d = tempfile::tempdir().unwrap();
    let f = d.path().join("full.yaml");
    std::fs::write(
        &f,
        "schema: 1\nplatform: {os: linux, kernel: 6.1.0}\nfs: {file_max: 9000000, nr_open: 1048576}\nprocess:\n  pid: 4242\n  comm: server\n  nofile: {soft: 1024, hard: 1024}\n  open_fds: 1024\nusage: {process_connections: 1000}\n",
    )
    .unwrap();
    let (_, out) = check(&["--from", f.to_str().unwrap()]);
    let t = joined(&out);
    assert!(
        t.starts_with("Ceiling: 0 more concurrent connections"),
        "{t}"
    );
    assert!(
        t.contains("at its limit now: 1,024 of its 1,024 fds (RLIMIT_NOFILE) are in use; it holds 1,000 connected TCP sockets"),
        "{t}"
    );
}

/// Every fd rung of one ladder counts the same fds open: a node not yet started counts an idle
/// node's 19 (porttune's own fds do not stand for it), in erlang_max_fds and
/// max_files_per_proc alike; a snapshot of a process counts its own.
#[test]
fn one_fds_baseline_per_ladder() {
    let d = tempfile::tempdir().unwrap();
    let own = d.path().join("self-erlang.yaml");
    std::fs::write(
        &own,
        "schema: 1\nplatform: {os: macos, kernel: 23.6.0}\nfs: {file_max: 122880, maxfilesperproc: 61440}\nprocess:\n  is_self: true\n  nofile: {soft: unlimited, hard: unlimited}\n  open_fds: 5\nmemory: {mem_total_kb: 16777216}\nruntime: {kind: erlang}\n",
    )
    .unwrap();
    let mut files: Vec<String> = fixtures()
        .iter()
        .map(|p| p.to_str().unwrap().to_string())
        .collect();
    files.push(own.to_str().unwrap().to_string());
    for f in &files {
        for scenario in ["inbound", "loopback", "outbound"] {
            let (_, out) = check(&["--from", f, "--scenario", scenario, "-o", "json"]);
            let v: serde_json::Value = serde_json::from_str(&out).unwrap();
            let mut seen = std::collections::BTreeSet::new();
            for c in v["ceilings"].as_array().unwrap() {
                let why = c["why"].as_str().unwrap();
                for (at, _) in why.match_indices(" fds open") {
                    let n: String = why[..at]
                        .chars()
                        .rev()
                        .take_while(char::is_ascii_digit)
                        .collect();
                    seen.insert(n.chars().rev().collect::<String>());
                }
            }
            assert!(seen.len() <= 1, "{f} {scenario}: {seen:?}");
            if f.ends_with("self-erlang.yaml") {
                assert_eq!(seen.into_iter().collect::<Vec<_>>(), ["19"], "{scenario}");
            }
        }
    }
}
