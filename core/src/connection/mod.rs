//! A connection: one handle on a database, holding at most one transaction
//! at a time (as a SQLite connection). Several connections share one
//! wal-index region; each has its own storage handles and page cache.
//!
//! This module is thin orchestration: opening (recovery, creation), the
//! transaction state machine and the commit ([`txn`](self)), and the table,
//! key-value and cursor API (`tables`). The work is done by the layers
//! below: `btree` over `pager` over `wal` over `storage`.
//!
//! # Invariants
//! - At most one write transaction per region (the write lock); at most one
//!   transaction per connection.
//! - A commit becomes visible only by the wal-index header publication,
//!   after all its frames are written (and, in `Full`, synced); a commit
//!   that returned `Ok` stays committed (the automatic checkpoint after it
//!   never turns it into an error).
//! - LSNs returned by `commit` strictly increase, across restarts,
//!   `Truncate` checkpoints and reopens.
//! - A database exists once its creation commit (pages 1 to 3, in the WAL)
//!   is durable; until then the next open creates it again.
//!
//! # Poisoning
//! An `Error::Io` from a commit, a checkpoint, or a read or write inside a
//! transaction poisons the connection and the region: every connection of
//! the database then refuses to begin a transaction or a checkpoint
//! (`Poisoned`). A failed fsync is never retried (after a failed fsync the
//! kernel may have dropped the dirty pages, so a later success would prove
//! nothing); closing every handle and reopening runs recovery, which rebuilds
//! the state from what is on disk. Table and header lookups and `verify`
//! return their `Io` errors without poisoning.

pub mod archive;
pub mod tables;
pub mod txn;

use crate::error::{Error, Result};
use crate::format::{self, DbHeader};
use crate::options::Options;
use crate::pager::{cache_mem_len, Pager, Pages, Scratch, MIN_CACHE_PAGES};
use crate::storage::Storage;
use crate::wal::index::{Index, IndexHeader, Layout};
use crate::wal::locks::Region;
use crate::wal::protocol::read_header_retry;
use crate::wal::recovery::recover;

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
    /// Pages this connection's checkpoints copied into the database file.
    pub checkpoint_pages: u64,
}

/// The transaction state of a connection.
#[derive(Debug, Clone, Copy)]
enum Mode {
    Idle,
    Read {
        slot: usize,
        /// The snapshot's header.
        hdr: IndexHeader,
    },
    Write {
        base: IndexHeader,
        failed: bool,
    },
    /// A commit appended to the WAL and waiting for the sync that makes it
    /// durable and visible (group commit): `mine` is its header, `epoch`
    /// the fence epoch it was appended at.
    Committing {
        mine: IndexHeader,
        epoch: u32,
    },
}

/// The layout of the region (fixed by its first connection), checked
/// once at open.
#[derive(Debug, Clone, Copy)]
struct Geometry {
    layout: Layout,
}

/// Recovery, out of line: its locals (headers, frame readers) are off the
/// stack once `open` goes on (peak stack on microcontrollers:
/// `docs/EMBEDDED.md`).
#[inline(never)]
fn run_recovery<S: Storage>(
    db: &mut S,
    wal: &mut S,
    idx: &Index<'_>,
    mem: &mut [u8],
    opts: &Options,
) -> Result<crate::wal::recovery::Recovered> {
    recover(db, wal, idx, mem, opts, |ps| cache_mem_len(ps, MIN_CACHE_PAGES))
}

/// The first half of `Connection::open`: attaches to an initialised
/// region, or runs recovery; returns the region's geometry, the frames
/// recovered, the page size, and whether the database is still to be
/// created. Out of line, so that recovery runs under this small frame and
/// not under the one that builds the connection.
#[inline(never)]
fn attach_or_recover<S: Storage, R: Region>(
    db: &mut S,
    wal: &mut S,
    region: &R,
    mem: &mut [u8],
    opts: &Options,
) -> Result<(Geometry, u32, u32, bool)> {
    format::check_page_size(opts.page_size)?;
    match Index::attach(region.words(), region.locks())? {
        Some(idx) => {
            let geo = Geometry::new(idx.capacity(), idx.read_marks() as u32)?;
            let page_size = read_header_retry(&idx)?.page_size;
            Ok((geo, 0, page_size, false))
        }
        None => {
            let geo = Geometry::new(opts.max_wal_frames, opts.read_marks)?;
            let r = run_recovery(db, wal, &geo.index(region)?, mem, opts)?;
            Ok((geo, r.frames, r.page_size, r.fresh))
        }
    }
}

/// `Pages::new`, out of line for the same reason.
#[inline(never)]
fn new_pages<S: Storage, B: AsMut<[u8]>>(db: S, wal: S, mem: B, page_size: u32) -> Result<Pages<S, B>> {
    Pages::new(db, wal, mem, page_size)
}

