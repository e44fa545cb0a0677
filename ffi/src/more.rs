//! The C functions beyond get, put, delete and cursors: listing and
//! dropping tables, counting entries, the integrity check, the largest key,
//! and an end key for cursors. Same conventions as the rest of the API
//! (see the header's CONVENTIONS): every export runs inside the panic
//! boundary, checks its pointers, and sets the thread's message on failure.

use std::ffi::{c_char, c_int, c_void};

use walden_std::VerifyReport;

use crate::boundary::{bytes, call, non_null_mut, table_name, Fail};
use crate::handle::{CursorHandle, DbHandle, TxnHandle, TxnKind};
use crate::{walden_cursor, walden_db, walden_rc, walden_txn};

/// Called by walden_tables() once per named table, in name order: `name`
/// is the table's name (UTF-8), NUL-terminated, `name_len` its length in
/// bytes (without the NUL); valid only during the call. Return 0 to go on,
/// anything else to stop the listing.
pub type walden_table_fn = Option<unsafe extern "C" fn(ctx: *mut c_void, name: *const c_char, name_len: usize) -> c_int>;

/// The result of walden_verify(): what the integrity check walked.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct walden_verify_report {
    /// Pages in the database.
    pub pages: u64,
    /// B+tree pages (branch and leaf) of every tree, the catalog included.
    pub tree_pages: u64,
    /// Overflow pages (parts of large values).
    pub overflow_pages: u64,
    /// Pages on the freelist.
    pub freelist_pages: u64,
    /// Named tables.
    pub tables: u64,
    /// Entries in the default and the named tables.
    pub entries: u64,
    /// Problems found; 0 for a clean database.
    pub problems: u64,
}

fn report_to_c(r: &VerifyReport) -> walden_verify_report {
    walden_verify_report {
        pages: r.pages.into(),
        tree_pages: r.tree_pages.into(),
        overflow_pages: r.overflow_pages.into(),
        freelist_pages: r.freelist_pages.into(),
        tables: r.tables.into(),
        entries: r.entries,
        problems: r.problem_count.into(),
    }
}

/// Calls `cb(ctx, name, name_len)` for each named table that `txn` sees,
/// in name order, until `cb` returns non-zero. The default table (which
/// every database has) is not listed.
///
/// The name passed to `cb` is a copy, NUL-terminated, valid during that
/// call only. `cb` may not use `txn` (or its cursors): the listing holds
/// the transaction. Thread safety: the thread that uses `txn`.
///
/// Returns:
/// - WALDEN_OK: every table was listed, or `cb` stopped the listing.
/// - WALDEN_INVALID_ARGUMENT: `txn` or `cb` is NULL, or `txn` is not a live
///   walden_txn.
/// - WALDEN_CORRUPT, WALDEN_IO, WALDEN_POISONED: reading the catalog failed.
/// - WALDEN_INTERNAL: a bug in Walden.
///
/// # Safety
/// `txn` is NULL or a live walden_txn used by this thread only; `cb` is
/// NULL or a function that may be called with `ctx`.
#[no_mangle]
pub unsafe extern "C" fn walden_tables(txn: *mut walden_txn, cb: walden_table_fn, ctx: *mut c_void) -> walden_rc {
    call("walden_tables", || {
        // SAFETY: `txn` is NULL or a live walden_txn of this thread by contract.
        let t = unsafe { TxnHandle::from_ptr(txn) }?;
        let cb = cb.ok_or_else(|| Fail::invalid("cb is NULL"))?;
        let names = t.with(|kind| {
            Ok(match kind {
                TxnKind::Read(r) => r.list_tables()?,
                TxnKind::Write(w) => w.list_tables()?,
            })
        })?;
        for name in names {
            let len = name.len();
            // The name and a NUL. A name with a NUL byte in it (possible
            // from the Rust API) is whole in `name_len` bytes; as a C
            // string it ends at that NUL.
            let mut c = name.into_bytes();
            c.push(0);
            // SAFETY: `cb` is a function taking `ctx` by contract; `c`
            // lives until after the call.
            if unsafe { cb(ctx, c.as_ptr().cast::<c_char>(), len) } != 0 {
                break;
            }
        }
        Ok(())
    })
}

