//! macOS model tests on snapshot fixtures (tests/fixtures/snapshots/macos). Each expected value
//! is traced to its source in docs/model.md ("macOS"): xnu for the fd chain, ports, TIME_WAIT and
//! the listen queue; OTP for erts' fd table; the JDK for MaxFDLimit.

mod common;

use porttune::model::{Prediction, Scenario, ScenarioKind, names::*, predict};
use porttune::snapshot::{self, Rlim, Snapshot};

fn fixture(name: &str) -> Snapshot {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/snapshots/macos")
        .join(name);
    snapshot::load(&p).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn sc(kind: ScenarioKind) -> Scenario {
    Scenario::new(kind)
}

fn names(p: &Prediction) -> Vec<&str> {
    p.ceilings.iter().map(|c| c.name.as_str()).collect()
}

fn assert_native(p: &Prediction) {
    for c in &p.ceilings {
        common::linux_words::assert_none(c.name.as_str(), &format!("{}\n{}", c.why, c.lift));
        assert!(c.value < 1 << 62, "{}: {}", c.name, c.value);
    }
    for n in &p.not_applicable {
        common::linux_words::assert_none(n.name.as_str(), &n.why);
    }
}

/// The seed: OTP 27, `ulimit -n unlimited` on a Mac → erts sizes its fd table at 24,576 (OTP ≥
/// 23.2, erlang/otp#4431); both ends in the node: (24,576 − 54 fds − 1 listener) / 2 = 12,260,
/// within 0.5 % of the 12,261 observed. Next: the host-wide pool of 16,384 ports (xnu
/// in_pcbbind). `+Q 65536` is the default and cannot lift it.
fn assert_seed(p: &Prediction) {
    assert_eq!(p.bottleneck, Some(ERLANG_MAX_FDS), "{:#?}", p.ceilings);
    let off = (p.ceiling as f64 - 12_261.0).abs() / 12_261.0;
    assert!(
        off <= 0.005,
        "{} is {:.2}% off 12,261",
        p.ceiling,
        off * 100.0
    );
    assert_eq!(p.ceilings[1].name, EPHEMERAL_PORTS);
    assert_eq!(p.ceilings[1].value, 16_384);
    let lift = &p.ceilings[0].lift;
    assert!(lift.contains("+Q`/ERL_MAX_PORTS do not lift it"), "{lift}");
    assert!(lift.contains("ulimit -n "), "{lift}");
    // The finite limit suggested holds the next rung: 2 × 16,384 + 54 + 1 → 33,792.
    assert!(lift.contains("ulimit -n 33792"), "{lift}");
    assert!(p.ceilings[0].why.contains("24576"), "{}", p.ceilings[0].why);
    assert_eq!(
        p.get(ERLANG_PORT_LIMIT).unwrap().value,
        (65_536 - 4 - 1) / 2,
        "the port table is far above"
    );
    assert_native(p);
}

#[test]
fn seed_facts_only() {
    let s = fixture("seed-facts.yaml");
    assert!(s.runtime.erlang.as_ref().unwrap().max_fds.is_none());
    let p = predict(&s, &sc(ScenarioKind::Loopback));
    // Ports in use default to a bare node's 3 here: (65,536 − 3 − 1) / 2.
    assert_eq!(p.get(ERLANG_PORT_LIMIT).unwrap().value, 32_766);
    assert_eq!(p.bottleneck, Some(ERLANG_MAX_FDS));
    assert_eq!(p.ceiling, (24_576 - 54 - 1) / 2);
    assert_eq!(p.ceilings[1].name, EPHEMERAL_PORTS);
    assert_eq!(p.ceilings[1].value, 16_384);
    assert_native(&p);
}

#[test]
fn seed_as_probed_with_apple_rlim_infinity() {
    let s = fixture("seed-probed.json");
    assert_eq!(
        s.process.nofile.soft,
        Rlim::Unlimited,
        "2^63 − 1 is unlimited"
    );
    assert_eq!(s.process.nofile.hard, Rlim::Unlimited);
    assert_seed(&predict(&s, &sc(ScenarioKind::Loopback)));
}

#[test]
fn seed_saved_and_loaded_gives_the_same_answer() {
    let s = fixture("seed-probed.json");
    let dir = tempfile::tempdir().unwrap();
    for ext in ["yaml", "json"] {
        let path = dir.path().join(format!("seed.{ext}"));
        snapshot::save(&s, &path).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(!text.contains("9223372036854775807"), "{text}");
        let back = snapshot::load(&path).unwrap();
        assert_eq!(back, s);
        assert_seed(&predict(&back, &sc(ScenarioKind::Loopback)));
    }
}

/// A default Mac: launchd's 256 / unlimited. RLIMIT_NOFILE binds (256 − 3); the lift that works
/// now is `ulimit -n` up to kern.maxfilesperproc 61440, which is the next rung.
#[test]
fn default_mac() {
    let s = fixture("default-mac.yaml");
    let p = predict(&s, &sc(ScenarioKind::Inbound));
    assert_eq!((p.ceiling, p.bottleneck), (253, Some(PROCESS_FDS)));
    assert_eq!(names(&p)[1], MAX_FILES_PER_PROC);
    assert_eq!(p.ceilings[1].value, 61_440 - 3);
    let lift = &p.ceilings[0].lift;
    assert!(lift.contains("`ulimit -n 61440`"), "{lift}");
    assert!(lift.contains("launchctl limit maxfiles"), "{lift}");
    // kern.maxfiles − kern.num_files, root not exempt.
    assert_eq!(p.get(SYSTEM_FILES).unwrap().value, 122_880 - 3_900);
    assert_native(&p);
    // No HardLimitLocked for an unlimited hard limit.
    let checks = porttune::model::checks::run(&s, &p, &Default::default());
    assert!(
        !checks.iter().any(|c| c.id == "HardLimitLocked"),
        "{checks:?}"
    );
}

/// An older Mac (8 GiB): kern.maxfilesperproc 10240 binds with an unlimited soft limit.
#[test]
fn older_mac() {
    let s = fixture("older-mac.yaml");
    let p = predict(&s, &sc(ScenarioKind::Inbound));
    assert_eq!(
        (p.ceiling, p.bottleneck),
        (10_237, Some(MAX_FILES_PER_PROC))
    );
    assert!(p.get(PROCESS_FDS).is_none());
    let lift = &p.ceilings[0].lift;
    assert!(
        lift.contains("sudo sysctl -w kern.maxfilesperproc=65536 kern.maxfiles=131072"),
        "{lift}"
    );
    // Next: kern.maxfiles 12288 − 2000 open on the host.
    assert_eq!(p.ceilings[1].name, SYSTEM_FILES);
    assert_eq!(p.ceilings[1].value, 10_288);
    assert_native(&p);
}

/// Unknown values take the macOS defaults of the snapshot's kernel, and the output says so:
/// a 16 GiB Big Sur Mac (Darwin 20) scales OPEN_MAX + 2048 = 12,288 by 4 (49,152 files, 24,576
/// per process), a 16 GiB Mac on macOS 12 or later 3 × OPEN_MAX (122,880 and 61,440): xnu
/// `bsd/conf/param.c` before and from xnu-8019, `bsd_scale_setup`.
#[test]
fn unknown_values_assume_macos_defaults_by_kernel() {
    let mut s = fixture("older-mac.yaml");
    s.fs.maxfilesperproc = None;
    s.fs.file_max = None;
    s.net = Default::default();
    s.memory.mem_total_kb = Some(16 << 20);
    let mut o = sc(ScenarioKind::Outbound);
    o.churn = true;
    for (kernel, perproc, files) in [
        (Some("20.6.0"), 24_576, 49_152),
        (Some("19.6.0"), 24_576, 49_152),
        (Some("21.6.0"), 61_440, 122_880),
        (Some("24.1.0 (macOS 15.1)"), 61_440, 122_880),
        (None, 61_440, 122_880),
    ] {
        s.platform.kernel = kernel.map(String::from);
        let p = predict(&s, &o);
        assert_eq!(p.get(MAX_FILES_PER_PROC).unwrap().value, perproc - 3);
        assert_eq!(p.get(SYSTEM_FILES).unwrap().value, files - 2_000);
        assert_eq!(p.get(EPHEMERAL_PORTS).unwrap().value, 16_384);
        assert!((p.rates[0].per_second - 16_384.0 / 30.0).abs() < 0.01);
        let a = p.assumptions.join("\n");
        assert!(
            a.contains(&format!("kern.maxfilesperproc: assumed {perproc}")),
            "{a}"
        );
        assert!(
            a.contains(&format!("kern.maxfiles: assumed {files}")),
            "{a}"
        );
        if kernel.is_none() {
            assert!(a.contains("kernel version is unknown"), "{a}");
        }
        assert!(
            a.contains("net.inet.ip.portrange: assumed 49152 65535"),
            "{a}"
        );
        // Each with what reads it, and the rungs resting on them are conditional.
        let read_with = |k: &str| {
            p.inputs
                .iter()
                .find(|i| i.key == k)
                .and_then(|i| i.provenance.read_with())
                .map(str::to_string)
        };
        assert_eq!(
            read_with("kern.maxfilesperproc").as_deref(),
            Some("`sysctl kern.maxfilesperproc`")
        );
        assert!(p.get(MAX_FILES_PER_PROC).unwrap().conditional.is_some());
        assert_native(&p);
    }
}

/// A JVM on a Mac, JDK version unknown: before JDK-8324577 MaxFDLimit sets the soft limit to
/// OPEN_MAX (10240); the answer says both, and the lift names -XX:-MaxFDLimit.
#[test]
fn jvm_on_mac() {
    let mut s = fixture("jvm.yaml");
    let p = predict(&s, &sc(ScenarioKind::Inbound));
    assert_eq!((p.ceiling, p.bottleneck), (10_237, Some(PROCESS_FDS)));
    let c = &p.ceilings[0];
    assert!(c.why.contains("JDK-8324577"), "{}", c.why);
    assert!(c.why.contains("a fixed JDK raises it"), "{}", c.why);
    assert!(c.lift.contains("-XX:-MaxFDLimit"), "{}", c.lift);
    // The unknown version decides the headline: it is said under "Assumed".
    let a = p.assumptions.join("\n");
    assert!(
        a.contains("JDK version unknown: assumed one before the JDK-8324577 fix"),
        "{a}"
    );
    assert_native(&p);
    // A fixed JDK raises to the hard limit: kern.maxfilesperproc binds.
    s.runtime.version = Some("21.0.5".into());
    let p = predict(&s, &sc(ScenarioKind::Inbound));
    assert!(!p.assumptions.join("\n").contains("JDK version unknown"));
    assert_eq!(
        (p.ceiling, p.bottleneck),
        (61_437, Some(MAX_FILES_PER_PROC))
    );
    // An old one caps at 10240 even though the shell's soft limit is 65536.
    s.runtime.version = Some("17.0.2".into());
    assert_eq!(predict(&s, &sc(ScenarioKind::Inbound)).ceiling, 10_237);
    // -XX:-MaxFDLimit keeps the soft limit the shell set (65536): maxfilesperproc binds.
    s.process.cmdline = vec!["java".into(), "-XX:-MaxFDLimit".into()];
    let p = predict(&s, &sc(ScenarioKind::Inbound));
    assert_eq!(p.get(PROCESS_FDS).unwrap().value, 65_533);
    assert_eq!(p.bottleneck, Some(MAX_FILES_PER_PROC));
}

/// Node raises the soft limit; xnu caps the process at kern.maxfilesperproc.
#[test]
fn node_on_mac() {
    let s = fixture("node.yaml");
    let p = predict(&s, &sc(ScenarioKind::Inbound));
    assert_eq!(
        (p.ceiling, p.bottleneck),
        (61_437, Some(MAX_FILES_PER_PROC))
    );
    assert_eq!(p.get(PROCESS_FDS).unwrap().value, (1 << 20) - 3);
    assert_native(&p);
}

/// An outbound client to 4 destinations with MSL 15000: one host-wide pool of 16,384 ports (not
/// × 4, xnu in_pcbbind); churn 16,384 / (2 × 15 s) = 546/s.
#[test]
fn outbound_client_msl() {
    let s = fixture("client.yaml");
    let mut o = sc(ScenarioKind::Outbound);
    o.destinations = 4;
    o.churn = true;
    let p = predict(&s, &o);
    assert_eq!((p.ceiling, p.bottleneck), (16_384, Some(EPHEMERAL_PORTS)));
    assert_eq!(p.rates[0].per_second.floor(), 546.0);
    let r = &p.rates[0];
    assert!(r.why.contains("2 × net.inet.tcp.msl 15000"), "{}", r.why);
    assert!(r.lift.contains("net.inet.tcp.msl"), "{}", r.lift);
    assert!(r.lift.contains("trade-off"), "{}", r.lift);
    let c = &p.ceilings[0];
    assert_eq!(c.scope, "host");
    assert!(c.lift.contains("net.inet.ip.portrange.first"), "{}", c.lift);
    assert!(c.lift.contains("lo0 alias"), "{}", c.lift);
    // Explicit binds to 2 local addresses: two pools.
    o.source_ips = 2;
    assert_eq!(predict(&s, &o).get(EPHEMERAL_PORTS).unwrap().value, 32_768);
    assert_native(&p);
}

/// Ports the Mac's other sockets hold in the range (the probe reads them from
/// `net.inet.tcp.pcblist_n`) leave the host-wide pool for every destination: connect() on a
/// Mac skips a port any TCP socket holds (xnu `in_pcbbind` → `in_pcblookup_local`). A port
/// counts once; one outside the range not at all.
#[test]
fn ports_the_host_holds_leave_the_pool() {
    let mut s = fixture("client.yaml");
    s.net.bound_ports_in_range = vec![49152, 50000, 50000, 65535, 8080];
    let mut o = sc(ScenarioKind::Outbound);
    o.destinations = 4;
    let p = predict(&s, &o);
    let c = p.get(EPHEMERAL_PORTS).unwrap();
    assert_eq!(c.value, 16_384 - 3, "{}", c.why);
    assert!(
        c.why.contains("− 3 held by the host's TCP sockets"),
        "{}",
        c.why
    );
    assert_native(&p);
}

/// The port pool's lift never widens the range over the ports servers listen on (memcached
/// 11211, RabbitMQ 15672/25672, MongoDB 27017): from the default 49152 it goes down to 32768,
/// and a range that already starts there is not lowered further; a short range is raised to
/// 65535.
#[test]
fn ports_lift_stays_above_servers_ports() {
    let mut s = fixture("client.yaml");
    let lift = |s: &Snapshot| {
        predict(s, &sc(ScenarioKind::Outbound))
            .get(EPHEMERAL_PORTS)
            .unwrap()
            .lift
            .clone()
    };
    s.net.ip_local_port_range = Some(snapshot::PortRange {
        lo: 49152,
        hi: 65535,
    });
    let l = lift(&s);
    assert!(l.contains("net.inet.ip.portrange.first=32768"), "{l}");
    assert!(!l.contains("portrange.last"), "{l}");
    s.net.ip_local_port_range = Some(snapshot::PortRange {
        lo: 32768,
        hi: 60999,
    });
    let l = lift(&s);
    assert!(!l.contains("portrange.first="), "{l}");
    assert!(l.contains("already starts at 32768"), "{l}");
    assert!(l.contains("net.inet.ip.portrange.last=65535"), "{l}");
    assert!(l.contains("ifconfig lo0 alias"), "{l}");
}

/// A paused acceptor on a Mac: the queue holds min(backlog, kern.ipc.somaxconn) = 128, incomplete
/// connections counted (xnu sonewconn), no "+1" as on Linux.
#[test]
fn acceptor_paused_on_mac() {
    let s = fixture("default-mac.yaml");
    let mut i = sc(ScenarioKind::Inbound);
    i.acceptor_paused = true;
    let p = predict(&s, &i);
    assert_eq!((p.ceiling, p.bottleneck), (128, Some(ACCEPT_QUEUE)));
    assert!(p.ceilings[0].why.contains("kern.ipc.somaxconn 128"));
    assert!(
        p.ceilings[0]
            .lift
            .contains("sudo sysctl -w kern.ipc.somaxconn=")
    );
    i.backlog = Some(50);
    assert_eq!(predict(&s, &i).ceiling, 50);
    assert_native(&p);
}

#[test]
fn huge_values_do_not_overflow() {
    let mut s = fixture("default-mac.yaml");
    s.process.nofile.soft = Rlim::Value(u64::MAX - 1);
    s.fs.maxfilesperproc = Some(u64::MAX);
    s.fs.file_max = Some(u64::MAX);
    let mut l = sc(ScenarioKind::Loopback);
    l.processes = u64::MAX;
    l.source_ips = u64::MAX;
    let p = predict(&s, &l);
    for c in &p.ceilings {
        assert!(!c.lift.contains("ulimit -n 0"), "{}", c.lift);
    }
}

/// Go raises the soft limit to the hard one, capped at kern.maxfilesperproc (golang/go
/// src/os/rlimit_darwin.go): with an unlimited hard limit the per-process cap binds.
#[test]
fn go_on_mac() {
    let mut s = fixture("node.yaml");
    s.runtime.kind = porttune::snapshot::RuntimeKind::Go;
    let p = predict(&s, &sc(ScenarioKind::Inbound));
    assert_eq!(
        (p.ceiling, p.bottleneck),
        (61_437, Some(MAX_FILES_PER_PROC))
    );
    assert!(p.get(PROCESS_FDS).is_none(), "raised to unlimited");
}

/// The number after `key` in `text` (`key=N`, `key N`), if any.
fn number_after(text: &str, key: &str) -> Option<u64> {
    let i = text.find(key)? + key.len();
    let digits: String = text[i..]
        .chars()
        .skip_while(|c| *c == '=' || *c == ' ')
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

/// Every lift names a value above the current one (for MSL: below, since shortening TIME_WAIT
/// is the lift), on every fixture, Linux and macOS, in every scenario.
#[test]
fn every_lift_goes_beyond_the_current_value() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/snapshots");
    let mut files: Vec<_> = std::fs::read_dir(&root)
        .unwrap()
        .chain(std::fs::read_dir(root.join("macos")).unwrap())
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    let mut seen = 0;
    for f in files {
        let s = snapshot::load(&f).unwrap();
        for kind in [
            ScenarioKind::Inbound,
            ScenarioKind::Outbound,
            ScenarioKind::Loopback,
        ] {
            let mut scn = sc(kind);
            scn.churn = true;
            scn.acceptor_paused = kind == ScenarioKind::Inbound;
            let p = predict(&s, &scn);
            let mut lifts: Vec<&str> = p.ceilings.iter().map(|c| c.lift.as_str()).collect();
            lifts.extend(p.rates.iter().map(|r| r.lift.as_str()));
            for lift in lifts {
                let mut cmp = |key: &str, cur: Option<u64>, up: bool| {
                    if let (Some(n), Some(cur)) = (number_after(lift, key), cur) {
                        seen += 1;
                        assert!(
                            if up { n > cur } else { n < cur },
                            "{}: {key} {n} vs current {cur}: {lift}",
                            f.display()
                        );
                    }
                };
                cmp("kern.maxfiles=", s.fs.file_max, true);
                cmp("fs.file-max=", s.fs.file_max, true);
                cmp("kern.maxfilesperproc=", s.fs.maxfilesperproc, true);
                cmp("ulimit -n", s.process.nofile.soft.value(), true);
                cmp("kern.ipc.somaxconn=", s.net.somaxconn, true);
                cmp("net.core.somaxconn=", s.net.somaxconn, true);
                cmp("net.inet.tcp.msl=", s.net.msl_ms, false);
                cmp(
                    "nf_conntrack_max=",
                    s.net.conntrack.as_ref().and_then(|c| c.max),
                    true,
                );
            }
        }
    }
    assert!(seen > 20, "only {seen} lifts compared");
}

/// "Lift the bottleneck and the next limit is …" accounts for everything the lift changes: the
/// seed's lift (a finite `ulimit -n` before the node starts) resizes erts' table and, above
/// kern.maxfilesperproc, raises that too, so the next limit is the port table (+Q 65536), not
/// the max_files_per_proc rung the ladder shows next; raising kern.maxfilesperproc on a Mac
/// comes with kern.maxfiles, so system_files moves before it is the next limit.
#[test]
fn next_limit_after_a_lift_counts_what_the_lift_changes() {
    let seed = fixture("seed-facts.yaml");
    let p = predict(&seed, &sc(ScenarioKind::Inbound));
    assert_eq!(p.bottleneck, Some(ERLANG_MAX_FDS));
    assert_eq!(
        p.next_after_bottleneck().map(|c| c.name),
        Some(MAX_FILES_PER_PROC),
        "the ladder's next rung"
    );
    let n = p.next.as_ref().unwrap();
    assert_eq!((n.lifted, n.name), (ERLANG_MAX_FDS, ERLANG_PORT_LIMIT));
    assert_eq!(n.value, 65_536 - 3);
    // On loopback the host's ports come first, lift or no lift.
    let l = predict(&seed, &sc(ScenarioKind::Loopback));
    assert_eq!(
        l.next.as_ref().map(|n| (n.name, n.value)),
        Some((EPHEMERAL_PORTS, 16_384))
    );
    let node = fixture("node.yaml");
    let p = predict(&node, &sc(ScenarioKind::Inbound));
    assert_eq!(p.bottleneck, Some(MAX_FILES_PER_PROC));
    let system_now = p.get(SYSTEM_FILES).unwrap().value;
    let n = p.next.as_ref().unwrap();
    assert_eq!(n.name, SYSTEM_FILES);
    assert!(
        n.value > system_now,
        "{} vs {system_now}: kern.maxfiles rises with it",
        n.value
    );
}

/// Memory on a Mac is what it can give back, not its free pages: macOS keeps only a few
/// thousand pages free (near its free target) and the rest in the file cache and purgeable
/// memory. The seed's host with 80 MiB free: counting only free pages made `memory` the
/// headline at ~11,000, below the 12,261 the node held; from the page counts (free +
/// file-backed + purgeable, xnu vm_page counts) the seed's answer stands, and a saved
/// snapshot gives the same answer as the probe.
#[test]
fn memory_counts_what_macos_gives_back() {
    let mut s = fixture("seed-facts.yaml");
    let lo = sc(ScenarioKind::Loopback);
    // What the old probe recorded: vm.page_free_count × page size alone.
    s.memory.mem_available_kb = Some(80 << 10);
    let old = predict(&s, &lo);
    assert_eq!(old.bottleneck, Some(MEMORY), "{:#?}", old.ceilings);
    assert!(old.ceiling < 12_261, "{}", old.ceiling);
    // The probe now keeps the page counts, and the model derives from them.
    s.memory.macos_pages = Some(snapshot::MacPages {
        page_size: Some(16_384),
        free: Some(5_120),
        file_backed: Some(180_000),
        purgeable: Some(3_000),
        memorystatus_level: Some(31),
    });
    let p = predict(&s, &lo);
    assert_seed_facts(&p);
    let m = p.get(MEMORY).unwrap();
    assert!(m.value > 100_000, "{}", m.value);
    assert!(
        m.why
            .contains("free 5120 + file-backed 180000 + purgeable 3000 pages × 16384 B"),
        "{}",
        m.why
    );
    assert_native(&p);
    // Without page counts, the kernel's own level.
    s.memory.macos_pages = Some(snapshot::MacPages {
        memorystatus_level: Some(31),
        ..Default::default()
    });
    let p = predict(&s, &lo);
    assert_seed_facts(&p);
    assert!(
        p.get(MEMORY)
            .unwrap()
            .why
            .contains("kern.memorystatus_level"),
        "{}",
        p.get(MEMORY).unwrap().why
    );
    // Saved and loaded: the same answer.
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("mac.yaml");
    snapshot::save(&s, &f).unwrap();
    assert_eq!(predict(&snapshot::load(&f).unwrap(), &lo), p);
}

/// The seed from facts only: erts' 24,576 fds, (24,576 − 54 − 1) / 2, then the port pool.
fn assert_seed_facts(p: &Prediction) {
    assert_eq!(p.bottleneck, Some(ERLANG_MAX_FDS), "{:#?}", p.ceilings);
    assert_eq!(p.ceiling, (24_576 - 54 - 1) / 2);
    assert_eq!(p.ceilings[1].name, EPHEMERAL_PORTS);
}
