//! macOS (xnu) rules, each with its source (docs/model.md, "macOS"; macos-facts.md).
//!
//! * Per-process fds: MIN(RLIMIT_NOFILE, `kern.maxfilesperproc`) (xnu `kern_resource.c`,
//!   `proc_limitgetcur_nofile`); host-wide `kern.maxfiles` gives ENFILE, root included
//!   (`kern_descrip.c`).
//! * Defaults: `kern.maxfiles` = 3 × OPEN_MAX (30720) × scale when scale > 2, else 30720;
//!   `kern.maxfilesperproc` = maxfiles / 2 when scaled, else OPEN_MAX (10240); scale =
//!   min(16, RAM / 4 GiB) from 8 GiB (`bsd/conf/param.c`, `bsd_scale_setup`).
//! * Ports: connect() without an explicit bind takes a port no TCP socket on the host uses,
//!   whatever the destination (`in_pcbconnect` → `in_pcbbind`): one pool per local address.
//! * TIME_WAIT = 2 × `net.inet.tcp.msl`; no `tcp_tw_reuse` (`tcp_input.c`, `tcp_timer.c`).
//! * Listen queue: `kern.ipc.somaxconn` (128) caps the backlog; the queue is full at the
//!   backlog, incomplete connections counted (`uipc_socket2.c` `sonewconn`).
//! * The JVM's `MaxFDLimit` set the soft limit to OPEN_MAX (10240) before JDK-8324577 (fixed in
//!   JDK 23, backported to 21 and 17 updates).

use super::ctx::{Ctx, ceiling};
use super::names::*;
use super::*;
use crate::snapshot::{Rlim, Snapshot};

/// `OPEN_MAX` in `<sys/syslimits.h>`: the unscaled per-process default.
pub const OPEN_MAX: u64 = 10_240;
/// `kern.ipc.somaxconn` default (`SOMAXCONN` in `<sys/socket.h>`).
pub const SOMAXCONN: u64 = 128;
/// `net.inet.tcp.msl` default in ms (`TCPTV_MSL`).
pub const MSL_MS: u64 = 15_000;

/// The boot-time defaults of (`kern.maxfiles`, `kern.maxfilesperproc`) for a Mac with this much
/// memory (xnu ≥ 8019, macOS 12), and how they were found.
pub fn default_files(mem_total_kb: Option<u64>) -> (u64, u64, String) {
    let gib = mem_total_kb.map(|k| k >> 20);
    let scale = match gib {
        Some(g) if g >= 8 => (g / 4).min(16),
        _ => 2,
    };
    if scale > 2 {
        let files = 3 * OPEN_MAX * scale;
        (
            files,
            files / 2,
            format!(
                "the macOS default for {} GiB of memory (3 × OPEN_MAX × {scale})",
                gib.unwrap_or(0)
            ),
        )
    } else {
        let why = match gib {
            Some(g) => format!("the macOS default for {g} GiB of memory"),
            None => "the smallest macOS default (memory unknown)".to_string(),
        };
        (3 * OPEN_MAX, OPEN_MAX, why)
    }
}

/// `kern.maxfilesperproc` as read, or the macOS default for this much memory.
pub fn perproc(snap: &Snapshot) -> u64 {
    snap.fs
        .maxfilesperproc
        .unwrap_or_else(|| default_files(snap.memory.mem_total_kb).1)
}

/// `kern.maxfilesperproc` as read, or its default, with the reason; an assumption is recorded.
pub(super) fn maxfilesperproc(cx: &mut Ctx) -> (u64, String) {
    match cx.snap.fs.maxfilesperproc {
        Some(m) => (m, format!("kern.maxfilesperproc {m}")),
        None => {
            let m = default_files(cx.snap.memory.mem_total_kb).1;
            (m, format!("kern.maxfilesperproc {m} (assumed)"))
        }
    }
}

/// Whether this JDK sets the soft limit to OPEN_MAX on macOS (JDK-8324577: fixed in 23,
/// backported to 21.0.5 and 17.0.13). `None`: the version is unknown.
pub fn jvm_caps_at_open_max(version: Option<&str>) -> Option<bool> {
    let v = version?.trim().trim_start_matches("1.");
    let mut parts = v
        .split(|c: char| !c.is_ascii_digit())
        .filter(|p| !p.is_empty())
        .map(|p| p.parse::<u64>().unwrap_or(0));
    let major = parts.next()?;
    let _minor = parts.next().unwrap_or(0);
    let patch = parts.next().unwrap_or(0);
    Some(match major {
        m if m >= 23 => false,
        21 => patch < 5,
        17 => patch < 13,
        _ => true,
    })
}

