//! Real process kills with concurrent committers (group commit): a child
//! process runs `THREADS` threads on one `Database` handle, each committing
//! its own sequence of single-thread-owned keys with `SyncMode::Full`, and
//! prints `ACK <thread> <seq>` after each commit that returned `Ok`; the
//! parent SIGKILLs it at random moments, reopens the database and checks
//! that it passes `verify()`, that no acknowledged commit of any thread is
//! lost, that each thread's committed state is exactly a prefix of its
//! sequence (no partial transaction visible), and that at most the one
//! commit in flight per thread is durable without its acknowledgement.
//! The commits of the threads share their fsyncs (one sync covers every
//! commit appended before it), so a kill lands between the append of a
//! commit and the sync that covers it, in the sync, and in the wake-up of
//! the commits it covered.
//!
//! The child is this test binary re-executed with the test
//! `concurrent_kill_child` selected by exact name and
//! `WALDEN_KILL_CONCURRENT_CHILD=<db path>` in its environment. Knobs:
//! `WALDEN_KILLS` (number of kills, default 60) and `WALDEN_KILL_SEED`.
//!
//! Commit `seq` (1, 2, ...) of thread `t` puts `c<t><seq BE>` =
//! `value_for(t, seq)` (0 to 300 bytes, one in 16 larger than a page), sets
//! `last<t>` = seq and deletes `c<t><seq - WINDOW BE>`.
#![cfg(unix)]

