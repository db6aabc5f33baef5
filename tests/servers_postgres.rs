//! A real PostgreSQL started by the test (as user `postgres`, in a private network namespace,
//! its data directory and socket in a temp dir) under chosen settings and limits: `check
//! --pid` of the postmaster is held against the logins the server then accepts (v3 startup
//! messages, trust authentication), counted independently as client backend processes; the
//! lift porttune shows is applied (ALTER SYSTEM + restart, a higher RLIMIT_NPROC + restart)
//! and measured again.

#![cfg(target_os = "linux")]

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::servers::{self, Server};

const PORT: u16 = 5491;

/// The newest installed PostgreSQL server binary directory (Debian layout).
fn pg_bin() -> Option<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .flatten()
        .map(|e| e.path().join("bin"))
        .filter(|b| b.join("postgres").exists() && b.join("initdb").exists())
        .collect();
    v.sort();
    v.pop()
}

fn need_postgres(test: &str) -> PathBuf {
    assert!(common::need_root(test));
    assert!(common::need_tool(
        test,
        "runuser",
        &["--version"],
        "apt-get install util-linux"
    ));
    pg_bin().unwrap_or_else(|| {
        panic!("{test}: PostgreSQL is missing (apt-get install postgresql); .ci/run installs it")
    })
}

/// A data directory owned by `postgres` in a temp dir, with `conf.d/` included from
/// postgresql.conf (so the test's settings go through include_dir).
fn initdb(bin: &Path, dir: &Path) -> PathBuf {
    let uid = nix::unistd::User::from_name("postgres")
        .unwrap()
        .expect("user postgres")
        .uid;
    std::os::unix::fs::chown(dir, Some(uid.as_raw()), None).unwrap();
    let data = dir.join("data");
    let out = Command::new("runuser")
        .args(["-u", "postgres", "--"])
        .arg(bin.join("initdb"))
        .args(["-N", "-A", "trust", "-U", "postgres", "-D"])
        .arg(&data)
        .output()
        .unwrap();
    assert!(out.status.success(), "initdb: {out:?}");
    let conf = data.join("postgresql.conf");
    let mut text = std::fs::read_to_string(&conf).unwrap();
    text.push_str("\ninclude_dir 'conf.d'\n");
    std::fs::write(&conf, text).unwrap();
    std::fs::create_dir(data.join("conf.d")).unwrap();
    std::os::unix::fs::chown(data.join("conf.d"), Some(uid.as_raw()), None).unwrap();
    data
}

fn set_conf(data: &Path, text: &str) {
    std::fs::write(data.join("conf.d/10-test.conf"), text).unwrap();
}

/// Start the postmaster on `data` with RLIMIT_NPROC `nproc` (as user postgres, who cannot
/// exceed it); wait until it accepts logins. Returns the server and the postmaster's PID.
fn start(bin: &Path, dir: &Path, data: &Path, nproc: u64) -> (Server, u32) {
    // the previous postmaster's backends count under RLIMIT_NPROC until they are gone
    servers::wait_no_tasks_of("postgres");
    let child = Command::new("runuser")
        .args(["-u", "postgres", "--", "prlimit"])
        .arg(format!("--nproc={nproc}:{nproc}"))
        .arg(bin.join("postgres"))
        .arg("-D")
        .arg(data)
        .args(["-c", "listen_addresses=127.0.0.1", "-p", &PORT.to_string()])
        .arg("-c")
        .arg(format!("unix_socket_directories={}", dir.display()))
        .args(["-c", "autovacuum=off"])
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.join("postgres.log")).unwrap())
        .spawn()
        .unwrap();
    let srv = Server {
        child,
        name: "postgres",
    };
    let until = Instant::now() + Duration::from_secs(20);
    loop {
        if servers::pg_login(PORT, "postgres").is_ok() {
            break;
        }
        assert!(
            Instant::now() < until,
            "postgres did not accept logins in 20 s: {}",
            std::fs::read_to_string(dir.join("postgres.log")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let pid: u32 = std::fs::read_to_string(data.join("postmaster.pid"))
        .unwrap()
        .lines()
        .next()
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    // the login above has ended: wait for its backend to go
    let until = Instant::now() + Duration::from_secs(5);
    while client_backends(pid) > 0 && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(20));
    }
    (srv, pid)
}

fn sql(stmt: &str) {
    let mut s = servers::pg_login(PORT, "postgres").unwrap();
    servers::pg_exec(&mut s, stmt).unwrap_or_else(|e| panic!("{stmt}: {e}"));
}

