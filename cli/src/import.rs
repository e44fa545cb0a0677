//! `walden import`: CSV rows into a table, one commit per batch; and the
//! record encoding and schema that `walden export` reads back.
//!
//! A row's key is its key columns joined by the key separator; its value is
//! the other columns, in file order, as one CSV record (RFC 4180 quoting, no
//! line terminator). The column list, the key columns and the separator are
//! kept as JSON in the table [`SCHEMA_TABLE`], under the table's name (the
//! empty key for the default table).

use std::fs::File;
use std::io::IsTerminal;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};

use crate::codec::{count_of, escape, group};
use crate::commands::{open, stdout, Access};
use crate::error::{CliError, Result, DATA, USAGE};
use crate::TableArg;

/// The table holding the column lists of imported tables.
pub const SCHEMA_TABLE: &str = "_walden_schema";

/// `walden import`.
#[derive(Args, Debug)]
pub struct ImportArgs {
    /// Database file (created if missing)
    pub db: PathBuf,
    /// CSV file with a header row; gzip-compressed files (FILE.csv.gz) are
    /// recognised by their content; `-` reads stdin
    pub file: PathBuf,
    /// Key column(s), comma-separated; the key is their values joined by --key-sep
    #[arg(long, value_delimiter = ',', required = true, value_name = "COL[,COL...]")]
    pub key: Vec<String>,
    #[command(flatten)]
    pub table: TableArg,
    /// Rows per transaction (one commit, one fsync each)
    #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u32).range(1..), value_name = "N")]
    pub batch: u32,
    /// Separator between the key columns in a key
    #[arg(long, default_value = " ", value_name = "SEP")]
    pub key_sep: String,
    /// Page cache of the import, in pages. A bulk load wants the pages a batch changes
    /// in memory (a batch whose pages do not fit spills them to the WAL, which is
    /// slow for files not sorted by key), so an import uses 16,384 pages (64 MiB at
    /// 4 KiB pages; memory is taken as pages are cached) where the engine's default
    /// is 512
    #[arg(long, default_value_t = IMPORT_CACHE_PAGES, value_parser = clap::value_parser!(u32).range(4..), value_name = "PAGES")]
    pub cache_pages: u32,
}

/// The page cache of `walden import`, in pages (64 MiB at 4 KiB pages).
const IMPORT_CACHE_PAGES: u32 = 16_384;

/// How a table was imported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schema {
    /// Every column of the file, in order.
    pub columns: Vec<String>,
    /// Indexes (into `columns`) of the key columns, in key order.
    pub key: Vec<usize>,
    /// Separator between key columns.
    pub key_sep: String,
}

impl Schema {
    /// Indexes of the value columns, in file order.
    pub fn value_columns(&self) -> Vec<usize> {
        (0..self.columns.len()).filter(|i| !self.key.contains(i)).collect()
    }

    /// JSON encoding (the value in [`SCHEMA_TABLE`]).
    pub fn to_json(&self) -> Vec<u8> {
        let key: Vec<&str> = self.key.iter().map(|&i| self.columns[i].as_str()).collect();
        serde_json::json!({
            "format": "walden-import-1",
            "columns": self.columns,
            "key": key,
            "key_sep": self.key_sep,
            "value": "csv",
        })
        .to_string()
        .into_bytes()
    }

    /// Decodes [`Schema::to_json`]; `None` if it is not one.
    pub fn from_json(b: &[u8]) -> Option<Schema> {
        let v: serde_json::Value = serde_json::from_slice(b).ok()?;
        if v.get("format")?.as_str()? != "walden-import-1" {
            return None;
        }
        let columns: Vec<String> = v
            .get("columns")?
            .as_array()?
            .iter()
            .map(|c| c.as_str().map(str::to_string))
            .collect::<Option<_>>()?;
        let key = v
            .get("key")?
            .as_array()?
            .iter()
            .map(|k| k.as_str().and_then(|k| columns.iter().position(|c| c == k)))
            .collect::<Option<Vec<usize>>>()?;
        let key_sep = v.get("key_sep")?.as_str()?.to_string();
        Some(Schema { columns, key, key_sep })
    }
}

/// The key of a table's entry in [`SCHEMA_TABLE`].
pub fn schema_key(table: Option<&str>) -> &[u8] {
    table.unwrap_or("").as_bytes()
}

