//! Files read at boot or at service start: sysctl.d, limits.d, systemd drop-ins, vm.args.
//! Contents are computed here (pure); writing is atomic (temp file + fsync + rename).

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::profile::LimitPair;
use crate::snapshot::Rlim;

/// `root` + an absolute path (`--root DIR` puts every persisted file under DIR).
pub fn under(root: &Path, abs: &str) -> PathBuf {
    root.join(abs.trim_start_matches('/'))
}

pub fn sysctl_d_path(name: &str) -> String {
    format!("/etc/sysctl.d/60-porttune-{name}.conf")
}
pub fn limits_d_path(name: &str) -> String {
    format!("/etc/security/limits.d/60-porttune-{name}.conf")
}
pub fn system_conf_d_path(name: &str) -> String {
    format!("/etc/systemd/system.conf.d/60-porttune-{name}.conf")
}
pub fn unit_dropin_path(unit: &str) -> String {
    format!("/etc/systemd/system/{unit}.d/porttune.conf")
}

fn header(profile: &str, what: &str) -> String {
    format!(
        "# Written by porttune from profile `{profile}`: {what}.\n# `porttune rollback` restores the previous content. Edits here are overwritten by the next apply.\n"
    )
}

pub fn sysctl_d(profile: &str, values: &[(String, String)]) -> String {
    let mut s = header(profile, "kernel settings applied at boot by systemd-sysctl");
    for (k, v) in values {
        s.push_str(&format!("{k} = {v}\n"));
    }
    s
}

fn rl(r: Rlim) -> String {
    match r {
        Rlim::Value(v) => v.to_string(),
        Rlim::Unlimited => "unlimited".into(),
    }
}

fn systemd_rl(r: Rlim) -> String {
    match r {
        Rlim::Value(v) => v.to_string(),
        Rlim::Unlimited => "infinity".into(),
    }
}

pub fn limits_d(
    profile: &str,
    domain: &str,
    nofile: Option<LimitPair>,
    nproc: Option<LimitPair>,
) -> String {
    let mut s = header(
        profile,
        "pam_limits for new login sessions (not systemd services)",
    );
    for (item, pair) in [("nofile", nofile), ("nproc", nproc)] {
        if let Some(p) = pair {
            s.push_str(&format!("{domain} soft {item} {}\n", rl(p.soft)));
            s.push_str(&format!("{domain} hard {item} {}\n", rl(p.hard)));
        }
    }
    s
}

pub fn system_conf_d(profile: &str, nofile: Option<LimitPair>, nproc: Option<LimitPair>) -> String {
    let mut s = header(profile, "default limits of every systemd service");
    s.push_str("[Manager]\n");
    if let Some(p) = nofile {
        s.push_str(&format!(
            "DefaultLimitNOFILE={}:{}\n",
            systemd_rl(p.soft),
            systemd_rl(p.hard)
        ));
    }
    if let Some(p) = nproc {
        s.push_str(&format!(
            "DefaultLimitNPROC={}:{}\n",
            systemd_rl(p.soft),
            systemd_rl(p.hard)
        ));
    }
    s
}

pub fn unit_dropin(
    profile: &str,
    nofile: Option<LimitPair>,
    nproc: Option<LimitPair>,
    erl_flags: Option<&str>,
) -> String {
    let mut s = header(profile, "limits of this unit");
    s.push_str("[Service]\n");
    if let Some(p) = nofile {
        s.push_str(&format!(
            "LimitNOFILE={}:{}\n",
            systemd_rl(p.soft),
            systemd_rl(p.hard)
        ));
    }
    if let Some(p) = nproc {
        s.push_str(&format!(
            "LimitNPROC={}:{}\n",
            systemd_rl(p.soft),
            systemd_rl(p.hard)
        ));
    }
    if let Some(f) = erl_flags {
        s.push_str(&format!("Environment=\"ERL_FLAGS={f}\"\n"));
    }
    s
}

/// Erlang emulator flags for +Q/+P.
pub fn erl_flags(max_ports: Option<u64>, max_processes: Option<u64>) -> String {
    let mut v = Vec::new();
    if let Some(q) = max_ports {
        v.push(format!("+Q {q}"));
    }
    if let Some(p) = max_processes {
        v.push(format!("+P {p}"));
    }
    v.join(" ")
}

