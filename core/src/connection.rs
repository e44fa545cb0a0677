//! A connection: one handle on a database, holding at most one transaction
//! at a time (as a SQLite connection). Several connections share one
//! wal-index region; each has its own storage handles and page cache.

use core::ops::Deref;

use crate::btree::{leaf_cell, Scratch, Tree};
use crate::cursor::{self, Cursor};
use crate::error::{corrupt, Error, FileKind, Result};
use crate::format::{self, check_page_size, max_key_len, DbHeader, FrameHeader, WalHeader, FRAME_HEADER_LEN, WAL_HEADER_LEN};
use crate::pager::{Pager, PagerState, ReadCtx, WriteCtx, SLOT_META};
use crate::storage::{io_err, Storage};
use crate::sync::{fence, spin_hint, AtomicU32, Ordering};
use crate::verify::{VerifyReport, Walk};
use crate::walindex::{Index, IndexHeader, MARK_UNUSED};

/// When a commit's frames are made durable (SQLite's `PRAGMA synchronous`
/// in WAL mode).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SyncMode {
    /// Never sync. An OS crash or power cut may corrupt the database; a
    /// process crash loses nothing.
    Off,
    /// Sync the WAL before a checkpoint copies frames and the database file
    /// after it, and a new WAL header before the first frame of its
    /// generation; no sync per commit. A power cut may lose the last commits
    /// but never consistency.
    Normal,
    /// Sync the WAL on every commit, one sync per commit: an acknowledged
    /// commit survives a power cut. The default. Two exceptions add syncs:
    /// the first commit of a WAL generation (after a restart) syncs the new
    /// WAL header before its frames, as SQLite's `syncHeader`; a commit that
    /// runs the automatic checkpoint adds that checkpoint's syncs of the WAL
    /// and the database file.
    #[default]
    Full,
}

/// How much a checkpoint does (SQLite's `sqlite3_wal_checkpoint_v2` modes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckpointMode {
    /// Copy as many frames as possible without waiting for anyone.
    Passive,
    /// Take the write lock and copy every frame; `Busy` if a reader's
    /// snapshot still needs frames, or a writer is active.
    Full,
    /// As `Full`, then restart the WAL (new salts) so that the next writer
    /// writes from its beginning; `Busy` if a reader still uses the WAL.
    Restart,
    /// As `Restart`, then truncate the WAL file to zero bytes.
    Truncate,
}

/// Result of a checkpoint, in frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CheckpointInfo {
    /// Frames in the WAL after the checkpoint (0 after a restart).
    pub wal_frames: u32,
    /// Frames of those already copied into the database file.
    pub backfilled: u32,
}

/// Options of a connection. The first connection to a region fixes the
/// region's layout (`max_wal_frames`, `read_marks`); `page_size` is used only
/// when the database is created.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    /// Page size in bytes for a new database: a power of two, 512..=65536.
    pub page_size: u32,
    /// Durability of commits.
    pub sync: SyncMode,
    /// Run a passive checkpoint after a commit that leaves at least this many
    /// frames in the WAL; 0 disables. Default 1,000 frames.
    pub autocheckpoint_frames: u32,
    /// Frames the wal-index can hold (the WAL's largest size in frames).
    pub max_wal_frames: u32,
    /// Read-mark slots, slot 0 included (2..=64). Default 8.
    pub read_marks: u32,
    /// Refuse writes.
    pub read_only: bool,
    /// Create the database when the database storage is empty.
    pub create: bool,
    /// Seed for WAL salts (any value; a random one is better).
    pub salt_seed: u32,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            page_size: format::DEFAULT_PAGE_SIZE,
            sync: SyncMode::Full,
            autocheckpoint_frames: 1000,
            max_wal_frames: 4096,
            read_marks: 8,
            read_only: false,
            create: true,
            salt_seed: 0x9e37_79b9,
        }
    }
}

/// Cache memory, in bytes, a connection needs for `cache_pages` pages of
/// `page_size` bytes: `(cache_pages + 2) * page_size + 8 * cache_pages` (two
/// scratch pages for splits and merges, 8 bytes of metadata per slot).
pub const fn cache_mem_len(page_size: u32, cache_pages: u32) -> usize {
    (cache_pages as usize + 2) * page_size as usize + SLOT_META * cache_pages as usize
}

/// Fewest cache pages a connection accepts.
pub const MIN_CACHE_PAGES: u32 = 4;

/// Retries of `begin_read` before `Error::Protocol`.
const READ_RETRIES: u32 = if cfg!(loom) { 3 } else { 1000 };

/// A table of the open transaction: a handle valid until the transaction
/// ends or a table is dropped in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Table {
    root: u32,
    txn: u32,
}

#[derive(Debug, Clone, Copy)]
enum Mode {
    Idle,
    Read { slot: usize },
    Write { base: IndexHeader, failed: bool },
}

/// Counters since the connection opened.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ConnStats {
    /// Commits that wrote at least one frame.
    pub commits: u64,
    /// Checkpoints that ran (manual and automatic).
    pub checkpoints: u64,
    /// Syncs of the WAL and the database file.
    pub syncs: u64,
    /// WAL frames written.
    pub frames_written: u64,
    /// Frames recovered from the WAL when this connection ran recovery.
    pub recovered_frames: u32,
}

/// A connection to a database: two storages (database file, WAL), a shared
/// wal-index region `R` (a `&'static [AtomicU32]`, an `Arc<[AtomicU32]>`...),
/// and cache memory `B` of [`cache_mem_len`] bytes.
///
/// A connection runs one transaction at a time: `begin_read`/`end_read` or
/// `begin_write`/`commit`/`abort`. Reads see a snapshot; one writer at a time
/// across all connections of the region.
pub struct Connection<S: Storage, R: Deref<Target = [AtomicU32]>, B: AsMut<[u8]>> {
    io: Io<S, B>,
    region: R,
    opts: Options,
    max_frames: u32,
    read_marks: u32,
    mode: Mode,
    txn: u32,
    gen: u32,
}

/// The connection's own storage handles and memory (everything but the
/// shared region, so that both can be borrowed at once).
struct Io<S: Storage, B: AsMut<[u8]>> {
    db: S,
    wal: S,
    mem: B,
    st: PagerState,
    poisoned: bool,
    stats: ConnStats,
}

macro_rules! parts {
    ($s:ident) => {{
        let ps = $s.io.st.page_size;
        let idx = Index::layout(&$s.region, $s.max_frames, $s.read_marks)?;
        let mem = $s.io.mem.as_mut();
        let (scr, cache) = mem.split_at_mut(2 * ps);
        let (tmp, rest) = scr.split_at_mut(ps);
        let (cell, sep) = rest.split_at_mut(ps / 2);
        (
            Pager {
                mem: cache,
                st: &mut $s.io.st,
                db: &mut $s.io.db,
                wal: &mut $s.io.wal,
                idx,
            },
            Scratch { tmp, cell, sep },
        )
    }};
}

