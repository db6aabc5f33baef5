//! `--process NAME`: the one running process with that name, as `pgrep -x` finds it, from
//! /proc on Linux and from libproc on macOS (`proc_listallpids`, `proc_name`, `proc_pidpath`,
//! `proc_pidinfo`). The listing from libproc goes through [`ProcInfo`], so it is tested with a
//! fake on any OS.

use std::path::Path;

use crate::error::{Error, Result};

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

/// A process as the OS lists it for `--process`: its PID, its parent's (0 when unknown) and
/// its name as the OS keeps it (Linux: the 15-byte comm; macOS: `proc_name`, 32 bytes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    pub pid: u32,
    pub ppid: u32,
    pub name: String,
}

/// The PID of the one process named `name` (as `pgrep -x` matches). Workers of a matching
/// master are left out; two or more unrelated processes are an error naming them. The list
/// comes from /proc on Linux and from libproc on macOS.
pub fn find_process(proc_root: &Path, name: &str) -> Result<u32> {
    if name.is_empty() || name.contains('/') {
        return Err(Error::Usage(format!(
            "--process {name:?}: give a process name as `ps -o comm` shows it (e.g. nginx, beam.smp)"
        )));
    }
    let (listed, keep) = list_processes(proc_root, name)?;
    pick_process(&listed, name, keep, std::process::id())
}

