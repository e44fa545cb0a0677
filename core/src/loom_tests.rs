//! loom models of the wal-index protocol (run with
//! `RUSTFLAGS="--cfg loom" cargo test -p walden-core --release --lib loom`).
//!
//! Each model drives the real protocol functions of the core
//! ([`acquire_snapshot`], [`begin_write_protocol`], [`backfill_protocol`],
//! [`try_restart`], the wal-index hash and header) on loom's atomics, with
//! the two files reduced to what the protocol protects: the WAL as an array
//! of page versions indexed by frame, the database file as an array of page
//! versions indexed by page. A reader checks that every page it reads has
//! the version its snapshot promises. The bound on preemptions is set per
//! model; run times are in docs/BENCHMARKS.md. Each model runs twice, the
//! second time with the main thread yielding right after it spawns, so
//! that loom also explores schedules that start with the spawned thread.
//! Each model depends on no process-global state, so the models run in
//! parallel test threads.
//!
//! | model | threads | asserts | bound |
//! |---|---|---|---|
//! | 1 `loom_reader_begin_vs_writer_commit` | a reader begins while a writer commits page 1 again | the snapshot is the old or the new one, never a torn header or half-published frame | 3 |
//! | 2 `loom_checkpoint_vs_reader` | a reader begins while the other thread commits page 2 and checkpoints | no frame the reader's snapshot lacks reaches the database file (the handshake of `wal::protocol`) | 2 |
//! | 3 `loom_wal_restart_vs_reader` | a reader begins while the other thread checkpoints, restarts the WAL and commits | no snapshot reads a frame of a generation it does not belong to (SQLite's WAL-reset class) | 1 |
//! | 4 `loom_hash_insert_vs_lookup` | inserts that collide in the hash and an abort's removal, against lookups | a lookup never sees a frame past its snapshot | 3 |
//! | 5 `loom_more_readers_than_slots` | two readers share one WAL slot while the main thread commits | no reader takes slot 0; each reads its snapshot's version | 1 |
//! | 6 `loom_writer_lock_handoff` | two writers retrying the write lock | never two writers inside; every commit published | 3 |
//! | 7 `loom_restart_refused_while_a_reader_holds_a_mark` | one (a direct check) | `try_restart` refuses while a WAL mark is shared | 1 |
//! | 8 `loom_dead_writer_torn_header_repaired` | a writer died between its two header copies, leaving a spilled frame; a reader begins while a new writer begins and commits | the reader gets the dead writer's commit or the new one, never a torn header, a stale frame or `Protocol` for good; the new writer repairs the header and removes the stale hash entry | 1 |
//! | 10 `loom_group_commit` | two committers append under the write lock and sync through the sync lock while a reader begins | a snapshot never includes a frame before a sync covered it; a committer told "durable" was covered by a sync; both commits end up published, in order | 1 |
//! | 9 `loom_backfilled_wal_restarts_under_readers` | a reader begins on a fully backfilled WAL while a writer begins | the writer always restarts the WAL (readers of a backfilled WAL take read mark 0, as SQLite's), and every snapshot reads its own versions | 1 |
//! | 11 `loom_archive_slot_holds_the_restart` | an archiver ships the frames its archive slot lacks and advances the slot while a writer begins (restarting the WAL if it may) and commits two frames | the WAL never restarts before the archiver has shipped every frame of the generation (each frame it ships has the version committed in that generation); a restart resets the slot to "nothing of the new generation shipped" | 2 |
//!
//! Loom treats `SeqCst` accesses as `AcqRel` but models `fence(SeqCst)`,
//! on which the handshake rests; bounded preemptions and the time cap make
//! the models strong evidence, not a proof. Under loom the snapshot
//! protocol makes 3 attempts, so a reader may give up with `Protocol`: the
//! models check safety, not progress.

use std::prelude::rust_2021::*;
use std::{assert, assert_eq, assert_ne, panic};

use loom::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use loom::sync::Arc;
use loom::thread;

use crate::error::Error;
use crate::wal::index::{region_words, Index, IndexHeader};
use crate::wal::protocol::{
    acquire_snapshot, backfill_protocol, begin_write_protocol, commit_state, flush_protocol, publish_recovered, read_header_retry,
    try_restart,
};

