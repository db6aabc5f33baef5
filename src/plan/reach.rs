//! Which of a profile's settings reach the examined process, and when (docs/model.md,
//! "What-if: only what reaches the process").
//!
//! A profile writes to places: a unit's drop-in, systemd's DefaultLimitNOFILE=, limits.d, a
//! running PID, a vm.args, the kernel's sysctls. Each place reaches some processes and not
//! others: limits.d only PAM login sessions, DefaultLimitNOFILE= only services whose unit sets
//! no LimitNOFILE= of its own, a drop-in only its unit, and all of them only after a restart. A
//! start script's `ulimit -n` is reached by none. Hard limits stop at fs.nr_open and, in a
//! container without CAP_SYS_RESOURCE, at the hard limit the container was given. The what-if
//! credits a setting only where it reaches; the others are listed with the reason.

use serde::Serialize;

use crate::profile::{ErlangSection, LimitPair, LimitTarget};
use crate::snapshot::{Limit, Os, Rlim, RuntimeKind, Snapshot};

/// One setting of the profile and whether it reaches the process.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Reach {
    /// The setting, as the profile gives it (`limits.nofile 1048576:1048576`, `+Q 1048576`).
    pub setting: String,
    /// Whether the what-if counts it: false when it does not reach the process, or when that
    /// is not known (`known` false).
    pub reaches: bool,
    /// Whether porttune can tell: false when it cannot see how the process is started (a
    /// `--require` that passes only with the setting is then "cannot tell").
    pub known: bool,
    /// How and when it reaches the process, or why it does not, or what would tell.
    pub how: String,
}

/// Whether a place the profile writes reaches the process: how and when, why not, or why
/// porttune cannot tell.
enum Reached {
    Yes(String),
    No(String),
    Unknown(String),
}

/// How the examined process was started, as far as the snapshot says.
enum Who<'a> {
    /// porttune's own process, or a snapshot of no particular process: what a process started
    /// on this host after the profile gets.
    Host,
    /// A running process.
    Process {
        pid: u32,
        /// The systemd service it runs under (`--unit`, or its cgroup).
        service: Option<&'a str>,
        /// A login session scope (PAM limits were applied at login).
        session: Option<&'a str>,
        cgroup: Option<&'a str>,
        /// Whether its unit sets LimitNOFILE= itself (None: not read).
        unit_sets_nofile: Option<bool>,
    },
}

/// The last component of a cgroup path that `pred` accepts (`nginx.service` of
/// `/system.slice/nginx.service`).
fn cgroup_part(path: &str, pred: impl Fn(&str) -> bool) -> Option<&str> {
    path.split('/').rev().find(|p| pred(p))
}

fn who(snap: &Snapshot) -> Who<'_> {
    let p = &snap.process;
    let Some(pid) = p.pid.filter(|_| !p.is_self) else {
        return Who::Host;
    };
    let cgroup = p.cgroup.path.as_deref();
    let service = p.unit.as_ref().map(|u| u.name.as_str()).or_else(|| {
        cgroup.and_then(|c| cgroup_part(c, |s| s.ends_with(".service") && !s.starts_with("user@")))
    });
    let session =
        cgroup.and_then(|c| cgroup_part(c, |s| s.starts_with("session-") && s.ends_with(".scope")));
    Who::Process {
        pid,
        service,
        session,
        cgroup,
        unit_sets_nofile: p.unit.as_ref().and_then(|u| u.sets_limit_nofile),
    }
}

fn describe(service: Option<&str>, session: Option<&str>, cgroup: Option<&str>) -> String {
    match (service, session, cgroup) {
        (Some(s), _, _) => format!("it runs under {s}"),
        (None, Some(s), _) => format!("it runs in login session {s}"),
        (None, None, Some(c)) => format!(
            "it runs under no systemd service and no login session (cgroup {c}): its limit comes from whatever started it (a start script's `ulimit -n`), which no profile changes"
        ),
        (None, None, None) => "how it was started is not recorded (no cgroup in the snapshot); `porttune check --pid` on the host reads it".to_string(),
    }
}

