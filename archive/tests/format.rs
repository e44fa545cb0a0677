//! The object layouts of docs/FORMAT.md section 12, byte by byte, from
//! real objects of an archive.
use walden_archive::format::{keys, Segment, Snapshot, TimelineInfo};
use walden_archive::{Archiver, ArchiverOptions, Catalog, Store};
use walden_core::checksum::crc32c;
use walden_std::{Database, Options};

fn u32_at(b: &[u8], o: usize) -> u32 {
    u32::from_le_bytes(b[o..o + 4].try_into().unwrap())
}
fn u64_at(b: &[u8], o: usize) -> u64 {
    u64::from_le_bytes(b[o..o + 8].try_into().unwrap())
}

#[test]
fn objects_are_laid_out_as_documented() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::from_url("memory:///doc").unwrap();
    let db = Database::open(
        dir.path().join("d.db"),
        Options {
            page_size: 512,
            ..Options::default()
        },
    )
    .unwrap();
    let (mut a, _) = Archiver::start(&db, store.clone(), ArchiverOptions::default()).unwrap();
    let w = db.begin_write().unwrap();
    w.put(b"k", b"v").unwrap();
    let l1 = w.commit().unwrap().unwrap();
    let w = db.begin_write().unwrap();
    w.put(b"k2", b"v2").unwrap();
    let l2 = w.commit().unwrap().unwrap();
    a.ship().unwrap();
    let cat = Catalog::read(&store).unwrap();
    let t = &cat.timelines[&1];
    let db_id = db.begin_read().unwrap().header().unwrap().db_id;

    // 12.2 segment.
    let (f, l) = t.segments[0];
    assert_eq!(l, l2);
    let key = keys::segment(1, f, l);
    assert_eq!(key, format!("00000001/wal/{f:016x}-{l:016x}"));
    let b = store.get(&key).unwrap().unwrap();
    assert_eq!(&b[0..8], b"WALDSEG1");
    assert_eq!(u32_at(&b, 8), 1);
    assert_eq!(u32_at(&b, 12), db_id);
    assert_eq!(u32_at(&b, 16), 512);
    assert_eq!(u32_at(&b, 20), 1);
    assert_eq!(u64_at(&b, 24), t.snapshots[0], "previous LSN: the snapshot the segment continues");
    assert_eq!((u64_at(&b, 32), u64_at(&b, 40)), (f, l));
    assert_eq!(u32_at(&b, 48), (l >> 32) as u32);
    let (n, c) = (u32_at(&b, 64) as usize, u32_at(&b, 68) as usize);
    assert_eq!(c, 2);
    assert_eq!(b.len(), 72 + 16 * c + (24 + 512) * n + 4);
    assert_eq!(u32_at(&b, 72), l1 as u32, "first commit frame");
    assert_eq!(u32_at(&b, 72 + 16), l2 as u32, "second commit frame");
    let frames = 72 + 16 * c;
    assert_eq!(u32_at(&b, frames + 8), u32_at(&b, 52), "frame salt 1");
    assert_eq!(u32_at(&b, b.len() - 4), crc32c(&[&b[..b.len() - 4]]));
    let seg = Segment::decode(&key, &b).unwrap();
    assert_eq!(seg.encode(), b.to_vec());

    // 12.3 snapshot.
    let at = t.snapshots[0];
    let key = keys::snapshot(1, at);
    let b = store.get(&key).unwrap().unwrap();
    assert_eq!(&b[0..8], b"WALDSNP1");
    assert_eq!(u64_at(&b, 24), at);
    assert_eq!(u32_at(&b, 32), (at >> 32) as u32);
    let p = u32_at(&b, 48) as usize;
    assert_eq!(b.len(), 64 + 512 * p + 4);
    assert_eq!(&b[64..72], &walden_core::format::DB_MAGIC);
    assert_eq!(u32_at(&b, b.len() - 4), crc32c(&[&b[..b.len() - 4]]));
    assert_eq!(Snapshot::decode(&key, &b).unwrap().encode(), b.to_vec());

    // 12.4 timeline record.
    let b = store.get(&keys::timeline(1)).unwrap().unwrap();
    assert_eq!(b.len(), 44);
    assert_eq!(&b[0..8], b"WALDTLN1");
    assert_eq!((u32_at(&b, 12), u32_at(&b, 16), u32_at(&b, 20), u64_at(&b, 24)), (db_id, 1, 0, 0));
    assert_eq!(u32_at(&b, 40), crc32c(&[&b[..40]]));
    assert_eq!(TimelineInfo::decode("t", &b).unwrap().encode(), b.to_vec());
}
