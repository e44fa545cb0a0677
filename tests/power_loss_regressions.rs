//! Regression tests for the bugs the power-loss suite found
//! (docs/RELIABILITY.md lists them), each reduced to the operation that
//! went wrong, on the simulated disk.

use walden_core::{CheckpointMode, FileKind, SyncMode};
use walden_testkit::exec::recover;
use walden_testkit::sim::{Crash, SimDisk, SimOp};
use walden_testkit::workload::{catalogue, empty_state, open, options, value, Map, State, Workload};

fn plain() -> Workload {
    let mut w = catalogue().into_iter().find(|w| w.name == "single_puts").expect("workload");
    w.steps.clear();
    w
}

fn put_commit(c: &mut walden_testkit::workload::Conn, key: &[u8]) {
    c.begin_write().expect("begin");
    let t = c.default_table().expect("table");
    c.put(t, key, &value(key, 40, 0)).expect("put");
    c.commit().expect("commit");
}

fn state_with(keys: &[&[u8]]) -> State {
    let m: Map = keys.iter().map(|k| (k.to_vec(), value(k, 40, 0))).collect();
    State::from([(Vec::new(), m)])
}

/// A power cut while a new database was being created left a torn header
/// page, and every later open failed ("bad magic"). Creation is now the
/// first commit, into the WAL: a crash at any of its writes and syncs
/// leaves a database that opens (created again if the commit was lost).
#[test]
fn a_power_cut_during_creation_leaves_a_database_that_opens() {
    let w = plain();
    for op in 0..12u64 {
        for seed in 0..20u64 {
            let d = SimDisk::new(seed);
            d.crash_at(Some(op));
            let created = open(&d, w.cache_pages, options(&w, SyncMode::Full)).is_ok();
            d.crash(Crash::PowerLoss { sector: 512 });
            let s = recover(&d, &w, SyncMode::Full).unwrap_or_else(|e| panic!("crash at op {op}, seed {seed}: {e}"));
            assert_eq!(s, empty_state(), "crash at op {op}, seed {seed}");
            if created {
                break;
            }
        }
    }
}

/// A checkpoint's write of page 1 into the database file, torn by a power
/// cut, failed the next open although the WAL held the page. Recovery now
/// takes the header from the WAL's newest frame of page 1.
#[test]
fn a_torn_page_1_in_the_database_file_is_recovered_from_the_wal() {
    let w = plain();
    let d = SimDisk::new(1);
    let mut c = open(&d, w.cache_pages, options(&w, SyncMode::Full)).expect("open");
    put_commit(&mut c, b"a");
    d.record(true);
    c.checkpoint(CheckpointMode::Passive).expect("checkpoint");
    let log = d.take_log();
    drop(c);
    let page1 = log
        .iter()
        .position(|op| {
            matches!(
                op,
                SimOp::Write {
                    file: FileKind::Database,
                    offset: 0,
                    ..
                }
            )
        })
        .expect("the checkpoint writes page 1");
    // Rebuild the disk just before that write, then tear it in every way.
    for seed in 0..40u64 {
        let d2 = SimDisk::new(1);
        let mut c = open(&d2, w.cache_pages, options(&w, SyncMode::Full)).expect("open");
        put_commit(&mut c, b"a");
        drop(c);
        let base = d2.fork(seed);
        for op in &log[..page1] {
            base.apply(op);
        }
        base.begin(&log[page1]);
        base.crash(Crash::PowerLoss { sector: 512 });
        assert_eq!(recover(&base, &w, SyncMode::Full), Ok(state_with(&[b"a"])), "seed {seed}");
    }
}

/// After a WAL restart, the new header went out with the new frames and no
/// sync between: a power cut could keep frames and lose the header, and
/// recovery replayed the old generation over a newer database file. The
/// header is now synced before the first frame of a generation.
#[test]
fn a_new_wal_header_is_synced_before_the_first_frame() {
    let w = plain();
    for sync in [SyncMode::Full, SyncMode::Normal] {
        let d = SimDisk::new(2);
        let mut c = open(&d, w.cache_pages, options(&w, sync)).expect("open");
        put_commit(&mut c, b"a");
        c.checkpoint(CheckpointMode::Full).expect("checkpoint");
        d.record(true);
        put_commit(&mut c, b"b"); // restarts the WAL
        let log = d.take_log();
        let hdr = log
            .iter()
            .position(|op| {
                matches!(
                    op,
                    SimOp::Write {
                        file: FileKind::Wal,
                        offset: 0,
                        ..
                    }
                )
            })
            .expect("a new WAL header");
        assert_eq!(log[hdr + 1], SimOp::Sync { file: FileKind::Wal }, "{sync:?}: {log:?}");
        assert!(log[hdr + 2..]
            .iter()
            .any(|op| matches!(op, SimOp::Write { file: FileKind::Wal, .. })));
    }
}

