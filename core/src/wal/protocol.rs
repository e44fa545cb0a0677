//! The lock-free protocol of the wal-index: how a reader takes a snapshot,
//! how the writer begins, how far a checkpoint may copy, how the WAL
//! restarts, and how recovery publishes. These functions touch only the
//! region's atomics (no I/O), so that the loom models (`loom_tests.rs`)
//! drive exactly the code the connection runs.
//!
//! # Read marks, share counts, `LOCKED`, slot 0
//!
//! A slot is a pair of words: a mark (a frame number) and a share count.
//! - A **shared hold** (`Index::try_share`) increments the count unless it
//!   is `LOCKED` (or one below it, so that it never overflows into
//!   `LOCKED`). Readers with the same snapshot share one slot, so `M - 1` is
//!   the number of *distinct* WAL snapshots live at once, not of readers.
//! - An **exclusive hold** (`Index::try_lock_slot`) swaps the count from 0
//!   to `LOCKED`. A mark changes only under an exclusive hold, so while a
//!   slot is shared its mark is stable.
//! - **Slot 0** has no mark: a shared hold means "my snapshot is the
//!   database file alone". A checkpoint holds slot 0 exclusively while it
//!   writes the database file.
//! - **Slots 1..M**: a shared hold on a slot with mark `m` promises that the
//!   database file never gets ahead of frame `m` (checkpoints stop at the
//!   smallest shared mark, `safe_frame`) and that the WAL is not restarted
//!   (a restart locks every such slot, `try_restart`).
//!
//! # Who takes what
//!
//! | operation | write lock | checkpoint lock | slot 0 | slots 1..M |
//! |---|---|---|---|---|
//! | read, WAL snapshot | | | | shares one (may briefly lock a free one to set its mark) |
//! | read, database-only snapshot | | | shares | |
//! | write transaction | held from `begin_write` to `commit`/`abort` | only for a restart in `begin_write` (skipped if busy) | | all, briefly, for a restart |
//! | `Passive` checkpoint | | held | exclusive while backfilling | reads counts and marks |
//! | `Full` checkpoint | held | held | exclusive while backfilling | reads counts and marks |
//! | `Restart`, `Truncate` | held | held | exclusive while backfilling | all, briefly, for the restart |
//! | recovery | (the region is not initialised yet: nobody else uses it) | | | |
//!
//! Every lock is a try-lock: this module never waits. Contention is `Busy`
//! (a lock) or `Protocol` (a snapshot that did not settle within a bounded
//! number of spins); the std backend turns both into bounded waiting (its
//! `busy_timeout`).
//!
//! # Why a restart needs every WAL read mark locked
//!
//! A restart reuses frame numbers and empties the hash. Whoever still holds
//! a frame number of the old generation would apply it to the new one: a
//! reader with a WAL snapshot (or about to take a slot with an old header),
//! a checkpointer between its header read and its `nbackfill` store, the
//! writer appending after the old `mx_frame`. The write lock excludes the
//! writer, the checkpoint lock the checkpointers (so `nbackfill` is only
//! stored by a checkpoint that saw one generation from start to end), and
//! an exclusive hold on every WAL slot the readers: a reader and the
//! restarter compete for the same word by compare-and-swap, and a reader
//! whose hold lands after the restart sees a new change counter on its
//! re-check and retries. (This is the class of SQLite's "WAL-reset bug",
//! where a checkpoint overlapping a restart stored a backfill count of the
//! old generation.)
//!
//! # The reader/checkpointer handshake (Dekker's pattern)
//!
//! ```text
//! reader (acquire_snapshot)                checkpointer (backfill_protocol, safe_frame)
//!   shared hold on the slot (SeqCst RMW)     read the header: mx_frame
//!   fence(SeqCst)                            fence(SeqCst)
//!   re-read the mark and the header          read the share counts (SeqCst) and marks
//! ```
//!
//! The two fences are ordered in the single total order of `SeqCst`. If the
//! reader's comes first, the checkpointer's scan sees the hold and stops at
//! the reader's mark. If the checkpointer's comes first, the reader's
//! re-read returns a header at least as new as the checkpointer's; the
//! reader keeps its snapshot only if it equals the header it started from,
//! so the checkpointer's safe frame is at or below the reader's snapshot.
//! Either way no frame beyond a reader's snapshot reaches the database
//! file. The slot-0 path has the same shape, and there the checkpointer
//! locks slot 0 with a compare-and-swap on the very word the reader
//! increments. Every other ordering is justified where it is used, in
//! [`crate::wal::index`].

