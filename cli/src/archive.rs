//! `walden archive`, `walden archive ls`, `walden archive retain`,
//! `walden restore`, `walden replica`: continuous archiving to object
//! storage, point-in-time restore and read replicas (the `walden-archive`
//! crate).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use clap::{Args, Subcommand};
use walden_archive::{retain, Archiver, ArchiverOptions, Catalog, Error as AError, Replica, Retention, ShipReport, Store, Target};

use crate::commands::{lsn_text, open, stdout, Access};
use crate::error::{CliError, Result, BUSY, DAMAGED, IO, NOT_FOUND, USAGE};

/// `walden archive`.
#[derive(Args, Debug)]
#[command(args_conflicts_with_subcommands = true)]
pub struct ArchiveArgs {
    #[command(subcommand)]
    pub sub: Option<ArchiveSub>,
    #[command(flatten)]
    pub run: Option<ArchiveRun>,
}

/// `walden archive DB URL`.
#[derive(Args, Debug)]
pub struct ArchiveRun {
    /// Database file
    pub db: PathBuf,
    /// Archive: file:///ABSOLUTE/DIR (or memory:///, for tests)
    pub url: String,
    /// Ship what is committed now, then exit (default: keep following)
    #[arg(long)]
    pub once: bool,
    /// Take a snapshot this often, in seconds (default: only at the start, after a gap and with --snapshot)
    #[arg(long, value_name = "SECONDS")]
    pub snapshot_every: Option<u64>,
    /// Take a snapshot now (after shipping)
    #[arg(long)]
    pub snapshot: bool,
    /// Writers fail with an archive-lag error past this many WAL frames not yet shipped
    #[arg(long, value_name = "FRAMES")]
    pub max_lag_frames: Option<u32>,
    /// With --max-lag-frames: writers wait for the archiver (up to their busy timeout) instead of failing at once
    #[arg(long, requires = "max_lag_frames")]
    pub back_pressure: bool,
    /// Seconds between looks at the WAL
    #[arg(long, value_name = "SECONDS", default_value_t = 1.0)]
    pub interval: f64,
}

/// Subcommands of `walden archive`.
#[derive(Subcommand, Debug)]
pub enum ArchiveSub {
    /// List the timelines, snapshots and segments of an archive, with LSN and time ranges
    Ls(LsArgs),
    /// Delete snapshots (and the segments before the oldest one kept) by count and age
    Retain(RetainArgs),
}

/// `walden archive ls`.
#[derive(Args, Debug)]
pub struct LsArgs {
    /// Archive URL
    pub url: String,
}

/// `walden archive retain`.
#[derive(Args, Debug)]
pub struct RetainArgs {
    /// Archive URL
    pub url: String,
    /// Keep at least the N newest snapshots of each timeline
    #[arg(long, value_name = "N")]
    pub keep: Option<usize>,
    /// Keep what restores any moment of the last SECONDS
    #[arg(long, value_name = "SECONDS")]
    pub max_age: Option<u64>,
}

/// `walden restore`.
#[derive(Args, Debug)]
pub struct RestoreArgs {
    /// Archive URL
    pub url: String,
    /// The new database file to write (must not exist)
    pub db: PathBuf,
    /// Stop at the last commit at or before this LSN (SEQ/FRAME in hex, as `walden stat` prints it)
    #[arg(long, value_name = "LSN", value_parser = parse_lsn, conflicts_with = "time")]
    pub lsn: Option<u64>,
    /// Stop at the last commit archived at or before this time: YYYY-MM-DDTHH:MM:SS[.mmm]Z or Unix milliseconds
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    pub time: Option<u64>,
    /// The timeline to restore (default: the newest)
    #[arg(long, value_name = "N")]
    pub timeline: Option<u32>,
}

/// `walden replica`.
#[derive(Args, Debug)]
pub struct ReplicaArgs {
    /// Archive URL
    pub url: String,
    /// The replica's database file (restored from the archive if missing)
    pub db: PathBuf,
    /// Apply what is archived now, then exit (default: keep following)
    #[arg(long)]
    pub once: bool,
    /// Seconds between looks at the archive
    #[arg(long, value_name = "SECONDS", default_value_t = 1.0)]
    pub interval: f64,
}

