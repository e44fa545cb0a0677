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
//!    never go back after a `Truncate` checkpoint); every dirty page is
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
use crate::options::{CheckpointInfo, CheckpointMode, SyncMode};
use crate::storage::{io_err, Storage};
use crate::wal::checkpoint::{checkpoint, Plan};
use crate::wal::frames::FrameWriter;
use crate::wal::index::IndexHeader;
use crate::wal::locks::Region;
use crate::wal::protocol::{acquire_snapshot, begin_write_protocol};

impl<S: Storage, R: Region, B: AsMut<[u8]>> Connection<S, R, B> {
    /// Begins a read transaction: a snapshot of the last commit, unaffected by
    /// later commits and checkpoints until [`Connection::end_read`] (the
    /// read-mark protocol of [`crate::wal::protocol`], as SQLite's
    /// `walTryBeginRead`). Never waits: a wal-index that keeps changing is
    /// retried [`crate::wal::READ_RETRIES`] times without sleeping.
    ///
    /// Errors: `InvalidArgument` (a transaction is open), `Poisoned`,
    /// `Protocol` (no stable snapshot after the retries).
    pub fn begin_read(&mut self) -> Result<()> {
        self.check_usable()?;
        if !matches!(self.mode, Mode::Idle) {
            return Err(Error::InvalidArgument("a transaction is already open on this connection"));
        }
        let idx = self.geo.index(&self.region)?;
        let (hdr, slot) = acquire_snapshot(&idx)?;
        self.mode = Mode::Read { slot };
        self.txn = self.txn.wrapping_add(1);
        self.pages.enter_snapshot(&hdr, slot == 0, &idx);
        Ok(())
    }

    /// Ends a read transaction (releases its read mark). A no-op when no
    /// read transaction is open.
    pub fn end_read(&mut self) {
        if let Mode::Read { slot } = self.mode {
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
    /// SQLite's `walRestartLog`.
    ///
    /// Errors: `Busy`, `ReadOnly`, `Poisoned`, `Protocol`, `InvalidArgument`
    /// (a transaction is open).
    pub fn begin_write(&mut self) -> Result<()> {
        self.check_idle_writable()?;
        let idx = self.geo.index(&self.region)?;
        let hdr = begin_write_protocol(&idx, self.opts.salt_seed)?;
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
        }
    }

    /// Marks the write transaction failed when `r` is an error (and poisons
    /// on `Io`).
    pub(super) fn fail_txn<T>(&mut self, r: Result<T>) -> Result<T> {
        if r.is_err() {
            if let Mode::Write { base, .. } = self.mode {
                self.mode = Mode::Write { base, failed: true };
            }
        }
        self.poison_on_io(r)
    }

    /// Commits the write transaction (see the module documentation): writes
    /// the dirty pages as WAL frames, the last one a commit frame carrying
    /// the database size; syncs the WAL once in `Full` mode; publishes the
    /// new wal-index header; releases the write lock; then runs a passive
    /// checkpoint if the WAL holds at least `autocheckpoint_frames` frames
    /// (its result, `Busy` included, is not the commit's).
    ///
    /// Returns the commit's LSN ([`format::lsn`]), or `None` for a
    /// transaction that changed nothing. Errors: `InvalidArgument` (no write
    /// transaction, or it failed earlier: it is aborted), `Io` (the
    /// connection is poisoned; reopen), `Full`.
    pub fn commit(&mut self) -> Result<Option<u64>> {
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
        self.mode = Mode::Idle;
        idx.unlock_writer();
        let Some(h) = r? else { return Ok(None) };
        self.stats.commits += 1;
        if self.opts.autocheckpoint_frames > 0 && h.mx_frame >= self.opts.autocheckpoint_frames {
            // The commit is durable and published whatever happens here: a
            // failed automatic checkpoint is not the commit's error (an I/O
            // failure has poisoned the connection; the next call reports it).
            let _ = self.checkpoint_with(CheckpointMode::Passive, self.opts.autocheckpoint_frames / 4);
        }
        Ok(Some(format::lsn(h.ckpt_seq, h.mx_frame)))
    }

    /// Steps 3 to 5 of a commit; `None` when the transaction changed
    /// nothing.
    fn commit_frames(&mut self, base: IndexHeader) -> Result<Option<IndexHeader>> {
        let sync = self.opts.sync;
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
        if dirty == 0 || pg.is_dirty(1) || h.wal_seq < seq {
            h.change_counter = h.change_counter.wrapping_add(1);
            h.wal_seq = h.wal_seq.max(seq);
            pg.set_header(&h)?;
        }
        let n_pages = h.page_count;
        let w = pg.write_commit(n_pages, scr.tmp)?;
        if sync == SyncMode::Full {
            self.stats.syncs += 1;
            self.pages.file_io().wal.sync().map_err(io_err(crate::error::FileKind::Wal))?;
        }
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
        self.geo.index(&self.region)?.publish_header(&new);
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
        self.checkpoint_with(mode, 0)
    }

    /// A checkpoint that skips a backfill that cannot reach the last commit
    /// frame when it would copy fewer than `min_progress` frames (the
    /// automatic checkpoint passes a quarter of its threshold: under readers
    /// whose snapshots lag a commit or two behind, it then copies in batches
    /// instead of syncing the WAL for every commit).
    fn checkpoint_with(&mut self, mode: CheckpointMode, min_progress: u32) -> Result<CheckpointInfo> {
        self.check_idle_writable()?;
        let idx = self.geo.index(&self.region)?;
        let plan = Plan {
            mode,
            sync: self.opts.sync,
            seed: self.opts.salt_seed,
            min_progress,
            verify: self.opts.verify_checkpoints,
        };
        let r = checkpoint(self.pages.file_io(), &idx, plan, &mut self.stats.syncs);
        let r = self.poison_on_io(r);
        if r.is_ok() {
            self.stats.checkpoints += 1;
        }
        r
    }
}
