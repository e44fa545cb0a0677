//! The page cache across snapshots and large transactions, on RAM storage:
//! a connection keeps the pages other commits did not change and never
//! serves a stale one (after commits of the same WAL generation, after a
//! restart, after more commits than it has slots); a transaction far larger
//! than the cache writes one frame per page it changed.
use std::cell::RefCell;
use walden_core::sync::AtomicU32;
use walden_core::*;

type Ram = RamStorage<Vec<u8>>;
type Conn<'a> = Connection<SharedStorage<'a, Ram>, &'a [AtomicU32], Vec<u8>>;

const PS: u32 = 512;

fn region(frames: u32) -> Box<[AtomicU32]> {
    (0..region_words(frames, 8)).map(|_| AtomicU32::new(0)).collect()
}

fn conn<'a>(db: &'a RefCell<Ram>, wal: &'a RefCell<Ram>, reg: &'a [AtomicU32], pages: u32, frames: u32) -> Conn<'a> {
    let opts = Options {
        page_size: PS,
        autocheckpoint_frames: 0,
        max_wal_frames: frames,
        sync: SyncMode::Off,
        ..Options::default()
    };
    Connection::open(
        SharedStorage(db),
        SharedStorage(wal),
        reg,
        vec![0u8; cache_mem_len(PS, pages)],
        opts,
    )
    .unwrap()
}

fn files() -> (RefCell<Ram>, RefCell<Ram>) {
    (
        RefCell::new(RamStorage::new(vec![0u8; 32 << 20])),
        RefCell::new(RamStorage::new(vec![0u8; 64 << 20])),
    )
}

fn key(i: u32) -> [u8; 8] {
    (i.wrapping_mul(2_654_435_761) as u64 | ((i as u64) << 32)).to_be_bytes()
}

fn put_all(c: &mut Conn<'_>, keys: std::ops::Range<u32>, gen: u8) {
    c.begin_write().unwrap();
    let t = c.default_table().unwrap();
    for i in keys {
        c.put(t, &key(i), &[gen; 40]).unwrap();
    }
    c.commit().unwrap();
}

/// Reads every key of `keys` in a read transaction; asserts each value is
/// generation `gen`.
fn check(c: &mut Conn<'_>, keys: std::ops::Range<u32>, gen: u8, what: &str) {
    c.begin_read().unwrap();
    let t = c.default_table().unwrap();
    for i in keys {
        match c.lookup(t, &key(i)).unwrap() {
            Some(ValueRef::Inline(v)) => assert_eq!(v[0], gen, "{what}: key {i}"),
            other => panic!("{what}: key {i}: {other:?}"),
        }
    }
    c.end_read();
}

#[test]
fn a_reader_sees_every_commit_of_another_connection() {
    let (db, wal) = files();
    let reg = region(4096);
    let mut a = conn(&db, &wal, &reg, 64, 4096);
    put_all(&mut a, 0..2000, 1);
    // B's cache holds the whole tree (about 250 pages), so a page it kept
    // wrongly would be served.
    let mut b = conn(&db, &wal, &reg, 600, 4096);
    // B caches every page; A rewrites part of the keys.
    check(&mut b, 0..2000, 1, "first read");
    put_all(&mut a, 0..200, 2);
    check(&mut b, 0..200, 2, "after a commit of the same WAL generation");
    check(&mut b, 200..2000, 1, "pages the commit did not change");
    // A restart: everything copied, the WAL from frame 1 with new salts,
    // then a commit that changes some pages again.
    a.checkpoint(CheckpointMode::Restart).unwrap();
    put_all(&mut a, 100..300, 3);
    check(&mut b, 0..100, 2, "before the restart");
    check(&mut b, 100..300, 3, "after the restart");
    // More commits than B has cache slots: B starts over.
    for g in 0..700u32 {
        put_all(&mut a, (g % 80) * 10..(g % 80) * 10 + 10, 4);
    }
    check(&mut b, 0..800, 4, "after many commits");
    check(&mut b, 800..2000, 1, "the rest");
    // A's own cache, after all that, agrees.
    check(&mut a, 0..800, 4, "the writer's own cache");
}

#[test]
fn a_transaction_far_larger_than_the_cache_takes_one_frame_per_page() {
    let (db, wal) = files();
    let reg = region(8192);
    // 8 cache pages for a tree of hundreds: nearly every insert spills a
    // page, which before its frame was reused took a new frame each time
    // (20,000 inserts would not fit in 8,192 frames).
    let mut c = conn(&db, &wal, &reg, 8, 8192);
    put_all(&mut c, 0..20_000, 5);
    let (h, _) = c.wal_state().unwrap();
    c.begin_read().unwrap();
    let pages = c.header().unwrap().page_count;
    c.end_read();
    // The creation commit's three frames, then at most one frame per page
    // of the database, and one more for the commit frame.
    assert!(h.mx_frame <= pages + 4, "{} frames for {pages} pages", h.mx_frame);
    check(&mut c, 0..20_000, 5, "after the large transaction");
    let mut bitmap = vec![0u8; verify::bitmap_len(pages)];
    c.begin_read().unwrap();
    assert!(c.verify(&mut bitmap).unwrap().is_ok());
    c.end_read();
    // And recovery from that WAL gives the same database.
    drop(c);
    let reg2 = region(8192);
    let mut r = conn(&db, &wal, &reg2, 64, 8192);
    check(&mut r, 0..20_000, 5, "after recovery");
}
