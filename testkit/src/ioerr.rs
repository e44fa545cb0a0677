//! I/O-error injection, SQLite's method (`sqlite3_io_error_hit`): for a
//! workload, fail its Nth I/O call for N = 0, 1, 2, ... until the workload
//! completes untouched, once ([`Fault::FailAt`] without `persistent`) and
//! from N on (with it). Each run checks:
//!
//! - the failure comes back as an error, never a panic, and is not
//!   swallowed: the step fails, or the handle is poisoned and the next call
//!   says so (an automatic checkpoint's failure after a durable commit is
//!   reported by the next call, as documented);
//! - after an I/O error the handle is `Poisoned` for every later
//!   transaction and checkpoint;
//! - reopening (faults removed, a fresh wal-index: a new process) passes
//!   the integrity check and shows the state of a prefix of the commits that
//!   contains every acknowledged one; and so does a power cut taken right
//!   after the failure under `Full`.

use std::panic::{catch_unwind, AssertUnwindSafe};

use crate::sim::{Crash, Fault, SimDisk};
use walden_core::{CheckpointMode, Error, SyncMode};

use crate::exec::{panic_text, recover, run, run_keep, History, Outcome};
use crate::workload::{Conn, Workload};

/// Figures of one injection campaign.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Summary {
    /// I/O calls of the workload without faults.
    pub calls: u64,
    /// Runs with a fault injected (both modes).
    pub runs: u64,
    /// Injected failures that fired.
    pub injected: u64,
    /// Runs whose failure hit the first open (no handle to probe).
    pub failed_open: u64,
    /// Runs where a commit returned an error.
    pub failed_commits: u64,
}

/// Checks the handle after a fault fired: poisoned for every transaction
/// and checkpoint.
fn probe(c: &mut Conn) -> Result<(), String> {
    match c.begin_read() {
        Err(Error::Poisoned) => {}
        r => return Err(format!("begin_read after an I/O error: {r:?}, want Poisoned")),
    }
    match c.begin_write() {
        Err(Error::Poisoned) => {}
        r => return Err(format!("begin_write after an I/O error: {r:?}, want Poisoned")),
    }
    match c.checkpoint(CheckpointMode::Passive) {
        Err(Error::Poisoned) => Ok(()),
        r => Err(format!("checkpoint after an I/O error: {r:?}, want Poisoned")),
    }
}

/// Reopens and checks for a prefix with every acknowledged commit (any
/// prefix after a power cut under `Normal`).
fn check_reopen(h: &History, disk: &SimDisk, w: &Workload, sync: SyncMode, power_cut: bool) -> Result<(), String> {
    let what = if power_cut { "after a power cut" } else { "after the failure" };
    let s = recover(disk, w, sync).map_err(|e| format!("reopen {what}: {e}"))?;
    let lo = if power_cut && sync == SyncMode::Normal {
        0
    } else {
        h.acknowledged()
    };
    h.locate(&s, lo, h.states.len() - 1)
        .map(drop)
        .map_err(|e| format!("reopen {what}: {e}"))
}

/// One run with `fault`; `Ok(true)` when the fault never fired (the
/// workload is past its last call).
fn one(w: &Workload, sync: SyncMode, fault: Fault, seed: u64, sum: &mut Summary) -> Result<bool, String> {
    let disk = SimDisk::new(seed);
    disk.inject(Some(fault));
    let r = catch_unwind(AssertUnwindSafe(|| run_keep(w, &disk, sync)));
    let (h, out, conn) = r.map_err(|p| format!("panic: {}", panic_text(&p)))?;
    let fired = disk.faults_hit() > 0;
    if !fired {
        return match out {
            Outcome::Completed => Ok(true),
            Outcome::Failed { step, error } => Err(format!("step {step} failed without a fault: {error}")),
        };
    }
    sum.runs += 1;
    sum.injected += disk.faults_hit();
    if let Outcome::Failed { step, error } = &out {
        if !matches!(error, Error::Io { .. } | Error::Poisoned) {
            return Err(format!("step {step}: {error}, want an I/O error"));
        }
        if *step == usize::MAX {
            sum.failed_open += 1;
        }
        if h.acked.last() == Some(&u64::MAX) {
            sum.failed_commits += 1;
        }
    }
    if let Some(mut c) = conn {
        // Completed runs too: a failure the workload did not see (an
        // automatic checkpoint after a durable commit) must show now.
        catch_unwind(AssertUnwindSafe(|| probe(&mut c))).map_err(|p| format!("panic in probe: {}", panic_text(&p)))??;
    }
    disk.inject(None);
    if sync == SyncMode::Full {
        let cut = disk.fork(seed ^ 0xC0FFEE);
        cut.crash(Crash::PowerLoss { sector: 512 });
        check_reopen(&h, &cut, w, sync, true)?;
    }
    check_reopen(&h, &disk, w, sync, false)?;
    Ok(false)
}

/// Runs the campaign for `w` under `sync`; `Err` lists the failures (each
/// names the call index and mode to replay).
pub fn campaign(w: &Workload, sync: SyncMode, seed: u64) -> Result<Summary, Vec<String>> {
    let disk = SimDisk::new(seed);
    disk.inject(Some(Fault::FailAt {
        call: u64::MAX,
        persistent: false,
    }));
    let (_, out) = run(w, &disk, sync);
    if out != Outcome::Completed {
        return Err(vec![format!("{} {sync:?}: the workload failed without a fault: {out:?}", w.name)]);
    }
    let mut sum = Summary {
        calls: disk.calls(),
        ..Summary::default()
    };
    let mut failures = Vec::new();
    for persistent in [false, true] {
        for call in 0.. {
            let fault = Fault::FailAt { call, persistent };
            match one(w, sync, fault, seed, &mut sum) {
                Ok(true) => break,
                Ok(false) => {}
                Err(e) => failures.push(format!("{} {sync:?}: {fault:?}: {e}", w.name)),
            }
            if call > sum.calls + 16 {
                failures.push(format!(
                    "{} {sync:?}: {fault:?}: the fault still fires past the workload's calls",
                    w.name
                ));
                break;
            }
        }
    }
    if failures.is_empty() {
        Ok(sum)
    } else {
        Err(failures)
    }
}
