//! Many processes on one database (the `-shm` wal-index and its locks,
//! `walden-std`'s `shm` module): reader, writer and checkpointer processes
//! keep a bank-transfer invariant on every snapshot; a process killed
//! while it holds each lock in turn never blocks the others and loses
//! nothing acknowledged; 200 rounds of random SIGKILLs; a torn wal-index
//! header left by a dead writer is repaired.
//!
//! The children are this test binary re-executed with the test `mp_child`
//! selected by exact name and `WALDEN_MP_ROLE`, `WALDEN_MP_DB` and
//! `WALDEN_MP_N` in their environment; they report on stdout (`ACK <seq>`
//! after each acknowledged commit, `HOLDING` when they hold a lock, `FAIL
//! <why>` when a check fails). Knobs: `WALDEN_MP_ROUNDS` (default 200) and
//! `WALDEN_MP_SEED`.
#![cfg(unix)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use walden::{CheckpointMode, Database, Error, Options, SyncMode};

const ROLE_ENV: &str = "WALDEN_MP_ROLE";
const DB_ENV: &str = "WALDEN_MP_DB";
const N_ENV: &str = "WALDEN_MP_N";
const CHILD_TEST: &str = "mp_child";

/// Accounts of the bank; each starts with `START`.
const ACCOUNTS: u64 = 16;
const START: u64 = 1000;
const TOTAL: u64 = ACCOUNTS * START;
const BANK: &str = "bank";
const SEQ: &[u8] = b"seq";

fn options() -> Options {
    Options {
        // A process kill keeps what the kernel was given: Normal is enough
        // for "acknowledged" to mean "survives a SIGKILL".
        sync: SyncMode::Normal,
        autocheckpoint_frames: 200,
        cache_pages: 32,
        ..Options::default()
    }
}

fn account(i: u64) -> Vec<u8> {
    format!("acct{i:02}").into_bytes()
}

fn be(v: &[u8]) -> u64 {
    u64::from_be_bytes(v.try_into().expect("8 bytes"))
}

fn mix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Creates the bank: every account at `START`, `seq` 0.
fn create_bank(path: &Path) {
    let db = Database::open(path, options()).expect("create");
    let w = db.begin_write().expect("write");
    let t = w.table(BANK).expect("table");
    for i in 0..ACCOUNTS {
        t.put(account(i), START.to_be_bytes()).expect("put");
    }
    t.put(SEQ, 0u64.to_be_bytes()).expect("put");
    w.commit().expect("commit");
}

/// One snapshot's check: the accounts sum to `TOTAL`; returns `seq`.
fn check_snapshot(db: &Database) -> Result<u64, String> {
    let r = db.begin_read().map_err(|e| format!("begin_read: {e}"))?;
    let t = r.table(BANK).map_err(|e| format!("table: {e}"))?;
    let mut sum = 0;
    for i in 0..ACCOUNTS {
        let v = t.get(account(i)).map_err(|e| format!("get: {e}"))?.ok_or("account missing")?;
        sum += be(&v);
    }
    let seq = be(&t.get(SEQ).map_err(|e| format!("get: {e}"))?.ok_or("seq missing")?);
    if sum != TOTAL {
        return Err(format!("accounts sum to {sum}, not {TOTAL}, at seq {seq}"));
    }
    Ok(seq)
}

/// Transfer `seq + 1`: a deterministic amount between two accounts.
fn transfer(db: &Database) -> Result<u64, Error> {
    let w = db.begin_write()?;
    let t = w.table(BANK)?;
    let seq = be(&t.get(SEQ)?.expect("seq")) + 1;
    let r = mix(seq);
    let (a, b) = (r % ACCOUNTS, (r >> 8) % ACCOUNTS);
    let va = be(&t.get(account(a))?.expect("a"));
    let amount = (r >> 16) % (va + 1);
    t.put(account(a), (va - amount).to_be_bytes())?;
    let vb = be(&t.get(account(b))?.expect("b"));
    t.put(account(b), (vb + amount).to_be_bytes())?;
    t.put(SEQ, seq.to_be_bytes())?;
    // Some filler, so that commits take several pages and checkpoints work.
    t.put(format!("log{:08}", seq % 512).as_bytes(), vec![seq as u8; (r % 600) as usize])?;
    w.commit()?;
    Ok(seq)
}

