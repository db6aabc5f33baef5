//! Counters shared between the parent and its worker processes: one anonymous shared
//! mapping, atomics only (no locks across processes).

use std::sync::atomic::{AtomicI32, AtomicU32, AtomicU64, Ordering::Relaxed};

/// Most worker processes a run may use.
pub const MAX_WORKERS: usize = 512;

/// Parent → workers.
#[repr(C)]
#[derive(Default)]
pub struct Ctrl {
    /// Start opening.
    pub go: AtomicU32,
    /// Stop opening now (deadline, signal, or a shared error).
    pub stop: AtomicU32,
    /// Run the survival check (close 1 %, reopen).
    pub survival: AtomicU32,
    /// Close everything and exit.
    pub release: AtomicU32,
}

/// One worker → parent.
#[repr(C)]
#[derive(Default)]
pub struct Slot {
    pub ready: AtomicU32,
    /// The worker stopped opening and everything in flight settled.
    pub done: AtomicU32,
    pub opened: AtomicU64,
    pub connected: AtomicU64,
    pub accepted: AtomicU64,
    /// Connected and (loopback) accepted.
    pub established: AtomicU64,
    /// Churn: completed open-close cycles.
    pub cycles: AtomicU64,
    /// First hard error: errno (0 = none), call code, CLOCK_MONOTONIC ns.
    pub stop_errno: AtomicI32,
    pub stop_call: AtomicU32,
    pub stop_ns: AtomicU64,
    /// The ETIMEDOUT was the flood's own --connect-timeout.
    pub own_timeout: AtomicU32,
    /// The worker reached its share of --max.
    pub quota_reached: AtomicU32,
    /// CLOCK_MONOTONIC ns of the last increase of `established`.
    pub last_new_ns: AtomicU64,
    /// File descriptors open in the worker.
    pub fds: AtomicU64,
    pub surv_closed: AtomicU64,
    pub surv_reopened: AtomicU64,
    pub surv_done: AtomicU32,
    /// Target mode: the target's accept queue when the stop was recorded, plus one (0: not read).
    pub server_queued: AtomicU64,
    _pad: [u64; 2],
}

#[repr(C)]
pub struct Shared {
    pub ctrl: Ctrl,
    pub slots: [Slot; MAX_WORKERS],
}

/// CLOCK_MONOTONIC in ns (the same clock in every process of the host).
pub fn mono_ns() -> u64 {
    use nix::time::{ClockId, clock_gettime};
    // CLOCK_MONOTONIC never fails on Linux or macOS (≥ 10.12); 0 would stall no deadline.
    match clock_gettime(ClockId::CLOCK_MONOTONIC) {
        Ok(ts) => u64::try_from(ts.tv_sec())
            .unwrap_or(0)
            .saturating_mul(1_000_000_000)
            .saturating_add(u64::try_from(ts.tv_nsec()).unwrap_or(0)),
        Err(_) => 0,
    }
}

/// The shared mapping. It outlives fork: parent and children see the same memory.
pub struct Shm {
    ptr: *mut Shared,
}

impl Shm {
    pub fn new() -> std::io::Result<Shm> {
        use nix::libc;
        let len = std::mem::size_of::<Shared>();
        // SAFETY: an anonymous shared mapping; zeroed memory is a valid `Shared` (atomics).
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED | libc::MAP_ANON,
                -1,
                0,
            )
        };
        if p == libc::MAP_FAILED {
            return Err(std::io::Error::last_os_error());
        }
        Ok(Shm { ptr: p.cast() })
    }

    pub fn get(&self) -> &Shared {
        // SAFETY: the mapping lives as long as `self` and holds only atomics.
        unsafe { &*self.ptr }
    }

    pub fn slot(&self, w: usize) -> &Slot {
        &self.get().slots[w]
    }

    pub fn ctrl(&self) -> &Ctrl {
        &self.get().ctrl
    }
}

impl Drop for Shm {
    fn drop(&mut self) {
        // SAFETY: unmapping the mapping created in `new`.
        unsafe {
            nix::libc::munmap(self.ptr.cast(), std::mem::size_of::<Shared>());
        }
    }
}

impl Slot {
    /// Record the first hard error of this worker.
    pub fn record_stop(&self, errno: i32, call: super::classify::Call, own_timeout: bool) {
        if self
            .stop_errno
            .compare_exchange(0, errno, Relaxed, Relaxed)
            .is_ok()
        {
            self.stop_call.store(call.code(), Relaxed);
            self.stop_ns.store(mono_ns(), Relaxed);
            self.own_timeout.store(own_timeout as u32, Relaxed);
        }
    }
}
