//! Erlang/OTP caps read from outside the VM (limits-facts.md 10.1–10.7b).
//!
//! * port limit: `+Q N` (a running `beam.smp` shows it as `-Q N` in its cmdline) or the
//!   deprecated `ERL_MAX_PORTS` (environ only); the command line wins. Valid 1024..134217727,
//!   rounded up to a power of two. Default 65536, raised to the fd limit when that is larger.
//! * process limit: `+P N` / `-P N`, same range and rounding, default 262144.
//! * flag sources, later wins: ERL_AFLAGS < command line (vm.args, --erl-flags) < ERL_FLAGS <
//!   ERL_ZFLAGS.
//! * fd ceiling (`max_fds`): the soft RLIMIT_NOFILE when the VM booted; `erl_child_setup`
//!   (a child started at boot) keeps that boot-time limit. Unlimited: 24576 on macOS (OTP ≥
//!   23.2), `fs.nr_open` on Linux. The model derives it (model/erlang.rs); the probe records
//!   only what it read.

pub const MIN_TABLE: u64 = 1024;
pub const MAX_TABLE: u64 = 134_217_727;
pub const DEFAULT_PORTS: u64 = 65_536;
pub const DEFAULT_PROCESSES: u64 = 262_144;
/// OTP ≥ 23.2 on macOS when the soft limit is unlimited.
pub const MACOS_UNLIMITED_MAX_FDS: u64 = 24_576;
/// Ports a bare `erl -noshell` node holds (measured on OTP 25: `erlang:system_info(port_count)`).
pub const BASELINE_PORTS: u64 = 3;
/// Processes a bare node runs (measured on OTP 25: `erlang:system_info(process_count)`).
pub const BASELINE_PROCESSES: u64 = 38;

/// The table size erts uses for a requested value: clamped to the valid range by the caller's
/// validation, rounded up to a power of two, never above the maximum.
pub fn effective_table(requested: u64) -> u64 {
    let v = requested.clamp(MIN_TABLE, MAX_TABLE);
    v.checked_next_power_of_two()
        .unwrap_or(MAX_TABLE)
        .min(MAX_TABLE)
}

/// The fd table a node sized at boot, from the command line of its `erl_child_setup` child
/// (`/proc/PID/cmdline`, arguments separated by NUL): erts starts it as `erl_child_setup
/// MAX_FILES`, and the child reads its argv[1] as the number of fds to manage (erlang/otp
/// `erts/emulator/sys/unix/erl_child_setup.c`, `main`: `sscanf(argv[1], "%d", &max_files)`;
/// `sys_drivers.c` passes erts' `max_files`). `None` unless argv[0] is erl_child_setup and
/// argv[1] a positive int.
pub fn child_setup_max_files(cmdline: &[u8]) -> Option<u64> {
    let mut args = cmdline.split(|b| *b == 0);
    let argv0 = args.next()?;
    let name = argv0.rsplit(|b| *b == b'/').next()?;
    if name != b"erl_child_setup" {
        return None;
    }
    let n = std::str::from_utf8(args.next()?).ok()?;
    if n.is_empty() || n.len() > 10 || !n.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    n.parse::<u64>()
        .ok()
        .filter(|v| (1..=i32::MAX as u64).contains(v))
}

/// Emulator flags found, in order; the last of each wins.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Flags {
    pub ports: Option<(u64, String)>,
    pub processes: Option<(u64, String)>,
    pub errors: Vec<String>,
}

/// Scan a flag list (`+Q 8192 +P 4096`, or a beam cmdline with `-Q`/`-P`) from `source`.
pub fn scan(words: &[String], source: &str, flags: &mut Flags, beam_form: bool) {
    let mut i = 0;
    while i < words.len() {
        let w = words[i].as_str();
        // `+Q N`, `+QN`; in a beam.smp cmdline, `-Q N`.
        let (is_q, is_p) = {
            let starts = |f: &str| {
                w == f || (w.starts_with(f) && w[f.len()..].chars().all(|c| c.is_ascii_digit()))
            };
            let q = starts("+Q") || (beam_form && starts("-Q"));
            let p = starts("+P") || (beam_form && starts("-P"));
            (q, p)
        };
        // beam argv ends emulator flags at `--`; after it come init flags (-noshell, ...).
        if beam_form && w == "--" {
            break;
        }
        if is_q || is_p {
            let inline = &w[2..];
            let (val, step) = if inline.is_empty() {
                (words.get(i + 1).map(String::as_str), 2)
            } else {
                (Some(inline), 1)
            };
            match val.and_then(|v| v.parse::<u64>().ok()) {
                Some(n) if (MIN_TABLE..=MAX_TABLE).contains(&n) => {
                    let what = format!("{} {n} ({source})", &w[..2]);
                    if is_q {
                        flags.ports = Some((n, what));
                    } else {
                        flags.processes = Some((n, what));
                    }
                }
                other => flags.errors.push(format!(
                    "{source}: {} {}: the VM refuses to start (valid {MIN_TABLE}..{MAX_TABLE})",
                    &w[..2],
                    other
                        .map(|n| n.to_string())
                        .unwrap_or_else(|| val.unwrap_or("").to_string())
                )),
            }
            i += step;
        } else {
            i += 1;
        }
    }
}

