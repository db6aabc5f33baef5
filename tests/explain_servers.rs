//! `porttune explain --servers`: the catalog's servers and their caps, as the binary prints
//! them (not a terminal: 80 columns), in text and JSON.

mod common;

use std::process::Command;

use porttune::snapshot::runtime::catalog::{self, Role};

fn run(args: &[&str]) -> std::process::Output {
    Command::new(common::bin())
        .args(["explain", "--servers"])
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn explain_servers_lists_the_catalog_in_80_columns() {
    let out = run(&[]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let text = String::from_utf8(out.stdout).unwrap();
    for line in text.lines() {
        assert!(line.chars().count() <= 80, "wider than 80: {line:?}");
    }
    for e in catalog::ALL.iter().filter(|e| e.role == Role::Server) {
        assert!(
            text.contains(&format!("{} (--runtime {}", e.product, e.name)),
            "{}",
            e.product
        );
        for s in e.settings {
            assert!(
                text.contains(&format!("cap: {}", s.key)),
                "{}: {}",
                e.product,
                s.key
            );
        }
    }
    // JSON: the same servers, each cap with its default and the ceilings it feeds
    let out = run(&["--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let v = common::json(&out);
    assert_eq!(v["schema"], 1);
    let servers = v["servers"].as_array().unwrap();
    let n = catalog::ALL
        .iter()
        .filter(|e| e.role == Role::Server)
        .count();
    assert_eq!(servers.len(), n);
    let m = common::find(&v["servers"], "runtime", "mosquitto");
    assert_eq!(m["caps"][0]["setting"], "max_connections");
    assert_eq!(m["caps"][0]["default"], "-1 (unlimited)");
    assert_eq!(m["caps"][0]["per_listener"], true);
    assert_eq!(m["caps"][0]["feeds"][0], "mosquitto_max_connections");
    // a message with it is a usage error, not a silent choice
    let out = run(&["Too many open files"]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
}
