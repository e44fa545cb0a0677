//! The transaction state machine of a connection, and the commit.
//!
//! # A commit, step by step
//!
//! 1. **Begin** ([`Connection::begin_write`]): take the write lock (`Busy` at
//!    once if held), read the header, restart the WAL first if it is fully
//!    backfilled and unused ([`crate::wal::protocol`]). The transaction's
//!    frame writer starts from the header: last frame, chain checksum,
//!    salts, checkpoint sequence.
//! 2. **Modify**: puts and deletes run the B+tree over the pager; a cache
//!    full of dirty pages spills one to the WAL as a non-commit frame. A
//!    failed operation marks the transaction failed: it can only be aborted.
//! 3. **Write the frames** (`commit_frames`): page 1 goes out with the
//!    commit when it is dirty, when only spilled frames exist (it then
//!    carries the commit flag), or when this is the first commit of a WAL
//!    generation (its `wal_seq`, the generation floor, rises to it, so LSNs
//!    never go back after a `Truncate` checkpoint, and it records where the
//!    previous generation ended, `format::PriorGeneration`); every dirty page is
//!    appended, the last one as the commit frame with the database size.
//! 4. **Sync** the WAL once in `SyncMode::Full`.
//! 5. **Publish** the new wal-index header: from this store on, new readers
//!    see the commit. Then release the write lock. On any error before
//!    publication the frames are removed from the wal-index and the cache
//!    emptied; an `Io` error poisons the region.
//! 6. **Autocheckpoint**: a `Passive` checkpoint when the WAL holds at least
//!    `autocheckpoint_frames`; its result never fails the durable commit.
//!
//! **Abort** removes the transaction's frames from the wal-index, empties
//! the cache and releases the write lock; spilled frames stay in the file
//! after the last commit frame, where recovery never accepts them.

use super::{Connection, Mode};
use crate::error::{Error, Result};
use crate::format;
use crate::options::{CheckpointCause, CheckpointInfo, CheckpointMode, SyncMode};
use crate::storage::{io_err, Storage};
use crate::wal::checkpoint::{checkpoint, Plan};
use crate::wal::frames::FrameWriter;
use crate::wal::index::{Index, IndexHeader};
use crate::wal::locks::Region;
use crate::wal::protocol::{acquire_snapshot, begin_write_protocol, commit_state, flush_protocol, safe_frame};

impl<S: Storage, R: Region, B: AsMut<[u8]>> Connection<S, R, B> {
    /// Begins a read transaction: a snapshot of the last commit, unaffected by
    /// later commits and checkpoints until [`Connection::end_read`] (the
    /// read-mark protocol of [`crate::wal::protocol`], as SQLite's
    /// `walTryBeginRead`). Never waits: a wal-index that keeps changing is
    /// retried [`crate::wal::READ_RETRIES`] times without sleeping.
    ///
    /// Errors: `InvalidArgument` (a transaction is open), `Poisoned`,
    /// `Protocol` (no stable snapshot after the retries).
    // Never inlined: the snapshot protocol's headers would otherwise stay
    // in the caller's frame while it reads (peak stack, `docs/EMBEDDED.md`).
    #[inline(never)]
    pub fn begin_read(&mut self) -> Result<()> {
        self.check_usable()?;
        if !matches!(self.mode, Mode::Idle) {
            return Err(Error::InvalidArgument("a transaction is already open on this connection"));
        }
        let idx = self.geo.index(&self.region)?;
        let (hdr, slot) = acquire_snapshot(&idx)?;
        self.mode = Mode::Read { slot, hdr };
        self.txn = self.txn.wrapping_add(1);
        self.pages.enter_snapshot(&hdr, slot == 0, &idx);
        Ok(())
    }

    /// Ends a read transaction (releases its read mark). A no-op when no
    /// read transaction is open.
    pub fn end_read(&mut self) {
        if let Mode::Read { slot, .. } = self.mode {
            if let Ok(idx) = self.geo.index(&self.region) {
                idx.unshare(slot);
            }
            self.mode = Mode::Idle;
        }
    }

