//! Archiving, restore, timelines, retention and replicas against the
//! in-memory and directory stores of `object_store`.
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use walden_archive::format::keys;
use walden_archive::{restore, retain, Archiver, ArchiverOptions, Catalog, Error, Replica, Retention, Store, Target};
use walden_std::{CheckpointMode, Database, Options};

use walden_testkit::sim::SimRng;

type Model = BTreeMap<Vec<u8>, Vec<u8>>;

fn clock() -> (Arc<AtomicU64>, ArchiverOptions) {
    let now = Arc::new(AtomicU64::new(1_700_000_000_000));
    let c = now.clone();
    let opts = ArchiverOptions {
        clock: Arc::new(move || c.load(Ordering::SeqCst)),
        max_segment_bytes: 64 << 10,
        ..ArchiverOptions::default()
    };
    (now, opts)
}

fn db_opts() -> Options {
    Options {
        page_size: 1024,
        autocheckpoint_frames: 40,
        busy_timeout: Duration::from_millis(20),
        ..Options::default()
    }
}

/// One random transaction of the weather-station shape: readings put under
/// station/time keys, some deleted, now and then a large value.
fn random_txn(db: &Database, model: &mut Model, rng: &mut SimRng, i: u64) -> Option<u64> {
    let w = db.begin_write().unwrap();
    for _ in 0..1 + rng.below(4) {
        let st = rng.below(6);
        let k = format!("st{st}/{:06}", rng.below(400)).into_bytes();
        if rng.below(5) == 0 {
            w.delete(&k).unwrap();
            model.remove(&k);
        } else {
            let len = if rng.below(20) == 0 { 3000 } else { 8 + rng.below(40) as usize };
            let v: Vec<u8> = (0..len).map(|j| (i as usize + j) as u8).collect();
            w.put(&k, &v).unwrap();
            model.insert(k, v);
        }
    }
    // A transaction that changed nothing (deletes of absent keys) has no LSN.
    w.commit().unwrap()
}

fn contents(path: &Path) -> Model {
    let db = Database::open(path, Options::default()).unwrap();
    assert!(db.verify().unwrap().is_ok());
    let r = db.begin_read().unwrap();
    r.range(..).unwrap().map(|kv| kv.unwrap()).collect()
}

struct History {
    /// Model state after each commit, by LSN, with the archive time of the
    /// shipment that carried it.
    states: BTreeMap<u64, (Model, u64)>,
}

/// Writes `n` transactions, shipping every few and restarting the WAL now
/// and then (which the slot allows only once all is shipped).
fn write_and_archive(db: &Database, a: &mut Archiver, now: &AtomicU64, n: u64, model: &mut Model, seed: u64) -> History {
    let mut rng = SimRng(seed);
    let mut states = BTreeMap::new();
    let mut pending = Vec::new();
    for i in 0..n {
        if let Some(l) = random_txn(db, model, &mut rng, i) {
            pending.push((l, model.clone()));
        }
        if rng.below(4) == 0 || i == n - 1 {
            now.fetch_add(1000, Ordering::SeqCst);
            a.ship().unwrap();
            let t = now.load(Ordering::SeqCst);
            for (l, m) in pending.drain(..) {
                states.insert(l, (m, t));
            }
        }
        if rng.below(15) == 0 {
            // Restarts only if everything is shipped; else Busy.
            let _ = db.checkpoint(CheckpointMode::Truncate);
        }
    }
    History { states }
}

