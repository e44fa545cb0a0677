//! The wal-index in shared memory: `<db>-shm`, a file every process that
//! opens the database maps (`memmap2`), holding the core's region of
//! atomics (`walden_core::walindex`), with the protocol's locks taken as
//! `fcntl` byte-range locks on the file, which the kernel releases when
//! their holder dies, as SQLite's `-shm` (`os_unix.c`, `unixShmLock`).
//!
//! # Locks
//!
//! Open-file-description locks (`F_OFD_SETLK`, Linux) on one descriptor per
//! process and file: unlike POSIX record locks they belong to the
//! descriptor, so closing another descriptor of the file never drops them
//! (the trap SQLite works around with its inode table). Elsewhere POSIX
//! record locks, which are correct because a process holds exactly one
//! descriptor of a `-shm` file ([`ShmNode`]s are shared per file through a
//! registry). Inside the process, holds are counted per lock, as SQLite's
//! `unixShmNode` masks: the system lock is taken on the first hold and
//! released with the last, so two connections of one process behave as two
//! processes would.
//!
//! | byte of `<db>-shm` | lock | shared by | exclusive by |
//! |---|---|---|---|
//! | 136 | write | | the writer, `Full`/`Restart`/`Truncate` checkpoints, a header repair |
//! | 137 | checkpoint | | a checkpoint, a WAL restart |
//! | 138 | DMS ("dead man switch") | every process that has the database open | the first opener while it recovers; the last closer while it cleans up |
//! | 139 | sync | | a committer syncing the WAL and publishing the tip (group commit); a restart; a header repair |
//! | 140 + i | read mark i (0..64) | readers whose snapshot mark i records | a reader setting mark i; a checkpoint (mark 0); a restart (marks 1..) |
//! | 135 | archiver | | the archiver of the database's archive slot, while it runs (`Database::lock_archiver`) |
//!
//! The lock bytes lie on words of the region; locks are advisory and do not
//! touch the bytes (SQLite's lock bytes also lie in its `-shm` header).
//!
//! # First opener, last closer
//!
//! A process that gets DMS exclusive is the only one with the database
//! open: the file's contents are a crashed run's, never trusted; it empties
//! the file, sizes it for the region, records the database file's device
//! and inode in it, recovers the wal-index from the WAL and then holds DMS
//! shared. A process that gets DMS shared instead attaches: the region must
//! be initialised (else the first opener died mid-recovery: it retries for
//! exclusive) and belong to the same database file (else the file at the
//! path was replaced while another process has it open: refused). The last
//! closer (DMS exclusive again) runs a `Truncate` checkpoint when automatic
//! checkpoints are on, and empties the `-shm`.

#![allow(unsafe_code)]

use fs_err::os::unix::fs::OpenOptionsExt;
use std::collections::HashMap;
use std::fs::File;
use std::io;
use std::os::fd::AsFd;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Weak};

use memmap2::{MmapOptions, MmapRaw};
use walden_core::sync::AtomicU32;
use walden_core::wal::locks::{Lock, Locks, Region, SlotUse};
use walden_core::walindex;

use crate::busy::Wait;
use crate::error::{Error, Result};
use crate::paths::FileKey;

/// Byte of the write lock.
pub const WRITE_LOCK_BYTE: u64 = 136;
/// Byte of the checkpoint lock.
pub const CHECKPOINT_LOCK_BYTE: u64 = 137;
/// Byte of the DMS lock.
pub const DMS_LOCK_BYTE: u64 = 138;
/// Byte of the sync lock (group commit).
pub const SYNC_LOCK_BYTE: u64 = 139;
/// Byte of read mark 0; read mark i is at `READ_LOCK_BYTE + i`.
pub const READ_LOCK_BYTE: u64 = 140;
/// Byte of the archiver lock: one archiver (`walden-archive`) per
/// database at a time, held exclusively for as long as it runs.
pub const ARCHIVER_LOCK_BYTE: u64 = 135;

/// The mode of a system lock request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Shared,
    Exclusive,
    Unlock,
}

fn flock_for(byte: u64, mode: Mode) -> nix::libc::flock {
    // SAFETY: `flock` is a plain C struct of integer fields (some platforms
    // add padding or private fields), for which all-zero bytes are a valid
    // value; the fields that matter are set below.
    let mut fl: nix::libc::flock = unsafe { std::mem::zeroed() };
    fl.l_type = match mode {
        Mode::Shared => nix::libc::F_RDLCK,
        Mode::Exclusive => nix::libc::F_WRLCK,
        Mode::Unlock => nix::libc::F_UNLCK,
    } as _;
    fl.l_whence = nix::libc::SEEK_SET as _;
    fl.l_start = byte as _;
    fl.l_len = 1;
    fl
}