use crate::error::{Error, Result};
use crate::sync::{fence, spin_hint, Ordering};
use crate::wal::header::Tip;
use crate::wal::index::{Index, IndexHeader, MARK_UNUSED};
use crate::wal::locks::SlotUse;

/// Attempts of `acquire_snapshot` and `read_header_retry` before
/// `Protocol` (spins, no sleep; 3 under loom).
pub const READ_RETRIES: u32 = if cfg!(loom) { 3 } else { 1000 };

/// Reads the wal-index header, retrying while a publication is in
/// progress. A header that stays torn for [`READ_RETRIES`] attempts while
/// the sync lock is free was left by a publisher that died between its two
/// copies (only the sync-lock holder publishes): it is repaired under the
/// sync lock ([`repair_header`]; feature `multi-process`, without which
/// it stays torn: on one process whose region dies with it no publisher
/// stops half-way). Errors: `Protocol` when it stays torn and the sync
/// lock is held (a publisher descheduled mid-publication: retry).
pub(crate) fn read_header_retry(idx: &Index<'_>) -> Result<IndexHeader> {
    for _ in 0..READ_RETRIES {
        if let Some(h) = idx.read_header() {
            return Ok(h);
        }
        spin_hint();
    }
    #[cfg(feature = "multi-process")]
    return try_repair(idx).ok_or(Error::Protocol);
    #[cfg(not(feature = "multi-process"))]
    Err(Error::Protocol)
}

/// Torn header reads after which a reader tries [`repair_header`].
#[cfg(feature = "multi-process")]
const REPAIR_AFTER: u32 = if cfg!(loom) { 1 } else { 100 };

/// [`repair_header`] if the sync lock is free (`None` if it is not, or
/// neither copy is whole).
#[cfg(feature = "multi-process")]
fn try_repair(idx: &Index<'_>) -> Option<IndexHeader> {
    if !idx.try_lock_sync() {
        return None;
    }
    let h = repair_header(idx);
    idx.unlock_sync();
    h
}

/// The header as the holder of the sync lock finds it: only sync-lock
/// holders publish (a committer publishing the tip, a restart), so two
/// copies that differ were left by one that died mid-publication (a killed
/// process, the `-shm` of the std backend). Copy 1 is written first: if it
/// is whole it is the newer header (its commit was durable before
/// publication began), else copy 0 is the older one, still whole. Both
/// copies are then made equal, as SQLite's `walIndexTryHdr` leaves a torn
/// header to the next holder of the lock. `None` if neither copy is whole
/// (a damaged region). Without feature `multi-process` (one process,
/// whose region dies with it: nobody stops half-way through a
/// publication), a header that is not whole stays so: `None`.
pub(crate) fn repair_header(idx: &Index<'_>) -> Option<IndexHeader> {
    if let Some(h) = idx.read_header() {
        return Some(h);
    }
    #[cfg(feature = "multi-process")]
    return repair_torn_header(idx);
    #[cfg(not(feature = "multi-process"))]
    None
}

/// The repair proper of [`repair_header`], out of line: its two decoded
/// copies stay off the stack of every publication that finds the header
/// whole (a commit's, the deepest path on a microcontroller).
#[cfg(feature = "multi-process")]
#[cold]
#[inline(never)]
fn repair_torn_header(idx: &Index<'_>) -> Option<IndexHeader> {
    let (c0, c1) = idx.header_copies();
    let h = c1.or(c0)?;
    idx.publish_header(&h);
    Some(h)
}

