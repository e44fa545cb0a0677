//! The archiver: ships a database's committed WAL frames to the archive as
//! segments, takes snapshots, and holds the WAL through the archive slot.
//! The protocol it follows with the database is in the crate
//! documentation; the slot's own in `walden_core::connection::archive`.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use walden_core::format::{lsn, FrameHeader, WalHeader, FRAME_HEADER_LEN, WAL_HEADER_LEN};
use walden_core::wal::frames::FrameReader;
use walden_std::{ArchiveLimits, ArchiverLock, Database, IndexHeader};

use crate::catalog::Catalog;
use crate::error::{Error, Result};
use crate::format::{keys, CommitEntry, Segment, Snapshot, TimelineInfo};
use crate::store::{Put, Store};
use crate::{fork_marker_path, read_fork_marker, system_clock, Clock};

/// Where an archive may end: LSN, generation, salts, chain value.
type End = (u64, u32, u32, u32, u32);

/// How an [`Archiver`] runs.
#[derive(Clone)]
pub struct ArchiverOptions {
    /// The limits the archive slot sets on the database's writers (frames
    /// or milliseconds not yet shipped; an error or back-pressure). Default:
    /// none (the WAL's own size limit then stops writers).
    pub limits: ArchiveLimits,
    /// A segment is cut at the first commit boundary past this many bytes
    /// of frames (a single larger commit makes one larger segment).
    /// Default 16 MiB.
    pub max_segment_bytes: usize,
    /// [`Archiver::run`] takes a snapshot this often (PostgreSQL's base
    /// backups on a schedule); `None`: only at the start, after a gap and
    /// on demand. Default `None`.
    pub snapshot_every: Option<Duration>,
    /// [`Archiver::run`] looks for new commits this often. Default 100 ms.
    pub poll_interval: Duration,
    /// Wall-clock time in Unix milliseconds, stamped on commits and
    /// snapshots (tests pass a controlled clock). Default: the system's.
    pub clock: Clock,
}

impl Default for ArchiverOptions {
    fn default() -> Self {
        ArchiverOptions {
            limits: ArchiveLimits::default(),
            max_segment_bytes: 16 << 20,
            snapshot_every: None,
            poll_interval: Duration::from_millis(100),
            clock: Arc::new(system_clock),
        }
    }
}

impl std::fmt::Debug for ArchiverOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ArchiverOptions")
            .field("limits", &self.limits)
            .field("max_segment_bytes", &self.max_segment_bytes)
            .field("snapshot_every", &self.snapshot_every)
            .field("poll_interval", &self.poll_interval)
            .finish()
    }
}

/// What one [`Archiver::ship`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ShipReport {
    /// Segments written.
    pub segments: u32,
    /// Commits in them.
    pub commits: u32,
    /// Frames in them.
    pub frames: u32,
    /// The archive's position afterwards (the LSN of its last commit).
    pub archived_lsn: u64,
    /// A snapshot taken, at this LSN.
    pub snapshot: Option<u64>,
    /// A gap found (the WAL restarted while no archiver held it): what
    /// was lost and the snapshot that starts the archive again.
    pub gap: Option<String>,
}

/// The archiver of one database into one archive: one at a time per
/// database (it holds [`Database::lock_archiver`]) and per timeline (its
/// writes are put-if-absent).
pub struct Archiver {
    db: Database,
    store: Store,
    opts: ArchiverOptions,
    _lock: ArchiverLock,
    wal: PathBuf,
    db_id: u32,
    page_size: u32,
    timeline: u32,
    /// The archive holds every commit through frame `frame` of generation
    /// `gen` (salts `salt1`/`salt2`, chain value `chain` after it).
    gen: u32,
    salt1: u32,
    salt2: u32,
    frame: u32,
    chain: u32,
    /// The LSN of the last object of the chain (a new generation's first
    /// segment names the previous generation's end as its predecessor).
    prev_lsn: u64,
    last_ms: u64,
    last_snapshot_ms: u64,
}

impl std::fmt::Debug for Archiver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Archiver({:?} -> {:?}, timeline {}, at {:016x})",
            self.db.path(),
            self.store,
            self.timeline,
            self.archived_lsn()
        )
    }
}

