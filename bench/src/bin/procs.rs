//! Readers beside a writer, as threads of one process and as processes:
//! reads/s of 1, 2 and 4 readers while one writer commits, for Walden and
//! SQLite (WAL mode), each reader and the writer in its own process or its
//! own thread. The figures go in docs/BENCHMARKS.md.
//!
//! ```sh
//! cargo run --release --manifest-path bench/Cargo.toml --bin walden-procs -- [--seconds 5] [--keys 100000]
//! ```
//!
//! Each reader runs read transactions of 16 point reads of random keys;
//! the writer commits transactions of 10 updates (sync `Normal`, SQLite
//! `synchronous=NORMAL`) as fast as it can. A child process is this binary
//! re-executed with `child ROLE SYSTEM DB SECONDS KEYS`; it prints its count.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use clap::Parser;
use walden_testkit::sim::SimRng;

#[derive(Parser)]
struct Args {
    /// Seconds each configuration runs.
    #[arg(long, default_value_t = 5.0)]
    seconds: f64,
    /// Keys in the table (16-byte keys, 100-byte values).
    #[arg(long, default_value_t = 100_000)]
    keys: u64,
    /// Systems: walden, sqlite.
    #[arg(long, value_delimiter = ',', default_value = "walden,sqlite")]
    systems: Vec<String>,
    /// Reader counts to run (0: the writer alone).
    #[arg(long, value_delimiter = ',', default_value = "1,2,4")]
    readers: Vec<u32>,
    #[arg(long, hide = true, num_args = 5, value_names = ["ROLE", "SYSTEM", "DB", "SECONDS", "KEYS"])]
    child: Option<Vec<String>>,
}

fn key(i: u64) -> [u8; 16] {
    let mut k = [0u8; 16];
    k[..8].copy_from_slice(&i.wrapping_mul(0x9E37_79B9_7F4A_7C15).to_be_bytes());
    k[8..].copy_from_slice(&i.to_be_bytes());
    k
}

const READS_PER_TXN: u64 = 16;
const WRITES_PER_TXN: u64 = 10;

fn walden_opts() -> walden::Options {
    walden::Options {
        sync: walden::SyncMode::Normal,
        ..walden::Options::default()
    }
}

fn sqlite_open(db: &Path) -> rusqlite::Connection {
    let c = rusqlite::Connection::open(db).expect("sqlite open");
    c.execute_batch("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;")
        .expect("pragma");
    c.busy_timeout(Duration::from_secs(5)).expect("busy timeout");
    c
}

fn setup(system: &str, db: &Path, keys: u64) {
    match system {
        "walden" => {
            let d = walden::Database::open(db, walden_opts()).expect("open");
            let w = d.begin_write().expect("write");
            for i in 0..keys {
                w.put(key(i), [1u8; 100]).expect("put");
            }
            w.commit().expect("commit");
            d.checkpoint(walden::CheckpointMode::Truncate).expect("checkpoint");
        }
        _ => {
            let mut c = sqlite_open(db);
            c.execute_batch("CREATE TABLE kv (k BLOB PRIMARY KEY, v BLOB) WITHOUT ROWID")
                .expect("create");
            let t = c.transaction().expect("txn");
            {
                let mut s = t.prepare("INSERT INTO kv VALUES (?1, ?2)").expect("prepare");
                for i in 0..keys {
                    s.execute(rusqlite::params![&key(i)[..], &[1u8; 100][..]]).expect("insert");
                }
            }
            t.commit().expect("commit");
            c.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)").expect("checkpoint");
        }
    }
}