fn run_pitr(store: Store, dir: &Path) {
    let db = Database::open(dir.join("src.db"), db_opts()).unwrap();
    let (now, opts) = clock();
    let (mut a, rep) = Archiver::start(&db, store.clone(), opts).unwrap();
    assert!(rep.snapshot.is_some());
    assert_eq!(a.timeline(), 1);
    let mut model = Model::new();
    let h = write_and_archive(&db, &mut a, &now, 300, &mut model, 7);
    let s = db.stats();
    assert_eq!(s.archive_lag_frames, 0, "{s:?}");
    assert!(db.wal_header().unwrap().ckpt_seq > 0, "the WAL never restarted");
    a.snapshot().unwrap();
    let h2 = write_and_archive(&db, &mut a, &now, 60, &mut model, 8);
    let mut states = h.states;
    states.extend(h2.states);
    // Latest equals the source.
    let latest = dir.join("latest.db");
    let info = restore(&store, &latest, None, Target::Latest).unwrap();
    assert_eq!(info.lsn, *states.keys().next_back().unwrap());
    let src: Model = db.begin_read().unwrap().range(..).unwrap().map(|kv| kv.unwrap()).collect();
    assert_eq!(contents(&latest), src);
    assert!(dir.join("latest.db-archive-fork").exists());
    // To LSNs of the first run (its model is exact).
    let first: Vec<u64> = states.keys().copied().collect();
    let mut rng = SimRng(99);
    for k in 0..25 {
        let l = first[rng.below(first.len() as u64) as usize];
        let p = dir.join(format!("lsn{k}.db"));
        let info = restore(&store, &p, None, Target::Lsn(l)).unwrap();
        assert_eq!(info.lsn, l);
        assert_eq!(contents(&p), states[&l].0, "restore to {l:016x}");
    }
    // To times: the last commit shipped at or before the time.
    for k in 0..10 {
        let l = first[rng.below(first.len() as u64) as usize];
        let t = states[&l].1 + rng.below(999);
        let want = states.iter().filter(|(_, (_, st))| *st <= t).map(|(l, _)| *l).next_back().unwrap();
        let p = dir.join(format!("time{k}.db"));
        let info = restore(&store, &p, None, Target::Time(t)).unwrap();
        assert_eq!(info.lsn, want, "restore to time {t}");
        assert_eq!(contents(&p), states[&want].0);
    }
    // Past the end, before the beginning.
    let end = *states.keys().next_back().unwrap();
    assert!(matches!(
        restore(&store, dir.join("past.db"), None, Target::Lsn(end + (1 << 40))),
        Err(Error::Unreachable(_))
    ));
    assert!(matches!(
        restore(&store, dir.join("early.db"), None, Target::Time(5)),
        Err(Error::Unreachable(_))
    ));
    assert!(!dir.join("early.db").exists());
}

#[test]
fn pitr_in_memory() {
    let dir = tempfile::tempdir().unwrap();
    run_pitr(Store::from_url("memory:///arch").unwrap(), dir.path());
}

#[test]
fn pitr_in_a_directory() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("file://{}/store", dir.path().display());
    run_pitr(Store::from_url(&url).unwrap(), dir.path());
    let names = Store::from_url(&url).unwrap().list().unwrap();
    assert!(names.iter().any(|k| k.starts_with("00000001/wal/")), "{names:?}");
    assert!(names.iter().all(|k| keys::parse(k).is_some()), "{names:?}");
}

fn commit_n(db: &Database, model: &mut Model, rng: &mut SimRng, n: u64) -> u64 {
    let mut last = 0;
    for i in 0..n {
        if let Some(l) = random_txn(db, model, rng, i) {
            last = l;
        }
    }
    last
}

fn src_contents(db: &Database) -> Model {
    db.begin_read().unwrap().range(..).unwrap().map(|kv| kv.unwrap()).collect()
}

#[test]
fn an_archiver_restarted_resumes_without_a_gap() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::from_url("memory:///a").unwrap();
    let db = Database::open(dir.path().join("src.db"), db_opts()).unwrap();
    let (_, opts) = clock();
    let (mut model, mut rng) = (Model::new(), SimRng(3));
    let (mut a, _) = Archiver::start(&db, store.clone(), opts.clone()).unwrap();
    commit_n(&db, &mut model, &mut rng, 30);
    a.ship().unwrap();
    // A second archiver of the same database is refused.
    assert!(matches!(
        Archiver::start(&db, store.clone(), opts.clone()),
        Err(Error::Db(walden_std::Error::Busy(_)))
    ));
    commit_n(&db, &mut model, &mut rng, 30);
    drop(a);
    // The slot kept the WAL: a restart is refused while frames wait.
    assert!(db.checkpoint(CheckpointMode::Truncate).is_err());
    let (mut a, rep) = Archiver::start(&db, store.clone(), opts.clone()).unwrap();
    assert_eq!(rep.gap, None);
    assert_eq!(rep.snapshot, None, "a resumed archive needs no snapshot");
    assert!(rep.commits > 0);
    db.checkpoint(CheckpointMode::Truncate).unwrap();
    commit_n(&db, &mut model, &mut rng, 10);
    a.ship().unwrap();
    assert_eq!(Catalog::read(&store).unwrap().timelines[&1].snapshots.len(), 1);
    let p = dir.path().join("r.db");
    restore(&store, &p, None, Target::Latest).unwrap();
    assert_eq!(contents(&p), model);
}