/// `SEQ/FRAME` in hex, or a decimal LSN.
pub fn parse_lsn(s: &str) -> std::result::Result<u64, String> {
    let bad = || format!("{s:?} is not an LSN (SEQ/FRAME in hex, e.g. 2/0000001A)");
    if let Some((a, b)) = s.split_once('/') {
        let a = u32::from_str_radix(a, 16).map_err(|_| bad())?;
        let b = u32::from_str_radix(b, 16).map_err(|_| bad())?;
        return Ok(((a as u64) << 32) | b as u64);
    }
    s.parse().map_err(|_| bad())
}

/// RFC 3339 in UTC (`2026-11-30T12:00:00Z`, optional `.mmm`), or Unix
/// milliseconds.
pub fn parse_time(s: &str) -> std::result::Result<u64, String> {
    if let Ok(ms) = s.parse::<u64>() {
        return Ok(ms);
    }
    let bad = || format!("{s:?} is not a time (YYYY-MM-DDTHH:MM:SS[.mmm]Z, UTC, or Unix milliseconds)");
    let t = s.strip_suffix('Z').ok_or_else(bad)?;
    let (date, clock) = t.split_once('T').ok_or_else(bad)?;
    let d: Vec<i64> = date
        .split('-')
        .map(|p| p.parse().map_err(|_| bad()))
        .collect::<std::result::Result<_, _>>()?;
    let (clock, ms) = match clock.split_once('.') {
        Some((c, f)) if f.len() == 3 => (c, f.parse::<i64>().map_err(|_| bad())?),
        Some(_) => return Err(bad()),
        None => (clock, 0),
    };
    let c: Vec<i64> = clock
        .split(':')
        .map(|p| p.parse().map_err(|_| bad()))
        .collect::<std::result::Result<_, _>>()?;
    if d.len() != 3 || c.len() != 3 || !(1..=12).contains(&d[1]) || !(1..=31).contains(&d[2]) || c[0] > 23 || c[1] > 59 || c[2] > 60 {
        return Err(bad());
    }
    // Days from the civil date (Howard Hinnant's algorithm).
    let (y, m, day) = (if d[1] <= 2 { d[0] - 1 } else { d[0] }, d[1], d[2]);
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = days * 86_400 + c[0] * 3600 + c[1] * 60 + c[2];
    u64::try_from(secs * 1000 + ms).map_err(|_| bad())
}

/// Unix milliseconds as `YYYY-MM-DDTHH:MM:SS.mmmZ`.
pub fn time_text(ms: u64) -> String {
    let secs = (ms / 1000) as i64;
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        ms % 1000
    )
}

fn lsn(l: u64) -> String {
    lsn_text((l >> 32) as u32, l as u32)
}

/// The CLI error of an archive error: the archive's URL or the database's
/// path, and an exit code by kind.
fn err(what: &str, e: AError) -> CliError {
    let code = match &e {
        AError::Corrupt { .. } => DAMAGED,
        AError::Unreachable(_) => NOT_FOUND,
        AError::InvalidArgument(_) => USAGE,
        AError::Timeout { .. } => BUSY,
        _ => IO,
    };
    if let AError::Db(d) = e {
        return CliError::db(Path::new(what), d);
    }
    CliError::new(code, format!("{what}: {e}"))
}

fn store(url: &str) -> Result<Store> {
    Store::from_url(url).map_err(|e| err(url, e))
}

fn interval(s: f64) -> Result<Duration> {
    Duration::try_from_secs_f64(s)
        .ok()
        .filter(|d| *d <= Duration::from_secs(86_400))
        .ok_or_else(|| CliError::new(USAGE, format!("--interval {s}: not a number of seconds from 0 to 86400")))
}

fn report(db: &Path, r: &ShipReport) {
    let mut e = std::io::stderr();
    if let Some(g) = &r.gap {
        let _ = writeln!(e, "walden: {}: {g}", db.display());
    }
    if let Some(s) = r.snapshot {
        let _ = writeln!(e, "walden: {}: snapshot at {}", db.display(), lsn(s));
    }
}

/// `walden archive ...`.
pub fn archive(a: &ArchiveArgs) -> Result<()> {
    match (&a.sub, &a.run) {
        (Some(ArchiveSub::Ls(l)), _) => ls(l),
        (Some(ArchiveSub::Retain(r)), _) => retain_cmd(r),
        (None, Some(r)) => run(r),
        (None, None) => Err(CliError::new(USAGE, "walden archive DB URL, or walden archive ls URL")),
    }
}

