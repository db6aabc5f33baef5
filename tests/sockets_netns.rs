//! The socket facts `check` reads through sock_diag (filtered by the kernel) against the same
//! facts read from /proc/net/tcp{,6}, on one private network namespace holding listeners on
//! IPv4 and IPv6, ports bound without listening, connections, and ports inside and outside
//! the ephemeral range. And `check` opens nothing for writing.
#![cfg(target_os = "linux")]

mod common;

use std::collections::BTreeSet;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Command, Stdio};

use porttune::snapshot::PortRange;
use porttune::snapshot::linux::{FdTable, Roots, tcp_sockets, tcp_table};
use socket2::{Domain, Socket, Type};

/// Set inside the namespace by the outer test: run the inner part.
const INNER: &str = "PORTTUNE_SOCKETS_INNER";

/// Run the test named `name` of this binary again in a private network namespace, with
/// [`INNER`] set; its own assertions decide.
fn in_netns(name: &str) {
    let exe = std::env::current_exe().unwrap();
    let out = Command::new("timeout")
        .args(["60", "unshare", "-n"])
        .arg(exe)
        .args(["--exact", name, "--include-ignored", "--nocapture"])
        .env(INNER, "1")
        .output()
        .expect("run unshare -n");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains("1 passed"),
        "the inner test did not run: {text}"
    );
}

fn sh(cmd: &str) {
    let st = Command::new("timeout")
        .args(["10", "sh", "-c", cmd])
        .status()
        .unwrap();
    assert!(st.success(), "{cmd}");
}

fn listen6(addr: &str, v6only: bool) -> Socket {
    let s = Socket::new(Domain::IPV6, Type::STREAM, None).unwrap();
    s.set_only_v6(v6only).unwrap();
    s.bind(&addr.parse::<SocketAddr>().unwrap().into()).unwrap();
    s.listen(16).unwrap();
    s
}

/// Another process holding sockets bound without listen (a client that bound before connect,
/// a server not yet listening), inside the range.
fn bound_only_holder() -> std::process::Child {
    let mut child = Command::new("python3")
        .args([
            "-c",
            "import socket,time\n\
             a=socket.socket(); a.bind(('127.0.0.1',40030))\n\
             b=socket.socket(socket.AF_INET6); b.bind(('::1',40040))\n\
             print('up',flush=True); time.sleep(30)",
        ])
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3 (see the README's prerequisites)");
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(child.stdout.as_mut().unwrap()),
        &mut line,
    )
    .unwrap();
    assert_eq!(line.trim(), "up");
    child
}

