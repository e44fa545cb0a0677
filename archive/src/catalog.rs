//! What an archive holds (from its keys and timeline records), and
//! retention: deleting snapshots and segments no longer needed.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::error::Result;
use crate::format::{keys, Snapshot, TimelineInfo, SNAPSHOT_HEADER_LEN};
use crate::store::Store;
use crate::Clock;

/// One timeline of an archive.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TimelineEntry {
    /// Its record (`None` if missing: the archive is damaged).
    pub info: Option<TimelineInfo>,
    /// Snapshot LSNs, ascending.
    pub snapshots: Vec<u64>,
    /// Segments as (first LSN, last LSN), ascending.
    pub segments: Vec<(u64, u64)>,
    /// Note LSNs, ascending.
    pub notes: Vec<u64>,
}

/// The contents of an archive, by timeline (`walden archive ls`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Catalog {
    /// Timelines by number.
    pub timelines: BTreeMap<u32, TimelineEntry>,
    /// Keys under the prefix that are not the archive's.
    pub unknown: Vec<String>,
}

impl Catalog {
    /// Lists the archive and reads its timeline records. Errors: `Store`,
    /// `Corrupt` (a damaged timeline record).
    pub fn read(store: &Store) -> Result<Catalog> {
        let mut c = Catalog::default();
        for k in store.list()? {
            match keys::parse(&k) {
                Some(keys::Key::Timeline(tl)) => {
                    let b = store.get(&k)?;
                    let t = c.timelines.entry(tl).or_default();
                    if let Some(b) = b {
                        t.info = Some(TimelineInfo::decode(&k, &b)?);
                    }
                }
                Some(keys::Key::Segment(tl, f, l)) => c.timelines.entry(tl).or_default().segments.push((f, l)),
                Some(keys::Key::Snapshot(tl, at)) => c.timelines.entry(tl).or_default().snapshots.push(at),
                Some(keys::Key::Note(tl, at)) => c.timelines.entry(tl).or_default().notes.push(at),
                None => c.unknown.push(k),
            }
        }
        for t in c.timelines.values_mut() {
            t.snapshots.sort_unstable();
            t.segments.sort_unstable();
            t.notes.sort_unstable();
        }
        Ok(c)
    }

    /// The last LSN timeline `tl` holds (its last segment's, or its newest
    /// snapshot's if that is later); 0 when it holds nothing.
    pub fn end_lsn(&self, tl: u32) -> u64 {
        self.timelines.get(&tl).map_or(0, |t| {
            let s = t.segments.iter().map(|s| s.1).max().unwrap_or(0);
            s.max(t.snapshots.last().copied().unwrap_or(0))
        })
    }

    /// The newest timeline, if any.
    pub fn newest_timeline(&self) -> Option<u32> {
        self.timelines.keys().next_back().copied()
    }
}

/// What [`retain`] keeps: snapshots (and the segments after the oldest
/// kept one) by count, by age, or both (a snapshot goes only when every
/// given rule lets it go). The newest snapshot of each timeline is always
/// kept, and with an age, also the newest one older than it, so that any
/// moment within the age can still be restored (PostgreSQL's
/// `pg_archivecleanup` removes WAL before the oldest base backup kept, as
/// Loki's retention purges by age).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Retention {
    /// Keep at least this many newest snapshots per timeline.
    pub keep_snapshots: Option<usize>,
    /// Keep what is needed to restore any moment this recent.
    pub max_age: Option<Duration>,
}

/// What [`retain`] deleted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RetainReport {
    /// Snapshots deleted.
    pub snapshots: u32,
    /// Segments deleted.
    pub segments: u32,
    /// Notes deleted.
    pub notes: u32,
}

/// Deletes, on every timeline, the snapshots the policy lets go and the
/// segments and notes that end at or before the oldest snapshot kept.
/// Timeline records stay. With neither rule, nothing is deleted. Errors:
/// `Store`, `Corrupt` (a snapshot header, read for its time).
pub fn retain(store: &Store, policy: Retention, clock: &Clock) -> Result<RetainReport> {
    let mut rep = RetainReport::default();
    if policy.keep_snapshots.is_none() && policy.max_age.is_none() {
        return Ok(rep);
    }
    let cat = Catalog::read(store)?;
    let now = clock();
    for (&tl, t) in &cat.timelines {
        let n = t.snapshots.len();
        if n == 0 {
            continue;
        }
        let mut keep = vec![false; n];
        keep[n - 1] = true;
        let by_count: Vec<bool> = (0..n).map(|i| policy.keep_snapshots.is_some_and(|k| i + k >= n)).collect();
        let mut by_age = vec![false; n];
        if let Some(age) = policy.max_age {
            let cutoff = now.saturating_sub(age.as_millis() as u64);
            let mut older_kept = false;
            for i in (0..n).rev() {
                let key = keys::snapshot(tl, t.snapshots[i]);
                let h = Snapshot::decode_header(&key, &store.get_range(&key, 0, SNAPSHOT_HEADER_LEN as u64)?)?;
                if h.unix_ms >= cutoff {
                    by_age[i] = true;
                } else if !older_kept {
                    by_age[i] = true;
                    older_kept = true;
                }
            }
        }
        for (i, k) in keep.iter_mut().enumerate() {
            let count_lets_go = policy.keep_snapshots.is_none() || !by_count[i];
            let age_lets_go = policy.max_age.is_none() || !by_age[i];
            *k |= !(count_lets_go && age_lets_go);
        }
        let oldest_kept = (0..n).find(|&i| keep[i]).map_or(0, |i| t.snapshots[i]);
        for (&at, _) in t.snapshots.iter().zip(&keep).filter(|(_, k)| !**k) {
            {
                store.delete(&keys::snapshot(tl, at))?;
                rep.snapshots += 1;
            }
        }
        for &(f, l) in &t.segments {
            if l <= oldest_kept {
                store.delete(&keys::segment(tl, f, l))?;
                rep.segments += 1;
            }
        }
        for &at in &t.notes {
            if at < oldest_kept {
                store.delete(&keys::note(tl, at))?;
                rep.notes += 1;
            }
        }
    }
    Ok(rep)
}
