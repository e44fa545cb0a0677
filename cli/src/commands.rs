//! The commands that work through the engine's API: get, put, del, scan,
//! count, checkpoint, verify; and what stat, import and export share with
//! them.

use std::io::{BufRead, BufWriter, Read, Write};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use clap::ValueEnum;
use walden::{Database, Options, ReadTxn, Table};

use crate::codec::{arg_bytes, count_of, escape, group, hex, show};
use crate::error::{CliError, Result, DAMAGED, DATA, IO, NOT_FOUND, USAGE};
use crate::range::borrowed;
use crate::{CheckpointArgs, CountArgs, DelArgs, GetArgs, PutArgs, ScanArgs, VerifyArgs};

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

/// `--timeout` (and the shell's `.timeout`), in nanoseconds: how long a
/// command waits for another connection (the engine's busy timeout; the
/// CLI retries nothing itself). `u64::MAX`: not set, the engine's default.
static TIMEOUT_NS: AtomicU64 = AtomicU64::new(u64::MAX);

/// Sets the busy timeout of every database this process opens from now on.
pub fn set_timeout(t: Duration) {
    TIMEOUT_NS.store(u64::try_from(t.as_nanos()).unwrap_or(u64::MAX - 1), Ordering::Relaxed);
}

/// The busy timeout databases are opened with.
pub fn timeout() -> Duration {
    match TIMEOUT_NS.load(Ordering::Relaxed) {
        u64::MAX => walden::DEFAULT_BUSY_TIMEOUT,
        ns => Duration::from_nanos(ns),
    }
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
    // An empty file without a WAL holds no database: damaged input, not a
    // usage error (`put` and `import` create a database in it).
    let len = |p: &Path| std::fs::metadata(p).map(|m| m.len()).ok();
    if access != Access::Create && len(path) == Some(0) && len(&walden::wal_path(path)).unwrap_or(0) == 0 {
        return Err(CliError::new(
            DAMAGED,
            format!(
                "{}: the file is empty (0 bytes) and has no WAL: not a Walden database",
                path.display()
            ),
        ));
    }
    let mut o = Options {
        busy_timeout: timeout(),
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
    CliError::new(
        NOT_FOUND,
        format!("{}: table \"{}\" not found", path.display(), escape(name.as_bytes())),
    )
}

/// The table `name` (or the default table) of a read transaction.
pub fn read_table<'r>(r: &'r ReadTxn, path: &Path, name: Option<&str>) -> Result<Table<'r>> {
    let t = match name {
        None => r.default_table(),
        Some(n) => r.table(n),
    };
    t.map_err(|e| match (e, name) {
        (walden::Error::NotFound { .. }, Some(n)) => no_table(path, n),
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
                "{}: key is {} bytes; the largest at {}-byte pages is {}",
                path.display(),
                group(key.len() as u64),
                group(db.page_size().into()),
                group(max as u64)
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
        Some(n) => format!(" in table \"{}\"", escape(n.as_bytes())),
        None => String::new(),
    }
}

/// "table \"NAME\"" (control characters escaped) or "the default table".
pub fn table_name(name: Option<&str>) -> String {
    match name {
        Some(n) => format!("table \"{}\"", escape(n.as_bytes())),
        None => "the default table".to_string(),
    }
}

/// Formats an LSN as PostgreSQL does: `SEQ/FRAME` in hex.
pub fn lsn_text(ckpt_seq: u32, frame: u32) -> String {
    format!("{ckpt_seq:X}/{frame:08X}")
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
                "{}: key \"{}\" not found{}",
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

/// The table `name` (or the default table) of a write transaction,
/// created if missing.
fn write_table<'w>(w: &'w walden::WriteTxn, path: &Path, name: Option<&str>) -> Result<Table<'w>> {
    match name {
        Some(n) => w.table(n),
        None => w.default_table(),
    }
    .map_err(|e| CliError::db(path, e))
}

/// `walden put`.
pub fn put(a: &PutArgs) -> Result<()> {
    if a.lines {
        return put_lines(a);
    }
    let path = a.db.as_path();
    let key = arg_bytes(a.key.as_deref().unwrap_or_default(), a.hex, "KEY")?;
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
    write_table(&w, path, a.table.table.as_deref())?.put(&key, &value).map_err(e)?;
    w.commit().map_err(e)?;
    Ok(())
}

