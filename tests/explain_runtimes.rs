//! The real corpus: the runtimes and the kernel print their connection-limit messages under
//! limits these tests choose (prlimit on processes they start, sysctls inside a private network
//! namespace), and `porttune explain` must name the right ceiling for what they printed.
//! Everything that opens connections runs in `unshare -n` on loopback, bounded in count and
//! time (the helper programs are in tests/fixtures/explain/).

mod common;

use std::process::{Command, Output, Stdio};

fn fixtures() -> String {
    format!("{}/tests/fixtures/explain", env!("CARGO_MANIFEST_DIR"))
}

fn all_output(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
}

/// `porttune explain --no-host --format json -` on `text`.
fn explain(text: &str) -> serde_json::Value {
    let out = assert_cmd::Command::new(common::bin())
        .args(["explain", "--no-host", "--format", "json", "-"])
        .write_stdin(text.to_string())
        .output()
        .unwrap();
    common::json(&out)
}

/// The patterns of an explanation's matches, in order.
fn pattern_ids(v: &serde_json::Value) -> Vec<&str> {
    v["matches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["pattern"].as_str().unwrap())
        .collect()
}

/// `text` (what a runtime printed) explains to `pattern` with `ceiling`.
fn assert_explains(text: &str, pattern: &str, ceiling: Option<&str>) -> serde_json::Value {
    let v = explain(text);
    let m = v["matches"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["pattern"] == pattern)
        .unwrap_or_else(|| panic!("no {pattern} in the explanation of:\n{text}\n→ {v}"))
        .clone();
    assert_eq!(
        m["ceiling"].as_str(),
        ceiling,
        "{pattern} ceiling; text:\n{text}"
    );
    m
}

/// Run `script` in a fresh network namespace with the fixtures directory as cwd.
fn netns(script: &str) -> String {
    let out = common::netns_sh(&format!("cd {}\n{script}", common::sh_quote(&fixtures())));
    all_output(&out)
}

fn need(test: &str, tool: &str, args: &[&str]) -> bool {
    common::need_tool(test, tool, args, "see .ci/run")
}

#[test]
#[ignore = "needs python3 and prlimit"]
fn python_select_above_fd_setsize() {
    if !need("python_select", "python3", &["--version"])
        || !need("python_select", "prlimit", &["--version"])
    {
        return;
    }
    // No connection: unconnected sockets up to fd 1100, then select() on the last.
    let out = Command::new("prlimit")
        .args(["--nofile=2048:2048", "python3", "limits.py", "select"])
        .current_dir(fixtures())
        .output()
        .unwrap();
    let text = all_output(&out);
    assert!(
        text.contains("filedescriptor out of range in select()"),
        "{text}"
    );
    assert_explains(&text, "python_select_fd_setsize", Some("select_fd_setsize"));
}

#[test]
#[ignore = "needs root and unshare -n, python3"]
fn python_emfile_and_eaddrnotavail() {
    if !common::need_root("python_errors") || !need("python_errors", "python3", &["--version"]) {
        return;
    }
    let text = netns(
        "prlimit --nofile=32:32 python3 limits.py connect\n\
         echo '40000 40007' > /proc/sys/net/ipv4/ip_local_port_range\n\
         python3 limits.py connect",
    );
    assert!(text.contains("[Errno 24] Too many open files"), "{text}");
    assert!(
        text.contains("[Errno 99] Cannot assign requested address"),
        "{text}"
    );
    let v = explain(&text);
    let ids = pattern_ids(&v);
    assert_eq!(ids, ["errno_emfile", "errno_eaddrnotavail"], "{text}");
    assert_eq!(v["matches"][0]["ceiling"], "process_fds");
    assert_eq!(v["matches"][1]["ceiling"], "ephemeral_ports");
}

#[test]
#[ignore = "needs root and unshare -n, go (golang-go)"]
fn go_accept4_socket_emfile_and_connect_eaddrnotavail() {
    if !common::need_root("go_errors") || !need("go_errors", "go", &["version"]) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("limits-go");
    let build = Command::new("go")
        .args(["build", "-o"])
        .arg(&bin)
        .arg("limits.go")
        .current_dir(fixtures())
        .env("GOFLAGS", "-mod=mod")
        .output()
        .unwrap();
    assert!(build.status.success(), "go build: {}", all_output(&build));
    // Go ≥ 1.19 raises its soft limit to the hard one, so both are lowered.
    let text = netns(&format!(
        "prlimit --nofile=32:32 {b}\n\
         echo '40000 40007' > /proc/sys/net/ipv4/ip_local_port_range\n\
         {b}",
        b = common::sh_quote(bin.to_str().unwrap())
    ));
    assert_explains(&text, "go_accept_emfile", Some("process_fds"));
    assert_explains(&text, "go_socket_emfile", Some("process_fds"));
    assert_explains(&text, "go_connect_eaddrnotavail", Some("ephemeral_ports"));
}

#[test]
#[ignore = "needs root and unshare -n, node (nodejs)"]
fn node_emfile_and_eaddrnotavail() {
    if !common::need_root("node_errors") || !need("node_errors", "node", &["--version"]) {
        return;
    }
    let text = netns(
        "prlimit --nofile=48:48 node limits.js\n\
         echo '40000 40007' > /proc/sys/net/ipv4/ip_local_port_range\n\
         node limits.js",
    );
    assert!(
        text.contains("EMFILE") && text.contains("EADDRNOTAVAIL"),
        "{text}"
    );
    assert_explains(&text, "node_emfile", Some("process_fds"));
    assert_explains(&text, "node_eaddrnotavail", Some("ephemeral_ports"));
}

#[test]
#[ignore = "needs root and unshare -n, java (a JDK: single-file source launch)"]
fn jvm_too_many_open_files() {
    if !common::need_root("jvm_emfile") || !need("jvm_emfile", "java", &["-version"]) {
        return;
    }
    let text = netns("prlimit --nofile=48:48 java Limits.java");
    assert!(text.contains("Too many open files"), "{text}");
    assert_explains(&text, "jvm_emfile", Some("process_fds"));
}

#[test]
#[ignore = "needs root and unshare -n, erl (erlang-nox)"]
fn erlang_emfile_and_port_table_system_limit() {
    if !common::need_root("erlang_errors") || !common::need_erl("erlang_errors") {
        return;
    }
    let text = netns(
        "prlimit --nofile=64:64 sh limits_erl.sh ''\n\
         sh limits_erl.sh '+Q 1024'",
    );
    assert!(text.contains("{error,emfile}"), "{text}");
    assert!(text.contains("{error,system_limit}"), "{text}");
    assert_explains(&text, "erlang_emfile", Some("process_fds"));
    let m = assert_explains(&text, "erlang_system_limit", Some("erlang_port_limit"));
    assert!(m["lift"].as_str().unwrap().contains("+Q"), "{m}");
}

#[test]
#[ignore = "needs erl (erlang-nox)"]
fn erlang_too_many_processes() {
    if !common::need_erl("erlang_too_many_processes") {
        return;
    }
    let out = Command::new("erl")
        .args([
            "+P", "1024", "-noshell", "-eval",
            "R=(catch [spawn(fun()->receive after 5000->ok end end)||_<-lists:seq(1,2000)]), io:format(\"~P~n\",[R,6]), timer:sleep(200), halt().",
        ])
        .env("ERL_CRASH_DUMP_SECONDS", "0")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let text = all_output(&out);
    assert!(text.contains("Too many processes"), "{text}");
    assert_explains(
        &text,
        "erlang_too_many_processes",
        Some("erlang_process_limit"),
    );
}

/// The Erlang shell prints the reason system_limit as "a system limit has been reached" and
/// the call under it: from spawn (`+P 1024`) it is the process table even without the
/// "Too many processes" report; from `bsl` it is a term too large, no connection limit.
#[test]
#[ignore = "needs erl (erlang-nox)"]
fn erlang_shell_system_limit_is_read_against_the_call_under_it() {
    if !common::need_erl("erlang_shell_system_limit") {
        return;
    }
    let shell = |input: &str| {
        let mut child = Command::new("timeout")
            .args(["30", "erl", "+P", "1024"])
            .env("ERL_CRASH_DUMP_SECONDS", "0")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(input.as_bytes()).unwrap();
        drop(stdin);
        all_output(&child.wait_with_output().unwrap())
    };
    let spawn = shell(
        "[spawn(fun() -> receive after 500 -> ok end end) || _ <- lists:seq(1,2000)].\ntimer:sleep(1000).\nhalt().\n",
    );
    assert!(
        spawn.contains("a system limit has been reached") && spawn.contains("spawn/"),
        "{spawn}"
    );
    // Without the emulator's own report, the shell's words and the call decide.
    let shell_only: String = spawn
        .lines()
        .filter(|l| !l.contains("Too many processes") && !l.contains("ERROR REPORT"))
        .collect::<Vec<_>>()
        .join("\n");
    assert_eq!(
        verdict(&shell_only),
        (
            "limit".into(),
            Some("erlang_process_limit".into()),
            "erlang_too_many_processes".into()
        ),
        "{shell_only}"
    );
    let bsl = shell("1 bsl (1 bsl 64).\nhalt().\n");
    assert!(bsl.contains("bsl/2"), "{bsl}");
    assert_eq!(
        verdict(&bsl),
        (
            "not_a_limit".into(),
            None,
            "erlang_system_limit_not_connections".into()
        ),
        "{bsl}"
    );
}

/// The seed's message, produced on Linux: a node boots with soft 1024, its limit is raised to
/// 4096 while it runs (prlimit --pid on the child this test started), and the loopback flood
/// stops at fd 1024 with `driver_select … fd=1024 is larger than the largest allowed fd=1023`.
/// `explain --pid` of that node names erlang_max_fds with the boot value 1024, says +Q will not
/// lift it, finds it still binding (exit 1) and shows the ErlangBootFds check.
#[test]
#[ignore = "needs root and unshare -n, erl (erlang-nox)"]
fn erlang_boot_fd_table_explained_on_the_running_node() {
    if !common::need_root("erlang_boot_fds") || !common::need_erl("erlang_boot_fds") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = common::sh_quote(dir.path().to_str().unwrap());
    let text = netns(&format!(
        "(ulimit -Sn 1024; ulimit -Hn 4096; exec sh limits_erl.sh '' {d}/go > {d}/node.txt 2>&1) &\n\
         EP=$!\n\
         for i in $(seq 1 100); do grep -q ready {d}/node.txt 2>/dev/null && break; sleep 0.1; done\n\
         prlimit --pid $EP --nofile=4096:4096\n\
         touch {d}/go\n\
         for i in $(seq 1 150); do grep -q held {d}/node.txt && break; sleep 0.1; done\n\
         rc=0\n\
         \"$PORTTUNE\" explain --pid $EP --scenario loopback --format json --file {d}/node.txt > {d}/explain.json || rc=$?\n\
         kill $EP; wait $EP 2>/dev/null\n\
         echo \"explain exit $rc\"\n\
         cat {d}/node.txt"
    ));
    assert!(
        text.contains("fd=1024 is larger than the largest allowed fd=1023"),
        "{text}"
    );
    assert!(
        text.contains("explain exit 1"),
        "still binding → exit 1: {text}"
    );
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("explain.json")).unwrap())
            .unwrap();
    let m = &v["matches"][0];
    assert_eq!(m["ceiling"], "erlang_max_fds", "{v}");
    assert_eq!(m["numbers"]["largest_allowed_fd"], 1023);
    assert!(
        m["implied"][0]
            .as_str()
            .unwrap()
            .contains("max_fds is 1,024")
    );
    assert!(m["not_lifted_by"].as_str().unwrap().contains("+Q"));
    let cur = &m["current"];
    assert_eq!(cur["binding"], true, "{v}");
    assert!(
        cur["why"].as_str().unwrap().contains("erts max_fds 1024"),
        "{cur}"
    );
    assert!(
        cur["checks"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["id"] == "ErlangBootFds"),
        "{cur}"
    );
    // The message's max_fds and the node's boot value agree, and the node has no fd to spare.
    assert!(cur["value"].as_u64().unwrap() <= 2, "{cur}");
}

