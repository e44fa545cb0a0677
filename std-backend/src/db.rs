//! The owned, thread-safe database handle of the std backend.

use std::cell::RefCell;
use std::ops::{Bound, RangeBounds};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use walden_core::sync::AtomicU32;
use walden_core::{cache_mem_len, region_words, CheckpointInfo, CheckpointMode, Connection, Cursor as CoreCursor, SyncMode};

use crate::error::{Error, Result};
use crate::file::{sync_dir, FileStorage, IoShared};

type Conn = Connection<FileStorage, Arc<[AtomicU32]>, Vec<u8>>;

/// Options of [`Database::open`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// Page size in bytes, used when the database is created: a power of two
    /// from 512 to 65,536. Default 4,096.
    pub page_size: u32,
    /// Page cache capacity of each connection, in pages (at least 4).
    /// Default 256 (1 MiB at 4 KiB pages).
    pub cache_pages: u32,
    /// Durability of commits. Default [`SyncMode::Full`].
    pub sync: SyncMode,
    /// Passive checkpoint after a commit that leaves this many frames in
    /// the WAL; 0 disables. Default 1,000.
    pub autocheckpoint_frames: u32,
    /// How long `begin_write` (and a non-passive checkpoint) waits for a
    /// lock before returning [`Error::Busy`]. Default 0 (fail at once).
    pub busy_timeout: Duration,
    /// Open for reading only. Default false.
    pub read_only: bool,
    /// Create the database if the file does not exist. Default true.
    pub create_if_missing: bool,
    /// Frames the wal-index can hold (the largest WAL, in frames); raised at
    /// open to fit an existing WAL. Default 65,536.
    pub max_wal_frames: u32,
    /// Read-mark slots (2 to 64). Default 8.
    pub read_marks: u32,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            page_size: 4096,
            cache_pages: 256,
            sync: SyncMode::Full,
            autocheckpoint_frames: 1000,
            busy_timeout: Duration::ZERO,
            read_only: false,
            create_if_missing: true,
            max_wal_frames: 65_536,
            read_marks: 8,
        }
    }
}

/// Counters and sizes of an open database.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Commits that wrote frames, since open.
    pub commits: u64,
    /// Checkpoints run (manual and automatic), since open.
    pub checkpoints: u64,
    /// fsync calls on the database file, the WAL and the directory, since open.
    pub fsyncs: u64,
    /// Bytes written to the database file and the WAL, since open.
    pub bytes_written: u64,
    /// Frames in the WAL now.
    pub wal_frames: u64,
    /// Frames of the WAL already copied into the database file.
    pub wal_backfilled: u64,
    /// Pages in the database (at the last commit).
    pub db_pages: u64,
    /// Time the open spent in recovery (reading the header, scanning the WAL).
    pub recovery_time: Duration,
    /// Committed frames found in the WAL at open.
    pub recovered_frames: u64,
    /// LSN of the last commit frame (checkpoint sequence << 32 | frame).
    pub last_lsn: u64,
    /// The WAL's limit in frames: past three quarters of it, `begin_write`
    /// checkpoints, waits and then refuses (see [`Database::begin_write`]).
    pub wal_limit: u64,
    /// Read transactions open now.
    pub active_readers: u64,
    /// Age of the oldest open read transaction (the snapshot that holds
    /// the WAL back), if any.
    pub oldest_reader_age: Option<Duration>,
}

pub(crate) struct Paths {
    pub db: PathBuf,
    pub wal: PathBuf,
}

struct Inner {
    paths: Paths,
    opts: Options,
    region: Arc<[AtomicU32]>,
    db_file: FileStorage,
    wal_file: FileStorage,
    io: Arc<IoShared>,
    pool: Mutex<Vec<Conn>>,
    commits: AtomicU64,
    checkpoints: AtomicU64,
    recovery_time: Duration,
    recovered_frames: u64,
    /// The wal-index capacity in frames (the WAL's hard limit).
    max_frames: u32,
    /// Start times of the open read transactions, by id.
    readers: Mutex<std::collections::BTreeMap<u64, Instant>>,
    next_reader: AtomicU64,
}

/// An open Walden database: `<path>` and its WAL `<path>-wal`.
///
/// Cheap to clone (a shared handle); `Send + Sync`: begin transactions from
/// any thread. Readers never block the writer nor each other; one write
/// transaction at a time. Only one process may open a database at a time
/// (the database file is locked); the wal-index lives in this process's
/// heap.
#[derive(Clone)]
pub struct Database {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Database")
            .field("path", &self.inner.paths.db)
            .finish_non_exhaustive()
    }
}

