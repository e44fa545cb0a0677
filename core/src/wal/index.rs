//! The wal-index: a hash index from page number to WAL frame, plus the
//! shared state of every connection to one database, all made of
//! [`AtomicU32`]s in a region the caller provides (a `static` on a
//! microcontroller, a heap slice in the std backend). It is a cache: it is
//! rebuilt from the WAL when the first connection opens. Compare SQLite's
//! `wal.c` header comment and its shm layout.
//!
//! # Region layout (in 32-bit words)
//!
//! | words | content |
//! |---|---|
//! | 0..12 | header copy 0 |
//! | 12..24 | header copy 1 |
//! | 24 | init word: [`REGION_MAGIC`] once recovery has filled the region |
//! | 25 | `nbackfill`: frames of the WAL already copied into the database file |
//! | 26 | write lock (0 free, 1 held) |
//! | 27 | checkpoint lock (0 free, 1 held) |
//! | 28 | poison flag (non-zero: a write or sync failed) |
//! | 29 | read-mark slot count `M` |
//! | 30 | frame capacity `F` |
//! | 31 | highest frame number ever inserted since the last reset |
//! | 32 | verified: frames of this generation whose chain was read back and checked (by recovery or a checkpoint) |
//! | 33 | the database id (the database header's), which every WAL header carries |
//! | 34..38 | the host's file identity ([`set_file_id`]; the std backend: device and inode of the database file) |
//! | 38 | sync lock (0 free, 1 held): held while the WAL is synced and the tip published |
//! | 39 | fence epoch: raised when a sync of the WAL failed (unpublished commits are then void) |
//! | 40..45 | tip copy 0: change counter, last commit frame, pages, chain value, check word |
//! | 45..50 | tip copy 1 (the tip: the last commit appended, published or not; `wal::header`) |
//! | 50 | the fence epoch the tip was last made valid at |
//! | 51 | when the last checkpoint ended, by the connections' clock (milliseconds, low 32 bits; 0: not yet) |
//! | 52..59 | checkpoint statistics: checkpoints by size, by time, manual; pages copied (low, high word); milliseconds spent (low, high word) |
//! | 59 | archive slot: 0 none, else 1 + the frames of this WAL generation the archiver has shipped ([`crate::connection::archive`]) |
//! | 60 | archive slot owner tag (the archiver's identity of its archive) |
//! | 61 | when the archiver last had every published commit shipped, by the connections' clock (milliseconds, low 32 bits) |
//! | 62 | archive lag limit in frames (bits 0 to 30; 0: none) and the back-pressure flag (bit 31) |
//! | 63 | archive lag limit in milliseconds (0: none) |
//! | 64..67 | the generation the last WAL restart retired: checkpoint sequence, last commit frame, chain value (0: none since recovery; [`crate::format::PriorGeneration`]) |
//! | 67..67+M | read marks: the frame a snapshot in that slot ends at |
//! | 67+M..67+2M | read-mark share counts ([`LOCKED`] = held exclusively) |
//! | then F+1 | page number of each frame (index 0 unused) |
//! | then H | hash slots (H = power of two ≥ 2F): frame numbers, 0 = empty |
//!
//! Words 26 to 28, 38 and the share counts are used only when the locks live in
//! the region; a region with [`crate::wal::locks::Region::locks`] (the std
//! backend's `-shm` file) keeps its locks and poison flag with the
//! operating system and the process instead, and leaves them 0.
//!
//! # Protocol
//!
//! - **Header**: the writer publishes a new header by writing copy 1, a
//!   release fence, then copy 0; a reader reads copy 0, an acquire fence, then
//!   copy 1, and accepts them only if they are equal and the checksum is
//!   right (as SQLite's `walIndexTryHdr`). The header's change counter makes
//!   every publication distinct.
//! - **Hash**: the writer stores a frame's page number, then the frame number
//!   into an empty hash slot with `Release`; a reader loads slots with
//!   `Acquire` and ignores any frame above its snapshot's last frame, so it
//!   never needs a lock. Entries are only removed newest-first (abort of a
//!   spilled transaction) or all at once at a WAL restart, which requires
//!   every WAL read mark to be locked; linear probing stays correct because
//!   no older entry's probe path goes through a newer entry.
//! - **Read marks**: see [`crate::wal::protocol`]. Slot 0 means "the
//!   WAL is entirely backfilled and ignored": a checkpoint must lock it before
//!   backfilling. Slots 1.. hold the last frame of a snapshot; a checkpoint
//!   never backfills past the smallest mark with a nonzero share count; a
//!   WAL restart must lock every slot 1...
//!
//! # Memory orderings
//!
//! Every atomic access carries a one-line justification where it is made;
//! in summary:
//!
//! | word(s) | operation | ordering | why |
//! |---|---|---|---|
//! | header copy 1 | publish | `Relaxed` stores, then a `Release` fence | all of copy 1 before any word of copy 0 |
//! | header copy 0 | publish | `Release` stores | frames and hash entries written before publishing happen-before a reader's acquire load |
//! | header copies | read | `Acquire` copy 0, `Acquire` fence, `Relaxed` copy 1 | copy 1 is read after copy 0, the reverse of the write order |
//! | init word | set / attach | `Release` / `Acquire` | publishes the layout words and the recovered header |
//! | `nbackfill` | store / load | `Release` / `Acquire` | a reader that sees the count sees the database writes before it |
//! | write, checkpoint locks | take / release | CAS `AcqRel` / `Release` store | the next holder sees the previous holder's writes |
//! | poison flag | set / test | `Relaxed` | carries no data |
//! | read marks | set / load | `Release` / `Acquire` | set under the slot's exclusive hold, visible before it is released |
//! | share counts | every access | `SeqCst` | the reader/checkpointer handshake (`wal::protocol`) |
//! | frame page number, hash slot | insert | `Relaxed`, then `Release` slot | a reader that acquire-loads the slot sees the page number |
//! | high-water mark, `truncate`'s scan | writer only | `Relaxed` | only the write-lock holder touches them |

