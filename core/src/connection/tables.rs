//! The table, key-value and cursor API of a connection: thin wrappers that
//! check the transaction state and the arguments, bind the pager and run
//! the B+tree (`crate::btree`).

use core::ops::Bound;

use super::{Connection, Mode};
use crate::btree::cursor::{self, Cursor, ScanEnd};
use crate::btree::page::{leaf_cell, MAX_KEY_CAP};
use crate::btree::stat::{self, TreeStats};
use crate::btree::tree::Tree;
use crate::btree::verify::{check_snapshot, VerifyReport};
use crate::error::{corrupt, Error, FileKind, Result};
use crate::format::DbHeader;
use crate::storage::Storage;
use crate::wal::locks::Region;

/// A value as its leaf stores it ([`Connection::lookup`],
/// [`Connection::cursor_value_ref`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueRef<'a> {
    /// The value, borrowed from the page cache.
    Inline(&'a [u8]),
    /// A value in overflow pages: its length in bytes (read it with
    /// [`Connection::read_value`] or [`Connection::cursor_value`]).
    Overflow {
        /// Bytes of the value.
        len: usize,
    },
}

impl ValueRef<'_> {
    /// Length of the value in bytes.
    pub fn len(&self) -> usize {
        match self {
            ValueRef::Inline(v) => v.len(),
            ValueRef::Overflow { len } => *len,
        }
    }
    /// Whether the value is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The value of cell `i` of leaf page `p` (number `leaf`).
fn value_of(p: &[u8], leaf: u32, i: usize) -> Result<ValueRef<'_>> {
    let c = leaf_cell(p, leaf, i)?;
    Ok(match c.ovfl {
        None => ValueRef::Inline(&p[c.val]),
        Some(_) => ValueRef::Overflow { len: c.vlen as usize },
    })
}

/// A table of the open transaction: a handle valid until the transaction
/// ends or a table is dropped in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Table {
    root: u32,
    txn: u32,
}

impl<S: Storage, R: Region, B: AsMut<[u8]>> Connection<S, R, B> {
    // ------------------------------------------------------------------
    // Tables
    // ------------------------------------------------------------------

    fn in_txn(&self) -> Result<()> {
        match self.mode {
            Mode::Idle | Mode::Committing { .. } => Err(Error::InvalidArgument("no transaction is open")),
            Mode::Write { failed: true, .. } => Err(Error::InvalidArgument("the write transaction failed earlier; abort it")),
            _ => Ok(()),
        }
    }

    fn check_table(&self, t: Table) -> Result<u32> {
        self.in_txn()?;
        if t.txn != self.txn {
            return Err(Error::InvalidArgument(
                "table handle from another transaction (or its table was dropped)",
            ));
        }
        Ok(t.root)
    }

    fn check_key(&self, key: &[u8]) -> Result<()> {
        if key.len() > self.max_key_len() {
            return Err(Error::InvalidArgument("key longer than max_key_len(page_size)"));
        }
        Ok(())
    }

    /// The default (unnamed) table, which every database has.
    pub fn default_table(&mut self) -> Result<Table> {
        let h = self.header()?;
        Ok(Table {
            root: h.default_root,
            txn: self.txn,
        })
    }

    /// The table named `name`, or `None`. Names are byte strings of 1 to
    /// `max_key_len` bytes.
    pub fn table(&mut self, name: &[u8]) -> Result<Option<Table>> {
        self.in_txn()?;
        if name.is_empty() {
            return Err(Error::InvalidArgument("empty table name"));
        }
        self.check_key(name)?;
        let r = (|| {
            let (mut pg, scr) = self.parts()?;
            let cat = pg.header()?.catalog_root;
            let mut t = Tree { pg: &mut pg, scr };
            let Some((leaf, i)) = t.find(cat, name)? else { return Ok(None) };
            let mut b = [0u8; 4];
            if t.read_value(leaf, i, 0, &mut b)? != 4 {
                return Err(corrupt(FileKind::Database, leaf, "catalog entry is not a page number"));
            }
            Ok(Some(u32::from_le_bytes(b)))
        })();
        let Some(root) = self.poison_on_io(r)? else { return Ok(None) };
        Ok(Some(Table { root, txn: self.txn }))
    }

