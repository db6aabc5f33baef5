//! A real Apache httpd (Debian's apache2) started by the test in a private network namespace
//! from a copy of the package's /etc/apache2 (apache2.conf, mods-enabled/*.load and *.conf,
//! envvars' ${APACHE_*} in the environment, `-d ServerRoot -f apache2.conf` as apache2ctl
//! does), under chosen MPM settings and limits: `check --pid` of the parent against the
//! connections its children hold (HTTP requests whose headers are not complete yet), in
//! configurations where different limits bind (prefork MaxRequestWorkers, event
//! MaxRequestWorkers, event children's fd limit, worker MaxRequestWorkers rounded to
//! ThreadsPerChild) and the lift applied and measured.

#![cfg(target_os = "linux")]

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::protocols;
use common::servers::{self, Server};

const PORT: u16 = 18081;

/// A ServerRoot copied from /etc/apache2, listening on 127.0.0.1:PORT only, with `mpm` enabled
/// and its section set to `mpm_conf`.
fn server_root(dir: &Path, mpm: &str, mpm_conf: &str) -> std::path::PathBuf {
    let root = dir.join("apache2");
    let st = Command::new("cp")
        .args(["-a", "/etc/apache2"])
        .arg(&root)
        .status()
        .unwrap();
    assert!(st.success());
    servers::write(&root, "ports.conf", &format!("Listen 127.0.0.1:{PORT}\n"));
    let me = root.join("mods-enabled");
    for f in std::fs::read_dir(&me).unwrap().flatten() {
        if f.file_name().to_string_lossy().starts_with("mpm_") {
            std::fs::remove_file(f.path()).unwrap();
        }
    }
    std::os::unix::fs::symlink(
        format!("../mods-available/mpm_{mpm}.load"),
        me.join(format!("mpm_{mpm}.load")),
    )
    .unwrap();
    servers::write(
        &me,
        &format!("mpm_{mpm}.conf"),
        &format!("<IfModule mpm_{mpm}_module>\n{mpm_conf}</IfModule>\n"),
    );
    for d in ["run", "lock", "log"] {
        std::fs::create_dir_all(dir.join(d)).unwrap();
    }
    root
}

fn start(dir: &Path, root: &Path, nofile: &str) -> Server {
    use std::os::unix::process::CommandExt;
    let d = dir.display();
    let child = Command::new("prlimit")
        .arg(format!("--nofile={nofile}"))
        .args(["apache2", "-d"])
        .arg(root)
        .args(["-f", "apache2.conf", "-DFOREGROUND"])
        .env("APACHE_RUN_USER", "www-data")
        .env("APACHE_RUN_GROUP", "www-data")
        .env("APACHE_PID_FILE", format!("{d}/run/apache2.pid"))
        .env("APACHE_RUN_DIR", format!("{d}/run"))
        .env("APACHE_LOCK_DIR", format!("{d}/lock"))
        .env("APACHE_LOG_DIR", format!("{d}/log"))
        .env("LANG", "C")
        .current_dir("/")
        // its own process group: Apache signals its group when it stops, which must not
        // reach the test harness
        .process_group(0)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start apache2");
    let srv = Server {
        child,
        name: "apache2",
    };
    servers::wait_listening(PORT);
    // let the children start their threads
    std::thread::sleep(Duration::from_millis(1500));
    srv
}

/// Predict, open 20 more than predicted, count the connections its children hold.
fn predict_and_hold(srv: &Server) -> (serde_json::Value, u64, u64) {
    let v = servers::check_pid(srv.pid(), &[]);
    let predicted = v["prediction"]["ceiling"].as_u64().unwrap();
    let kids = || servers::descendants(srv.pid());
    let count = |_: u32| -> u64 { kids().iter().map(|p| servers::socket_fds(*p)).sum::<u64>() };
    let before = servers::settled(&[0], count);
    let conns: Vec<_> = (0..predicted + 20)
        .map(|_| protocols::http_partial(PORT).unwrap())
        .collect();
    // listener sockets are shared by every child: count connections only
    let held = servers::settled(&[0], count).saturating_sub(before);
    drop(conns);
    eprintln!(
        "apache: predicted {predicted} ({}), held {held}",
        v["prediction"]["bottleneck"]
    );
    (v, predicted, held)
}

fn need(test: &str) -> bool {
    common::need_root(test)
        && common::need_tool(test, "apache2", &["-v"], "apt-get install apache2")
}

