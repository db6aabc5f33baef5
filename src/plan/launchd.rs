//! macOS persistence and launchd limits (pure text; the writers are in sysctl.rs and persist).
//!
//! * A LaunchDaemon plist (`/Library/LaunchDaemons/io.porttune.NAME.plist`, root-owned, 0644)
//!   that launchd runs at boot: it sets the maxfiles limit with `launchctl limit maxfiles SOFT
//!   HARD` (cirruslabs/macos-image-templates#176, the usual `limit.maxfiles.plist`) and then
//!   the profile's sysctls with sysctl(8).
//! * No shell runs: every program and every argument is its own `ProgramArguments` string,
//!   which launchd passes to execve(2) as it is, so no value is ever parsed as code.
//! * launchctl goes first: launchd, when its maxfiles limit changes, also writes
//!   `kern.maxfiles` = HARD and `kern.maxfilesperproc` = SOFT (launchd-842 `src/ipc.c`
//!   `adjust_rlimits`; launchd.plist(5) `NumberOfFiles`), so the profile's
//!   own sysctls must be written after it or they are undone. launchd has no ordering between
//!   jobs, so when both are needed one job runs them in order through find(1)'s `-exec`
//!   primaries (each one an execvp(3) of its own argument list, no shell): `find /dev/null
//!   ( -exec launchctl … ; -o -prune ) -exec sysctl -w … ;` — `-prune` is always true, so the
//!   sysctls run whether or not launchctl succeeded.
//! * `launchctl limit maxfiles` prints `maxfiles    256            unlimited`; it takes numbers
//!   only when setting (launchd-842 `support/launchctl.c` `limit_cmd` refuses `unlimited` for
//!   maxfiles), so a profile gives numbers; a rollback restores `unlimited` as RLIM_INFINITY's
//!   number (`apply::sysctl::launchctl_words`).

/// Where the plist goes (before `--root`).
pub fn plist_path(profile: &str) -> String {
    format!("/Library/LaunchDaemons/io.porttune.{profile}.plist")
}

const LAUNCHCTL: &str = "/bin/launchctl";
const SYSCTL: &str = "/usr/sbin/sysctl";
const FIND: &str = "/usr/bin/find";

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A value that can stand as one argument in the plist and in find's `-exec` list: printable
/// (XML 1.0 has no control characters), and without `{}` (which find replaces by a path).
fn check_arg(what: &str, v: &str) -> Result<(), String> {
    if v.chars().any(char::is_control) {
        return Err(format!(
            "{what}: a control character cannot be written to a LaunchDaemon"
        ));
    }
    if v.contains("{}") {
        return Err(format!(
            "{what}: `{{}}` cannot be written to a LaunchDaemon (find(1) would replace it)"
        ));
    }
    Ok(())
}

/// The program launchd runs at boot, one string per argument: `launchctl limit maxfiles SOFT
/// HARD` (numbers only), then `sysctl -w key=value …`.
pub fn program_arguments(
    sysctls: &[(String, String)],
    maxfiles: Option<(&str, &str)>,
) -> Result<Vec<String>, String> {
    for (k, v) in sysctls {
        if k.is_empty()
            || !k
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        {
            return Err(format!("`{}`: not a sysctl name", k.escape_debug()));
        }
        check_arg(k, v)?;
    }
    let launchctl = match maxfiles {
        Some((soft, hard)) => {
            for n in [soft, hard] {
                if n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(format!(
                        "launchd.maxfiles: `{}` is not a number (launchctl takes numbers only)",
                        n.escape_debug()
                    ));
                }
            }
            Some(
                [LAUNCHCTL, "limit", "maxfiles", soft, hard]
                    .map(String::from)
                    .to_vec(),
            )
        }
        None => None,
    };
    let sysctl = (!sysctls.is_empty()).then(|| {
        let mut a = vec![SYSCTL.to_string(), "-w".into()];
        a.extend(sysctls.iter().map(|(k, v)| format!("{k}={v}")));
        a
    });
    Ok(match (launchctl, sysctl) {
        (Some(l), None) => l,
        (None, Some(s)) => s,
        (None, None) => vec![],
        (Some(l), Some(s)) => {
            let mut a: Vec<String> = [FIND, "/dev/null", "(", "-exec"].map(String::from).to_vec();
            a.extend(l);
            a.extend([";", "-o", "-prune", ")", "-exec"].map(String::from));
            a.extend(s);
            a.push(";".into());
            a
        }
    })
}