impl<S: Storage, R: Deref<Target = [AtomicU32]>, B: AsMut<[u8]>> Connection<S, R, B> {
    /// Opens a connection. If the region is not initialised (all zeros),
    /// this connection runs recovery: it validates the database header,
    /// scans the WAL (salts and chained checksums, up to the last commit
    /// frame) and builds the wal-index; when neither file holds a database
    /// and `opts.create` is set, it then creates one as its first commit
    /// (see `create_database`). Open the first connection of a region before
    /// any other uses it.
    ///
    /// Errors: `InvalidArgument` (options, too little cache memory, region
    /// too small, empty database without `create`), `Corrupt` and
    /// `UnsupportedVersion` (database header), `Full` (the WAL has more
    /// frames than `max_wal_frames`), `Io`.
    pub fn open(mut db: S, mut wal: S, region: R, mut mem: B, opts: Options) -> Result<Self> {
        format::check_page_size(opts.page_size)?;
        let (max_frames, read_marks, recovered, page_size, fresh);
        match Index::attach(&region)? {
            Some(idx) => {
                max_frames = idx.capacity();
                read_marks = idx.read_marks() as u32;
                let h = read_header_retry(&idx)?;
                page_size = h.page_size;
                recovered = 0;
                fresh = false;
            }
            None => {
                let idx = Index::layout(&region, opts.max_wal_frames, opts.read_marks)?;
                max_frames = opts.max_wal_frames;
                read_marks = opts.read_marks;
                let r = recover(&mut db, &mut wal, &idx, mem.as_mut(), &opts)?;
                page_size = r.page_size;
                recovered = r.frames;
                fresh = r.fresh;
            }
        }
        let len = mem.as_mut().len();
        let ps = page_size as usize;
        let nslots = len.saturating_sub(2 * ps) / (ps + SLOT_META);
        if nslots < MIN_CACHE_PAGES as usize {
            return Err(Error::InvalidArgument("cache memory below cache_mem_len(page_size, 4)"));
        }
        let mut c = Connection {
            io: Io {
                db,
                wal,
                mem,
                st: PagerState::new(ps, nslots),
                poisoned: false,
                stats: ConnStats {
                    recovered_frames: recovered,
                    ..ConnStats::default()
                },
            },
            region,
            opts,
            max_frames,
            read_marks,
            mode: Mode::Idle,
            txn: 0,
            gen: 0,
        };
        let (mut pg, _) = parts!(c);
        pg.clear();
        if fresh {
            c.create_database()?;
        }
        Ok(c)
    }

    /// Creates the database as its first commit: page 1 (the header), the
    /// empty catalog (page 2) and the empty default table (page 3) go to
    /// the WAL as frames, the third a commit frame; the database file stays
    /// empty until a checkpoint. A crash before the commit is durable
    /// leaves no committed frame, and the next open creates it again.
    fn create_database(&mut self) -> Result<()> {
        self.begin_write()?;
        let r = (|| {
            let ckpt_seq = self.io.st.write.map(|w| w.ckpt_seq).unwrap_or(0);
            let ps = self.io.st.page_size;
            let (mut pg, _) = parts!(self);
            let h = DbHeader {
                page_size: ps as u32,
                page_count: 3,
                freelist_head: 0,
                freelist_count: 0,
                catalog_root: 2,
                default_root: 3,
                change_counter: 0,
                wal_seq: ckpt_seq,
            };
            h.encode(pg.fresh(1)?);
            for pgno in [2, 3] {
                let page = pg.fresh(pgno)?;
                page[0] = format::PT_LEAF;
                format::put_u32(page, 4, (ps - format::PAGE_TRAILER) as u32);
            }
            Ok(())
        })();
        self.fail_txn(r)?;
        self.commit().map(drop)
    }

    /// Page size of the database in bytes.
    pub fn page_size(&self) -> u32 {
        self.io.st.page_size as u32
    }
    /// Pages the cache holds.
    pub fn cache_pages(&self) -> usize {
        self.io.st.nslots
    }
    /// Largest key in bytes at this page size (see [`format::max_key_len`]).
    pub fn max_key_len(&self) -> usize {
        max_key_len(self.page_size())
    }
    /// The options the connection was opened with.
    pub fn options(&self) -> &Options {
        &self.opts
    }
    /// Counters since open.
    pub fn stats(&self) -> ConnStats {
        ConnStats {
            frames_written: self.io.st.frames_written,
            syncs: self.io.stats.syncs + self.io.st.header_syncs,
            ..self.io.stats
        }
    }
    /// Whether a transaction is open, and whether it is a write transaction.
    pub fn in_transaction(&self) -> Option<bool> {
        match self.mode {
            Mode::Idle => None,
            Mode::Read { .. } => Some(false),
            Mode::Write { .. } => Some(true),
        }
    }

    /// The published wal-index header: frames in the WAL (`mx_frame`), pages,
    /// salts, checkpoint sequence; and the backfilled frame count.
    pub fn wal_state(&self) -> Result<(IndexHeader, u32)> {
        let idx = Index::layout(&self.region, self.max_frames, self.read_marks)?;
        Ok((read_header_retry(&idx)?, idx.nbackfill()))
    }

    fn check_usable(&self) -> Result<()> {
        let idx = Index::layout(&self.region, self.max_frames, self.read_marks)?;
        if self.io.poisoned || idx.poisoned() {
            return Err(Error::Poisoned);
        }
        Ok(())
    }

    /// Usable, writable, and no transaction open.
    fn check_idle_writable(&self) -> Result<()> {
        self.check_usable()?;
        if self.opts.read_only {
            return Err(Error::ReadOnly);
        }
        if !matches!(self.mode, Mode::Idle) {
            return Err(Error::InvalidArgument("a transaction is already open on this connection"));
        }
        Ok(())
    }

    fn poison_on_io<T>(&mut self, r: Result<T>) -> Result<T> {
        let idx = Index::layout(&self.region, self.max_frames, self.read_marks)?;
        self.io.poison_on_io(&idx, r)
    }

    // ------------------------------------------------------------------
    // Transactions
    // ------------------------------------------------------------------

    /// Begins a read transaction: a snapshot of the last commit, unaffected by
    /// later commits and checkpoints until [`Connection::end_read`].
    ///
    /// Protocol (as SQLite's `walTryBeginRead`): read the wal-index header;
    /// if every WAL frame is backfilled, share read-mark slot 0 and ignore the
    /// WAL; otherwise share a slot whose mark is the header's last frame
    /// (setting a free slot's mark if none matches), or else the slot with
    /// the largest mark below it. Then re-read the header: if it changed,
    /// release and retry. A checkpoint never copies frames past a shared
    /// mark, and a WAL restart needs every slot, so the snapshot stays valid.
    ///
    /// Errors: `InvalidArgument` (a transaction is open), `Poisoned`,
    /// `Protocol` (no stable snapshot after 1,000 attempts).
    pub fn begin_read(&mut self) -> Result<()> {
        self.check_usable()?;
        if !matches!(self.mode, Mode::Idle) {
            return Err(Error::InvalidArgument("a transaction is already open on this connection"));
        }
        let idx = Index::layout(&self.region, self.max_frames, self.read_marks)?;
        let (hdr, slot) = acquire_snapshot(&idx)?;
        self.mode = Mode::Read { slot };
        self.txn = self.txn.wrapping_add(1);
        self.enter_snapshot(hdr, slot == 0)
    }

    fn enter_snapshot(&mut self, hdr: IndexHeader, db_only: bool) -> Result<()> {
        let (mut pg, _) = parts!(self);
        if pg.st.cache_change != Some(hdr.change) {
            pg.clear();
            pg.st.cache_change = Some(hdr.change);
        }
        pg.st.read = ReadCtx {
            max_frame: hdr.mx_frame,
            db_only,
            n_pages: hdr.n_pages,
        };
        Ok(())
    }

    /// Ends a read transaction (releases its read mark). A no-op when no
    /// read transaction is open.
    pub fn end_read(&mut self) {
        if let Mode::Read { slot } = self.mode {
            if let Ok(idx) = Index::layout(&self.region, self.max_frames, self.read_marks) {
                idx.unshare(slot);
            }
            self.mode = Mode::Idle;
        }
    }