#[test]
fn a_gap_takes_a_snapshot_and_is_never_crossed() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::from_url("memory:///a").unwrap();
    let db = Database::open(dir.path().join("src.db"), db_opts()).unwrap();
    let (_, opts) = clock();
    let (mut model, mut rng) = (Model::new(), SimRng(5));
    let (mut a, _) = Archiver::start(&db, store.clone(), opts.clone()).unwrap();
    let shipped = commit_n(&db, &mut model, &mut rng, 20);
    a.ship().unwrap();
    drop(a);
    // The archiver is gone and its slot dropped: the WAL restarts with
    // commits the archive never saw.
    db.drop_archive_slot().unwrap();
    let lost = commit_n(&db, &mut model, &mut rng, 20);
    db.checkpoint(CheckpointMode::Truncate).unwrap();
    let after = commit_n(&db, &mut model, &mut rng, 5);
    let (_a, rep) = Archiver::start(&db, store.clone(), opts).unwrap();
    let gap = rep.gap.expect("the gap was not reported");
    assert!(gap.contains("gap"), "{gap}");
    let at = rep.snapshot.unwrap();
    let cat = Catalog::read(&store).unwrap();
    assert_eq!(cat.timelines[&1].notes, vec![at]);
    assert_eq!(cat.timelines[&1].snapshots.len(), 2);
    // Before the gap: fine; inside it: refused; after it: fine.
    restore(&store, dir.path().join("before.db"), None, Target::Lsn(shipped)).unwrap();
    let e = restore(&store, dir.path().join("in.db"), None, Target::Lsn(lost)).unwrap_err();
    assert!(matches!(e, Error::Unreachable(_)), "{e}");
    assert!(!dir.path().join("in.db").exists());
    let p = dir.path().join("after.db");
    let info = restore(&store, &p, None, Target::Latest).unwrap();
    assert_eq!(info.lsn, after);
    assert_eq!(contents(&p), model);
}

#[test]
fn corrupt_and_missing_objects_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("store");
    let url = format!("file://{}", root.display());
    let store = Store::from_url(&url).unwrap();
    let db = Database::open(dir.path().join("src.db"), db_opts()).unwrap();
    let (_, opts) = clock();
    let (mut model, mut rng) = (Model::new(), SimRng(11));
    let (mut a, _) = Archiver::start(&db, store.clone(), opts).unwrap();
    let mut lsns = Vec::new();
    for _ in 0..4 {
        lsns.push(commit_n(&db, &mut model, &mut rng, 5));
        a.ship().unwrap();
    }
    let cat = Catalog::read(&store).unwrap();
    let segs = &cat.timelines[&1].segments;
    assert_eq!(segs.len(), 4);
    // One byte flipped in the third segment: restores through it fail with
    // Corrupt naming it; restores before it still work.
    let (f, l) = segs[2];
    let file = root.join(keys::segment(1, f, l));
    let mut b = std::fs::read(&file).unwrap();
    let orig = b.clone();
    let mid = b.len() / 2;
    b[mid] ^= 0x40;
    std::fs::write(&file, &b).unwrap();
    let e = restore(&store, dir.path().join("c.db"), None, Target::Latest).unwrap_err();
    match &e {
        Error::Corrupt { key, .. } => assert!(key.contains(&format!("{f:016x}")), "{e}"),
        e => panic!("{e:?}"),
    }
    assert!(!dir.path().join("c.db").exists());
    assert!(!dir.path().join("c.db.restore").exists());
    restore(&store, dir.path().join("ok.db"), None, Target::Lsn(lsns[1])).unwrap();
    // Truncated: also Corrupt.
    std::fs::write(&file, &orig[..orig.len() - 9]).unwrap();
    assert!(matches!(
        restore(&store, dir.path().join("t.db"), None, Target::Latest),
        Err(Error::Corrupt { .. })
    ));
    // Missing: the chain breaks, named as such.
    std::fs::remove_file(&file).unwrap();
    let e = restore(&store, dir.path().join("m.db"), None, Target::Latest).unwrap_err();
    assert!(matches!(e, Error::Unreachable(_)), "{e:?}");
    assert!(e.to_string().contains("missing"), "{e}");
    // A damaged snapshot.
    let snap = root.join(keys::snapshot(1, cat.timelines[&1].snapshots[0]));
    let mut b = std::fs::read(&snap).unwrap();
    b[100] ^= 1;
    std::fs::write(&snap, &b).unwrap();
    assert!(matches!(
        restore(&store, dir.path().join("s.db"), None, Target::Latest),
        Err(Error::Corrupt { .. })
    ));
    // Garbage where a segment should be.
    std::fs::write(&file, b"not a segment").unwrap();
    assert!(matches!(
        restore(&store, dir.path().join("g.db"), None, Target::Lsn(lsns[3])),
        Err(Error::Corrupt { .. })
    ));
}

