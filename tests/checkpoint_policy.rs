//! When checkpoints run, and how much each does, as PostgreSQL runs them:
//! time-based checkpoints under a clock the test controls, a soft WAL size
//! target in bytes, incremental checkpoints with a page budget that resume
//! where they stopped, and the statistics by cause. On the simulated disk;
//! the crash-point suite enumerates crashes in budgeted checkpoints
//! (workload `budgeted_checkpoints`).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use walden::engine::sync::AtomicU32;
use walden::engine::{cache_mem_len, region_words, CheckpointMode, CheckpointStats, Connection, FileKind, Options, SyncMode};
use walden_testkit::sim::{SimDisk, SimFile};
use walden_testkit::workload::{MAX_FRAMES, PAGE_SIZE, READ_MARKS};

type Conn = Connection<SimFile, Arc<[AtomicU32]>, Vec<u8>>;

fn open(disk: &SimDisk, o: Options) -> Conn {
    let region: Arc<[AtomicU32]> = (0..region_words(MAX_FRAMES, READ_MARKS)).map(|_| AtomicU32::new(0)).collect();
    Connection::open(
        disk.file(FileKind::Database),
        disk.file(FileKind::Wal),
        region,
        vec![0u8; cache_mem_len(PAGE_SIZE, 16)],
        o,
    )
    .expect("open")
}

fn base() -> Options {
    Options {
        page_size: PAGE_SIZE,
        sync: SyncMode::Full,
        autocheckpoint_frames: 0,
        max_wal_frames: MAX_FRAMES,
        read_marks: READ_MARKS,
        ..Options::default()
    }
}

fn commit(c: &mut Conn, keys: std::ops::Range<u32>, v: u8) {
    c.begin_write().expect("begin");
    let t = c.default_table().expect("table");
    for k in keys {
        c.put(t, &k.to_be_bytes(), &[v; 40]).expect("put");
    }
    c.commit().expect("commit");
}

fn wal(c: &Conn) -> (u32, u32) {
    let (h, nb) = c.wal_state().expect("state");
    (h.mx_frame, nb)
}

/// The test's clock (one per test: tests run in parallel).
static CLOCK_TIME: AtomicU64 = AtomicU64::new(1_000);
fn clock_time() -> u64 {
    CLOCK_TIME.load(Ordering::SeqCst)
}

#[test]
fn a_checkpoint_runs_once_the_interval_passed() {
    let disk = SimDisk::new(1);
    let mut c = open(
        &disk,
        Options {
            checkpoint_interval_ms: 5_000,
            ..base()
        },
    );
    c.set_clock(clock_time);
    commit(&mut c, 0..10, 1);
    assert_eq!(c.tick().expect("tick"), None, "the first look at the clock starts the interval");
    CLOCK_TIME.fetch_add(4_000, Ordering::SeqCst);
    commit(&mut c, 10..20, 2);
    assert_eq!(c.tick().expect("tick"), None, "4 s of 5");
    let (mx, nb) = wal(&c);
    assert!(nb < mx);
    // Nothing commits for a while: the idle tick runs it.
    CLOCK_TIME.fetch_add(2_000, Ordering::SeqCst);
    let info = c.tick().expect("tick").expect("a timed checkpoint");
    assert_eq!((info.wal_frames, info.backfilled), (mx, mx));
    let s = c.checkpoint_stats().expect("stats");
    assert_eq!((s.by_time, s.by_size, s.manual), (1, 0, 0));
    assert!(s.pages_written > 0);
    // Nothing left to copy: no more timed checkpoints however long it waits.
    CLOCK_TIME.fetch_add(60_000, Ordering::SeqCst);
    assert_eq!(c.tick().expect("tick"), None);
    // A commit after the interval runs one itself.
    commit(&mut c, 20..30, 3);
    let (mx, nb) = wal(&c);
    assert_eq!(nb, mx, "the commit ran the timed checkpoint");
    assert_eq!(c.checkpoint_stats().expect("stats").by_time, 2);
}

#[test]
fn a_soft_wal_size_target_in_bytes() {
    let disk = SimDisk::new(2);
    let frame = 24 + PAGE_SIZE as u64;
    let mut c = open(
        &disk,
        Options {
            max_wal_bytes: 32 + 40 * frame,
            ..base()
        },
    );
    let mut k = 0;
    loop {
        commit(&mut c, k..k + 8, 1);
        k += 8;
        let (mx, nb) = wal(&c);
        if mx >= 40 {
            assert_eq!(nb, mx, "a commit past the target ran a checkpoint");
            break;
        }
        assert_eq!(nb, 0, "below the target: no checkpoint ({mx} frames)");
    }
    let s = c.checkpoint_stats().expect("stats");
    assert_eq!((s.by_size, s.by_time, s.manual), (1, 0, 0));
}

