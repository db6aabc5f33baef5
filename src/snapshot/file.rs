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
                msg: format!("not a valid snapshot: {}", first_line(&e.to_string())),
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

fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or(s).to_string()
}
