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
//! # Layers
//!
//! A commit flows one way: [`Connection`] (transactions, `connection/`) →
//! [`btree`] (trees, freelist, cursors) → the pager (page cache, `pager.rs`)
//! → [`wal`] (frames, wal-index, protocol, checkpoint, recovery) →
//! [`storage`] ([`blockdev`]: a database and its WAL on a raw block
//! device). [`format`] (file headers, checksums), [`checksum`] (the CRC
//! implementations) and [`error`] sit at the bottom; [`options`] holds what
//! the caller chooses; [`sync`] is where every atomic comes from (loom
//! under `--cfg loom`).
//!
//! # Memory
//!
//! All memory is the caller's: the wal-index region (`[AtomicU32]` of
//! [`region_words`] words), the page cache ([`cache_mem_len`] bytes). RAM a
//! connection needs, in bytes:
//!
//! `4 * region_words(max_wal_frames, read_marks) + cache_mem_len(page_size, cache_pages) + size_of::<Connection<..>>()`
//!
//! where `cache_mem_len(ps, n) = (n + 3) * ps + 16 * n + 16 * next_pow2(n)` and `region_words(F, M)
//! = 67 + 2M + F + 1 + next_pow2(2F)`. Each open [`Cursor`] adds
//! `size_of::<Cursor<K>>()`: about 2.3 KiB with the default key capacity
//! ([`MAX_KEY_CAP`]), about 0.4 KiB as `Cursor<{ max_key_len(512) }>`. The
//! stack follows the key capacity too (cursor re-seeks and
//! [`Connection::verify_sized`] copy keys into buffers of `K` bytes); on
//! microcontrollers see `docs/EMBEDDED.md` (feature `crc-small`, the
//! block-device storage, the measured stack and flash).
//!
//! See `ARCHITECTURE.md` and `docs/FORMAT.md` in the repository.
#![no_std]
#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

pub mod blockdev;
pub mod btree;
pub mod checksum;
pub mod connection;
pub mod error;
pub mod format;
pub mod options;
pub mod pager;
pub mod storage;
pub mod sync;
pub mod wal;

#[cfg(all(test, loom))]
extern crate std;
#[cfg(all(test, loom))]
mod loom_tests;

pub use blockdev::{BlockDevice, BlockError, BlockFile, Volume};
pub use btree::cursor::{Cursor, ScanEnd};
pub use btree::page::{max_key_len, MAX_KEY_CAP};
pub use btree::stat::TreeStats;
pub use btree::verify::{self, Problem, VerifyReport};
pub use connection::archive::{ArchiveLimits, ArchiveSlot};
pub use connection::tables::{Table, ValueRef};
pub use connection::{ConnStats, Connection};
pub use error::{Error, FileKind, Result};
pub use format::{DbHeader, PriorGeneration};
pub use options::{CheckpointCause, CheckpointInfo, CheckpointMode, CheckpointStats, Options, SyncMode};
pub use pager::{cache_mem_len, MIN_CACHE_PAGES};
pub use storage::{IoStorage, RamError, RamStorage, SharedError, SharedStorage, Storage};
pub use wal::index::{self as walindex, region_words, IndexHeader};
