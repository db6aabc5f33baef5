//! Static checks on profile contents: sysctl key names (before any I/O), value types and
//! ranges, limit targets. Kernel-dependent checks (is the key present, the unprivileged port
//! start) take the values read by the caller.

use std::fmt;

pub use crate::settings::{check_key, printable};

pub use crate::settings::Kind;

/// Known keys and their types (limits-facts.md §1-3, §7; kernel ip-sysctl docs).
pub fn kind_of(key: &str) -> Option<Kind> {
    kind_for(crate::snapshot::Os::Linux, key)
}

/// Sysctls whose value names a program the kernel runs as root (a core dump pipe, the
/// module loader, the hotplug and power-off helpers) or that lets any program run one:
/// porttune tunes connection limits and never sets these, from a profile or a journal.
const RUNS_PROGRAMS: &[&str] = &[
    "kernel.core_pattern",
    "kernel.modprobe",
    "kernel.hotplug",
    "kernel.poweroff_cmd",
    "kernel.usermodehelper.bset",
    "kernel.usermodehelper.inheritable",
    "fs.suid_dumpable",
    "kernel.unprivileged_bpf_disabled",
    "kernel.kptr_restrict",
    "kernel.yama.ptrace_scope",
    "kernel.kexec_load_disabled",
    "kernel.modules_disabled",
];

/// Refuse a key from [`RUNS_PROGRAMS`].
pub fn check_not_exec(key: &str) -> Result<(), String> {
    if RUNS_PROGRAMS.contains(&key) {
        return Err(format!(
            "`{key}` is not a connection limit: it controls which programs the kernel runs, or who may run them; porttune never sets it"
        ));
    }
    Ok(())
}

/// A `vm_args` path: absolute, no `..`, no control character (a newline would split the
/// journal's and the plan's lines), and a file name ending in `.args` (`vm.args`): the files
/// a rollback may restore are porttune's own, and a vm.args file is one by its name.
pub fn check_vm_args_path(v: &str) -> Result<(), String> {
    if v.chars().any(char::is_control) {
        return Err(format!(
            "`vm_args` \"{}\" holds a control character (a newline?): give one absolute path",
            printable(v)
        ));
    }
    if !v.starts_with('/') || v.split('/').any(|c| c == "..") {
        return Err("`vm_args` must be an absolute path without `..`".into());
    }
    if !v.rsplit('/').next().is_some_and(|f| f.ends_with(".args")) {
        return Err(format!(
            "`vm_args` {v}: not a vm.args file (the name must end in `.args`, as `vm.args` does)"
        ));
    }
    Ok(())
}

/// A limits.d domain as pam_limits reads it for `nofile`/`nproc` (limits.conf(5)): `*`, a
/// user name, `@group`, a uid range `MIN:MAX` (either end may be empty) or `@MIN:MAX` for
/// gids. `%group` counts only for `maxlogins`, so it is refused here; `#` would start a
/// comment. Names use the portable charset (letters, digits, `_`, `.`, `-`, not leading
/// `-`, at most 32 characters, an optional final `$`), nothing invisible.
pub fn check_pam_domain(d: &str) -> Result<(), String> {
    let name = |n: &str| {
        let body = n.strip_suffix('$').unwrap_or(n);
        !body.is_empty()
            && n.len() <= 32
            && !body.starts_with('-')
            && body
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
    };
    let range = |r: &str| {
        r.split_once(':').is_some_and(|(a, b)| {
            (!a.is_empty() || !b.is_empty())
                && [a, b]
                    .iter()
                    .all(|x| x.is_empty() || x.parse::<u32>().is_ok())
        })
    };
    let ok =
        d == "*" || range(d) || d.strip_prefix('@').is_some_and(|g| name(g) || range(g)) || name(d);
    if ok {
        return Ok(());
    }
    let why = if d.starts_with('%') {
        " (`%group` applies to maxlogins only: pam_limits ignores it for nofile and nproc; write `@group`)"
    } else {
        ""
    };
    Err(format!(
        "`pam_domain` \"{}\" is not a limits.d domain: give `*`, a user name, `@group`, a uid range `1000:1999` or `@MIN:MAX`{why}",
        printable(d)
    ))
}

