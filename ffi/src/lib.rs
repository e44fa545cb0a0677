//! # walden-ffi
//!
//! The C ABI of Walden: `libwalden_ffi.a` (static), `libwalden_ffi.so`
//! (shared) and the header `include/walden.h`, generated from this crate by
//! cbindgen (see `ffi/cbindgen.toml`). The doc comments of the items below
//! are the header's documentation: ownership, lifetimes, thread safety,
//! return codes and behaviour on misuse.
//!
//! Safety habits (after rustls-ffi): every export runs inside a panic
//! boundary (a panic becomes `WALDEN_INTERNAL`, never an unwind into C);
//! every pointer argument is checked for NULL; handles are opaque, carry a
//! magic number, and the functions that free them detect double frees
//! through a registry of live handles.
#![deny(unsafe_op_in_unsafe_fn)]
#![deny(clippy::undocumented_unsafe_blocks)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::panic))]
#![warn(missing_docs)]
#![allow(non_camel_case_types)]

use std::ffi::{c_char, c_int, c_void, CStr};
use std::time::Duration;

use walden_std::{CheckpointMode, Cursor, Database, Options, SyncMode};

mod boundary;
mod handle;
mod more;

pub use more::*;

use boundary::{bytes, call, call_str, call_void, non_null, non_null_mut, table_name, Fail};
use handle::{CursorHandle, DbHandle, TxnHandle, TxnKind};

// ---------------------------------------------------------------------------
// Types
// ---------------------------------------------------------------------------

/// An open database: the file `path` and its write-ahead log `path-wal`.
/// Opaque; created by walden_open(), freed by walden_close(). May be used by
/// any number of threads at once.
pub struct walden_db {
    _opaque: [u8; 0],
}

/// A read transaction (a snapshot) or the write transaction. Opaque;
/// created by walden_begin(), freed by walden_commit() or walden_abort().
/// Belongs to one thread at a time, together with its cursors.
pub struct walden_txn {
    _opaque: [u8; 0],
}

/// A positioned cursor over one table of a transaction. Opaque; created by
/// walden_cursor_open(), freed by walden_cursor_close().
pub struct walden_cursor {
    _opaque: [u8; 0],
}

/// Result code of every fallible function. Any code other than WALDEN_OK
/// also sets the calling thread's message (walden_errmsg()).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum walden_rc {
    /// Success.
    WALDEN_OK = 0,
    /// No such key, or no such table.
    WALDEN_NOT_FOUND = 1,
    /// A cursor has no entry there: empty table, past the end, before the start.
    WALDEN_DONE = 2,
    /// A lock is held by someone else for longer than the busy timeout, the
    /// database is already open, or no stable snapshot could be taken (retry).
    WALDEN_BUSY = 3,
    /// The value does not fit in the buffer; the size needed is reported.
    WALDEN_BUFFER_TOO_SMALL = 4,
    /// A NULL or invalid argument, a handle of the wrong kind or already
    /// freed, or a use the API does not allow.
    WALDEN_INVALID_ARGUMENT = 5,
    /// A file failed a check (checksum, magic, structure) or has an
    /// unsupported format version.
    WALDEN_CORRUPT = 6,
    /// An operating-system I/O error; the database handle is poisoned.
    WALDEN_IO = 7,
    /// A fixed capacity was reached (for example the WAL frame limit).
    WALDEN_FULL = 8,
    /// A write in a read transaction or on a database opened read-only, or
    /// a write through a handle whose database file was moved, replaced,
    /// deleted or hard-linked since it was opened (reopen it).
    WALDEN_READ_ONLY = 9,
    /// An earlier I/O error poisoned the database handle: close it and
    /// reopen the database (recovery restores the last durable commit).
    WALDEN_POISONED = 10,
    /// A bug in Walden (a Rust panic caught at the API boundary).
    WALDEN_INTERNAL = 11,
}

/// Durability of commits.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum walden_sync {
    /// Never fsync. A process crash loses nothing; an OS crash or power cut
    /// may corrupt the database.
    WALDEN_SYNC_OFF = 0,
    /// Fsync only around checkpoints. A power cut may lose the last commits
    /// but never consistency.
    WALDEN_SYNC_NORMAL = 1,
    /// Fsync the WAL on every commit: a commit that returned WALDEN_OK
    /// survives a power cut. The default.
    WALDEN_SYNC_FULL = 2,
}

/// What walden_checkpoint() does (SQLite's WAL checkpoint modes).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum walden_checkpoint_mode {
    /// Copy as many WAL frames into the database file as possible without
    /// waiting for anyone.
    WALDEN_CHECKPOINT_PASSIVE = 0,
    /// Wait (up to the busy timeout) for the writer and for readers that
    /// still need WAL frames, then copy every frame.
    WALDEN_CHECKPOINT_FULL = 1,
    /// As FULL, then restart the WAL so that the next writer writes from
    /// its beginning.
    WALDEN_CHECKPOINT_RESTART = 2,
    /// As RESTART, then truncate the WAL file to zero bytes.
    WALDEN_CHECKPOINT_TRUNCATE = 3,
}

/// Major version of the library this header belongs to (semantic
/// versioning: the C API and ABI change only with it, from 1.0 on). Compare
/// with walden_version() to detect a header and library mismatch.
pub const WALDEN_VERSION_MAJOR: u32 = 0;
/// Minor version of the library this header belongs to.
pub const WALDEN_VERSION_MINOR: u32 = 1;
/// Patch version of the library this header belongs to.
pub const WALDEN_VERSION_PATCH: u32 = 0;

/// A `walden_rc` as C passes it: checked before use, so any value is safe.
/// (Named `walden_rc` in the header.)
pub type RcArg = u32;
/// A `walden_sync` as C passes it: checked before use, so any value is
/// safe. (Named `walden_sync` in the header.)
pub type SyncArg = u32;
/// A `walden_checkpoint_mode` as C passes it: checked before use, so any
/// value is safe. (Named `walden_checkpoint_mode` in the header.)
pub type CheckpointModeArg = u32;

