//! The write-ahead log: its file format, its frames, the wal-index that
//! finds them, the lock-free protocol between readers, the writer and the
//! checkpointer, the checkpoint and recovery. The pager reaches the WAL
//! through two narrow doors: the frame writer ([`frames`]) and the
//! wal-index lookup ([`index`]).
//!
//! # The WAL file
//!
//! `<db>-wal` is a 32-byte header followed by frames of `24 + page_size`
//! bytes (byte layouts in [`crate::format`] and `docs/FORMAT.md`):
//!
//! ```text
//! [header: magic, version, page size, checkpoint sequence, salt1, salt2, checksum]
//! [frame 1: page number, commit size, salt1, salt2, checksum][page image]
//! [frame 2 ...]
//! ```
//!
//! A write transaction appends the pages it changed as frames; its last
//! frame is the **commit frame**, whose header holds the database size in
//! pages after the commit. Each frame's checksum chains the previous one's
//! with its own header and page, so a frame vouches for every frame before
//! it. A **WAL generation** is one use of the file from frame 1: it has its
//! own salts and checkpoint sequence, written in the header. The **LSN** of
//! a frame is `(checkpoint sequence << 32) | frame number`.
//!
//! # When a frame is valid
//!
//! In full in [`frames`]: it is wholly in the file, carries the header's
//! salts, names a page other than 0, extends the checksum chain and its
//! page image passes its own checksum. The log is the run of valid frames
//! from frame 1; the committed log ends at its last commit frame. Frames
//! after it (a torn append, a transaction that spilled and then aborted or
//! died) are ignored, and the next writer overwrites them.
//!
//! # Sync order
//!
//! **Commit** (`connection::txn`): write every dirty page as a frame (a new
//! generation's header first, and synced unless `Off`, as SQLite's
//! `syncHeader`); sync the WAL once in `Full`; then publish the new
//! wal-index header. A commit is visible only from that publication, and in
//! `Full` durable before it.
//!
//! **Checkpoint** ([`checkpoint`]): sync the WAL, check the frames, copy the
//! newest frame of each page into the database file, sync the database
//! file, read the copies back, and only then publish the backfill count.
//! The WAL restarts (new salts, frame 1 again) only once every frame is
//! backfilled and no reader uses the WAL; `Truncate` then empties the file.
//! So a page never reaches the database file before its frame is durable
//! (the write-ahead rule), and the WAL never forgets a frame before its
//! copy is durable and checked.
//!
//! # The reader algorithm
//!
//! A reader takes a **snapshot**, "every frame up to the last commit frame
//! `mx_frame`", from the wal-index header, and announces it with a **read
//! mark**, so that no checkpoint copies past it and no restart reuses its
//! frames ([`protocol`]). A reader whose snapshot is fully backfilled takes
//! read mark 0 and reads the database file alone. To read page `p` it
//! looks up the newest frame of `p` at or below `mx_frame` in the
//! wal-index hash; without one it reads `p` from the database file. Readers
//! never take a lock that waits and never block the writer.
//!
//! # The wal-index hash
//!
//! The wal-index ([`index`]) is a region of 32-bit atomics shared by every
//! connection of a database: a two-copy header, locks, read marks, the page
//! number of each frame, and an open-addressing hash from page number to
//! frame number (linear probing from `pgno * 383`, at least two slots per
//! frame). The writer inserts a frame's page number, then the frame number
//! with release ordering; a reader probes until an empty slot and keeps the
//! largest frame at or below its snapshot, so inserts beyond a snapshot
//! never disturb it. Entries are removed newest-first (an abort) or all at
//! once (a restart, which holds every WAL read mark). The wal-index is a
//! cache: [`recovery`] rebuilds it from the WAL when the first connection
//! opens.

pub mod checkpoint;
pub mod frames;
pub mod header;
pub mod index;
pub mod locks;
pub mod protocol;
pub mod recovery;

pub use protocol::READ_RETRIES;
