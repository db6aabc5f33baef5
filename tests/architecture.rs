//! The layering of docs/architecture.md, checked on the source (issue 9): the stage graph and
//! no cycles between files (scripts/imports.py), no function over 120 lines
//! (scripts/long-fns.py). Both scripts print what is wrong.

use std::process::Command;

fn script(name: &str) {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/");
    let out = Command::new("python3")
        .arg(format!("{path}{name}"))
        .output()
        .unwrap_or_else(|e| panic!("python3 {name}: {e} (python3 is needed by this test)"));
    assert!(
        out.status.success(),
        "{name}:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn stages_use_only_what_the_architecture_allows_and_no_file_cycles() {
    script("imports.py");
}

#[test]
fn no_function_over_120_lines() {
    script("long-fns.py");
}