/// The child side: runs the role in `WALDEN_MP_ROLE` (a no-op test when
/// it is not set).
#[test]
fn mp_child() {
    let Ok(role) = std::env::var(ROLE_ENV) else { return };
    let path = PathBuf::from(std::env::var(DB_ENV).expect("db path"));
    let n: u64 = std::env::var(N_ENV).ok().and_then(|s| s.parse().ok()).unwrap_or(100);
    let fail = |msg: String| -> ! {
        println!("FAIL {msg}");
        std::process::exit(1)
    };
    // The test harness has printed "test mp_child ... " without a newline.
    println!();
    let sleep_forever = || loop {
        std::thread::sleep(Duration::from_secs(1));
    };
    if role == "open" {
        println!("OPENING");
        let _db = Database::open(&path, options()).unwrap_or_else(|e| fail(format!("open: {e}")));
        println!("OPEN");
        sleep_forever();
    }
    let db = Database::open(&path, options()).unwrap_or_else(|e| fail(format!("open: {e}")));
    match role.as_str() {
        "writer" => {
            for _ in 0..n {
                match transfer(&db) {
                    Ok(seq) => println!("ACK {seq}"),
                    Err(e) => fail(format!("transfer: {e}")),
                }
            }
        }
        "reader" => {
            let mut last = 0;
            for _ in 0..n {
                let seq = check_snapshot(&db).unwrap_or_else(|e| fail(e));
                if seq < last {
                    fail(format!("seq went back from {last} to {seq}"));
                }
                last = seq;
            }
        }
        "checkpointer" => {
            for i in 0..n {
                let mode = CheckpointMode::ALL[i as usize % CheckpointMode::ALL.len()];
                match db.checkpoint(mode) {
                    Ok(_) | Err(Error::Busy(_)) => {}
                    Err(e) => fail(format!("checkpoint {mode:?}: {e}")),
                }
                std::thread::sleep(Duration::from_millis(2));
            }
        }
        "hold-write" => {
            let w = db.begin_write().unwrap_or_else(|e| fail(format!("begin_write: {e}")));
            w.table(BANK)
                .and_then(|t| t.put(SEQ, u64::MAX.to_be_bytes()))
                .unwrap_or_else(|e| fail(format!("{e}")));
            println!("HOLDING");
            sleep_forever();
        }
        "hold-read" => {
            let _r = db.begin_read().unwrap_or_else(|e| fail(format!("begin_read: {e}")));
            println!("HOLDING");
            sleep_forever();
        }
        "commit-big" => {
            // One transaction of many pages: killed while it writes its frames.
            let w = db.begin_write().unwrap_or_else(|e| fail(format!("begin_write: {e}")));
            let t = w.table("big").unwrap_or_else(|e| fail(format!("{e}")));
            for i in 0..3000u32 {
                t.put(i.to_be_bytes(), [7u8; 900]).unwrap_or_else(|e| fail(format!("{e}")));
            }
            println!("COMMITTING");
            w.commit().unwrap_or_else(|e| fail(format!("commit: {e}")));
            println!("ACK big");
            sleep_forever();
        }
        "committers" => {
            // Four threads committing single puts under `Full` (group
            // commit), each acknowledging its own key.
            let full = Database::open(
                &path,
                Options {
                    sync: SyncMode::Full,
                    ..options()
                },
            )
            .unwrap_or_else(|e| fail(format!("open: {e}")));
            let out = std::sync::Arc::new(std::sync::Mutex::new(std::io::stdout()));
            let hs: Vec<_> = (0..4u64)
                .map(|t| {
                    let (db, out) = (full.clone(), out.clone());
                    std::thread::spawn(move || {
                        for i in 0..n {
                            let k = format!("t{t}:{i:08}");
                            let r = db.begin_write().and_then(|w| {
                                w.table("acks")?.put(k.as_bytes(), b"x")?;
                                w.commit()
                            });
                            match r {
                                Ok(_) => {
                                    use std::io::Write;
                                    let mut o = out.lock().expect("stdout");
                                    let _ = writeln!(o, "ACK {k}");
                                    let _ = o.flush();
                                }
                                Err(e) => println!("FAIL commit {k}: {e}"),
                            }
                        }
                    })
                })
                .collect();
            for h in hs {
                let _ = h.join();
            }
        }
        "checkpoint-big" => {
            println!("CHECKPOINTING");
            db.checkpoint(CheckpointMode::Full)
                .unwrap_or_else(|e| fail(format!("checkpoint: {e}")));
            println!("DONE");
            sleep_forever();
        }
        r => fail(format!("unknown role {r}")),
    }
    println!("DONE");
}