fn run(a: &ArchiveRun) -> Result<()> {
    let st = store(&a.url)?;
    let db = open(&a.db, Access::Write, None)?;
    let mut opts = ArchiverOptions {
        snapshot_every: a.snapshot_every.map(Duration::from_secs),
        poll_interval: interval(a.interval)?,
        ..ArchiverOptions::default()
    };
    if let Some(n) = a.max_lag_frames {
        opts.limits.max_frames = n;
        opts.limits.back_pressure = a.back_pressure;
    }
    let path = a.db.display().to_string();
    let (mut ar, first) = Archiver::start(&db, st, opts).map_err(|e| err(&path, e))?;
    report(&a.db, &first);
    let mut total = first.clone();
    let mut once = |r: &ShipReport| {
        report(&a.db, r);
        total.segments += r.segments;
        total.commits += r.commits;
        total.frames += r.frames;
        total.archived_lsn = r.archived_lsn;
    };
    if a.once {
        let r = ar.ship().map_err(|e| err(&path, e))?;
        once(&r);
        if a.snapshot {
            let at = ar.snapshot().map_err(|e| err(&path, e))?;
            let _ = writeln!(std::io::stderr(), "walden: {path}: snapshot at {}", lsn(at));
        }
        let mut out = stdout();
        writeln!(
            out,
            "timeline {:08x}: {} segments, {} commits, {} frames shipped; archived up to {}",
            ar.timeline(),
            total.segments,
            total.commits,
            total.frames,
            lsn(total.archived_lsn)
        )
        .map_err(CliError::output)?;
        return out.flush().map_err(CliError::output);
    }
    if a.snapshot {
        ar.snapshot().map_err(|e| err(&path, e))?;
    }
    ar.run(|r| {
        once(r);
        false
    })
    .map_err(|e| err(&path, e))
}

fn ls(a: &LsArgs) -> Result<()> {
    let st = store(&a.url)?;
    let cat = Catalog::read(&st).map_err(|e| err(&a.url, e))?;
    let mut out = stdout();
    let w = |out: &mut std::io::BufWriter<std::io::StdoutLock<'static>>, s: String| writeln!(out, "{s}").map_err(CliError::output);
    if cat.timelines.is_empty() {
        w(&mut out, "(empty archive)".into())?;
    }
    for (tl, t) in &cat.timelines {
        let info = t.info.map_or("no timeline record".to_string(), |i| {
            let from = if i.parent != 0 {
                format!(", branched off timeline {:08x} at {}", i.parent, lsn(i.branch_lsn))
            } else {
                String::new()
            };
            format!("database {:08x}{from}, created {}", i.db_id, time_text(i.unix_ms))
        });
        w(&mut out, format!("timeline {tl:08x}: {info}"))?;
        for s in &t.snapshots {
            let key = walden_archive::format::keys::snapshot(*tl, *s);
            let h = st
                .get_range(&key, 0, walden_archive::format::SNAPSHOT_HEADER_LEN as u64)
                .map_err(|e| err(&a.url, e))?;
            let h = walden_archive::format::Snapshot::decode_header(&key, &h).map_err(|e| err(&a.url, e))?;
            w(&mut out, format!("  snapshot {:>18}  taken {}", lsn(*s), time_text(h.unix_ms)))?;
        }
        if let (Some(first), Some(last)) = (t.segments.first(), t.segments.last()) {
            // The time range from the commit tables of the first and the
            // last segment (each checked whole).
            let seg = |(f, l): (u64, u64)| -> Result<walden_archive::format::Segment> {
                let key = walden_archive::format::keys::segment(*tl, f, l);
                let b = st
                    .get(&key)
                    .map_err(|e| err(&a.url, e))?
                    .ok_or_else(|| CliError::new(IO, format!("{}: {key}: listed but gone", a.url)))?;
                walden_archive::format::Segment::decode(&key, &b).map_err(|e| err(&a.url, e))
            };
            let (s0, s1) = (seg(*first)?, seg(*last)?);
            let t0 = s0.commits.first().map_or(0, |c| c.unix_ms);
            let t1 = s1.commits.last().map_or(0, |c| c.unix_ms);
            w(
                &mut out,
                format!(
                    "  segments {}: LSN {} to {}, commits archived {} to {}",
                    t.segments.len(),
                    lsn(first.0),
                    lsn(last.1),
                    time_text(t0),
                    time_text(t1)
                ),
            )?;
        }
        for n in &t.notes {
            let text = st.get(&walden_archive::format::keys::note(*tl, *n)).map_err(|e| err(&a.url, e))?;
            let text = text.map(|b| String::from_utf8_lossy(&b).into_owned()).unwrap_or_default();
            w(&mut out, format!("  note at {}: {text}", lsn(*n)))?;
        }
    }
    out.flush().map_err(CliError::output)
}

