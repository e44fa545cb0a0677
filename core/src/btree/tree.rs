//! B+tree operations over the pager: search, insert with splits, delete
//! with merges, overflow chains, freeing a whole tree. The page format is
//! [`super::page`]'s.
//!
//! Invariants: keys strictly increase along the slot array, and every key
//! under a branch cell's child is below the cell's key (every key under the
//! right-most child at or above the last key); every cell is at
//! most `max_cell(page_size)` bytes, so a page always holds three cells and a
//! split of a full page plus one cell always gives two valid pages; a
//! non-root leaf is never empty (an emptied leaf is freed); a root never
//! moves (a root split copies the root into a new child, as SQLite's
//! `balance_deeper`), so table roots in the catalog never change. Leaves
//! are not guaranteed to be at one depth: a non-root branch left with one
//! child is merged with a sibling, or else replaced by its child;
//! searches, cursors, splits and the integrity check assume no depth.

use crate::btree::freelist;
use crate::btree::page::*;
use crate::error::Result;
use crate::format::{get_u16, get_u32, put_u16, put_u32, PAGE_TRAILER};
use crate::pager::{Pager, Scratch};
use crate::storage::Storage;
/// A tree operation: the pager and scratch memory.
pub(crate) struct Tree<'t, 'a, S: Storage> {
    pub pg: &'t mut Pager<'a, S>,
    pub scr: Scratch<'t>,
}

/// What an insert into a subtree did.
enum Placed {
    /// The cell is in.
    Done,
    /// The subtree's root page split: the new right sibling; the separator
    /// is in `scr.sep` (u16 length, then bytes).
    Split(u32),
    /// A leaf has no room for the new cell (`scr.cell[..len]`, to go at
    /// index `at`): its parent balances it with a neighbour or splits it.
    Overflow {
        /// Index of the new cell in the leaf.
        at: usize,
        /// Bytes of the new cell.
        len: usize,
    },
}

/// Where a cell comes from in a split: the saved page or the new cell.
#[derive(Clone, Copy)]
enum Src {
    Old(usize),
    New,
}

impl<'t, 'a, S: Storage> Tree<'t, 'a, S> {
    pub(crate) fn ps(&self) -> usize {
        self.pg.page_size()
    }

    pub(crate) fn read_tree_page(&mut self, pgno: u32) -> Result<&[u8]> {
        let p = self.pg.read(pgno)?;
        check_header(p, pgno)?;
        Ok(p)
    }

    /// Creates an empty tree; returns its root page.
    pub(crate) fn create(&mut self) -> Result<u32> {
        let (pgno, p) = freelist::allocate(self.pg)?;
        init_page(p, PT_LEAF);
        Ok(pgno)
    }

    // ----- lookup -----

    /// Finds `key`: the leaf page and cell index.
    pub(crate) fn find(&mut self, root: u32, key: &[u8]) -> Result<Option<(u32, usize)>> {
        Ok(self.find_slot(root, key)?.map(|(pgno, _, i)| (pgno, i)))
    }

    /// As [`Tree::find`], also giving the cache slot of the leaf:
    /// (leaf page, slot, cell index).
    pub(crate) fn find_slot(&mut self, root: u32, key: &[u8]) -> Result<Option<(u32, u32, usize)>> {
        let mut pgno = root;
        for _ in 0..MAX_DEPTH {
            let (p, slot) = self.pg.read_slot(pgno)?;
            check_header(p, pgno)?;
            if p.first() == Some(&PT_LEAF) {
                let (i, eq) = search_leaf(p, pgno, key)?;
                return Ok(eq.then_some((pgno, slot, i)));
            }
            let i = search_branch(p, pgno, key)?;
            pgno = child_at(p, pgno, i)?;
        }
        Err(bad(root, "tree too deep (page cycle)"))
    }