/// Edit a vm.args file: replace `+Q N` / `+P N` lines (or add them at the end), keeping
/// every other byte as it was.
pub fn edit_vm_args(
    old: Option<&str>,
    max_ports: Option<u64>,
    max_processes: Option<u64>,
) -> String {
    let old = old.unwrap_or("");
    let mut out = String::with_capacity(old.len() + 32);
    let mut done_q = max_ports.is_none();
    let mut done_p = max_processes.is_none();
    for line in old.split_inclusive('\n') {
        let body = line.trim_end_matches(['\n', '\r']);
        let ending = &line[body.len()..];
        let t = body.trim_start();
        let indent = &body[..body.len() - t.len()];
        let flag = |f: &str| {
            t.strip_prefix(f)
                .is_some_and(|r| r.is_empty() || r.starts_with([' ', '\t']))
        };
        if let Some(q) = max_ports.filter(|_| flag("+Q")) {
            if !done_q {
                out.push_str(&format!("{indent}+Q {q}{ending}"));
                done_q = true;
            }
            continue;
        }
        if let Some(p) = max_processes.filter(|_| flag("+P")) {
            if !done_p {
                out.push_str(&format!("{indent}+P {p}{ending}"));
                done_p = true;
            }
            continue;
        }
        out.push_str(line);
    }
    if (!done_q || !done_p) && !out.is_empty() && !out.ends_with('\n') {
        out.push('\n');
    }
    if !done_q {
        out.push_str(&format!("+Q {}\n", max_ports.unwrap_or_default()));
    }
    if !done_p {
        out.push_str(&format!("+P {}\n", max_processes.unwrap_or_default()));
    }
    out
}

/// Refuse to replace anything but a regular file (a symlink, a device node, a directory, a
/// FIFO): porttune writes configuration files, never through links or into devices.
pub fn check_replaceable(path: &Path) -> std::io::Result<()> {
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_file() => Ok(()),
        Ok(m) => Err(std::io::Error::other(format!(
            "{} is {}, not a regular file; porttune replaces only regular files",
            path.display(),
            if m.file_type().is_symlink() {
                "a symbolic link"
            } else if m.file_type().is_dir() {
                "a directory"
            } else {
                "a device, FIFO or socket"
            }
        ))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

/// `path` under `root` reached without a symbolic link on the way (a link in `root/etc`
/// could point out of the root). Ok for `root` = "/" (the host's own links are its own).
pub fn check_confined(root: &Path, path: &Path) -> Result<(), String> {
    if root == Path::new("/") {
        return Ok(());
    }
    let rel = path
        .strip_prefix(root)
        .map_err(|_| format!("{} is not under --root {}", path.display(), root.display()))?;
    let mut cur = root.to_path_buf();
    for c in rel.components() {
        match c {
            std::path::Component::Normal(n) => cur.push(n),
            _ => {
                return Err(format!(
                    "{}: `..` or an absolute part under --root",
                    path.display()
                ));
            }
        }
        if let Ok(m) = std::fs::symlink_metadata(&cur)
            && m.file_type().is_symlink()
        {
            return Err(format!(
                "{} is a symbolic link under --root {}: it could lead out of the root; refusing to write through it",
                cur.display(),
                root.display()
            ));
        }
    }
    Ok(())
}

static TMP_SEQ: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

/// A temp file next to `path`, created exclusively (never following a link); the caller
/// removes it on every failure.
fn create_tmp(dir: &Path, path: &Path, mode: u32) -> std::io::Result<(PathBuf, std::fs::File)> {
    let seq = TMP_SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let tmp = dir.join(format!(
        ".{}.porttune-tmp.{}.{seq}",
        path.file_name()
            .map(|n| n.to_string_lossy())
            .unwrap_or_default(),
        std::process::id()
    ));
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(mode).custom_flags(nix::libc::O_NOFOLLOW);
    }
    let f = opts.open(&tmp)?;
    Ok((tmp, f))
}

/// Write `content` to `path` atomically: a temp file in the same directory, fsync, rename,
/// fsync of the directory. Parent directories are created (0755). `mode` applies to the file.
/// Refuses to replace a symlink or a device; the temp file is removed on every failure.
pub fn write_atomic(path: &Path, content: &[u8], mode: u32) -> std::io::Result<()> {
    super::guard::test_file_write()?;
    let dir = path
        .parent()
        .ok_or_else(|| std::io::Error::other("path has no parent directory"))?;
    std::fs::create_dir_all(dir)?;
    check_replaceable(path)?;
    let (tmp, mut f) = create_tmp(dir, path, mode)?;
    let written = (|| {
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            f.set_permissions(std::fs::Permissions::from_mode(mode))?;
        }
        f.write_all(content)?;
        f.sync_all()?;
        drop(f);
        std::fs::rename(&tmp, path)
    })();
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// Allocate `len` bytes at `path` (zeros, fsynced): space held back so a later rewrite of
/// the journal cannot fail on a full disk. Removed on failure.
pub fn write_reserve(path: &Path, len: usize) -> std::io::Result<()> {
    super::guard::test_file_write()?;
    check_replaceable(path)?;
    let res = (|| {
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600).custom_flags(nix::libc::O_NOFOLLOW);
        }
        let mut f = opts.open(path)?;
        let block = [0u8; 4096];
        let mut left = len;
        while left > 0 {
            let n = left.min(block.len());
            f.write_all(&block[..n])?;
            left -= n;
        }
        f.sync_all()
    })();
    if res.is_err() {
        let _ = std::fs::remove_file(path);
    }
    res
}