/// Drops the named table `table` and frees its pages, in the write
/// transaction `txn`. Table handles are by name in this API, so nothing
/// else is invalidated, but open cursors on the table become invalid
/// (every call on them but walden_cursor_close() gives an error).
///
/// Returns:
/// - WALDEN_OK: the table existed and is dropped.
/// - WALDEN_NOT_FOUND: no table of that name; nothing changed.
/// - WALDEN_READ_ONLY: `txn` is a read transaction.
/// - WALDEN_INVALID_ARGUMENT: `txn` or `table` is NULL (the default table
///   cannot be dropped), the name is not UTF-8, or `txn` is not a live
///   walden_txn.
/// - WALDEN_IO, WALDEN_POISONED, WALDEN_CORRUPT, WALDEN_FULL: the write
///   failed; abort the transaction.
/// - WALDEN_INTERNAL: a bug in Walden.
///
/// # Safety
/// `txn` is NULL or a live walden_txn used by this thread only; `table` is
/// NULL or NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn walden_drop_table(txn: *mut walden_txn, table: *const c_char) -> walden_rc {
    call("walden_drop_table", || {
        // SAFETY: `txn` is NULL or a live walden_txn of this thread by contract.
        let t = unsafe { TxnHandle::from_ptr(txn) }?;
        // SAFETY: NULL or NUL-terminated by contract.
        let name = unsafe { table_name(table) }?.ok_or_else(|| Fail::invalid("table is NULL: the default table cannot be dropped"))?;
        let existed = t.with(|kind| match kind {
            TxnKind::Read(_) => Err(Fail::new(walden_rc::WALDEN_READ_ONLY, "a read transaction cannot write")),
            TxnKind::Write(w) => Ok(w.drop_table(name)?),
        })?;
        if existed {
            Ok(())
        } else {
            Err(Fail::new(walden_rc::WALDEN_NOT_FOUND, format!("table {name:?} not found")))
        }
    })
}

/// Counts the entries of `table` (NULL: the default table) whose keys `k`
/// satisfy `from <= k < to`, as `txn` sees them, without reading them: the
/// cell counts of the leaf pages are summed (as SQLite's count(*)), and keys
/// are compared only on the leaves at the two ends of the range.
///
/// - `from`, `from_len`: the first key (inclusive); NULL with 0, or the
///   empty key, counts from the first entry.
/// - `to`, `to_len`: the end (exclusive); NULL (with `to_len` 0) for no end.
/// - `*count` receives the number of entries (0 on error).
///
/// Returns:
/// - WALDEN_OK.
/// - WALDEN_NOT_FOUND: the named table does not exist.
/// - WALDEN_INVALID_ARGUMENT: `txn` or `count` is NULL; `from` is NULL with
///   a non-zero length, or `to` is NULL with a non-zero `to_len`; the name
///   is not UTF-8; `txn` is not a live walden_txn.
/// - WALDEN_CORRUPT, WALDEN_IO, WALDEN_POISONED: reading failed.
/// - WALDEN_INTERNAL: a bug in Walden.
///
/// # Safety
/// `txn` is NULL or a live walden_txn used by this thread only; `table` is
/// NULL or NUL-terminated; `from` and `to` point to `from_len` and `to_len`
/// readable bytes (or are NULL); `count` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn walden_count(
    txn: *mut walden_txn,
    table: *const c_char,
    from: *const c_void,
    from_len: usize,
    to: *const c_void,
    to_len: usize,
    count: *mut u64,
) -> walden_rc {
    call("walden_count", || {
        let count = non_null_mut(count, "count")?;
        // SAFETY: non-NULL and writable by contract.
        unsafe { count.write(0) };
        // SAFETY: `txn` is NULL or a live walden_txn of this thread by contract.
        let t = unsafe { TxnHandle::from_ptr(txn) }?;
        // SAFETY: NULL or NUL-terminated by contract.
        let name = unsafe { table_name(table) }?;
        // SAFETY: readable for the given lengths (or NULL) by contract.
        let lo = unsafe { bytes(from, from_len, "from") }?;
        let hi = if to.is_null() && to_len == 0 {
            None
        } else {
            // SAFETY: as above.
            Some(unsafe { bytes(to, to_len, "to") }?)
        };
        let end = hi.map_or(std::ops::Bound::Unbounded, std::ops::Bound::Excluded);
        let range = (std::ops::Bound::Included(lo), end);
        let n = t.with(|kind| {
            let txn: &walden_std::Txn = match kind {
                TxnKind::Read(r) => r,
                TxnKind::Write(w) => w,
            };
            let tbl = match name {
                None => txn.default_table()?,
                Some(n) => match kind {
                    TxnKind::Read(r) => r.table(n).map_err(crate::not_found_table(n))?,
                    TxnKind::Write(w) => w.open_table(n).map_err(crate::not_found_table(n))?,
                },
            };
            Ok(tbl.count(range)?)
        })?;
        // SAFETY: as above.
        unsafe { count.write(n) };
        Ok(())
    })
}

