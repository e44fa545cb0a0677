//! The integrity check: walks every tree and the freelist of a snapshot and
//! reports what is wrong, as SQLite's `PRAGMA integrity_check`.
//!
//! Checked: every reachable page's checksum and type; key order within and
//! across pages (and against branch separators); overflow chains (type,
//! length); the freelist (trunk types, entry ranges); that no page is owned
//! twice; that no page is leaked (every page from 2 to the page count is in
//! exactly one tree, overflow chain or the freelist); that the header's free
//! page count matches the freelist. Problems go into the report; only
//! errors that stop the walk itself (I/O) are returned as errors.

use crate::btree::cursor::{self, Cursor};
use crate::btree::freelist::trunk_capacity;
use crate::btree::page::{
    self, branch_cell, child_at, leaf_cell, ncells, right_child, MAX_DEPTH, OVFL_HEADER, PT_BRANCH, PT_FREELIST, PT_LEAF, PT_OVERFLOW,
};
use crate::error::{Error, Result};
use crate::format::{get_u32, PAGE_TRAILER};
use crate::pager::Pager;
use crate::storage::Storage;

/// Problems kept in a report (the count goes on).
pub const MAX_PROBLEMS: usize = 16;

/// One problem the integrity check found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Problem {
    /// The page concerned (0: the database as a whole).
    pub page: u32,
    /// What is wrong.
    pub what: &'static str,
}

/// The result of the integrity check ([`crate::Connection::verify`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VerifyReport {
    /// Pages in the database (the header's page count).
    pub pages: u32,
    /// B+tree pages (leaf and branch) of every tree, the catalog included.
    pub tree_pages: u32,
    /// Overflow pages.
    pub overflow_pages: u32,
    /// Freelist pages (trunks and entries).
    pub freelist_pages: u32,
    /// Named tables.
    pub tables: u32,
    /// Entries in the default and named tables.
    pub entries: u64,
    /// Problems found (all of them counted).
    pub problem_count: u32,
    /// The first [`MAX_PROBLEMS`] problems.
    pub problems: heapless::Vec<Problem, MAX_PROBLEMS>,
}

impl VerifyReport {
    /// Whether no problem was found.
    pub fn is_ok(&self) -> bool {
        self.problem_count == 0
    }
    fn problem(&mut self, page: u32, what: &'static str) {
        self.problem_count += 1;
        let _ = self.problems.push(Problem { page, what });
    }
}

/// Bytes of bitmap the check needs for a database of `pages` pages.
pub const fn bitmap_len(pages: u32) -> usize {
    (pages as usize).div_ceil(8) + 1
}

/// The walk's state; `K` is the capacity of its two key buffers (at least
/// `max_key_len(page_size)`, which the connection checks).
struct Walk<'v, 'a, S: Storage, const K: usize> {
    pg: &'v mut Pager<'a, S>,
    seen: &'v mut [u8],
    rep: VerifyReport,
    keys: KeyOrder<K>,
}

/// Key order across leaves: the last key seen and a pending lower bound.
struct KeyOrder<const K: usize> {
    last: heapless::Vec<u8, K>,
    have_last: bool,
    lower: heapless::Vec<u8, K>,
    have_lower: bool,
}

fn io_only<T>(r: Result<T>) -> Result<Option<T>> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(e @ (Error::Io { .. } | Error::Poisoned)) => Err(e),
        Err(_) => Ok(None),
    }
}

impl<'v, 'a, S: Storage, const K: usize> Walk<'v, 'a, S, K> {
    fn new(pg: &'v mut Pager<'a, S>, seen: &'v mut [u8], pages: u32) -> Self {
        seen.fill(0);
        let rep = VerifyReport {
            pages,
            ..VerifyReport::default()
        };
        Walk {
            pg,
            seen,
            rep,
            keys: KeyOrder {
                last: heapless::Vec::new(),
                have_last: false,
                lower: heapless::Vec::new(),
                have_lower: false,
            },
        }
    }

    /// Marks `pgno` owned; false (and a problem) if out of range or owned twice.
    fn claim(&mut self, pgno: u32) -> bool {
        if pgno < 2 || pgno > self.rep.pages {
            self.rep.problem(pgno, "page number out of range");
            return false;
        }
        let (b, m) = (pgno as usize / 8, 1u8 << (pgno % 8));
        if self.seen[b] & m != 0 {
            self.rep.problem(pgno, "page owned twice");
            return false;
        }
        self.seen[b] |= m;
        true
    }

