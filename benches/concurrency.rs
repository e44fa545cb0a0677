//! Concurrency figures for docs/BENCHMARKS.md: point-read throughput with
//! 1, 2 and 4 reader threads, alone and while a writer commits; commit
//! throughput alone and with 4 readers active.
//!
//! `cargo bench --bench concurrency [-- SECONDS]` (default 2 s per case).
//! Readers run read transactions of 100 random point reads each; the writer
//! commits one put per transaction with sync mode `Normal` (so that the
//! figure shows contention, not fsync latency).
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use walden::{Database, Options, SyncMode};

const KEYS: u64 = 100_000;

fn key(i: u64) -> [u8; 16] {
    let mut k = [0u8; 16];
    k[..8].copy_from_slice(&(i.wrapping_mul(0x9e37_79b9_7f4a_7c15)).to_be_bytes());
    k[8..].copy_from_slice(&i.to_be_bytes());
    k
}

fn rng(x: &mut u64) -> u64 {
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    *x
}

/// Runs `readers` reader threads (and a writer if `writer`) for `secs`;
/// returns (reads/s, commits/s).
fn run(db: &Database, readers: usize, writer: bool, secs: f64) -> (f64, f64) {
    let stop = Arc::new(AtomicBool::new(false));
    let reads = Arc::new(AtomicU64::new(0));
    let commits = Arc::new(AtomicU64::new(0));
    let mut hs = Vec::new();
    for t in 0..readers {
        let (db, stop, reads) = (db.clone(), stop.clone(), reads.clone());
        hs.push(std::thread::spawn(move || {
            let mut x = 0x1234_5678 + t as u64;
            while !stop.load(Ordering::Relaxed) {
                let r = db.begin_read().expect("begin_read");
                let table = r.default_table().expect("table");
                for _ in 0..100 {
                    let i = rng(&mut x) % KEYS;
                    assert!(table.get(key(i)).expect("get").is_some());
                }
                reads.fetch_add(100, Ordering::Relaxed);
            }
        }));
    }
    if writer {
        let (db, stop, commits) = (db.clone(), stop.clone(), commits.clone());
        hs.push(std::thread::spawn(move || {
            let mut x = 0xdead_beef_u64;
            while !stop.load(Ordering::Relaxed) {
                let w = db.begin_write().expect("begin_write");
                let i = rng(&mut x) % KEYS;
                w.put(key(i), [(i % 251) as u8; 100]).expect("put");
                w.commit().expect("commit");
                commits.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    let t0 = Instant::now();
    std::thread::sleep(Duration::from_secs_f64(secs));
    stop.store(true, Ordering::Relaxed);
    for h in hs {
        h.join().expect("thread");
    }
    let dt = t0.elapsed().as_secs_f64();
    (
        reads.load(Ordering::Relaxed) as f64 / dt,
        commits.load(Ordering::Relaxed) as f64 / dt,
    )
}

fn main() {
    let secs: f64 = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with('-'))
        .and_then(|a| a.parse().ok())
        .unwrap_or(2.0);
    let dir = tempfile::tempdir().expect("tempdir");
    let db = Database::open(
        dir.path().join("bench.db"),
        Options {
            sync: SyncMode::Normal,
            ..Options::default()
        },
    )
    .expect("open");
    // Loaded in batches: a transaction's spilled pages each take a new WAL
    // frame, and the WAL holds at most `max_wal_frames` frames.
    for batch in 0..10 {
        let w = db.begin_write().expect("begin_write");
        for i in batch * KEYS / 10..(batch + 1) * KEYS / 10 {
            w.put(key(i), [(i % 251) as u8; 100]).expect("put");
        }
        w.commit().expect("commit");
    }
    db.checkpoint(walden::CheckpointMode::Truncate).expect("checkpoint");
    println!(
        "{} keys of 16 bytes, values of 100 bytes; {secs} s per case; {} cores",
        KEYS,
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
    );
    println!("| reader threads | reads/s alone | reads/s with a writer | ratio | writer commits/s meanwhile |");
    println!("|---|---|---|---|---|");
    for n in [1, 2, 4] {
        let (alone, _) = run(&db, n, false, secs);
        let (with, c) = run(&db, n, true, secs);
        println!("| {n} | {alone:.0} | {with:.0} | {:.2} | {c:.0} |", with / alone);
    }
    let (_, c_alone) = run(&db, 0, true, secs);
    let (_, c_with) = run(&db, 4, true, secs);
    println!();
    println!("| writer | commits/s (sync Normal) |");
    println!("|---|---|");
    println!("| alone | {c_alone:.0} |");
    println!("| with 4 readers active | {c_with:.0} ({:.2} of alone) |", c_with / c_alone);
    let s = db.stats();
    println!("\nWAL frames at the end: {}, checkpoints: {}", s.wal_frames, s.checkpoints);
}