    /// Begins the write transaction: takes the write lock (`Busy` at once
    /// if another connection holds it; the std backend waits up to its busy
    /// timeout). If every WAL frame is backfilled and no reader uses the
    /// WAL, the WAL restarts first (new salts, next checkpoint sequence), as
    /// SQLite's `walRestartLog` (and an archive slot has shipped every
    /// frame, see [`crate::connection::archive`]).
    ///
    /// Errors: `Busy`, `ReadOnly`, `Poisoned`, `Protocol`, `InvalidArgument`
    /// (a transaction is open), `ArchiveLag` (the archive slot's lag limit
    /// is passed; nothing was begun).
    pub fn begin_write(&mut self) -> Result<()> {
        self.check_idle_writable()?;
        let idx = self.geo.index(&self.region)?;
        let hdr = begin_write_protocol(&idx, self.opts.salt_seed)?;
        if let Err(e) = self.check_archive_lag(&idx, &hdr) {
            idx.unlock_writer();
            return Err(e);
        }
        self.mode = Mode::Write { base: hdr, failed: false };
        self.txn = self.txn.wrapping_add(1);
        self.gen = self.gen.wrapping_add(1);
        self.pages
            .set_writer(Some(FrameWriter::new(&hdr, self.opts.sync != SyncMode::Off, idx.db_id())));
        self.pages.enter_snapshot(&hdr, false, &idx);
        Ok(())
    }

    /// The header the write transaction started from; errors when no
    /// usable write transaction is open.
    pub(super) fn write_state(&self) -> Result<IndexHeader> {
        match self.mode {
            Mode::Write { failed: true, .. } => Err(Error::InvalidArgument("the write transaction failed earlier; abort it")),
            Mode::Write { base, .. } => Ok(base),
            Mode::Read { .. } => Err(Error::ReadOnly),
            Mode::Idle => Err(Error::InvalidArgument("no transaction is open")),
            Mode::Committing { .. } => Err(Error::InvalidArgument("the commit is waiting for its sync: call commit again")),
        }
    }

    /// Marks the write transaction failed when `r` is an error (and poisons
    /// on `Io`).
    pub(super) fn fail_txn<T>(&mut self, r: Result<T>) -> Result<T> {
        if let Err(e) = &r {
            self.fail_with(e);
        }
        r
    }

    /// The work of [`Connection::fail_txn`], one copy for every `T`.
    #[inline(never)]
    fn fail_with(&mut self, e: &Error) {
        if let Mode::Write { base, .. } = self.mode {
            self.mode = Mode::Write { base, failed: true };
        }
        self.poison_if_io(e);
    }

    /// Commits the write transaction (see the module documentation): writes
    /// the dirty pages as WAL frames, the last one a commit frame carrying
    /// the database size, sets the tip and releases the write lock; then
    /// makes the commit durable and visible: syncs the WAL once in `Full`
    /// mode and publishes the new wal-index header, for this commit and
    /// every commit appended before it (group commit,
    /// `wal::protocol::flush_protocol`). Then runs a passive checkpoint if
    /// the WAL holds at least `autocheckpoint_frames` frames (its result,
    /// `Busy` included, is not the commit's).
    ///
    /// When another connection is syncing meanwhile, this returns `Busy`
    /// with the commit appended and the connection waiting for it: call
    /// `commit` again (the std backend does, for up to its busy timeout)
    /// until it returns the LSN; that connection's sync, or the next one,
    /// covers it. [`Connection::abandon_commit`] stops waiting.
    ///
    /// Returns the commit's LSN ([`format::lsn`]), or `None` for a
    /// transaction that changed nothing. Errors: `Busy` (waiting, see
    /// above), `Protocol` (waiting too: the tip was torn under a writer
    /// preempted while it set it; call `commit` again), `InvalidArgument` (no write transaction, or it failed
    /// earlier: it is aborted), `Io` (the connection is poisoned; reopen;
    /// or, with kind `Other`, another connection's sync of this commit
    /// failed: the commit is void), `Full`.
    pub fn commit(&mut self) -> Result<Option<u64>> {
        if let Mode::Committing { .. } = self.mode {
            return self.finish_commit(true);
        }
        match self.append_commit()? {
            None => Ok(None),
            Some(_) => self.finish_commit(true),
        }
    }

