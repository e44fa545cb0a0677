//! The B+tree page format, owned here: page types, the page header, the
//! slot array, leaf and branch cells, overflow pages, and the limits that
//! follow from them (`max_cell`, [`max_key_len`]).
//!
//! # Page layout (leaf and branch pages)
//!
//! | offset | size | field |
//! |---|---|---|
//! | 0 | 1 | page type: 1 leaf, 2 branch |
//! | 1 | 1 | reserved, 0 |
//! | 2 | 2 | cell count `n` |
//! | 4 | 4 | content start: offset of the lowest cell byte |
//! | 8 | 4 | branch: right-most child page; leaf: 0 |
//! | 12 | 2n | slot array: offset of each cell, in key order |
//! | ... | | free space, then cell content up to `page_size - 4` |
//!
//! Leaf cell: key length (u16), flags (u8, bit 0 = value in overflow pages),
//! value length (u32), key bytes, then the value bytes (inline) or the first
//! overflow page (u32). Branch cell: child page (u32), key length (u16), key
//! bytes; the child holds the keys below the cell's key, the right-most child
//! the keys at or above the last cell's key.
//!
//! Overflow page: type 3, 3 reserved bytes, next overflow page (u32, 0 at the
//! end), then `page_size - 12` bytes of value.
//!
//! Every accessor is bounds-checked: a page that passed its checksum may
//! still have been crafted.

use core::cmp::Ordering as Cmp;
use core::ops::Range;

use crate::error::{corrupt, Error, FileKind, Result};
use crate::format::{get_u16, get_u32, put_u16, put_u32, PAGE_TRAILER};

/// What [`bytes`] and [`put_bytes`] return for a range outside its buffer:
/// never expected (the offsets come from checked cells and sizes), an
/// error instead of a panic.
const OUT_OF_RANGE: Error = Error::Corrupt {
    file: FileKind::Database,
    page: 0,
    reason: "cell bytes outside their page or scratch buffer",
};

/// The bytes `r` of `b`; `Corrupt` when `r` leaves it.
pub(crate) fn bytes(b: &[u8], r: Range<usize>) -> Result<&[u8]> {
    b.get(r).ok_or(OUT_OF_RANGE)
}

/// Copies `src` into `dst` at `at`; `Corrupt` when it does not fit.
pub(crate) fn put_bytes(dst: &mut [u8], at: usize, src: &[u8]) -> Result<()> {
    let d = dst.get_mut(at..).and_then(|d| d.get_mut(..src.len())).ok_or(OUT_OF_RANGE)?;
    // (A zip of two slices of one length: no length check to panic.)
    for (d, s) in d.iter_mut().zip(src) {
        *d = *s;
    }
    Ok(())
}

/// Page type byte (offset 0) of a B+tree leaf page.
pub const PT_LEAF: u8 = 1;
/// Page type byte of a B+tree branch (interior) page.
pub const PT_BRANCH: u8 = 2;
/// Page type byte of an overflow page.
pub const PT_OVERFLOW: u8 = 3;
/// Page type byte of a freelist trunk page.
pub const PT_FREELIST: u8 = 4;

/// Bytes of the B+tree page header.
pub const PAGE_HEADER: usize = 12;
/// Bytes of the overflow page header (type, 3 reserved bytes, next page).
pub const OVFL_HEADER: usize = 8;
/// Deepest tree walked before a page cycle is assumed.
pub const MAX_DEPTH: usize = 32;
/// Largest key any page size accepts, in bytes (reached at 8 KiB pages and up).
pub const MAX_KEY_CAP: usize = 2048;

/// Largest key, in bytes, for a page size: a third of a page's usable space
/// less cell overhead, so that any page holds at least three cells and a
/// split always succeeds; capped at [`MAX_KEY_CAP`]. 152 bytes at 512-byte
/// pages, 1,347 at 4 KiB, 2,048 from 8 KiB.
pub const fn max_key_len(page_size: u32) -> usize {
    let k = max_cell(page_size as usize) - 11;
    if k > MAX_KEY_CAP {
        MAX_KEY_CAP
    } else {
        k
    }
}