const FRAMES: u32 = 16;
const PAGES: usize = 4;

/// Shared state of a model: the wal-index region, the WAL (version per
/// frame) and the database file (version per page).
struct World {
    region: Vec<AtomicU32>,
    wal: Vec<AtomicU32>,
    db: Vec<AtomicU32>,
    marks: u32,
}

impl World {
    fn new(marks: u32) -> Arc<World> {
        Arc::new(World {
            region: (0..region_words(FRAMES, marks)).map(|_| AtomicU32::new(0)).collect(),
            wal: (0..=FRAMES as usize).map(|_| AtomicU32::new(0)).collect(),
            db: (0..=PAGES).map(|_| AtomicU32::new(0)).collect(),
            marks,
        })
    }
    fn idx(&self) -> Index<'_> {
        Index::layout(&self.region, FRAMES, self.marks).expect("layout")
    }
    /// Recovery's result: a WAL of committed `frames` (page, version).
    fn recover(&self, frames: &[(u32, u32)], ckpt_seq: u32) -> IndexHeader {
        let idx = self.idx();
        for (i, &(pg, v)) in frames.iter().enumerate() {
            let f = i as u32 + 1;
            self.wal[f as usize].store(v, Ordering::Relaxed);
            idx.insert(f, pg).expect("insert");
        }
        let h = IndexHeader {
            change: 1,
            mx_frame: frames.len() as u32,
            n_pages: PAGES as u32,
            ckpt_seq,
            page_size: 512,
            // Recovery that found frames found a valid WAL header.
            wal_header_valid: (!frames.is_empty()).into(),
            ..IndexHeader::default()
        };
        publish_recovered(&idx, &h);
        h
    }
    /// A commit of one frame by the write-lock holder, as the pager and
    /// `commit_frames` do it: frame data, hash insert, header publication.
    fn commit(&self, base: &IndexHeader, pg: u32, v: u32) -> IndexHeader {
        let idx = self.idx();
        let f = base.mx_frame + 1;
        self.wal[f as usize].store(v, Ordering::Relaxed);
        idx.insert(f, pg).expect("insert");
        let h = IndexHeader {
            change: base.change + 1,
            mx_frame: f,
            ..*base
        };
        idx.set_tip(&h.tip());
        idx.publish_header(&h);
        h
    }
    /// A writer that dies half-way (a process killed while it held the
    /// write lock, which the kernel then releases): commits `pg` at `v` as
    /// frame `mx + 1` but publishes only copy 1 of the header, after
    /// spilling `spill` (page, version) as the next frame, uncommitted.
    fn dead_writer(&self, base: &IndexHeader, pg: u32, v: u32, spill: (u32, u32)) -> IndexHeader {
        let idx = self.idx();
        assert!(idx.try_lock_writer());
        let f = base.mx_frame + 1;
        self.wal[f as usize].store(v, Ordering::Relaxed);
        idx.insert(f, pg).expect("insert");
        self.wal[f as usize + 1].store(spill.1, Ordering::Relaxed);
        idx.insert(f + 1, spill.0).expect("insert");
        let h = IndexHeader {
            change: base.change + 1,
            mx_frame: f,
            ..*base
        };
        idx.publish_copy1_only(&h);
        idx.unlock_writer();
        h
    }
    /// A page read under a snapshot, as the pager does it.
    fn read(&self, hdr: &IndexHeader, db_only: bool, pg: u32) -> u32 {
        let idx = self.idx();
        let f = if db_only { None } else { idx.lookup(pg, hdr.mx_frame) };
        match f {
            Some(f) => self.wal[f as usize].load(Ordering::Relaxed),
            None => self.db[pg as usize].load(Ordering::Relaxed),
        }
    }
    /// A passive checkpoint's copy step: the newest frame <= safe of each page.
    fn checkpoint(&self) -> Result<(IndexHeader, u32), Error> {
        let idx = self.idx();
        if !idx.try_lock_checkpoint() {
            return Err(Error::Busy);
        }
        let r = backfill_protocol(&idx, true, 0, |_, nb, safe| {
            for f in nb + 1..=safe {
                let pg = idx.frame_pgno(f);
                if idx.lookup(pg, safe) == Some(f) {
                    self.db[pg as usize].store(self.wal[f as usize].load(Ordering::Relaxed), Ordering::Relaxed);
                }
            }
            Ok(safe)
        });
        idx.unlock_checkpoint();
        r
    }
}