/// `nofile: unlimited` cannot go to PAM: pam_limits would ask for RLIMIT_NOFILE infinity,
/// the kernel refuses anything above fs.nr_open, and the session (a login, sudo, cron) then
/// fails to open.
pub fn check_pam_nofile(
    targets: &[LimitTarget],
    nofile: Option<crate::profile::LimitPair>,
) -> Result<(), String> {
    let unlimited = nofile.is_some_and(|p| {
        p.soft == crate::snapshot::Rlim::Unlimited || p.hard == crate::snapshot::Rlim::Unlimited
    });
    if unlimited && targets.contains(&LimitTarget::Pam) {
        return Err("`limits.nofile` cannot be `unlimited` for the `pam` target: pam_limits would set RLIMIT_NOFILE to infinity, which the kernel refuses (above fs.nr_open), and logins would fail; write a number no larger than fs.nr_open, e.g. `nofile: {soft: 1048576, hard: 1048576}`".into());
    }
    Ok(())
}

/// Normalise whitespace: one space between fields, no leading/trailing space.
pub fn normalize(v: &str) -> String {
    v.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A number as the kernel reads it (proc_dointvec: base auto-detected, `-` only): refuse
/// what it would read differently or reject. `010` is octal 8 there, `08192` and `+8192`
/// are EINVAL.
pub fn kernel_int(key: &str, s: &str) -> Result<(), String> {
    let digits = s.strip_prefix('-').unwrap_or(s);
    if let Some(rest) = s.strip_prefix('+') {
        return Err(format!(
            "`{key}`: {s:?} has a `+` sign; the kernel accepts only digits (and `-`): write {rest:?}"
        ));
    }
    if digits.len() > 1 && digits.starts_with('0') && digits.chars().all(|c| c.is_ascii_digit()) {
        let octal = i128::from_str_radix(digits, 8).ok();
        return Err(format!(
            "`{key}`: {s:?} has a leading zero; the kernel reads it as octal{} — write the number without leading zeros",
            match octal {
                Some(n) => format!(" ({n})"),
                None => " and rejects it (EINVAL)".to_string(),
            }
        ));
    }
    Ok(())
}

/// Check an exact value for `key` and return it normalised.
/// `unpriv_start` is net.ipv4.ip_unprivileged_port_start when known (default 1024).
pub fn check_value(key: &str, value: &str, unpriv_start: Option<i128>) -> Result<String, String> {
    check_value_os(crate::snapshot::Os::Linux, key, value, unpriv_start)
}

/// The type of `key` on `os`, where porttune knows it.
pub fn kind_for(os: crate::snapshot::Os, key: &str) -> Option<Kind> {
    crate::settings::find(os, key).and_then(|s| s.kind)
}

/// [`check_value`] for a profile of `os` (macOS keys take their types from
/// [`crate::settings::macos`]).
pub fn check_value_os(
    os: crate::snapshot::Os,
    key: &str,
    value: &str,
    unpriv_start: Option<i128>,
) -> Result<String, String> {
    check_not_exec(key)?;
    if value.contains('\0') || value.contains('\n') || value.contains('\r') {
        return Err(format!(
            "value \"{}\" for `{key}` spans lines or holds a NUL byte: a sysctl value is one line",
            printable(value)
        ));
    }
    if let Some(c) = value
        .chars()
        .find(|c| c.is_control() && !matches!(c, ' ' | '\t'))
    {
        return Err(format!(
            "value \"{}\" for `{key}` holds the control character {:?}: sysctl values are printable text",
            printable(value),
            c
        ));
    }
    let v = normalize(value);
    if v.is_empty() {
        return Err(format!("empty value for `{key}`"));
    }
    if v.len() > 4096 {
        return Err(format!("value for `{key}` longer than 4096 bytes"));
    }
    let Some(kind) = kind_for(os, key) else {
        // A macOS key porttune does not know is written by sysctl(8) from a LaunchDaemon at
        // boot: its text must be plain words (letters, digits, `._:/@+-`), nothing a shell
        // or a property list would read specially.
        if os == crate::snapshot::Os::Macos
            && !v.split(' ').all(|w| {
                w.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "._:/@+-".contains(c))
            })
        {
            return Err(format!(
                "value \"{}\" for `{key}`: porttune does not know this macOS setting, so its value must be plain words of letters, digits and `._:/@+-`",
                printable(&v)
            ));
        }
        // Unknown keys pass as text, but a number in them must read as the kernel reads it.
        for tok in v.split(' ') {
            if tok
                .trim_start_matches('-')
                .chars()
                .all(|c| c.is_ascii_digit())
                || tok.starts_with('+')
            {
                kernel_int(key, tok)?;
            }
        }
        return Ok(v);
    };
    let nums: Vec<&str> = v.split(' ').collect();
    let parse = |s: &str| -> Result<i128, String> {
        kernel_int(key, s)?;
        s.parse::<i128>()
            .map_err(|_| format!("`{key}` must be {kind}; {s:?} is not an integer"))
    };
    match kind {
        Kind::Int { min, max } => {
            if nums.len() != 1 {
                return Err(format!("`{key}` must be {kind}, got {v:?}"));
            }
            let n = parse(nums[0])?;
            if n < min || n > max {
                return Err(format!("`{key}` must be {kind}, got {n}"));
            }
        }
        Kind::PortRange => {
            if nums.len() != 2 {
                return Err(format!(
                    "`{key}` must be two ports `lo hi` (e.g. \"1024 65535\"), got {v:?}"
                ));
            }
            let lo = parse(nums[0])?;
            let hi = parse(nums[1])?;
            if !(1..=65535).contains(&lo) || !(1..=65535).contains(&hi) {
                return Err(format!(
                    "`{key}`: ports must be between 1 and 65535, got {v:?}"
                ));
            }
            if lo > hi {
                return Err(format!(
                    "`{key}`: the range is inverted: lo {lo} is above hi {hi}; the kernel rejects it"
                ));
            }
            let start = unpriv_start.unwrap_or(1024);
            if lo < start {
                return Err(format!(
                    "`{key}`: lo {lo} is below net.ipv4.ip_unprivileged_port_start ({start}); the kernel rejects it"
                ));
            }
        }
        Kind::Triple { max } => {
            if nums.len() != 3 {
                return Err(format!("`{key}` must be {kind}, got {v:?}"));
            }
            let a = parse(nums[0])?;
            let b = parse(nums[1])?;
            let c = parse(nums[2])?;
            for n in [a, b, c] {
                if n < 0 || n > max {
                    return Err(format!("`{key}`: {n} is outside 0..={max}"));
                }
            }
            if !(a <= b && b <= c) {
                return Err(format!("`{key}`: expected min ≤ default ≤ max, got {v:?}"));
            }
        }
    }
    Ok(v)
}