/// The Truncate checkpoint rewrote page 1 of the database file in place
/// (to record the WAL generation) with no copy anywhere to recover a torn
/// write from. It now writes the database file only by backfilling frames,
/// and LSNs still never go back across a truncate and a reopen.
#[test]
fn truncate_writes_the_database_file_only_by_backfilling_and_lsns_grow() {
    let w = plain();
    let d = SimDisk::new(3);
    let mut c = open(&d, w.cache_pages, options(&w, SyncMode::Full)).expect("open");
    let mut last = 0;
    for round in 0..4u8 {
        for i in 0..3u8 {
            c.begin_write().expect("begin");
            let t = c.default_table().expect("table");
            c.put(t, &[round, i], b"v").expect("put");
            let lsn = c.commit().expect("commit").expect("an LSN");
            assert!(lsn > last, "LSN {lsn:#x} after {last:#x}");
            last = lsn;
        }
        d.record(true);
        c.checkpoint(CheckpointMode::Truncate).expect("truncate");
        let log = d.take_log();
        d.record(false);
        // Every database write comes after the WAL sync that starts the
        // backfill, and the WAL is truncated only after the database sync.
        let db_sync = log
            .iter()
            .position(|op| *op == SimOp::Sync { file: FileKind::Database })
            .expect("db sync");
        let trunc = log
            .iter()
            .position(|op| {
                matches!(
                    op,
                    SimOp::SetLen {
                        file: FileKind::Wal,
                        len: 0
                    }
                )
            })
            .expect("truncate");
        assert!(db_sync < trunc, "{log:?}");
        assert!(
            log[db_sync..].iter().all(|op| !matches!(
                op,
                SimOp::Write {
                    file: FileKind::Database,
                    ..
                }
            )),
            "{log:?}"
        );
        drop(c);
        c = open(&d, w.cache_pages, options(&w, SyncMode::Full)).expect("reopen");
    }
}

/// A database that lives only in its WAL (a new one, before its first
/// checkpoint) was silently replaced by a new, empty one when the opener's
/// cache memory was sized for smaller pages than the WAL's: recovery
/// ignored the WAL. The std backend now takes the page size from the WAL
/// header, and the core refuses (`InvalidArgument`) instead of ignoring.
#[test]
fn a_database_only_in_its_wal_is_never_replaced() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = dir.path().join("w.db");
    {
        let db = walden::Database::open(
            &p,
            walden::Options {
                page_size: 4096,
                ..walden::Options::default()
            },
        )
        .expect("create");
        let w = db.begin_write().expect("begin");
        w.table("t").expect("table").put(b"k", b"v").expect("put");
        w.commit().expect("commit");
    }
    assert_eq!(
        std::fs::metadata(&p).expect("db file").len(),
        0,
        "the database is still all in the WAL"
    );
    let db = walden::Database::open(
        &p,
        walden::Options {
            page_size: 512,
            cache_pages: 4,
            ..walden::Options::default()
        },
    )
    .expect("reopen");
    assert_eq!(db.page_size(), 4096);
    let r = db.begin_read().expect("read");
    assert_eq!(r.table("t").expect("table t").get(b"k").expect("get"), Some(b"v".to_vec()));
    drop(r);
    drop(db);

    // The core, given too little cache memory for the WAL's pages, refuses.
    let d = SimDisk::from_images(&[], &std::fs::read(dir.path().join("w.db-wal")).expect("wal"), 1);
    let w = plain();
    let opts = walden_core::Options {
        page_size: 512,
        ..options(&w, SyncMode::Full)
    };
    match open(&d, 4, opts) {
        Err(walden_core::Error::InvalidArgument(_)) => {}
        r => panic!("{:?}", r.map(|_| ())),
    }
    assert!(d.contents(FileKind::Database).is_empty(), "nothing was created");
}

/// A WAL header with a valid checksum but an impossible page size (0, 2)
/// beside an empty database file made recovery panic (subtract overflow in
/// the page check). Such a header is now no header.
#[test]
fn a_crafted_wal_header_with_an_impossible_page_size_is_ignored() {
    use walden_core::format::{WalHeader, WAL_HEADER_LEN};
    let w = plain();
    for ps in [0u32, 2, 3, 511, 1000, 1 << 17] {
        let mut hb = [0u8; WAL_HEADER_LEN];
        WalHeader {
            page_size: ps,
            ckpt_seq: 1,
            salt1: 2,
            salt2: 3,
            db_id: 4,
        }
        .encode(&mut hb);
        let mut wal = hb.to_vec();
        wal.extend(std::iter::repeat_n(0xEEu8, 4096));
        let d = SimDisk::from_images(&[], &wal, 1);
        // A new database is created (the WAL held none); no panic.
        assert_eq!(recover(&d, &w, SyncMode::Full), Ok(empty_state()), "page size {ps}");
    }
}
