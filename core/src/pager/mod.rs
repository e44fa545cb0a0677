//! The pager: a fixed-capacity page cache in caller-provided memory, page
//! reads through a snapshot (the newest WAL frame at or below the
//! snapshot, found through the wal-index, else the database file), dirty
//! pages, spilling to the WAL, and the commit's frames.
//!
//! # The cache
//!
//! Every operation is O(1), as SQLite's `pcache1`: a hash table from page
//! number to slot (open addressing with linear probing, in the caller's
//! memory), three intrusive lists over the slots (free slots, clean pages,
//! dirty pages), and a reference bit per slot, so that a hit is one store.
//! A miss takes a free slot, else the CLOCK victim: the hand sweeps the
//! slots in index order, giving each used page a second chance, and stops
//! at the first page unused for a whole turn. It passes dirty pages while
//! they fill less than half the cache, and clean pages beyond that: the
//! victim is then a dirty page, spilled to the WAL first. Spilling the
//! dirty page nobody uses rather than evicting the clean one every lookup
//! passes (a branch page) keeps a large transaction from rereading the
//! upper levels of the tree on every operation (it did, 9 reads a delete
//! at default options, before this policy; 1.2 now). Caches of fewer than
//! 8 pages spill only when every page is dirty.
//! A commit walks the dirty list only.
//!
//! # The read path
//!
//! 1. On a cache hit the page's reference bit is set and the page is
//!    returned.
//! 2. On a miss a slot is taken (above) and is not in the hash until the
//!    read and the checksum succeed, so a failed read never leaves it
//!    claiming a page.
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
//! # Keeping the cache across snapshots
//!
//! The clean pages are tagged with the wal-index header they were read
//! under. A new snapshot of the same WAL generation (same salts) at or after
//! that header only changed the pages of the frames committed in between:
//! those pages, read from the wal-index, are dropped and the rest is kept.
//! After a WAL restart that followed the state the cache holds (the
//! header's `restart_change`), only the pages of the new generation's
//! frames are dropped: a restart changes no page. Any other change (an
//! abort, a restart after commits the cache missed) empties the cache.
//! (SQLite empties its whole cache whenever another connection committed.)
//!
//! # Frames of a write transaction
//!
//! A page spilled, changed and spilled again (or committed) in one
//! transaction keeps the one frame it has in the uncommitted part of the
//! WAL, rewritten in place, as SQLite does; the commit then re-seals the
//! checksum chain from the first rewritten frame (`FrameWriter::reseal`).
//! So a transaction never writes more frames than the pages it changed.
//!
//! # Invariants
//! - every page handed to the B+tree passed its checksum when it was read;
//! - a dirty page is never dropped: it is spilled to the WAL first;
//! - the database file is never written here (only the checkpointer writes
//!   it): the write-ahead rule;
//! - outside a write transaction the cache holds only clean pages of the
//!   snapshot it is tagged with.
//!
//! # Memory layout
//!
//! `Pages::new` lays out the caller's cache memory once: the scratch pages
//! (two page copies for splits, merges and balancing; a cell buffer and a
//! separator buffer, half a page each), then the slot table (`cache.rs`: `n` page
//! slots, 16 bytes of metadata per slot, a hash of `2 * next_pow2(n)` 8-byte
//! entries). [`cache_mem_len`] is the size of that layout for `n` pages.

use crate::error::{corrupt, Error, FileKind, Result};
use crate::format::{self, DbHeader, PriorGeneration, FRAME_HEADER_LEN};
use crate::storage::{io_err, Storage};
use crate::wal::checkpoint::FileIo;
use crate::wal::frames::{FrameWriter, WriterStats};
use crate::wal::index::{Index, IndexHeader};

mod cache;

use cache::{hash_entries, Slots, CLEAN, DIRTY, FREE, HASH_ENTRY, NIL, SLOT_META};

/// Scratch pages before the slots: two page copies (splits, merges and
/// balancing two siblings), and a cell and a separator buffer.
const SCRATCH_PAGES: usize = 3;

/// Most pages a checkpoint writes to the database file with one call (a
/// run of consecutive pages; [`Pages::checkpoint_io`]).
const CHECKPOINT_RUN: usize = 16;

