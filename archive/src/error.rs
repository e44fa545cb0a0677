//! The archive's errors.

/// What can go wrong archiving, restoring or following an archive. Every
/// error names the object or the database it concerns; none panics.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The database (`walden-std`) refused or failed.
    #[error(transparent)]
    Db(#[from] walden_std::Error),
    /// The object store failed (an I/O error of the directory store, a
    /// network or server error of a cloud store, a timeout).
    #[error("object store: {0}")]
    Store(#[from] object_store::Error),
    /// A local file (a restored database being written) failed.
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// An object failed its checks (checksum, header, frame chain): it is
    /// damaged, truncated or not an object of this archive. Nothing of it
    /// was used.
    #[error("{key}: corrupt archive object: {what}")]
    Corrupt {
        /// The object's key.
        key: String,
        /// What is wrong.
        what: String,
    },
    /// The archive cannot reach the asked state: no snapshot at or before
    /// the target, a segment missing from the chain, a gap the archiver
    /// recorded, a timeline that does not exist.
    #[error("{0}")]
    Unreachable(String),
    /// A write found its key taken by an object with other content: two
    /// histories (two archivers, or a restored copy archiving to its
    /// parent's timeline) write one prefix. Nothing was overwritten.
    #[error("{key}: the key holds another history's object (two archivers on one prefix?); nothing was overwritten")]
    Conflict {
        /// The key.
        key: String,
    },
    /// The archive belongs to another database (another database id).
    #[error("the archive at this prefix belongs to database {theirs:08x}, not {ours:08x}")]
    ForeignArchive {
        /// The archive's database id.
        theirs: u32,
        /// This database's id.
        ours: u32,
    },
    /// An argument was rejected (a URL, a path that exists, an option).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// `Replica::wait_for_lsn` timed out.
    #[error("timed out waiting for LSN {lsn:016x} (applied: {applied:016x})")]
    Timeout {
        /// The LSN waited for.
        lsn: u64,
        /// The LSN applied when the wait ended.
        applied: u64,
    },
}

/// The result of this crate.
pub type Result<T> = std::result::Result<T, Error>;
