//! Opening a database, in order: resolve and check the path (`paths`),
//! refuse a file that is not a Walden database before anything is created
//! beside it, open or create the three files (`-wal` and `-shm` with the
//! database file's mode and owner), take this process's place in the
//! wal-index (`shm`: first opener recovers, others attach; or, in the
//! exclusive locking mode, a lock on the database file and a heap region),
//! and run the first connection. A failed open removes every file it
//! created.

use std::io::Read;
use std::path::Path;
use std::sync::atomic::{AtomicU32 as StdAtomicU32, AtomicU64};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use walden_core::format::{self, DB_MAGIC};
use walden_core::sync::AtomicU32;
use walden_core::walindex::MAX_WAL_FRAMES;
use walden_core::{cache_mem_len, region_words, Connection};

use crate::busy::Wait;
use crate::error::{Error, Result};
use crate::file::{sync_dir, FileStorage, IoShared};
use crate::options::{core_options, page_size_hint, LockingMode, Options};
use crate::paths::{check_file, FileKey, Paths};
use crate::shm::{self, open_companion, Perms, SharedRegion, ShmNode};

pub(crate) type Conn = Connection<FileStorage, SharedRegion, Vec<u8>>;

pub(crate) struct Inner {
    pub(crate) paths: Paths,
    pub(crate) opts: Options,
    pub(crate) region: SharedRegion,
    /// The `-shm` node (the shared locking mode).
    pub(crate) node: Option<Arc<ShmNode>>,
    /// The database file's device and inode at open.
    pub(crate) key: FileKey,
    pub(crate) db_file: FileStorage,
    pub(crate) wal_file: FileStorage,
    pub(crate) io: Arc<IoShared>,
    pub(crate) pool: Mutex<Vec<Conn>>,
    pub(crate) commits: AtomicU64,
    pub(crate) checkpoints: AtomicU64,
    pub(crate) recovery_time: Duration,
    pub(crate) recovered_frames: u64,
    /// The wal-index capacity in frames (the WAL's hard limit).
    pub(crate) max_frames: u32,
    /// Start times of the open read transactions, by id.
    pub(crate) readers: Mutex<std::collections::BTreeMap<u64, Instant>>,
    /// WAL frames when `begin_write` last tried to restart a large WAL (0:
    /// no attempt pending).
    pub(crate) restart_attempt_at: std::sync::atomic::AtomicU32,
    pub(crate) next_reader: AtomicU64,
    /// This handle's writers queue here (see `busy::Gate`).
    pub(crate) gate: crate::busy::Gate,
    /// The archiver lock of the exclusive locking mode (the `-shm` keeps
    /// its own, `shm::ARCHIVER_LOCK_BYTE`).
    pub(crate) archiver: std::sync::atomic::AtomicBool,
}

impl Inner {
    /// Refuses writes through a handle whose database file is no longer the
    /// file at its path with one name. Errors: `Moved`.
    pub(crate) fn check_not_moved(&self) -> Result<()> {
        if still_at_path(&self.db_file, &self.paths.db, self.key) {
            Ok(())
        } else {
            Err(Error::Moved(self.paths.db.clone()))
        }
    }
}

impl Drop for Inner {
    /// The last handle of the process leaves the node; the last in the
    /// system (DMS exclusive, see `shm`) empties the `-shm` file, which the
    /// next first opener rebuilds from the WAL anyway. The WAL itself stays
    /// as it is (a persistent WAL, as SQLite's `SQLITE_FCNTL_PERSIST_WAL`):
    /// closing costs no checkpoint, and a `Truncate` checkpoint empties it.
    fn drop(&mut self) {
        let Some(node) = self.node.take() else { return };
        let last = shm::release(&node);
        // The connections go before the file shrinks under the mapping.
        if let Ok(mut p) = self.pool.lock() {
            p.clear();
        }
        if last {
            node.truncate();
        }
    }
}

