//! [`Builder`]: the options of [`Database::open`] set one by one, as redb's
//! `Builder` and sled's `Config` do, beside the [`Options`] struct.

use std::path::Path;
use std::time::Duration;

use walden_core::SyncMode;

use crate::db::Database;
use crate::error::Result;
use crate::options::{LockingMode, Options};

/// Opens a database with options set one call at a time; the ones not set
/// keep [`Options::default`]'s values.
///
/// ```
/// use std::time::Duration;
/// use walden_std::{Database, SyncMode};
/// # let dir = tempfile::tempdir()?;
/// let db = Database::builder()
///     .sync(SyncMode::Normal)
///     .cache(1024) // pages: 4 MiB at 4 KiB pages
///     .busy_timeout(Duration::from_secs(1))
///     .open(dir.path().join("app.db"))?;
/// assert_eq!(db.page_size(), 4096);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[must_use = "a builder does nothing until `open`"]
pub struct Builder {
    opts: Options,
}

impl Database {
    /// A [`Builder`] with the default options.
    pub fn builder() -> Builder {
        Builder::default()
    }
}

impl Builder {
    /// [`Options::page_size`]: bytes per page of a new database, a power
    /// of two from 512 to 65,536.
    pub fn page_size(mut self, bytes: u32) -> Builder {
        self.opts.page_size = bytes;
        self
    }

    /// [`Options::cache_pages`]: the page cache of each connection, in
    /// pages (at least 4).
    pub fn cache(mut self, pages: u32) -> Builder {
        self.opts.cache_pages = pages;
        self
    }

    /// [`Options::sync`]: durability of commits.
    pub fn sync(mut self, mode: SyncMode) -> Builder {
        self.opts.sync = mode;
        self
    }

    /// [`Options::autocheckpoint_frames`]: a passive checkpoint after a
    /// commit that leaves this many WAL frames; 0 disables.
    pub fn autocheckpoint(mut self, frames: u32) -> Builder {
        self.opts.autocheckpoint_frames = frames;
        self
    }

    /// [`Options::busy_timeout`]: the longest any call waits for another
    /// connection.
    pub fn busy_timeout(mut self, timeout: Duration) -> Builder {
        self.opts.busy_timeout = timeout;
        self
    }

    /// [`Options::read_only`]: open for reading only.
    pub fn read_only(mut self, yes: bool) -> Builder {
        self.opts.read_only = yes;
        self
    }

    /// [`Options::create_if_missing`]: create the file if it does not exist.
    pub fn create_if_missing(mut self, yes: bool) -> Builder {
        self.opts.create_if_missing = yes;
        self
    }

    /// [`Options::max_wal_frames`]: the largest WAL, in frames.
    pub fn max_wal_frames(mut self, frames: u32) -> Builder {
        self.opts.max_wal_frames = frames;
        self
    }

    /// [`Options::read_marks`]: read-mark slots, 2 to 64.
    pub fn read_marks(mut self, n: u32) -> Builder {
        self.opts.read_marks = n;
        self
    }

    /// [`Options::locking_mode`]: whether other processes and handles may
    /// open the database meanwhile.
    pub fn locking_mode(mut self, mode: LockingMode) -> Builder {
        self.opts.locking_mode = mode;
        self
    }

    /// [`Options::verify_checkpoints`]: checkpoints re-read what they copy.
    pub fn verify_checkpoints(mut self, yes: bool) -> Builder {
        self.opts.verify_checkpoints = yes;
        self
    }

    /// [`Options::checkpoint_interval`]: a passive checkpoint at least this
    /// often while the WAL holds frames not yet copied; `None` disables.
    pub fn checkpoint_interval(mut self, every: Option<Duration>) -> Builder {
        self.opts.checkpoint_interval = every;
        self
    }

    /// [`Options::max_wal_bytes`]: a soft WAL size target in bytes; 0
    /// disables.
    pub fn max_wal_bytes(mut self, bytes: u64) -> Builder {
        self.opts.max_wal_bytes = bytes;
        self
    }

    /// [`Options::checkpoint_budget_pages`]: the most pages an automatic
    /// checkpoint copies at a time; 0: no limit.
    pub fn checkpoint_budget(mut self, pages: u32) -> Builder {
        self.opts.checkpoint_budget_pages = pages;
        self
    }

    /// [`Options::checkpoint_budget_time`]: the most time an automatic
    /// checkpoint spends copying at a time.
    pub fn checkpoint_time_budget(mut self, time: Duration) -> Builder {
        self.opts.checkpoint_budget_time = Some(time);
        self
    }

    /// The options set so far.
    pub fn options(&self) -> &Options {
        &self.opts
    }

    /// Opens (or creates) the database at `path`: [`Database::open`] with
    /// these options, and its errors.
    pub fn open(self, path: impl AsRef<Path>) -> Result<Database> {
        Database::open(path, self.opts)
    }
}

impl From<Options> for Builder {
    fn from(opts: Options) -> Builder {
        Builder { opts }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_setter_sets_its_option() {
        let b = Database::builder()
            .page_size(8192)
            .cache(64)
            .sync(SyncMode::Off)
            .autocheckpoint(0)
            .busy_timeout(Duration::from_millis(7))
            .read_only(true)
            .create_if_missing(false)
            .max_wal_frames(1000)
            .read_marks(4)
            .locking_mode(LockingMode::Exclusive)
            .verify_checkpoints(true)
            .checkpoint_interval(Some(Duration::from_secs(60)))
            .max_wal_bytes(1 << 20)
            .checkpoint_budget(100)
            .checkpoint_time_budget(Duration::from_millis(3));
        let want = Options {
            page_size: 8192,
            cache_pages: 64,
            sync: SyncMode::Off,
            autocheckpoint_frames: 0,
            busy_timeout: Duration::from_millis(7),
            read_only: true,
            create_if_missing: false,
            max_wal_frames: 1000,
            read_marks: 4,
            locking_mode: LockingMode::Exclusive,
            verify_checkpoints: true,
            checkpoint_interval: Some(Duration::from_secs(60)),
            max_wal_bytes: 1 << 20,
            checkpoint_budget_pages: 100,
            checkpoint_budget_time: Some(Duration::from_millis(3)),
        };
        assert_eq!(b.options(), &want);
        assert_eq!(Builder::from(want.clone()), b);
        assert_eq!(Database::builder().options(), &Options::default());
    }

    #[test]
    fn open_uses_the_options() {
        let dir = tempfile::tempdir().unwrap();
        let db = Database::builder().page_size(1024).open(dir.path().join("b.db")).unwrap();
        assert_eq!(db.page_size(), 1024);
        drop(db);
        let e = Database::builder().create_if_missing(false).open(dir.path().join("none.db"));
        assert!(matches!(e, Err(crate::Error::Io(ref io)) if io.kind() == std::io::ErrorKind::NotFound));
    }
}