    /// The table named `name`, created (empty) if missing. Write transaction
    /// only.
    pub fn create_table(&mut self, name: &[u8]) -> Result<Table> {
        if let Some(t) = self.table(name)? {
            return Ok(t);
        }
        self.write_state()?;
        let r = (|| {
            let (mut pg, scr) = self.parts()?;
            let cat = pg.header()?.catalog_root;
            let mut t = Tree { pg: &mut pg, scr };
            let root = t.create()?;
            t.insert(cat, name, &root.to_le_bytes())?;
            Ok(root)
        })();
        let root = self.fail_txn(r)?;
        self.gen = self.gen.wrapping_add(1);
        Ok(Table { root, txn: self.txn })
    }

    /// Drops the table named `name` and frees its pages; returns whether it
    /// existed. Invalidates every `Table` handle of the transaction. Write
    /// transaction only.
    pub fn drop_table(&mut self, name: &[u8]) -> Result<bool> {
        self.write_state()?;
        let Some(t) = self.table(name)? else { return Ok(false) };
        let r = (|| {
            let (mut pg, scr) = self.parts()?;
            let cat = pg.header()?.catalog_root;
            let mut tr = Tree { pg: &mut pg, scr };
            tr.delete(cat, name)?;
            tr.free_tree(t.root)
        })();
        self.fail_txn(r)?;
        self.txn = self.txn.wrapping_add(1);
        self.gen = self.gen.wrapping_add(1);
        Ok(true)
    }

    /// The catalog as a table: keys are table names, values their root page
    /// (4 bytes LE). Read it with a cursor to list tables.
    pub fn catalog(&mut self) -> Result<Table> {
        let h = self.header()?;
        Ok(Table {
            root: h.catalog_root,
            txn: self.txn,
        })
    }

    // ------------------------------------------------------------------
    // Keys and values
    // ------------------------------------------------------------------

    /// Copies the value of `key` into `out`; returns its length in bytes, or
    /// `None` if absent. Errors: `BufferTooSmall { needed }` when `out` is
    /// shorter than the value (nothing copied), `InvalidArgument` (key too
    /// long, stale table), `Corrupt`, `Io`, and in a write transaction
    /// `Full`: a read that must bring a page into a cache whose every page
    /// is dirty spills one to the WAL, which may be at `max_wal_frames`
    /// (the transaction stays usable). The same errors apply to
    /// [`Connection::value_len`], [`Connection::read_value`], the cursor
    /// methods and [`Connection::verify`].
    pub fn get(&mut self, t: Table, key: &[u8], out: &mut [u8]) -> Result<Option<usize>> {
        let root = self.check_table(t)?;
        self.check_key(key)?;
        let r = (|| {
            let (mut pg, scr) = self.parts()?;
            let mut tr = Tree { pg: &mut pg, scr };
            let Some((leaf, i)) = tr.find(root, key)? else { return Ok(None) };
            let p = tr.pg.read(leaf)?;
            let len = leaf_cell(p, leaf, i)?.vlen as usize;
            if out.len() < len {
                return Err(Error::BufferTooSmall { needed: len });
            }
            tr.read_value(leaf, i, 0, &mut out[..len]).map(Some)
        })();
        self.poison_on_io(r)
    }