/// Files an open created, removed again if it fails.
#[derive(Debug, Default)]
pub(crate) struct Made {
    db: bool,
    wal: bool,
    shm: bool,
}

impl Made {
    /// Removes what this open created (it still holds any lock on them, so
    /// no other process uses them; one that opened them meanwhile finds
    /// them unlinked after it takes its lock, and opens them again).
    pub(crate) fn remove(&self, paths: &Paths) {
        for (made, p) in [(self.shm, &paths.shm), (self.wal, &paths.wal), (self.db, &paths.db)] {
            if made {
                let _ = std::fs::remove_file(p);
            }
        }
    }
}

/// A non-empty file whose first bytes are not the database magic is not a
/// Walden database: refused before a `-wal` or `-shm` is created beside it.
/// A shorter or damaged Walden file goes on to recovery, which judges it.
pub(crate) fn check_magic(paths: &Paths, m: &std::fs::Metadata) -> Result<()> {
    if m.len() < DB_MAGIC.len() as u64 {
        return Ok(());
    }
    let mut head = [0u8; 8];
    let mut f = fs_err::File::open(&paths.db)?;
    f.read_exact(&mut head)?;
    if head != DB_MAGIC {
        return Err(Error::Corrupt {
            path: paths.db.clone(),
            page: 1,
            reason: "not a Walden database (bad magic)",
        });
    }
    Ok(())
}

/// Opens the database file: read-only, read-write, or created (mode 0o644
/// less the umask, as a new file of any program).
fn open_db_file(paths: &Paths, opts: &Options, existed: bool, made: &mut Made) -> Result<fs_err::File> {
    let mut oo = fs_err::OpenOptions::new();
    oo.read(true);
    if opts.read_only {
        return Ok(oo.open(&paths.db)?);
    }
    oo.write(true);
    if existed {
        return Ok(oo.open(&paths.db)?);
    }
    match oo.clone().create_new(true).open(&paths.db) {
        Ok(f) => {
            made.db = true;
            Ok(f)
        }
        // Created by another process since the path was resolved.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(oo.open(&paths.db)?),
        Err(e) => Err(e.into()),
    }
}

