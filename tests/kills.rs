//! Real process kills: a child process writes through the std backend with
//! `SyncMode::Full` and prints `ACK <seq>` after each commit that returned
//! `Ok`; the parent SIGKILLs it at random moments (during start-up, open and
//! recovery, in the middle of commits and of checkpoints), reopens the
//! database, and checks that it passes `verify()`, that every acknowledged
//! commit is there with exactly its content, and that the committed state is
//! exactly a prefix of the commit sequence (no partial transaction visible).
//!
//! The child is this test binary re-executed with the test `kill_child_writer`
//! selected by exact name and `WALDEN_KILL_CHILD=<db path>` in its
//! environment. Knobs: `WALDEN_KILLS` (number of kills, default 240) and
//! `WALDEN_KILL_SEED` (the seed of the kill delays; printed at the start).
//!
//! Commit `seq` (1, 2, ...) is one write transaction that, in the default
//! table, puts `k<seq as u64 BE>` = `value_for(seq)` (0 to 300 bytes, one in
//! 16 above the page size, one in 97 of 20 to 70 KB, as large as the
//! 16-page cache), sets `last` = seq and deletes `k<seq - WINDOW>`; every
//! third commit also puts `<seq BE>` = `side_value(seq)` in the table `side`,
//! sets its `count` to seq / 3 and deletes `<seq - SIDE_WINDOW BE>`. So the
//! whole content after commit `L` is a function of `L` alone.
#![cfg(unix)]

use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{ChildStdout, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use walden::{CheckpointMode, Database, Error, Options, SyncMode};

type BoxResult<T> = Result<T, Box<dyn std::error::Error>>;

/// The test that acts as the writer when `CHILD_ENV` is set.
const CHILD_TEST: &str = "kill_child_writer";
const CHILD_ENV: &str = "WALDEN_KILL_CHILD";
const KILLS_ENV: &str = "WALDEN_KILLS";
const SEED_ENV: &str = "WALDEN_KILL_SEED";
const DEFAULT_KILLS: u32 = 240;

/// The default table keeps the entries of the last `WINDOW` commits.
const WINDOW: u64 = 256;
/// Every `SIDE_EVERY`-th commit writes to the table `side` ...
const SIDE_EVERY: u64 = 3;
/// ... which keeps the entries of the last `SIDE_WINDOW` commits (a multiple of `SIDE_EVERY`).
const SIDE_WINDOW: u64 = 300;
/// The child runs a checkpoint after every `CHECKPOINT_EVERY`-th commit.
const CHECKPOINT_EVERY: u64 = 16;
const SIDE: &str = "side";
const LAST: &[u8] = b"last";
const COUNT: &[u8] = b"count";
/// A child that was not killed after this long stops by itself (the parent then fails).
const CHILD_LIFETIME: Duration = Duration::from_secs(60);

fn options() -> Options {
    Options {
        sync: SyncMode::Full,
        // Small: the largest transactions may spill dirty pages to the WAL before the commit.
        cache_pages: 16,
        // Automatic checkpoints too, at the end of some commits.
        autocheckpoint_frames: 100,
        ..Options::default()
    }
}

// ---------------------------------------------------------------------------------------
// Deterministic content
// ---------------------------------------------------------------------------------------

/// splitmix64's finaliser.
fn mix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn main_key(seq: u64) -> [u8; 9] {
    let mut k = [b'k'; 9];
    k[1..].copy_from_slice(&seq.to_be_bytes());
    k
}

fn value_len(seq: u64) -> usize {
    let h = mix(seq);
    if seq.is_multiple_of(97) {
        20_000 + (h % 50_000) as usize // a long overflow chain, up to the size of the 16-page cache
    } else if seq % 16 == 5 {
        4_097 + (h % 6_000) as usize // larger than a page: overflow pages
    } else {
        (h % 301) as usize // empty to 300 bytes
    }
}

fn value_for(seq: u64) -> Vec<u8> {
    let len = value_len(seq);
    let mut v = Vec::with_capacity(len + 8);
    v.extend_from_slice(&seq.to_be_bytes());
    let mut x = mix(seq ^ 0x5EED) | 1;
    while v.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        v.extend_from_slice(&x.to_le_bytes());
    }
    v.truncate(len);
    v
}

