//! `porttune explain`: read the message(s), match them, and put each limit next to the host's
//! prediction (the same snapshot and model `check` uses).

use std::io::{IsTerminal, Read, Seek, SeekFrom};
use std::path::Path;

use crate::cli::{ExplainArgs, ExplainFormat};
use crate::commands::check;
use crate::error::{Error, Result, exit};
use crate::explain::{self, MAX_INPUT};
use crate::model::{self, checks};
use crate::render::explain as render;

pub fn run(a: &ExplainArgs) -> Result<i32> {
    let reparsed = trailing_options(std::env::args_os().collect())?;
    let a = reparsed.as_ref().unwrap_or(a);
    if a.servers {
        let l = explain::servers::listing();
        let out = match a.format {
            ExplainFormat::Json => crate::render::servers::json(&l),
            ExplainFormat::Text => {
                crate::render::servers::text(&l, crate::render::wrap::terminal_width())
            }
        };
        crate::out!("{out}");
        return Ok(exit::OK);
    }
    let (text, mut cx) = read_input(a)?;
    let recognised = !explain::scan(&text).is_empty();
    let entries = if a.no_host || !recognised {
        explain::explain(&text, None)
    } else {
        match check::snapshot(&a.source) {
            Ok((snap, source)) => {
                let sc = check::scenario(&a.scenario);
                let pred = model::predict(&snap, &sc);
                let found = checks::run(&snap, &pred, &checks::CheckOptions::default());
                let who = if source.contains("PID") {
                    String::new()
                } else if snap.process.is_self {
                    ", porttune's own process (pass --pid for the process that logged the message)"
                        .to_string()
                } else {
                    format!(", PID {}", snap.process.pid.unwrap_or(0))
                };
                cx.host = Some(format!(
                    "{source}{who}, runtime {}, scenario {}",
                    snap.runtime.kind.name(),
                    sc.kind.name()
                ));
                explain::explain(&text, Some((&pred, &found)))
            }
            // The live host is a bonus; a host the user named must be read.
            Err(e) if a.source.pid.is_none() && a.source.from.is_none() => {
                cx.host_note = Some(format!("this host could not be read: {e}"));
                explain::explain(&text, None)
            }
            Err(e) => return Err(e),
        }
    };
    let out = match a.format {
        ExplainFormat::Json => render::json(&cx, &entries),
        ExplainFormat::Text => render::text(&cx, &entries, crate::render::wrap::terminal_width()),
    };
    crate::out!("{out}");
    Ok(if entries.is_empty() {
        exit::USAGE
    } else if entries.iter().any(explain::Entry::binding) {
        exit::FAILED
    } else {
        exit::OK
    })
}

/// Options written after the message (`explain 'Too many open files' --pid 7 --format json`)
/// are options: the message takes hyphen values (`-ERR max number of clients reached`), so
/// clap leaves everything after its first word in the message. Put the known options of
/// `explain` (and their values) before the message, the rest after a `--`, and parse again.
/// None when there is nothing to move.
fn trailing_options(argv: Vec<std::ffi::OsString>) -> Result<Option<ExplainArgs>> {
    use clap::{CommandFactory, Parser};
    let Some(at) = argv.iter().position(|t| t == "explain") else {
        return Ok(None);
    };
    let cmd = crate::cli::Cli::command();
    let Some(sub) = cmd.find_subcommand("explain") else {
        return Ok(None);
    };
    // Each known option: does it take a value?
    let takes = |tok: &str| -> Option<bool> {
        let (name, inline) = tok.split_once('=').map_or((tok, false), |(n, _)| (n, true));
        sub.get_arguments()
            .find(|arg| {
                name.strip_prefix("--")
                    .is_some_and(|l| arg.get_long() == Some(l))
                    || (name.len() == 2
                        && name
                            .strip_prefix('-')
                            .and_then(|c| c.chars().next())
                            .is_some_and(|c| arg.get_short() == Some(c)))
            })
            .map(|arg| arg.get_action().takes_values() && !inline)
    };
    let (mut opts, mut msg, mut moved) = (Vec::new(), Vec::new(), false);
    let mut rest = argv[at + 1..].iter();
    while let Some(t) = rest.next() {
        let s = t.to_string_lossy();
        if s == "--" {
            msg.extend(rest.by_ref().cloned());
            break;
        }
        match takes(&s) {
            Some(value) => {
                moved |= !msg.is_empty();
                opts.push(t.clone());
                if value {
                    opts.extend(rest.next().cloned());
                }
            }
            None => msg.push(t.clone()),
        }
    }
    if !moved {
        return Ok(None);
    }
    let mut args: Vec<std::ffi::OsString> = argv[..=at].to_vec();
    args.extend(opts);
    args.push("--".into());
    args.extend(msg);
    match crate::cli::Cli::try_parse_from(args) {
        Ok(cli) => match cli.command {
            crate::cli::Command::Explain(a) => Ok(Some(*a)),
            _ => Ok(None),
        },
        Err(e) => {
            let msg = e.to_string();
            let msg = msg.trim_end().trim_start_matches("error: ");
            Err(Error::Usage(msg.to_string()))
        }
    }
}

