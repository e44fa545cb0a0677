//! `Database::backup_to`: a consistent online copy from a read snapshot,
//! taken while a writer keeps committing (as SQLite's backup API).
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use walden_std::{Database, Error, Options};

/// Commit `i` writes `acct/<j>` = i for j in 0..20 and `big` (a value of
/// overflow pages) = i repeated, deleting `tmp/<i-1>` and adding `tmp/<i>`:
/// a copy is consistent when every key holds one commit's number.
fn commit(db: &Database, i: u32) -> u64 {
    let w = db.begin_write().unwrap();
    for j in 0..20u32 {
        w.put(format!("acct/{j:02}").as_bytes(), i.to_le_bytes()).unwrap();
    }
    w.put(b"big", i.to_le_bytes().repeat(3000)).unwrap();
    if i > 0 {
        w.delete(format!("tmp/{}", i - 1).as_bytes()).unwrap();
    }
    w.put(format!("tmp/{i}").as_bytes(), [7; 100]).unwrap();
    w.commit().unwrap().unwrap()
}

fn check_copy(path: &std::path::Path) -> u32 {
    let db = Database::open(path, Options::default()).unwrap();
    let rep = db.verify().unwrap();
    assert!(rep.is_ok(), "{rep:?}");
    let r = db.begin_read().unwrap();
    let i = u32::from_le_bytes(r.get(b"acct/00").unwrap().unwrap().try_into().unwrap());
    for j in 0..20u32 {
        assert_eq!(r.get(format!("acct/{j:02}").as_bytes()).unwrap().unwrap(), i.to_le_bytes());
    }
    assert_eq!(r.get(b"big").unwrap().unwrap(), i.to_le_bytes().repeat(3000));
    assert!(r.get(format!("tmp/{i}").as_bytes()).unwrap().is_some());
    if i > 0 {
        assert!(r.get(format!("tmp/{}", i - 1).as_bytes()).unwrap().is_none());
    }
    i
}

#[test]
fn backup_under_a_concurrent_writer_is_a_committed_state() {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(
        dir.path().join("src.db"),
        Options {
            autocheckpoint_frames: 200,
            ..Options::default()
        },
    )
    .unwrap();
    commit(&db, 0);
    let lsns = Arc::new(Mutex::new(BTreeMap::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (db, lsns, stop) = (db.clone(), lsns.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut i = 1;
            while !stop.load(Ordering::Relaxed) {
                let lsn = commit(&db, i);
                lsns.lock().unwrap().insert(lsn, i);
                i += 1;
            }
            i
        })
    };
    let mut seen = Vec::new();
    let mut first_lsn = 0;
    for k in 0..8 {
        std::thread::sleep(Duration::from_millis(20));
        let path = dir.path().join(format!("copy{k}.db"));
        let info = db.backup_to(&path).unwrap();
        assert_eq!(info.bytes, info.pages as u64 * 4096);
        assert!(!dir.path().join(format!("copy{k}.db.tmp")).exists());
        let i = check_copy(&path);
        // The copy is exactly the last commit at or before the LSN
        // backup_to reports (the commit's own LSN, or `(generation, 0)`
        // right after a WAL restart: the state the restart started from).
        if i > 0 {
            let l = lsns.lock().unwrap();
            let at = l.range(..=info.lsn).next_back().map(|(_, v)| *v);
            assert_eq!(at, Some(i), "copy {k} at {:x}", info.lsn);
            if info.lsn as u32 != 0 {
                assert_eq!(l.get(&info.lsn), Some(&i));
            }
        }
        if k == 0 {
            first_lsn = info.lsn;
        }
        seen.push(i);
    }
    stop.store(true, Ordering::Relaxed);
    let last = writer.join().unwrap();
    assert!(last > 8, "the writer hardly ran ({last} commits)");
    assert!(seen.windows(2).all(|w| w[0] <= w[1]), "{seen:?}");
    // A copy opened and written continues on its own, above the source's LSN.
    let path = dir.path().join("copy0.db");
    let copy = Database::open(&path, Options::default()).unwrap();
    let w = copy.begin_write().unwrap();
    w.put(b"new", b"x").unwrap();
    let lsn = w.commit().unwrap().unwrap();
    assert!(lsn > first_lsn, "{lsn:x} after a copy at {first_lsn:x}");
    assert_eq!(copy.begin_read().unwrap().get(b"new").unwrap().unwrap(), b"x");
}

#[test]
fn backup_refuses_an_existing_path() {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(dir.path().join("src.db"), Options::default()).unwrap();
    commit(&db, 0);
    let path = dir.path().join("copy.db");
    std::fs::write(&path, b"keep me").unwrap();
    assert!(matches!(db.backup_to(&path), Err(Error::Io(_))));
    assert_eq!(std::fs::read(&path).unwrap(), b"keep me");
    std::fs::remove_file(&path).unwrap();
    std::fs::write(dir.path().join("copy.db-wal"), b"").unwrap();
    assert!(matches!(db.backup_to(&path), Err(Error::Io(_))));
    std::fs::remove_file(dir.path().join("copy.db-wal")).unwrap();
    db.backup_to(&path).unwrap();
    assert_eq!(check_copy(&path), 0);
}
