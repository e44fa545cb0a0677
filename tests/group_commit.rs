//! Group commit on the simulated disk, step by step: commits appended by
//! several connections and made durable by one sync of the WAL; never
//! visible before that sync; a failed sync voids the commits it would have
//! covered, also in connections of other "processes" (whose poison flags
//! are their own, as in the std backend's `-shm` mode). The crash-point
//! suite enumerates crashes in the same pattern (workload `group_commit`).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use walden::engine::storage::Storage;
use walden::engine::sync::AtomicU32;
use walden::engine::wal::locks::{Lock, Locks, Region, SlotUse};
use walden::engine::{cache_mem_len, region_words, Connection, Error, FileKind, Options, SyncMode};
use walden_testkit::sim::{Fault, SimDisk, SimFile, SimOp};
use walden_testkit::workload::{MAX_FRAMES, PAGE_SIZE, READ_MARKS};

fn opts() -> Options {
    Options {
        page_size: PAGE_SIZE,
        sync: SyncMode::Full,
        autocheckpoint_frames: 0,
        max_wal_frames: MAX_FRAMES,
        read_marks: READ_MARKS,
        ..Options::default()
    }
}

fn open<R: Region>(disk: &SimDisk, region: R) -> Connection<SimFile, R, Vec<u8>> {
    Connection::open(
        disk.file(FileKind::Database),
        disk.file(FileKind::Wal),
        region,
        vec![0u8; cache_mem_len(PAGE_SIZE, 16)],
        opts(),
    )
    .expect("open")
}

fn get<S: Storage, R: Region>(c: &mut Connection<S, R, Vec<u8>>, k: &[u8]) -> Option<Vec<u8>> {
    let t = c.default_table().expect("table");
    let mut buf = [0u8; 64];
    let n = c.get(t, k, &mut buf).expect("get")?;
    Some(buf[..n].to_vec())
}

fn read<S: Storage, R: Region>(c: &mut Connection<S, R, Vec<u8>>, k: &[u8]) -> Option<Vec<u8>> {
    c.begin_read().expect("begin_read");
    let v = get(c, k);
    c.end_read();
    v
}

fn append<S: Storage, R: Region>(c: &mut Connection<S, R, Vec<u8>>, k: &[u8], v: &[u8]) -> u64 {
    c.begin_write().expect("begin_write");
    let t = c.default_table().expect("table");
    c.put(t, k, v).expect("put");
    c.append_commit().expect("append").expect("a change")
}

fn wal_syncs(log: &[SimOp]) -> usize {
    log.iter().filter(|op| matches!(op, SimOp::Sync { file: FileKind::Wal })).count()
}

/// Three commits appended by three connections, then one sync: the first
/// `commit` syncs the WAL once and publishes all three; the others find
/// themselves covered without a sync of their own. Readers see none of
/// them before, all of them after.
#[test]
fn one_sync_covers_every_commit_appended_before_it() {
    let disk = SimDisk::new(1);
    let region: Arc<[AtomicU32]> = (0..region_words(MAX_FRAMES, READ_MARKS)).map(|_| AtomicU32::new(0)).collect();
    let mut a = open(&disk, region.clone());
    let mut b = open(&disk, region.clone());
    let mut c = open(&disk, region.clone());
    let mut reader = open(&disk, region.clone());
    let la = append(&mut a, b"a", b"1");
    // B builds on A's appended (not yet durable) commit.
    b.begin_write().expect("begin_write");
    assert_eq!(
        get(&mut b, b"a").as_deref(),
        Some(&b"1"[..]),
        "a writer sees the commit appended before it"
    );
    let t = b.default_table().expect("table");
    b.put(t, b"b", b"2").expect("put");
    let lb = b.append_commit().expect("append").expect("a change");
    let lc = append(&mut c, b"c", b"3");
    assert!(la < lb && lb < lc);
    for k in [&b"a"[..], b"b", b"c"] {
        assert_eq!(read(&mut reader, k), None, "visible before its sync");
    }
    assert!(
        matches!(b.begin_write(), Err(Error::InvalidArgument(_))),
        "a connection waiting for its commit"
    );
    disk.record(true);
    assert_eq!(a.commit().expect("commit"), Some(la));
    assert_eq!(wal_syncs(&disk.take_log()), 1, "one sync for the three commits");
    assert_eq!(c.commit().expect("commit"), Some(lc));
    assert_eq!(b.commit().expect("commit"), Some(lb));
    assert_eq!(wal_syncs(&disk.take_log()), 0, "the others were covered");
    for (k, v) in [(&b"a"[..], &b"1"[..]), (b"b", b"2"), (b"c", b"3")] {
        assert_eq!(read(&mut reader, k).as_deref(), Some(v));
    }
    // A reopen (recovery) finds the three.
    drop((a, b, c, reader));
    let fresh: Arc<[AtomicU32]> = (0..region_words(MAX_FRAMES, READ_MARKS)).map(|_| AtomicU32::new(0)).collect();
    let mut r = open(&disk, fresh);
    assert_eq!(read(&mut r, b"c").as_deref(), Some(&b"3"[..]));
}

