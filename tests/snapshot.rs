//! Snapshot isolation: a read transaction sees the database as of its
//! begin, whatever commits and checkpoints happen meanwhile; checkpoints
//! never copy frames past a live reader's snapshot; non-passive checkpoints
//! report `Busy` while a reader holds an old snapshot.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use walden::{CheckpointMode, Database, Error, Options, SyncMode};

fn opts() -> Options {
    Options {
        autocheckpoint_frames: 0,
        sync: SyncMode::Off,
        // Fail at once where the tests expect `Busy`.
        busy_timeout: Duration::ZERO,
        ..Options::default()
    }
}

fn big(seed: u8, len: usize) -> Vec<u8> {
    (0..len).map(|i| seed.wrapping_add((i % 251) as u8)).collect()
}

fn open(dir: &tempfile::TempDir, o: Options) -> Database {
    Database::open(dir.path().join("snap.db"), o).unwrap()
}

/// Writes generation `g` of the data set: `k{i}` = `g:i` for i in 0..n, a
/// large value under "big", and a table "t" with `g` under "gen"; deletes
/// `only{g-1}` and inserts `only{g}`.
fn write_gen(db: &Database, g: u32, n: u32) {
    let w = db.begin_write().unwrap();
    for i in 0..n {
        w.put(format!("k{i:04}").as_bytes(), format!("{g}:{i}").as_bytes()).unwrap();
    }
    w.put(b"big", big(g as u8, 20_000)).unwrap();
    w.table("t").unwrap().put(b"gen", g.to_le_bytes()).unwrap();
    if g > 0 {
        assert!(w.delete(format!("only{}", g - 1).as_bytes()).unwrap());
    }
    w.put(format!("only{g}").as_bytes(), b"x").unwrap();
    w.commit().unwrap();
}

/// Checks that a read transaction sees exactly generation `g`.
fn check_gen(r: &walden::ReadTxn, g: u32, n: u32) {
    for i in 0..n {
        assert_eq!(
            r.get(format!("k{i:04}").as_bytes()).unwrap(),
            Some(format!("{g}:{i}").into_bytes()),
            "gen {g} key {i}"
        );
    }
    assert_eq!(r.get(b"big").unwrap(), Some(big(g as u8, 20_000)), "gen {g} big");
    assert_eq!(r.table("t").unwrap().get(b"gen").unwrap(), Some(g.to_le_bytes().to_vec()));
    let onlies: Vec<Vec<u8>> = r.range(&b"only"[..]..&b"onlz"[..]).unwrap().map(|e| e.unwrap().0).collect();
    assert_eq!(onlies, vec![format!("only{g}").into_bytes()], "gen {g}");
    let all = r.default_table().unwrap().len().unwrap();
    assert_eq!(all, n as u64 + 2, "gen {g}: entry count");
}

#[test]
fn reader_keeps_its_snapshot_across_commit_and_passive_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(&dir, opts());
    write_gen(&db, 0, 300);
    let r = db.begin_read().unwrap();
    let frames_at_r = db.stats().wal_frames;
    assert!(frames_at_r > 0);
    write_gen(&db, 1, 300);
    check_gen(&r, 0, 300);
    let after = db.stats().wal_frames;
    assert!(after > frames_at_r);

    // A passive checkpoint copies up to the reader's snapshot, not past it.
    let info = db.checkpoint(CheckpointMode::Passive).unwrap();
    assert_eq!(info.wal_frames as u64, after);
    assert_eq!(info.backfilled as u64, frames_at_r, "{info:?}");
    assert!(info.backfilled < info.wal_frames);
    check_gen(&r, 0, 300);

    // Full, Restart and Truncate cannot complete while the reader needs
    // the frames after its snapshot.
    for mode in [CheckpointMode::Full, CheckpointMode::Restart, CheckpointMode::Truncate] {
        assert!(matches!(db.checkpoint(mode), Err(Error::Busy(_))), "{mode:?}");
    }
    check_gen(&r, 0, 300);

    // A reader begun now sees the new commit.
    let r2 = db.begin_read().unwrap();
    check_gen(&r2, 1, 300);
    drop(r2);
    check_gen(&r, 0, 300);
    drop(r);

    // With the old reader gone a Full checkpoint backfills everything.
    let info = db.checkpoint(CheckpointMode::Full).unwrap();
    assert_eq!(info.backfilled, info.wal_frames);
    assert_eq!(info.wal_frames as u64, after);
    let s = db.stats();
    assert_eq!(s.wal_backfilled, s.wal_frames);
    check_gen(&db.begin_read().unwrap(), 1, 300);
    // And the data is in the database file: truncate the WAL and reopen.
    db.checkpoint(CheckpointMode::Truncate).unwrap();
    drop(db);
    let db = open(&dir, opts());
    assert_eq!(db.stats().recovered_frames, 0);
    check_gen(&db.begin_read().unwrap(), 1, 300);
}