/// Explores `f` with at most `bound` preemptions per execution, for at most
/// `WALDEN_LOOM_SECS` seconds (default 60): a model that ends before the cap
/// was explored exhaustively within its bound (run times are recorded in
/// docs/BENCHMARKS.md).
fn model(bound: usize, f: impl Fn(Pass) + Sync + Send + 'static) {
    let secs: u64 = std::env::var("WALDEN_LOOM_SECS").ok().and_then(|s| s.parse().ok()).unwrap_or(60);
    let f = std::sync::Arc::new(f);
    // Two passes: loom starts its search from the schedule where the main
    // thread runs on after a spawn, and does not reach every interleaving
    // that begins with the spawned thread (without the second pass, models
    // 1 and 4 ran as a single execution). The second pass yields right
    // after the spawn. Each pass gets half of the time cap.
    for spawned_first in [false, true] {
        let mut b = loom::model::Builder::new();
        b.preemption_bound = Some(bound);
        b.max_duration = Some(std::time::Duration::from_secs(secs / 2));
        let runs = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let (r2, f2) = (runs.clone(), f.clone());
        let started = std::time::Instant::now();
        b.check(move || {
            r2.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            f2(Pass { spawned_first })
        });
        std::println!(
            "loom: {} executions, preemption bound {bound}, spawned thread first: {spawned_first}, {:.1} s",
            runs.load(std::sync::atomic::Ordering::Relaxed),
            started.elapsed().as_secs_f64()
        );
    }
}

/// Which pass of [`model`] runs: whether the main thread yields after
/// spawning. Passed to each execution, so that a model depends on no
/// process-global state and models can run in parallel test threads.
#[derive(Clone, Copy)]
struct Pass {
    spawned_first: bool,
}

impl Pass {
    /// Called by a model's main thread right after it spawns.
    fn after_spawn(self) {
        if self.spawned_first {
            thread::yield_now();
        }
    }
}

/// Model 1: a reader beginning against a writer's commit sees the old or the
/// new snapshot, never a torn header or a half-published frame.
#[test]
fn loom_reader_begin_vs_writer_commit() {
    model(3, |pass| {
        let w = World::new(4);
        w.recover(&[(1, 10)], 0);
        let w2 = w.clone();
        let writer = thread::spawn(move || {
            let idx = w2.idx();
            let base = begin_write_protocol(&idx, 7).expect("write lock");
            w2.commit(&base, 1, 11);
            idx.unlock_writer();
        });
        pass.after_spawn();
        let idx = w.idx();
        if let Ok((hdr, slot)) = acquire_snapshot(&idx) {
            let v = w.read(&hdr, slot == 0, 1);
            match hdr.mx_frame {
                1 => assert_eq!(v, 10, "old snapshot reads the old version"),
                2 => assert_eq!(v, 11, "new snapshot reads the new version"),
                m => panic!("snapshot at impossible frame {m}"),
            }
            idx.unshare(slot);
        }
        writer.join().expect("writer");
    });
}

/// Model 2: a checkpoint against a reader: the checkpointer never copies
/// into the database file a frame the reader's snapshot lacks, and the
/// reader reads the right version of every page.
#[test]
fn loom_checkpoint_vs_reader() {
    model(2, |pass| {
        let w = World::new(4);
        // Page 1 at v10 in the WAL; page 2 only in the database file (v0).
        let base = w.recover(&[(1, 10)], 0);
        let w2 = w.clone();
        let other = thread::spawn(move || {
            let idx = w2.idx();
            // A commit of page 2 (v20), then a checkpoint.
            let b = begin_write_protocol(&idx, 7).expect("write lock");
            assert_eq!(b, base);
            w2.commit(&b, 2, 20);
            idx.unlock_writer();
            let _ = w2.checkpoint();
        });
        pass.after_spawn();
        let idx = w.idx();
        if let Ok((hdr, slot)) = acquire_snapshot(&idx) {
            let p1 = w.read(&hdr, slot == 0, 1);
            let p2 = w.read(&hdr, slot == 0, 2);
            assert_eq!(p1, 10);
            match hdr.mx_frame {
                1 => assert_eq!(p2, 0, "page 2 copied past a live snapshot"),
                2 => assert_eq!(p2, 20),
                m => panic!("snapshot at impossible frame {m}"),
            }
            idx.unshare(slot);
        }
        other.join().expect("writer");
    });
}