/// Largest B+tree cell in bytes (excluding its 2-byte slot).
pub(crate) const fn max_cell(page_size: usize) -> usize {
    (page_size - PAGE_TRAILER - PAGE_HEADER) / 3 - 2
}

pub(crate) const fn bad(page: u32, reason: &'static str) -> Error {
    corrupt(FileKind::Database, page, reason)
}

// ---------- page accessors (all bounds-checked: a page that passed its
// checksum may still have been crafted) ----------

#[inline]
pub(crate) fn ncells(p: &[u8]) -> usize {
    get_u16(p, 2) as usize
}
#[inline]
pub(crate) fn content_start(p: &[u8]) -> usize {
    get_u32(p, 4) as usize
}
#[inline]
pub(crate) fn usable(p: &[u8]) -> usize {
    p.len() - PAGE_TRAILER
}
#[inline]
pub(crate) fn right_child(p: &[u8]) -> u32 {
    get_u32(p, 8)
}
#[inline]
pub(crate) fn set_ncells(p: &mut [u8], n: usize) {
    put_u16(p, 2, n as u16)
}

/// Checks the page header of a tree page.
#[inline]
pub(crate) fn check_header(p: &[u8], pgno: u32) -> Result<()> {
    let ty = p.first().copied();
    if ty != Some(PT_LEAF) && ty != Some(PT_BRANCH) {
        return Err(bad(pgno, "not a B+tree page"));
    }
    let n = ncells(p);
    let cs = content_start(p);
    if PAGE_HEADER + 2 * n > cs || cs > usable(p) {
        return Err(bad(pgno, "B+tree page header out of range"));
    }
    Ok(())
}

#[inline]
pub(crate) fn slot(p: &[u8], i: usize) -> usize {
    get_u16(p, PAGE_HEADER + 2 * i) as usize
}

/// A decoded leaf cell (ranges index the page).
#[derive(Debug, Clone)]
pub(crate) struct LeafCell {
    pub key: Range<usize>,
    pub vlen: u32,
    /// First overflow page, or `None` for an inline value.
    pub ovfl: Option<u32>,
    /// Inline value range (empty for overflow values).
    pub val: Range<usize>,
    pub size: usize,
}

#[inline]
pub(crate) fn leaf_cell(p: &[u8], pgno: u32, i: usize) -> Result<LeafCell> {
    let off = slot(p, i);
    let end = usable(p);
    if off < content_start(p) || off + 7 > end {
        return Err(bad(pgno, "leaf cell offset out of range"));
    }
    let klen = get_u16(p, off) as usize;
    let Some(&flags) = p.get(off + 2) else {
        return Err(bad(pgno, "leaf cell offset out of range"));
    };
    let vlen = get_u32(p, off + 3);
    let kstart = off + 7;
    let kend = kstart + klen;
    if flags & 1 != 0 {
        if kend + 4 > end {
            return Err(bad(pgno, "leaf cell out of range"));
        }
        let first = get_u32(p, kend);
        Ok(LeafCell {
            key: kstart..kend,
            vlen,
            ovfl: Some(first),
            val: kend..kend,
            size: 7 + klen + 4,
        })
    } else {
        let vend = kend + vlen as usize;
        if vend > end {
            return Err(bad(pgno, "leaf cell out of range"));
        }
        Ok(LeafCell {
            key: kstart..kend,
            vlen,
            ovfl: None,
            val: kend..vend,
            size: 7 + klen + vlen as usize,
        })
    }
}

/// Branch cell `i`: (child page, key range, cell size).
#[inline]
pub(crate) fn branch_cell(p: &[u8], pgno: u32, i: usize) -> Result<(u32, Range<usize>, usize)> {
    let off = slot(p, i);
    let end = usable(p);
    if off < content_start(p) || off + 6 > end {
        return Err(bad(pgno, "branch cell offset out of range"));
    }
    let child = get_u32(p, off);
    let klen = get_u16(p, off + 4) as usize;
    if off + 6 + klen > end {
        return Err(bad(pgno, "branch cell out of range"));
    }
    Ok((child, off + 6..off + 6 + klen, 6 + klen))
}

