//! The owned, thread-safe database handle of the std backend: opening,
//! the pool of core connections, checkpoints, statistics. Transactions are
//! in `txn.rs`.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use walden_core::format::{self, WAL_HEADER_LEN};
use walden_core::sync::AtomicU32;
use walden_core::walindex::{MAX_READ_MARKS, MAX_WAL_FRAMES, MIN_READ_MARKS};
use walden_core::{cache_mem_len, region_words, CheckpointInfo, CheckpointMode, Connection, SyncMode};

use crate::busy::Wait;
use crate::error::{Error, Result};
use crate::file::{sync_dir, FileStorage, IoShared};
use crate::paths::Paths;

pub(crate) type Conn = Connection<FileStorage, Arc<[AtomicU32]>, Vec<u8>>;

/// Options of [`Database::open`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// Page size in bytes, used when the database is created: a power of two
    /// from 512 to 65,536. Default 4,096.
    pub page_size: u32,
    /// Page cache capacity of each connection, in pages (at least 4).
    /// Default 512: 2 MiB at 4 KiB pages, SQLite's default cache (its
    /// `cache_size` of -2000). The memory is used as pages are cached (a
    /// ceiling, as redb's cache), plus about 24 bytes of bookkeeping per
    /// page from the start.
    pub cache_pages: u32,
    /// Durability of commits. Default [`SyncMode::Full`].
    pub sync: SyncMode,
    /// Passive checkpoint after a commit that leaves this many frames in
    /// the WAL; 0 disables. Default 1,000.
    pub autocheckpoint_frames: u32,
    /// The longest any call waits for another connection before it
    /// returns [`Error::Busy`] (or `Protocol`): opening while another
    /// handle still holds the file, `begin_write`, `begin_read` under a
    /// wal-index that keeps changing, non-passive checkpoints. The only
    /// bound on waiting, in every crate (the `busy` module documents the
    /// policy). Zero: never sleep, fail at once. Default 5 s (rusqlite's
    /// default; redb and LMDB writers wait without bound).
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
    /// Checkpoints re-read the WAL frames they copy from and the pages they
    /// copied ([`walden_core::Options::verify_checkpoints`]). Default false:
    /// on a host those reads come from the OS page cache, which answers with
    /// what was just written, so they catch nothing of the device; recovery
    /// checks every frame when a database opens either way.
    pub verify_checkpoints: bool,
}

/// The default [`Options::busy_timeout`]: 5 s.
pub const DEFAULT_BUSY_TIMEOUT: Duration = Duration::from_secs(5);