/// The plist: launchd runs [`program_arguments`] once at load (boot).
pub fn plist(
    profile: &str,
    sysctls: &[(String, String)],
    maxfiles: Option<(&str, &str)>,
) -> Result<String, String> {
    let args = program_arguments(sysctls, maxfiles)?;
    let label = xml_escape(&format!("io.porttune.{profile}"));
    let mut array = String::new();
    for a in &args {
        array.push_str(&format!("    <string>{}</string>\n", xml_escape(a)));
    }
    let how = if args.first().map(String::as_str) == Some(FIND) {
        "\n     find(1) runs each -exec in order, without a shell: launchctl first (launchd also\n     writes kern.maxfiles and kern.maxfilesperproc from its limits), then sysctl."
    } else {
        ""
    };
    Ok(format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<!-- Written by porttune from profile {label_name}; `porttune rollback` removes it.{how} -->
<plist version="1.0">
<dict>
  <key>Label</key>
  <string>{label}</string>
  <key>ProgramArguments</key>
  <array>
{array}  </array>
  <key>RunAtLoad</key>
  <true/>
</dict>
</plist>
"#,
        // `--` cannot appear inside an XML comment.
        label_name = xml_escape(profile).replace("--", "-\u{2010}"),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kv(k: &str, v: &str) -> (String, String) {
        (k.into(), v.into())
    }

    #[test]
    fn launchctl_runs_first_then_sysctl_each_argument_its_own_string() {
        let p = plist(
            "macos-dev",
            &[
                kv("kern.maxfiles", "524288"),
                kv("kern.ipc.somaxconn", "1024"),
            ],
            Some(("262144", "262144")),
        )
        .unwrap();
        assert!(p.contains("<string>io.porttune.macos-dev</string>"));
        let args: Vec<&str> = p
            .lines()
            .filter_map(|l| l.trim().strip_prefix("<string>"))
            .filter_map(|l| l.strip_suffix("</string>"))
            .skip(1)
            .collect();
        assert_eq!(
            args,
            [
                "/usr/bin/find",
                "/dev/null",
                "(",
                "-exec",
                "/bin/launchctl",
                "limit",
                "maxfiles",
                "262144",
                "262144",
                ";",
                "-o",
                "-prune",
                ")",
                "-exec",
                "/usr/sbin/sysctl",
                "-w",
                "kern.maxfiles=524288",
                "kern.ipc.somaxconn=1024",
                ";"
            ]
        );
        assert!(p.contains("<key>RunAtLoad</key>\n  <true/>"));
        assert_eq!(
            plist_path("x"),
            "/Library/LaunchDaemons/io.porttune.x.plist"
        );
    }

    #[test]
    fn one_program_needs_no_sequencer() {
        assert_eq!(
            program_arguments(&[kv("kern.ipc.somaxconn", "1024")], None).unwrap(),
            ["/usr/sbin/sysctl", "-w", "kern.ipc.somaxconn=1024"]
        );
        assert_eq!(
            program_arguments(&[], Some(("4096", "8192"))).unwrap(),
            ["/bin/launchctl", "limit", "maxfiles", "4096", "8192"]
        );
    }

    #[test]
    fn values_that_cannot_be_one_argument_are_refused() {
        for (k, v) in [
            ("kern.hostname", "a{}b"),
            ("kern.hostname", "a\nb"),
            ("kern.hostname", "a\u{1b}[31m"),
            ("kern.host name", "x"),
            ("", "x"),
        ] {
            assert!(program_arguments(&[kv(k, v)], None).is_err(), "{k:?}={v:?}");
        }
        for m in [("unlimited", "1"), ("1", "2;x"), ("", "1")] {
            assert!(program_arguments(&[], Some(m)).is_err(), "{m:?}");
        }
        // A shell metacharacter is only a character: one argument, escaped for XML.
        let p = plist("p", &[kv("kern.hostname", "x;touch </tmp/pwned>")], None).unwrap();
        assert!(p.contains("<string>kern.hostname=x;touch &lt;/tmp/pwned&gt;</string>"));
        assert!(!p.contains("/bin/sh"));
    }
}