/// Options of walden_open(). Fill with walden_options_default(), then
/// change fields.
///
/// The struct can grow in later versions without breaking programs built
/// against this header: `size` says how many bytes the caller's struct has
/// (walden_options_default() sets it to `sizeof(walden_options)`). The
/// library reads only the fields that fit in `size` bytes and uses the
/// defaults for the others (a program built against an older, smaller
/// struct); bytes past the fields it knows must be zero (a newer program
/// that sets an option this library does not have gets
/// WALDEN_INVALID_ARGUMENT), as Linux's extensible structs (openat2).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct walden_options {
    /// Size of this struct in bytes, as the caller compiled it: set by
    /// walden_options_default(); at least the size of the fields up to
    /// create_if_missing (32 bytes).
    pub size: u32,
    /// Page size in bytes, used when the database is created: a power of two
    /// from 512 to 65536. Default 4096.
    pub page_size: u32,
    /// Page cache capacity of each connection, in pages (at least 4).
    /// Default 512 (2 MiB at 4 KiB pages).
    pub cache_pages: u32,
    /// Durability of commits. Default WALDEN_SYNC_FULL.
    pub sync: SyncArg,
    /// Run a passive checkpoint after a commit that leaves this many frames
    /// in the WAL; 0 disables. Default 1000.
    pub autocheckpoint_frames: u32,
    /// The longest any call waits for another connection before it
    /// returns WALDEN_BUSY, in milliseconds: walden_open() while another
    /// handle holds the file, walden_begin() (the write lock; a read
    /// snapshot under a WAL that keeps changing), a non-passive checkpoint.
    /// The only bound on waiting: the C layer retries nothing itself.
    /// 0: fail at once. Default 5000.
    pub busy_timeout_ms: u32,
    /// Non-zero: open for reading only (writes give WALDEN_READ_ONLY).
    /// Default 0.
    pub read_only: c_int,
    /// Non-zero: create the database if the file does not exist. Default 1.
    pub create_if_missing: c_int,
}

/// Counters and sizes of an open database (walden_stats_get()).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct walden_stats {
    /// Frames in the WAL now.
    pub wal_frames: u64,
    /// Frames of the WAL already copied into the database file.
    pub wal_backfilled: u64,
    /// Pages in the database (at the last commit).
    pub db_pages: u64,
    /// Commits that wrote something, since the database was opened.
    pub commits: u64,
    /// Checkpoints run (manual and automatic), since open.
    pub checkpoints: u64,
    /// fsync calls (database file, WAL, directory), since open.
    pub fsyncs: u64,
}

// ---------------------------------------------------------------------------
// Conversions
// ---------------------------------------------------------------------------

fn sync_to_c(s: SyncMode) -> SyncArg {
    let c = match s {
        SyncMode::Off => walden_sync::WALDEN_SYNC_OFF,
        SyncMode::Normal => walden_sync::WALDEN_SYNC_NORMAL,
        SyncMode::Full => walden_sync::WALDEN_SYNC_FULL,
    };
    c as SyncArg
}

fn sync_from_c(v: SyncArg) -> Result<SyncMode, Fail> {
    const OFF: u32 = walden_sync::WALDEN_SYNC_OFF as u32;
    const NORMAL: u32 = walden_sync::WALDEN_SYNC_NORMAL as u32;
    const FULL: u32 = walden_sync::WALDEN_SYNC_FULL as u32;
    match v {
        OFF => Ok(SyncMode::Off),
        NORMAL => Ok(SyncMode::Normal),
        FULL => Ok(SyncMode::Full),
        _ => Err(Fail::invalid(format!("opts->sync: {v} is not a walden_sync"))),
    }
}

fn checkpoint_mode_from_c(v: CheckpointModeArg) -> Result<CheckpointMode, Fail> {
    const PASSIVE: u32 = walden_checkpoint_mode::WALDEN_CHECKPOINT_PASSIVE as u32;
    const FULL: u32 = walden_checkpoint_mode::WALDEN_CHECKPOINT_FULL as u32;
    const RESTART: u32 = walden_checkpoint_mode::WALDEN_CHECKPOINT_RESTART as u32;
    const TRUNCATE: u32 = walden_checkpoint_mode::WALDEN_CHECKPOINT_TRUNCATE as u32;
    match v {
        PASSIVE => Ok(CheckpointMode::Passive),
        FULL => Ok(CheckpointMode::Full),
        RESTART => Ok(CheckpointMode::Restart),
        TRUNCATE => Ok(CheckpointMode::Truncate),
        _ => Err(Fail::invalid(format!("mode: {v} is not a walden_checkpoint_mode"))),
    }
}

fn options_to_c(o: &Options) -> walden_options {
    walden_options {
        size: std::mem::size_of::<walden_options>() as u32,
        page_size: o.page_size,
        cache_pages: o.cache_pages,
        sync: sync_to_c(o.sync),
        autocheckpoint_frames: o.autocheckpoint_frames,
        busy_timeout_ms: u32::try_from(o.busy_timeout.as_millis()).unwrap_or(u32::MAX),
        read_only: c_int::from(o.read_only),
        create_if_missing: c_int::from(o.create_if_missing),
    }
}

fn options_from_c(o: &walden_options) -> Result<Options, Fail> {
    Ok(Options {
        page_size: o.page_size,
        cache_pages: o.cache_pages,
        sync: sync_from_c(o.sync)?,
        autocheckpoint_frames: o.autocheckpoint_frames,
        busy_timeout: Duration::from_millis(u64::from(o.busy_timeout_ms)),
        read_only: o.read_only != 0,
        create_if_missing: o.create_if_missing != 0,
        ..Options::default()
    })
}

/// The size of the first version of walden_options: the fields up to
/// `create_if_missing`.
const OPTIONS_V1_SIZE: usize = std::mem::offset_of!(walden_options, create_if_missing) + std::mem::size_of::<c_int>();

/// Reads the caller's options: `opts->size` bytes of them, the defaults for
/// fields past that size; bytes past the fields this library knows must be
/// zero.
///
/// # Safety
/// `opts` is non-NULL, aligned for a walden_options, and points to
/// `opts->size` readable bytes (at least the 4 of `size`).
unsafe fn read_options(opts: *const walden_options) -> Result<walden_options, Fail> {
    // SAFETY: the `size` field is the first 4 bytes, readable by contract.
    let size = unsafe { std::ptr::addr_of!((*opts).size).read() } as usize;
    let ours = std::mem::size_of::<walden_options>();
    if size < OPTIONS_V1_SIZE {
        return Err(Fail::invalid(format!(
            "opts->size is {size}, less than the {OPTIONS_V1_SIZE} bytes of the first walden_options: fill opts with walden_options_default()"
        )));
    }
    if size > ours {
        // SAFETY: `size` bytes are readable by contract.
        let extra = unsafe { std::slice::from_raw_parts(opts.cast::<u8>().add(ours), size - ours) };
        if extra.iter().any(|&b| b != 0) {
            return Err(Fail::invalid(format!(
                "opts->size is {size}: the options past byte {ours} are unknown to this library (version {}) and must be zero",
                env!("CARGO_PKG_VERSION")
            )));
        }
    }
    let mut o = options_to_c(&Options::default());
    let n = size.min(ours);
    // SAFETY: `n` bytes are readable at `opts` (n <= size) and writable in
    // `o` (n <= its size); every bit pattern of the integer fields is valid.
    unsafe { std::ptr::copy_nonoverlapping(opts.cast::<u8>(), (&mut o as *mut walden_options).cast::<u8>(), n) };
    Ok(o)
}

/// Where an empty key or value points: a valid address, never NULL.
static EMPTY: [u8; 1] = [0];