/// One `KEY<TAB>VALUE` line of `put --lines` (without its `\n`): the key
/// and the value as given, or decoded from hex.
fn parse_line(line: &[u8], n: u64, hex_mode: bool) -> Result<(Vec<u8>, Vec<u8>)> {
    let bad = |why: String| CliError::new(DATA, format!("<stdin>: line {n}: {why}"));
    let tab = line
        .iter()
        .position(|&b| b == b'\t')
        .ok_or_else(|| bad("no TAB between the key and the value".to_string()))?;
    let (k, v) = (&line[..tab], &line[tab + 1..]);
    if !hex_mode {
        return Ok((k.to_vec(), v.to_vec()));
    }
    let dec = |b: &[u8], what: &str| {
        let s = std::str::from_utf8(b).map_err(|_| bad(format!("the {what} is not hex")))?;
        crate::codec::unhex(s).map_err(|err| bad(format!("the {what} is not valid hex: {err}")))
    };
    Ok((dec(k, "key")?, dec(v, "value")?))
}

/// `walden put --lines`: every line of stdin in one write transaction.
fn put_lines(a: &PutArgs) -> Result<()> {
    let path = a.db.as_path();
    let db = open(path, Access::Create, None)?;
    let e = |err| CliError::db(path, err);
    let max = db.max_key_len();
    let w = db.begin_write().map_err(e)?;
    let t = write_table(&w, path, a.table.table.as_deref())?;
    let mut input = std::io::stdin().lock();
    let mut line = Vec::new();
    let (mut n, mut stored) = (0u64, 0u64);
    loop {
        line.clear();
        let got = input
            .read_until(b'\n', &mut line)
            .map_err(|err| CliError::io(Path::new("<stdin>"), err))?;
        if got == 0 {
            break;
        }
        n += 1;
        if line.last() == Some(&b'\n') {
            line.pop();
        }
        let (k, v) = parse_line(&line, n, a.hex)?;
        if k.len() > max {
            return Err(CliError::new(
                DATA,
                format!(
                    "<stdin>: line {n}: the key is {} bytes; the largest at {}-byte pages is {}",
                    group(k.len() as u64),
                    group(db.page_size().into()),
                    group(max as u64)
                ),
            ));
        }
        t.put(&k, &v).map_err(e)?;
        stored += 1;
    }
    w.commit().map_err(e)?;
    let mut out = stdout();
    writeln!(
        out,
        "stored {} in {} of {} (1 commit)",
        count_of(stored, "entry", "entries"),
        table_name(a.table.table.as_deref()),
        path.display()
    )
    .and_then(|()| out.flush())
    .map_err(CliError::output)
}

