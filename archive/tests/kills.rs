//! An archiving process killed with SIGKILL (the writer and its archiver
//! thread together, as a device loses power or its logger is killed),
//! round after round: after each kill the database recovers, a new
//! archiver takes over (the -shm and its archive slot died with the
//! process), and the archive restores exactly the recovered database, and
//! every acknowledged commit a segment holds, at its LSN, as that commit
//! left it. Nothing acknowledged and archived is lost; no restore returns a
//! state that was not committed.
//!
//! The child is this test binary re-executed with the test `kill_child`
//! and `WALDEN_ARCHIVE_KILL_DB` / `WALDEN_ARCHIVE_KILL_STORE` set.
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use walden_archive::{restore, Archiver, ArchiverOptions, Store, Target};
use walden_std::{Database, Options, SyncMode};

const DB_ENV: &str = "WALDEN_ARCHIVE_KILL_DB";
const STORE_ENV: &str = "WALDEN_ARCHIVE_KILL_STORE";
const KEYS: u64 = 40;

fn options() -> Options {
    Options {
        // A process kill keeps what the kernel was given.
        sync: SyncMode::Normal,
        page_size: 1024,
        autocheckpoint_frames: 30,
        ..Options::default()
    }
}

/// The value commit `seq` writes under `k{seq % KEYS}`.
fn value(seq: u64) -> Vec<u8> {
    let len = if seq.is_multiple_of(17) { 1500 } else { 20 + (seq % 30) as usize };
    (0..len).map(|j| (seq as usize).wrapping_mul(31).wrapping_add(j) as u8).collect()
}

/// The state after commit `seq`: `seq` and, for each key, the last value
/// written at or before it.
fn model(seq: u64) -> BTreeMap<Vec<u8>, Vec<u8>> {
    let mut m = BTreeMap::new();
    m.insert(b"seq".to_vec(), seq.to_be_bytes().to_vec());
    for s in 1..=seq {
        m.insert(format!("k{:03}", s % KEYS).into_bytes(), value(s));
    }
    m
}

fn contents(path: &Path) -> BTreeMap<Vec<u8>, Vec<u8>> {
    let db = Database::open(path, options()).unwrap();
    assert!(db.verify().unwrap().is_ok(), "{}: integrity check", path.display());
    let r = db.begin_read().unwrap();
    r.range(..).unwrap().map(|kv| kv.unwrap()).collect()
}

fn seq_of(db: &Database) -> u64 {
    let r = db.begin_read().unwrap();
    r.get(b"seq").unwrap().map_or(0, |v| u64::from_be_bytes(v.try_into().unwrap()))
}

fn archiver_options() -> ArchiverOptions {
    ArchiverOptions {
        poll_interval: Duration::from_millis(2),
        max_segment_bytes: 8 << 10,
        ..ArchiverOptions::default()
    }
}

/// The child: an archiver thread shipping continuously beside a writer
/// that prints `ACK <seq> <lsn>` after each commit, until killed.
#[test]
fn kill_child() {
    let (Ok(db_path), Ok(url)) = (std::env::var(DB_ENV), std::env::var(STORE_ENV)) else {
        return;
    };
    println!();
    let db = Database::open(&db_path, options()).expect("open");
    let (mut archiver, _) = Archiver::start(&db, Store::from_url(&url).expect("store"), archiver_options()).expect("archiver");
    std::thread::spawn(move || archiver.run(|_| false).expect("archiver run"));
    let mut seq = seq_of(&db);
    let out = std::io::stdout();
    loop {
        seq += 1;
        let w = db.begin_write().expect("begin_write");
        w.put(b"seq", seq.to_be_bytes()).expect("put");
        w.put(format!("k{:03}", seq % KEYS), value(seq)).expect("put");
        let lsn = w.commit().expect("commit").expect("a commit that changed something has an LSN");
        let mut o = out.lock();
        use std::io::Write;
        writeln!(o, "ACK {seq} {lsn}").expect("stdout");
        o.flush().expect("stdout");
    }
}