/// Whether the limit written to `target` reaches the process.
fn limit_reaches(t: &LimitTarget, w: &Who, erlang: bool) -> Reached {
    let restart = if erlang {
        " (erts sizes its fd table at boot)"
    } else {
        ""
    };
    match (t, w) {
        (LimitTarget::Pam, Who::Host) => {
            Reached::Yes("processes started from a new login session (pam_limits reads limits.d at login)".into())
        }
        (LimitTarget::SystemdDefault, Who::Host) => Reached::Yes(
            "services started after `systemctl daemon-reexec` whose unit sets no LimitNOFILE= of its own".into(),
        ),
        (LimitTarget::Launchd, Who::Host) => {
            Reached::Yes("processes launchd starts from now on (restart running ones)".into())
        }
        (LimitTarget::Systemd { unit }, Who::Host) => Reached::No(format!(
            "only {unit} reads its drop-in, not the process examined here; `porttune check --unit {unit} --with …` shows the what-if for it"
        )),
        (LimitTarget::Pid { pid }, Who::Host) => Reached::No(format!(
            "pid:{pid} changes that process only, not the one examined here"
        )),
        (LimitTarget::Pid { pid: n }, Who::Process { pid, .. }) => {
            if n == pid {
                Reached::Yes(format!("now, with prlimit on PID {pid}{}", if erlang { "; its fd table stays as erts sized it at boot" } else { "" }))
            } else {
                Reached::No(format!("pid:{n} is another process than PID {pid}"))
            }
        }
        (LimitTarget::Systemd { .. } | LimitTarget::SystemdDefault | LimitTarget::Pam, Who::Process { pid, service: None, session: None, cgroup: None, .. }) => Reached::Unknown(format!(
            "not known to reach PID {pid}: {}", describe(None, None, None)
        )),
        (LimitTarget::Systemd { unit }, Who::Process { pid, service, session, cgroup, .. }) => {
            if *service == Some(unit.as_str()) {
                Reached::Yes(format!("{unit} via its drop-in, after `systemctl daemon-reload && systemctl restart {unit}`{restart}"))
            } else {
                Reached::No(format!("does not reach PID {pid}: {}", describe(*service, *session, *cgroup)))
            }
        }
        (LimitTarget::SystemdDefault, Who::Process { pid, service, session, cgroup, unit_sets_nofile }) => match (service, unit_sets_nofile) {
            (Some(s), Some(false)) => Reached::Yes(format!("{s} (its unit sets no LimitNOFILE=), after `systemctl daemon-reexec` and a restart of {s}{restart}")),
            (Some(s), Some(true)) => Reached::No(format!("does not reach PID {pid}: {s} sets its own LimitNOFILE=, which overrides DefaultLimitNOFILE=")),
            (Some(s), None) => Reached::Unknown(format!("not known to reach PID {pid}: whether {s} sets its own LimitNOFILE= (which would override DefaultLimitNOFILE=) was not read; `systemctl cat {s}` shows it, `check --unit {s}` reads it")),
            (None, _) => Reached::No(format!("does not reach PID {pid}: DefaultLimitNOFILE= applies to systemd services only, and {}", describe(None, *session, *cgroup))),
        },
        (LimitTarget::Pam, Who::Process { pid, service, session, cgroup, .. }) => match (service, session) {
            (None, Some(s)) => Reached::Yes(format!("PID {pid} once restarted from a new login session (it runs in {s}; pam_limits applies at login){restart}")),
            (Some(s), _) => Reached::No(format!("does not reach PID {pid}: it runs under {s}, and limits.d applies to PAM login sessions only, not to systemd services")),
            (None, None) => Reached::No(format!("does not reach PID {pid}: limits.d applies to PAM login sessions, and {}", describe(None, None, *cgroup))),
        },
        (LimitTarget::Launchd, Who::Process { pid, .. }) => Reached::Unknown(format!(
            "not known to reach PID {pid}: `launchctl limit maxfiles` reaches what launchd starts after it (a LaunchDaemon or LaunchAgent without SoftResourceLimits of its own, a new login session), not a process started from a shell with its own `ulimit -n`, and porttune cannot see how PID {pid} is started; restart it under launchd, then check it again{restart}"
        )),
    }
}