impl Geometry {
    fn new(max_frames: u32, read_marks: u32) -> Result<Geometry> {
        Ok(Geometry {
            layout: Layout::new(max_frames, read_marks)?,
        })
    }
    #[inline]
    fn index<'r, R: Region + ?Sized>(&self, region: &'r R) -> Result<Index<'r>> {
        Index::with(region.words(), region.locks(), &self.layout)
    }
}

/// A connection to a database: two storages (database file, WAL), a shared
/// wal-index region `R` (a [`Region`]: a `&'static [AtomicU32]`, an
/// `Arc<[AtomicU32]>`, or a region whose locks live elsewhere, as the std
/// backend's memory-mapped `-shm` file),
/// and cache memory `B` of [`cache_mem_len`] bytes.
///
/// A connection runs one transaction at a time: `begin_read`/`end_read` or
/// `begin_write`/`commit`/`abort`. Reads see a snapshot; one writer at a time
/// across all connections of the region.
pub struct Connection<S: Storage, R: Region, B: AsMut<[u8]>> {
    pages: Pages<S, B>,
    region: R,
    opts: Options,
    geo: Geometry,
    mode: Mode,
    /// Transaction counter: table handles and cursors carry the value of
    /// the transaction they belong to.
    txn: u32,
    /// Modification counter: a cursor re-seeks when it changed.
    gen: u32,
    poisoned: bool,
    /// Set by `assemble` when the database is still to be created; `open`
    /// creates it and clears it.
    fresh: bool,
    stats: ConnStats,
    /// The host's monotonic clock in milliseconds ([`Connection::set_clock`]).
    clock: Option<fn() -> u64>,
}

impl<S: Storage, R: Region, B: AsMut<[u8]>> Connection<S, R, B> {
    /// Opens a connection. If the region is not initialised (all zeros),
    /// this connection runs recovery (`wal::recovery`): it validates the
    /// database header, scans the WAL (salts and chained checksums, up to
    /// the last commit frame) and builds the wal-index; when neither file
    /// holds a database and `opts.create` is set, it then creates one as its
    /// first commit (see `create_database`). Open the first connection of a
    /// region before any other uses it.
    ///
    /// Errors: `InvalidArgument` (options, too little cache memory, region
    /// too small, empty database without `create`), `Corrupt` and
    /// `UnsupportedVersion` (database header), `Full` (the WAL has more
    /// frames than `max_wal_frames`), `Io`.
    // Never inlined: its frame must not join the caller's, whose stack
    // would then be deeper for the whole session (`docs/EMBEDDED.md`, peak
    // stack).
    #[inline(never)]
    pub fn open(mut db: S, mut wal: S, region: R, mut mem: B, opts: Options) -> Result<Self> {
        #[cfg(not(feature = "checkpoint-budgets"))]
        if opts.checkpoint_budget_pages > 0 || opts.checkpoint_budget_ms > 0 {
            return Err(Error::InvalidArgument("checkpoint budgets need the feature checkpoint-budgets"));
        }
        // The connection is assembled in the `Result` returned and used in
        // place: a move would take one more stack slot of its size, and
        // assembling it out of line keeps recovery's temporaries off the
        // stack while a new database's first commit runs. Recovery runs
        // before, in a frame of its own (`assemble`'s holds the connection
        // it builds).
        let mut r = match attach_or_recover(&mut db, &mut wal, &region, mem.as_mut(), &opts) {
            Ok(found) => Self::assemble(db, wal, region, mem, opts, found),
            Err(e) => Err(e),
        };
        if let Ok(c) = r.as_mut() {
            if core::mem::take(&mut c.fresh) {
                c.create_database()?;
            }
        }
        r
    }

    /// `open` up to the creation of a new database, once `attach_or_recover`
    /// has `found` the region's geometry, the frames recovered, the page
    /// size and whether the database is still to be created: lays out the
    /// cache and builds the connection.
    #[inline(never)]
    fn assemble(db: S, wal: S, region: R, mem: B, opts: Options, found: (Geometry, u32, u32, bool)) -> Result<Self> {
        let (geo, recovered, page_size, fresh) = found;
        new_pages(db, wal, mem, page_size).map(|pages| Connection {
            pages,
            region,
            opts,
            geo,
            mode: Mode::Idle,
            txn: 0,
            gen: 0,
            poisoned: false,
            fresh,
            stats: ConnStats {
                recovered_frames: recovered,
                ..ConnStats::default()
            },
            clock: None,
        })
    }

    /// Creates the database as its first commit: page 1 (the header), the
    /// empty catalog (page 2) and the empty default table (page 3) go to
    /// the WAL as frames, the third a commit frame; the database file stays
    /// empty until a checkpoint. A crash before the commit is durable
    /// leaves no committed frame, and the next open creates it again.
    // Not inlined into `open`: the commit it runs would sit below open's
    // frame (recovery's and the connection's temporaries) on the stack.
    #[inline(never)]
    fn create_database(&mut self) -> Result<()> {
        self.begin_write()?;
        let r = self.initial_pages();
        self.fail_txn(r)?;
        self.commit().map(drop)
    }

