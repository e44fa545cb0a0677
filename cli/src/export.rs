//! `walden export`: a table as CSV or JSON lines.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};

use crate::codec::{count_of, escape, hex};
use crate::commands::{open, read_table, stdout, Access};
use crate::error::{CliError, Result, DATA};
use crate::import::{parse_record, schema_key, Schema, SCHEMA_TABLE};
use crate::range::{borrowed, RangeArgs};
use crate::TableArg;

/// Output formats.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// CSV with a header row
    Csv,
    /// One JSON object per line
    Jsonl,
}

/// `walden export`.
#[derive(Args, Debug)]
pub struct ExportArgs {
    /// Database file
    pub db: PathBuf,
    #[command(flatten)]
    pub table: TableArg,
    #[command(flatten)]
    pub range: RangeArgs,
    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Csv)]
    pub format: Format,
    /// Write keys and values in hex (implies --raw; range arguments in hex too); without it they must be UTF-8
    #[arg(long)]
    pub hex: bool,
    /// Write `key,value` pairs even for a table loaded by `walden import`
    #[arg(long)]
    pub raw: bool,
    /// Write to FILE instead of stdout (and print a summary line)
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// Where the rows go, in which format.
struct Sink<'a> {
    out: Box<dyn Write + 'a>,
    label: PathBuf,
    format: Format,
    line: Vec<u8>,
}

impl Sink<'_> {
    fn io(&self, e: std::io::Error) -> CliError {
        CliError::io(&self.label, e)
    }

    /// Writes one row of named fields (names are used by JSON lines only).
    fn row(&mut self, names: &[String], fields: &[&str]) -> Result<()> {
        self.line.clear();
        match self.format {
            Format::Csv => crate::import::encode_record(&mut self.line, fields.iter().map(|f| f.as_bytes())),
            Format::Jsonl => {
                self.line.push(b'{');
                for (i, (n, f)) in names.iter().zip(fields).enumerate() {
                    if i > 0 {
                        self.line.push(b',');
                    }
                    let _ = serde_json::to_writer(&mut self.line, n);
                    self.line.push(b':');
                    let _ = serde_json::to_writer(&mut self.line, f);
                }
                self.line.push(b'}');
            }
        }
        self.line.push(b'\n');
        let r = self.out.write_all(&self.line);
        r.map_err(|e| self.io(e))
    }
}

fn utf8<'b>(path: &Path, b: &'b [u8], what: &str, key: &[u8]) -> Result<&'b str> {
    std::str::from_utf8(b).map_err(|_| {
        CliError::new(
            DATA,
            format!(
                "{}: the {what} of key \"{}\" is not UTF-8; export it with --hex",
                path.display(),
                escape(key)
            ),
        )
    })
}

