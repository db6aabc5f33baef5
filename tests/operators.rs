//! Operators' journeys: the ladder at 80 columns, --brief, no colour when piped, --unit
//! (a fixture of `systemctl show` output), --process, and Prometheus identity labels.

mod common;

use std::io::Write;
use std::process::{Child, Command, Stdio};

fn fixture(name: &str) -> String {
    format!(
        "{}/tests/fixtures/snapshots/{name}",
        env!("CARGO_MANIFEST_DIR")
    )
}

/// A child process killed (by its PID) when the test ends, also on failure.
struct Guard(Child);
impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `sleep 60` under a copy named `name` (so its comm is unique), with RLIMIT_NOFILE soft:hard.
fn named_sleeper(dir: &std::path::Path, name: &str, soft: u64, hard: u64) -> Guard {
    let exe = dir.join(name);
    std::fs::copy("/bin/sleep", &exe).unwrap();
    let child = Command::new("prlimit")
        .arg(format!("--nofile={soft}:{hard}"))
        .arg(&exe)
        .arg("60")
        .spawn()
        .unwrap();
    let g = Guard(child);
    // prlimit execs the program: wait until the comm is the copy's name.
    let comm = format!("/proc/{}/comm", g.0.id());
    for _ in 0..100 {
        if std::fs::read_to_string(&comm).is_ok_and(|c| c.trim() == name) {
            return g;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    panic!("{name} did not start");
}

/// A fake `systemctl` that prints the fixture with the main PID put in.
fn fake_systemctl(dir: &std::path::Path, main_pid: u32) -> std::path::PathBuf {
    let show = format!(
        "{}/tests/fixtures/systemctl/show-web.txt",
        env!("CARGO_MANIFEST_DIR")
    );
    let path = dir.join("systemctl");
    let script = format!(
        "#!/bin/sh\n[ \"$1\" = show ] || exit 9\nfor a; do last=$a; done\n[ \"$last\" = web.service ] || {{ echo \"Unit $last could not be found.\" >&2; exit 1; }}\nsed 's/@MAINPID@/{main_pid}/' {show}\n"
    );
    std::fs::write(&path, script).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

/// A process name unique to this test run (other checkouts may run the same tests at the same
/// time, and process names are seen across namespaces): `prefix` + this PID, ≤ 15 bytes.
fn uniq(prefix: &str) -> String {
    let n = format!("{prefix}{}", std::process::id() % 100_000);
    assert!(n.len() <= 15, "{n}");
    n
}

fn run(args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    let mut c = Command::new(common::bin());
    c.args(args);
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().unwrap()
}

fn stdout(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn ladder_is_aligned_and_wrapped_at_80_columns() {
    for snap in ["linux-defaults.yaml", "conntrack.yaml", "erlang-node.yaml"] {
        let o = run(&["check", "--from", &fixture(snap), "--churn"], &[]);
        let text = stdout(&o);
        assert!(!text.contains('\u{1b}'), "no colour when piped:\n{text}");
        for (n, line) in text.lines().enumerate() {
            assert!(
                line.chars().count() <= 80,
                "{snap} line {} is {} columns:\n{line}",
                n + 1,
                line.chars().count()
            );
        }
        let ladder: Vec<&str> = text
            .lines()
            .skip_while(|l| !l.starts_with("Ladder"))
            .skip(1)
            .take_while(|l| !l.is_empty())
            .collect();
        let header = ladder[0];
        let num_end = header.find("connections").unwrap() + "connections".len();
        let text_col = header.find("why / how to lift").unwrap();
        let mut rows = 0;
        for line in &ladder[1..] {
            if line.starts_with("  ") && !line.starts_with("   ") {
                // A row: name, then the number right-aligned to the header's column.
                let head = &line[..num_end.min(line.len())];
                assert!(
                    !head.ends_with(' ') && line[num_end..].starts_with("  "),
                    "{snap}: number not aligned at column {num_end}:\n{line}"
                );
                rows += 1;
            } else {
                let indent = line.len() - line.trim_start().len();
                assert!(
                    indent >= text_col,
                    "{snap}: continuation line not indented to column {text_col}:\n{line}"
                );
            }
        }
        assert!(rows >= 3, "{snap}: {rows} ladder rows\n{text}");
    }
}

#[test]
fn brief_fits_one_screen_and_names_the_lift() {
    let o = run(
        &[
            "check",
            "--from",
            &fixture("linux-defaults.yaml"),
            "--brief",
        ],
        &[],
    );
    let text = stdout(&o);
    assert!(text.lines().count() <= 24, "{text}");
    assert!(text.lines().all(|l| l.chars().count() <= 80), "{text}");
    assert!(text.contains("lift:"), "{text}");
    assert!(!text.contains("Settings read"), "{text}");
}

#[test]
fn check_ids_are_case_insensitive() {
    let a = run(
        &[
            "check",
            "--from",
            &fixture("linux-defaults.yaml"),
            "--ignore",
            "softlimit1024,HARDLIMITLOCKED",
            "--format",
            "json",
        ],
        &[],
    );
    assert_ne!(
        a.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&a.stderr)
    );
    let bad = run(
        &[
            "check",
            "--from",
            &fixture("linux-defaults.yaml"),
            "--ignore",
            "nope",
        ],
        &[],
    );
    assert_eq!(bad.status.code(), Some(2));
}

#[test]
#[cfg_attr(not(target_os = "linux"), ignore = "Linux only: systemd units")]
fn unit_reads_main_pid_and_unit_limits_from_systemctl_show() {
    let dir = tempfile::tempdir().unwrap();
    let g = named_sleeper(dir.path(), "pt-unit-web", 1000, 2000);
    let pid = g.0.id();
    let sc = fake_systemctl(dir.path(), pid);
    let env = [("PORTTUNE_SYSTEMCTL", sc.to_str().unwrap())];
    let o = run(&["check", "--unit", "web", "--format", "json"], &env);
    let v = common::json(&o);
    let p = &v["process"];
    assert_eq!(p["pid"], pid, "{v}");
    assert_eq!(p["comm"], "pt-unit-web");
    assert_eq!(p["unit"]["name"], "web.service");
    assert_eq!(p["unit"]["tasks_max"], 4915);
    assert_eq!(
        p["nofile_soft"], 1000,
        "the running process's limit, not the unit's"
    );
    // The unit says 65536, the process runs with 1000: the report says to restart it.
    let notes = v["notes"].to_string();
    assert!(
        notes.contains("LimitNOFILE=65536:65536") && notes.contains("1000:2000"),
        "{notes}"
    );
    let ceiling = v["ceilings"][0]["value"].as_u64().unwrap();
    assert!(
        ceiling < 1000,
        "predicted from the process's soft limit 1000: {ceiling}"
    );

    let text = stdout(&run(&["check", "--unit", "web.service"], &env));
    assert!(text.contains(&format!("web.service (PID {pid}")), "{text}");
    assert!(
        text.contains("TasksMax=4915"),
        "the unit's settings are shown: {text}"
    );
    assert!(text.contains("`systemctl edit web.service`"), "{text}");

    let missing = run(&["check", "--unit", "nope.service"], &env);
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("nope.service"));
    let bad = run(&["check", "--unit", "x;reboot"], &env);
    assert_eq!(bad.status.code(), Some(2));
}

#[test]
#[cfg_attr(
    not(target_os = "linux"),
    ignore = "Linux only: names a process found in /proc"
)]
fn process_name_finds_the_one_process() {
    let dir = tempfile::tempdir().unwrap();
    let name = uniq("pt-proc-");
    let g = named_sleeper(dir.path(), &name, 777, 888);
    let o = run(&["check", "--process", &name, "--format", "json"], &[]);
    let v = common::json(&o);
    assert_eq!(v["process"]["pid"], g.0.id());
    assert_eq!(v["process"]["nofile_soft"], 777);
    let other = tempfile::tempdir().unwrap();
    let _g2 = named_sleeper(other.path(), &name, 777, 888);
    let two = run(&["check", "--process", &name], &[]);
    assert_eq!(
        two.status.code(),
        Some(2),
        "two unrelated processes: choose with --pid"
    );
    assert!(String::from_utf8_lossy(&two.stderr).contains("--pid"));
    let none = run(&["check", "--process", "pt-no-such"], &[]);
    assert_eq!(none.status.code(), Some(2));
}