#[test]
fn restart_is_busy_while_a_reader_uses_the_wal() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(&dir, opts());
    write_gen(&db, 0, 50);
    // A reader at the latest snapshot: Full succeeds (nothing past it) but
    // Restart needs the reader off the WAL.
    let r = db.begin_read().unwrap();
    let info = db.checkpoint(CheckpointMode::Full).unwrap();
    assert_eq!(info.backfilled, info.wal_frames);
    assert!(matches!(db.checkpoint(CheckpointMode::Restart), Err(Error::Busy(_))));
    assert!(matches!(db.checkpoint(CheckpointMode::Truncate), Err(Error::Busy(_))));
    check_gen(&r, 0, 50);
    drop(r);
    let info = db.checkpoint(CheckpointMode::Restart).unwrap();
    assert_eq!((info.wal_frames, info.backfilled), (0, 0));
    assert_eq!(db.stats().wal_frames, 0);
    check_gen(&db.begin_read().unwrap(), 0, 50);
}

#[test]
fn busy_timeout_waits_for_the_reader() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(
        &dir,
        Options {
            busy_timeout: Duration::from_secs(5),
            ..opts()
        },
    );
    write_gen(&db, 0, 20);
    let r = db.begin_read().unwrap();
    write_gen(&db, 1, 20);
    let db2 = db.clone();
    let t = std::thread::spawn(move || {
        let start = Instant::now();
        let info = db2.checkpoint(CheckpointMode::Full).unwrap();
        (start.elapsed(), info)
    });
    std::thread::sleep(Duration::from_millis(200));
    check_gen(&r, 0, 20);
    drop(r);
    let (waited, info) = t.join().unwrap();
    assert!(waited >= Duration::from_millis(150), "{waited:?}");
    assert_eq!(info.backfilled, info.wal_frames);
}

/// A reader that began when the WAL was entirely backfilled reads only the
/// database file: a later checkpoint must not overwrite the pages under it.
#[test]
fn db_only_reader_blocks_backfill() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(&dir, opts());
    write_gen(&db, 0, 200);
    let info = db.checkpoint(CheckpointMode::Full).unwrap();
    assert_eq!(info.backfilled, info.wal_frames);
    let r = db.begin_read().unwrap(); // every frame backfilled: db-only snapshot
    write_gen(&db, 1, 200);
    write_gen(&db, 2, 200);
    let s = db.stats();
    let info = db.checkpoint(CheckpointMode::Passive).unwrap();
    assert_eq!(info.wal_frames as u64, s.wal_frames);
    assert!(info.backfilled < info.wal_frames, "backfilled under a db-only reader: {info:?}");
    check_gen(&r, 0, 200);
    assert!(matches!(db.checkpoint(CheckpointMode::Full), Err(Error::Busy(_))));
    check_gen(&r, 0, 200);
    drop(r);
    let info = db.checkpoint(CheckpointMode::Full).unwrap();
    assert_eq!(info.backfilled, info.wal_frames);
    check_gen(&db.begin_read().unwrap(), 2, 200);
}

/// The WAL restarts at the next write once fully backfilled; a reader that
/// began just before (db-only) keeps its snapshot while the new generation
/// is written and checkpointed around it.
#[test]
fn reader_survives_wal_restart_by_next_writer() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(&dir, opts());
    write_gen(&db, 0, 100);
    write_gen(&db, 1, 100);
    db.checkpoint(CheckpointMode::Full).unwrap();
    let lsn_before = db.stats().last_lsn;
    let r = db.begin_read().unwrap();
    write_gen(&db, 2, 100); // restarts the WAL (reader is db-only)
    let s = db.stats();
    assert_eq!(s.last_lsn >> 32, (lsn_before >> 32) + 1, "WAL generation advanced");
    check_gen(&r, 1, 100);
    db.checkpoint(CheckpointMode::Passive).unwrap();
    check_gen(&r, 1, 100);
    write_gen(&db, 3, 100);
    db.checkpoint(CheckpointMode::Passive).unwrap();
    check_gen(&r, 1, 100);
    drop(r);
    db.checkpoint(CheckpointMode::Truncate).unwrap();
    check_gen(&db.begin_read().unwrap(), 3, 100);
}

