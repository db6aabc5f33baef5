//! The process's fd limit: the soft RLIMIT_NOFILE it really runs with (per runtime and OS),
//! the fds a number of connections needs, and how to lift it.

use super::Scenario;
use super::macos;
use crate::snapshot::runtime;
use crate::snapshot::{Os, Rlim, RuntimeKind, Snapshot};

/// The soft RLIMIT_NOFILE the process will actually run with, and how it was found.
/// `Unlimited` only on a Mac (xnu then caps at `kern.maxfilesperproc`, a rung of its own); on
/// Linux an unlimited limit means `fs.nr_open`.
pub fn effective_nofile(snap: &Snapshot) -> (Rlim, String) {
    let p = &snap.process;
    let kind = snap.runtime.kind;
    let mac = snap.platform.os == Os::Macos;
    let raises = snap
        .runtime
        .raises_soft_to_hard
        .unwrap_or_else(|| runtime::raises_soft_to_hard(kind));
    let nr_open = snap.fs.nr_open.unwrap_or(1 << 20);
    let resolve = |r: Rlim| match (r, snap.platform.os) {
        (Rlim::Unlimited, Os::Linux | Os::Other) => Rlim::Value(nr_open),
        (r, _) => r,
    };
    let soft = resolve(p.nofile.soft);
    let hard = resolve(p.nofile.hard);
    let jvm_off = kind == RuntimeKind::Jvm && p.cmdline.iter().any(|a| a == "-XX:-MaxFDLimit");
    // A running process already shows what its runtime did at start; a process still to be
    // started from this shell gets the runtime's raise.
    if !(raises && p.is_self) || jvm_off {
        let how = if jvm_off {
            format!(
                "soft limit {} (-XX:-MaxFDLimit: the JVM keeps it)",
                p.nofile.soft
            )
        } else {
            format!("soft limit {}", p.nofile.soft)
        };
        return (soft, how);
    }
    if kind == RuntimeKind::Jvm && mac {
        let old = macos::jvm_caps_at_open_max(snap.runtime.version.as_deref());
        let open_max = Rlim::Value(macos::OPEN_MAX).min(hard);
        return match old {
            Some(true) => (
                open_max,
                format!(
                    "{open_max}: this JDK ({}) sets the soft limit to OPEN_MAX 10240 on macOS (-XX:+MaxFDLimit, before JDK-8324577)",
                    snap.runtime.version.as_deref().unwrap_or("?")
                ),
            ),
            Some(false) => (
                hard,
                format!(
                    "hard limit {hard}: this JDK ({}) raises the soft limit to the hard one (JDK-8324577), capped by kern.maxfilesperproc",
                    snap.runtime.version.as_deref().unwrap_or("?")
                ),
            ),
            None => (
                open_max,
                format!(
                    "{open_max}: a JDK before the JDK-8324577 fix (before 23, 21.0.5, 17.0.13) sets the soft limit to OPEN_MAX 10240 on macOS; a fixed JDK raises it to the hard limit {hard} (JDK version unknown: --runtime-version)"
                ),
            ),
        };
    }
    if hard <= soft {
        return (soft, format!("soft limit {}", p.nofile.soft));
    }
    if kind == RuntimeKind::Node && p.nofile.hard == Rlim::Unlimited {
        let v = Rlim::Value(1 << 20).min(hard);
        return (
            v,
            format!("{v}: Node.js raises an unlimited hard limit only to 1048576"),
        );
    }
    (
        hard,
        format!(
            "hard limit {hard}: {} raises the soft limit to the hard one at start",
            kind.name()
        ),
    )
}

/// Whether the process's RLIMIT_NOFILE is a setting still to be applied (a profile's, in the
/// what-if: provenance `derived`) rather than a limit a process has, which the kernel accepted.
pub fn nofile_is_a_setting(snap: &Snapshot) -> bool {
    matches!(
        snap.provenance.get("process.nofile"),
        Some(crate::snapshot::Provenance::Derived { .. })
    )
}

/// A limit still to be set can be no higher than `fs.nr_open` on Linux: setrlimit refuses more
/// (EPERM), and the kernel does not grow an fd table past it (fs/file.c `expand_files`). An
/// unread fs.nr_open is the kernel's default here; the model's range for it (docs/model.md,
/// "Provenance") then says what a higher one would give. A limit a process has was accepted
/// by the kernel and is kept as it is.
pub fn within_nr_open(snap: &Snapshot) -> std::borrow::Cow<'_, Snapshot> {
    let nr = Rlim::Value(snap.fs.nr_open.unwrap_or(1 << 20));
    let l = snap.process.nofile;
    let over = |r: Rlim| matches!(r, Rlim::Value(_)) && r > nr;
    if snap.platform.os == Os::Macos
        || !nofile_is_a_setting(snap)
        || !(over(l.soft) || over(l.hard))
    {
        return std::borrow::Cow::Borrowed(snap);
    }
    let mut s = snap.clone();
    for r in [&mut s.process.nofile.soft, &mut s.process.nofile.hard] {
        if over(*r) {
            *r = nr;
        }
    }
    std::borrow::Cow::Owned(s)
}

/// Fds a process needs for `conns` connections in this scenario.
pub fn fds_needed(snap: &Snapshot, sc: &Scenario, conns: u64) -> u64 {
    conns
        .div_ceil(sc.processes.max(1))
        .saturating_mul(sc.fds_per_conn())
        .saturating_add(snap.process.open_fds)
        .saturating_add(sc.setup_fds())
}

pub fn nofile_lift(snap: &Snapshot, needed_fds: u64) -> String {
    if snap.platform.os == Os::Macos {
        let mut s = macos::nofile_lift(snap, needed_fds);
        if snap.runtime.kind.on_erlang() {
            s.push_str("; for Erlang set a finite limit before the node starts (erts sizes its fd table at boot)");
        }
        return s;
    }
    let p = &snap.process;
    let hard = p.nofile.hard.value().unwrap_or(u64::MAX);
    let mut s = String::new();
    if let Rlim::Value(soft) = p.nofile.soft {
        if hard > soft {
            let now = hard.min(needed_fds.max(soft.saturating_add(1)));
            s.push_str(&format!(
                "now, without privileges: `ulimit -n {now}` in the shell that starts it (up to the hard limit {hard}); "
            ));
        }
    }
    s.push_str(&format!(
        "raise RLIMIT_NOFILE to at least {needed_fds}: `ulimit -n {needed_fds}` in the start script, LimitNOFILE={needed_fds} in the systemd unit, `--ulimit nofile={needed_fds}:{needed_fds}` for a container"
    ));
    if needed_fds > hard {
        if p.caps.sys_resource {
            s.push_str(&format!(
                "; the hard limit ({hard}) must be raised too (allowed: CAP_SYS_RESOURCE)"
            ));
        } else {
            s.push_str(&format!(
                "; the hard limit {hard} is below that and this process cannot raise it (no CAP_SYS_RESOURCE): set it where the process is started (systemd LimitNOFILE=, limits.d, the container runtime)"
            ));
        }
    }
    if let Some(nr) = snap.fs.nr_open {
        if needed_fds > nr {
            s.push_str(&format!(
                "; also fs.nr_open ({nr}) caps any hard limit: `sysctl -w fs.nr_open={needed_fds}`"
            ));
        }
    }
    if snap.runtime.kind.on_erlang() {
        s.push_str("; for Erlang set a finite limit before the node starts (erts sizes its fd table at boot)");
    }
    s
}