use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{ChildStdout, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use walden::{Database, Options, SyncMode};
use walden_testkit::sim::SimRng;
use walden_testkit::workload::value;

type BoxResult<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

const CHILD_TEST: &str = "concurrent_kill_child";
const CHILD_ENV: &str = "WALDEN_KILL_CONCURRENT_CHILD";
const KILLS_ENV: &str = "WALDEN_KILLS";
const SEED_ENV: &str = "WALDEN_KILL_SEED";
const DEFAULT_KILLS: u64 = 60;
/// Committing threads in the child.
const THREADS: usize = 6;
/// Each thread keeps the keys of its last `WINDOW` commits.
const WINDOW: u64 = 64;
/// A child that was not killed after this long stops by itself (the parent then fails).
const CHILD_LIFETIME: Duration = Duration::from_secs(60);

fn options() -> Options {
    Options {
        sync: SyncMode::Full,
        cache_pages: 32,
        autocheckpoint_frames: 200,
        ..Options::default()
    }
}

fn key(t: usize, seq: u64) -> Vec<u8> {
    let mut k = vec![b'c', t as u8];
    k.extend_from_slice(&seq.to_be_bytes());
    k
}

fn last_key(t: usize) -> Vec<u8> {
    vec![b'l', t as u8]
}

fn value_for(t: usize, seq: u64) -> Vec<u8> {
    let k = key(t, seq);
    let len = if seq % 16 == 7 {
        4_200 + SimRng(seq ^ ((t as u64) << 48)).below(3_000) as usize
    } else {
        SimRng(seq ^ ((t as u64) << 48)).below(301) as usize
    };
    value(&k, len, seq as usize)
}

fn last_of(db: &Database, t: usize) -> BoxResult<u64> {
    let r = db.begin_read()?;
    Ok(match r.get(last_key(t))? {
        Some(v) => u64::from_be_bytes(v.as_slice().try_into()?),
        None => 0,
    })
}

fn commit(db: &Database, t: usize, seq: u64) -> BoxResult<()> {
    let w = db.begin_write()?;
    w.put(key(t, seq), value_for(t, seq))?;
    w.put(last_key(t), seq.to_be_bytes())?;
    if seq > WINDOW && !w.delete(key(t, seq - WINDOW))? {
        return Err(format!("thread {t} commit {seq}: key {} was missing", seq - WINDOW).into());
    }
    if w.commit()?.is_none() {
        return Err(format!("thread {t} commit {seq} wrote nothing").into());
    }
    Ok(())
}

/// Thread `t`'s state after recovery: its last commit, checked against the
/// content (every key of the window there with its value, nothing beyond).
fn check_thread(db: &Database, t: usize) -> Result<u64, String> {
    let last = last_of(db, t).map_err(|e| e.to_string())?;
    let r = db.begin_read().map_err(|e| e.to_string())?;
    let get = |s: u64| r.get(key(t, s)).map_err(|e| e.to_string());
    for s in last.saturating_sub(WINDOW - 1).max(1)..=last {
        if get(s)?.as_deref() != Some(&value_for(t, s)[..]) {
            return Err(format!("thread {t}: last is {last}, but commit {s}'s key is missing or wrong"));
        }
    }
    if get(last + 1)?.is_some() {
        return Err(format!("thread {t}: last is {last}, but commit {}'s key is there", last + 1));
    }
    if last > WINDOW && get(last - WINDOW)?.is_some() {
        return Err(format!("thread {t}: last is {last}, but {} was not deleted", last - WINDOW));
    }
    Ok(last)
}

/// With `WALDEN_KILL_CONCURRENT_CHILD=<db path>`: the committing child,
/// which runs until it is killed. Without it: a short run of the same
/// threads with no kill, then the checks of the parent.
#[test]
fn concurrent_kill_child() {
    if let Some(path) = std::env::var_os(CHILD_ENV) {
        let print = |l: &str| -> std::io::Result<()> {
            let mut out = std::io::stdout().lock();
            writeln!(out, "{l}")?;
            out.flush()
        };
        // A newline first: libtest has printed `test concurrent_kill_child ... ` without one.
        if let Err(e) = print("")
            .map_err(Into::into)
            .and_then(|()| run_child(Path::new(&path), u64::MAX, &print))
        {
            panic!("concurrent kill child failed: {e}");
        }
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("self.db");
    for round in 1..=2u64 {
        let acks = std::sync::atomic::AtomicU64::new(0);
        run_child(&path, 40, &|l: &str| {
            if l.starts_with("ACK ") {
                acks.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
            Ok(())
        })
        .unwrap();
        assert_eq!(acks.into_inner(), 40 * THREADS as u64);
        let db = Database::open(&path, options()).unwrap();
        assert!(db.verify().unwrap().is_ok());
        for t in 0..THREADS {
            assert_eq!(check_thread(&db, t), Ok(40 * round));
        }
    }
}

/// Opens the database, prints `READY`, and runs the threads, each for up
/// to `commits` commits, printing `ACK <t> <seq>` after each.
fn run_child(path: &Path, commits: u64, print: &(dyn Fn(&str) -> std::io::Result<()> + Sync)) -> BoxResult<()> {
    let db = Database::open(path, options())?;
    let start: Vec<u64> = (0..THREADS).map(|t| last_of(&db, t)).collect::<BoxResult<_>>()?;
    print("READY")?;
    let until = std::time::Instant::now() + CHILD_LIFETIME;
    std::thread::scope(|s| {
        let hs: Vec<_> = (0..THREADS)
            .map(|t| {
                let (db, first) = (&db, start[t] + 1);
                s.spawn(move || -> BoxResult<()> {
                    for seq in first..first.saturating_add(commits) {
                        if std::time::Instant::now() > until {
                            return Err("not killed in time".into());
                        }
                        commit(db, t, seq)?;
                        print(&format!("ACK {t} {seq}"))?;
                    }
                    Ok(())
                })
            })
            .collect();
        hs.into_iter().try_for_each(|h| {
            h.join()
                .map_err(|_| -> Box<dyn std::error::Error + Send + Sync> { "a thread panicked".into() })?
        })
    })
}

/// What the child printed before it died: whether it got to `READY`, and
/// the acknowledgements per thread, in order.
fn read_child(stdout: ChildStdout, ready: mpsc::Sender<()>) -> (bool, Vec<Vec<u64>>, Vec<String>) {
    let mut acks = vec![Vec::new(); THREADS];
    let (mut is_ready, mut bad) = (false, Vec::new());
    let mut r = BufReader::new(stdout);
    let mut line = String::new();
    loop {
        line.clear();
        match r.read_line(&mut line) {
            Ok(0) | Err(_) => break,
            Ok(_) if !line.ends_with('\n') => break,
            Ok(_) => {}
        }
        let l = line.trim_end();
        if l == "READY" && !is_ready {
            is_ready = true;
            let _ = ready.send(());
        } else if let Some(rest) = l.strip_prefix("ACK ") {
            let mut it = rest.split(' ').map(|x| x.parse::<u64>().ok());
            match (it.next().flatten(), it.next().flatten()) {
                (Some(t), Some(s)) if is_ready && (t as usize) < THREADS => acks[t as usize].push(s),
                _ => bad.push(l.to_string()),
            }
        } else if l.contains("ACK") || l.contains("READY") {
            bad.push(l.to_string());
        }
    }
    (is_ready, acks, bad)
}

#[test]
fn sigkill_during_concurrent_commits_loses_no_acknowledged_commit() {
    let env = |n: &str| std::env::var(n).ok().and_then(|v| v.trim().parse::<u64>().ok());
    let kills = env(KILLS_ENV).unwrap_or(DEFAULT_KILLS);
    let seed = env(SEED_ENV)
        .unwrap_or_else(|| SystemTime::now().duration_since(UNIX_EPOCH).map_or(1, |d| d.as_nanos() as u64) ^ u64::from(std::process::id()));
    println!("kills_concurrent: seed {seed} ({SEED_ENV}={seed} {KILLS_ENV}={kills} to rerun)");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kills.db");
    let stderr_path = dir.path().join("child-stderr.txt");
    let exe = std::env::current_exe().unwrap();
    let mut rng = SimRng(seed);
    let mut rand = |n: u64| rng.below(n);
    let mut last = [0u64; THREADS];
    let (mut acked, mut in_flight_durable) = (0u64, 0u64);
    for round in 0..kills {
        let fail = |m: String| -> ! { panic!("seed {seed}, round {round}: {m}") };
        let delay = Duration::from_micros(if rand(8) == 0 { rand(120_000) } else { rand(25_000) });
        let mut child = Command::new(&exe)
            .args([CHILD_TEST, "--exact", "--nocapture", "--test-threads=1"])
            .env(CHILD_ENV, &path)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(File::create(&stderr_path).unwrap())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, ready) = mpsc::channel();
        let reader = std::thread::spawn(move || read_child(stdout, tx));
        let _ = ready.recv_timeout(Duration::from_secs(30));
        std::thread::sleep(delay);
        child.kill().unwrap();
        let status = child.wait().unwrap();
        let (was_ready, acks, bad) = reader.join().unwrap();
        if status.signal() != Some(libc::SIGKILL) {
            let stderr = std::fs::read_to_string(&stderr_path).unwrap_or_default();
            fail(format!("the child ended with {status}, not killed; its stderr:\n{stderr}"));
        }
        if !bad.is_empty() || !was_ready {
            fail(format!("child output: ready {was_ready}, malformed {bad:?}"));
        }
        let db = Database::open(&path, options()).unwrap_or_else(|e| fail(format!("reopen: {e}")));
        match db.verify() {
            Ok(rep) if rep.is_ok() => {}
            other => fail(format!("verify after recovery: {other:?}")),
        }
        for t in 0..THREADS {
            let found = check_thread(&db, t).unwrap_or_else(|e| fail(e));
            let want: Vec<u64> = (last[t] + 1..).take(acks[t].len()).collect();
            if acks[t] != want {
                fail(format!("thread {t}: ACKs {:?} not consecutive from {}", acks[t], last[t] + 1));
            }
            let max_ack = acks[t].last().copied().unwrap_or(last[t]);
            if found < max_ack {
                fail(format!(
                    "thread {t}: acknowledged up to {max_ack}, recovered only up to {found}: {} acknowledged commits lost",
                    max_ack - found
                ));
            }
            if found > max_ack + 1 {
                fail(format!(
                    "thread {t}: recovered {found}, acknowledged {max_ack}: more than one commit in flight"
                ));
            }
            in_flight_durable += u64::from(found == max_ack + 1);
            acked += acks[t].len() as u64;
            last[t] = found;
        }
    }
    println!(
        "kills_concurrent: {kills} kills of {THREADS} committing threads, {acked} acknowledged commits, 0 lost, \
         {in_flight_durable} in-flight commits durable without their ack, last commits {last:?}"
    );
    assert!(acked > 0, "no commit was acknowledged in {kills} kills");
}