/// Model 3: a WAL restart against a reader beginning (SQLite's WAL-reset
/// bug class): no reader reads a frame of the new generation as part of an
/// old snapshot. The other thread checkpoints the last frame, restarts the
/// WAL (new generation) and writes its frame 1, which holds another page
/// than the old frame 1.
#[test]
fn loom_wal_restart_vs_reader() {
    model(1, |pass| {
        let w = World::new(3);
        // Generation 0: page 1 v10 (backfilled), page 2 v20 (not yet).
        w.recover(&[(1, 10), (2, 20)], 0);
        w.db[1].store(10, Ordering::Relaxed);
        w.idx().set_nbackfill(1);
        let w2 = w.clone();
        let writer = thread::spawn(move || {
            let idx = w2.idx();
            let _ = w2.checkpoint();
            // Restarts the WAL if it is backfilled and no reader uses it,
            // then writes the next frame: page 2 at v21.
            let base = begin_write_protocol(&idx, 7).expect("write lock");
            w2.commit(&base, 2, 21);
            idx.unlock_writer();
        });
        pass.after_spawn();
        let idx = w.idx();
        if let Ok((hdr, slot)) = acquire_snapshot(&idx) {
            let p1 = w.read(&hdr, slot == 0, 1);
            let p2 = w.read(&hdr, slot == 0, 2);
            assert_eq!(p1, 10);
            // The new commit is in the snapshot at frame 1 of generation 1
            // (after a restart) or frame 3 of generation 0 (no restart); a
            // snapshot of generation 1 at frame 0 is the state before it.
            let has_commit = (hdr.ckpt_seq == 1 && hdr.mx_frame == 1) || (hdr.ckpt_seq == 0 && hdr.mx_frame == 3);
            if has_commit {
                assert_eq!(p2, 21);
            } else {
                assert_eq!(p2, 20, "a snapshot without the new commit read a frame of the new WAL generation");
            }
            idx.unshare(slot);
        }
        writer.join().expect("writer");
    });
}

/// Model 4: hash-index inserts and an abort's cleanup against lookups; a
/// lookup ignores entries past its snapshot.
#[test]
fn loom_hash_insert_vs_lookup() {
    model(3, |pass| {
        let w = World::new(2);
        w.recover(&[(1, 10)], 0);
        let w2 = w.clone();
        let writer = thread::spawn(move || {
            let idx = w2.idx();
            // Two frames in page 1's probe chain (page 1 again, and page 33,
            // whose hash slot is page 1's: 33 * 383 = 1 * 383 mod 32), then an
            // abort that removes them again.
            idx.insert(2, 1).expect("insert");
            idx.insert(3, 33).expect("insert");
            idx.truncate(1);
        });
        pass.after_spawn();
        let idx = w.idx();
        for _ in 0..2 {
            assert_eq!(idx.lookup(1, 1), Some(1), "a lookup at snapshot 1 must find frame 1 only");
            assert_eq!(idx.lookup(33, 1), None, "frame 3 is past the snapshot");
        }
        writer.join().expect("writer");
        assert_eq!(idx.lookup(1, 3), Some(1));
    });
}