/// Of `listed`, the one process called `name` (compared on the first `keep` characters, all
/// the OS keeps of a name), other than porttune itself (`me`).
pub fn pick_process(listed: &[Listed], name: &str, keep: usize, me: u32) -> Result<u32> {
    let want: String = name.chars().take(keep).collect();
    let found: Vec<(u32, u32)> = listed
        .iter()
        .filter(|p| p.pid != me && p.name.chars().take(keep).eq(want.chars()))
        .map(|p| (p.pid, p.ppid))
        .collect();
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

/// The processes under `proc_root` whose comm may be `name`, and how much of a name the
/// kernel keeps.
#[cfg(target_os = "linux")]
fn list_processes(proc_root: &Path, name: &str) -> Result<(Vec<Listed>, usize)> {
    let want: String = name.chars().take(COMM_LEN).collect();
    let procs = procfs::process::all_processes_with_root(proc_root)
        .map_err(|e| Error::Internal(format!("listing {}: {e}", proc_root.display())))?;
    let mut listed = Vec::new();
    for p in procs.flatten() {
        let Ok(stat) = p.stat() else { continue };
        if stat.comm != want {
            continue;
        }
        if let Ok(pid) = u32::try_from(stat.pid) {
            listed.push(Listed {
                pid,
                ppid: u32::try_from(stat.ppid).unwrap_or(0),
                name: stat.comm,
            });
        }
    }
    Ok((listed, COMM_LEN))
}

/// Every process libproc shows (`proc_listallpids`, `proc_name`, `proc_pidpath`,
/// `proc_pidinfo`).
#[cfg(target_os = "macos")]
fn list_processes(_proc_root: &Path, _name: &str) -> Result<(Vec<Listed>, usize)> {
    let listed = list_libproc(&Libproc)
        .map_err(|e| Error::Internal(format!("listing processes (proc_listallpids): {e}")))?;
    Ok((listed, MAC_NAME_LEN))
}

#[cfg(not(any(target_os = "linux", target_os = "macos")))]
fn list_processes(_proc_root: &Path, name: &str) -> Result<(Vec<Listed>, usize)> {
    Err(Error::Usage(format!(
        "--process {name}: finding a process by name is implemented for Linux and macOS; use --pid $(pgrep -x {name})"
    )))
}

/// How much of a process name macOS keeps and `proc_name` returns: `p_name`, 2 × MAXCOMLEN
/// (xnu `bsd/sys/proc_internal.h`; `p_comm` keeps MAXCOMLEN = 16).
pub const MAC_NAME_LEN: usize = 32;

/// What `--process NAME` needs from libproc, so that the listing is tested with a fake: every
/// PID (`proc_listallpids`), a process's name (`proc_name`), its executable (`proc_pidpath`,
/// when the name cannot be read) and its parent (`proc_pidinfo` PROC_PIDTBSDINFO `pbi_ppid`).
pub trait ProcInfo {
    fn all_pids(&self) -> Result<Vec<u32>, String>;
    fn name(&self, pid: u32) -> Option<String>;
    fn path(&self, pid: u32) -> Option<String>;
    fn ppid(&self, pid: u32) -> Option<u32>;
}

/// Every process `p` shows, with its name (`proc_name`, else the last part of its executable's
/// path) and parent (0 when unknown). A process that exits meanwhile, or shows neither name nor
/// path, is left out.
pub fn list_libproc(p: &dyn ProcInfo) -> Result<Vec<Listed>, String> {
    let mut out = Vec::new();
    for pid in p.all_pids()? {
        if pid == 0 {
            continue;
        }
        let name = p.name(pid).filter(|n| !n.is_empty()).or_else(|| {
            p.path(pid)
                .and_then(|path| path.rsplit('/').next().map(str::to_string))
                .filter(|n| !n.is_empty())
        });
        let Some(name) = name else { continue };
        out.push(Listed {
            pid,
            ppid: p.ppid(pid).unwrap_or(0),
            name: name.chars().take(MAC_NAME_LEN).collect(),
        });
    }
    Ok(out)
}

/// libproc itself, for `--process` ([`list_libproc`]).
#[cfg(target_os = "macos")]
pub struct Libproc;

#[cfg(target_os = "macos")]
impl ProcInfo for Libproc {
    fn all_pids(&self) -> std::result::Result<Vec<u32>, String> {
        use libproc::processes::{ProcFilter, pids_by_type};
        pids_by_type(ProcFilter::All).map_err(|e| e.to_string())
    }

    fn name(&self, pid: u32) -> Option<String> {
        libproc::libproc::proc_pid::name(i32::try_from(pid).ok()?).ok()
    }

    fn path(&self, pid: u32) -> Option<String> {
        libproc::libproc::proc_pid::pidpath(i32::try_from(pid).ok()?).ok()
    }

    fn ppid(&self, pid: u32) -> Option<u32> {
        use libproc::libproc::bsd_info::BSDInfo;
        use libproc::libproc::proc_pid::pidinfo;
        pidinfo::<BSDInfo>(i32::try_from(pid).ok()?, 0)
            .ok()
            .map(|i| i.pbi_ppid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn master_and_workers_count_once() {
        assert_eq!(roots_of(&[(10, 1), (11, 10), (12, 10)]), vec![10]);
        assert_eq!(roots_of(&[(10, 1), (20, 1)]), vec![10, 20]);
        assert!(roots_of(&[]).is_empty());
    }

    /// One process of the fake libproc: PID, name, path, parent.
    type Fake = (u32, Option<&'static str>, Option<&'static str>, Option<u32>);

    /// A fake libproc.
    struct FakeLibproc(Vec<Fake>);

    impl ProcInfo for FakeLibproc {
        fn all_pids(&self) -> Result<Vec<u32>, String> {
            Ok(self.0.iter().map(|p| p.0).collect())
        }
        fn name(&self, pid: u32) -> Option<String> {
            self.0.iter().find(|p| p.0 == pid)?.1.map(String::from)
        }
        fn path(&self, pid: u32) -> Option<String> {
            self.0.iter().find(|p| p.0 == pid)?.2.map(String::from)
        }
        fn ppid(&self, pid: u32) -> Option<u32> {
            self.0.iter().find(|p| p.0 == pid)?.3
        }
    }

    /// `--process` on a Mac: the names libproc gives (32 bytes, not Linux's 15), the path's
    /// last part when the name is not readable, a master and its workers once, porttune
    /// itself never, two unrelated processes refused with their PIDs.
    #[test]
    fn process_by_name_through_libproc() {
        let lp = FakeLibproc(vec![
            (0, Some("kernel_task"), None, None),
            (1, Some("launchd"), Some("/sbin/launchd"), Some(0)),
            (500, Some("beam.smp"), None, Some(1)),
            (501, Some("erl_child_setup"), None, Some(500)),
            (
                600,
                None,
                Some("/opt/homebrew/opt/nginx/bin/nginx"),
                Some(1),
            ),
            (601, Some("nginx"), None, Some(600)),
            (602, Some("nginx"), None, Some(600)),
            (700, Some("com.apple.WebKit.Networking.xpc"), None, Some(1)),
            (800, None, None, Some(1)),
            (900, Some("porttune"), None, Some(1)),
            (901, Some("redis-server"), None, None),
            (902, Some("redis-server"), None, Some(1)),
        ]);
        let listed = list_libproc(&lp).unwrap();
        assert!(listed.iter().all(|p| p.pid != 0 && p.pid != 800));
        let pick = |n: &str| pick_process(&listed, n, MAC_NAME_LEN, 900);
        assert_eq!(pick("beam.smp").unwrap(), 500);
        assert_eq!(
            pick("erl_child_setup").unwrap(),
            501,
            "16 bytes: longer than Linux keeps"
        );
        assert_eq!(
            pick("nginx").unwrap(),
            600,
            "the master, named from its path"
        );
        assert_eq!(pick("com.apple.WebKit.Networking.xpc").unwrap(), 700);
        let e = pick("porttune").unwrap_err().to_string();
        assert!(e.contains("no running process has that name"), "{e}");
        let e = pick("redis-server").unwrap_err().to_string();
        assert!(
            e.contains("2 unrelated processes") && e.contains("901, 902"),
            "{e}"
        );
        assert!(pick("beam").is_err(), "whole names only");
        let failing = FakeLibproc(vec![]);
        struct Refused;
        impl ProcInfo for Refused {
            fn all_pids(&self) -> Result<Vec<u32>, String> {
                Err("Operation not permitted".into())
            }
            fn name(&self, _: u32) -> Option<String> {
                None
            }
            fn path(&self, _: u32) -> Option<String> {
                None
            }
            fn ppid(&self, _: u32) -> Option<u32> {
                None
            }
        }
        assert!(list_libproc(&failing).unwrap().is_empty());
        assert!(list_libproc(&Refused).is_err());
    }
}
