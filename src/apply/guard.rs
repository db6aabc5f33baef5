//! What keeps an apply from leaving a host half-changed: one host-wide lock (two applies
//! with different state directories still cannot interleave), the record of the journal in
//! flight (a later apply refuses while it is pending), signals caught into a flag (the
//! engine restores, then exits), and the test hooks that inject faults at every write.

use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI32, Ordering::SeqCst};

use crate::error::{Error, Result};

/// Directory of the host-wide lock (tests point it at a temp dir).
pub const ENV_LOCK_DIR: &str = "PORTTUNE_LOCK_DIR";
/// Test hook `N:SIG`: after the N-th change (1-based) raise SIG (INT, TERM, HUP, KILL).
pub const ENV_SIGNAL_AT: &str = "PORTTUNE_TEST_SIGNAL_AT";
pub use crate::fsio::ENV_ENOSPC_AT;

/// The lock directory: `$PORTTUNE_LOCK_DIR`; for root `/run/porttune` (created 0700, no one
/// else can create, hold or write a lock there); for another user their runtime directory
/// (`$XDG_RUNTIME_DIR`), else the temp dir.
fn lock_dir() -> PathBuf {
    if let Some(d) = std::env::var_os(ENV_LOCK_DIR) {
        return PathBuf::from(d);
    }
    #[cfg(unix)]
    if nix::unistd::geteuid().is_root() {
        return PathBuf::from(ROOT_LOCK_DIR);
    }
    if let Some(d) = std::env::var_os("XDG_RUNTIME_DIR").filter(|d| Path::new(d).is_dir()) {
        return PathBuf::from(d);
    }
    std::env::temp_dir()
}

/// Root's lock directory.
#[cfg(target_os = "macos")]
pub const ROOT_LOCK_DIR: &str = "/var/run/porttune";
#[cfg(not(target_os = "macos"))]
pub const ROOT_LOCK_DIR: &str = "/run/porttune";

