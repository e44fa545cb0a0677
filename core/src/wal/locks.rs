//! Where the wal-index's locks live: in the region's own words (one
//! process, or a microcontroller), or with the operating system, which
//! releases them when their holder dies (several processes, as SQLite's
//! `-shm` locks).
//!
//! The protocol of [`crate::wal::protocol`] takes five kinds of hold: the
//! write lock, the checkpoint lock, and on each read-mark slot a shared
//! hold (a reader) or an exclusive hold (a checkpointer, a restart, a
//! reader setting the slot's mark). By default ([`Region`] for any
//! `Deref<Target = [AtomicU32]>`) they are words of the region changed by
//! compare-and-swap, which is what the loom models check. A region that
//! several processes map implements [`Region::locks`] instead, so that a
//! process killed while it holds a lock never blocks the others: the std
//! backend takes `fcntl` open-file-description locks on bytes of the
//! `-shm` file (`docs/FORMAT.md`, section 11).
//!
//! Either way the protocol needs of a lock implementation exactly what the
//! region words give: every `try_` call returns at once (`false`: held in a
//! conflicting mode by someone else), a successful take happens-before what
//! the holder then does, a release happens-after it, and a reader's shared
//! hold and a checkpointer's [`Locks::slot_use`] are ordered as the
//! `SeqCst` share counts are (the Dekker pattern of `wal::protocol`; a
//! system call that takes a kernel lock is a full barrier).

use core::ops::Deref;

use crate::sync::AtomicU32;

/// A lock of the wal-index protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lock {
    /// The write lock: one write transaction (or `Full`/`Restart`/`Truncate`
    /// checkpoint, or header repair) at a time.
    Write,
    /// The checkpoint lock: one checkpoint (or WAL restart) at a time.
    Checkpoint,
    /// The sync lock: one connection at a time syncs the WAL for the
    /// commits appended so far and publishes the tip (group commit), or
    /// restarts the WAL, or repairs a torn header.
    Sync,
    /// Read-mark slot `0..read_marks`: shared by the readers whose snapshot
    /// it records, exclusive while its mark changes or the WAL restarts
    /// (slot 0: while a checkpoint writes the database file).
    ReadMark(usize),
}

/// What [`Locks::slot_use`] finds on a read-mark slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlotUse {
    /// Nobody holds it.
    Free,
    /// One or more readers hold it shared: its mark is in use.
    Shared,
    /// Held exclusively (a mark being set, a checkpoint, a restart).
    Exclusive,
}

/// Locks kept outside the region (see the module documentation). Every
/// method returns at once; implementations count holds per connection, so
/// that one connection's release never drops another's hold.
pub trait Locks {
    /// Takes `lock` shared (`exclusive` false: read-mark slots only) or
    /// exclusive; `false` when someone else holds it in a conflicting mode
    /// (or the lock cannot be taken at all, as an exclusive lock through a
    /// read-only file).
    fn try_lock(&self, lock: Lock, exclusive: bool) -> bool;
    /// Releases a hold this connection took with [`Locks::try_lock`].
    fn unlock(&self, lock: Lock, exclusive: bool);
    /// Whether anyone holds read-mark slot `slot` (the checkpointer's scan
    /// of `safe_frame`; the caller holds no lock on it).
    fn slot_use(&self, slot: usize) -> SlotUse;
    /// Marks the connections that share these locks unusable after an I/O
    /// failure (see [`crate::Error::Poisoned`]). Kept with the locks, not in
    /// the region, when several processes share the region: one process's
    /// failed `fsync` says nothing of the others' files.
    fn poison(&self);
    /// Whether [`Locks::poison`] was called.
    fn poisoned(&self) -> bool;
}

/// A wal-index region: `[AtomicU32]` words of
/// [`crate::region_words`] (`words`), and where its locks live (`locks`:
/// `None` for the region's own words).
///
/// Implemented for every `Deref<Target = [AtomicU32]>` (a `&'static
/// [AtomicU32]`, an `Arc<[AtomicU32]>`, a `Vec`), with the locks in the
/// words; the std backend implements it for its memory-mapped `-shm` file.
pub trait Region {
    /// The region's words.
    fn words(&self) -> &[AtomicU32];
    /// The locks kept outside the region, if any.
    fn locks(&self) -> Option<&dyn Locks> {
        None
    }
}

impl<T: Deref<Target = [AtomicU32]>> Region for T {
    #[inline]
    fn words(&self) -> &[AtomicU32] {
        self
    }
}
