//! Property-based tests: every parser of outside text (profiles, snapshots, journals, nginx,
//! HAProxy, PostgreSQL, MySQL and the catalog's server configurations, Redis and HAProxy
//! answers, vm.args, kernel log lines, `systemctl show`, `explain` input) never panics on
//! arbitrary input, finishes in bounded time on large input, and round-trips or fails
//! cleanly, with errors that quote no value it refused; and the model's arithmetic never
//! overflows (tests build with overflow checks, so a wrapping product panics here) whatever
//! numbers a snapshot holds and whatever scenario the command line allows.

use std::path::Path;

use porttune::model::{self, Scenario, ScenarioKind};
use porttune::snapshot::Snapshot;
use proptest::prelude::*;

fn fixtures() -> Vec<Snapshot> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/snapshots");
    let mut v: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .collect();
    v.sort();
    v.iter()
        .map(|p| porttune::snapshot::file::load(p).unwrap())
        .collect()
}

/// Numbers that break arithmetic: the edges, and anything.
fn edge_u64() -> impl Strategy<Value = u64> {
    prop_oneof![
        Just(0u64),
        Just(1),
        Just(2),
        Just(u64::from(u16::MAX)),
        Just(u64::from(u32::MAX)),
        Just(i64::MAX as u64),
        Just(u64::MAX),
        Just(u64::MAX - 1),
        any::<u64>(),
        0u64..100_000,
    ]
}

/// Replace the `n`-th numeric leaf (modulo their count) of `v` with `x`.
fn set_leaf(v: &mut serde_json::Value, n: usize, x: u64) {
    fn leaves<'a>(v: &'a mut serde_json::Value, out: &mut Vec<&'a mut serde_json::Value>) {
        match v {
            serde_json::Value::Number(_) => out.push(v),
            serde_json::Value::Array(a) => a.iter_mut().for_each(|e| leaves(e, out)),
            serde_json::Value::Object(o) => o.values_mut().for_each(|e| leaves(e, out)),
            _ => {}
        }
    }
    let mut all = Vec::new();
    leaves(v, &mut all);
    let len = all.len();
    if len > 0 {
        *all[n % len] = serde_json::Value::from(x);
    }
}