fn wal_path(path: &Path) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push("-wal");
    PathBuf::from(s)
}

fn salt_seed() -> u32 {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    (t as u32) ^ ((t >> 32) as u32) ^ std::process::id().rotate_left(16)
}

impl Database {
    /// Opens (or creates) the database at `path`, recovering from its WAL.
    ///
    /// A new database is its first commit, into the WAL (synced unless the
    /// sync mode is `Off`; the database file stays empty until a
    /// checkpoint); creating also fsyncs the directory. Recovery verifies
    /// the database header, scans the WAL (salts, chained checksums) up to
    /// its last commit frame, and ignores a torn or uncommitted tail.
    ///
    /// Errors: `InvalidArgument` (options), `Io` (with the path; `NotFound`
    /// when the file is missing and `create_if_missing` is false), `Busy`
    /// (another process has the database open), `Corrupt`,
    /// `UnsupportedVersion`, `Full` (the WAL is larger than the wal-index
    /// can hold).
    pub fn open(path: impl AsRef<Path>, opts: Options) -> Result<Database> {
        let path = path.as_ref();
        walden_core::format::check_page_size(opts.page_size)
            .map_err(|_| Error::InvalidArgument("page size must be a power of two from 512 to 65536 bytes"))?;
        if opts.cache_pages < walden_core::MIN_CACHE_PAGES {
            return Err(Error::InvalidArgument("cache_pages must be at least 4"));
        }
        if !(2..=64).contains(&opts.read_marks) {
            return Err(Error::InvalidArgument("read_marks must be from 2 to 64"));
        }
        let paths = Paths {
            db: path.to_path_buf(),
            wal: wal_path(path),
        };
        let io = Arc::new(IoShared::default());
        let existed = paths.db.exists();
        let wal_existed = paths.wal.exists();
        if !existed && (opts.read_only || !opts.create_if_missing) {
            return Err(Error::Io(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                format!("{}: database file does not exist", paths.db.display()),
            )));
        }
        let mut oo = fs_err::OpenOptions::new();
        oo.read(true);
        if !opts.read_only {
            oo.write(true).create(true);
        }
        let db = oo.open(&paths.db)?;
        match db.file().try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(Error::Busy(Some(format!("{} is open in another process", paths.db.display()))))
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(Error::Io(e)),
        }
        let wal = if opts.read_only && !wal_existed {
            None
        } else {
            Some(Arc::new(oo.open(&paths.wal)?))
        };
        if !opts.read_only && (!existed || !wal_existed) {
            sync_dir(&paths.db, &io)?;
        }
        let db_file = FileStorage::new(Some(Arc::new(db)), &paths.db, io.clone());
        let wal_file = FileStorage::new(wal, &paths.wal, io.clone());

        // Size the wal-index for the WAL on disk.
        let ps = page_size_hint(&paths.db, &paths.wal).unwrap_or(opts.page_size);
        let wal_len = std::fs::metadata(&paths.wal).map(|m| m.len()).unwrap_or(0);
        let frames_on_disk = (wal_len / (24 + ps as u64)).min(1 << 27) as u32;
        let max_frames = opts.max_wal_frames.max(frames_on_disk + 64).min(1 << 28);
        let region: Arc<[AtomicU32]> = (0..region_words(max_frames, opts.read_marks)).map(|_| AtomicU32::new(0)).collect();

        let core_opts = core_options(&opts, max_frames);
        let started = Instant::now();
        let mem = vec![0u8; cache_mem_len(core_opts.page_size.max(ps), opts.cache_pages)];
        let conn = Connection::open(db_file.clone(), wal_file.clone(), region.clone(), mem, core_opts)
            .map_err(|e| Error::from_core(e, &paths, || io.take_error()))?;
        let recovery_time = started.elapsed();
        let recovered_frames = conn.stats().recovered_frames as u64;
        let inner = Inner {
            paths,
            opts,
            region,
            db_file,
            wal_file,
            io,
            pool: Mutex::new(vec![conn]),
            commits: AtomicU64::new(0),
            checkpoints: AtomicU64::new(0),
            recovery_time,
            recovered_frames,
            max_frames,
            readers: Mutex::new(std::collections::BTreeMap::new()),
            next_reader: AtomicU64::new(0),
        };
        Ok(Database { inner: Arc::new(inner) })
    }

    /// The database file's path.
    pub fn path(&self) -> &Path {
        &self.inner.paths.db
    }

    /// The WAL file's path (`<path>-wal`).
    pub fn wal_path(&self) -> &Path {
        &self.inner.paths.wal
    }

    fn err(&self, e: walden_core::Error) -> Error {
        Error::from_core(e, &self.inner.paths, || self.inner.io.take_error())
    }

    fn take_conn(&self) -> Result<Conn> {
        if let Some(c) = self.inner.pool.lock().map_err(|_| Error::Poisoned)?.pop() {
            return Ok(c);
        }
        let i = &self.inner;
        let ps = page_size_hint(&i.paths.db, &i.paths.wal).unwrap_or(i.opts.page_size);
        let mem = vec![0u8; cache_mem_len(ps, i.opts.cache_pages)];
        let max_frames = 0; // ignored: the region is initialised
        Connection::open(
            i.db_file.clone(),
            i.wal_file.clone(),
            i.region.clone(),
            mem,
            core_options(&i.opts, max_frames.max(16)),
        )
        .map_err(|e| self.err(e))
    }

    fn put_conn(&self, c: Conn) {
        if let Ok(mut p) = self.inner.pool.lock() {
            if p.len() < 16 {
                p.push(c);
            }
        }
    }

    /// Retries `f` while it returns `Busy`, for up to the busy timeout.
    fn with_busy<T>(&self, mut f: impl FnMut() -> walden_core::Result<T>) -> Result<T> {
        let deadline = Instant::now() + self.inner.opts.busy_timeout;
        let mut sleep = Duration::from_micros(100);
        loop {
            match f() {
                Err(walden_core::Error::Busy) if Instant::now() < deadline => {
                    std::thread::sleep(sleep.min(deadline.saturating_duration_since(Instant::now())));
                    sleep = (sleep * 2).min(Duration::from_millis(10));
                }
                r => return r.map_err(|e| self.err(e)),
            }
        }
    }

    /// Begins a read transaction: a snapshot of the last commit, which later
    /// commits and checkpoints do not change. Never waits for the writer.
    /// Errors: `Poisoned`, `Protocol`, `Io`.
    pub fn begin_read(&self) -> Result<ReadTxn> {
        let mut c = self.take_conn()?;
        // The core retries a changing wal-index 1,000 times without
        // sleeping; past that, back off (yield, then sleeps doubling to
        // 1 ms) for up to ~2 s before giving up with `Protocol`, as SQLite's
        // walTryBeginRead sleeps between attempts.
        let mut r = c.begin_read();
        let mut pause = Duration::from_micros(10);
        let deadline = Instant::now() + Duration::from_secs(2);
        while r == Err(walden_core::Error::Protocol) && Instant::now() < deadline {
            std::thread::yield_now();
            std::thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_millis(1));
            r = c.begin_read();
        }
        match r {
            Ok(()) => {
                let id = self.inner.next_reader.fetch_add(1, Ordering::Relaxed);
                if let Ok(mut m) = self.inner.readers.lock() {
                    m.insert(id, Instant::now());
                }
                Ok(ReadTxn {
                    txn: Txn {
                        conn: RefCell::new(Some(c)),
                        db: self.clone(),
                    },
                    id,
                })
            }
            Err(e) => {
                self.put_conn(c);
                Err(self.err(e))
            }
        }
    }

    /// Begins the write transaction, waiting up to the busy timeout for the
    /// write lock.
    ///
    /// Checkpoint starvation policy: readers that hold old snapshots stop a
    /// checkpoint from copying the frames after them, so the WAL grows. When
    /// the WAL holds three quarters of its limit (`Stats::wal_limit`, the
    /// wal-index capacity), this first runs a passive checkpoint (the WAL
    /// then restarts at the next write if it could copy everything), and
    /// while the WAL stays that full it waits up to the busy timeout for the
    /// old readers to finish; then it returns `Full` rather than let the WAL
    /// grow silently to its limit (`Stats::oldest_reader_age` shows who
    /// holds it back).
    ///
    /// Errors: `Busy`, `Full` (the WAL is held at its soft limit by an old
    /// reader), `ReadOnly`, `Poisoned`.
    pub fn begin_write(&self) -> Result<WriteTxn> {
        let mut c = self.take_conn()?;
        let soft = (self.inner.max_frames as u64 * 3 / 4) as u32;
        let frames = c.wal_state().map(|(h, _)| h.mx_frame).map_err(|e| self.err(e));
        if !self.inner.opts.read_only && !matches!(frames, Ok(f) if f < soft) {
            self.put_conn(c);
            frames?;
            self.wait_for_wal_room()?;
            c = self.take_conn()?;
        }
        match self.with_busy(|| c.begin_write()) {
            Ok(()) => Ok(WriteTxn {
                txn: Txn {
                    conn: RefCell::new(Some(c)),
                    db: self.clone(),
                },
            }),
            Err(e) => {
                self.put_conn(c);
                Err(e)
            }
        }
    }

    /// The soft WAL limit of `begin_write` (see there), once the WAL is at
    /// it: checkpoint, wait, then `Full`.
    fn wait_for_wal_room(&self) -> Result<()> {
        let deadline = Instant::now() + self.inner.opts.busy_timeout;
        loop {
            let mut c = self.take_conn()?;
            let r = c.checkpoint(CheckpointMode::Passive);
            self.put_conn(c);
            if r.is_ok() {
                self.inner.checkpoints.fetch_add(1, Ordering::Relaxed);
            }
            match r {
                // Everything copied: the next writer restarts the WAL.
                Ok(info) if info.backfilled == info.wal_frames => return Ok(()),
                Ok(_) | Err(walden_core::Error::Busy) => {}
                Err(e) => return Err(self.err(e)),
            }
            if Instant::now() >= deadline {
                return Err(Error::Full(
                    "WAL at three quarters of its limit and a reader's old snapshot stops the checkpoint (see Stats::oldest_reader_age)",
                ));
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    /// Runs a checkpoint (see [`CheckpointMode`]); modes other than
    /// `Passive` wait up to the busy timeout for readers and the writer.
    /// `Truncate` also fsyncs the directory. Returns frames in the WAL and
    /// frames backfilled. Errors: `Busy`, `Poisoned`, `Io`, `Corrupt`.
    pub fn checkpoint(&self, mode: CheckpointMode) -> Result<CheckpointInfo> {
        let mut c = self.take_conn()?;
        let r = self.with_busy(|| c.checkpoint(mode));
        self.put_conn(c);
        let info = r?;
        self.inner.checkpoints.fetch_add(1, Ordering::Relaxed);
        if mode == CheckpointMode::Truncate {
            sync_dir(&self.inner.paths.wal, &self.inner.io)?;
        }
        Ok(info)
    }

    /// Counters since open and the current WAL state.
    pub fn stats(&self) -> Stats {
        let i = &self.inner;
        let mut s = Stats {
            commits: i.commits.load(Ordering::Relaxed),
            checkpoints: i.checkpoints.load(Ordering::Relaxed),
            fsyncs: i.io.fsyncs.load(Ordering::Relaxed),
            bytes_written: i.io.bytes_written.load(Ordering::Relaxed),
            recovery_time: i.recovery_time,
            recovered_frames: i.recovered_frames,
            wal_limit: i.max_frames as u64,
            ..Stats::default()
        };
        if let Ok(r) = i.readers.lock() {
            s.active_readers = r.len() as u64;
            s.oldest_reader_age = r.values().min().map(|t| t.elapsed());
        }
        if let Ok(c) = self.take_conn() {
            if let Ok((h, nb)) = c.wal_state() {
                s.wal_frames = h.mx_frame as u64;
                s.wal_backfilled = nb as u64;
                s.db_pages = h.n_pages as u64;
                s.last_lsn = walden_core::format::lsn(h.ckpt_seq, h.mx_frame);
            }
            self.put_conn(c);
        }
        s
    }

    /// Runs the integrity check on a snapshot of the last commit: every
    /// tree, overflow chain and the freelist; checksums, key order, pages
    /// owned twice or leaked, header counts. Problems are in the report
    /// (`report.is_ok()`); errors are `Io`, `Poisoned`, `Protocol`.
    pub fn verify(&self) -> Result<walden_core::VerifyReport> {
        let r = self.begin_read()?;
        let pages = r.with(|c| c.header().map(|h| h.page_count)).unwrap_or(0);
        let mut bitmap = vec![0u8; walden_core::verify::bitmap_len(pages)];
        r.with(|c| c.verify(&mut bitmap))
    }

    /// Page size of the database in bytes.
    pub fn page_size(&self) -> u32 {
        self.take_conn()
            .map(|c| {
                let p = c.page_size();
                self.put_conn(c);
                p
            })
            .unwrap_or(self.inner.opts.page_size)
    }

    /// Largest key in bytes (depends on the page size; 1,347 at 4 KiB).
    pub fn max_key_len(&self) -> usize {
        walden_core::max_key_len(self.page_size())
    }
}

fn core_options(o: &Options, max_frames: u32) -> walden_core::Options {
    walden_core::Options {
        page_size: o.page_size,
        sync: o.sync,
        autocheckpoint_frames: o.autocheckpoint_frames,
        max_wal_frames: max_frames,
        read_marks: o.read_marks,
        read_only: o.read_only,
        create: o.create_if_missing,
        salt_seed: salt_seed(),
    }
}

/// The page size recorded in an existing database file's header.
fn page_size_hint(db: &Path, wal: &Path) -> Option<u32> {
    use std::io::Read;
    let mut b = [0u8; 16];
    let from_db = std::fs::File::open(db)
        .ok()
        .and_then(|mut f| f.read_exact(&mut b).ok())
        .and_then(|()| {
            if b[..8] != walden_core::format::DB_MAGIC {
                return None;
            }
            let ps = u32::from_le_bytes([b[12], b[13], b[14], b[15]]);
            walden_core::format::check_page_size(ps).ok().map(|_| ps)
        });
    // A database whose pages are all still in the WAL (every new one, until
    // its first checkpoint) has an empty file: the WAL header says.
    from_db.or_else(|| {
        let mut w = [0u8; walden_core::format::WAL_HEADER_LEN];
        std::fs::File::open(wal).ok()?.read_exact(&mut w).ok()?;
        walden_core::format::WalHeader::decode(&w).map(|(h, _)| h.page_size)
    })
}

/// What read and write transactions share.
pub struct Txn {
    conn: RefCell<Option<Conn>>,
    db: Database,
}

impl Txn {
    fn with<T>(&self, f: impl FnOnce(&mut Conn) -> walden_core::Result<T>) -> Result<T> {
        let mut g = self
            .conn
            .try_borrow_mut()
            .map_err(|_| Error::InvalidArgument("transaction used re-entrantly"))?;
        let c = g.as_mut().ok_or(Error::InvalidArgument("transaction already ended"))?;
        f(c).map_err(|e| self.db.err(e))
    }

    /// The default (unnamed) table.
    pub fn default_table(&self) -> Result<Table<'_>> {
        let t = self.with(|c| c.default_table())?;
        Ok(Table { txn: self, t })
    }

    /// Names of the named tables, in order.
    pub fn list_tables(&self) -> Result<Vec<String>> {
        let cat = self.with(|c| c.catalog())?;
        let t = Table { txn: self, t: cat };
        t.iter()?
            .map(|r| r.map(|(k, _)| String::from_utf8_lossy(&k).into_owned()))
            .collect()
    }

    /// Value of `key` in the default table.
    pub fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        self.default_table()?.get(key)
    }

    /// Entries of the default table within `range`.
    pub fn range<'a, R: RangeBounds<&'a [u8]>>(&self, range: R) -> Result<Range<'_>> {
        let t = self.with(|c| c.default_table())?;
        Table { txn: self, t }.range_owned(bounds(&range))
    }

    /// A cursor over the table `name` (`None`: the default table).
    /// Errors: `NotFound` if the named table does not exist.
    pub fn cursor(&self, name: Option<&str>) -> Result<Cursor<'_>> {
        let t = match name {
            None => self.with(|c| c.default_table())?,
            Some(n) => self.with(|c| c.table(n.as_bytes()))?.ok_or(Error::NotFound)?,
        };
        Ok(Cursor {
            txn: self,
            t,
            c: Box::default(),
            key: Vec::new(),
            val: Vec::new(),
        })
    }

    /// The database header (page 1) as this transaction sees it: page size,
    /// page count, freelist, roots, change counter.
    pub fn header(&self) -> Result<walden_core::DbHeader> {
        self.with(|c| c.header())
    }

    /// The wal-index state: frames in the WAL, salts, checkpoint sequence
    /// (`IndexHeader`), and frames backfilled.
    pub fn wal_state(&self) -> Result<(walden_core::IndexHeader, u32)> {
        self.with(|c| c.wal_state())
    }

    fn end(&self) -> Option<Conn> {
        self.conn.borrow_mut().take()
    }
}