/// Fewest cache pages a connection accepts.
pub const MIN_CACHE_PAGES: u32 = 4;

/// Cache memory, in bytes, a connection needs for `cache_pages` pages of
/// `page_size` bytes: `(n + 3) * page_size + 16 * n + 16 * next_pow2(n)`
/// with `n = cache_pages` (three scratch pages for splits, merges and
/// balancing, 16 bytes of metadata per slot, the hash table of
/// `2 * next_pow2(n)` 8-byte entries).
pub const fn cache_mem_len(page_size: u32, cache_pages: u32) -> usize {
    let n = cache_pages as usize;
    (n + SCRATCH_PAGES) * page_size as usize + SLOT_META * n + HASH_ENTRY * hash_entries(n)
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

/// The wal-index header whose snapshot the clean cache content belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct CacheTag {
    change: u32,
    mx_frame: u32,
    salt1: u32,
    salt2: u32,
}

impl CacheTag {
    fn of(h: &IndexHeader) -> Self {
        CacheTag {
            change: h.change,
            mx_frame: h.mx_frame,
            salt1: h.salt1,
            salt2: h.salt2,
        }
    }
}

/// The cache's bookkeeping (everything but the memory and the files).
#[derive(Debug)]
struct State {
    slots: Slots,
    tag: Option<CacheTag>,
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
    page_size: usize,
    st: State,
}

/// Scratch memory a tree operation borrows besides the cache.
pub(crate) struct Scratch<'s> {
    /// A page-sized copy of a page being split or merged.
    pub tmp: &'s mut [u8],
    /// A second page copy (the other sibling when two are balanced).
    pub tmp2: &'s mut [u8],
    /// A new cell being built (half a page).
    pub cell: &'s mut [u8],
    /// A separator key travelling up or down the tree (half a page).
    pub sep: &'s mut [u8],
}