mod hash;
mod slot;

use crate::error::{Error, Result};
use crate::sync::{AtomicU32, Ordering};
#[cfg(feature = "multi-process")]
use crate::wal::header::copies;
pub use crate::wal::header::IndexHeader;
use crate::wal::header::{read_two, write_two, Tip, HDR_WORDS, TIP_WORDS};
use crate::wal::locks::{Lock, Locks, SlotUse};

/// Value of the init word once a region has been recovered.
pub const REGION_MAGIC: u32 = 0x5741_4c49;
/// Share count of a read-mark slot held exclusively (by a checkpointer or a
/// writer resetting the WAL).
pub const LOCKED: u32 = u32::MAX;
/// A read mark not in use.
pub const MARK_UNUSED: u32 = u32::MAX;

const W_INIT: usize = 24;
const W_NBACKFILL: usize = 25;
const W_WRITE_LOCK: usize = 26;
const W_CKPT_LOCK: usize = 27;
const W_POISON: usize = 28;
const W_NMARKS: usize = 29;
const W_CAPACITY: usize = 30;
const W_HWM: usize = 31;
const W_VERIFIED: usize = 32;
const W_DB_ID: usize = 33;
/// First of the four words (34..38) where the host records which file the
/// region belongs to ([`set_file_id`]); the core never reads them.
pub const W_FILE_ID: usize = 34;
const W_SYNC_LOCK: usize = 38;
/// The fence epoch: raised by a connection whose sync of the WAL failed
/// (see `protocol::flush_protocol`).
const W_FENCE: usize = 39;
/// The tip's two copies (`TIP_WORDS` each).
const TIP_AT: usize = 40;
/// The fence epoch the tip was last made valid at.
const W_TIP_EPOCH: usize = 50;
/// Checkpoint statistics: by size, by time, manual, pages (2 words),
/// milliseconds (2 words).
#[cfg(feature = "checkpoint-stats")]
const W_STATS: usize = 52;
/// When the last checkpoint ended (clock milliseconds, low 32 bits).
const W_LAST_CKPT: usize = 51;
/// Words 59..64: the archive slot; 64..67: the retired generation ([`slot`]).
const FIXED_WORDS: usize = 67;

