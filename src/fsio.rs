//! Bounded reads of user-named files: regular files only (or `-` for standard input), with
//! the size cap enforced while reading (a file's reported size proves nothing: /proc files
//! report 0, /dev/zero never ends), and a FIFO refused at open instead of blocking.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// Largest snapshot, nginx configuration or vm.args read (they are a few KiB).
pub const MAX_INPUT: u64 = 4 << 20;

/// What kind of file this is, for "not a regular file" messages.
#[cfg(unix)]
fn kind(ft: std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if ft.is_dir() {
        "a directory"
    } else if ft.is_fifo() {
        "a FIFO"
    } else if ft.is_char_device() {
        "a character device"
    } else if ft.is_block_device() {
        "a block device"
    } else if ft.is_socket() {
        "a socket"
    } else if ft.is_symlink() {
        "a symbolic link"
    } else {
        "not a regular file"
    }
}

#[cfg(not(unix))]
fn kind(ft: std::fs::FileType) -> &'static str {
    if ft.is_dir() {
        "a directory"
    } else {
        "not a regular file"
    }
}

/// Read at most `cap` bytes of `path` (`-`: standard input). More than `cap` bytes, a
/// directory, a device, a FIFO or a socket is an input error (exit 2) naming `what`.
pub fn read_bounded(path: &Path, cap: u64, what: &str) -> Result<Vec<u8>> {
    let mut buf = Vec::new();
    let limit = cap.saturating_add(1);
    if path == Path::new("-") {
        std::io::stdin()
            .lock()
            .take(limit)
            .read_to_end(&mut buf)
            .map_err(|e| Error::input(path, format!("cannot read {what}: {e}")))?;
    } else {
        let mut opts = std::fs::OpenOptions::new();
        opts.read(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            // O_NONBLOCK: opening a FIFO without a writer returns at once (and is refused
            // below) instead of waiting forever; it changes nothing for regular files.
            opts.custom_flags(nix::libc::O_NONBLOCK | nix::libc::O_NOCTTY);
        }
        let f = opts
            .open(path)
            .map_err(|e| Error::input(path, format!("cannot read {what}: {e}")))?;
        let meta = f
            .metadata()
            .map_err(|e| Error::input(path, format!("cannot read {what}: {e}")))?;
        if !meta.is_file() {
            return Err(Error::input(
                path,
                format!(
                    "cannot read {what}: {} is {}; give a regular file (or `-` for standard input)",
                    path.display(),
                    kind(meta.file_type())
                ),
            ));
        }
        f.take(limit)
            .read_to_end(&mut buf)
            .map_err(|e| Error::input(path, format!("cannot read {what}: {e}")))?;
    }
    if buf.len() as u64 > cap {
        return Err(Error::input(
            path,
            format!("{what} is larger than {cap} bytes; refusing to read more"),
        ));
    }
    Ok(buf)
}

/// Open `path` for reading without blocking on a FIFO or taking a terminal, and refuse
/// anything but a regular file (io error kind `InvalidInput`, naming what it is).
fn open_regular(path: &Path) -> std::io::Result<std::fs::File> {
    let mut opts = std::fs::OpenOptions::new();
    opts.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.custom_flags(nix::libc::O_NONBLOCK | nix::libc::O_NOCTTY);
    }
    let f = opts.open(path)?;
    let meta = f.metadata()?;
    if !meta.is_file() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("{}, not a regular file", kind(meta.file_type())),
        ));
    }
    Ok(f)
}

/// At most `cap` bytes of the regular file `path` (a FIFO, a device or a directory is
/// refused at open; more than `cap` bytes is an error). The io error says what went wrong
/// without quoting the file.
pub fn read_regular(path: &Path, cap: u64) -> std::io::Result<Vec<u8>> {
    let f = open_regular(path)?;
    let mut buf = Vec::new();
    f.take(cap.saturating_add(1)).read_to_end(&mut buf)?;
    if buf.len() as u64 > cap {
        return Err(std::io::Error::new(
            std::io::ErrorKind::FileTooLarge,
            format!("larger than {cap} bytes; refusing to read more"),
        ));
    }
    Ok(buf)
}