/// Parse textfiles with prometheus_client; every (name, labels) pair is unique across them.
fn parse_unique(files: &[String]) {
    let parser = r#"
import sys, json
from prometheus_client.parser import text_string_to_metric_families
seen = {}
files = json.load(sys.stdin)
for i, text in enumerate(files):
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            for l in ("target", "unit", "comm", "pid"):
                assert l in s.labels, (s, l)
            key = (s.name, tuple(sorted(s.labels.items())))
            assert key not in seen, ("collision", key, seen[key], i)
            seen[key] = i
targets = {dict(k[1])["target"] for k in seen}
assert targets == {"host", "unit", "process"}, targets
builds = [k for k in seen if k[0] == "porttune_build_info"]
assert len(builds) == 3, builds
passing = [k for k in seen if k[0] == "porttune_check_failed" and dict(k[1])["level"] == "ok"]
assert passing, "passing checks are exported"
print(len(seen))
"#;
    let mut py = Command::new("python3")
        .args(["-c", parser])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    py.stdin
        .take()
        .unwrap()
        .write_all(serde_json::to_string(files).unwrap().as_bytes())
        .unwrap();
    let res = py.wait_with_output().unwrap();
    assert!(
        res.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&res.stderr),
        files.join("\n----\n")
    );
}

#[test]
#[ignore = "needs python3 with prometheus_client"]
fn textfiles_for_host_unit_and_process_coexist() {
    common::need_tool(
        "textfiles_for_host_unit_and_process_coexist",
        "python3",
        &["-c", "import prometheus_client.parser"],
        "pip install prometheus_client",
    );
    let dir = tempfile::tempdir().unwrap();
    let web = named_sleeper(dir.path(), "pt-prom-web", 1024, 4096);
    let db_name = uniq("pt-pdb-");
    let db = named_sleeper(dir.path(), &db_name, 4096, 4096);
    let sc = fake_systemctl(dir.path(), web.0.id());
    let env = [("PORTTUNE_SYSTEMCTL", sc.to_str().unwrap())];
    let files: Vec<String> = [
        vec!["check", "--format", "prometheus"],
        vec!["check", "--format", "prometheus", "--unit", "web.service"],
        vec!["check", "--format", "prometheus", "--process", &db_name],
    ]
    .iter()
    .map(|a| stdout(&run(a, &env)))
    .collect();
    assert!(files[2].contains(&format!("pid=\"{}\"", db.0.id())));
    parse_unique(&files);
}

