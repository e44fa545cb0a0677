//! What continuous archiving and replicas need of a connection: the
//! **archive slot** in the wal-index, the pages of a read snapshot as they
//! are, and page images written back physically.
//!
//! # The archive slot
//!
//! An archiver ships committed WAL frames to storage elsewhere (the
//! `walden-archive` crate). A WAL restart reuses frame numbers, so a frame
//! not shipped before the restart that follows its backfill is lost to the
//! archive. The slot closes that gap the way PostgreSQL's replication slots
//! keep WAL segments for a consumer: one word of the wal-index (word 59)
//! holds `1 + frames of the current WAL generation the archiver has
//! shipped` (0: no slot), and `wal::protocol::try_restart` refuses to
//! restart the WAL while that count is below the last commit frame. When a
//! restart happens the word becomes 1 (nothing of the new generation
//! shipped). Checkpoints still backfill: only the restart waits.
//!
//! Who writes the word, and why a compare-and-swap suffices:
//! - the archiver raises it, after the store has the frames, and only to
//!   frames of a header it read (published, so at or below the last commit
//!   frame of the generation it read);
//! - a restart (under the write, checkpoint and sync locks, which stop new
//!   publications) reads it once every read mark is locked: if it shows
//!   every frame shipped, nothing can lower that before the restart is
//!   published, and it resets the word to 1 by exchange;
//! - the archiver exchanges from the value it last saw; after a restart
//!   its exchange fails (the word is 1, never a value it wrote for the old
//!   generation, which had at least one frame), it reads the header again
//!   and sees the new generation.
//!
//! The slot lives as long as the wal-index (a `-shm` is rebuilt by the
//! first process to open the database), not as long as the archiver: an
//! archiver that stops keeps holding the WAL back, so that it resumes
//! without a gap (the writer is told through the lag limits below, or the
//! WAL's own limit). [`Connection::drop_archive_slot`] ends it.
//!
//! What outlives the wal-index: the restart leaves the retired
//! generation's checkpoint sequence, last commit frame and chain value in
//! words 64..67, and the first commit of the new generation records them
//! in page 1 ([`format::PriorGeneration`], read back by
//! [`Connection::prior_generation`]). An archiver that finds no slot (every
//! process died after a restart the slot allowed) then still knows that
//! the generation in use begins where its archive ends.
//!
//! **Lag limits** (words 62 and 63): frames not yet shipped, and time since
//! the archiver last had every published commit shipped (word 61, by the
//! connections' clock). Past either, [`Connection::begin_write`] returns
//! [`Error::ArchiveLag`] instead of beginning, so that commits never outrun
//! the archive silently; with `back_pressure` the std backend waits for the
//! archiver and retries, up to its busy timeout.

use super::{Connection, Mode};
use crate::error::{Error, Result};
use crate::format::{self, DbHeader};
use crate::storage::Storage;
use crate::wal::index::{Index, IndexHeader};
use crate::wal::locks::Region;

/// Most frames a lag limit can name (the frame bits of word 62).
pub const MAX_LAG_FRAMES: u32 = (1 << 31) - 1;
const BACK_PRESSURE: u32 = 1 << 31;

/// The limits an archive slot sets on writers ([`Connection::claim_archive_slot`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ArchiveLimits {
    /// Most WAL frames not yet shipped before `begin_write` refuses (0:
    /// no limit; at most [`MAX_LAG_FRAMES`]).
    pub max_frames: u32,
    /// Most milliseconds since the archiver last had every published
    /// commit shipped, while frames wait to be shipped, before
    /// `begin_write` refuses (0: no limit; needs a clock,
    /// [`Connection::set_clock`]).
    pub max_ms: u32,
    /// Writers past a limit wait for the archiver (the std backend retries
    /// for its busy timeout) instead of failing at once.
    pub back_pressure: bool,
}

/// An archive slot as [`Connection::archive_slot`] reads it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ArchiveSlot {
    /// The owner's tag (the archiver's identity for its archive).
    pub tag: u32,
    /// Frames of the current WAL generation shipped.
    pub shipped: u32,
    /// When the archiver last had every published commit shipped (the
    /// connections' clock, milliseconds, low 32 bits).
    pub caught_up_ms: u32,
    /// The limits the slot sets on writers.
    pub limits: ArchiveLimits,
}

