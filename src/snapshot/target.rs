//! Which process a report is about: `--pid`, `--process NAME` or `--unit NAME.service`.

use std::path::Path;

use crate::error::{Error, Result};

/// `/proc/PID/comm` without the newline (at most 64 bytes read).
pub fn read_comm(base: &Path) -> Option<String> {
    use std::io::Read;
    let mut buf = Vec::new();
    std::fs::File::open(base.join("comm"))
        .ok()?
        .take(64)
        .read_to_end(&mut buf)
        .ok()?;
    let s = String::from_utf8_lossy(&buf).trim_end().to_string();
    (!s.is_empty()).then_some(s)
}

/// The state letter of `/proc/PID/stat` (`R`, `S`, `Z`, …): after the last `) `, since the
/// command name may hold spaces and parentheses.
pub fn stat_state(stat: &str) -> Option<char> {
    stat.rsplit_once(") ").and_then(|(_, r)| r.chars().next())
}

/// The parent PID in `/proc/PID/stat` (the field after the state).
pub fn stat_ppid(stat: &str) -> Option<u32> {
    stat.rsplit_once(") ")?
        .1
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// The parent of `pid` under `proc_root`, if it can be read.
pub fn ppid(proc_root: &Path, pid: u32) -> Option<u32> {
    let stat =
        crate::fsio::read_bounded_io(&proc_root.join(pid.to_string()).join("stat"), 4096).ok()?;
    stat_ppid(&String::from_utf8_lossy(&stat))
}

/// The process is gone: no `/proc/PID`, or a zombie (`Z`) or dead (`X`) one.
pub fn is_gone(proc_root: &Path, pid: u32) -> bool {
    let stat = crate::fsio::read_bounded_io(&proc_root.join(pid.to_string()).join("stat"), 4096);
    stat.map_or(true, |b| {
        stat_state(&String::from_utf8_lossy(&b)).is_some_and(|c| c == 'Z' || c == 'X')
    })
}

/// Whether `net:[INODE]` is the initial network namespace, from its inode alone. Since Linux
/// 6.18 the initial network namespace has the fixed inode 0xEFFFFFF9 (PROC_NET_INIT_INO) and
/// every other one a number from 0xF0000000 up; before, all were numbered alike: None.
pub fn fixed_initial_netns(id: &str, kernel: Option<&str>) -> Option<bool> {
    let ino: u64 = id.strip_prefix("net:[")?.strip_suffix(']')?.parse().ok()?;
    if ino == 0xEFFF_FFF9 {
        return Some(true);
    }
    let mut v = kernel?.split(|c: char| !c.is_ascii_digit());
    let major: u32 = v.next()?.parse().ok()?;
    let minor: u32 = v.next()?.parse().ok()?;
    ((major, minor) >= (6, 18)).then_some(false)
}

/// The kernel keeps 15 bytes of a process name.
#[cfg(target_os = "linux")]
const COMM_LEN: usize = 15;

/// Of the processes `(pid, ppid)` whose name matched, the ones whose parent did not match
/// (a master with its workers counts once: the master).
pub fn roots_of(found: &[(u32, u32)]) -> Vec<u32> {
    found
        .iter()
        .filter(|(_, ppid)| !found.iter().any(|(p, _)| p == ppid))
        .map(|(p, _)| *p)
        .collect()
}

/// The PID of the one process named `name` (its comm, as `pgrep -x` matches). Workers of a
/// matching master are left out; two or more unrelated processes are an error naming them.
#[cfg(target_os = "linux")]
pub fn find_process(proc_root: &Path, name: &str) -> Result<u32> {
    if name.is_empty() || name.contains('/') {
        return Err(Error::Usage(format!(
            "--process {name:?}: give a process name as `ps -o comm` shows it (e.g. nginx, beam.smp)"
        )));
    }
    let want: String = name.chars().take(COMM_LEN).collect();
    let me = std::process::id();
    let mut found = Vec::new();
    let procs = procfs::process::all_processes_with_root(proc_root)
        .map_err(|e| Error::Internal(format!("listing {}: {e}", proc_root.display())))?;
    for p in procs.flatten() {
        let Ok(stat) = p.stat() else { continue };
        if stat.comm == want && u32::try_from(stat.pid).is_ok_and(|pid| pid != me) {
            found.push((stat.pid as u32, u32::try_from(stat.ppid).unwrap_or(0)));
        }
    }
    let roots = roots_of(&found);
    match roots.as_slice() {
        [one] => Ok(*one),
        [] => Err(Error::Usage(format!(
            "--process {name}: no running process has that name (`ps -eo pid,comm` lists them)"
        ))),
        many => {
            let list: Vec<String> = many.iter().take(10).map(|p| p.to_string()).collect();
            Err(Error::Usage(format!(
                "--process {name}: {} unrelated processes have that name (PIDs {}): choose one with --pid",
                many.len(),
                list.join(", ")
            )))
        }
    }
}

#[cfg(not(target_os = "linux"))]
pub fn find_process(_proc_root: &Path, name: &str) -> Result<u32> {
    Err(Error::Usage(format!(
        "--process {name}: finding a process by name is implemented for Linux only; use --pid $(pgrep -x {name})"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn initial_netns_from_the_fixed_inode() {
        use super::fixed_initial_netns as f;
        assert_eq!(f("net:[4026531833]", Some("6.18.44")), Some(true));
        assert_eq!(f("net:[4026532177]", Some("6.18.44-fc")), Some(false));
        assert_eq!(f("net:[4026532177]", Some("6.1.0-28-amd64")), None);
        assert_eq!(f("net:[4026531840]", None), None);
        assert_eq!(f("garbage", Some("6.18")), None);
    }

    #[test]
    fn master_and_workers_count_once() {
        assert_eq!(super::roots_of(&[(10, 1), (11, 10), (12, 10)]), vec![10]);
        assert_eq!(super::roots_of(&[(10, 1), (20, 1)]), vec![10, 20]);
        assert!(super::roots_of(&[]).is_empty());
    }

    #[test]
    fn stat_state_after_the_command_name() {
        assert_eq!(stat_state("42 (a) b) c) Z 1 42 42"), Some('Z'));
        assert_eq!(stat_state("7 (nginx) S 1 7 7 0"), Some('S'));
        assert_eq!(stat_state("garbage"), None);
        assert_eq!(stat_ppid("42 (a) b) c) Z 1 42 42"), Some(1));
        assert_eq!(stat_ppid("7 (nginx) S 6 7 7 0"), Some(6));
        assert_eq!(stat_ppid("garbage"), None);
    }

    #[test]
    fn gone_from_a_fixture_proc() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(d.path().join("7")).unwrap();
        std::fs::write(d.path().join("7/stat"), "7 (x) S 1 7 7 0\n").unwrap();
        std::fs::create_dir_all(d.path().join("8")).unwrap();
        std::fs::write(d.path().join("8/stat"), "8 (x) Z 1 8 8 0\n").unwrap();
        assert!(!is_gone(d.path(), 7));
        assert!(is_gone(d.path(), 8));
        assert!(is_gone(d.path(), 9));
    }
}
