//! `porttune man`: one man page per subcommand (clap_mangen), each with the options and the
//! EXIT STATUS, ENVIRONMENT, FILES and SEE ALSO sections the generated part lacks.

use std::path::Path;

use clap::CommandFactory;
use clap_mangen::roff::{Roff, bold, roman};

use crate::cli::{Cli, ManArgs};
use crate::error::{Error, Result, exit};

/// Exit status lines shared by every command, then per command.
fn exit_status(name: &str) -> Vec<(&'static str, &'static str)> {
    let mut v = vec![
        (
            "0",
            "all good: checks passed, applied or nothing to do, the flood matched",
        ),
        (
            "1",
            "ran, and the answer is no (a check failed, below --require, a change failed and was rolled back, apply --check found changes, apply --verify measured fewer: the changes stay applied unless --rollback-on-fail, the flood differs or is incomplete, doctor: something apply needs is missing)",
        ),
        ("2", "bad usage or bad input: nothing was changed"),
        ("3", "internal error (a bug, or the host could not be read)"),
    ];
    if matches!(name, "flood" | "apply" | "porttune") {
        v.push((
            "130",
            "interrupted by SIGINT (Ctrl-C): everything opened or changed was closed or restored",
        ));
    }
    v
}

fn environment(name: &str) -> Vec<(&'static str, &'static str)> {
    let mut v = vec![
        (
            "NO_COLOR",
            "set and not empty: no colour, even on a terminal (https://no-color.org)",
        ),
        (
            "CLICOLOR_FORCE",
            "set and not 0: colour even when standard output is not a terminal",
        ),
    ];
    if matches!(name, "apply" | "rollback" | "status" | "porttune") {
        v.push((
            "PORTTUNE_STATE_DIR",
            "the journal directory (default /var/lib/porttune; /var/db/porttune on macOS), as --state-dir",
        ));
    }
    if matches!(name, "plan" | "apply" | "porttune") {
        v.push((
            "PORTTUNE_SYSCTL_ROOT",
            "where sysctls are read and written (default /proc/sys), as --sysctl-root",
        ));
    }
    if matches!(name, "check" | "porttune") {
        v.push((
            "PORTTUNE_SYSTEMCTL",
            "the program --unit runs instead of systemctl (tests)",
        ));
    }
    v
}

fn files(name: &str) -> Vec<(&'static str, &'static str)> {
    let mut v = vec![];
    if matches!(
        name,
        "check" | "explain" | "flood" | "doctor" | "plan" | "porttune"
    ) {
        v.push((
            "/proc, /proc/sys, /sys/fs/cgroup",
            "read: limits, sysctls, sockets, cgroup limits",
        ));
    }
    if matches!(name, "apply" | "rollback" | "status" | "porttune") {
        v.push((
            "/var/lib/porttune/journal/",
            "one journal per apply: the old values, for rollback (/var/db/porttune/journal/ on macOS)",
        ));
    }
    if matches!(name, "apply" | "plan" | "rollback" | "porttune") {
        v.push((
            "/etc/sysctl.d/60-porttune-NAME.conf",
            "sysctls persisted by a profile NAME",
        ));
        v.push((
            "/etc/security/limits.d/60-porttune-NAME.conf",
            "RLIMIT_NOFILE for login sessions (pam_limits)",
        ));
        v.push((
            "/etc/systemd/system.conf.d/60-porttune-NAME.conf",
            "DefaultLimitNOFILE= for systemd services",
        ));
        v.push((
            "/etc/systemd/system/UNIT.d/porttune.conf",
            "LimitNOFILE= for one unit",
        ));
    }
    v
}

fn list(roff: &mut Roff, heading: &str, items: &[(&str, &str)]) {
    if items.is_empty() {
        return;
    }
    roff.control("SH", [heading]);
    for (k, v) in items {
        roff.control("TP", []);
        roff.text([bold(*k)]);
        roff.text([roman(*v)]);
    }
}

/// The page for the top-level command (`None`) or one subcommand, and its file name.
pub fn page(sub: Option<&str>) -> Result<(String, Vec<u8>)> {
    let mut root = Cli::command().disable_help_subcommand(true);
    root.build();
    let (cmd, name) = match sub {
        None => (root.clone(), "porttune".to_string()),
        Some(s) => {
            let c = root
                .find_subcommand(s)
                .ok_or_else(|| Error::Usage(format!("man {s}: no such command")))?
                .clone();
            let full = format!("porttune-{s}");
            (
                c.display_name(full.clone())
                    .bin_name(format!("porttune {s}")),
                full,
            )
        }
    };
    let short = sub.unwrap_or("porttune");
    let man = clap_mangen::Man::new(cmd);
    let mut buf = Vec::new();
    man.render(&mut buf)
        .map_err(|e| Error::io("rendering the man page", e))?;
    let mut roff = Roff::default();
    list(&mut roff, "EXIT STATUS", &exit_status(short));
    list(&mut roff, "ENVIRONMENT", &environment(short));
    list(&mut roff, "FILES", &files(short));
    roff.control("SH", ["SEE ALSO"]);
    let others: Vec<String> = root
        .get_subcommands()
        .map(|c| c.get_name())
        .filter(|n| Some(*n) != sub)
        .map(|n| format!("porttune-{n}(1)"))
        .chain(sub.map(|_| "porttune(1)".to_string()))
        .collect();
    roff.text([roman(others.join(", "))]);
    roff.to_writer(&mut buf)
        .map_err(|e| Error::io("rendering the man page", e))?;
    Ok((format!("{name}.1"), buf))
}

pub fn run(a: &ManArgs) -> Result<i32> {
    match &a.dir {
        Some(dir) => write_all(dir),
        None => {
            let (_, buf) = page(a.command.as_deref())?;
            crate::out::write_bytes(&buf);
            Ok(exit::OK)
        }
    }
}

fn write_all(dir: &Path) -> Result<i32> {
    let names: Vec<String> = Cli::command()
        .get_subcommands()
        .map(|c| c.get_name().to_string())
        .collect();
    let mut pages = vec![page(None)?];
    for n in &names {
        pages.push(page(Some(n))?);
    }
    // A missing directory (/usr/local/share/man/man1 on a stock Debian) is created.
    super::create_output_dir(dir, "man page")?;
    for (file, buf) in pages {
        let path = dir.join(&file);
        crate::fsio::write_output(&path, &buf, "the man page")?;
        crate::outln!("{}", path.display());
    }
    Ok(exit::OK)
}
