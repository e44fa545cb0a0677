//! The WAL restarts under steady readers. With 32 reader threads running
//! short, overlapping read transactions and one writer, the WAL once grew
//! to 49,199 frames (203 MB for a 6 MB database) and the writer then got
//! `Full`: the waiting logic took "everything backfilled" for "the WAL will
//! restart", but a restart needs every WAL read mark free, and overlapping
//! readers always held one. Now readers of a fully backfilled WAL take read
//! mark 0 (the database file alone, as SQLite's), and the writer restarts a
//! large WAL after briefly holding new readers off (`restart_large_wal`):
//! the WAL stays within a few multiples of the autocheckpoint threshold.
//! Model 9 of `core/src/loom_tests.rs` checks the protocol step.
//!
//! Reader processes are this test binary re-executed with `restart_child`
//! and `WALDEN_RESTART_DB` set.
#![cfg(unix)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use walden::{Database, Options, SyncMode};

const THRESHOLD: u32 = 1000;
const KEYS: u32 = 3000;
const COMMITS: u32 = 1500;
const DB_ENV: &str = "WALDEN_RESTART_DB";

fn options() -> Options {
    Options {
        sync: SyncMode::Normal,
        autocheckpoint_frames: THRESHOLD,
        ..Options::default()
    }
}

fn key(i: u32) -> [u8; 4] {
    i.to_be_bytes()
}

fn setup(path: &Path) -> Database {
    let db = Database::open(path, options()).unwrap();
    let w = db.begin_write().unwrap();
    for i in 0..KEYS {
        w.put(key(i), [0u8; 1000]).unwrap();
    }
    w.commit().unwrap();
    db
}

/// A short read transaction: a few gets, a pause, a few more (so that
/// readers overlap).
fn read_once(db: &Database, n: u64) -> Result<(), String> {
    let r = db.begin_read().map_err(|e| e.to_string())?;
    for j in 0..4u64 {
        let k = ((n.wrapping_mul(2_654_435_761) >> 7) + j * 997) as u32 % KEYS;
        let v = r.get(key(k)).map_err(|e| e.to_string())?.ok_or("missing key")?;
        if v.len() != 1000 {
            return Err(format!("value of {} bytes", v.len()));
        }
        if j == 1 {
            std::thread::sleep(Duration::from_micros(200));
        }
    }
    Ok(())
}

/// The writer: `COMMITS` commits of 10 keys each; returns the largest WAL
/// seen, in frames. Panics on any error (`Full` was the bug).
fn write_and_watch(db: &Database) -> u64 {
    let mut max = 0;
    for c in 0..COMMITS {
        let w = db.begin_write().unwrap_or_else(|e| panic!("commit {c}: {e}"));
        for j in 0..10 {
            w.put(key((c * 37 + j * 301) % KEYS), [c as u8; 1000]).unwrap();
        }
        w.commit().unwrap_or_else(|e| panic!("commit {c}: {e}"));
        max = max.max(db.stats().wal_frames);
    }
    max
}

#[test]
fn the_wal_restarts_under_32_reader_threads() {
    let dir = tempfile::tempdir().unwrap();
    let db = setup(&dir.path().join("r.db"));
    let stop = Arc::new(AtomicBool::new(false));
    let reads = Arc::new(AtomicU64::new(0));
    let readers: Vec<_> = (0..32u64)
        .map(|t| {
            let (db, stop, reads) = (db.clone(), stop.clone(), reads.clone());
            std::thread::spawn(move || {
                let mut n = t << 32;
                while !stop.load(Ordering::Relaxed) {
                    read_once(&db, n).unwrap_or_else(|e| panic!("reader {t}: {e}"));
                    n += 1;
                    reads.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    let max = write_and_watch(&db);
    stop.store(true, Ordering::Relaxed);
    for r in readers {
        r.join().unwrap();
    }
    println!(
        "32 reader threads: {} reads; largest WAL {max} frames",
        reads.load(Ordering::Relaxed)
    );
    assert!(reads.load(Ordering::Relaxed) > 1000, "the readers read");
    assert!(max <= 4 * THRESHOLD as u64, "the WAL grew to {max} frames under steady readers");
}

/// The reader process: short read transactions until killed.
#[test]
fn restart_child() {
    let Ok(p) = std::env::var(DB_ENV) else { return };
    let db = Database::open(PathBuf::from(p), options()).unwrap();
    println!();
    println!("READY");
    let mut n = std::process::id() as u64;
    loop {
        if let Err(e) = read_once(&db, n) {
            println!("FAIL {e}");
            std::process::exit(1);
        }
        n += 1;
    }
}

#[test]
fn the_wal_restarts_under_reader_processes() {
    use std::io::{BufRead, BufReader};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.db");
    let db = setup(&path);
    let mut kids: Vec<_> = (0..8)
        .map(|_| {
            Command::new(std::env::current_exe().unwrap())
                .args(["restart_child", "--exact", "--nocapture", "--test-threads=1"])
                .env(DB_ENV, &path)
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut outs = Vec::new();
    for k in &mut kids {
        let mut out = BufReader::new(k.stdout.take().unwrap());
        let mut line = String::new();
        while line.trim() != "READY" {
            line.clear();
            assert!(out.read_line(&mut line).unwrap() > 0, "a reader process ended before it began");
        }
        outs.push(out);
    }
    let max = write_and_watch(&db);
    for k in &mut kids {
        assert!(k.try_wait().unwrap().is_none(), "a reader process failed");
        k.kill().unwrap();
        k.wait().unwrap();
    }
    for out in outs {
        let rest: Vec<String> = out.lines().map_while(Result::ok).filter(|l| l.starts_with("FAIL")).collect();
        assert!(rest.is_empty(), "{rest:?}");
    }
    println!("8 reader processes: largest WAL {max} frames");
    assert!(max <= 4 * THRESHOLD as u64, "the WAL grew to {max} frames under reader processes");
}
