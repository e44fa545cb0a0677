//! What the opaque handles point to, how they are checked, and the registry
//! of live handles that makes double frees detectable.
//!
//! Every handle is a `Box` of a `#[repr(C)]` struct whose first field is a
//! `u64` magic number, leaked with `Box::into_raw` and cast to the opaque C
//! type. Calls read the magic before anything else, so a pointer to another
//! kind of handle (or to a handle already freed, while its memory still
//! holds the dead magic) is refused with `WALDEN_INVALID_ARGUMENT`. The
//! functions that free a handle first look its address up in a registry of
//! live handles, so freeing twice is detected without reading freed memory.
//!
//! A cursor borrows its transaction (`Cursor<'static>` pointing into the
//! transaction's heap allocation). The invariant that keeps this sound: a
//! transaction records its open cursors, and ending it (commit or abort)
//! first *detaches* them — drops their `Cursor` and forgets the
//! transaction — before the transaction itself is dropped.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use walden_std::{Cursor, Database, ReadTxn, Txn, WriteTxn};

use crate::boundary::Fail;
use crate::{walden_cursor, walden_db, walden_rc, walden_txn};

const DB_MAGIC: u64 = 0x5741_4C44_454E_4442; // "WALDENDB"
const TXN_MAGIC: u64 = 0x5741_4C44_454E_5458; // "WALDENTX"
const CURSOR_MAGIC: u64 = 0x5741_4C44_454E_4355; // "WALDENCU"
/// Written over the magic just before a handle is freed.
const DEAD_MAGIC: u64 = 0xDEAD_DEAD_DEAD_DEAD;

/// The kinds of handle, as the registry records them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Db,
    Txn,
    Cursor,
}

impl Kind {
    fn c_type(self) -> &'static str {
        match self {
            Kind::Db => "walden_db",
            Kind::Txn => "walden_txn",
            Kind::Cursor => "walden_cursor",
        }
    }
}

/// Addresses of the live handles. Only the functions that create or free a
/// handle touch it, never the hot paths (get, put, cursor moves).
static LIVE: Mutex<BTreeMap<usize, Kind>> = Mutex::new(BTreeMap::new());

fn live() -> std::sync::MutexGuard<'static, BTreeMap<usize, Kind>> {
    // The map is consistent even if a panic happened while it was locked
    // (single insert/remove calls), so a poisoned lock is still usable.
    LIVE.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn register(addr: usize, kind: Kind) {
    live().insert(addr, kind);
}

/// Whether `addr` is a live handle of `kind`; if not, the error to return.
fn check_live(addr: usize, kind: Kind) -> Result<(), Fail> {
    match live().get(&addr) {
        Some(k) if *k == kind => Ok(()),
        Some(k) => Err(Fail::invalid(format!("the pointer is a {}, not a {}", k.c_type(), kind.c_type()))),
        None => Err(Fail::invalid(format!(
            "the pointer is not a live {} (already freed, or never returned by this library)",
            kind.c_type()
        ))),
    }
}

/// Removes `addr` from the registry if it is a live handle of `kind`.
fn unregister(addr: usize, kind: Kind) -> Result<(), Fail> {
    let mut map = live();
    match map.get(&addr) {
        Some(k) if *k == kind => {
            map.remove(&addr);
            if map.is_empty() {
                // An emptied BTreeMap keeps its root node: free it, so that
                // a program that freed every handle leaves no heap block.
                *map = BTreeMap::new();
            }
            Ok(())
        }
        _ => {
            drop(map);
            check_live(addr, kind)
        }
    }
}

/// Reads the magic number at the start of a handle.
///
/// # Safety
/// `p` must be non-NULL and point to at least 8 readable, initialized bytes
/// aligned for `u64` — true of every live handle of this library.
unsafe fn magic_of<T>(p: *const T) -> u64 {
    // SAFETY: by this function's contract.
    unsafe { p.cast::<u64>().read() }
}

fn wrong_handle(expected: &'static str, magic: u64) -> Fail {
    let what = match magic {
        DB_MAGIC => "a walden_db",
        TXN_MAGIC => "a walden_txn",
        CURSOR_MAGIC => "a walden_cursor",
        DEAD_MAGIC => "a freed handle",
        _ => "not a live handle of this library",
    };
    Fail::invalid(format!("expected a {expected}, the pointer is {what}"))
}

