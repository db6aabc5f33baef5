//! The other user's process: a process of `nobody` (started through `setpriv`) whose command
//! line names configuration files it cannot read itself (root-only files, a 0700 directory,
//! its own symbolic link to a root-only file, a readable file that includes a root-only
//! one). Root porttune reads them as `nobody` would: not at all. It says so ("not readable
//! by uid 65534"), uses none of their numbers and prints none of their content. Positive
//! controls: the same files made readable (to `nobody`, or to a group the process holds)
//! are read, so the refusals are the credentials at work, not a reader that reads nothing.
//!
//! The fake servers are one small program (it only sleeps) copied under the server's name:
//! porttune recognises a server by its executable's name and reads its command line, which
//! any user controls; that is the attack.

#![cfg(target_os = "linux")]

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// What a planted file says: a number porttune would use, and a marker that must never be
/// printed.
const SECRET: &str = "SECRET-7f3a";
const NUMBER: u64 = 4242;

fn need_tools(test: &str) -> bool {
    common::need_root_and_setpriv(test)
        && common::need_tool(test, "cc", &["--version"], "apt-get install gcc")
}

/// A directory of fake servers (0755): one program that sleeps whatever its arguments, under
/// each server's name.
fn fakes(d: &Path) -> PathBuf {
    let bin = d.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let src = bin.join("sleeper.c");
    std::fs::write(
        &src,
        "#include <unistd.h>\nint main(void){for(int i=0;i<600;i++)sleep(1);return 0;}\n",
    )
    .unwrap();
    let st = Command::new("cc")
        .arg("-o")
        .arg(bin.join("sleeper"))
        .arg(&src)
        .status()
        .unwrap();
    assert!(st.success(), "cc sleeper.c");
    for name in ["nginx", "haproxy", "postgres", "mysqld", "redis-server"] {
        std::fs::copy(bin.join("sleeper"), bin.join(name)).unwrap();
        chmod(&bin.join(name), 0o755);
    }
    chmod(&bin, 0o755);
    chmod(d, 0o755);
    bin
}

