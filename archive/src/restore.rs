//! Restore: a database file as it was at a commit of the archive, from the
//! newest snapshot at or before the target and the unbroken chain of
//! segments after it, every object verified, stopping exactly at the target
//! commit (PostgreSQL's point-in-time recovery with `recovery_target_lsn`
//! and `recovery_target_time`).

use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use walden_core::format::lsn;
use walden_std::{Database, Options};

use crate::catalog::Catalog;
use crate::error::{Error, Result};
use crate::format::{keys, Segment, Snapshot, SNAPSHOT_HEADER_LEN};
use crate::store::Store;

/// Where a restore stops.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// The last commit of the archive.
    Latest,
    /// The last commit at or before this LSN (`commit()`'s return value
    /// names a commit exactly). A target past the archive's end is an
    /// error.
    Lsn(u64),
    /// The last commit archived at or before this time (Unix
    /// milliseconds; commits carry the time the archiver saw them).
    /// A time after the archive's end restores its last commit.
    Time(u64),
}

/// What [`restore`] restored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RestoreInfo {
    /// The timeline restored from.
    pub timeline: u32,
    /// The LSN of the state restored (its last commit's).
    pub lsn: u64,
    /// When that commit was archived (Unix ms; the snapshot's time when no
    /// segment was applied).
    pub unix_ms: u64,
    /// The snapshot the restore started from.
    pub snapshot_lsn: u64,
    /// Segments read after the snapshot.
    pub segments: u32,
    /// Commits applied after the snapshot.
    pub commits: u32,
    /// Pages in the database restored.
    pub pages: u32,
}

/// Restores timeline `timeline` (`None`: the newest) of the archive to a
/// new database at `path`, as it was at `target`. The file is written as
/// `<path>.restore` (the snapshot's pages, then each commit's page images
/// up to the target commit, the size of that commit), fsynced, renamed
/// into place, then opened and verified (`Database::verify`).
///
/// The copy remembers where it came from (`<path>-archive-fork`): an
/// [`crate::Archiver`] started on it writes a new timeline branching off
/// this one at `lsn`, so that the two histories never share keys (as
/// PostgreSQL starts a new timeline at the end of a point-in-time
/// recovery).
///
/// Errors: `InvalidArgument` (`path`, its `-wal` or `-shm` exists),
/// `Unreachable` (no timeline, no snapshot at or before the target, a
/// segment missing from the chain or a gap before the target, an LSN
/// past the end), `Corrupt` (an object failed its checks; nothing is left
/// at `path`), `Store`, `Io`, `Db`.
pub fn restore(store: &Store, path: impl AsRef<Path>, timeline: Option<u32>, target: Target) -> Result<RestoreInfo> {
    let info = restore_file(store, path.as_ref(), timeline, target)?;
    crate::write_fork_marker(&crate::fork_marker_path(path.as_ref()), info.timeline, info.lsn)?;
    Ok(info)
}

