//! The archive across a WAL restart that no wal-index remembers (issue
//! 16, "no silent gap"): the archive slot that held the WAL lives in the
//! `-shm` and dies with the last process; page 1's record of where the
//! previous WAL generation ended (`Database::prior_generation`) is what a
//! new archiver then proves continuity with. And the other side: where
//! the record cannot prove it, the gap is still reported.
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use walden_archive::{restore, Archiver, ArchiverOptions, Catalog, Error, Store, Target};
use walden_core::format::lsn;
use walden_std::{CheckpointMode, Database, Options};

type Model = BTreeMap<Vec<u8>, Vec<u8>>;

fn db_opts() -> Options {
    Options {
        page_size: 1024,
        // No automatic checkpoint: the test restarts the WAL itself.
        autocheckpoint_frames: 0,
        max_wal_bytes: 0,
        busy_timeout: Duration::from_millis(20),
        ..Options::default()
    }
}

fn arch_opts() -> ArchiverOptions {
    ArchiverOptions {
        max_segment_bytes: 8 << 10,
        ..ArchiverOptions::default()
    }
}

/// Commit `i`: a key of seven, a value of its own (now and then larger
/// than a page); returns its LSN and records the state after it.
fn commit(db: &Database, model: &mut Model, i: u64, states: &mut Vec<(u64, Model)>) -> u64 {
    let k = format!("k{}", i % 7).into_bytes();
    let len = if i.is_multiple_of(5) { 1500 } else { 10 + (i % 40) as usize };
    let v: Vec<u8> = (0..len).map(|j| (i as usize * 7 + j) as u8).collect();
    let w = db.begin_write().unwrap();
    w.put(&k, &v).unwrap();
    model.insert(k, v);
    let l = w.commit().unwrap().unwrap();
    states.push((l, model.clone()));
    l
}

/// Starts an archiver on `db`, commits transactions `0..n` and ships them
/// all; returns the archiver.
fn archive_first(db: &Database, store: &Store, n: u64, model: &mut Model, states: &mut Vec<(u64, Model)>) -> Archiver {
    let (mut a, _) = Archiver::start(db, store.clone(), arch_opts()).unwrap();
    for i in 0..n {
        commit(db, model, i, states);
    }
    a.ship().unwrap();
    a
}

fn contents(path: &Path) -> Model {
    let db = Database::open(path, Options::default()).unwrap();
    assert!(db.verify().unwrap().is_ok());
    let r = db.begin_read().unwrap();
    r.range(..).unwrap().map(|kv| kv.unwrap()).collect()
}

/// Restores every state in `states` and compares it.
fn restore_each(store: &Store, dir: &Path, states: &[(u64, Model)]) {
    for (i, (l, m)) in states.iter().enumerate() {
        let p = dir.join(format!("at{i}.db"));
        let info = restore(store, &p, None, Target::Lsn(*l)).unwrap_or_else(|e| panic!("restore to {l:016x}: {e}"));
        assert_eq!(info.lsn, *l, "the restore stops exactly at the commit");
        assert_eq!(&contents(&p), m, "the state at {l:016x}");
    }
}

/// All of generation G archived, the WAL restarted under the slot (a
/// `Restart` or a `Truncate` checkpoint), commits in G+1 not yet shipped,
/// then every handle closed (the `-shm`, and the slot in it, emptied, as
/// when every process dies): a new archiver resumes at frame 0 of G+1
/// with no gap and no snapshot, and every commit restores exactly.
fn resume_after_the_slot_is_lost(mode: CheckpointMode) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::from_url("memory:///a").unwrap();
    let path = dir.path().join("src.db");
    let (mut model, mut states) = (Model::new(), Vec::new());
    {
        let db = Database::open(&path, db_opts()).unwrap();
        let a = archive_first(&db, &store, 25, &mut model, &mut states);
        let end = a.archived_lsn();
        let g = db.wal_header().unwrap().ckpt_seq;
        assert_eq!(end >> 32, g as u64);
        // The slot has it all: the restart may come.
        db.checkpoint(mode).unwrap();
        let h = db.wal_header().unwrap();
        assert_eq!((h.ckpt_seq, h.mx_frame), (g + 1, 0));
        // Before the first commit of G+1 nothing is recorded for it.
        assert_eq!(db.prior_generation().unwrap().1, None);
        for i in 25..40 {
            commit(&db, &mut model, i, &mut states);
        }
        // The first commit of G+1 recorded where G ended, and every later
        // one kept it.
        let (snap, prior) = db.prior_generation().unwrap();
        let p = prior.expect("the record of generation G");
        assert_eq!(snap.ckpt_seq, g + 1);
        assert_eq!(p.ckpt_seq, g);
        assert_eq!(lsn(p.ckpt_seq, p.last_frame), end, "G ended where the archive ends");
        drop(a);
        assert!(db.archive_slot().unwrap().is_some(), "the slot outlives its archiver");
    }
    let db = Database::open(&path, db_opts()).unwrap();
    assert_eq!(db.archive_slot().unwrap(), None, "the slot died with the -shm");
    let (snap, prior) = db.prior_generation().unwrap();
    assert_eq!(prior.map(|p| p.ckpt_seq + 1), Some(snap.ckpt_seq), "the record is on disk");
    let (mut a, rep) = Archiver::start(&db, store.clone(), arch_opts()).unwrap();
    assert_eq!(rep.gap, None, "a false gap");
    assert_eq!(rep.snapshot, None, "a resumed archive needs no snapshot");
    assert_eq!(rep.commits, 15, "every commit of G+1 shipped");
    // Archiving goes on, across more restarts.
    for i in 40..50 {
        commit(&db, &mut model, i, &mut states);
        if i == 44 {
            a.ship().unwrap();
            db.checkpoint(CheckpointMode::Restart).unwrap();
        }
    }
    a.ship().unwrap();
    let cat = Catalog::read(&store).unwrap();
    assert_eq!(cat.timelines.len(), 1);
    assert_eq!(cat.timelines[&1].snapshots.len(), 1, "only the first snapshot");
    assert!(cat.timelines[&1].notes.is_empty(), "no gap noted");
    restore_each(&store, dir.path(), &states);
    let p = dir.path().join("latest.db");
    restore(&store, &p, None, Target::Latest).unwrap();
    assert_eq!(contents(&p), model);
}

