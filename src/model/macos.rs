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

/// The Darwin major version in `platform.kernel` (`kern.osrelease`: "20.6.0",
/// "23.4.0 (macOS 14.4)").
pub fn darwin_major(kernel: Option<&str>) -> Option<u32> {
    let k = kernel?.trim();
    let k = k.strip_prefix("Darwin ").unwrap_or(k);
    k.split(|c: char| !c.is_ascii_digit()).next()?.parse().ok()
}

/// The first Darwin version whose unscaled `kern.maxfiles` is 3 × OPEN_MAX (xnu-8019, macOS 12):
/// before it, `MAXFILES` was OPEN_MAX + 2048 (xnu-7195 `bsd/conf/param.c`).
pub const DARWIN_3X_OPEN_MAX: u32 = 21;

/// The boot-time defaults of (`kern.maxfiles`, `kern.maxfilesperproc`) for a Mac with this much
/// memory and this kernel, and how they were found. xnu `bsd/conf/param.c` sets the unscaled
/// `maxfiles` (3 × OPEN_MAX on LP64 from xnu-8019 / Darwin 21 / macOS 12; OPEN_MAX + 2048
/// before) and `kern_resource.c` `maxfilesperproc = OPEN_MAX`; `bsd_scale_setup`
/// (`bsd/dev/unix_startup.c`) multiplies `maxfiles` by the scale when it is above 2 and sets
/// `maxfilesperproc = maxfiles / 2`; the scale (`osfmk/kern/startup.c`) is 2 from 3 GiB and
/// min(16, memory / 4 GiB) from 8 GiB.
pub fn default_files(mem_total_kb: Option<u64>, kernel: Option<&str>) -> (u64, u64, String) {
    let gib = mem_total_kb.map(|k| k >> 20);
    let scale = match gib {
        Some(g) if g >= 8 => (g / 4).min(16),
        _ => 2,
    };
    let darwin = darwin_major(kernel);
    let (base, base_why) = match darwin {
        Some(d) if d < DARWIN_3X_OPEN_MAX => (
            OPEN_MAX + 2048,
            format!("OPEN_MAX + 2048 on Darwin {d} (before macOS 12)"),
        ),
        Some(_) => (
            3 * OPEN_MAX,
            "3 × OPEN_MAX (macOS 12 and later)".to_string(),
        ),
        None => (
            3 * OPEN_MAX,
            format!(
                "3 × OPEN_MAX: the kernel version is unknown, assumed macOS 12 or later (before it: OPEN_MAX + 2048 = {})",
                OPEN_MAX + 2048
            ),
        ),
    };
    if scale > 2 {
        let files = base * scale;
        (
            files,
            files / 2,
            format!(
                "the macOS default for {} GiB of memory ({base_why}, × {scale})",
                gib.unwrap_or(0)
            ),
        )
    } else {
        let why = match gib {
            Some(g) => format!("the macOS default for {g} GiB of memory ({base_why}, unscaled)"),
            None => format!("the smallest macOS default (memory unknown; {base_why})"),
        };
        (base, OPEN_MAX, why)
    }
}

/// The defaults for the Mac a snapshot describes.
pub fn defaults(snap: &Snapshot) -> (u64, u64, String) {
    default_files(snap.memory.mem_total_kb, snap.platform.kernel.as_deref())
}

/// `kern.maxfilesperproc` as read, or the macOS default for this much memory.
pub fn perproc(snap: &Snapshot) -> u64 {
    snap.fs.maxfilesperproc.unwrap_or_else(|| defaults(snap).1)
}