#[test]
#[ignore = "needs root, unshare -n and prometheus-node-exporter"]
fn node_exporter_scrapes_textfiles_of_two_services_and_the_host() {
    common::need_root("node_exporter_scrapes_textfiles_of_two_services_and_the_host");
    common::need_tool(
        "node_exporter_scrapes_textfiles_of_two_services_and_the_host",
        "prometheus-node-exporter",
        &["--version"],
        "apt-get install prometheus-node-exporter",
    );
    let dir = tempfile::tempdir().unwrap();
    let web = named_sleeper(dir.path(), "pt-ne-web", 1024, 4096);
    let db_name = uniq("pt-nedb-");
    let db = named_sleeper(dir.path(), &db_name, 2048, 4096);
    let sc = fake_systemctl(dir.path(), web.0.id());
    let tf = dir.path().join("textfiles");
    std::fs::create_dir(&tf).unwrap();
    let env = [("PORTTUNE_SYSTEMCTL", sc.to_str().unwrap())];
    for (file, args) in [
        ("host.prom", vec!["check", "--format", "prometheus"]),
        (
            "web.prom",
            vec!["check", "--format", "prometheus", "--unit", "web"],
        ),
        (
            "db.prom",
            vec!["check", "--format", "prometheus", "--process", &db_name],
        ),
    ] {
        std::fs::write(tf.join(file), run(&args, &env).stdout).unwrap();
    }
    // The exporter runs in a private network namespace, bounded in time, killed by its PID.
    let script = format!(
        "prometheus-node-exporter --collector.disable-defaults --collector.textfile \
         --collector.textfile.directory={} --web.listen-address=127.0.0.1:19100 \
         >/dev/null 2>&1 &\nNE=$!\ntrap 'kill $NE' EXIT\n\
         for i in $(seq 50); do python3 -c \"import urllib.request as u; print(u.urlopen('http://127.0.0.1:19100/metrics', timeout=2).read().decode())\" 2>/dev/null && exit 0; sleep 0.1; done\nexit 98",
        common::sh_quote(tf.to_str().unwrap())
    );
    let out = common::netns_sh(&script);
    let text = stdout(&out);
    assert!(
        out.status.success(),
        "{}\n{text}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("node_textfile_scrape_error 0"), "{text}");
    for want in [
        "target=\"host\"".to_string(),
        format!("pid=\"{}\"", web.0.id()),
        format!("pid=\"{}\"", db.0.id()),
        "unit=\"web.service\"".to_string(),
    ] {
        assert!(
            text.lines()
                .any(|l| l.starts_with("porttune_ceiling_connections") && l.contains(&want)),
            "{want} missing from the scrape:\n{text}"
        );
    }
    assert!(!text.contains("collected before"), "{text}");
}

#[test]
#[ignore = "needs root and unshare -n"]
fn doctor_tells_the_truth_in_a_child_network_namespace() {
    common::need_root("doctor_tells_the_truth_in_a_child_network_namespace");
    let out = common::netns_porttune(&[], &["doctor", "--format", "json"]);
    let v = common::json(&out);
    let f = v["findings"].as_array().unwrap();
    let find = |what: &str| {
        f.iter()
            .find(|x| x["what"].as_str().unwrap().contains(what))
            .unwrap_or_else(|| panic!("{what} missing: {v}"))
    };
    let net = find("write net.*");
    assert_eq!(net["can"], true, "root in its own namespace: {v}");
    // The answers are tested on the files: compare with opening the file for writing (nothing
    // is written) in another fresh namespace.
    let ct = find("nf_conntrack_max");
    let writable = Command::new("unshare")
        .args([
            "-n",
            "python3",
            "-c",
            "open('/proc/sys/net/netfilter/nf_conntrack_max', 'w')",
        ])
        .status()
        .unwrap()
        .success();
    assert_eq!(ct["can"], writable, "{v}");
    if v["context"]["initial_netns"] == false {
        assert!(
            net["why"].as_str().unwrap().contains("child namespace"),
            "{v}"
        );
    }
    let missing = f.iter().any(|x| x["needed"] == true && x["can"] == false);
    assert_eq!(out.status.code(), Some(i32::from(missing)), "{v}");
    let bad = run(&["doctor", "--format", "prometheus"], &[]);
    assert_eq!(
        bad.status.code(),
        Some(2),
        "doctor offers only text and json"
    );
}

/// Colour follows one switch in every command: off when piped, on with CLICOLOR_FORCE, and
/// NO_COLOR wins over both.
#[test]
fn colour_is_consistent_across_commands() {
    let snap = fixture("linux-defaults.yaml");
    let cmds: [&[&str]; 3] = [
        &["check", "--from", &snap],
        &["plan", "production"],
        &["doctor"],
    ];
    for args in cmds {
        let piped = stdout(&run(args, &[]));
        assert!(!piped.contains('\u{1b}'), "{args:?} piped:\n{piped}");
        let forced = stdout(&run(args, &[("CLICOLOR_FORCE", "1")]));
        assert!(forced.contains('\u{1b}'), "{args:?} forced:\n{forced}");
        let no = stdout(&run(args, &[("CLICOLOR_FORCE", "1"), ("NO_COLOR", "1")]));
        assert!(!no.contains('\u{1b}'), "{args:?} NO_COLOR:\n{no}");
    }
}

/// In a child network namespace, as root, a key the kernel makes read-only there is refused
/// with that cause (not "needs root"); --skip and `optional: true` leave it out.
#[test]
#[ignore = "needs root and unshare -n"]
fn apply_names_the_real_cause_and_skips() {
    common::need_root("apply_names_the_real_cause_and_skips");
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().display();
    let cur: u64 = std::fs::read_to_string("/proc/sys/net/core/rmem_max")
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let prof = |optional: bool| {
        format!(
            "name: ro-test\npersist: false\nsysctl:\n  net.core.rmem_max: {{min: {}, optional: {optional}}}\n  net.core.somaxconn: 1234\n",
            cur + 1
        )
    };
    std::fs::write(dir.path().join("strict.yaml"), prof(false)).unwrap();
    std::fs::write(dir.path().join("optional.yaml"), prof(true)).unwrap();
    let script = format!(
        "set +e\n\
         \"$PORTTUNE\" apply {d}/strict.yaml --yes --state-dir {d}/s1 2> {d}/strict.err; echo $? > {d}/strict.rc\n\
         \"$PORTTUNE\" apply {d}/strict.yaml --yes --skip net.core.rmem_max --state-dir {d}/s2 > /dev/null 2>&1; echo $? > {d}/skip.rc\n\
         \"$PORTTUNE\" apply {d}/optional.yaml --yes --format json --state-dir {d}/s3 > {d}/optional.json 2>&1; echo $? > {d}/optional.rc\n\
         \"$PORTTUNE\" apply {d}/strict.yaml --yes --skip nope.key --state-dir {d}/s4 > /dev/null 2>&1; echo $? > {d}/bad.rc\n\
         cat /proc/sys/net/core/somaxconn > {d}/somaxconn"
    );
    let out = common::netns_sh(&script);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let read = |f: &str| std::fs::read_to_string(dir.path().join(f)).unwrap();
    let err = read("strict.err");
    assert_eq!(read("strict.rc").trim(), "1", "{err}");
    assert!(err.contains("read-only in this network namespace"), "{err}");
    assert!(err.contains("--skip net.core.rmem_max"), "{err}");
    assert!(!err.contains("needs root (CAP_SYS_ADMIN)\n"), "{err}");
    assert_eq!(read("skip.rc").trim(), "0");
    assert_eq!(read("optional.rc").trim(), "0", "{}", read("optional.json"));
    let v: serde_json::Value = serde_json::from_str(&read("optional.json")).unwrap();
    let skipped = v["skipped"].to_string();
    assert!(
        skipped.contains("net.core.rmem_max")
            && skipped.contains("read-only in this network namespace"),
        "{v}"
    );
    assert_eq!(read("bad.rc").trim(), "2");
    assert_eq!(
        read("somaxconn").trim(),
        "1234",
        "the other key was applied"
    );
}

/// `check --with P --require N` gates the what-if, not the current host.
#[test]
fn with_and_require_gate_the_what_if() {
    let snap = fixture("linux-defaults.yaml");
    let base = ["check", "--from", snap.as_str(), "--format", "json"];
    let now = run(&[&base[..], &["--require", "500000"]].concat(), &[]);
    assert_eq!(now.status.code(), Some(1), "1,024 fds today: below 500,000");
    assert_eq!(common::json(&now)["checks_for"], "host");
    let with = run(
        &[&base[..], &["--with", "production", "--require", "500000"]].concat(),
        &[],
    );
    let v = common::json(&with);
    assert_eq!(v["checks_for"], "with_profile", "{v}");
    let after = v["with_profile"]["after"]["ceiling"].as_u64().unwrap();
    assert!(after >= 500_000, "{v}");
    assert_eq!(
        with.status.code(),
        Some(0),
        "the what-if meets 500,000: {v}"
    );
    let too_much = run(
        &[
            &base[..],
            &[
                "--with",
                "production",
                "--require",
                &(after + 1).to_string(),
            ],
        ]
        .concat(),
        &[],
    );
    assert_eq!(
        too_much.status.code(),
        Some(1),
        "one above the what-if fails"
    );
}

/// `plan` warns when the widened port range covers a listening port or reserved ports.
#[test]
#[ignore = "needs root and unshare -n"]
fn plan_warns_about_listeners_and_reserved_ports_in_the_new_range() {
    common::need_root("plan_warns_about_listeners_and_reserved_ports_in_the_new_range");
    let script = format!(
        "{}\n{}\n\
         python3 -c \"import socket,time; s=socket.socket(); s.bind(('127.0.0.1',12345)); s.listen(); time.sleep(20)\" & srv=$!\n\
         trap 'kill $srv' EXIT\n\
         for i in $(seq 100); do grep -q ':3039 ' /proc/net/tcp && break; sleep 0.05; done\n\
         \"$PORTTUNE\" plan production --format json",
        common::sysctl_set("net.ipv4.ip_local_port_range", "40000 40999"),
        common::sysctl_set("net.ipv4.ip_local_reserved_ports", "20000-20009"),
    );
    let out = common::netns_sh(&script);
    let v = common::json(&out);
    let w = v["warnings"].to_string();
    assert!(w.contains("listen on here (12345)"), "{w}");
    assert!(w.contains("ip_local_reserved_ports = 12345"), "{w}");
    assert!(w.contains("10 reserved port(s)"), "{w}");
    assert!(
        w.contains("outgoing connections get 55286 of its 55296 ports"),
        "{w}"
    );
}

/// A man page per subcommand, each with options, exit status, environment and see-also, and
/// every page porttune(1) refers to exists.
#[test]
fn man_pages_per_subcommand() {
    let dir = tempfile::tempdir().unwrap();
    let o = run(&["man", "--dir", dir.path().to_str().unwrap()], &[]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let main = std::fs::read_to_string(dir.path().join("porttune.1")).unwrap();
    let mut referred = 0;
    for sub in [
        "check", "flood", "plan", "apply", "rollback", "profiles", "doctor",
    ] {
        assert!(
            main.contains(&format!("porttune\\-{sub}(1)")),
            "porttune.1 lacks {sub}"
        );
        let page = std::fs::read_to_string(dir.path().join(format!("porttune-{sub}.1")))
            .unwrap_or_else(|e| panic!("porttune-{sub}.1: {e}"));
        for section in ["OPTIONS", "EXIT STATUS", "ENVIRONMENT", "SEE ALSO"] {
            assert!(
                page.contains(&format!(".SH \"{section}\""))
                    || page.contains(&format!(".SH {section}")),
                "porttune-{sub}.1 lacks {section}"
            );
        }
        referred += 1;
    }
    assert_eq!(referred, 7);
    let apply = std::fs::read_to_string(dir.path().join("porttune-apply.1")).unwrap();
    assert!(apply.contains("PORTTUNE_STATE_DIR") && apply.contains("/var/lib/porttune"));
    assert!(
        apply.contains("\\-\\-skip"),
        "apply's options are on its page"
    );
    let one = stdout(&run(&["man", "check"], &[]));
    assert!(
        one.contains(".TH porttune-check") && one.contains("\\-\\-unit"),
        "{}",
        &one[..200.min(one.len())]
    );
}

/// bash completion offers bundled profile names after plan/apply/--with and check IDs after
/// --ignore (run through bash's own completion machinery).
#[test]
fn completions_offer_profiles_and_check_ids() {
    let script = stdout(&run(&["completions", "bash"], &[]));
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("porttune.bash");
    std::fs::write(&f, script).unwrap();
    let complete = |words: &str| {
        let n = words.split(' ').count() - 1;
        let sh = format!(
            "source {}\nCOMP_WORDS=({words})\nCOMP_CWORD={n}\nCOMP_LINE='{words}'\nCOMP_POINT=${{#COMP_LINE}}\n_porttune porttune \"${{COMP_WORDS[{n}]}}\" \"${{COMP_WORDS[{p}]}}\"\nprintf '%s\\n' \"${{COMPREPLY[@]}}\"",
            f.display(),
            p = n - 1
        );
        let o = Command::new("bash").args(["-c", &sh]).output().unwrap();
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    for words in [
        "porttune plan pro",
        "porttune apply pro",
        "porttune check --with pro",
    ] {
        let got = complete(words);
        assert!(got.lines().any(|l| l == "production"), "{words}: {got}");
    }
    let got = complete("porttune check --ignore Soft");
    assert!(got.lines().any(|l| l == "SoftLimit1024"), "{got}");
}

/// The docs speak of porttune's users' hosts, not of the machine it was developed on.
#[test]
fn docs_are_free_of_development_details() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = vec![root.join("README.md")];
    let mut dirs: Vec<std::path::PathBuf> = ["docs", "examples", "profiles", "deploy"]
        .iter()
        .map(|d| root.join(d))
        .filter(|d| d.is_dir())
        .collect();
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(d).unwrap().flatten() {
            if e.path().is_dir() {
                dirs.push(e.path());
            } else {
                files.push(e.path());
            }
        }
    }
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        for bad in [
            "../shared",
            "/work/",
            "development machine",
            "this machine",
            "-fc-v",
        ] {
            assert!(!text.contains(bad), "{} mentions {bad:?}", f.display());
        }
    }
}

