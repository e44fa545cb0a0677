//! Leaf balancing: what an insert does when a leaf has no room, so that
//! leaves stay full (the file small) under random and nearly sorted
//! inserts, in the manner of SQLite's `balance_nonroot` and of B*-trees.
//!
//! A full leaf that is not the end of a run of appends is balanced with a
//! neighbour under the same parent, its cells and the new cell spread
//! evenly by bytes:
//! - over the two pages, when they hold it with a little room to spare (at
//!   most 31/32 of both): no new page; the separator between them changes;
//! - else, when the leaf has a leaf neighbour on each side (and the
//!   feature `dense-leaves`, on by default, is on), over four pages: the
//!   three and a new one (each about three quarters full, as SQLite's
//!   `balance_nonroot` spreads three siblings over four); two separators
//!   change and one is added;
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
//! splits in two, 82 % at `f` = 2/3, 87 % at 3/4; the two-page spreads
//! raise that as their threshold rises, at the cost of more page writes.
//! Measured for a million random 16-byte keys with 100-byte values at
//! 4 KiB pages (`walden stat`, fill of the leaves): 82.7 % with two- and
//! three-page spreads at 15/16; 84.1 % with four-page spreads; 86.0 % with
//! the threshold at 31/32 (used), 87.1 % at 63/64 (a quarter more system
//! time in the load, from the extra dirty pages).
//!
//! The four-page spread needs no third page copy: the left page is copied
//! to `scr.tmp2`, each new page is built in `scr.tmp` from that copy and
//! from the other two pages as the cache holds them, and the pages are
//! written in the order left, new, middle, right, so that no page is
//! rewritten while a later page still takes cells from it (the last page
//! must take its cells from the right page only; the spread is not done
//! otherwise).
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