    /// Copies `out.len()` bytes of the value of leaf cell (`pgno`, `i`) from
    /// byte `offset` (clamped to the value); returns bytes copied.
    pub(crate) fn read_value(&mut self, pgno: u32, i: usize, offset: usize, out: &mut [u8]) -> Result<usize> {
        let p = self.read_tree_page(pgno)?;
        let c = leaf_cell(p, pgno, i)?;
        let vlen = c.vlen as usize;
        if offset >= vlen {
            return Ok(0);
        }
        let want = out.len().min(vlen - offset);
        match c.ovfl {
            None => {
                out[..want].copy_from_slice(&p[c.val.start + offset..c.val.start + offset + want]);
                Ok(want)
            }
            Some(first) => self.read_overflow(first, vlen, offset, &mut out[..want]),
        }
    }

    fn ovfl_cap(&self) -> usize {
        self.ps() - PAGE_TRAILER - OVFL_HEADER
    }

    fn read_overflow(&mut self, first: u32, vlen: usize, offset: usize, out: &mut [u8]) -> Result<usize> {
        let cap = self.ovfl_cap();
        let pages = vlen.div_ceil(cap);
        let mut pgno = first;
        let mut pos = 0usize; // value offset at the start of this page
        let mut done = 0;
        for _ in 0..pages {
            let p = self.pg.read(pgno)?;
            if p.first() != Some(&PT_OVERFLOW) {
                return Err(bad(pgno, "overflow chain reaches a non-overflow page"));
            }
            let next = get_u32(p, 4);
            let chunk = cap.min(vlen - pos);
            let (from, to) = (pos, pos + chunk);
            let want_from = offset + done;
            if want_from < to && done < out.len() {
                let s = want_from - from;
                let n = (chunk - s).min(out.len() - done);
                out[done..done + n].copy_from_slice(&p[OVFL_HEADER + s..OVFL_HEADER + s + n]);
                done += n;
            }
            pos = to;
            if done == out.len() {
                return Ok(done);
            }
            pgno = next;
            if pgno < 2 {
                break;
            }
        }
        Err(bad(first, "overflow chain shorter than the value"))
    }

    // ----- insert -----

    /// Writes `val` into a new overflow chain; returns its first page.
    fn write_overflow(&mut self, val: &[u8]) -> Result<u32> {
        let cap = self.ovfl_cap();
        let mut first = 0;
        let mut prev = 0;
        // (`cap` is most of a page; `max` spares chunks' panic on 0.)
        for chunk in val.chunks(cap.max(1)) {
            let (pgno, p) = freelist::allocate(self.pg)?;
            put_bytes(p, 0, &[PT_OVERFLOW])?;
            put_bytes(p, OVFL_HEADER, chunk)?;
            if prev == 0 {
                first = pgno;
            } else {
                let pp = self.pg.write(prev)?;
                put_u32(pp, 4, pgno);
            }
            prev = pgno;
        }
        Ok(first)
    }

    fn free_overflow(&mut self, first: u32, vlen: u32) -> Result<()> {
        let pages = (vlen as usize).div_ceil(self.ovfl_cap().max(1));
        let mut pgno = first;
        for _ in 0..pages {
            if pgno < 2 {
                return Err(bad(first, "overflow chain shorter than the value"));
            }
            let p = self.pg.read(pgno)?;
            if p.first() != Some(&PT_OVERFLOW) {
                return Err(bad(pgno, "overflow chain reaches a non-overflow page"));
            }
            let next = get_u32(p, 4);
            freelist::free(self.pg, pgno)?;
            pgno = next;
        }
        Ok(())
    }

    /// Removes entry `i` of leaf `pgno`, freeing its overflow chain.
    fn remove_leaf_entry(&mut self, pgno: u32, i: usize) -> Result<()> {
        let p = self.read_tree_page(pgno)?;
        let c = leaf_cell(p, pgno, i)?;
        let off = slot(p, i);
        if let Some(first) = c.ovfl {
            self.free_overflow(first, c.vlen)?;
        }
        let wp = self.pg.write(pgno)?;
        remove_cell(wp, i, off..off + c.size);
        Ok(())
    }

