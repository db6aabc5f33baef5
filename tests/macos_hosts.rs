//! Macs that are not in the fixtures, each predicted by hand from the rules in docs/model.md
//! ("macOS") before porttune was run on it: the sysctl defaults by memory and Darwin version
//! (xnu `bsd/conf/param.c`, `bsd_scale_setup`), MIN(RLIMIT_NOFILE, kern.maxfilesperproc) (xnu
//! `kern_resource.c`), kern.maxfiles for the host (xnu `kern_descrip.c`), one pool of 16,384
//! ports for the host (xnu `in_pcbbind`), erts' 24,576-fd table under `ulimit -n unlimited`
//! (erlang/otp#4431), the JVM's MaxFDLimit (JDK-8324577), Go's and Node's raise of the soft
//! limit (golang/go `rlimit_darwin.go`; libuv), free + file-backed + purgeable pages for
//! memory (xnu `vm_unix.c`). Every number in `expect` is worked out in the comment above it.

use porttune::model::names::{CeilingName, *};
use porttune::model::{Scenario, ScenarioKind, predict};
use porttune::snapshot::{Snapshot, file};

struct Host {
    name: &'static str,
    yaml: String,
    kind: ScenarioKind,
    /// The headline.
    ceiling: u64,
    /// The bottleneck, or any of these when two rungs tie.
    bottleneck: &'static [CeilingName],
    /// Other rungs, worked out by hand.
    rungs: &'static [(CeilingName, u64)],
}

/// A Mac's snapshot: its Darwin version, kern.maxfiles, the files
/// open and kern.maxfilesperproc (`fs`), the default port range, somaxconn and MSL; `rest` is
/// the process, memory and runtime.
fn mac(kernel: &str, fs: (u64, u64, u64), rest: &str) -> String {
    let (file_max, allocated, per_proc) = fs;
    format!(
        "schema: 1\nplatform: {{os: macos, kernel: {kernel}}}\nnet: {{ip_local_port_range: {{lo: 49152, hi: 65535}}, somaxconn: 128, msl_ms: 15000}}\nfs: {{file_max: {file_max}, file_nr_allocated: {allocated}, maxfilesperproc: {per_proc}}}\n{rest}"
    )
}

fn intel_8g_big_sur_256() -> String {
    mac(
        "20.6.0",
        (12288, 3000, 10240),
        "process: {is_self: true, nofile: {soft: 256, hard: unlimited}, open_fds: 3}
memory:
  mem_total_kb: 8388608
  macos_pages: {page_size: 4096, free: 4000, file_backed: 400000, purgeable: 10000}
",
    )
}

fn intel_8g_big_sur_unlimited() -> String {
    mac(
        "20.6.0",
        (12288, 3000, 10240),
        "process: {is_self: true, nofile: {soft: unlimited, hard: unlimited}, open_fds: 3}
memory: {mem_total_kb: 8388608}
",
    )
}

fn m_16g_sonoma_10240() -> String {
    mac(
        "23.6.0",
        (122880, 5000, 61440),
        "process: {is_self: true, nofile: {soft: 10240, hard: unlimited}, open_fds: 3}
memory:
  mem_total_kb: 16777216
  macos_pages: {page_size: 16384, free: 3000, file_backed: 200000, purgeable: 5000}
",
    )
}

fn m_32g_sequoia_unlimited() -> String {
    mac(
        "24.1.0",
        (245760, 6000, 122880),
        "process: {is_self: true, nofile: {soft: unlimited, hard: unlimited}, open_fds: 3}
memory:
  mem_total_kb: 33554432
  macos_pages: {memorystatus_level: 50}
",
    )
}

fn m_64g_sequoia_launchd_raised_otp26() -> String {
    mac(
        "24.1.0",
        (1048576, 8000, 524288),
        "process: {is_self: true, nofile: {soft: 524288, hard: 524288}, open_fds: 3}
memory: {mem_total_kb: 67108864}
runtime: {kind: erlang, version: '26'}
",
    )
}

fn m_16g_sonoma_otp25_unlimited() -> String {
    mac(
        "23.6.0",
        (122880, 5000, 61440),
        "process: {is_self: true, nofile: {soft: unlimited, hard: unlimited}, open_fds: 3}
memory: {mem_total_kb: 16777216}
runtime: {kind: erlang, version: '25'}
",
    )
}

