//! `walden-bench`: the workloads of docs/BENCHMARKS.md against Walden,
//! SQLite (bundled, WAL mode), redb and LMDB (heed), in one process run,
//! each system in a fresh directory. Prints progress on stderr and a
//! Markdown table of ops/s per system and the ratio Walden/peer on stdout.
//!
//! `cargo run --release --manifest-path bench/Cargo.toml` runs the full
//! workloads (bench/ is its own workspace);
//! `--scale 0.001` a smoke pass for CI.

mod procfs;
mod systems;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use clap::Parser;

use systems::{Config, Durability, Key, Lmdb, Redb, Rng, Sqlite, System, Walden, R, VAL_LEN};

/// The command line.
#[derive(Parser, Debug)]
#[command(
    name = "walden-bench",
    about = "Walden against SQLite, redb and LMDB: the workloads of docs/BENCHMARKS.md"
)]
struct Args {
    /// Multiplies every count (1: the full workloads; 0.001: a smoke pass)
    #[arg(long, default_value_t = 1.0)]
    scale: f64,
    /// Systems to run, comma-separated
    #[arg(long, value_delimiter = ',', default_value = "walden,sqlite,redb,lmdb")]
    systems: Vec<String>,
    /// Where the databases go (a fresh subdirectory per system, removed at the end)
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Page cache of each Walden connection, in 4 KiB pages (default 256 MiB)
    #[arg(long, default_value_t = 65_536)]
    walden_cache_pages: u32,
    /// Cache budget of SQLite (per connection) and redb, in MiB
    #[arg(long, default_value_t = 256)]
    cache_mib: usize,
    /// Which options the systems run with: `equal-memory` (the same cache
    /// budget for all: --walden-cache-pages, --cache-mib) or `defaults`
    /// (each system's default options, what a new user gets)
    #[arg(long, value_enum, default_value = "equal-memory")]
    config: ConfigKind,
    /// Seconds per concurrent-read configuration (default: 2 s times the scale, at least 0.1 s)
    #[arg(long)]
    concurrent_secs: Option<f64>,
    /// Runs workload 8 alone (open after a crash, then the checkpoint), to
    /// profile or repeat it without the other workloads
    #[arg(long)]
    recovery_only: bool,
    /// Internal: fill a WAL for the recovery workload and exit without closing
    #[arg(long, hide = true, num_args = 4, value_names = ["SYSTEM", "DIR", "WAL_BYTES", "TXNS"])]
    crash_child: Option<Vec<String>>,
}

/// The two configurations of the benchmark.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
enum ConfigKind {
    /// The same cache budget for every system
    EqualMemory,
    /// Every system with its default options
    Defaults,
}

const SYSTEMS: [&str; 4] = ["walden", "sqlite", "redb", "lmdb"];
const NAMES: [&str; 4] = ["Walden", "SQLite", "redb", "LMDB"];

/// Counts of the workloads at a scale.
#[derive(Debug, Clone, Copy)]
struct Counts {
    n: usize,
    ranges: usize,
    range_len: usize,
    normal_commits: usize,
    full_commits: usize,
    batch_txns: usize,
    batch_size: usize,
    concurrent: Duration,
    crash_wal_bytes: u64,
}

impl Counts {
    fn at(scale: f64, concurrent_secs: Option<f64>) -> Counts {
        let s = |n: f64, min: usize| ((n * scale) as usize).max(min);
        Counts {
            n: s(1_000_000.0, 1000),
            ranges: s(500_000.0, 100),
            range_len: 10,
            normal_commits: s(20_000.0, 20),
            full_commits: s(2_000.0, 10),
            batch_txns: 100,
            batch_size: s(1_000.0, 10),
            concurrent: Duration::from_secs_f64(concurrent_secs.unwrap_or((2.0 * scale).clamp(0.1, 2.0))),
            crash_wal_bytes: ((64.0 * 1024.0 * 1024.0 * scale) as u64).max(1 << 20),
        }
    }
}

/// The keys of every workload, the same for every system.
struct Keys {
    loaded: Vec<Key>,
    shuffled: Vec<Key>,
    range_starts: Vec<Key>,
    normal: Vec<Key>,
    full: Vec<Key>,
    batches: Vec<Key>,
    removed: Vec<Key>,
}

