//! The owned, thread-safe database handle of the std backend: opening,
//! the pool of core connections, checkpoints, statistics. Transactions are
//! in `txn.rs`.

use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use walden_core::format;
use walden_core::walindex::{MAX_READ_MARKS, MIN_READ_MARKS};
use walden_core::{cache_mem_len, CheckpointInfo, CheckpointMode, Connection};

use crate::busy::Wait;
use crate::error::{Error, Result};
use crate::file::sync_dir;
use crate::open::{check_magic, open_inner, Conn, Inner, Made};
use crate::options::{core_options, page_size_hint, Options};
use crate::paths::{self, Paths};

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
    /// Bytes of the WAL up to its last commit (header and frames).
    pub wal_bytes: u64,
    /// Bytes left before the WAL reaches [`Options::max_wal_bytes`] (0 at
    /// or past it); `None` without a target.
    pub wal_bytes_to_target: Option<u64>,
    /// The database's checkpoint statistics, counted by every process and
    /// handle since the wal-index was last rebuilt (by cause, pages copied,
    /// time spent), as PostgreSQL's `pg_stat_bgwriter`.
    pub checkpoint_stats: walden_core::CheckpointStats,
    /// The archive slot (`walden-archive`), if an archiver holds the WAL
    /// for its archive.
    pub archive_slot: Option<walden_core::ArchiveSlot>,
    /// WAL frames committed but not yet shipped by the archiver (0 without
    /// a slot): the archive's lag, as PostgreSQL's
    /// `pg_stat_replication` shows a standby's.
    pub archive_lag_frames: u64,
    /// The same lag in bytes of WAL (`24 + page_size` per frame).
    pub archive_lag_bytes: u64,
    /// The same lag in time: since the archiver last had every published
    /// commit shipped, while frames wait (`None` when nothing waits or
    /// there is no slot); an upper bound on the age of the oldest commit
    /// not yet shipped.
    pub archive_lag: Option<Duration>,
}