#[test]
#[ignore = "needs root and unshare -n"]
fn sock_diag_reads_what_proc_net_tcp_shows() {
    if std::env::var_os(INNER).is_none() {
        if common::need_root("sock_diag_reads_what_proc_net_tcp_shows") {
            in_netns("sock_diag_reads_what_proc_net_tcp_shows");
        }
        return;
    }
    sh("ip link set lo up && echo '40000 40999' > /proc/sys/net/ipv4/ip_local_port_range");
    // Listeners: IPv4 outside and inside the range, IPv6-only inside, dual-stack outside.
    let l4 = TcpListener::bind((Ipv4Addr::LOCALHOST, 5000)).unwrap();
    let l4in = TcpListener::bind((Ipv4Addr::UNSPECIFIED, 40010)).unwrap();
    let l6in = listen6("[::1]:40020", true);
    let l6dual = listen6("[::]:6000", false);
    let mut holder = bound_only_holder();
    // Connections (client ports from the range), IPv4 and IPv6; and sockets that are not TCP.
    let c1 = TcpStream::connect((Ipv4Addr::LOCALHOST, 5000)).unwrap();
    let c2 = TcpStream::connect((Ipv4Addr::LOCALHOST, 5000)).unwrap();
    let c3 = TcpStream::connect((Ipv6Addr::LOCALHOST, 40020)).unwrap();
    let a1 = l4.accept().unwrap();
    let a2 = l4.accept().unwrap();
    let a3 = l6in.accept().unwrap();
    let unix = std::os::unix::net::UnixStream::pair().unwrap();
    let udp = std::net::UdpSocket::bind((Ipv4Addr::LOCALHOST, 40050)).unwrap();

    let mut notes = Vec::new();
    let diag = tcp_sockets(&Roots::default(), "self", &mut notes);
    let text = tcp_table(Path::new("/proc"), "self");
    assert!(notes.is_empty(), "sock_diag was not used: {notes:?}");
    let want: BTreeSet<u16> = [5000, 6000, 40010, 40020].into();
    assert_eq!(diag.listen_ports, want);
    assert_eq!(diag.listen_ports, text.listen_ports);
    assert_eq!(diag.listen_inodes, text.listen_inodes);
    assert_eq!(diag.listen_inodes.len(), 4);
    // Ports the range loses to bind(): the listeners' inside it, by either reader. Ports
    // bound without listen (40030, 40040) are in neither, as /proc/net/tcp never shows them.
    let range = PortRange {
        lo: 40000,
        hi: 40999,
    };
    assert_eq!(diag.bound_in(range), vec![40010, 40020]);
    assert_eq!(diag.bound_in(range), text.bound_in(range));

    // This process's sockets: told apart by their protocol name (sock_diag way) or by the
    // table's inodes: 4 listeners, 6 connection ends; the unix pair and UDP are neither.
    let fds = FdTable::read(Path::new("/proc"), "self").unwrap();
    let by_name = fds.tcp_sockets(&diag);
    let by_table = fds.tcp_sockets(&text);
    assert_eq!((by_name.listening, by_name.connections), (4, 6));
    assert_eq!(by_name, by_table);
    assert_eq!(by_name.read, by_name.total);
    // The kernel's counts: 6 IPv4 TCP sockets in sockstat, 4 IPv6 in sockstat6, both in use
    // (the bound-only sockets are not); nothing iterated.
    let counts = porttune::snapshot::linux::sockstat(Path::new("/proc"), "self");
    assert_eq!(counts.tcp_inuse, Some(10), "{counts:?}");
    let v4 = porttune::snapshot::linux::parse_sockstat(
        &std::fs::read_to_string("/proc/self/net/sockstat").unwrap(),
    );
    assert_eq!(v4.tcp_inuse, Some(6));
    // What a flood of port 5000 sees the server hold: the two accepted ends, by sock_diag.
    let d = porttune::snapshot::sockdiag::Diag::open().unwrap();
    let on_5000: BTreeSet<u64> = d
        .connections_on(5000)
        .unwrap()
        .sockets
        .iter()
        .map(|s| s.inode)
        .collect();
    assert_eq!(on_5000.len(), 2, "{on_5000:?}");
    assert!(on_5000.is_disjoint(&diag.listen_inodes));
    assert_eq!(
        porttune::snapshot::host::server_held(&[std::process::id()], 5000),
        Some(2)
    );
    holder.kill().unwrap();
    holder.wait().unwrap();
    drop((l4, l4in, l6in, l6dual, c1, c2, c3, a1, a2, a3, unix, udp));
}

/// `check --pid` of a process in another network namespace reads that namespace's listeners
/// (the sock_diag socket is opened there), as its /proc/PID/net/tcp shows them.
#[test]
#[ignore = "needs root and unshare -n"]
fn another_namespace_is_read_there() {
    if !common::need_root("another_namespace_is_read_there") {
        return;
    }
    let mut child = Command::new("unshare")
        .args([
            "-n",
            "python3",
            "-c",
            "import socket,time\n\
             s=socket.socket(socket.AF_INET6); s.bind(('::',41234)); s.listen()\n\
             print('up',flush=True); time.sleep(30)",
        ])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(child.stdout.as_mut().unwrap()),
        &mut line,
    )
    .unwrap();
    let pid = child.id().to_string();
    let mut notes = Vec::new();
    let diag = tcp_sockets(&Roots::default(), &pid, &mut notes);
    let text = tcp_table(Path::new("/proc"), &pid);
    assert!(notes.is_empty(), "{notes:?}");
    assert_eq!(diag.listen_ports, BTreeSet::from([41234]));
    assert_eq!(diag.listen_ports, text.listen_ports);
    assert_eq!(diag.listen_inodes, text.listen_inodes);
    // …and the process is seen holding it.
    let held = FdTable::read(Path::new("/proc"), &pid)
        .unwrap()
        .tcp_sockets(&diag);
    assert_eq!((held.listening, held.connections), (1, 0));
    child.kill().unwrap();
    child.wait().unwrap();
}