fn scenario() -> impl Strategy<Value = Scenario> {
    (
        prop_oneof![
            Just(ScenarioKind::Inbound),
            Just(ScenarioKind::Outbound),
            Just(ScenarioKind::Loopback)
        ],
        1..=porttune::cli::MAX_DESTINATIONS,
        1..=porttune::cli::MAX_SOURCE_IPS,
        any::<bool>(),
        1u64..=65535,
        0u64..=65535,
        1..=porttune::cli::MAX_PROCESSES,
        0..=porttune::cli::MAX_PER_CONN,
        0..=porttune::cli::MAX_PER_CONN,
        (
            any::<bool>(),
            proptest::option::of(0u64..=i32::MAX as u64),
            any::<bool>(),
        ),
    )
        .prop_map(
            |(kind, dest, src, bbc, lp, lpr, procs, ppc, tpc, (paused, backlog, churn))| {
                let mut s = Scenario::new(kind);
                s.destinations = dest;
                s.source_ips = src;
                s.bind_before_connect = bbc;
                s.listen_ports = lp;
                s.listen_ports_in_range = lpr;
                s.processes = procs;
                s.procs_per_conn = ppc;
                s.threads_per_conn = tpc;
                s.acceptor_paused = paused;
                s.backlog = backlog;
                s.churn = churn;
                s
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Any numbers in a snapshot (as `--from` may load them), any allowed scenario: the model
    /// answers without overflowing, and the ceiling is the minimum of its ladder.
    #[test]
    fn model_arithmetic_never_overflows(
        which in 0usize..64,
        edits in proptest::collection::vec((0usize..4096, edge_u64()), 1..8),
        sc in scenario(),
    ) {
        let all = fixtures();
        let base = &all[which % all.len()];
        let mut v = serde_json::to_value(base).unwrap();
        for (n, x) in &edits {
            set_leaf(&mut v, *n, *x);
        }
        // Numbers that do not fit their field, or that no host has, are refused by the
        // loader (exit 2); the property is about every snapshot it accepts.
        let snap: Snapshot = match serde_json::from_value(v) {
            Ok(s) => s,
            Err(_) => return Ok(()),
        };
        if porttune::snapshot::file::check_bounds(&snap).is_err() {
            let text = serde_json::to_string(&snap).unwrap();
            prop_assert!(porttune::snapshot::file::parse(&text, Path::new("s.json")).is_err());
            return Ok(());
        }
        let p = model::predict(&snap, &sc);
        if let Some(min) = p.ceilings.iter().map(|c| c.value).min() {
            match &p.range {
                // Nothing assumed moves it: the ceiling is the minimum of the ladder.
                None => prop_assert_eq!(p.ceiling, min),
                // A conditional rung may sit below the headline; the range starts at or below
                // it, and the headline is a rung of the ladder.
                Some(r) => {
                    prop_assert!(r.low <= min, "{:?} {min}", r);
                    prop_assert!(p.ceilings.iter().any(|c| c.value == p.ceiling));
                }
            }
        }
        let text = porttune::render::json::check(&porttune::render::CheckReport {
            snapshot: &snap,
            prediction: &p,
            with_profile: None,
            checks: &model::checks::run(&snap, &p, &Default::default()),
            source: "proptest".into(),
        });
        prop_assert!(!text.is_empty());
    }

    /// Snapshot text: never a panic, errors name the file.
    #[test]
    fn snapshot_parser_never_panics(text in ".{0,400}", yaml in any::<bool>()) {
        let path = Path::new(if yaml { "s.yaml" } else { "s.json" });
        if let Err(e) = porttune::snapshot::file::parse(&text, path) {
            prop_assert!(e.to_string().contains("s."));
        }
    }

    /// Profile text (YAML-ish fragments and noise): never a panic; what loads passes the
    /// value checks again.
    #[test]
    fn profile_parser_never_panics(
        parts in proptest::collection::vec(prop_oneof![
            Just("name: p\n".to_string()),
            Just("sysctl:\n".to_string()),
            Just("  net.core.somaxconn: ".to_string()),
            Just("  net.ipv4.ip_local_port_range: ".to_string()),
            Just("limits:\n  nofile: ".to_string()),
            Just("  targets: [pam]\n".to_string()),
            Just("extends: [base]\n".to_string()),
            Just("require:\n  connections: ".to_string()),
            Just("&a [*a]\n".to_string()),
            "[0-9+\\- ]{0,12}\n",
            ".{0,20}",
        ], 0..12),
    ) {
        let text = parts.concat();
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("p.yaml");
        std::fs::write(&p, &text).unwrap();
        if let Ok(prof) = porttune::profile::load(p.to_str().unwrap()) {
            for (k, e) in &prof.sysctl {
                if let porttune::profile::schema::SysctlOp::Set(v) = &e.op {
                    prop_assert!(porttune::profile::validate::check_value(k, v, Some(0)).is_ok());
                }
            }
        }
    }

    /// nginx configuration text: never a panic; worker numbers stay within C ints.
    #[test]
    fn nginx_parser_never_panics(
        parts in proptest::collection::vec(prop_oneof![
            Just("worker_processes ".to_string()),
            Just("worker_connections ".to_string()),
            Just("worker_rlimit_nofile ".to_string()),
            Just("events {".to_string()),
            Just("}".to_string()),
            Just(";".to_string()),
            Just("auto".to_string()),
            "[0-9]{1,25}",
            ".{0,10}",
        ], 0..16),
        cpus in 0u64..1024,
    ) {
        let text = parts.concat();
        if let Ok(n) = porttune::snapshot::runtime::nginx::parse(&text, "nginx.conf", cpus) {
            prop_assert!(n.worker_connections <= i32::MAX as u64);
            prop_assert!(n.worker_rlimit_nofile.unwrap_or(0) <= i32::MAX as u64);
        }
    }

    /// vm.args: the words never panic; editing +Q/+P is idempotent, keeps every other line,
    /// and leaves exactly one +Q line.
    #[test]
    fn vm_args_edit_is_idempotent(
        lines in proptest::collection::vec(prop_oneof![
            Just("+Q 1024".to_string()),
            Just("  +Q 65536".to_string()),
            Just("+P 2048".to_string()),
            Just("-name a@b".to_string()),
            Just("## comment".to_string()),
            Just("+Qfoo".to_string()),
            ".{0,16}",
        ], 0..10),
        q in 1024u64..=134_217_727,
    ) {
        let old = lines.join("\n");
        let _ = porttune::snapshot::runtime::erlang::vm_args_words(&old);
        let once = porttune::plan::files::edit_vm_args(Some(&old), Some(q), None);
        let twice = porttune::plan::files::edit_vm_args(Some(&once), Some(q), None);
        prop_assert_eq!(&once, &twice);
        let qs = once
            .lines()
            .filter(|l| {
                let t = l.trim_start();
                t == "+Q" || t.starts_with("+Q ") || t.starts_with("+Q\t")
            })
            .count();
        prop_assert_eq!(qs, 1);
        for l in old.lines() {
            let t = l.trim_start();
            if !(t == "+Q" || t.starts_with("+Q ") || t.starts_with("+Q\t")) {
                prop_assert!(once.contains(l));
            }
        }
    }
}

/// A value that must never be echoed: it is not a number, so every reader refuses it.
const MARK: &str = "S3CRETmark";

/// Configuration-like text: the given directive names, structure and noise, and the marker
/// as a value.
fn conf_text(words: &'static [&'static str]) -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop_oneof![
            proptest::sample::select(words).prop_map(str::to_string),
            Just(MARK.to_string()),
            Just("\n".to_string()),
            Just(" ".to_string()),
            Just("=".to_string()),
            Just("\"".to_string()),
            Just("#".to_string()),
            "[0-9]{1,22}",
            ".{0,12}",
        ],
        0..40,
    )
    .prop_map(|v| v.concat())
}

