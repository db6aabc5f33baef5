//! A small reader of `/proc/sys` with a configurable root, so probes run on fixture trees.
//! (The `sysctl` crate cannot be pointed at a fixture tree; it is used on macOS/FreeBSD only.)

use std::io;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone)]
pub struct ProcSys {
    root: PathBuf,
}

impl Default for ProcSys {
    fn default() -> Self {
        ProcSys::new("/proc/sys")
    }
}

impl ProcSys {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        ProcSys { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The file behind a dotted key: `net.ipv4.tcp_tw_reuse` → `<root>/net/ipv4/tcp_tw_reuse`.
    /// Callers validate keys first (profile validation); this only maps.
    pub fn path(&self, key: &str) -> PathBuf {
        let mut p = self.root.clone();
        for part in key.split('.') {
            p.push(part);
        }
        p
    }

    /// The value, trimmed; whitespace runs (tabs in multi-value keys) folded to one space.
    pub fn read(&self, key: &str) -> io::Result<String> {
        let raw = std::fs::read_to_string(self.path(key))?;
        Ok(raw.split_whitespace().collect::<Vec<_>>().join(" "))
    }

    /// `None` when the key does not exist on this kernel (or cannot be read).
    pub fn get(&self, key: &str) -> Option<String> {
        self.read(key).ok()
    }

    pub fn get_u64(&self, key: &str) -> Option<u64> {
        self.get(key)?.parse().ok()
    }

    /// Signed keys (tcp_ehash_entries is negative in a child namespace).
    pub fn get_i64(&self, key: &str) -> Option<i64> {
        self.get(key)?.parse().ok()
    }

    pub fn get_u32(&self, key: &str) -> Option<u32> {
        self.get(key)?.parse().ok()
    }

    /// Several whitespace-separated integers (`ip_local_port_range`, `tcp_mem`).
    pub fn get_vec(&self, key: &str) -> Option<Vec<u64>> {
        self.get(key)?
            .split_whitespace()
            .map(|s| s.parse().ok())
            .collect()
    }

    pub fn exists(&self, key: &str) -> bool {
        self.path(key).exists()
    }
}

/// Parse `ip_local_reserved_ports` ("8080,9000-9010" or empty) into inclusive spans.
pub fn parse_port_list(s: &str) -> Result<Vec<crate::snapshot::PortRange>, String> {
    let mut out = Vec::new();
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (lo, hi) = match part.split_once('-') {
            Some((a, b)) => (a.trim(), b.trim()),
            None => (part, part),
        };
        let lo: u16 = lo
            .parse()
            .map_err(|_| format!("bad port {lo:?} in {s:?}"))?;
        let hi: u16 = hi
            .parse()
            .map_err(|_| format!("bad port {hi:?} in {s:?}"))?;
        if hi < lo {
            return Err(format!("inverted span {part:?}"));
        }
        out.push(crate::snapshot::PortRange { lo, hi });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_fixture_tree() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(d.path().join("net/ipv4")).unwrap();
        std::fs::write(
            d.path().join("net/ipv4/ip_local_port_range"),
            "32768\t60999\n",
        )
        .unwrap();
        let ps = ProcSys::new(d.path());
        assert_eq!(
            ps.get("net.ipv4.ip_local_port_range").unwrap(),
            "32768 60999"
        );
        assert_eq!(
            ps.get_vec("net.ipv4.ip_local_port_range").unwrap(),
            vec![32768, 60999]
        );
        assert_eq!(ps.get("net.ipv4.tcp_tw_reuse_delay"), None);
    }

    #[test]
    fn port_lists() {
        let v = parse_port_list("8080,9000-9010").unwrap();
        assert_eq!(v.len(), 2);
        assert_eq!(v[1].len(), 11);
        assert!(parse_port_list("").unwrap().is_empty());
        assert!(parse_port_list("10-5").is_err());
        assert!(parse_port_list("x").is_err());
    }
}
