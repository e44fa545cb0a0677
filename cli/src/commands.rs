//! The commands that work through the engine's API: stat, get, put, del,
//! scan, checkpoint, verify; and what import and export share with them.

use std::io::{BufWriter, Read, Write};
use std::ops::Bound;
use std::path::Path;

use std::sync::OnceLock;
use std::time::Duration;

use walden::{Database, Options, ReadTxn, Table};

use crate::codec::{arg_bytes, group, prefix_end, show};
use crate::error::{CliError, Result, DAMAGED, IO, NOT_FOUND, USAGE};
use crate::{CheckpointArgs, DelArgs, GetArgs, PutArgs, ScanArgs, StatArgs, VerifyArgs};

/// How a command opens the database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Read-only; the file must exist.
    Read,
    /// Read-write; the file must exist.
    Write,
    /// Read-write; the file is created if missing.
    Create,
}

/// `--timeout`, set once by `main`: how long a command waits for another
/// connection (the engine's busy timeout; the CLI retries nothing itself).
static TIMEOUT: OnceLock<Duration> = OnceLock::new();

/// Sets the busy timeout of every database this process opens.
pub fn set_timeout(t: Duration) {
    let _ = TIMEOUT.set(t);
}

/// Opens the database at `path` (recovering from its WAL), waiting up to
/// `--timeout` for another connection.
pub fn open(path: &Path, access: Access, cache_pages: Option<u32>) -> Result<Database> {
    if path.is_dir() {
        return Err(CliError::new(
            IO,
            format!("{}: is a directory, not a database file", path.display()),
        ));
    }
    let mut o = Options {
        busy_timeout: TIMEOUT.get().copied().unwrap_or(walden::DEFAULT_BUSY_TIMEOUT),
        ..Options::default()
    };
    match access {
        Access::Read => {
            o.read_only = true;
            o.create_if_missing = false;
        }
        Access::Write => o.create_if_missing = false,
        Access::Create => {}
    }
    if let Some(n) = cache_pages {
        o.cache_pages = n;
    }
    Database::open(path, o).map_err(|e| CliError::db(path, e))
}

/// The error for a table that does not exist (exit code 1).
pub fn no_table(path: &Path, name: &str) -> CliError {
    CliError::new(NOT_FOUND, format!("{}: table {name:?} not found", path.display()))
}

/// The table `name` (or the default table) of a read transaction.
pub fn read_table<'r>(r: &'r ReadTxn, path: &Path, name: Option<&str>) -> Result<Table<'r>> {
    let t = match name {
        None => r.default_table(),
        Some(n) => r.table(n),
    };
    t.map_err(|e| match (e, name) {
        (walden::Error::NotFound, Some(n)) => no_table(path, n),
        (e, _) => CliError::db(path, e),
    })
}

/// Rejects a key longer than the database accepts (exit code 2).
pub fn check_key(db: &Database, path: &Path, key: &[u8]) -> Result<()> {
    let max = db.max_key_len();
    if key.len() > max {
        return Err(CliError::new(
            USAGE,
            format!(
                "{}: key is {} bytes; the largest key at {}-byte pages is {max} bytes",
                path.display(),
                key.len(),
                db.page_size()
            ),
        ));
    }
    Ok(())
}

/// Buffered stdout.
pub fn stdout() -> BufWriter<std::io::StdoutLock<'static>> {
    BufWriter::with_capacity(64 * 1024, std::io::stdout().lock())
}

fn table_label(name: Option<&str>) -> String {
    match name {
        Some(n) => format!(" in table {n:?}"),
        None => String::new(),
    }
}

/// Formats an LSN as PostgreSQL does: `SEQ/FRAME` in hex.
pub fn lsn_text(ckpt_seq: u32, frame: u32) -> String {
    format!("{ckpt_seq:X}/{frame:08X}")
}

/// The format version at offset 8 of a database file.
fn file_version(path: &Path) -> Option<u32> {
    let mut b = [0u8; 12];
    std::fs::File::open(path).ok()?.read_exact(&mut b).ok()?;
    Some(u32::from_le_bytes([b[8], b[9], b[10], b[11]]))
}

