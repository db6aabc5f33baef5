//! Model tests on fixture snapshots: ceiling, bottleneck and ladder order.

use porttune::model::{Scenario, ScenarioKind, names::*, predict};
use porttune::snapshot::{self, Snapshot};

fn fixture(name: &str) -> Snapshot {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/snapshots")
        .join(name);
    snapshot::load(&p).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn sc(kind: ScenarioKind) -> Scenario {
    Scenario::new(kind)
}

fn ladder(p: &porttune::model::Prediction) -> Vec<(porttune::model::CeilingName, u64)> {
    p.ceilings.iter().map(|c| (c.name, c.value)).collect()
}

#[test]
fn linux_defaults() {
    let s = fixture("linux-defaults.yaml");
    let p = predict(&s, &sc(ScenarioKind::Inbound));
    assert_eq!((p.ceiling, p.bottleneck), (1021, Some(PROCESS_FDS)));
    let l = ladder(&p);
    assert_eq!(l[0], (PROCESS_FDS, 1021));
    assert_eq!(l[1], (SYSTEM_FILES, 2466170 - 1200));
    assert_eq!(l[2].0, MEMORY);
    assert!(
        p.get(EPHEMERAL_PORTS).is_none(),
        "inbound uses no ephemeral ports"
    );

    let out = predict(&s, &sc(ScenarioKind::Outbound));
    assert_eq!(out.get(EPHEMERAL_PORTS).unwrap().value, 28232);
    assert_eq!(out.bottleneck, Some(PROCESS_FDS));

    // Loopback: 2 fds per connection, one listener.
    let lo = predict(&s, &sc(ScenarioKind::Loopback));
    assert_eq!(lo.get(PROCESS_FDS).unwrap().value, (1024 - 3 - 1) / 2);
    // Churn: tw_reuse=2 applies on loopback only.
    let mut churn = sc(ScenarioKind::Outbound);
    churn.churn = true;
    let r = predict(&s, &churn);
    assert!(
        (r.rates[0].per_second - 28232.0 / 60.0).abs() < 0.01,
        "{:?}",
        r.rates
    );
    let mut churn_lo = sc(ScenarioKind::Loopback);
    churn_lo.churn = true;
    let r = predict(&s, &churn_lo);
    assert!(
        (r.rates[0].per_second - 28232.0).abs() < 0.01,
        "{:?}",
        r.rates
    );
}

#[test]
fn tuned_server_ports_exact() {
    let s = fixture("tuned-server.yaml");
    let mut o = sc(ScenarioKind::Outbound);
    let p = predict(&s, &o);
    // 64512 ports − 11 reserved (8080, 9100-9109) − 2 bound (5432, 6379; 8080 already reserved).
    assert_eq!((p.ceiling, p.bottleneck), (64499, Some(EPHEMERAL_PORTS)));
    o.destinations = 4;
    assert_eq!(
        predict(&s, &o).get(EPHEMERAL_PORTS).unwrap().value,
        4 * 64499
    );
    o.bind_before_connect = true;
    o.source_ips = 2;
    assert_eq!(
        predict(&s, &o).get(EPHEMERAL_PORTS).unwrap().value,
        2 * 64499
    );
    // Inbound: the fd limit of the running process (not porttune's).
    let i = predict(&s, &sc(ScenarioKind::Inbound));
    assert_eq!(
        (i.ceiling, i.bottleneck),
        (1048576 - 120, Some(PROCESS_FDS))
    );
    // Processes multiply per-process ceilings only.
    let mut many = sc(ScenarioKind::Inbound);
    many.processes = 4;
    let m = predict(&s, &many);
    assert_eq!(m.get(PROCESS_FDS).unwrap().value, 4 * (1048576 - 120));
    assert_eq!(
        m.get(SYSTEM_FILES).unwrap().value,
        i.get(SYSTEM_FILES).unwrap().value
    );
}

#[test]
fn macos_host() {
    let s = fixture("macos.yaml");
    let p = predict(&s, &sc(ScenarioKind::Inbound));
    // Unlimited soft limit → kern.maxfilesperproc, a rung of its own.
    assert_eq!(
        (p.ceiling, p.bottleneck),
        (122880 - 3, Some(MAX_FILES_PER_PROC))
    );
    assert!(p.get(PROCESS_FDS).is_none(), "RLIMIT_NOFILE is unlimited");
    assert_eq!(p.get(SYSTEM_FILES).unwrap().value, 245760 - 9000);
    let mut o = sc(ScenarioKind::Outbound);
    o.churn = true;
    let p = predict(&s, &o);
    assert_eq!((p.ceiling, p.bottleneck), (16384, Some(EPHEMERAL_PORTS)));
    // TIME_WAIT = 2 × MSL = 30 s.
    assert!((p.rates[0].per_second - 16384.0 / 30.0).abs() < 0.01);
}

#[test]
fn erlang_node_with_q() {
    let s = fixture("erlang-node.yaml");
    let p = predict(&s, &sc(ScenarioKind::Loopback));
    assert_eq!(
        (p.ceiling, p.bottleneck),
        ((8192 - 3 - 1) / 2, Some(ERLANG_PORT_LIMIT))
    );
    let l = ladder(&p);
    assert_eq!(l[1], (PROCESS_FDS, (20000 - 19 - 1) / 2));
    assert_eq!(l[2], (ERLANG_MAX_FDS, (20000 - 19 - 1) / 2));
    assert_eq!(l[3], (EPHEMERAL_PORTS, 28232));
    let i = predict(&s, &sc(ScenarioKind::Inbound));
    assert_eq!(
        (i.ceiling, i.bottleneck),
        (8192 - 3, Some(ERLANG_PORT_LIMIT))
    );
    // The process table only when processes per connection are modelled.
    let mut np = sc(ScenarioKind::Inbound);
    np.procs_per_conn = 0;
    assert!(predict(&s, &np).get(ERLANG_PROCESS_LIMIT).is_none());
}

#[test]
fn erlang_boot_fds_lower_than_now() {
    let mut s = fixture("erlang-node.yaml");
    s.runtime
        .erlang
        .as_mut()
        .unwrap()
        .max_fds
        .as_mut()
        .unwrap()
        .value = 1024;
    let p = predict(&s, &sc(ScenarioKind::Inbound));
    assert_eq!((p.ceiling, p.bottleneck), (1024 - 19, Some(ERLANG_MAX_FDS)));
    let checks = porttune::model::checks::run(&s, &p, &Default::default());
    assert!(checks.iter().any(|c| c.id == "ErlangBootFds"), "{checks:?}");
}

#[test]
fn jvm_raises_soft_to_hard() {
    let s = fixture("jvm.yaml");
    let p = predict(&s, &sc(ScenarioKind::Inbound));
    assert_eq!((p.ceiling, p.bottleneck), (65536 - 3, Some(PROCESS_FDS)));
    // The same shell starting a native program keeps the soft limit.
    let mut native = s.clone();
    native.runtime.kind = porttune::snapshot::RuntimeKind::Native;
    assert_eq!(
        predict(&native, &sc(ScenarioKind::Inbound)).ceiling,
        1024 - 3
    );
}

#[test]
fn nginx_worker_connections() {
    let s = fixture("nginx.yaml");
    let p = predict(&s, &sc(ScenarioKind::Inbound));
    // proxying: (768 slots − 768/16 kept free) / 2 per worker under a burst, × 4 workers; up to
    // (768 − 1 listener (assumed: the snapshot does not say) − 1 channel) / 2 when slow
    assert_eq!(
        (p.ceiling, p.bottleneck),
        (4 * ((768 - 768 / 16) / 2), Some(NGINX_WORKER_CONNECTIONS))
    );
    let wc = p.get(NGINX_WORKER_CONNECTIONS).unwrap();
    assert!(!wc.exact);
    assert!(wc.why.contains("up to 383 per worker"), "{}", wc.why);
    // each worker's limit is worker_rlimit_nofile (not the master's soft 1024), minus the fds
    // an idle worker holds (7 + 1 listener), 2 fds per proxied connection
    assert_eq!(p.get(PROCESS_FDS).unwrap().value, 4 * ((65535 - 8) / 2));
    assert!(
        p.get(PROCESS_FDS)
            .unwrap()
            .lift
            .contains("worker_rlimit_nofile 131070;"),
        "{:?}",
        p.get(PROCESS_FDS)
    );
}

#[test]
fn conntrack_active() {
    let s = fixture("conntrack.yaml");
    let p = predict(&s, &sc(ScenarioKind::Inbound));
    assert_eq!(
        (p.ceiling, p.bottleneck),
        (262144 - 250000, Some(CONNTRACK))
    );
    assert!(
        p.not_applicable.iter().any(|n| n.name == SYSTEM_FILES),
        "root is exempt from file-max"
    );
    let l = ladder(&p);
    assert!(
        l.windows(2).all(|w| w[0].1 <= w[1].1),
        "ladder ascending: {l:?}"
    );
}

#[test]
fn accept_queue_when_paused() {
    let s = fixture("linux-defaults.yaml");
    let mut i = sc(ScenarioKind::Inbound);
    i.acceptor_paused = true;
    i.backlog = Some(511);
    let p = predict(&s, &i);
    assert_eq!((p.ceiling, p.bottleneck), (512, Some(ACCEPT_QUEUE)));
    i.backlog = Some(100_000);
    assert_eq!(predict(&s, &i).get(ACCEPT_QUEUE).unwrap().value, 4097);
}

#[test]
fn require_makes_errors_with_fixes() {
    let s = fixture("linux-defaults.yaml");
    let p = predict(&s, &sc(ScenarioKind::Inbound));
    let opts = porttune::model::checks::CheckOptions {
        require: Some(100_000),
        ..Default::default()
    };
    let c = porttune::model::checks::run(&s, &p, &opts);
    let fds = c
        .iter()
        .find(|c| c.id == "ProcessFds")
        .expect("ProcessFds error");
    assert!(
        fds.message.contains("1021") && fds.message.contains("100000"),
        "{}",
        fds.message
    );
    assert!(
        fds.message.contains("100003"),
        "fds needed = 100000 + 3 open: {}",
        fds.message
    );
    assert!(c.iter().any(|c| c.id == "Require"));
    // `--ignore all` leaves the --require gate on (tracker 21): its errors stay errors …
    let ign = porttune::model::checks::CheckOptions {
        require: Some(100_000),
        ignore: vec!["all".into()],
        ..Default::default()
    };
    let errors: Vec<String> = porttune::model::checks::run(&s, &p, &ign)
        .iter()
        .filter(|c| c.severity == porttune::model::checks::Severity::Error)
        .map(|c| c.id.to_string())
        .collect();
    assert_eq!(errors, ["ProcessFds", "Require"]);
    // … and only their own IDs demote them.
    let named = porttune::model::checks::CheckOptions {
        require: Some(100_000),
        ignore: vec!["all".into(), "processfds".into(), "Require".into()],
        ..Default::default()
    };
    assert!(
        porttune::model::checks::run(&s, &p, &named)
            .iter()
            .all(|c| c.severity != porttune::model::checks::Severity::Error)
    );
}

#[test]
fn container_says_what_belongs_where() {
    let mut s = fixture("linux-defaults.yaml");
    let p = predict(&s, &sc(ScenarioKind::Outbound));
    let none = porttune::model::checks::run(&s, &p, &Default::default());
    assert!(!none.iter().any(|c| c.id == "Container"));
    s.platform.container = Some("kubepods (PID 1 cgroup)".into());
    let c = porttune::model::checks::run(&s, &p, &Default::default());
    let m = &c
        .iter()
        .find(|c| c.id == "Container")
        .expect("Container check")
        .message;
    assert!(
        m.contains("net.ipv4.ip_local_port_range") && m.contains("fs.file-max"),
        "{m}"
    );
    assert!(porttune::model::knobs::is_per_netns("net.core.somaxconn"));
    assert!(!porttune::model::knobs::is_per_netns("fs.file-max"));
    assert!(!porttune::model::knobs::is_per_netns(
        "net.netfilter.nf_conntrack_max"
    ));
}

/// FdUsage and the textfile's ratio share one formula: fds open of (open + the process_fds
/// ceiling × fds per connection). On loopback (2 fds per connection) the usable fds are twice
/// the ceiling's connections, not once (the check used to add connections to fds).
#[test]
fn fd_usage_counts_fds_per_connection() {
    use porttune::model::checks::{CheckOptions, run};
    use porttune::model::{CheckId, usage};
    let mut s = fixture("linux-defaults.yaml");
    s.process.nofile.soft = porttune::snapshot::Rlim::Value(1000);
    s.process.open_fds = 450;
    let warn = |kind, warn_at| {
        let p = predict(&s, &sc(kind));
        let opts = CheckOptions {
            warn_at,
            ..CheckOptions::default()
        };
        let usable = usage::process_fds_usable(&s, &p).unwrap();
        let fired = run(&s, &p, &opts).iter().any(|c| c.id == CheckId::FdUsage);
        (
            usable,
            fired,
            usage::usage_ratio(&s, &p, PROCESS_FDS).unwrap(),
        )
    };
    // inbound: 550 connections left → 1000 usable; 450/1000 = 45 % ≥ 40 %
    let (usable, fired, ratio) = warn(ScenarioKind::Inbound, 40.0);
    assert_eq!((usable, fired), (1000, true));
    assert!((ratio - 0.45).abs() < 1e-9);
    // loopback: (1000 − 450 − 1 listener) / 2 = 274 connections → 450 + 548 = 998 usable:
    // 45 %, below a 50 % warning (connections added to fds gave 450 / 724 = 62 %)
    let (usable, fired, ratio) = warn(ScenarioKind::Loopback, 50.0);
    assert_eq!(usable, 998);
    assert!(!fired);
    assert!((ratio - 450.0 / 998.0).abs() < 1e-9);
}

/// "Lift the bottleneck and the next limit is …" on Linux counts everything the lift changes:
/// a node whose fd table erts sized at boot (4096) below its limit now (8192) is lifted by a
/// restart under a limit high enough to pass the port table; that resizes the table, so the
/// next limit is the port table (+Q 65536), not the process_fds rung the ladder shows next.
#[test]
fn next_limit_after_a_lift_on_linux_counts_what_the_lift_changes() {
    let mut s = fixture("erlang-node.yaml");
    s.process.nofile.soft = porttune::snapshot::Rlim::Value(8192);
    let er = s.runtime.erlang.as_mut().unwrap();
    er.max_fds.as_mut().unwrap().value = 4096;
    er.port_limit.as_mut().unwrap().value = 65536;
    let p = predict(&s, &sc(ScenarioKind::Inbound));
    assert_eq!(p.bottleneck, Some(ERLANG_MAX_FDS), "{:?}", ladder(&p));
    assert_eq!(
        p.next_after_bottleneck().map(|c| c.name),
        Some(PROCESS_FDS),
        "the ladder's next rung"
    );
    let n = p.next.as_ref().unwrap();
    assert_eq!((n.lifted, n.name), (ERLANG_MAX_FDS, ERLANG_PORT_LIMIT));
    assert_eq!(n.value, p.get(ERLANG_PORT_LIMIT).unwrap().value);
}