#[test]
fn put_if_absent_never_overwrites() {
    let store = Store::from_url("memory:///p").unwrap();
    assert_eq!(
        store.put_if_absent("00000001/notes/0000000000000001", b"a".to_vec()).unwrap(),
        walden_archive::Put::Created
    );
    assert_eq!(
        store.put_if_absent("00000001/notes/0000000000000001", b"b".to_vec()).unwrap(),
        walden_archive::Put::Existed
    );
    assert_eq!(&store.get("00000001/notes/0000000000000001").unwrap().unwrap()[..], b"a");
    let dir = tempfile::tempdir().unwrap();
    let store = Store::from_url(&format!("file://{}", dir.path().display())).unwrap();
    assert_eq!(store.put_if_absent("x/y", b"a".to_vec()).unwrap(), walden_archive::Put::Created);
    assert_eq!(store.put_if_absent("x/y", b"b".to_vec()).unwrap(), walden_archive::Put::Existed);
    assert_eq!(&store.get("x/y").unwrap().unwrap()[..], b"a");
}

#[test]
fn an_archive_of_another_database_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::from_url("memory:///a").unwrap();
    let (_, opts) = clock();
    let one = Database::open(dir.path().join("one.db"), db_opts()).unwrap();
    let two = Database::open(dir.path().join("two.db"), db_opts()).unwrap();
    let (a, _) = Archiver::start(&one, store.clone(), opts.clone()).unwrap();
    drop(a);
    assert!(matches!(Archiver::start(&two, store, opts), Err(Error::ForeignArchive { .. })));
}