    /// Walks one tree; counts its entries (for a table tree).
    fn tree(&mut self, root: u32) -> Result<u64> {
        self.keys.have_last = false;
        self.keys.have_lower = false;
        self.node(root, 0)
    }

    fn node(&mut self, pgno: u32, depth: usize) -> Result<u64> {
        if depth >= MAX_DEPTH {
            self.rep.problem(pgno, "tree too deep (page cycle)");
            return Ok(0);
        }
        if !self.claim(pgno) {
            return Ok(0);
        }
        let Some(p) = io_only(self.pg.read(pgno))? else {
            self.rep.problem(pgno, "page fails its checksum or cannot be read");
            return Ok(0);
        };
        if page::check_header(p, pgno).is_err() {
            self.rep.problem(pgno, "not a valid B+tree page");
            return Ok(0);
        }
        self.rep.tree_pages += 1;
        let n = ncells(p);
        if p[0] == PT_LEAF {
            for i in 0..n {
                let p = self.pg.read(pgno)?;
                let Ok(c) = leaf_cell(p, pgno, i) else {
                    self.rep.problem(pgno, "leaf cell out of bounds");
                    return Ok(i as u64);
                };
                self.keys.note(&mut self.rep, pgno, &p[c.key.clone()]);
                if let Some(first) = c.ovfl {
                    self.overflow(first, c.vlen)?;
                }
            }
            return Ok(n as u64);
        }
        debug_assert_eq!(p[0], PT_BRANCH);
        let mut entries = 0;
        for i in 0..=n {
            let p = self.pg.read(pgno)?;
            let Ok(child) = child_at(p, pgno, i) else {
                self.rep.problem(pgno, "branch child out of range");
                return Ok(entries);
            };
            if i == n && right_child(p) == 0 {
                break;
            }
            entries += self.node(child, depth + 1)?;
            if i < n {
                let p = self.pg.read(pgno)?;
                let Ok((_, kr, _)) = branch_cell(p, pgno, i) else {
                    self.rep.problem(pgno, "branch cell out of bounds");
                    return Ok(entries);
                };
                let sep = &p[kr];
                let k = &mut self.keys;
                if k.have_last && &k.last[..] >= sep {
                    self.rep.problem(pgno, "key at or above its branch separator");
                }
                k.lower.clear();
                let _ = k.lower.extend_from_slice(sep);
                k.have_lower = true;
            }
        }
        Ok(entries)
    }

    fn overflow(&mut self, first: u32, vlen: u32) -> Result<()> {
        let cap = self.pg.page_size() - PAGE_TRAILER - OVFL_HEADER;
        let pages = (vlen as usize).div_ceil(cap);
        let mut pgno = first;
        for k in 0..pages {
            if !self.claim(pgno) {
                return Ok(());
            }
            let Some(p) = io_only(self.pg.read(pgno))? else {
                self.rep.problem(pgno, "overflow page fails its checksum");
                return Ok(());
            };
            if p[0] != PT_OVERFLOW {
                self.rep.problem(pgno, "overflow chain reaches a non-overflow page");
                return Ok(());
            }
            self.rep.overflow_pages += 1;
            let next = get_u32(p, 4);
            if k + 1 < pages && next == 0 {
                self.rep.problem(pgno, "overflow chain shorter than the value");
                return Ok(());
            }
            pgno = next;
        }
        Ok(())
    }

    /// Walks the freelist; returns the pages on it.
    fn freelist(&mut self, head: u32) -> Result<u32> {
        let cap = trunk_capacity(self.pg.page_size());
        let mut trunk = head;
        let mut count = 0;
        while trunk != 0 {
            if !self.claim(trunk) {
                return Ok(count);
            }
            let Some(p) = io_only(self.pg.read(trunk))? else {
                self.rep.problem(trunk, "freelist trunk fails its checksum");
                return Ok(count);
            };
            if p[0] != PT_FREELIST {
                self.rep.problem(trunk, "freelist trunk has wrong page type");
                return Ok(count);
            }
            let next = get_u32(p, 4);
            let n = get_u32(p, 8) as usize;
            if n > cap {
                self.rep.problem(trunk, "freelist trunk count out of range");
                return Ok(count);
            }
            count += 1;
            for i in 0..n {
                let p = self.pg.read(trunk)?;
                let leaf = get_u32(p, 12 + 4 * i);
                if self.claim(leaf) {
                    count += 1;
                }
            }
            trunk = next;
        }
        self.rep.freelist_pages = count;
        Ok(count)
    }