/// Client backends of the postmaster, counted from their process titles.
fn client_backends(postmaster: u32) -> u64 {
    servers::children(postmaster)
        .into_iter()
        .filter(|p| servers::cmdline(*p).starts_with("postgres: app "))
        .count() as u64
}

/// Predict, then log in as the ordinary role `app` until refused: (check JSON, predicted,
/// held logins, backends counted, refusals).
fn predict_and_hold(pid: u32) -> (serde_json::Value, u64, u64, u64, Vec<String>) {
    let v = servers::check_pid(pid, &[]);
    let predicted = v["prediction"]["ceiling"].as_u64().unwrap();
    let (held, errors) = servers::hold_logins(predicted + 40, 5, || servers::pg_login(PORT, "app"));
    let backends = servers::settled(&[pid], client_backends);
    let n = held.len() as u64;
    drop(held);
    eprintln!(
        "postgres: predicted {predicted} ({}), held {n} logins, {backends} backends",
        v["prediction"]["bottleneck"]
    );
    (v, predicted, n, backends, errors)
}

#[test]
#[ignore = "needs root, unshare -n and PostgreSQL (postgres, initdb)"]
fn postgres_max_connections_and_nproc_with_their_lifts() {
    let bin = need_postgres("postgres_max_connections_and_nproc_with_their_lifts");
    servers::in_netns(|| {
        let dir = tempfile::tempdir().unwrap();
        let data = initdb(&bin, dir.path());
        set_conf(&data, "max_connections = 20\n");

        // 1. max_connections 20 (from an include_dir file) binds: 20 − 3 reserved = 17
        let (srv, pid) = start(&bin, dir.path(), &data, 4096);
        sql("CREATE ROLE app LOGIN");
        let (v, predicted, held, backends, errors) = predict_and_hold(pid);
        assert_eq!(
            v["prediction"]["bottleneck"], "postgres_max_connections",
            "{v}"
        );
        assert_eq!((predicted, held, backends), (17, 17, 17), "{v}\n{errors:?}");
        assert!(
            errors
                .iter()
                .any(|e| e.contains("remaining connection slots are reserved")),
            "{errors:?}"
        );
        let c = servers::ceiling(&v, "postgres_max_connections");
        assert!(
            c["why"].as_str().unwrap().contains("conf.d/10-test.conf:1"),
            "{c}"
        );
        let lift = c["lift"].as_str().unwrap().to_string();
        assert!(
            lift.contains("ALTER SYSTEM SET max_connections = 40;"),
            "{lift}"
        );
        assert!(lift.contains("restart"), "{lift}");
        let na = v["not_applicable"].to_string();
        assert!(na.contains("process_fds"), "{na}");

        // the lift: ALTER SYSTEM, then restart (a reload would not do)
        sql("ALTER SYSTEM SET max_connections = 40");
        drop(srv);
        let (srv, pid) = start(&bin, dir.path(), &data, 4096);
        let (v, predicted, held, backends, _) = predict_and_hold(pid);
        assert_eq!(
            v["prediction"]["bottleneck"], "postgres_max_connections",
            "{v}"
        );
        assert_eq!((predicted, held, backends), (37, 37, 37), "{v}");
        drop(srv);

        // 2. RLIMIT_NPROC binds: a backend per connection, every task of user postgres counted
        let nproc = 5 + 20;
        let (srv, pid) = start(&bin, dir.path(), &data, nproc);
        let (v, predicted, held, backends, errors) = predict_and_hold(pid);
        assert_eq!(v["prediction"]["bottleneck"], "tasks", "{v}");
        let c = servers::ceiling(&v, "tasks");
        assert!(predicted < 37 && predicted + 10 > 20, "{v}");
        assert_eq!((held, backends), (predicted, predicted), "{v}\n{errors:?}");
        assert!(!errors.is_empty(), "refused past the limit: {errors:?}");
        let lift = c["lift"].as_str().unwrap();
        assert!(
            lift.contains("RLIMIT_NPROC") && lift.contains("at least 50"),
            "{lift}"
        );
        drop(srv);

        // its lift: RLIMIT_NPROC 50 → max_connections binds again at 37
        let (srv, pid) = start(&bin, dir.path(), &data, 50);
        let (v, predicted, held, backends, _) = predict_and_hold(pid);
        assert_eq!(
            v["prediction"]["bottleneck"], "postgres_max_connections",
            "{v}"
        );
        assert_eq!((predicted, held, backends), (37, 37, 37), "{v}");
        drop(srv);
    });
}