impl Archiver {
    /// Starts archiving `db` into `store`: takes the archiver lock and the
    /// archive slot, chooses the timeline (the database's newest one in the
    /// archive; a new one, branching off the restored-from timeline, when
    /// the database was restored from it, see [`crate::restore()`]; 1 for a
    /// new archive), and finds where the archive ends. If the database's
    /// WAL continues the archive, shipping resumes there; otherwise (a new
    /// archive, a new timeline, or a gap: the WAL restarted while no
    /// archiver held it) a snapshot starts it, and a gap is written down as
    /// a note and in the returned [`ShipReport::gap`]. Errors: `Db` (`Busy`:
    /// another archiver runs; `ReadOnly`), `ForeignArchive`, `Conflict`,
    /// `Corrupt`, `Store`.
    pub fn start(db: &Database, store: Store, opts: ArchiverOptions) -> Result<(Archiver, ShipReport)> {
        let lock = db.lock_archiver()?;
        let (db_id, page_size) = {
            let r = db.begin_read()?;
            let h = r.header()?;
            (h.db_id, h.page_size)
        };
        let mut a = Archiver {
            db: db.clone(),
            store,
            wal: db.wal_path().to_path_buf(),
            db_id,
            page_size,
            timeline: 0,
            gen: 0,
            salt1: 0,
            salt2: 0,
            frame: 0,
            chain: 0,
            prev_lsn: 0,
            last_ms: 0,
            last_snapshot_ms: 0,
            opts,
            _lock: lock,
        };
        let cat = Catalog::read(&a.store)?;
        for (tl, t) in &cat.timelines {
            if let Some(i) = t.info {
                if i.db_id != db_id {
                    return Err(Error::ForeignArchive {
                        theirs: i.db_id,
                        ours: db_id,
                    });
                }
            } else {
                return Err(Error::Unreachable(format!("timeline {tl:08x} has objects but no timeline record")));
            }
        }
        let marker = fork_marker_path(db.path());
        let fork = read_fork_marker(&marker)?;
        let mut report = ShipReport::default();
        let newest = cat.timelines.keys().next_back().copied();
        match (fork, newest) {
            (Some((parent, branch)), _) => {
                a.timeline = a.new_timeline(&cat, parent, branch)?;
                a.note(
                    branch,
                    &format!(
                        "timeline {:08x} branches off timeline {parent:08x} at LSN {branch:016x} (a restored copy was archived)",
                        a.timeline
                    ),
                )?;
                report.snapshot = Some(a.snapshot_now(true)?);
                std::fs::remove_file(&marker)?;
            }
            (None, None) => {
                a.timeline = a.new_timeline(&cat, 0, 0)?;
                report.snapshot = Some(a.snapshot_now(true)?);
            }
            (None, Some(tl)) => {
                a.timeline = tl;
                // Hold the WAL (nothing shipped: always true) before
                // looking at it, so that it cannot restart meanwhile.
                let held = a.claim_nothing_shipped()?;
                let h = a.db.wal_header()?;
                let now_at = lsn(h.ckpt_seq, h.mx_frame);
                let resumed = a.resume(&cat, held)?;
                if !resumed && now_at < cat.end_lsn(tl) {
                    // The database is behind its archive: commits the
                    // archive holds were lost by the device (published
                    // but not yet durable under SyncMode::Normal or Off,
                    // then a power cut), or this is an older copy. Its
                    // history diverges: a new timeline, never the same
                    // keys as the archived one.
                    let was = cat.end_lsn(tl);
                    a.timeline = a.new_timeline(&cat, tl, now_at)?;
                    let text = format!(
                        "timeline {:08x} branches off timeline {tl:08x} at LSN {now_at:016x}: the database is behind its archive (which ends at {was:016x}): commits lost by the device, or an older copy",
                        a.timeline
                    );
                    a.note(now_at, &text)?;
                    report.snapshot = Some(a.snapshot_now(true)?);
                    report.gap = Some(text);
                } else if !resumed {
                    let was = cat.end_lsn(tl);
                    let gap = format!(
                        "gap: the archive of timeline {tl:08x} ends at LSN {was:016x}, but the database's WAL no longer holds what followed (it is at {:016x}); a new snapshot starts the archive again",
                        lsn(h.ckpt_seq, h.mx_frame)
                    );
                    let at = a.snapshot_now(true)?;
                    a.note(at, &gap)?;
                    report.snapshot = Some(at);
                    report.gap = Some(gap);
                }
            }
        }
        let more = a.ship()?;
        report.segments = more.segments;
        report.commits = more.commits;
        report.frames = more.frames;
        report.archived_lsn = more.archived_lsn;
        Ok((a, report))
    }