fn bounds<'a, R: RangeBounds<&'a [u8]>>(r: &R) -> (Bound<Vec<u8>>, Bound<Vec<u8>>) {
    let f = |b: Bound<&&[u8]>| match b {
        Bound::Included(k) => Bound::Included(k.to_vec()),
        Bound::Excluded(k) => Bound::Excluded(k.to_vec()),
        Bound::Unbounded => Bound::Unbounded,
    };
    (f(r.start_bound()), f(r.end_bound()))
}

/// A read transaction: a snapshot. Ends when dropped.
pub struct ReadTxn {
    txn: Txn,
    id: u64,
}

impl std::ops::Deref for ReadTxn {
    type Target = Txn;
    fn deref(&self) -> &Txn {
        &self.txn
    }
}

impl ReadTxn {
    /// The table named `name`. Errors: `NotFound` if it does not exist.
    pub fn table(&self, name: &str) -> Result<Table<'_>> {
        match self.txn.with(|c| c.table(name.as_bytes()))? {
            Some(t) => Ok(Table { txn: &self.txn, t }),
            None => Err(Error::NotFound),
        }
    }
}

impl Drop for ReadTxn {
    fn drop(&mut self) {
        if let Some(mut c) = self.txn.end() {
            c.end_read();
            self.txn.db.put_conn(c);
        }
        if let Ok(mut m) = self.txn.db.inner.readers.lock() {
            m.remove(&self.id);
        }
    }
}