/// Takes (or releases) a system lock on one byte, without waiting:
/// `Ok(false)` when another process (another descriptor) holds it in a
/// conflicting mode, or the descriptor cannot take it (an exclusive lock
/// through a read-only descriptor).
fn os_lock(f: &File, byte: u64, mode: Mode) -> io::Result<bool> {
    use nix::errno::Errno;
    use nix::fcntl::{fcntl, FcntlArg};
    let fl = flock_for(byte, mode);
    #[cfg(any(target_os = "linux", target_os = "android"))]
    let r = fcntl(f.as_fd(), FcntlArg::F_OFD_SETLK(&fl));
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    let r = fcntl(f.as_fd(), FcntlArg::F_SETLK(&fl));
    match r {
        Ok(_) => Ok(true),
        Err(Errno::EAGAIN | Errno::EACCES | Errno::EBADF) => Ok(false),
        Err(Errno::EINTR) => os_lock(f, byte, mode),
        Err(e) => Err(io::Error::from(e)),
    }
}

/// Who else holds a byte: `None` (nobody), `Some(false)` shared, `Some(true)`
/// exclusive. Errors are taken as "held" by the caller.
fn os_probe(f: &File, byte: u64) -> io::Result<Option<bool>> {
    use nix::fcntl::{fcntl, FcntlArg};
    let mut fl = flock_for(byte, Mode::Exclusive);
    #[cfg(any(target_os = "linux", target_os = "android"))]
    fcntl(f.as_fd(), FcntlArg::F_OFD_GETLK(&mut fl))?;
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    fcntl(f.as_fd(), FcntlArg::F_GETLK(&mut fl))?;
    #[allow(clippy::unnecessary_cast)] // `l_type` is a c_short on Linux, an i32 elsewhere.
    let t = fl.l_type as i32;
    Ok(match t {
        nix::libc::F_UNLCK => None,
        nix::libc::F_RDLCK => Some(false),
        _ => Some(true),
    })
}

/// This process's holds on one lock.
#[derive(Debug, Default, Clone, Copy)]
struct Hold {
    shared: u32,
    exclusive: bool,
}

/// Index of a lock in [`ShmNode::holds`] and its byte.
fn lock_slot(l: Lock) -> (usize, u64) {
    match l {
        Lock::Write => (0, WRITE_LOCK_BYTE),
        Lock::Checkpoint => (1, CHECKPOINT_LOCK_BYTE),
        Lock::Sync => (2, SYNC_LOCK_BYTE),
        Lock::ReadMark(i) => (3 + i, READ_LOCK_BYTE + i as u64),
    }
}

/// One process's mapping of a `-shm` file and its locks, shared by every
/// handle of the process on that database file.
pub(crate) struct ShmNode {
    file: File,
    map: MmapRaw,
    words: usize,
    writable: bool,
    holds: Mutex<Vec<Hold>>,
    poisoned: AtomicBool,
    /// The database file this region belongs to.
    key: FileKey,
    /// `Database` handles of this process on the node.
    handles: AtomicUsize,
    /// Whether an archiver of this process holds the archiver lock.
    archiver: AtomicBool,
}

impl std::fmt::Debug for ShmNode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ShmNode")
            .field("key", &self.key)
            .field("words", &self.words)
            .finish_non_exhaustive()
    }
}

impl ShmNode {
    fn region(&self) -> &[AtomicU32] {
        // SAFETY: the mapping is `words * 4` bytes long (checked when it was
        // made), page-aligned, and lives as long as `self`; `AtomicU32` has
        // the size and alignment of `u32` and allows mutation through a
        // shared reference, which is what other processes do to these
        // bytes. A read-only mapping is only loaded from: every store of
        // the core is made by the holder of an exclusive lock, which a
        // read-only descriptor cannot take, or goes to process-local state
        // (the poison flag, `Locks::poison`).
        unsafe { std::slice::from_raw_parts(self.map.as_ptr() as *const AtomicU32, self.words) }
    }

    /// Counts one more `Database` handle on the node.
    pub(crate) fn add_handle(&self) {
        self.handles.fetch_add(1, Ordering::Relaxed);
    }

