//! Crash-point enumeration: a workload runs once on a logging
//! [`SimDisk`]; then, for every write, truncation and sync of its log (the
//! crash points), a disk is rebuilt as it was with that operation in
//! flight, and each of `samples` crashes drawn from a seed (pending writes
//! kept, dropped or torn by 512- or 4,096-byte sectors) is reopened and
//! checked:
//!
//! - the open succeeds and the integrity check passes;
//! - under `Full`, every commit acknowledged before the crash point is
//!   there; under `Normal`, the state is that of some commit begun by then
//!   (a prefix: never part of a transaction, never a later commit without
//!   an earlier one); under `Off`, whose promise covers process crashes
//!   only, the crash is a process crash and the `Full` rule applies.
//! - page 1's record of where the previous WAL generation ended
//!   (`walden_core::PriorGeneration`), when known, is where the run's did.
//!
//! For some crash points a second crash follows: at every crash point of
//! the first activity after recovery (the open, a `Full` and a `Truncate`
//! checkpoint), then a reopen that must find the recovered state exactly.

use crate::sim::{Crash, SimDisk, SimRng};
use walden_core::SyncMode;

use crate::exec::{after_recovery, recover_with_prior, run, History, Outcome};
use crate::workload::Workload;

/// Parameters of an enumeration.
#[derive(Debug, Clone, Copy)]
pub struct Config {
    /// Crashes sampled per crash point (at least 10 in the suite).
    pub samples: u32,
    /// Seed of every random choice (printed with each failure).
    pub seed: u64,
    /// Enumerate the second crash (after recovery) at every `n`th crash
    /// point, on the first sample (0: never).
    pub second_crash_every: u64,
    /// Only this crash point and sample (replay of a failure).
    pub only: Option<(u64, u32)>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            samples: 10,
            seed: 0x5EED_0000_0000_0001,
            second_crash_every: 1,
            only: None,
        }
    }
}

/// Figures of one enumeration.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Summary {
    /// Crash points (operations of the workload, plus "after the last").
    pub crash_points: u64,
    /// Crashes reopened and checked (first crashes).
    pub crashes: u64,
    /// Second crashes (during the activity after recovery) reopened and
    /// checked.
    pub second_crashes: u64,
    /// Commits the workload acknowledged.
    pub commits: u64,
    /// Acknowledged commits missing after a crash (must be 0 under `Full`
    /// and `Off`).
    pub lost_acked: u64,
    /// Crashes after which page 1 recorded where the previous WAL
    /// generation ended (checked against the run; unknown otherwise).
    pub prior_records: u64,
    /// Pending writes the crashes kept, dropped and tore.
    pub kept: u64,
    /// See `kept`.
    pub dropped: u64,
    /// See `kept`.
    pub torn: u64,
}

/// The seed of sample `s` at crash point `k`.
pub fn sample_seed(cfg: &Config, k: u64, s: u32) -> u64 {
    let mut r = SimRng(cfg.seed ^ k.wrapping_mul(0x9E37_79B9) ^ ((s as u64) << 48));
    r.next_u64()
}

fn crash_kind(sync: SyncMode, s: u32) -> Crash {
    let sector = if s.is_multiple_of(2) { 512 } else { 4096 };
    match sync {
        SyncMode::Off => Crash::Process { sector },
        _ => Crash::PowerLoss { sector },
    }
}