fn slice_parts(s: &[u8]) -> (*const c_void, usize) {
    if s.is_empty() {
        (EMPTY.as_ptr().cast(), 0)
    } else {
        (s.as_ptr().cast(), s.len())
    }
}

// ---------------------------------------------------------------------------
// Options, open, close
// ---------------------------------------------------------------------------

/// Fills `*out` with the default options: size sizeof(walden_options),
/// page_size 4096, cache_pages 512, sync WALDEN_SYNC_FULL,
/// autocheckpoint_frames 1000, busy_timeout_ms 5000, read_only 0,
/// create_if_missing 1.
///
/// A NULL `out` writes nothing (walden_errmsg() says why). Thread-safe.
///
/// # Safety
/// `out` is NULL or points to writable memory for one walden_options.
#[no_mangle]
pub unsafe extern "C" fn walden_options_default(out: *mut walden_options) {
    call_void("walden_options_default", || {
        let out = non_null_mut(out, "out")?;
        // SAFETY: non-NULL and writable for a walden_options by contract.
        unsafe { out.write(options_to_c(&Options::default())) };
        Ok(())
    })
}

/// Opens (or creates) the database file `path` and its WAL `path-wal`,
/// recovering every committed transaction from the WAL and ignoring a torn
/// or uncommitted tail.
///
/// - `path`: NUL-terminated file name, passed to the OS as bytes; read
///   during the call only.
/// - `opts`: NULL for the defaults (walden_options_default()); read during
///   the call only, `opts->size` bytes of it (see walden_options).
/// - `out`: receives the new handle, or NULL when the call fails.
///
/// Ownership: the caller owns `*out` and frees it with walden_close().
/// Thread safety: may be called from any thread. Any number of processes
/// may open one database, and a second walden_open() of a file in a process
/// (through any path that resolves to it) shares the first's wal-index
/// (`<path>-shm`); one write transaction at a time across all of them.
/// A database file with hard links, a FIFO or a device is refused
/// (WALDEN_IO), as is a file that is not a Walden database (WALDEN_CORRUPT),
/// and a failed open leaves no file behind. A handle must not be used
/// across fork(): open one in each process (the child would share the
/// parent's lock file description, and so its locks).
///
/// Returns:
/// - WALDEN_OK: `*out` is the open database.
/// - WALDEN_INVALID_ARGUMENT: `path` or `out` is NULL; `opts` has a size
///   below 32 bytes (not filled by walden_options_default()) or non-zero
///   bytes past the fields this library knows, a page_size that is not a
///   power of two from 512 to 65536, cache_pages below 4, or a sync that is
///   not a walden_sync.
/// - WALDEN_NOT_FOUND: the file does not exist and create_if_missing is 0 or
///   read_only is non-zero, or a directory of `path` does not exist.
/// - WALDEN_BUSY: another process kept recovering (or closing) the
///   database for longer than busy_timeout_ms.
/// - WALDEN_CORRUPT: the database header or the WAL fails its checks, or
///   the file has an unsupported format version.
/// - WALDEN_IO: another operating-system error (permissions, ...).
/// - WALDEN_FULL: the WAL is larger than the wal-index can hold.
/// - WALDEN_INTERNAL: a bug in Walden (a panic caught at the boundary).
///
/// # Safety
/// `path` is NULL or a NUL-terminated string; `opts` is NULL or points to
/// `opts->size` readable bytes starting with a walden_options' `size`
/// field; `out` is NULL or points to writable memory for a pointer.
#[no_mangle]
pub unsafe extern "C" fn walden_open(path: *const c_char, opts: *const walden_options, out: *mut *mut walden_db) -> walden_rc {
    call("walden_open", || {
        let out = non_null_mut(out, "out")?;
        // SAFETY: non-NULL and writable by contract.
        unsafe { out.write(std::ptr::null_mut()) };
        let path = non_null(path, "path")?;
        // SAFETY: non-NULL and NUL-terminated by contract.
        let path = unsafe { CStr::from_ptr(path) };
        let path = os_path(path)?;
        let options = if opts.is_null() {
            Options::default()
        } else {
            // SAFETY: non-NULL and pointing to at least `size` readable
            // bytes that start with the `size` field, by contract.
            options_from_c(&unsafe { read_options(opts) }?)?
        };
        let db = Database::open(path, options).map_err(|e| match e {
            walden_std::Error::Io(io) if io.kind() == std::io::ErrorKind::NotFound => {
                Fail::new(walden_rc::WALDEN_NOT_FOUND, io.to_string())
            }
            e => Fail::from(e),
        })?;
        // SAFETY: as above.
        unsafe { out.write(DbHandle::into_raw(db)) };
        Ok(())
    })
}

#[cfg(unix)]
fn os_path(p: &CStr) -> Result<&std::path::Path, Fail> {
    use std::os::unix::ffi::OsStrExt;
    Ok(std::path::Path::new(std::ffi::OsStr::from_bytes(p.to_bytes())))
}

#[cfg(not(unix))]
fn os_path(p: &CStr) -> Result<&std::path::Path, Fail> {
    p.to_str()
        .map(std::path::Path::new)
        .map_err(|_| Fail::invalid("path is not valid UTF-8"))
}

/// Closes the database and frees `db`.
///
/// Every transaction begun on `db` must have ended (walden_commit() or
/// walden_abort()): otherwise nothing is closed, `db` stays usable, and the
/// call returns WALDEN_BUSY. Cursors need not be closed first (but see
/// walden_cursor_close()).
///
/// After WALDEN_OK, `db` is freed and using it is undefined behaviour, with
/// one exception: closing it again is detected and returns
/// WALDEN_INVALID_ARGUMENT (unless a new handle has been given the same
/// address meanwhile). Thread safety: no other thread may use `db` during or
/// after the call.
///
/// Returns:
/// - WALDEN_OK: closed and freed.
/// - WALDEN_INVALID_ARGUMENT: `db` is NULL, already closed, or not a
///   walden_db.
/// - WALDEN_BUSY: transactions are still open.
/// - WALDEN_INTERNAL: a bug in Walden.
///
/// # Safety
/// `db` is NULL, a pointer returned by walden_open(), or a pointer that was
/// returned by walden_open() and has been closed.
#[no_mangle]
pub unsafe extern "C" fn walden_close(db: *mut walden_db) -> walden_rc {
    // SAFETY: `db` comes from walden_open() (or is NULL / freed, which
    // `close` detects through the registry before touching memory).
    call("walden_close", || unsafe { DbHandle::close(db) })
}

// ---------------------------------------------------------------------------
// Transactions
// ---------------------------------------------------------------------------