// ---------------------------------------------------------------------------
// Database
// ---------------------------------------------------------------------------

/// What a `walden_db *` points to.
#[repr(C)]
pub(crate) struct DbHandle {
    magic: u64,
    pub(crate) db: Database,
    /// Transactions begun on this handle and not yet ended.
    open_txns: Arc<AtomicUsize>,
}

impl DbHandle {
    /// Leaks a new handle for `db`.
    pub(crate) fn into_raw(db: Database) -> *mut walden_db {
        let p = Box::into_raw(Box::new(DbHandle {
            magic: DB_MAGIC,
            db,
            open_txns: Arc::new(AtomicUsize::new(0)),
        }));
        register(p as usize, Kind::Db);
        p.cast::<walden_db>()
    }

    /// The handle behind `p`, after the NULL and magic checks.
    ///
    /// # Safety
    /// `p` is NULL or a pointer returned by this library that has not been
    /// freed, and it is not closed while the returned reference is in use.
    pub(crate) unsafe fn from_ptr<'a>(p: *const walden_db) -> Result<&'a DbHandle, Fail> {
        let p = crate::boundary::non_null(p, "db")?.cast::<DbHandle>();
        // SAFETY: non-NULL, and a live handle of this library by contract,
        // all of which start with a u64 magic.
        let magic = unsafe { magic_of(p) };
        if magic != DB_MAGIC {
            return Err(wrong_handle("walden_db", magic));
        }
        // SAFETY: the magic says `p` is a live DbHandle (allocated by
        // `into_raw`); it is only read through shared references.
        Ok(unsafe { &*p })
    }

    /// Frees the handle behind `p` (`walden_close`). `WALDEN_BUSY` if
    /// transactions are still open; the handle then stays open.
    ///
    /// # Safety
    /// No other thread uses `p` during or after this call.
    pub(crate) unsafe fn close(p: *mut walden_db) -> Result<(), Fail> {
        let p = crate::boundary::non_null_mut(p, "db")?;
        check_live(p as usize, Kind::Db)?;
        let h = p.cast::<DbHandle>();
        // SAFETY: `p` is in the registry of live database handles, so it
        // points to a DbHandle that has not been freed.
        let open = unsafe { &*h }.open_txns.load(Ordering::Acquire);
        if open > 0 {
            return Err(Fail::new(
                walden_rc::WALDEN_BUSY,
                format!("{open} transaction(s) still open; commit or abort them first (the database stays open)"),
            ));
        }
        unregister(p as usize, Kind::Db)?;
        // SAFETY: live (checked above), allocated by `Box::into_raw` in
        // `into_raw`, and no longer registered, so this is its only free.
        let mut b = unsafe { Box::from_raw(h) };
        b.magic = DEAD_MAGIC;
        drop(b);
        Ok(())
    }

    /// Counts a transaction as open until the returned guard is dropped.
    fn txn_guard(&self) -> OpenTxnGuard {
        self.open_txns.fetch_add(1, Ordering::AcqRel);
        OpenTxnGuard(self.open_txns.clone())
    }
}

/// Decrements the database handle's count of open transactions when the
/// transaction is dropped (also on a panic).
pub(crate) struct OpenTxnGuard(Arc<AtomicUsize>);

impl Drop for OpenTxnGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

// ---------------------------------------------------------------------------
// Transaction
// ---------------------------------------------------------------------------

/// A read or the write transaction.
pub(crate) enum TxnKind {
    Read(ReadTxn),
    Write(WriteTxn),
}

/// What a `walden_txn *` points to.
#[repr(C)]
pub(crate) struct TxnHandle {
    magic: u64,
    pub(crate) kind: TxnKind,
    /// Open cursors of this transaction, detached when it ends.
    cursors: RefCell<Vec<*const CursorHandle>>,
    /// Set while a call on this transaction runs; still set afterwards only
    /// if that call panicked, and then the transaction can only be ended.
    in_call: Cell<bool>,
    /// Dropped last (field order): the database's open-transaction count.
    _open: OpenTxnGuard,
}

impl TxnHandle {
    /// Leaks a new handle for a transaction of `db`.
    pub(crate) fn into_raw(db: &DbHandle, kind: TxnKind) -> *mut walden_txn {
        let p = Box::into_raw(Box::new(TxnHandle {
            magic: TXN_MAGIC,
            kind,
            cursors: RefCell::new(Vec::new()),
            in_call: Cell::new(false),
            _open: db.txn_guard(),
        }));
        register(p as usize, Kind::Txn);
        p.cast::<walden_txn>()
    }