#[test]
fn an_archiving_process_killed_round_after_round() {
    let dir = tempfile::tempdir().unwrap();
    let db_path = dir.path().join("logger.db");
    let url = format!("file://{}/archive", dir.path().display());
    let mut rng = walden_testkit::sim::SimRng(0x9e37_79b9_7f4a_7c15);
    let mut acked: BTreeMap<u64, u64> = BTreeMap::new(); // seq -> LSN
    let (mut restored, mut unreachable_in_gaps) = (0, 0);
    for round in 0..6 {
        let want = 20 + rng.below(150);
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "kill_child", "--nocapture", "--test-threads=1"])
            .env(DB_ENV, &db_path)
            .env(STORE_ENV, &url)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut n = 0;
        while n < want {
            assert!(Instant::now() < deadline, "round {round}: the child acknowledged only {n} commits");
            let Some(Ok(line)) = lines.next() else {
                let _ = child.kill();
                panic!("round {round}: the child ended after {n} commits: {:?}", child.wait());
            };
            if let Some(rest) = line.strip_prefix("ACK ") {
                let (s, l) = rest.split_once(' ').unwrap();
                acked.insert(s.parse().unwrap(), l.parse().unwrap());
                n += 1;
            }
        }
        child.kill().unwrap();
        child.wait().unwrap();
        let last = *acked.keys().next_back().unwrap();

        // Recovery keeps every acknowledged commit; a new archiver takes
        // over and ships the rest.
        let db = Database::open(&db_path, options()).unwrap();
        let seq = seq_of(&db);
        assert!(seq >= last, "round {round}: acknowledged commit {last} lost ({seq} recovered)");
        let (mut archiver, _) = Archiver::start(&db, Store::from_url(&url).unwrap(), archiver_options()).unwrap();
        archiver.ship().unwrap();
        drop(archiver);
        drop(db);
        assert_eq!(contents(&db_path), model(seq), "round {round}: the recovered database");

        // The archive restores exactly the recovered database...
        let store = Store::from_url(&url).unwrap();
        let latest = dir.path().join(format!("latest{round}.db"));
        restore(&store, &latest, None, Target::Latest).unwrap();
        assert_eq!(contents(&latest), model(seq), "round {round}: restore to the latest commit");
        // ...and every acknowledged commit of this round that a segment
        // holds, as that commit left it. The archive slot lives in the
        // -shm, which dies with the last process: when the WAL restarted
        // after the archiver's last shipment, the next archiver cannot
        // tell that restart from one made while no archiver held the WAL,
        // so it takes a new snapshot and notes a gap; commits between the
        // archive's end and that snapshot are then not restorable to the
        // commit (a clear error), never restored to a wrong state.
        let segments: Vec<(u64, u64)> = store
            .list()
            .unwrap()
            .iter()
            .filter_map(|k| k.strip_prefix("00000001/wal/")?.split_once('-'))
            .map(|(a, b)| (u64::from_str_radix(a, 16).unwrap(), u64::from_str_radix(b, 16).unwrap()))
            .collect();
        let this_round: Vec<(u64, u64)> = acked.range(last + 1 - n..).map(|(s, l)| (*s, *l)).collect();
        for (i, &(s, lsn)) in this_round.iter().enumerate().filter(|(i, _)| i % 23 == 5) {
            let p = dir.path().join(format!("at{round}-{i}.db"));
            let archived = segments.iter().any(|&(a, b)| a <= lsn && lsn <= b);
            match restore(&store, &p, None, Target::Lsn(lsn)) {
                Ok(info) => {
                    assert_eq!(info.lsn, lsn, "round {round}: restore stops exactly at the commit");
                    assert_eq!(contents(&p), model(s), "round {round}: restore to LSN {lsn:016x} (commit {s})");
                    restored += 1;
                }
                Err(e) => {
                    assert!(!archived, "round {round}: commit {s} at {lsn:016x} is archived but: {e}");
                    assert!(e.to_string().contains("gap"), "round {round}: {e}");
                    unreachable_in_gaps += 1;
                }
            }
        }
    }
    assert!(
        restored >= 6,
        "{restored} restores to acknowledged commits ({unreachable_in_gaps} in gaps)"
    );
}
