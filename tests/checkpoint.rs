//! Checkpoints: what each mode leaves behind (WAL size, frame numbering,
//! LSNs), the automatic checkpoint threshold, `CheckpointInfo` values, and
//! the syncs each sync mode performs.

use walden::engine::format::DbHeader;
use walden::{CheckpointInfo, CheckpointMode, Database, Options, SyncMode};

fn opts() -> Options {
    Options {
        sync: SyncMode::Off,
        autocheckpoint_frames: 0,
        // The WAL-full test expects `Full` from the starvation policy at once.
        busy_timeout: std::time::Duration::ZERO,
        ..Options::default()
    }
}

fn wal_len(db: &Database) -> u64 {
    std::fs::metadata(db.wal_path()).unwrap().len()
}

/// Commits `n` keys starting at `from` in one transaction; returns its LSN.
fn commit_keys(db: &Database, from: u32, n: u32) -> u64 {
    let w = db.begin_write().unwrap();
    for i in from..from + n {
        w.put(format!("key{i:06}").as_bytes(), [i as u8; 200]).unwrap();
    }
    w.commit().unwrap().expect("the commit wrote frames")
}

fn check_keys(db: &Database, n: u32) {
    let r = db.begin_read().unwrap();
    assert_eq!(r.default_table().unwrap().len().unwrap(), n as u64);
    for i in (0..n).step_by(7) {
        assert_eq!(r.get(format!("key{i:06}").as_bytes()).unwrap(), Some(vec![i as u8; 200]));
    }
}

fn seq(lsn: u64) -> u64 {
    lsn >> 32
}
fn frame(lsn: u64) -> u64 {
    lsn & 0xffff_ffff
}

#[test]
fn truncate_leaves_an_empty_wal() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("c.db");
    let db = Database::open(&p, opts()).unwrap();
    commit_keys(&db, 0, 500);
    assert!(wal_len(&db) > 0);
    let info = db.checkpoint(CheckpointMode::Truncate).unwrap();
    assert_eq!(
        info,
        CheckpointInfo {
            wal_frames: 0,
            backfilled: 0
        }
    );
    assert_eq!(wal_len(&db), 0);
    let s = db.stats();
    assert_eq!((s.wal_frames, s.wal_backfilled), (0, 0));
    check_keys(&db, 500);
    // Truncate on an empty WAL is fine and leaves it empty.
    assert_eq!(
        db.checkpoint(CheckpointMode::Truncate).unwrap(),
        CheckpointInfo {
            wal_frames: 0,
            backfilled: 0
        }
    );
    assert_eq!(wal_len(&db), 0);
    // The database file has everything: reopen recovers nothing from the WAL.
    drop(db);
    let db = Database::open(&p, opts()).unwrap();
    assert_eq!(db.stats().recovered_frames, 0);
    check_keys(&db, 500);
    let h = DbHeader::decode(&std::fs::read(&p).unwrap()[..DbHeader::LEN]).unwrap();
    assert_eq!(h.page_count as u64, db.stats().db_pages);
    assert_eq!(std::fs::metadata(&p).unwrap().len(), h.page_count as u64 * 4096);
    // The next commit writes a fresh WAL from frame 1.
    let lsn = commit_keys(&db, 500, 1);
    assert!(frame(lsn) <= 3, "{lsn:#x}");
    assert!(wal_len(&db) > 0);
}

#[test]
fn restart_makes_the_next_commit_start_at_frame_one() {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(dir.path().join("c.db"), opts()).unwrap();
    let lsn1 = commit_keys(&db, 0, 400);
    let lsn2 = commit_keys(&db, 400, 400);
    assert_eq!(seq(lsn1), seq(lsn2));
    assert!(frame(lsn2) > frame(lsn1));
    let s = db.stats();
    assert_eq!(s.last_lsn, lsn2);
    assert_eq!(s.wal_frames, frame(lsn2));
    let len_before = wal_len(&db);

    let info = db.checkpoint(CheckpointMode::Restart).unwrap();
    assert_eq!(
        info,
        CheckpointInfo {
            wal_frames: 0,
            backfilled: 0
        }
    );
    let s = db.stats();
    assert_eq!(s.wal_frames, 0);
    assert_eq!(seq(s.last_lsn), seq(lsn2) + 1, "restart moves to the next WAL generation");
    // Restart does not truncate the file.
    assert_eq!(wal_len(&db), len_before);

    let lsn3 = commit_keys(&db, 800, 1);
    assert_eq!(seq(lsn3), seq(lsn2) + 1);
    assert!(frame(lsn3) <= 3, "next commit starts at the WAL's start: {lsn3:#x}");
    assert!(lsn3 > lsn2, "LSNs never go backwards");
    let s = db.stats();
    assert_eq!(s.wal_frames, frame(lsn3));
    assert_eq!(s.last_lsn, lsn3);
    assert_eq!(wal_len(&db), len_before, "the WAL is overwritten from its start, not extended");
    check_keys(&db, 801);
}

