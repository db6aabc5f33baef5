//! macOS / FreeBSD probes: sysctl(3) (the `sysctl` crate), getrlimit, and for `--pid` on macOS
//! the process-information API (`proc_pidinfo`, through the `libproc` crate).
//!
//! What a Mac does not show for another process (its rlimits) is said in a note with the flag
//! that supplies it (`--nofile`).

use super::options::ProbeOptions;
use super::*;
use crate::error::{Error, Result};
use sysctl::Sysctl;

/// A numeric sysctl, as u64.
pub fn sysctl_u64(name: &str) -> Option<u64> {
    num(name)
}

fn num(name: &str) -> Option<u64> {
    let ctl = sysctl::Ctl::new(name).ok()?;
    let v = ctl.value_string().ok()?;
    v.trim().parse().ok()
}

fn text(name: &str) -> Option<String> {
    sysctl::Ctl::new(name)
        .ok()
        .and_then(|c| c.value_string().ok())
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
}

fn own_limit(res: rlimit::Resource) -> Option<Limit> {
    res.get().ok().map(|(soft, hard)| Limit {
        soft: Rlim::from_raw(soft),
        hard: Rlim::from_raw(hard),
    })
}

fn port(name: &str) -> Option<u16> {
    num(name).and_then(|v| u16::try_from(v).ok())
}

pub fn probe(opts: &ProbeOptions) -> Result<Snapshot> {
    let os = if cfg!(target_os = "macos") {
        Os::Macos
    } else {
        Os::Freebsd
    };
    let mut notes = Vec::new();
    let nofile = own_limit(rlimit::Resource::NOFILE)
        .ok_or_else(|| Error::Internal("getrlimit(RLIMIT_NOFILE) failed".into()))?;
    let range = match (
        port("net.inet.ip.portrange.first"),
        port("net.inet.ip.portrange.last"),
    ) {
        (Some(lo), Some(hi)) => Some(PortRange { lo, hi }),
        _ => None,
    };
    let mut bound = Vec::new();
    if let Some(r) = range {
        match held_ports(r) {
            Ok(p) => bound = p,
            Err(e) => notes.push(format!(
                "the ports other sockets hold in the ephemeral range were not read ({e}): the ephemeral_ports rung counts the whole range"
            )),
        }
    }
    let pages = MacPages {
        page_size: num("hw.pagesize").or_else(|| num("vm.pagesize")),
        free: num("vm.page_free_count"),
        file_backed: num("vm.page_pageable_external_count"),
        purgeable: num("vm.page_purgeable_count"),
        memorystatus_level: num("kern.memorystatus_level"),
    };
    let mem_total_kb = num("hw.memsize").map(|b| b >> 10);
    let avail_kb = match super::macos_parse::available_kb(&pages, mem_total_kb) {
        Some((kb, _)) => Some(kb),
        None => {
            notes.push(
                "available memory not read (vm.page_free_count, vm.page_pageable_external_count, hw.pagesize, kern.memorystatus_level)"
                    .into(),
            );
            None
        }
    };
    let kernel = match (text("kern.osproductversion"), text("kern.osrelease")) {
        (Some(v), Some(r)) => Some(format!("{r} (macOS {v})")),
        (None, r) => r,
        (v, None) => v,
    };
    let mut process = Process {
        pid: Some(std::process::id()),
        is_self: true,
        nofile,
        // /dev/fd lists this process's descriptors; the directory handle is one of them.
        open_fds: std::fs::read_dir("/dev/fd")
            .map(|d| (d.count() as u64).saturating_sub(1))
            .unwrap_or(3),
        nproc: own_limit(rlimit::Resource::NPROC),
        // Only root raises a hard limit on macOS; there are no capabilities.
        caps: Capabilities {
            sys_resource: nix::unistd::geteuid().is_root(),
            sys_admin: false,
            net_admin: nix::unistd::geteuid().is_root(),
        },
        ..Process::default()
    };
    let mut usage = Usage {
        tcp_inuse: num("net.inet.tcp.pcbcount"),
        ..Usage::default()
    };
    let mut provenance = std::collections::BTreeMap::new();
    if let Some(pid) = opts.pid {
        other_process(pid, &mut process, &mut usage, &mut notes)?;
        provenance.insert(
            "process.nofile".to_string(),
            super::Provenance::assumed(
                format!("{} / {} (this shell's)", process.nofile.soft, process.nofile.hard),
                "macOS does not show another process's RLIMIT_NOFILE",
                format!("--nofile SOFT:HARD with the limits PID {pid} was started with (`launchctl limit maxfiles` for launchd services)"),
            ),
        );
    }
    Ok(Snapshot {
        schema: SCHEMA,
        platform: Platform {
            os,
            kernel,
            hostname: text("kern.hostname"),
            container: None,
        },
        net: Net {
            ip_local_port_range: range,
            somaxconn: num("kern.ipc.somaxconn"),
            msl_ms: num("net.inet.tcp.msl"),
            bound_ports_in_range: bound,
            ..Net::default()
        },
        fs: Fs {
            file_max: num("kern.maxfiles"),
            file_nr_allocated: num("kern.num_files"),
            nr_open: None,
            maxfilesperproc: num("kern.maxfilesperproc"),
        },
        process,
        memory: Memory {
            mem_total_kb,
            mem_available_kb: avail_kb,
            threads_max: None,
            pid_max: None,
            macos_pages: Some(pages),
        },
        runtime: Runtime::default(),
        usage,
        notes,
        kernel_log: None,
        provenance,
    })
}

