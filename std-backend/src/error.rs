//! The std backend's error: the core's variants, with file paths.

use std::io;
use std::path::PathBuf;

use walden_core::FileKind;

/// An error of a Walden database opened through the std backend. Each
/// variant mirrors [`walden_core::Error`], with the path of the file
/// concerned where there is one.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A lock was held by another connection (in this or another process)
    /// for longer than the busy timeout: the write lock, the read marks a
    /// checkpoint needs, the `-shm` while another process recovers the
    /// database, or the database file in the exclusive locking mode. The
    /// message says which.
    #[error("database is busy{}", .0.as_deref().map(|s| format!(": {s}")).unwrap_or_default())]
    Busy(Option<String>),
    /// No stable read snapshot could be taken (the WAL kept changing).
    #[error("could not obtain a stable read snapshot; retry")]
    Protocol,
    /// A file failed a check (checksum, magic, structure).
    #[error("{}: corrupt{}: {reason}", path.display(), if *page > 0 { format!(" at page {page}") } else { String::new() })]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// The page (0: not about one page).
        page: u32,
        /// The check that failed.
        reason: &'static str,
    },
    /// The database was written by an unsupported format version.
    #[error("{}: unsupported format version {found}", path.display())]
    UnsupportedVersion {
        /// The database file.
        path: PathBuf,
        /// The version found.
        found: u32,
    },
    /// An I/O error; the message names the file. Any I/O failure poisons
    /// the database handle (every later call returns `Poisoned`).
    #[error(transparent)]
    Io(#[from] io::Error),
    /// A fixed capacity was reached (for example the WAL frame limit).
    #[error("capacity reached: {0}")]
    Full(&'static str),
    /// An argument was rejected (bad option, misuse).
    #[error("invalid argument: {0}")]
    InvalidArgument(&'static str),
    /// A key longer than the database accepts ([`crate::Database::max_key_len`],
    /// which depends on the page size).
    #[error("invalid argument: key is {} bytes; the largest at {}-byte pages is {}", thousands(*len as u64), thousands((*page_size).into()), thousands(*max as u64))]
    KeyTooLong {
        /// The key's length in bytes.
        len: usize,
        /// The largest key in bytes.
        max: usize,
        /// The database's page size in bytes.
        page_size: u32,
    },
    /// A write in a read transaction or on a read-only database.
    #[error("the database or transaction is read-only")]
    ReadOnly,
    /// An earlier I/O call failed: drop every handle and reopen;
    /// recovery from the WAL restores the last durable commit.
    #[error("database handle poisoned by an earlier I/O failure; reopen it")]
    Poisoned,
    /// The table does not exist.
    #[error("table {table:?} not found")]
    NotFound {
        /// The table's name (empty when the engine did not say).
        table: String,
    },
    /// The archiver lags behind the WAL past the limit its archive slot
    /// sets (`walden_core::ArchiveLimits`: frames not yet shipped, or time
    /// since it last had every commit shipped): the write transaction was
    /// not begun, so that commits never outrun the archive silently. With
    /// the slot's back-pressure the writer first waited for the archiver
    /// for the busy timeout. See `Stats::archive_lag_frames`.
    #[error("{}: the archiver lags {frames} WAL frames behind, past the limit of its archive slot{}", path.display(), if *waited { " (waited for it for the busy timeout)" } else { "" })]
    ArchiveLag {
        /// The database file.
        path: PathBuf,
        /// Frames not yet shipped.
        frames: u32,
        /// Whether the writer waited for the archiver (back-pressure).
        waited: bool,
    },
    /// The database file was renamed, replaced, deleted or given a second
    /// name (a hard link) since it was opened: writes and checkpoints
    /// through this handle are refused, since they would go to a file that
    /// is no longer the database at its path, or to a WAL another name does
    /// not see (as SQLite's `SQLITE_READONLY_DBMOVED`). Reads of the open
    /// file go on. Reopen the database by its path.
    #[error("{}: the database file was moved, replaced, deleted or hard-linked while open; writes through this handle are refused (reopen the database by its path)", .0.display())]
    Moved(PathBuf),
}

/// `n` with a comma between thousands: 1,347.
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, d) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(d);
    }
    out
}

/// Shorthand for `Result<T, walden_std::Error>`.
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// `NotFound` for the table `name`.
    pub(crate) fn no_table(name: &str) -> Error {
        Error::NotFound { table: name.to_string() }
    }
}

impl Error {
    /// Converts a core error, using the paths and the last I/O error of the
    /// database.
    pub(crate) fn from_core(e: walden_core::Error, paths: &crate::paths::Paths, last_io: impl FnOnce() -> Option<io::Error>) -> Error {
        use walden_core::Error as C;
        let path_of = |f: FileKind| match f {
            FileKind::Database => paths.db.clone(),
            FileKind::Wal => paths.wal.clone(),
        };
        match e {
            C::Busy => Error::Busy(None),
            C::Protocol => Error::Protocol,
            C::Corrupt { file, page, reason } => Error::Corrupt {
                path: path_of(file),
                page,
                reason,
            },
            C::UnsupportedVersion { found, .. } => Error::UnsupportedVersion {
                path: paths.db.clone(),
                found,
            },
            C::Io { file, kind } => {
                Error::Io(last_io().unwrap_or_else(|| io::Error::other(format!("{}: I/O error {kind:?}", path_of(file).display()))))
            }
            C::Full { what } => Error::Full(what),
            C::InvalidArgument(w) => Error::InvalidArgument(w),
            C::ReadOnly => Error::ReadOnly,
            C::Poisoned => Error::Poisoned,
            C::NotFound => Error::NotFound { table: String::new() },
            C::ArchiveLag { frames, back_pressure } => Error::ArchiveLag {
                path: paths.db.clone(),
                frames,
                waited: back_pressure,
            },
            C::BufferTooSmall { .. } => Error::InvalidArgument("internal buffer too small"),
            _ => Error::InvalidArgument("unknown core error"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_say_what() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_347), "1,347");
        assert_eq!(thousands(1_234_567), "1,234,567");
        let e = Error::KeyTooLong {
            len: 1348,
            max: 1347,
            page_size: 4096,
        };
        assert_eq!(
            e.to_string(),
            "invalid argument: key is 1,348 bytes; the largest at 4,096-byte pages is 1,347"
        );
        assert_eq!(Error::no_table("wea\tther").to_string(), "table \"wea\\tther\" not found");
    }
}