    /// The first half of [`Connection::commit`]: appends the commit to the
    /// WAL, sets the tip and releases the write lock, without syncing or
    /// publishing; the connection then waits for its commit (`commit`
    /// finishes it). Readers do not see the commit yet; the next writer
    /// builds on it. Returns the LSN the commit will have, or `None` for a
    /// transaction that changed nothing (finished then). Errors: as
    /// `commit`'s.
    // Never inlined into `commit`: the frames' temporaries (headers, the
    // frame writer's state) must be off the stack while `finish_commit`
    // syncs and publishes (`docs/EMBEDDED.md`, peak stack).
    #[inline(never)]
    pub fn append_commit(&mut self) -> Result<Option<u64>> {
        let base = match self.write_state() {
            Ok(b) => b,
            Err(e) => {
                if matches!(self.mode, Mode::Write { .. }) {
                    self.abort();
                }
                return Err(e);
            }
        };
        let r = self.commit_frames(base);
        let r = self.poison_on_io(r);
        let idx = self.geo.index(&self.region)?;
        if r.is_err() {
            idx.truncate(base.mx_frame);
            self.pages.clear_cache();
        }
        self.pages.set_writer(None);
        let mine = match r {
            Ok(Some(h)) => h,
            other => {
                self.mode = Mode::Idle;
                idx.unlock_writer();
                return other.map(|_| None);
            }
        };
        idx.set_tip(&mine.tip());
        let epoch = idx.tip_epoch();
        idx.unlock_writer();
        self.mode = Mode::Committing { mine, epoch };
        Ok(Some(format::lsn(mine.ckpt_seq, mine.mx_frame)))
    }

    /// Finishes a commit waiting for its sync (`commit` returned `Busy`)
    /// only if a published header already covers it, without syncing:
    /// `Busy` while it still waits. What a committer calls when it knows
    /// that another connection is syncing (the std backend's group commit:
    /// waiters look, the one leader syncs). Returns and errors as
    /// [`Connection::commit`]; `InvalidArgument` when no commit is waiting.
    pub fn commit_if_covered(&mut self) -> Result<Option<u64>> {
        self.finish_commit(false)
    }

    /// Makes durable and visible the commits other connections appended
    /// and still wait for (the group commit's leader syncing once more for
    /// the commits appended during its own sync): syncs the WAL in `Full`
    /// mode and publishes the tip, as [`Connection::commit`] does
    /// (`wal::protocol::flush_protocol`). Returns whether there was
    /// anything to publish. Needs no transaction open. Errors: `Busy`
    /// (another connection is syncing: its sync covers them, or the next
    /// does), `Io` (this connection is poisoned; the waiting commits are
    /// void), `Protocol`, `ReadOnly`.
    pub fn flush(&mut self) -> Result<bool> {
        self.check_idle_writable()?;
        let idx = self.geo.index(&self.region)?;
        let before = idx.read_header();
        let r = flush_wal(
            &idx,
            self.opts.sync == SyncMode::Full,
            &mut self.stats.syncs,
            self.pages.file_io().wal,
        );
        let h = self.poison_on_io(r)?;
        Ok(before.is_none_or(|b| h.is_after(&b)))
    }

