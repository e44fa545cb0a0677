//! The checkpoint: copying WAL frames back into the database file
//! (backfill), checking what was copied (read-back), and restarting or
//! truncating the WAL, as SQLite's `walCheckpoint`.
//!
//! # Order of work
//!
//! 1. **Locks.** The checkpoint lock (`Busy` if held); for `Full`,
//!    `Restart` and `Truncate` also the write lock, so that no commit
//!    happens meanwhile; `Passive` runs beside a writer.
//! 2. **Safe frame** ([`crate::wal::protocol`]): the last commit frame,
//!    lowered to the smallest mark of a shared WAL read-mark slot. A reader
//!    whose snapshot ends at frame `m` reads every page not in frames 1..m
//!    from the database file, so no frame after `m` may reach it.
//! 3. **Slot 0.** With something to copy, read-mark slot 0 is locked
//!    exclusively (its readers read the database file alone); if it is
//!    shared, `Passive` copies nothing and the other modes return `Busy`.
//! 4. **Backfill** of frames `nbackfill + 1 ..= safe`:
//!    - sync the WAL (unless `Off`): no page reaches the database file before
//!      the frame it came from is durable (the write-ahead rule);
//!    - check that the safe frame is a commit frame: a checkpoint ends on a
//!      transaction boundary;
//!    - check every frame of the range not checked before (recovery checked
//!      the frames it indexed: the wal-index's verified count) with the
//!      frame reader ([`crate::wal::frames`]) before copying anything, and
//!      that each holds
//!      the page the wal-index says: a frame whose body a lost or
//!      misdirected write left stale still holds a validly sealed older
//!      image, which only the chain exposes; and checking first means a
//!      failure never leaves part of a transaction in the database file;
//!    - copy the newest frame at or below the safe frame of each page within
//!      the committed database size (its page checksum verified again), in
//!      page-number order when the backfill covers a good part of the
//!      database (as SQLite's `walIteratorInit` sorts the frames), so the
//!      file is written front to back and each page is looked up once in
//!      the wal-index rather than each frame (`Copies`);
//!    - shrink the database file to the committed size if it is longer;
//!    - sync the database file (unless `Off`), when the backfill reaches the
//!      last commit frame (a partial backfill is synced by the one that
//!      completes it, before the WAL may restart);
//!    - read back every page copied and compare it with its frame: a write
//!      the storage lost or put elsewhere leaves the old, validly sealed
//!      page in place, which no checksum tells from the new one (`Corrupt`).
//!
//!    The chain check and the read-back run with
//!    [`crate::Options::verify_checkpoints`] (the core's default): on a host
//!    both read through the OS page cache, which answers from memory what
//!    was just written, so the std backend turns them off; recovery still
//!    checks every frame when a database opens, and each copied page is
//!    still checked against its own checksum.
//!
//!    Only then is the new `nbackfill` published; after a failure it stays,
//!    so the WAL stays authoritative for those frames and a later
//!    checkpoint copies them again.
//! 5. **Modes.** `Passive` returns `(frames, backfilled)`; the others return
//!    `Busy` unless every frame is backfilled. `Restart` then restarts the
//!    WAL (every WAL read mark locked, new salts; `Busy` if a reader still
//!    uses the WAL); `Truncate` also truncates the WAL file to zero bytes
//!    and syncs it (unless `Off`). Nothing is written in place first: page
//!    1 in the database file carries the WAL generation of the last commit
//!    (`wal_seq`), and recovery of an empty WAL starts above it.
//!
//! Why the writer needs no read mark: a checkpoint copies only frames at or
//! below the latest commit, and every page it writes is in the WAL at or
//! below the writer's snapshot, so the writer reads it from the WAL.

use crate::error::{corrupt, Error, FileKind, Result};
use crate::format::{self, FrameHeader, FRAME_HEADER_LEN, WAL_HEADER_LEN};
use crate::options::{CheckpointInfo, CheckpointMode, SyncMode};
use crate::storage::{io_err, Storage};
use crate::wal::frames::{read_wal_header, FrameReader};
use crate::wal::index::{Index, IndexHeader};
use crate::wal::protocol::{backfill_protocol, try_restart};

