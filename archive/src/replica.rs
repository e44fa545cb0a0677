//! A read replica: a database of its own that follows an archive's
//! timeline, applying each archived commit as one commit of its own
//! (physical page images, as a PostgreSQL standby replays WAL), readable
//! through the normal API throughout.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use walden_core::format::lsn;
use walden_std::{Database, Options};

use crate::catalog::Catalog;
use crate::error::{Error, Result};
use crate::restore::{restore_file, Chain, Target};
use crate::store::Store;

/// A follower of one timeline of an archive.
#[derive(Debug)]
pub struct Replica {
    db: Database,
    store: Store,
    timeline: u32,
    /// The archive LSN applied.
    applied: u64,
    /// Chain value at `applied` (when known).
    chain: Option<u32>,
    state: PathBuf,
    poll: Duration,
}

/// What one [`Replica::poll`] applied.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PollReport {
    /// Segments read.
    pub segments: u32,
    /// Commits applied.
    pub commits: u32,
    /// The archive LSN applied afterwards.
    pub applied_lsn: u64,
}

impl Replica {
    /// Opens the replica at `path`, following timeline `timeline` (`None`:
    /// the newest) of the archive: if `path` does not exist it is restored
    /// from the archive's latest state first. The position is kept in
    /// `<path>-replica` (timeline and LSN), written after each applied
    /// segment; applying a commit twice (a crash between the two) writes
    /// the same page images again, which changes nothing. Do not write to
    /// a replica's database: the archive's next commit would overwrite
    /// some of the pages and not others. Errors: as [`crate::restore()`];
    /// `InvalidArgument` (a replica state of another timeline, or a
    /// database without its replica state).
    pub fn open(store: Store, path: impl AsRef<Path>, timeline: Option<u32>, opts: Options) -> Result<Replica> {
        let path = path.as_ref();
        let state = PathBuf::from(format!("{}-replica", path.display()));
        let (tl, applied) = if path.exists() {
            let text = std::fs::read_to_string(&state).map_err(|e| {
                Error::InvalidArgument(format!(
                    "{}: {e}; {} is not a replica (restore it anew)",
                    state.display(),
                    path.display()
                ))
            })?;
            parse_state(&text).ok_or_else(|| Error::InvalidArgument(format!("{}: not a replica state", state.display())))?
        } else {
            let info = restore_file(&store, path, timeline, Target::Latest)?;
            write_state(&state, info.timeline, info.lsn)?;
            (info.timeline, info.lsn)
        };
        if timeline.is_some_and(|t| t != tl) {
            return Err(Error::InvalidArgument(format!(
                "{} follows timeline {tl:08x}, not {:08x}",
                path.display(),
                timeline.unwrap_or(0)
            )));
        }
        let db = Database::open(path, opts)?;
        Ok(Replica {
            db,
            store,
            timeline: tl,
            applied,
            chain: None,
            state,
            poll: Duration::from_millis(50),
        })
    }

    /// The replica's database: read it through the normal API.
    pub fn database(&self) -> &Database {
        &self.db
    }

    /// The archive LSN applied so far.
    pub fn applied_lsn(&self) -> u64 {
        self.applied
    }

    /// The timeline followed.
    pub fn timeline(&self) -> u32 {
        self.timeline
    }

    /// Sets how often [`Replica::wait_for_lsn`] and [`Replica::follow`]
    /// look at the archive (default 50 ms).
    pub fn set_poll_interval(&mut self, d: Duration) {
        self.poll = d;
    }

    /// Applies every commit archived after the position, each as one write
    /// transaction of the replica (readers see archived commits whole, in
    /// order). Errors: `Corrupt`, `Store`, `Db`; `Unreachable` when the
    /// chain breaks (a gap in the archive: the replica must be restored
    /// anew from the snapshot after it).
    pub fn poll(&mut self) -> Result<PollReport> {
        let mut rep = PollReport::default();
        let cat = Catalog::read(&self.store)?;
        let Some(t) = cat.timelines.get(&self.timeline) else {
            return Err(Error::Unreachable(format!(
                "timeline {:08x} is gone from the archive",
                self.timeline
            )));
        };
        let mut chain = Chain::new(self.timeline, self.applied, self.chain, &t.segments);
        while let Some(seg) = chain.next(&self.store)? {
            rep.segments += 1;
            let mut next = 0u32;
            for c in &seg.commits {
                let end = c.frame - seg.first_frame;
                let at = lsn(seg.generation, c.frame);
                if at <= self.applied {
                    next = end + 1;
                    continue;
                }
                // The newest image of each page in the commit, page 1
                // first (it carries the new page count).
                let mut pages = std::collections::BTreeMap::new();
                for i in next..=end {
                    let (fh, page) = seg.frame(i);
                    pages.insert(fh.pgno, page);
                }
                let w = self.db.begin_write()?;
                for (pgno, page) in &pages {
                    w.put_page_image(*pgno, page)?;
                }
                w.commit()?;
                next = end + 1;
                self.applied = at;
                rep.commits += 1;
            }
            chain.advance(&seg, self.applied);
            self.chain = Some(seg.chain_after());
            write_state(&self.state, self.timeline, self.applied)?;
        }
        if chain.broken {
            return Err(Error::Unreachable(format!(
                "timeline {:08x}: the archive has a gap after LSN {:016x}; restore the replica anew",
                self.timeline, self.applied
            )));
        }
        rep.applied_lsn = self.applied;
        Ok(rep)
    }

    /// Polls until the archive LSN `lsn` is applied (read-your-writes: the
    /// writer's `commit()` returned it), or `timeout` passes. Errors:
    /// `Timeout`, and those of [`Replica::poll`].
    pub fn wait_for_lsn(&mut self, lsn: u64, timeout: Duration) -> Result<()> {
        let deadline = Instant::now() + timeout;
        loop {
            if self.applied >= lsn {
                return Ok(());
            }
            self.poll()?;
            if self.applied >= lsn {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(Error::Timeout {
                    lsn,
                    applied: self.applied,
                });
            }
            std::thread::sleep(self.poll);
        }
    }

    /// Polls every poll interval until `stop` returns true.
    pub fn follow(&mut self, mut stop: impl FnMut(&PollReport) -> bool) -> Result<()> {
        loop {
            let r = self.poll()?;
            if stop(&r) {
                return Ok(());
            }
            std::thread::sleep(self.poll);
        }
    }
}

pub(crate) fn parse_state(s: &str) -> Option<(u32, u64)> {
    let mut tl = None;
    let mut at = None;
    for line in s.lines() {
        match line.split_once(' ')? {
            ("timeline", v) => tl = u32::from_str_radix(v.trim(), 16).ok(),
            ("lsn", v) => at = u64::from_str_radix(v.trim(), 16).ok(),
            _ => {}
        }
    }
    Some((tl?, at?))
}

pub(crate) fn write_state(path: &Path, tl: u32, at: u64) -> Result<()> {
    let tmp = PathBuf::from(format!("{}.tmp", path.display()));
    std::fs::write(&tmp, format!("timeline {tl:08x}\nlsn {at:016x}\n"))?;
    std::fs::File::open(&tmp)?.sync_all()?;
    std::fs::rename(&tmp, path)?;
    Ok(())
}
