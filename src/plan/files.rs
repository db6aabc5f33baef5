//! Files read at boot or at service start: sysctl.d, limits.d, systemd drop-ins, vm.args.
//! Their paths and contents are computed here (pure); `apply` writes them (crate::fsio::write_atomic).

use std::path::{Path, PathBuf};

use crate::profile::LimitPair;
use crate::snapshot::Rlim;

pub use crate::fsio::under;

pub fn sysctl_d_path(name: &str) -> String {
    format!("/etc/sysctl.d/60-porttune-{name}.conf")
}
pub fn limits_d_path(name: &str) -> String {
    format!("/etc/security/limits.d/60-porttune-{name}.conf")
}
pub fn system_conf_d_path(name: &str) -> String {
    format!("/etc/systemd/system.conf.d/60-porttune-{name}.conf")
}
pub fn unit_dropin_path(unit: &str) -> String {
    format!("/etc/systemd/system/{unit}.d/porttune.conf")
}

fn header(profile: &str, what: &str) -> String {
    format!(
        "# Written by porttune from profile `{profile}`: {what}.\n# `porttune rollback` restores the previous content. Edits here are overwritten by the next apply.\n"
    )
}

pub fn sysctl_d(profile: &str, values: &[(String, String)]) -> String {
    let mut s = header(profile, "kernel settings applied at boot by systemd-sysctl");
    for (k, v) in values {
        s.push_str(&format!("{k} = {v}\n"));
    }
    s
}

fn rl(r: Rlim) -> String {
    match r {
        Rlim::Value(v) => v.to_string(),
        Rlim::Unlimited => "unlimited".into(),
    }
}

fn systemd_rl(r: Rlim) -> String {
    match r {
        Rlim::Value(v) => v.to_string(),
        Rlim::Unlimited => "infinity".into(),
    }
}

pub fn limits_d(
    profile: &str,
    domain: &str,
    nofile: Option<LimitPair>,
    nproc: Option<LimitPair>,
) -> String {
    let mut s = header(
        profile,
        "pam_limits for new login sessions (not systemd services)",
    );
    for (item, pair) in [("nofile", nofile), ("nproc", nproc)] {
        if let Some(p) = pair {
            s.push_str(&format!("{domain} soft {item} {}\n", rl(p.soft)));
            s.push_str(&format!("{domain} hard {item} {}\n", rl(p.hard)));
        }
    }
    s
}

pub fn system_conf_d(profile: &str, nofile: Option<LimitPair>, nproc: Option<LimitPair>) -> String {
    let mut s = header(profile, "default limits of every systemd service");
    s.push_str("[Manager]\n");
    if let Some(p) = nofile {
        s.push_str(&format!(
            "DefaultLimitNOFILE={}:{}\n",
            systemd_rl(p.soft),
            systemd_rl(p.hard)
        ));
    }
    if let Some(p) = nproc {
        s.push_str(&format!(
            "DefaultLimitNPROC={}:{}\n",
            systemd_rl(p.soft),
            systemd_rl(p.hard)
        ));
    }
    s
}

pub fn unit_dropin(
    profile: &str,
    nofile: Option<LimitPair>,
    nproc: Option<LimitPair>,
    erl_flags: Option<&str>,
) -> String {
    let mut s = header(profile, "limits of this unit");
    s.push_str("[Service]\n");
    if let Some(p) = nofile {
        s.push_str(&format!(
            "LimitNOFILE={}:{}\n",
            systemd_rl(p.soft),
            systemd_rl(p.hard)
        ));
    }
    if let Some(p) = nproc {
        s.push_str(&format!(
            "LimitNPROC={}:{}\n",
            systemd_rl(p.soft),
            systemd_rl(p.hard)
        ));
    }
    if let Some(f) = erl_flags {
        s.push_str(&format!("Environment=\"ERL_FLAGS={f}\"\n"));
    }
    s
}