/// `flood --target` with --process/--pid: the prediction is for the process named; a name
/// that is not the listener's owner is said.
#[test]
#[ignore = "needs root and unshare -n"]
fn flood_target_with_a_named_process() {
    common::need_root("flood_target_with_a_named_process");
    let dir = tempfile::tempdir().unwrap();
    let py = dir.path().join("srv.py");
    std::fs::write(
        &py,
        "import ctypes, socket, sys, time\n\
         ctypes.CDLL(None).prctl(15, sys.argv[2].encode(), 0, 0, 0)\n\
         s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n\
         s.bind(('127.0.0.1', 8080)); s.listen(1024)\n\
         open(sys.argv[1], 'w').close()\n\
         conns = []\n\
         end = time.time() + 30\n\
         while time.time() < end:\n    c, _ = s.accept(); conns.append(c)\n",
    )
    .unwrap();
    let d = dir.path().display();
    let name = uniq("pt-fsrv-");
    let script = format!(
        "prlimit --nofile=400:400 python3 {py} {d}/ready {name} & srv=$!\n\
         trap 'kill $srv' EXIT\n\
         for i in $(seq 100); do [ -e {d}/ready ] && break; sleep 0.05; done\n\
         echo $srv > {d}/pid\n\
         \"$PORTTUNE\" flood --target 127.0.0.1:8080 --process {name} --max 100 --format json > {d}/a.json || true\n\
         \"$PORTTUNE\" flood --target 127.0.0.1:8080 --pid $$ --max 100 --format json > {d}/b.json || true",
        py = py.display()
    );
    let out = common::netns_sh(&script);
    let read = |f: &str| std::fs::read_to_string(dir.path().join(f)).unwrap_or_default();
    let all = format!(
        "{}\n{}\n{}",
        String::from_utf8_lossy(&out.stderr),
        read("a.json"),
        read("b.json")
    );
    let srv: u32 = read("pid").trim().parse().expect(&all);
    let a: serde_json::Value = serde_json::from_str(&read("a.json")).expect(&all);
    assert_eq!(a["target"]["pid"], srv, "{all}");
    assert_eq!(a["target"]["command"], name.as_str(), "{all}");
    let ceiling = a["prediction"]["ceiling"].as_u64().expect(&all);
    assert!(
        ceiling < 400,
        "predicted from the server's soft limit 400: {ceiling}\n{all}"
    );
    let b: serde_json::Value = serde_json::from_str(&read("b.json")).expect(&all);
    assert!(
        b["warnings"]
            .to_string()
            .contains(&format!("belongs to PID {srv}")),
        "{all}"
    );
}