/// The write transaction. Dropping it without [`WriteTxn::commit`] aborts.
pub struct WriteTxn {
    txn: Txn,
}

impl std::ops::Deref for WriteTxn {
    type Target = Txn;
    fn deref(&self) -> &Txn {
        &self.txn
    }
}

impl WriteTxn {
    /// The table named `name`, created empty if it does not exist.
    pub fn table(&self, name: &str) -> Result<Table<'_>> {
        let t = self.txn.with(|c| c.create_table(name.as_bytes()))?;
        Ok(Table { txn: &self.txn, t })
    }

    /// The table named `name` if it exists (does not create it).
    pub fn open_table(&self, name: &str) -> Result<Table<'_>> {
        match self.txn.with(|c| c.table(name.as_bytes()))? {
            Some(t) => Ok(Table { txn: &self.txn, t }),
            None => Err(Error::NotFound),
        }
    }

    /// Drops the table `name` and frees its pages; returns whether it
    /// existed. Table handles of this transaction become invalid.
    pub fn drop_table(&self, name: &str) -> Result<bool> {
        self.txn.with(|c| c.drop_table(name.as_bytes()))
    }

    /// Inserts or replaces `key` in the default table.
    pub fn put(&self, key: &[u8], value: &[u8]) -> Result<()> {
        self.default_table()?.put(key, value)
    }

    /// Deletes `key` from the default table; returns whether it existed.
    pub fn delete(&self, key: &[u8]) -> Result<bool> {
        self.default_table()?.delete(key)
    }

    /// Commits: returns once the commit is durable as the sync mode says
    /// (`Full`: after the WAL fsync). Returns the commit's LSN, or `None` if
    /// nothing changed. On error the transaction is rolled back; an `Io`
    /// error poisons the database (reopen to recover).
    pub fn commit(self) -> Result<Option<u64>> {
        let Some(mut c) = self.txn.end() else {
            return Err(Error::InvalidArgument("transaction already ended"));
        };
        let before = c.stats().checkpoints;
        let r = c.commit();
        let after = c.stats().checkpoints;
        let db = self.txn.db.clone();
        db.inner.checkpoints.fetch_add(after - before, Ordering::Relaxed);
        db.put_conn(c);
        let lsn = r.map_err(|e| db.err(e))?;
        if lsn.is_some() {
            db.inner.commits.fetch_add(1, Ordering::Relaxed);
        }
        Ok(lsn)
    }

    /// Discards every change of the transaction.
    pub fn abort(self) {}
}

