//! Cursors: ordered iteration forward and backward from any key.
//!
//! A cursor is a path from a tree's root to a leaf cell (a fixed-capacity
//! stack of page numbers and cell indexes) plus a copy of the current key.
//! It holds no page borrowed: every step reads pages through the
//! connection's pager. If the tree was modified since the cursor last moved
//! (in a write transaction), the next step re-seeks from the saved key, so a
//! cursor survives puts and deletes of its own transaction.

use crate::btree::page::{self, child_at, ncells, search_branch, search_leaf, MAX_DEPTH, MAX_KEY_CAP, PT_LEAF};
use crate::error::{corrupt, Error, FileKind, Result};
use crate::pager::Pager;
use crate::storage::Storage;

/// A position in a table. Create one with [`Cursor::new`] (or
/// [`Cursor::sized`]) and move it with the connection's `cursor_*` methods.
///
/// `K` is the capacity of the key copy, in bytes: at least the database's
/// [`crate::max_key_len`]`(page_size)` (the `cursor_*` methods refuse a
/// smaller cursor with `InvalidArgument`). The default, [`MAX_KEY_CAP`], fits
/// every page size, and the cursor is then about 2.3 KiB; firmware sizes it
/// to its page size, `Cursor<{ max_key_len(512) }>` being about 0.4 KiB.
#[derive(Debug, Clone)]
pub struct Cursor<const K: usize = MAX_KEY_CAP> {
    pub(crate) stack: heapless::Vec<(u32, u16), MAX_DEPTH>,
    pub(crate) root: u32,
    pub(crate) txn: u32,
    pub(crate) gen: u32,
    pub(crate) key: heapless::Vec<u8, K>,
    pub(crate) valid: bool,
}

impl Default for Cursor {
    fn default() -> Self {
        Self::new()
    }
}

impl Cursor {
    /// An unpositioned cursor for any page size (key capacity
    /// [`MAX_KEY_CAP`]).
    pub const fn new() -> Self {
        Self::sized()
    }
}

impl<const K: usize> Cursor<K> {
    /// An unpositioned cursor with a key capacity of `K` bytes (at least
    /// `max_key_len(page_size)` of the database it is used on).
    pub const fn sized() -> Self {
        Cursor {
            stack: heapless::Vec::new(),
            root: 0,
            txn: 0,
            gen: 0,
            key: heapless::Vec::new(),
            valid: false,
        }
    }
    /// Whether the cursor is on an entry.
    pub fn is_valid(&self) -> bool {
        self.valid
    }
    /// The key of the current entry, or `None` when not on an entry.
    pub fn key(&self) -> Option<&[u8]> {
        self.valid.then_some(&self.key[..])
    }
    /// The leaf page and cell the cursor is on.
    pub(crate) fn leaf(&self) -> Option<(u32, usize)> {
        if !self.valid {
            return None;
        }
        self.stack.last().map(|&(p, i)| (p, i as usize))
    }
}

fn push<const K: usize>(c: &mut Cursor<K>, pgno: u32, i: usize) -> Result<()> {
    c.stack
        .push((pgno, i as u16))
        .map_err(|_| corrupt(FileKind::Database, pgno, "tree too deep (page cycle)"))
}

/// Copies the key at the cursor's leaf position; marks the cursor valid.
fn load_key<S: Storage, const K: usize>(pg: &mut Pager<'_, S>, c: &mut Cursor<K>) -> Result<()> {
    let Some(&(pgno, i)) = c.stack.last() else {
        c.valid = false;
        return Ok(());
    };
    let p = pg.read(pgno)?;
    set_key(c, p, pgno, i as usize)
}

/// Copies the key of cell `i` of leaf `p` (page `pgno`) into the cursor;
/// marks it valid.
fn set_key<const K: usize>(c: &mut Cursor<K>, p: &[u8], pgno: u32, i: usize) -> Result<()> {
    let k = page::leaf_key(p, pgno, i)?;
    c.key.clear();
    c.key
        .extend_from_slice(k)
        .map_err(|_| corrupt(FileKind::Database, pgno, "key longer than the maximum"))?;
    c.valid = true;
    Ok(())
}

/// Descends from `pgno` to the first (`last == false`) or last leaf entry.
fn descend<S: Storage, const K: usize>(pg: &mut Pager<'_, S>, c: &mut Cursor<K>, mut pgno: u32, last: bool) -> Result<bool> {
    for _ in 0..MAX_DEPTH {
        let p = pg.read(pgno)?;
        page::check_header(p, pgno)?;
        let n = ncells(p);
        if p.first() == Some(&PT_LEAF) {
            if n == 0 {
                push(c, pgno, 0)?;
                c.valid = false;
                return Ok(false);
            }
            push(c, pgno, if last { n - 1 } else { 0 })?;
            load_key(pg, c)?;
            return Ok(true);
        }
        let i = if last { n } else { 0 };
        let child = child_at(p, pgno, i)?;
        push(c, pgno, i)?;
        pgno = child;
    }
    Err(corrupt(FileKind::Database, pgno, "tree too deep (page cycle)"))
}

pub(crate) fn first<S: Storage, const K: usize>(pg: &mut Pager<'_, S>, c: &mut Cursor<K>) -> Result<bool> {
    c.stack.clear();
    descend(pg, c, c.root, false)
}

pub(crate) fn last<S: Storage, const K: usize>(pg: &mut Pager<'_, S>, c: &mut Cursor<K>) -> Result<bool> {
    c.stack.clear();
    descend(pg, c, c.root, true)
}

