//! Checkpoint starvation: readers that hold old snapshots while the writer
//! commits. The WAL must not grow silently to its limit: past three
//! quarters of it, `begin_write` checkpoints, waits up to the busy timeout,
//! then returns `Full`; the stats show the WAL size and the oldest reader.
use std::time::Duration;
use walden_std::{Database, Error, Options};

#[test]
fn an_old_reader_bounds_the_wal_with_a_clear_error_then_the_wal_recovers() {
    let dir = tempfile::tempdir().unwrap();
    let opts = Options {
        page_size: 512,
        max_wal_frames: 64,
        autocheckpoint_frames: 16,
        busy_timeout: Duration::from_millis(20),
        ..Options::default()
    };
    let db = Database::open(dir.path().join("t.db"), opts).unwrap();
    let w = db.begin_write().unwrap();
    w.put(b"k0", b"v").unwrap();
    w.commit().unwrap();
    let old = db.begin_read().unwrap();
    let mut refused = None;
    for i in 1..1000u32 {
        let w = match db.begin_write() {
            Ok(w) => w,
            Err(e) => {
                refused = Some((i, e));
                break;
            }
        };
        w.put(format!("k{i}").as_bytes(), [1u8; 40]).unwrap();
        w.commit().unwrap();
        let s = db.stats();
        assert!(s.wal_frames <= s.wal_limit, "{s:?}");
    }
    let (i, e) = refused.expect("the writer is stopped before the WAL limit");
    assert!(matches!(e, Error::Full(_)), "{e}");
    let s = db.stats();
    assert_eq!(s.wal_limit, 64);
    assert!(s.wal_frames >= 48 && s.wal_frames <= 64, "{s:?}");
    assert_eq!(s.active_readers, 1);
    assert!(s.oldest_reader_age.is_some_and(|a| a > Duration::ZERO));
    // The old reader still sees its snapshot.
    assert_eq!(old.get(b"k0").unwrap().as_deref(), Some(&b"v"[..]));
    assert_eq!(old.get(format!("k{}", i - 1).as_bytes()).unwrap(), None);
    drop(old);
    // Once it is gone the writer proceeds and the WAL restarts.
    let w = db.begin_write().unwrap();
    w.put(b"after", b"1").unwrap();
    w.commit().unwrap();
    let s = db.stats();
    assert!(s.wal_frames < 16, "{s:?}");
    assert_eq!(s.active_readers, 0);
    assert_eq!(s.oldest_reader_age, None);
    let r = db.begin_read().unwrap();
    assert_eq!(r.default_table().unwrap().len().unwrap(), i as u64 + 1);
}
