//! Golden outputs (issue 9): the outputs of `check` and `explain` on the fixture snapshots,
//! saved before the restructure, must stay byte-identical (stdout and exit code). The cases are
//! in tests/golden/cases.txt; `GOLDEN_UPDATE=1 cargo test --test golden` rewrites the saved
//! files (only on purpose, when an output is meant to change, and said in the commit).

mod common;

use std::path::Path;
use std::process::Command;

fn args_of(line: &str) -> Vec<String> {
    // relative to the crate root (the command runs there), so the output does not depend on
    // where the clone is
    let line = line.replace("%SNAP%", "tests/fixtures/snapshots/");
    let (head, tail) = match line.split_once(" -- ") {
        Some((h, t)) => (h.to_string(), Some(t.to_string())),
        None => (line, None),
    };
    let mut v: Vec<String> = head.split_whitespace().map(str::to_string).collect();
    if let Some(t) = tail {
        v.push("--".into());
        v.push(t);
    }
    v
}

#[test]
fn outputs_are_byte_identical_to_the_saved_ones() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    let cases = std::fs::read_to_string(dir.join("cases.txt")).unwrap();
    let update = std::env::var_os("GOLDEN_UPDATE").is_some();
    let mut failed = Vec::new();
    let mut n = 0;
    for line in cases
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
    {
        let (name, args) = line.split_once(" | ").expect("NAME | ARGS");
        let out = Command::new(common::bin())
            .args(args_of(args))
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .env("NO_COLOR", "1")
            .env("COLUMNS", "100")
            .env_remove("PORTTUNE_LOCK_DIR")
            .output()
            .unwrap();
        let got = format!(
            "{}# exit {}\n",
            String::from_utf8_lossy(&out.stdout),
            out.status.code().unwrap_or(-1)
        );
        let path = dir.join(name.trim());
        n += 1;
        if update {
            std::fs::write(&path, &got).unwrap();
            continue;
        }
        let want = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{}: {e} (GOLDEN_UPDATE=1 writes it)", path.display()));
        if got != want {
            failed.push(format!(
                "{name}: `porttune {args}` differs from {}",
                path.display()
            ));
        }
    }
    assert!(n > 100, "only {n} cases");
    assert!(failed.is_empty(), "{}", failed.join("\n"));
}
