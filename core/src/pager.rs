//! The pager: a fixed-capacity page cache in caller-provided memory, page
//! reads through a snapshot (WAL frame via the wal-index, else the database
//! file), dirty pages, spilling, WAL frame appends, and page allocation from
//! the freelist.
//!
//! Invariants:
//! - every page handed to the B+tree passed its checksum when it was read;
//! - a dirty page is never dropped: eviction of a dirty page spills it to
//!   the WAL as a non-commit frame first (so a transaction can exceed the
//!   cache);
//! - the database file is never written here (only the checkpointer writes
//!   it), which is the write-ahead rule;
//! - outside a write transaction the cache holds only clean pages of the
//!   snapshot it was filled under (`PagerState::cache_change`).

use crate::error::{corrupt, Error, FileKind, Result};
use crate::format::{self, get_u32, put_u32, DbHeader, FrameHeader, WalHeader, FRAME_HEADER_LEN, PT_FREELIST, WAL_HEADER_LEN};
use crate::storage::{io_err, Storage};
use crate::walindex::Index;

/// Bytes of cache metadata per slot (page number, flags).
pub(crate) const SLOT_META: usize = 8;
const F_DIRTY: u32 = 1;
const F_REF: u32 = 2;

/// How a page read finds its version.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct ReadCtx {
    /// Newest WAL frame visible (0: none).
    pub max_frame: u32,
    /// The snapshot ignores the WAL (read mark slot 0).
    pub db_only: bool,
    /// Pages in the database at this snapshot (bound for database-file reads).
    pub n_pages: u32,
}

/// State of the writer's WAL appends.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct WriteCtx {
    /// Last frame written (spilled or committed).
    pub last_frame: u32,
    /// Checksum of `last_frame` (chain seed).
    pub cksum: u32,
    pub salt1: u32,
    pub salt2: u32,
    pub ckpt_seq: u32,
    /// Whether the WAL file header for this generation is written.
    pub header_written: bool,
    /// Sync the WAL right after writing its header (every sync mode but
    /// `Off`), as SQLite's `syncHeader`: frames of the new generation
    /// never reach the disk before the header whose salts retire the old
    /// generation's frames. Without it, a power cut could keep new frames
    /// but lose the new header, and recovery would replay a prefix of the
    /// old generation over a database file that is already newer.
    pub sync_header: bool,
    /// Frames spilled in this transaction.
    pub spilled: u32,
}

/// Persistent pager state kept in the connection between calls.
#[derive(Debug)]
pub(crate) struct PagerState {
    pub page_size: usize,
    pub nslots: usize,
    clock: usize,
    /// Wal-index change counter the clean cache content belongs to.
    pub cache_change: Option<u32>,
    pub read: ReadCtx,
    pub write: Option<WriteCtx>,
    /// Frames written since open (statistics).
    pub frames_written: u64,
    /// WAL header syncs since open (statistics).
    pub header_syncs: u64,
}

impl PagerState {
    pub(crate) fn new(page_size: usize, nslots: usize) -> Self {
        PagerState {
            page_size,
            nslots,
            clock: 0,
            cache_change: None,
            read: ReadCtx::default(),
            write: None,
            frames_written: 0,
            header_syncs: 0,
        }
    }
}

/// A borrowed view of everything a page operation needs.
pub(crate) struct Pager<'a, S: Storage> {
    pub mem: &'a mut [u8],
    pub st: &'a mut PagerState,
    pub db: &'a mut S,
    pub wal: &'a mut S,
    pub idx: Index<'a>,
}

impl<'a, S: Storage> Pager<'a, S> {
    fn meta_at(&self, slot: usize) -> usize {
        self.st.nslots * self.st.page_size + slot * SLOT_META
    }
    fn slot_pgno(&self, slot: usize) -> u32 {
        get_u32(self.mem, self.meta_at(slot))
    }
    fn slot_flags(&self, slot: usize) -> u32 {
        get_u32(self.mem, self.meta_at(slot) + 4)
    }
    fn set_slot(&mut self, slot: usize, pgno: u32, flags: u32) {
        let m = self.meta_at(slot);
        put_u32(self.mem, m, pgno);
        put_u32(self.mem, m + 4, flags);
    }
    fn page_range(&self, slot: usize) -> core::ops::Range<usize> {
        let ps = self.st.page_size;
        slot * ps..(slot + 1) * ps
    }
    fn find(&self, pgno: u32) -> Option<usize> {
        (0..self.st.nslots).find(|&s| self.slot_pgno(s) == pgno)
    }

    /// Empties the cache (all slots must be clean).
    pub(crate) fn clear(&mut self) {
        for s in 0..self.st.nslots {
            self.set_slot(s, 0, 0);
        }
        self.st.cache_change = None;
    }