/// Automatic checkpoints that copy at most 4 pages each: each resumes where
/// the last stopped; readers read the right versions throughout; the last
/// one syncs the database file and lets the WAL restart; a reopen finds
/// every commit.
#[test]
fn budgeted_checkpoints_resume_where_they_stopped() {
    let disk = SimDisk::new(3);
    let o = Options {
        autocheckpoint_frames: 8,
        checkpoint_budget_pages: 4,
        ..base()
    };
    let mut c = open(&disk, o);
    let mut last_nb = 0;
    let mut steps = 0;
    for round in 0..30u32 {
        // Keys spread over many pages.
        commit(&mut c, round * 20..round * 20 + 20, round as u8);
        let (_, nb) = wal(&c);
        if nb != last_nb {
            steps += 1;
        }
        assert!(nb >= last_nb || nb == 0, "the backfill went back from {last_nb} to {nb}");
        last_nb = nb;
        c.begin_read().expect("read");
        let t = c.default_table().expect("table");
        for k in [0u32, round * 20 + 19] {
            let mut buf = [0u8; 64];
            let n = c.get(t, &k.to_be_bytes(), &mut buf).expect("get").expect("a key");
            assert_eq!(&buf[..n], &[(k / 20) as u8; 40][..]);
        }
        c.end_read();
    }
    let s: CheckpointStats = c.checkpoint_stats().expect("stats");
    assert!(steps > 3, "{steps} steps");
    assert!(s.by_size as u64 * 4 >= s.pages_written, "{s:?}: more than 4 pages per checkpoint");
    // A manual checkpoint copies the rest at once.
    c.checkpoint(CheckpointMode::Truncate).expect("truncate");
    assert_eq!(c.checkpoint_stats().expect("stats").manual, 1);
    drop(c);
    let mut r = open(&disk, base());
    r.begin_read().expect("read");
    let t = r.default_table().expect("table");
    let mut n = 0;
    let mut buf = [0u8; 64];
    for k in 0..600u32 {
        if r.get(t, &k.to_be_bytes(), &mut buf).expect("get").is_some() {
            n += 1;
        }
    }
    assert_eq!(n, 600);
}

/// A clock that advances a millisecond each time it is read (the time
/// budget's test: each page copied reads it once).
static TICKS: AtomicU64 = AtomicU64::new(0);
fn ticking_clock() -> u64 {
    TICKS.fetch_add(1, Ordering::SeqCst)
}

/// A time budget: each automatic checkpoint copies in WAL order until its
/// milliseconds run out (here 3 ms on a clock that ticks once a page:
/// three pages), and the next resumes where it stopped; a reopen finds
/// every commit. Without the budget the same commits backfill everything
/// each time.
#[test]
fn time_budgeted_checkpoints_resume_where_they_stopped() {
    let disk = SimDisk::new(4);
    let o = Options {
        autocheckpoint_frames: 8,
        checkpoint_budget_ms: 3,
        ..base()
    };
    let mut c = open(&disk, o);
    c.set_clock(ticking_clock);
    let mut last_nb = 0;
    let mut partial = 0;
    for round in 0..30u32 {
        commit(&mut c, round * 20..round * 20 + 20, round as u8);
        let (mx, nb) = wal(&c);
        if nb != 0 && nb < mx {
            partial += 1;
        }
        assert!(nb >= last_nb || nb == 0, "the backfill went back from {last_nb} to {nb}");
        last_nb = nb;
    }
    let s: CheckpointStats = c.checkpoint_stats().expect("stats");
    assert!(partial > 5, "{partial} partial backfills");
    assert!(s.by_size as u64 * 3 >= s.pages_written, "{s:?}: more than 3 pages per checkpoint");
    c.checkpoint(CheckpointMode::Truncate).expect("truncate");
    drop(c);
    let mut r = open(&disk, base());
    r.begin_read().expect("read");
    let t = r.default_table().expect("table");
    let mut buf = [0u8; 64];
    for k in 0..600u32 {
        let n = r.get(t, &k.to_be_bytes(), &mut buf).expect("get").expect("every key");
        assert_eq!(&buf[..n], &[(k / 20) as u8; 40][..]);
    }
    r.end_read();

    // The same commits without the budget: every automatic checkpoint
    // copies the whole WAL.
    let disk = SimDisk::new(4);
    let mut c = open(
        &disk,
        Options {
            autocheckpoint_frames: 8,
            ..base()
        },
    );
    c.set_clock(ticking_clock);
    for round in 0..30u32 {
        commit(&mut c, round * 20..round * 20 + 20, round as u8);
        let (mx, nb) = wal(&c);
        assert!(nb == 0 || nb == mx, "a partial backfill ({nb} of {mx}) without a budget");
    }
}