/// Fewest read-mark slots a region can have (slot 0 and one WAL slot).
pub const MIN_READ_MARKS: u32 = 2;
/// Most read-mark slots a region can have.
pub const MAX_READ_MARKS: u32 = 64;
/// Smallest frame capacity of a region.
pub const MIN_WAL_FRAMES: u32 = 16;
/// Largest frame capacity of a region (2^28 frames: 1 TiB of WAL at 4 KiB
/// pages; the region is then 3 GiB).
pub const MAX_WAL_FRAMES: u32 = 1 << 28;

/// Records `id` (four words: the std backend stores the database file's
/// device and inode numbers) in words 34..38 of `region`, which must be at
/// least 40 words. Written by the process that initialises the region,
/// before the connection that recovers it publishes the init word.
pub fn set_file_id(region: &[AtomicU32], id: [u32; 4]) {
    for (i, v) in id.iter().enumerate() {
        if let Some(w) = region.get(W_FILE_ID + i) {
            // Relaxed: published with the region by the Release store of
            // the init word (recovery), which attach() Acquire-loads.
            w.store(*v, Ordering::Relaxed);
        }
    }
}

/// The four words [`set_file_id`] stored (zeros in a region too small).
pub fn file_id(region: &[AtomicU32]) -> [u32; 4] {
    // Relaxed: read after attaching, see set_file_id.
    core::array::from_fn(|i| region.get(W_FILE_ID + i).map_or(0, |w| w.load(Ordering::Relaxed)))
}

/// Whether a region has been initialised by recovery (its init word holds
/// [`REGION_MAGIC`]). The std backend asks before it attaches a process to a
/// `-shm` file another process may have left half-made.
pub fn is_initialised(region: &[AtomicU32]) -> bool {
    // Acquire: pairs with the Release store of the init word.
    region.get(W_INIT).is_some_and(|w| w.load(Ordering::Acquire) == REGION_MAGIC)
}

/// Checks a region's parameters: `read_marks` in
/// [`MIN_READ_MARKS`]..=[`MAX_READ_MARKS`], `max_frames` in
/// [`MIN_WAL_FRAMES`]..=[`MAX_WAL_FRAMES`]. Errors: `InvalidArgument`
/// naming the limit.
pub fn check_params(max_frames: u32, read_marks: u32) -> Result<()> {
    if !(MIN_READ_MARKS..=MAX_READ_MARKS).contains(&read_marks) {
        return Err(Error::InvalidArgument("read marks must be from 2 to 64"));
    }
    if !(MIN_WAL_FRAMES..=MAX_WAL_FRAMES).contains(&max_frames) {
        return Err(Error::InvalidArgument("max WAL frames must be from 16 to 2^28"));
    }
    Ok(())
}

/// Hash slots for a frame capacity: the next power of two at or above
/// twice the capacity.
pub const fn hash_slots(max_frames: u32) -> usize {
    let want = 2 * max_frames as usize;
    if want <= 2 {
        2
    } else {
        want.next_power_of_two()
    }
}

/// Words a region needs for `max_frames` WAL frames and `read_marks` read-mark
/// slots (slot 0 included): `67 + 2 * read_marks + (max_frames + 1) +
/// hash_slots(max_frames)`. Multiply by 4 for bytes; with the defaults of the
/// std backend (65,536 frames, 8 marks) that is 786,768 bytes.
pub const fn region_words(max_frames: u32, read_marks: u32) -> usize {
    FIXED_WORDS + 2 * read_marks as usize + max_frames as usize + 1 + hash_slots(max_frames)
}

/// The layout of a region, worked out and checked once
/// ([`Layout::new`]); [`Index::with`] then views a region through it at the
/// cost of one length check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Layout {
    marks: usize,
    capacity: u32,
    pgno_at: usize,
    hash_at: usize,
    hash_mask: u32,
    words: usize,
}

impl Layout {
    /// Frames the region holds.
    pub(crate) fn capacity(&self) -> u32 {
        self.capacity
    }
    /// The layout for `max_frames` and `read_marks`. Errors:
    /// `InvalidArgument` (see [`check_params`]).
    pub(crate) fn new(max_frames: u32, read_marks: u32) -> Result<Layout> {
        check_params(max_frames, read_marks)?;
        let marks = read_marks as usize;
        let pgno_at = FIXED_WORDS + 2 * marks;
        Ok(Layout {
            marks,
            capacity: max_frames,
            pgno_at,
            hash_at: pgno_at + max_frames as usize + 1,
            hash_mask: hash_slots(max_frames) as u32 - 1,
            words: region_words(max_frames, read_marks),
        })
    }
}

