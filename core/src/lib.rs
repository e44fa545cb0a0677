//! # walden-core
//!
//! The `#![no_std]`, allocation-free core of Walden, an embedded WAL-mode
//! key-value database in the manner of SQLite's WAL mode.
//!
//! A database is two storages: the database file (fixed-size pages holding
//! B+trees) and the write-ahead log of page frames. One writer at a time
//! appends a transaction's changed pages to the WAL, the last as a commit
//! frame; any number of readers see snapshots through the wal-index, a hash
//! index of atomics in memory the caller provides; checkpoints copy frames
//! back into the database file, never past a frame a live reader needs;
//! recovery rebuilds the wal-index from the WAL's committed prefix.
//!
//! All memory is the caller's: the wal-index region (`[AtomicU32]` of
//! [`walindex::region_words`] words), the page cache ([`cache_mem_len`]
//! bytes). RAM a connection needs, in bytes:
//!
//! `4 * region_words(max_wal_frames, read_marks) + cache_mem_len(page_size, cache_pages) + size_of::<Connection<..>>()`
//!
//! where `cache_mem_len(ps, n) = (n + 2) * ps + 8 * n` and `region_words(F, M)
//! = 32 + 2M + F + 1 + next_pow2(2F)`. Each open [`Cursor`] adds
//! `size_of::<Cursor>()` (about 2.3 KiB).
//!
//! See `ARCHITECTURE.md` and `docs/FORMAT.md` in the repository.
#![no_std]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod btree;
mod connection;
mod cursor;
pub mod error;
pub mod format;
mod pager;
#[cfg(feature = "sim")]
pub mod sim;
pub mod storage;
pub mod sync;
pub mod verify;
pub mod walindex;

#[cfg(all(test, loom))]
extern crate std;
#[cfg(all(test, loom))]
mod loom_tests;

pub use connection::{cache_mem_len, CheckpointInfo, CheckpointMode, ConnStats, Connection, Options, SyncMode, Table, MIN_CACHE_PAGES};
pub use cursor::Cursor;
pub use error::{Error, FileKind, Result};
pub use format::{max_key_len, DbHeader, MAX_KEY_CAP};
pub use storage::{IoStorage, RamError, RamStorage, SharedError, SharedStorage, Storage};
pub use verify::{Problem, VerifyReport};
pub use walindex::{region_words, IndexHeader};
