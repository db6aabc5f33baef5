//! The one writer of standard output. A write error never panics: the first one is kept,
//! later writes are dropped, and `main` turns it into the exit status (EPIPE: the reader
//! went away, quiet; anything else, e.g. ENOSPC on /dev/full: a message and exit 3).

use std::io::Write;
use std::sync::Mutex;

static FAILED: Mutex<Option<std::io::Error>> = Mutex::new(None);

fn failed() -> bool {
    FAILED.lock().map(|g| g.is_some()).unwrap_or(true)
}

fn keep(e: std::io::Error) {
    if let Ok(mut g) = FAILED.lock()
        && g.is_none()
    {
        *g = Some(e);
    }
}

/// Write bytes to standard output (dropped after the first error).
pub fn write_bytes(b: &[u8]) {
    if failed() {
        return;
    }
    let mut o = std::io::stdout().lock();
    if let Err(e) = o.write_all(b) {
        keep(e);
    }
}

/// Whether colour codes are being written (porttune's own, from the colour library).
fn colour() -> bool {
    colored::control::SHOULD_COLORIZE.should_colorize()
}

/// Write formatted text to standard output (the `out!`/`outln!` macros): terminal-safe, any
/// control character but newline, tab and porttune's own colours shown escaped
/// ([`crate::text::sanitize_output`]).
pub fn write_fmt(args: std::fmt::Arguments<'_>) {
    let owned;
    let s = match args.as_str() {
        Some(s) => s,
        None => {
            owned = args.to_string();
            &owned
        }
    };
    write_bytes(crate::text::sanitize_output(s, colour()).as_bytes());
}

/// Write formatted text to standard error, terminal-safe like [`write_fmt`]; errors there
/// are ignored (nowhere to report).
pub fn ewrite_fmt(args: std::fmt::Arguments<'_>) {
    let s = args.to_string();
    let _ = std::io::stderr()
        .lock()
        .write_all(crate::text::sanitize_output(&s, colour()).as_bytes());
}

/// Flush standard output and take the first write error, if any.
pub fn finish() -> Option<std::io::Error> {
    if !failed()
        && let Err(e) = std::io::stdout().lock().flush()
    {
        keep(e);
    }
    FAILED.lock().ok().and_then(|mut g| g.take())
}

/// The exit status after output: EPIPE (the reader closed the pipe, `| head -1`) is quiet
/// and keeps `code`; any other write error is reported and exits 3 (2 stays 2: nothing was
/// done anyway).
pub fn exit_status(code: i32, err: Option<std::io::Error>) -> i32 {
    match err {
        None => code,
        Some(e) if e.kind() == std::io::ErrorKind::BrokenPipe => code,
        Some(e) => {
            ewrite_fmt(format_args!(
                "porttune: error: cannot write to standard output: {e}\n"
            ));
            if code == crate::error::exit::USAGE {
                code
            } else {
                crate::error::exit::INTERNAL
            }
        }
    }
}

/// `print!` that never panics (see [`crate::out`]).
#[macro_export]
macro_rules! out {
    ($($t:tt)*) => { $crate::out::write_fmt(format_args!($($t)*)) };
}

/// `println!` that never panics (see [`crate::out`]).
#[macro_export]
macro_rules! outln {
    () => { $crate::out::write_bytes(b"\n") };
    ($($t:tt)*) => {{
        $crate::out::write_fmt(format_args!($($t)*));
        $crate::out::write_bytes(b"\n");
    }};
}

/// `eprintln!` that never panics (stderr full or closed).
#[macro_export]
macro_rules! errln {
    ($($t:tt)*) => {{
        $crate::out::ewrite_fmt(format_args!($($t)*));
        $crate::out::ewrite_fmt(format_args!("\n"));
    }};
}

/// `eprint!` that never panics.
#[macro_export]
macro_rules! err {
    ($($t:tt)*) => { $crate::out::ewrite_fmt(format_args!($($t)*)) };
}