fn side_value(seq: u64) -> Vec<u8> {
    format!("side {seq} {:016x}", mix(!seq)).into_bytes()
}

/// Writes commit `seq` (see the module comment) as one write transaction.
fn commit_seq(db: &Database, seq: u64) -> BoxResult<()> {
    let w = db.begin_write()?;
    {
        let t = w.default_table()?;
        t.put(main_key(seq), value_for(seq))?;
        t.put(LAST, seq.to_be_bytes())?;
        if seq > WINDOW && !t.delete(main_key(seq - WINDOW))? {
            return Err(format!("commit {seq}: key {} was missing", seq - WINDOW).into());
        }
    }
    if seq.is_multiple_of(SIDE_EVERY) {
        let s = w.table(SIDE)?;
        s.put(seq.to_be_bytes(), side_value(seq))?;
        s.put(COUNT, (seq / SIDE_EVERY).to_be_bytes())?;
        if seq > SIDE_WINDOW && !s.delete((seq - SIDE_WINDOW).to_be_bytes())? {
            return Err(format!("commit {seq}: side key {} was missing", seq - SIDE_WINDOW).into());
        }
    }
    if w.commit()?.is_none() {
        return Err(format!("commit {seq} wrote nothing").into());
    }
    Ok(())
}

/// The checkpoint the writer runs after commit `seq`, if any.
fn checkpoint_after(seq: u64) -> Option<CheckpointMode> {
    if !seq.is_multiple_of(CHECKPOINT_EVERY) {
        return None;
    }
    Some(match (seq / CHECKPOINT_EVERY) % 8 {
        0 | 4 => CheckpointMode::Truncate,
        2 => CheckpointMode::Restart,
        6 => CheckpointMode::Full,
        _ => CheckpointMode::Passive,
    })
}

/// The last committed sequence number stored in the database (0: none).
fn stored_last(db: &Database) -> BoxResult<u64> {
    let r = db.begin_read()?;
    let last = r.get(LAST)?;
    Ok(match last {
        None => 0,
        Some(v) => u64::from_be_bytes(v.as_slice().try_into().map_err(|_| format!("`last` has {} bytes", v.len()))?),
    })
}

/// The writer: opens the database, resumes after its last commit and
/// commits `seq` = last + 1, last + 2, ... Reports `OPEN` before the open,
/// `READY <last>` after it, `ACK <seq>` after each commit that returned
/// `Ok`, and `CKPT <mode>` / `CKPT OK` around each checkpoint through `out`;
/// stops when `out` fails (the parent is gone), after `max_commits`, or after
/// `CHILD_LIFETIME`. Returns the last sequence number committed.
fn run_writer(path: &Path, max_commits: u64, mut out: impl FnMut(&str) -> std::io::Result<()>) -> BoxResult<u64> {
    let started = Instant::now();
    if out("OPEN").is_err() {
        return Ok(0);
    }
    let db = Database::open(path, options())?;
    let mut seq = stored_last(&db)?;
    if out(&format!("READY {seq}")).is_err() {
        return Ok(seq);
    }
    for _ in 0..max_commits {
        seq += 1;
        commit_seq(&db, seq)?;
        if out(&format!("ACK {seq}")).is_err() || started.elapsed() > CHILD_LIFETIME {
            break;
        }
        if let Some(mode) = checkpoint_after(seq) {
            if out(&format!("CKPT {mode:?}")).is_err() {
                break;
            }
            match db.checkpoint(mode) {
                Ok(_) | Err(Error::Busy(_)) => {}
                Err(e) => return Err(format!("checkpoint {mode:?} after commit {seq}: {e}").into()),
            }
            if out("CKPT OK").is_err() {
                break;
            }
        }
    }
    Ok(seq)
}

// ---------------------------------------------------------------------------------------
// The oracle
// ---------------------------------------------------------------------------------------

