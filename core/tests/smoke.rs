//! Basic end-to-end behaviour of the core on RAM storage.
use std::cell::RefCell;
use walden_core::sync::AtomicU32;
use walden_core::*;

type Ram = RamStorage<Vec<u8>>;

fn region(frames: u32) -> Box<[AtomicU32]> {
    (0..region_words(frames, 8)).map(|_| AtomicU32::new(0)).collect()
}

fn conn<'a>(
    db: &'a RefCell<Ram>,
    wal: &'a RefCell<Ram>,
    reg: &'a [AtomicU32],
    opts: Options,
) -> Connection<SharedStorage<'a, Ram>, &'a [AtomicU32], Vec<u8>> {
    Connection::open(
        SharedStorage(db),
        SharedStorage(wal),
        reg,
        vec![0u8; cache_mem_len(opts.page_size, 16)],
        opts,
    )
    .unwrap()
}

#[test]
fn put_get_commit_reopen() {
    let db = RefCell::new(RamStorage::new(vec![0u8; 8 << 20]));
    let wal = RefCell::new(RamStorage::new(vec![0u8; 8 << 20]));
    let reg = region(4096);
    let opts = Options {
        autocheckpoint_frames: 0,
        ..Options::default()
    };
    {
        let mut c = conn(&db, &wal, &reg, opts);
        c.begin_write().unwrap();
        let t = c.default_table().unwrap();
        for i in 0..2000u32 {
            let k = format!("key{:06}", (i * 7919) % 2000);
            c.put(t, k.as_bytes(), format!("value-{i}").as_bytes()).unwrap();
        }
        c.commit().unwrap();
        c.begin_read().unwrap();
        let t = c.default_table().unwrap();
        let mut buf = [0u8; 64];
        let n = c.get(t, b"key000007", &mut buf).unwrap().unwrap();
        assert!(buf[..n].starts_with(b"value-"));
        let mut cur = Cursor::new();
        let mut count = 0;
        let mut prev: Vec<u8> = vec![];
        let mut ok = c.cursor_first(&mut cur, t).unwrap();
        while ok {
            let k = cur.key().unwrap().to_vec();
            assert!(k > prev);
            prev = k;
            count += 1;
            ok = c.cursor_next(&mut cur).unwrap();
        }
        assert_eq!(count, 2000);
        c.end_read();
    }
    // Reopen with a fresh region: recovery from the WAL.
    let reg2 = region(4096);
    let mut c = conn(&db, &wal, &reg2, opts);
    assert!(c.stats().recovered_frames > 0);
    c.begin_read().unwrap();
    let t = c.default_table().unwrap();
    let mut buf = [0u8; 64];
    for i in 0..2000u32 {
        let k = format!("key{:06}", i);
        assert!(c.get(t, k.as_bytes(), &mut buf).unwrap().is_some(), "{k}");
    }
    c.end_read();
    // Checkpoint truncate, reopen again.
    assert_eq!(
        c.checkpoint(CheckpointMode::Truncate).unwrap(),
        CheckpointInfo {
            wal_frames: 0,
            backfilled: 0
        }
    );
    assert_eq!(wal.borrow().contents().len(), 0);
    drop(c);
    let reg3 = region(4096);
    let mut c = conn(&db, &wal, &reg3, opts);
    c.begin_write().unwrap();
    let t = c.default_table().unwrap();
    for i in 0..2000u32 {
        let k = format!("key{:06}", i);
        assert!(c.delete(t, k.as_bytes()).unwrap(), "{k}");
    }
    let mut cur = Cursor::new();
    assert!(!c.cursor_first(&mut cur, t).unwrap());
    c.commit().unwrap();
    let h = {
        c.begin_read().unwrap();
        let h = c.header().unwrap();
        c.end_read();
        h
    };
    assert!(h.freelist_count > 0, "{h:?}");
}

#[test]
fn snapshot_isolation_and_large_values() {
    let db = RefCell::new(RamStorage::new(vec![0u8; 16 << 20]));
    let wal = RefCell::new(RamStorage::new(vec![0u8; 16 << 20]));
    let reg = region(4096);
    let opts = Options {
        autocheckpoint_frames: 0,
        ..Options::default()
    };
    let mut w = conn(&db, &wal, &reg, opts);
    let mut r = conn(&db, &wal, &reg, opts);
    w.begin_write().unwrap();
    let t = w.create_table(b"big").unwrap();
    let big: Vec<u8> = (0..200_000u32).map(|i| (i * 31 % 251) as u8).collect();
    w.put(t, b"v", &big).unwrap();
    w.commit().unwrap();
    r.begin_read().unwrap();
    w.begin_write().unwrap();
    let t = w.table(b"big").unwrap().unwrap();
    w.put(t, b"v", b"small").unwrap();
    w.commit().unwrap();
    w.checkpoint(CheckpointMode::Passive).unwrap();
    let t = r.table(b"big").unwrap().unwrap();
    let mut out = vec![0u8; 300_000];
    let n = r.get(t, b"v", &mut out).unwrap().unwrap();
    assert_eq!(&out[..n], &big[..]);
    r.end_read();
    r.begin_read().unwrap();
    let t = r.table(b"big").unwrap().unwrap();
    let n = r.get(t, b"v", &mut out).unwrap().unwrap();
    assert_eq!(&out[..n], b"small");
    r.end_read();
    // Full checkpoint now succeeds.
    let info = w.checkpoint(CheckpointMode::Full).unwrap();
    assert_eq!(info.wal_frames, info.backfilled);
}

/// Checkpoint budgets follow the feature `checkpoint-budgets`: with it a
/// connection opens with a page or time budget; without it (a firmware's
/// build, `cargo test -p walden-core --no-default-features`) the open fails
/// with `InvalidArgument` rather than ignoring the option.
#[test]
fn checkpoint_budgets_follow_their_feature() {
    for opts in [
        Options {
            checkpoint_budget_pages: 4,
            ..Options::default()
        },
        Options {
            checkpoint_budget_ms: 5,
            ..Options::default()
        },
    ] {
        let db = RefCell::new(RamStorage::new(vec![0u8; 1 << 20]));
        let wal = RefCell::new(RamStorage::new(vec![0u8; 1 << 20]));
        let reg = region(opts.max_wal_frames);
        let r = Connection::open(
            SharedStorage(&db),
            SharedStorage(&wal),
            &reg[..],
            vec![0u8; cache_mem_len(opts.page_size, 16)],
            opts,
        );
        if cfg!(feature = "checkpoint-budgets") {
            assert!(r.is_ok(), "{:?}", r.err());
        } else {
            assert_eq!(
                r.err(),
                Some(Error::InvalidArgument("checkpoint budgets need the feature checkpoint-budgets"))
            );
        }
    }
}