#[test]
fn wal_restarts_after_full_backfill_and_lsns_stay_monotonic() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("c.db");
    let mut last = 0u64;
    let mut n = 0;
    for reopen in 0..3 {
        let db = Database::open(&p, opts()).unwrap();
        if reopen > 0 {
            assert!(db.stats().last_lsn >= last, "after reopen: {:#x} < {last:#x}", db.stats().last_lsn);
        }
        for (k, mode) in [
            CheckpointMode::Passive,
            CheckpointMode::Full,
            CheckpointMode::Restart,
            CheckpointMode::Truncate,
        ]
        .into_iter()
        .enumerate()
        {
            let lsn = commit_keys(&db, n, 50 + k as u32);
            n += 50 + k as u32;
            assert!(lsn > last, "LSN went backwards: {lsn:#x} <= {last:#x}");
            last = lsn;
            let info = db.checkpoint(mode).unwrap();
            match mode {
                CheckpointMode::Passive | CheckpointMode::Full => {
                    assert_eq!(info.wal_frames as u64, frame(lsn));
                    assert_eq!(info.backfilled, info.wal_frames);
                    // A fully backfilled WAL restarts at the next commit.
                    let lsn2 = commit_keys(&db, n, 1);
                    n += 1;
                    assert_eq!(seq(lsn2), seq(lsn) + 1, "{mode:?}");
                    assert!(frame(lsn2) <= 3);
                    last = lsn2;
                }
                CheckpointMode::Restart | CheckpointMode::Truncate => {
                    assert_eq!(
                        info,
                        CheckpointInfo {
                            wal_frames: 0,
                            backfilled: 0
                        }
                    );
                    assert_eq!(seq(db.stats().last_lsn), seq(lsn) + 1);
                }
            }
        }
        check_keys(&db, n);
    }
}

#[test]
fn autocheckpoint_fires_at_1000_frames_by_default() {
    assert_eq!(Options::default().autocheckpoint_frames, 1000);
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(
        dir.path().join("a.db"),
        Options {
            sync: SyncMode::Off,
            ..Options::default()
        },
    )
    .unwrap();
    // Small commits (2 frames each: a leaf and the header page).
    let mut i = 0u32;
    loop {
        let w = db.begin_write().unwrap();
        w.put(b"counter", i.to_le_bytes()).unwrap();
        let lsn = w.commit().unwrap().unwrap();
        let s = db.stats();
        i += 1;
        if frame(lsn) < 1000 {
            assert_eq!(s.checkpoints, 0, "no checkpoint below the threshold (frame {})", frame(lsn));
            assert_eq!(s.wal_backfilled, 0);
        } else {
            // This commit crossed the threshold: its checkpoint copied
            // everything (no reader).
            assert_eq!(s.checkpoints, 1, "{s:?}");
            assert_eq!(s.wal_backfilled, s.wal_frames);
            assert_eq!(s.wal_frames, frame(lsn));
            break;
        }
        assert!(i < 2000);
    }
    assert!(i > 300, "{i} commits");
    // The next commit restarts the WAL.
    let w = db.begin_write().unwrap();
    w.put(b"counter", b"x").unwrap();
    let lsn = w.commit().unwrap().unwrap();
    assert!(frame(lsn) <= 3);
    assert_eq!(db.stats().checkpoints, 1);

    // With autocheckpoint off, the WAL grows past 1,000 frames untouched.
    let db2 = Database::open(dir.path().join("b.db"), opts()).unwrap();
    let mut frames = 0;
    while frames <= 1100 {
        frames = frame(commit_keys(&db2, frames as u32, 40));
    }
    let s = db2.stats();
    assert_eq!(s.checkpoints, 0);
    assert_eq!(s.wal_backfilled, 0);

    // A custom threshold.
    let db3 = Database::open(
        dir.path().join("c.db"),
        Options {
            autocheckpoint_frames: 50,
            ..opts()
        },
    )
    .unwrap();
    for k in 0..20 {
        commit_keys(&db3, k * 10, 10);
    }
    assert!(db3.stats().checkpoints >= 1, "{:?}", db3.stats());
}

