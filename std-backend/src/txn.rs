//! Transactions of the std backend: [`ReadTxn`] and [`WriteTxn`] over a
//! pooled core connection, [`Table`], the [`Range`] iterator and the
//! positioned [`Cursor`].
//!
//! Keys, values and range bounds ([`KeyRange`]) are anything `AsRef<[u8]>`:
//! `t.put("k", b"v")`, `t.range("a".."m")`, `t.range(..)`.

use std::cell::RefCell;
use std::ops::Bound;
use std::sync::atomic::Ordering;

use walden_core::{Cursor as CoreCursor, ScanEnd, ValueRef};

use crate::busy::{Turn, FLUSH_AGAIN, GROUP_WAIT, SYNC_POLL};
use crate::db::Database;
use crate::error::{Error, Result};
use crate::keys::{prefix_bounds, KeyRange};
use crate::open::Conn;

/// What read and write transactions share.
pub struct Txn {
    pub(crate) conn: RefCell<Option<Conn>>,
    pub(crate) db: Database,
}

impl Txn {
    pub(crate) fn with<T>(&self, f: impl FnOnce(&mut Conn) -> walden_core::Result<T>) -> Result<T> {
        let mut g = self
            .conn
            .try_borrow_mut()
            .map_err(|_| Error::InvalidArgument("transaction used re-entrantly"))?;
        let c = g.as_mut().ok_or(Error::InvalidArgument("transaction already ended"))?;
        f(c).map_err(|e| self.db.err(e))
    }

    /// As [`Txn::with`], after checking that `key` fits the database
    /// (`KeyTooLong` with the numbers otherwise).
    fn with_key<T>(&self, key: &[u8], f: impl FnOnce(&mut Conn) -> walden_core::Result<T>) -> Result<T> {
        let mut long = None;
        let r = self.with(|c| {
            let max = walden_core::max_key_len(c.page_size());
            if key.len() > max {
                long = Some((max, c.page_size()));
                return Err(walden_core::Error::InvalidArgument("key too long"));
            }
            f(c)
        });
        match long {
            Some((max, page_size)) => Err(Error::KeyTooLong {
                len: key.len(),
                max,
                page_size,
            }),
            None => r,
        }
    }

    /// The default (unnamed) table.
    pub fn default_table(&self) -> Result<Table<'_>> {
        let t = self.with(|c| c.default_table())?;
        Ok(Table { txn: self, t })
    }

    /// Names of the named tables, in order.
    pub fn list_tables(&self) -> Result<Vec<String>> {
        let cat = self.with(|c| c.catalog())?;
        let t = Table { txn: self, t: cat };
        t.iter()?
            .map(|r| r.map(|(k, _)| String::from_utf8_lossy(&k).into_owned()))
            .collect()
    }

    /// Value of `key` in the default table.
    pub fn get(&self, key: impl AsRef<[u8]>) -> Result<Option<Vec<u8>>> {
        self.default_table()?.get(key)
    }

    /// Entries of the default table within `range`.
    pub fn range(&self, range: impl KeyRange) -> Result<Range<'_>> {
        let t = self.with(|c| c.default_table())?;
        Table { txn: self, t }.range_owned(bounds(&range))
    }

    /// A cursor over the table `name` (`None`: the default table).
    /// Errors: `NotFound` (naming it) if the named table does not exist.
    pub fn cursor(&self, name: Option<&str>) -> Result<Cursor<'_>> {
        let t = match name {
            None => self.with(|c| c.default_table())?,
            Some(n) => self.with(|c| c.table(n.as_bytes()))?.ok_or_else(|| Error::no_table(n))?,
        };
        Ok(Cursor {
            txn: self,
            t,
            c: Box::default(),
            key: Vec::new(),
            val: Vec::new(),
        })
    }

    /// The database header (page 1) as this transaction sees it: page size,
    /// page count, freelist, roots, change counter.
    pub fn header(&self) -> Result<walden_core::DbHeader> {
        self.with(|c| c.header())
    }

    /// The wal-index state: frames in the WAL, salts, checkpoint sequence
    /// (`IndexHeader`), and frames backfilled.
    pub fn wal_state(&self) -> Result<(walden_core::IndexHeader, u32)> {
        self.with(|c| c.wal_state())
    }

    fn end(&self) -> Option<Conn> {
        self.conn.borrow_mut().take()
    }
}

