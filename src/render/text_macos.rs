//! The "Settings read" block of `check` for a Mac: macOS names for everything read, and what was
//! not read said as such (sources in docs/model.md, "macOS").

use colored::Colorize;
use std::fmt::Write;

use super::wrap::wrap;
use crate::snapshot::Snapshot;

fn opt<T: std::fmt::Display>(v: &Option<T>) -> String {
    v.as_ref()
        .map(|v| v.to_string())
        .unwrap_or_else(|| "not read".into())
}

/// The settings the model read on a Mac, each under its sysctl name.
pub fn settings(out: &mut String, s: &Snapshot, w: usize) {
    let n = &s.net;
    let _ = writeln!(out, "\n{}", "Settings read (host-wide on macOS):".bold());
    let range = n
        .ip_local_port_range
        .map(|r| format!("{}–{} ({} ports)", r.lo, r.hi, r.len()))
        .unwrap_or_else(|| "not read".into());
    let t = format!(
        "ports: net.inet.ip.portrange.first/last {range}, one pool per local address for the whole host; listen queue: kern.ipc.somaxconn {}",
        opt(&n.somaxconn),
    );
    out.push_str(&wrap(&t, w, "  ", "    "));
    let tw = n
        .msl_ms
        .map(|m| format!("{} s (2 × net.inet.tcp.msl {m} ms)", 2 * m / 1000))
        .unwrap_or_else(|| "not read (net.inet.tcp.msl)".into());
    let t = format!("TIME_WAIT: {tw}; no TIME_WAIT reuse on macOS");
    out.push_str(&wrap(&t, w, "  ", "    "));
    let t = format!(
        "files: kern.maxfiles {}, open on the host (kern.num_files) {}, kern.maxfilesperproc {}",
        opt(&s.fs.file_max),
        opt(&s.fs.file_nr_allocated),
        opt(&s.fs.maxfilesperproc),
    );
    out.push_str(&wrap(&t, w, "  ", "    "));
    let mib = |kb: Option<u64>| {
        kb.map(|k| format!("{} MiB", k >> 10))
            .unwrap_or_else(|| "not read".into())
    };
    let t = format!(
        "memory: hw.memsize {}, available {}",
        mib(s.memory.mem_total_kb),
        mib(s.memory.mem_available_kb),
    );
    out.push_str(&wrap(&t, w, "  ", "    "));
    let p = &s.process;
    let t = format!(
        "process: RLIMIT_NOFILE {} / {} (the kernel enforces the lower of it and kern.maxfilesperproc)",
        p.nofile.soft, p.nofile.hard,
    );
    out.push_str(&wrap(&t, w, "  ", "    "));
}