/// The local ports in `range` that the host's TCP sockets hold, from `net.inet.tcp.pcblist_n`
/// (readable by any user; bounded at 64 MiB, about 100,000 sockets).
#[cfg(target_os = "macos")]
fn held_ports(range: PortRange) -> std::result::Result<Vec<u16>, String> {
    const NAME: &std::ffi::CStr = c"net.inet.tcp.pcblist_n";
    const MAX: usize = 64 << 20;
    let mut len: nix::libc::size_t = 0;
    // SAFETY: a size query: no buffer, len receives the size the kernel would write.
    let rc = unsafe {
        nix::libc::sysctlbyname(
            NAME.as_ptr(),
            std::ptr::null_mut(),
            &mut len,
            std::ptr::null_mut(),
            0,
        )
    };
    if rc != 0 {
        return Err(format!(
            "sysctl net.inet.tcp.pcblist_n: {}",
            std::io::Error::last_os_error()
        ));
    }
    if len > MAX {
        return Err(format!(
            "net.inet.tcp.pcblist_n is {len} bytes, more than porttune reads"
        ));
    }
    let mut buf = vec![0u8; len];
    // SAFETY: buf is writable for len bytes; the kernel writes at most len and stores the
    // length written in len.
    let rc = unsafe {
        nix::libc::sysctlbyname(
            NAME.as_ptr(),
            buf.as_mut_ptr().cast(),
            &mut len,
            std::ptr::null_mut(),
            0,
        )
    };
    if rc != 0 {
        return Err(format!(
            "sysctl net.inet.tcp.pcblist_n: {}",
            std::io::Error::last_os_error()
        ));
    }
    buf.truncate(len);
    super::macos_parse::pcblist_ports(&buf, range)
        .ok_or_else(|| "net.inet.tcp.pcblist_n: not the layout xnu writes".to_string())
}

#[cfg(not(target_os = "macos"))]
fn held_ports(_range: PortRange) -> std::result::Result<Vec<u16>, String> {
    Err("net.inet.tcp.pcblist_n is read on macOS only".into())
}