/// The read-mark protocol of a read transaction (as SQLite's
/// `walTryBeginRead`); returns the snapshot's header and the slot it
/// shares.
///
/// Read the header (repairing one a dead writer left torn, see
/// [`read_header_retry`]); if every WAL frame is backfilled, share slot 0 and
/// ignore the WAL; otherwise share a slot whose mark is the header's last
/// frame (setting a free slot's mark if none matches), or else the slot with
/// the largest mark below it. Then, after a `SeqCst` fence, re-read the
/// mark and the header: if either changed, release and retry. A checkpoint
/// never copies frames past a shared mark, and a WAL restart needs every
/// slot, so the snapshot stays valid until the hold is released
/// (`Index::unshare`).
///
/// Errors: `Protocol` after [`READ_RETRIES`] attempts.
pub(crate) fn acquire_snapshot(idx: &Index<'_>) -> Result<(IndexHeader, usize)> {
    #[cfg(feature = "multi-process")]
    let mut torn = 0;
    for _ in 0..READ_RETRIES {
        let Some(hdr) = idx.read_header() else {
            #[cfg(feature = "multi-process")]
            {
                torn += 1;
                if torn == REPAIR_AFTER {
                    try_repair(idx);
                }
            }
            spin_hint();
            continue;
        };
        let mx = hdr.mx_frame;
        if idx.nbackfill() == mx {
            if idx.try_share(0) {
                // SeqCst fence: as below, against a checkpointer locking slot 0.
                fence(Ordering::SeqCst);
                if idx.read_header() == Some(hdr) && idx.nbackfill() == mx {
                    return Ok((hdr, 0));
                }
                idx.unshare(0);
                spin_hint();
                continue;
            }
            if mx == 0 {
                spin_hint();
                continue;
            }
        }
        // Find or set a slot whose mark is mx.
        let n = idx.read_marks();
        let mut best: Option<(usize, u32)> = None;
        for i in 1..n {
            let m = idx.mark(i);
            if m != MARK_UNUSED && m <= mx && best.is_none_or(|(_, bm)| m > bm) {
                best = Some((i, m));
            }
        }
        if best.is_none_or(|(_, m)| m != mx) {
            for i in 1..n {
                if idx.try_lock_slot(i) {
                    idx.set_mark(i, mx);
                    idx.unlock_slot(i);
                    best = Some((i, mx));
                    break;
                }
            }
        }
        let Some((slot, m)) = best else {
            spin_hint();
            continue;
        };
        if !idx.try_share(slot) {
            spin_hint();
            continue;
        }
        // SeqCst fence: the share above and the header re-read below form
        // one side of a Dekker pattern with the checkpointer (header read,
        // fence, share-count scan): either the checkpointer sees our share,
        // or we see the header it saw and any commit before it.
        fence(Ordering::SeqCst);
        if idx.mark(slot) != m || idx.read_header() != Some(hdr) {
            idx.unshare(slot);
            spin_hint();
            continue;
        }
        return Ok((hdr, slot));
    }
    Err(Error::Protocol)
}

/// The tip as the holder of the write lock finds it. Only the write-lock
/// holder (and a restart, which holds it too) sets the tip, so a torn tip
/// was left by a writer that died while setting it: copy 1 if whole, else
/// copy 0 (feature `multi-process`; without it, on one process, a tip is
/// never left torn: `hdr`'s is taken). A tip older than the published
/// header `hdr` (a region set up without one) is taken as `hdr`'s.
fn writer_tip(idx: &Index<'_>, hdr: &IndexHeader) -> Tip {
    let t = match idx.read_tip() {
        Some(t) => t,
        None => {
            #[cfg(feature = "multi-process")]
            let t = {
                let (c0, c1) = idx.tip_copies();
                c1.or(c0).unwrap_or(hdr.tip())
            };
            #[cfg(not(feature = "multi-process"))]
            let t = hdr.tip();
            idx.set_tip(&t);
            t
        }
    };
    if hdr.is_after(&hdr.with_tip(t)) {
        let t = hdr.tip();
        idx.set_tip(&t);
        return t;
    }
    t
}

