//! # Weather station: durable logging, a crash, recovery, and range queries
//!
//! Walden's main demo. Run it on a fresh clone with
//!
//! ```text
//! cargo run --release --example weather_station               # database in a temp dir
//! cargo run --release --example weather_station -- DIR        # database at DIR/weather.db
//! cargo run --release --example weather_station -- --seed 42  # reproducible kill point
//! ```
//!
//! It plays an embedded weather logger that is killed at a random moment, and shows that
//! Walden keeps every acknowledged commit, exposes nothing half-written, and still answers
//! queries by range scan:
//!
//! 1. **Log.** The program re-runs itself as a child (`--child DIR`). The child opens
//!    `DIR/weather.db` with [`SyncMode::Full`] and writes the 26,115 hourly observations of
//!    `data/weather.csv.gz` (NYC airports, 2013; see `data/README.md`) in file order, **one
//!    write transaction and one commit per observation**. Each time `commit()` returns `Ok`
//!    the child prints `ack <row index>` on its stdout (a pipe) and flushes it. Before the
//!    first row it prints `ready`.
//! 2. **Crash.** The parent reads the acks and, after a random number of them (uniform
//!    between 10% and 90% of the rows, drawn from a xorshift PRNG seeded from the clock or
//!    `--seed N`), kills the child with SIGKILL. Acks the child managed to write before dying
//!    are drained from the pipe: they were acknowledged too.
//! 3. **Recover and verify.** The parent reopens the database (WAL recovery; the open time is
//!    measured) and checks that every acknowledged observation is there with exactly its
//!    value (by point lookup), that every stored value decodes to a complete reading equal to
//!    its CSV row, and that the stored rows are exactly a prefix of the file: the acknowledged
//!    rows, plus at most the one in-flight row whose commit became durable before its ack was
//!    written.
//! 4. **Resume.** The parent finishes the ingest in-process with the same code the child
//!    runs: observations whose key already exists are skipped (and their stored bytes compared).
//! 5. **Query** by range scans only: the stations and rows per station, the hottest hour of
//!    each station in 2013, and EWR's July 2013 (count, mean temperature, first rows). The
//!    results are asserted against the reference facts printed by
//!    `python3 scripts/weather_facts.py`; the lines of the query section are printed in the
//!    same format as that script so the two can be diffed. A mismatch exits non-zero.
//! 6. **Checkpoint** with [`CheckpointMode::Truncate`] and print stats: commits/s, fsyncs per
//!    commit, WAL frames, checkpoints, recovery time, database and WAL file sizes.
//!
//! ## Key layout
//!
//! ASCII `"<station> <UTC hour>"`, e.g. `EWR 2013-07-01T06` (the first 13 characters of the
//! CSV's `time_hour`, which is always on the hour). Byte order is station order, then time
//! order, so one station is the range `"EWR ".."EWR!"` (`!` is the byte after the space) and
//! one station-month is `"EWR 2013-07".."EWR 2013-08"`. The key uses the UTC `time_hour`, not
//! the local `year,month,day,hour` columns: the local columns repeat when daylight saving
//! time ends (2013-11-03 01h local appears twice per station), while `(origin, time_hour)` is
//! unique in this file (checked by `scripts/weather_facts.py`, and again at load time here:
//! the loader requires keys to be strictly increasing in file order, so no de-duplication
//! suffix is needed and "a prefix of the file" equals "a prefix in key order").
//!
//! ## Value encoding (format version 1)
//!
//! ```text
//! value  := version:u8 (= 1)
//!           year:u16 little-endian, month:u8, day:u8, hour:u8     -- local (New York) wall clock
//!           field × 9, in the order temp, dewp, humid, wind_dir, wind_speed,
//!                                   wind_gust, precip, pressure, visib
//! field  := 0xFF                                  -- NA (missing)
//!         | scale:u8 (0..=18)  mantissa:varint    -- the decimal number mantissa / 10^scale
//! varint := zigzag-encoded i64, unsigned LEB128 (7 bits per byte, low group first)
//! ```
//!
//! Numbers are kept as exact decimals (normalized: no trailing fractional zeros), so the
//! stored reading is exactly the CSV's decimal value, including the 17-digit wind speeds such as
//! `10.357019999999999` and the `1e3` pressures (stored as 1000). A reading takes 34 bytes
//! on average (a 17-digit wind speed costs 9), against 78 with plain `f64` fields.
//! Decoding is strict: a wrong version, an out-of-range scale, a non-normalized mantissa,
//! truncation or trailing bytes are errors, so a torn value could not pass as a reading.