/// A running child and the lines it printed so far.
struct Kid {
    child: Child,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Kid {
    fn spawn(path: &Path, role: &str, n: u64) -> Kid {
        let mut child = Command::new(std::env::current_exe().expect("exe"))
            .args([CHILD_TEST, "--exact", "--nocapture", "--test-threads=1"])
            .env(ROLE_ENV, role)
            .env(DB_ENV, path)
            .env(N_ENV, n.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn");
        let out = child.stdout.take().expect("stdout");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for l in BufReader::new(out).lines().map_while(Result::ok) {
                if tx.send(l).is_err() {
                    break;
                }
            }
        });
        Kid {
            child,
            lines,
            seen: Vec::new(),
        }
    }

    /// Waits for a line starting with `what` (false: the child ended or
    /// `within` passed first).
    fn wait_for(&mut self, what: &str, within: Duration) -> bool {
        let end = Instant::now() + within;
        while let Some(left) = end.checked_duration_since(Instant::now()) {
            match self.lines.recv_timeout(left) {
                Ok(l) => {
                    let hit = l.starts_with(what);
                    self.seen.push(l);
                    if hit {
                        return true;
                    }
                }
                Err(_) => return false,
            }
        }
        false
    }

    fn drain(&mut self) {
        while let Ok(l) = self.lines.try_recv() {
            self.seen.push(l);
        }
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        // The reader thread sees EOF once the pipe closes.
        while let Ok(l) = self.lines.recv_timeout(Duration::from_secs(5)) {
            self.seen.push(l);
        }
    }

    /// Waits for the child to exit; panics unless it succeeded.
    fn finish(mut self, what: &str) -> Vec<String> {
        let st = self.child.wait().expect("wait");
        while let Ok(l) = self.lines.recv_timeout(Duration::from_secs(5)) {
            self.seen.push(l);
        }
        let fails: Vec<&String> = self.seen.iter().filter(|l| l.starts_with("FAIL")).collect();
        assert!(st.success() && fails.is_empty(), "{what}: {st}, {fails:?}");
        self.seen
    }

    fn failures(&self) -> Vec<String> {
        self.seen.iter().filter(|l| l.starts_with("FAIL")).cloned().collect()
    }

    fn last_ack(&self) -> u64 {
        self.seen
            .iter()
            .filter_map(|l| l.strip_prefix("ACK ")?.parse().ok())
            .max()
            .unwrap_or(0)
    }
}