/// Runs one role for `secs`; returns reads (a reader) or commits (the writer).
fn run_role(role: &str, system: &str, db: &Path, secs: f64, keys: u64, seed: u64) -> u64 {
    let end = Instant::now() + Duration::from_secs_f64(secs);
    let mut rng = SimRng(seed);
    let mut n = 0u64;
    match (role, system) {
        ("reader", "walden") => {
            let d = walden::Database::open(db, walden_opts()).expect("open");
            while Instant::now() < end {
                let r = d.begin_read().expect("read");
                let t = r.default_table().expect("table");
                for _ in 0..READS_PER_TXN {
                    let got = t.get_with(key(rng.below(keys)), |v| v.len()).expect("get");
                    assert_eq!(got, Some(100));
                }
                n += READS_PER_TXN;
            }
        }
        ("writer", "walden") => {
            let d = walden::Database::open(db, walden_opts()).expect("open");
            while Instant::now() < end {
                let w = d.begin_write().expect("write");
                // A new value each time (SQLite skips writing a row whose
                // content is unchanged).
                for _ in 0..WRITES_PER_TXN {
                    w.put(key(rng.below(keys)), [n as u8; 100]).expect("put");
                }
                w.commit().expect("commit");
                n += 1;
            }
        }
        ("reader", _) => {
            let mut c = sqlite_open(db);
            while Instant::now() < end {
                let t = c.transaction().expect("txn");
                {
                    let mut s = t.prepare_cached("SELECT length(v) FROM kv WHERE k = ?1").expect("prepare");
                    for _ in 0..READS_PER_TXN {
                        let len: i64 = s.query_row([&key(rng.below(keys))[..]], |r| r.get(0)).expect("select");
                        assert_eq!(len, 100);
                    }
                }
                t.finish().expect("finish");
                n += READS_PER_TXN;
            }
        }
        _ => {
            let mut c = sqlite_open(db);
            while Instant::now() < end {
                let t = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).expect("txn");
                {
                    let mut s = t.prepare_cached("INSERT OR REPLACE INTO kv VALUES (?1, ?2)").expect("prepare");
                    for _ in 0..WRITES_PER_TXN {
                        s.execute(rusqlite::params![&key(rng.below(keys))[..], &[n as u8; 100][..]])
                            .expect("update");
                    }
                }
                t.commit().expect("commit");
                n += 1;
            }
        }
    }
    n
}

/// (reads/s, commits/s) of `readers` readers beside one writer.
fn measure(system: &str, db: &Path, readers: u32, procs: bool, secs: f64, keys: u64) -> (f64, f64) {
    let roles: Vec<(&str, u64)> = std::iter::once(("writer", 1))
        .chain((0..readers).map(|i| ("reader", 100 + i as u64)))
        .collect();
    let counts: Vec<u64> = if procs {
        let exe = std::env::current_exe().expect("exe");
        let kids: Vec<_> = roles
            .iter()
            .map(|(role, _)| {
                Command::new(&exe)
                    .args(["--child", role, system])
                    .arg(db)
                    .args([secs.to_string(), keys.to_string()])
                    .stdout(Stdio::piped())
                    .spawn()
                    .expect("spawn")
            })
            .collect();
        kids.into_iter()
            .map(|k| {
                let o = k.wait_with_output().expect("wait");
                assert!(o.status.success(), "a child failed");
                String::from_utf8_lossy(&o.stdout).trim().parse().expect("count")
            })
            .collect()
    } else {
        let hs: Vec<_> = roles
            .iter()
            .map(|&(role, seed)| {
                let (system, db) = (system.to_string(), db.to_path_buf());
                std::thread::spawn(move || run_role(role, &system, &db, secs, keys, seed))
            })
            .collect();
        hs.into_iter().map(|h| h.join().expect("thread")).collect()
    };
    (counts[1..].iter().sum::<u64>() as f64 / secs, counts[0] as f64 / secs)
}

fn main() {
    let a = Args::parse();
    if let Some(c) = &a.child {
        let n = run_role(
            &c[0],
            &c[1],
            &PathBuf::from(&c[2]),
            c[3].parse().expect("secs"),
            c[4].parse().expect("keys"),
            std::process::id() as u64,
        );
        println!("{n}");
        return;
    }
    println!("| system | readers | as | reads/s | writer commits/s |");
    println!("|---|---|---|---|---|");
    for system in &a.systems {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = dir.path().join(format!("{system}.db"));
        setup(system, &db, a.keys);
        for &readers in &a.readers {
            for procs in [false, true] {
                let (r, w) = measure(system, &db, readers, procs, a.seconds, a.keys);
                let how = if procs { "processes" } else { "threads" };
                println!("| {system} | {readers} | {how} | {r:.0} | {w:.0} |");
            }
        }
    }
}