/// `walden stat`.
pub fn stat(a: &StatArgs) -> Result<()> {
    let path = a.db.as_path();
    let db = open(path, Access::Read, None)?;
    let e = |err| CliError::db(path, err);
    let r = db.begin_read().map_err(e)?;
    let h = r.header().map_err(e)?;
    let (ih, backfilled) = r.wal_state().map_err(e)?;
    let default_entries = r.default_table().map_err(e)?.len().map_err(e)?;
    let mut tables = Vec::new();
    for name in r.list_tables().map_err(e)? {
        let n = read_table(&r, path, Some(&name))?.len().map_err(e)?;
        tables.push((name, n));
    }
    drop(r);
    let version = file_version(path).unwrap_or(walden::core::format::FORMAT_VERSION);
    let db_bytes = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    let wal_bytes = std::fs::metadata(db.wal_path()).map(|m| m.len()).unwrap_or(0);
    let last_lsn = walden::core::format::lsn(ih.ckpt_seq, ih.mx_frame);
    let st = db.stats();
    let cs = st.checkpoint_stats;
    let mut out = stdout();
    let w = if a.json {
        let tables: Vec<serde_json::Value> = tables.iter().map(|(n, c)| serde_json::json!({ "name": n, "entries": c })).collect();
        let v = serde_json::json!({
            "database": path.display().to_string(),
            "wal": db.wal_path().display().to_string(),
            "format_version": version,
            "page_size": h.page_size,
            "pages": h.page_count,
            "freelist_pages": h.freelist_count,
            "change_counter": h.change_counter,
            "database_file_bytes": db_bytes,
            "wal_file_bytes": wal_bytes,
            "wal_frames": ih.mx_frame,
            "wal_backfilled_frames": backfilled,
            "last_lsn": last_lsn,
            "last_lsn_text": lsn_text(ih.ckpt_seq, ih.mx_frame),
            "checkpoint_sequence": ih.ckpt_seq,
            "default_table_entries": default_entries,
            "tables": tables,
            "checkpoints": {
                "by_size": cs.by_size,
                "by_time": cs.by_time,
                "manual": cs.manual,
                "pages_written": cs.pages_written,
                "time_ms": cs.time_ms,
            },
            "archive": st.archive_slot.map(|_| serde_json::json!({
                "lag_frames": st.archive_lag_frames,
                "lag_bytes": st.archive_lag_bytes,
                "lag_ms": st.archive_lag.map(|d| d.as_millis() as u64),
            })),
        });
        writeln!(out, "{v}")
    } else {
        let mut s = String::new();
        let mut line = |k: &str, v: String| s.push_str(&format!("{k:<18}{v}\n"));
        line("database", path.display().to_string());
        line("format version", version.to_string());
        line("page size", format!("{} bytes", group(h.page_size.into())));
        line(
            "pages",
            format!(
                "{} ({} bytes)",
                group(h.page_count.into()),
                group(h.page_count as u64 * h.page_size as u64)
            ),
        );
        line("freelist pages", group(h.freelist_count.into()));
        line("change counter", group(h.change_counter));
        line("file size", format!("{} bytes", group(db_bytes)));
        line("WAL file", format!("{} ({} bytes)", db.wal_path().display(), group(wal_bytes)));
        line("WAL frames", format!("{} committed", group(ih.mx_frame.into())));
        line("backfilled frames", group(backfilled.into()));
        line("last LSN", format!("{} ({last_lsn})", lsn_text(ih.ckpt_seq, ih.mx_frame)));
        line("checkpoint seq", ih.ckpt_seq.to_string());
        line(
            "checkpoints",
            format!(
                "{} by size, {} by time, {} asked for; {} pages written in {} ms (since the wal-index was rebuilt)",
                group(cs.by_size.into()),
                group(cs.by_time.into()),
                group(cs.manual.into()),
                group(cs.pages_written),
                group(cs.time_ms)
            ),
        );
        if st.archive_slot.is_some() {
            let lag = st
                .archive_lag
                .map_or("caught up".to_string(), |d| format!("for {} ms", d.as_millis()));
            line(
                "archive lag",
                format!(
                    "{} frames ({} bytes) not yet shipped, {lag}",
                    group(st.archive_lag_frames),
                    group(st.archive_lag_bytes)
                ),
            );
        }
        line("tables", format!("{} named, and the default table", tables.len()));
        s.push_str(&format!("  {:<24}{:>14} entries\n", "(default)", group(default_entries)));
        for (n, c) in &tables {
            s.push_str(&format!("  {:<24}{:>14} entries\n", n, group(*c)));
        }
        out.write_all(s.as_bytes())
    };
    w.and_then(|()| out.flush()).map_err(CliError::output)
}