fn bounds(r: &impl KeyRange) -> (Bound<Vec<u8>>, Bound<Vec<u8>>) {
    let (start, end) = r.key_bounds();
    (start.map(<[u8]>::to_vec), end.map(<[u8]>::to_vec))
}

/// A read transaction: a snapshot. Ends when dropped.
pub struct ReadTxn {
    pub(crate) txn: Txn,
    pub(crate) id: u64,
}

impl std::ops::Deref for ReadTxn {
    type Target = Txn;
    fn deref(&self) -> &Txn {
        &self.txn
    }
}

impl ReadTxn {
    /// The table named `name`. Errors: `NotFound` (naming it) if it does
    /// not exist.
    pub fn table(&self, name: &str) -> Result<Table<'_>> {
        match self.txn.with(|c| c.table(name.as_bytes()))? {
            Some(t) => Ok(Table { txn: &self.txn, t }),
            None => Err(Error::no_table(name)),
        }
    }
}

impl Drop for ReadTxn {
    fn drop(&mut self) {
        if let Some(mut c) = self.txn.end() {
            c.end_read();
            self.txn.db.put_conn(c);
        }
        if let Ok(mut m) = self.txn.db.inner.readers.lock() {
            m.remove(&self.id);
        }
    }
}

/// The write transaction. Dropping it without [`WriteTxn::commit`] aborts.
pub struct WriteTxn {
    pub(crate) txn: Txn,
    /// Holds this handle's write gate (released once the commit is appended
    /// or the transaction ends).
    pub(crate) gated: std::cell::Cell<bool>,
}

impl WriteTxn {
    fn release_gate(&self) {
        if self.gated.replace(false) {
            self.txn.db.inner.gate.release();
        }
    }
}

impl std::ops::Deref for WriteTxn {
    type Target = Txn;
    fn deref(&self) -> &Txn {
        &self.txn
    }
}

