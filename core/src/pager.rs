//! The pager: a fixed-capacity page cache in caller-provided memory, page
//! reads through a snapshot (the newest WAL frame at or below the
//! snapshot, found through the wal-index, else the database file), dirty
//! pages, spilling to the WAL, and the commit's frames.
//!
//! # The read path
//!
//! 1. On a cache hit the slot's reference bit is set and the page returned.
//! 2. On a miss a slot is chosen (an empty one, else a clean unreferenced
//!    one by the clock algorithm, else a dirty one is spilled) and marked
//!    empty before anything is read, so that a failed read or checksum never
//!    leaves it claiming its old page.
//! 3. Unless the snapshot ignores the WAL (read-mark slot 0), the wal-index
//!    is probed for the newest frame of the page at or below the snapshot's
//!    last frame; frames above it belong to later commits or to a writer in
//!    progress, which is why a reader needs no lock. A frame found is read
//!    from the WAL at `frame_offset(f) + 24`; otherwise the page must lie
//!    within the snapshot's database size and is read from the database
//!    file at `(pgno - 1) * page_size`.
//! 4. A short read is `Corrupt`; so is a page whose checksum (CRC-32C of its
//!    page number and its bytes) fails. The B+tree then checks the page
//!    header and every cell bound it touches: a page with a correct checksum
//!    may still have been crafted.
//!
//! # Invariants
//! - every page handed to the B+tree passed its checksum when it was read;
//! - a dirty page is never dropped: eviction of a dirty page spills it to
//!   the WAL as a non-commit frame first, so a transaction can exceed the
//!   cache (the frame writer, [`crate::wal::frames`], seals and appends it);
//! - the database file is never written here (only the checkpointer writes
//!   it): the write-ahead rule;
//! - outside a write transaction the cache holds only clean pages of the
//!   snapshot whose wal-index change counter it recorded.
//!
//! # Memory layout
//!
//! `Pages::new` lays out the caller's cache memory once: two scratch
//! pages (a page copy for splits and merges; a cell buffer and a separator
//! buffer, half a page each), then `n` page slots, then 8 bytes of
//! metadata per slot (page number, flags). [`cache_mem_len`] is the size of
//! that layout for `n` pages.

use crate::error::{corrupt, Error, FileKind, Result};
use crate::format::{self, get_u32, put_u32, DbHeader, FRAME_HEADER_LEN};
use crate::storage::{io_err, Storage};
use crate::wal::checkpoint::FileIo;
use crate::wal::frames::{FrameWriter, WriterStats};
use crate::wal::index::{Index, IndexHeader};

/// Bytes of cache metadata per slot (page number, flags).
const SLOT_META: usize = 8;
/// Scratch pages before the slots.
const SCRATCH_PAGES: usize = 2;
const F_DIRTY: u32 = 1;
const F_REF: u32 = 2;

/// Fewest cache pages a connection accepts.
pub const MIN_CACHE_PAGES: u32 = 4;

/// Cache memory, in bytes, a connection needs for `cache_pages` pages of
/// `page_size` bytes: `(cache_pages + 2) * page_size + 8 * cache_pages` (two
/// scratch pages for splits and merges, 8 bytes of metadata per slot).
pub const fn cache_mem_len(page_size: u32, cache_pages: u32) -> usize {
    (cache_pages as usize + SCRATCH_PAGES) * page_size as usize + SLOT_META * cache_pages as usize
}

/// How a page read finds its version: the snapshot.
#[derive(Debug, Clone, Copy, Default)]
struct ReadCtx {
    /// Newest WAL frame visible (0: none).
    max_frame: u32,
    /// The snapshot ignores the WAL (read mark slot 0).
    db_only: bool,
    /// Pages in the database at this snapshot (bound for database-file reads).
    n_pages: u32,
}

/// The cache's bookkeeping (everything but the memory and the files).
#[derive(Debug)]
struct State {
    page_size: usize,
    nslots: usize,
    clock: usize,
    /// Wal-index change counter the clean cache content belongs to.
    cache_change: Option<u32>,
    read: ReadCtx,
    writer: Option<FrameWriter>,
    wstats: WriterStats,
}

/// The pager of one connection: its two files, its cache memory `B` and
/// the cache's bookkeeping. [`Pages::bind`] lends it out as a [`Pager`]
/// with the wal-index for one operation.
pub(crate) struct Pages<S: Storage, B: AsMut<[u8]>> {
    db: S,
    wal: S,
    mem: B,
    st: State,
}

/// Scratch memory a tree operation borrows besides the cache.
pub(crate) struct Scratch<'s> {
    /// A page-sized copy of a page being split or merged.
    pub tmp: &'s mut [u8],
    /// A new cell being built (half a page).
    pub cell: &'s mut [u8],
    /// A separator key travelling up or down the tree (half a page).
    pub sep: &'s mut [u8],
}

impl<S: Storage, B: AsMut<[u8]>> Pages<S, B> {
    /// Lays out `mem` for pages of `page_size` bytes: as many cache slots as
    /// fit after the two scratch pages. Errors: `InvalidArgument` when
    /// fewer than [`MIN_CACHE_PAGES`] fit.
    pub(crate) fn new(db: S, wal: S, mut mem: B, page_size: u32) -> Result<Self> {
        let ps = page_size as usize;
        let len = mem.as_mut().len();
        let nslots = len.saturating_sub(SCRATCH_PAGES * ps) / (ps + SLOT_META);
        if nslots < MIN_CACHE_PAGES as usize {
            return Err(Error::InvalidArgument("cache memory below cache_mem_len(page_size, 4)"));
        }
        let mut p = Pages {
            db,
            wal,
            mem,
            st: State {
                page_size: ps,
                nslots,
                clock: 0,
                cache_change: None,
                read: ReadCtx::default(),
                writer: None,
                wstats: WriterStats::default(),
            },
        };
        p.clear_cache();
        Ok(p)
    }