impl<S: Storage, B: AsMut<[u8]>> Pages<S, B> {
    /// Lays out `mem` for pages of `page_size` bytes: as many cache slots as
    /// fit after the scratch pages. Errors: `InvalidArgument` when fewer
    /// than [`MIN_CACHE_PAGES`] fit.
    pub(crate) fn new(db: S, wal: S, mut mem: B, page_size: u32) -> Result<Self> {
        let ps = page_size as usize;
        let len = mem.as_mut().len();
        let mut n = len.saturating_sub(SCRATCH_PAGES * ps) / (ps + SLOT_META + 2 * HASH_ENTRY);
        while n > 0 && cache_mem_len(page_size, n as u32) > len {
            n -= 1;
        }
        if n < MIN_CACHE_PAGES as usize || n >= NIL as usize {
            return Err(Error::InvalidArgument("cache memory below cache_mem_len(page_size, 4)"));
        }
        let mut p = Pages {
            db,
            wal,
            mem,
            page_size: ps,
            st: State {
                slots: Slots::new(ps, n),
                tag: None,
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
        self.page_size
    }
    /// Pages the cache holds.
    pub(crate) fn cache_pages(&self) -> usize {
        self.st.slots.len()
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
        let start = SCRATCH_PAGES * self.page_size;
        self.st.slots.clear(&mut self.mem.as_mut()[start..]);
        self.st.tag = None;
    }

    /// Reads through the snapshot of `hdr` from now on (`db_only`: it
    /// ignores the WAL), keeping what the cache can keep (see the module
    /// documentation): pages of frames committed since the cache's tag are
    /// dropped, or everything after a restart.
    pub(crate) fn enter_snapshot(&mut self, hdr: &IndexHeader, db_only: bool, idx: &Index<'_>) {
        let new = CacheTag::of(hdr);
        match self.st.tag {
            Some(t) if t == new => {}
            Some(t)
                if t.salt1 == new.salt1
                    && t.salt2 == new.salt2
                    && new.mx_frame >= t.mx_frame
                    && ((new.mx_frame - t.mx_frame) as usize) < self.st.slots.len() =>
            {
                let start = SCRATCH_PAGES * self.page_size;
                let mem = &mut self.mem.as_mut()[start..];
                for f in t.mx_frame + 1..=new.mx_frame {
                    self.st.slots.drop_page(mem, idx.frame_pgno(f));
                }
            }
            // A restart since, right after the state the cache holds: the
            // restart changed no page, the new generation's frames did.
            Some(t)
                if (t.salt1, t.salt2) != (new.salt1, new.salt2)
                    && hdr.restart_change == t.change.wrapping_add(1)
                    && (new.mx_frame as usize) < self.st.slots.len() =>
            {
                let start = SCRATCH_PAGES * self.page_size;
                let mem = &mut self.mem.as_mut()[start..];
                for f in 1..=new.mx_frame {
                    self.st.slots.drop_page(mem, idx.frame_pgno(f));
                }
            }
            _ => self.clear_cache(),
        }
        self.st.tag = Some(new);
        self.st.read = ReadCtx {
            max_frame: hdr.mx_frame,
            db_only,
            n_pages: hdr.n_pages,
        };
    }

    /// Records that the clean cache content is that of the published header
    /// `hdr` (after this connection's own commit).
    pub(crate) fn set_tag(&mut self, hdr: &IndexHeader) {
        self.st.tag = Some(CacheTag::of(hdr));
    }

    /// Lends the pager, with the wal-index `idx`, and the scratch memory.
    pub(crate) fn bind<'a>(&'a mut self, idx: Index<'a>) -> (Pager<'a, S>, Scratch<'a>) {
        let ps = self.page_size;
        let (scr, cache) = self.mem.as_mut().split_at_mut(SCRATCH_PAGES * ps);
        let (tmp, rest) = scr.split_at_mut(ps);
        let (tmp2, rest) = rest.split_at_mut(ps);
        let (cell, sep) = rest.split_at_mut(ps / 2);
        (
            Pager {
                mem: cache,
                page_size: ps,
                st: &mut self.st,
                db: &mut self.db,
                wal: &mut self.wal,
                idx,
            },
            Scratch { tmp, tmp2, cell, sep },
        )
    }

    /// Lends both files and scratch memory to a checkpoint: the scratch
    /// pages and, when `runs` (the WAL holds frames to copy), the first
    /// slots of the cache behind them, contiguous with the scratch, as long
    /// as they hold no dirty page (their clean pages are dropped): up to
    /// [`CHECKPOINT_RUN`] pages in all and an eighth of the cache. The
    /// backfill then writes runs of consecutive pages with one call each
    /// (16 pages: 1.3-1.5 times the checkpoint rate of one `pwrite` a page,
    /// `docs/BENCHMARKS.md` 8b).
    pub(crate) fn checkpoint_io(&mut self, runs: bool) -> FileIo<'_, S> {
        let ps = self.page_size;
        let want = if runs && cfg!(feature = "checkpoint-runs") {
            (CHECKPOINT_RUN - SCRATCH_PAGES).min(self.st.slots.len() / 8)
        } else {
            0
        };
        let mut lent = 0;
        let cache = &mut self.mem.as_mut()[SCRATCH_PAGES * ps..];
        while lent < want {
            let slot = lent as u32;
            match self.st.slots.list_of(cache, slot) {
                DIRTY => break,
                CLEAN => self.st.slots.release(cache, slot),
                _ => {}
            }
            lent += 1;
        }
        FileIo {
            db: &mut self.db,
            wal: &mut self.wal,
            scratch: &mut self.mem.as_mut()[..(SCRATCH_PAGES + lent) * ps],
        }
    }

    /// Lends both files and the scratch pages (recovery, WAL syncs).
    pub(crate) fn file_io(&mut self) -> FileIo<'_, S> {
        let ps = self.page_size;
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
    page_size: usize,
    st: &'a mut State,
    db: &'a mut S,
    wal: &'a mut S,
    idx: Index<'a>,
}

impl<'a, S: Storage> Pager<'a, S> {
    /// Page size in bytes.
    pub(crate) fn page_size(&self) -> usize {
        self.page_size
    }
    /// Whether a write transaction is open (pages may be written).
    pub(crate) fn writable(&self) -> bool {
        self.st.writer.is_some()
    }
    /// The database size in pages of the snapshot being read.
    pub(crate) fn snapshot_pages(&self) -> u32 {
        self.st.read.n_pages
    }