/// After children died: the database opens, verifies clean, keeps the
/// invariant, has every acknowledged transfer, and takes a new writer and a
/// `Truncate` checkpoint (no dead holder's lock or read mark is left).
fn check_after(path: &Path, acked: u64, what: &str) -> u64 {
    let db = Database::open(path, options()).unwrap_or_else(|e| panic!("{what}: open: {e}"));
    let report = db.verify().unwrap_or_else(|e| panic!("{what}: verify: {e}"));
    assert!(report.is_ok(), "{what}: {report:?}");
    let seq = check_snapshot(&db).unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(seq >= acked, "{what}: seq {seq} below the acknowledged {acked}");
    let next = transfer(&db).unwrap_or_else(|e| panic!("{what}: a writer after the kill: {e}"));
    assert_eq!(next, seq + 1);
    db.checkpoint(CheckpointMode::Truncate)
        .unwrap_or_else(|e| panic!("{what}: truncate after the kill: {e}"));
    next
}

#[test]
fn readers_writer_and_checkpointer_processes_keep_the_invariant() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bank.db");
    create_bank(&path);
    let readers: Vec<Kid> = (0..3).map(|_| Kid::spawn(&path, "reader", 400)).collect();
    let writer = Kid::spawn(&path, "writer", 300);
    let ckpt = Kid::spawn(&path, "checkpointer", 60);
    let acks = writer.finish("writer");
    assert_eq!(acks.iter().filter(|l| l.starts_with("ACK")).count(), 300);
    for (i, r) in readers.into_iter().enumerate() {
        r.finish(&format!("reader {i}"));
    }
    ckpt.finish("checkpointer");
    assert_eq!(check_after(&path, 300, "after the run"), 301);
}

#[test]
fn a_process_killed_holding_a_lock_never_blocks_the_others() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bank.db");
    create_bank(&path);
    let mut acked = 0;
    // Killed while holding the write lock (with an uncommitted change), and
    // while holding a read mark.
    for role in ["hold-write", "hold-read"] {
        let db = Database::open(&path, options()).unwrap();
        for _ in 0..20 {
            acked = transfer(&db).unwrap();
        }
        assert_eq!(check_snapshot(&db).unwrap(), acked);
        let mut k = Kid::spawn(&path, role, 0);
        assert!(k.wait_for("HOLDING", Duration::from_secs(30)), "{role}: {:?}", k.seen);
        if role == "hold-write" {
            let quick = Options {
                busy_timeout: Duration::ZERO,
                ..options()
            };
            let other = Database::open(&path, quick).unwrap();
            assert!(matches!(other.begin_write(), Err(Error::Busy(_))), "{role}: the write lock is held");
        } else {
            // The reader's snapshot holds the WAL: no restart yet.
            for _ in 0..5 {
                acked = transfer(&db).unwrap();
            }
            assert_eq!(check_snapshot(&db).unwrap(), acked);
            let quick = Options {
                busy_timeout: Duration::from_millis(50),
                ..options()
            };
            let other = Database::open(&path, quick).unwrap();
            assert!(other.checkpoint(CheckpointMode::Truncate).is_err(), "{role}: a read mark is held");
        }
        k.kill();
        // Within the busy timeout: the kernel released the lock.
        let started = Instant::now();
        acked = transfer(&db).unwrap_or_else(|e| panic!("{role}: writer after the kill: {e}"));
        db.checkpoint(CheckpointMode::Truncate)
            .unwrap_or_else(|e| panic!("{role}: truncate after the kill: {e}"));
        assert!(started.elapsed() < Duration::from_secs(5), "{role}: {:?}", started.elapsed());
        assert_eq!(check_snapshot(&db).unwrap(), acked);
        drop(db);
        acked = check_after(&path, acked, role);
    }
    // Killed mid-commit (a transaction of thousands of frames), mid-checkpoint
    // (a WAL of thousands of frames) and mid-recovery (the first opener of
    // such a WAL), at a few delays each.
    for (role, anchor) in [
        ("commit-big", "COMMITTING"),
        ("checkpoint-big", "CHECKPOINTING"),
        ("open", "OPENING"),
    ] {
        for delay_ms in [0u64, 1, 3, 8, 20] {
            if role != "commit-big" {
                // A large WAL to checkpoint or recover.
                let db = Database::open(
                    &path,
                    Options {
                        autocheckpoint_frames: 0,
                        ..options()
                    },
                )
                .unwrap();
                let w = db.begin_write().unwrap();
                let t = w.table("big").unwrap();
                for i in 0..3000u32 {
                    t.put(i.to_be_bytes(), [delay_ms as u8; 900]).unwrap();
                }
                w.commit().unwrap();
                acked = transfer(&db).unwrap();
            }
            let mut k = Kid::spawn(&path, role, 0);
            assert!(k.wait_for(anchor, Duration::from_secs(30)), "{role}: {:?}", k.seen);
            std::thread::sleep(Duration::from_millis(delay_ms));
            k.kill();
            assert!(k.failures().is_empty(), "{role}: {:?}", k.failures());
            acked = check_after(&path, acked, &format!("{role} killed after {delay_ms} ms"));
            let db = Database::open(&path, options()).unwrap();
            let r = db.begin_read().unwrap();
            if let Ok(t) = r.table("big") {
                // Whole or absent: never part of a transaction.
                let n = t.len().unwrap();
                assert!(n == 0 || n == 3000, "{role}: {n} of 3000 entries of one transaction");
            }
        }
    }
}