impl WriteTxn {
    /// The table named `name`, created empty if it does not exist.
    pub fn table(&self, name: &str) -> Result<Table<'_>> {
        let t = self.txn.with(|c| c.create_table(name.as_bytes()))?;
        Ok(Table { txn: &self.txn, t })
    }

    /// The table named `name` if it exists (does not create it).
    /// Errors: `NotFound` (naming it).
    pub fn open_table(&self, name: &str) -> Result<Table<'_>> {
        match self.txn.with(|c| c.table(name.as_bytes()))? {
            Some(t) => Ok(Table { txn: &self.txn, t }),
            None => Err(Error::no_table(name)),
        }
    }

    /// Drops the table `name` and frees its pages; returns whether it
    /// existed. Table handles of this transaction become invalid.
    pub fn drop_table(&self, name: &str) -> Result<bool> {
        self.txn.with(|c| c.drop_table(name.as_bytes()))
    }

    /// Inserts or replaces `key` in the default table.
    pub fn put(&self, key: impl AsRef<[u8]>, value: impl AsRef<[u8]>) -> Result<()> {
        self.default_table()?.put(key, value)
    }

    /// Deletes `key` from the default table; returns whether it existed.
    pub fn delete(&self, key: impl AsRef<[u8]>) -> Result<bool> {
        self.default_table()?.delete(key)
    }

    /// Commits: returns once the commit is durable as the sync mode says
    /// (`Full`: after a WAL fsync that covers it) and visible to new
    /// snapshots. Commits of several threads or processes at once share
    /// their fsyncs (group commit): the write lock is released once the
    /// commit is appended, and one connection's fsync covers every commit
    /// appended before it, while the others wait for it (up to the busy
    /// timeout). Returns the commit's LSN, or `None` if nothing changed.
    ///
    /// Errors: `Busy` (the commit was appended but no sync covered it
    /// within the busy timeout, or [`crate::MIN_SYNC_WAIT`] if
    /// that is longer: it was not acknowledged, and may yet become
    /// durable), `Io` (this connection's fsync failed, which poisons the
    /// database: reopen to recover; or another connection's fsync of this
    /// commit failed, which voids it), `Full`, `InvalidArgument`. On error
    /// the transaction is not acknowledged.
    pub fn commit(self) -> Result<Option<u64>> {
        let Some(mut c) = self.txn.end() else {
            return Err(Error::InvalidArgument("transaction already ended"));
        };
        let before = c.stats().checkpoints;
        let inner = &self.txn.db.inner;
        let deadline = std::time::Instant::now() + inner.opts.busy_timeout.max(crate::MIN_SYNC_WAIT);
        // Append (the write lock is released inside), let the next writer
        // of this handle in, then wait for a sync that covers the commit.
        let appended = c.append_commit();
        self.release_gate();
        // Group commit (busy.rs, `Gate::turn`): one committer of this
        // process at a time syncs, for every commit appended before it;
        // the others sleep until the sync that covers them has ended, and
        // look (a commit is acknowledged only when a published header, so
        // a sync, covers it: `commit_if_covered`).
        let mut r = appended.map(|_| None);
        if let Ok(Some(_)) = appended {
            let gate = &inner.gate;
            let mut ticket = gate.ticket();
            loop {
                let left = deadline.saturating_duration_since(std::time::Instant::now());
                r = match gate.turn(ticket, left.min(GROUP_WAIT)) {
                    Turn::Flush => {
                        let r = c.commit();
                        // The commit is acknowledged; if others appended
                        // during its sync and wait, sync once more for them
                        // before returning (at most FLUSH_AGAIN times).
                        let mut more = FLUSH_AGAIN;
                        let mut go = matches!(r, Ok(Some(_)));
                        while gate.end_flush(go && more > 0) {
                            more -= 1;
                            go = c.flush().is_ok();
                        }
                        if matches!(r, Err(walden_core::Error::Busy | walden_core::Error::Protocol)) {
                            // Another process (or a checkpoint's restart)
                            // holds the sync lock, or a writer preempted
                            // while it set the tip: look again soon.
                            std::thread::sleep(SYNC_POLL.min(left));
                        }
                        r
                    }
                    Turn::Look => c.commit_if_covered(),
                };
                // `Protocol`: the tip was torn under a writer preempted
                // while it set it; the commit still waits.
                if !matches!(r, Err(walden_core::Error::Busy | walden_core::Error::Protocol)) {
                    break;
                }
                if std::time::Instant::now() >= deadline {
                    c.abandon_commit();
                    let db = self.txn.db.clone();
                    db.put_conn(c);
                    return Err(Error::Busy(Some(format!(
                        "{}: the commit was appended to the WAL, but no fsync covered it within the busy timeout (another connection's fsync is slow); it is not acknowledged",
                        db.inner.paths.db.display()
                    ))));
                }
                ticket = gate.next_ticket(ticket);
            }
        }
        let after = c.stats().checkpoints;
        let db = self.txn.db.clone();
        db.inner.checkpoints.fetch_add(after - before, Ordering::Relaxed);
        db.put_conn(c);
        let lsn = r.map_err(|e| db.err(e))?;
        if lsn.is_some() {
            db.inner.commits.fetch_add(1, Ordering::Relaxed);
        }
        Ok(lsn)
    }

    /// Discards every change of the transaction.
    pub fn abort(self) {}
}

impl Drop for WriteTxn {
    fn drop(&mut self) {
        if let Some(mut c) = self.txn.end() {
            c.abort();
            self.txn.db.put_conn(c);
        }
        self.release_gate();
    }
}

/// A table in a transaction.
pub struct Table<'t> {
    txn: &'t Txn,
    t: walden_core::Table,
}

impl<'t> Table<'t> {
    /// The value of `key`, or `None`. Errors: `KeyTooLong` (longer than
    /// [`Database::max_key_len`]), `Corrupt`, `Io`.
    pub fn get(&self, key: impl AsRef<[u8]>) -> Result<Option<Vec<u8>>> {
        self.get_with(key, <[u8]>::to_vec)
    }

    /// Calls `f` with the value of `key`, borrowed from the page cache
    /// without a copy when it is stored in its leaf (values in overflow
    /// pages are first read into a buffer), and returns what `f` returns;
    /// `None` if the key is absent. One descent of the tree, no allocation
    /// for inline values (redb's `AccessGuard`, LMDB's `&[u8]`).
    /// Errors: as [`Table::get`].
    pub fn get_with<T>(&self, key: impl AsRef<[u8]>, f: impl FnOnce(&[u8]) -> T) -> Result<Option<T>> {
        let key = key.as_ref();
        let t = self.t;
        self.txn.with_key(key, |c| {
            let len = match c.lookup(t, key)? {
                None => return Ok(None),
                Some(ValueRef::Inline(v)) => return Ok(Some(f(v))),
                Some(ValueRef::Overflow { len }) => len,
            };
            let mut v = vec![0u8; len];
            c.read_value(t, key, 0, &mut v)?;
            Ok(Some(f(&v)))
        })
    }