/// The scratch pages below what a checkpoint copies through (never: they
/// are at least three pages of the cache memory; the message is the
/// pager's, so that the firmware's flash holds it once).
const SHORT_SCRATCH: Error = Error::InvalidArgument("cache memory below cache_mem_len(page_size, 4)");

/// What a checkpoint borrows from a connection: both files and at least two
/// pages of scratch memory (the pager lends them, `Pages::checkpoint_io`;
/// with more, the backfill writes runs of consecutive pages at once).
pub(crate) struct FileIo<'a, S: Storage> {
    /// The database file.
    pub db: &'a mut S,
    /// The WAL.
    pub wal: &'a mut S,
    /// Scratch memory: at least two pages (`2 * page_size` bytes).
    pub scratch: &'a mut [u8],
}

/// How a checkpoint runs.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Plan {
    /// How much it does.
    pub mode: CheckpointMode,
    /// Which syncs it makes.
    pub sync: SyncMode,
    /// Seed of the salts of a restart.
    pub seed: u32,
    /// See `protocol::backfill_protocol` (0: copy whatever can be copied).
    pub min_progress: u32,
    /// Re-read the WAL frames (their chain) before copying, and the copied
    /// pages after ([`crate::Options::verify_checkpoints`]).
    pub verify: bool,
    /// The most pages this call copies (0: no limit); the backfill count
    /// then ends at the frame of the last page copied, and the next call
    /// resumes from it ([`crate::Options::checkpoint_budget_pages`]).
    pub max_pages: u32,
    /// The clock (milliseconds) and the time on it by which this call stops
    /// checking and copying (`None`: no limit): the backfill stops after the
    /// frame during which the time ran out, and the next call resumes from
    /// it ([`crate::Options::checkpoint_budget_ms`]).
    pub deadline: Option<(fn() -> u64, u64)>,
}

/// Runs a checkpoint with the files and scratch memory of `io`: takes and
/// releases the locks, backfills, restarts or truncates. `syncs` counts the
/// syncs made.
///
/// Errors: `Busy` (a lock is held, or a reader needs frames or the WAL),
/// `Corrupt` (a frame fails its check, a page reads back different), `Io`.
pub(crate) fn checkpoint<S: Storage>(
    io: FileIo<'_, S>,
    idx: &Index<'_>,
    plan: Plan,
    syncs: &mut u64,
    pages: &mut u64,
) -> Result<CheckpointInfo> {
    let mode = plan.mode;
    if !idx.try_lock_checkpoint() {
        return Err(Error::Busy);
    }
    let want_writer = mode != CheckpointMode::Passive;
    if want_writer && !idx.try_lock_writer() {
        idx.unlock_checkpoint();
        return Err(Error::Busy);
    }
    let passive = mode == CheckpointMode::Passive;
    let r = Checkpointer {
        io,
        idx,
        sync: plan.sync,
        verify: plan.verify,
        syncs,
        pages,
        max_pages: if passive { plan.max_pages } else { 0 },
        deadline: plan.deadline.filter(|_| passive),
    }
    .run(mode, plan.seed, plan.min_progress);
    if want_writer {
        idx.unlock_writer();
    }
    idx.unlock_checkpoint();
    r
}

struct Checkpointer<'c, 'a, S: Storage> {
    io: FileIo<'a, S>,
    idx: &'c Index<'c>,
    sync: SyncMode,
    verify: bool,
    syncs: &'c mut u64,
    /// Pages copied (counted for the statistics).
    pages: &'c mut u64,
    max_pages: u32,
    /// See [`Plan::deadline`].
    deadline: Option<(fn() -> u64, u64)>,
}