impl Keys {
    fn new(c: &Counts) -> Keys {
        let gen = |seed, n| {
            let mut r = Rng::new(seed);
            (0..n).map(|_| r.key()).collect::<Vec<Key>>()
        };
        let loaded = gen(1, c.n);
        let mut shuffled = loaded.clone();
        let mut r = Rng::new(2);
        for i in (1..shuffled.len()).rev() {
            shuffled.swap(i, r.below(i + 1));
        }
        let range_starts = (0..c.ranges).map(|_| loaded[r.below(loaded.len())]).collect();
        let removed = loaded.iter().step_by(2).copied().collect();
        Keys {
            normal: gen(3, c.normal_commits),
            full: gen(4, c.full_commits),
            batches: gen(5, c.batch_txns * c.batch_size),
            loaded,
            shuffled,
            range_starts,
            removed,
        }
    }
}

/// Which way a figure is better.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Better {
    Higher,
    Lower,
}

/// One row of the report.
struct Row {
    id: &'static str,
    label: String,
    unit: &'static str,
    better: Better,
    vals: [Option<f64>; 4],
}

/// The report being filled.
struct Report {
    rows: Vec<Row>,
    notes: Vec<String>,
}

impl Report {
    fn row(&mut self, id: &'static str, label: String, unit: &'static str, better: Better) {
        self.rows.push(Row {
            id,
            label,
            unit,
            better,
            vals: [None; 4],
        });
    }
    fn set(&mut self, id: &str, col: usize, v: Option<f64>) {
        if let Some(r) = self.rows.iter_mut().find(|r| r.id == id) {
            r.vals[col] = v;
        }
    }
}

/// What one timed phase measured.
struct Phase {
    secs: f64,
    peak_rss: Option<u64>,
    write_bytes: Option<u64>,
}

/// Runs `f` as a phase: wall time, peak RSS (reset first), bytes written.
fn phase<T>(f: impl FnOnce() -> R<T>) -> R<(T, Phase)> {
    let reset = procfs::reset_peak();
    let w0 = procfs::write_bytes();
    let t = Instant::now();
    let v = f()?;
    let secs = t.elapsed().as_secs_f64().max(1e-9);
    let w1 = procfs::write_bytes();
    Ok((
        v,
        Phase {
            secs,
            peak_rss: if reset { procfs::peak_rss() } else { None },
            write_bytes: w0.zip(w1).map(|(a, b)| b.saturating_sub(a)),
        },
    ))
}

fn log(sys: &str, what: &str, p: &Phase, ops: Option<usize>) {
    let rate = ops.map(|n| format!("{:>12} ops/s", group(n as f64 / p.secs))).unwrap_or_default();
    eprintln!("{sys:<7} {what:<48} {:>9.3} s {rate}", p.secs);
}

/// Thousands separators (`indicatif::HumanCount`): 1234567.4 -> "1,234,567".
fn group(x: f64) -> String {
    indicatif::HumanCount(x.round() as u64).to_string()
}

const MIB: f64 = 1024.0 * 1024.0;

fn open_system(name: &str, dir: &Path, cfg: Config) -> R<Box<dyn System>> {
    Ok(match name {
        "walden" => Box::new(Walden::open(dir, cfg)?),
        "sqlite" => Box::new(Sqlite::open(dir, cfg)?),
        "redb" => Box::new(Redb::open(dir, cfg)?),
        "lmdb" => Box::new(Lmdb::open(dir)?),
        other => return Err(format!("unknown system {other:?} (walden, sqlite, redb, lmdb)").into()),
    })
}