/// [`restore`] without the fork marker (a replica's first copy).
pub(crate) fn restore_file(store: &Store, path: &Path, timeline: Option<u32>, target: Target) -> Result<RestoreInfo> {
    for p in [path.to_path_buf(), walden_std::wal_path(path), walden_std::shm_path(path)] {
        if p.symlink_metadata().is_ok() {
            return Err(Error::InvalidArgument(format!(
                "{}: exists; a restore writes a new database",
                p.display()
            )));
        }
    }
    let cat = Catalog::read(store)?;
    let tl = match timeline {
        Some(t) => t,
        None => cat
            .newest_timeline()
            .ok_or_else(|| Error::Unreachable("the archive is empty".into()))?,
    };
    let t = cat
        .timelines
        .get(&tl)
        .ok_or_else(|| Error::Unreachable(format!("no timeline {tl:08x} in the archive")))?;
    // The newest snapshot at or before the target.
    let mut snap = None;
    for &at in t.snapshots.iter().rev() {
        let ok = match target {
            Target::Latest => true,
            Target::Lsn(l) => at <= l,
            Target::Time(ms) => {
                let key = keys::snapshot(tl, at);
                let h = Snapshot::decode_header(&key, &store.get_range(&key, 0, SNAPSHOT_HEADER_LEN as u64)?)?;
                h.unix_ms <= ms
            }
        };
        if ok {
            snap = Some(at);
            break;
        }
    }
    let at = snap.ok_or_else(|| Error::Unreachable(format!("no snapshot of timeline {tl:08x} at or before {target:?}")))?;
    let key = keys::snapshot(tl, at);
    let bytes = store
        .get(&key)?
        .ok_or_else(|| Error::Unreachable(format!("{key}: listed but gone")))?;
    let s = Snapshot::decode(&key, &bytes)?;
    drop(bytes);
    let tmp = PathBuf::from(format!("{}.restore", path.display()));
    let r = (|| {
        let f = OpenOptions::new().write(true).create_new(true).open(&tmp)?;
        f.write_all_at(&s.pages, 0)?;
        let mut out = RestoreInfo {
            timeline: tl,
            lsn: s.lsn,
            unix_ms: s.unix_ms,
            snapshot_lsn: s.lsn,
            segments: 0,
            commits: 0,
            pages: s.page_count(),
        };
        let mut chain = Chain::new(tl, s.lsn, (s.lsn as u32 != 0).then_some(s.chain), &t.segments);
        let mut stopped = false;
        'segments: loop {
            if matches!(target, Target::Lsn(l) if chain.pos >= l) {
                stopped = true;
                break;
            }
            let Some(seg) = chain.next(store)? else { break };
            out.segments += 1;
            let done = apply(&f, &seg, chain.pos, |c| match target {
                Target::Latest => true,
                Target::Lsn(l) => lsn(seg.generation, c.frame) <= l,
                Target::Time(ms) => c.unix_ms <= ms,
            })?;
            for (c, _) in &done.applied {
                out.lsn = lsn(seg.generation, c.frame);
                out.unix_ms = c.unix_ms;
                out.pages = c.db_pages;
                out.commits += 1;
            }
            chain.advance(&seg, out.lsn);
            if done.stopped {
                stopped = true;
                break 'segments;
            }
        }
        // The chain ended before the target: the state there is known
        // only if nothing lies beyond (the archive's end).
        let end = cat.end_lsn(tl);
        if !stopped && end > out.lsn {
            return Err(Error::Unreachable(format!(
                "timeline {tl:08x}: no segment continues LSN {:016x} though the archive goes on to {end:016x} (a segment is missing, or a gap: see the timeline's notes)",
                out.lsn
            )));
        }
        if let Target::Lsn(l) = target {
            if !stopped && l > out.lsn {
                return Err(Error::Unreachable(format!(
                    "LSN {l:016x} is past the end of timeline {tl:08x} ({:016x})",
                    out.lsn
                )));
            }
        }
        f.set_len(out.pages as u64 * s.page_size as u64)?;
        f.sync_all()?;
        Ok(out)
    })();
    let out = match r {
        Ok(o) => o,
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            return Err(e);
        }
    };
    std::fs::rename(&tmp, path)?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        File::open(dir)?.sync_all()?;
    }
    // The result must be a sound database.
    let check = (|| -> Result<()> {
        let db = Database::open(path, Options::default())?;
        let rep = db.verify()?;
        if !rep.is_ok() {
            return Err(Error::Corrupt {
                key: path.display().to_string(),
                what: format!("the restored database fails verify: {:?}", rep.problems),
            });
        }
        Ok(())
    })();
    if let Err(e) = check {
        for p in [path.to_path_buf(), walden_std::wal_path(path), walden_std::shm_path(path)] {
            let _ = std::fs::remove_file(p);
        }
        return Err(e);
    }
    Ok(out)
}