/// The hard limit a reaching setting can really give: at most fs.nr_open (after the profile),
/// and in a container without CAP_SYS_RESOURCE at most the hard limit the process has now.
fn cap(snap_after: &Snapshot, before: &Snapshot, want: Limit) -> (Limit, Vec<String>) {
    let mut notes = Vec::new();
    let mut hard = want.hard;
    let mut soft = want.soft;
    if snap_after.platform.os != Os::Macos {
        match snap_after.fs.nr_open {
            Some(nr) if hard > Rlim::Value(nr) => {
                notes.push(format!(
                    "the hard limit {hard} is capped at fs.nr_open {nr} (the kernel refuses more: EPERM)"
                ));
                hard = Rlim::Value(nr);
            }
            // Not read: the model holds it to the kernel's default and says what a higher
            // fs.nr_open would give (a conditional rung).
            None if hard > Rlim::Value(1 << 20) => notes.push(format!(
                "fs.nr_open was not read: above it the kernel refuses the hard limit {hard} (EPERM); its default is 1048576, systemd ≥ 240 sets 1073741816; read it: `cat /proc/sys/fs/nr_open`"
            )),
            _ => {}
        }
        let locked = before.platform.container.is_some() && !before.process.caps.sys_resource;
        let now = before.process.nofile.hard;
        if locked && hard > now {
            notes.push(format!(
                "the hard limit {hard} is capped at {now}: this container has no CAP_SYS_RESOURCE, so nothing in it can raise a hard limit (set it where the container is started: `--ulimit nofile=N:N`)"
            ));
            hard = now;
        }
    }
    if soft > hard {
        soft = hard;
    }
    (Limit { soft, hard }, notes)
}

/// What the profile's rlimit `what` becomes for the process: the reach of each target, and
/// the limit credited (None: no target reaches it). `credit_unknown`: count a target whose
/// reach porttune cannot tell as reaching (the optimistic what-if of "cannot tell").
pub(super) fn limit(
    what: &str,
    pair: LimitPair,
    targets: &[LimitTarget],
    (before, after): (&Snapshot, &Snapshot),
    credit_unknown: bool,
    out: &mut Vec<Reach>,
) -> Option<Limit> {
    let w = who(before);
    let erlang = before.runtime.kind == RuntimeKind::Erlang;
    let mut credited = None;
    for t in targets {
        let setting = format!("limits.{what} {}:{} → {t}", pair.soft, pair.hard);
        let res = match limit_reaches(t, &w, erlang) {
            Reached::Unknown(how) if credit_unknown => Reached::Yes(how),
            r => r,
        };
        match res {
            Reached::Yes(how) => {
                let (l, notes) = if what == "nofile" {
                    cap(after, before, pair.into())
                } else {
                    (pair.into(), Vec::new())
                };
                let how = if notes.is_empty() {
                    format!("reaches {how}")
                } else {
                    format!("reaches {how}; {}", notes.join("; "))
                };
                out.push(Reach {
                    setting,
                    reaches: true,
                    known: true,
                    how,
                });
                credited.get_or_insert(l);
            }
            Reached::No(why) => out.push(Reach {
                setting,
                reaches: false,
                known: true,
                how: why,
            }),
            Reached::Unknown(why) => out.push(Reach {
                setting,
                reaches: false,
                known: false,
                how: why,
            }),
        }
    }
    credited
}

