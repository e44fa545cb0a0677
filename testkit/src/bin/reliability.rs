//! Prints the figures of docs/RELIABILITY.md for the crash-point
//! enumeration and the I/O-error injection: every workload of the
//! catalogue, the same runs as `tests/crash_points.rs` and
//! `tests/io_errors.rs`, summed.
//!
//! `cargo run --release -p walden-testkit --bin reliability`

use std::time::Instant;

use walden_core::SyncMode;
use walden_testkit::{crash, ioerr, workload};

fn main() {
    let t = Instant::now();
    let cfg = crash::Config::default();
    let mut total = crash::Summary::default();
    let mut failures = 0usize;
    let wl = workload::catalogue();
    println!(
        "crash-point enumeration ({} samples per point, second crash at every point):",
        cfg.samples
    );
    println!(
        "{:<22} {:>7} {:>12} {:>10} {:>10} {:>8}",
        "workload", "mode", "crash points", "crashes", "2nd crashes", "commits"
    );
    for w in &wl {
        for sync in [SyncMode::Full, SyncMode::Normal, SyncMode::Off] {
            match crash::enumerate(w, sync, &cfg) {
                Ok(s) => {
                    println!(
                        "{:<22} {:>7} {:>12} {:>10} {:>10} {:>8}",
                        w.name,
                        format!("{sync:?}"),
                        s.crash_points,
                        s.crashes,
                        s.second_crashes,
                        s.commits
                    );
                    total.crash_points += s.crash_points;
                    total.crashes += s.crashes;
                    total.second_crashes += s.second_crashes;
                    total.commits += s.commits;
                    total.kept += s.kept;
                    total.dropped += s.dropped;
                    total.torn += s.torn;
                    if sync != SyncMode::Normal {
                        total.lost_acked += s.lost_acked;
                    }
                }
                Err(f) => {
                    failures += f.len();
                    println!("{} {sync:?}: {} failures, first: {}", w.name, f.len(), f[0]);
                }
            }
        }
    }
    println!(
        "total: {} workload runs, {} crash points, {} crashes checked, {} second crashes checked; pending writes kept {}, dropped {}, torn {}; acknowledged commits lost under Full/Off: {}",
        wl.len() * 3,
        total.crash_points,
        total.crashes,
        total.second_crashes,
        total.kept,
        total.dropped,
        total.torn,
        total.lost_acked
    );
    let mut io = ioerr::Summary::default();
    let mut runs = 0;
    for w in &wl {
        for sync in [SyncMode::Full, SyncMode::Normal] {
            match ioerr::campaign(w, sync, 0x10E_5EED) {
                Ok(s) => {
                    runs += 1;
                    io.calls += s.calls;
                    io.runs += s.runs;
                    io.injected += s.injected;
                    io.failed_open += s.failed_open;
                    io.failed_commits += s.failed_commits;
                }
                Err(f) => {
                    failures += f.len();
                    println!("I/O errors {} {sync:?}: {} failures, first: {}", w.name, f.len(), f[0]);
                }
            }
        }
    }
    println!(
        "I/O-error injection: {runs} workload runs, {} I/O calls, {} runs with a fault, {} injected failures, {} commits failed, {} opens failed",
        io.calls, io.runs, io.injected, io.failed_commits, io.failed_open
    );
    println!("failures: {failures}; {:.1} s", t.elapsed().as_secs_f64());
    if failures > 0 {
        std::process::exit(1);
    }
}