impl Drop for WriteTxn {
    fn drop(&mut self) {
        if let Some(mut c) = self.txn.end() {
            c.abort();
            self.txn.db.put_conn(c);
        }
    }
}

/// A table in a transaction.
pub struct Table<'t> {
    txn: &'t Txn,
    t: walden_core::Table,
}

impl<'t> Table<'t> {
    /// The value of `key`, or `None`. Errors: `InvalidArgument` (key longer
    /// than [`Database::max_key_len`]), `Corrupt`, `Io`.
    pub fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        let t = self.t;
        self.txn.with(|c| {
            let Some(n) = c.value_len(t, key)? else { return Ok(None) };
            let mut v = vec![0u8; n];
            c.read_value(t, key, 0, &mut v)?;
            Ok(Some(v))
        })
    }

    /// Inserts or replaces `key` (values up to 4 GiB - 1 bytes). Errors:
    /// `ReadOnly` in a read transaction, `InvalidArgument` (oversized key),
    /// `Full`, `Io`.
    pub fn put(&self, key: &[u8], value: &[u8]) -> Result<()> {
        let t = self.t;
        self.txn.with(|c| c.put(t, key, value))
    }

    /// Deletes `key`; returns whether it existed.
    pub fn delete(&self, key: &[u8]) -> Result<bool> {
        let t = self.t;
        self.txn.with(|c| c.delete(t, key))
    }

    /// Entries with keys in `range`, in key order; `.rev()` iterates
    /// backward. Example: `t.range(&b"a"[..]..&b"m"[..])`.
    pub fn range<'a, R: RangeBounds<&'a [u8]>>(&self, range: R) -> Result<Range<'t>> {
        self.range_owned(bounds(&range))
    }

    /// Every entry, in key order.
    pub fn iter(&self) -> Result<Range<'t>> {
        self.range_owned((Bound::Unbounded, Bound::Unbounded))
    }

    /// Number of entries (a scan).
    pub fn len(&self) -> Result<u64> {
        let mut n = 0;
        let mut c = CoreCursor::new();
        let t = self.t;
        let mut ok = self.txn.with(|conn| conn.cursor_first(&mut c, t))?;
        while ok {
            n += 1;
            ok = self.txn.with(|conn| conn.cursor_next(&mut c))?;
        }
        Ok(n)
    }

    /// Whether the table has no entry.
    pub fn is_empty(&self) -> Result<bool> {
        let mut c = CoreCursor::new();
        let t = self.t;
        Ok(!self.txn.with(|conn| conn.cursor_first(&mut c, t))?)
    }

    fn range_owned(&self, b: (Bound<Vec<u8>>, Bound<Vec<u8>>)) -> Result<Range<'t>> {
        Ok(Range {
            txn: self.txn,
            t: self.t,
            start: b.0,
            end: b.1,
            front: None,
            back: None,
            done: false,
        })
    }
}