    /// The pages of a new database (see `create_database`), in the open
    /// write transaction. Out of line, so that the header being built is
    /// off the stack while the commit runs (the deepest path of a
    /// firmware's first boot: `docs/EMBEDDED.md`).
    #[inline(never)]
    fn initial_pages(&mut self) -> Result<()> {
        let ckpt_seq = self.pages.writer().map(|w| w.ckpt_seq).unwrap_or(0);
        let ps = self.pages.page_size();
        let db_id = self.geo.index(&self.region)?.db_id();
        let (mut pg, _) = self.parts()?;
        let h = DbHeader {
            page_size: ps as u32,
            page_count: 3,
            freelist_head: 0,
            freelist_count: 0,
            catalog_root: 2,
            default_root: 3,
            change_counter: 0,
            wal_seq: ckpt_seq,
            db_id,
        };
        h.encode(pg.fresh(1)?);
        for pgno in [2, 3] {
            crate::btree::page::init_page(pg.fresh(pgno)?, crate::btree::page::PT_LEAF);
        }
        Ok(())
    }

    /// Page size of the database in bytes.
    pub fn page_size(&self) -> u32 {
        self.pages.page_size() as u32
    }
    /// Gives the connection a monotonic clock in milliseconds (the host's:
    /// a systick, an RTC, `CLOCK_MONOTONIC`), which time-based checkpoints
    /// ([`Options::checkpoint_interval_ms`]) and the checkpoint time in the
    /// statistics need. Every connection of a region must use the same
    /// clock (the time of the last checkpoint is kept in the wal-index):
    /// the std backend uses `CLOCK_MONOTONIC`, one clock for every process
    /// of a machine.
    pub fn set_clock(&mut self, clock: fn() -> u64) {
        self.clock = Some(clock);
    }
    /// The database's checkpoint statistics (counted in the wal-index by
    /// every connection since recovery; feature `checkpoint-stats`, on by
    /// default). Errors: `InvalidArgument` (a damaged region).
    #[cfg(feature = "checkpoint-stats")]
    pub fn checkpoint_stats(&self) -> Result<crate::options::CheckpointStats> {
        Ok(self.geo.index(&self.region)?.checkpoint_stats())
    }
    /// The wal-index's capacity in frames (the WAL's hard limit), as the
    /// connection that initialised the region chose it.
    pub fn wal_capacity(&self) -> u32 {
        self.geo.layout.capacity()
    }
    /// Pages the cache holds.
    pub fn cache_pages(&self) -> usize {
        self.pages.cache_pages()
    }
    /// Largest key in bytes at this page size (see
    /// [`crate::btree::page::max_key_len`]).
    pub fn max_key_len(&self) -> usize {
        crate::btree::page::max_key_len(self.page_size())
    }
    /// The options the connection was opened with.
    pub fn options(&self) -> &Options {
        &self.opts
    }
    /// Counters since open.
    pub fn stats(&self) -> ConnStats {
        let w = self.pages.writer_stats();
        ConnStats {
            frames_written: w.frames,
            syncs: self.stats.syncs + w.header_syncs,
            ..self.stats
        }
    }
    /// Whether a transaction is open, and whether it is a write transaction.
    pub fn in_transaction(&self) -> Option<bool> {
        match self.mode {
            Mode::Idle => None,
            Mode::Read { .. } => Some(false),
            Mode::Write { .. } | Mode::Committing { .. } => Some(true),
        }
    }

    /// The published wal-index header: frames in the WAL (`mx_frame`), pages,
    /// salts, checkpoint sequence; and the backfilled frame count.
    /// Errors: `Protocol` (the header kept changing), `InvalidArgument` (a
    /// damaged region).
    pub fn wal_state(&self) -> Result<(IndexHeader, u32)> {
        let idx = self.geo.index(&self.region)?;
        Ok((read_header_retry(&idx)?, idx.nbackfill()))
    }

    /// The pager bound to the wal-index, and the scratch memory.
    fn parts(&mut self) -> Result<(Pager<'_, S>, Scratch<'_>)> {
        let idx = self.geo.index(&self.region)?;
        Ok(self.pages.bind(idx))
    }

    fn check_usable(&self) -> Result<()> {
        let idx = self.geo.index(&self.region)?;
        if self.poisoned || idx.poisoned() {
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

    /// An `Io` error poisons this connection and the region (every
    /// connection of the database), as the error type documents.
    fn poison_on_io<T>(&mut self, r: Result<T>) -> Result<T> {
        if let Err(e) = &r {
            self.poison_if_io(e);
        }
        r
    }

    /// The work of [`Connection::poison_on_io`], one copy for every `T`.
    #[inline(never)]
    fn poison_if_io(&mut self, e: &Error) {
        if let Error::Io { .. } = e {
            self.poisoned = true;
            if let Ok(idx) = self.geo.index(&self.region) {
                idx.poison();
            }
        }
    }
}

impl<S: Storage, R: Region, B: AsMut<[u8]>> Drop for Connection<S, R, B> {
    fn drop(&mut self) {
        self.abort();
        self.end_read();
    }
}
