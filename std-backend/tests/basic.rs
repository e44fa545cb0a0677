//! The std API end to end on real files.
use walden_std::{CheckpointMode, Database, Error, LockingMode, Options, SyncMode};

#[test]
fn open_write_read_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    {
        let db = Database::open(&path, Options::default()).unwrap();
        let w = db.begin_write().unwrap();
        let t = w.table("weather").unwrap();
        for i in 0..500u32 {
            t.put(format!("EWR {i:05}").as_bytes(), i.to_le_bytes()).unwrap();
        }
        w.put(b"plain", b"default table").unwrap();
        assert!(w.commit().unwrap().is_some());
        let r = db.begin_read().unwrap();
        let t = r.table("weather").unwrap();
        let v: Vec<_> = t
            .range(&b"EWR 00100"[..]..&b"EWR 00105"[..])
            .unwrap()
            .map(|r| r.unwrap().0)
            .collect();
        assert_eq!(v.len(), 5);
        let back: Vec<_> = t
            .range(&b"EWR 00100"[..]..=&b"EWR 00105"[..])
            .unwrap()
            .rev()
            .map(|r| r.unwrap().0)
            .collect();
        assert_eq!(back.first().unwrap(), b"EWR 00105");
        assert_eq!(back.len(), 6);
        assert!(matches!(r.table("nope"), Err(Error::NotFound { .. })));
        assert_eq!(r.list_tables().unwrap(), vec!["weather".to_string()]);
        let s = db.stats();
        assert_eq!(s.commits, 1);
        assert!(s.fsyncs >= 1);
    }
    let db = Database::open(
        &path,
        Options {
            sync: SyncMode::Normal,
            ..Options::default()
        },
    )
    .unwrap();
    assert!(db.stats().recovered_frames > 0);
    let r = db.begin_read().unwrap();
    assert_eq!(r.get(b"plain").unwrap().as_deref(), Some(&b"default table"[..]));
    assert_eq!(r.table("weather").unwrap().len().unwrap(), 500);
    drop(r);
    let info = db.checkpoint(CheckpointMode::Truncate).unwrap();
    assert_eq!(info.wal_frames, 0);
    assert_eq!(std::fs::metadata(db.wal_path()).unwrap().len(), 0);
}

#[test]
fn a_second_handle_shares_the_database_and_the_writer_is_exclusive() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    let now = Options {
        busy_timeout: std::time::Duration::ZERO,
        ..Options::default()
    };
    let db = Database::open(&path, now.clone()).unwrap();
    let db2 = Database::open(&path, now.clone()).unwrap();
    let w = db.begin_write().unwrap();
    w.put(b"k", b"1").unwrap();
    assert!(matches!(db.begin_write(), Err(Error::Busy(_))));
    assert!(matches!(db2.begin_write(), Err(Error::Busy(_))));
    assert_eq!(db2.begin_read().unwrap().get(b"k").unwrap(), None);
    w.commit().unwrap();
    assert_eq!(db2.begin_read().unwrap().get(b"k").unwrap().as_deref(), Some(&b"1"[..]));
    let w2 = db2.begin_write().unwrap();
    w2.put(b"k", b"2").unwrap();
    w2.commit().unwrap();
    assert_eq!(db.begin_read().unwrap().get(b"k").unwrap().as_deref(), Some(&b"2"[..]));
    // The exclusive locking mode shares with nobody.
    let excl = Options {
        locking_mode: LockingMode::Exclusive,
        ..now.clone()
    };
    assert!(matches!(Database::open(&path, excl.clone()), Err(Error::Busy(_))));
    drop((db, db2));
    let only = Database::open(&path, excl).unwrap();
    assert!(matches!(Database::open(&path, now), Err(Error::Busy(_))));
    assert_eq!(only.begin_read().unwrap().get(b"k").unwrap().as_deref(), Some(&b"2"[..]));
}

#[test]
fn lsn_never_goes_backwards_across_truncate_and_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    let mut last = 0u64;
    for round in 0..4u32 {
        let db = Database::open(&path, Options::default()).unwrap();
        for i in 0..3u32 {
            let w = db.begin_write().unwrap();
            w.put([round as u8, i as u8], b"x").unwrap();
            let lsn = w.commit().unwrap().unwrap();
            assert!(lsn > last, "round {round}: LSN {lsn:#x} after {last:#x}");
            last = lsn;
        }
        db.checkpoint(CheckpointMode::Truncate).unwrap();
        assert_eq!(std::fs::metadata(db.wal_path()).unwrap().len(), 0);
    }
}