    /// Takes the archiver lock (this process's flag, then the system lock
    /// on [`ARCHIVER_LOCK_BYTE`]); `false` when another archiver, in this
    /// or another process, holds it. Errors: `Io`.
    pub(crate) fn try_lock_archiver(&self) -> io::Result<bool> {
        if self.archiver.swap(true, Ordering::AcqRel) {
            return Ok(false);
        }
        match os_lock(&self.file, ARCHIVER_LOCK_BYTE, Mode::Exclusive) {
            Ok(true) => Ok(true),
            r => {
                self.archiver.store(false, Ordering::Release);
                r
            }
        }
    }

    /// Releases the archiver lock taken with [`ShmNode::try_lock_archiver`].
    pub(crate) fn unlock_archiver(&self) {
        let _ = os_lock(&self.file, ARCHIVER_LOCK_BYTE, Mode::Unlock);
        self.archiver.store(false, Ordering::Release);
    }

    /// Turns this process's DMS hold from exclusive (recovery done) into
    /// shared. Errors: `Io`.
    pub(crate) fn downgrade_dms(&self) -> Result<()> {
        os_lock(&self.file, DMS_LOCK_BYTE, Mode::Shared)?;
        Ok(())
    }
}

impl Locks for ShmNode {
    fn try_lock(&self, lock: Lock, exclusive: bool) -> bool {
        let (i, byte) = lock_slot(lock);
        let Ok(mut holds) = self.holds.lock() else { return false };
        let Some(h) = holds.get_mut(i) else { return false };
        if h.exclusive || (exclusive && h.shared > 0) {
            return false;
        }
        if exclusive || h.shared == 0 {
            let mode = if exclusive { Mode::Exclusive } else { Mode::Shared };
            if !matches!(os_lock(&self.file, byte, mode), Ok(true)) {
                return false;
            }
        }
        if exclusive {
            h.exclusive = true;
        } else {
            h.shared += 1;
        }
        true
    }

    fn unlock(&self, lock: Lock, exclusive: bool) {
        let (i, byte) = lock_slot(lock);
        let Ok(mut holds) = self.holds.lock() else { return };
        let Some(h) = holds.get_mut(i) else { return };
        if exclusive {
            h.exclusive = false;
        } else {
            h.shared = h.shared.saturating_sub(1);
        }
        if !h.exclusive && h.shared == 0 {
            // A failed unlock leaves the byte held until the descriptor is
            // closed: other processes see Busy meanwhile, never a race.
            let _ = os_lock(&self.file, byte, Mode::Unlock);
        }
    }

    fn slot_use(&self, slot: usize) -> SlotUse {
        let (i, byte) = lock_slot(Lock::ReadMark(slot));
        let Ok(holds) = self.holds.lock() else { return SlotUse::Shared };
        match holds.get(i) {
            Some(h) if h.shared > 0 => return SlotUse::Shared,
            Some(h) if h.exclusive => return SlotUse::Exclusive,
            _ => {}
        }
        match os_probe(&self.file, byte) {
            Ok(None) => SlotUse::Free,
            Ok(Some(true)) => SlotUse::Exclusive,
            // Shared, or unknown: a checkpoint then stops at the mark.
            Ok(Some(false)) | Err(_) => SlotUse::Shared,
        }
    }

    fn poison(&self) {
        self.poisoned.store(true, Ordering::Relaxed);
    }

    fn poisoned(&self) -> bool {
        self.poisoned.load(Ordering::Relaxed)
    }
}

/// The wal-index region of an open database: in this process's heap (the
/// exclusive locking mode, one process) or in the mapped `-shm` file.
#[derive(Clone)]
pub(crate) enum SharedRegion {
    /// Heap words, locks in the words.
    Heap(Arc<[AtomicU32]>),
    /// The mapped `-shm` file, locks with the kernel.
    Shm(Arc<ShmNode>),
}

impl Region for SharedRegion {
    #[inline]
    fn words(&self) -> &[AtomicU32] {
        match self {
            SharedRegion::Heap(w) => w,
            SharedRegion::Shm(n) => n.region(),
        }
    }
    #[inline]
    fn locks(&self) -> Option<&dyn Locks> {
        match self {
            SharedRegion::Heap(_) => None,
            SharedRegion::Shm(n) => Some(&**n),
        }
    }
}

/// The nodes of this process, by database file.
static NODES: Mutex<Option<HashMap<FileKey, Weak<ShmNode>>>> = Mutex::new(None);

/// The registry, locked: opens and last closes of one process are
/// serialised (a second open of a file waits for the first's recovery).
pub(crate) fn registry() -> std::sync::MutexGuard<'static, Option<HashMap<FileKey, Weak<ShmNode>>>> {
    NODES.lock().unwrap_or_else(|e| e.into_inner())
}