/// Appends `fields` to `out` as one CSV record (quoted where needed; a
/// record of one empty field is written `""` so that it is not empty).
pub fn encode_record<'a>(out: &mut Vec<u8>, fields: impl Iterator<Item = &'a [u8]>) {
    let start = out.len();
    let mut n = 0;
    for f in fields {
        if n > 0 {
            out.push(b',');
        }
        n += 1;
        if f.iter().any(|&b| matches!(b, b',' | b'"' | b'\n' | b'\r')) {
            out.push(b'"');
            for &b in f {
                if b == b'"' {
                    out.push(b'"');
                }
                out.push(b);
            }
            out.push(b'"');
        } else {
            out.extend_from_slice(f);
        }
    }
    if n == 1 && out.len() == start {
        out.extend_from_slice(b"\"\"");
    }
}

/// Parses one CSV record written by [`encode_record`]; `None` if malformed.
pub fn parse_record(b: &[u8]) -> Option<Vec<Vec<u8>>> {
    let mut fields = Vec::new();
    let mut i = 0;
    loop {
        let mut f = Vec::new();
        if b.get(i) == Some(&b'"') {
            i += 1;
            loop {
                match b.get(i) {
                    None => return None,
                    Some(b'"') if b.get(i + 1) == Some(&b'"') => {
                        f.push(b'"');
                        i += 2;
                    }
                    Some(b'"') => {
                        i += 1;
                        break;
                    }
                    Some(&c) => {
                        f.push(c);
                        i += 1;
                    }
                }
            }
            fields.push(f);
            match b.get(i) {
                None => return Some(fields),
                Some(b',') => i += 1,
                Some(_) => return None,
            }
        } else {
            match b[i..].iter().position(|&c| c == b',') {
                None => {
                    f.extend_from_slice(&b[i..]);
                    fields.push(f);
                    return Some(fields);
                }
                Some(p) => {
                    f.extend_from_slice(&b[i..i + p]);
                    fields.push(f);
                    i += p + 1;
                }
            }
        }
    }
}

/// An opened input file.
struct Input {
    /// The content, decompressed if the file starts with the gzip magic.
    reader: Box<dyn Read>,
    /// Advanced by the bytes of the file read (`ProgressBar::wrap_read`:
    /// the compressed bytes for a gzip file); hidden unless stderr is a
    /// terminal.
    progress: ProgressBar,
}