/// Whether the profile's +Q/+P reach the node: only where the profile has somewhere to write
/// them (a vm.args, or the unit's ERL_FLAGS) that the node reads. A running node's vm.args is
/// not seen (erlexec splices the file's flags into beam's command line and drops
/// `-args_file`): whether it reads the profile's is not known. `credit_unknown` as in [`limit`].
pub(super) fn erlang_flags(
    e: &ErlangSection,
    before: &Snapshot,
    credit_unknown: bool,
    out: &mut Vec<Reach>,
) -> bool {
    let mut flags = Vec::new();
    if let Some(q) = e.max_ports {
        flags.push(format!("+Q {q}"));
    }
    if let Some(p) = e.max_processes {
        flags.push(format!("+P {p}"));
    }
    if flags.is_empty() {
        return false;
    }
    let setting = format!("runtime.erlang {}", flags.join(" "));
    let w = who(before);
    let res = match (&e.vm_args, &e.unit, &w) {
        (None, None, _) => Reached::No(
            "nowhere to write them: the profile names no `vm_args` and no `unit`, so no node reads them"
                .into(),
        ),
        (_, Some(u), Who::Process { service, .. }) if *service == Some(u.as_str()) => Reached::Yes(format!(
            "{u} via ERL_FLAGS in its drop-in, after `systemctl daemon-reload && systemctl restart {u}`"
        )),
        (Some(v), _, Who::Process { pid, .. }) => Reached::Unknown(format!(
            "not known to reach PID {pid}: only a node started with {v} reads it, after a restart, and porttune does not see which vm.args a running node read (erlexec puts the file's flags on beam's command line, not its name); check the node's start script or release"
        )),
        (None, Some(u), Who::Process { pid, service, session, cgroup, .. }) => Reached::No(format!(
            "only {u} gets ERL_FLAGS, and PID {pid} is not it: {}",
            describe(*service, *session, *cgroup)
        )),
        (Some(v), _, Who::Host) => Reached::Yes(format!("a node started with {v}")),
        (None, Some(u), Who::Host) => Reached::Yes(format!("a node started as {u}")),
    };
    let (reaches, known, how) = match res {
        Reached::Yes(h) => (true, true, format!("reaches {h}")),
        Reached::Unknown(h) => (credit_unknown, false, h),
        Reached::No(h) => (false, true, h),
    };
    out.push(Reach {
        setting,
        reaches,
        known,
        how,
    });
    reaches
}