/// A live node of this process for the database file `key`.
pub(crate) fn find(reg: &mut Option<HashMap<FileKey, Weak<ShmNode>>>, key: FileKey) -> Option<Arc<ShmNode>> {
    let map = reg.get_or_insert_with(HashMap::new);
    map.retain(|_, w| w.strong_count() > 0);
    map.get(&key).and_then(Weak::upgrade)
}

/// Ownership and mode of the database file, which the `-wal` and `-shm`
/// files it creates copy (as SQLite's `robust_open` and `fchown` do).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Perms {
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
}

impl Perms {
    pub(crate) fn of(m: &std::fs::Metadata) -> Perms {
        Perms {
            mode: m.mode() & 0o777,
            uid: m.uid(),
            gid: m.gid(),
        }
    }
}

/// Opens `path` for reading and writing, creating it with the database
/// file's mode (never wider; the umask cannot narrow it either, as SQLite
/// restores the mode with `fchmod`) and, when running as root, owner.
/// Returns the file and whether this call created it.
pub(crate) fn open_companion(path: &Path, perms: Perms) -> io::Result<(fs_err::File, bool)> {
    match fs_err::OpenOptions::new().read(true).write(true).open(path) {
        Ok(f) => return Ok((f, false)),
        Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
        Err(_) => {}
    }
    let f = match fs_err::OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .mode(perms.mode)
        .open(path)
    {
        Ok(f) => f,
        // Another process created it meanwhile.
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            return fs_err::OpenOptions::new().read(true).write(true).open(path).map(|f| (f, false))
        }
        Err(e) => return Err(e),
    };
    f.set_permissions(std::fs::Permissions::from_mode(perms.mode))?;
    if nix::unistd::geteuid().is_root() {
        std::os::unix::fs::fchown(f.file(), Some(perms.uid), Some(perms.gid))
            .map_err(|e| io::Error::new(e.kind(), format!("{}: fchown: {e}", path.display())))?;
    }
    Ok((f, true))
}

/// What [`attach_or_init`] did.
pub(crate) struct Opened {
    pub node: Arc<ShmNode>,
    /// This process holds DMS exclusive: it must recover the region
    /// (`Connection::open` does on a zeroed region), then
    /// [`ShmNode::downgrade_dms`].
    pub first: bool,
    /// This call created the `-shm` file.
    pub created: bool,
}