    /// Begins the write transaction: takes the write lock (`Busy` if another
    /// connection holds it; the std backend retries for its busy timeout).
    /// If every WAL frame is backfilled and no reader uses the WAL, the WAL
    /// restarts first (new salts, next checkpoint sequence), as SQLite's
    /// `walRestartLog`.
    ///
    /// Errors: `Busy`, `ReadOnly`, `Poisoned`, `InvalidArgument` (a
    /// transaction is open).
    pub fn begin_write(&mut self) -> Result<()> {
        self.check_idle_writable()?;
        let idx = Index::layout(&self.region, self.max_frames, self.read_marks)?;
        let hdr = begin_write_protocol(&idx, self.opts.salt_seed)?;
        self.mode = Mode::Write { base: hdr, failed: false };
        self.txn = self.txn.wrapping_add(1);
        self.gen = self.gen.wrapping_add(1);
        self.io.st.write = Some(WriteCtx {
            last_frame: hdr.mx_frame,
            cksum: hdr.last_cksum,
            salt1: hdr.salt1,
            salt2: hdr.salt2,
            ckpt_seq: hdr.ckpt_seq,
            header_written: hdr.mx_frame > 0,
            sync_header: self.opts.sync != SyncMode::Off,
            spilled: 0,
        });
        self.enter_snapshot(hdr, false)
    }

    fn write_state(&self) -> Result<IndexHeader> {
        match self.mode {
            Mode::Write { failed: true, .. } => Err(Error::InvalidArgument("the write transaction failed earlier; abort it")),
            Mode::Write { base, .. } => Ok(base),
            Mode::Read { .. } => Err(Error::ReadOnly),
            Mode::Idle => Err(Error::InvalidArgument("no transaction is open")),
        }
    }

    fn fail_txn<T>(&mut self, r: Result<T>) -> Result<T> {
        if r.is_err() {
            if let Mode::Write { base, .. } = self.mode {
                self.mode = Mode::Write { base, failed: true };
            }
        }
        self.poison_on_io(r)
    }

    /// Commits the write transaction: writes the dirty pages as WAL frames,
    /// the last one a commit frame carrying the database size; syncs the WAL
    /// once in `Full` mode; publishes the new wal-index header; releases the
    /// write lock; then runs a passive checkpoint if the WAL holds at least
    /// `autocheckpoint_frames` frames (its `Busy` is ignored).
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
        let idx = Index::layout(&self.region, self.max_frames, self.read_marks)?;
        let r = self.io.commit_frames(&idx, base, self.opts.sync);
        let r = self.io.poison_on_io(&idx, r);
        if r.is_err() {
            idx.truncate(base.mx_frame);
            self.io.clear_cache();
        }
        self.io.st.write = None;
        self.mode = Mode::Idle;
        idx.unlock_writer();
        let Some(h) = r? else { return Ok(None) };
        self.io.stats.commits += 1;
        if self.opts.autocheckpoint_frames > 0 && h.mx_frame >= self.opts.autocheckpoint_frames {
            // The commit is durable and published whatever happens here: a
            // failed automatic checkpoint is not the commit's error (an I/O
            // failure has poisoned the connection; the next call reports it).
            let _ = self.checkpoint(CheckpointMode::Passive);
        }
        Ok(Some(format::lsn(h.ckpt_seq, h.mx_frame)))
    }

    /// Aborts the write transaction: drops every dirty page, forgets spilled
    /// frames (they stay in the WAL file past the last commit frame, where
    /// recovery ignores them), releases the write lock. A no-op without a
    /// write transaction.
    pub fn abort(&mut self) {
        if let Mode::Write { base, .. } = self.mode {
            if let Ok(idx) = Index::layout(&self.region, self.max_frames, self.read_marks) {
                idx.truncate(base.mx_frame);
                self.io.clear_cache();
                self.io.st.write = None;
                self.mode = Mode::Idle;
                idx.unlock_writer();
            }
        }
    }

    // ------------------------------------------------------------------
    // Checkpoint
    // ------------------------------------------------------------------

    /// Runs a checkpoint (no transaction may be open on this connection).
    ///
    /// Order of work: sync the WAL (unless `Off`), copy into the database
    /// file the newest frame of each page among the frames not yet
    /// backfilled, never past the smallest read mark in use, sync the
    /// database file (unless `Off`), then record the new backfill count.
    /// `Full`, `Restart` and `Truncate` take the write lock and return `Busy`
    /// when they cannot copy every frame (a reader's snapshot needs them);
    /// `Restart` then resets the WAL to its start with new salts when no
    /// reader uses it (else `Busy`); `Truncate` also truncates the WAL file
    /// to zero bytes.
    ///
    /// Errors: `Busy`, `ReadOnly`, `Poisoned`, `InvalidArgument` (a transaction is open),
    /// `Corrupt` (a WAL frame failed its checksum), `Io` (poisons).
    pub fn checkpoint(&mut self, mode: CheckpointMode) -> Result<CheckpointInfo> {
        self.check_idle_writable()?;
        let idx = Index::layout(&self.region, self.max_frames, self.read_marks)?;
        if !idx.try_lock_checkpoint() {
            return Err(Error::Busy);
        }
        let want_writer = mode != CheckpointMode::Passive;
        if want_writer && !idx.try_lock_writer() {
            idx.unlock_checkpoint();
            return Err(Error::Busy);
        }
        let r = self.io.checkpoint_locked(&idx, mode, &self.opts);
        let r = self.io.poison_on_io(&idx, r);
        if want_writer {
            idx.unlock_writer();
        }
        idx.unlock_checkpoint();
        if r.is_ok() {
            self.io.stats.checkpoints += 1;
        }
        r
    }
}

impl<S: Storage, B: AsMut<[u8]>> Io<S, B> {
    fn clear_cache(&mut self) {
        self.st.cache_change = None;
        let ps = self.st.page_size;
        let nslots = self.st.nslots;
        let mem = self.mem.as_mut();
        let m = 2 * ps + nslots * ps;
        mem[m..m + nslots * SLOT_META].fill(0);
    }

    fn poison_on_io<T>(&mut self, idx: &Index<'_>, r: Result<T>) -> Result<T> {
        if let Err(Error::Io { .. }) = r {
            self.poisoned = true;
            idx.poison();
        }
        r
    }

    fn sync_file(&mut self, idx: &Index<'_>, file: FileKind) -> Result<()> {
        self.stats.syncs += 1;
        let r = match file {
            FileKind::Wal => self.wal.sync().map_err(io_err(FileKind::Wal)),
            FileKind::Database => self.db.sync().map_err(io_err(FileKind::Database)),
        };
        self.poison_on_io(idx, r)
    }

    fn commit_frames(&mut self, idx: &Index<'_>, base: IndexHeader, sync: SyncMode) -> Result<Option<IndexHeader>> {
        let mut pg = Pager {
            mem: &mut self.mem.as_mut()[2 * self.st.page_size..],
            st: &mut self.st,
            db: &mut self.db,
            wal: &mut self.wal,
            idx: *idx,
        };
        let spilled = pg.st.write.map(|w| w.spilled).unwrap_or(0);
        let dirty = pg.dirty_count();
        if dirty == 0 && spilled == 0 {
            return Ok(None);
        }
        let mut h = pg.header()?;
        let seq = pg.st.write.map(|w| w.ckpt_seq).unwrap_or(0);
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
        let mx = pg.write_commit(n_pages)?;
        let w = pg.st.write.ok_or(Error::InvalidArgument("no write transaction"))?;
        if sync == SyncMode::Full {
            self.sync_file(idx, FileKind::Wal)?;
        }
        let new = IndexHeader {
            change: base.change.wrapping_add(1),
            mx_frame: mx,
            n_pages,
            salt1: w.salt1,
            salt2: w.salt2,
            ckpt_seq: w.ckpt_seq,
            last_cksum: w.cksum,
            page_size: base.page_size,
            wal_header_valid: 1,
        };
        idx.publish_header(&new);
        self.st.cache_change = Some(new.change);
        Ok(Some(new))
    }

