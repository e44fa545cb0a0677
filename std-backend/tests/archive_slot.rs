//! The archive slot (`walden_core::connection::archive`) through the std
//! API: it holds WAL restarts until the archiver has shipped every frame,
//! shows the lag in `Stats`, and past its limits stops writers (an error,
//! or back-pressure within the busy timeout).
use std::time::Duration;

use walden_std::{ArchiveLimits, CheckpointMode, Database, Error, Options};

fn opts() -> Options {
    Options {
        autocheckpoint_frames: 0,
        busy_timeout: Duration::from_millis(200),
        ..Options::default()
    }
}

fn commit(db: &Database, i: u32) -> u64 {
    let w = db.begin_write().unwrap();
    w.put(format!("k{i:05}").as_bytes(), i.to_le_bytes()).unwrap();
    w.commit().unwrap().unwrap()
}

#[test]
fn slot_holds_the_restart_until_frames_are_shipped() {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(dir.path().join("a.db"), opts()).unwrap();
    commit(&db, 0);
    assert!(db.archive_slot().unwrap().is_none());
    let h0 = db.wal_header().unwrap();
    assert!(db.claim_archive_slot(7, ArchiveLimits::default(), None, 0).unwrap());
    for i in 1..10 {
        commit(&db, i);
    }
    let h = db.wal_header().unwrap();
    assert_eq!(h.ckpt_seq, h0.ckpt_seq);
    // Backfill proceeds; the restart waits for the archiver.
    let e = db.checkpoint(CheckpointMode::Truncate).unwrap_err();
    assert!(matches!(e, Error::Busy(_)), "{e:?}");
    let info = db.checkpoint(CheckpointMode::Full).unwrap();
    assert_eq!(info.backfilled, h.mx_frame);
    // begin_write does not restart a fully backfilled WAL either.
    commit(&db, 10);
    let h = db.wal_header().unwrap();
    assert_eq!(h.ckpt_seq, h0.ckpt_seq, "the WAL restarted under an archive slot");
    let s = db.stats();
    assert_eq!(s.archive_lag_frames, h.mx_frame as u64);
    assert_eq!(s.archive_lag_bytes, h.mx_frame as u64 * (24 + 4096));
    assert!(s.archive_lag.is_some());
    assert_eq!(s.archive_slot.unwrap().tag, 7);
    // Shipped part of it: still held.
    assert!(db.advance_archive_slot(0, 3, false).unwrap());
    assert!(!db.advance_archive_slot(0, 4, false).unwrap(), "a stale expectation must fail");
    db.checkpoint(CheckpointMode::Full).unwrap();
    assert!(db.checkpoint(CheckpointMode::Truncate).is_err());
    assert_eq!(db.stats().archive_lag_frames, (h.mx_frame - 3) as u64);
    // Shipped all of it: the restart happens and the slot starts over.
    assert!(db.advance_archive_slot(3, h.mx_frame, true).unwrap());
    let s = db.stats();
    assert_eq!((s.archive_lag_frames, s.archive_lag), (0, None));
    db.checkpoint(CheckpointMode::Truncate).unwrap();
    let slot = db.archive_slot().unwrap().unwrap();
    assert_eq!(slot.shipped, 0);
    assert_eq!(db.wal_header().unwrap().ckpt_seq, h0.ckpt_seq + 1);
    // The archiver's old expectation fails after the restart.
    assert!(!db.advance_archive_slot(h.mx_frame, h.mx_frame + 1, true).unwrap());
    // Dropping the slot frees the WAL.
    commit(&db, 11);
    db.drop_archive_slot().unwrap();
    assert!(db.archive_slot().unwrap().is_none());
    db.checkpoint(CheckpointMode::Truncate).unwrap();
    assert_eq!(db.wal_header().unwrap().ckpt_seq, h0.ckpt_seq + 2);
}

