//! Runtime detection and runtime caps: Erlang/OTP, JVM, Go, Node.js, Python, nginx, HAProxy.

pub mod catalog;
#[cfg(target_os = "linux")]
pub mod catalog_probe;
pub mod conf;
pub mod entry;
pub mod env_file;
pub mod erlang;
pub mod erlang_terms;
pub mod haproxy;
pub mod mysql;
pub mod nginx;
pub mod postgres;
pub mod redis;
pub mod servers;

use super::RuntimeKind;

/// Guess the runtime or server from the executable path and command line (the catalog's
/// recognition: `catalog::detect`).
pub fn detect(exe: Option<&str>, cmdline: &[String]) -> Option<RuntimeKind> {
    let base = |s: &str| s.rsplit('/').next().unwrap_or(s).to_string();
    // a title Redis rewrites as one argument ("/usr/bin/redis-server unixsocket:/run/r.sock")
    // names its program in its first word
    let first_word = cmdline
        .first()
        .and_then(|s| s.split(' ').next().filter(|w| w.len() < s.len()));
    let names: Vec<String> = exe
        .map(base)
        .into_iter()
        .chain(cmdline.first().map(|s| base(s)))
        .chain(first_word.map(base))
        .collect();
    catalog::detect(&names, cmdline)
}

/// The name of an event-wait system call by number, for this architecture.
pub fn wait_syscall_name(nr: u64) -> Option<&'static str> {
    #[cfg(target_arch = "x86_64")]
    let table: &[(u64, &str)] = &[
        (23, "select"),
        (270, "pselect6"),
        (7, "poll"),
        (271, "ppoll"),
        (232, "epoll_wait"),
        (281, "epoll_pwait"),
        (441, "epoll_pwait2"),
    ];
    #[cfg(target_arch = "aarch64")]
    let table: &[(u64, &str)] = &[
        (72, "pselect6"),
        (73, "ppoll"),
        (22, "epoll_pwait"),
        (441, "epoll_pwait2"),
    ];
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    let table: &[(u64, &str)] = &[];
    table.iter().find(|(n, _)| *n == nr).map(|(_, s)| *s)
}

/// The event wait the threads of `pid` are blocked in (/proc/PID/task/*/syscall, readable
/// by root or with ptrace access): `select`/`pselect6` only when a thread waits there on
/// fds (nfds > 0, not a select() used as a sleep) and the process holds no epoll instance;
/// else the first other wait seen.
#[cfg(target_os = "linux")]
pub fn waits_in(proc_root: &std::path::Path, pid: u32) -> Option<String> {
    let base = proc_root.join(pid.to_string());
    let has_epoll = std::fs::read_dir(base.join("fd")).is_ok_and(|rd| {
        rd.flatten().take(1 << 20).any(|e| {
            std::fs::read_link(e.path())
                .is_ok_and(|l| l.to_string_lossy() == "anon_inode:[eventpoll]")
        })
    });
    let tasks = std::fs::read_dir(base.join("task")).ok()?;
    let mut select: Option<&'static str> = None;
    let mut other: Option<&'static str> = None;
    for t in tasks.flatten().take(4096) {
        let Ok(text) = std::fs::read_to_string(t.path().join("syscall")) else {
            continue;
        };
        let mut it = text.split_whitespace();
        let Some(name) = it
            .next()
            .and_then(|n| n.parse::<u64>().ok())
            .and_then(wait_syscall_name)
        else {
            continue;
        };
        let nfds = it
            .next()
            .and_then(|a| u64::from_str_radix(a.trim_start_matches("0x"), 16).ok())
            .unwrap_or(0);
        if name.contains("select") {
            if nfds > 0 {
                select = select.or(Some(name));
            }
        } else {
            other = other.or(Some(name));
        }
    }
    match (select, has_epoll) {
        (Some(s), false) => Some(s.to_string()),
        _ => other.map(str::to_string),
    }
}

/// Tasks (threads included) of the real user of `pid`, over every process /proc shows
/// (bounded): what RLIMIT_NPROC counts.
#[cfg(target_os = "linux")]
pub fn user_tasks(proc_root: &std::path::Path, pid: u32) -> Option<(u32, u64)> {
    fn status(p: &std::path::Path) -> Option<(u32, u64)> {
        let t = crate::fsio::read_bounded_io(&p.join("status"), 1 << 16).ok()?;
        let t = String::from_utf8_lossy(&t);
        let uid = t
            .lines()
            .find_map(|l| l.strip_prefix("Uid:"))?
            .split_whitespace()
            .next()?
            .parse()
            .ok()?;
        let threads = t
            .lines()
            .find_map(|l| l.strip_prefix("Threads:"))?
            .trim()
            .parse()
            .ok()?;
        Some((uid, threads))
    }
    let (uid, _) = status(&proc_root.join(pid.to_string()))?;
    let total = std::fs::read_dir(proc_root)
        .ok()?
        .flatten()
        .take(1 << 20)
        .filter(|e| {
            e.file_name()
                .to_str()
                .is_some_and(|n| n.parse::<u32>().is_ok())
        })
        .filter_map(|e| status(&e.path()))
        .filter(|(u, _)| *u == uid)
        .fold(0u64, |acc, (_, n)| acc.saturating_add(n));
    Some((uid, total))
}

/// Whether a runtime raises its soft RLIMIT_NOFILE to the hard limit at start (its catalog
/// entry says). macOS JVMs cap it; see the model.
pub fn raises_soft_to_hard(kind: RuntimeKind) -> bool {
    catalog::of(kind).raises_soft_to_hard
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects() {
        let c = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            detect(Some("/usr/lib/erlang/erts-13.1.5/bin/beam.smp"), &[]),
            Some(RuntimeKind::Erlang)
        );
        assert_eq!(
            detect(Some("/usr/bin/python3.11"), &[]),
            Some(RuntimeKind::Python)
        );
        assert_eq!(
            detect(
                None,
                &c(&["/usr/lib/jvm/java-17/bin/java", "-jar", "x.jar"])
            ),
            Some(RuntimeKind::Jvm)
        );
        assert_eq!(detect(Some("/usr/bin/cat"), &c(&["cat"])), None);
        assert!(raises_soft_to_hard(RuntimeKind::Node));
        assert!(!raises_soft_to_hard(RuntimeKind::Erlang));
    }
}