/// The write-lock protocol of a write transaction: takes the write lock,
/// reads the header and the tip, and restarts the WAL when it is fully
/// backfilled, no commit waits for its sync and no reader uses the WAL (as
/// SQLite's `walRestartLog`). Returns the header the transaction starts
/// from: the tip's (the last commit appended, which the next sync will
/// publish: a writer builds on every commit before it); the lock is held
/// on success only.
///
/// After a failed sync (the fence epoch moved), the unpublished commits are
/// void: the tip goes back to the published header and their frames are
/// overwritten. Hash entries above the tip are a dead writer's (a process
/// killed mid-transaction; a live one removes its own on abort): removed,
/// newest first, before their frame numbers are reused.
///
/// Errors: `Busy` (another writer holds the lock), `Protocol`.
pub(crate) fn begin_write_protocol(idx: &Index<'_>, seed: u32) -> Result<IndexHeader> {
    if !idx.try_lock_writer() {
        return Err(Error::Busy);
    }
    let hdr = match read_header_retry(idx) {
        Ok(h) => h,
        Err(e) => {
            idx.unlock_writer();
            return Err(e);
        }
    };
    let mut tip = writer_tip(idx, &hdr);
    let epoch = idx.fence_epoch();
    if epoch != idx.tip_epoch() {
        tip = hdr.tip();
        idx.set_tip(&tip);
        idx.set_tip_epoch(epoch);
    }
    let mut base = hdr.with_tip(tip);
    idx.truncate(base.mx_frame);
    let pending = base.change != hdr.change;
    if !pending && hdr.mx_frame > 0 && idx.nbackfill() == hdr.mx_frame && idx.try_lock_checkpoint() {
        if idx.try_lock_sync() {
            if let Some(h) = try_restart(idx, &hdr, seed) {
                base = h;
            }
            idx.unlock_sync();
        }
        idx.unlock_checkpoint();
    }
    Ok(base)
}

/// Makes the commits appended so far durable and visible (group commit, as
/// PostgreSQL's WAL flush: one sync covers every commit appended before
/// it): with the sync lock, reads the tip, runs `sync` (the WAL's sync in
/// `Full`, nothing otherwise) and publishes the tip as the new header.
/// Returns the header published (or found). Writers append under the write
/// lock and set the tip before they release it, so every frame up to the
/// tip is written when the tip is read, and the sync that follows covers
/// it; readers see only published headers, so a commit is never visible
/// before it is durable.
///
/// A failed sync raises the fence epoch: the unpublished commits, whose
/// frames the failed sync may have lost, are void (their committers get
/// the error, the next writer starts again from the published header).
///
/// Errors: `Busy` (another connection holds the sync lock: it is syncing,
/// and the caller tries again), `Protocol`, whatever `sync` returns.
pub(crate) fn flush_protocol(idx: &Index<'_>, sync: impl FnOnce() -> Result<()>) -> Result<IndexHeader> {
    if !idx.try_lock_sync() {
        return Err(Error::Busy);
    }
    let r = (|| {
        let hdr = repair_header(idx).ok_or(Error::Protocol)?;
        if idx.fence_epoch() != idx.tip_epoch() {
            return Ok(hdr);
        }
        let tip = read_tip_retry(idx)?;
        let t = hdr.with_tip(tip);
        if !t.is_after(&hdr) {
            return Ok(hdr);
        }
        if let Err(e) = sync() {
            idx.raise_fence();
            return Err(e);
        }
        idx.publish_header(&t);
        Ok(t)
    })();
    idx.unlock_sync();
    r
}

/// Reads the tip while a writer may be setting it; a tip that stays torn
/// (its writer died) is repaired under the write lock (feature
/// `multi-process`; without it, `Protocol`). Errors: `Protocol`.
fn read_tip_retry(idx: &Index<'_>) -> Result<Tip> {
    for _ in 0..READ_RETRIES {
        if let Some(t) = idx.read_tip() {
            return Ok(t);
        }
        spin_hint();
    }
    #[cfg(feature = "multi-process")]
    return repair_tip(idx);
    #[cfg(not(feature = "multi-process"))]
    Err(Error::Protocol)
}