/// Compares a table's entries, in order, with `want`.
fn compare_table(name: &str, got: walden::Range<'_>, want: impl Iterator<Item = (Vec<u8>, Vec<u8>)>) -> Result<(), String> {
    let mut got = got;
    let mut n = 0usize;
    for (wk, wv) in want {
        match got.next() {
            None => return Err(format!("table {name}: entry {n} ({}) is missing", show_key(&wk))),
            Some(Err(e)) => return Err(format!("table {name}: scan failed at entry {n}: {e}")),
            Some(Ok((k, _))) if k != wk => {
                return Err(format!("table {name}: entry {n} is {}, expected {}", show_key(&k), show_key(&wk)));
            }
            Some(Ok((_, v))) if v != wv => {
                return Err(format!(
                    "table {name}: entry {n} ({}) has a wrong value ({} bytes, expected {})",
                    show_key(&wk),
                    v.len(),
                    wv.len()
                ));
            }
            Some(Ok(_)) => n += 1,
        }
    }
    match got.next() {
        None => Ok(()),
        Some(Ok((k, _))) => Err(format!("table {name}: unexpected extra entry {} after {n} entries", show_key(&k))),
        Some(Err(e)) => Err(format!("table {name}: scan failed after {n} entries: {e}")),
    }
}

fn show_key(k: &[u8]) -> String {
    match k.len() {
        9 if k[0] == b'k' => format!("k{}", u64::from_be_bytes(k[1..].try_into().unwrap_or_default())),
        8 => format!("#{}", u64::from_be_bytes(k.try_into().unwrap_or_default())),
        _ => format!("{:?}", String::from_utf8_lossy(k)),
    }
}

/// Checks the whole database: `verify()` is clean, and the content is
/// exactly that after commit `L`, where `L` is the stored `last`. Returns `L`.
fn check_state(db: &Database) -> Result<u64, String> {
    let report = db.verify().map_err(|e| format!("verify() failed: {e}"))?;
    if !report.is_ok() {
        return Err(format!("verify() found {} problems: {:?}", report.problem_count, report.problems));
    }
    let last = stored_last(db).map_err(|e| format!("reading `last`: {e}"))?;
    let r = db.begin_read().map_err(|e| format!("begin_read: {e}"))?;

    let lo = last.saturating_sub(WINDOW) + 1;
    let want = (lo..=last)
        .map(|s| (main_key(s).to_vec(), value_for(s)))
        .chain((last > 0).then(|| (LAST.to_vec(), last.to_be_bytes().to_vec())));
    let t = r.default_table().map_err(|e| format!("default table: {e}"))?;
    compare_table("default", t.iter().map_err(|e| e.to_string())?, want)?;

    let tables = r.list_tables().map_err(|e| format!("list_tables: {e}"))?;
    let side_last = last - last % SIDE_EVERY; // the last commit that wrote to `side`
    if side_last == 0 {
        if !tables.is_empty() {
            return Err(format!("after commit {last}: tables {tables:?}, expected none"));
        }
        return match r.table(SIDE) {
            Err(Error::NotFound { .. }) => Ok(last),
            Err(e) => Err(format!("table {SIDE}: {e}")),
            Ok(_) => Err(format!("after commit {last}: table {SIDE} exists")),
        };
    }
    if tables != [SIDE] {
        return Err(format!("after commit {last}: tables {tables:?}, expected [{SIDE:?}]"));
    }
    let lo = side_last.saturating_sub(SIDE_WINDOW) + SIDE_EVERY;
    let want = (lo..=side_last)
        .step_by(SIDE_EVERY as usize)
        .map(|s| (s.to_be_bytes().to_vec(), side_value(s)))
        .chain(std::iter::once((COUNT.to_vec(), (side_last / SIDE_EVERY).to_be_bytes().to_vec())));
    let s = r.table(SIDE).map_err(|e| format!("table {SIDE}: {e}"))?;
    compare_table(SIDE, s.iter().map_err(|e| e.to_string())?, want)?;
    Ok(last)
}

// ---------------------------------------------------------------------------------------
// The child
// ---------------------------------------------------------------------------------------