use std::cmp::Ordering;
use std::fmt;
use std::io::{self, BufRead, BufReader, Lines, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use flate2::read::GzDecoder;
use walden::{CheckpointMode, Database, Options, SyncMode};

type BoxResult<T> = Result<T, Box<dyn std::error::Error>>;

/// The vendored data set, embedded so the binary is self-contained.
const CSV_GZ: &[u8] = include_bytes!("../data/weather.csv.gz");
const CSV_HEADER: &str = "origin,year,month,day,hour,temp,dewp,humid,wind_dir,wind_speed,\
                          wind_gust,precip,pressure,visib,time_hour";
const FIELD_NAMES: [&str; 9] = [
    "temp",
    "dewp",
    "humid",
    "wind_dir",
    "wind_speed",
    "wind_gust",
    "precip",
    "pressure",
    "visib",
];
const TEMP: usize = 0;
const DEWP: usize = 1;
const HUMID: usize = 2;
const WIND_DIR: usize = 3;
const WIND_SPEED: usize = 4;
const PRESSURE: usize = 7;

const TABLE: &str = "weather";
const DB_FILE: &str = "weather.db";

/// Reference facts, printed by `python3 scripts/weather_facts.py` from the same CSV.
mod facts {
    pub const ROWS: usize = 26_115;
    pub const ROWS_PER_STATION: [(&str, usize); 3] = [("EWR", 8_703), ("JFK", 8_706), ("LGA", 8_706)];
    /// (station, max temp in °F as written, earliest UTC hour with it, hours at that temp)
    pub const HOTTEST_2013: [(&str, &str, &str, usize); 3] = [
        ("EWR", "100.04", "2013-07-18T19", 2),
        ("JFK", "98.06", "2013-07-18T16", 1),
        ("LGA", "98.96", "2013-07-18T19", 3),
    ];
    pub const MONTH_STATION: &str = "EWR";
    pub const MONTH: &str = "2013-07";
    pub const MONTH_READINGS: usize = 741;
    pub const MONTH_TEMP_READINGS: usize = 741;
    pub const MONTH_TEMP_SUM_HUNDREDTHS: i64 = 5_980_560;
    pub const MONTH_FIRST_ROWS: usize = 5;
}

// ---------------------------------------------------------------------------------------
// Entry point and command line
// ---------------------------------------------------------------------------------------

enum Mode {
    Parent { dir: Option<PathBuf>, seed: Option<u64> },
    Child { dir: PathBuf },
    Help,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    run(std::env::args_os().skip(1)).map_err(|e| Box::new(Failure(e)) as Box<dyn std::error::Error>)
}

fn run(args: impl Iterator<Item = std::ffi::OsString>) -> BoxResult<()> {
    match parse_args(args)? {
        Mode::Help => {
            println!("usage: weather_station [DIR] [--seed N]");
            println!("  DIR       directory for weather.db (default: a fresh temp dir, removed at exit)");
            println!("  --seed N  seed of the PRNG that picks the kill point (default: from the clock)");
            Ok(())
        }
        Mode::Child { dir } => run_child(&dir),
        Mode::Parent { dir, seed } => run_parent(dir, seed),
    }
}

/// Makes the `Err` returned by `main` print as its plain message instead of a quoted
/// `Debug` string (the standard library prints `Error: {err:?}` and exits with status 1).
struct Failure(Box<dyn std::error::Error>);

impl fmt::Debug for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl std::error::Error for Failure {}

fn parse_args(mut args: impl Iterator<Item = std::ffi::OsString>) -> BoxResult<Mode> {
    let (mut dir, mut seed) = (None, None);
    while let Some(arg) = args.next() {
        match arg.to_str() {
            Some("--child") => {
                let dir = args.next().ok_or("--child needs a directory")?;
                return Ok(Mode::Child { dir: PathBuf::from(dir) });
            }
            Some("--seed") => {
                let n = args.next().ok_or("--seed needs a number")?;
                let n = n.to_str().and_then(|s| s.parse::<u64>().ok());
                seed = Some(n.ok_or("--seed needs an unsigned integer")?);
            }
            Some("-h") | Some("--help") => return Ok(Mode::Help),
            Some(flag) if flag.starts_with('-') => return Err(format!("unknown option {flag:?}").into()),
            _ if dir.is_none() => dir = Some(PathBuf::from(arg)),
            _ => return Err("more than one directory given".into()),
        }
    }
    Ok(Mode::Parent { dir, seed })
}

fn open_db(dir: &Path) -> walden::Result<Database> {
    Database::open(
        dir.join(DB_FILE),
        Options {
            sync: SyncMode::Full,
            create_if_missing: true,
            ..Options::default()
        },
    )
}

// ---------------------------------------------------------------------------------------
// The child: the logger that gets killed
// ---------------------------------------------------------------------------------------

/// Child protocol on stdout: `ready`, then `ack <row index>` after each durable commit.
fn run_child(dir: &Path) -> BoxResult<()> {
    let observations = load_observations()?;
    let db = open_db(dir)?;
    let mut out = io::stdout().lock();
    writeln!(out, "ready")?;
    out.flush()?;
    ingest(&db, &observations, |row| {
        writeln!(out, "ack {row}")?;
        out.flush()
    })?;
    Ok(())
}

struct IngestReport {
    committed: usize,
    skipped: usize,
    elapsed: Duration,
}

/// Logs every observation in file order, one commit each, skipping keys already stored.
/// `on_ack(row)` is called after each commit that returned `Ok`.
fn ingest(db: &Database, observations: &[Observation], mut on_ack: impl FnMut(usize) -> io::Result<()>) -> BoxResult<IngestReport> {
    let start = Instant::now();
    let (mut committed, mut skipped) = (0, 0);
    for (row, obs) in observations.iter().enumerate() {
        match store_one(db, obs)? {
            Stored::Committed => {
                committed += 1;
                on_ack(row)?;
            }
            Stored::AlreadyPresent => skipped += 1,
        }
    }
    Ok(IngestReport {
        committed,
        skipped,
        elapsed: start.elapsed(),
    })
}

enum Stored {
    Committed,
    AlreadyPresent,
}

/// One write transaction: put the observation unless its key exists (then check the bytes).
fn store_one(db: &Database, obs: &Observation) -> BoxResult<Stored> {
    let value = encode(&obs.reading);
    let key = obs.key.as_bytes();
    let w = db.begin_write()?;
    let existing = {
        let t = w.table(TABLE)?;
        let existing = t.get(key)?;
        if existing.is_none() {
            t.put(key, &value)?;
        }
        existing
    };
    match existing {
        None => {
            w.commit()?;
            Ok(Stored::Committed)
        }
        Some(stored) => {
            w.abort();
            if stored != value {
                return Err(format!("resume: key {} is stored with a different value", obs.key).into());
            }
            Ok(Stored::AlreadyPresent)
        }
    }
}

// ---------------------------------------------------------------------------------------
// The parent: crash, recover, verify, resume, query, checkpoint
// ---------------------------------------------------------------------------------------

fn run_parent(dir_arg: Option<PathBuf>, seed_arg: Option<u64>) -> BoxResult<()> {
    let observations = load_observations()?;
    let (_temp_dir, dir) = prepare_dir(dir_arg)?;
    let seed = seed_arg.unwrap_or_else(seed_from_clock);
    let kill_at = pick_kill_point(&mut XorShift64::new(seed), observations.len());
    print_intro(&observations, &dir, seed, kill_at);

    println!("\n[1/5] logging in a child process, one SyncMode::Full commit per observation");
    let crash = run_child_until_killed(&dir, kill_at)?;

    println!("\n[2/5] reopening after the crash");
    let (db, recovery) = reopen(&dir)?;
    let present = verify_after_crash(&db, &observations, crash.acked)?;

    println!("\n[3/5] finishing the ingest in this process (keys already present are skipped)");
    let resume = finish_ingest(&db, &observations, present)?;
    let ingest_stats = db.stats();

    println!("\n[4/5] queries, by range scan only (same format as scripts/weather_facts.py)");
    run_queries(&db)?;

    println!("\n[5/5] checkpoint (Truncate) and stats");
    let child_commits = present; // acknowledged + a possible in-flight commit
    checkpoint_and_report(&db, &crash, child_commits, &resume, &recovery, &ingest_stats)?;
    println!("\nOK: every acknowledged commit survived SIGKILL; all queries match the reference facts.");
    Ok(())
}

struct Recovery {
    open_time: Duration,
    stats: walden::Stats,
}

/// Opens the database after the crash, timing `Database::open` (which runs WAL recovery).
fn reopen(dir: &Path) -> BoxResult<(Database, Recovery)> {
    let start = Instant::now();
    let db = open_db(dir)?;
    let recovery = Recovery {
        open_time: start.elapsed(),
        stats: db.stats(),
    };
    println!("      {}", describe_recovery(&recovery));
    Ok((db, recovery))
}

fn describe_recovery(r: &Recovery) -> String {
    format!(
        "Database::open took {} (engine recovery {}, {} WAL frames recovered)",
        fmt_duration(r.open_time),
        fmt_duration(r.stats.recovery_time),
        r.stats.recovered_frames
    )
}

/// Runs the same ingest as the child, in-process; the `present` rows must be skipped.
fn finish_ingest(db: &Database, observations: &[Observation], present: usize) -> BoxResult<IngestReport> {
    let resume = ingest(db, observations, |_| Ok(()))?;
    if resume.skipped != present {
        let msg = format!("resume skipped {} rows but {present} were present", resume.skipped);
        return Err(msg.into());
    }
    let total = verify_stored_prefix(db, observations)?;
    if total != observations.len() {
        let msg = format!("after resume: {total} rows stored, expected {}", observations.len());
        return Err(msg.into());
    }
    println!(
        "      {} committed, {} skipped in {} ({}); all {total} rows stored and verified",
        resume.committed,
        resume.skipped,
        fmt_duration(resume.elapsed),
        fmt_rate(resume.committed, resume.elapsed)
    );
    Ok(resume)
}

/// `child_commits`: rows the child made durable; `ingest_stats`: `db.stats()` taken right
/// after the resumed ingest.
fn checkpoint_and_report(
    db: &Database,
    crash: &CrashReport,
    child_commits: usize,
    resume: &IngestReport,
    recovery: &Recovery,
    ingest_stats: &walden::Stats,
) -> BoxResult<()> {
    let (db_before, wal_before) = (file_size(db.path()), file_size(&wal_path(db.path())));
    let info = db.checkpoint(CheckpointMode::Truncate)?;
    let stats = db.stats();

    let commits = child_commits + resume.committed;
    let time = crash.elapsed + resume.elapsed;
    println!(
        "      ingest: {commits} commits in {} = {}",
        fmt_duration(time),
        fmt_rate(commits, time)
    );
    println!(
        "        (child: {} acknowledged in {} = {}; resume: {} in {} = {})",
        crash.acked,
        fmt_duration(crash.elapsed),
        fmt_rate(crash.acked, crash.elapsed),
        resume.committed,
        fmt_duration(resume.elapsed),
        fmt_rate(resume.committed, resume.elapsed)
    );
    println!(
        "      fsyncs per commit: {} ({} fsyncs / {} commits in this process, before the final checkpoint)",
        ratio(ingest_stats.fsyncs, ingest_stats.commits),
        ingest_stats.fsyncs,
        ingest_stats.commits
    );
    let (frames, backfilled) = (ingest_stats.wal_frames, ingest_stats.wal_backfilled);
    println!(
        "      WAL frames: {frames} in the WAL before the final checkpoint ({backfilled} already \
         backfilled, so it copied {}); after it: {} frames ({} backfilled)",
        frames.saturating_sub(backfilled),
        info.wal_frames,
        info.backfilled,
    );
    println!("      checkpoints run in this process (automatic + final): {}", stats.checkpoints);
    println!("      recovery: {}", describe_recovery(recovery));
    println!(
        "      files: {DB_FILE} {} bytes ({} pages), {DB_FILE}-wal {} bytes \
         (before the checkpoint: {} and {} bytes)",
        fmt_size(file_size(db.path())),
        stats.db_pages,
        fmt_size(file_size(&wal_path(db.path()))),
        fmt_size(db_before),
        fmt_size(wal_before)
    );
    Ok(())
}

fn print_intro(observations: &[Observation], dir: &Path, seed: u64, kill_at: usize) {
    let encoded: usize = observations.iter().map(|o| encode(&o.reading).len()).sum();
    println!("Walden weather station demo: durable logging, SIGKILL, recovery, range queries");
    println!(
        "data: data/weather.csv.gz (embedded, {} bytes gzip): {} hourly observations; \
         values average {:.1} bytes",
        CSV_GZ.len(),
        observations.len(),
        encoded as f64 / observations.len() as f64
    );
    println!("database: {}", dir.join(DB_FILE).display());
    println!(
        "seed {seed} (rerun with --seed {seed}): the logger is killed after {kill_at} acks ({:.1}% of the rows)",
        100.0 * kill_at as f64 / observations.len() as f64
    );
}

/// Returns the directory to use, and the temp dir guard that deletes it at exit (if any).
fn prepare_dir(dir_arg: Option<PathBuf>) -> BoxResult<(Option<tempfile::TempDir>, PathBuf)> {
    match dir_arg {
        None => {
            let temp = tempfile::Builder::new().prefix("walden-weather-").tempdir()?;
            let path = temp.path().to_path_buf();
            Ok((Some(temp), path))
        }
        Some(dir) => {
            std::fs::create_dir_all(&dir)?;
            let dir = dir.canonicalize()?;
            for existing in [dir.join(DB_FILE), wal_path(&dir.join(DB_FILE))] {
                if existing.exists() {
                    return Err(format!(
                        "{} already exists: the demo needs a fresh database; remove it or pass another directory",
                        existing.display()
                    )
                    .into());
                }
            }
            Ok((None, dir))
        }
    }
}

struct CrashReport {
    /// Commits the child acknowledged (acks read before the kill plus acks drained after).
    acked: usize,
    /// From the child's `ready` to the kill.
    elapsed: Duration,
}

/// Spawns the logger, reads its acks, SIGKILLs it after `kill_at` acks, drains the pipe.
fn run_child_until_killed(dir: &Path, kill_at: usize) -> BoxResult<CrashReport> {
    let mut child = KillOnDrop(
        Command::new(std::env::current_exe()?)
            .arg("--child")
            .arg(dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()?,
    );
    let pid = child.0.id();
    let stdout = child.0.stdout.take().ok_or("child stdout is not piped")?;
    let mut acks = AckReader::new(stdout);

    if acks.next_line()?.as_deref() != Some("ready") {
        let status = child.0.wait()?;
        return Err(format!("logger (pid {pid}) did not start: {}", describe_status(status)).into());
    }
    let start = Instant::now();
    while acks.count < kill_at {
        if !acks.read_ack()? {
            let status = child.0.wait()?;
            return Err(format!(
                "logger (pid {pid}) exited before the kill point, after {} acks: {}",
                acks.count,
                describe_status(status)
            )
            .into());
        }
    }
    child.0.kill()?; // SIGKILL on Unix
    let elapsed = start.elapsed();
    let status = child.0.wait()?;
    let read_before_kill = acks.count;
    while acks.read_ack()? {}
    println!(
        "      child pid {pid} {} after {read_before_kill} acks read + {} still in the pipe = {} acknowledged commits in {} ({})",
        describe_status(status),
        acks.count - read_before_kill,
        acks.count,
        fmt_duration(elapsed),
        fmt_rate(acks.count, elapsed)
    );
    Ok(CrashReport {
        acked: acks.count,
        elapsed,
    })
}

/// Kills and reaps the child if the parent bails out early, so no logger is left running.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

/// Reads the child's `ack <row>` lines and checks they are consecutive from row 0.
struct AckReader {
    lines: Lines<BufReader<ChildStdout>>,
    count: usize,
}

impl AckReader {
    fn new(stdout: ChildStdout) -> Self {
        AckReader {
            lines: BufReader::new(stdout).lines(),
            count: 0,
        }
    }

    fn next_line(&mut self) -> io::Result<Option<String>> {
        self.lines.next().transpose()
    }

    /// `Ok(false)` at end of stream.
    fn read_ack(&mut self) -> BoxResult<bool> {
        let Some(line) = self.next_line()? else {
            return Ok(false);
        };
        let row = line.strip_prefix("ack ").and_then(|n| n.parse::<usize>().ok());
        if row != Some(self.count) {
            return Err(format!("protocol error: expected \"ack {}\", got {line:?}", self.count).into());
        }
        self.count += 1;
        Ok(true)
    }
}

fn describe_status(status: ExitStatus) -> String {
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(signal) = status.signal() {
            let name = if signal == libc::SIGKILL { " (SIGKILL)" } else { "" };
            return format!("killed by signal {signal}{name}");
        }
    }
    format!("exited with {status}")
}

/// Checks the state after the crash; returns how many rows are present.
fn verify_after_crash(db: &Database, observations: &[Observation], acked: usize) -> BoxResult<usize> {
    verify_acked_by_lookup(db, &observations[..acked])?;
    let present = verify_stored_prefix(db, observations)?;
    if present < acked {
        return Err(format!("DATA LOSS: {acked} commits acknowledged but only {present} rows present").into());
    }
    if present > acked + 1 {
        return Err(format!("{present} rows present but only {acked} acknowledged: at most one unacknowledged commit can exist").into());
    }
    let in_flight = if present == acked + 1 {
        "the 1 extra row is the in-flight commit that became durable before its ack was written"
    } else {
        "no in-flight commit survived"
    };
    println!("      acknowledged: {acked}, present: {present} ({in_flight})");
    println!("      point lookups: all {acked} acknowledged observations found with exactly their values");
    println!(
        "      full scan: every stored value decodes to a complete reading equal to its CSV row, \
         and the stored rows are exactly the first {present} rows of the file"
    );
    Ok(present)
}

/// `get` of each acknowledged key must return exactly the encoded reading.
fn verify_acked_by_lookup(db: &Database, acked: &[Observation]) -> BoxResult<()> {
    let r = db.begin_read()?;
    let t = r.table(TABLE).map_err(|e| format!("table {TABLE:?} after recovery: {e}"))?;
    for obs in acked {
        match t.get(obs.key.as_bytes())? {
            None => return Err(format!("DATA LOSS: acknowledged key {} is missing", obs.key).into()),
            Some(v) if v != encode(&obs.reading) => return Err(format!("acknowledged key {} has a wrong value {v:02x?}", obs.key).into()),
            Some(_) => {}
        }
    }
    Ok(())
}

/// Scans the whole table: the stored rows must be the first n rows of the file, each with a
/// value that decodes to exactly the CSV reading. Returns n.
fn verify_stored_prefix(db: &Database, observations: &[Observation]) -> BoxResult<usize> {
    let r = db.begin_read()?;
    let t = r.table(TABLE).map_err(|e| format!("table {TABLE:?}: {e}"))?;
    let mut n = 0;
    for item in t.iter()? {
        let (key, value) = item?;
        let Some(expected) = observations.get(n) else {
            return Err(format!("unexpected key {} after the last row", show_key(&key)).into());
        };
        if key != expected.key.as_bytes() {
            return Err(format!(
                "stored row {n} has key {} but the file's row {n} is {}: not a prefix of the file",
                show_key(&key),
                expected.key
            )
            .into());
        }
        let reading = decode(&value).map_err(|e| format!("key {}: partial or corrupt value ({e}): {value:02x?}", expected.key))?;
        if reading != expected.reading {
            return Err(format!("key {}: stored {reading:?}, CSV has {:?}", expected.key, expected.reading).into());
        }
        n += 1;
    }
    Ok(n)
}

fn show_key(key: &[u8]) -> String {
    format!("{:?}", String::from_utf8_lossy(key))
}

// ---------------------------------------------------------------------------------------
// Queries (range scans only)
// ---------------------------------------------------------------------------------------

/// Runs the queries, prints them like `scripts/weather_facts.py`, and asserts the facts.
fn run_queries(db: &Database) -> BoxResult<()> {
    let mut mismatches = Vec::new();
    let mut check = |what: &str, got: String, want: String| {
        if got != want {
            mismatches.push(format!("{what}: got {got}, expected {want}"));
        }
    };

    let stations = list_stations(db)?;
    let want_stations: Vec<&str> = facts::ROWS_PER_STATION.iter().map(|(s, _)| *s).collect();
    check("stations", format!("{stations:?}"), format!("{want_stations:?}"));

    let mut counts = Vec::new();
    for station in &stations {
        counts.push((station.clone(), rows_of_station(db, station)?));
    }
    let line: Vec<String> = counts.iter().map(|(s, n)| format!("{s} {n}")).collect();
    println!("rows per origin: {}", line.join(", "));
    let want: Vec<String> = facts::ROWS_PER_STATION.iter().map(|(s, n)| format!("{s} {n}")).collect();
    check("rows per origin", line.join(", "), want.join(", "));
    let total: usize = counts.iter().map(|(_, n)| n).sum();
    check("total rows", total.to_string(), facts::ROWS.to_string());

    println!("hottest hour per station in 2013 (temp F, UTC hour):");
    for (station, temp, hour, ties) in facts::HOTTEST_2013 {
        let got = hottest_hour(db, station, "2013")?;
        let got = got.map(|h| format!("{} F at {} UTC ({} hour(s) at that temp)", h.temp, h.hour, h.ties));
        let got = got.unwrap_or_else(|| "no readings".to_string());
        println!("  {station}: {got}");
        check(
            &format!("hottest hour at {station}"),
            got,
            format!("{temp} F at {hour} UTC ({ties} hour(s) at that temp)"),
        );
    }

    let month = month_summary(db, facts::MONTH_STATION, facts::MONTH, facts::MONTH_FIRST_ROWS)?;
    month.print(facts::MONTH_STATION, facts::MONTH);
    check(
        "month summary",
        format!(
            "{} readings, {} temps, sum {}",
            month.readings, month.temp_readings, month.temp_sum_hundredths
        ),
        format!(
            "{} readings, {} temps, sum {}",
            facts::MONTH_READINGS,
            facts::MONTH_TEMP_READINGS,
            facts::MONTH_TEMP_SUM_HUNDREDTHS
        ),
    );

    if !mismatches.is_empty() {
        return Err(format!("query results differ from scripts/weather_facts.py:\n  {}", mismatches.join("\n  ")).into());
    }
    println!("      => all query results equal the reference facts");
    Ok(())
}

/// Visits each (key, reading) with `start <= key < end` in key order, on a fresh snapshot.
/// Returns the number of rows visited.
fn scan(db: &Database, start: &[u8], end: &[u8], mut visit: impl FnMut(&[u8], &Reading)) -> BoxResult<usize> {
    let r = db.begin_read()?;
    let t = r.table(TABLE)?;
    let mut n = 0;
    for item in t.range(start..end)? {
        let (key, value) = item?;
        let reading = decode(&value).map_err(|e| format!("key {}: {e}", show_key(&key)))?;
        visit(&key, &reading);
        n += 1;
    }
    Ok(n)
}

/// Skip-scan: one short range probe per distinct station, not a full scan.
fn list_stations(db: &Database) -> BoxResult<Vec<String>> {
    let r = db.begin_read()?;
    let t = r.table(TABLE)?;
    let mut stations = Vec::new();
    let mut from: Vec<u8> = Vec::new();
    loop {
        let first = t.range(from.as_slice()..)?.next().transpose()?;
        let Some((key, _)) = first else { break };
        let space = key
            .iter()
            .position(|&b| b == b' ')
            .ok_or_else(|| format!("bad key {}", show_key(&key)))?;
        stations.push(String::from_utf8_lossy(&key[..space]).into_owned());
        from = key[..space].to_vec();
        from.push(b'!'); // the first byte after ' ': skips the whole station
    }
    Ok(stations)
}

fn rows_of_station(db: &Database, station: &str) -> BoxResult<usize> {
    scan(db, format!("{station} ").as_bytes(), format!("{station}!").as_bytes(), |_, _| {})
}

struct Hottest {
    temp: Decimal,
    hour: String,
    ties: usize,
}

/// Max temp of `station` during UTC `year` (NA skipped); ties resolve to the earliest hour.
fn hottest_hour(db: &Database, station: &str, year: &str) -> BoxResult<Option<Hottest>> {
    let next_year = year.parse::<u32>()? + 1;
    let (start, end) = (format!("{station} {year}"), format!("{station} {next_year}"));
    let mut best: Option<Hottest> = None;
    scan(db, start.as_bytes(), end.as_bytes(), |key, reading| {
        let Some(temp) = reading.fields[TEMP] else {
            return;
        };
        let hotter = match &mut best {
            None => true,
            Some(b) => match temp.cmp(&b.temp) {
                Ordering::Greater => true,
                Ordering::Equal => {
                    b.ties += 1;
                    false
                }
                Ordering::Less => false,
            },
        };
        if hotter {
            best = Some(Hottest {
                temp,
                hour: hour_of_key(key),
                ties: 1,
            });
        }
    })?;
    Ok(best)
}

fn hour_of_key(key: &[u8]) -> String {
    let s = String::from_utf8_lossy(key);
    s.split_once(' ').map(|(_, h)| h.to_string()).unwrap_or_else(|| s.into_owned())
}

struct MonthSummary {
    readings: usize,
    temp_readings: usize,
    temp_sum_hundredths: i64,
    first_rows: Vec<String>,
}

/// All readings of one station in one UTC month (`month` = "YYYY-MM"): one range scan.
fn month_summary(db: &Database, station: &str, month: &str, first: usize) -> BoxResult<MonthSummary> {
    let start = format!("{station} {month}");
    let end = format!("{station} {}", next_month(month)?);
    let mut s = MonthSummary {
        readings: 0,
        temp_readings: 0,
        temp_sum_hundredths: 0,
        first_rows: Vec::new(),
    };
    let mut bad_temp = None;
    scan(db, start.as_bytes(), end.as_bytes(), |key, r| {
        s.readings += 1;
        if let Some(t) = r.fields[TEMP] {
            match t.in_hundredths() {
                Some(h) => s.temp_sum_hundredths += h,
                None => bad_temp = Some(t),
            }
            s.temp_readings += 1;
        }
        if s.first_rows.len() < first {
            let f = |i: usize| r.fields[i].map_or("NA".to_string(), |d| d.to_string());
            s.first_rows.push(format!(
                "{}: {} {} {} {} {} {}",
                String::from_utf8_lossy(key),
                f(TEMP),
                f(DEWP),
                f(HUMID),
                f(WIND_DIR),
                f(WIND_SPEED),
                f(PRESSURE)
            ));
        }
    })?;
    if let Some(t) = bad_temp {
        return Err(format!("temperature {t} has more than two decimals").into());
    }
    Ok(s)
}

impl MonthSummary {
    fn print(&self, station: &str, month: &str) {
        let denominator = 100 * self.temp_readings as i64;
        let mean = self.temp_sum_hundredths as f64 / denominator as f64;
        let g = gcd(self.temp_sum_hundredths, denominator).max(1);
        println!(
            "{station} {month} (UTC): {} readings, {} with temp, sum temp = {} hundredths F, \
             mean temp = {mean:.4} F (exact {}/{})",
            self.readings,
            self.temp_readings,
            self.temp_sum_hundredths,
            self.temp_sum_hundredths / g,
            denominator / g
        );
        println!(
            "  first {} rows (key: temp dewp humid wind_dir wind_speed pressure):",
            self.first_rows.len()
        );
        for row in &self.first_rows {
            println!("  {row}");
        }
    }
}

fn next_month(month: &str) -> BoxResult<String> {
    let (y, m) = month.split_once('-').ok_or("month must be YYYY-MM")?;
    let (y, m): (u32, u32) = (y.parse()?, m.parse()?);
    Ok(if m >= 12 {
        format!("{:04}-01", y + 1)
    } else {
        format!("{y:04}-{:02}", m + 1)
    })
}

fn gcd(a: i64, b: i64) -> i64 {
    let (mut a, mut b) = (a.abs(), b.abs());
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

// ---------------------------------------------------------------------------------------
// The data: CSV parsing, exact decimals, value encoding
// ---------------------------------------------------------------------------------------

/// One CSV row: its key and its reading.
struct Observation {
    key: String,
    reading: Reading,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Reading {
    /// Local (New York) wall clock of the CSV's year, month, day, hour columns.
    year: u16,
    month: u8,
    day: u8,
    hour: u8,
    /// In `FIELD_NAMES` order; `None` = NA.
    fields: [Option<Decimal>; 9],
}

/// Decompresses and parses the embedded CSV. Keys must be strictly increasing in file order.
fn load_observations() -> BoxResult<Vec<Observation>> {
    let mut text = String::new();
    GzDecoder::new(CSV_GZ).read_to_string(&mut text)?;
    let mut lines = text.lines();
    if lines.next() != Some(CSV_HEADER) {
        return Err("data/weather.csv.gz: unexpected header".into());
    }
    let mut observations: Vec<Observation> = Vec::with_capacity(facts::ROWS);
    for (row, line) in lines.enumerate() {
        let obs = parse_row(line).map_err(|e| format!("CSV line {}: {e}: {line:?}", row + 2))?;
        if let Some(prev) = observations.last() {
            if prev.key >= obs.key {
                return Err(format!(
                    "CSV line {}: key {:?} does not sort after {:?}; the demo needs unique keys in file order",
                    row + 2,
                    obs.key,
                    prev.key
                )
                .into());
            }
        }
        observations.push(obs);
    }
    if observations.len() != facts::ROWS {
        return Err(format!("expected {} CSV rows, found {}", facts::ROWS, observations.len()).into());
    }
    Ok(observations)
}

fn parse_row(line: &str) -> Result<Observation, String> {
    let cols: Vec<&str> = line.split(',').collect();
    if cols.len() != 15 {
        return Err(format!("{} columns instead of 15", cols.len()));
    }
    let station = cols[0];
    if station.len() != 3 || !station.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err(format!("bad station {station:?}"));
    }
    let int = |i: usize, max: u16| -> Result<u16, String> {
        cols[i]
            .parse::<u16>()
            .ok()
            .filter(|&v| v <= max)
            .ok_or_else(|| format!("bad column {i}: {:?}", cols[i]))
    };
    let mut fields = [None; 9];
    for (i, field) in fields.iter_mut().enumerate() {
        let text = cols[5 + i];
        if text != "NA" {
            let d = Decimal::parse(text).ok_or_else(|| format!("bad {}: {text:?}", FIELD_NAMES[i]))?;
            *field = Some(d);
        }
    }
    let reading = Reading {
        year: int(1, u16::MAX)?,
        month: int(2, 12)? as u8,
        day: int(3, 31)? as u8,
        hour: int(4, 23)? as u8,
        fields,
    };
    Ok(Observation {
        key: format!("{station} {}", utc_hour(cols[14])?),
        reading,
    })
}

/// `2013-01-01T06:00:00Z` -> `2013-01-01T06`
fn utc_hour(time_hour: &str) -> Result<&str, String> {
    let b = time_hour.as_bytes();
    let digits = [0, 1, 2, 3, 5, 6, 8, 9, 11, 12]
        .iter()
        .all(|&i| b.get(i).is_some_and(u8::is_ascii_digit));
    let ok = b.len() == 20 && digits && b[4] == b'-' && b[7] == b'-' && b[10] == b'T' && &time_hour[13..] == ":00:00Z";
    if ok {
        Ok(&time_hour[..13])
    } else {
        Err(format!("bad time_hour {time_hour:?}"))
    }
}

const MAX_SCALE: u8 = 18;

/// An exact decimal `mantissa / 10^scale`, normalized (no trailing fractional zeros), so
/// equal values have equal representations.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Decimal {
    mantissa: i64,
    scale: u8,
}

impl Decimal {
    /// Parses `[-]digits[.digits][(e|E)[+-]digits]`.
    fn parse(text: &str) -> Option<Decimal> {
        let (number, exponent) = match text.split_once(['e', 'E']) {
            Some((n, e)) => (n, e.parse::<i32>().ok()?),
            None => (text, 0),
        };
        let (negative, digits) = match number.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, number),
        };
        let (int_part, frac_part) = digits.split_once('.').unwrap_or((digits, ""));
        let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if int_part.is_empty() || !all_digits(int_part) || !all_digits(frac_part) || digits.ends_with('.') {
            return None;
        }
        let mut mantissa: i64 = 0;
        for b in int_part.bytes().chain(frac_part.bytes()) {
            mantissa = mantissa.checked_mul(10)?.checked_add(i64::from(b - b'0'))?;
        }
        if mantissa == 0 {
            return Some(Decimal { mantissa: 0, scale: 0 });
        }
        let mut scale = frac_part.len() as i64 - i64::from(exponent);
        while scale < 0 {
            mantissa = mantissa.checked_mul(10)?;
            scale += 1;
        }
        while scale > 0 && mantissa % 10 == 0 {
            mantissa /= 10;
            scale -= 1;
        }
        if scale > i64::from(MAX_SCALE) {
            return None;
        }
        Some(Decimal {
            mantissa: if negative { -mantissa } else { mantissa },
            scale: scale as u8,
        })
    }

    fn is_normalized(self) -> bool {
        self.scale <= MAX_SCALE && (self.scale == 0 || self.mantissa % 10 != 0)
    }

    /// The value in hundredths, if it has at most two decimals.
    fn in_hundredths(self) -> Option<i64> {
        match self.scale {
            0 => self.mantissa.checked_mul(100),
            1 => self.mantissa.checked_mul(10),
            2 => Some(self.mantissa),
            _ => None,
        }
    }

    fn scaled_to(self, scale: u8) -> i128 {
        i128::from(self.mantissa) * 10i128.pow(u32::from(scale - self.scale))
    }
}