#[test]
fn lag_limit_in_frames_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(dir.path().join("a.db"), opts()).unwrap();
    commit(&db, 0);
    let shipped = db.wal_header().unwrap().mx_frame;
    let limits = ArchiveLimits {
        max_frames: 6,
        ..ArchiveLimits::default()
    };
    assert!(db.claim_archive_slot(1, limits, None, shipped).unwrap());
    let mut n = 0;
    let err = loop {
        let w = match db.begin_write() {
            Ok(w) => w,
            Err(e) => break e,
        };
        w.put(format!("k{n}").as_bytes(), b"v").unwrap();
        w.commit().unwrap();
        n += 1;
        assert!(n < 10, "the lag limit never stopped the writer");
    };
    match err {
        Error::ArchiveLag { frames, waited, .. } => {
            assert!(frames >= 6, "{frames}");
            assert!(!waited);
        }
        e => panic!("{e:?}"),
    }
    assert!(err_text(&db).contains("archiver lags"));
    // The archiver catches up: writes resume.
    let h = db.wal_header().unwrap();
    assert!(db.advance_archive_slot(shipped, h.mx_frame, true).unwrap());
    commit(&db, 99);
}

fn err_text(db: &Database) -> String {
    match db.begin_write() {
        Err(e) => e.to_string(),
        Ok(_) => String::new(),
    }
}

#[test]
fn back_pressure_waits_for_the_archiver() {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(
        dir.path().join("a.db"),
        Options {
            busy_timeout: Duration::from_secs(5),
            ..opts()
        },
    )
    .unwrap();
    commit(&db, 0);
    let limits = ArchiveLimits {
        max_frames: 2,
        back_pressure: true,
        ..ArchiveLimits::default()
    };
    let shipped = db.wal_header().unwrap().mx_frame;
    assert!(db.claim_archive_slot(1, limits, None, shipped).unwrap());
    commit(&db, 1);
    commit(&db, 2);
    // The archiver ships 100 ms later; the writer waits for it.
    let db2 = db.clone();
    let archiver = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(100));
        let h = db2.wal_header().unwrap();
        assert!(db2.advance_archive_slot(shipped, h.mx_frame, true).unwrap());
    });
    let t = std::time::Instant::now();
    commit(&db, 3);
    assert!(t.elapsed() >= Duration::from_millis(80), "{:?}", t.elapsed());
    archiver.join().unwrap();
    // Without the archiver, the wait ends at the busy timeout with the error.
    let db = Database::open(
        dir.path().join("b.db"),
        Options {
            busy_timeout: Duration::from_millis(100),
            ..opts()
        },
    )
    .unwrap();
    commit(&db, 0);
    assert!(db.claim_archive_slot(1, limits, None, 0).unwrap());
    let Err(e) = db.begin_write() else {
        panic!("the writer was not stopped")
    };
    assert!(matches!(e, Error::ArchiveLag { waited: true, .. }), "{e:?}");
}

#[test]
fn lag_limit_in_time() {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(dir.path().join("a.db"), opts()).unwrap();
    commit(&db, 0);
    let limits = ArchiveLimits {
        max_ms: 50,
        ..ArchiveLimits::default()
    };
    let h = db.wal_header().unwrap();
    assert!(db.claim_archive_slot(1, limits, None, h.mx_frame).unwrap());
    // Caught up: no limit however long it waits.
    std::thread::sleep(Duration::from_millis(80));
    commit(&db, 1);
    // Frames wait for longer than the limit: refused.
    std::thread::sleep(Duration::from_millis(80));
    assert!(db.stats().archive_lag.unwrap() >= Duration::from_millis(50));
    assert!(matches!(db.begin_write(), Err(Error::ArchiveLag { .. })));
}

#[test]
fn one_archiver_at_a_time() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.db");
    let db = Database::open(&path, opts()).unwrap();
    let other = Database::open(&path, opts()).unwrap();
    let lock = db.lock_archiver().unwrap();
    assert!(matches!(other.lock_archiver(), Err(Error::Busy(_))));
    assert!(matches!(db.lock_archiver(), Err(Error::Busy(_))));
    drop(lock);
    let _l = other.lock_archiver().unwrap();
}