/// Cell `i` as raw bytes range and key range, for either page type.
pub(crate) fn raw_cell(p: &[u8], pgno: u32, i: usize) -> Result<(Range<usize>, Range<usize>)> {
    if p.first() == Some(&PT_LEAF) {
        let c = leaf_cell(p, pgno, i)?;
        let off = slot(p, i);
        Ok((off..off + c.size, c.key))
    } else {
        let (_, k, size) = branch_cell(p, pgno, i)?;
        let off = slot(p, i);
        Ok((off..off + size, k))
    }
}

/// Child pointer `i` of a branch (`i == n` is the right-most child).
#[inline]
pub(crate) fn child_at(p: &[u8], pgno: u32, i: usize) -> Result<u32> {
    let c = if i == ncells(p) {
        right_child(p)
    } else {
        branch_cell(p, pgno, i)?.0
    };
    if c < 2 {
        return Err(bad(pgno, "child page number out of range"));
    }
    Ok(c)
}

pub(crate) fn set_child_at(p: &mut [u8], i: usize, child: u32) {
    if i == ncells(p) {
        put_u32(p, 8, child);
    } else {
        let off = slot(p, i);
        put_u32(p, off, child);
    }
}

/// The key of leaf cell `i` (a lighter decoding than [`leaf_cell`], for
/// searches).
#[inline]
pub(crate) fn leaf_key(p: &[u8], pgno: u32, i: usize) -> Result<&[u8]> {
    let off = slot(p, i);
    let end = usable(p);
    if off < content_start(p) || off + 7 > end {
        return Err(bad(pgno, "leaf cell offset out of range"));
    }
    let kend = off + 7 + get_u16(p, off) as usize;
    if kend > end {
        return Err(bad(pgno, "leaf cell out of range"));
    }
    bytes(p, off + 7..kend)
}

/// The key of branch cell `i`.
#[inline]
fn branch_key(p: &[u8], pgno: u32, i: usize) -> Result<&[u8]> {
    let off = slot(p, i);
    let end = usable(p);
    if off < content_start(p) || off + 6 > end {
        return Err(bad(pgno, "branch cell offset out of range"));
    }
    let kend = off + 6 + get_u16(p, off + 4) as usize;
    if kend > end {
        return Err(bad(pgno, "branch cell out of range"));
    }
    bytes(p, off + 6..kend)
}

/// Bytewise order of two keys (the order of the trees), with the first 8
/// bytes compared as one big-endian integer: in a search most comparisons
/// are decided there, without a call to `memcmp`.
#[inline]
pub(crate) fn cmp_keys(a: &[u8], b: &[u8]) -> Cmp {
    if let (Some(x), Some(y)) = (a.first_chunk::<8>(), b.first_chunk::<8>()) {
        match u64::from_be_bytes(*x).cmp(&u64::from_be_bytes(*y)) {
            Cmp::Equal => a[8..].cmp(&b[8..]),
            o => o,
        }
    } else {
        a.cmp(b)
    }
}

/// Index of the first cell whose key is >= `key` (leaf search), and whether
/// it is equal.
#[inline]
pub(crate) fn search_leaf(p: &[u8], pgno: u32, key: &[u8]) -> Result<(usize, bool)> {
    let (mut lo, mut hi) = (0, ncells(p));
    while lo < hi {
        let mid = (lo + hi) / 2;
        match cmp_keys(leaf_key(p, pgno, mid)?, key) {
            Cmp::Less => lo = mid + 1,
            Cmp::Equal => return Ok((mid, true)),
            Cmp::Greater => hi = mid,
        }
    }
    Ok((lo, false))
}