/// More snapshots than read-mark slots: every reader still sees its own
/// generation, and each passive checkpoint stops at the oldest live one.
#[test]
fn many_readers_fewer_read_marks() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(&dir, Options { read_marks: 3, ..opts() });
    let mut readers = Vec::new();
    let mut frames = Vec::new();
    for g in 0..8u32 {
        write_gen(&db, g, 40);
        frames.push(db.stats().wal_frames);
        readers.push((g, db.begin_read().unwrap()));
    }
    for (g, r) in &readers {
        check_gen(r, *g, 40);
    }
    let info = db.checkpoint(CheckpointMode::Passive).unwrap();
    assert!(info.backfilled as u64 <= frames[0], "{info:?} {frames:?}");
    for (g, r) in &readers {
        check_gen(r, *g, 40);
    }
    // Drop readers oldest first; the checkpoint may advance but every
    // remaining reader keeps its snapshot.
    let mut next_g = 8;
    while !readers.is_empty() {
        readers.remove(0);
        let info = db.checkpoint(CheckpointMode::Passive).unwrap();
        if let Some((g, _)) = readers.first() {
            assert!(info.backfilled as u64 <= frames[*g as usize], "{info:?}");
        } else {
            assert_eq!(info.backfilled, info.wal_frames);
        }
        write_gen(&db, next_g, 40);
        next_g += 1;
        for (g, r) in &readers {
            check_gen(r, *g, 40);
        }
    }
}

/// A reader's view on a second handle of the write-transaction API: the
/// writer sees its uncommitted changes, a reader does not, abort discards.
#[test]
fn uncommitted_changes_are_invisible() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(&dir, opts());
    write_gen(&db, 0, 10);
    let w = db.begin_write().unwrap();
    w.put(b"k0000", b"uncommitted").unwrap();
    w.put(b"big", big(9, 50_000)).unwrap();
    assert_eq!(w.get(b"k0000").unwrap().as_deref(), Some(&b"uncommitted"[..]));
    check_gen(&db.begin_read().unwrap(), 0, 10);
    // A passive checkpoint while the writer is active copies only committed frames.
    db.checkpoint(CheckpointMode::Passive).unwrap();
    check_gen(&db.begin_read().unwrap(), 0, 10);
    w.abort();
    check_gen(&db.begin_read().unwrap(), 0, 10);
    db.checkpoint(CheckpointMode::Full).unwrap();
    check_gen(&db.begin_read().unwrap(), 0, 10);
}

/// Concurrency: a writer moves amounts between accounts (the total is
/// invariant), readers check the total and a generation counter in every
/// snapshot, a checkpointer runs every mode, with a small cache so that the
/// writer spills.
#[test]
fn concurrent_readers_writer_checkpointer() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(
        &dir,
        Options {
            page_size: 512,
            cache_pages: 8,
            autocheckpoint_frames: 64,
            read_marks: 4,
            ..opts()
        },
    );
    const ACCOUNTS: u32 = 200;
    const TOTAL: u64 = ACCOUNTS as u64 * 1000;
    {
        let w = db.begin_write().unwrap();
        let t = w.table("acct").unwrap();
        for i in 0..ACCOUNTS {
            t.put(format!("a{i:05}").as_bytes(), 1000u64.to_le_bytes()).unwrap();
        }
        w.put(b"gen", 0u64.to_le_bytes()).unwrap();
        w.commit().unwrap();
    }
    let stop = Arc::new(AtomicBool::new(false));
    let committed_gen = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_millis(2500);
    let mut handles = Vec::new();
    for _ in 0..2 {
        let (db, stop, committed_gen) = (db.clone(), stop.clone(), committed_gen.clone());
        handles.push(std::thread::spawn(move || {
            let mut reads = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let floor = committed_gen.load(Ordering::SeqCst);
                let r = db.begin_read().unwrap();
                let g = u64::from_le_bytes(r.get(b"gen").unwrap().unwrap().try_into().unwrap());
                assert!(
                    g >= floor,
                    "snapshot older than a commit acknowledged before it began: {g} < {floor}"
                );
                let t = r.table("acct").unwrap();
                let sum: u64 = t
                    .iter()
                    .unwrap()
                    .map(|e| u64::from_le_bytes(e.unwrap().1.try_into().unwrap()))
                    .sum();
                assert_eq!(sum, TOTAL, "snapshot at gen {g} is torn");
                // The same snapshot read twice gives the same answer.
                let g2 = u64::from_le_bytes(r.get(b"gen").unwrap().unwrap().try_into().unwrap());
                assert_eq!(g, g2);
                reads += 1;
            }
            reads
        }));
    }
    {
        let (db, stop) = (db.clone(), stop.clone());
        handles.push(std::thread::spawn(move || {
            let modes = [
                CheckpointMode::Passive,
                CheckpointMode::Full,
                CheckpointMode::Restart,
                CheckpointMode::Truncate,
            ];
            let mut ok = 0u64;
            let mut i = 0;
            while !stop.load(Ordering::Relaxed) {
                match db.checkpoint(modes[i % 4]) {
                    Ok(info) => {
                        assert!(info.backfilled <= info.wal_frames);
                        ok += 1;
                    }
                    Err(Error::Busy(_)) => {}
                    Err(e) => panic!("checkpoint: {e}"),
                }
                i += 1;
                std::thread::sleep(Duration::from_millis(2));
            }
            ok
        }));
    }
    let mut g = 0u64;
    let mut x = 12345u64;
    while Instant::now() < deadline {
        let w = match db.begin_write() {
            Ok(w) => w,
            Err(Error::Busy(_)) => continue, // a Full/Restart checkpoint holds the write lock
            Err(e) => panic!("begin_write: {e}"),
        };
        let t = w.table("acct").unwrap();
        for _ in 0..10 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let a = format!("a{:05}", x % ACCOUNTS as u64);
            let b = format!("a{:05}", (x >> 20) % ACCOUNTS as u64);
            let va = u64::from_le_bytes(t.get(a.as_bytes()).unwrap().unwrap().try_into().unwrap());
            let amt = va.min(x % 50);
            t.put(a.as_bytes(), (va - amt).to_le_bytes()).unwrap();
            let vb = u64::from_le_bytes(t.get(b.as_bytes()).unwrap().unwrap().try_into().unwrap());
            t.put(b.as_bytes(), (vb + amt).to_le_bytes()).unwrap();
        }
        g += 1;
        w.put(b"gen", g.to_le_bytes()).unwrap();
        // Padding so that the writer's transactions spill and grow the WAL.
        w.put(format!("pad{}", g % 16).as_bytes(), big(g as u8, 3000)).unwrap();
        w.commit().unwrap();
        committed_gen.store(g, Ordering::SeqCst);
    }
    stop.store(true, Ordering::Relaxed);
    let results: Vec<u64> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert!(g > 10, "writer made progress: {g}");
    assert!(results[0] > 0 && results[1] > 0, "readers made progress: {results:?}");
    let r = db.begin_read().unwrap();
    assert_eq!(u64::from_le_bytes(r.get(b"gen").unwrap().unwrap().try_into().unwrap()), g);
    drop(r);
    drop(db);
    let db = open(&dir, opts());
    let r = db.begin_read().unwrap();
    assert_eq!(u64::from_le_bytes(r.get(b"gen").unwrap().unwrap().try_into().unwrap()), g);
    let sum: u64 = r
        .table("acct")
        .unwrap()
        .iter()
        .unwrap()
        .map(|e| u64::from_le_bytes(e.unwrap().1.try_into().unwrap()))
        .sum();
    assert_eq!(sum, TOTAL);
}