impl Ord for Decimal {
    fn cmp(&self, other: &Self) -> Ordering {
        let scale = self.scale.max(other.scale);
        self.scaled_to(scale).cmp(&other.scaled_to(scale))
    }
}

impl PartialOrd for Decimal {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for Decimal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let digits = self.mantissa.unsigned_abs().to_string();
        let sign = if self.mantissa < 0 { "-" } else { "" };
        let scale = usize::from(self.scale);
        if scale == 0 {
            return write!(f, "{sign}{digits}");
        }
        let padded = format!("{digits:0>width$}", width = scale + 1);
        let (int_part, frac_part) = padded.split_at(padded.len() - scale);
        write!(f, "{sign}{int_part}.{frac_part}")
    }
}

const FORMAT_VERSION: u8 = 1;
const NA_TAG: u8 = 0xFF;

/// Encodes a reading (format documented in the header comment).
fn encode(r: &Reading) -> Vec<u8> {
    let mut out = Vec::with_capacity(48);
    out.push(FORMAT_VERSION);
    out.extend_from_slice(&r.year.to_le_bytes());
    out.extend_from_slice(&[r.month, r.day, r.hour]);
    for field in &r.fields {
        match field {
            None => out.push(NA_TAG),
            Some(d) => {
                out.push(d.scale);
                put_varint(&mut out, zigzag(d.mantissa));
            }
        }
    }
    out
}