/// Check a `{min: N}` / `{max: N}` bound for `key`.
pub fn check_bound(key: &str, n: i128) -> Result<(), String> {
    check_bound_os(crate::snapshot::Os::Linux, key, n)
}

/// [`check_bound`] for a profile of `os`.
pub fn check_bound_os(os: crate::snapshot::Os, key: &str, n: i128) -> Result<(), String> {
    match kind_for(os, key) {
        Some(Kind::Int { min, max }) => {
            if n < min || n > max {
                return Err(format!(
                    "`{key}` must be {}, got {n}",
                    Kind::Int { min, max }
                ));
            }
            Ok(())
        }
        Some(k) => Err(format!(
            "`{key}` is {k}: `min`/`max` apply only to single-integer keys; give the exact value"
        )),
        None => {
            if n < i64::MIN as i128 || n > u64::MAX as i128 {
                return Err(format!(
                    "`{key}`: {n} is out of range for any kernel integer"
                ));
            }
            Ok(())
        }
    }
}

/// `limits.nofile` against the kernel's bound: a hard limit above `fs.nr_open` is refused by
/// setrlimit (EPERM), by pam_limits and by systemd alike. `host_nr_open` is the host's value
/// now; `profile_nr_open` what the same profile sets it to (`Some` when it raises it). Returns
/// whether the profile's own nr_open is needed (then it is applied first).
pub fn check_nofile_nr_open(
    hard: crate::snapshot::Rlim,
    host_nr_open: Option<u64>,
    profile_nr_open: Option<u64>,
) -> Result<bool, String> {
    let (crate::snapshot::Rlim::Value(hard), Some(now)) = (hard, host_nr_open) else {
        return Ok(false);
    };
    if hard <= now {
        return Ok(false);
    }
    match profile_nr_open {
        Some(n) if n >= hard => Ok(true),
        Some(n) => Err(format!(
            "`limits.nofile` hard {hard} is above fs.nr_open: this host has {now} and the profile sets {n}; the kernel refuses a hard limit above fs.nr_open (EPERM): raise `fs.nr_open` to at least {hard} in the profile's `sysctl`, or lower `limits.nofile`"
        )),
        None => Err(format!(
            "`limits.nofile` hard {hard} is above this host's fs.nr_open {now}: the kernel refuses it (setrlimit EPERM; pam_limits and systemd fail the same way): add `fs.nr_open: {{min: {hard}}}` to the profile's `sysctl` (it is then applied first), or lower `limits.nofile` to at most {now}"
        )),
    }
}