/// `check` and `doctor` open nothing for writing, nor create, rename or remove anything: they
/// learn whether /proc/sys is writable from access(2) (strace shows every call of porttune's
/// own threads; the commands it runs, systemctl and the like, are theirs).
#[test]
#[ignore = "needs root and strace"]
fn check_opens_nothing_for_writing() {
    if !common::need_tool(
        "check_opens_nothing_for_writing",
        "strace",
        &["-V"],
        "apt-get install strace",
    ) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    for args in [&["check"][..], &["check", "--pid", "1"], &["doctor"]] {
        let log = dir.path().join("trace");
        let st = Command::new("timeout")
            .args([
                "30",
                "strace",
                "-f",
                "-qq",
                "-e",
                "trace=open,openat,openat2,creat,truncate,ftruncate,mkdir,mkdirat,unlink,unlinkat,rename,renameat,renameat2,execve",
                "-o",
            ])
            .arg(&log)
            .arg(common::bin())
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .unwrap();
        assert!(st.code().is_some_and(|c| c <= 1), "{args:?}: {st}");
        let trace = std::fs::read_to_string(&log).unwrap();
        assert!(trace.contains("/proc/sys/"), "nothing traced: {trace}");
        // Lines are `PID call(…)`; the processes that ran another program are not porttune.
        let pid = |l: &str| l.split_whitespace().next().unwrap_or("").to_string();
        let porttune = common::bin().display().to_string();
        let others: BTreeSet<String> = trace
            .lines()
            .filter(|l| l.contains("execve(") && !l.contains(&porttune))
            .map(pid)
            .collect();
        let opens = ["open(", "openat(", "openat2("];
        let changes = [
            "creat(",
            "truncate(",
            "mkdir(",
            "mkdirat(",
            "unlink(",
            "unlinkat(",
            "rename(",
            "renameat(",
            "renameat2(",
        ];
        let writes: Vec<&str> = trace
            .lines()
            .filter(|l| !others.contains(&pid(l)) && !l.contains("\"/dev/null\""))
            .filter(|l| {
                let open_w = opens.iter().any(|c| l.contains(c))
                    && ["O_WRONLY", "O_RDWR", "O_CREAT", "O_TRUNC"]
                        .iter()
                        .any(|f| l.contains(f));
                open_w || changes.iter().any(|c| l.contains(c))
            })
            .collect();
        assert!(writes.is_empty(), "{args:?} wrote: {writes:?}");
    }
}

/// On a read-only /proc/sys (a container's default) `check` says so and `doctor` says why,
/// learnt from access(2): a private mount namespace remounts /proc/sys read-only.
#[test]
#[ignore = "needs root and unshare -n"]
fn read_only_proc_sys_is_seen_without_opening_it() {
    if !common::need_root("read_only_proc_sys_is_seen_without_opening_it") {
        return;
    }
    let script = "set -e\nip link set lo up\nmount --bind /proc/sys /proc/sys\n\
                  mount -o remount,bind,ro /proc/sys\n\
                  \"$PORTTUNE\" check --format json > \"$OUT/check.json\" || true\n\
                  \"$PORTTUNE\" doctor --format json > \"$OUT/doctor.json\" || true\n";
    let dir = tempfile::tempdir().unwrap();
    let st = Command::new("timeout")
        .args([
            "30",
            "unshare",
            "-n",
            "-m",
            "--propagation",
            "private",
            "sh",
            "-c",
            script,
        ])
        .env("PORTTUNE", common::bin())
        .env("OUT", dir.path())
        .status()
        .unwrap();
    assert!(st.success(), "{st}");
    let check: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("check.json")).unwrap()).unwrap();
    let ro = check["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "ProcSysReadOnly")
        .cloned();
    assert!(
        ro.as_ref().is_some_and(|c| c["severity"] != "ok"),
        "{check}"
    );
    let doctor = std::fs::read_to_string(dir.path().join("doctor.json")).unwrap();
    assert!(doctor.contains("read-only /proc/sys"), "{doctor}");
}
