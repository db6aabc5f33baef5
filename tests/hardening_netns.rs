//! Validation that matches the kernel (issue 11), in a private network namespace: a range
//! widened onto reserved ports is warned about and predicted as the kernel will behave, and
//! a lowered `ip_unprivileged_port_start` with a range below the old start applies (write
//! order) and rolls back.

mod common;

use common::*;

fn script_out(script: &str) -> (i32, String, String) {
    let out = netns_sh(script);
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

/// 101 ports, all reserved: the prediction after is 0 usable ports (not 101), said in a
/// warning; then applied, a real connect() from the range fails with EADDRNOTAVAIL.
#[test]
#[ignore = "needs root and unshare -n"]
fn widened_range_onto_reserved_ports() {
    need_root("widened_range_onto_reserved_ports");
    let tmp = tempfile::tempdir().unwrap();
    let prof = tmp.path().join("r.yaml");
    std::fs::write(
        &prof,
        "name: r\nrequire:\n  connections: 10\n  scenario: {kind: outbound}\nsysctl:\n  net.ipv4.ip_local_port_range: \"40000 40100\"\n",
    )
    .unwrap();
    let p = sh_quote(&prof.display().to_string());
    let (code, out, err) = script_out(&format!(
        "{}\n\"$PORTTUNE\" plan {p} --format json",
        sysctl_set("net.ipv4.ip_local_reserved_ports", "40000-40100")
    ));
    assert_eq!(code, 0, "{out}\n{err}");
    let j: serde_json::Value = serde_json::from_str(&out).unwrap();
    let warnings = j["warnings"].to_string();
    assert!(warnings.contains("101 reserved"), "{warnings}");
    assert_eq!(j["prediction"]["after"], 0, "{j}");
    // What the kernel does with it: no port to bind from.
    let (code, out, err) = script_out(&format!(
        "{}\n{}\npython3 -c 'import socket,sys\ns=socket.socket()\ns.bind((\"127.0.0.1\",0))\nprint(s.getsockname()[1])' || echo EADDRNOTAVAIL",
        sysctl_set("net.ipv4.ip_local_reserved_ports", "40000-40100"),
        sysctl_set("net.ipv4.ip_local_port_range", "40000 40100"),
    ));
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("EADDRNOTAVAIL"), "{out}\n{err}");
}

/// Lowering the unprivileged port start to 500 and the range to start at 600: the start is
/// written first, so the pair applies; rollback restores both.
#[test]
#[ignore = "needs root and unshare -n"]
fn lowered_start_and_range_apply_in_kernel_order() {
    need_root("lowered_start_and_range_apply_in_kernel_order");
    let tmp = tempfile::tempdir().unwrap();
    let prof = tmp.path().join("o.yaml");
    std::fs::write(
        &prof,
        "name: o\nsysctl:\n  net.ipv4.ip_local_port_range: \"600 60999\"\n  net.ipv4.ip_unprivileged_port_start: 500\n",
    )
    .unwrap();
    let p = sh_quote(&prof.display().to_string());
    let s = sh_quote(&tmp.path().join("state").display().to_string());
    let (code, out, err) = script_out(&format!(
        "{}\n{}\n\"$PORTTUNE\" apply {p} --yes --state-dir {s}\n\
         echo \"range=$(cat /proc/sys/net/ipv4/ip_local_port_range) start=$(cat /proc/sys/net/ipv4/ip_unprivileged_port_start)\"\n\
         \"$PORTTUNE\" rollback --state-dir {s}\n\
         echo \"range=$(cat /proc/sys/net/ipv4/ip_local_port_range) start=$(cat /proc/sys/net/ipv4/ip_unprivileged_port_start)\"",
        sysctl_set("net.ipv4.ip_unprivileged_port_start", "1024"),
        sysctl_set("net.ipv4.ip_local_port_range", "32768 60999"),
    ));
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("range=600\t60999 start=500"), "{out}");
    assert!(out.contains("range=32768\t60999 start=1024"), "{out}");
}
