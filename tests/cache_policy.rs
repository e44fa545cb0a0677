//! The page cache's eviction policy (CLOCK over clean and dirty pages,
//! `core/src/pager/cache.rs`), observed through the reads it causes: a
//! transaction that dirties more pages than the cache holds spills the
//! dirty pages nobody uses rather than evicting the branch pages every
//! operation passes.

use walden_core::{CheckpointMode, Options, SyncMode};
use walden_testkit::sim::{SimDisk, SimRng};
use walden_testkit::workload::{open, MAX_FRAMES, PAGE_SIZE, READ_MARKS};

fn key(i: u32) -> [u8; 12] {
    let mut k = [0u8; 12];
    k[..4].copy_from_slice(&i.wrapping_mul(0x9E37_79B1).to_be_bytes());
    k[4..8].copy_from_slice(&i.to_be_bytes());
    k
}

/// 6,000 keys (about 450 leaves of 512 bytes under about 20 branch pages)
/// and a 64-page cache; then 2,000 random deletes in one transaction. Each
/// delete reads its leaf (the cache holds few of them) and, when the
/// branch pages stay cached, little else. A policy that evicts clean pages
/// before dirty ones evicts the branch pages once dirty leaves fill the
/// cache, and rereads the path on every delete (measured: 5.5 reads a
/// delete; with CLOCK over both lists 0.9).
#[test]
fn a_large_transaction_keeps_the_branch_pages_cached() {
    let opts = Options {
        page_size: PAGE_SIZE,
        sync: SyncMode::Off,
        autocheckpoint_frames: 0,
        max_wal_frames: MAX_FRAMES,
        read_marks: READ_MARKS,
        ..Options::default()
    };
    let disk = SimDisk::new(1);
    let mut c = open(&disk, 64, opts).unwrap();
    let n = 6_000u32;
    c.begin_write().unwrap();
    let t = c.default_table().unwrap();
    for i in 0..n {
        c.put(t, &key(i), &i.to_le_bytes()).unwrap();
    }
    c.commit().unwrap();
    c.checkpoint(CheckpointMode::Truncate).unwrap();

    let mut rng = SimRng(7);
    let mut gone = vec![false; n as usize];
    let (calls0, ops0) = (disk.calls(), disk.ops());
    c.begin_write().unwrap();
    let t = c.default_table().unwrap();
    let mut deletes = 0u64;
    while deletes < 2_000 {
        let i = rng.below(u64::from(n)) as u32;
        if !gone[i as usize] {
            assert!(c.delete(t, &key(i)).unwrap());
            gone[i as usize] = true;
            deletes += 1;
        }
    }
    // Reads: every call but the writes and syncs (and the few size calls).
    let reads = (disk.calls() - calls0) - (disk.ops() - ops0);
    c.commit().unwrap();
    let per_delete = reads as f64 / deletes as f64;
    println!("{reads} reads for {deletes} deletes: {per_delete:.2} a delete");
    assert!(per_delete < 2.0, "{per_delete:.2} reads a delete: the branch pages were evicted");

    // The deletes took: every key left reads back, none deleted does.
    c.begin_read().unwrap();
    let t = c.default_table().unwrap();
    for i in (0..n).step_by(7) {
        let mut buf = [0u8; 4];
        let got = c.get(t, &key(i), &mut buf).unwrap();
        assert_eq!(got.is_some(), !gone[i as usize], "key {i}");
    }
    c.end_read();
}
