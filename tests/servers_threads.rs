//! A thread-per-connection server nobody here wrote: `python3 -m http.server`
//! (ThreadingHTTPServer, a thread per connection), run as a user of its own (a uid nothing else
//! on the machine uses, so that RLIMIT_NPROC counts only its tasks) under a chosen
//! RLIMIT_NPROC in a private network namespace. porttune recognises it as thread-per-connection
//! from its command line and predicts the tasks ceiling from the user's tasks; each connection
//! held with an unfinished HTTP request keeps its thread, and past the limit the server cannot
//! start one ("can't start new thread") and closes the connection.

#![cfg(target_os = "linux")]

mod common;

use std::process::{Command, Stdio};
use std::time::Duration;

use common::protocols;
use common::servers::{self, Server};

const PORT: u16 = 8090;

fn need(test: &str) -> bool {
    common::need_root_and_setpriv(test)
        && common::need_tool(test, "python3", &["--version"], "apt-get install python3")
}

/// A uid no account has and nothing else runs as (so its task count is this server's).
fn fresh_uid() -> u32 {
    let base = 61000 + std::process::id() % 3000;
    (base..base + 500)
        .find(|u| {
            nix::unistd::User::from_uid((*u).into())
                .ok()
                .flatten()
                .is_none()
                && servers::tasks_of_uid(*u) == 0
        })
        .expect("a free uid")
}

/// A threading server of its own code (socketserver.ThreadingTCPServer, a thread per
/// connection that reads until the client closes): nothing porttune can recognise.
const OWN_PY: &str = r#"
import socketserver
class H(socketserver.BaseRequestHandler):
    def handle(self):
        while self.request.recv(64):
            pass
socketserver.ThreadingTCPServer.daemon_threads = True
socketserver.ThreadingTCPServer(("127.0.0.1", 8090), H).serve_forever()
"#;

/// Ten tasks of the same user that hold no connections (RLIMIT_NPROC counts them too).
const HOG_PY: &str = "import threading, time\nfor _ in range(9): threading.Thread(target=time.sleep, args=(120,), daemon=True).start()\ntime.sleep(120)\n";

/// `python3 ARGS` as `uid`, under RLIMIT_NPROC `nproc` (soft and hard).
fn python_as(dir: &std::path::Path, uid: u32, nproc: u64, args: &[&str]) -> Server {
    let child = Command::new("setpriv")
        .args([
            &format!("--reuid={uid}"),
            &format!("--regid={uid}"),
            "--clear-groups",
            "--",
            "prlimit",
            &format!("--nproc={nproc}:{nproc}"),
            "--nofile=4096:4096",
            "python3",
        ])
        .args(args)
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start python3");
    Server {
        child,
        name: "python3",
    }
}

/// `python3 -m http.server` as `uid`, under RLIMIT_NPROC `nproc` (soft and hard), serving an
/// empty directory.
fn start(dir: &std::path::Path, uid: u32, nproc: u64) -> Server {
    let port = PORT.to_string();
    let srv = python_as(
        dir,
        uid,
        nproc,
        &["-m", "http.server", "--bind", "127.0.0.1", &port],
    );
    servers::wait_listening(PORT);
    srv
}

/// Open connections with an unfinished request until `max`; those the server still holds
/// after it has had time to start (or fail to start) their threads.
fn hold(max: u64) -> u64 {
    let conns: Vec<_> = (0..max)
        .filter_map(|_| protocols::http_partial(PORT).ok())
        .collect();
    std::thread::sleep(Duration::from_millis(500));
    conns.iter().filter(|c| !protocols::refused(c)).count() as u64
}

#[test]
#[ignore = "needs root, unshare -n, setpriv and python3"]
fn python_http_server_thread_per_connection_is_bound_by_nproc() {
    if !need("python_http_server_thread_per_connection_is_bound_by_nproc") {
        return;
    }
    servers::in_netns(|| {
        let dir = tempfile::tempdir().unwrap();
        std::fs::set_permissions(
            dir.path(),
            std::os::unix::fs::PermissionsExt::from_mode(0o755),
        )
        .unwrap();
        let uid = fresh_uid();
        for nproc in [40, 80] {
            let srv = start(dir.path(), uid, nproc);
            let v = servers::check_pid(srv.pid(), &[]);
            assert_eq!(v["prediction"]["bottleneck"], "tasks", "{v}");
            let predicted = v["prediction"]["ceiling"].as_u64().unwrap();
            let tasks = servers::ceiling(&v, "tasks");
            assert!(
                tasks["why"]
                    .as_str()
                    .unwrap()
                    .contains("thread per connection"),
                "{tasks}"
            );
            let held = hold(predicted + 20);
            eprintln!(
                "python http.server: RLIMIT_NPROC {nproc}: predicted {predicted} (tasks), held {held}"
            );
            assert!(
                held.abs_diff(predicted) <= 1,
                "held {held}, predicted {predicted}"
            );
            drop(srv);
        }

        // application code with --threads-per-conn 1: the user's other tasks count too
        let own = servers::write(dir.path(), "own.py", OWN_PY);
        let hog = python_as(dir.path(), uid, 40, &["-c", HOG_PY]);
        let srv = python_as(dir.path(), uid, 40, &[&own]);
        servers::wait_listening(PORT);
        let until = std::time::Instant::now() + Duration::from_secs(5);
        while servers::tasks_of_uid(uid) < 11 && std::time::Instant::now() < until {
            std::thread::sleep(Duration::from_millis(50));
        }
        let v = servers::check_pid(srv.pid(), &[]);
        assert_ne!(
            v["prediction"]["bottleneck"], "tasks",
            "not recognised: {v}"
        );
        let v = servers::check_pid(srv.pid(), &["--threads-per-conn", "1"]);
        assert_eq!(v["prediction"]["bottleneck"], "tasks", "{v}");
        let predicted = v["prediction"]["ceiling"].as_u64().unwrap();
        assert_eq!(predicted, 40 - 10 - 1, "{v}");
        let held = hold(predicted + 20);
        eprintln!(
            "own threading server beside 10 tasks of its user: RLIMIT_NPROC 40: predicted {predicted} (tasks, --threads-per-conn 1), held {held}"
        );
        assert!(
            held.abs_diff(predicted) <= 1,
            "held {held}, predicted {predicted}"
        );
        drop((srv, hog));
    });
}