    fn checkpoint_locked(&mut self, idx: &Index<'_>, mode: CheckpointMode, opts: &Options) -> Result<CheckpointInfo> {
        let sync = opts.sync;
        let (hdr, backfilled) = backfill_protocol(idx, mode == CheckpointMode::Passive, |hdr, nb, safe| {
            self.backfill(idx, hdr, nb, safe, sync)
        })?;
        let mx = hdr.mx_frame;
        if mode == CheckpointMode::Passive {
            return Ok(CheckpointInfo {
                wal_frames: mx,
                backfilled,
            });
        }
        if backfilled < mx {
            return Err(Error::Busy);
        }
        if mode == CheckpointMode::Full {
            return Ok(CheckpointInfo {
                wal_frames: mx,
                backfilled,
            });
        }
        if mx > 0 && try_restart(idx, &hdr, opts.salt_seed).is_none() {
            return Err(Error::Busy);
        }
        if mode == CheckpointMode::Truncate {
            // No write in place is needed before the WAL goes: the database
            // file's header (backfilled and synced above) carries the WAL
            // generation of the last commit as its floor (see
            // commit_frames), and recovery of an empty WAL starts one above
            // it, so LSNs never go back.
            let r = self.wal.set_len(0).map_err(io_err(FileKind::Wal));
            self.poison_on_io(idx, r)?;
            if opts.sync != SyncMode::Off {
                self.sync_file(idx, FileKind::Wal)?;
            }
        }
        Ok(CheckpointInfo {
            wal_frames: 0,
            backfilled: 0,
        })
    }

    /// Copies frames `nb+1..=safe` (the newest version of each page) into
    /// the database file.
    fn backfill(&mut self, idx: &Index<'_>, hdr: &IndexHeader, nb: u32, safe: u32, sync: SyncMode) -> Result<()> {
        if sync != SyncMode::Off {
            self.sync_file(idx, FileKind::Wal)?;
        }
        let ps = self.st.page_size;
        let mut fh = [0u8; FRAME_HEADER_LEN];
        let off = format::frame_offset(safe, ps as u32);
        let n = self.wal.read_at(off, &mut fh).map_err(io_err(FileKind::Wal))?;
        let commit_size = FrameHeader::decode(&fh).commit_size;
        if n < FRAME_HEADER_LEN || (safe == hdr.mx_frame && commit_size != hdr.n_pages) || commit_size == 0 {
            return Err(corrupt(FileKind::Wal, 0, "checkpoint end is not a commit frame"));
        }
        // Every frame of the range is read and its chained checksum
        // checked again, not only the newest frame of each page: a frame
        // whose body the storage lost or misplaced (a misdirected write)
        // may still hold an older sealed image of its page, which passes
        // the page checksum; only the chain tells. The seed is the checksum
        // of frame `nb`, or of the WAL header.
        let mut prev = if nb == 0 {
            let mut wh = [0u8; WAL_HEADER_LEN];
            let n = self.wal.read_at(0, &mut wh).map_err(io_err(FileKind::Wal))?;
            match WalHeader::decode(&wh) {
                Some((h, seed)) if n == WAL_HEADER_LEN && h.salt1 == hdr.salt1 && h.salt2 == hdr.salt2 => seed,
                _ => return Err(corrupt(FileKind::Wal, 0, "WAL header changed under the checkpoint")),
            }
        } else {
            let off = format::frame_offset(nb, ps as u32);
            if self.wal.read_at(off, &mut fh).map_err(io_err(FileKind::Wal))? < FRAME_HEADER_LEN {
                return Err(corrupt(FileKind::Wal, 0, "WAL truncated under a frame"));
            }
            FrameHeader::decode(&fh).cksum
        };
        // First the whole range is checked, then pages are copied: a
        // database file must never receive part of a transaction whose
        // commit frame turns out to be unreachable.
        for f in nb + 1..=safe {
            let pgno = idx.frame_pgno(f);
            let (fhb, tmp) = self.mem.as_mut()[..FRAME_HEADER_LEN + ps].split_at_mut(FRAME_HEADER_LEN);
            let off = format::frame_offset(f, ps as u32);
            let got = self.wal.read_at(off, fhb).map_err(io_err(FileKind::Wal))?;
            let got = got
                + self
                    .wal
                    .read_at(off + FRAME_HEADER_LEN as u64, tmp)
                    .map_err(io_err(FileKind::Wal))?;
            if got < FRAME_HEADER_LEN + ps {
                return Err(corrupt(FileKind::Wal, pgno, "WAL truncated under a frame"));
            }
            let h = FrameHeader::decode(fhb);
            let c = format::frame_checksum(prev, &fhb[..20], tmp);
            if h.pgno != pgno || h.salt1 != hdr.salt1 || h.salt2 != hdr.salt2 || h.cksum != c {
                return Err(corrupt(FileKind::Wal, pgno, "WAL frame fails its checksum at checkpoint"));
            }
            prev = c;
        }
        for f in nb + 1..=safe {
            let pgno = idx.frame_pgno(f);
            if pgno > commit_size || idx.lookup(pgno, safe) != Some(f) {
                continue;
            }
            let tmp = &mut self.mem.as_mut()[..ps];
            let off = format::frame_offset(f, ps as u32) + FRAME_HEADER_LEN as u64;
            let got = self.wal.read_at(off, tmp).map_err(io_err(FileKind::Wal))?;
            if got < ps {
                return Err(corrupt(FileKind::Wal, pgno, "WAL truncated under a frame"));
            }
            format::verify_page(FileKind::Wal, pgno, tmp)?;
            let r = self
                .db
                .write_at((pgno as u64 - 1) * ps as u64, tmp)
                .map_err(io_err(FileKind::Database));
            self.poison_on_io(idx, r)?;
        }
        let want = commit_size as u64 * ps as u64;
        let have = self.db.size().map_err(io_err(FileKind::Database))?;
        if have > want {
            let r = self.db.set_len(want).map_err(io_err(FileKind::Database));
            self.poison_on_io(idx, r)?;
        }
        if sync != SyncMode::Off {
            self.sync_file(idx, FileKind::Database)?;
        }
        self.read_back(idx, nb, safe, commit_size)
    }