    /// The second half of a commit: done once a published header covers
    /// it; else, with `flush`, syncs and publishes itself if no other
    /// connection is syncing; else `Busy`.
    fn finish_commit(&mut self, flush: bool) -> Result<Option<u64>> {
        let Mode::Committing { mine, epoch } = self.mode else {
            return Err(Error::InvalidArgument("no commit is waiting"));
        };
        let idx = self.geo.index(&self.region)?;
        let mut state = commit_state(&idx, &mine, epoch);
        if state.is_none() && flush {
            match flush_wal(
                &idx,
                self.opts.sync == SyncMode::Full,
                &mut self.stats.syncs,
                self.pages.file_io().wal,
            ) {
                Ok(_) => state = commit_state(&idx, &mine, epoch),
                // Still waiting: another connection is syncing, or the tip
                // is torn under a writer preempted while it sets it (and
                // holds the write lock); the commit stays appended.
                Err(e @ (Error::Busy | Error::Protocol)) => return Err(e),
                Err(e) => {
                    self.abandon_commit();
                    return self.poison_on_io(Err(e));
                }
            }
        }
        match state {
            Some(true) => {}
            Some(false) => {
                self.abandon_commit();
                return Err(Error::Io {
                    file: crate::error::FileKind::Wal,
                    kind: embedded_io::ErrorKind::Other,
                });
            }
            None => return Err(Error::Busy),
        }
        self.mode = Mode::Idle;
        self.stats.commits += 1;
        // The commit is durable and published whatever happens here: a
        // failed automatic checkpoint is not the commit's error (an I/O
        // failure has poisoned the connection; the next call reports it).
        let _ = self.auto_checkpoint(mine.mx_frame);
        Ok(Some(format::lsn(mine.ckpt_seq, mine.mx_frame)))
    }

    /// Stops waiting for an appended commit (`commit` returned `Busy`): the
    /// connection is idle again and its cache forgets the commit's pages.
    /// The commit itself stays appended: the next sync by any connection
    /// may still make it durable and visible, or a failed one void it (it
    /// was not acknowledged either way). A no-op otherwise.
    pub fn abandon_commit(&mut self) {
        if let Mode::Committing { .. } = self.mode {
            self.pages.clear_cache();
            self.mode = Mode::Idle;
        }
    }

    /// Steps 3 to 5 of a commit up to the append: `None` when the
    /// transaction changed nothing.
    fn commit_frames(&mut self, base: IndexHeader) -> Result<Option<IndexHeader>> {
        let (mut pg, scr) = self.parts()?;
        let spilled = pg.spilled();
        let dirty = pg.dirty_count();
        if dirty == 0 && spilled == 0 {
            return Ok(None);
        }
        let mut h = pg.header()?;
        let seq = pg.writer_ckpt_seq();
        // Page 1 goes out with this commit when it is dirty anyway, when it
        // must carry the commit flag after a spill, or when this is the first
        // commit of a WAL generation: then the header's WAL generation floor
        // rises to it, so that a recovery that finds the WAL empty (after a
        // truncate checkpoint) starts above every LSN already given out.
        // The first commit of a generation also records where the previous
        // one ended (format::PriorGeneration; later commits copy it forward).
        // (Without the feature `lineage` the record is left as it is: a
        // record that names no generation but the one before the current
        // generation of page 1 reads as unknown.)
        if dirty == 0 || pg.is_dirty(1) || h.wal_seq < seq {
            #[cfg(feature = "lineage")]
            let first = h.wal_seq < seq;
            h.change_counter = h.change_counter.wrapping_add(1);
            h.wal_seq = h.wal_seq.max(seq);
            pg.set_header(&h)?;
            #[cfg(feature = "lineage")]
            if first {
                pg.set_prior(seq)?;
            }
        }
        let n_pages = h.page_count;
        let w = pg.write_commit(n_pages, scr.tmp)?;
        let new = IndexHeader {
            change: base.change.wrapping_add(1),
            mx_frame: w.last_frame,
            n_pages,
            salt1: w.salt1,
            salt2: w.salt2,
            ckpt_seq: w.ckpt_seq,
            last_cksum: w.chain(),
            page_size: base.page_size,
            wal_header_valid: 1,
            restart_change: base.restart_change,
        };
        self.pages.set_tag(&new);
        Ok(Some(new))
    }

