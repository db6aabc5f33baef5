//! One test per ceiling function not covered by tests/model.rs: tasks (RLIMIT_NPROC, cgroup
//! pids, threads-max, root's exemption), Node's raise on Linux, conntrack present but inactive,
//! memory from a cgroup, and the processes multiplier. Expected values by hand from the formulas
//! in docs/model.md.

use porttune::model::{Scenario, ScenarioKind, names::*, predict};
use porttune::snapshot::{self, Cgroup, Conntrack, Limit, Rlim, RuntimeKind, Snapshot};

fn defaults() -> Snapshot {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/snapshots/linux-defaults.yaml");
    snapshot::load(&p).unwrap()
}

fn inbound() -> Scenario {
    Scenario::new(ScenarioKind::Inbound)
}

#[test]
fn tasks_for_thread_per_connection() {
    let mut s = defaults();
    s.process.nproc = Some(Limit {
        soft: Rlim::Value(4096),
        hard: Rlim::Value(4096),
    });
    s.process.threads = Some(96);
    s.memory.threads_max = Some(200_000);
    let mut sc = inbound();
    assert!(
        predict(&s, &sc).get(TASKS).is_none(),
        "event-driven by default"
    );
    sc.threads_per_conn = 2;
    let p = predict(&s, &sc);
    // RLIMIT_NPROC 4096 − 96 threads, 2 threads per connection.
    assert_eq!(p.get(TASKS).unwrap().value, (4096 - 96) / 2);
    // A cgroup with pids.max 500 (300 used) binds harder: (500 − 300) / 2.
    s.process.cgroup = Cgroup {
        pids_max: Some(500),
        pids_current: Some(300),
        ..Cgroup::default()
    };
    assert_eq!(predict(&s, &sc).get(TASKS).unwrap().value, 100);
    // Root is exempt from RLIMIT_NPROC, not from the cgroup.
    s.process.cgroup = Cgroup::default();
    s.process.caps.sys_resource = true;
    assert_eq!(
        predict(&s, &sc).get(TASKS).unwrap().value,
        (200_000 - 96) / 2,
        "kernel.threads-max is next"
    );
    // Two processes: per-process room counts twice.
    sc.processes = 2;
    assert_eq!(
        predict(&s, &sc).get(TASKS).unwrap().value,
        (200_000 - 96) / 2 * 2
    );
}

#[test]
fn node_raises_soft_to_hard_on_linux() {
    let mut s = defaults();
    s.runtime.kind = RuntimeKind::Node;
    // Soft 1024, hard 524288, a process about to start: Node raises to the hard limit.
    let p = predict(&s, &inbound());
    assert_eq!(p.get(PROCESS_FDS).unwrap().value, 524_288 - 3);
    // An unlimited hard limit on Linux is fs.nr_open; Node stops at 1048576 anyway.
    s.process.nofile.hard = Rlim::Unlimited;
    s.fs.nr_open = Some(4_000_000);
    assert_eq!(
        predict(&s, &inbound()).get(PROCESS_FDS).unwrap().value,
        1_048_576 - 3
    );
    // A running Node (not porttune itself) already shows its limit.
    s.process.is_self = false;
    assert_eq!(
        predict(&s, &inbound()).get(PROCESS_FDS).unwrap().value,
        1024 - 3
    );
}

#[test]
fn conntrack_loaded_but_inactive() {
    let mut s = defaults();
    s.net.conntrack = Some(Conntrack {
        active: false,
        max: Some(1000),
        count: Some(0),
    });
    let p = predict(&s, &inbound());
    assert!(p.get(CONNTRACK).is_none());
    let na = p
        .not_applicable
        .iter()
        .find(|n| n.name == CONNTRACK)
        .unwrap();
    assert!(na.why.contains("no connections are tracked"), "{}", na.why);
    s.net.conntrack.as_mut().unwrap().active = true;
    assert_eq!(predict(&s, &inbound()).get(CONNTRACK).unwrap().value, 1000);
}

#[test]
fn memory_from_the_cgroup_when_lower() {
    let mut s = defaults();
    s.process.cgroup = Cgroup {
        memory_max: Some(1 << 30),
        memory_current: Some(256 << 20),
        ..Cgroup::default()
    };
    let p = predict(&s, &inbound());
    let m = p.get(MEMORY).unwrap();
    assert!(!m.exact);
    assert_eq!(m.value, (768u64 << 20) / 3712);
    assert!(m.why.contains("cgroup memory.max"), "{}", m.why);
    // Loopback: two sockets per connection.
    let l = predict(&s, &Scenario::new(ScenarioKind::Loopback));
    assert_eq!(l.get(MEMORY).unwrap().value, (768u64 << 20) / (2 * 3712));
}

#[test]
fn processes_multiply_per_process_ceilings_only() {
    let s = defaults();
    let mut sc = Scenario::new(ScenarioKind::Outbound);
    let one = predict(&s, &sc);
    sc.processes = 4;
    let four = predict(&s, &sc);
    assert_eq!(
        four.get(PROCESS_FDS).unwrap().value,
        one.get(PROCESS_FDS).unwrap().value * 4
    );
    assert_eq!(
        four.get(EPHEMERAL_PORTS).unwrap().value,
        one.get(EPHEMERAL_PORTS).unwrap().value,
        "ports are per namespace"
    );
    assert_eq!(
        four.get(SYSTEM_FILES).unwrap().value,
        one.get(SYSTEM_FILES).unwrap().value,
        "file-max is per host"
    );
}