/// Index of the child of a branch that covers `key`: the first cell whose
/// key is > `key`, or `n` (the right-most child).
#[inline]
pub(crate) fn search_branch(p: &[u8], pgno: u32, key: &[u8]) -> Result<usize> {
    let (mut lo, mut hi) = (0, ncells(p));
    while lo < hi {
        let mid = (lo + hi) / 2;
        if cmp_keys(branch_key(p, pgno, mid)?, key) != Cmp::Greater {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    Ok(lo)
}

pub(crate) fn init_page(p: &mut [u8], ty: u8) {
    let u = usable(p);
    if let Some(h) = p.first_chunk_mut::<PAGE_HEADER>() {
        *h = [0; PAGE_HEADER];
        h[0] = ty;
    }
    set_ncells(p, 0);
    put_u32(p, 4, u as u32);
}

pub(crate) fn free_space(p: &[u8]) -> usize {
    content_start(p).saturating_sub(PAGE_HEADER + 2 * ncells(p))
}

/// Bytes a page's cells and slots occupy.
pub(crate) fn used(p: &[u8]) -> usize {
    usable(p) - content_start(p) + 2 * ncells(p)
}

/// Moves `p[from]` to start at `to` (overlapping ranges, as
/// `copy_within`). On bare-metal targets (`target_os = "none"`:
/// microcontrollers) a byte at a time, so that no `memmove` is linked: the
/// word-at-a-time one of `compiler_builtins` is 1.5 KiB of flash, and the
/// moves are short (a page's slot array, the cells below a removed one).
/// Elsewhere `copy_within`. The callers' ranges lie in the page.
#[cfg(target_os = "none")]
fn move_bytes(p: &mut [u8], from: Range<usize>, to: usize) {
    move_bytewise(p, from, to);
}
#[cfg(not(target_os = "none"))]
fn move_bytes(p: &mut [u8], from: Range<usize>, to: usize) {
    p.copy_within(from, to);
}

/// [`move_bytes`] a byte at a time (see there); stops at the end of `p`
/// (never reached: a debug assertion in tests).
#[cfg_attr(not(any(test, target_os = "none")), allow(dead_code))]
fn move_bytewise(p: &mut [u8], from: Range<usize>, to: usize) {
    let (start, n) = (from.start, from.len());
    debug_assert!(from.end <= p.len() && to + n <= p.len(), "move past the page");
    let mut step = |k: usize| -> bool {
        let Some(&b) = p.get(start + k) else { return false };
        let Some(d) = p.get_mut(to + k) else { return false };
        *d = b;
        true
    };
    if to > start {
        for k in (0..n).rev() {
            if !step(k) {
                return;
            }
        }
    } else {
        for k in 0..n {
            if !step(k) {
                return;
            }
        }
    }
}

/// Inserts raw cell bytes at index `i`; the caller checked the space.
pub(crate) fn insert_cell(p: &mut [u8], i: usize, cell: &[u8]) {
    let n = ncells(p);
    let cs = content_start(p) - cell.len();
    p[cs..cs + cell.len()].copy_from_slice(cell);
    let sa = PAGE_HEADER + 2 * i;
    move_bytes(p, sa..PAGE_HEADER + 2 * n, sa + 2);
    put_u16(p, sa, cs as u16);
    put_u32(p, 4, cs as u32);
    set_ncells(p, n + 1);
}

/// Removes cell `i` whose bytes are `cell` and compacts the content area.
pub(crate) fn remove_cell(p: &mut [u8], i: usize, cell: Range<usize>) {
    let n = ncells(p);
    let cs = content_start(p);
    let len = cell.len();
    move_bytes(p, cs..cell.start, cs + len);
    for j in 0..n {
        let o = slot(p, j);
        if o < cell.start {
            put_u16(p, PAGE_HEADER + 2 * j, (o + len) as u16);
        }
    }
    let sa = PAGE_HEADER + 2 * i;
    move_bytes(p, sa + 2..PAGE_HEADER + 2 * n, sa);
    put_u32(p, 4, (cs + len) as u32);
    set_ncells(p, n - 1);
}

/// Appends cell bytes at the end of the slot array (building pages in key
/// order).
pub(crate) fn push_cell(p: &mut [u8], cell: &[u8]) {
    let n = ncells(p);
    insert_cell(p, n, cell);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The bytewise move of bare-metal targets does what `copy_within`
    /// does, overlapping either way.
    #[test]
    fn move_bytewise_is_copy_within() {
        for (from, to) in [(0..0, 3), (2..10, 5), (5..13, 2), (0..16, 0), (3..4, 15), (8..16, 0), (0..8, 8)] {
            let mut a: [u8; 16] = core::array::from_fn(|i| i as u8 * 7 + 1);
            let mut b = a;
            a.copy_within(from.clone(), to);
            move_bytewise(&mut b, from.clone(), to);
            assert_eq!(a, b, "{from:?} to {to}");
        }
    }
}