impl<S: Storage> Checkpointer<'_, '_, S> {
    fn run(&mut self, mode: CheckpointMode, seed: u32, min_progress: u32) -> Result<CheckpointInfo> {
        let idx = self.idx;
        let passive = mode == CheckpointMode::Passive;
        let (hdr, backfilled) = backfill_protocol(idx, passive, min_progress, |hdr, nb, safe| self.backfill(hdr, nb, safe))?;
        let mx = hdr.mx_frame;
        let info = CheckpointInfo {
            wal_frames: mx,
            backfilled,
        };
        if mode == CheckpointMode::Passive {
            return Ok(info);
        }
        if backfilled < mx {
            return Err(Error::Busy);
        }
        if mode == CheckpointMode::Full {
            return Ok(info);
        }
        if mx > 0 {
            // The restart publishes: it needs the sync lock (and finds the
            // tip equal to the header, or a commit still waits for its
            // sync and the WAL cannot restart under it).
            if !idx.try_lock_sync() {
                return Err(Error::Busy);
            }
            let r = try_restart(idx, &hdr, seed);
            idx.unlock_sync();
            if r.is_none() {
                return Err(Error::Busy);
            }
        }
        if mode == CheckpointMode::Truncate {
            self.io.wal.set_len(0).map_err(io_err(FileKind::Wal))?;
            if self.sync != SyncMode::Off {
                self.sync_file(FileKind::Wal)?;
            }
        }
        Ok(CheckpointInfo::default())
    }

    fn sync_file(&mut self, file: FileKind) -> Result<()> {
        *self.syncs += 1;
        match file {
            FileKind::Wal => self.io.wal.sync().map_err(io_err(FileKind::Wal)),
            FileKind::Database => self.io.db.sync().map_err(io_err(FileKind::Database)),
        }
    }

    /// Copies frames `nb+1..=safe` (the newest version of each page) into
    /// the database file, after checking them all; with a page budget, only
    /// up to the frame of the budget's last page; with a time budget, in
    /// WAL order up to the frame of the page during which it ran out.
    /// Returns the frame the backfill reached.
    ///
    /// A partial backfill is sound: every reader's snapshot is at or past
    /// `safe`, so a page whose newest frame lies past the end reads from the
    /// WAL until a later backfill copies it, and the database file is synced
    /// (and the WAL may restart) only once a backfill reaches the last
    /// commit frame.
    fn backfill(&mut self, hdr: &IndexHeader, nb: u32, safe: u32) -> Result<u32> {
        if self.sync != SyncMode::Off {
            self.sync_file(FileKind::Wal)?;
        }
        let ps = hdr.page_size;
        let mut fh = [0u8; FRAME_HEADER_LEN];
        let n = self
            .io
            .wal
            .read_at(format::frame_offset(safe, ps), &mut fh)
            .map_err(io_err(FileKind::Wal))?;
        let commit_size = FrameHeader::decode(&fh).commit_size;
        if n < FRAME_HEADER_LEN || (safe == hdr.mx_frame && commit_size != hdr.n_pages) || commit_size == 0 {
            return Err(corrupt(FileKind::Wal, 0, "checkpoint end is not a commit frame"));
        }
        let idx = self.idx;
        let mut end = safe;
        if cfg!(feature = "checkpoint-budgets") && self.max_pages > 0 {
            let mut n = 0;
            for (_, f) in Copies::new(idx, nb, safe, safe, commit_size, false) {
                n += 1;
                if n == self.max_pages {
                    end = f;
                    break;
                }
            }
        }
        if self.verify {
            end = self.check_chain(hdr, nb, end)?;
        }
        // Pages are gathered in the scratch memory while their numbers run
        // on, and each run is written with one call.
        let p = ps as usize;
        let run_max = if cfg!(feature = "checkpoint-runs") {
            self.io.scratch.len() / p
        } else {
            1
        };
        let (mut first, mut run) = (0u32, 0usize);
        // A time budget copies in WAL order, so that where it stops is a
        // prefix of the range.
        let mut copies = Copies::new(idx, nb, end, safe, commit_size, self.deadline.is_none());
        let mut out_of_time = false;
        loop {
            let next = if out_of_time { None } else { copies.next() };
            if run > 0 && next.is_none_or(|(pgno, _)| run == run_max || pgno != first + run as u32) {
                let pages = self.io.scratch.get(..run * p).ok_or(SHORT_SCRATCH)?;
                self.io
                    .db
                    .write_at((first as u64 - 1) * p as u64, pages)
                    .map_err(io_err(FileKind::Database))?;
                run = 0;
            }
            let Some((pgno, f)) = next else { break };
            *self.pages += 1;
            if run == 0 {
                first = pgno;
            }
            let tmp = self.io.scratch.get_mut(run * p..(run + 1) * p).ok_or(SHORT_SCRATCH)?;
            let off = format::frame_offset(f, ps) + FRAME_HEADER_LEN as u64;
            let got = self.io.wal.read_at(off, tmp).map_err(io_err(FileKind::Wal))?;
            if got < p {
                return Err(corrupt(FileKind::Wal, pgno, "WAL truncated under a frame"));
            }
            format::verify_page(FileKind::Wal, pgno, tmp)?;
            run += 1;
            if self.out_of_time() {
                end = f;
                out_of_time = true;
            }
        }
        let want = commit_size as u64 * ps as u64;
        let have = self.io.db.size().map_err(io_err(FileKind::Database))?;
        if end == safe && have > want {
            self.io.db.set_len(want).map_err(io_err(FileKind::Database))?;
        }
        // The database file is synced only by a backfill that reaches the
        // last commit frame, as SQLite's `walCheckpoint` does: only then can
        // the WAL restart (or read mark 0 readers rely on the file), and
        // until then every page copied keeps its frame in the WAL.
        if self.sync != SyncMode::Off && end == hdr.mx_frame {
            self.sync_file(FileKind::Database)?;
        }
        if self.verify {
            self.read_back(ps, nb, end, safe, commit_size)?;
        }
        Ok(end)
    }