    /// Aborts the write transaction: drops every dirty page, forgets spilled
    /// frames (they stay in the WAL file past the last commit frame, where
    /// recovery ignores them), releases the write lock. A no-op without a
    /// write transaction.
    pub fn abort(&mut self) {
        if let Mode::Write { base, .. } = self.mode {
            if let Ok(idx) = self.geo.index(&self.region) {
                idx.truncate(base.mx_frame);
                self.pages.clear_cache();
                self.pages.set_writer(None);
                self.mode = Mode::Idle;
                idx.unlock_writer();
            }
        }
    }

    /// Runs a checkpoint ([`crate::wal`]'s `checkpoint` module has the
    /// order of work); no transaction may be open on this connection.
    ///
    /// Copies into the database file the newest frame of each page among
    /// the frames not yet backfilled, never past the smallest read mark in
    /// use, between a WAL sync and a database sync (unless `Off`), then
    /// records the new backfill count. `Full`, `Restart` and `Truncate`
    /// take the write lock and return `Busy` when they cannot copy every
    /// frame (a reader's snapshot needs them); `Restart` then resets the
    /// WAL to its start with new salts when no reader uses it (else
    /// `Busy`); `Truncate` also truncates the WAL file to zero bytes.
    ///
    /// Errors: `Busy`, `ReadOnly`, `Poisoned`, `InvalidArgument` (a
    /// transaction is open), `Corrupt` (a WAL frame failed its check, or a
    /// copied page read back different), `Io` (poisons).
    pub fn checkpoint(&mut self, mode: CheckpointMode) -> Result<CheckpointInfo> {
        self.checkpoint_with(mode, 0, CheckpointCause::Manual)
    }

    /// Why an automatic checkpoint is due for a WAL of `frames` frames, if
    /// it is: the frame threshold or the soft size target reached (`Size`),
    /// or the interval passed with frames not yet copied (`Time`).
    fn checkpoint_due(&self, frames: u32) -> Option<CheckpointCause> {
        let o = &self.opts;
        if o.autocheckpoint_frames > 0 && frames >= o.autocheckpoint_frames {
            return Some(CheckpointCause::Size);
        }
        let bytes = format::frame_offset(frames + 1, self.page_size());
        if o.max_wal_bytes > 0 && frames > 0 && bytes >= o.max_wal_bytes {
            return Some(CheckpointCause::Size);
        }
        let clock = self.clock?;
        if o.checkpoint_interval_ms == 0 {
            return None;
        }
        let idx = self.geo.index(&self.region).ok()?;
        let now = clock() as u32;
        let last = idx.last_checkpoint_ms();
        if last == 0 {
            // The first look at the clock starts the interval.
            idx.set_last_checkpoint_ms(now);
            return None;
        }
        let due = now.wrapping_sub(last) >= o.checkpoint_interval_ms && idx.nbackfill() < frames;
        due.then_some(CheckpointCause::Time)
    }

    /// The automatic checkpoint after a commit that leaves `frames` frames:
    /// a passive one, within the page budget, when one is due.
    fn auto_checkpoint(&mut self, frames: u32) -> Result<Option<CheckpointInfo>> {
        let Some(cause) = self.checkpoint_due(frames) else {
            return Ok(None);
        };
        // Under readers whose snapshots lag a commit or two behind, copy in
        // batches of a quarter of the threshold instead of syncing for
        // every commit.
        let min_progress = if cause == CheckpointCause::Size {
            self.opts.autocheckpoint_frames / 4
        } else {
            0
        };
        self.checkpoint_with(CheckpointMode::Passive, min_progress, cause).map(Some)
    }

    /// Runs the automatic checkpoint if one is due (by size, or by time
    /// with a clock): what a device's idle loop, or the std backend's
    /// background checkpointer, calls between commits. Returns the
    /// checkpoint's result, or `None` when none was due. Errors: as
    /// [`Connection::checkpoint`]'s (`Busy` when another connection is
    /// checkpointing).
    pub fn tick(&mut self) -> Result<Option<CheckpointInfo>> {
        self.check_idle_writable()?;
        let frames = self.wal_state()?.0.mx_frame;
        self.auto_checkpoint(frames)
    }

