//! Errors of the command-line tool and the exit codes they map to.

use std::io;
use std::path::Path;

/// Exit code: success.
pub const OK: u8 = 0;
/// Exit code: the key or the table does not exist.
pub const NOT_FOUND: u8 = 1;
/// Exit code: invalid arguments (clap also exits with 2 on a bad command line).
pub const USAGE: u8 = 2;
/// Exit code: a file could not be opened, read or written.
pub const IO: u8 = 3;
/// Exit code: the database stayed busy (its write lock held by another process, or readers a checkpoint needs) past `--timeout`.
pub const BUSY: u8 = 4;
/// Exit code: the database or the WAL failed a check.
pub const DAMAGED: u8 = 5;
/// Exit code: malformed input data, or data the output format cannot hold.
pub const DATA: u8 = 6;

/// The exit-code table printed by `walden --help` (and copied in the README).
pub const EXIT_CODES_HELP: &str = "\
Exit codes:
  0  success
  1  not found: the key (get, del) or the table does not exist
  2  usage: invalid command line or argument (bad hex, key too long, unknown CSV column)
  3  I/O: a file could not be opened, read or written (missing database, permissions,
     disk full), or the database cannot take the write (read-only, WAL full)
  4  busy: another process held the write lock (or readers a checkpoint needs) past --timeout (default 5 s)
  5  damaged: the database or WAL failed a check (verify found problems, a page or
     header checksum failed, waldump stopped at an invalid frame)
  6  data: the input file is malformed, or data cannot be written in the chosen format

Errors go to stderr as one line, `walden: error: <file>: <cause>`; results go to stdout.";

/// An error that ends the command: a message naming the file and the cause,
/// and the exit code.
#[derive(Debug, thiserror::Error)]
#[error("{msg}")]
pub struct CliError {
    /// Exit code (one of the constants of this module).
    pub code: u8,
    /// One-line message.
    pub msg: String,
    /// Stdout was closed by the reader (`walden scan db | head`): exit
    /// quietly with success.
    pub broken_pipe: bool,
    /// Already reported (the shell reports each command's error): exit
    /// with `code` and print nothing.
    pub reported: bool,
}

/// Shorthand for the commands' results.
pub type Result<T> = std::result::Result<T, CliError>;

impl CliError {
    /// An error with `code` and `msg`.
    pub fn new(code: u8, msg: impl Into<String>) -> CliError {
        CliError {
            code,
            msg: msg.into(),
            broken_pipe: false,
            reported: false,
        }
    }

    /// An exit with `code` whose cause was already reported.
    pub fn quiet(code: u8) -> CliError {
        CliError {
            reported: true,
            ..CliError::new(code, "")
        }
    }

    /// An I/O error on `path` (the message names it unless it already does).
    pub fn io(path: &Path, e: io::Error) -> CliError {
        let broken_pipe = e.kind() == io::ErrorKind::BrokenPipe;
        CliError {
            broken_pipe,
            ..CliError::new(IO, with_path(path, &e.to_string()))
        }
    }

    /// An error writing the command's output.
    pub fn output(e: io::Error) -> CliError {
        CliError::io(Path::new("<stdout>"), e)
    }

    /// An error of the database at `path`, with the exit code its kind maps to.
    pub fn db(path: &Path, e: walden::Error) -> CliError {
        use walden::Error as E;
        let code = match &e {
            E::Busy(_) | E::Protocol => BUSY,
            E::Corrupt { .. } | E::UnsupportedVersion { .. } => DAMAGED,
            E::InvalidArgument(_) | E::KeyTooLong { .. } => USAGE,
            E::NotFound { .. } => NOT_FOUND,
            _ => IO,
        };
        let broken_pipe = matches!(&e, E::Io(io) if io.kind() == io::ErrorKind::BrokenPipe);
        let mut msg = with_path(path, &e.to_string());
        if let E::Busy(_) = e {
            msg.push_str("; --timeout SECONDS waits longer");
        }
        CliError {
            broken_pipe,
            ..CliError::new(code, msg)
        }
    }
}

/// `msg`, prefixed with `path` unless it already names it.
pub fn with_path(path: &Path, msg: &str) -> String {
    let p = path.display().to_string();
    if msg.contains(&p) {
        msg.to_string()
    } else {
        format!("{p}: {msg}")
    }
}