fn same_file(f: &File, path: &Path) -> bool {
    match (f.metadata(), std::fs::metadata(path)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

fn map(file: &File, bytes: usize, writable: bool) -> io::Result<MmapRaw> {
    let o = MmapOptions::new().len(bytes).map_raw_read_only(file);
    if writable {
        MmapOptions::new().len(bytes).map_raw(file)
    } else {
        o
    }
}

/// Bytes of a `-shm` file for a region of `words` words: whole 4 KiB pages.
fn file_bytes(words: usize) -> usize {
    (words * 4).div_ceil(4096) * 4096
}

/// Opens `<db>-shm` (`path`) for the database file `key` and takes this
/// process's DMS hold: exclusive (the first opener: the file is emptied and
/// sized for `words` words, the region must then be recovered) or shared
/// (the region is attached as another process made it). Waits up to `wait`
/// while another process holds DMS exclusive (it is recovering or closing).
///
/// Errors: `Io` (with the path); `Busy` after the wait; `Io` with kind
/// `PermissionDenied` when the file cannot be opened for writing and no
/// process has the database open (nobody could rebuild the wal-index); `Io`
/// naming both files when the region belongs to another database file (the
/// file at the path was replaced or deleted while a process has it open).
pub(crate) fn attach_or_init(path: &Path, key: FileKey, perms: Perms, words: usize, wait: Wait) -> Result<Opened> {
    let named = |e: io::Error| Error::Io(io::Error::new(e.kind(), format!("{}: {e}", path.display())));
    attach_or_init_inner(path, key, perms, words, wait).map_err(|e| match e {
        Error::Io(io) if !io.to_string().contains(&*path.to_string_lossy()) => named(io),
        e => e,
    })
}

fn attach_or_init_inner(path: &Path, key: FileKey, perms: Perms, words: usize, mut wait: Wait) -> Result<Opened> {
    loop {
        let (file, writable, created) = match open_companion(path, perms) {
            Ok((f, c)) => (f.into_parts().0, true, c),
            Err(e) if matches!(e.kind(), io::ErrorKind::PermissionDenied | io::ErrorKind::ReadOnlyFilesystem) => {
                match fs_err::File::open(path) {
                    Ok(f) => (f.into_parts().0, false, false),
                    Err(e2) if e2.kind() == io::ErrorKind::NotFound => {
                        return Err(Error::Io(io::Error::new(
                            e.kind(),
                            format!(
                                "{}: cannot be created ({e}); a reader without write access to the directory needs a -shm \
                                 that a process with write access made and still has open (on read-only media, open \
                                 read-only with LockingMode::Exclusive: no -shm is needed)",
                                path.display()
                            ),
                        )))
                    }
                    Err(e2) => return Err(Error::Io(e2)),
                }
            }
            Err(e) => return Err(Error::Io(e)),
        };
        if writable && os_lock(&file, DMS_LOCK_BYTE, Mode::Exclusive)? {
            if !same_file(&file, path) {
                continue; // unlinked or replaced meanwhile: open it again
            }
            let bytes = file_bytes(words);
            file.set_len(0)?;
            file.set_len(bytes as u64)?;
            let m = map(&file, bytes, true)?;
            let n = new_node(file, m, words, true, key);
            walindex::set_file_id(n.region(), key.words());
            return Ok(Opened {
                node: Arc::new(n),
                first: true,
                created,
            });
        }
        if os_lock(&file, DMS_LOCK_BYTE, Mode::Shared)? {
            if !same_file(&file, path) {
                continue;
            }
            let len = file.metadata()?.len() as usize;
            let words = len / 4;
            if len >= 4096 && len.is_multiple_of(4096) {
                let m = map(&file, len, writable)?;
                let n = new_node(file, m, words, writable, key);
                if walindex::is_initialised(n.region()) {
                    if walindex::file_id(n.region()) != key.words() {
                        return Err(Error::Io(io::Error::new(
                            io::ErrorKind::InvalidData,
                            format!(
                                "{}: belongs to another database file than the one at this path, which a process still \
                                 has open: the database file was replaced or deleted while in use; close that process first",
                                path.display()
                            ),
                        )));
                    }
                    return Ok(Opened {
                        node: Arc::new(n),
                        first: false,
                        created,
                    });
                }
                drop(n); // not initialised: the first opener died; retry for exclusive
            } else {
                drop(file);
            }
            if !writable {
                return Err(Error::Io(io::Error::new(
                    io::ErrorKind::PermissionDenied,
                    format!(
                        "{}: not writable and no process has the database open, so the wal-index cannot be rebuilt: \
                         open the database once with write access to its directory, make the file writable, or \
                         open read-only with LockingMode::Exclusive (no -shm)",
                        path.display()
                    ),
                )));
            }
        } else if !writable && os_probe(&file, DMS_LOCK_BYTE)?.is_none() {
            return Err(Error::Io(io::Error::new(
                io::ErrorKind::PermissionDenied,
                format!("{}: not writable and no process has the database open", path.display()),
            )));
        }
        if !wait.pause() {
            return Err(Error::Busy(Some(format!(
                "{}: another process is recovering or closing the database",
                path.display()
            ))));
        }
    }
}

fn new_node(file: File, map: MmapRaw, words: usize, writable: bool, key: FileKey) -> ShmNode {
    ShmNode {
        file,
        map,
        words,
        writable,
        holds: Mutex::new(vec![Hold::default(); 3 + walindex::MAX_READ_MARKS as usize]),
        poisoned: AtomicBool::new(false),
        key,
        handles: AtomicUsize::new(0),
        archiver: AtomicBool::new(false),
    }
}

/// Drops one `Database` handle from the node; for the last one of the
/// process, removes the node from the registry and returns whether this
/// process is also the last in the system (it then holds DMS exclusive, and
/// may clean up: [`ShmNode::truncate`] once its connections are gone).
pub(crate) fn release(node: &Arc<ShmNode>) -> bool {
    let mut reg = registry();
    if node.handles.fetch_sub(1, Ordering::Relaxed) != 1 {
        return false;
    }
    if let Some(map) = reg.as_mut() {
        if map.get(&node.key).is_some_and(|w| w.as_ptr() == Arc::as_ptr(node)) {
            map.remove(&node.key);
        }
        if map.is_empty() {
            // Nothing of the registry outlives the last database (leak
            // checkers see no memory held at exit).
            *reg = None;
        }
    }
    node.writable && matches!(os_lock(&node.file, DMS_LOCK_BYTE, Mode::Exclusive), Ok(true))
}

impl ShmNode {
    /// Empties the `-shm` file (the last closer, holding DMS exclusive;
    /// nothing may touch the mapping afterwards).
    pub(crate) fn truncate(&self) {
        let _ = self.file.set_len(0);
    }
}
