//! Bounded memory on hostile input: every parser of outside text (profiles, snapshots, a
//! server's configuration, `explain` input) is fed inputs at and past its size bound, shaped
//! to make a careless parser blow up (an alias bomb, nesting two million deep, one 8 MiB line,
//! a configuration that includes itself, a 4 MiB hostname of control characters). Each run is
//! the real binary under an address-space limit (`prlimit --as`): an allocation past it aborts
//! the process, which this test sees as death by a signal. Every run must end with one of
//! porttune's own exit codes, no panic, and the peak resident size of all runs (the children's
//! `ru_maxrss`, which the kernel keeps for every descendant waited for) stays under a bound far
//! below the limit. A `timeout` guards against a hang (a failure, not a measure of speed).
//!
//! One test in its own binary, so the children's peak is only these runs'.

#![cfg(target_os = "linux")]

mod common;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

/// The address space each run may map (the binary, its libraries and thread stacks included).
const ADDRESS_SPACE: u64 = 1 << 30;
/// The peak resident size all runs together must stay under, in KiB.
const PEAK_KIB: i64 = 256 * 1024;

struct Case {
    what: &'static str,
    args: Vec<String>,
    stdin: Option<Vec<u8>>,
    /// Exit codes this input may end with (2 = refused as bad input, or for `explain`: nothing
    /// recognised).
    codes: &'static [i32],
}