/// Model 5: more readers than read-mark slots: two readers share the
/// one WAL slot (the WAL is not backfilled, so slot 0 is unusable), while
/// the writer commits; every snapshot obtained is consistent.
#[test]
fn loom_more_readers_than_slots() {
    model(1, |pass| {
        let w = World::new(2);
        let base = w.recover(&[(1, 10)], 0);
        let mut hs = Vec::new();
        for _ in 0..2 {
            let w2 = w.clone();
            hs.push(thread::spawn(move || {
                let idx = w2.idx();
                if let Ok((hdr, slot)) = acquire_snapshot(&idx) {
                    assert_ne!(slot, 0, "the WAL is not backfilled: slot 0 is not usable");
                    let v = w2.read(&hdr, false, 1);
                    assert_eq!(v, if hdr.mx_frame == 1 { 10 } else { 11 });
                    idx.unshare(slot);
                }
            }));
        }
        pass.after_spawn();
        let idx = w.idx();
        let b = begin_write_protocol(&idx, 7).expect("write lock");
        assert_eq!(b, base);
        w.commit(&b, 1, 11);
        idx.unlock_writer();
        for h in hs {
            h.join().expect("reader");
        }
    });
}

/// Model 6: two writers hand the write lock over, each retrying a bounded
/// number of times (a busy timeout): never both inside, and a writer that
/// gives up gets `Busy`.
#[test]
fn loom_writer_lock_handoff() {
    model(3, |pass| {
        let w = World::new(2);
        w.recover(&[], 0);
        let inside = Arc::new(AtomicBool::new(false));
        let commits = Arc::new(AtomicU32::new(0));
        let run = |w: Arc<World>, inside: Arc<AtomicBool>, commits: Arc<AtomicU32>| {
            let idx = w.idx();
            for _ in 0..3 {
                match begin_write_protocol(&idx, 7) {
                    Ok(base) => {
                        assert!(!inside.swap(true, Ordering::SeqCst), "two writers hold the write lock");
                        let h = w.commit(&base, 1, base.mx_frame + 100);
                        assert_eq!(h.mx_frame, base.mx_frame + 1);
                        inside.store(false, Ordering::SeqCst);
                        commits.fetch_add(1, Ordering::SeqCst);
                        idx.unlock_writer();
                        return Ok(());
                    }
                    Err(Error::Busy) => thread::yield_now(),
                    Err(e) => return Err(e),
                }
            }
            Err(Error::Busy)
        };
        let (w2, i2, c2) = (w.clone(), inside.clone(), commits.clone());
        let t = thread::spawn(move || run(w2, i2, c2));
        pass.after_spawn();
        let a = run(w.clone(), inside.clone(), commits.clone());
        let b = t.join().expect("writer");
        let ok = usize::from(a.is_ok()) + usize::from(b.is_ok());
        assert!(ok >= 1, "at least one writer gets the lock");
        assert_eq!(commits.load(Ordering::SeqCst) as usize, ok);
        let hdr = w.idx().read_header().expect("header");
        assert_eq!(hdr.mx_frame as usize, ok, "every commit is in the published header");
    });
}

/// The WAL restart itself needs every WAL read mark: with a reader holding
/// one, `try_restart` refuses (not a loom model: a direct check).
#[test]
fn loom_restart_refused_while_a_reader_holds_a_mark() {
    model(1, |_pass| {
        let w = World::new(3);
        let h = w.recover(&[(1, 10)], 0);
        let idx = w.idx();
        idx.set_nbackfill(1);
        assert!(idx.try_lock_slot(1));
        idx.set_mark(1, 1);
        idx.unlock_slot(1);
        assert!(idx.try_share(1));
        assert!(try_restart(&idx, &h, 7).is_none());
        idx.unshare(1);
        assert!(try_restart(&idx, &h, 7).is_some());
    });
}