/// A plain io read of a regular file, at most `cap` bytes (more is an error).
pub fn read_bounded_io(path: &Path, cap: u64) -> std::io::Result<Vec<u8>> {
    let f = std::fs::File::open(path)?;
    let mut buf = Vec::new();
    f.take(cap.saturating_add(1)).read_to_end(&mut buf)?;
    if buf.len() as u64 > cap {
        return Err(std::io::Error::other(format!(
            "larger than {cap} bytes; refusing to read more"
        )));
    }
    Ok(buf)
}

/// [`read_bounded`] as UTF-8 text; invalid UTF-8 names the byte offset.
pub fn read_text(path: &Path, cap: u64, what: &str) -> Result<String> {
    let bytes = read_bounded(path, cap, what)?;
    String::from_utf8(bytes).map_err(|e| {
        let off = e.utf8_error().valid_up_to();
        Error::input(
            path,
            format!("{what} is not text: byte {off} is not UTF-8 (is this a binary file?)"),
        )
    })
}

/// Whether a write error means the path given cannot be used (bad input, exit 2) rather
/// than a fault of the host (a full disk, an I/O error: exit 3).
fn bad_path(e: &std::io::Error) -> bool {
    use std::io::ErrorKind::*;
    matches!(
        e.kind(),
        NotFound | PermissionDenied | ReadOnlyFilesystem | NotADirectory | IsADirectory | Other
    ) || matches!(e.raw_os_error(), Some(1 | 2 | 13 | 20 | 21 | 30 | 40))
}

/// Check, before any work, that `path` can take an output file: `-` (standard output), or
/// a regular file (or none yet) in an existing, writable directory. Exit 2 otherwise.
pub fn check_output_path(path: &Path, what: &str) -> Result<()> {
    if path == Path::new("-") {
        return Ok(());
    }
    check_replaceable(path).map_err(|e| {
        Error::input(
            path,
            format!("cannot write {what}: {e}; give a file path, or `-` for standard output"),
        )
    })?;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    if !dir.is_dir() {
        return Err(Error::input(
            path,
            format!(
                "cannot write {what}: the directory {} does not exist",
                dir.display()
            ),
        ));
    }
    #[cfg(unix)]
    if nix::unistd::access(dir, nix::unistd::AccessFlags::W_OK).is_err() {
        return Err(Error::input(
            path,
            format!(
                "cannot write {what}: the directory {} is not writable",
                dir.display()
            ),
        ));
    }
    Ok(())
}

/// Write an output file the user named: `-` is standard output; otherwise atomically,
/// never through a symlink or into a device, the temp file removed on failure.
pub fn write_output(path: &Path, content: &[u8], what: &str) -> Result<()> {
    if path == Path::new("-") {
        crate::out::write_bytes(content);
        return Ok(());
    }
    check_output_path(path, what)?;
    let dir_path;
    let target = if path.parent().is_some_and(|p| p.as_os_str().is_empty()) {
        dir_path = Path::new(".").join(path);
        dir_path.as_path()
    } else {
        path
    };
    write_atomic(target, content, 0o644).map_err(|e| {
        let msg = format!("cannot write {what}: {}", describe_io(&e));
        if bad_path(&e) {
            Error::input(path, msg)
        } else {
            Error::io(format!("{}: cannot write {what}", path.display()), e)
        }
    })
}

/// `root` + an absolute path (`--root DIR` puts every persisted file under DIR; sysctl.d
/// files are read under it too).
pub fn under(root: &Path, abs: &str) -> PathBuf {
    root.join(abs.trim_start_matches('/'))
}

// ---- writing: atomic, never through a link or into a device ----

/// Test hook `N`: the N-th file write of the apply (journal saves, the space reserve and
/// persisted files, 1-based, in order) fails with ENOSPC, as on a full disk.
pub const ENV_ENOSPC_AT: &str = "PORTTUNE_TEST_ENOSPC_AT";