    /// A checkpoint that skips a backfill that cannot reach the last commit
    /// frame when it would copy fewer than `min_progress` frames (the
    /// automatic checkpoint passes a quarter of its threshold: under readers
    /// whose snapshots lag a commit or two behind, it then copies in batches
    /// instead of syncing the WAL for every commit).
    // Never inlined: the automatic checkpoint's frame (the checkpoint's
    // plan, headers and frame buffers) would otherwise sit under
    // `finish_commit` while it publishes, the deepest path of a first
    // commit (`docs/EMBEDDED.md`, peak stack).
    #[inline(never)]
    fn checkpoint_with(&mut self, mode: CheckpointMode, min_progress: u32, cause: CheckpointCause) -> Result<CheckpointInfo> {
        #[cfg(feature = "checkpoint-stats")]
        let started = self.clock.map(|c| c());
        self.check_idle_writable()?;
        let idx = self.geo.index(&self.region)?;
        // Commits appended by other connections and waiting for their sync
        // are made durable and visible first: a checkpoint copies only
        // published (durable) commits, and `Full` and above promise every
        // commit. A passive checkpoint does not wait for another syncer.
        match flush_wal(
            &idx,
            self.opts.sync == SyncMode::Full,
            &mut self.stats.syncs,
            self.pages.file_io().wal,
        ) {
            Ok(_) => {}
            Err(Error::Busy) if mode == CheckpointMode::Passive => {}
            Err(e) => return self.poison_on_io(Err(e)),
        }
        let plan = Plan {
            mode,
            sync: self.opts.sync,
            seed: self.opts.salt_seed,
            min_progress,
            verify: self.opts.verify_checkpoints,
            max_pages: if cfg!(feature = "checkpoint-budgets") && cause != CheckpointCause::Manual {
                self.opts.checkpoint_budget_pages
            } else {
                0
            },
            deadline: match (self.clock, self.opts.checkpoint_budget_ms) {
                (Some(clock), ms) if cfg!(feature = "checkpoint-budgets") && ms > 0 && cause != CheckpointCause::Manual => {
                    Some((clock, clock().saturating_add(u64::from(ms))))
                }
                _ => None,
            },
        };
        let mut pages = 0;
        // Cache slots are lent only to a backfill that will run (the skip
        // rule of `backfill_protocol`): under readers that hold the WAL,
        // every commit past the threshold calls here, and would otherwise
        // drop 13 cached pages each time for nothing.
        let runs = cfg!(feature = "checkpoint-runs")
            && idx.read_header().is_some_and(|h| {
                let (nb, safe) = (idx.nbackfill(), safe_frame(&idx, h.mx_frame));
                safe > nb && (safe == h.mx_frame || safe - nb >= min_progress)
            });
        let r = checkpoint(self.pages.checkpoint_io(runs), &idx, plan, &mut self.stats.syncs, &mut pages);
        let r = self.poison_on_io(r);
        self.stats.checkpoint_pages += pages;
        if r.is_ok() {
            self.stats.checkpoints += 1;
            let now = self.clock.map(|c| c());
            if let Ok(idx) = self.geo.index(&self.region) {
                if let Some(now) = now {
                    idx.set_last_checkpoint_ms(now as u32);
                }
                #[cfg(feature = "checkpoint-stats")]
                idx.count_checkpoint(cause, pages, now.zip(started).map_or(0, |(n, s)| n.saturating_sub(s)));
            }
        }
        r
    }
}

/// Makes the commits appended so far durable and visible
/// (`wal::protocol::flush_protocol`), syncing `wal` in `Full` mode (`full`)
/// and counting the sync in `syncs`. One copy for the commit and the
/// checkpoint.
#[inline(never)]
fn flush_wal<S: Storage>(idx: &Index<'_>, full: bool, syncs: &mut u64, wal: &mut S) -> Result<IndexHeader> {
    flush_protocol(idx, || {
        if full {
            *syncs += 1;
            wal.sync().map_err(io_err(crate::error::FileKind::Wal))
        } else {
            Ok(())
        }
    })
}