/// Begins a transaction on `db`.
///
/// - `write == 0`: a read transaction, a snapshot of the last commit; later
///   commits and checkpoints do not change what it sees. It never waits and
///   never blocks the writer. Any number may be open.
/// - `write != 0`: the write transaction. One at a time per database: waits
///   up to opts.busy_timeout_ms for the write lock. (A thread that already
///   holds the write transaction and begins another gets WALDEN_BUSY, not a
///   deadlock.)
///
/// Ownership: `*out` receives the transaction (NULL on failure); the caller
/// ends and frees it with exactly one of walden_commit() or walden_abort().
/// Thread safety: `db` may be shared by threads. The transaction and its
/// cursors belong to one thread at a time: they may be handed to another
/// thread (with the usual synchronization) but never used by two at once.
/// A read transaction holds its snapshot until it ends, which keeps
/// checkpoints from copying past it: do not keep one open for long.
///
/// Returns:
/// - WALDEN_OK: `*out` is the transaction.
/// - WALDEN_INVALID_ARGUMENT: `db` or `out` is NULL, or `db` is not an open
///   walden_db.
/// - WALDEN_BUSY: another transaction held the write lock for longer than
///   the busy timeout; or (read, rare) no stable snapshot could be taken
///   within the busy timeout while commits and checkpoints kept changing
///   the WAL: retry.
/// - WALDEN_READ_ONLY: a write transaction on a database opened read-only.
/// - WALDEN_POISONED: an earlier I/O error: close and reopen the database.
/// - WALDEN_IO, WALDEN_CORRUPT: reading the database failed.
/// - WALDEN_INTERNAL: a bug in Walden.
///
/// # Safety
/// `db` is NULL or an open walden_db; `out` is NULL or points to writable
/// memory for a pointer.
#[no_mangle]
pub unsafe extern "C" fn walden_begin(db: *mut walden_db, write: c_int, out: *mut *mut walden_txn) -> walden_rc {
    call("walden_begin", || {
        let out = non_null_mut(out, "out")?;
        // SAFETY: non-NULL and writable by contract.
        unsafe { out.write(std::ptr::null_mut()) };
        // SAFETY: `db` is NULL or an open walden_db by contract.
        let h = unsafe { DbHandle::from_ptr(db) }?;
        let kind = if write != 0 {
            TxnKind::Write(h.db.begin_write()?)
        } else {
            TxnKind::Read(h.db.begin_read()?)
        };
        let t = TxnHandle::into_raw(h, kind);
        // SAFETY: as above.
        unsafe { out.write(t) };
        Ok(())
    })
}

/// Ends `txn` and frees it — always, also when it returns an error.
///
/// For the write transaction, first commits its changes: when this returns
/// WALDEN_OK they are durable as the sync mode says (WALDEN_SYNC_FULL: the
/// WAL has been fsynced). On an error the changes are rolled back. For a
/// read transaction, it just ends it (WALDEN_OK).
///
/// Open cursors of `txn` are invalidated, not freed: every later call on
/// them except walden_cursor_close() returns WALDEN_INVALID_ARGUMENT, and
/// key and value pointers obtained from them dangle. Close them as usual.
///
/// After this call `txn` is freed; using it is undefined behaviour, except
/// that ending it again (walden_commit() or walden_abort()) is detected and
/// refused (unless a new handle has been given the same address meanwhile).
/// Thread safety: the thread that uses `txn`.
///
/// Returns:
/// - WALDEN_OK: committed (or the read transaction ended).
/// - WALDEN_INVALID_ARGUMENT: `txn` is NULL, already ended, or not a
///   walden_txn; nothing is freed.
/// - WALDEN_IO: the commit failed writing or syncing; the database is
///   poisoned (close and reopen it; recovery keeps the last durable commit).
/// - WALDEN_POISONED: an earlier I/O error; nothing was committed.
/// - WALDEN_FULL: the WAL reached its frame limit; nothing was committed.
/// - WALDEN_CORRUPT: a page failed its check; nothing was committed.
/// - WALDEN_INTERNAL: an earlier call on `txn` panicked (the changes are
///   discarded), or this one did.
///
/// # Safety
/// `txn` is NULL, a walden_txn returned by walden_begin(), or one that has
/// been ended; no other thread uses it.
#[no_mangle]
pub unsafe extern "C" fn walden_commit(txn: *mut walden_txn) -> walden_rc {
    call("walden_commit", || {
        // SAFETY: by contract; `end` checks the registry before touching memory.
        let (kind, broken, _open) = unsafe { TxnHandle::end(txn) }?;
        match kind {
            TxnKind::Read(r) => drop(r),
            TxnKind::Write(w) if broken => {
                w.abort();
                return Err(Fail::new(
                    walden_rc::WALDEN_INTERNAL,
                    "an earlier call on this transaction panicked; its changes were discarded",
                ));
            }
            TxnKind::Write(w) => {
                w.commit()?;
            }
        }
        Ok(())
    })
}

/// Ends `txn`, discarding its changes, and frees it. NULL is a no-op.
///
/// Open cursors of `txn` are invalidated as by walden_commit(). A pointer
/// that is not a live transaction (for example one already ended) is
/// detected: nothing happens, and walden_errmsg() says why. Thread safety:
/// the thread that uses `txn`.
///
/// # Safety
/// `txn` is NULL, a walden_txn returned by walden_begin(), or one that has
/// been ended; no other thread uses it.
#[no_mangle]
pub unsafe extern "C" fn walden_abort(txn: *mut walden_txn) {
    if txn.is_null() {
        return;
    }
    call_void("walden_abort", || {
        // SAFETY: by contract; `end` checks the registry before touching memory.
        let (kind, _broken, _open) = unsafe { TxnHandle::end(txn) }?;
        match kind {
            TxnKind::Read(r) => drop(r),
            TxnKind::Write(w) => w.abort(),
        }
        Ok(())
    })
}

// ---------------------------------------------------------------------------
// Get, put, delete
// ---------------------------------------------------------------------------