    /// Builds a leaf cell for (`key`, `val`) in `scr.cell`; returns its size.
    fn build_leaf_cell(&mut self, key: &[u8], val: &[u8]) -> Result<usize> {
        let mc = max_cell(self.ps());
        let inline = 7 + key.len() + val.len() <= mc;
        let ovfl = if inline { 0 } else { self.write_overflow(val)? };
        let c = &mut *self.scr.cell;
        put_u16(c, 0, key.len() as u16);
        put_bytes(c, 2, &[u8::from(!inline)])?;
        put_u32(c, 3, val.len() as u32);
        put_bytes(c, 7, key)?;
        let kend = 7 + key.len();
        if inline {
            put_bytes(c, kend, val)?;
            Ok(kend + val.len())
        } else {
            put_u32(c, kend, ovfl);
            Ok(kend + 4)
        }
    }

    /// Inserts or replaces `key` in the tree at `root`.
    pub(crate) fn insert(&mut self, root: u32, key: &[u8], val: &[u8]) -> Result<()> {
        let right = match self.insert_rec(root, key, val, 0)? {
            Placed::Done => return Ok(()),
            Placed::Split(right) => right,
            // The root is a full leaf: no neighbour to balance with.
            Placed::Overflow { at, len } => self.split(root, at, len)?,
        };
        self.grow_root(root, right)
    }

    /// Root split: the root's content (already the left half) moves to a new
    /// page; the root becomes a branch over it and `right`, separated by
    /// `scr.sep`.
    fn grow_root(&mut self, root: u32, right: u32) -> Result<()> {
        let ps = self.ps();
        put_bytes(self.scr.tmp, 0, self.pg.read(root)?)?;
        let (left, lp) = freelist::allocate(self.pg)?;
        put_bytes(lp, 0, bytes(self.scr.tmp, 0..ps)?)?;
        let seplen = get_u16(self.scr.sep, 0) as usize;
        let c = &mut *self.scr.cell;
        put_u32(c, 0, left);
        put_u16(c, 4, seplen as u16);
        put_bytes(c, 6, bytes(self.scr.sep, 2..2 + seplen)?)?;
        let rp = self.pg.write(root)?;
        init_page(rp, PT_BRANCH);
        put_u32(rp, 8, right);
        push_cell(rp, bytes(self.scr.cell, 0..6 + seplen)?);
        Ok(())
    }

    /// Inserts into the subtree at `pgno` (see [`Placed`]).
    fn insert_rec(&mut self, pgno: u32, key: &[u8], val: &[u8], depth: usize) -> Result<Placed> {
        if depth >= MAX_DEPTH {
            return Err(bad(pgno, "tree too deep (page cycle)"));
        }
        let p = self.read_tree_page(pgno)?;
        if p.first() == Some(&PT_LEAF) {
            let (i, eq) = search_leaf(p, pgno, key)?;
            if eq {
                self.remove_leaf_entry(pgno, i)?;
            }
            let len = self.build_leaf_cell(key, val)?;
            let wp = self.pg.write(pgno)?;
            if free_space(wp) >= len + 2 {
                insert_cell(wp, i, bytes(self.scr.cell, 0..len)?);
                return Ok(Placed::Done);
            }
            return Ok(Placed::Overflow { at: i, len });
        }
        let i = search_branch(p, pgno, key)?;
        let child = child_at(p, pgno, i)?;
        let right = match self.insert_rec(child, key, val, depth + 1)? {
            Placed::Done => return Ok(Placed::Done),
            Placed::Split(right) => right,
            Placed::Overflow { at, len } => {
                if self.balance_leaf(pgno, i, child, at, len)? {
                    return Ok(Placed::Done);
                }
                self.split(child, at, len)?
            }
        };
        // The child split: pointer i now goes to `right`, and a new cell
        // (child, sep) goes in at i.
        let wp = self.pg.write(pgno)?;
        set_child_at(wp, i, right);
        let seplen = get_u16(self.scr.sep, 0) as usize;
        let c = &mut *self.scr.cell;
        put_u32(c, 0, child);
        put_u16(c, 4, seplen as u16);
        put_bytes(c, 6, bytes(self.scr.sep, 2..2 + seplen)?)?;
        let len = 6 + seplen;
        let wp = self.pg.write(pgno)?;
        if free_space(wp) >= len + 2 {
            insert_cell(wp, i, bytes(self.scr.cell, 0..len)?);
            return Ok(Placed::Done);
        }
        self.split(pgno, i, len).map(Placed::Split)
    }