/// With `WALDEN_KILL_CHILD=<db path>`: the writer of `sigkill_during_writes_loses_no_acknowledged_commit`,
/// which runs until it is killed. Without it (a normal `cargo test`): a self-test of the writer
/// and the oracle, with no kill: two writer sessions (the second resumes), then the oracle
/// accepts the result and rejects a missing entry and a `last` ahead of the content.
#[test]
fn kill_child_writer() {
    if let Some(path) = std::env::var_os(CHILD_ENV) {
        let mut stdout = std::io::stdout().lock();
        // A newline first: libtest has printed `test kill_child_writer ... ` without one.
        let r = run_writer(Path::new(&path), u64::MAX, |line| {
            writeln!(stdout, "\n{line}")?;
            stdout.flush()
        });
        if let Err(e) = r {
            panic!("kill child writer failed: {e}");
        }
        return;
    }

    let dir = tempfile::Builder::new().prefix("walden-kills-self-").tempdir().unwrap();
    let path = dir.path().join("self.db");
    let mut lines = Vec::new();
    for _ in 0..2 {
        let last = run_writer(&path, 170, |l| {
            lines.push(l.to_string());
            Ok(())
        })
        .unwrap();
        assert_eq!(last as usize, lines.iter().filter(|l| l.starts_with("ACK ")).count());
    }
    let acked = |s: u64| {
        let ckpt = checkpoint_after(s).map(|m| [format!("CKPT {m:?}"), "CKPT OK".to_string()]);
        std::iter::once(format!("ACK {s}")).chain(ckpt.into_iter().flatten())
    };
    let want: Vec<String> = ["OPEN", "READY 0"]
        .map(String::from)
        .into_iter()
        .chain((1..=170).flat_map(acked))
        .chain(["OPEN", "READY 170"].map(String::from))
        .chain((171..=340).flat_map(acked))
        .collect();
    assert_eq!(lines, want);

    let db = Database::open(&path, options()).unwrap();
    assert_eq!(check_state(&db), Ok(340));
    assert_eq!(db.begin_read().unwrap().get(main_key(340 - WINDOW)).unwrap(), None);
    assert_eq!(
        db.begin_read().unwrap().get(main_key(340 - WINDOW + 1)).unwrap(),
        Some(value_for(340 - WINDOW + 1))
    );

    // An acknowledged entry missing: rejected.
    let w = db.begin_write().unwrap();
    assert!(w.delete(main_key(300)).unwrap());
    w.commit().unwrap();
    let err = check_state(&db).unwrap_err();
    assert!(err.contains("k300"), "{err}");

    // Restored, then `last` ahead of the content (a partial transaction): rejected.
    let w = db.begin_write().unwrap();
    w.put(main_key(300), value_for(300)).unwrap();
    w.commit().unwrap();
    assert_eq!(check_state(&db), Ok(340));
    let w = db.begin_write().unwrap();
    w.put(LAST, 341u64.to_be_bytes()).unwrap();
    w.commit().unwrap();
    let err = check_state(&db).unwrap_err();
    assert!(err.contains("entry 0 is k85, expected k86"), "{err}");
}

// ---------------------------------------------------------------------------------------
// The parent
// ---------------------------------------------------------------------------------------

/// xorshift64, seeded through `mix` so that any seed works.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(mix(seed) | 1)
    }
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// When the child is killed: `delay` after the spawn, after its `OPEN`
/// line (so that the kill lands in the open and WAL recovery), or after its
/// `READY` line (in commits and checkpoints).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Anchor {
    Spawn,
    Open,
    Ready,
}

fn kill_plan(rng: &mut Rng) -> (Anchor, Duration) {
    let us = Duration::from_micros;
    match rng.below(16) {
        0 => (Anchor::Spawn, Duration::ZERO),          // during fork/exec
        1 => (Anchor::Spawn, us(rng.below(10_000))),   // during the process's start-up
        2..=4 => (Anchor::Open, us(rng.below(1_500))), // during open and recovery
        5 => (Anchor::Ready, us(rng.below(150_000))),  // now and then a longer run
        _ => (Anchor::Ready, us(rng.below(30_000))),
    }
}

/// What the child printed before it died.
#[derive(Debug, Default)]
struct ChildOutput {
    /// Whether it printed `OPEN` (it was about to open the database).
    open: bool,
    /// `READY <last>`: the last commit it found at open.
    ready: Option<u64>,
    /// `ACK <seq>` lines, in order.
    acks: Vec<u64>,
    /// Whether its last protocol line was `CKPT <mode>`: killed in a checkpoint.
    in_checkpoint: bool,
    /// Protocol lines that did not parse or came out of order.
    malformed: Vec<String>,
}