/// Looks `key` up in `table` as `txn` sees it (its snapshot, plus its own
/// writes for the write transaction) and copies the value into `val`.
///
/// - `table`: NUL-terminated UTF-8 table name, or NULL for the default
///   table. Reading a table that does not exist gives WALDEN_NOT_FOUND (it
///   is not created).
/// - `key`, `key_len`: the key bytes (NULL is allowed when key_len is 0).
/// - `val`, `val_cap`: the buffer for the value (NULL is allowed when
///   val_cap is 0, to ask for the size).
/// - `*val_len`: set to the value's length on WALDEN_OK and on
///   WALDEN_BUFFER_TOO_SMALL (the size needed; nothing is copied then), to
///   0 on WALDEN_NOT_FOUND.
///
/// Everything is copied; no pointer is kept. Thread safety: the thread that
/// uses `txn`.
///
/// Returns:
/// - WALDEN_OK: the value is in `val[0 .. *val_len]`.
/// - WALDEN_NOT_FOUND: no such key, or no such table (walden_errmsg() says
///   which).
/// - WALDEN_BUFFER_TOO_SMALL: `*val_len` is the size needed.
/// - WALDEN_INVALID_ARGUMENT: `txn` or `val_len` is NULL; `key` or `val` is
///   NULL with a non-zero length; the table name is not UTF-8; the key is
///   longer than the maximum (1,347 bytes at 4 KiB pages); `txn` is not a
///   live walden_txn.
/// - WALDEN_CORRUPT, WALDEN_IO, WALDEN_POISONED: reading failed.
/// - WALDEN_INTERNAL: a bug in Walden.
///
/// # Safety
/// `txn` is NULL or a live walden_txn used by this thread only; `table` is
/// NULL or NUL-terminated; `key` points to `key_len` readable bytes and
/// `val` to `val_cap` writable bytes (or they are NULL); `val_len` is NULL
/// or writable.
#[no_mangle]
pub unsafe extern "C" fn walden_get(
    txn: *mut walden_txn,
    table: *const c_char,
    key: *const c_void,
    key_len: usize,
    val: *mut c_void,
    val_cap: usize,
    val_len: *mut usize,
) -> walden_rc {
    call("walden_get", || {
        // SAFETY: `txn` is NULL or a live walden_txn of this thread by contract.
        let t = unsafe { TxnHandle::from_ptr(txn) }?;
        let val_len = non_null_mut(val_len, "val_len")?;
        if val.is_null() && val_cap > 0 {
            return Err(Fail::invalid(format!("val is NULL but val_cap is {val_cap}")));
        }
        // SAFETY: NULL or NUL-terminated by contract.
        let name = unsafe { table_name(table) }?;
        // SAFETY: `key` points to `key_len` readable bytes (or is NULL) by contract.
        let key = unsafe { bytes(key, key_len, "key") }?;
        let found = t.with(|kind| {
            let v = match (kind, name) {
                (TxnKind::Read(r), None) => r.get(key)?,
                (TxnKind::Read(r), Some(n)) => r.table(n).map_err(not_found_table(n))?.get(key)?,
                (TxnKind::Write(w), None) => w.get(key)?,
                (TxnKind::Write(w), Some(n)) => w.open_table(n).map_err(not_found_table(n))?.get(key)?,
            };
            Ok(v)
        });
        let value = match found {
            Ok(Some(v)) => v,
            Ok(None) => {
                // SAFETY: non-NULL and writable by contract.
                unsafe { val_len.write(0) };
                return Err(Fail::new(walden_rc::WALDEN_NOT_FOUND, "key not found"));
            }
            Err(e) => {
                if e.rc == walden_rc::WALDEN_NOT_FOUND {
                    // SAFETY: as above.
                    unsafe { val_len.write(0) };
                }
                return Err(e);
            }
        };
        // SAFETY: as above.
        unsafe { val_len.write(value.len()) };
        if value.len() > val_cap {
            return Err(Fail::new(
                walden_rc::WALDEN_BUFFER_TOO_SMALL,
                format!("the value is {} bytes, the buffer {val_cap}", value.len()),
            ));
        }
        if !value.is_empty() {
            // SAFETY: `val` is non-NULL here (val_cap >= len > 0, and NULL
            // with val_cap > 0 was refused) and has `val_cap` writable bytes
            // by contract; `value` is our own buffer, so they do not overlap.
            unsafe { std::ptr::copy_nonoverlapping(value.as_ptr(), val.cast::<u8>(), value.len()) };
        }
        Ok(())
    })
}

pub(crate) fn not_found_table(name: &str) -> impl FnOnce(walden_std::Error) -> Fail + '_ {
    move |e| match e {
        walden_std::Error::NotFound { .. } => Fail::new(walden_rc::WALDEN_NOT_FOUND, format!("table {name:?} not found")),
        e => Fail::from(e),
    }
}

fn read_only_txn() -> Fail {
    Fail::new(walden_rc::WALDEN_READ_ONLY, "a read transaction cannot write")
}

/// Inserts `key` with the value `val`, or replaces its value, in `table` of
/// the write transaction `txn`.
///
/// - `table`: NUL-terminated UTF-8 table name, or NULL for the default
///   table. A named table that does not exist is created (by this first
///   put).
/// - `key`, `key_len`: at most 1,347 bytes at the default 4 KiB page size
///   (NULL is allowed when key_len is 0).
/// - `val`, `val_len`: up to 4 GiB - 1 bytes (NULL is allowed when val_len
///   is 0).
///
/// The bytes are copied; no pointer is kept. The change is visible to
/// `txn` (and its cursors) at once and to others after walden_commit().
/// Thread safety: the thread that uses `txn`.
///
/// Returns:
/// - WALDEN_OK.
/// - WALDEN_READ_ONLY: `txn` is a read transaction.
/// - WALDEN_INVALID_ARGUMENT: `txn` is NULL or not a live walden_txn; `key`
///   or `val` is NULL with a non-zero length; the table name is not UTF-8;
///   the key is too long.
/// - WALDEN_FULL: the WAL or the file reached a fixed limit.
/// - WALDEN_IO, WALDEN_POISONED, WALDEN_CORRUPT: the write failed; abort
///   the transaction.
/// - WALDEN_INTERNAL: a bug in Walden.
///
/// # Safety
/// `txn` is NULL or a live walden_txn used by this thread only; `table` is
/// NULL or NUL-terminated; `key` and `val` point to `key_len` and `val_len`
/// readable bytes (or are NULL).
#[no_mangle]
pub unsafe extern "C" fn walden_put(
    txn: *mut walden_txn,
    table: *const c_char,
    key: *const c_void,
    key_len: usize,
    val: *const c_void,
    val_len: usize,
) -> walden_rc {
    call("walden_put", || {
        // SAFETY: `txn` is NULL or a live walden_txn of this thread by contract.
        let t = unsafe { TxnHandle::from_ptr(txn) }?;
        // SAFETY: NULL or NUL-terminated by contract.
        let name = unsafe { table_name(table) }?;
        // SAFETY: readable for the given lengths (or NULL) by contract.
        let (key, val) = unsafe { (bytes(key, key_len, "key")?, bytes(val, val_len, "val")?) };
        t.with(|kind| match (kind, name) {
            (TxnKind::Read(_), _) => Err(read_only_txn()),
            (TxnKind::Write(w), None) => Ok(w.put(key, val)?),
            (TxnKind::Write(w), Some(n)) => Ok(w.table(n)?.put(key, val)?),
        })
    })
}