#[test]
fn checkpoint_info_is_sensible() {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(dir.path().join("i.db"), opts()).unwrap();
    // A new database is its first commit, in the WAL (3 frames: header
    // page, catalog, default table).
    assert_eq!(
        db.checkpoint(CheckpointMode::Passive).unwrap(),
        CheckpointInfo {
            wal_frames: 3,
            backfilled: 3
        }
    );
    db.checkpoint(CheckpointMode::Truncate).unwrap();
    // Empty WAL.
    for mode in [
        CheckpointMode::Passive,
        CheckpointMode::Full,
        CheckpointMode::Restart,
        CheckpointMode::Truncate,
    ] {
        assert_eq!(
            db.checkpoint(mode).unwrap(),
            CheckpointInfo {
                wal_frames: 0,
                backfilled: 0
            },
            "{mode:?}"
        );
    }
    let lsn = commit_keys(&db, 0, 300);
    let f = frame(lsn) as u32;
    assert!(f > 10);
    let info = db.checkpoint(CheckpointMode::Passive).unwrap();
    assert_eq!(
        info,
        CheckpointInfo {
            wal_frames: f,
            backfilled: f
        }
    );
    // Nothing new: the same answer.
    assert_eq!(db.checkpoint(CheckpointMode::Passive).unwrap(), info);
    assert_eq!(db.checkpoint(CheckpointMode::Full).unwrap(), info);
    let s = db.stats();
    assert_eq!((s.wal_frames, s.wal_backfilled), (f as u64, f as u64));
    // A reader pins its snapshot; new frames past it are not backfilled.
    let r = db.begin_read().unwrap();
    let lsn2 = commit_keys(&db, 300, 300);
    // The WAL restarted (fully backfilled, and the reader is db-only).
    assert_eq!(seq(lsn2), seq(lsn) + 1);
    let f2 = frame(lsn2) as u32;
    let info = db.checkpoint(CheckpointMode::Passive).unwrap();
    assert_eq!(info.wal_frames, f2);
    assert_eq!(info.backfilled, 0, "a db-only reader blocks every backfill");
    drop(r);
    let r = db.begin_read().unwrap(); // reader at f2
    let lsn3 = commit_keys(&db, 600, 10);
    let f3 = frame(lsn3) as u32;
    let info = db.checkpoint(CheckpointMode::Passive).unwrap();
    assert_eq!(
        info,
        CheckpointInfo {
            wal_frames: f3,
            backfilled: f2
        }
    );
    drop(r);
    let info = db.checkpoint(CheckpointMode::Passive).unwrap();
    assert_eq!(
        info,
        CheckpointInfo {
            wal_frames: f3,
            backfilled: f3
        }
    );
    assert_eq!(db.stats().checkpoints, 2 + 4 + 3 + 1 + 2);
    check_keys(&db, 610);
}

#[test]
fn syncs_per_commit_and_checkpoint_follow_the_sync_mode() {
    let dir = tempfile::tempdir().unwrap();
    for (k, mode) in [SyncMode::Full, SyncMode::Normal, SyncMode::Off].into_iter().enumerate() {
        let db = Database::open(
            dir.path().join(format!("s{k}.db")),
            Options {
                sync: mode,
                autocheckpoint_frames: 0,
                ..Options::default()
            },
        )
        .unwrap();
        commit_keys(&db, 0, 10);
        let before = db.stats().fsyncs;
        for i in 0..5 {
            commit_keys(&db, 10 + i * 100, 100);
        }
        let per_commit = (db.stats().fsyncs - before) as f64 / 5.0;
        let want = if mode == SyncMode::Full { 1.0 } else { 0.0 };
        assert_eq!(per_commit, want, "{mode:?}: syncs per commit");
        let before = db.stats().fsyncs;
        db.checkpoint(CheckpointMode::Passive).unwrap();
        let ck = db.stats().fsyncs - before;
        if mode == SyncMode::Off {
            assert_eq!(ck, 0, "{mode:?}");
        } else {
            // The WAL before copying, the database file after.
            assert!(ck >= 2, "{mode:?}: {ck} syncs in a checkpoint");
        }
        // An empty transaction writes and syncs nothing.
        let before = db.stats();
        let w = db.begin_write().unwrap();
        assert_eq!(w.commit().unwrap(), None);
        assert_eq!(db.stats().fsyncs, before.fsyncs);
        assert_eq!(db.stats().bytes_written, before.bytes_written);
        assert_eq!(db.stats().commits, before.commits);
    }
}