    /// The value of `key` as it is stored, in one descent of the tree:
    /// [`ValueRef::Inline`] borrows it from the page cache (no copy), until
    /// the next call on the connection; a value in overflow pages comes back
    /// as its length, to read with [`Connection::read_value`]. `None` if the
    /// key is absent. Errors: as [`Connection::get`].
    pub fn lookup(&mut self, t: Table, key: &[u8]) -> Result<Option<ValueRef<'_>>> {
        let root = self.check_table(t)?;
        self.check_key(key)?;
        let r = (|| {
            let (mut pg, scr) = self.parts()?;
            Tree { pg: &mut pg, scr }.find_slot(root, key)
        })();
        let Some((leaf, slot, i)) = self.poison_on_io(r)? else {
            return Ok(None);
        };
        // The leaf is still in that slot: nothing was loaded since.
        let (pg, _) = self.parts()?;
        let p = pg.into_slot(slot);
        value_of(p, leaf, i).map(Some)
    }

    /// The value of cell `i` of leaf `leaf`, which the caller just read (so
    /// this is a cache hit).
    fn value_ref(&mut self, leaf: u32, i: usize) -> Result<ValueRef<'_>> {
        let (pg, _) = self.parts()?;
        value_of(pg.into_page(leaf)?, leaf, i)
    }

    /// Length in bytes of the value of `key`, or `None` if absent.
    pub fn value_len(&mut self, t: Table, key: &[u8]) -> Result<Option<usize>> {
        let root = self.check_table(t)?;
        self.check_key(key)?;
        let r = (|| {
            let (mut pg, scr) = self.parts()?;
            let mut tr = Tree { pg: &mut pg, scr };
            let Some((leaf, i)) = tr.find(root, key)? else { return Ok(None) };
            let p = tr.pg.read(leaf)?;
            Ok(Some(leaf_cell(p, leaf, i)?.vlen as usize))
        })();
        self.poison_on_io(r)
    }

    /// Copies up to `out.len()` bytes of the value of `key` starting at byte
    /// `offset` of the value; returns the bytes copied (0 past the end), or
    /// `None` if the key is absent. Reads a large value piece by piece.
    pub fn read_value(&mut self, t: Table, key: &[u8], offset: usize, out: &mut [u8]) -> Result<Option<usize>> {
        let root = self.check_table(t)?;
        self.check_key(key)?;
        let r = (|| {
            let (mut pg, scr) = self.parts()?;
            let mut tr = Tree { pg: &mut pg, scr };
            let Some((leaf, i)) = tr.find(root, key)? else { return Ok(None) };
            tr.read_value(leaf, i, offset, out).map(Some)
        })();
        self.poison_on_io(r)
    }

    /// Inserts or replaces `key` with `value` (up to 4 GiB - 1 bytes; values
    /// too large for a page go to overflow pages). Write transaction only.
    /// Errors: `ReadOnly`, `InvalidArgument` (key longer than
    /// [`Connection::max_key_len`], value of 4 GiB or more, stale table),
    /// `Full`, `Io`, `Corrupt`. After an error other than `InvalidArgument`,
    /// the transaction can only be aborted.
    pub fn put(&mut self, t: Table, key: &[u8], value: &[u8]) -> Result<()> {
        self.write_state()?;
        let root = self.check_table(t)?;
        self.check_key(key)?;
        if value.len() > u32::MAX as usize {
            return Err(Error::InvalidArgument("value of 4 GiB or more"));
        }
        let r = (|| {
            let (mut pg, scr) = self.parts()?;
            Tree { pg: &mut pg, scr }.insert(root, key, value)
        })();
        self.gen = self.gen.wrapping_add(1);
        self.fail_txn(r)
    }

    /// Deletes `key`; returns whether it was present. Write transaction only.
    pub fn delete(&mut self, t: Table, key: &[u8]) -> Result<bool> {
        self.write_state()?;
        let root = self.check_table(t)?;
        self.check_key(key)?;
        let r = (|| {
            let (mut pg, scr) = self.parts()?;
            Tree { pg: &mut pg, scr }.delete(root, key)
        })();
        self.gen = self.gen.wrapping_add(1);
        self.fail_txn(r)
    }

    // ------------------------------------------------------------------
    // Cursors
    // ------------------------------------------------------------------

    fn cursor_prep<const K: usize>(&mut self, c: &mut Cursor<K>, t: Table) -> Result<()> {
        if K < self.max_key_len() {
            return Err(Error::InvalidArgument("cursor key capacity below max_key_len(page_size)"));
        }
        c.root = self.check_table(t)?;
        c.txn = self.txn;
        c.gen = self.gen;
        c.valid = false;
        Ok(())
    }

    /// Positions `c` on the first entry of `t`; returns false if `t` is empty.
    /// Errors of this and every cursor method: as [`Connection::get`];
    /// `InvalidArgument` for a cursor whose key capacity `K` is below
    /// [`Connection::max_key_len`].
    // Never inlined (nor are the other positioning calls): the pager's
    // temporaries would otherwise stay in the caller's frame, beside its
    // cursor, while it scans.
    #[inline(never)]
    pub fn cursor_first<const K: usize>(&mut self, c: &mut Cursor<K>, t: Table) -> Result<bool> {
        self.cursor_prep(c, t)?;
        let r = (|| {
            let (mut pg, _) = self.parts()?;
            cursor::first(&mut pg, c)
        })();
        self.poison_on_io(r)
    }

    /// Positions `c` on the last entry of `t`; returns false if `t` is empty.
    pub fn cursor_last<const K: usize>(&mut self, c: &mut Cursor<K>, t: Table) -> Result<bool> {
        self.cursor_prep(c, t)?;
        let r = (|| {
            let (mut pg, _) = self.parts()?;
            cursor::last(&mut pg, c)
        })();
        self.poison_on_io(r)
    }

    /// Positions `c` on the first entry of `t` whose key is >= `key`; returns
    /// false if there is none.
    pub fn cursor_seek<const K: usize>(&mut self, c: &mut Cursor<K>, t: Table, key: &[u8]) -> Result<bool> {
        self.check_key(key)?;
        self.cursor_prep(c, t)?;
        let r = (|| {
            let (mut pg, _) = self.parts()?;
            cursor::seek(&mut pg, c, key)
        })();
        self.poison_on_io(r)
    }

    fn cursor_move<const K: usize>(&mut self, c: &mut Cursor<K>, fwd: bool) -> Result<bool> {
        self.in_txn()?;
        if !c.valid {
            return Ok(false);
        }
        if c.txn != self.txn {
            return Err(Error::InvalidArgument("cursor from another transaction"));
        }
        let gen = self.gen;
        let r = (|| {
            let (mut pg, _) = self.parts()?;
            if c.gen != gen {
                c.gen = gen;
                let on_key = cursor::resync(&mut pg, c)?;
                if !c.valid {
                    // Nothing at or after the saved key.
                    return if fwd { Ok(false) } else { cursor::last(&mut pg, c) };
                }
                if !on_key && fwd {
                    return Ok(true);
                }
            }
            cursor::step(&mut pg, c, fwd)
        })();
        self.poison_on_io(r)
    }

    /// Moves `c` to the next entry; returns false past the end.
    pub fn cursor_next<const K: usize>(&mut self, c: &mut Cursor<K>) -> Result<bool> {
        self.cursor_move(c, true)
    }

    /// Moves `c` to the previous entry; returns false before the start.
    pub fn cursor_prev<const K: usize>(&mut self, c: &mut Cursor<K>) -> Result<bool> {
        self.cursor_move(c, false)
    }

    /// Length in bytes of the value under `c`.
    pub fn cursor_value_len<const K: usize>(&mut self, c: &Cursor<K>) -> Result<usize> {
        self.in_txn()?;
        let (leaf, i) = c.leaf().ok_or(Error::InvalidArgument("cursor is not on an entry"))?;
        if c.gen != self.gen || c.txn != self.txn {
            return Err(Error::InvalidArgument("cursor moved by a modification; step it first"));
        }
        let r = (|| {
            let (mut pg, _) = self.parts()?;
            let p = pg.read(leaf)?;
            Ok(leaf_cell(p, leaf, i)?.vlen as usize)
        })();
        self.poison_on_io(r)
    }

    /// Calls `f(key, value)` for the entries from `c`'s position on, in key
    /// order, up to `end`, borrowing keys and values from the page cache
    /// (each leaf is read once; nothing is copied): the fast way to scan a
    /// range. Stops early when `f` returns `false` or at a value stored in
    /// overflow pages, which `f` does not see: the [`ScanEnd`] says which,
    /// and the cursor is left there (read the value with
    /// [`Connection::cursor_value`], step, and scan on). Errors: as
    /// [`Connection::get`]; `InvalidArgument` when `c` is not on an entry
    /// of this transaction.
    pub fn scan<const K: usize>(
        &mut self,
        c: &mut Cursor<K>,
        end: Bound<&[u8]>,
        mut f: impl FnMut(&[u8], &[u8]) -> bool,
    ) -> Result<ScanEnd> {
        self.scan_dyn(c, end, &mut f)
    }

    /// [`Connection::scan`] for any callback: one copy of its code
    /// whatever the callbacks a program passes (a shim per closure type).
    #[inline(never)]
    fn scan_dyn<const K: usize>(
        &mut self,
        c: &mut Cursor<K>,
        end: Bound<&[u8]>,
        f: &mut dyn FnMut(&[u8], &[u8]) -> bool,
    ) -> Result<ScanEnd> {
        self.in_txn()?;
        if !c.valid {
            return Ok(ScanEnd::Done);
        }
        if c.gen != self.gen || c.txn != self.txn {
            return Err(Error::InvalidArgument("cursor moved by a modification; step it first"));
        }
        let r = (|| {
            let (mut pg, _) = self.parts()?;
            cursor::scan(&mut pg, c, end, f)
        })();
        self.poison_on_io(r)
    }

    /// The value under `c` as it is stored (see [`Connection::lookup`]).
    pub fn cursor_value_ref<const K: usize>(&mut self, c: &Cursor<K>) -> Result<ValueRef<'_>> {
        self.in_txn()?;
        let (leaf, i) = c.leaf().ok_or(Error::InvalidArgument("cursor is not on an entry"))?;
        if c.gen != self.gen || c.txn != self.txn {
            return Err(Error::InvalidArgument("cursor moved by a modification; step it first"));
        }
        self.value_ref(leaf, i)
    }

    /// Copies value bytes under `c` from `offset` into `out`; returns bytes
    /// copied.
    pub fn cursor_value<const K: usize>(&mut self, c: &Cursor<K>, offset: usize, out: &mut [u8]) -> Result<usize> {
        self.cursor_value_len(c)?;
        let (leaf, i) = c.leaf().ok_or(Error::InvalidArgument("cursor is not on an entry"))?;
        let r = (|| {
            let (mut pg, scr) = self.parts()?;
            Tree { pg: &mut pg, scr }.read_value(leaf, i, offset, out)
        })();
        self.poison_on_io(r)
    }

    /// Checks the integrity of the open transaction's snapshot (see
    /// [`crate::verify`]). `bitmap` is scratch memory of at least
    /// [`crate::verify::bitmap_len`]`(page count)` bytes. Problems are in the
    /// report; errors are only `InvalidArgument` (no transaction, bitmap too
    /// small), `Io`, `Poisoned`.
    pub fn verify(&mut self, bitmap: &mut [u8]) -> Result<VerifyReport> {
        self.verify_sized::<MAX_KEY_CAP>(bitmap)
    }

    /// [`Connection::verify`] with key buffers of `K` bytes on the stack
    /// (three of them) instead of [`MAX_KEY_CAP`]: firmware passes
    /// `max_key_len(page_size)`. `InvalidArgument` if `K` is below
    /// [`Connection::max_key_len`].
    pub fn verify_sized<const K: usize>(&mut self, bitmap: &mut [u8]) -> Result<VerifyReport> {
        self.in_txn()?;
        if K < self.max_key_len() {
            return Err(Error::InvalidArgument("verify key capacity below max_key_len(page_size)"));
        }
        let (mut pg, _) = self.parts()?;
        check_snapshot::<S, K>(&mut pg, bitmap)
    }

    /// The number of entries of `t` whose keys lie within `(start, end)`
    /// (`Bound::Unbounded` both ways: every entry), as the open transaction
    /// sees them. Sums leaf cell counts without decoding the entries: reads
    /// the leaves of the range and the branch pages above them, compares
    /// keys only at the two ends. Errors: as [`Connection::get`] (a bound
    /// longer than the maximum key is accepted).
    pub fn count(&mut self, t: Table, start: Bound<&[u8]>, end: Bound<&[u8]>) -> Result<u64> {
        let root = self.check_table(t)?;
        let r = (|| {
            let (mut pg, _) = self.parts()?;
            stat::count(&mut pg, root, start, end)
        })();
        self.poison_on_io(r)
    }

    /// The shape of the tree of `t` (depth, pages by type, bytes used; see
    /// [`TreeStats`]), visiting each of its branch and leaf pages once.
    /// Errors: as [`Connection::get`].
    pub fn tree_stats(&mut self, t: Table) -> Result<TreeStats> {
        let root = self.check_table(t)?;
        let r = (|| {
            let (mut pg, _) = self.parts()?;
            stat::tree_stats(&mut pg, root)
        })();
        self.poison_on_io(r)
    }

    /// The database header as the open transaction sees it.
    pub fn header(&mut self) -> Result<DbHeader> {
        self.in_txn()?;
        let r = (|| {
            let (mut pg, _) = self.parts()?;
            pg.header()
        })();
        self.poison_on_io(r)
    }
}