/// Deletes `key` from `table` (NULL: the default table) in the write
/// transaction `txn`.
///
/// The key bytes are read during the call only. Thread safety: the thread
/// that uses `txn`.
///
/// Returns:
/// - WALDEN_OK: the key existed and is deleted.
/// - WALDEN_NOT_FOUND: the key, or the named table, does not exist; nothing
///   changed.
/// - WALDEN_READ_ONLY: `txn` is a read transaction.
/// - WALDEN_INVALID_ARGUMENT: `txn` is NULL or not a live walden_txn; `key`
///   is NULL with a non-zero length; the table name is not UTF-8; the key is
///   too long.
/// - WALDEN_IO, WALDEN_POISONED, WALDEN_CORRUPT, WALDEN_FULL: the write
///   failed; abort the transaction.
/// - WALDEN_INTERNAL: a bug in Walden.
///
/// # Safety
/// `txn` is NULL or a live walden_txn used by this thread only; `table` is
/// NULL or NUL-terminated; `key` points to `key_len` readable bytes (or is
/// NULL).
#[no_mangle]
pub unsafe extern "C" fn walden_delete(txn: *mut walden_txn, table: *const c_char, key: *const c_void, key_len: usize) -> walden_rc {
    call("walden_delete", || {
        // SAFETY: `txn` is NULL or a live walden_txn of this thread by contract.
        let t = unsafe { TxnHandle::from_ptr(txn) }?;
        // SAFETY: NULL or NUL-terminated by contract.
        let name = unsafe { table_name(table) }?;
        // SAFETY: readable for `key_len` bytes (or NULL) by contract.
        let key = unsafe { bytes(key, key_len, "key") }?;
        let existed = t.with(|kind| match (kind, name) {
            (TxnKind::Read(_), _) => Err(read_only_txn()),
            (TxnKind::Write(w), None) => Ok(w.delete(key)?),
            (TxnKind::Write(w), Some(n)) => Ok(w.open_table(n).map_err(not_found_table(n))?.delete(key)?),
        })?;
        if existed {
            Ok(())
        } else {
            Err(Fail::new(walden_rc::WALDEN_NOT_FOUND, "key not found"))
        }
    })
}

// ---------------------------------------------------------------------------
// Cursors
// ---------------------------------------------------------------------------

/// Opens a cursor over `table` (NULL: the default table) of `txn`.
///
/// The cursor starts on no entry: position it with walden_cursor_first(),
/// walden_cursor_last() or walden_cursor_seek(). It sees what `txn` sees;
/// in the write transaction it also sees `txn`'s later puts and deletes and
/// survives them (it repositions from its current key).
///
/// Ownership: `*out` receives the cursor (NULL on failure); the caller
/// frees it with walden_cursor_close(), before or after `txn` ends. Ending
/// `txn` invalidates it (see walden_commit()). Thread safety: the cursor
/// belongs to the thread that uses `txn`.
///
/// Returns:
/// - WALDEN_OK.
/// - WALDEN_NOT_FOUND: the named table does not exist (a cursor never
///   creates a table).
/// - WALDEN_INVALID_ARGUMENT: `txn` or `out` is NULL, `txn` is not a live
///   walden_txn, or the table name is not UTF-8.
/// - WALDEN_CORRUPT, WALDEN_IO, WALDEN_POISONED: reading the catalog failed.
/// - WALDEN_INTERNAL: a bug in Walden.
///
/// # Safety
/// `txn` is NULL or a live walden_txn used by this thread only; `table` is
/// NULL or NUL-terminated; `out` is NULL or points to writable memory for a
/// pointer.
#[no_mangle]
pub unsafe extern "C" fn walden_cursor_open(txn: *mut walden_txn, table: *const c_char, out: *mut *mut walden_cursor) -> walden_rc {
    call("walden_cursor_open", || {
        let out = non_null_mut(out, "out")?;
        // SAFETY: non-NULL and writable by contract.
        unsafe { out.write(std::ptr::null_mut()) };
        // SAFETY: `txn` is NULL or a live walden_txn of this thread by contract.
        let t = unsafe { TxnHandle::from_ptr(txn) }?;
        // SAFETY: NULL or NUL-terminated by contract.
        let name = unsafe { table_name(table) }?;
        let cur = t.with(|_| {
            // SAFETY: the cursor borrows the transaction inside the boxed
            // TxnHandle, which neither moves nor is freed before the cursor
            // is dropped: ending the transaction first detaches (drops the
            // `Cursor` of) every cursor registered with it below.
            let txn: &'static walden_std::Txn = unsafe { &*(t.txn() as *const walden_std::Txn) };
            let cur: Cursor<'static> = txn.cursor(name).map_err(|e| match (e, name) {
                (e @ walden_std::Error::NotFound { .. }, Some(n)) => not_found_table(n)(e),
                (e, _) => Fail::from(e),
            })?;
            Ok(cur)
        })?;
        // SAFETY: `cur` borrows `t`'s transaction, and `t` is live.
        let c = unsafe { CursorHandle::into_raw(t, cur) };
        // SAFETY: as above.
        unsafe { out.write(c) };
        Ok(())
    })
}

/// Whether a cursor move positions the cursor (first, last, seek) or steps
/// from its position (next, prev).
#[derive(Clone, Copy)]
enum Step {
    Absolute,
    Relative,
}

/// Runs a cursor move: `Ok(true)` is WALDEN_OK, `Ok(false)` WALDEN_DONE.
///
/// # Safety
/// `c` is NULL or a live walden_cursor used by this thread only.
unsafe fn cursor_move(
    func: &'static str,
    c: *mut walden_cursor,
    step: Step,
    done: &'static str,
    f: impl FnOnce(&mut Cursor<'static>) -> Result<bool, Fail>,
) -> walden_rc {
    call(func, || {
        // SAFETY: NULL or a live walden_cursor of this thread by contract.
        let h = unsafe { CursorHandle::from_ptr(c) }?;
        let on = h.with(|cur| match step {
            Step::Relative if !h.positioned.get() => Ok(false),
            Step::Relative => Ok(f(cur)? && !h.past_end(cur.key())),
            Step::Absolute => {
                let on = f(cur)? && !h.past_end(cur.key());
                h.positioned.set(true);
                Ok(on)
            }
        })?;
        if on {
            Ok(())
        } else {
            Err(Fail::new(walden_rc::WALDEN_DONE, done))
        }
    })
}

/// Moves the cursor to the first entry of its table.
///
/// Returns WALDEN_OK (on an entry), WALDEN_DONE (the table is empty, or its
/// first key is at or past the cursor's end key),
/// WALDEN_INVALID_ARGUMENT (`c` is NULL or not a live walden_cursor, or its
/// transaction has ended), WALDEN_CORRUPT, WALDEN_IO, WALDEN_POISONED,
/// WALDEN_INTERNAL. Any move (even a failing one) invalidates pointers from
/// walden_cursor_key() and walden_cursor_value(). Thread safety: the thread
/// that uses the cursor's transaction.
///
/// # Safety
/// `c` is NULL or a live walden_cursor used by this thread only.
#[no_mangle]
pub unsafe extern "C" fn walden_cursor_first(c: *mut walden_cursor) -> walden_rc {
    // SAFETY: forwarded contract.
    unsafe {
        cursor_move("walden_cursor_first", c, Step::Absolute, "the table is empty", |cur| {
            Ok(cur.first()?)
        })
    }
}

/// Moves the cursor to the last entry of its table (the last one before
/// its end key, if walden_cursor_set_end() set one).
///
/// Returns as walden_cursor_first(): WALDEN_DONE if the table is empty.
///
/// # Safety
/// `c` is NULL or a live walden_cursor used by this thread only.
#[no_mangle]
pub unsafe extern "C" fn walden_cursor_last(c: *mut walden_cursor) -> walden_rc {
    let last = move |cur: &mut Cursor<'static>| {
        // SAFETY: `cursor_move` runs this only after checking that `c` is a
        // live walden_cursor (its end key is not borrowed during a move).
        let h = unsafe { CursorHandle::from_ptr(c) }?;
        let end = h.end.borrow().clone();
        match end {
            None => Ok(cur.last()?),
            Some(e) => {
                if cur.seek(&e)? {
                    Ok(cur.prev()?)
                } else {
                    Ok(cur.last()?)
                }
            }
        }
    };
    // SAFETY: forwarded contract.
    unsafe { cursor_move("walden_cursor_last", c, Step::Absolute, "the table is empty", last) }
}