/// `walden get`.
pub fn get(a: &GetArgs) -> Result<()> {
    let path = a.db.as_path();
    let key = arg_bytes(&a.key, a.hex, "KEY")?;
    let db = open(path, Access::Read, None)?;
    check_key(&db, path, &key)?;
    let r = db.begin_read().map_err(|e| CliError::db(path, e))?;
    let t = read_table(&r, path, a.table.table.as_deref())?;
    let Some(v) = t.get(&key).map_err(|e| CliError::db(path, e))? else {
        return Err(CliError::new(
            NOT_FOUND,
            format!(
                "{}: key {:?} not found{}",
                path.display(),
                show(&key, a.hex),
                table_label(a.table.table.as_deref())
            ),
        ));
    };
    let mut out = stdout();
    let w = if a.raw {
        out.write_all(&v)
    } else {
        writeln!(out, "{}", show(&v, a.hex))
    };
    w.and_then(|()| out.flush()).map_err(CliError::output)
}

/// `walden put`.
pub fn put(a: &PutArgs) -> Result<()> {
    let path = a.db.as_path();
    let key = arg_bytes(&a.key, a.hex, "KEY")?;
    let value = match &a.value {
        Some(v) => arg_bytes(v, a.hex, "VALUE")?,
        None => {
            let mut b = Vec::new();
            std::io::stdin()
                .read_to_end(&mut b)
                .map_err(|e| CliError::io(Path::new("<stdin>"), e))?;
            if a.hex {
                arg_bytes(&String::from_utf8_lossy(&b), true, "the value on stdin")?
            } else {
                b
            }
        }
    };
    let db = open(path, Access::Create, None)?;
    check_key(&db, path, &key)?;
    let e = |err| CliError::db(path, err);
    let w = db.begin_write().map_err(e)?;
    {
        let t = match &a.table.table {
            Some(n) => w.table(n),
            None => w.default_table(),
        }
        .map_err(e)?;
        t.put(&key, &value).map_err(e)?;
    }
    w.commit().map_err(e)?;
    Ok(())
}

/// `walden del`.
pub fn del(a: &DelArgs) -> Result<()> {
    let path = a.db.as_path();
    let key = arg_bytes(&a.key, a.hex, "KEY")?;
    let db = open(path, Access::Write, None)?;
    check_key(&db, path, &key)?;
    let e = |err| CliError::db(path, err);
    let w = db.begin_write().map_err(e)?;
    let existed = {
        let t = match &a.table.table {
            Some(n) => w.open_table(n).map_err(|err| match err {
                walden::Error::NotFound => no_table(path, n),
                err => CliError::db(path, err),
            })?,
            None => w.default_table().map_err(e)?,
        };
        t.delete(&key).map_err(e)?
    };
    if !existed {
        w.abort();
        return Err(CliError::new(
            NOT_FOUND,
            format!(
                "{}: key {:?} not found{}",
                path.display(),
                show(&key, a.hex),
                table_label(a.table.table.as_deref())
            ),
        ));
    }
    w.commit().map_err(e)?;
    Ok(())
}

/// A key and its value.
type Entry = (Vec<u8>, Vec<u8>);