    /// The timeline this archiver writes.
    pub fn timeline(&self) -> u32 {
        self.timeline
    }

    /// The archive's position: the LSN of the last state it holds.
    pub fn archived_lsn(&self) -> u64 {
        lsn(self.gen, self.frame)
    }

    /// Ships every commit published since the last call as segments, then
    /// advances the archive slot (which lets the WAL restart once all is
    /// shipped). Errors: `Db`, `Store`, `Conflict`, `Corrupt` (the WAL
    /// holds a frame that fails its checks: nothing past it is shipped).
    pub fn ship(&mut self) -> Result<ShipReport> {
        let mut report = ShipReport::default();
        let h = self.db.wal_header()?;
        // The slot is read after the header: if it is still ours, it was
        // ours when the header was published, so a restart before then
        // happened only once every frame was shipped.
        let ours = self.db.archive_slot()?.is_some_and(|s| s.tag == self.tag());
        if !ours {
            // The slot was dropped (Database::drop_archive_slot): hold the
            // WAL again and see whether it still continues the archive.
            let held = self.claim_nothing_shipped()?;
            let cat = Catalog::read(&self.store)?;
            if !self.resume(&cat, held)? {
                let h = self.db.wal_header()?;
                let gap = format!(
                    "gap: the archive slot was dropped and the WAL restarted; the archive ended at LSN {:016x}, the database is at {:016x}; a new snapshot starts the archive again",
                    self.archived_lsn(),
                    lsn(h.ckpt_seq, h.mx_frame)
                );
                let at = self.snapshot_now(true)?;
                self.note(at, &gap)?;
                report.snapshot = Some(at);
                report.gap = Some(gap);
            }
            return self.ship_more(report);
        }
        if (h.ckpt_seq, h.salt1, h.salt2) != (self.gen, self.salt1, self.salt2) {
            if h.ckpt_seq <= self.gen {
                return Err(Error::Unreachable(format!(
                    "the WAL went from generation {} to {} under the archiver",
                    self.gen, h.ckpt_seq
                )));
            }
            // A restart, which the slot held until we had it all.
            self.gen = h.ckpt_seq;
            self.salt1 = h.salt1;
            self.salt2 = h.salt2;
            self.frame = 0;
        }
        self.ship_more(report)
    }

    fn ship_more(&mut self, mut report: ShipReport) -> Result<ShipReport> {
        let h = self.db.wal_header()?;
        if (h.ckpt_seq, h.salt1, h.salt2) == (self.gen, self.salt1, self.salt2) && h.mx_frame > self.frame {
            self.ship_frames(&h, &mut report)?;
        }
        self.advance_slot()?;
        if let Some(every) = self.opts.snapshot_every {
            if (self.opts.clock)().saturating_sub(self.last_snapshot_ms) >= every.as_millis() as u64 {
                report.snapshot = Some(self.snapshot_now(false)?);
            }
        }
        report.archived_lsn = self.archived_lsn();
        Ok(report)
    }

    /// Takes a snapshot now (on demand; [`Archiver::run`] also takes them
    /// on the schedule of [`ArchiverOptions::snapshot_every`]). Returns its
    /// LSN. Errors: as [`Archiver::ship`].
    pub fn snapshot(&mut self) -> Result<u64> {
        self.ship()?;
        self.snapshot_now(false)
    }

    /// Ships until `stop` returns true, every poll interval. Errors: the
    /// first error of [`Archiver::ship`] (the caller decides whether to
    /// start again; the slot keeps the WAL meanwhile).
    pub fn run(&mut self, mut stop: impl FnMut(&ShipReport) -> bool) -> Result<()> {
        loop {
            let r = self.ship()?;
            if stop(&r) {
                return Ok(());
            }
            std::thread::sleep(self.opts.poll_interval);
        }
    }