/// Workloads 1 to 7 and 9 on one system, in a fresh directory.
fn run_system(name: &str, col: usize, dir: &Path, cfg: Config, c: &Counts, k: &Keys, rep: &mut Report) -> R<()> {
    let sys_name = NAMES[col];
    let mut sys = open_system(name, dir, cfg)?;
    let user = (16 + VAL_LEN) as f64;

    // 1. Bulk load, then a checkpoint (the WAL systems' data reaches the database file).
    let ((), p) = phase(|| sys.insert_txn(&k.loaded))?;
    log(sys_name, "1  bulk load, one transaction", &p, Some(c.n));
    rep.set("1", col, Some(c.n as f64 / p.secs));
    rep.set("9e", col, p.peak_rss.map(|b| b as f64 / MIB));
    let ((), pc) = phase(|| sys.checkpoint())?;
    log(sys_name, "   checkpoint after the load", &pc, None);
    let wa = p.write_bytes.zip(pc.write_bytes).map(|(a, b)| (a + b) as f64 / (c.n as f64 * user));
    rep.set("9c", col, wa);
    rep.set("9a", col, Some(procfs::dir_bytes(dir) as f64 / MIB));

    // 2. Random point reads of every key.
    let (bytes, p) = phase(|| sys.get_all(&k.shuffled))?;
    if bytes != (c.n * VAL_LEN) as u64 {
        return Err(format!("{sys_name}: random reads found {bytes} value bytes, expected {}", c.n * VAL_LEN).into());
    }
    log(sys_name, "2  random point reads", &p, Some(c.n));
    rep.set("2", col, Some(c.n as f64 / p.secs));
    rep.set("9f", col, p.peak_rss.map(|b| b as f64 / MIB));

    // 3. Full ordered scan; range reads of 10 entries.
    let (n, p) = phase(|| sys.scan_all())?;
    if n != c.n as u64 {
        return Err(format!("{sys_name}: the scan found {n} entries, expected {}", c.n).into());
    }
    log(sys_name, "3a full ordered scan", &p, Some(c.n));
    rep.set("3a", col, Some(c.n as f64 / p.secs));
    let (_, p) = phase(|| sys.ranges(&k.range_starts, c.range_len))?;
    log(sys_name, "3b range reads of 10 entries", &p, Some(c.ranges));
    rep.set("3b", col, Some(c.ranges as f64 / p.secs));

    // 4. Single-put commits, sync Normal.
    sys.set_durability(Durability::Normal)?;
    let ((), p) = phase(|| sys.put_commits(&k.normal, None))?;
    log(sys_name, "4  single-put commits, sync Normal", &p, Some(c.normal_commits));
    rep.set("4", col, Some(c.normal_commits as f64 / p.secs));

    // 7. Readers while one writer commits (sync Normal).
    for (i, threads) in [1usize, 2, 4].into_iter().enumerate() {
        let stop = AtomicBool::new(false);
        let sysr: &dyn System = sys.as_ref();
        let ((reads, commits), p) = phase(|| {
            std::thread::scope(|s| -> R<(u64, u64)> {
                let writer = s.spawn(|| sysr.writer(100 + i as u64, &stop));
                let readers: Vec<_> = (0..threads)
                    .map(|t| {
                        let stop = &stop;
                        let keys = &k.loaded;
                        s.spawn(move || sysr.reader(keys, 1000 + t as u64, stop))
                    })
                    .collect();
                std::thread::sleep(c.concurrent);
                stop.store(true, Ordering::Relaxed);
                let mut reads = 0;
                for r in readers {
                    reads += r.join().map_err(|_| "reader thread panicked")??;
                }
                let commits = writer.join().map_err(|_| "writer thread panicked")??;
                Ok((reads, commits))
            })
        })?;
        let what = format!("7  {threads} reader(s) + 1 writer: reads");
        log(sys_name, &what, &p, Some(reads as usize));
        let ids = [("7a", "7a-w"), ("7b", "7b-w"), ("7c", "7c-w")][i];
        rep.set(ids.0, col, Some(reads as f64 / p.secs));
        rep.set(ids.1, col, Some(commits as f64 / p.secs));
        if threads == 4 {
            rep.set("9g", col, p.peak_rss.map(|b| b as f64 / MIB));
        }
    }

    // 5. Single-put commits, sync Full; fsyncs per commit.
    sys.set_durability(Durability::Full)?;
    let mut per_commit = Vec::new();
    let f0 = sys.fsyncs();
    let ((), p) = phase(|| sys.put_commits(&k.full, Some(&mut per_commit)))?;
    let f1 = sys.fsyncs();
    log(sys_name, "5  single-put commits, sync Full", &p, Some(c.full_commits));
    rep.set("5", col, Some(c.full_commits as f64 / p.secs));
    rep.set("9d", col, p.write_bytes.map(|b| b as f64 / (c.full_commits as f64 * user)));
    if let (Some(a), Some(b)) = (f0, f1) {
        rep.set("5f", col, Some((b - a) as f64 / c.full_commits as f64));
        let ones = per_commit.iter().filter(|&&n| n == 1).count();
        let mut others: Vec<u64> = per_commit.iter().copied().filter(|&n| n != 1).collect();
        others.sort_unstable();
        others.dedup();
        let rest = if ones == per_commit.len() {
            "every commit synced exactly once".to_string()
        } else {
            format!(
                "{ones} commits synced exactly once, {} synced {others:?} times (the commits that also ran the \
                 automatic checkpoint, which syncs the WAL and the database file)",
                per_commit.len() - ones
            )
        };
        rep.notes.push(format!(
            "{sys_name} workload 5: {} fsyncs for {} Full commits; {rest}",
            b - a,
            c.full_commits
        ));
    }

    // 6. Transactions of 1,000 inserts; removal of half the keys in one transaction.
    let ((), p) = phase(|| {
        for b in k.batches.chunks(c.batch_size) {
            sys.insert_txn(b)?;
        }
        Ok(())
    })?;
    log(sys_name, "6a transactions of 1,000 inserts", &p, Some(k.batches.len()));
    rep.set("6a", col, Some(k.batches.len() as f64 / p.secs));
    let (gone, p) = phase(|| sys.delete_txn(&k.removed))?;
    if gone != k.removed.len() as u64 {
        return Err(format!("{sys_name}: removed {gone} keys, expected {}", k.removed.len()).into());
    }
    log(sys_name, "6b removal of half the keys, one transaction", &p, Some(k.removed.len()));
    rep.set("6b", col, Some(k.removed.len() as f64 / p.secs));
    sys.checkpoint()?;
    let bytes = procfs::dir_bytes(dir) as f64;
    rep.set("9b", col, Some(bytes / MIB));
    // The entries left differ by system: workload 7's writer inserts new
    // keys for as long as it runs, so a faster writer leaves more data.
    let (held, _) = phase(|| sys.scan_all())?;
    rep.set("9b-e", col, Some(bytes / held as f64));
    Ok(())
}