#[test]
#[ignore = "needs root, unshare -n and apache2"]
fn apache_prefork_max_request_workers() {
    if !need("apache_prefork_max_request_workers") {
        return;
    }
    servers::in_netns(|| {
        let dir = tempfile::tempdir().unwrap();
        let conf = "StartServers 20\nMinSpareServers 20\nMaxSpareServers 40\nServerLimit 20\nMaxRequestWorkers 20\n";
        let root = server_root(dir.path(), "prefork", conf);
        let srv = start(dir.path(), &root, "1024:1024");
        let (v, predicted, held) = predict_and_hold(&srv);
        assert_eq!(
            v["prediction"]["bottleneck"], "apache_max_request_workers",
            "{v}"
        );
        assert_eq!((predicted, held), (20, 20), "{v}");
        let c = servers::ceiling(&v, "apache_max_request_workers");
        assert!(
            c["why"].as_str().unwrap().contains("mpm_prefork.conf:"),
            "{c}"
        );
        assert!(
            c["lift"].as_str().unwrap().contains("MaxRequestWorkers 40"),
            "{c}"
        );
        drop(srv);
        // the lift, restarted
        let dir = tempfile::tempdir().unwrap();
        let conf = "StartServers 40\nMinSpareServers 40\nMaxSpareServers 80\nServerLimit 40\nMaxRequestWorkers 40\n";
        let root = server_root(dir.path(), "prefork", conf);
        let srv = start(dir.path(), &root, "1024:1024");
        let (_, predicted, held) = predict_and_hold(&srv);
        assert_eq!((predicted, held), (40, 40));
    });
}

#[test]
#[ignore = "needs root, unshare -n and apache2"]
fn apache_event_workers_then_child_fds() {
    if !need("apache_event_workers_then_child_fds") {
        return;
    }
    servers::in_netns(|| {
        // MaxRequestWorkers binds: 2 children × 25 threads
        let dir = tempfile::tempdir().unwrap();
        let conf = "StartServers 2\nServerLimit 2\nThreadsPerChild 25\nMinSpareThreads 50\nMaxSpareThreads 75\nMaxRequestWorkers 50\n";
        let root = server_root(dir.path(), "event", conf);
        let srv = start(dir.path(), &root, "1024:1024");
        let (v, predicted, held) = predict_and_hold(&srv);
        assert_eq!(
            v["prediction"]["bottleneck"], "apache_max_request_workers",
            "{v}"
        );
        assert_eq!(predicted, 50, "{v}");
        // within max(1, 0.5 %): 50 held when the machine is idle, once 49 in a loaded run (the
        // 50th request still in the accept queue when the count settled)
        assert!(held.abs_diff(predicted) <= 1, "{held} held, {v}");
        drop(srv);
        // one child of 64 threads at 40 fds: its fd limit binds
        let dir = tempfile::tempdir().unwrap();
        let conf = "StartServers 1\nServerLimit 1\nThreadLimit 64\nThreadsPerChild 64\nMinSpareThreads 64\nMaxSpareThreads 128\nMaxRequestWorkers 64\n";
        let root = server_root(dir.path(), "event", conf);
        let srv = start(dir.path(), &root, "40:40");
        let (v, predicted, held) = predict_and_hold(&srv);
        assert_eq!(v["prediction"]["bottleneck"], "process_fds", "{v}");
        assert!(predicted < 40, "{v}");
        // within max(1, 0.5 %): the child held 27 of 28 here, one fd short of the formula
        // ("AH02179: apr_socket_accept: (client socket)" at the 28th)
        assert!(held.abs_diff(predicted) <= 1, "{held} held, {v}");
    });
}

#[test]
#[ignore = "needs root, unshare -n and apache2"]
fn apache_worker_rounds_max_request_workers_to_threads_per_child() {
    if !need("apache_worker_rounds_max_request_workers_to_threads_per_child") {
        return;
    }
    servers::in_netns(|| {
        // the worker MPM: MaxRequestWorkers 40 with 16 threads a child is rounded down to 32
        // (2 children), as Apache does at start
        let dir = tempfile::tempdir().unwrap();
        let conf = "StartServers 3\nServerLimit 3\nThreadsPerChild 16\nMinSpareThreads 16\nMaxSpareThreads 48\nMaxRequestWorkers 40\n";
        let root = server_root(dir.path(), "worker", conf);
        let srv = start(dir.path(), &root, "1024:1024");
        let (v, predicted, held) = predict_and_hold(&srv);
        assert_eq!(
            v["prediction"]["bottleneck"], "apache_max_request_workers",
            "{v}"
        );
        assert_eq!((predicted, held), (32, 32), "{v}");
        let c = servers::ceiling(&v, "apache_max_request_workers");
        assert!(c["why"].as_str().unwrap().contains("worker MPM"), "{c}");
    });
}