/// `walden del`.
pub fn del(a: &DelArgs) -> Result<()> {
    let path = a.db.as_path();
    let key = match &a.key {
        Some(k) => Some(arg_bytes(k, a.hex, "KEY")?),
        None => None,
    };
    let bounds = a.range.bounds(a.hex)?;
    let db = open(path, Access::Write, None)?;
    if let Some(k) = &key {
        check_key(&db, path, k)?;
    }
    let e = |err| CliError::db(path, err);
    let w = db.begin_write().map_err(e)?;
    let t = match &a.table.table {
        Some(n) => w.open_table(n).map_err(|err| match err {
            walden::Error::NotFound { .. } => no_table(path, n),
            err => CliError::db(path, err),
        })?,
        None => w.default_table().map_err(e)?,
    };
    let Some(key) = key else {
        // A range: every key of it, deleted in this one transaction.
        let mut keys = Vec::new();
        t.for_each_in(borrowed(&bounds), |k, _| {
            keys.push(k.to_vec());
            true
        })
        .map_err(e)?;
        for k in &keys {
            t.delete(k).map_err(e)?;
        }
        w.commit().map_err(e)?;
        let mut out = stdout();
        return writeln!(
            out,
            "deleted {} from {} of {} (1 commit)",
            count_of(keys.len() as u64, "entry", "entries"),
            table_name(a.table.table.as_deref()),
            path.display()
        )
        .and_then(|()| out.flush())
        .map_err(CliError::output);
    };
    if !t.delete(&key).map_err(e)? {
        w.abort();
        return Err(CliError::new(
            NOT_FOUND,
            format!(
                "{}: key \"{}\" not found{}",
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

/// Output formats of `scan`.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScanFormat {
    /// `KEY<TAB>VALUE` lines, escaped (see --hex)
    Text,
    /// One JSON object per line: {"key":..,"value":..}
    Jsonl,
    /// CSV with a header row `key,value`
    Csv,
}

/// `b` as a JSON or CSV field: hex, or the text itself when it is UTF-8
/// (a data error naming the key otherwise).
pub fn field<'b>(path: &Path, b: &'b [u8], hex_mode: bool, what: &str, key: &[u8]) -> Result<std::borrow::Cow<'b, str>> {
    if hex_mode {
        return Ok(hex(b).into());
    }
    std::str::from_utf8(b).map(Into::into).map_err(|_| {
        CliError::new(
            DATA,
            format!("{}: the {what} of key \"{}\" is not UTF-8; use --hex", path.display(), escape(key)),
        )
    })
}

/// `walden scan`.
pub fn scan(a: &ScanArgs) -> Result<()> {
    let path = a.db.as_path();
    let bounds = a.range.bounds(a.hex)?;
    let format = if a.json { ScanFormat::Jsonl } else { a.format };
    let db = open(path, Access::Read, None)?;
    let r = db.begin_read().map_err(|e| CliError::db(path, e))?;
    let t = read_table(&r, path, a.table.table.as_deref())?;
    let range = t.range(borrowed(&bounds)).map_err(|e| CliError::db(path, e))?;
    let entries: Box<dyn Iterator<Item = walden::Result<Entry>>> = if a.reverse { Box::new(range.rev()) } else { Box::new(range) };
    let mut out = stdout();
    let mut line = Vec::new();
    if format == ScanFormat::Csv {
        let header: &[&[u8]] = if a.keys_only { &[b"key"] } else { &[b"key", b"value"] };
        crate::import::encode_record(&mut line, header.iter().copied());
        line.push(b'\n');
    }
    for entry in entries.take(a.limit.map_or(usize::MAX, |n| n.try_into().unwrap_or(usize::MAX))) {
        let (k, v) = entry.map_err(|e| CliError::db(path, e))?;
        match format {
            ScanFormat::Text if a.keys_only => line.extend_from_slice(show(&k, a.hex).as_bytes()),
            ScanFormat::Text => {
                line.extend_from_slice(show(&k, a.hex).as_bytes());
                line.push(b'\t');
                line.extend_from_slice(show(&v, a.hex).as_bytes());
            }
            ScanFormat::Jsonl => {
                let mut m = serde_json::Map::new();
                m.insert("key".into(), field(path, &k, a.hex, "key", &k)?.into());
                if !a.keys_only {
                    m.insert("value".into(), field(path, &v, a.hex, "value", &k)?.into());
                }
                serde_json::to_writer(&mut line, &m).map_err(|err| CliError::new(DATA, err.to_string()))?;
            }
            ScanFormat::Csv => {
                let kf = field(path, &k, a.hex, "key", &k)?;
                if a.keys_only {
                    crate::import::encode_record(&mut line, [kf.as_bytes()].into_iter());
                } else {
                    let vf = field(path, &v, a.hex, "value", &k)?;
                    crate::import::encode_record(&mut line, [kf.as_bytes(), vf.as_bytes()].into_iter());
                }
            }
        }
        line.push(b'\n');
        if line.len() >= 32 * 1024 {
            out.write_all(&line).map_err(CliError::output)?;
            line.clear();
        }
    }
    out.write_all(&line).and_then(|()| out.flush()).map_err(CliError::output)
}

/// `walden count`: leaf cell counts, no entry decoded.
pub fn count(a: &CountArgs) -> Result<()> {
    let path = a.db.as_path();
    let bounds = a.range.bounds(a.hex)?;
    let db = open(path, Access::Read, None)?;
    let r = db.begin_read().map_err(|e| CliError::db(path, e))?;
    let t = read_table(&r, path, a.table.table.as_deref())?;
    let n = t.count(borrowed(&bounds)).map_err(|e| CliError::db(path, e))?;
    let mut out = stdout();
    writeln!(out, "{n}").and_then(|()| out.flush()).map_err(CliError::output)
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
        "{}: {name} checkpoint: {} in the WAL before; now {}, {} backfilled; WAL file {}",
        path.display(),
        count_of(before.wal_frames, "frame", "frames"),
        count_of(info.wal_frames.into(), "frame", "frames"),
        group(info.backfilled.into()),
        count_of(wal_bytes, "byte", "bytes")
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
        "{}: {} tree, {} overflow, {} freelist; {}; {}",
        count_of(rep.pages.into(), "page", "pages"),
        group(rep.tree_pages.into()),
        group(rep.overflow_pages.into()),
        group(rep.freelist_pages.into()),
        count_of(rep.tables.into(), "named table", "named tables"),
        count_of(rep.entries, "entry", "entries")
    );
    if rep.is_ok() {
        s.push_str(&format!("{}: ok: {summary}\n", path.display()));
    } else {
        s.push_str(&format!(
            "{}: {} found\n",
            path.display(),
            count_of(rep.problem_count.into(), "problem", "problems")
        ));
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
            format!(
                "{}: damaged: {} found by verify",
                path.display(),
                count_of(rep.problem_count.into(), "problem", "problems")
            ),
        ))
    }
}