    /// A free slot for a new page (left at the front of the free list):
    /// a free one, else the CLOCK victim of [`Slots::sweep`], spilled to
    /// the WAL first when it is dirty (a frame of this transaction, which a
    /// later spill of the same page rewrites).
    fn victim(&mut self) -> Result<u32> {
        if self.st.slots.count(FREE) > 0 {
            return Ok(self.st.slots.head(FREE));
        }
        let s = self.st.slots.sweep(self.mem);
        if self.st.slots.list_of(self.mem, s) == DIRTY {
            let pgno = self.st.slots.pgno(self.mem, s);
            self.write_frame(s, pgno, 0)?;
            if let Some(w) = self.st.writer.as_mut() {
                w.spilled += 1;
            }
        }
        self.st.slots.release(self.mem, s);
        Ok(s)
    }

    /// Loads `pgno` into a slot (the snapshot's version) and returns the slot.
    fn load(&mut self, pgno: u32) -> Result<u32> {
        let slots = &mut self.st.slots;
        if let Some(s) = slots.find(self.mem, pgno) {
            slots.touch(self.mem, s);
            return Ok(s);
        }
        if pgno == 0 {
            return Err(corrupt(FileKind::Database, 0, "reference to page 0"));
        }
        let s = self.victim()?;
        let r = self.st.slots.page_range(s);
        let ps = self.page_size as u64;
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
        // Only now does the slot claim the page.
        self.st.slots.claim(self.mem, s, pgno);
        self.st.slots.move_to(self.mem, s, CLEAN, true);
        Ok(s)
    }

    /// The snapshot's version of page `pgno` (checksum verified).
    pub(crate) fn read(&mut self, pgno: u32) -> Result<&[u8]> {
        let s = self.load(pgno)?;
        let r = self.st.slots.page_range(s);
        Ok(&self.mem[r])
    }

