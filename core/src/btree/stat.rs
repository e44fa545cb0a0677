//! Read-only walks of one tree: the number of entries in a key range
//! ([`crate::Connection::count`]) without decoding them, and the shape of
//! the tree ([`crate::Connection::tree_stats`]: depth, pages by type, bytes
//! used), as SQLite's `count(*)` and LMDB's `mdb_stat` report them.
//!
//! Both read each page they visit through the pager (checksummed like any
//! read) and allocate nothing. The count reads the branch pages on the
//! paths to the two ends of the range and every leaf in between, but only
//! the cell count of a leaf that lies wholly inside the range: no key of
//! such a leaf is compared and no value is read. Neither function follows
//! overflow chains ([`TreeStats::overflow_pages`] is computed from the
//! value lengths); the integrity check ([`super::verify`]) does.

use core::cmp::Ordering;
use core::ops::Bound;

use crate::btree::page::{
    bad, branch_cell, check_header, child_at, leaf_cell, leaf_key, ncells, right_child, MAX_DEPTH, OVFL_HEADER, PAGE_HEADER, PT_LEAF,
};
use crate::error::Result;
use crate::format::PAGE_TRAILER;
use crate::pager::Pager;
use crate::storage::Storage;

/// The shape of one B+tree ([`crate::Connection::tree_stats`]), as
/// `mdb_stat` prints it for an LMDB database.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TreeStats {
    /// Levels from the root to the deepest leaf: 1 for a tree that is a
    /// single leaf. (Leaves need not all be at one depth, see
    /// `btree/tree.rs`.)
    pub depth: u32,
    /// Branch (interior) pages.
    pub branch_pages: u64,
    /// Leaf pages.
    pub leaf_pages: u64,
    /// Overflow pages holding the values too large for a leaf cell,
    /// computed from the value lengths (the chains are not walked).
    pub overflow_pages: u64,
    /// Entries (leaf cells).
    pub entries: u64,
    /// Bytes in use on the branch and leaf pages: page headers, slot
    /// arrays and cells (keys and inline values).
    pub used_bytes: u64,
    /// Bytes available for content on the branch and leaf pages: the page
    /// size less the 4-byte checksum trailer, times the pages.
    pub usable_bytes: u64,
    /// Bytes of the values stored in overflow pages.
    pub overflow_value_bytes: u64,
}

impl TreeStats {
    /// Branch, leaf and overflow pages together.
    pub fn pages(&self) -> u64 {
        self.branch_pages + self.leaf_pages + self.overflow_pages
    }

    /// How full the branch and leaf pages are: [`TreeStats::used_bytes`] in
    /// percent of [`TreeStats::usable_bytes`] (0 when there are no pages).
    pub fn fill_percent(&self) -> f64 {
        if self.usable_bytes == 0 {
            0.0
        } else {
            self.used_bytes as f64 * 100.0 / self.usable_bytes as f64
        }
    }
}

/// Whether every key `>= sep` satisfies the lower bound `start`.
fn above_start(sep: &[u8], start: Bound<&[u8]>) -> bool {
    match start {
        Bound::Unbounded => true,
        Bound::Included(s) => sep >= s,
        Bound::Excluded(s) => sep > s,
    }
}

/// Whether every key `< sep` satisfies the upper bound `end`.
fn below_end(sep: &[u8], end: Bound<&[u8]>) -> bool {
    match end {
        Bound::Unbounded => true,
        Bound::Included(e) | Bound::Excluded(e) => sep <= e,
    }
}

/// Whether `k` lies within `(start, end)`.
fn within(k: &[u8], start: Bound<&[u8]>, end: Bound<&[u8]>) -> bool {
    let lo = match start {
        Bound::Unbounded => true,
        Bound::Included(s) => k >= s,
        Bound::Excluded(s) => k > s,
    };
    let hi = match end {
        Bound::Unbounded => true,
        Bound::Included(e) => k <= e,
        Bound::Excluded(e) => k < e,
    };
    lo && hi
}

/// What a count does with one subtree.
struct Counter<'v, 'a, S: Storage> {
    pg: &'v mut Pager<'a, S>,
}