    /// Splits page `pgno` while inserting `scr.cell[..len]` at index `at`.
    fn split(&mut self, pgno: u32, at: usize, len: usize) -> Result<u32> {
        let ps = self.ps();
        put_bytes(self.scr.tmp, 0, self.pg.read(pgno)?)?;
        let tmp = &*self.scr.tmp;
        let ty = tmp.first().copied().unwrap_or(0);
        let leaf = ty == PT_LEAF;
        let n = ncells(tmp);
        let total = n + 1;
        let src = |j: usize| {
            if j < at {
                Src::Old(j)
            } else if j == at {
                Src::New
            } else {
                Src::Old(j - 1)
            }
        };
        let size_of = |j: usize| -> Result<usize> {
            Ok(match src(j) {
                Src::New => len,
                Src::Old(k) => raw_cell(tmp, pgno, k)?.0.len(),
            } + 2)
        };
        let mut all = 0;
        for j in 0..total {
            all += size_of(j)?;
        }
        // Cells going left: by bytes, half; an append at the end of the
        // right-most position keeps the old page full (sequential inserts).
        let cap = usable(tmp) - PAGE_HEADER;
        let mut m;
        if at == n && leaf {
            m = n;
        } else {
            m = 0;
            let mut acc = 0;
            while m < total {
                let s = size_of(m)?;
                if acc + s > all / 2 && m > 0 {
                    break;
                }
                acc += s;
                m += 1;
            }
        }
        // Branches push cell m up; leaves copy the first right key up.
        // (A branch holds at least two cells and a leaf one: `hi` is at
        // least 1; an error, not clamp's panic, if it were not.)
        let hi = if leaf { total - 1 } else { total.saturating_sub(2) };
        if hi < 1 {
            return Err(bad(pgno, "split cannot balance page (cell too large)"));
        }
        m = m.clamp(1, hi);
        let mut left_bytes = 0;
        for j in 0..m {
            left_bytes += size_of(j)?;
        }
        let rs = if leaf { m } else { m + 1 };
        let mut right_bytes = 0;
        for j in rs..total {
            right_bytes += size_of(j)?;
        }
        if left_bytes > cap || right_bytes > cap {
            return Err(bad(pgno, "split cannot balance page (cell too large)"));
        }
        let old_right = right_child(tmp);
        // Separator: for a leaf the first key of the right page; for a
        // branch the key of cell m, whose child becomes the left's right-most.
        let (sep_range, sep_from_new, mid_child) = match src(m) {
            Src::New => {
                let r = if leaf {
                    7..7 + get_u16(self.scr.cell, 0) as usize
                } else {
                    6..6 + get_u16(self.scr.cell, 4) as usize
                };
                let child = if leaf { 0 } else { get_u32(self.scr.cell, 0) };
                (r, true, child)
            }
            Src::Old(k) => {
                let (_, kr) = raw_cell(tmp, pgno, k)?;
                let child = if leaf { 0 } else { branch_cell(tmp, pgno, k)?.0 };
                (kr, false, child)
            }
        };
        let sl = sep_range.len();
        put_u16(self.scr.sep, 0, sl as u16);
        let from = if sep_from_new { &*self.scr.cell } else { &*self.scr.tmp };
        put_bytes(self.scr.sep, 2, bytes(from, sep_range)?)?;
        // Left page: rebuilt in place.
        let lp = self.pg.write(pgno)?;
        init_page(lp, ty);
        for j in 0..m {
            match src(j) {
                Src::New => push_cell(lp, bytes(self.scr.cell, 0..len)?),
                Src::Old(k) => {
                    let t = bytes(self.scr.tmp, 0..ps)?;
                    push_cell(lp, bytes(t, raw_cell(t, pgno, k)?.0)?)
                }
            }
        }
        if !leaf {
            put_u32(lp, 8, mid_child);
        }
        let (rpg, rp) = freelist::allocate(self.pg)?;
        init_page(rp, ty);
        for j in rs..total {
            match src(j) {
                Src::New => push_cell(rp, bytes(self.scr.cell, 0..len)?),
                Src::Old(k) => {
                    let t = bytes(self.scr.tmp, 0..ps)?;
                    push_cell(rp, bytes(t, raw_cell(t, pgno, k)?.0)?)
                }
            }
        }
        if !leaf {
            put_u32(rp, 8, old_right);
        }
        Ok(rpg)
    }

