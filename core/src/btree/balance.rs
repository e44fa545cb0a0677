//! Leaf balancing: what an insert does when a leaf has no room, so that
//! leaves stay full (the file small) under random and nearly sorted
//! inserts, in the manner of SQLite's `balance_nonroot` and of B*-trees.
//!
//! A full leaf that is not the end of a run of appends is balanced with a
//! neighbour under the same parent, its cells and the new cell spread
//! evenly by bytes:
//! - over the two pages, when they hold it with a little room to spare (at
//!   most 31/32 of both): no new page; the separator between them changes;
//! - else over three pages, the leaf, one neighbour and a new page between
//!   them (each about two thirds full, where a split in two leaves two
//!   half-full pages); the separator changes and one is added.
//!
//! The parent must have room for the separators' new sizes; when it has
//! not, or the leaf has no leaf neighbour, or the new cell goes at the end
//! of the last leaf (ascending keys), the caller splits the leaf in two
//! instead (an append keeps the old page full). Under random inserts,
//! pages settle near `(1 - f) / ln(1 / f)` full when a new page leaves
//! them a fraction `f` full and nothing else moves cells: 69 % (ln 2) for
//! splits in two, 82 % at `f` = 2/3; the two-page spreads raise that as
//! their threshold rises, at the cost of more page writes.
//!
//! Measured (2026-11-30; random: 60,000 random 16-byte keys with 100-byte
//! values at 4 KiB pages, `tests/space.rs`, fill of the tree's pages;
//! flights: `bench/flights.sh`, `walden import` of `flights.csv.gz` keyed
//! `time_hour,carrier,flight` and `carrier,flight,time_hour`, database
//! bytes):
//!
//! | two-page spreads up to | three leaves over four | random | flights |
//! |---|---|---|---|
//! | 15/16 | no | 82.7 % | 42,852,352 / 40,652,800 |
//! | 15/16 | yes | 84.1 % (1,000,000 keys) | 44,826,624 / 43,737,088 |
//! | 31/32 | yes | 85.7 % | 43,757,568 / 42,541,056 |
//! | 31/32 (used) | no | 84.7 % | 41,697,280 / 39,915,520 |
//!
//! Spreading three leaves over four (SQLite's `balance_nonroot` takes up to
//! three siblings) filled random trees a point more, but left the pages
//! behind a run of ascending keys (a time series per flight, per sensor)
//! three quarters full for good, and real data grew 5 to 7 %; it is not
//! done. Two-page spreads up to 31/32 cost 22 % more instructions per
//! random insert than up to 15/16 (`scripts/hotpaths.sh`, bulk_insert),
//! for no measurable change in the load's throughput.
//!
//! Only leaves are balanced: branch pages are a few percent of a tree and
//! split in two.

use crate::btree::freelist;
use crate::btree::page::*;
use crate::btree::tree::Tree;
use crate::error::Result;
use crate::format::{get_u16, put_u16, put_u32, PAGE_TRAILER};
use crate::storage::Storage;

/// Where a cell of the run being redistributed comes from.
#[derive(Clone, Copy)]
enum Item {
    /// Cell `k` of the left page's copy (`scr.tmp`).
    A(usize),
    /// Cell `k` of the right page's copy (`scr.tmp2`).
    B(usize),
    /// The new cell (`scr.cell`).
    New,
}

/// Most pages a balance spreads cells over.
const MAX_OUT: usize = 3;

