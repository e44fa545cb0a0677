//! # walden-std
//!
//! The std backend of Walden: a database is the file `<path>` and its WAL
//! `<path>-wal`; files are read and written positionally and fsynced
//! (directories too, after a file is created or the WAL truncated); errors
//! carry the file's path (`fs-err`). [`Database`] is an owned, `Send +
//! Sync` handle with transactions that need no lifetimes or buffers from the
//! caller. Every wait is bounded by one option, [`Options::busy_timeout`]
//! (module [`busy`]).
//!
//! ```
//! use walden_std::{Database, Options};
//! # let dir = tempfile::tempdir()?;
//! # let path = dir.path().join("sensors.db");
//! let db = Database::open(&path, Options::default())?; // or Database::builder()...open(&path)
//! let w = db.begin_write()?;
//! w.table("readings")?.put("EWR 2013-01-01T06", "39.02")?;
//! w.commit()?; // durable (one fsync) when this returns
//! let r = db.begin_read()?;
//! assert_eq!(r.table("readings")?.get("EWR 2013-01-01T06")?.as_deref(), Some(&b"39.02"[..]));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![warn(missing_docs)]
#![deny(unsafe_code)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

mod archive;
mod begin;
mod builder;
pub mod busy;
mod db;
mod error;
mod file;
mod keys;
mod open;
mod options;
mod paths;
mod shm;
mod txn;

pub use archive::{ArchiverLock, BackupInfo};
pub use builder::Builder;
pub use db::{Checkpointer, Database, Stats};
pub use error::{Error, Result};
pub use file::{FileError, FileStorage};
pub use keys::KeyRange;
pub use options::{LockingMode, Options, DEFAULT_BUSY_TIMEOUT, MIN_SYNC_WAIT};
pub use paths::{shm_path, wal_path};
pub use txn::{Cursor, Range, ReadTxn, Table, Txn, WriteTxn};
pub use walden_core::{
    ArchiveLimits, ArchiveSlot, CheckpointCause, CheckpointInfo, CheckpointMode, CheckpointStats, DbHeader, IndexHeader, PriorGeneration,
    Problem, SyncMode, TreeStats, VerifyReport,
};