/// Locks in the region's words, as the core's own, but a poison flag per
/// "process": the shape of the std backend's `-shm` regions.
struct ProcRegion {
    words: Arc<[AtomicU32]>,
    poisoned: Arc<AtomicBool>,
}

impl ProcRegion {
    fn lock_word(&self, l: Lock) -> &AtomicU32 {
        let at = match l {
            Lock::Write => 0,
            Lock::Checkpoint => 1,
            Lock::Sync => 2,
            Lock::ReadMark(i) => 3 + i,
        };
        // The lock words live past the region proper.
        &self.words[region_words(MAX_FRAMES, READ_MARKS) + at]
    }
}

impl Locks for ProcRegion {
    fn try_lock(&self, l: Lock, exclusive: bool) -> bool {
        let w = self.lock_word(l);
        if exclusive {
            w.compare_exchange(0, u32::MAX, Ordering::SeqCst, Ordering::SeqCst).is_ok()
        } else {
            let cur = w.load(Ordering::SeqCst);
            cur != u32::MAX && w.compare_exchange(cur, cur + 1, Ordering::SeqCst, Ordering::SeqCst).is_ok()
        }
    }
    fn unlock(&self, l: Lock, exclusive: bool) {
        let w = self.lock_word(l);
        if exclusive {
            w.store(0, Ordering::SeqCst);
        } else {
            w.fetch_sub(1, Ordering::SeqCst);
        }
    }
    fn slot_use(&self, slot: usize) -> SlotUse {
        match self.lock_word(Lock::ReadMark(slot)).load(Ordering::SeqCst) {
            0 => SlotUse::Free,
            u32::MAX => SlotUse::Exclusive,
            _ => SlotUse::Shared,
        }
    }
    fn poison(&self) {
        self.poisoned.store(true, Ordering::SeqCst);
    }
    fn poisoned(&self) -> bool {
        self.poisoned.load(Ordering::SeqCst)
    }
}

impl Region for ProcRegion {
    fn words(&self) -> &[AtomicU32] {
        &self.words[..region_words(MAX_FRAMES, READ_MARKS)]
    }
    fn locks(&self) -> Option<&dyn Locks> {
        Some(self)
    }
}