/// The std backend: a background checkpointer runs the timed checkpoint
/// while nothing commits, and `stats()` shows the counts by cause and the
/// distance to the WAL size target.
#[test]
fn a_background_checkpointer_in_walden_std() {
    let dir = tempfile::tempdir().unwrap();
    let db = walden::Database::open(
        dir.path().join("bg.db"),
        walden::Options {
            checkpoint_interval: Some(Duration::from_millis(50)),
            max_wal_bytes: 1 << 20,
            autocheckpoint_frames: 0,
            ..walden::Options::default()
        },
    )
    .unwrap();
    let w = db.begin_write().unwrap();
    w.put(b"k", b"v").unwrap();
    w.commit().unwrap();
    let s = db.stats();
    assert!(s.wal_bytes > 0 && s.wal_bytes_to_target == Some((1 << 20) - s.wal_bytes), "{s:?}");
    let bg = db.start_checkpointer(Duration::from_millis(20));
    // Waits for the outcome, not for a time: the thread may be slow to run.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while db.stats().checkpoint_stats.by_time == 0 {
        assert!(std::time::Instant::now() < deadline, "no timed checkpoint ran");
        std::thread::sleep(Duration::from_millis(10));
    }
    drop(bg);
    let s = db.stats();
    assert_eq!(s.wal_backfilled, s.wal_frames);
    assert!(s.checkpoint_stats.pages_written > 0);
    db.checkpoint(walden::CheckpointMode::Passive).unwrap();
    assert_eq!(db.stats().checkpoint_stats.manual, 1);
}

/// A checkpoint that copies much of the database writes it front to back,
/// in page-number order, and each run of consecutive pages with one call
/// (the scratch pages and up to 13 cache slots lent for it,
/// `Pages::checkpoint_io`): 6,000 keys over about 250 pages of 512 bytes,
/// from a WAL written in tree order, reach the database file in a few
/// dozen ascending writes rather than one a page in WAL order; then every
/// key reads back from the database file alone.
#[test]
fn a_checkpoint_writes_runs_of_pages_in_page_order() {
    let o = Options {
        autocheckpoint_frames: 0,
        ..base()
    };
    let disk = SimDisk::new(3);
    let mut c = walden_testkit::workload::open(&disk, 64, o).expect("open");
    let key = |i: u32| i.wrapping_mul(0x9E37_79B1).to_be_bytes();
    c.begin_write().unwrap();
    let t = c.default_table().unwrap();
    for i in 0..6_000u32 {
        c.put(t, &key(i), &i.to_le_bytes()).unwrap();
    }
    c.commit().unwrap();
    let pages = u64::from(c.wal_state().unwrap().0.n_pages);
    disk.record(true);
    c.checkpoint(CheckpointMode::Full).unwrap();
    let writes: Vec<(u64, usize)> = disk
        .take_log()
        .into_iter()
        .filter_map(|op| match op {
            walden_testkit::sim::SimOp::Write {
                file: FileKind::Database,
                offset,
                data,
            } => Some((offset, data.len())),
            _ => None,
        })
        .collect();
    let written: usize = writes.iter().map(|w| w.1).sum();
    println!("{pages} pages, {} writes, {written} bytes", writes.len());
    assert_eq!(written as u64, pages * u64::from(PAGE_SIZE), "every page written once");
    assert!(
        writes.windows(2).all(|w| w[0].0 + w[0].1 as u64 <= w[1].0),
        "front to back: {writes:?}"
    );
    assert!(writes.len() as u64 * 8 <= pages, "{} writes for {pages} pages", writes.len());

    c.checkpoint(CheckpointMode::Truncate).unwrap();
    assert_eq!(c.wal_state().unwrap().0.mx_frame, 0);
    c.begin_read().unwrap();
    let t = c.default_table().unwrap();
    for i in 0..6_000u32 {
        let mut buf = [0u8; 4];
        assert_eq!(c.get(t, &key(i), &mut buf).unwrap(), Some(4), "key {i}");
        assert_eq!(buf, i.to_le_bytes());
    }
    c.end_read();
}
