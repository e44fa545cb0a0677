//! The core's one error type.
//!
//! Every fallible operation of `walden-core` returns [`Error`]. Nothing in the
//! core panics on bad input: corrupt files, truncated files, oversized keys and
//! misuse all come back as a variant of this enum (the rustls habit: errors
//! are values that name what went wrong).

use core::fmt;

/// Which of the two files of a database an error is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    /// The main database file (`<db>`).
    Database,
    /// The write-ahead log (`<db>-wal`).
    Wal,
}

impl fmt::Display for FileKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FileKind::Database => "database file",
            FileKind::Wal => "WAL file",
        })
    }
}

/// An error of the Walden core.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// A lock is held by another connection: the write lock (a second
    /// writer), the checkpoint lock, or a read mark a checkpoint or WAL
    /// restart needs. Nothing was changed; the call may be retried. The std
    /// backend retries for the configured busy timeout before returning it
    /// (SQLite's `SQLITE_BUSY`).
    Busy,
    /// A reader could not obtain a stable snapshot within the bounded number
    /// of retries (the wal-index header kept changing under it, or every
    /// read-mark slot was locked). As SQLite's `SQLITE_PROTOCOL`; retrying
    /// later normally succeeds.
    Protocol,
    /// On-disk data failed a check: a page or frame checksum, a magic number,
    /// a structural invariant of a B+tree page. `page` is the page number
    /// concerned (0 when the error is not about one page); `reason` says which
    /// check failed. Data is never returned from a page that failed its check.
    Corrupt {
        /// Which file.
        file: FileKind,
        /// The page number (1-based), or 0 when not about one page.
        page: u32,
        /// The check that failed.
        reason: &'static str,
    },
    /// The database file was written by a newer, incompatible format version.
    UnsupportedVersion {
        /// The format version found in the file header.
        found: u32,
        /// The format version this build reads and writes
        /// (`format::FORMAT_VERSION`).
        supported: u32,
    },
    /// The storage returned an error. Any I/O error poisons every
    /// connection of the database (the flag lives in the shared wal-index):
    /// later calls return `Poisoned` until the database is reopened.
    Io {
        /// Which file.
        file: FileKind,
        /// The `embedded-io` kind of the storage error.
        kind: embedded_io::ErrorKind,
    },
    /// A fixed capacity was reached: the wal-index cannot index more WAL
    /// frames (`max_wal_frames`), the database reached 2^32-1 pages, or a RAM
    /// storage is full. `what` names the capacity.
    Full {
        /// The capacity that was reached.
        what: &'static str,
    },
    /// The archiver lags behind the WAL by more than the limit its archive
    /// slot sets (frames not yet shipped, or time since it last had every
    /// commit shipped): the write transaction was not begun, so that
    /// commits never outrun the archive silently (as PostgreSQL's
    /// `max_slot_wal_keep_size` bounds what a replication slot may hold, but
    /// telling the writer instead of dropping the slot). `back_pressure`:
    /// the slot asks writers to wait for the archiver and retry (the std
    /// backend does, up to its busy timeout); otherwise the error is
    /// returned at once. `frames`: frames not yet shipped.
    ArchiveLag {
        /// Frames of the WAL not yet shipped.
        frames: u32,
        /// Whether the slot asks writers to wait and retry.
        back_pressure: bool,
    },
    /// An argument was rejected: a key longer than the maximum, a bad page
    /// size, a buffer too small for the configuration, an operation in the
    /// wrong transaction state. `what` says which.
    InvalidArgument(&'static str),
    /// A write was attempted in a read transaction or on a read-only
    /// connection.
    ReadOnly,
    /// An earlier I/O call (a write or a sync above all) failed; every
    /// connection of the database refuses further work. Close it and reopen
    /// the database: recovery from the WAL restores the last durable commit.
    /// A failed fsync is never retried.
    Poisoned,
    /// The named table does not exist.
    NotFound,
    /// The caller's buffer is too small for the value; `needed` is its size
    /// in bytes.
    BufferTooSmall {
        /// Bytes needed.
        needed: usize,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Busy => f.write_str("database is busy (a lock is held by another connection)"),
            Error::Protocol => f.write_str("could not obtain a stable read snapshot (wal-index kept changing)"),
            Error::Corrupt { file, page: 0, reason } => write!(f, "{file} is corrupt: {reason}"),
            Error::Corrupt { file, page, reason } => write!(f, "{file} is corrupt at page {page}: {reason}"),
            Error::UnsupportedVersion { found, supported } => {
                write!(
                    f,
                    "unsupported database format version {found} (this build reads version {supported})"
                )
            }
            Error::Io { file, kind } => write!(f, "I/O error on the {file}: {kind:?}"),
            Error::Full { what } => write!(f, "capacity reached: {what}"),
            Error::ArchiveLag { frames, .. } => write!(
                f,
                "the archiver lags behind by {frames} WAL frames, past the limit of its archive slot"
            ),
            Error::InvalidArgument(what) => write!(f, "invalid argument: {what}"),
            Error::ReadOnly => f.write_str("attempt to write in a read-only transaction or database"),
            Error::Poisoned => f.write_str("connection poisoned by an earlier I/O failure; reopen the database"),
            Error::NotFound => f.write_str("table not found"),
            Error::BufferTooSmall { needed } => write!(f, "buffer too small: {needed} bytes needed"),
        }
    }
}

impl core::error::Error for Error {}

/// Shorthand for `core::result::Result<T, walden_core::Error>`.
pub type Result<T> = core::result::Result<T, Error>;

pub(crate) const fn corrupt(file: FileKind, page: u32, reason: &'static str) -> Error {
    Error::Corrupt { file, page, reason }
}
