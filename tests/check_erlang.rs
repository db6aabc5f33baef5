//! A real Erlang VM (erlang-nox) started by the test, read from outside with `--pid`.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

struct Node {
    child: Child,
    ports: u64,
    procs: u64,
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Start `erl -noshell FLAGS`, which prints its port and process counts and waits.
fn start(flags: &[&str], env: &[(&str, &str)]) -> Node {
    let mut cmd = Command::new("erl");
    cmd.arg("-noshell")
        .args(flags)
        .args([
            "-eval",
            "io:format(\"~p ~p~n\", [erlang:system_info(port_count), erlang:system_info(process_count)]), receive after 60000 -> halt() end.",
        ])
        .env_remove("ERL_FLAGS")
        .env_remove("ERL_AFLAGS")
        .env_remove("ERL_ZFLAGS")
        .env_remove("ERL_MAX_PORTS")
        .stdout(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("start erl");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let mut it = line.split_whitespace().map(|w| w.parse::<u64>().unwrap());
    let (ports, procs) = (it.next().unwrap(), it.next().unwrap());
    let exe = std::fs::read_link(format!("/proc/{}/exe", child.id())).unwrap();
    assert!(
        exe.to_string_lossy().contains("beam"),
        "erl exec'd into beam.smp: {exe:?}"
    );
    Node {
        child,
        ports,
        procs,
    }
}

fn check(node: &Node, scenario: &str) -> serde_json::Value {
    let out = Command::new(common::bin())
        .args([
            "check",
            "--scenario",
            scenario,
            "--format",
            "json",
            "--pid",
            &node.child.id().to_string(),
        ])
        .output()
        .unwrap();
    common::json(&out)
}

#[test]
#[ignore = "needs erl (erlang-nox)"]
fn port_limit_from_plus_q() {
    if !common::need_erl("port_limit_from_plus_q") {
        return;
    }
    let node = start(&["+Q", "8192"], &[]);
    let v = check(&node, "loopback");
    assert_eq!(v["prediction"]["bottleneck"], "erlang_port_limit", "{v}");
    let expected = (8192 - node.ports - 1) / 2; // one listener, 2 ports per connection
    let got = v["prediction"]["ceiling"].as_u64().unwrap();
    assert!(
        got.abs_diff(expected) <= 2,
        "predicted {got}, node says {expected}"
    );
    assert_eq!(v["process"]["runtime"], "erlang");
}

#[test]
#[ignore = "needs erl (erlang-nox)"]
fn port_limit_from_erl_max_ports() {
    if !common::need_erl("port_limit_from_erl_max_ports") {
        return;
    }
    let node = start(&[], &[("ERL_MAX_PORTS", "8192")]);
    let v = check(&node, "loopback");
    assert_eq!(v["prediction"]["bottleneck"], "erlang_port_limit", "{v}");
    let expected = (8192 - node.ports - 1) / 2;
    let got = v["prediction"]["ceiling"].as_u64().unwrap();
    assert!(
        got.abs_diff(expected) <= 2,
        "predicted {got}, node says {expected}"
    );
}

#[test]
#[ignore = "needs erl (erlang-nox)"]
fn process_limit_from_plus_p() {
    if !common::need_erl("process_limit_from_plus_p") {
        return;
    }
    let node = start(&["+P", "4096"], &[]);
    let v = check(&node, "inbound");
    assert_eq!(v["prediction"]["bottleneck"], "erlang_process_limit", "{v}");
    let got = v["prediction"]["ceiling"].as_u64().unwrap();
    let expected = 4096 - node.procs;
    assert!(
        got.abs_diff(expected) <= 5,
        "predicted {got}, node says {expected}"
    );
    // The assumption is stated in the output.
    let a = v["assumptions"].to_string();
    assert!(a.contains("per connection"), "{a}");
}

#[test]
#[ignore = "needs erl (erlang-nox)"]
fn boot_fd_limit_seen_after_prlimit() {
    if !common::need_erl("boot_fd_limit_seen_after_prlimit") {
        return;
    }
    // Started with soft 4096, raised to 20000 while running (only this child is changed):
    // erts keeps 4096 (facts 10.4, 10.7b).
    let mut cmd = Command::new("prlimit");
    cmd.args([
        "--nofile=4096:20000",
        "erl",
        "-noshell",
        "-eval",
        "io:format(\"up~n\"), receive after 60000 -> halt() end.",
    ])
    .stdout(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let pid = child.id().to_string();
    let st = Command::new("prlimit")
        .args(["--pid", &pid, "--nofile=20000:20000"])
        .status()
        .unwrap();
    assert!(st.success());
    let out = Command::new(common::bin())
        .args(["check", "--format", "json", "--pid", &pid])
        .output()
        .unwrap();
    let _ = child.kill();
    let _ = child.wait();
    let v = common::json(&out);
    assert_eq!(out.status.code(), Some(1), "ErlangBootFds is an error");
    assert_eq!(v["prediction"]["bottleneck"], "erlang_max_fds", "{v}");
    assert!(v["checks"].to_string().contains("ErlangBootFds"));
}

/// `-kernel inet_backend socket`: gen_tcp sockets are not ports, so `+Q 1024` does not bound
/// them. Predicted from outside before the node floods itself: no erlang_port_limit rung, the
/// boot fd table binds; then the node opens loopback pairs until {shutdown,emfile} and holds
/// the predicted number (twice what +Q 1024 would allow).
#[test]
#[ignore = "needs erl (erlang-nox)"]
fn socket_backend_is_not_bounded_by_plus_q() {
    if !common::need_erl("socket_backend_is_not_bounded_by_plus_q") {
        return;
    }
    let mut child = Command::new("prlimit")
        .args(["--nofile=2048:2048", "erl", "-noshell", "+Q", "1024"])
        .args(["-kernel", "inet_backend", "socket", "-eval"])
        .arg(
            "{ok, L} = gen_tcp:listen(0, [{active,false},{backlog,4096},{ip,{127,0,0,1}}]), \
             {ok, P} = inet:port(L), io:format(\"ready~n\"), _ = io:get_line(\"\"), \
             Loop = fun Loop(N, Acc) -> case gen_tcp:connect({127,0,0,1}, P, [{active,false}], 2000) of \
               {ok, C} -> case gen_tcp:accept(L, 2000) of {ok, S} -> Loop(N+1, [C,S|Acc]); E -> {N, E, Acc} end; \
               E -> {N, E, Acc} end end, \
             {N, E, _Keep} = Loop(0, []), erlang:display({held, N, E}), \
             receive after 60000 -> halt() end.",
        )
        .env_remove("ERL_FLAGS")
        .env_remove("ERL_AFLAGS")
        .env_remove("ERL_ZFLAGS")
        .env_remove("ERL_MAX_PORTS")
        .current_dir(std::env::temp_dir())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("start erl");
    struct Kill(u32);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = Command::new("kill").arg(self.0.to_string()).status();
        }
    }
    let _guard = Kill(child.id());
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    assert_eq!(line.trim(), "ready");
    // prlimit exec'd erl, which exec'd beam.smp: the same PID.
    let pid = child.id().to_string();
    let v = common::json(
        &Command::new(common::bin())
            .args([
                "check",
                "--scenario",
                "loopback",
                "--format",
                "json",
                "--pid",
                &pid,
            ])
            .output()
            .unwrap(),
    );
    let ceilings = v["ceilings"].as_array().unwrap();
    assert!(
        !ceilings.iter().any(|c| c["name"] == "erlang_port_limit"),
        "{v}"
    );
    assert!(
        v["not_applicable"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n["name"] == "erlang_port_limit"
                && n["why"].as_str().unwrap().contains("inet_backend socket")),
        "{v}"
    );
    let predicted = v["prediction"]["ceiling"].as_u64().unwrap();
    // The fd table is the soft limit at boot: erlang_max_fds and process_fds tie.
    let names: Vec<&str> = std::iter::once(&v["prediction"]["bottleneck"])
        .chain(v["prediction"]["tied"].as_array().unwrap())
        .filter_map(|n| n.as_str())
        .collect();
    assert!(names.contains(&"erlang_max_fds"), "{v}");
    use std::io::Write;
    child.stdin.as_mut().unwrap().write_all(b"go\n").unwrap();
    line.clear();
    out.read_line(&mut line).unwrap();
    // {held,1014,{error,{shutdown,emfile}}}
    let held: u64 = line
        .trim()
        .trim_start_matches("{held,")
        .split(',')
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{line}"));
    assert!(line.contains("emfile"), "{line}");
    assert!(held > 1024 / 2 + 100, "beyond what +Q 1024 allows: {held}");
    assert!(
        held.abs_diff(predicted) <= 2,
        "measured {held} vs predicted {predicted}"
    );
    let _ = child.kill();
    let _ = child.wait();
}

/// A node started under a soft limit other than porttune's (3000 here; porttune runs with
/// this shell's): `check --pid` reads the fd table erts sized at boot from argv[1] of its
/// erl_child_setup child, exactly the `max_fds` the node itself reports, and says it was read.
#[test]
#[ignore = "needs erl (erlang-nox)"]
fn boot_fd_table_read_exactly_from_erl_child_setup() {
    if !common::need_erl("boot_fd_table_read_exactly_from_erl_child_setup") {
        return;
    }
    let own = rlimit::getrlimit(rlimit::Resource::NOFILE).unwrap().0;
    let soft: u64 = if own == 3000 { 3100 } else { 3000 };
    let mut child = Command::new("prlimit")
        .arg(format!("--nofile={soft}:{}", own.max(soft)))
        .args([
            "erl",
            "-noshell",
            "-eval",
            "io:format(\"~p~n\", [lists:max([proplists:get_value(max_fds, L) || L <- erlang:system_info(check_io)])]), receive after 60000 -> halt() end.",
        ])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    struct Kill(Child);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let child = Kill(child);
    let max_fds: u64 = line.trim().parse().unwrap();
    assert_eq!(max_fds, soft, "erts sizes its table from the soft limit");
    // A second later limit change must not be mistaken for the boot value.
    let pid = child.0.id().to_string();
    let st = Command::new("prlimit")
        .args([
            "--pid",
            &pid,
            &format!("--nofile={}:{}", own.max(soft), own.max(soft)),
        ])
        .status()
        .unwrap();
    assert!(st.success());
    let out = Command::new(common::bin())
        .args(["check", "--format", "json", "--pid", &pid])
        .output()
        .unwrap();
    let v = common::json(&out);
    let input = common::find(&v["inputs"], "key", "erlang.max_fds");
    assert_eq!(input["value"], max_fds.to_string(), "{input}");
    assert_eq!(input["provenance"]["kind"], "read", "{input}");
    assert!(
        input["provenance"]["from"]
            .as_str()
            .unwrap()
            .contains("argv[1] of erl_child_setup"),
        "{input}"
    );
    let rung = common::find(&v["ceilings"], "name", "erlang_max_fds");
    assert!(rung.get("conditional").is_none(), "{rung}");
    let open = v["process"]["open_fds"].as_u64().unwrap();
    assert_eq!(rung["value"].as_u64().unwrap(), max_fds - open, "{rung}");
}
