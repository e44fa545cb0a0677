//! What a caller chooses: the options of a connection, the sync modes and
//! the checkpoint modes. Plain data; the layers that act on them check them
//! (the wal-index its layout, the pager its memory, recovery the page size).
//!
//! # What each sync mode costs and keeps
//!
//! | mode | syncs per commit | syncs per checkpoint | what survives |
//! |---|---|---|---|
//! | `Off` | none | none | a process crash loses nothing; an OS crash or power cut may lose commits and corrupt the database |
//! | `Normal` | none, but one after a new WAL header (the first frame of a generation) | the WAL before copying, the database file after (and the WAL after a truncation) | a power cut may lose the commits since the last checkpoint, never consistency |
//! | `Full` | one WAL sync before the commit is published (two when it starts a generation) | as `Normal` | every acknowledged commit survives a power cut |
//!
//! The storage is assumed to make every earlier write of a file durable when
//! its `sync` returns `Ok`; see `docs/RELIABILITY.md` for the fault model.

use core::fmt;
use core::str::FromStr;

use crate::format;

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
///
/// Parses from and prints as `passive`, `full`, `restart`, `truncate`
/// (`FromStr`, `Display`), the names the CLI and the C header use.
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

impl CheckpointMode {
    /// Every mode, weakest first.
    pub const ALL: [CheckpointMode; 4] = [
        CheckpointMode::Passive,
        CheckpointMode::Full,
        CheckpointMode::Restart,
        CheckpointMode::Truncate,
    ];

    /// The mode's lower-case name: `passive`, `full`, `restart`, `truncate`.
    pub const fn name(self) -> &'static str {
        match self {
            CheckpointMode::Passive => "passive",
            CheckpointMode::Full => "full",
            CheckpointMode::Restart => "restart",
            CheckpointMode::Truncate => "truncate",
        }
    }
}

impl fmt::Display for CheckpointMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The error of parsing a [`CheckpointMode`]: the name was none of
/// `passive`, `full`, `restart`, `truncate`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnknownCheckpointMode;

impl fmt::Display for UnknownCheckpointMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("unknown checkpoint mode (expected passive, full, restart or truncate)")
    }
}

impl core::error::Error for UnknownCheckpointMode {}

impl FromStr for CheckpointMode {
    type Err = UnknownCheckpointMode;
    /// Parses a mode name, ignoring ASCII case.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        CheckpointMode::ALL
            .into_iter()
            .find(|m| m.name().eq_ignore_ascii_case(s))
            .ok_or(UnknownCheckpointMode)
    }
}

/// Result of a checkpoint, in frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CheckpointInfo {
    /// Frames in the WAL after the checkpoint (0 after a restart).
    pub wal_frames: u32,
    /// Frames of those already copied into the database file.
    pub backfilled: u32,
}

/// Why a checkpoint ran (the statistics count each cause apart, as
/// PostgreSQL's `pg_stat_bgwriter` counts timed and requested checkpoints).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckpointCause {
    /// The WAL reached `autocheckpoint_frames` or `max_wal_bytes`.
    Size,
    /// `checkpoint_interval_ms` passed since the last checkpoint.
    Time,
    /// [`crate::Connection::checkpoint`] was called.
    Manual,
}

/// Checkpoint statistics of a database, counted in its wal-index since it
/// was last recovered (so, with the std backend's `-shm`, by every process
/// that has it open), as PostgreSQL's `pg_stat_bgwriter`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CheckpointStats {
    /// Checkpoints run because the WAL reached its size threshold
    /// (`autocheckpoint_frames`, `max_wal_bytes`).
    pub by_size: u32,
    /// Checkpoints run because `checkpoint_interval_ms` passed.
    pub by_time: u32,
    /// Checkpoints asked for ([`crate::Connection::checkpoint`]).
    pub manual: u32,
    /// Pages copied from the WAL into the database file.
    pub pages_written: u64,
    /// Milliseconds spent in checkpoints (by connections with a clock,
    /// [`crate::Connection::set_clock`]).
    pub time_ms: u64,
}