/// A sysctl: host-wide ones reach every process; per-namespace ones the processes of the
/// network namespace porttune writes in.
pub(super) fn sysctl(key: &str, value: &str, out: &mut Vec<Reach>) {
    let how = if crate::model::knobs::is_per_netns(key) {
        "reaches the processes of the network namespace it is written in, at once"
    } else {
        "reaches every process on the host, at once"
    };
    out.push(Reach {
        setting: format!("{key} = {value}"),
        reaches: true,
        known: true,
        how: how.into(),
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn process(cgroup: &str) -> Snapshot {
        let mut s = Snapshot::default();
        s.process.pid = Some(4321);
        s.process.cgroup.path = Some(cgroup.into());
        s.fs.nr_open = Some(1 << 20);
        s
    }

    fn pair(n: u64) -> LimitPair {
        LimitPair {
            soft: Rlim::Value(n),
            hard: Rlim::Value(n),
        }
    }

    #[test]
    fn each_target_reaches_what_it_writes_for() {
        let svc = process("/system.slice/web.service");
        let mut out = Vec::new();
        let t = [LimitTarget::Pam, LimitTarget::SystemdDefault];
        assert_eq!(
            limit("nofile", pair(65536), &t, (&svc, &svc), false, &mut out),
            None
        );
        assert!(out[0].how.contains("PAM login sessions only"), "{out:?}");
        assert!(out[1].how.contains("was not read"), "{out:?}");
        assert!(out[0].known && !out[1].known, "{out:?}");
        // Counted only by the optimistic what-if.
        let mut opt = Vec::new();
        assert!(limit("nofile", pair(65536), &t, (&svc, &svc), true, &mut opt).is_some());
        let mut own = svc.clone();
        own.process.unit = Some(crate::snapshot::unit::Unit {
            name: "web.service".into(),
            sets_limit_nofile: Some(false),
            ..Default::default()
        });
        let mut out = Vec::new();
        assert!(limit("nofile", pair(65536), &t, (&own, &own), false, &mut out).is_some());
        own.process.unit.as_mut().unwrap().sets_limit_nofile = Some(true);
        let mut out = Vec::new();
        assert_eq!(
            limit("nofile", pair(65536), &t, (&own, &own), false, &mut out),
            None
        );
        assert!(
            out[1].how.contains("overrides DefaultLimitNOFILE="),
            "{out:?}"
        );
        let other = [LimitTarget::Systemd {
            unit: "other.service".into(),
        }];
        let mut out = Vec::new();
        assert_eq!(
            limit("nofile", pair(65536), &other, (&svc, &svc), false, &mut out),
            None
        );
        let mine = [LimitTarget::Systemd {
            unit: "web.service".into(),
        }];
        assert!(limit("nofile", pair(65536), &mine, (&svc, &svc), false, &mut out).is_some());
        let script = process("/");
        let mut out = Vec::new();
        assert_eq!(
            limit(
                "nofile",
                pair(65536),
                &t,
                (&script, &script),
                false,
                &mut out
            ),
            None
        );
        assert!(out[0].how.contains("`ulimit -n`"), "{out:?}");
        let login = process("/user.slice/user-0.slice/session-3.scope");
        let mut out = Vec::new();
        assert!(limit("nofile", pair(65536), &t, (&login, &login), false, &mut out).is_some());
    }

    #[test]
    fn hard_limits_stop_at_nr_open_and_a_locked_container() {
        let mut s = process("/system.slice/web.service");
        let mine = [LimitTarget::Systemd {
            unit: "web.service".into(),
        }];
        let mut out = Vec::new();
        let l = limit("nofile", pair(2_000_000), &mine, (&s, &s), false, &mut out).unwrap();
        assert_eq!(l.hard, Rlim::Value(1 << 20));
        assert!(out[0].how.contains("fs.nr_open"), "{out:?}");
        s.platform.container = Some("docker".into());
        s.process.nofile = Limit {
            soft: Rlim::Value(1024),
            hard: Rlim::Value(20000),
        };
        let mut out = Vec::new();
        let l = limit("nofile", pair(1 << 20), &mine, (&s, &s), false, &mut out).unwrap();
        assert_eq!((l.soft, l.hard), (Rlim::Value(20000), Rlim::Value(20000)));
        assert!(out[0].how.contains("CAP_SYS_RESOURCE"), "{out:?}");
    }

    #[test]
    fn erlang_flags_need_somewhere_to_be_written() {
        let mut s = process("/system.slice/node.service");
        s.runtime.kind = RuntimeKind::Erlang;
        let mut e = ErlangSection {
            max_ports: Some(1 << 20),
            ..Default::default()
        };
        let mut out = Vec::new();
        assert!(!erlang_flags(&e, &s, false, &mut out));
        assert!(out[0].how.contains("nowhere to write"), "{out:?}");
        e.unit = Some("other.service".into());
        assert!(!erlang_flags(&e, &s, false, &mut out));
        e.unit = Some("node.service".into());
        assert!(erlang_flags(&e, &s, false, &mut out));
        // A vm.args: a running node's is not seen, so its reach is not known.
        e.unit = None;
        e.vm_args = Some("/etc/node/vm.args".into());
        let mut out = Vec::new();
        assert!(!erlang_flags(&e, &s, false, &mut out));
        assert!(!out[0].known && out[0].how.contains("not known"), "{out:?}");
        assert!(erlang_flags(&e, &s, true, &mut out));
    }

    #[test]
    fn launchctl_limit_is_not_known_to_reach_a_running_mac_process() {
        let mut s = process("/");
        s.platform.os = Os::Macos;
        s.process.cgroup.path = None;
        let mut out = Vec::new();
        let t = [LimitTarget::Launchd];
        assert_eq!(
            limit("nofile", pair(65536), &t, (&s, &s), false, &mut out),
            None
        );
        assert!(
            !out[0].known && out[0].how.contains("`ulimit -n`"),
            "{out:?}"
        );
        // porttune's own shell: a process launchd starts from now on gets it.
        s.process.is_self = true;
        let mut out = Vec::new();
        assert!(limit("nofile", pair(65536), &t, (&s, &s), false, &mut out).is_some());
        assert!(out[0].known, "{out:?}");
    }
}