/// Where limits go.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum LimitTarget {
    /// /etc/security/limits.d/60-porttune-NAME.conf (login sessions).
    Pam,
    /// /etc/systemd/system.conf.d/60-porttune-NAME.conf DefaultLimitNOFILE= (every service).
    SystemdDefault,
    /// /etc/systemd/system/UNIT.d/porttune.conf LimitNOFILE= (one unit).
    Systemd { unit: String },
    /// A running process, via prlimit(2).
    Pid { pid: u32 },
    /// macOS: `launchctl limit maxfiles` (what launchd starts from now on), persisted by a
    /// LaunchDaemon plist.
    Launchd,
}

impl fmt::Display for LimitTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LimitTarget::Pam => f.write_str("pam"),
            LimitTarget::SystemdDefault => f.write_str("systemd-default"),
            LimitTarget::Systemd { unit } => write!(f, "systemd:{unit}"),
            LimitTarget::Pid { pid } => write!(f, "pid:{pid}"),
            LimitTarget::Launchd => f.write_str("launchd"),
        }
    }
}

/// Check a systemd unit name (no path separators, a known suffix).
pub fn check_unit(unit: &str) -> Result<(), String> {
    let ok_chars = unit
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '@' | ':' | '\\'));
    let suffix_ok = [".service", ".socket", ".scope", ".slice"]
        .iter()
        .any(|s| unit.ends_with(s) && unit.len() > s.len());
    if unit.len() > 255 {
        return Err(format!(
            "unit name of {} characters: systemd allows at most 255",
            unit.chars().count()
        ));
    }
    if unit.is_empty() || !ok_chars || unit.starts_with('.') || unit.contains("..") {
        return Err(format!(
            "`{}` is not a systemd unit name (letters, digits, `-_.@:`)",
            printable(unit)
        ));
    }
    if !suffix_ok {
        return Err(format!(
            "unit `{}` needs a suffix such as `.service`",
            printable(unit)
        ));
    }
    Ok(())
}

pub fn parse_target(s: &str) -> Result<LimitTarget, String> {
    match s {
        "pam" => return Ok(LimitTarget::Pam),
        "systemd-default" => return Ok(LimitTarget::SystemdDefault),
        "launchd" => return Ok(LimitTarget::Launchd),
        _ => {}
    }
    if let Some(unit) = s.strip_prefix("systemd:") {
        check_unit(unit)?;
        return Ok(LimitTarget::Systemd { unit: unit.into() });
    }
    if let Some(pid) = s.strip_prefix("pid:") {
        return match pid.parse::<u32>() {
            // PID_MAX_LIMIT (4194304): no process has a larger pid.
            Ok(p) if (1..=4_194_304).contains(&p) => Ok(LimitTarget::Pid { pid: p }),
            _ => Err(format!(
                "`{}`: pid must be a positive integer up to 4194304 (PID_MAX_LIMIT)",
                printable(s)
            )),
        };
    }
    Err(format!(
        "unknown limits target `{}`: expected `pam`, `systemd-default`, `systemd:UNIT`, `pid:N` or (macOS) `launchd`{}",
        printable(s),
        super::suggest::did_you_mean(s, &["pam", "systemd-default", "launchd"])
    ))
}