fn chmod(p: &Path, mode: u32) {
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// A process of uid/gid 65534 (extra groups `groups`), started in `cwd`; killed by its PID
/// on drop.
struct Nobody(Child);

impl Nobody {
    fn start(exe: &Path, args: &[&str], cwd: &Path, groups: &str) -> Nobody {
        let mut c = Command::new("setpriv");
        c.args(["--reuid=65534", "--regid=65534"]);
        if groups.is_empty() {
            c.arg("--clear-groups");
        } else {
            c.arg(format!("--groups={groups}"));
        }
        let child = c
            .arg("--")
            .arg(exe)
            .args(args)
            .current_dir(cwd)
            .stdin(Stdio::null())
            .spawn()
            .unwrap();
        let me = Nobody(child);
        // setpriv has exec'd the fake when /proc shows its executable.
        let exe = exe.canonicalize().unwrap();
        let until = Instant::now() + Duration::from_secs(5);
        while Instant::now() < until {
            let exe_now = std::fs::read_link(format!("/proc/{}/exe", me.pid()));
            if exe_now.is_ok_and(|p| p == exe) {
                return me;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        panic!("{} did not start as nobody", exe.display());
    }
    fn pid(&self) -> u32 {
        self.0.id()
    }
}

impl Drop for Nobody {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `porttune check --pid PID --save snap.json --format json`: the saved snapshot and all
/// that was printed. Asserts that nothing of a planted file reached the output.
fn check(d: &Path, pid: u32) -> (serde_json::Value, String) {
    let snap = d.join(format!("snap-{pid}.json"));
    let out: Output = Command::new(common::bin())
        .args([
            "check",
            "--pid",
            &pid.to_string(),
            "--format",
            "json",
            "--save",
        ])
        .arg(&snap)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.code().is_some_and(|c| c <= 1), "{text}");
    let saved = std::fs::read_to_string(&snap).unwrap();
    assert!(!text.contains(SECRET) && !saved.contains(SECRET), "{text}");
    (serde_json::from_str(&saved).unwrap(), text)
}

fn notes(v: &serde_json::Value) -> String {
    v["notes"].to_string()
}

/// A planted tree: `pub/` (0755) with `secret.conf` (0600 root), `group.conf` (0640
/// root:root), `gread.conf` (0640 root:4242) and `link.conf` (nobody's symbolic link to
/// secret.conf); `priv/` (0700 root) with `open.conf` (0644). Each holds `body`.
fn plant(d: &Path, body: &str) {
    let (p, q) = (d.join("pub"), d.join("priv"));
    std::fs::create_dir_all(&p).unwrap();
    std::fs::create_dir_all(&q).unwrap();
    chmod(&p, 0o755);
    chmod(&q, 0o700);
    for (dir, name, mode) in [
        (&p, "secret.conf", 0o600),
        (&p, "group.conf", 0o640),
        (&p, "gread.conf", 0o640),
        (&q, "open.conf", 0o644),
    ] {
        std::fs::write(dir.join(name), body).unwrap();
        chmod(&dir.join(name), mode);
    }
    std::os::unix::fs::chown(p.join("gread.conf"), Some(0), Some(4242)).unwrap();
    std::os::unix::fs::symlink(p.join("secret.conf"), p.join("link.conf")).unwrap();
    std::os::unix::fs::lchown(p.join("link.conf"), Some(65534), Some(65534)).unwrap();
}

/// The files nobody cannot read, as named on a command line, and the directory it runs in.
fn unreadable(d: &Path) -> Vec<(String, PathBuf)> {
    let (p, q) = (d.join("pub"), d.join("priv"));
    vec![
        (p.join("secret.conf").display().to_string(), p.clone()),
        (p.join("group.conf").display().to_string(), p.clone()),
        (p.join("link.conf").display().to_string(), p.clone()),
        (q.join("open.conf").display().to_string(), p.clone()),
        // relative to a working directory nobody cannot search
        ("open.conf".to_string(), q.clone()),
    ]
}

#[test]
#[ignore = "needs root, setpriv and cc"]
fn nginx_config_named_by_nobody_is_read_as_nobody() {
    if !need_tools("nginx_config_named_by_nobody_is_read_as_nobody") {
        return;
    }
    let d = tempfile::tempdir().unwrap();
    let bin = fakes(d.path());
    plant(
        d.path(),
        &format!("events {{ worker_connections {NUMBER}; }}\n# {SECRET}\n"),
    );
    for (conf, cwd) in unreadable(d.path()) {
        // `-p .`: nginx resolves a relative -c against its prefix (here its working directory)
        let p = Nobody::start(&bin.join("nginx"), &["-p", ".", "-c", &conf], &cwd, "");
        let (v, _) = check(d.path(), p.pid());
        assert_eq!(
            v["runtime"]["nginx"]["worker_connections"], 512,
            "{conf}: {v}"
        );
        assert!(
            notes(&v).contains("not readable by uid 65534"),
            "{conf}: {v}"
        );
    }
    // a readable main file that includes a root-only one: the include is refused
    let main = d.path().join("pub/main.conf");
    std::fs::write(&main, "events { include secret.conf; }\n").unwrap();
    chmod(&main, 0o644);
    let p = Nobody::start(
        &bin.join("nginx"),
        &["-c", &main.display().to_string()],
        d.path(),
        "",
    );
    let (v, _) = check(d.path(), p.pid());
    let n = notes(&v);
    assert!(n.contains("secret.conf: not readable by uid 65534"), "{v}");
    assert!(n.contains("main.conf:1"), "{v}");
    // controls: a group the process holds reads gread.conf; made world-readable, secret.conf
    let gread = d.path().join("pub/gread.conf").display().to_string();
    let p = Nobody::start(&bin.join("nginx"), &["-c", &gread], d.path(), "4242");
    let (v, _) = check(d.path(), p.pid());
    assert_eq!(v["runtime"]["nginx"]["worker_connections"], NUMBER, "{v}");
    chmod(&d.path().join("pub/secret.conf"), 0o644);
    let secret = d.path().join("pub/secret.conf").display().to_string();
    let p = Nobody::start(&bin.join("nginx"), &["-c", &secret], d.path(), "");
    let (v, _) = check(d.path(), p.pid());
    assert_eq!(v["runtime"]["nginx"]["worker_connections"], NUMBER, "{v}");
}

#[test]
#[ignore = "needs root, setpriv and cc"]
fn haproxy_config_named_by_nobody_is_read_as_nobody() {
    if !need_tools("haproxy_config_named_by_nobody_is_read_as_nobody") {
        return;
    }
    let d = tempfile::tempdir().unwrap();
    let bin = fakes(d.path());
    plant(
        d.path(),
        &format!("global\n  maxconn {NUMBER}\n  # {SECRET}\nfrontend f\n  bind :80\n"),
    );
    for (conf, cwd) in unreadable(d.path()) {
        let p = Nobody::start(&bin.join("haproxy"), &["-f", &conf], &cwd, "");
        let (v, _) = check(d.path(), p.pid());
        assert!(
            v["runtime"]["haproxy"]["global_maxconn"].is_null(),
            "{conf}: {v}"
        );
        assert!(
            notes(&v).contains("not readable by uid 65534"),
            "{conf}: {v}"
        );
    }
    // -f of a directory nobody cannot search
    let p = Nobody::start(&bin.join("haproxy"), &["-f", "/root"], d.path(), "");
    let (v, _) = check(d.path(), p.pid());
    assert!(notes(&v).contains("not readable by uid 65534"), "{v}");
    chmod(&d.path().join("pub/secret.conf"), 0o644);
    let secret = d.path().join("pub/secret.conf").display().to_string();
    let p = Nobody::start(&bin.join("haproxy"), &["-f", &secret], d.path(), "");
    let (v, _) = check(d.path(), p.pid());
    assert_eq!(v["runtime"]["haproxy"]["global_maxconn"], NUMBER, "{v}");
}

#[test]
#[ignore = "needs root, setpriv and cc"]
fn postgres_and_mysql_configs_named_by_nobody_are_read_as_nobody() {
    if !need_tools("postgres_and_mysql_configs_named_by_nobody_are_read_as_nobody") {
        return;
    }
    let d = tempfile::tempdir().unwrap();
    let bin = fakes(d.path());
    plant(
        d.path(),
        &format!("[mysqld]\nmax_connections = {NUMBER}\n# {SECRET}\n"),
    );
    let pg_body = format!("max_connections = {NUMBER}\n# {SECRET}\n");
    for (conf, cwd) in unreadable(d.path()) {
        let p = Nobody::start(
            &bin.join("mysqld"),
            &[&format!("--defaults-file={conf}")],
            &cwd,
            "",
        );
        let (v, _) = check(d.path(), p.pid());
        assert!(
            v["runtime"]["mysql"]["max_connections"].is_null(),
            "{conf}: {v}"
        );
        assert!(
            notes(&v).contains("not readable by uid 65534"),
            "{conf}: {v}"
        );
    }
    // a readable my.cnf that !includes a root-only file
    let my = d.path().join("pub/my.cnf");
    std::fs::write(
        &my,
        format!("!include {}\n", d.path().join("pub/secret.conf").display()),
    )
    .unwrap();
    chmod(&my, 0o644);
    let p = Nobody::start(
        &bin.join("mysqld"),
        &[&format!("--defaults-file={}", my.display())],
        d.path(),
        "",
    );
    let (v, _) = check(d.path(), p.pid());
    assert!(v["runtime"]["mysql"]["max_connections"].is_null(), "{v}");
    assert!(
        notes(&v).contains("secret.conf: not readable by uid 65534; not read"),
        "{v}"
    );

    // PostgreSQL: -D of a directory nobody cannot search, and -c config_file= of a root-only file
    let pgdata = d.path().join("priv");
    std::fs::write(pgdata.join("postgresql.conf"), &pg_body).unwrap();
    std::fs::write(d.path().join("pub/secret.conf"), &pg_body).unwrap();
    let cf = format!("config_file={}", d.path().join("pub/secret.conf").display());
    for args in [
        vec!["-D".to_string(), pgdata.display().to_string()],
        vec!["-c".to_string(), cf.clone()],
    ] {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let p = Nobody::start(&bin.join("postgres"), &args, d.path(), "");
        let (v, _) = check(d.path(), p.pid());
        assert!(
            v["runtime"]["postgres"]["max_connections"].is_null(),
            "{args:?}: {v}"
        );
        assert!(
            notes(&v).contains("not readable by uid 65534; not read"),
            "{args:?}: {v}"
        );
    }
    chmod(&d.path().join("pub/secret.conf"), 0o644);
    let p = Nobody::start(&bin.join("postgres"), &["-c", &cf], d.path(), "");
    let (v, _) = check(d.path(), p.pid());
    assert_eq!(
        v["runtime"]["postgres"]["max_connections"]["value"], NUMBER,
        "{v}"
    );
}

/// A process titled `redis-server 127.0.0.1:PORT` that does not listen there: root porttune
/// does not dial the address (another program listens there and sees no connection).
#[test]
#[ignore = "needs root, setpriv and cc"]
fn redis_title_is_not_dialed() {
    if !need_tools("redis_title_is_not_dialed") {
        return;
    }
    let d = tempfile::tempdir().unwrap();
    let bin = fakes(d.path());
    common::servers::in_netns(|| {
        let decoy = std::net::TcpListener::bind("127.0.0.1:6399").unwrap();
        decoy.set_nonblocking(true).unwrap();
        let p = Nobody::start(&bin.join("redis-server"), &["127.0.0.1:6399"], d.path(), "");
        // the title as Redis writes it
        let (v, _) = {
            let title = format!("/proc/{}/cmdline", p.pid());
            assert!(
                std::fs::read_to_string(title)
                    .unwrap()
                    .contains("127.0.0.1:6399")
            );
            check(d.path(), p.pid())
        };
        assert!(
            decoy.accept().is_err(),
            "porttune connected to an address the process does not listen on"
        );
        assert!(v["runtime"]["redis_maxclients"].is_null(), "{v}");
        assert!(notes(&v).contains("not dialed"), "{v}");
    });
}

/// A fake `redis-server` of nobody's that listens on a Unix socket (`PATH MODE`): `full`
/// fills its own accept queue (listen backlog 0, one pending connection) and never
/// accepts; `swap:OTHER` replaces its socket's path by a symbolic link to OTHER (another
/// service's socket) after binding it.
fn unix_fake(d: &Path) -> PathBuf {
    let dir = d.join("unixbin");
    std::fs::create_dir_all(&dir).unwrap();
    let src = dir.join("listener.c");
    std::fs::write(
        &src,
        r#"#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
int main(int argc, char **argv) {
  if (argc < 3) return 2;
  struct sockaddr_un a; memset(&a, 0, sizeof a); a.sun_family = AF_UNIX;
  strncpy(a.sun_path, argv[1], sizeof a.sun_path - 1);
  int s = socket(AF_UNIX, SOCK_STREAM, 0); unlink(argv[1]);
  if (bind(s, (struct sockaddr *)&a, sizeof a) || listen(s, 0)) return 1;
  if (!strcmp(argv[2], "full")) {
    for (int i = 0; i < 8; i++) {
      int c = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
      if (connect(c, (struct sockaddr *)&a, sizeof a)) break;
    }
  } else if (!strncmp(argv[2], "swap:", 5)) {
    unlink(argv[1]);
    if (symlink(argv[2] + 5, argv[1])) return 1;
  }
  for (int i = 0; i < 600; i++) sleep(1);
  return 0;
}
"#,
    )
    .unwrap();
    let exe = dir.join("redis-server");
    let st = Command::new("cc")
        .arg("-o")
        .arg(&exe)
        .arg(&src)
        .status()
        .unwrap();
    assert!(st.success(), "cc listener.c");
    chmod(&dir, 0o755);
    chmod(d, 0o755);
    exe
}

/// `check --pid PID` (JSON) that must end within `secs`: killed and failed otherwise.
fn check_within(pid: u32, secs: u64) -> (serde_json::Value, String) {
    let mut c = Command::new(common::bin())
        .args(["check", "--pid", &pid.to_string(), "--format", "json"])
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let until = Instant::now() + Duration::from_secs(secs);
    while c.try_wait().unwrap().is_none() {
        if Instant::now() > until {
            let _ = c.kill();
            let _ = c.wait();
            panic!("check --pid {pid} did not end within {secs} s");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = c.wait_with_output().unwrap();
    let v = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!("{e}: {}", String::from_utf8_lossy(&out.stderr));
    });
    (v, String::from_utf8_lossy(&out.stderr).into_owned())
}

/// Redis on a Unix socket, played by nobody: a listener that never accepts (its queue full)
/// does not hold root porttune (before: connect(2) waited forever); a socket path swapped
/// for a link to root's own listener is not dialed (the listening end is root's, not the
/// process's user; root's listener sees no connection). Control: a real redis-server of
/// nobody's on a Unix socket only is asked, and its maxclients read.
#[test]
#[ignore = "needs root, setpriv, cc and redis-server"]
fn redis_unix_socket_is_dialed_as_the_process_with_a_time_limit() {
    let test = "redis_unix_socket_is_dialed_as_the_process_with_a_time_limit";
    if !need_tools(test)
        || !common::need_tool(
            test,
            "redis-server",
            &["--version"],
            "apt-get install redis-server",
        )
    {
        return;
    }
    let d = tempfile::tempdir().unwrap();
    let exe = unix_fake(d.path());
    let run = d.path().join("run");
    std::fs::create_dir_all(&run).unwrap();
    std::os::unix::fs::chown(&run, Some(65534), Some(65534)).unwrap();
    chmod(&run, 0o755);
    // 1. a full accept queue
    let sock = run.join("full.sock").display().to_string();
    let p = Nobody::start(&exe, &[&sock, "full"], d.path(), "");
    wait_for(Path::new(&sock));
    let t = Instant::now();
    let (v, _) = check_within(p.pid(), 20);
    assert!(t.elapsed() < Duration::from_secs(10), "{:?}", t.elapsed());
    assert!(!asked(&v), "{v}");
    assert!(notes(&v).contains("not accepted within"), "{v}");
    drop(p);
    // 2. the path swapped for a link to root's listener (0666: nobody may connect to it)
    let decoy_path = d.path().join("root.sock");
    let decoy = std::os::unix::net::UnixListener::bind(&decoy_path).unwrap();
    decoy.set_nonblocking(true).unwrap();
    chmod(&decoy_path, 0o666);
    let sock = run.join("swap.sock").display().to_string();
    let swap = format!("swap:{}", decoy_path.display());
    let p = Nobody::start(&exe, &[&sock, &swap], d.path(), "");
    wait_swapped(&sock);
    let (v, _) = check_within(p.pid(), 20);
    assert!(
        decoy.accept().is_err(),
        "porttune dialed root's socket: {v}"
    );
    assert!(!asked(&v), "{v}");
    assert!(
        notes(&v).contains("the socket file is uid 0's, not uid 65534's; not dialed"),
        "{v}"
    );
    drop(p);
    // 3. a link to root's listener whose file was handed to nobody (chown): the file is
    // nobody's, the listening end is not: the connection is dropped before a byte is sent
    let handed = d.path().join("handed.sock");
    let root_l = std::os::unix::net::UnixListener::bind(&handed).unwrap();
    std::os::unix::fs::chown(&handed, Some(65534), Some(65534)).unwrap();
    let sock = run.join("swap2.sock").display().to_string();
    let swap = format!("swap:{}", handed.display());
    let p = Nobody::start(&exe, &[&sock, &swap], d.path(), "");
    wait_swapped(&sock);
    let (v, _) = check_within(p.pid(), 20);
    assert!(
        notes(&v).contains("the listening end is uid 0, not PID"),
        "{v}"
    );
    root_l.set_nonblocking(true).unwrap();
    if let Ok((mut c, _)) = root_l.accept() {
        use std::io::Read;
        c.set_nonblocking(false).unwrap();
        c.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
        let mut got = Vec::new();
        let _ = c.read_to_end(&mut got);
        assert!(got.is_empty(), "porttune sent {got:?} to root's socket");
    }
    drop(p);
    // control: a real Redis of nobody's on a Unix socket only
    let sock = run.join("redis.sock").display().to_string();
    let real = which("redis-server");
    let p = Nobody::start(
        &real,
        &[
            "--port",
            "0",
            "--unixsocket",
            &sock,
            "--maxclients",
            "123",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            &run.display().to_string(),
        ],
        d.path(),
        "",
    );
    wait_for(Path::new(&sock));
    let (v, _) = check_within(p.pid(), 20);
    assert!(asked(&v), "{v}");
    let c = common::servers::ceiling(&v, "redis_maxclients");
    assert_eq!(c["value"], 123, "{v}");
}

/// Whether check's redis_maxclients came from asking the server.
fn asked(v: &serde_json::Value) -> bool {
    common::servers::ceiling(v, "redis_maxclients")["why"]
        .as_str()
        .is_some_and(|w| w.contains("INFO clients on"))
}

/// Wait until the fake has replaced its socket at `sock` by a symbolic link.
fn wait_swapped(sock: &str) {
    let until = Instant::now() + Duration::from_secs(5);
    while std::fs::symlink_metadata(sock).map_or(true, |m| !m.file_type().is_symlink()) {
        assert!(Instant::now() < until, "the fake did not swap its socket");
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn wait_for(p: &Path) {
    let until = Instant::now() + Duration::from_secs(5);
    while !p.exists() {
        assert!(Instant::now() < until, "{} did not appear", p.display());
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn which(prog: &str) -> PathBuf {
    std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
        .map(|d| d.join(prog))
        .find(|p| p.is_file())
        .unwrap_or_else(|| panic!("{prog} not on PATH"))
}