/// Strict inverse of [`encode`].
fn decode(bytes: &[u8]) -> Result<Reading, String> {
    let mut c = Cursor { bytes, pos: 0 };
    if c.byte()? != FORMAT_VERSION {
        return Err("unknown format version".into());
    }
    let year = u16::from_le_bytes([c.byte()?, c.byte()?]);
    let (month, day, hour) = (c.byte()?, c.byte()?, c.byte()?);
    let mut fields = [None; 9];
    for (i, field) in fields.iter_mut().enumerate() {
        let tag = c.byte()?;
        if tag != NA_TAG {
            let d = Decimal {
                mantissa: unzigzag(c.varint()?),
                scale: tag,
            };
            if !d.is_normalized() {
                return Err(format!("{}: invalid decimal {d:?}", FIELD_NAMES[i]));
            }
            *field = Some(d);
        }
    }
    if c.pos != bytes.len() {
        return Err(format!("{} trailing bytes", bytes.len() - c.pos));
    }
    Ok(Reading {
        year,
        month,
        day,
        hour,
        fields,
    })
}

struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl Cursor<'_> {
    fn byte(&mut self) -> Result<u8, String> {
        let b = *self.bytes.get(self.pos).ok_or("truncated value")?;
        self.pos += 1;
        Ok(b)
    }

    fn varint(&mut self) -> Result<u64, String> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            if shift == 63 && b > 1 {
                return Err("varint overflow".into());
            }
            value |= u64::from(b & 0x7F) << shift;
            if b & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err("varint too long".into())
    }
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