/// Read another process through `proc_pidinfo`: executable, command line, fds, TCP sockets.
#[cfg(target_os = "macos")]
fn other_process(
    pid: u32,
    process: &mut Process,
    usage: &mut Usage,
    notes: &mut Vec<String>,
) -> Result<()> {
    use libproc::libproc::bsd_info::BSDInfo;
    use libproc::libproc::file_info::{ListFDs, ProcFDType, pidfdinfo};
    use libproc::libproc::net_info::{SocketFDInfo, SocketInfoKind, TcpSIState};
    use libproc::libproc::proc_pid::{listpidinfo, pidinfo, pidpath};

    let ipid =
        i32::try_from(pid).map_err(|_| Error::Usage(format!("--pid {pid}: no such process")))?;
    let info = pidinfo::<BSDInfo>(ipid, 0).map_err(|e| {
        Error::Usage(format!(
            "--pid {pid}: cannot read the process ({e}); it may have exited, or belong to another user (run porttune as that user or with sudo)"
        ))
    })?;
    process.pid = Some(pid);
    process.is_self = false;
    process.exe = pidpath(ipid).ok();
    process.cmdline = super::macos_parse::procargs2(&procargs(pid)).0;
    let fds = listpidinfo::<ListFDs>(ipid, info.pbi_nfiles as usize).unwrap_or_default();
    process.open_fds = fds.len() as u64;
    let (mut listening, mut connected) = (0u64, 0u64);
    for fd in &fds {
        if !matches!(ProcFDType::from(fd.proc_fdtype), ProcFDType::Socket) {
            continue;
        }
        let Ok(sock) = pidfdinfo::<SocketFDInfo>(ipid, fd.proc_fd) else {
            continue;
        };
        if !matches!(SocketInfoKind::from(sock.psi.soi_kind), SocketInfoKind::Tcp) {
            continue;
        }
        // SAFETY: soi_kind says the union holds TCP socket information.
        let state = unsafe { sock.psi.soi_proto.pri_tcp.tcpsi_state };
        match TcpSIState::from(state) {
            TcpSIState::Listen => listening += 1,
            TcpSIState::Closed => {}
            _ => connected += 1,
        }
    }
    process.listening_sockets = listening;
    usage.process_connections = Some(connected);
    notes.push(format!(
        "macOS does not show another process's RLIMIT_NOFILE: assumed this shell's ({} / {}); pass --nofile SOFT:HARD with the limits PID {pid} was started with (`launchctl limit maxfiles` for launchd services)",
        process.nofile.soft, process.nofile.hard
    ));
    Ok(())
}

#[cfg(not(target_os = "macos"))]
fn other_process(
    pid: u32,
    _process: &mut Process,
    _usage: &mut Usage,
    _notes: &mut Vec<String>,
) -> Result<()> {
    Err(Error::Usage(format!(
        "--pid {pid} is read on Linux and macOS; on this system pass --runtime and --nofile for the process instead"
    )))
}

/// The raw `KERN_PROCARGS2` of a process (arguments and environment); empty when not readable.
#[cfg(target_os = "macos")]
fn procargs(pid: u32) -> Vec<u8> {
    let Ok(ipid) = nix::libc::c_int::try_from(pid) else {
        return Vec::new();
    };
    let mut mib = [nix::libc::CTL_KERN, nix::libc::KERN_PROCARGS2, ipid];
    let Some(size) = num("kern.argmax").and_then(|v| usize::try_from(v).ok()) else {
        return Vec::new();
    };
    let mut buf = vec![0u8; size];
    let mut len = buf.len();
    // SAFETY: mib has 3 valid entries; buf is writable for len bytes, and sysctl writes at most
    // len bytes and stores the length written in len.
    let rc = unsafe {
        nix::libc::sysctl(
            mib.as_mut_ptr(),
            3,
            buf.as_mut_ptr().cast(),
            &mut len,
            std::ptr::null_mut(),
            0,
        )
    };
    if rc != 0 {
        return Vec::new();
    }
    buf.truncate(len);
    buf
}

/// The environment of `pid` (`NAME=value` strings), as far as it can be read.
#[cfg(target_os = "macos")]
pub fn environ(pid: u32) -> Vec<String> {
    super::macos_parse::procargs2(&procargs(pid)).1
}

/// The arguments of `pid`, as far as they can be read.
#[cfg(target_os = "macos")]
pub fn args(pid: u32) -> Vec<String> {
    super::macos_parse::procargs2(&procargs(pid)).0
}

/// The child of `ppid` whose command name is `name`, if there is one.
#[cfg(target_os = "macos")]
pub fn child_named(ppid: u32, name: &str) -> Option<u32> {
    use libproc::processes::{ProcFilter, pids_by_type};
    pids_by_type(ProcFilter::ByParentProcess { ppid })
        .ok()?
        .into_iter()
        .find(|&c| {
            i32::try_from(c)
                .ok()
                .and_then(|c| libproc::libproc::proc_pid::name(c).ok())
                .is_some_and(|n| n == name)
        })
}
