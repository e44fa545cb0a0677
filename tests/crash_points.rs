//! Crash-point enumeration (issue: power loss): every workload of
//! `walden_testkit::workload::catalogue()` under every sync mode, a crash
//! at every write, truncation and sync with 10 sampled damages each, and a
//! second crash during the activity after recovery at every 7th point.
//! See `walden_testkit::crash` for the checks and docs/RELIABILITY.md for
//! the figures.
//!
//! Replay one failure: `WALDEN_CRASH_ONLY=<op>:<sample> cargo test --test
//! crash_points <workload>`.

use walden_core::SyncMode;
use walden_testkit::crash::{enumerate, Config};
use walden_testkit::workload::catalogue;

fn run(name: &str, sync: SyncMode) {
    let w = catalogue().into_iter().find(|w| w.name == name).expect("workload in the catalogue");
    let mut cfg = Config::default();
    if let Ok(v) = std::env::var("WALDEN_CRASH_ONLY") {
        let (k, s) = v.split_once(':').expect("WALDEN_CRASH_ONLY=<op>:<sample>");
        cfg.only = Some((k.parse().expect("op"), s.parse().expect("sample")));
    }
    match enumerate(&w, sync, &cfg) {
        Ok(s) => {
            println!("{name} {sync:?}: {s:?}");
            assert!(s.crash_points > 20, "{name}: only {} crash points", s.crash_points);
            if cfg.only.is_none() {
                assert_eq!(s.crashes, s.crash_points * cfg.samples as u64);
            }
            if sync != SyncMode::Normal {
                assert_eq!(s.lost_acked, 0);
            }
            // Workloads whose WAL restarts with commits after: page 1's
            // record of the previous generation is found (and checked).
            if ["wal_restart", "truncate_checkpoint", "autocheckpoint", "mixed_a", "mixed_b"].contains(&name) && cfg.only.is_none() {
                assert!(
                    s.prior_records > 0,
                    "{name}: no crash found page 1's record of the previous generation"
                );
            }
        }
        Err(f) => panic!(
            "{} failures, first 10:\n{}",
            f.len(),
            f.iter().take(10).cloned().collect::<Vec<_>>().join("\n")
        ),
    }
}

walden_testkit::catalogue_tests!(run; full => SyncMode::Full, normal => SyncMode::Normal, off => SyncMode::Off);