pub(crate) fn open_inner(paths: Paths, opts: Options, existed: bool, made: &mut Made) -> Result<Inner> {
    let db = open_db_file(&paths, &opts, existed, made)?;
    let meta = db.metadata()?;
    // Checked again on the descriptor: the path may have changed since.
    check_file(&paths.db, &meta)?;
    let key = FileKey::of(&meta);
    let perms = Perms::of(&meta);
    let io = Arc::new(IoShared::default());

    let wal = if opts.read_only {
        match fs_err::File::open(&paths.wal) {
            Ok(f) => Some(Arc::new(f)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(e.into()),
        }
    } else {
        let (f, created) = open_companion(&paths.wal, perms)?;
        made.wal = created;
        Some(Arc::new(f))
    };

    // Size the wal-index for the WAL on disk (used if this process
    // initialises the region).
    let ps = page_size_hint(&paths).unwrap_or(opts.page_size);
    let wal_len = std::fs::metadata(&paths.wal).map(|m| m.len()).unwrap_or(0);
    let frames_on_disk = format::wal_frames_in(wal_len, ps).min(MAX_WAL_FRAMES as u64 / 2) as u32;
    let want_frames = opts.max_wal_frames.max(frames_on_disk + 64).min(MAX_WAL_FRAMES);
    let words = region_words(want_frames, opts.read_marks);

    let db = Arc::new(db);
    // The registry stays locked until this process's node is recovered and
    // registered: a second open of the file in this process waits for it.
    let mut reg = shm::registry();
    let (region, node, first) = match opts.locking_mode {
        LockingMode::Exclusive => {
            lock_exclusive(&db, &paths, &opts)?;
            let r: Arc<[AtomicU32]> = (0..words).map(|_| AtomicU32::new(0)).collect();
            (SharedRegion::Heap(r), None, true)
        }
        LockingMode::Shared => match lock_shared(&db, &paths, &opts).map(|()| shm::find(&mut reg, key))? {
            Some(n) => {
                if walden_core::wal::locks::Locks::poisoned(&*n) {
                    return Err(Error::Poisoned);
                }
                (SharedRegion::Shm(n.clone()), Some(n), false)
            }
            None => {
                let o = shm::attach_or_init(&paths.shm, key, perms, words, Wait::new(opts.busy_timeout))?;
                made.shm = o.created;
                (SharedRegion::Shm(o.node.clone()), Some(o.node), o.first)
            }
        },
    };
    if !opts.read_only && (made.db || made.wal || made.shm) {
        sync_dir(&paths.db, &io)?;
    }
    let db_file = FileStorage::new(Some(db), &paths.db, io.clone());
    let wal_file = FileStorage::new(wal, &paths.wal, io.clone());

    let core_opts = core_options(&opts, want_frames);
    let started = Instant::now();
    let mem = vec![0u8; cache_mem_len(core_opts.page_size.max(ps), opts.cache_pages)];
    let mut conn = Connection::open(db_file.clone(), wal_file.clone(), region.clone(), mem, core_opts)
        .map_err(|e| Error::from_core(e, &paths, || io.take_error()))?;
    conn.set_clock(crate::options::monotonic_ms);
    let recovery_time = started.elapsed();
    if let Some(n) = &node {
        if first {
            n.downgrade_dms()?;
        }
        n.add_handle();
        reg.get_or_insert_with(Default::default).insert(key, Arc::downgrade(n));
    }
    drop(reg);
    let recovered_frames = conn.stats().recovered_frames as u64;
    let max_frames = conn.wal_capacity();
    Ok(Inner {
        paths,
        opts,
        region,
        node,
        key,
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
        restart_attempt_at: StdAtomicU32::new(0),
        gate: crate::busy::Gate::default(),
        archiver: std::sync::atomic::AtomicBool::new(false),
    })
}

/// The exclusive locking mode: an exclusive lock on the database file
/// (`flock`), retried for up to the busy timeout.
fn lock_exclusive(db: &fs_err::File, paths: &Paths, opts: &Options) -> Result<()> {
    Wait::new(opts.busy_timeout).retry(
        || match db.file().try_lock() {
            Ok(()) => Ok(()),
            Err(std::fs::TryLockError::WouldBlock) => Err(Error::Busy(Some(format!(
                "{} is open in another process or handle, and this handle asked for the exclusive locking mode (or the other did)",
                paths.db.display()
            )))),
            Err(std::fs::TryLockError::Error(e)) => Err(Error::Io(e)),
        },
        |e| matches!(e, Error::Busy(_)),
    )
}

/// The shared locking mode: a shared lock on the database file (`flock`),
/// which only a handle in the exclusive mode conflicts with.
fn lock_shared(db: &fs_err::File, paths: &Paths, opts: &Options) -> Result<()> {
    Wait::new(opts.busy_timeout).retry(
        || match db.file().try_lock_shared() {
            Ok(()) => Ok(()),
            Err(std::fs::TryLockError::WouldBlock) => Err(Error::Busy(Some(format!(
                "{} is open in the exclusive locking mode by another process or handle",
                paths.db.display()
            )))),
            Err(std::fs::TryLockError::Error(e)) => Err(Error::Io(e)),
        },
        |e| matches!(e, Error::Busy(_)),
    )
}

/// Whether the database file at `path` is still the file `key` with one
/// name (not renamed, replaced, deleted or hard-linked since it was opened).
pub(crate) fn still_at_path(db: &FileStorage, path: &Path, key: FileKey) -> bool {
    use std::os::unix::fs::MetadataExt;
    let Some(Ok(fd)) = db.metadata() else { return false };
    if fd.nlink() != 1 || FileKey::of(&fd) != key {
        return false;
    }
    matches!(std::fs::metadata(path), Ok(m) if FileKey::of(&m) == key)
}