/// An iterator over a key range: `Result<(key, value)>` items.
pub struct Range<'t> {
    txn: &'t Txn,
    t: walden_core::Table,
    start: Bound<Vec<u8>>,
    end: Bound<Vec<u8>>,
    front: Option<Box<CoreCursor>>,
    back: Option<Box<CoreCursor>>,
    done: bool,
}

impl Range<'_> {
    fn in_end(&self, k: &[u8]) -> bool {
        match &self.end {
            Bound::Included(e) => k <= e.as_slice(),
            Bound::Excluded(e) => k < e.as_slice(),
            Bound::Unbounded => true,
        }
    }
    fn in_start(&self, k: &[u8]) -> bool {
        match &self.start {
            Bound::Included(s) => k >= s.as_slice(),
            Bound::Excluded(s) => k > s.as_slice(),
            Bound::Unbounded => true,
        }
    }

    fn step(&mut self, fwd: bool) -> Result<Option<(Vec<u8>, Vec<u8>)>> {
        let t = self.t;
        let (start, end) = (self.start.clone(), self.end.clone());
        let slot = if fwd { &mut self.front } else { &mut self.back };
        let fresh = slot.is_none();
        let cur = slot.get_or_insert_with(|| Box::new(CoreCursor::new()));
        let on = self.txn.with(|c| {
            if fresh {
                if fwd {
                    match &start {
                        Bound::Unbounded => c.cursor_first(cur, t),
                        Bound::Included(k) => c.cursor_seek(cur, t, k),
                        Bound::Excluded(k) => {
                            let ok = c.cursor_seek(cur, t, k)?;
                            if ok && cur.key() == Some(k.as_slice()) {
                                c.cursor_next(cur)
                            } else {
                                Ok(ok)
                            }
                        }
                    }
                } else {
                    match &end {
                        Bound::Unbounded => c.cursor_last(cur, t),
                        Bound::Included(k) | Bound::Excluded(k) => {
                            let incl = matches!(end, Bound::Included(_));
                            if c.cursor_seek(cur, t, k)? {
                                if incl && cur.key() == Some(k.as_slice()) {
                                    Ok(true)
                                } else {
                                    c.cursor_prev(cur)
                                }
                            } else {
                                c.cursor_last(cur, t)
                            }
                        }
                    }
                }
            } else if fwd {
                c.cursor_next(cur)
            } else {
                c.cursor_prev(cur)
            }
        })?;
        if !on {
            return Ok(None);
        }
        let key = cur.key().map(<[u8]>::to_vec).unwrap_or_default();
        // Stop where the other end has already been.
        let other = if fwd { self.back.as_ref() } else { self.front.as_ref() };
        if let Some(o) = other.and_then(|o| o.key()) {
            if (fwd && key.as_slice() >= o) || (!fwd && key.as_slice() <= o) {
                return Ok(None);
            }
        }
        if (fwd && !self.in_end(&key)) || (!fwd && !self.in_start(&key)) {
            return Ok(None);
        }
        let cur = if fwd { self.front.as_ref() } else { self.back.as_ref() };
        let cur = cur.ok_or(Error::InvalidArgument("cursor"))?;
        let val = self.txn.with(|c| {
            let n = c.cursor_value_len(cur)?;
            let mut v = vec![0u8; n];
            c.cursor_value(cur, 0, &mut v)?;
            Ok(v)
        })?;
        Ok(Some((key, val)))
    }

    fn advance(&mut self, fwd: bool) -> Option<Result<(Vec<u8>, Vec<u8>)>> {
        if self.done {
            return None;
        }
        match self.step(fwd) {
            Ok(Some(kv)) => Some(Ok(kv)),
            Ok(None) => {
                self.done = true;
                None
            }
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }
}