/// Workload 8 in the child process: commits of 100 puts, with the
/// automatic checkpoint off, until the WAL reaches `wal_bytes` (or `txns`
/// transactions when given); then exits without closing anything.
fn crash_child(a: &[String], cfg: Config) -> R<()> {
    let [system, dir, wal_bytes, txns] = a else {
        return Err("--crash-child needs SYSTEM DIR WAL_BYTES TXNS".into());
    };
    let dir = PathBuf::from(dir);
    let wal_bytes: u64 = wal_bytes.parse()?;
    let txns: u64 = txns.parse()?;
    let mut rng = Rng::new(7);
    let mut batch = || (0..100).map(|_| rng.key()).collect::<Vec<Key>>();
    let size = |p: PathBuf| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
    let done = |t: u64, wal: u64| if txns > 0 { t >= txns } else { wal >= wal_bytes };
    let mut t = 0u64;
    // Each arm ends in `die` with its database still open: nothing is
    // closed, as in a crash (SQLite would checkpoint and delete its WAL on
    // close, redb would mark a clean shutdown).
    match system.as_str() {
        "walden" => {
            let opts = walden::Options {
                autocheckpoint_frames: 0,
                ..systems::walden_options(&cfg, Durability::Full)
            };
            let db = walden::Database::open(dir.join("walden.db"), opts)?;
            loop {
                let w = db.begin_write()?;
                for k in batch() {
                    w.put(k, systems::value_of(&k))?;
                }
                w.commit()?;
                t += 1;
                if done(t, size(dir.join("walden.db-wal"))) {
                    die(t, size(dir.join("walden.db-wal")));
                }
            }
        }
        "sqlite" => {
            let mut c = systems::sqlite_connect(&dir.join("sqlite.db"), &cfg, Durability::Full, false)?;
            c.pragma_update(None, "wal_autocheckpoint", 0)?;
            loop {
                let tx = c.transaction()?;
                {
                    let mut st = tx.prepare_cached("INSERT OR REPLACE INTO kv(k, v) VALUES (?1, ?2)")?;
                    for k in batch() {
                        st.execute(rusqlite::params![&k[..], &systems::value_of(&k)[..]])?;
                    }
                }
                tx.commit()?;
                t += 1;
                if done(t, size(dir.join("sqlite.db-wal"))) {
                    die(t, size(dir.join("sqlite.db-wal")));
                }
            }
        }
        "redb" | "lmdb" => {
            let sys = open_system(system, &dir, cfg)?;
            loop {
                sys.insert_txn(&batch())?;
                t += 1;
                if done(t, 0) {
                    die(t, 0);
                }
            }
        }
        other => Err(format!("unknown system {other:?}").into()),
    }
}