    fn now_ms(&mut self) -> u64 {
        self.last_ms = self.last_ms.max((self.opts.clock)());
        self.last_ms
    }

    /// The slot's owner tag: this archive's timeline, prefix and store.
    fn tag(&self) -> u32 {
        walden_core::checksum::crc32c(&[format!("{:?}|{}|{}", self.store, self.timeline, self.db_id).as_bytes()])
    }

    /// Claims the slot with nothing shipped; returns whether the slot it
    /// replaced was this archive's own (held since an earlier archiver of
    /// this timeline claimed it: every WAL restart since then came only
    /// once all was archived).
    fn claim_nothing_shipped(&self) -> Result<bool> {
        loop {
            let prior = self.db.archive_slot()?;
            let expected = prior.map(|s| s.shipped);
            if self.db.claim_archive_slot(self.tag(), self.opts.limits, expected, 0)? {
                return Ok(prior.is_some_and(|s| s.tag == self.tag()));
            }
        }
    }

    /// Records in the slot what the archive holds of the current generation.
    fn advance_slot(&mut self) -> Result<()> {
        let Some(slot) = self.db.archive_slot()? else { return Ok(()) };
        // The header after the slot: if its generation is ours, the slot's
        // count read above was of our generation too (a restart in between
        // would show in the header), and no restart can come before the
        // exchange below while the count is short of the last commit.
        let h = self.db.wal_header()?;
        if (h.ckpt_seq, h.salt1, h.salt2) != (self.gen, self.salt1, self.salt2) || slot.tag != self.tag() {
            return Ok(());
        }
        let caught_up = h.mx_frame == self.frame;
        if slot.shipped < self.frame || caught_up && slot.shipped == self.frame {
            // A failed exchange (a restart or a drop in between) is seen
            // by the next ship().
            self.db.advance_archive_slot(slot.shipped, self.frame, caught_up)?;
        }
        Ok(())
    }

    /// Whether the WAL continues the archive's end on this timeline (its
    /// last segment, else its newest snapshot: the one a gap started); if
    /// so the position is set there and the slot advanced to it. The WAL
    /// continues it when it is in the same generation past the archive's
    /// end frame with the same chain value there, or in the next generation
    /// when the archive holds all of its own: known from the slot (`held`:
    /// it held the WAL since the archive's end), or, when the slot was lost
    /// with the wal-index (every process died), from page 1's record of
    /// where the previous generation ended (`Database::prior_generation`).
    fn resume(&mut self, cat: &Catalog, held: bool) -> Result<bool> {
        let h = self.db.wal_header()?;
        // Where the generation before the WAL's ended, as page 1 records
        // it (None: unknown). Read after the claim, which holds the WAL in
        // its generation: the snapshot is of the same one.
        let (snap, prior) = self.db.prior_generation()?;
        let prior = prior.filter(|_| (snap.ckpt_seq, snap.salt1, snap.salt2) == (h.ckpt_seq, h.salt1, h.salt2));
        for (pos, gen, salt1, salt2, chain) in self.archive_ends(cat)? {
            // The WAL's generation began right where the archive ends: the
            // first commit of the generation recorded that the one before
            // it was `gen` and ended at this frame with this chain value.
            let recorded = prior.is_some_and(|p| (p.ckpt_seq, p.last_frame, p.last_cksum) == (gen, pos as u32, chain));
            if (held || recorded) && h.ckpt_seq == gen.wrapping_add(1) {
                // The slot held the WAL since the archive's end, or page 1
                // says the restart came at its end: the archive has all of
                // `gen`, and a second restart would need frames of the next
                // generation archived (or, unheld, would show in the WAL's
                // generation).
                self.gen = h.ckpt_seq;
                self.salt1 = h.salt1;
                self.salt2 = h.salt2;
                self.frame = 0;
                self.chain = 0;
                self.prev_lsn = pos;
                return Ok(true);
            }
            let frame = pos as u32;
            let same = h.ckpt_seq == gen && h.salt1 == salt1 && h.salt2 == salt2 && frame <= h.mx_frame;
            if !same || frame > 0 && self.wal_frame_chain(frame)? != chain {
                continue;
            }
            self.gen = gen;
            self.salt1 = salt1;
            self.salt2 = salt2;
            self.frame = frame;
            self.chain = chain;
            self.prev_lsn = pos;
            self.advance_slot()?;
            return Ok(true);
        }
        Ok(false)
    }