    /// Reads back every page the checkpoint copied and compares it with its
    /// frame, before the backfill count is published (and so before the WAL
    /// may restart): a write the storage lost or put at another offset
    /// (a misdirected write) leaves the old, validly sealed page in place,
    /// which no checksum can tell from the new one. `Corrupt` when a page
    /// differs; the WAL then stays authoritative and the next checkpoint
    /// writes the pages again. On a host the read may come from the OS page
    /// cache, which only sees faults of the layers above it.
    fn read_back(&mut self, idx: &Index<'_>, nb: u32, safe: u32, commit_size: u32) -> Result<()> {
        let ps = self.st.page_size;
        for f in nb + 1..=safe {
            let pgno = idx.frame_pgno(f);
            if pgno > commit_size || idx.lookup(pgno, safe) != Some(f) {
                continue;
            }
            let (frame, page) = self.mem.as_mut()[..2 * ps].split_at_mut(ps);
            let off = format::frame_offset(f, ps as u32) + FRAME_HEADER_LEN as u64;
            let r = match self.wal.read_at(off, frame).map_err(io_err(FileKind::Wal)) {
                Ok(a) => self
                    .db
                    .read_at((pgno as u64 - 1) * ps as u64, page)
                    .map_err(io_err(FileKind::Database))
                    .map(|b| a == ps && b == ps && frame == page),
                Err(e) => Err(e),
            };
            if !self.poison_on_io(idx, r)? {
                return Err(corrupt(
                    FileKind::Database,
                    pgno,
                    "page read back after the checkpoint differs from its frame (lost or misdirected write)",
                ));
            }
        }
        Ok(())
    }
}

impl<S: Storage, R: Deref<Target = [AtomicU32]>, B: AsMut<[u8]>> Connection<S, R, B> {
    // ------------------------------------------------------------------
    // Tables
    // ------------------------------------------------------------------

    fn in_txn(&self) -> Result<()> {
        match self.mode {
            Mode::Idle => Err(Error::InvalidArgument("no transaction is open")),
            Mode::Write { failed: true, .. } => Err(Error::InvalidArgument("the write transaction failed earlier; abort it")),
            _ => Ok(()),
        }
    }

    fn check_table(&self, t: Table) -> Result<u32> {
        self.in_txn()?;
        if t.txn != self.txn {
            return Err(Error::InvalidArgument(
                "table handle from another transaction (or its table was dropped)",
            ));
        }
        Ok(t.root)
    }

    fn check_key(&self, key: &[u8]) -> Result<()> {
        if key.len() > self.max_key_len() {
            return Err(Error::InvalidArgument("key longer than max_key_len(page_size)"));
        }
        Ok(())
    }

    /// The default (unnamed) table, which every database has.
    pub fn default_table(&mut self) -> Result<Table> {
        let h = self.header()?;
        Ok(Table {
            root: h.default_root,
            txn: self.txn,
        })
    }

    /// The table named `name`, or `None`. Names are byte strings of 1 to
    /// `max_key_len` bytes.
    pub fn table(&mut self, name: &[u8]) -> Result<Option<Table>> {
        self.in_txn()?;
        if name.is_empty() {
            return Err(Error::InvalidArgument("empty table name"));
        }
        self.check_key(name)?;
        let r = (|| {
            let (mut pg, scr) = parts!(self);
            let cat = pg.header()?.catalog_root;
            let mut t = Tree { pg: &mut pg, scr };
            let Some((leaf, i)) = t.find(cat, name)? else { return Ok(None) };
            let mut b = [0u8; 4];
            if t.read_value(leaf, i, 0, &mut b)? != 4 {
                return Err(corrupt(FileKind::Database, leaf, "catalog entry is not a page number"));
            }
            Ok(Some(u32::from_le_bytes(b)))
        })();
        let Some(root) = self.poison_on_io(r)? else { return Ok(None) };
        Ok(Some(Table { root, txn: self.txn }))
    }

    /// The table named `name`, created (empty) if missing. Write transaction
    /// only.
    pub fn create_table(&mut self, name: &[u8]) -> Result<Table> {
        if let Some(t) = self.table(name)? {
            return Ok(t);
        }
        self.write_state()?;
        let r = (|| {
            let (mut pg, scr) = parts!(self);
            let cat = pg.header()?.catalog_root;
            let mut t = Tree { pg: &mut pg, scr };
            let root = t.create()?;
            t.insert(cat, name, &root.to_le_bytes())?;
            Ok(root)
        })();
        let root = self.fail_txn(r)?;
        self.gen = self.gen.wrapping_add(1);
        Ok(Table { root, txn: self.txn })
    }

    /// Drops the table named `name` and frees its pages; returns whether it
    /// existed. Invalidates every `Table` handle of the transaction. Write
    /// transaction only.
    pub fn drop_table(&mut self, name: &[u8]) -> Result<bool> {
        self.write_state()?;
        let Some(t) = self.table(name)? else { return Ok(false) };
        let r = (|| {
            let (mut pg, scr) = parts!(self);
            let cat = pg.header()?.catalog_root;
            let mut tr = Tree { pg: &mut pg, scr };
            tr.delete(cat, name)?;
            tr.free_tree(t.root)
        })();
        self.fail_txn(r)?;
        self.txn = self.txn.wrapping_add(1);
        self.gen = self.gen.wrapping_add(1);
        Ok(true)
    }

    /// The catalog as a table: keys are table names, values their root page
    /// (4 bytes LE). Read it with a cursor to list tables.
    pub fn catalog(&mut self) -> Result<Table> {
        let h = self.header()?;
        Ok(Table {
            root: h.catalog_root,
            txn: self.txn,
        })
    }

    // ------------------------------------------------------------------
    // Keys and values
    // ------------------------------------------------------------------

    /// Copies the value of `key` into `out`; returns its length in bytes, or
    /// `None` if absent. Errors: `BufferTooSmall { needed }` when `out` is
    /// shorter than the value (nothing copied), `InvalidArgument` (key too
    /// long, stale table), `Corrupt`, `Io`, and in a write transaction
    /// `Full`: a read that must bring a page into a cache whose every page
    /// is dirty spills one to the WAL, which may be at `max_wal_frames`
    /// (the transaction stays usable). The same errors apply to
    /// [`Connection::value_len`], [`Connection::read_value`], the cursor
    /// methods and [`Connection::verify`].
    pub fn get(&mut self, t: Table, key: &[u8], out: &mut [u8]) -> Result<Option<usize>> {
        let Some(len) = self.value_len(t, key)? else { return Ok(None) };
        if out.len() < len {
            return Err(Error::BufferTooSmall { needed: len });
        }
        self.read_value(t, key, 0, &mut out[..len])
    }

    /// Length in bytes of the value of `key`, or `None` if absent.
    pub fn value_len(&mut self, t: Table, key: &[u8]) -> Result<Option<usize>> {
        let root = self.check_table(t)?;
        self.check_key(key)?;
        let r = (|| {
            let (mut pg, scr) = parts!(self);
            let mut tr = Tree { pg: &mut pg, scr };
            let Some((leaf, i)) = tr.find(root, key)? else { return Ok(None) };
            let p = tr.pg.read(leaf)?;
            Ok(Some(leaf_cell(p, leaf, i)?.vlen as usize))
        })();
        self.poison_on_io(r)
    }

    /// Copies up to `out.len()` bytes of the value of `key` starting at byte
    /// `offset` of the value; returns the bytes copied (0 past the end), or
    /// `None` if the key is absent. Reads a large value piece by piece.
    pub fn read_value(&mut self, t: Table, key: &[u8], offset: usize, out: &mut [u8]) -> Result<Option<usize>> {
        let root = self.check_table(t)?;
        self.check_key(key)?;
        let r = (|| {
            let (mut pg, scr) = parts!(self);
            let mut tr = Tree { pg: &mut pg, scr };
            let Some((leaf, i)) = tr.find(root, key)? else { return Ok(None) };
            tr.read_value(leaf, i, offset, out).map(Some)
        })();
        self.poison_on_io(r)
    }