impl<S: Storage, R: Region, B: AsMut<[u8]>> Connection<S, R, B> {
    /// The archive slot, if there is one. Errors: `InvalidArgument` (a
    /// damaged region).
    pub fn archive_slot(&self) -> Result<Option<ArchiveSlot>> {
        let idx = self.geo.index(&self.region)?;
        let hold = idx.archive_hold();
        if hold == 0 {
            return Ok(None);
        }
        let [tag, caught_up_ms, maxf, max_ms] = idx.archive_words();
        Ok(Some(ArchiveSlot {
            tag,
            shipped: hold - 1,
            caught_up_ms,
            limits: ArchiveLimits {
                max_frames: maxf & MAX_LAG_FRAMES,
                max_ms,
                back_pressure: maxf & BACK_PRESSURE != 0,
            },
        }))
    }

    /// Creates the archive slot, or takes over the one there, for an
    /// archiver whose archive holds the first `shipped` frames of the
    /// current generation: sets the owner tag and the limits, then
    /// exchanges the slot word from `expected` (`None`: no slot; else the
    /// `shipped` count read from [`Connection::archive_slot`]). Returns
    /// false, changing nothing but the tag and limits, when the word was
    /// not `expected` (a restart or another archiver moved it: read the
    /// header and the slot again). `shipped` must not exceed the last
    /// commit frame of a header read before the call. Errors: `ReadOnly`,
    /// `InvalidArgument` (`shipped` or a limit out of range).
    pub fn claim_archive_slot(&self, tag: u32, limits: ArchiveLimits, expected: Option<u32>, shipped: u32) -> Result<bool> {
        let idx = self.slot_index(shipped)?;
        if limits.max_frames > MAX_LAG_FRAMES {
            return Err(Error::InvalidArgument("archive lag limit above 2^31 - 1 frames"));
        }
        let maxf = limits.max_frames | if limits.back_pressure { BACK_PRESSURE } else { 0 };
        idx.set_archive_words(tag, maxf, limits.max_ms);
        if let Some(now) = self.clock {
            idx.set_archive_caught_up(now() as u32);
        }
        Ok(idx.cas_archive_hold(expected.map_or(0, |e| e + 1), shipped + 1))
    }

    /// Records that the archive now holds the first `shipped` frames of the
    /// current generation (exchanging from `expected`, the count the slot
    /// held), and, with `caught_up`, that these were every published
    /// commit (the clock's time is then stored as the caught-up time).
    /// Returns false when the slot no longer held `expected` (a WAL restart
    /// reset it, or it was dropped or taken over). Errors: as
    /// [`Connection::claim_archive_slot`].
    pub fn advance_archive_slot(&self, expected: u32, shipped: u32, caught_up: bool) -> Result<bool> {
        let idx = self.slot_index(shipped)?;
        let ok = idx.cas_archive_hold(expected + 1, shipped + 1);
        if ok && caught_up {
            if let Some(now) = self.clock {
                idx.set_archive_caught_up(now() as u32);
            }
        }
        Ok(ok)
    }

    /// Ends the archive slot: the WAL may restart again whatever was
    /// shipped. Errors: `ReadOnly`, `InvalidArgument`.
    pub fn drop_archive_slot(&self) -> Result<()> {
        let idx = self.slot_index(0)?;
        loop {
            let h = idx.archive_hold();
            if h == 0 || idx.cas_archive_hold(h, 0) {
                idx.set_archive_words(0, 0, 0);
                return Ok(());
            }
        }
    }

