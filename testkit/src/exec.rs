//! Running a [`Workload`] on a [`SimDisk`] and checking what a reopen
//! finds.

use std::panic::{catch_unwind, AssertUnwindSafe};

use crate::sim::SimDisk;
use std::collections::BTreeMap;

use walden_core::{CheckpointMode, Error, PriorGeneration, SyncMode};

use std::sync::Arc;

use walden_core::sync::AtomicU32;

use crate::workload::{
    apply_step, empty_state, group_key, new_region, open, open_on, options, read_state, run_data_step, value, verify, Conn, State, Step,
    Workload,
};

/// What a run did: the committed states and where, in disk operations
/// ([`SimDisk::ops`]), each commit began and was acknowledged.
#[derive(Debug, Clone)]
pub struct History {
    /// `states[0]` is the empty database; `states[j]` the state after
    /// commit `j` (a commit that failed is included as the last state: it
    /// may or may not have reached the disk).
    pub states: Vec<State>,
    /// `started[j]`: disk operations issued before commit `j` was called
    /// (`started[0] = 0`).
    pub started: Vec<u64>,
    /// `acked[j]`: disk operations issued when commit `j` returned `Ok`
    /// (`u64::MAX` for a commit that failed).
    pub acked: Vec<u64>,
    /// The last commit of each WAL generation the run published: frame
    /// and chain value, by checkpoint sequence (what page 1's record of the
    /// previous generation, `walden_core::PriorGeneration`, must say when
    /// it is known).
    pub ends: BTreeMap<u32, (u32, u32)>,
}

impl History {
    fn new() -> History {
        History {
            states: vec![empty_state()],
            started: vec![0],
            acked: vec![0],
            ends: BTreeMap::new(),
        }
    }

    /// Checks page 1's record of the previous WAL generation, when known:
    /// it must name a generation of this run and where it really ended.
    pub fn check_prior(&self, p: Option<PriorGeneration>) -> Result<(), String> {
        let Some(p) = p else { return Ok(()) };
        match self.ends.get(&p.ckpt_seq) {
            Some(&end) if end == (p.last_frame, p.last_cksum) => Ok(()),
            other => Err(format!(
                "page 1 records generation {} ending at frame {} (chain {:08x}); the run's ended at {other:?}",
                p.ckpt_seq, p.last_frame, p.last_cksum
            )),
        }
    }

    /// Commits acknowledged before operation `op` was issued: every one of
    /// them must survive a crash at `op` in sync mode `Full`.
    pub fn acked_before(&self, op: u64) -> usize {
        self.acked[1..].iter().filter(|&&a| a <= op).count()
    }

    /// Commits that had begun by operation `op` (inclusive): no later
    /// commit may be visible after a crash at `op`.
    pub fn started_by(&self, op: u64) -> usize {
        self.started[1..].iter().filter(|&&s| s <= op).count()
    }

    /// Commits acknowledged in all.
    pub fn acknowledged(&self) -> usize {
        self.acked[1..].iter().filter(|&&a| a != u64::MAX).count()
    }

    /// Which commit `s` is the state of, within `lo..=hi`; `Err` describes
    /// the mismatch.
    pub fn locate(&self, s: &State, lo: usize, hi: usize) -> Result<usize, String> {
        let hi = hi.min(self.states.len() - 1);
        // Several commits may leave equal states; any in range will do.
        if let Some(j) = (lo..=hi).rev().find(|&j| self.states.get(j) == Some(s)) {
            return Ok(j);
        }
        match self.states.iter().position(|x| x == s) {
            Some(j) => Err(format!("state of commit {j}, want one of commits {lo}..={hi}")),
            None => Err(format!(
                "state of no commit ({} tables, {} entries), want one of commits {lo}..={hi}",
                s.len(),
                s.values().map(|m| m.len()).sum::<usize>()
            )),
        }
    }
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Every step ran.
    Completed,
    /// Step `step` (`usize::MAX`: the first open) returned `error`; the run
    /// stopped there.
    Failed {
        /// Index of the failing step.
        step: usize,
        /// Its error.
        error: Error,
    },
}

/// Runs `w` on `disk` under `sync`, stopping at the first error (a
/// checkpoint's `Busy` is not one). Panics of the engine propagate.
pub fn run(w: &Workload, disk: &SimDisk, sync: SyncMode) -> (History, Outcome) {
    let (h, out, _) = run_keep(w, disk, sync);
    (h, out)
}