    // ----- delete -----

    /// Deletes `key`; returns whether it was present.
    pub(crate) fn delete(&mut self, root: u32, key: &[u8]) -> Result<bool> {
        let found = self.delete_rec(root, key, 0)?;
        if found {
            self.shrink_root(root)?;
        }
        Ok(found)
    }

    /// While the root is a branch with no cells, pull its only child up.
    fn shrink_root(&mut self, root: u32) -> Result<()> {
        let ps = self.ps();
        for _ in 0..MAX_DEPTH {
            let p = self.read_tree_page(root)?;
            if p[0] != PT_BRANCH || ncells(p) > 0 {
                return Ok(());
            }
            let child = right_child(p);
            if child == 0 {
                let wp = self.pg.write(root)?;
                init_page(wp, PT_LEAF);
                return Ok(());
            }
            let cp = self.pg.read(child)?;
            check_header(cp, child)?;
            self.scr.tmp[..ps].copy_from_slice(cp);
            let wp = self.pg.write(root)?;
            wp.copy_from_slice(&self.scr.tmp[..ps]);
            freelist::free(self.pg, child)?;
        }
        Ok(())
    }

    fn delete_rec(&mut self, pgno: u32, key: &[u8], depth: usize) -> Result<bool> {
        if depth >= MAX_DEPTH {
            return Err(bad(pgno, "tree too deep (page cycle)"));
        }
        let p = self.read_tree_page(pgno)?;
        if p.first() == Some(&PT_LEAF) {
            let (i, eq) = search_leaf(p, pgno, key)?;
            if eq {
                self.remove_leaf_entry(pgno, i)?;
            }
            return Ok(eq);
        }
        let i = search_branch(p, pgno, key)?;
        let child = child_at(p, pgno, i)?;
        if !self.delete_rec(child, key, depth + 1)? {
            return Ok(false);
        }
        self.fix_child(pgno, i)?;
        Ok(true)
    }

    /// After a delete below child `i` of branch `pgno`: free an empty child,
    /// bypass a branch child with one pointer, or merge an underfull child
    /// with a sibling.
    fn fix_child(&mut self, pgno: u32, i: usize) -> Result<()> {
        let bp = self.read_tree_page(pgno)?;
        let child = child_at(bp, pgno, i)?;
        let cp = self.read_tree_page(child)?;
        let (ty, n, rc, u) = (cp[0], ncells(cp), right_child(cp), used(cp));
        let cap = usable(cp) - PAGE_HEADER;
        if n == 0 && (ty == PT_LEAF || rc == 0) {
            freelist::free(self.pg, child)?;
            return self.remove_pointer(pgno, i);
        }
        if n == 0 {
            // A branch with one child: merge it into a sibling branch (which
            // keeps every leaf at one depth); if no sibling has room, replace
            // it by its child. The tree then has leaves at mixed depths, which
            // searches, cursors and splits handle (paths only get shorter).
            if !self.try_merge(pgno, i)? {
                freelist::free(self.pg, child)?;
                let wp = self.pg.write(pgno)?;
                set_child_at(wp, i, rc);
            }
            return Ok(());
        }
        if u < cap / 4 {
            self.try_merge(pgno, i)?;
        }
        Ok(())
    }