/// A view of a wal-index region with its layout worked out.
#[derive(Clone, Copy)]
pub(crate) struct Index<'r> {
    w: &'r [AtomicU32],
    /// The fixed words (`w`'s first [`FIXED_WORDS`]) as an array: their
    /// accesses need no bounds check (and link no panic).
    f: &'r [AtomicU32; FIXED_WORDS],
    /// Locks kept outside the region (`None`: the lock words of the region).
    locks: Option<&'r dyn Locks>,
    marks: usize,
    capacity: u32,
    pgno_at: usize,
    hash_at: usize,
    hash_mask: u32,
}

impl<'r> Index<'r> {
    /// Lays out a region for `max_frames` and `read_marks`; checks its size.
    /// Used by the loom models.
    #[cfg(loom)]
    pub(crate) fn layout(w: &'r [AtomicU32], max_frames: u32, read_marks: u32) -> Result<Index<'r>> {
        Index::with(w, None, &Layout::new(max_frames, read_marks)?)
    }

    /// Views region `w` through `layout`. Errors: `InvalidArgument` when
    /// the region is smaller than the layout.
    #[inline]
    pub(crate) fn with(w: &'r [AtomicU32], locks: Option<&'r dyn Locks>, l: &Layout) -> Result<Index<'r>> {
        let f = match w.first_chunk::<FIXED_WORDS>() {
            Some(f) if w.len() >= l.words => f,
            _ => {
                return Err(Error::InvalidArgument(
                    "wal-index region smaller than region_words(max_frames, read_marks)",
                ))
            }
        };
        Ok(Index {
            w,
            f,
            locks,
            marks: l.marks,
            capacity: l.capacity,
            pgno_at: l.pgno_at,
            hash_at: l.hash_at,
            hash_mask: l.hash_mask,
        })
    }