fn unzigzag(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}

// ---------------------------------------------------------------------------------------
// Small utilities
// ---------------------------------------------------------------------------------------

/// xorshift64 (Marsaglia), seeded through splitmix64 so that any seed (even 0) works.
struct XorShift64(u64);

impl XorShift64 {
    fn new(seed: u64) -> Self {
        let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        XorShift64(if z == 0 { 0x9E37_79B9_7F4A_7C15 } else { z })
    }

    fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    /// Uniform in `0..n` (modulo bias is below 1e-15 for the n used here).
    fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }
}

fn seed_from_clock() -> u64 {
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64);
    nanos ^ (u64::from(std::process::id()) << 32)
}

/// Number of acks after which to kill: uniform in [10%, 90%] of the rows.
fn pick_kill_point(rng: &mut XorShift64, rows: usize) -> usize {
    let (lo, hi) = (rows / 10, rows * 9 / 10);
    (lo + rng.below((hi - lo + 1) as u64) as usize).max(1)
}

fn wal_path(db_path: &Path) -> PathBuf {
    let mut s = db_path.as_os_str().to_owned();
    s.push("-wal");
    PathBuf::from(s)
}

fn file_size(path: &Path) -> u64 {
    std::fs::metadata(path).map_or(0, |m| m.len())
}

fn fmt_size(bytes: u64) -> String {
    let digits: Vec<char> = bytes.to_string().chars().rev().collect();
    let groups: Vec<String> = digits.chunks(3).map(|g| g.iter().rev().collect()).rev().collect();
    groups.join(",")
}

fn fmt_duration(d: Duration) -> String {
    if d >= Duration::from_secs(1) {
        format!("{:.2} s", d.as_secs_f64())
    } else {
        format!("{:.2} ms", d.as_secs_f64() * 1e3)
    }
}

fn fmt_rate(commits: usize, d: Duration) -> String {
    if d.is_zero() {
        return "n/a commits/s".into();
    }
    format!("{:.0} commits/s", commits as f64 / d.as_secs_f64())
}

fn ratio(a: u64, b: u64) -> String {
    if b == 0 {
        "n/a".into()
    } else {
        format!("{:.2}", a as f64 / b as f64)
    }
}