impl Default for Options {
    fn default() -> Self {
        Options {
            page_size: 4096,
            cache_pages: 512,
            sync: SyncMode::Full,
            autocheckpoint_frames: 1000,
            busy_timeout: DEFAULT_BUSY_TIMEOUT,
            read_only: false,
            create_if_missing: true,
            max_wal_frames: 65_536,
            read_marks: 8,
            verify_checkpoints: false,
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

pub(crate) struct Inner {
    pub(crate) paths: Paths,
    pub(crate) opts: Options,
    region: Arc<[AtomicU32]>,
    db_file: FileStorage,
    wal_file: FileStorage,
    io: Arc<IoShared>,
    pool: Mutex<Vec<Conn>>,
    pub(crate) commits: AtomicU64,
    pub(crate) checkpoints: AtomicU64,
    recovery_time: Duration,
    recovered_frames: u64,
    /// The wal-index capacity in frames (the WAL's hard limit).
    pub(crate) max_frames: u32,
    /// Start times of the open read transactions, by id.
    pub(crate) readers: Mutex<std::collections::BTreeMap<u64, Instant>>,
    /// WAL frames when `begin_write` last tried to restart a large WAL (0:
    /// no attempt pending).
    pub(crate) restart_attempt_at: std::sync::atomic::AtomicU32,
    pub(crate) next_reader: AtomicU64,
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
    pub(crate) inner: Arc<Inner>,
}

impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Database")
            .field("path", &self.inner.paths.db)
            .finish_non_exhaustive()
    }
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
    /// (another handle has the database open, for longer than the busy
    /// timeout), `Corrupt`, `UnsupportedVersion`, `Full` (the WAL is larger
    /// than the wal-index can hold).
    pub fn open(path: impl AsRef<Path>, opts: Options) -> Result<Database> {
        let path = path.as_ref();
        format::check_page_size(opts.page_size)
            .map_err(|_| Error::InvalidArgument("page size must be a power of two from 512 to 65536 bytes"))?;
        if opts.cache_pages < walden_core::MIN_CACHE_PAGES {
            return Err(Error::InvalidArgument("cache_pages must be at least 4"));
        }
        if !(MIN_READ_MARKS..=MAX_READ_MARKS).contains(&opts.read_marks) {
            return Err(Error::InvalidArgument("read_marks must be from 2 to 64"));
        }
        let paths = Paths::new(path);
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
        Wait::new(opts.busy_timeout).retry(
            || match db.file().try_lock() {
                Ok(()) => Ok(()),
                Err(std::fs::TryLockError::WouldBlock) => Err(Error::Busy(Some(format!(
                    "{} is open in another process (or by another handle of this one)",
                    paths.db.display()
                )))),
                Err(std::fs::TryLockError::Error(e)) => Err(Error::Io(e)),
            },
            |e| matches!(e, Error::Busy(_)),
        )?;
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
        let ps = page_size_hint(&paths).unwrap_or(opts.page_size);
        let wal_len = std::fs::metadata(&paths.wal).map(|m| m.len()).unwrap_or(0);
        let frames_on_disk = format::wal_frames_in(wal_len, ps).min(MAX_WAL_FRAMES as u64 / 2) as u32;
        let max_frames = opts.max_wal_frames.max(frames_on_disk + 64).min(MAX_WAL_FRAMES);
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
            restart_attempt_at: std::sync::atomic::AtomicU32::new(0),
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

    pub(crate) fn err(&self, e: walden_core::Error) -> Error {
        Error::from_core(e, &self.inner.paths, || self.inner.io.take_error())
    }

    pub(crate) fn take_conn(&self) -> Result<Conn> {
        if let Some(c) = self.inner.pool.lock().map_err(|_| Error::Poisoned)?.pop() {
            return Ok(c);
        }
        let i = &self.inner;
        let ps = page_size_hint(&i.paths).unwrap_or(i.opts.page_size);
        let mem = vec![0u8; cache_mem_len(ps, i.opts.cache_pages)];
        // The region is initialised: its layout words win over these.
        Connection::open(
            i.db_file.clone(),
            i.wal_file.clone(),
            i.region.clone(),
            mem,
            core_options(&i.opts, i.max_frames),
        )
        .map_err(|e| self.err(e))
    }

    pub(crate) fn put_conn(&self, c: Conn) {
        if let Ok(mut p) = self.inner.pool.lock() {
            if p.len() < 16 {
                p.push(c);
            }
        }
    }

    /// Runs `f` until it returns something other than `Busy`, for up to the
    /// busy timeout (the waiting policy of the `busy` module).
    pub(crate) fn with_busy<T>(&self, f: impl FnMut() -> walden_core::Result<T>) -> Result<T> {
        Wait::new(self.inner.opts.busy_timeout)
            .retry(f, |e| *e == walden_core::Error::Busy)
            .map_err(|e| self.err(e))
    }

    /// Brings a WAL that the automatic checkpoint could not restart back to
    /// its start: when it holds `frames`, at least the autocheckpoint
    /// threshold (and one threshold more than at the last attempt), runs a
    /// `Restart` checkpoint, waiting for readers for at most 10 ms (or the
    /// busy timeout, if shorter). Under readers that come and go the WAL
    /// cannot restart at a commit (a reader nearly always holds a recent
    /// snapshot), but once this holds the write lock and has copied every
    /// frame, new readers take read mark 0 and the old ones finish: the WAL
    /// restarts and stays within a few thresholds (SQLite's `walRestartLog`
    /// relies on the same property). A failure is not an error: a reader
    /// with an old snapshot may hold the WAL back; the soft limit of
    /// `begin_write` handles that.
    pub(crate) fn restart_large_wal(&self, c: &mut Conn, frames: u32) {
        let t = self.inner.opts.autocheckpoint_frames;
        if t == 0 || self.inner.opts.read_only || frames < t {
            self.inner.restart_attempt_at.store(0, Ordering::Relaxed);
            return;
        }
        let last = self.inner.restart_attempt_at.load(Ordering::Relaxed);
        if last != 0 && frames < last.saturating_add(t) {
            return;
        }
        self.inner.restart_attempt_at.store(frames, Ordering::Relaxed);
        let bound = self.inner.opts.busy_timeout.min(Duration::from_millis(10));
        // Not counted in `Stats::checkpoints`: the write path runs it, not
        // the user, and it usually only restarts a WAL already copied.
        let r = Wait::new(bound).retry(|| c.checkpoint(CheckpointMode::Restart), |e| *e == walden_core::Error::Busy);
        if r.is_ok() {
            self.inner.restart_attempt_at.store(0, Ordering::Relaxed);
        }
    }

    /// The soft WAL limit of `begin_write` (see there), once the WAL is at
    /// it: checkpoint, wait, then `Full`.
    pub(crate) fn wait_for_wal_room(&self) -> Result<()> {
        let mut wait = Wait::new(self.inner.opts.busy_timeout);
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
            if !wait.pause() {
                return Err(Error::Full(
                    "WAL at three quarters of its limit and a reader's old snapshot stops the checkpoint (see Stats::oldest_reader_age)",
                ));
            }
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
                s.last_lsn = format::lsn(h.ckpt_seq, h.mx_frame);
            }
            self.put_conn(c);
        }
        s
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
        verify_checkpoints: o.verify_checkpoints,
    }
}

/// The page size an existing database announces ([`format::page_size_hint`]
/// over the first bytes of its two files).
fn page_size_hint(paths: &Paths) -> Option<u32> {
    fn head(p: &Path, buf: &mut [u8]) -> usize {
        use std::io::Read;
        std::fs::File::open(p).and_then(|mut f| f.read(buf)).unwrap_or(0)
    }
    let mut db = [0u8; 16];
    let mut wal = [0u8; WAL_HEADER_LEN];
    let n = head(&paths.db, &mut db);
    let m = head(&paths.wal, &mut wal);
    format::page_size_hint(&db[..n], &wal[..m])
}