/// Create root's lock directory (0700) when missing, and check that the lock's directory is
/// a directory (not a link) and, for root, root's and writable by no one else. A user who is
/// not root may keep a lock in a shared directory (the temp dir): the lock file itself is
/// checked, and what such an apply can change is the user's own.
fn check_lock_dir(dir: &Path) -> std::result::Result<(), String> {
    if dir == Path::new(ROOT_LOCK_DIR) && std::fs::symlink_metadata(dir).is_err() {
        let mut b = std::fs::DirBuilder::new();
        #[cfg(unix)]
        {
            use std::os::unix::fs::DirBuilderExt;
            b.mode(0o700);
        }
        if let Err(e) = b.create(dir)
            && e.kind() != std::io::ErrorKind::AlreadyExists
        {
            return Err(format!("cannot create {}: {e}", dir.display()));
        }
    }
    let meta = std::fs::symlink_metadata(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    if !meta.is_dir() {
        return Err(format!(
            "{} is not a directory (a symbolic link?)",
            dir.display()
        ));
    }
    #[cfg(unix)]
    if !nix::unistd::geteuid().is_root() {
        return Ok(());
    }
    crate::fsio::check_private(dir, &meta)
}

/// The lock file opened is this user's, mode 0600 or stricter in spirit: not writable by
/// anyone else (a lock another user made could be held forever, or name a journal).
fn check_lock_file(path: &Path, f: &std::fs::File) -> std::result::Result<(), String> {
    let meta = f
        .metadata()
        .map_err(|e| format!("{}: {e}", path.display()))?;
    if !meta.is_file() {
        return Err(format!("{} is not a regular file", path.display()));
    }
    crate::fsio::check_private(path, &meta)
}

/// FNV-1a, for a stable lock name per sysctl root.
fn fnv(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The lock file for a sysctl root: `porttune.lock` for the kernel (/proc/sys), one per
/// fixture tree otherwise (tests run side by side).
/// Not root: a lock of this user's own (root's is mode 0600; what an unprivileged apply can
/// change, its own processes' limits, is the user's alone).
pub fn lock_path(sysctl_root: &Path) -> PathBuf {
    let mut name = if sysctl_root == Path::new(super::sysctl::DEFAULT_ROOT) {
        "porttune".to_string()
    } else {
        format!("porttune-{:016x}", fnv(&sysctl_root.display().to_string()))
    };
    #[cfg(unix)]
    {
        let uid = nix::unistd::geteuid();
        if !uid.is_root() {
            name.push_str(&format!("-uid{uid}"));
        }
    }
    lock_dir().join(format!("{name}.lock"))
}

/// The host-wide lock, held while an apply or a rollback runs. Its content is the path of
/// the journal of an apply in flight (empty when none): an apply killed by SIGKILL leaves it
/// there, and the next apply refuses until it is rolled back.
pub struct HostLock {
    #[cfg(unix)]
    file: nix::fcntl::Flock<std::fs::File>,
    pub path: PathBuf,
    /// The kernel's lock (/proc/sys) stays; a fixture tree's is removed when released with
    /// nothing in flight, so test runs leave no lock files behind.
    keep: bool,
}

impl Drop for HostLock {
    fn drop(&mut self) {
        if !self.keep && self.in_flight().is_none() {
            // Removed while still locked: a later apply creates a fresh one.
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

impl HostLock {
    pub fn acquire(sysctl_root: &Path) -> Result<HostLock> {
        let path = lock_path(sysctl_root);
        let refuse = |m: String| {
            Error::Failed(format!(
                "the host lock cannot be trusted: {m}; nothing was changed (remove it, or set {ENV_LOCK_DIR} to a directory of your own)"
            ))
        };
        check_lock_dir(path.parent().unwrap_or(Path::new("/"))).map_err(refuse)?;
        let mut opts = std::fs::OpenOptions::new();
        opts.create(true).truncate(false).read(true).write(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600).custom_flags(nix::libc::O_NOFOLLOW);
        }
        let f = opts.open(&path).map_err(|e| {
            Error::Failed(format!(
                "cannot open the lock {}: {e}; nothing was changed",
                path.display()
            ))
        })?;
        check_lock_file(&path, &f).map_err(refuse)?;
        #[cfg(unix)]
        {
            let file = nix::fcntl::Flock::lock(f, nix::fcntl::FlockArg::LockExclusiveNonblock)
                .map_err(|(_, e)| {
                    Error::Failed(format!(
                        "another porttune apply or rollback is running on this host ({} is locked: {e}); nothing was changed",
                        path.display()
                    ))
                })?;
            Ok(HostLock {
                file,
                path,
                keep: sysctl_root == Path::new(super::sysctl::DEFAULT_ROOT),
            })
        }
        #[cfg(not(unix))]
        {
            let _ = f;
            Ok(HostLock { path, keep: true })
        }
    }

    /// The journal an earlier apply left in flight, if any.
    pub fn in_flight(&mut self) -> Option<PathBuf> {
        let mut s = String::new();
        #[cfg(unix)]
        {
            let f: &mut std::fs::File = &mut self.file;
            f.seek(std::io::SeekFrom::Start(0)).ok()?;
            f.take(8192).read_to_string(&mut s).ok()?;
        }
        let s = s.trim();
        (!s.is_empty()).then(|| PathBuf::from(s))
    }

    /// Record (Some) or clear (None) the journal in flight. Best effort: the journal itself
    /// is the durable record; this only lets an apply with another state dir see it.
    pub fn record(&mut self, journal: Option<&Path>) {
        #[cfg(unix)]
        {
            let f: &mut std::fs::File = &mut self.file;
            let text = journal.map(|p| p.display().to_string()).unwrap_or_default();
            let _ = f.set_len(0);
            let _ = f.seek(std::io::SeekFrom::Start(0));
            let _ = f.write_all(text.as_bytes());
            let _ = f.sync_all();
        }
        #[cfg(not(unix))]
        let _ = journal;
    }
}

/// The journal in flight recorded in the lock of `sysctl_root` (read without locking).
/// A lock someone else could write is ignored here (and refused by [`HostLock::acquire`]).
pub fn in_flight(sysctl_root: &Path) -> Option<PathBuf> {
    let path = lock_path(sysctl_root);
    let f = std::fs::File::open(&path).ok()?;
    check_lock_file(&path, &f).ok()?;
    let mut s = String::new();
    f.take(8192).read_to_string(&mut s).ok()?;
    let s = s.trim();
    (!s.is_empty()).then(|| PathBuf::from(s))
}

/// Whether another process holds the lock of `sysctl_root` right now (an apply running).
pub fn lock_busy(sysctl_root: &Path) -> bool {
    #[cfg(unix)]
    {
        let Ok(f) = std::fs::File::open(lock_path(sysctl_root)) else {
            return false;
        };
        nix::fcntl::Flock::lock(f, nix::fcntl::FlockArg::LockSharedNonblock).is_err()
    }
    #[cfg(not(unix))]
    {
        let _ = sysctl_root;
        false
    }
}

static CAUGHT: AtomicI32 = AtomicI32::new(0);

extern "C" fn on_signal(sig: nix::libc::c_int) {
    let _ = CAUGHT.compare_exchange(0, sig, SeqCst, SeqCst);
}

/// SIGINT, SIGTERM and SIGHUP caught into a flag while an apply or rollback writes; the
/// previous dispositions come back on drop.
pub struct Signals {
    #[cfg(unix)]
    old: Vec<(nix::sys::signal::Signal, nix::sys::signal::SigAction)>,
}

impl Signals {
    pub fn catch() -> Signals {
        #[cfg(unix)]
        {
            use nix::sys::signal::{SaFlags, SigAction, SigHandler, SigSet, Signal, sigaction};
            let sa = SigAction::new(
                SigHandler::Handler(on_signal),
                SaFlags::SA_RESTART,
                SigSet::empty(),
            );
            let mut old = Vec::new();
            for s in [Signal::SIGINT, Signal::SIGTERM, Signal::SIGHUP] {
                // SAFETY: the handler only stores to an atomic.
                if let Ok(prev) = unsafe { sigaction(s, &sa) } {
                    old.push((s, prev));
                }
            }
            Signals { old }
        }
        #[cfg(not(unix))]
        Signals {}
    }

    /// The signal caught so far (its number), if any.
    pub fn caught(&self) -> Option<i32> {
        match CAUGHT.load(SeqCst) {
            0 => None,
            n => Some(n),
        }
    }
}

impl Drop for Signals {
    fn drop(&mut self) {
        #[cfg(unix)]
        for (s, prev) in &self.old {
            // SAFETY: restoring the disposition that was there before.
            let _ = unsafe { nix::sys::signal::sigaction(*s, prev) };
        }
    }
}

/// Whether a signal has been caught (for sleeps that should end early).
pub fn signal_pending() -> bool {
    CAUGHT.load(SeqCst) != 0
}

/// A signal's name for messages.
pub fn signal_name(sig: i32) -> &'static str {
    match sig {
        1 => "SIGHUP",
        2 => "SIGINT",
        15 => "SIGTERM",
        _ => "a signal",
    }
}

/// The test hook: raise the signal asked for after change `n` (1-based).
pub fn test_signal_after(n: usize) {
    let Ok(v) = std::env::var(ENV_SIGNAL_AT) else {
        return;
    };
    let Some((at, sig)) = v.split_once(':') else {
        return;
    };
    if at.trim().parse::<usize>().ok() != Some(n) {
        return;
    }
    #[cfg(unix)]
    {
        use nix::sys::signal::{Signal, raise};
        let s = match sig.trim().trim_start_matches("SIG") {
            "INT" => Signal::SIGINT,
            "TERM" => Signal::SIGTERM,
            "HUP" => Signal::SIGHUP,
            "KILL" => Signal::SIGKILL,
            _ => return,
        };
        let _ = raise(s);
    }
}

/// Sleep after a write when the test hook asks for it.
pub fn test_pause() {
    if let Some(n) = std::env::var(super::sysctl::ENV_PAUSE_AFTER_WRITE)
        .ok()
        .and_then(|v| v.parse::<f64>().ok())
        && n > 0.0
    {
        // In slices, so a caught signal ends the pause (the engine then restores).
        let end = std::time::Instant::now() + std::time::Duration::from_secs_f64(n.min(600.0));
        while std::time::Instant::now() < end && !signal_pending() {
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }
}