    /// The handle behind `p`, after the NULL and magic checks.
    ///
    /// # Safety
    /// `p` is NULL or a pointer returned by this library that has not been
    /// freed, used by one thread at a time, and not ended while the
    /// returned reference is in use.
    pub(crate) unsafe fn from_ptr<'a>(p: *const walden_txn) -> Result<&'a TxnHandle, Fail> {
        let p = crate::boundary::non_null(p, "txn")?.cast::<TxnHandle>();
        // SAFETY: non-NULL, and a live handle of this library by contract.
        let magic = unsafe { magic_of(p) };
        if magic != TXN_MAGIC {
            return Err(wrong_handle("walden_txn", magic));
        }
        // SAFETY: the magic says `p` is a live TxnHandle; it is only ever
        // accessed through shared references (interior mutability), so the
        // cursors' borrows of `kind` stay valid.
        Ok(unsafe { &*p })
    }

    /// Runs `f` on the transaction, refusing if an earlier call panicked.
    pub(crate) fn with<R>(&self, f: impl FnOnce(&TxnKind) -> Result<R, Fail>) -> Result<R, Fail> {
        if self.in_call.replace(true) {
            return Err(Fail::new(
                walden_rc::WALDEN_INTERNAL,
                "an earlier call on this transaction failed internally (or it is used by two threads at once); abort it",
            ));
        }
        crate::boundary::test_hook::maybe_panic_in_txn();
        let r = f(&self.kind);
        self.in_call.set(false);
        r
    }

    /// The shared part of the transaction.
    pub(crate) fn txn(&self) -> &Txn {
        match &self.kind {
            TxnKind::Read(r) => r,
            TxnKind::Write(w) => w,
        }
    }

    /// Detaches every open cursor (see the module docs).
    fn detach_cursors(&self) {
        let cursors = std::mem::take(&mut *self.cursors.borrow_mut());
        for c in cursors {
            // SAFETY: the list holds only live cursors of this transaction
            // (`walden_cursor_close` removes a cursor before freeing it), and
            // the transaction and its cursors are used by one thread.
            unsafe { &*c }.detach();
        }
    }

    /// Takes the handle behind `p` out of the registry and frees it,
    /// detaching its cursors first; returns the transaction, whether a call
    /// on it panicked earlier, and the guard that keeps it counted as open
    /// on its database (drop it after the transaction).
    ///
    /// # Safety
    /// `p` is not used by another thread during or after this call.
    pub(crate) unsafe fn end(p: *mut walden_txn) -> Result<(TxnKind, bool, OpenTxnGuard), Fail> {
        let p = crate::boundary::non_null_mut(p, "txn")?;
        unregister(p as usize, Kind::Txn)?;
        let h = p.cast::<TxnHandle>();
        {
            // SAFETY: `p` was in the registry of live transactions, so it
            // points to a TxnHandle not yet freed.
            let t = unsafe { &*h };
            t.detach_cursors();
        }
        // SAFETY: allocated by `Box::into_raw` in `into_raw`, removed from
        // the registry above (so freed only here), and no cursor borrows it
        // any more (detached).
        let mut b = unsafe { Box::from_raw(h) };
        b.magic = DEAD_MAGIC;
        let broken = b.in_call.get();
        let TxnHandle { kind, _open, .. } = *b;
        Ok((kind, broken, _open))
    }
}

// ---------------------------------------------------------------------------
// Cursor
// ---------------------------------------------------------------------------

/// What a `walden_cursor *` points to.
#[repr(C)]
pub(crate) struct CursorHandle {
    magic: u64,
    /// The transaction, or NULL once it has ended (detached).
    txn: Cell<*const TxnHandle>,
    /// Borrows the transaction; `None` once detached.
    cur: RefCell<Option<Cursor<'static>>>,
    /// Whether first/last/seek has run: next and prev of a cursor never
    /// positioned are WALDEN_DONE (the engine refuses to step it).
    pub(crate) positioned: Cell<bool>,
    /// The exclusive end key set by walden_cursor_set_end(): an entry at or
    /// past it is no entry (WALDEN_DONE).
    pub(crate) end: RefCell<Option<Vec<u8>>>,
}