/// The progress bar of an import of `total` bytes (unknown for stdin).
fn progress_bar(total: Option<u64>) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let pb = match total {
        Some(n) => ProgressBar::new(n).with_style(
            ProgressStyle::with_template("{spinner} [{elapsed_precise}] [{wide_bar}] {bytes}/{total_bytes} ({eta}) {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        ),
        None => ProgressBar::new_spinner(),
    };
    pb.enable_steady_tick(Duration::from_millis(200));
    pb
}

/// Opens the input (`-`: stdin).
fn open_input(path: &Path) -> Result<Input> {
    let (raw, total): (Box<dyn Read>, Option<u64>) = if path == Path::new("-") {
        (Box::new(std::io::stdin().lock()), None)
    } else {
        let f = File::open(path).map_err(|e| CliError::io(path, e))?;
        let total = f.metadata().ok().map(|m| m.len());
        (Box::new(f), total)
    };
    let progress = progress_bar(total);
    let mut r = BufReader::with_capacity(256 * 1024, progress.wrap_read(raw));
    let head = r.fill_buf().map_err(|e| CliError::io(path, e))?;
    let gz = head.starts_with(&[0x1f, 0x8b]);
    let r: Box<dyn Read> = if gz {
        Box::new(BufReader::with_capacity(256 * 1024, flate2::bufread::MultiGzDecoder::new(r)))
    } else {
        Box::new(r)
    };
    Ok(Input { reader: r, progress })
}

/// A CSV reading error as a message naming the file (exit code 6; 3 for
/// an I/O error that is not about the content).
fn csv_error(path: &Path, e: csv::Error) -> CliError {
    let pos = e.position().map(|p| format!("line {}: ", p.line())).unwrap_or_default();
    match e.into_kind() {
        csv::ErrorKind::Io(io) if io.kind() == std::io::ErrorKind::InvalidData || io.kind() == std::io::ErrorKind::InvalidInput => {
            CliError::new(DATA, format!("{}: {pos}invalid compressed data: {io}", path.display()))
        }
        csv::ErrorKind::Io(io) => CliError::io(path, io),
        csv::ErrorKind::UnequalLengths { expected_len, len, .. } => CliError::new(
            DATA,
            format!("{}: {pos}the row has {len} fields, the header has {expected_len}", path.display()),
        ),
        kind => CliError::new(DATA, format!("{}: {pos}malformed CSV: {kind:?}", path.display())),
    }
}

/// `walden import`.
pub fn run(a: &ImportArgs) -> Result<()> {
    let started = Instant::now();
    let path = a.db.as_path();
    let table = a.table.table.as_deref();
    if table == Some(SCHEMA_TABLE) {
        return Err(CliError::new(
            USAGE,
            format!("table {SCHEMA_TABLE:?} is reserved for the column lists of imports"),
        ));
    }
    let Input { reader, progress: pb } = open_input(&a.file)?;
    let mut rdr = csv::ReaderBuilder::new().has_headers(true).from_reader(reader);
    let columns: Vec<String> = rdr
        .byte_headers()
        .map_err(|e| csv_error(&a.file, e))?
        .iter()
        .map(|h| String::from_utf8(h.to_vec()))
        .collect::<std::result::Result<_, _>>()
        .map_err(|_| CliError::new(DATA, format!("{}: the header row is not UTF-8", a.file.display())))?;
    if columns.is_empty() {
        return Err(CliError::new(
            DATA,
            format!("{}: the file is empty: a CSV file starts with a header row", a.file.display()),
        ));
    }
    let mut key = Vec::new();
    for k in &a.key {
        let mut at = columns.iter().enumerate().filter(|(_, c)| *c == k).map(|(i, _)| i);
        match (at.next(), at.next()) {
            (Some(i), None) => key.push(i),
            (Some(_), Some(_)) => {
                return Err(CliError::new(
                    USAGE,
                    format!("{}: column {k:?} appears twice in the header", a.file.display()),
                ));
            }
            (None, _) => {
                return Err(CliError::new(
                    USAGE,
                    format!(
                        "{}: no column {k:?} in the header (columns: {})",
                        a.file.display(),
                        columns.join(", ")
                    ),
                ));
            }
        }
    }
    if key.len() > 1 && a.key_sep.is_empty() {
        return Err(CliError::new(USAGE, "--key-sep must not be empty with more than one key column"));
    }
    let schema = Schema {
        columns,
        key,
        key_sep: a.key_sep.clone(),
    };
    let values = schema.value_columns();
    let sep = a.key_sep.as_bytes();
    let multi_key = schema.key.len() > 1;

    let db = open(path, Access::Create, Some(a.cache_pages))?;
    let e = |err| CliError::db(path, err);
    let max_key = db.max_key_len();
    let label = crate::commands::table_name(table);
    // An earlier import into the table must have had the same columns.
    let (entries_before, have_schema) = {
        let r = db.begin_read().map_err(e)?;
        let have = match r.table(SCHEMA_TABLE) {
            Ok(t) => t.get(schema_key(table)).map_err(e)?,
            Err(walden::Error::NotFound { .. }) => None,
            Err(err) => return Err(e(err)),
        };
        if let Some(old) = &have {
            if Schema::from_json(old).as_ref() != Some(&schema) {
                return Err(CliError::new(
                    USAGE,
                    format!(
                        "{}: {label} was imported before with other columns, key or separator ({}); import into another table",
                        path.display(),
                        String::from_utf8_lossy(old)
                    ),
                ));
            }
        }
        let n = match table {
            None => r.default_table().map_err(e)?.len().map_err(e)?,
            Some(t) => match r.table(t) {
                Ok(t) => t.len().map_err(e)?,
                Err(walden::Error::NotFound { .. }) => 0,
                Err(err) => return Err(e(err)),
            },
        };
        (n, have.is_some())
    };

    let mut rec = csv::ByteRecord::new();
    let (mut k, mut v) = (Vec::new(), Vec::new());
    let mut rows = 0u64;
    let mut commits = 0u64;
    let mut schema_written = have_schema;
    let mut done = false;
    let committed_note = |rows: u64| {
        if rows > 0 {
            format!(" ({} before it committed)", count_of(rows, "row", "rows"))
        } else {
            String::new()
        }
    };
    let mut committed_rows = 0u64;
    while !done {
        let w = db.begin_write().map_err(e)?;
        let batch: Result<()> = (|| {
            if !schema_written {
                w.table(SCHEMA_TABLE)
                    .and_then(|t| t.put(schema_key(table), schema.to_json()))
                    .map_err(e)?;
                schema_written = true;
            }
            let t = match table {
                Some(n) => w.table(n),
                None => w.default_table(),
            }
            .map_err(e)?;
            for _ in 0..a.batch {
                if !rdr.read_byte_record(&mut rec).map_err(|err| csv_error(&a.file, err))? {
                    done = true;
                    break;
                }
                let line = rec.position().map_or(0, |p| p.line());
                k.clear();
                for (n, &i) in schema.key.iter().enumerate() {
                    let f = rec.get(i).unwrap_or_default();
                    if multi_key && f.windows(sep.len()).any(|w| w == sep) {
                        return Err(CliError::new(
                            DATA,
                            format!(
                                "{}: line {line}: key column {:?} holds {:?}, which contains the key separator {:?}; \
                                 choose another with --key-sep",
                                a.file.display(),
                                schema.columns[i],
                                escape(f),
                                a.key_sep
                            ),
                        ));
                    }
                    if n > 0 {
                        k.extend_from_slice(sep);
                    }
                    k.extend_from_slice(f);
                }
                if k.len() > max_key {
                    return Err(CliError::new(
                        DATA,
                        format!(
                            "{}: line {line}: the key is {} bytes, the largest key is {max_key}",
                            a.file.display(),
                            k.len()
                        ),
                    ));
                }
                v.clear();
                encode_record(&mut v, values.iter().map(|&i| rec.get(i).unwrap_or_default()));
                t.put(&k, &v).map_err(e)?;
                rows += 1;
                if rows.is_multiple_of(4096) {
                    pb.set_message(format!("{} rows", group(rows)));
                }
            }
            Ok(())
        })();
        match batch {
            Ok(()) => {
                if w.commit().map_err(e)?.is_some() {
                    commits += 1;
                }
                committed_rows = rows;
            }
            Err(mut err) => {
                pb.finish_and_clear();
                err.msg.push_str(&committed_note(committed_rows));
                return Err(err);
            }
        }
    }
    pb.finish_and_clear();
    let entries_after = {
        let r = db.begin_read().map_err(e)?;
        match table {
            None => r.default_table().map_err(e)?.len().map_err(e)?,
            Some(t) => r.table(t).map_err(e)?.len().map_err(e)?,
        }
    };
    let new_keys = entries_after.saturating_sub(entries_before);
    let secs = started.elapsed().as_secs_f64();
    let db_bytes = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    let wal_bytes = std::fs::metadata(db.wal_path()).map(|m| m.len()).unwrap_or(0);
    let mut out = stdout();
    writeln!(
        out,
        "imported {} from {} into {label} of {} in {secs:.2} s ({} rows/s): {}, {} replaced, {}; database file {} bytes, WAL {} bytes",
        count_of(rows, "row", "rows"),
        a.file.display(),
        path.display(),
        group((rows as f64 / secs.max(1e-9)) as u64),
        count_of(new_keys, "new key", "new keys"),
        group(rows - new_keys.min(rows)),
        count_of(commits, "commit", "commits"),
        group(db_bytes),
        group(wal_bytes)
    )
    .and_then(|()| out.flush())
    .map_err(CliError::output)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip() {
        let cases: &[&[&[u8]]] = &[
            &[b"a", b"b", b"c"],
            &[b""],
            &[b"", b""],
            &[b"x,y", b"say \"hi\"", b"two\nlines", b"\r"],
            &[b"", b"a"],
            &[b" spaced "],
        ];
        for fields in cases {
            let mut out = Vec::new();
            encode_record(&mut out, fields.iter().copied());
            let back = parse_record(&out).unwrap();
            assert_eq!(
                back,
                fields.iter().map(|f| f.to_vec()).collect::<Vec<_>>(),
                "{:?}",
                String::from_utf8_lossy(&out)
            );
        }
        assert!(parse_record(b"\"open").is_none());
        assert!(parse_record(b"\"a\"b").is_none());
    }

    #[test]
    fn schema_round_trip() {
        let s = Schema {
            columns: vec!["a".into(), "b".into(), "c".into()],
            key: vec![2, 0],
            key_sep: " ".into(),
        };
        assert_eq!(Schema::from_json(&s.to_json()), Some(s.clone()));
        assert_eq!(s.value_columns(), vec![1]);
        assert_eq!(Schema::from_json(b"{}"), None);
    }
}