    /// Inserts or replaces `key` with `value` (up to 4 GiB - 1 bytes; values
    /// too large for a page go to overflow pages). Write transaction only.
    /// Errors: `ReadOnly`, `InvalidArgument` (key longer than
    /// [`Connection::max_key_len`], value of 4 GiB or more, stale table),
    /// `Full`, `Io`, `Corrupt`. After an error other than `InvalidArgument`,
    /// the transaction can only be aborted.
    pub fn put(&mut self, t: Table, key: &[u8], value: &[u8]) -> Result<()> {
        self.write_state()?;
        let root = self.check_table(t)?;
        self.check_key(key)?;
        if value.len() > u32::MAX as usize {
            return Err(Error::InvalidArgument("value of 4 GiB or more"));
        }
        let r = (|| {
            let (mut pg, scr) = parts!(self);
            Tree { pg: &mut pg, scr }.insert(root, key, value)
        })();
        self.gen = self.gen.wrapping_add(1);
        self.fail_txn(r)
    }

    /// Deletes `key`; returns whether it was present. Write transaction only.
    pub fn delete(&mut self, t: Table, key: &[u8]) -> Result<bool> {
        self.write_state()?;
        let root = self.check_table(t)?;
        self.check_key(key)?;
        let r = (|| {
            let (mut pg, scr) = parts!(self);
            Tree { pg: &mut pg, scr }.delete(root, key)
        })();
        self.gen = self.gen.wrapping_add(1);
        self.fail_txn(r)
    }

    // ------------------------------------------------------------------
    // Cursors
    // ------------------------------------------------------------------

    fn cursor_prep(&mut self, c: &mut Cursor, t: Table) -> Result<()> {
        c.root = self.check_table(t)?;
        c.txn = self.txn;
        c.gen = self.gen;
        c.valid = false;
        Ok(())
    }

    /// Positions `c` on the first entry of `t`; returns false if `t` is empty.
    /// Errors of this and every cursor method: as [`Connection::get`].
    pub fn cursor_first(&mut self, c: &mut Cursor, t: Table) -> Result<bool> {
        self.cursor_prep(c, t)?;
        let r = (|| {
            let (mut pg, _) = parts!(self);
            cursor::first(&mut pg, c)
        })();
        self.poison_on_io(r)
    }

    /// Positions `c` on the last entry of `t`; returns false if `t` is empty.
    pub fn cursor_last(&mut self, c: &mut Cursor, t: Table) -> Result<bool> {
        self.cursor_prep(c, t)?;
        let r = (|| {
            let (mut pg, _) = parts!(self);
            cursor::last(&mut pg, c)
        })();
        self.poison_on_io(r)
    }

    /// Positions `c` on the first entry of `t` whose key is >= `key`; returns
    /// false if there is none.
    pub fn cursor_seek(&mut self, c: &mut Cursor, t: Table, key: &[u8]) -> Result<bool> {
        self.check_key(key)?;
        self.cursor_prep(c, t)?;
        let r = (|| {
            let (mut pg, _) = parts!(self);
            cursor::seek(&mut pg, c, key)
        })();
        self.poison_on_io(r)
    }

    fn cursor_move(&mut self, c: &mut Cursor, fwd: bool) -> Result<bool> {
        self.in_txn()?;
        if !c.valid {
            return Ok(false);
        }
        if c.txn != self.txn {
            return Err(Error::InvalidArgument("cursor from another transaction"));
        }
        let gen = self.gen;
        let r = (|| {
            let (mut pg, _) = parts!(self);
            if c.gen != gen {
                c.gen = gen;
                let on_key = cursor::resync(&mut pg, c)?;
                if !c.valid {
                    // Nothing at or after the saved key.
                    return if fwd { Ok(false) } else { cursor::last(&mut pg, c) };
                }
                if !on_key && fwd {
                    return Ok(true);
                }
            }
            cursor::step(&mut pg, c, fwd)
        })();
        self.poison_on_io(r)
    }

    /// Moves `c` to the next entry; returns false past the end.
    pub fn cursor_next(&mut self, c: &mut Cursor) -> Result<bool> {
        self.cursor_move(c, true)
    }

    /// Moves `c` to the previous entry; returns false before the start.
    pub fn cursor_prev(&mut self, c: &mut Cursor) -> Result<bool> {
        self.cursor_move(c, false)
    }

    /// Length in bytes of the value under `c`.
    pub fn cursor_value_len(&mut self, c: &Cursor) -> Result<usize> {
        self.in_txn()?;
        let (leaf, i) = c.leaf().ok_or(Error::InvalidArgument("cursor is not on an entry"))?;
        if c.gen != self.gen || c.txn != self.txn {
            return Err(Error::InvalidArgument("cursor moved by a modification; step it first"));
        }
        let r = (|| {
            let (mut pg, _) = parts!(self);
            let p = pg.read(leaf)?;
            Ok(leaf_cell(p, leaf, i)?.vlen as usize)
        })();
        self.poison_on_io(r)
    }

    /// Copies value bytes under `c` from `offset` into `out`; returns bytes
    /// copied.
    pub fn cursor_value(&mut self, c: &Cursor, offset: usize, out: &mut [u8]) -> Result<usize> {
        self.cursor_value_len(c)?;
        let (leaf, i) = c.leaf().ok_or(Error::InvalidArgument("cursor is not on an entry"))?;
        let r = (|| {
            let (mut pg, scr) = parts!(self);
            Tree { pg: &mut pg, scr }.read_value(leaf, i, offset, out)
        })();
        self.poison_on_io(r)
    }

    /// Checks the integrity of the open transaction's snapshot (see
    /// [`crate::verify`]). `bitmap` is scratch memory of at least
    /// [`crate::verify::bitmap_len`]`(page count)` bytes. Problems are in the
    /// report; errors are only `InvalidArgument` (no transaction, bitmap too
    /// small), `Io`, `Poisoned`.
    pub fn verify(&mut self, bitmap: &mut [u8]) -> Result<VerifyReport> {
        self.in_txn()?;
        let (mut pg, _) = parts!(self);
        let h = match pg.header() {
            Ok(h) => h,
            Err(e @ (Error::Io { .. } | Error::Poisoned)) => return Err(e),
            Err(_) => {
                let mut rep = VerifyReport {
                    problem_count: 1,
                    ..VerifyReport::default()
                };
                let _ = rep.problems.push(crate::verify::Problem {
                    page: 1,
                    what: "database header invalid",
                });
                return Ok(rep);
            }
        };
        if bitmap.len() < crate::verify::bitmap_len(h.page_count) {
            return Err(Error::InvalidArgument("verify bitmap shorter than bitmap_len(page count)"));
        }
        let n_pages = pg.st.read.n_pages;
        let mut w = Walk::new(&mut pg, bitmap, h.page_count);
        if n_pages != 0 && n_pages != h.page_count && w.pg.st.write.is_none() {
            w.rep.problem_count += 1;
            let _ = w.rep.problems.push(crate::verify::Problem {
                page: 1,
                what: "header page count differs from the commit's database size",
            });
        }
        w.tree(h.catalog_root)?;
        w.rep.entries += w.tree(h.default_root)?;
        // Named tables: walk the catalog with a cursor.
        let mut cur = Cursor::new();
        cur.root = h.catalog_root;
        let mut ok = keep_io(cursor::first(w.pg, &mut cur))?;
        while ok {
            let Some((leaf, i)) = cur.leaf() else { break };
            let mut b = [0u8; 4];
            let got = {
                let p = w.pg.read(leaf)?;
                match leaf_cell(p, leaf, i) {
                    Ok(c) if c.vlen == 4 && c.ovfl.is_none() => {
                        b.copy_from_slice(&p[c.val]);
                        true
                    }
                    _ => false,
                }
            };
            if got {
                w.rep.tables += 1;
                let root = u32::from_le_bytes(b);
                w.rep.entries += w.tree(root)?;
            } else {
                w.rep.problem_count += 1;
                let _ = w.rep.problems.push(crate::verify::Problem {
                    page: leaf,
                    what: "catalog entry is not a page number",
                });
            }
            ok = keep_io(cursor::step(w.pg, &mut cur, true))?;
        }
        let free = w.freelist(h.freelist_head)?;
        if free != h.freelist_count {
            w.rep.problem_count += 1;
            let _ = w.rep.problems.push(crate::verify::Problem {
                page: 1,
                what: "header free page count differs from the freelist",
            });
        }
        w.leaks();
        Ok(w.rep)
    }