    /// Whether the time budget ran out.
    fn out_of_time(&self) -> bool {
        cfg!(feature = "checkpoint-budgets") && self.deadline.is_some_and(|(clock, deadline)| clock() >= deadline)
    }

    /// Checks every frame of `nb+1..=safe` not checked before (past the
    /// wal-index's verified count: recovery checked what it indexed) with
    /// the frame reader, and that each holds the page the wal-index records
    /// for it. The chain starts from the checksum of the frame before, or of
    /// the WAL header. Returns the frame it reached: `safe`, or less when
    /// the time budget ran out (after one frame at least), so that the
    /// copy stops there too.
    fn check_chain(&mut self, hdr: &IndexHeader, nb: u32, safe: u32) -> Result<u32> {
        let ps = hdr.page_size;
        let nb = nb.max(self.idx.verified());
        if nb >= safe {
            return Ok(safe);
        }
        let wal_len = self.io.wal.size().map_err(io_err(FileKind::Wal))?;
        let mut reader = if nb == 0 {
            let mut raw = [0u8; WAL_HEADER_LEN];
            match read_wal_header(self.io.wal, wal_len, &mut raw)? {
                Some((h, seed)) if h.salt1 == hdr.salt1 && h.salt2 == hdr.salt2 && h.page_size == ps => FrameReader::new(&h, seed, wal_len),
                _ => return Err(corrupt(FileKind::Wal, 0, "WAL header changed under the checkpoint")),
            }
        } else {
            let mut fh = [0u8; FRAME_HEADER_LEN];
            let off = format::frame_offset(nb, ps);
            if self.io.wal.read_at(off, &mut fh).map_err(io_err(FileKind::Wal))? < FRAME_HEADER_LEN {
                return Err(corrupt(FileKind::Wal, 0, "WAL truncated under a frame"));
            }
            FrameReader::resume(ps, hdr.salt1, hdr.salt2, nb + 1, FrameHeader::decode(&fh).cksum, wal_len)
        };
        let mut f = nb;
        while f < safe {
            f += 1;
            let pgno = self.idx.frame_pgno(f);
            match reader.next(self.io.wal, self.io.scratch).map_err(io_err(FileKind::Wal))? {
                Ok(h) if h.pgno == pgno => {}
                _ => return Err(corrupt(FileKind::Wal, pgno, "WAL frame fails its checksum at checkpoint")),
            }
            if self.out_of_time() {
                break;
            }
        }
        self.idx.set_verified(f);
        Ok(f)
    }