#[test]
#[ignore = "needs root and unshare -n, nginx, python3"]
fn nginx_worker_connections_and_accept4_emfile() {
    if !common::need_root("nginx_errors") || !need("nginx_errors", "nginx", &["-v"]) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let conf = |wc: u32, rlimit: &str| {
        format!(
            "daemon off;\nworker_processes 1;\n{rlimit}\nerror_log {d}/error.log warn;\npid {d}/nginx.pid;\n\
             events {{ worker_connections {wc}; }}\n\
             http {{ access_log off; server {{ listen 127.0.0.1:18080; return 200 \"ok\\n\"; }} }}\n",
            d = dir.path().display()
        )
    };
    let run = |name: &str, text: String| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        let d = common::sh_quote(dir.path().to_str().unwrap());
        netns(&format!(
            "rm -f {d}/nginx.pid\n\
             nginx -c {c} -p {d} &\n\
             NP=$!\n\
             for i in $(seq 1 50); do [ -s {d}/nginx.pid ] && break; sleep 0.1; done\n\
             python3 hold.py 18080 40\n\
             kill $NP; wait $NP",
            c = common::sh_quote(path.to_str().unwrap())
        ));
        std::fs::read_to_string(dir.path().join("error.log")).unwrap_or_default()
    };
    // 16 worker_connections, 40 clients.
    let log = run("wc.conf", conf(16, ""));
    let m = assert_explains(
        &log,
        "nginx_worker_connections",
        Some("nginx_worker_connections"),
    );
    assert_eq!(m["numbers"]["worker_connections"], 16, "{log}");
    // worker_rlimit_nofile 24 below 1024 worker_connections, 40 clients: accept4() EMFILE.
    let log = run("nofile.conf", conf(1024, "worker_rlimit_nofile 24;"));
    assert_explains(&log, "nginx_emfile", Some("process_fds"));
    // The start-time warning when worker_connections exceed the fd limit (nginx -t, no traffic).
    let path = dir.path().join("t.conf");
    std::fs::write(&path, conf(1024, "")).unwrap();
    let out = Command::new("prlimit")
        .args(["--nofile=64:64", "nginx", "-t", "-p"])
        .arg(dir.path())
        .arg("-c")
        .arg(&path)
        .output()
        .unwrap();
    let text = all_output(&out);
    let m = assert_explains(
        &text,
        "nginx_worker_connections_exceed_nofile",
        Some("process_fds"),
    );
    assert_eq!(m["numbers"]["nofile"], 64, "{text}");
}

