//! Errors and the exit codes they map to (docs/exit-codes.md).

use std::path::PathBuf;

/// Exit codes shared by every command.
pub mod exit {
    /// Everything passed (check), nothing needed or all applied (apply), prediction matched (flood).
    pub const OK: i32 = 0;
    /// A check failed, the prediction is below `--require`, a flood differs, an apply failed.
    pub const FAILED: i32 = 1;
    /// Bad usage or bad input: nothing was changed.
    pub const USAGE: i32 = 2;
    /// Internal error (a bug, or the host could not be read).
    pub const INTERNAL: i32 = 3;
    /// `check --require`: cannot tell: the verdict depends on a value porttune assumed (it would
    /// flip within the value's plausible range); `--allow-assumed` accepts the assumption.
    pub const CANNOT_TELL: i32 = 4;
    /// Interrupted by SIGINT/SIGTERM (128 + SIGINT, the shell's convention for Ctrl-C): apply
    /// after restoring what it had changed, flood after closing everything it opened.
    pub const INTERRUPTED: i32 = 130;
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Bad command-line usage (exit 2).
    #[error("{0}")]
    Usage(String),
    /// Bad input file: names the file and, where known, line, column and key (exit 2).
    #[error("{path}{loc}: {msg}", path = path.display(), loc = fmt_loc(*line, *column))]
    Input {
        path: PathBuf,
        line: Option<usize>,
        column: Option<usize>,
        msg: String,
    },
    /// A check or an action failed in an expected way (exit 1).
    #[error("{0}")]
    Failed(String),
    /// Stopped by SIGINT after cleaning up (exit 130).
    #[error("{0}")]
    Interrupted(String),
    /// Anything else (exit 3).
    #[error("{0}")]
    Internal(String),
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
}

fn fmt_loc(line: Option<usize>, column: Option<usize>) -> String {
    match (line, column) {
        (Some(l), Some(c)) => format!(":{l}:{c}"),
        (Some(l), None) => format!(":{l}"),
        _ => String::new(),
    }
}

impl Error {
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Usage(_) | Error::Input { .. } => exit::USAGE,
            Error::Failed(_) => exit::FAILED,
            Error::Interrupted(_) => exit::INTERRUPTED,
            Error::Internal(_) | Error::Io { .. } => exit::INTERNAL,
        }
    }

    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Error::Io {
            context: context.into(),
            source,
        }
    }

    pub fn input(path: impl Into<PathBuf>, msg: impl Into<String>) -> Self {
        Error::Input {
            path: path.into(),
            line: None,
            column: None,
            msg: msg.into(),
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