/// Writers on several threads serialise on the write lock (waiting up to
/// the busy timeout): read-modify-write increments are never lost, and
/// every reader sees a counter that only grows.
#[test]
fn concurrent_writers_lose_no_update() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(
        &dir,
        Options {
            busy_timeout: Duration::from_secs(10),
            autocheckpoint_frames: 30,
            ..opts()
        },
    );
    let w = db.begin_write().unwrap();
    w.put(b"counter", 0u64.to_le_bytes()).unwrap();
    w.commit().unwrap();
    const THREADS: u64 = 3;
    const EACH: u64 = 150;
    let mut handles = Vec::new();
    for t in 0..THREADS {
        let db = db.clone();
        handles.push(std::thread::spawn(move || {
            for i in 0..EACH {
                let w = db.begin_write().unwrap();
                let c = u64::from_le_bytes(w.get(b"counter").unwrap().unwrap().try_into().unwrap());
                w.put(b"counter", (c + 1).to_le_bytes()).unwrap();
                w.table("log")
                    .unwrap()
                    .put(format!("{t}:{i:04}").as_bytes(), c.to_le_bytes())
                    .unwrap();
                w.commit().unwrap();
            }
        }));
    }
    let reader = {
        let db = db.clone();
        std::thread::spawn(move || {
            let mut last = 0;
            for _ in 0..300 {
                let r = db.begin_read().unwrap();
                let c = u64::from_le_bytes(r.get(b"counter").unwrap().unwrap().try_into().unwrap());
                assert!(c >= last, "counter went back: {c} < {last}");
                // The log has one entry per increment in this snapshot.
                let n = r.table("log").map(|t| t.len().unwrap()).unwrap_or(0);
                assert_eq!(n, c);
                last = c;
            }
        })
    };
    for h in handles {
        h.join().unwrap();
    }
    reader.join().unwrap();
    let r = db.begin_read().unwrap();
    assert_eq!(
        u64::from_le_bytes(r.get(b"counter").unwrap().unwrap().try_into().unwrap()),
        THREADS * EACH
    );
    let seen: std::collections::BTreeSet<u64> = r
        .table("log")
        .unwrap()
        .iter()
        .unwrap()
        .map(|e| u64::from_le_bytes(e.unwrap().1.try_into().unwrap()))
        .collect();
    assert_eq!(seen.len() as u64, THREADS * EACH, "each increment saw a distinct value");
}
