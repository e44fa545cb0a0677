//! Group commit: 1, 4 and 16 threads committing single-put transactions
//! under `Full` (one fsync per commit for a lone committer; one fsync for
//! every commit appended before it when several commit at once). Reports
//! commits/s, fsyncs per commit and commit latency (median and p99), next
//! to the time of one fsync on the same file system, for Walden and SQLite
//! (`synchronous=FULL`, which has no group commit). Figures go in
//! docs/BENCHMARKS.md.
//!
//! ```sh
//! cargo run --release --manifest-path bench/Cargo.toml --bin walden-commits -- [--seconds 5]
//! ```

use std::io::Write;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use clap::Parser;

#[derive(Parser)]
struct Args {
    /// Seconds each configuration runs.
    #[arg(long, default_value_t = 5.0)]
    seconds: f64,
    /// Thread counts.
    #[arg(long, value_delimiter = ',', default_value = "1,4,16")]
    threads: Vec<usize>,
    /// Systems: walden, sqlite.
    #[arg(long, value_delimiter = ',', default_value = "walden,sqlite")]
    systems: Vec<String>,
    /// Skips the steady-writes table (checkpoint budget).
    #[arg(long)]
    no_steady: bool,
    /// Walden's sync mode for the committing threads: full, or normal (no
    /// fsync per commit: the rate of the append path alone, the ceiling of
    /// group commit).
    #[arg(long, default_value = "full")]
    sync: String,
}

/// The median time of a 4 KiB write and `fdatasync` in `dir`.
fn fsync_time(dir: &std::path::Path) -> Duration {
    let mut f = std::fs::File::create(dir.join("fsync.probe")).expect("probe");
    let mut v: Vec<Duration> = (0..200)
        .map(|_| {
            let t = Instant::now();
            f.write_all(&[7u8; 4096]).expect("write");
            f.sync_data().expect("fdatasync");
            t.elapsed()
        })
        .collect();
    v.sort();
    v[v.len() / 2]
}

fn pct(v: &[Duration], p: f64) -> Duration {
    v[((v.len() as f64 * p) as usize).min(v.len() - 1)]
}

/// Runs `threads` committers for `secs`; returns (commits, latencies, fsyncs).
fn run(system: &str, dir: &std::path::Path, threads: usize, secs: f64, sync: walden::SyncMode) -> (u64, Vec<Duration>, Option<u64>) {
    let end = Instant::now() + Duration::from_secs_f64(secs);
    let barrier = Arc::new(Barrier::new(threads));
    match system {
        "walden" => {
            let db = walden::Database::open(
                dir.join(format!("w{threads}.db")),
                walden::Options {
                    sync,
                    busy_timeout: Duration::from_secs(30),
                    ..walden::Options::default()
                },
            )
            .expect("open");
            let before = db.stats().fsyncs;
            let hs: Vec<_> = (0..threads)
                .map(|t| {
                    let (db, barrier) = (db.clone(), barrier.clone());
                    std::thread::spawn(move || {
                        barrier.wait();
                        let mut lat = Vec::new();
                        let mut i = 0u64;
                        while Instant::now() < end {
                            let s = Instant::now();
                            let w = db.begin_write().expect("write");
                            w.put(format!("{t}:{i}").as_bytes(), [1u8; 100]).expect("put");
                            w.commit().expect("commit");
                            lat.push(s.elapsed());
                            i += 1;
                        }
                        lat
                    })
                })
                .collect();
            let lat: Vec<Duration> = hs.into_iter().flat_map(|h| h.join().expect("thread")).collect();
            (lat.len() as u64, lat, Some(db.stats().fsyncs - before))
        }
        _ => {
            let path = dir.join(format!("s{threads}.db"));
            {
                let c = rusqlite::Connection::open(&path).expect("open");
                c.execute_batch("PRAGMA journal_mode=WAL; CREATE TABLE IF NOT EXISTS kv (k BLOB PRIMARY KEY, v BLOB) WITHOUT ROWID;")
                    .expect("create");
            }
            let hs: Vec<_> = (0..threads)
                .map(|t| {
                    let (path, barrier) = (path.clone(), barrier.clone());
                    std::thread::spawn(move || {
                        let mut c = rusqlite::Connection::open(&path).expect("open");
                        c.execute_batch("PRAGMA synchronous=FULL;").expect("pragma");
                        c.busy_timeout(Duration::from_secs(30)).expect("busy");
                        barrier.wait();
                        let mut lat = Vec::new();
                        let mut i = 0u64;
                        while Instant::now() < end {
                            let s = Instant::now();
                            let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).expect("txn");
                            tx.execute(
                                "INSERT INTO kv VALUES (?1, ?2)",
                                rusqlite::params![format!("{t}:{i}").as_bytes(), &[1u8; 100][..]],
                            )
                            .expect("insert");
                            tx.commit().expect("commit");
                            lat.push(s.elapsed());
                            i += 1;
                        }
                        lat
                    })
                })
                .collect();
            let lat: Vec<Duration> = hs.into_iter().flat_map(|h| h.join().expect("thread")).collect();
            (lat.len() as u64, lat, None)
        }
    }
}

