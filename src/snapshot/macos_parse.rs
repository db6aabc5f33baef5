//! Parsers for what macOS hands back as bytes, kept apart from the probe so they are tested on
//! any machine.

/// A `KERN_PROCARGS2` buffer: a native-endian `int` argc, the executable path, NUL padding up
/// to an 8-byte boundary, then argc arguments and the environment, each NUL-terminated (xnu
/// `bsd/kern/kern_sysctl.c` `sysctl_procargsx`; `kern_exec.c` `exec_extract_strings` pads the
/// path area to a pointer boundary). The arguments start at that boundary, so an empty
/// argv[0] (a lone NUL there) is kept, not taken for padding. Returns (arguments,
/// environment); malformed input gives what was read.
pub fn procargs2(buf: &[u8]) -> (Vec<String>, Vec<String>) {
    let Some((argc, rest)) = buf.split_first_chunk::<4>() else {
        return (Vec::new(), Vec::new());
    };
    let argc = usize::try_from(i32::from_ne_bytes(*argc)).unwrap_or(0);
    let Some(end) = rest.iter().position(|b| *b == 0) else {
        return (Vec::new(), Vec::new());
    };
    let aligned = (end + 1).next_multiple_of(8);
    let start = match rest.get(end..aligned) {
        Some(pad) if pad.iter().all(|b| *b == 0) => aligned,
        // Not the layout xnu writes: skip the NULs after the path.
        _ => rest[end..]
            .iter()
            .position(|b| *b != 0)
            .map_or(rest.len(), |i| end + i),
    };
    let body = &rest[start..];
    // The NULs at the end are padding (an empty last string is lost with them).
    let Some(last) = body.iter().rposition(|b| *b != 0).map(|i| i + 1) else {
        return (Vec::new(), Vec::new());
    };
    let mut strings = body[..last]
        .split(|b| *b == 0)
        .map(|s| String::from_utf8_lossy(s).into_owned());
    let args: Vec<String> = strings.by_ref().take(argc).collect();
    let env = strings.take_while(|s| !s.is_empty()).collect();
    (args, env)
}

/// The fd table a running Erlang node sized at boot, from its `erl_child_setup` arguments as
/// KERN_PROCARGS2 gives them (a Mac shows no other process's rlimits): the same reading as
/// /proc's command line ([`super::runtime::erlang::child_setup_max_files`]: argv[1]).
pub fn forker_max_files(argv: &[String]) -> Option<u64> {
    super::runtime::erlang::child_setup_max_files(argv.join("\0").as_bytes())
}

/// Memory a Mac can give to new sockets, in KiB, and how it was found: free + file-backed
/// (speculative included: xnu `vm_resident.c` counts speculative pages as pageable external) +
/// purgeable pages × page size; else `kern.memorystatus_level` % of `total_kb`. None when
/// neither can be computed (free pages alone are not it: macOS keeps only a few thousand
/// free, near its free target, and the rest in caches it gives back).
pub fn available_kb(p: &super::MacPages, total_kb: Option<u64>) -> Option<(u64, String)> {
    if let (Some(size), Some(free), Some(file)) = (p.page_size, p.free, p.file_backed) {
        let purge = p.purgeable.unwrap_or(0);
        let pages = free.saturating_add(file).saturating_add(purge);
        let kb = pages.saturating_mul(size) >> 10;
        return Some((
            kb,
            format!(
                "free {free} + file-backed {file} + purgeable {purge} pages × {size} B [vm.page_free_count, vm.page_pageable_external_count, vm.page_purgeable_count]"
            ),
        ));
    }
    let (level, total) = (p.memorystatus_level?, total_kb?);
    let level = level.min(100);
    Some((
        total / 100 * level,
        format!("{level} % of hw.memsize [kern.memorystatus_level]"),
    ))
}

/// `launchctl limit maxfiles` output → "SOFT HARD" (`unlimited` kept as a word).
pub fn parse_limit(out: &str) -> Option<String> {
    let line = out
        .lines()
        .find(|l| l.trim_start().starts_with("maxfiles"))?;
    let mut it = line.split_whitespace().skip(1);
    let (soft, hard) = (it.next()?, it.next()?);
    let ok = |w: &str| w == "unlimited" || w.chars().all(|c| c.is_ascii_digit());
    (ok(soft) && ok(hard)).then(|| format!("{soft} {hard}"))
}