impl<S: Storage> Tree<'_, '_, S> {
    /// Called by branch `parent` when its child `i`, the leaf `child`, has
    /// no room for the new cell `scr.cell[..len]` at index `at`. Balances
    /// the leaf with a neighbour (see the module documentation) and returns
    /// `true`, the cell inserted and the parent updated; or returns `false`
    /// having changed nothing (the caller then splits the leaf in two).
    pub(crate) fn balance_leaf(&mut self, parent: u32, i: usize, child: u32, at: usize, len: usize) -> Result<bool> {
        let ps = self.ps();
        let cap = ps - PAGE_TRAILER - PAGE_HEADER;
        let bp = self.read_tree_page(parent)?;
        let n = ncells(bp);
        let right = if i < n { Some(child_at(bp, parent, i + 1)?) } else { None };
        let left = if i > 0 { Some(child_at(bp, parent, i - 1)?) } else { None };
        let cp = self.read_tree_page(child)?;
        if right.is_none() && at == ncells(cp) {
            // An append at the end of the last leaf: the plain split keeps
            // the old page full and starts a new one.
            return Ok(false);
        }
        let cused = used(cp);
        // Neighbours that are leaves, right first, with the bytes they use.
        let mut sibs: [Option<(u32, bool, usize)>; 2] = [None, None];
        for (k, (sib, is_right)) in [(right, true), (left, false)].into_iter().enumerate() {
            if let Some(s) = sib {
                let sp = self.read_tree_page(s)?;
                if sp.first() == Some(&PT_LEAF) {
                    sibs[k] = Some((s, is_right, used(sp)));
                }
            }
        }
        // Two pages with room to spare, else three.
        for (s, is_right, sused) in sibs.iter().flatten().copied() {
            if cused + len + 2 + sused <= 2 * cap - cap / 16 && self.spread(parent, i, child, s, is_right, at, len, 2)? {
                return Ok(true);
            }
        }
        for (s, is_right, _) in sibs.iter().flatten().copied() {
            if self.spread(parent, i, child, s, is_right, at, len, 3)? {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Spreads the cells of `child` (with the new cell at `at`) and of its
    /// neighbour `sib` (on the right when `sib_right`) evenly over `out`
    /// pages (2: the same two; 3: a new page between them), and updates the
    /// separators in `parent`. Returns `false`, having changed nothing, when
    /// the cells do not fit the pages or the parent has no room for the
    /// separators.
    #[allow(clippy::too_many_arguments)]
    fn spread(&mut self, parent: u32, i: usize, child: u32, sib: u32, sib_right: bool, at: usize, len: usize, out: usize) -> Result<bool> {
        let ps = self.ps();
        let cap = ps - PAGE_TRAILER - PAGE_HEADER;
        if !(2..=MAX_OUT).contains(&out) {
            return Ok(false);
        }
        // The pair in key order: the separator between them is cell `j` of
        // the parent.
        let (lpg, rpg, j) = if sib_right { (child, sib, i) } else { (sib, child, i - 1) };
        let lp = self.pg.read(lpg)?;
        check_header(lp, lpg)?;
        put_bytes(self.scr.tmp, 0, lp)?;
        let rp = self.pg.read(rpg)?;
        check_header(rp, rpg)?;
        put_bytes(self.scr.tmp2, 0, rp)?;
        let (na, nb) = (ncells(bytes(self.scr.tmp, 0..ps)?), ncells(bytes(self.scr.tmp2, 0..ps)?));
        // The run: left cells, right cells, the new one at its place.
        let total = na + nb + 1;
        let pos = if sib_right { at } else { na + at };
        let item = |x: usize| -> Item {
            if x == pos {
                Item::New
            } else {
                let y = if x > pos { x - 1 } else { x };
                if y < na {
                    Item::A(y)
                } else {
                    Item::B(y - na)
                }
            }
        };
        // Bytes of each item, slot included, noted once in the separator
        // buffer (2 bytes an item: two pages hold at most 4 (ps - 16) / 11
        // cells, fewer than its ps / 4 entries), and the cut points.
        if 2 * total > self.scr.sep.len() {
            return Ok(false);
        }
        let mut all = 0;
        for x in 0..total {
            let s = self.item_size(item(x), lpg, rpg, len)?;
            put_u16(self.scr.sep, 2 * x, s as u16);
            all += s;
        }
        let size = |sep: &[u8], x: usize| get_u16(sep, 2 * x) as usize;
        let mut cuts = [0usize; MAX_OUT + 1];
        cuts[out] = total;
        let (mut x, mut rest) = (0, all);
        for page in 0..out - 1 {
            let target = rest / (out - page);
            let mut acc = 0;
            while x < total {
                let s = size(self.scr.sep, x);
                if acc > 0 && (acc + s > cap || acc + s / 2 > target) {
                    break;
                }
                acc += s;
                x += 1;
            }
            if acc == 0 || acc > cap {
                return Ok(false);
            }
            rest -= acc;
            cuts[page + 1] = x;
        }
        if rest > cap || x >= total {
            return Ok(false);
        }
        // The parent's room: cell j's key becomes the first key of page 2;
        // with three pages a cell for page 2 (keyed by the first key of
        // page 3) comes after it.
        let mut need = 6 + self.item_key(item(cuts[1]), lpg, rpg)?.len();
        if out == 3 {
            need += 6 + self.item_key(item(cuts[2]), lpg, rpg)?.len() + 2;
        }
        let bp = self.read_tree_page(parent)?;
        let (_, _, old_size) = branch_cell(bp, parent, j)?;
        if need > old_size && free_space(bp) < need - old_size {
            return Ok(false);
        }
        // From here on nothing fails but I/O and allocation (which abort
        // the transaction anyway).
        let mid = if out == 3 { Some(freelist::allocate(self.pg)?.0) } else { None };
        let pages: [u32; MAX_OUT] = match mid {
            Some(m) => [lpg, m, rpg],
            None => [lpg, rpg, 0],
        };
        for (k, &pgno) in pages.iter().take(out).enumerate() {
            let wp = self.pg.write(pgno)?;
            init_page(wp, PT_LEAF);
            for x in cuts[k]..cuts[k + 1] {
                match item(x) {
                    Item::New => push_cell(wp, bytes(self.scr.cell, 0..len)?),
                    Item::A(c) => {
                        let t = bytes(self.scr.tmp, 0..ps)?;
                        push_cell(wp, bytes(t, raw_cell(t, lpg, c)?.0)?)
                    }
                    Item::B(c) => {
                        let t = bytes(self.scr.tmp2, 0..ps)?;
                        push_cell(wp, bytes(t, raw_cell(t, rpg, c)?.0)?)
                    }
                }
            }
        }
        // Separators: cell j (left page) now bounded by the first key of
        // page 2; with three pages, a cell for the new page, bounded by the
        // first key of the last page, right after it.
        self.set_separator(parent, j, lpg, item(cuts[1]), lpg, rpg, true)?;
        if let Some(m) = mid {
            self.set_separator(parent, j + 1, m, item(cuts[2]), lpg, rpg, false)?;
        }
        Ok(true)
    }

    /// Bytes of an item in a page (cell and slot).
    fn item_size(&self, it: Item, lpg: u32, rpg: u32, len: usize) -> Result<usize> {
        let ps = self.ps();
        Ok(2 + match it {
            Item::New => len,
            Item::A(c) => raw_cell(bytes(self.scr.tmp, 0..ps)?, lpg, c)?.0.len(),
            Item::B(c) => raw_cell(bytes(self.scr.tmp2, 0..ps)?, rpg, c)?.0.len(),
        })
    }

    /// The key of an item.
    fn item_key(&self, it: Item, lpg: u32, rpg: u32) -> Result<&[u8]> {
        let ps = self.ps();
        match it {
            Item::New => bytes(self.scr.cell, 7..7 + get_u16(self.scr.cell, 0) as usize),
            Item::A(c) => leaf_key(bytes(self.scr.tmp, 0..ps)?, lpg, c),
            Item::B(c) => leaf_key(bytes(self.scr.tmp2, 0..ps)?, rpg, c),
        }
    }

    /// Writes branch cell (`child`, key of `it`) into `parent` at index `j`,
    /// replacing cell `j` (`replace`) or inserting it. The caller checked the
    /// room.
    #[allow(clippy::too_many_arguments)]
    fn set_separator(&mut self, parent: u32, j: usize, child: u32, it: Item, lpg: u32, rpg: u32, replace: bool) -> Result<()> {
        let klen = self.item_key(it, lpg, rpg)?.len();
        put_u32(self.scr.sep, 0, child);
        put_u16(self.scr.sep, 4, klen as u16);
        let ps = self.ps();
        let key = match it {
            Item::New => bytes(self.scr.cell, 7..7 + klen)?,
            Item::A(c) => {
                let t = bytes(self.scr.tmp, 0..ps)?;
                bytes(t, raw_cell(t, lpg, c)?.1)?
            }
            Item::B(c) => {
                let t = bytes(self.scr.tmp2, 0..ps)?;
                bytes(t, raw_cell(t, rpg, c)?.1)?
            }
        };
        put_bytes(self.scr.sep, 6, key)?;
        let wp = self.pg.write(parent)?;
        if replace {
            let (_, _, size) = branch_cell(wp, parent, j)?;
            let off = slot(wp, j);
            remove_cell(wp, j, off..off + size);
        }
        insert_cell(wp, j, bytes(self.scr.sep, 0..6 + klen)?);
        Ok(())
    }
}
