//! Bounded reads of user-named files: regular files only (or `-` for standard input), with
//! the size cap enforced while reading (a file's reported size proves nothing: /proc files
//! report 0, /dev/zero never ends), and a FIFO refused at open instead of blocking.

use std::io::Read;
use std::path::Path;

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
    crate::apply::persist::check_replaceable(path).map_err(|e| {
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
    crate::apply::persist::write_atomic(target, content, 0o644).map_err(|e| {
        let msg = format!(
            "cannot write {what}: {}",
            crate::apply::sysctl::describe_io(&e)
        );
        if bad_path(&e) {
            Error::input(path, msg)
        } else {
            Error::io(format!("{}: cannot write {what}", path.display()), e)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

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