/// The autocheckpoint runs with a reader pinning an old snapshot: it copies
/// what it can, the commit succeeds, and the WAL keeps growing until the
/// reader goes.
#[test]
fn autocheckpoint_with_a_pinned_reader() {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(
        dir.path().join("p.db"),
        Options {
            autocheckpoint_frames: 20,
            ..opts()
        },
    )
    .unwrap();
    commit_keys(&db, 0, 100);
    let r = db.begin_read().unwrap();
    let pinned = db.stats().wal_frames;
    for k in 0..10 {
        commit_keys(&db, 100 + k * 100, 100);
    }
    let s = db.stats();
    assert!(s.checkpoints >= 1);
    assert!(s.wal_backfilled <= pinned, "{s:?}, reader at {pinned}");
    assert!(s.wal_frames > pinned);
    assert_eq!(r.default_table().unwrap().len().unwrap(), 100);
    drop(r);
    commit_keys(&db, 1100, 1);
    let s = db.stats();
    // With the reader gone, the next write restarts the large WAL (its
    // commit then starts from frame 1), or its automatic checkpoint copies
    // everything.
    assert!(s.wal_backfilled == s.wal_frames || s.wal_frames < 20, "{s:?}");
    check_keys(&db, 1101);
}

/// The WAL can hold `max_wal_frames` frames (at least 64 more than the
/// WAL on disk at open): with a reader pinning it, a transaction that needs
/// more fails with `Full` (at `begin_write`, past three quarters of the
/// limit, or mid-transaction at the limit) and changes nothing; once a
/// checkpoint restarts the WAL, it fits.
#[test]
fn wal_full_is_an_error_not_a_corruption() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("full.db");
    let o = Options {
        page_size: 512,
        cache_pages: 8,
        max_wal_frames: 1024,
        ..opts()
    };
    let db = Database::open(&p, o.clone()).unwrap();
    commit_keys(&db, 0, 10);
    // A reader pins the WAL so that no checkpoint can restart it.
    let r = db.begin_read().unwrap();
    let big = vec![0x5Au8; 200 * 1024]; // ~420 overflow pages of 512 bytes
    let mut full_at = None;
    for i in 0..10 {
        let res = db
            .begin_write()
            .and_then(|w| w.put(format!("big{i}").as_bytes(), &big).and_then(|()| w.commit().map(|_| ())));
        match res {
            Ok(()) => {}
            Err(walden::Error::Full(_)) => {
                full_at = Some(i);
                break;
            }
            Err(e) => panic!("unexpected error {e:?}"),
        }
    }
    let full_at = full_at.expect("the WAL filled up");
    assert!(full_at >= 1, "at least one large commit fits in 1,024+ frames");
    assert_eq!(r.default_table().unwrap().len().unwrap(), 10, "the pinned reader is unaffected");
    drop(r);
    // Nothing of the failed transaction is visible; the database works.
    let rr = db.begin_read().unwrap();
    assert_eq!(rr.get(format!("big{full_at}").as_bytes()).unwrap(), None);
    for i in 0..full_at {
        assert_eq!(rr.get(format!("big{i}").as_bytes()).unwrap().map(|v| v.len()), Some(big.len()));
    }
    drop(rr);
    assert!(db.verify().unwrap().is_ok());
    let info = db.checkpoint(CheckpointMode::Restart).unwrap();
    assert_eq!(
        info,
        CheckpointInfo {
            wal_frames: 0,
            backfilled: 0
        }
    );
    let w = db.begin_write().unwrap();
    w.put(format!("big{full_at}").as_bytes(), &big).unwrap();
    w.commit().unwrap();
    drop(db);
    let db = Database::open(&p, o).unwrap();
    let r = db.begin_read().unwrap();
    assert_eq!(r.get(format!("big{full_at}").as_bytes()).unwrap().map(|v| v.len()), Some(big.len()));
    assert_eq!(r.default_table().unwrap().len().unwrap(), 10 + full_at as u64 + 1);
    drop(r);
    assert!(db.verify().unwrap().is_ok());
}