/// Model 8: a writer died between the two copies of its header (copy 1
/// written, copy 0 not) with a spilled frame above its commit; the kernel
/// released its write lock. A reader begins while a new writer begins and
/// commits: the torn header is repaired (by whichever gets the write lock
/// first) to the dead writer's commit, whose frame was durable before it
/// began to publish; the new writer removes the stale hash entry before it
/// reuses the frame number; no snapshot reads the spilled frame.
#[test]
#[cfg(feature = "multi-process")]
fn loom_dead_writer_torn_header_repaired() {
    model(1, |pass| {
        let w = World::new(2);
        let base = w.recover(&[(1, 10)], 0);
        // Frame 2: page 1 at v11 (committed, copy 1 only); frame 3: page 2
        // at v99, spilled, never committed.
        let dead = w.dead_writer(&base, 1, 11, (2, 99));
        let w2 = w.clone();
        let writer = thread::spawn(move || {
            let idx = w2.idx();
            // The reader may hold the write lock for its repair: retry.
            let b = loop {
                match begin_write_protocol(&idx, 7) {
                    Err(Error::Busy) => thread::yield_now(),
                    r => break r.expect("write lock"),
                }
            };
            assert_eq!(b, dead, "the repaired header is the dead writer's commit");
            assert_eq!(idx.lookup(2, 3), None, "the dead writer's spilled frame is gone from the hash");
            // Frame 3 again, now page 2 at v21.
            w2.commit(&b, 2, 21);
            idx.unlock_writer();
        });
        pass.after_spawn();
        let idx = w.idx();
        if let Ok((hdr, slot)) = acquire_snapshot(&idx) {
            let (p1, p2) = (w.read(&hdr, slot == 0, 1), w.read(&hdr, slot == 0, 2));
            assert_eq!(p1, 11, "a snapshot after the repair has the dead writer's commit");
            match hdr.mx_frame {
                2 => assert_eq!(p2, 0, "the spilled, uncommitted frame was read"),
                3 => assert_eq!(p2, 21),
                m => panic!("snapshot at impossible frame {m}"),
            }
            idx.unshare(slot);
        }
        writer.join().expect("writer");
        let h = w.idx().read_header().expect("whole header after the repair");
        assert_eq!(h.mx_frame, 3);
    });
}

/// Model 9: the WAL restarts under readers that keep coming (the issue of
/// 32 reader threads that held a 200 MB WAL): once every frame is
/// backfilled, a beginning reader takes read mark 0 (the database file
/// alone) and never a WAL read mark, so the writer's restart, which needs
/// every WAL read mark, always succeeds.
#[test]
fn loom_backfilled_wal_restarts_under_readers() {
    model(1, |pass| {
        let w = World::new(2);
        w.recover(&[(1, 10), (2, 20)], 0);
        w.db[1].store(10, Ordering::Relaxed);
        w.db[2].store(20, Ordering::Relaxed);
        w.idx().set_nbackfill(2);
        let w2 = w.clone();
        let reader = thread::spawn(move || {
            let idx = w2.idx();
            {
                if let Ok((hdr, slot)) = acquire_snapshot(&idx) {
                    if hdr.ckpt_seq == 0 {
                        assert_eq!(slot, 0, "a reader of a backfilled WAL took a WAL read mark");
                    }
                    assert_eq!(w2.read(&hdr, slot == 0, 1), 10);
                    assert_eq!(w2.read(&hdr, slot == 0, 2), 20);
                    idx.unshare(slot);
                }
            }
        });
        pass.after_spawn();
        let idx = w.idx();
        let b = begin_write_protocol(&idx, 7).expect("write lock");
        assert_eq!(
            (b.ckpt_seq, b.mx_frame),
            (1, 0),
            "readers of a backfilled WAL held its restart back"
        );
        idx.unlock_writer();
        reader.join().expect("reader");
    });
}