/// Moves the cursor to the first entry whose key is greater than or equal
/// to `key` (byte-wise comparison, a shorter prefix first).
///
/// `key` is read during the call only (NULL is allowed when key_len is 0,
/// which seeks the first entry). Returns as walden_cursor_first():
/// WALDEN_DONE if every key is smaller; also WALDEN_INVALID_ARGUMENT if
/// `key` is NULL with a non-zero length or longer than the maximum key.
///
/// # Safety
/// `c` is NULL or a live walden_cursor used by this thread only; `key`
/// points to `key_len` readable bytes (or is NULL).
#[no_mangle]
pub unsafe extern "C" fn walden_cursor_seek(c: *mut walden_cursor, key: *const c_void, key_len: usize) -> walden_rc {
    let seek = |cur: &mut Cursor<'static>| {
        // SAFETY: readable for `key_len` bytes (or NULL) by contract.
        let key = unsafe { bytes(key, key_len, "key") }?;
        Ok(cur.seek(key)?)
    };
    // SAFETY: forwarded contract.
    unsafe {
        cursor_move(
            "walden_cursor_seek",
            c,
            Step::Absolute,
            "no key is greater than or equal to the key sought",
            seek,
        )
    }
}

/// Moves the cursor to the next entry.
///
/// Returns as walden_cursor_first(): WALDEN_DONE past the last entry (or
/// at the cursor's end key), or if the cursor is on no entry (never
/// positioned, or a move returned WALDEN_DONE).
///
/// # Safety
/// `c` is NULL or a live walden_cursor used by this thread only.
#[no_mangle]
pub unsafe extern "C" fn walden_cursor_next(c: *mut walden_cursor) -> walden_rc {
    // SAFETY: forwarded contract.
    unsafe {
        cursor_move(
            "walden_cursor_next",
            c,
            Step::Relative,
            "past the last entry (or not on an entry)",
            |cur| Ok(cur.next()?),
        )
    }
}

/// Moves the cursor to the previous entry.
///
/// Returns as walden_cursor_first(): WALDEN_DONE before the first entry, or
/// if the cursor is on no entry.
///
/// # Safety
/// `c` is NULL or a live walden_cursor used by this thread only.
#[no_mangle]
pub unsafe extern "C" fn walden_cursor_prev(c: *mut walden_cursor) -> walden_rc {
    // SAFETY: forwarded contract.
    unsafe {
        cursor_move(
            "walden_cursor_prev",
            c,
            Step::Relative,
            "before the first entry (or not on an entry)",
            |cur| Ok(cur.prev()?),
        )
    }
}

/// Reads the key or the value of the cursor's entry (`value` selects).
///
/// # Safety
/// `c` is NULL or a live walden_cursor used by this thread only; `out` and
/// `out_len` are NULL or writable.
unsafe fn cursor_field(
    func: &'static str,
    c: *const walden_cursor,
    value: bool,
    out: *mut *const c_void,
    out_len: *mut usize,
) -> walden_rc {
    call(func, || {
        let (what, what_len) = if value { ("val", "val_len") } else { ("key", "key_len") };
        let out = non_null_mut(out, what)?;
        let out_len = non_null_mut(out_len, what_len)?;
        // SAFETY: both non-NULL and writable by contract.
        unsafe {
            out.write(std::ptr::null());
            out_len.write(0);
        }
        // SAFETY: NULL or a live walden_cursor of this thread by contract.
        let h = unsafe { CursorHandle::from_ptr(c) }?;
        let parts = h.with(|cur| {
            if h.past_end(cur.key()) {
                return Ok(None);
            }
            Ok(if value { cur.value() } else { cur.key() }.map(slice_parts))
        })?;
        let (p, n) = parts.ok_or_else(|| Fail::new(walden_rc::WALDEN_DONE, "the cursor is not on an entry"))?;
        // SAFETY: as above.
        unsafe {
            out.write(p);
            out_len.write(n);
        }
        Ok(())
    })
}

/// Points `*key` at the key of the cursor's entry and sets `*key_len`.
///
/// The bytes belong to the cursor (not NUL-terminated): they stay valid
/// until the cursor moves (any walden_cursor_first/last/seek/next/prev call,
/// even a failing one), is closed, or its transaction ends. Copy them to
/// keep them. Thread safety: the thread that uses the cursor's transaction.
///
/// Returns:
/// - WALDEN_OK.
/// - WALDEN_DONE: the cursor is on no entry; `*key` is NULL, `*key_len` 0.
/// - WALDEN_INVALID_ARGUMENT: `c`, `key` or `key_len` is NULL, `c` is not a
///   live walden_cursor, or its transaction has ended.
/// - WALDEN_INTERNAL: a bug in Walden.
///
/// # Safety
/// `c` is NULL or a live walden_cursor used by this thread only; `key` and
/// `key_len` are NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn walden_cursor_key(c: *const walden_cursor, key: *mut *const c_void, key_len: *mut usize) -> walden_rc {
    // SAFETY: forwarded contract.
    unsafe { cursor_field("walden_cursor_key", c, false, key, key_len) }
}

/// Points `*val` at the value of the cursor's entry and sets `*val_len`.
///
/// Same lifetime, thread safety and return codes as walden_cursor_key().
///
/// # Safety
/// `c` is NULL or a live walden_cursor used by this thread only; `val` and
/// `val_len` are NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn walden_cursor_value(c: *const walden_cursor, val: *mut *const c_void, val_len: *mut usize) -> walden_rc {
    // SAFETY: forwarded contract.
    unsafe { cursor_field("walden_cursor_value", c, true, val, val_len) }
}

