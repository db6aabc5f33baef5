//! Known settings, one table per OS: each key with its type and range, whether it is
//! host-wide, what it is, and the snapshot field it reads and writes. The probe, validation,
//! the what-if, the plan, the model and the macOS writer take their facts from here
//! (docs/model.md cites the sources).

pub mod linux;
pub mod macos;

use std::fmt;

use crate::snapshot::{Os, Snapshot};

/// The kernel's type for a setting, where porttune knows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// An integer within [min, max].
    Int { min: i128, max: i128 },
    /// `lo hi` ports: lo ≤ hi, lo ≥ ip_unprivileged_port_start, hi ≤ 65535.
    PortRange,
    /// Three integers `min default max` within [0, max] and non-decreasing.
    Triple { max: i128 },
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Kind::Int { min, max } => write!(f, "an integer from {min} to {max}"),
            Kind::PortRange => f.write_str("two ports `lo hi`"),
            Kind::Triple { .. } => f.write_str("three integers `min default max`"),
        }
    }
}

/// Where a limit or setting applies: one process, one network namespace, or the host.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    serde::Serialize,
    serde::Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    Process,
    Netns,
    Host,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Process => "process",
            Scope::Netns => "netns",
            Scope::Host => "host",
        }
    }
}

impl PartialEq<&str> for Scope {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl std::fmt::Display for Scope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One known setting.
pub struct Setting {
    pub key: &'static str,
    /// Its type and range; None: written as given (the kernel judges the value).
    pub kind: Option<Kind>,
    /// Per network namespace, or host-wide (also: not known to be per namespace).
    pub scope: Scope,
    /// What it is, for messages.
    pub what: &'static str,
    /// Another name of the same kernel value (the probe reads only the main one).
    pub alias_of: Option<&'static str>,
    /// The snapshot's value, as the sysctl prints it.
    pub get: fn(&Snapshot) -> Option<String>,
    /// Record a value in a snapshot (the what-if); false when it does not parse.
    pub set: fn(&mut Snapshot, &str) -> bool,
}

/// The known settings of `os` (every OS but macOS is read as Linux).
pub fn table(os: Os) -> &'static [Setting] {
    match os {
        Os::Macos => macos::SETTINGS,
        _ => linux::SETTINGS,
    }
}

pub fn find(os: Os, key: &str) -> Option<&'static Setting> {
    table(os).iter().find(|s| s.key == key)
}

/// The OS a key belongs to by its name, when the name says: `kern.*`, `net.inet.*`, `hw.*`
/// are macOS (BSD) names; `net.ipv4.*`, `net.core.*`, `fs.*`, `kernel.*` are Linux names.
pub fn os_of_key(key: &str) -> Option<Os> {
    const MAC: &[&str] = &[
        "kern.",
        "net.inet.",
        "net.inet6.",
        "net.link.",
        "hw.",
        "machdep.",
        "launchd.",
    ];
    const LINUX: &[&str] = &[
        "net.ipv4.",
        "net.ipv6.",
        "net.core.",
        "net.netfilter.",
        "net.nf_conntrack_max",
        "net.unix.",
        "fs.",
        "kernel.",
        "user.",
        "abi.",
        "crypto.",
        "dev.",
    ];
    if MAC.iter().any(|p| key.starts_with(p)) {
        Some(Os::Macos)
    } else if LINUX.iter().any(|p| key.starts_with(p)) {
        Some(Os::Linux)
    } else {
        None
    }
}

/// The key on the other OS that does the same job, for "did you mean" messages.
pub fn counterpart(key: &str) -> Option<&'static str> {
    Some(match key {
        "net.core.somaxconn" => "kern.ipc.somaxconn",
        "kern.ipc.somaxconn" => "net.core.somaxconn",
        "fs.file-max" => "kern.maxfiles",
        "kern.maxfiles" => "fs.file-max",
        "fs.nr_open" => "kern.maxfilesperproc",
        "kern.maxfilesperproc" => "fs.nr_open (and RLIMIT_NOFILE)",
        "net.ipv4.ip_local_port_range" => {
            "net.inet.ip.portrange.first / net.inet.ip.portrange.last"
        }
        "net.inet.ip.portrange.first" | "net.inet.ip.portrange.last" => {
            "net.ipv4.ip_local_port_range"
        }
        "net.ipv4.tcp_fin_timeout" | "net.ipv4.tcp_tw_reuse" => {
            "net.inet.tcp.msl (TIME_WAIT = 2 × MSL; macOS has no TIME_WAIT reuse)"
        }
        "net.inet.tcp.msl" => {
            "none: Linux's TIME_WAIT is a fixed 60 s (net.ipv4.tcp_tw_reuse reuses it)"
        }
        "kernel.pid_max" | "kernel.threads-max" => "kern.maxproc",
        "kern.maxproc" | "kern.maxprocperuid" => "kernel.pid_max / kernel.threads-max",
        _ => return None,
    })
}