impl CursorHandle {
    /// Leaks a new cursor handle of `txn`.
    ///
    /// # Safety
    /// `cur` borrows the transaction `txn` (its `kind`), and `txn` is the
    /// live handle behind a `walden_txn *`.
    pub(crate) unsafe fn into_raw(txn: &TxnHandle, cur: Cursor<'static>) -> *mut walden_cursor {
        let p = Box::into_raw(Box::new(CursorHandle {
            magic: CURSOR_MAGIC,
            txn: Cell::new(txn as *const TxnHandle),
            cur: RefCell::new(Some(cur)),
            positioned: Cell::new(false),
            end: RefCell::new(None),
        }));
        txn.cursors.borrow_mut().push(p);
        register(p as usize, Kind::Cursor);
        p.cast::<walden_cursor>()
    }

    /// The handle behind `p`, after the NULL and magic checks.
    ///
    /// # Safety
    /// `p` is NULL or a pointer returned by this library that has not been
    /// freed, used by one thread at a time (the thread of its transaction).
    pub(crate) unsafe fn from_ptr<'a>(p: *const walden_cursor) -> Result<&'a CursorHandle, Fail> {
        let p = crate::boundary::non_null(p, "cursor")?.cast::<CursorHandle>();
        // SAFETY: non-NULL, and a live handle of this library by contract.
        let magic = unsafe { magic_of(p) };
        if magic != CURSOR_MAGIC {
            return Err(wrong_handle("walden_cursor", magic));
        }
        // SAFETY: the magic says `p` is a live CursorHandle; accessed only
        // through shared references.
        Ok(unsafe { &*p })
    }

    /// Runs `f` on the cursor, through its transaction's call guard.
    pub(crate) fn with<R>(&self, f: impl FnOnce(&mut Cursor<'static>) -> Result<R, Fail>) -> Result<R, Fail> {
        let t = self.txn.get();
        if t.is_null() {
            return Err(Fail::invalid(
                "the cursor's transaction has ended; only walden_cursor_close is allowed",
            ));
        }
        // SAFETY: an attached cursor's transaction is live: ending a
        // transaction detaches (nulls `txn` of) all its cursors first.
        let txn = unsafe { &*t };
        txn.with(|_| {
            let mut guard = self
                .cur
                .try_borrow_mut()
                .map_err(|_| Fail::invalid("the cursor is used re-entrantly"))?;
            let cur = guard.as_mut().ok_or_else(|| Fail::invalid("the cursor's transaction has ended"))?;
            f(cur)
        })
    }

    /// Whether `key` is at or past the cursor's end key.
    pub(crate) fn past_end(&self, key: Option<&[u8]>) -> bool {
        match (key, self.end.borrow().as_deref()) {
            (Some(k), Some(e)) => k >= e,
            _ => false,
        }
    }

    /// Drops the cursor's borrow of its transaction, which is ending.
    fn detach(&self) {
        self.cur.borrow_mut().take();
        self.txn.set(std::ptr::null());
    }

    /// Takes the handle behind `p` out of the registry and frees it.
    ///
    /// # Safety
    /// `p` is not used during or after this call, and its transaction (if
    /// not ended) is not used by another thread during the call.
    pub(crate) unsafe fn close(p: *mut walden_cursor) -> Result<(), Fail> {
        unregister(p as usize, Kind::Cursor)?;
        let h = p.cast::<CursorHandle>();
        {
            // SAFETY: `p` was in the registry of live cursors, so it points
            // to a CursorHandle that has not been freed.
            let c = unsafe { &*h };
            let t = c.txn.get();
            if !t.is_null() {
                // SAFETY: an attached cursor's transaction is live.
                let txn = unsafe { &*t };
                txn.cursors.borrow_mut().retain(|&x| x != h.cast_const());
            }
        }
        // SAFETY: allocated by `Box::into_raw` in `into_raw` and removed
        // from the registry above, so freed only here. Dropping it drops
        // the `Cursor` while its transaction is still alive (or detached).
        let mut b = unsafe { Box::from_raw(h) };
        b.magic = DEAD_MAGIC;
        drop(b);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    fn assert_send<T: Send>() {}

    /// A transaction (with its cursors) may move between threads.
    #[test]
    fn transactions_are_send() {
        assert_send::<walden_std::ReadTxn>();
        assert_send::<walden_std::WriteTxn>();
        assert_send::<walden_std::Database>();
    }
}