/// `-kernel inet_backend VALUE` in a flag list (command line, vm.args, a beam argv): the last
/// one wins.
pub fn inet_backend(words: &[String]) -> Option<String> {
    words
        .windows(3)
        .rev()
        .find(|w| w[0] == "-kernel" && w[1] == "inet_backend")
        .map(|w| w[2].clone())
}

pub fn split_words(s: &str) -> Vec<String> {
    s.split_whitespace().map(str::to_string).collect()
}

/// Flags of a vm.args file: one or more flags per line, `#` comments.
pub fn vm_args_words(text: &str) -> Vec<String> {
    text.lines()
        .map(|l| l.split('#').next().unwrap_or(""))
        .flat_map(split_words)
        .collect()
}

/// The flags of the vm.args file the operator named (`--vm-args`), read through the one
/// file primitive (crate::snapshot::target) with porttune's rights.
pub fn read_vm_args(path: &std::path::Path) -> crate::error::Result<Vec<String>> {
    let fs = crate::snapshot::target::TargetFs::operator();
    let text = fs
        .read(&path.display().to_string(), crate::fsio::MAX_INPUT)
        .map_err(|e| crate::error::Error::input(path, format!("cannot read vm.args: {e}")))?;
    Ok(vm_args_words(&text))
}

/// Inputs for a node: environment variables and command-line words.
#[derive(Debug, Default, Clone)]
pub struct Inputs {
    pub erl_aflags: Option<String>,
    pub erl_flags: Option<String>,
    pub erl_zflags: Option<String>,
    pub erl_max_ports: Option<String>,
    /// Command-line flags of a node not yet running (--erl-flags, vm.args), in order.
    pub command_line: Vec<(String, Vec<String>)>,
    /// The argv of a running beam.smp (already merged by erlexec: -Q/-P).
    pub beam_cmdline: Option<Vec<String>>,
}