/// The repair of a tip its writer left torn, under the write lock
/// (`Protocol` if the lock is held or neither copy is whole).
#[cfg(feature = "multi-process")]
fn repair_tip(idx: &Index<'_>) -> Result<Tip> {
    if !idx.try_lock_writer() {
        return Err(Error::Protocol);
    }
    let (c0, c1) = idx.tip_copies();
    let t = c1.or(c0);
    if let Some(t) = t {
        idx.set_tip(&t);
    }
    idx.unlock_writer();
    t.ok_or(Error::Protocol)
}

/// Where a commit appended as `mine` at fence epoch `epoch` stands: `Some(true)`
/// once a published header covers it (same generation, at or past its
/// frame; or a later generation, which a restart starts only when nothing
/// is pending), `Some(false)` when a failed sync made it void (the epoch
/// moved: it may also have been published before the failure, which is
/// then reported as a failure, never the reverse), `None` while it waits.
pub(crate) fn commit_state(idx: &Index<'_>, mine: &IndexHeader, epoch: u32) -> Option<bool> {
    let h = idx.read_header()?;
    // Read after the header (Acquire): a raise before that publication is
    // seen.
    if idx.fence_epoch() != epoch {
        return Some(false);
    }
    let same_gen = h.ckpt_seq == mine.ckpt_seq && h.salt1 == mine.salt1 && h.salt2 == mine.salt2;
    if !same_gen || h.mx_frame >= mine.mx_frame {
        return Some(true);
    }
    None
}

/// The frame a checkpoint may copy up to: the last commit frame `mx`, or
/// the smallest mark of a read-mark slot in use (slots 1..) below it.
pub(crate) fn safe_frame(idx: &Index<'_>, mx: u32) -> u32 {
    // SeqCst fence: the other side of the reader's Dekker pattern (see
    // acquire_snapshot): a reader whose share we miss below re-reads a
    // header at least as new as the one we read and retries if it is newer.
    fence(Ordering::SeqCst);
    let mut safe = mx;
    for i in 1..idx.read_marks() {
        if idx.slot_use(i) == SlotUse::Shared {
            let m = idx.mark(i);
            if m != MARK_UNUSED && m < safe {
                safe = m;
            }
        }
    }
    safe
}

/// The backfill protocol of a checkpoint, apart from the I/O: with the
/// checkpoint lock held, reads the header, computes the safe frame, and if
/// there are frames to copy locks read-mark slot 0 (so that no reader starts
/// reading the database file alone meanwhile), calls `copy(header,
/// nbackfill, safe)` to copy frames `nbackfill+1..=safe` (or, with a work
/// budget, up to the frame it returns), and publishes the new backfill
/// count only if it succeeded. Returns the header and the
/// frames backfilled. A backfill that cannot reach the last commit frame
/// (a reader's snapshot holds it back) is skipped when it would copy fewer
/// than `min_progress` frames: the automatic checkpoint then leaves the
/// work for later instead of syncing for a few frames.
///
/// Errors: `Busy` when slot 0 is in use and `passive` is false; `Protocol`;
/// whatever `copy` returns.
pub(crate) fn backfill_protocol(
    idx: &Index<'_>,
    passive: bool,
    min_progress: u32,
    mut copy: impl FnMut(&IndexHeader, u32, u32) -> Result<u32>,
) -> Result<(IndexHeader, u32)> {
    let hdr = read_header_retry(idx)?;
    let nb = idx.nbackfill();
    let safe = safe_frame(idx, hdr.mx_frame);
    if safe <= nb || (safe < hdr.mx_frame && safe - nb < min_progress) {
        return Ok((hdr, nb));
    }
    if !idx.try_lock_slot(0) {
        return if passive { Ok((hdr, nb)) } else { Err(Error::Busy) };
    }
    let r = copy(&hdr, nb, safe);
    if let Ok(end) = r {
        idx.set_nbackfill(end);
    }
    idx.unlock_slot(0);
    r.map(|end| (hdr, end))
}