    /// The database header as the open transaction sees it.
    pub fn header(&mut self) -> Result<DbHeader> {
        self.in_txn()?;
        let r = (|| {
            let (mut pg, _) = parts!(self);
            pg.header()
        })();
        self.poison_on_io(r)
    }
}

impl<S: Storage, R: Deref<Target = [AtomicU32]>, B: AsMut<[u8]>> Drop for Connection<S, R, B> {
    fn drop(&mut self) {
        self.abort();
        self.end_read();
    }
}

/// A cursor step of the integrity check: I/O errors stop the check, other
/// errors (a damaged catalog) end the listing (the walk reports the pages).
fn keep_io(r: Result<bool>) -> Result<bool> {
    match r {
        Err(e @ (Error::Io { .. } | Error::Poisoned)) => Err(e),
        r => Ok(r.unwrap_or(false)),
    }
}

/// Reads the wal-index header, retrying while a publication is in
/// progress. Errors: `Protocol` after the retry bound.
pub(crate) fn read_header_retry(idx: &Index<'_>) -> Result<IndexHeader> {
    for _ in 0..READ_RETRIES {
        if let Some(h) = idx.read_header() {
            return Ok(h);
        }
        spin_hint();
    }
    Err(Error::Protocol)
}

/// The write-lock protocol of [`Connection::begin_write`]: takes the write
/// lock, reads the header, and restarts the WAL when it is fully
/// backfilled and no reader uses it. Returns the header the transaction
/// starts from (the lock is held on success only).
pub(crate) fn begin_write_protocol(idx: &Index<'_>, seed: u32) -> Result<IndexHeader> {
    if !idx.try_lock_writer() {
        return Err(Error::Busy);
    }
    let mut hdr = match read_header_retry(idx) {
        Ok(h) => h,
        Err(e) => {
            idx.unlock_writer();
            return Err(e);
        }
    };
    if hdr.mx_frame > 0 && idx.nbackfill() == hdr.mx_frame && idx.try_lock_checkpoint() {
        if let Some(h) = try_restart(idx, &hdr, seed) {
            hdr = h;
        }
        idx.unlock_checkpoint();
    }
    Ok(hdr)
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
        let c = idx.share_count(i);
        if c > 0 && c != crate::walindex::LOCKED {
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
/// nbackfill, safe)` to copy frames `nbackfill+1..=safe`, and publishes the
/// new backfill count. Returns the header and the frames backfilled.
/// `Busy` when slot 0 is in use and `passive` is false.
pub(crate) fn backfill_protocol(
    idx: &Index<'_>,
    passive: bool,
    mut copy: impl FnMut(&IndexHeader, u32, u32) -> Result<()>,
) -> Result<(IndexHeader, u32)> {
    let hdr = read_header_retry(idx)?;
    let nb = idx.nbackfill();
    let safe = safe_frame(idx, hdr.mx_frame);
    if safe <= nb {
        return Ok((hdr, nb));
    }
    if !idx.try_lock_slot(0) {
        return if passive { Ok((hdr, nb)) } else { Err(Error::Busy) };
    }
    let r = copy(&hdr, nb, safe);
    if r.is_ok() {
        idx.set_nbackfill(safe);
    }
    idx.unlock_slot(0);
    r.map(|()| (hdr, safe))
}

/// The read-mark protocol of [`Connection::begin_read`]; returns the
/// snapshot's header and the slot it shares.
pub(crate) fn acquire_snapshot(idx: &Index<'_>) -> Result<(IndexHeader, usize)> {
    for _ in 0..READ_RETRIES {
        let Some(hdr) = idx.read_header() else {
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

/// Resets the WAL to its start when it is fully backfilled and every WAL
/// read mark can be locked: clears the hash, moves to new salts and the next
/// checkpoint sequence, publishes the header. The caller holds the write
/// lock and the checkpoint lock. `None` if a reader uses the WAL.
pub(crate) fn try_restart(idx: &Index<'_>, hdr: &IndexHeader, seed: u32) -> Option<IndexHeader> {
    let n = idx.read_marks();
    let mut locked = 1;
    while locked < n && idx.try_lock_slot(locked) {
        locked += 1;
    }
    let ok = locked == n && idx.nbackfill() == hdr.mx_frame;
    let mut new = None;
    if ok {
        idx.truncate(0);
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
        };
        idx.publish_header(&h);
        idx.set_nbackfill(0);
        for i in 1..n {
            idx.set_mark(i, if i == 1 { 0 } else { MARK_UNUSED });
        }
        new = Some(h);
    }
    for i in 1..locked {
        idx.unlock_slot(i);
    }
    new
}

/// A 32-bit mixing function (for salts).
fn mix(mut x: u32) -> u32 {
    x ^= x >> 16;
    x = x.wrapping_mul(0x7feb_352d);
    x ^= x >> 15;
    x = x.wrapping_mul(0x846c_a68b);
    x ^ (x >> 16)
}

/// What recovery found.
struct Recovered {
    page_size: u32,
    /// Committed frames indexed.
    frames: u32,
    /// Neither file holds a database: the caller creates one (through the
    /// WAL, as the first commit).
    fresh: bool,
}

/// Reads and checks page 1 of the database file; `Err` when the file is
/// empty, too short, or page 1 is damaged.
fn read_db_header<S: Storage>(db: &mut S, db_len: u64, mem: &mut [u8]) -> Result<DbHeader> {
    if db_len == 0 {
        return Err(corrupt(FileKind::Database, 1, "database file is empty"));
    }
    let mut hb = [0u8; DbHeader::LEN];
    let n = db.read_at(0, &mut hb).map_err(io_err(FileKind::Database))?;
    if n < DbHeader::LEN {
        return Err(corrupt(FileKind::Database, 1, "database file shorter than its header"));
    }
    let dbh = DbHeader::decode(&hb)?;
    let ps = dbh.page_size as usize;
    if mem.len() < ps + FRAME_HEADER_LEN {
        return Err(Error::InvalidArgument("cache memory below cache_mem_len(page_size, 4)"));
    }
    let page = &mut mem[..ps];
    let n = db.read_at(0, page).map_err(io_err(FileKind::Database))?;
    if n < ps {
        return Err(corrupt(FileKind::Database, 1, "database file shorter than one page"));
    }
    format::verify_page(FileKind::Database, 1, page)?;
    Ok(dbh)
}

/// Recovery (as SQLite's `walIndexRecover`): reads the database header,
/// scans the WAL (salts, chained checksums, page checksums) up to its last
/// commit frame, builds the wal-index and publishes its header.
///
/// Page 1 of the database file is only ever rewritten in place by a
/// checkpoint, while the WAL still holds a newer frame of it; so when that
/// page is damaged (a write torn by a power cut) or the file is empty (a
/// database whose pages are all still in the WAL, as every new database
/// is), the header comes from the newest committed frame of page 1. When
/// neither file holds a database, recovery reports `fresh` and the caller
/// creates one through the WAL, so that a crash during creation leaves an
/// empty database file, created again at the next open.
fn recover<S: Storage>(db: &mut S, wal: &mut S, idx: &Index<'_>, mem: &mut [u8], opts: &Options) -> Result<Recovered> {
    let db_len = db.size().map_err(io_err(FileKind::Database))?;
    let db_header = match read_db_header(db, db_len, mem) {
        Err(e @ (Error::Io { .. } | Error::InvalidArgument(_) | Error::UnsupportedVersion { .. })) => return Err(e),
        r => r,
    };
    let wal_len = wal.size().map_err(io_err(FileKind::Wal))?;
    let mut whb = [0u8; WAL_HEADER_LEN];
    let got = if wal_len >= WAL_HEADER_LEN as u64 {
        wal.read_at(0, &mut whb).map_err(io_err(FileKind::Wal))?
    } else {
        0
    };
    let wh = if got == WAL_HEADER_LEN { WalHeader::decode(&whb) } else { None };
    // The page size: the database header's; without one, the WAL's.
    let wh = match (&db_header, wh) {
        (Ok(d), Some((h, seed))) if h.page_size == d.page_size => Some((h, seed)),
        (Ok(_), _) => None,
        (Err(_), Some((h, _))) if mem.len() < cache_mem_len(h.page_size, MIN_CACHE_PAGES) => {
            // Never ignore a WAL that may hold the database: say so.
            return Err(Error::InvalidArgument(
                "cache memory below cache_mem_len(page_size, 4) for the WAL's page size",
            ));
        }
        (Err(_), w) => w,
    };
    let page_size = match (&db_header, &wh) {
        (Ok(d), _) => d.page_size,
        (Err(_), Some((h, _))) => h.page_size,
        (Err(_), None) => opts.page_size,
    };
    let ps = page_size as usize;
    let floor = db_header.as_ref().map(|d| d.wal_seq).unwrap_or(0);
    // Salts for a new WAL generation: from the seed, the WAL's length and
    // its first bytes, so that they differ from any stale frames left in it.
    let stale = format::CRC32C.checksum(&whb) ^ wal_len as u32;
    let mut hdr = IndexHeader {
        change: 1,
        mx_frame: 0,
        n_pages: 0,
        salt1: mix(opts.salt_seed ^ stale),
        salt2: mix(opts.salt_seed ^ 0x5555_5555 ^ stale.rotate_left(16)),
        // Above the floor of an existing database; 0 for a new one.
        ckpt_seq: if db_header.is_ok() { floor.wrapping_add(1) } else { 0 },
        last_cksum: 0,
        page_size,
        wal_header_valid: 0,
    };
    if let Some((h, seed)) = wh {
        let mut prev = seed;
        let mut last_commit = (0u32, 0u32, seed);
        let mut f = 1u32;
        loop {
            let off = format::frame_offset(f, page_size);
            if off + (FRAME_HEADER_LEN + ps) as u64 > wal_len {
                break;
            }
            let (fhb, page) = mem[..FRAME_HEADER_LEN + ps].split_at_mut(FRAME_HEADER_LEN);
            if wal.read_at(off, fhb).map_err(io_err(FileKind::Wal))? < FRAME_HEADER_LEN {
                break;
            }
            if wal.read_at(off + FRAME_HEADER_LEN as u64, page).map_err(io_err(FileKind::Wal))? < ps {
                break;
            }
            let fh = FrameHeader::decode(fhb);
            if fh.salt1 != h.salt1 || fh.salt2 != h.salt2 || fh.pgno == 0 {
                break;
            }
            let c = format::frame_checksum(prev, &fhb[..20], page);
            // The page's own checksum too: a frame whose page is torn
            // only in its last bytes ends the WAL here.
            if c != fh.cksum || format::verify_page(FileKind::Wal, fh.pgno, page).is_err() {
                break;
            }
            if f > idx.capacity() {
                return Err(Error::Full {
                    what: "the WAL holds more frames than max_wal_frames",
                });
            }
            idx.insert(f, fh.pgno)?;
            prev = c;
            if fh.commit_size > 0 {
                last_commit = (f, fh.commit_size, c);
            }
            f += 1;
        }
        idx.truncate(last_commit.0);
        if last_commit.0 > 0 {
            hdr.mx_frame = last_commit.0;
            hdr.n_pages = last_commit.1;
            hdr.last_cksum = last_commit.2;
            hdr.wal_header_valid = 1;
            hdr.salt1 = h.salt1;
            hdr.salt2 = h.salt2;
            hdr.ckpt_seq = h.ckpt_seq.max(floor);
        } else {
            // No committed frame: the next writer starts a new generation.
            hdr.salt1 = h.salt1.wrapping_add(1);
            hdr.salt2 = mix(h.salt2 ^ opts.salt_seed);
            hdr.ckpt_seq = h.ckpt_seq.wrapping_add(1).max(floor.wrapping_add(1));
        }
    }
    let dbh = match db_header {
        Ok(d) => d,
        Err(e) => {
            let page1 = if hdr.mx_frame > 0 { idx.lookup(1, hdr.mx_frame) } else { None };
            match page1 {
                Some(f) => {
                    let page = &mut mem[..ps];
                    let off = format::frame_offset(f, page_size) + FRAME_HEADER_LEN as u64;
                    if wal.read_at(off, page).map_err(io_err(FileKind::Wal))? < ps {
                        return Err(corrupt(FileKind::Wal, 1, "WAL truncated under a frame"));
                    }
                    format::verify_page(FileKind::Wal, 1, page)?;
                    let d = DbHeader::decode(page).map_err(|e| match e {
                        Error::Corrupt { page, reason, .. } => Error::Corrupt {
                            file: FileKind::Wal,
                            page,
                            reason,
                        },
                        e => e,
                    })?;
                    if d.page_size != page_size {
                        return Err(corrupt(FileKind::Wal, 1, "page size in the header differs from the WAL's"));
                    }
                    hdr.ckpt_seq = hdr.ckpt_seq.max(d.wal_seq);
                    d
                }
                None if db_len == 0 && hdr.mx_frame == 0 => {
                    if opts.read_only || !opts.create {
                        return Err(Error::InvalidArgument("database file is empty and creation is off"));
                    }
                    check_page_size(page_size)?;
                    if mem.len() < cache_mem_len(page_size, MIN_CACHE_PAGES) {
                        return Err(Error::InvalidArgument("cache memory below cache_mem_len(page_size, 4)"));
                    }
                    publish_recovered(idx, &hdr);
                    return Ok(Recovered {
                        page_size,
                        frames: 0,
                        fresh: true,
                    });
                }
                None if db_len == 0 => {
                    return Err(corrupt(
                        FileKind::Database,
                        1,
                        "database file is empty and the WAL does not hold page 1",
                    ));
                }
                None => return Err(e),
            }
        }
    };
    if hdr.mx_frame == 0 {
        hdr.n_pages = dbh.page_count;
    }
    publish_recovered(idx, &hdr);
    Ok(Recovered {
        page_size,
        frames: hdr.mx_frame,
        fresh: false,
    })
}

/// The last step of recovery: resets the read marks and the backfill count,
/// publishes `hdr` and marks the region initialised.
pub(crate) fn publish_recovered(idx: &Index<'_>, hdr: &IndexHeader) {
    for i in 1..idx.read_marks() {
        idx.set_mark(i, if i == 1 { 0 } else { MARK_UNUSED });
    }
    idx.set_nbackfill(0);
    idx.publish_header(hdr);
    idx.mark_initialised();
}
