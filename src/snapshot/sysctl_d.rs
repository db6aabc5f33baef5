//! The sysctl.d files of a root, read for `plan`: which files win over ours at boot.

use std::path::{Path, PathBuf};

use crate::fsio::under;

/// sysctl.d directories in precedence order (a file name in an earlier one hides the same
/// name in later ones), as systemd-sysctl reads them.
pub const SYSCTL_DIRS: &[&str] = &[
    "/etc/sysctl.d",
    "/run/sysctl.d",
    "/usr/local/lib/sysctl.d",
    "/usr/lib/sysctl.d",
    "/lib/sysctl.d",
];

/// The files that win over `ours` at boot (their names sort after it, or /etc/sysctl.conf),
/// with their text: regular files only, each read bounded. Missing ones are left out.
pub fn read_overriding(root: &Path, ours: &str) -> Vec<(PathBuf, String)> {
    use std::collections::BTreeMap;
    let our_name = Path::new(ours)
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    let mut by_name: BTreeMap<String, PathBuf> = BTreeMap::new();
    for dir in SYSCTL_DIRS {
        let Ok(rd) = std::fs::read_dir(under(root, dir)) else {
            continue;
        };
        for e in rd.flatten() {
            let n = e.file_name().to_string_lossy().to_string();
            if n.ends_with(".conf") {
                by_name.entry(n).or_insert_with(|| e.path());
            }
        }
    }
    let mut files: Vec<PathBuf> = by_name
        .into_iter()
        .filter(|(n, _)| n.as_str() > our_name.as_str())
        .map(|(_, p)| p)
        .collect();
    files.push(under(root, "/etc/sysctl.conf"));
    let mut out = Vec::new();
    for f in files {
        // Regular files only, bounded: a FIFO or device in a sysctl.d directory is no
        // configuration (and must not block the plan).
        if !std::fs::symlink_metadata(&f).is_ok_and(|m| m.is_file() || m.is_symlink())
            || !std::fs::metadata(&f).is_ok_and(|m| m.is_file())
        {
            continue;
        }
        let Ok(text) = crate::fsio::read_bounded_io(&f, crate::fsio::MAX_INPUT)
            .map(|b| String::from_utf8_lossy(&b).into_owned())
        else {
            continue;
        };
        out.push((f, text));
    }
    out
}