    /// A view of a region another connection initialised, from the layout
    /// words stored in it.
    pub(crate) fn attach(w: &'r [AtomicU32], locks: Option<&'r dyn Locks>) -> Result<Option<Index<'r>>> {
        let Some(f) = w.first_chunk::<FIXED_WORDS>() else {
            return Err(Error::InvalidArgument("wal-index region too small"));
        };
        // Acquire: pairs with the Release store of the init word, so the
        // layout words and the published header are visible.
        if f[W_INIT].load(Ordering::Acquire) != REGION_MAGIC {
            return Ok(None);
        }
        let marks = f[W_NMARKS].load(Ordering::Relaxed); // Relaxed: ordered by the Acquire above.
        let cap = f[W_CAPACITY].load(Ordering::Relaxed); // Relaxed: same.
        Index::with(w, locks, &Layout::new(cap, marks)?).map(Some)
    }

    /// Records the layout and marks the region initialised.
    pub(crate) fn mark_initialised(&self) {
        // Relaxed: published by the Release store of the init word below.
        self.f[W_NMARKS].store(self.marks as u32, Ordering::Relaxed);
        self.f[W_CAPACITY].store(self.capacity, Ordering::Relaxed);
        // Release: makes the header, hash and layout visible to attach().
        self.f[W_INIT].store(REGION_MAGIC, Ordering::Release);
    }

    pub(crate) fn capacity(&self) -> u32 {
        self.capacity
    }
    pub(crate) fn read_marks(&self) -> usize {
        self.marks
    }

    // ---- header ----

    /// Reads the header: copy 0, fence, copy 1; `None` if they differ or
    /// the checksum fails (a publication is in progress: retry).
    #[inline]
    pub(crate) fn read_header(&self) -> Option<IndexHeader> {
        read_two::<HDR_WORDS>(self.f, 0).and_then(|w| IndexHeader::from_words(&w))
    }

    /// Each copy of the header decoded on its own (`None`: not whole), for
    /// [`crate::wal::protocol::repair_header`].
    #[cfg(feature = "multi-process")]
    pub(crate) fn header_copies(&self) -> (Option<IndexHeader>, Option<IndexHeader>) {
        let (c0, c1) = copies::<HDR_WORDS>(self.f, 0);
        (IndexHeader::from_words(&c0), IndexHeader::from_words(&c1))
    }

    /// The first half of [`Index::publish_header`] alone: a writer that dies
    /// between the two copies (the loom models).
    #[cfg(loom)]
    pub(crate) fn publish_copy1_only(&self, h: &IndexHeader) {
        for (i, x) in h.to_words().iter().enumerate() {
            self.f[HDR_WORDS + i].store(*x, Ordering::Relaxed);
        }
    }

    /// Publishes a header: copy 1, fence, copy 0. Only the holder of the
    /// sync lock (or recovery) calls this.
    pub(crate) fn publish_header(&self, h: &IndexHeader) {
        write_two(self.f, 0, &h.to_words());
    }

    /// The tip: the last commit appended to the WAL, published or not
    /// (the same two-copy protocol as the header).
    pub(crate) fn read_tip(&self) -> Option<Tip> {
        read_two::<TIP_WORDS>(self.f, TIP_AT).and_then(|w| Tip::from_words(&w))
    }

    /// Each copy of the tip decoded on its own, for a repair.
    #[cfg(feature = "multi-process")]
    pub(crate) fn tip_copies(&self) -> (Option<Tip>, Option<Tip>) {
        let (c0, c1) = copies::<TIP_WORDS>(self.f, TIP_AT);
        (Tip::from_words(&c0), Tip::from_words(&c1))
    }

    /// Sets the tip (the holder of the write lock, or recovery).
    pub(crate) fn set_tip(&self, t: &Tip) {
        write_two(self.f, TIP_AT, &t.to_words());
    }

    // ---- checkpoint info, locks, poison ----

    pub(crate) fn nbackfill(&self) -> u32 {
        // Acquire: a reader that sees the new backfill count also sees the
        // database file writes and sync that preceded it.
        self.f[W_NBACKFILL].load(Ordering::Acquire)
    }
    pub(crate) fn set_nbackfill(&self, n: u32) {
        // Release: pairs with nbackfill()'s Acquire.
        self.f[W_NBACKFILL].store(n, Ordering::Release);
    }
    /// Frames of this generation whose checksum chain was read back from
    /// the WAL and checked (by recovery or a checkpoint): a checkpoint
    /// checks the chain only past it.
    pub(crate) fn verified(&self) -> u32 {
        // Relaxed: read and written under the checkpoint lock (or by
        // recovery before anyone attaches; the restart resets it under both
        // locks).
        self.f[W_VERIFIED].load(Ordering::Relaxed)
    }
    pub(crate) fn set_verified(&self, n: u32) {
        // Relaxed: see verified().
        self.f[W_VERIFIED].store(n, Ordering::Relaxed);
    }
    /// The database id the WAL headers of this database carry.
    pub(crate) fn db_id(&self) -> u32 {
        // Relaxed: written by recovery before the Release store of the init
        // word, which attach() Acquire-loads; never changed after.
        self.f[W_DB_ID].load(Ordering::Relaxed)
    }
    pub(crate) fn set_db_id(&self, id: u32) {
        // Relaxed: see db_id().
        self.f[W_DB_ID].store(id, Ordering::Relaxed);
    }
    fn try_lock_word(&self, at: usize) -> bool {
        let Some(w) = self.f.get(at) else { return false };
        // AcqRel: acquiring the lock must see the previous holder's writes
        // (Acquire) and our later writes must not move before it (Release is
        // harmless here and keeps the CAS symmetric).
        w.compare_exchange(0, 1, Ordering::AcqRel, Ordering::Relaxed).is_ok()
    }
    fn unlock_word(&self, at: usize) {
        // Release: our writes under the lock are visible to the next holder.
        if let Some(w) = self.f.get(at) {
            w.store(0, Ordering::Release);
        }
    }
    pub(crate) fn try_lock_writer(&self) -> bool {
        match self.locks {
            Some(l) => l.try_lock(Lock::Write, true),
            None => self.try_lock_word(W_WRITE_LOCK),
        }
    }
    pub(crate) fn unlock_writer(&self) {
        match self.locks {
            Some(l) => l.unlock(Lock::Write, true),
            None => self.unlock_word(W_WRITE_LOCK),
        }
    }
    pub(crate) fn try_lock_checkpoint(&self) -> bool {
        match self.locks {
            Some(l) => l.try_lock(Lock::Checkpoint, true),
            None => self.try_lock_word(W_CKPT_LOCK),
        }
    }
    pub(crate) fn unlock_checkpoint(&self) {
        match self.locks {
            Some(l) => l.unlock(Lock::Checkpoint, true),
            None => self.unlock_word(W_CKPT_LOCK),
        }
    }
    pub(crate) fn try_lock_sync(&self) -> bool {
        match self.locks {
            Some(l) => l.try_lock(Lock::Sync, true),
            None => self.try_lock_word(W_SYNC_LOCK),
        }
    }
    pub(crate) fn unlock_sync(&self) {
        match self.locks {
            Some(l) => l.unlock(Lock::Sync, true),
            None => self.unlock_word(W_SYNC_LOCK),
        }
    }
    /// The fence epoch (see `protocol::flush_protocol`).
    pub(crate) fn fence_epoch(&self) -> u32 {
        // Acquire: a committer that reads a published header and then the
        // epoch sees every raise that happened before that publication
        // (raises and publications are made under the sync lock).
        self.f[W_FENCE].load(Ordering::Acquire)
    }
    /// Raises the fence epoch (the holder of the sync lock, whose WAL sync
    /// failed).
    pub(crate) fn raise_fence(&self) {
        // Release: ordered before the sync lock's release.
        self.f[W_FENCE].fetch_add(1, Ordering::AcqRel);
    }
    /// The fence epoch at which the tip was last made valid.
    pub(crate) fn tip_epoch(&self) -> u32 {
        // Acquire: read by flushers and writers; set under the write lock.
        self.f[W_TIP_EPOCH].load(Ordering::Acquire)
    }
    pub(crate) fn set_tip_epoch(&self, e: u32) {
        // Release: pairs with tip_epoch().
        self.f[W_TIP_EPOCH].store(e, Ordering::Release);
    }
    /// Counts a checkpoint in the statistics words.
    #[cfg(feature = "checkpoint-stats")]
    pub(crate) fn count_checkpoint(&self, cause: crate::options::CheckpointCause, pages: u64, ms: u64) {
        use crate::options::CheckpointCause as C;
        let w = match cause {
            C::Size => W_STATS,
            C::Time => W_STATS + 1,
            C::Manual => W_STATS + 2,
        };
        // Relaxed: statistics; each word is consistent on its own.
        self.f[w].fetch_add(1, Ordering::Relaxed);
        add_u64(&self.f[W_STATS + 3], &self.f[W_STATS + 4], pages);
        add_u64(&self.f[W_STATS + 5], &self.f[W_STATS + 6], ms);
    }
    /// When the last checkpoint ended (the low 32 bits of the clock's
    /// milliseconds; 0: none seen yet).
    pub(crate) fn last_checkpoint_ms(&self) -> u32 {
        // Relaxed: a time stamp; a late view delays a timed checkpoint only.
        self.f[W_LAST_CKPT].load(Ordering::Relaxed)
    }
    pub(crate) fn set_last_checkpoint_ms(&self, ms: u32) {
        // Relaxed: as above.
        self.f[W_LAST_CKPT].store(ms.max(1), Ordering::Relaxed);
    }
    /// The statistics words.
    #[cfg(feature = "checkpoint-stats")]
    pub(crate) fn checkpoint_stats(&self) -> crate::options::CheckpointStats {
        // Relaxed: statistics.
        let get = |i: usize| self.f[W_STATS + i].load(Ordering::Relaxed);
        crate::options::CheckpointStats {
            by_size: get(0),
            by_time: get(1),
            manual: get(2),
            pages_written: get(3) as u64 | (get(4) as u64) << 32,
            time_ms: get(5) as u64 | (get(6) as u64) << 32,
        }
    }
    pub(crate) fn poisoned(&self) -> bool {
        match self.locks {
            Some(l) => l.poisoned(),
            // Relaxed: the flag carries no data; a late observation only
            // delays the Poisoned error by one call.
            None => self.f[W_POISON].load(Ordering::Relaxed) != 0,
        }
    }
    pub(crate) fn poison(&self) {
        match self.locks {
            Some(l) => l.poison(),
            // Relaxed: as above.
            None => self.f[W_POISON].store(1, Ordering::Relaxed),
        }
    }

    // ---- read marks ----

    /// The share count word of read-mark slot `slot` (`None` past the
    /// region: never, the layout was checked).
    #[inline]
    fn share_word(&self, slot: usize) -> Option<&AtomicU32> {
        self.w.get(FIXED_WORDS + self.marks + slot)
    }

    pub(crate) fn mark(&self, slot: usize) -> u32 {
        // Acquire: pairs with set_mark's Release (made under the slot lock).
        self.w.get(FIXED_WORDS + slot).map_or(MARK_UNUSED, |w| w.load(Ordering::Acquire))
    }
    /// Sets a mark; the caller holds the slot locked.
    pub(crate) fn set_mark(&self, slot: usize, v: u32) {
        // Release: the new mark is visible before the slot is unlocked.
        if let Some(w) = self.w.get(FIXED_WORDS + slot) {
            w.store(v, Ordering::Release);
        }
    }
    /// Whether a slot is free, shared by readers, or held exclusively.
    pub(crate) fn slot_use(&self, slot: usize) -> SlotUse {
        if let Some(l) = self.locks {
            return l.slot_use(slot);
        }
        // SeqCst: a checkpointer's scan of share counts and a reader's
        // increment-then-recheck of the header form a Dekker pattern; both
        // sides use SeqCst so one of them sees the other.
        let Some(w) = self.share_word(slot) else {
            return SlotUse::Exclusive;
        };
        match w.load(Ordering::SeqCst) {
            0 => SlotUse::Free,
            LOCKED => SlotUse::Exclusive,
            _ => SlotUse::Shared,
        }
    }
    /// Takes a shared hold on a slot; false if it is locked.
    pub(crate) fn try_share(&self, slot: usize) -> bool {
        if let Some(l) = self.locks {
            return l.try_lock(Lock::ReadMark(slot), false);
        }
        let Some(c) = self.share_word(slot) else { return false };
        let mut cur = c.load(Ordering::SeqCst); // SeqCst: see slot_use.
        loop {
            if cur == LOCKED || cur == LOCKED - 1 {
                return false;
            }
            // SeqCst: see slot_use.
            match c.compare_exchange_weak(cur, cur + 1, Ordering::SeqCst, Ordering::SeqCst) {
                Ok(_) => return true,
                Err(v) => cur = v,
            }
        }
    }
    pub(crate) fn unshare(&self, slot: usize) {
        if let Some(l) = self.locks {
            return l.unlock(Lock::ReadMark(slot), false);
        }
        // SeqCst: see slot_use.
        if let Some(w) = self.share_word(slot) {
            w.fetch_sub(1, Ordering::SeqCst);
        }
    }
    /// Takes a slot exclusively (no shares); false if it is in use.
    pub(crate) fn try_lock_slot(&self, slot: usize) -> bool {
        if let Some(l) = self.locks {
            return l.try_lock(Lock::ReadMark(slot), true);
        }
        // SeqCst: see slot_use.
        self.share_word(slot)
            .is_some_and(|w| w.compare_exchange(0, LOCKED, Ordering::SeqCst, Ordering::SeqCst).is_ok())
    }
    pub(crate) fn unlock_slot(&self, slot: usize) {
        if let Some(l) = self.locks {
            return l.unlock(Lock::ReadMark(slot), true);
        }
        // SeqCst: see slot_use.
        if let Some(w) = self.share_word(slot) {
            w.store(0, Ordering::SeqCst);
        }
    }
}

/// Adds `v` to the 64-bit counter in two words (low, high) with 32-bit
/// atomics (many microcontrollers have no 64-bit ones): a carry goes to the
/// high word.
#[cfg(feature = "checkpoint-stats")]
fn add_u64(low: &AtomicU32, high: &AtomicU32, v: u64) {
    // Relaxed: statistics.
    let lo = v as u32;
    let old = low.fetch_add(lo, Ordering::Relaxed);
    let carry = u32::from(old.checked_add(lo).is_none());
    let hi = (v >> 32) as u32 + carry;
    if hi != 0 {
        high.fetch_add(hi, Ordering::Relaxed);
    }
}