/// `walden export`.
pub fn run(a: &ExportArgs) -> Result<()> {
    let path = a.db.as_path();
    let table = a.table.table.as_deref();
    let bounds = a.range.bounds(a.hex)?;
    let db = open(path, Access::Read, None)?;
    let e = |err| CliError::db(path, err);
    let r = db.begin_read().map_err(e)?;
    let t = read_table(&r, path, table)?;
    let schema = if a.raw || a.hex {
        None
    } else {
        match r.table(SCHEMA_TABLE) {
            Ok(s) => s.get(schema_key(table)).map_err(e)?.and_then(|j| Schema::from_json(&j)),
            Err(walden::Error::NotFound { .. }) => None,
            Err(err) => return Err(e(err)),
        }
    };
    let (out, label): (Box<dyn Write>, PathBuf) = match &a.output {
        Some(p) => {
            let f = File::create(p).map_err(|err| CliError::io(p, err))?;
            (Box::new(BufWriter::with_capacity(256 * 1024, f)), p.clone())
        }
        None => (Box::new(stdout()), PathBuf::from("<stdout>")),
    };
    let mut sink = Sink {
        out,
        label,
        format: a.format,
        line: Vec::new(),
    };
    let mut rows = 0u64;
    match &schema {
        Some(s) => {
            let values = s.value_columns();
            let nk = s.key.len();
            let sep = s.key_sep.as_bytes();
            if a.format == Format::Csv {
                let header: Vec<&str> = s.columns.iter().map(String::as_str).collect();
                sink.row(&s.columns, &header)?;
            }
            let bad = |k: &[u8], why: &str| {
                CliError::new(
                    DATA,
                    format!(
                        "{}: the entry with key \"{}\" is not a row of the import ({why}); export the table with --raw",
                        path.display(),
                        escape(k)
                    ),
                )
            };
            let mut fields: Vec<Vec<u8>> = vec![Vec::new(); s.columns.len()];
            for entry in t.range(borrowed(&bounds)).map_err(e)? {
                let (k, v) = entry.map_err(e)?;
                let parts: Vec<&[u8]> = if nk == 1 { vec![&k[..]] } else { split(&k, sep, nk) };
                if parts.len() != nk {
                    return Err(bad(&k, &format!("the key does not have {nk} parts separated by {:?}", s.key_sep)));
                }
                let vals = if values.is_empty() && v.is_empty() {
                    Vec::new()
                } else {
                    parse_record(&v).ok_or_else(|| bad(&k, "the value is not a CSV record"))?
                };
                if vals.len() != values.len() {
                    return Err(bad(&k, &format!("the value has {} fields, not {}", vals.len(), values.len())));
                }
                for (&i, p) in s.key.iter().zip(parts) {
                    fields[i] = p.to_vec();
                }
                for (&i, f) in values.iter().zip(vals) {
                    fields[i] = f;
                }
                let strs = fields.iter().map(|f| utf8(path, f, "row", &k)).collect::<Result<Vec<&str>>>()?;
                sink.row(&s.columns, &strs)?;
                rows += 1;
            }
        }
        None => {
            let names = ["key".to_string(), "value".to_string()];
            if a.format == Format::Csv {
                sink.row(&names, &["key", "value"])?;
            }
            for entry in t.range(borrowed(&bounds)).map_err(e)? {
                let (k, v) = entry.map_err(e)?;
                if a.hex {
                    sink.row(&names, &[&hex(&k), &hex(&v)])?;
                } else {
                    let ks = utf8(path, &k, "key", &k)?;
                    let vs = utf8(path, &v, "value", &k)?;
                    sink.row(&names, &[ks, vs])?;
                }
                rows += 1;
            }
        }
    }
    let flushed = sink.out.flush();
    flushed.map_err(|err| sink.io(err))?;
    if let Some(p) = &a.output {
        let mut out = stdout();
        writeln!(
            out,
            "exported {} of {} to {}",
            count_of(rows, "row", "rows"),
            path.display(),
            p.display()
        )
        .and_then(|()| out.flush())
        .map_err(CliError::output)?;
    }
    Ok(())
}

/// `k` split at the first `n - 1` occurrences of `sep`.
fn split<'k>(k: &'k [u8], sep: &[u8], n: usize) -> Vec<&'k [u8]> {
    if sep.is_empty() {
        return vec![k];
    }
    let mut parts = Vec::with_capacity(n);
    let mut rest = k;
    while parts.len() + 1 < n {
        match rest.windows(sep.len()).position(|w| w == sep) {
            Some(p) => {
                parts.push(&rest[..p]);
                rest = &rest[p + sep.len()..];
            }
            None => break,
        }
    }
    parts.push(rest);
    parts
}

#[cfg(test)]
mod tests {
    use super::split;

    #[test]
    fn splits() {
        assert_eq!(split(b"a b c", b" ", 3), vec![&b"a"[..], b"b", b"c"]);
        assert_eq!(split(b"a b c", b" ", 2), vec![&b"a"[..], b"b c"]);
        assert_eq!(split(b"a", b" ", 2), vec![&b"a"[..]]);
        assert_eq!(split(b"a||b", b"||", 2), vec![&b"a"[..], b"b"]);
        assert_eq!(split(b" ", b" ", 2), vec![&b""[..], b""]);
        assert_eq!(split(b"ab", b"", 2), vec![&b"ab"[..]]);
    }
}