/// Runs the integrity check (as SQLite's PRAGMA integrity_check) on a
/// snapshot of the last commit: every tree, overflow chain and the
/// freelist; checksums, key order, pages owned twice or leaked, header
/// counts. Reads every page of the database: slow on a large one.
///
/// `*report` (may be NULL) receives what was walked and the number of
/// problems, on WALDEN_OK and WALDEN_CORRUPT.
///
/// Returns:
/// - WALDEN_OK: no problem found.
/// - WALDEN_CORRUPT: problems found; walden_errmsg() names the first ones
///   (page and check).
/// - WALDEN_INVALID_ARGUMENT: `db` is NULL or not an open walden_db.
/// - WALDEN_BUSY: no snapshot could be taken (see walden_begin()).
/// - WALDEN_IO, WALDEN_POISONED: reading failed.
/// - WALDEN_INTERNAL: a bug in Walden.
///
/// # Safety
/// `db` is NULL or an open walden_db; `report` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn walden_verify(db: *mut walden_db, report: *mut walden_verify_report) -> walden_rc {
    call("walden_verify", || {
        // SAFETY: NULL or an open walden_db by contract.
        let h = unsafe { DbHandle::from_ptr(db) }?;
        let r = h.db.verify()?;
        if !report.is_null() {
            // SAFETY: non-NULL and writable by contract.
            unsafe { report.write(report_to_c(&r)) };
        }
        if r.is_ok() {
            return Ok(());
        }
        let first: Vec<String> = r
            .problems
            .iter()
            .take(3)
            .map(|p| {
                if p.page > 0 {
                    format!("page {}: {}", p.page, p.what)
                } else {
                    p.what.to_string()
                }
            })
            .collect();
        Err(Fail::new(
            walden_rc::WALDEN_CORRUPT,
            format!("{} problem(s) found: {}", r.problem_count, first.join("; ")),
        ))
    })
}

/// Sets `*len` to the largest key the database accepts, in bytes: it
/// depends on the page size (1,347 at the default 4,096-byte pages, 2,048
/// from 8 KiB pages on). Longer keys give WALDEN_INVALID_ARGUMENT.
///
/// Returns WALDEN_OK, WALDEN_INVALID_ARGUMENT (`db` or `len` is NULL, or
/// `db` is not an open walden_db), WALDEN_INTERNAL. Thread-safe.
///
/// # Safety
/// `db` is NULL or an open walden_db; `len` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn walden_max_key_len(db: *mut walden_db, len: *mut usize) -> walden_rc {
    call("walden_max_key_len", || {
        let len = non_null_mut(len, "len")?;
        // SAFETY: NULL or an open walden_db by contract.
        let h = unsafe { DbHandle::from_ptr(db) }?;
        // SAFETY: non-NULL and writable by contract.
        unsafe { len.write(h.db.max_key_len()) };
        Ok(())
    })
}

/// Bounds the cursor by an end key: from now on an entry whose key is
/// greater than or equal to `end` is no entry for it. walden_cursor_next()
/// (and first, seek) give WALDEN_DONE there, walden_cursor_last() moves to
/// the last entry before `end`, and walden_cursor_key() and
/// walden_cursor_value() give WALDEN_DONE while the cursor is past it.
/// `end` NULL (with `end_len` 0) removes the bound. The key is copied.
///
/// A range scan from `a` up to `b` is: walden_cursor_set_end(c, b, ...),
/// walden_cursor_seek(c, a, ...), then walden_cursor_next() until
/// WALDEN_DONE. The cursor's position does not change.
///
/// Returns WALDEN_OK, WALDEN_INVALID_ARGUMENT (`c` is NULL or not a live
/// walden_cursor, its transaction has ended, or `end` is NULL with a
/// non-zero length), WALDEN_INTERNAL.
///
/// # Safety
/// `c` is NULL or a live walden_cursor used by this thread only; `end`
/// points to `end_len` readable bytes (or is NULL).
#[no_mangle]
pub unsafe extern "C" fn walden_cursor_set_end(c: *mut walden_cursor, end: *const c_void, end_len: usize) -> walden_rc {
    call("walden_cursor_set_end", || {
        // SAFETY: NULL or a live walden_cursor of this thread by contract.
        let h = unsafe { CursorHandle::from_ptr(c) }?;
        let key = if end.is_null() && end_len == 0 {
            None
        } else {
            // SAFETY: readable for `end_len` bytes by contract.
            Some(unsafe { bytes(end, end_len, "end") }?.to_vec())
        };
        // Refuses a cursor whose transaction has ended.
        h.with(|_| Ok(()))?;
        *h.end.borrow_mut() = key;
        Ok(())
    })
}
