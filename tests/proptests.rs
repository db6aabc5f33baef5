//! Property-based tests (issue 11): the profile, snapshot, nginx and vm.args parsers never
//! panic on arbitrary input, and the model's arithmetic never overflows (tests build with
//! overflow checks, so a wrapping product panics here) whatever numbers a snapshot holds
//! and whatever scenario the command line allows.

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