/// As [`run`], and also returns the connection as the run left it (`None`
/// when the first open failed), to probe it after an error.
pub fn run_keep(w: &Workload, disk: &SimDisk, sync: SyncMode) -> (History, Outcome, Option<Conn>) {
    let mut h = History::new();
    let opts = options(w, sync);
    let mut region = new_region();
    let mut c = match open_on(disk, w.cache_pages, opts, region.clone()) {
        Ok(c) => c,
        Err(error) => return (h, Outcome::Failed { step: usize::MAX, error }, None),
    };
    let mut committed = empty_state();
    let mut txn: Option<State> = None;
    for (i, step) in w.steps.iter().enumerate() {
        let mut run = Run {
            disk,
            committed: &mut committed,
            txn: &mut txn,
            h: &mut h,
            w,
            opts,
            region: &mut region,
        };
        let r = run.step(&mut c, step, i);
        // Restarts come only at a begin or a checkpoint, after every
        // commit appended is published: the last header a generation had
        // after a step is where it ended.
        if let Ok((hdr, _)) = c.wal_state() {
            if hdr.mx_frame > 0 {
                h.ends.insert(hdr.ckpt_seq, (hdr.mx_frame, hdr.last_cksum));
            }
        }
        if let Err(error) = r {
            // A failed reopen leaves no handle (the old one was closed).
            let c = if *step == Step::Reopen { None } else { Some(c) };
            return (h, Outcome::Failed { step: i, error }, c);
        }
    }
    (h, Outcome::Completed, Some(c))
}

/// The state of a run between steps.
struct Run<'a> {
    disk: &'a SimDisk,
    committed: &'a mut State,
    txn: &'a mut Option<State>,
    h: &'a mut History,
    w: &'a Workload,
    opts: walden_core::Options,
    /// The wal-index of the connection (sibling connections of a group
    /// commit share it).
    region: &'a mut Arc<[AtomicU32]>,
}

impl Run<'_> {
    fn step(&mut self, c: &mut Conn, step: &Step, i: usize) -> Result<(), Error> {
        let (disk, opts, w) = (self.disk, self.opts, self.w);
        match step {
            Step::Begin => {
                c.begin_write()?;
                *self.txn = Some(self.committed.clone());
            }
            Step::Put { .. } | Step::Delete { .. } | Step::DropTable(_) => {
                run_data_step(c, step, i)?;
                if let Some(t) = self.txn.as_mut() {
                    apply_step(t, step, i);
                }
            }
            Step::Commit => {
                let next = self.txn.take().unwrap_or_else(|| self.committed.clone());
                let started = disk.ops();
                match c.commit() {
                    Ok(Some(_)) => {
                        *self.committed = next;
                        self.h.states.push(self.committed.clone());
                        self.h.started.push(started);
                        self.h.acked.push(disk.ops());
                    }
                    Ok(None) => {
                        if next != *self.committed {
                            // Recorded as a failure of the engine: a change
                            // that was not committed.
                            return Err(Error::InvalidArgument("commit of a changing transaction returned None"));
                        }
                    }
                    Err(e) => {
                        // The commit may or may not have reached the disk.
                        self.h.states.push(next);
                        self.h.started.push(started);
                        self.h.acked.push(u64::MAX);
                        return Err(e);
                    }
                }
            }
            Step::Abort => {
                c.abort();
                *self.txn = None;
            }
            Step::Checkpoint(m) => match c.checkpoint(*m) {
                Ok(_) | Err(Error::Busy) => {}
                Err(e) => return Err(e),
            },
            Step::Reopen => {
                *self.region = new_region();
                *c = open_on(disk, w.cache_pages, opts, self.region.clone())?;
            }
            Step::GroupCommit(n) => return self.group_commit(c, i, *n),
        }
        Ok(())
    }

    /// [`Step::GroupCommit`]: the open transaction appended, `n` siblings
    /// appended behind it, one sync for all (`c`'s commit), then the
    /// siblings' commits. States, starts and acknowledgements are recorded
    /// commit by commit.
    fn group_commit(&mut self, c: &mut Conn, i: usize, n: u8) -> Result<(), Error> {
        let disk = self.disk;
        let first = self.txn.take().unwrap_or_else(|| self.committed.clone());
        let mut states = vec![first];
        let mut started = vec![disk.ops()];
        let appended = c.append_commit();
        let first_changed = match appended {
            Ok(l) => l.is_some(),
            Err(e) => {
                self.h.states.push(states.remove(0));
                self.h.started.push(started[0]);
                self.h.acked.push(u64::MAX);
                return Err(e);
            }
        };
        if !first_changed {
            states.clear();
            started.clear();
        }
        let mut siblings = Vec::new();
        let mut fail = None;
        for k in 0..n {
            let base = states.last().cloned().unwrap_or_else(|| self.committed.clone());
            let s = disk.ops();
            let r = (|| {
                let mut sib = open_on(disk, 4, self.opts, self.region.clone())?;
                sib.begin_write()?;
                let t = sib.default_table()?;
                let key = group_key(i, k);
                sib.put(t, &key, &value(&key, 24, i))?;
                sib.append_commit()?;
                Ok::<_, Error>(sib)
            })();
            let mut next = base;
            apply_step(
                &mut next,
                &Step::Put {
                    table: 0,
                    key: group_key(i, k),
                    len: 24,
                },
                i,
            );
            states.push(next);
            started.push(s);
            match r {
                Ok(sib) => siblings.push(sib),
                Err(e) => {
                    fail = Some(e);
                    break;
                }
            }
        }
        // Acknowledgements in commit order: the first connection's commit
        // (it syncs for all), then each sibling's.
        let mut conns: Vec<&mut Conn> = Vec::new();
        if first_changed {
            conns.push(c);
        }
        conns.extend(siblings.iter_mut());
        let mut result = fail.map_or(Ok(()), Err);
        for (j, (state, s)) in states.into_iter().zip(started).enumerate() {
            let r = if result.is_ok() {
                conns.get_mut(j).map_or(Err(Error::Busy), |conn| conn.commit().map(drop))
            } else {
                Err(Error::Busy)
            };
            self.h.states.push(state.clone());
            self.h.started.push(s);
            match r {
                Ok(()) => {
                    *self.committed = state;
                    self.h.acked.push(disk.ops());
                }
                Err(e) => {
                    self.h.acked.push(u64::MAX);
                    if result.is_ok() {
                        result = Err(e);
                    }
                }
            }
        }
        result
    }
}

