//! `--unit NAME.service`: the systemd unit's main process and the limits the unit sets,
//! read from `systemctl show` (parsed from its bytes; the output is bounded).

use serde::{Deserialize, Serialize};

use super::{Limit, Rlim};
use crate::error::{Error, Result};

/// Most bytes read from `systemctl show` (a handful of properties is well under 4 KiB).
const MAX_OUTPUT: usize = 64 * 1024;

/// How long `systemctl show` may take.
const SHOW_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// The properties asked for.
const PROPERTIES: &str = "Id,LoadState,ActiveState,MainPID,LimitNOFILE,LimitNOFILESoft,TasksMax,MemoryMax,ControlGroup,FragmentPath,DropInPaths";

/// What systemd says about a unit.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Unit {
    pub name: String,
    #[serde(default)]
    pub main_pid: Option<u32>,
    #[serde(default)]
    pub active_state: Option<String>,
    /// LimitNOFILESoft= / LimitNOFILE= of the unit (what a (re)start gives the process).
    #[serde(default)]
    pub limit_nofile: Option<Limit>,
    /// TasksMax= (becomes the unit cgroup's pids.max).
    #[serde(default)]
    pub tasks_max: Option<Rlim>,
    /// MemoryMax= (the unit cgroup's memory.max).
    #[serde(default)]
    pub memory_max: Option<Rlim>,
    #[serde(default)]
    pub control_group: Option<String>,
    /// The unit file, for `systemctl edit`.
    #[serde(default)]
    pub fragment_path: Option<String>,
    /// Whether the unit file or one of its drop-ins sets LimitNOFILE= itself (then systemd's
    /// DefaultLimitNOFILE= does not reach it). None: not read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sets_limit_nofile: Option<bool>,
    /// The unit's drop-in files (`DropInPaths=`), read for LimitNOFILE= lines.
    #[serde(skip)]
    pub drop_in_paths: Vec<String>,
}

/// Most bytes read from a unit file or drop-in.
const MAX_UNIT_FILE: u64 = 1 << 20;

/// Whether any of these unit files sets `LimitNOFILE=` in its text (a `[Service]` line; a
/// later empty assignment resets it, as systemd reads them in order). None when one cannot
/// be read. Only the key is looked for; nothing of the file is shown.
pub fn sets_limit_nofile(files: &[String]) -> Option<bool> {
    let mut set = false;
    for f in files {
        let text = crate::fsio::read_bounded_io(std::path::Path::new(f), MAX_UNIT_FILE).ok()?;
        for line in String::from_utf8_lossy(&text).lines() {
            let line = line.trim();
            if let Some(v) = line.strip_prefix("LimitNOFILE=") {
                set = !v.trim().is_empty();
            }
        }
    }
    Some(set)
}

/// A unit name systemd would accept: letters, digits and `:-_.\@`, at most 256 bytes. A
/// name without a type suffix gets `.service`, as systemctl does.
pub fn normalise_name(name: &str) -> Result<String> {
    let ok = !name.is_empty()
        && name.len() <= 256
        && !name.starts_with('-')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || ":-_.\\@".contains(c));
    if !ok {
        return Err(Error::Usage(format!(
            "--unit {name:?}: not a systemd unit name (letters, digits and :-_.\\@, e.g. nginx.service)"
        )));
    }
    const TYPES: [&str; 4] = [".service", ".scope", ".socket", ".slice"];
    if TYPES.iter().any(|t| name.ends_with(t)) {
        Ok(name.to_string())
    } else {
        Ok(format!("{name}.service"))
    }
}

/// A limit value as systemctl prints it: a number or "infinity".
fn rlim(v: &str) -> Option<Rlim> {
    match v {
        "infinity" => Some(Rlim::Unlimited),
        _ => v.parse::<u64>().ok().map(Rlim::from_raw),
    }
}

/// Parse `systemctl show` output (`Key=value` lines). Unknown keys are ignored; the name
/// given is used when `Id=` is missing.
pub fn parse_show(name: &str, out: &[u8]) -> Unit {
    let mut u = Unit {
        name: name.to_string(),
        ..Unit::default()
    };
    let (mut soft, mut hard) = (None, None);
    for line in out.split(|b| *b == b'\n') {
        let Some(eq) = line.iter().position(|b| *b == b'=') else {
            continue;
        };
        let key = &line[..eq];
        let val = String::from_utf8_lossy(&line[eq + 1..]).trim().to_string();
        let some = |v: String| (!v.is_empty()).then_some(v);
        match key {
            b"Id" if !val.is_empty() => u.name = val,
            b"ActiveState" => u.active_state = some(val),
            b"MainPID" => u.main_pid = val.parse::<u32>().ok().filter(|p| *p > 0),
            b"LimitNOFILE" => hard = rlim(&val),
            b"LimitNOFILESoft" => soft = rlim(&val),
            b"TasksMax" => u.tasks_max = rlim(&val),
            b"MemoryMax" => u.memory_max = rlim(&val),
            b"ControlGroup" => u.control_group = some(val),
            b"FragmentPath" => u.fragment_path = some(val),
            b"DropInPaths" => {
                u.drop_in_paths = val.split_whitespace().map(str::to_string).collect()
            }
            b"LoadState" if val == "not-found" => u.active_state = Some("not-found".into()),
            _ => {}
        }
    }
    if let (Some(soft), Some(hard)) = (soft, hard) {
        u.limit_nofile = Some(Limit { soft, hard });
    }
    u
}

/// The program run for `systemctl` (`PORTTUNE_SYSTEMCTL` replaces it in tests).
fn systemctl() -> String {
    std::env::var("PORTTUNE_SYSTEMCTL")
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "systemctl".into())
}