fn run(case: &Case) -> (i32, String, usize) {
    let mut c = Command::new("timeout");
    c.args(["--kill-after=5", "120", "prlimit"])
        .arg(format!("--as={ADDRESS_SPACE}"))
        .arg("--")
        .arg(common::bin())
        .args(&case.args)
        .env("NO_COLOR", "1")
        .stdin(if case.stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = c.spawn().expect("timeout, prlimit (coreutils, util-linux)");
    if let Some(input) = &case.stdin {
        let mut w = child.stdin.take().expect("stdin");
        let input = input.clone();
        // A writer thread: the child may answer before it has read everything.
        std::thread::spawn(move || {
            let _ = w.write_all(&input);
        });
    }
    let out = child.wait_with_output().expect("wait");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let code = out.status.code().unwrap_or_else(|| {
        panic!(
            "{}: killed by a signal ({:?}): out of its address space? stderr: {stderr}",
            case.what, out.status
        )
    });
    (code, stderr, out.stdout.len())
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> String {
    let p = dir.join(name);
    std::fs::write(&p, bytes).expect("write input");
    p.display().to_string()
}

/// `name: lol` then nine aliases of the previous anchor, thirty levels deep: 9^29 scalars if
/// every alias were expanded.
fn alias_bomb() -> String {
    let mut s = String::from("name: lol\na0: &a0 [\"lollollollollollollol\"]\n");
    for i in 1..30 {
        let prev = format!("*a{}", i - 1);
        s.push_str(&format!("a{i}: &a{i} [{}]\n", vec![prev; 9].join(",")));
    }
    s.push_str("description: *a29\n");
    s
}

fn cases(dir: &Path) -> Vec<Case> {
    let fixture = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/snapshots/linux-defaults.yaml"
    );
    let snap = std::fs::read_to_string(fixture).expect("fixture");
    // A snapshot whose hostname is just under the 4 MiB bound, all control characters (16 bytes
    // each repeat once JSON-escaped).
    let host = "\u{1b}]0;x\u{7}".repeat((4 << 20) / 16 - 2000);
    let big_host = snap.replacen(
        "platform: {os: linux, kernel: 6.1.0-18-amd64}",
        &format!(
            "platform: {{os: linux, kernel: 6.1.0-18-amd64, hostname: {}}}",
            serde_json::to_string(&host).expect("json string")
        ),
        1,
    );
    assert!(big_host.len() < 4 << 20 && big_host.len() > 3 << 20);
    let near_miss =
        "too many open filez temfile fd=99999999999999999999999 is larger than\n".repeat(120_000);
    let mut lighttpd = String::from("server.max-connections = 10\n");
    lighttpd.push_str(&format!("include \"{}/l.conf\"\n", dir.display()));
    let over_profile = format!("name: x\ndescription: \"{}\"\n", "y".repeat(5 << 20));
    let long_profile = format!("name: x\ndescription: \"{}\"\n", "y".repeat((4 << 20) - 64));
    let arg = |s: &[&str]| s.iter().map(|a| a.to_string()).collect::<Vec<_>>();
    vec![
        Case {
            what: "a profile that is an alias bomb",
            args: arg(&[
                "profiles",
                "validate",
                &write(dir, "bomb.yaml", alias_bomb().as_bytes()),
            ]),
            stdin: None,
            codes: &[2],
        },
        Case {
            what: "a profile of one 4 MiB scalar",
            args: arg(&[
                "profiles",
                "validate",
                &write(dir, "long.yaml", long_profile.as_bytes()),
            ]),
            stdin: None,
            codes: &[2],
        },
        Case {
            what: "a profile past the size bound",
            args: arg(&[
                "profiles",
                "validate",
                &write(dir, "over.yaml", over_profile.as_bytes()),
            ]),
            stdin: None,
            codes: &[2],
        },
        Case {
            what: "a snapshot whose hostname is 4 MiB of control characters",
            args: arg(&[
                "check",
                "--from",
                &write(dir, "host.yaml", big_host.as_bytes()),
            ]),
            stdin: None,
            codes: &[0, 1, 4],
        },
        Case {
            what: "a JSON snapshot nested two million deep",
            args: arg(&[
                "check",
                "--from",
                &write(dir, "deep.json", "[".repeat(2_000_000).as_bytes()),
            ]),
            stdin: None,
            codes: &[2],
        },
        Case {
            what: "a YAML snapshot nested a million deep",
            args: arg(&[
                "check",
                "--from",
                &write(dir, "deep.yaml", "- ".repeat(1_000_000).as_bytes()),
            ]),
            stdin: None,
            codes: &[2],
        },
        Case {
            what: "a snapshot past the size bound",
            args: arg(&[
                "check",
                "--from",
                &write(dir, "over.json", " ".repeat(5 << 20).as_bytes()),
            ]),
            stdin: None,
            codes: &[2],
        },
        Case {
            what: "a server configuration that includes itself",
            args: arg(&[
                "check",
                "--runtime",
                "lighttpd",
                "--config",
                &write(dir, "l.conf", lighttpd.as_bytes()),
            ]),
            stdin: None,
            codes: &[0, 1, 2, 4],
        },
        Case {
            what: "explain: 8 MiB of near misses (nothing recognised: exit 2)",
            args: arg(&["explain", "-"]),
            stdin: Some(near_miss.into_bytes()),
            codes: &[2],
        },
        Case {
            what: "explain: one line of 9 MiB (past the bound)",
            args: arg(&["explain", "-"]),
            stdin: Some(vec![b'a'; 9 << 20]),
            codes: &[0, 1, 2],
        },
    ]
}

#[test]
#[ignore = "needs prlimit and timeout (util-linux, coreutils)"]
fn hostile_inputs_stay_in_bounded_memory() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cases = cases(dir.path());
    for case in &cases {
        let (code, stderr, out) = run(case);
        assert!(
            case.codes.contains(&code),
            "{}: exit {code}, expected one of {:?}; stderr: {}",
            case.what,
            case.codes,
            stderr.chars().take(2000).collect::<String>()
        );
        assert!(!stderr.contains("panicked"), "{}: {stderr}", case.what);
        // Nothing echoed at the size of the input: an error names, it does not quote.
        assert!(
            stderr.len() < 64 * 1024,
            "{}: {} bytes of stderr",
            case.what,
            stderr.len()
        );
        eprintln!("{}: exit {code}, {out} bytes out", case.what);
    }
    let peak = nix::sys::resource::getrusage(nix::sys::resource::UsageWho::RUSAGE_CHILDREN)
        .expect("getrusage")
        .max_rss();
    eprintln!("peak resident size of the {} runs: {peak} KiB", cases.len());
    assert!(
        peak > 0 && peak < PEAK_KIB,
        "peak resident size {peak} KiB (bound {PEAK_KIB} KiB)"
    );
}
