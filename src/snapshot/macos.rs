//! macOS / FreeBSD probes through sysctl(3) (the `sysctl` crate) and getrlimit.

use super::probe::ProbeOptions;
use super::*;
use crate::error::{Error, Result};
use sysctl::Sysctl;

fn num(name: &str) -> Option<u64> {
    let ctl = sysctl::Ctl::new(name).ok()?;
    let v = ctl.value_string().ok()?;
    v.trim().parse().ok()
}

pub fn probe(opts: &ProbeOptions) -> Result<Snapshot> {
    if opts.pid.is_some() {
        return Err(Error::Usage("--pid is supported on Linux only; on this system run porttune as the process's user and pass --runtime".into()));
    }
    let os = if cfg!(target_os = "macos") {
        Os::Macos
    } else {
        Os::Freebsd
    };
    let (soft, hard) = rlimit::Resource::NOFILE
        .get()
        .map_err(|e| Error::Internal(format!("getrlimit(RLIMIT_NOFILE): {e}")))?;
    let range = match (
        num("net.inet.ip.portrange.first"),
        num("net.inet.ip.portrange.last"),
    ) {
        (Some(lo), Some(hi)) => Some(PortRange {
            lo: lo as u16,
            hi: hi as u16,
        }),
        _ => None,
    };
    Ok(Snapshot {
        schema: SCHEMA,
        platform: Platform {
            os,
            kernel: sysctl::Ctl::new("kern.osrelease")
                .ok()
                .and_then(|c| c.value_string().ok()),
            hostname: sysctl::Ctl::new("kern.hostname")
                .ok()
                .and_then(|c| c.value_string().ok()),
            container: None,
        },
        net: Net {
            ip_local_port_range: range,
            somaxconn: num("kern.ipc.somaxconn"),
            msl_ms: num("net.inet.tcp.msl"),
            ..Net::default()
        },
        fs: Fs {
            file_max: num("kern.maxfiles"),
            file_nr_allocated: num("kern.num_files"),
            nr_open: None,
            maxfilesperproc: num("kern.maxfilesperproc"),
        },
        process: Process {
            pid: Some(std::process::id()),
            is_self: true,
            nofile: Limit {
                soft: Rlim::from_raw(soft),
                hard: Rlim::from_raw(hard),
            },
            // /dev/fd lists this process's descriptors; the directory handle is one of them.
            open_fds: std::fs::read_dir("/dev/fd")
                .map(|d| (d.count() as u64).saturating_sub(1))
                .unwrap_or(3),
            ..Process::default()
        },
        memory: Memory::default(),
        runtime: Runtime::default(),
        usage: Usage::default(),
        notes: vec![
            "macOS: open fds, conntrack and memory are not read; fds in use assumed 3".into(),
        ],
        kernel_log: None,
    })
}