impl Iterator for Range<'_> {
    type Item = Result<(Vec<u8>, Vec<u8>)>;
    fn next(&mut self) -> Option<Self::Item> {
        self.advance(true)
    }
}

impl DoubleEndedIterator for Range<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        self.advance(false)
    }
}

/// A positioned cursor (as LMDB's and SQLite's): `first`, `last`, `seek`,
/// `next`, `prev` return whether it is on an entry; `key` and `value`
/// borrow the current entry until the cursor moves. It survives puts and
/// deletes of its own write transaction (it re-seeks from its key).
pub struct Cursor<'t> {
    txn: &'t Txn,
    t: walden_core::Table,
    c: Box<CoreCursor>,
    key: Vec<u8>,
    val: Vec<u8>,
}

impl Cursor<'_> {
    fn load(&mut self, on: bool) -> Result<bool> {
        self.key.clear();
        self.val.clear();
        if !on {
            return Ok(false);
        }
        self.key.extend_from_slice(self.c.key().unwrap_or_default());
        let c = &self.c;
        let val = &mut self.val;
        self.txn.with(|conn| {
            let n = conn.cursor_value_len(c)?;
            val.resize(n, 0);
            conn.cursor_value(c, 0, val)?;
            Ok(())
        })?;
        Ok(true)
    }
    /// Moves to the first entry; false if the table is empty.
    pub fn first(&mut self) -> Result<bool> {
        let (t, c) = (self.t, &mut self.c);
        let on = self.txn.with(|conn| conn.cursor_first(c, t))?;
        self.load(on)
    }
    /// Moves to the last entry; false if the table is empty.
    pub fn last(&mut self) -> Result<bool> {
        let (t, c) = (self.t, &mut self.c);
        let on = self.txn.with(|conn| conn.cursor_last(c, t))?;
        self.load(on)
    }
    /// Moves to the first entry whose key is >= `key`; false if none.
    pub fn seek(&mut self, key: &[u8]) -> Result<bool> {
        let (t, c) = (self.t, &mut self.c);
        let on = self.txn.with(|conn| conn.cursor_seek(c, t, key))?;
        self.load(on)
    }
    /// Moves to the next entry; false past the end (or if not positioned).
    // Named as LMDB's and SQLite's cursor step; not an `Iterator` (it
    // returns whether it moved, and can fail). `Table::range` is the iterator.
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> Result<bool> {
        let c = &mut self.c;
        let on = self.txn.with(|conn| conn.cursor_next(c))?;
        self.load(on)
    }
    /// Moves to the previous entry; false before the start.
    pub fn prev(&mut self) -> Result<bool> {
        let c = &mut self.c;
        let on = self.txn.with(|conn| conn.cursor_prev(c))?;
        self.load(on)
    }
    /// The current key, or `None` when not on an entry.
    pub fn key(&self) -> Option<&[u8]> {
        self.c.is_valid().then_some(self.key.as_slice())
    }
    /// The current value, or `None` when not on an entry.
    pub fn value(&self) -> Option<&[u8]> {
        self.c.is_valid().then_some(self.val.as_slice())
    }
}