/// Runs the enumeration of `w` under `sync`. `Err` lists the failures
/// (each with the workload, crash point, sample and seed to replay it with
/// [`Config::only`]).
pub fn enumerate(w: &Workload, sync: SyncMode, cfg: &Config) -> Result<Summary, Vec<String>> {
    let disk = SimDisk::new(cfg.seed);
    disk.record(true);
    let (h, out) = run(w, &disk, sync);
    if out != Outcome::Completed {
        return Err(vec![format!("{} {sync:?}: the workload failed without a crash: {out:?}", w.name)]);
    }
    let log = disk.take_log();
    let n = log.len() as u64;
    let mut sum = Summary {
        crash_points: n + 1,
        commits: h.acknowledged() as u64,
        ..Summary::default()
    };
    let mut failures = Vec::new();
    let replay = SimDisk::new(cfg.seed);
    for k in 0..=n {
        let in_range = cfg.only.is_none_or(|(ok, _)| ok == k);
        if in_range {
            let base = replay.fork(cfg.seed);
            if k < n {
                base.begin(&log[k as usize]);
            }
            for s in 0..cfg.samples {
                if cfg.only.is_some_and(|(_, os)| os != s) {
                    continue;
                }
                let seed = sample_seed(cfg, k, s);
                let d = base.fork(seed);
                let rep = d.crash(crash_kind(sync, s));
                sum.kept += rep.kept as u64;
                sum.dropped += rep.dropped as u64;
                sum.torn += rep.torn as u64;
                sum.crashes += 1;
                let what = format!(
                    "{} {sync:?}: crash at op {k}/{n} ({}), sample {s} (seed {seed:#x}, {rep:?})",
                    w.name,
                    describe(&log, k)
                );
                match check(&h, &d, w, sync, k) {
                    Ok((state_j, lost, known)) => {
                        sum.lost_acked += lost;
                        sum.prior_records += known as u64;
                        let second = cfg.second_crash_every > 0 && s == 0 && k % cfg.second_crash_every == 0;
                        if second {
                            match second_crashes(&h, &d, w, sync, state_j, seed) {
                                Ok(c) => sum.second_crashes += c,
                                Err(e) => failures.push(format!("{what}: {e}")),
                            }
                        }
                    }
                    Err(e) => failures.push(format!("{what}: {e}")),
                }
            }
        }
        if k < n {
            replay.apply(&log[k as usize]);
        }
    }
    if failures.is_empty() {
        Ok(sum)
    } else {
        Err(failures)
    }
}

fn describe(log: &[crate::sim::SimOp], k: u64) -> String {
    use crate::sim::SimOp;
    match log.get(k as usize) {
        Some(SimOp::Write { file, offset, data }) => format!("write {file} @{offset} +{}", data.len()),
        Some(SimOp::SetLen { file, len }) => format!("set_len {file} {len}"),
        Some(SimOp::Sync { file }) => format!("sync {file}"),
        None => "after the last operation".into(),
    }
}

/// Checks one crashed disk; returns the commit whose state it holds, the
/// acknowledged commits missing (counted under `Normal` only; a failure
/// under the other modes), and whether page 1 recorded where the previous
/// WAL generation ended (it must be where the run's did: never a false
/// record).
fn check(h: &History, d: &SimDisk, w: &Workload, sync: SyncMode, k: u64) -> Result<(usize, u64, bool), String> {
    let (state, prior) = recover_with_prior(d, w, sync)?;
    h.check_prior(prior)?;
    let acked = h.acked_before(k);
    let hi = h.started_by(k);
    let lo = if sync == SyncMode::Normal { 0 } else { acked };
    let j = h.locate(&state, lo, hi)?;
    Ok((j, acked.saturating_sub(j) as u64, prior.is_some()))
}

/// Crashes at every crash point of the first activity after recovery,
/// then reopens: the state must be exactly commit `j`'s. Returns the
/// crashes checked.
fn second_crashes(h: &History, d: &SimDisk, w: &Workload, sync: SyncMode, j: usize, seed: u64) -> Result<u64, String> {
    let mut count = 0;
    for r in 0.. {
        let e = d.fork(seed ^ r);
        e.crash_at(Some(e.ops() + r));
        let finished = after_recovery(&e, w, sync);
        if matches!(finished, Ok(true)) {
            return Ok(count);
        }
        if let Err(err) = &finished {
            if e.is_powered() {
                return Err(format!("activity after recovery failed without a crash: {err}"));
            }
        }
        e.crash(crash_kind(sync, r as u32));
        count += 1;
        let (s, prior) = recover_with_prior(&e, w, sync).map_err(|m| format!("second crash at op {r} after recovery: {m}"))?;
        h.check_prior(prior)
            .map_err(|m| format!("second crash at op {r} after recovery: {m}"))?;
        if s != h.states[j] {
            let got = h.locate(&s, 0, h.states.len() - 1).unwrap_or(usize::MAX);
            return Err(format!(
                "second crash at op {r} after recovery: state of commit {got}, recovered state was commit {j}"
            ));
        }
    }
    Ok(count)
}
