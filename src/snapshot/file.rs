//! Save and load snapshots: YAML (`.yaml`/`.yml`) or JSON (`.json`, and anything else).

use std::path::Path;

use super::Snapshot;
use crate::error::{Error, Result};

fn is_yaml(path: &Path) -> bool {
    matches!(
        path.extension().and_then(|e| e.to_str()),
        Some("yaml") | Some("yml")
    )
}

pub fn to_string(snap: &Snapshot, yaml: bool) -> Result<String> {
    if yaml {
        serde_saphyr::to_string(snap)
            .map_err(|e| Error::Internal(format!("cannot write YAML: {e}")))
    } else {
        serde_json::to_string_pretty(snap)
            .map(|s| s + "\n")
            .map_err(|e| Error::Internal(format!("cannot write JSON: {e}")))
    }
}

/// Write atomically (temp file in the same directory, then rename); `-` is standard
/// output. Never through a symlink or into a device (exit 2).
pub fn save(snap: &Snapshot, path: &Path) -> Result<()> {
    let text = to_string(snap, is_yaml(path))?;
    crate::fsio::write_output(path, text.as_bytes(), "the snapshot")
}

pub fn load(path: &Path) -> Result<Snapshot> {
    let text = crate::fsio::read_text(path, crate::fsio::MAX_INPUT, "the snapshot")?;
    parse(&text, path)
}

/// Parse snapshot text; errors name the file, line and column.
pub fn parse(text: &str, path: &Path) -> Result<Snapshot> {
    if text.trim().is_empty() {
        return Err(Error::Input {
            path: path.into(),
            line: Some(1),
            column: Some(1),
            msg: "the snapshot file is empty".into(),
        });
    }
    let snap: Snapshot = if is_yaml(path) {
        let opts = serde_saphyr::options! {
            strict_booleans: true,
            duplicate_keys: serde_saphyr::options::DuplicateKeyPolicy::Error,
        };
        serde_saphyr::from_str_with_options(text, opts).map_err(|e| {
            let loc = e.location();
            Error::Input {
                path: path.into(),
                line: loc.map(|l| l.line() as usize),
                column: loc.map(|l| l.column() as usize),
                msg: format!("not a valid snapshot: {}", saphyr_message(&e.to_string())),
            }
        })?
    } else {
        serde_json::from_str(text).map_err(|e| Error::Input {
            path: path.into(),
            line: Some(e.line()),
            column: Some(e.column()),
            msg: format!("not a valid snapshot: {e}"),
        })?
    };
    check_bounds(&snap).map_err(|m| Error::input(path, m))?;
    if snap.schema != super::SCHEMA {
        return Err(Error::input(
            path,
            format!(
                "snapshot schema {} is not supported (this porttune reads schema {})",
                snap.schema,
                super::SCHEMA
            ),
        ));
    }
    Ok(snap)
}

/// The YAML parser's message without its own "error: line N column M: " prefix (the file,
/// line and column are said once, before it), first line only.
fn saphyr_message(s: &str) -> String {
    let first = s.lines().next().unwrap_or(s);
    let rest = first.strip_prefix("error: ").unwrap_or(first);
    let rest = match rest.strip_prefix("line ") {
        Some(r) => r
            .split_once(": ")
            .filter(|(loc, _)| {
                loc.chars()
                    .all(|c| c.is_ascii_digit() || " column".contains(c))
            })
            .map_or(rest, |(_, m)| m),
        None => rest,
    };
    rest.to_string()
}

/// Largest number a snapshot may hold anywhere: 2^40 (a trillion fds, ports or
/// connections; 1 PiB of memory in kB) is beyond any host, and keeps every product the
/// model forms (per-process ceilings × processes, ports × destinations × source IPs, kB ×
/// 1024) exact in 64 bits.
pub const MAX_NUMBER: u64 = 1 << 40;

/// Fields that may hold up to LONG_MAX (the kernel's "no limit").
const LONG_FIELDS: &[&str] = &["fs.file_max"];

/// Refuse numbers no host has (a hand-edited or corrupted snapshot): the model's arithmetic
/// stays exact, and the error names the field (exit 2).
pub fn check_bounds(snap: &Snapshot) -> std::result::Result<(), String> {
    fn walk(v: &serde_json::Value, at: &mut Vec<String>) -> std::result::Result<(), String> {
        match v {
            serde_json::Value::Number(n) => {
                // Kernel values whose default is "no limit" (fs.file-max is LONG_MAX on
                // current kernels) may be as large as the kernel allows.
                let cap = if LONG_FIELDS.contains(&at.join(".").as_str()) {
                    i64::MAX as u64
                } else {
                    MAX_NUMBER
                };
                let ok = n.as_u64().is_some_and(|x| x <= cap)
                    || n.as_i64().is_some_and(|x| x.unsigned_abs() <= MAX_NUMBER)
                    || n.as_f64()
                        .is_some_and(|x| x.is_finite() && x.abs() <= MAX_NUMBER as f64);
                if !ok {
                    return Err(format!(
                        "`{}` is {n}: no host has that many; this snapshot field holds at most {cap}",
                        at.join(".")
                    ));
                }
            }
            serde_json::Value::Array(a) => {
                for x in a {
                    walk(x, at)?;
                }
            }
            serde_json::Value::Object(o) => {
                for (k, x) in o {
                    at.push(k.clone());
                    walk(x, at)?;
                    at.pop();
                }
            }
            _ => {}
        }
        Ok(())
    }
    let v = serde_json::to_value(snap).map_err(|e| format!("cannot check the snapshot: {e}"))?;
    walk(&v, &mut Vec::new())?;
    if let Some(n) = &snap.runtime.nginx {
        let max = crate::snapshot::runtime::nginx::MAX_WORKER_PROCESSES;
        if n.worker_processes > max || n.workers.len() as u64 > max {
            return Err(format!(
                "`runtime.nginx.worker_processes` is {}: nginx runs at most {max} workers",
                n.worker_processes.max(n.workers.len() as u64)
            ));
        }
    }
    Ok(())
}