/// Model 10: group commit. Two committers each append one frame under the
/// write lock, set the tip and release the lock, then sync through the
/// sync lock (the "sync" records the frames it covers: the tip read under
/// the lock) until their commit is covered; a reader begins meanwhile. No
/// snapshot includes a frame no sync covered (never visible before
/// durable); a committer is told its commit is durable only once a sync
/// covered it; both commits are published in order.
#[test]
fn loom_group_commit() {
    model(1, |pass| {
        let w = World::new(3);
        w.recover(&[(1, 10)], 0);
        // Frames covered by a completed sync.
        let durable = Arc::new(AtomicU32::new(1));
        let commit = |w: Arc<World>, durable: Arc<AtomicU32>, pg: u32, v: u32| {
            let idx = w.idx();
            let base = loop {
                match begin_write_protocol(&idx, 7) {
                    Err(Error::Busy) => thread::yield_now(),
                    r => break r.expect("write lock"),
                }
            };
            let f = base.mx_frame + 1;
            w.wal[f as usize].store(v, Ordering::Relaxed);
            idx.insert(f, pg).expect("insert");
            let mine = IndexHeader {
                change: base.change + 1,
                mx_frame: f,
                ..base
            };
            idx.set_tip(&mine.tip());
            let epoch = idx.tip_epoch();
            idx.unlock_writer();
            loop {
                match commit_state(&idx, &mine, epoch) {
                    Some(true) => break,
                    Some(false) => panic!("no sync failed: the commit cannot be void"),
                    None => {}
                }
                let r = flush_protocol(&idx, || {
                    // The sync covers what was appended before the tip was read.
                    let t = idx.read_tip().expect("tip under the sync lock");
                    durable.fetch_max(t.mx_frame, Ordering::SeqCst);
                    Ok(())
                });
                match r {
                    Ok(_) | Err(Error::Busy) => thread::yield_now(),
                    Err(e) => panic!("flush: {e:?}"),
                }
            }
            assert!(durable.load(Ordering::SeqCst) >= f, "told durable before a sync covered frame {f}");
        };
        let (w2, d2) = (w.clone(), durable.clone());
        let other = thread::spawn(move || commit(w2, d2, 2, 20));
        pass.after_spawn();
        let (w3, d3) = (w.clone(), durable.clone());
        commit(w3, d3, 3, 30);
        let idx = w.idx();
        if let Ok((hdr, slot)) = acquire_snapshot(&idx) {
            assert!(
                durable.load(Ordering::SeqCst) >= hdr.mx_frame,
                "a snapshot saw frames before their sync"
            );
            idx.unshare(slot);
        }
        other.join().expect("committer");
        let h = idx.read_header().expect("header");
        assert_eq!(h.mx_frame, 3, "both commits published");
        assert_eq!((w.read(&h, false, 2), w.read(&h, false, 3)), (20, 30));
    });
}

/// Model 11: the archive slot (`connection::archive`). The WAL holds
/// frames 1 and 2 (pages 1 and 2), both backfilled; the archive has frame
/// 1 (slot word 2). An archiver reads the header, ships frames 2..mx (reads
/// their versions from the WAL) and advances the slot, while a writer
/// begins (restarting the WAL when it may: everything backfilled, no WAL
/// read mark) and commits pages 1 and 2 again. Every frame the archiver
/// ships has the version its generation committed (no restart reused a
/// frame before it was shipped), and a restart happens only after the
/// archiver advanced the slot, which it then resets to 1.
#[test]
fn loom_archive_slot_holds_the_restart() {
    model(2, |pass| {
        let w = World::new(2);
        w.recover(&[(1, 10), (2, 20)], 0);
        w.db[1].store(10, Ordering::Relaxed);
        w.db[2].store(20, Ordering::Relaxed);
        let idx = w.idx();
        idx.set_nbackfill(2);
        assert!(idx.cas_archive_hold(0, 2));
        let w2 = w.clone();
        let archiver = thread::spawn(move || {
            let idx = w2.idx();
            let Ok(h) = read_header_retry(&idx) else { return };
            assert_eq!(h.ckpt_seq, 0, "the WAL restarted before the archiver shipped frame 2");
            // Generation 0: frames 1, 2 from recovery; 3 and 4 if the
            // writer committed without a restart.
            let committed = [0, 10, 20, 11, 21];
            for f in 2..=h.mx_frame {
                assert_eq!(
                    w2.wal[f as usize].load(Ordering::Relaxed),
                    committed[f as usize],
                    "frame {f} of generation 0 was overwritten before it was shipped"
                );
            }
            assert!(idx.cas_archive_hold(2, h.mx_frame + 1), "the slot moved under its archiver");
        });
        pass.after_spawn();
        let b = begin_write_protocol(&idx, 7).expect("write lock");
        if b.ckpt_seq == 1 {
            assert_eq!(idx.archive_hold(), 1, "a restart left the old generation's count in the slot");
        }
        let h = w.commit(&b, 1, 11);
        w.commit(&h, 2, 21);
        idx.unlock_writer();
        archiver.join().expect("archiver");
    });
}