/// A's sync fails while B's commit (another process) waits behind it: A
/// gets the error and is poisoned; B's commit is void (never reported
/// durable, though B is not poisoned and a later sync succeeds); the next
/// writer starts again from the last published commit and overwrites the
/// void frames; recovery finds neither void commit.
#[test]
fn a_failed_sync_voids_the_commits_it_would_have_covered() {
    let disk = SimDisk::new(2);
    let words: Arc<[AtomicU32]> = (0..region_words(MAX_FRAMES, READ_MARKS) + 3 + 64)
        .map(|_| AtomicU32::new(0))
        .collect();
    let proc = |p: &Arc<AtomicBool>| ProcRegion {
        words: words.clone(),
        poisoned: p.clone(),
    };
    let (p1, p2) = (Arc::new(AtomicBool::new(false)), Arc::new(AtomicBool::new(false)));
    let mut a = open(&disk, proc(&p1));
    let mut b = open(&disk, proc(&p2));
    let mut b2 = open(&disk, proc(&p2));
    append(&mut b2, b"base", b"0");
    b2.commit().expect("commit");
    append(&mut a, b"a", b"1");
    append(&mut b, b"b", b"2");
    // The next I/O call is A's sync of the WAL (indices count from the
    // injection).
    disk.inject(Some(Fault::FailAt {
        call: 0,
        persistent: false,
    }));
    let r = a.commit();
    assert!(matches!(r, Err(Error::Io { file: FileKind::Wal, .. })), "{r:?}");
    assert!(
        p1.load(Ordering::SeqCst) && !p2.load(Ordering::SeqCst),
        "only A's process is poisoned"
    );
    match b.commit() {
        Err(Error::Io { file: FileKind::Wal, .. }) => {}
        other => panic!("a commit the failed sync would have covered: {other:?}"),
    }
    assert_eq!(read(&mut b2, b"a"), None);
    assert_eq!(read(&mut b2, b"b"), None);
    // The next writer starts from the published commit.
    append(&mut b2, b"c", b"3");
    b2.commit().expect("commit after the failure");
    assert_eq!(read(&mut b2, b"c").as_deref(), Some(&b"3"[..]));
    assert_eq!((read(&mut b2, b"a"), read(&mut b2, b"b")), (None, None));
    drop((a, b, b2));
    let fresh: Arc<[AtomicU32]> = (0..region_words(MAX_FRAMES, READ_MARKS)).map(|_| AtomicU32::new(0)).collect();
    let mut r = open(&disk, fresh);
    assert_eq!(read(&mut r, b"base").as_deref(), Some(&b"0"[..]));
    assert_eq!(read(&mut r, b"c").as_deref(), Some(&b"3"[..]));
    assert_eq!((read(&mut r, b"a"), read(&mut r, b"b")), (None, None));
}

/// The calls the std backend's group commit is made of: a waiting commit
/// that only looks (`commit_if_covered`) never syncs and is not
/// acknowledged before a sync covers it; an idle connection's `flush`
/// syncs once for every commit appended so far (a syncer syncing again for
/// the commits appended during its own sync), after which the waiting
/// commits are acknowledged without a sync of their own; a `flush` with
/// nothing appended syncs nothing; and a failed `flush` voids the commits
/// waiting for it.
#[test]
fn waiting_commits_look_and_an_idle_connection_flushes_them() {
    let disk = SimDisk::new(3);
    let region: Arc<[AtomicU32]> = (0..region_words(MAX_FRAMES, READ_MARKS)).map(|_| AtomicU32::new(0)).collect();
    let mut a = open(&disk, region.clone());
    let mut b = open(&disk, region.clone());
    let mut syncer = open(&disk, region.clone());
    let mut reader = open(&disk, region.clone());
    let la = append(&mut a, b"a", b"1");
    let lb = append(&mut b, b"b", b"2");
    disk.record(true);
    assert_eq!(a.commit_if_covered(), Err(Error::Busy), "no sync covers it yet");
    assert_eq!(b.commit_if_covered(), Err(Error::Busy));
    assert_eq!(wal_syncs(&disk.take_log()), 0, "looking never syncs");
    assert_eq!(read(&mut reader, b"a"), None);
    assert!(
        matches!(syncer.commit_if_covered(), Err(Error::InvalidArgument(_))),
        "no commit waits on this connection"
    );
    assert_eq!(syncer.flush(), Ok(true));
    assert_eq!(wal_syncs(&disk.take_log()), 1, "one sync for both");
    assert_eq!(b.commit_if_covered(), Ok(Some(lb)));
    assert_eq!(a.commit_if_covered(), Ok(Some(la)));
    assert_eq!(wal_syncs(&disk.take_log()), 0);
    assert_eq!(read(&mut reader, b"b").as_deref(), Some(&b"2"[..]));
    assert_eq!(syncer.flush(), Ok(false), "nothing to publish");
    assert_eq!(wal_syncs(&disk.take_log()), 0, "and nothing synced");
    // A write transaction open on the connection: no flush.
    syncer.begin_write().expect("begin_write");
    assert!(matches!(syncer.flush(), Err(Error::InvalidArgument(_))));
    syncer.abort();

    // A flush whose sync fails voids the commits waiting for it.
    append(&mut a, b"c", b"3");
    disk.inject(Some(Fault::FailAt {
        call: 0,
        persistent: false,
    }));
    assert!(matches!(syncer.flush(), Err(Error::Io { file: FileKind::Wal, .. })));
    match a.commit_if_covered() {
        Err(Error::Io { file: FileKind::Wal, .. }) => {}
        other => panic!("a commit the failed flush would have covered: {other:?}"),
    }
    drop((a, b, syncer, reader));
    let fresh: Arc<[AtomicU32]> = (0..region_words(MAX_FRAMES, READ_MARKS)).map(|_| AtomicU32::new(0)).collect();
    let mut r = open(&disk, fresh);
    // The acknowledged commits are there; the void one was never
    // acknowledged (its frames, written before the failed sync, may or may
    // not be found).
    assert_eq!(read(&mut r, b"a").as_deref(), Some(&b"1"[..]));
    assert_eq!(read(&mut r, b"b").as_deref(), Some(&b"2"[..]));
}