/// How to lift RLIMIT_NOFILE to `needed` on a Mac.
pub fn nofile_lift(snap: &Snapshot, needed: u64) -> String {
    let p = &snap.process;
    let mut s = String::new();
    if let (Rlim::Value(soft), hard) = (p.nofile.soft, p.nofile.hard) {
        if hard > Rlim::Value(soft) {
            let now = match hard {
                Rlim::Value(h) => h.min(needed.max(soft.saturating_add(1))).to_string(),
                Rlim::Unlimited => needed.to_string(),
            };
            s.push_str(&format!(
                "now, without privileges: `ulimit -n {now}` in the shell that starts it (the hard limit is {hard}); "
            ));
        }
    }
    s.push_str(&format!(
        "raise the soft limit to {needed}: `ulimit -n {needed}` before the process starts, `sudo launchctl limit maxfiles {needed} {needed}` for what launchd starts, or SoftResourceLimits/HardResourceLimits NumberOfFiles {needed} in its launchd plist"
    ));
    if let Rlim::Value(hard) = p.nofile.hard {
        if needed > hard {
            s.push_str(&format!(
                "; the hard limit {hard} is below that: raise it as root (`sudo launchctl limit maxfiles {needed} {needed}`, or the plist's HardResourceLimits)"
            ));
        }
    }
    let perproc = perproc(snap);
    if needed > perproc {
        let files = snap.fs.file_max.unwrap_or(0).max(needed.saturating_mul(2));
        s.push_str(&format!(
            "; above kern.maxfilesperproc {perproc} also `sudo sysctl -w kern.maxfilesperproc={needed} kern.maxfiles={files}`"
        ));
    }
    s
}

/// The lift of `process_fds` on a Mac whose effective soft limit is `eff`: up to
/// `kern.maxfilesperproc` when that is higher (the next rung), and for a JVM that caps at
/// OPEN_MAX, `-XX:-MaxFDLimit` or a fixed JDK.
pub fn process_fds_lift(snap: &Snapshot, eff: u64) -> String {
    let perproc = perproc(snap);
    let target = if perproc > eff {
        perproc
    } else {
        super::ctx::suggested_nofile(eff)
    };
    let p = &snap.process;
    let capped = snap.runtime.kind == crate::snapshot::RuntimeKind::Jvm
        && p.is_self
        && !p.cmdline.iter().any(|a| a == "-XX:-MaxFDLimit")
        && jvm_caps_at_open_max(snap.runtime.version.as_deref()) != Some(false);
    if capped {
        let keep = match p.nofile.soft {
            Rlim::Value(soft) if soft < target => {
                format!("and `ulimit -n {target}` before it")
            }
            soft => format!(
                "(it then keeps the soft limit it is given, {soft}; xnu caps it at kern.maxfilesperproc {perproc})"
            ),
        };
        return format!(
            "start the JVM with `-XX:-MaxFDLimit` {keep}, or use a JDK with the JDK-8324577 fix (23+, 21.0.5+, 17.0.13+), which raises the soft limit to the hard one"
        );
    }
    nofile_lift(snap, target)
}

/// `max_files_per_proc`: the per-process cap xnu applies on top of RLIMIT_NOFILE.
pub(super) fn max_files_per_proc(
    cx: &mut Ctx,
    open: u64,
    extra: u64,
    fpc: u64,
    procs: u64,
) -> Ceiling {
    let (m, how) = maxfilesperproc(cx);
    let per = m.saturating_sub(open.saturating_add(extra)) / fpc.max(1);
    let mut why = format!("({how} − {open} fds open");
    if extra > 0 {
        why.push_str(&format!(" − {extra} listeners"));
    }
    why.push_str(&format!(") / {fpc} fd{} per connection", plural(fpc)));
    if procs > 1 {
        why.push_str(&format!(" × {procs} processes"));
    }
    let want = super::ctx::suggested_nofile(m);
    let files = cx.snap.fs.file_max.unwrap_or(0).max(want.saturating_mul(2));
    ceiling(
        MAX_FILES_PER_PROC,
        per.saturating_mul(procs),
        true,
        Scope::Process,
        why,
        format!(
            "`sudo sysctl -w kern.maxfilesperproc={want} kern.maxfiles={files}` (until reboot; a LaunchDaemon plist running sysctl makes it stay), then a soft limit to match: `ulimit -n {want}` or `sudo launchctl limit maxfiles {want} {want}`"
        ),
    )
}