/// `kern.maxfilesperproc` as read, or its default, with the reason; an assumption is recorded.
pub(super) fn maxfilesperproc(cx: &mut Ctx) -> (u64, String) {
    match cx.snap.fs.maxfilesperproc {
        Some(m) => (m, format!("kern.maxfilesperproc {m}")),
        None => {
            let m = defaults(cx.snap).1;
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

/// `kern.maxfiles` as read, or its default.
pub fn maxfiles(snap: &Snapshot) -> u64 {
    snap.fs.file_max.unwrap_or_else(|| defaults(snap).0)
}

/// The `kern.maxfiles` to go with `kern.maxfilesperproc` = `perproc`: twice it, never below
/// the value now.
fn files_for(snap: &Snapshot, perproc: u64) -> u64 {
    maxfiles(snap).max(perproc.saturating_mul(2))
}

/// `sudo launchctl limit maxfiles SOFT HARD` that gives `soft` without lowering a host-wide
/// limit: launchd, when its maxfiles limit changes, also sets `kern.maxfiles` to HARD and
/// `kern.maxfilesperproc` to SOFT (launchd-842 `src/ipc.c` `adjust_rlimits`; launchd.plist(5),
/// `NumberOfFiles`). So HARD is at least `kern.maxfiles` (now, or as [`nofile_lift`]'s sysctl
/// sets it when SOFT is above `kern.maxfilesperproc`), and a SOFT below
/// `kern.maxfilesperproc` is followed by the sysctl that puts it back.
pub fn launchctl_limit(snap: &Snapshot, soft: u64) -> String {
    let perproc = perproc(snap);
    let files = if soft > perproc {
        files_for(snap, soft)
    } else {
        maxfiles(snap).max(soft)
    };
    let mut s = format!("`sudo launchctl limit maxfiles {soft} {files}`");
    if soft < perproc {
        s.push_str(&format!(
            " then `sudo sysctl -w kern.maxfilesperproc={perproc}` (launchd also sets kern.maxfilesperproc to the soft limit and kern.maxfiles to the hard one"
        ));
    } else {
        s.push_str(
            " (launchd also sets kern.maxfilesperproc to the soft limit and kern.maxfiles to the hard one",
        );
    }
    // Terminal.app is started by launchd: its new windows and tabs keep the limit the app
    // started with (launchd gives a limit to the processes it starts from then on).
    s.push_str("; quit and reopen Terminal to start from a shell with it)");
    s
}

/// A JVM about to start on a Mac whose JDK version is unknown is taken as one before the
/// JDK-8324577 fix (soft limit set to OPEN_MAX): said under "Assumed", with how to give it.
pub(super) fn assume_jdk(cx: &mut Ctx) {
    let s = cx.snap;
    let p = &s.process;
    if s.platform.os == crate::snapshot::Os::Macos
        && s.runtime.kind == crate::snapshot::RuntimeKind::Jvm
        && p.is_self
        && !p.cmdline.iter().any(|a| a == "-XX:-MaxFDLimit")
        && jvm_caps_at_open_max(s.runtime.version.as_deref()).is_none()
    {
        cx.assume(format!(
            "JDK version unknown: assumed one before the JDK-8324577 fix, which sets the soft limit to OPEN_MAX {OPEN_MAX} on macOS (23+, 21.0.5+ and 17.0.13+ raise it to the hard limit); give it with --runtime-version"
        ));
    }
}

/// How to lift RLIMIT_NOFILE to `needed` on a Mac. Above `kern.maxfilesperproc` the sysctl
/// comes first: xnu never gives a process more, and before Big Sur (xnu-7195
/// `kern_resource.c`) setrlimit above it fails with EINVAL, so `ulimit -n` would fail.
pub fn nofile_lift(snap: &Snapshot, needed: u64) -> String {
    let p = &snap.process;
    let perproc = perproc(snap);
    let mut s = String::new();
    if let Rlim::Value(soft) = p.nofile.soft {
        // Without privileges: up to the hard limit, and no further than kern.maxfilesperproc.
        let now = match p.nofile.hard {
            Rlim::Value(h) => h.min(needed).min(perproc),
            Rlim::Unlimited => needed.min(perproc),
        };
        if now > soft {
            s.push_str(&format!(
                "now, without privileges: `ulimit -n {now}` in the shell that starts it (the hard limit is {}); ",
                p.nofile.hard
            ));
        }
    }
    if needed > perproc {
        s.push_str(&format!(
            "beyond kern.maxfilesperproc {perproc} (xnu caps every process at it, and before macOS 11 refuses a soft limit above it), first `sudo sysctl -w kern.maxfilesperproc={needed} kern.maxfiles={}`, then ",
            files_for(snap, needed)
        ));
    }
    s.push_str(&format!(
        "raise the soft limit to {needed}: `ulimit -n {needed}` before the process starts, {} for what launchd starts, or SoftResourceLimits/HardResourceLimits NumberOfFiles {needed} in its launchd plist",
        launchctl_limit(snap, needed)
    ));
    if let Rlim::Value(hard) = p.nofile.hard
        && needed > hard
    {
        s.push_str(&format!(
            "; the hard limit {hard} is below that: raise it as root (the launchctl above, or the plist's HardResourceLimits)"
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
    let files = files_for(cx.snap, want);
    ceiling(
        MAX_FILES_PER_PROC,
        per.saturating_mul(procs),
        true,
        Scope::Process,
        why,
        format!(
            "`sudo sysctl -w kern.maxfilesperproc={want} kern.maxfiles={files}` (until reboot; a LaunchDaemon plist running sysctl makes it stay), then a soft limit to match: `ulimit -n {want}` in the shell that starts it, or for what launchd starts `sudo launchctl limit maxfiles {want} {files}` (launchd also sets kern.maxfilesperproc and kern.maxfiles from it; quit and reopen Terminal to start from a shell with it)"
        ),
    )
}

/// `system_files` on a Mac: `kern.maxfiles`, with no exemption for root.
pub(super) fn system_files(cx: &mut Ctx, spc: u64) -> Ceiling {
    let (max, how) = match cx.snap.fs.file_max {
        Some(m) => (m, format!("kern.maxfiles {m}")),
        None => {
            let m = defaults(cx.snap).0;
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

/// Where a Mac's range can start and still stay above the ports servers commonly listen on
/// (memcached 11211, RabbitMQ 15672 and 25672, MongoDB 27017): a port inside the range can be
/// taken by an outgoing connection before its server starts (xnu `in_pcbbind` picks any free
/// port of the range).
pub const WIDE_RANGE_FIRST: u16 = 32768;

/// How to get more ephemeral ports on a Mac whose range is `first`–`last`: down to
/// [`WIDE_RANGE_FIRST`], not over servers' ports, and up to 65535; else more local addresses
/// (one pool each).
pub fn ports_lift(first: u16, last: u16) -> String {
    let last = if last < u16::MAX {
        "`sudo sysctl -w net.inet.ip.portrange.last=65535`; "
    } else {
        ""
    };
    let widen = if first > WIDE_RANGE_FIRST {
        format!(
            "widen the range: `sudo sysctl -w net.inet.ip.portrange.first={WIDE_RANGE_FIRST}` (host-wide: {} ports up to 65535, still above the ports servers commonly listen on, such as 11211, 15672, 25672 and 27017; a port inside the range can be taken by an outgoing connection before its server starts); ",
            super::fmt::thousands(65536 - u64::from(WIDE_RANGE_FIRST))
        )
    } else {
        format!(
            "the range already starts at {first}: lower net.inet.ip.portrange.first only above every port a server here listens on (an outgoing connection can take a port inside the range before its server starts); "
        )
    };
    format!(
        "{widen}{last}or bind explicitly to more local addresses (`sudo ifconfig lo0 alias 127.0.0.2 up`, one pool each); or pool connections"
    )
}

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
    fn defaults_by_memory_and_kernel() {
        let d = |gib: u64, k: Option<&str>| {
            let (f, p, _) = default_files(Some(gib << 20), k);
            (f, p)
        };
        let monterey = Some("21.6.0 (macOS 12.7)");
        assert_eq!(d(16, monterey), (122_880, 61_440));
        assert_eq!(d(16, Some("23.4.0")), (122_880, 61_440));
        assert_eq!(d(8, monterey), (30_720, 10_240));
        assert_eq!(d(12, monterey), (92_160, 46_080));
        assert_eq!(d(4, monterey), (30_720, 10_240));
        assert_eq!(d(128, monterey), (491_520, 245_760));
        // Big Sur and older: OPEN_MAX + 2048 = 12288 before scaling.
        assert_eq!(d(16, Some("20.6.0")), (49_152, 24_576));
        assert_eq!(d(12, Some("Darwin 19.6.0")), (36_864, 18_432));
        assert_eq!(d(8, Some("20.6.0")), (12_288, 10_240));
        assert_eq!(d(4, Some("20.6.0")), (12_288, 10_240));
        assert_eq!(default_files(None, None).1, OPEN_MAX);
        // Unknown kernel: the macOS 12 base, said so.
        let (f, _, why) = default_files(Some(16 << 20), None);
        assert_eq!(f, 122_880);
        assert!(why.contains("kernel version is unknown"), "{why}");
        assert_eq!(darwin_major(Some("23.6.0 (macOS 14.6)")), Some(23));
        assert_eq!(darwin_major(Some("x")), None);
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