    /// Where the archive of this timeline may end: after its last segment,
    /// or at its newest snapshot if that is at or past the last segment;
    /// each as (LSN, generation, salts, chain).
    fn archive_ends(&self, cat: &Catalog) -> Result<Vec<End>> {
        let tl = self.timeline;
        let mut out = Vec::new();
        let Some(t) = cat.timelines.get(&tl) else { return Ok(out) };
        let seg_end = t.segments.iter().map(|s| s.1).max();
        if let Some((f, l)) = t.segments.iter().max_by_key(|s| s.1).copied() {
            let key = keys::segment(tl, f, l);
            let b = self
                .store
                .get(&key)?
                .ok_or_else(|| Error::Unreachable(format!("{key}: listed but gone")))?;
            let s = Segment::decode(&key, &b)?;
            out.push((l, s.generation, s.salt1, s.salt2, s.chain_after()));
        }
        // A snapshot only where nothing was archived after it: resuming
        // at an older one would archive a second history over the first.
        if let Some(at) = t.snapshots.iter().max().copied().filter(|at| seg_end.is_none_or(|e| *at >= e)) {
            let key = keys::snapshot(tl, at);
            let b = self.store.get_range(&key, 0, crate::format::SNAPSHOT_HEADER_LEN as u64)?;
            let s = Snapshot::decode_header(&key, &b)?;
            out.push((at, (at >> 32) as u32, s.salt1, s.salt2, s.chain));
        }
        Ok(out)
    }

    /// The chain value (checksum) of WAL frame `frame`, as the file holds it.
    fn wal_frame_chain(&self, frame: u32) -> Result<u32> {
        let f = File::open(&self.wal)?;
        let mut b = [0u8; FRAME_HEADER_LEN];
        f.read_exact_at(&mut b, walden_core::format::frame_offset(frame, self.page_size))?;
        Ok(FrameHeader::decode(&b).cksum)
    }

    fn new_timeline(&mut self, cat: &Catalog, parent: u32, branch: u64) -> Result<u32> {
        let mut tl = cat.timelines.keys().next_back().map_or(1, |t| t + 1);
        loop {
            let info = TimelineInfo {
                db_id: self.db_id,
                timeline: tl,
                parent,
                branch_lsn: branch,
                unix_ms: self.now_ms(),
            };
            if self.store.put_if_absent(&keys::timeline(tl), info.encode())? == Put::Created {
                self.timeline = tl;
                // The slot carries the timeline as its owner tag.
                self.claim_nothing_shipped()?;
                return Ok(tl);
            }
            tl += 1;
        }
    }

    fn note(&self, at: u64, text: &str) -> Result<()> {
        let key = keys::note(self.timeline, at);
        self.store.put_if_absent(&key, text.as_bytes().to_vec())?;
        Ok(())
    }

    /// A snapshot of the database now, from a read snapshot (writers go
    /// on). `moves`: it starts the archive (a new archive or timeline, a
    /// gap), so the position moves to it; otherwise segments go on from
    /// the position (a restore from this snapshot starts inside them).
    fn snapshot_now(&mut self, moves: bool) -> Result<u64> {
        let (h, pages) = {
            let r = self.db.begin_read()?;
            let h: IndexHeader = r.snapshot_header()?;
            let mut pages = Vec::with_capacity(h.n_pages as usize * h.page_size as usize);
            let mut buf = Vec::new();
            for p in 1..=h.n_pages {
                r.read_page(p, &mut buf)?;
                pages.extend_from_slice(&buf);
            }
            (h, pages)
        };
        let at = lsn(h.ckpt_seq, h.mx_frame);
        let snap = Snapshot {
            db_id: self.db_id,
            page_size: self.page_size,
            timeline: self.timeline,
            lsn: at,
            salt1: h.salt1,
            salt2: h.salt2,
            chain: if h.mx_frame > 0 { h.last_cksum } else { 0 },
            unix_ms: self.now_ms(),
            pages,
        };
        let key = keys::snapshot(self.timeline, at);
        // A snapshot at an LSN is that commit's state: one already there
        // (a lost response, a second snapshot without commits) is as good.
        self.store.put_if_absent(&key, snap.encode())?;
        self.last_snapshot_ms = snap.unix_ms;
        if moves {
            self.gen = h.ckpt_seq;
            self.salt1 = h.salt1;
            self.salt2 = h.salt2;
            self.frame = h.mx_frame;
            self.chain = snap.chain;
            self.prev_lsn = at;
            self.advance_slot()?;
        }
        Ok(at)
    }