#[test]
fn busy_timeout_waits_for_the_writer() {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(
        dir.path().join("t.db"),
        Options {
            busy_timeout: std::time::Duration::from_secs(5),
            ..Options::default()
        },
    )
    .unwrap();
    let w = db.begin_write().unwrap();
    let db2 = db.clone();
    let h = std::thread::spawn(move || {
        let w2 = db2.begin_write().expect("waits, then gets the lock");
        w2.put(b"second", b"2").unwrap();
        w2.commit().unwrap();
    });
    std::thread::sleep(std::time::Duration::from_millis(100));
    w.put(b"first", b"1").unwrap();
    w.commit().unwrap();
    h.join().unwrap();
    let r = db.begin_read().unwrap();
    assert!(r.get(b"first").unwrap().is_some() && r.get(b"second").unwrap().is_some());
}

#[test]
fn io_errors_name_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("missing-dir").join("t.db");
    let e = Database::open(&path, Options::default()).unwrap_err();
    assert!(matches!(e, Error::Io(_)));
    assert!(e.to_string().contains("missing-dir"), "{e}");
    let e = Database::open(
        dir.path().join("nope.db"),
        Options {
            create_if_missing: false,
            ..Options::default()
        },
    )
    .unwrap_err();
    assert!(e.to_string().contains("nope.db"), "{e}");
}

#[test]
fn positioned_cursor_moves_both_ways_and_survives_writes() {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(dir.path().join("t.db"), Options::default()).unwrap();
    let w = db.begin_write().unwrap();
    for i in (0..100u32).step_by(10) {
        w.put(i.to_be_bytes(), i.to_le_bytes()).unwrap();
    }
    let mut c = w.cursor(None).unwrap();
    assert!(c.seek(15u32.to_be_bytes()).unwrap());
    assert_eq!(c.key(), Some(&20u32.to_be_bytes()[..]));
    assert_eq!(c.value(), Some(&20u32.to_le_bytes()[..]));
    w.put(25u32.to_be_bytes(), b"new").unwrap();
    assert!(c.next().unwrap());
    assert_eq!(c.key(), Some(&25u32.to_be_bytes()[..]), "re-seeks after a put of its own txn");
    assert!(c.last().unwrap());
    assert_eq!(c.key(), Some(&90u32.to_be_bytes()[..]));
    assert!(!c.next().unwrap());
    assert_eq!(c.key(), None);
    assert!(c.first().unwrap());
    assert!(!c.prev().unwrap());
    assert!(matches!(w.cursor(Some("missing")), Err(Error::NotFound { .. })));
    assert_eq!(w.header().unwrap().page_size, 4096);
}

#[test]
fn verify_passes_on_a_healthy_database_and_reports_damage() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    {
        let db = Database::open(
            &path,
            Options {
                page_size: 512,
                ..Options::default()
            },
        )
        .unwrap();
        for round in 0..3u32 {
            let w = db.begin_write().unwrap();
            let t = w.table("a").unwrap();
            for i in 0..400u32 {
                t.put((i * 7919 % 400).to_be_bytes(), vec![round as u8; (i % 50) as usize * 20])
                    .unwrap();
            }
            w.table("b").unwrap().put(b"big", vec![9u8; 5000]).unwrap();
            for i in 0..400u32 {
                if i % 3 == round % 3 {
                    t.delete(i.to_be_bytes()).unwrap();
                }
            }
            w.commit().unwrap();
        }
        let w = db.begin_write().unwrap();
        w.drop_table("b").unwrap();
        w.commit().unwrap();
        let rep = db.verify().unwrap();
        assert!(rep.is_ok(), "{rep:?}");
        assert_eq!(rep.tables, 1);
        assert!(rep.freelist_pages > 0, "dropping b freed pages: {rep:?}");
        assert_eq!(rep.pages, rep.tree_pages + rep.overflow_pages + rep.freelist_pages + 1);
        db.checkpoint(CheckpointMode::Truncate).unwrap();
        assert!(db.verify().unwrap().is_ok());
    }
    // Damage one byte of a tree page inside the database file: the check
    // reports the page instead of failing or panicking.
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[512 * 5 + 40] ^= 0xff;
    std::fs::write(&path, &bytes).unwrap();
    let db = Database::open(&path, Options::default()).unwrap();
    let rep = db.verify().unwrap();
    assert!(!rep.is_ok());
    assert!(rep.problems.iter().any(|p| p.page == 6), "{rep:?}");
}