    /// The snapshot's version of page `pgno`, borrowed for as long as the
    /// pager was (the view is used up).
    pub(crate) fn into_page(mut self, pgno: u32) -> Result<&'a [u8]> {
        let s = self.load(pgno)?;
        Ok(self.into_slot(s))
    }

    /// The snapshot's version of page `pgno` and the cache slot holding it
    /// (valid until the next page is loaded).
    pub(crate) fn read_slot(&mut self, pgno: u32) -> Result<(&[u8], u32)> {
        let s = self.load(pgno)?;
        let r = self.st.slots.page_range(s);
        Ok((&self.mem[r], s))
    }

    /// The page in cache slot `slot`, as [`Pager::read_slot`] gave it,
    /// borrowed for as long as the pager was (the view is used up).
    pub(crate) fn into_slot(self, slot: u32) -> &'a [u8] {
        let r = self.st.slots.page_range(slot);
        let Pager { mem, .. } = self;
        &mem[r]
    }

    /// Page `pgno`, made dirty for writing. Only in a write transaction.
    pub(crate) fn write(&mut self, pgno: u32) -> Result<&mut [u8]> {
        if self.st.writer.is_none() {
            return Err(Error::ReadOnly);
        }
        let s = self.load(pgno)?;
        if self.st.slots.list_of(self.mem, s) != DIRTY {
            self.st.slots.move_to(self.mem, s, DIRTY, false);
        }
        let r = self.st.slots.page_range(s);
        Ok(&mut self.mem[r])
    }

    /// A dirty, zeroed cache page for `pgno` (not read from storage).
    pub(crate) fn fresh(&mut self, pgno: u32) -> Result<&mut [u8]> {
        if self.st.writer.is_none() {
            return Err(Error::ReadOnly);
        }
        let s = match self.st.slots.find(self.mem, pgno) {
            Some(s) => s,
            None => {
                let s = self.victim()?;
                self.st.slots.claim(self.mem, s, pgno);
                s
            }
        };
        if self.st.slots.list_of(self.mem, s) != DIRTY {
            self.st.slots.move_to(self.mem, s, DIRTY, false);
        }
        let r = self.st.slots.page_range(s);
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

    /// Page 1's record of where the previous WAL generation ended (`None`:
    /// unknown).
    pub(crate) fn prior(&mut self) -> Result<Option<PriorGeneration>> {
        Ok(PriorGeneration::decode(self.read(1)?))
    }

    /// Rewrites page 1's record of the previous WAL generation for the
    /// first commit of generation `seq`, from the wal-index words the last
    /// restart set (read under the write lock, which restarts need too).
    #[cfg(feature = "lineage")]
    pub(crate) fn set_prior(&mut self, seq: u32) -> Result<()> {
        let r = PriorGeneration::for_generation(self.idx.retired(), seq);
        r.encode(self.write(1)?);
        Ok(())
    }

    /// Writes the page in `slot` as a WAL frame: into the frame it already
    /// has in this transaction (`commit_size` 0 only), else as the next
    /// frame (a commit frame when `commit_size` > 0). The writer's own
    /// snapshot reaches the frame.
    fn write_frame(&mut self, slot: u32, pgno: u32, commit_size: u32) -> Result<()> {
        let r = self.st.slots.page_range(slot);
        let Some(w) = self.st.writer.as_mut() else {
            return Err(Error::ReadOnly);
        };
        if commit_size == 0 {
            if let Some(f) = self.idx.lookup(pgno, w.last_frame).filter(|&f| f > w.base_frame()) {
                return w.rewrite(self.wal, f, pgno, &mut self.mem[r], &mut self.st.wstats);
            }
        }
        let frame = w.append(self.wal, &self.idx, pgno, commit_size, &mut self.mem[r], &mut self.st.wstats)?;
        self.st.read.max_frame = frame;
        Ok(())
    }

    /// Whether page `pgno` is in the cache and dirty.
    pub(crate) fn is_dirty(&self, pgno: u32) -> bool {
        let slots = &self.st.slots;
        slots.find(self.mem, pgno).is_some_and(|s| slots.list_of(self.mem, s) == DIRTY)
    }

    /// Number of dirty pages in the cache.
    pub(crate) fn dirty_count(&self) -> usize {
        self.st.slots.count(DIRTY)
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

    /// Writes every dirty page as a WAL frame, in page order, and the last
    /// one as the commit frame with `n_pages`: pages that already have a
    /// frame in this transaction rewrite it, the chain is re-sealed from the
    /// first frame rewritten (reading frames back through `buf`, at least a
    /// page), then the others are appended. At least one frame is appended,
    /// so that the commit frame is the last. Returns the writer after the
    /// commit frame.
    pub(crate) fn write_commit(&mut self, n_pages: u32, buf: &mut [u8]) -> Result<FrameWriter> {
        let Some(w) = self.st.writer else {
            return Err(Error::InvalidArgument("no write transaction"));
        };
        self.st.slots.sort_dirty(self.mem);
        // Pass 1: pages with a frame of this transaction, except the last
        // dirty page, which always goes last as the commit frame.
        let last = self.st.slots.tail(DIRTY);
        let mut s = self.st.slots.head(DIRTY);
        while s != NIL {
            let next = self.st.slots.next(self.mem, s);
            let pgno = self.st.slots.pgno(self.mem, s);
            if s != last && self.idx.lookup(pgno, w.last_frame).is_some_and(|f| f > w.base_frame()) {
                self.write_frame(s, pgno, 0)?;
                self.st.slots.move_to(self.mem, s, CLEAN, true);
            }
            s = next;
        }
        let ps = self.page_size as u32;
        if let Some(w) = self.st.writer.as_mut() {
            w.reseal(self.wal, ps, buf)?;
        }
        // Pass 2: new frames, the last one the commit frame.
        let mut s = self.st.slots.head(DIRTY);
        while s != NIL {
            let next = self.st.slots.next(self.mem, s);
            let pgno = self.st.slots.pgno(self.mem, s);
            let r = self.st.slots.page_range(s);
            let commit = if next == NIL { n_pages } else { 0 };
            let Some(w) = self.st.writer.as_mut() else {
                return Err(Error::InvalidArgument("no write transaction"));
            };
            let frame = w.append(self.wal, &self.idx, pgno, commit, &mut self.mem[r], &mut self.st.wstats)?;
            self.st.read.max_frame = frame;
            self.st.slots.move_to(self.mem, s, CLEAN, true);
            s = next;
        }
        self.st.writer.ok_or(Error::InvalidArgument("no write transaction"))
    }
}