/// Positions at the first entry with key >= `key`.
pub(crate) fn seek<S: Storage, const K: usize>(pg: &mut Pager<'_, S>, c: &mut Cursor<K>, key: &[u8]) -> Result<bool> {
    c.stack.clear();
    let mut pgno = c.root;
    for _ in 0..MAX_DEPTH {
        let p = pg.read(pgno)?;
        page::check_header(p, pgno)?;
        if p.first() == Some(&PT_LEAF) {
            let (i, _) = search_leaf(p, pgno, key)?;
            let n = ncells(p);
            if i < n {
                push(c, pgno, i)?;
                load_key(pg, c)?;
                return Ok(true);
            }
            push(c, pgno, n.saturating_sub(1))?;
            c.valid = n > 0;
            if n == 0 {
                return Ok(false);
            }
            return step(pg, c, true);
        }
        let i = search_branch(p, pgno, key)?;
        let child = child_at(p, pgno, i)?;
        push(c, pgno, i)?;
        pgno = child;
    }
    Err(corrupt(FileKind::Database, pgno, "tree too deep (page cycle)"))
}

/// Moves one entry forward (`fwd`) or backward from a valid leaf position.
pub(crate) fn step<S: Storage, const K: usize>(pg: &mut Pager<'_, S>, c: &mut Cursor<K>, fwd: bool) -> Result<bool> {
    let Some(&(pgno, i)) = c.stack.last() else {
        c.valid = false;
        return Ok(false);
    };
    let p = pg.read(pgno)?;
    let n = ncells(p);
    let i = i as usize;
    // The common case: the next entry is in the same leaf (one page read).
    let next = if fwd {
        (i + 1 < n).then_some(i + 1)
    } else {
        (i > 0 && i <= n).then(|| i - 1)
    };
    if let Some(j) = next {
        set_key(c, p, pgno, j)?;
        if let Some(top) = c.stack.last_mut() {
            top.1 = j as u16;
        }
        return Ok(true);
    }
    // Climb to the first ancestor with a sibling in that direction.
    c.stack.pop();
    while let Some((bp, bi)) = c.stack.pop() {
        let p = pg.read(bp)?;
        let n = ncells(p);
        let bi = bi as usize;
        let next = if fwd {
            (bi < n).then_some(bi + 1)
        } else {
            (bi > 0).then(|| bi - 1)
        };
        if let Some(ni) = next {
            let child = child_at(p, bp, ni)?;
            push(c, bp, ni)?;
            return descend(pg, c, child, !fwd);
        }
    }
    c.valid = false;
    Ok(false)
}

/// How a scan ([`crate::Connection::scan`]) ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScanEnd {
    /// Past the end bound or the last entry: the cursor is not on an entry.
    Done,
    /// The callback returned `false`: the cursor is on the entry it got
    /// last.
    Stopped,
    /// The cursor is on an entry whose value is in overflow pages; the
    /// callback has not seen it (read it with the connection's
    /// `cursor_value`, then step on).
    Overflow,
}

/// Calls `f(key, value)` for the entries from the cursor's position on, in
/// key order, reading each leaf once and copying nothing, until an entry
/// past `end`, the end of the tree, `f` returning `false`, or a value in
/// overflow pages (see [`ScanEnd`]).
pub(crate) fn scan<S: Storage, const K: usize>(
    pg: &mut Pager<'_, S>,
    c: &mut Cursor<K>,
    end: core::ops::Bound<&[u8]>,
    f: &mut dyn FnMut(&[u8], &[u8]) -> bool,
) -> Result<ScanEnd> {
    use core::ops::Bound;
    while c.valid {
        let Some(&(pgno, i)) = c.stack.last() else { break };
        let p = pg.read(pgno)?;
        let n = ncells(p);
        let mut j = i as usize;
        while j < n {
            let cell = page::leaf_cell(p, pgno, j)?;
            let key = page::bytes(p, cell.key.clone())?;
            let past = match end {
                Bound::Included(e) => page::cmp_keys(key, e) == core::cmp::Ordering::Greater,
                Bound::Excluded(e) => page::cmp_keys(key, e) != core::cmp::Ordering::Less,
                Bound::Unbounded => false,
            };
            if past {
                c.valid = false;
                return Ok(ScanEnd::Done);
            }
            let stop = if cell.ovfl.is_some() {
                Some(ScanEnd::Overflow)
            } else if !f(key, page::bytes(p, cell.val)?) {
                Some(ScanEnd::Stopped)
            } else {
                None
            };
            if let Some(e) = stop {
                set_key(c, p, pgno, j)?;
                if let Some(top) = c.stack.last_mut() {
                    top.1 = j as u16;
                }
                return Ok(e);
            }
            j += 1;
        }
        // On to the next leaf, from the last entry of this one.
        if n == 0 {
            break;
        }
        set_key(c, p, pgno, n - 1)?;
        if let Some(top) = c.stack.last_mut() {
            top.1 = (n - 1) as u16;
        }
        if !step(pg, c, true)? {
            return Ok(ScanEnd::Done);
        }
    }
    c.valid = false;
    Ok(ScanEnd::Done)
}

/// Re-positions a cursor whose tree changed since it moved: on the saved key
/// if still present, else on the next entry (`fwd`) or the previous one.
/// Returns whether the cursor is now exactly on the saved key.
pub(crate) fn resync<S: Storage, const K: usize>(pg: &mut Pager<'_, S>, c: &mut Cursor<K>) -> Result<bool> {
    let mut saved = heapless::Vec::<u8, K>::new();
    saved.extend_from_slice(&c.key).map_err(|_| Error::InvalidArgument("cursor key"))?;
    if !seek(pg, c, &saved)? {
        return Ok(false);
    }
    Ok(c.key[..] == saved[..])
}