/// Rounds of a writer and two readers in their own processes, one of them
/// killed at a random moment; the survivors must go on (readers' checks
/// hold, the next round's writer gets the lock) and nothing acknowledged is
/// lost.
#[test]
fn rounds_of_random_sigkills() {
    let rounds: u32 = std::env::var("WALDEN_MP_ROUNDS").ok().and_then(|s| s.parse().ok()).unwrap_or(200);
    let seed: u64 = std::env::var("WALDEN_MP_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos() as u64);
    println!("rounds_of_random_sigkills: WALDEN_MP_SEED={seed} WALDEN_MP_ROUNDS={rounds}");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bank.db");
    create_bank(&path);
    let mut acked = 0;
    let started = Instant::now();
    let mut victims = [0u32; 3];
    for round in 0..rounds {
        let r = mix(seed ^ round as u64);
        let ctx = format!("seed {seed}, round {round}");
        let mut kids = vec![
            Kid::spawn(&path, "writer", 1_000_000),
            Kid::spawn(&path, "reader", 1_000_000),
            Kid::spawn(&path, "reader", 1_000_000),
        ];
        // Let the writer start, then kill one of the three at a random moment.
        assert!(
            kids[0].wait_for("ACK", Duration::from_secs(30)) || !kids[0].failures().is_empty(),
            "{ctx}: {:?}",
            kids[0].seen
        );
        let victim = (r % 3) as usize;
        victims[victim] += 1;
        std::thread::sleep(Duration::from_micros((r >> 40) & 0x3fff));
        kids[victim].kill();
        // The survivors go on for a moment, then stop.
        std::thread::sleep(Duration::from_millis(5));
        for k in &mut kids {
            k.drain();
            k.kill();
        }
        for (i, k) in kids.iter().enumerate() {
            assert!(k.failures().is_empty(), "{ctx}: child {i}: {:?}", k.failures());
        }
        acked = acked.max(kids[0].last_ack());
        if round % 20 == 19 || round + 1 == rounds {
            acked = check_after(&path, acked, &ctx);
        } else {
            let db = Database::open(&path, options()).unwrap();
            let seq = check_snapshot(&db).unwrap_or_else(|e| panic!("{ctx}: {e}"));
            assert!(seq >= acked, "{ctx}: seq {seq} below the acknowledged {acked}");
        }
    }
    println!(
        "rounds_of_random_sigkills: {rounds} rounds in {:.1?}; killed {} writers and {} readers; {acked} transfers acknowledged, 0 lost",
        started.elapsed(),
        victims[0],
        victims[1] + victims[2]
    );
}

/// Concurrent committers (group commit) in a process killed at random
/// moments: every commit acknowledged by any thread survives, and the
/// database verifies clean.
#[test]
fn killed_group_committers_lose_nothing_acknowledged() {
    let seed: u64 = std::env::var("WALDEN_MP_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos() as u64);
    println!("killed_group_committers_lose_nothing_acknowledged: WALDEN_MP_SEED={seed}");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gc.db");
    create_bank(&path);
    let mut acked: Vec<String> = Vec::new();
    for round in 0..30u64 {
        let mut k = Kid::spawn(&path, "committers", 1_000_000);
        assert!(k.wait_for("ACK", Duration::from_secs(30)), "round {round}: {:?}", k.seen);
        std::thread::sleep(Duration::from_micros(mix(seed ^ round) % 30_000));
        k.kill();
        assert!(k.failures().is_empty(), "round {round}: {:?}", k.failures());
        acked.extend(k.seen.iter().filter_map(|l| l.strip_prefix("ACK ").map(str::to_string)));
        let db = Database::open(&path, options()).unwrap();
        let r = db.begin_read().unwrap();
        let t = r.table("acks").unwrap();
        for key in &acked {
            assert!(
                t.get(key.as_bytes()).unwrap().is_some(),
                "seed {seed}, round {round}: acknowledged {key} lost"
            );
        }
    }
    let db = Database::open(&path, options()).unwrap();
    assert!(db.verify().unwrap().is_ok());
    println!(
        "killed_group_committers_lose_nothing_acknowledged: 30 kills, {} acknowledged commits, 0 lost",
        acked.len()
    );
}

/// A writer that dies between the two copies of the wal-index header
/// leaves them different: the next reader repairs the header under the
/// write lock (copy 1 is the newer, whole header) instead of spinning.
#[test]
fn a_torn_wal_index_header_is_repaired() {
    use std::os::unix::fs::FileExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bank.db");
    create_bank(&path);
    let db = Database::open(&path, options()).unwrap();
    let seq = transfer(&db).unwrap();
    let shm = open_shm(&path);
    let mut hdr = [0u8; 96];
    shm.read_exact_at(&mut hdr, 0).unwrap();
    assert_eq!(hdr[..48], hdr[48..], "the two copies are equal after a commit");
    // Copy 0 as a dead writer leaves it: half of a different header.
    let mut torn = hdr[..24].to_vec();
    torn[0] ^= 0x5a;
    shm.write_all_at(&torn, 0).unwrap();
    let other = Database::open(&path, options()).unwrap();
    assert_eq!(check_snapshot(&other).unwrap(), seq);
    shm.read_exact_at(&mut hdr, 0).unwrap();
    assert_eq!(hdr[..48], hdr[48..], "the repair makes the copies equal");
    assert_eq!(transfer(&db).unwrap(), seq + 1);
}

/// An appended commit waits for the sync lock however short the busy
/// timeout: another connection (here a lock held on byte 139 of the -shm,
/// as a process syncing the WAL holds it) holds it only for one fsync, so
/// giving up at once would leave the commit unacknowledged under a merely
/// concurrent sync or checkpoint (seen as a flaky `Busy` in
/// `tests/snapshot.rs` with `busy_timeout: 0`).
#[test]
fn a_commit_waits_for_the_sync_lock_even_with_no_busy_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bank.db");
    create_bank(&path);
    // A first handle waits (the busy timeout) for the -shm's DMS lock,
    // which a child process of a parallel test may hold for an instant
    // (it inherits the descriptor between fork and exec); the handle under
    // test then shares its node and never waits at open.
    let _first = Database::open(&path, options()).unwrap();
    let db = Database::open(
        &path,
        Options {
            busy_timeout: Duration::ZERO,
            ..options()
        },
    )
    .unwrap();
    let shm = open_shm(&path);
    let lock = |kind: libc::c_short| ofd_lock(&shm, SYNC_LOCK_BYTE, kind);
    assert_eq!(lock(libc::F_WRLCK as libc::c_short), 0, "the sync lock is free");
    let released = std::sync::atomic::AtomicBool::new(false);
    let seq = std::thread::scope(|s| {
        s.spawn(|| {
            std::thread::sleep(Duration::from_millis(300));
            released.store(true, std::sync::atomic::Ordering::SeqCst);
            assert_eq!(lock(libc::F_UNLCK as libc::c_short), 0);
        });
        let seq = transfer(&db).expect("the commit waits for the sync lock, then is acknowledged");
        // The flag is set before the unlock, so it is set if the commit
        // waited for the lock.
        assert!(
            released.load(std::sync::atomic::Ordering::SeqCst),
            "a commit acknowledged while another held the sync lock"
        );
        seq
    });
    drop(db);
    let db = Database::open(&path, options()).unwrap();
    assert_eq!(check_snapshot(&db).unwrap(), seq);
}

/// The -shm file of the database at `path`, opened for reading and
/// writing as another process maps it.
fn open_shm(path: &Path) -> std::fs::File {
    std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(walden::shm_path(path))
        .unwrap()
}

/// The sync lock's byte in the -shm file (docs/FORMAT.md section 11).
const SYNC_LOCK_BYTE: i64 = 139;

/// An OFD lock (`F_WRLCK`) or unlock (`F_UNLCK`) of one byte of `f`, as
/// another process holding a wal-index lock takes it; 0 on success.
fn ofd_lock(f: &std::fs::File, byte: i64, kind: libc::c_short) -> i32 {
    use std::os::fd::AsRawFd;
    // SAFETY: an all-zero flock is a valid value of the plain C struct.
    let mut fl: libc::flock = unsafe { std::mem::zeroed() };
    fl.l_type = kind;
    fl.l_whence = libc::SEEK_SET as libc::c_short;
    fl.l_start = byte;
    fl.l_len = 1;
    // SAFETY: a valid descriptor and a pointer to a live flock.
    unsafe { libc::fcntl(f.as_raw_fd(), libc::F_OFD_SETLK, &fl) }
}

/// A wal-index header torn while its publisher holds the sync lock (a
/// publisher preempted between the two copies; here a torn copy 0 and the
/// sync byte held by the test) is `Protocol` to the core, which cannot
/// repair it without that lock: `begin_write` retries it within the busy
/// timeout, as `begin_read` does, instead of failing (seen as
/// `begin_write: Protocol` with 16 committing threads on 2 cores in
/// walden-commits).
#[test]
fn begin_write_waits_out_a_header_torn_under_the_sync_lock() {
    use std::os::unix::fs::FileExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bank.db");
    create_bank(&path);
    let db = Database::open(&path, options()).unwrap();
    let seq = transfer(&db).unwrap();
    let shm = open_shm(&path);
    assert_eq!(ofd_lock(&shm, SYNC_LOCK_BYTE, libc::F_WRLCK as libc::c_short), 0);
    let mut hdr = [0u8; 48];
    shm.read_exact_at(&mut hdr, 0).unwrap();
    hdr[0] ^= 0x5a;
    shm.write_all_at(&hdr[..24], 0).unwrap();
    let released = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|s| {
        s.spawn(|| {
            std::thread::sleep(Duration::from_millis(300));
            released.store(true, std::sync::atomic::Ordering::SeqCst);
            assert_eq!(ofd_lock(&shm, SYNC_LOCK_BYTE, libc::F_UNLCK as libc::c_short), 0);
        });
        assert_eq!(transfer(&db).expect("begin_write waits for the header's repair"), seq + 1);
        assert!(
            released.load(std::sync::atomic::Ordering::SeqCst),
            "the torn header was repaired while the sync lock was held"
        );
    });
    let other = Database::open(&path, options()).unwrap();
    assert_eq!(check_snapshot(&other).unwrap(), seq + 1);
}
