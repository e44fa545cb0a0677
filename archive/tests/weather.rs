//! The acceptance run: 10,000 random transactions of the
//! weather-station workload (hourly observations of `data/weather.csv.gz`
//! put under `origin time` keys, a few corrected and deleted) archived to
//! each store while the WAL restarts under the archiver and snapshots are
//! taken on a schedule; then restores to 200 random LSNs and 50 random
//! times, each compared with a model's state at that commit and verified.
//! `WALDEN_ARCHIVE_TXNS` sets the number of transactions (default 10,000).
use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use walden_archive::{restore, Archiver, ArchiverOptions, Store, Target};
use walden_std::{CheckpointMode, Database, Options, SyncMode};

use walden_testkit::sim::SimRng;

type Model = BTreeMap<Vec<u8>, Vec<u8>>;

fn observations() -> Vec<(Vec<u8>, Vec<u8>)> {
    let f = std::fs::File::open(concat!(env!("CARGO_MANIFEST_DIR"), "/../data/weather.csv.gz")).unwrap();
    BufReader::new(flate2::read::GzDecoder::new(f))
        .lines()
        .skip(1)
        .map(|l| {
            let l = l.unwrap();
            let cols: Vec<&str> = l.split(',').collect();
            (format!("{} {}", cols[0], cols[14]).into_bytes(), l.into_bytes())
        })
        .collect()
}

fn contents(path: &Path) -> Model {
    let db = Database::open(path, Options::default()).unwrap();
    let rep = db.verify().unwrap();
    assert!(rep.is_ok(), "{path:?}: {rep:?}");
    let r = db.begin_read().unwrap();
    r.range(..).unwrap().map(|kv| kv.unwrap()).collect()
}

fn run(store: Store, dir: &Path, seed: u64) {
    let n: usize = std::env::var("WALDEN_ARCHIVE_TXNS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10_000);
    let obs = observations();
    let db = Database::open(
        dir.join("station.db"),
        Options {
            sync: SyncMode::Off,
            autocheckpoint_frames: 200,
            busy_timeout: Duration::from_millis(5),
            ..Options::default()
        },
    )
    .unwrap();
    let now = Arc::new(AtomicU64::new(1_700_000_000_000));
    let c = now.clone();
    let opts = ArchiverOptions {
        clock: Arc::new(move || c.load(Ordering::SeqCst)),
        snapshot_every: Some(Duration::from_secs(600)),
        max_segment_bytes: 256 << 10,
        ..ArchiverOptions::default()
    };
    let (mut a, _) = Archiver::start(&db, store.clone(), opts).unwrap();
    let mut rng = SimRng(seed);
    // The commits whose states are kept: 200 for LSN targets, and the
    // ends of 50 shipments for time targets.
    let mut lsn_picks = BTreeSet::new();
    while lsn_picks.len() < 200.min(n) {
        lsn_picks.insert(rng.below(n as u64) as usize);
    }
    let mut model = Model::new();
    let mut at_lsn: Vec<(u64, Model)> = Vec::new();
    let mut shipments: Vec<(u64, u64)> = Vec::new(); // (time, last LSN)
    let mut at_time: BTreeMap<u64, Model> = BTreeMap::new();
    let mut next = 0usize;
    let mut restarts = 0;
    let mut last_lsn = 0;
    for i in 0..n {
        let w = db.begin_write().unwrap();
        for _ in 0..1 + rng.below(3) {
            let (k, v) = &obs[next % obs.len()];
            next += 1;
            w.put(k, v).unwrap();
            model.insert(k.clone(), v.clone());
        }
        if rng.below(10) == 0 && !model.is_empty() {
            // A correction or a deletion of an earlier observation.
            let k = model.keys().nth(rng.below(model.len() as u64) as usize).unwrap().clone();
            if rng.below(2) == 0 {
                w.delete(&k).unwrap();
                model.remove(&k);
            } else {
                let v = format!("corrected at {i}").into_bytes();
                w.put(&k, &v).unwrap();
                model.insert(k, v);
            }
        }
        last_lsn = w.commit().unwrap().unwrap();
        if lsn_picks.contains(&i) {
            at_lsn.push((last_lsn, model.clone()));
        }
        if rng.below(8) == 0 || i == n - 1 {
            now.fetch_add(1000 + rng.below(60_000), Ordering::SeqCst);
            a.ship().unwrap();
            let t = now.load(Ordering::SeqCst);
            shipments.push((t, last_lsn));
            if shipments.len().is_multiple_of((n / 8 / 50).max(1)) && at_time.len() < 50 {
                at_time.insert(t, model.clone());
            }
            if rng.below(4) == 0 && db.checkpoint(CheckpointMode::Restart).is_ok() {
                restarts += 1;
            }
        }
    }
    assert!(restarts > 3, "{restarts} WAL restarts");
    assert_eq!(db.stats().archive_lag_frames, 0);
    for (k, (l, m)) in at_lsn.iter().enumerate() {
        let p = dir.join(format!("lsn{k}.db"));
        let info = restore(&store, &p, None, Target::Lsn(*l)).unwrap();
        assert_eq!(info.lsn, *l);
        assert!(contents(&p) == *m, "restore to LSN {l:016x} differs from the model");
        std::fs::remove_file(&p).unwrap();
    }
    for (k, (t, m)) in at_time.iter().enumerate() {
        // Any moment before the next shipment has the same state.
        let next_t = shipments.iter().map(|s| s.0).find(|s| s > t).unwrap_or(t + 1000);
        let when = t + rng.below(next_t - t);
        let p = dir.join(format!("time{k}.db"));
        let info = restore(&store, &p, None, Target::Time(when)).unwrap();
        let want = shipments.iter().find(|s| s.0 == *t).unwrap().1;
        assert_eq!(info.lsn, want, "restore to time {when}");
        assert!(contents(&p) == *m, "restore to time {when} differs from the model");
        std::fs::remove_file(&p).unwrap();
    }
    let p = dir.join("latest.db");
    assert_eq!(restore(&store, &p, None, Target::Latest).unwrap().lsn, last_lsn);
    assert!(contents(&p) == model);
    eprintln!(
        "{n} transactions, {} restores to LSNs, {} to times, {restarts} WAL restarts",
        at_lsn.len(),
        at_time.len()
    );
}

#[test]
fn ten_thousand_transactions_in_memory() {
    let dir = tempfile::tempdir().unwrap();
    run(Store::from_url("memory:///station").unwrap(), dir.path(), 17);
}

#[test]
fn ten_thousand_transactions_in_a_directory() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("file://{}/archive", dir.path().display());
    run(Store::from_url(&url).unwrap(), dir.path(), 23);
}