/// `struct xinpgen` (xnu `bsd/netinet/in_pcb.h`): the header before and after the list.
const XINPGEN_LEN: usize = 24;
/// `XSO_INPCB` (xnu `bsd/sys/socketvar.h`): the record kind of a `struct xinpcb_n`.
const XSO_INPCB: u32 = 0x10;
/// `INP_IPV4` in `inp_vflag` (xnu `bsd/netinet/in_pcb.h`).
const INP_IPV4: u8 = 0x1;
/// Offsets in `struct xinpcb_n`, which `in_pcb.h` declares under `#pragma pack(4)`: `xi_len`
/// u32 @0, `xi_kind` u32 @4, `xi_inpp` u64 @8, `inp_fport` @16, `inp_lport` @18 (network byte
/// order), `inp_ppcb` u64 @20, `inp_gencnt` u64 @28, `inp_flags` @36, `inp_flow` @40,
/// `inp_vflag` @44.
const LPORT_AT: usize = 18;
const VFLAG_AT: usize = 44;

/// The local ports in `range` that the host's IPv4 TCP sockets hold, from the bytes of
/// `sysctl net.inet.tcp.pcblist_n` (what netstat reads; every TCP control block, listeners,
/// connections and TIME_WAIT alike, of every user). xnu `bsd/netinet/in_pcblist.c`
/// `get_pcblist_n` writes a `struct xinpgen`, then for each control block a run of records
/// (`xinpcb_n`, `xsocket_n`, two `xsockbuf_n`, `xsockstat_n`, `xtcpcb_n`), each starting with
/// its u32 length and u32 kind and padded to 8 bytes (ROUNDUP64), and a closing `xinpgen`.
/// A port held on any local address is one that connect() without an explicit bind does not
/// choose (`in_pcbbind` → `in_pcblookup_local(…, wild)`, which skips non-IPv4 blocks).
/// Sorted, each port once; `None` when the bytes do not start with an `xinpgen`.
pub fn pcblist_ports(buf: &[u8], range: super::PortRange) -> Option<Vec<u16>> {
    let u32_at = |o: usize| -> Option<u32> {
        Some(u32::from_ne_bytes(
            buf.get(o..o.checked_add(4)?)?.try_into().ok()?,
        ))
    };
    if usize::try_from(u32_at(0)?).ok()? != XINPGEN_LEN {
        return None;
    }
    let mut ports = std::collections::BTreeSet::new();
    let mut at = XINPGEN_LEN;
    while let (Some(len), Some(kind)) = (u32_at(at), u32_at(at + 4)) {
        let len = usize::try_from(len).ok()?;
        // The closing xinpgen (or garbage): no record is that short.
        if len <= XINPGEN_LEN {
            break;
        }
        if kind == XSO_INPCB
            && let Some(rec) = buf.get(at..at.saturating_add(len))
            && let (Some(lport), Some(vflag)) = (rec.get(LPORT_AT..LPORT_AT + 2), rec.get(VFLAG_AT))
        {
            let port = u16::from_be_bytes([lport[0], lport[1]]);
            if vflag & INP_IPV4 != 0 && range.contains(port) {
                ports.insert(port);
            }
        }
        at = at.checked_add(len.checked_next_multiple_of(8)?)?;
    }
    Some(ports.into_iter().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A buffer laid out as xnu writes it: argc, the path padded with NULs to 8 bytes, then
    /// each string NUL-terminated, then NUL padding.
    fn buf(argc: i32, parts: &[&str]) -> Vec<u8> {
        let mut b = argc.to_ne_bytes().to_vec();
        for (i, p) in parts.iter().enumerate() {
            b.extend_from_slice(p.as_bytes());
            b.push(0);
            if i == 0 {
                while (b.len() - 4) % 8 != 0 {
                    b.push(0);
                }
            }
        }
        b.extend_from_slice(&[0; 5]);
        b
    }

    #[test]
    fn args_and_env() {
        let b = buf(
            3,
            &[
                "/opt/erlang/erts-15.0/bin/beam.smp",
                "beam.smp",
                "-Q",
                "65536",
                "HOME=/Users/a",
                "ERL_MAX_PORTS=8192",
            ],
        );
        let (args, env) = procargs2(&b);
        assert_eq!(args, ["beam.smp", "-Q", "65536"]);
        assert_eq!(env, ["HOME=/Users/a", "ERL_MAX_PORTS=8192"]);
    }

    /// A program may be started with an empty argv[0]; the arguments must not shift: argv[1]
    /// stays argv[1] (erts reads its fd table size from erl_child_setup's argv[1]).
    #[test]
    fn an_empty_argv0_is_kept() {
        for path in [
            "/x",
            "/usr/local/lib/erlang/erts-15.0/bin/erl_child_setup",
            "/1234567",
        ] {
            let b = buf(3, &[path, "", "24576", "-x", "HOME=/"]);
            let (args, env) = procargs2(&b);
            assert_eq!(args, ["", "24576", "-x"], "{path}");
            assert_eq!(env, ["HOME=/"], "{path}");
        }
        // Empty arguments in the middle and at the end are arguments too.
        let (args, env) = procargs2(&buf(3, &["/bin/x", "x", "", "", "A=1"]));
        assert_eq!(args, ["x", "", ""]);
        assert_eq!(env, ["A=1"]);
    }

    #[test]
    fn erl_child_setup_argv1() {
        let path = "/opt/homebrew/Cellar/erlang/27.1/lib/erlang/erts-15.1/bin/erl_child_setup";
        let b = buf(2, &[path, path, "24576", "HOME=/"]);
        let (args, _) = procargs2(&b);
        assert_eq!(forker_max_files(&args), Some(24_576));
        for bad in [
            &[path][..],
            &[path, ""],
            &[path, "0"],
            &[path, "-1"],
            &["sh", "24576"],
        ] {
            let v: Vec<String> = bad.iter().map(|s| s.to_string()).collect();
            assert_eq!(forker_max_files(&v), None, "{bad:?}");
        }
    }

    #[test]
    fn malformed() {
        assert_eq!(procargs2(&[]), (vec![], vec![]));
        assert_eq!(procargs2(&[1, 0]), (vec![], vec![]));
        let (a, e) = procargs2(&buf(-5, &["/x", "a"]));
        assert!(a.is_empty());
        assert_eq!(e, ["a"]);
        // argc larger than what follows.
        let (a, _) = procargs2(&buf(9, &["/x", "a", "b"]));
        assert_eq!(a, ["a", "b"]);
        // Padding that is not NULs (not xnu's layout): the NULs after the path are skipped.
        let mut odd = 2i32.to_ne_bytes().to_vec();
        odd.extend_from_slice(b"/x\0a\0b\0");
        assert_eq!(procargs2(&odd).0, ["a", "b"]);
        // A path that ends the buffer.
        let mut short = 1i32.to_ne_bytes().to_vec();
        short.extend_from_slice(b"/x\0");
        assert_eq!(procargs2(&short), (vec![], vec![]));
    }

    #[test]
    fn available_memory() {
        use crate::snapshot::MacPages;
        // An 8 GiB Apple-silicon Mac that has run a while: 5,000 pages free (80 MiB), 150,000
        // file-backed, 2,000 purgeable.
        let p = MacPages {
            page_size: Some(16384),
            free: Some(5_000),
            file_backed: Some(150_000),
            purgeable: Some(2_000),
            memorystatus_level: Some(40),
        };
        let (kb, how) = available_kb(&p, Some(8 << 20)).unwrap();
        assert_eq!(kb, 157_000 * 16);
        assert!(how.starts_with("free 5000 + file-backed 150000 + purgeable 2000 pages × 16384 B"));
        // No page counts: the kernel's level.
        let lvl = MacPages {
            memorystatus_level: Some(40),
            ..MacPages::default()
        };
        let (kb, how) = available_kb(&lvl, Some(8 << 20)).unwrap();
        assert_eq!(kb, (8 << 20) / 100 * 40);
        assert!(how.contains("kern.memorystatus_level"), "{how}");
        // Free pages alone are not an answer; nor is a level above 100.
        let free_only = MacPages {
            page_size: Some(4096),
            free: Some(4000),
            ..MacPages::default()
        };
        assert_eq!(available_kb(&free_only, Some(8 << 20)), None);
        let odd = MacPages {
            memorystatus_level: Some(250),
            ..MacPages::default()
        };
        assert_eq!(available_kb(&odd, Some(100)).unwrap().0, 100);
        let huge = MacPages {
            page_size: Some(u64::MAX),
            free: Some(u64::MAX),
            file_backed: Some(u64::MAX),
            purgeable: None,
            memorystatus_level: None,
        };
        assert_eq!(available_kb(&huge, None).unwrap().0, u64::MAX >> 10);
    }

    /// `sysctl net.inet.tcp.pcblist_n` as xnu writes it: an xinpgen, then per control block an
    /// xinpcb_n (pack(4): lport @18 big-endian, vflag @44), an xsocket_n and an xtcpcb_n, each
    /// padded to 8 bytes, then the closing xinpgen.
    fn pcblist(blocks: &[(u16, u8)]) -> Vec<u8> {
        let header = |count: u32| {
            let mut g = 24u32.to_ne_bytes().to_vec();
            g.extend_from_slice(&count.to_ne_bytes());
            g.extend_from_slice(&[7; 16]);
            g
        };
        let record = |kind: u32, len: u32| {
            let mut r = len.to_ne_bytes().to_vec();
            r.extend_from_slice(&kind.to_ne_bytes());
            r.resize(len.next_multiple_of(8) as usize, 0xAB);
            r
        };
        let mut b = header(blocks.len() as u32);
        for (port, vflag) in blocks {
            let mut inp = record(0x10, 108);
            inp[16..18].copy_from_slice(&80u16.to_be_bytes());
            inp[18..20].copy_from_slice(&port.to_be_bytes());
            inp[44] = *vflag;
            b.extend(inp);
            b.extend(record(0x01, 100));
            b.extend(record(0x02, 28));
            b.extend(record(0x04, 28));
            b.extend(record(0x08, 136));
            b.extend(record(0x20, 196));
        }
        b.extend(header(blocks.len() as u32));
        b
    }

    #[test]
    fn ports_held_from_pcblist_n() {
        use crate::snapshot::PortRange;
        let range = PortRange {
            lo: 49152,
            hi: 65535,
        };
        let b = pcblist(&[
            (49152, 1), // a connection's ephemeral port (IPv4)
            (50000, 3), // a dual-stack listener
            (50000, 1), // a connection accepted on it: the port once
            (60001, 2), // IPv6 only: not in the IPv4 pool
            (8080, 1),  // below the range
            (65535, 1), // TIME_WAIT or not, the port is held
        ]);
        assert_eq!(pcblist_ports(&b, range), Some(vec![49152, 50000, 65535]));
        // Only the header (no control block), and the closing header alone.
        assert_eq!(pcblist_ports(&pcblist(&[]), range), Some(vec![]));
        // Not an xinpgen first: nothing is read.
        assert_eq!(pcblist_ports(&[1, 2, 3], range), None);
        assert_eq!(pcblist_ports(&[0; 64], range), None);
        // Cut anywhere: what was whole is read, nothing panics.
        let full = pcblist(&[(49152, 1), (50001, 1), (50002, 1)]);
        for cut in 0..full.len() {
            if let Some(p) = pcblist_ports(&full[..cut], range) {
                assert!(
                    p.iter().all(|x| [49152, 50001, 50002].contains(x)),
                    "{cut}: {p:?}"
                );
            }
        }
        // A record claiming more than is there, or a huge length: stops, no panic.
        let mut lie = pcblist(&[(49152, 1)]);
        lie[24..28].copy_from_slice(&u32::MAX.to_ne_bytes());
        assert_eq!(pcblist_ports(&lie, range), Some(vec![]));
    }

    #[test]
    fn launchctl_output() {
        assert_eq!(
            parse_limit("\tmaxfiles    256            unlimited      \n").as_deref(),
            Some("256 unlimited")
        );
        assert_eq!(
            parse_limit("maxfiles 65536 200000").as_deref(),
            Some("65536 200000")
        );
        assert_eq!(parse_limit("maxproc 1 2"), None);
        assert_eq!(parse_limit("maxfiles x y"), None);
    }
}