    /// Reads back every page the checkpoint copied and compares it with its
    /// frame, before the backfill count is published (and so before the WAL
    /// may restart). `Corrupt` when a page differs; the WAL then stays
    /// authoritative and the next checkpoint writes the pages again. On a
    /// host the read may come from the OS page cache, which only sees faults
    /// of the layers above it.
    fn read_back(&mut self, ps: u32, nb: u32, end: u32, safe: u32, commit_size: u32) -> Result<()> {
        let n = ps as usize;
        for (pgno, f) in Copies::new(self.idx, nb, end, safe, commit_size, true) {
            let (frame, page) = self
                .io
                .scratch
                .get_mut(..2 * n)
                .and_then(|s| s.split_at_mut_checked(n))
                .ok_or(SHORT_SCRATCH)?;
            let off = format::frame_offset(f, ps) + FRAME_HEADER_LEN as u64;
            let a = self.io.wal.read_at(off, frame).map_err(io_err(FileKind::Wal))?;
            let b = self
                .io
                .db
                .read_at((pgno as u64 - 1) * ps as u64, page)
                .map_err(io_err(FileKind::Database))?;
            if a != n || b != n || frame != page {
                return Err(corrupt(
                    FileKind::Database,
                    pgno,
                    "checkpoint read back a page unlike its frame (lost or misdirected write)",
                ));
            }
        }
        Ok(())
    }
}

/// The pages a backfill of frames `nb+1..=end` copies, with the frame each
/// is copied from: every page within the committed size (`commit_size`
/// pages) whose newest frame at or below `safe` lies in that range. Yielded
/// in page-number order when the range reaches `safe` and the database is
/// at most four times the range (as SQLite's `walIteratorInit` sorts the
/// frames by page), so the database file is written front to back and each
/// page is looked up once; otherwise (a page budget, a few frames of a
/// large database, or not `sorted`) in WAL order, each frame looked up
/// once.
struct Copies<'c> {
    idx: &'c Index<'c>,
    nb: u32,
    safe: u32,
    commit_size: u32,
    by_page: bool,
    /// The next page number (by page) or frame (in WAL order) to consider,
    /// and the last.
    next: u32,
    last: u32,
}

impl<'c> Copies<'c> {
    fn new(idx: &'c Index<'c>, nb: u32, end: u32, safe: u32, commit_size: u32, sorted: bool) -> Copies<'c> {
        let by_page = cfg!(feature = "checkpoint-runs") && sorted && end == safe && commit_size / 4 <= end.saturating_sub(nb);
        Copies {
            idx,
            nb,
            safe,
            commit_size,
            by_page,
            next: if by_page { 1 } else { nb + 1 },
            last: if by_page { commit_size } else { end },
        }
    }
}

impl Iterator for Copies<'_> {
    type Item = (u32, u32);

    fn next(&mut self) -> Option<(u32, u32)> {
        let by_page = cfg!(feature = "checkpoint-runs") && self.by_page;
        while self.next <= self.last {
            let i = self.next;
            self.next += 1;
            let pgno = if by_page { i } else { self.idx.frame_pgno(i) };
            if pgno > self.commit_size {
                continue;
            }
            match self.idx.lookup(pgno, self.safe) {
                Some(f) if if by_page { f > self.nb } else { f == i } => return Some((pgno, f)),
                _ => {}
            }
        }
        None
    }
}