/// Options of a connection. The first connection to a region fixes the
/// region's layout (`max_wal_frames`, `read_marks`; limits in
/// [`crate::wal::index`]); `page_size` is used only when the database is
/// created.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    /// Page size in bytes for a new database: a power of two, 512..=65536.
    pub page_size: u32,
    /// Durability of commits.
    pub sync: SyncMode,
    /// Run a passive checkpoint after a commit that leaves at least this many
    /// frames in the WAL; 0 disables. Default 1,000 frames.
    pub autocheckpoint_frames: u32,
    /// Frames the wal-index can hold (the WAL's largest size in frames),
    /// [`crate::wal::index::MIN_WAL_FRAMES`] to
    /// [`crate::wal::index::MAX_WAL_FRAMES`]. Default 4,096.
    pub max_wal_frames: u32,
    /// Read-mark slots, slot 0 included
    /// ([`crate::wal::index::MIN_READ_MARKS`] to
    /// [`crate::wal::index::MAX_READ_MARKS`]). Default 8.
    pub read_marks: u32,
    /// Refuse writes.
    pub read_only: bool,
    /// Create the database when the database storage is empty.
    pub create: bool,
    /// Seed for WAL salts (any value; a random one is better).
    pub salt_seed: u32,
    /// Checkpoints re-read what they rely on: the checksum chain of every
    /// WAL frame they copy from (past what recovery or an earlier
    /// checkpoint verified) before copying, and every copied page after
    /// syncing the database file, so that a write the device lost or put
    /// elsewhere is caught before the WAL may forget the frames. Default
    /// true. Worth it where reads reach the device (firmware over flash or
    /// an SD card); on a host the OS page cache answers them from memory,
    /// so the std backend defaults to false.
    pub verify_checkpoints: bool,
    /// A passive checkpoint runs after a commit, or at
    /// [`crate::Connection::tick`], once this many milliseconds have passed
    /// since the database's last checkpoint and the WAL holds frames not
    /// yet copied (PostgreSQL's `checkpoint_timeout`): the WAL's size and
    /// the recovery time stay bounded on a device that writes slowly. Needs
    /// a clock ([`crate::Connection::set_clock`]); 0 disables. Default 0.
    pub checkpoint_interval_ms: u32,
    /// A soft WAL size target in bytes (PostgreSQL's `max_wal_size`): a
    /// commit that leaves the WAL at least this large runs a passive
    /// checkpoint, as `autocheckpoint_frames` does; 0 disables. Default 0.
    pub max_wal_bytes: u64,
    /// The most pages an automatic checkpoint copies per call; the next
    /// resumes where it stopped, so that the commit that triggers one never
    /// stalls for a whole backfill (the spreading PostgreSQL's
    /// `checkpoint_completion_target` does over time). 0: no limit.
    /// Checkpoints asked for ([`crate::Connection::checkpoint`]) copy
    /// everything. Default 0. Needs the feature `checkpoint-budgets` (a
    /// default; without it `Connection::open` returns `InvalidArgument`).
    pub checkpoint_budget_pages: u32,
    /// The most milliseconds an automatic checkpoint spends copying per
    /// call (the other half of PostgreSQL's `checkpoint_completion_target`
    /// work budget): it stops after the page during which the time ran
    /// out, copying in WAL order, and the next call resumes there. Needs a
    /// clock ([`crate::Connection::set_clock`]) and the feature
    /// `checkpoint-budgets`, as the page budget; 0: no limit. Checkpoints
    /// asked for copy everything. Default 0.
    pub checkpoint_budget_ms: u32,
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
            verify_checkpoints: true,
            checkpoint_interval_ms: 0,
            max_wal_bytes: 0,
            checkpoint_budget_pages: 0,
            checkpoint_budget_ms: 0,
        }
    }
}