/// Resets the WAL to its start when it is fully backfilled, every WAL
/// read mark can be locked and an archive slot, if there is one, has every
/// frame shipped (`connection::archive`): clears the hash, moves to new
/// salts and the next checkpoint sequence, publishes the header. The caller holds the write
/// lock, the checkpoint lock and the sync lock, and no commit waits for its
/// sync (the tip is the header). `None` if a reader uses the WAL or the
/// archiver has not shipped it all.
///
/// The WAL file is not touched: the next writer writes a new WAL header
/// (synced unless `Off`) before its first frame, and frames of the old
/// generation left beyond the new end carry the old salts, so recovery
/// never accepts them.
pub(crate) fn try_restart(idx: &Index<'_>, hdr: &IndexHeader, seed: u32) -> Option<IndexHeader> {
    if idx.read_tip() != Some(hdr.tip()) {
        return None;
    }
    let n = idx.read_marks();
    let mut locked = 1;
    while locked < n && idx.try_lock_slot(locked) {
        locked += 1;
    }
    // An archive slot holds the WAL until every frame is shipped (as
    // PostgreSQL's replication slots keep WAL segments): the archiver only
    // raises the word, and only to frames published before the sync lock
    // we hold, so what we read stays true until the restart is published.
    let hold = idx.archive_hold();
    let shipped = hold == 0 || hold > hdr.mx_frame;
    let ok = locked == n && idx.nbackfill() == hdr.mx_frame && shipped;
    let mut new = None;
    if ok {
        // The new generation has nothing shipped yet (a failed exchange:
        // the archiver dropped its slot meanwhile, which is as good).
        if hold != 0 {
            idx.cas_archive_hold(hold, 1);
        }
        // Everything before the publication first: a restarter that dies
        // half-way leaves either the old header with an empty hash and no
        // backfill (readers find every page in the database file, which
        // holds them all; the next writer restarts again), or the new one.
        idx.truncate(0);
        idx.set_nbackfill(0);
        idx.set_verified(0);
        // Where the retired generation ended, for the first commit of the
        // new one to record in page 1 (format::PriorGeneration).
        #[cfg(feature = "lineage")]
        idx.set_retired([hdr.ckpt_seq, hdr.mx_frame, hdr.last_cksum]);
        for i in 1..n {
            idx.set_mark(i, if i == 1 { 0 } else { MARK_UNUSED });
        }
        let h = IndexHeader {
            change: hdr.change.wrapping_add(1),
            mx_frame: 0,
            n_pages: hdr.n_pages,
            salt1: hdr.salt1.wrapping_add(1),
            salt2: mix(hdr.salt2 ^ seed ^ hdr.change),
            ckpt_seq: hdr.ckpt_seq.wrapping_add(1),
            last_cksum: 0,
            page_size: hdr.page_size,
            wal_header_valid: 0,
            restart_change: hdr.change.wrapping_add(1),
        };
        idx.set_tip(&h.tip());
        idx.publish_header(&h);
        new = Some(h);
    }
    for i in 1..locked {
        idx.unlock_slot(i);
    }
    new
}

/// The last step of recovery: resets the read marks and the backfill count,
/// publishes `hdr` and marks the region initialised.
pub(crate) fn publish_recovered(idx: &Index<'_>, hdr: &IndexHeader) {
    idx.set_tip(&hdr.tip());
    idx.set_tip_epoch(idx.fence_epoch());
    for i in 1..idx.read_marks() {
        idx.set_mark(i, if i == 1 { 0 } else { MARK_UNUSED });
    }
    idx.set_nbackfill(0);
    // No restart seen: the next generation's predecessor is unknown.
    #[cfg(feature = "lineage")]
    idx.set_retired([0; 3]);
    // Recovery read and checked the chain of every committed frame.
    idx.set_verified(hdr.mx_frame);
    idx.publish_header(hdr);
    idx.mark_initialised();
}

/// A 32-bit mixing function (for salts).
pub(crate) fn mix(mut x: u32) -> u32 {
    x ^= x >> 16;
    x = x.wrapping_mul(0x7feb_352d);
    x ^= x >> 15;
    x = x.wrapping_mul(0x846c_a68b);
    x ^ (x >> 16)
}
