//! The options of [`crate::Database::open`] and what they become for the
//! core.

use std::path::Path;
use std::time::Duration;

use walden_core::format::{self, WAL_HEADER_LEN};
use walden_core::SyncMode;

use crate::paths::Paths;

/// How processes and handles share a database ([`Options::locking_mode`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LockingMode {
    /// Any number of processes and handles (each [`Database::open`](crate::Database::open) of one
    /// file, through any name, in any process): the wal-index lives in the
    /// memory-mapped `<db>-shm` file and its locks are `fcntl` locks on it,
    /// released by the kernel when a process dies (as SQLite's WAL mode).
    /// Not for network file systems (`docs/FORMAT.md`, section 11).
    #[default]
    Shared,
    /// One handle only, as SQLite's `locking_mode=EXCLUSIVE`: the database
    /// file is locked exclusively (`flock`), the wal-index lives in this
    /// handle's heap and no `-shm` file is made. Another open of the file,
    /// in any mode, waits for the busy timeout and fails with `Busy`.
    Exclusive,
}

/// Options of [`Database::open`](crate::Database::open).
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
    /// returns [`Error::Busy`](crate::Error::Busy) (or `Protocol`): opening while another
    /// handle still holds the file, `begin_write`, `begin_read` under a
    /// wal-index that keeps changing, non-passive checkpoints. The only
    /// bound on waiting, in every crate (the `busy` module documents the
    /// policy). Zero: never sleep, fail at once. Default 5 s (rusqlite's
    /// default; redb and LMDB writers wait without bound). A commit that
    /// waits for another connection's fsync to cover it (group commit)
    /// waits at least [`MIN_SYNC_WAIT`], whatever this is: the sync lock
    /// is held only for one fsync, never for a transaction.
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
    /// Whether other processes and handles may open the database meanwhile.
    /// Default [`LockingMode::Shared`].
    pub locking_mode: LockingMode,
    /// Checkpoints re-read the WAL frames they copy from and the pages they
    /// copied ([`walden_core::Options::verify_checkpoints`]). Default false:
    /// on a host those reads come from the OS page cache, which answers with
    /// what was just written, so they catch nothing of the device; recovery
    /// checks every frame when a database opens either way.
    pub verify_checkpoints: bool,
    /// A passive checkpoint at least this often while the WAL holds frames
    /// not yet copied (PostgreSQL's `checkpoint_timeout`), run from commits,
    /// and from a background thread if one is started
    /// ([`crate::Database::start_checkpointer`]); `None` disables. Default
    /// `None`.
    pub checkpoint_interval: Option<Duration>,
    /// A soft WAL size target in bytes (PostgreSQL's `max_wal_size`): a
    /// commit that leaves the WAL this large runs a passive checkpoint;
    /// [`crate::Stats::wal_bytes_to_target`] shows the distance. 0
    /// disables. Default 0.
    pub max_wal_bytes: u64,
    /// The most pages an automatic checkpoint copies at a time; the next
    /// resumes where it stopped, so the commit that triggers one never
    /// stalls for a whole backfill ([`walden_core::Options::checkpoint_budget_pages`]).
    /// 0: no limit. Default 0.
    pub checkpoint_budget_pages: u32,
    /// The most time an automatic checkpoint spends copying at a time
    /// (rounded to milliseconds, at least 1); the next resumes where it
    /// stopped ([`walden_core::Options::checkpoint_budget_ms`]). `None`: no
    /// limit. Default `None`.
    pub checkpoint_budget_time: Option<Duration>,
}

/// The default [`Options::busy_timeout`]: 5 s.
pub const DEFAULT_BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// The least time an appended commit waits for an fsync that covers it
/// before [`crate::WriteTxn::commit`] returns `Busy`, even with a shorter
/// [`Options::busy_timeout`]: 5 s. The holder of the sync lock runs one
/// WAL fsync and publishes (or repairs the wal-index header, or restarts
/// the WAL), so the wait ends with that I/O; giving up sooner would leave
/// an appended commit unacknowledged under a merely concurrent checkpoint.
pub const MIN_SYNC_WAIT: Duration = Duration::from_secs(5);

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
            locking_mode: LockingMode::Shared,
            verify_checkpoints: false,
            checkpoint_interval: None,
            max_wal_bytes: 0,
            checkpoint_budget_pages: 0,
            checkpoint_budget_time: None,
        }
    }
}

pub(crate) fn core_options(o: &Options, max_frames: u32) -> walden_core::Options {
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
        checkpoint_interval_ms: o.checkpoint_interval.map_or(0, |d| d.as_millis().clamp(1, u32::MAX as u128) as u32),
        max_wal_bytes: o.max_wal_bytes,
        checkpoint_budget_pages: o.checkpoint_budget_pages,
        checkpoint_budget_ms: o
            .checkpoint_budget_time
            .map_or(0, |d| d.as_millis().clamp(1, u32::MAX as u128) as u32),
    }
}

/// The clock the std backend gives its connections: `CLOCK_MONOTONIC` in
/// milliseconds, one clock for every process of the machine.
pub(crate) fn monotonic_ms() -> u64 {
    nix::time::clock_gettime(nix::time::ClockId::CLOCK_MONOTONIC).map_or(0, |t| t.tv_sec() as u64 * 1000 + t.tv_nsec() as u64 / 1_000_000)
}

/// The page size an existing database announces ([`format::page_size_hint`]
/// over the first bytes of its two files).
pub(crate) fn page_size_hint(paths: &Paths) -> Option<u32> {
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

fn salt_seed() -> u32 {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    (t as u32) ^ ((t >> 32) as u32) ^ std::process::id().rotate_left(16)
}