/// The permission bits of a file, if it exists.
pub fn mode_of(path: &Path) -> Option<u32> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(path)
            .ok()
            .map(|m| m.permissions().mode() & 0o7777)
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        None
    }
}

/// sysctl.d directories in precedence order (a file name in an earlier one hides the same
/// name in later ones), as systemd-sysctl reads them.
pub const SYSCTL_DIRS: &[&str] = &[
    "/etc/sysctl.d",
    "/run/sysctl.d",
    "/usr/local/lib/sysctl.d",
    "/usr/lib/sysctl.d",
    "/lib/sysctl.d",
];

/// Files that win over `ours` at boot (they sort after it, or are /etc/sysctl.conf) and set
/// one of `values` differently: (file, key, their value, our value).
pub fn sysctl_conflicts(
    root: &Path,
    ours: &str,
    values: &[(String, String)],
) -> Vec<(PathBuf, String, String, String)> {
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
        for line in text.lines() {
            let l = line.trim().trim_start_matches('-');
            if l.starts_with('#') || l.starts_with(';') {
                continue;
            }
            let Some((k, v)) = l.split_once('=') else {
                continue;
            };
            let k = k.trim().replace('/', ".");
            let v = crate::profile::validate::normalize(v);
            for (ok, ov) in values {
                if *ok == k && *ov != v {
                    out.push((f.clone(), k.clone(), v.clone(), ov.clone()));
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vm_args_keeps_other_lines() {
        let old = "## Name of the node\n-name app@host\n\n+K true\n  +Q 65536\n-setcookie x\n";
        let new = edit_vm_args(Some(old), Some(1048576), Some(2097152));
        assert_eq!(
            new,
            "## Name of the node\n-name app@host\n\n+K true\n  +Q 1048576\n-setcookie x\n+P 2097152\n"
        );
        // Idempotent.
        assert_eq!(edit_vm_args(Some(&new), Some(1048576), Some(2097152)), new);
        assert_eq!(edit_vm_args(None, Some(2048), None), "+Q 2048\n");
        assert_eq!(
            edit_vm_args(Some("-name a"), None, Some(4096)),
            "-name a\n+P 4096\n"
        );
    }

    #[test]
    fn atomic_write_mode() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("a/b/c.conf");
        write_atomic(&p, b"x\n", 0o600).unwrap();
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "x\n");
        #[cfg(unix)]
        assert_eq!(mode_of(&p), Some(0o600));
    }

    #[test]
    fn atomic_write_refuses_links_and_cleans_up() {
        let d = tempfile::tempdir().unwrap();
        let target = d.path().join("target");
        std::fs::write(&target, "keep\n").unwrap();
        let link = d.path().join("link.conf");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        let e = write_atomic(&link, b"x\n", 0o644).unwrap_err().to_string();
        assert!(e.contains("symbolic link"), "{e}");
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "keep\n");
        // A directory in the way: the rename fails, no temp file stays behind.
        let dir = d.path().join("sub");
        std::fs::create_dir_all(dir.join("x.conf")).unwrap();
        assert!(write_atomic(&dir.join("x.conf"), b"x", 0o644).is_err());
        let left: Vec<_> = std::fs::read_dir(&dir).unwrap().flatten().collect();
        assert_eq!(left.len(), 1, "{left:?}");
        // --root with a symlinked etc is refused.
        let root = d.path().join("root");
        std::fs::create_dir_all(&root).unwrap();
        std::os::unix::fs::symlink(d.path(), root.join("etc")).unwrap();
        let e = check_confined(&root, &root.join("etc/sysctl.d/a.conf")).unwrap_err();
        assert!(e.contains("symbolic link"), "{e}");
        assert!(check_confined(&root, &root.join("usr/a.conf")).is_ok());
    }

    #[test]
    fn conflicts() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(d.path().join("etc/sysctl.d")).unwrap();
        std::fs::write(
            d.path().join("etc/sysctl.d/99-local.conf"),
            "net.core.somaxconn = 1024\nnet.ipv4.tcp_tw_reuse=1\n",
        )
        .unwrap();
        std::fs::write(
            d.path().join("etc/sysctl.d/10-early.conf"),
            "net.core.somaxconn = 5\n",
        )
        .unwrap();
        let c = sysctl_conflicts(
            d.path(),
            &sysctl_d_path("x"),
            &[("net.core.somaxconn".into(), "65535".into())],
        );
        assert_eq!(c.len(), 1);
        assert!(c[0].0.ends_with("99-local.conf"));
    }
}