/// Check that `key` belongs to a profile for `os`; the message names the counterpart.
pub fn check_key_os(os: Os, key: &str) -> Result<(), String> {
    let name = |o: Os| match o {
        Os::Macos => "macOS",
        _ => "Linux",
    };
    match os_of_key(key) {
        Some(k) if k != os => {
            let hint = counterpart(key)
                .map(|c| format!(" (on {} it is {c})", name(os)))
                .unwrap_or_default();
            let fix = if os == Os::Macos {
                "this profile says `os: macos`"
            } else {
                "this profile is for Linux (add `os: macos` for a Mac profile)"
            };
            Err(format!("`{key}` is a {} key{hint}; {fix}", name(k)))
        }
        None if os == Os::Macos && find(os, key).is_none() => Err(format!(
            "`{key}` is not a macOS key porttune knows (known: {})",
            table(os)
                .iter()
                .map(|s| s.key)
                .collect::<Vec<_>>()
                .join(", ")
        )),
        _ => Ok(()),
    }
}

/// Check a dotted sysctl name. Nothing that passes can name a path outside /proc/sys:
/// parts are `[A-Za-z0-9_-]` (plus `:` and `@` for interface names), no `/`, no `..`,
/// no empty part, no NUL, at least two parts.
pub fn check_key(key: &str) -> Result<(), String> {
    if key.is_empty() {
        return Err("empty sysctl key".into());
    }
    if key.len() > 200 {
        return Err("sysctl key longer than 200 characters".into());
    }
    if key.contains('\0') {
        return Err("sysctl key contains a NUL byte".into());
    }
    if key.contains('/') {
        return Err(format!(
            "sysctl key `{}` contains `/`: write keys dotted (`net.core.somaxconn`), never as paths",
            printable(key)
        ));
    }
    let parts: Vec<&str> = key.split('.').collect();
    if parts.len() < 2 {
        return Err(format!(
            "sysctl key `{}` has no dot: keys look like `net.core.somaxconn`",
            printable(key)
        ));
    }
    for p in &parts {
        if p.is_empty() {
            return Err(format!(
                "sysctl key `{}` has an empty part (`..`, or a leading or trailing dot)",
                printable(key)
            ));
        }
        if let Some(c) = p
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | ':' | '@')))
        {
            return Err(format!(
                "sysctl key `{}` contains {:?}: parts may use only letters, digits, `_`, `-`",
                printable(key),
                c
            ));
        }
    }
    let first = parts[0];
    if !matches!(
        first,
        "net"
            | "fs"
            | "kernel"
            | "vm"
            | "user"
            | "abi"
            | "debug"
            | "dev"
            | "crypto"
            | "kern"
            | "hw"
            | "machdep"
            | "launchd"
    ) {
        return Err(format!(
            "sysctl key `{}` starts with `{first}`: known roots are net, fs, kernel, vm, user (Linux) and kern, net, hw (macOS)",
            printable(key)
        ));
    }
    Ok(())
}

/// Escape control characters for messages ([`crate::text::escape`]).
pub fn printable(s: &str) -> String {
    crate::text::escape(s).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_belong_to_their_os() {
        assert!(check_key_os(Os::Macos, "kern.maxfiles").is_ok());
        assert!(check_key_os(Os::Linux, "fs.file-max").is_ok());
        let e = check_key_os(Os::Macos, "net.core.somaxconn").unwrap_err();
        assert!(
            e.contains("is a Linux key") && e.contains("kern.ipc.somaxconn"),
            "{e}"
        );
        let e = check_key_os(Os::Linux, "kern.ipc.somaxconn").unwrap_err();
        assert!(
            e.contains("is a macOS key") && e.contains("os: macos"),
            "{e}"
        );
        assert!(check_key_os(Os::Macos, "vm.swappiness").is_err());
        assert!(check_key_os(Os::Linux, "vm.swappiness").is_ok());
    }
}