/// The textfile unit's own command, run as systemd would for the instances `web` and `host`:
/// each writes its file with its identity; a unit without a main process leaves the old file.
#[test]
fn textfile_unit_command_writes_one_file_per_instance() {
    let root = env!("CARGO_MANIFEST_DIR");
    let unit =
        std::fs::read_to_string(format!("{root}/examples/porttune-textfile@.service")).unwrap();
    let exec = unit
        .lines()
        .find_map(|l| l.strip_prefix("ExecStart=/bin/sh -c '"))
        .and_then(|l| l.strip_suffix('\''))
        .expect("ExecStart=/bin/sh -c '…'");
    let dir = tempfile::tempdir().unwrap();
    let web = named_sleeper(dir.path(), "pt-tf-web", 1024, 4096);
    let sc = fake_systemctl(dir.path(), web.0.id());
    let tf = dir.path().join("tf");
    std::fs::create_dir(&tf).unwrap();
    let bin = common::bin();
    let sh = |instance: &str| {
        let cmd = exec
            .replace("%i", instance)
            .replace("/usr/local/bin/porttune", bin.to_str().unwrap());
        Command::new("sh")
            .args(["-c", &cmd])
            .env("TEXTFILE_DIR", &tf)
            .env("PORTTUNE_SYSTEMCTL", &sc)
            .status()
            .unwrap()
    };
    sh("web");
    sh("host");
    let webf = std::fs::read_to_string(tf.join("porttune-web.prom")).unwrap();
    assert!(
        webf.contains(&format!(
            "unit=\"web.service\",comm=\"pt-tf-web\",pid=\"{}\"",
            web.0.id()
        )),
        "{webf}"
    );
    let hostf = std::fs::read_to_string(tf.join("porttune-host.prom")).unwrap();
    assert!(hostf.contains("target=\"host\""), "{hostf}");
    // The unit stops: systemctl reports no main process; the last file stays.
    let stopped = fake_systemctl(dir.path(), 0);
    let cmd = exec
        .replace("%i", "web")
        .replace("/usr/local/bin/porttune", bin.to_str().unwrap());
    let st = Command::new("sh")
        .args(["-c", &cmd])
        .env("TEXTFILE_DIR", &tf)
        .env("PORTTUNE_SYSTEMCTL", &stopped)
        .status()
        .unwrap();
    assert!(!st.success());
    assert_eq!(
        std::fs::read_to_string(tf.join("porttune-web.prom")).unwrap(),
        webf
    );
}