impl<S: Storage> Counter<'_, '_, S> {
    /// Entries of the subtree at `pgno` within `(start, end)`; `lo_ok` and
    /// `hi_ok` say that the subtree's keys already satisfy that bound.
    /// With both, the subtree's leaves are counted without a key compared.
    fn range(&mut self, pgno: u32, start: Bound<&[u8]>, end: Bound<&[u8]>, lo_ok: bool, hi_ok: bool, depth: usize) -> Result<u64> {
        let inside = lo_ok && hi_ok;
        if depth >= MAX_DEPTH {
            return Err(bad(pgno, "tree too deep (page cycle)"));
        }
        let p = self.pg.read(pgno)?;
        check_header(p, pgno)?;
        let n = ncells(p);
        let lo = if lo_ok { Bound::Unbounded } else { start };
        let hi = if hi_ok { Bound::Unbounded } else { end };
        if p[0] == PT_LEAF {
            if inside {
                return Ok(n as u64);
            }
            let mut total = 0;
            for i in 0..n {
                if within(leaf_key(p, pgno, i)?, lo, hi) {
                    total += 1;
                }
            }
            return Ok(total);
        }
        let mut total = 0;
        for i in 0..=n {
            let p = self.pg.read(pgno)?;
            if i == n && right_child(p) == 0 {
                break;
            }
            let child = child_at(p, pgno, i)?;
            // Child i holds the keys in [separator i-1, separator i).
            let (mut c_lo_ok, mut c_hi_ok) = (lo_ok, hi_ok);
            if i > 0 && !inside {
                let (_, kr, _) = branch_cell(p, pgno, i - 1)?;
                let below = &p[kr];
                // Every key of the child is >= `below`.
                let past_end = match hi {
                    Bound::Unbounded => false,
                    Bound::Included(e) => below.cmp(e) == Ordering::Greater,
                    Bound::Excluded(e) => below >= e,
                };
                if past_end {
                    break;
                }
                c_lo_ok |= above_start(below, lo);
            }
            if i < n && !inside {
                let (_, kr, _) = branch_cell(p, pgno, i)?;
                let above = &p[kr];
                // Every key of the child is < `above`.
                let before_start = match lo {
                    Bound::Unbounded => false,
                    Bound::Included(s) | Bound::Excluded(s) => above <= s,
                };
                if before_start {
                    continue;
                }
                c_hi_ok |= below_end(above, hi);
            }
            total += self.range(child, start, end, c_lo_ok, c_hi_ok, depth + 1)?;
        }
        Ok(total)
    }
}

/// The number of entries of the tree at `root` whose keys lie within
/// `(start, end)`. Reads only the leaf pages that hold keys of the range
/// and the branch pages above them; compares keys only on the pages at the
/// two ends of the range. Errors: `Corrupt` (a page fails its checksum or
/// its structure), `Io`.
pub(crate) fn count<S: Storage>(pg: &mut Pager<'_, S>, root: u32, start: Bound<&[u8]>, end: Bound<&[u8]>) -> Result<u64> {
    let lo_ok = matches!(start, Bound::Unbounded);
    let hi_ok = matches!(end, Bound::Unbounded);
    Counter { pg }.range(root, start, end, lo_ok, hi_ok, 0)
}

/// The shape of the tree at `root` (see [`TreeStats`]): visits every branch
/// and leaf page once. Errors: `Corrupt`, `Io`.
pub(crate) fn tree_stats<S: Storage>(pg: &mut Pager<'_, S>, root: u32) -> Result<TreeStats> {
    let mut s = TreeStats::default();
    walk(pg, root, 1, &mut s)?;
    Ok(s)
}

fn walk<S: Storage>(pg: &mut Pager<'_, S>, pgno: u32, depth: u32, s: &mut TreeStats) -> Result<()> {
    if depth as usize > MAX_DEPTH {
        return Err(bad(pgno, "tree too deep (page cycle)"));
    }
    s.depth = s.depth.max(depth);
    let ps = pg.page_size();
    let ovfl_cap = (ps - PAGE_TRAILER - OVFL_HEADER) as u64;
    let p = pg.read(pgno)?;
    check_header(p, pgno)?;
    let n = ncells(p);
    s.usable_bytes += (ps - PAGE_TRAILER) as u64;
    s.used_bytes += (PAGE_HEADER + 2 * n) as u64;
    if p[0] == PT_LEAF {
        s.leaf_pages += 1;
        s.entries += n as u64;
        for i in 0..n {
            let c = leaf_cell(p, pgno, i)?;
            s.used_bytes += c.size as u64;
            if c.ovfl.is_some() {
                s.overflow_pages += u64::from(c.vlen).div_ceil(ovfl_cap);
                s.overflow_value_bytes += u64::from(c.vlen);
            }
        }
        return Ok(());
    }
    s.branch_pages += 1;
    for i in 0..n {
        s.used_bytes += branch_cell(p, pgno, i)?.2 as u64;
    }
    for i in 0..=n {
        let p = pg.read(pgno)?;
        if i == n && right_child(p) == 0 {
            break;
        }
        let child = child_at(p, pgno, i)?;
        walk(pg, child, depth + 1, s)?;
    }
    Ok(())
}