/// Reports the crash child's work and exits at once, running no destructor.
fn die(txns: u64, wal: u64) -> ! {
    use std::io::Write;
    println!("txns={txns} wal={wal}");
    let _ = std::io::stdout().flush();
    std::process::exit(0)
}

/// Workload 8 on one system: a child fills the WAL and dies; returns the
/// child's transactions and WAL bytes.
fn crash(name: &str, dir: &Path, wal_bytes: u64, txns: u64, args: &Args) -> R<(u64, u64)> {
    std::fs::create_dir_all(dir)?;
    let out = std::process::Command::new(std::env::current_exe()?)
        .arg("--walden-cache-pages")
        .arg(args.walden_cache_pages.to_string())
        .arg("--cache-mib")
        .arg(args.cache_mib.to_string())
        .arg("--config")
        .arg(if args.config == ConfigKind::Defaults {
            "defaults"
        } else {
            "equal-memory"
        })
        .arg("--crash-child")
        .args([name, &dir.display().to_string(), &wal_bytes.to_string(), &txns.to_string()])
        .output()?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        return Err(format!("{name} crash child failed: {}{}", stdout, String::from_utf8_lossy(&out.stderr)).into());
    }
    let field = |k: &str| -> Option<u64> {
        stdout
            .split_whitespace()
            .find_map(|w| w.strip_prefix(k))
            .and_then(|v| v.parse().ok())
    };
    match (field("txns="), field("wal=")) {
        (Some(t), Some(w)) => Ok((t, w)),
        _ => Err(format!("{name} crash child said {stdout:?}").into()),
    }
}

/// Workload 8: open (and first read) after the crash, then a full
/// checkpoint of the WAL.
fn recover(name: &str, col: usize, dir: &Path, cfg: Config, wal: u64, rep: &mut Report) -> R<()> {
    let first = Rng::new(7).key();
    let t = Instant::now();
    let ckpt_secs = match name {
        "walden" => {
            let opts = systems::walden_options(&cfg, Durability::Full);
            let db = walden::Database::open(dir.join("walden.db"), opts)?;
            if db.begin_read()?.get(first)?.is_none() {
                return Err("Walden lost a committed key in recovery".into());
            }
            rep.set("8a", col, Some(t.elapsed().as_secs_f64() * 1000.0));
            let s = db.stats();
            rep.notes.push(format!(
                "Walden workload 8: recovery replayed {} frames ({:.1} MiB WAL) in {:.1} ms (Stats::recovery_time)",
                s.recovered_frames,
                wal as f64 / MIB,
                s.recovery_time.as_secs_f64() * 1000.0
            ));
            let t = Instant::now();
            db.checkpoint(walden::CheckpointMode::Full)?;
            Some(t.elapsed().as_secs_f64())
        }
        "sqlite" => {
            let c = systems::sqlite_connect(&dir.join("sqlite.db"), &cfg, Durability::Full, false)?;
            let found: Option<Vec<u8>> = c
                .query_row("SELECT v FROM kv WHERE k = ?1", [&first[..]], |r| r.get(0))
                .map(Some)
                .or_else(|e| {
                    if e == rusqlite::Error::QueryReturnedNoRows {
                        Ok(None)
                    } else {
                        Err(e)
                    }
                })?;
            if found.is_none() {
                return Err("SQLite lost a committed key in recovery".into());
            }
            rep.set("8a", col, Some(t.elapsed().as_secs_f64() * 1000.0));
            let t = Instant::now();
            let (busy, log, done): (i64, i64, i64) =
                c.query_row("PRAGMA wal_checkpoint(FULL)", [], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
            if busy != 0 || log != done {
                return Err(format!("SQLite checkpoint incomplete: busy {busy}, {done} of {log} frames").into());
            }
            Some(t.elapsed().as_secs_f64())
        }
        other => {
            let sys = open_system(other, dir, cfg)?;
            if sys.get_all(&[first])? == 0 {
                return Err(format!("{other} lost a committed key after the crash").into());
            }
            rep.set("8a", col, Some(t.elapsed().as_secs_f64() * 1000.0));
            None
        }
    };
    if let Some(s) = ckpt_secs {
        rep.set("8b", col, Some(wal as f64 / MIB / s));
    }
    Ok(())
}

fn fmt_val(v: Option<f64>, unit: &str) -> String {
    match v {
        None => "–".into(),
        Some(x) if unit == "fsyncs" || unit == "bytes/byte" => format!("{x:.3}"),
        Some(x) if unit == "MiB" || unit == "MiB/s" || unit == "ms" => format!("{x:.1}"),
        Some(x) => group(x),
    }
}

fn print_report(rep: &Report, ran: &[bool; 4]) {
    println!("| # | workload | unit | better | Walden | SQLite | redb | LMDB | Walden/SQLite | Walden/redb | Walden/LMDB |");
    println!("|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|");
    for r in &rep.rows {
        if r.vals.iter().all(Option::is_none) {
            continue;
        }
        let vals: Vec<String> = (0..4)
            .map(|i| if ran[i] { fmt_val(r.vals[i], r.unit) } else { "not run".into() })
            .collect();
        let ratio = |i: usize| match (r.vals[0], r.vals[i]) {
            (Some(w), Some(p)) if p > 0.0 => format!("{:.2}", w / p),
            _ => "–".into(),
        };
        println!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            r.id,
            r.label,
            r.unit,
            if r.better == Better::Higher { "higher" } else { "lower" },
            vals[0],
            vals[1],
            vals[2],
            vals[3],
            ratio(1),
            ratio(2),
            ratio(3)
        );
    }
    println!();
    for n in &rep.notes {
        println!("- {n}");
    }
}