    /// Page size in bytes.
    pub(crate) fn page_size(&self) -> usize {
        self.st.page_size
    }
    /// Pages the cache holds.
    pub(crate) fn cache_pages(&self) -> usize {
        self.st.nslots
    }
    /// Counters of the frame writer since open.
    pub(crate) fn writer_stats(&self) -> WriterStats {
        self.st.wstats
    }
    /// The write transaction's frame writer, if one is open.
    pub(crate) fn writer(&self) -> Option<&FrameWriter> {
        self.st.writer.as_ref()
    }
    /// Starts (`Some`) or ends (`None`) the write transaction's frame writer.
    pub(crate) fn set_writer(&mut self, w: Option<FrameWriter>) {
        self.st.writer = w;
    }

    /// Empties the cache, dirty pages included (abort, failed commit).
    pub(crate) fn clear_cache(&mut self) {
        self.st.cache_change = None;
        let (ps, n) = (self.st.page_size, self.st.nslots);
        let m = (SCRATCH_PAGES + n) * ps;
        self.mem.as_mut()[m..m + n * SLOT_META].fill(0);
    }

    /// Reads through the snapshot of `hdr` from now on (`db_only`: it
    /// ignores the WAL). The cache is kept if it was filled under the same
    /// wal-index change counter, else emptied.
    pub(crate) fn enter_snapshot(&mut self, hdr: &IndexHeader, db_only: bool) {
        if self.st.cache_change != Some(hdr.change) {
            self.clear_cache();
            self.st.cache_change = Some(hdr.change);
        }
        self.st.read = ReadCtx {
            max_frame: hdr.mx_frame,
            db_only,
            n_pages: hdr.n_pages,
        };
    }

    /// Records that the clean cache content is that of the published
    /// header with change counter `change` (after this connection's own
    /// commit).
    pub(crate) fn set_cache_change(&mut self, change: u32) {
        self.st.cache_change = Some(change);
    }

    /// Lends the pager, with the wal-index `idx`, and the scratch memory.
    pub(crate) fn bind<'a>(&'a mut self, idx: Index<'a>) -> (Pager<'a, S>, Scratch<'a>) {
        let ps = self.st.page_size;
        let (scr, cache) = self.mem.as_mut().split_at_mut(SCRATCH_PAGES * ps);
        let (tmp, rest) = scr.split_at_mut(ps);
        let (cell, sep) = rest.split_at_mut(ps / 2);
        (
            Pager {
                mem: cache,
                st: &mut self.st,
                db: &mut self.db,
                wal: &mut self.wal,
                idx,
            },
            Scratch { tmp, cell, sep },
        )
    }

    /// Lends both files and the scratch pages (checkpoint, recovery).
    pub(crate) fn file_io(&mut self) -> FileIo<'_, S> {
        let ps = self.st.page_size;
        FileIo {
            db: &mut self.db,
            wal: &mut self.wal,
            scratch: &mut self.mem.as_mut()[..SCRATCH_PAGES * ps],
        }
    }
}

/// A borrowed view of the pager for one operation: the cache slots, the
/// bookkeeping, both files and the wal-index.
pub(crate) struct Pager<'a, S: Storage> {
    mem: &'a mut [u8],
    st: &'a mut State,
    db: &'a mut S,
    wal: &'a mut S,
    idx: Index<'a>,
}

impl<S: Storage> Pager<'_, S> {
    /// Page size in bytes.
    pub(crate) fn page_size(&self) -> usize {
        self.st.page_size
    }
    /// Whether a write transaction is open (pages may be written).
    pub(crate) fn writable(&self) -> bool {
        self.st.writer.is_some()
    }
    /// The database size in pages of the snapshot being read.
    pub(crate) fn snapshot_pages(&self) -> u32 {
        self.st.read.n_pages
    }

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
        if let Some(w) = self.st.writer.as_mut() {
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
        if self.st.writer.is_none() {
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

    /// Appends the page in `slot` as the next WAL frame (`commit_size` > 0
    /// makes it a commit frame); the writer's own snapshot moves to it.
    fn append_frame(&mut self, slot: usize, pgno: u32, commit_size: u32) -> Result<()> {
        let r = self.page_range(slot);
        let Some(w) = self.st.writer.as_mut() else {
            return Err(Error::ReadOnly);
        };
        let frame = w.append(self.wal, &self.idx, pgno, commit_size, &mut self.mem[r], &mut self.st.wstats)?;
        self.st.read.max_frame = frame;
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

    /// Checkpoint sequence (WAL generation) the write transaction writes
    /// into (0 without one).
    pub(crate) fn writer_ckpt_seq(&self) -> u32 {
        self.st.writer.map(|w| w.ckpt_seq).unwrap_or(0)
    }

    /// Frames this transaction spilled before its commit.
    pub(crate) fn spilled(&self) -> u32 {
        self.st.writer.map(|w| w.spilled).unwrap_or(0)
    }

    /// Writes every dirty page as a WAL frame, the last as the commit frame
    /// with `n_pages`; returns the writer after the commit frame.
    pub(crate) fn write_commit(&mut self, n_pages: u32) -> Result<FrameWriter> {
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
        self.st.writer.ok_or(Error::InvalidArgument("no write transaction"))
    }
}