/// Threads of one `Database` handle committing `Full` transactions at once
/// share their fsyncs (the std backend's group commit, `busy.rs`): fewer
/// WAL fsyncs than commits, every commit acknowledged and durable, each
/// thread's commits in its order. On a file system whose fsync is nearly
/// free the threads may not overlap in a round: up to five rounds.
#[test]
fn threads_of_one_handle_share_their_fsyncs() {
    const THREADS: u64 = 8;
    const COMMITS: u64 = 40;
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("g.db");
    let o = walden::Options {
        sync: walden::SyncMode::Full,
        ..walden::Options::default()
    };
    let mut shared = false;
    for round in 0..5u64 {
        let db = walden::Database::open(&path, o.clone()).expect("open");
        let before = db.stats();
        std::thread::scope(|s| {
            for t in 0..THREADS {
                let db = &db;
                s.spawn(move || {
                    for i in 0..COMMITS {
                        let w = db.begin_write().expect("begin_write");
                        w.put([t as u8], (round * COMMITS + i).to_be_bytes()).expect("put");
                        w.put(format!("{t}:{round}:{i}"), [1u8; 100]).expect("put");
                        assert!(w.commit().expect("commit").is_some());
                    }
                });
            }
        });
        let after = db.stats();
        assert_eq!(after.commits - before.commits, THREADS * COMMITS);
        // Every sync of the round is a WAL sync of a commit, a checkpoint's
        // or a new WAL generation's: all of them together fewer than the
        // commits once the threads shared.
        shared |= after.fsyncs - before.fsyncs < THREADS * COMMITS;
        drop(db);
        let db = walden::Database::open(&path, o.clone()).expect("reopen");
        assert!(db.verify().expect("verify").is_ok());
        let r = db.begin_read().expect("begin_read");
        for t in 0..THREADS {
            let last = r.get([t as u8]).expect("get").expect("the thread's last commit");
            assert_eq!(last, ((round + 1) * COMMITS - 1).to_be_bytes());
            for i in 0..COMMITS {
                assert!(r.get(format!("{t}:{round}:{i}")).expect("get").is_some());
            }
        }
        if shared && round > 0 {
            break;
        }
    }
    assert!(shared, "8 threads never shared an fsync in five rounds of 320 commits");
}