fn m_16g_sonoma_otp27_256() -> String {
    mac(
        "23.6.0",
        (122880, 5000, 61440),
        "process: {is_self: true, nofile: {soft: 256, hard: unlimited}, open_fds: 3}
memory: {mem_total_kb: 16777216}
runtime: {kind: erlang, version: '27'}
",
    )
}

fn m_16g_sonoma_maxfiles_lowered() -> String {
    mac(
        "23.6.0",
        (20000, 4000, 61440),
        "process: {is_self: true, nofile: {soft: unlimited, hard: unlimited}, open_fds: 3}
memory: {mem_total_kb: 16777216}
",
    )
}

fn m_16g_sonoma_jvm() -> String {
    mac(
        "23.6.0",
        (122880, 5000, 61440),
        "process: {is_self: true, nofile: {soft: unlimited, hard: unlimited}, open_fds: 3}
memory: {mem_total_kb: 16777216}
runtime: {kind: jvm}
",
    )
}

fn m_16g_sonoma_jvm_no_maxfdlimit() -> String {
    mac(
        "23.6.0",
        (122880, 5000, 61440),
        "process:
  is_self: true
  nofile: {soft: unlimited, hard: unlimited}
  open_fds: 3
  cmdline: [java, -XX:-MaxFDLimit, -jar, app.jar]
memory: {mem_total_kb: 16777216}
runtime: {kind: jvm}
",
    )
}

fn m_8g_sonoma_go() -> String {
    mac(
        "23.6.0",
        (30720, 2500, 10240),
        "process: {is_self: true, nofile: {soft: 256, hard: unlimited}, open_fds: 3}
memory: {mem_total_kb: 8388608}
runtime: {kind: go}
",
    )
}

fn intel_8g_monterey_node() -> String {
    mac(
        "21.6.0",
        (30720, 3000, 10240),
        "process: {is_self: true, nofile: {soft: 256, hard: unlimited}, open_fds: 3}
memory: {mem_total_kb: 8388608}
runtime: {kind: node}
",
    )
}