#[test]
fn restore_then_write_starts_a_new_timeline() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::from_url("memory:///a").unwrap();
    let db = Database::open(dir.path().join("src.db"), db_opts()).unwrap();
    let (_, opts) = clock();
    let (mut model, mut rng) = (Model::new(), SimRng(21));
    let (mut a, _) = Archiver::start(&db, store.clone(), opts.clone()).unwrap();
    let mid = commit_n(&db, &mut model, &mut rng, 15);
    let at_mid = model.clone();
    commit_n(&db, &mut model, &mut rng, 15);
    a.ship().unwrap();
    // Restore to the middle, write to the copy, archive it.
    let copy_path = dir.path().join("copy.db");
    let info = restore(&store, &copy_path, None, Target::Lsn(mid)).unwrap();
    assert_eq!(info.lsn, mid);
    let copy = Database::open(&copy_path, db_opts()).unwrap();
    let w = copy.begin_write().unwrap();
    w.put(b"only/on/the/copy", b"1").unwrap();
    let copy_lsn = w.commit().unwrap().unwrap();
    assert!(copy_lsn > mid);
    let (mut b, rep) = Archiver::start(&copy, store.clone(), opts.clone()).unwrap();
    assert_eq!(b.timeline(), 2);
    assert!(rep.snapshot.is_some());
    assert!(!walden_archive::fork_marker_path(&copy_path).exists());
    let w = copy.begin_write().unwrap();
    w.put(b"only/on/the/copy", b"2").unwrap();
    w.commit().unwrap();
    b.ship().unwrap();
    // The original goes on writing timeline 1 meanwhile.
    commit_n(&db, &mut model, &mut rng, 5);
    a.ship().unwrap();
    let cat = Catalog::read(&store).unwrap();
    let t2 = cat.timelines[&2].info.unwrap();
    assert_eq!((t2.parent, t2.branch_lsn), (1, mid));
    // Each timeline restores its own history.
    let p1 = dir.path().join("t1.db");
    restore(&store, &p1, Some(1), Target::Latest).unwrap();
    assert_eq!(contents(&p1), model);
    let p2 = dir.path().join("t2.db");
    restore(&store, &p2, None, Target::Latest).unwrap();
    let mut want = at_mid;
    want.insert(b"only/on/the/copy".to_vec(), b"2".to_vec());
    assert_eq!(contents(&p2), want);
    assert_eq!(contents(&p2), src_contents(&copy));
}

#[test]
fn retention_by_count_and_age() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::from_url("memory:///a").unwrap();
    let db = Database::open(dir.path().join("src.db"), db_opts()).unwrap();
    let (now, opts) = clock();
    let (mut model, mut rng) = (Model::new(), SimRng(31));
    let (mut a, _) = Archiver::start(&db, store.clone(), opts.clone()).unwrap();
    let mut snaps = Vec::new();
    for _ in 0..5 {
        commit_n(&db, &mut model, &mut rng, 8);
        now.fetch_add(3_600_000, Ordering::SeqCst);
        snaps.push(a.snapshot().unwrap());
    }
    commit_n(&db, &mut model, &mut rng, 8);
    a.ship().unwrap();
    let before = Catalog::read(&store).unwrap();
    assert_eq!(before.timelines[&1].snapshots.len(), 6);
    // By age: the snapshots of the last 2.5 hours, and the newest older one.
    let clock = opts.clock.clone();
    let rep = retain(
        &store,
        Retention {
            max_age: Some(Duration::from_secs(9000)),
            keep_snapshots: None,
        },
        &clock,
    )
    .unwrap();
    let after = Catalog::read(&store).unwrap();
    assert_eq!(after.timelines[&1].snapshots, snaps[1..].to_vec(), "{rep:?}");
    assert!(rep.segments > 0);
    assert!(after.timelines[&1].segments.iter().all(|s| s.1 > snaps[1]));
    // Everything left still restores, to the oldest snapshot kept too.
    let p = dir.path().join("r.db");
    restore(&store, &p, None, Target::Latest).unwrap();
    assert_eq!(contents(&p), model);
    restore(&store, dir.path().join("r2.db"), None, Target::Lsn(snaps[1])).unwrap();
    // By count.
    let rep = retain(
        &store,
        Retention {
            keep_snapshots: Some(1),
            max_age: None,
        },
        &clock,
    )
    .unwrap();
    assert_eq!(rep.snapshots, 3);
    assert_eq!(Catalog::read(&store).unwrap().timelines[&1].snapshots, vec![snaps[4]]);
    let p = dir.path().join("r3.db");
    restore(&store, &p, None, Target::Latest).unwrap();
    assert_eq!(contents(&p), model);
    assert!(matches!(
        restore(&store, dir.path().join("r4.db"), None, Target::Lsn(snaps[3])),
        Err(Error::Unreachable(_))
    ));
}

