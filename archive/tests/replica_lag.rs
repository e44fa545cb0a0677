//! A replica following a writer through the archive: the lag from a
//! commit to the replica having applied it (median and p99, printed; the
//! figures of docs/BENCHMARKS.md), while a reader of the replica reads
//! throughout. The archiver and the replica each look every 10 ms.
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use walden_archive::{Archiver, ArchiverOptions, Replica, Store};
use walden_std::{Database, Options, SyncMode};

#[test]
fn replica_lag_under_a_steady_writer() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::from_url(&format!("file://{}/archive", dir.path().display())).unwrap();
    let db = Database::open(
        dir.path().join("src.db"),
        Options {
            sync: SyncMode::Normal,
            ..Options::default()
        },
    )
    .unwrap();
    let (mut a, _) = Archiver::start(
        &db,
        store.clone(),
        ArchiverOptions {
            poll_interval: Duration::from_millis(10),
            ..ArchiverOptions::default()
        },
    )
    .unwrap();
    let mut r = Replica::open(store, dir.path().join("replica.db"), None, Options::default()).unwrap();
    r.set_poll_interval(Duration::from_millis(10));
    let stop = Arc::new(AtomicBool::new(false));
    let applied = Arc::new(Mutex::new(Vec::<(Instant, u64)>::new()));
    let archiver = {
        let stop = stop.clone();
        std::thread::spawn(move || a.run(|_| stop.load(Ordering::Relaxed)).unwrap())
    };
    let rdb = r.database().clone();
    let follower = {
        let (stop, applied) = (stop.clone(), applied.clone());
        std::thread::spawn(move || {
            r.follow(|p| {
                applied.lock().unwrap().push((Instant::now(), p.applied_lsn));
                stop.load(Ordering::Relaxed)
            })
            .unwrap();
            r
        })
    };
    let reader = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut reads = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let t = rdb.begin_read().unwrap();
                let _ = t.get(b"reading").unwrap();
                reads += 1;
            }
            reads
        })
    };
    let mut commits = Vec::new();
    for i in 0..400u32 {
        let w = db.begin_write().unwrap();
        w.put(b"reading", i.to_le_bytes()).unwrap();
        w.put(format!("log/{i:06}").as_bytes(), [7; 200]).unwrap();
        let lsn = w.commit().unwrap().unwrap();
        commits.push((Instant::now(), lsn));
        std::thread::sleep(Duration::from_millis(2));
    }
    let last = commits.last().unwrap().1;
    let deadline = Instant::now() + Duration::from_secs(30);
    while applied.lock().unwrap().last().is_none_or(|a| a.1 < last) {
        assert!(Instant::now() < deadline, "the replica never caught up");
        std::thread::sleep(Duration::from_millis(5));
    }
    stop.store(true, Ordering::Relaxed);
    archiver.join().unwrap();
    let r = follower.join().unwrap();
    let reads = reader.join().unwrap();
    let applied = applied.lock().unwrap();
    let mut lags: Vec<Duration> = commits
        .iter()
        .map(|(t, l)| {
            let (at, _) = applied.iter().find(|(at, a)| a >= l && at >= t).unwrap();
            at.duration_since(*t)
        })
        .collect();
    lags.sort();
    let median = lags[lags.len() / 2];
    let p99 = lags[lags.len() * 99 / 100];
    eprintln!(
        "replica lag over {} commits: median {median:?}, p99 {p99:?}; {reads} reads of the replica meanwhile",
        lags.len()
    );
    assert!(p99 < Duration::from_secs(5), "p99 {p99:?}");
    assert!(reads > 0);
    assert_eq!(
        r.database().begin_read().unwrap().get(b"reading").unwrap().unwrap(),
        399u32.to_le_bytes()
    );
}