/// `plan` wraps its explanations at 80 columns when piped (a key line stays whole).
#[test]
fn plan_is_wrapped_at_80_columns() {
    let text = stdout(&run(
        &["plan", "production", "--root", "/nonexistent-root"],
        &[],
    ));
    assert!(
        text.contains("change(s)") || text.contains("No changes"),
        "{text}"
    );
    for line in text
        .lines()
        .filter(|l| !(l.starts_with("  ") && l.contains(" → ") && !l.starts_with("   ")))
    {
        assert!(
            line.chars().count() <= 80,
            "{} columns:\n{line}\n{text}",
            line.chars().count()
        );
    }
}

/// On a terminal (a pty from script(1)) the report follows its width (60 columns here), and
/// is coloured; NO_COLOR turns the colour off there too.
#[test]
#[ignore = "needs script (util-linux)"]
fn on_a_terminal_the_width_and_colour_follow_it() {
    common::need_tool(
        "on_a_terminal_the_width_and_colour_follow_it",
        "script",
        &["--version"],
        "apt-get install util-linux",
    );
    let snap = fixture("linux-defaults.yaml");
    let pty = |env: &str| {
        let cmd = format!(
            "stty rows 40 cols 60; {env} {} check --from {snap}",
            common::bin().display()
        );
        let o = Command::new("script")
            .args(["-qc", &cmd, "/dev/null"])
            .env_remove("NO_COLOR")
            .env_remove("CLICOLOR_FORCE")
            .output()
            .unwrap();
        String::from_utf8_lossy(&o.stdout).replace('\r', "")
    };
    let coloured = pty("");
    assert!(
        coloured.contains('\u{1b}'),
        "colour on a terminal:\n{coloured}"
    );
    let plain = pty("NO_COLOR=1");
    assert!(!plain.contains('\u{1b}'), "{plain}");
    assert!(plain.contains("Ladder"), "{plain}");
    for line in plain.lines() {
        assert!(
            line.chars().count() <= 60,
            "{} columns:\n{line}\n{plain}",
            line.chars().count()
        );
    }
}