    /// Removes child pointer `i` (and one key) from a branch.
    fn remove_pointer(&mut self, pgno: u32, i: usize) -> Result<()> {
        let p = self.read_tree_page(pgno)?;
        let n = ncells(p);
        if n == 0 {
            let wp = self.pg.write(pgno)?;
            put_u32(wp, 8, 0);
            return Ok(());
        }
        let k = if i < n { i } else { n - 1 };
        let (child_k, _, size) = branch_cell(p, pgno, k)?;
        let off = slot(p, k);
        let wp = self.pg.write(pgno)?;
        if i == n {
            put_u32(wp, 8, child_k);
        }
        remove_cell(wp, k, off..off + size);
        Ok(())
    }

    /// Merges child `i` of branch `pgno` with a neighbour when both are of
    /// one type and fit in one page; returns whether it merged.
    fn try_merge(&mut self, pgno: u32, i: usize) -> Result<bool> {
        let ps = self.ps();
        let bp = self.pg.read(pgno)?;
        check_header(bp, pgno)?;
        let n = ncells(bp);
        if n == 0 {
            return Ok(false);
        }
        let j = if i < n { i } else { i - 1 };
        let a = child_at(bp, pgno, j)?;
        let b = child_at(bp, pgno, j + 1)?;
        let (_, kr, _) = branch_cell(bp, pgno, j)?;
        let klen = kr.len();
        // The separator goes into the cell buffer as a branch cell (used
        // only when merging branches).
        self.scr.cell[6..6 + klen].copy_from_slice(&bp[kr]);
        put_u16(self.scr.cell, 4, klen as u16);
        let ap = self.read_tree_page(a)?;
        let (aty, au, arc) = (ap[0], used(ap), right_child(ap));
        let cap = usable(ap) - PAGE_HEADER;
        let bpg = self.pg.read(b)?;
        check_header(bpg, b)?;
        let extra = if aty == PT_BRANCH { 6 + klen + 2 } else { 0 };
        if bpg[0] != aty || au + used(bpg) + extra > cap {
            return Ok(false);
        }
        self.scr.tmp[..ps].copy_from_slice(bpg);
        put_u32(self.scr.cell, 0, arc);
        let bn = ncells(&self.scr.tmp[..ps]);
        let brc = right_child(&self.scr.tmp[..ps]);
        let wa = self.pg.write(a)?;
        if aty == PT_BRANCH {
            push_cell(wa, &self.scr.cell[..6 + klen]);
            put_u32(wa, 8, brc);
        }
        for k in 0..bn {
            let (r, _) = raw_cell(&self.scr.tmp[..ps], b, k)?;
            push_cell(wa, &self.scr.tmp[r]);
        }
        freelist::free(self.pg, b)?;
        let wp = self.pg.write(pgno)?;
        set_child_at(wp, j + 1, a);
        let off = slot(wp, j);
        remove_cell(wp, j, off..off + 6 + klen);
        Ok(true)
    }

    // ----- whole trees -----

    /// Frees every page of the tree at `root`, overflow pages included.
    pub(crate) fn free_tree(&mut self, root: u32) -> Result<()> {
        self.free_rec(root, 0)
    }

    fn free_rec(&mut self, pgno: u32, depth: usize) -> Result<()> {
        if depth >= MAX_DEPTH {
            return Err(bad(pgno, "tree too deep (page cycle)"));
        }
        let p = self.read_tree_page(pgno)?;
        let n = ncells(p);
        if p[0] == PT_BRANCH {
            for i in 0..=n {
                let p = self.read_tree_page(pgno)?;
                let c = child_at(p, pgno, i)?;
                self.free_rec(c, depth + 1)?;
            }
        } else {
            for i in 0..n {
                let p = self.read_tree_page(pgno)?;
                let c = leaf_cell(p, pgno, i)?;
                if let Some(first) = c.ovfl {
                    self.free_overflow(first, c.vlen)?;
                }
            }
        }
        freelist::free(self.pg, pgno)
    }
}