fn retain_cmd(a: &RetainArgs) -> Result<()> {
    let st = store(&a.url)?;
    let p = Retention {
        keep_snapshots: a.keep,
        max_age: a.max_age.map(Duration::from_secs),
    };
    if p.keep_snapshots.is_none() && p.max_age.is_none() {
        return Err(CliError::new(
            USAGE,
            "walden archive retain: give --keep N, --max-age SECONDS or both",
        ));
    }
    let clock: walden_archive::Clock = Arc::new(walden_archive::system_clock);
    let r = retain(&st, p, &clock).map_err(|e| err(&a.url, e))?;
    let mut out = stdout();
    writeln!(out, "deleted {} snapshots, {} segments, {} notes", r.snapshots, r.segments, r.notes).map_err(CliError::output)?;
    out.flush().map_err(CliError::output)
}

/// `walden restore`.
pub fn restore(a: &RestoreArgs) -> Result<()> {
    let st = store(&a.url)?;
    let target = match (a.lsn, a.time) {
        (Some(l), _) => Target::Lsn(l),
        (_, Some(t)) => Target::Time(t),
        _ => Target::Latest,
    };
    let i = walden_archive::restore(&st, &a.db, a.timeline, target).map_err(|e| err(&a.url, e))?;
    let mut out = stdout();
    writeln!(
        out,
        "restored {} at {} (timeline {:08x}, archived {}): snapshot {} and {} commits from {} segments, {} pages",
        a.db.display(),
        lsn(i.lsn),
        i.timeline,
        time_text(i.unix_ms),
        lsn(i.snapshot_lsn),
        i.commits,
        i.segments,
        i.pages
    )
    .map_err(CliError::output)?;
    out.flush().map_err(CliError::output)
}

/// `walden replica`.
pub fn replica(a: &ReplicaArgs) -> Result<()> {
    let st = store(&a.url)?;
    let path = a.db.display().to_string();
    let opts = walden::Options {
        busy_timeout: Duration::from_secs(5),
        ..walden::Options::default()
    };
    let mut r = Replica::open(st, &a.db, None, opts).map_err(|e| err(&path, e))?;
    r.set_poll_interval(interval(a.interval)?);
    if a.once {
        r.poll().map_err(|e| err(&path, e))?;
        let mut out = stdout();
        writeln!(out, "{path}: timeline {:08x} applied up to {}", r.timeline(), lsn(r.applied_lsn())).map_err(CliError::output)?;
        return out.flush().map_err(CliError::output);
    }
    r.follow(|_| false).map_err(|e| err(&path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_and_lsns() {
        assert_eq!(parse_time("1970-01-01T00:00:00Z"), Ok(0));
        assert_eq!(parse_time("2026-11-30T12:34:56.789Z"), Ok(1_796_042_096_789));
        assert_eq!(time_text(1_796_042_096_789), "2026-11-30T12:34:56.789Z");
        assert_eq!(
            parse_time("2000-02-29T00:00:00Z").map(time_text),
            Ok("2000-02-29T00:00:00.000Z".into())
        );
        assert!(parse_time("2026-13-01T00:00:00Z").is_err());
        assert!(parse_time("yesterday").is_err());
        assert_eq!(parse_lsn("2/0000001A"), Ok((2 << 32) | 0x1a));
        assert_eq!(parse_lsn("12"), Ok(12));
        assert!(parse_lsn("x/1").is_err());
        assert_eq!(lsn((2 << 32) | 0x1a), "2/0000001A");
    }
}