/// Where a cell of a four-page spread comes from.
#[cfg(feature = "dense-leaves")]
#[derive(Clone, Copy)]
enum Item3 {
    /// Cell `k` of the left page's copy (`scr.tmp2`).
    A(usize),
    /// Cell `k` of the child, as the cache holds it.
    B(usize),
    /// Cell `k` of the right page, as the cache holds it.
    C(usize),
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
        #[cfg(feature = "dense-leaves")]
        if let (Some((r, _, _)), Some((l, _, _))) = (sibs[0], sibs[1]) {
            if self.spread4(parent, i, [l, child, r], at, len)? {
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

    #[cfg(feature = "dense-leaves")]
    /// Spreads the cells of the leaves `pages` = [left, child, right]
    /// (child pointers `i - 1`, `i` and `i + 1` of `parent`), with the new
    /// cell `scr.cell[..len]` at index `at` of the child, evenly over four
    /// pages in key order: left, a new page, child, right (see the module
    /// documentation). Returns `false`, having changed nothing, when the
    /// cells do not fit four pages, the parent has no room for the three
    /// separators, or the last page would take cells of the child.
    fn spread4(&mut self, parent: u32, i: usize, pages: [u32; 3], at: usize, len: usize) -> Result<bool> {
        let ps = self.ps();
        let cap = ps - PAGE_TRAILER - PAGE_HEADER;
        let [a, b, c] = pages;
        let lp = self.pg.read(a)?;
        check_header(lp, a)?;
        self.scr.tmp2[..ps].copy_from_slice(lp);
        let na = ncells(&self.scr.tmp2[..ps]);
        let nb = ncells(self.read_tree_page(b)?);
        let nc = ncells(self.read_tree_page(c)?);
        let total = na + nb + 1 + nc;
        if 2 * total > self.scr.sep.len() {
            return Ok(false);
        }
        let item = |x: usize| -> Item3 {
            if x < na {
                Item3::A(x)
            } else if x < na + nb + 1 {
                let y = x - na;
                match y.cmp(&at) {
                    core::cmp::Ordering::Less => Item3::B(y),
                    core::cmp::Ordering::Equal => Item3::New,
                    core::cmp::Ordering::Greater => Item3::B(y - 1),
                }
            } else {
                Item3::C(x - na - nb - 1)
            }
        };
        // Bytes of each item, slot included, in the separator buffer.
        let mut all = 0;
        for x in 0..total {
            let s = 2 + match item(x) {
                Item3::A(k) => raw_cell(&self.scr.tmp2[..ps], a, k)?.0.len(),
                Item3::B(k) => raw_cell(self.pg.read(b)?, b, k)?.0.len(),
                Item3::C(k) => raw_cell(self.pg.read(c)?, c, k)?.0.len(),
                Item3::New => len,
            };
            put_u16(self.scr.sep, 2 * x, s as u16);
            all += s;
        }
        let size = |sep: &[u8], x: usize| get_u16(sep, 2 * x) as usize;
        let mut cuts = [0usize; 5];
        cuts[4] = total;
        let (mut x, mut rest) = (0, all);
        for page in 0..3 {
            let target = rest / (4 - page);
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
        // The last page is the right page rewritten: it may hold only
        // cells of the right page, read from it as it is.
        if rest > cap || x >= total || cuts[3] < na + nb + 1 {
            return Ok(false);
        }
        // The parent's room: cells i - 1 and i (bounding the left page and
        // the child) are replaced by three, keyed by the first keys of
        // pages 2, 3 and 4.
        let mut need = 0;
        for &cut in &cuts[1..4] {
            let klen = match item(cut) {
                Item3::A(k) => leaf_key(&self.scr.tmp2[..ps], a, k)?.len(),
                Item3::B(k) => leaf_key(self.pg.read(b)?, b, k)?.len(),
                Item3::C(k) => leaf_key(self.pg.read(c)?, c, k)?.len(),
                Item3::New => get_u16(self.scr.cell, 0) as usize,
            };
            need += 6 + klen + 2;
        }
        let bp = self.read_tree_page(parent)?;
        let (_, _, old_a) = branch_cell(bp, parent, i - 1)?;
        let (_, _, old_b) = branch_cell(bp, parent, i)?;
        if free_space(bp) + old_a + 2 + old_b + 2 < need {
            return Ok(false);
        }
        // From here on nothing fails but I/O and allocation (which abort
        // the transaction anyway).
        let new = freelist::allocate(self.pg)?.0;
        for (k, dest) in [a, new, b, c].into_iter().enumerate() {
            let out = &mut self.scr.tmp[..ps];
            init_page(out, PT_LEAF);
            for x in cuts[k]..cuts[k + 1] {
                match item(x) {
                    Item3::A(j) => {
                        let r = raw_cell(&self.scr.tmp2[..ps], a, j)?.0;
                        push_cell(out, &self.scr.tmp2[r]);
                    }
                    Item3::B(j) => {
                        let p = self.pg.read(b)?;
                        push_cell(out, &p[raw_cell(p, b, j)?.0]);
                    }
                    Item3::C(j) => {
                        let p = self.pg.read(c)?;
                        push_cell(out, &p[raw_cell(p, c, j)?.0]);
                    }
                    Item3::New => push_cell(out, &self.scr.cell[..len]),
                }
            }
            self.pg.write(dest)?.copy_from_slice(&self.scr.tmp[..ps]);
        }
        // The two old cells out first, so that the page only grows from
        // there to its final size, which the check above made fit.
        let wp = self.pg.write(parent)?;
        for j in [i, i - 1] {
            let (_, _, size) = branch_cell(wp, parent, j)?;
            let off = slot(wp, j);
            remove_cell(wp, j, off..off + size);
        }
        self.separator_before(parent, i - 1, a, new)?;
        self.separator_before(parent, i, new, b)?;
        self.separator_before(parent, i + 1, b, c)?;
        Ok(true)
    }

    #[cfg(feature = "dense-leaves")]
    /// Inserts branch cell (`child`, first key of leaf `next`) into
    /// `parent` at index `j`. The caller checked the room.
    fn separator_before(&mut self, parent: u32, j: usize, child: u32, next: u32) -> Result<()> {
        let p = self.pg.read(next)?;
        let key = leaf_key(p, next, 0)?;
        let klen = key.len();
        self.scr.sep[6..6 + klen].copy_from_slice(key);
        put_u32(self.scr.sep, 0, child);
        put_u16(self.scr.sep, 4, klen as u16);
        let wp = self.pg.write(parent)?;
        insert_cell(wp, j, &self.scr.sep[..6 + klen]);
        Ok(())
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
