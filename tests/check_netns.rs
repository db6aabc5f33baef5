//! `porttune check` in private network namespaces whose limits the test sets.

mod common;

use common::{json, need_root, netns_porttune, netns_sh};

const RANGE: (&str, &str) = ("net.ipv4.ip_local_port_range", "40000 40999");

fn predict(sysctls: &[(&str, &str)], extra: &[&str]) -> serde_json::Value {
    let mut args = vec!["check", "--scenario", "loopback", "--format", "json"];
    args.extend_from_slice(extra);
    let out = netns_porttune(sysctls, &args);
    assert!(
        out.status.code().is_some_and(|c| c <= 1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    json(&out)
}

#[test]
#[ignore = "needs root and unshare -n"]
fn loopback_ports_exact() {
    if !need_root("loopback_ports_exact") {
        return;
    }
    let v = predict(&[RANGE], &[]);
    assert_eq!(v["prediction"]["ceiling"], 1000);
    assert_eq!(v["prediction"]["bottleneck"], "ephemeral_ports");
    let v = predict(&[RANGE], &["--listen-ports", "2"]);
    assert_eq!(v["prediction"]["ceiling"], 2000);
    let v = predict(&[RANGE], &["--source-ips", "3"]);
    assert_eq!(v["prediction"]["ceiling"], 3000);
    let v = predict(
        &[RANGE, ("net.ipv4.ip_local_reserved_ports", "40002-40004")],
        &[],
    );
    assert_eq!(v["prediction"]["ceiling"], 997);
}

#[test]
#[ignore = "needs root and unshare -n"]
fn listener_inside_range_is_excluded() {
    if !need_root("listener_inside_range_is_excluded") {
        return;
    }
    // A listener on 40500 (inside the range) takes that port from connect()'s pool (facts 1.8).
    let out = netns_sh(&format!(
        "{}\npython3 -c 'import socket,time,sys; s=socket.socket(); s.bind((\"127.0.0.1\",40500)); s.listen(); print(\"up\",flush=True); time.sleep(30)' > /dev/null 2>&1 &\nPY=$!\nfor i in $(seq 200); do grep -q ':9E34 00000000:0000 0A' /proc/net/tcp && break; sleep 0.05; done\n\"$PORTTUNE\" check --scenario loopback --format json\nkill $PY",
        common::sysctl_set(RANGE.0, RANGE.1)
    ));
    let v = json(&out);
    assert_eq!(v["prediction"]["ceiling"], 999, "{v}");
}

#[test]
#[ignore = "needs root and unshare -n"]
fn process_fds_under_prlimit() {
    if !need_root("process_fds_under_prlimit") {
        return;
    }
    let out = netns_sh(
        "exec prlimit --nofile=1024:1024 \"$PORTTUNE\" check --scenario loopback --format json",
    );
    let v = json(&out);
    let open = v["usage"]["process_fds_open"].as_u64().unwrap();
    assert!((3..20).contains(&open), "open fds {open}");
    assert_eq!(v["prediction"]["bottleneck"], "process_fds");
    assert_eq!(
        v["prediction"]["ceiling"].as_u64().unwrap(),
        (1024 - open - 1) / 2
    );
    assert_eq!(v["process"]["nofile_soft"], 1024);
    // With 2 listen ports, one more fd goes to listeners.
    let out = netns_sh(
        "exec prlimit --nofile=1024:1024 \"$PORTTUNE\" check --scenario loopback --listen-ports 2 --format json",
    );
    let v = json(&out);
    let open = v["usage"]["process_fds_open"].as_u64().unwrap();
    assert_eq!(
        v["prediction"]["ceiling"].as_u64().unwrap(),
        (1024 - open - 2) / 2
    );
}

#[test]
#[ignore = "needs root and unshare -n"]
fn churn_rate_follows_tw_reuse() {
    if !need_root("churn_rate_follows_tw_reuse") {
        return;
    }
    let rate = |reuse: &str| {
        let v = predict(
            &[
                ("net.ipv4.ip_local_port_range", "40000 40199"),
                ("net.ipv4.tcp_tw_reuse", reuse),
            ],
            &["--churn"],
        );
        v["rates"][0]["per_second"].as_f64().unwrap()
    };
    assert!((rate("0") - 200.0 / 60.0).abs() < 1e-6);
    // tw_reuse=2 applies to loopback; the delay is 1000 ms by default (or about 1 s before 6.14).
    assert!((rate("2") - 200.0).abs() < 1e-6);
}

#[test]
#[ignore = "needs root and unshare -n"]
fn pid_in_another_namespace_reads_that_namespace() {
    if !need_root("pid_in_another_namespace_reads_that_namespace") {
        return;
    }
    // A process in a namespace with a 500-port range; porttune runs outside and reads it.
    let mut child = std::process::Command::new("unshare")
        .args([
            "-n",
            "sh",
            "-c",
            "echo '41000 41499' > /proc/sys/net/ipv4/ip_local_port_range && exec sleep 30",
        ])
        .spawn()
        .unwrap();
    // Ready once the shell has set the range and exec'd `sleep`.
    let comm = format!("/proc/{}/comm", child.id());
    let t0 = std::time::Instant::now();
    while std::fs::read_to_string(&comm).unwrap_or_default().trim() != "sleep" {
        assert!(
            t0.elapsed().as_secs() < 10,
            "the namespaced child never started"
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let out = std::process::Command::new(common::bin())
        .args([
            "check",
            "--scenario",
            "outbound",
            "--format",
            "json",
            "--pid",
            &child.id().to_string(),
        ])
        .output()
        .unwrap();
    let _ = child.kill();
    let _ = child.wait();
    let v = json(&out);
    let ports = v["ceilings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "ephemeral_ports")
        .unwrap()
        .clone();
    assert_eq!(ports["value"], 500, "{v}");
}

/// A loopback client that binds port 0 before connect() (no IP_BIND_ADDRESS_NO_PORT) has one
/// port pool for both listeners: with a 100-port range the model says 100, not 2 × 100, and a
/// real client (Python) holds exactly that many before bind() fails with EADDRINUSE.
#[test]
#[ignore = "needs root and unshare -n"]
fn bind_before_connect_on_loopback_shares_one_pool() {
    if !need_root("bind_before_connect_on_loopback_shares_one_pool") {
        return;
    }
    let client = r#"
import errno, socket
ls = []
for port in (5001, 5002):
    l = socket.socket(); l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    l.bind(("127.0.0.1", port)); l.listen(4096); ls.append(l)
held, err, i = [], "", 0
while len(held) < 1000:
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", 0))
        s.connect(("127.0.0.1", 5001 + i % 2))
    except OSError as e:
        err = errno.errorcode.get(e.errno, str(e.errno)); s.close(); break
    held.append(s); i += 1
print(len(held), err)
"#;
    let out = netns_sh(&format!(
        "echo '40000 40099' > /proc/sys/net/ipv4/ip_local_port_range\n\
         python3 -c {}\n\
         \"$PORTTUNE\" check --scenario loopback --listen-ports 2 --bind-before-connect --format json",
        common::sh_quote(client)
    ));
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let (first, rest) = text.split_once('\n').unwrap();
    let held: u64 = first.split_whitespace().next().unwrap().parse().unwrap();
    assert!(first.contains("EADDRINUSE"), "{first}");
    let v: serde_json::Value = serde_json::from_str(rest).unwrap();
    let ports = v["ceilings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "ephemeral_ports")
        .unwrap()["value"]
        .as_u64()
        .unwrap();
    assert_eq!(ports, 100, "one pool for both listeners");
    assert_eq!(held, ports, "measured = predicted");
}