/// Closes the cursor and frees it. NULL is a no-op.
///
/// Allowed before or after the cursor's transaction ends. A pointer that is
/// not a live cursor (for example one already closed) is detected: nothing
/// happens, and walden_errmsg() says why. Thread safety: the thread that
/// uses the cursor's transaction.
///
/// # Safety
/// `c` is NULL, a walden_cursor returned by walden_cursor_open(), or one
/// that has been closed; no other thread uses it or its transaction.
#[no_mangle]
pub unsafe extern "C" fn walden_cursor_close(c: *mut walden_cursor) {
    if c.is_null() {
        return;
    }
    call_void("walden_cursor_close", || {
        // SAFETY: by contract; `close` checks the registry before touching memory.
        unsafe { CursorHandle::close(c) }
    })
}

// ---------------------------------------------------------------------------
// Checkpoint, stats
// ---------------------------------------------------------------------------

/// Runs a checkpoint: copies committed WAL frames into the database file
/// (see walden_checkpoint_mode).
///
/// `*wal_frames` and `*backfilled` (each may be NULL) receive the frames in
/// the WAL after the checkpoint and how many of them are in the database
/// file; they are written only on WALDEN_OK.
///
/// Thread safety: `db` may be shared; transactions of other threads go on
/// meanwhile. A thread that holds a transaction itself and asks for a mode
/// other than PASSIVE waits for itself and gets WALDEN_BUSY.
///
/// Returns:
/// - WALDEN_OK.
/// - WALDEN_BUSY: (not PASSIVE) the writer or a reader was in the way for
///   longer than the busy timeout.
/// - WALDEN_READ_ONLY: the database was opened read-only.
/// - WALDEN_INVALID_ARGUMENT: `db` is NULL or not an open walden_db, or
///   `mode` is not a walden_checkpoint_mode.
/// - WALDEN_IO, WALDEN_POISONED, WALDEN_CORRUPT: the checkpoint failed.
/// - WALDEN_INTERNAL: a bug in Walden.
///
/// # Safety
/// `db` is NULL or an open walden_db; `wal_frames` and `backfilled` are
/// NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn walden_checkpoint(
    db: *mut walden_db,
    mode: CheckpointModeArg,
    wal_frames: *mut u64,
    backfilled: *mut u64,
) -> walden_rc {
    call("walden_checkpoint", || {
        // SAFETY: NULL or an open walden_db by contract.
        let h = unsafe { DbHandle::from_ptr(db) }?;
        let mode = checkpoint_mode_from_c(mode)?;
        let info = h.db.checkpoint(mode)?;
        if !wal_frames.is_null() {
            // SAFETY: non-NULL and writable by contract.
            unsafe { wal_frames.write(u64::from(info.wal_frames)) };
        }
        if !backfilled.is_null() {
            // SAFETY: non-NULL and writable by contract.
            unsafe { backfilled.write(u64::from(info.backfilled)) };
        }
        Ok(())
    })
}

/// Fills `*out` with the database's counters and WAL state.
///
/// Thread-safe (`db` may be shared); the counters are read without a lock,
/// so under concurrent commits they need not be mutually consistent.
///
/// Returns WALDEN_OK, WALDEN_INVALID_ARGUMENT (`db` or `out` is NULL, or
/// `db` is not an open walden_db), WALDEN_INTERNAL.
///
/// # Safety
/// `db` is NULL or an open walden_db; `out` is NULL or points to writable
/// memory for a walden_stats.
#[no_mangle]
pub unsafe extern "C" fn walden_stats_get(db: *mut walden_db, out: *mut walden_stats) -> walden_rc {
    call("walden_stats_get", || {
        let out = non_null_mut(out, "out")?;
        // SAFETY: NULL or an open walden_db by contract.
        let h = unsafe { DbHandle::from_ptr(db) }?;
        let s = h.db.stats();
        let stats = walden_stats {
            wal_frames: s.wal_frames,
            wal_backfilled: s.wal_backfilled,
            db_pages: s.db_pages,
            commits: s.commits,
            checkpoints: s.checkpoints,
            fsyncs: s.fsyncs,
        };
        // SAFETY: non-NULL and writable by contract.
        unsafe { out.write(stats) };
        Ok(())
    })
}

// ---------------------------------------------------------------------------
// Messages, names, version
// ---------------------------------------------------------------------------

/// The message of the calling thread's last failing call: the last call
/// that returned a code other than WALDEN_OK (WALDEN_DONE and
/// WALDEN_NOT_FOUND included), or a void function that refused its
/// arguments. It starts with the function's name, e.g. "walden_get: key
/// not found". Calls that return WALDEN_OK leave it unchanged. "" if no
/// call has failed on this thread yet. Never NULL.
///
/// Ownership and lifetime: the string belongs to the library, one per
/// thread; it stays valid until the calling thread's next call into this
/// library (or its exit). Copy it to keep it. Thread-safe.
#[no_mangle]
pub extern "C" fn walden_errmsg() -> *const c_char {
    call_str("walden_errmsg", c"", boundary::message_ptr)
}

/// The name of a result code, e.g. "WALDEN_OK" or "WALDEN_NOT_FOUND";
/// "WALDEN_UNKNOWN" for a value that is not a walden_rc.
///
/// The string is static: never freed, valid forever. Thread-safe.
#[no_mangle]
pub extern "C" fn walden_rc_name(rc: RcArg) -> *const c_char {
    call_str("walden_rc_name", c"WALDEN_UNKNOWN", || rc_name(rc).as_ptr())
}

fn rc_name(rc: RcArg) -> &'static CStr {
    const NAMES: [&CStr; 12] = [
        c"WALDEN_OK",
        c"WALDEN_NOT_FOUND",
        c"WALDEN_DONE",
        c"WALDEN_BUSY",
        c"WALDEN_BUFFER_TOO_SMALL",
        c"WALDEN_INVALID_ARGUMENT",
        c"WALDEN_CORRUPT",
        c"WALDEN_IO",
        c"WALDEN_FULL",
        c"WALDEN_READ_ONLY",
        c"WALDEN_POISONED",
        c"WALDEN_INTERNAL",
    ];
    usize::try_from(rc)
        .ok()
        .and_then(|i| NAMES.get(i).copied())
        .unwrap_or(c"WALDEN_UNKNOWN")
}

/// The library's version, e.g. "0.1.0". Static; thread-safe.
#[no_mangle]
pub extern "C" fn walden_version() -> *const c_char {
    const VERSION: &CStr = match CStr::from_bytes_with_nul(concat!(env!("CARGO_PKG_VERSION"), "\0").as_bytes()) {
        Ok(v) => v,
        Err(_) => c"unknown",
    };
    call_str("walden_version", VERSION, || VERSION.as_ptr())
}

#[cfg(test)]
mod tests;
