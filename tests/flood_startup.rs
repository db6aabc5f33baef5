//! The flood honours its bounds while starting workers (issue 11): the --duration deadline
//! covers forking hundreds of workers, and SIGTERM during the forking stops it before any
//! connection is opened. Each run in its own network namespace (its listen ports collide
//! with nothing), bounded in workers, connections and time.
#![cfg(target_os = "linux")]

mod common;

use common::*;

fn run(script: &str) -> String {
    let out = netns_sh(script);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{text}");
    assert!(!text.contains("panicked"), "{text}");
    text
}

#[test]
#[ignore = "needs root and unshare -n"]
fn duration_covers_worker_start_up() {
    need_root("duration_covers_worker_start_up");
    // Before, the deadline started only once every worker was up: 30 s for hundreds.
    let text = run(
        "start=$(date +%s%N)\nset +e\n\"$PORTTUNE\" flood --workers 400 --duration 0.2 --max 400000 >/dev/null 2>&1\n\
         rc=$?\nend=$(date +%s%N)\necho \"rc=$rc ms=$(( (end - start) / 1000000 ))\"",
    );
    let ms: u64 = text
        .split("ms=")
        .nth(1)
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(u64::MAX);
    assert!(ms < 8000, "{text}");
    assert!(text.contains("rc=0") || text.contains("rc=1"), "{text}");
}

#[test]
#[ignore = "needs root and unshare -n"]
fn sigterm_while_forking_stops_before_any_connection() {
    need_root("sigterm_while_forking_stops_before_any_connection");
    let text = run(
        "err=$(mktemp)\n\"$PORTTUNE\" flood --workers 500 --duration 30 --max 500000 >/dev/null 2>\"$err\" &\nf=$!\n\
         n=0\nwhile ! pgrep -P $f >/dev/null; do n=$((n+1)); [ $n -lt 20000 ] || { echo never forked; exit 1; }; sleep 0.001; done\n\
         start=$(date +%s%N)\nkill -TERM $f\nset +e\nwait $f\nrc=$?\nend=$(date +%s%N)\n\
         echo \"rc=$rc ms=$(( (end - start) / 1000000 )) established=$(grep -c ' 01 ' /proc/net/tcp)\"\ncat \"$err\"\nrm -f \"$err\"",
    );
    assert!(text.contains("rc=1 "), "{text}");
    assert!(
        text.contains("interrupted while starting the workers"),
        "{text}"
    );
    assert!(text.contains("no connection was opened"), "{text}");
    let ms: u64 = text
        .split("ms=")
        .nth(1)
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(u64::MAX);
    assert!(ms < 5000, "{text}");
    assert!(text.contains("established=0"), "{text}");
}