/// `walden scan`.
pub fn scan(a: &ScanArgs) -> Result<()> {
    let path = a.db.as_path();
    let bytes = |s: &Option<String>, what| s.as_deref().map(|s| arg_bytes(s, a.hex, what)).transpose();
    let (start, end) = if let Some(p) = bytes(&a.prefix, "--prefix")? {
        let end = prefix_end(&p).map_or(Bound::Unbounded, Bound::Excluded);
        (Bound::Included(p), end)
    } else {
        (
            bytes(&a.from, "--from")?.map_or(Bound::Unbounded, Bound::Included),
            bytes(&a.to, "--to")?.map_or(Bound::Unbounded, Bound::Excluded),
        )
    };
    let db = open(path, Access::Read, None)?;
    let r = db.begin_read().map_err(|e| CliError::db(path, e))?;
    let t = read_table(&r, path, a.table.table.as_deref())?;
    let range = t
        .range((start.as_ref().map(Vec::as_slice), end.as_ref().map(Vec::as_slice)))
        .map_err(|e| CliError::db(path, e))?;
    let entries: Box<dyn Iterator<Item = walden::Result<Entry>>> = if a.reverse { Box::new(range.rev()) } else { Box::new(range) };
    let mut out = stdout();
    for entry in entries.take(a.limit.map_or(usize::MAX, |n| n.try_into().unwrap_or(usize::MAX))) {
        let (k, v) = entry.map_err(|e| CliError::db(path, e))?;
        let w = if a.keys_only {
            writeln!(out, "{}", show(&k, a.hex))
        } else {
            writeln!(out, "{}\t{}", show(&k, a.hex), show(&v, a.hex))
        };
        w.map_err(CliError::output)?;
    }
    out.flush().map_err(CliError::output)
}

/// `walden checkpoint`.
pub fn checkpoint(a: &CheckpointArgs) -> Result<()> {
    let path = a.db.as_path();
    let db = open(path, Access::Write, None)?;
    let (mode, name) = (a.mode, a.mode.name());
    let before = db.stats();
    let info = db.checkpoint(mode).map_err(|e| CliError::db(path, e))?;
    let wal_bytes = std::fs::metadata(db.wal_path()).map(|m| m.len()).unwrap_or(0);
    let mut out = stdout();
    writeln!(
        out,
        "{}: {name} checkpoint: {} frames were in the WAL; now {} frames, {} backfilled; WAL file {} bytes",
        path.display(),
        group(before.wal_frames),
        group(info.wal_frames.into()),
        group(info.backfilled.into()),
        group(wal_bytes)
    )
    .and_then(|()| out.flush())
    .map_err(CliError::output)
}

/// `walden verify`.
pub fn verify(a: &VerifyArgs) -> Result<()> {
    let path = a.db.as_path();
    let db = open(path, Access::Read, None)?;
    let rep = db.verify().map_err(|e| CliError::db(path, e))?;
    let mut s = String::new();
    let summary = format!(
        "{} pages: {} tree, {} overflow, {} freelist; {} named tables; {} entries",
        group(rep.pages.into()),
        group(rep.tree_pages.into()),
        group(rep.overflow_pages.into()),
        group(rep.freelist_pages.into()),
        group(rep.tables.into()),
        group(rep.entries)
    );
    if rep.is_ok() {
        s.push_str(&format!("{}: ok: {summary}\n", path.display()));
    } else {
        s.push_str(&format!("{}: {} problems found\n", path.display(), group(rep.problem_count.into())));
        for p in &rep.problems {
            if p.page > 0 {
                s.push_str(&format!("  page {}: {}\n", p.page, p.what));
            } else {
                s.push_str(&format!("  database: {}\n", p.what));
            }
        }
        let shown = rep.problems.len() as u32;
        if rep.problem_count > shown {
            s.push_str(&format!("  ... and {} more\n", group((rep.problem_count - shown).into())));
        }
        s.push_str(&format!("  walked: {summary}\n"));
    }
    let mut out = stdout();
    out.write_all(s.as_bytes()).and_then(|()| out.flush()).map_err(CliError::output)?;
    if rep.is_ok() {
        Ok(())
    } else {
        Err(CliError::new(
            DAMAGED,
            format!("{}: damaged: {} problems found by verify", path.display(), rep.problem_count),
        ))
    }
}