/// Ask systemd about `name` (already normalised) and return the unit with its main PID.
pub fn query(name: &str) -> Result<Unit> {
    let prog = systemctl();
    let args = ["show", "--no-pager", "--property", PROPERTIES, "--", name];
    let out = match super::command::run_program(&prog, &args, SHOW_TIMEOUT, MAX_OUTPUT) {
        Ok(out) => out,
        Err(super::command::Failure::Spawn(e)) => {
            return Err(Error::Usage(format!(
                "--unit {name}: cannot run {prog} ({e}); --unit needs systemd: use --pid or --process instead"
            )));
        }
        Err(super::command::Failure::TimedOut(t)) => {
            return Err(Error::Failed(format!(
                "--unit {name}: {prog} show did not answer within {} s",
                t.as_secs()
            )));
        }
        Err(super::command::Failure::Exit(why)) => {
            return Err(Error::Usage(format!(
                "--unit {name}: {prog} show failed: {}; --unit needs a running systemd: use --pid or --process instead",
                why.trim_end_matches('.')
            )));
        }
    };
    let mut u = parse_show(name, out.as_bytes());
    if let Some(f) = &u.fragment_path {
        let files: Vec<String> = std::iter::once(f.clone())
            .chain(u.drop_in_paths.iter().cloned())
            .collect();
        u.sets_limit_nofile = sets_limit_nofile(&files);
    }
    match (u.main_pid, u.active_state.as_deref()) {
        (_, Some("not-found")) => Err(Error::Usage(format!(
            "--unit {name}: no such unit (systemctl list-units --type=service lists them)"
        ))),
        (Some(_), _) => Ok(u),
        (None, state) => Err(Error::Failed(format!(
            "--unit {name}: the unit has no main process (ActiveState={}): start it, or name a process with --pid",
            state.unwrap_or("unknown")
        ))),
    }
}

/// Where the running process and its unit disagree (the unit was edited and not restarted,
/// or the program changed its own limit), as notes for the report.
pub fn notes(u: &Unit, nofile: &Limit) -> Vec<String> {
    // systemd's own word for no limit.
    let sd = |r: Rlim| match r {
        Rlim::Unlimited => "infinity".to_string(),
        Rlim::Value(v) => v.to_string(),
    };
    let mut notes = vec![format!(
        "{n} sets LimitNOFILE={}, TasksMax={}, MemoryMax={}; change them with `systemctl edit {n}` ([Service] LimitNOFILE=N), then `systemctl restart {n}`",
        u.limit_nofile
            .map(|l| format!("{}:{}", sd(l.soft), sd(l.hard)))
            .unwrap_or_else(|| "?".into()),
        u.tasks_max.map(sd).unwrap_or_else(|| "?".into()),
        u.memory_max.map(sd).unwrap_or_else(|| "?".into()),
        n = u.name
    )];
    if let Some(l) = &u.limit_nofile {
        if l != nofile {
            notes.push(format!(
                "{} sets LimitNOFILE={}:{} but its main process runs with {}:{}: the unit was changed without a restart (`systemctl restart {}`), or the program set its own limit",
                u.name, l.soft, l.hard, nofile.soft, nofile.hard, u.name
            ));
        }
    }
    notes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(normalise_name("nginx").unwrap(), "nginx.service");
        assert_eq!(normalise_name("a@b.service").unwrap(), "a@b.service");
        assert!(normalise_name("x; rm -rf /").is_err());
        assert!(normalise_name("--all").is_err());
        assert!(normalise_name("").is_err());
    }

    #[test]
    fn parses_bytes_with_infinity_and_garbage() {
        let out = b"Id=nginx.service\nMainPID=4242\nLimitNOFILE=524288\nLimitNOFILESoft=1024\nTasksMax=infinity\nMemoryMax=1073741824\n\xff\xfe=junk\nControlGroup=/system.slice/nginx.service\nnoequals\n";
        let u = parse_show("x.service", out);
        assert_eq!(u.name, "nginx.service");
        assert_eq!(u.main_pid, Some(4242));
        assert_eq!(
            u.limit_nofile,
            Some(Limit {
                soft: Rlim::Value(1024),
                hard: Rlim::Value(524288)
            })
        );
        assert_eq!(u.tasks_max, Some(Rlim::Unlimited));
        assert_eq!(u.memory_max, Some(Rlim::Value(1 << 30)));
        assert_eq!(
            u.control_group.as_deref(),
            Some("/system.slice/nginx.service")
        );
        let stopped = parse_show("y.service", b"MainPID=0\nActiveState=inactive\n");
        assert_eq!(stopped.main_pid, None);
        let u = parse_show("z.service", b"DropInPaths=/a/x.conf /b/y.conf\n");
        assert_eq!(u.drop_in_paths, ["/a/x.conf", "/b/y.conf"]);
    }

    #[test]
    fn limit_nofile_in_unit_files() {
        let d = tempfile::tempdir().unwrap();
        let unit = d.path().join("web.service");
        let dropin = d.path().join("porttune.conf");
        std::fs::write(&unit, "[Service]\nExecStart=/bin/web\n").unwrap();
        std::fs::write(&dropin, "[Service]\nLimitNOFILE=65536\n").unwrap();
        let p = |f: &std::path::Path| f.display().to_string();
        assert_eq!(sets_limit_nofile(&[p(&unit)]), Some(false));
        assert_eq!(sets_limit_nofile(&[p(&unit), p(&dropin)]), Some(true));
        // An empty assignment later resets it.
        let reset = d.path().join("reset.conf");
        std::fs::write(&reset, "[Service]\nLimitNOFILE=\n").unwrap();
        assert_eq!(sets_limit_nofile(&[p(&dropin), p(&reset)]), Some(false));
        assert_eq!(sets_limit_nofile(&[p(&d.path().join("missing"))]), None);
    }
}