    /// Calls `f` with each entry of `range` in key order, the key and value
    /// borrowed (no allocation per entry but for values in overflow pages),
    /// until `f` returns `false`; returns the entries visited. The fastest
    /// way to scan. Errors: as [`Table::range`].
    pub fn for_each_in(&self, range: impl KeyRange, mut f: impl FnMut(&[u8], &[u8]) -> bool) -> Result<u64> {
        let (start, end) = bounds(&range);
        let t = self.t;
        let mut cur = CoreCursor::new();
        let mut n = 0;
        let mut buf = Vec::new();
        self.txn.with(|c| {
            let mut on = match &start {
                Bound::Unbounded => c.cursor_first(&mut cur, t)?,
                Bound::Included(k) | Bound::Excluded(k) => {
                    let on = c.cursor_seek(&mut cur, t, k)?;
                    if on && matches!(start, Bound::Excluded(_)) && cur.key() == Some(k.as_slice()) {
                        c.cursor_next(&mut cur)?
                    } else {
                        on
                    }
                }
            };
            let end = match &end {
                Bound::Included(e) => Bound::Included(e.as_slice()),
                Bound::Excluded(e) => Bound::Excluded(e.as_slice()),
                Bound::Unbounded => Bound::Unbounded,
            };
            while on {
                let stop = c.scan(&mut cur, end, |k, v| {
                    n += 1;
                    f(k, v)
                })?;
                if stop != ScanEnd::Overflow {
                    break;
                }
                // A value in overflow pages: read it, then scan on.
                let Some(k) = cur.key() else { break };
                let len = c.cursor_value_ref(&cur)?.len();
                buf.resize(len, 0);
                c.cursor_value(&cur, 0, &mut buf)?;
                n += 1;
                if !f(k, &buf) {
                    break;
                }
                on = c.cursor_next(&mut cur)?;
            }
            Ok(n)
        })
    }

    /// Inserts or replaces `key` (values up to 4 GiB - 1 bytes). Errors:
    /// `ReadOnly` in a read transaction, `KeyTooLong`, `InvalidArgument`
    /// (a value of 4 GiB or more), `Full`, `Io`.
    pub fn put(&self, key: impl AsRef<[u8]>, value: impl AsRef<[u8]>) -> Result<()> {
        let (key, value) = (key.as_ref(), value.as_ref());
        let t = self.t;
        self.txn.with_key(key, |c| c.put(t, key, value))
    }

    /// Deletes `key`; returns whether it existed. Errors: as [`Table::put`].
    pub fn delete(&self, key: impl AsRef<[u8]>) -> Result<bool> {
        let key = key.as_ref();
        let t = self.t;
        self.txn.with_key(key, |c| c.delete(t, key))
    }