/// Erlang emulator flags for +Q/+P.
pub fn erl_flags(max_ports: Option<u64>, max_processes: Option<u64>) -> String {
    let mut v = Vec::new();
    if let Some(q) = max_ports {
        v.push(format!("+Q {q}"));
    }
    if let Some(p) = max_processes {
        v.push(format!("+P {p}"));
    }
    v.join(" ")
}

/// Edit a vm.args file: replace `+Q N` / `+P N` lines (or add them at the end), keeping
/// every other byte as it was.
/// Set `+Q` / `+P` in a vm.args text: each flag's first occurrence gets the new value in
/// place (`+Q N` or `+QN`, the rest of its line kept: other flags, comments), later
/// occurrences of it are removed (erts takes the last one, which would undo ours), and a flag
/// not present is appended on a line of its own. Idempotent.
pub fn edit_vm_args(
    old: Option<&str>,
    max_ports: Option<u64>,
    max_processes: Option<u64>,
) -> String {
    let old = old.unwrap_or("");
    let mut out = String::with_capacity(old.len() + 32);
    let mut flags = [
        ("+Q", max_ports, max_ports.is_none()),
        ("+P", max_processes, max_processes.is_none()),
    ];
    for line in old.split_inclusive('\n') {
        out.push_str(&edit_vm_args_line(line, &mut flags));
    }
    let missing: Vec<String> = flags
        .iter()
        .filter(|(_, _, done)| !done)
        .filter_map(|(f, v, _)| v.map(|v| format!("{f} {v}\n")))
        .collect();
    if !missing.is_empty() && !out.is_empty() && !out.ends_with('\n') {
        out.push('\n');
    }
    out.extend(missing);
    out
}

/// One line of [`edit_vm_args`]: `flags` holds (flag, new value, already set).
fn edit_vm_args_line(line: &str, flags: &mut [(&str, Option<u64>, bool); 2]) -> String {
    // The code part ends at a `#` (a comment to the end of the line).
    let code_end = line.find('#').unwrap_or(line.len());
    let code = &line[..code_end];
    // Words with their byte ranges.
    let mut words: Vec<(usize, usize)> = Vec::new();
    let mut start = None;
    for (i, c) in code.char_indices() {
        match (c.is_whitespace(), start) {
            (true, Some(s)) => {
                words.push((s, i));
                start = None;
            }
            (false, None) => start = Some(i),
            _ => {}
        }
    }
    if let Some(s) = start {
        words.push((s, code.len()));
    }
    // Edits: (from, to, replacement), in order.
    let mut edits: Vec<(usize, usize, String)> = Vec::new();
    let mut i = 0;
    while i < words.len() {
        let (s, e) = words[i];
        let w = &code[s..e];
        let hit = flags.iter_mut().find(|(f, v, _)| {
            v.is_some()
                && w.strip_prefix(*f)
                    .is_some_and(|r| r.chars().all(|c| c.is_ascii_digit()))
        });
        let Some((f, v, done)) = hit else {
            i += 1;
            continue;
        };
        let inline = w.len() > f.len();
        // the value word: inline, or the next word when it is a number
        let next_num = !inline
            && words
                .get(i + 1)
                .is_some_and(|(a, b)| code[*a..*b].chars().all(|c| c.is_ascii_digit()));
        let end = if next_num { words[i + 1].1 } else { e };
        if *done {
            // a later occurrence: removed with the blanks after it
            let to = words
                .get(i + 1 + usize::from(next_num))
                .map_or(end, |n| n.0);
            edits.push((s, to, String::new()));
        } else {
            let v = v.unwrap_or_default();
            let text = if inline {
                format!("{f}{v}")
            } else {
                format!("{f} {v}")
            };
            edits.push((s, end, text));
            *done = true;
        }
        i += 1 + usize::from(next_num);
    }
    if edits.is_empty() {
        return line.to_string();
    }
    let mut out = String::with_capacity(line.len() + 16);
    let mut at = 0;
    for (from, to, text) in edits {
        out.push_str(&line[at..from]);
        out.push_str(&text);
        at = to;
    }
    out.push_str(&line[at..]);
    // a line left with only blanks by removals goes
    if out.trim().is_empty() && !line.trim().is_empty() {
        return String::new();
    }
    out
}

