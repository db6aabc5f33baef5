//! examples/porttune-playbook.yml run by ansible-core against localhost, in a private network
//! namespace: check mode changes nothing and passes, a real run applies and passes, a second
//! real run changes nothing. The profile sets per-namespace keys only; persistence goes to a
//! temporary root, so nothing outside the namespace and the temporary directory changes.
// Linux only: a private network namespace (docs/macos.md, "cargo test on a Mac").
#![cfg(target_os = "linux")]

mod common;

use std::process::Command;

#[derive(Debug, PartialEq)]
struct Recap {
    ok: u32,
    changed: u32,
    failed: u32,
}

fn recap(out: &str) -> Recap {
    let line = out
        .lines()
        .rev()
        .find(|l| l.starts_with("localhost") && l.contains("failed="))
        .unwrap_or_else(|| panic!("no PLAY RECAP in:\n{out}"));
    let get = |k: &str| -> u32 {
        line.split_whitespace()
            .find_map(|w| w.strip_prefix(&format!("{k}=")))
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("{k} missing: {line}"))
    };
    Recap {
        ok: get("ok"),
        changed: get("changed"),
        failed: get("failed"),
    }
}

#[test]
#[ignore = "needs root, unshare -n and ansible-core"]
fn playbook_in_check_mode_and_real_mode() {
    common::need_root("playbook_in_check_mode_and_real_mode");
    common::need_tool(
        "playbook_in_check_mode_and_real_mode",
        "ansible-playbook",
        &["--version"],
        "python3 -m pip install ansible-core",
    );
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // A service to gate on: a process with RLIMIT_NOFILE 8192, found by name.
    // Unique to this run: other checkouts may run this test at the same time.
    let name = format!("pt-ans-{}", std::process::id() % 100_000);
    let exe = d.join(&name);
    std::fs::copy("/bin/sleep", &exe).unwrap();
    let profile = d.join("web.yaml");
    std::fs::write(
        &profile,
        "name: web\ndescription: test\npersist: true\nrequire:\n  connections: 3000\n  scenario: {kind: outbound}\nsysctl:\n  net.ipv4.ip_local_port_range: \"40000 44999\"\n  net.core.somaxconn: {min: 8192}\n",
    )
    .unwrap();
    let playbook = format!(
        "{}/examples/porttune-playbook.yml",
        env!("CARGO_MANIFEST_DIR")
    );
    let vars = serde_json::json!({
        "ansible_become": false,
        "ansible_python_interpreter": "python3",
        "porttune": common::bin(),
        "porttune_profile": profile,
        "porttune_target": format!("--process {name}"),
        "porttune_require": 3000,
        "porttune_apply_args": format!("--root {d}/img --state-dir {d}/state", d = d.display()),
    });
    std::fs::write(d.join("vars.json"), vars.to_string()).unwrap();
    std::fs::write(
        d.join("inventory"),
        "[app_servers]\nlocalhost ansible_connection=local\n",
    )
    .unwrap();
    let ap = |extra: &str, n: u32| {
        format!(
            "rc=0; ansible-playbook -i {d}/inventory {pb} -e @{d}/vars.json {extra} > {d}/run{n}.txt 2>&1 || rc=$?\n\
             echo \"rc{n}=$rc $(cat /proc/sys/net/ipv4/ip_local_port_range | tr '\\t' ' ')\" >> {d}/rcs",
            pb = playbook,
            d = d.display()
        )
    };
    let script = format!(
        "set +e\n{}\n\
         prlimit --nofile=8192:8192 {} 60 & svc=$!\n\
         trap 'kill $svc' EXIT\n\
         sleep 0.2\n{}\n{}\n{}\n{}",
        common::sysctl_set("net.ipv4.ip_local_port_range", "40000 40999"),
        exe.display(),
        ap("--check", 1),
        ap("", 2),
        ap("", 3),
        ap("-e porttune_require=100000", 4),
    );
    let out = Command::new("unshare")
        .args(["-n", "sh", "-c", &format!("ip link set lo up\n{script}")])
        .env("NO_COLOR", "1")
        .env("ANSIBLE_NOCOLOR", "1")
        .env("ANSIBLE_HOME", d.join("ansible-home"))
        .env("ANSIBLE_LOCAL_TEMP", d.join("ansible-tmp"))
        .env("ANSIBLE_INVENTORY_UNPARSED_WARNING", "False")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let read = |f: &str| std::fs::read_to_string(d.join(f)).unwrap_or_default();
    let rcs = read("rcs");
    let runs: Vec<String> = (1..=4).map(|n| read(&format!("run{n}.txt"))).collect();
    let all = format!("{rcs}\n{}", runs.join("\n=====\n"));
    // Check mode: nothing changed in the namespace, the pending task reports `changed`, the
    // gate (judging the what-if: 5,000 ports ≥ 3,000) passes.
    assert!(rcs.contains("rc1=0 40000 40999"), "{all}");
    let r1 = recap(&runs[0]);
    assert_eq!((r1.failed, r1.changed), (0, 1), "{all}");
    assert!(runs[0].contains("connections with"), "{all}");
    // Real run: applied, gate passes.
    assert!(rcs.contains("rc2=0 40000 44999"), "{all}");
    let r2 = recap(&runs[1]);
    assert_eq!((r2.failed, r2.changed), (0, 1), "{all}");
    // Second real run: nothing left to change.
    assert!(rcs.contains("rc3=0 40000 44999"), "{all}");
    let r3 = recap(&runs[2]);
    assert_eq!((r3.failed, r3.changed), (0, 0), "{all}");
    assert!(r3.ok >= 3, "{all}");
    // Below the requirement: the host fails with one short message naming the bottleneck
    // and the failed checks, not the check JSON (16 KB on one line).
    assert!(rcs.contains("rc4=2 40000 44999"), "{all}");
    let r4 = recap(&runs[3]);
    assert_eq!(r4.failed, 1, "{all}");
    let fatal = runs[3]
        .lines()
        .find(|l| l.starts_with("fatal:"))
        .unwrap_or_else(|| panic!("no fatal line:\n{all}"));
    assert!(fatal.contains("porttune check failed"), "{fatal}");
    assert!(fatal.contains("limited by process_fds"), "{fatal}");
    assert!(!fatal.contains("\\n"), "one line: {fatal}");
    assert!(fatal.contains("Require"), "{fatal}");
    assert!(
        !fatal.contains("\\\"ceilings\\\""),
        "the JSON is not printed: {fatal}"
    );
    let longest = runs[3].lines().map(str::len).max().unwrap_or(0);
    assert!(longest < 1000, "{longest} bytes on one line:\n{}", runs[3]);
    // The persisted file went to the temporary root, not /etc.
    assert!(
        d.join("img/etc/sysctl.d/60-porttune-web.conf").exists(),
        "{all}"
    );
}

/// The playbook in docs/ansible.md is the one tested here, word for word.
#[test]
fn docs_show_the_tested_playbook() {
    let root = env!("CARGO_MANIFEST_DIR");
    let pb = std::fs::read_to_string(format!("{root}/examples/porttune-playbook.yml")).unwrap();
    let doc = std::fs::read_to_string(format!("{root}/docs/ansible.md")).unwrap();
    assert!(
        doc.contains(&pb),
        "docs/ansible.md does not show examples/porttune-playbook.yml"
    );
}