    /// Picks a slot to reuse: an empty one, else by the clock algorithm a
    /// clean unreferenced one, spilling a dirty page if every page is dirty.
    fn victim(&mut self) -> Result<usize> {
        let n = self.st.nslots;
        if let Some(s) = (0..n).find(|&s| self.slot_pgno(s) == 0) {
            return Ok(s);
        }
        for _ in 0..2 * n {
            let s = self.st.clock;
            self.st.clock = (s + 1) % n;
            let f = self.slot_flags(s);
            if f & F_DIRTY != 0 {
                continue;
            }
            if f & F_REF != 0 {
                let p = self.slot_pgno(s);
                self.set_slot(s, p, f & !F_REF);
                continue;
            }
            return Ok(s);
        }
        // Every slot is dirty: spill the one under the clock hand.
        let s = self.st.clock;
        self.st.clock = (s + 1) % n;
        let pgno = self.slot_pgno(s);
        self.append_frame(s, pgno, 0)?;
        if let Some(w) = self.st.write.as_mut() {
            w.spilled += 1;
        }
        self.set_slot(s, 0, 0);
        Ok(s)
    }

    /// Loads `pgno` into a slot (the snapshot's version) and returns the slot.
    fn load(&mut self, pgno: u32) -> Result<usize> {
        if let Some(s) = self.find(pgno) {
            let f = self.slot_flags(s);
            self.set_slot(s, pgno, f | F_REF);
            return Ok(s);
        }
        if pgno == 0 {
            return Err(corrupt(FileKind::Database, 0, "reference to page 0"));
        }
        let s = self.victim()?;
        // The slot's old page is gone from here on: if the read or the
        // checksum below fails, the slot must not still claim it.
        self.set_slot(s, 0, 0);
        let r = self.page_range(s);
        let ps = self.st.page_size as u64;
        let ctx = self.st.read;
        let frame = if ctx.db_only { None } else { self.idx.lookup(pgno, ctx.max_frame) };
        let (file, res) = match frame {
            Some(f) => {
                let off = format::frame_offset(f, ps as u32) + FRAME_HEADER_LEN as u64;
                (
                    FileKind::Wal,
                    self.wal.read_at(off, &mut self.mem[r.clone()]).map_err(io_err(FileKind::Wal)),
                )
            }
            None => {
                if pgno > ctx.n_pages {
                    return Err(corrupt(FileKind::Database, pgno, "page number beyond the database size"));
                }
                let off = (pgno as u64 - 1) * ps;
                (
                    FileKind::Database,
                    self.db.read_at(off, &mut self.mem[r.clone()]).map_err(io_err(FileKind::Database)),
                )
            }
        };
        let n = res?;
        if n < r.len() {
            return Err(corrupt(file, pgno, "file truncated: page missing"));
        }
        format::verify_page(file, pgno, &self.mem[r])?;
        self.set_slot(s, pgno, F_REF);
        Ok(s)
    }

    /// The snapshot's version of page `pgno` (checksum verified).
    pub(crate) fn read(&mut self, pgno: u32) -> Result<&[u8]> {
        let s = self.load(pgno)?;
        let r = self.page_range(s);
        Ok(&self.mem[r])
    }

    /// Page `pgno`, made dirty for writing. Only in a write transaction.
    pub(crate) fn write(&mut self, pgno: u32) -> Result<&mut [u8]> {
        if self.st.write.is_none() {
            return Err(Error::ReadOnly);
        }
        let s = self.load(pgno)?;
        self.set_slot(s, pgno, F_DIRTY | F_REF);
        let r = self.page_range(s);
        Ok(&mut self.mem[r])
    }

    /// A dirty, zeroed cache page for `pgno` (not read from storage).
    pub(crate) fn fresh(&mut self, pgno: u32) -> Result<&mut [u8]> {
        let s = match self.find(pgno) {
            Some(s) => s,
            None => self.victim()?,
        };
        self.set_slot(s, pgno, F_DIRTY | F_REF);
        let r = self.page_range(s);
        let p = &mut self.mem[r];
        p.fill(0);
        Ok(p)
    }

    /// The database header (page 1) as this transaction sees it.
    pub(crate) fn header(&mut self) -> Result<DbHeader> {
        let p = self.read(1)?;
        let h = DbHeader::decode_unchecked(p);
        h.check()?;
        Ok(h)
    }

    /// Rewrites the database header fields in page 1.
    pub(crate) fn set_header(&mut self, h: &DbHeader) -> Result<()> {
        let p = self.write(1)?;
        h.encode(p);
        Ok(())
    }