    fn slot_index(&self, shipped: u32) -> Result<Index<'_>> {
        if self.opts.read_only {
            return Err(Error::ReadOnly);
        }
        if shipped >= u32::MAX - 1 {
            return Err(Error::InvalidArgument("archive slot frame count out of range"));
        }
        self.geo.index(&self.region)
    }

    /// The lag check of `begin_write` (see the module documentation):
    /// `ArchiveLag` when the slot's limits are passed for a WAL whose last
    /// commit frame is `base.mx_frame`.
    pub(super) fn check_archive_lag(&self, idx: &Index<'_>, base: &IndexHeader) -> Result<()> {
        let hold = idx.archive_hold();
        if hold == 0 {
            return Ok(());
        }
        let [_, caught_up, maxf, max_ms] = idx.archive_words();
        let frames = base.mx_frame.saturating_sub(hold - 1);
        let max_frames = maxf & MAX_LAG_FRAMES;
        let by_frames = max_frames != 0 && frames >= max_frames;
        let by_time = max_ms != 0 && frames > 0 && self.clock.is_some_and(|c| (c() as u32).wrapping_sub(caught_up) >= max_ms);
        if by_frames || by_time {
            return Err(Error::ArchiveLag {
                frames,
                back_pressure: maxf & BACK_PRESSURE != 0,
            });
        }
        Ok(())
    }

    /// The wal-index header of the open transaction's snapshot (a read
    /// transaction's, or the one a write transaction started from): its
    /// LSN is `format::lsn(ckpt_seq, mx_frame)`, its chain value
    /// `last_cksum`. Errors: `InvalidArgument` when no transaction is open.
    pub fn snapshot_header(&self) -> Result<IndexHeader> {
        match self.mode {
            Mode::Read { hdr, .. } => Ok(hdr),
            Mode::Write { base, .. } => Ok(base),
            _ => Err(Error::InvalidArgument("no transaction is open")),
        }
    }

    /// Where the WAL generation before the open transaction's snapshot's
    /// ended, as the first commit of the snapshot's generation recorded it
    /// in page 1 ([`format::PriorGeneration`]: checkpoint sequence, last
    /// commit frame, chain value): `Some` only when that record is known
    /// and belongs to the snapshot's generation (page 1's `wal_seq` is the
    /// snapshot's checkpoint sequence, and the record's generation the one
    /// before it). `None` when the snapshot's generation has no commit yet
    /// (page 1 is an earlier generation's), or the restart that began it
    /// was not seen by this wal-index (recovery, a crash in between).
    /// An archiver uses it to prove that the WAL in use continues an
    /// archive that ends with the previous generation. Errors:
    /// `InvalidArgument` (no transaction), `Corrupt`, `Io`.
    pub fn prior_generation(&mut self) -> Result<Option<format::PriorGeneration>> {
        let seq = self.snapshot_header()?.ckpt_seq;
        let r = (|| {
            let (mut pg, _) = self.parts()?;
            let h = pg.header()?;
            let prior = pg.prior()?;
            Ok(prior.filter(|p| h.wal_seq == seq && p.ckpt_seq.wrapping_add(1) == seq))
        })();
        self.poison_on_io(r)
    }

    /// Page `pgno` as the open transaction sees it, exactly as it would be
    /// in the database file (page trailer included, checksum verified):
    /// what a base backup copies (`Database::backup_to` in the std
    /// backend, as SQLite's backup API copies pages). Errors:
    /// `InvalidArgument` (no transaction, or `pgno` not in 1..=the
    /// snapshot's page count), `Corrupt`, `Io`.
    pub fn read_page(&mut self, pgno: u32) -> Result<&[u8]> {
        let pages = self.snapshot_header()?.n_pages;
        if pgno == 0 || pgno > pages {
            return Err(Error::InvalidArgument("page number outside the snapshot"));
        }
        let (pg, _) = self.parts()?;
        pg.into_page(pgno)
    }

    /// Writes `image`, a page of another copy of this database (a WAL
    /// frame's page image or a base backup's page, sealed by its writer),
    /// as page `pgno` of the open write transaction: how a replica applies
    /// archived frames, as a physical standby replays WAL. The database size
    /// of the commit becomes the page count in page 1's image; the change
    /// counter, WAL generation floor, database id and record of the
    /// previous WAL generation ([`format::PriorGeneration`]) of page 1 stay
    /// this database's own (its WAL headers carry its id). Errors:
    /// `InvalidArgument` (no write transaction, an image of another page
    /// size, a page 1 of another page size), `Corrupt` (the image fails its
    /// page checksum as page `pgno`, or page 1's header its checks), `Io`,
    /// `Full`.
    pub fn put_page_image(&mut self, pgno: u32, image: &[u8]) -> Result<()> {
        self.write_state()?;
        if image.len() != self.page_size() as usize {
            return Err(Error::InvalidArgument("page image of another page size"));
        }
        format::verify_page(crate::error::FileKind::Wal, pgno, image)?;
        let theirs = if pgno == 1 {
            let h = DbHeader::decode(image)?;
            if h.page_size != self.page_size() {
                return Err(Error::InvalidArgument("page 1 of another page size"));
            }
            Some(h)
        } else {
            None
        };
        let r = (|| {
            let (mut pg, _) = self.parts()?;
            let Some(theirs) = theirs else {
                pg.fresh(pgno)?.copy_from_slice(image);
                return Ok(());
            };
            let mine = pg.header()?;
            let prior = pg.prior()?.unwrap_or_default();
            let p = pg.fresh(1)?;
            p.copy_from_slice(image);
            DbHeader {
                change_counter: mine.change_counter,
                wal_seq: mine.wal_seq,
                db_id: mine.db_id,
                ..theirs
            }
            .encode(p);
            prior.encode(p);
            Ok(())
        })();
        self.fail_txn(r)
    }
}