    /// Reads frames `frame+1..=h.mx_frame` from the WAL, checks them, and
    /// puts them as segments cut at commit boundaries.
    fn ship_frames(&mut self, h: &IndexHeader, report: &mut ShipReport) -> Result<()> {
        let f = File::open(&self.wal)?;
        let ps = self.page_size;
        let fl = FRAME_HEADER_LEN + ps as usize;
        let mut reader = if self.frame == 0 {
            let mut hb = [0u8; WAL_HEADER_LEN];
            f.read_exact_at(&mut hb, 0)?;
            let wal_key = self.wal.display().to_string();
            let (wh, seed) = WalHeader::decode(&hb).ok_or_else(|| Error::Corrupt {
                key: wal_key.clone(),
                what: "the WAL header is not valid".into(),
            })?;
            if (wh.ckpt_seq, wh.salt1, wh.salt2, wh.db_id, wh.page_size) != (h.ckpt_seq, h.salt1, h.salt2, self.db_id, ps) {
                return Err(Error::Corrupt {
                    key: wal_key,
                    what: "the WAL header is not the published generation's".into(),
                });
            }
            self.chain = seed;
            FrameReader::new(&wh, seed, u64::MAX)
        } else {
            FrameReader::resume(ps, self.salt1, self.salt2, self.frame + 1, self.chain, u64::MAX)
        };
        let mut seg = self.empty_segment();
        let mut buf = vec![0u8; fl];
        let now = self.now_ms();
        for frame in self.frame + 1..=h.mx_frame {
            f.read_exact_at(&mut buf, walden_core::format::frame_offset(frame, ps))?;
            let fh = reader.next_from(&buf).map_err(|fault| Error::Corrupt {
                key: self.wal.display().to_string(),
                what: format!("WAL frame {frame}: {fault}"),
            })?;
            seg.frames.extend_from_slice(&buf);
            if fh.commit_size != 0 {
                seg.commits.push(CommitEntry {
                    frame,
                    db_pages: fh.commit_size,
                    unix_ms: now,
                });
                if seg.frames.len() >= self.opts.max_segment_bytes || frame == h.mx_frame {
                    self.put_segment(&seg, report)?;
                    self.prev_lsn = seg.last_lsn();
                    self.frame = frame;
                    self.chain = fh.cksum;
                    seg = self.empty_segment();
                }
            }
        }
        Ok(())
    }

    fn empty_segment(&self) -> Segment {
        Segment {
            db_id: self.db_id,
            page_size: self.page_size,
            timeline: self.timeline,
            prev_lsn: self.prev_lsn,
            generation: self.gen,
            salt1: self.salt1,
            salt2: self.salt2,
            chain_before: self.chain,
            first_frame: self.frame + 1,
            commits: Vec::new(),
            frames: Vec::new(),
        }
    }

    fn put_segment(&mut self, seg: &Segment, report: &mut ShipReport) -> Result<()> {
        let key = keys::segment(self.timeline, seg.first_lsn(), seg.last_lsn());
        if self.store.put_if_absent(&key, seg.encode())? == Put::Existed {
            // Ours if it holds the same frames from the same position (a
            // put whose response was lost, a restart after a crash);
            // anything else is another history's.
            let b = self.store.get(&key)?.ok_or_else(|| Error::Conflict { key: key.clone() })?;
            let theirs = Segment::decode(&key, &b).map_err(|_| Error::Conflict { key: key.clone() })?;
            if theirs.frames != seg.frames || theirs.prev_lsn != seg.prev_lsn {
                return Err(Error::Conflict { key });
            }
        }
        report.segments += 1;
        report.commits += seg.commits.len() as u32;
        report.frames += seg.frame_count();
        Ok(())
    }
}