#[test]
fn a_restart_under_the_slot_survives_every_process_closing() {
    resume_after_the_slot_is_lost(CheckpointMode::Restart);
}

#[test]
fn a_truncate_under_the_slot_survives_every_process_closing() {
    resume_after_the_slot_is_lost(CheckpointMode::Truncate);
}

/// The archive ends inside generation G; with no archiver (and no slot),
/// G goes on and the WAL restarts: page 1 records where G really ended,
/// past the archive's end, so the gap is reported and never crossed.
#[test]
fn a_restart_past_the_archive_end_is_still_a_gap() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::from_url("memory:///a").unwrap();
    let path = dir.path().join("src.db");
    let (mut model, mut states) = (Model::new(), Vec::new());
    let end = {
        let db = Database::open(&path, db_opts()).unwrap();
        archive_first(&db, &store, 10, &mut model, &mut states).archived_lsn()
    };
    let archived = states.len();
    let lost = {
        // No archiver: the slot died with the last handle.
        let db = Database::open(&path, db_opts()).unwrap();
        assert_eq!(db.archive_slot().unwrap(), None);
        let mut lost = 0;
        for i in 10..20 {
            lost = commit(&db, &mut model, i, &mut states);
        }
        assert_eq!(lost >> 32, end >> 32, "still generation G");
        db.checkpoint(CheckpointMode::Restart).unwrap();
        for i in 20..25 {
            commit(&db, &mut model, i, &mut states);
        }
        let p = db.prior_generation().unwrap().1.expect("the record");
        assert_eq!(lsn(p.ckpt_seq, p.last_frame), lost, "G ended past the archive's end");
        lost
    };
    let db = Database::open(&path, db_opts()).unwrap();
    let (_a, rep) = Archiver::start(&db, store.clone(), arch_opts()).unwrap();
    let gap = rep.gap.expect("the gap was not reported");
    assert!(gap.contains("gap"), "{gap}");
    assert!(rep.snapshot.is_some());
    let e = restore(&store, dir.path().join("in.db"), None, Target::Lsn(lost)).unwrap_err();
    assert!(matches!(e, Error::Unreachable(_)), "{e}");
    restore_each(&store, dir.path(), &states[..archived]);
    let p = dir.path().join("latest.db");
    restore(&store, &p, None, Target::Latest).unwrap();
    assert_eq!(contents(&p), model);
}

/// The remaining limit: every handle closed after a `Truncate` restart
/// under the slot but before the first commit of the new generation. The
/// restart is gone with the `-shm`, the WAL with the truncate, so the
/// first commit after recovery cannot know where the previous generation
/// ended: the record is unknown and the archiver reports a gap (a
/// conservative one: nothing is lost, and every archived commit still
/// restores).
#[test]
fn an_unknown_record_is_a_gap() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::from_url("memory:///a").unwrap();
    let path = dir.path().join("src.db");
    let (mut model, mut states) = (Model::new(), Vec::new());
    {
        let db = Database::open(&path, db_opts()).unwrap();
        let _a = archive_first(&db, &store, 10, &mut model, &mut states);
        db.checkpoint(CheckpointMode::Truncate).unwrap();
    }
    let archived = states.len();
    let db = Database::open(&path, db_opts()).unwrap();
    let first = commit(&db, &mut model, 10, &mut states);
    assert_eq!(first >> 32, (states[0].0 >> 32) + 1, "the next generation");
    assert_eq!(db.prior_generation().unwrap().1, None, "unknown after recovery");
    let (_a, rep) = Archiver::start(&db, store.clone(), arch_opts()).unwrap();
    assert!(rep.gap.expect("the gap was not reported").contains("gap"));
    restore_each(&store, dir.path(), &states[..archived]);
    let p = dir.path().join("latest.db");
    restore(&store, &p, None, Target::Latest).unwrap();
    assert_eq!(contents(&p), model);
}
