//! `walden stat`: the header, the WAL state and every tree of a database,
//! each tree as LMDB's `mdb_stat` shows one: depth, branch, leaf and
//! overflow pages, entries, fill factor.

use std::io::{Read, Write};
use std::path::Path;

use walden::TreeStats;

use crate::codec::{escape, group};
use crate::commands::{lsn_text, open, read_table, stdout, Access};
use crate::error::{CliError, Result};
use crate::StatArgs;

/// The format version at offset 8 of a database file.
fn file_version(path: &Path) -> Option<u32> {
    let mut b = [0u8; 12];
    std::fs::File::open(path).ok()?.read_exact(&mut b).ok()?;
    Some(u32::from_le_bytes([b[8], b[9], b[10], b[11]]))
}

/// One tree as JSON.
fn tree_json(name: Option<&str>, s: &TreeStats) -> serde_json::Value {
    serde_json::json!({
        "name": name,
        "entries": s.entries,
        "depth": s.depth,
        "branch_pages": s.branch_pages,
        "leaf_pages": s.leaf_pages,
        "overflow_pages": s.overflow_pages,
        "used_bytes": s.used_bytes,
        "usable_bytes": s.usable_bytes,
        "fill_percent": (s.fill_percent() * 10.0).round() / 10.0,
    })
}

/// One tree as a line of the text table.
fn tree_line(name: &str, s: &TreeStats) -> String {
    format!(
        "  {:<24}{:>14}{:>7}{:>10}{:>12}{:>10}{:>7.1}%\n",
        name,
        group(s.entries),
        s.depth,
        group(s.branch_pages),
        group(s.leaf_pages),
        group(s.overflow_pages),
        s.fill_percent()
    )
}

/// `walden stat`.
pub fn stat(a: &StatArgs) -> Result<()> {
    let path = a.db.as_path();
    let db = open(path, Access::Read, None)?;
    let e = |err| CliError::db(path, err);
    let r = db.begin_read().map_err(e)?;
    let h = r.header().map_err(e)?;
    let (ih, backfilled) = r.wal_state().map_err(e)?;
    let default = r.default_table().map_err(e)?.stat().map_err(e)?;
    let mut tables = Vec::new();
    for name in r.list_tables().map_err(e)? {
        let s = read_table(&r, path, Some(&name))?.stat().map_err(e)?;
        tables.push((name, s));
    }
    drop(r);
    let version = file_version(path).unwrap_or(walden::engine::format::FORMAT_VERSION);
    let db_bytes = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    let wal_bytes = std::fs::metadata(db.wal_path()).map(|m| m.len()).unwrap_or(0);
    let last_lsn = walden::engine::format::lsn(ih.ckpt_seq, ih.mx_frame);
    let st = db.stats();
    let cs = st.checkpoint_stats;
    let mut out = stdout();
    let w = if a.json {
        let named: Vec<serde_json::Value> = tables.iter().map(|(n, s)| tree_json(Some(n), s)).collect();
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
            "default_table_entries": default.entries,
            "default_table": tree_json(None, &default),
            "tables": named,
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
        line("free pages", group(h.freelist_count.into()));
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
        let named = if tables.len() == 1 { "named table" } else { "named tables" };
        line("tables", format!("{} {named}, and the default table", group(tables.len() as u64)));
        s.push_str(&format!(
            "  {:<24}{:>14}{:>7}{:>10}{:>12}{:>10}{:>8}\n",
            "table", "entries", "depth", "branch", "leaf", "overflow", "fill"
        ));
        s.push_str(&tree_line("(default)", &default));
        for (n, t) in &tables {
            s.push_str(&tree_line(&escape(n.as_bytes()), t));
        }
        out.write_all(s.as_bytes())
    };
    w.and_then(|()| out.flush()).map_err(CliError::output)
}