/// Reads the child's stdout to its end, sending `OPEN` and `READY` as they
/// come. Only complete lines count: an acknowledgement is a whole line,
/// written at once (fewer than PIPE_BUF bytes).
fn read_child(stdout: ChildStdout, events: mpsc::Sender<Anchor>) -> ChildOutput {
    let mut out = ChildOutput::default();
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
        let number = |s: &str| s.parse::<u64>().ok();
        if l == "OPEN" && !out.open {
            out.open = true;
            let _ = events.send(Anchor::Open);
        } else if let Some(n) = l.strip_prefix("READY ") {
            match number(n) {
                Some(n) if out.open && out.ready.is_none() => {
                    out.ready = Some(n);
                    let _ = events.send(Anchor::Ready);
                }
                _ => out.malformed.push(l.to_string()),
            }
        } else if let Some(n) = l.strip_prefix("ACK ") {
            match number(n) {
                Some(n) if out.ready.is_some() && !out.in_checkpoint => out.acks.push(n),
                _ => out.malformed.push(l.to_string()),
            }
        } else if l == "CKPT OK" && out.in_checkpoint {
            out.in_checkpoint = false;
        } else if l
            .strip_prefix("CKPT ")
            .is_some_and(|m| ["Passive", "Full", "Restart", "Truncate"].contains(&m))
        {
            if out.acks.is_empty() || out.in_checkpoint {
                out.malformed.push(l.to_string());
            }
            out.in_checkpoint = true;
        } else if ["OPEN", "READY", "ACK", "CKPT"].iter().any(|w| l.contains(w)) {
            out.malformed.push(l.to_string());
        }
    }
    out
}

fn env_u64(name: &str) -> Option<u64> {
    let v = std::env::var(name).ok()?;
    Some(
        v.trim()
            .parse()
            .unwrap_or_else(|_| panic!("{name}={v:?} is not an unsigned integer")),
    )
}

#[derive(Debug, Default)]
struct Totals {
    acks: u64,
    before_open: u64,
    in_open: u64,
    before_first_ack: u64,
    durable_without_ack: u64,
    lost_acks: u64,
    in_checkpoint: u64,
}

