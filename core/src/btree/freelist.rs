//! The freelist: pages no tree uses, kept as a chain of trunk pages each
//! listing free page numbers; allocation takes from it before growing the
//! database.
//!
//! # Trunk page layout
//!
//! | offset | size | field |
//! |---|---|---|
//! | 0 | 1 | page type 4 ([`PT_FREELIST`]) |
//! | 1 | 3 | reserved, 0 |
//! | 4 | 4 | next trunk page, 0 at the end |
//! | 8 | 4 | entries `k` on this trunk |
//! | 12 | 4k | free page numbers |
//!
//! The database header's freelist head is the first trunk and its
//! freelist count counts every free page, trunks included. A trunk holds
//! up to `(page_size - 16) / 4` entries; a page freed when the head trunk
//! is full becomes the new head trunk. Allocation pops the head trunk's
//! last entry, or, when it has none, takes the trunk page itself.

use crate::btree::page::PT_FREELIST;
use crate::error::{corrupt, Error, FileKind, Result};
use crate::format::{get_u32, put_u32, PAGE_TRAILER};
use crate::pager::Pager;
use crate::storage::Storage;

/// Entries a trunk page of `page_size` bytes holds.
pub(crate) const fn trunk_capacity(page_size: usize) -> usize {
    (page_size - PAGE_TRAILER - 12) / 4
}

/// Allocates a page: pops the freelist, else grows the database. The page
/// comes back zeroed and dirty. Errors: `Corrupt` (a damaged freelist),
/// `Full` (2^32-1 pages), the pager's.
pub(crate) fn allocate<'p, S: Storage>(pg: &'p mut Pager<'_, S>) -> Result<(u32, &'p mut [u8])> {
    let mut h = pg.header()?;
    let cap = trunk_capacity(pg.page_size());
    let pgno;
    if h.freelist_head != 0 {
        let trunk = h.freelist_head;
        let t = pg.read(trunk)?;
        if t.first() != Some(&PT_FREELIST) {
            return Err(corrupt(FileKind::Database, trunk, "freelist trunk has wrong page type"));
        }
        let count = get_u32(t, 8);
        let next = get_u32(t, 4);
        if count as usize > cap {
            return Err(corrupt(FileKind::Database, trunk, "freelist trunk count out of range"));
        }
        if count > 0 {
            let leaf = get_u32(t, 12 + 4 * (count as usize - 1));
            if leaf < 2 || leaf > h.page_count {
                return Err(corrupt(FileKind::Database, trunk, "freelist entry out of range"));
            }
            let t = pg.write(trunk)?;
            put_u32(t, 8, count - 1);
            pgno = leaf;
        } else {
            h.freelist_head = next;
            pgno = trunk;
        }
        h.freelist_count = h.freelist_count.saturating_sub(1);
    } else {
        if h.page_count == u32::MAX {
            return Err(Error::Full {
                what: "database page numbers (2^32-1 pages)",
            });
        }
        h.page_count += 1;
        pgno = h.page_count;
    }
    pg.set_header(&h)?;
    let p = pg.fresh(pgno)?;
    Ok((pgno, p))
}

/// Returns `pgno` to the freelist. Errors: `Corrupt` (page out of range, a
/// damaged freelist), the pager's.
pub(crate) fn free<S: Storage>(pg: &mut Pager<'_, S>, pgno: u32) -> Result<()> {
    let mut h = pg.header()?;
    if pgno < 2 || pgno > h.page_count {
        return Err(corrupt(FileKind::Database, pgno, "freeing a page out of range"));
    }
    let cap = trunk_capacity(pg.page_size());
    if h.freelist_head != 0 {
        let trunk = h.freelist_head;
        let t = pg.read(trunk)?;
        if t.first() != Some(&PT_FREELIST) {
            return Err(corrupt(FileKind::Database, trunk, "freelist trunk has wrong page type"));
        }
        let count = get_u32(t, 8) as usize;
        if count < cap {
            let t = pg.write(trunk)?;
            put_u32(t, 12 + 4 * count, pgno);
            put_u32(t, 8, count as u32 + 1);
            h.freelist_count += 1;
            return pg.set_header(&h);
        }
    }
    let old = h.freelist_head;
    let t = pg.fresh(pgno)?;
    if let Some(ty) = t.first_mut() {
        *ty = PT_FREELIST;
    }
    put_u32(t, 4, old);
    put_u32(t, 8, 0);
    h.freelist_head = pgno;
    h.freelist_count += 1;
    pg.set_header(&h)
}