    /// Entries with keys in `range`, in key order; `.rev()` iterates
    /// backward. The bounds are anything `AsRef<[u8]>`:
    /// `t.range("a".."m")`, `t.range(b"a"..=b"m")`,
    /// `t.range(key.as_slice()..)`, `t.range(..)`, a pair of `Bound`s (see
    /// [`KeyRange`]).
    pub fn range(&self, range: impl KeyRange) -> Result<Range<'t>> {
        self.range_owned(bounds(&range))
    }

    /// Entries whose keys start with `prefix`, in key order (sled's
    /// `scan_prefix`).
    pub fn scan_prefix(&self, prefix: impl AsRef<[u8]>) -> Result<Range<'t>> {
        self.range_owned(prefix_bounds(prefix.as_ref()))
    }

    /// Every entry, in key order.
    pub fn iter(&self) -> Result<Range<'t>> {
        self.range_owned((Bound::Unbounded, Bound::Unbounded))
    }

    /// Number of entries: sums the cell counts of the leaf pages without
    /// decoding an entry (as SQLite's `count(*)`). Errors: `Corrupt`, `Io`.
    pub fn len(&self) -> Result<u64> {
        self.count(..)
    }

    /// Number of entries with keys in `range` (bounds as [`Table::range`]'s),
    /// without reading them: only the leaves at the two ends of the range
    /// have their keys compared. Errors: `Corrupt`, `Io`.
    pub fn count(&self, range: impl KeyRange) -> Result<u64> {
        let t = self.t;
        let (start, end) = range.key_bounds();
        self.txn.with(|c| c.count(t, start, end))
    }

    /// The shape of the table's B+tree: depth, branch, leaf and overflow
    /// pages, entries, bytes used (as `mdb_stat` reports an LMDB database).
    /// Visits every branch and leaf page. Errors: `Corrupt`, `Io`.
    pub fn stat(&self) -> Result<walden_core::TreeStats> {
        let t = self.t;
        self.txn.with(|c| c.tree_stats(t))
    }

    /// Whether the table has no entry.
    pub fn is_empty(&self) -> Result<bool> {
        let mut c = CoreCursor::new();
        let t = self.t;
        Ok(!self.txn.with(|conn| conn.cursor_first(&mut c, t))?)
    }

    fn range_owned(&self, b: (Bound<Vec<u8>>, Bound<Vec<u8>>)) -> Result<Range<'t>> {
        Ok(Range {
            txn: self.txn,
            t: self.t,
            start: b.0,
            end: b.1,
            front: None,
            back: None,
            done: false,
        })
    }
}

/// An iterator over a key range: `Result<(key, value)>` items.
pub struct Range<'t> {
    txn: &'t Txn,
    t: walden_core::Table,
    start: Bound<Vec<u8>>,
    end: Bound<Vec<u8>>,
    front: Option<Box<CoreCursor>>,
    back: Option<Box<CoreCursor>>,
    done: bool,
}

impl Range<'_> {
    fn in_end(&self, k: &[u8]) -> bool {
        match &self.end {
            Bound::Included(e) => k <= e.as_slice(),
            Bound::Excluded(e) => k < e.as_slice(),
            Bound::Unbounded => true,
        }
    }
    fn in_start(&self, k: &[u8]) -> bool {
        match &self.start {
            Bound::Included(s) => k >= s.as_slice(),
            Bound::Excluded(s) => k > s.as_slice(),
            Bound::Unbounded => true,
        }
    }

    fn step(&mut self, fwd: bool) -> Result<Option<(Vec<u8>, Vec<u8>)>> {
        let t = self.t;
        let (start, end) = (self.start.clone(), self.end.clone());
        let slot = if fwd { &mut self.front } else { &mut self.back };
        let fresh = slot.is_none();
        let cur = slot.get_or_insert_with(|| Box::new(CoreCursor::new()));
        let on = self.txn.with(|c| {
            if fresh {
                if fwd {
                    match &start {
                        Bound::Unbounded => c.cursor_first(cur, t),
                        Bound::Included(k) => c.cursor_seek(cur, t, k),
                        Bound::Excluded(k) => {
                            let ok = c.cursor_seek(cur, t, k)?;
                            if ok && cur.key() == Some(k.as_slice()) {
                                c.cursor_next(cur)
                            } else {
                                Ok(ok)
                            }
                        }
                    }
                } else {
                    match &end {
                        Bound::Unbounded => c.cursor_last(cur, t),
                        Bound::Included(k) | Bound::Excluded(k) => {
                            let incl = matches!(end, Bound::Included(_));
                            if c.cursor_seek(cur, t, k)? {
                                if incl && cur.key() == Some(k.as_slice()) {
                                    Ok(true)
                                } else {
                                    c.cursor_prev(cur)
                                }
                            } else {
                                c.cursor_last(cur, t)
                            }
                        }
                    }
                }
            } else if fwd {
                c.cursor_next(cur)
            } else {
                c.cursor_prev(cur)
            }
        })?;
        if !on {
            return Ok(None);
        }
        let key = cur.key().map(<[u8]>::to_vec).unwrap_or_default();
        // Stop where the other end has already been.
        let other = if fwd { self.back.as_ref() } else { self.front.as_ref() };
        if let Some(o) = other.and_then(|o| o.key()) {
            if (fwd && key.as_slice() >= o) || (!fwd && key.as_slice() <= o) {
                return Ok(None);
            }
        }
        if (fwd && !self.in_end(&key)) || (!fwd && !self.in_start(&key)) {
            return Ok(None);
        }
        let cur = if fwd { self.front.as_ref() } else { self.back.as_ref() };
        let cur = cur.ok_or(Error::InvalidArgument("cursor"))?;
        let val = self.txn.with(|c| {
            let len = match c.cursor_value_ref(cur)? {
                ValueRef::Inline(v) => return Ok(v.to_vec()),
                ValueRef::Overflow { len } => len,
            };
            let mut v = vec![0u8; len];
            c.cursor_value(cur, 0, &mut v)?;
            Ok(v)
        })?;
        Ok(Some((key, val)))
    }

    fn advance(&mut self, fwd: bool) -> Option<Result<(Vec<u8>, Vec<u8>)>> {
        if self.done {
            return None;
        }
        match self.step(fwd) {
            Ok(Some(kv)) => Some(Ok(kv)),
            Ok(None) => {
                self.done = true;
                None
            }
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }
}