/// What the flags and environment ask for, from all sources with the documented precedence:
/// (port table, process table, errors). `None`: not set (the model supplies the default). The
/// values are as given; the model rounds them up to a power of two ([`effective_table`]).
pub fn resolve(
    inp: &Inputs,
) -> (
    Option<super::super::Sourced>,
    Option<super::super::Sourced>,
    Vec<String>,
) {
    use super::super::Sourced;
    let mut f = Flags::default();
    if let Some(argv) = &inp.beam_cmdline {
        // erlexec has merged ERL_AFLAGS, the command line, ERL_FLAGS and ERL_ZFLAGS in order.
        scan(argv, "beam.smp command line", &mut f, true);
    } else {
        if let Some(s) = &inp.erl_aflags {
            scan(&split_words(s), "ERL_AFLAGS", &mut f, false);
        }
        for (src, words) in &inp.command_line {
            scan(words, src, &mut f, false);
        }
        if let Some(s) = &inp.erl_flags {
            scan(&split_words(s), "ERL_FLAGS", &mut f, false);
        }
        if let Some(s) = &inp.erl_zflags {
            scan(&split_words(s), "ERL_ZFLAGS", &mut f, false);
        }
    }
    let ports = match (&f.ports, &inp.erl_max_ports) {
        (Some((n, what)), _) => Some(Sourced {
            value: *n,
            source: what.clone(),
        }),
        (None, Some(env)) => match env.trim().parse::<u64>() {
            Ok(n) if (MIN_TABLE..=MAX_TABLE).contains(&n) => Some(Sourced {
                value: n,
                source: format!("ERL_MAX_PORTS={n}"),
            }),
            _ => {
                f.errors
                    .push(format!("ERL_MAX_PORTS={env}: not a valid port count"));
                None
            }
        },
        (None, None) => None,
    };
    let procs = f.processes.as_ref().map(|(n, what)| Sourced {
        value: *n,
        source: what.clone(),
    });
    (ports, procs, f.errors)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(s: &str) -> Vec<String> {
        split_words(s)
    }

    /// The port table the flags ask for, rounded as erts does.
    fn q(inp: &Inputs) -> Option<u64> {
        resolve(inp).0.map(|s| effective_table(s.value))
    }

    #[test]
    fn kernel_inet_backend() {
        assert_eq!(
            inet_backend(&w(
                "beam.smp -Q 1024 -- -root /x -- -kernel inet_backend socket"
            )),
            Some("socket".into())
        );
        assert_eq!(inet_backend(&w("-kernel inet_backend")), None);
        assert_eq!(inet_backend(&w("+Q 8192")), None);
    }

    #[test]
    fn child_setup_argv() {
        assert_eq!(
            child_setup_max_files(b"erl_child_setup\x003000\x00"),
            Some(3000)
        );
        assert_eq!(
            child_setup_max_files(b"/usr/lib/erlang/erts-13.1.5/bin/erl_child_setup\x0024576"),
            Some(24576)
        );
        for bad in [
            &b"erl_child_setup\x00"[..],
            b"erl_child_setup",
            b"erl_child_setup\x00-1\x00",
            b"erl_child_setup\x0099999999999\x00",
            b"erl_child_setup\x00 3000\x00",
            b"sh\x003000\x00",
            b"",
        ] {
            assert_eq!(child_setup_max_files(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn rounding() {
        assert_eq!(effective_table(5000), 8192);
        assert_eq!(effective_table(70000), 131072);
        assert_eq!(effective_table(8192), 8192);
        assert_eq!(effective_table(134_217_727), 134_217_727);
        assert_eq!(effective_table(1024), 1024);
    }

    #[test]
    fn precedence_env_and_flags() {
        // ERL_MAX_PORTS=3000 +Q 5000 → 8192; ERL_MAX_PORTS=5000 +Q 3000 → 4096 (facts 10.2).
        let inp = Inputs {
            erl_max_ports: Some("3000".into()),
            command_line: vec![("--erl-flags".into(), w("+Q 5000"))],
            ..Default::default()
        };
        assert_eq!(q(&inp), Some(8192));
        let inp = Inputs {
            erl_max_ports: Some("5000".into()),
            command_line: vec![("--erl-flags".into(), w("+Q 3000"))],
            ..Default::default()
        };
        assert_eq!(q(&inp), Some(4096));
        // ERL_FLAGS beats the command line; ERL_AFLAGS does not; ZFLAGS beats FLAGS.
        let inp = Inputs {
            erl_flags: Some("+Q 4096".into()),
            command_line: vec![("--erl-flags".into(), w("+Q 8192"))],
            ..Default::default()
        };
        assert_eq!(q(&inp), Some(4096));
        let inp = Inputs {
            erl_aflags: Some("+Q 4096".into()),
            command_line: vec![("--erl-flags".into(), w("+Q 8192"))],
            ..Default::default()
        };
        assert_eq!(q(&inp), Some(8192));
        let inp = Inputs {
            erl_flags: Some("+Q 4096".into()),
            erl_zflags: Some("+Q 2048".into()),
            ..Default::default()
        };
        assert_eq!(q(&inp), Some(2048));
    }

    #[test]
    fn beam_cmdline_form() {
        let argv = w(
            "/usr/lib/erlang/erts-13.1.5/bin/beam.smp -Q 8192 -P 4096 -- -root /usr/lib/erlang -progname erl -- -home /root -- -noshell",
        );
        let inp = Inputs {
            beam_cmdline: Some(argv),
            erl_max_ports: Some("2048".into()),
            ..Default::default()
        };
        let (ports, procs, errs) = resolve(&inp);
        assert_eq!(ports.map(|s| s.value), Some(8192));
        assert_eq!(procs.map(|s| s.value), Some(4096));
        assert!(errs.is_empty());
        // Only ERL_MAX_PORTS in the environment.
        let inp = Inputs {
            beam_cmdline: Some(w("beam.smp -- -root /x")),
            erl_max_ports: Some("8192".into()),
            ..Default::default()
        };
        assert_eq!(q(&inp), Some(8192));
    }

    #[test]
    fn defaults_and_errors() {
        let (ports, procs, e) = resolve(&Inputs::default());
        assert_eq!(
            (ports, procs),
            (None, None),
            "unset: the model supplies the defaults"
        );
        assert!(e.is_empty());
        let inp = Inputs {
            command_line: vec![("vm.args".into(), w("+Q 10"))],
            ..Default::default()
        };
        let (p, _, e) = resolve(&inp);
        assert_eq!(p, None);
        assert!(e[0].contains("+Q 10"), "{e:?}");
        assert_eq!(
            vm_args_words("## comment\n+Q 65536 # ports\n-name a@b\n"),
            w("+Q 65536 -name a@b")
        );
    }
}