static FILE_WRITES: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// The test hook for a full disk: count this file write and fail it with ENOSPC when it is
/// the one `PORTTUNE_TEST_ENOSPC_AT` names.
pub fn test_file_write() -> std::io::Result<()> {
    let n = FILE_WRITES
        .fetch_add(1, std::sync::atomic::Ordering::SeqCst)
        .saturating_add(1);
    match std::env::var(ENV_ENOSPC_AT) {
        Ok(v) if v.trim().parse::<usize>().ok() == Some(n) => {
            Err(std::io::Error::from_raw_os_error(28))
        }
        _ => Ok(()),
    }
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
    test_file_write()?;
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
    test_file_write()?;
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

/// A file or directory root's state depends on (a journal, the lock, their directories) is
/// this user's and no one else may write it: owned by the effective uid, not writable by
/// group or others. The error says which of the two fails.
#[cfg(unix)]
pub fn check_private(path: &Path, meta: &std::fs::Metadata) -> std::result::Result<(), String> {
    use std::os::unix::fs::MetadataExt;
    let me = nix::unistd::geteuid().as_raw();
    if meta.uid() != me {
        return Err(format!(
            "{} is owned by uid {}, not by uid {me} (porttune's own files are {})",
            path.display(),
            meta.uid(),
            if me == 0 { "root's" } else { "this user's" }
        ));
    }
    if meta.mode() & 0o022 != 0 {
        return Err(format!(
            "{} is writable by {} (mode {:04o}); porttune trusts only files no one else can write",
            path.display(),
            if meta.mode() & 0o002 != 0 {
                "everyone"
            } else {
                "its group"
            },
            meta.mode() & 0o7777
        ));
    }
    Ok(())
}

#[cfg(not(unix))]
pub fn check_private(_path: &Path, _meta: &std::fs::Metadata) -> std::result::Result<(), String> {
    Ok(())
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

/// "Invalid argument (os error 22)" → "EINVAL: Invalid argument".
pub fn describe_io(e: &std::io::Error) -> String {
    use nix::errno::Errno;
    // The errors a sysctl or file write meets are named; others keep the OS's text alone.
    let name = match e.raw_os_error().map(Errno::from_raw) {
        Some(
            n @ (Errno::EPERM
            | Errno::ENOENT
            | Errno::EACCES
            | Errno::EINVAL
            | Errno::ENOSPC
            | Errno::EROFS
            | Errno::ERANGE
            | Errno::EIO),
        ) => format!("{n:?}"),
        _ => String::new(),
    };
    let text = e.to_string();
    let text = match text.find(" (os error") {
        Some(i) => text[..i].to_string(),
        None => text,
    };
    if name.is_empty() {
        text
    } else {
        format!("{name}: {text}")
    }
}

/// This process may write into `p` (access(2) W_OK; nothing is written).
#[cfg(unix)]
pub fn writable(p: &Path) -> bool {
    nix::unistd::access(p, nix::unistd::AccessFlags::W_OK).is_ok()
}

#[cfg(not(unix))]
pub fn writable(_p: &Path) -> bool {
    false
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn caps_and_kinds() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("a");
        std::fs::write(&p, b"12345").unwrap();
        assert_eq!(read_bounded(&p, 5, "x").unwrap(), b"12345");
        let e = read_bounded(&p, 4, "x").unwrap_err().to_string();
        assert!(e.contains("larger than 4 bytes"), "{e}");
        let e = read_bounded(d.path(), 4, "x").unwrap_err().to_string();
        assert!(e.contains("a directory"), "{e}");
        #[cfg(target_os = "linux")]
        {
            let e = read_bounded(Path::new("/dev/zero"), 4, "x")
                .unwrap_err()
                .to_string();
            assert!(e.contains("character device"), "{e}");
            let fifo = d.path().join("fifo");
            nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::S_IRWXU).unwrap();
            let e = read_bounded(&fifo, 4, "x").unwrap_err().to_string();
            assert!(e.contains("a FIFO"), "{e}");
            // Reported size 0, real content unbounded: the cap holds while reading.
            let e = read_bounded(Path::new("/proc/self/pagemap"), 4096, "x");
            assert!(e.is_err());
        }
    }
}