/// `system_files` on a Mac: `kern.maxfiles`, with no exemption for root.
pub(super) fn system_files(cx: &mut Ctx, spc: u64) -> Ceiling {
    let (max, how) = match cx.snap.fs.file_max {
        Some(m) => (m, format!("kern.maxfiles {m}")),
        None => {
            let m = default_files(cx.snap.memory.mem_total_kb).0;
            (m, format!("kern.maxfiles {m} (assumed)"))
        }
    };
    let used = cx.snap.fs.file_nr_allocated.unwrap_or(0);
    ceiling(
        SYSTEM_FILES,
        max.saturating_sub(used) / spc.max(1),
        true,
        Scope::Host,
        format!(
            "({how} − {used} open on the host [kern.num_files]) / {spc} socket{} per connection; root is not exempt",
            plural(spc)
        ),
        format!(
            "`sudo sysctl -w kern.maxfiles={}` (host-wide, until reboot; a LaunchDaemon plist makes it stay)",
            super::ctx::above(max)
        ),
    )
}

/// Port tuples on a Mac: one pool per local address bound explicitly; destinations and listen
/// ports do not multiply it.
pub fn port_tuples(sc: &Scenario) -> (u64, String) {
    let src = sc.source_ips.max(1);
    (
        src,
        format!(
            "{src} local address{} (macOS: one pool for the whole host per local address, whatever the destination)",
            if src > 1 { "es" } else { "" }
        ),
    )
}

pub const PORTS_LIFT: &str = "widen the range: `sudo sysctl -w net.inet.ip.portrange.first=1024` (host-wide; also net.inet.ip.portrange.last up to 65535); or bind explicitly to more local addresses (`sudo ifconfig lo0 alias 127.0.0.2 up`, one pool each); or pool connections";

/// The paused-acceptor queue on a Mac: full at the backlog, incomplete connections counted.
pub(super) fn accept_queue(cx: &mut Ctx) -> Ceiling {
    let somax = cx.snap.net.somaxconn.unwrap_or(SOMAXCONN);
    let backlog = cx.sc.backlog.unwrap_or(somax);
    let q = backlog.min(somax);
    ceiling(
        ACCEPT_QUEUE,
        q,
        true,
        Scope::Host,
        format!(
            "min(listen backlog {backlog}, kern.ipc.somaxconn {somax}) while the application does not accept (the queue counts incomplete connections too)"
        ),
        format!(
            "accept faster (the application stopped calling accept()); raise `sudo sysctl -w kern.ipc.somaxconn={}` and the application's listen() backlog",
            somax.saturating_mul(8).max(1024)
        ),
    )
}

/// TIME_WAIT on a Mac: (seconds, why, lift).
pub fn time_wait(snap: &Snapshot) -> (f64, String, String) {
    let msl = snap.net.msl_ms.unwrap_or(MSL_MS);
    let assumed = if snap.net.msl_ms.is_none() {
        " (assumed: the default)"
    } else {
        ""
    };
    (
        2.0 * msl as f64 / 1000.0,
        format!("TIME_WAIT = 2 × net.inet.tcp.msl {msl} ms{assumed}; macOS has no TIME_WAIT reuse"),
        format!(
            "pool connections, or bind to more local addresses; or shorten TIME_WAIT with `sudo sysctl -w net.inet.tcp.msl={}` (trade-off: a shorter TIME_WAIT lets a late segment of an old connection reach a new one on the same ports)",
            (msl / 2).max(1000)
        ),
    )
}

pub fn plural(n: u64) -> &'static str {
    if n == 1 { "" } else { "s" }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_by_memory() {
        assert_eq!(default_files(Some(16 << 20)).0, 122_880);
        assert_eq!(default_files(Some(16 << 20)).1, 61_440);
        assert_eq!(default_files(Some(8 << 20)).1, 10_240);
        assert_eq!(default_files(Some(128 << 20)).1, 3 * 10_240 * 16 / 2);
        assert_eq!(default_files(None).1, OPEN_MAX);
    }

    #[test]
    fn jvm_versions() {
        assert_eq!(jvm_caps_at_open_max(None), None);
        assert_eq!(jvm_caps_at_open_max(Some("23")), Some(false));
        assert_eq!(jvm_caps_at_open_max(Some("21.0.4")), Some(true));
        assert_eq!(jvm_caps_at_open_max(Some("21.0.5")), Some(false));
        assert_eq!(jvm_caps_at_open_max(Some("17.0.15")), Some(false));
        assert_eq!(jvm_caps_at_open_max(Some("17.0.2")), Some(true));
        assert_eq!(jvm_caps_at_open_max(Some("1.8.0_392")), Some(true));
        assert_eq!(jvm_caps_at_open_max(Some("11.0.22")), Some(true));
    }
}