/// The text to explain and what was read.
fn read_input(a: &ExplainArgs) -> Result<(String, render::Context)> {
    let stdin_asked = a.text.len() == 1 && a.text[0] == "-";
    let (bytes, input, truncated) = if let Some(path) = &a.file {
        let (b, t) = read_tail(path)?;
        (b, path.display().to_string(), t)
    } else if stdin_asked || (a.text.is_empty() && !std::io::stdin().is_terminal()) {
        let mut b = Vec::new();
        std::io::stdin()
            .lock()
            .take(MAX_INPUT as u64 + 1)
            .read_to_end(&mut b)
            .map_err(|e| Error::io("reading standard input", e))?;
        let t = (b.len() > MAX_INPUT).then(|| {
            b.truncate(MAX_INPUT);
            format!(
                "read the first {} MiB of standard input; give a log with --file to read its last {} MiB",
                MAX_INPUT >> 20,
                MAX_INPUT >> 20
            )
        });
        (b, "standard input".to_string(), t)
    } else if a.text.is_empty() {
        return Err(Error::Usage(
            "give the message as TEXT (quoted), a log with --file LOG, or `-` to read standard input".into(),
        ));
    } else {
        let mut b = a.text.join(" ").into_bytes();
        let t = (b.len() > MAX_INPUT).then(|| {
            b.truncate(MAX_INPUT);
            format!("read the first {} MiB of the text", MAX_INPUT >> 20)
        });
        (b, "the text given".to_string(), t)
    };
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let cx = render::Context {
        input,
        bytes: bytes.len(),
        lines: text.lines().count(),
        truncated,
        host: None,
        host_note: None,
    };
    Ok((text, cx))
}

/// The whole file, or its last MAX_INPUT bytes from the first full line (logs grow at the end).
fn read_tail(path: &Path) -> Result<(Vec<u8>, Option<String>)> {
    let bad = |e: std::io::Error| Error::input(path, format!("cannot read: {e}"));
    let mut opts = std::fs::OpenOptions::new();
    opts.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        // A FIFO without a writer is refused below instead of blocking the open.
        opts.custom_flags(nix::libc::O_NONBLOCK | nix::libc::O_NOCTTY);
    }
    let mut f = opts.open(path).map_err(bad)?;
    let meta = f.metadata().map_err(bad)?;
    if !meta.is_file() {
        return Err(Error::input(
            path,
            "not a regular file; give a log file, or `-` and pipe it to standard input",
        ));
    }
    let len = meta.len();
    let mut truncated = None;
    if len > MAX_INPUT as u64 {
        f.seek(SeekFrom::Start(len - MAX_INPUT as u64))
            .map_err(bad)?;
        truncated = Some(format!(
            "read the last {} MiB of {} ({len} bytes)",
            MAX_INPUT >> 20,
            path.display()
        ));
    }
    let mut b = Vec::new();
    f.take(MAX_INPUT as u64).read_to_end(&mut b).map_err(bad)?;
    if truncated.is_some() {
        // Drop the partial first line.
        let start = b.iter().position(|&c| c == b'\n').map_or(0, |i| i + 1);
        b.drain(..start);
    }
    Ok((b, truncated))
}