#[test]
fn a_replica_follows_and_serves_reads() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::from_url("memory:///a").unwrap();
    let db = Database::open(dir.path().join("src.db"), db_opts()).unwrap();
    let (_, opts) = clock();
    let (mut model, mut rng) = (Model::new(), SimRng(41));
    let (mut a, _) = Archiver::start(&db, store.clone(), opts).unwrap();
    commit_n(&db, &mut model, &mut rng, 10);
    a.ship().unwrap();
    let rpath = dir.path().join("replica.db");
    let mut r = Replica::open(store.clone(), &rpath, None, Options::default()).unwrap();
    assert_eq!(src_contents(r.database()), model);
    // A reader of the replica keeps reading while it applies.
    let rdb = r.database().clone();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let s2 = stop.clone();
    let reader = std::thread::spawn(move || {
        let mut reads = 0u64;
        while !s2.load(Ordering::Relaxed) {
            let t = rdb.begin_read().unwrap();
            let n = t.range(..).unwrap().count();
            assert!(n > 0);
            reads += 1;
        }
        reads
    });
    for round in 0..6 {
        let lsn = commit_n(&db, &mut model, &mut rng, 12);
        if round % 2 == 0 {
            let _ = db.checkpoint(CheckpointMode::Truncate);
        }
        a.ship().unwrap();
        r.wait_for_lsn(lsn, Duration::from_secs(5)).unwrap();
        assert_eq!(src_contents(r.database()), model, "round {round}");
        assert!(r.database().verify().unwrap().is_ok());
    }
    stop.store(true, Ordering::Relaxed);
    assert!(reader.join().unwrap() > 0);
    // Not yet archived: a timeout, named.
    let lsn = commit_n(&db, &mut model, &mut rng, 3);
    let e = r.wait_for_lsn(lsn, Duration::from_millis(100)).unwrap_err();
    assert!(matches!(e, Error::Timeout { .. }), "{e}");
    a.ship().unwrap();
    // Reopened, it resumes where it was.
    drop(r);
    let mut r = Replica::open(store.clone(), &rpath, None, Options::default()).unwrap();
    r.wait_for_lsn(lsn, Duration::from_secs(5)).unwrap();
    assert_eq!(src_contents(r.database()), model);
}

#[test]
fn a_database_behind_its_archive_starts_a_new_timeline() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::from_url("memory:///a").unwrap();
    let path = dir.path().join("src.db");
    let (_, opts) = clock();
    let (mut model, mut rng) = (Model::new(), SimRng(51));
    let copy = |from: &str, to: &str| {
        for suffix in ["", "-wal"] {
            std::fs::copy(dir.path().join(format!("{from}{suffix}")), dir.path().join(format!("{to}{suffix}"))).unwrap();
        }
    };
    {
        let db = Database::open(&path, db_opts()).unwrap();
        let (mut a, _) = Archiver::start(&db, store.clone(), opts.clone()).unwrap();
        commit_n(&db, &mut model, &mut rng, 10);
        a.ship().unwrap();
    }
    // The device's files as they were here...
    copy("src.db", "old.db");
    let at_copy = model.clone();
    {
        let db = Database::open(&path, db_opts()).unwrap();
        let (mut a, _) = Archiver::start(&db, store.clone(), opts.clone()).unwrap();
        commit_n(&db, &mut model, &mut rng, 10);
        a.ship().unwrap();
    }
    // ... come back: the last commits the archive holds are lost.
    copy("old.db", "src.db");
    let db = Database::open(&path, db_opts()).unwrap();
    let (mut a, rep) = Archiver::start(&db, store.clone(), opts).unwrap();
    assert_eq!(a.timeline(), 2);
    assert!(rep.gap.unwrap().contains("behind its archive"));
    let w = db.begin_write().unwrap();
    w.put(b"after", b"the loss").unwrap();
    w.commit().unwrap();
    a.ship().unwrap();
    let cat = Catalog::read(&store).unwrap();
    assert_eq!(cat.timelines[&2].info.unwrap().parent, 1);
    let p1 = dir.path().join("t1.db");
    restore(&store, &p1, Some(1), Target::Latest).unwrap();
    assert_eq!(contents(&p1), model, "the archived history stays whole");
    let p2 = dir.path().join("t2.db");
    restore(&store, &p2, None, Target::Latest).unwrap();
    let mut want = at_copy;
    want.insert(b"after".to_vec(), b"the loss".to_vec());
    assert_eq!(contents(&p2), want);
}