/// Check an Erlang +Q/+P value (erl_cmd: 1024..=134217727, else "bad number of ...").
pub fn check_erlang(what: &str, n: u64) -> Result<(), String> {
    if !(1024..=134_217_727).contains(&n) {
        return Err(format!(
            "`{what}` must be between 1024 and 134217727 (the VM refuses to start otherwise), got {n}"
        ));
    }
    Ok(())
}

/// Profile names end up in file names: `[a-z0-9_-]`, 1..=64 characters.
pub fn check_name(name: &str) -> Result<(), String> {
    if name.is_empty()
        || name.len() > 64
        || !name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
    {
        return Err(format!(
            "profile name `{}` must be 1-64 characters of a-z, 0-9, `-`, `_` (it becomes part of file names)",
            printable(name)
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys() {
        assert!(check_key("net.core.somaxconn").is_ok());
        assert!(check_key("fs.file-max").is_ok());
        for bad in [
            "../../etc/passwd",
            "net..core",
            ".net.core",
            "net.core.",
            "net/core/somaxconn",
            "net.core.some\0",
            "somaxconn",
            "etc.passwd",
            "net.core.a b",
            "",
        ] {
            assert!(check_key(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn values() {
        assert_eq!(
            check_value("net.ipv4.ip_local_port_range", " 1024\t65535 ", None).unwrap(),
            "1024 65535"
        );
        assert!(check_value("net.ipv4.ip_local_port_range", "60000 1024", None).is_err());
        assert!(check_value("net.ipv4.ip_local_port_range", "500 600", None).is_err());
        assert!(check_value("net.ipv4.ip_local_port_range", "500 600", Some(0)).is_ok());
        assert!(check_value("net.ipv4.tcp_tw_reuse", "3", None).is_err());
        assert!(check_value("net.core.somaxconn", "4294967296", None).is_err());
        assert!(check_value("net.ipv4.tcp_rmem", "4096 131072 16777216", None).is_ok());
        assert!(check_value("net.ipv4.tcp_rmem", "4096 1 16777216", None).is_err());
        assert!(check_bound("net.ipv4.ip_local_port_range", 5).is_err());
    }

    #[test]
    fn nofile_within_nr_open() {
        use crate::snapshot::Rlim;
        let m = 1_048_576;
        assert_eq!(
            check_nofile_nr_open(Rlim::Value(m), Some(m), None),
            Ok(false)
        );
        let e = check_nofile_nr_open(Rlim::Value(2_000_000), Some(m), None).unwrap_err();
        assert!(
            e.contains("fs.nr_open 1048576") && e.contains("min: 2000000"),
            "{e}"
        );
        assert_eq!(
            check_nofile_nr_open(Rlim::Value(2_000_000), Some(m), Some(2_000_000)),
            Ok(true)
        );
        assert!(check_nofile_nr_open(Rlim::Value(2_000_000), Some(m), Some(1_500_000)).is_err());
        // Unknown host value, or no finite hard limit: nothing to compare.
        assert_eq!(
            check_nofile_nr_open(Rlim::Value(2_000_000), None, None),
            Ok(false)
        );
        assert_eq!(
            check_nofile_nr_open(Rlim::Unlimited, Some(m), None),
            Ok(false)
        );
    }

    #[test]
    fn targets() {
        assert_eq!(
            parse_target("pid:42").unwrap(),
            LimitTarget::Pid { pid: 42 }
        );
        assert!(parse_target("systemd:../x.service").is_err());
        assert!(parse_target("systemd:a/b.service").is_err());
        assert!(parse_target("pid:-1").is_err());
        assert!(
            parse_target("pamm")
                .unwrap_err()
                .contains("did you mean `pam`")
        );
    }
}