/// What [`apply`] did with one segment.
pub(crate) struct Applied {
    /// The commits applied, with the index of their last frame.
    pub applied: Vec<(crate::format::CommitEntry, u32)>,
    /// Whether it stopped before the segment's end (the target was met).
    pub stopped: bool,
}

/// Writes the page images of `seg`'s commits after `pos` into the database
/// file `f`, commit by commit, while `want` accepts the commit.
pub(crate) fn apply(f: &File, seg: &Segment, pos: u64, mut want: impl FnMut(&crate::format::CommitEntry) -> bool) -> Result<Applied> {
    let mut out = Applied {
        applied: Vec::new(),
        stopped: false,
    };
    let ps = seg.page_size as u64;
    let mut next = 0u32;
    for c in &seg.commits {
        let end = c.frame - seg.first_frame; // index of the commit frame
        if lsn(seg.generation, c.frame) <= pos {
            next = end + 1;
            continue;
        }
        if !want(c) {
            out.stopped = true;
            break;
        }
        for i in next..=end {
            let (fh, page) = seg.frame(i);
            f.write_all_at(page, (fh.pgno as u64 - 1) * ps)?;
        }
        next = end + 1;
        out.applied.push((*c, end));
    }
    Ok(out)
}

/// Walks the segments of a timeline from a position, each one checked to
/// continue the last: the next frame of the same generation with the same
/// chain value, frame 1 of a later generation written right after the
/// position, or a segment the position falls inside at one of its
/// commits (a snapshot taken between two shipments).
pub(crate) struct Chain<'a> {
    tl: u32,
    /// The LSN of the state reached.
    pub pos: u64,
    chain: Option<u32>,
    segments: &'a [(u64, u64)],
    /// Segments lie beyond the position but none continues it.
    pub broken: bool,
}

impl<'a> Chain<'a> {
    pub(crate) fn new(tl: u32, pos: u64, chain: Option<u32>, segments: &'a [(u64, u64)]) -> Chain<'a> {
        Chain {
            tl,
            pos,
            chain,
            segments,
            broken: false,
        }
    }

    /// The next segment, downloaded and verified, or `None` at the end of
    /// the chain (`broken` says whether segments lie beyond).
    pub(crate) fn next(&mut self, store: &Store) -> Result<Option<Segment>> {
        let Some(&(f, l)) = self.segments.iter().filter(|s| s.1 > self.pos).min_by_key(|s| s.0) else {
            return Ok(None);
        };
        let key = keys::segment(self.tl, f, l);
        let b = store
            .get(&key)?
            .ok_or_else(|| Error::Unreachable(format!("{key}: listed but gone (deleted by retention meanwhile?)")))?;
        let seg = Segment::decode(&key, &b)?;
        if seg.first_lsn() != f || seg.last_lsn() != l || seg.timeline != self.tl {
            return Err(Error::Corrupt {
                key,
                what: "the object's LSNs or timeline differ from its key's".into(),
            });
        }
        let gen = (self.pos >> 32) as u32;
        let frame = self.pos as u32;
        let ok = if f <= self.pos {
            seg.generation == gen && seg.commits.iter().any(|c| c.frame == frame)
        } else if seg.generation == gen {
            f == self.pos + 1 && (frame == 0 || self.chain.is_none_or(|c| c == seg.chain_before))
        } else {
            seg.generation > gen && seg.first_frame == 1 && seg.prev_lsn == self.pos
        };
        if !ok {
            self.broken = true;
            return Ok(None);
        }
        Ok(Some(seg))
    }

    /// Records that the state reached is `reached` (a commit of `seg`, or
    /// its end).
    pub(crate) fn advance(&mut self, seg: &Segment, reached: u64) {
        if reached == seg.last_lsn() {
            self.chain = Some(seg.chain_after());
        } else {
            let i = (reached as u32).wrapping_sub(seg.first_frame);
            self.chain = (i < seg.frame_count()).then(|| seg.frame(i).0.cksum);
        }
        self.pos = reached.max(self.pos);
    }
}