#[test]
fn sigkill_during_writes_loses_no_acknowledged_commit() {
    let kills = env_u64(KILLS_ENV).unwrap_or(u64::from(DEFAULT_KILLS));
    let seed = env_u64(SEED_ENV).unwrap_or_else(|| {
        let t = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64);
        t ^ (u64::from(std::process::id()) << 32)
    });
    println!("kills: seed {seed} ({SEED_ENV}={seed} {KILLS_ENV}={kills} to rerun), {kills} kills");
    let rerun = format!("{SEED_ENV}={seed} {KILLS_ENV}={kills} cargo test --test kills");

    let dir = tempfile::Builder::new().prefix("walden-kills-").tempdir().unwrap();
    let path = dir.path().join("kills.db");
    let stderr_path = dir.path().join("child-stderr.txt");
    let exe = std::env::current_exe().unwrap();
    let mut rng = Rng::new(seed);
    let mut totals = Totals::default();
    let mut last = 0u64; // the last commit found after the previous kill
    let started = Instant::now();

    for round in 0..kills {
        let fail = |msg: String| -> ! { panic!("seed {seed}, round {round} of {kills} (rerun: {rerun}): {msg}") };
        let (anchor, delay) = kill_plan(&mut rng);
        let stderr = File::create(&stderr_path).unwrap();
        let mut child = Command::new(&exe)
            .args([CHILD_TEST, "--exact", "--nocapture", "--test-threads=1"])
            .env(CHILD_ENV, &path)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .unwrap_or_else(|e| fail(format!("spawn {}: {e}", exe.display())));
        let stdout = child.stdout.take().unwrap();
        let (tx, events) = mpsc::channel();
        let reader = std::thread::spawn(move || read_child(stdout, tx));
        if anchor != Anchor::Spawn {
            // A child that dies first closes the channel; the status check below reports it.
            while let Ok(e) = events.recv_timeout(Duration::from_secs(30)) {
                if e == anchor {
                    break;
                }
            }
        }
        std::thread::sleep(delay);
        child.kill().unwrap_or_else(|e| fail(format!("kill: {e}"))); // SIGKILL
        let status = child.wait().unwrap_or_else(|e| fail(format!("wait: {e}")));
        let out = reader.join().unwrap();
        if status.signal() != Some(libc::SIGKILL) {
            let stderr = std::fs::read_to_string(&stderr_path).unwrap_or_default();
            fail(format!("the child was not killed but ended with {status}; its stderr:\n{stderr}"));
        }

        // The protocol: OPEN, READY with the last recovered commit, then consecutive ACKs.
        if !out.malformed.is_empty() {
            fail(format!("malformed child output {:?}", out.malformed));
        }
        if let Some(r) = out.ready.filter(|&r| r != last) {
            fail(format!("the child resumed after commit {r}, but commit {last} was recovered"));
        }
        let want_acks: Vec<u64> = (last + 1..).take(out.acks.len()).collect();
        if out.acks != want_acks {
            let first_bad = out.acks.iter().zip(&want_acks).position(|(a, w)| a != w);
            fail(format!(
                "ACKs not consecutive from {}: ACK {:?} at position {first_bad:?}",
                last + 1,
                first_bad.map(|i| out.acks[i])
            ));
        }

        // Reopen (recovery) and check everything.
        let db = Database::open(&path, options()).unwrap_or_else(|e| fail(format!("reopen after the kill: {e}")));
        let found = check_state(&db).unwrap_or_else(|e| fail(format!("after recovery: {e}")));
        if found < last {
            fail(format!(
                "commit {last} was recovered after the previous kill, now only up to {found}"
            ));
        }
        if out.ready.is_none() && found != last {
            fail(format!(
                "the child died before its open, yet commit {found} appeared after commit {last}"
            ));
        }
        let max_ack = out.acks.last().copied().unwrap_or(last);
        let lost = out.acks.iter().filter(|&&a| a > found).count() as u64;
        totals.lost_acks += lost;
        if lost > 0 {
            fail(format!(
                "{lost} acknowledged commits lost: acknowledged up to {max_ack}, recovered up to {found} \
                 (this kill's {} ACKs: {}..={max_ack})",
                out.acks.len(),
                last + 1
            ));
        }
        if found > max_ack + 1 {
            fail(format!(
                "recovered commit {found}, but only {max_ack} were acknowledged (at most one commit may be in flight)"
            ));
        }
        // Each acknowledged entry still in the window, by point lookup too.
        let r = db.begin_read().unwrap_or_else(|e| fail(format!("begin_read: {e}")));
        for &a in out.acks.iter().filter(|&&a| a + WINDOW > found) {
            match r.get(main_key(a)) {
                Ok(Some(v)) if v == value_for(a) => {}
                other => fail(format!(
                    "acknowledged commit {a}: get(k{a}) = {:?}",
                    other.map(|v| v.map(|v| v.len()))
                )),
            }
        }
        drop(r);
        drop(db);

        totals.acks += out.acks.len() as u64;
        totals.before_open += u64::from(!out.open);
        totals.in_open += u64::from(out.open && out.ready.is_none());
        totals.before_first_ack += u64::from(out.acks.is_empty());
        totals.durable_without_ack += u64::from(found == max_ack + 1);
        totals.in_checkpoint += u64::from(out.in_checkpoint);
        last = found;
    }

    let elapsed = started.elapsed();
    println!(
        "kills: {kills} kills, {} acknowledged commits, {last} commits found after recovery, {} lost acknowledged commits, \
         {} kills before the first ack ({} before the open, {} in open/recovery), {} commits durable without their ack, \
         {} kills in a checkpoint, {:.1} s",
        totals.acks,
        totals.lost_acks,
        totals.before_first_ack,
        totals.before_open,
        totals.in_open,
        totals.durable_without_ack,
        totals.in_checkpoint,
        elapsed.as_secs_f64()
    );
    assert_eq!(totals.lost_acks, 0);
    assert!(last >= totals.acks, "{last} commits found, {} acknowledged", totals.acks);
}