fn hosts() -> Vec<Host> {
    use ScenarioKind::*;
    vec![
        // Intel, 8 GiB, Big Sur (Darwin 20), launchd's 256. Loopback: 2 fds a connection and
        // one listener. process_fds (256 − 3 − 1) / 2 = 126; max_files_per_proc (10240 − 4) / 2
        // = 5118; system_files (12288 − 3000) / 2 = 4644; memory (4000 + 400000 + 10000) pages ×
        // 4096 B = 1,695,744,000 B / (2 × 3712) = 228,413 (228,413.8: written 228,414 by
        // hand first, a rounding slip, not the model's).
        Host {
            name: "Intel 8 GiB Big Sur, ulimit -n 256, loopback",
            yaml: intel_8g_big_sur_256(),
            kind: Loopback,
            ceiling: 126,
            bottleneck: &[PROCESS_FDS],
            rungs: &[
                (MAX_FILES_PER_PROC, 5118),
                (SYSTEM_FILES, 4644),
                (EPHEMERAL_PORTS, 16_384),
                (MEMORY, 228_413),
            ],
        },
        // Inbound: one fd a connection, no listener counted: 256 − 3 = 253.
        Host {
            name: "Intel 8 GiB Big Sur, ulimit -n 256, inbound",
            yaml: intel_8g_big_sur_256(),
            kind: Inbound,
            ceiling: 253,
            bottleneck: &[PROCESS_FDS],
            rungs: &[(MAX_FILES_PER_PROC, 10_237), (SYSTEM_FILES, 9288)],
        },
        // `ulimit -n unlimited`: RLIMIT_NOFILE does not apply; kern.maxfiles (12,288 on Big
        // Sur, OPEN_MAX + 2048) is the lower: (12288 − 3000) / 2 = 4644 < (10240 − 4) / 2.
        Host {
            name: "Intel 8 GiB Big Sur, ulimit -n unlimited, loopback",
            yaml: intel_8g_big_sur_unlimited(),
            kind: Loopback,
            ceiling: 4644,
            bottleneck: &[SYSTEM_FILES],
            rungs: &[(MAX_FILES_PER_PROC, 5118)],
        },
        Host {
            name: "Intel 8 GiB Big Sur, ulimit -n unlimited, inbound",
            yaml: intel_8g_big_sur_unlimited(),
            kind: Inbound,
            ceiling: 9288,
            bottleneck: &[SYSTEM_FILES],
            rungs: &[(MAX_FILES_PER_PROC, 10_237)],
        },
        // Apple silicon, 16 GiB, Sonoma, `ulimit -n 10240`: (10240 − 4) / 2 = 5118; then
        // (61440 − 4) / 2 = 30718, (122880 − 5000) / 2 = 58940; memory (3000 + 200000 + 5000)
        // × 16384 B = 3,407,872,000 B / 7424 = 459,034.
        Host {
            name: "Apple silicon 16 GiB Sonoma, ulimit -n 10240, loopback",
            yaml: m_16g_sonoma_10240(),
            kind: Loopback,
            ceiling: 5118,
            bottleneck: &[PROCESS_FDS],
            rungs: &[
                (MAX_FILES_PER_PROC, 30_718),
                (SYSTEM_FILES, 58_940),
                (EPHEMERAL_PORTS, 16_384),
                (MEMORY, 459_034),
            ],
        },
        // 32 GiB, Sequoia: scale 8 → kern.maxfiles 245,760, kern.maxfilesperproc 122,880.
        // Unlimited: the host's one pool of 16,384 ports is first ((122880 − 4) / 2 = 61438).
        Host {
            name: "Apple silicon 32 GiB Sequoia, ulimit -n unlimited, loopback",
            yaml: m_32g_sequoia_unlimited(),
            kind: Loopback,
            ceiling: 16_384,
            bottleneck: &[EPHEMERAL_PORTS],
            rungs: &[(MAX_FILES_PER_PROC, 61_438), (SYSTEM_FILES, 119_880)],
        },
        // Inbound takes no ephemeral port: 122880 − 3 = 122,877; memory 50 % of 32 GiB =
        // 33554432 / 100 × 50 = 16,777,200 KiB = 17,179,852,800 B / 3712 = 4,628,193.
        Host {
            name: "Apple silicon 32 GiB Sequoia, ulimit -n unlimited, inbound",
            yaml: m_32g_sequoia_unlimited(),
            kind: Inbound,
            ceiling: 122_877,
            bottleneck: &[MAX_FILES_PER_PROC],
            rungs: &[(SYSTEM_FILES, 239_760), (MEMORY, 4_628_193)],
        },
        // 64 GiB, launchd's maxfiles raised to 524288 (and the sysctls with it), an OTP 26
        // node about to start: erts sizes its table from the finite soft limit, 524,288; an
        // idle node's 19 fds + 1 listener: (524288 − 20) / 2 = 262,134 for every fd rung. The
        // host's 16,384 ports come first.
        Host {
            name: "Apple silicon 64 GiB Sequoia, launchd maxfiles 524288, OTP 26, loopback",
            yaml: m_64g_sequoia_launchd_raised_otp26(),
            kind: Loopback,
            ceiling: 16_384,
            bottleneck: &[EPHEMERAL_PORTS],
            rungs: &[
                (ERLANG_MAX_FDS, 262_134),
                (PROCESS_FDS, 262_134),
                (MAX_FILES_PER_PROC, 262_134),
                (SYSTEM_FILES, 520_288),
            ],
        },
        // OTP 25 under `ulimit -n unlimited` on 16 GiB: erts takes 24,576 (OTP ≥ 23.2):
        // (24576 − 19 − 1) / 2 = 12,278, the seed's limit for a fresh node.
        Host {
            name: "Apple silicon 16 GiB Sonoma, OTP 25, ulimit -n unlimited, loopback",
            yaml: m_16g_sonoma_otp25_unlimited(),
            kind: Loopback,
            ceiling: 12_278,
            bottleneck: &[ERLANG_MAX_FDS],
            rungs: &[(MAX_FILES_PER_PROC, 30_710), (EPHEMERAL_PORTS, 16_384)],
        },
        // OTP 27 under launchd's 256: erts' table is the soft limit, 256: (256 − 20) / 2 = 118,
        // the same as RLIMIT_NOFILE's rung (one baseline for both).
        Host {
            name: "Apple silicon 16 GiB Sonoma, OTP 27, ulimit -n 256, loopback",
            yaml: m_16g_sonoma_otp27_256(),
            kind: Loopback,
            ceiling: 118,
            bottleneck: &[ERLANG_MAX_FDS, PROCESS_FDS],
            rungs: &[(ERLANG_MAX_FDS, 118), (PROCESS_FDS, 118)],
        },
        // kern.maxfiles lowered to 20,000 with 4,000 in use: (20000 − 4000) / 2 = 8000.
        Host {
            name: "16 GiB Sonoma, kern.maxfiles lowered to 20000, loopback",
            yaml: m_16g_sonoma_maxfiles_lowered(),
            kind: Loopback,
            ceiling: 8000,
            bottleneck: &[SYSTEM_FILES],
            rungs: &[(MAX_FILES_PER_PROC, 30_718)],
        },
        // A JVM, JDK version unknown, MaxFDLimit on: taken as before JDK-8324577, the soft
        // limit set to OPEN_MAX: 10240 − 3 = 10,237.
        Host {
            name: "16 GiB Sonoma, JVM (JDK unknown), inbound",
            yaml: m_16g_sonoma_jvm(),
            kind: Inbound,
            ceiling: 10_237,
            bottleneck: &[PROCESS_FDS],
            rungs: &[(MAX_FILES_PER_PROC, 61_437)],
        },
        // -XX:-MaxFDLimit keeps the unlimited soft limit: kern.maxfilesperproc, 61440 − 3.
        Host {
            name: "16 GiB Sonoma, JVM -XX:-MaxFDLimit, inbound",
            yaml: m_16g_sonoma_jvm_no_maxfdlimit(),
            kind: Inbound,
            ceiling: 61_437,
            bottleneck: &[MAX_FILES_PER_PROC],
            rungs: &[(SYSTEM_FILES, 117_880)],
        },
        // Go on 8 GiB Sonoma (scale 2: unscaled, 30,720 / 10,240) under launchd's 256: Go
        // raises the soft limit to MIN(hard, kern.maxfilesperproc) = 10240: 10240 − 3 on both
        // fd rungs; the host has 30720 − 2500 = 28,220.
        Host {
            name: "Apple silicon 8 GiB Sonoma, Go, ulimit -n 256, inbound",
            yaml: m_8g_sonoma_go(),
            kind: Inbound,
            ceiling: 10_237,
            bottleneck: &[PROCESS_FDS, MAX_FILES_PER_PROC],
            rungs: &[(MAX_FILES_PER_PROC, 10_237), (SYSTEM_FILES, 28_220)],
        },
        // Node on 8 GiB Intel Monterey (Darwin 21: 3 × OPEN_MAX = 30,720, unscaled) under 256:
        // Node raises the soft limit; xnu caps at kern.maxfilesperproc: 10240 − 3.
        Host {
            name: "Intel 8 GiB Monterey, Node, ulimit -n 256, inbound",
            yaml: intel_8g_monterey_node(),
            kind: Inbound,
            ceiling: 10_237,
            bottleneck: &[MAX_FILES_PER_PROC, PROCESS_FDS],
            rungs: &[(SYSTEM_FILES, 27_720)],
        },
    ]
}