pub use crate::snapshot::sysctl_d::SYSCTL_DIRS;

/// Files that win over `ours` at boot (they sort after it, or are /etc/sysctl.conf) and set
/// one of `values` differently: (file, key, their value, our value).
pub fn sysctl_conflicts(
    root: &Path,
    ours: &str,
    values: &[(String, String)],
) -> Vec<(PathBuf, String, String, String)> {
    conflicts_in(
        &crate::snapshot::sysctl_d::read_overriding(root, ours),
        values,
    )
}

/// Among `files` (path, text), the lines that set one of `values` differently.
pub fn conflicts_in(
    files: &[(PathBuf, String)],
    values: &[(String, String)],
) -> Vec<(PathBuf, String, String, String)> {
    let mut out = Vec::new();
    for (f, text) in files {
        for line in text.lines() {
            let l = line.trim().trim_start_matches('-');
            if l.starts_with('#') || l.starts_with(';') {
                continue;
            }
            let Some((k, v)) = l.split_once('=') else {
                continue;
            };
            let k = k.trim().replace('/', ".");
            let v = crate::profile::validate::normalize(v);
            for (ok, ov) in values {
                if *ok == k && *ov != v {
                    out.push((f.clone(), k.clone(), v.clone(), ov.clone()));
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vm_args_keeps_other_lines() {
        let old = "## Name of the node\n-name app@host\n\n+K true\n  +Q 65536\n-setcookie x\n";
        let new = edit_vm_args(Some(old), Some(1048576), Some(2097152));
        assert_eq!(
            new,
            "## Name of the node\n-name app@host\n\n+K true\n  +Q 1048576\n-setcookie x\n+P 2097152\n"
        );
        // Idempotent.
        assert_eq!(edit_vm_args(Some(&new), Some(1048576), Some(2097152)), new);
        assert_eq!(edit_vm_args(None, Some(2048), None), "+Q 2048\n");
        assert_eq!(
            edit_vm_args(Some("-name a"), None, Some(4096)),
            "-name a\n+P 4096\n"
        );
    }

    #[test]
    fn vm_args_edits_the_flag_in_place() {
        // several flags on one line: only +Q's value changes, the rest of the line stays
        let old = "+Q 65536 +P 262144 -env X 1\n";
        assert_eq!(
            edit_vm_args(Some(old), Some(1048576), None),
            "+Q 1048576 +P 262144 -env X 1\n"
        );
        assert_eq!(
            edit_vm_args(Some(old), Some(1048576), Some(4194304)),
            "+Q 1048576 +P 4194304 -env X 1\n"
        );
        // inline form kept, comments untouched (a +Q inside one is not a flag)
        let old = "+A 64 +Q8192 # was +Q 1024\n";
        assert_eq!(
            edit_vm_args(Some(old), Some(65536), None),
            "+A 64 +Q65536 # was +Q 1024\n"
        );
        // a later occurrence would win in erts: removed, the rest of its line kept
        let old = "+Q 1024\n-name a +Q 2048 -setcookie c\n+Q 4096\n";
        let new = edit_vm_args(Some(old), Some(65536), None);
        assert_eq!(new, "+Q 65536\n-name a -setcookie c\n");
        assert_eq!(edit_vm_args(Some(&new), Some(65536), None), new);
    }

    #[test]
    fn conflicts() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(d.path().join("etc/sysctl.d")).unwrap();
        std::fs::write(
            d.path().join("etc/sysctl.d/99-local.conf"),
            "net.core.somaxconn = 1024\nnet.ipv4.tcp_tw_reuse=1\n",
        )
        .unwrap();
        std::fs::write(
            d.path().join("etc/sysctl.d/10-early.conf"),
            "net.core.somaxconn = 5\n",
        )
        .unwrap();
        let c = sysctl_conflicts(
            d.path(),
            &sysctl_d_path("x"),
            &[("net.core.somaxconn".into(), "65535".into())],
        );
        assert_eq!(c.len(), 1);
        assert!(c[0].0.ends_with("99-local.conf"));
    }
}