#[test]
#[ignore = "needs redis-server, prlimit, setpriv"]
fn redis_lowers_maxclients_to_the_fd_limit() {
    if !need("redis", "redis-server", &["--version"]) || !need("redis", "setpriv", &["--version"]) {
        return;
    }
    // Port 0: Redis listens nowhere and exits after its start-up checks. Without
    // CAP_SYS_RESOURCE it cannot raise the hard limit 64 that prlimit set.
    let out = Command::new("prlimit")
        .args([
            "--nofile=64:64",
            "setpriv",
            "--bounding-set=-sys_resource",
            "redis-server",
            "--port",
            "0",
            "--maxclients",
            "10000",
            "--save",
            "",
        ])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let text = all_output(&out);
    let m = assert_explains(&text, "redis_maxclients_nofile", Some("process_fds"));
    assert_eq!(m["numbers"]["maxclients"], 10000, "{text}");
    assert_eq!(m["numbers"]["fds_needed"], 10032, "{text}");
    assert!(text.contains("maxclients has been reduced to 32"), "{text}");
}

/// A listener with backlog 0 in a namespace gets SYNs from a source that never answers:
/// the kernel logs "Possible SYN flooding on port 127.0.0.1:PORT". `check` reads it back from
/// the kernel log as a KernelLog warning naming accept_queue, with the time seen.
#[test]
#[ignore = "needs root and unshare -n, python3 (raw socket), a readable kernel log"]
fn kernel_syn_flooding_is_evidence_in_check() {
    if !common::need_root("syn_flooding") || !need("syn_flooding", "python3", &["--version"]) {
        return;
    }
    // The kernel warns once per listener and rate-limits its net messages: try a few ports.
    for attempt in 0..3u32 {
        let port = 20000 + (std::process::id() % 20000) + attempt;
        netns(&format!(
            "ip route add 10.9.9.0/24 dev lo\npython3 syn.py {port} 8"
        ));
        let out = assert_cmd::Command::new(common::bin())
            .args(["check", "--format", "json"])
            .output()
            .unwrap();
        let v = common::json(&out);
        let want = format!("127.0.0.1:{port}.");
        let hit = v["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == "KernelLog" && c["message"].as_str().unwrap().contains(&want));
        if let Some(c) = hit {
            let msg = c["message"].as_str().unwrap();
            assert_eq!(c["severity"], "warning");
            assert!(msg.contains("accept_queue already hit"), "{msg}");
            assert!(
                msg.contains(" at 20") || msg.contains("last at 20") || msg.contains(" and 20"),
                "time seen: {msg}"
            );
            // The same line through explain.
            let line = msg.split('"').nth(1).unwrap();
            assert_explains(line, "kernel_syn_flooding", Some("accept_queue"));
            return;
        }
        std::thread::sleep(std::time::Duration::from_secs(5));
    }
    panic!("the kernel log never showed the SYN flooding message (is /dev/kmsg readable?)");
}

#[test]
#[ignore = "needs haproxy, prlimit, setpriv"]
fn haproxy_cannot_raise_its_fd_limit() {
    if !need("haproxy", "haproxy", &["-v"]) || !need("haproxy", "setpriv", &["--version"]) {
        return;
    }
    // maxconn 200 needs about 400 fds; with a hard limit of 40 and no CAP_SYS_RESOURCE,
    // HAProxy refuses to start (nothing listens, no traffic).
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("h.cfg");
    std::fs::write(
        &cfg,
        "global\n    maxconn 200\ndefaults\n    mode tcp\n    timeout connect 1s\n    timeout client 1s\n    timeout server 1s\nfrontend fe\n    bind 127.0.0.1:18081\n    default_backend be\nbackend be\n    server s1 127.0.0.1:18082\n",
    )
    .unwrap();
    let mut child = Command::new("prlimit")
        .args([
            "--nofile=40:40",
            "setpriv",
            "--bounding-set=-sys_resource",
            "haproxy",
            "-db",
            "-f",
        ])
        .arg(&cfg)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Bounded: it exits at once; kill it after 5 s if it does not.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while child.try_wait().unwrap().is_none() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let _ = child.kill();
    let text = all_output(&child.wait_with_output().unwrap());
    let m = assert_explains(&text, "haproxy_cannot_raise_fd_limit", Some("process_fds"));
    assert_eq!(m["numbers"]["nofile"], 40, "{text}");
    assert!(m["numbers"]["fds_needed"].as_u64().unwrap() > 400, "{text}");
}

/// What `porttune explain` answers for `text`: (confidence, ceiling, pattern) of its verdict.
fn verdict(text: &str) -> (String, Option<String>, String) {
    let v = explain(text);
    let d = &v["verdict"];
    (
        d["confidence"].as_str().unwrap_or_default().to_string(),
        d["ceiling"].as_str().map(str::to_string),
        d["pattern"].as_str().unwrap_or_default().to_string(),
    )
}

/// The false "yes" the message alone invites: EADDRNOTAVAIL about an address the host does
/// not have. In a namespace whose lo has no IPv6 address (a container without IPv6), Python
/// and the JVM bind to 192.0.2.1, and Python, Node and the JVM connect to [::1]: none of what
/// they print may be explained as port exhaustion (a bind is no limit; towards IPv6 it cannot
/// be told apart, so it is weak with ephemeral_ports as one candidate; the JVM's "Protocol
/// family unavailable" is no limit). Control: the same Python connect() over IPv4 with the
/// port range cut to 8 ports is the ephemeral-port limit.
#[test]
#[ignore = "needs root and unshare -n, python3, node (nodejs), java (a JDK)"]
fn addresses_the_host_lacks_are_not_port_exhaustion() {
    let t = "addresses_the_host_lacks";
    if !common::need_root(t)
        || !need(t, "python3", &["--version"])
        || !need(t, "node", &["--version"])
        || !need(t, "java", &["-version"])
    {
        return;
    }
    let no_v6 = "sysctl -qw net.ipv6.conf.lo.disable_ipv6=1\n";
    let run = |cmd: &str| netns(&format!("{no_v6}{cmd} || true"));

    let bind = run("python3 limits.py bind-foreign");
    assert!(
        bind.contains("[Errno 99]") && bind.contains(".bind("),
        "{bind}"
    );
    assert_eq!(
        verdict(&bind),
        ("not_a_limit".into(), None, "eaddrnotavail_bind".into()),
        "{bind}"
    );

    let weak_v6 = ("weak".to_string(), None, "eaddrnotavail_ipv6".to_string());
    let py6 = run("python3 limits.py connect6");
    assert!(py6.contains("[Errno 99]"), "{py6}");
    assert_eq!(verdict(&py6), weak_v6, "{py6}");
    let node6 = run(
        "timeout 10 node -e 'require(\"net\").connect(6379, \"::1\").on(\"error\", e => console.error(String(e)))'",
    );
    assert!(node6.contains("connect EADDRNOTAVAIL ::1:6379"), "{node6}");
    assert_eq!(verdict(&node6), weak_v6, "{node6}");
    let v = explain(&node6);
    assert!(
        v["verdict"]["candidates"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c == "ephemeral_ports"),
        "{v}"
    );

    let java = run("timeout 60 java Addresses.java");
    assert!(
        java.contains("Net.bind0") && java.contains("Protocol family unavailable"),
        "{java}"
    );
    let v = explain(&java);
    let ids = pattern_ids(&v);
    assert_eq!(
        ids,
        ["eaddrnotavail_bind", "net_no_address_family"],
        "{java}"
    );
    assert_eq!(v["verdict"]["confidence"], "not_a_limit", "{v}");

    // Control: the same errno from a connect() over IPv4 at 8 ports is the limit.
    let ports = netns(
        "echo '40000 40007' > /proc/sys/net/ipv4/ip_local_port_range\n\
         python3 limits.py connect",
    );
    assert_eq!(
        verdict(&ports),
        (
            "limit".into(),
            Some("ephemeral_ports".into()),
            "errno_eaddrnotavail".into()
        ),
        "{ports}"
    );
}