fn main() {
    let args = Args::parse();
    let cfg = Config {
        walden_cache_pages: args.walden_cache_pages,
        cache_bytes: args.cache_mib << 20,
        defaults: args.config == ConfigKind::Defaults,
    };
    if let Some(child) = &args.crash_child {
        if let Err(e) = crash_child(child, cfg) {
            eprintln!("walden-bench crash child: {e}");
            std::process::exit(1);
        }
        return;
    }
    if let Err(e) = run(&args, cfg) {
        eprintln!("walden-bench: error: {e}");
        std::process::exit(1);
    }
}

fn run(args: &Args, cfg: Config) -> R<()> {
    if !(args.scale > 0.0 && args.scale <= 10.0) {
        return Err("--scale must be in (0, 10]".into());
    }
    for s in &args.systems {
        if !SYSTEMS.contains(&s.as_str()) {
            return Err(format!("unknown system {s:?} (walden, sqlite, redb, lmdb)").into());
        }
    }
    let c = Counts::at(args.scale, args.concurrent_secs);
    // A fresh directory, removed when the run ends (also on an error).
    let mut tmp = tempfile::Builder::new();
    tmp.prefix("walden-bench-");
    let base_dir = match &args.dir {
        Some(d) => {
            std::fs::create_dir_all(d)?;
            tmp.tempdir_in(d)?
        }
        None => tmp.tempdir()?,
    };
    let base = base_dir.path().to_path_buf();
    eprintln!("walden-bench: scale {}, {c:?}, in {}", args.scale, base.display());
    let t0 = Instant::now();
    let keys = Keys::new(&c);
    let n = |x: usize| group(x as f64);
    let mut rep = Report {
        rows: Vec::new(),
        notes: Vec::new(),
    };
    rep.row(
        "1",
        format!("bulk load: {} random 16-byte keys, 100-byte values, one transaction", n(c.n)),
        "ops/s",
        Better::Higher,
    );
    rep.row(
        "2",
        format!("random point reads of every key ({})", n(c.n)),
        "ops/s",
        Better::Higher,
    );
    rep.row("3a", "full ordered scan".into(), "entries/s", Better::Higher);
    rep.row(
        "3b",
        format!("range reads of 10 entries ({})", n(c.ranges)),
        "ranges/s",
        Better::Higher,
    );
    rep.row(
        "4",
        format!("single-put commits, sync Normal ({})", n(c.normal_commits)),
        "commits/s",
        Better::Higher,
    );
    rep.row(
        "5",
        format!("single-put commits, sync Full ({})", n(c.full_commits)),
        "commits/s",
        Better::Higher,
    );
    rep.row("5f", "fsyncs per Full commit".into(), "fsyncs", Better::Lower);
    rep.row(
        "6a",
        format!("{} transactions of {} inserts", c.batch_txns, n(c.batch_size)),
        "inserts/s",
        Better::Higher,
    );
    rep.row(
        "6b",
        format!("removal of half the keys ({}), one transaction", n(c.n / 2)),
        "deletes/s",
        Better::Higher,
    );
    rep.row("7a", "reads, 1 reader thread + 1 writer".into(), "reads/s", Better::Higher);
    rep.row("7a-w", "writer commits beside 1 reader".into(), "commits/s", Better::Higher);
    rep.row("7b", "reads, 2 reader threads + 1 writer".into(), "reads/s", Better::Higher);
    rep.row("7b-w", "writer commits beside 2 readers".into(), "commits/s", Better::Higher);
    rep.row("7c", "reads, 4 reader threads + 1 writer".into(), "reads/s", Better::Higher);
    rep.row("7c-w", "writer commits beside 4 readers".into(), "commits/s", Better::Higher);
    rep.row(
        "8a",
        format!(
            "open + first read after a crash with a {:.0} MiB WAL",
            c.crash_wal_bytes as f64 / MIB
        ),
        "ms",
        Better::Lower,
    );
    rep.row("8b", "checkpoint of that WAL".into(), "MiB/s", Better::Higher);
    rep.row("9a", "files after the load (checkpointed)".into(), "MiB", Better::Lower);
    rep.row("9b", "files after the removals (checkpointed)".into(), "MiB", Better::Lower);
    rep.row(
        "9b-e",
        "9b per entry held (workload 7's writers insert as many keys as their speed allows)".into(),
        "bytes",
        Better::Lower,
    );
    rep.row(
        "9c",
        "bytes written per user byte: bulk load + checkpoint".into(),
        "bytes/byte",
        Better::Lower,
    );
    rep.row(
        "9d",
        "bytes written per user byte: Full single-put commits".into(),
        "bytes/byte",
        Better::Lower,
    );
    rep.row("9e", "peak RSS, bulk load".into(), "MiB", Better::Lower);
    rep.row("9f", "peak RSS, random reads".into(), "MiB", Better::Lower);
    rep.row("9g", "peak RSS, 4 readers + 1 writer".into(), "MiB", Better::Lower);

    let mut ran = [false; 4];
    let mut walden_txns = 0;
    for (col, name) in SYSTEMS.iter().enumerate() {
        if !args.systems.iter().any(|s| s == name) {
            continue;
        }
        ran[col] = true;
        let dir = base.join(name);
        std::fs::create_dir_all(&dir)?;
        if !args.recovery_only {
            run_system(name, col, &dir, cfg, &c, &keys, &mut rep).map_err(|e| format!("{}: {e}", NAMES[col]))?;
        }
        std::fs::remove_dir_all(&dir)?;

        // 8. Recovery: the WAL systems fill the same WAL size; redb and LMDB
        // run as many transactions as Walden did.
        let cdir = base.join(format!("{name}-crash"));
        let txns = match *name {
            "walden" | "sqlite" => 0,
            // Without a Walden run: about as many transactions as fill the WAL.
            _ if walden_txns == 0 => (c.crash_wal_bytes / (100 * 4096)).max(1),
            _ => walden_txns,
        };
        let t = Instant::now();
        let (t_done, wal) = crash(name, &cdir, c.crash_wal_bytes, txns, args)?;
        if *name == "walden" {
            walden_txns = t_done;
        }
        eprintln!(
            "{:<7} 8  crash child: {t_done} transactions of 100 puts, WAL {:.1} MiB, {:.1} s",
            NAMES[col],
            wal as f64 / MIB,
            t.elapsed().as_secs_f64()
        );
        recover(name, col, &cdir, cfg, wal, &mut rep).map_err(|e| format!("{} recovery: {e}", NAMES[col]))?;
        std::fs::remove_dir_all(&cdir)?;
    }
    drop(base_dir);
    let memory = if cfg.defaults {
        "every system with its default options".to_string()
    } else {
        format!(
            "equal memory: Walden cache {} pages per connection, SQLite/redb cache {} MiB",
            args.walden_cache_pages, args.cache_mib
        )
    };
    rep.notes.push(format!(
        "scale {}; {}; SQLite {}; {memory}; run took {:.0} s",
        args.scale,
        procfs::machine(),
        rusqlite::version(),
        t0.elapsed().as_secs_f64()
    ));
    print_report(&rep, &ran);
    Ok(())
}