impl Iterator for Range<'_> {
    type Item = Result<(Vec<u8>, Vec<u8>)>;
    fn next(&mut self) -> Option<Self::Item> {
        self.advance(true)
    }
}

impl DoubleEndedIterator for Range<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        self.advance(false)
    }
}

/// A positioned cursor (as LMDB's and SQLite's): `first`, `last`, `seek`,
/// `next`, `prev` return whether it is on an entry; `key` and `value`
/// borrow the current entry until the cursor moves. It survives puts and
/// deletes of its own write transaction (it re-seeks from its key).
pub struct Cursor<'t> {
    txn: &'t Txn,
    t: walden_core::Table,
    c: Box<CoreCursor>,
    key: Vec<u8>,
    val: Vec<u8>,
}

impl Cursor<'_> {
    fn load(&mut self, on: bool) -> Result<bool> {
        self.key.clear();
        self.val.clear();
        if !on {
            return Ok(false);
        }
        self.key.extend_from_slice(self.c.key().unwrap_or_default());
        let c = &self.c;
        let val = &mut self.val;
        self.txn.with(|conn| {
            let len = match conn.cursor_value_ref(c)? {
                ValueRef::Inline(v) => {
                    val.extend_from_slice(v);
                    return Ok(());
                }
                ValueRef::Overflow { len } => len,
            };
            val.resize(len, 0);
            conn.cursor_value(c, 0, val)?;
            Ok(())
        })?;
        Ok(true)
    }
    /// Moves to the first entry; false if the table is empty.
    pub fn first(&mut self) -> Result<bool> {
        let (t, c) = (self.t, &mut self.c);
        let on = self.txn.with(|conn| conn.cursor_first(c, t))?;
        self.load(on)
    }
    /// Moves to the last entry; false if the table is empty.
    pub fn last(&mut self) -> Result<bool> {
        let (t, c) = (self.t, &mut self.c);
        let on = self.txn.with(|conn| conn.cursor_last(c, t))?;
        self.load(on)
    }
    /// Moves to the first entry whose key is >= `key`; false if none.
    pub fn seek(&mut self, key: impl AsRef<[u8]>) -> Result<bool> {
        let key = key.as_ref();
        let (t, c) = (self.t, &mut self.c);
        let on = self.txn.with_key(key, |conn| conn.cursor_seek(c, t, key))?;
        self.load(on)
    }
    /// Moves to the next entry; false past the end (or if not positioned).
    // Named as LMDB's and SQLite's cursor step; not an `Iterator` (it
    // returns whether it moved, and can fail). `Table::range` is the iterator.
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> Result<bool> {
        let c = &mut self.c;
        let on = self.txn.with(|conn| conn.cursor_next(c))?;
        self.load(on)
    }
    /// Moves to the previous entry; false before the start.
    pub fn prev(&mut self) -> Result<bool> {
        let c = &mut self.c;
        let on = self.txn.with(|conn| conn.cursor_prev(c))?;
        self.load(on)
    }
    /// The current key, or `None` when not on an entry.
    pub fn key(&self) -> Option<&[u8]> {
        self.c.is_valid().then_some(self.key.as_slice())
    }
    /// The current value, or `None` when not on an entry.
    pub fn value(&self) -> Option<&[u8]> {
        self.c.is_valid().then_some(self.val.as_slice())
    }
}