/// An open Walden database: `<path>`, its WAL `<path>-wal` and its
/// shared-memory wal-index `<path>-shm` (names after symbolic links are
/// resolved).
///
/// Cheap to clone (a shared handle); `Send + Sync`: begin transactions from
/// any thread. Readers never block the writer nor each other; one write
/// transaction at a time across every process and handle. Any number of
/// processes may open a database at once, and a second `Database::open` of
/// one file in a process (through any path that resolves to it) shares the
/// first's wal-index ([`LockingMode::Shared`](crate::LockingMode::Shared)).
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
        let res = paths::resolve(path)?;
        let paths = Paths::new(&res.path);
        if res.meta.is_none() && (opts.read_only || !opts.create_if_missing) {
            return Err(Error::Io(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                format!("{}: database file does not exist", path.display()),
            )));
        }
        if let Some(m) = &res.meta {
            check_magic(&paths, m)?;
        }
        let mut made = Made::default();
        match open_inner(paths.clone(), opts, res.meta.is_some(), &mut made) {
            Ok(inner) => Ok(Database { inner: Arc::new(inner) }),
            Err(e) => {
                made.remove(&paths);
                Err(e)
            }
        }
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
        let mut c = Connection::open(
            i.db_file.clone(),
            i.wal_file.clone(),
            i.region.clone(),
            mem,
            core_options(&i.opts, i.max_frames),
        )
        .map_err(|e| self.err(e))?;
        c.set_clock(crate::options::monotonic_ms);
        Ok(c)
    }

    pub(crate) fn put_conn(&self, c: Conn) {
        if let Ok(mut p) = self.inner.pool.lock() {
            if p.len() < 16 {
                p.push(c);
            }
        }
    }

    /// Runs `f` until it returns something other than `Busy` or `Protocol`
    /// (a wal-index header torn under a publisher that has not finished),
    /// for up to the busy timeout (the waiting policy of the `busy` module).
    pub(crate) fn with_busy<T>(&self, what: &str, f: impl FnMut() -> walden_core::Result<T>) -> Result<T> {
        Wait::new(self.inner.opts.busy_timeout)
            .retry(f, |e| *e == walden_core::Error::Busy || *e == walden_core::Error::Protocol)
            .map_err(|e| match e {
                walden_core::Error::Busy => Error::Busy(Some(format!(
                    "{}: {what} (waited {:?}, the busy timeout)",
                    self.inner.paths.db.display(),
                    self.inner.opts.busy_timeout
                ))),
                e => self.err(e),
            })
    }

    /// Brings a WAL that the automatic checkpoint could not restart back to
    /// its start: when it holds `frames`, at least the autocheckpoint
    /// threshold (and one threshold more than at the last attempt), runs a
    /// `Restart` checkpoint, waiting for readers for at most 50 ms at one
    /// threshold, four times longer with each further threshold the WAL
    /// holds (200 ms at two, 800 ms at three...), never past the busy
    /// timeout. Under
    /// readers that come and go the WAL cannot restart at a commit (a reader
    /// nearly always holds a recent snapshot), but once this holds the write
    /// lock and has copied every frame, new readers take read mark 0 and the
    /// old ones finish: the WAL restarts and stays within a few thresholds,
    /// as SQLite's `RESTART` checkpoint under a busy handler. The wait grows
    /// with the WAL so that readers descheduled while they hold a snapshot
    /// (many threads on few cores) delay the restart, not prevent it, while
    /// a writer beside one long read transaction loses little time. A
    /// failure is not an error: a reader with an old snapshot may hold the
    /// WAL back; the soft limit of `begin_write` handles that.
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
        // With a checkpoint budget the automatic checkpoints copy the WAL a
        // step at a time; a restart that copied the rest at once would be
        // the stall the budget exists to avoid. Restart only once they have
        // copied everything (the cheap case).
        let budget = self.inner.opts.checkpoint_budget_pages > 0 || self.inner.opts.checkpoint_budget_time.is_some();
        if budget && c.wal_state().is_ok_and(|(h, nb)| nb < h.mx_frame) {
            return;
        }
        self.inner.restart_attempt_at.store(frames, Ordering::Relaxed);
        let steps = (frames / t).saturating_sub(1).min(8);
        let bound = self.inner.opts.busy_timeout.min(Duration::from_millis(50 << (2 * steps)));
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
            // Everything copied is not enough: the WAL restarts only once
            // no reader holds a WAL read mark either, so wait for the
            // restart itself (new readers take read mark 0 meanwhile).
            let mut c = self.take_conn()?;
            let r = c.checkpoint(CheckpointMode::Restart);
            self.put_conn(c);
            match r {
                Ok(_) => {
                    self.inner.checkpoints.fetch_add(1, Ordering::Relaxed);
                    return Ok(());
                }
                Err(walden_core::Error::Busy) => {}
                Err(e) => return Err(self.err(e)),
            }
            if !wait.pause() {
                // Say which of the two held the WAL.
                let mut c = self.take_conn()?;
                let copied = c.checkpoint(CheckpointMode::Passive).is_ok_and(|i| i.backfilled == i.wal_frames);
                self.put_conn(c);
                if let Ok(Some(slot)) = self.with_slot() {
                    if let Ok((h, _)) = self.wal_state_now() {
                        if slot.shipped < h.mx_frame {
                            return Err(Error::Full(
                                "WAL at three quarters of its limit: every frame is copied, but the archive slot holds the WAL until the archiver ships it (see Stats::archive_lag_frames; an archiver that is gone for good: Database::drop_archive_slot)",
                            ));
                        }
                    }
                }
                return Err(Error::Full(if copied {
                    "WAL at three quarters of its limit: every frame is copied, but readers kept WAL read marks in use for the whole busy timeout, so the WAL could not restart (see Stats::active_readers)"
                } else {
                    "WAL at three quarters of its limit and a reader's old snapshot stops the checkpoint (see Stats::oldest_reader_age)"
                }));
            }
        }
    }

    fn with_slot(&self) -> Result<Option<walden_core::ArchiveSlot>> {
        let c = self.take_conn()?;
        let r = c.archive_slot();
        self.put_conn(c);
        r.map_err(|e| self.err(e))
    }

    fn wal_state_now(&self) -> Result<(walden_core::IndexHeader, u32)> {
        let c = self.take_conn()?;
        let r = Wait::new(self.inner.opts.busy_timeout).retry(|| c.wal_state(), |e| *e == walden_core::Error::Protocol);
        self.put_conn(c);
        r.map_err(|e| self.err(e))
    }

    /// Runs a checkpoint (see [`CheckpointMode`]); modes other than
    /// `Passive` wait up to the busy timeout for readers and the writer.
    /// `Truncate` also fsyncs the directory. Returns frames in the WAL and
    /// frames backfilled. Errors: `Busy`, `Poisoned`, `Io`, `Corrupt`.
    pub fn checkpoint(&self, mode: CheckpointMode) -> Result<CheckpointInfo> {
        if !self.inner.opts.read_only {
            self.inner.check_not_moved()?;
        }
        let mut c = self.take_conn()?;
        let r = self.with_busy(
            "the checkpoint needs the write lock, another checkpoint or readers of the WAL to finish (or, to restart the WAL, the archiver of an archive slot to ship it)",
            || c.checkpoint(mode),
        );
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
                s.wal_bytes = if h.mx_frame == 0 {
                    0
                } else {
                    format::frame_offset(h.mx_frame + 1, h.page_size)
                };
                let target = i.opts.max_wal_bytes;
                s.wal_bytes_to_target = (target > 0).then(|| target.saturating_sub(s.wal_bytes));
            }
            if let Ok(cs) = c.checkpoint_stats() {
                s.checkpoint_stats = cs;
            }
            if let (Ok(Some(slot)), Ok((h, _))) = (c.archive_slot(), c.wal_state()) {
                let frames = h.mx_frame.saturating_sub(slot.shipped) as u64;
                s.archive_slot = Some(slot);
                s.archive_lag_frames = frames;
                s.archive_lag_bytes = frames * (format::FRAME_HEADER_LEN as u64 + h.page_size as u64);
                let now = crate::options::monotonic_ms() as u32;
                s.archive_lag = (frames > 0).then(|| Duration::from_millis(now.wrapping_sub(slot.caught_up_ms) as u64));
            }
            self.put_conn(c);
        }
        s
    }

    /// Runs the automatic checkpoint now if one is due (by size, or by time
    /// under [`Options::checkpoint_interval`]), as a commit would: what an
    /// idle program calls, or the background checkpointer. Returns the
    /// checkpoint's result, or `None` when none was due (or another
    /// connection was checkpointing). Errors: `Poisoned`, `Io`, `Corrupt`,
    /// `ReadOnly`.
    pub fn tick(&self) -> Result<Option<CheckpointInfo>> {
        let mut c = self.take_conn()?;
        let before = c.stats().checkpoints;
        let r = c.tick();
        let ran = c.stats().checkpoints - before;
        self.put_conn(c);
        self.inner.checkpoints.fetch_add(ran, Ordering::Relaxed);
        match r {
            Err(walden_core::Error::Busy) => Ok(None),
            r => r.map_err(|e| self.err(e)),
        }
    }

    /// Starts a thread that calls [`Database::tick`] every `period`, so that
    /// time-based checkpoints ([`Options::checkpoint_interval`]) run while
    /// nothing commits (PostgreSQL's checkpointer process); without it they
    /// run only from commits. The thread stops when the returned handle is
    /// dropped (joining it). Errors of a tick are kept for
    /// [`Checkpointer::last_error`]; the thread goes on.
    pub fn start_checkpointer(&self, period: Duration) -> Checkpointer {
        let (stop, rx) = std::sync::mpsc::channel::<()>();
        let db = self.clone();
        let last_error = Arc::new(std::sync::Mutex::new(None));
        let errors = last_error.clone();
        let thread = std::thread::spawn(move || {
            while let Err(std::sync::mpsc::RecvTimeoutError::Timeout) = rx.recv_timeout(period) {
                if let Err(e) = db.tick() {
                    if let Ok(mut slot) = errors.lock() {
                        *slot = Some(e.to_string());
                    }
                }
            }
        });
        Checkpointer {
            stop: Some(stop),
            thread: Some(thread),
            last_error,
        }
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

/// The background checkpointer of [`Database::start_checkpointer`]; dropping
/// it stops the thread and waits for it.
#[derive(Debug)]
pub struct Checkpointer {
    stop: Option<std::sync::mpsc::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
    last_error: Arc<std::sync::Mutex<Option<String>>>,
}

impl Checkpointer {
    /// The message of the last tick that failed, if any.
    pub fn last_error(&self) -> Option<String> {
        self.last_error.lock().ok().and_then(|e| e.clone())
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