/// Whether `msg` echoes the marker other than as part of a file name an include gave
/// (file names are named; values never).
fn echoes(text: &str, msg: &str) -> bool {
    msg.contains(MARK)
        && !text
            .lines()
            .any(|l| l.to_lowercase().contains("include") && l.contains(MARK))
}

/// Files of one text (every include resolves to the same text, so includes recurse).
struct Same(String);

impl porttune::snapshot::runtime::postgres::Files for Same {
    fn read(&self, _path: &str) -> Result<String, String> {
        Ok(self.0.clone())
    }
    fn list(&self, _dir: &str) -> Result<Vec<String>, String> {
        Ok(vec!["a.cnf".into(), "b.conf".into()])
    }
}

/// Time allowed to one parse of at most a few hundred KiB: a guard against a parser that
/// loops or goes quadratic, not a measurement (bench/ measures).
const BOUND: std::time::Duration = std::time::Duration::from_secs(5);

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    /// HAProxy configuration: never a panic; an error names file and line, never the
    /// refused value.
    #[test]
    fn haproxy_parser_never_panics_nor_echoes(
        text in conf_text(&["global", "defaults", "frontend f", "backend b", "listen l",
            "maxconn", "fullconn", "nbthread", "ulimit-n", "bind :80", "bind 127.0.0.1:8",
            "stats socket /run/h.sock", "maxconnrate", "server s 127.0.0.1:1 maxconn"]),
    ) {
        match porttune::snapshot::runtime::haproxy::parse(&[("h.cfg".into(), text)]) {
            Ok(_) => {}
            Err(e) => {
                prop_assert_eq!(e.file.as_str(), "h.cfg");
                prop_assert!(!e.msg.contains(MARK), "{}", e.msg);
            }
        }
    }

    /// nginx: an error quotes no value it refused.
    #[test]
    fn nginx_errors_never_echo(
        text in conf_text(&["events {", "}", ";", "worker_connections", "worker_processes",
            "worker_rlimit_nofile", "http {", "server {", "listen", "include", "{"]),
    ) {
        if let Err(e) = porttune::snapshot::runtime::nginx::parse(&text, "nginx.conf", 4) {
            prop_assert!(!echoes(&text, &e.msg), "{}", e.msg);
        }
    }

    /// PostgreSQL: never a panic; errors quote no value. Includes of the same text recurse
    /// up to the bound, with a note.
    #[test]
    fn postgres_parser_never_panics_nor_echoes(
        text in conf_text(&["max_connections", "superuser_reserved_connections",
            "reserved_connections", "include", "include_dir", "include_if_exists", "'x.conf'",
            "= '", "'"]),
    ) {
        use porttune::snapshot::runtime::postgres;
        if let Err((_, m)) = postgres::parse_conf(&text) {
            prop_assert!(!m.contains(MARK), "{}", m);
        }
        let mut out = postgres::Loaded::default();
        let t = std::time::Instant::now();
        postgres::load(&Same(text.clone()), "/etc/pg.conf", true, 0, &mut out);
        prop_assert!(t.elapsed() < BOUND);
        for n in &out.notes {
            prop_assert!(!echoes(&text, n), "{}", n);
        }
    }

    /// MySQL option files (with !include / !includedir recursing): never a panic, notes
    /// quote no value.
    #[test]
    fn mysql_parser_never_panics_nor_echoes(
        text in conf_text(&["[mysqld]", "[client]", "[mariadb]", "max_connections",
            "max-connections", "open_files_limit", "thread_handling", "!include /x.cnf",
            "!includedir /d", "extra_max_connections", "="]),
    ) {
        use porttune::snapshot::runtime::mysql;
        let mut out = mysql::Loaded::default();
        let t = std::time::Instant::now();
        mysql::load(&Same(text.clone()), "/etc/my.cnf", true, 0, &mut out);
        prop_assert!(t.elapsed() < BOUND);
        for n in &out.notes {
            prop_assert!(!echoes(&text, n), "{}", n);
        }
    }

    /// The catalog's generic reader, for every server whose configuration is a file (Redis,
    /// Mosquitto, lighttpd, Apache, PgBouncer, RabbitMQ, memcached, …): never a panic, the
    /// includes (every one resolving to the same text) bounded, errors quoting no value.
    #[test]
    fn catalog_config_readers_never_panic(
        text in conf_text(&["maxclients", "max_connections", "max-connections",
            "server.max-connections", "server.max-fds", "MaxRequestWorkers", "ServerLimit",
            "ThreadsPerChild", "include", "Include", "IncludeOptional", "include_dir",
            "[pgbouncer]", "max_client_conn", "listeners.tcp.default", "{", "}", "<IfModule",
            ">", "</IfModule>", "port", "unixsocket"]),
    ) {
        use porttune::snapshot::runtime::{catalog, conf, entry};
        let cmdline = vec!["server".to_string()];
        let read = |_: &str| Ok(text.clone());
        let list = |_: &str| Ok(vec!["a.conf".to_string()]);
        let env = |_: &str| None;
        let t = entry::Target {
            cmdline: &cmdline,
            env: &env,
            cwd: Some("/".into()),
            read: &read,
            list: &list,
            config: None,
        };
        for e in catalog::ALL {
            if e.config.shape == entry::Shape::Flags {
                continue;
            }
            let start = std::time::Instant::now();
            if let Err(m) = conf::read_tree(&e.config, "/etc/x.conf", &t) {
                prop_assert!(!echoes(&text, &m), "{}: {}", e.name, m);
            }
            prop_assert!(start.elapsed() < BOUND, "{}", e.name);
        }
    }

    /// Erlang terms (RabbitMQ's advanced.config): never a panic, deep nesting bounded, an
    /// error says where, never what.
    #[test]
    fn erlang_terms_never_panic_nor_echo(
        text in proptest::collection::vec(prop_oneof![
            Just("[".to_string()), Just("]".to_string()), Just("{".to_string()),
            Just("}".to_string()), Just(",".to_string()), Just(".".to_string()),
            Just("rabbit".to_string()), Just("tcp_listen_options".to_string()),
            Just("\"".to_string()), Just("'".to_string()), Just("%".to_string()),
            Just("\n".to_string()), Just(MARK.to_string()),
            "[0-9]{1,22}", ".{0,8}",
        ], 0..60).prop_map(|v| v.concat()),
        depth in 0usize..3000,
    ) {
        use porttune::snapshot::runtime::erlang_terms::app_env;
        let deep = format!("{}{}{}.", "[".repeat(depth), text, "]".repeat(depth));
        for t in [&text, &deep] {
            let start = std::time::Instant::now();
            match app_env(t, "rabbit") {
                Ok(pairs) => {
                    for (k, _, _) in &pairs {
                        prop_assert!(t.contains(k.as_str()));
                    }
                }
                Err(m) => prop_assert!(!m.contains(MARK), "{}", m),
            }
            prop_assert!(start.elapsed() < BOUND);
        }
    }

    /// Server answers (Redis INFO, HAProxy show info) and `systemctl show` output: never a
    /// panic; a value read is one the text holds.
    #[test]
    fn server_answers_never_panic(
        text in proptest::collection::vec(prop_oneof![
            Just("maxclients:".to_string()),
            Just("Maxconn: ".to_string()),
            Just("Hard_maxconn: ".to_string()),
            Just("Ulimit-n: ".to_string()),
            Just("MainPID=".to_string()),
            Just("LimitNOFILE=".to_string()),
            Just("LimitNOFILESoft=".to_string()),
            Just("TasksMax=".to_string()),
            Just("infinity".to_string()),
            Just("\r\n".to_string()),
            Just("\n".to_string()),
            "[0-9]{1,22}",
            ".{0,10}",
        ], 0..30).prop_map(|v| v.concat()),
    ) {
        use porttune::snapshot::runtime::{haproxy, redis};
        if let Some(v) = redis::parse_info(&text) {
            prop_assert!(text.contains(&v.to_string()));
        }
        let _ = haproxy::parse_show_info(&text);
        let u = porttune::snapshot::unit::parse_show("x.service", text.as_bytes());
        if let Some(pid) = u.main_pid {
            prop_assert!(text.contains(&pid.to_string()));
        }
    }

    /// `explain` input: any text, long lines and many lines included, never panics and ends
    /// within the bound; every match quotes text from the input.
    #[test]
    fn explain_input_never_panics(
        parts in proptest::collection::vec(prop_oneof![
            Just("accept4() failed (24: Too many open files)".to_string()),
            Just("worker_connections are not enough".to_string()),
            Just("ERR max number of clients reached".to_string()),
            Just("FATAL: sorry, too many clients already".to_string()),
            Just("{error,emfile}".to_string()),
            Just("Too many connections".to_string()),
            Just("nf_conntrack: table full, dropping packet".to_string()),
            Just("\n".to_string()),
            "[0-9]{1,30}",
            ".{0,40}",
        ], 0..60),
        repeat in 1usize..200,
    ) {
        let text = parts.concat().repeat(repeat);
        let t = std::time::Instant::now();
        let entries = porttune::explain::explain(&text, None);
        prop_assert!(t.elapsed() < BOUND, "{:?} for {} bytes", t.elapsed(), text.len());
        prop_assert!(entries.len() <= text.lines().count().max(1) * 8);
    }

    /// Journals: mutated JSON never panics the loader; what loads passes its own entry
    /// checks (only porttune's files, only safe sysctls).
    #[test]
    fn journal_loader_never_panics(
        entries in proptest::collection::vec(prop_oneof![
            Just(r#"{"kind":"sysctl","key":"net.core.somaxconn","old":"4096","new":"8192"}"#.to_string()),
            Just(r#"{"kind":"sysctl","key":"kernel.core_pattern","old":"|/x","new":"core"}"#.to_string()),
            Just(r#"{"kind":"file","path":"/etc/sysctl.d/60-porttune-x.conf","old":null,"old_mode":420,"new":"x","mode":420}"#.to_string()),
            Just(r#"{"kind":"file","path":"/etc/passwd","old":"root::0:0","old_mode":420,"new":"x","mode":420}"#.to_string()),
            Just(r#"{"kind":"file","path":"/etc/sysctl.d/../../etc/shadow","old":"","old_mode":420,"new":"","mode":420}"#.to_string()),
            Just(r#"{"kind":"sysctl","key":"../../victim","old":"x","new":"y"}"#.to_string()),
            "\\{.{0,40}\\}",
        ], 0..6),
        head in prop_oneof![Just(0usize), Just(1), Just(2)],
    ) {
        let body = format!(
            r#"{{"version":1,"id":"20250101T000000Z-000000001-p","profile":"p","created":0,"state":"pending","sysctl_root":"/proc/sys","netns":null,"root":"/","entries":[{}]}}"#,
            entries.join(",")
        );
        let text = match head {
            0 => body.clone().into_bytes(),
            // cut anywhere, even inside a character
            1 => body.as_bytes()[..body.len() / 2].to_vec(),
            _ => body.replace("entries", "entrees").into_bytes(),
        };
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("j.json");
        std::fs::write(&p, text).unwrap();
        let safe = entries
            .iter()
            .all(|e| e.contains("somaxconn") || e.contains("60-porttune-x"));
        match porttune::apply::journal::Journal::load(&p) {
            Ok(j) => prop_assert!(j.check_entries().is_ok()),
            Err(e) => prop_assert!(!(head == 0 && safe), "a valid journal refused: {}", e),
        }
    }
}

/// The bundled fixture snapshots round-trip: saved as JSON or YAML and read back, the same
/// snapshot.
#[test]
fn snapshots_round_trip() {
    for s in fixtures() {
        for yaml in [false, true] {
            let text = porttune::snapshot::file::to_string(&s, yaml).unwrap();
            let path = Path::new(if yaml { "s.yaml" } else { "s.json" });
            let back = porttune::snapshot::file::parse(&text, path).unwrap();
            assert_eq!(back, s, "{}", if yaml { "yaml" } else { "json" });
        }
    }
}

/// The kernel log is read on Linux only.
#[cfg(target_os = "linux")]
mod kernel_log_lines {
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

        /// Kernel log lines in each format porttune reads (syslog(2) records, /dev/kmsg
        /// records, dmesg --time-format iso, journalctl -o short-iso): never a panic; the
        /// message kept is part of the line.
        #[test]
        fn kernel_log_lines_never_panic(
            line in prop_oneof![
                "<[0-9]{1,2}>\\[ *[0-9]{1,8}\\.[0-9]{1,6}\\] .{0,60}",
                "[0-9]{1,2},[0-9]{1,9},[0-9]{1,16},[-c];.{0,60}",
                "20[0-9]{2}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}[,.][0-9]{1,6}[+-][0-9]{2}:?[0-9]{2} .{0,60}",
                ".{0,120}",
            ],
            boot in proptest::option::of(any::<u64>()),
        ) {
            use porttune::snapshot::kernel_log as k;
            if let Some((_, msg)) = k::parse_syslog(&line) {
                prop_assert!(line.contains(msg));
            }
            for l in [k::parse_kmsg(&line, boot), k::parse_dmesg_iso(&line), k::parse_journal(&line)]
                .into_iter()
                .flatten()
            {
                prop_assert!(line.contains(l.text.trim()), "{:?} from {:?}", l.text, line);
            }
        }
    }
}