/// A steady load of one writer (transactions of 20 random puts, `Normal`)
/// for `secs`, with automatic checkpoints every 1,000 frames copying at
/// most `pages` pages each (0: all) and spending at most `time` each
/// (`None`: no limit): (commits/s, median, p99, p99.9 and largest commit
/// latency).
fn steady(dir: &std::path::Path, pages: u32, time: Option<Duration>, secs: f64) -> (f64, Duration, Duration, Duration, Duration) {
    let db = walden::Database::open(
        dir.join(format!("steady{pages}-{}.db", time.map_or(0, |t| t.as_micros()))),
        walden::Options {
            sync: walden::SyncMode::Normal,
            checkpoint_budget_pages: pages,
            checkpoint_budget_time: time,
            ..walden::Options::default()
        },
    )
    .expect("open");
    let end = Instant::now() + Duration::from_secs_f64(secs);
    let mut lat = Vec::new();
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    while Instant::now() < end {
        let s = Instant::now();
        let w = db.begin_write().expect("write");
        for _ in 0..20 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            w.put((x % 200_000).to_be_bytes(), [x as u8; 100]).expect("put");
        }
        w.commit().expect("commit");
        lat.push(s.elapsed());
    }
    let n = lat.len() as f64 / secs;
    lat.sort();
    (n, pct(&lat, 0.5), pct(&lat, 0.99), pct(&lat, 0.999), lat[lat.len() - 1])
}

fn main() {
    let a = Args::parse();
    let dir = tempfile::tempdir().expect("tempdir");
    let f = fsync_time(dir.path());
    println!("one 4 KiB write + fdatasync: {:.3} ms (median of 200)", f.as_secs_f64() * 1e3);
    println!();
    println!("| system | threads | commits/s | fsyncs per commit | median latency | p99 latency | p99 in fsyncs |");
    println!("|---|---|---|---|---|---|---|");
    for system in &a.systems {
        for &t in &a.threads {
            let sync = if a.sync == "normal" {
                walden::SyncMode::Normal
            } else {
                walden::SyncMode::Full
            };
            let (n, mut lat, fsyncs) = run(system, dir.path(), t, a.seconds, sync);
            lat.sort();
            let p99 = pct(&lat, 0.99);
            println!(
                "| {system} | {t} | {:.0} | {} | {:.2} ms | {:.2} ms | {:.1} |",
                n as f64 / a.seconds,
                fsyncs.map_or("–".to_string(), |s| format!("{:.2}", s as f64 / n.max(1) as f64)),
                pct(&lat, 0.5).as_secs_f64() * 1e3,
                p99.as_secs_f64() * 1e3,
                p99.as_secs_f64() / f.as_secs_f64()
            );
        }
    }
    if !a.no_steady && a.systems.iter().any(|s| s == "walden") {
        println!();
        println!("Steady writes (20 random puts per commit, Normal), automatic checkpoints every 1,000 frames:");
        println!();
        println!("| checkpoint budget | commits/s | median | p99 | p99.9 | largest |");
        println!("|---|---|---|---|---|---|");
        for (pages, time) in [(0u32, None), (64, None), (0, Some(Duration::from_millis(2)))] {
            let (n, p50, p99, p999, max) = steady(dir.path(), pages, time, a.seconds);
            let ms = |d: Duration| format!("{:.2} ms", d.as_secs_f64() * 1e3);
            let b = match (pages, time) {
                (0, None) => "none (whole backfill)".to_string(),
                (_, Some(t)) => format!("{} ms", t.as_millis()),
                _ => format!("{pages} pages"),
            };
            println!("| {b} | {n:.0} | {} | {} | {} | {} |", ms(p50), ms(p99), ms(p999), ms(max));
        }
    }
}