/// Opens the database on `disk` (running recovery), runs the integrity
/// check and reads every table; `Err` describes what failed, panics
/// included.
pub fn recover(disk: &SimDisk, w: &Workload, sync: SyncMode) -> Result<State, String> {
    recover_with_prior(disk, w, sync).map(|(s, _)| s)
}

/// As [`recover`], and also returns page 1's record of where the WAL
/// generation before the recovered one ended (`None`: unknown).
pub fn recover_with_prior(disk: &SimDisk, w: &Workload, sync: SyncMode) -> Result<(State, Option<PriorGeneration>), String> {
    let r = catch_unwind(AssertUnwindSafe(|| {
        let mut c = open(disk, w.cache_pages, options(w, sync)).map_err(|e| format!("open: {e}"))?;
        let entries = verify(&mut c)?;
        let s = read_state(&mut c).map_err(|e| format!("read: {e}"))?;
        let n: u64 = s.values().map(|m| m.len() as u64).sum();
        if n != entries {
            return Err(format!("integrity check counted {entries} entries, reads found {n}"));
        }
        c.begin_read().map_err(|e| format!("begin_read: {e}"))?;
        let prior = c.prior_generation().map_err(|e| format!("prior_generation: {e}"));
        c.end_read();
        Ok((s, prior?))
    }));
    r.unwrap_or_else(|p| Err(format!("panic: {}", panic_text(&p))))
}

/// The text of a caught panic.
pub fn panic_text(p: &Box<dyn std::any::Any + Send>) -> String {
    p.downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "non-string panic".into())
}

/// The first activity after recovery whose crash points the suite also
/// enumerates: open (recovery), a `Full` checkpoint, a `Truncate`
/// checkpoint. `Ok(true)` when it ran to the end without reaching the
/// disk's crash point.
pub fn after_recovery(disk: &SimDisk, w: &Workload, sync: SyncMode) -> Result<bool, Error> {
    let mut c = open(disk, w.cache_pages, options(w, sync))?;
    for m in [CheckpointMode::Full, CheckpointMode::Truncate] {
        match c.checkpoint(m) {
            Ok(_) | Err(Error::Busy) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(disk.is_powered())
}