    /// Allocates a page: pops the freelist, else grows the database. The
    /// page comes back zeroed and dirty.
    pub(crate) fn allocate(&mut self) -> Result<(u32, &mut [u8])> {
        let mut h = self.header()?;
        let cap = self.trunk_capacity();
        let pgno;
        if h.freelist_head != 0 {
            let trunk = h.freelist_head;
            let t = self.read(trunk)?;
            if t[0] != PT_FREELIST {
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
                let t = self.write(trunk)?;
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
        self.set_header(&h)?;
        let p = self.fresh(pgno)?;
        Ok((pgno, p))
    }

    fn trunk_capacity(&self) -> usize {
        (self.st.page_size - format::PAGE_TRAILER - 12) / 4
    }

    /// Returns `pgno` to the freelist.
    pub(crate) fn free(&mut self, pgno: u32) -> Result<()> {
        let mut h = self.header()?;
        if pgno < 2 || pgno > h.page_count {
            return Err(corrupt(FileKind::Database, pgno, "freeing a page out of range"));
        }
        let cap = self.trunk_capacity();
        if h.freelist_head != 0 {
            let trunk = h.freelist_head;
            let t = self.read(trunk)?;
            if t[0] != PT_FREELIST {
                return Err(corrupt(FileKind::Database, trunk, "freelist trunk has wrong page type"));
            }
            let count = get_u32(t, 8) as usize;
            if count < cap {
                let t = self.write(trunk)?;
                put_u32(t, 12 + 4 * count, pgno);
                put_u32(t, 8, count as u32 + 1);
                h.freelist_count += 1;
                return self.set_header(&h);
            }
        }
        let old = h.freelist_head;
        let t = self.fresh(pgno)?;
        t[0] = PT_FREELIST;
        put_u32(t, 4, old);
        put_u32(t, 8, 0);
        h.freelist_head = pgno;
        h.freelist_count += 1;
        self.set_header(&h)
    }

    /// Appends the page in `slot` as the next WAL frame (`commit_size` > 0
    /// makes it a commit frame), writing the WAL header first for a new
    /// generation, and records it in the wal-index.
    fn append_frame(&mut self, slot: usize, pgno: u32, commit_size: u32) -> Result<()> {
        let ps = self.st.page_size as u32;
        let Some(mut w) = self.st.write else { return Err(Error::ReadOnly) };
        let frame = w.last_frame + 1;
        if frame > self.idx.capacity() {
            return Err(Error::Full {
                what: "WAL frames (max_wal_frames); checkpoint or raise the limit",
            });
        }
        if frame == 1 && !w.header_written {
            let mut hb = [0u8; WAL_HEADER_LEN];
            let wh = WalHeader {
                page_size: ps,
                ckpt_seq: w.ckpt_seq,
                salt1: w.salt1,
                salt2: w.salt2,
            };
            w.cksum = wh.encode(&mut hb);
            self.wal.write_at(0, &hb).map_err(io_err(FileKind::Wal))?;
            if w.sync_header {
                self.st.header_syncs += 1;
                self.wal.sync().map_err(io_err(FileKind::Wal))?;
            }
            w.header_written = true;
        }
        let r = self.page_range(slot);
        format::seal_page(pgno, &mut self.mem[r.clone()]);
        let mut fh = [0u8; FRAME_HEADER_LEN];
        w.cksum = FrameHeader::encode(pgno, commit_size, w.salt1, w.salt2, w.cksum, &self.mem[r.clone()], &mut fh);
        let off = format::frame_offset(frame, ps);
        self.wal.write_at(off, &fh).map_err(io_err(FileKind::Wal))?;
        self.wal
            .write_at(off + FRAME_HEADER_LEN as u64, &self.mem[r])
            .map_err(io_err(FileKind::Wal))?;
        self.idx.insert(frame, pgno)?;
        w.last_frame = frame;
        self.st.write = Some(w);
        self.st.read.max_frame = frame;
        self.st.frames_written += 1;
        Ok(())
    }

    /// Whether page `pgno` is in the cache and dirty.
    pub(crate) fn is_dirty(&self, pgno: u32) -> bool {
        self.find(pgno).is_some_and(|s| self.slot_flags(s) & F_DIRTY != 0)
    }

    /// Number of dirty pages in the cache.
    pub(crate) fn dirty_count(&self) -> usize {
        (0..self.st.nslots).filter(|&s| self.slot_flags(s) & F_DIRTY != 0).count()
    }

    /// Writes every dirty page as a WAL frame, the last as the commit frame
    /// with `n_pages`; returns the commit frame number.
    pub(crate) fn write_commit(&mut self, n_pages: u32) -> Result<u32> {
        let mut left = self.dirty_count();
        for s in 0..self.st.nslots {
            let f = self.slot_flags(s);
            if f & F_DIRTY == 0 {
                continue;
            }
            left -= 1;
            let pgno = self.slot_pgno(s);
            self.append_frame(s, pgno, if left == 0 { n_pages } else { 0 })?;
            self.set_slot(s, pgno, f & !F_DIRTY);
        }
        Ok(self.st.write.map(|w| w.last_frame).unwrap_or(0))
    }
}