#[test]
fn hand_predicted_macs() {
    let mut wrong = Vec::new();
    for h in hosts() {
        let snap: Snapshot = file::parse(&h.yaml, std::path::Path::new("host.yaml"))
            .unwrap_or_else(|e| panic!("{}: {e}", h.name));
        let p = predict(&snap, &Scenario::new(h.kind));
        let bn = p.bottleneck;
        if p.ceiling != h.ceiling || !bn.is_some_and(|b| h.bottleneck.contains(&b)) {
            wrong.push(format!(
                "{}: {} {bn:?}, expected {} {:?}",
                h.name, p.ceiling, h.ceiling, h.bottleneck
            ));
        }
        for (name, v) in h.rungs {
            match p.get(*name) {
                Some(c) if c.value == *v => {}
                Some(c) => wrong.push(format!(
                    "{}: {name} {} ({}), expected {v}",
                    h.name, c.value, c.why
                )),
                None => wrong.push(format!("{}: no {name}", h.name)),
            }
        }
        // Every limit was read: nothing is assumed but what a program not yet started cannot
        // show (an idle node's fds, ports and processes; a JVM's version).
        let allowed = [
            "process.open_fds: assumed 19",
            "erlang.",
            "scenario.procs_per_conn",
            "JDK version unknown",
        ];
        for a in &p.assumptions {
            if !allowed.iter().any(|w| a.starts_with(w)) {
                wrong.push(format!("{}: assumed {a}", h.name));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