    /// Reports every page from 2 to the page count that nothing owns.
    fn leaks(&mut self) {
        for pgno in 2..=self.rep.pages {
            if self.seen[pgno as usize / 8] & (1 << (pgno % 8)) == 0 {
                self.rep.problem(pgno, "page leaked (owned by no tree and not free)");
            }
        }
    }
}

impl<const K: usize> KeyOrder<K> {
    /// Checks leaf key `k` of page `pgno` against the last key and the
    /// pending lower bound; remembers it.
    fn note(&mut self, rep: &mut VerifyReport, pgno: u32, k: &[u8]) {
        if self.have_last && k <= &self.last[..] {
            rep.problem(pgno, "keys out of order");
        }
        if self.have_lower {
            if k < &self.lower[..] {
                rep.problem(pgno, "key below its branch separator");
            }
            self.have_lower = false;
        }
        self.last.clear();
        let _ = self.last.extend_from_slice(k);
        self.have_last = true;
    }
}

/// The integrity check of the snapshot `pg` reads: the header, every tree
/// (the catalog, the default table, each named table), every overflow
/// chain, the freelist, and page ownership. `bitmap` must hold at least
/// [`bitmap_len`]`(page count)` bytes. Problems go into the report; the
/// errors are `InvalidArgument` (bitmap too small), `Io`, `Poisoned`. `K`
/// is the capacity of the key buffers (see [`Walk`]).
pub(crate) fn check_snapshot<S: Storage, const K: usize>(pg: &mut Pager<'_, S>, bitmap: &mut [u8]) -> Result<VerifyReport> {
    let h = match pg.header() {
        Ok(h) => h,
        Err(e @ (Error::Io { .. } | Error::Poisoned)) => return Err(e),
        Err(_) => {
            let mut rep = VerifyReport::default();
            rep.problem(1, "database header invalid");
            return Ok(rep);
        }
    };
    if bitmap.len() < bitmap_len(h.page_count) {
        return Err(Error::InvalidArgument("verify bitmap shorter than bitmap_len(page count)"));
    }
    let n_pages = pg.snapshot_pages();
    let writable = pg.writable();
    let mut w = Walk::<S, K>::new(pg, bitmap, h.page_count);
    if n_pages != 0 && n_pages != h.page_count && !writable {
        w.rep.problem(1, "header page count differs from the commit's database size");
    }
    w.tree(h.catalog_root)?;
    w.rep.entries += w.tree(h.default_root)?;
    // Named tables: walk the catalog with a cursor.
    let mut cur = Cursor::<K>::sized();
    cur.root = h.catalog_root;
    let mut ok = keep_io(cursor::first(w.pg, &mut cur))?;
    while ok {
        let Some((leaf, i)) = cur.leaf() else { break };
        let mut b = [0u8; 4];
        let got = {
            let p = w.pg.read(leaf)?;
            match leaf_cell(p, leaf, i) {
                Ok(c) if c.vlen == 4 && c.ovfl.is_none() => {
                    b.copy_from_slice(&p[c.val]);
                    true
                }
                _ => false,
            }
        };
        if got {
            w.rep.tables += 1;
            let root = u32::from_le_bytes(b);
            w.rep.entries += w.tree(root)?;
        } else {
            w.rep.problem(leaf, "catalog entry is not a page number");
        }
        ok = keep_io(cursor::step(w.pg, &mut cur, true))?;
    }
    let free = w.freelist(h.freelist_head)?;
    if free != h.freelist_count {
        w.rep.problem(1, "header free page count differs from the freelist");
    }
    w.leaks();
    Ok(w.rep)
}

/// A cursor step of the integrity check: I/O errors stop the check, other
/// errors (a damaged catalog) end the listing (the walk reports the pages).
fn keep_io(r: Result<bool>) -> Result<bool> {
    match r {
        Err(e @ (Error::Io { .. } | Error::Poisoned)) => Err(e),
        r => Ok(r.unwrap_or(false)),
    }
}
