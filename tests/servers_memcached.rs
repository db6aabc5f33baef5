//! A real memcached (Debian's package) started by the test as its unit does (`-u memcache`
//! and the flags of memcached.conf) in a private network namespace: `check --pid` against the
//! sessions it then answers (`version`), with `-c` binding whatever fd limit it was started
//! with (it sets its own RLIMIT_NOFILE from `-c`), with more threads, and the lift (`-c`
//! raised, restarted) applied and measured.

#![cfg(target_os = "linux")]

mod common;

use std::process::{Command, Stdio};

use common::protocols;
use common::servers::{self, Server};

const PORT: u16 = 11299;

fn start(flags: &[&str], nofile: &str) -> Server {
    let child = Command::new("prlimit")
        .arg(format!("--nofile={nofile}"))
        .args([
            "memcached",
            "-u",
            "memcache",
            "-l",
            "127.0.0.1",
            "-p",
            &PORT.to_string(),
        ])
        .args(flags)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start memcached");
    let srv = Server {
        child,
        name: "memcached",
    };
    servers::wait_listening(PORT);
    srv
}

/// Predict, then open sessions until 3 in a row are refused: (check, predicted, held).
fn predict_and_hold(srv: &Server) -> (serde_json::Value, u64, u64) {
    let v = servers::check_pid(srv.pid(), &[]);
    let predicted = v["prediction"]["ceiling"].as_u64().unwrap();
    let (held, errors) =
        servers::hold_logins(predicted + 30, 3, || protocols::memcached_version(PORT));
    eprintln!(
        "memcached: predicted {predicted} ({}), held {}; refusals {errors:?}",
        v["prediction"]["bottleneck"],
        held.len()
    );
    assert!(
        errors
            .iter()
            .any(|e| e.contains("Too many open connections")),
        "{errors:?}"
    );
    (v, predicted, held.len() as u64)
}

#[test]
#[ignore = "needs root, unshare -n and memcached"]
fn memcached_conn_limit() {
    let test = "memcached_conn_limit";
    if !(common::need_root(test)
        && common::need_tool(test, "memcached", &["-V"], "apt-get install memcached"))
    {
        return;
    }
    servers::in_netns(|| {
        // -c 200, started with 1024 fds: memcached lowers its own limit to 200
        let srv = start(&["-c", "200"], "1024:1024");
        let (v, predicted, held) = predict_and_hold(&srv);
        assert_eq!(v["prediction"]["bottleneck"], "memcached_maxconns", "{v}");
        assert_eq!(predicted, held, "{v}");
        assert!(predicted > 150 && predicted < 200, "{v}");
        assert!(
            v["not_applicable"].to_string().contains("process_fds"),
            "the fd limit is memcached's own: {v}"
        );
        let c = servers::ceiling(&v, "memcached_maxconns");
        assert!(c["lift"].as_str().unwrap().contains("-c 400"), "{c}");
        drop(srv);
        // the lift: -c 400, restarted (with a lower limit at start: memcached raises it)
        let srv = start(&["-c", "400"], "256:4096");
        let (_, predicted, held) = predict_and_hold(&srv);
        assert_eq!(predicted, held);
        assert!(predicted > 350 && predicted < 400);
        drop(srv);
        // more threads hold more fds besides connections
        let srv = start(&["-c", "200", "-t", "8"], "1024:1024");
        let (_, predicted8, held) = predict_and_hold(&srv);
        assert_eq!(predicted8, held);
        assert!(predicted8 < predicted.saturating_sub(200));
    });
}
